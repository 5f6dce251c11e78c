//! A real `ferrodis-node` process answering hash commands as Redis 7.0
//! does: replies, error texts, encodings and RESP3 shapes, checked against
//! fixed expectations and against Debian's `redis-server`.

use std::collections::BTreeSet;

use ferrodis_resp::Frame;
use ferrodis_suite::reply::{bulk, bulks, error, int, ok};
use ferrodis_suite::{sorted_bulks, Client, Server};

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

#[test]
fn set_get_and_delete_fields() {
    let node = Server::ferrodis(&[]);
    let mut c = node.client();
    assert_eq!(c.cmd("HSET h a 1 b 2"), int(2));
    assert_eq!(c.cmd("HSET h a 10 c 3"), int(1));
    assert_eq!(c.cmd("HMSET h d 4"), ok());
    assert_eq!(c.cmd("HSETNX h a x"), int(0));
    assert_eq!(c.cmd("HSETNX h e 5"), int(1));
    assert_eq!(c.cmd("HGET h a"), bulk("10"));
    assert_eq!(c.cmd("HGET h nosuch"), Frame::NullBulk);
    assert_eq!(c.cmd("HGET nosuch a"), Frame::NullBulk);
    assert_eq!(
        c.cmd("HMGET h a nosuch b"),
        Frame::Array(vec![bulk("10"), Frame::NullBulk, bulk("2")])
    );
    // A listpack keeps insertion order.
    assert_eq!(
        c.cmd("HGETALL h"),
        bulks(&["a", "10", "b", "2", "c", "3", "d", "4", "e", "5"])
    );
    assert_eq!(c.cmd("HKEYS h"), bulks(&["a", "b", "c", "d", "e"]));
    assert_eq!(c.cmd("HVALS h"), bulks(&["10", "2", "3", "4", "5"]));
    assert_eq!(c.cmd("HLEN h"), int(5));
    assert_eq!(c.cmd("HSTRLEN h a"), int(2));
    assert_eq!(c.cmd("HSTRLEN h nosuch"), int(0));
    assert_eq!(c.cmd("HEXISTS h a"), int(1));
    assert_eq!(c.cmd("HEXISTS h z"), int(0));
    assert_eq!(c.cmd("HDEL h a nosuch b"), int(2));
    assert_eq!(c.cmd("HDEL h c d e"), int(3));
    assert_eq!(c.cmd("EXISTS h"), int(0));
    assert_eq!(c.cmd("HDEL h a"), int(0));
    assert_eq!(c.cmd("HLEN nosuch"), int(0));
    assert_eq!(c.cmd("HGETALL nosuch"), Frame::Array(vec![]));
}

#[test]
fn errors_and_wrong_types() {
    let node = Server::ferrodis(&[]);
    let mut c = node.client();
    assert_eq!(
        c.cmd("HSET h a"),
        error("ERR wrong number of arguments for 'hset' command")
    );
    assert_eq!(
        c.cmd("HSET h a 1 b"),
        error("ERR wrong number of arguments for 'hset' command")
    );
    assert_eq!(
        c.cmd("HMSET h a 1 b"),
        error("ERR wrong number of arguments for 'hmset' command")
    );
    assert_eq!(
        c.cmd("HGET h"),
        error("ERR wrong number of arguments for 'hget' command")
    );
    assert_eq!(c.cmd("SET s x"), ok());
    for cmd in [
        "HSET s a 1",
        "HSETNX s a 1",
        "HGET s a",
        "HMGET s a",
        "HGETALL s",
        "HKEYS s",
        "HVALS s",
        "HDEL s a",
        "HLEN s",
        "HSTRLEN s a",
        "HEXISTS s a",
        "HINCRBY s a 1",
        "HINCRBYFLOAT s a 1",
        "HRANDFIELD s",
        "HRANDFIELD s 2",
        "HSCAN s 0",
    ] {
        assert_eq!(c.cmd(cmd), error(WRONGTYPE), "{cmd}");
    }
    assert_eq!(c.cmd("HSCAN h x"), error("ERR invalid cursor"));
    assert_eq!(c.cmd("HSET h a 1"), int(1));
    assert_eq!(c.cmd("HSCAN h 0 COUNT 0"), error("ERR syntax error"));
    assert_eq!(c.cmd("HSCAN h 0 TYPE string"), error("ERR syntax error"));
    assert_eq!(
        c.cmd("HSCAN h 0 COUNT x"),
        error("ERR value is not an integer or out of range")
    );
    // A missing key answers before its options are parsed, as in Redis.
    assert_eq!(
        c.cmd("HSCAN nosuch 0 COUNT 0"),
        Frame::Array(vec![bulk("0"), Frame::Array(vec![])])
    );
}

#[test]
fn increments() {
    let node = Server::ferrodis(&[]);
    let mut c = node.client();
    assert_eq!(c.cmd("HINCRBY h n 5"), int(5));
    assert_eq!(c.cmd("HINCRBY h n -7"), int(-2));
    assert_eq!(
        c.cmd("HINCRBY h n x"),
        error("ERR value is not an integer or out of range")
    );
    assert_eq!(c.cmd("HSET h s abc big 9223372036854775807"), int(2));
    assert_eq!(
        c.cmd("HINCRBY h s 1"),
        error("ERR hash value is not an integer")
    );
    assert_eq!(
        c.cmd("HINCRBY h big 1"),
        error("ERR increment or decrement would overflow")
    );
    assert_eq!(c.cmd("HINCRBYFLOAT h f 10.5"), bulk("10.5"));
    assert_eq!(c.cmd("HINCRBYFLOAT h f -0.25"), bulk("10.25"));
    assert_eq!(c.cmd("HINCRBYFLOAT h n 1.5"), bulk("-0.5"));
    assert_eq!(
        c.cmd("HINCRBYFLOAT h s 1"),
        error("ERR hash value is not a float")
    );
    assert_eq!(
        c.cmd("HINCRBYFLOAT h f x"),
        error("ERR value is not a valid float")
    );
    assert_eq!(
        c.cmd("HINCRBYFLOAT h f nan"),
        error("ERR value is not a valid float")
    );
    assert_eq!(
        c.cmd("HINCRBYFLOAT nosuch f +inf"),
        error("ERR value is NaN or Infinity")
    );
    assert_eq!(c.cmd("EXISTS nosuch"), int(0));
    assert_eq!(c.cmd("HINCRBYFLOAT h3 f 1.23"), bulk("1.23"));
    assert_eq!(c.cmd("HINCRBYFLOAT h3 f 0.77"), bulk("2"));
    assert_eq!(c.cmd("HINCRBYFLOAT h3 f -0.1"), bulk("1.9"));
}

/// Redis 7.0.15 compiles in 512 for hash-max-listpack-entries (its stock
/// redis.conf sets 128): use 128 as most deployments do.
#[test]
fn encodings_follow_the_thresholds() {
    let node = Server::ferrodis(&["--hash-max-listpack-entries", "128"]);
    let mut c = node.client();
    for i in 0..128 {
        c.cmd(&format!("HSET h f{i} v"));
    }
    assert_eq!(c.cmd("OBJECT ENCODING h"), bulk("listpack"));
    assert_eq!(c.cmd("HSET h f128 v"), int(1));
    assert_eq!(c.cmd("OBJECT ENCODING h"), bulk("hashtable"));
    // Never back, even when small again.
    for i in 0..120 {
        c.cmd(&format!("HDEL h f{i}"));
    }
    assert_eq!(c.cmd("OBJECT ENCODING h"), bulk("hashtable"));
    let long = "x".repeat(65);
    assert_eq!(c.call(&["HSET", "v", "f", &long[..64]]), int(1));
    assert_eq!(c.cmd("OBJECT ENCODING v"), bulk("listpack"));
    assert_eq!(c.call(&["HSET", "v", "f", &long]), int(0));
    assert_eq!(c.cmd("OBJECT ENCODING v"), bulk("hashtable"));
    // CONFIG SET reaches the store, under both names.
    assert_eq!(c.cmd("CONFIG SET hash-max-ziplist-entries 2"), ok());
    assert_eq!(
        c.cmd("CONFIG GET hash-max-listpack-entries"),
        bulks(&["hash-max-listpack-entries", "2"])
    );
    assert_eq!(c.cmd("HSET small a 1 b 2"), int(2));
    assert_eq!(c.cmd("OBJECT ENCODING small"), bulk("listpack"));
    assert_eq!(c.cmd("HSET small c 3"), int(1));
    assert_eq!(c.cmd("OBJECT ENCODING small"), bulk("hashtable"));
    assert_eq!(c.cmd("CONFIG SET hash-max-listpack-value 3"), ok());
    assert_eq!(c.cmd("HINCRBYFLOAT fl f 0.5"), bulk("0.5"));
    assert_eq!(c.cmd("OBJECT ENCODING fl"), bulk("listpack"));
    assert_eq!(c.cmd("HINCRBYFLOAT fl f 0.25"), bulk("0.75"));
    assert_eq!(c.cmd("OBJECT ENCODING fl"), bulk("hashtable"));
    let Frame::Integer(n) = c.cmd("MEMORY USAGE fl") else {
        panic!("MEMORY USAGE must be an integer")
    };
    assert!(n > 0);
    assert_eq!(c.cmd("MEMORY USAGE nosuch"), Frame::NullBulk);
}

#[test]
fn hrandfield_counts_and_resp3_shapes() {
    let node = Server::ferrodis(&[]);
    let mut c = node.client();
    assert_eq!(c.cmd("HRANDFIELD nosuch"), Frame::NullBulk);
    assert_eq!(c.cmd("HRANDFIELD nosuch 5"), Frame::Array(vec![]));
    assert_eq!(c.cmd("HSET h a 1 b 2 c 3"), int(3));
    assert_eq!(c.cmd("HRANDFIELD h 0"), Frame::Array(vec![]));
    assert_eq!(
        sorted_bulks(c.cmd("HRANDFIELD h 10")),
        ["a", "b", "c"].map(String::from)
    );
    assert_eq!(
        sorted_bulks(c.cmd("HRANDFIELD h 10 WITHVALUES")),
        ["1", "2", "3", "a", "b", "c"].map(String::from)
    );
    let picked = sorted_bulks(c.cmd("HRANDFIELD h 2"));
    assert_eq!(picked.len(), 2);
    assert_ne!(picked[0], picked[1]);
    let Frame::Array(many) = c.cmd("HRANDFIELD h -20 WITHVALUES") else {
        panic!("array")
    };
    assert_eq!(many.len(), 40);
    assert_eq!(c.cmd("HRANDFIELD h 1 WITHVALUE"), error("ERR syntax error"));
    assert_eq!(
        c.cmd("HRANDFIELD h -9223372036854775808"),
        error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    );
    assert_eq!(
        c.cmd("HRANDFIELD h -9223372036854770000 WITHVALUES"),
        error("ERR value is out of range")
    );
    // RESP3: HGETALL is a map, HRANDFIELD WITHVALUES nests pairs, nulls
    // are `_`.
    let Frame::Map(_) = c.cmd("HELLO 3") else {
        panic!("HELLO 3")
    };
    assert_eq!(
        c.cmd("HGETALL h"),
        Frame::Map(vec![
            (bulk("a"), bulk("1")),
            (bulk("b"), bulk("2")),
            (bulk("c"), bulk("3"))
        ])
    );
    assert_eq!(c.cmd("HGETALL nosuch"), Frame::Map(vec![]));
    let Frame::Array(pairs) = c.cmd("HRANDFIELD h 2 WITHVALUES") else {
        panic!("array")
    };
    assert_eq!(pairs.len(), 2);
    for p in pairs {
        let Frame::Array(kv) = p else { panic!("pair") };
        assert_eq!(kv.len(), 2);
    }
    assert_eq!(c.cmd("HGET h nosuch"), Frame::Null);
    assert_eq!(
        c.cmd("HMGET h a nosuch"),
        Frame::Array(vec![bulk("1"), Frame::Null])
    );
}

#[test]
fn hscan_iterates_everything() {
    let node = Server::ferrodis(&["--hash-max-listpack-entries", "128"]);
    let mut c = node.client();
    assert_eq!(c.cmd("HSET small a 1 b 2"), int(2));
    // A listpack is returned whole, cursor 0, whatever COUNT says.
    assert_eq!(
        c.cmd("HSCAN small 0 COUNT 1"),
        Frame::Array(vec![bulk("0"), bulks(&["a", "1", "b", "2"])])
    );
    assert_eq!(
        c.cmd("HSCAN small 0 MATCH b*"),
        Frame::Array(vec![bulk("0"), bulks(&["b", "2"])])
    );
    for i in 0..500 {
        c.cmd(&format!("HSET big field:{i} {i}"));
    }
    let mut cursor = "0".to_owned();
    let mut seen = BTreeSet::new();
    let mut calls = 0;
    loop {
        let Frame::Array(parts) = c.cmd(&format!("HSCAN big {cursor} COUNT 20 MATCH field:1*"))
        else {
            panic!("HSCAN reply")
        };
        let (Frame::Bulk(next), Frame::Array(items)) = (&parts[0], &parts[1]) else {
            panic!("HSCAN reply shape")
        };
        for pair in items.chunks(2) {
            let (Frame::Bulk(f), Frame::Bulk(v)) = (&pair[0], &pair[1]) else {
                panic!("field/value")
            };
            assert_eq!(&f[6..], &v[..]);
            seen.insert(String::from_utf8_lossy(f).into_owned());
        }
        calls += 1;
        cursor = String::from_utf8_lossy(next).into_owned();
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 111);
    assert!(calls > 1);
}

/// Runs `cmds` on both servers and compares the replies.
fn same_replies(a: &mut Client, b: &mut Client, cmds: &[&str]) {
    for cmd in cmds {
        assert_eq!(a.cmd(cmd), b.cmd(cmd), "{cmd}");
    }
}

#[test]
fn matches_redis_server() {
    let redis = Server::redis(&[]);
    let node = Server::ferrodis(&[]);
    let (mut r, mut f) = (redis.client(), node.client());
    same_replies(
        &mut r,
        &mut f,
        &[
            "HSET h a 1 b 2 c 3",
            "HSET h b 20 d 4",
            "HSETNX h a 0",
            "HGETALL h",
            "HDEL h b x",
            "HGETALL h",
            "HMGET h a b c",
            "HINCRBY h a 41",
            "HINCRBY h c x",
            "HINCRBYFLOAT h c 0.5",
            "HINCRBYFLOAT h c 1e3",
            "HINCRBYFLOAT h d 2.5e-3",
            "HSTRLEN h c",
            "HKEYS h",
            "HVALS h",
            "OBJECT ENCODING h",
            "HSCAN h 0",
            "HSCAN h 0 MATCH a",
            "HRANDFIELD h 0 WITHVALUES",
            "HRANDFIELD h 1 2",
            "HRANDFIELD h x",
            "SET str x",
            "HGETALL str",
            "HSETNX h",
            "HDEL h a c d",
            "EXISTS h",
        ],
    );
    r.cmd("HELLO 3");
    f.cmd("HELLO 3");
    same_replies(
        &mut r,
        &mut f,
        &[
            "HSET h3 a 1",
            "HGETALL h3",
            "HRANDFIELD h3 5 WITHVALUES",
            "HGET h3 x",
            "HSCAN h3 0",
        ],
    );
}
