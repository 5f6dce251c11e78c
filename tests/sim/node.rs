//! The node under test, as the simulator sees it: the [`SimNode`] trait the
//! world drives, and [`View`], the snapshot of a node's beliefs that the
//! invariants read.
//!
//! [`ferrodis_bus::cluster::ClusterNode`] implements it here; this file is
//! the only place that knows the state machine's API, so that the world and
//! the checks do not change as the state machine grows. A test may also put
//! a deliberately wrong node into the world (see the harness tests in
//! `check.rs`) to show that the checks catch it.

use ferrodis_bus::cluster::{
    Action, ClusterNode, ClusterState, Config, FailoverKind, LinkId, Save,
};
use ferrodis_bus::NodeIp;
use ferrodis_slots::{NodeFlags, NodeId, NodesConf, Slot, SlotSet, SLOT_BITMAP_LEN};

/// What the world needs from a node.
pub(crate) trait SimNode {
    fn on_accept(&mut self, peer_ip: NodeIp, now: u64) -> LinkId;
    fn on_connected(&mut self, link: LinkId, now: u64) -> Vec<Action>;
    fn on_message(&mut self, link: LinkId, bytes: &[u8], now: u64) -> Vec<Action>;
    fn on_closed(&mut self, link: LinkId, now: u64) -> Vec<Action>;
    fn on_tick(&mut self, now: u64) -> Vec<Action>;
    /// `CLUSTER MEET ip port cport`; an error is the command's reply.
    fn meet(&mut self, ip: &str, port: u16, cport: u16, now: u64) -> Result<Vec<Action>, String>;
    /// The operator gives the node these slots: `CLUSTER ADDSLOTS` of
    /// those its table leaves unassigned, and `CLUSTER SETSLOT slot NODE`
    /// itself for those its table gives to another node (a node restarted
    /// from a nodes.conf that lost a resharding; `redis-cli --cluster fix`
    /// does the same).
    fn assign_slots(&mut self, slots: &SlotSet, now: u64) -> Result<Vec<Action>, String>;
    /// `CLUSTER REPLICATE master`.
    fn replicate(&mut self, master: &NodeId, now: u64) -> Result<Vec<Action>, String>;
    /// `CLUSTER FORGET id`.
    fn forget(&mut self, id: &NodeId, now: u64) -> Result<Vec<Action>, String>;
    /// `CLUSTER SETSLOT slot IMPORTING|MIGRATING|NODE id`, with no keys in
    /// the slot.
    fn set_slot(&mut self, slot: Slot, how: SetSlot, now: u64) -> Result<Vec<Action>, String>;
    /// `nodes.conf` as the node asks for it to be written, if it does, and
    /// whether to fsync it.
    fn take_save(&mut self) -> Option<(NodesConf, bool)>;
    /// What the node believes now.
    fn view(&self) -> View;
    /// Its replication offset: a master's grows as it accepts writes, a
    /// replica's follows its master's (`set_repl_offset`). A node that
    /// does not take it ignores it.
    fn set_repl_offset(&mut self, _offset: u64) {}
    /// `CLUSTER FAILOVER` (no option) on a replica.
    fn manual_failover(&mut self, _now: u64) -> Result<Vec<Action>, String> {
        Err("ERR unknown subcommand 'failover'".into())
    }
}

/// The forms of `CLUSTER SETSLOT` a resharding uses.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SetSlot {
    Importing(NodeId),
    Migrating(NodeId),
    Node(NodeId),
}

/// A node's beliefs, as far as the state machine exposes them. Fields the
/// state machine does not report are `None`, and the checks that need
/// them do not apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct View {
    pub(crate) id: NodeId,
    pub(crate) current_epoch: u64,
    /// The node's own config epoch.
    pub(crate) config_epoch: Option<u64>,
    /// Its master, if it is a replica.
    pub(crate) replica_of: Option<NodeId>,
    /// Every other node in its table, handshakes included.
    pub(crate) peers: Vec<PeerView>,
    /// Who serves which slots, as this node believes: one entry per owner.
    pub(crate) claims: Vec<Claim>,
    /// `cluster_state`: `Some(true)` for ok.
    pub(crate) state_ok: Option<bool>,
}

/// One entry of a node's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PeerView {
    pub(crate) id: NodeId,
    pub(crate) flags: NodeFlags,
    /// Empty when unknown.
    pub(crate) ip: String,
    pub(crate) port: u16,
    pub(crate) cport: u16,
    pub(crate) config_epoch: u64,
    pub(crate) replica_of: Option<NodeId>,
}

impl PeerView {
    pub(crate) fn handshake(&self) -> bool {
        self.flags.contains(NodeFlags::HANDSHAKE)
    }

    /// Suspected (PFAIL) or agreed failed (FAIL).
    pub(crate) fn failing(&self) -> bool {
        self.flags.contains(NodeFlags::PFAIL) || self.flags.contains(NodeFlags::FAIL)
    }
}

/// Slots a node believes `owner` serves, with the config epoch it believes
/// `owner` has.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Claim {
    pub(crate) owner: NodeId,
    pub(crate) epoch: u64,
    pub(crate) slots: SlotSet,
}

impl View {
    pub(crate) fn peer(&self, id: &NodeId) -> Option<&PeerView> {
        self.peers.iter().find(|p| &p.id == id && !p.handshake())
    }
}

/// The bus state machine of this branch.
impl SimNode for ClusterNode {
    fn on_accept(&mut self, peer_ip: NodeIp, now: u64) -> LinkId {
        ClusterNode::on_accept(self, peer_ip, peer_ip, now)
    }

    fn on_connected(&mut self, link: LinkId, now: u64) -> Vec<Action> {
        ClusterNode::on_connected(self, link, now)
    }

    fn on_message(&mut self, link: LinkId, bytes: &[u8], now: u64) -> Vec<Action> {
        ClusterNode::on_message(self, link, bytes, now)
    }

    fn on_closed(&mut self, link: LinkId, _now: u64) -> Vec<Action> {
        ClusterNode::on_closed(self, link);
        Vec::new()
    }

    fn on_tick(&mut self, now: u64) -> Vec<Action> {
        ClusterNode::on_tick(self, now)
    }

    fn meet(&mut self, ip: &str, port: u16, cport: u16, now: u64) -> Result<Vec<Action>, String> {
        ClusterNode::meet(self, ip, i64::from(port), i64::from(cport), now)
            .map(|()| Vec::new())
            .map_err(|e| e.to_string())
    }

    fn assign_slots(&mut self, slots: &SlotSet, now: u64) -> Result<Vec<Action>, String> {
        let me = self.id();
        let (mut free, mut taken) = (Vec::new(), Vec::new());
        for slot in slots.iter() {
            match self.slot_map().owner(slot) {
                Some(owner) if *owner == me => {}
                Some(_) => taken.push(slot),
                None => free.push(slot),
            }
        }
        let mut actions = Vec::new();
        for slot in taken {
            actions.extend(
                self.set_slot_node(slot, &me, 0, now)
                    .map_err(|e| e.to_string())?,
            );
        }
        if !free.is_empty() {
            self.add_slots(&free).map_err(|e| e.to_string())?;
        }
        Ok(actions)
    }

    fn replicate(&mut self, master: &NodeId, _now: u64) -> Result<Vec<Action>, String> {
        ClusterNode::replicate(self, master)
            .map(|()| Vec::new())
            .map_err(|e| e.to_string())
    }

    fn forget(&mut self, id: &NodeId, now: u64) -> Result<Vec<Action>, String> {
        ClusterNode::forget(self, id, now).map_err(|e| e.to_string())
    }

    fn set_slot(&mut self, slot: Slot, how: SetSlot, now: u64) -> Result<Vec<Action>, String> {
        let done = match how {
            SetSlot::Importing(id) => self.set_slot_importing(slot, &id).map(|()| Vec::new()),
            SetSlot::Migrating(id) => self.set_slot_migrating(slot, &id).map(|()| Vec::new()),
            SetSlot::Node(id) => self.set_slot_node(slot, &id, 0, now),
        };
        done.map_err(|e| e.to_string())
    }

    fn set_repl_offset(&mut self, offset: u64) {
        ClusterNode::set_repl_offset(self, offset);
    }

    fn manual_failover(&mut self, now: u64) -> Result<Vec<Action>, String> {
        self.failover(FailoverKind::Default, now)
            .map_err(|e| e.to_string())
    }

    fn take_save(&mut self) -> Option<(NodesConf, bool)> {
        let save = self.take_save_request()?;
        Some((self.to_nodes_conf(), save == Save::Now))
    }

    fn view(&self) -> View {
        let mut claims = Vec::new();
        let mut peers = Vec::new();
        for n in self.nodes() {
            if !no_slots(&n.slots) {
                claims.push(Claim {
                    owner: n.id,
                    epoch: n.config_epoch,
                    slots: n.slots.clone(),
                });
            }
            if !n.is_myself() {
                peers.push(PeerView {
                    id: n.id,
                    flags: n.flags,
                    ip: n.ip.clone(),
                    port: n.port,
                    cport: n.cport,
                    config_epoch: n.config_epoch,
                    replica_of: n.replica_of,
                });
            }
        }
        View {
            id: self.id(),
            current_epoch: self.current_epoch(),
            config_epoch: Some(self.config_epoch()),
            replica_of: self.myself().replica_of,
            peers,
            claims,
            state_ok: Some(self.state() == ClusterState::Ok),
        }
    }
}

/// `SlotSet::is_empty`, as one comparison of memory: views are taken
/// after every event, and byte-by-byte loops are slow in debug builds.
pub(crate) fn no_slots(slots: &SlotSet) -> bool {
    slots.as_bytes() == &[0u8; SLOT_BITMAP_LEN]
}

/// How the world builds the node at index `i` from its configuration and,
/// when it restarts, the `nodes.conf` it last wrote (and the time).
pub(crate) type Factory =
    Box<dyn Fn(usize, Config, Option<(&NodesConf, u64)>) -> Result<Box<dyn SimNode>, String>>;

/// The honest factory: every node is the state machine under test, and a
/// restart reads its `nodes.conf`, through its text, as Redis'
/// `clusterLoadConfig` does.
pub(crate) fn honest() -> Factory {
    Box::new(|_, config, saved| match saved {
        None => Ok(Box::new(ClusterNode::new(config))),
        Some((conf, now)) => {
            let text = conf.to_string();
            let conf = NodesConf::parse(&text).map_err(|e| format!("{e} in\n{text}"))?;
            ClusterNode::from_nodes_conf(&conf, config, now)
                .map(|n| Box::new(n) as Box<dyn SimNode>)
                .map_err(|e| e.to_string())
        }
    })
}
