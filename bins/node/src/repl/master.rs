//! Serving one replica: a connection that sent `PSYNC` (or `SYNC`) leaves
//! its worker and gets two threads here. The writer answers `PSYNC`
//! (`+CONTINUE` from the backlog, or `+FULLRESYNC` with an RDB payload made
//! from a store snapshot), then tails the backlog; the reader takes the
//! replica's `REPLCONF ACK`s.
//!
//! The snapshot and the offset it stands for are taken together, with the
//! write gate held exclusively, so the payload plus the stream after that
//! offset is exactly the master's dataset. Writes that run while the
//! payload is sent wait in the backlog; a replica that falls further
//! behind than the backlog holds is disconnected (and resynchronizes).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferrodis_repl::master::{decide, fullresync_reply, Decision};
use ferrodis_resp::{Limits, RequestDecoder};
use parking_lot::Mutex;

use super::{ReplicaInfo, STATE_ONLINE, STATE_SEND_BULK, STATE_WAIT_BGSAVE};
use crate::log;
use crate::shared::{unix_ms, Shared};

/// What a client announced with `REPLCONF` before `PSYNC`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Announced {
    pub(crate) port: u16,
    pub(crate) ip: Option<String>,
    pub(crate) capa_eof: bool,
    pub(crate) capa_psync2: bool,
    /// `REPLCONF rdb-only 1` (redis-cli --rdb): the payload and nothing
    /// more.
    pub(crate) rdb_only: bool,
}

/// A connection that became a replica, handed over by its worker.
pub(crate) struct Handoff {
    pub(crate) stream: TcpStream,
    pub(crate) client_id: u64,
    pub(crate) peer_ip: String,
    pub(crate) announced: Announced,
    /// `PSYNC replid offset`, or `SYNC`.
    pub(crate) argv: Vec<Bytes>,
    /// Replies not yet written, and requests not yet read.
    pub(crate) pending_out: Vec<u8>,
    pub(crate) pending_in: Vec<u8>,
}

/// Bytes sent to a replica at once.
const CHUNK: usize = 64 * 1024;

/// Starts serving a replica on its own threads.
pub(crate) fn start(shared: &Arc<Shared>, handoff: Handoff) {
    super::start_cron(shared);
    let shared = Arc::clone(shared);
    let _ = std::thread::Builder::new()
        .name("repl-replica".into())
        .spawn(move || serve(&shared, handoff));
}

fn serve(shared: &Arc<Shared>, h: Handoff) {
    let Handoff {
        mut stream,
        client_id,
        peer_ip,
        announced,
        argv,
        pending_out,
        pending_in,
    } = h;
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_nodelay(true);
    // A replica that stops reading for `repl-timeout` is dropped.
    let timeout = shared
        .config
        .read()
        .get_i64("repl-timeout")
        .unwrap_or(60)
        .max(1) as u64;
    let _ = stream.set_write_timeout(Some(Duration::from_secs(timeout)));
    if stream.write_all(&pending_out).is_err() {
        return;
    }
    let ip = announced.ip.clone().unwrap_or(peer_ip);
    let info = Arc::new(ReplicaInfo {
        client_id,
        ip: ip.clone(),
        port: announced.port,
        state: std::sync::atomic::AtomicU8::new(STATE_WAIT_BGSAVE),
        ack_off: std::sync::atomic::AtomicU64::new(0),
        ack_time_ms: std::sync::atomic::AtomicU64::new(unix_ms()),
        acks: std::sync::atomic::AtomicU64::new(0),
        closed: std::sync::atomic::AtomicBool::new(false),
        socket: Mutex::new(stream.try_clone().ok()),
        spill: Mutex::new(Some(Vec::new())),
    });
    let sync = argv
        .first()
        .is_some_and(|a| a.eq_ignore_ascii_case(b"sync"));
    let (replid, offset) = if sync {
        (b"?".as_slice(), -1)
    } else {
        let off = argv
            .get(2)
            .and_then(|a| ferrodis_resp::parse_i64(a))
            .unwrap_or(-1);
        (argv.get(1).map_or(b"?".as_slice(), |a| &a[..]), off)
    };
    let who = format!("{ip}:{}", announced.port);
    // Decide, and on a full resync take the snapshot, with writes held off.
    let mut snap = None;
    let mut repl_aux = None;
    let mut start_from = loop {
        let _gate = super::gate_on(shared);
        let mut h = shared.repl.history.lock();
        let decision = if sync {
            Decision::Full("SYNC")
        } else {
            decide(
                &h.ids,
                h.backlog.as_ref(),
                replid,
                offset,
                announced.capa_psync2,
            )
        };
        match decision {
            Decision::Continue { reply, from } => {
                *info.spill.lock() = None;
                if stream.write_all(&reply).is_err() {
                    return;
                }
                let backlog_bytes = h.master_repl_offset() + 1 - from;
                info.state.store(STATE_ONLINE, Ordering::Relaxed);
                info.ack_off
                    .store(from.saturating_sub(1), Ordering::Relaxed);
                h.replicas.push(Arc::clone(&info));
                shared.repl.sync_partial_ok.fetch_add(1, Ordering::Relaxed);
                log::notice(&format!(
                    "Partial resynchronization request from {who} accepted. Sending {backlog_bytes} bytes of backlog starting from offset {from}."
                ));
                break from;
            }
            Decision::Full(why) => {
                drop(h);
                // A replica can hand on its history, not make a new one:
                // with its own link down it has nothing to send (a
                // continuation from its backlog is fine).
                if shared.repl.is_replica() && !shared.repl.link.up.load(Ordering::Acquire) {
                    let _ = stream.write_all(
                        b"-NOMASTERLINK Can't SYNC while not connected with my master\r\n",
                    );
                    return;
                }
                let Ok(s) = shared.store.snapshot() else {
                    // Another snapshot (BGSAVE) runs: try again shortly.
                    drop(_gate);
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                };
                let mut h = shared.repl.history.lock();
                if replid != b"?" {
                    shared.repl.sync_partial_err.fetch_add(1, Ordering::Relaxed);
                    log::notice(&format!(
                        "Partial resynchronization not accepted ({why}), full resync requested by {who}"
                    ));
                } else {
                    log::notice(&format!("Full resync requested by replica {who}"));
                }
                shared.repl.sync_full.fetch_add(1, Ordering::Relaxed);
                super::ensure_backlog(shared, &mut h);
                // The replica loads a dataset that knows no SELECT.
                h.db.reset();
                let off = h.master_repl_offset();
                let reply = fullresync_reply(&h.ids.replid, off);
                // A master's next command comes with a SELECT; a replica
                // proxies its master's stream, which goes on in the
                // database it had selected.
                let stream_db = if shared.repl.is_replica() {
                    h.proxied_db
                } else {
                    0
                };
                repl_aux = Some((stream_db, h.ids.replid, off));
                h.replicas.push(Arc::clone(&info));
                drop(h);
                snap = Some(s);
                // SYNC, the old protocol, gets the payload without it.
                let reply = if sync { Vec::new() } else { reply };
                if stream.write_all(&reply).is_err() {
                    forget(shared, &info);
                    return;
                }
                break off + 1;
            }
        }
    };
    start_reader(shared, &stream, &info, pending_in);
    if let (Some(s), Some(aux)) = (snap, repl_aux) {
        let acks_before = info.acks.load(Ordering::Acquire);
        let eof_framed =
            match send_payload(shared, &mut stream, &info, s, aux, announced.capa_eof, &who) {
                Ok(eof) => eof,
                Err(_) => {
                    log::warning(&format!("Connection with replica {who} lost."));
                    forget(shared, &info);
                    return;
                }
            };
        if announced.rdb_only {
            log::notice(&format!("Payload sent to {who} (rdb-only): closing"));
            forget(shared, &info);
            return;
        }
        // After an EOF-framed payload a replica finds the end only if
        // nothing follows the mark: the stream waits for its first ACK,
        // which it sends once loaded (Redis' `repl_put_online_on_ack`).
        if eof_framed && !wait_first_ack(shared, &info, acks_before) {
            log::warning(&format!("Replica {who} did not acknowledge its payload."));
            forget(shared, &info);
            return;
        }
        // What was written meanwhile, then the backlog after it.
        let held = {
            let _h = shared.repl.history.lock();
            info.state.store(STATE_ONLINE, Ordering::Relaxed);
            info.spill.lock().take()
        };
        let Some(held) = held else {
            // Closed for holding too much.
            forget(shared, &info);
            return;
        };
        if stream.write_all(&held).is_err() {
            forget(shared, &info);
            return;
        }
        start_from += held.len() as u64;
        info.ack_time_ms.store(unix_ms(), Ordering::Relaxed);
        log::notice(&format!("Synchronization with replica {who} succeeded"));
    }
    stream_backlog(shared, &mut stream, &info, start_from, &who);
    forget(shared, &info);
}

/// Encodes the snapshot and sends it: `$<len>` framing written to disk
/// first (`repl-diskless-sync no`), or `$EOF:<mark>` framing for replicas
/// that announced `capa eof` when `repl-diskless-sync yes`.
fn send_payload(
    shared: &Arc<Shared>,
    stream: &mut TcpStream,
    info: &ReplicaInfo,
    snap: ferrodis_store::Snapshot,
    aux: (usize, ferrodis_repl::ReplId, u64),
    capa_eof: bool,
    who: &str,
) -> std::io::Result<bool> {
    let (stream_db, replid, offset) = aux;
    let repl = ferrodis_persist::ReplAux {
        stream_db: stream_db as i64,
        id: replid.as_str(),
        offset: offset as i64,
    };
    let (diskless, delay) = {
        let cfg = shared.config.read();
        (
            cfg.get_bool("repl-diskless-sync").unwrap_or(true),
            cfg.get_i64("repl-diskless-sync-delay").unwrap_or(5).max(0) as u64,
        )
    };
    let diskless = diskless && capa_eof;
    info.state.store(STATE_SEND_BULK, Ordering::Relaxed);
    if diskless {
        // Redis waits for more replicas to share one transfer; each
        // replica has its own snapshot here, but the delay is kept.
        if delay > 0 {
            std::thread::sleep(Duration::from_secs(delay));
        }
        log::notice(&format!(
            "Starting BGSAVE for SYNC with target: replicas sockets ({who})"
        ));
        let mark = crate::shared::random_hex(40);
        stream.write_all(format!("$EOF:{mark}\r\n").as_bytes())?;
        let mut w = std::io::BufWriter::with_capacity(CHUNK, &mut *stream);
        crate::persist::rdb::serialize_with(shared, snap, false, true, Some(repl), &mut w)?;
        w.write_all(mark.as_bytes())?;
        w.flush()?;
        return Ok(true);
    }
    log::notice(&format!(
        "Starting BGSAVE for SYNC with target: disk ({who})"
    ));
    let path = std::path::PathBuf::from(format!(
        "temp-repl-{}-{}.rdb",
        std::process::id(),
        info.client_id
    ));
    let result = (|| {
        {
            let file = std::fs::File::create(&path)?;
            let mut w = std::io::BufWriter::with_capacity(CHUNK, file);
            crate::persist::rdb::serialize_with(shared, snap, false, true, Some(repl), &mut w)?;
            w.flush()?;
        }
        let mut file = std::fs::File::open(&path)?;
        let len = file.metadata()?.len();
        stream.write_all(format!("${len}\r\n").as_bytes())?;
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            stream.write_all(buf.get(..n).unwrap_or_default())?;
        }
        Ok(())
    })();
    let _ = std::fs::remove_file(&path);
    result.map(|()| false)
}

/// Waits for an ACK after `before` acks (false: the replica left or stayed
/// silent for `repl-timeout`).
fn wait_first_ack(shared: &Shared, info: &ReplicaInfo, before: u64) -> bool {
    let timeout = Duration::from_secs(
        shared
            .config
            .read()
            .get_i64("repl-timeout")
            .unwrap_or(60)
            .max(1) as u64,
    );
    let deadline = std::time::Instant::now() + timeout;
    let mut h = shared.repl.history.lock();
    loop {
        if info.acks.load(Ordering::Acquire) > before {
            return true;
        }
        if info.closed.load(Ordering::Acquire) || std::time::Instant::now() >= deadline {
            return false;
        }
        shared
            .repl
            .changed
            .wait_for(&mut h, Duration::from_millis(100));
    }
}

/// Sends the stream from byte `next` on, as the backlog grows.
fn stream_backlog(
    shared: &Shared,
    stream: &mut TcpStream,
    info: &ReplicaInfo,
    mut next: u64,
    who: &str,
) {
    // A replica ACKs every second; one silent for `repl-timeout` is gone.
    let timeout_ms = shared
        .config
        .read()
        .get_i64("repl-timeout")
        .unwrap_or(60)
        .max(1) as u64
        * 1000;
    loop {
        let bytes = {
            let mut h = shared.repl.history.lock();
            loop {
                if info.closed.load(Ordering::Acquire) || shared.shutdown.load(Ordering::Relaxed) {
                    return;
                }
                let Some(backlog) = h.backlog.as_ref() else {
                    return;
                };
                match backlog.read_from(next, CHUNK) {
                    None => {
                        log::warning(&format!(
                            "Client id={} ({who}) scheduled to be closed ASAP: it fell behind the replication backlog.",
                            info.client_id
                        ));
                        return;
                    }
                    Some(b) if b.is_empty() => {
                        let silent =
                            unix_ms().saturating_sub(info.ack_time_ms.load(Ordering::Relaxed));
                        if silent > timeout_ms {
                            log::warning(&format!(
                                "Disconnecting timedout replica (streaming sync): {who}"
                            ));
                            return;
                        }
                        shared
                            .repl
                            .changed
                            .wait_for(&mut h, Duration::from_millis(200));
                    }
                    Some(b) => break b,
                }
            }
        };
        if stream.write_all(&bytes).is_err() {
            log::notice(&format!("Connection with replica {who} lost."));
            return;
        }
        next += bytes.len() as u64;
    }
}

/// Reads the replica's `REPLCONF ACK <offset>`.
fn start_reader(
    shared: &Arc<Shared>,
    stream: &TcpStream,
    info: &Arc<ReplicaInfo>,
    pending: Vec<u8>,
) {
    let Ok(mut stream) = stream.try_clone() else {
        info.close();
        return;
    };
    let shared = Arc::clone(shared);
    let info = Arc::clone(info);
    let _ = std::thread::Builder::new()
        .name("repl-acks".into())
        .spawn(move || {
            let mut decoder = RequestDecoder::new(Limits::default());
            let mut buf = BytesMut::from(&pending[..]);
            let mut chunk = vec![0u8; 16 * 1024];
            loop {
                while let Ok(Some(argv)) = decoder.decode(&mut buf) {
                    let is_ack = argv.len() >= 3
                        && argv
                            .first()
                            .is_some_and(|a| a.eq_ignore_ascii_case(b"replconf"))
                        && argv.get(1).is_some_and(|a| a.eq_ignore_ascii_case(b"ack"));
                    if is_ack {
                        if let Some(off) = argv.get(2).and_then(|a| ferrodis_resp::parse_i64(a)) {
                            info.ack_off.store(off.max(0) as u64, Ordering::Release);
                            info.ack_time_ms.store(unix_ms(), Ordering::Relaxed);
                            info.acks.fetch_add(1, Ordering::Release);
                            shared.repl.changed.notify_all();
                        }
                    }
                }
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
                }
            }
            info.close();
            shared.repl.changed.notify_all();
        });
}

/// Removes a replica that left.
fn forget(shared: &Shared, info: &Arc<ReplicaInfo>) {
    info.close();
    let mut h = shared.repl.history.lock();
    h.replicas.retain(|r| !Arc::ptr_eq(r, info));
    if h.replicas.is_empty() {
        h.no_replicas_since_ms = unix_ms();
    }
    drop(h);
    shared.repl.changed.notify_all();
}

/// CLIENT KILL TYPE replica (and friends): closes every replica link.
pub(crate) fn kill_replicas(shared: &Shared) -> usize {
    let h = shared.repl.history.lock();
    for r in &h.replicas {
        r.close();
    }
    h.replicas.len()
}
