//! The replica topology: REPLICATE, roles from headers, `nofailover`, and
//! the commands that change the table (FORGET, RESET).

use super::*;

#[test]
fn replicate_makes_us_a_replica_and_our_header_says_so() {
    let mut h = Harness::new();
    let a = Fake::new(2).with_slots(0..=99, 3);
    h.join(&a);
    h.node.replicate(&a.id()).unwrap();
    let me = h.node.myself();
    assert_eq!(me.flags, NodeFlags::MYSELF | NodeFlags::REPLICA);
    assert_eq!(me.replica_of, Some(a.id()));
    let a_node = h.node.node(&a.id()).unwrap();
    assert_eq!(a_node.replicas, vec![id(1)]);
    assert!(a_node.flags.contains(NodeFlags::MIGRATE_TO));
    assert_eq!(h.node.replicas(&a.id()).unwrap()[0].id, id(1));
    assert_eq!(h.node.info().my_epoch, 3, "a replica shows its master's");
    assert_eq!(h.node.config_epoch(), 0);
    // clusterBuildMessageHdr: the master's slots and config epoch.
    let out = h.from(2, &a.ping(vec![]));
    let header = &sent(&out)[0].1.header;
    assert_eq!(header.replicaof, a.header.sender);
    assert_eq!(header.slots.count(), 100);
    assert_eq!(header.config_epoch, Epoch(3));
    assert_eq!(
        header.flags.0,
        NodeFlags::MYSELF.bits() | NodeFlags::REPLICA.bits()
    );
}

#[test]
fn replicate_checks_the_target_and_ourselves() {
    let mut h = Harness::new();
    let a = Fake::new(2);
    let r = Fake::new(3).replica_of(&a);
    h.join(&a);
    h.join(&r);
    h.from(3, &r.ping(vec![]));
    let err = h.node.replicate(&id(77)).unwrap_err();
    assert_eq!(err.to_string(), format!("ERR Unknown node {}", id(77)));
    assert_eq!(h.node.replicate(&id(1)), Err(ClusterError::ReplicateMyself));
    assert_eq!(
        h.node.replicate(&r.id()),
        Err(ClusterError::ReplicateReplica)
    );
    h.node.add_slots(&[slot(1)]).unwrap();
    assert_eq!(
        h.node.replicate(&a.id()),
        Err(ClusterError::ReplicateNotEmpty)
    );
    assert_eq!(
        h.node.replicas(&r.id()).unwrap_err(),
        ClusterError::NotAMaster
    );
}

#[test]
fn a_replica_can_switch_masters() {
    let mut h = Harness::new();
    let (a, b) = (Fake::new(2), Fake::new(3));
    h.join(&a);
    h.join(&b);
    h.node.replicate(&a.id()).unwrap();
    h.node.replicate(&b.id()).unwrap();
    assert!(h.node.node(&a.id()).unwrap().replicas.is_empty());
    assert_eq!(h.node.node(&b.id()).unwrap().replicas, vec![id(1)]);
}

#[test]
fn roles_follow_the_headers() {
    let mut h = Harness::new();
    let a = Fake::new(2).with_slots(0..=9, 1);
    let b = Fake::new(3).with_slots(10..=19, 2);
    h.join(&a);
    h.join(&b);
    // B turns into a replica of A: its slots go (clusterDelNodeSlots).
    let b_replica = b.clone().replica_of(&a);
    h.from(3, &b_replica.ping(vec![]));
    let node_b = h.node.node(&b.id()).unwrap();
    assert!(node_b.is_replica());
    assert_eq!(node_b.slot_count(), 0);
    assert_eq!(node_b.replica_of, Some(a.id()));
    assert_eq!(h.node.slot_map().owner(slot(10)), None);
    assert_eq!(h.node.node(&a.id()).unwrap().replicas, vec![b.id()]);
    // And back to master (a failover).
    h.from(3, &b.ping(vec![]));
    let node_b = h.node.node(&b.id()).unwrap();
    assert!(node_b.is_master());
    assert_eq!(node_b.replica_of, None);
    assert!(node_b.flags.contains(NodeFlags::MIGRATE_TO));
    assert!(h.node.node(&a.id()).unwrap().replicas.is_empty());
}

#[test]
fn a_replica_of_a_master_we_do_not_know_yet_keeps_no_master() {
    let mut h = Harness::new();
    let ghost = Fake::new(9);
    let r = Fake::new(3).replica_of(&ghost);
    h.join(&r);
    h.from(3, &r.ping(vec![]));
    let node = h.node.node(&r.id()).unwrap();
    assert!(node.is_replica());
    assert_eq!(node.replica_of, None);
}

#[test]
fn nofailover_is_announced_and_learnt() {
    let mut h = Harness::with(Config {
        replica_no_failover: true,
        ..config(1)
    });
    assert!(h.node.myself().flags.contains(NodeFlags::NOFAILOVER));
    let a = Fake::new(2);
    h.join(&a);
    let out = h.from(2, &a.ping(vec![]));
    assert_ne!(
        sent(&out)[0].1.header.flags.0 & NodeFlags::NOFAILOVER.bits(),
        0
    );
    h.node.set_replica_no_failover(false);
    assert!(!h.node.myself().flags.contains(NodeFlags::NOFAILOVER));
    // The sender's own flag is trusted, both ways.
    let mut a2 = a.clone();
    a2.header.flags.0 |= NodeFlags::NOFAILOVER.bits();
    h.from(2, &a2.ping(vec![]));
    assert!(h.flags(2).contains(NodeFlags::NOFAILOVER));
    h.from(2, &a.ping(vec![]));
    assert!(!h.flags(2).contains(NodeFlags::NOFAILOVER));
}

#[test]
fn forget_drops_the_node_and_blacklists_it_for_a_minute() {
    let mut h = Harness::new();
    let (a, b) = (Fake::new(2).with_slots(0..=9, 1), Fake::new(3));
    h.join(&a);
    h.join(&b);
    let (to_a, from_a) = h.links[&2];
    let out = h.node.forget(&a.id(), h.now).unwrap();
    assert!(out.contains(&Action::Close { link: to_a }));
    assert!(out.contains(&Action::Close { link: from_a }));
    assert!(h.node.node(&a.id()).is_none());
    assert_eq!(h.node.slot_map().owner(slot(0)), None);
    // B still gossips about A: not re-added within the minute.
    h.from(3, &b.ping(vec![a.entry(NodeFlags::MASTER, 0)]));
    assert!(h.node.node(&a.id()).is_none());
    h.now += 61_000;
    h.from(3, &b.ping(vec![a.entry(NodeFlags::MASTER, 0)]));
    assert!(h.node.node(&a.id()).is_some());

    assert_eq!(
        h.node.forget(&id(1), h.now),
        Err(ClusterError::ForgetMyself)
    );
    assert!(matches!(
        h.node.forget(&id(77), h.now),
        Err(ClusterError::UnknownNode(_))
    ));
    h.node.replicate(&b.id()).unwrap();
    assert_eq!(
        h.node.forget(&b.id(), h.now),
        Err(ClusterError::ForgetMyMaster)
    );
}

#[test]
fn forgetting_a_master_leaves_its_replicas_without_one() {
    let mut h = Harness::new();
    let a = Fake::new(2);
    let r = Fake::new(3).replica_of(&a);
    h.join(&a);
    h.join(&r);
    h.from(3, &r.ping(vec![]));
    h.node.forget(&a.id(), h.now).unwrap();
    assert_eq!(h.node.node(&r.id()).unwrap().replica_of, None);
}

#[test]
fn reset_soft_and_hard() {
    let mut h = Harness::new();
    let a = Fake::new(2).with_slots(0..=9, 4);
    h.join(&a);
    h.node.replicate(&a.id()).unwrap();
    let out = h.node.reset(false).unwrap();
    assert_eq!(out.len(), 2, "both links to A closed");
    assert_eq!(h.node.peers().count(), 0);
    assert!(h.node.myself().is_master());
    assert_eq!(h.node.myself().replica_of, None);
    assert!(h.node.slot_map().assigned().is_empty());
    assert_eq!(h.node.id(), id(1));
    assert_eq!(h.node.current_epoch(), 4, "soft: epochs stay");
    assert_eq!(h.node.take_save_request(), Some(Save::Now));

    h.node.add_slots(&[slot(1)]).unwrap();
    h.node.reset(true).unwrap();
    assert_ne!(h.node.id(), id(1), "hard: a new id");
    assert_eq!(h.node.config().id, h.node.id());
    assert_eq!(h.node.myself().id, h.node.id());
    assert_eq!((h.node.current_epoch(), h.node.config_epoch()), (0, 0));
    assert_eq!(h.node.myself().slot_count(), 0);
}

#[test]
fn a_replica_follows_its_masters_slots_to_their_new_owner() {
    // clusterUpdateSlotsConfigWith with myself a replica: our master left
    // without slots, we replicate the node that took them.
    let mut h = Harness::new();
    let a = Fake::new(2).with_slots(0..=9, 1);
    let b = Fake::new(3);
    h.join(&a);
    h.join(&b);
    h.node.replicate(&a.id()).unwrap();
    h.from(3, &b.clone().with_slots(0..=9, 2).ping(vec![]));
    assert_eq!(h.node.myself().replica_of, Some(b.id()));
    assert_eq!(h.node.node(&b.id()).unwrap().replicas, vec![id(1)]);
    assert!(h.node.node(&a.id()).unwrap().replicas.is_empty());
}

#[test]
fn a_replica_whose_master_became_a_replica_follows_the_grandmaster() {
    let mut h = Harness::new();
    let a = Fake::new(2).with_slots(0..=9, 1);
    let b = Fake::new(3).with_slots(10..=19, 2);
    h.join(&a);
    h.join(&b);
    h.node.replicate(&a.id()).unwrap();
    // A turns into B's replica, then B claims A's old slots.
    h.from(2, &a.clone().replica_of(&b).ping(vec![]));
    assert_eq!(h.node.myself().replica_of, Some(a.id()));
    h.from(3, &b.clone().with_slots(0..=19, 3).ping(vec![]));
    assert_eq!(h.node.myself().replica_of, Some(b.id()));
}
