//! DUMP/RESTORE against the reference: payloads `ferrodis-persist` writes
//! restore on Debian's `redis-server` 7.0.15 (and match its own DUMP byte
//! for byte where the encoding fixes the order), legacy encodings Redis 7
//! still reads are read the same way here, and `ferrodis-node`'s DUMP and
//! RESTORE commands answer as Redis' do, payloads crossing both ways.

use ferrodis_persist::{crc64::crc64, EncodeOptions, Encoding, RdbObject, RdbValue};
use ferrodis_resp::Frame;
use ferrodis_suite::reply::{bulk, error, int, ok};
use ferrodis_suite::{Client, Server};

fn s(x: impl AsRef<[u8]>) -> Vec<u8> {
    x.as_ref().to_vec()
}

fn bytes_of(f: Frame) -> Vec<u8> {
    match f {
        Frame::Bulk(b) => b.to_vec(),
        other => panic!("expected a bulk, got {other:?}"),
    }
}

fn items(f: Frame) -> Vec<Vec<u8>> {
    match f {
        Frame::Array(items) => items.into_iter().map(bytes_of).collect(),
        other => panic!("expected an array, got {other:?}"),
    }
}

/// A key's content as an `RdbValue`, read with ordinary commands; sets and
/// hashes sorted, sorted sets in score order.
fn read_value(c: &mut Client, key: &[u8]) -> RdbValue {
    let kind = match c.call(&[&b"TYPE"[..], key]) {
        Frame::Simple(t) => t.to_vec(),
        other => panic!("TYPE: {other:?}"),
    };
    match &kind[..] {
        b"string" => RdbValue::String(bytes_of(c.call(&[&b"GET"[..], key]))),
        b"list" => RdbValue::List(items(c.call(&[&b"LRANGE"[..], key, b"0", b"-1"]))),
        b"set" => {
            let mut m = items(c.call(&[&b"SMEMBERS"[..], key]));
            m.sort();
            RdbValue::Set(m)
        }
        b"hash" => {
            let flat = items(c.call(&[&b"HGETALL"[..], key]));
            let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = flat
                .chunks(2)
                .map(|p| (p[0].clone(), p[1].clone()))
                .collect();
            pairs.sort();
            RdbValue::Hash(pairs)
        }
        b"zset" => {
            let flat = items(c.call(&[&b"ZRANGE"[..], key, b"0", b"-1", b"WITHSCORES"]));
            RdbValue::ZSet(
                flat.chunks(2)
                    .map(|p| {
                        let score = String::from_utf8_lossy(&p[1]).parse().expect("score");
                        (p[0].clone(), score)
                    })
                    .collect(),
            )
        }
        other => panic!("unexpected type {other:?}"),
    }
}

/// `v` as `read_value` reports it.
fn canonical(v: &RdbValue) -> RdbValue {
    match v.clone() {
        RdbValue::Set(mut m) => {
            m.sort();
            RdbValue::Set(m)
        }
        RdbValue::Hash(mut p) => {
            p.sort();
            RdbValue::Hash(p)
        }
        RdbValue::ZSet(mut p) => {
            p.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
            RdbValue::ZSet(p.into_iter().map(|(m, s)| (m, s + 0.0)).collect())
        }
        other => other,
    }
}

/// Values of every type and both encodings, with what Redis is expected
/// to DUMP for them: our bytes where the encoding fixes the order.
fn samples() -> Vec<(&'static str, RdbObject, bool)> {
    let obj = |value, encoding| RdbObject { value, encoding };
    let c = Encoding::Compact;
    let f = Encoding::Full;
    vec![
        ("str-int", obj(RdbValue::String(s("-12345")), c), true),
        (
            "str-long",
            obj(RdbValue::String(s("hello ".repeat(50))), c),
            true,
        ),
        (
            "str-bin",
            obj(RdbValue::String((0..=255u8).collect()), c),
            true,
        ),
        (
            "list",
            obj(
                RdbValue::List((0..3000).map(|i| s(format!("item-{}", i % 7))).collect()),
                c,
            ),
            true,
        ),
        (
            "list-mixed",
            obj(
                RdbValue::List(vec![
                    s("1"),
                    s(""),
                    s("-70000"),
                    s("x".repeat(9000)),
                    s("y"),
                ]),
                c,
            ),
            true,
        ),
        (
            "intset",
            obj(RdbValue::Set(vec![s("9"), s("-3"), s("70000")]), c),
            true,
        ),
        (
            "set",
            obj(RdbValue::Set(vec![s("a"), s("b"), s("3")]), f),
            false,
        ),
        (
            "hash-lp",
            obj(
                RdbValue::Hash(vec![(s("f"), s("1")), (s("g"), s("two")), (s("0"), s(""))]),
                c,
            ),
            true,
        ),
        (
            "hash-ht",
            obj(
                RdbValue::Hash(
                    (0..700)
                        .map(|i| (s(format!("f{i}")), s(format!("{i}"))))
                        .collect(),
                ),
                f,
            ),
            false,
        ),
        (
            "zset-lp",
            obj(
                RdbValue::ZSet(vec![
                    (s("n"), f64::NEG_INFINITY),
                    (s("a"), -2.5),
                    (s("b"), 3.0),
                    (s("c"), 0.1),
                    (s("d"), f64::INFINITY),
                ])
                .sorted(),
                c,
            ),
            true,
        ),
        (
            "zset-sl",
            obj(
                RdbValue::ZSet(
                    (0..200)
                        .rev()
                        .map(|i| (s(format!("m{i}")), f64::from(i) / 4.0))
                        .collect(),
                ),
                f,
            ),
            true,
        ),
    ]
}

trait Sorted {
    fn sorted(self) -> Self;
}

impl Sorted for RdbValue {
    /// A sorted set's items in `(score, member)` order, as a listpack holds them.
    fn sorted(self) -> Self {
        match self {
            RdbValue::ZSet(mut p) => {
                p.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
                RdbValue::ZSet(p)
            }
            other => other,
        }
    }
}

#[test]
fn our_payloads_restore_on_redis() {
    let redis = Server::redis(&[]);
    let mut c = redis.client();
    for (name, obj, same_bytes) in samples() {
        let payload = obj.to_dump(&EncodeOptions::default());
        assert_eq!(
            c.call(&[&b"RESTORE"[..], name.as_bytes(), b"0", &payload]),
            ok(),
            "{name}"
        );
        assert_eq!(
            read_value(&mut c, name.as_bytes()),
            canonical(&obj.value),
            "{name}"
        );
        let theirs = bytes_of(c.call(&["DUMP", name]));
        if same_bytes {
            assert!(theirs == payload, "{name}: Redis dumps other bytes");
        }
        assert_eq!(
            RdbObject::from_dump(&theirs).map(|o| canonical(&o.value)),
            Ok(canonical(&obj.value)),
            "{name}"
        );
    }
}

/// A ziplist of strings (Redis 7 reads these, but no longer writes them).
fn ziplist(items: &[&[u8]]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut prev = 0usize;
    let mut tail = 10;
    for item in items {
        assert!(item.len() < 64);
        tail = 10 + body.len();
        body.push(prev as u8);
        body.push(item.len() as u8);
        body.extend_from_slice(item);
        prev = 2 + item.len();
    }
    let total = 10 + body.len() + 1;
    let mut zl = Vec::new();
    zl.extend_from_slice(&(total as u32).to_le_bytes());
    zl.extend_from_slice(&(tail as u32).to_le_bytes());
    zl.extend_from_slice(&(items.len() as u16).to_le_bytes());
    zl.extend_from_slice(&body);
    zl.push(0xff);
    zl
}

/// A payload of `body` (type byte and object), with an older RDB version.
fn payload(body: &[u8], version: u16) -> Vec<u8> {
    let mut out = body.to_vec();
    out.extend_from_slice(&version.to_le_bytes());
    let crc = crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// A plain RDB string: 6-bit length and bytes.
fn raw(b: &[u8]) -> Vec<u8> {
    assert!(b.len() < 64);
    let mut v = vec![b.len() as u8];
    v.extend_from_slice(b);
    v
}

fn legacy_payloads() -> Vec<(&'static str, Vec<u8>, RdbValue)> {
    let list = RdbValue::List(vec![s("a"), s("bb"), s("c")]);
    let hash = RdbValue::Hash(vec![(s("f"), s("v")), (s("g"), s("w"))]);
    let zl_list = ziplist(&[b"a", b"bb", b"c"]);
    let zl_hash = ziplist(&[b"f", b"v", b"g", b"w"]);
    // Sorted by score, as Redis keeps it (it does not sort on load).
    let zl_zset = ziplist(&[b"n", b"-2", b"m", b"1.5"]);
    let cat = |parts: &[&[u8]]| parts.concat();
    vec![
        (
            "list-1",
            cat(&[&[1, 3], &raw(b"a"), &raw(b"bb"), &raw(b"c")]),
            list.clone(),
        ),
        ("list-10", cat(&[&[10], &raw(&zl_list)]), list.clone()),
        (
            "list-14",
            cat(&[
                &[14, 2],
                &raw(&ziplist(&[b"a"])),
                &raw(&ziplist(&[b"bb", b"c"])),
            ]),
            list,
        ),
        ("hash-13", cat(&[&[13], &raw(&zl_hash)]), hash.clone()),
        (
            "hash-9",
            cat(&[&[9], &raw(b"\x02\x01f\x01\x00v\x01g\x01\x00w\xff")]),
            hash,
        ),
        (
            "zset-12",
            cat(&[&[12], &raw(&zl_zset)]),
            RdbValue::ZSet(vec![(s("n"), -2.0), (s("m"), 1.5)]),
        ),
        (
            "zset-3",
            cat(&[&[3, 2], &raw(b"m"), b"\x031.5", &raw(b"n"), &[255]]),
            RdbValue::ZSet(vec![(s("n"), f64::NEG_INFINITY), (s("m"), 1.5)]),
        ),
    ]
}

#[test]
fn legacy_encodings_read_as_redis_reads_them() {
    let redis = Server::redis(&[]);
    let mut c = redis.client();
    for (name, body, want) in legacy_payloads() {
        let p = payload(&body, 9);
        assert_eq!(
            c.call(&[&b"RESTORE"[..], name.as_bytes(), b"0", &p]),
            ok(),
            "{name}"
        );
        assert_eq!(
            read_value(&mut c, name.as_bytes()),
            canonical(&want),
            "{name}"
        );
        let ours = RdbObject::from_dump(&p).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(canonical(&ours.value), canonical(&want), "{name}");
    }
}

#[test]
fn node_dump_and_restore() {
    let node = Server::ferrodis(&[]);
    let mut c = node.client();
    assert_eq!(c.cmd("SET foo bar"), ok());
    let dumped = bytes_of(c.cmd("DUMP foo"));
    assert_eq!(dumped, payload(&[0, 3, b'b', b'a', b'r'], 10));
    assert_eq!(c.cmd("DUMP nosuchkey"), Frame::NullBulk);
    let restore = |c: &mut Client, args: &[&[u8]]| {
        let mut all: Vec<&[u8]> = vec![b"RESTORE"];
        all.extend_from_slice(args);
        c.call(&all)
    };
    assert_eq!(
        restore(&mut c, &[b"foo", b"0", &dumped]),
        error("BUSYKEY Target key name already exists.")
    );
    assert_eq!(
        restore(&mut c, &[b"foo", b"0", b"..."]),
        error("BUSYKEY Target key name already exists.")
    );
    assert_eq!(
        restore(&mut c, &[b"foo", b"0", b"...", b"invalid-option"]),
        error("ERR syntax error")
    );
    assert_eq!(c.cmd("DEL foo"), int(1));
    assert_eq!(restore(&mut c, &[b"foo", b"0", &dumped]), ok());
    assert_eq!(c.cmd("GET foo"), bulk("bar"));
    assert_eq!(c.cmd("TTL foo"), int(-1));
    assert_eq!(
        restore(&mut c, &[b"foo", b"5000", &dumped, b"REPLACE"]),
        ok()
    );
    let Frame::Integer(pttl) = c.cmd("PTTL foo") else {
        panic!("PTTL")
    };
    assert!((3000..=5000).contains(&pttl), "{pttl}");
    // ABSTTL in the past: the key goes away, the reply is still OK.
    assert_eq!(
        restore(&mut c, &[b"foo", b"1000", &dumped, b"REPLACE", b"ABSTTL"]),
        ok()
    );
    assert_eq!(c.cmd("EXISTS foo"), int(0));
    assert_eq!(
        restore(&mut c, &[b"foo", b"0", &dumped, b"IDLETIME", b"1000"]),
        ok()
    );
    assert_eq!(c.cmd("OBJECT IDLETIME foo"), int(1000));
    assert_eq!(
        restore(&mut c, &[b"x", b"-1", &dumped]),
        error("ERR Invalid TTL value, must be >= 0")
    );
    assert_eq!(
        restore(&mut c, &[b"x", b"abc", &dumped]),
        error("ERR value is not an integer or out of range")
    );
    assert_eq!(
        restore(&mut c, &[b"x", b"0", &dumped, b"IDLETIME", b"-1"]),
        error("ERR Invalid IDLETIME value, must be >= 0")
    );
    assert_eq!(
        restore(&mut c, &[b"x", b"0", &dumped, b"FREQ", b"256"]),
        error("ERR Invalid FREQ value, must be >= 0 and <= 255")
    );
    assert_eq!(
        restore(
            &mut c,
            &[b"x", b"0", &dumped, b"FREQ", b"1", b"IDLETIME", b"1"]
        ),
        error("ERR syntax error")
    );
    assert_eq!(
        restore(&mut c, &[b"x", b"0", &dumped, b"IDLETIME"]),
        error("ERR syntax error")
    );
    let wrong = error("ERR DUMP payload version or checksum are wrong");
    let mut flipped = dumped.clone();
    flipped[2] ^= 1;
    assert_eq!(restore(&mut c, &[b"x", b"0", &flipped]), wrong);
    assert_eq!(restore(&mut c, &[b"x", b"0", b"short"]), wrong);
    assert_eq!(
        restore(&mut c, &[b"x", b"0", &payload(&[0, 1, b'a'], 11)]),
        wrong
    );
    assert_eq!(
        restore(&mut c, &[b"x", b"0", &payload(&[0, 5, b'a'], 10)]),
        error("ERR Bad data format")
    );
    assert_eq!(
        restore(&mut c, &[b"x", b"0", &payload(&[15, 0], 10)]),
        error("ERR Bad data format")
    );
    assert_eq!(c.call(&[&b"RESTORE-ASKING"[..], b"y", b"0", &dumped]), ok());
    assert_eq!(c.cmd("GET y"), bulk("bar"));
    assert_eq!(
        c.cmd("DUMP"),
        error("ERR wrong number of arguments for 'dump' command")
    );
    assert_eq!(
        c.cmd("RESTORE a 0"),
        error("ERR wrong number of arguments for 'restore' command")
    );
}

/// The same commands on both servers.
fn populate(c: &mut Client) {
    for line in [
        "SET s1 12",
        "SET s2 hello",
        "SADD iset 5 -1 300",
        "SADD set a b c 1",
        "HSET h field value n 42",
        "ZADD z 1 one 2.5 two -3 three",
    ] {
        let reply = c.cmd(line);
        assert!(!matches!(reply, Frame::Error(_)), "{line}: {reply:?}");
    }
    let long = "x".repeat(3000);
    assert_eq!(c.call(&["SET", "s3", &long]), ok());
    let fields: Vec<String> = (0..600)
        .flat_map(|i| [format!("f{i}"), i.to_string()])
        .collect();
    let mut hset = vec!["HSET".to_owned(), "bigh".to_owned()];
    hset.extend(fields);
    assert_eq!(c.call(&hset), int(600));
    let mut zadd = vec!["ZADD".to_owned(), "bigz".to_owned()];
    zadd.extend((0..200).flat_map(|i| [i.to_string(), format!("m{i}")]));
    assert_eq!(c.call(&zadd), int(200));
}

const KEYS: [&str; 9] = ["s1", "s2", "s3", "iset", "set", "h", "z", "bigh", "bigz"];

#[test]
fn payloads_cross_between_redis_and_ferrodis() {
    let redis = Server::redis(&[]);
    let node = Server::ferrodis(&[]);
    let (mut r, mut n) = (redis.client(), node.client());
    populate(&mut r);
    populate(&mut n);
    for key in KEYS {
        let from_redis = bytes_of(r.call(&["DUMP", key]));
        let from_node = bytes_of(n.call(&["DUMP", key]));
        // Encodings with a defined order dump to the same bytes.
        if matches!(key, "s1" | "s2" | "s3" | "iset" | "h" | "z" | "bigz") {
            assert!(from_redis == from_node, "{key}: dumps differ");
        }
        let copy = format!("{key}-copy");
        assert_eq!(
            n.call(&[&b"RESTORE"[..], copy.as_bytes(), b"0", &from_redis]),
            ok(),
            "{key}"
        );
        assert_eq!(
            r.call(&[&b"RESTORE"[..], copy.as_bytes(), b"0", &from_node]),
            ok(),
            "{key}"
        );
        let want = read_value(&mut r, key.as_bytes());
        assert_eq!(read_value(&mut n, copy.as_bytes()), want, "{key}");
        assert_eq!(read_value(&mut r, copy.as_bytes()), want, "{key}");
        assert_eq!(
            n.call(&["OBJECT", "ENCODING", &copy]),
            n.call(&["OBJECT", "ENCODING", key]),
            "{key}"
        );
    }
}
