//! Unit tests of the cluster state machine: one `ClusterNode` driven by
//! hand, with fake peers whose messages are built with the codec, on a
//! clock that moves only when a test moves it. Each test names the Redis
//! function (or specification section) whose rule it checks.

mod conf;
mod epochs;
mod failover;
mod failure;
mod gossip;
mod replicas;
mod state;

use super::*;
use crate::codec::encode;
use crate::message::{Body, Gossip, Header, Message, PingBody};
use crate::types::{self, Epoch, SlotBitmap};

pub(super) const TIMEOUT: u64 = 2000;
pub(super) const T0: u64 = 1_700_000_000_000;

pub(super) fn id(n: u8) -> NodeId {
    format!("{n:040x}").parse().unwrap()
}

pub(super) fn ip(text: &str) -> NodeIp {
    NodeIp::new(text.as_bytes()).unwrap()
}

pub(super) fn slot(n: u16) -> Slot {
    Slot::new(n).unwrap()
}

pub(super) fn slots(range: std::ops::RangeInclusive<u16>) -> Vec<Slot> {
    range.map(slot).collect()
}

/// A node of the cluster played by the test: it has an id, an address and
/// a header, and writes the messages the test sends from it.
#[derive(Clone)]
pub(super) struct Fake {
    pub(super) n: u8,
    pub(super) header: Header,
}

impl Fake {
    /// A master with no slots at 10.0.0.n:700n, bus port 1700n.
    pub(super) fn new(n: u8) -> Fake {
        let header = Header {
            sender: super::wire_id(&id(n)),
            port: 7000 + u16::from(n),
            cport: 17000 + u16::from(n),
            flags: types::NodeFlags(NodeFlags::MASTER.bits() | NodeFlags::MYSELF.bits()),
            state: types::ClusterState::OK,
            ..Header::default()
        };
        Fake { n, header }
    }

    pub(super) fn id(&self) -> NodeId {
        id(self.n)
    }

    pub(super) fn ip(&self) -> String {
        format!("10.0.0.{}", self.n)
    }

    pub(super) fn with_slots(mut self, slots: impl IntoIterator<Item = u16>, epoch: u64) -> Fake {
        self.header.slots = slots.into_iter().collect::<SlotBitmap>();
        self.header.config_epoch = Epoch(epoch);
        self.header.current_epoch = Epoch(self.header.current_epoch.0.max(epoch));
        self
    }

    pub(super) fn replica_of(mut self, master: &Fake) -> Fake {
        self.header.replicaof = master.header.sender;
        self.header.slots = master.header.slots.clone();
        self.header.config_epoch = master.header.config_epoch;
        self.header.flags = types::NodeFlags(NodeFlags::REPLICA.bits() | NodeFlags::MYSELF.bits());
        self
    }

    pub(super) fn bytes(&self, body: Body) -> Vec<u8> {
        encode(&Message {
            header: self.header.clone(),
            body,
        })
        .unwrap()
    }

    pub(super) fn ping(&self, gossip: Vec<Gossip>) -> Vec<u8> {
        self.bytes(Body::Ping(PingBody {
            gossip,
            extensions: Vec::new(),
        }))
    }

    pub(super) fn pong(&self, gossip: Vec<Gossip>) -> Vec<u8> {
        self.bytes(Body::Pong(PingBody {
            gossip,
            extensions: Vec::new(),
        }))
    }

    pub(super) fn meet(&self) -> Vec<u8> {
        self.bytes(Body::Meet(PingBody::default()))
    }

    /// A gossip entry about this node, as a peer that sees it up would
    /// write it.
    pub(super) fn entry(&self, flags: NodeFlags, pong_secs: u32) -> Gossip {
        Gossip {
            node: self.header.sender,
            ping_sent: 0,
            pong_received: pong_secs,
            ip: ip(&self.ip()),
            port: self.header.port,
            cport: self.header.cport,
            flags: types::NodeFlags(flags.bits()),
            pport: 0,
        }
    }
}

/// The node under test, its clock, and the links to each fake. Fakes that
/// joined answer the node's PINGs and connections while alive.
pub(super) struct Harness {
    pub(super) node: ClusterNode,
    pub(super) now: u64,
    /// Fake n → (the link the node opened to it, the link it opened to the
    /// node).
    pub(super) links: BTreeMap<u8, (LinkId, LinkId)>,
    /// The fakes that joined, by number.
    pub(super) fakes: BTreeMap<u8, Fake>,
    /// Those that answer.
    pub(super) alive: std::collections::BTreeSet<u8>,
}

pub(super) fn config(n: u8) -> Config {
    Config {
        node_timeout_ms: TIMEOUT,
        seed: u64::from(n),
        ..Config::new(id(n), 7000 + u16::from(n), 17000 + u16::from(n))
    }
}

impl Harness {
    /// Node 1, a master with no slots, knowing no one.
    pub(super) fn new() -> Harness {
        Harness::with(config(1))
    }

    pub(super) fn with(config: Config) -> Harness {
        let mut node = ClusterNode::new(config);
        let _ = node.take_save_request();
        Harness {
            node,
            now: T0,
            links: BTreeMap::new(),
            fakes: BTreeMap::new(),
            alive: std::collections::BTreeSet::new(),
        }
    }

    /// One tick; live fakes answer PINGs and connections at once.
    pub(super) fn tick(&mut self) -> Vec<Action> {
        self.now += 100;
        let out = self.node.on_tick(self.now);
        self.react(&out);
        out
    }

    /// What live fakes do with the node's actions: accept its connections
    /// and answer its PINGs and MEETs with a PONG.
    pub(super) fn react(&mut self, actions: &[Action]) {
        for action in actions {
            match action {
                Action::Connect { link, cport, .. } => {
                    let Some(n) = self
                        .alive
                        .iter()
                        .copied()
                        .find(|n| self.fakes[n].header.cport == *cport)
                    else {
                        continue;
                    };
                    if let Some(links) = self.links.get_mut(&n) {
                        links.0 = *link;
                    }
                    let out = self.node.on_connected(*link, self.now);
                    self.react(&out);
                }
                Action::Send { link, bytes } => {
                    let Some(n) = self
                        .alive
                        .iter()
                        .copied()
                        .find(|n| self.links.get(n).is_some_and(|l| l.0 == *link))
                    else {
                        continue;
                    };
                    let kind = crate::decode(bytes).unwrap().kind();
                    if matches!(kind, crate::MessageType::Ping | crate::MessageType::Meet) {
                        let pong = self.fakes[&n].pong(vec![]);
                        self.node.on_message(*link, &pong, self.now);
                    }
                }
                _ => {}
            }
        }
    }

    /// Fake `n` stops answering.
    pub(super) fn kill(&mut self, n: u8) {
        self.alive.remove(&n);
    }

    /// Runs `ms` of ticks, returning every action.
    pub(super) fn run(&mut self, ms: u64) -> Vec<Action> {
        let mut all = Vec::new();
        for _ in 0..ms / 100 {
            all.extend(self.tick());
        }
        all
    }

    /// Delivers `bytes` from fake `n` on the link it opened to the node.
    pub(super) fn from(&mut self, n: u8, bytes: &[u8]) -> Vec<Action> {
        let link = self.links[&n].1;
        self.node.on_message(link, bytes, self.now)
    }

    /// Delivers `bytes` from fake `n` on the link the node opened to it (an
    /// answer: PONG).
    pub(super) fn answer(&mut self, n: u8, bytes: &[u8]) -> Vec<Action> {
        let link = self.links[&n].0;
        self.node.on_message(link, bytes, self.now)
    }

    /// The full handshake with a fake, as `CLUSTER MEET` starts it: the
    /// node connects and sends MEET, the fake answers PONG, then connects
    /// back and pings.
    pub(super) fn join(&mut self, fake: &Fake) {
        let port = i64::from(fake.header.port);
        let cport = i64::from(fake.header.cport);
        self.node.meet(&fake.ip(), port, cport, self.now).unwrap();
        let out = self.tick();
        let link = connect_of(&out).expect("a Connect for the met node");
        let out = self.node.on_connected(link, self.now);
        assert_eq!(sent(&out)[0].1.kind(), crate::MessageType::Meet);
        self.node.on_message(link, &fake.pong(vec![]), self.now);
        let inbound = self
            .node
            .on_accept(ip(&fake.ip()), ip("10.0.0.1"), self.now);
        self.links.insert(fake.n, (link, inbound));
        self.fakes.insert(fake.n, fake.clone());
        self.alive.insert(fake.n);
        self.from(fake.n, &fake.ping(vec![]));
        assert!(self
            .node
            .node(&fake.id())
            .is_some_and(|n| !n.in_handshake()));
    }

    /// A fake learnt from gossip: the node connects on the next tick, and
    /// the fake answers and connects back.
    pub(super) fn connect_learnt(&mut self, fake: &Fake) {
        let out = self.tick();
        let want = fake.header.cport;
        let link = out
            .iter()
            .find_map(|a| match a {
                Action::Connect { link, cport, .. } if *cport == want => Some(*link),
                _ => None,
            })
            .expect("a Connect for the learnt node");
        self.node.on_connected(link, self.now);
        self.node.on_message(link, &fake.pong(vec![]), self.now);
        let inbound = self
            .node
            .on_accept(ip(&fake.ip()), ip("10.0.0.1"), self.now);
        self.links.insert(fake.n, (link, inbound));
        self.fakes.insert(fake.n, fake.clone());
        self.alive.insert(fake.n);
        self.from(fake.n, &fake.ping(vec![]));
    }

    pub(super) fn flags(&self, n: u8) -> NodeFlags {
        self.node.node(&id(n)).unwrap().flags
    }
}

/// The first Connect among the actions.
pub(super) fn connect_of(actions: &[Action]) -> Option<LinkId> {
    actions.iter().find_map(|a| match a {
        Action::Connect { link, .. } => Some(*link),
        _ => None,
    })
}

/// The messages among the actions, decoded, with their links.
pub(super) fn sent(actions: &[Action]) -> Vec<(LinkId, Message)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send { link, bytes } => Some((*link, crate::decode(bytes).unwrap())),
            _ => None,
        })
        .collect()
}

/// The messages of one type among the actions.
pub(super) fn sent_of(actions: &[Action], kind: crate::MessageType) -> Vec<(LinkId, Message)> {
    sent(actions)
        .into_iter()
        .filter(|(_, m)| m.kind() == kind)
        .collect()
}
