//! RDB files: writing a snapshot to disk, loading one into the store.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use parking_lot::Mutex;

use ferrodis_persist::{
    EncodeOptions, RdbEntryRef, RdbFileError, RdbItem, RdbItemRef, RdbReader, RdbWriter,
    StandardAux, WriteOptions,
};
use ferrodis_store::{RestoreOptions, Snapshot};

use crate::log;
use crate::shared::{unix_ms, Shared};

/// Bytes gathered before each write to the file.
const CHUNK: usize = 1 << 16;

/// The RDB file (`dbfilename`, in `dir`, which is the working directory).
pub(crate) fn path(shared: &Shared) -> PathBuf {
    let cfg = shared.config.read();
    PathBuf::from(cfg.get_str("dbfilename").unwrap_or("dump.rdb"))
}

/// How this node writes RDB data, from its configuration.
pub(crate) fn write_options(shared: &Shared) -> WriteOptions {
    let cfg = shared.config.read();
    WriteOptions {
        compression: cfg.get_bool("rdbcompression").unwrap_or(true),
        checksum: cfg.get_bool("rdbchecksum").unwrap_or(true),
        encode: EncodeOptions {
            compression: cfg.get_bool("rdbcompression").unwrap_or(true),
            list_max_listpack_size: cfg.get_i64("list-max-listpack-size").unwrap_or(-2),
        },
    }
}

static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// Slot tables per unit of work when a snapshot is encoded in parallel.
const UNIT_SLOTS: usize = 128;
/// How far encoding threads may run ahead of the writer, in units.
const WINDOW: usize = 64;

/// Serializes `snap` as a whole RDB file into `out`. Slot tables are
/// encoded on several threads (Redis uses one) and written in order, so
/// the file is the same as a sequential walk would write.
pub(crate) fn serialize(
    shared: &Shared,
    snap: Snapshot,
    aof_base: bool,
    background: bool,
    out: &mut impl Write,
) -> io::Result<()> {
    serialize_with(shared, snap, aof_base, background, None, out)
}

/// [`serialize`], with the replication fields (`repl-stream-db`,
/// `repl-id`, `repl-offset`) a payload for a replica carries.
pub(crate) fn serialize_with(
    shared: &Shared,
    snap: Snapshot,
    aof_base: bool,
    background: bool,
    repl: Option<ferrodis_persist::ReplAux<'_>>,
    out: &mut impl Write,
) -> io::Result<()> {
    let opts = write_options(shared);
    let mut buf = Vec::with_capacity(CHUNK * 2);
    let mut w = RdbWriter::new(opts, &mut buf);
    w.standard_aux(
        &mut buf,
        &StandardAux {
            redis_ver: crate::config::REDIS_VERSION,
            ctime: (unix_ms() / 1000) as i64,
            used_mem: crate::alloc::used_memory() as u64,
            repl,
            aof_base,
        },
    );
    let dbs = snap.databases().to_vec();
    let per_db = ferrodis_slots::SLOT_COUNT as usize / UNIT_SLOTS;
    let total = dbs.len() * per_db;
    // `rdb-key-save-delay`: microseconds per key, for tests that need a
    // long save.
    let delay = shared
        .config
        .read()
        .get_i64("rdb-key-save-delay")
        .unwrap_or(0);
    let cancel = &shared.persist.bgsave_cancel;
    let threads = encoding_threads(shared, background);
    let next = AtomicUsize::new(0);
    let state = parking_lot::Mutex::new(Progress {
        done: std::collections::HashMap::new(),
        consumed: 0,
        stop: false,
    });
    let cv = parking_lot::Condvar::new();
    let snap = &snap;
    let encode = |unit: usize| -> Vec<u8> {
        let mut bytes = Vec::new();
        let Some(db) = dbs.get(unit / per_db) else {
            return bytes;
        };
        let first = (unit % per_db) * UNIT_SLOTS;
        let mut frag = RdbWriter::fragment(opts);
        for slot in first..first + UNIT_SLOTS {
            let entries = snap.take_slot(db.index, slot);
            if delay > 0 && !entries.is_empty() {
                std::thread::sleep(std::time::Duration::from_micros(
                    delay as u64 * entries.len() as u64,
                ));
            }
            for e in &entries {
                frag.entry(
                    &mut bytes,
                    &e.key,
                    &e.object,
                    e.expire_at_ms,
                    e.idle_seconds,
                    e.freq,
                );
            }
        }
        bytes
    };
    std::thread::scope(|scope| -> io::Result<()> {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let unit = {
                    let mut st = state.lock();
                    loop {
                        if st.stop {
                            return;
                        }
                        let u = next.load(Ordering::Relaxed);
                        if u >= total {
                            return;
                        }
                        if u < st.consumed + WINDOW {
                            next.store(u + 1, Ordering::Relaxed);
                            break u;
                        }
                        cv.wait(&mut st);
                    }
                };
                let bytes = encode(unit);
                state.lock().done.insert(unit, bytes);
                cv.notify_all();
            });
        }
        let result = (|| {
            let mut current = None;
            for unit in 0..total {
                if cancel.load(Ordering::Relaxed) {
                    return Err(io::Error::other("save aborted"));
                }
                let bytes = {
                    let mut st = state.lock();
                    loop {
                        if let Some(b) = st.done.remove(&unit) {
                            st.consumed = unit + 1;
                            break b;
                        }
                        cv.wait(&mut st);
                    }
                };
                cv.notify_all();
                if bytes.is_empty() {
                    continue;
                }
                let di = unit / per_db;
                if current != Some(di) {
                    if let Some(d) = dbs.get(di) {
                        w.select_db(&mut buf, d.index as u64, d.keys as u64, d.expires as u64);
                    }
                    current = Some(di);
                }
                w.append_encoded(&mut buf, &bytes);
                if buf.len() >= CHUNK {
                    out.write_all(&buf)?;
                    buf.clear();
                }
            }
            Ok(())
        })();
        state.lock().stop = true;
        cv.notify_all();
        result
    })?;
    w.finish(&mut buf);
    out.write_all(&buf)
}

/// Encoded units waiting to be written, and how far the writer got.
struct Progress {
    done: std::collections::HashMap<usize, Vec<u8>>,
    consumed: usize,
    stop: bool,
}

/// Writes `snap` to `path` through a temporary file in the same directory,
/// synced and renamed into place, as Redis does: a crash leaves the old
/// file or the new one, never half of one.
pub(crate) fn write(
    shared: &Shared,
    snap: Snapshot,
    path: &Path,
    aof_base: bool,
    background: bool,
    repl: Option<crate::repl::SaveInfo>,
) -> io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    let tmp_name = format!(
        "temp-{}-{}.rdb",
        std::process::id(),
        TEMP_SEQ.fetch_add(1, Ordering::Relaxed)
    );
    let tmp = dir.map_or_else(|| PathBuf::from(&tmp_name), |d| d.join(&tmp_name));
    let result = (|| {
        let file = File::create(&tmp)?;
        let mut w = io::BufWriter::with_capacity(CHUNK, file);
        let replid = repl.map(|r| r.replid);
        let aux = match (repl, &replid) {
            (Some(r), Some(id)) => Some(ferrodis_persist::ReplAux {
                stream_db: r.stream_db as i64,
                id: id.as_str(),
                offset: r.offset as i64,
            }),
            _ => None,
        };
        serialize_with(shared, snap, aof_base, background, aux, &mut w)?;
        let file = w.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        sync_dir(dir.unwrap_or(Path::new(".")));
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Makes a rename durable (best effort: some filesystems refuse).
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Why an RDB file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LoadError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("{0}")]
    Format(#[from] RdbFileError),
    #[error("database {0} is out of range")]
    Db(u64),
}

/// Keys per batch handed to the inserting threads.
const LOAD_BATCH: usize = 512;

/// Loads RDB bytes into the store (replacing keys of the same name).
/// Expired keys are skipped, as a primary does. Returns (keys loaded, keys
/// expired, where the RDB data ended: an AOF may go on after it).
///
/// This thread only locates the keys in the file (following lengths, which
/// costs little) and checks its structure and checksum; other threads, one
/// per core, decode the values and insert them, so decoding runs on every
/// core and each value is allocated on the thread that inserts it. Keys of
/// different slots do not contend. A value found corrupt stops the load
/// with the error at the smallest offset.
pub(crate) fn load_bytes(shared: &Shared, bytes: &[u8]) -> Result<(u64, u64, usize), LoadError> {
    let mut reader = RdbReader::new(bytes)?;
    let now = unix_ms();
    let loaded = AtomicU64::new(0);
    // The offset of the first corrupt value found yet (MAX: none). Batches
    // after it are skipped; batches before it are still decoded, so the
    // error reported is the first in the file whatever thread finds it.
    let failed_at = AtomicUsize::new(usize::MAX);
    let first_error: Mutex<Option<RdbFileError>> = Mutex::new(None);
    let mut expired = 0u64;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    let (tx, rx) = crossbeam::channel::bounded::<(usize, Vec<RdbEntryRef<'_>>)>(threads * 4);
    let store = &shared.store;
    let delay = KeyLoadDelay(shared.config.read().get_i64("key-load-delay").unwrap_or(0));
    let loading = &shared.persist.loading;
    let result = std::thread::scope(|scope| -> Result<(), LoadError> {
        for _ in 0..threads {
            let rx = rx.clone();
            let (loaded, failed_at, first_error) = (&loaded, &failed_at, &first_error);
            scope.spawn(move || {
                for (db, batch) in rx {
                    let start = batch.first().map_or(0, RdbEntryRef::offset);
                    if start > failed_at.load(Ordering::Relaxed) {
                        continue;
                    }
                    let (n, error) = insert_batch(store, db, batch, delay);
                    loaded.fetch_add(n, Ordering::Relaxed);
                    if let Some(e) = error {
                        let at = e.offset().unwrap_or(usize::MAX);
                        failed_at.fetch_min(at, Ordering::Relaxed);
                        let mut first = first_error.lock();
                        if first
                            .as_ref()
                            .map_or(true, |f| at < f.offset().unwrap_or(usize::MAX))
                        {
                            *first = Some(e);
                        }
                    }
                }
            });
        }
        drop(rx);
        let mut db = 0usize;
        let mut batch = Vec::with_capacity(LOAD_BATCH);
        let send = |db: usize, batch: Vec<_>| {
            // The receivers live until this scope ends.
            let _ = tx.send((db, batch));
        };
        while let Some(item) = reader.next_item_ref()? {
            if failed_at.load(Ordering::Relaxed) < reader.offset() {
                break;
            }
            match item {
                RdbItemRef::Other(RdbItem::SelectDb(n)) => {
                    let index = usize::try_from(n)
                        .ok()
                        .filter(|&i| i < store.databases())
                        .ok_or(LoadError::Db(n))?;
                    if !batch.is_empty() {
                        send(db, std::mem::take(&mut batch));
                    }
                    db = index;
                }
                RdbItemRef::Other(RdbItem::ResizeDb { keys, .. }) => {
                    if let Ok(d) = store.db(db) {
                        d.reserve_keys(keys);
                    }
                }
                RdbItemRef::Other(_) => {}
                RdbItemRef::Entry(e) => {
                    if e.expire_at_ms.is_some_and(|at| at <= now) {
                        expired += 1;
                        continue;
                    }
                    batch.push(e);
                    if batch.len() >= LOAD_BATCH {
                        loading.progress(reader.offset() as u64);
                        send(
                            db,
                            std::mem::replace(&mut batch, Vec::with_capacity(LOAD_BATCH)),
                        );
                    }
                }
            }
        }
        if !batch.is_empty() {
            send(db, batch);
        }
        drop(tx);
        Ok(())
    });
    if let Some(e) = first_error.into_inner() {
        return Err(e.into());
    }
    result?;
    Ok((loaded.load(Ordering::Relaxed), expired, reader.offset()))
}

/// Loads the RDB file at `path` if it exists. `Ok(false)` when there is no
/// file.
pub(crate) fn load_file(shared: &Shared, path: &Path) -> Result<bool, LoadError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    let start = std::time::Instant::now();
    let (loaded, expired, _) = load_bytes(shared, &bytes)?;
    let p = &shared.persist;
    p.last_load.0.store(loaded, Ordering::Relaxed);
    p.last_load.1.store(expired, Ordering::Relaxed);
    log::notice(&format!(
        "Done loading RDB, keys loaded: {loaded}, keys expired: {expired}."
    ));
    log::notice(&format!(
        "DB loaded from disk: {:.3} seconds",
        start.elapsed().as_secs_f64()
    ));
    Ok(true)
}

/// Threads that encode a snapshot: every core for a foreground SAVE (the
/// server waits anyway), the cores the worker threads leave free (at least
/// one) for BGSAVE and AOF rewrites, so that clients are not starved.
fn encoding_threads(shared: &Shared, background: bool) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let free = if background {
        cores.saturating_sub(shared.workers.read().len().max(1))
    } else {
        cores
    };
    free.clamp(1, 4)
}

/// Decodes the keys located in the file and inserts them into database
/// `db`; returns how many went in, and the first corrupt value's error
/// (the keys after it are not inserted).
fn insert_batch(
    store: &ferrodis_store::Store,
    db: usize,
    batch: Vec<RdbEntryRef<'_>>,
    delay: KeyLoadDelay,
) -> (u64, Option<RdbFileError>) {
    let Ok(db) = store.db(db) else {
        return (0, None);
    };
    let mut n = 0;
    for e in batch {
        delay.wait();
        let opts = RestoreOptions {
            replace: true,
            expire_at: e.expire_at_ms,
            idle_seconds: e.idle_seconds,
            freq: e.freq,
        };
        if let Some(value) = e.plain_string() {
            db.load_string(&e.key, value, opts);
            n += 1;
            continue;
        }
        // An empty collection is skipped, as Redis skips empty keys; so is
        // a value the store cannot hold.
        match e.decode() {
            Ok(Some(object)) => {
                if db.load(&e.key, object, opts).is_ok() {
                    n += 1;
                }
            }
            Ok(None) => {}
            Err(error) => return (n, Some(error)),
        }
    }
    (n, None)
}

/// `key-load-delay` (a testing knob, as in Redis): microseconds to wait
/// before each key is loaded; a negative -N waits 1 µs once every N keys
/// on average.
#[derive(Debug, Clone, Copy)]
struct KeyLoadDelay(i64);

impl KeyLoadDelay {
    fn wait(self) {
        let micros = match self.0 {
            0 => return,
            n if n > 0 => n.unsigned_abs(),
            n => u64::from(crate::shared::random_u64() % n.unsigned_abs() == 0),
        };
        if micros > 0 {
            std::thread::sleep(std::time::Duration::from_micros(micros));
        }
    }
}

/// The replication aux fields of RDB data (`repl-stream-db`, `repl-id`,
/// `repl-offset`), those present (aux fields come before the first
/// database).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct ReplFields {
    pub(crate) stream_db: Option<i64>,
    pub(crate) replid: Option<ferrodis_repl::ReplId>,
    pub(crate) offset: Option<i64>,
}

pub(crate) fn repl_fields(bytes: &[u8]) -> ReplFields {
    let mut out = ReplFields::default();
    let Ok(mut reader) = RdbReader::new(bytes) else {
        return out;
    };
    let number = |v: &[u8]| std::str::from_utf8(v).ok()?.parse::<i64>().ok();
    while let Ok(Some(item)) = reader.next_item_ref() {
        match item {
            RdbItemRef::Other(RdbItem::Aux { key, value }) => {
                if key == ferrodis_persist::AUX_REPL_STREAM_DB.as_bytes() {
                    out.stream_db = number(&value);
                } else if key == ferrodis_persist::AUX_REPL_ID.as_bytes() {
                    out.replid = ferrodis_repl::ReplId::parse(&value);
                } else if key == ferrodis_persist::AUX_REPL_OFFSET.as_bytes() {
                    out.offset = number(&value);
                }
            }
            RdbItemRef::Other(RdbItem::SelectDb(_)) | RdbItemRef::Entry(_) => break,
            RdbItemRef::Other(_) => {}
        }
    }
    out
}

/// The `repl-stream-db` of RDB data, when valid.
pub(crate) fn stream_db(bytes: &[u8]) -> Option<usize> {
    usize::try_from(repl_fields(bytes).stream_db?).ok()
}

/// The replication fields of the RDB file at `path` (read from its first
/// bytes, where aux fields are).
pub(crate) fn repl_fields_of_file(path: &Path) -> ReplFields {
    use std::io::Read;
    let mut head = Vec::new();
    if let Ok(f) = File::open(path) {
        let _ = f.take(64 * 1024).read_to_end(&mut head);
    }
    repl_fields(&head)
}
