//! Criterion benchmarks for Ferrodis' hot paths. One binary registers every
//! suite; run with `cargo bench --bench main` (add a filter such as
//! `-- resp/` to run one suite).
//!
//! Each suite measures a reference implementation on the same inputs in the
//! same run, and the summary at the end prints the ratio, so figures taken on
//! a noisy machine can still be compared.
#![allow(missing_docs, clippy::print_stdout)]

mod hll;
mod persist;
mod resp;
mod store;

use criterion::Criterion;

fn main() {
    let mut c = Criterion::default().configure_from_args();
    resp::benches(&mut c);
    store::benches(&mut c);
    persist::benches(&mut c);
    hll::benches(&mut c);
    c.final_summary();
    resp::print_ratios();
    store::print_ratios();
    persist::print_ratios();
    hll::print_ratios();
}

/// The mean time of one benchmark from criterion's saved estimates, in ns.
pub(crate) fn mean_ns(group: &str, function: &str) -> Option<f64> {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".to_owned());
    let path = std::path::Path::new(&target)
        .join("criterion")
        // criterion turns the `/` in group names into `_` on disk.
        .join(group.replace('/', "_"))
        .join(function)
        .join("new")
        .join("estimates.json");
    let json = std::fs::read_to_string(path).ok()?;
    // {"mean":{"confidence_interval":{...},"point_estimate":123.4,...},...}
    let mean = &json[json.find("\"mean\"")?..];
    let value = &mean[mean.find("\"point_estimate\":")? + "\"point_estimate\":".len()..];
    let end = value.find([',', '}'])?;
    value[..end].trim().parse().ok()
}

/// Prints `name: a vs b = ratio` for two benchmarks of one group.
pub(crate) fn print_ratio(group: &str, ours: &str, theirs: &str, what: &str) {
    match (mean_ns(group, ours), mean_ns(group, theirs)) {
        (Some(a), Some(b)) => println!(
            "{group}: {ours} {a:.0} ns, {theirs} {b:.0} ns per iteration; {what} {:.2}x",
            b / a
        ),
        _ => println!("{group}: no saved estimates (run `cargo bench --bench main`)"),
    }
}
