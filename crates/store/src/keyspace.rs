//! One database: its keys sharded into 16384 per-slot tables, each behind
//! its own lock.
//!
//! A key lives in the table of its hash slot, so slot-level work (count,
//! list, drop, migrate the keys of a slot) touches one table, and threads
//! working on keys of different slots take different locks. Operations on
//! several keys lock their slots in ascending slot order, so they cannot
//! deadlock with each other.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ferrodis_slots::{key_slot, SLOT_COUNT};
use parking_lot::{Mutex, MutexGuard};

use crate::dict::Dict;
use crate::smallbytes::SmallBytes;
use crate::value::Entry;

/// Flags raised when a watched key is modified (`WATCH`).
pub type WatchFlag = Arc<AtomicBool>;

/// The keys of one hash slot.
#[derive(Default)]
pub(crate) struct SlotTable {
    pub(crate) dict: Dict<SmallBytes, Entry>,
    /// How many keys of this slot have a TTL.
    pub(crate) volatile: usize,
    /// Clients watching keys of this slot, by key. Boxed so that the 16384
    /// tables of a database pay 8 bytes each for it, not a whole map.
    #[allow(clippy::box_collection)]
    watchers: Option<Box<HashMap<SmallBytes, Vec<WatchFlag>>>>,
}

impl SlotTable {
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
    pub(crate) fn insert(&mut self, key: &[u8], entry: Entry) -> Option<Entry> {
        if entry.expire_at != 0 {
            self.volatile += 1;
        }
        let old = self.dict.insert(SmallBytes::new(key), entry);
        if let Some(old) = &old {
            if old.expire_at != 0 {
                self.volatile -= 1;
            }
        }
        self.touch(key);
        old
    }

    /// Removes `key`.
    pub(crate) fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let old = self.dict.remove(key)?;
        if old.expire_at != 0 {
            self.volatile -= 1;
        }
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
        self.touch(key);
        true
    }

    /// Signals that `key` was modified: raises its watchers' flags.
    #[inline]
    pub(crate) fn touch(&mut self, key: &[u8]) {
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
        self.touch_present(None);
        self.dict = Dict::new();
        self.volatile = 0;
        n
    }
}

/// A database's keys: one [`SlotTable`] per hash slot.
pub(crate) struct Keyspace {
    slots: Box<[Mutex<SlotTable>]>,
}

impl Keyspace {
    pub(crate) fn new() -> Keyspace {
        Keyspace {
            slots: (0..SLOT_COUNT)
                .map(|_| Mutex::new(SlotTable::default()))
                .collect(),
        }
    }

    /// The table of slot `slot` (`slot < 16384`).
    #[inline]
    pub(crate) fn slot(&self, slot: usize) -> &Mutex<SlotTable> {
        // `slots` has 16384 entries and `slot` comes from `key_slot` or a
        // loop below 16384: never out of bounds. Fall back to slot 0 rather
        // than panic if a caller breaks that.
        self.slots.get(slot).unwrap_or(&self.slots[0])
    }

    /// Locks the table holding `key`.
    #[inline]
    pub(crate) fn lock(&self, key: &[u8]) -> MutexGuard<'_, SlotTable> {
        self.slot(key_slot(key).index()).lock()
    }

    /// Locks the tables of all `keys`, in ascending slot order.
    pub(crate) fn lock_many<'k>(&self, keys: impl IntoIterator<Item = &'k [u8]>) -> Locked<'_> {
        let mut slots: Vec<u16> = keys.into_iter().map(|k| key_slot(k).get()).collect();
        slots.sort_unstable();
        slots.dedup();
        Locked {
            guards: slots
                .into_iter()
                .map(|s| (s, self.slot(usize::from(s)).lock()))
                .collect(),
        }
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
