//! Server commands: INFO, CONFIG, COMMAND, DBSIZE, FLUSHDB, FLUSHALL, TIME,
//! SWAPDB, SHUTDOWN and SLOWLOG.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use ferrodis_resp::Request;

use ferrodis_store::EvictionPolicy;

use super::flags::*;
use super::{arg, int_arg, is, lookup, spec, table, Ctx, Spec};
use crate::shared::{unix_ms, WorkerMsg};

/// The Redis version Ferrodis is compatible with, reported where clients
/// and tools look for `redis_version`.
pub(crate) const REDIS_VERSION: &str = "7.0.15";

pub(super) fn specs() -> Vec<Spec> {
    vec![
        spec("info", -1, LOADING | STALE, (0, 0, 0), info),
        spec(
            "config",
            -2,
            ADMIN | NOSCRIPT | LOADING | STALE,
            (0, 0, 0),
            config,
        ),
        spec("command", -1, LOADING | STALE, (0, 0, 0), command),
        spec("dbsize", 1, READONLY | FAST, (0, 0, 0), dbsize),
        spec("flushdb", -1, WRITE, (0, 0, 0), flushdb),
        spec("flushall", -1, WRITE, (0, 0, 0), flushall),
        spec("time", 1, LOADING | STALE | FAST, (0, 0, 0), time),
        spec("swapdb", 3, WRITE | FAST, (0, 0, 0), swapdb),
        spec(
            "shutdown",
            -1,
            ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY,
            (0, 0, 0),
            shutdown,
        ),
        spec("slowlog", -2, ADMIN | LOADING | STALE, (0, 0, 0), slowlog),
        spec("memory", -2, READONLY, (2, 2, 1), memory),
        spec("function", -2, NOSCRIPT, (0, 0, 0), function),
        spec(
            "monitor",
            1,
            ADMIN | NOSCRIPT | LOADING | STALE,
            (0, 0, 0),
            monitor,
        ),
    ]
}

fn dbsize(ctx: &mut Ctx<'_>, _req: &Request) {
    let n = ctx.db().len();
    ctx.uint(n);
}

/// FLUSHDB/FLUSHALL take an optional ASYNC or SYNC.
fn flush_mode_ok(ctx: &mut Ctx<'_>, req: &Request) -> bool {
    match req.len() {
        1 => true,
        2 if is(req, 1, "async") || is(req, 1, "sync") => true,
        _ => {
            ctx.syntax_error();
            false
        }
    }
}

fn flushdb(ctx: &mut Ctx<'_>, req: &Request) {
    if flush_mode_ok(ctx, req) {
        ctx.db().flush();
        ctx.ok();
    }
}

fn flushall(ctx: &mut Ctx<'_>, req: &Request) {
    if flush_mode_ok(ctx, req) {
        // As Redis: a background save of the old data is pointless now.
        crate::persist::abort_bgsave(ctx.shared);
        ctx.shared.store.flush_all();
        if !ctx.shared.config.read().save_params().is_empty() {
            crate::persist::save(ctx.shared);
        }
        ctx.ok();
    }
}

fn time(ctx: &mut Ctx<'_>, _req: &Request) {
    let us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    ctx.array(2);
    ctx.bulk((us / 1_000_000).to_string().as_bytes());
    ctx.bulk((us % 1_000_000).to_string().as_bytes());
}

fn swapdb(ctx: &mut Ctx<'_>, req: &Request) {
    if ctx.shared.config.read().cluster_enabled() {
        ctx.error("ERR SWAPDB is not allowed in cluster mode");
        return;
    }
    let (Some(a), Some(b)) = (int_arg(req, 1), int_arg(req, 2)) else {
        let which = if int_arg(req, 1).is_none() {
            "first"
        } else {
            "second"
        };
        ctx.error(&format!("ERR invalid {which} DB index"));
        return;
    };
    let n = ctx.shared.store.databases() as i64;
    if a < 0 || a >= n || b < 0 || b >= n {
        ctx.error("ERR DB index is out of range");
        return;
    }
    match ctx.shared.store.swap_dbs(a as usize, b as usize) {
        Ok(()) => ctx.ok(),
        Err(e) => ctx.store_error(e),
    }
}

fn shutdown(ctx: &mut Ctx<'_>, req: &Request) {
    for a in req.args().skip(1) {
        let a = a.to_ascii_lowercase();
        if !matches!(&a[..], b"nosave" | b"save" | b"now" | b"force" | b"abort") {
            ctx.syntax_error();
            return;
        }
    }
    if is(req, 1, "abort") {
        ctx.error("ERR No shutdown in progress.");
        return;
    }
    crate::log::warning("User requested shutdown...");
    if !super::persist::before_shutdown(ctx, req) {
        crate::log::warning(
            "Errors trying to shut down the server. Check the logs for more information.",
        );
        ctx.error("ERR Errors trying to SHUTDOWN. Check logs.");
        return;
    }
    ctx.shared.shutdown.store(true, Ordering::Relaxed);
    for w in ctx.shared.workers.read().iter() {
        w.send(WorkerMsg::Shutdown);
    }
    // Redis closes the connection without a reply on success.
    ctx.client.close_after_reply = true;
}

/// MONITOR: from now on, receive every command the server runs.
fn monitor(ctx: &mut Ctx<'_>, _req: &Request) {
    if ctx.client.monitor {
        ctx.ok();
        return;
    }
    ctx.client.monitor = true;
    let mut monitors = ctx.shared.monitors.write();
    monitors.push((ctx.client.id(), ctx.client.meta.worker));
    ctx.shared
        .monitor_count
        .store(monitors.len(), Ordering::Relaxed);
    drop(monitors);
    ctx.ok();
}

/// The figures of `INFO memory` and `MEMORY STATS`, read together.
struct MemoryFigures {
    /// `used_memory`: live bytes by the counting allocator.
    used: u64,
    peak: u64,
    rss: u64,
    /// `used_memory` once the server was initialised.
    startup: u64,
    /// Startup memory plus the keyspace tables' own structure.
    overhead: u64,
    keys: u64,
    /// Per database holding keys: `(index, keys, table overhead)`.
    dbs: Vec<(usize, usize, usize)>,
}

impl MemoryFigures {
    fn read(store: &ferrodis_store::Store) -> MemoryFigures {
        let dbs = store.memory_overhead();
        let (used, peak) = crate::alloc::update_peak();
        let startup = crate::alloc::startup_memory() as u64;
        let tables: usize = dbs.iter().map(|d| d.2).sum();
        MemoryFigures {
            used: used as u64,
            peak: peak as u64,
            rss: rss_bytes(),
            startup,
            overhead: startup + tables as u64,
            keys: dbs.iter().map(|d| d.1 as u64).sum(),
            dbs,
        }
    }

    /// `used_memory_dataset`: what is not overhead.
    fn dataset(&self) -> u64 {
        self.used.saturating_sub(self.overhead)
    }

    /// The dataset as a percentage of the memory used since startup.
    fn dataset_perc(&self) -> f64 {
        let net = self.used.saturating_sub(self.startup).max(1);
        self.dataset() as f64 * 100.0 / net as f64
    }

    fn peak_perc(&self) -> f64 {
        self.used as f64 * 100.0 / self.peak.max(1) as f64
    }

    /// RSS over used memory.
    fn fragmentation(&self) -> f64 {
        self.rss as f64 / self.used.max(1) as f64
    }

    fn fragmentation_bytes(&self) -> i64 {
        self.rss as i64 - self.used as i64
    }
}

/// `MEMORY DOCTOR`'s answers (Redis' texts; its detectors need jemalloc's
/// statistics, so only the "empty" and "nothing found" cases remain).
const DOCTOR_EMPTY: &str = "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n";
const DOCTOR_FINE: &str = "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n";

fn memory(ctx: &mut Ctx<'_>, req: &Request) {
    let sub = arg(req, 1).to_ascii_lowercase();
    match (&sub[..], req.len()) {
        (b"help", 2) => {
            let lines = [
                "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "DOCTOR",
                "    Return memory problems reports.",
                "MALLOC-STATS",
                "    Return internal statistics report from the memory allocator.",
                "PURGE",
                "    Attempt to purge dirty pages for reclamation by the allocator.",
                "STATS",
                "    Return information about the memory usage of the server.",
                "USAGE <key> [SAMPLES <count>]",
                "    Return memory in bytes used by <key> and its value. Nested values are",
                "    sampled up to <count> times (default: 5, 0 means sample all).",
                "HELP",
                "    Prints this help.",
            ];
            ctx.array(lines.len());
            for l in lines {
                ctx.simple(l);
            }
        }
        // MEMORY USAGE key [SAMPLES count]: the count only tunes Redis'
        // sampling; sizes here are computed exactly.
        (b"usage", n) if n >= 3 => {
            let mut i = 3;
            while i < n {
                if is(req, i, "samples") && i + 1 < n {
                    match int_arg(req, i + 1) {
                        None => return ctx.not_integer(),
                        Some(s) if s < 0 => return ctx.syntax_error(),
                        Some(_) => i += 2,
                    }
                } else {
                    return ctx.syntax_error();
                }
            }
            match ctx.db().memory_usage(arg(req, 2)) {
                Some(n) => ctx.uint(n),
                None => ctx.null(),
            }
        }
        (b"stats", 2) => memory_stats(ctx),
        (b"doctor", 2) => {
            let used = crate::alloc::used_memory();
            let text = if used < 5 * 1024 * 1024 {
                DOCTOR_EMPTY
            } else {
                DOCTOR_FINE
            };
            ctx.verbatim(text.as_bytes());
        }
        (b"malloc-stats", 2) => ctx.bulk(b"Stats not supported for the current allocator"),
        (b"purge", 2) => ctx.ok(),
        (b"help" | b"usage" | b"stats" | b"doctor" | b"malloc-stats" | b"purge", _) => {
            ctx.error(&format!(
                "ERR wrong number of arguments for 'memory|{}' command",
                String::from_utf8_lossy(&sub)
            ))
        }
        _ => ctx.error(&format!(
            "ERR unknown subcommand '{}'. Try MEMORY HELP.",
            String::from_utf8_lossy(arg(req, 1))
        )),
    }
}

/// `MEMORY STATS`, with Redis' fields; the allocator's own figures
/// (`allocator.*`) are the counting allocator's, as glibc reports no
/// active/resident split.
fn memory_stats(ctx: &mut Ctx<'_>) {
    let m = MemoryFigures::read(&ctx.shared.store);
    let proto = ctx.proto();
    let double = |ctx: &mut Ctx<'_>, d: f64| ferrodis_resp::reply::double(ctx.out(), d, proto);
    ctx.map(27 + m.dbs.iter().filter(|d| d.1 > 0).count());
    let head: [(&str, u64); 10] = [
        ("peak.allocated", m.peak),
        ("total.allocated", m.used),
        ("startup.allocated", m.startup),
        ("replication.backlog", 0),
        ("clients.slaves", 0),
        ("clients.normal", 0),
        ("cluster.links", 0),
        ("aof.buffer", 0),
        ("lua.caches", 0),
        ("functions.caches", 0),
    ];
    for (name, n) in head {
        ctx.bulk(name.as_bytes());
        ctx.int(n as i64);
    }
    for (db, _, overhead) in m.dbs.iter().filter(|d| d.1 > 0) {
        ctx.bulk(format!("db.{db}").as_bytes());
        ctx.map(3);
        ctx.bulk(b"overhead.hashtable.main");
        ctx.uint(*overhead);
        ctx.bulk(b"overhead.hashtable.expires");
        ctx.int(0);
        ctx.bulk(b"overhead.hashtable.slot-to-keys");
        ctx.int(0);
    }
    let net = m.used.saturating_sub(m.startup);
    let per_key = net.checked_div(m.keys).unwrap_or(0);
    for (name, n) in [
        ("overhead.total", m.overhead),
        ("keys.count", m.keys),
        ("keys.bytes-per-key", per_key),
        ("dataset.bytes", m.dataset()),
    ] {
        ctx.bulk(name.as_bytes());
        ctx.int(n as i64);
    }
    ctx.bulk(b"dataset.percentage");
    double(ctx, m.dataset_perc());
    ctx.bulk(b"peak.percentage");
    double(ctx, m.peak_perc());
    for (name, n) in [
        ("allocator.allocated", m.used),
        ("allocator.active", m.used),
        ("allocator.resident", m.rss),
    ] {
        ctx.bulk(name.as_bytes());
        ctx.int(n as i64);
    }
    let rows: [(&str, f64, i64); 4] = [
        ("allocator-fragmentation", 1.0, 0),
        ("allocator-rss", m.fragmentation(), m.fragmentation_bytes()),
        ("rss-overhead", 1.0, 0),
        ("fragmentation", m.fragmentation(), m.fragmentation_bytes()),
    ];
    for (name, ratio, bytes) in rows {
        if name == "fragmentation" {
            ctx.bulk(b"fragmentation");
        } else {
            ctx.bulk(format!("{name}.ratio").as_bytes());
        }
        double(ctx, ratio);
        ctx.bulk(format!("{name}.bytes").as_bytes());
        ctx.int(bytes);
    }
}

/// SLOWLOG GET [count] | LEN | RESET | HELP.
fn slowlog(ctx: &mut Ctx<'_>, req: &Request) {
    let sub = arg(req, 1).to_ascii_lowercase();
    match (&sub[..], req.len()) {
        (b"get", 2 | 3) => {
            let count = if req.len() == 3 {
                match int_arg(req, 2) {
                    Some(-1) => None,
                    Some(n) if n >= 0 => Some(n as usize),
                    _ => {
                        ctx.error("ERR count should be greater than or equal to -1");
                        return;
                    }
                }
            } else {
                Some(10)
            };
            let entries = ctx.shared.slowlog.get(count);
            ctx.array(entries.len());
            for e in entries {
                ctx.array(6);
                ctx.int(e.id as i64);
                ctx.int(e.unix_secs as i64);
                ctx.int(e.micros as i64);
                ctx.bulks(e.args.iter().map(|a| &a[..]));
                ctx.bulk(e.addr.as_bytes());
                ctx.bulk(&e.name);
            }
        }
        (b"len", 2) => {
            let n = ctx.shared.slowlog.len();
            ctx.uint(n);
        }
        (b"reset", 2) => {
            ctx.shared.slowlog.reset();
            ctx.ok();
        }
        (b"help", 2) => {
            let lines = [
                "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET [<count>]",
                "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
                "    Entries are made of:",
                "    id, timestamp, time in microseconds, arguments array, client IP and port,",
                "    client name",
                "LEN",
                "    Return the length of the slowlog.",
                "RESET",
                "    Reset the slowlog.",
                "HELP",
                "    Prints this help.",
            ];
            ctx.array(lines.len());
            for l in lines {
                ctx.simple(l);
            }
        }
        (b"get" | b"len" | b"reset" | b"help", _) => ctx.error(&format!(
            "ERR wrong number of arguments for 'slowlog|{}' command",
            String::from_utf8_lossy(&sub)
        )),
        _ => ctx.error(&format!(
            "ERR unknown subcommand '{}'. Try SLOWLOG HELP.",
            String::from_utf8_lossy(arg(req, 1))
        )),
    }
}

/// FUNCTION: Ferrodis has no scripting engine yet, so the library set is
/// always empty; FLUSH and LIST answer as Redis does on an empty set.
fn function(ctx: &mut Ctx<'_>, req: &Request) {
    let sub = arg(req, 1).to_ascii_lowercase();
    match (&sub[..], req.len()) {
        (b"flush", 2) => ctx.ok(),
        (b"flush", 3) if is(req, 2, "async") || is(req, 2, "sync") => ctx.ok(),
        (b"flush", _) => ctx.error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option"),
        (b"list", _) => ctx.array(0),
        (b"stats", 2) => {
            ctx.map(2);
            ctx.bulk(b"running_script");
            ctx.null();
            ctx.bulk(b"engines");
            ctx.map(0);
        }
        _ => ctx.error(&format!(
            "ERR unknown subcommand '{}'. Try FUNCTION HELP.",
            String::from_utf8_lossy(arg(req, 1))
        )),
    }
}

fn config(ctx: &mut Ctx<'_>, req: &Request) {
    let sub = arg(req, 1).to_ascii_lowercase();
    match &sub[..] {
        b"get" if req.len() >= 3 => {
            let patterns: Vec<&[u8]> = req.args().skip(2).collect();
            let pairs = ctx.shared.config.read().get(&patterns);
            ctx.map(pairs.len());
            for (k, v) in pairs {
                ctx.bulk(k.as_bytes());
                ctx.bulk(v.as_bytes());
            }
        }
        b"set" if req.len() >= 4 && req.len() % 2 == 0 => {
            let pairs: Vec<(&[u8], &[u8])> = (2..req.len())
                .step_by(2)
                .map(|i| (arg(req, i), arg(req, i + 1)))
                .collect();
            let result = ctx.shared.config.write().set(&pairs);
            match result {
                Ok(changed) => {
                    apply_config(ctx, &changed);
                    ctx.ok();
                }
                Err(e) => ctx.error(&e),
            }
        }
        b"resetstat" if req.len() == 2 => {
            let c = &ctx.shared.counters;
            for a in [
                &c.commands_processed,
                &c.connections_received,
                &c.rejected_connections,
                &c.net_input_bytes,
                &c.net_output_bytes,
                &c.total_error_replies,
            ] {
                a.store(0, Ordering::Relaxed);
            }
            let s = ctx.shared.store.stats();
            for a in [
                &s.expired_keys,
                &s.evicted_keys,
                &s.keyspace_hits,
                &s.keyspace_misses,
            ] {
                a.store(0, Ordering::Relaxed);
            }
            super::reset_command_stats(ctx.shared);
            ctx.ok();
        }
        b"rewrite" if req.len() == 2 => {
            let result = ctx.shared.config.read().rewrite();
            match result {
                Ok(()) => ctx.ok(),
                Err(e) => {
                    let text = e.to_string();
                    if text.starts_with("ERR") {
                        ctx.error(&text);
                    } else {
                        ctx.error(&format!("ERR Rewriting config file: {text}"));
                    }
                }
            }
        }
        b"get" | b"set" | b"resetstat" | b"rewrite" => ctx.error(&format!(
            "ERR wrong number of arguments for 'config|{}' command",
            String::from_utf8_lossy(&sub)
        )),
        _ => ctx.error(&format!(
            "ERR unknown subcommand '{}'. Try CONFIG HELP.",
            String::from_utf8_lossy(arg(req, 1))
        )),
    }
}

/// The store's encoding thresholds, by configuration name (Redis 7 keeps
/// the `ziplist` names as aliases of the `listpack` ones).
const ENCODING_SETTINGS: &[(&str, &str)] = &[
    ("hash-max-listpack-entries", "hash-max-ziplist-entries"),
    ("hash-max-listpack-value", "hash-max-ziplist-value"),
    ("set-max-intset-entries", "set-max-intset-entries"),
    ("zset-max-listpack-entries", "zset-max-ziplist-entries"),
    ("zset-max-listpack-value", "zset-max-ziplist-value"),
];

/// Copies the encoding thresholds from the configuration into the store's
/// settings (at startup and after CONFIG SET).
pub(crate) fn apply_encoding_settings(store: &ferrodis_store::Store, cfg: &crate::config::Config) {
    let s = store.settings();
    for (i, (name, alias)) in ENCODING_SETTINGS.iter().enumerate() {
        let value = cfg.get_str(name).or_else(|| cfg.get_str(alias));
        let Some(n) = value.and_then(|v| v.parse::<usize>().ok()) else {
            continue;
        };
        let target = match i {
            0 => &s.hash_max_listpack_entries,
            1 => &s.hash_max_listpack_value,
            2 => &s.set_max_intset_entries,
            3 => &s.zset_max_listpack_entries,
            _ => &s.zset_max_listpack_value,
        };
        target.store(n, Ordering::Relaxed);
    }
}

/// The settings eviction reads, by configuration name.
const MEMORY_SETTINGS: &[&str] = &[
    "maxmemory",
    "maxmemory-policy",
    "maxmemory-samples",
    "lfu-log-factor",
    "lfu-decay-time",
];

/// Copies `maxmemory` and the eviction settings from the configuration into
/// the store's settings (at startup and after CONFIG SET).
pub(crate) fn apply_memory_settings(store: &ferrodis_store::Store, cfg: &crate::config::Config) {
    let s = store.settings();
    s.maxmemory.store(cfg.maxmemory(), Ordering::Relaxed);
    if let Some(policy) = EvictionPolicy::from_name(cfg.maxmemory_policy()) {
        s.set_maxmemory_policy(policy);
    }
    if let Some(n) = cfg.get_u64("maxmemory-samples") {
        s.maxmemory_samples
            .store(usize::try_from(n).unwrap_or(usize::MAX), Ordering::Relaxed);
    }
    for (name, target) in [
        ("lfu-log-factor", &s.lfu_log_factor),
        ("lfu-decay-time", &s.lfu_decay_time),
    ] {
        if let Some(n) = cfg.get_u64(name) {
            target.store(u32::try_from(n).unwrap_or(u32::MAX), Ordering::Relaxed);
        }
    }
}

/// Pushes changed settings to where they are consulted.
fn apply_config(ctx: &mut Ctx<'_>, changed: &[String]) {
    if changed.iter().any(|n| n.starts_with("latency-")) {
        crate::latency::apply_config(ctx.shared);
    }
    if changed.iter().any(|n| n.starts_with("slowlog-")) {
        let cfg = ctx.shared.config.read();
        ctx.shared
            .slowlog
            .configure(cfg.slowlog_log_slower_than(), cfg.slowlog_max_len());
    }
    if changed
        .iter()
        .any(|n| MEMORY_SETTINGS.contains(&n.as_str()))
    {
        apply_memory_settings(&ctx.shared.store, &ctx.shared.config.read());
    }
    if changed.iter().any(|n| n == "maxmemory") {
        // A lower limit takes effect at once, as in Redis.
        let limit = ctx.shared.config.read().maxmemory();
        let used = crate::alloc::used_memory() as u64;
        if limit > 0 && used > limit {
            crate::log::warning(&format!("WARNING: the new maxmemory value set via CONFIG SET ({limit}) is smaller than the current memory usage ({used}). This will result in key eviction and/or the inability to accept new write commands depending on the maxmemory-policy."));
        }
        // Refusing writes is for the next command to decide.
        let _ = ctx.shared.store.evict_if_needed();
    }
    super::persist::apply_config(ctx, changed);
    if changed.iter().any(|n| n == "hll-sparse-max-bytes") {
        super::hyperloglog::apply_config(&ctx.shared.store, &ctx.shared.config.read());
    }
    if changed.iter().any(|n| n == "repl-backlog-size") {
        crate::repl::resize_backlog(ctx.shared);
    }
    if changed.iter().any(|n| n == "notify-keyspace-events") {
        crate::pubsub::apply_notify_flags(ctx.shared);
    }
    // Keep an alias and its name equal, then apply the thresholds.
    let mut aliased = Vec::new();
    for name in changed {
        for (a, b) in ENCODING_SETTINGS {
            if name == a || name == b {
                let other = if name == a { b } else { a };
                let value = ctx.shared.config.read().get_str(name).map(str::to_owned);
                if let Some(v) = value {
                    aliased.push(((*other).to_owned(), v));
                }
            }
        }
    }
    if !aliased.is_empty() {
        let pairs: Vec<(&[u8], &[u8])> = aliased
            .iter()
            .map(|(k, v)| (k.as_bytes(), v.as_bytes()))
            .collect();
        // Both names are known settings, so this cannot fail.
        let _ = ctx.shared.config.write().set(&pairs);
        apply_encoding_settings(&ctx.shared.store, &ctx.shared.config.read());
    }
    let cfg = ctx.shared.config.read();
    for name in changed {
        if name == "proto-max-bulk-len" {
            let len = cfg.proto_max_bulk_len() as usize;
            ctx.shared
                .store
                .settings()
                .proto_max_bulk_len
                .store(len, Ordering::Relaxed);
            let limits = ferrodis_resp::Limits {
                max_bulk_len: len,
                ..*ctx.client.decoder.limits()
            };
            ctx.client.decoder.set_limits(limits);
        }
    }
}

fn command(ctx: &mut Ctx<'_>, req: &Request) {
    let sub = arg(req, 1).to_ascii_lowercase();
    match (&sub[..], req.len()) {
        (_, 1) => {
            let all: Vec<&Spec> = table().values().collect();
            ctx.array(all.len());
            for s in all {
                command_entry(ctx, s);
            }
        }
        (b"count", 2) => ctx.uint(table().len()),
        (b"list", _) => {
            let mut names: Vec<&str> = table().keys().copied().collect();
            names.sort_unstable();
            ctx.bulks(names.iter().map(|n| n.as_bytes()));
        }
        (b"info", _) => {
            let names: Vec<&[u8]> = if req.len() == 2 {
                table().keys().map(|k| k.as_bytes()).collect()
            } else {
                req.args().skip(2).collect()
            };
            ctx.array(names.len());
            for n in names {
                match lookup(n) {
                    Some(s) => command_entry(ctx, s),
                    None => ctx.null_array(),
                }
            }
        }
        (b"docs", _) => {
            let names: Vec<&[u8]> = req.args().skip(2).collect();
            let found: Vec<&Spec> = names.iter().filter_map(|n| lookup(n)).collect();
            ctx.map(found.len());
            for s in found {
                ctx.bulk(s.name.as_bytes());
                ctx.map(0);
            }
        }
        (b"getkeys", n) if n >= 3 => {
            let Some(s) = lookup(arg(req, 2)) else {
                ctx.error("ERR Invalid command specified");
                return;
            };
            let argc = n - 2;
            if !s.arity_ok(argc) {
                ctx.error("ERR Invalid number of arguments specified for command");
                return;
            }
            let keys = if s.name == "sort" {
                let args: Vec<&[u8]> = req.args().skip(2).collect();
                super::sort::key_positions(&args)
            } else {
                key_positions(s, argc)
            };
            if keys.is_empty() {
                ctx.error("ERR The command has no key arguments");
                return;
            }
            ctx.bulks(keys.iter().map(|&i| arg(req, i + 2)));
        }
        _ => ctx.error(&format!(
            "ERR unknown subcommand '{}'. Try COMMAND HELP.",
            String::from_utf8_lossy(arg(req, 1))
        )),
    }
}

/// The argument positions of a command's keys, from its table row.
pub(crate) fn key_positions(s: &Spec, argc: usize) -> Vec<usize> {
    let (first, last, step) = s.keys;
    if first <= 0 || step <= 0 {
        return Vec::new();
    }
    let last = if last < 0 { argc as i32 + last } else { last };
    (first..=last.min(argc as i32 - 1))
        .step_by(step as usize)
        .map(|i| i as usize)
        .collect()
}

fn command_entry(ctx: &mut Ctx<'_>, s: &Spec) {
    let flag_names: Vec<&str> = NAMES
        .iter()
        .filter(|(f, _)| s.flags & f != 0)
        .map(|(_, n)| *n)
        .collect();
    ctx.array(10);
    ctx.bulk(s.name.as_bytes());
    ctx.int(i64::from(s.arity));
    ctx.set(flag_names.len());
    for f in flag_names {
        ctx.simple(f);
    }
    ctx.int(i64::from(s.keys.0));
    ctx.int(i64::from(s.keys.1));
    ctx.int(i64::from(s.keys.2));
    ctx.set(0);
    ctx.array(0);
    ctx.array(0);
    ctx.array(0);
}

fn info(ctx: &mut Ctx<'_>, req: &Request) {
    let wanted: Vec<String> = req
        .args()
        .skip(1)
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    let text = info_text(ctx, &wanted);
    ctx.verbatim(text.as_bytes());
}

/// INFO's text for the requested sections (default, all, everything, or
/// names).
pub(crate) fn info_text(ctx: &Ctx<'_>, wanted: &[String]) -> String {
    const DEFAULT: &[&str] = &[
        "server",
        "clients",
        "memory",
        "persistence",
        "stats",
        "replication",
        "cpu",
        "modules",
        "errorstats",
        "cluster",
        "keyspace",
    ];
    let all = wanted.iter().any(|w| w == "all" || w == "everything");
    let default = wanted.is_empty() || wanted.iter().any(|w| w == "default");
    let show = |name: &str| {
        all || (default && DEFAULT.contains(&name)) || wanted.iter().any(|w| w == name)
    };
    let sh = ctx.shared;
    let cfg = sh.config.read();
    let c = &sh.counters;
    let st = sh.store.stats();
    let uptime = sh.started.elapsed().as_secs();
    let mut out = String::new();
    let mut section = |title: &str, body: String| {
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        let _ = write!(out, "# {title}\r\n{body}");
    };
    if show("server") {
        section(
            "Server",
            format!(
                "redis_version:{REDIS_VERSION}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:{}\r\nferrodis_version:{}\r\nos:{} {}\r\narch_bits:64\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:epoll\r\nprocess_id:{}\r\nprocess_supervised:no\r\nrun_id:{}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{uptime}\r\nuptime_in_days:{}\r\nhz:{}\r\nconfigured_hz:{}\r\nlru_clock:{}\r\nexecutable:{}\r\nconfig_file:\r\nio_threads_active:0\r\n",
                if cfg.cluster_enabled() { "cluster" } else { "standalone" },
                env!("CARGO_PKG_VERSION"),
                std::env::consts::OS,
                std::env::consts::ARCH,
                std::process::id(),
                sh.run_id,
                sh.port,
                unix_ms() * 1000,
                uptime / 86400,
                cfg.hz(),
                cfg.hz(),
                (unix_ms() / 1000) % (1 << 24),
                std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default(),
            ),
        );
    }
    if show("clients") {
        section(
            "Clients",
            format!(
                "connected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\nclient_recent_max_input_buffer:0\r\nclient_recent_max_output_buffer:0\r\nblocked_clients:{}\r\ntracking_clients:0\r\nclients_in_timeout_table:0\r\n",
                c.connected_clients.load(Ordering::Relaxed),
                cfg.maxclients(),
                ctx.shared.blocking.waiting(),
            ),
        );
    }
    if show("memory") {
        let m = MemoryFigures::read(&sh.store);
        let system = total_system_memory();
        section(
            "Memory",
            format!(
                "used_memory:{}\r\nused_memory_human:{}\r\nused_memory_rss:{}\r\nused_memory_rss_human:{}\r\nused_memory_peak:{}\r\nused_memory_peak_human:{}\r\nused_memory_peak_perc:{:.2}%\r\nused_memory_overhead:{}\r\nused_memory_startup:{}\r\nused_memory_dataset:{}\r\nused_memory_dataset_perc:{:.2}%\r\ntotal_system_memory:{system}\r\ntotal_system_memory_human:{}\r\nmaxmemory:{}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:{}\r\nmem_fragmentation_ratio:{:.2}\r\nmem_fragmentation_bytes:{}\r\nmem_not_counted_for_evict:0\r\nmem_allocator:libc\r\nlazyfree_pending_objects:0\r\n",
                m.used,
                human(m.used),
                m.rss,
                human(m.rss),
                m.peak,
                human(m.peak),
                m.peak_perc(),
                m.overhead,
                m.startup,
                m.dataset(),
                m.dataset_perc(),
                human(system),
                cfg.maxmemory(),
                human(cfg.maxmemory()),
                cfg.maxmemory_policy(),
                m.fragmentation(),
                m.fragmentation_bytes(),
            ),
        );
    }
    if show("persistence") {
        section("Persistence", crate::persist::info(sh));
    }
    if show("stats") {
        section(
            "Stats",
            format!(
                "total_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:0\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\nrejected_connections:{}\r\nsync_full:{}\r\nsync_partial_ok:{}\r\nsync_partial_err:{}\r\nexpired_keys:{}\r\nexpired_stale_perc:0.00\r\nexpired_time_cap_reached_count:0\r\nevicted_keys:{}\r\nevicted_clients:0\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\npubsub_channels:0\r\npubsub_patterns:0\r\nlatest_fork_usec:0\r\ntotal_forks:0\r\nmigrate_cached_sockets:{}\r\ntotal_error_replies:{}\r\n",
                c.connections_received.load(Ordering::Relaxed),
                c.commands_processed.load(Ordering::Relaxed),
                c.net_input_bytes.load(Ordering::Relaxed),
                c.net_output_bytes.load(Ordering::Relaxed),
                c.rejected_connections.load(Ordering::Relaxed),
                sh.repl.sync_full.load(Ordering::Relaxed),
                sh.repl.sync_partial_ok.load(Ordering::Relaxed),
                sh.repl.sync_partial_err.load(Ordering::Relaxed),
                st.expired_keys.load(Ordering::Relaxed),
                st.evicted_keys.load(Ordering::Relaxed),
                st.keyspace_hits.load(Ordering::Relaxed),
                st.keyspace_misses.load(Ordering::Relaxed),
                sh.migrate_sockets.expire_idle(),
                c.total_error_replies.load(Ordering::Relaxed),
            ),
        );
    }
    if show("replication") {
        section("Replication", crate::repl::info(sh));
    }
    if show("cpu") {
        section("CPU", "used_cpu_sys:0.000000\r\nused_cpu_user:0.000000\r\nused_cpu_sys_children:0.000000\r\nused_cpu_user_children:0.000000\r\n".to_owned());
    }
    if show("modules") {
        section("Modules", String::new());
    }
    if all || wanted.iter().any(|w| w == "commandstats") {
        let mut body = String::new();
        let mut specs: Vec<&Spec> = table().values().collect();
        specs.sort_by_key(|s| s.name);
        for s in specs {
            let calls = s.stats.calls.load(Ordering::Relaxed);
            let rejected = s.stats.rejected.load(Ordering::Relaxed);
            let failed = s.stats.failed.load(Ordering::Relaxed);
            if calls + rejected + failed == 0 {
                continue;
            }
            let usec = s.stats.usec.load(Ordering::Relaxed);
            let per_call = if calls == 0 {
                0.0
            } else {
                usec as f64 / calls as f64
            };
            let _ = write!(
                body,
                "cmdstat_{}:calls={calls},usec={usec},usec_per_call={per_call:.2},rejected_calls={rejected},failed_calls={failed}\r\n",
                s.name
            );
        }
        section("Commandstats", body);
    }
    if show("errorstats") {
        let mut body = String::new();
        for (code, n) in sh.error_stats.lock().iter() {
            let _ = write!(body, "errorstat_{code}:count={n}\r\n");
        }
        section("Errorstats", body);
    }
    if show("cluster") {
        section(
            "Cluster",
            format!("cluster_enabled:{}\r\n", u8::from(cfg.cluster_enabled())),
        );
    }
    if show("keyspace") {
        let mut body = String::new();
        for (db, keys, expires) in sh.store.keyspace_info() {
            let _ = write!(body, "db{db}:keys={keys},expires={expires},avg_ttl=0\r\n");
        }
        section("Keyspace", body);
    }
    out
}

/// Resident set size from /proc (0 where unavailable).
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

/// Physical memory of the machine, from /proc (0 where unavailable).
fn total_system_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("MemTotal:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// `1.50M`-style sizes, as Redis' `bytesToHuman` prints them.
fn human(n: u64) -> String {
    const UNITS: [(u64, &str); 5] = [
        (1 << 50, "P"),
        (1 << 40, "T"),
        (1 << 30, "G"),
        (1 << 20, "M"),
        (1 << 10, "K"),
    ];
    for (scale, unit) in UNITS {
        if n >= scale {
            return format!("{:.2}{unit}", n as f64 / scale as f64);
        }
    }
    format!("{n}B")
}
