//! String commands: GET, SET (all options), SETNX, SETEX, PSETEX, GETSET,
//! GETDEL, GETEX, MGET, MSET, MSETNX, APPEND, STRLEN, INCR/DECR family,
//! INCRBYFLOAT, GETRANGE/SUBSTR, SETRANGE.

use ferrodis_resp::Request;
use ferrodis_store::{GetExTtl, SetCondition, SetOptions, TtlUpdate};

use super::flags::*;
use super::{arg, int_arg, is, spec, Ctx, Spec};

pub(super) fn specs() -> Vec<Spec> {
    vec![
        spec("get", 2, READONLY | FAST, (1, 1, 1), get),
        spec("set", -3, WRITE | DENYOOM, (1, 1, 1), set),
        spec("setnx", 3, WRITE | DENYOOM | FAST, (1, 1, 1), setnx),
        spec("setex", 4, WRITE | DENYOOM, (1, 1, 1), setex),
        spec("psetex", 4, WRITE | DENYOOM, (1, 1, 1), setex),
        spec("getset", 3, WRITE | DENYOOM | FAST, (1, 1, 1), getset),
        spec("getdel", 2, WRITE | FAST, (1, 1, 1), getdel),
        spec("getex", -2, WRITE | FAST, (1, 1, 1), getex),
        spec("mget", -2, READONLY | FAST, (1, -1, 1), mget),
        spec("mset", -3, WRITE | DENYOOM, (1, -1, 2), mset),
        spec("msetnx", -3, WRITE | DENYOOM, (1, -1, 2), mset),
        spec("append", 3, WRITE | DENYOOM | FAST, (1, 1, 1), append),
        spec("strlen", 2, READONLY | FAST, (1, 1, 1), strlen),
        spec("incr", 2, WRITE | DENYOOM | FAST, (1, 1, 1), incr),
        spec("decr", 2, WRITE | DENYOOM | FAST, (1, 1, 1), incr),
        spec("incrby", 3, WRITE | DENYOOM | FAST, (1, 1, 1), incr),
        spec("decrby", 3, WRITE | DENYOOM | FAST, (1, 1, 1), incr),
        spec(
            "incrbyfloat",
            3,
            WRITE | DENYOOM | FAST,
            (1, 1, 1),
            incrbyfloat,
        ),
        spec("getrange", 4, READONLY, (1, 1, 1), getrange),
        spec("substr", 4, READONLY, (1, 1, 1), getrange),
        spec("setrange", 4, WRITE | DENYOOM, (1, 1, 1), setrange),
    ]
}

fn get(ctx: &mut Ctx<'_>, req: &Request) {
    let db = ctx.db();
    let out = &mut ctx.client.wbuf;
    match db.get_with(arg(req, 1), |v| ferrodis_resp::reply::bulk(out, v)) {
        Ok(Some(())) => {}
        Ok(None) => ctx.null(),
        Err(e) => ctx.store_error(e),
    }
}

/// Parses an expire amount for SET/GETEX into absolute ms.
fn expire_ms(
    ctx: &mut Ctx<'_>,
    req: &Request,
    i: usize,
    unit_ms: i64,
    relative: bool,
    cmd: &str,
) -> Option<u64> {
    let Some(n) = int_arg(req, i) else {
        ctx.not_integer();
        return None;
    };
    let now = ctx.db().now_ms() as i64;
    let at = if n <= 0 {
        None
    } else {
        n.checked_mul(unit_ms).and_then(|ms| {
            if relative {
                ms.checked_add(now)
            } else {
                Some(ms)
            }
        })
    };
    match at {
        Some(at) => Some(at as u64),
        None => {
            ctx.error(&format!("ERR invalid expire time in '{cmd}' command"));
            None
        }
    }
}

fn set(ctx: &mut Ctx<'_>, req: &Request) {
    let mut opts = SetOptions::default();
    let mut expire_seen = false;
    let mut i = 3;
    while i < req.len() {
        let word = arg(req, i).to_ascii_lowercase();
        let has_next = i + 1 < req.len();
        match &word[..] {
            b"nx" if opts.condition != SetCondition::IfExists => {
                opts.condition = SetCondition::IfMissing
            }
            b"xx" if opts.condition != SetCondition::IfMissing => {
                opts.condition = SetCondition::IfExists
            }
            b"get" => opts.get = true,
            b"keepttl" if !expire_seen => {
                expire_seen = true;
                opts.ttl = TtlUpdate::Keep;
            }
            b"ex" | b"px" | b"exat" | b"pxat" if has_next && !expire_seen => {
                expire_seen = true;
                let (unit, relative) = match &word[..] {
                    b"ex" => (1000, true),
                    b"px" => (1, true),
                    b"exat" => (1000, false),
                    _ => (1, false),
                };
                let Some(at) = expire_ms(ctx, req, i + 1, unit, relative, "set") else {
                    return;
                };
                opts.ttl = TtlUpdate::At(at);
                i += 1;
            }
            _ => {
                ctx.syntax_error();
                return;
            }
        }
        i += 1;
    }
    match ctx.db().set(arg(req, 1), arg(req, 2), opts) {
        Ok(out) if opts.get => ctx.optional_bulk(out.old.as_deref()),
        Ok(out) if out.written => ctx.ok(),
        Ok(_) => ctx.null(),
        Err(e) => ctx.store_error(e),
    }
}

fn setnx(ctx: &mut Ctx<'_>, req: &Request) {
    let opts = SetOptions {
        condition: SetCondition::IfMissing,
        ..Default::default()
    };
    match ctx.db().set(arg(req, 1), arg(req, 2), opts) {
        Ok(out) => ctx.int(i64::from(out.written)),
        Err(e) => ctx.store_error(e),
    }
}

fn setex(ctx: &mut Ctx<'_>, req: &Request) {
    let ps = is(req, 0, "psetex");
    let name = if ps { "psetex" } else { "setex" };
    let Some(at) = expire_ms(ctx, req, 2, if ps { 1 } else { 1000 }, true, name) else {
        return;
    };
    let opts = SetOptions {
        ttl: TtlUpdate::At(at),
        ..Default::default()
    };
    match ctx.db().set(arg(req, 1), arg(req, 3), opts) {
        Ok(_) => ctx.ok(),
        Err(e) => ctx.store_error(e),
    }
}

fn getset(ctx: &mut Ctx<'_>, req: &Request) {
    let opts = SetOptions {
        get: true,
        ..Default::default()
    };
    match ctx.db().set(arg(req, 1), arg(req, 2), opts) {
        Ok(out) => ctx.optional_bulk(out.old.as_deref()),
        Err(e) => ctx.store_error(e),
    }
}

fn getdel(ctx: &mut Ctx<'_>, req: &Request) {
    match ctx.db().get_del(arg(req, 1)) {
        Ok(v) => ctx.optional_bulk(v.as_deref()),
        Err(e) => ctx.store_error(e),
    }
}

fn getex(ctx: &mut Ctx<'_>, req: &Request) {
    let mut ttl = GetExTtl::Keep;
    let mut seen = false;
    let mut i = 2;
    while i < req.len() {
        let word = arg(req, i).to_ascii_lowercase();
        let has_next = i + 1 < req.len();
        match &word[..] {
            b"persist" if !seen => {
                seen = true;
                ttl = GetExTtl::Persist;
            }
            b"ex" | b"px" | b"exat" | b"pxat" if has_next && !seen => {
                seen = true;
                let (unit, relative) = match &word[..] {
                    b"ex" => (1000, true),
                    b"px" => (1, true),
                    b"exat" => (1000, false),
                    _ => (1, false),
                };
                let Some(at) = expire_ms(ctx, req, i + 1, unit, relative, "getex") else {
                    return;
                };
                ttl = GetExTtl::At(at);
                i += 1;
            }
            _ => {
                ctx.syntax_error();
                return;
            }
        }
        i += 1;
    }
    match ctx.db().get_ex(arg(req, 1), ttl) {
        Ok(v) => ctx.optional_bulk(v.as_deref()),
        Err(e) => ctx.store_error(e),
    }
}

fn mget(ctx: &mut Ctx<'_>, req: &Request) {
    let keys: Vec<&[u8]> = req.args().skip(1).collect();
    let values = ctx.db().mget(&keys);
    ctx.array(values.len());
    for v in values {
        ctx.optional_bulk(v.as_deref());
    }
}

fn mset(ctx: &mut Ctx<'_>, req: &Request) {
    let nx = is(req, 0, "msetnx");
    if req.len() % 2 == 0 {
        ctx.error(&format!(
            "ERR wrong number of arguments for '{}' command",
            if nx { "msetnx" } else { "mset" }
        ));
        return;
    }
    let pairs: Vec<(&[u8], &[u8])> = (1..req.len())
        .step_by(2)
        .map(|i| (arg(req, i), arg(req, i + 1)))
        .collect();
    if nx {
        let done = ctx.db().msetnx(&pairs);
        ctx.int(i64::from(done));
    } else {
        ctx.db().mset(&pairs);
        ctx.ok();
    }
}

fn append(ctx: &mut Ctx<'_>, req: &Request) {
    match ctx.db().append(arg(req, 1), arg(req, 2)) {
        Ok(n) => ctx.uint(n),
        Err(e) => ctx.store_error(e),
    }
}

fn strlen(ctx: &mut Ctx<'_>, req: &Request) {
    match ctx.db().strlen(arg(req, 1)) {
        Ok(n) => ctx.uint(n),
        Err(e) => ctx.store_error(e),
    }
}

fn incr(ctx: &mut Ctx<'_>, req: &Request) {
    let name = arg(req, 0).to_ascii_lowercase();
    let delta = match &name[..] {
        b"incr" => 1,
        b"decr" => -1,
        _ => match int_arg(req, 2) {
            Some(n) if name == b"decrby" => match n.checked_neg() {
                Some(n) => n,
                None => {
                    ctx.error("ERR decrement would overflow");
                    return;
                }
            },
            Some(n) => n,
            None => {
                ctx.not_integer();
                return;
            }
        },
    };
    match ctx.db().incr_by(arg(req, 1), delta) {
        Ok(n) => ctx.int(n),
        Err(e) => ctx.store_error(e),
    }
}

fn incrbyfloat(ctx: &mut Ctx<'_>, req: &Request) {
    let delta = std::str::from_utf8(arg(req, 2))
        .ok()
        .filter(|s| {
            !s.is_empty()
                && !s.starts_with(char::is_whitespace)
                && !s.ends_with(char::is_whitespace)
        })
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|d| !d.is_nan());
    let Some(delta) = delta else {
        ctx.error("ERR value is not a valid float");
        return;
    };
    match ctx.db().incr_by_float(arg(req, 1), delta) {
        Ok(v) => ctx.bulk(&v),
        Err(e) => ctx.store_error(e),
    }
}

fn getrange(ctx: &mut Ctx<'_>, req: &Request) {
    let (Some(start), Some(end)) = (int_arg(req, 2), int_arg(req, 3)) else {
        ctx.not_integer();
        return;
    };
    match ctx.db().get_range(arg(req, 1), start, end) {
        Ok(v) => ctx.bulk(&v),
        Err(e) => ctx.store_error(e),
    }
}

fn setrange(ctx: &mut Ctx<'_>, req: &Request) {
    let Some(offset) = int_arg(req, 2) else {
        ctx.not_integer();
        return;
    };
    let max = ctx
        .shared
        .store
        .settings()
        .proto_max_bulk_len
        .load(std::sync::atomic::Ordering::Relaxed);
    if offset < 0 || (offset as u64).saturating_add(arg(req, 3).len() as u64) > max as u64 {
        if offset < 0 {
            ctx.error("ERR offset is out of range");
        } else {
            ctx.error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        }
        return;
    }
    match ctx
        .db()
        .set_range(arg(req, 1), offset as usize, arg(req, 3))
    {
        Ok(n) => ctx.uint(n),
        Err(e) => ctx.store_error(e),
    }
}
