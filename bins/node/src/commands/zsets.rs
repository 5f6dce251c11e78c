//! Sorted set commands: ZADD, ZINCRBY, ZCARD, ZCOUNT, ZLEXCOUNT, ZSCORE,
//! ZMSCORE, ZRANK, ZREVRANK, the ZRANGE family and ZRANGESTORE, ZREM,
//! ZREMRANGEBY*, ZPOPMIN/ZPOPMAX, ZMPOP, ZRANDMEMBER, ZUNION/ZINTER/ZDIFF
//! (and their *STORE forms), ZINTERCARD, ZSCAN.
//!
//! Argument parsing, errors and reply shapes follow Redis 7.0: scores are
//! printed with `%.17g`, as bulk strings in RESP2 and doubles in RESP3;
//! WITHSCORES replies are flat in RESP2 and `[member, score]` pairs in
//! RESP3.

use ferrodis_resp::{Protocol, Request};
use ferrodis_store::{
    format_score, Aggregate, LexBound, ScoreBound, ValueType, ZAddCondition, ZAddOptions, ZRangeBy,
    ZRangeSpec, ZSetOp,
};

use super::flags::*;
use super::{arg, int_arg, is, spec, Ctx, Spec};
use crate::blocking::{self, Retried, Serve};

pub(super) fn specs() -> Vec<Spec> {
    vec![
        spec("zadd", -4, WRITE | DENYOOM | FAST, (1, 1, 1), zadd),
        spec("zincrby", 4, WRITE | DENYOOM | FAST, (1, 1, 1), zincrby),
        spec("zcard", 2, READONLY | FAST, (1, 1, 1), zcard),
        spec("zcount", 4, READONLY | FAST, (1, 1, 1), zcount),
        spec("zlexcount", 4, READONLY | FAST, (1, 1, 1), zlexcount),
        spec("zscore", 3, READONLY | FAST, (1, 1, 1), zscore),
        spec("zmscore", -3, READONLY | FAST, (1, 1, 1), zmscore),
        spec("zrank", 3, READONLY | FAST, (1, 1, 1), zrank),
        spec("zrevrank", 3, READONLY | FAST, (1, 1, 1), zrank),
        spec("zrange", -4, READONLY, (1, 1, 1), zrange),
        spec("zrangestore", -5, WRITE | DENYOOM, (1, 2, 1), zrange),
        spec("zrevrange", -4, READONLY, (1, 1, 1), zrange),
        spec("zrangebyscore", -4, READONLY, (1, 1, 1), zrange),
        spec("zrevrangebyscore", -4, READONLY, (1, 1, 1), zrange),
        spec("zrangebylex", -4, READONLY, (1, 1, 1), zrange),
        spec("zrevrangebylex", -4, READONLY, (1, 1, 1), zrange),
        spec("zrem", -3, WRITE | FAST, (1, 1, 1), zrem),
        spec("zremrangebyrank", 4, WRITE, (1, 1, 1), zremrange),
        spec("zremrangebyscore", 4, WRITE, (1, 1, 1), zremrange),
        spec("zremrangebylex", 4, WRITE, (1, 1, 1), zremrange),
        spec("zpopmin", -2, WRITE | FAST, (1, 1, 1), zpop),
        spec("zpopmax", -2, WRITE | FAST, (1, 1, 1), zpop),
        spec("zmpop", -4, WRITE, (0, 0, 0), zmpop),
        spec(
            "bzpopmin",
            -3,
            WRITE | NOSCRIPT | FAST | BLOCKING,
            (1, -2, 1),
            bzpop,
        ),
        spec(
            "bzpopmax",
            -3,
            WRITE | NOSCRIPT | FAST | BLOCKING,
            (1, -2, 1),
            bzpop,
        ),
        spec("bzmpop", -5, WRITE | BLOCKING, (0, 0, 0), bzmpop),
        spec("zrandmember", -2, READONLY, (1, 1, 1), zrandmember),
        spec("zunion", -3, READONLY, (0, 0, 0), zsetop),
        spec("zinter", -3, READONLY, (0, 0, 0), zsetop),
        spec("zdiff", -3, READONLY, (0, 0, 0), zsetop),
        spec("zunionstore", -4, WRITE | DENYOOM, (1, 1, 1), zsetop),
        spec("zinterstore", -4, WRITE | DENYOOM, (1, 1, 1), zsetop),
        spec("zdiffstore", -4, WRITE | DENYOOM, (1, 1, 1), zsetop),
        spec("zintercard", -3, READONLY, (0, 0, 0), zsetop),
        spec("zscan", -3, READONLY, (1, 1, 1), zscan),
    ]
}

// ----- number parsing -------------------------------------------------------

/// What C's `strtod` makes of the start of `s`: the value, how many bytes it
/// used (0 when it converted nothing) and whether it over- or underflowed
/// (`ERANGE`). Reads decimal and hexadecimal floats, `inf`, `infinity` and
/// `nan` after optional whitespace and sign.
pub(super) fn strtod(s: &[u8]) -> (f64, usize, bool) {
    let ws = s
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
        .count();
    let mut i = ws;
    let negative = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let sign = |v: f64| if negative { -v } else { v };
    let rest = s.get(i..).unwrap_or_default();
    let lower: Vec<u8> = rest.iter().take(8).map(u8::to_ascii_lowercase).collect();
    if lower.starts_with(b"infinity") {
        return (sign(f64::INFINITY), i + 8, false);
    }
    if lower.starts_with(b"inf") {
        return (sign(f64::INFINITY), i + 3, false);
    }
    if lower.starts_with(b"nan") {
        let mut n = i + 3;
        if s.get(n) == Some(&b'(') {
            let body = s
                .get(n + 1..)
                .unwrap_or_default()
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                .count();
            if s.get(n + 1 + body) == Some(&b')') {
                n += body + 2;
            }
        }
        return (f64::NAN, n, false);
    }
    if lower.starts_with(b"0x") {
        if let Some((v, used)) = hex_float(rest.get(2..).unwrap_or_default()) {
            let v = sign(v);
            return (v, i + 2 + used, v.is_infinite());
        }
    }
    // Decimal: digits, optional fraction, optional exponent.
    let digits = |from: usize| {
        s.get(from..)
            .unwrap_or_default()
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let int_digits = digits(i);
    let mut end = i + int_digits;
    let mut frac_digits = 0;
    if s.get(end) == Some(&b'.') {
        frac_digits = digits(end + 1);
        if int_digits + frac_digits > 0 {
            end += 1 + frac_digits;
        }
    }
    if int_digits + frac_digits == 0 {
        return (0.0, 0, false);
    }
    if matches!(s.get(end), Some(b'e' | b'E')) {
        let mut e = end + 1;
        if matches!(s.get(e), Some(b'+' | b'-')) {
            e += 1;
        }
        let n = digits(e);
        if n > 0 {
            end = e + n;
        }
    }
    let text = std::str::from_utf8(s.get(i..end).unwrap_or_default()).unwrap_or("0");
    let v: f64 = text.parse().unwrap_or(0.0);
    let mantissa_nonzero = s
        .get(i..end)
        .unwrap_or_default()
        .iter()
        .take_while(|b| !matches!(b, b'e' | b'E'))
        .any(|b| matches!(b, b'1'..=b'9'));
    let erange = v.is_infinite() || (v == 0.0 && mantissa_nonzero);
    (sign(v), end, erange)
}

/// A hexadecimal float after `0x`: its value and the bytes used, or `None`
/// when no hex digit follows.
fn hex_float(s: &[u8]) -> Option<(f64, usize)> {
    let mut i = 0;
    let mut mantissa = 0f64;
    let mut exp = 0i64;
    let mut any = false;
    while let Some(d) = s.get(i).and_then(|b| (*b as char).to_digit(16)) {
        mantissa = mantissa * 16.0 + f64::from(d);
        any = true;
        i += 1;
    }
    if s.get(i) == Some(&b'.') {
        let mut j = i + 1;
        let mut frac_any = false;
        while let Some(d) = s.get(j).and_then(|b| (*b as char).to_digit(16)) {
            mantissa = mantissa * 16.0 + f64::from(d);
            exp -= 4;
            frac_any = true;
            j += 1;
        }
        if any || frac_any {
            any = true;
            i = j;
        }
    }
    if !any {
        return None;
    }
    if matches!(s.get(i), Some(b'p' | b'P')) {
        let mut e = i + 1;
        let negative = s.get(e) == Some(&b'-');
        if matches!(s.get(e), Some(b'+' | b'-')) {
            e += 1;
        }
        let n = s
            .get(e..)
            .unwrap_or_default()
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if n > 0 {
            let text = std::str::from_utf8(s.get(e..e + n).unwrap_or_default()).unwrap_or("0");
            let p: i64 = text.parse().unwrap_or(i64::MAX / 4).min(100_000);
            exp += if negative { -p } else { p };
            i = e + n;
        }
    }
    let v = mantissa * 2f64.powi(exp.clamp(-100_000, 100_000) as i32);
    Some((v, i))
}

/// A score as Redis' `getDoubleFromObject` reads it (ZADD, ZINCRBY,
/// WEIGHTS): the whole string, no leading space, no overflow, no NaN.
fn parse_score(s: &[u8]) -> Option<f64> {
    match s.first() {
        None => return None,
        Some(b) if b.is_ascii_whitespace() || *b == 0x0b => return None,
        Some(_) => {}
    }
    let (v, used, erange) = strtod(s);
    if used != s.len() || v.is_nan() || (erange && (v.is_infinite() || v == 0.0)) {
        return None;
    }
    Some(v)
}

/// One end of a score range (`1.5`, `(1.5`, `-inf`, `+inf`), as Redis'
/// `zslParseRange` reads it (C string semantics: it stops at a NUL).
fn parse_score_bound(raw: &[u8]) -> Option<ScoreBound> {
    let (exclusive, text) = match raw.split_first() {
        Some((b'(', rest)) => (true, rest),
        _ => (false, raw),
    };
    let text = text.split(|b| *b == 0).next().unwrap_or_default();
    let (v, used, _) = strtod(text);
    if used != text.len() || v.is_nan() {
        return None;
    }
    Some(ScoreBound {
        value: v,
        exclusive,
    })
}

fn parse_score_range(min: &[u8], max: &[u8]) -> Option<(ScoreBound, ScoreBound)> {
    Some((parse_score_bound(min)?, parse_score_bound(max)?))
}

fn parse_lex_range(min: &[u8], max: &[u8]) -> Option<(LexBound, LexBound)> {
    Some((LexBound::parse(min)?, LexBound::parse(max)?))
}

const NOT_FLOAT_RANGE: &str = "ERR min or max is not a float";
const NOT_LEX_RANGE: &str = "ERR min or max not valid string range item";

// ----- replies --------------------------------------------------------------

/// A score: a bulk string in RESP2, a double in RESP3 (`%.17g` both).
fn score_reply(ctx: &mut Ctx<'_>, score: f64) {
    let text = format_score(score);
    match ctx.proto() {
        Protocol::Resp2 => ctx.bulk(text.as_bytes()),
        Protocol::Resp3 => {
            let out = ctx.out();
            out.extend_from_slice(b",");
            out.extend_from_slice(text.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
}

fn optional_score(ctx: &mut Ctx<'_>, score: Option<f64>) {
    match score {
        Some(s) => score_reply(ctx, s),
        None => ctx.null(),
    }
}

/// The array header of `n` elements, with or without scores.
fn elements_header(ctx: &mut Ctx<'_>, n: usize, withscores: bool) {
    if withscores && ctx.proto() == Protocol::Resp2 {
        ctx.array(n * 2);
    } else {
        ctx.array(n);
    }
}

/// One element of such an array.
fn element(ctx: &mut Ctx<'_>, member: &[u8], score: f64, withscores: bool) {
    if withscores && ctx.proto() == Protocol::Resp3 {
        ctx.array(2);
    }
    ctx.bulk(member);
    if withscores {
        score_reply(ctx, score);
    }
}

fn elements<'a>(
    ctx: &mut Ctx<'_>,
    items: impl ExactSizeIterator<Item = (&'a [u8], f64)>,
    withscores: bool,
) {
    elements_header(ctx, items.len(), withscores);
    for (m, s) in items {
        element(ctx, m, s, withscores);
    }
}

// ----- commands -------------------------------------------------------------

fn zadd(ctx: &mut Ctx<'_>, req: &Request) {
    let (mut nx, mut xx, mut gt, mut lt, mut ch, mut incr) =
        (false, false, false, false, false, false);
    let mut i = 2;
    while i < req.len() {
        match &arg(req, i).to_ascii_lowercase()[..] {
            b"nx" => nx = true,
            b"xx" => xx = true,
            b"gt" => gt = true,
            b"lt" => lt = true,
            b"ch" => ch = true,
            b"incr" => incr = true,
            _ => break,
        }
        i += 1;
    }
    let elements = req.len() - i;
    if elements == 0 || elements % 2 != 0 {
        ctx.syntax_error();
        return;
    }
    if nx && xx {
        ctx.error("ERR XX and NX options at the same time are not compatible");
        return;
    }
    if (nx && (gt || lt)) || (gt && lt) {
        ctx.error("ERR GT, LT, and/or NX options at the same time are not compatible");
        return;
    }
    if incr && elements > 2 {
        ctx.error("ERR INCR option supports a single increment-element pair");
        return;
    }
    let mut pairs = Vec::with_capacity(elements / 2);
    for j in (i..req.len()).step_by(2) {
        let Some(score) = parse_score(arg(req, j)) else {
            ctx.error("ERR value is not a valid float");
            return;
        };
        pairs.push((score, arg(req, j + 1)));
    }
    let opts = ZAddOptions {
        condition: if nx {
            ZAddCondition::IfMissing
        } else if xx {
            ZAddCondition::IfExists
        } else {
            ZAddCondition::Always
        },
        gt,
        lt,
        incr,
    };
    match ctx.db().zadd(arg(req, 1), &pairs, opts) {
        Ok(out) if incr => optional_score(ctx, out.score),
        Ok(out) if ch => ctx.uint(out.added + out.updated),
        Ok(out) => ctx.uint(out.added),
        Err(e) => ctx.store_error(e),
    }
}

fn zincrby(ctx: &mut Ctx<'_>, req: &Request) {
    let Some(delta) = parse_score(arg(req, 2)) else {
        ctx.error("ERR value is not a valid float");
        return;
    };
    match ctx.db().zincrby(arg(req, 1), delta, arg(req, 3)) {
        Ok(s) => score_reply(ctx, s),
        Err(e) => ctx.store_error(e),
    }
}

fn zcard(ctx: &mut Ctx<'_>, req: &Request) {
    match ctx.db().zcard(arg(req, 1)) {
        Ok(n) => ctx.uint(n),
        Err(e) => ctx.store_error(e),
    }
}

fn zcount(ctx: &mut Ctx<'_>, req: &Request) {
    let Some((min, max)) = parse_score_range(arg(req, 2), arg(req, 3)) else {
        ctx.error(NOT_FLOAT_RANGE);
        return;
    };
    match ctx.db().zcount(arg(req, 1), min, max) {
        Ok(n) => ctx.uint(n),
        Err(e) => ctx.store_error(e),
    }
}

fn zlexcount(ctx: &mut Ctx<'_>, req: &Request) {
    let Some((min, max)) = parse_lex_range(arg(req, 2), arg(req, 3)) else {
        ctx.error(NOT_LEX_RANGE);
        return;
    };
    match ctx.db().zlexcount(arg(req, 1), &min, &max) {
        Ok(n) => ctx.uint(n),
        Err(e) => ctx.store_error(e),
    }
}

fn zscore(ctx: &mut Ctx<'_>, req: &Request) {
    match ctx.db().zscore(arg(req, 1), arg(req, 2)) {
        Ok(s) => optional_score(ctx, s),
        Err(e) => ctx.store_error(e),
    }
}

fn zmscore(ctx: &mut Ctx<'_>, req: &Request) {
    let members: Vec<&[u8]> = req.args().skip(2).collect();
    match ctx.db().zmscore(arg(req, 1), &members) {
        Ok(scores) => {
            ctx.array(scores.len());
            for s in scores {
                optional_score(ctx, s);
            }
        }
        Err(e) => ctx.store_error(e),
    }
}

fn zrank(ctx: &mut Ctx<'_>, req: &Request) {
    let rev = is(req, 0, "zrevrank");
    match ctx.db().zrank(arg(req, 1), arg(req, 2), rev) {
        Ok(Some(r)) => ctx.uint(r),
        Ok(None) => ctx.null(),
        Err(e) => ctx.store_error(e),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RangeType {
    Auto,
    Rank,
    Score,
    Lex,
}

/// ZRANGE, ZRANGESTORE, ZREVRANGE, Z[REV]RANGEBYSCORE, Z[REV]RANGEBYLEX
/// (Redis' `zrangeGenericCommand`).
fn zrange(ctx: &mut Ctx<'_>, req: &Request) {
    let name = arg(req, 0).to_ascii_lowercase();
    let (mut kind, mut rev) = match &name[..] {
        b"zrevrange" => (RangeType::Rank, Some(true)),
        b"zrangebyscore" => (RangeType::Score, Some(false)),
        b"zrevrangebyscore" => (RangeType::Score, Some(true)),
        b"zrangebylex" => (RangeType::Lex, Some(false)),
        b"zrevrangebylex" => (RangeType::Lex, Some(true)),
        _ => (RangeType::Auto, None),
    };
    let store = name == b"zrangestore";
    let src = if store { 2 } else { 1 };
    let mut withscores = false;
    let mut limit: Option<(i64, i64)> = None;
    let mut j = src + 3;
    while j < req.len() {
        let left = req.len() - j - 1;
        if !store && is(req, j, "withscores") {
            withscores = true;
        } else if is(req, j, "limit") && left >= 2 {
            let (Some(offset), Some(count)) = (int_arg(req, j + 1), int_arg(req, j + 2)) else {
                ctx.not_integer();
                return;
            };
            limit = Some((offset, count));
            j += 2;
        } else if rev.is_none() && is(req, j, "rev") {
            rev = Some(true);
        } else if kind == RangeType::Auto && is(req, j, "bylex") {
            kind = RangeType::Lex;
        } else if kind == RangeType::Auto && is(req, j, "byscore") {
            kind = RangeType::Score;
        } else {
            ctx.syntax_error();
            return;
        }
        j += 1;
    }
    let rev = rev.unwrap_or(false);
    if kind == RangeType::Auto {
        kind = RangeType::Rank;
    }
    // Redis tells "no LIMIT" by a count of -1.
    if kind == RangeType::Rank && limit.is_some_and(|(_, c)| c != -1) {
        ctx.error(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        );
        return;
    }
    if withscores && kind == RangeType::Lex {
        ctx.error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
        return;
    }
    let (mut lo, mut hi) = (arg(req, src + 1), arg(req, src + 2));
    if rev && kind != RangeType::Rank {
        std::mem::swap(&mut lo, &mut hi);
    }
    let by = match kind {
        RangeType::Score => match parse_score_range(lo, hi) {
            Some((min, max)) => ZRangeBy::Score(min, max),
            None => {
                ctx.error(NOT_FLOAT_RANGE);
                return;
            }
        },
        RangeType::Lex => match parse_lex_range(lo, hi) {
            Some((min, max)) => ZRangeBy::Lex(min, max),
            None => {
                ctx.error(NOT_LEX_RANGE);
                return;
            }
        },
        _ => match (ferrodis_resp::parse_i64(lo), ferrodis_resp::parse_i64(hi)) {
            (Some(start), Some(stop)) => ZRangeBy::Rank(start, stop),
            _ => {
                ctx.not_integer();
                return;
            }
        },
    };
    let spec = ZRangeSpec { by, rev, limit };
    let db = ctx.db();
    if store {
        match db.zrange_store(arg(req, 1), arg(req, 2), &spec) {
            Ok(n) => ctx.uint(n),
            Err(e) => ctx.store_error(e),
        }
        return;
    }
    let result = db.zrange_with(arg(req, src), &spec, |items| {
        elements(ctx, items, withscores);
    });
    if let Err(e) = result {
        ctx.store_error(e);
    }
}

fn zrem(ctx: &mut Ctx<'_>, req: &Request) {
    let members: Vec<&[u8]> = req.args().skip(2).collect();
    match ctx.db().zrem(arg(req, 1), &members) {
        Ok(n) => ctx.uint(n),
        Err(e) => ctx.store_error(e),
    }
}

fn zremrange(ctx: &mut Ctx<'_>, req: &Request) {
    let name = arg(req, 0).to_ascii_lowercase();
    let (lo, hi) = (arg(req, 2), arg(req, 3));
    let by = match &name[..] {
        b"zremrangebyscore" => match parse_score_range(lo, hi) {
            Some((min, max)) => ZRangeBy::Score(min, max),
            None => {
                ctx.error(NOT_FLOAT_RANGE);
                return;
            }
        },
        b"zremrangebylex" => match parse_lex_range(lo, hi) {
            Some((min, max)) => ZRangeBy::Lex(min, max),
            None => {
                ctx.error(NOT_LEX_RANGE);
                return;
            }
        },
        _ => match (int_arg(req, 2), int_arg(req, 3)) {
            (Some(start), Some(stop)) => ZRangeBy::Rank(start, stop),
            _ => {
                ctx.not_integer();
                return;
            }
        },
    };
    match ctx.db().zremrange(arg(req, 1), &by) {
        Ok(n) => ctx.uint(n),
        Err(e) => ctx.store_error(e),
    }
}

fn zpop(ctx: &mut Ctx<'_>, req: &Request) {
    let max = is(req, 0, "zpopmax");
    if req.len() > 3 {
        ctx.syntax_error();
        return;
    }
    let count = if req.len() == 3 {
        match int_arg(req, 2) {
            Some(n) if n >= 0 => Some(n as usize),
            _ => {
                ctx.error("ERR value is out of range, must be positive");
                return;
            }
        }
    } else {
        None
    };
    match ctx.db().zpop(arg(req, 1), max, count.unwrap_or(1)) {
        Ok(popped) => {
            // One flat array without COUNT (and always in RESP2), pairs in
            // RESP3 with COUNT.
            let nested = count.is_some() && ctx.proto() == Protocol::Resp3;
            ctx.array(if nested {
                popped.len()
            } else {
                popped.len() * 2
            });
            for (m, s) in &popped {
                if nested {
                    ctx.array(2);
                }
                ctx.bulk(m);
                score_reply(ctx, *s);
            }
        }
        Err(e) => ctx.store_error(e),
    }
}

fn zmpop(ctx: &mut Ctx<'_>, req: &Request) {
    let numkeys = match int_arg(req, 1) {
        Some(n) if n >= 1 => n as usize,
        _ => {
            ctx.error("ERR numkeys should be greater than 0");
            return;
        }
    };
    let Some(where_idx) = numkeys.checked_add(2).filter(|&w| w < req.len()) else {
        ctx.syntax_error();
        return;
    };
    let max = if is(req, where_idx, "min") {
        false
    } else if is(req, where_idx, "max") {
        true
    } else {
        ctx.syntax_error();
        return;
    };
    let mut count: Option<usize> = None;
    let mut j = where_idx + 1;
    while j < req.len() {
        let more = req.len() - 1 - j;
        if count.is_none() && is(req, j, "count") && more > 0 {
            j += 1;
            match int_arg(req, j) {
                Some(n) if n >= 1 => count = Some(n as usize),
                _ => {
                    ctx.error("ERR count should be greater than 0");
                    return;
                }
            }
        } else {
            ctx.syntax_error();
            return;
        }
        j += 1;
    }
    let keys: Vec<&[u8]> = (2..where_idx).map(|i| arg(req, i)).collect();
    match ctx.db().zmpop(&keys, max, count.unwrap_or(1)) {
        Ok(None) => ctx.null_array(),
        Ok(Some((key, popped))) => {
            ctx.array(2);
            ctx.bulk(&key);
            ctx.array(popped.len());
            for (m, s) in &popped {
                ctx.array(2);
                ctx.bulk(m);
                score_reply(ctx, *s);
            }
        }
        Err(e) => ctx.store_error(e),
    }
}

fn zrandmember(ctx: &mut Ctx<'_>, req: &Request) {
    if req.len() < 3 {
        match ctx.db().zrandmember(arg(req, 1)) {
            Ok(m) => ctx.optional_bulk(m.as_deref()),
            Err(e) => ctx.store_error(e),
        }
        return;
    }
    let count = match int_arg(req, 2) {
        Some(n) if n != i64::MIN => n,
        Some(_) => {
            ctx.error(
                "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            );
            return;
        }
        None => {
            ctx.not_integer();
            return;
        }
    };
    if req.len() > 4 || (req.len() == 4 && !is(req, 3, "withscores")) {
        ctx.syntax_error();
        return;
    }
    let withscores = req.len() == 4;
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        ctx.error("ERR value is out of range");
        return;
    }
    let db = ctx.db();
    let mut started = false;
    let result = db.zrandmember_with(arg(req, 1), count, |i, total, m, s| {
        if i == 0 {
            started = true;
            elements_header(ctx, total, withscores);
        }
        element(ctx, m, s, withscores);
    });
    match result {
        Ok(()) if !started => ctx.array(0),
        Ok(()) => {}
        Err(e) => ctx.store_error(e),
    }
}

/// ZUNION, ZINTER, ZDIFF, their *STORE forms and ZINTERCARD (Redis'
/// `zunionInterDiffGenericCommand`).
fn zsetop(ctx: &mut Ctx<'_>, req: &Request) {
    let name = arg(req, 0).to_ascii_lowercase();
    let name = String::from_utf8_lossy(&name).into_owned();
    let store = name.ends_with("store");
    let card_only = name == "zintercard";
    let op = if name.starts_with("zunion") {
        ZSetOp::Union
    } else if name.starts_with("zinter") {
        ZSetOp::Inter
    } else {
        ZSetOp::Diff
    };
    let numkeys_idx = if store { 2 } else { 1 };
    let Some(setnum) = int_arg(req, numkeys_idx) else {
        ctx.not_integer();
        return;
    };
    if setnum < 1 {
        ctx.error(&format!(
            "ERR at least 1 input key is needed for '{name}' command"
        ));
        return;
    }
    let first = numkeys_idx + 1;
    if setnum > (req.len() - first) as i64 {
        ctx.syntax_error();
        return;
    }
    let setnum = setnum as usize;
    let keys: Vec<&[u8]> = (first..first + setnum).map(|i| arg(req, i)).collect();
    let mut weights: Option<Vec<f64>> = None;
    let mut agg = Aggregate::Sum;
    let mut withscores = false;
    let mut limit = 0usize;
    let mut j = first + setnum;
    let mut failure: Option<String> = None;
    while j < req.len() {
        let remaining = req.len() - j;
        if op != ZSetOp::Diff && !card_only && remaining > setnum && is(req, j, "weights") {
            let mut w = Vec::with_capacity(setnum);
            for k in 0..setnum {
                match parse_score(arg(req, j + 1 + k)) {
                    Some(v) => w.push(v),
                    None => {
                        failure = Some("ERR weight value is not a float".into());
                        break;
                    }
                }
            }
            weights = Some(w);
            j += 1 + setnum;
        } else if op != ZSetOp::Diff && !card_only && remaining >= 2 && is(req, j, "aggregate") {
            agg = match &arg(req, j + 1).to_ascii_lowercase()[..] {
                b"sum" => Aggregate::Sum,
                b"min" => Aggregate::Min,
                b"max" => Aggregate::Max,
                _ => {
                    failure = Some("ERR syntax error".into());
                    break;
                }
            };
            j += 2;
        } else if !store && !card_only && is(req, j, "withscores") {
            withscores = true;
            j += 1;
        } else if card_only && remaining >= 2 && is(req, j, "limit") {
            match int_arg(req, j + 1) {
                Some(n) if n >= 0 => limit = n as usize,
                _ => {
                    failure = Some("ERR LIMIT can't be negative".into());
                    break;
                }
            }
            j += 2;
        } else {
            failure = Some("ERR syntax error".into());
            break;
        }
        if failure.is_some() {
            break;
        }
    }
    let db = ctx.db();
    if let Some(text) = failure {
        // Redis checks the keys' types before it reads the options.
        let wrong = keys.iter().any(|k| {
            db.value_type(k)
                .is_some_and(|t| t != ValueType::ZSet && t != ValueType::Set)
        });
        if wrong {
            ctx.error("WRONGTYPE Operation against a key holding the wrong kind of value");
        } else {
            ctx.error(&text);
        }
        return;
    }
    let weights = weights.as_deref();
    if card_only {
        match db.zintercard(&keys, limit) {
            Ok(n) => ctx.uint(n),
            Err(e) => ctx.store_error(e),
        }
    } else if store {
        match db.zset_op_store(arg(req, 1), op, &keys, weights, agg) {
            Ok(n) => ctx.uint(n),
            Err(e) => ctx.store_error(e),
        }
    } else {
        match db.zset_op(op, &keys, weights, agg) {
            Ok(items) => elements(
                ctx,
                items.iter().map(|(m, s)| (m.as_slice(), *s)),
                withscores,
            ),
            Err(e) => ctx.store_error(e),
        }
    }
}

fn zscan(ctx: &mut Ctx<'_>, req: &Request) {
    let Some(a) = super::keys::collection_scan_args(ctx, req, ValueType::ZSet) else {
        return;
    };
    match ctx.db().zscan(arg(req, 1), a.cursor, a.pattern, a.count) {
        Ok(page) => {
            ctx.array(2);
            ctx.bulk(page.cursor.to_string().as_bytes());
            ctx.array(page.items.len() * 2);
            for (m, s) in &page.items {
                ctx.bulk(m);
                ctx.bulk(s);
            }
        }
        Err(e) => ctx.store_error(e),
    }
}

/// A key and the members popped from it, with their scores.
type PoppedFrom = (Vec<u8>, Vec<(Vec<u8>, f64)>);

/// Writes a score into a blocked client's reply, in its protocol.
fn serve_score(s: &mut Serve<'_>, score: f64) {
    let text = format_score(score);
    match s.proto() {
        Protocol::Resp2 => s.bulk(text.as_bytes()),
        Protocol::Resp3 => {
            let out = s.out();
            out.extend_from_slice(b",");
            out.extend_from_slice(text.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// Pops from the first of `keys` holding a sorted set. The first attempt
/// fails on a key of another type, as ZMPOP does; retries skip such keys
/// (Redis serves a waiter only from a key of the type it waits for).
fn pop_first(s: &mut Serve<'_>, keys: &[&[u8]], max: bool, count: usize) -> Option<PoppedFrom> {
    let db = s.db()?;
    for key in keys {
        match db.value_type(key) {
            None => continue,
            Some(ferrodis_store::ValueType::ZSet) => {}
            Some(_) if s.first => {
                s.error("WRONGTYPE Operation against a key holding the wrong kind of value");
                return None;
            }
            Some(_) => continue,
        }
        match db.zmpop(&[key], max, count) {
            Ok(Some((k, popped))) => {
                s.touched(&k);
                let pop: &[u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
                s.propagated(vec![
                    pop.to_vec(),
                    k.to_vec(),
                    popped.len().to_string().into_bytes(),
                ]);
                return Some((
                    k,
                    popped.into_iter().map(|(m, sc)| (m.to_vec(), sc)).collect(),
                ));
            }
            Ok(None) => continue,
            Err(e) => {
                s.error(&e.to_string());
                return None;
            }
        }
    }
    None
}

/// BZPOPMIN / BZPOPMAX's serving step: `[key, member, score]`.
fn retry_bzpop(s: &mut Serve<'_>, req: &Request) -> Retried {
    let max = is(req, 0, "bzpopmax");
    let keys: Vec<&[u8]> = (1..req.len() - 1).map(|i| arg(req, i)).collect();
    match pop_first(s, &keys, max, 1) {
        Some((key, popped)) => {
            let Some((member, score)) = popped.first() else {
                return Retried::NotReady;
            };
            s.array(3);
            s.bulk(&key);
            s.bulk(member);
            serve_score(s, *score);
            Retried::Served
        }
        None if s.failed => Retried::Served,
        None => Retried::NotReady,
    }
}

fn bzpop(ctx: &mut Ctx<'_>, req: &Request) {
    let Ok(deadline) = blocking::parse_timeout(ctx, arg(req, req.len() - 1)) else {
        return;
    };
    let keys = (1..req.len() - 1).map(|i| arg(req, i).to_vec()).collect();
    serve_or_block(ctx, req, keys, deadline, retry_bzpop);
}

/// Parses `BZMPOP timeout numkeys key ... MIN|MAX [COUNT n]` into (keys,
/// max, count); writes the error and returns `None` when malformed.
fn parse_bzmpop(req: &Request) -> Result<(std::ops::Range<usize>, bool, usize), &'static str> {
    let numkeys = match int_arg(req, 2) {
        Some(n) if n >= 1 => n as usize,
        _ => return Err("ERR numkeys should be greater than 0"),
    };
    let where_idx = numkeys
        .checked_add(3)
        .filter(|&w| w < req.len())
        .ok_or("ERR syntax error")?;
    let max = if is(req, where_idx, "min") {
        false
    } else if is(req, where_idx, "max") {
        true
    } else {
        return Err("ERR syntax error");
    };
    let mut count = 1;
    match req.len() - where_idx - 1 {
        0 => {}
        2 if is(req, where_idx + 1, "count") => match int_arg(req, where_idx + 2) {
            Some(n) if n >= 1 => count = n as usize,
            _ => return Err("ERR count should be greater than 0"),
        },
        _ => return Err("ERR syntax error"),
    }
    Ok((3..where_idx, max, count))
}

/// BZMPOP's serving step: `[key, [[member, score], ...]]`.
fn retry_bzmpop(s: &mut Serve<'_>, req: &Request) -> Retried {
    let Ok((range, max, count)) = parse_bzmpop(req) else {
        return Retried::NotReady;
    };
    let keys: Vec<&[u8]> = range.map(|i| arg(req, i)).collect();
    match pop_first(s, &keys, max, count) {
        Some((key, popped)) => {
            s.array(2);
            s.bulk(&key);
            s.array(popped.len());
            for (m, sc) in &popped {
                s.array(2);
                s.bulk(m);
                serve_score(s, *sc);
            }
            Retried::Served
        }
        None if s.failed => Retried::Served,
        None => Retried::NotReady,
    }
}

fn bzmpop(ctx: &mut Ctx<'_>, req: &Request) {
    let Ok(deadline) = blocking::parse_timeout(ctx, arg(req, 1)) else {
        return;
    };
    let range = match parse_bzmpop(req) {
        Ok((range, _, _)) => range,
        Err(e) => return ctx.error(e),
    };
    let keys = range.map(|i| arg(req, i).to_vec()).collect();
    serve_or_block(ctx, req, keys, deadline, retry_bzmpop);
}

/// Serves now if possible, answers a null array inside a transaction,
/// blocks otherwise.
fn serve_or_block(
    ctx: &mut Ctx<'_>,
    req: &Request,
    keys: Vec<Vec<u8>>,
    deadline: Option<u64>,
    retry: blocking::Retry,
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
        ctx.null_array();
        return;
    }
    blocking::block(ctx, req, keys, deadline, retry);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_parse_like_string2d() {
        assert_eq!(parse_score(b"1.5"), Some(1.5));
        assert_eq!(parse_score(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score(b"+Infinity"), Some(f64::INFINITY));
        assert_eq!(parse_score(b"0x10"), Some(16.0));
        assert_eq!(parse_score(b"1e3"), Some(1000.0));
        assert_eq!(parse_score(b".5"), Some(0.5));
        assert_eq!(parse_score(b"5."), Some(5.0));
        assert_eq!(parse_score(b"4.9e-324"), Some(5e-324));
        for bad in [
            &b""[..],
            b" 1",
            b"1 ",
            b"nan",
            b"NaN",
            b"1e400",
            b"1e-400",
            b"abc",
            b"1e",
            b".",
            b"1\x002",
            b"--1",
        ] {
            assert_eq!(parse_score(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn range_bounds_parse_like_zslparserange() {
        let b = |s: &[u8]| parse_score_bound(s).map(|b| (b.value, b.exclusive));
        assert_eq!(b(b"(1.5"), Some((1.5, true)));
        assert_eq!(b(b"-inf"), Some((f64::NEG_INFINITY, false)));
        assert_eq!(b(b"+inf"), Some((f64::INFINITY, false)));
        assert_eq!(b(b""), Some((0.0, false)));
        assert_eq!(b(b"("), Some((0.0, true)));
        assert_eq!(b(b" 1"), Some((1.0, false)));
        assert_eq!(b(b"1e400"), Some((f64::INFINITY, false)));
        assert_eq!(b(b"1\x00junk"), Some((1.0, false)));
        assert_eq!(b(b"1 "), None);
        assert_eq!(b(b" "), None);
        assert_eq!(b(b"nan"), None);
        assert_eq!(b(b"str"), None);
        assert_eq!(b(b"[1"), None);
    }
}
