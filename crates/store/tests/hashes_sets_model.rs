//! Hashes and sets against simple models: random sequences of hash, set and
//! key operations must give the same answers as a `Vec` of pairs (hash
//! fields in insertion order) and a `BTreeSet`, and report the encodings
//! Redis 7.0 would (listpack/intset until a threshold, then hashtable).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::Ordering;

use ferrodis_store::{Store, StoreError};
use proptest::prelude::*;

/// Small thresholds so that conversions happen often.
const MAX_ENTRIES: usize = 4;
const MAX_VALUE: usize = 8;
const MAX_INTSET: usize = 5;

#[derive(Debug, Clone, Copy)]
enum SetOp {
    Inter,
    Union,
    Diff,
}

#[derive(Debug, Clone)]
enum Op {
    HSet(u8, Vec<(u8, Vec<u8>)>),
    HSetNx(u8, u8, Vec<u8>),
    HDel(u8, Vec<u8>),
    HIncrBy(u8, u8, i64),
    HIncrByFloat(u8, u8, i8),
    HGetAll(u8),
    HGet(u8, u8),
    HLen(u8),
    HStrlen(u8, u8),
    HExists(u8, u8),
    HRandField(u8, i64),
    HScan(u8),
    SAdd(u8, Vec<u8>),
    SRem(u8, Vec<u8>),
    SPop(u8, usize),
    SRandMember(u8, i64),
    SMove(u8, u8, u8),
    SMIsMember(u8, Vec<u8>),
    SCard(u8),
    SQuery(SetOp, Vec<u8>),
    SStore(SetOp, u8, Vec<u8>),
    SInterCard(Vec<u8>, usize),
    SScan(u8),
    SetString(u8),
    Del(u8),
}

fn key(k: u8) -> Vec<u8> {
    // Some keys share a slot through a hash tag, others do not.
    if k % 2 == 0 {
        format!("{{t}}k{k}").into_bytes()
    } else {
        format!("k{k}").into_bytes()
    }
}

fn field(f: u8) -> Vec<u8> {
    if f == 7 {
        b"a-field-longer-than-eight".to_vec()
    } else {
        format!("f{f}").into_bytes()
    }
}

const MEMBERS: &[&str] = &[
    "-2", "-1", "0", "1", "2", "3", "4", "5", "6", "a", "b", "007", "-0", "+1",
];

fn member(m: u8) -> Vec<u8> {
    MEMBERS[usize::from(m) % MEMBERS.len()].as_bytes().to_vec()
}

/// Canonical decimal text of an i64, checked independently of the store.
fn is_int(m: &[u8]) -> bool {
    std::str::from_utf8(m)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .is_some_and(|n| n.to_string().as_bytes() == m)
}

fn op() -> impl Strategy<Value = Op> {
    let k = 0u8..6;
    let f = 0u8..8;
    let m = 0u8..(MEMBERS.len() as u8);
    let value = prop_oneof![
        prop::collection::vec(b'a'..b'e', 0..12),
        (-20i64..20).prop_map(|n| n.to_string().into_bytes()),
    ];
    let keys = prop::collection::vec(k.clone(), 1..4);
    let set_op = prop_oneof![Just(SetOp::Inter), Just(SetOp::Union), Just(SetOp::Diff)];
    prop_oneof![
        (
            k.clone(),
            prop::collection::vec((f.clone(), value.clone()), 1..4)
        )
            .prop_map(|(k, p)| Op::HSet(k, p)),
        (k.clone(), f.clone(), value).prop_map(|(k, f, v)| Op::HSetNx(k, f, v)),
        (k.clone(), prop::collection::vec(f.clone(), 1..4)).prop_map(|(k, f)| Op::HDel(k, f)),
        (k.clone(), f.clone(), -50i64..50).prop_map(|(k, f, d)| Op::HIncrBy(k, f, d)),
        (k.clone(), f.clone(), any::<i8>()).prop_map(|(k, f, d)| Op::HIncrByFloat(k, f, d)),
        k.clone().prop_map(Op::HGetAll),
        (k.clone(), f.clone()).prop_map(|(k, f)| Op::HGet(k, f)),
        k.clone().prop_map(Op::HLen),
        (k.clone(), f.clone()).prop_map(|(k, f)| Op::HStrlen(k, f)),
        (k.clone(), f).prop_map(|(k, f)| Op::HExists(k, f)),
        (k.clone(), -8i64..8).prop_map(|(k, c)| Op::HRandField(k, c)),
        k.clone().prop_map(Op::HScan),
        (k.clone(), prop::collection::vec(m.clone(), 1..5)).prop_map(|(k, m)| Op::SAdd(k, m)),
        (k.clone(), prop::collection::vec(m.clone(), 1..4)).prop_map(|(k, m)| Op::SRem(k, m)),
        (k.clone(), 0usize..8).prop_map(|(k, c)| Op::SPop(k, c)),
        (k.clone(), -8i64..8).prop_map(|(k, c)| Op::SRandMember(k, c)),
        (k.clone(), k.clone(), m.clone()).prop_map(|(a, b, m)| Op::SMove(a, b, m)),
        (k.clone(), prop::collection::vec(m, 1..4)).prop_map(|(k, m)| Op::SMIsMember(k, m)),
        k.clone().prop_map(Op::SCard),
        (set_op.clone(), keys.clone()).prop_map(|(o, k)| Op::SQuery(o, k)),
        (set_op, k.clone(), keys.clone()).prop_map(|(o, d, k)| Op::SStore(o, d, k)),
        (keys, 0usize..4).prop_map(|(k, l)| Op::SInterCard(k, l)),
        k.clone().prop_map(Op::SScan),
        k.clone().prop_map(Op::SetString),
        k.prop_map(Op::Del),
    ]
}

#[derive(Debug, Clone)]
enum MVal {
    /// Pairs in insertion order, and whether it became a hash table.
    Hash(Vec<(Vec<u8>, Vec<u8>)>, bool),
    /// Members, and whether it is a hash table.
    Set(BTreeSet<Vec<u8>>, bool),
    Str,
}

/// The encoding a set built from scratch with `members` gets.
fn built_set(members: BTreeSet<Vec<u8>>) -> Option<MVal> {
    if members.is_empty() {
        return None;
    }
    let table = members.len() > MAX_INTSET || !members.iter().all(|m| is_int(m));
    Some(MVal::Set(members, table))
}

fn hash_set(pairs: &mut Vec<(Vec<u8>, Vec<u8>)>, table: &mut bool, f: &[u8], v: &[u8]) -> bool {
    if f.len() > MAX_VALUE || v.len() > MAX_VALUE {
        *table = true;
    }
    match pairs.iter_mut().find(|(pf, _)| pf == f) {
        Some(p) => {
            p.1 = v.to_vec();
            false
        }
        None => {
            pairs.push((f.to_vec(), v.to_vec()));
            if pairs.len() > MAX_ENTRIES {
                *table = true;
            }
            true
        }
    }
}

fn set_add(members: &mut BTreeSet<Vec<u8>>, table: &mut bool, m: &[u8]) -> bool {
    if !is_int(m) {
        *table = true;
    }
    let added = members.insert(m.to_vec());
    if added && members.len() > MAX_INTSET {
        *table = true;
    }
    added
}

type Model = HashMap<Vec<u8>, MVal>;

fn model_sets(m: &Model, keys: &[Vec<u8>]) -> Result<Vec<Option<BTreeSet<Vec<u8>>>>, StoreError> {
    keys.iter()
        .map(|k| match m.get(k) {
            None => Ok(None),
            Some(MVal::Set(s, _)) => Ok(Some(s.clone())),
            Some(_) => Err(StoreError::WrongType),
        })
        .collect()
}

fn model_op(op: SetOp, sets: &[Option<BTreeSet<Vec<u8>>>]) -> BTreeSet<Vec<u8>> {
    let get = |s: &Option<BTreeSet<Vec<u8>>>| s.clone().unwrap_or_default();
    let Some((first, rest)) = sets.split_first() else {
        return BTreeSet::new();
    };
    let mut acc = get(first);
    for s in rest {
        let s = get(s);
        acc = match op {
            SetOp::Inter => acc.intersection(&s).cloned().collect(),
            SetOp::Union => acc.union(&s).cloned().collect(),
            SetOp::Diff => acc.difference(&s).cloned().collect(),
        };
    }
    acc
}

fn sorted(v: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut v = v;
    v.sort();
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(384))]
    #[test]
    fn hashes_and_sets_match_model(ops in prop::collection::vec(op(), 1..100)) {
        let store = Store::new();
        let s = store.settings();
        s.hash_max_listpack_entries.store(MAX_ENTRIES, Ordering::Relaxed);
        s.hash_max_listpack_value.store(MAX_VALUE, Ordering::Relaxed);
        s.set_max_intset_entries.store(MAX_INTSET, Ordering::Relaxed);
        let db = store.db(0).unwrap();
        let mut m: Model = HashMap::new();
        for op in ops {
            match op {
                Op::HSet(k, pairs) => {
                    let k = key(k);
                    let pairs: Vec<(Vec<u8>, Vec<u8>)> = pairs.into_iter().map(|(f, v)| (field(f), v)).collect();
                    let refs: Vec<(&[u8], &[u8])> = pairs.iter().map(|(f, v)| (&f[..], &v[..])).collect();
                    let got = db.hset(&k, &refs);
                    match m.entry(k).or_insert(MVal::Hash(Vec::new(), false)) {
                        MVal::Hash(p, t) => {
                            let added = pairs.iter().filter(|(f, v)| hash_set(p, t, f, v)).count();
                            prop_assert_eq!(got, Ok(added));
                        }
                        _ => prop_assert_eq!(got, Err(StoreError::WrongType)),
                    }
                }
                Op::HSetNx(k, f, v) => {
                    let (k, f) = (key(k), field(f));
                    let got = db.hsetnx(&k, &f, &v);
                    match m.entry(k).or_insert(MVal::Hash(Vec::new(), false)) {
                        MVal::Hash(p, t) => {
                            let exists = p.iter().any(|(pf, _)| *pf == f);
                            if !exists { hash_set(p, t, &f, &v); }
                            prop_assert_eq!(got, Ok(!exists));
                        }
                        _ => prop_assert_eq!(got, Err(StoreError::WrongType)),
                    }
                }
                Op::HDel(k, fields) => {
                    let k = key(k);
                    let fields: Vec<Vec<u8>> = fields.into_iter().map(field).collect();
                    let refs: Vec<&[u8]> = fields.iter().map(Vec::as_slice).collect();
                    let got = db.hdel(&k, &refs);
                    match m.get_mut(&k) {
                        None => prop_assert_eq!(got, Ok(0)),
                        Some(MVal::Hash(p, _)) => {
                            let before = p.len();
                            p.retain(|(f, _)| !fields.contains(f));
                            prop_assert_eq!(got, Ok(before - p.len()));
                            if p.is_empty() { m.remove(&k); }
                        }
                        Some(_) => prop_assert_eq!(got, Err(StoreError::WrongType)),
                    }
                }
                Op::HIncrBy(k, f, d) => {
                    let (k, f) = (key(k), field(f));
                    let got = db.hincrby(&k, &f, d);
                    match m.entry(k.clone()).or_insert(MVal::Hash(Vec::new(), false)) {
                        MVal::Hash(p, t) => {
                            let cur = p.iter().find(|(pf, _)| *pf == f).map(|(_, v)| v.clone());
                            let cur = match cur {
                                None => Some(0),
                                Some(v) => if is_int(&v) { std::str::from_utf8(&v).ok().and_then(|s| s.parse::<i64>().ok()) } else { None },
                            };
                            match cur {
                                Some(n) => {
                                    prop_assert_eq!(got, Ok(n + d));
                                    hash_set(p, t, &f, (n + d).to_string().as_bytes());
                                }
                                None => prop_assert_eq!(got, Err(StoreError::HashValueNotInteger)),
                            }
                            if p.is_empty() { m.remove(&k); }
                        }
                        _ => prop_assert_eq!(got, Err(StoreError::WrongType)),
                    }
                }
                Op::HIncrByFloat(k, f, d) => {
                    let (k, f) = (key(k), field(f));
                    let delta = f64::from(d) / 4.0;
                    let got = db.hincrbyfloat(&k, &f, delta);
                    match m.entry(k.clone()).or_insert(MVal::Hash(Vec::new(), false)) {
                        MVal::Hash(p, t) => {
                            let cur = p.iter().find(|(pf, _)| *pf == f).map(|(_, v)| v.clone());
                            let cur = match cur {
                                None => Some(0.0),
                                Some(v) => std::str::from_utf8(&v).ok().and_then(|s| s.parse::<f64>().ok()),
                            };
                            match cur {
                                Some(x) => {
                                    let text = got.clone().map_err(|e| TestCaseError::fail(e.to_string()))?;
                                    let parsed: f64 = std::str::from_utf8(&text).unwrap().parse().unwrap();
                                    prop_assert_eq!(parsed, x + delta);
                                    hash_set(p, t, &f, &text);
                                }
                                None => prop_assert_eq!(got, Err(StoreError::HashValueNotFloat)),
                            }
                            if p.is_empty() { m.remove(&k); }
                        }
                        _ => prop_assert_eq!(got, Err(StoreError::WrongType)),
                    }
                }
                Op::HGetAll(k) => {
                    let k = key(k);
                    let got = db.hgetall(&k);
                    match m.get(&k) {
                        None => prop_assert_eq!(got, Ok(Vec::new())),
                        Some(MVal::Hash(p, table)) => {
                            let got = got.unwrap();
                            if *table {
                                let a: BTreeMap<_, _> = got.into_iter().collect();
                                let b: BTreeMap<_, _> = p.iter().cloned().collect();
                                prop_assert_eq!(a, b);
                            } else {
                                // A listpack keeps insertion order.
                                prop_assert_eq!(&got, p);
                            }
                            let keys = db.hkeys(&k).unwrap();
                            let vals = db.hvals(&k).unwrap();
                            prop_assert_eq!(sorted(keys), sorted(p.iter().map(|x| x.0.clone()).collect()));
                            prop_assert_eq!(sorted(vals), sorted(p.iter().map(|x| x.1.clone()).collect()));
                        }
                        Some(_) => prop_assert_eq!(got, Err(StoreError::WrongType)),
                    }
                }
                Op::HGet(k, f) | Op::HStrlen(k, f) | Op::HExists(k, f) => {
                    let (k, f) = (key(k), field(f));
                    match m.get(&k) {
                        Some(MVal::Hash(p, _)) => {
                            let want = p.iter().find(|(pf, _)| *pf == f).map(|(_, v)| v.clone());
                            prop_assert_eq!(db.hget(&k, &f), Ok(want.clone()));
                            prop_assert_eq!(db.hmget(&k, &[&f, b"nope"]), Ok(vec![want.clone(), None]));
                            prop_assert_eq!(db.hstrlen(&k, &f), Ok(want.as_ref().map_or(0, Vec::len)));
                            prop_assert_eq!(db.hexists(&k, &f), Ok(want.is_some()));
                        }
                        None => {
                            prop_assert_eq!(db.hget(&k, &f), Ok(None));
                            prop_assert_eq!(db.hmget(&k, &[&f]), Ok(vec![None]));
                            prop_assert_eq!(db.hstrlen(&k, &f), Ok(0));
                            prop_assert_eq!(db.hexists(&k, &f), Ok(false));
                        }
                        Some(_) => {
                            prop_assert_eq!(db.hget(&k, &f), Err(StoreError::WrongType));
                            prop_assert_eq!(db.hmget(&k, &[&f]), Err(StoreError::WrongType));
                        }
                    }
                }
                Op::HLen(k) => {
                    let k = key(k);
                    let want = match m.get(&k) {
                        None => Ok(0),
                        Some(MVal::Hash(p, _)) => Ok(p.len()),
                        Some(_) => Err(StoreError::WrongType),
                    };
                    prop_assert_eq!(db.hlen(&k), want);
                }
                Op::HRandField(k, c) => {
                    let k = key(k);
                    let got = db.hrandfield_count(&k, c);
                    let one = db.hrandfield(&k);
                    match m.get(&k) {
                        None => {
                            prop_assert_eq!(got, Ok(Vec::new()));
                            prop_assert_eq!(one, Ok(None));
                        }
                        Some(MVal::Hash(p, _)) => {
                            let got = got.unwrap();
                            for pair in &got {
                                prop_assert!(p.contains(pair));
                            }
                            if c < 0 {
                                prop_assert_eq!(got.len() as i64, -c);
                            } else {
                                prop_assert_eq!(got.len(), (c as usize).min(p.len()));
                                let distinct: BTreeSet<_> = got.iter().collect();
                                prop_assert_eq!(distinct.len(), got.len());
                            }
                            let one = one.unwrap().unwrap();
                            prop_assert!(p.iter().any(|(f, _)| *f == one));
                        }
                        Some(_) => prop_assert_eq!(got, Err(StoreError::WrongType)),
                    }
                }
                Op::HScan(k) => {
                    let k = key(k);
                    let mut cursor = 0;
                    let mut seen = BTreeMap::new();
                    let mut rounds = 0;
                    loop {
                        match db.hscan(&k, cursor, None, 2) {
                            Ok((next, pairs)) => {
                                seen.extend(pairs);
                                cursor = next;
                            }
                            Err(e) => {
                                prop_assert!(!matches!(m.get(&k), None | Some(MVal::Hash(..))));
                                prop_assert_eq!(e, StoreError::WrongType);
                                break;
                            }
                        }
                        rounds += 1;
                        prop_assert!(rounds < 100);
                        if cursor == 0 { break; }
                    }
                    if let Some(MVal::Hash(p, table)) = m.get(&k) {
                        let want: BTreeMap<_, _> = p.iter().cloned().collect();
                        prop_assert_eq!(seen, want);
                        if !*table { prop_assert_eq!(rounds, 1); }
                    }
                }
                Op::SAdd(k, members) => {
                    let k = key(k);
                    let members: Vec<Vec<u8>> = members.into_iter().map(member).collect();
                    let refs: Vec<&[u8]> = members.iter().map(Vec::as_slice).collect();
                    let got = db.sadd(&k, &refs);
                    match m.entry(k).or_insert(MVal::Set(BTreeSet::new(), false)) {
                        MVal::Set(s, t) => {
                            let added = members.iter().filter(|x| set_add(s, t, x)).count();
                            prop_assert_eq!(got, Ok(added));
                        }
                        _ => prop_assert_eq!(got, Err(StoreError::WrongType)),
                    }
                }
                Op::SRem(k, members) => {
                    let k = key(k);
                    let members: Vec<Vec<u8>> = members.into_iter().map(member).collect();
                    let refs: Vec<&[u8]> = members.iter().map(Vec::as_slice).collect();
                    let got = db.srem(&k, &refs);
                    match m.get_mut(&k) {
                        None => prop_assert_eq!(got, Ok(0)),
                        Some(MVal::Set(s, _)) => {
                            let removed = members.iter().filter(|x| s.remove(*x)).count();
                            prop_assert_eq!(got, Ok(removed));
                            if s.is_empty() { m.remove(&k); }
                        }
                        Some(_) => prop_assert_eq!(got, Err(StoreError::WrongType)),
                    }
                }
                Op::SPop(k, c) => {
                    let k = key(k);
                    let got = if c == 7 { db.spop(&k).map(|o| o.into_iter().collect()) } else { db.spop_count(&k, c) };
                    let c = if c == 7 { 1 } else { c };
                    match m.get_mut(&k) {
                        None => prop_assert_eq!(got, Ok(Vec::new())),
                        Some(MVal::Set(s, t)) => {
                            let got = got.unwrap();
                            prop_assert_eq!(got.len(), c.min(s.len()));
                            let size = s.len();
                            for x in &got {
                                prop_assert!(s.remove(x), "popped {:?} not in set", x);
                            }
                            let remaining = s.len();
                            if s.is_empty() {
                                m.remove(&k);
                            } else if c > 0 && c < size && remaining * 5 <= c && c != 1 {
                                // Rebuilt from the members that stay.
                                *t = remaining > MAX_INTSET || !s.iter().all(|x| is_int(x));
                            }
                        }
                        Some(_) => prop_assert_eq!(got, Err(StoreError::WrongType)),
                    }
                }
                Op::SRandMember(k, c) => {
                    let k = key(k);
                    let got = db.srandmember_count(&k, c);
                    let one = db.srandmember(&k);
                    match m.get(&k) {
                        None => {
                            prop_assert_eq!(got, Ok(Vec::new()));
                            prop_assert_eq!(one, Ok(None));
                        }
                        Some(MVal::Set(s, _)) => {
                            let got = got.unwrap();
                            prop_assert!(got.iter().all(|x| s.contains(x)));
                            if c < 0 {
                                prop_assert_eq!(got.len() as i64, -c);
                            } else {
                                prop_assert_eq!(got.len(), (c as usize).min(s.len()));
                                let distinct: BTreeSet<_> = got.iter().collect();
                                prop_assert_eq!(distinct.len(), got.len());
                            }
                            prop_assert!(s.contains(&one.unwrap().unwrap()));
                        }
                        Some(_) => prop_assert_eq!(got, Err(StoreError::WrongType)),
                    }
                }
                Op::SMove(a, b, x) => {
                    let (a, b, x) = (key(a), key(b), member(x));
                    let got = db.smove(&a, &b, &x);
                    let want = match (m.get(&a), m.get(&b)) {
                        (None, _) => Ok(false),
                        (Some(MVal::Set(..)), None | Some(MVal::Set(..))) => {
                            let MVal::Set(sa, _) = m.get(&a).unwrap() else { unreachable!() };
                            let present = sa.contains(&x);
                            if present && a != b {
                                if let Some(MVal::Set(sa, _)) = m.get_mut(&a) {
                                    sa.remove(&x);
                                    if sa.is_empty() { m.remove(&a); }
                                }
                                match m.entry(b.clone()).or_insert(MVal::Set(BTreeSet::new(), false)) {
                                    MVal::Set(sb, t) => { set_add(sb, t, &x); }
                                    _ => unreachable!(),
                                }
                            }
                            Ok(present)
                        }
                        _ => Err(StoreError::WrongType),
                    };
                    prop_assert_eq!(got, want);
                }
                Op::SMIsMember(k, members) => {
                    let k = key(k);
                    let members: Vec<Vec<u8>> = members.into_iter().map(member).collect();
                    let refs: Vec<&[u8]> = members.iter().map(Vec::as_slice).collect();
                    let want = match m.get(&k) {
                        None => Ok(vec![false; members.len()]),
                        Some(MVal::Set(s, _)) => Ok(members.iter().map(|x| s.contains(x)).collect()),
                        Some(_) => Err(StoreError::WrongType),
                    };
                    prop_assert_eq!(db.smismember(&k, &refs), want.clone());
                    prop_assert_eq!(db.sismember(&k, &members[0]), want.map(|v| v[0]));
                }
                Op::SCard(k) => {
                    let k = key(k);
                    let want = match m.get(&k) {
                        None => Ok(0),
                        Some(MVal::Set(s, _)) => Ok(s.len()),
                        Some(_) => Err(StoreError::WrongType),
                    };
                    prop_assert_eq!(db.scard(&k), want);
                    let members = db.smembers(&k).map(sorted);
                    let want = match m.get(&k) {
                        None => Ok(Vec::new()),
                        Some(MVal::Set(s, _)) => Ok(s.iter().cloned().collect()),
                        Some(_) => Err(StoreError::WrongType),
                    };
                    prop_assert_eq!(members, want);
                }
                Op::SQuery(o, keys) => {
                    let keys: Vec<Vec<u8>> = keys.into_iter().map(key).collect();
                    let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
                    let got = match o {
                        SetOp::Inter => db.sinter(&refs),
                        SetOp::Union => db.sunion(&refs),
                        SetOp::Diff => db.sdiff(&refs),
                    };
                    let want = model_sets(&m, &keys).map(|sets| model_op(o, &sets).into_iter().collect());
                    prop_assert_eq!(got.map(sorted), want);
                }
                Op::SInterCard(keys, limit) => {
                    let keys: Vec<Vec<u8>> = keys.into_iter().map(key).collect();
                    let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
                    let want = model_sets(&m, &keys).map(|sets| {
                        let n = model_op(SetOp::Inter, &sets).len();
                        if limit == 0 { n } else { n.min(limit) }
                    });
                    prop_assert_eq!(db.sintercard(&refs, limit), want);
                }
                Op::SStore(o, dst, keys) => {
                    let dst = key(dst);
                    let keys: Vec<Vec<u8>> = keys.into_iter().map(key).collect();
                    let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
                    let got = match o {
                        SetOp::Inter => db.sinterstore(&dst, &refs),
                        SetOp::Union => db.sunionstore(&dst, &refs),
                        SetOp::Diff => db.sdiffstore(&dst, &refs),
                    };
                    match model_sets(&m, &keys) {
                        Err(e) => prop_assert_eq!(got, Err(e)),
                        Ok(sets) => {
                            let result = model_op(o, &sets);
                            prop_assert_eq!(got, Ok(result.len()));
                            match built_set(result) {
                                Some(v) => { m.insert(dst, v); }
                                None => { m.remove(&dst); }
                            }
                        }
                    }
                }
                Op::SScan(k) => {
                    let k = key(k);
                    let mut cursor = 0;
                    let mut seen = BTreeSet::new();
                    let mut rounds = 0;
                    loop {
                        match db.sscan(&k, cursor, None, 2) {
                            Ok((next, members)) => {
                                seen.extend(members);
                                cursor = next;
                            }
                            Err(e) => {
                                prop_assert_eq!(e, StoreError::WrongType);
                                break;
                            }
                        }
                        rounds += 1;
                        prop_assert!(rounds < 100);
                        if cursor == 0 { break; }
                    }
                    if let Some(MVal::Set(s, table)) = m.get(&k) {
                        prop_assert_eq!(&seen, s);
                        if !*table { prop_assert_eq!(rounds, 1); }
                    }
                }
                Op::SetString(k) => {
                    let k = key(k);
                    db.set(&k, b"x", Default::default()).unwrap();
                    m.insert(k, MVal::Str);
                }
                Op::Del(k) => {
                    let k = key(k);
                    let had = m.remove(&k).is_some();
                    prop_assert_eq!(db.del(&[&k]), usize::from(had));
                }
            }
            // Every key: same existence, type and encoding as the model.
            for i in 0..6 {
                let k = key(i);
                let enc = db.object(&k).map(|o| o.encoding);
                let want = match m.get(&k) {
                    None => None,
                    Some(MVal::Hash(_, t)) => Some(if *t { "hashtable" } else { "listpack" }),
                    Some(MVal::Set(_, t)) => Some(if *t { "hashtable" } else { "intset" }),
                    Some(MVal::Str) => Some("embstr"),
                };
                prop_assert_eq!(enc, want, "encoding of {:?}", String::from_utf8_lossy(&k));
            }
        }
    }
}

#[test]
fn default_thresholds_are_redis_defaults() {
    let store = Store::new();
    let db = store.db(0).unwrap();
    let s = store.settings();
    assert_eq!(s.hash_max_listpack_entries.load(Ordering::Relaxed), 128);
    assert_eq!(s.hash_max_listpack_value.load(Ordering::Relaxed), 64);
    assert_eq!(s.set_max_intset_entries.load(Ordering::Relaxed), 512);
    for i in 0..128 {
        db.hset(b"h", &[(i.to_string().as_bytes(), b"v")]).unwrap();
        db.sadd(b"s", &[i.to_string().as_bytes()]).unwrap();
    }
    assert_eq!(db.object(b"h").unwrap().encoding, "listpack");
    db.hset(b"h", &[(b"128", b"v")]).unwrap();
    assert_eq!(db.object(b"h").unwrap().encoding, "hashtable");
    for i in 128..512 {
        db.sadd(b"s", &[i.to_string().as_bytes()]).unwrap();
    }
    assert_eq!(db.object(b"s").unwrap().encoding, "intset");
    db.sadd(b"s", &[b"512"]).unwrap();
    assert_eq!(db.object(b"s").unwrap().encoding, "hashtable");
    db.hset(b"h2", &[(b"f", &[b'v'; 64][..])]).unwrap();
    assert_eq!(db.object(b"h2").unwrap().encoding, "listpack");
    db.hset(b"h2", &[(b"f", &[b'v'; 65][..])]).unwrap();
    assert_eq!(db.object(b"h2").unwrap().encoding, "hashtable");
}

#[test]
fn big_hash_and_set_scans_visit_everything() {
    let store = Store::new();
    let db = store.db(0).unwrap();
    for i in 0..1000 {
        let f = format!("field:{i}");
        db.hset(b"h", &[(f.as_bytes(), f.as_bytes())]).unwrap();
        db.sadd(b"s", &[f.as_bytes()]).unwrap();
    }
    let mut cursor = 0;
    let mut fields = BTreeSet::new();
    loop {
        let (next, pairs) = db.hscan(b"h", cursor, Some(b"field:1*"), 10).unwrap();
        fields.extend(pairs.into_iter().map(|(f, _)| f));
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(fields.len(), 111);
    let mut cursor = 0;
    let mut members = BTreeSet::new();
    loop {
        let (next, m) = db.sscan(b"s", cursor, None, 50).unwrap();
        members.extend(m);
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(members.len(), 1000);
    // Random picks stay inside the set and are distinct for a positive count.
    let picks = db.srandmember_count(b"s", 300).unwrap();
    assert_eq!(picks.iter().collect::<BTreeSet<_>>().len(), 300);
    let popped = db.spop_count(b"s", 990).unwrap();
    assert_eq!(popped.len(), 990);
    assert_eq!(db.scard(b"s").unwrap(), 10);
    let fields = db.hrandfield_count(b"h", 700).unwrap();
    assert_eq!(fields.iter().collect::<BTreeSet<_>>().len(), 700);
}
