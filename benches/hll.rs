//! `hll/`: PFADD's and PFCOUNT's work on one HyperLogLog, sparse next to
//! dense on the same elements. No HyperLogLog crate writes Redis' layout,
//! so the reference is the other encoding of our own (the trade-off Redis
//! makes with `hll-sparse-max-bytes`), and, for PFADD, an exact
//! `HashSet` of the elements.

use std::collections::HashSet;
use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput};
use ferrodis_store::hll;

/// Elements per iteration: few enough that the sparse HLL stays sparse
/// under the default `hll-sparse-max-bytes` (3000).
const ELEMENTS: usize = 500;
const SPARSE_MAX: usize = 3000;

fn elements() -> Vec<Vec<u8>> {
    (0..ELEMENTS)
        .map(|i| format!("element:{i:08}").into_bytes())
        .collect()
}

fn dense_empty() -> Vec<u8> {
    let mut h = hll::new_sparse();
    // A fresh HLL is a valid sparse one: conversion cannot fail.
    let _ = hll::to_dense(&mut h);
    h
}

fn filled(mut h: Vec<u8>, elements: &[Vec<u8>]) -> Vec<u8> {
    for e in elements {
        let _ = hll::add(&mut h, e, SPARSE_MAX);
    }
    h
}

pub(crate) fn benches(c: &mut Criterion) {
    let elements = elements();
    let mut group = c.benchmark_group("hll/pfadd");
    group.throughput(Throughput::Elements(ELEMENTS as u64));
    group.bench_function("sparse", |b| {
        b.iter_batched(
            hll::new_sparse,
            |h| black_box(filled(h, &elements)),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("dense", |b| {
        b.iter_batched(
            dense_empty,
            |h| black_box(filled(h, &elements)),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("hashset", |b| {
        b.iter_batched(
            HashSet::<&[u8]>::new,
            |mut set| {
                for e in &elements {
                    set.insert(e.as_slice());
                }
                black_box(set.len())
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();

    let sparse = filled(hll::new_sparse(), &elements);
    let dense = filled(dense_empty(), &elements);
    assert_eq!(hll::count(&sparse), hll::count(&dense));
    let mut group = c.benchmark_group("hll/pfcount");
    group.bench_function("sparse", |b| b.iter(|| black_box(hll::count(&sparse))));
    group.bench_function("dense", |b| b.iter(|| black_box(hll::count(&dense))));
    group.finish();
}

pub(crate) fn print_ratios() {
    crate::print_ratio("hll/pfadd", "sparse", "dense", "sparse vs dense:");
    crate::print_ratio(
        "hll/pfadd",
        "sparse",
        "hashset",
        "sparse vs an exact HashSet:",
    );
    crate::print_ratio("hll/pfcount", "sparse", "dense", "sparse vs dense:");
}
