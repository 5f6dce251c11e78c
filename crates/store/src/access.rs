//! Shared lookups: lazy expiry, LRU touch and hit/miss counting in one
//! place, so every typed operation treats keys the same way.

use std::sync::atomic::Ordering;

use crate::error::StoreError;
use crate::keyspace::SlotTable;
use crate::notify::class;
use crate::store::Db;
use crate::value::{Entry, Value};

/// How a lookup treats the key's access metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// A read by a command: counts a hit or miss and refreshes the LRU
    /// clock (Redis' `lookupKeyRead`).
    Read,
    /// A write: refreshes the LRU clock, counts nothing.
    Write,
    /// Metadata only (TYPE, TTL, OBJECT): touches nothing (`LOOKUP_NOTOUCH`).
    Peek,
}

impl Db<'_> {
    /// The live entry for `key` in its locked table, after lazy expiry.
    #[inline]
    pub(crate) fn live<'t>(
        &self,
        table: &'t mut SlotTable,
        key: &[u8],
        access: Access,
    ) -> Option<&'t mut Entry> {
        let (entry, expired) = table.live_mut(key, self.now);
        if expired {
            self.store.stats().expired();
            self.notify(class::EXPIRED, "expired", key);
        }
        let stats = self.store.stats();
        match (&entry, access) {
            (Some(_), Access::Read) => {
                stats.keyspace_hits.fetch_add(1, Ordering::Relaxed);
            }
            (None, Access::Read) => {
                stats.keyspace_misses.fetch_add(1, Ordering::Relaxed);
                self.notify(class::KEY_MISS, "keymiss", key);
            }
            _ => {}
        }
        let entry = entry?;
        if access != Access::Peek {
            entry.lru = self.touched_stamp(entry.lru);
        }
        Some(entry)
    }

    /// Stores `entry` under `key`, reporting Redis' `new` event when the key
    /// did not exist. Every key creation goes through here.
    #[inline]
    pub(crate) fn put(&self, table: &mut SlotTable, key: &[u8], entry: Entry) -> Option<Entry> {
        let old = table.insert(key, entry);
        if old.is_none() {
            self.notify(class::NEW, "new", key);
        }
        old
    }

    /// A new entry stamped with the current LRU clock (or LFU data; an
    /// entry replacing an existing key keeps that key's LFU data).
    pub(crate) fn entry(&self, value: Value) -> Entry {
        Entry::new(value, self.entry_stamp())
    }
}

/// Checks that an entry holds the expected type.
macro_rules! expect_type {
    ($entry:expr, $variant:ident) => {
        match &mut $entry.value {
            crate::value::Value::$variant(v) => Ok(v),
            #[allow(unreachable_patterns)]
            _ => Err(crate::error::StoreError::WrongType),
        }
    };
}
pub(crate) use expect_type;

/// The longest string a command may create.
pub(crate) fn check_len(db: &Db<'_>, len: usize) -> Result<(), StoreError> {
    if len
        > db.store
            .settings()
            .proto_max_bulk_len
            .load(Ordering::Relaxed)
    {
        Err(StoreError::StringTooLong)
    } else {
        Ok(())
    }
}
