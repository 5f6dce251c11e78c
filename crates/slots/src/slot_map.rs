//! The routing table: which node serves each slot, and which slots are
//! being moved between nodes (`CLUSTER SETSLOT ... MIGRATING|IMPORTING`).

use std::collections::BTreeMap;
use std::fmt;

use crate::key::{Slot, SLOT_COUNT};
use crate::node_id::NodeId;
use crate::slot_set::{SlotRange, SlotSet};

/// A slot being moved, as the node that holds this state sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Migration {
    /// This node owns the slot and is moving its keys to `to`
    /// (`CLUSTER SETSLOT <slot> MIGRATING <to>`): a key it no longer has
    /// is redirected there with `-ASK`. Written `[slot->-to]` in
    /// `nodes.conf`.
    Migrating {
        /// The node receiving the slot.
        to: NodeId,
    },
    /// This node is receiving the slot's keys from `from`
    /// (`CLUSTER SETSLOT <slot> IMPORTING <from>`): it serves the slot's
    /// keys to clients that sent `ASKING`. Written `[slot-<-from]` in
    /// `nodes.conf`.
    Importing {
        /// The node giving the slot away.
        from: NodeId,
    },
}

impl Migration {
    /// The other node of the move: where the slot goes, or where it comes
    /// from.
    pub fn peer(&self) -> &NodeId {
        match self {
            Migration::Migrating { to } => to,
            Migration::Importing { from } => from,
        }
    }

    /// Records `new` for a slot whose state was `old`, the way Redis does
    /// when both directions are given for one slot: it keeps one of each
    /// and shows the migrating one, so a migration always wins over an
    /// import, and otherwise the later entry wins.
    pub(crate) fn merge(old: Option<Migration>, new: Migration) -> Migration {
        match (old, new) {
            (Some(old @ Migration::Migrating { .. }), Migration::Importing { .. }) => old,
            _ => new,
        }
    }
}

/// The slot → owner table a node routes commands with (`-MOVED`, `-ASK`),
/// with the migration state of the slots being moved.
///
/// Owners are [`NodeId`]s. Inside, each slot holds a small index into a
/// table of the nodes that own slots, so the whole map stays a few dozen
/// kilobytes whatever the number of nodes; an entry of that table is
/// reused once its node owns nothing.
///
/// ```
/// use ferrodis_slots::{NodeId, SlotMap, SlotSet};
/// let a = NodeId::from_random([1; 20]);
/// let b = NodeId::from_random([2; 20]);
/// let mut map = SlotMap::new();
/// map.assign_all(&SlotSet::parse("0-8191")?, a);
/// map.assign_all(&SlotSet::parse("8192-16382")?, b);
/// assert!(!map.covers_all());
/// assert_eq!(map.unassigned().to_string(), "16383");
/// assert_eq!(map.slots_of(&b).to_string(), "8192-16382");
/// # Ok::<(), ferrodis_slots::SlotParseError>(())
/// ```
#[derive(Clone)]
pub struct SlotMap {
    /// One entry per slot: an index into `nodes`, or [`NONE`].
    owners: Vec<u16>,
    /// The nodes the entries of `owners` name, with how many slots each
    /// owns; an entry with no slots is free for another node.
    nodes: Vec<(NodeId, u16)>,
    /// The slots being moved, in slot order.
    migrations: BTreeMap<Slot, Migration>,
}

/// The `owners` entry of an unassigned slot.
const NONE: u16 = u16::MAX;

impl Default for SlotMap {
    fn default() -> SlotMap {
        SlotMap::new()
    }
}

impl SlotMap {
    /// A map with every slot unassigned and nothing moving.
    pub fn new() -> SlotMap {
        SlotMap {
            owners: vec![NONE; usize::from(SLOT_COUNT)],
            nodes: Vec::new(),
            migrations: BTreeMap::new(),
        }
    }

    /// The node that serves `slot`, if any.
    pub fn owner(&self, slot: Slot) -> Option<&NodeId> {
        let index = *self.owners.get(slot.index())?;
        self.nodes.get(usize::from(index)).map(|(id, _)| id)
    }

    /// Gives `slot` to `node`; returns the previous owner.
    pub fn assign(&mut self, slot: Slot, node: NodeId) -> Option<NodeId> {
        let previous = self.unassign(slot);
        let index = self.intern(node);
        if let (Some(entry), Some((_, count))) = (
            self.owners.get_mut(slot.index()),
            self.nodes.get_mut(usize::from(index)),
        ) {
            *entry = index;
            *count += 1;
        }
        previous
    }

    /// Gives every slot of `slots` to `node`.
    pub fn assign_all(&mut self, slots: &SlotSet, node: NodeId) {
        for slot in slots {
            self.assign(slot, node);
        }
    }

    /// Leaves `slot` without an owner; returns the one it had.
    pub fn unassign(&mut self, slot: Slot) -> Option<NodeId> {
        let entry = self.owners.get_mut(slot.index())?;
        let index = std::mem::replace(entry, NONE);
        let (id, count) = self.nodes.get_mut(usize::from(index))?;
        *count = count.saturating_sub(1);
        Some(*id)
    }

    /// Leaves every slot of `node` unassigned and forgets the migrations
    /// to or from it, as when the node is removed from the cluster
    /// (`CLUSTER FORGET`); returns the slots it owned.
    pub fn remove_node(&mut self, node: &NodeId) -> SlotSet {
        let owned = self.slots_of(node);
        for slot in &owned {
            self.unassign(slot);
        }
        self.migrations.retain(|_, m| m.peer() != node);
        owned
    }

    /// The slots `node` owns.
    pub fn slots_of(&self, node: &NodeId) -> SlotSet {
        match self.index_of(node) {
            Some(index) => self.slots_where(|owner| owner == index),
            None => SlotSet::new(),
        }
    }

    /// The slots `node` owns, as maximal runs in ascending order.
    pub fn ranges_of(&self, node: &NodeId) -> Vec<SlotRange> {
        self.slots_of(node).ranges().collect()
    }

    /// How many slots `node` owns.
    pub fn count_of(&self, node: &NodeId) -> usize {
        self.index_of(node)
            .and_then(|index| self.nodes.get(usize::from(index)))
            .map_or(0, |&(_, count)| usize::from(count))
    }

    /// The slots some node owns.
    pub fn assigned(&self) -> SlotSet {
        self.slots_where(|owner| owner != NONE)
    }

    /// The slots no node owns.
    pub fn unassigned(&self) -> SlotSet {
        self.slots_where(|owner| owner == NONE)
    }

    /// Whether every one of the 16384 slots has an owner (what
    /// `cluster-require-full-coverage` asks for).
    pub fn covers_all(&self) -> bool {
        self.owners.iter().all(|&owner| owner != NONE)
    }

    /// The nodes that own at least one slot, each once, in no particular
    /// order.
    pub fn owners(&self) -> impl Iterator<Item = &NodeId> {
        self.nodes
            .iter()
            .filter(|(_, count)| *count > 0)
            .map(|(id, _)| id)
    }

    /// The maximal runs of consecutive slots with the same owner, in slot
    /// order, unassigned slots left out (the shape of `CLUSTER SLOTS`).
    pub fn runs(&self) -> Runs<'_> {
        Runs { map: self, next: 0 }
    }

    /// The migration state of `slot`, if it is being moved.
    pub fn migration(&self, slot: Slot) -> Option<&Migration> {
        self.migrations.get(&slot)
    }

    /// Records that `slot` is being moved; returns its previous state.
    pub fn set_migration(&mut self, slot: Slot, migration: Migration) -> Option<Migration> {
        self.migrations.insert(slot, migration)
    }

    /// Ends the move of `slot` (`CLUSTER SETSLOT <slot> STABLE`); returns
    /// the state it had.
    pub fn clear_migration(&mut self, slot: Slot) -> Option<Migration> {
        self.migrations.remove(&slot)
    }

    /// Ends every move, as a master does when it turns replica.
    pub fn clear_migrations(&mut self) {
        self.migrations.clear();
    }

    /// The slots being moved and their state, in slot order.
    pub fn migrations(&self) -> impl Iterator<Item = (Slot, &Migration)> {
        self.migrations.iter().map(|(&slot, m)| (slot, m))
    }

    /// The index of `node` in `nodes`, if it owns slots or did.
    fn index_of(&self, node: &NodeId) -> Option<u16> {
        let at = self.nodes.iter().position(|(id, _)| id == node)?;
        u16::try_from(at).ok()
    }

    /// The index of `node`, making one: a free entry if there is one, else
    /// a new entry. At most 16384 entries ever own slots, so an index fits
    /// in a `u16` below [`NONE`].
    fn intern(&mut self, node: NodeId) -> u16 {
        if let Some(index) = self.index_of(&node) {
            return index;
        }
        if let Some(at) = self.nodes.iter().position(|&(_, count)| count == 0) {
            if let Some(entry) = self.nodes.get_mut(at) {
                *entry = (node, 0);
            }
            return u16::try_from(at).unwrap_or(NONE);
        }
        self.nodes.push((node, 0));
        u16::try_from(self.nodes.len() - 1).unwrap_or(NONE)
    }

    /// The slots whose `owners` entry passes `test`.
    fn slots_where(&self, test: impl Fn(u16) -> bool) -> SlotSet {
        self.owners
            .iter()
            .zip(SlotRange::all().iter())
            .filter(|&(&owner, _)| test(owner))
            .map(|(_, slot)| slot)
            .collect()
    }
}

impl PartialEq for SlotMap {
    /// Two maps are equal when every slot has the same owner and the same
    /// migration state, whatever their internal tables hold.
    fn eq(&self, other: &SlotMap) -> bool {
        self.migrations == other.migrations
            && SlotRange::all()
                .iter()
                .all(|slot| self.owner(slot) == other.owner(slot))
    }
}

impl Eq for SlotMap {}

impl fmt::Debug for SlotMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let runs: Vec<String> = self
            .runs()
            .map(|(range, id)| format!("{range}:{id}"))
            .collect();
        f.debug_struct("SlotMap")
            .field("runs", &runs)
            .field("migrations", &self.migrations)
            .finish()
    }
}

/// Runs of slots with the same owner ([`SlotMap::runs`]).
#[derive(Debug, Clone)]
pub struct Runs<'a> {
    map: &'a SlotMap,
    next: usize,
}

impl<'a> Iterator for Runs<'a> {
    type Item = (SlotRange, &'a NodeId);

    fn next(&mut self) -> Option<(SlotRange, &'a NodeId)> {
        let owners = &self.map.owners;
        let skip = owners.get(self.next..)?.iter().position(|&o| o != NONE)?;
        let start = self.next + skip;
        let index = *owners.get(start)?;
        let len = owners
            .get(start..)?
            .iter()
            .position(|&o| o != index)
            .unwrap_or(owners.len() - start);
        self.next = start + len;
        let slot = |n: usize| u16::try_from(n).ok().and_then(Slot::new);
        let range = SlotRange::new(slot(start)?, slot(start + len - 1)?)?;
        let (id, _) = self.map.nodes.get(usize::from(index))?;
        Some((range, id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(n: u8) -> NodeId {
        NodeId::from_random([n; 20])
    }

    fn slot(n: u16) -> Slot {
        Slot::new(n).unwrap()
    }

    #[test]
    fn assign_and_query() {
        let mut map = SlotMap::new();
        assert!(map.unassigned().is_full());
        assert!(!map.covers_all());
        map.assign_all(&SlotSet::parse("0-5460").unwrap(), id(1));
        map.assign_all(&SlotSet::parse("5461-10922").unwrap(), id(2));
        map.assign_all(&SlotSet::parse("10923-16383").unwrap(), id(3));
        assert!(map.covers_all());
        assert_eq!(map.owner(slot(5461)), Some(&id(2)));
        assert_eq!(map.count_of(&id(1)), 5461);
        assert_eq!(map.assign(slot(0), id(3)), Some(id(1)));
        assert_eq!(map.count_of(&id(1)), 5460);
        assert_eq!(map.slots_of(&id(3)).to_string(), "0 10923-16383");
        assert_eq!(
            map.ranges_of(&id(3)),
            vec![
                SlotRange::single(slot(0)),
                SlotRange::new(slot(10923), slot(16383)).unwrap()
            ]
        );
        assert_eq!(map.unassign(slot(16383)), Some(id(3)));
        assert_eq!(map.unassign(slot(16383)), None);
        assert_eq!(map.unassigned().to_string(), "16383");
        let runs: Vec<String> = map
            .runs()
            .map(|(r, n)| format!("{r}:{}", &n.as_str()[..2]))
            .collect();
        assert_eq!(
            runs,
            ["0:03", "1-5460:01", "5461-10922:02", "10923-16382:03"]
        );
        let mut owners: Vec<_> = map.owners().copied().collect();
        owners.sort();
        assert_eq!(owners, vec![id(1), id(2), id(3)]);
    }

    #[test]
    fn remove_node_and_migrations() {
        let mut map = SlotMap::new();
        map.assign_all(&SlotSet::parse("0-99").unwrap(), id(1));
        map.assign_all(&SlotSet::parse("100-199").unwrap(), id(2));
        map.set_migration(slot(5), Migration::Migrating { to: id(2) });
        map.set_migration(slot(150), Migration::Importing { from: id(3) });
        assert_eq!(map.migration(slot(5)).map(Migration::peer), Some(&id(2)));
        assert_eq!(map.remove_node(&id(2)).to_string(), "100-199");
        assert_eq!(map.migration(slot(5)), None);
        assert_eq!(
            map.migrations().collect::<Vec<_>>(),
            vec![(slot(150), &Migration::Importing { from: id(3) })]
        );
        assert_eq!(map.count_of(&id(2)), 0);
        assert_eq!(map.owners().collect::<Vec<_>>(), vec![&id(1)]);
        assert_eq!(
            map.clear_migration(slot(150)),
            Some(Migration::Importing { from: id(3) })
        );
        map.set_migration(slot(1), Migration::Importing { from: id(3) });
        map.clear_migrations();
        assert_eq!(map.migrations().count(), 0);
    }

    #[test]
    fn node_table_entries_are_reused() {
        // Thousands of nodes taking a slot in turn: the table never grows
        // past the number of owners at one time.
        let mut map = SlotMap::new();
        for n in 0..5000u32 {
            let bytes = n.to_le_bytes();
            let mut raw = [0; 20];
            raw[..4].copy_from_slice(&bytes);
            map.assign(slot(7), NodeId::from_random(raw));
        }
        assert_eq!(map.nodes.len(), 1);
        assert_eq!(map.owners().count(), 1);
    }

    #[test]
    fn migrating_wins_over_importing() {
        let m = Migration::Migrating { to: id(1) };
        let i = Migration::Importing { from: id(2) };
        assert_eq!(Migration::merge(Some(m), i), m);
        assert_eq!(Migration::merge(Some(i), m), m);
        let i2 = Migration::Importing { from: id(3) };
        assert_eq!(Migration::merge(Some(i), i2), i2);
        assert_eq!(Migration::merge(None, i), i);
    }

    proptest! {
        #[test]
        fn map_agrees_with_a_plain_model(ops in prop::collection::vec((0u16..64, 0u8..5), 0..200)) {
            // Slots 0..64, owners 1..=4, 0 meaning unassign.
            let mut map = SlotMap::new();
            let mut model = [0u8; 64];
            for (s, n) in ops {
                if n == 0 {
                    map.unassign(slot(s));
                } else {
                    map.assign(slot(s), id(n));
                }
                model[usize::from(s)] = n;
            }
            for s in 0..64u16 {
                let want = model[usize::from(s)];
                prop_assert_eq!(map.owner(slot(s)).copied(), (want != 0).then(|| id(want)));
            }
            for n in 1..5u8 {
                let want = model.iter().filter(|&&o| o == n).count();
                prop_assert_eq!(map.count_of(&id(n)), want);
                prop_assert_eq!(map.slots_of(&id(n)).count(), want);
            }
            let total: usize = map.runs().map(|(r, _)| r.count()).sum();
            prop_assert_eq!(total, map.assigned().count());
            prop_assert_eq!(map.assigned().count() + map.unassigned().count(), 16384);
        }
    }
}
