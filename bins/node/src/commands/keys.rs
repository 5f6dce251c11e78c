//! Generic key commands: DEL, UNLINK, EXISTS, TOUCH, TYPE, the EXPIRE
//! family, TTL/PTTL/EXPIRETIME/PEXPIRETIME, PERSIST, RENAME(NX), KEYS,
//! SCAN, RANDOMKEY, COPY, MOVE, OBJECT.

use ferrodis_resp::Request;
use ferrodis_store::{ExpireCondition, Ttl, ValueType};

use super::flags::*;
use super::{arg, int_arg, is, spec, Ctx, Spec};

pub(super) fn specs() -> Vec<Spec> {
    vec![
        spec("del", -2, WRITE, (1, -1, 1), del),
        spec("unlink", -2, WRITE | FAST, (1, -1, 1), del),
        spec("exists", -2, READONLY | FAST, (1, -1, 1), exists),
        spec("touch", -2, READONLY | FAST, (1, -1, 1), touch),
        spec("type", 2, READONLY | FAST, (1, 1, 1), type_cmd),
        spec("expire", -3, WRITE | FAST, (1, 1, 1), expire),
        spec("pexpire", -3, WRITE | FAST, (1, 1, 1), expire),
        spec("expireat", -3, WRITE | FAST, (1, 1, 1), expire),
        spec("pexpireat", -3, WRITE | FAST, (1, 1, 1), expire),
        spec("ttl", 2, READONLY | FAST, (1, 1, 1), ttl),
        spec("pttl", 2, READONLY | FAST, (1, 1, 1), ttl),
        spec("expiretime", 2, READONLY | FAST, (1, 1, 1), ttl),
        spec("pexpiretime", 2, READONLY | FAST, (1, 1, 1), ttl),
        spec("persist", 2, WRITE | FAST, (1, 1, 1), persist),
        spec("rename", 3, WRITE, (1, 2, 1), rename),
        spec("renamenx", 3, WRITE | FAST, (1, 2, 1), rename),
        spec("keys", 2, READONLY, (0, 0, 0), keys),
        spec("scan", -2, READONLY, (0, 0, 0), scan),
        spec("randomkey", 1, READONLY, (0, 0, 0), randomkey),
        spec("copy", -3, WRITE | DENYOOM, (1, 2, 1), copy),
        spec("move", 3, WRITE | FAST, (1, 1, 1), move_cmd),
        spec("object", -2, READONLY, (2, 2, 1), object),
    ]
}

fn keys_of(req: &Request) -> Vec<&[u8]> {
    req.args().skip(1).collect()
}

fn del(ctx: &mut Ctx<'_>, req: &Request) {
    let n = ctx.db().del(&keys_of(req));
    ctx.uint(n);
}

fn exists(ctx: &mut Ctx<'_>, req: &Request) {
    let n = ctx.db().exists(&keys_of(req));
    ctx.uint(n);
}

fn touch(ctx: &mut Ctx<'_>, req: &Request) {
    let n = ctx.db().touch(&keys_of(req));
    ctx.uint(n);
}

fn type_cmd(ctx: &mut Ctx<'_>, req: &Request) {
    let t = ctx.db().value_type(arg(req, 1));
    ctx.simple(t.map_or("none", ValueType::name));
}

fn expire(ctx: &mut Ctx<'_>, req: &Request) {
    let name = arg(req, 0).to_ascii_lowercase();
    let name = String::from_utf8_lossy(&name).into_owned();
    let Some(n) = int_arg(req, 2) else {
        ctx.not_integer();
        return;
    };
    let mut cond = ExpireCondition::Always;
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for opt in req.args().skip(3) {
        match &opt.to_ascii_lowercase()[..] {
            b"nx" => nx = true,
            b"xx" => xx = true,
            b"gt" => gt = true,
            b"lt" => lt = true,
            _ => {
                ctx.error(&format!(
                    "ERR Unsupported option {}",
                    String::from_utf8_lossy(opt)
                ));
                return;
            }
        }
    }
    if nx && (xx || gt || lt) {
        ctx.error("ERR NX and XX, GT or LT options at the same time are not compatible");
        return;
    }
    if gt && lt {
        ctx.error("ERR GT and LT options at the same time are not compatible");
        return;
    }
    if nx {
        cond = ExpireCondition::IfNone;
    } else if xx {
        cond = ExpireCondition::IfSome;
    }
    if gt {
        cond = ExpireCondition::IfGreater;
    } else if lt {
        cond = ExpireCondition::IfLess;
    }
    let db = ctx.db();
    let (unit_ms, relative) = match name.as_str() {
        "expire" => (1000, true),
        "pexpire" => (1, true),
        "expireat" => (1000, false),
        _ => (1, false),
    };
    let base = if relative { db.now_ms() as i64 } else { 0 };
    let at = n.checked_mul(unit_ms).and_then(|ms| ms.checked_add(base));
    let Some(at) = at else {
        ctx.error(&format!("ERR invalid expire time in '{name}' command"));
        return;
    };
    // XX with GT/LT: GT/LT already require a TTL for GT; XX adds it for LT.
    let set = if xx && lt {
        db.ttl(arg(req, 1)) != Ttl::Persistent && db.expire_at(arg(req, 1), at.max(0) as u64, cond)
    } else {
        db.expire_at(arg(req, 1), at.max(0) as u64, cond)
    };
    ctx.int(i64::from(set));
}

fn ttl(ctx: &mut Ctx<'_>, req: &Request) {
    let name = arg(req, 0).to_ascii_lowercase();
    let db = ctx.db();
    let now = db.now_ms();
    let reply = match db.ttl(arg(req, 1)) {
        Ttl::Missing => -2,
        Ttl::Persistent => -1,
        Ttl::ExpiresAt(at) => {
            let left = at.saturating_sub(now) as i64;
            match &name[..] {
                b"ttl" => (left + 500) / 1000,
                b"pttl" => left,
                b"expiretime" => (at / 1000) as i64,
                _ => at as i64,
            }
        }
    };
    ctx.int(reply);
}

fn persist(ctx: &mut Ctx<'_>, req: &Request) {
    let done = ctx.db().persist(arg(req, 1));
    ctx.int(i64::from(done));
}

fn rename(ctx: &mut Ctx<'_>, req: &Request) {
    let nx = is(req, 0, "renamenx");
    match ctx.db().rename(arg(req, 1), arg(req, 2), nx) {
        Ok(done) if nx => ctx.int(i64::from(done)),
        Ok(_) => ctx.ok(),
        Err(e) => ctx.store_error(e),
    }
}

fn keys(ctx: &mut Ctx<'_>, req: &Request) {
    let keys = ctx.db().keys_matching(arg(req, 1));
    ctx.bulks(keys.iter().map(Vec::as_slice));
}

/// Parses `cursor [MATCH p] [COUNT n] [TYPE t]` from argument `at`.
pub(crate) struct ScanArgs<'a> {
    pub(crate) cursor: u64,
    pub(crate) pattern: Option<&'a [u8]>,
    pub(crate) count: usize,
    pub(crate) type_filter: Option<Option<ValueType>>,
}

/// The start of HSCAN, SSCAN and ZSCAN, as Redis orders it: an invalid
/// cursor is an error, a missing key answers an empty scan before the
/// options are read, a key of another type is WRONGTYPE. Then the options.
/// `None` when a reply was already written.
pub(crate) fn collection_scan_args<'a>(
    ctx: &mut Ctx<'_>,
    req: &'a Request,
    expected: ValueType,
) -> Option<ScanArgs<'a>> {
    let cursor = std::str::from_utf8(arg(req, 2))
        .ok()
        .and_then(|s| s.parse::<u64>().ok());
    if cursor.is_none() {
        ctx.error("ERR invalid cursor");
        return None;
    }
    match ctx.db().value_type(arg(req, 1)) {
        None => {
            ctx.array(2);
            ctx.bulk(b"0");
            ctx.array(0);
            return None;
        }
        Some(t) if t == expected => {}
        Some(_) => {
            ctx.store_error(ferrodis_store::StoreError::WrongType);
            return None;
        }
    }
    parse_scan(ctx, req, 2, false)
}

pub(crate) fn parse_scan<'a>(
    ctx: &mut Ctx<'_>,
    req: &'a Request,
    at: usize,
    allow_type: bool,
) -> Option<ScanArgs<'a>> {
    let cursor = std::str::from_utf8(arg(req, at))
        .ok()
        .and_then(|s| s.parse::<u64>().ok());
    let Some(cursor) = cursor else {
        ctx.error("ERR invalid cursor");
        return None;
    };
    let mut out = ScanArgs {
        cursor,
        pattern: None,
        count: 10,
        type_filter: None,
    };
    let mut i = at + 1;
    while i < req.len() {
        if i + 1 >= req.len() {
            ctx.syntax_error();
            return None;
        }
        if is(req, i, "match") {
            let p = arg(req, i + 1);
            out.pattern = (p != b"*").then_some(p);
        } else if is(req, i, "count") {
            match int_arg(req, i + 1) {
                Some(n) if n >= 1 => out.count = n as usize,
                Some(_) => {
                    ctx.syntax_error();
                    return None;
                }
                None => {
                    ctx.not_integer();
                    return None;
                }
            }
        } else if allow_type && is(req, i, "type") {
            out.type_filter = Some(ValueType::from_name(arg(req, i + 1)));
        } else {
            ctx.syntax_error();
            return None;
        }
        i += 2;
    }
    Some(out)
}

fn scan(ctx: &mut Ctx<'_>, req: &Request) {
    let Some(a) = parse_scan(ctx, req, 1, true) else {
        return;
    };
    let (next, keys) = match a.type_filter {
        // An unknown type name matches nothing.
        Some(None) => (0, Vec::new()),
        Some(t) => ctx.db().scan(a.cursor, a.pattern, a.count, t),
        None => ctx.db().scan(a.cursor, a.pattern, a.count, None),
    };
    ctx.array(2);
    ctx.bulk(next.to_string().as_bytes());
    ctx.bulks(keys.iter().map(Vec::as_slice));
}

fn randomkey(ctx: &mut Ctx<'_>, _req: &Request) {
    let k = ctx.db().random_key();
    ctx.optional_bulk(k.as_deref());
}

fn copy(ctx: &mut Ctx<'_>, req: &Request) {
    let mut dst_db = ctx.client.db;
    let mut replace = false;
    let mut i = 3;
    while i < req.len() {
        if is(req, i, "replace") {
            replace = true;
            i += 1;
        } else if is(req, i, "db") && i + 1 < req.len() {
            match int_arg(req, i + 1).and_then(|n| usize::try_from(n).ok()) {
                Some(n) if n < ctx.shared.store.databases() => dst_db = n,
                Some(_) => {
                    ctx.error("ERR DB index is out of range");
                    return;
                }
                None => {
                    ctx.not_integer();
                    return;
                }
            }
            i += 2;
        } else {
            ctx.syntax_error();
            return;
        }
    }
    let db = ctx.db();
    let target = match ctx.shared.store.db_at(dst_db, db.now_ms()) {
        Ok(t) => t,
        Err(e) => return ctx.store_error(e),
    };
    match db.copy_to(arg(req, 1), &target, arg(req, 2), replace) {
        Ok(done) => ctx.int(i64::from(done)),
        Err(e) => ctx.store_error(e),
    }
}

fn move_cmd(ctx: &mut Ctx<'_>, req: &Request) {
    if ctx.shared.config.read().cluster_enabled() {
        ctx.error("ERR MOVE is not allowed in cluster mode");
        return;
    }
    let Some(dst) = int_arg(req, 2) else {
        ctx.not_integer();
        return;
    };
    let db = ctx.db();
    let target = match usize::try_from(dst)
        .ok()
        .map(|d| ctx.shared.store.db_at(d, db.now_ms()))
    {
        Some(Ok(t)) => t,
        _ => return ctx.error("ERR DB index is out of range"),
    };
    match db.move_to(arg(req, 1), &target) {
        Ok(done) => ctx.int(i64::from(done)),
        Err(e) => ctx.store_error(e),
    }
}

fn object(ctx: &mut Ctx<'_>, req: &Request) {
    let sub = arg(req, 1).to_ascii_lowercase();
    if sub == b"help" && req.len() == 2 {
        let lines = [
            "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
            "HELP",
            "    Print this help.",
        ];
        ctx.array(lines.len());
        for l in lines {
            ctx.simple(l);
        }
        return;
    }
    if req.len() != 3 || !matches!(&sub[..], b"encoding" | b"idletime" | b"freq" | b"refcount") {
        ctx.error(&format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try OBJECT HELP.",
            String::from_utf8_lossy(arg(req, 1))
        ));
        return;
    }
    let Some(info) = ctx.db().object(arg(req, 2)) else {
        ctx.null();
        return;
    };
    let lfu = ctx.shared.store.settings().maxmemory_policy().is_lfu();
    match &sub[..] {
        b"encoding" => ctx.bulk(info.encoding.as_bytes()),
        b"idletime" if lfu => ctx.error("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."),
        b"idletime" => ctx.int(info.idle_seconds as i64),
        // Redis' OBJ_SHARED_REFCOUNT for its shared integers.
        b"refcount" if info.shared_integer => ctx.int(i64::from(i32::MAX)),
        b"refcount" => ctx.int(1),
        b"freq" if lfu => ctx.int(i64::from(info.freq)),
        _ => ctx.error("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."),
    }
}
