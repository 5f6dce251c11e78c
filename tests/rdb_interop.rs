//! RDB files against the reference, Debian's `redis-server` 7.0.15: files
//! it `SAVE`s (every type and encoding, TTLs, several databases, LRU and
//! LFU attributes, with and without compression and checksum) read back
//! with `RdbReader` as exactly what was written into it; files
//! `RdbWriter` writes load into it as exactly what they hold, and match
//! its own files byte for byte where its order is defined; a file holding
//! function libraries is refused with `RdbFileError::Functions`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ferrodis_persist::{
    EncodeOptions, Encoding, RdbEntry, RdbFileError, RdbItem, RdbObject, RdbReader, RdbValue,
    RdbWriter, ReplAux, StandardAux, WriteOptions, OPCODE_FUNCTION2,
};
use ferrodis_resp::Frame;
use ferrodis_suite::{Client, Server};

fn s(x: impl AsRef<[u8]>) -> Vec<u8> {
    x.as_ref().to_vec()
}

/// A fresh directory for one server's files.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "ferrodis-rdb-interop-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn str(&self) -> &str {
        self.0.to_str().expect("utf-8 temp dir")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts `redis-server` with its files in `dir` (file `dump.rdb`), and
/// waits until it has loaded whatever is there.
fn redis(dir: &TempDir, extra: &[&str]) -> (Server, Client) {
    let mut args = vec![
        "--dir",
        dir.str(),
        "--dbfilename",
        "dump.rdb",
        "--enable-debug-command",
        "yes",
    ];
    args.extend_from_slice(extra);
    let server = Server::redis(&args);
    let mut c = server.client();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match c.call(&["PING"]) {
            Frame::Simple(_) => break,
            Frame::Error(e) if e.starts_with(b"LOADING") && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => panic!("PING: {other:?}"),
        }
    }
    (server, c)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64
}

/// One key of the test data set.
#[derive(Debug, Clone)]
struct Key {
    db: u64,
    key: Vec<u8>,
    object: RdbObject,
    expire_at_ms: Option<u64>,
    /// What `OBJECT ENCODING` says for it.
    redis_encoding: &'static str,
}

/// xorshift32 noise: incompressible bytes, zeros included.
fn noise(n: usize) -> Vec<u8> {
    let mut x: u32 = 2463534242;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Every type in each of its encodings, over three databases, some keys
/// with a TTL.
fn dataset(expire_at: u64) -> Vec<Key> {
    let c = Encoding::Compact;
    let f = Encoding::Full;
    let key = |db: u64, k: &[u8], value: RdbValue, encoding, redis_encoding| Key {
        db,
        key: k.to_vec(),
        object: RdbObject { value, encoding },
        expire_at_ms: None,
        redis_encoding,
    };
    let string = |v: Vec<u8>| RdbValue::String(v);
    let pairs = |n: usize, f: &dyn Fn(usize) -> (Vec<u8>, Vec<u8>)| (0..n).map(f).collect();
    let mut keys = vec![
        // Strings: integers of every width, short, empty, long compressible
        // and incompressible; integer and compressible keys.
        key(0, b"int8", string(s("-7")), c, "int"),
        key(0, b"int16", string(s("12345")), c, "int"),
        key(0, b"int32", string(s("-1234567")), c, "int"),
        key(0, b"int64", string(s("12345678901")), c, "int"),
        key(0, b"short", string(s("hello")), c, "embstr"),
        key(0, b"empty", string(s("")), c, "embstr"),
        key(0, b"long-lzf", string(s("abc".repeat(100))), c, "raw"),
        key(0, b"long-noise", string(noise(200)), c, "raw"),
        key(0, b"1234", string(s("integer key")), c, "embstr"),
        key(
            0,
            &s(format!("key:{}", "x".repeat(40))),
            string(s("v")),
            c,
            "embstr",
        ),
        key(0, b"ttl-str", string(s("x")), c, "embstr"),
        // Lists: one node, several nodes.
        key(
            3,
            b"list-small",
            RdbValue::List(vec![s("a"), s("1"), s("-70000"), s("")]),
            c,
            "quicklist",
        ),
        key(
            3,
            b"list-big",
            RdbValue::List((0..300).map(|i| s(format!("{i:080}"))).collect()),
            c,
            "quicklist",
        ),
        // Hashes: listpack; hashtable by count and by value length.
        key(
            3,
            b"hash-small",
            RdbValue::Hash(vec![(s("f"), s("1")), (s("g"), s("two")), (s("0"), s(""))]),
            c,
            "listpack",
        ),
        key(
            3,
            b"hash-many",
            RdbValue::Hash(pairs(600, &|i| (s(format!("f{i}")), s(format!("{i}"))))),
            f,
            "hashtable",
        ),
        key(
            3,
            b"hash-longval",
            RdbValue::Hash(vec![(s("a"), s("b")), (s("long"), s("v".repeat(100)))]),
            f,
            "hashtable",
        ),
        // Sets: intset; hashtable by content and by count.
        key(
            3,
            b"set-int",
            RdbValue::Set(vec![s("-3"), s("9"), s("70000"), s("5000000000")]),
            c,
            "intset",
        ),
        key(
            3,
            b"set-str",
            RdbValue::Set(vec![s("a"), s("b"), s("3")]),
            f,
            "hashtable",
        ),
        key(
            3,
            b"set-manyint",
            RdbValue::Set((0..600).map(|i| s(format!("{}", i * 7))).collect()),
            f,
            "hashtable",
        ),
        key(
            3,
            b"ttl-hash",
            RdbValue::Hash(vec![(s("k"), s("v"))]),
            c,
            "listpack",
        ),
        // Sorted sets: listpack; skiplist by count and by member length.
        key(
            15,
            b"zset-small",
            RdbValue::ZSet(vec![
                (s("n"), f64::NEG_INFINITY),
                (s("a"), -2.5),
                (s("c"), 0.1),
                (s("b"), 3.0),
                (s("d"), f64::INFINITY),
            ]),
            c,
            "listpack",
        ),
        key(
            15,
            b"zset-big",
            RdbValue::ZSet(
                (0..200)
                    .rev()
                    .map(|i| (s(format!("m{i}")), f64::from(i) / 4.0))
                    .collect(),
            ),
            f,
            "skiplist",
        ),
        key(
            15,
            b"zset-longmember",
            RdbValue::ZSet(vec![(s("z".repeat(100)), 2.0), (s("a"), 1.0)]),
            f,
            "skiplist",
        ),
        key(
            15,
            b"ttl-zset",
            RdbValue::ZSet(vec![(s("m"), 1.0)]),
            c,
            "listpack",
        ),
    ];
    for k in &mut keys {
        if k.key.starts_with(b"ttl-") {
            k.expire_at_ms = Some(expire_at);
        }
    }
    keys
}

fn check_ok(reply: Frame, what: &str) {
    assert!(!matches!(reply, Frame::Error(_)), "{what}: {reply:?}");
}

/// Writes `keys` into a server with commands.
fn fill(c: &mut Client, keys: &[Key]) {
    for k in keys {
        check_ok(c.call(&[s("SELECT"), s(k.db.to_string())]), "SELECT");
        let mut args: Vec<Vec<u8>> = Vec::new();
        match &k.object.value {
            RdbValue::String(v) => args.extend([s("SET"), k.key.clone(), v.clone()]),
            RdbValue::List(items) => {
                args.extend([s("RPUSH"), k.key.clone()]);
                args.extend(items.iter().cloned());
            }
            RdbValue::Set(members) => {
                args.extend([s("SADD"), k.key.clone()]);
                args.extend(members.iter().cloned());
            }
            RdbValue::Hash(pairs) => {
                args.extend([s("HSET"), k.key.clone()]);
                for (f, v) in pairs {
                    args.extend([f.clone(), v.clone()]);
                }
            }
            RdbValue::ZSet(items) => {
                args.extend([s("ZADD"), k.key.clone()]);
                for (m, score) in items {
                    args.extend([s(score.to_string()), m.clone()]);
                }
            }
        }
        check_ok(c.call(&args), "fill");
        if let Some(at) = k.expire_at_ms {
            let reply = c.call(&[s("PEXPIREAT"), k.key.clone(), s(at.to_string())]);
            assert_eq!(reply, Frame::Integer(1));
        }
        let enc = c.call(&[s("OBJECT"), s("ENCODING"), k.key.clone()]);
        assert_eq!(
            enc,
            Frame::Bulk(k.redis_encoding.as_bytes().to_vec().into()),
            "{:?}",
            String::from_utf8_lossy(&k.key)
        );
    }
}

/// `v` with the order Redis does not define taken out: sets and hashes
/// sorted, sorted sets in (score, member) order.
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
            RdbValue::ZSet(p)
        }
        other => other,
    }
}

/// What a file holds.
#[derive(Debug, Default)]
struct Contents {
    aux: Vec<(String, String)>,
    /// (keys, expires) hints by database.
    sizes: BTreeMap<u64, (u64, u64)>,
    /// Keys by (database, key).
    keys: BTreeMap<(u64, Vec<u8>), RdbEntry>,
}

fn read_file(bytes: &[u8]) -> Contents {
    let mut r = RdbReader::new(bytes).expect("RDB header");
    assert_eq!(r.version(), 10);
    let mut out = Contents::default();
    let mut db = None;
    while let Some(item) = r.next_item().unwrap_or_else(|e| panic!("{e}")) {
        match item {
            RdbItem::Aux { key, value } => out.aux.push((
                String::from_utf8(key).expect("utf-8 aux key"),
                String::from_utf8(value).expect("utf-8 aux value"),
            )),
            RdbItem::SelectDb(n) => db = Some(n),
            RdbItem::ResizeDb { keys, expires } => {
                out.sizes
                    .insert(db.expect("SELECTDB first"), (keys, expires));
            }
            RdbItem::Entry(e) => {
                let db = db.expect("SELECTDB before keys");
                assert!(out.keys.insert((db, e.key.clone()), e).is_none());
            }
        }
    }
    assert_eq!(r.offset(), bytes.len(), "the whole file is read");
    out
}

/// Checks that `got` holds exactly `keys` with their TTLs and encodings.
fn assert_holds(got: &Contents, keys: &[Key]) {
    assert_eq!(got.keys.len(), keys.len());
    for k in keys {
        let e = got
            .keys
            .get(&(k.db, k.key.clone()))
            .unwrap_or_else(|| panic!("{:?} missing", String::from_utf8_lossy(&k.key)));
        let name = String::from_utf8_lossy(&k.key);
        assert_eq!(
            canonical(&e.object.value),
            canonical(&k.object.value),
            "{name}"
        );
        assert_eq!(e.object.encoding, k.object.encoding, "{name}");
        assert_eq!(e.expire_at_ms, k.expire_at_ms, "{name}");
    }
    let mut want_sizes: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    for k in keys {
        let e = want_sizes.entry(k.db).or_default();
        e.0 += 1;
        e.1 += u64::from(k.expire_at_ms.is_some());
    }
    assert_eq!(got.sizes, want_sizes);
}

fn save(c: &mut Client, dir: &TempDir) -> Vec<u8> {
    assert_eq!(c.call(&["SAVE"]), Frame::Simple("OK".into()));
    std::fs::read(dir.path().join("dump.rdb")).expect("read dump.rdb")
}

#[test]
fn reads_what_redis_saves() {
    let expire_at = now_ms() + 3_600_000;
    let keys = dataset(expire_at);
    for (name, extra) in [
        ("default", &[][..]),
        (
            "plain-lru",
            &[
                "--rdbcompression",
                "no",
                "--rdbchecksum",
                "no",
                "--maxmemory-policy",
                "allkeys-lru",
            ][..],
        ),
        ("lfu", &["--maxmemory-policy", "allkeys-lfu"][..]),
    ] {
        let dir = TempDir::new(&format!("save-{name}"));
        let (_server, mut c) = redis(&dir, extra);
        fill(&mut c, &keys);
        let file = save(&mut c, &dir);
        let got = read_file(&file);
        assert_holds(&got, &keys);

        let aux: BTreeMap<&str, &str> = got
            .aux
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(aux.get("redis-ver"), Some(&"7.0.15"), "{name}");
        assert_eq!(aux.get("redis-bits"), Some(&"64"));
        assert_eq!(aux.get("aof-base"), Some(&"0"));
        assert!(aux.contains_key("ctime") && aux.contains_key("used-mem"));

        let crc = &file[file.len() - 8..];
        let long = "abc".repeat(100);
        let stored_as_is = file.windows(long.len()).any(|w| w == long.as_bytes());
        match name {
            "plain-lru" => {
                assert_eq!(crc, [0; 8], "rdbchecksum no");
                // Uncompressed: the long string is there as is.
                assert!(stored_as_is, "rdbcompression no");
                assert!(got
                    .keys
                    .values()
                    .all(|e| e.idle_seconds.is_some() && e.freq.is_none()));
            }
            "lfu" => {
                assert!(got
                    .keys
                    .values()
                    .all(|e| e.freq.is_some() && e.idle_seconds.is_none()));
            }
            _ => {
                assert_ne!(crc, [0; 8]);
                assert!(!stored_as_is, "rdbcompression yes");
                assert!(got
                    .keys
                    .values()
                    .all(|e| e.freq.is_none() && e.idle_seconds.is_none()));
            }
        }
    }
}

#[test]
fn reads_plain_list_nodes() {
    // Elements over the packed threshold go into nodes of their own.
    let dir = TempDir::new("plain-nodes");
    let (_server, mut c) = redis(&dir, &[]);
    check_ok(
        c.call(&["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1000"]),
        "DEBUG",
    );
    let items = vec![s("a"), s("x".repeat(2000)), s("b"), s("y".repeat(3000))];
    let mut args = vec![s("RPUSH"), s("l")];
    args.extend(items.iter().cloned());
    check_ok(c.call(&args), "RPUSH");
    let file = save(&mut c, &dir);
    let got = read_file(&file);
    let e = got.keys.get(&(0, s("l"))).expect("the list");
    assert_eq!(e.object.value, RdbValue::List(items));
}

/// Keys one per database, so that the file's order is defined, with
/// values whose encoding fixes their order.
fn ordered_dataset(expire_at: u64) -> Vec<Key> {
    let wanted = [
        "int16",
        "int64",
        "long-lzf",
        "long-noise",
        "1234",
        "ttl-str",
        "list-big",
        "hash-small",
        "set-int",
        "zset-small",
        "zset-big",
        "zset-longmember",
        "ttl-zset",
    ];
    let mut keys: Vec<Key> = dataset(expire_at)
        .into_iter()
        .filter(|k| wanted.contains(&String::from_utf8_lossy(&k.key).as_ref()))
        .collect();
    for (db, k) in keys.iter_mut().enumerate() {
        k.db = db as u64;
        // A skiplist is saved from its greatest member down; a listpack
        // holds (score, member) order.
        if let RdbValue::ZSet(items) = &mut k.object.value {
            items.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
            if k.object.encoding == Encoding::Full {
                items.reverse();
            }
        }
    }
    keys
}

/// Writes `keys` as a file, with the auxiliary fields given.
fn write_file(keys: &[Key], opts: WriteOptions, aux: &StandardAux<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = RdbWriter::new(opts, &mut out);
    w.standard_aux(&mut out, aux);
    let mut by_db: BTreeMap<u64, Vec<&Key>> = BTreeMap::new();
    for k in keys {
        by_db.entry(k.db).or_default().push(k);
    }
    for (db, ks) in by_db {
        let expires = ks.iter().filter(|k| k.expire_at_ms.is_some()).count() as u64;
        w.select_db(&mut out, db, ks.len() as u64, expires);
        for k in ks {
            w.entry(&mut out, &k.key, &k.object, k.expire_at_ms, None, None);
        }
    }
    w.finish(&mut out);
    out
}

#[test]
fn writes_what_redis_saves_byte_for_byte() {
    let expire_at = now_ms() + 3_600_000;
    let keys = ordered_dataset(expire_at);
    for compression in [true, false] {
        let dir = TempDir::new(&format!("bytes-{compression}"));
        let z = if compression { "yes" } else { "no" };
        let (_server, mut c) = redis(&dir, &["--rdbcompression", z]);
        fill(&mut c, &keys);
        let theirs = save(&mut c, &dir);
        // Redis' own values for the fields that vary.
        let got = read_file(&theirs);
        let field = |name: &str| {
            got.aux
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("no {name}"))
        };
        let repl_id = got
            .aux
            .iter()
            .find(|(k, _)| k == "repl-id")
            .map(|(_, v)| v.clone());
        let aux = StandardAux {
            redis_ver: &field("redis-ver"),
            ctime: field("ctime").parse().expect("ctime"),
            used_mem: field("used-mem").parse().expect("used-mem"),
            repl: repl_id.as_deref().map(|id| ReplAux {
                stream_db: field("repl-stream-db").parse().expect("repl-stream-db"),
                id,
                offset: field("repl-offset").parse().expect("repl-offset"),
            }),
            aof_base: field("aof-base") == "1",
        };
        let opts = WriteOptions {
            compression,
            checksum: true,
            encode: EncodeOptions::default(),
        };
        let ours = write_file(&keys, opts, &aux);
        assert!(
            ours == theirs,
            "compression {compression}: files differ\n ours: {ours:02x?}\ntheirs: {theirs:02x?}"
        );
    }
}

/// A key's content as an `RdbValue`, read with ordinary commands.
fn read_value(c: &mut Client, key: &[u8]) -> RdbValue {
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
    let kind = match c.call(&[&b"TYPE"[..], key]) {
        Frame::Simple(t) => t.to_vec(),
        other => panic!("TYPE: {other:?}"),
    };
    match &kind[..] {
        b"string" => RdbValue::String(bytes_of(c.call(&[&b"GET"[..], key]))),
        b"list" => RdbValue::List(items(c.call(&[&b"LRANGE"[..], key, b"0", b"-1"]))),
        b"set" => RdbValue::Set(items(c.call(&[&b"SMEMBERS"[..], key]))),
        b"hash" => RdbValue::Hash(
            items(c.call(&[&b"HGETALL"[..], key]))
                .chunks(2)
                .map(|p| (p[0].clone(), p[1].clone()))
                .collect(),
        ),
        b"zset" => RdbValue::ZSet(
            items(c.call(&[&b"ZRANGE"[..], key, b"0", b"-1", b"WITHSCORES"]))
                .chunks(2)
                .map(|p| {
                    let score = String::from_utf8_lossy(&p[1]).parse().expect("score");
                    (p[0].clone(), score)
                })
                .collect(),
        ),
        other => panic!("unexpected type {other:?}"),
    }
}

#[test]
fn redis_loads_what_we_write() {
    let expire_at = now_ms() + 3_600_000;
    let keys = dataset(expire_at);
    let aux = StandardAux {
        redis_ver: "7.0.15",
        ctime: (now_ms() / 1000) as i64,
        used_mem: 1 << 20,
        repl: None,
        aof_base: false,
    };
    for (compression, checksum) in [(true, true), (false, false), (true, false)] {
        let dir = TempDir::new(&format!("load-{compression}-{checksum}"));
        let opts = WriteOptions {
            compression,
            checksum,
            encode: EncodeOptions::default(),
        };
        let file = write_file(&keys, opts, &aux);
        std::fs::write(dir.path().join("dump.rdb"), &file).expect("write dump.rdb");
        let (_server, mut c) = redis(&dir, &[]);
        let what = format!("compression {compression}, checksum {checksum}");
        for db in [0u64, 3, 15] {
            check_ok(c.call(&[s("SELECT"), s(db.to_string())]), "SELECT");
            let n = keys.iter().filter(|k| k.db == db).count() as i64;
            assert_eq!(c.call(&["DBSIZE"]), Frame::Integer(n), "{what}: db {db}");
            for k in keys.iter().filter(|k| k.db == db) {
                let name = String::from_utf8_lossy(&k.key);
                assert_eq!(
                    canonical(&read_value(&mut c, &k.key)),
                    canonical(&k.object.value),
                    "{what}: {name}"
                );
                let enc = c.call(&[s("OBJECT"), s("ENCODING"), k.key.clone()]);
                assert_eq!(
                    enc,
                    Frame::Bulk(k.redis_encoding.as_bytes().to_vec().into()),
                    "{what}: {name}"
                );
                let pttl = match c.call(&[s("PTTL"), k.key.clone()]) {
                    Frame::Integer(n) => n,
                    other => panic!("PTTL: {other:?}"),
                };
                match k.expire_at_ms {
                    None => assert_eq!(pttl, -1, "{what}: {name}"),
                    Some(at) => {
                        let left = at as i64 - now_ms() as i64;
                        assert!(
                            pttl > 0 && pttl <= left + 1 && pttl > left - 60_000,
                            "{what}: {name}: {pttl}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn redis_loads_idle_times_and_frequencies() {
    let k = RdbObject {
        value: RdbValue::String(s("v")),
        encoding: Encoding::Compact,
    };
    let write = |idle: Option<u64>, freq: Option<u8>| {
        let mut out = Vec::new();
        let mut w = RdbWriter::new(WriteOptions::default(), &mut out);
        w.select_db(&mut out, 0, 1, 0);
        w.entry(&mut out, b"k", &k, None, idle, freq);
        w.finish(&mut out);
        out
    };
    let dir = TempDir::new("lru");
    std::fs::write(dir.path().join("dump.rdb"), write(Some(5000), None)).expect("write");
    let (_server, mut c) = redis(&dir, &["--maxmemory-policy", "allkeys-lru"]);
    match c.call(&["OBJECT", "IDLETIME", "k"]) {
        Frame::Integer(n) => assert!((5000..5100).contains(&n), "idle {n}"),
        other => panic!("{other:?}"),
    }
    let dir = TempDir::new("lfu");
    std::fs::write(dir.path().join("dump.rdb"), write(None, Some(77))).expect("write");
    let (_server, mut c) = redis(&dir, &["--maxmemory-policy", "allkeys-lfu"]);
    assert_eq!(c.call(&["OBJECT", "FREQ", "k"]), Frame::Integer(77));
}

#[test]
fn function_libraries_are_refused() {
    let dir = TempDir::new("functions");
    let (_server, mut c) = redis(&dir, &[]);
    check_ok(
        c.call(&[
            "FUNCTION",
            "LOAD",
            "#!lua name=lib\nredis.register_function('f', function() return 1 end)",
        ]),
        "FUNCTION LOAD",
    );
    check_ok(c.call(&["SET", "k", "v"]), "SET");
    let file = save(&mut c, &dir);
    let mut r = RdbReader::new(&file).expect("header");
    let err = loop {
        match r.next_item() {
            Ok(Some(RdbItem::Aux { .. })) => {}
            Ok(other) => panic!("expected aux fields then functions, got {other:?}"),
            Err(e) => break e,
        }
    };
    match err {
        RdbFileError::Functions { offset } => assert_eq!(file[offset], OPCODE_FUNCTION2),
        other => panic!("{other}"),
    }
}
