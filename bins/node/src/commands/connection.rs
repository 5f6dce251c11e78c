//! Connection and transaction commands: PING, ECHO, AUTH, HELLO, SELECT,
//! QUIT, RESET, CLIENT, MULTI/EXEC/DISCARD, WATCH/UNWATCH.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use ferrodis_resp::{Protocol, Request};

use super::flags::*;
use super::{arg, int_arg, is, spec, Ctx, Spec};
use crate::client::{Multi, ReplyMode};
use crate::shared::{unix_ms, ClientMeta, WorkerMsg};

pub(super) fn specs() -> Vec<Spec> {
    vec![
        spec("ping", -1, FAST | STALE, (0, 0, 0), ping),
        spec("echo", 2, LOADING | STALE | FAST, (0, 0, 0), echo),
        spec(
            "auth",
            -2,
            NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
            (0, 0, 0),
            auth,
        ),
        spec(
            "hello",
            -1,
            NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
            (0, 0, 0),
            hello,
        ),
        spec("select", 2, LOADING | STALE | FAST, (0, 0, 0), select),
        spec(
            "quit",
            -1,
            NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
            (0, 0, 0),
            quit,
        ),
        spec(
            "reset",
            1,
            NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
            (0, 0, 0),
            reset,
        ),
        spec("client", -2, NOSCRIPT | LOADING | STALE, (0, 0, 0), client),
        spec(
            "multi",
            1,
            NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
            (0, 0, 0),
            multi,
        ),
        spec("exec", 1, NOSCRIPT | LOADING | STALE, (0, 0, 0), exec),
        spec(
            "discard",
            1,
            NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
            (0, 0, 0),
            discard,
        ),
        spec(
            "watch",
            -2,
            NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
            (1, -1, 1),
            watch,
        ),
        spec(
            "unwatch",
            1,
            NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
            (0, 0, 0),
            unwatch,
        ),
    ]
}

fn ping(ctx: &mut Ctx<'_>, req: &Request) {
    // Subscribed RESP2 clients get a two-element array, as Redis sends.
    if ctx.client.proto == Protocol::Resp2 && ctx.client.subscriptions() > 0 && req.len() <= 2 {
        ctx.array(2);
        ctx.bulk(b"pong");
        ctx.bulk(req.arg(1).unwrap_or_default());
        return;
    }
    match req.len() {
        1 => ctx.simple("PONG"),
        2 => ctx.bulk(arg(req, 1)),
        _ => ctx.error("ERR wrong number of arguments for 'ping' command"),
    }
}

fn echo(ctx: &mut Ctx<'_>, req: &Request) {
    ctx.bulk(arg(req, 1));
}

/// Checks `user`/`password` against `requirepass` (the only user is
/// `default`).
fn check_password(ctx: &Ctx<'_>, user: &[u8], password: &[u8]) -> bool {
    let required = ctx.shared.config.read().requirepass();
    user == b"default" && required.as_deref() == Some(password)
}

fn set_authenticated(ctx: &mut Ctx<'_>) {
    ctx.client.authenticated = true;
    ctx.client.decoder.set_auth_required(false);
}

fn auth(ctx: &mut Ctx<'_>, req: &Request) {
    if req.len() > 3 {
        ctx.syntax_error();
        return;
    }
    let (user, password) = if req.len() == 2 {
        if ctx.shared.config.read().requirepass().is_none() {
            ctx.error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
            return;
        }
        (&b"default"[..], arg(req, 1))
    } else {
        (arg(req, 1), arg(req, 2))
    };
    let no_password = ctx.shared.config.read().requirepass().is_none();
    if (no_password && user == b"default") || check_password(ctx, user, password) {
        set_authenticated(ctx);
        ctx.ok();
    } else {
        ctx.error("WRONGPASS invalid username-password pair or user is disabled.");
    }
}

fn hello(ctx: &mut Ctx<'_>, req: &Request) {
    let mut proto = ctx.client.proto;
    let mut i = 1;
    if req.len() >= 2 {
        match int_arg(req, 1) {
            Some(2) => proto = Protocol::Resp2,
            Some(3) => proto = Protocol::Resp3,
            Some(_) => {
                ctx.error("NOPROTO unsupported protocol version");
                return;
            }
            None => {
                ctx.error("ERR Protocol version is not an integer or out of range");
                return;
            }
        }
        i = 2;
    }
    let mut name = None;
    while i < req.len() {
        let more = req.len() - i - 1;
        if is(req, i, "auth") && more >= 2 {
            if !check_password(ctx, arg(req, i + 1), arg(req, i + 2)) {
                ctx.error("WRONGPASS invalid username-password pair or user is disabled.");
                return;
            }
            set_authenticated(ctx);
            i += 3;
        } else if is(req, i, "setname") && more >= 1 {
            name = Some(arg(req, i + 1).to_vec());
            i += 2;
        } else {
            ctx.error(&format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(arg(req, i))
            ));
            return;
        }
    }
    if !ctx.client.authenticated {
        ctx.error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
        return;
    }
    if let Some(name) = name {
        if !valid_name(&name) {
            ctx.error("ERR Client names cannot contain spaces, newlines or special characters.");
            return;
        }
        *ctx.client.meta.name.lock() = (!name.is_empty()).then_some(name);
    }
    ctx.client.proto = proto;
    ctx.client.meta.resp.store(
        if proto == Protocol::Resp3 { 3 } else { 2 },
        Ordering::Relaxed,
    );
    let cluster = ctx.shared.config.read().cluster_enabled();
    ctx.map(7);
    ctx.bulk(b"server");
    ctx.bulk(b"redis");
    ctx.bulk(b"version");
    ctx.bulk(crate::commands::server::REDIS_VERSION.as_bytes());
    ctx.bulk(b"proto");
    ctx.int(if proto == Protocol::Resp3 { 3 } else { 2 });
    ctx.bulk(b"id");
    ctx.int(ctx.client.id() as i64);
    ctx.bulk(b"mode");
    ctx.bulk(if cluster { b"cluster" } else { b"standalone" });
    ctx.bulk(b"role");
    if ctx.shared.repl.is_replica() {
        ctx.bulk(b"replica");
    } else {
        ctx.bulk(b"master");
    }
    ctx.bulk(b"modules");
    ctx.array(0);
}

fn select(ctx: &mut Ctx<'_>, req: &Request) {
    let Some(index) = int_arg(req, 1) else {
        ctx.not_integer();
        return;
    };
    if ctx.shared.config.read().cluster_enabled() && index != 0 {
        ctx.error("ERR SELECT is not allowed in cluster mode");
        return;
    }
    match usize::try_from(index) {
        Ok(i) if i < ctx.shared.store.databases() => {
            ctx.client.db = i;
            ctx.client.meta.db.store(i, Ordering::Relaxed);
            ctx.ok();
        }
        _ => ctx.error("ERR DB index is out of range"),
    }
}

fn quit(ctx: &mut Ctx<'_>, _req: &Request) {
    ctx.ok();
    ctx.client.close_after_reply = true;
}

fn reset(ctx: &mut Ctx<'_>, _req: &Request) {
    discard_multi(ctx);
    super::pubsub::unsubscribe_all(ctx);
    ctx.client.db = 0;
    ctx.client.meta.db.store(0, Ordering::Relaxed);
    ctx.client.proto = Protocol::Resp2;
    ctx.client.meta.resp.store(2, Ordering::Relaxed);
    ctx.client.reply_mode = ReplyMode::On;
    *ctx.client.meta.name.lock() = None;
    ctx.client.meta.no_evict.store(false, Ordering::Relaxed);
    if ctx.shared.config.read().requirepass().is_some() {
        ctx.client.authenticated = false;
        ctx.client.decoder.set_auth_required(true);
    }
    ctx.simple("RESET");
}

fn valid_name(name: &[u8]) -> bool {
    name.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

/// One `CLIENT LIST` line.
pub(crate) fn client_line(m: &ClientMeta, now_ms: u64) -> String {
    let name = m.name.lock().clone().unwrap_or_default();
    let multi = m.multi.load(Ordering::Relaxed);
    let multi = if multi == u64::MAX { -1 } else { multi as i64 };
    let mut flags = String::new();
    if multi >= 0 {
        flags.push('x');
    }
    if m.subscriptions.load(Ordering::Relaxed) + m.psubscriptions.load(Ordering::Relaxed) > 0 {
        flags.push('P');
    }
    if m.blocked.load(Ordering::Relaxed) {
        flags.push('b');
    }
    if m.no_evict.load(Ordering::Relaxed) {
        flags.push('e');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let qbuf = m.qbuf.load(Ordering::Relaxed);
    let obl = m.obl.load(Ordering::Relaxed);
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub=0 multi={} qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl={} oll=0 omem=0 tot-mem={} events=r cmd={} user=default redir=-1 resp={}",
        m.id,
        m.addr,
        m.laddr,
        m.fd,
        String::from_utf8_lossy(&name),
        m.created.elapsed().as_secs(),
        now_ms.saturating_sub(m.last_interaction_ms.load(Ordering::Relaxed)) / 1000,
        flags,
        m.db.load(Ordering::Relaxed),
        m.subscriptions.load(Ordering::Relaxed),
        m.psubscriptions.load(Ordering::Relaxed),
        multi,
        qbuf,
        16384usize.saturating_sub(qbuf),
        obl,
        16384 + qbuf + obl,
        m.last_cmd.lock(),
        m.resp.load(Ordering::Relaxed),
    )
}

fn client(ctx: &mut Ctx<'_>, req: &Request) {
    let sub = arg(req, 1).to_ascii_lowercase();
    let n = req.len();
    match (&sub[..], n) {
        (b"id", 2) => ctx.int(ctx.client.id() as i64),
        (b"getname", 2) => {
            let name = ctx.client.meta.name.lock().clone();
            ctx.optional_bulk(name.as_deref());
        }
        (b"setname", 3) => {
            let name = arg(req, 2);
            if !valid_name(name) {
                ctx.error(
                    "ERR Client names cannot contain spaces, newlines or special characters.",
                );
                return;
            }
            *ctx.client.meta.name.lock() = (!name.is_empty()).then(|| name.to_vec());
            ctx.ok();
        }
        (b"info", 2) => {
            let line = client_line(&ctx.client.meta, unix_ms());
            ctx.verbatim(format!("{line}\n").as_bytes());
        }
        (b"list", _) => client_list(ctx, req),
        (b"kill", _) if n >= 3 => client_kill(ctx, req),
        (b"reply", 3) => {
            let mode = arg(req, 2).to_ascii_lowercase();
            match &mode[..] {
                b"on" => {
                    ctx.client.reply_mode = ReplyMode::On;
                    ctx.ok();
                }
                b"off" => ctx.client.reply_mode = ReplyMode::Off,
                b"skip" => {
                    if ctx.client.reply_mode != ReplyMode::Off {
                        ctx.client.reply_mode = ReplyMode::Skip;
                    }
                }
                _ => ctx.syntax_error(),
            }
        }
        (b"no-evict", 3) => {
            let on = if is(req, 2, "on") {
                true
            } else if is(req, 2, "off") {
                false
            } else {
                ctx.syntax_error();
                return;
            };
            ctx.client.meta.no_evict.store(on, Ordering::Relaxed);
            ctx.ok();
        }
        (b"pause", 3 | 4) => {
            let Some(ms) = int_arg(req, 2).filter(|ms| *ms >= 0) else {
                ctx.error("ERR timeout is not an integer or out of range");
                return;
            };
            let writes_only = match n {
                4 if is(req, 3, "write") => true,
                4 if is(req, 3, "all") => false,
                4 => {
                    ctx.syntax_error();
                    return;
                }
                _ => false,
            };
            ctx.shared
                .pause_writes_only
                .store(writes_only, Ordering::Relaxed);
            ctx.shared
                .pause_until_ms
                .store(unix_ms() + ms as u64, Ordering::Relaxed);
            ctx.ok();
        }
        (b"unblock", 3 | 4) => crate::blocking::client_unblock(ctx, req),
        (b"unpause", 2) => {
            ctx.shared.pause_until_ms.store(0, Ordering::Relaxed);
            ctx.ok();
        }
        (b"help", 2) => {
            let lines = [
                "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "ID",
                "    Return the ID of the current connection.",
                "INFO",
                "    Return information about the current client connection.",
                "GETNAME",
                "    Return the name of the current connection.",
                "KILL <ip:port>",
                "    Kill connection made from <ip:port>.",
                "LIST [options ...]",
                "    Return information about client connections.",
                "NO-EVICT (ON|OFF)",
                "    Protect current client connection from eviction.",
                "PAUSE <timeout> [WRITE|ALL]",
                "    Suspend clients.",
                "REPLY (ON|OFF|SKIP)",
                "    Control the replies sent to the current connection.",
                "SETNAME <name>",
                "    Assign the name <name> to the current connection.",
                "UNPAUSE",
                "    Stop the current client pause, resuming traffic.",
                "HELP",
                "    Print this help.",
            ];
            ctx.array(lines.len());
            for l in lines {
                ctx.simple(l);
            }
        }
        _ => {
            let shown = String::from_utf8_lossy(arg(req, 1)).into_owned();
            if [
                "id", "getname", "setname", "info", "reply", "no-evict", "pause", "unpause",
                "help", "kill", "unblock",
            ]
            .contains(&shown.to_ascii_lowercase().as_str())
            {
                ctx.error(&format!(
                    "ERR wrong number of arguments for 'client|{}' command",
                    shown.to_ascii_lowercase()
                ));
            } else {
                ctx.error(&format!(
                    "ERR unknown subcommand '{shown}'. Try CLIENT HELP."
                ));
            }
        }
    }
}

fn client_list(ctx: &mut Ctx<'_>, req: &Request) {
    let mut ids: Option<Vec<u64>> = None;
    let mut i = 2;
    while i < req.len() {
        if is(req, i, "type") && i + 1 < req.len() {
            let t = arg(req, i + 1).to_ascii_lowercase();
            if !matches!(
                &t[..],
                b"normal" | b"master" | b"replica" | b"slave" | b"pubsub"
            ) {
                ctx.error(&format!(
                    "ERR Unknown client type '{}'",
                    String::from_utf8_lossy(arg(req, i + 1))
                ));
                return;
            }
            i += 2;
        } else if is(req, i, "id") && i + 1 < req.len() {
            let mut list = Vec::new();
            i += 1;
            while i < req.len() {
                match int_arg(req, i).filter(|n| *n > 0) {
                    Some(id) => list.push(id as u64),
                    None => {
                        ctx.error("ERR Invalid client ID");
                        return;
                    }
                }
                i += 1;
            }
            ids = Some(list);
        } else {
            ctx.syntax_error();
            return;
        }
    }
    let now = unix_ms();
    let mut clients: Vec<Arc<ClientMeta>> = ctx.shared.clients.read().values().cloned().collect();
    clients.sort_by_key(|c| c.id);
    let mut text = String::new();
    for c in clients {
        if ids.as_ref().is_some_and(|ids| !ids.contains(&c.id)) {
            continue;
        }
        text.push_str(&client_line(&c, now));
        text.push('\n');
    }
    ctx.verbatim(text.as_bytes());
}

fn client_kill(ctx: &mut Ctx<'_>, req: &Request) {
    let clients: Vec<Arc<ClientMeta>> = ctx.shared.clients.read().values().cloned().collect();
    let me = ctx.client.id();
    if req.len() == 3 {
        // Old form: CLIENT KILL addr:port.
        let addr = String::from_utf8_lossy(arg(req, 2)).into_owned();
        match clients.iter().find(|c| c.addr.to_string() == addr) {
            Some(c) => {
                kill(ctx, c, me);
                ctx.ok();
            }
            // A replica's link to its master is the client named by the
            // master's address, as in Redis.
            None if is_master_link(ctx, &addr) && crate::repl::kill_master_link(ctx.shared) => {
                ctx.ok();
            }
            None => ctx.error("ERR No such client"),
        }
        return;
    }
    let mut filters: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut skipme = true;
    let mut i = 2;
    while i + 1 < req.len() {
        let (k, v) = (arg(req, i).to_ascii_lowercase(), arg(req, i + 1).to_vec());
        match &k[..] {
            b"id" => {
                if ferrodis_resp::parse_i64(&v).filter(|n| *n > 0).is_none() {
                    ctx.error("ERR client-id should be greater than 0");
                    return;
                }
            }
            b"skipme" => match &v.to_ascii_lowercase()[..] {
                b"yes" => skipme = true,
                b"no" => skipme = false,
                _ => {
                    ctx.syntax_error();
                    return;
                }
            },
            b"addr" | b"laddr" | b"user" | b"type" | b"maxage" => {}
            _ => {
                ctx.syntax_error();
                return;
            }
        }
        filters.push((k, v));
        i += 2;
    }
    if i != req.len() {
        ctx.syntax_error();
        return;
    }
    let mut killed = 0;
    for c in &clients {
        let matches = filters.iter().all(|(k, v)| match &k[..] {
            b"id" => ferrodis_resp::parse_i64(v) == Some(c.id as i64),
            b"addr" => c.addr.to_string().as_bytes() == &v[..],
            b"laddr" => c.laddr.to_string().as_bytes() == &v[..],
            b"user" => v == b"default",
            b"type" => {
                v.eq_ignore_ascii_case(b"normal")
                    || (v.eq_ignore_ascii_case(b"pubsub")
                        && c.subscriptions.load(Ordering::Relaxed) > 0)
            }
            b"maxage" => ferrodis_resp::parse_i64(v)
                .is_some_and(|age| c.created.elapsed().as_secs() as i64 >= age),
            _ => true,
        });
        if matches && !(skipme && c.id == me) {
            kill(ctx, c, me);
            killed += 1;
        }
    }
    // Replication links live outside the client registry.
    if let [(k, v)] = &filters[..] {
        if k == b"type" {
            let v = v.to_ascii_lowercase();
            if v == b"replica" || v == b"slave" {
                killed += crate::repl::master::kill_replicas(ctx.shared) as i64;
            } else if v == b"master" && crate::repl::kill_master_link(ctx.shared) {
                killed += 1;
            }
        } else if k == b"addr"
            && is_master_link(ctx, &String::from_utf8_lossy(v))
            && crate::repl::kill_master_link(ctx.shared)
        {
            killed += 1;
        }
    }
    ctx.int(killed);
}

/// Whether `addr` (`host:port`) names the master this replica follows.
fn is_master_link(ctx: &Ctx<'_>, addr: &str) -> bool {
    ctx.shared
        .repl
        .master
        .lock()
        .as_ref()
        .is_some_and(|m| format!("{}:{}", m.host, m.port) == addr)
}

fn kill(ctx: &mut Ctx<'_>, c: &ClientMeta, me: u64) {
    c.killed.store(true, Ordering::Relaxed);
    if c.id == me {
        ctx.client.close_after_reply = true;
    } else {
        ctx.shared
            .send_to_owner(c, WorkerMsg::Kill { client: c.id });
    }
}

fn multi(ctx: &mut Ctx<'_>, _req: &Request) {
    if ctx.client.multi.is_some() {
        ctx.error("ERR MULTI calls can not be nested");
        return;
    }
    ctx.client.multi = Some(Multi::default());
    ctx.client.meta.multi.store(0, Ordering::Relaxed);
    ctx.ok();
}

/// Ends the transaction without running it (DISCARD, a rejected EXEC).
pub(super) fn discard_multi(ctx: &mut Ctx<'_>) {
    ctx.client.multi = None;
    ctx.client.meta.multi.store(u64::MAX, Ordering::Relaxed);
    unwatch_all(ctx);
}

fn exec(ctx: &mut Ctx<'_>, _req: &Request) {
    let Some(multi) = ctx.client.multi.take() else {
        ctx.error("ERR EXEC without MULTI");
        return;
    };
    ctx.client.meta.multi.store(u64::MAX, Ordering::Relaxed);
    let dirty = ctx.client.watch_flag.load(Ordering::Acquire);
    unwatch_all(ctx);
    if multi.errored {
        ctx.error("EXECABORT Transaction discarded because of previous errors.");
        return;
    }
    if dirty {
        ctx.null_array();
        return;
    }
    super::exec(ctx, multi);
}

fn discard(ctx: &mut Ctx<'_>, _req: &Request) {
    if ctx.client.multi.is_none() {
        ctx.error("ERR DISCARD without MULTI");
        return;
    }
    discard_multi(ctx);
    ctx.ok();
}

fn watch(ctx: &mut Ctx<'_>, req: &Request) {
    if ctx.client.multi.is_some() {
        ctx.error("ERR WATCH inside MULTI is not allowed");
        return;
    }
    let db_index = ctx.client.db;
    for key in req.args().skip(1) {
        if ctx
            .client
            .watched
            .iter()
            .any(|(d, k)| *d == db_index && k == key)
        {
            continue;
        }
        ctx.db().watch(key, Arc::clone(&ctx.client.watch_flag));
        ctx.client.watched.push((db_index, key.to_vec()));
    }
    ctx.ok();
}

fn unwatch(ctx: &mut Ctx<'_>, _req: &Request) {
    unwatch_all(ctx);
    ctx.ok();
}

/// Forgets every watched key and clears the dirty flag.
pub(crate) fn unwatch_all(ctx: &mut Ctx<'_>) {
    for (db, key) in std::mem::take(&mut ctx.client.watched) {
        if let Ok(d) = ctx.shared.store.db(db) {
            d.unwatch(&key, &ctx.client.watch_flag);
        }
    }
    ctx.client.watch_flag.store(false, Ordering::Release);
}
