//! Point-in-time snapshots of the whole store, taken while writers go on:
//! what `BGSAVE` and the AOF rewrite serialize.
//!
//! # Design: copy-on-write by slot table
//!
//! Redis forks and lets the kernel copy pages the parent writes. Ferrodis
//! does the same at the granularity of its slot tables, without leaving the
//! process:
//!
//! 1. [`Store::snapshot`] publishes a new snapshot epoch. That instant is the
//!    snapshot's point in time.
//! 2. Every path that locks a slot table for an operation compares the
//!    table's epoch with the published one *after* taking the lock (all the
//!    locks, for an operation on several slots). A table not yet captured
//!    for this epoch is copied first (keys, values in the RDB model, TTLs,
//!    access stamps) into the snapshot's side buffer, and marked; only then
//!    does the operation change it. An operation that read the old epoch
//!    holds its locks until it is done, so it is entirely before the
//!    snapshot instant; one that read the new epoch sees its tables
//!    captured as they were before it ran. Either way each operation is
//!    wholly in or wholly out of the snapshot.
//! 3. [`Snapshot::next_slot`] walks every database and slot: it takes the
//!    copy made by a writer if there is one, or copies the table itself
//!    (briefly holding its lock) and marks it.
//!
//! A writer pays at most one copy of one slot table (about 61 keys per
//! million keys in a database) per snapshot, so no client waits on the
//! whole keyspace being serialized; the extra memory is bounded by the
//! tables written to while the walk has not reached them, as with fork's
//! copy-on-write. Reads never copy anything.
//!
//! Operations that span commands (a MULTI/EXEC run by several threads at
//! once) are atomic with respect to a snapshot only if the embedder keeps
//! other writers out while they run, as `ferrodis-node` does with its
//! write gate (`bins/node/src/persist/gate.rs`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::dump::to_rdb;
use crate::keyspace::SlotTable;
use crate::store::Store;
use crate::RdbObject;

/// The store-wide snapshot state every [`crate::keyspace::Keyspace`] checks
/// when it locks a table.
#[derive(Debug, Default)]
pub(crate) struct SnapshotCtl {
    /// The epoch of the snapshot being taken; 0 when there is none.
    active: AtomicU64,
    /// The last epoch handed out.
    last: AtomicU64,
    /// Where writers put the tables they capture, for the active epoch.
    capture: Mutex<Option<Arc<Capture>>>,
}

/// Tables copied by writers before the walk reached them.
#[derive(Debug)]
struct Capture {
    epoch: u64,
    tables: Mutex<HashMap<(usize, u16), Vec<Captured>>>,
}

/// One key as it was at the snapshot instant.
#[derive(Debug)]
struct Captured {
    key: Vec<u8>,
    object: RdbObject,
    expire_at: u64,
    lru: u32,
}

impl SnapshotCtl {
    /// Called with `table` locked (and every other table the operation
    /// needs): copies it into the active snapshot if it has not been yet.
    #[inline]
    pub(crate) fn check(&self, db: usize, table: &mut SlotTable) {
        let epoch = self.active.load(Ordering::Acquire);
        if epoch != 0 && table.snap_epoch != epoch {
            self.capture_for_writer(db, table, epoch);
        }
    }

    /// [`SnapshotCtl::check`] for all the tables an operation on several
    /// has locked, against one reading of the epoch: reading it once per
    /// table, a snapshot published between two readings would get some
    /// tables as they were before the operation (copied now) and others as
    /// they are after it (copied by the walk), tearing the operation.
    pub(crate) fn check_all<'t>(
        &self,
        db: usize,
        tables: impl IntoIterator<Item = &'t mut SlotTable>,
    ) {
        let epoch = self.active.load(Ordering::Acquire);
        if epoch == 0 {
            return;
        }
        for table in tables {
            if table.snap_epoch != epoch {
                self.capture_for_writer(db, table, epoch);
            }
        }
    }

    /// Publishes `epoch` as a snapshot's instant, without a capture.
    #[cfg(test)]
    pub(crate) fn publish_for_test(&self, epoch: u64) {
        self.active.store(epoch, Ordering::Release);
    }

    /// The epoch a new table starts with: one created during a snapshot did
    /// not exist at its instant, so it counts as captured (empty).
    pub(crate) fn current(&self) -> u64 {
        self.active.load(Ordering::Acquire)
    }

    #[cold]
    fn capture_for_writer(&self, db: usize, table: &mut SlotTable, epoch: u64) {
        let entries = copy_table(table);
        table.snap_epoch = epoch;
        let capture = self.capture.lock().clone();
        if let Some(capture) = capture {
            if capture.epoch == epoch {
                capture.tables.lock().insert((db, table.slot()), entries);
            }
        }
    }
}

fn copy_table(table: &SlotTable) -> Vec<Captured> {
    table
        .dict
        .iter()
        .map(|(k, e)| Captured {
            key: k.to_vec(),
            object: to_rdb(&e.value),
            expire_at: e.expire_at,
            lru: e.lru,
        })
        .collect()
}

/// A key of a snapshot, in the RDB model.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotEntry {
    /// The key.
    pub key: Vec<u8>,
    /// The value, with the encoding it had.
    pub object: RdbObject,
    /// Absolute expiry (Unix ms), if the key had a TTL. Keys whose TTL had
    /// passed but that were not yet removed are included, as Redis writes
    /// them; loaders drop them.
    pub expire_at_ms: Option<u64>,
    /// Seconds since the last access, under an LRU `maxmemory-policy`
    /// (Redis writes it then, and only then).
    pub idle_seconds: Option<u64>,
    /// The LFU counter, under an LFU policy.
    pub freq: Option<u8>,
}

/// Why [`Store::snapshot`] could not start one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// Another snapshot of this store is still being taken.
    #[error("a snapshot is already in progress")]
    InProgress,
}

/// A consistent view of the store at the instant it was taken, read one
/// slot table at a time with [`Snapshot::next_slot`] while the store keeps
/// serving. Dropping it ends the snapshot.
///
/// ```
/// use std::sync::Arc;
/// use ferrodis_store::Store;
///
/// let store = Arc::new(Store::new());
/// let db = store.db(0).unwrap();
/// db.set(b"k", b"before", Default::default()).unwrap();
/// let mut snap = store.snapshot().unwrap();
/// db.set(b"k", b"after", Default::default()).unwrap();
/// let mut seen = Vec::new();
/// while let Some((db, entries)) = snap.next_slot() {
///     for e in entries {
///         seen.push((db, e.key, e.object));
///     }
/// }
/// assert_eq!(seen.len(), 1);
/// assert_eq!(seen[0].2.value, ferrodis_store::RdbValue::String(b"before".to_vec()));
/// ```
#[derive(Debug)]
pub struct Snapshot {
    store: Arc<Store>,
    capture: Arc<Capture>,
    /// Databases that existed at the instant, with their sizes then.
    databases: Vec<DbSummary>,
    /// Where the walk is: index into `databases`, and slot.
    cursor: (usize, usize),
    lru_policy: bool,
    lfu_policy: bool,
}

/// A database of a [`Snapshot`]: its index and its sizes at the instant
/// (what RDB's `RESIZEDB` records).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbSummary {
    /// The database index.
    pub index: usize,
    /// Keys, including expired ones not yet removed.
    pub keys: usize,
    /// Keys with a TTL.
    pub expires: usize,
}

impl Store {
    /// Starts a snapshot of every database, as of now.
    ///
    /// # Errors
    ///
    /// [`SnapshotError::InProgress`] while another snapshot of this store
    /// is alive.
    pub fn snapshot(self: &Arc<Self>) -> Result<Snapshot, SnapshotError> {
        let ctl = &self.snapshots;
        let mut slot = ctl.capture.lock();
        if slot.is_some() {
            return Err(SnapshotError::InProgress);
        }
        let epoch = ctl.last.fetch_add(1, Ordering::AcqRel) + 1;
        let capture = Arc::new(Capture {
            epoch,
            tables: Mutex::new(HashMap::new()),
        });
        *slot = Some(Arc::clone(&capture));
        drop(slot);
        // The snapshot instant.
        ctl.active.store(epoch, Ordering::Release);
        // Sizes a moment later: RESIZEDB is only a hint for the loader.
        // Every database that exists, even if empty now: it may have held
        // keys at the instant.
        let databases = self
            .used_dbs()
            .map(|(index, keys)| DbSummary {
                index,
                keys: keys.len(),
                expires: keys.volatile(),
            })
            .collect();
        let policy = self.settings().maxmemory_policy();
        Ok(Snapshot {
            store: Arc::clone(self),
            capture,
            databases,
            cursor: (0, 0),
            lru_policy: policy.is_lru(),
            lfu_policy: policy.is_lfu(),
        })
    }
}

impl Snapshot {
    /// The databases in the snapshot, in the order [`Snapshot::next_slot`]
    /// returns their keys.
    pub fn databases(&self) -> &[DbSummary] {
        &self.databases
    }

    /// The keys of the next non-empty slot table, with its database index;
    /// `None` once every table has been read.
    pub fn next_slot(&mut self) -> Option<(usize, Vec<SnapshotEntry>)> {
        let slots = ferrodis_slots::SLOT_COUNT as usize;
        loop {
            let (di, slot) = self.cursor;
            let summary = *self.databases.get(di)?;
            if slot >= slots {
                self.cursor = (di + 1, 0);
                continue;
            }
            self.cursor = (di, slot + 1);
            let entries = self.take(summary.index, slot);
            if !entries.is_empty() {
                let now = self.store.now_ms();
                let out = entries.into_iter().map(|c| self.convert(c, now)).collect();
                return Some((summary.index, out));
            }
        }
    }

    /// How many slot tables writers have copied so far, because they
    /// changed them before the walk read them: the cost of copy-on-write.
    pub fn tables_copied_by_writers(&self) -> usize {
        self.capture.tables.lock().len()
    }

    /// The keys of slot `slot` of database `db` as of the instant, for
    /// readers that split the walk between threads: each table is handed
    /// out once (a second call returns nothing), and the caller must not
    /// also use [`Snapshot::next_slot`].
    pub fn take_slot(&self, db: usize, slot: usize) -> Vec<SnapshotEntry> {
        let entries = self.take(db, slot);
        if entries.is_empty() {
            return Vec::new();
        }
        let now = self.store.now_ms();
        entries.into_iter().map(|c| self.convert(c, now)).collect()
    }

    /// The table `(db, slot)` as of the instant.
    fn take(&self, db: usize, slot: usize) -> Vec<Captured> {
        let Ok(handle) = self.store.db(db) else {
            return Vec::new();
        };
        let mut table = handle.keys.slot(slot).lock();
        if table.snap_epoch == self.capture.epoch {
            drop(table);
            return self
                .capture
                .tables
                .lock()
                .remove(&(db, slot as u16))
                .unwrap_or_default();
        }
        let entries = copy_table(&table);
        table.snap_epoch = self.capture.epoch;
        entries
    }

    fn convert(&self, c: Captured, now: u64) -> SnapshotEntry {
        let idle_seconds = self
            .lru_policy
            .then(|| crate::evict::lru_idle_ms(crate::evict::lru_clock(now), c.lru) / 1000);
        let freq = self.lfu_policy.then(|| {
            let decay = self.store.settings().lfu_decay_time.load(Ordering::Relaxed);
            crate::evict::lfu_decayed(c.lru, crate::evict::lfu_minutes(now), decay)
        });
        SnapshotEntry {
            key: c.key,
            object: c.object,
            expire_at_ms: (c.expire_at != 0).then_some(c.expire_at),
            idle_seconds,
            freq,
        }
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        let ctl = &self.store.snapshots;
        ctl.active.store(0, Ordering::Release);
        let mut slot = ctl.capture.lock();
        if slot.as_ref().is_some_and(|c| Arc::ptr_eq(c, &self.capture)) {
            *slot = None;
        }
    }
}

thread_local! {
    static CHANGES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Counts one change to a key, for [`changes_on_this_thread`].
#[inline]
pub(crate) fn count_change() {
    CHANGES.with(|c| c.set(c.get().wrapping_add(1)));
}

/// How many key changes (writes, deletions, TTL changes) this thread has
/// made through any store since it started. Embedders read it before and
/// after an operation to learn whether, and how much, it changed the data:
/// Redis' `dirty` counter behind save points and write propagation.
///
/// ```
/// use ferrodis_store::{changes_on_this_thread, Store};
///
/// let store = Store::new();
/// let db = store.db(0).unwrap();
/// let before = changes_on_this_thread();
/// db.set(b"k", b"v", Default::default()).unwrap();
/// db.get(b"k").unwrap();
/// assert_eq!(changes_on_this_thread() - before, 1);
/// ```
pub fn changes_on_this_thread() -> u64 {
    CHANGES.with(std::cell::Cell::get)
}
