//! Building and sending messages: the header every message carries, PING,
//! PONG and MEET with their gossip section, FAIL, UPDATE and PUBLISH, to one
//! link or to every node.

use super::node::{Action, ClusterState, LinkId};
use super::{ip_field, wire_id, ClusterNode};
use crate::codec::encode;
use crate::message::{Body, Gossip, Header, Message, PingBody, PingExt};
use crate::types::{self, Epoch, MessageFlags, ReplOffset, SlotBitmap};
use ferrodis_slots::{NodeFlags, NodeId};

/// The three messages that carry gossip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Ping,
    Pong,
    Meet,
}

impl ClusterNode {
    /// The header of a message from this node (`clusterBuildMessageHdr`): a
    /// replica sends its master's slots and config epoch.
    pub(super) fn header(&self) -> Header {
        let me = &self.myself;
        let master = if me.is_replica() {
            me.replica_of.as_ref().and_then(|id| self.get(id))
        } else {
            None
        };
        let source = master.unwrap_or(me);
        Header {
            port: self.config.port,
            current_epoch: Epoch(self.current_epoch),
            config_epoch: Epoch(source.config_epoch),
            offset: ReplOffset(me.repl_offset),
            sender: wire_id(&me.id),
            slots: SlotBitmap::from_bytes(*source.slots.as_bytes()),
            replicaof: me.replica_of.as_ref().map_or(types::NodeId::NULL, wire_id),
            ip: ip_field(&self.config.ip),
            pport: self.config.pport,
            cport: self.config.cport,
            flags: types::NodeFlags(me.flags.bits()),
            state: match self.state {
                ClusterState::Ok => types::ClusterState::OK,
                ClusterState::Fail => types::ClusterState::FAIL,
            },
            mflags: if me.is_master() && self.mf.in_progress() {
                MessageFlags::PAUSED
            } else {
                MessageFlags::NONE
            },
        }
    }

    /// Whether messages can go out on `link` now.
    fn link_up(&self, link: LinkId) -> bool {
        self.links.get(&link).is_some_and(|l| l.connected)
    }

    /// Counts a message of this type as sent.
    fn count_sent(&mut self, body: &Body) {
        if let Some(count) = self.stats_sent.get_mut(usize::from(body.kind().as_u16())) {
            *count += 1;
        }
    }

    /// Sends `body` with this node's header on `link`, if it is up
    /// (`clusterSendMessage`).
    pub(super) fn send(&mut self, link: LinkId, body: Body, out: &mut Vec<Action>) {
        if !self.link_up(link) {
            return;
        }
        let message = Message {
            header: self.header(),
            body,
        };
        if let Ok(bytes) = encode(&message) {
            self.count_sent(&message.body);
            out.push(Action::Send { link, bytes });
        }
    }

    /// Sends `body` to every node out of handshake, on the links this node
    /// opened (`clusterBroadcastMessage`).
    pub(super) fn broadcast(&mut self, body: Body, out: &mut Vec<Action>) {
        let header = self.header();
        self.broadcast_with(header, body, out);
    }

    /// [`broadcast`](Self::broadcast) with a header the caller built.
    pub(super) fn broadcast_with(&mut self, header: Header, body: Body, out: &mut Vec<Action>) {
        let message = Message { header, body };
        let Ok(bytes) = encode(&message) else {
            return;
        };
        let links: Vec<LinkId> = self
            .others
            .values()
            .filter(|n| !n.in_handshake())
            .filter_map(|n| n.link)
            .filter(|l| self.link_up(*l))
            .collect();
        for link in links {
            self.count_sent(&message.body);
            out.push(Action::Send {
                link,
                bytes: bytes.clone(),
            });
        }
    }

    /// Sends a PING, PONG or MEET with a gossip section (`clusterSendPing`).
    /// A PING on a link this node opened starts the wait for its PONG.
    pub(super) fn send_ping(&mut self, link: LinkId, kind: Kind, now: u64, out: &mut Vec<Action>) {
        let Some(state) = self.links.get(&link) else {
            return;
        };
        if !state.connected {
            return;
        }
        if !state.inbound && kind == Kind::Ping {
            if let Some(node) = state.node.and_then(|id| self.others.get_mut(&id)) {
                node.ping_sent = now;
            }
        }
        let gossip = self.gossip_section();
        let mut extensions = Vec::new();
        if !self.myself.hostname.is_empty() {
            extensions.push(PingExt::Hostname(self.myself.hostname.as_bytes().to_vec()));
        }
        let body = PingBody { gossip, extensions };
        let body = match kind {
            Kind::Ping => Body::Ping(body),
            Kind::Pong => Body::Pong(body),
            Kind::Meet => Body::Meet(body),
        };
        self.send(link, body, out);
    }

    /// Sends a PONG to every node out of handshake, so that a change is
    /// known at once (`clusterBroadcastPong(CLUSTER_BROADCAST_ALL)`).
    pub(super) fn broadcast_pong(&mut self, now: u64, out: &mut Vec<Action>) {
        let links: Vec<LinkId> = self
            .others
            .values()
            .filter(|n| !n.in_handshake())
            .filter_map(|n| n.link)
            .collect();
        for link in links {
            self.send_ping(link, Kind::Pong, now, out);
        }
    }

    /// The gossip entries of a PING, PONG or MEET (`clusterSendPing`):
    /// wanted = floor(N / 10), at least 3, at most N − 2 (N counting this
    /// node and those in handshake), picked at random among the nodes out of
    /// handshake, with an address, and connected or serving slots, leaving
    /// out those in PFAIL; then every node in PFAIL. (Redis draws with
    /// replacement and may end with fewer; this draws without.)
    fn gossip_section(&mut self) -> Vec<Gossip> {
        let total = self.known();
        let wanted = (total / 10).max(3).min(total.saturating_sub(2));
        let mut pool: Vec<NodeId> = self
            .others
            .values()
            .filter(|n| {
                !n.flags.contains(NodeFlags::PFAIL)
                    && !n.in_handshake()
                    && n.has_addr()
                    && (n.link.is_some() || n.numslots > 0)
            })
            .map(|n| n.id)
            .collect();
        let mut picked = Vec::with_capacity(wanted);
        while picked.len() < wanted && !pool.is_empty() {
            let i = self.rng_below(pool.len());
            if i < pool.len() {
                picked.push(pool.swap_remove(i));
            }
        }
        picked.extend(
            self.others
                .values()
                .filter(|n| n.timed_out() && !n.in_handshake() && n.has_addr())
                .map(|n| n.id),
        );
        picked
            .iter()
            .filter_map(|id| self.others.get(id))
            .map(|n| Gossip {
                node: wire_id(&n.id),
                ping_sent: u32::try_from(n.ping_sent / 1000).unwrap_or(u32::MAX),
                pong_received: u32::try_from(n.pong_received / 1000).unwrap_or(u32::MAX),
                ip: ip_field(&n.ip),
                port: n.port,
                cport: n.cport,
                flags: types::NodeFlags(n.flags.bits()),
                pport: n.pport,
            })
            .collect()
    }

    /// Sends a PONG to this node's master's other replicas, so that they
    /// rank themselves with our offset
    /// (`clusterBroadcastPong(CLUSTER_BROADCAST_LOCAL_SLAVES)`).
    pub(super) fn broadcast_pong_to_siblings(&mut self, now: u64, out: &mut Vec<Action>) {
        let Some(master) = self.myself.replica_of else {
            return;
        };
        let links: Vec<LinkId> = self
            .others
            .values()
            .filter(|n| !n.in_handshake() && n.is_replica() && n.replica_of == Some(master))
            .filter_map(|n| n.link)
            .collect();
        for link in links {
            self.send_ping(link, Kind::Pong, now, out);
        }
    }

    /// Tells every node that `failing` has failed (`clusterSendFail`).
    pub(super) fn send_fail(&mut self, failing: &NodeId, out: &mut Vec<Action>) {
        self.broadcast(
            Body::Fail {
                node: wire_id(failing),
            },
            out,
        );
    }

    /// Tells the node at `link` which slots `about` serves, and at which
    /// config epoch (`clusterSendUpdate`); slots whose owner stopped
    /// claiming them are left out.
    pub(super) fn send_update(&mut self, link: LinkId, about: &NodeId, out: &mut Vec<Action>) {
        let Some(node) = self.get(about) else { return };
        let mut slots = node.slots.clone();
        slots.subtract(&self.not_claiming);
        let body = Body::Update {
            config_epoch: Epoch(node.config_epoch),
            node: wire_id(about),
            slots: SlotBitmap::from_bytes(*slots.as_bytes()),
        };
        self.send(link, body, out);
    }
}
