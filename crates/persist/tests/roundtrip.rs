//! Property tests: every value encodes and decodes back to itself, in both
//! encodings and under every option, and no input makes the decoder panic.

use std::collections::{BTreeMap, BTreeSet};

use ferrodis_persist::{EncodeOptions, Encoding, RdbObject, RdbValue};
use proptest::prelude::*;

/// Strings that exercise the encodings: integers of every width, text
/// near the listpack length boundaries, compressible runs, raw bytes.
fn element() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string().into_bytes()),
        (-200i64..200).prop_map(|n| n.to_string().into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..80),
        (any::<u8>(), 0usize..5000).prop_map(|(b, n)| vec![b; n]),
        "[a-c0-9-]{0,25}".prop_map(String::into_bytes),
    ]
}

fn score() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("no NaN", |d| !d.is_nan()),
        (-1000i64..1000).prop_map(|n| n as f64),
        (-1000i64..1000).prop_map(|n| n as f64 / 8.0),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-0.0),
    ]
}

fn value() -> impl Strategy<Value = RdbValue> {
    prop_oneof![
        element().prop_map(RdbValue::String),
        proptest::collection::vec(element(), 1..60).prop_map(RdbValue::List),
        proptest::collection::btree_set(element(), 1..60)
            .prop_map(|s| RdbValue::Set(s.into_iter().collect())),
        proptest::collection::btree_set(any::<i64>(), 1..60).prop_map(|s| RdbValue::Set(
            s.into_iter().map(|n| n.to_string().into_bytes()).collect()
        )),
        proptest::collection::btree_map(element(), score(), 1..60)
            .prop_map(|m| RdbValue::ZSet(m.into_iter().collect())),
        proptest::collection::btree_map(element(), element(), 1..60)
            .prop_map(|m| RdbValue::Hash(m.into_iter().collect())),
    ]
}

fn options() -> impl Strategy<Value = EncodeOptions> {
    (any::<bool>(), prop_oneof![-5i64..=-1, 1i64..50, Just(-7)]).prop_map(
        |(compression, list_max_listpack_size)| EncodeOptions {
            compression,
            list_max_listpack_size,
        },
    )
}

/// What a round trip may change: set order (an intset sorts), the sign of
/// a zero score in a listpack (stored as the integer 0).
fn canonical(v: &RdbValue) -> RdbValue {
    match v {
        RdbValue::Set(m) => RdbValue::Set(
            m.iter()
                .cloned()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
        ),
        RdbValue::ZSet(items) => RdbValue::ZSet(
            items
                .iter()
                .map(|(m, s)| (m.clone(), if *s == 0.0 { 0.0 } else { *s }))
                .collect::<BTreeMap<_, _>>()
                .into_iter()
                .collect(),
        ),
        other => other.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn values_round_trip(value in value(), compact in any::<bool>(), opts in options()) {
        let encoding = if compact { Encoding::Compact } else { Encoding::Full };
        let obj = RdbObject { value, encoding };
        let payload = obj.to_dump(&opts);
        let back = RdbObject::from_dump(&payload);
        prop_assert!(back.is_ok(), "{:?}", back);
        let back = back.unwrap_or_else(|_| obj.clone());
        prop_assert_eq!(canonical(&back.value), canonical(&obj.value));
        // Scores keep their exact bits in both encodings (but for -0).
        if let (RdbValue::ZSet(a), RdbValue::ZSet(b)) = (&back.value, &obj.value) {
            for ((_, x), (_, y)) in a.iter().zip(b) {
                prop_assert!(x == y);
            }
        }
        // Decoding is deterministic and encoding the decoded value is
        // stable.
        let again = back.to_dump(&opts);
        prop_assert_eq!(RdbObject::from_dump(&again).map(|o| canonical(&o.value)), Ok(canonical(&obj.value)));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = RdbObject::decode(&bytes);
        let _ = RdbObject::from_dump(&bytes);
    }

    #[test]
    fn corrupted_payloads_never_panic(
        value in value(),
        opts in options(),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        cut in any::<usize>(),
    ) {
        let obj = RdbObject { value, encoding: Encoding::Compact };
        let mut body = Vec::new();
        obj.encode(&mut body, &opts);
        for (at, x) in flips {
            let i = at % body.len();
            body[i] ^= x;
        }
        let _ = RdbObject::decode(&body);
        let _ = RdbObject::decode(&body[..cut % (body.len() + 1)]);
    }
}
