//! Eviction under each `maxmemory-policy`, driven by a fake memory probe
//! (every key counts [`KEY_SIZE`] bytes) and a manual clock, plus the LFU
//! counter as `OBJECT FREQ` reports it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use ferrodis_store::{
    EvictionPolicy, ManualClock, SetOptions, Store, StoreError, TtlUpdate, LFU_INIT_VAL,
};
use proptest::prelude::*;

/// The "memory" each key uses, for the fake probe.
const KEY_SIZE: usize = 1000;
/// The clock's start: an arbitrary fixed time (Unix ms).
const T0: u64 = 1_700_000_000_000;

/// Keys the tests created and did not delete themselves (evicted ones
/// included), per store: with `evicted_keys`, what the fake probe counts.
/// Counting keys in the store itself would lock 16384 tables per reading.
static CREATED: std::sync::Mutex<Vec<(Weak<Store>, Arc<AtomicUsize>)>> =
    std::sync::Mutex::new(Vec::new());

fn created(store: &Arc<Store>) -> Arc<AtomicUsize> {
    let list = CREATED.lock().unwrap();
    let found = list.iter().find(|(w, _)| w.as_ptr() == Arc::as_ptr(store));
    Arc::clone(&found.unwrap().1)
}

/// A store on a manual clock whose memory probe reads `keys * KEY_SIZE`
/// (all databases), limited to `max_keys` keys under `policy`.
fn store(policy: EvictionPolicy, max_keys: usize) -> (Arc<Store>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(T0));
    let store = Arc::new(Store::builder().databases(2).clock(clock.clone()).build());
    let count = Arc::new(AtomicUsize::new(0));
    let weak: Weak<Store> = Arc::downgrade(&store);
    CREATED
        .lock()
        .unwrap()
        .push((weak.clone(), Arc::clone(&count)));
    store.set_memory_probe(move || {
        weak.upgrade().map_or(0, |s| {
            let evicted = s.stats().evicted_keys.load(Ordering::Relaxed) as usize;
            (count.load(Ordering::Relaxed) - evicted) * KEY_SIZE
        })
    });
    let settings = store.settings();
    settings.set_maxmemory_policy(policy);
    settings
        .maxmemory
        .store((max_keys * KEY_SIZE) as u64, Ordering::Relaxed);
    (store, clock)
}

fn key(i: usize) -> Vec<u8> {
    format!("key:{i}").into_bytes()
}

/// Writes `key(i)` as a node would: evict first, then write.
fn write(store: &Arc<Store>, i: usize, ttl_at: Option<u64>) -> Result<(), StoreError> {
    store.evict_if_needed()?;
    set_in(store, 0, &key(i), ttl_at);
    Ok(())
}

/// Sets `key` in database `db` (no eviction), counting it if new.
fn set_in(store: &Arc<Store>, db: usize, key: &[u8], ttl_at: Option<u64>) {
    let db = store.db(db).unwrap();
    if db.exists(&[key]) == 0 {
        created(store).fetch_add(1, Ordering::Relaxed);
    }
    let opts = SetOptions {
        ttl: ttl_at.map_or(TtlUpdate::Clear, TtlUpdate::At),
        ..Default::default()
    };
    db.set(key, b"value", opts).unwrap();
}

/// Deletes `key` from database 0, uncounting it.
fn del(store: &Arc<Store>, key: &[u8]) {
    if store.db(0).unwrap().del(&[key]) == 1 {
        created(store).fetch_sub(1, Ordering::Relaxed);
    }
}

fn exists(store: &Store, i: usize) -> bool {
    store
        .db(0)
        .map(|d| d.exists(&[&key(i)]) == 1)
        .unwrap_or(false)
}

fn evicted(store: &Store) -> u64 {
    store.stats().evicted_keys.load(Ordering::Relaxed)
}

#[test]
fn no_limit_or_no_probe_never_evicts() {
    let (store, _) = store(EvictionPolicy::AllKeysLru, 0);
    store.settings().maxmemory.store(0, Ordering::Relaxed);
    for i in 0..50 {
        write(&store, i, None).unwrap();
    }
    assert_eq!(store.evict_if_needed(), Ok(0));
    let plain = Store::new();
    plain.settings().maxmemory.store(1, Ordering::Relaxed);
    plain
        .settings()
        .set_maxmemory_policy(EvictionPolicy::AllKeysRandom);
    plain
        .db(0)
        .unwrap()
        .set(b"k", b"v", SetOptions::default())
        .unwrap();
    assert_eq!(plain.used_memory(), None);
    assert_eq!(plain.evict_if_needed(), Ok(0));
}

#[test]
fn noeviction_refuses_writes_over_the_limit() {
    let (store, _) = store(EvictionPolicy::NoEviction, 10);
    for i in 0..11 {
        write(&store, i, None).unwrap();
    }
    assert_eq!(store.used_memory(), Some(11 * KEY_SIZE));
    assert_eq!(write(&store, 11, None), Err(StoreError::OutOfMemory));
    assert_eq!(evicted(&store), 0);
    // Deleting brings memory under the limit again.
    del(&store, &key(0));
    del(&store, &key(1));
    assert_eq!(store.evict_if_needed(), Ok(0));
}

#[test]
fn allkeys_lru_keeps_recently_read_keys() {
    let (store, clock) = store(EvictionPolicy::AllKeysLru, 100);
    let hot: Vec<usize> = (0..20).collect();
    for i in 0..400 {
        clock.advance(1000);
        write(&store, i, None).unwrap();
        let db = store.db(0).unwrap();
        for &h in &hot {
            db.get(&key(h)).unwrap();
        }
    }
    store.evict_if_needed().unwrap();
    assert_eq!(store.used_memory(), Some(100 * KEY_SIZE));
    assert!(
        hot.iter().all(|&h| exists(&store, h)),
        "a hot key was evicted"
    );
    assert_eq!(evicted(&store), 300);
    // The survivors are mostly the most recent writes.
    let recent = (300..400).filter(|&i| exists(&store, i)).count();
    assert!(
        recent >= 60,
        "only {recent} of the last 100 writes survived"
    );
}

#[test]
fn allkeys_lfu_keeps_frequently_read_keys() {
    let (store, clock) = store(EvictionPolicy::AllKeysLfu, 100);
    for i in 0..400 {
        clock.advance(1000);
        write(&store, i, None).unwrap();
        let db = store.db(0).unwrap();
        for h in 0..20 {
            db.get(&key(h)).unwrap();
        }
    }
    assert!(
        (0..20).all(|h| exists(&store, h)),
        "a frequent key was evicted"
    );
    let db = store.db(0).unwrap();
    // Frequent reads outpaced 400 s of decay (one point a minute).
    let hot = db.object(&key(0)).unwrap().freq;
    assert!(hot > LFU_INIT_VAL, "{hot}");
}

#[test]
fn allkeys_random_evicts_from_both_classes() {
    let (store, _) = store(EvictionPolicy::AllKeysRandom, 100);
    let t = T0 + 3_600_000;
    for i in 0..400 {
        write(&store, i, (i % 2 == 0).then_some(t)).unwrap();
    }
    store.evict_if_needed().unwrap();
    assert_eq!(evicted(&store), 300);
    let (vol, plain) = (0..400)
        .filter(|&i| exists(&store, i))
        .fold(
            (0, 0),
            |(v, p), i| if i % 2 == 0 { (v + 1, p) } else { (v, p + 1) },
        );
    assert_eq!(vol + plain, 100);
    assert!(vol > 10 && plain > 10, "{vol} volatile, {plain} persistent");
}

/// Each volatile policy evicts only keys with a TTL, then refuses writes.
#[test]
fn volatile_policies_keep_persistent_keys() {
    for policy in [
        EvictionPolicy::VolatileLru,
        EvictionPolicy::VolatileLfu,
        EvictionPolicy::VolatileRandom,
        EvictionPolicy::VolatileTtl,
    ] {
        let (store, clock) = store(policy, 100);
        for i in 0..100 {
            clock.advance(10);
            let ttl = (i % 2 == 0).then_some(T0 + 3_600_000 + i as u64 * 1000);
            write(&store, i, ttl).unwrap();
        }
        // 50 more persistent keys push out the 50 volatile ones...
        for i in 100..150 {
            write(&store, 2 * i + 1, None).unwrap();
        }
        assert!((0..100).step_by(2).filter(|&i| exists(&store, i)).count() <= 1);
        // ...and then there is nothing left to evict.
        write(&store, 1001, None).unwrap_or(());
        assert_eq!(
            write(&store, 1003, None),
            Err(StoreError::OutOfMemory),
            "{policy:?}"
        );
        assert!((1..100).step_by(2).all(|i| exists(&store, i)), "{policy:?}");
        assert_eq!(evicted(&store), 50, "{policy:?}");
    }
}

#[test]
fn volatile_ttl_evicts_the_soonest_expiring_first() {
    let (store, _) = store(EvictionPolicy::VolatileTtl, 100);
    // Keys 0..200 expire later the higher their number.
    for i in 0..200 {
        write(&store, i, Some(T0 + 3_600_000 + i as u64 * 1000)).unwrap();
    }
    store.evict_if_needed().unwrap();
    let survivors: Vec<usize> = (0..200).filter(|&i| exists(&store, i)).collect();
    assert_eq!(survivors.len(), 100);
    let late = survivors.iter().filter(|&&i| i >= 100).count();
    assert!(
        late >= 80,
        "only {late} of the 100 latest-expiring keys survived"
    );
    assert!(exists(&store, 199));
    // Sampling, as Redis does, can miss any one key: among the twenty
    // that expire soonest only a few may survive (random eviction would
    // keep about ten).
    let early = (0..20).filter(|&i| exists(&store, i)).count();
    assert!(
        early <= 6,
        "{early} of the 20 soonest-expiring keys survived"
    );
}

#[test]
fn eviction_samples_every_database() {
    let (store, _) = store(EvictionPolicy::AllKeysRandom, 100);
    for i in 0..100 {
        set_in(&store, 1, &key(i), None);
    }
    for i in 0..100 {
        write(&store, i, None).unwrap();
    }
    store.evict_if_needed().unwrap();
    let left0 = store.db(0).unwrap().len();
    let left1 = store.db(1).unwrap().len();
    assert_eq!(left0 + left1, 100);
    assert!(left0 > 20 && left1 > 20, "{left0} / {left1}");
}

#[test]
fn lfu_counter_starts_grows_and_decays() {
    let (store, clock) = store(EvictionPolicy::AllKeysLfu, 1000);
    write(&store, 1, None).unwrap();
    let freq = |store: &Store| store.db(0).unwrap().object(&key(1)).unwrap().freq;
    assert_eq!(freq(&store), LFU_INIT_VAL);
    for _ in 0..1000 {
        store.db(0).unwrap().get(&key(1)).unwrap();
    }
    let grown = freq(&store);
    assert!(grown > LFU_INIT_VAL + 3, "{grown}");
    // Overwriting keeps the counter (Redis' dbOverwrite under LFU).
    write(&store, 1, None).unwrap();
    assert!(freq(&store) >= grown);
    let now = freq(&store);
    // One point per minute (lfu-decay-time 1), reported without touching.
    clock.advance(3 * 60_000);
    assert_eq!(freq(&store), now - 3);
    // Decay is computed from the stored counter: none with a decay time of
    // 0, one point per two minutes with 2.
    store.settings().lfu_decay_time.store(0, Ordering::Relaxed);
    clock.advance(10 * 60_000);
    assert_eq!(freq(&store), now);
    store.settings().lfu_decay_time.store(2, Ordering::Relaxed);
    assert_eq!(freq(&store), now - 13 / 2);
}

#[test]
fn lru_idle_time_follows_the_clock() {
    let (store, clock) = store(EvictionPolicy::AllKeysLru, 1000);
    write(&store, 1, None).unwrap();
    clock.advance(42_500);
    let db = store.db(0).unwrap();
    assert_eq!(db.object(&key(1)).unwrap().idle_seconds, 42);
    db.get(&key(1)).unwrap();
    assert_eq!(db.object(&key(1)).unwrap().idle_seconds, 0);
}

#[test]
fn small_integers_are_shared_unless_a_limit_needs_access_data() {
    let (store, _) = store(EvictionPolicy::AllKeysLru, 1000);
    let db = store.db(0).unwrap();
    for (k, v) in [
        ("a", "1"),
        ("b", "9999"),
        ("c", "10000"),
        ("d", "-1"),
        ("e", "x"),
    ] {
        db.set(k.as_bytes(), v.as_bytes(), SetOptions::default())
            .unwrap();
    }
    let shared = |k: &str| db.object(k.as_bytes()).unwrap().shared_integer;
    assert!(!shared("a"));
    store
        .settings()
        .set_maxmemory_policy(EvictionPolicy::AllKeysRandom);
    assert!(shared("a") && shared("b"));
    assert!(!shared("c") && !shared("d") && !shared("e"));
    store
        .settings()
        .set_maxmemory_policy(EvictionPolicy::VolatileLfu);
    assert!(!shared("a"));
    store.settings().maxmemory.store(0, Ordering::Relaxed);
    assert!(shared("a"));
}

/// A step of a random workload.
#[derive(Debug, Clone)]
enum Op {
    Set { key: u8, ttl: bool },
    Get { key: u8 },
    Del { key: u8 },
    Tick,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<u8>(), any::<bool>()).prop_map(|(key, ttl)| Op::Set { key, ttl }),
        3 => any::<u8>().prop_map(|key| Op::Get { key }),
        1 => any::<u8>().prop_map(|key| Op::Del { key }),
        1 => Just(Op::Tick),
    ]
}

fn policy() -> impl Strategy<Value = EvictionPolicy> {
    proptest::sample::select(EvictionPolicy::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the workload: a successful eviction leaves memory at or
    /// under the limit; volatile policies never remove a key without a TTL;
    /// `evicted_keys` counts exactly the keys that disappeared; a refusal
    /// means nothing evictable was left.
    #[test]
    fn eviction_invariants(policy in policy(), max_keys in 1usize..40, ops in proptest::collection::vec(op(), 1..300)) {
        let (store, clock) = store(policy, max_keys);
        let mut model = std::collections::BTreeMap::<u8, bool>::new();
        for op in ops {
            let before = evicted(&store);
            let result = store.evict_if_needed();
            let db = store.db(0).unwrap();
            let present: Vec<(u8, bool)> = model.iter().map(|(k, v)| (*k, *v)).collect();
            let mut gone = 0;
            for (k, ttl) in present {
                if db.exists(&[&key(usize::from(k))]) == 0 {
                    prop_assert!(ttl || !policy.volatile_only(), "{policy:?} evicted a persistent key");
                    prop_assert!(policy != EvictionPolicy::NoEviction);
                    model.remove(&k);
                    gone += 1;
                }
            }
            prop_assert_eq!(evicted(&store) - before, gone);
            match result {
                Ok(_) => prop_assert!(model.len() <= max_keys),
                Err(e) => {
                    prop_assert_eq!(e, StoreError::OutOfMemory);
                    prop_assert!(model.len() > max_keys);
                    let volatile_left = model.values().any(|t| *t);
                    prop_assert!(policy == EvictionPolicy::NoEviction
                        || (policy.volatile_only() && !volatile_left));
                    continue;
                }
            }
            match op {
                Op::Set { key: k, ttl } => {
                    set_in(&store, 0, &key(usize::from(k)), ttl.then_some(T0 + 86_400_000));
                    model.insert(k, ttl);
                }
                Op::Get { key: k } => {
                    db.get(&key(usize::from(k))).unwrap();
                }
                Op::Del { key: k } => {
                    del(&store, &key(usize::from(k)));
                    model.remove(&k);
                }
                Op::Tick => clock.advance(61_000),
            }
        }
    }
}
