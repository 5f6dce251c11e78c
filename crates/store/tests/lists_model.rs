//! The list API against a model: random sequences of list operations on a
//! few keys (some of them strings, to exercise WRONGTYPE) must give the same
//! answers as a `HashMap` of `VecDeque`s written from Redis' documentation.

use std::collections::{HashMap, VecDeque};

use ferrodis_store::{ListEnd, Store, StoreError, ValueType};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Push(u8, bool, Vec<Vec<u8>>, bool),
    Pop(u8, bool, Option<usize>),
    Len(u8),
    Index(u8, i64),
    Set(u8, i64, Vec<u8>),
    Range(u8, i64, i64),
    Trim(u8, i64, i64),
    Rem(u8, i64, Vec<u8>),
    Insert(u8, bool, Vec<u8>, Vec<u8>),
    Pos(u8, Vec<u8>, i64, usize, usize),
    Move(u8, u8, bool, bool),
    MPop(Vec<u8>, bool, usize),
    SetString(u8),
    Del(u8),
}

fn key(k: u8) -> Vec<u8> {
    // Few keys, some sharing a slot through a hash tag.
    if k % 2 == 0 {
        format!("{{t}}l{k}").into_bytes()
    } else {
        format!("l{k}").into_bytes()
    }
}

fn end(left: bool) -> ListEnd {
    if left {
        ListEnd::Left
    } else {
        ListEnd::Right
    }
}

fn op() -> impl Strategy<Value = Op> {
    let k = 0u8..5;
    // A small alphabet so that LREM/LPOS/LINSERT find matches; some long
    // values to leave SmallBytes' inline storage.
    let v = prop_oneof![
        (0u8..4).prop_map(|b| vec![b'a' + b]),
        (0u8..2).prop_map(|b| vec![b'x' + b; 30]),
    ];
    let idx = -8i64..8;
    prop_oneof![
        (
            k.clone(),
            any::<bool>(),
            prop::collection::vec(v.clone(), 1..5),
            prop::bool::weighted(0.2)
        )
            .prop_map(|(k, l, vs, x)| Op::Push(k, l, vs, x)),
        (k.clone(), any::<bool>(), prop::option::of(0usize..5))
            .prop_map(|(k, l, c)| Op::Pop(k, l, c)),
        k.clone().prop_map(Op::Len),
        (k.clone(), idx.clone()).prop_map(|(k, i)| Op::Index(k, i)),
        (k.clone(), idx.clone(), v.clone()).prop_map(|(k, i, v)| Op::Set(k, i, v)),
        (k.clone(), idx.clone(), idx.clone()).prop_map(|(k, a, b)| Op::Range(k, a, b)),
        (k.clone(), idx.clone(), idx.clone()).prop_map(|(k, a, b)| Op::Trim(k, a, b)),
        (k.clone(), -3i64..3, v.clone()).prop_map(|(k, c, v)| Op::Rem(k, c, v)),
        (k.clone(), any::<bool>(), v.clone(), v.clone())
            .prop_map(|(k, a, p, e)| Op::Insert(k, a, p, e)),
        (
            k.clone(),
            v.clone(),
            prop_oneof![-3i64..0, 1i64..4],
            0usize..3,
            0usize..5
        )
            .prop_map(|(k, e, r, c, m)| Op::Pos(k, e, r, c, m)),
        (k.clone(), k.clone(), any::<bool>(), any::<bool>())
            .prop_map(|(a, b, f, t)| Op::Move(a, b, f, t)),
        (
            prop::collection::vec(k.clone(), 1..4),
            any::<bool>(),
            1usize..4
        )
            .prop_map(|(ks, l, c)| Op::MPop(ks, l, c)),
        k.clone().prop_map(Op::SetString),
        k.prop_map(Op::Del),
    ]
}

/// A key of the model: a list or a string (for WRONGTYPE).
#[derive(Debug, Clone)]
enum Val {
    List(VecDeque<Vec<u8>>),
    Str,
}

#[derive(Default)]
struct Model {
    map: HashMap<Vec<u8>, Val>,
}

impl Model {
    /// The list at `k`: `Ok(None)` if missing, `Err` if a string.
    fn list(&mut self, k: &[u8]) -> Result<Option<&mut VecDeque<Vec<u8>>>, StoreError> {
        match self.map.get_mut(k) {
            None => Ok(None),
            Some(Val::Str) => Err(StoreError::WrongType),
            Some(Val::List(l)) => Ok(Some(l)),
        }
    }

    /// Deletes `k` if its list is empty.
    fn settle(&mut self, k: &[u8]) {
        if matches!(self.map.get(k), Some(Val::List(l)) if l.is_empty()) {
            self.map.remove(k);
        }
    }
}

fn index(i: i64, len: usize) -> Option<usize> {
    let len = len as i64;
    let i = if i < 0 { i + len } else { i };
    (0..len).contains(&i).then_some(i as usize)
}

fn range(start: i64, stop: i64, len: usize) -> (usize, usize) {
    let len = len as i64;
    let s = if start < 0 {
        (start + len).max(0)
    } else {
        start
    };
    let e = if stop < 0 {
        stop + len
    } else {
        stop.min(len - 1)
    };
    if s > e || s >= len {
        (0, 0)
    } else {
        (s as usize, e as usize + 1)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn lists_match_model(ops in prop::collection::vec(op(), 1..60)) {
        let store = Store::new();
        let db = store.db(0).unwrap();
        let mut m = Model::default();
        for op in ops {
            match op {
                Op::Push(k, left, vs, only_if_exists) => {
                    let k = key(k);
                    let refs: Vec<&[u8]> = vs.iter().map(Vec::as_slice).collect();
                    let got = db.list_push(&k, end(left), &refs, only_if_exists);
                    let want = match m.list(&k) {
                        Err(e) => Err(e),
                        Ok(None) if only_if_exists => Ok(0),
                        Ok(l) => {
                            let mut list = l.map(std::mem::take).unwrap_or_default();
                            for v in vs {
                                if left { list.push_front(v) } else { list.push_back(v) }
                            }
                            let n = list.len();
                            m.map.insert(k.clone(), Val::List(list));
                            Ok(n)
                        }
                    };
                    prop_assert_eq!(got, want);
                }
                Op::Pop(k, left, count) => {
                    let k = key(k);
                    let got = db.list_pop(&k, end(left), count);
                    let want = match m.list(&k) {
                        Err(e) => Err(e),
                        Ok(None) => Ok(None),
                        Ok(Some(l)) => {
                            let n = count.unwrap_or(1).min(l.len());
                            let out: Vec<Vec<u8>> = (0..n)
                                .filter_map(|_| if left { l.pop_front() } else { l.pop_back() })
                                .collect();
                            Ok(Some(out))
                        }
                    };
                    m.settle(&k);
                    prop_assert_eq!(got, want);
                }
                Op::Len(k) => {
                    let k = key(k);
                    let want = m.list(&k).map(|l| l.map_or(0, |l| l.len()));
                    prop_assert_eq!(db.list_len(&k), want);
                }
                Op::Index(k, i) => {
                    let k = key(k);
                    let want = m.list(&k).map(|l| l.and_then(|l| index(i, l.len()).and_then(|i| l.get(i).cloned())));
                    prop_assert_eq!(db.list_index(&k, i), want);
                }
                Op::Set(k, i, v) => {
                    let k = key(k);
                    let got = db.list_set(&k, i, &v);
                    let want = match m.list(&k) {
                        Err(e) => Err(e),
                        Ok(None) => Err(StoreError::NoSuchKey),
                        Ok(Some(l)) => match index(i, l.len()) {
                            None => Err(StoreError::IndexOutOfRange),
                            Some(i) => { l[i] = v; Ok(()) }
                        },
                    };
                    prop_assert_eq!(got, want);
                }
                Op::Range(k, a, b) => {
                    let k = key(k);
                    let want = m.list(&k).map(|l| l.map_or_else(Vec::new, |l| {
                        let (s, e) = range(a, b, l.len());
                        l.range(s..e).cloned().collect()
                    }));
                    prop_assert_eq!(db.list_range(&k, a, b), want);
                }
                Op::Trim(k, a, b) => {
                    let k = key(k);
                    let got = db.list_trim(&k, a, b);
                    let want = m.list(&k).map(|l| {
                        if let Some(l) = l {
                            let (s, e) = range(a, b, l.len());
                            *l = l.range(s..e).cloned().collect();
                        }
                    });
                    m.settle(&k);
                    prop_assert_eq!(got, want);
                }
                Op::Rem(k, count, v) => {
                    let k = key(k);
                    let got = db.list_remove(&k, count, &v);
                    let want = m.list(&k).map(|l| l.map_or(0, |l| {
                        let limit = if count == 0 { usize::MAX } else { count.unsigned_abs() as usize };
                        let mut removed = 0;
                        let mut items: Vec<Vec<u8>> = l.iter().cloned().collect();
                        if count < 0 { items.reverse(); }
                        items.retain(|x| {
                            if *x == v && removed < limit { removed += 1; false } else { true }
                        });
                        if count < 0 { items.reverse(); }
                        *l = items.into();
                        removed
                    }));
                    m.settle(&k);
                    prop_assert_eq!(got, want);
                }
                Op::Insert(k, after, pivot, v) => {
                    let k = key(k);
                    let got = db.list_insert(&k, after, &pivot, &v);
                    let want = m.list(&k).map(|l| l.map_or(0, |l| {
                        match l.iter().position(|x| *x == pivot) {
                            None => -1,
                            Some(at) => {
                                l.insert(if after { at + 1 } else { at }, v);
                                l.len() as i64
                            }
                        }
                    }));
                    prop_assert_eq!(got, want);
                }
                Op::Pos(k, e, rank, count, maxlen) => {
                    let k = key(k);
                    let got = db.list_pos(&k, &e, rank, count, maxlen);
                    let want = m.list(&k).map(|l| l.map_or_else(Vec::new, |l| {
                        let len = l.len();
                        let order: Vec<usize> = if rank < 0 { (0..len).rev().collect() } else { (0..len).collect() };
                        let scanned = if maxlen == 0 { len } else { maxlen.min(len) };
                        let hits: Vec<usize> = order[..scanned].iter().copied().filter(|&i| l[i] == e).collect();
                        let skip = (rank.unsigned_abs() - 1) as usize;
                        let take = if count == 0 { usize::MAX } else { count };
                        hits.into_iter().skip(skip).take(take).collect()
                    }));
                    prop_assert_eq!(got, want);
                }
                Op::Move(a, b, from_left, to_left) => {
                    let (a, b) = (key(a), key(b));
                    let got = db.list_move(&a, &b, end(from_left), end(to_left));
                    let want = match m.list(&a) {
                        Err(e) => Err(e),
                        Ok(None) => Ok(None),
                        Ok(Some(_)) => match m.list(&b) {
                            Err(e) => Err(e),
                            Ok(_) => {
                                let Some(Val::List(src)) = m.map.get_mut(&a) else { unreachable!() };
                                let v = if from_left { src.pop_front() } else { src.pop_back() };
                                let v = v.unwrap();
                                let Val::List(dst) = m.map.entry(b.clone()).or_insert_with(|| Val::List(VecDeque::new())) else { unreachable!() };
                                if to_left { dst.push_front(v.clone()) } else { dst.push_back(v.clone()) }
                                Ok(Some(v))
                            }
                        },
                    };
                    m.settle(&a);
                    prop_assert_eq!(got, want);
                }
                Op::MPop(ks, left, count) => {
                    let ks: Vec<Vec<u8>> = ks.into_iter().map(key).collect();
                    let refs: Vec<&[u8]> = ks.iter().map(Vec::as_slice).collect();
                    let got = db.list_mpop(&refs, end(left), count);
                    let mut want = Ok(None);
                    for k in &ks {
                        match m.list(k) {
                            Err(e) => { want = Err(e); break; }
                            Ok(None) => {}
                            Ok(Some(l)) => {
                                let n = count.min(l.len());
                                let out: Vec<Vec<u8>> = (0..n)
                                    .filter_map(|_| if left { l.pop_front() } else { l.pop_back() })
                                    .collect();
                                want = Ok(Some((k.clone(), out)));
                                m.settle(k);
                                break;
                            }
                        }
                    }
                    prop_assert_eq!(got, want);
                }
                Op::SetString(k) => {
                    let k = key(k);
                    db.set(&k, b"s", Default::default()).unwrap();
                    m.map.insert(k, Val::Str);
                }
                Op::Del(k) => {
                    let k = key(k);
                    prop_assert_eq!(db.del(&[&k]), usize::from(m.map.remove(&k).is_some()));
                }
            }
            // The keyspace holds exactly the model's keys, with their types.
            for k in 0..5u8 {
                let k = key(k);
                let want = m.map.get(&k).map(|v| match v { Val::List(_) => ValueType::List, Val::Str => ValueType::String });
                prop_assert_eq!(db.value_type(&k), want);
            }
        }
    }
}
