//! Command dispatch on arbitrary command sequences: a fresh in-process
//! server ([`ferrodis_node::Session`]) runs up to 64 commands built from
//! the fuzz input, and no command, argument or order may make it panic.
//!
//! Each command's first word comes from the real command table
//! ([`ferrodis_node::command_names`]); its arguments come from a dictionary
//! of tokens that steer parsers into their edge cases (numbers at the
//! limits of their types, NaN and infinities, option words, subcommand
//! words, key names that share a slot or collide with each other), from
//! small numbers, or are raw bytes. Some inputs are fed as raw protocol
//! bytes instead, in pieces, so that the request decoder runs too.
//!
//! Every reply must also be well-formed RESP: complete frames whose
//! counts match what follows, nothing left over.
#![no_main]

use std::sync::OnceLock;

use bytes::BytesMut;
use ferrodis_resp::FrameDecoder;

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

/// Commands never run. Everything else in the table is fair game; MONITOR,
/// blocking commands (they answer at once in a `Session`) and CLIENT PAUSE
/// (a `Session` does not wait for it) included.
const SKIPPED: &[&str] = &[
    // Stops the server (in a Session: sets the shutdown flag, after which
    // nothing is meaningful any more).
    "shutdown",
    // Write files into the working directory, or start a background save:
    // the fuzzer must not litter the disk.
    "save",
    "bgsave",
    "bgrewriteaof",
    // Adds 10^7 elements to two HyperLogLogs by design (seconds per run);
    // the `hll_value` target and the store's tests cover what it checks.
    "pfselftest",
    // Opens connections to other hosts and waits for them.
    "migrate",
];

/// DEBUG subcommands never run: they sleep, crash the process on purpose,
/// restart it, reload the dataset from files, or take long on purpose
/// (STRINGMATCH-TEST runs its own fuzzer).
const SKIPPED_DEBUG: &[&[u8]] = &[
    b"sleep",
    b"stringmatch-test",
    b"segfault",
    b"panic",
    b"assert",
    b"oom",
    b"restart",
    b"crash-and-recover",
    b"reload",
    b"loadaof",
    b"leak",
];

/// Argument tokens. Numbers stay small or out of range on purpose: an
/// in-range offset of hundreds of megabytes (SETBIT, SETRANGE) is a
/// legitimate allocation that would only slow the fuzzer down.
const TOKENS: &[&str] = &[
    // Key names: `k` and `{k}x` share a slot; `a`/`b` hold whatever type
    // the sequence gave them, so commands meet the wrong type.
    "k",
    "{k}x",
    "{k}y",
    "a",
    "b",
    "c",
    "",
    "key:1",
    "*",
    "?",
    "[a-z]",
    "\\",
    // Numbers.
    "0",
    "1",
    "-1",
    "2",
    "3",
    "5",
    "10",
    "100",
    "-100",
    "1000",
    "65536",
    "0.5",
    "-0.5",
    "1.5e3",
    "3.0",
    "+1",
    "01",
    " 1",
    "1 ",
    "0x10",
    "1e308",
    "-1e308",
    "1e-320",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "18446744073709551615",
    "4294967296",
    "2147483648",
    "-2147483649",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "+inf",
    "infinity",
    "-0",
    "(1",
    "(-inf",
    "[a",
    "(a",
    "-",
    "+",
    // Options of SET, EXPIRE, ZADD, ZRANGE, SCAN, LPOS, BITFIELD, ...
    "EX",
    "PX",
    "EXAT",
    "PXAT",
    "KEEPTTL",
    "GET",
    "NX",
    "XX",
    "GT",
    "LT",
    "CH",
    "INCR",
    "WITHSCORES",
    "WITHSCORE",
    "LIMIT",
    "COUNT",
    "MATCH",
    "TYPE",
    "BYSCORE",
    "BYLEX",
    "REV",
    "RANK",
    "MAXLEN",
    "IDLE",
    "LEFT",
    "RIGHT",
    "BEFORE",
    "AFTER",
    "SUM",
    "MIN",
    "MAX",
    "AGGREGATE",
    "WEIGHTS",
    "STORE",
    "BY",
    "ALPHA",
    "ASC",
    "DESC",
    "OVERFLOW",
    "WRAP",
    "SAT",
    "FAIL",
    "u8",
    "i64",
    "u63",
    "i1",
    "#1",
    "BIT",
    "BYTE",
    "AND",
    "OR",
    "XOR",
    "NOT",
    "REPLACE",
    "ABSTTL",
    "FREQ",
    "DB",
    "ASYNC",
    "SYNC",
    "SCHEDULE",
    "LEN",
    "IDX",
    "MINMATCHLEN",
    "WITHMATCHLEN",
    "string",
    "list",
    "set",
    "zset",
    "hash",
    // Subcommand words (CLIENT, CONFIG, OBJECT, MEMORY, LATENCY, DEBUG, ...).
    "HELP",
    "LIST",
    "INFO",
    "ID",
    "KILL",
    "SETNAME",
    "GETNAME",
    "REPLY",
    "OFF",
    "ON",
    "SKIP",
    "TRACKING",
    "NO-EVICT",
    "UNBLOCK",
    "ERROR",
    "TIMEOUT",
    "PAUSE",
    "UNPAUSE",
    "WRITE",
    "ALL",
    "SET",
    "RESETSTAT",
    "REWRITE",
    "ENCODING",
    "REFCOUNT",
    "IDLETIME",
    "USAGE",
    "SAMPLES",
    "STATS",
    "DOCTOR",
    "LATEST",
    "HISTORY",
    "RESET",
    "HISTOGRAM",
    "GRAPH",
    "command",
    "fast-command",
    "OBJECT",
    "DIGEST",
    "DIGEST-VALUE",
    "POPULATE",
    "PROTOCOL",
    "SET-ACTIVE-EXPIRE",
    "QUICKLIST-PACKED-THRESHOLD",
    "HTSTATS",
    "HTSTATS-KEY",
    "STRUCTSIZE",
    "CHANGE-REPL-ID",
    "STRINGMATCH-TEST",
    "attrib",
    "push",
    "bignum",
    "verbatim",
    "true",
    "map",
    "DOCS",
    "GETKEYS",
    "CHANNELS",
    "NUMSUB",
    "NUMPAT",
    "SHARDCHANNELS",
    "FLUSH",
    "LOAD",
    // Configuration parameters CONFIG SET may change.
    "maxmemory",
    "maxmemory-policy",
    "allkeys-lru",
    "volatile-lfu",
    "allkeys-random",
    "hash-max-listpack-entries",
    "zset-max-listpack-entries",
    "set-max-intset-entries",
    "list-max-listpack-size",
    "notify-keyspace-events",
    "KEA",
    "slowlog-log-slower-than",
    "latency-monitor-threshold",
    "latency-tracking",
    "tcp-keepalive",
    "timeout",
    "lfu-log-factor",
    "proto-max-bulk-len",
    "yes",
    "no",
];

fn command_names() -> &'static [&'static str] {
    static NAMES: OnceLock<Vec<&'static str>> = OnceLock::new();
    NAMES.get_or_init(|| {
        ferrodis_node::command_names()
            .into_iter()
            .filter(|n| !SKIPPED.contains(n))
            .collect()
    })
}

fn argument(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    Ok(match u.int_in_range(0u8..=9)? {
        0..=6 => u.choose(TOKENS)?.as_bytes().to_vec(),
        7 => u.int_in_range(-1000i64..=1000)?.to_string().into_bytes(),
        8 => {
            let len = u.int_in_range(0usize..=24)?;
            u.bytes(len)?.to_vec()
        }
        // A long value, to cross encoding thresholds (listpack to
        // hashtable, embstr to raw).
        _ => vec![b'x'; u.int_in_range(40usize..=300)?],
    })
}

fn command(u: &mut Unstructured<'_>) -> Result<Vec<Vec<u8>>> {
    let mut argv = vec![u.choose(command_names())?.as_bytes().to_vec()];
    for _ in 0..u.int_in_range(0u8..=7)? {
        argv.push(argument(u)?);
    }
    Ok(argv)
}

/// Parameters CONFIG SET must not change: they make the server write files
/// (save points make FLUSHALL save an RDB; the AOF) or move them.
const FILE_PARAMETERS: &[&[u8]] = &[
    b"save",
    b"appendonly",
    b"dir",
    b"dbfilename",
    b"appendfilename",
    b"appenddirname",
];

/// Whether `argv` is a DEBUG call that must not run, one that would do
/// too much work (DEBUG POPULATE with a large count), or a CONFIG SET of a
/// file-related parameter.
fn refused(argv: &[Vec<u8>]) -> bool {
    let [name, sub, rest @ ..] = argv else {
        return false;
    };
    if name.eq_ignore_ascii_case(b"config") && sub.eq_ignore_ascii_case(b"set") {
        return rest
            .iter()
            .step_by(2)
            .any(|p| FILE_PARAMETERS.iter().any(|f| p.eq_ignore_ascii_case(f)));
    }
    if !name.eq_ignore_ascii_case(b"debug") {
        return false;
    }
    let sub = sub.to_ascii_lowercase();
    if SKIPPED_DEBUG.contains(&&sub[..]) {
        return true;
    }
    sub == b"populate"
        && rest.first().is_some_and(|n| {
            std::str::from_utf8(n)
                .ok()
                .and_then(|n| n.parse::<i64>().ok())
                .is_none_or(|n| n > 1000)
        })
}

/// Frames a command as a RESP multibulk.
fn wire(argv: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", argv.len()).into_bytes();
    for a in argv {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Runs the fuzzer in a directory of its own, so that anything the server
/// writes despite [`FILE_PARAMETERS`] stays out of the source tree.
fn enter_scratch_dir() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("ferrodis-fuzz-{}", std::process::id()));
        if std::fs::create_dir_all(&dir).is_ok() {
            let _ = std::env::set_current_dir(&dir);
        }
    });
}

/// Panics unless `out` is a sequence of complete RESP frames.
fn check_replies(argv: &[Vec<u8>], out: &[u8]) {
    let shown = || -> Vec<String> {
        argv.iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect()
    };
    let mut buf = BytesMut::from(out);
    let mut decoder = FrameDecoder::default();
    while !buf.is_empty() {
        match decoder.decode(&mut buf) {
            Ok(Some(_)) => {}
            Ok(None) => panic!(
                "incomplete reply to {:?}: {:?}",
                shown(),
                String::from_utf8_lossy(out)
            ),
            Err(e) => panic!(
                "malformed reply ({e}) to {:?}: {:?}",
                shown(),
                String::from_utf8_lossy(out)
            ),
        }
    }
}

fn run(data: &[u8]) -> Result<()> {
    enter_scratch_dir();
    let mut u = Unstructured::new(data);
    let mut session = ferrodis_node::Session::standalone();
    // No save points: FLUSHALL would write an RDB file each time.
    session.execute(&[b"CONFIG", b"SET", b"save", b""]);
    // Start in RESP2 or RESP3: many replies differ in shape.
    if u.arbitrary::<bool>()? {
        session.execute(&[b"HELLO", b"3"]);
    }
    for _ in 0..64 {
        if u.is_empty() || session.closed() {
            break;
        }
        let argv = command(&mut u)?;
        if refused(&argv) {
            continue;
        }
        match u.int_in_range(0u8..=15)? {
            // As raw protocol, split in two reads, with a raw byte or an
            // inline command tail now and then.
            0 => {
                let mut bytes = wire(&argv);
                if u.arbitrary::<bool>()? {
                    bytes.push(u.arbitrary::<u8>()?);
                }
                let cut = u.int_in_range(0..=bytes.len())?;
                let mut out = session.feed(&bytes[..cut]);
                out.extend(session.feed(&bytes[cut..]));
                check_replies(&argv, &out);
            }
            _ => {
                let args: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
                let out = session.execute(&args);
                check_replies(&argv, &out);
            }
        }
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    // Running out of input ends the sequence; that is not a failure.
    let _ = run(data);
});
