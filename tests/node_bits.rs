//! A real `ferrodis-node` process answering the bit commands (SETBIT,
//! GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO) and LCS as Redis
//! 7.0 does: each command with its errors (every expectation checked
//! against Debian's `redis-server` too), and reply-for-reply parity with
//! `redis-server` on a script (fixed and seeded random commands) in RESP2
//! and RESP3.

use bytes::Bytes;
use ferrodis_resp::Frame;
use ferrodis_suite::reply::{bulk, error, int, ok};
use ferrodis_suite::{Client, Server};

fn arr(items: Vec<Frame>) -> Frame {
    Frame::Array(items)
}

fn ints(items: &[i64]) -> Frame {
    arr(items.iter().map(|&n| int(n)).collect())
}

/// Runs `check` against Debian's `redis-server` and against Ferrodis, so
/// that every expected reply below is also Redis' own.
fn on_both(check: impl Fn(&mut Client)) {
    for server in [Server::redis(&[]), Server::ferrodis(&[])] {
        check(&mut server.client());
    }
}

const BAD_OFFSET: &str = "ERR bit offset is not an integer or out of range";
const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const NOT_INT: &str = "ERR value is not an integer or out of range";

#[test]
fn setbit_and_getbit() {
    on_both(|c| {
        assert_eq!(c.cmd("SETBIT k 7 1"), int(0));
        assert_eq!(c.cmd("SETBIT k 7 1"), int(1));
        assert_eq!(c.cmd("GET k"), bulk("\x01"));
        assert_eq!(c.cmd("SETBIT k 23 1"), int(0));
        assert_eq!(
            c.call(&["GET", "k"]),
            Frame::Bulk(Bytes::from_static(b"\x01\x00\x01"))
        );
        assert_eq!(c.cmd("GETBIT k 23"), int(1));
        assert_eq!(c.cmd("GETBIT k 1000"), int(0));
        assert_eq!(c.cmd("GETBIT nope 0"), int(0));
        // Integer-encoded strings are their text: "1" is 0x31.
        assert_eq!(c.cmd("SET n 1"), ok());
        assert_eq!(c.cmd("GETBIT n 2"), int(1));
        assert_eq!(c.cmd("SETBIT n 6 1"), int(0));
        assert_eq!(c.cmd("GET n"), bulk("3"));
        // The largest offset with the default proto-max-bulk-len is 2^32-1.
        assert_eq!(c.cmd("SETBIT k 4294967296 1"), error(BAD_OFFSET));
        assert_eq!(c.cmd("SETBIT k -1 1"), error(BAD_OFFSET));
        assert_eq!(c.cmd("GETBIT k x"), error(BAD_OFFSET));
        for bad in ["2", "-1", "x"] {
            assert_eq!(
                c.call(&["SETBIT", "k", "0", bad]),
                error("ERR bit is not an integer or out of range")
            );
        }
        assert_eq!(c.cmd("SADD s a"), int(1));
        assert_eq!(c.cmd("SETBIT s 0 1"), error(WRONGTYPE));
        assert_eq!(c.cmd("GETBIT s 0"), error(WRONGTYPE));
        assert_eq!(
            c.cmd("SETBIT k 1"),
            error("ERR wrong number of arguments for 'setbit' command")
        );
        // proto-max-bulk-len bounds the offsets.
        assert_eq!(c.cmd("CONFIG SET proto-max-bulk-len 1048576"), ok());
        assert_eq!(c.cmd("SETBIT big 8388608 1"), error(BAD_OFFSET));
        assert_eq!(c.cmd("SETBIT big 8388607 1"), int(0));
        assert_eq!(c.cmd("STRLEN big"), int(1048576));
    });
}

#[test]
fn bitcount_and_bitpos() {
    on_both(|c| {
        assert_eq!(c.cmd("SET k foobar"), ok());
        assert_eq!(c.cmd("BITCOUNT k"), int(26));
        assert_eq!(c.cmd("BITCOUNT k 1 1"), int(6));
        assert_eq!(c.cmd("BITCOUNT k 5 30 BIT"), int(17));
        assert_eq!(c.cmd("BITCOUNT k 1 1 byte"), int(6));
        assert_eq!(c.cmd("BITCOUNT k -1 -2 nonsense"), int(0));
        assert_eq!(c.cmd("BITCOUNT k 0 1 nonsense"), error("ERR syntax error"));
        assert_eq!(c.cmd("BITCOUNT k 1"), error("ERR syntax error"));
        assert_eq!(c.cmd("BITCOUNT k x 1"), error(NOT_INT));
        // A missing key answers before the arguments are read.
        assert_eq!(c.cmd("BITCOUNT nope x y"), int(0));
        assert_eq!(c.call(&["SET", "p", "\u{0}\u{7f}"]), ok());
        assert_eq!(c.cmd("BITPOS p 1"), int(9));
        assert_eq!(c.cmd("BITPOS p 1 0 8 BIT"), int(-1));
        assert_eq!(c.cmd("BITPOS p 0 1"), int(8));
        assert_eq!(c.cmd("SET f \u{7f}"), ok());
        assert_eq!(c.cmd("BITPOS f 0 1 -1 BIT"), int(-1));
        assert_eq!(c.cmd("BITPOS nope 0"), int(0));
        assert_eq!(c.cmd("BITPOS nope 1"), int(-1));
        assert_eq!(c.cmd("BITPOS nope 1 x"), int(-1));
        assert_eq!(
            c.cmd("BITPOS p 2"),
            error("ERR The bit argument must be 1 or 0.")
        );
        assert_eq!(c.cmd("BITPOS p x"), error(NOT_INT));
        assert_eq!(c.cmd("BITPOS p 1 0 x foo"), error("ERR syntax error"));
        assert_eq!(c.cmd("BITPOS p 1 0 1 BIT x"), error("ERR syntax error"));
        assert_eq!(c.cmd("SADD s a"), int(1));
        assert_eq!(c.cmd("BITCOUNT s"), error(WRONGTYPE));
        assert_eq!(c.cmd("BITCOUNT s x"), error(WRONGTYPE));
        assert_eq!(c.cmd("BITPOS s 1 x"), error(WRONGTYPE));
    });
}

#[test]
fn bitpos_clear_bit_past_the_end() {
    on_both(|c| {
        assert_eq!(c.call(&[&b"SET"[..], b"k", b"\xff\xff\xff"]), ok());
        // Without an end, the string is followed by zeros; with one, not.
        assert_eq!(c.cmd("BITPOS k 0"), int(24));
        assert_eq!(c.cmd("BITPOS k 0 1"), int(24));
        assert_eq!(c.cmd("BITPOS k 0 1 -1"), int(-1));
        assert_eq!(c.cmd("BITPOS k 0 0 -1 BIT"), int(-1));
        assert_eq!(c.cmd("BITPOS k 1 3 1"), int(-1));
        // An empty string is an empty range: -1 even for a clear bit.
        assert_eq!(c.call(&["SET", "e", ""]), ok());
        assert_eq!(c.cmd("BITPOS e 0"), int(-1));
    });
}

#[test]
fn bitop() {
    on_both(|c| {
        assert_eq!(c.cmd("SET a{t} abc"), ok());
        assert_eq!(c.cmd("SET b{t} 12"), ok());
        assert_eq!(c.cmd("BITOP AND d{t} a{t} b{t}"), int(3));
        assert_eq!(c.cmd("GET d{t}"), Frame::Bulk(Bytes::from_static(b"!\"\0")));
        assert_eq!(c.cmd("BITOP or d{t} a{t} b{t} nope{t}"), int(3));
        assert_eq!(c.cmd("GET d{t}"), bulk("qrc"));
        assert_eq!(c.cmd("BITOP XOR d{t} a{t} a{t}"), int(3));
        assert_eq!(
            c.cmd("GET d{t}"),
            Frame::Bulk(Bytes::from_static(b"\0\0\0"))
        );
        assert_eq!(c.cmd("BITOP NOT d{t} b{t}"), int(2));
        assert_eq!(
            c.cmd("GET d{t}"),
            Frame::Bulk(Bytes::from_static(b"\xce\xcd"))
        );
        // An empty result deletes the destination, whatever it held.
        assert_eq!(c.cmd("EXPIRE d{t} 100"), int(1));
        assert_eq!(c.cmd("BITOP AND d{t} nope{t}"), int(0));
        assert_eq!(c.cmd("EXISTS d{t}"), int(0));
        assert_eq!(c.cmd("SADD s{t} x"), int(1));
        assert_eq!(c.cmd("BITOP OR s{t} a{t}"), int(3));
        assert_eq!(
            c.cmd("TYPE s{t}"),
            Frame::Simple(Bytes::from_static(b"string"))
        );
        assert_eq!(c.cmd("SADD s{t} x"), error(WRONGTYPE));
        assert_eq!(c.cmd("SADD z{t} x"), int(1));
        assert_eq!(c.cmd("BITOP OR d{t} a{t} z{t}"), error(WRONGTYPE));
        assert_eq!(
            c.cmd("BITOP NOT d{t} a{t} b{t}"),
            error("ERR BITOP NOT must be called with a single source key.")
        );
        assert_eq!(c.cmd("BITOP NAND d{t} a{t}"), error("ERR syntax error"));
        assert_eq!(
            c.cmd("BITOP AND d{t}"),
            error("ERR wrong number of arguments for 'bitop' command")
        );
    });
}

#[test]
fn bitfield() {
    on_both(|c| {
        assert_eq!(
            c.cmd("BITFIELD k SET i8 0 -100 GET u4 0 INCRBY u2 #3 7 GET i8 0"),
            ints(&[0, 9, 3, -100 | 0b11])
        );
        assert_eq!(
            c.cmd("BITFIELD k INCRBY u2 100 1 OVERFLOW SAT INCRBY u2 102 5"),
            ints(&[1, 3])
        );
        assert_eq!(
            c.cmd("BITFIELD k OVERFLOW FAIL INCRBY u2 102 1 SET i64 0 -5 GET i64 0"),
            arr(vec![Frame::NullBulk, int(-97 << 56), int(-5)])
        );
        assert_eq!(
            c.cmd("BITFIELD k OVERFLOW WRAP INCRBY i64 0 -9223372036854775807"),
            ints(&[9223372036854775804])
        );
        // FAIL still creates (and grows) the key.
        assert_eq!(
            c.cmd("BITFIELD new OVERFLOW FAIL SET u2 0 5"),
            arr(vec![Frame::NullBulk])
        );
        assert_eq!(c.cmd("STRLEN new"), int(1));
        // Reads never create the key.
        assert_eq!(c.cmd("BITFIELD nope GET u8 0 GET i5 #3"), ints(&[0, 0]));
        assert_eq!(c.cmd("BITFIELD nope"), arr(vec![]));
        assert_eq!(c.cmd("EXISTS nope"), int(0));
        assert_eq!(c.cmd("SET n 255"), ok());
        assert_eq!(
            c.cmd("BITFIELD_RO n GET u8 0 GET u8 #2"),
            ints(&[0x32, 0x35])
        );
        const BAD_TYPE: &str = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
        for ty in ["u64", "i65", "i0", "x8", "u", "i"] {
            assert_eq!(c.call(&["BITFIELD", "k", "GET", ty, "0"]), error(BAD_TYPE));
        }
        assert_eq!(c.cmd("BITFIELD k GET u8 -1"), error(BAD_OFFSET));
        assert_eq!(c.cmd("BITFIELD k GET u8 #-1"), error(BAD_OFFSET));
        assert_eq!(c.cmd("BITFIELD k GET u8 4294967296"), error(BAD_OFFSET));
        assert_eq!(c.cmd("BITFIELD k GET u8 #536870912"), error(BAD_OFFSET));
        assert_eq!(c.cmd("BITFIELD k SET u8 0 x"), error(NOT_INT));
        assert_eq!(
            c.cmd("BITFIELD k OVERFLOW MAYBE"),
            error("ERR Invalid OVERFLOW type specified")
        );
        assert_eq!(c.cmd("BITFIELD k GET u8"), error("ERR syntax error"));
        assert_eq!(c.cmd("BITFIELD k FOO"), error("ERR syntax error"));
        assert_eq!(
            c.cmd("BITFIELD_RO k GET u8 0 SET u8 0 1"),
            error("ERR BITFIELD_RO only supports the GET subcommand")
        );
        assert_eq!(c.cmd("BITFIELD_RO k OVERFLOW FAIL"), arr(vec![]));
        assert_eq!(c.cmd("SADD s a"), int(1));
        assert_eq!(c.cmd("BITFIELD s GET u8 0"), error(WRONGTYPE));
        assert_eq!(c.cmd("BITFIELD s SET u8 0 1"), error(WRONGTYPE));
        assert_eq!(c.cmd("BITFIELD s GET u99 0"), error(BAD_TYPE));
    });
}

#[test]
fn lcs() {
    on_both(|c| {
        assert_eq!(c.cmd("MSET a{t} ohmytext b{t} mynewtext"), ok());
        assert_eq!(c.cmd("LCS a{t} b{t}"), bulk("mytext"));
        assert_eq!(c.cmd("LCS a{t} b{t} LEN"), int(6));
        let range = |a: i64, b: i64| ints(&[a, b]);
        let idx = arr(vec![
            bulk("matches"),
            arr(vec![
                arr(vec![range(4, 7), range(5, 8)]),
                arr(vec![range(2, 3), range(0, 1)]),
            ]),
            bulk("len"),
            int(6),
        ]);
        assert_eq!(c.cmd("LCS a{t} b{t} IDX"), idx);
        assert_eq!(
            c.cmd("LCS a{t} b{t} IDX MINMATCHLEN 4 WITHMATCHLEN"),
            arr(vec![
                bulk("matches"),
                arr(vec![arr(vec![range(4, 7), range(5, 8), int(4)])]),
                bulk("len"),
                int(6),
            ])
        );
        assert_eq!(c.cmd("LCS a{t} nope{t}"), bulk(""));
        assert_eq!(
            c.cmd("LCS a{t} b{t} LEN IDX"),
            error("ERR If you want both the length and indexes, please just use IDX.")
        );
        assert_eq!(
            c.cmd("LCS a{t} b{t} MINMATCHLEN"),
            error("ERR syntax error")
        );
        assert_eq!(c.cmd("LCS a{t} b{t} MINMATCHLEN x"), error(NOT_INT));
        assert_eq!(c.cmd("SADD s{t} x"), int(1));
        let not_strings = error("ERR The specified keys must contain string values");
        assert_eq!(c.cmd("LCS a{t} s{t}"), not_strings);
        assert_eq!(c.cmd("LCS s{t} a{t} BOGUS"), not_strings);
        assert_eq!(c.cmd("CONFIG SET proto-max-bulk-len 1048576"), ok());
        let long = "x".repeat(1000);
        assert_eq!(c.call(&["SET", "l{t}", &long]), ok());
        assert_eq!(
            c.cmd("LCS l{t} l{t} LEN"),
            error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
        );
        // RESP3: IDX answers a map.
        c.cmd("HELLO 3");
        let Frame::Map(m) = c.cmd("LCS a{t} b{t} IDX") else {
            panic!("LCS IDX must answer a map in RESP3")
        };
        assert_eq!(m.len(), 2);
        assert_eq!(m[1], (bulk("len"), int(6)));
    });
}

/// A small deterministic generator for the random part of the script.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// The fixed commands of the parity script.
const FIXED: &[&str] = &[
    "SET s{t} foobar",
    "SETBIT s{t} 3 1",
    "BITCOUNT s{t} 0 -1 BIT",
    "BITPOS s{t} 0 2 -3 BIT",
    "SET n{t} -123",
    "BITFIELD n{t} GET i16 0 SET u8 #1 99",
    "BITOP XOR x{t} s{t} n{t} nope{t}",
    "GET x{t}",
    "BITFIELD nope{t} OVERFLOW FAIL INCRBY u63 1 -1",
    "LCS s{t} x{t} IDX WITHMATCHLEN",
    "SADD set{t} a",
    "LCS set{t} s{t}",
    "BITOP AND set{t} s{t}",
    "BITFIELD_RO s{t} GET u63 7",
];

/// The parity script: fixed commands, then seeded random ones.
fn script() -> Vec<Vec<String>> {
    let mut cmds: Vec<Vec<String>> = FIXED
        .iter()
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect();
    let mut rng = Rng(0x5eed_b175);
    let keys = ["a{t}", "b{t}", "c{t}", "d{t}"];
    for _ in 0..400 {
        let k = rng.pick(&keys).to_owned();
        let cmd: Vec<String> = match rng.below(9) {
            0 => {
                let len = rng.below(12);
                let v: String = (0..len)
                    .map(|_| char::from(b"@ABCabc012\x7f"[rng.below(11) as usize]))
                    .collect();
                vec!["SET".into(), k, v]
            }
            1 => vec![
                "SETBIT".into(),
                k,
                rng.below(120).to_string(),
                rng.below(2).to_string(),
            ],
            2 | 3 => {
                let mut c = vec!["BITPOS".into(), k, rng.below(2).to_string()];
                let span = if rng.below(2) == 0 { 12 } else { 100 };
                let n = rng.below(4);
                if n >= 1 {
                    c.push(rng.range(-span, span).to_string());
                }
                if n >= 2 {
                    c.push(rng.range(-span, span).to_string());
                }
                if n >= 3 {
                    c.push(rng.pick(&["BIT", "BYTE", "bit"]).into());
                }
                c
            }
            4 => {
                let mut c = vec!["BITCOUNT".into(), k];
                if rng.below(3) > 0 {
                    let span = if rng.below(2) == 0 { 12 } else { 100 };
                    c.push(rng.range(-span, span).to_string());
                    c.push(rng.range(-span, span).to_string());
                    if rng.below(2) == 0 {
                        c.push(rng.pick(&["BIT", "BYTE"]).into());
                    }
                }
                c
            }
            5 => {
                let op = rng.pick(&["AND", "OR", "XOR", "NOT"]);
                let n = if op == "NOT" { 1 } else { 1 + rng.below(3) };
                let mut c = vec!["BITOP".into(), op.into(), k];
                for _ in 0..n {
                    c.push(rng.pick(&keys).into());
                }
                c
            }
            6 => {
                let len = rng.below(10);
                let other = rng.pick(&keys).to_owned();
                let mut c = vec!["LCS".into(), k, other];
                match len % 4 {
                    0 => c.push("LEN".into()),
                    1 => c.extend(["IDX".into(), "WITHMATCHLEN".into()]),
                    2 => c.extend(["IDX".into(), "MINMATCHLEN".into(), rng.below(3).to_string()]),
                    _ => {}
                }
                c
            }
            _ => {
                let mut c = vec!["BITFIELD".into(), k];
                for _ in 0..1 + rng.below(4) {
                    if rng.below(4) == 0 {
                        c.push("OVERFLOW".into());
                        c.push(rng.pick(&["WRAP", "SAT", "FAIL"]).into());
                    }
                    let signed = rng.below(2) == 0;
                    let bits = 1 + rng.below(if signed { 64 } else { 63 });
                    let ty = format!("{}{bits}", if signed { "i" } else { "u" });
                    let offset = if rng.below(3) == 0 {
                        format!("#{}", rng.below(4))
                    } else {
                        rng.below(100).to_string()
                    };
                    let value = match rng.below(4) {
                        0 => rng.range(-300, 300),
                        1 => rng.next() as i64,
                        2 => i64::MIN + rng.range(0, 2),
                        _ => i64::MAX - rng.range(0, 2),
                    }
                    .to_string();
                    match rng.below(3) {
                        0 => c.extend(["GET".into(), ty, offset]),
                        1 => c.extend(["SET".into(), ty, offset, value]),
                        _ => c.extend(["INCRBY".into(), ty, offset, value]),
                    }
                }
                c
            }
        };
        cmds.push(cmd);
    }
    for k in keys {
        cmds.push(vec!["GET".into(), k.into()]);
    }
    cmds
}

fn run_script(c: &mut Client, cmds: &[Vec<String>]) -> Vec<(String, Frame)> {
    cmds.iter()
        .map(|cmd| (cmd.join(" "), c.call(cmd)))
        .collect()
}

#[test]
fn parity_with_redis() {
    let redis = Server::redis(&[]);
    let node = Server::ferrodis(&[]);
    let cmds = script();
    for resp3 in [false, true] {
        let mut replies = Vec::new();
        for server in [&redis, &node] {
            let mut c = server.client();
            c.cmd("FLUSHALL");
            if resp3 {
                c.cmd("HELLO 3");
            }
            replies.push(run_script(&mut c, &cmds));
        }
        for (want, got) in replies[0].iter().zip(&replies[1]) {
            assert_eq!(got, want, "resp3: {resp3}");
        }
    }
}
