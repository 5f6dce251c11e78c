//! The replica side: one thread per configured master that connects, runs
//! `ferrodis_repl::replica::Link` over the socket, loads the payload of a
//! full resync, applies the stream as the master client and hands the
//! stream on, unchanged, to this node's own replicas. It reconnects when
//! the link drops (or is silent for `repl-timeout`), asking to continue
//! from the id and offset it holds (`PSYNC <replid> <offset+1>`).
//!
//! A payload is received into memory and loaded only once complete: until
//! then the old dataset keeps being served. Loading then empties the store
//! and loads the payload while clients get `-LOADING` (the write gate held
//! exclusively keeps writers out).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrodis_repl::replica::{Action, Config, Link};
use ferrodis_repl::{Backlog, ReplIds};

use super::MasterAddr;
use crate::log;
use crate::session::Session;
use crate::shared::{unix_ms, Shared};

/// Starts the link thread for `addr`; it ends when `generation` is no
/// longer current (another REPLICAOF).
pub(crate) fn spawn(shared: &Arc<Shared>, addr: MasterAddr, generation: u64) {
    let shared = Arc::clone(shared);
    let _ = std::thread::Builder::new()
        .name("repl-link".into())
        .spawn(move || run(&shared, &addr, generation));
}

fn current(shared: &Shared, generation: u64) -> bool {
    shared.repl.generation.load(Ordering::Acquire) == generation
        && !shared.shutdown.load(Ordering::Relaxed)
}

fn run(shared: &Arc<Shared>, addr: &MasterAddr, generation: u64) {
    log::notice(&format!("Connecting to MASTER {}:{}", addr.host, addr.port));
    // The master client: its selected database survives reconnections, as
    // Redis' cached master does.
    let mut master = Session::attach_master(Arc::clone(shared));
    // The stream goes on in the database the history left it in (from a
    // previous master, or from the RDB file loaded at start).
    let db = shared.repl.history.lock().proxied_db;
    master.set_db(db);
    while current(shared, generation) {
        let link = &shared.repl.link;
        link.phase.store(1, Ordering::Relaxed);
        match connect(shared, addr, generation, &mut master) {
            Ok(()) => {}
            Err(e) => {
                if current(shared, generation) {
                    log::warning(&format!("Error condition on socket for SYNC: {e}"));
                }
            }
        }
        if link.up.swap(false, Ordering::AcqRel) || link.down_since_ms.load(Ordering::Relaxed) == 0
        {
            link.down_since_ms.store(unix_ms(), Ordering::Relaxed);
        }
        link.syncing.store(false, Ordering::Release);
        link.phase.store(0, Ordering::Relaxed);
        // Redis retries once a second.
        let until = Instant::now() + Duration::from_secs(1);
        while Instant::now() < until && current(shared, generation) {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// One connection to the master, until it fails or the node stops
/// following it.
fn connect(
    shared: &Arc<Shared>,
    addr: &MasterAddr,
    generation: u64,
    master: &mut Session,
) -> std::io::Result<()> {
    let (timeout, config) = {
        let cfg = shared.config.read();
        let port = cfg.get_i64("replica-announce-port").unwrap_or(0);
        let port = if port > 0 { port as u16 } else { shared.port };
        let ip = cfg
            .get_str("replica-announce-ip")
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        let nonempty = |name| {
            cfg.get_str(name)
                .filter(|s| !s.is_empty())
                .map(|s| s.as_bytes().to_vec())
        };
        (
            cfg.get_i64("repl-timeout").unwrap_or(60).max(1) as u64,
            Config {
                listening_port: port,
                ip_address: ip,
                user: nonempty("masteruser"),
                password: nonempty("masterauth"),
            },
        )
    };
    let target = (addr.host.as_str(), addr.port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other("no address"))?;
    let mut stream = TcpStream::connect_timeout(&target, Duration::from_secs(timeout))?;
    let _ = stream.set_nodelay(true);
    stream.set_read_timeout(Some(Duration::from_millis(100)))?;
    log::notice("MASTER <-> REPLICA sync started");
    let link = &shared.repl.link;
    link.phase.store(2, Ordering::Relaxed);
    // What this node holds: continue from it if the master knows it.
    let cached = {
        let h = shared.repl.history.lock();
        link.had_master
            .load(Ordering::Relaxed)
            .then_some(())
            .or_else(|| h.backlog.is_some().then_some(()))
            .map(|()| (h.ids.replid, h.master_repl_offset()))
    };
    if let Some((id, off)) = cached {
        log::notice(&format!(
            "Trying a partial resynchronization (request {id}:{}).",
            off + 1
        ));
    }
    // A transaction cut by the lost link is dropped: the stream resumes
    // before its MULTI.
    if master.in_multi() {
        master.execute(&[b"DISCARD"]);
    }
    let mut proto = Link::new(config, cached);
    let mut payload: Vec<u8> = Vec::new();
    let mut pending_full: Option<(ferrodis_repl::ReplId, u64)> = None;
    let mut in_transaction: Vec<u8> = Vec::new();
    let mut actions = proto.start();
    let mut last_io = Instant::now();
    let mut last_ack = Instant::now();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        for action in actions.drain(..) {
            match action {
                Action::Send(bytes) => stream.write_all(&bytes)?,
                Action::FullResync { replid, offset } => {
                    log::notice(&format!("Full resync from master: {replid}:{offset}"));
                    pending_full = Some((replid, offset));
                }
                Action::Continue { replid } => {
                    let _gate = shared.persist.gate.exclusive();
                    if !current(shared, generation) {
                        return Ok(());
                    }
                    log::notice(
                        "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.",
                    );
                    let mut h = shared.repl.history.lock();
                    if let Some(new) = replid {
                        let off = h.master_repl_offset();
                        h.ids.shift(new, off);
                        log::notice(&format!("Master replication ID changed to {new}"));
                        h.disconnect_replicas();
                    }
                    super::ensure_backlog(shared, &mut h);
                    drop(h);
                    link_up(shared);
                }
                Action::Retry(why) => {
                    return Err(std::io::Error::other(format!(
                        "Master is currently unable to PSYNC but should be in the future: {why}"
                    )))
                }
                Action::RdbBegin { len } => {
                    link.sync_total
                        .store(len.map_or(-1, |l| l as i64), Ordering::Relaxed);
                    link.sync_read.store(0, Ordering::Relaxed);
                    link.sync_last_io_ms.store(unix_ms(), Ordering::Relaxed);
                    link.syncing.store(true, Ordering::Release);
                    link.phase.store(3, Ordering::Relaxed);
                    payload.clear();
                    log::notice(&format!(
                        "MASTER <-> REPLICA sync: receiving {}",
                        len.map_or(
                            "streamed RDB from master with EOF to disk".to_owned(),
                            |l| format!("{l} bytes from master to disk")
                        )
                    ));
                }
                Action::RdbChunk(bytes) => {
                    payload.extend_from_slice(&bytes);
                    link.sync_read
                        .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    link.sync_last_io_ms.store(unix_ms(), Ordering::Relaxed);
                }
                Action::RdbDone => {
                    if !current(shared, generation) {
                        return Ok(());
                    }
                    let Some((replid, offset)) = pending_full.take() else {
                        return Err(std::io::Error::other("payload without FULLRESYNC"));
                    };
                    if !load_payload(shared, &payload, replid, offset, generation)? {
                        return Ok(());
                    }
                    // The stream goes on in the database the master had
                    // selected when it made the payload.
                    let db = crate::persist::rdb::stream_db(&payload).unwrap_or(0);
                    master.set_db(db);
                    shared.repl.history.lock().proxied_db = db;
                    payload = Vec::new();
                    link.syncing.store(false, Ordering::Release);
                    link_up(shared);
                    // A master waits for this before it streams after an
                    // EOF-framed payload.
                    stream.write_all(&proto.ack())?;
                    last_ack = Instant::now();
                }
                Action::Command { argv, raw, offset } => {
                    // Applied and handed on as one step: a snapshot for
                    // this node's own replicas sees both or neither.
                    let gate = shared.persist.gate.exclusive();
                    if !current(shared, generation) {
                        // REPLICAOF changed meanwhile: nothing more from
                        // this master.
                        return Ok(());
                    }
                    let name = argv.first().map(|a| a.to_ascii_lowercase());
                    if !matches!(name.as_deref(), Some(b"replconf" | b"ping")) {
                        let args: Vec<&[u8]> = argv.iter().map(|a| &a[..]).collect();
                        master.execute(&args);
                    }
                    link.read.store(offset, Ordering::Relaxed);
                    // A transaction is handed on (and counted as
                    // processed) whole, once EXEC ran: a snapshot taken
                    // between its MULTI and EXEC sees neither its effects
                    // nor its bytes.
                    in_transaction.extend_from_slice(&raw);
                    if !master.in_multi() {
                        let mut h = shared.repl.history.lock();
                        h.feed_raw(&in_transaction);
                        h.proxied_db = master.db();
                        drop(h);
                        in_transaction.clear();
                        shared.repl.changed.notify_all();
                        link.processed.store(offset, Ordering::Relaxed);
                    }
                    drop(gate);
                }
            }
        }
        if !current(shared, generation) {
            return Ok(());
        }
        if shared.repl.kill_link.swap(false, Ordering::AcqRel) {
            log::notice("Connection with master lost (killed by a client).");
            return Ok(());
        }
        if proto.streaming() && last_ack.elapsed() >= Duration::from_secs(1) {
            last_ack = Instant::now();
            stream.write_all(&proto.ack())?;
        }
        match stream.read(&mut buf) {
            Ok(0) => return Err(std::io::Error::other("Connection closed by the master")),
            Ok(n) => {
                last_io = Instant::now();
                link.last_io_ms.store(unix_ms(), Ordering::Relaxed);
                actions = proto
                    .on_bytes(buf.get(..n).unwrap_or_default())
                    .map_err(std::io::Error::other)?;
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) =>
            {
                if last_io.elapsed() >= Duration::from_secs(timeout) {
                    log::warning("MASTER timeout: no data nor PING received...");
                    return Ok(());
                }
            }
            Err(e) => return Err(e),
        }
    }
}

fn link_up(shared: &Shared) {
    let link = &shared.repl.link;
    link.had_master.store(true, Ordering::Relaxed);
    link.phase.store(4, Ordering::Relaxed);
    link.down_since_ms.store(0, Ordering::Relaxed);
    link.last_io_ms.store(unix_ms(), Ordering::Relaxed);
    link.up.store(true, Ordering::Release);
    log::notice("MASTER <-> REPLICA sync: Finished with success");
}

/// Replaces the dataset with the payload, and the history with the
/// master's: its id, the offset the payload stands for, a fresh backlog.
fn load_payload(
    shared: &Shared,
    payload: &[u8],
    replid: ferrodis_repl::ReplId,
    offset: u64,
    generation: u64,
) -> std::io::Result<bool> {
    let p = &shared.persist;
    // Held to the end: REPLICAOF (which takes the gate to change the
    // generation) sees the old dataset and history or the new ones.
    let _gate = p.gate.exclusive();
    if !current(shared, generation) {
        return Ok(false);
    }
    log::notice("MASTER <-> REPLICA sync: Flushing old data");
    p.loading.begin(payload.len() as u64, 0);
    p.loading.let_clients_in();
    shared.store.flush_all();
    log::notice("MASTER <-> REPLICA sync: Loading DB in memory");
    let result = crate::persist::rdb::load_bytes(shared, payload);
    p.loading.end();
    let (loaded, _, _) = result.map_err(|e| {
        std::io::Error::other(format!(
            "Failed trying to load the MASTER synchronization DB from socket: {e}"
        ))
    })?;
    log::notice(&format!("Done loading RDB, keys loaded: {loaded}."));
    let size = shared
        .config
        .read()
        .get_i64("repl-backlog-size")
        .unwrap_or(1 << 20)
        .max(Backlog::MIN_SIZE as i64) as usize;
    let mut h = shared.repl.history.lock();
    h.ids = ReplIds::new(replid);
    h.backlog = Some(Backlog::new(size, offset));
    h.offset = offset;
    h.db.reset();
    // Sub-replicas followed the old dataset: they must resync.
    h.disconnect_replicas();
    shared.repl.active.store(true, Ordering::Release);
    drop(h);
    let link = &shared.repl.link;
    link.processed.store(offset, Ordering::Relaxed);
    link.read.store(offset, Ordering::Relaxed);
    Ok(true)
}
