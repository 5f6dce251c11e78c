//! Failure detection: failure reports, PFAIL → FAIL, the FAIL message, and
//! clearing FAIL.

use super::*;
use crate::MessageType;

/// Node 1 and fakes 2..=n, all masters serving slots (so that the cluster
/// size is n), with the state evaluated.
fn cluster_of_masters(n: u8) -> (Harness, Vec<Fake>) {
    let mut h = Harness::new();
    h.node.add_slots(&slots(0..=99)).unwrap();
    let fakes: Vec<Fake> = (2..=n)
        .map(|i| {
            let first = u16::from(i) * 100;
            Fake::new(i).with_slots(first..=first + 99, 0)
        })
        .collect();
    for f in &fakes {
        h.join(f);
    }
    h.run(3000);
    assert_eq!(h.node.info().size, usize::from(n));
    (h, fakes)
}

/// Lets fake `n` go silent until node 1 flags it PFAIL.
fn suspect(h: &mut Harness, n: u8) {
    h.kill(n);
    let mut guard = 0;
    while !h.flags(n).contains(NodeFlags::PFAIL) {
        h.tick();
        guard += 1;
        assert!(guard < 100, "never suspected");
    }
}

#[test]
fn failure_reports_come_from_masters_and_expire_after_twice_the_timeout() {
    let (mut h, fakes) = cluster_of_masters(4);
    let c = &fakes[1];
    let replica = Fake::new(9).replica_of(&fakes[0]);
    h.join(&replica);
    let report = |f: &Fake| f.ping(vec![c.entry(NodeFlags::MASTER | NodeFlags::PFAIL, 0)]);
    // clusterProcessGossipSection: only a master's gossip is a report.
    h.from(9, &report(&replica));
    assert_eq!(h.node.count_failure_reports(&c.id()).unwrap(), 0);
    h.from(2, &report(&fakes[0]));
    h.from(4, &report(&fakes[2]));
    assert_eq!(h.node.count_failure_reports(&c.id()).unwrap(), 2);
    // clusterNodeDelFailureReport: the reporter sees it up again.
    h.from(4, &fakes[2].ping(vec![c.entry(NodeFlags::MASTER, 0)]));
    assert_eq!(h.node.count_failure_reports(&c.id()).unwrap(), 1);
    // CLUSTER_FAIL_REPORT_VALIDITY_MULT: gone after 2 * node timeout.
    h.now += TIMEOUT * 2;
    h.tick();
    assert_eq!(h.node.count_failure_reports(&c.id()).unwrap(), 0);
    assert!(matches!(
        h.node.count_failure_reports(&id(77)),
        Err(ClusterError::UnknownNode(_))
    ));
}

#[test]
fn pfail_becomes_fail_with_reports_from_a_majority_of_masters() {
    // Five masters with slots: quorum = 5 / 2 + 1 = 3, node 1 counting
    // itself (markNodeAsFailingIfNeeded).
    let (mut h, fakes) = cluster_of_masters(5);
    let dead = &fakes[3]; // node 5
    let report = |f: &Fake| f.ping(vec![dead.entry(NodeFlags::MASTER | NodeFlags::PFAIL, 0)]);
    // Reports before our own PFAIL do not make it FAIL.
    h.from(2, &report(&fakes[0]));
    h.from(3, &report(&fakes[1]));
    assert!(!h.flags(5).contains(NodeFlags::FAIL));
    suspect(&mut h, 5);
    // Two reports + ourselves = 3: the next report triggers the check.
    let _ = h.node.take_save_request();
    let out = h.from(2, &report(&fakes[0]));
    let flags = h.flags(5);
    assert!(flags.contains(NodeFlags::FAIL) && !flags.contains(NodeFlags::PFAIL));
    assert_eq!(h.node.node(&dead.id()).unwrap().fail_time, h.now);
    // clusterSendFail: to every node we have a link up to (our link to the
    // dead one was dropped for silence).
    let fails = sent_of(&out, MessageType::Fail);
    assert_eq!(fails.len(), 3);
    for (_, m) in &fails {
        assert_eq!(
            m.body,
            Body::Fail {
                node: dead.header.sender
            }
        );
    }
    assert_eq!(h.node.take_save_request(), Some(Save::Later));
}

#[test]
fn too_few_reports_leave_the_node_in_pfail() {
    let (mut h, fakes) = cluster_of_masters(5);
    suspect(&mut h, 5);
    let dead = &fakes[3];
    h.from(2, &fakes[0].ping(vec![dead.entry(NodeFlags::PFAIL, 0)]));
    let flags = h.flags(5);
    assert!(flags.contains(NodeFlags::PFAIL) && !flags.contains(NodeFlags::FAIL));
}

#[test]
fn a_replica_does_not_count_itself_in_the_quorum() {
    let mut h = Harness::new();
    let (a, b, c) = (
        Fake::new(2).with_slots(0..=99, 1),
        Fake::new(3).with_slots(100..=199, 2),
        Fake::new(4).with_slots(200..=299, 3),
    );
    for f in [&a, &b, &c] {
        h.join(f);
    }
    h.node.replicate(&a.id()).unwrap();
    h.run(3000);
    suspect(&mut h, 4);
    // Size 3, quorum 2: one report is not enough for a replica.
    let report = |f: &Fake| f.ping(vec![c.entry(NodeFlags::PFAIL, 0)]);
    h.from(2, &report(&a));
    assert!(!h.flags(4).contains(NodeFlags::FAIL));
    h.from(3, &report(&b));
    assert!(h.flags(4).contains(NodeFlags::FAIL));
}

#[test]
fn a_fail_message_from_a_known_node_is_believed() {
    let (mut h, fakes) = cluster_of_masters(3);
    let about = &fakes[1];
    let fail = fakes[0].bytes(Body::Fail {
        node: about.header.sender,
    });
    // From a node we do not know: ignored.
    let stranger = h.node.on_accept(ip("10.9.9.9"), ip("10.0.0.1"), h.now);
    h.node.on_message(
        stranger,
        &Fake::new(99).bytes(Body::Fail {
            node: about.header.sender,
        }),
        h.now,
    );
    assert!(!h.flags(3).contains(NodeFlags::FAIL));
    h.from(2, &fail);
    assert!(h.flags(3).contains(NodeFlags::FAIL));
    // A FAIL about ourselves changes nothing.
    h.from(
        2,
        &fakes[0].bytes(Body::Fail {
            node: crate::cluster::wire_id(&id(1)),
        }),
    );
    assert!(!h.node.myself().failed());
}

#[test]
fn fail_clears_at_once_for_a_replica_or_a_slotless_master() {
    let mut h = Harness::new();
    let master = Fake::new(2).with_slots(0..=99, 1);
    let replica = Fake::new(3).replica_of(&master);
    let empty = Fake::new(4);
    for f in [&master, &replica, &empty] {
        h.join(f);
    }
    h.from(3, &replica.ping(vec![]));
    for n in [3u8, 4] {
        h.from(
            2,
            &master.bytes(Body::Fail {
                node: crate::cluster::wire_id(&id(n)),
            }),
        );
        assert!(h.flags(n).contains(NodeFlags::FAIL));
    }
    // clearNodeFailureIfNeeded on their PONG.
    h.answer(3, &replica.pong(vec![]));
    h.answer(4, &empty.pong(vec![]));
    assert!(!h.flags(3).contains(NodeFlags::FAIL));
    assert!(!h.flags(4).contains(NodeFlags::FAIL));
}

#[test]
fn fail_clears_for_a_master_with_slots_after_twice_the_timeout() {
    let (mut h, fakes) = cluster_of_masters(3);
    let about = &fakes[1];
    h.from(
        2,
        &fakes[0].bytes(Body::Fail {
            node: about.header.sender,
        }),
    );
    h.answer(3, &about.pong(vec![]));
    assert!(h.flags(3).contains(NodeFlags::FAIL), "too early");
    h.now += TIMEOUT * 2 + 1;
    h.answer(3, &about.pong(vec![]));
    assert!(!h.flags(3).contains(NodeFlags::FAIL));
}

#[test]
fn suspected_nodes_are_not_pinged_again_before_their_pong() {
    let (mut h, _) = cluster_of_masters(3);
    suspect(&mut h, 3);
    let (to_c, _) = h.links[&3];
    let ping_sent = h.node.node(&id(3)).unwrap().ping_sent;
    let out = h.run(TIMEOUT / 4);
    assert!(sent_of(&out, MessageType::Ping)
        .iter()
        .all(|(l, _)| *l != to_c));
    assert_eq!(h.node.node(&id(3)).unwrap().ping_sent, ping_sent);
}
