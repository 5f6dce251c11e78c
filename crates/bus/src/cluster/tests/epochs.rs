//! Epochs and slot ownership: adopting epochs, binding slots by config
//! epoch, UPDATE, collisions, and the epoch commands.

use super::*;
use crate::MessageType;

fn owner(h: &Harness, n: u16) -> Option<NodeId> {
    h.node.slot_map().owner(slot(n)).copied()
}

#[test]
fn a_new_node_starts_at_epoch_zero_and_addslots_keeps_it() {
    let mut h = Harness::new();
    assert_eq!((h.node.current_epoch(), h.node.config_epoch()), (0, 0));
    h.node.add_slots(&slots(0..=5460)).unwrap();
    assert_eq!((h.node.current_epoch(), h.node.config_epoch()), (0, 0));
    assert_eq!(h.node.myself().slot_count(), 5461);
    assert_eq!(h.node.slot_map().count_of(&id(1)), 5461);
    assert_eq!(h.node.take_save_request(), Some(Save::Later));
}

#[test]
fn addslots_and_delslots_check_every_slot_first() {
    let mut h = Harness::new();
    h.node.add_slots(&slots(0..=9)).unwrap();
    let err = h.node.add_slots(&[slot(20), slot(5)]).unwrap_err();
    assert_eq!(err.to_string(), "ERR Slot 5 is already busy");
    assert_eq!(owner(&h, 20), None, "nothing changed");
    let err = h
        .node
        .add_slots(&[slot(20), slot(21), slot(20)])
        .unwrap_err();
    assert_eq!(err.to_string(), "ERR Slot 20 specified multiple times");
    let err = h.node.del_slots(&[slot(3), slot(30)]).unwrap_err();
    assert_eq!(err.to_string(), "ERR Slot 30 is already unassigned");
    assert_eq!(owner(&h, 3), Some(id(1)));
    let err = h.node.del_slots(&[slot(3), slot(3)]).unwrap_err();
    assert_eq!(err.to_string(), "ERR Slot 3 specified multiple times");
    h.node.del_slots(&[slot(3), slot(4)]).unwrap();
    assert_eq!(h.node.myself().slot_count(), 8);
    h.node.flush_slots().unwrap();
    assert_eq!(h.node.myself().slot_count(), 0);
    assert!(h.node.slot_map().assigned().is_empty());
}

#[test]
fn headers_carry_greater_epochs_into_ours() {
    let mut h = Harness::new();
    let mut b = Fake::new(2);
    h.join(&b);
    b.header.current_epoch = Epoch(7);
    b.header.config_epoch = Epoch(5);
    h.from(2, &b.ping(vec![]));
    assert_eq!(h.node.current_epoch(), 7);
    assert_eq!(h.node.node(&b.id()).unwrap().config_epoch, 5);
    assert_eq!(h.node.take_save_request(), Some(Save::Now));
    // Never backwards.
    b.header.current_epoch = Epoch(3);
    b.header.config_epoch = Epoch(2);
    h.from(2, &b.ping(vec![]));
    assert_eq!(h.node.current_epoch(), 7);
    assert_eq!(h.node.node(&b.id()).unwrap().config_epoch, 5);
}

#[test]
fn an_unassigned_slot_binds_to_its_claimant() {
    let mut h = Harness::new();
    let b = Fake::new(2).with_slots(100..=199, 0);
    h.join(&b);
    assert_eq!(owner(&h, 100), Some(id(2)));
    assert_eq!(h.node.node(&id(2)).unwrap().slot_count(), 100);
    assert_eq!(h.node.take_save_request(), Some(Save::Now));
}

#[test]
fn an_assigned_slot_moves_only_to_a_greater_config_epoch() {
    // clusterUpdateSlotsConfigWith.
    let mut h = Harness::new();
    let b = Fake::new(2).with_slots(0..=99, 3);
    let c = Fake::new(3).with_slots(200..=299, 3);
    h.join(&b);
    h.join(&c);
    let c_same = c.clone().with_slots(50..=59, 3);
    h.from(3, &c_same.ping(vec![]));
    assert_eq!(owner(&h, 50), Some(id(2)), "equal epoch: no");
    let c_newer = c.clone().with_slots(50..=59, 4);
    h.from(3, &c_newer.ping(vec![]));
    assert_eq!(owner(&h, 50), Some(id(3)));
    assert_eq!(owner(&h, 60), Some(id(2)));
    assert_eq!(
        owner(&h, 200),
        Some(id(3)),
        "no longer claimed, still bound"
    );
}

#[test]
fn importing_slots_ignore_claims() {
    let mut h = Harness::new();
    let b = Fake::new(2).with_slots(0..=99, 1);
    let c = Fake::new(3);
    h.join(&b);
    h.join(&c);
    h.node.set_slot_importing(slot(5), &b.id()).unwrap();
    h.from(3, &c.clone().with_slots(5..=6, 9).ping(vec![]));
    assert_eq!(owner(&h, 5), Some(id(2)));
    assert_eq!(owner(&h, 6), Some(id(3)));
}

#[test]
fn a_slot_its_owner_stopped_claiming_goes_to_the_next_claimant() {
    let mut h = Harness::new();
    let b = Fake::new(2).with_slots(0..=9, 5);
    let c = Fake::new(3);
    h.join(&b);
    h.join(&c);
    // B stops claiming 0..=4: still bound to B, but unclaimed.
    h.from(2, &b.clone().with_slots(5..=9, 5).ping(vec![]));
    assert_eq!(owner(&h, 0), Some(id(2)));
    // C claims it with a smaller epoch: it takes it (isSlotUnclaimed).
    h.from(3, &c.clone().with_slots(0..=0, 1).ping(vec![]));
    assert_eq!(owner(&h, 0), Some(id(3)));
    assert_eq!(owner(&h, 1), Some(id(2)));
}

#[test]
fn a_master_losing_its_last_slot_becomes_a_replica_of_the_claimant() {
    let mut h = Harness::new();
    h.node.add_slots(&slots(0..=9)).unwrap();
    let b = Fake::new(2);
    h.join(&b);
    // B took our slots in a failover: greater config epoch.
    h.from(2, &b.clone().with_slots(0..=9, 4).ping(vec![]));
    let me = h.node.myself();
    assert!(me.is_replica() && !me.is_master());
    assert_eq!(me.replica_of, Some(id(2)));
    assert_eq!(me.slot_count(), 0);
    assert_eq!(h.node.master().map(|m| m.id), Some(id(2)));
    assert_eq!(h.node.node(&id(2)).unwrap().replicas, vec![id(1)]);
    assert_eq!(h.node.take_save_request(), Some(Save::Now));
    // Our header now says so.
    let out = h.from(2, &b.ping(vec![]));
    let header = &sent(&out)[0].1.header;
    assert_eq!(header.replicaof, b.header.sender);
    assert_eq!(header.config_epoch, Epoch(4));
    assert_eq!(header.slots.count(), 10);
}

#[test]
fn a_master_losing_some_slots_stays_a_master() {
    let mut h = Harness::new();
    h.node.add_slots(&slots(0..=9)).unwrap();
    let b = Fake::new(2);
    h.join(&b);
    h.from(2, &b.clone().with_slots(0..=4, 4).ping(vec![]));
    assert!(h.node.myself().is_master());
    assert_eq!(h.node.myself().slot_count(), 5);
}

#[test]
fn a_stale_claim_gets_an_update_message() {
    let mut h = Harness::new();
    let b = Fake::new(2).with_slots(0..=9, 5);
    let c = Fake::new(3);
    h.join(&b);
    h.join(&c);
    let (to_c, _) = h.links[&3];
    // C comes back claiming B's slots with an older epoch.
    let out = h.from(3, &c.clone().with_slots(0..=9, 2).ping(vec![]));
    let updates = sent_of(&out, MessageType::Update);
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].0, to_c);
    match &updates[0].1.body {
        Body::Update {
            config_epoch,
            node,
            slots,
        } => {
            assert_eq!(*config_epoch, Epoch(5));
            assert_eq!(*node, b.header.sender);
            assert_eq!(slots.count(), 10);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(owner(&h, 0), Some(id(2)));
}

#[test]
fn an_update_message_rebinds_slots_and_roles() {
    let mut h = Harness::new();
    let a = Fake::new(2).with_slots(0..=9, 1);
    let b = Fake::new(3).replica_of(&a);
    h.join(&a);
    h.join(&b);
    h.from(3, &b.ping(vec![]));
    assert!(h.node.node(&id(3)).unwrap().is_replica());
    let update = |epoch: u64| {
        a.bytes(Body::Update {
            config_epoch: Epoch(epoch),
            node: b.header.sender,
            slots: (0..=9).collect(),
        })
    };
    h.from(2, &update(6));
    let node_b = h.node.node(&id(3)).unwrap();
    assert!(node_b.is_master(), "clusterSetNodeAsMaster");
    assert_eq!(node_b.config_epoch, 6);
    assert_eq!(owner(&h, 0), Some(id(3)));
    assert_eq!(h.node.take_save_request(), Some(Save::Now));
    // Not newer than what we know: ignored.
    h.from(
        2,
        &a.bytes(Body::Update {
            config_epoch: Epoch(6),
            node: a.header.sender,
            slots: (0..=9).collect(),
        }),
    );
    assert_eq!(owner(&h, 0), Some(id(3)));
}

#[test]
fn an_update_about_ourselves_is_discarded() {
    let mut h = Harness::new();
    h.node.add_slots(&slots(0..=9)).unwrap();
    let b = Fake::new(2);
    h.join(&b);
    h.from(
        2,
        &b.bytes(Body::Update {
            config_epoch: Epoch(9),
            node: crate::cluster::wire_id(&id(1)),
            slots: SlotBitmap::new(),
        }),
    );
    assert_eq!(h.node.myself().slot_count(), 10);
}

#[test]
fn on_a_config_epoch_collision_the_smaller_id_takes_a_new_epoch() {
    // clusterHandleConfigEpochCollision: node 1's id is the smaller.
    let mut h = Harness::new();
    h.node.add_slots(&slots(0..=9)).unwrap();
    let b = Fake::new(2).with_slots(10..=19, 0);
    h.join(&b);
    assert_eq!(h.node.config_epoch(), 1);
    assert_eq!(h.node.current_epoch(), 1);
    assert_eq!(h.node.take_save_request(), Some(Save::Now));
    // The greater id does not move.
    let mut h = Harness::with(config(9));
    let b = Fake::new(2).with_slots(10..=19, 0);
    h.join(&b);
    assert_eq!(h.node.config_epoch(), 0);
}

#[test]
fn bumpepoch_takes_a_new_epoch_unless_already_the_greatest() {
    let mut h = Harness::new();
    assert_eq!(h.node.bump_epoch(), BumpEpoch::Bumped(1));
    assert_eq!(h.node.take_save_request(), Some(Save::Now));
    assert_eq!(h.node.bump_epoch(), BumpEpoch::Still(1));
    assert_eq!(h.node.bump_epoch().to_string(), "STILL 1");
    let mut b = Fake::new(2);
    h.join(&b);
    b.header.current_epoch = Epoch(4);
    b.header.config_epoch = Epoch(4);
    h.from(2, &b.ping(vec![]));
    assert_eq!(h.node.bump_epoch(), BumpEpoch::Bumped(5));
    assert_eq!(h.node.current_epoch(), 5);
}

#[test]
fn set_config_epoch_only_on_a_fresh_lonely_node() {
    let mut h = Harness::new();
    h.node.set_config_epoch(7).unwrap();
    assert_eq!((h.node.config_epoch(), h.node.current_epoch()), (7, 7));
    assert_eq!(
        h.node.set_config_epoch(8).unwrap_err(),
        ClusterError::ConfigEpochNonZero
    );
    let mut h = Harness::new();
    h.join(&Fake::new(2));
    assert_eq!(
        h.node.set_config_epoch(8).unwrap_err(),
        ClusterError::ConfigEpochKnowsOthers
    );
}

#[test]
fn setslot_migrating_importing_stable_and_their_checks() {
    let mut h = Harness::new();
    h.node.add_slots(&slots(0..=9)).unwrap();
    let b = Fake::new(2).with_slots(10..=19, 1);
    let r = Fake::new(3).replica_of(&b);
    h.join(&b);
    h.join(&r);
    h.from(3, &r.ping(vec![]));
    let err = h.node.set_slot_migrating(slot(10), &b.id()).unwrap_err();
    assert_eq!(err.to_string(), "ERR I'm not the owner of hash slot 10");
    let err = h.node.set_slot_migrating(slot(1), &id(77)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("ERR I don't know about node {}", id(77))
    );
    let err = h.node.set_slot_migrating(slot(1), &r.id()).unwrap_err();
    assert_eq!(err, ClusterError::TargetNotMaster);
    let err = h.node.set_slot_importing(slot(1), &b.id()).unwrap_err();
    assert_eq!(err.to_string(), "ERR I'm already the owner of hash slot 1");

    h.node.set_slot_migrating(slot(1), &b.id()).unwrap();
    h.node.set_slot_importing(slot(11), &b.id()).unwrap();
    assert_eq!(h.node.migrating_to(slot(1)), Some(&b.id()));
    assert_eq!(h.node.importing_from(slot(11)), Some(&b.id()));
    assert_eq!(
        h.node.slot_map().migration(slot(1)),
        Some(&ferrodis_slots::Migration::Migrating { to: b.id() })
    );
    h.node.set_slot_stable(slot(1)).unwrap();
    assert_eq!(h.node.migrating_to(slot(1)), None);
    assert_eq!(h.node.slot_map().migration(slot(1)), None);
}

#[test]
fn setslot_node_closing_an_import_bumps_the_epoch_and_tells_everyone() {
    let mut h = Harness::new();
    h.node.add_slots(&slots(0..=9)).unwrap();
    let b = Fake::new(2).with_slots(10..=19, 3);
    h.join(&b);
    h.node.set_slot_importing(slot(10), &b.id()).unwrap();
    let _ = h.node.take_save_request();
    let out = h.node.set_slot_node(slot(10), &id(1), 5, h.now).unwrap();
    assert_eq!(owner(&h, 10), Some(id(1)));
    assert_eq!(h.node.importing_from(slot(10)), None);
    // clusterBumpConfigEpochWithoutConsensus: 3 is the greatest, so 4.
    assert_eq!(h.node.config_epoch(), 4);
    assert_eq!(h.node.take_save_request(), Some(Save::Now));
    let pongs = sent_of(&out, MessageType::Pong);
    assert_eq!(pongs.len(), 1);
    assert_eq!(pongs[0].1.header.config_epoch, Epoch(4));
    assert!(pongs[0].1.header.slots.contains(10));
    // B learns it from our next message; it would have lost the slot by
    // its epoch.
}

#[test]
fn setslot_node_giving_away_the_last_slot_makes_us_a_replica() {
    let mut h = Harness::new();
    h.node.add_slots(&slots(0..=0)).unwrap();
    let b = Fake::new(2).with_slots(10..=19, 3);
    h.join(&b);
    h.node.set_slot_migrating(slot(0), &b.id()).unwrap();
    let err = h
        .node
        .set_slot_node(slot(0), &b.id(), 3, h.now)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "ERR Can't assign hashslot 0 to a different node while I still hold keys for this hash slot."
    );
    h.node.set_slot_node(slot(0), &b.id(), 0, h.now).unwrap();
    assert_eq!(owner(&h, 0), Some(id(2)));
    assert_eq!(
        h.node.migrating_to(slot(0)),
        None,
        "empty: migration closed"
    );
    assert_eq!(h.node.myself().replica_of, Some(id(2)));
    let err = h.node.set_slot_stable(slot(0)).unwrap_err();
    assert_eq!(err.to_string(), "ERR Please use SETSLOT only with masters.");
}

#[test]
fn claiming_slots_at_once_takes_them_all_with_a_new_epoch() {
    let mut h = Harness::new();
    h.node.add_slots(&slots(0..=9)).unwrap();
    let b = Fake::new(2).with_slots(10..=19, 3);
    h.join(&b);
    let _ = h.node.take_save_request();
    let out = h.node.claim_slots(&slots(12..=15), h.now).unwrap();
    for s in 12..=15 {
        assert_eq!(owner(&h, s), Some(id(1)));
    }
    assert_eq!(owner(&h, 11), Some(id(2)), "only the slots named");
    assert_eq!(owner(&h, 16), Some(id(2)), "only the slots named");
    assert_eq!(h.node.config_epoch(), 4, "3 was the greatest: 4");
    assert_eq!(h.node.take_save_request(), Some(Save::Now));
    let pongs = sent_of(&out, MessageType::Pong);
    assert_eq!(pongs.len(), 1);
    assert_eq!(pongs[0].1.header.config_epoch, Epoch(4));
    assert!(pongs[0].1.header.slots.contains(12));
    assert!(pongs[0].1.header.slots.contains(15));
}

#[test]
fn ceding_every_slot_makes_the_source_a_replica_of_the_target() {
    let mut h = Harness::new();
    h.node.add_slots(&slots(0..=3)).unwrap();
    let b = Fake::new(2).with_slots(10..=19, 3);
    h.join(&b);
    h.node.cede_slots(&slots(0..=1), &b.id(), h.now).unwrap();
    assert_eq!(owner(&h, 0), Some(id(2)));
    assert_eq!(owner(&h, 2), Some(id(1)));
    assert!(h.node.myself().is_master(), "slots left: still a master");
    h.node.cede_slots(&slots(2..=3), &b.id(), h.now).unwrap();
    assert_eq!(h.node.myself().replica_of, Some(id(2)));
    // Again (the target's claim came first by the bus): nothing to do.
    assert_eq!(h.node.cede_slots(&slots(0..=3), &b.id(), h.now), Ok(vec![]));
    assert_eq!(
        h.node
            .cede_slots(&slots(2..=3), &id(77), h.now)
            .unwrap_err(),
        ClusterError::SetSlotOnReplica
    );
}
