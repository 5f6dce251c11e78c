//! The cluster simulation: whole clusters of the bus state machine on a
//! simulated clock and network, with faults chosen by a seed (crashes,
//! pauses, partitions, lost messages, link resets, latency, clock skew).
//! Each seed must keep the invariants after every event and converge once
//! the faults stop. `tests/sim/mod.rs` says what is modelled and checked.
//!
//! A failure prints the seed, its plan, the nodes' views and the last
//! events. `FERRODIS_SIM_SEED=<n>` replays seed `n` alone with every event
//! printed; `FERRODIS_SIM_SEEDS=<count>` runs more seeds than the default
//! 500, and `FERRODIS_SIM_FIRST_SEED=<n>` starts elsewhere.
#![allow(clippy::print_stderr)]

mod sim;

use sim::node::honest;
use sim::plan::Plan;
use sim::world::{run, Failure, Stats};
use std::time::Instant;

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value} is not a number")),
    )
}

#[test]
fn random_clusters_keep_the_invariants_and_converge() {
    if let Some(seed) = env_u64("FERRODIS_SIM_SEED") {
        let plan = Plan::new(seed);
        eprintln!("{plan}");
        match run(&plan, honest(), true) {
            Ok((stats, trace)) => {
                for line in trace {
                    eprintln!("{line}");
                }
                eprintln!("seed {seed} passed: {stats:?}");
            }
            Err(failure) => panic!("{}", failure.report),
        }
        return;
    }
    let count = env_u64("FERRODIS_SIM_SEEDS").unwrap_or(500);
    let first = env_u64("FERRODIS_SIM_FIRST_SEED").unwrap_or(0);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4) as u64;
    let started = Instant::now();
    let results: Vec<(Stats, Vec<Failure>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let mut total = Stats::default();
                    let mut failures = Vec::new();
                    for seed in (first..first + count).filter(|s| s % threads == t) {
                        let began = Instant::now();
                        let result = run(&Plan::new(seed), honest(), false);
                        if std::env::var_os("FERRODIS_SIM_TIMES").is_some() {
                            let p = Plan::new(seed);
                            eprintln!(
                                "TIME {seed} {:.3} n={} owners={} timeout={}",
                                began.elapsed().as_secs_f64(),
                                p.n,
                                p.slots.iter().filter(|s| s.count() > 0).count(),
                                p.node_timeout
                            );
                        }
                        match result {
                            Ok((stats, _)) => {
                                total.events += stats.events;
                                total.sent += stats.sent;
                                total.delivered += stats.delivered;
                                total.sim_ms += stats.sim_ms;
                                total.converged_after =
                                    total.converged_after.max(stats.converged_after);
                            }
                            Err(failure) => failures.push(failure),
                        }
                    }
                    (total, failures)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a simulation thread panicked"))
            .collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    let mut failures: Vec<Failure> = Vec::new();
    let mut total = Stats::default();
    for (stats, f) in results {
        total.events += stats.events;
        total.sent += stats.sent;
        total.delivered += stats.delivered;
        total.sim_ms += stats.sim_ms;
        total.converged_after = total.converged_after.max(stats.converged_after);
        failures.extend(f);
    }
    eprintln!(
        "{count} seeds from {first} in {elapsed:.1} s on {threads} threads ({:.1} seeds/s): \
         {} simulated s, {} events, {} messages sent, slowest convergence {} ms after the calm",
        count as f64 / elapsed,
        total.sim_ms / 1000,
        total.events,
        total.sent,
        total.converged_after
    );
    failures.sort_by_key(|f| f.seed);
    if let Some(f) = failures.first() {
        let seeds: Vec<String> = failures
            .iter()
            .map(|f| format!("{} ({})", f.seed, f.property))
            .collect();
        panic!(
            "{} of {count} seeds failed: {}\n\nthe first:\n{}",
            failures.len(),
            seeds.join(", "),
            f.report
        );
    }
}
