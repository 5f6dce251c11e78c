//! Eviction: `maxmemory`, its eight policies, and the per-key access
//! metadata they read (LRU clock, LFU counter), approximated as Redis 7
//! does (facts from Redis' `evict.c`; no code shared).
//!
//! # The `lru` field of an entry
//!
//! The low 24 bits are Redis' `robj.lru`:
//!
//! | policy            | bits 23..8                      | bits 7..0         |
//! |-------------------|---------------------------------|-------------------|
//! | LFU (`*-lfu`)     | last decrement, minutes mod 2^16 | log. counter     |
//! | any other         | LRU clock: seconds mod 2^24 (all 24 bits)           |
//!
//! Bit 31 ([`KEEP_ON_OVERWRITE`]) marks a new entry made under an LFU
//! policy: when it replaces an existing key, the table keeps the old key's
//! counter (Redis' `dbOverwrite`), so `SET` on a hot key keeps it hot.
//!
//! # LFU
//!
//! The counter is 8-bit and logarithmic: an access increments it with
//! probability `1 / ((counter - 5) * lfu-log-factor + 1)` (always below 5,
//! the value a new key starts at); it loses one for every `lfu-decay-time`
//! minutes since its last decrement, applied lazily when the key is next
//! read or sampled.
//!
//! # Eviction
//!
//! [`Store::evict_if_needed`] compares the embedder's memory probe with
//! `maxmemory` and deletes keys until under the limit:
//!
//! - `allkeys-random` / `volatile-random`: one random key (with a TTL for
//!   `volatile-*`) of the next database in round-robin order.
//! - LRU, LFU and `volatile-ttl`: an eviction pool of the 16 best
//!   candidates seen so far, ordered by score (idle time, `255 - counter`,
//!   or `u64::MAX - expire time`). Each round adds `maxmemory-samples` keys
//!   of every database, each drawn from a random non-empty slot, then
//!   deletes the best candidate that still exists. Candidates stay in the
//!   pool between rounds, which is what makes a few samples per round a
//!   good approximation of true LRU/LFU.
//!
//! When memory is still above the limit and nothing can be deleted
//! (`noeviction`, or `volatile-*` without keys with a TTL), the answer is
//! [`StoreError::OutOfMemory`].

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

use crate::error::StoreError;
use crate::keyspace::SlotTable;
use crate::smallbytes::SmallBytes;
use crate::store::{Db, Store};
use crate::value::Entry;

/// The largest value of the 24-bit LRU clock.
pub(crate) const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;
/// The LFU counter of a new key.
pub const LFU_INIT_VAL: u8 = 5;
/// Marks a new entry whose replacement of an existing key keeps that key's
/// LFU data (see the module docs).
pub(crate) const KEEP_ON_OVERWRITE: u32 = 1 << 31;
/// Candidates an eviction pool keeps.
const EVPOOL_SIZE: usize = 16;
/// Pool rounds after which eviction gives up when every candidate vanished
/// under it (other threads deleting the same keys).
const MAX_ROUNDS: usize = 64;

/// `maxmemory-policy`: what to delete when memory is above `maxmemory`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EvictionPolicy {
    /// Delete nothing; refuse commands that may grow memory.
    NoEviction,
    /// The least recently used key.
    AllKeysLru,
    /// The least frequently used key.
    AllKeysLfu,
    /// A random key.
    AllKeysRandom,
    /// The least recently used key with a TTL.
    VolatileLru,
    /// The least frequently used key with a TTL.
    VolatileLfu,
    /// A random key with a TTL.
    VolatileRandom,
    /// The key with a TTL that expires soonest.
    VolatileTtl,
}

impl EvictionPolicy {
    /// Every policy, in the order of [`EvictionPolicy::code`].
    pub const ALL: [EvictionPolicy; 8] = [
        EvictionPolicy::NoEviction,
        EvictionPolicy::AllKeysLru,
        EvictionPolicy::AllKeysLfu,
        EvictionPolicy::AllKeysRandom,
        EvictionPolicy::VolatileLru,
        EvictionPolicy::VolatileLfu,
        EvictionPolicy::VolatileRandom,
        EvictionPolicy::VolatileTtl,
    ];

    /// The name `maxmemory-policy` takes.
    pub fn name(self) -> &'static str {
        match self {
            EvictionPolicy::NoEviction => "noeviction",
            EvictionPolicy::AllKeysLru => "allkeys-lru",
            EvictionPolicy::AllKeysLfu => "allkeys-lfu",
            EvictionPolicy::AllKeysRandom => "allkeys-random",
            EvictionPolicy::VolatileLru => "volatile-lru",
            EvictionPolicy::VolatileLfu => "volatile-lfu",
            EvictionPolicy::VolatileRandom => "volatile-random",
            EvictionPolicy::VolatileTtl => "volatile-ttl",
        }
    }

    /// The policy named `name` (case-insensitive).
    pub fn from_name(name: &str) -> Option<EvictionPolicy> {
        Self::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name))
    }

    /// Whether keys carry an LFU counter rather than an LRU clock.
    pub fn is_lfu(self) -> bool {
        matches!(
            self,
            EvictionPolicy::AllKeysLfu | EvictionPolicy::VolatileLfu
        )
    }

    /// Whether keys carry an LRU clock that eviction reads.
    pub fn is_lru(self) -> bool {
        matches!(
            self,
            EvictionPolicy::AllKeysLru | EvictionPolicy::VolatileLru
        )
    }

    /// Whether only keys with a TTL may be evicted.
    pub fn volatile_only(self) -> bool {
        matches!(
            self,
            EvictionPolicy::VolatileLru
                | EvictionPolicy::VolatileLfu
                | EvictionPolicy::VolatileRandom
                | EvictionPolicy::VolatileTtl
        )
    }

    /// A small number standing for the policy (for atomics).
    pub(crate) fn code(self) -> u8 {
        Self::ALL.iter().position(|p| *p == self).unwrap_or(0) as u8
    }

    /// The policy of [`EvictionPolicy::code`].
    pub(crate) fn from_code(code: u8) -> EvictionPolicy {
        Self::ALL
            .get(usize::from(code))
            .copied()
            .unwrap_or(EvictionPolicy::NoEviction)
    }
}

/// The LRU clock at `now_ms`: seconds, modulo 2^24.
pub(crate) fn lru_clock(now_ms: u64) -> u32 {
    ((now_ms / 1000) & u64::from(LRU_CLOCK_MAX)) as u32
}

/// Milliseconds since an access stamped `lru`, at LRU clock `clock`
/// (allowing for one wrap of the clock).
pub(crate) fn lru_idle_ms(clock: u32, lru: u32) -> u64 {
    let lru = lru & LRU_CLOCK_MAX;
    let secs = if clock >= lru {
        clock - lru
    } else {
        clock + (LRU_CLOCK_MAX - lru)
    };
    u64::from(secs) * 1000
}

/// The LFU time at `now_ms`: minutes, modulo 2^16.
pub(crate) fn lfu_minutes(now_ms: u64) -> u32 {
    ((now_ms / 60_000) & 0xFFFF) as u32
}

/// Minutes from `then` to `now` on the 16-bit LFU clock (allowing for
/// one wrap).
fn lfu_elapsed(now: u32, then: u32) -> u32 {
    if now >= then {
        now - then
    } else {
        0xFFFF - then + now
    }
}

/// The counter of LFU data `lru` after decay at LFU time `now_min`: one less
/// per `decay_time` minutes elapsed (no decay when `decay_time` is 0).
pub fn lfu_decayed(lru: u32, now_min: u32, decay_time: u32) -> u8 {
    let last = (lru >> 8) & 0xFFFF;
    let counter = (lru & 0xFF) as u8;
    let periods = lfu_elapsed(now_min, last)
        .checked_div(decay_time)
        .unwrap_or(0);
    counter.saturating_sub(u8::try_from(periods).unwrap_or(u8::MAX))
}

/// One logarithmic increment of an LFU counter: by one with probability
/// `1 / ((counter - 5) * log_factor + 1)`, where `r` is uniform in [0, 1).
/// Saturates at 255.
pub fn lfu_log_incr(counter: u8, log_factor: u32, r: f64) -> u8 {
    if counter == u8::MAX {
        return counter;
    }
    let base = f64::from(counter.saturating_sub(LFU_INIT_VAL));
    let p = 1.0 / (base * f64::from(log_factor) + 1.0);
    if r < p {
        counter + 1
    } else {
        counter
    }
}

/// LFU data for an access at `now_ms`: decay, then increment.
fn lfu_touch(lru: u32, now_ms: u64, log_factor: u32, decay_time: u32) -> u32 {
    let now = lfu_minutes(now_ms);
    let counter = lfu_decayed(lru, now, decay_time);
    let counter = lfu_log_incr(counter, log_factor, thread_random_unit());
    (now << 8) | u32::from(counter)
}

thread_local! {
    static RNG: Cell<u64> = const { Cell::new(0) };
}

/// A uniform number in [0, 1) from a per-thread xorshift generator (no lock
/// on the read path).
fn thread_random_unit() -> f64 {
    let x = RNG.with(|cell| {
        let mut x = cell.get();
        if x == 0 {
            x = RandomState::new().hash_one(0u64) | 1;
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        cell.set(x);
        x
    });
    (x >> 11) as f64 / (1u64 << 53) as f64
}

impl Db<'_> {
    /// The `lru` field after an access (lookups other than `Peek`).
    #[inline]
    pub(crate) fn touched_stamp(&self, old: u32) -> u32 {
        let s = self.store.settings();
        if s.maxmemory_policy().is_lfu() {
            lfu_touch(
                old,
                self.now,
                s.lfu_log_factor.load(Ordering::Relaxed),
                s.lfu_decay_time.load(Ordering::Relaxed),
            )
        } else {
            lru_clock(self.now)
        }
    }

    /// The `lru` field of a new object: the LRU clock, or the LFU time and
    /// initial counter.
    pub(crate) fn fresh_stamp(&self) -> u32 {
        if self.store.settings().maxmemory_policy().is_lfu() {
            (lfu_minutes(self.now) << 8) | u32::from(LFU_INIT_VAL)
        } else {
            lru_clock(self.now)
        }
    }

    /// The `lru` field of an entry about to be stored under a key that may
    /// exist: under LFU, an overwrite keeps the old key's data.
    pub(crate) fn entry_stamp(&self) -> u32 {
        let stamp = self.fresh_stamp();
        if self.store.settings().maxmemory_policy().is_lfu() {
            stamp | KEEP_ON_OVERWRITE
        } else {
            stamp
        }
    }

    /// The `lru` field RESTORE's `IDLETIME` or `FREQ` asks for, if the
    /// current policy uses it (Redis' `objectSetLRUOrLFU`): under LFU the
    /// counter, stamped now; otherwise an access `idle` seconds ago on the
    /// wrapping LRU clock.
    pub(crate) fn restored_stamp(&self, idle: Option<u64>, freq: Option<u8>) -> Option<u32> {
        if self.store.settings().maxmemory_policy().is_lfu() {
            return freq.map(|f| (lfu_minutes(self.now) << 8) | u32::from(f));
        }
        let idle = idle?.min(u64::from(LRU_CLOCK_MAX));
        let clock = u64::from(lru_clock(self.now));
        let at = if clock >= idle {
            clock - idle
        } else {
            clock + u64::from(LRU_CLOCK_MAX) - idle
        };
        Some(at as u32)
    }

    /// Whether small integers are shared objects in Redis under the current
    /// settings: not when a limit is set with a policy that needs per-key
    /// access data (Redis' `MAXMEMORY_FLAG_NO_SHARED_INTEGERS`).
    pub(crate) fn shares_integers(&self) -> bool {
        let s = self.store.settings();
        let policy = s.maxmemory_policy();
        s.maxmemory.load(Ordering::Relaxed) == 0 || !(policy.is_lru() || policy.is_lfu())
    }

    /// The LFU counter of `entry` after decay (`OBJECT FREQ`).
    pub(crate) fn lfu_counter(&self, entry: &Entry) -> u8 {
        let decay = self.store.settings().lfu_decay_time.load(Ordering::Relaxed);
        lfu_decayed(entry.lru, lfu_minutes(self.now), decay)
    }
}

/// The memory gauge the embedder supplies: bytes in use now.
#[derive(Clone)]
pub(crate) struct MemoryProbe(pub(crate) Arc<dyn Fn() -> usize + Send + Sync>);

impl std::fmt::Debug for MemoryProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryProbe")
    }
}

/// One eviction candidate.
#[derive(Debug)]
struct Candidate {
    /// Higher is a better candidate.
    score: u64,
    db: usize,
    key: SmallBytes,
}

/// The best candidates seen so far, ascending by score.
#[derive(Debug, Default)]
pub(crate) struct EvictionPool {
    entries: Vec<Candidate>,
    /// The policy the scores were computed under.
    policy: Option<EvictionPolicy>,
}

impl EvictionPool {
    /// Offers a candidate: kept if the pool has room or it beats the worst.
    fn offer(&mut self, score: u64, db: usize, key: &[u8]) {
        if let Some(i) = self
            .entries
            .iter()
            .position(|c| c.db == db && &c.key[..] == key)
        {
            self.entries.remove(i);
        }
        if self.entries.len() >= EVPOOL_SIZE
            && self.entries.first().is_some_and(|w| score <= w.score)
        {
            return;
        }
        let at = self.entries.partition_point(|c| c.score <= score);
        self.entries.insert(
            at,
            Candidate {
                score,
                db,
                key: SmallBytes::new(key),
            },
        );
        if self.entries.len() > EVPOOL_SIZE {
            self.entries.remove(0);
        }
    }
}

/// A random key of `table` (with a TTL when `volatile_only`).
fn random_candidate<'t>(
    table: &'t SlotTable,
    volatile_only: bool,
    rng: &mut impl FnMut() -> u64,
) -> Option<(&'t SmallBytes, &'t Entry)> {
    if !volatile_only {
        return table.dict.random_entry(rng);
    }
    if table.volatile == 0 {
        return None;
    }
    for _ in 0..4 {
        match table.dict.random_entry(rng) {
            Some((k, e)) if e.expire_at != 0 => return Some((k, e)),
            _ => {}
        }
    }
    // Few keys of the slot have a TTL: pick among those.
    let n = (rng() % table.volatile as u64) as usize;
    table.dict.iter().filter(|(_, e)| e.expire_at != 0).nth(n)
}

impl Store {
    /// Sets the memory gauge eviction compares with `maxmemory` (the node
    /// passes its allocator's count of live bytes). Without one, the store
    /// never evicts. It is set once (reading it then costs no lock on the
    /// path of every command); returns false, changing nothing, if a probe
    /// was already set.
    pub fn set_memory_probe(&self, probe: impl Fn() -> usize + Send + Sync + 'static) -> bool {
        self.memory_probe.set(MemoryProbe(Arc::new(probe))).is_ok()
    }

    /// What the memory probe reads now, if one is set.
    pub fn used_memory(&self) -> Option<usize> {
        self.memory_probe.get().map(|p| (p.0)())
    }

    /// Deletes keys by `maxmemory-policy` until the memory probe reads at
    /// most `maxmemory` (Redis' `performEvictions`, run before commands).
    /// Returns how many keys were evicted; `OutOfMemory` if memory is still
    /// above the limit and nothing (more) can be evicted. Does nothing when
    /// `maxmemory` is 0 or no probe is set.
    pub fn evict_if_needed(&self) -> Result<usize, StoreError> {
        let limit = self.settings().maxmemory.load(Ordering::Relaxed);
        if limit == 0 {
            return Ok(0);
        }
        let Some(probe) = self.memory_probe.get() else {
            return Ok(0);
        };
        let over = || (probe.0)() as u64 > limit;
        if !over() {
            return Ok(0);
        }
        let policy = self.settings().maxmemory_policy();
        if policy == EvictionPolicy::NoEviction {
            return Err(StoreError::OutOfMemory);
        }
        // One evicting thread at a time; the others wait and then find
        // memory already under the limit.
        let mut pool = self.evict_pool.lock();
        if pool.policy != Some(policy) {
            *pool = EvictionPool {
                entries: Vec::new(),
                policy: Some(policy),
            };
        }
        let mut evicted = 0;
        while over() {
            let done = match policy {
                EvictionPolicy::AllKeysRandom | EvictionPolicy::VolatileRandom => {
                    self.evict_random(policy.volatile_only())
                }
                _ => self.evict_from_pool(policy, &mut pool),
            };
            if !done {
                return Err(StoreError::OutOfMemory);
            }
            evicted += 1;
            self.stats.evicted_keys.fetch_add(1, Ordering::Relaxed);
        }
        Ok(evicted)
    }

    /// Deletes a random key of the next database that has one.
    fn evict_random(&self, volatile_only: bool) -> bool {
        let dbs = self.dbs.len();
        for _ in 0..dbs {
            let index = self.next_evict_db.fetch_add(1, Ordering::Relaxed) % dbs;
            let Some(keys) = self.dbs.get(index).and_then(OnceLock::get) else {
                continue;
            };
            let occupancy = keys.occupancy();
            let bits = if volatile_only {
                &occupancy.volatile
            } else {
                &occupancy.keys
            };
            // A picked slot can empty under us; try a few.
            for _ in 0..8 {
                let Some(slot) = bits.pick(self.random()) else {
                    break;
                };
                let mut table = keys.lock_slot(slot);
                let key = random_candidate(&table, volatile_only, &mut || self.random())
                    .map(|(k, _)| k.clone());
                if let Some(key) = key {
                    table.remove(&key);
                    drop(table);
                    self.notify_evicted(index, &key);
                    return true;
                }
            }
        }
        false
    }

    /// Reports Redis' `evicted` keyspace event (class `e`), outside any
    /// table lock.
    fn notify_evicted(&self, db: usize, key: &[u8]) {
        if let Ok(handle) = self.db(db) {
            handle.notify(crate::notify::class::EVICTED, "evicted", key);
        }
    }

    /// The score of `entry` under `policy`: higher is evicted first.
    fn eviction_score(&self, policy: EvictionPolicy, entry: &Entry, now_ms: u64) -> u64 {
        match policy {
            EvictionPolicy::VolatileTtl => u64::MAX - entry.expire_at,
            p if p.is_lfu() => {
                let decay = self.settings().lfu_decay_time.load(Ordering::Relaxed);
                255 - u64::from(lfu_decayed(entry.lru, lfu_minutes(now_ms), decay))
            }
            _ => lru_idle_ms(lru_clock(now_ms), entry.lru),
        }
    }

    /// Samples `maxmemory-samples` keys of every database into the pool.
    /// Returns false when no database has a key to evict.
    fn populate_pool(&self, policy: EvictionPolicy, pool: &mut EvictionPool) -> bool {
        let samples = self
            .settings()
            .maxmemory_samples
            .load(Ordering::Relaxed)
            .max(1);
        let volatile_only = policy.volatile_only();
        let now = self.now_ms();
        let mut any = false;
        for (index, keys) in self.used_dbs() {
            let occupancy = keys.occupancy();
            let bits = if volatile_only {
                &occupancy.volatile
            } else {
                &occupancy.keys
            };
            if bits.count() == 0 {
                continue;
            }
            any = true;
            for _ in 0..samples {
                let Some(slot) = bits.pick(self.random()) else {
                    break;
                };
                let table = keys.slot(slot).lock();
                if let Some((key, entry)) =
                    random_candidate(&table, volatile_only, &mut || self.random())
                {
                    pool.offer(self.eviction_score(policy, entry, now), index, key);
                }
            }
        }
        any
    }

    /// Deletes the best candidate of the pool that still exists, refilling
    /// the pool first.
    fn evict_from_pool(&self, policy: EvictionPolicy, pool: &mut EvictionPool) -> bool {
        for _ in 0..MAX_ROUNDS {
            if !self.populate_pool(policy, pool) {
                return false;
            }
            while let Some(c) = pool.entries.pop() {
                let Some(keys) = self.dbs.get(c.db).and_then(OnceLock::get) else {
                    continue;
                };
                let mut table = keys.lock(&c.key);
                let evictable = table
                    .dict
                    .get(&c.key[..])
                    .is_some_and(|e| !policy.volatile_only() || e.expire_at != 0);
                if evictable {
                    table.remove(&c.key);
                    drop(table);
                    self.notify_evicted(c.db, &c.key);
                    return true;
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_names_round_trip() {
        for p in EvictionPolicy::ALL {
            assert_eq!(EvictionPolicy::from_name(p.name()), Some(p));
            assert_eq!(EvictionPolicy::from_code(p.code()), p);
        }
        assert_eq!(
            EvictionPolicy::from_name("ALLKEYS-LRU"),
            Some(EvictionPolicy::AllKeysLru)
        );
        assert_eq!(EvictionPolicy::from_name("lru"), None);
    }

    #[test]
    fn lru_idle_allows_for_a_wrap() {
        assert_eq!(lru_idle_ms(100, 40), 60_000);
        assert_eq!(lru_idle_ms(5, LRU_CLOCK_MAX - 5), 10_000);
        assert_eq!(lru_clock(1_000 * (u64::from(LRU_CLOCK_MAX) + 3)), 2);
    }

    #[test]
    fn lfu_counter_grows_logarithmically() {
        // Below the initial value every access counts.
        assert_eq!(lfu_log_incr(0, 10, 0.999), 1);
        assert_eq!(lfu_log_incr(5, 10, 0.999), 6);
        // Above it, with probability 1 / ((c - 5) * factor + 1).
        assert_eq!(lfu_log_incr(6, 10, 0.0), 7);
        assert_eq!(lfu_log_incr(6, 10, 1.0 / 11.0 - 1e-9), 7);
        assert_eq!(lfu_log_incr(6, 10, 1.0 / 11.0 + 1e-9), 6);
        assert_eq!(lfu_log_incr(255, 0, 0.0), 255);
        // A log factor of 0 counts every access.
        assert_eq!(lfu_log_incr(100, 0, 0.999), 101);
        // With factor 10, a million accesses get near but not to 255: the
        // expected hits to reach c are about 10 * (c - 5)^2 / 2.
        let mut c = LFU_INIT_VAL;
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            c = lfu_log_incr(c, 10, (x >> 11) as f64 / (1u64 << 53) as f64);
        }
        assert!((120..=160).contains(&c), "{c}");
    }

    #[test]
    fn lfu_counter_decays_per_period() {
        let data = |min: u32, c: u8| (min << 8) | u32::from(c);
        assert_eq!(lfu_decayed(data(10, 20), 10, 1), 20);
        assert_eq!(lfu_decayed(data(10, 20), 13, 1), 17);
        assert_eq!(lfu_decayed(data(10, 20), 13, 2), 19);
        assert_eq!(lfu_decayed(data(10, 20), 500, 1), 0);
        // No decay with a decay time of 0.
        assert_eq!(lfu_decayed(data(10, 20), 500, 0), 20);
        // The 16-bit minute clock wraps.
        assert_eq!(lfu_decayed(data(0xFFFE, 20), 2, 1), 17);
    }

    #[test]
    fn pool_keeps_the_best_sixteen_in_order() {
        let mut pool = EvictionPool::default();
        for i in 0..40u64 {
            pool.offer((i * 7) % 40, 0, format!("k{i}").as_bytes());
        }
        let scores: Vec<u64> = pool.entries.iter().map(|c| c.score).collect();
        assert_eq!(scores, (24..40).collect::<Vec<_>>());
        // Offering a key again replaces its old score.
        pool.offer(100, 0, b"k0");
        pool.offer(101, 0, b"k0");
        assert_eq!(
            pool.entries.iter().filter(|c| &c.key[..] == b"k0").count(),
            1
        );
        assert_eq!(pool.entries.last().map(|c| c.score), Some(101));
    }
}
