//! Replication commands: REPLCONF, PSYNC/SYNC (which turn the connection
//! into a replica link), REPLICAOF/SLAVEOF, ROLE and WAIT.

use std::sync::Arc;

use ferrodis_resp::Request;

use super::flags::*;
use super::{arg, int_arg, is, spec, Ctx, Spec};
use crate::log;

pub(super) fn specs() -> Vec<Spec> {
    vec![
        spec(
            "replconf",
            -1,
            ADMIN | NOSCRIPT | LOADING | STALE,
            (0, 0, 0),
            replconf,
        ),
        spec("psync", -3, ADMIN | NOSCRIPT | NO_MULTI, (0, 0, 0), psync),
        spec("sync", 1, ADMIN | NOSCRIPT | NO_MULTI, (0, 0, 0), psync),
        spec(
            "replicaof",
            3,
            ADMIN | NOSCRIPT | STALE,
            (0, 0, 0),
            replicaof,
        ),
        spec("slaveof", 3, ADMIN | NOSCRIPT | STALE, (0, 0, 0), replicaof),
        spec(
            "role",
            1,
            NOSCRIPT | LOADING | STALE | FAST,
            (0, 0, 0),
            role,
        ),
        spec("wait", 3, NOSCRIPT, (0, 0, 0), wait),
    ]
}

/// `REPLCONF <option> <value> [<option> <value> ...]`: what a replica
/// announces before PSYNC (`listening-port`, `ip-address`, `capa`).
/// `ACK` from a replica link is read by the replication threads.
fn replconf(ctx: &mut Ctx<'_>, req: &Request) {
    if req.len() % 2 == 0 {
        ctx.syntax_error();
        return;
    }
    let mut j = 1;
    while j < req.len() {
        let value = arg(req, j + 1);
        if is(req, j, "listening-port") {
            let Some(port) = int_arg(req, j + 1) else {
                ctx.not_integer();
                return;
            };
            ctx.client.announced.port = port.clamp(0, 65535) as u16;
        } else if is(req, j, "ip-address") {
            if value.len() >= 46 {
                ctx.error(&format!(
                    "ERR REPLCONF ip-address provided by replica instance is too long: {} bytes",
                    value.len()
                ));
                return;
            }
            ctx.client.announced.ip = Some(String::from_utf8_lossy(value).into_owned());
        } else if is(req, j, "capa") {
            if value.eq_ignore_ascii_case(b"eof") {
                ctx.client.announced.capa_eof = true;
            } else if value.eq_ignore_ascii_case(b"psync2") {
                ctx.client.announced.capa_psync2 = true;
            }
        } else if is(req, j, "ack") || is(req, j, "getack") {
            // Only meaningful on a replica link: no reply.
            return;
        } else if is(req, j, "rdb-only") {
            match int_arg(req, j + 1) {
                Some(v @ 0..=1) => ctx.client.announced.rdb_only = v == 1,
                _ => {
                    ctx.error("ERR value is out of range, value must between 0 and 1");
                    return;
                }
            }
        } else if is(req, j, "rdb-filter-only") {
        } else {
            ctx.error(&format!(
                "ERR Unrecognized REPLCONF option: {}",
                String::from_utf8_lossy(arg(req, j))
            ));
            return;
        }
        j += 2;
    }
    ctx.ok();
}

/// `PSYNC replid offset` / `SYNC`: the connection becomes a replica link;
/// the worker hands it to `repl::master`, which answers.
fn psync(ctx: &mut Ctx<'_>, req: &Request) {
    if ctx.client.stream.is_none() {
        ctx.error("ERR PSYNC needs a connection");
        return;
    }
    ctx.client.handoff = Some(req.to_vec());
}

/// `REPLICAOF host port` / `REPLICAOF NO ONE` (and SLAVEOF).
fn replicaof(ctx: &mut Ctx<'_>, req: &Request) {
    if ctx.shared.cluster.is_some() {
        ctx.error("ERR REPLICAOF not allowed in cluster mode.");
        return;
    }
    let Some(shared) = ctx.shared.me() else {
        return;
    };
    if is(req, 1, "no") && is(req, 2, "one") {
        if shared.repl.is_replica() {
            crate::repl::become_master(&shared);
            log::notice(&format!(
                "MASTER MODE enabled (user request from 'id={} addr={}')",
                ctx.client.id(),
                ctx.client.meta.addr
            ));
        }
        ctx.ok();
        return;
    }
    let port = match int_arg(req, 2) {
        Some(p) if (0..=65535).contains(&p) => p as u16,
        _ => {
            ctx.error("ERR Invalid master port");
            return;
        }
    };
    let host = String::from_utf8_lossy(arg(req, 1)).into_owned();
    if !start(&shared, &host, port) {
        log::notice("REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.");
        ctx.simple("OK Already connected to specified master");
        return;
    }
    log::notice(&format!(
        "REPLICAOF {host}:{port} enabled (user request from 'id={} addr={}')",
        ctx.client.id(),
        ctx.client.meta.addr
    ));
    ctx.ok();
}

fn start(shared: &Arc<crate::shared::Shared>, host: &str, port: u16) -> bool {
    crate::repl::replicate_from(shared, host, port)
}

/// `ROLE`.
fn role(ctx: &mut Ctx<'_>, _req: &Request) {
    crate::repl::role(ctx);
}

/// `WAIT numreplicas timeout`: blocks until that many replicas
/// acknowledged this client's writes, or the timeout (ms) passes.
fn wait(ctx: &mut Ctx<'_>, req: &Request) {
    if ctx.shared.repl.is_replica() {
        ctx.error("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.");
        return;
    }
    let Some(n) = int_arg(req, 1) else {
        ctx.not_integer();
        return;
    };
    let timeout = match int_arg(req, 2) {
        Some(t) if t >= 0 => t as u64,
        Some(_) => {
            ctx.error("ERR timeout is negative");
            return;
        }
        None => {
            ctx.error("ERR timeout is not an integer or out of range");
            return;
        }
    };
    let woff = ctx.client.woff;
    let n = n.max(0) as usize;
    let got = crate::repl::acked(ctx.shared, woff);
    // Inside a transaction (or without a socket) WAIT does not block.
    if got >= n || ctx.client.multi.is_some() || ctx.client.in_exec || ctx.client.block.deny {
        ctx.int(got as i64);
        return;
    }
    let Some(shared) = ctx.shared.me() else {
        ctx.int(got as i64);
        return;
    };
    // The client waits without holding its worker: a thread watches the
    // ACKs and hands the reply to the worker.
    crate::repl::request_acks(&shared);
    crate::blocking::block_for_reply(ctx.client);
    let meta = Arc::clone(&ctx.client.meta);
    let token = ctx.client.block.token;
    let until = (timeout > 0)
        .then(|| std::time::Instant::now() + std::time::Duration::from_millis(timeout));
    let spawned = std::thread::Builder::new()
        .name("repl-wait".into())
        .spawn(move || {
            let id = meta.id;
            let alive = || shared.clients.read().contains_key(&id);
            let got = crate::repl::wait_for_acks(&shared, woff, n, until, alive);
            let mut reply = bytes::BytesMut::new();
            ferrodis_resp::reply::integer(&mut reply, got as i64);
            shared.send_to_owner(
                &meta,
                crate::shared::WorkerMsg::Unblocked {
                    client: id,
                    token,
                    reply: reply.freeze(),
                },
            );
        });
    if spawned.is_err() {
        log::warning("WAIT: cannot start a thread");
    }
}
