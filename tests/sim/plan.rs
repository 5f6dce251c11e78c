//! What one seed does: the cluster's shape, the network's character, and a
//! timeline of operator commands and faults. A plan is drawn from the seed
//! alone, before the run starts, so the summary printed with a failure says
//! what the run was about.

use super::node::no_slots;
use super::rng::Rng;
use ferrodis_slots::{NodeId, Slot, SlotSet, SLOT_COUNT};
use std::fmt;

/// The client port of node `i`; its bus port is 10000 more, as Redis'
/// default.
pub(crate) fn port(i: usize) -> u16 {
    7000 + i as u16
}

pub(crate) fn cport(i: usize) -> u16 {
    port(i) + 10000
}

/// One step of the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Op {
    /// `CLUSTER MEET` on `from` with `to`'s address. The operator checks
    /// again after the handshake timeout and meets again until each knows
    /// the other, as a careful script does (a MEET lost to a fault is not
    /// retried by the cluster).
    Meet {
        from: usize,
        to: usize,
    },
    /// `CLUSTER ADDSLOTS` of the node's planned slots.
    Assign {
        node: usize,
    },
    /// `CLUSTER REPLICATE` of the node's planned master, repeated until
    /// the node knows the master.
    Replicate {
        node: usize,
    },
    /// `CLUSTER FORGET node` on node `on`, as `redis-cli --cluster
    /// del-node` sends it to every node, for a node that stays dead.
    Forget {
        on: usize,
        node: usize,
    },
    /// A resharding of slots `first..=last` from master `from` to master
    /// `to`, as `redis-cli --cluster reshard` does it (no keys): for each
    /// slot, SETSLOT IMPORTING on `to`, MIGRATING on `from`, then NODE
    /// `to` on `to` (which takes a new config epoch without agreement) and
    /// on `from`. The operator waits until both are up, know each other and
    /// `from` serves the slots.
    Move {
        from: usize,
        to: usize,
        first: u16,
        last: u16,
    },
    /// The node's process dies; with `host_down`, its machine too, so that
    /// nothing answers at its address (connections hang) until it restarts.
    Crash {
        node: usize,
        host_down: bool,
    },
    /// The node starts again with the same id and address.
    Restart {
        node: usize,
    },
    /// The node's process stops (SIGSTOP, a long pause): the kernel still
    /// accepts connections and buffers bytes, nothing is processed.
    Pause {
        node: usize,
    },
    Resume {
        node: usize,
    },
    /// The network splits: `side[i]` says which side node `i` is on. With
    /// `drop`, packets across vanish (TCP retransmits, connects hang);
    /// without, they are rejected (connections across reset, connects
    /// refused).
    Split {
        side: Vec<bool>,
        drop: bool,
    },
    Heal,
    /// A random open connection is reset (both ends see it close).
    ResetLink,
    /// `CLUSTER FAILOVER` (no option) on the node, if it is a replica
    /// then: its master pauses writes, the node catches up and takes over
    /// with no write lost.
    Failover {
        node: usize,
    },
    /// The end of the faults: no more loss; from here the cluster must
    /// converge within the settle limit.
    Calm,
}

/// A step at a time (ms from the start).
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub(crate) at: u64,
    pub(crate) op: Op,
}

/// Everything one seed does.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) seed: u64,
    pub(crate) n: usize,
    pub(crate) node_timeout: u64,
    pub(crate) ids: Vec<NodeId>,
    pub(crate) node_seeds: Vec<u64>,
    /// One-way latency in ms between two nodes (symmetric), before jitter.
    pub(crate) latency: Vec<Vec<u64>>,
    /// Each message takes up to this much more, drawn per message.
    pub(crate) jitter: u64,
    /// While faults run: the chance that a message resets its connection
    /// instead of arriving.
    pub(crate) loss: f64,
    /// The chance that a message arrives in two pieces.
    pub(crate) segment: f64,
    /// Whether the nodes announce their address (`cluster-announce-ip`),
    /// or learn it from the connections MEETs come on.
    pub(crate) announce_ip: bool,
    /// Each node's clock offset, ms.
    pub(crate) skew: Vec<i64>,
    /// Each tick comes up to this many ms late.
    pub(crate) tick_jitter: u64,
    /// The slots the operator gives each node.
    pub(crate) slots: Vec<SlotSet>,
    /// The master of each node that is a replica.
    pub(crate) replica_of: Vec<Option<usize>>,
    /// The operator's MEETs, as (from, to).
    pub(crate) meets: Vec<(usize, usize)>,
    pub(crate) topology: &'static str,
    /// Nodes that crash and never come back.
    pub(crate) dead: Vec<bool>,
    /// Dead nodes the operator removes from the cluster after the calm.
    pub(crate) forgotten: Vec<bool>,
    pub(crate) steps: Vec<Step>,
    /// When [`Op::Calm`] comes.
    pub(crate) chaos_end: u64,
    /// How long after the calm the cluster has to converge.
    pub(crate) settle_limit: u64,
    /// How long the properties must keep holding once they hold.
    pub(crate) stable_for: u64,
}

impl Plan {
    /// The plan of `seed`.
    pub(crate) fn new(seed: u64) -> Plan {
        let mut rng = Rng::new(seed);
        let n = rng.between(3, 12) as usize;
        let node_timeout = rng.pick(&[500, 1000, 2000]);
        let ids = (0..n).map(|_| random_id(&mut rng)).collect();
        let node_seeds = (0..n).map(|_| rng.next_u64()).collect();

        let (max_latency, jitter) = match rng.below(3) {
            0 => (1, 1),
            1 => (5, 5),
            _ => (node_timeout / 50, node_timeout / 50),
        };
        let mut latency = vec![vec![0; n]; n];
        for (i, j) in (0..n).flat_map(|i| (i + 1..n).map(move |j| (i, j))) {
            let l = rng.between(0, max_latency);
            latency[i][j] = l;
            latency[j][i] = l;
        }
        let loss = if rng.chance(0.3) {
            rng.pick(&[0.001, 0.005, 0.02])
        } else {
            0.0
        };
        let segment = if rng.chance(0.3) { 0.2 } else { 0.0 };
        let max_skew = rng.pick(&[0, 0, 50, 500]);
        let skew = (0..n)
            .map(|_| rng.between(0, 2 * max_skew) as i64 - max_skew as i64)
            .collect();
        let tick_jitter = rng.pick(&[0, 0, 10, 50]);
        let announce_ip = rng.chance(0.5);

        let (topology, meets) = meet_graph(&mut rng, n);
        let slots = assignment(&mut rng, n);

        let chaos_end = node_timeout * rng.between(2, 6) + 1500;
        let mut steps = Vec::new();
        for &(from, to) in &meets {
            steps.push(Step {
                at: rng.between(0, 300),
                op: Op::Meet { from, to },
            });
        }
        for (node, s) in slots.iter().enumerate() {
            if !s.is_empty() {
                steps.push(Step {
                    at: rng.between(0, 1500),
                    op: Op::Assign { node },
                });
            }
        }

        // Crashes: some nodes come back, some never do. Those that never do
        // must leave the operator's MEETs connecting the rest, and at most
        // a minority dies.
        let mut dead = vec![false; n];
        if rng.chance(0.5) {
            let mut victims: Vec<usize> = (0..n).collect();
            rng.shuffle(&mut victims);
            victims.truncate(rng.between(1, ((n as u64 - 1) / 2).max(1)) as usize);
            for node in victims {
                let at = rng.between(500, chaos_end - 200);
                let host_down = rng.chance(0.3);
                steps.push(Step {
                    at,
                    op: Op::Crash { node, host_down },
                });
                let mut stays_dead = rng.chance(0.4);
                if stays_dead {
                    dead[node] = true;
                    if !survivors_connected(n, &meets, &dead) {
                        dead[node] = false;
                        stays_dead = false;
                    }
                }
                if !stays_dead {
                    let back =
                        (at + rng.between(node_timeout / 2, 3 * node_timeout)).min(chaos_end);
                    steps.push(Step {
                        at: back,
                        op: Op::Restart { node },
                    });
                }
            }
        }
        if rng.chance(0.3) {
            for _ in 0..rng.between(1, 2) {
                let node = rng.index(n);
                let at = rng.between(500, chaos_end - 200);
                let back = (at + rng.between(node_timeout / 2, 3 * node_timeout)).min(chaos_end);
                steps.push(Step {
                    at,
                    op: Op::Pause { node },
                });
                steps.push(Step {
                    at: back,
                    op: Op::Resume { node },
                });
            }
        }
        let mut chaos_end = chaos_end;
        if rng.chance(0.4) {
            // One or two partitions, one after the other.
            let episodes = rng.between(1, 2);
            let span = (chaos_end - 500) / episodes;
            for e in 0..episodes {
                let from = 500 + e * span;
                let at = rng.between(from, from + span / 3);
                let until = rng.between(at + span / 4, from + span);
                let side = if rng.chance(0.5) {
                    // Two random sides.
                    let mut side: Vec<bool> = (0..n).map(|_| rng.chance(0.5)).collect();
                    if side.iter().all(|&s| s) || side.iter().all(|&s| !s) {
                        let i = rng.index(n);
                        side[i] = !side[i];
                    }
                    side
                } else {
                    // A few nodes cut off from the rest.
                    let mut order: Vec<usize> = (0..n).collect();
                    rng.shuffle(&mut order);
                    let k = rng.between(1, ((n as u64 - 1) / 2).max(1)) as usize;
                    let mut side = vec![false; n];
                    for &i in &order[..k] {
                        side[i] = true;
                    }
                    side
                };
                let drop = rng.chance(0.6);
                steps.push(Step {
                    at,
                    op: Op::Split { side, drop },
                });
                steps.push(Step {
                    at: until,
                    op: Op::Heal,
                });
            }
        } else if rng.chance(0.5) {
            // Once the cluster has formed, a few nodes are cut off from the
            // rest long enough for both sides to notice.
            let mut order: Vec<usize> = (0..n).collect();
            rng.shuffle(&mut order);
            let k = rng.between(1, ((n as u64 - 1) / 2).max(1)) as usize;
            let mut side = vec![false; n];
            for &i in &order[..k] {
                side[i] = true;
            }
            let at = rng.between(3000, 5000);
            let lasts = if rng.chance(0.5) {
                fail_delay(node_timeout)
            } else {
                probe_delay(node_timeout)
            };
            let until = at + lasts + rng.between(0, 2000);
            steps.push(Step {
                at,
                op: Op::Split {
                    side,
                    drop: rng.chance(0.6),
                },
            });
            steps.push(Step {
                at: until,
                op: Op::Heal,
            });
            chaos_end = chaos_end.max(until + 500);
        }
        if rng.chance(0.4) {
            for _ in 0..rng.between(1, 10) {
                steps.push(Step {
                    at: rng.between(200, chaos_end),
                    op: Op::ResetLink,
                });
            }
        }
        // Replicas: some of the nodes without slots follow a master that
        // stays.
        let mut replica_of = vec![None; n];
        let masters: Vec<usize> = (0..n)
            .filter(|&i| !slots[i].is_empty() && !dead[i])
            .collect();
        if !masters.is_empty() && rng.chance(0.5) {
            for node in (0..n).filter(|&i| slots[i].is_empty()) {
                if rng.chance(0.6) {
                    replica_of[node] = Some(rng.pick(&masters));
                    steps.push(Step {
                        at: rng.between(300, 2500),
                        op: Op::Replicate { node },
                    });
                }
            }
        }
        // A master with replicas is killed once the cluster has formed,
        // long enough for a replica to be elected, and comes back (as a
        // replica of the new master).
        let with_replicas: Vec<usize> = (0..n).filter(|&m| replica_of.contains(&Some(m))).collect();
        if !with_replicas.is_empty() && rng.chance(0.5) {
            let node = rng.pick(&with_replicas);
            let at = rng.between(3000, 4500);
            let back = at + fail_delay(node_timeout) + 1500 + rng.between(0, 2000);
            steps.push(Step {
                at,
                op: Op::Crash {
                    node,
                    host_down: rng.chance(0.3),
                },
            });
            steps.push(Step {
                at: back,
                op: Op::Restart { node },
            });
            chaos_end = chaos_end.max(back + 500);
        }
        // The operator fails a master over by hand, from one of its
        // replicas.
        let replicas: Vec<usize> = (0..n).filter(|&i| replica_of[i].is_some()).collect();
        if !replicas.is_empty() && rng.chance(0.3) {
            let node = rng.pick(&replicas);
            steps.push(Step {
                at: rng.between(3000, chaos_end.max(3500)),
                op: Op::Failover { node },
            });
        }
        // A resharding: a few slots of one master go to another master
        // (one with slots, or an empty one); the giver keeps some.
        let givers: Vec<usize> = (0..n).filter(|&i| slots[i].count() > 1).collect();
        if !givers.is_empty() && rng.chance(0.4) {
            let from = rng.pick(&givers);
            let takers: Vec<usize> = (0..n)
                .filter(|&i| i != from && replica_of[i].is_none())
                .collect();
            if !takers.is_empty() {
                let to = rng.pick(&takers);
                let range: Vec<u16> = slots[from].iter().map(Slot::get).collect();
                let k = rng.between(1, 5.min(range.len() as u64 - 1)) as usize;
                let start = rng.index(range.len() - k + 1);
                // A sub-range of `from`'s slots: they are contiguous, but a
                // hole may cut them.
                let (first, last) = (range[start], range[start + k - 1]);
                if usize::from(last - first) + 1 == k {
                    steps.push(Step {
                        at: rng.between(2000, chaos_end.max(2000)),
                        op: Op::Move {
                            from,
                            to,
                            first,
                            last,
                        },
                    });
                }
            }
        }
        // The operator removes some of the dead nodes without slots, once
        // the faults stop (a node restarted from an older nodes.conf would
        // bring them back).
        let mut forgotten = vec![false; n];
        for node in (0..n).filter(|&i| dead[i] && slots[i].is_empty()) {
            if rng.chance(0.5) {
                forgotten[node] = true;
                for on in (0..n).filter(|&i| !dead[i]) {
                    steps.push(Step {
                        at: chaos_end + rng.between(0, 2000),
                        op: Op::Forget { on, node },
                    });
                }
            }
        }
        steps.push(Step {
            at: chaos_end,
            op: Op::Calm,
        });
        // Stable sort: steps at the same time keep the order drawn.
        steps.sort_by_key(|s| s.at);

        Plan {
            seed,
            n,
            node_timeout,
            ids,
            node_seeds,
            latency,
            jitter,
            loss,
            segment,
            announce_ip,
            skew,
            tick_jitter,
            slots,
            replica_of,
            meets,
            topology,
            dead,
            forgotten,
            steps,
            chaos_end,
            settle_limit: 10 * node_timeout + 5000,
            stable_for: 2 * node_timeout,
        }
    }

    /// A plan without faults: `n` nodes on a quiet network, met in a star
    /// around node 0 at the start, the slots split evenly among all of them.
    /// The harness' own tests start from it.
    pub(crate) fn quiet(seed: u64, n: usize) -> Plan {
        let mut rng = Rng::new(seed);
        let node_timeout = 1000;
        let mut slots = vec![SlotSet::new(); n];
        for slot in 0..SLOT_COUNT {
            if let Some(s) = Slot::new(slot) {
                slots[usize::from(slot) * n / usize::from(SLOT_COUNT)].insert(s);
            }
        }
        let meets: Vec<(usize, usize)> = (1..n).map(|i| (0, i)).collect();
        let mut steps: Vec<Step> = meets
            .iter()
            .map(|&(from, to)| Step {
                at: 0,
                op: Op::Meet { from, to },
            })
            .collect();
        steps.extend((0..n).map(|node| Step {
            at: 0,
            op: Op::Assign { node },
        }));
        let chaos_end = 2000;
        steps.push(Step {
            at: chaos_end,
            op: Op::Calm,
        });
        Plan {
            seed,
            n,
            node_timeout,
            ids: (0..n).map(|_| random_id(&mut rng)).collect(),
            node_seeds: (0..n).map(|_| rng.next_u64()).collect(),
            latency: vec![vec![1; n]; n],
            jitter: 1,
            loss: 0.0,
            segment: 0.0,
            announce_ip: true,
            skew: vec![0; n],
            tick_jitter: 0,
            slots,
            replica_of: vec![None; n],
            meets,
            topology: "star",
            dead: vec![false; n],
            forgotten: vec![false; n],
            steps,
            chaos_end,
            settle_limit: 10 * node_timeout + 5000,
            stable_for: 2 * node_timeout,
        }
    }

    /// Whether the operator assigns all 16384 slots.
    pub(crate) fn full_coverage(&self) -> bool {
        self.slots.iter().map(SlotSet::count).sum::<usize>() == usize::from(SLOT_COUNT)
    }

    /// Whether a node that stays dead serves slots, when they are assigned
    /// as `slots` says.
    pub(crate) fn dead_owner(&self, slots: &[SlotSet]) -> bool {
        (0..self.n).any(|i| self.dead[i] && !no_slots(&slots[i]))
    }

    /// Whether the masters that stay alive can agree that a node failed,
    /// when slots are assigned as `slots` says: a majority of the masters
    /// serving slots (the cluster's size) must report it; every master
    /// counts, a replica does not.
    /// `roles` says who replicates whom (the plan's, or as failovers left
    /// it).
    pub(crate) fn fail_quorum(&self, slots: &[SlotSet], roles: &[Option<usize>]) -> bool {
        let size = slots.iter().filter(|s| !no_slots(s)).count();
        let alive = |replica: bool| {
            (0..self.n)
                .filter(|&i| !self.dead[i] && roles[i].is_some() == replica)
                .count()
        };
        fail_reachable(alive(false), alive(true), size)
    }

    /// The node at this bus address, if any.
    pub(crate) fn node_at_cport(&self, cport: u16) -> Option<usize> {
        (0..self.n).find(|&i| self::cport(i) == cport)
    }

    pub(crate) fn index_of(&self, id: &NodeId) -> Option<usize> {
        self.ids.iter().position(|x| x == id)
    }
}

impl fmt::Display for Plan {
    /// One paragraph: the shape and the faults.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = |pred: fn(&Op) -> bool| self.steps.iter().filter(|s| pred(&s.op)).count();
        writeln!(
            f,
            "seed {}: {} nodes, node_timeout {} ms, meets as a {} {:?}, calm at {} ms, settle within {} ms",
            self.seed,
            self.n,
            self.node_timeout,
            self.topology,
            self.meets,
            self.chaos_end,
            self.settle_limit
        )?;
        let owners: Vec<String> = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.is_empty())
            .map(|(i, s)| format!("{i}:[{s}]"))
            .collect();
        writeln!(f, "  slots: {}", owners.join(" "))?;
        writeln!(
            f,
            "  network: latency up to {} ms + jitter {} ms, loss {}, segmenting {}, skew {:?}, tick jitter {} ms, {}",
            self.latency.iter().flatten().max().copied().unwrap_or(0),
            self.jitter,
            self.loss,
            self.segment,
            self.skew,
            self.tick_jitter,
            if self.announce_ip { "addresses announced" } else { "addresses learnt" }
        )?;
        writeln!(
            f,
            "  replicas (node, master): {:?}, reshardings: {:?}, manual failovers: {:?}\n  faults: {} crashes ({} for good: {:?}, forgotten: {:?}), {} pauses, {} partitions, {} link resets",
            (0..self.n)
                .filter_map(|i| self.replica_of[i].map(|m| (i, m)))
                .collect::<Vec<_>>(),
            self.steps
                .iter()
                .filter(|s| matches!(s.op, Op::Move { .. }))
                .map(|s| &s.op)
                .collect::<Vec<_>>(),
            self.steps
                .iter()
                .filter_map(|s| match s.op {
                    Op::Failover { node } => Some(node),
                    _ => None,
                })
                .collect::<Vec<_>>(),
            count(|o| matches!(o, Op::Crash { .. })),
            self.dead.iter().filter(|&&d| d).count(),
            (0..self.n).filter(|&i| self.dead[i]).collect::<Vec<_>>(),
            (0..self.n).filter(|&i| self.forgotten[i]).collect::<Vec<_>>(),
            count(|o| matches!(o, Op::Pause { .. })),
            count(|o| matches!(o, Op::Split { .. })),
            count(|o| matches!(o, Op::ResetLink)),
        )?;
        for (i, id) in self.ids.iter().enumerate() {
            write!(f, "  node {i} = {id}")?;
            if i + 1 < self.ids.len() {
                writeln!(f)?;
            }
        }
        Ok(())
    }
}

/// Whether `masters` masters and `replicas` replicas that hear each other
/// can agree that a node failed, in a cluster of `size` masters serving
/// slots: a node marks FAIL when the failure reports it has heard, plus
/// itself if it is a master, make a majority of `size` (cluster
/// specification, "Failure detection"); it counts them on hearing one, so
/// a master needs at least one other master to report.
pub(crate) fn fail_reachable(masters: usize, replicas: usize, size: usize) -> bool {
    let quorum = size / 2 + 1;
    masters >= quorum && (masters >= 2 || replicas >= 1)
}

/// How long a partition lasts before both sides must know it: a PING
/// within half the node timeout, PFAIL a node timeout later, and a second
/// for ticks and latency.
pub(crate) fn probe_delay(node_timeout: u64) -> u64 {
    2 * node_timeout + 1000
}

/// How long a partition lasts before the side with a majority of masters
/// must agree that the nodes across failed: PFAIL by [`probe_delay`], the
/// failure reports of a majority within another node timeout (every
/// PING carries the nodes its sender suspects), and a node timeout to
/// spare.
pub(crate) fn fail_delay(node_timeout: u64) -> u64 {
    probe_delay(node_timeout) + 2 * node_timeout
}

/// A random 40-character node name, as Redis makes them.
fn random_id(rng: &mut Rng) -> NodeId {
    let mut bytes = [0u8; 20];
    for b in bytes.iter_mut() {
        *b = rng.below(256) as u8;
    }
    NodeId::from_random(bytes)
}

/// Who meets whom: a star (as `redis-cli --cluster create` does), a chain,
/// or a random tree; each edge in a random direction.
fn meet_graph(rng: &mut Rng, n: usize) -> (&'static str, Vec<(usize, usize)>) {
    let mut order: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut order);
    let (name, edges): (&'static str, Vec<(usize, usize)>) = match rng.below(3) {
        0 => ("star", (1..n).map(|k| (order[0], order[k])).collect()),
        1 => ("chain", (1..n).map(|k| (order[k - 1], order[k])).collect()),
        _ => (
            "tree",
            (1..n).map(|k| (order[rng.index(k)], order[k])).collect(),
        ),
    };
    let edges = edges
        .into_iter()
        .map(|(a, b)| if rng.chance(0.5) { (a, b) } else { (b, a) })
        .collect();
    (name, edges)
}

/// Contiguous ranges for a random subset of the nodes; sometimes a range
/// stays unassigned.
fn assignment(rng: &mut Rng, n: usize) -> Vec<SlotSet> {
    let mut slots = vec![SlotSet::new(); n];
    let mut owners: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut owners);
    owners.truncate(rng.between(1, n as u64) as usize);
    let mut cuts: Vec<u16> = (1..owners.len())
        .map(|_| rng.between(1, u64::from(SLOT_COUNT) - 1) as u16)
        .collect();
    cuts.sort_unstable();
    let mut bounds = vec![0u16];
    bounds.extend(cuts);
    bounds.push(SLOT_COUNT);
    let hole = if rng.chance(0.15) {
        let a = rng.below(u64::from(SLOT_COUNT)) as u16;
        let b = (u64::from(a) + rng.between(1, 500)).min(u64::from(SLOT_COUNT)) as u16;
        Some(a..b)
    } else {
        None
    };
    for (k, &owner) in owners.iter().enumerate() {
        for slot in bounds[k]..bounds[k + 1] {
            if let Some(s) =
                Slot::new(slot).filter(|_| !hole.as_ref().is_some_and(|h| h.contains(&slot)))
            {
                slots[owner].insert(s);
            }
        }
    }
    slots
}

/// Whether the MEET edges among the nodes that survive connect them all.
fn survivors_connected(n: usize, meets: &[(usize, usize)], dead: &[bool]) -> bool {
    let Some(start) = (0..n).find(|&i| !dead[i]) else {
        return false;
    };
    let mut seen = vec![false; n];
    seen[start] = true;
    let mut stack = vec![start];
    while let Some(i) = stack.pop() {
        for &(a, b) in meets {
            for (x, y) in [(a, b), (b, a)] {
                if x == i && !dead[y] && !seen[y] {
                    seen[y] = true;
                    stack.push(y);
                }
            }
        }
    }
    (0..n).all(|i| dead[i] || seen[i])
}
