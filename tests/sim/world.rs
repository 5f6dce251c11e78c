//! The simulated world: hosts running nodes, a clock, a network of TCP
//! connections, and one queue of events ordered by (time, sequence number).
//!
//! The world carries out the [`Action`]s nodes return. `Connect` sends a
//! SYN that reaches the other host after the link's latency: a host that
//! is up and reachable accepts (the acceptor's `on_accept`), and the
//! SYN-ACK brings the connector's `on_connected`; a dead process or a
//! rejecting partition refuses (the connector's `on_closed`); a dead host
//! or a dropping partition loses the SYN, which is sent again as Linux does
//! (after 1, 3, 7, 15, 31 and 63 s, giving up at 127 s). `Send` queues the
//! bytes on the connection's direction: each direction is FIFO, as TCP is,
//! and its bytes arrive after the latency plus jitter, never before bytes
//! sent earlier on it. The receiver reassembles the stream and frames it
//! with [`next_frame`]. `Close` sends a FIN behind the bytes already sent.
//! A lost message resets its connection (TCP does not lose bytes inside a
//! stream; what is lost is the stream), and so does a reset fault.

use super::check::{self, localhost, settled, Ctx, Invariant, LIVENESS};
use super::node::{no_slots, Factory, SetSlot, SimNode, View};
use super::plan::{cport, fail_delay, fail_reachable, port, probe_delay, Op, Plan};
use super::rng::Rng;
use super::trace::{Note, Trace};
use ferrodis_bus::cluster::{Action, Config, LinkId};
use ferrodis_bus::{next_frame, NodeIp};
use ferrodis_slots::{NodeFlags, NodeId, NodesConf, Slot, SlotSet};
use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet, VecDeque};
use std::rc::Rc;

/// Unix time at the start of every run, ms.
pub(crate) const BASE_MS: u64 = 1_700_000_000_000;
/// Redis' cluster cron runs ten times a second.
pub(crate) const TICK_MS: u64 = 100;
/// When Linux sends a lost SYN again, counted from the connect (the default
/// `tcp_syn_retries` of 6).
const SYN_AGAIN_MS: [u64; 6] = [1000, 3000, 7000, 15000, 31000, 63000];
/// When Linux gives up a connect whose SYNs all went unanswered.
const SYN_GIVE_UP_MS: u64 = 127_000;

#[derive(Debug)]
enum Event {
    Tick {
        node: usize,
        life: u32,
    },
    /// A connect's SYN (the first, or a retransmission) reaches its host.
    Syn {
        conn: u64,
        attempt: usize,
    },
    /// The SYN-ACK reaches the connector.
    Connected {
        conn: u64,
    },
    /// The connector learns its connect failed.
    Refused {
        conn: u64,
    },
    /// Bytes may be due on one direction of a connection.
    Pump {
        conn: u64,
        dir: usize,
    },
    /// A partition has lasted long enough for both sides to know it
    /// (`late`: long enough for failure reports to make FAIL too).
    Probe {
        split: u64,
        late: bool,
    },
    Step(Op),
}

struct Queued {
    at: u64,
    seq: u64,
    event: Event,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Queued {}

impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Queued {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// What a paused process will be told when it runs again.
enum Deferred {
    Connected(LinkId),
    Closed(LinkId),
    Accept(u64),
}

struct Host {
    node: Option<Box<dyn SimNode>>,
    /// Counts starts and crashes, so that events for an earlier life are
    /// dropped.
    life: u32,
    paused: bool,
    /// Crashed with its machine: nothing answers at its address.
    host_down: bool,
    inbox: Vec<Deferred>,
    /// The last view checked.
    view: Option<View>,
    starts: u64,
    /// Its `nodes.conf` as last written, and as last fsynced: a machine
    /// crash loses what was not fsynced.
    written: Option<Rc<NodesConf>>,
    durable: Option<Rc<NodesConf>>,
    /// Its replication offset (kept across restarts, as its data is): a
    /// master's grows with the writes it accepts, a replica's follows its
    /// master's as of the master's previous tick.
    offset: u64,
    /// The offset as of its previous tick.
    prev_offset: u64,
    /// Writes are paused (a manual failover) until this time, node clock.
    writes_paused_until: u64,
}

enum Seg {
    Data(Vec<u8>),
    Fin,
    Rst,
}

/// A TCP connection: side 0 connected, side 1 accepted. Direction `d`
/// carries bytes from side `d` to side `1 - d`.
struct Conn {
    nodes: [usize; 2],
    /// Each side's name for it; `None` before the accept and once that side
    /// has closed it or died.
    links: [Option<LinkId>; 2],
    /// The acceptor's host answered the SYN.
    open: bool,
    /// The connector was told (`on_connected`).
    connected: bool,
    started: u64,
    queue: [VecDeque<(u64, Seg)>; 2],
    /// When the last segment queued on each direction arrives.
    last: [u64; 2],
    /// Bytes received on each direction, not yet a whole message.
    rx: [Vec<u8>; 2],
}

/// Counts for the report.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Stats {
    pub(crate) events: u64,
    pub(crate) sent: u64,
    pub(crate) delivered: u64,
    /// Simulated time the run took, ms.
    pub(crate) sim_ms: u64,
    /// When the liveness properties first held for good, ms after the calm.
    pub(crate) converged_after: u64,
    /// Nodes found on a minority side by a partition probe, whose state
    /// was checked.
    pub(crate) minority_checks: u64,
    /// Reshardings carried out.
    pub(crate) reshards: u64,
    /// Nodes found on the side of a partition with every master serving
    /// slots, whose state was checked.
    pub(crate) majority_checks: u64,
    /// Nodes found on the side of a partition with a majority of masters,
    /// whose FAIL flags were checked.
    pub(crate) fail_checks: u64,
    /// Replicas that turned master (elections won, manual failovers).
    pub(crate) failovers: u64,
    /// Elections whose winner's offset was compared with its reachable
    /// siblings'.
    pub(crate) rank_checks: u64,
    /// Writes accepted by masters.
    pub(crate) writes: u64,
    /// Writes refused by a master on a minority side (state fail).
    pub(crate) minority_refusals: u64,
    /// Manual failovers the operator started.
    pub(crate) manual_failovers: u64,
}

impl Stats {
    /// Adds another run's counts (the slowest convergence is kept).
    pub(crate) fn add(&mut self, other: &Stats) {
        self.events += other.events;
        self.sent += other.sent;
        self.delivered += other.delivered;
        self.sim_ms += other.sim_ms;
        self.converged_after = self.converged_after.max(other.converged_after);
        self.minority_checks += other.minority_checks;
        self.reshards += other.reshards;
        self.majority_checks += other.majority_checks;
        self.fail_checks += other.fail_checks;
        self.failovers += other.failovers;
        self.rank_checks += other.rank_checks;
        self.writes += other.writes;
        self.minority_refusals += other.minority_refusals;
        self.manual_failovers += other.manual_failovers;
    }
}

/// A run that broke a property.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) seed: u64,
    pub(crate) property: String,
    pub(crate) message: String,
    pub(crate) report: String,
}

/// The world of one run.
pub(crate) struct World<'p> {
    plan: &'p Plan,
    factory: Factory,
    rng: Rng,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<Queued>>,
    hosts: Vec<Host>,
    conns: BTreeMap<u64, Conn>,
    by_end: HashMap<(usize, LinkId), u64>,
    next_conn: u64,
    side: Option<Vec<bool>>,
    /// Whether the partition drops packets (rather than reject them).
    drop: bool,
    /// Counts splits and heals, so that a probe knows its partition.
    splits: u64,
    /// The slots as the operator had them when the partition began.
    slots_at_split: Vec<SlotSet>,
    /// When the partition began, if every node was up then, agreed on the
    /// cluster and reported `cluster_state:ok`.
    healthy_split: Option<u64>,
    /// When each node last started or resumed.
    since: Vec<u64>,
    /// When each node last crashed.
    down_at: Vec<u64>,
    /// The slots each node serves, as the operator last assigned or moved
    /// them.
    slots: Vec<SlotSet>,
    /// Config epochs taken without agreement, as (node, epoch).
    unagreed: BTreeSet<(NodeId, u64)>,
    /// The reshardings carried out: from, to, slots.
    moves: Vec<(usize, usize, SlotSet)>,
    /// Who replicates whom: the plan's, as failovers changed it.
    roles: Vec<Option<usize>>,
    /// When the operator started a manual failover on each node, if it did.
    manual: Vec<Option<u64>>,
    /// The config epoch each node took when it last won an election.
    elected: Vec<Option<u64>>,
    /// When the current partition began.
    split_at: u64,
    /// For each config epoch, the slots each node accepted writes for with
    /// it, and the (node, epoch, slots) already recorded.
    writes: BTreeMap<u64, Vec<(usize, SlotSet)>>,
    writes_seen: HashSet<(usize, u64, SlotSet)>,
    /// Each node's last write: its config epoch and slots.
    last_write: Vec<Option<(u64, SlotSet)>>,
    calm: bool,
    touched: Vec<usize>,
    invariants: Vec<Box<dyn Invariant>>,
    /// A broken rule of the node's contract with its caller, found while
    /// carrying out its actions.
    contract: Option<String>,
    /// A timed property that failed.
    timed: Option<(String, String)>,
    trace: Trace,
    stats: Stats,
}

/// Runs `plan` with nodes from `factory`; `full_trace` keeps every event
/// for the report.
pub(crate) fn run(
    plan: &Plan,
    factory: Factory,
    full_trace: bool,
) -> Result<(Stats, Vec<String>), Failure> {
    let mut world = World::new(plan, factory, full_trace);
    let deadline = plan.chaos_end + plan.settle_limit;
    let mut next_check = 0;
    let mut holding_since: Option<u64> = None;
    let mut last_error = (String::new(), String::from("the run ended before the calm"));
    while let Some(Reverse(q)) = world.queue.pop() {
        if q.at > deadline {
            break;
        }
        world.now = q.at;
        world.stats.events += 1;
        world.handle(q.event);
        if let Err((property, message)) = world.check_touched() {
            return Err(world.failure(property, message));
        }
        if world.calm && world.now >= next_check {
            next_check = world.now + TICK_MS;
            match world.liveness() {
                Ok(()) => {
                    let since = *holding_since.get_or_insert(world.now);
                    if world.now - since >= plan.stable_for {
                        world.stats.sim_ms = world.now;
                        world.stats.converged_after = since - plan.chaos_end;
                        let trace = if full_trace {
                            world.trace.lines()
                        } else {
                            Vec::new()
                        };
                        return Ok((world.stats, trace));
                    }
                }
                Err(e) => {
                    holding_since = None;
                    last_error = e;
                }
            }
        }
    }
    let (property, message) = last_error;
    let message = format!(
        "not converged {} ms after the faults stopped: {message}",
        plan.settle_limit
    );
    Err(world.failure(property, message))
}

impl<'p> World<'p> {
    fn new(plan: &'p Plan, factory: Factory, full_trace: bool) -> World<'p> {
        // The world's draws come after the plan's, from their own stream.
        let mut rng = Rng::new(plan.seed ^ 0x005E_ED0F_5111_u64);
        let mut world = World {
            plan,
            factory,
            rng: rng.fork(),
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            hosts: Vec::new(),
            conns: BTreeMap::new(),
            by_end: HashMap::new(),
            next_conn: 0,
            side: None,
            drop: false,
            splits: 0,
            slots_at_split: Vec::new(),
            healthy_split: None,
            since: vec![0; plan.n],
            down_at: vec![0; plan.n],
            slots: plan.slots.clone(),
            unagreed: BTreeSet::new(),
            moves: Vec::new(),
            roles: plan.replica_of.clone(),
            manual: vec![None; plan.n],
            elected: vec![None; plan.n],
            split_at: 0,
            writes: BTreeMap::new(),
            writes_seen: HashSet::new(),
            last_write: vec![None; plan.n],
            calm: false,
            touched: Vec::new(),
            invariants: check::invariants(),
            contract: None,
            timed: None,
            trace: Trace::new(full_trace),
            stats: Stats::default(),
        };
        for i in 0..plan.n {
            world.hosts.push(Host {
                node: None,
                life: 0,
                paused: false,
                host_down: false,
                inbox: Vec::new(),
                view: None,
                starts: 0,
                written: None,
                durable: None,
                offset: 0,
                prev_offset: 0,
                writes_paused_until: 0,
            });
            world.boot(i);
        }
        for step in &plan.steps {
            world.schedule(step.at, Event::Step(step.op.clone()));
        }
        world
    }

    fn schedule(&mut self, at: u64, event: Event) {
        self.seq += 1;
        self.queue.push(Reverse(Queued {
            at,
            seq: self.seq,
            event,
        }));
    }

    /// Node `i`'s clock: Unix ms, with its skew.
    fn clock(&self, i: usize) -> u64 {
        (BASE_MS as i64 + self.now as i64 + self.plan.skew[i]) as u64
    }

    fn latency(&mut self, a: usize, b: usize) -> u64 {
        self.plan.latency[a][b] + self.rng.between(0, self.plan.jitter)
    }

    fn cut(&self, a: usize, b: usize) -> bool {
        self.side.as_ref().is_some_and(|s| s[a] != s[b])
    }

    /// Starts a node process on host `i` (first start or restart).
    fn boot(&mut self, i: usize) {
        let now = self.clock(i);
        let host = &mut self.hosts[i];
        host.starts += 1;
        let config = Config {
            node_timeout_ms: self.plan.node_timeout,
            seed: self.plan.node_seeds[i].wrapping_add(host.starts.wrapping_mul(0x9E37_79B9)),
            ip: if self.plan.announce_ip {
                "127.0.0.1".into()
            } else {
                String::new()
            },
            ..Config::new(self.plan.ids[i], port(i), cport(i))
        };
        let saved = host.written.as_deref().map(|conf| (conf, now));
        match (self.factory)(i, config, saved) {
            Ok(node) => host.node = Some(node),
            Err(e) => {
                let message = format!("node {i} cannot start from the nodes.conf it wrote: {e}");
                self.violate(message);
                return;
            }
        }
        let host = &mut self.hosts[i];
        host.life += 1;
        host.paused = false;
        host.host_down = false;
        host.inbox.clear();
        host.view = None;
        let life = host.life;
        self.since[i] = self.now;
        let first = self.now + 1 + self.rng.below(TICK_MS);
        self.schedule(first, Event::Tick { node: i, life });
        self.touch(i);
    }

    fn touch(&mut self, i: usize) {
        if !self.touched.contains(&i) {
            self.touched.push(i);
        }
    }

    /// Calls into node `i` (which must be running) and carries out what it
    /// returns.
    fn call(&mut self, i: usize, f: impl FnOnce(&mut dyn SimNode, u64) -> Vec<Action>) {
        let now = self.clock(i);
        let Some(node) = self.hosts[i].node.as_mut() else {
            return;
        };
        let actions = f(node.as_mut(), now);
        if let Some((conf, fsync)) = node.take_save() {
            let host = &mut self.hosts[i];
            let conf = Rc::new(conf);
            if fsync {
                host.durable = Some(conf.clone());
            }
            host.written = Some(conf);
        }
        self.touch(i);
        self.carry_out(i, actions);
    }

    fn carry_out(&mut self, i: usize, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Connect { link, ip, cport } => self.connect(i, link, ip, cport),
                Action::Send { link, bytes } => self.send(i, link, bytes),
                Action::Close { link } => self.close(i, link),
                // Pub/Sub for the node's clients: none here.
                Action::Deliver { .. } => {}
                Action::BecomeMaster => self.became_master(i),
                Action::ReplicateFrom { id, .. } => {
                    if let Some(m) = self.plan.index_of(&id) {
                        self.roles[i] = Some(m);
                        // A replica that has more than its new master
                        // (writes the cluster lost) resyncs in full.
                        if self.hosts[i].offset > self.hosts[m].offset {
                            self.hosts[i].offset = self.hosts[m].offset;
                        }
                    } else {
                        self.violate(format!("node {i} replicates an unknown node {id}"));
                    }
                }
                Action::PauseWrites { until_ms } => self.hosts[i].writes_paused_until = until_ms,
                Action::ResumeWrites => self.hosts[i].writes_paused_until = 0,
            }
        }
    }

    /// Node `i` turned master: it serves what it claims for itself (its
    /// old master's slots), the operator's record follows; and, if it was
    /// elected, no reachable replica of its old master had more data
    /// (cluster specification, "Replica rank").
    fn became_master(&mut self, i: usize) {
        self.stats.failovers += 1;
        let Some(view) = self.hosts[i].node.as_ref().map(|n| n.view()) else {
            return;
        };
        if view.replica_of.is_some() {
            self.violate(format!("node {i} asked to become master but is a replica"));
            return;
        }
        let old = self.roles[i];
        self.roles[i] = None;
        self.elected[i] = view.config_epoch;
        let mine = view
            .claims
            .iter()
            .find(|c| c.owner == view.id)
            .map(|c| c.slots.clone())
            .unwrap_or_default();
        for (k, slots) in self.slots.iter_mut().enumerate() {
            if k != i {
                slots.subtract(&mine);
            }
        }
        self.slots[i] = mine;
        let Some(old) = old else { return };
        // A manual failover loses no write: the old master paused, and the
        // replica caught up with it first. (Not where the old master
        // crashed, restarted or was cut off meanwhile: the replica then
        // took over as from a failed master.)
        let manual = std::mem::take(&mut self.manual[i]);
        let undisturbed = manual.is_some_and(|started| {
            self.hosts[old].node.is_some()
                && self.since[old] <= started
                && self.down_at[old] <= started
                && !self.cut(i, old)
                && self.split_at <= started
        });
        if undisturbed {
            let (theirs, mine) = (self.hosts[old].offset, self.hosts[i].offset);
            if mine < theirs {
                self.timed.get_or_insert((
                    "a manual failover loses no write".into(),
                    format!(
                        "node {i} took over from node {old} at offset {mine}, behind its {theirs}"
                    ),
                ));
            }
        }
        // The rank check, where ranks are meaningful: every message
        // arrives (no loss, no resets), and the siblings compared have run
        // and heard the winner all along since the old master stopped
        // feeding them.
        let plan = self.plan;
        let quiet = plan.loss == 0.0
            && !plan
                .steps
                .iter()
                .any(|s| matches!(s.op, Op::ResetLink | Op::Pause { .. }));
        if !quiet {
            return;
        }
        let since = self.down_at[old].max(self.split_at);
        let mine = self.hosts[i].offset;
        for k in 0..plan.n {
            if k == i || self.roles[k] != Some(old) {
                continue;
            }
            let h = &self.hosts[k];
            if h.node.is_none() || h.paused || self.cut(i, k) || self.since[k] > since {
                continue;
            }
            self.stats.rank_checks += 1;
            if h.offset > mine {
                let message = format!(
                    "node {i} won the election for node {old} with offset {mine}, but its sibling node {k} had {}",
                    h.offset
                );
                self.timed.get_or_insert((
                    "an elected replica had the greatest offset among its reachable siblings"
                        .into(),
                    message,
                ));
            }
        }
    }

    /// Slots node `i` claims for itself with a config epoch greater than
    /// their recorded owner's own (a live one's) win, by the cluster's rule
    /// (cluster specification, "Hash slots configuration propagation"):
    /// the operator's record follows. Elections are recorded on
    /// `BecomeMaster`; this catches the other way, a master back from an
    /// old `nodes.conf` whose config epoch collides with another master's
    /// and is bumped past the new owner's, as Redis' collision rule does.
    fn follow_claims(&mut self, i: usize, view: &View) {
        let Some(claim) = view.claims.iter().find(|c| c.owner == view.id) else {
            return;
        };
        if view.replica_of.is_some() {
            return;
        }
        for o in 0..self.plan.n {
            if o == i {
                continue;
            }
            let mut common = self.slots[o].clone();
            common.intersect_with(&claim.slots);
            if no_slots(&common) {
                continue;
            }
            // The recorded owner's own config epoch: a claimant that has
            // not heard of a failover yet believes less.
            let h = &self.hosts[o];
            let Some(theirs) = h
                .view
                .as_ref()
                .filter(|_| h.node.is_some())
                .and_then(|v| v.config_epoch)
            else {
                continue;
            };
            if claim.epoch > theirs {
                self.slots[o].subtract(&common);
                self.slots[i].union_with(&common);
            }
        }
    }

    /// Before node `i`'s tick: its replication offset moves, and the node
    /// is told. A master serving slots with `cluster_state:ok` accepts a
    /// write (unless paused for a manual failover); a replica catches up
    /// with its master's previous tick while the link between them is up.
    fn replicate_tick(&mut self, i: usize) {
        let plan = self.plan;
        let Some(view) = self.hosts[i].view.as_ref() else {
            return;
        };
        // What the tick needs of the view, without copying it all: views
        // are large and this runs on every tick.
        let replica_of = view.replica_of;
        let mine = view
            .claims
            .iter()
            .position(|c| c.owner == view.id)
            .map(|k| (k, view.claims[k].epoch));
        let state_ok = view.state_ok == Some(true);
        let clock = self.clock(i);
        self.hosts[i].prev_offset = self.hosts[i].offset;
        match replica_of {
            None => {
                if mine.is_some() && state_ok && clock >= self.hosts[i].writes_paused_until {
                    self.hosts[i].offset += 1 + self.rng.below(50);
                    self.stats.writes += 1;
                    if let Some((k, epoch)) = mine {
                        if let Err(e) = self.record_write(i, k, epoch) {
                            self.timed.get_or_insert(e);
                        }
                    }
                } else if mine.is_some() {
                    self.stats.minority_refusals += u64::from(self.side.is_some());
                }
            }
            Some(m) => {
                let Some(m) = plan.index_of(&m) else { return };
                let up = self.hosts[m].node.is_some() && !self.hosts[m].paused && !self.cut(i, m);
                if up {
                    let theirs = self.hosts[m].prev_offset;
                    let h = &mut self.hosts[i];
                    h.offset = h.offset.max(theirs);
                }
            }
        }
        let offset = self.hosts[i].offset;
        if let Some(node) = self.hosts[i].node.as_mut() {
            node.set_repl_offset(offset);
        }
    }

    /// A write accepted by master `i` for the slots of its claim number
    /// `claim` (in its view), at config `epoch`: no
    /// other node may have accepted one for any of them at that epoch
    /// (but for an epoch taken without agreement, which the collision rule
    /// separates); and a master on a side without a majority of the
    /// masters serving slots accepts none once the partition has lasted
    /// long enough for it to notice (`probe_delay`).
    fn record_write(&mut self, i: usize, claim: usize, epoch: u64) -> Result<(), (String, String)> {
        let plan = self.plan;
        if let Some(side) = &self.side {
            // The masters serving slots when the partition began: a
            // failover on the other side does not give this one a
            // majority.
            let owners: Vec<usize> = (0..plan.n)
                .filter(|&o| !no_slots(&self.slots_at_split[o]))
                .collect();
            let quorum = owners.len() / 2 + 1;
            let reachable = owners
                .iter()
                .filter(|&&o| {
                    side[o] == side[i]
                        && (self.hosts[o].node.is_some()
                            || self.down_at[o] + probe_delay(plan.node_timeout) > self.now)
                })
                .count();
            let noticed = self.split_at.max(self.since[i]) + probe_delay(plan.node_timeout);
            if reachable < quorum && self.now > noticed {
                return Err((
                    "a master on a minority side stops accepting writes".into(),
                    format!(
                        "node {i} accepted a write {} ms into a partition, with {reachable} of {} masters serving slots on its side",
                        self.now - self.split_at,
                        owners.len()
                    ),
                ));
            }
        }
        let Some(slots) = self.hosts[i]
            .view
            .as_ref()
            .and_then(|v| v.claims.get(claim))
            .map(|c| &c.slots)
        else {
            return Ok(());
        };
        // The same claim as this node's last write: nothing new to check.
        if self.last_write[i]
            .as_ref()
            .is_some_and(|(e, s)| *e == epoch && s == slots)
        {
            return Ok(());
        }
        let slots = slots.clone();
        self.last_write[i] = Some((epoch, slots.clone()));
        if !self.writes_seen.insert((i, epoch, slots.clone())) {
            return Ok(());
        }
        let slots = &slots;
        let id = plan.ids[i];
        let writers = self.writes.entry(epoch).or_default();
        for (other, theirs) in writers.iter() {
            if *other == i
                || self.unagreed.contains(&(id, epoch))
                || self.unagreed.contains(&(plan.ids[*other], epoch))
            {
                continue;
            }
            let mut common = theirs.clone();
            common.intersect_with(slots);
            if !no_slots(&common) {
                return Err((
                    "no two masters accept writes for a slot in one config epoch".into(),
                    format!("nodes {other} and {i} both accepted writes for [{common}] at config epoch {epoch}"),
                ));
            }
        }
        match writers.iter_mut().find(|(o, _)| *o == i) {
            Some((_, mine)) => mine.union_with(slots),
            None => writers.push((i, slots.clone())),
        }
        Ok(())
    }

    /// Runs an operator command on node `i`.
    fn call_result(
        &mut self,
        i: usize,
        f: impl FnOnce(&mut dyn SimNode, u64) -> Result<Vec<Action>, String>,
    ) -> Result<(), String> {
        let mut result = Ok(());
        self.call(i, |n, now| {
            f(n, now).unwrap_or_else(|e| {
                result = Err(e);
                Vec::new()
            })
        });
        result
    }

    /// Tells node `i` that its `link` closed, now or when it runs again.
    fn tell_closed(&mut self, i: usize, conn: u64, link: LinkId) {
        let host = &mut self.hosts[i];
        if host.node.is_none() {
            return;
        }
        if host.paused {
            host.inbox.push(Deferred::Closed(link));
            return;
        }
        self.trace.note(self.now, Note::Closed { conn, node: i });
        self.call(i, |n, now| n.on_closed(link, now));
    }

    fn violate(&mut self, message: String) {
        if self.contract.is_none() {
            self.contract = Some(message);
        }
    }

    fn connect(&mut self, i: usize, link: LinkId, ip: NodeIp, to_cport: u16) {
        self.next_conn += 1;
        let id = self.next_conn;
        let target = if ip == localhost() {
            self.plan.node_at_cport(to_cport)
        } else {
            None
        };
        if self.by_end.insert((i, link), id).is_some() {
            self.violate(format!(
                "node {i} reused link {link:?} for a new connection"
            ));
        }
        self.conns.insert(
            id,
            Conn {
                nodes: [i, target.unwrap_or(i)],
                links: [Some(link), None],
                open: false,
                connected: false,
                started: self.now,
                queue: [VecDeque::new(), VecDeque::new()],
                last: [0, 0],
                rx: [Vec::new(), Vec::new()],
            },
        );
        self.trace.note(
            self.now,
            Note::Connect {
                conn: id,
                from: i,
                to: target,
            },
        );
        match target {
            Some(j) => {
                let at = self.now + self.latency(i, j);
                self.schedule(
                    at,
                    Event::Syn {
                        conn: id,
                        attempt: 0,
                    },
                );
            }
            None => self.schedule(self.now + 1, Event::Refused { conn: id }),
        }
    }

    fn send(&mut self, i: usize, link: LinkId, bytes: Vec<u8>) {
        self.stats.sent += 1;
        match next_frame(&bytes) {
            Ok(Some(frame)) if frame.len() == bytes.len() => {}
            _ => self.violate(format!(
                "node {i} sent {} bytes that are not one whole message",
                bytes.len()
            )),
        }
        let Some(&id) = self.by_end.get(&(i, link)) else {
            self.violate(format!("node {i} sent on {link:?}, which it does not hold"));
            return;
        };
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let d = usize::from(!(c.nodes[0] == i && c.links[0] == Some(link)));
        if d == 0 && !c.connected {
            self.violate(format!(
                "node {i} sent on {link:?} before it was told the connection is up"
            ));
            return;
        }
        self.queue_data(id, d, bytes);
    }

    /// Queues `bytes` on direction `d` of connection `id`.
    fn queue_data(&mut self, id: u64, d: usize, bytes: Vec<u8>) {
        let Some(c) = self.conns.get(&id) else {
            return;
        };
        let (from, to, last) = (c.nodes[d], c.nodes[1 - d], c.last[d]);
        let at = (self.now + self.latency(from, to)).max(last);
        let lose = !self.calm && self.plan.loss > 0.0 && self.rng.chance(self.plan.loss);
        let split = if !lose && self.plan.segment > 0.0 && self.rng.chance(self.plan.segment) {
            Some((
                self.rng.between(1, bytes.len().max(2) as u64 - 1) as usize,
                at + self.rng.below(3),
            ))
        } else {
            None
        };
        if lose {
            self.trace.note(self.now, Note::Lost { conn: id, from, to });
        }
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let mut due = at;
        if lose {
            c.queue[d].push_back((at, Seg::Rst));
        } else if let Some((cut, later)) = split.filter(|(cut, _)| *cut < bytes.len()) {
            let mut head = bytes;
            let tail = head.split_off(cut);
            c.queue[d].push_back((at, Seg::Data(head)));
            c.queue[d].push_back((later, Seg::Data(tail)));
            due = later;
        } else {
            c.queue[d].push_back((at, Seg::Data(bytes)));
        }
        c.last[d] = due;
        self.schedule(at, Event::Pump { conn: id, dir: d });
        if due != at {
            self.schedule(due, Event::Pump { conn: id, dir: d });
        }
    }

    fn close(&mut self, i: usize, link: LinkId) {
        let Some(id) = self.by_end.remove(&(i, link)) else {
            self.violate(format!("node {i} closed {link:?}, which it does not hold"));
            return;
        };
        self.trace.note(self.now, Note::Close { conn: id, node: i });
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let d = usize::from(!(c.nodes[0] == i && c.links[0] == Some(link)));
        c.links[d] = None;
        if !c.open {
            // The connect is abandoned before the SYN is answered.
            self.conns.remove(&id);
            return;
        }
        c.queue[1 - d].clear();
        let (from, to) = (c.nodes[d], c.nodes[1 - d]);
        let lat = self.plan.latency[from][to];
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let at = (self.now + lat).max(c.last[d]);
        c.last[d] = at;
        c.queue[d].push_back((at, Seg::Fin));
        self.schedule(at, Event::Pump { conn: id, dir: d });
    }

    /// Closes both ends of a connection at once, dropping what is in
    /// flight.
    fn reset_now(&mut self, id: u64) {
        let Some(c) = self.conns.remove(&id) else {
            return;
        };
        self.trace.note(self.now, Note::Reset { conn: id });
        for d in 0..2 {
            if let Some(link) = c.links[d] {
                self.by_end.remove(&(c.nodes[d], link));
                self.tell_closed(c.nodes[d], id, link);
            }
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Tick { node, life } => {
                let host = &self.hosts[node];
                if host.life != life || host.node.is_none() {
                    return;
                }
                let next = self.now + TICK_MS + self.rng.below(self.plan.tick_jitter + 1);
                self.schedule(next, Event::Tick { node, life });
                if self.hosts[node].paused {
                    return;
                }
                if self.trace.full() {
                    self.trace.note(self.now, Note::Tick { node });
                }
                self.replicate_tick(node);
                self.call(node, |n, now| n.on_tick(now));
            }
            Event::Syn { conn, attempt } => self.syn(conn, attempt),
            Event::Connected { conn } => {
                let Some(c) = self.conns.get(&conn) else {
                    return;
                };
                let (i, Some(link)) = (c.nodes[0], c.links[0]) else {
                    return;
                };
                if self.hosts[i].paused {
                    self.hosts[i].inbox.push(Deferred::Connected(link));
                    return;
                }
                self.connected(i, conn, link);
            }
            Event::Refused { conn } => {
                let Some(c) = self.conns.remove(&conn) else {
                    return;
                };
                self.trace.note(
                    self.now,
                    Note::Refused {
                        conn,
                        node: c.nodes[0],
                    },
                );
                if let Some(link) = c.links[0] {
                    self.by_end.remove(&(c.nodes[0], link));
                    self.tell_closed(c.nodes[0], conn, link);
                }
            }
            Event::Pump { conn, dir } => self.pump(conn, dir),
            Event::Probe { split, late } => {
                if split == self.splits {
                    let result = if late {
                        self.probe_fail()
                    } else {
                        self.probe()
                    };
                    if let Err(e) = result {
                        self.timed.get_or_insert(e);
                    }
                }
            }
            Event::Step(op) => self.step(op),
        }
    }

    fn syn(&mut self, id: u64, attempt: usize) {
        let Some(c) = self.conns.get(&id) else {
            return;
        };
        if c.open {
            return;
        }
        let (i, j, started) = (c.nodes[0], c.nodes[1], c.started);
        let host = &self.hosts[j];
        let lost = (self.cut(i, j) && self.drop) || (host.node.is_none() && host.host_down);
        let refused = self.cut(i, j) || host.node.is_none();
        if lost {
            self.trace
                .note(self.now, Note::SynLost { conn: id, attempt });
            match SYN_AGAIN_MS.get(attempt) {
                Some(again) => {
                    let at = started + again + self.plan.latency[i][j];
                    self.schedule(
                        at,
                        Event::Syn {
                            conn: id,
                            attempt: attempt + 1,
                        },
                    );
                }
                None => self.schedule(started + SYN_GIVE_UP_MS, Event::Refused { conn: id }),
            }
            return;
        }
        let lat = self.latency(j, i);
        if refused {
            self.schedule(self.now + lat, Event::Refused { conn: id });
            return;
        }
        if let Some(c) = self.conns.get_mut(&id) {
            c.open = true;
            let t = self.now + lat;
            c.last = [t, t];
        }
        if self.hosts[j].paused {
            self.hosts[j].inbox.push(Deferred::Accept(id));
        } else {
            self.accept(j, id);
        }
        self.schedule(self.now + lat, Event::Connected { conn: id });
    }

    fn accept(&mut self, j: usize, id: u64) {
        let Some(c) = self.conns.get(&id) else {
            return;
        };
        let from = c.nodes[0];
        let now = self.clock(j);
        let Some(node) = self.hosts[j].node.as_mut() else {
            return;
        };
        let link = node.on_accept(localhost(), now);
        self.touch(j);
        if self.by_end.insert((j, link), id).is_some() {
            self.violate(format!("node {j} named a new connection {link:?} twice"));
        }
        if let Some(c) = self.conns.get_mut(&id) {
            c.links[1] = Some(link);
        }
        self.trace.note(
            self.now,
            Note::Accept {
                conn: id,
                node: j,
                from,
            },
        );
        self.schedule(self.now, Event::Pump { conn: id, dir: 0 });
    }

    fn connected(&mut self, i: usize, id: u64, link: LinkId) {
        if self.by_end.get(&(i, link)) != Some(&id) {
            return;
        }
        self.trace
            .note(self.now, Note::Connected { conn: id, node: i });
        match self.conns.get_mut(&id) {
            Some(c) => c.connected = true,
            None => return,
        }
        self.call(i, |n, now| n.on_connected(link, now));
    }

    /// Delivers what is due on direction `d` of connection `id`.
    fn pump(&mut self, id: u64, d: usize) {
        loop {
            let Some(c) = self.conns.get(&id) else {
                return;
            };
            let (from, to) = (c.nodes[d], c.nodes[1 - d]);
            let Some(&(at, _)) = c.queue[d].front() else {
                if c.links == [None, None] {
                    self.conns.remove(&id);
                }
                return;
            };
            if at > self.now || self.cut(from, to) || self.hosts[to].paused {
                // Not yet; or held by a partition or a stopped process
                // until it heals or resumes.
                return;
            }
            let Some(c) = self.conns.get_mut(&id) else {
                return;
            };
            let receiver = c.links[1 - d];
            let Some((_, seg)) = c.queue[d].pop_front() else {
                return;
            };
            match seg {
                Seg::Data(bytes) => {
                    let Some(link) = receiver else { continue };
                    if c.rx[d].is_empty() {
                        c.rx[d] = bytes;
                    } else {
                        c.rx[d].extend_from_slice(&bytes);
                    }
                    self.read(id, d, link);
                }
                Seg::Fin => {
                    if let Some(link) = receiver {
                        c.links[1 - d] = None;
                        c.queue[1 - d].clear();
                        self.by_end.remove(&(to, link));
                        self.tell_closed(to, id, link);
                    }
                }
                Seg::Rst => {
                    self.reset_now(id);
                    return;
                }
            }
        }
    }

    /// Hands each whole message received on direction `d` to the receiver,
    /// whose name for the connection is `link`.
    fn read(&mut self, id: u64, d: usize, link: LinkId) {
        loop {
            let Some(c) = self.conns.get_mut(&id) else {
                return;
            };
            if c.links[1 - d] != Some(link) {
                return;
            }
            let (from, to) = (c.nodes[d], c.nodes[1 - d]);
            let len = match next_frame(&c.rx[d]) {
                Ok(Some(frame)) => frame.len(),
                Ok(None) => return,
                Err(e) => {
                    self.violate(format!(
                        "the stream from node {from} to node {to} does not frame: {e}"
                    ));
                    return;
                }
            };
            let frame = if len == c.rx[d].len() {
                std::mem::take(&mut c.rx[d])
            } else {
                let frame = c.rx[d][..len].to_vec();
                c.rx[d].drain(..len);
                frame
            };
            self.stats.delivered += 1;
            self.trace
                .note(self.now, Note::deliver(id, from, to, &frame));
            self.call(to, |n, now| n.on_message(link, &frame, now));
        }
    }

    fn step(&mut self, op: Op) {
        self.trace.note(self.now, Note::Step(op.clone()));
        let plan = self.plan;
        match op {
            Op::Meet { from, to } => {
                let gone = |w: &World<'_>, i: usize| plan.dead[i] && w.hosts[i].node.is_none();
                if gone(self, from) || gone(self, to) {
                    return;
                }
                let knows = |w: &World<'_>, a: usize, b: usize| {
                    w.hosts[a]
                        .node
                        .as_ref()
                        .is_some_and(|n| n.view().peer(&plan.ids[b]).is_some())
                };
                let (from_knows, to_knows) = (knows(self, from, to), knows(self, to, from));
                let from_up = self.hosts[from].node.is_some() && !self.hosts[from].paused;
                let to_up = self.hosts[to].node.is_some() && !self.hosts[to].paused;
                if from_knows && to_knows {
                    return;
                }
                // A MEET whose handshake timed out on the other side leaves
                // only one side knowing the other (Redis 7.0 does not
                // recover from that by itself): the operator meets again
                // until both do.
                if from_up && to_up {
                    let result = self
                        .call_result(from, |n, now| n.meet("127.0.0.1", port(to), cport(to), now));
                    if let Err(e) = result {
                        self.violate(format!("CLUSTER MEET on node {from} failed: {e}"));
                    }
                }
                let again = self.now + plan.node_timeout.max(1000) + 200;
                self.schedule(again, Event::Step(Op::Meet { from, to }));
            }
            Op::Assign { node } => {
                let host = &self.hosts[node];
                if host.node.is_none() && plan.dead[node] {
                    return;
                }
                if host.node.is_none() || host.paused {
                    self.schedule(self.now + 500, Event::Step(op_assign(node)));
                    return;
                }
                let slots = self.slots[node].clone();
                if let Err(e) = self.call_result(node, |n, now| n.assign_slots(&slots, now)) {
                    self.violate(format!("CLUSTER ADDSLOTS on node {node} failed: {e}"));
                }
            }
            Op::Replicate { node } => {
                let Some(mut master) = self.roles[node] else {
                    return;
                };
                // Its master failed over meanwhile: the operator follows
                // the shard to its new master.
                let mut hops = 0;
                while let Some(next) = self.roles[master].filter(|_| hops < plan.n) {
                    master = next;
                    hops += 1;
                }
                self.roles[node] = Some(master);
                let host = &self.hosts[node];
                if host.node.is_none() && plan.dead[node] {
                    return;
                }
                let Some(n) = host.node.as_ref().filter(|_| !host.paused) else {
                    self.schedule(self.now + 500, Event::Step(Op::Replicate { node }));
                    return;
                };
                let id = plan.ids[master];
                if n.view().replica_of == Some(id) {
                    return;
                }
                match self.call_result(node, |n, now| n.replicate(&id, now)) {
                    Ok(()) => {}
                    // It does not know its master yet: the operator waits.
                    // It does not know its master yet, or still sees the
                    // failed-over master as one: the operator waits.
                    Err(e)
                        if e.contains("Unknown node") || e.contains("only replicate a master") =>
                    {
                        self.schedule(self.now + 500, Event::Step(Op::Replicate { node }));
                    }
                    Err(e) => self.violate(format!("CLUSTER REPLICATE on node {node} failed: {e}")),
                }
            }
            Op::Move {
                from,
                to,
                first,
                last,
            } => self.reshard(from, to, first, last),
            Op::Forget { on, node } => {
                let host = &self.hosts[on];
                if host.node.is_none() || host.paused {
                    self.schedule(self.now + 500, Event::Step(Op::Forget { on, node }));
                    return;
                }
                let id = plan.ids[node];
                match self.call_result(on, |n, now| n.forget(&id, now)) {
                    // It does not know the node (yet): it may still learn it
                    // from the gossip of a node that has not forgotten it,
                    // so the operator looks again while one knows it
                    // (Redis 7.0 does not spread FORGET).
                    Err(e) if e.contains("Unknown node") => {
                        let known = self.hosts.iter().any(|h| {
                            h.view.as_ref().is_some_and(|v| v.peer(&id).is_some())
                                && h.node.is_some()
                        });
                        if known {
                            self.schedule(self.now + 1000, Event::Step(Op::Forget { on, node }));
                        }
                    }
                    Err(e) => self.violate(format!("CLUSTER FORGET on node {on} failed: {e}")),
                    Ok(()) => {}
                }
            }
            Op::Failover { node } => {
                let host = &self.hosts[node];
                let replica = host.view.as_ref().is_some_and(|v| v.replica_of.is_some());
                if host.node.is_none() || host.paused || !replica {
                    return;
                }
                // Refused while the master is down: the operator leaves it.
                if self
                    .call_result(node, |n, now| n.manual_failover(now))
                    .is_ok()
                {
                    self.stats.manual_failovers += 1;
                    self.manual[node] = Some(self.now);
                }
            }
            Op::Crash { node, host_down } => self.crash(node, host_down),
            Op::Restart { node } => self.restart(node),
            Op::Pause { node } => {
                if self.hosts[node].node.is_some() {
                    self.hosts[node].paused = true;
                }
            }
            Op::Resume { node } => self.resume(node),
            Op::Split { side, drop } => {
                self.side = Some(side.clone());
                self.drop = drop;
                self.splits += 1;
                self.split_at = self.now;
                self.slots_at_split = self.slots.clone();
                self.healthy_split = self.healthy().then_some(self.now);
                let at = self.now + probe_delay(plan.node_timeout);
                let split = self.splits;
                self.schedule(at, Event::Probe { split, late: false });
                let at = self.now + fail_delay(plan.node_timeout);
                self.schedule(at, Event::Probe { split, late: true });
                if !drop {
                    let across: Vec<u64> = self
                        .conns
                        .iter()
                        .filter(|(_, c)| c.open && side[c.nodes[0]] != side[c.nodes[1]])
                        .map(|(&id, _)| id)
                        .collect();
                    for id in across {
                        self.reset_now(id);
                    }
                }
            }
            Op::Heal => {
                self.side = None;
                self.splits += 1;
                self.pump_all(None);
            }
            Op::ResetLink => {
                let open: Vec<u64> = self
                    .conns
                    .iter()
                    .filter(|(_, c)| c.open && c.links.iter().all(Option::is_some))
                    .map(|(&id, _)| id)
                    .collect();
                if !open.is_empty() {
                    let id = open[self.rng.index(open.len())];
                    self.reset_now(id);
                }
            }
            Op::Calm => self.calm = true,
        }
    }

    /// Carries out [`Op::Move`], or waits for it to be possible.
    fn reshard(&mut self, from: usize, to: usize, first: u16, last: u16) {
        let plan = self.plan;
        let gone = |w: &World<'_>, i: usize| plan.dead[i] && w.hosts[i].node.is_none();
        if gone(self, from) || gone(self, to) {
            return;
        }
        let slots: Vec<Slot> = (first..=last).filter_map(Slot::new).collect();
        let ready = |w: &World<'_>| {
            let up = |i: usize| {
                let h = &w.hosts[i];
                h.node.as_ref().filter(|_| !h.paused).map(|n| n.view())
            };
            let (Some(a), Some(b)) = (up(from), up(to)) else {
                return false;
            };
            let mine = a.claims.iter().find(|c| c.owner == a.id);
            let everyone_up = w
                .hosts
                .iter()
                .enumerate()
                .all(|(i, h)| (h.node.is_some() && !h.paused) || plan.dead[i]);
            let views: Vec<Option<&View>> = w
                .hosts
                .iter()
                .map(|h| h.view.as_ref().filter(|_| h.node.is_some()))
                .collect();
            let ctx = Ctx {
                plan,
                slots: &w.slots,
                unagreed: &w.unagreed,
                moves: &w.moves,
                roles: &w.roles,
            };
            everyone_up
                && settled(&ctx, &views)
                && b.replica_of.is_none()
                && mine.is_some_and(|c| slots.iter().all(|&s| c.slots.contains(s)))
        };
        if !ready(self) {
            let op = Op::Move {
                from,
                to,
                first,
                last,
            };
            self.schedule(self.now + 500, Event::Step(op));
            return;
        }
        let (a, b) = (plan.ids[from], plan.ids[to]);
        for &slot in &slots {
            for (node, how) in [
                (to, SetSlot::Importing(a)),
                (from, SetSlot::Migrating(b)),
                (to, SetSlot::Node(b)),
                (from, SetSlot::Node(b)),
            ] {
                let epoch = |w: &World<'_>| {
                    w.hosts[node]
                        .node
                        .as_ref()
                        .and_then(|n| n.view().config_epoch)
                };
                let before = epoch(self);
                let result = self.call_result(node, |n, now| n.set_slot(slot, how, now));
                if let Some(after) = epoch(self).filter(|&e| Some(e) != before) {
                    self.unagreed.insert((plan.ids[node], after));
                }
                if let Err(e) = result {
                    self.violate(format!(
                        "CLUSTER SETSLOT {} {how:?} on node {node} failed: {e}",
                        slot.get()
                    ));
                    return;
                }
            }
            self.slots[from].remove(slot);
            self.slots[to].insert(slot);
        }
        self.moves.push((from, to, slots.iter().copied().collect()));
        self.stats.reshards += 1;
    }

    /// Schedules a pump of every direction with something queued (towards
    /// `to` only, if given).
    fn pump_all(&mut self, to: Option<usize>) {
        let due: Vec<(u64, usize)> = self
            .conns
            .iter()
            .flat_map(|(&id, c)| {
                (0..2)
                    .filter(move |&d| {
                        !c.queue[d].is_empty() && to.map_or(true, |t| c.nodes[1 - d] == t)
                    })
                    .map(move |d| (id, d))
            })
            .collect();
        for (id, d) in due {
            self.schedule(self.now, Event::Pump { conn: id, dir: d });
        }
    }

    fn crash(&mut self, i: usize, host_down: bool) {
        let host = &mut self.hosts[i];
        if host.node.is_none() {
            return;
        }
        host.node = None;
        host.life += 1;
        host.paused = false;
        host.host_down = host_down;
        self.down_at[i] = self.now;
        if host_down {
            host.written = host.durable.clone();
        }
        host.inbox.clear();
        host.view = None;
        let ids: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| c.nodes.contains(&i))
            .map(|(&id, _)| id)
            .collect();
        for id in ids {
            for d in 0..2 {
                let Some(c) = self.conns.get_mut(&id) else {
                    break;
                };
                if c.nodes[d] != i {
                    continue;
                }
                if let Some(link) = c.links[d].take() {
                    self.by_end.remove(&(i, link));
                }
                c.queue[1 - d].clear();
                if !c.open {
                    if d == 0 {
                        self.conns.remove(&id);
                    }
                    break;
                }
                if !host_down {
                    // The kernel closes the dead process' sockets.
                    let lat = self.plan.latency[c.nodes[d]][c.nodes[1 - d]];
                    let at = (self.now + lat).max(c.last[d]);
                    c.last[d] = at;
                    c.queue[d].push_back((at, Seg::Fin));
                    self.schedule(at, Event::Pump { conn: id, dir: d });
                }
            }
        }
    }

    fn restart(&mut self, i: usize) {
        if self.hosts[i].node.is_some() {
            return;
        }
        self.boot(i);
        // A peer still holding a connection to the old process is reset the
        // next time its bytes reach the new one.
        let stale: Vec<(u64, usize)> = self
            .conns
            .iter()
            .filter_map(|(&id, c)| {
                let d = (0..2).find(|&d| c.nodes[d] == i && c.links[d].is_none())?;
                c.links[1 - d].map(|_| (id, d))
            })
            .collect();
        for (id, d) in stale {
            if let Some(c) = self.conns.get_mut(&id) {
                let at = (self.now + 1).max(c.last[d]);
                c.last[d] = at;
                c.queue[d].push_back((at, Seg::Rst));
                self.schedule(at, Event::Pump { conn: id, dir: d });
            }
        }
        // The operator checks the node it restarted: it meets its peers
        // again if it forgot them (a node with no nodes.conf, or one that
        // lost what was written but not fsynced, with its machine), gives
        // it back the slots it does not serve and makes it a replica again
        // (Redis does not fsync nodes.conf after ADDSLOTS or REPLICATE).
        let plan = self.plan;
        for &(a, b) in &plan.meets {
            let other = if a == i {
                b
            } else if b == i {
                a
            } else {
                continue;
            };
            let at = self.now + self.rng.below(100);
            self.schedule(at, Event::Step(Op::Meet { from: i, to: other }));
        }
        if !no_slots(&self.slots[i]) {
            let at = self.now + self.rng.below(200);
            self.schedule(at, Event::Step(op_assign(i)));
        }
        if self.roles[i].is_some() {
            let at = self.now + self.rng.below(200);
            self.schedule(at, Event::Step(Op::Replicate { node: i }));
        }
    }

    fn resume(&mut self, i: usize) {
        if !self.hosts[i].paused {
            return;
        }
        self.hosts[i].paused = false;
        self.since[i] = self.now;
        for deferred in std::mem::take(&mut self.hosts[i].inbox) {
            match deferred {
                Deferred::Connected(link) => {
                    if let Some(&id) = self.by_end.get(&(i, link)) {
                        self.connected(i, id, link);
                    }
                }
                Deferred::Closed(link) => {
                    self.call(i, |n, now| n.on_closed(link, now));
                }
                Deferred::Accept(id) => self.accept(i, id),
            }
        }
        self.pump_all(Some(i));
    }

    /// Runs the invariants on every node the last event touched.
    fn check_touched(&mut self) -> Result<(), (String, String)> {
        if let Some(message) = self.contract.take() {
            return Err(("the node's contract with its caller".into(), message));
        }
        if let Some(failure) = self.timed.take() {
            return Err(failure);
        }
        let mut afters = Vec::new();
        for i in std::mem::take(&mut self.touched) {
            let Some(node) = self.hosts[i].node.as_ref() else {
                continue;
            };
            let after = node.view();
            let before = self.hosts[i].view.as_ref();
            if before == Some(&after) {
                continue;
            }
            // A master whose config epoch grew without winning an
            // election took it without agreement (SETSLOT NODE closing an
            // import, or the collision rule): another node, across a
            // partition, may hold the same one until the collision rule
            // separates them (cluster specification, "Configuration epoch
            // conflicts resolution algorithm").
            if let (Some(b), Some(epoch)) = (before, after.config_epoch) {
                if after.replica_of.is_none()
                    && b.config_epoch != Some(epoch)
                    && self.elected[i] != Some(epoch)
                {
                    self.unagreed.insert((after.id, epoch));
                }
            }
            afters.push((i, after));
        }
        let ctx = Ctx {
            plan: self.plan,
            slots: &self.slots,
            unagreed: &self.unagreed,
            moves: &self.moves,
            roles: &self.roles,
        };
        let mut changed = Vec::new();
        for (i, after) in afters {
            let before = self.hosts[i].view.as_ref();
            if let Some(what) = changes(self.plan, before, &after) {
                self.trace.note(self.now, Note::Changed { node: i, what });
            }
            for inv in &mut self.invariants {
                inv.check(&ctx, i, before, &after)
                    .map_err(|e| (inv.name().to_string(), e))?;
            }
            self.hosts[i].view = Some(after);
            changed.push(i);
        }
        for i in changed {
            if let Some(view) = self.hosts[i].view.clone() {
                self.follow_claims(i, &view);
            }
        }
        Ok(())
    }

    /// During a partition that has lasted [`probe_delay`]: a node on a side
    /// with too few of the masters serving slots to make a majority
    /// reports `cluster_state:fail` (cluster specification, "Cluster
    /// state"). Nodes that started or resumed since are left out.
    fn probe(&mut self) -> Result<(), (String, String)> {
        let plan = self.plan;
        let Some(side) = &self.side else {
            return Ok(());
        };
        if self.slots != self.slots_at_split {
            // The operator resharded across the partition: the sides do not
            // know the same cluster.
            return Ok(());
        }
        let owners: Vec<usize> = (0..plan.n).filter(|&o| !no_slots(&self.slots[o])).collect();
        let quorum = owners.len() / 2 + 1;
        for (i, host) in self.hosts.iter().enumerate() {
            let Some(node) = host.node.as_ref() else {
                continue;
            };
            if host.paused || self.since[i] + probe_delay(plan.node_timeout) > self.now {
                continue;
            }
            // Counting an owner that died too recently for the others to
            // have noticed as reachable.
            let reachable = owners
                .iter()
                .filter(|&&o| {
                    side[o] == side[i]
                        && (self.hosts[o].node.is_some()
                            || self.down_at[o] + probe_delay(plan.node_timeout) > self.now)
                })
                .count();
            if reachable >= quorum {
                continue;
            }
            self.stats.minority_checks += 1;
            if node.view().state_ok == Some(true) {
                return Err((
                    "a minority side reports cluster_state fail".into(),
                    format!(
                        "node {i} reports ok with {reachable} of {} masters serving slots on its side",
                        owners.len()
                    ),
                ));
            }
        }
        // The rest needs a cluster that was healthy when the partition
        // began.
        let Some(split_at) = self.healthy_split else {
            return Ok(());
        };
        let running = |w: &World<'_>, i: usize| {
            let h = &w.hosts[i];
            h.node.is_some() && !h.paused && w.since[i] <= split_at
        };
        // Every node that has run all along suspects the nodes across the
        // partition, and none on its own side that ran all along too.
        for i in (0..plan.n).filter(|&i| running(self, i)) {
            let Some(v) = self.hosts[i].view.as_ref() else {
                continue;
            };
            for j in (0..plan.n).filter(|&j| j != i && !plan.forgotten[j]) {
                let Some(p) = v.peer(&plan.ids[j]) else {
                    continue;
                };
                let across = side[j] != side[i];
                if across && !p.failing() {
                    return Err((
                        "nodes across a partition are suspected".into(),
                        format!(
                            "node {i} flags node {j}, across the partition, {:?}",
                            p.flags
                        ),
                    ));
                }
                if !across && running(self, j) && p.failing() {
                    return Err((
                        "nodes across a partition are suspected".into(),
                        format!("node {i} flags node {j}, on its side, {:?}", p.flags),
                    ));
                }
            }
        }
        // The side with every master serving slots keeps serving, if those
        // masters have run all along.
        let Some(&first) = owners.first() else {
            return Ok(());
        };
        let serving = side[first];
        if !owners
            .iter()
            .all(|&o| side[o] == serving && running(self, o))
        {
            return Ok(());
        }
        let checked: Vec<usize> = (0..plan.n)
            .filter(|&i| side[i] == serving && running(self, i))
            .collect();
        for i in checked {
            self.stats.majority_checks += 1;
            let Some(node) = self.hosts[i].node.as_ref() else {
                continue;
            };
            if node.view().state_ok == Some(false) {
                return Err((
                    "the side with every master serving slots stays ok".into(),
                    format!("node {i} reports cluster_state fail"),
                ));
            }
        }
        Ok(())
    }

    /// Once a partition has lasted [`fail_delay`], and if the cluster was
    /// healthy when it began: on a side whose masters can agree on a
    /// failure ([`fail_reachable`]), every node that has run all along
    /// flags the nodes across as FAIL (cluster specification, "Failure
    /// detection").
    fn probe_fail(&mut self) -> Result<(), (String, String)> {
        let plan = self.plan;
        let (Some(side), Some(split_at)) = (&self.side, self.healthy_split) else {
            return Ok(());
        };
        if self.slots != self.slots_at_split {
            return Ok(());
        }
        let running = |w: &World<'_>, i: usize| {
            let h = &w.hosts[i];
            h.node.is_some() && !h.paused && w.since[i] <= split_at
        };
        let size = (0..plan.n).filter(|&o| !no_slots(&self.slots[o])).count();
        for serving in [false, true] {
            // Masters that can report, and replicas that can hear them:
            // those that ran all along.
            let count = |replica: bool| {
                (0..plan.n)
                    .filter(|&m| {
                        side[m] == serving && self.roles[m].is_some() == replica && running(self, m)
                    })
                    .count()
            };
            if !fail_reachable(count(false), count(true), size) {
                continue;
            }
            let checked: Vec<usize> = (0..plan.n)
                .filter(|&i| side[i] == serving && running(self, i))
                .collect();
            for i in checked {
                self.stats.fail_checks += 1;
                let Some(v) = self.hosts[i].view.as_ref() else {
                    continue;
                };
                for j in (0..plan.n).filter(|&j| side[j] != serving && !plan.forgotten[j]) {
                    if let Some(p) = v.peer(&plan.ids[j]) {
                        if !p.flags.contains(NodeFlags::FAIL) {
                            return Err((
                                "the majority side agrees on FAIL across a partition".into(),
                                format!(
                                    "node {i} flags node {j}, across the partition, {:?}",
                                    p.flags
                                ),
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether every node that will live is up, the cluster is settled,
    /// and every node reports `cluster_state:ok`.
    fn healthy(&self) -> bool {
        let plan = self.plan;
        let up = self
            .hosts
            .iter()
            .enumerate()
            .all(|(i, h)| (h.node.is_some() && !h.paused) || plan.dead[i]);
        let views: Vec<Option<&View>> = self
            .hosts
            .iter()
            .map(|h| h.view.as_ref().filter(|_| h.node.is_some()))
            .collect();
        let ctx = Ctx {
            plan,
            slots: &self.slots,
            unagreed: &self.unagreed,
            moves: &self.moves,
            roles: &self.roles,
        };
        up && settled(&ctx, &views) && views.iter().flatten().all(|v| v.state_ok == Some(true))
    }

    fn liveness(&self) -> Result<(), (String, String)> {
        let ctx = Ctx {
            plan: self.plan,
            slots: &self.slots,
            unagreed: &self.unagreed,
            moves: &self.moves,
            roles: &self.roles,
        };
        let views: Vec<Option<&View>> = self
            .hosts
            .iter()
            .map(|h| h.view.as_ref().filter(|_| h.node.is_some()))
            .collect();
        for (name, check) in LIVENESS {
            check(&ctx, &views).map_err(|e| (name.to_string(), e))?;
        }
        Ok(())
    }

    fn failure(&self, property: String, message: String) -> Failure {
        let mut report = String::new();
        report += &format!(
            "seed {} broke \"{property}\" at {} ms: {message}\n{}\n",
            self.plan.seed, self.now, self.plan
        );
        report += "views at the end:\n";
        for (i, h) in self.hosts.iter().enumerate() {
            let state = match (&h.node, h.paused) {
                (None, _) => "down",
                (Some(_), true) => "paused",
                (Some(_), false) => "up",
            };
            report += &format!("  node {i} ({state})");
            if let (Some(v), Some(_)) = (&h.view, &h.node) {
                report += &format!(" current epoch {}:", v.current_epoch);
                for p in &v.peers {
                    match self.plan.index_of(&p.id) {
                        Some(j) if !p.handshake() => {
                            report += &format!(" {j}{:?}e{}", p.flags, p.config_epoch)
                        }
                        _ => report += &format!(" ?@{}{:?}", p.cport, p.flags),
                    }
                }
                report += &format!(
                    "\n    config epoch {:?}, state ok {:?}, slots:",
                    v.config_epoch, v.state_ok
                );
                for c in &v.claims {
                    let owner = self.plan.index_of(&c.owner).map_or(-1, |o| o as i64);
                    report += &format!(" {owner}@e{}:[{}]", c.epoch, c.slots);
                }
            }
            report += "\n";
        }
        report += "events:\n";
        for line in self.trace.lines() {
            report += &format!("  {line}\n");
        }
        report += &format!(
            "replay: FERRODIS_SIM_SEED={} cargo test --test cluster_sim\n",
            self.plan.seed
        );
        Failure {
            seed: self.plan.seed,
            property,
            message,
            report,
        }
    }
}

/// What changed in a node's own state, for the trace: epochs, role, the
/// slots it claims.
fn changes(plan: &Plan, before: Option<&View>, after: &View) -> Option<String> {
    let mine = |v: &View| {
        v.claims
            .iter()
            .find(|c| c.owner == v.id)
            .map(|c| c.slots.to_string())
            .unwrap_or_default()
    };
    let name = |id: Option<NodeId>| match id {
        Some(id) => plan
            .index_of(&id)
            .map_or_else(|| id.to_string(), |i| format!("replica of node {i}")),
        None => "master".to_string(),
    };
    let mut what = Vec::new();
    let (e0, c0, r0, s0) = match before {
        Some(b) => (b.current_epoch, b.config_epoch, b.replica_of, mine(b)),
        None => (0, Some(0), None, String::new()),
    };
    if (e0, c0) != (after.current_epoch, after.config_epoch) {
        what.push(format!(
            "current epoch {}, config epoch {:?}",
            after.current_epoch, after.config_epoch
        ));
    }
    if r0 != after.replica_of {
        what.push(name(after.replica_of));
    }
    let s1 = mine(after);
    if s0 != s1 {
        what.push(format!("serves [{s1}]"));
    }
    (!what.is_empty()).then(|| what.join(", "))
}

fn op_assign(node: usize) -> Op {
    Op::Assign { node }
}
