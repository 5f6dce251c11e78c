//! DEBUG: the subcommands of redis-server 7.0's that mean something
//! without persistence, as its test suite uses them.
//!
//! Implemented: HELP, OBJECT, DIGEST, DIGEST-VALUE, SLEEP,
//! SET-ACTIVE-EXPIRE, QUICKLIST-PACKED-THRESHOLD,
//! SET-SKIP-CHECKSUM-VALIDATION, POPULATE, PROTOCOL, LOG, LEAK, ERROR,
//! STRUCTSIZE, SDSLEN, LISTPACK, QUICKLIST, CHANGE-REPL-ID,
//! STRINGMATCH-TEST, SET-DISABLE-DENY-SCRIPTS, PAUSE-CRON, REPLYBUFFER,
//! and the crashes (SEGFAULT, PANIC, ASSERT abort the process; RESTART and
//! CRASH-AND-RECOVER answer that the restart failed, as Redis does when it
//! cannot). RELOAD, LOADAOF and AOF-FLUSH-SLEEP are persistence's
//! (`commands/persist.rs`); the others (MALLCTL, HTSTATS, CLUSTERLINK, ...)
//! are answered as unknown.
//!
//! Where Redis prints internal facts (a value's address, a list's
//! quicklist nodes, SDS allocation sizes), Ferrodis prints values of the
//! same form computed from what it stores: the address is stable for a key
//! (and shared by a shared integer), the quicklist figures are those of a
//! quicklist built by pushing the elements, sizes are what Redis would
//! allocate for the lengths involved.

use std::sync::atomic::Ordering;

use ferrodis_resp::{reply, Protocol, Request};
use ferrodis_store::{EncodeOptions, RdbValue};

use super::flags::*;
use super::subcommands::help_reply;
use super::{arg, int_arg, spec, Ctx, Spec};
use crate::digest;

pub(super) fn specs() -> Vec<Spec> {
    vec![spec(
        "debug",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        debug,
    )]
}

/// `DEBUG HELP`, as a redis-server built without jemalloc prints it
/// (no MALLCTL).
const HELP: &[&str] = &[
    "AOF-FLUSH-SLEEP <microsec>",
    "    Server will sleep before flushing the AOF, this is used for testing.",
    "ASSERT",
    "    Crash by assertion failed.",
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "CONFIG-REWRITE-FORCE-ALL",
    "    Like CONFIG REWRITE but writes all configuration options, including",
    "    keywords not listed in original configuration file or default values.",
    "CRASH-AND-RECOVER [<milliseconds>]",
    "    Hard crash and restart after a <milliseconds> delay (default 0).",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LEAK <string>",
    "    Create a memory leak of the input string.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "HTSTATS <dbid>",
    "    Return hash table statistics of the specified Redis database.",
    "HTSTATS-KEY <key>",
    "    Like HTSTATS but for the hash table stored at <key>'s value.",
    "LOADAOF",
    "    Flush the AOF buffers on disk and reload the AOF in memory.",
    "REPLICATE <string>",
    "    Replicates the provided string to replicas, allowing data divergence.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "DROP-CLUSTER-PACKET-FILTER <packet-type>",
    "    Drop all packets that match the filtered type. Set to -1 allow all packets.",
    "OOM",
    "    Crash the server simulating an out-of-memory error.",
    "PANIC",
    "    Crash the server simulating a panic.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
    "    * MERGE: conflicting keys will be loaded from RDB.",
    "    * NOFLUSH: the existing database will not be removed before load, but",
    "      conflicting keys will generate an exception and kill the server.",
    "    * NOSAVE: the database will be loaded from an existing RDB file.",
    "    Examples:",
    "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
    "      the database.",
    "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
    "      existing RDB file.",
    "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
    "      file to the database.",
    "RESTART [<milliseconds>]",
    "    Graceful restart: save config, db, restart after a <milliseconds> delay (default 0).",
    "SDSLEN <key>",
    "    Show low level SDS string info representing `key` and value.",
    "SEGFAULT",
    "    Crash the server with sigsegv.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    Sets the threshold for elements to be inserted as plain vs packed nodes",
    "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
    "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
    "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "STRINGMATCH-TEST",
    "    Run a fuzz tester against the stringmatchlen() function.",
    "STRUCTSIZE",
    "    Return the size of different Redis core C structures.",
    "LISTPACK <key>",
    "    Show low level info about the listpack encoding of <key>.",
    "QUICKLIST <key> [<0|1>]",
    "    Show low level info about the quicklist encoding of <key>.",
    "    The optional argument (0 by default) sets the level of detail",
    "CLIENT-EVICTION",
    "    Show low level client eviction pools info (maxmemory-clients).",
    "PAUSE-CRON <0|1>",
    "    Stop periodic cron job processing.",
    "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
    "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
    "    In case NEVER is provided the last observed peak will never be reset",
    "    In case RESET is provided the peak reset time will be restored to the default value",
    "REPLYBUFFER RESIZING <0|1>",
    "    Enable or disable the reply buffer resize cron job",
    "CLUSTERLINK KILL <to|from|all> <node-id>",
    "    Kills the link based on the direction to/from (both) with the provided node.",
];

/// The quicklist packed threshold's default and ceiling (Redis'
/// `packed_threshold`, `quicklistisSetPackedThreshold`).
pub(crate) const PACKED_THRESHOLD_DEFAULT: u64 = 1 << 30;
const PACKED_THRESHOLD_MAX: u64 = (1 << 32) - (1 << 20);

/// How many random pattern/string pairs STRINGMATCH-TEST tries (Redis
/// tries ten million; a worker thread should not stall that long).
const STRINGMATCH_CYCLES: usize = 100_000;

fn debug(ctx: &mut Ctx<'_>, req: &Request) {
    // RELOAD, LOADAOF and AOF-FLUSH-SLEEP belong to persistence.
    if super::persist::debug(ctx, req) {
        return;
    }
    let sub = arg(req, 1).to_ascii_lowercase();
    let argc = req.len();
    match (&sub[..], argc) {
        (b"help", 2) => help_reply(ctx, "DEBUG", HELP),
        (b"segfault" | b"panic" | b"assert", _) => crash(&sub),
        (b"restart" | b"crash-and-recover", _) => {
            if argc >= 3 && int_arg(req, 2).is_none() {
                return ctx.not_integer();
            }
            ctx.error("ERR failed to restart the server. Check server logs.");
        }
        (b"log", 3) => {
            crate::log::warning(&format!(
                "DEBUG LOG: {}",
                String::from_utf8_lossy(arg(req, 2))
            ));
            ctx.ok();
        }
        (b"leak", 3) => {
            // What was asked for: memory that is never freed.
            std::mem::forget(arg(req, 2).to_vec());
            ctx.ok();
        }
        (b"object", 3) => object(ctx, req),
        (b"sdslen", 3) => sdslen(ctx, req),
        (b"listpack", 3) | (b"quicklist", 3 | 4) => structure(ctx, req, &sub),
        (b"populate", 3..=5) => populate(ctx, req),
        (b"digest", 2) => {
            let d = dataset_digest(ctx);
            ctx.simple(&digest::hex(&d));
        }
        (b"digest-value", _) => {
            let db = ctx.db();
            ctx.array(argc - 2);
            for key in req.args().skip(2) {
                let value = db.peek(key);
                let d = digest::value_digest(value.as_ref().map(|(o, e)| (o, e.is_some())));
                ctx.simple(&digest::hex(&d));
            }
        }
        (b"protocol", 3) => protocol(ctx, req),
        (b"sleep", 3) => {
            let secs = strtod(arg(req, 2));
            if secs.is_finite() && secs > 0.0 {
                std::thread::sleep(std::time::Duration::from_micros((secs * 1e6) as u64));
            }
            ctx.ok();
        }
        (b"set-active-expire", 3) => {
            let on = atoi(arg(req, 2)) != 0;
            ctx.shared.debug.active_expire.store(on, Ordering::Relaxed);
            ctx.ok();
        }
        (b"quicklist-packed-threshold", 3) => match memtoull(arg(req, 2)) {
            Some(n) if n <= PACKED_THRESHOLD_MAX => {
                let n = if n == 0 { PACKED_THRESHOLD_DEFAULT } else { n };
                ctx.shared
                    .debug
                    .quicklist_packed_threshold
                    .store(n, Ordering::Relaxed);
                ctx.ok();
            }
            _ => {
                ctx.error("ERR argument must be a memory value bigger than 1 and smaller than 4gb")
            }
        },
        (b"set-skip-checksum-validation", 3) => {
            let on = atoi(arg(req, 2)) != 0;
            ctx.shared
                .debug
                .skip_checksum_validation
                .store(on, Ordering::Relaxed);
            ctx.ok();
        }
        (b"error", 3) => {
            let text: Vec<u8> = arg(req, 2)
                .iter()
                .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
                .collect();
            // Not counted as an error of this server: Redis writes the
            // bytes as they are.
            ctx.out().extend_from_slice(b"-");
            ctx.out().extend_from_slice(&text);
            ctx.out().extend_from_slice(b"\r\n");
        }
        (b"structsize", 2) => ctx.bulk(
            b"bits:64 robj:16 dictentry:24 sdshdr5:1 sdshdr8:3 sdshdr16:5 sdshdr32:9 sdshdr64:17 ",
        ),
        (b"change-repl-id", 2) => {
            crate::log::warning("Changing replication IDs after receiving DEBUG change-repl-id");
            ctx.ok();
        }
        (b"stringmatch-test", 2) => {
            stringmatch_test();
            ctx.simple("Apparently Redis did not crash: test passed");
        }
        (b"set-disable-deny-scripts", 3) => ctx.ok(),
        (b"pause-cron", 3) => {
            let on = atoi(arg(req, 2)) != 0;
            ctx.shared.debug.pause_cron.store(on, Ordering::Relaxed);
            ctx.ok();
        }
        (b"replybuffer", 4) => {
            // Ferrodis' reply buffers are not resized by a cron: the
            // settings are checked and accepted.
            let what = arg(req, 2).to_ascii_lowercase();
            let value = arg(req, 3).to_ascii_lowercase();
            match &what[..] {
                b"peak-reset-time" if value == b"never" || value == b"reset" => ctx.ok(),
                b"peak-reset-time" if int_arg(req, 3).is_some() => ctx.ok(),
                b"peak-reset-time" => ctx.not_integer(),
                b"resizing" => ctx.ok(),
                _ => unknown(ctx, req),
            }
        }
        _ => unknown(ctx, req),
    }
}

fn unknown(ctx: &mut Ctx<'_>, req: &Request) {
    let shown: String = String::from_utf8_lossy(arg(req, 1))
        .chars()
        .take(128)
        .collect();
    ctx.error(&format!(
        "ERR unknown subcommand or wrong number of arguments for '{shown}'. Try DEBUG HELP."
    ));
}

/// SEGFAULT, PANIC, ASSERT: the server stops at once, logging why, as a
/// crash would.
fn crash(which: &[u8]) -> ! {
    crate::log::warning(&format!(
        "=== FERRODIS BUG REPORT START ===\nDEBUG {} called at Unix time {}",
        String::from_utf8_lossy(which).to_ascii_uppercase(),
        crate::shared::unix_ms() / 1000
    ));
    std::process::abort()
}

/// C's `atoi`: optional blanks and sign, then digits; 0 when none.
fn atoi(s: &[u8]) -> i64 {
    let s = s.trim_ascii_start();
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, s),
    };
    let n = digits
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0i64, |n, &d| {
            n.saturating_mul(10).saturating_add(i64::from(d - b'0'))
        });
    if neg {
        -n
    } else {
        n
    }
}

/// C's `strtod` on the longest prefix that is a number; 0 when none.
fn strtod(s: &[u8]) -> f64 {
    let text = String::from_utf8_lossy(s);
    let text = text.trim_start();
    (1..=text.len())
        .rev()
        .filter(|&n| text.is_char_boundary(n))
        .find_map(|n| text[..n].parse::<f64>().ok())
        .unwrap_or(0.0)
}

/// Redis' `memtoull`: digits with an optional unit (`b`, `k`, `kb`, `m`,
/// `mb`, `g`, `gb`, any case); `None` when malformed or too large.
fn memtoull(s: &[u8]) -> Option<u64> {
    let split = s
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let mul: u64 = match &unit.to_ascii_lowercase()[..] {
        b"" | b"b" => 1,
        b"k" => 1000,
        b"kb" => 1024,
        b"m" => 1000 * 1000,
        b"mb" => 1024 * 1024,
        b"g" => 1000 * 1000 * 1000,
        b"gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    let n: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    n.checked_mul(mul)
}

/// Redis' LRU clock: Unix seconds in 24 bits.
fn lru_clock() -> u64 {
    (crate::shared::unix_ms() / 1000) & ((1 << 24) - 1)
}

/// A stable stand-in for a value's address: the same for a key's value
/// across in-place updates, and for every key sharing an integer object.
fn address(db: usize, key: &[u8], shared_integer: Option<&[u8]>) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    match shared_integer {
        Some(n) => n.hash(&mut h),
        None => (db, key).hash(&mut h),
    }
    format!("0x7f{:010x}", h.finish() & 0xff_ffff_fff0)
}

/// The options DUMP and the RDB writer encode values with.
fn encode_options(ctx: &Ctx<'_>) -> EncodeOptions {
    let cfg = ctx.shared.config.read();
    EncodeOptions {
        compression: cfg.get_bool("rdbcompression").unwrap_or(true),
        list_max_listpack_size: cfg.get_i64("list-max-listpack-size").unwrap_or(-2),
    }
}

/// DEBUG OBJECT key.
fn object(ctx: &mut Ctx<'_>, req: &Request) {
    let key = arg(req, 2);
    let db = ctx.db();
    let (Some(info), Some((obj, _))) = (db.object(key), db.peek(key)) else {
        return ctx.error("ERR no such key");
    };
    let opts = encode_options(ctx);
    // The RDB body of the value: the payload without its type byte and
    // footer (Redis' `rdbSavedObjectLen`).
    let serialized = obj
        .to_dump(&opts)
        .len()
        .saturating_sub(1 + ferrodis_persist::FOOTER_SIZE);
    let shared = match &obj.value {
        RdbValue::String(s) if info.shared_integer => Some(s.as_slice()),
        _ => None,
    };
    let idle = info.idle_seconds;
    let mut text = format!(
        "Value at:{} refcount:{} encoding:{} serializedlength:{serialized} lru:{} lru_seconds_idle:{idle}",
        address(ctx.client.db, key, shared),
        if info.shared_integer { i32::MAX } else { 1 },
        info.encoding,
        lru_clock().wrapping_sub(idle) & ((1 << 24) - 1),
    );
    if let RdbValue::List(items) = &obj.value {
        let threshold = ctx
            .shared
            .debug
            .quicklist_packed_threshold
            .load(Ordering::Relaxed);
        let (fill, compress) = {
            let cfg = ctx.shared.config.read();
            (
                cfg.get_i64("list-max-listpack-size").unwrap_or(-2),
                cfg.get_i64("list-compress-depth").unwrap_or(0),
            )
        };
        let ql = quicklist_shape(items, fill, threshold);
        text.push_str(&format!(
            " ql_nodes:{} ql_avg_node:{:.2} ql_listpack_max:{} ql_compressed:{} ql_uncompressed_size:{}",
            ql.nodes,
            items.len() as f64 / ql.nodes.max(1) as f64,
            fill.clamp(-5, 1 << 15),
            u8::from(compress != 0),
            ql.bytes
        ));
    }
    ctx.simple(&text);
}

/// A quicklist's node count and total listpack bytes.
#[derive(Debug, PartialEq, Eq)]
struct QuicklistShape {
    nodes: usize,
    bytes: usize,
}

/// The quicklist Redis builds by pushing `items` one by one at the tail,
/// with `list-max-listpack-size` `fill` and elements of `threshold` bytes
/// or more in plain nodes of their own.
fn quicklist_shape(items: &[Vec<u8>], fill: i64, threshold: u64) -> QuicklistShape {
    /// A listpack's header and end marker.
    const LISTPACK_EMPTY: usize = 7;
    /// Redis' per-element overestimate when deciding whether one fits.
    const OVERHEAD: usize = 8;
    const SAFETY_LIMIT: usize = 8192;
    const LEVELS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
    let fill = fill.clamp(-5, 1 << 15);
    let mut shape = QuicklistShape { nodes: 0, bytes: 0 };
    // The tail node, if packed: (bytes, count).
    let mut tail: Option<(usize, i64)> = None;
    for item in items {
        if item.len() as u64 >= threshold {
            shape.nodes += 1;
            shape.bytes += item.len();
            tail = None;
            continue;
        }
        let entry = listpack_entry_size(item);
        let fits = tail.is_some_and(|(bytes, count)| {
            let new = bytes + item.len() + OVERHEAD;
            if fill < 0 {
                let level = LEVELS.get((-fill - 1) as usize).copied().unwrap_or(0);
                new <= level
            } else {
                new <= SAFETY_LIMIT && count < fill
            }
        });
        match (&mut tail, fits) {
            (Some((bytes, count)), true) => {
                *bytes += entry;
                *count += 1;
                shape.bytes += entry;
            }
            _ => {
                shape.nodes += 1;
                shape.bytes += LISTPACK_EMPTY + entry;
                tail = Some((LISTPACK_EMPTY + entry, 1));
            }
        }
    }
    shape
}

/// Bytes one element takes in a listpack: its encoding (integers in 1 to
/// 9 bytes, strings with a 1, 2 or 5 byte header) plus the back length.
fn listpack_entry_size(item: &[u8]) -> usize {
    let body = match ferrodis_resp::parse_i64(item) {
        Some(n) if (0..=127).contains(&n) => 1,
        Some(n) if (-4096..=4095).contains(&n) => 2,
        Some(n) if i16::try_from(n).is_ok() => 3,
        Some(n) if (-(1 << 23)..(1 << 23)).contains(&n) => 4,
        Some(n) if i32::try_from(n).is_ok() => 5,
        Some(_) => 9,
        None if item.len() < 64 => 1 + item.len(),
        None if item.len() < 4096 => 2 + item.len(),
        None => 5 + item.len(),
    };
    let backlen = match body {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        2_097_152..=268_435_455 => 4,
        _ => 5,
    };
    body + backlen
}

/// DEBUG SDSLEN key: the lengths, spare room and allocation sizes Redis'
/// SDS strings would have for this key and string value (a string value
/// of up to 44 bytes is embedded in its object, as Redis' `embstr`).
fn sdslen(ctx: &mut Ctx<'_>, req: &Request) {
    let key = arg(req, 2);
    let db = ctx.db();
    let (Some(info), Some((obj, _))) = (db.object(key), db.peek(key)) else {
        return ctx.error("ERR no such key");
    };
    let RdbValue::String(value) = &obj.value else {
        return ctx.error("ERR Not an sds encoded string.");
    };
    if info.encoding == "int" {
        return ctx.error("ERR Not an sds encoded string.");
    }
    let (key_alloc, key_avail) = sds_alloc(key.len());
    let (val_alloc, val_avail) = if info.encoding == "embstr" {
        // One allocation with the 16-byte object header.
        (jemalloc_size(16 + 3 + value.len() + 1) - 16, 0)
    } else {
        sds_alloc(value.len())
    };
    let text = format!(
        "key_sds_len:{}, key_sds_avail:{key_avail}, key_zmalloc: {key_alloc}, val_sds_len:{}, val_sds_avail:{val_avail}, val_zmalloc: {val_alloc}",
        key.len(),
        value.len(),
    );
    ctx.simple(&text);
}

/// An SDS string of `len` bytes as `sdsnewlen` allocates it: the
/// allocation size, and the spare room (the allocator's rounding, which
/// Redis 7 keeps; none for the smallest header, which has no room for it).
fn sds_alloc(len: usize) -> (usize, usize) {
    let header = match len {
        0..=31 => 1,
        32..=255 => 3,
        256..=65_535 => 5,
        _ if u32::try_from(len).is_ok() => 9,
        _ => 17,
    };
    let alloc = jemalloc_size(header + len + 1);
    let avail = if header == 1 {
        0
    } else {
        alloc - header - len - 1
    };
    (alloc, avail)
}

/// jemalloc's size class for an allocation of `n` bytes.
fn jemalloc_size(n: usize) -> usize {
    match n {
        0..=8 => 8,
        9..=128 => n.div_ceil(16) * 16,
        _ => {
            // Four classes per power of two.
            let pow = usize::BITS - (n - 1).leading_zeros();
            let step = 1usize << pow.saturating_sub(3);
            n.div_ceil(step) * step
        }
    }
}

/// DEBUG LISTPACK key, DEBUG QUICKLIST key [0|1]: Redis prints the
/// structure on its standard output; Ferrodis has no such structure to
/// print, and answers the same way.
fn structure(ctx: &mut Ctx<'_>, req: &Request, sub: &[u8]) {
    let Some(info) = ctx.db().object(arg(req, 2)) else {
        return ctx.error("ERR no such key");
    };
    match sub {
        b"listpack" if info.encoding == "listpack" => {
            ctx.simple("Listpack structure printed on stdout")
        }
        b"listpack" => ctx.error("ERR Not a listpack encoded object."),
        _ if info.encoding == "quicklist" => ctx.simple("Quicklist structure printed on stdout"),
        _ => ctx.error("ERR Not a quicklist encoded object."),
    }
}

/// DEBUG POPULATE count [prefix] [size]: `count` string keys
/// `prefix:<n>` (default `key`) holding `value:<n>` (padded with zero
/// bytes, or cut, to `size` bytes when given); existing keys are left
/// alone.
fn populate(ctx: &mut Ctx<'_>, req: &Request) {
    let Some(count) = int_arg(req, 2).filter(|&n| n >= 0) else {
        return ctx.error("ERR value is out of range, must be positive");
    };
    let size = match req.len() {
        5 => match int_arg(req, 4).filter(|&n| n >= 0) {
            Some(n) => Some(n as usize),
            None => return ctx.error("ERR value is out of range, must be positive"),
        },
        _ => None,
    };
    let prefix = if req.len() >= 4 { arg(req, 3) } else { b"key" };
    let db = ctx.db();
    for j in 0..count {
        let mut key = prefix.to_vec();
        key.extend_from_slice(format!(":{j}").as_bytes());
        if db.value_type(&key).is_some() {
            continue;
        }
        let mut value = format!("value:{j}").into_bytes();
        if let Some(size) = size.filter(|&s| s > 0) {
            value.resize(size, 0);
        }
        let opts = ferrodis_store::SetOptions::default();
        if let Err(e) = db.set(&key, &value, opts) {
            return ctx.store_error(e);
        }
    }
    ctx.ok();
}

/// DEBUG PROTOCOL type: one test reply of each RESP type.
fn protocol(ctx: &mut Ctx<'_>, req: &Request) {
    let proto = ctx.proto();
    let name = arg(req, 2).to_ascii_lowercase();
    match &name[..] {
        b"string" => ctx.bulk(b"Hello World"),
        b"integer" => ctx.int(12345),
        // Redis' test value, not an approximation of pi.
        #[allow(clippy::approx_constant)]
        b"double" => reply::double(ctx.out(), 3.141, proto),
        b"bignum" => {
            let digits = b"1234567999999999999999999999999999999";
            match proto {
                Protocol::Resp2 => ctx.bulk(digits),
                Protocol::Resp3 => {
                    ctx.out().extend_from_slice(b"(");
                    ctx.out().extend_from_slice(digits);
                    ctx.out().extend_from_slice(b"\r\n");
                }
            }
        }
        b"null" => ctx.null(),
        b"array" => {
            ctx.array(3);
            (0..3).for_each(|j| ctx.int(j));
        }
        b"set" => {
            ctx.set(3);
            (0..3).for_each(|j| ctx.int(j));
        }
        b"map" => {
            ctx.map(3);
            for j in 0..3 {
                ctx.int(j);
                reply::boolean(ctx.out(), j == 1, proto);
            }
        }
        b"attrib" => {
            if proto == Protocol::Resp3 {
                ctx.out().extend_from_slice(b"|1\r\n");
                ctx.bulk(b"key-popularity");
                ctx.array(2);
                ctx.bulk(b"key:123");
                ctx.int(90);
            }
            ctx.bulk(b"Some real reply following the attribute");
        }
        b"push" => {
            if proto == Protocol::Resp2 {
                return ctx.error("ERR RESP2 is not supported by this command");
            }
            reply::push_len(ctx.out(), 2, proto);
            ctx.bulk(b"server-cpu-usage");
            ctx.int(42);
            ctx.bulk(b"Some real reply following the push reply");
        }
        b"true" => reply::boolean(ctx.out(), true, proto),
        b"false" => reply::boolean(ctx.out(), false, proto),
        b"verbatim" => ctx.verbatim(b"This is a verbatim\nstring"),
        _ => ctx.error("ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false"),
    }
}

/// DEBUG DIGEST: every database's keys and values, as Redis digests them.
fn dataset_digest(ctx: &Ctx<'_>) -> digest::Digest {
    let store = &ctx.shared.store;
    let mut out = digest::Dataset::default();
    // Only the databases holding keys (asking for the others would create
    // their tables).
    for (index, _, _) in store.keyspace_info() {
        let Ok(db) = store.db(index) else {
            continue;
        };
        let keys = db.keys_matching(b"*");
        if keys.is_empty() {
            continue;
        }
        out.database(index as u32);
        for key in keys {
            // A key may expire (or be deleted) between the listing and here.
            if let Some((obj, expire)) = db.peek(&key) {
                out.key(&key, &obj, expire.is_some());
            }
        }
    }
    out.finish()
}

/// STRINGMATCH-TEST: random patterns against random strings (7-bit bytes,
/// up to 31 each) through the glob matcher, which must not crash.
fn stringmatch_test() -> usize {
    let mut seed = crate::shared::unix_ms() | 1;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut matches = 0;
    for _ in 0..STRINGMATCH_CYCLES {
        let s: Vec<u8> = (0..next() % 32).map(|_| (next() % 128) as u8).collect();
        let p: Vec<u8> = (0..next() % 32).map(|_| (next() % 128) as u8).collect();
        matches += usize::from(ferrodis_store::glob::glob_match(&p, &s, false));
    }
    matches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn c_number_parsing() {
        assert_eq!(atoi(b"1"), 1);
        assert_eq!(atoi(b" -12abc"), -12);
        assert_eq!(atoi(b"abc"), 0);
        assert_eq!(strtod(b"0.25s"), 0.25);
        assert_eq!(strtod(b"x"), 0.0);
        assert_eq!(strtod(b" 1e-3"), 0.001);
        assert_eq!(memtoull(b"1b"), Some(1));
        assert_eq!(memtoull(b"2KB"), Some(2048));
        assert_eq!(memtoull(b"1g"), Some(1_000_000_000));
        assert_eq!(memtoull(b"0"), Some(0));
        assert_eq!(memtoull(b"-1"), None);
        assert_eq!(memtoull(b"1x"), None);
        assert_eq!(memtoull(b"k"), None);
    }

    #[test]
    fn quicklist_shape_as_redis_builds_it() {
        // redis-server: RPUSH l a b c -> ql_nodes:1 ql_uncompressed_size:16.
        assert_eq!(
            quicklist_shape(&items(&["a", "b", "c"]), -2, PACKED_THRESHOLD_DEFAULT),
            QuicklistShape {
                nodes: 1,
                bytes: 16
            }
        );
        // Elements at the packed threshold get plain nodes of their own.
        let big = "x".repeat(500);
        let shape = quicklist_shape(&items(&["a", &big, "b"]), -2, 1);
        assert_eq!(
            shape,
            QuicklistShape {
                nodes: 3,
                bytes: 1 + 500 + 1
            }
        );
        // A count limit.
        let shape = quicklist_shape(
            &items(&["1", "2", "3", "4", "5"]),
            2,
            PACKED_THRESHOLD_DEFAULT,
        );
        assert_eq!(shape.nodes, 3);
        assert_eq!(listpack_entry_size(b"1"), 2);
        assert_eq!(listpack_entry_size(b"1000"), 3);
        assert_eq!(listpack_entry_size(&[b'a'; 100]), 103);
    }
}
