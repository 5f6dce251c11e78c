//! `persist/`: writing and reading an RDB file of 100,000 mixed keys
//! (strings of every encoding, small lists, hashes, sets and sorted sets,
//! a few large collections, a fifth with a TTL) in memory.
//!
//! The reference is the same objects as one `DUMP` payload each (what
//! `MIGRATE` and a `DUMP`/`RESTORE` copy do): the ratio says what the file
//! layer (keys, opcodes, one running checksum instead of one per key)
//! costs or saves over the object encoding alone. Throughput is the file's
//! size.

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use ferrodis_persist::{
    EncodeOptions, Encoding, RdbItem, RdbObject, RdbReader, RdbValue, RdbWriter, WriteOptions,
};

const KEYS: usize = 100_000;

struct Key {
    key: Vec<u8>,
    object: RdbObject,
    expire_at_ms: Option<u64>,
}

fn s(x: impl AsRef<[u8]>) -> Vec<u8> {
    x.as_ref().to_vec()
}

/// A deterministic mix of types and encodings.
fn keys() -> Vec<Key> {
    (0..KEYS)
        .map(|i| {
            let c = Encoding::Compact;
            let (value, encoding) = match i % 20 {
                0..=3 => (RdbValue::String(s(format!("{}", i * 37))), c),
                4..=6 => (RdbValue::String(s(format!("value-{i}"))), c),
                7 | 8 => (
                    RdbValue::String(s(format!("{}-{i}", "lorem ipsum ".repeat(8)))),
                    c,
                ),
                9 | 10 => (
                    RdbValue::List((0..8).map(|j| s(format!("item-{j}"))).collect()),
                    c,
                ),
                11 | 12 => (
                    RdbValue::Hash(
                        (0..6)
                            .map(|j| (s(format!("field{j}")), s(format!("{}", i + j))))
                            .collect(),
                    ),
                    c,
                ),
                13 | 14 => (
                    RdbValue::Set((0..10).map(|j| s(format!("{}", i * 10 + j))).collect()),
                    c,
                ),
                15 | 16 => (
                    RdbValue::ZSet(
                        (0..6)
                            .map(|j| (s(format!("member{j}")), j as f64 * 1.5))
                            .collect(),
                    ),
                    c,
                ),
                17 => (
                    RdbValue::Set(vec![s("a"), s("b"), s(format!("{i}"))]),
                    Encoding::Full,
                ),
                // One key in 2000: a large collection.
                _ if i % 2000 == 18 => (
                    RdbValue::Hash(
                        (0..1000)
                            .map(|j| (s(format!("f{j}")), s(format!("v{j}"))))
                            .collect(),
                    ),
                    Encoding::Full,
                ),
                _ => (
                    RdbValue::List((0..50).map(|j| s(format!("{i}:{j}"))).collect()),
                    c,
                ),
            };
            Key {
                key: s(format!("key:{i:08}")),
                object: RdbObject { value, encoding },
                expire_at_ms: (i % 5 == 0).then_some(1_900_000_000_000 + i as u64),
            }
        })
        .collect()
}

fn write_file(keys: &[Key], opts: WriteOptions) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = RdbWriter::new(opts, &mut out);
    let expires = keys.iter().filter(|k| k.expire_at_ms.is_some()).count() as u64;
    w.select_db(&mut out, 0, keys.len() as u64, expires);
    for k in keys {
        w.entry(&mut out, &k.key, &k.object, k.expire_at_ms, None, None);
    }
    w.finish(&mut out);
    out
}

fn dump_payloads(keys: &[Key]) -> Vec<Vec<u8>> {
    let opts = EncodeOptions::default();
    keys.iter().map(|k| k.object.to_dump(&opts)).collect()
}

pub(crate) fn benches(c: &mut Criterion) {
    let keys = keys();
    let compressed = WriteOptions::default();
    let plain = WriteOptions {
        compression: false,
        ..WriteOptions::default()
    };
    let file = write_file(&keys, compressed);

    let mut group = c.benchmark_group("persist/rdb_write_100k");
    group.throughput(Throughput::Bytes(file.len() as u64));
    group.sample_size(10);
    group.bench_function("rdb-file", |b| {
        b.iter(|| black_box(write_file(&keys, compressed)))
    });
    group.bench_function("rdb-file-uncompressed", |b| {
        b.iter(|| black_box(write_file(&keys, plain)))
    });
    group.bench_function("dump-payloads", |b| {
        b.iter(|| black_box(dump_payloads(&keys)))
    });
    group.finish();

    let payloads = dump_payloads(&keys);
    let mut group = c.benchmark_group("persist/rdb_read_100k");
    group.throughput(Throughput::Bytes(file.len() as u64));
    group.sample_size(10);
    group.bench_function("rdb-file", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for item in RdbReader::new(&file).expect("header") {
                if let RdbItem::Entry(e) = item.expect("valid file") {
                    n += e.key.len();
                    black_box(e);
                }
            }
            n
        })
    });
    group.bench_function("dump-payloads", |b| {
        b.iter(|| {
            for p in &payloads {
                black_box(RdbObject::from_dump(p).expect("valid payload"));
            }
        })
    });
    group.finish();
}

pub(crate) fn print_ratios() {
    crate::print_ratio(
        "persist/rdb_write_100k",
        "rdb-file",
        "dump-payloads",
        "the file writer vs one DUMP payload per key: faster by",
    );
    crate::print_ratio(
        "persist/rdb_read_100k",
        "rdb-file",
        "dump-payloads",
        "the file reader vs RESTORE-decoding one payload per key: faster by",
    );
}
