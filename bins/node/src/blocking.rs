//! Blocked clients: commands that wait for keys (BLPOP, BLMOVE, BLMPOP and,
//! later, BZPOPMIN and friends).
//!
//! # How it works
//!
//! A blocking command first tries to run like its non-blocking form. If it
//! finds nothing to serve, it registers the client in the server-wide
//! [`Registry`] under every key it waits for (FIFO per `(db, key)`), with a
//! [`Retry`] function: the command's own "try to serve now" step, which
//! needs nothing of the client but its database, protocol and request. The
//! client then gets no reply and its worker runs none of its further
//! commands until it is unblocked.
//!
//! After every write command, the keys it named (its arguments, for
//! commands that create keys under names given anywhere in the arguments:
//! RENAME, LMOVE, RESTORE ...) are looked up in the registry. For each one
//! with waiters, the thread that ran the write retries the waiting
//! commands in the order the clients blocked, under the registry's lock,
//! and hands each served client's reply to the client's worker
//! ([`WorkerMsg::Unblocked`]). A retry that finds nothing (another client
//! took the data first, the key was deleted or holds another type) leaves
//! the client blocked. Serving can write keys too (BLMOVE pushes), which
//! wakes the next waiters in the same pass.
//!
//! A client also leaves the registry on its timeout (its worker keeps the
//! deadlines in [`Timers`]), on CLIENT UNBLOCK and on disconnect; whichever
//! removes it from the registry first decides its reply.
//!
//! # Lost wake-ups
//!
//! A writer only takes the registry's lock when [`Registry::waiting`] is
//! non-zero. A client about to block increments that counter *before* its
//! last look at the keys (under the registry lock), and a writer reads it
//! *after* its write: the slot lock both take orders the two, so either the
//! client sees the data or the writer sees the waiter.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferrodis_resp::{reply, Protocol, Request};
use ferrodis_store::Db;
use parking_lot::Mutex;

use crate::client::{Client, ReplyMode};
use crate::commands::{flags, Ctx, Spec};
use crate::shared::{unix_ms, Shared, WorkerMsg};

/// What a retry did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retried {
    /// A reply was written (data or an error): the client is done waiting.
    Served,
    /// Nothing to serve yet: keep waiting.
    NotReady,
}

/// A blocking command's "serve now if possible" step. On
/// [`Retried::NotReady`] it must have written nothing.
pub(crate) type Retry = fn(&mut Serve<'_>, &Request) -> Retried;

/// What a [`Retry`] runs with: the waiting client's database and protocol,
/// and where its reply goes.
pub(crate) struct Serve<'a> {
    pub(crate) shared: &'a Shared,
    db: usize,
    proto: Protocol,
    out: &'a mut BytesMut,
    /// True for the command's first attempt, when a key of the wrong type
    /// is an error; false for retries, which skip such keys (Redis only
    /// serves a waiter from a key of the type it waits for).
    pub(crate) first: bool,
    /// Keys this attempt wrote to (they may wake other clients).
    touched: Vec<(usize, Vec<u8>)>,
    /// Whether the reply is an error.
    pub(crate) failed: bool,
    /// What the attempt did, as non-blocking commands to propagate.
    pub(crate) propagate: Vec<Vec<Vec<u8>>>,
}

impl<'a> Serve<'a> {
    /// The first attempt of the command `ctx` runs.
    pub(crate) fn first(ctx: &'a mut Ctx<'_>) -> Serve<'a> {
        let proto = ctx.client.proto;
        let db = ctx.client.db;
        Serve {
            shared: ctx.shared,
            db,
            proto,
            out: &mut ctx.client.wbuf,
            first: true,
            touched: Vec::new(),
            failed: false,
            propagate: Vec::new(),
        }
    }

    /// The waiting client's database, at the current time.
    pub(crate) fn db(&self) -> Option<Db<'a>> {
        self.shared.store.db(self.db).ok()
    }

    /// The waiting client's protocol (for replies whose shape depends on
    /// it, as sorted sets' scores).
    #[allow(dead_code)]
    pub(crate) fn proto(&self) -> Protocol {
        self.proto
    }

    /// Records what the attempt did, as a command to propagate.
    pub(crate) fn propagated(&mut self, argv: Vec<Vec<u8>>) {
        self.propagate.push(argv);
    }

    /// Records that `key` (in the client's database) was written.
    pub(crate) fn touched(&mut self, key: &[u8]) {
        self.touched.push((self.db, key.to_vec()));
    }

    pub(crate) fn bulk(&mut self, data: &[u8]) {
        reply::bulk(self.out, data);
    }

    pub(crate) fn array(&mut self, n: usize) {
        reply::array_len(self.out, n);
    }

    /// The reply buffer, for reply shapes the helpers above do not cover.
    pub(crate) fn out(&mut self) -> &mut BytesMut {
        self.out
    }

    pub(crate) fn error(&mut self, text: &str) {
        count_error(self.shared, text);
        self.failed = true;
        reply::error(self.out, text.as_bytes());
    }
}

/// Counts an error reply in INFO stats and errorstats, as `Ctx::error`
/// does for the running client.
fn count_error(shared: &Shared, text: &str) {
    shared
        .counters
        .total_error_replies
        .fetch_add(1, Ordering::Relaxed);
    let code = text.split(' ').next().unwrap_or("ERR");
    *shared
        .error_stats
        .lock()
        .entry(code.to_owned())
        .or_insert(0) += 1;
}

/// Parses a blocking timeout in seconds (a float) into an absolute
/// deadline in Unix ms, `None` meaning forever. Replies Redis' errors.
pub(crate) fn parse_timeout(ctx: &mut Ctx<'_>, text: &[u8]) -> Result<Option<u64>, ()> {
    let secs = std::str::from_utf8(text)
        .ok()
        .filter(|s| !s.is_empty() && !s.starts_with(|c: char| c.is_ascii_whitespace()))
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|v| !v.is_nan());
    let Some(secs) = secs else {
        ctx.error("ERR timeout is not a float or out of range");
        return Err(());
    };
    let ms = (secs * 1000.0).ceil();
    // Redis converts to a C long long: values beyond its range (infinity
    // included) come out negative.
    if !(0.0..9.223_372_036_854_775e18).contains(&ms) {
        ctx.error("ERR timeout is negative");
        return Err(());
    }
    let ms = ms as u64;
    if ms == 0 {
        return Ok(None);
    }
    Ok(Some(unix_ms().saturating_add(ms)))
}

/// A blocked client's state, kept on its [`Client`].
#[derive(Debug, Default)]
pub(crate) struct BlockState {
    /// Set while the client waits; holds its deadline (Unix ms).
    blocked: Option<Option<u64>>,
    /// The deadline still to be handed to the worker's [`Timers`].
    unscheduled: Option<u64>,
    /// Blocking is not allowed (inside MULTI/EXEC): blocking commands
    /// answer as on a timeout.
    pub(crate) deny: bool,
    /// Keys written by the command running now, to look up in the registry
    /// once it completes.
    ready: Vec<(usize, Vec<u8>)>,
    /// The client's token on its worker, for waking it.
    pub(crate) token: usize,
}

impl BlockState {
    /// Whether the client is waiting.
    pub(crate) fn is_blocked(&self) -> bool {
        self.blocked.is_some()
    }
}

/// One waiting client.
struct Waiter {
    id: u64,
    worker: usize,
    token: usize,
    db: usize,
    proto: Protocol,
    keys: Vec<Vec<u8>>,
    request: Request,
    retry: Retry,
}

#[derive(Default)]
struct Inner {
    /// Waiting clients per `(db, key)`, in the order they blocked.
    by_key: HashMap<(usize, Vec<u8>), VecDeque<u64>>,
    clients: HashMap<u64, Waiter>,
}

impl Inner {
    fn remove(&mut self, id: u64) -> Option<Waiter> {
        let w = self.clients.remove(&id)?;
        for k in &w.keys {
            let slot = (w.db, k.clone());
            if let Some(q) = self.by_key.get_mut(&slot) {
                q.retain(|c| *c != id);
                if q.is_empty() {
                    self.by_key.remove(&slot);
                }
            }
        }
        Some(w)
    }
}

/// The server-wide registry of blocked clients.
#[derive(Default)]
pub(crate) struct Registry {
    inner: Mutex<Inner>,
    /// Blocked clients, plus clients about to block (see the module docs).
    waiting: AtomicUsize,
}

impl Registry {
    /// How many clients are blocked (INFO `blocked_clients`).
    pub(crate) fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// Takes `id` out of the registry; `None` if it was not there (never
    /// blocked, or already served).
    fn take(&self, id: u64) -> Option<Waiter> {
        let w = self.inner.lock().remove(id)?;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        Some(w)
    }
}

/// Blocks the client running `ctx` on `keys` until `deadline` (Unix ms,
/// `None` for ever), unless `retry` can serve it right now. Call after a
/// first attempt found nothing, and when blocking is allowed.
pub(crate) fn block(
    ctx: &mut Ctx<'_>,
    req: &Request,
    keys: Vec<Vec<u8>>,
    deadline: Option<u64>,
    retry: Retry,
) {
    let shared = ctx.shared;
    let registry = &shared.blocking;
    let mut inner = registry.inner.lock();
    // Announce the waiter before the last look at the keys.
    registry.waiting.fetch_add(1, Ordering::SeqCst);
    let mut serve = Serve::first(ctx);
    serve.first = false;
    let served = retry(&mut serve, req);
    let propagate = std::mem::take(&mut serve.propagate);
    if serve.failed {
        ctx.client.command_failed = true;
    }
    if served == Retried::Served {
        registry.waiting.fetch_sub(1, Ordering::SeqCst);
        ctx.client.propagate_as = Some(propagate);
        return;
    }
    let id = ctx.client.id();
    let mut distinct: Vec<Vec<u8>> = Vec::with_capacity(keys.len());
    for k in keys {
        if !distinct.contains(&k) {
            distinct.push(k);
        }
    }
    let db = ctx.client.db;
    for k in &distinct {
        inner
            .by_key
            .entry((db, k.clone()))
            .or_default()
            .push_back(id);
    }
    inner.clients.insert(
        id,
        Waiter {
            id,
            worker: ctx.client.meta.worker,
            token: ctx.client.block.token,
            db,
            proto: ctx.client.proto,
            keys: distinct,
            request: req.clone(),
            retry,
        },
    );
    drop(inner);
    ctx.client.block.blocked = Some(deadline);
    ctx.client.block.unscheduled = deadline;
    ctx.client.meta.blocked.store(true, Ordering::Relaxed);
}

/// Blocks the client until another thread hands its worker the reply
/// ([`WorkerMsg::Unblocked`]): WAIT, whose waiting thread keeps the time
/// itself. Nothing is registered under a key.
pub(crate) fn block_for_reply(client: &mut Client) {
    client.block.blocked = Some(None);
    client.block.unscheduled = None;
    client.meta.blocked.store(true, Ordering::Relaxed);
}

/// Called after each command (also each command of a transaction): notes
/// the keys a write may have made ready.
pub(crate) fn after_command(shared: &Shared, client: &mut Client, spec: &Spec, req: &Request) {
    if !spec.has(flags::WRITE) || client.block.is_blocked() || shared.blocking.waiting() == 0 {
        return;
    }
    let arg_db = |i: usize| {
        req.arg(i)
            .and_then(ferrodis_resp::parse_i64)
            .and_then(|n| usize::try_from(n).ok())
    };
    match spec.name {
        // Whole databases change places: every waiter of both may be ready.
        "swapdb" => {
            let dbs = [arg_db(1), arg_db(2)];
            let inner = shared.blocking.inner.lock();
            for (db, key) in inner.by_key.keys() {
                if dbs.contains(&Some(*db)) {
                    client.block.ready.push((*db, key.clone()));
                }
            }
        }
        "move" => {
            if let (Some(db), Some(key)) = (arg_db(2), req.arg(1)) {
                client.block.ready.push((db, key.to_vec()));
            }
        }
        _ => {
            let db = client.db;
            let mut target = db;
            for (i, a) in req.args().enumerate().skip(1) {
                // COPY src dst DB n writes into database n.
                if spec.name == "copy" && a.eq_ignore_ascii_case(b"db") {
                    target = arg_db(i + 1).unwrap_or(db);
                }
                client.block.ready.push((db, a.to_vec()));
            }
            if target != db {
                if let Some(dst) = req.arg(2) {
                    client.block.ready.push((target, dst.to_vec()));
                }
            }
        }
    }
}

/// Called once a client's command (or transaction) has completed: serves
/// the waiters of the keys it wrote.
pub(crate) fn after_dispatch(shared: &Shared, client: &mut Client) {
    if client.block.ready.is_empty() {
        return;
    }
    let ready = std::mem::take(&mut client.block.ready);
    // Serving pops is a write: it passes the persistence gate as write
    // commands do (exclusively while the AOF is on or replicas are fed,
    // so that the pop is propagated in the order it ran; shared otherwise,
    // so that a snapshot never falls inside a served BLMOVE).
    let _gate = crate::repl::pass_gate(shared, false);
    serve_ready(shared, ready);
}

/// Serves, in order, the clients waiting on `ready` keys, and then on the
/// keys serving them wrote.
fn serve_ready(shared: &Shared, ready: Vec<(usize, Vec<u8>)>) {
    let registry = &shared.blocking;
    let mut inner = registry.inner.lock();
    let mut queue: VecDeque<(usize, Vec<u8>)> = VecDeque::new();
    for k in ready {
        if inner.by_key.contains_key(&k) && !queue.contains(&k) {
            queue.push_back(k);
        }
    }
    let mut served = Vec::new();
    while let Some(key) = queue.pop_front() {
        let Some(ids) = inner.by_key.get(&key) else {
            continue;
        };
        let ids: Vec<u64> = ids.iter().copied().collect();
        for id in ids {
            let Some(w) = inner.clients.get(&id) else {
                continue;
            };
            let mut out = BytesMut::new();
            let mut serve = Serve {
                shared,
                db: w.db,
                proto: w.proto,
                out: &mut out,
                first: false,
                touched: Vec::new(),
                failed: false,
                propagate: Vec::new(),
            };
            if (w.retry)(&mut serve, &w.request) == Retried::NotReady {
                continue;
            }
            let touched = std::mem::take(&mut serve.touched);
            let propagate = std::mem::take(&mut serve.propagate);
            crate::persist::propagate::served(shared, w.db, &propagate);
            if let Some(w) = inner.remove(id) {
                registry.waiting.fetch_sub(1, Ordering::SeqCst);
                served.push((w, out.freeze()));
            }
            for k in touched {
                if inner.by_key.contains_key(&k) && !queue.contains(&k) {
                    queue.push_back(k);
                }
            }
        }
    }
    drop(inner);
    for (w, reply) in served {
        send_unblocked(shared, &w, reply);
    }
}

fn send_unblocked(shared: &Shared, w: &Waiter, reply: Bytes) {
    if let Some(handle) = shared.workers.read().get(w.worker) {
        handle.send(WorkerMsg::Unblocked {
            client: w.id,
            token: w.token,
            reply,
        });
    }
}

/// Ends the wait of a client its worker was told about
/// ([`WorkerMsg::Unblocked`]) or timed out: appends `reply` and lets the
/// worker run its next commands. Returns false if the client was not
/// blocked.
pub(crate) fn resume(client: &mut Client, timers: &mut Timers, reply: &[u8]) -> bool {
    if !client.block.is_blocked() {
        return false;
    }
    timers.unschedule(client);
    client.block.blocked = None;
    client.block.unscheduled = None;
    client.meta.blocked.store(false, Ordering::Relaxed);
    if client.reply_mode != ReplyMode::Off {
        client.wbuf.extend_from_slice(reply);
    }
    true
}

/// The reply of a wait that ended without data: a null array.
fn timeout_reply(proto: Protocol) -> BytesMut {
    let mut out = BytesMut::new();
    reply::null_array(&mut out, proto);
    out
}

/// Times out a blocked client whose deadline passed, unless it is being
/// served right now. Returns whether it was resumed.
pub(crate) fn time_out(shared: &Shared, client: &mut Client, timers: &mut Timers) -> bool {
    if !client.block.is_blocked() || shared.blocking.take(client.id()).is_none() {
        return false;
    }
    let reply = timeout_reply(client.proto);
    resume(client, timers, &reply)
}

/// Forgets a client that disconnected.
pub(crate) fn on_disconnect(shared: &Shared, client: &mut Client) {
    if client.block.is_blocked() {
        shared.blocking.take(client.id());
    }
}

/// `CLIENT UNBLOCK client-id [TIMEOUT|ERROR]`.
pub(crate) fn client_unblock(ctx: &mut Ctx<'_>, req: &Request) {
    let as_error = match req.arg(3) {
        None => false,
        Some(w) if w.eq_ignore_ascii_case(b"timeout") => false,
        Some(w) if w.eq_ignore_ascii_case(b"error") => true,
        Some(_) => {
            ctx.error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            return;
        }
    };
    let Some(id) = crate::commands::int_arg(req, 2) else {
        ctx.not_integer();
        return;
    };
    let Some(w) = u64::try_from(id)
        .ok()
        .and_then(|id| ctx.shared.blocking.take(id))
    else {
        ctx.int(0);
        return;
    };
    let reply = if as_error {
        count_error(ctx.shared, "UNBLOCKED");
        let mut out = BytesMut::new();
        reply::error(&mut out, b"UNBLOCKED client unblocked via CLIENT UNBLOCK");
        out
    } else {
        timeout_reply(w.proto)
    };
    send_unblocked(ctx.shared, &w, reply.freeze());
    ctx.int(1);
}

/// A worker's blocked clients with a deadline, soonest first.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    /// `(deadline, client id, token)`.
    set: BTreeSet<(u64, u64, usize)>,
}

impl Timers {
    /// Takes note of the deadline of a client that just blocked.
    pub(crate) fn schedule(&mut self, client: &mut Client) {
        if let Some(at) = client.block.unscheduled.take() {
            self.set.insert((at, client.id(), client.block.token));
        }
    }

    /// Forgets the client's deadline.
    pub(crate) fn unschedule(&mut self, client: &Client) {
        if let Some(Some(at)) = client.block.blocked {
            self.set.remove(&(at, client.id(), client.block.token));
        }
    }

    /// How long the worker may sleep: `max`, or less if a deadline comes
    /// sooner.
    pub(crate) fn wait(&self, max: Duration) -> Duration {
        match self.set.first() {
            None => max,
            Some(&(at, _, _)) => max.min(Duration::from_millis((at + 1).saturating_sub(unix_ms()))),
        }
    }

    /// The clients whose deadline has passed: `(id, token)`. Deadlines
    /// and the clock are whole milliseconds and the deadline was computed
    /// from a clock read up to a millisecond before the command arrived:
    /// a deadline is due once the clock is past it, so that a client never
    /// waits less than its timeout.
    pub(crate) fn due(&mut self) -> Vec<(u64, usize)> {
        let now = unix_ms();
        let mut out = Vec::new();
        while let Some(&(at, id, token)) = self.set.first() {
            if at >= now {
                break;
            }
            self.set.pop_first();
            out.push((id, token));
        }
        out
    }
}
