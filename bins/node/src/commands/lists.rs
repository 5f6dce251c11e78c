//! List commands: LPUSH, RPUSH, LPUSHX, RPUSHX, LINSERT, LPOP, RPOP, LLEN,
//! LINDEX, LSET, LRANGE, LTRIM, LPOS, LREM, RPOPLPUSH, LMOVE, LMPOP, and the
//! blocking BLPOP, BRPOP, BRPOPLPUSH, BLMOVE, BLMPOP (see `crate::blocking`).

use ferrodis_resp::{reply, Request};
use ferrodis_store::{ListEnd, StoreError, ValueType};

use super::flags::*;
use super::{arg, int_arg, is, spec, Ctx, Spec};
use crate::blocking::{self, Retried, Serve};

pub(super) fn specs() -> Vec<Spec> {
    vec![
        spec("lpush", -3, WRITE | DENYOOM | FAST, (1, 1, 1), push),
        spec("rpush", -3, WRITE | DENYOOM | FAST, (1, 1, 1), push),
        spec("lpushx", -3, WRITE | DENYOOM | FAST, (1, 1, 1), push),
        spec("rpushx", -3, WRITE | DENYOOM | FAST, (1, 1, 1), push),
        spec("linsert", 5, WRITE | DENYOOM, (1, 1, 1), linsert),
        spec("lpop", -2, WRITE | FAST, (1, 1, 1), pop),
        spec("rpop", -2, WRITE | FAST, (1, 1, 1), pop),
        spec("llen", 2, READONLY | FAST, (1, 1, 1), llen),
        spec("lindex", 3, READONLY, (1, 1, 1), lindex),
        spec("lset", 4, WRITE | DENYOOM, (1, 1, 1), lset),
        spec("lrange", 4, READONLY, (1, 1, 1), lrange),
        spec("ltrim", 4, WRITE, (1, 1, 1), ltrim),
        spec("lpos", -3, READONLY, (1, 1, 1), lpos),
        spec("lrem", 4, WRITE, (1, 1, 1), lrem),
        spec("rpoplpush", 3, WRITE | DENYOOM, (1, 2, 1), lmove),
        spec("lmove", 5, WRITE | DENYOOM, (1, 2, 1), lmove),
        spec("lmpop", -4, WRITE, (0, 0, 0), lmpop),
        spec("blpop", -3, WRITE | NOSCRIPT | BLOCKING, (1, -2, 1), bpop),
        spec("brpop", -3, WRITE | NOSCRIPT | BLOCKING, (1, -2, 1), bpop),
        spec(
            "brpoplpush",
            4,
            WRITE | DENYOOM | NOSCRIPT | BLOCKING,
            (1, 2, 1),
            blmove,
        ),
        spec(
            "blmove",
            6,
            WRITE | DENYOOM | NOSCRIPT | BLOCKING,
            (1, 2, 1),
            blmove,
        ),
        spec("blmpop", -5, WRITE | BLOCKING, (0, 0, 0), blmpop),
    ]
}

/// The end a command name starts with: `l...` is the head.
fn end_of(req: &Request, skip: usize) -> ListEnd {
    match arg(req, 0).get(skip) {
        Some(b'l' | b'L') => ListEnd::Left,
        _ => ListEnd::Right,
    }
}

fn push(ctx: &mut Ctx<'_>, req: &Request) {
    let xx = arg(req, 0).len() == 6;
    let elements: Vec<&[u8]> = req.args().skip(2).collect();
    match ctx
        .db()
        .list_push(arg(req, 1), end_of(req, 0), &elements, xx)
    {
        Ok(n) => ctx.uint(n),
        Err(e) => ctx.store_error(e),
    }
}

fn linsert(ctx: &mut Ctx<'_>, req: &Request) {
    let after = if is(req, 2, "after") {
        true
    } else if is(req, 2, "before") {
        false
    } else {
        ctx.syntax_error();
        return;
    };
    match ctx
        .db()
        .list_insert(arg(req, 1), after, arg(req, 3), arg(req, 4))
    {
        Ok(n) => ctx.int(n),
        Err(e) => ctx.store_error(e),
    }
}

/// Parses a count that must be at least 0, with Redis' message for a bad
/// one (`getPositiveLongFromObjectOrReply`).
fn positive(ctx: &mut Ctx<'_>, req: &Request, i: usize, msg: &str) -> Option<usize> {
    match int_arg(req, i) {
        Some(n) if n >= 0 => Some(usize::try_from(n).unwrap_or(usize::MAX)),
        _ => {
            ctx.error(msg);
            None
        }
    }
}

/// Parses a count that must be at least 1 (`getRangeLongFromObjectOrReply`
/// with a message).
fn at_least_one(ctx: &mut Ctx<'_>, req: &Request, i: usize, msg: &str) -> Option<usize> {
    match int_arg(req, i) {
        Some(n) if n >= 1 => Some(usize::try_from(n).unwrap_or(usize::MAX)),
        _ => {
            ctx.error(msg);
            None
        }
    }
}

fn pop(ctx: &mut Ctx<'_>, req: &Request) {
    if req.len() > 3 {
        let name = String::from_utf8_lossy(arg(req, 0)).to_ascii_lowercase();
        ctx.error(&format!(
            "ERR wrong number of arguments for '{name}' command"
        ));
        return;
    }
    let count = if req.len() == 3 {
        match positive(ctx, req, 2, "ERR value is out of range, must be positive") {
            Some(n) => Some(n),
            None => return,
        }
    } else {
        None
    };
    match ctx.db().list_pop(arg(req, 1), end_of(req, 0), count) {
        Ok(None) if count.is_some() => ctx.null_array(),
        Ok(None) => ctx.null(),
        Ok(Some(values)) => match count {
            None => ctx.optional_bulk(values.first().map(Vec::as_slice)),
            Some(_) => ctx.bulks(values.iter().map(Vec::as_slice)),
        },
        Err(e) => ctx.store_error(e),
    }
}

fn llen(ctx: &mut Ctx<'_>, req: &Request) {
    match ctx.db().list_len(arg(req, 1)) {
        Ok(n) => ctx.uint(n),
        Err(e) => ctx.store_error(e),
    }
}

/// Redis looks the key up before parsing the index of LINDEX/LSET: a
/// missing or mistyped key wins over a bad index. Replies for a bad index.
fn bad_index(ctx: &mut Ctx<'_>, req: &Request, missing: Option<StoreError>) {
    match ctx.db().value_type(arg(req, 1)) {
        None => match missing {
            Some(e) => ctx.store_error(e),
            None => ctx.null(),
        },
        Some(ValueType::List) => ctx.not_integer(),
        Some(_) => ctx.store_error(StoreError::WrongType),
    }
}

fn lindex(ctx: &mut Ctx<'_>, req: &Request) {
    let Some(index) = int_arg(req, 2) else {
        bad_index(ctx, req, None);
        return;
    };
    match ctx.db().list_index(arg(req, 1), index) {
        Ok(v) => ctx.optional_bulk(v.as_deref()),
        Err(e) => ctx.store_error(e),
    }
}

fn lset(ctx: &mut Ctx<'_>, req: &Request) {
    let Some(index) = int_arg(req, 2) else {
        bad_index(ctx, req, Some(StoreError::NoSuchKey));
        return;
    };
    match ctx.db().list_set(arg(req, 1), index, arg(req, 3)) {
        Ok(()) => ctx.ok(),
        Err(e) => ctx.store_error(e),
    }
}

fn range_args(ctx: &mut Ctx<'_>, req: &Request) -> Option<(i64, i64)> {
    match (int_arg(req, 2), int_arg(req, 3)) {
        (Some(a), Some(b)) => Some((a, b)),
        _ => {
            ctx.not_integer();
            None
        }
    }
}

fn lrange(ctx: &mut Ctx<'_>, req: &Request) {
    let Some((start, stop)) = range_args(ctx, req) else {
        return;
    };
    let db = ctx.db();
    let out = &mut ctx.client.wbuf;
    let done = db.list_range_with(arg(req, 1), start, stop, |items| {
        reply::array_len(out, items.len());
        for v in items {
            reply::bulk(out, v);
        }
    });
    match done {
        Ok(Some(())) => {}
        Ok(None) => ctx.array(0),
        Err(e) => ctx.store_error(e),
    }
}

fn ltrim(ctx: &mut Ctx<'_>, req: &Request) {
    let Some((start, stop)) = range_args(ctx, req) else {
        return;
    };
    match ctx.db().list_trim(arg(req, 1), start, stop) {
        Ok(()) => ctx.ok(),
        Err(e) => ctx.store_error(e),
    }
}

fn lpos(ctx: &mut Ctx<'_>, req: &Request) {
    let mut rank = 1i64;
    let mut count: Option<usize> = None;
    let mut maxlen = 0usize;
    let mut i = 3;
    while i < req.len() {
        let more = i + 1 < req.len();
        if is(req, i, "rank") && more {
            let Some(r) = int_arg(req, i + 1) else {
                ctx.not_integer();
                return;
            };
            if r == 0 {
                ctx.error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list");
                return;
            }
            rank = r;
        } else if is(req, i, "count") && more {
            let Some(c) = positive(ctx, req, i + 1, "ERR COUNT can't be negative") else {
                return;
            };
            count = Some(c);
        } else if is(req, i, "maxlen") && more {
            let Some(m) = positive(ctx, req, i + 1, "ERR MAXLEN can't be negative") else {
                return;
            };
            maxlen = m;
        } else {
            ctx.syntax_error();
            return;
        }
        i += 2;
    }
    match ctx
        .db()
        .list_pos(arg(req, 1), arg(req, 2), rank, count.unwrap_or(1), maxlen)
    {
        Ok(found) => match count {
            Some(_) => {
                ctx.array(found.len());
                for i in found {
                    ctx.uint(i);
                }
            }
            None => match found.first() {
                Some(&i) => ctx.uint(i),
                None => ctx.null(),
            },
        },
        Err(e) => ctx.store_error(e),
    }
}

fn lrem(ctx: &mut Ctx<'_>, req: &Request) {
    let Some(count) = int_arg(req, 2) else {
        ctx.not_integer();
        return;
    };
    match ctx.db().list_remove(arg(req, 1), count, arg(req, 3)) {
        Ok(n) => ctx.uint(n),
        Err(e) => ctx.store_error(e),
    }
}

/// The `LEFT|RIGHT` pair of LMOVE/BLMOVE; RPOPLPUSH/BRPOPLPUSH move from
/// the right to the left.
fn directions(req: &Request) -> Option<(ListEnd, ListEnd)> {
    if matches!(req.len(), 3 | 4) {
        return Some((ListEnd::Right, ListEnd::Left));
    }
    Some((ListEnd::parse(arg(req, 3))?, ListEnd::parse(arg(req, 4))?))
}

fn lmove(ctx: &mut Ctx<'_>, req: &Request) {
    let Some((from, to)) = directions(req) else {
        ctx.syntax_error();
        return;
    };
    match ctx.db().list_move(arg(req, 1), arg(req, 2), from, to) {
        Ok(v) => ctx.optional_bulk(v.as_deref()),
        Err(e) => ctx.store_error(e),
    }
}

/// The parsed arguments of LMPOP/BLMPOP: where the keys are, the end and
/// the count (`None`: one element, BLPOP's reply shape).
struct MPop {
    keys: std::ops::Range<usize>,
    end: ListEnd,
    count: Option<usize>,
}

/// Parses `numkeys key [key ...] LEFT|RIGHT [COUNT count]` starting at
/// argument `at`, replying Redis' errors.
fn parse_mpop(ctx: &mut Ctx<'_>, req: &Request, at: usize) -> Option<MPop> {
    let numkeys = at_least_one(ctx, req, at, "ERR numkeys should be greater than 0")?;
    let where_at = numkeys.checked_add(at + 1).filter(|w| *w < req.len());
    let Some(where_at) = where_at else {
        ctx.syntax_error();
        return None;
    };
    let Some(end) = ListEnd::parse(arg(req, where_at)) else {
        ctx.syntax_error();
        return None;
    };
    let mut count = None;
    let mut i = where_at + 1;
    while i < req.len() {
        if count.is_none() && is(req, i, "count") && i + 1 < req.len() {
            count = Some(at_least_one(
                ctx,
                req,
                i + 1,
                "ERR count should be greater than 0",
            )?);
            i += 2;
        } else {
            ctx.syntax_error();
            return None;
        }
    }
    Some(MPop {
        keys: at + 1..where_at,
        end,
        count: Some(count.unwrap_or(1)),
    })
}

/// Where BLMPOP's arguments are, for retries (already validated).
fn mpop_of(req: &Request) -> Option<MPop> {
    if is(req, 0, "blpop") || is(req, 0, "brpop") {
        return Some(MPop {
            keys: 1..req.len() - 1,
            end: end_of(req, 1),
            count: None,
        });
    }
    let numkeys = usize::try_from(int_arg(req, 2)?).ok()?;
    let where_at = numkeys.checked_add(3)?;
    let count = if req.len() > where_at + 2 {
        usize::try_from(int_arg(req, where_at + 2)?).ok()?
    } else {
        1
    };
    Some(MPop {
        keys: 3..where_at,
        end: ListEnd::parse(arg(req, where_at))?,
        count: Some(count),
    })
}

fn lmpop(ctx: &mut Ctx<'_>, req: &Request) {
    let Some(m) = parse_mpop(ctx, req, 1) else {
        return;
    };
    let keys: Vec<&[u8]> = m.keys.map(|i| arg(req, i)).collect();
    match ctx.db().list_mpop(&keys, m.end, m.count.unwrap_or(1)) {
        Ok(None) => ctx.null_array(),
        Ok(Some((key, values))) => {
            ctx.array(2);
            ctx.bulk(&key);
            ctx.bulks(values.iter().map(Vec::as_slice));
        }
        Err(e) => ctx.store_error(e),
    }
}

/// BLPOP, BRPOP and BLMPOP's serving step: pop from the first non-empty
/// list among the keys.
fn retry_pop(s: &mut Serve<'_>, req: &Request) -> Retried {
    let (Some(m), Some(db)) = (mpop_of(req), s.db()) else {
        return Retried::NotReady;
    };
    let keys: Vec<&[u8]> = m.keys.map(|i| arg(req, i)).collect();
    let n = m.count.unwrap_or(1);
    let popped = if s.first {
        match db.list_mpop(&keys, m.end, n) {
            Ok(p) => p,
            Err(e) => {
                s.error(&e.to_string());
                return Retried::Served;
            }
        }
    } else {
        db.list_mpop_ready(&keys, m.end, n)
    };
    let Some((key, values)) = popped else {
        return Retried::NotReady;
    };
    let pop: &[u8] = if m.end == ListEnd::Left {
        b"LPOP"
    } else {
        b"RPOP"
    };
    s.propagated(vec![
        pop.to_vec(),
        key.to_vec(),
        values.len().to_string().into_bytes(),
    ]);
    s.array(2);
    s.bulk(&key);
    match m.count {
        None => s.bulk(values.first().map_or(&[][..], Vec::as_slice)),
        Some(_) => {
            s.array(values.len());
            for v in &values {
                s.bulk(v);
            }
        }
    }
    Retried::Served
}

/// Runs a blocking command: serves it now if possible, answers `empty`
/// inside a transaction, blocks otherwise.
fn serve_or_block(
    ctx: &mut Ctx<'_>,
    req: &Request,
    keys: Vec<Vec<u8>>,
    deadline: Option<u64>,
    retry: blocking::Retry,
    empty: fn(&mut Ctx<'_>),
) {
    let mut first = Serve::first(ctx);
    let served = retry(&mut first, req);
    let propagate = std::mem::take(&mut first.propagate);
    if first.failed {
        ctx.client.command_failed = true;
    }
    if served == Retried::Served {
        ctx.client.propagate_as = Some(propagate);
        return;
    }
    if ctx.client.block.deny {
        empty(ctx);
        return;
    }
    blocking::block(ctx, req, keys, deadline, retry);
}

fn bpop(ctx: &mut Ctx<'_>, req: &Request) {
    let Ok(deadline) = blocking::parse_timeout(ctx, arg(req, req.len() - 1)) else {
        return;
    };
    let keys = (1..req.len() - 1).map(|i| arg(req, i).to_vec()).collect();
    serve_or_block(ctx, req, keys, deadline, retry_pop, |c| c.null_array());
}

fn blmpop(ctx: &mut Ctx<'_>, req: &Request) {
    let Some(m) = parse_mpop(ctx, req, 2) else {
        return;
    };
    let Ok(deadline) = blocking::parse_timeout(ctx, arg(req, 1)) else {
        return;
    };
    let keys = m.keys.map(|i| arg(req, i).to_vec()).collect();
    serve_or_block(ctx, req, keys, deadline, retry_pop, |c| c.null_array());
}

/// BLMOVE and BRPOPLPUSH's serving step.
fn retry_move(s: &mut Serve<'_>, req: &Request) -> Retried {
    let (Some((from, to)), Some(db)) = (directions(req), s.db()) else {
        return Retried::NotReady;
    };
    let (src, dst) = (arg(req, 1), arg(req, 2));
    let moved = if s.first {
        db.list_move(src, dst, from, to)
    } else {
        db.list_move_ready(src, dst, from, to)
    };
    match moved {
        Ok(None) => Retried::NotReady,
        Ok(Some(v)) => {
            s.touched(dst);
            let word = |e: ListEnd| -> Vec<u8> {
                if e == ListEnd::Left {
                    b"LEFT".to_vec()
                } else {
                    b"RIGHT".to_vec()
                }
            };
            s.propagated(vec![
                b"LMOVE".to_vec(),
                src.to_vec(),
                dst.to_vec(),
                word(from),
                word(to),
            ]);
            s.bulk(&v);
            Retried::Served
        }
        Err(e) => {
            s.error(&e.to_string());
            Retried::Served
        }
    }
}

fn blmove(ctx: &mut Ctx<'_>, req: &Request) {
    let Some(_) = directions(req) else {
        ctx.syntax_error();
        return;
    };
    let Ok(deadline) = blocking::parse_timeout(ctx, arg(req, req.len() - 1)) else {
        return;
    };
    let keys = vec![arg(req, 1).to_vec()];
    serve_or_block(ctx, req, keys, deadline, retry_move, |c| c.null());
}
