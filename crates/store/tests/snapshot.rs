//! Snapshots are point-in-time views: whatever writers do while one is
//! read, it shows the keyspace exactly as it was at one instant.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ferrodis_store::{RdbValue, SnapshotError, Store};

fn value_of(v: &RdbValue) -> i64 {
    match v {
        RdbValue::String(s) => std::str::from_utf8(s).unwrap().parse().unwrap(),
        other => panic!("unexpected value {other:?}"),
    }
}

/// A writer increments counters k0..k(N-1) round after round, in order.
/// At any instant the counters read r+1 up to some index and r after it:
/// non-increasing, first minus last at most one. A snapshot that mixed
/// tables copied at different instants would break that.
#[test]
fn snapshot_sees_one_instant_under_concurrent_writes() {
    const N: usize = 2000;
    let store = Arc::new(Store::new());
    let db = store.db(0).unwrap();
    for i in 0..N {
        db.set(format!("k{i}").as_bytes(), b"0", Default::default())
            .unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, stop) = (Arc::clone(&store), Arc::clone(&stop));
        std::thread::spawn(move || {
            let db = store.db(0).unwrap();
            let mut rounds = 0u64;
            while !stop.load(Ordering::Relaxed) {
                for i in 0..N {
                    db.incr_by(format!("k{i}").as_bytes(), 1).unwrap();
                }
                rounds += 1;
            }
            rounds
        })
    };
    let mut checked = 0;
    for _ in 0..30 {
        let mut snap = store.snapshot().unwrap();
        let mut values = vec![None; N];
        while let Some((dbi, entries)) = snap.next_slot() {
            assert_eq!(dbi, 0);
            for e in entries {
                let i: usize = std::str::from_utf8(&e.key[1..]).unwrap().parse().unwrap();
                assert!(values[i].is_none(), "key k{i} twice");
                values[i] = Some(value_of(&e.object.value));
            }
            // Give the writer time to race the walk.
            std::thread::yield_now();
        }
        let values: Vec<i64> = values.into_iter().map(|v| v.expect("every key")).collect();
        for w in values.windows(2) {
            assert!(w[0] >= w[1], "not one instant: {} then {}", w[0], w[1]);
        }
        assert!(values[0] - values[N - 1] <= 1);
        checked += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let rounds = writer.join().unwrap();
    assert!(rounds > 0 && checked == 30);
}

#[test]
fn one_snapshot_at_a_time_and_deletes_after_the_instant_do_not_show() {
    let store = Arc::new(Store::new());
    let (a, b) = (store.db(0).unwrap(), store.db(3).unwrap());
    a.set(b"x", b"1", Default::default()).unwrap();
    b.set(b"y", b"2", Default::default()).unwrap();
    let mut snap = store.snapshot().unwrap();
    assert_eq!(store.snapshot().unwrap_err(), SnapshotError::InProgress);
    // After the instant: deleted, replaced, flushed, new database.
    a.del(&[b"x"]);
    b.flush();
    store
        .db(5)
        .unwrap()
        .set(b"z", b"3", Default::default())
        .unwrap();
    a.set(b"new", b"4", Default::default()).unwrap();
    let mut seen = Vec::new();
    while let Some((dbi, entries)) = snap.next_slot() {
        for e in entries {
            seen.push((dbi, e.key, e.object.value));
        }
    }
    seen.sort_by_key(|x| x.0);
    assert_eq!(
        seen,
        vec![
            (0, b"x".to_vec(), RdbValue::String(b"1".to_vec())),
            (3, b"y".to_vec(), RdbValue::String(b"2".to_vec())),
        ]
    );
    drop(snap);
    // Ended: a new one can start and sees the present.
    let mut snap = store.snapshot().unwrap();
    let mut n = 0;
    while let Some((_, entries)) = snap.next_slot() {
        n += entries.len();
    }
    assert_eq!(n, 2);
}

#[test]
fn swapdb_after_the_instant_does_not_show() {
    let store = Arc::new(Store::new());
    store
        .db(0)
        .unwrap()
        .set(b"a", b"0", Default::default())
        .unwrap();
    store
        .db(1)
        .unwrap()
        .set(b"b", b"1", Default::default())
        .unwrap();
    let mut snap = store.snapshot().unwrap();
    store.swap_dbs(0, 1).unwrap();
    let mut seen = Vec::new();
    while let Some((dbi, entries)) = snap.next_slot() {
        for e in entries {
            seen.push((dbi, e.key));
        }
    }
    seen.sort();
    assert_eq!(seen, vec![(0, b"a".to_vec()), (1, b"b".to_vec())]);
}

/// The active expire cycle locks for writing only the tables holding keys
/// with a TTL: a table locked for writing during a snapshot is copied, and
/// copying every table from the cron stalled clients.
#[test]
fn expire_cycle_during_a_snapshot_copies_only_tables_with_ttls() {
    let store = Arc::new(Store::new());
    let db = store.db(0).unwrap();
    for i in 0..50_000 {
        db.set(format!("k{i}").as_bytes(), b"v", Default::default())
            .unwrap();
    }
    db.set(b"volatile", b"v", Default::default()).unwrap();
    assert!(db.expire_at(b"volatile", u64::MAX / 2, Default::default()));
    let snap = store.snapshot().unwrap();
    for _ in 0..10 {
        store.active_expire_cycle(std::time::Duration::from_millis(25));
    }
    assert!(
        snap.tables_copied_by_writers() <= 1,
        "{} tables copied",
        snap.tables_copied_by_writers()
    );
    // A write still copies the table it changes.
    db.set(b"k1", b"w", Default::default()).unwrap();
    assert!(snap.tables_copied_by_writers() >= 1);
}
