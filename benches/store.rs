//! `store/`: the keyspace's hot path, SET and GET of 16-byte values on
//! 100,000 keys, by one thread and by two threads sharing the store, next to
//! the simplest thread-safe alternative (`Mutex<HashMap>`) on the same keys.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput};
use ferrodis_store::{SetOptions, Store};
use parking_lot::Mutex;

const KEYS: usize = 100_000;

fn keys() -> Vec<Vec<u8>> {
    (0..KEYS)
        .map(|i| format!("key:{i:08}").into_bytes())
        .collect()
}

/// The baseline: one lock around one map.
#[derive(Default)]
struct MutexMap(Mutex<HashMap<Vec<u8>, Vec<u8>>>);

impl MutexMap {
    fn set(&self, k: &[u8], v: &[u8]) {
        self.0.lock().insert(k.to_vec(), v.to_vec());
    }
    fn get(&self, k: &[u8]) -> Option<Vec<u8>> {
        self.0.lock().get(k).cloned()
    }
}

/// Runs `work` on `threads` threads, each over its share of `keys`.
fn parallel(
    threads: usize,
    keys: &Arc<Vec<Vec<u8>>>,
    work: impl Fn(&[Vec<u8>]) + Send + Sync + Clone + 'static,
) {
    let chunk = keys.len() / threads;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let keys = Arc::clone(keys);
            let work = work.clone();
            std::thread::spawn(move || work(&keys[t * chunk..(t + 1) * chunk]))
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
}

pub(crate) fn benches(c: &mut Criterion) {
    let keys = Arc::new(keys());
    let value = [7u8; 16];
    for threads in [1usize, 2] {
        let mut group = c.benchmark_group(format!("store/set_get_{threads}t"));
        group.throughput(Throughput::Elements(2 * KEYS as u64));
        group.sample_size(20);
        group.bench_function("ferrodis", |b| {
            b.iter(|| {
                let store = Arc::new(Store::new());
                let s = Arc::clone(&store);
                parallel(threads, &keys, move |ks| {
                    let db = s.db(0).expect("db 0");
                    for k in ks {
                        db.set(k, &value, SetOptions::default()).expect("set");
                    }
                    for k in ks {
                        black_box(db.get_with(k, |v| v.len()).expect("get"));
                    }
                });
                store
            })
        });
        group.bench_function("mutex-hashmap", |b| {
            b.iter(|| {
                let map = Arc::new(MutexMap::default());
                let m = Arc::clone(&map);
                parallel(threads, &keys, move |ks| {
                    for k in ks {
                        m.set(k, &value);
                    }
                    for k in ks {
                        black_box(m.get(k).map(|v| v.len()));
                    }
                });
                map
            })
        });
        group.finish();
    }
}

pub(crate) fn print_ratios() {
    for t in ["1t", "2t"] {
        crate::print_ratio(
            &format!("store/set_get_{t}"),
            "ferrodis",
            "mutex-hashmap",
            "Ferrodis is faster by",
        );
    }
}
