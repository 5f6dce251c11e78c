//! Write propagation: after a write command changed the data, what goes to
//! the AOF (and, later, to replicas). Commands whose effect depends on when
//! or where they run are rewritten into ones that replay to the same
//! state, as Redis does: relative expiry becomes absolute (`PEXPIREAT`,
//! `SET ... PXAT`), `INCRBYFLOAT` becomes a `SET` of its result, `SPOP`
//! becomes `SREM` of what it popped, a blocking pop becomes the pop it
//! did. A transaction's writes are wrapped in `MULTI`/`EXEC`.

use std::sync::atomic::Ordering;

use ferrodis_resp::Request;
use ferrodis_store::Ttl;

use crate::commands::{Ctx, Spec};

/// Called after every command that changed the data (`changes` key
/// changes): counts them for save points and propagates the command.
pub(crate) fn after_write(ctx: &mut Ctx<'_>, spec: &Spec, req: &Request, changes: u64) {
    let shared = ctx.shared;
    shared.persist.dirty.fetch_add(changes, Ordering::Relaxed);
    crate::cluster::slotmig::touched_request(shared, spec, req);
    let explicit = ctx.client.propagate_as.take();
    let aof = shared.persist.aof_on.load(Ordering::Acquire);
    // A replica's writes reach its own replicas as its master's bytes
    // (`repl::replica`), and writes on a writable replica stay local.
    let repl = shared.repl.active.load(Ordering::Acquire) && !shared.repl.is_replica();
    if !aof && !repl {
        return;
    }
    let commands = match explicit {
        Some(c) => c,
        None => rewrite(ctx, spec, req),
    };
    let db = ctx.client.db;
    for argv in &commands {
        if ctx.client.in_exec && !ctx.client.exec_propagated {
            ctx.client.exec_propagated = true;
            feed(ctx, repl, db, &[b"MULTI"]);
        }
        let args: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
        // SELECT, SWAPDB and MOVE name databases themselves; the file's
        // current database is what the client had selected.
        feed(ctx, repl, db, &args);
    }
}

/// One command to the AOF and, when `repl`, to the replication stream.
fn feed(ctx: &mut Ctx<'_>, repl: bool, db: usize, argv: &[&[u8]]) {
    super::aof::feed(ctx.shared, db, argv);
    if repl {
        if let Some(off) = crate::repl::feed(ctx.shared, db, argv) {
            ctx.client.woff = off;
        }
    }
}

/// Ends a transaction's propagation (after EXEC ran its commands).
pub(crate) fn after_exec(ctx: &mut Ctx<'_>) {
    if std::mem::take(&mut ctx.client.exec_propagated) {
        let repl = ctx.shared.repl.active.load(Ordering::Acquire) && !ctx.shared.repl.is_replica();
        let db = ctx.client.db;
        feed(ctx, repl, db, &[b"EXEC"]);
    }
}

fn args(req: &Request) -> Vec<Vec<u8>> {
    req.args().map(<[u8]>::to_vec).collect()
}

/// The commands that replay `req` after it ran.
fn rewrite(ctx: &mut Ctx<'_>, spec: &Spec, req: &Request) -> Vec<Vec<Vec<u8>>> {
    let key = || req.arg(1).unwrap_or_default().to_vec();
    let expiry = |ctx: &mut Ctx<'_>| -> Option<Ttl> {
        let db = ctx.shared.store.db(ctx.client.db).ok()?;
        Some(db.ttl(req.arg(1).unwrap_or_default()))
    };
    match spec.name {
        "expire" | "pexpire" | "expireat" | "pexpireat" => match expiry(ctx) {
            Some(Ttl::ExpiresAt(at)) => {
                vec![vec![
                    b"PEXPIREAT".to_vec(),
                    key(),
                    at.to_string().into_bytes(),
                ]]
            }
            // A time in the past deleted the key.
            Some(Ttl::Missing) => vec![vec![b"DEL".to_vec(), key()]],
            _ => vec![args(req)],
        },
        "setex" | "psetex" => {
            let value = req.arg(3).unwrap_or_default().to_vec();
            match expiry(ctx) {
                Some(Ttl::ExpiresAt(at)) => vec![vec![
                    b"SET".to_vec(),
                    key(),
                    value,
                    b"PXAT".to_vec(),
                    at.to_string().into_bytes(),
                ]],
                _ => vec![vec![b"SET".to_vec(), key(), value]],
            }
        }
        "set" | "getex" => {
            let relative = req
                .args()
                .skip(if spec.name == "set" { 3 } else { 2 })
                .any(|a| {
                    a.eq_ignore_ascii_case(b"ex")
                        || a.eq_ignore_ascii_case(b"px")
                        || a.eq_ignore_ascii_case(b"exat")
                });
            let persist = spec.name == "getex"
                && req
                    .args()
                    .skip(2)
                    .any(|a| a.eq_ignore_ascii_case(b"persist"));
            if spec.name == "getex" {
                return match expiry(ctx) {
                    Some(Ttl::ExpiresAt(at)) => {
                        vec![vec![
                            b"PEXPIREAT".to_vec(),
                            key(),
                            at.to_string().into_bytes(),
                        ]]
                    }
                    Some(Ttl::Persistent) if persist => vec![vec![b"PERSIST".to_vec(), key()]],
                    Some(Ttl::Missing) => vec![vec![b"DEL".to_vec(), key()]],
                    _ => vec![],
                };
            }
            if !relative {
                return vec![args(req)];
            }
            let value = req.arg(2).unwrap_or_default().to_vec();
            match expiry(ctx) {
                Some(Ttl::ExpiresAt(at)) => vec![vec![
                    b"SET".to_vec(),
                    key(),
                    value,
                    b"PXAT".to_vec(),
                    at.to_string().into_bytes(),
                ]],
                Some(Ttl::Missing) => vec![vec![b"DEL".to_vec(), key()]],
                _ => vec![vec![b"SET".to_vec(), key(), value]],
            }
        }
        "incrbyfloat" => {
            let Ok(db) = ctx.shared.store.db(ctx.client.db) else {
                return vec![args(req)];
            };
            match db.get(req.arg(1).unwrap_or_default()) {
                Ok(Some(v)) => vec![vec![b"SET".to_vec(), key(), v, b"KEEPTTL".to_vec()]],
                _ => vec![args(req)],
            }
        }
        "hincrbyfloat" => {
            let Ok(db) = ctx.shared.store.db(ctx.client.db) else {
                return vec![args(req)];
            };
            let field = req.arg(2).unwrap_or_default();
            match db.hget(req.arg(1).unwrap_or_default(), field) {
                Ok(Some(v)) => vec![vec![b"HSET".to_vec(), key(), field.to_vec(), v]],
                _ => vec![args(req)],
            }
        }
        "restore" => {
            // A relative TTL becomes absolute.
            let absttl = req
                .args()
                .skip(4)
                .any(|a| a.eq_ignore_ascii_case(b"absttl"));
            let ttl = req.arg(2).and_then(ferrodis_resp::parse_i64).unwrap_or(0);
            if absttl || ttl == 0 {
                return vec![args(req)];
            }
            match expiry(ctx) {
                Some(Ttl::ExpiresAt(at)) => {
                    let mut argv = args(req);
                    if let Some(t) = argv.get_mut(2) {
                        *t = at.to_string().into_bytes();
                    }
                    argv.push(b"ABSTTL".to_vec());
                    vec![argv]
                }
                _ => vec![args(req)],
            }
        }
        _ => vec![args(req)],
    }
}

/// Propagates what serving a blocked client did (its pop, as the
/// non-blocking command), from the thread that served it.
pub(crate) fn served(shared: &crate::shared::Shared, db: usize, commands: &[Vec<Vec<u8>>]) {
    if commands.is_empty() {
        return;
    }
    shared
        .persist
        .dirty
        .fetch_add(commands.len() as u64, Ordering::Relaxed);
    crate::cluster::slotmig::touched_commands(shared, commands);
    let repl = shared.repl.active.load(Ordering::Acquire) && !shared.repl.is_replica();
    if !shared.persist.aof_on.load(Ordering::Acquire) && !repl {
        return;
    }
    for argv in commands {
        let args: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
        super::aof::feed(shared, db, &args);
        if repl {
            crate::repl::feed(shared, db, &args);
        }
    }
}

/// Propagates a key that expired or was evicted as `DEL`, as Redis does, so
/// that the AOF and replicas (which do not expire keys themselves) lose it
/// too. Called while the key's table is still locked for a lazy expiry, so
/// a write to the key cannot be propagated before it.
pub(crate) fn deleted(shared: &crate::shared::Shared, db: usize, key: &[u8]) {
    crate::cluster::slotmig::touched_key(shared, key);
    let repl = shared.repl.active.load(Ordering::Acquire) && !shared.repl.is_replica();
    if shared.persist.aof_on.load(Ordering::Acquire) {
        super::aof::feed(shared, db, &[b"DEL", key]);
    }
    if repl {
        crate::repl::feed(shared, db, &[b"DEL", key]);
    }
}
