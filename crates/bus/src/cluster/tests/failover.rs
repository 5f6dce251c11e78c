//! Failover: elections by replicas of FAIL masters
//! (`clusterHandleSlaveFailover`), votes (`clusterSendFailoverAuthIfNeeded`),
//! the winner taking the slots (`clusterFailoverReplaceYourMaster`), an old
//! master turning replica (`clusterUpdateSlotsConfigWith`), `CLUSTER
//! FAILOVER` in its three forms, and replica migration
//! (`clusterHandleSlaveMigration`).

use super::*;
use crate::MessageType;

/// A FAIL message from `from` about `about`.
fn fail(from: &Fake, about: &Fake) -> Vec<u8> {
    from.bytes(Body::Fail {
        node: super::super::wire_id(&about.id()),
    })
}

/// Node 1 as the replica of A (slots 0..=99, epoch 1), with masters B
/// (100..=199, epoch 2) and C (200..=299, epoch 3).
fn replica_of_a() -> (Harness, Fake, Fake, Fake) {
    let mut h = Harness::new();
    let a = Fake::new(2).with_slots(0..=99, 1);
    let b = Fake::new(3).with_slots(100..=199, 2);
    let c = Fake::new(4).with_slots(200..=299, 3);
    h.join(&a);
    h.join(&b);
    h.join(&c);
    h.node.replicate(&a.id()).unwrap();
    h.run(300);
    (h, a, b, c)
}

/// When (after `start`) the first FAILOVER_AUTH_REQUEST left, running up
/// to `ms` of ticks, and the message.
fn first_request(h: &mut Harness, ms: u64) -> Option<(u64, Message)> {
    for _ in 0..ms / 100 {
        let out = h.tick();
        if let Some((_, m)) = sent_of(&out, MessageType::FailoverAuthRequest)
            .into_iter()
            .next()
        {
            return Some((h.now, m));
        }
    }
    None
}

#[test]
fn only_a_replica_of_a_failed_master_runs_an_election() {
    let (mut h, a, b, _) = replica_of_a();
    // Master up: no election, however long.
    assert!(first_request(&mut h, 5000).is_none());
    // Master FAIL: an election 500..1000 ms later (rank 0).
    h.kill(a.n);
    h.from(b.n, &fail(&b, &a));
    assert!(h.flags(a.n).contains(NodeFlags::FAIL));
    let epoch = h.node.current_epoch();
    let start = h.now;
    let (at, request) = first_request(&mut h, 3000).expect("an election");
    assert!((start + 500..=start + 1100).contains(&at), "{}", at - start);
    assert_eq!(request.header.current_epoch, Epoch(epoch + 1));
    assert_eq!(h.node.current_epoch(), epoch + 1);
    // The request is a replica's header: its master's slots and epoch.
    assert_eq!(request.header.config_epoch, Epoch(1));
    assert_eq!(request.header.slots.count(), 100);
    assert!(!request
        .header
        .mflags
        .contains(types::MessageFlags::FORCEACK));
    // A master never runs one.
    let mut m = Harness::new();
    let x = Fake::new(2).with_slots(0..=9, 1);
    let y = Fake::new(3).with_slots(10..=19, 2);
    m.join(&x);
    m.join(&y);
    m.kill(x.n);
    m.from(y.n, &fail(&y, &x));
    assert!(first_request(&mut m, 5000).is_none());
}

#[test]
fn no_election_with_nofailover_or_for_a_master_without_slots() {
    let (mut h, a, b, _) = replica_of_a();
    h.node.set_replica_no_failover(true);
    h.kill(a.n);
    h.from(b.n, &fail(&b, &a));
    assert!(first_request(&mut h, 5000).is_none());

    let mut h = Harness::new();
    let a = Fake::new(2);
    let b = Fake::new(3).with_slots(100..=199, 2);
    h.join(&a);
    h.join(&b);
    h.node.replicate(&a.id()).unwrap();
    h.kill(a.n);
    h.from(b.n, &fail(&b, &a));
    assert!(first_request(&mut h, 5000).is_none());
}

#[test]
fn a_replica_with_less_data_waits_a_second_per_rank() {
    let (mut h, a, b, _) = replica_of_a();
    // Two other replicas of A, both ahead of us.
    for n in [5, 6] {
        let mut r = Fake::new(n).replica_of(&a);
        r.header.offset = types::ReplOffset(1000);
        h.join(&r);
        h.from(n, &r.ping(vec![]));
    }
    h.node.set_repl_offset(900);
    h.kill(a.n);
    h.from(b.n, &fail(&b, &a));
    let start = h.now;
    let (at, _) = first_request(&mut h, 6000).expect("an election");
    assert!(
        (start + 2500..=start + 3100).contains(&at),
        "rank 2 asks 2500..3000 ms later, not {}",
        at - start
    );
}

#[test]
fn data_older_than_the_validity_factor_prevents_the_election() {
    let (mut h, a, b, _) = replica_of_a();
    // Last heard from the master long ago: 2 s timeout × 10 + 10 s.
    h.node.set_master_last_interaction(Some(h.now - 40_000));
    h.kill(a.n);
    h.from(b.n, &fail(&b, &a));
    assert!(first_request(&mut h, 5000).is_none());
    h.node.set_master_last_interaction(Some(h.now - 1000));
    assert!(first_request(&mut h, 5000).is_some());
}

#[test]
fn a_majority_of_masters_elects_and_the_winner_takes_the_slots() {
    let (mut h, a, mut b, mut c) = replica_of_a();
    h.kill(a.n);
    h.from(b.n, &fail(&b, &a));
    let (_, request) = first_request(&mut h, 3000).expect("an election");
    let epoch = request.header.current_epoch.0;
    // A vote from a master at an older epoch does not count.
    b.header.current_epoch = Epoch(epoch - 1);
    h.from(b.n, &b.bytes(Body::FailoverAuthAck));
    h.run(300);
    assert!(h.node.myself().is_replica());
    // One vote of three masters is not a majority.
    b.header.current_epoch = Epoch(epoch);
    h.from(b.n, &b.bytes(Body::FailoverAuthAck));
    h.run(300);
    assert!(h.node.myself().is_replica());
    // The second is.
    c.header.current_epoch = Epoch(epoch);
    let out = h.from(c.n, &c.bytes(Body::FailoverAuthAck));
    assert!(out.contains(&Action::BecomeMaster), "{out:?}");
    let me = h.node.myself();
    assert!(me.is_master());
    assert_eq!(me.replica_of, None);
    assert_eq!(h.node.config_epoch(), epoch);
    assert_eq!(me.slot_count(), 100);
    assert_eq!(h.node.slot_owner(slot(42)).unwrap().id, id(1));
    assert_eq!(h.node.node(&a.id()).unwrap().slot_count(), 0);
    // Everyone hears at once, with the new epoch and the slots.
    // (A's link was dropped when it stopped answering.)
    let pongs = sent_of(&out, MessageType::Pong);
    let to: Vec<LinkId> = pongs.iter().map(|(l, _)| *l).collect();
    assert_eq!(to, vec![h.links[&b.n].0, h.links[&c.n].0]);
    assert_eq!(pongs[0].1.header.config_epoch, Epoch(epoch));
    assert!(pongs[0].1.header.replicaof.is_null());
    assert_eq!(h.node.take_save_request(), Some(Save::Now));
}

#[test]
fn an_election_without_a_majority_expires_and_retries_later() {
    let (mut h, a, b, _) = replica_of_a();
    h.kill(a.n);
    h.from(b.n, &fail(&b, &a));
    let (first, request) = first_request(&mut h, 3000).expect("an election");
    // auth timeout 4 s (2 × 2 s), retry after 8 s.
    let (second, retry) = first_request(&mut h, 12_000).expect("a second election");
    assert!(second - first >= 8000, "{}", second - first);
    assert!(retry.header.current_epoch.0 > request.header.current_epoch.0);
}

/// Node 1 as a master serving 0..=99 at epoch 1, with master A (100..=199,
/// epoch 2) and its replicas R (5) and S (6), and master B (200..=299,
/// epoch 3).
fn voter() -> (Harness, Fake, Fake, Fake, Fake) {
    let mut h = Harness::new();
    h.node.add_slots(&slots(0..=99)).unwrap();
    h.node.set_config_epoch(1).unwrap();
    let a = Fake::new(2).with_slots(100..=199, 2);
    let b = Fake::new(3).with_slots(200..=299, 3);
    let r = Fake::new(5).replica_of(&a);
    let s = Fake::new(6).replica_of(&a);
    for f in [&a, &b, &r, &s] {
        h.join(f);
    }
    (h, a, b, r, s)
}

fn request(from: &Fake, epoch: u64) -> Vec<u8> {
    let mut f = from.clone();
    f.header.current_epoch = Epoch(epoch);
    f.bytes(Body::FailoverAuthRequest)
}

fn acks(out: &[Action]) -> Vec<LinkId> {
    sent_of(out, MessageType::FailoverAuthAck)
        .into_iter()
        .map(|(l, _)| l)
        .collect()
}

#[test]
fn a_master_votes_once_per_epoch_and_once_per_failed_master_per_two_timeouts() {
    let (mut h, a, b, r, s) = voter();
    h.kill(a.n);
    h.from(b.n, &fail(&b, &a));
    let out = h.from(r.n, &request(&r, 10));
    assert_eq!(acks(&out), vec![h.links[&r.n].0]);
    assert_eq!(h.node.last_vote_epoch(), 10);
    assert_eq!(h.node.take_save_request(), Some(Save::Now));
    // Not twice in epoch 10, to anyone.
    assert!(acks(&h.from(s.n, &request(&s, 10))).is_empty());
    assert!(acks(&h.from(r.n, &request(&r, 10))).is_empty());
    // A later epoch, but the same failed master within 2 × node timeout.
    h.now += 2 * TIMEOUT - 100;
    assert!(acks(&h.from(s.n, &request(&s, 11))).is_empty());
    // Once two node timeouts have passed since the vote.
    h.now += 200;
    assert_eq!(acks(&h.from(s.n, &request(&s, 12))), vec![h.links[&s.n].0]);
    assert_eq!(h.node.last_vote_epoch(), 12);
    // An epoch older than ours: no.
    h.now += 2 * TIMEOUT + 100;
    assert!(acks(&h.from(r.n, &request(&r, 11))).is_empty());
}

#[test]
fn no_vote_while_the_master_is_up_unless_forceack() {
    let (mut h, _a, _b, r, _s) = voter();
    assert!(acks(&h.from(r.n, &request(&r, 10))).is_empty());
    assert_eq!(h.node.last_vote_epoch(), 0);
    let mut forced = r.clone();
    forced.header.current_epoch = Epoch(11);
    forced.header.mflags = types::MessageFlags::FORCEACK;
    let out = h.from(r.n, &forced.bytes(Body::FailoverAuthRequest));
    assert_eq!(acks(&out), vec![h.links[&r.n].0]);
}

#[test]
fn no_vote_for_slots_served_at_a_greater_epoch_nor_to_masters_nor_by_replicas() {
    let (mut h, a, mut b, r, _s) = voter();
    h.kill(a.n);
    h.from(b.n, &fail(&b, &a));
    // B took slot 150 of A's at epoch 20: R (claiming A's slots at epoch
    // 2) is behind.
    b.header.slots = (200..=299).chain([150]).collect::<SlotBitmap>();
    b.header.config_epoch = Epoch(20);
    b.header.current_epoch = Epoch(20);
    h.from(b.n, &b.ping(vec![]));
    assert_eq!(h.node.slot_owner(slot(150)).unwrap().id, b.id());
    assert!(acks(&h.from(r.n, &request(&r, 21))).is_empty());
    // A master asking: no.
    let m = Fake::new(3).with_slots(200..=299, 20);
    assert!(acks(&h.from(3, &request(&m, 22))).is_empty());
    // A node serving no slot does not vote.
    let (mut h, a, b, r, _s) = voter();
    h.node.flush_slots().unwrap();
    h.kill(a.n);
    h.from(b.n, &fail(&b, &a));
    assert!(acks(&h.from(r.n, &request(&r, 10))).is_empty());
}

#[test]
fn an_old_master_seeing_its_slots_at_a_greater_epoch_becomes_a_replica() {
    let mut h = Harness::new();
    h.node.add_slots(&slots(0..=99)).unwrap();
    h.node.set_config_epoch(1).unwrap();
    let b = Fake::new(3).with_slots(200..=299, 3);
    h.join(&b);
    // Our replica R, promoted while we were away, now serves our slots at
    // epoch 7.
    let r = Fake::new(5);
    h.join(&r);
    let r = r.with_slots(0..=99, 7);
    let out = h.from(r.n, &r.ping(vec![]));
    let me = h.node.myself();
    assert!(me.is_replica());
    assert_eq!(me.replica_of, Some(r.id()));
    assert_eq!(me.slot_count(), 0);
    assert!(
        out.contains(&Action::ReplicateFrom {
            id: r.id(),
            ip: r.ip(),
            port: 7005
        }),
        "{out:?}"
    );
    // Told once.
    let again = h.from(r.n, &r.ping(vec![]));
    assert!(!again
        .iter()
        .any(|a| matches!(a, Action::ReplicateFrom { .. })));
}

#[test]
fn an_update_message_turns_the_old_master_too() {
    let mut h = Harness::new();
    h.node.add_slots(&slots(0..=99)).unwrap();
    h.node.set_config_epoch(1).unwrap();
    let b = Fake::new(3).with_slots(200..=299, 3);
    let r = Fake::new(5).with_slots(300..=301, 4);
    h.join(&b);
    h.join(&r);
    let update = b.bytes(Body::Update {
        config_epoch: Epoch(9),
        node: super::super::wire_id(&r.id()),
        slots: (0..=99).chain(300..=301).collect::<SlotBitmap>(),
    });
    let out = h.from(b.n, &update);
    assert_eq!(h.node.myself().replica_of, Some(r.id()));
    assert!(out
        .iter()
        .any(|a| matches!(a, Action::ReplicateFrom { id, .. } if *id == r.id())));
}

#[test]
fn cluster_failover_checks_like_redis() {
    let mut h = Harness::new();
    assert_eq!(
        h.node.failover(FailoverKind::Default, h.now),
        Err(ClusterError::FailoverOnMaster)
    );
    let (mut h, a, b, _) = replica_of_a();
    h.kill(a.n);
    h.from(b.n, &fail(&b, &a));
    assert_eq!(
        h.node.failover(FailoverKind::Default, h.now),
        Err(ClusterError::FailoverMasterDown)
    );
    assert!(h.node.failover(FailoverKind::Force, h.now).is_ok());
}

#[test]
fn default_manual_failover_waits_for_the_masters_offset() {
    let (mut h, mut a, mut b, mut c) = replica_of_a();
    h.node.set_repl_offset(400);
    let out = h.node.failover(FailoverKind::Default, h.now).unwrap();
    let mfstart = sent_of(&out, MessageType::MfStart);
    assert_eq!(mfstart.len(), 1);
    assert_eq!(mfstart[0].0, h.links[&a.n].0);
    // The master pauses and reports offset 500.
    a.header.mflags = types::MessageFlags::PAUSED;
    a.header.offset = types::ReplOffset(500);
    h.answer(a.n, &a.ping(vec![]));
    // Not caught up: no election.
    assert!(first_request(&mut h, 1000).is_none());
    // Caught up: the election at once, asking masters to vote although
    // the master is up.
    h.node.set_repl_offset(500);
    let (_, request) = first_request(&mut h, 200).expect("an election");
    assert!(request
        .header
        .mflags
        .contains(types::MessageFlags::FORCEACK));
    let epoch = request.header.current_epoch;
    b.header.current_epoch = epoch;
    c.header.current_epoch = epoch;
    h.from(b.n, &b.bytes(Body::FailoverAuthAck));
    let out = h.from(c.n, &c.bytes(Body::FailoverAuthAck));
    assert!(out.contains(&Action::BecomeMaster));
    assert_eq!(h.node.myself().slot_count(), 100);
}

#[test]
fn a_manual_failover_gives_up_after_five_seconds() {
    let (mut h, a, _b, _c) = replica_of_a();
    h.node.failover(FailoverKind::Default, h.now).unwrap();
    let mut a = a.clone();
    a.header.mflags = types::MessageFlags::PAUSED;
    h.run(5200);
    // Too late: the offset no longer starts anything.
    h.answer(a.n, &a.ping(vec![]));
    assert!(first_request(&mut h, 2000).is_none());
    assert!(h.node.myself().is_replica());
}

#[test]
fn forced_failover_runs_the_election_without_the_master() {
    let (mut h, a, _b, _c) = replica_of_a();
    h.kill(a.n);
    h.node.failover(FailoverKind::Force, h.now).unwrap();
    let (_, request) = first_request(&mut h, 200).expect("an election");
    assert!(request
        .header
        .mflags
        .contains(types::MessageFlags::FORCEACK));
}

#[test]
fn takeover_needs_no_votes() {
    let (mut h, _a, _b, _c) = replica_of_a();
    let before = h.node.current_epoch();
    let out = h.node.failover(FailoverKind::Takeover, h.now).unwrap();
    assert!(out.contains(&Action::BecomeMaster), "{out:?}");
    assert!(sent_of(&out, MessageType::FailoverAuthRequest).is_empty());
    assert_eq!(sent_of(&out, MessageType::Pong).len(), 3);
    assert_eq!(h.node.config_epoch(), before + 1);
    assert!(h.node.myself().is_master());
    assert_eq!(h.node.slot_owner(slot(0)).unwrap().id, id(1));
}

#[test]
fn the_master_pauses_writes_and_flags_its_offset_for_the_replica() {
    let (mut h, _a, _b, r, _s) = voter();
    // R is A's replica, not ours: ignored.
    assert!(h.from(r.n, &r.bytes(Body::MfStart)).is_empty());
    let mine = Fake::new(7).replica_of(&Fake::new(1).with_slots(0..=99, 1));
    h.join(&mine);
    h.from(mine.n, &mine.ping(vec![]));
    h.node.set_repl_offset(700);
    let out = h.from(mine.n, &mine.bytes(Body::MfStart));
    assert_eq!(
        out[0],
        Action::PauseWrites {
            until_ms: h.now + 10_000
        }
    );
    // No ping yet: the offset is the one the node reports once the pause
    // holds every write.
    assert!(sent_of(&out, MessageType::Ping).is_empty());
    h.node.set_repl_offset(777);
    assert_eq!(h.node.manual_failover_replica(), Some(&mine.id()));
    // It pings the replica every tick, then gives up at 5 s.
    let out = h.tick();
    let ping = &sent_of(&out, MessageType::Ping)[0].1;
    assert!(ping.header.mflags.contains(types::MessageFlags::PAUSED));
    assert_eq!(ping.header.offset, types::ReplOffset(777));
    let out = h.run(5000);
    assert!(out.contains(&Action::ResumeWrites));
    assert_eq!(h.node.manual_failover_replica(), None);
}

#[test]
fn a_replica_migrates_to_an_orphaned_master_under_the_barrier() {
    for (barrier, moves) in [(1, true), (2, false)] {
        let mut config = config(1);
        config.require_full_coverage = false;
        config.migration_barrier = barrier;
        let mut h = Harness::with(config);
        let a = Fake::new(2).with_slots(0..=99, 1);
        let b = Fake::new(3).with_slots(100..=199, 2);
        let c = Fake::new(4).with_slots(200..=299, 3);
        let sibling = Fake::new(5).replica_of(&a);
        let lost = Fake::new(6).replica_of(&b);
        for f in [&a, &b, &c, &sibling, &lost] {
            h.join(f);
        }
        h.node.replicate(&a.id()).unwrap();
        // B's only replica fails: B is orphaned.
        h.kill(lost.n);
        h.from(a.n, &fail(&a, &lost));
        let out = h.run(6000);
        let moved = out
            .iter()
            .any(|x| matches!(x, Action::ReplicateFrom { id, .. } if *id == b.id()));
        assert_eq!(moved, moves, "barrier {barrier}");
        assert_eq!(
            h.node.myself().replica_of,
            Some(if moves { b.id() } else { a.id() })
        );
    }
}
