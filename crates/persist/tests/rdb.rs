//! Property tests of the RDB file: what `RdbWriter` writes, across several
//! databases and under every option, `RdbReader` reads back item for item;
//! a truncated or bit-flipped file is an error (never a panic), and a
//! checksum that does not match is reported as such.

use std::collections::{BTreeMap, BTreeSet};

use ferrodis_persist::{
    EncodeOptions, Encoding, RdbEntry, RdbFileError, RdbItem, RdbItemRef, RdbObject, RdbReader,
    RdbValue, RdbWriter, StandardAux, WriteOptions,
};
use proptest::prelude::*;

/// Strings that exercise the encodings: integers, short text, compressible
/// runs, raw bytes.
fn element() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string().into_bytes()),
        (-200i64..200).prop_map(|n| n.to_string().into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..40),
        (any::<u8>(), 0usize..300).prop_map(|(b, n)| vec![b; n]),
        "[a-c0-9-]{0,25}".prop_map(String::into_bytes),
    ]
}

fn score() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("no NaN", |d| !d.is_nan()),
        (-1000i64..1000).prop_map(|n| n as f64 / 4.0),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
    ]
}

fn value() -> impl Strategy<Value = RdbValue> {
    prop_oneof![
        element().prop_map(RdbValue::String),
        proptest::collection::vec(element(), 1..20).prop_map(RdbValue::List),
        proptest::collection::btree_set(element(), 1..20)
            .prop_map(|s| RdbValue::Set(s.into_iter().collect())),
        proptest::collection::btree_set(any::<i32>(), 1..20).prop_map(|s| RdbValue::Set(
            s.into_iter().map(|n| n.to_string().into_bytes()).collect()
        )),
        proptest::collection::btree_map(element(), score(), 1..20)
            .prop_map(|m| RdbValue::ZSet(m.into_iter().collect())),
        proptest::collection::btree_map(element(), element(), 1..20)
            .prop_map(|m| RdbValue::Hash(m.into_iter().collect())),
    ]
}

fn object() -> impl Strategy<Value = RdbObject> {
    (value(), any::<bool>()).prop_map(|(value, compact)| RdbObject {
        value,
        encoding: if compact {
            Encoding::Compact
        } else {
            Encoding::Full
        },
    })
}

fn entry() -> impl Strategy<Value = RdbEntry> {
    (
        element(),
        object(),
        proptest::option::of(0u64..=i64::MAX as u64),
        proptest::option::of(any::<u64>()),
        proptest::option::of(any::<u8>()),
    )
        .prop_map(|(key, object, expire_at_ms, idle_seconds, freq)| RdbEntry {
            key,
            object,
            expire_at_ms,
            idle_seconds,
            freq,
        })
}

/// Databases by number, each with keys (distinct within a database).
fn databases() -> impl Strategy<Value = BTreeMap<u64, Vec<RdbEntry>>> {
    proptest::collection::btree_map(
        prop_oneof![0u64..16, any::<u64>()],
        proptest::collection::vec(entry(), 1..8).prop_map(|entries| {
            let mut seen = BTreeSet::new();
            entries
                .into_iter()
                .filter(|e| seen.insert(e.key.clone()))
                .collect()
        }),
        0..4,
    )
}

fn options() -> impl Strategy<Value = WriteOptions> {
    (
        any::<bool>(),
        any::<bool>(),
        prop_oneof![-5i64..=-1, 1i64..20],
    )
        .prop_map(
            |(compression, checksum, list_max_listpack_size)| WriteOptions {
                compression,
                checksum,
                encode: EncodeOptions {
                    // Overridden by `compression`.
                    compression: !compression,
                    list_max_listpack_size,
                },
            },
        )
}

/// The file, and the items it holds as the reader should return them.
fn write(
    aux: &[(Vec<u8>, Vec<u8>)],
    dbs: &BTreeMap<u64, Vec<RdbEntry>>,
    opts: WriteOptions,
) -> (Vec<u8>, Vec<RdbItem>) {
    let mut out = Vec::new();
    let mut items = Vec::new();
    let mut w = RdbWriter::new(opts, &mut out);
    for (k, v) in aux {
        w.aux(&mut out, k, v);
        items.push(RdbItem::Aux {
            key: k.clone(),
            value: v.clone(),
        });
    }
    for (&db, entries) in dbs {
        let expires = entries.iter().filter(|e| e.expire_at_ms.is_some()).count() as u64;
        w.select_db(&mut out, db, entries.len() as u64, expires);
        items.push(RdbItem::SelectDb(db));
        items.push(RdbItem::ResizeDb {
            keys: entries.len() as u64,
            expires,
        });
        for e in entries {
            w.entry(
                &mut out,
                &e.key,
                &e.object,
                e.expire_at_ms,
                e.idle_seconds,
                e.freq,
            );
            // What the object decoder makes of this object (the encoding it
            // is read back with); its own round trip is tested elsewhere.
            let mut payload = Vec::new();
            e.object.encode(&mut payload, &opts.encode);
            let object = RdbObject::decode(&payload)
                .map(|(o, _)| o)
                .unwrap_or_else(|err| panic!("{err}"));
            items.push(RdbItem::Entry(RdbEntry {
                object,
                ..e.clone()
            }));
        }
    }
    assert_eq!(w.written(), out.len() as u64);
    w.finish(&mut out);
    (out, items)
}

fn read(bytes: &[u8]) -> Result<Vec<RdbItem>, RdbFileError> {
    RdbReader::new(bytes)?.collect()
}

/// As `read`, locating keys first and decoding each one after, as a
/// parallel loader does.
fn read_ref(bytes: &[u8]) -> Result<Vec<RdbItem>, RdbFileError> {
    let mut r = RdbReader::new(bytes)?;
    let mut items = Vec::new();
    while let Some(item) = r.next_item_ref()? {
        match item {
            RdbItemRef::Other(item) => items.push(item),
            RdbItemRef::Entry(e) => {
                if let Some(entry) = e.into_entry()? {
                    items.push(RdbItem::Entry(entry));
                }
            }
        }
    }
    Ok(items)
}

/// Both ways of reading succeed or fail together, and agree on success.
fn same_both_ways(bytes: &[u8]) -> Result<(), TestCaseError> {
    let (a, b) = (read(bytes), read_ref(bytes));
    match (&a, &b) {
        (Ok(x), Ok(y)) => prop_assert_eq!(x, y),
        (Err(_), Err(_)) => {}
        _ => prop_assert!(false, "read {:?}, read_ref {:?}", a, b),
    }
    Ok(())
}

fn aux() -> impl Strategy<Value = Vec<(Vec<u8>, Vec<u8>)>> {
    proptest::collection::vec((element(), element()), 0..4)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn files_round_trip(aux in aux(), dbs in databases(), opts in options()) {
        let (file, want) = write(&aux, &dbs, opts);
        prop_assert_eq!(read(&file), Ok(want.clone()));
        prop_assert_eq!(read_ref(&file), Ok(want));
        // The stored checksum is 0 exactly when it is off.
        let crc = &file[file.len() - 8..];
        prop_assert_eq!(crc == [0; 8], !opts.checksum);
    }

    /// Every cut in the header and the tail (EOF opcode, checksum), and
    /// cuts anywhere else.
    #[test]
    fn every_truncation_is_an_error(
        aux in aux(),
        dbs in databases(),
        opts in options(),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 50),
    ) {
        let (file, _) = write(&aux, &dbs, opts);
        let n = file.len();
        let ends = (0..n.min(32)).chain(n.saturating_sub(32)..n);
        for cut in ends.chain(cuts.iter().map(|c| c.index(n))) {
            let got = read(&file[..cut]);
            prop_assert!(got.is_err(), "cut at {} of {}: {:?}", cut, n, got);
            prop_assert!(read_ref(&file[..cut]).is_err(), "cut at {} of {}", cut, n);
        }
    }

    /// With a checksum, every single bit flip is an error, unless it makes
    /// the reader stop early at 8 zero bytes, which the reader takes for an
    /// uncomputed checksum (as Redis does): then it has not read the whole
    /// file, which a strict loader sees in `offset()`.
    #[test]
    fn every_bit_flip_is_detected(
        aux in aux(),
        dbs in databases(),
        opts in options(),
        picks in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..8), 1..30),
    ) {
        let opts = WriteOptions { checksum: true, ..opts };
        let (file, _) = write(&aux, &dbs, opts);
        for (at, bit) in picks {
            let mut bad = file.clone();
            let i = at.index(bad.len());
            bad[i] ^= 1 << bit;
            let mut stopped_early = false;
            let got = RdbReader::new(&bad).and_then(|mut r| {
                let items = r.by_ref().collect::<Result<Vec<_>, _>>();
                stopped_early = r.offset() < bad.len();
                items
            });
            prop_assert!(
                got.is_err() || stopped_early,
                "bit {} of byte {} flipped: {:?}",
                bit,
                i,
                got
            );
        }
    }

    /// Any corruption, with or without a checksum, never panics.
    #[test]
    fn corrupted_files_never_panic(
        dbs in databases(),
        opts in options(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let (mut file, _) = write(&[], &dbs, opts);
        for (at, x) in flips {
            let i = at.index(file.len());
            file[i] ^= x;
        }
        same_both_ways(&file)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut file = b"REDIS0010".to_vec();
        file.extend_from_slice(&bytes);
        same_both_ways(&file)?;
        same_both_ways(&bytes)?;
    }

    /// A flip inside a string's bytes leaves the file well formed: only
    /// the checksum can tell.
    #[test]
    fn checksum_mismatch_is_reported(
        dbs in databases(),
        opts in options(),
        text in "[d-z]{30,60}",
        at in any::<prop::sample::Index>(),
    ) {
        let opts = WriteOptions { compression: false, checksum: true, ..opts };
        let mut dbs = dbs;
        let marker = RdbEntry {
            key: b"marker".to_vec(),
            object: RdbObject { value: RdbValue::String(text.clone().into_bytes()), encoding: Encoding::Compact },
            expire_at_ms: None,
            idle_seconds: None,
            freq: None,
        };
        dbs.insert(1 << 40, vec![marker]);
        let (mut file, _) = write(&[], &dbs, opts);
        let start = file
            .windows(text.len())
            .position(|w| w == text.as_bytes())
            .expect("the marker is written as is");
        file[start + at.index(text.len())] ^= 0x01;
        let stored = u64::from_le_bytes(file[file.len() - 8..].try_into().expect("8 bytes"));
        match read(&file) {
            Err(RdbFileError::Checksum { stored: s, computed }) => {
                prop_assert_eq!(s, stored);
                prop_assert_ne!(computed, stored);
            }
            other => prop_assert!(false, "{:?}", other),
        }
        // Without a checksum the same flip goes unnoticed.
        let last = file.len() - 8;
        file[last..].fill(0);
        prop_assert!(read(&file).is_ok());
    }
}

#[test]
fn standard_aux_fields_in_redis_order() {
    let mut out = Vec::new();
    let mut w = RdbWriter::new(WriteOptions::default(), &mut out);
    w.standard_aux(
        &mut out,
        &StandardAux {
            redis_ver: "7.0.15",
            ctime: 1_700_000_000,
            used_mem: 123_456,
            repl: Some(ferrodis_persist::ReplAux {
                stream_db: 0,
                id: "a".repeat(40).as_str(),
                offset: 42,
            }),
            aof_base: false,
        },
    );
    w.finish(&mut out);
    let aux: Vec<(String, String)> = read(&out)
        .expect("reads")
        .into_iter()
        .map(|i| match i {
            RdbItem::Aux { key, value } => (
                String::from_utf8(key).expect("utf8"),
                String::from_utf8(value).expect("utf8"),
            ),
            other => panic!("{other:?}"),
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("redis-ver", "7.0.15"),
        ("redis-bits", "64"),
        ("ctime", "1700000000"),
        ("used-mem", "123456"),
        ("repl-stream-db", "0"),
        ("repl-id", &"a".repeat(40)),
        ("repl-offset", "42"),
        ("aof-base", "0"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    assert_eq!(aux, want);
}
