//! Persistence in the node: RDB snapshots (`SAVE`, `BGSAVE`, save points,
//! loading at start) and the multi-part append-only file (propagation of
//! writes, `appendfsync`, `BGREWRITEAOF`, loading at start).
//!
//! The formats live in `ferrodis-persist`; the point-in-time view a
//! background save or rewrite serializes is the store's copy-on-write
//! [`ferrodis_store::Snapshot`]. This module owns the files, the threads
//! and the bookkeeping `INFO persistence` reports.

pub(crate) mod aof;
pub(crate) mod gate;
pub(crate) mod propagate;
pub(crate) mod rdb;

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

use crate::log;
use crate::shared::{unix_ms, Shared};

/// Redis waits this long before retrying a failed background save from a
/// save point.
const BGSAVE_RETRY_SECS: u64 = 5;

/// A background job (BGSAVE or an AOF rewrite) in progress.
#[derive(Debug, Default)]
pub(crate) struct Job {
    pub(crate) running: AtomicBool,
    pub(crate) scheduled: AtomicBool,
    started: Mutex<Option<Instant>>,
    /// Seconds the last one took; -1 before the first.
    last_secs: AtomicI64,
    pub(crate) last_ok: AtomicBool,
    pub(crate) count: AtomicU64,
}

impl Job {
    fn new() -> Job {
        Job {
            last_secs: AtomicI64::new(-1),
            last_ok: AtomicBool::new(true),
            ..Job::default()
        }
    }

    /// Marks the job started; false if one was already running.
    pub(crate) fn start(&self) -> bool {
        if self.running.swap(true, Ordering::AcqRel) {
            return false;
        }
        self.scheduled.store(false, Ordering::Relaxed);
        *self.started.lock() = Some(Instant::now());
        true
    }

    pub(crate) fn finish(&self, ok: bool) {
        let secs = self
            .started
            .lock()
            .take()
            .map_or(-1, |t| t.elapsed().as_secs() as i64);
        self.last_secs.store(secs, Ordering::Relaxed);
        self.last_ok.store(ok, Ordering::Relaxed);
        if ok {
            self.count.fetch_add(1, Ordering::Relaxed);
        }
        self.running.store(false, Ordering::Release);
    }

    fn current_secs(&self) -> i64 {
        self.started
            .lock()
            .map_or(-1, |t| t.elapsed().as_secs() as i64)
    }

    pub(crate) fn is_running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }
}

/// The node's persistence state.
#[derive(Debug)]
pub(crate) struct Persistence {
    /// Changes since the last successful save (`rdb_changes_since_last_save`).
    pub(crate) dirty: AtomicU64,
    /// `dirty` when the running BGSAVE took its snapshot.
    dirty_at_bgsave: AtomicU64,
    /// Unix seconds of the last successful save.
    pub(crate) lastsave: AtomicU64,
    /// Unix seconds of the last background save attempt.
    last_bgsave_try: AtomicU64,
    pub(crate) bgsave: Job,
    pub(crate) rewrite: Job,
    /// Keys loaded and keys skipped as expired by the last RDB load.
    pub(crate) last_load: (AtomicU64, AtomicU64),
    /// The append-only file, when `appendonly` is on.
    pub(crate) aof: Mutex<Option<aof::Aof>>,
    /// Whether writes are propagated to the AOF (cheap check on every
    /// write).
    pub(crate) aof_on: AtomicBool,
    /// Bytes wait in the AOF buffer: flush before replying.
    pub(crate) aof_pending: AtomicBool,
    pub(crate) aof_last_write_ok: AtomicBool,
    /// Passed by write commands and EXEC when several worker threads run
    /// (exclusively while the AOF is on, so that the order of the file is
    /// the order of execution), and taken exclusively by the start of a
    /// snapshot, so that its instant falls between commands (`gate.rs`).
    pub(crate) gate: gate::Gate,
    /// Whether `gate` must be taken (more than one worker thread).
    pub(crate) gated: AtomicBool,
    /// Whether the `everysec` fsync thread runs.
    pub(crate) fsync_thread: AtomicBool,
    /// Set to make the running BGSAVE give up (FLUSHALL, as Redis kills
    /// its child).
    pub(crate) bgsave_cancel: AtomicBool,
    /// DEBUG AOF-FLUSH-SLEEP: microseconds to wait before each AOF write.
    pub(crate) aof_flush_sleep_us: AtomicU64,
    /// The manifest while the AOF is off, as Redis keeps it in memory.
    pub(crate) last_manifest: Mutex<Option<ferrodis_persist::Manifest>>,
    /// The dataset being loaded at start: clients are served, but only
    /// commands flagged `loading` run (others get `-LOADING`).
    pub(crate) loading: Loading,
}

/// Progress of the load at start, for `INFO persistence`.
#[derive(Debug, Default)]
pub(crate) struct Loading {
    pub(crate) active: AtomicBool,
    /// Whether clients are served (with `-LOADING` for most commands)
    /// yet. As Redis' loader first processes events once it has read
    /// `loading-process-events-interval-bytes`, a short load keeps clients
    /// waiting until it ends instead of answering `-LOADING`.
    serving: AtomicBool,
    /// `loading-process-events-interval-bytes`, read when the load began.
    serve_after_bytes: AtomicU64,
    /// Unix seconds when it began.
    pub(crate) start: AtomicU64,
    /// Bytes to read in all, and read so far.
    pub(crate) total_bytes: AtomicU64,
    pub(crate) loaded_bytes: AtomicU64,
}

impl Loading {
    /// Marks a load of `total_bytes` as started.
    pub(crate) fn begin(&self, total_bytes: u64, serve_after_bytes: u64) {
        self.serving.store(false, Ordering::Relaxed);
        self.serve_after_bytes
            .store(serve_after_bytes, Ordering::Relaxed);
        self.start.store(unix_ms() / 1000, Ordering::Relaxed);
        self.total_bytes.store(total_bytes, Ordering::Relaxed);
        self.loaded_bytes.store(0, Ordering::Relaxed);
        self.active.store(true, Ordering::Release);
    }

    pub(crate) fn end(&self) {
        self.active.store(false, Ordering::Release);
    }

    /// The loader has read up to `bytes`: once past the interval, clients
    /// are let in.
    pub(crate) fn progress(&self, bytes: u64) {
        self.loaded_bytes.store(bytes, Ordering::Relaxed);
        if bytes >= self.serve_after_bytes.load(Ordering::Relaxed) {
            self.serving.store(true, Ordering::Release);
        }
    }

    /// Lets clients in whatever the bytes read.
    pub(crate) fn let_clients_in(&self) {
        self.serving.store(true, Ordering::Release);
    }

    /// Whether client input must wait: a load runs and has not yet let
    /// clients in.
    pub(crate) fn holds_clients(&self) -> bool {
        self.is_active() && !self.serving.load(Ordering::Acquire)
    }

    pub(crate) fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    /// The INFO fields Redis adds while loading.
    fn info(&self) -> String {
        let start = self.start.load(Ordering::Relaxed);
        let total = self.total_bytes.load(Ordering::Relaxed);
        let done = self.loaded_bytes.load(Ordering::Relaxed).min(total);
        let perc = if total == 0 {
            0.0
        } else {
            done as f64 * 100.0 / total as f64
        };
        let elapsed = (unix_ms() / 1000).saturating_sub(start);
        // Redis reports 1 second until it has a rate to go by.
        let eta = ((total - done) * elapsed).checked_div(done).unwrap_or(1);
        format!(
            "loading_start_time:{start}\r\nloading_total_bytes:{total}\r\nloading_rdb_used_mem:0\r\nloading_loaded_bytes:{done}\r\nloading_loaded_perc:{perc:.2}\r\nloading_eta_seconds:{eta}\r\n"
        )
    }
}

impl Persistence {
    pub(crate) fn new() -> Persistence {
        Persistence {
            dirty: AtomicU64::new(0),
            dirty_at_bgsave: AtomicU64::new(0),
            lastsave: AtomicU64::new(unix_ms() / 1000),
            last_bgsave_try: AtomicU64::new(0),
            bgsave: Job::new(),
            rewrite: Job::new(),
            last_load: (AtomicU64::new(0), AtomicU64::new(0)),
            aof: Mutex::new(None),
            aof_on: AtomicBool::new(false),
            aof_pending: AtomicBool::new(false),
            aof_last_write_ok: AtomicBool::new(true),
            gate: gate::Gate::default(),
            gated: AtomicBool::new(false),
            fsync_thread: AtomicBool::new(false),
            bgsave_cancel: AtomicBool::new(false),
            aof_flush_sleep_us: AtomicU64::new(0),
            last_manifest: Mutex::new(None),
            loading: Loading::default(),
        }
    }

    /// Whether writes must be refused because the last background save
    /// failed (`stop-writes-on-bgsave-error`), as Redis does only while
    /// save points are configured.
    pub(crate) fn writes_refused(&self, shared: &Shared) -> bool {
        if self.bgsave.last_ok.load(Ordering::Relaxed) {
            return false;
        }
        let cfg = shared.config.read();
        cfg.get_bool("stop-writes-on-bgsave-error").unwrap_or(true) && !cfg.save_params().is_empty()
    }
}

/// The MISCONF error of a refused write.
pub(crate) const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// Starts a background save now. Errors are Redis' replies.
pub(crate) fn bgsave(shared: &Arc<Shared>) -> Result<(), &'static str> {
    let p = &shared.persist;
    if p.bgsave.is_running() {
        return Err("ERR Background save already in progress");
    }
    if p.rewrite.is_running() {
        return Err("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.");
    }
    if !p.bgsave.start() {
        return Err("ERR Background save already in progress");
    }
    p.last_bgsave_try.store(unix_ms() / 1000, Ordering::Relaxed);
    let (snap, repl) = {
        let _gate = p.gate.exclusive();
        p.dirty_at_bgsave
            .store(p.dirty.load(Ordering::Relaxed), Ordering::Relaxed);
        (shared.store.snapshot(), crate::repl::save_info(shared))
    };
    let snap = match snap {
        Ok(s) => s,
        Err(_) => {
            p.bgsave.finish(false);
            return Err("ERR Background save already in progress");
        }
    };
    log::notice("Background saving started");
    let shared = Arc::clone(shared);
    let spawned = std::thread::Builder::new()
        .name("bgsave".into())
        .spawn(move || {
            let path = rdb::path(&shared);
            let result = rdb::write(&shared, snap, &path, false, true, repl);
            let p = &shared.persist;
            if p.bgsave_cancel.swap(false, Ordering::AcqRel) {
                // Aborted on purpose: not a failure, and nothing saved.
                log::warning("Background saving terminated by signal 10");
                let ok = p.bgsave.last_ok.load(Ordering::Relaxed);
                p.bgsave.finish(ok);
                p.bgsave.count.fetch_sub(u64::from(ok), Ordering::Relaxed);
                return;
            }
            match result {
                Ok(()) => {
                    let before = p.dirty_at_bgsave.load(Ordering::Relaxed);
                    let _ = p
                        .dirty
                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |d| {
                            Some(d.saturating_sub(before))
                        });
                    p.lastsave.store(unix_ms() / 1000, Ordering::Relaxed);
                    log::notice("Background saving terminated with success");
                    p.bgsave.finish(true);
                }
                Err(e) => {
                    log::warning(&format!("Background saving error: {e}"));
                    p.bgsave.finish(false);
                }
            }
        });
    if spawned.is_err() {
        p.bgsave.finish(false);
        return Err("ERR Can't BGSAVE: failed to start a thread");
    }
    Ok(())
}

/// `SAVE`: a foreground save (waits for a background snapshot to end
/// first). Errors are logged; returns whether it succeeded.
pub(crate) fn save(shared: &Shared) -> bool {
    let p = &shared.persist;
    let (snap, repl) = loop {
        let attempt = {
            let _gate = p.gate.exclusive();
            (shared.store.snapshot(), crate::repl::save_info(shared))
        };
        match attempt {
            (Ok(s), repl) => break (s, repl),
            (Err(_), _) => std::thread::sleep(std::time::Duration::from_millis(5)),
        }
    };
    let before = p.dirty.load(Ordering::Relaxed);
    match rdb::write(shared, snap, &rdb::path(shared), false, false, repl) {
        Ok(()) => {
            let _ = p
                .dirty
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |d| {
                    Some(d.saturating_sub(before))
                });
            p.lastsave.store(unix_ms() / 1000, Ordering::Relaxed);
            p.bgsave.last_ok.store(true, Ordering::Relaxed);
            log::notice("DB saved on disk");
            true
        }
        Err(e) => {
            log::warning(&format!("Failed saving the DB: {e}"));
            false
        }
    }
}

/// Periodic work (worker 0's cron): save points, scheduled jobs, the
/// automatic AOF rewrite.
pub(crate) fn cron(shared: &Arc<Shared>) {
    let p = &shared.persist;
    // Writes whose replies never leave (CLIENT REPLY OFF) still reach the
    // file within a cron period.
    aof::flush(shared);
    let busy = p.bgsave.is_running() || p.rewrite.is_running();
    if !busy && p.rewrite.scheduled.load(Ordering::Relaxed) {
        let _ = aof::rewrite(shared);
        return;
    }
    if !busy && p.bgsave.scheduled.load(Ordering::Relaxed) {
        let _ = bgsave(shared);
        return;
    }
    if busy {
        return;
    }
    let now = unix_ms() / 1000;
    let dirty = p.dirty.load(Ordering::Relaxed);
    let since = now.saturating_sub(p.lastsave.load(Ordering::Relaxed));
    let may_retry = p.bgsave.last_ok.load(Ordering::Relaxed)
        || now.saturating_sub(p.last_bgsave_try.load(Ordering::Relaxed)) > BGSAVE_RETRY_SECS;
    let points = shared.config.read().save_params();
    for (secs, changes) in points {
        if dirty >= changes && since >= secs && may_retry {
            log::notice(&format!("{changes} changes in {secs} seconds. Saving..."));
            let _ = bgsave(shared);
            return;
        }
    }
    aof::maybe_auto_rewrite(shared);
}

/// The `Persistence` section of INFO.
pub(crate) fn info(shared: &Shared) -> String {
    let p = &shared.persist;
    let b = |v: bool| u8::from(v);
    let status = |ok: bool| if ok { "ok" } else { "err" };
    let loading = p.loading.is_active();
    let mut s = format!(
        "loading:{}\r\n{}async_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\ncurrent_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\ncurrent_save_keys_processed:0\r\ncurrent_save_keys_total:0\r\nrdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:{}\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:{}\r\nrdb_last_bgsave_time_sec:{}\r\nrdb_current_bgsave_time_sec:{}\r\nrdb_saves:{}\r\nrdb_last_cow_size:0\r\nrdb_last_load_keys_expired:{}\r\nrdb_last_load_keys_loaded:{}\r\naof_enabled:{}\r\naof_rewrite_in_progress:{}\r\naof_rewrite_scheduled:{}\r\naof_last_rewrite_time_sec:{}\r\naof_current_rewrite_time_sec:{}\r\naof_last_bgrewrite_status:{}\r\naof_rewrites:{}\r\naof_rewrites_consecutive_failures:0\r\naof_last_write_status:{}\r\naof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
        b(loading),
        if loading { p.loading.info() } else { String::new() },
        p.dirty.load(Ordering::Relaxed),
        b(p.bgsave.is_running()),
        p.lastsave.load(Ordering::Relaxed),
        status(p.bgsave.last_ok.load(Ordering::Relaxed)),
        p.bgsave.last_secs.load(Ordering::Relaxed),
        p.bgsave.current_secs(),
        p.bgsave.count.load(Ordering::Relaxed),
        p.last_load.1.load(Ordering::Relaxed),
        p.last_load.0.load(Ordering::Relaxed),
        b(p.aof_on.load(Ordering::Relaxed)),
        b(p.rewrite.is_running()),
        b(p.rewrite.scheduled.load(Ordering::Relaxed)),
        p.rewrite.last_secs.load(Ordering::Relaxed),
        p.rewrite.current_secs(),
        status(p.rewrite.last_ok.load(Ordering::Relaxed)),
        p.rewrite.count.load(Ordering::Relaxed),
        status(p.aof_last_write_ok.load(Ordering::Relaxed)),
    );
    if let Some(aof) = p.aof.lock().as_ref() {
        s.push_str(&format!(
            "aof_current_size:{}\r\naof_base_size:{}\r\naof_pending_rewrite:{}\r\naof_buffer_length:{}\r\naof_pending_bio_fsync:0\r\naof_delayed_fsync:0\r\n",
            aof.current_size(),
            aof.size_at_rewrite(),
            b(p.rewrite.scheduled.load(Ordering::Relaxed)),
            aof.buffered(),
        ));
    }
    s
}

/// Loads the dataset at start: the AOF when `appendonly yes` (it wins, as
/// in Redis), else the RDB file if there is one. An error stops the start,
/// with the file, the offset and the reason.
///
/// Clients are served meanwhile: `INFO` shows the progress and commands
/// that may not run during a load get `-LOADING`.
/// The caller marks the load as begun ([`Loading::begin`], with
/// [`bytes_to_load`]) before clients can connect; this ends it.
pub(crate) fn load_at_start(shared: &Arc<Shared>) -> Result<(), String> {
    let result = load_dataset(shared);
    // A failed load stops the server: clients held meanwhile are never let
    // in (they would be served an empty dataset for a moment).
    if result.is_ok() {
        shared.persist.loading.end();
    }
    result
}

/// The size of what `load_dataset` reads: the AOF directory's files, or
/// the RDB file.
pub(crate) fn bytes_to_load(shared: &Shared) -> u64 {
    let size = |p: &std::path::Path| std::fs::metadata(p).map_or(0, |m| m.len());
    if shared.config.read().get_bool("appendonly").unwrap_or(false) {
        let dir = shared
            .config
            .read()
            .get_str("appenddirname")
            .unwrap_or_default()
            .to_owned();
        std::fs::read_dir(dir).map_or(0, |entries| {
            entries.flatten().map(|e| size(&e.path())).sum()
        })
    } else {
        size(&rdb::path(shared))
    }
}

fn load_dataset(shared: &Arc<Shared>) -> Result<(), String> {
    let aof = shared.config.read().get_bool("appendonly").unwrap_or(false);
    if aof {
        return aof::start(shared)
            .map_err(|e| format!("Fatal error loading the DB, check server logs. Exiting. ({e})"));
    }
    let path = rdb::path(shared);
    match rdb::load_file(shared, &path) {
        Ok(true) => {
            // At start only (not DEBUG RELOAD): the replication state the
            // file records.
            crate::repl::restore(shared, rdb::repl_fields_of_file(&path));
            Ok(())
        }
        Ok(false) => Ok(()),
        Err(e) => Err(format!(
            "Fatal error loading the DB ({}): {e}. Exiting.",
            path.display()
        )),
    }
}

/// Stops a running BGSAVE without saving (FLUSHALL does this, as Redis
/// kills its child); waits for its thread to notice.
pub(crate) fn abort_bgsave(shared: &Shared) {
    let p = &shared.persist;
    if !p.bgsave.is_running() {
        return;
    }
    p.bgsave_cancel.store(true, Ordering::Release);
    while p.bgsave.is_running() {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    log::notice("Background saving aborted by FLUSHALL");
}
