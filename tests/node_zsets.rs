//! A real `ferrodis-node` process answering the sorted set commands as
//! Redis 7.0 does: each command family with its errors, the RESP3 reply
//! shapes, and byte-for-byte parity with `redis-server` on a script of
//! deterministic commands in RESP2 and RESP3.

use std::time::Duration;

use bytes::BytesMut;
use ferrodis_resp::{Frame, FrameDecoder};
use ferrodis_suite::reply::{bulk, bulks, error, int, ok};
use ferrodis_suite::Server;

fn arr(items: Vec<Frame>) -> Frame {
    Frame::Array(items)
}

fn empty() -> Frame {
    Frame::Array(Vec::new())
}

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

#[test]
fn zadd_and_zincrby() {
    let node = Server::ferrodis(&[]);
    let mut c = node.client();
    assert_eq!(c.cmd("ZADD z 1 a 2 b 3.5 c"), int(3));
    assert_eq!(c.cmd("ZADD z 1 a 5 b"), int(0));
    assert_eq!(c.cmd("ZADD z CH 1 a 6 b 7 d"), int(2));
    assert_eq!(c.cmd("ZADD z NX 9 a 8 e"), int(1));
    assert_eq!(c.cmd("ZSCORE z a"), bulk("1"));
    assert_eq!(c.cmd("ZADD z XX CH 2 a 3 nope"), int(1));
    assert_eq!(c.cmd("ZSCORE z nope"), Frame::NullBulk);
    assert_eq!(c.cmd("ZADD z GT CH 1 a 3 a"), int(1));
    assert_eq!(c.cmd("ZADD z LT CH 5 a 0 a"), int(1));
    assert_eq!(c.cmd("ZSCORE z a"), bulk("0"));
    assert_eq!(c.cmd("ZADD z INCR 2.5 a"), bulk("2.5"));
    assert_eq!(c.cmd("ZADD z INCR GT -1 a"), Frame::NullBulk);
    assert_eq!(c.cmd("ZADD z XX INCR 1 missing"), Frame::NullBulk);
    assert_eq!(c.cmd("ZINCRBY z 0.1 a"), bulk("2.6000000000000001"));
    assert_eq!(c.cmd("ZINCRBY fresh 5 m"), bulk("5"));
    assert_eq!(c.cmd("ZADD z XX 1 a 2"), error("ERR syntax error"));
    assert_eq!(
        c.cmd("ZADD z NX"),
        error("ERR wrong number of arguments for 'zadd' command")
    );
    assert_eq!(c.cmd("ZADD z NX CH"), error("ERR syntax error"));
    assert_eq!(
        c.cmd("ZADD z XX NX 1 a"),
        error("ERR XX and NX options at the same time are not compatible")
    );
    for opts in ["GT NX", "LT NX", "GT LT"] {
        assert_eq!(
            c.cmd(&format!("ZADD z {opts} 1 a")),
            error("ERR GT, LT, and/or NX options at the same time are not compatible")
        );
    }
    assert_eq!(
        c.cmd("ZADD z INCR 1 a 2 b"),
        error("ERR INCR option supports a single increment-element pair")
    );
    for bad in ["abc", "nan", "1e400", "1x"] {
        assert_eq!(
            c.cmd(&format!("ZADD z 1 a {bad} b")),
            error("ERR value is not a valid float")
        );
    }
    assert_eq!(
        c.call(&["ZADD", "z", "", "a"]),
        error("ERR value is not a valid float")
    );
    assert_eq!(
        c.cmd("ZINCRBY z x a"),
        error("ERR value is not a valid float")
    );
    assert_eq!(c.cmd("ZADD inf +inf a"), int(1));
    assert_eq!(
        c.cmd("ZINCRBY inf -inf a"),
        error("ERR resulting score is not a number (NaN)")
    );
    assert_eq!(c.cmd("ZSCORE inf a"), bulk("inf"));
    assert_eq!(c.cmd("SET s x"), ok());
    assert_eq!(c.cmd("ZADD s 1 a"), error(WRONGTYPE));
    assert_eq!(c.cmd("ZINCRBY s 1 a"), error(WRONGTYPE));
    // Nothing is added when one score is bad.
    assert_eq!(
        c.cmd("ZADD v 1 a x b"),
        error("ERR value is not a valid float")
    );
    assert_eq!(c.cmd("EXISTS v"), int(0));
}

#[test]
fn reads_counts_and_ranks() {
    let node = Server::ferrodis(&[]);
    let mut c = node.client();
    c.cmd("ZADD z 1 a 2 b 3 c 4 d 5 e");
    assert_eq!(c.cmd("ZCARD z"), int(5));
    assert_eq!(c.cmd("ZCARD nokey"), int(0));
    assert_eq!(c.cmd("ZCOUNT z (1 3"), int(2));
    assert_eq!(c.cmd("ZCOUNT z -inf +inf"), int(5));
    assert_eq!(c.cmd("ZCOUNT z 5 1"), int(0));
    assert_eq!(
        c.cmd("ZCOUNT z x 1"),
        error("ERR min or max is not a float")
    );
    assert_eq!(c.cmd("ZRANK z c"), int(2));
    assert_eq!(c.cmd("ZREVRANK z c"), int(2));
    assert_eq!(c.cmd("ZREVRANK z a"), int(4));
    assert_eq!(c.cmd("ZRANK z nope"), Frame::NullBulk);
    assert_eq!(c.cmd("ZRANK nokey a"), Frame::NullBulk);
    assert_eq!(
        c.cmd("ZMSCORE z a nope e"),
        arr(vec![bulk("1"), Frame::NullBulk, bulk("5")])
    );
    assert_eq!(c.cmd("ZMSCORE nokey a"), arr(vec![Frame::NullBulk]));
    assert_eq!(
        c.cmd("ZMSCORE z"),
        error("ERR wrong number of arguments for 'zmscore' command")
    );
    c.cmd("ZADD l 0 a 0 b 0 c 0 d");
    assert_eq!(c.cmd("ZLEXCOUNT l - +"), int(4));
    assert_eq!(c.cmd("ZLEXCOUNT l (a [c"), int(2));
    assert_eq!(c.cmd("ZLEXCOUNT l + -"), int(0));
    assert_eq!(
        c.cmd("ZLEXCOUNT l a c"),
        error("ERR min or max not valid string range item")
    );
    c.cmd("SET s x");
    for cmd in [
        "ZCARD s",
        "ZCOUNT s 0 1",
        "ZLEXCOUNT s - +",
        "ZRANK s a",
        "ZSCORE s a",
        "ZMSCORE s a",
    ] {
        assert_eq!(c.cmd(cmd), error(WRONGTYPE), "{cmd}");
    }
}

#[test]
fn range_family() {
    let node = Server::ferrodis(&[]);
    let mut c = node.client();
    c.cmd("ZADD z 1 a 2 b 3 c 4 d 5 e");
    assert_eq!(c.cmd("ZRANGE z 0 -1"), bulks(&["a", "b", "c", "d", "e"]));
    assert_eq!(
        c.cmd("ZRANGE z -2 -1 WITHSCORES"),
        bulks(&["d", "4", "e", "5"])
    );
    assert_eq!(c.cmd("ZRANGE z 0 1 REV"), bulks(&["e", "d"]));
    assert_eq!(
        c.cmd("ZREVRANGE z 0 1 WITHSCORES"),
        bulks(&["e", "5", "d", "4"])
    );
    assert_eq!(c.cmd("ZRANGE z 3 1"), empty());
    assert_eq!(c.cmd("ZRANGE nokey 0 -1"), empty());
    assert_eq!(c.cmd("ZRANGE z (1 3 BYSCORE"), bulks(&["b", "c"]));
    assert_eq!(
        c.cmd("ZRANGE z +inf -inf BYSCORE REV LIMIT 1 2"),
        bulks(&["d", "c"])
    );
    assert_eq!(
        c.cmd("ZRANGEBYSCORE z -inf +inf LIMIT 2 -1"),
        bulks(&["c", "d", "e"])
    );
    assert_eq!(c.cmd("ZRANGEBYSCORE z -inf +inf LIMIT -1 2"), empty());
    assert_eq!(
        c.cmd("ZREVRANGEBYSCORE z 4 (2 WITHSCORES"),
        bulks(&["d", "4", "c", "3"])
    );
    c.cmd("ZADD l 0 a 0 b 0 c 0 d 0 e");
    assert_eq!(c.cmd("ZRANGEBYLEX l [b (d"), bulks(&["b", "c"]));
    assert_eq!(c.cmd("ZRANGEBYLEX l - + LIMIT 1 2"), bulks(&["b", "c"]));
    assert_eq!(c.cmd("ZREVRANGEBYLEX l + (c"), bulks(&["e", "d"]));
    assert_eq!(
        c.cmd("ZRANGE l [d - BYLEX REV"),
        bulks(&["d", "c", "b", "a"])
    );
    // Errors.
    assert_eq!(
        c.cmd("ZRANGE z 0 -1 LIMIT 0 1"),
        error(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
        )
    );
    assert_eq!(
        c.cmd("ZRANGE l - + BYLEX WITHSCORES"),
        error("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
    );
    for cmd in [
        "ZRANGE z 0 -1 BYSCORE BYLEX",
        "ZRANGE z 0 -1 REV REV",
        "ZRANGEBYSCORE z 0 1 REV",
        "ZRANGEBYSCORE z 0 1 LIMIT 0",
        "ZRANGE z 0 -1 foo",
    ] {
        assert_eq!(c.cmd(cmd), error("ERR syntax error"), "{cmd}");
    }
    assert_eq!(
        c.cmd("ZRANGE z a b"),
        error("ERR value is not an integer or out of range")
    );
    assert_eq!(
        c.cmd("ZRANGEBYSCORE z 1 NaN"),
        error("ERR min or max is not a float")
    );
    assert_eq!(
        c.cmd("ZRANGEBYLEX z a [b"),
        error("ERR min or max not valid string range item")
    );
    assert_eq!(
        c.cmd("ZRANGEBYSCORE z 0 1 LIMIT x 1"),
        error("ERR value is not an integer or out of range")
    );
    c.cmd("SET s x");
    assert_eq!(c.cmd("ZRANGE s 0 -1"), error(WRONGTYPE));
    // ZRANGESTORE.
    assert_eq!(c.cmd("ZRANGESTORE dst z 1 2"), int(2));
    assert_eq!(
        c.cmd("ZRANGE dst 0 -1 WITHSCORES"),
        bulks(&["b", "2", "c", "3"])
    );
    assert_eq!(c.cmd("ZRANGESTORE dst z 5 1 BYSCORE REV LIMIT 0 1"), int(1));
    assert_eq!(c.cmd("ZRANGE dst 0 -1"), bulks(&["e"]));
    assert_eq!(c.cmd("ZRANGESTORE dst nokey 0 -1"), int(0));
    assert_eq!(c.cmd("EXISTS dst"), int(0));
    assert_eq!(c.cmd("ZRANGESTORE dst s 0 -1"), error(WRONGTYPE));
    assert_eq!(
        c.cmd("ZRANGESTORE dst z 0 -1 WITHSCORES"),
        error("ERR syntax error")
    );
    assert_eq!(c.cmd("ZRANGESTORE s z 0 0"), int(1));
    assert_eq!(c.cmd("TYPE s"), Frame::Simple("zset".into()));
}

#[test]
fn removal_family() {
    let node = Server::ferrodis(&[]);
    let mut c = node.client();
    c.cmd("ZADD z 1 a 2 b 3 c 4 d 5 e 6 f");
    assert_eq!(c.cmd("ZREM z a nope b"), int(2));
    assert_eq!(c.cmd("ZREMRANGEBYSCORE z (3 4"), int(1));
    assert_eq!(c.cmd("ZREMRANGEBYRANK z -1 -1"), int(1));
    assert_eq!(c.cmd("ZRANGE z 0 -1"), bulks(&["c", "e"]));
    assert_eq!(c.cmd("ZREMRANGEBYRANK z 5 9"), int(0));
    assert_eq!(
        c.cmd("ZREMRANGEBYRANK z x 1"),
        error("ERR value is not an integer or out of range")
    );
    assert_eq!(
        c.cmd("ZREMRANGEBYSCORE z x 1"),
        error("ERR min or max is not a float")
    );
    assert_eq!(
        c.cmd("ZREMRANGEBYLEX z x [b"),
        error("ERR min or max not valid string range item")
    );
    assert_eq!(c.cmd("ZREM z c e"), int(2));
    assert_eq!(c.cmd("EXISTS z"), int(0), "empty sets are deleted");
    c.cmd("ZADD l 0 a 0 b 0 c");
    assert_eq!(c.cmd("ZREMRANGEBYLEX l - [b"), int(2));
    assert_eq!(c.cmd("ZREMRANGEBYLEX l - +"), int(1));
    assert_eq!(c.cmd("EXISTS l"), int(0));
    assert_eq!(c.cmd("ZREM nokey a"), int(0));
    c.cmd("SET s x");
    assert_eq!(c.cmd("ZREM s a"), error(WRONGTYPE));
    assert_eq!(c.cmd("ZREMRANGEBYRANK s 0 1"), error(WRONGTYPE));
}

#[test]
fn pops_and_random_members() {
    let node = Server::ferrodis(&[]);
    let mut c = node.client();
    c.cmd("ZADD z 1 a 2 b 3 c 4 d");
    assert_eq!(c.cmd("ZPOPMIN z"), bulks(&["a", "1"]));
    assert_eq!(c.cmd("ZPOPMAX z 2"), bulks(&["d", "4", "c", "3"]));
    assert_eq!(c.cmd("ZPOPMIN z 0"), empty());
    assert_eq!(c.cmd("ZPOPMIN z 5"), bulks(&["b", "2"]));
    assert_eq!(c.cmd("EXISTS z"), int(0));
    assert_eq!(c.cmd("ZPOPMIN z"), empty());
    assert_eq!(
        c.cmd("ZPOPMIN z -1"),
        error("ERR value is out of range, must be positive")
    );
    assert_eq!(c.cmd("ZPOPMIN z 1 2"), error("ERR syntax error"));
    c.cmd("ZADD y 1 a 2 b 3 c");
    assert_eq!(
        c.cmd("ZMPOP 2 nokey y MAX COUNT 2"),
        arr(vec![
            bulk("y"),
            arr(vec![bulks(&["c", "3"]), bulks(&["b", "2"])])
        ])
    );
    assert_eq!(c.cmd("ZMPOP 1 nokey MIN"), Frame::NullArray);
    assert_eq!(
        c.cmd("ZMPOP 0 y MIN"),
        error("ERR numkeys should be greater than 0")
    );
    assert_eq!(
        c.cmd("ZMPOP 1 y MIN COUNT 0"),
        error("ERR count should be greater than 0")
    );
    assert_eq!(c.cmd("ZMPOP 2 y MIN"), error("ERR syntax error"));
    assert_eq!(
        c.cmd("ZMPOP 1 y MIN COUNT 1 COUNT 1"),
        error("ERR syntax error")
    );
    c.cmd("SET s x");
    assert_eq!(c.cmd("ZPOPMIN s 0"), error(WRONGTYPE));
    assert_eq!(c.cmd("ZMPOP 2 nokey s MIN"), error(WRONGTYPE));
    // ZRANDMEMBER.
    c.cmd("ZADD r 1 a 2 b 3 c");
    let Frame::Bulk(m) = c.cmd("ZRANDMEMBER r") else {
        panic!("a member")
    };
    assert!([&b"a"[..], b"b", b"c"].contains(&&m[..]));
    assert_eq!(c.cmd("ZRANDMEMBER nokey"), Frame::NullBulk);
    assert_eq!(c.cmd("ZRANDMEMBER nokey 3"), empty());
    assert_eq!(c.cmd("ZRANDMEMBER r 0"), empty());
    let Frame::Array(all) = c.cmd("ZRANDMEMBER r 10 WITHSCORES") else {
        panic!("an array")
    };
    assert_eq!(all.len(), 6);
    let Frame::Array(rep) = c.cmd("ZRANDMEMBER r -10") else {
        panic!("an array")
    };
    assert_eq!(rep.len(), 10);
    let Frame::Array(two) = c.cmd("ZRANDMEMBER r 2") else {
        panic!("an array")
    };
    assert_eq!(two.len(), 2);
    assert_ne!(two[0], two[1]);
    assert_eq!(
        c.cmd("ZRANDMEMBER r x"),
        error("ERR value is not an integer or out of range")
    );
    assert_eq!(c.cmd("ZRANDMEMBER r 1 foo"), error("ERR syntax error"));
    assert_eq!(
        c.cmd("ZRANDMEMBER r -9223372036854775808"),
        error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    );
    assert_eq!(
        c.cmd("ZRANDMEMBER r -9223372036854770000 WITHSCORES"),
        error("ERR value is out of range")
    );
    assert_eq!(c.cmd("ZRANDMEMBER s 1"), error(WRONGTYPE));
}

#[test]
fn set_operations() {
    let node = Server::ferrodis(&[]);
    let mut c = node.client();
    c.cmd("ZADD a{t} 1 x 2 y 3 z");
    c.cmd("ZADD b{t} 10 y 20 z 30 w");
    assert_eq!(
        c.cmd("ZUNION 2 a{t} b{t} WITHSCORES"),
        bulks(&["x", "1", "y", "12", "z", "23", "w", "30"])
    );
    assert_eq!(
        c.cmd("ZUNION 2 a{t} b{t} WEIGHTS 2 1 AGGREGATE MAX"),
        bulks(&["x", "y", "z", "w"])
    );
    assert_eq!(
        c.cmd("ZINTER 2 a{t} b{t} AGGREGATE MIN WITHSCORES"),
        bulks(&["y", "2", "z", "3"])
    );
    assert_eq!(c.cmd("ZDIFF 2 a{t} b{t} WITHSCORES"), bulks(&["x", "1"]));
    assert_eq!(c.cmd("ZINTERCARD 2 a{t} b{t}"), int(2));
    assert_eq!(c.cmd("ZINTERCARD 2 a{t} b{t} LIMIT 1"), int(1));
    assert_eq!(c.cmd("ZUNIONSTORE d{t} 2 a{t} b{t}"), int(4));
    assert_eq!(
        c.cmd("ZRANGE d{t} 0 -1 WITHSCORES"),
        bulks(&["x", "1", "y", "12", "z", "23", "w", "30"])
    );
    assert_eq!(c.cmd("ZINTERSTORE d{t} 2 a{t} b{t} WEIGHTS 1 0.5"), int(2));
    assert_eq!(
        c.cmd("ZRANGE d{t} 0 -1 WITHSCORES"),
        bulks(&["y", "7", "z", "13"])
    );
    assert_eq!(c.cmd("ZDIFFSTORE d{t} 2 a{t} a{t}"), int(0));
    assert_eq!(c.cmd("EXISTS d{t}"), int(0));
    // inf * 0 counts as 0, inf + -inf too.
    c.cmd("ZADD i{t} inf m");
    c.cmd("ZADD j{t} -inf m");
    assert_eq!(c.cmd("ZUNION 2 i{t} j{t} WITHSCORES"), bulks(&["m", "0"]));
    assert_eq!(
        c.cmd("ZUNION 1 i{t} WEIGHTS 0 WITHSCORES"),
        bulks(&["m", "0"])
    );
    // Errors.
    for cmd in ["zunion", "zinter", "zdiff", "zintercard"] {
        assert_eq!(
            c.cmd(&format!("{cmd} 0 a{{t}}")),
            error(&format!(
                "ERR at least 1 input key is needed for '{cmd}' command"
            ))
        );
    }
    assert_eq!(
        c.cmd("ZUNIONSTORE d{t} 0 a{t}"),
        error("ERR at least 1 input key is needed for 'zunionstore' command")
    );
    assert_eq!(
        c.cmd("ZUNION x a{t}"),
        error("ERR value is not an integer or out of range")
    );
    assert_eq!(c.cmd("ZUNION 3 a{t} b{t}"), error("ERR syntax error"));
    assert_eq!(
        c.cmd("ZUNION 1 a{t} WEIGHTS x"),
        error("ERR weight value is not a float")
    );
    assert_eq!(
        c.cmd("ZUNION 1 a{t} AGGREGATE avg"),
        error("ERR syntax error")
    );
    assert_eq!(c.cmd("ZDIFF 1 a{t} WEIGHTS 1"), error("ERR syntax error"));
    assert_eq!(
        c.cmd("ZUNIONSTORE d{t} 1 a{t} WITHSCORES"),
        error("ERR syntax error")
    );
    assert_eq!(
        c.cmd("ZINTERCARD 1 a{t} LIMIT -1"),
        error("ERR LIMIT can't be negative")
    );
    assert_eq!(
        c.cmd("ZINTERCARD 1 a{t} WITHSCORES"),
        error("ERR syntax error")
    );
    // Plain sets are inputs whose members score 1.
    c.cmd("SADD p{t} y q");
    assert_eq!(
        c.cmd("ZUNION 2 a{t} p{t} WEIGHTS 1 10 WITHSCORES"),
        bulks(&["x", "1", "z", "3", "q", "10", "y", "12"])
    );
    assert_eq!(c.cmd("ZINTER 2 p{t} a{t} WITHSCORES"), bulks(&["y", "3"]));
    assert_eq!(c.cmd("ZDIFFSTORE d{t} 2 p{t} a{t}"), int(1));
    assert_eq!(c.cmd("ZRANGE d{t} 0 -1 WITHSCORES"), bulks(&["q", "1"]));
    c.cmd("SET s{t} x");
    assert_eq!(c.cmd("ZUNION 2 a{t} s{t}"), error(WRONGTYPE));
    // The type error comes before option errors, as in Redis.
    assert_eq!(c.cmd("ZUNION 2 a{t} s{t} WEIGHTS 1 x"), error(WRONGTYPE));
    assert_eq!(c.cmd("ZINTERSTORE d{t} 2 a{t} s{t}"), error(WRONGTYPE));
}

#[test]
fn zscan_and_encodings() {
    let node = Server::ferrodis(&[]);
    let mut c = node.client();
    c.cmd("ZADD z 1 a 2.5 b 3 c");
    assert_eq!(c.cmd("OBJECT ENCODING z"), bulk("listpack"));
    assert_eq!(
        c.cmd("ZSCAN z 0"),
        arr(vec![bulk("0"), bulks(&["a", "1", "b", "2.5", "c", "3"])])
    );
    assert_eq!(
        c.cmd("ZSCAN z 0 MATCH b*"),
        arr(vec![bulk("0"), bulks(&["b", "2.5"])])
    );
    assert_eq!(
        c.cmd("ZSCAN nokey 0 COUNT 0"),
        arr(vec![bulk("0"), empty()])
    );
    assert_eq!(c.cmd("ZSCAN z x"), error("ERR invalid cursor"));
    assert_eq!(c.cmd("ZSCAN z 0 COUNT 0"), error("ERR syntax error"));
    assert_eq!(c.cmd("ZSCAN z 0 TYPE zset"), error("ERR syntax error"));
    // Past the listpack limits the set becomes a skiplist for good.
    assert_eq!(c.cmd("CONFIG SET zset-max-ziplist-entries 4"), ok());
    assert_eq!(
        c.cmd("CONFIG GET zset-max-listpack-entries"),
        bulks(&["zset-max-listpack-entries", "4"])
    );
    c.cmd("ZADD z 4 d 5 e");
    assert_eq!(c.cmd("OBJECT ENCODING z"), bulk("skiplist"));
    c.cmd("ZREM z a b c");
    assert_eq!(c.cmd("OBJECT ENCODING z"), bulk("skiplist"));
    assert_eq!(c.cmd("ZUNIONSTORE small 1 z"), int(2));
    assert_eq!(c.cmd("OBJECT ENCODING small"), bulk("listpack"));
    assert_eq!(c.cmd("CONFIG SET zset-max-listpack-value 3"), ok());
    c.cmd("ZADD long 1 abcd");
    assert_eq!(c.cmd("OBJECT ENCODING long"), bulk("skiplist"));
    c.cmd("CONFIG SET zset-max-listpack-entries 128");
    c.cmd("CONFIG SET zset-max-listpack-value 64");
    // A skiplist scan walks pages and still returns every member.
    c.cmd("CONFIG SET zset-max-listpack-entries 0");
    for i in 0..300 {
        c.cmd(&format!("ZADD big {} m{i}", i % 7));
    }
    let mut cursor = "0".to_owned();
    let mut seen = std::collections::BTreeSet::new();
    let mut pages = 0;
    loop {
        let Frame::Array(reply) = c.cmd(&format!("ZSCAN big {cursor} COUNT 20")) else {
            panic!("ZSCAN replies with an array")
        };
        let (Frame::Bulk(next), Frame::Array(items)) = (&reply[0], &reply[1]) else {
            panic!("cursor and items")
        };
        for pair in items.chunks(2) {
            let Frame::Bulk(m) = &pair[0] else {
                panic!("members are bulks")
            };
            seen.insert(m.clone());
        }
        pages += 1;
        cursor = String::from_utf8(next.to_vec()).unwrap();
        if cursor == "0" {
            break;
        }
    }
    assert!(pages > 1);
    assert_eq!(seen.len(), 300);
    c.cmd("SET s x");
    assert_eq!(c.cmd("ZSCAN s 0"), error(WRONGTYPE));
}

#[test]
fn resp3_reply_shapes() {
    let node = Server::ferrodis(&[]);
    let mut c = node.client();
    let Frame::Map(_) = c.cmd("HELLO 3") else {
        panic!("HELLO 3 replies with a map")
    };
    c.cmd("ZADD z 1 a 2.5 b");
    let pair = |m: &str, s: f64| arr(vec![bulk(m), Frame::Double(s)]);
    assert_eq!(c.cmd("ZSCORE z b"), Frame::Double(2.5));
    assert_eq!(c.cmd("ZSCORE z nope"), Frame::Null);
    assert_eq!(c.cmd("ZINCRBY z 1 a"), Frame::Double(2.0));
    assert_eq!(
        c.cmd("ZMSCORE z a x"),
        arr(vec![Frame::Double(2.0), Frame::Null])
    );
    assert_eq!(c.cmd("ZRANK z x"), Frame::Null);
    assert_eq!(
        c.cmd("ZRANGE z 0 -1 WITHSCORES"),
        arr(vec![pair("a", 2.0), pair("b", 2.5)])
    );
    assert_eq!(c.cmd("ZRANGE z 0 -1"), bulks(&["a", "b"]));
    assert_eq!(
        c.cmd("ZUNION 1 z WITHSCORES"),
        arr(vec![pair("a", 2.0), pair("b", 2.5)])
    );
    assert_eq!(
        c.cmd("ZRANDMEMBER z 5 WITHSCORES"),
        arr(vec![pair("b", 2.5), pair("a", 2.0)])
    );
    assert_eq!(c.cmd("ZPOPMIN z"), arr(vec![bulk("a"), Frame::Double(2.0)]));
    c.cmd("ZADD z 1 a");
    assert_eq!(c.cmd("ZPOPMIN z 1"), arr(vec![pair("a", 1.0)]));
    assert_eq!(
        c.cmd("ZMPOP 1 z MAX"),
        arr(vec![bulk("z"), arr(vec![pair("b", 2.5)])])
    );
    assert_eq!(c.cmd("ZMPOP 1 z MAX"), Frame::Null);
    // Exact score text: Redis 7.0 prints doubles with %.17g.
    let raw = node.exchange(
        b"HELLO 3\r\nZADD f 0.1 a 1e21 b inf c\r\nZSCORE f a\r\nZSCORE f b\r\nZSCORE f c\r\n",
        Duration::from_millis(300),
    );
    let text = String::from_utf8_lossy(&raw);
    assert!(
        text.ends_with(":3\r\n,0.10000000000000001\r\n,1e+21\r\n,inf\r\n"),
        "{text}"
    );
}

/// Commands whose replies are deterministic, for the parity check.
const SCRIPT: &[&str] = &[
    "ZADD z 1 a 2 b 3.5 c 0.1 d 1e21 e -0 f 123456789012345678 g",
    "ZADD z INCR 1 a",
    "ZINCRBY z 0.1 a",
    "ZRANGE z 0 -1 WITHSCORES",
    "ZRANGE z (1 +inf BYSCORE REV LIMIT 1 3 WITHSCORES",
    "ZSCORE z d",
    "ZMSCORE z a b nope",
    "ZRANK z c",
    "ZREVRANK z c",
    "ZCOUNT z (0 3.5",
    "ZSCAN z 0",
    "ZPOPMIN z",
    "ZPOPMAX z 2",
    "ZADD l 0 a 0 b 0 c 0 d",
    "ZRANGEBYLEX l (a + LIMIT 1 5",
    "ZREVRANGEBYLEX l [c -",
    "ZLEXCOUNT l [b [c",
    "ZADD a{t} 1 x 2 y",
    "ZADD b{t} 3 y 4 w",
    "ZUNION 2 a{t} b{t} WEIGHTS 1 2 WITHSCORES",
    "ZINTER 2 a{t} b{t} AGGREGATE MAX WITHSCORES",
    "ZDIFF 2 b{t} a{t} WITHSCORES",
    "ZUNIONSTORE d{t} 2 a{t} b{t}",
    "SADD p{t} y v 7",
    "ZUNION 3 a{t} p{t} b{t} WEIGHTS 2 3 4 AGGREGATE MIN WITHSCORES",
    "ZINTERSTORE i{t} 2 p{t} a{t}",
    "ZRANGE i{t} 0 -1 WITHSCORES",
    "ZRANGESTORE r{t} d{t} 0 1",
    "ZRANGE r{t} 0 -1 WITHSCORES",
    "ZMPOP 2 nope{t} d{t} MIN COUNT 2",
    "ZMPOP 1 nope{t} MIN",
    "ZRANDMEMBER nope 3",
    "ZRANDMEMBER l 9 WITHSCORES",
    "ZRANGE l 0 -1 LIMIT 0 1",
    "ZADD z GT NX 1 a",
    "ZRANGEBYSCORE z x 1",
    "ZREMRANGEBYLEX l - (c",
    "ZREMRANGEBYSCORE z -inf (2",
    "ZREMRANGEBYRANK z 0 0",
    "ZRANGE z 0 -1 WITHSCORES",
    "ZPOPMIN nope 0",
    "ZINTERCARD 2 a{t} b{t} LIMIT 0",
];

/// Runs `SCRIPT` on one connection (after `HELLO 3` when `resp3`) and
/// returns the raw replies, the HELLO reply left out.
fn run_script(server: &Server, resp3: bool) -> Vec<u8> {
    let mut input = Vec::new();
    let mut lines: Vec<&str> = vec!["FLUSHALL"];
    if resp3 {
        lines.insert(0, "HELLO 3");
    }
    lines.extend_from_slice(SCRIPT);
    for line in lines {
        let args: Vec<bytes::Bytes> = line
            .split_whitespace()
            .map(|a| bytes::Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        input.extend_from_slice(&Frame::command(args).to_bytes());
    }
    let raw = server.exchange(&input, Duration::from_millis(500));
    if !resp3 {
        return raw;
    }
    let mut buf = BytesMut::from(&raw[..]);
    let mut decoder = FrameDecoder::default();
    let hello = decoder.decode(&mut buf).expect("valid reply");
    assert!(matches!(hello, Some(Frame::Map(_))));
    buf.to_vec()
}

#[test]
fn byte_parity_with_redis() {
    let redis = Server::redis(&[]);
    let node = Server::ferrodis(&[]);
    for resp3 in [false, true] {
        let want = run_script(&redis, resp3);
        let got = run_script(&node, resp3);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            "resp3: {resp3}"
        );
    }
}

#[test]
fn bzpopmin_waits_for_a_zadd_from_another_client() {
    let node = Server::ferrodis(&["--io-threads", "2"]);
    let mut waiter = node.client();
    let mut writer = node.client();
    // Immediate serve.
    writer.cmd("ZADD z 1 a 2 b");
    assert_eq!(
        waiter.cmd("BZPOPMIN z 0"),
        Frame::Array(vec![bulk("z"), bulk("a"), bulk("1")])
    );
    // Timeout: a null array.
    assert_eq!(waiter.cmd("BZPOPMAX nosuch 0.05"), Frame::NullArray);
    // Blocked until another client writes.
    waiter.send(&["BZMPOP", "0", "2", "nosuch", "later", "MAX", "COUNT", "2"]);
    std::thread::sleep(std::time::Duration::from_millis(100));
    writer.cmd("ZADD later 5 x 6 y 7 z");
    assert_eq!(
        waiter.read(),
        Frame::Array(vec![
            bulk("later"),
            Frame::Array(vec![
                Frame::Array(vec![bulk("z"), bulk("7")]),
                Frame::Array(vec![bulk("y"), bulk("6")]),
            ]),
        ])
    );
    assert_eq!(writer.cmd("ZCARD later"), Frame::Integer(1));
}
