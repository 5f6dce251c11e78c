//! Sorted sets against a simple model: random sequences of Z* operations
//! must give the same answers as a sorted `Vec` per key, with small listpack
//! limits so that sets change encoding along the way, and the encoding
//! must be the one Redis 7.0 would pick.

use std::collections::BTreeMap;

use ferrodis_store::{
    Aggregate, LexBound, ScoreBound, Store, StoreError, ZAddCondition, ZAddOptions, ZRangeBy,
    ZRangeSpec, ZSetOp,
};
use proptest::prelude::*;

/// Scored members, as the model keeps them.
type Items = Vec<(f64, Vec<u8>)>;

const MAX_ENTRIES: usize = 5;
const MAX_VALUE: usize = 3;

/// A sorted set as a `Vec` sorted by `(score, member)`, plus the encoding
/// Redis would use.
#[derive(Debug, Clone, Default)]
struct ModelSet {
    items: Vec<(f64, Vec<u8>)>,
    skiplist: bool,
}

impl ModelSet {
    fn sort(&mut self) {
        self.items.sort_by(|a, b| {
            a.0.partial_cmp(&b.0)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| a.1.cmp(&b.1))
        });
    }

    fn pos(&self, m: &[u8]) -> Option<usize> {
        self.items.iter().position(|(_, x)| x == m)
    }

    fn score(&self, m: &[u8]) -> Option<f64> {
        self.pos(m).map(|i| self.items[i].0)
    }

    fn stored(items: Vec<(f64, Vec<u8>)>) -> ModelSet {
        let skiplist = items.len() > MAX_ENTRIES || items.iter().any(|(_, m)| m.len() > MAX_VALUE);
        let mut s = ModelSet { items, skiplist };
        s.sort();
        s
    }
}

#[derive(Debug, Default)]
struct Model {
    keys: BTreeMap<Vec<u8>, ModelSet>,
}

#[derive(Debug, Clone)]
enum Range {
    Rank(i64, i64),
    Score(ScoreBound, ScoreBound),
    Lex(LexBound, LexBound),
}

#[derive(Debug, Clone)]
enum Op {
    Add {
        key: u8,
        pairs: Vec<(f64, Vec<u8>)>,
        cond: u8,
        gtlt: u8,
        incr: bool,
    },
    Rem(u8, Vec<Vec<u8>>),
    Range {
        key: u8,
        range: Range,
        rev: bool,
        limit: Option<(i64, i64)>,
    },
    RemRange(u8, Range),
    Count(u8, ScoreBound, ScoreBound),
    LexCount(u8, LexBound, LexBound),
    Rank(u8, Vec<u8>, bool),
    Pop(u8, bool, usize),
    MPop(Vec<u8>, bool, usize),
    Combine {
        op: u8,
        keys: Vec<u8>,
        weights: Option<Vec<f64>>,
        agg: u8,
        dst: Option<u8>,
    },
    InterCard(Vec<u8>, usize),
    RangeStore(u8, u8, Range, bool),
    Scan(u8, usize),
    RandMember(u8, i64),
    SetString(u8),
}

fn key(k: u8) -> Vec<u8> {
    if k % 2 == 0 {
        format!("{{z}}k{k}").into_bytes()
    } else {
        format!("k{k}").into_bytes()
    }
}

fn score() -> impl Strategy<Value = f64> {
    prop_oneof![
        (-3i32..4).prop_map(f64::from),
        Just(1.5),
        Just(-0.0),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
    ]
}

fn member() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::sample::select(vec!["a", "b", "c", "d", "e", "f", "g", "h"])
            .prop_map(|s| s.as_bytes().to_vec()),
        1 => "[a-h]{4,6}".prop_map(String::into_bytes),
    ]
}

fn score_bound() -> impl Strategy<Value = ScoreBound> {
    (score(), any::<bool>()).prop_map(|(value, exclusive)| ScoreBound { value, exclusive })
}

fn lex_bound() -> impl Strategy<Value = LexBound> {
    prop_oneof![
        1 => Just(LexBound::NegInf),
        1 => Just(LexBound::PosInf),
        3 => member().prop_map(LexBound::Inclusive),
        3 => member().prop_map(LexBound::Exclusive),
    ]
}

fn range() -> impl Strategy<Value = Range> {
    prop_oneof![
        (-7i64..7, -7i64..7).prop_map(|(a, b)| Range::Rank(a, b)),
        (score_bound(), score_bound()).prop_map(|(a, b)| Range::Score(a, b)),
        (lex_bound(), lex_bound()).prop_map(|(a, b)| Range::Lex(a, b)),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let k = 0u8..5;
    let keys = prop::collection::vec(0u8..5, 1..4);
    prop_oneof![
        8 => (
            k.clone(),
            prop::collection::vec((score(), member()), 1..5),
            0u8..3,
            0u8..3,
            any::<bool>()
        )
            .prop_map(|(key, mut pairs, cond, gtlt, incr)| {
                if incr {
                    pairs.truncate(1);
                }
                Op::Add { key, pairs, cond, gtlt, incr }
            }),
        2 => (k.clone(), prop::collection::vec(member(), 1..4)).prop_map(|(k, m)| Op::Rem(k, m)),
        4 => (
            k.clone(),
            range(),
            any::<bool>(),
            prop::option::of((-2i64..4, -2i64..4))
        )
            .prop_map(|(key, range, rev, limit)| Op::Range { key, range, rev, limit }),
        2 => (k.clone(), range()).prop_map(|(k, r)| Op::RemRange(k, r)),
        1 => (k.clone(), score_bound(), score_bound()).prop_map(|(k, a, b)| Op::Count(k, a, b)),
        1 => (k.clone(), lex_bound(), lex_bound()).prop_map(|(k, a, b)| Op::LexCount(k, a, b)),
        1 => (k.clone(), member(), any::<bool>()).prop_map(|(k, m, r)| Op::Rank(k, m, r)),
        2 => (k.clone(), any::<bool>(), 0usize..4).prop_map(|(k, m, c)| Op::Pop(k, m, c)),
        1 => (keys.clone(), any::<bool>(), 1usize..4).prop_map(|(k, m, c)| Op::MPop(k, m, c)),
        3 => (
            0u8..3,
            keys.clone(),
            any::<bool>(),
            prop::collection::vec(prop_oneof![(-2i32..3).prop_map(f64::from), Just(f64::INFINITY)], 4),
            0u8..3,
            prop::option::of(k.clone())
        )
            .prop_map(|(op, keys, use_w, w, agg, dst)| {
                let weights = use_w.then(|| w[..keys.len()].to_vec());
                Op::Combine { op, keys, weights, agg, dst }
            }),
        1 => (keys, 0usize..3).prop_map(|(k, l)| Op::InterCard(k, l)),
        1 => (k.clone(), k.clone(), range(), any::<bool>())
            .prop_map(|(d, s, r, rev)| Op::RangeStore(d, s, r, rev)),
        1 => (k.clone(), 1usize..4).prop_map(|(k, c)| Op::Scan(k, c)),
        1 => (k.clone(), -6i64..6).prop_map(|(k, c)| Op::RandMember(k, c)),
        1 => k.prop_map(Op::SetString),
    ]
}

fn by(r: &Range) -> ZRangeBy {
    match r {
        Range::Rank(a, b) => ZRangeBy::Rank(*a, *b),
        Range::Score(a, b) => ZRangeBy::Score(*a, *b),
        Range::Lex(a, b) => ZRangeBy::Lex(a.clone(), b.clone()),
    }
}

fn gte_min(s: f64, b: ScoreBound) -> bool {
    if b.exclusive {
        s > b.value
    } else {
        s >= b.value
    }
}

fn lte_max(s: f64, b: ScoreBound) -> bool {
    if b.exclusive {
        s < b.value
    } else {
        s <= b.value
    }
}

fn lex_gte(m: &[u8], b: &LexBound) -> bool {
    match b {
        LexBound::NegInf => true,
        LexBound::PosInf => false,
        LexBound::Inclusive(v) => m >= v.as_slice(),
        LexBound::Exclusive(v) => m > v.as_slice(),
    }
}

fn lex_lte(m: &[u8], b: &LexBound) -> bool {
    match b {
        LexBound::NegInf => false,
        LexBound::PosInf => true,
        LexBound::Inclusive(v) => m <= v.as_slice(),
        LexBound::Exclusive(v) => m < v.as_slice(),
    }
}

/// Whether lex ranges are meaningful on this set (all scores equal).
fn lex_ok(s: &ModelSet) -> bool {
    s.items.windows(2).all(|w| w[0].0 == w[1].0)
}

/// The ascending indices a range selects, then the window, in the order
/// asked for.
fn model_range(
    s: &ModelSet,
    r: &Range,
    rev: bool,
    limit: Option<(i64, i64)>,
) -> Vec<(f64, Vec<u8>)> {
    let n = s.items.len() as i64;
    let mut idx: Vec<usize> = match r {
        Range::Rank(a, b) => {
            let (mut a, mut b) = (*a, *b);
            if a < 0 {
                a += n;
            }
            if b < 0 {
                b += n;
            }
            a = a.max(0);
            if a > b || a >= n {
                return Vec::new();
            }
            b = b.min(n - 1);
            let asc: Vec<usize> = (a as usize..=b as usize).collect();
            let out: Vec<usize> = if rev {
                asc.iter().map(|i| (n as usize) - 1 - i).collect()
            } else {
                asc
            };
            return out.into_iter().map(|i| s.items[i].clone()).collect();
        }
        Range::Score(a, b) => (0..s.items.len())
            .filter(|&i| gte_min(s.items[i].0, *a) && lte_max(s.items[i].0, *b))
            .collect(),
        Range::Lex(a, b) => (0..s.items.len())
            .filter(|&i| lex_gte(&s.items[i].1, a) && lex_lte(&s.items[i].1, b))
            .collect(),
    };
    if rev {
        idx.reverse();
    }
    let (offset, count) = limit.unwrap_or((0, -1));
    if offset < 0 {
        return Vec::new();
    }
    idx.into_iter()
        .skip(offset as usize)
        .take(if count < 0 {
            usize::MAX
        } else {
            count as usize
        })
        .map(|i| s.items[i].clone())
        .collect()
}

fn agg_of(a: u8) -> Aggregate {
    match a {
        0 => Aggregate::Sum,
        1 => Aggregate::Min,
        _ => Aggregate::Max,
    }
}

fn aggregate(t: &mut f64, v: f64, a: Aggregate) {
    match a {
        Aggregate::Sum => {
            *t += v;
            if t.is_nan() {
                *t = 0.0;
            }
        }
        Aggregate::Min => {
            if v < *t {
                *t = v
            }
        }
        Aggregate::Max => {
            if v > *t {
                *t = v
            }
        }
    }
}

impl Model {
    /// `Err(())` for a key of another type.
    fn get(&self, k: &[u8], strings: &BTreeMap<Vec<u8>, ()>) -> Result<Option<&ModelSet>, ()> {
        if strings.contains_key(k) {
            return Err(());
        }
        Ok(self.keys.get(k))
    }

    fn set_op(
        &self,
        op: ZSetOp,
        keys: &[Vec<u8>],
        weights: Option<&[f64]>,
        agg: Aggregate,
    ) -> Vec<(f64, Vec<u8>)> {
        let mut srcs: Vec<(Items, f64)> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let items = self
                    .keys
                    .get(k)
                    .map(|s| s.items.clone())
                    .unwrap_or_default();
                (items, weights.map_or(1.0, |w| w[i]))
            })
            .collect();
        if op != ZSetOp::Diff {
            srcs.sort_by_key(|s| s.0.len());
        }
        let mut out: Vec<(f64, Vec<u8>)> = Vec::new();
        match op {
            ZSetOp::Union => {
                for (items, w) in &srcs {
                    for (s, m) in items {
                        let mut v = w * s;
                        if v.is_nan() {
                            v = 0.0;
                        }
                        match out.iter_mut().find(|(_, x)| x == m) {
                            Some((t, _)) => aggregate(t, v, agg),
                            None => out.push((v, m.clone())),
                        }
                    }
                }
            }
            ZSetOp::Inter => {
                let (first, w0) = &srcs[0];
                'outer: for (s, m) in first {
                    let mut t = w0 * s;
                    if t.is_nan() {
                        t = 0.0;
                    }
                    for (items, w) in &srcs[1..] {
                        match items.iter().find(|(_, x)| x == m) {
                            Some((v, _)) => aggregate(&mut t, v * w, agg),
                            None => continue 'outer,
                        }
                    }
                    out.push((t, m.clone()));
                }
            }
            ZSetOp::Diff => {
                for (s, m) in &srcs[0].0 {
                    if !srcs[1..]
                        .iter()
                        .any(|(items, _)| items.iter().any(|(_, x)| x == m))
                    {
                        out.push((*s, m.clone()));
                    }
                }
            }
        }
        let mut set = ModelSet {
            items: out,
            skiplist: false,
        };
        set.sort();
        set.items
    }
}

fn same(a: &[(Vec<u8>, f64)], b: &[(f64, Vec<u8>)]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|((m, s), (t, n))| m == n && s == t)
}

fn run(ops: Vec<Op>) {
    let store = Store::new();
    store
        .settings()
        .zset_max_listpack_entries
        .store(MAX_ENTRIES, std::sync::atomic::Ordering::Relaxed);
    store
        .settings()
        .zset_max_listpack_value
        .store(MAX_VALUE, std::sync::atomic::Ordering::Relaxed);
    let db = store.db(0).unwrap();
    let mut model = Model::default();
    let mut strings: BTreeMap<Vec<u8>, ()> = BTreeMap::new();
    for op in ops {
        match op {
            Op::Add {
                key: k,
                pairs,
                cond,
                gtlt,
                incr,
            } => {
                let k = key(k);
                let condition = match cond {
                    0 => ZAddCondition::Always,
                    1 => ZAddCondition::IfMissing,
                    _ => ZAddCondition::IfExists,
                };
                // NX excludes GT/LT, as the command refuses.
                let gtlt = if condition == ZAddCondition::IfMissing {
                    0
                } else {
                    gtlt
                };
                let opts = ZAddOptions {
                    condition,
                    gt: gtlt == 1,
                    lt: gtlt == 2,
                    incr,
                };
                let refs: Vec<(f64, &[u8])> =
                    pairs.iter().map(|(s, m)| (*s, m.as_slice())).collect();
                let got = db.zadd(&k, &refs, opts);
                if strings.contains_key(&k) {
                    assert_eq!(got, Err(StoreError::WrongType));
                    continue;
                }
                let exists = model.keys.contains_key(&k);
                if !exists && condition == ZAddCondition::IfExists {
                    let out = got.unwrap();
                    assert_eq!((out.added, out.updated, out.score), (0, 0, None));
                    continue;
                }
                let set = model.keys.entry(k.clone()).or_insert_with(|| ModelSet {
                    items: Vec::new(),
                    skiplist: pairs[0].1.len() > MAX_VALUE,
                });
                let (mut added, mut updated, mut last) = (0, 0, None);
                let mut nan = false;
                for (s, m) in &pairs {
                    match set.score(m) {
                        Some(cur) => {
                            if condition == ZAddCondition::IfMissing {
                                last = None;
                                continue;
                            }
                            let new = if incr { cur + s } else { *s };
                            if new.is_nan() {
                                nan = true;
                                break;
                            }
                            if (opts.lt && new >= cur) || (opts.gt && new <= cur) {
                                last = None;
                                continue;
                            }
                            last = Some(new);
                            if new != cur {
                                updated += 1;
                                let i = set.pos(m).unwrap();
                                set.items[i].0 = new;
                                set.sort();
                            }
                        }
                        None => {
                            if condition == ZAddCondition::IfExists {
                                last = None;
                                continue;
                            }
                            if !set.skiplist
                                && (set.items.len() + 1 > MAX_ENTRIES || m.len() > MAX_VALUE)
                            {
                                set.skiplist = true;
                            }
                            added += 1;
                            last = Some(*s);
                            set.items.push((*s, m.clone()));
                            set.sort();
                        }
                    }
                }
                if set.items.is_empty() {
                    model.keys.remove(&k);
                }
                if nan {
                    assert_eq!(got, Err(StoreError::ScoreNotANumber));
                } else {
                    let out = got.unwrap();
                    assert_eq!((out.added, out.updated, out.score), (added, updated, last));
                }
            }
            Op::Rem(k, members) => {
                let k = key(k);
                let refs: Vec<&[u8]> = members.iter().map(Vec::as_slice).collect();
                let got = db.zrem(&k, &refs);
                match model.get(&k, &strings) {
                    Err(()) => assert_eq!(got, Err(StoreError::WrongType)),
                    Ok(None) => assert_eq!(got, Ok(0)),
                    Ok(Some(_)) => {
                        let set = model.keys.get_mut(&k).unwrap();
                        let mut n = 0;
                        for m in &members {
                            if let Some(i) = set.pos(m) {
                                set.items.remove(i);
                                n += 1;
                            }
                        }
                        if set.items.is_empty() {
                            model.keys.remove(&k);
                        }
                        assert_eq!(got, Ok(n));
                    }
                }
            }
            Op::Range {
                key: k,
                range,
                rev,
                limit,
            } => {
                let k = key(k);
                let limit = if matches!(range, Range::Rank(..)) {
                    None
                } else {
                    limit
                };
                let spec = ZRangeSpec {
                    by: by(&range),
                    rev,
                    limit,
                };
                let got = db.zrange(&k, &spec);
                match model.get(&k, &strings) {
                    Err(()) => assert_eq!(got, Err(StoreError::WrongType)),
                    Ok(None) => assert_eq!(got, Ok(Vec::new())),
                    Ok(Some(set)) => {
                        let got = got.unwrap();
                        if matches!(range, Range::Lex(..)) && !lex_ok(set) {
                            continue;
                        }
                        let want = model_range(set, &range, rev, limit);
                        assert!(same(&got, &want), "{got:?} != {want:?} for {range:?}");
                    }
                }
            }
            Op::RemRange(k, range) => {
                let k = key(k);
                let lexy = matches!(range, Range::Lex(..));
                if lexy && model.keys.get(&k).is_some_and(|s| !lex_ok(s)) {
                    continue;
                }
                let got = db.zremrange(&k, &by(&range));
                match model.get(&k, &strings) {
                    Err(()) => assert_eq!(got, Err(StoreError::WrongType)),
                    Ok(None) => assert_eq!(got, Ok(0)),
                    Ok(Some(set)) => {
                        let gone = model_range(set, &range, false, None);
                        let set = model.keys.get_mut(&k).unwrap();
                        set.items.retain(|x| !gone.contains(x));
                        if set.items.is_empty() {
                            model.keys.remove(&k);
                        }
                        assert_eq!(got, Ok(gone.len()));
                    }
                }
            }
            Op::Count(k, a, b) => {
                let k = key(k);
                let got = db.zcount(&k, a, b);
                match model.get(&k, &strings) {
                    Err(()) => assert_eq!(got, Err(StoreError::WrongType)),
                    Ok(s) => {
                        let want = s.map_or(0, |s| {
                            model_range(s, &Range::Score(a, b), false, None).len()
                        });
                        assert_eq!(got, Ok(want));
                    }
                }
            }
            Op::LexCount(k, a, b) => {
                let k = key(k);
                let got = db.zlexcount(&k, &a, &b);
                match model.get(&k, &strings) {
                    Err(()) => assert_eq!(got, Err(StoreError::WrongType)),
                    Ok(Some(s)) if !lex_ok(s) => {}
                    Ok(s) => {
                        let want = s.map_or(0, |s| {
                            model_range(s, &Range::Lex(a.clone(), b.clone()), false, None).len()
                        });
                        assert_eq!(got, Ok(want));
                    }
                }
            }
            Op::Rank(k, m, rev) => {
                let k = key(k);
                let got = db.zrank(&k, &m, rev);
                match model.get(&k, &strings) {
                    Err(()) => assert_eq!(got, Err(StoreError::WrongType)),
                    Ok(s) => {
                        let want = s.and_then(|s| {
                            s.pos(&m)
                                .map(|i| if rev { s.items.len() - 1 - i } else { i })
                        });
                        assert_eq!(got, Ok(want));
                        let score = db.zscore(&k, &m).unwrap();
                        assert_eq!(score, s.and_then(|s| s.score(&m)));
                    }
                }
            }
            Op::Pop(k, max, count) => {
                let k = key(k);
                let got = db.zpop(&k, max, count);
                match model.get(&k, &strings) {
                    Err(()) => assert_eq!(got, Err(StoreError::WrongType)),
                    Ok(None) => assert_eq!(got, Ok(Vec::new())),
                    Ok(Some(_)) => {
                        let set = model.keys.get_mut(&k).unwrap();
                        let n = count.min(set.items.len());
                        let want: Vec<(f64, Vec<u8>)> = if max {
                            let len = set.items.len();
                            let mut v: Vec<_> = set.items.drain(len - n..).collect();
                            v.reverse();
                            v
                        } else {
                            set.items.drain(..n).collect()
                        };
                        if set.items.is_empty() {
                            model.keys.remove(&k);
                        }
                        assert!(same(&got.unwrap(), &want));
                    }
                }
            }
            Op::MPop(ks, max, count) => {
                let ks: Vec<Vec<u8>> = ks.into_iter().map(key).collect();
                let refs: Vec<&[u8]> = ks.iter().map(Vec::as_slice).collect();
                let got = db.zmpop(&refs, max, count);
                let first = ks
                    .iter()
                    .find(|k| model.keys.contains_key(*k) || strings.contains_key(*k));
                match first {
                    None => assert_eq!(got, Ok(None)),
                    Some(k) if strings.contains_key(k) => {
                        assert_eq!(got, Err(StoreError::WrongType))
                    }
                    Some(k) => {
                        let set = model.keys.get_mut(k).unwrap();
                        let n = count.min(set.items.len());
                        let want: Vec<(f64, Vec<u8>)> = if max {
                            let len = set.items.len();
                            let mut v: Vec<_> = set.items.drain(len - n..).collect();
                            v.reverse();
                            v
                        } else {
                            set.items.drain(..n).collect()
                        };
                        if set.items.is_empty() {
                            model.keys.remove(k);
                        }
                        let (gk, items) = got.unwrap().unwrap();
                        assert_eq!(&gk, k);
                        assert!(same(&items, &want));
                    }
                }
            }
            Op::Combine {
                op,
                keys: ks,
                weights,
                agg,
                dst,
            } => {
                let op = match op {
                    0 => ZSetOp::Union,
                    1 => ZSetOp::Inter,
                    _ => ZSetOp::Diff,
                };
                let agg = agg_of(agg);
                let ks: Vec<Vec<u8>> = ks.into_iter().map(key).collect();
                let refs: Vec<&[u8]> = ks.iter().map(Vec::as_slice).collect();
                let wrong = ks.iter().any(|k| strings.contains_key(k));
                let weights = if op == ZSetOp::Diff { None } else { weights };
                let want = (!wrong).then(|| model.set_op(op, &ks, weights.as_deref(), agg));
                match dst {
                    None => {
                        let got = db.zset_op(op, &refs, weights.as_deref(), agg);
                        match want {
                            None => assert_eq!(got, Err(StoreError::WrongType)),
                            Some(w) => assert!(same(&got.unwrap(), &w)),
                        }
                    }
                    Some(d) => {
                        let d = key(d);
                        let got = db.zset_op_store(&d, op, &refs, weights.as_deref(), agg);
                        match want {
                            None => assert_eq!(got, Err(StoreError::WrongType)),
                            Some(w) => {
                                assert_eq!(got, Ok(w.len()));
                                strings.remove(&d);
                                if w.is_empty() {
                                    model.keys.remove(&d);
                                } else {
                                    model.keys.insert(d, ModelSet::stored(w));
                                }
                            }
                        }
                    }
                }
            }
            Op::InterCard(ks, limit) => {
                let ks: Vec<Vec<u8>> = ks.into_iter().map(key).collect();
                let refs: Vec<&[u8]> = ks.iter().map(Vec::as_slice).collect();
                let got = db.zintercard(&refs, limit);
                if ks.iter().any(|k| strings.contains_key(k)) {
                    assert_eq!(got, Err(StoreError::WrongType));
                } else {
                    let n = model.set_op(ZSetOp::Inter, &ks, None, Aggregate::Sum).len();
                    assert_eq!(got, Ok(if limit == 0 { n } else { n.min(limit) }));
                }
            }
            Op::RangeStore(d, s, range, rev) => {
                let (d, s) = (key(d), key(s));
                let spec = ZRangeSpec {
                    by: by(&range),
                    rev,
                    limit: None,
                };
                let src = model.keys.get(&s).cloned();
                if matches!(range, Range::Lex(..)) && src.as_ref().is_some_and(|s| !lex_ok(s)) {
                    continue;
                }
                let got = db.zrange_store(&d, &s, &spec);
                if strings.contains_key(&s) {
                    assert_eq!(got, Err(StoreError::WrongType));
                    continue;
                }
                let items = src.map_or(Vec::new(), |set| model_range(&set, &range, rev, None));
                assert_eq!(got, Ok(items.len()));
                strings.remove(&d);
                if items.is_empty() {
                    model.keys.remove(&d);
                } else {
                    model.keys.insert(d, ModelSet::stored(items));
                }
            }
            Op::Scan(k, count) => {
                let k = key(k);
                let mut cursor = 0;
                let mut seen: Vec<Vec<u8>> = Vec::new();
                let mut wrong = false;
                loop {
                    match db.zscan(&k, cursor, None, count) {
                        Err(e) => {
                            assert_eq!(e, StoreError::WrongType);
                            wrong = true;
                            break;
                        }
                        Ok(page) => {
                            seen.extend(page.items.into_iter().map(|(m, _)| m));
                            cursor = page.cursor;
                        }
                    }
                    if cursor == 0 {
                        break;
                    }
                }
                assert_eq!(wrong, strings.contains_key(&k));
                seen.sort();
                seen.dedup();
                let mut want: Vec<Vec<u8>> = model.keys.get(&k).map_or(Vec::new(), |s| {
                    s.items.iter().map(|x| x.1.clone()).collect()
                });
                want.sort();
                assert_eq!(seen, want);
            }
            Op::RandMember(k, count) => {
                let k = key(k);
                let mut got: Vec<(Vec<u8>, f64)> = Vec::new();
                let r = db.zrandmember_with(&k, count, |_, _, m, s| got.push((m.to_vec(), s)));
                match model.get(&k, &strings) {
                    Err(()) => assert_eq!(r, Err(StoreError::WrongType)),
                    Ok(None) => assert!(got.is_empty()),
                    Ok(Some(set)) => {
                        let n = set.items.len();
                        let want = if count < 0 {
                            count.unsigned_abs() as usize
                        } else {
                            (count as usize).min(n)
                        };
                        assert_eq!(got.len(), want);
                        for (m, s) in &got {
                            assert_eq!(set.score(m), Some(*s));
                        }
                        if count > 0 {
                            let mut ms: Vec<_> = got.iter().map(|x| &x.0).collect();
                            ms.sort();
                            ms.dedup();
                            assert_eq!(ms.len(), got.len(), "distinct members");
                        }
                    }
                }
            }
            Op::SetString(k) => {
                let k = key(k);
                db.set(&k, b"x", Default::default()).unwrap();
                model.keys.remove(&k);
                strings.insert(k, ());
            }
        }
        // Every set: same content and the encoding Redis would have.
        for (k, set) in &model.keys {
            let got = db.zrange(k, &ZRangeSpec::rank(0, -1)).unwrap();
            assert!(same(&got, &set.items), "{k:?}: {got:?} vs {:?}", set.items);
            assert_eq!(db.zcard(k), Ok(set.items.len()));
            let enc = db.object(k).unwrap().encoding;
            let want = if set.skiplist { "skiplist" } else { "listpack" };
            assert_eq!(enc, want, "encoding of {k:?}");
        }
        assert_eq!(db.len(), model.keys.len() + strings.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn zsets_match_the_model(ops in prop::collection::vec(op(), 1..60)) {
        run(ops);
    }
}

#[test]
fn encoding_conversion_thresholds() {
    let store = Store::new();
    let db = store.db(0).unwrap();
    let opts = ZAddOptions::default();
    for i in 0..128 {
        let m = format!("m{i}");
        db.zadd(b"z", &[(f64::from(i), m.as_bytes())], opts)
            .unwrap();
    }
    assert_eq!(db.object(b"z").unwrap().encoding, "listpack");
    db.zadd(b"z", &[(200.0, b"one-more")], opts).unwrap();
    assert_eq!(db.object(b"z").unwrap().encoding, "skiplist");
    // Never back, even when small again.
    db.zremrange(b"z", &ZRangeBy::Rank(0, -3)).unwrap();
    assert_eq!(db.zcard(b"z"), Ok(2));
    assert_eq!(db.object(b"z").unwrap().encoding, "skiplist");
    // But a *STORE result is built small.
    assert_eq!(
        db.zset_op_store(b"d", ZSetOp::Union, &[b"z"], None, Aggregate::Sum),
        Ok(2)
    );
    assert_eq!(db.object(b"d").unwrap().encoding, "listpack");
    // A long member converts.
    let long = vec![b'x'; 65];
    db.zadd(b"d", &[(1.0, &long)], opts).unwrap();
    assert_eq!(db.object(b"d").unwrap().encoding, "skiplist");
    db.zadd(b"e", &[(1.0, &long)], opts).unwrap();
    assert_eq!(db.object(b"e").unwrap().encoding, "skiplist");
    // heap_size is cheap and grows with the set.
    assert!(db.zcard(b"e").is_ok());
}

#[test]
fn nan_results_are_refused() {
    let store = Store::new();
    let db = store.db(0).unwrap();
    db.zadd(b"z", &[(f64::INFINITY, b"a")], ZAddOptions::default())
        .unwrap();
    assert_eq!(
        db.zincrby(b"z", f64::NEG_INFINITY, b"a"),
        Err(StoreError::ScoreNotANumber)
    );
    assert_eq!(db.zscore(b"z", b"a"), Ok(Some(f64::INFINITY)));
    assert_eq!(
        db.zadd(b"n", &[(f64::NAN, b"a")], ZAddOptions::default()),
        Err(StoreError::ScoreNotANumber)
    );
    assert_eq!(db.zcard(b"n"), Ok(0));
}

#[test]
fn plain_sets_are_inputs_scoring_one() {
    let store = Store::new();
    let db = store.db(0).unwrap();
    db.zadd(b"{t}z", &[(5.0, b"a"), (6.0, b"b")], ZAddOptions::default())
        .unwrap();
    db.sadd(b"{t}s", &[b"a", b"c"]).unwrap();
    let keys: [&[u8]; 2] = [b"{t}z", b"{t}s"];
    assert_eq!(
        db.zset_op(ZSetOp::Union, &keys, Some(&[1.0, 2.0]), Aggregate::Sum),
        Ok(vec![
            (b"c".to_vec(), 2.0),
            (b"b".to_vec(), 6.0),
            (b"a".to_vec(), 7.0)
        ])
    );
    assert_eq!(
        db.zset_op(ZSetOp::Inter, &keys, None, Aggregate::Max),
        Ok(vec![(b"a".to_vec(), 5.0)])
    );
    assert_eq!(
        db.zset_op(ZSetOp::Diff, &[b"{t}s", b"{t}z"], None, Aggregate::Sum),
        Ok(vec![(b"c".to_vec(), 1.0)])
    );
    assert_eq!(db.zintercard(&keys, 0), Ok(1));
}
