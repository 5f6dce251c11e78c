//! Set commands: SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SPOP,
//! SRANDMEMBER, SMOVE, SINTER, SINTERCARD, SINTERSTORE, SUNION,
//! SUNIONSTORE, SDIFF, SDIFFSTORE, SSCAN.

use ferrodis_resp::Request;
use ferrodis_store::{StoreError, ValueType};

use super::flags::*;
use super::{arg, int_arg, is, spec, Ctx, Spec};

pub(super) fn specs() -> Vec<Spec> {
    vec![
        spec("sadd", -3, WRITE | DENYOOM | FAST, (1, 1, 1), sadd),
        spec("srem", -3, WRITE | FAST, (1, 1, 1), srem),
        spec("smembers", 2, READONLY, (1, 1, 1), smembers),
        spec("sismember", 3, READONLY | FAST, (1, 1, 1), sismember),
        spec("smismember", -3, READONLY | FAST, (1, 1, 1), smismember),
        spec("scard", 2, READONLY | FAST, (1, 1, 1), scard),
        spec("spop", -2, WRITE | FAST, (1, 1, 1), spop),
        spec("srandmember", -2, READONLY, (1, 1, 1), srandmember),
        spec("smove", 4, WRITE | FAST, (1, 2, 1), smove),
        spec("sinter", -2, READONLY, (1, -1, 1), sinter),
        // Movable keys (after numkeys), as Redis reports them.
        spec("sintercard", -3, READONLY, (0, 0, 0), sintercard),
        spec("sinterstore", -3, WRITE | DENYOOM, (1, -1, 1), sinterstore),
        spec("sunion", -2, READONLY, (1, -1, 1), sunion),
        spec("sunionstore", -3, WRITE | DENYOOM, (1, -1, 1), sunionstore),
        spec("sdiff", -2, READONLY, (1, -1, 1), sdiff),
        spec("sdiffstore", -3, WRITE | DENYOOM, (1, -1, 1), sdiffstore),
        spec("sscan", -3, READONLY, (1, 1, 1), sscan),
    ]
}

/// Arguments `from..` as a vector of slices.
fn rest(req: &Request, from: usize) -> Vec<&[u8]> {
    req.args().skip(from).collect()
}

/// Members as a set reply (RESP3 `~`, RESP2 array).
fn reply_set(ctx: &mut Ctx<'_>, result: Result<Vec<Vec<u8>>, StoreError>) {
    match result {
        Ok(members) => {
            ctx.set(members.len());
            for m in members {
                ctx.bulk(&m);
            }
        }
        Err(e) => ctx.store_error(e),
    }
}

fn reply_count(ctx: &mut Ctx<'_>, result: Result<usize, StoreError>) {
    match result {
        Ok(n) => ctx.uint(n),
        Err(e) => ctx.store_error(e),
    }
}

fn sadd(ctx: &mut Ctx<'_>, req: &Request) {
    let r = ctx.db().sadd(arg(req, 1), &rest(req, 2));
    reply_count(ctx, r);
}

fn srem(ctx: &mut Ctx<'_>, req: &Request) {
    let r = ctx.db().srem(arg(req, 1), &rest(req, 2));
    reply_count(ctx, r);
}

fn smembers(ctx: &mut Ctx<'_>, req: &Request) {
    let r = ctx.db().smembers(arg(req, 1));
    reply_set(ctx, r);
}

fn sismember(ctx: &mut Ctx<'_>, req: &Request) {
    match ctx.db().sismember(arg(req, 1), arg(req, 2)) {
        Ok(found) => ctx.int(i64::from(found)),
        Err(e) => ctx.store_error(e),
    }
}

fn smismember(ctx: &mut Ctx<'_>, req: &Request) {
    match ctx.db().smismember(arg(req, 1), &rest(req, 2)) {
        Ok(found) => {
            ctx.array(found.len());
            for f in found {
                ctx.int(i64::from(f));
            }
        }
        Err(e) => ctx.store_error(e),
    }
}

fn scard(ctx: &mut Ctx<'_>, req: &Request) {
    let r = ctx.db().scard(arg(req, 1));
    reply_count(ctx, r);
}

fn spop(ctx: &mut Ctx<'_>, req: &Request) {
    match req.len() {
        2 => match ctx.db().spop(arg(req, 1)) {
            Ok(m) => {
                if let Some(m) = &m {
                    ctx.client.propagate_as = Some(vec![vec![
                        b"SREM".to_vec(),
                        arg(req, 1).to_vec(),
                        m.clone(),
                    ]]);
                }
                ctx.optional_bulk(m.as_deref())
            }
            Err(e) => ctx.store_error(e),
        },
        3 => {
            let Some(count) = int_arg(req, 2).and_then(|n| usize::try_from(n).ok()) else {
                ctx.error("ERR value is out of range, must be positive");
                return;
            };
            let r = ctx.db().spop_count(arg(req, 1), count);
            if let Ok(members) = &r {
                if !members.is_empty() {
                    let mut argv = vec![b"SREM".to_vec(), arg(req, 1).to_vec()];
                    argv.extend(members.iter().cloned());
                    ctx.client.propagate_as = Some(vec![argv]);
                }
            }
            reply_set(ctx, r);
        }
        _ => ctx.syntax_error(),
    }
}

fn srandmember(ctx: &mut Ctx<'_>, req: &Request) {
    match req.len() {
        2 => match ctx.db().srandmember(arg(req, 1)) {
            Ok(m) => ctx.optional_bulk(m.as_deref()),
            Err(e) => ctx.store_error(e),
        },
        3 => {
            let count = match int_arg(req, 2) {
                None => return ctx.not_integer(),
                Some(i64::MIN) => {
                    return ctx.error(
                        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
                    )
                }
                Some(n) => n,
            };
            match ctx.db().srandmember_count(arg(req, 1), count) {
                Ok(members) => ctx.bulks(members.iter().map(Vec::as_slice)),
                Err(e) => ctx.store_error(e),
            }
        }
        _ => ctx.syntax_error(),
    }
}

fn smove(ctx: &mut Ctx<'_>, req: &Request) {
    match ctx.db().smove(arg(req, 1), arg(req, 2), arg(req, 3)) {
        Ok(moved) => ctx.int(i64::from(moved)),
        Err(e) => ctx.store_error(e),
    }
}

fn sinter(ctx: &mut Ctx<'_>, req: &Request) {
    let r = ctx.db().sinter(&rest(req, 1));
    reply_set(ctx, r);
}

fn sintercard(ctx: &mut Ctx<'_>, req: &Request) {
    let numkeys = match int_arg(req, 1) {
        Some(n) if n >= 1 => n as usize,
        _ => return ctx.error("ERR numkeys should be greater than 0"),
    };
    if numkeys > req.len() - 2 {
        ctx.error("ERR Number of keys can't be greater than number of args");
        return;
    }
    let mut limit = 0;
    let mut i = 2 + numkeys;
    while i < req.len() {
        if is(req, i, "limit") && i + 1 < req.len() {
            match int_arg(req, i + 1).and_then(|n| usize::try_from(n).ok()) {
                Some(n) => limit = n,
                None => return ctx.error("ERR LIMIT can't be negative"),
            }
            i += 2;
        } else {
            ctx.syntax_error();
            return;
        }
    }
    let keys: Vec<&[u8]> = (2..2 + numkeys).map(|i| arg(req, i)).collect();
    let r = ctx.db().sintercard(&keys, limit);
    reply_count(ctx, r);
}

fn sinterstore(ctx: &mut Ctx<'_>, req: &Request) {
    let r = ctx.db().sinterstore(arg(req, 1), &rest(req, 2));
    reply_count(ctx, r);
}

fn sunion(ctx: &mut Ctx<'_>, req: &Request) {
    let r = ctx.db().sunion(&rest(req, 1));
    reply_set(ctx, r);
}

fn sunionstore(ctx: &mut Ctx<'_>, req: &Request) {
    let r = ctx.db().sunionstore(arg(req, 1), &rest(req, 2));
    reply_count(ctx, r);
}

fn sdiff(ctx: &mut Ctx<'_>, req: &Request) {
    let r = ctx.db().sdiff(&rest(req, 1));
    reply_set(ctx, r);
}

fn sdiffstore(ctx: &mut Ctx<'_>, req: &Request) {
    let r = ctx.db().sdiffstore(arg(req, 1), &rest(req, 2));
    reply_count(ctx, r);
}

fn sscan(ctx: &mut Ctx<'_>, req: &Request) {
    let Some(a) = super::keys::collection_scan_args(ctx, req, ValueType::Set) else {
        return;
    };
    match ctx.db().sscan(arg(req, 1), a.cursor, a.pattern, a.count) {
        Ok((next, members)) => {
            ctx.array(2);
            ctx.bulk(next.to_string().as_bytes());
            ctx.bulks(members.iter().map(Vec::as_slice));
        }
        Err(e) => ctx.store_error(e),
    }
}
