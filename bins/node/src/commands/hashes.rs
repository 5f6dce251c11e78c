//! Hash commands: HSET, HMSET, HSETNX, HGET, HMGET, HGETALL, HKEYS, HVALS,
//! HDEL, HLEN, HSTRLEN, HEXISTS, HINCRBY, HINCRBYFLOAT, HRANDFIELD, HSCAN.

use ferrodis_resp::{Protocol, Request};
use ferrodis_store::ValueType;

use super::flags::*;
use super::{arg, int_arg, is, spec, Ctx, Spec};

pub(super) fn specs() -> Vec<Spec> {
    vec![
        spec("hset", -4, WRITE | DENYOOM | FAST, (1, 1, 1), hset),
        spec("hmset", -4, WRITE | DENYOOM | FAST, (1, 1, 1), hset),
        spec("hsetnx", 4, WRITE | DENYOOM | FAST, (1, 1, 1), hsetnx),
        spec("hget", 3, READONLY | FAST, (1, 1, 1), hget),
        spec("hmget", -3, READONLY | FAST, (1, 1, 1), hmget),
        spec("hgetall", 2, READONLY, (1, 1, 1), hgetall),
        spec("hkeys", 2, READONLY, (1, 1, 1), hkeys),
        spec("hvals", 2, READONLY, (1, 1, 1), hvals),
        spec("hdel", -3, WRITE | FAST, (1, 1, 1), hdel),
        spec("hlen", 2, READONLY | FAST, (1, 1, 1), hlen),
        spec("hstrlen", 3, READONLY | FAST, (1, 1, 1), hstrlen),
        spec("hexists", 3, READONLY | FAST, (1, 1, 1), hexists),
        spec("hincrby", 4, WRITE | DENYOOM | FAST, (1, 1, 1), hincrby),
        spec(
            "hincrbyfloat",
            4,
            WRITE | DENYOOM | FAST,
            (1, 1, 1),
            hincrbyfloat,
        ),
        spec("hrandfield", -2, READONLY, (1, 1, 1), hrandfield),
        spec("hscan", -3, READONLY, (1, 1, 1), hscan),
    ]
}

/// Arguments `from..` as a vector of slices.
fn rest(req: &Request, from: usize) -> Vec<&[u8]> {
    req.args().skip(from).collect()
}

fn hset(ctx: &mut Ctx<'_>, req: &Request) {
    let hmset = is(req, 0, "hmset");
    if req.len() % 2 == 1 {
        let name = if hmset { "hmset" } else { "hset" };
        ctx.error(&format!(
            "ERR wrong number of arguments for '{name}' command"
        ));
        return;
    }
    let pairs: Vec<(&[u8], &[u8])> = (2..req.len())
        .step_by(2)
        .map(|i| (arg(req, i), arg(req, i + 1)))
        .collect();
    match ctx.db().hset(arg(req, 1), &pairs) {
        Ok(_) if hmset => ctx.ok(),
        Ok(n) => ctx.uint(n),
        Err(e) => ctx.store_error(e),
    }
}

fn hsetnx(ctx: &mut Ctx<'_>, req: &Request) {
    match ctx.db().hsetnx(arg(req, 1), arg(req, 2), arg(req, 3)) {
        Ok(set) => ctx.int(i64::from(set)),
        Err(e) => ctx.store_error(e),
    }
}

fn hget(ctx: &mut Ctx<'_>, req: &Request) {
    match ctx.db().hget(arg(req, 1), arg(req, 2)) {
        Ok(v) => ctx.optional_bulk(v.as_deref()),
        Err(e) => ctx.store_error(e),
    }
}

fn hmget(ctx: &mut Ctx<'_>, req: &Request) {
    match ctx.db().hmget(arg(req, 1), &rest(req, 2)) {
        Ok(values) => {
            ctx.array(values.len());
            for v in values {
                ctx.optional_bulk(v.as_deref());
            }
        }
        Err(e) => ctx.store_error(e),
    }
}

fn hgetall(ctx: &mut Ctx<'_>, req: &Request) {
    match ctx.db().hgetall(arg(req, 1)) {
        Ok(pairs) => {
            ctx.map(pairs.len());
            for (f, v) in pairs {
                ctx.bulk(&f);
                ctx.bulk(&v);
            }
        }
        Err(e) => ctx.store_error(e),
    }
}

fn hkeys(ctx: &mut Ctx<'_>, req: &Request) {
    match ctx.db().hkeys(arg(req, 1)) {
        Ok(fields) => ctx.bulks(fields.iter().map(Vec::as_slice)),
        Err(e) => ctx.store_error(e),
    }
}

fn hvals(ctx: &mut Ctx<'_>, req: &Request) {
    match ctx.db().hvals(arg(req, 1)) {
        Ok(values) => ctx.bulks(values.iter().map(Vec::as_slice)),
        Err(e) => ctx.store_error(e),
    }
}

fn hdel(ctx: &mut Ctx<'_>, req: &Request) {
    match ctx.db().hdel(arg(req, 1), &rest(req, 2)) {
        Ok(n) => ctx.uint(n),
        Err(e) => ctx.store_error(e),
    }
}

fn hlen(ctx: &mut Ctx<'_>, req: &Request) {
    match ctx.db().hlen(arg(req, 1)) {
        Ok(n) => ctx.uint(n),
        Err(e) => ctx.store_error(e),
    }
}

fn hstrlen(ctx: &mut Ctx<'_>, req: &Request) {
    match ctx.db().hstrlen(arg(req, 1), arg(req, 2)) {
        Ok(n) => ctx.uint(n),
        Err(e) => ctx.store_error(e),
    }
}

fn hexists(ctx: &mut Ctx<'_>, req: &Request) {
    match ctx.db().hexists(arg(req, 1), arg(req, 2)) {
        Ok(found) => ctx.int(i64::from(found)),
        Err(e) => ctx.store_error(e),
    }
}

fn hincrby(ctx: &mut Ctx<'_>, req: &Request) {
    let Some(delta) = int_arg(req, 3) else {
        ctx.not_integer();
        return;
    };
    match ctx.db().hincrby(arg(req, 1), arg(req, 2), delta) {
        Ok(n) => ctx.int(n),
        Err(e) => ctx.store_error(e),
    }
}

/// Parses a float argument as Redis' `string2ld` does: no surrounding
/// spaces, NaN refused; infinities are returned (callers decide).
fn float_arg(req: &Request, i: usize) -> Option<f64> {
    let s = std::str::from_utf8(arg(req, i)).ok()?;
    if s.is_empty() || s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
        return None;
    }
    s.parse::<f64>().ok().filter(|d| !d.is_nan())
}

fn hincrbyfloat(ctx: &mut Ctx<'_>, req: &Request) {
    let Some(delta) = float_arg(req, 3) else {
        ctx.error("ERR value is not a valid float");
        return;
    };
    if delta.is_infinite() {
        ctx.error("ERR value is NaN or Infinity");
        return;
    }
    match ctx.db().hincrbyfloat(arg(req, 1), arg(req, 2), delta) {
        Ok(v) => ctx.bulk(&v),
        Err(e) => ctx.store_error(e),
    }
}

fn hrandfield(ctx: &mut Ctx<'_>, req: &Request) {
    if req.len() == 2 {
        match ctx.db().hrandfield(arg(req, 1)) {
            Ok(f) => ctx.optional_bulk(f.as_deref()),
            Err(e) => ctx.store_error(e),
        }
        return;
    }
    let count = match int_arg(req, 2) {
        None => return ctx.not_integer(),
        Some(i64::MIN) => {
            return ctx.error(
                "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            )
        }
        Some(n) => n,
    };
    if req.len() > 4 || (req.len() == 4 && !is(req, 3, "withvalues")) {
        ctx.syntax_error();
        return;
    }
    let with_values = req.len() == 4;
    if with_values && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        ctx.error("ERR value is out of range");
        return;
    }
    let pairs = match ctx.db().hrandfield_count(arg(req, 1), count) {
        Ok(p) => p,
        Err(e) => return ctx.store_error(e),
    };
    let resp3 = ctx.proto() == Protocol::Resp3;
    if with_values && !resp3 {
        ctx.array(pairs.len() * 2);
    } else {
        ctx.array(pairs.len());
    }
    for (f, v) in pairs {
        if with_values && resp3 {
            ctx.array(2);
        }
        ctx.bulk(&f);
        if with_values {
            ctx.bulk(&v);
        }
    }
}

fn hscan(ctx: &mut Ctx<'_>, req: &Request) {
    let Some(a) = super::keys::collection_scan_args(ctx, req, ValueType::Hash) else {
        return;
    };
    match ctx.db().hscan(arg(req, 1), a.cursor, a.pattern, a.count) {
        Ok((next, pairs)) => {
            ctx.array(2);
            ctx.bulk(next.to_string().as_bytes());
            ctx.array(pairs.len() * 2);
            for (f, v) in pairs {
                ctx.bulk(&f);
                ctx.bulk(&v);
            }
        }
        Err(e) => ctx.store_error(e),
    }
}
