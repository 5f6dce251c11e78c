//! Atomic slot migration between Ferrodis nodes, in the spirit of Valkey
//! 9's `CLUSTER MIGRATESLOTS`: whole slots move in one step, with no
//! `-ASK` phase for clients and no key ever half-way.
//!
//! `CLUSTER MIGRATESLOTS SLOTSRANGE start end [start end ...] NODE id`, run
//! on the source master, starts an export in a thread of its own and
//! replies at once; `CLUSTER GETSLOTMIGRATIONS` shows how it goes and
//! `CLUSTER CANCELSLOTMIGRATIONS` stops the running ones.
//!
//! # How an export runs
//!
//! 1. The source connects to the target's client port (with `masterauth`
//!    and `masteruser`, as a replica would) and sends `CLUSTER SYNCSLOTS
//!    BEGIN <source id> <start> <end> ...`: the target refuses slots it
//!    serves or imports already, and otherwise lets this one connection
//!    write keys of those slots although it does not serve them. Clients
//!    still get `-MOVED` to the source for them.
//! 2. The source starts tracking writes to the slots: every key a write
//!    command, a served blocking pop or an expiry changes in them is noted
//!    (the write path's hook is [`touched_request`] and friends, called
//!    where writes are propagated, inside the write gate).
//! 3. It sends every key of the slots as `RESTORE key <expire-at> <payload>
//!    REPLACE ABSTTL`, paced (batches of 512, then a rest half as long as
//!    the batch took, at nice 10) so that clients keep their latency, reading each from the store under its slot table's
//!    lock for no longer than it takes to copy it (a million-element hash
//!    blocks its slot, not the node), serializing outside the lock.
//!    Tracking began before the first key was read, so a key read before
//!    a write to it is noted and sent again. The target applies these as
//!    ordinary writes: its AOF and its replicas get them.
//! 4. It resends noted keys (or `DEL`s those now gone) a few rounds, until
//!    few are left.
//! 5. The flip: the source pauses writes (as `CLIENT PAUSE WRITE` would)
//!    and waits until no write is half done, sends the last noted keys and,
//!    once the target applied them all, `CLUSTER SYNCSLOTS COMMIT`. The target, once it has applied
//!    everything before it on that connection, takes the slots with a new
//!    config epoch (no vote, as the end of an import with `SETSLOT NODE`)
//!    and tells every node at once. On `+OK` the source gives the slots to
//!    the target in its own table, releases the writes (which now get
//!    `-MOVED`), and deletes its copies, propagating `DEL`s to its AOF and
//!    replicas.
//!
//! Any failure before the commit (the target unreachable or refusing a
//! key, a cancel, `FLUSHALL`) ends the export with the source serving
//! everything as before; the target drops what it received for the slots
//! when the connection closes without a commit. While it imports, the
//! target lists the slots in `<cluster-config-file>.import` (fsynced
//! before it accepts the first key): a target killed in the middle drops
//! the keys it holds in those slots, if it does not serve them, when it
//! starts again. If the commit's reply is
//! lost, the source keeps writes paused and waits (at most
//! `cluster-node-timeout`) to learn from the bus whether the target took
//! the slots.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrodis_resp::Request;
use ferrodis_slots::{key_slot, NodeId, Slot, SlotSet};
use parking_lot::{Condvar, Mutex};

use crate::commands::Spec;
use crate::shared::{unix_ms, Shared};

/// Finished exports kept for `GETSLOTMIGRATIONS`.
const KEEP_FINISHED: usize = 16;
/// Commands sent before the source waits for their replies and rests.
const PACE_BATCH: u64 = 512;
/// How long it rests after a batch, relative to the batch's time.
const PACE: f64 = 0.25;
/// Rounds of resending noted keys before the flip.
const CATCH_UP_ROUNDS: usize = 8;
/// Noted keys few enough to send while writes are paused.
const FEW: usize = 1_000;
/// How long the target may go without replying when `repl-timeout` is
/// not set (a big value's RESTORE takes a while).
const REPLY_TIMEOUT: Duration = Duration::from_secs(60);

/// `repl-timeout`: how long the target may go without a reply (or
/// without reading what is sent) before the export fails.
fn reply_timeout(shared: &Shared) -> Duration {
    shared
        .config
        .read()
        .get_i64("repl-timeout")
        .filter(|&s| s > 0)
        .map_or(REPLY_TIMEOUT, |s| Duration::from_secs(s as u64))
}

/// `start-end` ranges as text (`0-99 200-200`).
fn ranges_text(ranges: &[(Slot, Slot)]) -> String {
    ranges
        .iter()
        .map(|(a, b)| format!("{}-{}", a.get(), b.get()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where an export stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Connecting,
    Snapshot,
    CatchUp,
    Flip,
    Success,
    Failed,
    Cancelled,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Connecting => "connecting",
            State::Snapshot => "snapshot",
            State::CatchUp => "catching-up",
            State::Flip => "committing",
            State::Success => "success",
            State::Failed => "failed",
            State::Cancelled => "cancelled",
        }
    }

    fn finished(self) -> bool {
        matches!(self, State::Success | State::Failed | State::Cancelled)
    }
}

#[derive(Debug)]
struct Status {
    state: State,
    message: String,
    updated_ms: u64,
}

/// One export of slots to another node.
#[derive(Debug)]
struct Export {
    name: String,
    target: NodeId,
    ranges: Vec<(Slot, Slot)>,
    slots: SlotSet,
    created_ms: u64,
    /// Keys written since tracking began, to send again.
    dirty: Mutex<HashSet<Vec<u8>>>,
    cancelled: AtomicBool,
    keys_sent: AtomicU64,
    status: Mutex<Status>,
}

impl Export {
    fn set_state(&self, state: State, message: &str) {
        let mut s = self.status.lock();
        s.state = state;
        s.message = message.to_owned();
        s.updated_ms = unix_ms();
    }

    fn state(&self) -> State {
        self.status.lock().state
    }
}

/// One import in progress, by the connection that streams it.
#[derive(Debug)]
struct Import {
    name: String,
    source: NodeId,
    ranges: Vec<(Slot, Slot)>,
    slots: SlotSet,
    created_ms: u64,
}

/// The node's slot migrations, both ways.
#[derive(Debug, Default)]
pub(crate) struct SlotMigrations {
    /// Whether an export tracks writes: the write path's only check.
    tracking: AtomicBool,
    /// Running exports, tracking writes.
    exports: Mutex<Vec<Arc<Export>>>,
    /// Running and recently finished exports, oldest first.
    history: Mutex<VecDeque<Arc<Export>>>,
    /// Imports by the id of the client streaming them.
    imports: Mutex<HashMap<u64, Import>>,
    next: AtomicU64,
}

impl SlotMigrations {
    fn name(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{:024x}{:016x}", unix_ms(), n)
    }

    fn exporting(&self, slot: Slot) -> bool {
        self.exports.lock().iter().any(|e| e.slots.contains(slot))
    }
}

// ---------------------------------------------------------------------
// The write path's hooks.

/// Notes `key` as written in every export of its slot.
fn touched(shared: &Shared, key: &[u8]) {
    let slot = key_slot(key);
    for e in shared.slotmig.exports.lock().iter() {
        if e.slots.contains(slot) {
            e.dirty.lock().insert(key.to_vec());
        }
    }
}

/// After a write command changed the data: notes its keys. `FLUSHALL`,
/// `FLUSHDB` and `SWAPDB` cancel every export (the target would keep keys
/// the source no longer has).
pub(crate) fn touched_request(shared: &Shared, spec: &Spec, req: &Request) {
    if !shared.slotmig.tracking.load(Ordering::SeqCst) {
        return;
    }
    if matches!(spec.name, "flushall" | "flushdb" | "swapdb") {
        for e in shared.slotmig.exports.lock().iter() {
            e.cancelled.store(true, Ordering::SeqCst);
        }
        return;
    }
    for i in super::keys::key_positions(spec, req) {
        if let Some(k) = req.arg(i) {
            touched(shared, k);
        }
    }
}

/// After a blocked client was served: notes the keys of what it did.
pub(crate) fn touched_commands(shared: &Shared, commands: &[Vec<Vec<u8>>]) {
    if !shared.slotmig.tracking.load(Ordering::SeqCst) {
        return;
    }
    for argv in commands {
        let Some(spec) = argv.first().and_then(|n| crate::commands::lookup(n)) else {
            continue;
        };
        for i in crate::commands::key_positions(spec, argv.len()) {
            if let Some(k) = argv.get(i) {
                touched(shared, k);
            }
        }
    }
}

/// After a key expired or was evicted: notes it.
pub(crate) fn touched_key(shared: &Shared, key: &[u8]) {
    if shared.slotmig.tracking.load(Ordering::SeqCst) {
        touched(shared, key);
    }
}

// ---------------------------------------------------------------------
// Source side.

/// One `SLOTSRANGE ... NODE id` group: the ranges and the target.
type Group = (Vec<(Slot, Slot)>, NodeId);

/// Parses `SLOTSRANGE start end [start end ...] NODE id` groups (from
/// argument `from` on).
fn parse_groups(req: &Request, from: usize) -> Result<Vec<Group>, String> {
    let args: Vec<&[u8]> = req.args().skip(from).collect();
    let mut groups = Vec::new();
    let mut i = 0;
    while i < args.len() {
        if !args
            .get(i)
            .is_some_and(|a| a.eq_ignore_ascii_case(b"slotsrange"))
        {
            return Err("ERR syntax error".to_owned());
        }
        i += 1;
        let mut ranges = Vec::new();
        while i + 1 < args.len() && !args[i].eq_ignore_ascii_case(b"node") {
            let slot = |a: &[u8]| {
                std::str::from_utf8(a)
                    .ok()
                    .and_then(|t| t.parse::<u16>().ok())
                    .and_then(Slot::new)
                    .ok_or_else(|| {
                        format!(
                            "ERR Invalid or out of range slot '{}'",
                            String::from_utf8_lossy(a)
                        )
                    })
            };
            let (a, b) = (slot(args[i])?, slot(args[i + 1])?);
            if a > b {
                return Err(format!(
                    "ERR start slot number {} is greater than end slot number {}",
                    a.get(),
                    b.get()
                ));
            }
            ranges.push((a, b));
            i += 2;
        }
        if ranges.is_empty() || !args.get(i).is_some_and(|a| a.eq_ignore_ascii_case(b"node")) {
            return Err("ERR syntax error".to_owned());
        }
        let Some(id) = args.get(i + 1) else {
            return Err("ERR syntax error".to_owned());
        };
        let text = String::from_utf8_lossy(id).into_owned();
        let id = NodeId::parse(&text).map_err(|_| format!("ERR Unknown node {text}"))?;
        groups.push((ranges, id));
        i += 2;
    }
    if groups.is_empty() {
        return Err("ERR syntax error".to_owned());
    }
    Ok(groups)
}

/// `CLUSTER MIGRATESLOTS ...`: checks and starts the exports; the error
/// text to reply if refused.
pub(crate) fn migrate_slots(shared: &Shared, req: &Request) -> Result<(), String> {
    let Some(cluster) = &shared.cluster else {
        return Err("ERR This instance has cluster support disabled".to_owned());
    };
    let Some(me) = shared.me() else {
        return Err("ERR shutting down".to_owned());
    };
    let groups = parse_groups(req, 2)?;
    let mut plans = Vec::new();
    {
        let node = cluster.node();
        let my_id = node.id();
        if node.myself().is_replica() {
            return Err("ERR Please use MIGRATESLOTS only with masters.".to_owned());
        }
        let mut all = SlotSet::new();
        for (ranges, target) in groups {
            let Some(t) = node.node(&target) else {
                return Err(format!("ERR I don't know about node {target}"));
            };
            if t.is_replica() {
                return Err("ERR Target node is not a master".to_owned());
            }
            if target == my_id {
                return Err("ERR Can't migrate slots to myself".to_owned());
            }
            let mut set = SlotSet::new();
            for &(a, b) in &ranges {
                for s in (a.get()..=b.get()).filter_map(Slot::new) {
                    if node.slot_map().owner(s) != Some(&my_id) {
                        return Err(format!("ERR I'm not the owner of hash slot {}", s.get()));
                    }
                    if node.slot_map().migration(s).is_some() {
                        return Err(format!(
                            "ERR Slot {} is being migrated with SETSLOT",
                            s.get()
                        ));
                    }
                    if shared.slotmig.exporting(s) || all.contains(s) {
                        return Err(format!("ERR Slot {} is already being migrated", s.get()));
                    }
                    set.insert(s);
                    all.insert(s);
                }
            }
            plans.push((ranges, target, set, (t.ip.clone(), t.port)));
        }
    }
    for (ranges, target, slots, addr) in plans {
        let export = Arc::new(Export {
            name: shared.slotmig.name(),
            target,
            ranges,
            slots,
            created_ms: unix_ms(),
            dirty: Mutex::new(HashSet::new()),
            cancelled: AtomicBool::new(false),
            keys_sent: AtomicU64::new(0),
            status: Mutex::new(Status {
                state: State::Connecting,
                message: String::new(),
                updated_ms: unix_ms(),
            }),
        });
        {
            let mut h = shared.slotmig.history.lock();
            h.push_back(Arc::clone(&export));
            while h.len() > KEEP_FINISHED && h.front().is_some_and(|e| e.state().finished()) {
                h.pop_front();
            }
        }
        // Tracking begins now, before the thread reads the first key.
        shared.slotmig.exports.lock().push(Arc::clone(&export));
        shared.slotmig.tracking.store(true, Ordering::SeqCst);
        let me = Arc::clone(&me);
        let spawned = std::thread::Builder::new()
            .name("slot-export".to_owned())
            .spawn(move || run_export(&me, &export, &addr.0, addr.1));
        if let Err(e) = spawned {
            return Err(format!("ERR could not start the migration: {e}"));
        }
    }
    Ok(())
}

/// `CLUSTER CANCELSLOTMIGRATIONS`: how many running exports were told to
/// stop.
pub(crate) fn cancel_all(shared: &Shared) -> usize {
    let exports = shared.slotmig.exports.lock();
    for e in exports.iter() {
        e.cancelled.store(true, Ordering::SeqCst);
    }
    exports.len()
}

/// What the reply reader has seen.
#[derive(Debug, Default)]
struct Acks {
    count: u64,
    error: Option<String>,
    closed: bool,
}

type AckState = Arc<(Mutex<Acks>, Condvar)>;

/// Reads the target's replies (one line each: `+OK`, `:n`, `-ERR ...`).
fn read_replies(stream: TcpStream, acks: AckState) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut reader).take(64 * 1024).read_until(b'\n', &mut line);
        let (lock, cv) = &*acks;
        let mut a = lock.lock();
        match n {
            Ok(n) if n > 0 && line.ends_with(b"\n") => {
                a.count += 1;
                if line.first() == Some(&b'-') && a.error.is_none() {
                    let text = String::from_utf8_lossy(&line);
                    a.error = Some(text.trim_end().trim_start_matches('-').to_owned());
                }
                cv.notify_all();
            }
            _ => {
                a.closed = true;
                cv.notify_all();
                return;
            }
        }
    }
}

use std::io::Read as _;

/// The export's connection: what was sent, what was acknowledged.
struct Link {
    out: std::io::BufWriter<TcpStream>,
    sent: u64,
    acks: AckState,
    /// The export's cancel flag: a wait for replies ends when it is set.
    cancel: Arc<Export>,
    /// How long the target may go without replying.
    timeout: Duration,
    /// When the current batch began (see [`PACE`]).
    batch_start: Instant,
}

impl Link {
    fn command(&mut self, args: &[&[u8]]) -> Result<(), String> {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for a in args {
            buf.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            buf.extend_from_slice(a);
            buf.extend_from_slice(b"\r\n");
        }
        self.out
            .write_all(&buf)
            .map_err(|e| format!("error writing to the target: {e}"))?;
        self.sent += 1;
        if self.sent % PACE_BATCH == 0 {
            // Pacing: once a batch is applied, rest as long as it took, so
            // that the target (and this node) spend at most about half
            // their time on the stream and clients keep their latency.
            self.wait_all()?;
            let took = self.batch_start.elapsed();
            std::thread::sleep(took.mul_f64(PACE));
            self.batch_start = Instant::now();
        }
        Ok(())
    }

    /// Flushes and waits until `n` replies came (or an error).
    fn wait_for(&mut self, n: u64) -> Result<(), String> {
        self.out
            .flush()
            .map_err(|e| format!("error writing to the target: {e}"))?;
        let mut deadline = Instant::now() + self.timeout;
        let (lock, cv) = &*self.acks;
        let mut a = lock.lock();
        let mut seen = a.count;
        loop {
            if a.count > seen {
                // Progress: the target is alive, only busy.
                seen = a.count;
                deadline = Instant::now() + self.timeout;
            }
            if let Some(e) = &a.error {
                return Err(format!("the target refused: {e}"));
            }
            if a.count >= n {
                return Ok(());
            }
            if a.closed {
                return Err("the target closed the connection".to_owned());
            }
            if self.cancel.cancelled.load(Ordering::SeqCst) {
                return Err("cancelled".to_owned());
            }
            if Instant::now() >= deadline {
                return Err("timeout waiting for the target".to_owned());
            }
            let next = (Instant::now() + Duration::from_millis(50)).min(deadline);
            let _ = cv.wait_until(&mut a, next);
        }
    }

    fn wait_all(&mut self) -> Result<(), String> {
        let n = self.sent;
        self.wait_for(n)
    }
}

/// Stops noting writes for `export`.
fn stop_tracking(shared: &Shared, export: &Arc<Export>) {
    let mut exports = shared.slotmig.exports.lock();
    exports.retain(|e| !Arc::ptr_eq(e, export));
    if exports.is_empty() {
        shared.slotmig.tracking.store(false, Ordering::SeqCst);
    }
}

fn run_export(shared: &Arc<Shared>, export: &Arc<Export>, host: &str, port: u16) {
    // The stream is background work: clients' commands come first.
    let _ = crate::sys::nice_this_thread(10);
    let outcome = export_slots(shared, export, host, port);
    // Tracking ends either way.
    stop_tracking(shared, export);
    match outcome {
        Ok(()) => {
            let message = export.status.lock().message.clone();
            crate::log::notice(&format!(
                "Slot migration {} of {} to {} done ({message})",
                export.name,
                ranges_text(&export.ranges),
                export.target
            ));
            export.set_state(State::Success, &message);
        }
        Err(e) => {
            let state = if export.cancelled.load(Ordering::SeqCst) {
                State::Cancelled
            } else {
                State::Failed
            };
            crate::log::warning(&format!(
                "Slot migration {} of {} to {} {}: {e}",
                export.name,
                ranges_text(&export.ranges),
                export.target,
                state.as_str()
            ));
            export.set_state(state, &e);
        }
    }
}

/// The config's payload options (`rdbcompression`, list fill).
fn encode_options(shared: &Shared) -> ferrodis_persist::EncodeOptions {
    crate::commands::dump_options(&shared.config.read())
}

/// Sends `key` as it is now: `RESTORE ... REPLACE ABSTTL`, or `DEL` if it
/// is gone.
fn send_key(
    link: &mut Link,
    db: &ferrodis_store::Db<'_>,
    opts: &ferrodis_persist::EncodeOptions,
    key: &[u8],
) -> Result<(), String> {
    match db.peek(key) {
        Some((obj, expire_at)) => {
            let payload = obj.to_dump(opts);
            let at = expire_at.unwrap_or(0).to_string();
            link.command(&[
                b"RESTORE",
                key,
                at.as_bytes(),
                &payload,
                b"REPLACE",
                b"ABSTTL",
            ])
        }
        None => link.command(&[b"DEL", key]),
    }
}

/// Takes the noted keys.
fn take_dirty(export: &Export) -> Vec<Vec<u8>> {
    std::mem::take(&mut *export.dirty.lock())
        .into_iter()
        .collect()
}

fn export_slots(
    shared: &Arc<Shared>,
    export: &Arc<Export>,
    host: &str,
    port: u16,
) -> Result<(), String> {
    let cancelled = || -> Result<(), String> {
        if export.cancelled.load(Ordering::SeqCst) {
            Err("cancelled".to_owned())
        } else {
            Ok(())
        }
    };
    let addr = (host, port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| format!("cannot resolve {host}:{port}"))?;
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
    let _ = stream.set_nodelay(true);
    let timeout = reply_timeout(shared);
    let _ = stream.set_write_timeout(Some(timeout));
    let reader = stream
        .try_clone()
        .map_err(|e| format!("cannot use the connection: {e}"))?;
    let acks: AckState = Arc::default();
    {
        let acks = Arc::clone(&acks);
        std::thread::Builder::new()
            .name("slot-export-acks".to_owned())
            .spawn(move || read_replies(reader, acks))
            .map_err(|e| format!("cannot start a thread: {e}"))?;
    }
    let closer = stream
        .try_clone()
        .map_err(|e| format!("cannot use the connection: {e}"))?;
    let mut link = Link {
        out: std::io::BufWriter::with_capacity(256 * 1024, stream),
        sent: 0,
        acks,
        cancel: Arc::clone(export),
        timeout,
        batch_start: Instant::now(),
    };
    let result = stream_slots(shared, export, &mut link, &cancelled);
    // Ends the connection, whatever happened: a target that did not see
    // COMMIT drops what it got.
    let _ = closer.shutdown(std::net::Shutdown::Both);
    result
}

fn stream_slots(
    shared: &Arc<Shared>,
    export: &Arc<Export>,
    link: &mut Link,
    cancelled: &dyn Fn() -> Result<(), String>,
) -> Result<(), String> {
    let (user, pass) = {
        let cfg = shared.config.read();
        let get = |k: &str| cfg.get_str(k).filter(|v| !v.is_empty()).map(str::to_owned);
        (get("masteruser"), get("masterauth"))
    };
    if let Some(pass) = &pass {
        match &user {
            Some(u) => link.command(&[b"AUTH", u.as_bytes(), pass.as_bytes()])?,
            None => link.command(&[b"AUTH", pass.as_bytes()])?,
        }
    }
    let Some(cluster) = &shared.cluster else {
        return Err("cluster support disabled".to_owned());
    };
    let my_id = cluster.node().id();
    let mut begin: Vec<Vec<u8>> = vec![
        b"CLUSTER".to_vec(),
        b"SYNCSLOTS".to_vec(),
        b"BEGIN".to_vec(),
        my_id.as_str().as_bytes().to_vec(),
    ];
    for (a, b) in &export.ranges {
        begin.push(a.get().to_string().into_bytes());
        begin.push(b.get().to_string().into_bytes());
    }
    let begin: Vec<&[u8]> = begin.iter().map(Vec::as_slice).collect();
    link.command(&begin)?;
    link.wait_all()?;
    cancelled()?;

    export.set_state(State::Snapshot, "");
    let db = shared
        .store
        .db(0)
        .map_err(|e| format!("no database 0: {e}"))?;
    let opts = encode_options(shared);
    // `rdb-key-save-delay` (a testing knob, as for RDB files): microseconds
    // to wait after each key of the snapshot.
    let delay = shared
        .config
        .read()
        .get_i64("rdb-key-save-delay")
        .filter(|&d| d > 0)
        .map(|d| Duration::from_micros(d as u64));
    let mut sent = 0u64;
    for slot in export.slots.iter().collect::<Vec<Slot>>() {
        for key in db.keys_in_slot(slot, usize::MAX) {
            send_key(link, &db, &opts, &key)?;
            sent += 1;
            if let Some(d) = delay {
                std::thread::sleep(d);
            }
        }
        export.keys_sent.store(sent, Ordering::Relaxed);
        cancelled()?;
    }

    export.set_state(State::CatchUp, "");
    for _ in 0..CATCH_UP_ROUNDS {
        link.wait_all()?;
        cancelled()?;
        let dirty = take_dirty(export);
        let few = dirty.len() <= FEW;
        for key in &dirty {
            send_key(link, &db, &opts, key)?;
        }
        sent += dirty.len() as u64;
        export.keys_sent.store(sent, Ordering::Relaxed);
        if few {
            break;
        }
    }
    link.wait_all()?;
    cancelled()?;

    export.set_state(State::Flip, "");
    let paused_at = Instant::now();
    let pause = PausedWrites::begin(shared, link.timeout);
    let dirty = take_dirty(export);
    for key in &dirty {
        send_key(link, &db, &opts, key)?;
    }
    sent += dirty.len() as u64;
    export.keys_sent.store(sent, Ordering::Relaxed);
    // Every key applied before COMMIT goes: a key the target refused
    // must not be left behind by a commit that succeeds.
    link.wait_all()?;
    cancelled()?;
    link.command(&[b"CLUSTER", b"SYNCSLOTS", b"COMMIT"])?;
    let committed = link.wait_all();
    let slots = export.slots.iter().collect::<Vec<Slot>>();
    if let Err(e) = committed {
        // The target may have taken the slots and its reply be lost: wait
        // for the bus to tell, writes still paused.
        let timeout = shared
            .config
            .read()
            .get_str("cluster-node-timeout")
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(15_000);
        let deadline = Instant::now() + Duration::from_millis(timeout);
        let first = slots.first().copied();
        let taken = loop {
            let owner = first.and_then(|s| cluster.node().slot_map().owner(s).copied());
            if owner == Some(export.target) {
                break true;
            }
            if Instant::now() >= deadline || e.starts_with("the target refused") {
                break false;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        if !taken {
            drop(pause);
            return Err(e);
        }
    }
    let result = cluster.node().cede_slots(&slots, &export.target, unix_ms());
    let actions = match result {
        Ok(actions) => actions,
        Err(e) => {
            drop(pause);
            return Err(format!("could not give the slots away: {e}"));
        }
    };
    // Writes held by the pause get -MOVED once the view shows the new
    // owner; the config file (fsynced) is written after they go on: the
    // target's claim, saved before it answered, wins anyway.
    cluster.publish_view(shared);
    stop_tracking(shared, export);
    drop(pause);
    let paused = paused_at.elapsed();
    cluster.after_change(shared);
    cluster.run(actions);
    export.set_state(
        State::Flip,
        &format!("writes paused {} us", paused.as_micros()),
    );
    // A node that turned replica (its last slots went, or the target's
    // claim reached it first by the bus) gets its data from its master.
    if cluster.node().myself().is_master() && !shared.repl.is_replica() {
        delete_slots(shared, &slots);
    }
    Ok(())
}

/// Deletes every key of `slots` here, propagating the deletions (an
/// export's keys once the target serves them; an import's on cancel).
fn delete_slots(shared: &Shared, slots: &[Slot]) {
    let Ok(db) = shared.store.db(0) else {
        return;
    };
    for &slot in slots {
        // Passed like a write, so that the DELs take their place in the
        // AOF and the replication stream.
        let _gate = crate::repl::pass_gate(shared, false);
        for key in db.flush_slot(slot) {
            crate::persist::propagate::deleted(shared, 0, &key);
        }
    }
}

/// Writes paused for an export's flip, as `CLIENT PAUSE WRITE` would, and
/// no write half done; released when dropped.
struct PausedWrites<'a> {
    shared: &'a Shared,
    before: (u64, bool),
}

impl<'a> PausedWrites<'a> {
    fn begin(shared: &'a Shared, timeout: Duration) -> PausedWrites<'a> {
        let before = (
            shared.pause_until_ms.load(Ordering::SeqCst),
            shared.pause_writes_only.load(Ordering::SeqCst),
        );
        // A pause already on that covers all commands stays so.
        let writes_only = before.0 <= unix_ms() || before.1;
        shared
            .pause_writes_only
            .store(writes_only, Ordering::SeqCst);
        shared.pause_until_ms.store(
            before.0.max(unix_ms() + 2 * timeout.as_millis() as u64),
            Ordering::SeqCst,
        );
        // A write that passed its pause check before this finishes first;
        // one that has not yet is held.
        crate::repl::fence_writes(shared);
        PausedWrites { shared, before }
    }
}

impl Drop for PausedWrites<'_> {
    fn drop(&mut self) {
        let (until, writes_only) = self.before;
        self.shared
            .pause_writes_only
            .store(writes_only, Ordering::SeqCst);
        self.shared.pause_until_ms.store(until, Ordering::SeqCst);
        self.shared.wake_workers();
    }
}

// ---------------------------------------------------------------------
// Target side.

/// `CLUSTER SYNCSLOTS BEGIN <source> <start> <end> ...` from `client`: this
/// connection may write keys of those slots.
pub(crate) fn begin_import(shared: &Shared, client: u64, req: &Request) -> Result<(), String> {
    let Some(cluster) = &shared.cluster else {
        return Err("ERR This instance has cluster support disabled".to_owned());
    };
    let text = String::from_utf8_lossy(req.arg(3).unwrap_or_default()).into_owned();
    let source = NodeId::parse(&text).map_err(|_| format!("ERR Unknown node {text}"))?;
    let nums: Vec<&[u8]> = req.args().skip(4).collect();
    if nums.is_empty() || nums.len() % 2 != 0 {
        return Err("ERR syntax error".to_owned());
    }
    let mut ranges = Vec::new();
    let mut slots = SlotSet::new();
    let node = cluster.node();
    if node.myself().is_replica() {
        return Err("ERR Please use SYNCSLOTS only with masters.".to_owned());
    }
    if node.node(&source).is_none() {
        return Err(format!("ERR I don't know about node {source}"));
    }
    let my_id = node.id();
    for pair in nums.chunks(2) {
        let slot = |a: &[u8]| {
            std::str::from_utf8(a)
                .ok()
                .and_then(|t| t.parse::<u16>().ok())
                .and_then(Slot::new)
                .ok_or_else(|| "ERR Invalid or out of range slot".to_owned())
        };
        let (a, b) = match pair {
            [a, b] => (slot(a)?, slot(b)?),
            _ => return Err("ERR syntax error".to_owned()),
        };
        for s in (a.get()..=b.get()).filter_map(Slot::new) {
            if node.slot_map().owner(s) == Some(&my_id) {
                return Err(format!(
                    "ERR I'm already the owner of hash slot {}",
                    s.get()
                ));
            }
            slots.insert(s);
        }
        ranges.push((a, b));
    }
    drop(node);
    let mut imports = shared.slotmig.imports.lock();
    if imports.values().any(|i| !i.slots.is_disjoint(&slots)) {
        return Err("ERR Slots are being imported already".to_owned());
    }
    if imports.contains_key(&client) {
        return Err("ERR This connection imports slots already".to_owned());
    }
    imports.insert(
        client,
        Import {
            name: shared.slotmig.name(),
            source,
            ranges,
            slots,
            created_ms: unix_ms(),
        },
    );
    if let Err(e) = write_marker(shared, &imports) {
        imports.remove(&client);
        return Err(format!("ERR could not save the import: {e}"));
    }
    Ok(())
}

/// Where the slots of running imports are listed.
fn marker_path(shared: &Shared) -> Option<std::path::PathBuf> {
    let cluster = shared.cluster.as_ref()?;
    Some(std::path::PathBuf::from(format!(
        "{}.import",
        cluster.config_path()
    )))
}

/// Lists the slots of `imports` in the marker file, fsynced (or removes
/// it when there are none).
fn write_marker(shared: &Shared, imports: &HashMap<u64, Import>) -> std::io::Result<()> {
    let Some(path) = marker_path(shared) else {
        return Ok(());
    };
    if imports.is_empty() {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
    }
    let mut text = String::new();
    for i in imports.values() {
        text.push_str(&i.slots.to_string());
        text.push('\n');
    }
    let tmp = path.with_extension("import.tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &path)
}

/// The slots a marker file lists (a line per import, as `CLUSTER NODES`
/// prints slots); a line that does not parse is skipped.
fn parse_marker(text: &str) -> SlotSet {
    let mut slots = SlotSet::new();
    for line in text.lines() {
        if let Ok(set) = SlotSet::parse(line.trim()) {
            slots.union_with(&set);
        }
    }
    slots
}

/// At start, after the data loaded: the keys of imports a crash cut
/// short go (in slots this node does not serve), and the marker with them.
pub(crate) fn recover_at_start(shared: &Shared) {
    let Some(path) = marker_path(shared) else {
        return;
    };
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    let slots: Vec<Slot> = parse_marker(&text).iter().collect();
    crate::log::warning(&format!(
        "A slot import was interrupted ({}): dropping the keys it left",
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    ));
    delete_unowned(shared, &slots);
    let _ = std::fs::remove_file(&path);
}

/// `CLUSTER SYNCSLOTS COMMIT` from `client`: everything it sent before was
/// applied; this node takes the slots.
pub(crate) fn commit_import(shared: &Shared, client: u64) -> Result<(), String> {
    let Some(cluster) = &shared.cluster else {
        return Err("ERR This instance has cluster support disabled".to_owned());
    };
    let mut imports = shared.slotmig.imports.lock();
    let Some(import) = imports.remove(&client) else {
        return Err("ERR No slot import on this connection".to_owned());
    };
    let slots = import.slots.iter().collect::<Vec<Slot>>();
    let result = cluster.node().claim_slots(&slots, unix_ms());
    match result {
        Ok(actions) => {
            // The claim is saved (fsynced) before the marker goes.
            cluster.after_change(shared);
            cluster.run(actions);
            let _ = write_marker(shared, &imports);
            crate::log::notice(&format!(
                "Slots {} imported from {}",
                ranges_text(&import.ranges),
                import.source
            ));
            Ok(())
        }
        Err(e) => {
            drop(imports);
            delete_unowned(shared, &import.slots.iter().collect::<Vec<Slot>>());
            let _ = write_marker(shared, &shared.slotmig.imports.lock());
            Err(e.to_string())
        }
    }
}

/// A connection closed: an import it streamed without a commit is
/// dropped, with the keys it wrote.
pub(crate) fn on_disconnect(shared: &Shared, client: u64) {
    let Some(import) = shared.slotmig.imports.lock().remove(&client) else {
        return;
    };
    crate::log::warning(&format!(
        "Slot import of {} from {} ended without a commit: dropping its keys",
        ranges_text(&import.ranges),
        import.source
    ));
    delete_unowned(shared, &import.slots.iter().collect::<Vec<Slot>>());
    let _ = write_marker(shared, &shared.slotmig.imports.lock());
}

/// Deletes the keys of those of `slots` this node does not serve.
fn delete_unowned(shared: &Shared, slots: &[Slot]) {
    let Some(cluster) = &shared.cluster else {
        return;
    };
    let slots: Vec<Slot> = {
        let node = cluster.node();
        let my_id = node.id();
        slots
            .iter()
            .copied()
            .filter(|s| node.slot_map().owner(*s) != Some(&my_id))
            .collect()
    };
    delete_slots(shared, &slots);
}

// ---------------------------------------------------------------------
// CLUSTER GETSLOTMIGRATIONS.

/// One row of `CLUSTER GETSLOTMIGRATIONS`.
pub(crate) struct Row {
    pub(crate) fields: Vec<(&'static str, String)>,
}

/// The running and recent migrations, exports then imports.
pub(crate) fn rows(shared: &Shared) -> Vec<Row> {
    let my_id = shared
        .cluster
        .as_ref()
        .map(|c| c.node().id().to_string())
        .unwrap_or_default();
    let mut rows = Vec::new();
    for e in shared.slotmig.history.lock().iter() {
        let s = e.status.lock();
        rows.push(Row {
            fields: vec![
                ("name", e.name.clone()),
                ("operation", "EXPORT".to_owned()),
                ("slot_ranges", ranges_text(&e.ranges)),
                ("source_node", my_id.clone()),
                ("target_node", e.target.to_string()),
                ("create_time", e.created_ms.to_string()),
                ("last_update_time", s.updated_ms.to_string()),
                ("state", s.state.as_str().to_owned()),
                ("message", s.message.clone()),
                ("keys_sent", e.keys_sent.load(Ordering::Relaxed).to_string()),
            ],
        });
    }
    for i in shared.slotmig.imports.lock().values() {
        rows.push(Row {
            fields: vec![
                ("name", i.name.clone()),
                ("operation", "IMPORT".to_owned()),
                ("slot_ranges", ranges_text(&i.ranges)),
                ("source_node", i.source.to_string()),
                ("target_node", my_id.clone()),
                ("create_time", i.created_ms.to_string()),
                ("last_update_time", i.created_ms.to_string()),
                ("state", "importing".to_owned()),
                ("message", String::new()),
                ("keys_sent", "0".to_owned()),
            ],
        });
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use crate::cluster::keys::tests::request;

    const ID: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn groups_parse_and_bad_ones_are_refused() {
        let req = request(&[
            "cluster",
            "migrateslots",
            "slotsrange",
            "0",
            "9",
            "20",
            "20",
            "node",
            ID,
        ]);
        let groups = parse_groups(&req, 2).unwrap();
        assert_eq!(groups.len(), 1);
        assert_eq!(ranges_text(&groups[0].0), "0-9 20-20");
        assert_eq!(groups[0].1.as_str(), ID);
        for (words, err) in [
            (
                vec!["slotsrange", "5", "1", "node", ID],
                "ERR start slot number 5 is greater than end slot number 1",
            ),
            (
                vec!["slotsrange", "0", "16384", "node", ID],
                "ERR Invalid or out of range slot '16384'",
            ),
            (vec!["slotsrange", "0", "1"], "ERR syntax error"),
            (vec!["slotsrange", "node", ID], "ERR syntax error"),
            (vec!["node", ID], "ERR syntax error"),
            (vec![], "ERR syntax error"),
            (
                vec!["slotsrange", "0", "1", "node", "nope"],
                "ERR Unknown node nope",
            ),
        ] {
            let mut all = vec!["cluster", "migrateslots"];
            all.extend(words);
            assert_eq!(parse_groups(&request(&all), 2).unwrap_err(), err);
        }
    }

    proptest! {
        /// Any words after MIGRATESLOTS parse or get an error, never a
        /// panic; what parses names only valid, ordered ranges.
        #[test]
        fn any_words_parse_or_are_refused(words in proptest::collection::vec(
            prop_oneof![
                Just("slotsrange".to_owned()),
                Just("node".to_owned()),
                Just(ID.to_owned()),
                (0u32..17000).prop_map(|n| n.to_string()),
                "[a-z0-9-]{0,6}",
            ],
            0..12,
        )) {
            let mut all = vec!["cluster".to_owned(), "migrateslots".to_owned()];
            all.extend(words);
            let refs: Vec<&str> = all.iter().map(String::as_str).collect();
            if let Ok(groups) = parse_groups(&request(&refs), 2) {
                for (ranges, _) in groups {
                    prop_assert!(!ranges.is_empty());
                    for (a, b) in ranges {
                        prop_assert!(a <= b);
                    }
                }
            }
            // The marker parser takes any text as well.
            let _ = parse_marker(&refs.join(" "));
        }
    }

    #[test]
    fn marker_lines() {
        let s = |n| Slot::new(n).unwrap();
        let slots: Vec<Slot> = parse_marker("0-2 9\n16383\nnot slots\n5-z\n")
            .iter()
            .collect();
        assert_eq!(slots, vec![s(0), s(1), s(2), s(9), s(16383)]);
    }
}
