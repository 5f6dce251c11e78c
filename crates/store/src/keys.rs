//! Generic key operations: DEL, EXISTS, TYPE, the EXPIRE family, TTL,
//! RENAME, KEYS, SCAN, RANDOMKEY, COPY, MOVE, OBJECT, WATCH.

use ferrodis_slots::SLOT_COUNT;

use crate::access::Access;
use crate::error::StoreError;
use crate::glob::glob_match;
use crate::keyspace::WatchFlag;
use crate::notify::class;
use crate::store::Db;
use crate::value::{StrValue, Value, ValueType};

/// The conditions of `EXPIRE key seconds [NX|XX|GT|LT]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ExpireCondition {
    /// Always set.
    #[default]
    Always,
    /// Only if the key has no TTL (`NX`).
    IfNone,
    /// Only if the key has a TTL (`XX`).
    IfSome,
    /// Only if the new expiry is later (`GT`; no TTL counts as infinite).
    IfGreater,
    /// Only if the new expiry is sooner (`LT`; no TTL counts as infinite).
    IfLess,
}

/// A key's time to live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ttl {
    /// The key does not exist (TTL replies -2).
    Missing,
    /// The key has no TTL (TTL replies -1).
    Persistent,
    /// The key expires at this Unix time in milliseconds.
    ExpiresAt(u64),
}

/// What `OBJECT` reports about a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectInfo {
    /// `OBJECT ENCODING`.
    pub encoding: &'static str,
    /// `OBJECT IDLETIME`, in seconds (meaningful under non-LFU policies).
    pub idle_seconds: u64,
    /// `OBJECT FREQ`: the LFU counter after decay (meaningful under LFU
    /// policies).
    pub freq: u8,
    /// Whether Redis would store this value as one of its shared integer
    /// objects (`OBJECT REFCOUNT` 2147483647): an integer in 0..10000,
    /// unless a `maxmemory` limit is set with an LRU or LFU policy (which
    /// needs per-key access data). Decided when asked, where Redis decides
    /// when the value is written.
    pub shared_integer: bool,
}

impl Db<'_> {
    /// `DEL key [key ...]`: how many were removed.
    pub fn del(&self, keys: &[&[u8]]) -> usize {
        keys.iter()
            .filter(|k| {
                let mut table = self.keys.lock(k);
                let removed =
                    self.live(&mut table, k, Access::Peek).is_some() && table.remove(k).is_some();
                if removed {
                    self.notify(class::GENERIC, "del", k);
                }
                removed
            })
            .count()
    }

    /// `EXISTS key [key ...]`: how many exist (a key named twice counts
    /// twice).
    pub fn exists(&self, keys: &[&[u8]]) -> usize {
        keys.iter()
            .filter(|k| {
                let mut table = self.keys.lock(k);
                self.live(&mut table, k, Access::Read).is_some()
            })
            .count()
    }

    /// Whether `key` exists, counting no hit or miss and leaving its
    /// access time alone (the cluster slot check asks this of keys of a
    /// slot being migrated).
    pub fn contains(&self, key: &[u8]) -> bool {
        let mut table = self.keys.lock(key);
        self.live(&mut table, key, Access::Peek).is_some()
    }

    /// `TOUCH key [key ...]`: how many exist; refreshes their access time.
    pub fn touch(&self, keys: &[&[u8]]) -> usize {
        keys.iter()
            .filter(|k| {
                let mut table = self.keys.lock(k);
                self.live(&mut table, k, Access::Write).is_some()
            })
            .count()
    }

    /// `TYPE key`.
    pub fn value_type(&self, key: &[u8]) -> Option<ValueType> {
        let mut table = self.keys.lock(key);
        self.live(&mut table, key, Access::Peek)
            .map(|e| e.value.value_type())
    }

    /// Sets the expiry of `key` to `at_ms` (Unix ms) under `cond` (the
    /// EXPIRE family after converting to absolute time). A time in the past
    /// deletes the key. Returns whether the TTL was set (or the key
    /// deleted).
    pub fn expire_at(&self, key: &[u8], at_ms: u64, cond: ExpireCondition) -> bool {
        let mut table = self.keys.lock(key);
        let Some(entry) = self.live(&mut table, key, Access::Write) else {
            return false;
        };
        let current = entry.expire_at;
        let allowed = match cond {
            ExpireCondition::Always => true,
            ExpireCondition::IfNone => current == 0,
            ExpireCondition::IfSome => current != 0,
            ExpireCondition::IfGreater => current != 0 && at_ms > current,
            ExpireCondition::IfLess => current == 0 || at_ms < current,
        };
        if !allowed {
            return false;
        }
        if at_ms <= self.now {
            table.remove(key);
            self.notify(class::GENERIC, "del", key);
        } else {
            table.set_expire(key, at_ms);
            self.notify(class::GENERIC, "expire", key);
        }
        true
    }

    /// `TTL`/`PTTL`/`EXPIRETIME`: the key's expiry.
    pub fn ttl(&self, key: &[u8]) -> Ttl {
        let mut table = self.keys.lock(key);
        match self.live(&mut table, key, Access::Peek) {
            None => Ttl::Missing,
            Some(e) if e.expire_at == 0 => Ttl::Persistent,
            Some(e) => Ttl::ExpiresAt(e.expire_at),
        }
    }

    /// `PERSIST key`: whether a TTL was removed.
    pub fn persist(&self, key: &[u8]) -> bool {
        let mut table = self.keys.lock(key);
        match self.live(&mut table, key, Access::Write) {
            Some(e) if e.expire_at != 0 => {
                table.set_expire(key, 0);
                self.notify(class::GENERIC, "persist", key);
                true
            }
            _ => false,
        }
    }

    /// `RENAME`/`RENAMENX src dst`. With `only_if_missing`, returns
    /// `Ok(false)` when `dst` exists. The TTL moves with the value.
    pub fn rename(
        &self,
        src: &[u8],
        dst: &[u8],
        only_if_missing: bool,
    ) -> Result<bool, StoreError> {
        let mut locked = self.keys.lock_many([src, dst]);
        let Some(src_table) = locked.table(src) else {
            return Err(StoreError::NoSuchKey);
        };
        if self.live(src_table, src, Access::Write).is_none() {
            return Err(StoreError::NoSuchKey);
        }
        if src == dst {
            return Ok(!only_if_missing);
        }
        if only_if_missing {
            if let Some(dst_table) = locked.table(dst) {
                if self.live(dst_table, dst, Access::Peek).is_some() {
                    return Ok(false);
                }
            }
        }
        let entry = locked.table(src).and_then(|t| t.remove(src));
        if let (Some(entry), Some(dst_table)) = (entry, locked.table(dst)) {
            self.put(dst_table, dst, entry);
        }
        self.notify(class::GENERIC, "rename_from", src);
        self.notify(class::GENERIC, "rename_to", dst);
        Ok(true)
    }

    /// `KEYS pattern`: every live key matching the glob pattern.
    pub fn keys_matching(&self, pattern: &[u8]) -> Vec<Vec<u8>> {
        let all = pattern == b"*";
        let mut out = Vec::new();
        for slot in 0..self.keys.slot_count() {
            let table = self.keys.slot(slot).lock();
            for (k, e) in table.dict.iter() {
                if !e.is_expired(self.now) && (all || glob_match(pattern, k, false)) {
                    out.push(k.to_vec());
                }
            }
        }
        out
    }

    /// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]`: one step of
    /// a cursor iteration; returns the next cursor (0 when done) and keys.
    ///
    /// The cursor is `(table cursor << 14) | slot`: each slot's table is
    /// scanned with Redis' reverse-binary cursor, then the next slot, so
    /// every key present for the whole iteration is returned at least once.
    pub fn scan(
        &self,
        cursor: u64,
        pattern: Option<&[u8]>,
        count: usize,
        type_filter: Option<ValueType>,
    ) -> (u64, Vec<Vec<u8>>) {
        let mut slot = (cursor & u64::from(SLOT_COUNT - 1)) as usize;
        let mut table_cursor = cursor >> 14;
        let mut out = Vec::new();
        let mut visited = 0;
        let count = count.max(1);
        while slot < self.keys.slot_count() {
            let table = self.keys.slot(slot).lock();
            loop {
                table_cursor = table.dict.scan(table_cursor, |k, e| {
                    visited += 1;
                    if e.is_expired(self.now) {
                        return;
                    }
                    if type_filter.is_some_and(|t| t != e.value.value_type()) {
                        return;
                    }
                    if pattern.is_some_and(|p| !glob_match(p, k, false)) {
                        return;
                    }
                    out.push(k.to_vec());
                });
                if table_cursor == 0 || visited >= count {
                    break;
                }
            }
            drop(table);
            if table_cursor == 0 {
                slot += 1;
            }
            if visited >= count {
                break;
            }
        }
        if slot >= self.keys.slot_count() {
            return (0, out);
        }
        ((table_cursor << 14) | slot as u64, out)
    }

    /// `RANDOMKEY`: a random live key.
    pub fn random_key(&self) -> Option<Vec<u8>> {
        let slots = self.keys.slot_count();
        // Random slots first; a sparse database falls back to a full pass.
        for _ in 0..64 {
            let slot = (self.store.random() % slots as u64) as usize;
            let table = self.keys.slot(slot).lock();
            let mut rng = || self.store.random();
            if let Some((k, e)) = table.dict.random_entry(&mut rng) {
                if !e.is_expired(self.now) {
                    return Some(k.to_vec());
                }
            }
        }
        let start = (self.store.random() % slots as u64) as usize;
        for i in 0..slots {
            let table = self.keys.slot((start + i) % slots).lock();
            let found = table
                .dict
                .iter()
                .find(|(_, e)| !e.is_expired(self.now))
                .map(|(k, _)| k.to_vec());
            if found.is_some() {
                return found;
            }
        }
        None
    }

    /// `COPY src dst [DB db] [REPLACE]`: whether the copy was made.
    pub fn copy_to(
        &self,
        src: &[u8],
        dst_db: &Db<'_>,
        dst: &[u8],
        replace: bool,
    ) -> Result<bool, StoreError> {
        if self.index == dst_db.index && src == dst {
            return Err(StoreError::SameObject);
        }
        let entry = {
            let mut table = self.keys.lock(src);
            match self.live(&mut table, src, Access::Read) {
                None => return Ok(false),
                Some(e) => e.clone(),
            }
        };
        let mut table = dst_db.keys.lock(dst);
        if dst_db.live(&mut table, dst, Access::Write).is_some() && !replace {
            return Ok(false);
        }
        let mut entry = entry;
        entry.lru = self.fresh_stamp();
        dst_db.put(&mut table, dst, entry);
        dst_db.notify(class::GENERIC, "copy_to", dst);
        Ok(true)
    }

    /// `MOVE key db`: whether the key moved (it must not exist there).
    pub fn move_to(&self, key: &[u8], dst_db: &Db<'_>) -> Result<bool, StoreError> {
        if self.index == dst_db.index {
            return Err(StoreError::SameObject);
        }
        // Lock the lower database's table first.
        let (first, second) = if self.index < dst_db.index {
            (self, dst_db)
        } else {
            (dst_db, self)
        };
        let mut a = first.keys.lock(key);
        let mut b = second.keys.lock(key);
        let (src_table, dst_table) = if self.index < dst_db.index {
            (&mut *a, &mut *b)
        } else {
            (&mut *b, &mut *a)
        };
        if self.live(src_table, key, Access::Peek).is_none() {
            return Ok(false);
        }
        if dst_db.live(dst_table, key, Access::Peek).is_some() {
            return Ok(false);
        }
        if let Some(entry) = src_table.remove(key) {
            dst_db.put(dst_table, key, entry);
            self.notify(class::GENERIC, "move_from", key);
            dst_db.notify(class::GENERIC, "move_to", key);
        }
        Ok(true)
    }

    /// `OBJECT ENCODING|IDLETIME key`.
    pub fn object(&self, key: &[u8]) -> Option<ObjectInfo> {
        let mut table = self.keys.lock(key);
        let e = self.live(&mut table, key, Access::Peek)?;
        Some(ObjectInfo {
            encoding: e.value.encoding(),
            idle_seconds: crate::evict::lru_idle_ms(crate::evict::lru_clock(self.now), e.lru)
                / 1000,
            freq: self.lfu_counter(e),
            shared_integer: matches!(e.value, Value::String(StrValue::Int(0..=9999)))
                && self.shares_integers(),
        })
    }

    /// `MEMORY USAGE key`: bytes held by the key and its value, `None` if
    /// the key does not exist: the key's table node (hash, link, inline key
    /// and entry) with its share of the bucket array, the key's bytes when
    /// too long to be inline, and the value's heap allocations. Sizes are
    /// what the structures request from the allocator; its own per-block
    /// overhead is not included.
    pub fn memory_usage(&self, key: &[u8]) -> Option<usize> {
        let mut table = self.keys.lock(key);
        let value = self.live(&mut table, key, Access::Peek)?.value.heap_size();
        let node = table.dict.memory_usage().div_ceil(table.dict.len().max(1));
        let key_heap = if key.len() > crate::smallbytes::INLINE_CAPACITY {
            key.len()
        } else {
            0
        };
        Some(node + key_heap + value)
    }

    /// `WATCH key`: `flag` is raised when `key` is next modified (or the
    /// database flushed or swapped).
    pub fn watch(&self, key: &[u8], flag: WatchFlag) {
        self.keys.lock(key).watch(key, flag);
    }

    /// Undoes [`Db::watch`].
    pub fn unwatch(&self, key: &[u8], flag: &WatchFlag) {
        self.keys.lock(key).unwatch(key, flag);
    }

    /// The number of keys in hash slot `slot` (CLUSTER COUNTKEYSINSLOT).
    pub fn count_keys_in_slot(&self, slot: ferrodis_slots::Slot) -> usize {
        self.keys.slot(slot.index()).lock().dict.len()
    }

    /// Removes every key of hash slot `slot` at once (what a cluster node
    /// does with a slot another node now serves) and returns their names,
    /// for the embedder to propagate. Watchers are told, as by FLUSHDB.
    pub fn flush_slot(&self, slot: ferrodis_slots::Slot) -> Vec<Vec<u8>> {
        let mut table = self.keys.lock_slot(slot.index());
        let keys = table.dict.keys().map(|k| k.to_vec()).collect();
        table.clear();
        keys
    }

    /// Up to `count` keys of hash slot `slot` (CLUSTER GETKEYSINSLOT).
    pub fn keys_in_slot(&self, slot: ferrodis_slots::Slot, count: usize) -> Vec<Vec<u8>> {
        let table = self.keys.slot(slot.index()).lock();
        table.dict.keys().take(count).map(|k| k.to_vec()).collect()
    }
}
