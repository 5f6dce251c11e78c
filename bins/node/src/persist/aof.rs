//! The multi-part append-only file in the node: writes are encoded into a
//! buffer as they run, written (and, under `appendfsync always`, synced)
//! before their replies leave, synced once a second by a background thread
//! under `everysec`; `BGREWRITEAOF` starts a new incremental file and writes
//! a new base from a store snapshot taken at that same instant.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrodis_persist::{
    encode_command, encode_select, encode_timestamp_annotation, starts_with_rdb_preamble, AofError,
    AofReader, Manifest, RdbValue,
};
use ferrodis_store::{Snapshot, SnapshotEntry};

use crate::log;
use crate::session::Session;
use crate::shared::Shared;

/// `appendfsync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fsync {
    Always,
    EverySec,
    No,
}

impl Fsync {
    pub(crate) fn from_config(shared: &Shared) -> Fsync {
        match shared.config.read().get_str("appendfsync") {
            Some("always") => Fsync::Always,
            Some("no") => Fsync::No,
            _ => Fsync::EverySec,
        }
    }
}

/// The open append-only file.
#[derive(Debug)]
pub(crate) struct Aof {
    /// `appenddirname` (relative to `dir`, the working directory).
    dir: PathBuf,
    /// `appendfilename`.
    prefix: String,
    manifest: Manifest,
    /// The incremental file being appended to.
    file: Arc<File>,
    buf: Vec<u8>,
    /// The database the file's command stream has selected.
    selected: Option<usize>,
    pub(crate) fsync: Fsync,
    /// Bytes in the base and the incremental files.
    base_size: u64,
    incr_size: u64,
    /// Size of the whole AOF after the last rewrite (or at start), for
    /// `auto-aof-rewrite-percentage`.
    size_at_rewrite: u64,
    /// Whether data was written since the last fsync.
    unsynced: bool,
    /// `aof-timestamp-enabled`, and the second of the last annotation.
    pub(crate) timestamps: bool,
    last_ts: u64,
    /// Turned on at run time and waiting for its first rewrite: writes
    /// since the rewrite's snapshot go to a temporary incremental file
    /// that the manifest names only once the base exists.
    temp_incr: bool,
}

impl Aof {
    pub(crate) fn current_size(&self) -> u64 {
        self.base_size + self.incr_size
    }

    /// The AOF's size after the last rewrite (`aof_base_size`).
    pub(crate) fn size_at_rewrite(&self) -> u64 {
        self.size_at_rewrite
    }

    pub(crate) fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Appends one command, selecting its database first if needed.
    pub(crate) fn append(&mut self, db: usize, argv: &[&[u8]]) {
        if self.timestamps {
            let now = crate::shared::unix_ms() / 1000;
            if now > self.last_ts {
                encode_timestamp_annotation(&mut self.buf, now as i64);
                self.last_ts = now;
            }
        }
        if self.selected != Some(db) {
            encode_select(&mut self.buf, db as u32);
            self.selected = Some(db);
        }
        encode_command(&mut self.buf, argv);
    }

    /// Writes the buffer to the file (and syncs under `always`).
    fn write_out(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        (&*self.file).write_all(&self.buf)?;
        self.incr_size += self.buf.len() as u64;
        self.buf.clear();
        self.unsynced = true;
        if self.fsync == Fsync::Always {
            self.file.sync_data()?;
            self.unsynced = false;
        }
        Ok(())
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Writes the manifest through a temporary file and a rename.
    fn persist_manifest(&self) -> io::Result<()> {
        write_manifest(&self.dir, &self.prefix, &self.manifest)
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// Feeds one write command to the AOF buffer.
pub(crate) fn feed(shared: &Shared, db: usize, argv: &[&[u8]]) {
    let p = &shared.persist;
    if let Some(aof) = p.aof.lock().as_mut() {
        aof.append(db, argv);
        p.aof_pending.store(true, Ordering::Release);
    }
}

/// Writes what the buffer holds, before replies go out.
pub(crate) fn flush(shared: &Shared) {
    let p = &shared.persist;
    if !p.aof_pending.swap(false, Ordering::AcqRel) {
        return;
    }
    let sleep = p.aof_flush_sleep_us.load(Ordering::Relaxed);
    if sleep > 0 {
        std::thread::sleep(Duration::from_micros(sleep));
    }
    if let Some(aof) = p.aof.lock().as_mut() {
        match aof.write_out() {
            Ok(()) => p.aof_last_write_ok.store(true, Ordering::Relaxed),
            Err(e) => {
                // Keep the data: it is retried on the next flush.
                p.aof_last_write_ok.store(false, Ordering::Relaxed);
                p.aof_pending.store(true, Ordering::Release);
                log::warning(&format!("Error writing to the AOF file: {e}"));
            }
        }
    }
}

/// The `everysec` thread: syncs the file once a second, outside the lock.
fn start_fsync_thread(shared: &Arc<Shared>) {
    if shared.persist.fsync_thread.swap(true, Ordering::AcqRel) {
        return;
    }
    let weak = Arc::downgrade(shared);
    let _ = std::thread::Builder::new()
        .name("aof-fsync".into())
        .spawn(move || loop {
            std::thread::sleep(Duration::from_secs(1));
            let Some(shared) = weak.upgrade() else {
                return;
            };
            if shared.shutdown.load(Ordering::Relaxed) {
                return;
            }
            let file = {
                let mut guard = shared.persist.aof.lock();
                match guard.as_mut() {
                    Some(aof) if aof.fsync == Fsync::EverySec && aof.unsynced => {
                        aof.unsynced = false;
                        Some(Arc::clone(&aof.file))
                    }
                    _ => None,
                }
            };
            if let Some(f) = file {
                let _ = f.sync_data();
            }
        });
}

/// Why the AOF could not be loaded; the start stops with this message.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AofLoadError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("Bad file format reading the append only file {file}: {source}")]
    Format { file: String, source: AofError },
    #[error("Unexpected end of file reading the append only file {file}: {source}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.")]
    Truncated { file: String, source: AofError },
    #[error("Error reading the RDB base file {file}: {source}")]
    Rdb {
        file: String,
        source: super::rdb::LoadError,
    },
    #[error("Invalid AOF manifest {file}: {source}")]
    Manifest {
        file: String,
        source: ferrodis_persist::ManifestError,
    },
    #[error("Unknown command '{command}' reading the append only file {file}")]
    UnknownCommand { file: String, command: String },
}

/// Opens (creating if needed) the AOF directory at start, loads what it
/// holds into the store, and opens the incremental file for new writes.
/// Called only with `appendonly yes`.
pub(crate) fn start(shared: &Arc<Shared>) -> Result<(), AofLoadError> {
    let (dir, prefix) = names(shared);
    let manifest_path = dir.join(Manifest::manifest_name(&prefix));
    let mut manifest = match std::fs::read(&manifest_path) {
        Ok(text) => Manifest::parse(&text).map_err(|source| AofLoadError::Manifest {
            file: manifest_path.display().to_string(),
            source,
        })?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Manifest::default(),
        Err(e) => return Err(e.into()),
    };
    // A legacy single-file AOF in the working directory becomes the base:
    // the manifest is written first, then the file moves (an upgrade cut
    // short in between is finished on the next start).
    let dir_exists = dir.is_dir();
    std::fs::create_dir_all(&dir)?;
    let legacy = Path::new(&prefix);
    if legacy.is_file()
        && manifest.needs_legacy_upgrade(&prefix, dir_exists, dir.join(&prefix).is_file())
    {
        let mut upgraded = Manifest::default();
        upgraded.adopt_legacy(&prefix);
        write_manifest(&dir, &prefix, &upgraded)?;
        std::fs::rename(legacy, dir.join(&prefix))?;
        super::rdb::sync_dir(&dir);
        manifest = upgraded;
        log::notice(&format!(
            "Successfully migrated an old-style AOF into the AOF directory {}",
            dir.display()
        ));
    }
    let start = Instant::now();
    let mut base_size = 0;
    let mut incr_size = 0;
    let files: Vec<(String, bool)> = {
        let n = manifest.files_to_load().count();
        manifest
            .files_to_load()
            .enumerate()
            .map(|(i, f)| (f.name.clone(), i + 1 == n))
            .collect()
    };
    let truncated_ok = shared
        .config
        .read()
        .get_bool("aof-load-truncated")
        .unwrap_or(true);
    for (i, (name, last)) in files.iter().enumerate() {
        let path = dir.join(name);
        let size = load_file(shared, &path, *last && truncated_ok);
        let size = size?;
        if i == 0 && manifest.base.is_some() {
            base_size = size;
        } else {
            incr_size += size;
        }
    }
    if !files.is_empty() {
        log::notice(&format!(
            "DB loaded from append only file: {:.3} seconds",
            start.elapsed().as_secs_f64()
        ));
    }
    if manifest.base.is_none() && manifest.incrs.is_empty() {
        // Redis writes a base at once when it starts with no AOF, so that
        // the directory always describes the whole dataset.
        log::notice("Creating AOF base file on server start");
        let rdb = shared
            .config
            .read()
            .get_bool("aof-use-rdb-preamble")
            .unwrap_or(true);
        let snap = shared
            .store
            .snapshot()
            .map_err(|e| AofLoadError::Io(io::Error::other(e.to_string())))?;
        let name = manifest.new_base(&prefix, rdb).to_owned();
        base_size = write_base(shared, snap, &dir.join(name), rdb)?;
    }
    let name = manifest.last_incr_or_new(&prefix).to_owned();
    let file = Arc::new(open_append(&dir.join(&name))?);
    let aof = Aof {
        dir,
        prefix,
        manifest,
        file,
        buf: Vec::new(),
        selected: None,
        fsync: Fsync::from_config(shared),
        base_size,
        incr_size,
        size_at_rewrite: base_size + incr_size,
        unsynced: false,
        timestamps: timestamps_enabled(shared),
        last_ts: 0,
        temp_incr: false,
    };
    aof.persist_manifest()?;
    *shared.persist.aof.lock() = Some(aof);
    shared.persist.aof_on.store(true, Ordering::Release);
    start_fsync_thread(shared);
    Ok(())
}

/// The directory and file prefix of the AOF, from the configuration.
fn names(shared: &Shared) -> (PathBuf, String) {
    let cfg = shared.config.read();
    (
        PathBuf::from(cfg.get_str("appenddirname").unwrap_or("appendonlydir")),
        cfg.get_str("appendfilename")
            .unwrap_or("appendonly.aof")
            .to_owned(),
    )
}

/// `CONFIG SET appendonly yes` on a running server: as Redis, the AOF
/// waits for a first rewrite (at once, or after a running BGSAVE); from
/// that rewrite's snapshot on, writes go to a temporary incremental file
/// that joins the manifest with the new base. Until then nothing is
/// written, and a crash loses nothing the old files did not already lose.
pub(crate) fn enable(shared: &Arc<Shared>) -> io::Result<()> {
    let p = &shared.persist;
    if p.aof.lock().is_some() {
        return Ok(());
    }
    let (dir, prefix) = names(shared);
    std::fs::create_dir_all(&dir)?;
    let manifest = kept_manifest(shared, &dir, &prefix);
    let temp = dir.join(Manifest::temp_incr_name(&prefix));
    let file = Arc::new(open_append(&temp)?);
    *p.aof.lock() = Some(Aof {
        dir,
        prefix,
        manifest,
        file,
        buf: Vec::new(),
        selected: None,
        fsync: Fsync::from_config(shared),
        base_size: 0,
        incr_size: 0,
        size_at_rewrite: 0,
        unsynced: false,
        timestamps: timestamps_enabled(shared),
        last_ts: 0,
        temp_incr: true,
    });
    start_fsync_thread(shared);
    if p.bgsave.is_running() || p.rewrite.is_running() {
        p.rewrite.scheduled.store(true, Ordering::Relaxed);
        return Ok(());
    }
    match rewrite(shared) {
        Ok(()) => Ok(()),
        Err(e) => {
            p.rewrite.scheduled.store(true, Ordering::Relaxed);
            Err(io::Error::other(e))
        }
    }
}

/// `CONFIG SET appendonly no`: syncs and closes the file.
pub(crate) fn disable(shared: &Shared) {
    let _ = flush_and_sync(shared);
    let p = &shared.persist;
    let _gate = p.gate.exclusive();
    p.aof_on.store(false, Ordering::Release);
    if let Some(aof) = p.aof.lock().take() {
        if aof.temp_incr {
            let _ = std::fs::remove_file(aof.path(&Manifest::temp_incr_name(&aof.prefix)));
        }
        *p.last_manifest.lock() = Some(aof.manifest);
    }
}

/// Loads one AOF file (a base in RDB or AOF format, or an incremental
/// file). `forgive_truncation` for the last file under
/// `aof-load-truncated yes`: a file cut inside its last command is cut
/// back to the end of the last complete one. Returns the file's size.
fn load_file(
    shared: &Arc<Shared>,
    path: &Path,
    forgive_truncation: bool,
) -> Result<u64, AofLoadError> {
    let replaying = &shared.store.settings().replaying;
    replaying.store(true, Ordering::Release);
    let result = replay_file(shared, path, forgive_truncation);
    replaying.store(false, Ordering::Release);
    result
}

fn replay_file(
    shared: &Arc<Shared>,
    path: &Path,
    forgive_truncation: bool,
) -> Result<u64, AofLoadError> {
    let file = path.display().to_string();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            let name = path
                .file_name()
                .map_or_else(|| file.clone(), |n| n.to_string_lossy().into_owned());
            return Err(AofLoadError::Io(io::Error::new(
                e.kind(),
                format!("The append log file {name} doesn't exist: {e}"),
            )));
        }
    };
    let mut start = 0;
    if starts_with_rdb_preamble(&bytes) {
        let (_, _, end) =
            super::rdb::load_bytes(shared, &bytes).map_err(|source| AofLoadError::Rdb {
                file: file.clone(),
                source,
            })?;
        start = end;
    }
    let mut reader = AofReader::starting_at(&bytes, start);
    let mut session = Session::attach_loader(Arc::clone(shared));
    let mut replayed = 0u64;
    loop {
        replayed += 1;
        if replayed % 1024 == 0 {
            // Redis' loader processes events every 1024 commands.
            shared.persist.loading.progress(reader.offset() as u64);
            shared.persist.loading.let_clients_in();
        }
        match reader.next_command() {
            Ok(Some(cmd)) => {
                let argv: Vec<&[u8]> = cmd.argv.iter().map(Vec::as_slice).collect();
                if crate::commands::lookup(argv.first().copied().unwrap_or_default()).is_none() {
                    return Err(AofLoadError::UnknownCommand {
                        file,
                        command: String::from_utf8_lossy(argv.first().copied().unwrap_or_default())
                            .into_owned(),
                    });
                }
                let _ = session.execute(&argv);
            }
            Ok(None) => break,
            Err(e) => match e.truncate_to() {
                Some(at) if forgive_truncation => {
                    log::warning(&format!(
                        "!!! Warning: short read while loading the AOF file {file}!!! ({e})"
                    ));
                    // Commands of a transaction left open were queued, not
                    // run: drop them.
                    let _ = session.execute(&[b"DISCARD"]);
                    let f = OpenOptions::new().write(true).open(path)?;
                    f.set_len(at as u64)?;
                    f.sync_all()?;
                    log::warning(&format!(
                        "AOF {file} loaded anyway because aof-load-truncated is enabled"
                    ));
                    return Ok(at as u64);
                }
                Some(_) => return Err(AofLoadError::Truncated { file, source: e }),
                None => return Err(AofLoadError::Format { file, source: e }),
            },
        }
    }
    Ok(bytes.len() as u64)
}

/// `BGREWRITEAOF`: switches writes to a new incremental file and writes a
/// new base in the background from a snapshot taken at that instant.
/// Errors are Redis' replies.
pub(crate) fn rewrite(shared: &Arc<Shared>) -> Result<(), &'static str> {
    let p = &shared.persist;
    if p.rewrite.is_running() {
        return Err("ERR Background append only file rewriting already in progress");
    }
    if p.bgsave.is_running() {
        p.rewrite.scheduled.store(true, Ordering::Relaxed);
        return Ok(());
    }
    if p.aof.lock().is_none() {
        // With the AOF off, Redis still writes one (and does not keep it
        // open); Ferrodis writes the base and manifest the same way.
        return match start_detached_rewrite(shared) {
            Ok(()) => Ok(()),
            Err(_) => Err("ERR Can't rewrite append only file in background: fork: failed"),
        };
    }
    let (snap, rdb_base) = match begin(shared) {
        Ok(x) => x,
        Err(e) => {
            log::warning(&format!(
                "Can't rewrite append only file in background: {e}"
            ));
            return Err("ERR Can't rewrite append only file in background: fork: failed");
        }
    };
    log::notice("Background append only file rewriting started");
    let shared2 = Arc::clone(shared);
    let spawned = std::thread::Builder::new()
        .name("aof-rewrite".into())
        .spawn(move || finish(&shared2, snap, rdb_base));
    if spawned.is_err() {
        p.rewrite.finish(false);
        return Err("ERR Can't rewrite append only file in background: fork: failed");
    }
    Ok(())
}

/// Starts a rewrite: under the write gate, opens the next incremental file
/// and takes the snapshot, so that every write is either in the snapshot
/// or in the new file, never both.
fn begin(shared: &Arc<Shared>) -> io::Result<(Snapshot, bool)> {
    let p = &shared.persist;
    if !p.rewrite.start() {
        return Err(io::Error::other("a rewrite is already running"));
    }
    let result = (|| {
        let _gate = p.gate.exclusive();
        let mut guard = p.aof.lock();
        let aof = guard
            .as_mut()
            .ok_or_else(|| io::Error::other("the AOF is off"))?;
        aof.write_out()?;
        if aof.unsynced {
            aof.file.sync_data()?;
            aof.unsynced = false;
        }
        let prefix = aof.prefix.clone();
        if aof.temp_incr {
            // Writes from this instant on: the temporary file starts over.
            let path = aof.path(&Manifest::temp_incr_name(&prefix));
            let file = OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .open(&path)?;
            aof.file = Arc::new(file);
            aof.incr_size = 0;
            p.aof_on.store(true, Ordering::Release);
        } else {
            let name = aof.manifest.new_incr(&prefix).to_owned();
            let file = open_append(&aof.path(&name))?;
            aof.persist_manifest()?;
            aof.file = Arc::new(file);
        }
        aof.selected = None;
        let snap = shared
            .store
            .snapshot()
            .map_err(|e| io::Error::other(e.to_string()))?;
        let rdb = shared
            .config
            .read()
            .get_bool("aof-use-rdb-preamble")
            .unwrap_or(true);
        Ok((snap, rdb))
    })();
    if result.is_err() {
        p.rewrite.finish(false);
    }
    result
}

/// Writes the new base and installs it. Returns whether it succeeded.
fn finish(shared: &Arc<Shared>, snap: Snapshot, rdb_base: bool) -> bool {
    let p = &shared.persist;
    let (dir, prefix) = match p.aof.lock().as_ref() {
        Some(a) => (a.dir.clone(), a.prefix.clone()),
        None => {
            p.rewrite.finish(false);
            return false;
        }
    };
    let tmp = dir.join(Manifest::temp_rewrite_name(std::process::id()));
    let written = write_base(shared, snap, &tmp, rdb_base);
    let result = written.and_then(|size| {
        let mut guard = p.aof.lock();
        let aof = guard
            .as_mut()
            .ok_or_else(|| io::Error::other("the AOF was turned off"))?;
        let name = aof.manifest.new_base(&prefix, rdb_base).to_owned();
        std::fs::rename(&tmp, aof.path(&name))?;
        if aof.temp_incr {
            // Every incremental file named so far predates the base.
            aof.manifest.mark_rewritten_incrs_as_history(false);
            let incr = aof.manifest.new_incr(&prefix).to_owned();
            std::fs::rename(
                aof.path(&Manifest::temp_incr_name(&prefix)),
                aof.path(&incr),
            )?;
            aof.temp_incr = false;
        } else {
            aof.manifest.mark_rewritten_incrs_as_history(true);
        }
        aof.persist_manifest()?;
        if !auto_gc_disabled(shared) {
            collect_history(aof)?;
        }
        aof.base_size = size;
        aof.incr_size = aof.file.metadata().map_or(0, |m| m.len());
        aof.size_at_rewrite = aof.current_size();
        Ok(())
    });
    let ok = match result {
        Ok(()) => {
            log::notice("Background AOF rewrite terminated with success");
            true
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            log::warning(&format!("Background AOF rewrite failed: {e}"));
            // A first rewrite after turning the AOF on starts over later.
            if let Some(aof) = p.aof.lock().as_mut() {
                if aof.temp_incr {
                    p.aof_on.store(false, Ordering::Release);
                    let _ = std::fs::remove_file(aof.path(&Manifest::temp_incr_name(&prefix)));
                    log::notice("Removing the temp incr aof file");
                    p.rewrite.scheduled.store(true, Ordering::Relaxed);
                }
            }
            false
        }
    };
    p.rewrite.finish(ok);
    ok
}

/// `aof-disable-auto-gc`.
fn auto_gc_disabled(shared: &Shared) -> bool {
    shared
        .config
        .read()
        .get_bool("aof-disable-auto-gc")
        .unwrap_or(false)
}

/// Deletes the history files and drops them from the manifest.
fn collect_history(aof: &mut Aof) -> io::Result<()> {
    if aof.manifest.history.is_empty() {
        return Ok(());
    }
    let history = std::mem::take(&mut aof.manifest.history);
    aof.persist_manifest()?;
    for h in history {
        let _ = std::fs::remove_file(aof.path(&h.name));
    }
    Ok(())
}

/// `CONFIG SET aof-disable-auto-gc no`: collects what piled up.
pub(crate) fn gc_now(shared: &Shared) {
    if auto_gc_disabled(shared) {
        return;
    }
    if let Some(aof) = shared.persist.aof.lock().as_mut() {
        if let Err(e) = collect_history(aof) {
            log::warning(&format!("Failed to delete AOF history files: {e}"));
        }
    }
}

/// BGREWRITEAOF with the AOF off: writes a base and a manifest naming it,
/// without an incremental file.
fn start_detached_rewrite(shared: &Arc<Shared>) -> io::Result<()> {
    let p = &shared.persist;
    if !p.rewrite.start() {
        return Err(io::Error::other("a rewrite is already running"));
    }
    let snap = {
        let _gate = p.gate.exclusive();
        shared.store.snapshot()
    };
    let snap = match snap {
        Ok(s) => s,
        Err(e) => {
            p.rewrite.finish(false);
            return Err(io::Error::other(e.to_string()));
        }
    };
    let shared2 = Arc::clone(shared);
    std::thread::Builder::new()
        .name("aof-rewrite".into())
        .spawn(move || {
            let p = &shared2.persist;
            let (dir, prefix) = names(&shared2);
            let rdb = shared2
                .config
                .read()
                .get_bool("aof-use-rdb-preamble")
                .unwrap_or(true);
            let result = (|| {
                std::fs::create_dir_all(&dir)?;
                let mut manifest = kept_manifest(&shared2, &dir, &prefix);
                let tmp = dir.join(Manifest::temp_rewrite_name(std::process::id()));
                write_base(&shared2, snap, &tmp, rdb)?;
                let name = manifest.new_base(&prefix, rdb).to_owned();
                std::fs::rename(&tmp, dir.join(&name))?;
                manifest.mark_rewritten_incrs_as_history(false);
                for h in std::mem::take(&mut manifest.history) {
                    let _ = std::fs::remove_file(dir.join(&h.name));
                }
                write_manifest(&dir, &prefix, &manifest)?;
                *p.last_manifest.lock() = Some(manifest);
                io::Result::Ok(())
            })();
            if let Err(e) = &result {
                log::warning(&format!("Background AOF rewrite failed: {e}"));
            } else {
                log::notice("Background AOF rewrite terminated with success");
            }
            p.rewrite.finish(result.is_ok());
        })
        .map(|_| ())
        .inspect_err(|_| p.rewrite.finish(false))
}

/// Writes a base file from `snap`: an RDB, or commands. Returns its size.
fn write_base(shared: &Shared, snap: Snapshot, path: &Path, rdb: bool) -> io::Result<u64> {
    let file = File::create(path)?;
    let mut w = io::BufWriter::with_capacity(1 << 16, file);
    if rdb {
        super::rdb::serialize(shared, snap, true, true, &mut w)?;
    } else {
        if timestamps_enabled(shared) {
            let mut ts = Vec::new();
            encode_timestamp_annotation(&mut ts, (crate::shared::unix_ms() / 1000) as i64);
            w.write_all(&ts)?;
        }
        write_commands(snap, &mut w)?;
    }
    let file = w.into_inner().map_err(io::IntoInnerError::into_error)?;
    file.sync_all()?;
    Ok(file.metadata()?.len())
}

/// Items per command when a collection is rewritten as commands, as
/// Redis' `AOF_REWRITE_ITEMS_PER_CMD`.
const ITEMS_PER_CMD: usize = 64;

/// A snapshot as commands that rebuild it.
fn write_commands(mut snap: Snapshot, out: &mut impl Write) -> io::Result<()> {
    let mut buf = Vec::with_capacity(1 << 16);
    let mut current = None;
    while let Some((db, entries)) = snap.next_slot() {
        if current != Some(db) {
            encode_select(&mut buf, db as u32);
            current = Some(db);
        }
        for e in &entries {
            entry_commands(&mut buf, e);
        }
        if buf.len() >= 1 << 16 {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    out.write_all(&buf)
}

fn entry_commands(buf: &mut Vec<u8>, e: &SnapshotEntry) {
    let key = e.key.as_slice();
    match &e.object.value {
        RdbValue::String(v) => encode_command(buf, &[b"SET", key, v.as_slice()]),
        RdbValue::List(items) => {
            for chunk in items.chunks(ITEMS_PER_CMD) {
                let mut argv: Vec<&[u8]> = vec![b"RPUSH", key];
                argv.extend(chunk.iter().map(Vec::as_slice));
                encode_command(buf, &argv);
            }
        }
        RdbValue::Set(members) => {
            for chunk in members.chunks(ITEMS_PER_CMD) {
                let mut argv: Vec<&[u8]> = vec![b"SADD", key];
                argv.extend(chunk.iter().map(Vec::as_slice));
                encode_command(buf, &argv);
            }
        }
        RdbValue::Hash(pairs) => {
            for chunk in pairs.chunks(ITEMS_PER_CMD) {
                let mut argv: Vec<&[u8]> = vec![b"HMSET", key];
                for (f, v) in chunk {
                    argv.push(f);
                    argv.push(v);
                }
                encode_command(buf, &argv);
            }
        }
        RdbValue::ZSet(members) => {
            for chunk in members.chunks(ITEMS_PER_CMD) {
                let scores: Vec<String> = chunk
                    .iter()
                    .map(|(_, s)| ferrodis_store::format_score(*s))
                    .collect();
                let mut argv: Vec<&[u8]> = vec![b"ZADD", key];
                for ((m, _), s) in chunk.iter().zip(&scores) {
                    argv.push(s.as_bytes());
                    argv.push(m);
                }
                encode_command(buf, &argv);
            }
        }
    }
    if let Some(at) = e.expire_at_ms {
        let at = at.to_string();
        encode_command(buf, &[b"PEXPIREAT", key, at.as_bytes()]);
    }
}

/// `auto-aof-rewrite-percentage` / `-min-size`, checked from the cron.
pub(crate) fn maybe_auto_rewrite(shared: &Arc<Shared>) {
    let (pct, min) = {
        let cfg = shared.config.read();
        (
            cfg.get_u64("auto-aof-rewrite-percentage").unwrap_or(100),
            cfg.get_u64("auto-aof-rewrite-min-size").unwrap_or(64 << 20),
        )
    };
    if pct == 0 {
        return;
    }
    let due = match shared.persist.aof.lock().as_ref() {
        Some(aof) => {
            let size = aof.current_size();
            let base = aof.size_at_rewrite.max(1);
            size >= min && (size.saturating_sub(base)) * 100 / base >= pct
        }
        None => false,
    };
    if due {
        log::notice("Starting automatic rewriting of AOF");
        let _ = rewrite(shared);
    }
}

/// Writes and syncs everything buffered (SHUTDOWN, DEBUG LOADAOF).
pub(crate) fn flush_and_sync(shared: &Shared) -> io::Result<()> {
    if let Some(aof) = shared.persist.aof.lock().as_mut() {
        aof.write_out()?;
        aof.file.sync_data()?;
        aof.unsynced = false;
    }
    shared.persist.aof_pending.store(false, Ordering::Release);
    Ok(())
}

/// Replays the AOF directory into the store again (DEBUG LOADAOF): the
/// files are read as they are on disk now.
pub(crate) fn reload(shared: &Arc<Shared>) -> Result<(), AofLoadError> {
    flush_and_sync(shared)?;
    let files: Vec<PathBuf> = match shared.persist.aof.lock().as_ref() {
        Some(aof) => aof
            .manifest
            .files_to_load()
            .map(|f| aof.path(&f.name))
            .collect(),
        None => return Ok(()),
    };
    shared.persist.aof_on.store(false, Ordering::Release);
    shared.store.flush_all();
    let mut result = Ok(());
    for f in &files {
        if let Err(e) = load_file(shared, f, false) {
            result = Err(e);
            break;
        }
    }
    if let Some(aof) = shared.persist.aof.lock().as_mut() {
        aof.selected = None;
    }
    shared.persist.aof_on.store(true, Ordering::Release);
    result
}

/// `aof-timestamp-enabled`.
pub(crate) fn timestamps_enabled(shared: &Shared) -> bool {
    shared
        .config
        .read()
        .get_bool("aof-timestamp-enabled")
        .unwrap_or(false)
}

/// Writes `manifest` into `dir` through a temporary file and a rename.
fn write_manifest(dir: &Path, prefix: &str, manifest: &Manifest) -> io::Result<()> {
    let tmp = dir.join(Manifest::temp_manifest_name(prefix));
    {
        let mut f = File::create(&tmp)?;
        f.write_all(manifest.to_text().as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, dir.join(Manifest::manifest_name(prefix)))?;
    super::rdb::sync_dir(dir);
    Ok(())
}

/// The manifest while the AOF is off: the one kept in memory when it was
/// turned off, else the one on disk (an unreadable one counts as none).
fn kept_manifest(shared: &Shared, dir: &Path, prefix: &str) -> Manifest {
    if let Some(m) = shared.persist.last_manifest.lock().take() {
        return m;
    }
    match std::fs::read(dir.join(Manifest::manifest_name(prefix))) {
        Ok(text) => Manifest::parse(&text).unwrap_or_default(),
        Err(_) => Manifest::default(),
    }
}
