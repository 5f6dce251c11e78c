//! The start of the cluster state machine: a node table kept up to date by
//! the handshake (MEET), PING/PONG heartbeats with gossip, and failure
//! suspicion (PFAIL), as a Redis 7.0 node runs them.
//!
//! [`ClusterNode`] does no I/O and reads no clock. The caller owns the
//! connections, names each one with the [`LinkId`] the node hands out, and
//! feeds in what happens: [`ClusterNode::on_accept`] and
//! [`ClusterNode::on_connected`] when a connection opens,
//! [`ClusterNode::on_message`] for each whole message read (framed with
//! [`next_frame`](crate::next_frame)), [`ClusterNode::on_closed`] when one
//! closes, and [`ClusterNode::on_tick`] about ten times a second. Each
//! returns the [`Action`]s to carry out: connections to open, bytes to
//! send, connections to close. Time is milliseconds of Unix time, passed in.
//!
//! Not here yet: failure reports and FAIL, slot ownership and UPDATE,
//! epochs beyond adopting the greatest current epoch seen, replicas and
//! failover, Pub/Sub, nodes.conf.

use crate::codec::{decode, encode};
use crate::message::{Body, Gossip, Header, Message, PingBody};
use crate::types::{ClusterState, Epoch, NodeFlags, NodeId, NodeIp, SlotBitmap};
use std::collections::BTreeMap;

/// A connection, as the node names it. The caller keeps the map from these
/// to its sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkId(pub u64);

/// What the caller must do for the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Open a connection to a node's bus port; report it with
    /// [`ClusterNode::on_connected`], or its failure with
    /// [`ClusterNode::on_closed`].
    Connect {
        /// The name of the new connection.
        link: LinkId,
        /// The address to connect to.
        ip: NodeIp,
        /// The bus port.
        cport: u16,
    },
    /// Write these bytes (one encoded message) to a connection.
    Send {
        /// The connection.
        link: LinkId,
        /// The message.
        bytes: Vec<u8>,
    },
    /// Close a connection. The node has already forgotten it.
    Close {
        /// The connection.
        link: LinkId,
    },
}

/// How a node is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// The node's own id.
    pub id: NodeId,
    /// Its client port.
    pub port: u16,
    /// Its cluster bus port.
    pub cport: u16,
    /// `cluster-node-timeout`, in milliseconds.
    pub node_timeout: u64,
    /// Seed of the node's random choices (gossip entries, ping targets,
    /// handshake names), so that a simulation replays.
    pub seed: u64,
}

/// What the node knows about another node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Its id; a random one while in handshake.
    pub id: NodeId,
    /// Its flags as this node sees them.
    pub flags: NodeFlags,
    /// Its address.
    pub ip: NodeIp,
    /// Its client port.
    pub port: u16,
    /// Its bus port.
    pub cport: u16,
    /// The slots it claims.
    pub slots: SlotBitmap,
    /// Its config epoch.
    pub config_epoch: Epoch,
    /// When this node last pinged it and is still waiting for a PONG (0:
    /// nothing outstanding).
    pub ping_sent: u64,
    /// When this node last had a PONG from it.
    pub pong_received: u64,
    /// When it entered the table.
    pub created: u64,
    /// This node's connection to it, once asked for.
    pub link: Option<LinkId>,
}

#[derive(Debug, Clone)]
struct Link {
    /// For a link this node opened, the node it leads to (its current id).
    to: Option<NodeId>,
    /// Whether the connection is up (inbound links always are).
    connected: bool,
    /// The address of the other end, for an inbound link.
    peer_ip: NodeIp,
}

/// A cluster node's view of the cluster, driven by events; see the module
/// documentation.
#[derive(Debug, Clone)]
pub struct ClusterNode {
    config: Config,
    flags: NodeFlags,
    current_epoch: Epoch,
    config_epoch: Epoch,
    slots: SlotBitmap,
    peers: BTreeMap<NodeId, Peer>,
    links: BTreeMap<LinkId, Link>,
    next_link: u64,
    rng: u64,
    ticks: u64,
}

impl ClusterNode {
    /// A node that knows only itself: a master with no slots.
    pub fn new(config: Config) -> ClusterNode {
        let rng = config.seed | 1;
        ClusterNode {
            config,
            flags: NodeFlags::MASTER | NodeFlags::MYSELF,
            current_epoch: Epoch(0),
            config_epoch: Epoch(0),
            slots: SlotBitmap::new(),
            peers: BTreeMap::new(),
            links: BTreeMap::new(),
            next_link: 0,
            rng,
            ticks: 0,
        }
    }

    /// The node's id.
    pub fn id(&self) -> NodeId {
        self.config.id
    }

    /// How the node was set up.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The greatest current epoch seen.
    pub fn current_epoch(&self) -> Epoch {
        self.current_epoch
    }

    /// Other nodes, by id (handshake nodes under their random ids).
    pub fn peers(&self) -> &BTreeMap<NodeId, Peer> {
        &self.peers
    }

    /// The slots this node serves.
    pub fn slots(&self) -> &SlotBitmap {
        &self.slots
    }

    /// Serve these slots from now on (`CLUSTER ADDSLOTS`).
    pub fn set_slots(&mut self, slots: SlotBitmap) {
        self.slots = slots;
    }

    /// `CLUSTER MEET ip port cport`: start a handshake. The node enters the
    /// table under a random id; the connection is asked for on the next
    /// tick, and a MEET goes out once it is up.
    pub fn meet(&mut self, ip: NodeIp, port: u16, cport: u16, now: u64) {
        let already = self.peers.values().any(|p| {
            p.flags.contains(NodeFlags::HANDSHAKE)
                && p.ip == ip
                && p.port == port
                && p.cport == cport
        });
        if already {
            return;
        }
        let id = self.random_id();
        self.peers.insert(
            id,
            Peer {
                id,
                flags: NodeFlags::HANDSHAKE | NodeFlags::MEET,
                ip,
                port,
                cport,
                slots: SlotBitmap::new(),
                config_epoch: Epoch(0),
                ping_sent: 0,
                pong_received: 0,
                created: now,
                link: None,
            },
        );
    }

    /// A connection came in from `peer_ip`; returns its name.
    pub fn on_accept(&mut self, peer_ip: NodeIp) -> LinkId {
        let link = self.new_link();
        self.links.insert(
            link,
            Link {
                to: None,
                connected: true,
                peer_ip,
            },
        );
        link
    }

    /// A connection asked for with [`Action::Connect`] is up: the node
    /// sends its first PING, or a MEET to a node met by [`meet`](Self::meet).
    pub fn on_connected(&mut self, link: LinkId, now: u64) -> Vec<Action> {
        let Some(state) = self.links.get_mut(&link) else {
            return Vec::new();
        };
        state.connected = true;
        let Some(to) = state.to else {
            return Vec::new();
        };
        let meet = self
            .peers
            .get_mut(&to)
            .map(|p| {
                let meet = p.flags.contains(NodeFlags::MEET);
                p.flags.remove(NodeFlags::MEET);
                meet
            })
            .unwrap_or(false);
        let body = if meet { Kind::Meet } else { Kind::Ping };
        self.ping(link, body, now).into_iter().collect()
    }

    /// A connection closed (or could not be opened).
    pub fn on_closed(&mut self, link: LinkId) {
        if let Some(Link { to: Some(to), .. }) = self.links.remove(&link) {
            if let Some(peer) = self.peers.get_mut(&to) {
                if peer.link == Some(link) {
                    peer.link = None;
                }
            }
        }
    }

    /// One whole message arrived on `link`. A malformed one is ignored, as
    /// Redis ignores it.
    pub fn on_message(&mut self, link: LinkId, bytes: &[u8], now: u64) -> Vec<Action> {
        let mut actions = Vec::new();
        let Ok(message) = decode(bytes) else {
            return actions;
        };
        let Some(state) = self.links.get(&link).cloned() else {
            return actions;
        };
        let h = &message.header;
        let known = self
            .peers
            .get(&h.sender)
            .is_some_and(|p| !p.flags.contains(NodeFlags::HANDSHAKE));
        if known && h.current_epoch > self.current_epoch {
            self.current_epoch = h.current_epoch;
        }
        let Some(ping) = message.body.ping() else {
            return actions;
        };
        let kind = message.kind();
        if matches!(message.body, Body::Ping(_) | Body::Meet(_)) {
            if matches!(message.body, Body::Meet(_)) && !known && state.to.is_none() {
                // A MEET from a stranger: add it, in handshake; our own
                // connection to it will finish the handshake.
                let ip = if h.ip.is_empty() { state.peer_ip } else { h.ip };
                self.meet(ip, h.port, h.cport, now);
                if let Some(p) = self.peers.values_mut().find(|p| {
                    p.flags.contains(NodeFlags::HANDSHAKE) && p.ip == ip && p.cport == h.cport
                }) {
                    p.flags.remove(NodeFlags::MEET);
                }
            }
            actions.extend(self.ping(link, Kind::Pong, now));
        }
        if let Some(to) = state.to {
            if self
                .peers
                .get(&to)
                .is_some_and(|p| p.flags.contains(NodeFlags::HANDSHAKE))
            {
                // The first answer on our link to a handshake node tells
                // its real id.
                if known {
                    self.forget(to, &mut actions);
                    return actions;
                }
                if let Some(mut peer) = self.peers.remove(&to) {
                    peer.id = h.sender;
                    peer.flags.remove(NodeFlags::HANDSHAKE);
                    self.peers.insert(h.sender, peer);
                }
                if let Some(l) = self.links.get_mut(&link) {
                    l.to = Some(h.sender);
                }
            } else if to != h.sender {
                // Someone else answers at that address now.
                self.forget_link(link, &mut actions);
                return actions;
            }
            if kind == crate::MessageType::Pong {
                if let Some(p) = self.peers.get_mut(&h.sender) {
                    p.pong_received = now;
                    p.ping_sent = 0;
                    p.flags.remove(NodeFlags::PFAIL);
                }
            }
        }
        if let Some(p) = self.peers.get_mut(&h.sender) {
            if !p.flags.contains(NodeFlags::HANDSHAKE) {
                let role = if h.replicaof.is_null() {
                    NodeFlags::MASTER
                } else {
                    NodeFlags::REPLICA
                };
                p.flags.remove(NodeFlags::MASTER | NodeFlags::REPLICA);
                p.flags.insert(role);
                p.slots = h.slots.clone();
                p.config_epoch = p.config_epoch.max(h.config_epoch);
                let gossip = ping.gossip.clone();
                self.learn(&gossip, now);
            }
        }
        actions
    }

    /// Time passes: connect to nodes without a connection, ping, drop
    /// handshakes that take too long, and suspect nodes that do not answer.
    pub fn on_tick(&mut self, now: u64) -> Vec<Action> {
        let mut actions = Vec::new();
        self.ticks += 1;
        let timeout = self.config.node_timeout;

        let expired: Vec<NodeId> = self
            .peers
            .values()
            .filter(|p| {
                p.flags.contains(NodeFlags::HANDSHAKE)
                    && now.saturating_sub(p.created) > timeout.max(1000)
            })
            .map(|p| p.id)
            .collect();
        for id in expired {
            self.forget(id, &mut actions);
        }

        let unlinked: Vec<NodeId> = self
            .peers
            .values()
            .filter(|p| p.link.is_none() && !p.flags.contains(NodeFlags::NOADDR))
            .map(|p| p.id)
            .collect();
        for id in unlinked {
            let link = self.new_link();
            if let Some(p) = self.peers.get_mut(&id) {
                p.link = Some(link);
                // A link that never connects must still lead to PFAIL.
                if p.ping_sent == 0 {
                    p.ping_sent = now;
                }
                self.links.insert(
                    link,
                    Link {
                        to: Some(id),
                        connected: false,
                        peer_ip: p.ip,
                    },
                );
                actions.push(Action::Connect {
                    link,
                    ip: p.ip,
                    cport: p.cport,
                });
            }
        }

        // Every second, ping the node with the oldest PONG among five
        // picked at random.
        let mut targets = Vec::new();
        if self.ticks % 10 == 0 {
            let candidates: Vec<(u64, NodeId)> =
                self.pingable().map(|p| (p.pong_received, p.id)).collect();
            let mut best: Option<(u64, NodeId)> = None;
            if !candidates.is_empty() {
                for _ in 0..5 {
                    let i = (self.rng_next() % candidates.len() as u64) as usize;
                    if let Some(&c) = candidates.get(i) {
                        if best.map_or(true, |b| c.0 < b.0) {
                            best = Some(c);
                        }
                    }
                }
            }
            targets.extend(best.map(|(_, id)| id));
        }
        // And any node not heard from for half the timeout.
        targets.extend(
            self.pingable()
                .filter(|p| now.saturating_sub(p.pong_received) > timeout / 2)
                .map(|p| p.id),
        );
        targets.sort();
        targets.dedup();
        for id in targets {
            if let Some(link) = self.peers.get(&id).and_then(|p| p.link) {
                actions.extend(self.ping(link, Kind::Ping, now));
            }
        }

        // A ping outstanding for half the timeout: the link may be the
        // problem, so drop it; the next tick connects again and pings.
        let stale: Vec<LinkId> = self
            .peers
            .values()
            .filter(|p| p.ping_sent != 0 && now.saturating_sub(p.ping_sent) > timeout / 2)
            .filter_map(|p| p.link)
            .filter(|l| self.links.get(l).is_some_and(|l| l.connected))
            .collect();
        for link in stale {
            self.forget_link(link, &mut actions);
        }

        for p in self.peers.values_mut() {
            if p.ping_sent != 0
                && now.saturating_sub(p.ping_sent) > timeout
                && !p.flags.contains(NodeFlags::HANDSHAKE)
            {
                p.flags.insert(NodeFlags::PFAIL);
            }
        }
        actions
    }

    /// Peers with a connected link, no ping outstanding, out of handshake.
    fn pingable(&self) -> impl Iterator<Item = &Peer> {
        self.peers.values().filter(|p| {
            p.ping_sent == 0
                && !p.flags.contains(NodeFlags::HANDSHAKE)
                && p.link
                    .and_then(|l| self.links.get(&l))
                    .is_some_and(|l| l.connected)
        })
    }

    /// Applies a gossip section from a known sender: unknown nodes join the
    /// table under the id given, to be connected to on the next tick.
    fn learn(&mut self, gossip: &[Gossip], now: u64) {
        for g in gossip {
            if g.node == self.config.id || self.peers.contains_key(&g.node) {
                continue;
            }
            if g.flags.contains(NodeFlags::NOADDR) || !g.node.is_valid() {
                continue;
            }
            let mut flags = g.flags;
            flags.remove(NodeFlags::MYSELF | NodeFlags::PFAIL | NodeFlags::FAIL);
            flags.remove(NodeFlags::HANDSHAKE | NodeFlags::MEET);
            self.peers.insert(
                g.node,
                Peer {
                    id: g.node,
                    flags,
                    ip: g.ip,
                    port: g.port,
                    cport: g.cport,
                    slots: SlotBitmap::new(),
                    config_epoch: Epoch(0),
                    ping_sent: 0,
                    pong_received: 0,
                    created: now,
                    link: None,
                },
            );
        }
    }

    /// A PING, PONG or MEET to send on `link`, with gossip.
    fn ping(&mut self, link: LinkId, kind: Kind, now: u64) -> Option<Action> {
        let to = self.links.get(&link)?.to;
        if kind == Kind::Ping {
            if let Some(p) = to.and_then(|id| self.peers.get_mut(&id)) {
                if p.ping_sent == 0 {
                    p.ping_sent = now;
                }
            }
        }
        let gossip = self.gossip_section(to);
        let body = PingBody {
            gossip,
            extensions: Vec::new(),
        };
        let body = match kind {
            Kind::Ping => Body::Ping(body),
            Kind::Pong => Body::Pong(body),
            Kind::Meet => Body::Meet(body),
        };
        let bytes = encode(&Message {
            header: self.header(),
            body,
        })
        .ok()?;
        Some(Action::Send { link, bytes })
    }

    /// max(3, N/10) random nodes (N counting this one), no more than N − 2,
    /// leaving out nodes in handshake, without an address, or unconnected
    /// with no slots; then every node in PFAIL.
    fn gossip_section(&mut self, _to: Option<NodeId>) -> Vec<Gossip> {
        let total = self.peers.len() + 1;
        let wanted = (total / 10).max(3).min(total.saturating_sub(2));
        let eligible: Vec<NodeId> = self
            .peers
            .values()
            .filter(|p| {
                !p.flags.contains(NodeFlags::PFAIL)
                    && !p.flags.contains(NodeFlags::HANDSHAKE)
                    && !p.flags.contains(NodeFlags::NOADDR)
                    && (p.link.is_some() || !p.slots.is_empty())
            })
            .map(|p| p.id)
            .collect();
        let mut picked: Vec<NodeId> = Vec::new();
        let mut pool = eligible;
        while picked.len() < wanted && !pool.is_empty() {
            let i = (self.rng_next() % pool.len() as u64) as usize;
            if i < pool.len() {
                picked.push(pool.swap_remove(i));
            }
        }
        picked.extend(
            self.peers
                .values()
                .filter(|p| {
                    p.flags.contains(NodeFlags::PFAIL)
                        && !p.flags.contains(NodeFlags::HANDSHAKE)
                        && !p.flags.contains(NodeFlags::NOADDR)
                })
                .map(|p| p.id),
        );
        picked
            .iter()
            .filter_map(|id| self.peers.get(id))
            .map(|p| Gossip {
                node: p.id,
                ping_sent: (p.ping_sent / 1000) as u32,
                pong_received: (p.pong_received / 1000) as u32,
                ip: p.ip,
                port: p.port,
                cport: p.cport,
                flags: p.flags,
                pport: 0,
            })
            .collect()
    }

    fn header(&self) -> Header {
        Header {
            port: self.config.port,
            current_epoch: self.current_epoch,
            config_epoch: self.config_epoch,
            sender: self.config.id,
            slots: self.slots.clone(),
            cport: self.config.cport,
            flags: self.flags,
            state: ClusterState::FAIL,
            ..Header::default()
        }
    }

    /// Drops a node and its link.
    fn forget(&mut self, id: NodeId, actions: &mut Vec<Action>) {
        if let Some(peer) = self.peers.remove(&id) {
            if let Some(link) = peer.link {
                self.links.remove(&link);
                actions.push(Action::Close { link });
            }
        }
    }

    fn forget_link(&mut self, link: LinkId, actions: &mut Vec<Action>) {
        self.on_closed(link);
        actions.push(Action::Close { link });
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

    fn random_id(&mut self) -> NodeId {
        let mut id = [0u8; 40];
        for chunk in id.chunks_mut(16) {
            let r = self.rng_next();
            for (i, b) in chunk.iter_mut().enumerate() {
                let nibble = (r >> (4 * (i % 16))) & 0xf;
                *b = b"0123456789abcdef"
                    .get(nibble as usize)
                    .copied()
                    .unwrap_or(b'0');
            }
        }
        NodeId(id)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ping,
    Pong,
    Meet,
}
