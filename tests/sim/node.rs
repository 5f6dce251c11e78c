//! The node under test, as the simulator sees it: the [`SimNode`] trait the
//! world drives, and [`View`], the snapshot of a node's beliefs that the
//! invariants read.
//!
//! [`ferrodis_bus::cluster::ClusterNode`] implements it here; this file is
//! the only place that knows the state machine's API, so that the world and
//! the checks do not change as the state machine grows. A test may also put
//! a deliberately wrong node into the world (see the harness tests in
//! `check.rs`) to show that the checks catch it.

use ferrodis_bus::cluster::{Action, ClusterNode, Config, LinkId};
use ferrodis_bus::{NodeFlags, NodeId, NodeIp, SlotBitmap};

/// What the world needs from a node.
pub(crate) trait SimNode {
    fn on_accept(&mut self, peer_ip: NodeIp) -> LinkId;
    fn on_connected(&mut self, link: LinkId, now: u64) -> Vec<Action>;
    fn on_message(&mut self, link: LinkId, bytes: &[u8], now: u64) -> Vec<Action>;
    fn on_closed(&mut self, link: LinkId, now: u64) -> Vec<Action>;
    fn on_tick(&mut self, now: u64) -> Vec<Action>;
    /// `CLUSTER MEET ip port cport`.
    fn meet(&mut self, ip: NodeIp, port: u16, cport: u16, now: u64) -> Vec<Action>;
    /// The operator gives the node these slots (`CLUSTER ADDSLOTS`).
    fn assign_slots(&mut self, slots: &SlotBitmap, now: u64) -> Vec<Action>;
    /// What the node believes now.
    fn view(&self) -> View;
}

/// A node's beliefs, as far as the state machine exposes them. Fields the
/// state machine does not report yet are `None`, and the checks that need
/// them do not apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct View {
    pub(crate) id: NodeId,
    pub(crate) current_epoch: u64,
    /// The node's own config epoch.
    pub(crate) config_epoch: Option<u64>,
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
    pub(crate) ip: NodeIp,
    pub(crate) port: u16,
    pub(crate) cport: u16,
    pub(crate) config_epoch: u64,
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
    pub(crate) slots: SlotBitmap,
}

impl View {
    pub(crate) fn peer(&self, id: &NodeId) -> Option<&PeerView> {
        self.peers.iter().find(|p| &p.id == id && !p.handshake())
    }
}

/// The bus state machine of this branch.
impl SimNode for ClusterNode {
    fn on_accept(&mut self, peer_ip: NodeIp) -> LinkId {
        ClusterNode::on_accept(self, peer_ip)
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

    fn meet(&mut self, ip: NodeIp, port: u16, cport: u16, now: u64) -> Vec<Action> {
        ClusterNode::meet(self, ip, port, cport, now);
        Vec::new()
    }

    fn assign_slots(&mut self, slots: &SlotBitmap, _now: u64) -> Vec<Action> {
        let mut all = *self.slots().as_bytes();
        for (a, b) in all.iter_mut().zip(slots.as_bytes()) {
            *a |= b;
        }
        self.set_slots(SlotBitmap::from_bytes(all));
        Vec::new()
    }

    fn view(&self) -> View {
        // This state machine keeps its own config epoch to itself and
        // never changes it from 0; a peer's slots are what its last header
        // claimed.
        let own_epoch = 0;
        let mut claims = Vec::new();
        if !no_slots(self.slots()) {
            claims.push(Claim {
                owner: self.id(),
                epoch: own_epoch,
                slots: self.slots().clone(),
            });
        }
        let mut peers = Vec::with_capacity(self.peers().len());
        for p in self.peers().values() {
            peers.push(PeerView {
                id: p.id,
                flags: p.flags,
                ip: p.ip,
                port: p.port,
                cport: p.cport,
                config_epoch: p.config_epoch.0,
            });
            if !no_slots(&p.slots) && !p.flags.contains(NodeFlags::HANDSHAKE) {
                claims.push(Claim {
                    owner: p.id,
                    epoch: p.config_epoch.0,
                    slots: p.slots.clone(),
                });
            }
        }
        View {
            id: self.id(),
            current_epoch: self.current_epoch().0,
            config_epoch: None,
            peers,
            claims,
            state_ok: None,
        }
    }
}

/// `SlotBitmap::is_empty`, as one comparison of memory: views are taken
/// after every event, and byte-by-byte loops are slow in debug builds.
pub(crate) fn no_slots(slots: &SlotBitmap) -> bool {
    slots.as_bytes() == &[0u8; ferrodis_bus::layout::field::SLOTS_LEN]
}

/// How the world builds the node at index `i` (and rebuilds it after a
/// crash).
pub(crate) type Factory = Box<dyn Fn(usize, Config) -> Box<dyn SimNode>>;

/// The honest factory: every node is the state machine under test.
pub(crate) fn honest() -> Factory {
    Box::new(|_, config| Box::new(ClusterNode::new(config)))
}
