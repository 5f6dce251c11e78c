//! Bit commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD,
//! BITFIELD_RO; and LCS.
//!
//! Arguments are checked in Redis' order. Where Redis looks the key up
//! before parsing the rest (BITCOUNT, BITPOS, LCS), a parse error is only
//! reported when the key exists and holds a string.

use std::sync::atomic::Ordering;

use ferrodis_resp::Request;
use ferrodis_store::{
    BitOp, BitRange, BitUnit, BitfieldOp, BitfieldOverflow, BitfieldType, LcsQuery, StoreError,
    ValueType,
};

use super::flags::*;
use super::{arg, int_arg, is, spec, Ctx, Spec};

pub(super) fn specs() -> Vec<Spec> {
    vec![
        spec("setbit", 4, WRITE | DENYOOM, (1, 1, 1), setbit),
        spec("getbit", 3, READONLY | FAST, (1, 1, 1), getbit),
        spec("bitcount", -2, READONLY, (1, 1, 1), bitcount),
        spec("bitpos", -3, READONLY, (1, 1, 1), bitpos),
        spec("bitop", -4, WRITE | DENYOOM, (2, -1, 1), bitop),
        spec("bitfield", -2, WRITE | DENYOOM, (1, 1, 1), bitfield),
        spec("bitfield_ro", -2, READONLY | FAST, (1, 1, 1), bitfield_ro),
        spec("lcs", -3, READONLY, (1, 2, 1), lcs),
    ]
}

const BAD_OFFSET: &str = "ERR bit offset is not an integer or out of range";
const BAD_BIT: &str = "ERR bit is not an integer or out of range";
const BAD_TYPE: &str =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
const SYNTAX: &str = "ERR syntax error";

/// Parses a bit offset; with `hash_bits`, `#n` means `n` fields of that
/// width (BITFIELD). Offsets whose byte is beyond `proto-max-bulk-len`
/// are refused.
fn bit_offset(ctx: &Ctx<'_>, text: &[u8], hash_bits: Option<u8>) -> Result<u64, &'static str> {
    let (digits, mul) = match (text.strip_prefix(b"#"), hash_bits) {
        (Some(rest), Some(bits)) => (rest, i64::from(bits)),
        _ => (text, 1),
    };
    let n = ferrodis_resp::parse_i64(digits)
        .ok_or(BAD_OFFSET)?
        .wrapping_mul(mul);
    let max = ctx
        .shared
        .store
        .settings()
        .proto_max_bulk_len
        .load(Ordering::Relaxed) as u64;
    if n < 0 || (n as u64 >> 3) >= max {
        return Err(BAD_OFFSET);
    }
    Ok(n as u64)
}

/// Replies to a parse error of a command that looks its key up first:
/// the missing key's answer, WRONGTYPE, or the error.
fn late_error(ctx: &mut Ctx<'_>, key: &[u8], err: &str, missing: i64) {
    match ctx.db().value_type(key) {
        None => ctx.int(missing),
        Some(ValueType::String) => ctx.error(err),
        Some(_) => ctx.store_error(StoreError::WrongType),
    }
}

fn setbit(ctx: &mut Ctx<'_>, req: &Request) {
    let offset = match bit_offset(ctx, arg(req, 2), None) {
        Ok(o) => o,
        Err(e) => return ctx.error(e),
    };
    let on = match int_arg(req, 3) {
        Some(0) => false,
        Some(1) => true,
        _ => return ctx.error(BAD_BIT),
    };
    match ctx.db().set_bit(arg(req, 1), offset, on) {
        Ok(old) => ctx.int(i64::from(old)),
        Err(e) => ctx.store_error(e),
    }
}

fn getbit(ctx: &mut Ctx<'_>, req: &Request) {
    let offset = match bit_offset(ctx, arg(req, 2), None) {
        Ok(o) => o,
        Err(e) => return ctx.error(e),
    };
    match ctx.db().get_bit(arg(req, 1), offset) {
        Ok(bit) => ctx.int(i64::from(bit)),
        Err(e) => ctx.store_error(e),
    }
}

fn unit(req: &Request, i: usize) -> Result<BitUnit, &'static str> {
    if is(req, i, "bit") {
        Ok(BitUnit::Bit)
    } else if is(req, i, "byte") {
        Ok(BitUnit::Byte)
    } else {
        Err(SYNTAX)
    }
}

fn bitcount_range(req: &Request) -> Result<Option<BitRange>, &'static str> {
    match req.len() {
        2 => Ok(None),
        4 | 5 => {
            let start = int_arg(req, 2).ok_or(NOT_INTEGER)?;
            let end = int_arg(req, 3).ok_or(NOT_INTEGER)?;
            // Redis answers 0 for crossed negative offsets before it reads
            // the unit.
            let crossed = start < 0 && end < 0 && start > end;
            let unit = if req.len() == 5 && !crossed {
                unit(req, 4)?
            } else {
                BitUnit::Byte
            };
            Ok(Some(BitRange {
                start,
                end: Some(end),
                unit,
            }))
        }
        _ => Err(SYNTAX),
    }
}

fn bitcount(ctx: &mut Ctx<'_>, req: &Request) {
    let key = arg(req, 1);
    let range = match bitcount_range(req) {
        Ok(r) => r,
        Err(e) => return late_error(ctx, key, e, 0),
    };
    match ctx.db().bit_count(key, range) {
        Ok(n) => ctx.int(i64::try_from(n).unwrap_or(i64::MAX)),
        Err(e) => ctx.store_error(e),
    }
}

fn bitpos_range(req: &Request) -> Result<Option<BitRange>, &'static str> {
    match req.len() {
        3 => Ok(None),
        4..=6 => {
            let start = int_arg(req, 3).ok_or(NOT_INTEGER)?;
            let unit = if req.len() == 6 {
                unit(req, 5)?
            } else {
                BitUnit::Byte
            };
            let end = if req.len() >= 5 {
                Some(int_arg(req, 4).ok_or(NOT_INTEGER)?)
            } else {
                None
            };
            Ok(Some(BitRange { start, end, unit }))
        }
        _ => Err(SYNTAX),
    }
}

fn bitpos(ctx: &mut Ctx<'_>, req: &Request) {
    let bit = match int_arg(req, 2) {
        Some(0) => false,
        Some(1) => true,
        Some(_) => return ctx.error("ERR The bit argument must be 1 or 0."),
        None => return ctx.not_integer(),
    };
    let key = arg(req, 1);
    let range = match bitpos_range(req) {
        Ok(r) => r,
        Err(e) => return late_error(ctx, key, e, if bit { -1 } else { 0 }),
    };
    match ctx.db().bit_pos(key, bit, range) {
        Ok(n) => ctx.int(n),
        Err(e) => ctx.store_error(e),
    }
}

fn bitop(ctx: &mut Ctx<'_>, req: &Request) {
    let op = if is(req, 1, "and") {
        BitOp::And
    } else if is(req, 1, "or") {
        BitOp::Or
    } else if is(req, 1, "xor") {
        BitOp::Xor
    } else if is(req, 1, "not") {
        BitOp::Not
    } else {
        return ctx.syntax_error();
    };
    if op == BitOp::Not && req.len() != 4 {
        return ctx.error("ERR BITOP NOT must be called with a single source key.");
    }
    let sources: Vec<&[u8]> = req.args().skip(3).collect();
    match ctx.db().bit_op(op, arg(req, 2), &sources) {
        Ok(n) => ctx.uint(n),
        Err(e) => ctx.store_error(e),
    }
}

/// Parses BITFIELD's subcommands, in Redis' order of checks.
fn bitfield_ops(ctx: &Ctx<'_>, req: &Request) -> Result<Vec<BitfieldOp>, &'static str> {
    let mut ops = Vec::new();
    let mut overflow = BitfieldOverflow::Wrap;
    let mut j = 2;
    while j < req.len() {
        let remaining = req.len() - j - 1;
        let (write, get) = if is(req, j, "get") && remaining >= 2 {
            (false, true)
        } else if (is(req, j, "set") || is(req, j, "incrby")) && remaining >= 3 {
            (true, false)
        } else if is(req, j, "overflow") && remaining >= 1 {
            overflow = if is(req, j + 1, "wrap") {
                BitfieldOverflow::Wrap
            } else if is(req, j + 1, "sat") {
                BitfieldOverflow::Sat
            } else if is(req, j + 1, "fail") {
                BitfieldOverflow::Fail
            } else {
                return Err("ERR Invalid OVERFLOW type specified");
            };
            j += 2;
            continue;
        } else {
            return Err(SYNTAX);
        };
        let ty = BitfieldType::parse(arg(req, j + 1)).ok_or(BAD_TYPE)?;
        let offset = bit_offset(ctx, arg(req, j + 2), Some(ty.bits()))?;
        let op = if get {
            BitfieldOp::Get { ty, offset }
        } else {
            let n = int_arg(req, j + 3).ok_or(NOT_INTEGER)?;
            if is(req, j, "set") {
                BitfieldOp::Set {
                    ty,
                    offset,
                    value: n,
                    overflow,
                }
            } else {
                BitfieldOp::IncrBy {
                    ty,
                    offset,
                    increment: n,
                    overflow,
                }
            }
        };
        ops.push(op);
        j += if write { 4 } else { 3 };
    }
    Ok(ops)
}

fn bitfield_generic(ctx: &mut Ctx<'_>, req: &Request, read_only: bool) {
    let ops = match bitfield_ops(ctx, req) {
        Ok(ops) => ops,
        Err(e) => return ctx.error(e),
    };
    if read_only && ops.iter().any(BitfieldOp::is_write) {
        return ctx.error("ERR BITFIELD_RO only supports the GET subcommand");
    }
    match ctx.db().bit_field(arg(req, 1), &ops) {
        Ok(replies) => {
            ctx.array(replies.len());
            for r in replies {
                match r {
                    Some(n) => ctx.int(n),
                    None => ctx.null(),
                }
            }
        }
        Err(e) => ctx.store_error(e),
    }
}

fn bitfield(ctx: &mut Ctx<'_>, req: &Request) {
    bitfield_generic(ctx, req, false);
}

fn bitfield_ro(ctx: &mut Ctx<'_>, req: &Request) {
    bitfield_generic(ctx, req, true);
}

/// LCS's options: the query and WITHMATCHLEN.
fn lcs_options(req: &Request) -> Result<(LcsQuery, bool), &'static str> {
    let (mut len, mut idx, mut with_len) = (false, false, false);
    let mut min_match_len = 0i64;
    let mut j = 3;
    while j < req.len() {
        if is(req, j, "idx") {
            idx = true;
        } else if is(req, j, "len") {
            len = true;
        } else if is(req, j, "withmatchlen") {
            with_len = true;
        } else if is(req, j, "minmatchlen") && j + 1 < req.len() {
            min_match_len = int_arg(req, j + 1).ok_or(NOT_INTEGER)?.max(0);
            j += 1;
        } else {
            return Err(SYNTAX);
        }
        j += 1;
    }
    if len && idx {
        return Err("ERR If you want both the length and indexes, please just use IDX.");
    }
    let query = if idx {
        LcsQuery::Idx {
            min_match_len: min_match_len as u64,
        }
    } else if len {
        LcsQuery::Len
    } else {
        LcsQuery::String
    };
    Ok((query, with_len))
}

fn lcs(ctx: &mut Ctx<'_>, req: &Request) {
    const NOT_STRINGS: &str = "ERR The specified keys must contain string values";
    let (a, b) = (arg(req, 1), arg(req, 2));
    let (query, with_len) = match lcs_options(req) {
        Ok(o) => o,
        Err(e) => {
            let db = ctx.db();
            let strings = [a, b]
                .iter()
                .all(|k| matches!(db.value_type(k), None | Some(ValueType::String)));
            return ctx.error(if strings { e } else { NOT_STRINGS });
        }
    };
    let result = match ctx.db().lcs(a, b, query) {
        Ok(r) => r,
        Err(StoreError::WrongType) => return ctx.error(NOT_STRINGS),
        Err(StoreError::StringTooLong) => {
            return ctx.error(
                "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
            )
        }
        Err(StoreError::OutOfMemory) => {
            return ctx.error("ERR Insufficient memory, failed allocating transient memory for LCS")
        }
        Err(e) => return ctx.store_error(e),
    };
    match query {
        LcsQuery::String => ctx.bulk(result.string.as_deref().unwrap_or_default()),
        LcsQuery::Len => ctx.uint(result.len),
        LcsQuery::Idx { .. } => {
            ctx.map(2);
            ctx.bulk(b"matches");
            ctx.array(result.matches.len());
            for m in &result.matches {
                ctx.array(if with_len { 3 } else { 2 });
                for (s, e) in [m.a, m.b] {
                    ctx.array(2);
                    ctx.uint(s);
                    ctx.uint(e);
                }
                if with_len {
                    ctx.uint(m.len);
                }
            }
            ctx.bulk(b"len");
            ctx.uint(result.len);
        }
    }
}
