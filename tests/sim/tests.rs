//! The harness' own tests: each property can fail, shown by a node built to
//! break it, and a seed replays exactly.

use super::check::{invariants, LIVENESS};
use super::node::{honest, Claim, Factory, SetSlot, SimNode, View};
use super::plan::{Op, Plan, Step};
use super::world::run;
use ferrodis_bus::cluster::{Action, ClusterNode, Config, LinkId};
use ferrodis_bus::{decode, encode, NodeIp, SlotBitmap};
use ferrodis_slots::{NodeFlags, NodeId, NodesConf, Slot, SlotSet};

/// The state machine with a defect built in.
struct Rigged {
    inner: ClusterNode,
    /// Slots it also claims, in its headers (so its peers hear the claim)
    /// and in its view, with its own config epoch.
    stolen: Option<SlotSet>,
    /// It drops every message it receives.
    deaf: bool,
    /// It always reports `cluster_state:ok`.
    always_ok: bool,
    /// It reports FAIL as PFAIL: it never agrees that a node failed.
    no_fail: bool,
    /// It answers CLUSTER FORGET without forgetting.
    no_forget: bool,
    /// It reports `cluster_state:fail` while it suspects any node.
    fail_on_suspicion: bool,
    /// It tells its peers a far greater replication offset than it has.
    inflate: bool,
}

impl Rigged {
    fn lie(&self, actions: Vec<Action>) -> Vec<Action> {
        let Some(stolen) = &self.stolen else {
            return actions;
        };
        actions
            .into_iter()
            .map(|a| match a {
                Action::Send { link, bytes } => {
                    let mut m = decode(&bytes).unwrap();
                    let mut slots = *m.header.slots.as_bytes();
                    for (a, b) in slots.iter_mut().zip(stolen.as_bytes()) {
                        *a |= b;
                    }
                    m.header.slots = SlotBitmap::from_bytes(slots);
                    Action::Send {
                        link,
                        bytes: encode(&m).unwrap(),
                    }
                }
                other => other,
            })
            .collect()
    }
}

impl SimNode for Rigged {
    fn on_accept(&mut self, peer_ip: NodeIp, now: u64) -> LinkId {
        SimNode::on_accept(&mut self.inner, peer_ip, now)
    }
    fn on_connected(&mut self, link: LinkId, now: u64) -> Vec<Action> {
        let a = self.inner.on_connected(link, now);
        self.lie(a)
    }
    fn on_message(&mut self, link: LinkId, bytes: &[u8], now: u64) -> Vec<Action> {
        if self.deaf {
            return Vec::new();
        }
        let a = self.inner.on_message(link, bytes, now);
        self.lie(a)
    }
    fn on_closed(&mut self, link: LinkId, now: u64) -> Vec<Action> {
        SimNode::on_closed(&mut self.inner, link, now)
    }
    fn on_tick(&mut self, now: u64) -> Vec<Action> {
        let a = self.inner.on_tick(now);
        self.lie(a)
    }
    fn meet(&mut self, ip: &str, port: u16, cport: u16, now: u64) -> Result<Vec<Action>, String> {
        SimNode::meet(&mut self.inner, ip, port, cport, now)
    }
    fn assign_slots(&mut self, slots: &SlotSet, now: u64) -> Result<Vec<Action>, String> {
        self.inner.assign_slots(slots, now)
    }
    fn replicate(&mut self, master: &NodeId, now: u64) -> Result<Vec<Action>, String> {
        SimNode::replicate(&mut self.inner, master, now)
    }
    fn set_slot(&mut self, slot: Slot, how: SetSlot, now: u64) -> Result<Vec<Action>, String> {
        self.inner.set_slot(slot, how, now)
    }
    fn forget(&mut self, id: &NodeId, now: u64) -> Result<Vec<Action>, String> {
        if self.no_forget {
            return Ok(Vec::new());
        }
        SimNode::forget(&mut self.inner, id, now)
    }
    fn set_repl_offset(&mut self, offset: u64) {
        let offset = if self.inflate {
            offset + 1_000_000
        } else {
            offset
        };
        SimNode::set_repl_offset(&mut self.inner, offset);
    }
    fn take_save(&mut self) -> Option<(NodesConf, bool)> {
        self.inner.take_save()
    }
    fn view(&self) -> View {
        let mut v = SimNode::view(&self.inner);
        if self.always_ok {
            v.state_ok = Some(true);
        }
        if self.fail_on_suspicion && v.peers.iter().any(|p| p.failing()) {
            v.state_ok = Some(false);
        }
        if self.no_fail {
            for p in &mut v.peers {
                if p.flags.contains(NodeFlags::FAIL) {
                    p.flags = NodeFlags::from_bits(
                        (p.flags.bits() & !NodeFlags::FAIL.bits()) | NodeFlags::PFAIL.bits(),
                    );
                }
            }
        }
        if let Some(stolen) = &self.stolen {
            v.claims.push(Claim {
                owner: v.id,
                epoch: v.config_epoch.unwrap_or(0),
                slots: stolen.clone(),
            });
        }
        v
    }
}

/// The liveness property whose name starts with `prefix`.
fn liveness(prefix: &str) -> &'static str {
    LIVENESS
        .iter()
        .map(|l| l.0)
        .find(|name| name.starts_with(prefix))
        .unwrap()
}

/// Node `bad` is built by `make`, the others are honest.
fn with_one(bad: usize, make: impl Fn(Config) -> Rigged + 'static) -> Factory {
    let honest = honest();
    Box::new(move |i, config, saved| {
        if i == bad {
            Ok(Box::new(make(config)))
        } else {
            honest(i, config, saved)
        }
    })
}

#[test]
fn a_quiet_cluster_passes() {
    let plan = Plan::quiet(1, 4);
    let (stats, _) = run(&plan, honest(), false).unwrap_or_else(|f| panic!("{}", f.report));
    assert!(stats.delivered > 100, "{stats:?}");
}

#[test]
fn a_node_claiming_slots_with_an_equal_epoch_breaks_the_invariant() {
    let plan = Plan::quiet(2, 3);
    let stolen = plan.slots[0].clone();
    let factory = with_one(1, move |config| Rigged {
        inner: ClusterNode::new(config),
        stolen: Some(stolen.clone()),
        deaf: false,
        always_ok: false,
        no_fail: false,
        no_forget: false,
        fail_on_suspicion: false,
        inflate: false,
    });
    let failure = run(&plan, factory, false).expect_err("the liar must be caught");
    let name = invariants()[0].name();
    assert_eq!(failure.property, name, "{}", failure.report);
    assert!(failure.message.contains("slot 0"), "{}", failure.message);
    assert!(failure.report.contains("FERRODIS_SIM_SEED=2"));
}

#[test]
fn a_node_that_hears_nothing_breaks_liveness() {
    let plan = Plan::quiet(3, 3);
    let factory = with_one(2, |config| Rigged {
        inner: ClusterNode::new(config),
        stolen: None,
        deaf: true,
        always_ok: false,
        no_fail: false,
        no_forget: false,
        fail_on_suspicion: false,
        inflate: false,
    });
    let failure = run(&plan, factory, false).expect_err("the deaf node never joins");
    assert_eq!(
        failure.property,
        liveness("every live node knows every other"),
        "{}",
        failure.report
    );
    assert!(
        failure.message.contains("not converged"),
        "{}",
        failure.message
    );
}

#[test]
fn a_seed_replays_event_for_event() {
    // A seed with crashes, partitions or resets, so that most of the world
    // takes part.
    let seed = (0..)
        .find(|&s| {
            let p = Plan::new(s);
            p.n >= 6 && p.steps.len() > p.meets.len() + p.n + 4 && p.loss > 0.0
        })
        .unwrap();
    let once = || run(&Plan::new(seed), honest(), true).map(|(_, trace)| trace);
    let (a, b) = (once(), once());
    match (a, b) {
        (Ok(a), Ok(b)) => {
            assert!(a.len() > 1000);
            assert_eq!(a, b);
        }
        (Err(a), Err(b)) => assert_eq!(a.report, b.report),
        _ => panic!("seed {seed} passed once and failed once"),
    }
}

/// Five nodes; node 4 is cut off from the others for a while.
fn node_4_cut_off() -> Plan {
    let mut plan = Plan::quiet(5, 5);
    plan.steps.retain(|s| s.op != Op::Calm);
    plan.chaos_end = 9500;
    for (at, op) in [
        (
            3000,
            Op::Split {
                side: vec![false, false, false, false, true],
                drop: true,
            },
        ),
        (8500, Op::Heal),
        (9500, Op::Calm),
    ] {
        plan.steps.push(Step { at, op });
    }
    plan
}

#[test]
fn a_minority_side_reports_fail() {
    let plan = node_4_cut_off();
    let (stats, _) = run(&plan, honest(), false).unwrap_or_else(|f| panic!("{}", f.report));
    assert_eq!(stats.minority_checks, 1, "node 4 alone is a minority");
    assert_eq!(
        stats.fail_checks, 4,
        "nodes 0 to 3 agree that node 4 failed"
    );
}

#[test]
fn the_side_with_every_master_keeps_serving() {
    // Node 4 serves no slots: the other four keep the cluster up.
    let mut plan = node_4_cut_off();
    let four = std::mem::take(&mut plan.slots[4]);
    plan.slots[3].union_with(&four);
    let (stats, _) = run(&plan, honest(), false).unwrap_or_else(|f| panic!("{}", f.report));
    assert_eq!(stats.majority_checks, 4, "nodes 0 to 3 were checked");
    let factory = with_one(0, |config| Rigged {
        inner: ClusterNode::new(config),
        stolen: None,
        deaf: false,
        always_ok: false,
        no_fail: false,
        no_forget: false,
        fail_on_suspicion: true,
        inflate: false,
    });
    let failure = run(&plan, factory, false).expect_err("node 0 must stay ok");
    assert_eq!(
        failure.property, "the side with every master serving slots stays ok",
        "{}",
        failure.report
    );
}

#[test]
fn a_node_that_claims_ok_on_a_minority_side_breaks_the_probe() {
    let plan = node_4_cut_off();
    let factory = with_one(4, |config| Rigged {
        inner: ClusterNode::new(config),
        stolen: None,
        deaf: false,
        always_ok: true,
        no_fail: false,
        no_forget: false,
        fail_on_suspicion: false,
        inflate: false,
    });
    let failure = run(&plan, factory, false).expect_err("node 4 must report fail");
    assert_eq!(
        failure.property, "a minority side reports cluster_state fail",
        "{}",
        failure.report
    );
}

#[test]
fn a_node_that_claims_ok_without_coverage_breaks_liveness() {
    let mut plan = Plan::quiet(6, 4);
    // Slot 0 stays unassigned: the cluster is down.
    plan.slots[0].remove(Slot::MIN);
    let (_, _) = run(&plan, honest(), false).unwrap_or_else(|f| panic!("{}", f.report));
    let factory = with_one(2, |config| Rigged {
        inner: ClusterNode::new(config),
        stolen: None,
        deaf: false,
        always_ok: true,
        no_fail: false,
        no_forget: false,
        fail_on_suspicion: false,
        inflate: false,
    });
    let failure = run(&plan, factory, false).expect_err("node 2 must report fail");
    assert_eq!(
        failure.property,
        liveness("cluster_state is ok"),
        "{}",
        failure.report
    );
}

#[test]
fn a_dead_node_is_failed_and_a_node_that_never_agrees_breaks_liveness() {
    let mut plan = Plan::quiet(7, 5);
    plan.dead[4] = true;
    plan.steps.insert(
        0,
        Step {
            at: 1500,
            op: Op::Crash {
                node: 4,
                host_down: true,
            },
        },
    );
    plan.steps.sort_by_key(|s| s.at);
    assert!(plan.fail_quorum(&plan.slots, &plan.replica_of));
    run(&plan, honest(), false).unwrap_or_else(|f| panic!("{}", f.report));
    let factory = with_one(0, |config| Rigged {
        inner: ClusterNode::new(config),
        stolen: None,
        deaf: false,
        always_ok: false,
        no_fail: true,
        no_forget: false,
        fail_on_suspicion: false,
        inflate: false,
    });
    let failure = run(&plan, factory, false).expect_err("node 0 never flags FAIL");
    assert_eq!(
        failure.property,
        liveness("every dead node is failed"),
        "{}",
        failure.report
    );
}

#[test]
fn a_forgotten_node_stays_forgotten_and_a_node_that_keeps_it_breaks_liveness() {
    let mut plan = Plan::quiet(8, 5);
    plan.slots[4] = SlotSet::new();
    plan.dead[4] = true;
    plan.forgotten[4] = true;
    plan.steps.push(Step {
        at: 1500,
        op: Op::Crash {
            node: 4,
            host_down: false,
        },
    });
    for on in 0..4 {
        plan.steps.push(Step {
            at: plan.chaos_end + 100 * on as u64,
            op: Op::Forget { on, node: 4 },
        });
    }
    plan.steps.sort_by_key(|s| s.at);
    run(&plan, honest(), false).unwrap_or_else(|f| panic!("{}", f.report));
    let factory = with_one(2, |config| Rigged {
        inner: ClusterNode::new(config),
        stolen: None,
        deaf: false,
        always_ok: false,
        no_fail: false,
        no_forget: true,
        fail_on_suspicion: false,
        inflate: false,
    });
    let failure = run(&plan, factory, false).expect_err("node 2 keeps node 4");
    assert_eq!(
        failure.property,
        liveness("every live node knows every other"),
        "{}",
        failure.report
    );
    assert!(
        failure.message.contains("which it forgot"),
        "{}",
        failure.message
    );
}

#[test]
fn a_node_that_never_agrees_on_fail_breaks_the_partition_probe() {
    let factory = with_one(0, |config| Rigged {
        inner: ClusterNode::new(config),
        stolen: None,
        deaf: false,
        always_ok: false,
        no_fail: true,
        no_forget: false,
        fail_on_suspicion: false,
        inflate: false,
    });
    let failure = run(&node_4_cut_off(), factory, false).expect_err("node 0 must flag FAIL");
    assert_eq!(
        failure.property, "the majority side agrees on FAIL across a partition",
        "{}",
        failure.report
    );
}

/// Five nodes on a quiet network: node 2 serves the slots of nodes 2 to 4,
/// which replicate it; node 2 dies at 4 s and comes back once a replica
/// must have been elected.
fn master_killed(seed: u64) -> Plan {
    let mut plan = Plan::quiet(seed, 5);
    for r in [3, 4] {
        let theirs = std::mem::take(&mut plan.slots[r]);
        plan.slots[2].union_with(&theirs);
        plan.replica_of[r] = Some(2);
    }
    plan.steps
        .retain(|s| !matches!(s.op, Op::Calm | Op::Assign { node: 3 | 4 }));
    let back = 4000 + super::plan::fail_delay(plan.node_timeout) + 2000;
    plan.chaos_end = back + 500;
    for (at, op) in [
        (300, Op::Replicate { node: 3 }),
        (300, Op::Replicate { node: 4 }),
        (
            4000,
            Op::Crash {
                node: 2,
                host_down: false,
            },
        ),
        (back, Op::Restart { node: 2 }),
        (back + 500, Op::Calm),
    ] {
        plan.steps.push(Step { at, op });
    }
    plan.steps.sort_by_key(|s| s.at);
    plan
}

#[test]
fn a_killed_master_is_replaced_by_a_replica_and_returns_as_a_replica() {
    for seed in 0..3 {
        let plan = master_killed(seed);
        let (stats, _) = run(&plan, honest(), false).unwrap_or_else(|f| panic!("{}", f.report));
        assert!(stats.failovers >= 1, "seed {seed}: no replica took over");
        assert!(stats.writes > 0);
    }
}

#[test]
fn a_replica_that_lies_about_its_offset_breaks_the_rank_check() {
    let liar = |config| Rigged {
        inner: ClusterNode::new(config),
        stolen: None,
        deaf: false,
        always_ok: false,
        no_fail: false,
        no_forget: false,
        fail_on_suspicion: false,
        inflate: true,
    };
    // Where node 3 had less data than node 4 when the master died, its lie
    // wins it the election.
    let caught = (0..20).any(|seed| {
        run(&master_killed(seed), with_one(3, liar), false).is_err_and(|f| {
            f.property == "an elected replica had the greatest offset among its reachable siblings"
        })
    });
    assert!(caught);
}

#[test]
fn a_manual_failover_swaps_roles_and_loses_no_write() {
    let mut plan = Plan::quiet(11, 4);
    let theirs = std::mem::take(&mut plan.slots[3]);
    plan.slots[2].union_with(&theirs);
    plan.replica_of[3] = Some(2);
    plan.steps.retain(|s| s.op != (Op::Assign { node: 3 }));
    plan.steps.push(Step {
        at: 300,
        op: Op::Replicate { node: 3 },
    });
    plan.steps.push(Step {
        at: 1500,
        op: Op::Failover { node: 3 },
    });
    plan.steps.sort_by_key(|s| s.at);
    let (stats, _) = run(&plan, honest(), false).unwrap_or_else(|f| panic!("{}", f.report));
    assert_eq!(stats.manual_failovers, 1);
    assert_eq!(stats.failovers, 1);
}
