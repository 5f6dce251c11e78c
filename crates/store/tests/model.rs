//! The store against a simple model: random sequences of string and key
//! operations, with a clock that moves, must give the same answers as a
//! `HashMap` with explicit expiry times.

use std::collections::HashMap;
use std::sync::Arc;

use ferrodis_store::{
    ExpireCondition, ManualClock, SetCondition, SetOptions, Store, StoreError, Ttl, TtlUpdate,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Set {
        key: u8,
        value: Vec<u8>,
        nx: bool,
        xx: bool,
        ttl: Option<u64>,
        keep: bool,
        get: bool,
    },
    Get(u8),
    Del(u8),
    Incr(u8, i64),
    Append(u8, Vec<u8>),
    Expire(u8, u64, u8),
    Persist(u8),
    Ttl(u8),
    Rename(u8, u8),
    Exists(u8),
    Advance(u64),
    Scan,
}

fn key(k: u8) -> Vec<u8> {
    // Few keys, spread over slots, some sharing a slot through a hash tag.
    if k % 3 == 0 {
        format!("{{t}}k{k}").into_bytes()
    } else {
        format!("k{k}").into_bytes()
    }
}

fn op() -> impl Strategy<Value = Op> {
    let k = 0u8..8;
    let v = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..30),
        (-100i64..100).prop_map(|n| n.to_string().into_bytes())
    ];
    prop_oneof![
        (
            k.clone(),
            v.clone(),
            any::<bool>(),
            any::<bool>(),
            prop::option::of(1u64..3000),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(key, value, nx, xx, ttl, keep, get)| Op::Set {
                key,
                value,
                nx,
                xx,
                ttl,
                keep,
                get
            }),
        k.clone().prop_map(Op::Get),
        k.clone().prop_map(Op::Del),
        (k.clone(), -1000i64..1000).prop_map(|(k, d)| Op::Incr(k, d)),
        (k.clone(), v).prop_map(|(k, v)| Op::Append(k, v)),
        (k.clone(), 0u64..3000, 0u8..5).prop_map(|(k, t, c)| Op::Expire(k, t, c)),
        k.clone().prop_map(Op::Persist),
        k.clone().prop_map(Op::Ttl),
        (k.clone(), k.clone()).prop_map(|(a, b)| Op::Rename(a, b)),
        k.prop_map(Op::Exists),
        (0u64..2000).prop_map(Op::Advance),
        Just(Op::Scan),
    ]
}

#[derive(Default)]
struct Model {
    now: u64,
    map: HashMap<Vec<u8>, (Vec<u8>, u64)>,
}

impl Model {
    fn live(&mut self, k: &[u8]) -> Option<&mut (Vec<u8>, u64)> {
        let now = self.now;
        if self
            .map
            .get(k)
            .is_some_and(|(_, at)| *at != 0 && *at <= now)
        {
            self.map.remove(k);
        }
        self.map.get_mut(k)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn store_matches_model(ops in prop::collection::vec(op(), 1..80)) {
        let clock = Arc::new(ManualClock::new(1_000_000));
        let store = Store::builder().clock(clock.clone()).build();
        let mut m = Model { now: 1_000_000, ..Model::default() };
        for op in ops {
            let db = store.db(0).unwrap();
            match op {
                Op::Set { key: k, value, nx, xx, ttl, keep, get } => {
                    let k = key(k);
                    let condition = if nx { SetCondition::IfMissing } else if xx { SetCondition::IfExists } else { SetCondition::Always };
                    let ttl_update = match (ttl, keep) { (Some(t), _) => TtlUpdate::At(m.now + t), (None, true) => TtlUpdate::Keep, _ => TtlUpdate::Clear };
                    let got = db.set(&k, &value, SetOptions { condition, ttl: ttl_update, get }).unwrap();
                    let old = m.live(&k).cloned();
                    let allowed = match condition { SetCondition::Always => true, SetCondition::IfMissing => old.is_none(), SetCondition::IfExists => old.is_some() };
                    prop_assert_eq!(got.written, allowed);
                    if get { prop_assert_eq!(got.old, old.as_ref().map(|o| o.0.clone())); }
                    if allowed {
                        let at = match ttl_update { TtlUpdate::At(a) => a, TtlUpdate::Keep => old.map_or(0, |o| o.1), TtlUpdate::Clear => 0 };
                        m.map.insert(k, (value, at));
                    }
                }
                Op::Get(k) => { let k = key(k); prop_assert_eq!(db.get(&k).unwrap(), m.live(&k).map(|v| v.0.clone())); }
                Op::Del(k) => { let k = key(k); let had = m.live(&k).is_some(); m.map.remove(&k); prop_assert_eq!(db.del(&[&k]), usize::from(had)); }
                Op::Incr(k, d) => {
                    let k = key(k);
                    let got = db.incr_by(&k, d);
                    match m.live(&k) {
                        None => { prop_assert_eq!(got, Ok(d)); m.map.insert(k, (d.to_string().into_bytes(), 0)); }
                        Some(v) => match ferrodis_resp::parse_i64(&v.0) {
                            Some(n) => { prop_assert_eq!(got.clone(), Ok(n + d)); v.0 = (n + d).to_string().into_bytes(); }
                            None => prop_assert_eq!(got, Err(StoreError::NotInteger)),
                        },
                    }
                }
                Op::Append(k, v) => {
                    let k = key(k);
                    let got = db.append(&k, &v).unwrap();
                    let entry = m.live(&k).cloned();
                    let mut new = entry.clone().map(|e| e.0).unwrap_or_default();
                    new.extend_from_slice(&v);
                    prop_assert_eq!(got, new.len());
                    m.map.insert(k, (new, entry.map_or(0, |e| e.1)));
                }
                Op::Expire(k, t, c) => {
                    let k = key(k);
                    let cond = [ExpireCondition::Always, ExpireCondition::IfNone, ExpireCondition::IfSome, ExpireCondition::IfGreater, ExpireCondition::IfLess][usize::from(c)];
                    let at = m.now + t;
                    let got = db.expire_at(&k, at, cond);
                    let now = m.now;
                    let want = match m.live(&k) {
                        None => false,
                        Some(e) => {
                            let ok = match cond {
                                ExpireCondition::Always => true,
                                ExpireCondition::IfNone => e.1 == 0,
                                ExpireCondition::IfSome => e.1 != 0,
                                ExpireCondition::IfGreater => e.1 != 0 && at > e.1,
                                ExpireCondition::IfLess => e.1 == 0 || at < e.1,
                            };
                            if ok { e.1 = at; }
                            ok
                        }
                    };
                    if want && at <= now { m.map.remove(&k); }
                    prop_assert_eq!(got, want);
                }
                Op::Persist(k) => {
                    let k = key(k);
                    let want = match m.live(&k) { Some(e) if e.1 != 0 => { e.1 = 0; true } _ => false };
                    prop_assert_eq!(db.persist(&k), want);
                }
                Op::Ttl(k) => {
                    let k = key(k);
                    let want = match m.live(&k) { None => Ttl::Missing, Some(e) if e.1 == 0 => Ttl::Persistent, Some(e) => Ttl::ExpiresAt(e.1) };
                    prop_assert_eq!(db.ttl(&k), want);
                }
                Op::Rename(a, b) => {
                    let (a, b) = (key(a), key(b));
                    let got = db.rename(&a, &b, false);
                    match m.live(&a).cloned() {
                        None => prop_assert_eq!(got, Err(StoreError::NoSuchKey)),
                        Some(v) => { prop_assert_eq!(got, Ok(true)); m.map.remove(&a); m.map.insert(b, v); }
                    }
                }
                Op::Exists(k) => { let k = key(k); prop_assert_eq!(db.exists(&[&k]), usize::from(m.live(&k).is_some())); }
                Op::Advance(ms) => { clock.advance(ms); m.now += ms; }
                Op::Scan => {
                    let mut cursor = 0;
                    let mut seen = std::collections::BTreeSet::new();
                    loop {
                        let (next, keys) = db.scan(cursor, None, 3, None);
                        seen.extend(keys);
                        if next == 0 { break; }
                        cursor = next;
                    }
                    let now = m.now;
                    let want: std::collections::BTreeSet<Vec<u8>> = m.map.iter().filter(|(_, (_, at))| *at == 0 || *at > now).map(|(k, _)| k.clone()).collect();
                    prop_assert_eq!(seen, want);
                }
            }
        }
    }
}

#[test]
fn active_expire_removes_keys_nobody_reads() {
    let clock = Arc::new(ManualClock::new(5_000));
    let store = Store::builder().clock(clock.clone()).build();
    let db = store.db(0).unwrap();
    for i in 0..1000 {
        let ttl = if i % 2 == 0 {
            TtlUpdate::At(6_000)
        } else {
            TtlUpdate::Clear
        };
        db.set(
            format!("key:{i}").as_bytes(),
            b"v",
            SetOptions {
                ttl,
                ..Default::default()
            },
        )
        .unwrap();
    }
    assert_eq!(store.keyspace_info(), vec![(0, 1000, 500)]);
    clock.advance(2_000);
    let mut removed = 0;
    for _ in 0..10 {
        removed += store.active_expire_cycle(std::time::Duration::from_millis(100));
    }
    assert_eq!(removed, 500);
    assert_eq!(store.keyspace_info(), vec![(0, 500, 0)]);
    assert_eq!(
        store
            .stats()
            .expired_keys
            .load(std::sync::atomic::Ordering::Relaxed),
        500
    );
}

#[test]
fn threads_share_one_store() {
    let store = Arc::new(Store::new());
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                let db = store.db(0).unwrap();
                for i in 0..1000 {
                    db.incr_by(b"shared", 1).unwrap();
                    db.set(format!("t{t}:{i}").as_bytes(), b"x", SetOptions::default())
                        .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let db = store.db(0).unwrap();
    assert_eq!(db.get(b"shared").unwrap(), Some(b"4000".to_vec()));
    assert_eq!(db.len(), 4001);
}
