//! The values a [`ClusterNode`](super::ClusterNode) hands out and takes in:
//! its configuration, the entries of its node table, the actions it asks
//! for, and the descriptions of links and of the cluster state.

use crate::types::NodeIp;
use ferrodis_slots::{NodeFlags, NodeId, SlotSet};
use std::fmt;

/// A connection, as the node names it. The caller keeps the map from these
/// to its sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkId(pub u64);

/// What the caller must do for the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Open a connection to a node's bus port; report it with
    /// [`ClusterNode::on_connected`](super::ClusterNode::on_connected), or
    /// its failure with [`ClusterNode::on_closed`](super::ClusterNode::on_closed).
    Connect {
        /// The name of the new connection.
        link: LinkId,
        /// The address to connect to.
        ip: NodeIp,
        /// The bus port.
        cport: u16,
    },
    /// Write these bytes (one encoded message) to a connection. The node
    /// asks for this only on connections that are up: inbound ones, and
    /// outbound ones once [`on_connected`](super::ClusterNode::on_connected)
    /// said so.
    Send {
        /// The connection.
        link: LinkId,
        /// The message.
        bytes: Vec<u8>,
    },
    /// Close a connection. The node has already forgotten it; calling
    /// [`on_closed`](super::ClusterNode::on_closed) for it is harmless.
    Close {
        /// The connection.
        link: LinkId,
    },
    /// A Pub/Sub message came from another node (PUBLISH or PUBLISHSHARD):
    /// publish it to this node's local subscribers, without propagating it
    /// again.
    Deliver {
        /// The channel (a shard channel when `shard`).
        channel: Vec<u8>,
        /// The message.
        message: Vec<u8>,
        /// Whether it came as PUBLISHSHARD (`SPUBLISH`).
        shard: bool,
    },
    /// This replica is now a master: it won an election, or ran `CLUSTER
    /// FAILOVER` (any form), or `CLUSTER RESET` made it one. Stop
    /// replicating and keep the data set (Redis' `replicationUnsetMaster`:
    /// the replication id shifts as PSYNC2 does, so that the other replicas
    /// of the old master can continue from this node with a partial
    /// resynchronisation). The slots it serves are already in
    /// [`ClusterNode::slot_map`](super::ClusterNode::slot_map).
    BecomeMaster,
    /// This node now replicates this master (`replicationSetMaster`):
    /// `CLUSTER REPLICATE`, an old master that came back and found its
    /// slots served at a greater config epoch, a replica that followed its
    /// master's slots to a new owner, replica migration to an orphaned
    /// master, or a replica restored from `nodes.conf`. Asked for again when
    /// the master's address changes. Connect to `ip:port` and sync from it;
    /// a master that held slots has lost them (compare
    /// [`Node::slots`] before and after).
    ReplicateFrom {
        /// The master's id.
        id: NodeId,
        /// Its address.
        ip: String,
        /// Its client port.
        port: u16,
    },
    /// Master side of a manual failover: one of this master's replicas sent
    /// MFSTART. Stop accepting writes (Redis' `pauseClients` with
    /// `CLIENT_PAUSE_WRITE`) until `until_ms` (Unix ms) or
    /// [`Action::ResumeWrites`], whichever comes first; the node keeps
    /// reporting its replication offset with
    /// [`ClusterNode::set_repl_offset`](super::ClusterNode::set_repl_offset),
    /// which its messages carry flagged `PAUSED`.
    PauseWrites {
        /// The end of the pause, Unix ms.
        until_ms: u64,
    },
    /// The manual failover that paused writes ended (done, timed out, or
    /// this node changed role): accept writes again.
    ResumeWrites,
}

/// How a node is set up: the `cluster-*` parameters of `redis.conf` that the
/// bus needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The node's own id (replaced by the file's when the node is restored
    /// with [`ClusterNode::from_nodes_conf`](super::ClusterNode::from_nodes_conf)).
    pub id: NodeId,
    /// `cluster-announce-ip`: the address other nodes must use. Empty (the
    /// default): they take the address the node's connections come from,
    /// and the node learns its own from the connections MEET messages come
    /// on, as Redis does.
    pub ip: String,
    /// The client port announced (`port`, or `cluster-announce-port`).
    pub port: u16,
    /// The plaintext client port when `port` is TLS (0 without TLS).
    pub pport: u16,
    /// The cluster bus port announced (`cluster-port`, or
    /// `cluster-announce-bus-port`).
    pub cport: u16,
    /// `cluster-announce-hostname`; empty for none.
    pub hostname: String,
    /// `cluster-node-timeout`, in milliseconds.
    pub node_timeout_ms: u64,
    /// `cluster-require-full-coverage`: the cluster state is `fail` while
    /// any slot is unassigned or served by a failed master.
    pub require_full_coverage: bool,
    /// `cluster-replica-no-failover`: a replica announces the `nofailover`
    /// flag.
    pub replica_no_failover: bool,
    /// `cluster-allow-replica-migration`: a master that loses its last slot
    /// to another master becomes that master's replica, and a replica may
    /// move to an orphaned master.
    pub allow_replica_migration: bool,
    /// `cluster-migration-barrier`: a replica moves to an orphaned master
    /// only if its own keeps more than this many working replicas.
    pub migration_barrier: usize,
    /// `cluster-replica-validity-factor`: a replica whose data is older
    /// than `repl-ping-replica-period` + node timeout × this does not start
    /// an election (0: no limit). Applies only once the node reports its
    /// link with [`ClusterNode::set_master_last_interaction`](super::ClusterNode::set_master_last_interaction).
    pub replica_validity_factor: u64,
    /// `repl-ping-replica-period`, in milliseconds.
    pub repl_ping_period_ms: u64,
    /// Seed of the node's random choices (gossip entries, ping targets,
    /// handshake names, the new id of a hard reset), so that a simulation
    /// replays.
    pub seed: u64,
}

impl Config {
    /// Redis' defaults (node timeout 15000 ms, full coverage required,
    /// replica migration allowed with a barrier of 1, failover allowed with a
    /// validity factor of 10 and a ping period of 10 s) for a node with this id
    /// and these ports, announcing no ip and no hostname.
    pub fn new(id: NodeId, port: u16, cport: u16) -> Config {
        Config {
            id,
            ip: String::new(),
            port,
            pport: 0,
            cport,
            hostname: String::new(),
            node_timeout_ms: 15_000,
            require_full_coverage: true,
            replica_no_failover: false,
            allow_replica_migration: true,
            migration_barrier: 1,
            replica_validity_factor: 10,
            repl_ping_period_ms: 10_000,
            seed: 0,
        }
    }
}

/// One entry of the node table: what this node knows about a node of the
/// cluster (itself included, flagged `myself`). Redis' `clusterNode`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Its id; a random one while in handshake.
    pub id: NodeId,
    /// Its flags as this node sees them.
    pub flags: NodeFlags,
    /// Its address; empty when unknown (a node without an announced address
    /// that has not learnt its own yet, or a `noaddr` node).
    pub ip: String,
    /// Its client port.
    pub port: u16,
    /// Its plaintext client port (TLS clusters; 0 otherwise).
    pub pport: u16,
    /// Its bus port.
    pub cport: u16,
    /// The hostname it announces; empty for none.
    pub hostname: String,
    /// Its master, for a replica whose master is known.
    pub replica_of: Option<NodeId>,
    /// Its replicas, for a master, in the order they became known.
    pub replicas: Vec<NodeId>,
    /// Its config epoch: the greatest its messages carried (a replica's
    /// carry its master's; 0 after a restart, which does not read a
    /// replica's). `CLUSTER NODES` prints a replica's master's instead.
    pub config_epoch: u64,
    /// The slots it serves in this node's routing table.
    pub slots: SlotSet,
    /// When this node sent it the PING still waiting for a PONG, Unix ms; 0
    /// when none is outstanding.
    pub ping_sent: u64,
    /// When this node last had a PONG from it (or learnt from gossip that
    /// others had), Unix ms.
    pub pong_received: u64,
    /// When any message from it last arrived, Unix ms.
    pub data_received: u64,
    /// When it was flagged `fail`, Unix ms.
    pub fail_time: u64,
    /// When it entered the table, Unix ms.
    pub created: u64,
    /// Its replication offset, as its last message said (this node's own,
    /// as [`ClusterNode::set_repl_offset`](super::ClusterNode::set_repl_offset)
    /// said).
    pub repl_offset: u64,
    /// The connection this node opened to it, once asked for (Redis'
    /// `link`); `CLUSTER NODES` says `connected` while there is one.
    pub link: Option<LinkId>,
    /// The connection it opened to this node, once a message on it named it
    /// (Redis' `inbound_link`).
    pub inbound_link: Option<LinkId>,
    /// How many slots it serves (`slots.count()`, kept up to date).
    pub(crate) numslots: usize,
    /// Failure reports: which masters said it is failing, and when.
    pub(crate) fail_reports: Vec<FailReport>,
    /// When this node last voted for one of its replicas, Unix ms (0:
    /// never).
    pub(crate) voted_time: u64,
}

/// A master's report, seen in its gossip, that a node is failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FailReport {
    /// The reporting master.
    pub(crate) from: NodeId,
    /// When the report was last seen, Unix ms.
    pub(crate) time: u64,
}

impl Node {
    /// A node with these flags and nothing else known (Redis'
    /// `createClusterNode`).
    pub(crate) fn new(id: NodeId, flags: NodeFlags, now: u64) -> Node {
        Node {
            id,
            flags,
            ip: String::new(),
            port: 0,
            pport: 0,
            cport: 0,
            hostname: String::new(),
            replica_of: None,
            replicas: Vec::new(),
            config_epoch: 0,
            slots: SlotSet::new(),
            ping_sent: 0,
            pong_received: 0,
            data_received: 0,
            fail_time: 0,
            created: now,
            repl_offset: 0,
            link: None,
            inbound_link: None,
            numslots: 0,
            fail_reports: Vec::new(),
            voted_time: 0,
        }
    }

    /// Whether it is flagged `master`.
    pub fn is_master(&self) -> bool {
        self.flags.contains(NodeFlags::MASTER)
    }

    /// Whether it is flagged `slave`.
    pub fn is_replica(&self) -> bool {
        self.flags.contains(NodeFlags::REPLICA)
    }

    /// Whether it is this node.
    pub fn is_myself(&self) -> bool {
        self.flags.contains(NodeFlags::MYSELF)
    }

    /// Whether the handshake with it is still going on.
    pub fn in_handshake(&self) -> bool {
        self.flags.contains(NodeFlags::HANDSHAKE)
    }

    /// Whether it is flagged `fail?` (PFAIL).
    pub fn timed_out(&self) -> bool {
        self.flags.contains(NodeFlags::PFAIL)
    }

    /// Whether it is flagged `fail`.
    pub fn failed(&self) -> bool {
        self.flags.contains(NodeFlags::FAIL)
    }

    /// Whether its address is known (no `noaddr` flag).
    pub fn has_addr(&self) -> bool {
        !self.flags.contains(NodeFlags::NOADDR)
    }

    /// How many slots it serves.
    pub fn slot_count(&self) -> usize {
        self.numslots
    }
}

/// Which way a link goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkDirection {
    /// This node opened it (`to` in `CLUSTER LINKS`).
    To,
    /// The other node opened it (`from`).
    From,
}

impl LinkDirection {
    /// The word `CLUSTER LINKS` prints.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkDirection::To => "to",
            LinkDirection::From => "from",
        }
    }
}

/// One link as `CLUSTER LINKS` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    /// The connection.
    pub link: LinkId,
    /// Who opened it.
    pub direction: LinkDirection,
    /// The node at the other end.
    pub node: NodeId,
    /// When it was created, Unix ms.
    pub created: u64,
    /// The events the link waits for: `r` once it is up (the node keeps no
    /// send buffer of its own, so never `w`), empty while connecting.
    pub events: &'static str,
    /// The send buffer's allocation: always 0, the caller owns buffers.
    pub send_buffer_allocated: u64,
    /// The send buffer's use: always 0, the caller owns buffers.
    pub send_buffer_used: u64,
}

/// Whether the cluster serves queries, as this node sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClusterState {
    /// `cluster_state:ok`.
    Ok,
    /// `cluster_state:fail`.
    Fail,
}

impl ClusterState {
    /// The word `CLUSTER INFO` prints.
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterState::Ok => "ok",
            ClusterState::Fail => "fail",
        }
    }
}

/// What `CLUSTER BUMPEPOCH` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BumpEpoch {
    /// The config epoch was raised to this value (`BUMPED <n>`).
    Bumped(u64),
    /// The config epoch was already the greatest and non-zero; it stays
    /// (`STILL <n>`).
    Still(u64),
}

impl fmt::Display for BumpEpoch {
    /// The status reply's text: `BUMPED 5` or `STILL 5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BumpEpoch::Bumped(epoch) => write!(f, "BUMPED {epoch}"),
            BumpEpoch::Still(epoch) => write!(f, "STILL {epoch}"),
        }
    }
}

/// When the node wants `nodes.conf` written (Redis'
/// `CLUSTER_TODO_SAVE_CONFIG`, with `CLUSTER_TODO_FSYNC_CONFIG` for
/// [`Save::Now`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Save {
    /// Write it and fsync it before answering anything else: an epoch or a
    /// slot's owner changed, and losing that on a crash could make the
    /// node claim what it gave away.
    Now,
    /// Write it before the next reply or sleep, without waiting for fsync.
    Later,
}

/// The number of message types Redis 7.0 counts in `CLUSTER INFO`.
pub const MESSAGE_TYPES: usize = 11;

/// The name `CLUSTER INFO` gives message type `n` in its
/// `cluster_stats_messages_<name>_sent` lines (Redis'
/// `clusterGetMessageTypeString`).
pub fn message_type_name(n: usize) -> &'static str {
    match n {
        0 => "ping",
        1 => "pong",
        2 => "meet",
        3 => "fail",
        4 => "publish",
        5 => "auth-req",
        6 => "auth-ack",
        7 => "update",
        8 => "mfstart",
        9 => "module",
        10 => "publishshard",
        _ => "unknown",
    }
}

/// The fields of `CLUSTER INFO`; its `Display` is the reply's text, lines
/// ending in CRLF, as Redis 7.0.15 prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterInfo {
    /// `cluster_state`.
    pub state: ClusterState,
    /// `cluster_slots_assigned`: slots with an owner.
    pub slots_assigned: usize,
    /// `cluster_slots_ok`: assigned slots whose owner is neither `fail?` nor
    /// `fail`.
    pub slots_ok: usize,
    /// `cluster_slots_pfail`: slots whose owner is `fail?`.
    pub slots_pfail: usize,
    /// `cluster_slots_fail`: slots whose owner is `fail`.
    pub slots_fail: usize,
    /// `cluster_known_nodes`: every node in the table, this one and those
    /// in handshake included.
    pub known_nodes: usize,
    /// `cluster_size`: masters serving at least one slot, as last counted
    /// when the state was evaluated.
    pub size: usize,
    /// `cluster_current_epoch`.
    pub current_epoch: u64,
    /// `cluster_my_epoch`: this node's config epoch, or its master's for a
    /// replica.
    pub my_epoch: u64,
    /// Messages sent, by type number.
    pub messages_sent: [u64; MESSAGE_TYPES],
    /// Messages received, by type number.
    pub messages_received: [u64; MESSAGE_TYPES],
    /// `total_cluster_links_buffer_limit_exceeded`: always 0, the caller
    /// owns the buffers.
    pub links_buffer_limit_exceeded: u64,
}

impl fmt::Display for ClusterInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cluster_state:{}\r\n", self.state.as_str())?;
        write!(f, "cluster_slots_assigned:{}\r\n", self.slots_assigned)?;
        write!(f, "cluster_slots_ok:{}\r\n", self.slots_ok)?;
        write!(f, "cluster_slots_pfail:{}\r\n", self.slots_pfail)?;
        write!(f, "cluster_slots_fail:{}\r\n", self.slots_fail)?;
        write!(f, "cluster_known_nodes:{}\r\n", self.known_nodes)?;
        write!(f, "cluster_size:{}\r\n", self.size)?;
        write!(f, "cluster_current_epoch:{}\r\n", self.current_epoch)?;
        write!(f, "cluster_my_epoch:{}\r\n", self.my_epoch)?;
        // Types with a zero count are left out, as Redis leaves them out.
        for (direction, counts) in [
            ("sent", &self.messages_sent),
            ("received", &self.messages_received),
        ] {
            let mut total = 0;
            for (n, &count) in counts.iter().enumerate() {
                if count != 0 {
                    total += count;
                    let name = message_type_name(n);
                    write!(f, "cluster_stats_messages_{name}_{direction}:{count}\r\n")?;
                }
            }
            write!(f, "cluster_stats_messages_{direction}:{total}\r\n")?;
        }
        write!(
            f,
            "total_cluster_links_buffer_limit_exceeded:{}\r\n",
            self.links_buffer_limit_exceeded
        )
    }
}
