//! Keeping the node table consistent: slot ownership (the routing table and
//! each node's slot set together), masters and replicas, failure reports,
//! links, and deleting or renaming a node.

use super::node::{Action, FailReport, LinkId, Node};
use super::{ClusterNode, TODO_SAVE_CONFIG, TODO_UPDATE_STATE};
use ferrodis_slots::{Migration, NodeFlags, NodeId, Slot};

impl ClusterNode {
    // ---------------------------------------------------------------------
    // Slots
    // ---------------------------------------------------------------------

    /// Gives `slot` to node `id` if it has no owner (`clusterAddSlot`);
    /// false, changing nothing, otherwise.
    pub(super) fn add_slot(&mut self, id: &NodeId, slot: Slot) -> bool {
        if self.slot_map.owner(slot).is_some() {
            return false;
        }
        // A master getting its first slot becomes a target of replica
        // migration if any master has replicas (`clusterNodeSetSlotBit`).
        let first = self.get(id).is_some_and(|n| n.numslots == 0);
        let migrate_to = first && self.masters_have_replicas();
        let Some(node) = self.get_mut(id) else {
            return false;
        };
        if node.slots.insert(slot) {
            node.numslots += 1;
            if node.numslots == 1 && migrate_to {
                node.flags.insert(NodeFlags::MIGRATE_TO);
            }
        }
        self.slot_map.assign(slot, *id);
        true
    }

    /// Leaves `slot` without an owner (`clusterDelSlot`); returns the owner
    /// it had.
    pub(super) fn del_slot(&mut self, slot: Slot) -> Option<NodeId> {
        let owner = self.slot_map.unassign(slot)?;
        if let Some(node) = self.get_mut(&owner) {
            if node.slots.remove(slot) {
                node.numslots = node.numslots.saturating_sub(1);
            }
        }
        Some(owner)
    }

    /// Leaves every slot of node `id` without an owner
    /// (`clusterDelNodeSlots`); returns how many it had.
    pub(super) fn del_node_slots(&mut self, id: &NodeId) -> usize {
        let slots: Vec<Slot> = self
            .get(id)
            .map(|n| n.slots.iter().collect())
            .unwrap_or_default();
        for &slot in &slots {
            self.del_slot(slot);
        }
        slots.len()
    }

    /// Whether a slot is unassigned, or its owner stopped claiming it
    /// (`isSlotUnclaimed`).
    pub(super) fn slot_unclaimed(&self, slot: Slot) -> bool {
        self.slot_map.owner(slot).is_none() || self.not_claiming.contains(slot)
    }

    /// Whether any master has replicas (`clusterMastersHaveSlaves`).
    fn masters_have_replicas(&self) -> bool {
        self.nodes()
            .filter(|n| !n.is_replica())
            .any(|n| !n.replicas.is_empty())
    }

    /// Sets or clears the migration shown for `slot` in the routing table
    /// from the two maps (a migration in both directions shows as
    /// migrating, as `CLUSTER NODES` shows it).
    pub(super) fn sync_migration(&mut self, slot: Slot) {
        if let Some(to) = self.migrating.get(&slot) {
            self.slot_map
                .set_migration(slot, Migration::Migrating { to: *to });
        } else if let Some(from) = self.importing.get(&slot) {
            self.slot_map
                .set_migration(slot, Migration::Importing { from: *from });
        } else {
            self.slot_map.clear_migration(slot);
        }
    }

    /// Forgets every migration (`clusterCloseAllSlots`).
    pub(super) fn close_all_slots(&mut self) {
        self.migrating.clear();
        self.importing.clear();
        self.slot_map.clear_migrations();
    }

    // ---------------------------------------------------------------------
    // Masters and replicas
    // ---------------------------------------------------------------------

    /// Adds `replica` to `master`'s replicas (`clusterNodeAddSlave`).
    pub(super) fn add_replica(&mut self, master: &NodeId, replica: &NodeId) {
        if let Some(m) = self.get_mut(master) {
            if !m.replicas.contains(replica) {
                m.replicas.push(*replica);
                m.flags.insert(NodeFlags::MIGRATE_TO);
            }
        }
    }

    /// Removes `replica` from `master`'s replicas (`clusterNodeRemoveSlave`).
    pub(super) fn remove_replica(&mut self, master: &NodeId, replica: &NodeId) {
        if let Some(m) = self.get_mut(master) {
            m.replicas.retain(|r| r != replica);
            if m.replicas.is_empty() {
                m.flags.remove(NodeFlags::MIGRATE_TO);
            }
        }
    }

    /// Node `id`, believed a replica, now acts as a master
    /// (`clusterSetNodeAsMaster`).
    pub(super) fn set_node_as_master(&mut self, id: &NodeId) {
        let Some(node) = self.get(id) else { return };
        if node.is_master() {
            return;
        }
        if let Some(master) = node.replica_of {
            self.remove_replica(&master, id);
            if *id != self.myself.id {
                if let Some(node) = self.get_mut(id) {
                    node.flags.insert(NodeFlags::MIGRATE_TO);
                }
            }
        }
        if let Some(node) = self.get_mut(id) {
            node.flags.remove(NodeFlags::REPLICA);
            node.flags.insert(NodeFlags::MASTER);
            node.replica_of = None;
        }
        self.todo |= TODO_SAVE_CONFIG | TODO_UPDATE_STATE;
    }

    /// This node becomes a replica of `master` (`clusterSetMaster`); it must
    /// serve no slot. Replicating the data is the caller's part: it follows
    /// [`ClusterNode::master`].
    pub(super) fn set_master(&mut self, master: &NodeId) {
        let my_id = self.myself.id;
        if *master == my_id || self.myself.numslots != 0 || self.get(master).is_none() {
            return;
        }
        if self.myself.is_master() {
            self.myself
                .flags
                .remove(NodeFlags::MASTER | NodeFlags::MIGRATE_TO);
            self.myself.flags.insert(NodeFlags::REPLICA);
            self.close_all_slots();
        } else if let Some(old) = self.myself.replica_of {
            self.remove_replica(&old, &my_id);
        }
        self.myself.replica_of = Some(*master);
        self.add_replica(master, &my_id);
        self.reset_manual_failover();
    }

    // ---------------------------------------------------------------------
    // Failure reports
    // ---------------------------------------------------------------------

    /// Records (or refreshes) `sender`'s report that `failing` is down
    /// (`clusterNodeAddFailureReport`); true if the report is new.
    pub(super) fn add_failure_report(
        &mut self,
        failing: &NodeId,
        sender: &NodeId,
        now: u64,
    ) -> bool {
        let Some(node) = self.get_mut(failing) else {
            return false;
        };
        if let Some(report) = node.fail_reports.iter_mut().find(|r| r.from == *sender) {
            report.time = now;
            return false;
        }
        node.fail_reports.push(FailReport {
            from: *sender,
            time: now,
        });
        true
    }

    /// Drops reports older than twice the node timeout
    /// (`clusterNodeCleanupFailureReports`,
    /// `CLUSTER_FAIL_REPORT_VALIDITY_MULT`).
    fn cleanup_failure_reports(node: &mut Node, now: u64, node_timeout: u64) {
        let max_age = node_timeout.saturating_mul(2);
        node.fail_reports
            .retain(|r| now.saturating_sub(r.time) <= max_age);
    }

    /// Drops `sender`'s report about `node`, if any
    /// (`clusterNodeDelFailureReport`); true if there was one.
    pub(super) fn del_failure_report(&mut self, id: &NodeId, sender: &NodeId, now: u64) -> bool {
        let timeout = self.config.node_timeout_ms;
        let Some(node) = self.get_mut(id) else {
            return false;
        };
        let before = node.fail_reports.len();
        node.fail_reports.retain(|r| r.from != *sender);
        if node.fail_reports.len() == before {
            return false;
        }
        Self::cleanup_failure_reports(node, now, timeout);
        true
    }

    /// The number of valid reports that node `id` is failing
    /// (`clusterNodeFailureReportsCount`).
    pub(super) fn failure_reports(&mut self, id: &NodeId, now: u64) -> usize {
        let timeout = self.config.node_timeout_ms;
        match self.get_mut(id) {
            Some(node) => {
                Self::cleanup_failure_reports(node, now, timeout);
                node.fail_reports.len()
            }
            None => 0,
        }
    }

    // ---------------------------------------------------------------------
    // Links
    // ---------------------------------------------------------------------

    /// Forgets a link, untying it from its node.
    pub(super) fn drop_link(&mut self, link: LinkId) {
        let Some(state) = self.links.remove(&link) else {
            return;
        };
        if let Some(node) = state.node.and_then(|id| self.get_mut(&id)) {
            if node.link == Some(link) {
                node.link = None;
            }
            if node.inbound_link == Some(link) {
                node.inbound_link = None;
            }
        }
    }

    /// Forgets a link and asks the caller to close it (`freeClusterLink`).
    pub(super) fn free_link(&mut self, link: LinkId, out: &mut Vec<Action>) {
        if self.links.contains_key(&link) {
            self.drop_link(link);
            out.push(Action::Close { link });
        }
    }

    // ---------------------------------------------------------------------
    // Adding, renaming, deleting nodes
    // ---------------------------------------------------------------------

    /// Adds a node to the table (`clusterAddNode`); an entry with that id
    /// is left as it is.
    pub(super) fn add_node(&mut self, node: Node) {
        if node.id != self.myself.id {
            self.others.entry(node.id).or_insert(node);
        }
    }

    /// Gives a node met by handshake its real id (`clusterRenameNode`).
    pub(super) fn rename_node(&mut self, old: &NodeId, new: NodeId) {
        if new == self.myself.id || self.others.contains_key(&new) {
            return;
        }
        let Some(mut node) = self.others.remove(old) else {
            return;
        };
        node.id = new;
        for link in [node.link, node.inbound_link].into_iter().flatten() {
            if let Some(state) = self.links.get_mut(&link) {
                state.node = Some(new);
            }
        }
        self.others.insert(new, node);
    }

    /// Removes a node from the table (`clusterDelNode`): its slots become
    /// unassigned, migrations to or from it are closed, its failure reports
    /// about others are dropped, its replicas lose their master, and its
    /// links are closed.
    pub(super) fn del_node(&mut self, id: &NodeId, now: u64, out: &mut Vec<Action>) {
        if *id == self.myself.id || !self.others.contains_key(id) {
            return;
        }
        let open: Vec<Slot> = self
            .migrating
            .iter()
            .chain(self.importing.iter())
            .filter(|(_, peer)| *peer == id)
            .map(|(slot, _)| *slot)
            .collect();
        self.migrating.retain(|_, peer| peer != id);
        self.importing.retain(|_, peer| peer != id);
        for slot in open {
            self.sync_migration(slot);
        }
        self.del_node_slots(id);
        let others: Vec<NodeId> = self.nodes().map(|n| n.id).filter(|n| n != id).collect();
        for other in others {
            self.del_failure_report(&other, id, now);
        }
        let Some(node) = self.others.remove(id) else {
            return;
        };
        for replica in &node.replicas {
            if let Some(r) = self.get_mut(replica) {
                r.replica_of = None;
            }
        }
        if node.is_replica() {
            if let Some(master) = node.replica_of {
                self.remove_replica(&master, id);
            }
        }
        for link in [node.link, node.inbound_link].into_iter().flatten() {
            self.free_link(link, out);
        }
    }

    /// Whether node `id` was forgotten less than a minute ago
    /// (`clusterBlacklistExists`, after `clusterBlacklistCleanup`).
    pub(super) fn blacklisted(&mut self, id: &NodeId, now: u64) -> bool {
        let secs = now / 1000;
        self.blacklist.retain(|_, expire| *expire >= secs);
        self.blacklist.contains_key(id)
    }

    /// Keeps node `id` from being re-added for a minute
    /// (`clusterBlacklistAddNode`).
    pub(super) fn blacklist_add(&mut self, id: &NodeId, now: u64) {
        let secs = now / 1000;
        self.blacklist.retain(|_, expire| *expire >= secs);
        self.blacklist.insert(*id, secs + super::BLACKLIST_TTL_SECS);
    }
}
