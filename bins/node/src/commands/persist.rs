//! Persistence commands: SAVE, BGSAVE, BGREWRITEAOF, LASTSAVE, and the
//! DEBUG RELOAD / DEBUG LOADAOF subcommands.

use std::sync::atomic::Ordering;

use ferrodis_resp::Request;

use super::flags::*;
use super::{arg, is, spec, Ctx, Spec};
use crate::log;
use crate::persist;
use crate::shared::Shared;

pub(super) fn specs() -> Vec<Spec> {
    vec![
        spec("save", 1, ADMIN | NOSCRIPT | NO_MULTI, (0, 0, 0), save),
        spec("bgsave", -1, ADMIN | NOSCRIPT, (0, 0, 0), bgsave),
        spec("bgrewriteaof", 1, ADMIN | NOSCRIPT, (0, 0, 0), bgrewriteaof),
        spec("lastsave", 1, LOADING | STALE | FAST, (0, 0, 0), lastsave),
    ]
}

fn save(ctx: &mut Ctx<'_>, _req: &Request) {
    if ctx.shared.persist.bgsave.is_running() {
        ctx.error("ERR Background save already in progress");
        return;
    }
    if persist::save(ctx.shared) {
        ctx.ok();
    } else {
        ctx.error("ERR");
    }
}

fn bgsave(ctx: &mut Ctx<'_>, req: &Request) {
    let schedule = match req.len() {
        1 => false,
        2 if is(req, 1, "schedule") => true,
        _ => {
            ctx.syntax_error();
            return;
        }
    };
    let Some(shared) = ctx.shared.me() else {
        ctx.error("ERR server is shutting down");
        return;
    };
    let p = &shared.persist;
    // Inside a transaction Redis does not fork: the save runs after it.
    let in_exec = ctx.client.in_exec;
    if (in_exec || schedule && p.rewrite.is_running()) && !p.bgsave.is_running() {
        p.bgsave.scheduled.store(true, Ordering::Relaxed);
        ctx.simple("Background saving scheduled");
        return;
    }
    match persist::bgsave(&shared) {
        Ok(()) => ctx.simple("Background saving started"),
        Err(e) => ctx.error(e),
    }
}

fn bgrewriteaof(ctx: &mut Ctx<'_>, _req: &Request) {
    let Some(shared) = ctx.shared.me() else {
        ctx.error("ERR server is shutting down");
        return;
    };
    let p = &shared.persist;
    if p.rewrite.is_running() {
        ctx.error("ERR Background append only file rewriting already in progress");
        return;
    }
    if p.bgsave.is_running() || ctx.client.in_exec {
        p.rewrite.scheduled.store(true, Ordering::Relaxed);
        ctx.simple("Background append only file rewriting scheduled");
        return;
    }
    match persist::aof::rewrite(&shared) {
        Ok(()) => ctx.simple("Background append only file rewriting started"),
        Err(e) => ctx.error(e),
    }
}

fn lastsave(ctx: &mut Ctx<'_>, _req: &Request) {
    let t = ctx.shared.persist.lastsave.load(Ordering::Relaxed);
    ctx.int(t as i64);
}

/// SHUTDOWN's persistence step: saves when asked (`SAVE`) or when save
/// points are set (unless `NOSAVE`), and syncs the AOF. Returns false
/// when the save failed (SHUTDOWN then fails, unless `FORCE`).
pub(crate) fn before_shutdown(ctx: &mut Ctx<'_>, req: &Request) -> bool {
    let words: Vec<Vec<u8>> = req.args().skip(1).map(<[u8]>::to_ascii_lowercase).collect();
    prepare_shutdown(ctx.shared, &words)
}

/// What SHUTDOWN with the option `words` (lowercase: `save`, `nosave`,
/// `force`, ...) does before the server stops: the AOF written out and
/// synced, a final save when asked or when save points are set (never
/// while the dataset is still loading, as Redis). False when that failed
/// and `force` was not given: the server then keeps running.
pub(crate) fn prepare_shutdown(shared: &Shared, words: &[Vec<u8>]) -> bool {
    let has = |w: &str| words.iter().any(|a| a == w.as_bytes());
    let force = has("force");
    if shared.persist.aof_on.load(Ordering::Acquire) {
        if let Err(e) = persist::aof::flush_and_sync(shared) {
            log::warning(&format!("Error syncing the AOF on shutdown: {e}"));
            if !force {
                return false;
            }
        }
    }
    if shared.persist.loading.is_active() {
        return true;
    }
    let points = !shared.config.read().save_params().is_empty();
    if has("nosave") || !(has("save") || points) {
        return true;
    }
    log::notice("Saving the final RDB snapshot before exiting.");
    persist::save(shared) || force
}

/// A SIGTERM or SIGINT: a SHUTDOWN with the options of
/// `shutdown-on-sigterm` / `shutdown-on-sigint`. During the load at start
/// the server exits at once, without saving.
pub(crate) fn shutdown_on_signal(shared: &Shared, sig: crate::sys::ShutdownSignal) {
    let (name, option) = match sig {
        crate::sys::ShutdownSignal::Int => ("SIGINT", "shutdown-on-sigint"),
        crate::sys::ShutdownSignal::Term => ("SIGTERM", "shutdown-on-sigterm"),
    };
    if shared.persist.loading.is_active() {
        log::warning("Received shutdown signal during loading, scheduling shutdown.");
        crate::remove_pidfile(&shared.config.read());
        log::warning("Ferrodis is now ready to exit, bye bye...");
        std::process::exit(0);
    }
    log::warning(&format!("Received {name} scheduling shutdown..."));
    let words: Vec<Vec<u8>> = shared
        .config
        .read()
        .get(&[option.as_bytes()])
        .into_iter()
        .flat_map(|(_, v)| {
            v.split_whitespace()
                .map(|w| w.as_bytes().to_vec())
                .collect::<Vec<_>>()
        })
        .collect();
    if !prepare_shutdown(shared, &words) {
        log::warning(&format!("{name} received but errors trying to shut down the server, check the logs for more information"));
        return;
    }
    shared.shutdown.store(true, Ordering::Relaxed);
    for w in shared.workers.read().iter() {
        w.send(crate::shared::WorkerMsg::Shutdown);
    }
}

/// DEBUG RELOAD and DEBUG LOADAOF; returns false for other subcommands.
pub(crate) fn debug(ctx: &mut Ctx<'_>, req: &Request) -> bool {
    let sub = arg(req, 1).to_ascii_lowercase();
    match &sub[..] {
        b"reload" => {
            let opts: Vec<Vec<u8>> = req.args().skip(2).map(<[u8]>::to_ascii_lowercase).collect();
            if opts
                .iter()
                .any(|o| !matches!(&o[..], b"merge" | b"nosave" | b"noflush"))
            {
                ctx.error("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.");
                return true;
            }
            let has = |w: &[u8]| opts.iter().any(|o| o == w);
            if !has(b"nosave") && !persist::save(ctx.shared) {
                ctx.error("ERR Error trying to save the DB, check the logs");
                return true;
            }
            if !has(b"noflush") && !has(b"merge") {
                ctx.shared.store.flush_all();
            }
            let path = persist::rdb::path(ctx.shared);
            match persist::rdb::load_file(ctx.shared, &path) {
                Ok(_) => {
                    log::notice("DB reloaded by DEBUG RELOAD");
                    ctx.ok();
                }
                Err(e) => ctx.error(&format!("ERR Error trying to load the RDB dump: {e}")),
            }
            true
        }
        b"loadaof" => {
            let Some(shared) = ctx.shared.me() else {
                ctx.error("ERR server is shutting down");
                return true;
            };
            match persist::aof::reload(&shared) {
                Ok(()) => {
                    log::warning("Append Only File loaded by DEBUG LOADAOF");
                    ctx.ok();
                }
                Err(e) => ctx.error(&format!("ERR {e}")),
            }
            true
        }
        b"aof-flush-sleep" if req.len() == 3 => {
            match super::int_arg(req, 2).and_then(|n| u64::try_from(n).ok()) {
                Some(us) => {
                    ctx.shared
                        .persist
                        .aof_flush_sleep_us
                        .store(us, Ordering::Relaxed);
                    ctx.ok();
                }
                None => ctx.error("ERR value is out of range, must be positive"),
            }
            true
        }
        _ => false,
    }
}

/// `CONFIG SET appendonly|appendfsync`: turns the AOF on or off, or changes
/// its fsync policy, at run time.
pub(crate) fn apply_config(ctx: &mut Ctx<'_>, changed: &[String]) {
    let Some(shared) = ctx.shared.me() else {
        return;
    };
    if changed.iter().any(|n| n == "aof-disable-auto-gc") {
        persist::aof::gc_now(&shared);
    }
    if changed.iter().any(|n| n == "aof-timestamp-enabled") {
        let on = persist::aof::timestamps_enabled(&shared);
        if let Some(aof) = shared.persist.aof.lock().as_mut() {
            aof.timestamps = on;
        }
    }
    if changed.iter().any(|n| n == "appendfsync") {
        let policy = persist::aof::Fsync::from_config(&shared);
        if let Some(aof) = shared.persist.aof.lock().as_mut() {
            aof.fsync = policy;
        }
    }
    if changed.iter().any(|n| n == "appendonly") {
        let on = shared.config.read().get_bool("appendonly").unwrap_or(false);
        if on {
            if let Err(e) = persist::aof::enable(&shared) {
                log::warning(&format!("Could not turn the AOF on: {e}"));
            }
        } else {
            persist::aof::disable(&shared);
        }
    }
}
