//! The operator commands: what the `CLUSTER` subcommands do to the node
//! table (`clusterCommand`). Arguments come parsed; the checks Redis makes
//! on the table are made here, with its error texts.

use super::node::{Action, BumpEpoch, LinkId, Node};
use super::{ClusterError, ClusterNode, TODO_FSYNC_CONFIG, TODO_SAVE_CONFIG, TODO_UPDATE_STATE};
use crate::message::Body;
use ferrodis_slots::{NodeFlags, NodeId, Slot};
use std::net::IpAddr;

impl ClusterNode {
    /// `CLUSTER MEET ip port [cport]` (`clusterStartHandshake`): the node
    /// enters the table in handshake under a random id; the connection is
    /// asked for on the next tick, and a MEET goes out once it is up. A
    /// handshake already going on with that address makes this a no-op.
    ///
    /// `ip` must be an IPv4 or IPv6 address (it is kept in its normal
    /// form), and the ports in 1..=65535; the ports are taken as the
    /// integers the command parsed (a bus port not given is `port + 10000`),
    /// so that the error text is Redis'.
    pub fn meet(&mut self, ip: &str, port: i64, cport: i64, now: u64) -> Result<(), ClusterError> {
        self.observe(now);
        let invalid = || ClusterError::InvalidAddress {
            ip: ip.to_owned(),
            port: port.to_string(),
        };
        let addr: IpAddr = ip.parse().map_err(|_| invalid())?;
        let (Ok(port), Ok(cport)) = (u16::try_from(port), u16::try_from(cport)) else {
            return Err(invalid());
        };
        if port == 0 || cport == 0 {
            return Err(invalid());
        }
        let ip = addr.to_string();
        let in_progress = self.others.values().any(|n| {
            n.in_handshake() && n.ip.eq_ignore_ascii_case(&ip) && n.port == port && n.cport == cport
        });
        if in_progress {
            return Ok(());
        }
        let id = self.random_id();
        let mut node = Node::new(id, NodeFlags::HANDSHAKE | NodeFlags::MEET, now);
        node.ip = ip;
        node.port = port;
        node.cport = cport;
        self.add_node(node);
        Ok(())
    }

    /// `CLUSTER ADDSLOTS` (and `ADDSLOTSRANGE`, with its ranges spread into
    /// slots in order): this node serves these slots from now on. Nothing
    /// changes if one already has an owner or is given twice
    /// (`checkSlotAssignmentsOrReply`); a slot being imported stops being
    /// so (`clusterUpdateSlots`). No epoch changes: the claim spreads with
    /// this node's config epoch.
    pub fn add_slots(&mut self, slots: &[Slot]) -> Result<(), ClusterError> {
        self.check_slots(slots, false)?;
        let my_id = self.myself.id;
        for &slot in slots {
            if self.importing.remove(&slot).is_some() {
                self.sync_migration(slot);
            }
            self.add_slot(&my_id, slot);
        }
        self.todo |= TODO_UPDATE_STATE | TODO_SAVE_CONFIG;
        self.before_sleep(self.now);
        Ok(())
    }

    /// `CLUSTER DELSLOTS` (and `DELSLOTSRANGE`): these slots, whoever
    /// serves them, become unassigned in this node's table. Nothing changes
    /// if one is unassigned already or given twice.
    pub fn del_slots(&mut self, slots: &[Slot]) -> Result<(), ClusterError> {
        self.check_slots(slots, true)?;
        for &slot in slots {
            if self.importing.remove(&slot).is_some() {
                self.sync_migration(slot);
            }
            self.del_slot(slot);
        }
        self.todo |= TODO_UPDATE_STATE | TODO_SAVE_CONFIG;
        self.before_sleep(self.now);
        Ok(())
    }

    /// `CLUSTER FLUSHSLOTS`: this node serves no slot any more. Never
    /// refused here; the node refuses it first while keys exist
    /// ([`ClusterError::FlushSlotsNotEmpty`]).
    pub fn flush_slots(&mut self) -> Result<(), ClusterError> {
        let my_id = self.myself.id;
        self.del_node_slots(&my_id);
        self.todo |= TODO_UPDATE_STATE | TODO_SAVE_CONFIG;
        self.before_sleep(self.now);
        Ok(())
    }

    /// `checkSlotAssignmentsOrReply`: for each slot in order, busy (or
    /// unassigned, for `del`) first, then repeated.
    fn check_slots(&self, slots: &[Slot], del: bool) -> Result<(), ClusterError> {
        let mut seen = ferrodis_slots::SlotSet::new();
        for &slot in slots {
            let owned = self.slot_map.owner(slot).is_some();
            if del && !owned {
                return Err(ClusterError::SlotUnassigned(slot.get()));
            }
            if !del && owned {
                return Err(ClusterError::SlotBusy(slot.get()));
            }
            if !seen.insert(slot) {
                return Err(ClusterError::SlotRepeated(slot.get()));
            }
        }
        Ok(())
    }

    /// `CLUSTER FORGET id`: drop a node from the table, closing its
    /// links, and keep it from coming back through gossip for a minute
    /// (`clusterBlacklistAddNode`). The actions close its links.
    pub fn forget(&mut self, id: &NodeId, now: u64) -> Result<Vec<Action>, ClusterError> {
        self.observe(now);
        if *id == self.myself.id {
            return Err(ClusterError::ForgetMyself);
        }
        if self.get(id).is_none() {
            return Err(ClusterError::UnknownNode(id.to_string()));
        }
        if self.myself.is_replica() && self.myself.replica_of == Some(*id) {
            return Err(ClusterError::ForgetMyMaster);
        }
        let mut out = Vec::new();
        self.blacklist_add(id, now);
        self.del_node(id, now, &mut out);
        self.todo |= TODO_UPDATE_STATE | TODO_SAVE_CONFIG;
        self.before_sleep(now);
        Ok(out)
    }

    /// `CLUSTER REPLICATE id`: this node becomes a replica of master `id`
    /// (`clusterSetMaster`), announces it in every message, and closes its
    /// migrations if it was a master. A master must serve no slot (the node
    /// also checks that it holds no key:
    /// [`ClusterError::ReplicateNotEmpty`]). Replicating the data is the
    /// node's part: it follows [`ClusterNode::master`].
    pub fn replicate(&mut self, id: &NodeId) -> Result<(), ClusterError> {
        let Some(node) = self.get(id) else {
            return Err(ClusterError::UnknownNode(id.to_string()));
        };
        if *id == self.myself.id {
            return Err(ClusterError::ReplicateMyself);
        }
        if node.is_replica() {
            return Err(ClusterError::ReplicateReplica);
        }
        if self.myself.is_master() && self.myself.numslots != 0 {
            return Err(ClusterError::ReplicateNotEmpty);
        }
        self.set_master(id);
        self.todo |= TODO_UPDATE_STATE | TODO_SAVE_CONFIG;
        self.before_sleep(self.now);
        Ok(())
    }

    /// `CLUSTER SETSLOT slot MIGRATING id`: keys of `slot` not found here
    /// are redirected with `-ASK` to `id`.
    pub fn set_slot_migrating(&mut self, slot: Slot, id: &NodeId) -> Result<(), ClusterError> {
        self.check_setslot()?;
        if self.slot_map.owner(slot) != Some(&self.myself.id) {
            return Err(ClusterError::NotSlotOwner(slot.get()));
        }
        let target = self
            .get(id)
            .ok_or_else(|| ClusterError::DontKnowNode(id.to_string()))?;
        if target.is_replica() {
            return Err(ClusterError::TargetNotMaster);
        }
        self.migrating.insert(slot, *id);
        self.sync_migration(slot);
        self.setslot_done();
        Ok(())
    }

    /// `CLUSTER SETSLOT slot IMPORTING id`: this node accepts `-ASK`ed
    /// commands for `slot`, which `id` serves, and ignores claims on it
    /// until the slot is closed.
    pub fn set_slot_importing(&mut self, slot: Slot, id: &NodeId) -> Result<(), ClusterError> {
        self.check_setslot()?;
        if self.slot_map.owner(slot) == Some(&self.myself.id) {
            return Err(ClusterError::AlreadySlotOwner(slot.get()));
        }
        let source = self
            .get(id)
            .ok_or_else(|| ClusterError::DontKnowNode(id.to_string()))?;
        if source.is_replica() {
            return Err(ClusterError::TargetNotMaster);
        }
        self.importing.insert(slot, *id);
        self.sync_migration(slot);
        self.setslot_done();
        Ok(())
    }

    /// `CLUSTER SETSLOT slot STABLE`: close the slot's migration, if any.
    pub fn set_slot_stable(&mut self, slot: Slot) -> Result<(), ClusterError> {
        self.check_setslot()?;
        self.migrating.remove(&slot);
        self.importing.remove(&slot);
        self.sync_migration(slot);
        self.setslot_done();
        Ok(())
    }

    /// `CLUSTER SETSLOT slot NODE id`: `id` serves `slot` from now on, in
    /// this node's table. `keys_in_slot` is how many keys this node holds in
    /// the slot (`countKeysInSlot`): the slot may not be given away while
    /// it holds any, and a migration out of it closes once it is empty.
    ///
    /// A master giving away its last slot becomes a replica of `id` (with
    /// replica migration allowed). A node closing an import of a slot it
    /// now serves takes a new config epoch without agreement
    /// (`clusterBumpConfigEpochWithoutConsensus`), so that its claim wins,
    /// and tells every node at once with a PONG: those are the actions.
    pub fn set_slot_node(
        &mut self,
        slot: Slot,
        id: &NodeId,
        keys_in_slot: u64,
        now: u64,
    ) -> Result<Vec<Action>, ClusterError> {
        self.observe(now);
        self.check_setslot()?;
        let my_id = self.myself.id;
        let target = self
            .get(id)
            .ok_or_else(|| ClusterError::UnknownNode(id.to_string()))?;
        if target.is_replica() {
            return Err(ClusterError::TargetNotMaster);
        }
        let slot_was_mine = self.slot_map.owner(slot) == Some(&my_id);
        if slot_was_mine && *id != my_id && keys_in_slot != 0 {
            return Err(ClusterError::SlotHasKeys(slot.get()));
        }
        if keys_in_slot == 0 && self.migrating.remove(&slot).is_some() {
            self.sync_migration(slot);
        }
        self.del_slot(slot);
        self.add_slot(id, slot);
        if slot_was_mine
            && *id != my_id
            && self.myself.numslots == 0
            && self.config.allow_replica_migration
        {
            self.set_master(id);
            self.todo |= TODO_SAVE_CONFIG | TODO_UPDATE_STATE | TODO_FSYNC_CONFIG;
        }
        let mut out = Vec::new();
        if *id == my_id && self.importing.contains_key(&slot) {
            self.bump_epoch();
            self.importing.remove(&slot);
            self.sync_migration(slot);
            self.broadcast_pong(now, &mut out);
        }
        self.setslot_done();
        Ok(out)
    }

    /// Atomic slot migration, target side: this node takes every slot of
    /// `slots` in one step, once the source's stream of them has been
    /// applied here. As for the end of an import with `SETSLOT NODE`, it
    /// takes a new config epoch without agreement when its own is not the
    /// greatest (so that its claim wins), saves with fsync, and tells every
    /// node at once with a PONG: those are the actions.
    pub fn claim_slots(&mut self, slots: &[Slot], now: u64) -> Result<Vec<Action>, ClusterError> {
        self.observe(now);
        self.check_setslot()?;
        let my_id = self.myself.id;
        for &slot in slots {
            self.migrating.remove(&slot);
            self.importing.remove(&slot);
            self.sync_migration(slot);
            self.del_slot(slot);
            self.add_slot(&my_id, slot);
        }
        self.bump_epoch();
        self.todo |= TODO_SAVE_CONFIG | TODO_FSYNC_CONFIG | TODO_UPDATE_STATE;
        let mut out = Vec::new();
        self.broadcast_pong(now, &mut out);
        self.before_sleep(self.now);
        Ok(out)
    }

    /// Atomic slot migration, source side: `to` serves `slots` from now on
    /// (it has claimed them with [`ClusterNode::claim_slots`]). A master
    /// left without slots becomes a replica of `to`, as after `SETSLOT
    /// NODE` (with replica migration allowed). Nothing to do, and no
    /// error, when the target's claim arrived first by the bus (this node
    /// may then already be its replica).
    pub fn cede_slots(
        &mut self,
        slots: &[Slot],
        to: &NodeId,
        now: u64,
    ) -> Result<Vec<Action>, ClusterError> {
        self.observe(now);
        if slots.iter().all(|s| self.slot_map.owner(*s) == Some(to)) {
            return Ok(Vec::new());
        }
        self.check_setslot()?;
        let target = self
            .get(to)
            .ok_or_else(|| ClusterError::UnknownNode(to.to_string()))?;
        if target.is_replica() {
            return Err(ClusterError::TargetNotMaster);
        }
        let had_slots = self.myself.numslots != 0;
        for &slot in slots {
            self.migrating.remove(&slot);
            self.importing.remove(&slot);
            self.sync_migration(slot);
            self.del_slot(slot);
            self.add_slot(to, slot);
        }
        if had_slots && self.myself.numslots == 0 && self.config.allow_replica_migration {
            self.set_master(to);
        }
        self.todo |= TODO_SAVE_CONFIG | TODO_FSYNC_CONFIG | TODO_UPDATE_STATE;
        self.before_sleep(self.now);
        Ok(Vec::new())
    }

    /// `CLUSTER BUMPEPOCH` (`clusterBumpConfigEpochWithoutConsensus`): if
    /// this node's config epoch is 0 or not the greatest it knows, take
    /// currentEpoch + 1, without agreement, and save with fsync.
    pub fn bump_epoch(&mut self) -> BumpEpoch {
        let max = self
            .nodes()
            .map(|n| n.config_epoch)
            .max()
            .unwrap_or(0)
            .max(self.current_epoch);
        if self.myself.config_epoch == 0 || self.myself.config_epoch != max {
            self.current_epoch += 1;
            self.myself.config_epoch = self.current_epoch;
            self.todo |= TODO_SAVE_CONFIG | TODO_FSYNC_CONFIG;
            BumpEpoch::Bumped(self.myself.config_epoch)
        } else {
            BumpEpoch::Still(self.myself.config_epoch)
        }
    }

    /// `CLUSTER SET-CONFIG-EPOCH epoch`: only on a node that knows no other
    /// and whose config epoch is 0, as when a cluster is created. The
    /// current epoch follows if smaller.
    pub fn set_config_epoch(&mut self, epoch: u64) -> Result<(), ClusterError> {
        if self.known() > 1 {
            return Err(ClusterError::ConfigEpochKnowsOthers);
        }
        if self.myself.config_epoch != 0 {
            return Err(ClusterError::ConfigEpochNonZero);
        }
        self.myself.config_epoch = epoch;
        self.current_epoch = self.current_epoch.max(epoch);
        self.todo |= TODO_UPDATE_STATE | TODO_SAVE_CONFIG;
        self.before_sleep(self.now);
        Ok(())
    }

    /// `CLUSTER RESET [HARD|SOFT]` (`clusterReset`): a replica turns master
    /// (the node stops replicating and flushes its data), migrations close,
    /// every slot becomes unassigned, every other node is forgotten (the
    /// actions close their links). A hard reset also sets the epochs to 0
    /// and draws a new id. Never refused here; the node refuses it first on
    /// a master holding keys ([`ClusterError::ResetMasterWithKeys`]).
    pub fn reset(&mut self, hard: bool) -> Result<Vec<Action>, ClusterError> {
        let now = self.now;
        let my_id = self.myself.id;
        if self.myself.is_replica() {
            self.set_node_as_master(&my_id);
        }
        self.close_all_slots();
        for slot in ferrodis_slots::SlotRange::all().iter() {
            self.del_slot(slot);
        }
        let mut out = Vec::new();
        let others: Vec<NodeId> = self.others.keys().copied().collect();
        for id in others {
            self.del_node(&id, now, &mut out);
        }
        if hard {
            self.current_epoch = 0;
            self.last_vote_epoch = 0;
            self.myself.config_epoch = 0;
            let id = self.random_id();
            self.myself.id = id;
            self.config.id = id;
        }
        self.todo |= TODO_SAVE_CONFIG | TODO_UPDATE_STATE | TODO_FSYNC_CONFIG;
        self.before_sleep(now);
        Ok(out)
    }

    /// `CLUSTER COUNT-FAILURE-REPORTS id`: how many masters reported node
    /// `id` failing within twice the node timeout.
    pub fn count_failure_reports(&mut self, id: &NodeId) -> Result<usize, ClusterError> {
        if self.get(id).is_none() {
            return Err(ClusterError::UnknownNode(id.to_string()));
        }
        let now = self.now;
        Ok(self.failure_reports(id, now))
    }

    /// `PUBLISH` in a cluster (`clusterPropagatePublish`): the message goes
    /// to every node, to publish to its subscribers.
    pub fn publish(&mut self, channel: &[u8], message: &[u8]) -> Vec<Action> {
        let mut out = Vec::new();
        self.broadcast(
            Body::Publish {
                channel: channel.to_vec(),
                message: message.to_vec(),
            },
            &mut out,
        );
        out
    }

    /// `SPUBLISH` (`clusterPropagatePublish` sharded): the message goes to
    /// the other nodes of this node's shard, its master and the master's
    /// replicas (`clusterGetNodesServingMySlots`).
    pub fn publish_shard(&mut self, channel: &[u8], message: &[u8]) -> Vec<Action> {
        let mut out = Vec::new();
        let my_id = self.myself.id;
        let primary = if self.myself.is_master() {
            Some(my_id)
        } else {
            self.myself.replica_of
        };
        let Some(primary) = primary.and_then(|p| self.get(&p)) else {
            return out;
        };
        let links: Vec<LinkId> = std::iter::once(primary.id)
            .chain(primary.replicas.iter().copied())
            .filter_map(|id| self.get(&id))
            .filter(|n| !n.is_myself() && !n.in_handshake())
            .filter_map(|n| n.link)
            .collect();
        for link in links {
            self.send(
                link,
                Body::PublishShard {
                    channel: channel.to_vec(),
                    message: message.to_vec(),
                },
                &mut out,
            );
        }
        out
    }

    /// `SETSLOT` is for masters only.
    fn check_setslot(&self) -> Result<(), ClusterError> {
        if self.myself.is_replica() {
            return Err(ClusterError::SetSlotOnReplica);
        }
        Ok(())
    }

    fn setslot_done(&mut self) {
        self.todo |= TODO_SAVE_CONFIG | TODO_UPDATE_STATE;
        self.before_sleep(self.now);
    }
}
