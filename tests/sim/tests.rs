//! The harness' own tests: each property can fail, shown by a node built to
//! break it, and a seed replays exactly.

use super::check::{invariants, LIVENESS};
use super::node::{honest, Claim, Factory, SimNode, View};
use super::plan::Plan;
use super::world::run;
use ferrodis_bus::cluster::{Action, ClusterNode, Config, LinkId};
use ferrodis_bus::{decode, encode, NodeIp, SlotBitmap};

/// A node that also claims `stolen` slots, owned by another node, with its
/// own config epoch (0, the same as the owner's): in its headers, so its
/// peers hear the claim, and in its view.
struct Liar {
    inner: ClusterNode,
    stolen: SlotBitmap,
}

impl Liar {
    fn lie(&self, actions: Vec<Action>) -> Vec<Action> {
        actions
            .into_iter()
            .map(|a| match a {
                Action::Send { link, bytes } => {
                    let mut m = decode(&bytes).unwrap();
                    for slot in self.stolen.iter() {
                        m.header.slots.insert(slot);
                    }
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

impl SimNode for Liar {
    fn on_accept(&mut self, peer_ip: NodeIp) -> LinkId {
        self.inner.on_accept(peer_ip)
    }
    fn on_connected(&mut self, link: LinkId, now: u64) -> Vec<Action> {
        let a = self.inner.on_connected(link, now);
        self.lie(a)
    }
    fn on_message(&mut self, link: LinkId, bytes: &[u8], now: u64) -> Vec<Action> {
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
    fn meet(&mut self, ip: NodeIp, port: u16, cport: u16, now: u64) -> Vec<Action> {
        SimNode::meet(&mut self.inner, ip, port, cport, now)
    }
    fn assign_slots(&mut self, slots: &SlotBitmap, now: u64) -> Vec<Action> {
        self.inner.assign_slots(slots, now)
    }
    fn view(&self) -> View {
        let mut v = SimNode::view(&self.inner);
        v.claims.push(Claim {
            owner: v.id,
            epoch: v.config_epoch.unwrap_or(0),
            slots: self.stolen.clone(),
        });
        v
    }
}

/// A node that hears nothing: it drops every message.
struct Deaf(ClusterNode);

impl SimNode for Deaf {
    fn on_accept(&mut self, peer_ip: NodeIp) -> LinkId {
        self.0.on_accept(peer_ip)
    }
    fn on_connected(&mut self, link: LinkId, now: u64) -> Vec<Action> {
        self.0.on_connected(link, now)
    }
    fn on_message(&mut self, _: LinkId, _: &[u8], _: u64) -> Vec<Action> {
        Vec::new()
    }
    fn on_closed(&mut self, link: LinkId, now: u64) -> Vec<Action> {
        SimNode::on_closed(&mut self.0, link, now)
    }
    fn on_tick(&mut self, now: u64) -> Vec<Action> {
        self.0.on_tick(now)
    }
    fn meet(&mut self, ip: NodeIp, port: u16, cport: u16, now: u64) -> Vec<Action> {
        SimNode::meet(&mut self.0, ip, port, cport, now)
    }
    fn assign_slots(&mut self, slots: &SlotBitmap, now: u64) -> Vec<Action> {
        self.0.assign_slots(slots, now)
    }
    fn view(&self) -> View {
        SimNode::view(&self.0)
    }
}

/// Node `bad` is built by `make`, the others are honest.
fn with_one(bad: usize, make: impl Fn(Config) -> Box<dyn SimNode> + 'static) -> Factory {
    Box::new(move |i, config| {
        if i == bad {
            make(config)
        } else {
            Box::new(ClusterNode::new(config))
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
    let factory = with_one(1, move |config| {
        Box::new(Liar {
            inner: ClusterNode::new(config),
            stolen: stolen.clone(),
        })
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
    let factory = with_one(2, |config| Box::new(Deaf(ClusterNode::new(config))));
    let failure = run(&plan, factory, false).expect_err("the deaf node never joins");
    assert_eq!(failure.property, LIVENESS[0].0, "{}", failure.report);
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
            p.steps.len() > p.meets.len() + p.n + 4 && p.loss > 0.0
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
