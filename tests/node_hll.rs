//! A real `ferrodis-node` answering the HyperLogLog commands (PFADD,
//! PFCOUNT, PFMERGE, PFDEBUG) as Redis 7.0 does, with the same bytes: a
//! seeded script runs on both servers and every reply and every key's
//! string (GET) must be identical after each command; DUMP payloads cross
//! both ways; corrupt values give Redis' errors; PFCOUNT's cache refresh
//! survives an AOF restart.

use bytes::Bytes;
use ferrodis_resp::Frame;
use ferrodis_suite::reply::{bulks, error, int, ok, simple};
use ferrodis_suite::{Client, Launch, Server, TempDir};

const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
const CORRUPT: &str = "INVALIDOBJ Corrupted HLL object detected";
const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

/// Runs `check` against Debian's `redis-server` and against Ferrodis, so
/// that every expected reply below is also Redis' own.
fn on_both(check: impl Fn(&mut Client)) {
    for server in [Server::redis(&[]), Server::ferrodis(&[])] {
        check(&mut server.client());
    }
}

/// The string value of `key` (`None` when missing).
fn get(c: &mut Client, key: &str) -> Option<Bytes> {
    match c.call(&["GET", key]) {
        Frame::Bulk(b) => Some(b),
        _ => None,
    }
}

/// A small deterministic generator for the random script.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// A random HLL command on keys sharing one hash tag.
fn random_command(rng: &mut Rng) -> Vec<String> {
    const KEYS: &[&str] = &["a{h}", "b{h}", "c{h}", "d{h}"];
    let key = rng.pick(KEYS).to_owned();
    let some_keys = |rng: &mut Rng| -> Vec<String> {
        (0..=rng.below(3))
            .map(|_| rng.pick(KEYS).to_owned())
            .collect()
    };
    match rng.below(20) {
        0..=11 => {
            let n = [0, 1, 3, 40, 200][rng.below(5) as usize];
            let mut cmd = vec!["PFADD".to_owned(), key];
            cmd.extend((0..n).map(|_| rng.below(20_000).to_string()));
            cmd
        }
        12..=14 => {
            let mut cmd = vec!["PFCOUNT".to_owned()];
            cmd.extend(some_keys(rng));
            cmd
        }
        15..=17 => {
            let mut cmd = vec!["PFMERGE".to_owned(), key];
            cmd.extend(some_keys(rng));
            cmd
        }
        _ => {
            let sub = rng.pick(&["GETREG", "DECODE", "ENCODING", "TODENSE"]);
            vec!["PFDEBUG".to_owned(), sub.to_owned(), key]
        }
    }
}

#[test]
fn replies_and_bytes_match_redis_on_a_random_script() {
    let redis = Server::redis(&[]);
    let ferrodis = Server::ferrodis(&[]);
    let (mut r, mut f) = (redis.client(), ferrodis.client());
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..12 {
        // Small limits promote early; 0 promotes at the first growth.
        let max = ["0", "40", "300", "3000", "20000"][round % 5];
        for c in [&mut r, &mut f] {
            assert_eq!(c.cmd("FLUSHALL"), ok());
            assert_eq!(
                c.call(&["CONFIG", "SET", "hll-sparse-max-bytes", max]),
                ok()
            );
        }
        for step in 0..60 {
            let cmd = random_command(&mut rng);
            let (a, b) = (r.call(&cmd), f.call(&cmd));
            assert_eq!(a, b, "round {round} step {step}: {cmd:?}");
            for key in ["a{h}", "b{h}", "c{h}", "d{h}"] {
                assert_eq!(
                    get(&mut r, key),
                    get(&mut f, key),
                    "round {round} step {step}: {key} after {cmd:?}"
                );
            }
        }
    }
}

#[test]
fn pfadd_pfcount_pfmerge_basics() {
    on_both(|c| {
        assert_eq!(c.cmd("PFADD h"), int(1));
        assert_eq!(c.cmd("PFADD h"), int(0));
        assert_eq!(c.cmd("PFCOUNT h"), int(0));
        assert_eq!(c.cmd("PFADD h a b c"), int(1));
        assert_eq!(c.cmd("PFADD h a"), int(0));
        assert_eq!(c.cmd("PFCOUNT h"), int(3));
        assert_eq!(c.cmd("PFCOUNT nope"), int(0));
        assert_eq!(c.cmd("PFADD {h}2 c d"), int(1));
        assert_eq!(c.cmd("PFCOUNT h {h}2 nope"), int(4));
        assert_eq!(c.cmd("PFMERGE {h}u h {h}2"), ok());
        assert_eq!(c.cmd("PFCOUNT {h}u"), int(4));
        assert_eq!(c.cmd("PFMERGE {h}e"), ok());
        assert_eq!(c.cmd("PFCOUNT {h}e"), int(0));
        assert_eq!(c.cmd("PFDEBUG ENCODING {h}u"), simple("sparse"));
        assert_eq!(c.cmd("PFDEBUG TODENSE {h}u"), int(1));
        assert_eq!(c.cmd("PFDEBUG TODENSE {h}u"), int(0));
        assert_eq!(c.cmd("STRLEN {h}u"), int(12304));
        // A dense source makes the destination dense.
        assert_eq!(c.cmd("PFMERGE {h}v h {h}u"), ok());
        assert_eq!(c.cmd("PFDEBUG ENCODING {h}v"), simple("dense"));
        assert_eq!(
            c.cmd("PFDEBUG DECODE {h}v"),
            error("ERR HLL encoding is not sparse")
        );
        assert!(matches!(c.cmd("PFDEBUG DECODE h"), Frame::Bulk(_)));
        assert_eq!(
            c.cmd("PFDEBUG ENCODING nope"),
            error("ERR The specified key does not exist")
        );
        assert_eq!(
            c.cmd("PFDEBUG FOO h"),
            error("ERR Unknown PFDEBUG subcommand 'FOO'")
        );
        assert_eq!(
            c.cmd("PFDEBUG GETREG"),
            error("ERR wrong number of arguments for 'pfdebug' command")
        );
        assert_eq!(
            c.cmd("PFADD"),
            error("ERR wrong number of arguments for 'pfadd' command")
        );
    });
}

#[test]
fn non_hll_and_corrupt_values_give_redis_errors() {
    on_both(|c| {
        assert_eq!(c.cmd("SET s hello"), ok());
        assert_eq!(c.cmd("SET n 12345"), ok());
        assert_eq!(c.cmd("SADD set x"), int(1));
        for key in ["s", "n"] {
            assert_eq!(c.call(&["PFADD", key, "a"]), error(NOT_HLL));
            assert_eq!(c.call(&["PFCOUNT", key]), error(NOT_HLL));
            assert_eq!(c.call(&["PFMERGE", "d", key]), error(NOT_HLL));
            assert_eq!(c.call(&["PFDEBUG", "GETREG", key]), error(NOT_HLL));
        }
        assert_eq!(c.cmd("PFADD set a"), error(WRONGTYPE));
        assert_eq!(c.cmd("PFCOUNT set"), error(WRONGTYPE));
        assert_eq!(c.cmd("EXISTS d"), int(0));

        // A header-only value, a dense value of the wrong length and an
        // unknown encoding are not HLLs.
        let header = |enc: u8, stale: bool| {
            let mut h = b"HYLL".to_vec();
            h.push(enc);
            h.extend_from_slice(&[0; 11]);
            if stale {
                h[15] = 0x80;
            }
            h
        };
        let mut short_dense = header(0, true);
        short_dense.extend_from_slice(&[0; 100]);
        for bad in [header(2, true), short_dense, b"HYLL".to_vec()] {
            c.call(&[&b"SET"[..], b"bad", &bad]);
            assert_eq!(c.cmd("PFCOUNT bad"), error(NOT_HLL));
        }
        // Sparse codes that do not cover 16384 registers are corrupt.
        let cases: [&[u8]; 4] = [
            &[0x3f],             // 64 registers only
            &[0x7f, 0xff, 0x80], // a VAL past the last register
            &[0x7f, 0xfe, 0x81], // a VAL run reaching past it
            &[0x7f],             // an XZERO cut short
        ];
        for code in cases {
            let mut v = header(1, true);
            v.extend_from_slice(code);
            c.call(&[&b"SET"[..], b"bad", &v]);
            assert_eq!(c.cmd("PFCOUNT bad"), error(CORRUPT), "{code:?}");
            assert_eq!(c.cmd("PFCOUNT bad other"), error(CORRUPT), "{code:?}");
            assert_eq!(c.cmd("PFDEBUG TODENSE bad"), error(CORRUPT), "{code:?}");
            assert_eq!(c.cmd("PFMERGE d bad"), error(CORRUPT), "{code:?}");
        }
        // A valid cached cardinality is answered without decoding.
        let mut cached = header(1, false);
        cached[8] = 42;
        cached.push(0x00);
        c.call(&[&b"SET"[..], b"bad", &cached]);
        assert_eq!(c.cmd("PFCOUNT bad"), int(42));
        // PFADD finds the register's opcode before the damage.
        let mut v = header(1, true);
        v.push(0x3f);
        c.call(&[&b"SET"[..], b"bad", &v]);
        assert_eq!(c.cmd("PFADD bad x y z w"), error(CORRUPT));
    });
}

#[test]
fn sparse_becomes_dense_at_hll_sparse_max_bytes() {
    on_both(|c| {
        assert_eq!(c.cmd("CONFIG SET hll-sparse-max-bytes 100"), ok());
        assert_eq!(
            c.cmd("CONFIG GET hll-sparse-max-bytes"),
            bulks(&["hll-sparse-max-bytes", "100"])
        );
        let mut i = 0;
        loop {
            c.call(&["PFADD", "h", &format!("e{i}")]);
            i += 1;
            if c.cmd("PFDEBUG ENCODING h") == simple("dense") {
                break;
            }
            let Frame::Integer(len) = c.cmd("STRLEN h") else {
                panic!("STRLEN");
            };
            assert!(len <= 100, "sparse HLL of {len} bytes");
        }
        assert!((10..60).contains(&i), "promoted after {i} elements");
        assert_eq!(c.cmd("STRLEN h"), int(12304));
    });
}

/// DUMPs `key` on `from`, RESTOREs it on `to` as `<key>-copy`: the same
/// bytes and the same count.
fn cross(from: &mut Client, to: &mut Client, key: &str) {
    let Frame::Bulk(payload) = from.call(&["DUMP", key]) else {
        panic!("DUMP {key}");
    };
    let copy = format!("{key}-copy");
    assert_eq!(
        to.call(&[&b"RESTORE"[..], copy.as_bytes(), b"0", &payload, b"REPLACE"]),
        ok()
    );
    assert_eq!(get(to, &copy), get(from, key));
    assert_eq!(to.call(&["PFCOUNT", &copy]), from.call(&["PFCOUNT", key]));
}

#[test]
fn dump_payloads_cross_both_ways() {
    let redis = Server::redis(&[]);
    let ferrodis = Server::ferrodis(&[]);
    let (mut r, mut f) = (redis.client(), ferrodis.client());
    for (key, n) in [("small", 50), ("big", 5000)] {
        let mut cmd = vec!["PFADD".to_owned(), key.to_owned()];
        cmd.extend((0..n).map(|i| format!("{key}-{i}")));
        assert_eq!(r.call(&cmd), int(1));
        assert_eq!(f.call(&cmd), int(1));
        cross(&mut r, &mut f, key);
        cross(&mut f, &mut r, key);
    }
}

#[test]
fn pfcount_cache_and_todense_are_replayed_from_the_aof() {
    let dir = TempDir::new("hll-aof");
    let mut node = Launch::ferrodis()
        .dir(dir.path())
        .args(&["--appendonly", "yes", "--appendfsync", "always"])
        .start();
    let mut c = node.client();
    assert_eq!(c.cmd("PFADD h a b c"), int(1));
    assert_eq!(c.cmd("PFADD d x y"), int(1));
    assert_eq!(c.cmd("PFCOUNT h"), int(3));
    assert_eq!(c.cmd("PFDEBUG TODENSE d"), int(1));
    let (h, d) = (get(&mut c, "h"), get(&mut c, "d"));
    // The cache is valid in the string: bit 7 of byte 15 is clear.
    assert_eq!(h.as_ref().map(|b| b[15] & 0x80), Some(0));
    drop(c);
    node.restart();
    let mut c = node.client();
    assert_eq!(get(&mut c, "h"), h);
    assert_eq!(get(&mut c, "d"), d);
    assert_eq!(c.cmd("PFDEBUG ENCODING d"), simple("dense"));
}

#[test]
fn command_info_matches_redis() {
    let redis = Server::redis(&[]);
    let ferrodis = Server::ferrodis(&[]);
    let (mut r, mut f) = (redis.client(), ferrodis.client());
    for name in ["pfadd", "pfcount", "pfmerge", "pfdebug", "pfselftest"] {
        // Name, arity, flags, first key, last key, step.
        let head = |c: &mut Client| match c.call(&["COMMAND", "INFO", name]) {
            Frame::Array(mut outer) => match outer.pop() {
                Some(Frame::Array(mut entry)) => {
                    entry.truncate(6);
                    entry
                }
                other => panic!("COMMAND INFO {name}: {other:?}"),
            },
            other => panic!("COMMAND INFO {name}: {other:?}"),
        };
        assert_eq!(head(&mut f), head(&mut r), "{name}");
    }
}

#[test]
fn changes_are_counted_as_redis_counts_them() {
    on_both(|c| {
        let changes = |c: &mut Client| -> i64 {
            c.info_field("rdb_changes_since_last_save")
                .and_then(|v| v.parse().ok())
                .expect("rdb_changes_since_last_save")
        };
        let before = changes(c);
        // Creation plus one per element that raised a register: 5.
        assert_eq!(c.cmd("PFADD h a b c d"), int(1));
        // One element raises a register: 1. Nothing changes: 0.
        assert_eq!(c.cmd("PFADD h a e"), int(1));
        assert_eq!(c.cmd("PFADD h a"), int(0));
        // The cache refresh: 1; answered from the cache: 0.
        assert_eq!(c.cmd("PFCOUNT h"), int(5));
        assert_eq!(c.cmd("PFCOUNT h"), int(5));
        // PFMERGE and a conversion: 1 each.
        assert_eq!(c.cmd("PFMERGE m h"), ok());
        assert_eq!(c.cmd("PFDEBUG TODENSE m"), int(1));
        assert_eq!(changes(c) - before, 9);
    });
}
