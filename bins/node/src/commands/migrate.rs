//! MIGRATE: moves keys to another instance as DUMP payloads sent with
//! `RESTORE-ASKING` (cluster mode) or `RESTORE`, then deletes them here
//! once the target acknowledged them (unless COPY), propagating a DEL.
//!
//! Connections to targets are cached per `host:port` for ten seconds
//! (`migrate_cached_sockets` in INFO), with the database last selected on
//! each, as in Redis. The calling client waits for the target's replies;
//! the exchange is a blocking one on the calling worker, bounded by the
//! command's timeout, as Redis' own is.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use ferrodis_resp::Request;
use parking_lot::Mutex;

use super::flags::*;
use super::{arg, int_arg, is, spec, Ctx, Spec};

/// Cached connections kept at most (Redis' `MIGRATE_SOCKET_CACHE_ITEMS`).
const CACHE_ITEMS: usize = 64;
/// Idle time after which a cached connection is closed.
const CACHE_TTL: Duration = Duration::from_secs(10);
/// Replies longer than this are cut, as Redis reads them into 1 KiB.
const MAX_LINE: usize = 1024;

pub(super) fn specs() -> Vec<Spec> {
    vec![spec("migrate", -6, WRITE, (3, 3, 1), migrate)]
}

/// One cached connection to a target.
struct Cached {
    conn: BufReader<TcpStream>,
    /// The database selected on it, if known.
    last_db: Option<i64>,
    last_use: Instant,
}

/// The connections MIGRATE keeps open, by `host:port`.
#[derive(Default)]
pub(crate) struct SocketCache {
    sockets: Mutex<HashMap<Vec<u8>, Cached>>,
}

impl SocketCache {
    /// Closes connections idle for longer than ten seconds; how many stay.
    pub(crate) fn expire_idle(&self) -> usize {
        let mut sockets = self.sockets.lock();
        sockets.retain(|_, c| c.last_use.elapsed() <= CACHE_TTL);
        sockets.len()
    }

    /// Takes the cached connection for `name` out of the cache (a caller
    /// puts it back when done), or opens a new one.
    fn take(&self, name: &[u8], host: &str, port: u16, timeout: Duration) -> Option<Cached> {
        if let Some(mut c) = self.sockets.lock().remove(name) {
            c.last_use = Instant::now();
            return Some(c);
        }
        let addr = (host, port).to_socket_addrs().ok()?.next()?;
        let stream = TcpStream::connect_timeout(&addr, timeout).ok()?;
        let _ = stream.set_nodelay(true);
        Some(Cached {
            conn: BufReader::new(stream),
            last_db: None,
            last_use: Instant::now(),
        })
    }

    fn put_back(&self, name: Vec<u8>, c: Cached) {
        let mut sockets = self.sockets.lock();
        if sockets.len() >= CACHE_ITEMS && !sockets.contains_key(&name) {
            // Too many: drop one (Redis drops one at random).
            if let Some(k) = sockets.keys().next().cloned() {
                sockets.remove(&k);
            }
        }
        sockets.insert(name, c);
    }
}

/// The parsed arguments of one MIGRATE call.
struct Args<'r> {
    copy: bool,
    replace: bool,
    auth: Option<(Option<&'r [u8]>, &'r [u8])>,
    keys: Vec<&'r [u8]>,
}

fn parse(req: &Request) -> Result<Args<'_>, &'static str> {
    let mut a = Args {
        copy: false,
        replace: false,
        auth: None,
        keys: vec![arg(req, 3)],
    };
    let mut j = 6;
    while j < req.len() {
        let more = req.len() - 1 - j;
        if is(req, j, "copy") {
            a.copy = true;
        } else if is(req, j, "replace") {
            a.replace = true;
        } else if is(req, j, "auth") {
            if more == 0 {
                return Err("ERR syntax error");
            }
            j += 1;
            a.auth = Some((None, arg(req, j)));
        } else if is(req, j, "auth2") {
            if more < 2 {
                return Err("ERR syntax error");
            }
            a.auth = Some((Some(arg(req, j + 1)), arg(req, j + 2)));
            j += 2;
        } else if is(req, j, "keys") {
            if !arg(req, 3).is_empty() {
                return Err(
                    "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string",
                );
            }
            a.keys = req.args().skip(j + 1).collect();
            break;
        } else {
            return Err("ERR syntax error");
        }
        j += 1;
    }
    Ok(a)
}

/// The key positions of a MIGRATE call for the cluster's slot check: the
/// key argument, or the keys after KEYS when it is empty.
pub(crate) fn key_positions(req: &Request) -> Vec<usize> {
    if arg(req, 3).is_empty() {
        let args: Vec<&[u8]> = req.args().collect();
        for (j, a) in args.iter().enumerate().skip(6) {
            if a.eq_ignore_ascii_case(b"keys") {
                return (j + 1..args.len()).collect();
            }
        }
    }
    vec![3]
}

fn bulk(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(format!("${}\r\n", data.len()).as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

fn command(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        bulk(out, a);
    }
}

/// Reads one reply line (without CRLF) before `deadline`.
fn read_line(c: &mut Cached, timeout: Duration) -> std::io::Result<Vec<u8>> {
    c.conn.get_ref().set_read_timeout(Some(timeout))?;
    let mut line = Vec::new();
    let n = Read::by_ref(&mut c.conn)
        .take(MAX_LINE as u64 * 64)
        .read_until(b'\n', &mut line)?;
    if n == 0 || !line.ends_with(b"\n") {
        return Err(std::io::Error::new(ErrorKind::UnexpectedEof, "closed"));
    }
    line.pop();
    if line.ends_with(b"\r") {
        line.pop();
    }
    line.truncate(MAX_LINE - 1);
    Ok(line)
}

/// `MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE]
/// [AUTH password] [AUTH2 username password] [KEYS key ...]`: `+OK`,
/// `+NOKEY` when none of the keys exists, `-IOERR ...` on a connection
/// failure or timeout, or the target's first error.
fn migrate(ctx: &mut Ctx<'_>, req: &Request) {
    let a = match parse(req) {
        Ok(a) => a,
        Err(e) => return ctx.error(e),
    };
    let (Some(timeout), Some(dbid)) = (int_arg(req, 5), int_arg(req, 4)) else {
        return ctx.not_integer();
    };
    let timeout = Duration::from_millis(if timeout <= 0 { 1000 } else { timeout as u64 });
    let db = ctx.db();
    // Keys missing (or expired) now are left out; none at all: NOKEY.
    let mut present: Vec<&[u8]> = a
        .keys
        .iter()
        .copied()
        .filter(|k| db.value_type(k).is_some())
        .collect();
    if present.is_empty() {
        return ctx.simple("NOKEY");
    }
    let cluster = ctx.shared.cluster.is_some();
    let host = String::from_utf8_lossy(arg(req, 1)).into_owned();
    let port_text = arg(req, 2);
    let port: u16 = std::str::from_utf8(port_text)
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let mut name = arg(req, 1).to_vec();
    name.push(b':');
    name.extend_from_slice(port_text);
    let opts = super::dump::encode_options(ctx);
    let shared = ctx.shared;
    let cache = &shared.migrate_sockets;
    cache.expire_idle();
    let mut may_retry = true;
    loop {
        let Some(mut conn) = cache.take(&name, &host, port, timeout) else {
            return ctx.error("IOERR error or timeout connecting to the client");
        };
        // The whole request: AUTH, SELECT when needed, one RESTORE a key.
        let mut out = Vec::new();
        if let Some((user, pass)) = a.auth {
            match user {
                Some(u) => command(&mut out, &[b"AUTH", u, pass]),
                None => command(&mut out, &[b"AUTH", pass]),
            }
        }
        let select = conn.last_db != Some(dbid);
        if select {
            command(&mut out, &[b"SELECT", dbid.to_string().as_bytes()]);
        }
        let now = db.now_ms();
        let mut sent: Vec<&[u8]> = Vec::with_capacity(present.len());
        let mut sent_objs: Vec<ferrodis_persist::RdbObject> = Vec::with_capacity(present.len());
        for &key in &present {
            let ttl = match db.ttl(key) {
                ferrodis_store::Ttl::ExpiresAt(at) if at < now => continue,
                ferrodis_store::Ttl::ExpiresAt(at) => (at - now).max(1),
                _ => 0,
            };
            let Some(obj) = db.dump(key) else { continue };
            let payload = obj.to_dump(&opts);
            let ttl = ttl.to_string();
            let restore: &[u8] = if cluster {
                b"RESTORE-ASKING"
            } else {
                b"RESTORE"
            };
            let mut argv: Vec<&[u8]> = vec![restore, key, ttl.as_bytes(), &payload];
            if a.replace {
                argv.push(b"REPLACE");
            }
            command(&mut out, &argv);
            sent.push(key);
            sent_objs.push(obj);
        }
        present.clone_from(&sent);
        let written = conn.conn.get_ref().set_write_timeout(Some(timeout)).is_ok()
            && out
                .chunks(64 * 1024)
                .all(|chunk| conn.conn.get_mut().write_all(chunk).is_ok());
        if !written {
            // Nothing can have been applied: retry once on a new connection.
            if may_retry {
                may_retry = false;
                continue;
            }
            return ctx.error("IOERR error or timeout writing to target instance");
        }
        let mut first_error: Option<Vec<u8>> = None;
        let mut timed_out = false;
        let mut prelude_ok = true;
        if a.auth.is_some() {
            match read_line(&mut conn, timeout) {
                Ok(l) if l.starts_with(b"-") => first_error = Some(l),
                Ok(_) => {}
                Err(e) => {
                    timed_out = is_timeout(&e);
                    prelude_ok = false;
                }
            }
        }
        if prelude_ok && select {
            match read_line(&mut conn, timeout) {
                Ok(l) if l.starts_with(b"-") => {
                    first_error.get_or_insert(l);
                }
                Ok(_) => {}
                Err(e) => {
                    timed_out = is_timeout(&e);
                    prelude_ok = false;
                }
            }
        }
        let prelude_error = first_error.is_some();
        let mut acked: Vec<(&[u8], &ferrodis_persist::RdbObject)> = Vec::new();
        let mut read = 0;
        let mut socket_error = !prelude_ok;
        if prelude_ok {
            for (&key, obj) in sent.iter().zip(&sent_objs) {
                match read_line(&mut conn, timeout) {
                    Ok(l) => {
                        read += 1;
                        // An error to AUTH or SELECT fails every key; a
                        // key's own error fails that key only.
                        if prelude_error || l.starts_with(b"-") {
                            first_error.get_or_insert(l);
                        } else if !a.copy {
                            acked.push((key, obj));
                        }
                    }
                    Err(e) => {
                        timed_out = is_timeout(&e);
                        socket_error = true;
                        break;
                    }
                }
            }
        }
        // With several workers, another client may have written a key
        // since it was serialized: such a key is sent again (REPLACE)
        // rather than deleted, so that no write is lost.
        let mut deleted: Vec<&[u8]> = Vec::new();
        let mut changed: Vec<&[u8]> = Vec::new();
        for (key, obj) in acked {
            if db.del_if_unchanged(key, obj) {
                deleted.push(key);
            } else if db.contains(key) {
                changed.push(key);
            }
        }
        if !changed.is_empty() && !socket_error {
            deleted.extend(resend_changed(
                &db, &mut conn, &changed, cluster, &opts, timeout,
            ));
        }
        if !deleted.is_empty() {
            ctx.client.propagate_as = Some(vec![std::iter::once(b"DEL".as_slice())
                .chain(deleted.iter().copied())
                .map(<[u8]>::to_vec)
                .collect()]);
        }
        if first_error.is_none() && socket_error {
            // Closed before any reply (a stale cached connection): retry
            // once, unless it was a timeout.
            if read == 0 && prelude_ok && may_retry && !timed_out {
                may_retry = false;
                continue;
            }
            if !prelude_ok && may_retry && !timed_out {
                may_retry = false;
                continue;
            }
            return ctx.error("IOERR error or timeout reading to target instance");
        }
        if socket_error {
            // The connection is dropped (not put back).
        } else {
            conn.last_db = if first_error.is_some() {
                None
            } else {
                Some(dbid)
            };
            conn.last_use = Instant::now();
            cache.put_back(name, conn);
        }
        return match first_error {
            Some(e) => {
                let text = String::from_utf8_lossy(e.get(1..).unwrap_or_default());
                ctx.error(&format!("ERR Target instance replied with error: {text}"));
            }
            None => ctx.ok(),
        };
    }
}

/// Sends again, with REPLACE, keys written here while MIGRATE was
/// sending them, until each is deleted unchanged after the target took it
/// (16 rounds at most; a key still changing stays here, the target
/// holding an older copy, as after a COPY). The keys deleted.
fn resend_changed<'k>(
    db: &ferrodis_store::Db<'_>,
    conn: &mut Cached,
    keys: &[&'k [u8]],
    cluster: bool,
    opts: &ferrodis_persist::EncodeOptions,
    timeout: Duration,
) -> Vec<&'k [u8]> {
    let mut deleted = Vec::new();
    let mut pending: Vec<&[u8]> = keys.to_vec();
    for _ in 0..16 {
        if pending.is_empty() {
            break;
        }
        let mut out = Vec::new();
        let mut objs = Vec::new();
        let now = db.now_ms();
        for &key in &pending {
            let Some((obj, expire_at)) = db.peek(key) else {
                continue;
            };
            let ttl = match expire_at {
                Some(at) if at <= now => continue,
                Some(at) => (at - now).to_string(),
                None => "0".to_owned(),
            };
            let payload = obj.to_dump(opts);
            let restore: &[u8] = if cluster {
                b"RESTORE-ASKING"
            } else {
                b"RESTORE"
            };
            command(
                &mut out,
                &[restore, key, ttl.as_bytes(), &payload, b"REPLACE"],
            );
            objs.push((key, obj));
        }
        if conn.conn.get_mut().write_all(&out).is_err() {
            break;
        }
        let mut next = Vec::new();
        for (key, obj) in objs {
            match read_line(conn, timeout) {
                Ok(l) if !l.starts_with(b"-") => {
                    if db.del_if_unchanged(key, &obj) {
                        deleted.push(key);
                    } else if db.contains(key) {
                        next.push(key);
                    }
                }
                Ok(_) => {}
                Err(_) => return deleted,
            }
        }
        pending = next;
    }
    deleted
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::cluster::keys::tests::request;

    #[test]
    fn keys_option_gives_the_keys_after_it() {
        let req = request(&["migrate", "h", "1", "", "0", "10", "COPY", "KEYS", "a", "b"]);
        assert_eq!(key_positions(&req), [8, 9]);
        let req = request(&["migrate", "h", "1", "k", "0", "10"]);
        assert_eq!(key_positions(&req), [3]);
    }

    #[test]
    fn options_parse_as_redis_does() {
        let req = request(&["migrate", "h", "1", "k", "0", "10", "KEYS", "a"]);
        assert!(parse(&req).is_err());
        let req = request(&["migrate", "h", "1", "k", "0", "10", "AUTH"]);
        assert_eq!(parse(&req).err(), Some("ERR syntax error"));
        let req = request(&[
            "migrate", "h", "1", "", "0", "10", "REPLACE", "AUTH2", "u", "p", "KEYS", "a", "b",
        ]);
        let a = parse(&req).expect("valid");
        assert!(a.replace && !a.copy);
        assert_eq!(a.auth, Some((Some(&b"u"[..]), &b"p"[..])));
        assert_eq!(a.keys, [&b"a"[..], b"b"]);
    }
}
