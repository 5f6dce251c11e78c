//! The cluster state machine: one Redis Cluster node's view of the cluster,
//! kept as a Redis 7.0 node keeps it, by the handshake (MEET), PING/PONG
//! heartbeats with gossip, failure detection (PFAIL, failure reports, FAIL),
//! epochs and slot ownership (config epochs, UPDATE, collisions), the
//! cluster state, and the replica topology.
//!
//! [`ClusterNode`] does no I/O and reads no clock. The caller owns the
//! connections, names each one with the [`LinkId`] the node hands out, and
//! feeds in what happens: [`ClusterNode::on_accept`] and
//! [`ClusterNode::on_connected`] when a connection opens,
//! [`ClusterNode::on_message`] for each whole message read (framed with
//! [`next_frame`](crate::next_frame)), [`ClusterNode::on_closed`] when one
//! closes, and [`ClusterNode::on_tick`] ten times a second (Redis'
//! `clusterCron`). Each returns the [`Action`]s to carry out: connections to
//! open, bytes to send, connections to close, Pub/Sub messages to deliver.
//! Time is milliseconds of Unix time, passed in; a call without a time
//! argument uses the latest time any call brought.
//!
//! The operator commands (`CLUSTER MEET`, `ADDSLOTS`, `SETSLOT`, ...) are
//! methods returning `Result<_, ClusterError>`, whose errors print as Redis'
//! replies. After any call, [`ClusterNode::take_save_request`] says whether
//! `nodes.conf` must be written ([`ClusterNode::to_nodes_conf`]), and
//! whether to fsync it before answering.
//!
//! # Invariants
//!
//! - The node table holds this node (flagged `myself`) and every node it
//!   knows, by id; a node in handshake has a random id until its first PONG
//!   names it.
//! - The routing table ([`ClusterNode::slot_map`]) and each node's
//!   [`Node::slots`] always agree: a slot has at most one owner, and the
//!   owner's set holds it.
//! - `replica_of` and `replicas` agree: a node is in its master's
//!   `replicas` exactly when its `replica_of` names that master.
//! - A link belongs to at most one node, as its outbound (`link`) or
//!   inbound (`inbound_link`) connection; deleting a node closes both.
//! - Messages go out only on connections that are up; nothing from the
//!   network is trusted: a malformed message is ignored, an unknown or
//!   invalid node id is a node this node does not know.
//! - Randomness comes from [`Config::seed`] only, so that the same events
//!   give the same actions.
//!
//! Each rule cites the Redis 7.0.15 function (in `cluster.c`) or the
//! cluster specification section it follows. Where this differs from Redis,
//! it is because the caller owns the sockets: a message for a link still
//! connecting is not queued but left out (the wait for a PONG counts from
//! the [`Action::Connect`], as Redis' would from the PING it queues),
//! `CLUSTER LINKS` shows no send buffer, and the gossip section draws its
//! random entries without replacement, so it is never shorter than Redis'
//! target when enough nodes qualify.
//!
//! Failover (module `failover`, with the decisions in `ferrodis-failover`):
//! a replica of a FAIL master runs an election (FAILOVER_AUTH_REQUEST /
//! ACK) and, elected, takes its master's slots with a new config epoch;
//! masters vote; `CLUSTER FAILOVER [FORCE|TAKEOVER]` ([`ClusterNode::failover`],
//! MFSTART and the `PAUSED` flag); replica migration to orphaned masters.
//! The node learns what to do with its data from [`Action::BecomeMaster`],
//! [`Action::ReplicateFrom`], [`Action::PauseWrites`] and
//! [`Action::ResumeWrites`], which come at the end of the event that
//! changed the role (an operator command that returns no actions, such as
//! `CLUSTER REPLICATE`, leaves them to the next event).
//!
//! Not here yet: MODULE messages, and deleting the keys of slots lost to
//! another master (the node compares [`Node::slots`] before and after).

mod commands;
mod conf;
mod error;
mod failover;
mod node;
mod process;
mod send;
mod state;
mod table;

#[cfg(test)]
mod tests;

pub use error::ClusterError;
pub use ferrodis_failover::manual::Kind as FailoverKind;
pub use node::{
    message_type_name, Action, BumpEpoch, ClusterInfo, ClusterState, Config, LinkDirection, LinkId,
    LinkInfo, Node, Save, MESSAGE_TYPES,
};

use crate::codec::decode;
use crate::types::NodeIp;
use ferrodis_slots::{NodeFlags, NodeId, Slot, SlotMap, SlotSet};
use std::collections::BTreeMap;

/// Bits of the work Redis defers to `clusterBeforeSleep`
/// (`CLUSTER_TODO_*`).
const TODO_UPDATE_STATE: u8 = 1;
const TODO_SAVE_CONFIG: u8 = 1 << 1;
const TODO_FSYNC_CONFIG: u8 = 1 << 2;
const TODO_HANDLE_FAILOVER: u8 = 1 << 3;
const TODO_HANDLE_MANUALFAILOVER: u8 = 1 << 4;

/// How long a forgotten node may not be re-added from gossip, in seconds
/// (`CLUSTER_BLACKLIST_TTL`).
const BLACKLIST_TTL_SECS: u64 = 60;

/// A connection as the node tracks it.
#[derive(Debug, Clone)]
struct Link {
    /// The node it belongs to: for an outbound link, the node it was opened
    /// to; for an inbound one, the sender of the first known message on it.
    node: Option<NodeId>,
    /// Whether the other node opened it.
    inbound: bool,
    /// Whether it is up (inbound links always are).
    connected: bool,
    /// When it was created, Unix ms.
    created: u64,
    /// The other end's address, for an inbound link.
    peer_ip: NodeIp,
    /// This end's address, for an inbound link.
    local_ip: NodeIp,
}

/// A cluster node's view of the cluster, driven by events; see the module
/// documentation.
#[derive(Debug, Clone)]
pub struct ClusterNode {
    config: Config,
    /// This node's own entry (`myself`).
    myself: Node,
    /// Every other node, by id.
    others: BTreeMap<NodeId, Node>,
    slot_map: SlotMap,
    /// `migrating_slots_to`.
    migrating: BTreeMap<Slot, NodeId>,
    /// `importing_slots_from`.
    importing: BTreeMap<Slot, NodeId>,
    /// Slots whose owner no longer claims them (`owner_not_claiming_slot`).
    not_claiming: SlotSet,
    current_epoch: u64,
    last_vote_epoch: u64,
    state: ClusterState,
    /// Masters serving slots, as last counted by `update_state`.
    size: usize,
    /// The first time `update_state` ran.
    first_state_update: Option<u64>,
    /// The last time `update_state` found this node in a minority.
    among_minority_time: u64,
    /// Forgotten nodes and when (Unix seconds) they may be re-added.
    blacklist: BTreeMap<NodeId, u64>,
    links: BTreeMap<LinkId, Link>,
    next_link: u64,
    rng: u64,
    ticks: u64,
    todo: u8,
    /// The latest time any call brought.
    now: u64,
    stats_sent: [u64; MESSAGE_TYPES],
    stats_received: [u64; MESSAGE_TYPES],
    /// This replica's election (`failover_auth_*`).
    election: ferrodis_failover::election::Election,
    /// The manual failover in progress, on either side (`mf_*`).
    mf: ferrodis_failover::manual::ManualFailover,
    /// Master side: the replica that asked for the manual failover.
    mf_replica: Option<NodeId>,
    /// Since when each master has been orphaned.
    migration: ferrodis_failover::migration::Migration<NodeId>,
    /// The replication the caller was last told to run: `None` for none
    /// (a master), else the master and its address.
    role_told: Option<(NodeId, String, u16)>,
    /// Whether the caller was told to pause writes and not yet to resume.
    pause_told: bool,
    /// When this replica last heard from its master, if the caller says.
    master_last_interaction: Option<u64>,
}

impl ClusterNode {
    /// A node that knows only itself: a master with no slots, config epoch
    /// and current epoch 0 (`clusterInit` without a `nodes.conf`). It asks
    /// for `nodes.conf` to be written at once, as Redis does.
    pub fn new(config: Config) -> ClusterNode {
        let my_id = config.id;
        let mut myself = Node::new(my_id, NodeFlags::MYSELF | NodeFlags::MASTER, 0);
        myself.ip = config.ip.clone();
        myself.port = config.port;
        myself.pport = config.pport;
        myself.cport = config.cport;
        myself.hostname = config.hostname.clone();
        if config.replica_no_failover {
            myself.flags.insert(NodeFlags::NOFAILOVER);
        }
        let rng = config.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        ClusterNode {
            config,
            myself,
            others: BTreeMap::new(),
            slot_map: SlotMap::new(),
            migrating: BTreeMap::new(),
            importing: BTreeMap::new(),
            not_claiming: SlotSet::new(),
            current_epoch: 0,
            last_vote_epoch: 0,
            state: ClusterState::Fail,
            size: 1,
            first_state_update: None,
            among_minority_time: 0,
            blacklist: BTreeMap::new(),
            links: BTreeMap::new(),
            next_link: 0,
            rng,
            ticks: 0,
            todo: TODO_SAVE_CONFIG | TODO_FSYNC_CONFIG,
            now: 0,
            stats_sent: [0; MESSAGE_TYPES],
            stats_received: [0; MESSAGE_TYPES],
            election: ferrodis_failover::election::Election::new(),
            mf: ferrodis_failover::manual::ManualFailover::new(),
            mf_replica: None,
            migration: ferrodis_failover::migration::Migration::new(),
            role_told: None,
            pause_told: false,
            master_last_interaction: None,
        }
    }

    // ---------------------------------------------------------------------
    // Events
    // ---------------------------------------------------------------------

    /// A connection came in from `peer_ip` to this node's `local_ip`;
    /// returns its name. The local address is how a node with no announced
    /// ip learns its own (from the connections MEET messages come on).
    pub fn on_accept(&mut self, peer_ip: NodeIp, local_ip: NodeIp, now: u64) -> LinkId {
        self.observe(now);
        let link = self.new_link();
        self.links.insert(
            link,
            Link {
                node: None,
                inbound: true,
                connected: true,
                created: now,
                peer_ip,
                local_ip,
            },
        );
        link
    }

    /// A connection asked for with [`Action::Connect`] is up: the node
    /// sends its first PING, or a MEET to a node met by
    /// [`meet`](Self::meet) (`clusterLinkConnectHandler`).
    pub fn on_connected(&mut self, link: LinkId, now: u64) -> Vec<Action> {
        self.observe(now);
        let mut out = Vec::new();
        let Some(state) = self.links.get_mut(&link) else {
            return out;
        };
        if state.inbound {
            return out;
        }
        state.connected = true;
        let Some(id) = state.node else {
            return out;
        };
        let Some(node) = self.get(&id) else {
            return out;
        };
        let old_ping_sent = node.ping_sent;
        let kind = if node.flags.contains(NodeFlags::MEET) {
            send::Kind::Meet
        } else {
            send::Kind::Ping
        };
        self.send_ping(link, kind, now, &mut out);
        if let Some(node) = self.get_mut(&id) {
            // A ping outstanding before the link dropped still counts.
            if old_ping_sent != 0 {
                node.ping_sent = old_ping_sent;
            }
            node.flags.remove(NodeFlags::MEET);
        }
        out
    }

    /// A connection closed (or could not be opened). The node connects
    /// again on a later tick (`handleLinkIOError`).
    pub fn on_closed(&mut self, link: LinkId) {
        self.drop_link(link);
    }

    /// One whole message arrived on `link`. A malformed one is ignored, as
    /// Redis ignores it (`clusterProcessPacket`).
    pub fn on_message(&mut self, link: LinkId, bytes: &[u8], now: u64) -> Vec<Action> {
        self.observe(now);
        let mut out = Vec::new();
        if let Ok(message) = decode(bytes) {
            self.process(link, &message, now, &mut out);
        }
        self.after_event(now, &mut out);
        out
    }

    /// Time passes (Redis' `clusterCron`, ten times a second): connect to
    /// nodes without a link, drop handshakes that take too long, ping, and
    /// suspect nodes that do not answer.
    pub fn on_tick(&mut self, now: u64) -> Vec<Action> {
        self.observe(now);
        let mut out = Vec::new();
        self.cron(now, &mut out);
        self.after_event(now, &mut out);
        out
    }

    // ---------------------------------------------------------------------
    // Queries
    // ---------------------------------------------------------------------

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.myself.id
    }

    /// How the node was set up (`config().id` is [`id`](Self::id)).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// This node's own entry (flagged `myself`).
    pub fn myself(&self) -> &Node {
        &self.myself
    }

    /// The entry of node `id`, this one included.
    pub fn node(&self, id: &NodeId) -> Option<&Node> {
        self.get(id)
    }

    /// Every node in the table: this one first, then the others (those in
    /// handshake included) by id.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        std::iter::once(&self.myself).chain(self.others.values())
    }

    /// Every other node in the table, those in handshake included, by id.
    pub fn peers(&self) -> impl Iterator<Item = &Node> {
        self.others.values()
    }

    /// The routing table: each slot's owner, and this node's open
    /// migrations (where a slot is both migrating and importing, the
    /// migration shows, as in `CLUSTER NODES`).
    pub fn slot_map(&self) -> &SlotMap {
        &self.slot_map
    }

    /// The node serving `slot`, for `-MOVED` and `CLUSTER SLOTS`.
    pub fn slot_owner(&self, slot: Slot) -> Option<&Node> {
        self.slot_map.owner(slot).and_then(|id| self.get(id))
    }

    /// Where `slot` is being moved to (`SETSLOT ... MIGRATING`), for `-ASK`.
    pub fn migrating_to(&self, slot: Slot) -> Option<&NodeId> {
        self.migrating.get(&slot)
    }

    /// Where `slot` is being moved from (`SETSLOT ... IMPORTING`).
    pub fn importing_from(&self, slot: Slot) -> Option<&NodeId> {
        self.importing.get(&slot)
    }

    /// The greatest epoch this node has seen (`currentEpoch`).
    pub fn current_epoch(&self) -> u64 {
        self.current_epoch
    }

    /// This node's own config epoch. A replica sends and shows its
    /// master's instead ([`ClusterInfo::my_epoch`]).
    pub fn config_epoch(&self) -> u64 {
        self.myself().config_epoch
    }

    /// The epoch of the last failover vote (`lastVoteEpoch`).
    pub fn last_vote_epoch(&self) -> u64 {
        self.last_vote_epoch
    }

    /// Whether the cluster serves queries, as this node sees it.
    pub fn state(&self) -> ClusterState {
        self.state
    }

    /// The master this node replicates, if it is a replica whose master it
    /// knows.
    pub fn master(&self) -> Option<&Node> {
        self.myself.replica_of.as_ref().and_then(|id| self.get(id))
    }

    /// `CLUSTER REPLICAS <id>`: the replicas of a master, in the order they
    /// became known.
    pub fn replicas(&self, id: &NodeId) -> Result<Vec<&Node>, ClusterError> {
        let node = self
            .get(id)
            .ok_or_else(|| ClusterError::UnknownNode(id.to_string()))?;
        if node.is_replica() {
            return Err(ClusterError::NotAMaster);
        }
        Ok(node.replicas.iter().filter_map(|r| self.get(r)).collect())
    }

    /// The links as `CLUSTER LINKS` lists them: for each node, its outbound
    /// link then its inbound one. Links not yet tied to a node are left
    /// out, as Redis leaves them out.
    pub fn links(&self) -> Vec<LinkInfo> {
        let mut out = Vec::new();
        for node in self.nodes() {
            for (link, direction) in [
                (node.link, LinkDirection::To),
                (node.inbound_link, LinkDirection::From),
            ] {
                let Some(link) = link else { continue };
                let Some(state) = self.links.get(&link) else {
                    continue;
                };
                out.push(LinkInfo {
                    link,
                    direction,
                    node: node.id,
                    created: state.created,
                    events: if state.connected { "r" } else { "" },
                    send_buffer_allocated: 0,
                    send_buffer_used: 0,
                });
            }
        }
        out
    }

    /// Whether `nodes.conf` must be written, and how (Redis'
    /// `CLUSTER_TODO_SAVE_CONFIG` and `CLUSTER_TODO_FSYNC_CONFIG`); clears
    /// the request. Write [`to_nodes_conf`](Self::to_nodes_conf)'s text.
    pub fn take_save_request(&mut self) -> Option<Save> {
        let todo = self.todo;
        self.todo &= !(TODO_SAVE_CONFIG | TODO_FSYNC_CONFIG);
        if todo & TODO_SAVE_CONFIG == 0 {
            None
        } else if todo & TODO_FSYNC_CONFIG != 0 {
            Some(Save::Now)
        } else {
            Some(Save::Later)
        }
    }

    /// Tells the node its replication offset (a master's own, a replica's
    /// processed offset), which every message it sends carries.
    pub fn set_repl_offset(&mut self, offset: u64) {
        self.myself.repl_offset = offset;
    }

    /// `CONFIG SET cluster-replica-no-failover`: the `nofailover` flag
    /// follows (`clusterUpdateMyselfFlags`).
    pub fn set_replica_no_failover(&mut self, on: bool) {
        self.config.replica_no_failover = on;
        let before = self.myself.flags;
        if on {
            self.myself.flags.insert(NodeFlags::NOFAILOVER);
        } else {
            self.myself.flags.remove(NodeFlags::NOFAILOVER);
        }
        if self.myself.flags != before {
            self.todo |= TODO_SAVE_CONFIG | TODO_UPDATE_STATE;
        }
    }

    // ---------------------------------------------------------------------
    // Helpers shared by the submodules
    // ---------------------------------------------------------------------

    /// The entry of node `id`, this one included.
    fn get(&self, id: &NodeId) -> Option<&Node> {
        if *id == self.myself.id {
            Some(&self.myself)
        } else {
            self.others.get(id)
        }
    }

    fn get_mut(&mut self, id: &NodeId) -> Option<&mut Node> {
        if *id == self.myself.id {
            Some(&mut self.myself)
        } else {
            self.others.get_mut(id)
        }
    }

    /// The number of entries, this node's included.
    fn known(&self) -> usize {
        self.others.len() + 1
    }

    fn observe(&mut self, now: u64) {
        self.now = self.now.max(now);
    }

    /// The end of an event: what `clusterBeforeSleep` does (failover work
    /// asked for during the event first), then the actions that tell the
    /// caller of a change of role or of a pause's end.
    fn after_event(&mut self, now: u64, out: &mut Vec<Action>) {
        if self.todo & TODO_HANDLE_MANUALFAILOVER != 0 {
            self.todo &= !(TODO_HANDLE_MANUALFAILOVER | TODO_HANDLE_FAILOVER);
            if self.myself.is_replica() {
                self.handle_manual_failover();
                self.handle_replica_failover(now, out);
            }
        } else if self.todo & TODO_HANDLE_FAILOVER != 0 {
            self.todo &= !TODO_HANDLE_FAILOVER;
            self.handle_replica_failover(now, out);
        }
        self.before_sleep(now);
        self.sync_effects(out);
    }

    /// What Redis does in `clusterBeforeSleep` (but saving, which the
    /// caller does on [`take_save_request`](Self::take_save_request)). A
    /// command run before any call brought the time leaves the state to be
    /// evaluated by the first one that does.
    fn before_sleep(&mut self, now: u64) {
        if now != 0 && self.todo & TODO_UPDATE_STATE != 0 {
            self.update_state(now);
        }
    }

    fn new_link(&mut self) -> LinkId {
        self.next_link += 1;
        LinkId(self.next_link)
    }

    /// xorshift64*: enough randomness for gossip, reproducible from the seed.
    fn rng_next(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A random index below `len` (0 when `len` is 0).
    fn rng_below(&mut self, len: usize) -> usize {
        if len == 0 {
            return 0;
        }
        (self.rng_next() % len as u64) as usize
    }

    /// A random node id (`getRandomHexChars`).
    fn random_id(&mut self) -> NodeId {
        let mut bytes = [0u8; 20];
        for chunk in bytes.chunks_mut(8) {
            let r = self.rng_next().to_le_bytes();
            for (b, r) in chunk.iter_mut().zip(r) {
                *b = r;
            }
        }
        NodeId::from_random(bytes)
    }
}

/// The text of an address field (bytes before its NUL).
fn ip_text(ip: &NodeIp) -> String {
    String::from_utf8_lossy(ip.as_bytes()).into_owned()
}

/// The address field for `ip`, empty when it does not fit.
fn ip_field(ip: &str) -> NodeIp {
    NodeIp::new(ip.as_bytes()).unwrap_or(NodeIp::EMPTY)
}

/// The wire form of a node id.
fn wire_id(id: &NodeId) -> crate::types::NodeId {
    crate::types::NodeId(*id.as_bytes())
}

/// The node id a wire field names, if it is a valid one
/// (`verifyClusterNodeId`).
fn valid_id(id: &crate::types::NodeId) -> Option<NodeId> {
    NodeId::from_bytes(id.as_bytes()).ok()
}
