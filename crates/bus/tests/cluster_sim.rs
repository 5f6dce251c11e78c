//! Whole clusters of `ClusterNode`s on a simulated network and clock: the
//! handshake, gossip spreading the node table, the size of the gossip
//! section, failure detection and agreement under a partition, slot
//! ownership and epochs, the cluster state, and replicas, all
//! deterministic.

use ferrodis_bus::cluster::{Action, ClusterNode, ClusterState, Config, LinkId};
use ferrodis_bus::{decode, Body, MessageType, NodeIp};
use ferrodis_slots::{NodeFlags, NodeId, Slot};
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
    /// The failover actions each node asked for, in order.
    effects: Vec<(usize, Action)>,
    now: u64,
}

fn ip() -> NodeIp {
    NodeIp::new(b"127.0.0.1").unwrap()
}

fn cport(i: usize) -> u16 {
    17000 + i as u16
}

fn slots(range: std::ops::RangeInclusive<u16>) -> Vec<Slot> {
    range.map(|n| Slot::new(n).unwrap()).collect()
}

impl Net {
    fn new(n: usize) -> Net {
        let nodes = (0..n)
            .map(|i| {
                ClusterNode::new(Config {
                    node_timeout_ms: TIMEOUT,
                    seed: 1000 + i as u64,
                    ..Config::new(
                        format!("{:040x}", i + 1).parse().unwrap(),
                        7000 + i as u16,
                        cport(i),
                    )
                })
            })
            .collect();
        Net {
            nodes,
            pairs: BTreeMap::new(),
            wire: VecDeque::new(),
            down: BTreeSet::new(),
            sent: Vec::new(),
            effects: Vec::new(),
            now: 1_700_000_000_000,
        }
    }

    fn id(&self, i: usize) -> NodeId {
        self.nodes[i].id()
    }

    fn meet(&mut self, from: usize, to: usize) {
        let now = self.now;
        self.nodes[from]
            .meet("127.0.0.1", 7000 + to as i64, i64::from(cport(to)), now)
            .unwrap();
    }

    /// Node 0 meets every other node, and the cluster runs until all know
    /// all.
    fn joined(n: usize) -> Net {
        let mut net = Net::new(n);
        for i in 1..n {
            net.meet(0, i);
        }
        net.run(3000);
        for i in 0..n {
            assert_eq!(net.known(i).len(), n - 1, "node {i} knows everyone");
        }
        net
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
                            let now = self.now;
                            let other = self.nodes[j].on_accept(ip(), ip(), now);
                            self.pairs.insert((i, link), (j, other));
                            self.pairs.insert((j, other), (i, link));
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
                Action::Deliver { .. } => {}
                Action::BecomeMaster
                | Action::ReplicateFrom { .. }
                | Action::PauseWrites { .. }
                | Action::ResumeWrites => self.effects.push((i, action)),
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

    /// Runs until `done` holds, at most `ms`; returns the time it took.
    fn run_until(&mut self, ms: u64, what: &str, done: impl Fn(&Net) -> bool) -> u64 {
        let start = self.now;
        while !done(self) {
            assert!(self.now - start < ms, "never: {what}");
            self.run(100);
        }
        self.now - start
    }

    /// Node `i`'s view: id → flags, of the nodes out of handshake.
    fn known(&self, i: usize) -> BTreeMap<NodeId, NodeFlags> {
        self.nodes[i]
            .peers()
            .filter(|p| !p.in_handshake())
            .map(|p| (p.id, p.flags))
            .collect()
    }

    fn flags(&self, i: usize, about: usize) -> NodeFlags {
        self.nodes[i].node(&self.id(about)).unwrap().flags
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
        assert_eq!(net.nodes[i].peers().count(), 2, "no handshake left on {i}");
        for (id, flags) in known {
            assert_eq!(flags, NodeFlags::MASTER, "{id} as {i} sees it");
        }
        for p in net.nodes[i].peers() {
            let j = (0..3).find(|&j| net.id(j) == p.id).unwrap();
            assert_eq!(
                (p.ip.as_str(), p.port, p.cport),
                ("127.0.0.1", 7000 + j as u16, cport(j))
            );
        }
        // Each learnt its own address from a MEET or a PING.
        assert_eq!(net.nodes[i].myself().ip, "127.0.0.1");
    }
    // Node 1 learnt node 2 from gossip alone: it never met it.
    assert!(net.known(1).contains_key(&net.id(2)));
}

#[test]
fn a_partitioned_slotless_node_is_failed_then_cleared() {
    let mut net = Net::joined(3);
    net.down.insert(2);
    let c = net.id(2);
    // Masters without slots: cluster size 0, quorum 1, so a single
    // report (or none, counting ourselves) turns PFAIL into FAIL.
    net.run_until(TIMEOUT * 3, "C failed on both", |net| {
        (0..2).all(|i| net.flags(i, 2).contains(NodeFlags::FAIL))
    });
    for i in 0..2 {
        assert!(
            !net.known(i)[&c].contains(NodeFlags::PFAIL),
            "FAIL replaces PFAIL"
        );
        assert!(!net.flags(i, 1 - i).contains(NodeFlags::PFAIL));
    }
    for flags in net.known(2).values() {
        assert!(flags.contains(NodeFlags::PFAIL) || flags.contains(NodeFlags::FAIL));
    }
    // A FAIL message went out.
    assert!(net
        .sent
        .iter()
        .any(|(i, b)| *i < 2 && decode(b).unwrap().kind() == MessageType::Fail));

    // clearNodeFailureIfNeeded: a master without slots is cleared as soon
    // as it answers.
    net.down.clear();
    net.run_until(TIMEOUT * 2, "all clear", |net| {
        (0..3).all(|i| {
            net.known(i)
                .values()
                .all(|f| !f.contains(NodeFlags::PFAIL) && !f.contains(NodeFlags::FAIL))
        })
    });
}

#[test]
fn suspected_nodes_ride_along_in_every_gossip_section() {
    let mut net = Net::joined(4);
    for i in 0..4 {
        net.nodes[i]
            .add_slots(&slots(i as u16 * 1000..=i as u16 * 1000 + 999))
            .unwrap();
    }
    net.run(3000);
    net.down.insert(3);
    let d = net.id(3);
    net.run_until(TIMEOUT * 2, "D suspected", |net| {
        net.flags(0, 3).contains(NodeFlags::PFAIL)
    });
    net.sent.clear();
    net.run(300);
    let from_a: Vec<_> = net
        .sent
        .iter()
        .filter(|(i, _)| *i == 0)
        .map(|(_, b)| decode(b).unwrap())
        .filter(|m| m.body.ping().is_some())
        .collect();
    assert!(!from_a.is_empty());
    for m in &from_a {
        let ping = m.body.ping().unwrap();
        assert!(ping.gossip.iter().any(|g| g.node.0 == *d.as_bytes()
            && g.flags.0 & (NodeFlags::PFAIL | NodeFlags::FAIL).bits() != 0));
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
    assert_eq!(net.nodes[0].peers().count(), 1);
    net.run(TIMEOUT + 500);
    assert_eq!(net.nodes[0].peers().count(), 0);
}

#[test]
fn slots_spread_and_colliding_epochs_separate() {
    let mut net = Net::joined(3);
    let ranges = [0..=5460, 5461..=10922, 10923..=16383];
    for (i, range) in ranges.iter().enumerate() {
        net.nodes[i].add_slots(&slots(range.clone())).unwrap();
    }
    net.run_until(10_000, "every node ok", |net| {
        net.nodes.iter().all(|n| n.state() == ClusterState::Ok)
    });
    for i in 0..3 {
        let map = net.nodes[i].slot_map();
        for (j, range) in ranges.iter().enumerate() {
            assert_eq!(
                map.owner(Slot::new(*range.start()).unwrap()),
                Some(&net.id(j))
            );
            assert_eq!(map.count_of(&net.id(j)), range.clone().count());
        }
        assert_eq!(net.nodes[i].info().size, 3);
    }
    // All three started at config epoch 0: clusterHandleConfigEpochCollision
    // leaves them with distinct epochs, and every node agrees on them.
    net.run(5000);
    let epochs: BTreeSet<u64> = net.nodes.iter().map(|n| n.config_epoch()).collect();
    assert_eq!(epochs.len(), 3, "{epochs:?}");
    let greatest = *epochs.iter().max().unwrap();
    for i in 0..3 {
        assert_eq!(net.nodes[i].current_epoch(), greatest);
        for j in 0..3 {
            assert_eq!(
                net.nodes[i].node(&net.id(j)).unwrap().config_epoch,
                net.nodes[j].config_epoch()
            );
        }
    }
}

#[test]
fn a_dead_master_is_failed_by_the_majority_and_the_cluster_fails_until_it_returns() {
    let mut net = Net::joined(3);
    for (i, range) in [0..=5460, 5461..=10922, 10923..=16383]
        .into_iter()
        .enumerate()
    {
        net.nodes[i].add_slots(&slots(range)).unwrap();
    }
    net.run_until(10_000, "ok", |net| {
        net.nodes.iter().all(|n| n.state() == ClusterState::Ok)
    });
    net.down.insert(2);
    let took = net.run_until(TIMEOUT * 3, "C failed on A and B", |net| {
        (0..2).all(|i| net.flags(i, 2).contains(NodeFlags::FAIL))
    });
    assert!(took > TIMEOUT, "PFAIL first takes the node timeout");
    for i in 0..2 {
        assert_eq!(net.nodes[i].state(), ClusterState::Fail, "slots uncovered");
        let info = net.nodes[i].info();
        assert_eq!(info.slots_fail, 16384 - 10923);
    }
    // C, alone, is in a minority.
    net.run_until(TIMEOUT, "C in a minority", |net| {
        net.nodes[2].state() == ClusterState::Fail
    });
    assert!(net.flags(2, 0).contains(NodeFlags::PFAIL));

    // C comes back; nobody took its slots, so after 2 * node timeout in
    // FAIL it is cleared, and the cluster is ok again.
    net.down.clear();
    net.run_until(TIMEOUT * 4, "FAIL cleared", |net| {
        (0..2).all(|i| !net.flags(i, 2).contains(NodeFlags::FAIL))
    });
    net.run_until(TIMEOUT * 4, "ok again", |net| {
        net.nodes.iter().all(|n| n.state() == ClusterState::Ok)
    });
}

#[test]
fn a_slot_moved_by_setslot_ends_with_its_new_owner_everywhere() {
    let mut net = Net::joined(3);
    for (i, range) in [0..=5460, 5461..=10922, 10923..=16383]
        .into_iter()
        .enumerate()
    {
        net.nodes[i].add_slots(&slots(range)).unwrap();
    }
    net.run(5000);
    let (a, b) = (net.id(0), net.id(1));
    let s = Slot::new(100).unwrap();
    net.nodes[1].set_slot_importing(s, &a).unwrap();
    net.nodes[0].set_slot_migrating(s, &b).unwrap();
    let now = net.now;
    let actions = net.nodes[1].set_slot_node(s, &b, 0, now).unwrap();
    net.apply(1, actions);
    let actions = net.nodes[0].set_slot_node(s, &b, 0, now).unwrap();
    net.apply(0, actions);
    net.deliver();
    net.run(3000);
    for i in 0..3 {
        assert_eq!(net.nodes[i].slot_map().owner(s), Some(&b), "node {i}");
        assert_eq!(net.nodes[i].state(), ClusterState::Ok);
    }
    assert!(net.nodes[0].migrating_to(s).is_none());
    assert!(net.nodes[1].importing_from(s).is_none());
}

#[test]
fn replicas_are_known_to_every_node() {
    let mut net = Net::joined(4);
    net.nodes[0].add_slots(&slots(0..=16383)).unwrap();
    net.run(1000);
    let master = net.id(0);
    net.nodes[3].replicate(&master).unwrap();
    net.run(3000);
    for i in 0..4 {
        let replicas: Vec<NodeId> = net.nodes[i]
            .replicas(&master)
            .unwrap()
            .iter()
            .map(|n| n.id)
            .collect();
        assert_eq!(replicas, vec![net.id(3)], "node {i}");
        let r = net.nodes[i].node(&net.id(3)).unwrap();
        assert!(r.is_replica());
        assert_eq!(r.replica_of, Some(master));
    }
    // A replica's line shows its master's config epoch in CLUSTER NODES,
    // and CLUSTER INFO its master's epoch.
    assert_eq!(net.nodes[3].info().my_epoch, net.nodes[0].config_epoch());
}

#[test]
fn a_replica_replaces_its_dead_master_which_returns_as_its_replica() {
    let mut net = Net::joined(4);
    for (i, range) in [0..=5460, 5461..=10922, 10923..=16383]
        .into_iter()
        .enumerate()
    {
        net.nodes[i].add_slots(&slots(range)).unwrap();
    }
    net.run(1000);
    let old = net.id(2);
    net.nodes[3].replicate(&old).unwrap();
    net.run_until(10_000, "ok", |net| {
        net.nodes.iter().all(|n| n.state() == ClusterState::Ok)
    });
    net.nodes[2].set_repl_offset(500);
    net.nodes[3].set_repl_offset(500);
    net.run(1000);
    let epoch_before = net.nodes.iter().map(|n| n.current_epoch()).max().unwrap();

    // The master dies: the majority flags it FAIL, its replica is elected
    // and serves its slots with a new config epoch, everywhere.
    net.down.insert(2);
    let new = net.id(3);
    let slot = Slot::new(16000).unwrap();
    net.run_until(
        TIMEOUT * 6,
        "the replica serves the slots everywhere",
        |net| {
            (0..2)
                .chain([3])
                .all(|i| net.nodes[i].slot_map().owner(slot) == Some(&new))
        },
    );
    assert!(net.nodes[3].myself().is_master());
    assert!(net.effects.contains(&(3, Action::BecomeMaster)));
    assert!(net.nodes[3].config_epoch() > epoch_before);
    assert!(net
        .sent
        .iter()
        .any(|(i, b)| *i == 3 && decode(b).unwrap().kind() == MessageType::FailoverAuthRequest));
    net.run_until(TIMEOUT * 2, "ok without the old master", |net| {
        (0..2)
            .chain([3])
            .all(|i| net.nodes[i].state() == ClusterState::Ok)
    });

    // The old master comes back, sees its slots at a greater config
    // epoch, and turns into a replica of the new master.
    net.down.clear();
    net.run_until(TIMEOUT * 4, "the old master follows the new one", |net| {
        (0..4).all(|i| {
            net.nodes[i]
                .node(&old)
                .is_some_and(|n| n.replica_of == Some(new))
        })
    });
    assert_eq!(net.nodes[2].myself().slot_count(), 0);
    assert!(net.effects.iter().any(|(i, a)| *i == 2
        && matches!(a, Action::ReplicateFrom { id, port, .. } if *id == new && *port == 7003)));
    net.run_until(TIMEOUT * 4, "ok everywhere", |net| {
        net.nodes.iter().all(|n| n.state() == ClusterState::Ok)
    });
}

#[test]
fn a_manual_failover_swaps_master_and_replica_with_the_master_paused() {
    let mut net = Net::joined(4);
    for (i, range) in [0..=5460, 5461..=10922, 10923..=16383]
        .into_iter()
        .enumerate()
    {
        net.nodes[i].add_slots(&slots(range)).unwrap();
    }
    net.run(1000);
    let old = net.id(2);
    net.nodes[3].replicate(&old).unwrap();
    net.run_until(10_000, "ok", |net| {
        net.nodes.iter().all(|n| n.state() == ClusterState::Ok)
    });
    net.nodes[2].set_repl_offset(900);
    net.nodes[3].set_repl_offset(800);
    let now = net.now;
    let actions = net.nodes[3]
        .failover(ferrodis_bus::cluster::FailoverKind::Default, now)
        .unwrap();
    net.apply(3, actions);
    net.deliver();
    assert!(matches!(
        net.effects.last(),
        Some((2, Action::PauseWrites { .. }))
    ));
    // Behind the master's offset: no takeover yet.
    net.run(1000);
    assert!(net.nodes[3].myself().is_replica());
    // Caught up: it takes over at once, and the old master follows it.
    net.nodes[3].set_repl_offset(900);
    let new = net.id(3);
    net.run_until(2000, "swapped", |net| {
        (0..4).all(|i| {
            net.nodes[i]
                .node(&old)
                .is_some_and(|n| n.replica_of == Some(new))
        })
    });
    assert!(net.effects.contains(&(3, Action::BecomeMaster)));
    assert!(net.effects.contains(&(2, Action::ResumeWrites)));
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
