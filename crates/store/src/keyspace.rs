//! One database: its keys sharded into 16384 per-slot tables, each behind
//! its own lock.
//!
//! A key lives in the table of its hash slot, so slot-level work (count,
//! list, drop, migrate the keys of a slot) touches one table, and threads
//! working on keys of different slots take different locks. Operations on
//! several keys lock their slots in ascending slot order, so they cannot
//! deadlock with each other.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use ferrodis_slots::{key_slot, SLOT_COUNT};
use parking_lot::{Mutex, MutexGuard};

use crate::dict::Dict;
use crate::smallbytes::SmallBytes;
use crate::snapshot::SnapshotCtl;
use crate::value::Entry;

/// Flags raised when a watched key is modified (`WATCH`).
pub type WatchFlag = Arc<AtomicBool>;

/// A set of slots as an atomic bitmap, with its population count: which
/// slots of a database hold keys, or keys with a TTL. Eviction and sampling
/// use it to find non-empty slots without locking all 16384 tables.
///
/// Bits change only when a table turns empty or non-empty, under that
/// table's lock, so writers on different slots rarely touch the same word.
pub(crate) struct SlotBits {
    words: Box<[AtomicU64]>,
    count: AtomicUsize,
}

impl SlotBits {
    fn new() -> SlotBits {
        SlotBits {
            words: (0..SLOT_COUNT as usize / 64)
                .map(|_| AtomicU64::new(0))
                .collect(),
            count: AtomicUsize::new(0),
        }
    }

    /// Sets or clears the bit of `slot`.
    fn put(&self, slot: usize, on: bool) {
        let Some(word) = self.words.get(slot / 64) else {
            return;
        };
        let bit = 1u64 << (slot % 64);
        if on {
            if word.fetch_or(bit, Ordering::AcqRel) & bit == 0 {
                self.count.fetch_add(1, Ordering::AcqRel);
            }
        } else if word.fetch_and(!bit, Ordering::AcqRel) & bit != 0 {
            self.count.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// How many slots are in the set.
    pub(crate) fn count(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// The first slot of the set at or after `slot`, if any.
    pub(crate) fn next_from(&self, slot: usize) -> Option<usize> {
        let mut w = slot / 64;
        let mut bits = self.words.get(w)?.load(Ordering::Acquire) & (u64::MAX << (slot % 64));
        loop {
            if bits != 0 {
                return Some(w * 64 + bits.trailing_zeros() as usize);
            }
            w += 1;
            bits = self.words.get(w)?.load(Ordering::Acquire);
        }
    }

    /// A slot of the set picked from the random number `r`: the slot `r`
    /// names if it is in the set, else the next one after it (wrapping).
    /// `None` when the set is empty.
    pub(crate) fn pick(&self, r: u64) -> Option<usize> {
        if self.count() == 0 {
            return None;
        }
        let n = self.words.len();
        let start = (r % (n as u64 * 64)) as usize;
        let (first, offset) = (start / 64, start % 64);
        for i in 0..=n {
            let w = (first + i) % n;
            let mut bits = self.words.get(w)?.load(Ordering::Acquire);
            if i == 0 {
                bits &= u64::MAX << offset;
            }
            if bits != 0 {
                return Some(w * 64 + bits.trailing_zeros() as usize);
            }
        }
        None
    }
}

/// The slot sets of one database, shared by its tables.
pub(crate) struct Occupancy {
    /// Slots holding at least one key.
    pub(crate) keys: SlotBits,
    /// Slots holding at least one key with a TTL.
    pub(crate) volatile: SlotBits,
}

/// The keys of one hash slot.
pub(crate) struct SlotTable {
    pub(crate) dict: Dict<SmallBytes, Entry>,
    /// How many keys of this slot have a TTL.
    pub(crate) volatile: usize,
    /// Clients watching keys of this slot, by key. Boxed so that the 16384
    /// tables of a database pay 8 bytes each for it, not a whole map.
    #[allow(clippy::box_collection)]
    watchers: Option<Box<HashMap<SmallBytes, Vec<WatchFlag>>>>,
    /// This table's slot, and the database's slot sets it keeps up to date.
    index: u16,
    occupancy: Arc<Occupancy>,
    /// What the slot sets say of this table now (so that only changes
    /// touch them).
    marked: (bool, bool),
    /// The snapshot epoch this table was last captured for (see the
    /// `snapshot` module).
    pub(crate) snap_epoch: u64,
}

impl SlotTable {
    fn new(index: u16, occupancy: Arc<Occupancy>, snap_epoch: u64) -> SlotTable {
        SlotTable {
            dict: Dict::new(),
            volatile: 0,
            watchers: None,
            index,
            occupancy,
            marked: (false, false),
            snap_epoch,
        }
    }

    /// This table's slot.
    pub(crate) fn slot(&self) -> u16 {
        self.index
    }

    /// Brings the database's slot sets in line with this table, after a
    /// change of its keys or TTLs.
    #[inline]
    pub(crate) fn sync_occupancy(&mut self) {
        let now = (!self.dict.is_empty(), self.volatile > 0);
        if now != self.marked {
            let slot = usize::from(self.index);
            if now.0 != self.marked.0 {
                self.occupancy.keys.put(slot, now.0);
            }
            if now.1 != self.marked.1 {
                self.occupancy.volatile.put(slot, now.1);
            }
            self.marked = now;
        }
    }

    /// The live entry for `key`, deleting it first if it has expired.
    /// Returns whether it expired as the second value.
    #[inline]
    pub(crate) fn live_mut(&mut self, key: &[u8], now: u64) -> (Option<&mut Entry>, bool) {
        // Most slots hold no key with a TTL: then one lookup is enough.
        if self.volatile == 0 {
            return (self.dict.get_mut(key), false);
        }
        let expired = match self.dict.get(key) {
            None => return (None, false),
            Some(e) => e.is_expired(now),
        };
        if expired {
            self.remove(key);
            return (None, true);
        }
        (self.dict.get_mut(key), false)
    }

    /// Inserts or replaces `key`, keeping the TTL bookkeeping right.
    ///
    /// A new entry stamped for an LFU policy ([`crate::evict::KEEP_ON_OVERWRITE`])
    /// takes over the access frequency of the entry it replaces, as Redis'
    /// `dbOverwrite` does.
    pub(crate) fn insert(&mut self, key: &[u8], mut entry: Entry) -> Option<Entry> {
        if entry.lru & crate::evict::KEEP_ON_OVERWRITE != 0 {
            entry.lru &= !crate::evict::KEEP_ON_OVERWRITE;
            if let Some(old) = self.dict.get(key) {
                entry.lru = old.lru;
            }
        }
        if entry.expire_at != 0 {
            self.volatile += 1;
        }
        let old = self.dict.insert(SmallBytes::new(key), entry);
        if let Some(old) = &old {
            if old.expire_at != 0 {
                self.volatile -= 1;
            }
        }
        self.sync_occupancy();
        self.touch(key);
        old
    }

    /// Makes room for `additional` more keys without growing.
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.dict.reserve(additional);
    }

    /// Removes `key`.
    pub(crate) fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let old = self.dict.remove(key)?;
        if old.expire_at != 0 {
            self.volatile -= 1;
        }
        self.sync_occupancy();
        self.touch(key);
        Some(old)
    }

    /// Sets or clears (`at == 0`) the expiry of an existing key.
    pub(crate) fn set_expire(&mut self, key: &[u8], at: u64) -> bool {
        let Some(entry) = self.dict.get_mut(key) else {
            return false;
        };
        match (entry.expire_at != 0, at != 0) {
            (false, true) => self.volatile += 1,
            (true, false) => self.volatile -= 1,
            _ => {}
        }
        entry.expire_at = at;
        self.sync_occupancy();
        self.touch(key);
        true
    }

    /// Signals that `key` was modified: raises its watchers' flags.
    #[inline]
    pub(crate) fn touch(&mut self, key: &[u8]) {
        crate::snapshot::count_change();
        if let Some(watchers) = &mut self.watchers {
            if let Some(flags) = watchers.remove(key) {
                for flag in flags {
                    flag.store(true, Ordering::Release);
                }
            }
        }
    }

    /// Raises the watchers of keys that exist in this table or in `other`
    /// (FLUSHDB empties a table; SWAPDB replaces it: only watched keys
    /// that existed before or exist after are touched, as in Redis).
    pub(crate) fn touch_present(&mut self, other: Option<&Dict<SmallBytes, Entry>>) {
        let Some(watchers) = &mut self.watchers else {
            return;
        };
        let dict = &self.dict;
        watchers.retain(|key, flags| {
            let present =
                dict.contains_key(&key[..]) || other.is_some_and(|o| o.contains_key(&key[..]));
            if present {
                for flag in flags.iter() {
                    flag.store(true, Ordering::Release);
                }
            }
            !present
        });
        if watchers.is_empty() {
            self.watchers = None;
        }
    }

    /// Registers `flag` to be raised when `key` is modified.
    pub(crate) fn watch(&mut self, key: &[u8], flag: WatchFlag) {
        self.watchers
            .get_or_insert_with(Default::default)
            .entry(SmallBytes::new(key))
            .or_default()
            .push(flag);
    }

    /// Forgets `flag` for `key`.
    pub(crate) fn unwatch(&mut self, key: &[u8], flag: &WatchFlag) {
        if let Some(watchers) = &mut self.watchers {
            if let Some(flags) = watchers.get_mut(key) {
                flags.retain(|f| !Arc::ptr_eq(f, flag));
                if flags.is_empty() {
                    watchers.remove(key);
                }
            }
            if watchers.is_empty() {
                self.watchers = None;
            }
        }
    }

    /// Drops every key (the watchers stay registered and are raised).
    pub(crate) fn clear(&mut self) -> usize {
        let n = self.dict.len();
        for _ in 0..n {
            crate::snapshot::count_change();
        }
        self.touch_present(None);
        self.dict = Dict::new();
        self.volatile = 0;
        self.sync_occupancy();
        n
    }
}

/// A database's keys: one [`SlotTable`] per hash slot.
pub(crate) struct Keyspace {
    slots: Box<[Mutex<SlotTable>]>,
    occupancy: Arc<Occupancy>,
    /// This database's index, and the store's snapshot state, which every
    /// lock for an operation consults.
    db: usize,
    snapshots: Arc<SnapshotCtl>,
}

impl Keyspace {
    pub(crate) fn new(db: usize, snapshots: Arc<SnapshotCtl>) -> Keyspace {
        let occupancy = Arc::new(Occupancy {
            keys: SlotBits::new(),
            volatile: SlotBits::new(),
        });
        let epoch = snapshots.current();
        Keyspace {
            slots: (0..SLOT_COUNT)
                .map(|s| Mutex::new(SlotTable::new(s, Arc::clone(&occupancy), epoch)))
                .collect(),
            occupancy,
            db,
            snapshots,
        }
    }

    /// Which slots hold keys, and keys with a TTL.
    pub(crate) fn occupancy(&self) -> &Occupancy {
        &self.occupancy
    }

    /// The table of slot `slot` (`slot < 16384`), for reading only: an
    /// operation that may change it locks it with [`Keyspace::lock_slot`].
    #[inline]
    pub(crate) fn slot(&self, slot: usize) -> &Mutex<SlotTable> {
        // `slots` has 16384 entries and `slot` comes from `key_slot` or a
        // loop below 16384: never out of bounds. Fall back to slot 0 rather
        // than panic if a caller breaks that.
        self.slots.get(slot).unwrap_or(&self.slots[0])
    }

    /// Locks table `slot` for an operation that may change it: a snapshot
    /// in progress gets its copy first.
    #[inline]
    pub(crate) fn lock_slot(&self, slot: usize) -> MutexGuard<'_, SlotTable> {
        let mut table = self.slot(slot).lock();
        self.snapshots.check(self.db, &mut table);
        table
    }

    /// Locks the table holding `key`.
    #[inline]
    pub(crate) fn lock(&self, key: &[u8]) -> MutexGuard<'_, SlotTable> {
        self.lock_slot(key_slot(key).index())
    }

    /// Locks the tables of all `keys`, in ascending slot order.
    pub(crate) fn lock_many<'k>(&self, keys: impl IntoIterator<Item = &'k [u8]>) -> Locked<'_> {
        let mut slots: Vec<u16> = keys.into_iter().map(|k| key_slot(k).get()).collect();
        slots.sort_unstable();
        slots.dedup();
        let mut guards: Vec<(u16, MutexGuard<'_, SlotTable>)> = slots
            .into_iter()
            .map(|s| (s, self.slot(usize::from(s)).lock()))
            .collect();
        // Only with every lock held, and against one reading of the epoch:
        // the operation is then wholly before or wholly after a snapshot's
        // instant.
        self.snapshots
            .check_all(self.db, guards.iter_mut().map(|(_, table)| &mut **table));
        Locked { guards }
    }

    /// The number of keys (expired ones not yet removed included, as in
    /// Redis' DBSIZE).
    pub(crate) fn len(&self) -> usize {
        self.slots.iter().map(|s| s.lock().dict.len()).sum()
    }

    /// The number of keys with a TTL.
    pub(crate) fn volatile(&self) -> usize {
        self.slots.iter().map(|s| s.lock().volatile).sum()
    }

    pub(crate) fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// Bytes of the structure itself, empty: the slot tables and the slot
    /// sets.
    pub(crate) fn fixed_size(&self) -> usize {
        std::mem::size_of_val(&*self.slots) + 2 * SLOT_COUNT as usize / 8
    }
}

/// Several slot tables locked together.
pub(crate) struct Locked<'a> {
    guards: Vec<(u16, MutexGuard<'a, SlotTable>)>,
}

impl Locked<'_> {
    /// The locked table holding `key`; `None` if its slot was not locked.
    pub(crate) fn table(&mut self, key: &[u8]) -> Option<&mut SlotTable> {
        let slot = key_slot(key).get();
        let i = self.guards.binary_search_by_key(&slot, |(s, _)| *s).ok()?;
        self.guards.get_mut(i).map(|(_, g)| &mut **g)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::BTreeSet;

    use ferrodis_slots::key_slot;

    use super::*;
    use crate::store::Store;
    use crate::{ExpireCondition, SetOptions};

    #[test]
    fn next_from_finds_the_next_member() {
        let bits = SlotBits::new();
        assert_eq!(bits.next_from(0), None);
        for s in [0, 63, 64, 5000, 16383] {
            bits.put(s, true);
        }
        let walk: Vec<usize> =
            std::iter::successors(bits.next_from(0), |&s| bits.next_from(s + 1)).collect();
        assert_eq!(walk, [0, 63, 64, 5000, 16383]);
        assert_eq!(bits.next_from(65), Some(5000));
        assert_eq!(bits.next_from(16383), Some(16383));
        assert_eq!(bits.next_from(16384), None);
    }

    /// The slots of a set, by walking it with `pick`.
    fn members(bits: &SlotBits) -> BTreeSet<usize> {
        let mut out = BTreeSet::new();
        let mut at = 0u64;
        while let Some(s) = bits.pick(at) {
            if s < at as usize {
                break;
            }
            out.insert(s);
            at = s as u64 + 1;
        }
        out
    }

    /// The tables of an operation on several are checked against one
    /// reading of the snapshot epoch. Here a snapshot is published while
    /// the check walks them (after the first table): both must end up
    /// captured for the same epoch, or the snapshot would hold the first
    /// table after the operation and the second before it.
    #[test]
    fn a_multi_table_check_reads_the_epoch_once() {
        let ctl = Arc::new(SnapshotCtl::default());
        let keyspace = Keyspace::new(0, Arc::clone(&ctl));
        let (mut a, mut b) = (keyspace.slot(1).lock(), keyspace.slot(2).lock());
        let tables = [&mut *a, &mut *b].into_iter().enumerate().map(|(i, t)| {
            if i == 1 {
                ctl.publish_for_test(9);
            }
            t
        });
        ctl.check_all(0, tables);
        assert_eq!(a.snap_epoch, b.snap_epoch);
    }

    #[test]
    fn slot_bits_pick_wraps_and_counts() {
        let bits = SlotBits::new();
        assert_eq!(bits.pick(7), None);
        bits.put(5, true);
        bits.put(5, true);
        bits.put(16000, true);
        assert_eq!(bits.count(), 2);
        assert_eq!(bits.pick(5), Some(5));
        assert_eq!(bits.pick(6), Some(16000));
        assert_eq!(bits.pick(16001), Some(5));
        assert_eq!(bits.pick(16384 + 6), Some(16000));
        bits.put(5, false);
        bits.put(5, false);
        assert_eq!(bits.count(), 1);
        assert_eq!(bits.pick(0), Some(16000));
    }

    #[test]
    fn occupancy_follows_every_change() {
        let store = Store::new();
        let (a, b) = (store.db(0).unwrap(), store.db(1).unwrap());
        let keys: Vec<Vec<u8>> = (0..50).map(|i| format!("k{i}").into_bytes()).collect();
        let slots: BTreeSet<usize> = keys.iter().map(|k| key_slot(k).index()).collect();
        for k in &keys {
            a.set(k, b"v", SetOptions::default()).unwrap();
        }
        let occ = |db: &crate::Db<'_>| {
            let o = db.keys.occupancy();
            (members(&o.keys), members(&o.volatile))
        };
        assert_eq!(occ(&a), (slots.clone(), BTreeSet::new()));
        assert_eq!(a.keys.occupancy().keys.count(), slots.len());
        let k0 = &keys[0][..];
        let s0 = key_slot(k0).index();
        a.expire_at(k0, a.now_ms() + 10_000, ExpireCondition::Always);
        assert_eq!(occ(&a).1, BTreeSet::from([s0]));
        a.persist(k0);
        assert_eq!(occ(&a).1, BTreeSet::new());
        // A past expiry deletes the key.
        a.expire_at(k0, 1, ExpireCondition::Always);
        assert_eq!(
            occ(&a).0.contains(&s0),
            keys.iter().skip(1).any(|k| key_slot(k).index() == s0)
        );
        store.swap_dbs(0, 1).unwrap();
        assert!(occ(&a).0.is_empty());
        assert_eq!(occ(&b).0.len(), b.keys.occupancy().keys.count());
        assert!(!occ(&b).0.is_empty());
        store.flush_all();
        assert!(occ(&b).0.is_empty());
        assert_eq!(b.keys.occupancy().keys.count(), 0);
    }
}
