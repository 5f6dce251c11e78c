//! DEBUG on a real `ferrodis-node`, compared with redis-server 7: the
//! digests (equal to Redis' for the same data), DEBUG OBJECT's fields,
//! PROTOCOL's replies, the test switches (SET-ACTIVE-EXPIRE,
//! SET-SKIP-CHECKSUM-VALIDATION, QUICKLIST-PACKED-THRESHOLD) and errors.

use std::time::Duration;

use ferrodis_resp::Frame;
use ferrodis_suite::reply::{bulk, int, ok, simple};
use ferrodis_suite::{Client, Server};

fn pair() -> (Server, Server) {
    (
        Server::redis(&["--enable-debug-command", "yes"]),
        Server::ferrodis(&["--enable-debug-command", "yes"]),
    )
}

/// Runs `script` on both, asserting equal replies; returns Ferrodis'.
fn same(r: &mut Client, f: &mut Client, script: &[&str]) -> Vec<Frame> {
    script
        .iter()
        .map(|line| {
            let want = r.cmd(line);
            let got = f.cmd(line);
            assert_eq!(got, want, "{line}");
            got
        })
        .collect()
}

/// The same data on both servers: every type and encoding, keys with and
/// without expiry, two databases.
fn load(c: &mut Client) {
    let big = "x".repeat(300);
    let mut cmds: Vec<Vec<String>> = vec![
        vec!["SET".into(), "int".into(), "20000".into()],
        vec!["SET".into(), "str".into(), "hello".into()],
        vec!["SET".into(), "big".into(), big.clone()],
        vec![
            "SET".into(),
            "ttl".into(),
            "v".into(),
            "EX".into(),
            "1000".into(),
        ],
        vec![
            "RPUSH".into(),
            "list".into(),
            "a".into(),
            "b".into(),
            "1".into(),
            big.clone(),
        ],
        vec![
            "SADD".into(),
            "intset".into(),
            "3".into(),
            "1".into(),
            "2".into(),
        ],
        vec![
            "SADD".into(),
            "set".into(),
            "a".into(),
            "b".into(),
            "c".into(),
        ],
        vec![
            "ZADD".into(),
            "zset".into(),
            "1.5".into(),
            "a".into(),
            "-inf".into(),
            "b".into(),
            "3".into(),
            "c".into(),
        ],
        vec![
            "HSET".into(),
            "hash".into(),
            "f".into(),
            "v".into(),
            "n".into(),
            "1".into(),
        ],
        vec!["HSET".into(), "bighash".into(), "f".into(), big.clone()],
        vec![
            "ZADD".into(),
            "bigzset".into(),
            "0.1".into(),
            big.clone(),
            "2".into(),
            "z".into(),
        ],
        vec!["SELECT".into(), "3".into()],
        vec!["SET".into(), "int".into(), "20000".into()],
        vec!["SELECT".into(), "0".into()],
    ];
    let list: Vec<String> = (0..2000).map(|i| format!("element-{i}")).collect();
    let mut rpush = vec!["RPUSH".to_owned(), "longlist".to_owned()];
    rpush.extend(list);
    cmds.push(rpush);
    for cmd in cmds {
        let reply = c.call(&cmd);
        assert!(!matches!(reply, Frame::Error(_)), "{cmd:?}: {reply:?}");
    }
}

const KEYS: &[&str] = &[
    "int", "str", "big", "ttl", "list", "intset", "set", "zset", "hash", "bighash", "bigzset",
    "longlist",
];

#[test]
fn digests_equal_redis() {
    let (redis, ferrodis) = pair();
    let (mut r, mut f) = (redis.client(), ferrodis.client());
    // An empty dataset, a missing key: zeroes.
    let empty = same(
        &mut r,
        &mut f,
        &["DEBUG DIGEST", "DEBUG DIGEST-VALUE nosuch"],
    );
    assert_eq!(empty[0], simple(&"0".repeat(40)));
    load(&mut r);
    load(&mut f);
    let mut script = vec!["DEBUG DIGEST".to_owned()];
    for key in KEYS {
        script.push(format!("DEBUG DIGEST-VALUE {key}"));
    }
    script.push(format!("DEBUG DIGEST-VALUE {}", KEYS.join(" ")));
    let script: Vec<&str> = script.iter().map(String::as_str).collect();
    let replies = same(&mut r, &mut f, &script);
    assert_ne!(replies[0], empty[0]);
    // Order matters in lists, not in sets.
    same(
        &mut r,
        &mut f,
        &[
            "RPUSH l2 b a",
            "RPUSH l3 a b",
            "DEBUG DIGEST-VALUE l2 l3",
            "SADD s2 b a",
            "SADD s3 a b",
            "DEBUG DIGEST-VALUE s2 s3",
            "DEBUG DIGEST",
            "DEBUG POPULATE 100",
            "DEBUG POPULATE 10 p 20",
            "GET p:1",
            "DEBUG DIGEST",
        ],
    );
}

/// DEBUG OBJECT's fields, except the address and the LRU clock (and the
/// idle time, a second's tick that either server may have passed).
fn object_fields(c: &mut Client, key: &str) -> Vec<String> {
    let Frame::Simple(text) = c.call(&["DEBUG", "OBJECT", key]) else {
        panic!("DEBUG OBJECT {key}");
    };
    String::from_utf8_lossy(&text)
        .split(' ')
        .filter(|f| {
            !["at:", "lru:", "lru_seconds_idle:"]
                .iter()
                .any(|p| f.starts_with(p))
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn debug_object_matches_redis() {
    let (redis, ferrodis) = pair();
    let (mut r, mut f) = (redis.client(), ferrodis.client());
    load(&mut r);
    load(&mut f);
    for key in KEYS {
        assert_eq!(
            object_fields(&mut f, key),
            object_fields(&mut r, key),
            "{key}"
        );
    }
    // An in-place change keeps the address; a shared integer is shared.
    let address = |c: &mut Client, key: &str| {
        let Frame::Simple(t) = c.call(&["DEBUG", "OBJECT", key]) else {
            panic!()
        };
        String::from_utf8_lossy(&t)
            .split(' ')
            .nth(1)
            .unwrap()
            .to_owned()
    };
    let before = address(&mut f, "int");
    f.cmd("INCR int");
    assert_eq!(address(&mut f, "int"), before);
    assert!(before.starts_with("at:0x"));
    f.cmd("SET a 7");
    f.cmd("SET b 7");
    assert_eq!(address(&mut f, "a"), address(&mut f, "b"));
    assert!(object_fields(&mut f, "a").contains(&"refcount:2147483647".to_owned()));
    same(
        &mut r,
        &mut f,
        &[
            "DEBUG OBJECT nosuch",
            "DEBUG SDSLEN str",
            "DEBUG SDSLEN big",
            "DEBUG SDSLEN int",
            "DEBUG SDSLEN list",
            "DEBUG SDSLEN nosuch",
            "DEBUG LISTPACK hash",
            "DEBUG LISTPACK list",
            "DEBUG QUICKLIST list",
            "DEBUG QUICKLIST hash",
            "DEBUG LISTPACK nosuch",
        ],
    );
    // Plain nodes below the packed threshold.
    same(
        &mut r,
        &mut f,
        &[
            "DEBUG QUICKLIST-PACKED-THRESHOLD 100",
            "RPUSH plain a",
            "DEBUG QUICKLIST-PACKED-THRESHOLD 0",
            "DEBUG QUICKLIST-PACKED-THRESHOLD 5gb",
            "DEBUG QUICKLIST-PACKED-THRESHOLD 1x",
            "DEBUG QUICKLIST-PACKED-THRESHOLD -1",
        ],
    );
    r.cmd("DEBUG QUICKLIST-PACKED-THRESHOLD 100");
    f.cmd("DEBUG QUICKLIST-PACKED-THRESHOLD 100");
    let mut big_list = vec!["RPUSH".to_owned(), "plain".to_owned()];
    big_list.extend(["y".repeat(150), "small".into(), "z".repeat(200)]);
    r.call(&big_list);
    f.call(&big_list);
    // The quicklist's shape (the RDB encoder writes plain nodes as
    // listpacks: serializedlength differs for such lists).
    let shape = |c: &mut Client| -> Vec<String> {
        let mut fields = object_fields(c, "plain");
        fields.retain(|f| !f.starts_with("serializedlength:"));
        fields
    };
    assert_eq!(shape(&mut f), shape(&mut r));
}

#[test]
fn protocol_replies_match_redis() {
    let (redis, ferrodis) = pair();
    let (mut r, mut f) = (redis.client(), ferrodis.client());
    let types = [
        "string", "integer", "double", "bignum", "null", "array", "set", "map", "attrib", "push",
        "verbatim", "true", "false", "nosuch",
    ];
    for proto in ["2", "3"] {
        r.cmd(&format!("HELLO {proto}"));
        f.cmd(&format!("HELLO {proto}"));
        for t in types {
            let line = format!("DEBUG PROTOCOL {t}");
            let want = r.cmd(&line);
            assert_eq!(f.cmd(&line), want, "RESP{proto}: {line}");
            // A push comes before a real reply (an attribute is read
            // together with the reply it describes).
            if proto == "3" && t == "push" {
                assert_eq!(f.read(), r.read(), "RESP3: {line}, second frame");
            }
        }
    }
}

#[test]
fn switches_and_errors_match_redis() {
    let (redis, ferrodis) = pair();
    let (mut r, mut f) = (redis.client(), ferrodis.client());
    same(
        &mut r,
        &mut f,
        &[
            "DEBUG SLEEP 0",
            "DEBUG SLEEP 0.01",
            "DEBUG SLEEP x",
            "DEBUG LOG hello",
            "DEBUG LEAK x",
            "DEBUG STRUCTSIZE",
            "DEBUG ERROR some-error",
            "DEBUG CHANGE-REPL-ID",
            "DEBUG SET-DISABLE-DENY-SCRIPTS 1",
            "DEBUG REPLYBUFFER PEAK-RESET-TIME NEVER",
            "DEBUG REPLYBUFFER PEAK-RESET-TIME 100",
            "DEBUG REPLYBUFFER PEAK-RESET-TIME x",
            "DEBUG REPLYBUFFER RESIZING 0",
            "DEBUG REPLYBUFFER NOSUCH 0",
            "DEBUG SLEEP",
            "DEBUG OBJECT",
            "DEBUG ERROR",
            "DEBUG NOSUCH",
            "DEBUG POPULATE x",
            "DEBUG POPULATE -1",
            "DEBUG POPULATE 1 a -5",
            "DEBUG POPULATE 2 a 0",
            "GET a:1",
            "DEBUG",
            "DEBUG RESTART x",
        ],
    );
    assert_eq!(
        f.cmd("DEBUG STRINGMATCH-TEST"),
        simple("Apparently Redis did not crash: test passed")
    );
    // DEBUG HELP: Redis' text (Debian's build also lists jemalloc's
    // MALLCTL and MALLCTL-STR, which Ferrodis does not have).
    let Frame::Array(want) = r.cmd("DEBUG HELP") else {
        panic!()
    };
    let mut want = want.into_iter().peekable();
    let mut filtered = Vec::new();
    while let Some(line) = want.next() {
        if matches!(&line, Frame::Simple(t) if t.starts_with(b"MALLCTL")) {
            want.next();
            continue;
        }
        filtered.push(line);
    }
    assert_eq!(f.cmd("DEBUG HELP"), Frame::Array(filtered));
}

#[test]
fn set_active_expire_stops_and_restarts_the_expire_cycle() {
    let (redis, ferrodis) = pair();
    for (name, server) in [("redis", redis), ("ferrodis", ferrodis)] {
        let mut c = server.client();
        assert_eq!(c.cmd("DEBUG SET-ACTIVE-EXPIRE 0"), ok(), "{name}");
        // Ferrodis' cron runs on its own thread: a cycle already under way
        // (at most a quarter of the 100 ms cron period) finishes first.
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(c.cmd("SET k v PX 1"), ok());
        std::thread::sleep(Duration::from_millis(300));
        // Expired, but not reclaimed: DBSIZE still counts it.
        assert_eq!(c.cmd("DBSIZE"), int(1), "{name}");
        assert_eq!(c.cmd("DEBUG SET-ACTIVE-EXPIRE 1"), ok());
        let mut reclaimed = false;
        for _ in 0..100 {
            if c.cmd("DBSIZE") == int(0) {
                reclaimed = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(reclaimed, "{name}: the expire cycle did not run again");
    }
}

#[test]
fn skip_checksum_validation_lets_restore_accept_a_bad_crc() {
    let (redis, ferrodis) = pair();
    for (name, server) in [("redis", redis), ("ferrodis", ferrodis)] {
        let mut c = server.client();
        c.cmd("SET k hello");
        let Frame::Bulk(payload) = c.cmd("DUMP k") else {
            panic!("{name}: DUMP")
        };
        let mut bad = payload.to_vec();
        let last = bad.len() - 1;
        bad[last] ^= 0xff;
        let restore = |c: &mut Client| c.call(&[b"RESTORE".as_slice(), b"k2", b"0", &bad]);
        assert_eq!(
            restore(&mut c),
            Frame::Error("ERR DUMP payload version or checksum are wrong".into()),
            "{name}"
        );
        assert_eq!(c.cmd("DEBUG SET-SKIP-CHECKSUM-VALIDATION 1"), ok());
        assert_eq!(restore(&mut c), ok(), "{name}");
        assert_eq!(c.cmd("GET k2"), bulk("hello"), "{name}");
        assert_eq!(c.cmd("DEBUG SET-SKIP-CHECKSUM-VALIDATION 0"), ok());
    }
}
