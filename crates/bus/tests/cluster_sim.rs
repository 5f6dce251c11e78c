//! Whole clusters of `ClusterNode`s on a simulated network and clock: the
//! handshake, gossip spreading the node table, the size of the gossip
//! section, and failure suspicion under a partition, all deterministic.

use ferrodis_bus::cluster::{Action, ClusterNode, Config, LinkId};
use ferrodis_bus::{decode, Body, NodeFlags, NodeId, NodeIp};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

const TIMEOUT: u64 = 2000;

struct Net {
    nodes: Vec<ClusterNode>,
    /// Each end of an open connection → the other end.
    pairs: BTreeMap<(usize, LinkId), (usize, LinkId)>,
    /// Messages in flight: to node, on its link, bytes.
    wire: VecDeque<(usize, LinkId, Vec<u8>)>,
    /// Nodes cut off from everyone.
    down: BTreeSet<usize>,
    /// Every message sent: from node, bytes.
    sent: Vec<(usize, Vec<u8>)>,
    now: u64,
}

fn ip() -> NodeIp {
    NodeIp::new(b"127.0.0.1").unwrap()
}

fn cport(i: usize) -> u16 {
    17000 + i as u16
}

impl Net {
    fn new(n: usize) -> Net {
        let nodes = (0..n)
            .map(|i| {
                ClusterNode::new(Config {
                    id: format!("{:040x}", i + 1).parse().unwrap(),
                    port: 7000 + i as u16,
                    cport: cport(i),
                    node_timeout: TIMEOUT,
                    seed: 1000 + i as u64,
                })
            })
            .collect();
        Net {
            nodes,
            pairs: BTreeMap::new(),
            wire: VecDeque::new(),
            down: BTreeSet::new(),
            sent: Vec::new(),
            now: 1_700_000_000_000,
        }
    }

    fn id(&self, i: usize) -> NodeId {
        self.nodes[i].id()
    }

    fn meet(&mut self, from: usize, to: usize) {
        let now = self.now;
        self.nodes[from].meet(ip(), 7000 + to as u16, cport(to), now);
    }

    fn apply(&mut self, from: usize, actions: Vec<Action>) {
        let mut work: VecDeque<(usize, Action)> = actions.into_iter().map(|a| (from, a)).collect();
        while let Some((i, action)) = work.pop_front() {
            match action {
                Action::Connect {
                    link, cport: port, ..
                } => {
                    let target = (0..self.nodes.len()).find(|&j| cport(j) == port);
                    match target {
                        Some(j) if !self.down.contains(&i) && !self.down.contains(&j) => {
                            let other = self.nodes[j].on_accept(ip());
                            self.pairs.insert((i, link), (j, other));
                            self.pairs.insert((j, other), (i, link));
                            let now = self.now;
                            let more = self.nodes[i].on_connected(link, now);
                            work.extend(more.into_iter().map(|a| (i, a)));
                        }
                        _ => self.nodes[i].on_closed(link),
                    }
                }
                Action::Send { link, bytes } => {
                    self.sent.push((i, bytes.clone()));
                    if let Some(&(j, other)) = self.pairs.get(&(i, link)) {
                        if !self.down.contains(&i) && !self.down.contains(&j) {
                            self.wire.push_back((j, other, bytes));
                        }
                    }
                }
                Action::Close { link } => {
                    if let Some((j, other)) = self.pairs.remove(&(i, link)) {
                        self.pairs.remove(&(j, other));
                        self.nodes[j].on_closed(other);
                    }
                }
            }
        }
    }

    fn deliver(&mut self) {
        while let Some((j, link, bytes)) = self.wire.pop_front() {
            let now = self.now;
            let actions = self.nodes[j].on_message(link, &bytes, now);
            self.apply(j, actions);
        }
    }

    /// Runs `ms` of simulated time in ticks of 100 ms.
    fn run(&mut self, ms: u64) {
        for _ in 0..ms / 100 {
            self.now += 100;
            for i in 0..self.nodes.len() {
                let now = self.now;
                let actions = self.nodes[i].on_tick(now);
                self.apply(i, actions);
                self.deliver();
            }
        }
    }

    /// Node `i`'s view: id → flags, of the nodes out of handshake.
    fn known(&self, i: usize) -> BTreeMap<NodeId, NodeFlags> {
        self.nodes[i]
            .peers()
            .values()
            .filter(|p| !p.flags.contains(NodeFlags::HANDSHAKE))
            .map(|p| (p.id, p.flags))
            .collect()
    }

    fn others(&self, i: usize) -> BTreeSet<NodeId> {
        (0..self.nodes.len())
            .filter(|&j| j != i)
            .map(|j| self.id(j))
            .collect()
    }
}

#[test]
fn meet_and_gossip_join_three_nodes() {
    let mut net = Net::new(3);
    net.meet(0, 1);
    net.meet(2, 0);
    net.run(3000);
    for i in 0..3 {
        let known = net.known(i);
        assert_eq!(
            known.keys().copied().collect::<BTreeSet<_>>(),
            net.others(i),
            "node {i}"
        );
        assert_eq!(net.nodes[i].peers().len(), 2, "no handshake left on {i}");
        for (id, flags) in known {
            assert_eq!(flags, NodeFlags::MASTER, "{id} as {i} sees it");
        }
        for p in net.nodes[i].peers().values() {
            let j = (0..3).find(|&j| net.id(j) == p.id).unwrap();
            assert_eq!((p.ip, p.port, p.cport), (ip(), 7000 + j as u16, cport(j)));
        }
    }
    // Node 1 learnt node 2 from gossip alone: it never met it.
    assert!(net.known(1).contains_key(&net.id(2)));
}

#[test]
fn a_partitioned_node_is_suspected_then_cleared() {
    let mut net = Net::new(3);
    net.meet(0, 1);
    net.meet(0, 2);
    net.run(3000);
    assert!((0..3).all(|i| net.known(i).len() == 2));

    net.down.insert(2);
    net.run(TIMEOUT + 1500);
    let c = net.id(2);
    for i in 0..2 {
        assert!(net.known(i)[&c].contains(NodeFlags::PFAIL), "node {i}");
        let other = net.id(1 - i);
        assert!(!net.known(i)[&other].contains(NodeFlags::PFAIL));
    }
    for flags in net.known(2).values() {
        assert!(flags.contains(NodeFlags::PFAIL));
    }
    // Suspected nodes ride along in every gossip section.
    net.sent.clear();
    net.run(1000);
    let from_a: Vec<_> = net
        .sent
        .iter()
        .filter(|(i, _)| *i == 0)
        .map(|(_, b)| decode(b).unwrap())
        .collect();
    assert!(!from_a.is_empty());
    for m in &from_a {
        let ping = m.body.ping().unwrap();
        assert!(ping
            .gossip
            .iter()
            .any(|g| g.node == c && g.flags.contains(NodeFlags::PFAIL)));
    }

    net.down.clear();
    net.run(TIMEOUT * 2);
    for i in 0..3 {
        for (id, flags) in net.known(i) {
            assert!(!flags.contains(NodeFlags::PFAIL), "{id} on node {i}");
        }
    }
}

#[test]
fn gossip_carries_a_tenth_of_the_nodes_and_at_least_three() {
    let mut net = Net::new(40);
    for i in 1..40 {
        net.meet(i, 0);
    }
    net.run(8000);
    for i in 0..40 {
        assert_eq!(net.known(i).len(), 39, "node {i} knows everyone");
    }
    net.sent.clear();
    net.run(500);
    assert!(!net.sent.is_empty());
    for (_, bytes) in &net.sent {
        let m = decode(bytes).unwrap();
        let ping = m.body.ping().unwrap();
        assert!(matches!(m.body, Body::Ping(_) | Body::Pong(_)));
        assert_eq!(ping.gossip.len(), 4, "max(3, 40 / 10)");
        let distinct: BTreeSet<_> = ping.gossip.iter().map(|g| g.node).collect();
        assert_eq!(distinct.len(), 4);
        assert!(!distinct.contains(&m.header.sender));
    }

    let mut small = Net::new(4);
    for i in 1..4 {
        small.meet(i, 0);
    }
    small.run(3000);
    small.sent.clear();
    small.run(500);
    for (_, bytes) in &small.sent {
        let m = decode(bytes).unwrap();
        assert_eq!(m.body.ping().unwrap().gossip.len(), 2, "N - 2 when below 3");
    }
}

#[test]
fn a_handshake_that_never_completes_is_dropped() {
    let mut net = Net::new(2);
    net.down.insert(1);
    net.meet(0, 1);
    net.run(500);
    assert_eq!(net.nodes[0].peers().len(), 1);
    net.run(TIMEOUT + 500);
    assert!(net.nodes[0].peers().is_empty());
}

#[test]
fn a_simulation_replays_from_its_seeds() {
    let run = || {
        let mut net = Net::new(12);
        for i in 1..12 {
            net.meet(i, i - 1);
        }
        net.run(4000);
        net.sent
    };
    assert_eq!(run(), run());
}
