//! Replication: this node as a master (replicas served from a snapshot
//! and then from the backlog, `master.rs`) and as a replica (the link to
//! its master, `replica.rs`). The protocol logic is `ferrodis_repl`'s; this
//! module owns the sockets, the threads and the clock.
//!
//! Both roles share one history: the replication ids, the backlog and
//! `master_repl_offset`. A master feeds its backlog with the writes it
//! runs (`feed`, from the same place as the AOF, under the write gate so
//! that the stream's order is the order of execution); a replica feeds it
//! with the bytes its master sent, unchanged, so that its own replicas
//! (replicas of replicas) follow the same history with the same offsets.
//! Each replica this node serves has a thread that tails the backlog, so
//! every replica gets the same bytes in the same order.

pub(crate) mod master;
pub(crate) mod replica;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferrodis_repl::master::StreamDb;
use ferrodis_repl::{Backlog, ReplId, ReplIds};
use parking_lot::{Condvar, Mutex};

use crate::log;
use crate::shared::{random_u64, unix_ms, Shared};

/// A replica this node serves, as INFO and ROLE show it.
#[derive(Debug)]
pub(crate) struct ReplicaInfo {
    pub(crate) client_id: u64,
    pub(crate) ip: String,
    pub(crate) port: u16,
    /// [`STATE_WAIT_BGSAVE`], [`STATE_SEND_BULK`] or [`STATE_ONLINE`].
    pub(crate) state: AtomicU8,
    pub(crate) ack_off: AtomicU64,
    pub(crate) ack_time_ms: AtomicU64,
    /// ACKs received so far.
    pub(crate) acks: AtomicU64,
    /// Set when the connection is to be closed (or was).
    pub(crate) closed: AtomicBool,
    pub(crate) socket: Mutex<Option<std::net::TcpStream>>,
    /// While its payload is made and sent: the stream bytes fed since the
    /// payload's offset, so that a backlog smaller than the writes of the
    /// transfer does not lose them (Redis keeps them in the replica's
    /// output buffer).
    pub(crate) spill: Mutex<Option<Vec<u8>>>,
}

/// The most a replica's transfer may hold back (Redis' default hard
/// `client-output-buffer-limit` for replicas).
pub(crate) const SPILL_LIMIT: usize = 256 << 20;

pub(crate) const STATE_WAIT_BGSAVE: u8 = 0;
pub(crate) const STATE_SEND_BULK: u8 = 1;
pub(crate) const STATE_ONLINE: u8 = 2;

impl ReplicaInfo {
    fn state_name(&self) -> &'static str {
        match self.state.load(Ordering::Relaxed) {
            STATE_WAIT_BGSAVE => "wait_bgsave",
            STATE_SEND_BULK => "send_bulk",
            _ => "online",
        }
    }

    /// Closes the connection; its threads notice and end.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        if let Some(s) = self.socket.lock().as_ref() {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// The history both roles share, behind one lock.
#[derive(Debug)]
pub(crate) struct History {
    pub(crate) ids: ReplIds,
    pub(crate) backlog: Option<Backlog>,
    /// `master_repl_offset` while there is no backlog.
    pub(crate) offset: u64,
    pub(crate) db: StreamDb,
    /// On a replica: the database its master's stream has selected (what a
    /// payload made here tells its own replicas as `repl-stream-db`, since
    /// the proxied stream cannot be given a SELECT).
    pub(crate) proxied_db: usize,
    pub(crate) replicas: Vec<Arc<ReplicaInfo>>,
    /// When the last replica left (for `repl-backlog-ttl`).
    pub(crate) no_replicas_since_ms: u64,
}

impl History {
    pub(crate) fn master_repl_offset(&self) -> u64 {
        self.backlog
            .as_ref()
            .map_or(self.offset, Backlog::master_repl_offset)
    }

    /// Appends stream bytes.
    pub(crate) fn feed_raw(&mut self, bytes: &[u8]) {
        match &mut self.backlog {
            Some(b) => b.feed(bytes),
            None => self.offset += bytes.len() as u64,
        }
        for r in &self.replicas {
            if r.state.load(Ordering::Relaxed) == STATE_ONLINE {
                continue;
            }
            let mut spill = r.spill.lock();
            if let Some(buf) = spill.as_mut() {
                if buf.len() + bytes.len() > SPILL_LIMIT {
                    *spill = None;
                    drop(spill);
                    log::warning(&format!(
                        "Client id={} scheduled to be closed ASAP for overcoming of output buffer limits.",
                        r.client_id
                    ));
                    r.close();
                } else {
                    buf.extend_from_slice(bytes);
                }
            }
        }
    }

    /// Closes every replica's connection: they reconnect and learn the new
    /// history.
    pub(crate) fn disconnect_replicas(&mut self) {
        for r in self.replicas.drain(..) {
            r.close();
        }
    }
}

/// What this node follows, when it is a replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MasterAddr {
    pub(crate) host: String,
    pub(crate) port: u16,
}

/// The replica side's link, as INFO shows it.
#[derive(Debug, Default)]
pub(crate) struct LinkStatus {
    /// `master_link_status:up`.
    pub(crate) up: AtomicBool,
    /// A payload is being received.
    pub(crate) syncing: AtomicBool,
    /// `repl_state` for ROLE: 0 connect, 1 connecting, 2 handshake, 3 sync,
    /// 4 connected.
    pub(crate) phase: AtomicU8,
    pub(crate) last_io_ms: AtomicU64,
    pub(crate) down_since_ms: AtomicU64,
    /// The offset processed (`slave_repl_offset`) and read.
    pub(crate) processed: AtomicU64,
    pub(crate) read: AtomicU64,
    /// Whether a link was ever established (the offsets mean something).
    pub(crate) had_master: AtomicBool,
    /// The payload being received: its size (-1 with EOF framing), the
    /// bytes read, and when the last ones came.
    pub(crate) sync_total: std::sync::atomic::AtomicI64,
    pub(crate) sync_read: AtomicU64,
    pub(crate) sync_last_io_ms: AtomicU64,
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct Repl {
    pub(crate) history: Mutex<History>,
    /// Signalled when the backlog grows, an ACK arrives or a replica
    /// leaves.
    pub(crate) changed: Condvar,
    /// Whether the backlog exists: writes then pass the write gate
    /// exclusively, so that the stream's order is the execution order.
    pub(crate) active: AtomicBool,
    /// The master this node replicates, if any, and a generation number
    /// that ends the link thread of a previous master.
    pub(crate) master: Mutex<Option<MasterAddr>>,
    /// Whether `master` is set (read on every write).
    pub(crate) following: AtomicBool,
    pub(crate) generation: AtomicU64,
    /// CLIENT KILL TYPE master: the link thread drops its connection (and
    /// reconnects).
    pub(crate) kill_link: AtomicBool,
    pub(crate) link: LinkStatus,
    /// Writes running without the write gate (one worker, no backlog).
    pub(crate) ungated: AtomicU64,
    pub(crate) sync_full: AtomicU64,
    pub(crate) sync_partial_ok: AtomicU64,
    pub(crate) sync_partial_err: AtomicU64,
    cron_started: AtomicBool,
}

impl Repl {
    pub(crate) fn new() -> Repl {
        Repl {
            history: Mutex::new(History {
                ids: ReplIds::new(fresh_id()),
                backlog: None,
                offset: 0,
                db: StreamDb::default(),
                proxied_db: 0,
                replicas: Vec::new(),
                no_replicas_since_ms: unix_ms(),
            }),
            changed: Condvar::new(),
            active: AtomicBool::new(false),
            master: Mutex::new(None),
            following: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            kill_link: AtomicBool::new(false),
            link: LinkStatus::default(),
            ungated: AtomicU64::new(0),
            sync_full: AtomicU64::new(0),
            sync_partial_ok: AtomicU64::new(0),
            sync_partial_err: AtomicU64::new(0),
            cron_started: AtomicBool::new(false),
        }
    }

    /// Whether this node replicates a master.
    pub(crate) fn is_replica(&self) -> bool {
        self.following.load(Ordering::Acquire)
    }
}

/// A write running without the gate; see [`gate_on`].
pub(crate) struct Ungated<'a>(&'a Repl);

impl<'a> Ungated<'a> {
    pub(crate) fn enter(repl: &'a Repl) -> Ungated<'a> {
        repl.ungated.fetch_add(1, Ordering::SeqCst);
        Ungated(repl)
    }
}

impl Drop for Ungated<'_> {
    fn drop(&mut self) {
        self.0.ungated.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Passes the write gate for a write (a command, EXEC, serving a blocked
/// client): exclusively for EXEC (`exec`), while the AOF is on or the
/// backlog exists; shared otherwise with several workers; with one worker
/// and neither, not at all but counted in `ungated` (see [`gate_on`]).
/// Both guards are held until the write is propagated.
pub(crate) fn pass_gate(
    shared: &Shared,
    exec: bool,
) -> (
    Option<crate::persist::gate::GateGuard<'_>>,
    Option<Ungated<'_>>,
) {
    let exclusive = exec
        || shared.persist.aof_on.load(Ordering::Relaxed)
        || shared.repl.active.load(Ordering::Relaxed);
    if shared.persist.gated.load(Ordering::Relaxed) {
        return (Some(shared.persist.gate.enter(exclusive)), None);
    }
    let ungated = Ungated::enter(&shared.repl);
    if shared.repl.active.load(Ordering::SeqCst) {
        drop(ungated);
        (Some(shared.persist.gate.enter(exclusive)), None)
    } else {
        (Some(shared.persist.gate.skip()), Some(ungated))
    }
}

/// Makes every write pass the write gate (exclusively) from now on, and
/// returns the gate held exclusively once no write is half done: then a
/// snapshot and the stream's offset agree. With several workers writes
/// always pass the gate; with one, a write either saw `active` and waits
/// at the gate, or announced itself in `ungated` before looking, and is
/// waited for here.
pub(crate) fn gate_on(shared: &Shared) -> crate::persist::gate::GateGuard<'_> {
    shared.repl.active.store(true, Ordering::SeqCst);
    let guard = shared.persist.gate.exclusive();
    while shared.repl.ungated.load(Ordering::SeqCst) > 0 {
        std::thread::yield_now();
    }
    guard
}

/// Waits until no write is half done, holding no lock after: for a pause
/// of writes that must know every write before it is over (a slot
/// migration's flip). Writes that come after the pause began see it and
/// are held (`commands::run`).
pub(crate) fn fence_writes(shared: &Shared) {
    let _guard = shared.persist.gate.exclusive();
    while shared.repl.ungated.load(Ordering::SeqCst) > 0 {
        std::thread::yield_now();
    }
}

/// What an RDB file written now records about replication (Redis'
/// `rdbPopulateSaveInfo`): taken with the snapshot, under the write gate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SaveInfo {
    pub(crate) stream_db: usize,
    pub(crate) replid: ReplId,
    pub(crate) offset: u64,
}

/// See [`SaveInfo`]: a replica that has followed a master, or a master
/// with a backlog, records its id and offset.
pub(crate) fn save_info(shared: &Shared) -> Option<SaveInfo> {
    let replica = shared.repl.is_replica();
    if replica && !shared.repl.link.had_master.load(Ordering::Relaxed) {
        return None;
    }
    let h = shared.repl.history.lock();
    if !replica && h.backlog.is_none() {
        return None;
    }
    Some(SaveInfo {
        stream_db: if replica { h.proxied_db } else { 0 },
        replid: h.ids.replid,
        offset: h.master_repl_offset(),
    })
}

/// After loading an RDB file with replication fields (at start): a node
/// configured as a replica takes them as the history to continue with its
/// master; a master keeps them as its secondary id, so that its former
/// replicas can continue with it (Redis' `loadDataFromDisk`).
pub(crate) fn restore(shared: &Shared, fields: crate::persist::rdb::ReplFields) {
    let (Some(replid), Some(offset), Some(stream_db)) =
        (fields.replid, fields.offset, fields.stream_db)
    else {
        return;
    };
    let (Ok(offset), Ok(stream_db)) = (u64::try_from(offset), usize::try_from(stream_db)) else {
        return;
    };
    let replica = shared.config.read().replicaof().is_some() || shared.repl.is_replica();
    let mut h = shared.repl.history.lock();
    if replica {
        h.ids = ReplIds::new(replid);
        h.backlog = None;
        h.offset = offset;
        h.proxied_db = stream_db;
        let link = &shared.repl.link;
        link.had_master.store(true, Ordering::Relaxed);
        link.processed.store(offset, Ordering::Relaxed);
        link.read.store(offset, Ordering::Relaxed);
    } else {
        h.ids.replid2 = replid;
        h.ids.second_repl_offset = ferrodis_repl_offset(offset) + 1;
        h.backlog = None;
        h.offset = offset;
    }
    ensure_backlog(shared, &mut h);
}

fn ferrodis_repl_offset(offset: u64) -> i64 {
    i64::try_from(offset).unwrap_or(i64::MAX)
}

/// A new random replication id.
pub(crate) fn fresh_id() -> ReplId {
    ReplId::from_random([random_u64(), random_u64(), random_u64()])
}

/// The backlog size configured.
fn backlog_size(shared: &Shared) -> usize {
    shared
        .config
        .read()
        .get_i64("repl-backlog-size")
        .unwrap_or(1 << 20)
        .max(Backlog::MIN_SIZE as i64) as usize
}

/// Creates the backlog if there is none (the caller holds the history).
pub(crate) fn ensure_backlog(shared: &Shared, h: &mut History) {
    if h.backlog.is_none() {
        let off = h.offset;
        h.backlog = Some(Backlog::new(backlog_size(shared), off));
        shared.repl.active.store(true, Ordering::Release);
    }
}

/// Applies `CONFIG SET repl-backlog-size` to the backlog, keeping as much
/// recent history as fits.
pub(crate) fn resize_backlog(shared: &Shared) {
    let size = backlog_size(shared);
    if let Some(b) = shared.repl.history.lock().backlog.as_mut() {
        b.resize(size);
    }
}

/// Propagates one write command, run in `db`, to the replicas (a master's
/// own writes; a replica proxies its master's bytes instead). Returns the
/// offset after it (the client's `woff` for WAIT).
pub(crate) fn feed(shared: &Shared, db: usize, argv: &[&[u8]]) -> Option<u64> {
    if !shared.repl.active.load(Ordering::Acquire) {
        return None;
    }
    let mut h = shared.repl.history.lock();
    h.backlog.as_ref()?;
    let mut bytes = Vec::new();
    h.db.encode(&mut bytes, db, argv);
    h.feed_raw(&bytes);
    let off = h.master_repl_offset();
    drop(h);
    shared.repl.changed.notify_all();
    Some(off)
}

/// Feeds a command that is not tied to a database (PING, REPLCONF
/// GETACK): no SELECT before it.
fn feed_plain(shared: &Shared, argv: &[&[u8]]) {
    let mut h = shared.repl.history.lock();
    if h.backlog.is_none() {
        return;
    }
    let mut bytes = Vec::new();
    ferrodis_repl::master::encode_command(&mut bytes, argv);
    h.feed_raw(&bytes);
    drop(h);
    shared.repl.changed.notify_all();
}

/// The current replication offset: `master_repl_offset` on a master, the
/// processed offset on a replica (they are the same number: a replica's
/// backlog holds what it processed).
pub(crate) fn current_offset(shared: &Shared) -> u64 {
    shared.repl.history.lock().master_repl_offset()
}

/// On a replica, when it last heard from its master, Unix ms: the last
/// read while the link is up, the moment it went down otherwise (Redis'
/// `lastinteraction` and `repl_down_since`). `None` on a master.
pub(crate) fn master_last_interaction(shared: &Shared) -> Option<u64> {
    if !shared.repl.is_replica() {
        return None;
    }
    let link = &shared.repl.link;
    if link.up.load(Ordering::Acquire) {
        Some(link.last_io_ms.load(Ordering::Relaxed))
    } else {
        match link.down_since_ms.load(Ordering::Relaxed) {
            0 => None,
            since => Some(since),
        }
    }
}

/// Starts replicating `host:port` (REPLICAOF host port). Returns false when
/// this node already follows that master.
pub(crate) fn replicate_from(shared: &Arc<Shared>, host: &str, port: u16) -> bool {
    let addr = MasterAddr {
        host: host.to_owned(),
        port,
    };
    {
        let mut m = shared.repl.master.lock();
        if m.as_ref() == Some(&addr) {
            return false;
        }
        *m = Some(addr.clone());
        shared.repl.following.store(true, Ordering::Release);
    }
    // Under the write gate: the previous link applies nothing more once
    // this returns (it checks the generation with the gate held).
    let generation = {
        let _gate = shared.persist.gate.exclusive();
        shared.repl.generation.fetch_add(1, Ordering::AcqRel) + 1
    };
    let link = &shared.repl.link;
    link.up.store(false, Ordering::Release);
    link.down_since_ms.store(0, Ordering::Relaxed);
    link.phase.store(0, Ordering::Relaxed);
    // The node's own history is what it may continue from with the new
    // master (PSYNC2): `processed` becomes its offset.
    let off = current_offset(shared);
    link.processed.store(off, Ordering::Relaxed);
    link.read.store(off, Ordering::Relaxed);
    start_cron(shared);
    replica::spawn(shared, addr, generation);
    true
}

/// Stops replicating and becomes a master (REPLICAOF NO ONE): the history
/// goes on under a new id, the old one kept as `replid2` (PSYNC2), so that
/// replicas of the same former master can continue from this node.
pub(crate) fn become_master(shared: &Shared) {
    if shared.repl.master.lock().take().is_none() {
        return;
    }
    shared.repl.following.store(false, Ordering::Release);
    {
        // See `replicate_from`: the old link stops applying now.
        let _gate = shared.persist.gate.exclusive();
        shared.repl.generation.fetch_add(1, Ordering::AcqRel);
    }
    let link = &shared.repl.link;
    link.up.store(false, Ordering::Release);
    link.syncing.store(false, Ordering::Release);
    let mut h = shared.repl.history.lock();
    let off = h.master_repl_offset();
    h.ids.shift(fresh_id(), off);
    ensure_backlog(shared, &mut h);
    // The next command needs a SELECT: replicas may be anywhere.
    h.db.reset();
    h.disconnect_replicas();
    log::notice(&format!(
        "Setting secondary replication ID to {}, valid up to offset: {}. New replication ID is {}",
        h.ids.replid2, h.ids.second_repl_offset, h.ids.replid
    ));
    log::notice("MASTER MODE enabled");
}

/// CLIENT KILL TYPE master: drops the link to the master, if up.
pub(crate) fn kill_master_link(shared: &Shared) -> bool {
    let up = shared.repl.is_replica() && shared.repl.link.up.load(Ordering::Acquire);
    if up {
        shared.repl.kill_link.store(true, Ordering::Release);
    }
    up
}

/// The thread that pings replicas (`repl-ping-replica-period`), frees an
/// unused backlog (`repl-backlog-ttl`) and counts good replicas.
pub(crate) fn start_cron(shared: &Arc<Shared>) {
    if shared.repl.cron_started.swap(true, Ordering::AcqRel) {
        return;
    }
    let weak = Arc::downgrade(shared);
    let _ = std::thread::Builder::new()
        .name("repl-cron".into())
        .spawn(move || {
            let mut last_ping = unix_ms();
            loop {
                std::thread::sleep(Duration::from_millis(100));
                let Some(shared) = weak.upgrade() else {
                    return;
                };
                if shared.shutdown.load(Ordering::Relaxed) {
                    return;
                }
                let (period, ttl) = {
                    let cfg = shared.config.read();
                    (
                        cfg.get_i64("repl-ping-replica-period").unwrap_or(10).max(1) as u64,
                        cfg.get_i64("repl-backlog-ttl").unwrap_or(3600).max(0) as u64,
                    )
                };
                let now = unix_ms();
                let is_replica = shared.repl.is_replica();
                let mut h = shared.repl.history.lock();
                if h.replicas.is_empty() {
                    let since = h.no_replicas_since_ms;
                    if !is_replica
                        && ttl > 0
                        && h.backlog.is_some()
                        && now.saturating_sub(since) >= ttl * 1000
                    {
                        // Redis changes the id too: nobody can continue
                        // from a history it no longer holds.
                        let off = h.master_repl_offset();
                        h.offset = off;
                        h.backlog = None;
                        h.ids = ReplIds::new(fresh_id());
                        shared.repl.active.store(false, Ordering::Release);
                        log::notice(&format!(
                            "Replication backlog freed after {ttl} seconds without connected replicas."
                        ));
                    }
                } else {
                    h.no_replicas_since_ms = now;
                }
                // Not while clients are paused: a manual failover waits
                // for the replica to reach an offset that must not move.
                let paused = shared.pause_until_ms.load(Ordering::Relaxed) > now;
                let ping = !is_replica
                    && !paused
                    && !h.replicas.is_empty()
                    && now.saturating_sub(last_ping) >= period * 1000;
                drop(h);
                if ping {
                    last_ping = now;
                    feed_plain(&shared, &[b"PING"]);
                }
            }
        });
}

/// Replicas online whose last ACK is at most `min-replicas-max-lag`
/// seconds old.
pub(crate) fn good_replicas(shared: &Shared) -> usize {
    let max_lag = shared
        .config
        .read()
        .get_i64("min-replicas-max-lag")
        .unwrap_or(10)
        .max(0) as u64;
    let now = unix_ms();
    shared
        .repl
        .history
        .lock()
        .replicas
        .iter()
        .filter(|r| {
            r.state.load(Ordering::Relaxed) == STATE_ONLINE
                && now.saturating_sub(r.ack_time_ms.load(Ordering::Relaxed)) / 1000 <= max_lag
        })
        .count()
}

/// Whether `min-replicas-to-write` refuses writes now.
pub(crate) fn writes_refused(shared: &Shared) -> bool {
    let (need, max_lag) = {
        let cfg = shared.config.read();
        (
            cfg.get_i64("min-replicas-to-write").unwrap_or(0),
            cfg.get_i64("min-replicas-max-lag").unwrap_or(10),
        )
    };
    need > 0 && max_lag > 0 && !shared.repl.is_replica() && (good_replicas(shared) as i64) < need
}

/// How many replicas acknowledged `offset`.
pub(crate) fn acked(shared: &Shared, offset: u64) -> usize {
    shared
        .repl
        .history
        .lock()
        .replicas
        .iter()
        .filter(|r| r.ack_off.load(Ordering::Acquire) >= offset)
        .count()
}

/// Asks every replica for an ACK now (`REPLCONF GETACK *` in the stream).
pub(crate) fn request_acks(shared: &Shared) {
    feed_plain(shared, &[b"REPLCONF", b"GETACK", b"*"]);
}

/// WAIT's waiting: until `n` replicas acknowledged `offset`, `until`
/// passes or `alive` says the client left; returns how many did.
pub(crate) fn wait_for_acks(
    shared: &Shared,
    offset: u64,
    n: usize,
    until: Option<std::time::Instant>,
    alive: impl Fn() -> bool,
) -> usize {
    loop {
        let mut h = shared.repl.history.lock();
        let got = h
            .replicas
            .iter()
            .filter(|r| r.ack_off.load(Ordering::Acquire) >= offset)
            .count();
        let now = std::time::Instant::now();
        if got >= n || until.is_some_and(|d| now >= d) || !alive() {
            return got;
        }
        let wait = until.map_or(Duration::from_millis(100), |d| {
            d.saturating_duration_since(now)
                .min(Duration::from_millis(100))
        });
        shared.repl.changed.wait_for(&mut h, wait);
    }
}

/// The `# Replication` section of INFO, with Redis' fields.
pub(crate) fn info(shared: &Shared) -> String {
    let mut out = String::new();
    let master = shared.repl.master.lock().clone();
    let now = unix_ms();
    match &master {
        None => out.push_str("role:master\r\n"),
        Some(m) => {
            let link = &shared.repl.link;
            let up = link.up.load(Ordering::Acquire);
            let had = link.had_master.load(Ordering::Relaxed);
            let (read, processed) = if had {
                (
                    link.read.load(Ordering::Relaxed),
                    link.processed.load(Ordering::Relaxed),
                )
            } else {
                (1, 1)
            };
            let last_io = if up {
                (now.saturating_sub(link.last_io_ms.load(Ordering::Relaxed)) / 1000) as i64
            } else {
                -1
            };
            out.push_str(&format!(
                "role:slave\r\nmaster_host:{}\r\nmaster_port:{}\r\nmaster_link_status:{}\r\nmaster_last_io_seconds_ago:{last_io}\r\nmaster_sync_in_progress:{}\r\nslave_read_repl_offset:{read}\r\nslave_repl_offset:{processed}\r\n",
                m.host,
                m.port,
                if up { "up" } else { "down" },
                u8::from(link.syncing.load(Ordering::Relaxed)),
            ));
            if link.syncing.load(Ordering::Relaxed) {
                let total = link.sync_total.load(Ordering::Relaxed);
                let read = link.sync_read.load(Ordering::Relaxed) as i64;
                let perc = if total > 0 {
                    read as f64 / total as f64 * 100.0
                } else {
                    0.0
                };
                out.push_str(&format!(
                    "master_sync_total_bytes:{total}\r\nmaster_sync_read_bytes:{read}\r\nmaster_sync_left_bytes:{}\r\nmaster_sync_perc:{perc:.2}\r\nmaster_sync_last_io_seconds_ago:{}\r\n",
                    total - read,
                    now.saturating_sub(link.sync_last_io_ms.load(Ordering::Relaxed)) / 1000
                ));
            }
            if !up {
                let since = link.down_since_ms.load(Ordering::Relaxed);
                let secs = if since == 0 {
                    -1
                } else {
                    (now.saturating_sub(since) / 1000) as i64
                };
                out.push_str(&format!("master_link_down_since_seconds:{secs}\r\n"));
            }
            let cfg = shared.config.read();
            out.push_str(&format!(
                "slave_priority:{}\r\nslave_read_only:{}\r\nreplica_announced:{}\r\n",
                cfg.get_i64("replica-priority").unwrap_or(100),
                u8::from(cfg.get_bool("replica-read-only").unwrap_or(true)),
                u8::from(cfg.get_bool("replica-announced").unwrap_or(true)),
            ));
        }
    }
    let h = shared.repl.history.lock();
    out.push_str(&format!("connected_slaves:{}\r\n", h.replicas.len()));
    let (min_write, max_lag) = {
        let cfg = shared.config.read();
        (
            cfg.get_i64("min-replicas-to-write").unwrap_or(0),
            cfg.get_i64("min-replicas-max-lag").unwrap_or(10),
        )
    };
    let replicas: Vec<Arc<ReplicaInfo>> = h.replicas.clone();
    let ids = h.ids;
    let offset = h.master_repl_offset();
    let backlog = h
        .backlog
        .as_ref()
        .map(|b| (b.size(), b.first_byte_offset(), b.histlen()));
    drop(h);
    if min_write > 0 && max_lag > 0 {
        out.push_str(&format!(
            "min_slaves_good_slaves:{}\r\n",
            good_replicas(shared)
        ));
    }
    for (i, r) in replicas.iter().enumerate() {
        let lag = if r.state.load(Ordering::Relaxed) == STATE_ONLINE {
            now.saturating_sub(r.ack_time_ms.load(Ordering::Relaxed)) / 1000
        } else {
            0
        };
        out.push_str(&format!(
            "slave{i}:ip={},port={},state={},offset={},lag={lag}\r\n",
            r.ip,
            r.port,
            r.state_name(),
            r.ack_off.load(Ordering::Relaxed)
        ));
    }
    let (size, first, histlen) = match backlog {
        Some((size, first, hist)) => (size, first, hist),
        None => (backlog_size(shared), 0, 0),
    };
    out.push_str(&format!(
        "master_failover_state:no-failover\r\nmaster_replid:{}\r\nmaster_replid2:{}\r\nmaster_repl_offset:{offset}\r\nsecond_repl_offset:{}\r\nrepl_backlog_active:{}\r\nrepl_backlog_size:{size}\r\nrepl_backlog_first_byte_offset:{first}\r\nrepl_backlog_histlen:{histlen}\r\n",
        ids.replid,
        ids.replid2,
        ids.second_repl_offset,
        u8::from(backlog.is_some()),
    ));
    out
}

/// ROLE's reply.
pub(crate) fn role(ctx: &mut crate::commands::Ctx<'_>) {
    let master = ctx.shared.repl.master.lock().clone();
    match master {
        None => {
            let h = ctx.shared.repl.history.lock();
            let offset = h.master_repl_offset();
            let online: Vec<(String, u16, u64)> = h
                .replicas
                .iter()
                .filter(|r| r.state.load(Ordering::Relaxed) == STATE_ONLINE)
                .map(|r| (r.ip.clone(), r.port, r.ack_off.load(Ordering::Relaxed)))
                .collect();
            drop(h);
            ctx.array(3);
            ctx.bulk(b"master");
            ctx.int(offset as i64);
            ctx.array(online.len());
            for (ip, port, off) in online {
                ctx.array(3);
                ctx.bulk(ip.as_bytes());
                ctx.bulk(port.to_string().as_bytes());
                ctx.bulk(off.to_string().as_bytes());
            }
        }
        Some(m) => {
            let link = &ctx.shared.repl.link;
            let state = match link.phase.load(Ordering::Relaxed) {
                0 => "connect",
                1 => "connecting",
                2 => "handshake",
                3 => "sync",
                _ => "connected",
            };
            let off = if link.up.load(Ordering::Acquire) {
                link.processed.load(Ordering::Relaxed) as i64
            } else {
                -1
            };
            ctx.array(5);
            ctx.bulk(b"slave");
            ctx.bulk(m.host.as_bytes());
            ctx.int(i64::from(m.port));
            ctx.bulk(state.as_bytes());
            ctx.int(off);
        }
    }
}
