//! A real `ferrodis-node` process answering connection, string, key and
//! transaction commands as Redis 7 does.

use ferrodis_resp::Frame;
use ferrodis_suite::reply::{bulk, bulks, error, int, ok, simple};
use ferrodis_suite::Server;

#[test]
fn connection_commands() {
    let node = Server::ferrodis(&[]);
    let mut c = node.client();
    assert_eq!(c.cmd("PING"), simple("PONG"));
    assert_eq!(c.cmd("PING hello"), bulk("hello"));
    assert_eq!(c.cmd("ECHO x"), bulk("x"));
    assert_eq!(c.cmd("SELECT 16"), error("ERR DB index is out of range"));
    assert_eq!(
        c.cmd("SELECT x"),
        error("ERR value is not an integer or out of range")
    );
    assert_eq!(c.cmd("SELECT 3"), ok());
    assert_eq!(c.cmd("CLIENT SETNAME tester"), ok());
    assert_eq!(c.cmd("CLIENT GETNAME"), bulk("tester"));
    assert_eq!(
        c.cmd("NOSUCH a b"),
        error("ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' ")
    );
    assert_eq!(
        c.cmd("GET"),
        error("ERR wrong number of arguments for 'get' command")
    );
    // HELLO 3 switches to RESP3: maps and nulls change shape.
    let Frame::Map(hello) = c.cmd("HELLO 3") else {
        panic!("HELLO 3 must reply with a map")
    };
    assert!(hello.contains(&(bulk("proto"), int(3))));
    assert_eq!(c.cmd("GET missing"), Frame::Null);
    assert_eq!(
        c.cmd("HELLO 4"),
        error("NOPROTO unsupported protocol version")
    );
}

#[test]
fn strings_and_expiry() {
    let node = Server::ferrodis(&[]);
    let mut c = node.client();
    assert_eq!(c.cmd("SET k v"), ok());
    assert_eq!(c.cmd("SET k v2 NX"), Frame::NullBulk);
    assert_eq!(c.cmd("SET k v3 XX GET"), bulk("v"));
    assert_eq!(
        c.cmd("SET k v EX 0"),
        error("ERR invalid expire time in 'set' command")
    );
    assert_eq!(c.cmd("SET k v NX XX"), error("ERR syntax error"));
    assert_eq!(
        c.cmd("INCR k"),
        error("ERR value is not an integer or out of range")
    );
    assert_eq!(c.cmd("INCRBY n 5"), int(5));
    assert_eq!(c.cmd("DECRBY n 7"), int(-2));
    assert_eq!(c.cmd("INCRBYFLOAT f 10.5"), bulk("10.5"));
    assert_eq!(c.cmd("APPEND n 0"), int(3));
    assert_eq!(c.cmd("GET n"), bulk("-20"));
    assert_eq!(c.cmd("GETRANGE k 0 -1"), bulk("v3"));
    assert_eq!(c.cmd("SETRANGE s 3 x"), int(4));
    assert_eq!(
        c.call(&["GET", "s"]),
        Frame::Bulk(bytes::Bytes::from_static(b"\0\0\0x"))
    );
    assert_eq!(c.cmd("MSET a 1 b 2"), ok());
    assert_eq!(
        c.cmd("MGET a b nosuch"),
        Frame::Array(vec![bulk("1"), bulk("2"), Frame::NullBulk])
    );
    assert_eq!(c.cmd("PSETEX t 300 v"), ok());
    let Frame::Integer(pttl) = c.cmd("PTTL t") else {
        panic!("PTTL must be an integer")
    };
    // -2 if this machine stalled past the TTL already.
    assert!((pttl > 0 && pttl <= 300) || pttl == -2, "{pttl}");
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert_eq!(c.cmd("GET t"), Frame::NullBulk);
    assert_eq!(c.cmd("TTL t"), int(-2));
    assert_eq!(c.cmd("TTL a"), int(-1));
}

#[test]
fn keys_and_scan() {
    let node = Server::ferrodis(&[]);
    let mut c = node.client();
    for i in 0..100 {
        c.cmd(&format!("SET key:{i} {i}"));
    }
    assert_eq!(c.cmd("DBSIZE"), int(100));
    assert_eq!(c.cmd("EXISTS key:1 key:2 nosuch key:1"), int(3));
    assert_eq!(c.cmd("TYPE key:1"), simple("string"));
    assert_eq!(c.cmd("TYPE nosuch"), simple("none"));
    let mut cursor = "0".to_owned();
    let mut seen = std::collections::BTreeSet::new();
    loop {
        let Frame::Array(parts) = c.cmd(&format!("SCAN {cursor} COUNT 7 MATCH key:1*")) else {
            panic!("SCAN reply")
        };
        let (Frame::Bulk(next), Frame::Array(keys)) = (&parts[0], &parts[1]) else {
            panic!("SCAN reply shape")
        };
        for k in keys {
            let Frame::Bulk(k) = k else { panic!("key") };
            seen.insert(String::from_utf8_lossy(k).into_owned());
        }
        cursor = String::from_utf8_lossy(next).into_owned();
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 11, "{seen:?}");
    assert_eq!(c.cmd("RENAME key:1 renamed"), ok());
    assert_eq!(c.cmd("RENAME nosuch x"), error("ERR no such key"));
    assert_eq!(c.cmd("EXPIRE renamed 100 XX"), int(0));
    assert_eq!(c.cmd("EXPIRE renamed 100 NX"), int(1));
    assert_eq!(c.cmd("EXPIRE renamed 50 GT"), int(0));
    assert_eq!(
        c.cmd("EXPIRE renamed 50 NX XX"),
        error("ERR NX and XX, GT or LT options at the same time are not compatible")
    );
    assert_eq!(c.cmd("PERSIST renamed"), int(1));
    assert_eq!(c.cmd("OBJECT ENCODING renamed"), bulk("int"));
    assert_eq!(c.cmd("COPY renamed copied DB 1"), int(1));
    assert_eq!(c.cmd("MOVE renamed 1"), int(1));
    assert_eq!(c.cmd("SELECT 1"), ok());
    let Frame::Array(mut keys) = c.cmd("KEYS *") else {
        panic!("KEYS reply")
    };
    keys.sort_by_key(|k| format!("{k:?}"));
    assert_eq!(keys, vec![bulk("copied"), bulk("renamed")]);
    assert_eq!(c.cmd("FLUSHALL"), ok());
    assert_eq!(c.cmd("DBSIZE"), int(0));
}

#[test]
fn transactions_and_watch() {
    let node = Server::ferrodis(&[]);
    let mut a = node.client();
    let mut b = node.client();
    assert_eq!(a.cmd("MULTI"), ok());
    assert_eq!(a.cmd("SET x 1"), simple("QUEUED"));
    assert_eq!(a.cmd("INCR x"), simple("QUEUED"));
    assert_eq!(a.cmd("EXEC"), Frame::Array(vec![ok(), int(2)]));
    // A queueing error aborts EXEC.
    assert_eq!(a.cmd("MULTI"), ok());
    assert_eq!(
        a.cmd("GET"),
        error("ERR wrong number of arguments for 'get' command")
    );
    assert_eq!(
        a.cmd("EXEC"),
        error("EXECABORT Transaction discarded because of previous errors.")
    );
    // A watched key modified by another client makes EXEC return null.
    assert_eq!(a.cmd("WATCH x"), ok());
    assert_eq!(b.cmd("SET x 10"), ok());
    assert_eq!(a.cmd("MULTI"), ok());
    assert_eq!(a.cmd("INCR x"), simple("QUEUED"));
    assert_eq!(a.cmd("EXEC"), Frame::NullArray);
    assert_eq!(a.cmd("EXEC"), error("ERR EXEC without MULTI"));
    // An error from a command run at once (not queued) does not abort.
    assert_eq!(a.cmd("MULTI"), ok());
    assert_eq!(a.cmd("MULTI"), error("ERR MULTI calls can not be nested"));
    assert_eq!(a.cmd("PING"), simple("QUEUED"));
    assert_eq!(a.cmd("EXEC"), Frame::Array(vec![simple("PONG")]));
    // FLUSHALL touches only watched keys that existed.
    assert_eq!(a.cmd("DEL nosuch"), int(0));
    assert_eq!(a.cmd("WATCH nosuch"), ok());
    assert_eq!(b.cmd("FLUSHALL"), ok());
    assert_eq!(a.cmd("MULTI"), ok());
    assert_eq!(a.cmd("PING"), simple("QUEUED"));
    assert_eq!(a.cmd("EXEC"), Frame::Array(vec![simple("PONG")]));
    assert_eq!(a.cmd("SET w 1"), ok());
    assert_eq!(a.cmd("WATCH w"), ok());
    assert_eq!(b.cmd("FLUSHDB"), ok());
    assert_eq!(a.cmd("MULTI"), ok());
    assert_eq!(a.cmd("PING"), simple("QUEUED"));
    assert_eq!(a.cmd("EXEC"), Frame::NullArray);
    assert_eq!(a.cmd("DISCARD"), error("ERR DISCARD without MULTI"));
}

#[test]
fn authentication() {
    let node = Server::ferrodis(&["--requirepass", "secret"]);
    let mut c = node.client();
    assert_eq!(c.cmd("GET x"), error("NOAUTH Authentication required."));
    assert_eq!(
        c.cmd("AUTH wrong"),
        error("WRONGPASS invalid username-password pair or user is disabled.")
    );
    assert_eq!(c.cmd("AUTH secret"), ok());
    assert_eq!(c.cmd("GET x"), Frame::NullBulk);
    let mut d = node.client();
    assert_eq!(d.cmd("AUTH default secret"), ok());
}

#[test]
fn protocol_error_closes_the_connection() {
    let node = Server::ferrodis(&[]);
    let mut c = node.client();
    c.send_raw(b"*1\r\nx3\r\n");
    assert_eq!(c.read(), error("ERR Protocol error: expected '$', got 'x'"));
    // The server closes the connection after the error.
    let mut rest = [0u8; 16];
    let n = c.read_raw(&mut rest);
    assert_eq!(n, 0);
    // Other clients are unaffected.
    assert_eq!(
        node.client().cmd("MGET a"),
        Frame::Array(vec![Frame::NullBulk])
    );
    assert_eq!(bulks(&["a"]), Frame::Array(vec![bulk("a")]));
}

#[test]
fn monitor_sees_other_clients_commands() {
    let node = Server::ferrodis(&[]);
    let mut mon = node.client();
    assert_eq!(mon.cmd("MONITOR"), ok());
    let mut c = node.client();
    c.call(&["SET", "k", "a \"quoted\"\nvalue"]);
    let Frame::Simple(line) = mon.read() else {
        panic!("monitor line")
    };
    let line = String::from_utf8_lossy(&line).into_owned();
    // +<secs>.<micros> [<db> <addr>] "SET" "k" "..."
    let (stamp, rest) = line.split_once(' ').expect("timestamp");
    assert!(
        stamp
            .split_once('.')
            .is_some_and(|(s, us)| s.parse::<u64>().is_ok() && us.len() == 6),
        "{line}"
    );
    assert!(rest.starts_with("[0 127.0.0.1:"), "{line}");
    assert!(
        rest.ends_with(r#"] "SET" "k" "a \"quoted\"\nvalue""#),
        "{line}"
    );
}

#[test]
fn client_pause_write_holds_writes_only() {
    let node = Server::ferrodis(&[]);
    let mut a = node.client();
    let mut b = node.client();
    assert_eq!(b.cmd("SET k v"), ok());
    assert_eq!(a.cmd("CLIENT PAUSE 2000 WRITE"), ok());
    let start = std::time::Instant::now();
    assert_eq!(b.cmd("GET k"), bulk("v"));
    assert!(start.elapsed().as_millis() < 1500, "reads are not paused");
    assert_eq!(b.cmd("SET k w"), ok());
    assert!(
        start.elapsed().as_millis() >= 300,
        "writes wait for the pause to end"
    );
    assert_eq!(a.cmd("CLIENT PAUSE 100000 ALL"), ok());
    assert_eq!(a.cmd("CLIENT UNPAUSE"), ok());
    assert_eq!(b.cmd("GET k"), bulk("w"));
}

#[test]
fn a_subscriber_that_never_reads_is_cut_off() {
    let node = Server::ferrodis(&[]);
    let mut admin = node.client();
    assert_eq!(
        admin.call(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 1mb 0 0"
        ]),
        ok()
    );
    let mut slow = node.client();
    slow.cmd("SUBSCRIBE firehose");
    let payload = "x".repeat(64 * 1024);
    // Up to 64 MB offered; the subscriber reads none of it.
    for _ in 0..1024 {
        admin.call(&["PUBLISH", "firehose", &payload]);
        if admin.cmd("PUBSUB NUMSUB firehose") == Frame::Array(vec![bulk("firehose"), int(0)]) {
            return;
        }
    }
    panic!("the subscriber was never disconnected");
}

#[test]
fn slowlog_records_slow_commands() {
    let node = Server::ferrodis(&[]);
    let mut c = node.client();
    assert_eq!(c.cmd("CONFIG SET slowlog-log-slower-than 100000"), ok());
    assert_eq!(c.cmd("SLOWLOG RESET"), ok());
    c.cmd("SET fast 1");
    c.cmd("DEBUG SLEEP 0.15");
    assert_eq!(c.cmd("SLOWLOG LEN"), int(1));
    let Frame::Array(entries) = c.cmd("SLOWLOG GET") else {
        panic!("SLOWLOG GET")
    };
    let Frame::Array(entry) = &entries[0] else {
        panic!("entry")
    };
    assert_eq!(entry.len(), 6);
    let Frame::Integer(micros) = entry[2] else {
        panic!("duration")
    };
    assert!(micros >= 150_000, "{micros}");
    assert_eq!(entry[3], bulks(&["DEBUG", "SLEEP", "0.15"]));
    assert_eq!(c.cmd("CONFIG SET slowlog-log-slower-than 0"), ok());
    c.call(&["SET".to_owned(), "big".to_owned(), "x".repeat(200)]);
    let Frame::Array(entries) = c.cmd("SLOWLOG GET 1") else {
        panic!("SLOWLOG GET 1")
    };
    let Frame::Array(entry) = &entries[0] else {
        panic!("entry")
    };
    assert_eq!(
        entry[3],
        bulks(&[
            "SET",
            "big",
            &format!("{}... (72 more bytes)", "x".repeat(128))
        ])
    );
    // With a threshold of 0, SLOWLOG RESET is itself logged, as in Redis.
    assert_eq!(c.cmd("SLOWLOG RESET"), ok());
    assert_eq!(c.cmd("SLOWLOG LEN"), int(1));
    assert_eq!(c.cmd("CONFIG SET slowlog-log-slower-than -1"), ok());
    c.cmd("SLOWLOG RESET");
    c.cmd("DEBUG SLEEP 0.01");
    assert_eq!(c.cmd("SLOWLOG LEN"), int(0));
}
