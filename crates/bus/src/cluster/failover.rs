//! Failover, driven by the decisions of `ferrodis-failover`: a replica's
//! election for its failed master (`clusterHandleSlaveFailover`), a
//! master's vote (`clusterSendFailoverAuthIfNeeded`), taking the master's
//! place (`clusterFailoverReplaceYourMaster`), `CLUSTER FAILOVER` and its
//! MFSTART / `PAUSED` exchange (`clusterHandleManualFailover`), replica
//! migration (`clusterHandleSlaveMigration`), and the actions that tell the
//! caller what to do with its data.

use super::node::Action;
use super::{
    ClusterError, ClusterNode, FailoverKind, TODO_FSYNC_CONFIG, TODO_HANDLE_MANUALFAILOVER,
    TODO_SAVE_CONFIG, TODO_UPDATE_STATE,
};
use crate::message::{Body, Header};
use crate::types::MessageFlags;
use ferrodis_failover::election::{self, Candidate, Inputs, Sibling, Step};
use ferrodis_failover::manual::{self, Preconditions, Refusal};
use ferrodis_failover::migration::{Master, Me};
use ferrodis_failover::vote::{Context, FailedMaster, Request, Voter};
use ferrodis_slots::{NodeFlags, NodeId, SlotSet};

impl ClusterNode {
    /// `CLUSTER FAILOVER [FORCE|TAKEOVER]` on a replica. The default form
    /// asks the master (MFSTART) to pause writes and waits until this
    /// node's offset ([`set_repl_offset`](Self::set_repl_offset)) reaches
    /// the master's, then runs the election at once; FORCE runs it without
    /// the master; TAKEOVER takes a new config epoch without agreement and
    /// the master's slots at once. Gives up after 5 s
    /// (`CLUSTER_MF_TIMEOUT`). The actions are the MFSTART, or TAKEOVER's
    /// PONGs and [`Action::BecomeMaster`].
    pub fn failover(&mut self, kind: FailoverKind, now: u64) -> Result<Vec<Action>, ClusterError> {
        self.observe(now);
        let master = self.master().filter(|_| self.myself.is_replica());
        let pre = Preconditions {
            is_master: self.myself.is_master(),
            master_known: master.is_some(),
            master_down: master.is_some_and(|m| m.failed() || m.link.is_none()),
        };
        manual::check(kind, pre).map_err(|r| match r {
            Refusal::NotAReplica => ClusterError::FailoverOnMaster,
            Refusal::UnknownMaster => ClusterError::FailoverUnknownMaster,
            Refusal::MasterDown => ClusterError::FailoverMasterDown,
        })?;
        let mut out = Vec::new();
        self.mf.start_replica(kind, now);
        match kind {
            FailoverKind::Takeover => {
                self.bump_epoch();
                self.replace_master(now, &mut out);
            }
            FailoverKind::Force => {}
            FailoverKind::Default => {
                if let Some(link) = self.master().and_then(|m| m.link) {
                    self.send(link, Body::MfStart, &mut out);
                }
            }
        }
        self.after_event(now, &mut out);
        Ok(out)
    }

    /// Tells the node when this replica last heard from its master over
    /// the replication link, Unix ms (Redis' `master->lastinteraction`
    /// while connected, `repl_down_since` once the link is down); `None`
    /// (the default) when the caller does not track it, and then no
    /// data-age limit (`cluster-replica-validity-factor`) applies.
    pub fn set_master_last_interaction(&mut self, at: Option<u64>) {
        self.master_last_interaction = at;
    }

    /// Master side: a manual failover is in progress, and writes are
    /// paused, for the replica named.
    pub fn manual_failover_replica(&self) -> Option<&NodeId> {
        self.mf_replica.as_ref().filter(|_| self.mf.in_progress())
    }

    /// `resetManualFailover`.
    pub(super) fn reset_manual_failover(&mut self) {
        self.mf.reset();
        self.mf_replica = None;
    }

    /// A FAILOVER_AUTH_REQUEST from `sender`: vote for it if the rules
    /// allow (cluster specification, "Masters reply to replica vote
    /// request").
    pub(super) fn on_auth_request(
        &mut self,
        sender: &NodeId,
        hdr: &Header,
        now: u64,
        out: &mut Vec<Action>,
    ) {
        let Some(node) = self.get(sender) else { return };
        let master_id = node.replica_of;
        let master = master_id.and_then(|m| self.get(&m)).map(|m| FailedMaster {
            failed: m.failed(),
            voted_time: m.voted_time,
        });
        let claimed = SlotSet::from_bytes(hdr.slots.as_bytes());
        let claimed_slots_epoch = claimed
            .iter()
            .filter(|&slot| !self.slot_unclaimed(slot))
            .filter_map(|slot| self.slot_owner(slot).map(|o| o.config_epoch))
            .max()
            .unwrap_or(0);
        let request = Request {
            current_epoch: hdr.current_epoch.0,
            config_epoch: hdr.config_epoch.0,
            requester_is_master: node.is_master(),
            master,
            force_ack: hdr.mflags.contains(MessageFlags::FORCEACK),
            claimed_slots_epoch,
        };
        let ctx = Context {
            serving_master: self.myself.is_master() && self.myself.numslots > 0,
            current_epoch: self.current_epoch,
            now,
            node_timeout_ms: self.config.node_timeout_ms,
        };
        let mut voter = Voter::new(self.last_vote_epoch);
        if voter.consider(&ctx, &request).is_err() {
            return;
        }
        self.last_vote_epoch = voter.last_vote_epoch;
        if let Some(m) = master_id.and_then(|m| self.get_mut(&m)) {
            m.voted_time = now;
        }
        self.todo |= TODO_SAVE_CONFIG | TODO_FSYNC_CONFIG;
        if let Some(link) = self.get(sender).and_then(|n| n.link) {
            self.send(link, Body::FailoverAuthAck, out);
        }
    }

    /// A FAILOVER_AUTH_ACK: it counts for our election if the sender is a
    /// master serving slots, at our election's epoch or later.
    pub(super) fn on_auth_ack(&mut self, sender: &NodeId, hdr: &Header) {
        let Some(node) = self.get(sender) else { return };
        if node.is_master()
            && node.numslots > 0
            && self.election.requested()
            && hdr.current_epoch.0 >= self.election.epoch()
            && self.election.on_vote(hdr.current_epoch.0)
        {
            self.todo |= super::TODO_HANDLE_FAILOVER;
        }
    }

    /// MFSTART from one of our replicas: pause writes. The replica gets
    /// our offset, flagged `PAUSED`, with the pings of the following ticks
    /// (`failover_cron`): by then the node has carried out
    /// [`Action::PauseWrites`] and reported the offset the pause froze
    /// ([`set_repl_offset`](Self::set_repl_offset)). A ping sent now would
    /// carry the offset from before writes running at this moment.
    pub(super) fn on_mfstart(&mut self, sender: &NodeId, now: u64, out: &mut Vec<Action>) {
        let my_id = self.myself.id;
        if self.get(sender).and_then(|n| n.replica_of) != Some(my_id) || !self.myself.is_master() {
            return;
        }
        self.reset_manual_failover();
        let until_ms = self.mf.start_master(now);
        self.mf_replica = Some(*sender);
        out.push(Action::PauseWrites { until_ms });
        self.pause_told = true;
    }

    /// A message from this replica's master during a manual failover: the
    /// first one flagged `PAUSED` gives the offset to reach.
    pub(super) fn on_master_offset(&mut self, sender: &NodeId, hdr: &Header) {
        if !self.mf.in_progress()
            || !self.myself.is_replica()
            || self.myself.replica_of != Some(*sender)
            || self.mf.master_offset().is_some()
        {
            return;
        }
        let paused = hdr.mflags.contains(MessageFlags::PAUSED);
        self.mf.on_master_message(paused, hdr.offset.0);
        if paused {
            self.todo |= TODO_HANDLE_MANUALFAILOVER;
        }
    }

    /// The failover part of `clusterCron`: give up a manual failover that
    /// took too long; a master keeps pinging the replica of its manual
    /// failover; a replica moves its manual failover and its election on,
    /// and considers replica migration.
    pub(super) fn failover_cron(&mut self, now: u64, out: &mut Vec<Action>) {
        if self.mf.in_progress() && self.myself.is_master() {
            let link = self
                .mf_replica
                .and_then(|r| self.get(&r))
                .and_then(|n| n.link);
            if let Some(link) = link {
                self.send_ping(link, super::send::Kind::Ping, now, out);
            }
        }
        if self.mf.check_timeout(now) {
            self.mf_replica = None;
        }
        if self.myself.is_replica() {
            self.handle_manual_failover();
            self.handle_replica_failover(now, out);
            self.handle_replica_migration(now);
        }
    }

    /// `clusterHandleManualFailover`: the election may run once this
    /// replica's offset reaches the master's paused one.
    pub(super) fn handle_manual_failover(&mut self) {
        let offset = self.myself.repl_offset;
        self.mf.ready(offset);
    }

    /// Whether this replica's data is too old to fail over.
    fn data_too_old(&self, now: u64) -> bool {
        let Some(at) = self.master_last_interaction else {
            return false;
        };
        election::data_too_old(
            now.saturating_sub(at),
            self.config.node_timeout_ms,
            self.config.repl_ping_period_ms,
            self.config.replica_validity_factor,
        )
    }

    /// `clusterHandleSlaveFailover`.
    pub(super) fn handle_replica_failover(&mut self, now: u64, out: &mut Vec<Action>) {
        let master = self.master().filter(|_| self.myself.is_replica());
        let candidate = Candidate {
            replica_with_master: master.is_some(),
            master_failed: master.is_some_and(|m| m.failed()),
            master_slots: master.map_or(0, |m| m.numslots),
            no_failover: self.config.replica_no_failover,
            manual: self.mf.can_start(),
            data_too_old: self.data_too_old(now),
        };
        if candidate.check().is_err() {
            return;
        }
        let my_offset = self.myself.repl_offset;
        let my_id = self.myself.id;
        let siblings: Vec<Sibling> = master
            .map(|m| m.replicas.clone())
            .unwrap_or_default()
            .iter()
            .filter(|r| **r != my_id)
            .filter_map(|r| self.get(r))
            .map(|r| Sibling {
                offset: r.repl_offset,
                no_failover: r.flags.contains(NodeFlags::NOFAILOVER),
            })
            .collect();
        let rank = election::rank(my_offset, siblings);
        let random = self.rng_next();
        // Up to two steps: a manual failover schedules itself for now and
        // asks for votes at once.
        for _ in 0..2 {
            let step = self.election.step(Inputs {
                now,
                node_timeout_ms: self.config.node_timeout_ms,
                rank,
                manual: self.mf.in_progress(),
                random,
                current_epoch: self.current_epoch,
                quorum: election::quorum(self.size),
            });
            match step {
                Step::Scheduled { .. } => {
                    self.broadcast_pong_to_siblings(now, out);
                    if !self.mf.in_progress() {
                        return;
                    }
                }
                Step::RequestVotes { epoch } => {
                    self.current_epoch = self.current_epoch.max(epoch);
                    let mut header = self.header();
                    if self.mf.in_progress() {
                        header.mflags.insert(MessageFlags::FORCEACK);
                    }
                    self.broadcast_with(header, Body::FailoverAuthRequest, out);
                    self.todo |= TODO_SAVE_CONFIG | TODO_UPDATE_STATE | TODO_FSYNC_CONFIG;
                    return;
                }
                Step::Won { epoch } => {
                    if self.myself.config_epoch < epoch {
                        self.myself.config_epoch = epoch;
                    }
                    self.replace_master(now, out);
                    return;
                }
                Step::Delayed | Step::Expired | Step::WaitingVotes => return,
            }
        }
    }

    /// `clusterFailoverReplaceYourMaster`: this replica turns master, takes
    /// every slot of its master, saves (with fsync) and tells everyone with
    /// a PONG. The caller has given it a new config epoch.
    pub(super) fn replace_master(&mut self, now: u64, out: &mut Vec<Action>) {
        let Some(old) = self.myself.replica_of.filter(|_| self.myself.is_replica()) else {
            return;
        };
        let my_id = self.myself.id;
        self.set_node_as_master(&my_id);
        let slots: Vec<_> = self
            .get(&old)
            .map(|n| n.slots.iter().collect())
            .unwrap_or_default();
        for slot in slots {
            self.del_slot(slot);
            self.add_slot(&my_id, slot);
            self.not_claiming.remove(slot);
        }
        self.update_state(now);
        self.todo |= TODO_SAVE_CONFIG | TODO_FSYNC_CONFIG;
        self.broadcast_pong(now, out);
        self.reset_manual_failover();
    }

    /// `clusterHandleSlaveMigration`, with its gate from `clusterCron`.
    fn handle_replica_migration(&mut self, now: u64) {
        let Some(my_master) = self.myself.replica_of else {
            return;
        };
        let failing = |n: &super::Node| n.failed() || n.timed_out();
        let masters: Vec<Master<NodeId>> = self
            .nodes()
            .filter(|n| {
                n.is_master()
                    && !n.in_handshake()
                    && !n.flags.contains(NodeFlags::NOADDR)
                    && !n.is_myself()
            })
            .map(|n| Master {
                id: n.id,
                failed: n.failed(),
                migrate_to: n.flags.contains(NodeFlags::MIGRATE_TO),
                slots: n.numslots,
                ok_replicas: n
                    .replicas
                    .iter()
                    .filter(|r| self.get(r).is_some_and(|r| !r.failed()))
                    .copied()
                    .collect(),
            })
            .collect();
        let healthy_siblings = self
            .get(&my_master)
            .map(|m| {
                m.replicas
                    .iter()
                    .filter(|r| self.get(r).is_some_and(|r| !failing(r)))
                    .count()
            })
            .unwrap_or(0);
        let me = Me {
            id: self.myself.id,
            master: my_master,
            state_ok: self.state == super::ClusterState::Ok,
            barrier: self.config.migration_barrier,
            healthy_siblings,
            allowed: self.config.allow_replica_migration,
        };
        if let Some(target) = self.migration.decide(&me, &masters, now) {
            self.set_master(&target);
            self.todo |= TODO_SAVE_CONFIG | TODO_UPDATE_STATE;
        }
    }

    /// Tells the caller what changed for its data: this node turned
    /// master, replicates another master (or the same at a new address),
    /// or may accept writes again.
    pub(super) fn sync_effects(&mut self, out: &mut Vec<Action>) {
        let wanted = if self.myself.is_replica() {
            self.master()
                .filter(|m| !m.ip.is_empty() && m.port != 0)
                .map(|m| (m.id, m.ip.clone(), m.port))
        } else {
            None
        };
        let replica = self.myself.is_replica();
        if wanted != self.role_told && (wanted.is_some() || !replica) {
            match &wanted {
                Some((id, ip, port)) => out.push(Action::ReplicateFrom {
                    id: *id,
                    ip: ip.clone(),
                    port: *port,
                }),
                None => out.push(Action::BecomeMaster),
            }
            self.role_told = wanted;
        }
        if self.pause_told && !self.mf.paused() {
            self.pause_told = false;
            out.push(Action::ResumeWrites);
        }
    }
}
