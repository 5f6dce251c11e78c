//! RDB files: writing a snapshot to disk, loading one into the store.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use ferrodis_persist::{
    EncodeOptions, RdbFileError, RdbItem, RdbReader, RdbWriter, StandardAux, WriteOptions,
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

/// Serializes `snap` as a whole RDB file into `out`, in chunks.
pub(crate) fn serialize(
    shared: &Shared,
    mut snap: Snapshot,
    aof_base: bool,
    out: &mut impl Write,
) -> io::Result<()> {
    let mut buf = Vec::with_capacity(CHUNK * 2);
    let mut w = RdbWriter::new(write_options(shared), &mut buf);
    w.standard_aux(
        &mut buf,
        &StandardAux {
            redis_ver: crate::config::REDIS_VERSION,
            ctime: (unix_ms() / 1000) as i64,
            used_mem: crate::alloc::used_memory() as u64,
            repl: None,
            aof_base,
        },
    );
    let dbs = snap.databases().to_vec();
    let mut current = None;
    // `rdb-key-save-delay`: microseconds per key, for tests that need a
    // long save.
    let delay = shared
        .config
        .read()
        .get_i64("rdb-key-save-delay")
        .unwrap_or(0);
    let cancel = &shared.persist.bgsave_cancel;
    while let Some((db, entries)) = snap.next_slot() {
        if cancel.load(Ordering::Relaxed) {
            return Err(io::Error::other("save aborted"));
        }
        if delay > 0 {
            std::thread::sleep(std::time::Duration::from_micros(
                delay as u64 * entries.len() as u64,
            ));
        }
        if current != Some(db) {
            let (keys, expires) = dbs
                .iter()
                .find(|d| d.index == db)
                .map_or((0, 0), |d| (d.keys as u64, d.expires as u64));
            w.select_db(&mut buf, db as u64, keys, expires);
            current = Some(db);
        }
        for e in &entries {
            w.entry(
                &mut buf,
                &e.key,
                &e.object,
                e.expire_at_ms,
                e.idle_seconds,
                e.freq,
            );
        }
        if buf.len() >= CHUNK {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    w.finish(&mut buf);
    out.write_all(&buf)
}

/// Writes `snap` to `path` through a temporary file in the same directory,
/// synced and renamed into place, as Redis does: a crash leaves the old
/// file or the new one, never half of one.
pub(crate) fn write(
    shared: &Shared,
    snap: Snapshot,
    path: &Path,
    aof_base: bool,
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
        serialize(shared, snap, aof_base, &mut w)?;
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

/// Loads RDB bytes into the store (replacing keys of the same name).
/// Expired keys are skipped, as a primary does. Returns (keys loaded, keys
/// expired, where the RDB data ended: an AOF may go on after it).
pub(crate) fn load_bytes(shared: &Shared, bytes: &[u8]) -> Result<(u64, u64, usize), LoadError> {
    let mut reader = RdbReader::new(bytes)?;
    let now = unix_ms();
    let mut db = shared.store.db(0).map_err(|_| LoadError::Db(0))?;
    let (mut loaded, mut expired) = (0u64, 0u64);
    while let Some(item) = reader.next_item()? {
        match item {
            RdbItem::SelectDb(n) => {
                db = usize::try_from(n)
                    .ok()
                    .and_then(|i| shared.store.db(i).ok())
                    .ok_or(LoadError::Db(n))?;
            }
            RdbItem::Entry(e) => {
                if e.expire_at_ms.is_some_and(|at| at <= now) {
                    expired += 1;
                    continue;
                }
                let opts = RestoreOptions {
                    replace: true,
                    expire_at: e.expire_at_ms,
                    idle_seconds: e.idle_seconds,
                    freq: e.freq,
                };
                // A value the store cannot hold (an empty collection, say)
                // is skipped, as Redis skips empty keys.
                if db.restore(&e.key, e.object, opts).is_ok() {
                    loaded += 1;
                }
            }
            RdbItem::Aux { .. } | RdbItem::ResizeDb { .. } => {}
        }
    }
    Ok((loaded, expired, reader.offset()))
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
