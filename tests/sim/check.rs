//! The properties a run must keep. Invariants (safety) are checked after
//! every event, on the view of each node the event touched; liveness
//! properties are checked once the faults have stopped, and must come to
//! hold within the plan's settle limit and then keep holding.
//!
//! To add a property: write an [`Invariant`] (it may keep history across
//! the run) and list it in [`invariants`], or a [`Liveness`] function and
//! list it in [`LIVENESS`]. A check whose data the state machine does not
//! report yet (a `None` in [`View`]) passes. The timed properties of
//! partitions need the network's state, and live with it (`World::probe`).

use super::node::{no_slots, Claim, View};
use super::plan::{cport, port, Plan};
use ferrodis_bus::NodeIp;
use ferrodis_slots::{NodeFlags, NodeId, SlotSet};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// What the checks know besides the views.
pub(crate) struct Ctx<'a> {
    pub(crate) plan: &'a Plan,
    /// The slots each node serves, as the operator last assigned or moved
    /// them.
    pub(crate) slots: &'a [SlotSet],
    /// Config epochs a node took without agreement (`SETSLOT NODE` closing
    /// an import), as (node, epoch).
    pub(crate) unagreed: &'a BTreeSet<(NodeId, u64)>,
    /// The reshardings carried out: from, to, slots.
    pub(crate) moves: &'a [(usize, usize, SlotSet)],
    /// Who replicates whom: the plan's, as the operator's REPLICATEs and
    /// then failovers changed it (an elected replica turns master, its old
    /// master and siblings follow it; a migrated replica follows its new
    /// master).
    pub(crate) roles: &'a [Option<usize>],
}

impl Ctx<'_> {
    fn name(&self, id: &NodeId) -> String {
        match self.plan.index_of(id) {
            Some(i) => format!("node {i}"),
            None => format!("unknown node {id}"),
        }
    }
}

/// A safety property, checked after every event on each node whose view
/// the event may have changed.
pub(crate) trait Invariant {
    fn name(&self) -> &'static str;
    /// `before` is the node's previous view in the same life (`None` just
    /// after it started).
    fn check(
        &mut self,
        ctx: &Ctx<'_>,
        node: usize,
        before: Option<&View>,
        after: &View,
    ) -> Result<(), String>;
}

/// A property of the converged cluster: `views[i]` is node `i`'s view, or
/// `None` where node `i` is down.
pub(crate) type Liveness = (
    &'static str,
    fn(&Ctx<'_>, &[Option<&View>]) -> Result<(), String>,
);

/// A fresh set of the invariants, for one run.
pub(crate) fn invariants() -> Vec<Box<dyn Invariant>> {
    vec![
        Box::new(OneOwnerPerEpoch::default()),
        Box::new(EpochsNeverGoBack),
        Box::new(CurrentEpochIsTheGreatest),
        Box::new(KnownNodesAreReal),
        Box::new(FlagsMakeSense),
        Box::new(ReplicasServeNoSlots),
    ]
}

/// The liveness properties.
pub(crate) const LIVENESS: &[Liveness] = &[
    (
        "every live node knows every other, none suspected",
        membership,
    ),
    ("every dead node is failed where known", dead_failed),
    (
        "every live node routes every slot to its owner",
        slots_agree,
    ),
    ("every live node has the same current epoch", epochs_agree),
    ("live masters have distinct config epochs", epochs_distinct),
    ("every live node knows who replicates whom", roles_agree),
    (
        "cluster_state is ok exactly when every slot is served",
        state_agrees,
    ),
];

/// No two nodes ever claim a slot as their own with the same config epoch:
/// the config epoch orders the claims on a slot (cluster specification,
/// "Hash slots configuration propagation"). A node's claims are checked,
/// at any time, against every claim any node ever made.
///
/// One exception, which the specification allows: an epoch taken without
/// agreement (`SETSLOT NODE` closing an import bumps the epoch to the
/// greatest the node knows, plus one) may equal another node's, and the
/// collision rule then makes them differ ("Configuration epoch conflicts
/// resolution algorithm"); liveness checks that it did. And what a node
/// believes of another node's epoch may be stale (a node that gives a slot
/// away records the new owner with the epoch it last heard of), so the
/// check is on each node's claims about itself.
#[derive(Default)]
pub(crate) struct OneOwnerPerEpoch {
    /// For each config epoch, the slots each node has claimed with it.
    seen: BTreeMap<u64, Vec<(NodeId, SlotSet)>>,
    /// Claims already checked: a conflict shows when the second of two
    /// conflicting claims first appears, so a claim seen before needs no
    /// second look.
    checked: HashSet<Claim>,
}

impl Invariant for OneOwnerPerEpoch {
    fn name(&self) -> &'static str {
        "no two nodes claim a slot with one config epoch"
    }

    fn check(
        &mut self,
        ctx: &Ctx<'_>,
        node: usize,
        before: Option<&View>,
        after: &View,
    ) -> Result<(), String> {
        if before.is_some_and(|b| b.claims == after.claims) {
            return Ok(());
        }
        for claim in after.claims.iter().filter(|c| c.owner == after.id) {
            if before.is_some_and(|b| b.claims.contains(claim)) || self.checked.contains(claim) {
                continue;
            }
            self.checked.insert(claim.clone());
            let owners = self.seen.entry(claim.epoch).or_default();
            for (other, slots) in owners.iter() {
                if *other == claim.owner
                    || ctx.unagreed.contains(&(claim.owner, claim.epoch))
                    || ctx.unagreed.contains(&(*other, claim.epoch))
                {
                    continue;
                }
                if let Some(slot) = first_common(slots, &claim.slots) {
                    return Err(format!(
                        "node {node} claims slot {slot} with config epoch {}, as {} did",
                        claim.epoch,
                        ctx.name(other)
                    ));
                }
            }
            match owners.iter_mut().find(|(o, _)| *o == claim.owner) {
                Some((_, slots)) => union_into(slots, &claim.slots),
                None => owners.push((claim.owner, claim.slots.clone())),
            }
        }
        Ok(())
    }
}

/// A node's current epoch and config epoch only grow, within one life.
pub(crate) struct EpochsNeverGoBack;

impl Invariant for EpochsNeverGoBack {
    fn name(&self) -> &'static str {
        "epochs never go back"
    }

    fn check(
        &mut self,
        _: &Ctx<'_>,
        node: usize,
        before: Option<&View>,
        after: &View,
    ) -> Result<(), String> {
        let Some(before) = before else { return Ok(()) };
        if after.current_epoch < before.current_epoch {
            return Err(format!(
                "node {node}'s current epoch went from {} to {}",
                before.current_epoch, after.current_epoch
            ));
        }
        if let (Some(b), Some(a)) = (before.config_epoch, after.config_epoch) {
            if a < b {
                return Err(format!("node {node}'s config epoch went from {b} to {a}"));
            }
        }
        Ok(())
    }
}

/// The current epoch is the greatest epoch a node has seen: no smaller than
/// its own config epoch or any it knows of another node's.
pub(crate) struct CurrentEpochIsTheGreatest;

impl Invariant for CurrentEpochIsTheGreatest {
    fn name(&self) -> &'static str {
        "the current epoch is the greatest known"
    }

    fn check(
        &mut self,
        ctx: &Ctx<'_>,
        node: usize,
        _: Option<&View>,
        v: &View,
    ) -> Result<(), String> {
        if let Some(own) = v.config_epoch {
            if own > v.current_epoch {
                return Err(format!(
                    "node {node} has config epoch {own} above its current epoch {}",
                    v.current_epoch
                ));
            }
        }
        for p in v.peers.iter().filter(|p| !p.handshake()) {
            if p.config_epoch > v.current_epoch {
                return Err(format!(
                    "node {node} knows {} with config epoch {}, above its current epoch {}",
                    ctx.name(&p.id),
                    p.config_epoch,
                    v.current_epoch
                ));
            }
        }
        Ok(())
    }
}

/// Every node a node knows (out of handshake) is one of the cluster's, at
/// that node's address, and never itself.
pub(crate) struct KnownNodesAreReal;

impl Invariant for KnownNodesAreReal {
    fn name(&self) -> &'static str {
        "known nodes are real, at their addresses"
    }

    fn check(
        &mut self,
        ctx: &Ctx<'_>,
        node: usize,
        _: Option<&View>,
        v: &View,
    ) -> Result<(), String> {
        for p in &v.peers {
            if p.id == v.id {
                return Err(format!("node {node} lists itself as another node"));
            }
            if p.handshake() {
                continue;
            }
            let Some(i) = ctx.plan.index_of(&p.id) else {
                return Err(format!(
                    "node {node} knows a node that does not exist: {}",
                    p.id
                ));
            };
            if (p.ip.as_str(), p.port, p.cport) != ("127.0.0.1", port(i), cport(i)) {
                return Err(format!(
                    "node {node} has node {i} at {}:{}@{}",
                    p.ip, p.port, p.cport
                ));
            }
        }
        Ok(())
    }
}

/// Flags that contradict each other never appear.
pub(crate) struct FlagsMakeSense;

impl Invariant for FlagsMakeSense {
    fn name(&self) -> &'static str {
        "flags make sense"
    }

    fn check(
        &mut self,
        ctx: &Ctx<'_>,
        node: usize,
        _: Option<&View>,
        v: &View,
    ) -> Result<(), String> {
        for p in &v.peers {
            let f = p.flags;
            let bad = if f.contains(NodeFlags::MYSELF) {
                Some("myself")
            } else if f.contains(NodeFlags::MASTER) && f.contains(NodeFlags::REPLICA) {
                Some("both master and replica")
            } else if p.handshake() && p.failing() {
                Some("failing while in handshake")
            } else {
                None
            };
            if let Some(bad) = bad {
                return Err(format!(
                    "node {node} flags {} {bad}: {f:?}",
                    ctx.name(&p.id)
                ));
            }
        }
        Ok(())
    }
}

/// A replica serves no slots, as the node believes: neither itself nor a
/// node it flags as a replica owns a slot in its routing table.
pub(crate) struct ReplicasServeNoSlots;

impl Invariant for ReplicasServeNoSlots {
    fn name(&self) -> &'static str {
        "replicas serve no slots"
    }

    fn check(
        &mut self,
        ctx: &Ctx<'_>,
        node: usize,
        _: Option<&View>,
        v: &View,
    ) -> Result<(), String> {
        for c in &v.claims {
            let replica = if c.owner == v.id {
                v.replica_of.is_some()
            } else {
                v.peers
                    .iter()
                    .any(|p| p.id == c.owner && p.flags.contains(NodeFlags::REPLICA))
            };
            if replica {
                return Err(format!(
                    "node {node} routes slots [{}] to {}, a replica",
                    c.slots,
                    ctx.name(&c.owner)
                ));
            }
        }
        Ok(())
    }
}

/// Whether the cluster is settled enough for the operator to reshard, as
/// `redis-cli --cluster reshard` first checks that every node agrees about
/// the slots; here every node must also agree on every master's config
/// epoch. (A target that believes its epoch is the greatest when it is
/// not keeps it when it closes the import, claims the slots with a
/// smaller epoch than the source's, loses them again to an UPDATE and,
/// without slots left, turns into the source's replica, while the source
/// has already given them away: they end up served by nobody.)
pub(crate) fn settled(ctx: &Ctx<'_>, views: &[Option<&View>]) -> bool {
    membership(ctx, views).is_ok()
        && slots_agree(ctx, views).is_ok()
        && epochs_agree(ctx, views).is_ok()
        && epochs_distinct(ctx, views).is_ok()
}

/// Every live node knows every other live node (out of handshake, not
/// suspected), has no handshake left, and does not know the nodes the
/// operator made it forget (nor learns them again from gossip, which
/// `CLUSTER FORGET` blocks for a minute).
fn membership(ctx: &Ctx<'_>, views: &[Option<&View>]) -> Result<(), String> {
    for (i, v) in views.iter().enumerate() {
        let Some(v) = v else { continue };
        if let Some(j) =
            (0..ctx.plan.n).find(|&j| ctx.plan.forgotten[j] && v.peer(&ctx.plan.ids[j]).is_some())
        {
            return Err(format!("node {i} still knows node {j}, which it forgot"));
        }
        if let Some(h) = v.peers.iter().find(|p| p.handshake()) {
            return Err(format!(
                "node {i} still has a handshake with {}:{}",
                h.ip, h.cport
            ));
        }
        for (j, _) in views
            .iter()
            .enumerate()
            .filter(|(j, w)| *j != i && w.is_some())
        {
            match v.peer(&ctx.plan.ids[j]) {
                None => return Err(format!("node {i} does not know node {j}")),
                Some(p) if p.failing() => {
                    return Err(format!("node {i} suspects live node {j}: {:?}", p.flags))
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}

/// A node that is down is flagged FAIL by every live node that knows it,
/// when the masters left can make a majority of the cluster's size
/// (cluster specification, "Failure detection"); PFAIL at least, when they
/// cannot.
fn dead_failed(ctx: &Ctx<'_>, views: &[Option<&View>]) -> Result<(), String> {
    let quorum = ctx.plan.fail_quorum(ctx.slots, ctx.roles);
    for (i, v) in views.iter().enumerate() {
        let Some(v) = v else { continue };
        for (j, _) in views.iter().enumerate().filter(|(_, w)| w.is_none()) {
            if let Some(p) = v.peer(&ctx.plan.ids[j]).filter(|_| !ctx.plan.forgotten[j]) {
                let ok = if quorum {
                    p.flags.contains(NodeFlags::FAIL)
                } else {
                    p.failing()
                };
                if !ok {
                    return Err(format!("node {i} flags dead node {j} {:?}", p.flags));
                }
            }
        }
    }
    Ok(())
}

/// Every live node routes each slot to the node the operator gave it to.
/// Only an owner announces its slots, so a node that never heard from a
/// dead owner may not know some of its slots: it routes them to nobody, or,
/// for slots moved to the dead node, still to the node that gave them.
fn slots_agree(ctx: &Ctx<'_>, views: &[Option<&View>]) -> Result<(), String> {
    let plan = ctx.plan;
    for (i, v) in views.iter().enumerate() {
        let Some(v) = v else { continue };
        for claim in &v.claims {
            let Some(o) = plan.index_of(&claim.owner) else {
                return Err(format!("node {i} gives slots to an unknown node"));
            };
            let want = &ctx.slots[o];
            let ok = if claim.slots == *want {
                true
            } else if plan.dead[o] {
                // What it served at some point.
                let mut ever = plan.slots[o].clone();
                ever.union_with(want);
                subset(&claim.slots, &ever)
            } else {
                let mut lost = want.clone();
                for (from, to, moved) in ctx.moves {
                    if *from == o && plan.dead[*to] {
                        lost.union_with(moved);
                    }
                }
                subset(want, &claim.slots) && subset(&claim.slots, &lost)
            };
            if !ok {
                return Err(format!(
                    "node {i} gives node {o} slots [{}], not [{want}]",
                    claim.slots
                ));
            }
        }
        for (o, _) in views.iter().enumerate().filter(|(_, w)| w.is_some()) {
            if !no_slots(&ctx.slots[o]) && !v.claims.iter().any(|c| c.owner == plan.ids[o]) {
                return Err(format!("node {i} does not know node {o}'s slots"));
            }
        }
    }
    Ok(())
}

/// Whether every slot of `a` is in `b`.
fn subset(a: &SlotSet, b: &SlotSet) -> bool {
    a.as_bytes()
        .chunks_exact(8)
        .zip(b.as_bytes().chunks_exact(8))
        .all(|(x, y)| {
            let word = |w: &[u8]| u64::from_le_bytes(w.try_into().unwrap_or_default());
            word(x) & !word(y) == 0
        })
}

/// Every live node sees each live node in its role: a replica of its
/// master, or a master (the plan's roles, as failovers changed them).
fn roles_agree(ctx: &Ctx<'_>, views: &[Option<&View>]) -> Result<(), String> {
    let plan = ctx.plan;
    for (i, v) in views.iter().enumerate() {
        let Some(v) = v else { continue };
        for (j, _) in views.iter().enumerate().filter(|(_, w)| w.is_some()) {
            let want = ctx.roles[j].map(|m| plan.ids[m]);
            let (flags, master) = if i == j {
                let flags = if v.replica_of.is_some() {
                    NodeFlags::REPLICA
                } else {
                    NodeFlags::MASTER
                };
                (flags, v.replica_of)
            } else {
                match v.peer(&plan.ids[j]) {
                    Some(p) => (p.flags, p.replica_of),
                    None => continue,
                }
            };
            let role_ok = match want {
                Some(_) => flags.contains(NodeFlags::REPLICA) && master == want,
                None => flags.contains(NodeFlags::MASTER) && master.is_none(),
            };
            if !role_ok {
                return Err(format!(
                    "node {i} sees node {j} as {flags:?} of {:?}, not as the planned {}",
                    master.map(|m| ctx.name(&m)),
                    match ctx.roles[j] {
                        Some(m) => format!("replica of node {m}"),
                        None => "master".into(),
                    }
                ));
            }
        }
    }
    Ok(())
}

/// Once converged, every live node reports `cluster_state:ok` exactly when
/// the operator assigned every slot and no master serving slots stays
/// dead (`cluster-require-full-coverage yes`).
fn state_agrees(ctx: &Ctx<'_>, views: &[Option<&View>]) -> Result<(), String> {
    let dead_owner = ctx.plan.dead_owner(ctx.slots);
    let want = ctx.plan.full_coverage() && !dead_owner;
    for (i, v) in views.iter().enumerate() {
        let Some(state) = v.and_then(|v| v.state_ok) else {
            continue;
        };
        if state != want {
            return Err(format!(
                "node {i} reports cluster_state {}, not {} (full coverage {}, a dead master with slots {})",
                if state { "ok" } else { "fail" },
                if want { "ok" } else { "fail" },
                ctx.plan.full_coverage(),
                dead_owner
            ));
        }
    }
    Ok(())
}

/// Config epoch collisions are resolved: every live master has its own
/// config epoch, as it and every live node see it.
fn epochs_distinct(ctx: &Ctx<'_>, views: &[Option<&View>]) -> Result<(), String> {
    let mut seen: BTreeMap<u64, usize> = BTreeMap::new();
    for (i, v) in views.iter().enumerate() {
        let Some(v) = v else { continue };
        if v.replica_of.is_some() {
            continue;
        }
        let Some(epoch) = v.config_epoch else {
            return Ok(());
        };
        if let Some(j) = seen.insert(epoch, i) {
            return Err(format!("nodes {j} and {i} both have config epoch {epoch}"));
        }
        for (k, w) in views.iter().enumerate() {
            let Some(p) = w.and_then(|w| w.peer(&ctx.plan.ids[i])) else {
                continue;
            };
            if p.config_epoch != epoch {
                return Err(format!(
                    "node {k} has node {i} at config epoch {}, not {epoch}",
                    p.config_epoch
                ));
            }
        }
    }
    Ok(())
}

/// The current epoch has spread to every live node.
fn epochs_agree(_: &Ctx<'_>, views: &[Option<&View>]) -> Result<(), String> {
    let epochs: Vec<(usize, u64)> = views
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i, v.current_epoch)))
        .collect();
    match epochs.iter().find(|e| e.1 != epochs[0].1) {
        Some(e) => Err(format!("current epochs differ: {epochs:?} at node {}", e.0)),
        None => Ok(()),
    }
}

pub(crate) fn localhost() -> NodeIp {
    NodeIp::new(b"127.0.0.1").unwrap_or_default()
}

fn first_common(a: &SlotSet, b: &SlotSet) -> Option<usize> {
    // Eight bytes at a time: this runs whenever a view's claims change.
    let words = |s: &SlotSet| -> Vec<u64> {
        s.as_bytes()
            .chunks_exact(8)
            .map(|w| u64::from_le_bytes(w.try_into().unwrap_or_default()))
            .collect()
    };
    let (a, b) = (words(a), words(b));
    a.iter()
        .zip(&b)
        .position(|(x, y)| x & y != 0)
        .map(|w| w * 64 + (a[w] & b[w]).trailing_zeros() as usize)
}

fn union_into(into: &mut SlotSet, from: &SlotSet) {
    into.union_with(from);
}
