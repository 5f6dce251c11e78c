//! The command table and dispatch.
//!
//! One table drives everything a command needs to be run and described:
//! name, arity (as `COMMAND` reports it: positive = exact, negative =
//! minimum), flags, key positions (first, last, step) and the handler. The
//! handlers are grouped by family in the submodules; each writes its reply
//! through [`Ctx`].

mod bits;
mod cluster;
mod connection;
mod debug;
mod dump;
mod hashes;
pub(crate) mod hyperloglog;
mod keys;
mod latency;
mod lists;
pub(crate) mod migrate;
pub(crate) mod persist;
mod pubsub;
mod repl;
mod server;
mod sets;
mod sort;
mod strings;
mod subcommands;
mod zsets;

pub(crate) use dump::options_of as dump_options;
pub(crate) use server::{apply_encoding_settings, apply_memory_settings, key_positions};
pub(crate) use sort::key_positions as sort_key_positions;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use bytes::BytesMut;
use ferrodis_resp::{reply, Protocol, Request};
use ferrodis_store::{Db, StoreError};

use crate::client::{Client, Multi, ReplyMode};
use crate::shared::Shared;

/// Command flags, as `COMMAND INFO` lists them.
pub(crate) mod flags {
    pub(crate) const WRITE: u32 = 1;
    pub(crate) const READONLY: u32 = 1 << 1;
    pub(crate) const DENYOOM: u32 = 1 << 2;
    pub(crate) const ADMIN: u32 = 1 << 3;
    pub(crate) const PUBSUB: u32 = 1 << 4;
    pub(crate) const NOSCRIPT: u32 = 1 << 5;
    pub(crate) const BLOCKING: u32 = 1 << 6;
    pub(crate) const LOADING: u32 = 1 << 7;
    pub(crate) const STALE: u32 = 1 << 8;
    pub(crate) const NO_AUTH: u32 = 1 << 9;
    pub(crate) const FAST: u32 = 1 << 10;
    pub(crate) const NO_MULTI: u32 = 1 << 11;
    pub(crate) const ALLOW_BUSY: u32 = 1 << 12;

    /// Flag names in `COMMAND` order.
    pub(crate) const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (NO_AUTH, "no_auth"),
        (FAST, "fast"),
        (NO_MULTI, "no_multi"),
        (ALLOW_BUSY, "allow_busy"),
    ];
}

/// A command handler.
pub(crate) type Handler = fn(&mut Ctx<'_>, &Request);

/// Per-command counters for `INFO commandstats`.
#[derive(Default)]
pub(crate) struct CommandStats {
    pub(crate) calls: AtomicU64,
    pub(crate) usec: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) failed: AtomicU64,
    /// `LATENCY HISTOGRAM`.
    pub(crate) latency: crate::latency::Histogram,
}

/// One row of the command table.
pub(crate) struct Spec {
    /// Lowercase name.
    pub(crate) name: &'static str,
    /// Exact argument count when positive, minimum when negative (the
    /// command name counts).
    pub(crate) arity: i32,
    pub(crate) flags: u32,
    /// Key positions: first, last (negative counts from the end), step.
    pub(crate) keys: (i32, i32, i32),
    pub(crate) handler: Handler,
    pub(crate) stats: CommandStats,
}

impl Spec {
    pub(crate) fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i64;
        let arity = i64::from(self.arity);
        if arity >= 0 {
            argc == arity
        } else {
            argc >= -arity
        }
    }
}

/// Shorthand for table rows.
pub(crate) fn spec(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: (i32, i32, i32),
    handler: Handler,
) -> Spec {
    Spec {
        name,
        arity,
        flags,
        keys,
        handler,
        stats: CommandStats {
            calls: AtomicU64::new(0),
            usec: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            latency: crate::latency::Histogram::default(),
        },
    }
}

/// Every command, by lowercase name.
pub(crate) fn table() -> &'static HashMap<&'static str, Spec> {
    static TABLE: OnceLock<HashMap<&'static str, Spec>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut all = Vec::new();
        all.extend(connection::specs());
        all.extend(server::specs());
        all.extend(persist::specs());
        all.extend(latency::specs());
        all.extend(debug::specs());
        all.extend(keys::specs());
        all.extend(dump::specs());
        all.extend(migrate::specs());
        all.extend(strings::specs());
        all.extend(bits::specs());
        all.extend(hyperloglog::specs());
        all.extend(lists::specs());
        all.extend(hashes::specs());
        all.extend(sets::specs());
        all.extend(zsets::specs());
        all.extend(sort::specs());
        all.extend(pubsub::specs());
        all.extend(cluster::specs());
        all.extend(repl::specs());
        all.into_iter().map(|s| (s.name, s)).collect()
    })
}

/// Forgets every command's statistics (`INFO commandstats`, `LATENCY
/// HISTOGRAM`) and the error counts (`INFO errorstats`), as `CONFIG
/// RESETSTAT` does.
pub(crate) fn reset_command_stats(shared: &Shared) {
    for spec in table().values() {
        let s = &spec.stats;
        for counter in [&s.calls, &s.usec, &s.rejected, &s.failed] {
            counter.store(0, Ordering::Relaxed);
        }
        s.latency.reset();
    }
    shared.error_stats.lock().clear();
}

/// Looks up a command by name, case-insensitively, without allocating for
/// short names.
pub(crate) fn lookup(name: &[u8]) -> Option<&'static Spec> {
    let mut buf = [0u8; 32];
    let lower = buf.get_mut(..name.len())?;
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    let lower = std::str::from_utf8(lower).ok()?;
    table().get(lower)
}

/// What a handler works with: the server, the client and its output.
pub(crate) struct Ctx<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) client: &'a mut Client,
}

impl<'a> Ctx<'a> {
    pub(crate) fn out(&mut self) -> &mut BytesMut {
        &mut self.client.wbuf
    }

    pub(crate) fn proto(&self) -> Protocol {
        self.client.proto
    }

    /// The client's current database, at this command's time.
    pub(crate) fn db(&self) -> Db<'a> {
        // The client's index is checked by SELECT, so this cannot fail; fall
        // back to database 0 if it somehow does.
        let shared: &'a Shared = self.shared;
        let at = |index| match self.client.now_ms {
            Some(now) => shared.store.db_at(index, now),
            None => shared.store.db(index),
        };
        at(self.client.db)
            .or_else(|_| at(0))
            .unwrap_or_else(|_| unreachable_db())
    }

    pub(crate) fn ok(&mut self) {
        reply::ok(self.out());
    }

    pub(crate) fn simple(&mut self, text: &str) {
        reply::simple(self.out(), text.as_bytes());
    }

    /// An error reply; `text` starts with the error code (`ERR ...`).
    pub(crate) fn error(&mut self, text: &str) {
        self.shared
            .counters
            .total_error_replies
            .fetch_add(1, Ordering::Relaxed);
        let code = text.split(' ').next().unwrap_or("ERR");
        *self
            .shared
            .error_stats
            .lock()
            .entry(code.to_owned())
            .or_insert(0) += 1;
        self.client.command_failed = true;
        reply::error(self.out(), text.as_bytes());
    }

    /// Rejects the command before it runs: counts it, and, inside MULTI,
    /// makes EXEC abort (Redis' `flagTransaction`); a rejected EXEC
    /// discards the transaction (`execCommandAbort`).
    fn reject(&mut self, spec: Option<&Spec>, text: &str) {
        if let Some(spec) = spec {
            spec.stats.rejected.fetch_add(1, Ordering::Relaxed);
            if spec.name == "exec" && self.client.multi.is_some() {
                connection::discard_multi(self);
                self.error(&format!(
                    "EXECABORT Transaction discarded because of: {text}"
                ));
                return;
            }
        }
        if let Some(m) = &mut self.client.multi {
            m.errored = true;
        }
        self.error(text);
    }

    pub(crate) fn store_error(&mut self, e: StoreError) {
        self.error(&e.to_string());
    }

    pub(crate) fn syntax_error(&mut self) {
        self.error("ERR syntax error");
    }

    pub(crate) fn not_integer(&mut self) {
        self.error("ERR value is not an integer or out of range");
    }

    pub(crate) fn int(&mut self, n: i64) {
        reply::integer(self.out(), n);
    }

    pub(crate) fn uint(&mut self, n: usize) {
        reply::integer(self.out(), i64::try_from(n).unwrap_or(i64::MAX));
    }

    pub(crate) fn bulk(&mut self, data: &[u8]) {
        reply::bulk(self.out(), data);
    }

    pub(crate) fn null(&mut self) {
        let p = self.proto();
        reply::null(self.out(), p);
    }

    pub(crate) fn null_array(&mut self) {
        let p = self.proto();
        reply::null_array(self.out(), p);
    }

    pub(crate) fn array(&mut self, n: usize) {
        reply::array_len(self.out(), n);
    }

    pub(crate) fn map(&mut self, n: usize) {
        let p = self.proto();
        reply::map_len(self.out(), n, p);
    }

    pub(crate) fn set(&mut self, n: usize) {
        let p = self.proto();
        reply::set_len(self.out(), n, p);
    }

    pub(crate) fn verbatim(&mut self, text: &[u8]) {
        let p = self.proto();
        reply::verbatim(self.out(), *b"txt", text, p);
    }

    pub(crate) fn optional_bulk(&mut self, data: Option<&[u8]>) {
        match data {
            Some(d) => self.bulk(d),
            None => self.null(),
        }
    }

    pub(crate) fn bulks<'b>(&mut self, items: impl ExactSizeIterator<Item = &'b [u8]>) {
        self.array(items.len());
        for i in items {
            self.bulk(i);
        }
    }
}

fn unreachable_db() -> Db<'static> {
    // Only reachable if a store has no database at all, which StoreBuilder
    // prevents (it keeps at least one).
    static EMPTY: OnceLock<ferrodis_store::Store> = OnceLock::new();
    let store = EMPTY.get_or_init(|| ferrodis_store::Store::builder().databases(1).build());
    match store.db(0) {
        Ok(db) => db,
        Err(_) => std::process::abort(),
    }
}

/// Argument `i` of the request (empty if missing: arity checks run first).
pub(crate) fn arg(req: &Request, i: usize) -> &[u8] {
    req.arg(i).unwrap_or_default()
}

/// Parses an integer argument with Redis' strict rules.
pub(crate) fn int_arg(req: &Request, i: usize) -> Option<i64> {
    ferrodis_resp::parse_i64(arg(req, i))
}

/// Whether argument `i` equals `word`, ignoring ASCII case.
pub(crate) fn is(req: &Request, i: usize, word: &str) -> bool {
    arg(req, i).eq_ignore_ascii_case(word.as_bytes())
}

/// Commands a client may run before authenticating.
fn allowed_without_auth(spec: &Spec) -> bool {
    spec.has(flags::NO_AUTH)
}

/// Runs one request from `client`, writing its reply.
pub(crate) fn dispatch(shared: &Shared, client: &mut Client, req: &Request) {
    shared
        .counters
        .commands_processed
        .fetch_add(1, Ordering::Relaxed);
    if client.reply_mode == ReplyMode::Skip {
        client.reply_mode = ReplyMode::Skipping;
    }
    let mark = client.wbuf.len();
    run(shared, client, req, false);
    // ASKING holds for the next command only (or for a transaction).
    if client.multi.is_none()
        && !req
            .arg(0)
            .is_some_and(|n| n.eq_ignore_ascii_case(b"asking"))
    {
        client.asking = false;
    }
    crate::blocking::after_dispatch(shared, client);
    // Pub/sub confirmations are pushes: Redis sends them even when replies
    // are switched off.
    let pushing = req.arg(0).is_some_and(|n| {
        let n = n.to_ascii_lowercase();
        n.ends_with(b"subscribe")
            && matches!(
                &n[..],
                b"subscribe"
                    | b"unsubscribe"
                    | b"psubscribe"
                    | b"punsubscribe"
                    | b"ssubscribe"
                    | b"sunsubscribe"
            )
    });
    if pushing {
        if client.reply_mode == ReplyMode::Skipping {
            client.reply_mode = ReplyMode::On;
        }
        return;
    }
    match client.reply_mode {
        ReplyMode::Off => client.wbuf.truncate(mark),
        ReplyMode::Skipping => {
            client.wbuf.truncate(mark);
            client.reply_mode = ReplyMode::On;
        }
        _ => {}
    }
}

/// Runs one command: `queued` for the commands of a transaction that EXEC
/// runs, which were checked when they were queued.
fn run(shared: &Shared, client: &mut Client, req: &Request, queued: bool) {
    let name = arg(req, 0);
    let mut ctx = Ctx { shared, client };
    let Some(spec) = lookup(name) else {
        let mut args = String::new();
        for a in req.args().skip(1) {
            if args.len() >= 128 {
                break;
            }
            let room = 128 - args.len();
            let text = String::from_utf8_lossy(a);
            let text: String = text.chars().take(room).collect();
            args.push_str(&format!("'{text}' "));
        }
        let shown: String = String::from_utf8_lossy(name).chars().take(128).collect();
        ctx.reject(
            None,
            &format!("ERR unknown command '{shown}', with args beginning with: {args}"),
        );
        return;
    };
    *ctx.client.meta.last_cmd.lock() = spec.name;
    if !ctx.client.authenticated && !allowed_without_auth(spec) {
        ctx.reject(Some(spec), "NOAUTH Authentication required.");
        return;
    }
    // A RESP2 client in subscribed mode may only (un)subscribe, ping,
    // quit or reset; RESP3 clients may run anything.
    if ctx.client.proto == Protocol::Resp2
        && ctx.client.subscriptions() > 0
        && !matches!(
            spec.name,
            "subscribe"
                | "unsubscribe"
                | "psubscribe"
                | "punsubscribe"
                | "ssubscribe"
                | "sunsubscribe"
                | "ping"
                | "quit"
                | "reset"
        )
    {
        ctx.reject(
            Some(spec),
            &format!(
                "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
                spec.name
            ),
        );
        return;
    }
    if !spec.arity_ok(req.len()) {
        ctx.reject(
            Some(spec),
            &format!("ERR wrong number of arguments for '{}' command", spec.name),
        );
        return;
    }
    if let Some(cluster) = &ctx.shared.cluster {
        // The master client applies whatever its master sends.
        // So does a connection streaming slots to import.
        if !ctx.client.loader && !ctx.client.master && !ctx.client.importer {
            if let Err(redirect) = crate::cluster::check(ctx.shared, cluster, ctx.client, spec, req)
            {
                spec.stats.rejected.fetch_add(1, Ordering::Relaxed);
                if spec.name == "exec" {
                    // The transaction is dropped; the reply is the
                    // redirection itself, as from Redis.
                    connection::discard_multi(&mut ctx);
                } else if let Some(m) = &mut ctx.client.multi {
                    m.errored = true;
                }
                ctx.error(&redirect.to_string());
                return;
            }
        }
    }
    if !spec.has(flags::LOADING) && !ctx.client.loader && ctx.shared.persist.loading.is_active() {
        ctx.reject(Some(spec), "LOADING Redis is loading the dataset in memory");
        return;
    }
    if let Some(refusal) = refused_by_replication(ctx.shared, ctx.client, spec) {
        ctx.reject(Some(spec), refusal);
        return;
    }
    let queueing = ctx.client.multi.is_some()
        && !matches!(
            spec.name,
            "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
        );
    if queueing && spec.has(flags::NO_MULTI) {
        ctx.reject(Some(spec), "ERR Command not allowed inside a transaction");
        return;
    }
    if !queued && refused_for_memory(ctx.shared, ctx.client, spec) {
        ctx.reject(Some(spec), &StoreError::OutOfMemory.to_string());
        return;
    }
    if queueing {
        if let Some(m) = &mut ctx.client.multi {
            m.queued.push(req.clone());
        }
        ctx.simple("QUEUED");
        return;
    }
    ctx.client.command_failed = false;
    if ctx.shared.monitor_count.load(Ordering::Relaxed) > 0
        && !spec.has(flags::ADMIN)
        && !matches!(spec.name, "auth" | "hello")
    {
        feed_monitors(ctx.shared, ctx.client, req);
    }
    let writes = spec.has(flags::WRITE);
    // PFCOUNT may store a refreshed cache in its key: not a write for the
    // checks below, but ordered and propagated like one when it does.
    let may_replicate = writes || hyperloglog::may_replicate(spec.name);
    if writes && !queued && ctx.shared.persist.writes_refused(ctx.shared) {
        ctx.reject(Some(spec), crate::persist::MISCONF);
        return;
    }
    // With several workers, writes pass the persistence gate: shared, so
    // that a snapshot falls between commands; exclusive while the AOF is
    // on, so that the file's order is the order they ran in; exclusive for
    // EXEC, whose transaction then is whole in a snapshot (inside EXEC the
    // gate is already held). See `persist/gate.rs`.
    // With one worker, writes skip the gate until replication needs it
    // (`repl::pass_gate`, `repl::gate_on`).
    let (gate, ungated) = if (may_replicate || spec.name == "exec") && !ctx.client.in_exec {
        crate::repl::pass_gate(ctx.shared, spec.name == "exec")
    } else {
        (None, None)
    };
    // A pause that began while this write waited for the gate holds it
    // here: the master's side of a manual failover reads its final offset
    // once it holds the gate itself, and nothing may change it after.
    if (gate.is_some() || ungated.is_some())
        && !queued
        && !ctx.client.in_exec
        && paused_for(ctx.shared, ctx.client, req)
    {
        drop(gate);
        drop(ungated);
        ctx.client.held = Some(req.clone());
        return;
    }
    let changes_before = ferrodis_store::changes_on_this_thread();
    let start = std::time::Instant::now();
    // One time for the whole command (a handler may take several handles).
    ctx.client.now_ms = Some(ctx.shared.store.operation_time());
    (spec.handler)(&mut ctx, req);
    ctx.client.now_ms = None;
    let mut changes = ferrodis_store::changes_on_this_thread().wrapping_sub(changes_before);
    // These change the data even when there was nothing to drop or swap,
    // as far as replay is concerned: Redis always propagates them.
    if matches!(spec.name, "flushdb" | "flushall" | "swapdb") && !ctx.client.command_failed {
        changes = changes.max(1);
    }
    if may_replicate && changes > 0 {
        crate::persist::propagate::after_write(&mut ctx, spec, req, changes);
    } else {
        ctx.client.propagate_as = None;
    }
    drop(gate);
    drop(ungated);
    let stats = &spec.stats;
    stats.calls.fetch_add(1, Ordering::Relaxed);
    let micros = start.elapsed().as_micros() as u64;
    stats.usec.fetch_add(micros, Ordering::Relaxed);
    if ctx.shared.slowlog.wants(micros) && !matches!(spec.name, "auth" | "hello" | "exec") {
        let name = ctx.client.meta.name.lock().clone().unwrap_or_default();
        ctx.shared
            .slowlog
            .record(req, micros, ctx.client.meta.addr.to_string(), name);
    }
    ctx.shared
        .latency
        .after_command(spec.has(flags::FAST), micros, &stats.latency);
    if ctx.client.command_failed {
        stats.failed.fetch_add(1, Ordering::Relaxed);
    }
    crate::blocking::after_command(shared, client, spec, req);
}

/// Replication's refusals (Redis' `processCommand`): `-MASTERDOWN` on a
/// replica whose link is down with `replica-serve-stale-data no` (commands
/// not flagged `stale`), `-READONLY` for writes on a read-only replica,
/// `-NOREPLICAS` for writes on a master short of good replicas
/// (`min-replicas-to-write`). The master client is exempt from all three.
fn refused_by_replication(shared: &Shared, client: &Client, spec: &Spec) -> Option<&'static str> {
    if client.master || client.loader {
        return None;
    }
    let writes = spec.has(flags::WRITE);
    if shared.repl.is_replica() {
        let cfg = shared.config.read();
        if !spec.has(flags::STALE)
            && !shared.repl.link.up.load(Ordering::Acquire)
            && !cfg.get_bool("replica-serve-stale-data").unwrap_or(true)
        {
            return Some(
                "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
            );
        }
        if writes && cfg.get_bool("replica-read-only").unwrap_or(true) {
            return Some("READONLY You can't write against a read only replica.");
        }
        return None;
    }
    if writes && crate::repl::writes_refused(shared) {
        return Some("NOREPLICAS Not enough good replicas to write.");
    }
    None
}

/// Whether a command must be refused because memory is above `maxmemory`
/// and eviction cannot bring it back under (Redis' `processCommand`): run
/// eviction before every command when a limit is set, then refuse commands
/// that may grow memory (`DENYOOM`, or EXEC of a transaction holding one)
/// and, inside MULTI, anything but EXEC, DISCARD, QUIT and RESET (queueing
/// itself takes memory).
fn refused_for_memory(shared: &Shared, client: &Client, spec: &Spec) -> bool {
    let store = &shared.store;
    if store.settings().maxmemory.load(Ordering::Relaxed) == 0 {
        return false;
    }
    if store.evict_if_needed().is_ok() {
        return false;
    }
    let grows = spec.has(flags::DENYOOM)
        || (spec.name == "exec"
            && client.multi.as_ref().is_some_and(|m| {
                m.queued
                    .iter()
                    .any(|r| lookup(arg(r, 0)).is_some_and(|s| s.has(flags::DENYOOM)))
            }));
    grows || (client.multi.is_some() && !matches!(spec.name, "exec" | "discard" | "quit" | "reset"))
}

/// Runs the queued commands of a transaction (EXEC).
pub(crate) fn exec(ctx: &mut Ctx<'_>, multi: Multi) {
    ctx.array(multi.queued.len());
    // Blocking commands do not block inside a transaction.
    let deny = std::mem::replace(&mut ctx.client.block.deny, true);
    ctx.client.in_exec = true;
    for req in &multi.queued {
        run(ctx.shared, ctx.client, req, true);
    }
    crate::persist::propagate::after_exec(ctx);
    ctx.client.in_exec = false;
    ctx.client.block.deny = deny;
}

/// Cleans up after a client that disconnected.
pub(crate) fn on_disconnect(shared: &Shared, client: &mut Client) {
    if client.importer {
        crate::cluster::slotmig::on_disconnect(shared, client.id());
    }
    crate::blocking::on_disconnect(shared, client);
    let mut ctx = Ctx { shared, client };
    connection::unwatch_all(&mut ctx);
    pubsub::unsubscribe_all(&mut ctx);
    if ctx.client.monitor {
        let id = ctx.client.id();
        let mut monitors = ctx.shared.monitors.write();
        monitors.retain(|(m, _)| *m != id);
        ctx.shared
            .monitor_count
            .store(monitors.len(), Ordering::Relaxed);
    }
}

/// Frames a pub/sub message for a subscribed client.
pub(crate) fn deliver_message(
    client: &mut Client,
    kind: crate::pubsub::Kind,
    pattern: Option<&[u8]>,
    channel: &[u8],
    message: &[u8],
) {
    pubsub::deliver(client, kind, pattern, channel, message);
}

/// Whether `req` must wait because clients are paused (`CLIENT PAUSE`):
/// every command under `ALL`, writes (and PUBLISH) under `WRITE`.
/// `CLIENT UNPAUSE` always runs, so a pause can be lifted.
pub(crate) fn paused_for(shared: &Shared, client: &Client, req: &Request) -> bool {
    let until = shared.pause_until_ms.load(Ordering::Relaxed);
    if until == 0 || crate::shared::unix_ms() >= until {
        return false;
    }
    if is(req, 0, "client") && is(req, 1, "unpause") {
        return false;
    }
    if !shared.pause_writes_only.load(Ordering::Relaxed) {
        return true;
    }
    let writes = |r: &Request| {
        lookup(arg(r, 0)).is_some_and(|s| {
            s.has(flags::WRITE)
                || hyperloglog::may_replicate(s.name)
                || matches!(s.name, "publish" | "spublish")
        })
    };
    if is(req, 0, "exec") {
        return client
            .multi
            .as_ref()
            .is_some_and(|m| m.queued.iter().any(writes));
    }
    client.multi.is_none() && writes(req)
}

/// Sends the command to every MONITOR client, formatted as Redis does:
/// `+<secs>.<micros> [<db> <addr>] "arg" "arg" ...`.
fn feed_monitors(shared: &Shared, client: &Client, req: &Request) {
    let us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    let mut line = format!(
        "+{}.{:06} [{} {}]",
        us / 1_000_000,
        us % 1_000_000,
        client.db,
        client.meta.addr
    )
    .into_bytes();
    for a in req.args() {
        line.extend_from_slice(b" \"");
        for &b in a {
            match b {
                b'\\' => line.extend_from_slice(b"\\\\"),
                b'"' => line.extend_from_slice(b"\\\""),
                b'\n' => line.extend_from_slice(b"\\n"),
                b'\r' => line.extend_from_slice(b"\\r"),
                b'\t' => line.extend_from_slice(b"\\t"),
                0x07 => line.extend_from_slice(b"\\a"),
                0x08 => line.extend_from_slice(b"\\b"),
                0x20..=0x7e => line.push(b),
                other => line.extend_from_slice(format!("\\x{other:02x}").as_bytes()),
            }
        }
        line.push(b'"');
    }
    line.extend_from_slice(b"\r\n");
    let bytes = bytes::Bytes::from(line);
    let workers = shared.workers.read();
    for &(id, worker) in shared.monitors.read().iter() {
        if id == client.id() {
            continue;
        }
        if let Some(w) = workers.get(worker) {
            w.send(crate::shared::WorkerMsg::Output {
                client: id,
                bytes: bytes.clone(),
            });
        }
    }
}
