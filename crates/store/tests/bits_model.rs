//! Bit operations against a naive model: random sequences of SETBIT,
//! GETBIT, BITCOUNT, BITPOS, BITOP and BITFIELD must give the answers of a
//! bit-by-bit model of Redis' documented semantics, on strings that start
//! as raw bytes or integers; and LCS must agree with a plain dynamic
//! programme on the length and give a real common subsequence and ranges.

use std::collections::HashMap;

use ferrodis_store::{
    BitOp, BitRange, BitUnit, BitfieldOp, BitfieldOverflow, BitfieldType, LcsQuery, Store,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Set(u8, Vec<u8>),
    SetBit(u8, u64, bool),
    GetBit(u8, u64),
    Count(u8, Option<(i64, i64, BitUnit)>),
    Pos(u8, bool, Option<(i64, Option<i64>, BitUnit)>),
    Combine(BitOp, u8, Vec<u8>),
    Field(u8, Vec<FieldOp>),
}

#[derive(Debug, Clone, Copy)]
struct FieldOp {
    kind: u8,
    signed: bool,
    bits: u8,
    offset: u64,
    n: i64,
    overflow: BitfieldOverflow,
}

fn key(k: u8) -> Vec<u8> {
    format!("k{k}").into_bytes()
}

fn unit() -> impl Strategy<Value = BitUnit> {
    prop_oneof![Just(BitUnit::Byte), Just(BitUnit::Bit)]
}

fn field_op() -> impl Strategy<Value = FieldOp> {
    let n = prop_oneof![
        -300i64..300,
        any::<i64>(),
        Just(i64::MAX),
        Just(i64::MIN),
        Just(-1i64)
    ];
    let overflow = prop_oneof![
        Just(BitfieldOverflow::Wrap),
        Just(BitfieldOverflow::Sat),
        Just(BitfieldOverflow::Fail)
    ];
    (0u8..3, any::<bool>(), 1u8..=64, 0u64..120, n, overflow).prop_map(
        |(kind, signed, bits, offset, n, overflow)| FieldOp {
            kind,
            signed,
            bits: if signed { bits } else { bits.min(63) },
            offset,
            n,
            overflow,
        },
    )
}

fn op() -> impl Strategy<Value = Op> {
    let k = 0u8..4;
    let v = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..12),
        prop::collection::vec(prop_oneof![Just(0u8), Just(0xff)], 0..12),
        any::<i64>().prop_map(|n| n.to_string().into_bytes()),
    ];
    let idx = prop_oneof![-20i64..20, -200i64..200, any::<i64>()];
    prop_oneof![
        (k.clone(), v).prop_map(|(k, v)| Op::Set(k, v)),
        (k.clone(), 0u64..150, any::<bool>()).prop_map(|(k, o, b)| Op::SetBit(k, o, b)),
        (k.clone(), 0u64..200).prop_map(|(k, o)| Op::GetBit(k, o)),
        (
            k.clone(),
            prop::option::of((idx.clone(), idx.clone(), unit()))
        )
            .prop_map(|(k, r)| Op::Count(k, r)),
        (
            k.clone(),
            any::<bool>(),
            prop::option::of((idx.clone(), prop::option::of(idx), unit()))
        )
            .prop_map(|(k, b, r)| Op::Pos(k, b, r)),
        (
            prop_oneof![
                Just(BitOp::And),
                Just(BitOp::Or),
                Just(BitOp::Xor),
                Just(BitOp::Not)
            ],
            k.clone(),
            prop::collection::vec(k.clone(), 1..4)
        )
            .prop_map(|(op, d, s)| {
                let s = if op == BitOp::Not { s[..1].to_vec() } else { s };
                Op::Combine(op, d, s)
            }),
        (k, prop::collection::vec(field_op(), 0..5)).prop_map(|(k, ops)| Op::Field(k, ops)),
    ]
}

/// The model's bit `i` of `s`.
fn bit(s: &[u8], i: u64) -> bool {
    s.get((i / 8) as usize)
        .is_some_and(|b| (b >> (7 - i % 8)) & 1 == 1)
}

fn set_bit(s: &mut Vec<u8>, i: u64, on: bool) {
    let byte = (i / 8) as usize;
    if s.len() <= byte {
        s.resize(byte + 1, 0);
    }
    let mask = 1u8 << (7 - i % 8);
    if on {
        s[byte] |= mask;
    } else {
        s[byte] &= !mask;
    }
}

/// Redis' range rule in `unit`s, as bit indices (inclusive), `None` when
/// empty.
fn model_range(len_bytes: usize, start: i64, end: i64, unit: BitUnit) -> Option<(u64, u64)> {
    let n = match unit {
        BitUnit::Byte => len_bytes as i128,
        BitUnit::Bit => len_bytes as i128 * 8,
    };
    let fix = |x: i64| {
        let x = x as i128;
        if x < 0 {
            (x + n).max(0)
        } else {
            x
        }
    };
    let (s, e) = (fix(start), fix(end).min(n - 1));
    if s > e {
        return None;
    }
    Some(match unit {
        BitUnit::Byte => (s as u64 * 8, e as u64 * 8 + 7),
        BitUnit::Bit => (s as u64, e as u64),
    })
}

/// Applies a BITFIELD value change in i128: the stored value, or None on
/// FAIL.
fn model_fit(signed: bool, bits: u8, v: i128, overflow: BitfieldOverflow) -> Option<i128> {
    let (min, max) = if signed {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    };
    if (min..=max).contains(&v) {
        return Some(v);
    }
    match overflow {
        BitfieldOverflow::Fail => None,
        BitfieldOverflow::Sat => Some(if v > max { max } else { min }),
        BitfieldOverflow::Wrap => Some((v - min).rem_euclid(1i128 << bits) + min),
    }
}

fn read_field(s: &[u8], signed: bool, bits: u8, offset: u64) -> i128 {
    let mut v: i128 = 0;
    for i in 0..u64::from(bits) {
        v = v * 2 + i128::from(bit(s, offset + i));
    }
    if signed && v >= 1i128 << (bits - 1) {
        v -= 1i128 << bits;
    }
    v
}

fn write_field(s: &mut Vec<u8>, bits: u8, offset: u64, v: i128) {
    let v = v.rem_euclid(1i128 << bits);
    for i in 0..u64::from(bits) {
        set_bit(s, offset + i, (v >> (u64::from(bits) - 1 - i)) & 1 == 1);
    }
}

fn to_op(f: FieldOp) -> BitfieldOp {
    let ty = BitfieldType::new(f.signed, f.bits).unwrap();
    match f.kind {
        0 => BitfieldOp::Get {
            ty,
            offset: f.offset,
        },
        1 => BitfieldOp::Set {
            ty,
            offset: f.offset,
            value: f.n,
            overflow: f.overflow,
        },
        _ => BitfieldOp::IncrBy {
            ty,
            offset: f.offset,
            increment: f.n,
            overflow: f.overflow,
        },
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn bits_match_model(ops in prop::collection::vec(op(), 1..40)) {
        let store = Store::new();
        let db = store.db(0).unwrap();
        let mut m: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
        for op in ops {
            match op {
                Op::Set(k, v) => {
                    db.set(&key(k), &v, Default::default()).unwrap();
                    m.insert(key(k), v);
                }
                Op::SetBit(k, o, on) => {
                    let got = db.set_bit(&key(k), o, on).unwrap();
                    let s = m.entry(key(k)).or_default();
                    prop_assert_eq!(got, bit(s, o));
                    set_bit(s, o, on);
                }
                Op::GetBit(k, o) => {
                    let want = m.get(&key(k)).is_some_and(|s| bit(s, o));
                    prop_assert_eq!(db.get_bit(&key(k), o).unwrap(), want);
                }
                Op::Count(k, r) => {
                    let got = db.bit_count(&key(k), r.map(|(start, end, unit)| BitRange { start, end: Some(end), unit })).unwrap();
                    let want = match m.get(&key(k)) {
                        None => 0,
                        Some(s) => {
                            let range = match r {
                                None => model_range(s.len(), 0, -1, BitUnit::Byte),
                                Some((a, b, _)) if a < 0 && b < 0 && a > b => None,
                                Some((a, b, u)) => model_range(s.len(), a, b, u),
                            };
                            range.map_or(0, |(a, b)| (a..=b).filter(|&i| bit(s, i)).count() as u64)
                        }
                    };
                    prop_assert_eq!(got, want);
                }
                Op::Pos(k, b, r) => {
                    let got = db.bit_pos(&key(k), b, r.map(|(start, end, unit)| BitRange { start, end, unit })).unwrap();
                    let want = match m.get(&key(k)) {
                        None => if b { -1 } else { 0 },
                        Some(s) => {
                            let (start, end, unit) = r.unwrap_or((0, None, BitUnit::Byte));
                            match model_range(s.len(), start, end.unwrap_or(-1), unit) {
                                None => -1,
                                Some((a, z)) => match (a..=z).find(|&i| bit(s, i) == b) {
                                    Some(i) => i as i64,
                                    // Not found: a clear bit is "found" just
                                    // past an open-ended range.
                                    None if !b && end.is_none() => z as i64 + 1,
                                    None => -1,
                                },
                            }
                        }
                    };
                    prop_assert_eq!(got, want);
                }
                Op::Combine(op, d, srcs) => {
                    let keys: Vec<Vec<u8>> = srcs.iter().map(|&s| key(s)).collect();
                    let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
                    let got = db.bit_op(op, &key(d), &refs).unwrap();
                    let vals: Vec<Vec<u8>> = keys.iter().map(|k| m.get(k).cloned().unwrap_or_default()).collect();
                    let len = vals.iter().map(Vec::len).max().unwrap_or(0);
                    let at = |v: &Vec<u8>, i: usize| v.get(i).copied().unwrap_or(0);
                    let out: Vec<u8> = (0..len).map(|i| {
                        let mut x = at(&vals[0], i);
                        for v in &vals[1..] {
                            match op {
                                BitOp::And => x &= at(v, i),
                                BitOp::Or => x |= at(v, i),
                                BitOp::Xor => x ^= at(v, i),
                                BitOp::Not => {}
                            }
                        }
                        if op == BitOp::Not { !x } else { x }
                    }).collect();
                    prop_assert_eq!(got, len);
                    if len == 0 { m.remove(&key(d)); } else { m.insert(key(d), out); }
                }
                Op::Field(k, fops) => {
                    let ops: Vec<BitfieldOp> = fops.iter().map(|&f| to_op(f)).collect();
                    let got = db.bit_field(&key(k), &ops).unwrap();
                    let writes = fops.iter().any(|f| f.kind != 0);
                    let mut want = Vec::new();
                    if !writes {
                        let s = m.get(&key(k)).cloned().unwrap_or_default();
                        for f in &fops {
                            want.push(Some(read_field(&s, f.signed, f.bits, f.offset) as i64));
                        }
                    } else {
                        let s = m.entry(key(k)).or_default();
                        for f in fops.iter().filter(|f| f.kind != 0) {
                            let end_byte = ((f.offset + u64::from(f.bits) - 1) / 8) as usize;
                            if s.len() <= end_byte { s.resize(end_byte + 1, 0); }
                        }
                        for f in &fops {
                            let old = read_field(s, f.signed, f.bits, f.offset);
                            match f.kind {
                                0 => want.push(Some(old as i64)),
                                1 => {
                                    // Unsigned fields read a negative SET value
                                    // as its 64-bit two's complement.
                                    let v = if f.signed { i128::from(f.n) } else { i128::from(f.n as u64) };
                                    // Redis' quirk: a signed SET value so low
                                    // that `max - value` overflows an i64
                                    // saturates at the maximum (below 64 bits).
                                    let max = (1i128 << (f.bits - 1)) - 1;
                                    let quirk = f.signed && f.bits < 64 && f.overflow == BitfieldOverflow::Sat && max - v > i128::from(i64::MAX);
                                    match if quirk { Some(max) } else { model_fit(f.signed, f.bits, v, f.overflow) } {
                                        None => want.push(None),
                                        Some(new) => { write_field(s, f.bits, f.offset, new); want.push(Some(old as i64)); }
                                    }
                                }
                                _ => match model_fit(f.signed, f.bits, old + i128::from(f.n), f.overflow) {
                                    None => want.push(None),
                                    Some(new) => { write_field(s, f.bits, f.offset, new); want.push(Some(new as i64)); }
                                },
                            }
                        }
                    }
                    prop_assert_eq!(got, want);
                }
            }
            // The whole keyspace agrees after every step.
            for k in 0..4 {
                prop_assert_eq!(db.get(&key(k)).unwrap(), m.get(&key(k)).cloned());
            }
        }
    }
}

/// The LCS length by the textbook recursion, memoised.
fn naive_lcs_len(a: &[u8], b: &[u8]) -> usize {
    let mut memo = vec![vec![usize::MAX; b.len() + 1]; a.len() + 1];
    fn go(a: &[u8], b: &[u8], i: usize, j: usize, memo: &mut Vec<Vec<usize>>) -> usize {
        if i == a.len() || j == b.len() {
            return 0;
        }
        if memo[i][j] != usize::MAX {
            return memo[i][j];
        }
        let r = if a[i] == b[j] {
            1 + go(a, b, i + 1, j + 1, memo)
        } else {
            go(a, b, i + 1, j, memo).max(go(a, b, i, j + 1, memo))
        };
        memo[i][j] = r;
        r
    }
    go(a, b, 0, 0, &mut memo)
}

fn is_subsequence(sub: &[u8], of: &[u8]) -> bool {
    let mut it = of.iter();
    sub.iter().all(|c| it.any(|x| x == c))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn lcs_matches_naive(
        a in prop::collection::vec(b'a'..b'e', 0..24),
        b in prop::collection::vec(b'a'..b'e', 0..24),
        min in 0u64..4,
    ) {
        let store = Store::new();
        let db = store.db(0).unwrap();
        db.set(b"a", &a, Default::default()).unwrap();
        if !b.is_empty() {
            db.set(b"b", &b, Default::default()).unwrap();
        }
        let want = naive_lcs_len(&a, &b);
        let s = db.lcs(b"a", b"b", LcsQuery::String).unwrap();
        let sub = s.string.clone().unwrap();
        prop_assert_eq!(sub.len(), want);
        prop_assert!(is_subsequence(&sub, &a) && is_subsequence(&sub, &b));
        prop_assert_eq!(db.lcs(b"a", b"b", LcsQuery::Len).unwrap().len, want);
        let all = db.lcs(b"a", b"b", LcsQuery::Idx { min_match_len: 0 }).unwrap();
        prop_assert_eq!(all.len, want);
        // The ranges, last first, spell the subsequence and do not overlap.
        let mut spelled = Vec::new();
        let mut prev: Option<(usize, usize)> = None;
        for r in all.matches.iter().rev() {
            prop_assert_eq!(r.len, r.a.1 - r.a.0 + 1);
            prop_assert_eq!(r.len, r.b.1 - r.b.0 + 1);
            prop_assert_eq!(&a[r.a.0..=r.a.1], &b[r.b.0..=r.b.1]);
            if let Some((pa, pb)) = prev {
                prop_assert!(r.a.0 > pa && r.b.0 > pb);
            }
            prev = Some((r.a.1, r.b.1));
            spelled.extend_from_slice(&a[r.a.0..=r.a.1]);
        }
        prop_assert_eq!(&spelled, &sub);
        let filtered = db.lcs(b"a", b"b", LcsQuery::Idx { min_match_len: min }).unwrap();
        let kept: Vec<_> = all.matches.iter().filter(|r| r.len as u64 >= min).copied().collect();
        prop_assert_eq!(filtered.matches, kept);
    }
}
