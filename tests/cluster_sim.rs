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
use sim::plan::{Op, Plan};
use sim::world::{run, Failure, Stats};
use std::time::Instant;

/// What a set of seeds did.
#[derive(Default)]
struct Tally {
    stats: Stats,
    failures: Vec<Failure>,
    /// The slowest seed: seconds, seed.
    slowest: (f64, u64),
    dead: u64,
    fail_agreed: u64,
    forgotten: u64,
    replicas: u64,
    partitions: u64,
    pauses: u64,
    loss: u64,
    holes: u64,
}

impl Tally {
    fn count(&mut self, plan: &Plan, secs: f64, result: Result<(Stats, Vec<String>), Failure>) {
        let has = |f: fn(&Op) -> bool| plan.steps.iter().any(|s| f(&s.op));
        let dead = plan.dead.iter().any(|&d| d);
        self.dead += u64::from(dead);
        self.fail_agreed += u64::from(dead && plan.fail_quorum(&plan.slots, &plan.replica_of));
        self.forgotten += u64::from(plan.forgotten.iter().any(|&f| f));
        self.replicas += u64::from(plan.replica_of.iter().any(Option::is_some));
        self.partitions += u64::from(has(|o| matches!(o, Op::Split { .. })));
        self.pauses += u64::from(has(|o| matches!(o, Op::Pause { .. })));
        self.loss += u64::from(plan.loss > 0.0);
        self.holes += u64::from(!plan.full_coverage());
        if secs > self.slowest.0 {
            self.slowest = (secs, plan.seed);
        }
        match result {
            Ok((stats, _)) => self.stats.add(&stats),
            Err(failure) => self.failures.push(failure),
        }
    }

    fn merge(&mut self, other: Tally) {
        self.stats.add(&other.stats);
        self.failures.extend(other.failures);
        if other.slowest.0 > self.slowest.0 {
            self.slowest = other.slowest;
        }
        self.dead += other.dead;
        self.fail_agreed += other.fail_agreed;
        self.forgotten += other.forgotten;
        self.replicas += other.replicas;
        self.partitions += other.partitions;
        self.pauses += other.pauses;
        self.loss += other.loss;
        self.holes += other.holes;
    }
}

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
    let results: Vec<Tally> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let mut tally = Tally::default();
                    for seed in (first..first + count).filter(|s| s % threads == t) {
                        let plan = Plan::new(seed);
                        let began = Instant::now();
                        let result = run(&plan, honest(), false);
                        tally.count(&plan, began.elapsed().as_secs_f64(), result);
                    }
                    tally
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a simulation thread panicked"))
            .collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    let mut all = Tally::default();
    for t in results {
        all.merge(t);
    }
    let (total, mut failures) = (all.stats, all.failures);
    eprintln!(
        "{count} seeds from {first} in {elapsed:.1} s on {threads} threads ({:.1} seeds/s; \
         slowest seed {} in {:.2} s): {} simulated s, {} events, {} messages sent, slowest \
         convergence {} ms after the calm",
        count as f64 / elapsed,
        all.slowest.1,
        all.slowest.0,
        total.sim_ms / 1000,
        total.events,
        total.sent,
        total.converged_after,
    );
    eprintln!(
        "seeds with: a node dead for good {} (FAIL agreed {}, forgotten {}), replicas {}, partitions {} \
         ({} nodes checked on a minority side, {} on a serving side, {} for FAIL), pauses {}, lost messages {}, slots left \
         unassigned {}, a resharding {}",
        all.dead,
        all.fail_agreed,
        all.forgotten,
        all.replicas,
        all.partitions,
        total.minority_checks,
        total.majority_checks,
        total.fail_checks,
        all.pauses,
        all.loss,
        all.holes,
        total.reshards
    );
    eprintln!(
        "failover: {} replicas turned master ({} manual failovers started), {} sibling offsets \
         compared with an elected replica's, {} writes accepted, {} refused by a master without \
         the cluster during a partition",
        total.failovers,
        total.manual_failovers,
        total.rank_checks,
        total.writes,
        total.minority_refusals,
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
