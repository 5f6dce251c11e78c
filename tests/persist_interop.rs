//! Persistence files cross between Debian's `redis-server` 7.0.15 and
//! `ferrodis-node` both ways: an RDB file one writes, the other loads with
//! the same keys, values, expiry times and (from Redis) encodings; the same
//! for a multi-part AOF directory, with and without an RDB preamble; a
//! truncated or corrupt AOF is handled as `aof-load-truncated` says; and
//! the node keeps its data across DEBUG RELOAD, BGSAVE and SHUTDOWN.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ferrodis_resp::Frame;
use ferrodis_suite::dataset::{self, assert_same, Compare, Dataset};
use ferrodis_suite::reply::{bulk, int, ok, simple};
use ferrodis_suite::{wait_until, Client, Launch, Server, TempDir};

/// Databases compared: all sixteen of a default server.
const DATABASES: usize = 16;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64
}

/// A deterministic string of `len` bytes that LZF cannot compress much.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b'!' + (x % 90) as u8
        })
        .collect()
}

/// Sends every command, then checks that none failed.
fn pipeline(c: &mut Client, commands: &[Vec<Vec<u8>>]) {
    for chunk in commands.chunks(512) {
        for cmd in chunk {
            c.send(cmd);
        }
        for cmd in chunk {
            let reply = c.read();
            assert!(
                !matches!(reply, Frame::Error(_)),
                "{} failed: {reply:?}",
                String::from_utf8_lossy(&cmd[0])
            );
        }
    }
}

/// `["SET", "k", "v"]` → a command.
fn cmd<A: AsRef<[u8]>>(args: &[A]) -> Vec<Vec<u8>> {
    args.iter().map(|a| a.as_ref().to_vec()).collect()
}

/// Fills a server with every type in each of its encodings, keys in
/// databases 0, 3 and 15, and expiry times in the future (absolute times
/// from `at_ms`, so that two servers filled with the same `at_ms` hold the
/// same data). Leaves the client on database 0.
fn fill(c: &mut Client, at_ms: u64) {
    let mut cmds: Vec<Vec<Vec<u8>>> = Vec::new();
    let day = 86_400_000u64;
    let at = |extra: u64| (at_ms + 10 * day + extra).to_string();

    // Strings: integers (int encoding), short (embstr), long (raw), long
    // and compressible, incompressible, binary.
    for (k, v) in [
        ("str:int", "12345"),
        ("str:neg", "-42"),
        ("str:zero", "0"),
        ("str:i64max", "9223372036854775807"),
        ("str:i64min", "-9223372036854775808"),
        ("str:over", "9223372036854775808"),
        ("str:leading0", "007"),
        ("str:short", "hello"),
        ("str:empty", ""),
        ("str:float", "3.14"),
    ] {
        cmds.push(cmd(&["SET", k, v]));
    }
    cmds.push(cmd(&[
        &b"SET"[..],
        b"str:binary",
        b"\x00\r\n\xff\xfe bytes",
    ]));
    cmds.push(cmd(&[&b"SET"[..], b"bin\x00key\r\n", b"binary key"]));
    cmds.push(cmd(&["SET", "str:44", &"x".repeat(44)]));
    cmds.push(cmd(&["SET", "str:45", &"y".repeat(45)]));
    cmds.push(cmd(&["SET", "str:1000a", &"a".repeat(1000)]));
    cmds.push(cmd(&["SET", "str:21a", &"a".repeat(21)]));
    cmds.push(cmd(&[&b"SET"[..], b"str:noise", &noise(1, 300)]));
    cmds.push(cmd(&["SET", "str:100k", &"ab".repeat(50_000)]));
    cmds.push(cmd(&["SET", "str:appended", "abc"]));
    cmds.push(cmd(&["APPEND", "str:appended", "def"]));

    // Lists: listpack, then quicklists of several nodes (many elements,
    // elements over 64 bytes, one element larger than a node).
    cmds.push(cmd(&[
        "RPUSH",
        "list:small",
        "a",
        "b",
        "c",
        "1",
        "2",
        "-3",
        "",
    ]));
    let mut ints = vec!["RPUSH".to_owned(), "list:ints".to_owned()];
    ints.extend((0..1000).map(|i| (i * 7 - 300).to_string()));
    cmds.push(cmd(&ints));
    let mut big = vec!["RPUSH".to_owned(), "list:big".to_owned()];
    big.extend((0..300).map(|i| format!("element-{i}-{}", "z".repeat(i % 120))));
    cmds.push(cmd(&big));
    cmds.push(cmd(&[
        "RPUSH",
        "list:hugeelem",
        "head",
        &"h".repeat(20_000),
        "tail",
    ]));
    cmds.push(cmd(&[
        &b"LPUSH"[..],
        b"list:noise",
        &noise(2, 5000),
        &noise(3, 70),
    ]));

    // Hashes: listpack, hashtable by size, hashtable by value length.
    cmds.push(cmd(&[
        "HSET",
        "hash:small",
        "f1",
        "v1",
        "f2",
        "2",
        "f3",
        "",
    ]));
    let mut hbig = vec!["HSET".to_owned(), "hash:big".to_owned()];
    for i in 0..600 {
        hbig.push(format!("field{i}"));
        hbig.push(format!("value{}", i * 3));
    }
    cmds.push(cmd(&hbig));
    cmds.push(cmd(&[
        "HSET",
        "hash:longval",
        "a",
        &"v".repeat(100),
        "b",
        "1",
    ]));

    // Sets: intset, hashtable by size (integers), hashtable (strings).
    cmds.push(cmd(&[
        "SADD",
        "set:ints",
        "1",
        "2",
        "3",
        "-5",
        "100000",
        "-9223372036854775808",
    ]));
    let mut sbig = vec!["SADD".to_owned(), "set:bigints".to_owned()];
    sbig.extend((0..600).map(|i| i.to_string()));
    cmds.push(cmd(&sbig));
    cmds.push(cmd(&["SADD", "set:strs", "a", "b", "c", "1"]));
    let mut sstr = vec!["SADD".to_owned(), "set:bigstrs".to_owned()];
    sstr.extend((0..300).map(|i| format!("member:{i}")));
    cmds.push(cmd(&sstr));

    // Sorted sets: listpack with special scores, skiplist by size and by
    // member length.
    cmds.push(cmd(&[
        "ZADD",
        "zset:small",
        "1.5",
        "a",
        "-inf",
        "b",
        "inf",
        "c",
        "1e300",
        "d",
        "0",
        "e",
        "-0.25",
        "f",
        "3",
        "g",
        "-1e-300",
        "h",
    ]));
    let mut zbig = vec!["ZADD".to_owned(), "zset:big".to_owned()];
    for i in 0..200 {
        zbig.push(format!("{}", f64::from(i) * 0.5 - 20.0));
        zbig.push(format!("m{i}"));
    }
    cmds.push(cmd(&zbig));
    cmds.push(cmd(&[
        "ZADD",
        "zset:longmember",
        "1",
        &"m".repeat(100),
        "2",
        "short",
    ]));

    // Expiry times on every type, far in the future, with milliseconds.
    cmds.push(cmd(&["SET", "ttl:str", "v", "PXAT", &at(123)]));
    cmds.push(cmd(&["SET", "ttl:int", "77"]));
    cmds.push(cmd(&["PEXPIREAT", "ttl:int", &at(1)]));
    cmds.push(cmd(&["RPUSH", "ttl:list", "a", "b"]));
    cmds.push(cmd(&["PEXPIREAT", "ttl:list", &at(2)]));
    cmds.push(cmd(&["HSET", "ttl:hash", "f", "v"]));
    cmds.push(cmd(&["PEXPIREAT", "ttl:hash", &at(3)]));
    cmds.push(cmd(&["SADD", "ttl:set", "x", "y"]));
    cmds.push(cmd(&["PEXPIREAT", "ttl:set", &at(4)]));
    cmds.push(cmd(&["ZADD", "ttl:zset", "1", "x"]));
    cmds.push(cmd(&["PEXPIREAT", "ttl:zset", &at(5)]));
    cmds.push(
        cmd(&["RPUSH", "ttl:biglist"])
            .into_iter()
            .chain(big[2..].iter().map(|s| s.as_bytes().to_vec()))
            .collect(),
    );
    cmds.push(cmd(&["PEXPIREAT", "ttl:biglist", &at(6)]));

    // Other databases.
    cmds.push(cmd(&["SELECT", "3"]));
    cmds.push(cmd(&["SET", "db3:a", "1"]));
    cmds.push(cmd(&["SET", "str:int", "shadowed in db 3"]));
    cmds.push(cmd(&["RPUSH", "db3:list", "x", "y", "z"]));
    cmds.push(cmd(&["HSET", "db3:hash", "f", "v"]));
    cmds.push(cmd(&["SET", "db3:ttl", "v", "PXAT", &at(7)]));
    cmds.push(cmd(&["SELECT", "15"]));
    cmds.push(cmd(&["SET", "db15:k", "v"]));
    cmds.push(cmd(&["ZADD", "db15:z", "2.5", "a", "inf", "b"]));
    cmds.push(cmd(&["SADD", "db15:s", "7", "8"]));
    cmds.push(cmd(&["SELECT", "0"]));
    pipeline(c, &cmds);
}

/// Keys whose `OBJECT ENCODING` shows each encoding, with the encoding
/// Redis 7.0 reports after it loads or builds them.
const ENCODINGS: &[(&str, &str)] = &[
    ("str:int", "int"),
    ("str:short", "embstr"),
    ("str:1000a", "raw"),
    ("list:small", "quicklist"),
    ("list:big", "quicklist"),
    ("hash:small", "listpack"),
    ("hash:big", "hashtable"),
    ("hash:longval", "hashtable"),
    ("set:ints", "intset"),
    ("set:bigints", "hashtable"),
    ("set:strs", "hashtable"),
    ("zset:small", "listpack"),
    ("zset:big", "skiplist"),
    ("zset:longmember", "skiplist"),
];

/// Asserts `ENCODINGS` on the server `c` talks to.
fn assert_encodings(c: &mut Client, who: &str) {
    for (key, want) in ENCODINGS {
        assert_eq!(
            c.call(&["OBJECT", "ENCODING", key]),
            bulk(want),
            "{who}: OBJECT ENCODING {key}"
        );
    }
}

/// Asserts `DBSIZE` of databases 0, 3 and 15 as `fill` leaves them.
fn assert_db_sizes(d: &Dataset) {
    let sizes: Vec<(usize, i64)> = d
        .sizes
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(i, n)| (i, *n))
        .collect();
    assert_eq!(sizes, vec![(0, 41), (3, 5), (15, 3)], "keys per database");
}

fn read(server: &Server) -> Dataset {
    dataset::read(&mut server.client(), DATABASES)
}

/// 1a. Redis writes `dump.rdb` with every type and encoding; Ferrodis,
/// started with `--dir` and `--dbfilename` naming a copy, holds the same
/// keys, values, expiry times and encodings.
#[test]
fn redis_rdb_loads_into_ferrodis() {
    let src = TempDir::new("rdb-redis");
    let mut redis = Launch::redis().dir(src.path()).start();
    let mut c = redis.client();
    fill(&mut c, now_ms());
    let written = dataset::read(&mut c, DATABASES);
    assert_db_sizes(&written);
    assert_eq!(c.call(&["SAVE"]), ok());
    // What Redis itself holds after loading the file is the reference: a
    // loaded string is embstr or int however it was built, say.
    redis.restart();
    let expected = read(&redis);
    assert_same(&written, &expected, Compare::default());
    assert_encodings(&mut redis.client(), "redis");

    let data = TempDir::new("rdb-data");
    std::fs::copy(
        src.path().join("dump.rdb"),
        data.path().join("from-redis.rdb"),
    )
    .expect("copy dump.rdb");
    let logs = TempDir::new("rdb-logs");
    let dir = data.path().to_str().expect("utf-8 path");
    let node = Launch::ferrodis()
        .dir(logs.path())
        .args(&["--dir", dir, "--dbfilename", "from-redis.rdb"])
        .start();
    let actual = read(&node);
    assert_same(
        &expected,
        &actual,
        Compare {
            encodings: true,
            ..Compare::default()
        },
    );
    assert_eq!(
        node.client()
            .info_field("rdb_last_load_keys_loaded")
            .as_deref(),
        Some("49")
    );
}

/// 1b. Ferrodis writes `dump.rdb` (with and without compression and
/// checksum); Redis loads it with the same contents.
#[test]
fn ferrodis_rdb_loads_into_redis() {
    for (compression, checksum) in [("yes", "yes"), ("no", "no")] {
        let src = TempDir::new("rdb-ferrodis");
        let node = Launch::ferrodis()
            .dir(src.path())
            .args(&["--rdbcompression", compression, "--rdbchecksum", checksum])
            .start();
        let mut c = node.client();
        fill(&mut c, now_ms());
        let expected = dataset::read(&mut c, DATABASES);
        assert_db_sizes(&expected);
        assert_eq!(c.call(&["SAVE"]), ok());

        let file = std::fs::read(src.path().join("dump.rdb")).expect("read dump.rdb");
        let run = "a".repeat(1000);
        let has_run = file.windows(run.len()).any(|w| w == run.as_bytes());
        assert_eq!(
            has_run,
            compression == "no",
            "rdbcompression {compression}: the 1000-byte run is stored {}",
            if has_run { "as is" } else { "compressed" }
        );
        let trailer = &file[file.len() - 8..];
        assert_eq!(
            trailer == [0; 8],
            checksum == "no",
            "rdbchecksum {checksum}: trailer {trailer:?}"
        );

        let dst = TempDir::new("rdb-redis-load");
        std::fs::write(dst.path().join("dump.rdb"), &file).expect("copy dump.rdb");
        let redis = Launch::redis().dir(dst.path()).start();
        let actual = read(&redis);
        assert_same(&expected, &actual, Compare::default());
        assert_encodings(&mut redis.client(), "redis loading ferrodis' file");
    }
}

/// Copies the files of an AOF directory.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy file");
    }
}

/// Waits until neither a BGSAVE nor an AOF rewrite runs or is scheduled.
fn wait_background_done(c: &mut Client) {
    wait_until(Duration::from_secs(60), "the background job to end", || {
        [
            "rdb_bgsave_in_progress",
            "aof_rewrite_in_progress",
            "aof_rewrite_scheduled",
        ]
        .iter()
        .all(|f| c.info_field(f).as_deref() == Some("0"))
    });
}

/// Writes after a rewrite, with commands each server must rewrite before
/// logging them (relative expiry, INCRBYFLOAT, SPOP, a transaction).
fn writes_after_rewrite(c: &mut Client) {
    assert_eq!(c.cmd("SET after:1 one"), ok());
    assert_eq!(c.cmd("EXPIRE after:1 100000"), int(1));
    assert_eq!(c.cmd("SETEX after:setex 200000 v"), ok());
    assert_eq!(c.cmd("SET after:px v PX 300000"), ok());
    assert_eq!(c.cmd("INCRBYFLOAT after:float 10.5"), bulk("10.5"));
    assert_eq!(c.cmd("INCRBYFLOAT after:float 0.1"), bulk("10.6"));
    assert_eq!(c.cmd("HINCRBYFLOAT after:hf f 1.25"), bulk("1.25"));
    assert_eq!(c.cmd("SADD after:set a b c d e"), int(5));
    assert!(matches!(c.cmd("SPOP after:set"), Frame::Bulk(_)));
    assert!(matches!(c.cmd("SPOP after:set 2"), Frame::Array(_)));
    assert_eq!(c.cmd("MULTI"), ok());
    assert_eq!(c.cmd("INCR after:counter"), simple("QUEUED"));
    assert_eq!(c.cmd("RPUSH list:small pushed"), simple("QUEUED"));
    assert_eq!(c.cmd("EXPIRE after:counter 50000"), simple("QUEUED"));
    assert_eq!(c.cmd("SELECT 3"), simple("QUEUED"));
    assert_eq!(c.cmd("SET db3:in-multi yes"), simple("QUEUED"));
    assert!(matches!(c.cmd("EXEC"), Frame::Array(_)));
    assert_eq!(c.cmd("DEL db3:a"), int(1));
    assert_eq!(c.cmd("SELECT 0"), ok());
    assert_eq!(c.cmd("DEL str:short"), int(1));
    assert_eq!(c.cmd("ZINCRBY zset:small 2 a"), bulk("3.5"));
    assert_eq!(c.cmd("LPOP list:big"), bulk("element-0-"));
}

/// The same writes through the blocking commands, on Ferrodis: a BLPOP
/// served later by another client's LPUSH is logged as the pop it did.
fn blocked_pop_served(server: &Server) {
    let mut blocked = server.client();
    blocked.send(&["BLPOP", "after:queue", "10"]);
    let mut other = server.client();
    wait_until(Duration::from_secs(10), "the BLPOP to block", || {
        other.info_field("blocked_clients").as_deref() == Some("1")
    });
    assert_eq!(other.cmd("LPUSH after:queue x y z"), int(3));
    assert_eq!(
        blocked.read(),
        Frame::Array(vec![bulk("after:queue"), bulk("z")])
    );
}

/// Asserts that the incremental files hold no command whose replay would
/// differ from what ran (a relative expiry, a random pop, a float
/// increment, a blocking pop): the node logged what they did instead.
fn assert_replayable(aof_dir: &Path) {
    let mut incr = Vec::new();
    for entry in std::fs::read_dir(aof_dir).expect("read AOF dir") {
        let path = entry.expect("dir entry").path();
        if path.to_string_lossy().ends_with(".incr.aof") {
            incr.extend(std::fs::read(&path).expect("read incr file"));
        }
    }
    let has = |name: &str| {
        let needle = format!("${}\r\n{name}\r\n", name.len());
        incr.windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
    };
    for name in [
        "SPOP",
        "INCRBYFLOAT",
        "HINCRBYFLOAT",
        "BLPOP",
        "SETEX",
        "EXPIRE",
    ] {
        assert!(!has(name), "{name} was logged as is");
    }
    for name in ["PEXPIREAT", "SREM", "LPOP", "MULTI", "EXEC"] {
        assert!(has(name), "{name} is missing from the incremental file");
    }
}

/// 1c, Redis → Ferrodis: Redis with `appendonly yes` writes, rewrites in
/// the middle, writes more, shuts down; Ferrodis loads its AOF directory.
#[test]
fn redis_aof_loads_into_ferrodis() {
    for preamble in ["yes", "no"] {
        let src = TempDir::new("aof-redis");
        let mut redis = Launch::redis()
            .dir(src.path())
            .args(&["--appendonly", "yes", "--aof-use-rdb-preamble", preamble])
            .start();
        let mut c = redis.client();
        fill(&mut c, now_ms());
        assert_eq!(
            c.cmd("BGREWRITEAOF"),
            simple("Background append only file rewriting started")
        );
        wait_background_done(&mut c);
        writes_after_rewrite(&mut c);
        let expected = dataset::read(&mut c, DATABASES);
        c.send(&["SHUTDOWN", "NOSAVE"]);
        assert!(redis.wait_exit(Duration::from_secs(30)).success());

        let dst = TempDir::new("aof-ferrodis-load");
        copy_dir(
            &src.path().join("appendonlydir"),
            &dst.path().join("appendonlydir"),
        );
        let node = Launch::ferrodis()
            .dir(dst.path())
            .args(&["--appendonly", "yes"])
            .start();
        let actual = read(&node);
        assert_same(&expected, &actual, Compare::default());
    }
}

/// 1c, Ferrodis → Redis: the node writes its AOF (rewrite in the middle,
/// blocking pop, SETEX), shuts down; Redis loads the directory.
#[test]
fn ferrodis_aof_loads_into_redis() {
    for preamble in ["yes", "no"] {
        let src = TempDir::new("aof-ferrodis");
        let mut node = Launch::ferrodis()
            .dir(src.path())
            .args(&["--appendonly", "yes", "--aof-use-rdb-preamble", preamble])
            .start();
        let mut c = node.client();
        fill(&mut c, now_ms());
        assert_eq!(
            c.cmd("BGREWRITEAOF"),
            simple("Background append only file rewriting started")
        );
        wait_background_done(&mut c);
        writes_after_rewrite(&mut c);
        blocked_pop_served(&node);
        let expected = dataset::read(&mut c, DATABASES);
        c.send(&["SHUTDOWN", "NOSAVE"]);
        assert!(node.wait_exit(Duration::from_secs(30)).success());

        let manifest =
            std::fs::read_to_string(src.path().join("appendonlydir/appendonly.aof.manifest"))
                .expect("read manifest");
        let base_ext = if preamble == "yes" {
            ".base.rdb"
        } else {
            ".base.aof"
        };
        assert!(manifest.contains(base_ext), "manifest: {manifest}");
        assert_replayable(&src.path().join("appendonlydir"));

        let dst = TempDir::new("aof-redis-load");
        copy_dir(
            &src.path().join("appendonlydir"),
            &dst.path().join("appendonlydir"),
        );
        let redis = Launch::redis()
            .dir(dst.path())
            .args(&["--appendonly", "yes"])
            .start();
        let actual = read(&redis);
        assert_same(&expected, &actual, Compare::default());
    }
}

/// The name of the last incremental file the manifest in `aof_dir` lists.
fn last_incr(aof_dir: &Path) -> String {
    let manifest =
        std::fs::read_to_string(aof_dir.join("appendonly.aof.manifest")).expect("read manifest");
    manifest
        .lines()
        .rfind(|l| l.ends_with("type i"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_else(|| panic!("no incremental file in the manifest:\n{manifest}"))
        .to_owned()
}

/// Starts Ferrodis with `appendonly yes` on `data` (logging in a fresh
/// directory of its own, so that a failure's log is this start's only).
fn aof_node(data: &Path, logs: &TempDir, extra: &[&str]) -> Launch {
    Launch::ferrodis()
        .dir(logs.path())
        .args(&[
            "--dir",
            data.to_str().expect("utf-8 path"),
            "--appendonly",
            "yes",
        ])
        .args(extra)
}

/// Writes `SET t:<i> <i>` for i in 0..n into a fresh AOF directory and
/// shuts the node down cleanly; returns the data directory.
fn aof_with_sets(n: usize) -> TempDir {
    let data = TempDir::new("aof-data");
    let logs = TempDir::new("aof-logs");
    let mut node = aof_node(data.path(), &logs, &[]).start();
    let mut c = node.client();
    let cmds: Vec<Vec<Vec<u8>>> = (0..n)
        .map(|i| cmd(&["SET", &format!("t:{i}"), &i.to_string()]))
        .collect();
    pipeline(&mut c, &cmds);
    c.send(&["SHUTDOWN", "NOSAVE"]);
    assert!(node.wait_exit(Duration::from_secs(30)).success());
    data
}

/// Asserts that the node holds exactly `t:0..n`.
fn assert_sets(server: &Server, n: usize) {
    let mut c = server.client();
    assert_eq!(c.cmd("DBSIZE"), int(n as i64));
    for i in 0..n {
        assert_eq!(c.cmd(&format!("GET t:{i}")), bulk(&i.to_string()), "t:{i}");
    }
}

/// 1d. A command cut short at the end of the last incremental file (a
/// crash in the middle of a write): `aof-load-truncated yes` loads every
/// command before it and cuts the file back; `no` refuses to start,
/// naming the file.
#[test]
fn truncated_aof_tail() {
    let data = aof_with_sets(100);
    let aof_dir = data.path().join("appendonlydir");
    let incr = last_incr(&aof_dir);
    let path = aof_dir.join(&incr);
    let complete = std::fs::metadata(&path).expect("incr file").len();
    let partial = b"*3\r\n$3\r\nSET\r\n$4\r\nlost\r\n$5\r\nab";
    let mut bytes = std::fs::read(&path).expect("read incr");
    bytes.extend_from_slice(partial);
    std::fs::write(&path, &bytes).expect("write incr");

    let logs = TempDir::new("aof-logs");
    let Err(failure) = aof_node(data.path(), &logs, &["--aof-load-truncated", "no"]).try_start()
    else {
        panic!("started on a truncated AOF with aof-load-truncated no");
    };
    assert_eq!(failure.status.code(), Some(1), "{}", failure.output);
    assert!(
        failure
            .output
            .lines()
            .any(|l| l.contains(" # ") && l.contains(&incr)),
        "no warning naming {incr}:\n{}",
        failure.output
    );
    assert_eq!(
        std::fs::metadata(&path).expect("incr file").len(),
        complete + partial.len() as u64,
        "the file changed although loading it failed"
    );

    let logs = TempDir::new("aof-logs");
    let node = aof_node(data.path(), &logs, &["--aof-load-truncated", "yes"]).start();
    assert_sets(&node, 100);
    assert_eq!(node.client().cmd("EXISTS lost"), int(0));
    assert_eq!(
        std::fs::metadata(&path).expect("incr file").len(),
        complete,
        "the incomplete command was not cut off"
    );
    assert!(node.log().contains(&incr), "{}", node.log());
    assert!(
        !node.log().contains("not implemented"),
        "a directive the node honours is called unimplemented:\n{}",
        node.log()
    );
}

/// 1d. A corrupt byte in the middle of an incremental file stops the start
/// whatever `aof-load-truncated` says, naming the file and the offset.
#[test]
fn corrupt_aof_byte() {
    let data = aof_with_sets(100);
    let aof_dir = data.path().join("appendonlydir");
    let incr = last_incr(&aof_dir);
    let path = aof_dir.join(&incr);
    let mut bytes = std::fs::read(&path).expect("read incr");
    let needle = b"*3\r\n$3\r\nSET\r\n$4\r\nt:50\r\n";
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("SET t:50 in the file");
    bytes[at] = b'X';
    std::fs::write(&path, &bytes).expect("write incr");

    let logs = TempDir::new("aof-logs");
    let Err(failure) = aof_node(data.path(), &logs, &["--aof-load-truncated", "yes"]).try_start()
    else {
        panic!("started on a corrupt AOF");
    };
    assert_eq!(failure.status.code(), Some(1), "{}", failure.output);
    let line = failure
        .output
        .lines()
        .find(|l| l.contains(&incr))
        .unwrap_or_else(|| panic!("no line names {incr}:\n{}", failure.output));
    assert!(
        line.contains(&format!("byte {at}")),
        "the message does not give offset {at}: {line}"
    );
    assert_eq!(std::fs::read(&path).expect("read incr"), bytes);
}

/// 1e. DEBUG RELOAD saves and loads the data back.
#[test]
fn debug_reload_keeps_the_data() {
    let data = TempDir::new("reload");
    let node = Launch::ferrodis().dir(data.path()).start();
    let mut c = node.client();
    fill(&mut c, now_ms());
    let before = dataset::read(&mut c, DATABASES);
    assert!(!data.path().join("dump.rdb").exists());
    assert_eq!(c.cmd("DEBUG RELOAD"), ok());
    assert!(data.path().join("dump.rdb").exists());
    assert_eq!(
        c.info_field("rdb_last_load_keys_loaded").as_deref(),
        Some("49")
    );
    assert_same(
        &before,
        &dataset::read(&mut c, DATABASES),
        Compare::default(),
    );
}

/// 1e. A BGSAVE's file is what a restart (after a crash) loads; writes
/// after the save are not in it.
#[test]
fn bgsave_then_restart_keeps_the_data() {
    let data = TempDir::new("bgsave");
    let mut node = Launch::ferrodis()
        .dir(data.path())
        .args(&["--save", ""])
        .start();
    let mut c = node.client();
    fill(&mut c, now_ms());
    let saved = dataset::read(&mut c, DATABASES);
    let saves = c.info_field("rdb_saves");
    assert_eq!(c.cmd("BGSAVE"), simple("Background saving started"));
    wait_background_done(&mut c);
    assert_eq!(
        c.info_field("rdb_last_bgsave_status").as_deref(),
        Some("ok")
    );
    assert_ne!(c.info_field("rdb_saves"), saves);
    assert_eq!(c.cmd("SET after:bgsave 1"), ok());
    drop(c);
    node.restart();
    assert_same(&saved, &read(&node), Compare::default());
}

/// 1e. SHUTDOWN saves when a save point is set (and NOSAVE does not).
#[test]
fn shutdown_with_a_save_point_saves() {
    let data = TempDir::new("shutdown");
    let mut node = Launch::ferrodis()
        .dir(data.path())
        .args(&["--save", "3600 1"])
        .start();
    let mut c = node.client();
    fill(&mut c, now_ms());
    let written = dataset::read(&mut c, DATABASES);
    assert!(
        !data.path().join("dump.rdb").exists(),
        "saved before SHUTDOWN"
    );
    c.send(&["SHUTDOWN"]);
    assert!(node.wait_exit(Duration::from_secs(30)).success());
    assert!(
        data.path().join("dump.rdb").exists(),
        "SHUTDOWN did not save"
    );

    node.restart();
    let mut c = node.client();
    assert_same(
        &written,
        &dataset::read(&mut c, DATABASES),
        Compare::default(),
    );
    assert_eq!(c.cmd("SET after:restart 1"), ok());
    c.send(&["SHUTDOWN", "NOSAVE"]);
    assert!(node.wait_exit(Duration::from_secs(30)).success());
    node.restart();
    assert_same(&written, &read(&node), Compare::default());
}

/// The keys of an RDB file, sorted.
fn rdb_keys(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).expect("read RDB file");
    let mut reader = ferrodis_persist::RdbReader::new(&bytes).expect("RDB header");
    let mut keys = Vec::new();
    while let Some(item) = reader.next_item().expect("valid RDB") {
        if let ferrodis_persist::RdbItem::Entry(e) = item {
            keys.push(String::from_utf8(e.key).expect("utf-8 key"));
        }
    }
    keys.sort();
    keys
}

/// Waits until a save newer than `saves` (INFO `rdb_saves`) has ended.
fn wait_new_save(c: &mut Client, saves: &str) {
    wait_until(Duration::from_secs(30), "a scheduled BGSAVE", || {
        c.info_field("rdb_saves").as_deref() != Some(saves)
            && c.info_field("rdb_bgsave_in_progress").as_deref() == Some("0")
    });
}

/// A BGSAVE or BGREWRITEAOF queued in a transaction is scheduled, as Redis
/// 7 does (it does not fork inside EXEC): it runs after the transaction,
/// whose writes it then holds whole. With several worker threads, which
/// gate writes and EXEC, it must not wait for the gate EXEC holds (it did,
/// forever).
#[test]
fn bgsave_inside_a_transaction() {
    let servers = [
        ("redis", Launch::redis().args(&["--appendonly", "yes"])),
        (
            "ferrodis, AOF on",
            Launch::ferrodis().args(&["--io-threads", "2", "--appendonly", "yes"]),
        ),
        (
            "ferrodis, AOF off",
            Launch::ferrodis().args(&["--io-threads", "2"]),
        ),
    ];
    for (who, launch) in servers {
        let aof = who != "ferrodis, AOF off";
        let data = TempDir::new("bgsave-multi");
        let mut server = launch.dir(data.path()).start();
        let mut c = server.client();
        wait_background_done(&mut c);
        let saves = c.info_field("rdb_saves").expect("rdb_saves");
        assert_eq!(c.cmd("MULTI"), ok());
        assert_eq!(c.cmd("SET before 1"), simple("QUEUED"));
        assert_eq!(c.cmd("BGSAVE"), simple("QUEUED"));
        assert_eq!(c.cmd("SET after 2"), simple("QUEUED"));
        assert_eq!(
            c.cmd("EXEC"),
            Frame::Array(vec![ok(), simple("Background saving scheduled"), ok()]),
            "{who}"
        );
        wait_new_save(&mut c, &saves);
        assert_eq!(
            rdb_keys(&data.path().join("dump.rdb")),
            ["after", "before"],
            "{who}: the save does not hold the whole transaction"
        );
        if who.starts_with("ferrodis") {
            // DEBUG RELOAD saves in the foreground, taking the gate that
            // EXEC holds.
            assert_eq!(c.cmd("MULTI"), ok());
            assert_eq!(c.cmd("SET reloaded 1"), simple("QUEUED"));
            assert_eq!(c.cmd("DEBUG RELOAD"), simple("QUEUED"));
            assert_eq!(c.cmd("EXEC"), Frame::Array(vec![ok(), ok()]), "{who}");
            assert_eq!(c.cmd("GET reloaded"), bulk("1"));
        }
        if !aof {
            continue;
        }
        let rewrites = c.info_field("aof_rewrites");
        assert_eq!(c.cmd("MULTI"), ok());
        assert_eq!(c.cmd("SET x 1"), simple("QUEUED"));
        assert_eq!(c.cmd("BGREWRITEAOF"), simple("QUEUED"));
        assert_eq!(c.cmd("SET y 2"), simple("QUEUED"));
        assert_eq!(
            c.cmd("EXEC"),
            Frame::Array(vec![
                ok(),
                simple("Background append only file rewriting scheduled"),
                ok()
            ]),
            "{who}"
        );
        wait_until(Duration::from_secs(30), "the scheduled rewrite", || {
            c.info_field("aof_rewrites") != rewrites
        });
        wait_background_done(&mut c);
        drop(c);
        server.restart();
        let mut c = server.client();
        assert_eq!(
            c.cmd("MGET before after x y"),
            Frame::Array(vec![bulk("1"), bulk("2"), bulk("1"), bulk("2")]),
            "{who}"
        );
    }
}

/// A write whose reply is never sent (CLIENT REPLY OFF) still reaches the
/// AOF: the cron writes the buffer out, not only the reply path.
#[test]
fn writes_without_replies_reach_the_aof() {
    let data = TempDir::new("aof-reply-off");
    let node = Launch::ferrodis()
        .dir(data.path())
        .args(&["--appendonly", "yes", "--appendfsync", "always"])
        .start();
    let mut c = node.client();
    c.send(&["CLIENT", "REPLY", "OFF"]);
    c.send(&["SET", "silent", "write"]);
    let incr = data.path().join("appendonlydir/appendonly.aof.1.incr.aof");
    wait_until(
        Duration::from_secs(5),
        "the silent write in the AOF",
        || {
            std::fs::read(&incr)
                .map(|b| b.windows(6).any(|w| w == b"silent"))
                .unwrap_or(false)
        },
    );
}

/// A value found corrupt while loading an RDB file (values are decoded on
/// several threads) stops the start, naming the offset of the first bad
/// value even when many good keys come after it.
#[test]
fn corrupt_rdb_value_stops_the_start() {
    fn string(out: &mut Vec<u8>, s: &[u8]) {
        assert!(s.len() < 64, "6-bit lengths only");
        out.push(s.len() as u8);
        out.extend_from_slice(s);
    }
    let mut file = b"REDIS0010".to_vec();
    file.extend_from_slice(&[0xfe, 0x00]); // SELECTDB 0
    let mut bad_at = 0;
    for i in 0..20_000 {
        if i == 7_000 || i == 15_000 {
            // A set (type 2) holding one member twice: well formed, so only
            // decoding the value finds it.
            file.push(0x02);
            string(&mut file, format!("bad:{i}").as_bytes());
            file.push(0x02);
            string(&mut file, b"a");
            if i == 7_000 {
                bad_at = file.len();
            }
            string(&mut file, b"a");
            continue;
        }
        file.push(0x00);
        string(&mut file, format!("k:{i}").as_bytes());
        string(&mut file, format!("v:{i}").as_bytes());
    }
    file.push(0xff);
    file.extend_from_slice(&[0; 8]); // no checksum
    let data = TempDir::new("rdb-corrupt");
    std::fs::write(data.path().join("dump.rdb"), &file).expect("write rdb");

    let Err(failure) = Launch::ferrodis().dir(data.path()).try_start() else {
        panic!("started on a corrupt RDB file");
    };
    assert_eq!(failure.status.code(), Some(1), "{}", failure.output);
    assert!(
        failure
            .output
            .contains(&format!("duplicate member or field at offset {bad_at}")),
        "no error at offset {bad_at}:\n{}",
        failure.output
    );
}

/// Sends `sig` (a name `kill` knows, e.g. "TERM") to process `pid`.
fn signal(pid: u32, sig: &str) {
    let status = std::process::Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{sig} {pid} failed");
}

/// SIGTERM shuts down as SHUTDOWN does: with save points set, the data is
/// saved first, and the server exits with status 0 (the Tcl suite and
/// service managers stop servers this way).
#[test]
fn sigterm_saves_when_save_points_are_set() {
    let data = TempDir::new("sigterm");
    let mut node = Launch::ferrodis()
        .dir(data.path())
        .args(&["--save", "3600 1"])
        .start();
    let mut c = node.client();
    assert_eq!(c.cmd("SET survives 1"), ok());
    assert!(!data.path().join("dump.rdb").exists(), "saved too early");
    signal(node.pid(), "TERM");
    assert!(node.wait_exit(Duration::from_secs(30)).success());
    assert!(
        node.log().contains("Received SIGTERM scheduling shutdown"),
        "{}",
        node.log()
    );
    node.restart();
    let mut c = node.client();
    assert_eq!(c.cmd("GET survives"), bulk("1"));

    // Without save points (and SIGINT, Ctrl+C's signal), nothing is saved.
    let data = TempDir::new("sigint");
    let mut node = Launch::ferrodis()
        .dir(data.path())
        .args(&["--save", ""])
        .start();
    assert_eq!(node.client().cmd("SET gone 1"), ok());
    signal(node.pid(), "INT");
    assert!(node.wait_exit(Duration::from_secs(30)).success());
    assert!(!data.path().join("dump.rdb").exists());
}

/// While the dataset loads at start, the server answers: INFO shows the
/// load in progress, commands that need the data get `-LOADING`, and
/// SIGTERM stops the load (without saving a partial dataset).
#[test]
fn clients_are_served_while_loading() {
    let data = TempDir::new("loading");
    let mut node = Launch::ferrodis()
        .dir(data.path())
        .args(&["--save", ""])
        .start();
    let mut c = node.client();
    assert_eq!(c.cmd("DEBUG POPULATE 20000 key 10"), ok());
    assert_eq!(c.cmd("SAVE"), ok());
    let saved = std::fs::read(data.path().join("dump.rdb")).expect("dump.rdb");
    // Restart slowed down to about 20000 * 200 µs / cores to load.
    node.kill();
    let mut node = Launch::ferrodis()
        .dir(data.path())
        .args(&[
            "--save",
            "3600 1",
            "--key-load-delay",
            "200",
            "--loading-process-events-interval-bytes",
            "1024",
        ])
        .start_accepting();
    let mut c = node.client();
    assert_eq!(c.info_field("loading").as_deref(), Some("1"));
    let total: u64 = c
        .info_field("loading_total_bytes")
        .and_then(|v| v.parse().ok())
        .expect("loading_total_bytes");
    assert_eq!(total, saved.len() as u64);
    assert_eq!(
        c.cmd("GET key:1"),
        Frame::Error("LOADING Redis is loading the dataset in memory".into())
    );
    assert_eq!(
        c.cmd("DBSIZE"),
        Frame::Error("LOADING Redis is loading the dataset in memory".into())
    );
    assert_eq!(c.cmd("ECHO still"), bulk("still"));
    signal(node.pid(), "TERM");
    assert!(node.wait_exit(Duration::from_secs(30)).success());
    assert_eq!(
        std::fs::read(data.path().join("dump.rdb")).expect("dump.rdb"),
        saved,
        "the file changed: a partial dataset was saved"
    );

    // A load shorter than `loading-process-events-interval-bytes` (2 MB by
    // default) keeps clients waiting instead: they get their answer once
    // it ends, as from Redis.
    let node = Launch::ferrodis()
        .dir(data.path())
        .args(&["--save", "", "--key-load-delay", "100"])
        .start_accepting();
    let mut c = node.client();
    assert_eq!(c.cmd("DBSIZE"), int(20000));
    assert_eq!(c.info_field("loading").as_deref(), Some("0"));
}
