//! `Store`: the databases, the clock, statistics and background upkeep.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

use crate::error::StoreError;
use crate::evict::{EvictionPolicy, EvictionPool, MemoryProbe};
use crate::keyspace::{Keyspace, SlotTable};

/// Where the store reads the time from: the system clock, or a clock the
/// caller moves (simulations, tests).
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }
}

/// A clock that only moves when told to.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// A clock reading `ms`.
    pub fn new(ms: u64) -> ManualClock {
        ManualClock(AtomicU64::new(ms))
    }

    /// Moves the clock forward by `ms`.
    pub fn advance(&self, ms: u64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }

    /// Sets the clock.
    pub fn set(&self, ms: u64) {
        self.0.store(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl<C: Clock> Clock for Arc<C> {
    fn now_ms(&self) -> u64 {
        (**self).now_ms()
    }
}

/// Counters `INFO stats` reports.
#[derive(Debug, Default)]
pub struct Stats {
    /// Keys removed because their TTL passed.
    pub expired_keys: AtomicU64,
    /// Keys removed to honour `maxmemory`.
    pub evicted_keys: AtomicU64,
    /// Lookups of existing keys.
    pub keyspace_hits: AtomicU64,
    /// Lookups of missing keys.
    pub keyspace_misses: AtomicU64,
}

impl Stats {
    pub(crate) fn expired(&self) {
        self.expired_keys.fetch_add(1, Ordering::Relaxed);
    }
}

/// Settings the store consults on every operation.
#[derive(Debug)]
pub struct Settings {
    /// `proto-max-bulk-len`: the longest string a command may build.
    pub proto_max_bulk_len: AtomicUsize,
    /// Enabled keyspace event classes (`notify-keyspace-events`, see
    /// [`crate::notify::parse_flags`]).
    pub notify_mask: std::sync::atomic::AtomicU32,
    /// `hash-max-listpack-entries`: the most fields a listpack hash holds.
    pub hash_max_listpack_entries: AtomicUsize,
    /// `hash-max-listpack-value`: the longest field or value (bytes) a
    /// listpack hash holds.
    pub hash_max_listpack_value: AtomicUsize,
    /// `set-max-intset-entries`: the most members an intset holds.
    pub set_max_intset_entries: AtomicUsize,
    /// `zset-max-listpack-entries`: the most members of a listpack-encoded
    /// sorted set.
    pub zset_max_listpack_entries: AtomicUsize,
    /// `zset-max-listpack-value`: the longest member (bytes) of a
    /// listpack-encoded sorted set.
    pub zset_max_listpack_value: AtomicUsize,
    /// `maxmemory`: the memory probe's reading above which keys are evicted
    /// (0: no limit).
    pub maxmemory: AtomicU64,
    /// `hll-sparse-max-bytes`: the longest sparse HyperLogLog; one that
    /// would grow beyond it becomes dense.
    pub hll_sparse_max_bytes: AtomicUsize,
    /// `maxmemory-samples`: keys sampled per database per eviction round.
    pub maxmemory_samples: AtomicUsize,
    /// `lfu-log-factor`: how slowly the LFU counter grows.
    pub lfu_log_factor: AtomicU32,
    /// `lfu-decay-time`: minutes per decrement of an idle key's LFU counter
    /// (0: no decay).
    pub lfu_decay_time: AtomicU32,
    /// `maxmemory-policy`, as [`EvictionPolicy::code`].
    maxmemory_policy: AtomicU8,
    /// Replaying a log of writes (an AOF): time stands still before every
    /// TTL, so no key expires while it loads (a write replayed after the
    /// key's TTL passed finds the key as the original write did) and a TTL
    /// already in the past is set rather than deleting the key; the
    /// active expire cycle pauses. Keys expire as usual once it is off.
    pub replaying: std::sync::atomic::AtomicBool,
}

impl Settings {
    /// `maxmemory-policy`.
    pub fn maxmemory_policy(&self) -> EvictionPolicy {
        EvictionPolicy::from_code(self.maxmemory_policy.load(Ordering::Relaxed))
    }

    /// Sets `maxmemory-policy`; takes effect at the next access and
    /// eviction (keys keep the LRU or LFU data they have until then, as in
    /// Redis).
    pub fn set_maxmemory_policy(&self, policy: EvictionPolicy) {
        self.maxmemory_policy
            .store(policy.code(), Ordering::Relaxed);
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            proto_max_bulk_len: AtomicUsize::new(512 * 1024 * 1024),
            notify_mask: std::sync::atomic::AtomicU32::new(0),
            hash_max_listpack_entries: AtomicUsize::new(128),
            hash_max_listpack_value: AtomicUsize::new(64),
            set_max_intset_entries: AtomicUsize::new(512),
            zset_max_listpack_entries: AtomicUsize::new(128),
            zset_max_listpack_value: AtomicUsize::new(64),
            maxmemory: AtomicU64::new(0),
            hll_sparse_max_bytes: AtomicUsize::new(3000),
            maxmemory_samples: AtomicUsize::new(5),
            lfu_log_factor: AtomicU32::new(10),
            lfu_decay_time: AtomicU32::new(1),
            maxmemory_policy: AtomicU8::new(EvictionPolicy::NoEviction.code()),
            replaying: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

/// How to build a [`Store`].
#[derive(Debug, Clone)]
pub struct StoreBuilder {
    databases: usize,
    clock: Option<Arc<dyn Clock>>,
}

impl Default for StoreBuilder {
    fn default() -> Self {
        StoreBuilder {
            databases: 16,
            clock: None,
        }
    }
}

impl StoreBuilder {
    /// The number of logical databases (`databases`, default 16; cluster
    /// mode uses 1).
    pub fn databases(mut self, n: usize) -> Self {
        self.databases = n.max(1);
        self
    }

    /// The clock to read time from (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Builds the store.
    pub fn build(self) -> Store {
        Store {
            dbs: (0..self.databases).map(|_| OnceLock::new()).collect(),
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            stats: Stats::default(),
            settings: Settings::default(),
            expire_cursor: Mutex::new(0),
            rng: Mutex::new(0x9E37_79B9_7F4A_7C15),
            memory_probe: OnceLock::new(),
            evict_pool: Mutex::new(EvictionPool::default()),
            next_evict_db: AtomicUsize::new(0),
            notifier: OnceLock::new(),
            snapshots: Arc::default(),
        }
    }
}

/// The embeddable keyspace: logical databases of keys, thread-safe.
///
/// Share it as `Arc<Store>`; every method takes `&self`. Operate on a
/// database through [`Store::db`].
///
/// ```
/// use ferrodis_store::Store;
///
/// let store = Store::new();
/// let db = store.db(0).unwrap();
/// db.set(b"greeting", b"hello", Default::default()).unwrap();
/// assert_eq!(db.get(b"greeting").unwrap(), Some(b"hello".to_vec()));
/// ```
#[derive(Debug)]
pub struct Store {
    pub(crate) dbs: Box<[OnceLock<Keyspace>]>,
    clock: Arc<dyn Clock>,
    pub(crate) stats: Stats,
    settings: Settings,
    /// Where the active expire cycle resumes: database * 16384 + slot.
    expire_cursor: Mutex<usize>,
    rng: Mutex<u64>,
    /// The embedder's memory gauge, read against `maxmemory`.
    pub(crate) memory_probe: OnceLock<MemoryProbe>,
    /// The best eviction candidates so far; its lock also makes evicting
    /// threads take turns.
    pub(crate) evict_pool: Mutex<EvictionPool>,
    /// The database the random policies evict from next.
    pub(crate) next_evict_db: AtomicUsize,
    notifier: OnceLock<Arc<dyn crate::notify::Notify>>,
    /// Snapshot state (`snapshot` module).
    pub(crate) snapshots: Arc<crate::snapshot::SnapshotCtl>,
}

impl std::fmt::Debug for Keyspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyspace").finish_non_exhaustive()
    }
}

impl Default for Store {
    fn default() -> Self {
        Store::new()
    }
}

/// A handle on one database of a [`Store`], with the time of the command it
/// serves: every operation through one handle sees the same "now", as Redis
/// freezes time for the duration of a command.
#[derive(Debug, Clone, Copy)]
pub struct Db<'s> {
    pub(crate) store: &'s Store,
    pub(crate) keys: &'s Keyspace,
    pub(crate) index: usize,
    pub(crate) now: u64,
}

impl Store {
    /// A store with 16 databases on the system clock.
    pub fn new() -> Store {
        StoreBuilder::default().build()
    }

    /// A builder for other settings.
    pub fn builder() -> StoreBuilder {
        StoreBuilder::default()
    }

    /// The number of databases.
    pub fn databases(&self) -> usize {
        self.dbs.len()
    }

    /// Database `index`, or `DbIndexOutOfRange`.
    pub fn db(&self, index: usize) -> Result<Db<'_>, StoreError> {
        let slot = self.dbs.get(index).ok_or(StoreError::DbIndexOutOfRange)?;
        // The tables first: creating them takes a while, and "now" must be
        // read after that, not before.
        let keys = slot.get_or_init(|| Keyspace::new(index, Arc::clone(&self.snapshots)));
        Ok(Db {
            store: self,
            keys,
            index,
            now: self.operation_time(),
        })
    }

    /// Database `index` at a given time (Unix ms), for callers that freeze
    /// time across several operations (MULTI/EXEC).
    pub fn db_at(&self, index: usize, now_ms: u64) -> Result<Db<'_>, StoreError> {
        let mut db = self.db(index)?;
        db.now = now_ms;
        Ok(db)
    }

    /// The time a [`Db`] handle taken now works at (Unix ms): the clock's,
    /// or 0 while replaying (see [`Settings::replaying`]). An embedder that
    /// freezes time for one command reads it once and passes it to
    /// [`Store::db_at`].
    pub fn operation_time(&self) -> u64 {
        if self.settings.replaying.load(Ordering::Relaxed) {
            0
        } else {
            self.clock.now_ms()
        }
    }

    /// The current time, by the store's clock (Unix ms).
    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Settings consulted on every operation.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Installs the sink for keyspace events (once; later calls are
    /// ignored and return false). Events flow only for the classes enabled
    /// in [`Settings::notify_mask`].
    pub fn set_notifier(&self, sink: Arc<dyn crate::notify::Notify>) -> bool {
        self.notifier.set(sink).is_ok()
    }

    pub(crate) fn notifier(&self) -> Option<&Arc<dyn crate::notify::Notify>> {
        self.notifier.get()
    }

    /// Databases that have been used so far, with their index.
    pub(crate) fn used_dbs(&self) -> impl Iterator<Item = (usize, &Keyspace)> {
        self.dbs
            .iter()
            .enumerate()
            .filter_map(|(i, d)| d.get().map(|k| (i, k)))
    }

    /// Per database: `(index, keys, keys with a TTL)`, for databases that
    /// hold keys (INFO keyspace).
    pub fn keyspace_info(&self) -> Vec<(usize, usize, usize)> {
        self.used_dbs()
            .map(|(i, k)| (i, k.len(), k.volatile()))
            .filter(|(_, n, _)| *n > 0)
            .collect()
    }

    /// Per database in use: `(index, keys, overhead bytes)`, where the
    /// overhead is what its tables use beyond the keys and values they hold
    /// (the 16384 slot tables, bucket arrays, per-node hash and link), for
    /// `INFO memory` and `MEMORY STATS`. Locks every table of every used
    /// database in turn.
    pub fn memory_overhead(&self) -> Vec<(usize, usize, usize)> {
        self.used_dbs()
            .map(|(i, keys)| {
                let (mut n, mut bytes) = (0, keys.fixed_size());
                for s in 0..keys.slot_count() {
                    let table = keys.slot(s).lock();
                    n += table.dict.len();
                    bytes += table.dict.memory_usage().saturating_sub(
                        table.dict.len()
                            * (std::mem::size_of::<crate::SmallBytes>()
                                + std::mem::size_of::<crate::value::Entry>()),
                    );
                }
                (i, n, bytes)
            })
            .collect()
    }

    /// Removes every key of every database (FLUSHALL). Returns how many.
    pub fn flush_all(&self) -> usize {
        self.used_dbs().map(|(_, k)| flush(k)).sum()
    }

    /// Swaps the contents of two databases (SWAPDB).
    pub fn swap_dbs(&self, a: usize, b: usize) -> Result<(), StoreError> {
        let (ka, kb) = (self.db(a)?.keys, self.db(b)?.keys);
        if a == b {
            return Ok(());
        }
        // Lock both tables of each slot, lower database first.
        let (first, second) = if a < b { (ka, kb) } else { (kb, ka) };
        for s in 0..first.slot_count() {
            let mut x = first.lock_slot(s);
            let mut y = second.lock_slot(s);
            std::mem::swap(&mut x.dict, &mut y.dict);
            std::mem::swap(&mut x.volatile, &mut y.volatile);
            x.sync_occupancy();
            y.sync_occupancy();
            // Touch keys that exist in either database, before or after.
            let other = std::mem::take(&mut y.dict);
            x.touch_present(Some(&other));
            y.dict = other;
            let other = std::mem::take(&mut x.dict);
            y.touch_present(Some(&other));
            x.dict = other;
        }
        crate::snapshot::count_change();
        Ok(())
    }

    /// A pseudo-random number (xorshift), for sampling.
    pub(crate) fn random(&self) -> u64 {
        let mut s = self.rng.lock();
        let mut x = *s;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *s = x;
        x
    }

    /// One run of the active expire cycle, as Redis runs it `hz` times a
    /// second: visit slots holding keys with a TTL, sample up to 20 of those
    /// keys in each, delete the expired ones, and sample the same slot again
    /// while more than a quarter of a sample had expired. Stops after
    /// `budget`. Returns how many keys were removed.
    pub fn active_expire_cycle(&self, budget: Duration) -> usize {
        if self.settings.replaying.load(Ordering::Relaxed) {
            return 0;
        }
        let start = Instant::now();
        let dbs: Vec<(usize, &Keyspace)> = self.used_dbs().collect();
        if dbs.is_empty() {
            return 0;
        }
        let slots_per_db = ferrodis_slots::SLOT_COUNT as usize;
        let total = self.dbs.len() * slots_per_db;
        let mut cursor = *self.expire_cursor.lock();
        let mut removed = 0;
        let mut visited = 0;
        while visited < total {
            let (db, from) = (cursor / slots_per_db, cursor % slots_per_db);
            // Only slots holding keys with a TTL are locked: locking a table
            // for writing during a snapshot copies it.
            let next = dbs
                .iter()
                .find(|(i, _)| *i == db)
                .and_then(|(_, keys)| Some((keys, keys.occupancy().volatile.next_from(from)?)));
            let Some((keys, slot)) = next else {
                // Nothing more in this database: on to the next one.
                visited += slots_per_db - from;
                cursor = (db + 1) * slots_per_db % total;
                continue;
            };
            visited += slot - from + 1;
            cursor = (db * slots_per_db + slot + 1) % total;
            let now = self.clock.now_ms();
            let mut deleted = Vec::new();
            let mut table = keys.lock_slot(slot);
            while table.volatile > 0 {
                let before = deleted.len();
                let sampled = expire_sample(&mut table, now, || self.random(), &mut deleted);
                let n = deleted.len() - before;
                if n * 4 <= sampled {
                    break;
                }
            }
            drop(table);
            removed += deleted.len();
            if !deleted.is_empty() {
                let handle = self.db(db);
                for key in &deleted {
                    self.stats.expired();
                    if let Ok(handle) = &handle {
                        handle.notify(crate::notify::class::EXPIRED, "expired", key);
                    }
                }
            }
            if start.elapsed() >= budget {
                break;
            }
        }
        *self.expire_cursor.lock() = cursor;
        removed
    }
}

/// Samples up to 20 keys of `table` that have a TTL and deletes the expired
/// ones, appending them to `deleted`. Returns how many keys with a TTL it
/// looked at.
fn expire_sample(
    table: &mut SlotTable,
    now: u64,
    mut rng: impl FnMut() -> u64,
    deleted: &mut Vec<Vec<u8>>,
) -> usize {
    let sample: Vec<(Vec<u8>, bool)> = table
        .dict
        .sample(20, &mut rng)
        .into_iter()
        .filter(|(_, e)| e.expire_at != 0)
        .map(|(k, e)| (k.to_vec(), e.is_expired(now)))
        .collect();
    if sample.is_empty() && table.volatile > 0 {
        // No volatile key in the sample: look at all of them (the slot is
        // small next to 20 samples per volatile key).
        let expired: Vec<Vec<u8>> = table
            .dict
            .iter()
            .filter(|(_, e)| e.is_expired(now))
            .map(|(k, _)| k.to_vec())
            .collect();
        let sampled = table.volatile;
        for key in expired {
            table.remove(&key);
            deleted.push(key);
        }
        return sampled;
    }
    for (key, expired) in sample.iter() {
        if *expired && table.remove(key).is_some() {
            deleted.push(key.clone());
        }
    }
    sample.len()
}

fn flush(keys: &Keyspace) -> usize {
    (0..keys.slot_count())
        .map(|s| keys.lock_slot(s).clear())
        .sum()
}

impl Db<'_> {
    /// This database's index.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The time operations through this handle use (Unix ms).
    pub fn now_ms(&self) -> u64 {
        self.now
    }

    /// The number of keys (DBSIZE).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the database holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes every key (FLUSHDB). Returns how many.
    pub fn flush(&self) -> usize {
        flush(self.keys)
    }
}
