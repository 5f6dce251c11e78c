//! A real `ferrodis-node` process answering set commands as Redis 7.0
//! does: replies, error texts, encodings and RESP3 shapes, checked against
//! fixed expectations and against Debian's `redis-server`.

use std::collections::BTreeSet;

use ferrodis_resp::Frame;
use ferrodis_suite::reply::{bulk, bulks, error, int, ok};
use ferrodis_suite::{sorted_bulks, Client, Server};

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn add_remove_and_membership() {
    let node = Server::ferrodis(&[]);
    let mut c = node.client();
    assert_eq!(c.cmd("SADD s 3 1 2 1"), int(3));
    assert_eq!(c.cmd("OBJECT ENCODING s"), bulk("intset"));
    // An intset replies in ascending order.
    assert_eq!(c.cmd("SMEMBERS s"), bulks(&["1", "2", "3"]));
    assert_eq!(c.cmd("SCARD s"), int(3));
    assert_eq!(c.cmd("SISMEMBER s 2"), int(1));
    assert_eq!(c.cmd("SISMEMBER s 02"), int(0));
    assert_eq!(
        c.cmd("SMISMEMBER s 1 x 3"),
        Frame::Array(vec![int(1), int(0), int(1)])
    );
    assert_eq!(
        c.cmd("SMISMEMBER nosuch a b"),
        Frame::Array(vec![int(0), int(0)])
    );
    assert_eq!(c.cmd("SADD s a"), int(1));
    assert_eq!(c.cmd("OBJECT ENCODING s"), bulk("hashtable"));
    assert_eq!(c.cmd("SREM s a x 1"), int(2));
    assert_eq!(c.cmd("OBJECT ENCODING s"), bulk("hashtable"));
    assert_eq!(sorted_bulks(c.cmd("SMEMBERS s")), strings(&["2", "3"]));
    assert_eq!(c.cmd("SREM s 2 3 4"), int(2));
    assert_eq!(c.cmd("EXISTS s"), int(0));
    assert_eq!(c.cmd("SREM s 2"), int(0));
    assert_eq!(c.cmd("SCARD nosuch"), int(0));
    assert_eq!(c.cmd("SMEMBERS nosuch"), Frame::Array(vec![]));
    assert_eq!(c.cmd("SADD big 213244124402402314402033402"), int(1));
    assert_eq!(c.cmd("OBJECT ENCODING big"), bulk("hashtable"));
    for i in 0..512 {
        c.cmd(&format!("SADD ints {i}"));
    }
    assert_eq!(c.cmd("OBJECT ENCODING ints"), bulk("intset"));
    assert_eq!(c.cmd("SADD ints 512"), int(1));
    assert_eq!(c.cmd("OBJECT ENCODING ints"), bulk("hashtable"));
    assert_eq!(c.cmd("CONFIG SET set-max-intset-entries 2"), ok());
    assert_eq!(c.cmd("SADD few 1 2"), int(2));
    assert_eq!(c.cmd("OBJECT ENCODING few"), bulk("intset"));
    assert_eq!(c.cmd("SADD few 3"), int(1));
    assert_eq!(c.cmd("OBJECT ENCODING few"), bulk("hashtable"));
}

#[test]
fn errors_and_wrong_types() {
    let node = Server::ferrodis(&[]);
    let mut c = node.client();
    assert_eq!(c.cmd("SET str x"), ok());
    for cmd in [
        "SADD str a",
        "SREM str a",
        "SMEMBERS str",
        "SISMEMBER str a",
        "SMISMEMBER str a",
        "SCARD str",
        "SPOP str",
        "SPOP str 2",
        "SRANDMEMBER str",
        "SRANDMEMBER str 2",
        "SINTER str",
        "SINTERCARD 1 str",
        "SINTERSTORE d str",
        "SUNION str",
        "SUNIONSTORE d str",
        "SDIFF str",
        "SDIFFSTORE d str",
        "SSCAN str 0",
    ] {
        assert_eq!(c.cmd(cmd), error(WRONGTYPE), "{cmd}");
    }
    assert_eq!(
        c.cmd("SMISMEMBER s"),
        error("ERR wrong number of arguments for 'smismember' command")
    );
    assert_eq!(
        c.cmd("SADD s"),
        error("ERR wrong number of arguments for 'sadd' command")
    );
    assert_eq!(c.cmd("SADD s a b c"), int(3));
    assert_eq!(
        c.cmd("SPOP s x"),
        error("ERR value is out of range, must be positive")
    );
    assert_eq!(
        c.cmd("SPOP s -1"),
        error("ERR value is out of range, must be positive")
    );
    assert_eq!(c.cmd("SPOP s 1 2"), error("ERR syntax error"));
    assert_eq!(c.cmd("SRANDMEMBER s 1 2"), error("ERR syntax error"));
    assert_eq!(
        c.cmd("SRANDMEMBER s x"),
        error("ERR value is not an integer or out of range")
    );
    assert_eq!(
        c.cmd("SRANDMEMBER s -9223372036854775808"),
        error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    );
    assert_eq!(
        c.cmd("SINTERCARD 0 s"),
        error("ERR numkeys should be greater than 0")
    );
    assert_eq!(
        c.cmd("SINTERCARD x s"),
        error("ERR numkeys should be greater than 0")
    );
    assert_eq!(
        c.cmd("SINTERCARD 2 s"),
        error("ERR Number of keys can't be greater than number of args")
    );
    assert_eq!(c.cmd("SINTERCARD 1 s LIMIT"), error("ERR syntax error"));
    assert_eq!(c.cmd("SINTERCARD 1 s foo"), error("ERR syntax error"));
    assert_eq!(
        c.cmd("SINTERCARD 1 s LIMIT -1"),
        error("ERR LIMIT can't be negative")
    );
    assert_eq!(c.cmd("SSCAN s x"), error("ERR invalid cursor"));
    assert_eq!(c.cmd("SSCAN s 0 COUNT 0"), error("ERR syntax error"));
    // SMOVE: a missing source wins over a wrong destination type.
    assert_eq!(c.cmd("SMOVE nosuch str a"), int(0));
    assert_eq!(c.cmd("SMOVE s str a"), error(WRONGTYPE));
    assert_eq!(c.cmd("SMOVE str s a"), error(WRONGTYPE));
}

#[test]
fn pop_and_random_members() {
    let node = Server::ferrodis(&[]);
    let mut c = node.client();
    assert_eq!(c.cmd("SPOP nosuch"), Frame::NullBulk);
    assert_eq!(c.cmd("SPOP nosuch 3"), Frame::Array(vec![]));
    assert_eq!(c.cmd("SRANDMEMBER nosuch"), Frame::NullBulk);
    assert_eq!(c.cmd("SRANDMEMBER nosuch 3"), Frame::Array(vec![]));
    let all: Vec<String> = (1..=20).map(|i| i.to_string()).collect();
    c.cmd(&format!("SADD s {}", all.join(" ")));
    assert_eq!(c.cmd("SRANDMEMBER s 0"), Frame::Array(vec![]));
    assert_eq!(c.cmd("SPOP s 0"), Frame::Array(vec![]));
    let picked = sorted_bulks(c.cmd("SRANDMEMBER s 15"));
    assert_eq!(picked.iter().collect::<BTreeSet<_>>().len(), 15);
    let Frame::Array(repeated) = c.cmd("SRANDMEMBER s -100") else {
        panic!("array")
    };
    assert_eq!(repeated.len(), 100);
    let mut expected = all.clone();
    expected.sort();
    assert_eq!(sorted_bulks(c.cmd("SRANDMEMBER s 100")), expected);
    let popped = sorted_bulks(c.cmd("SPOP s 18"));
    assert_eq!(popped.len(), 18);
    assert_eq!(c.cmd("SCARD s"), int(2));
    let mut rest = sorted_bulks(c.cmd("SMEMBERS s"));
    rest.extend(popped);
    rest.sort();
    assert_eq!(rest, expected);
    let Frame::Bulk(one) = c.cmd("SPOP s") else {
        panic!("bulk")
    };
    assert!(all.contains(&String::from_utf8_lossy(&one).into_owned()));
    assert_eq!(sorted_bulks(c.cmd("SPOP s 5")).len(), 1);
    assert_eq!(c.cmd("EXISTS s"), int(0));
}

#[test]
fn algebra_and_store_commands() {
    let node = Server::ferrodis(&[]);
    let mut c = node.client();
    assert_eq!(c.cmd("SADD {t}a 1 2 3 4 x"), int(5));
    assert_eq!(c.cmd("SADD {t}b 3 4 5 x"), int(4));
    assert_eq!(c.cmd("SADD {t}c 4 x y"), int(3));
    assert_eq!(
        sorted_bulks(c.cmd("SINTER {t}a {t}b {t}c")),
        strings(&["4", "x"])
    );
    assert_eq!(c.cmd("SINTER {t}a {t}nosuch"), Frame::Array(vec![]));
    assert_eq!(c.cmd("SINTERCARD 2 {t}a {t}b"), int(3));
    assert_eq!(c.cmd("SINTERCARD 2 {t}a {t}b LIMIT 2"), int(2));
    assert_eq!(c.cmd("SINTERCARD 2 {t}a {t}b LIMIT 0"), int(3));
    assert_eq!(
        sorted_bulks(c.cmd("SUNION {t}a {t}b {t}nosuch")),
        strings(&["1", "2", "3", "4", "5", "x"])
    );
    assert_eq!(
        sorted_bulks(c.cmd("SDIFF {t}a {t}b {t}c")),
        strings(&["1", "2"])
    );
    assert_eq!(c.cmd("SDIFF {t}a {t}a"), Frame::Array(vec![]));
    // *STORE results start as intsets and overwrite any type.
    assert_eq!(c.cmd("SET {t}d x"), ok());
    assert_eq!(c.cmd("EXPIRE {t}d 100"), int(1));
    assert_eq!(c.cmd("SDIFFSTORE {t}d {t}a {t}b"), int(2));
    assert_eq!(c.cmd("TTL {t}d"), int(-1));
    assert_eq!(c.cmd("OBJECT ENCODING {t}d"), bulk("intset"));
    assert_eq!(c.cmd("SMEMBERS {t}d"), bulks(&["1", "2"]));
    assert_eq!(c.cmd("SINTERSTORE {t}d {t}a {t}b"), int(3));
    assert_eq!(c.cmd("OBJECT ENCODING {t}d"), bulk("hashtable"));
    assert_eq!(c.cmd("SUNIONSTORE {t}d {t}a {t}b"), int(6));
    assert_eq!(c.cmd("SINTERSTORE {t}d {t}a {t}nosuch"), int(0));
    assert_eq!(c.cmd("EXISTS {t}d"), int(0));
    assert_eq!(c.cmd("SET {t}d x"), ok());
    assert_eq!(c.cmd("SUNIONSTORE {t}d {t}n1 {t}n2"), int(0));
    assert_eq!(c.cmd("EXISTS {t}d"), int(0));
    assert_eq!(c.cmd("SET {t}str x"), ok());
    assert_eq!(c.cmd("SADD {t}d e"), int(1));
    assert_eq!(c.cmd("SINTERSTORE {t}d {t}nosuch {t}str"), error(WRONGTYPE));
    assert_eq!(c.cmd("SMEMBERS {t}d"), bulks(&["e"]));
    // SMOVE
    assert_eq!(c.cmd("SMOVE {t}a {t}b 1"), int(1));
    assert_eq!(c.cmd("SMOVE {t}a {t}b 1"), int(0));
    assert_eq!(c.cmd("SMOVE {t}a {t}new 2"), int(1));
    assert_eq!(c.cmd("OBJECT ENCODING {t}new"), bulk("intset"));
    assert_eq!(c.cmd("SMOVE {t}a {t}a x"), int(1));
    assert_eq!(c.cmd("SMOVE {t}new {t}a 2"), int(1));
    assert_eq!(c.cmd("EXISTS {t}new"), int(0));
}

#[test]
fn smove_signals_the_destination_only_when_added() {
    let node = Server::ferrodis(&[]);
    let mut a = node.client();
    let mut b = node.client();
    assert_eq!(a.cmd("SADD {t}src a b"), int(2));
    assert_eq!(a.cmd("SADD {t}dst a"), int(1));
    assert_eq!(a.cmd("WATCH {t}dst"), ok());
    assert_eq!(a.cmd("MULTI"), ok());
    assert_eq!(
        a.cmd("SADD {t}dst c"),
        ferrodis_suite::reply::simple("QUEUED")
    );
    assert_eq!(b.cmd("SMOVE {t}src {t}dst a"), int(1));
    assert_eq!(a.cmd("EXEC"), Frame::Array(vec![int(1)]));
    assert_eq!(a.cmd("SCARD {t}dst"), int(2));
}

#[test]
fn resp3_replies_are_sets() {
    let node = Server::ferrodis(&[]);
    let mut c = node.client();
    let Frame::Map(_) = c.cmd("HELLO 3") else {
        panic!("HELLO 3")
    };
    assert_eq!(c.cmd("SADD s 2 1"), int(2));
    assert_eq!(c.cmd("SMEMBERS s"), Frame::Set(vec![bulk("1"), bulk("2")]));
    assert_eq!(c.cmd("SMEMBERS nosuch"), Frame::Set(vec![]));
    assert_eq!(c.cmd("SINTER s nosuch"), Frame::Set(vec![]));
    assert_eq!(c.cmd("SUNION s"), Frame::Set(vec![bulk("1"), bulk("2")]));
    assert_eq!(c.cmd("SPOP nosuch 2"), Frame::Set(vec![]));
    assert_eq!(c.cmd("SPOP nosuch"), Frame::Null);
    // SRANDMEMBER with a count stays an array.
    assert_eq!(c.cmd("SRANDMEMBER s 0"), Frame::Array(vec![]));
    assert_eq!(sorted_bulks(c.cmd("SRANDMEMBER s 5")), strings(&["1", "2"]));
    let Frame::Set(popped) = c.cmd("SPOP s 5") else {
        panic!("SPOP with a count is a set in RESP3")
    };
    assert_eq!(popped.len(), 2);
}

#[test]
fn sscan_iterates_everything() {
    let node = Server::ferrodis(&[]);
    let mut c = node.client();
    assert_eq!(c.cmd("SADD small 3 1 2"), int(3));
    assert_eq!(
        c.cmd("SSCAN small 0 COUNT 1"),
        Frame::Array(vec![bulk("0"), bulks(&["1", "2", "3"])])
    );
    assert_eq!(
        c.cmd("SSCAN nosuch 0"),
        Frame::Array(vec![bulk("0"), Frame::Array(vec![])])
    );
    for i in 0..300 {
        c.cmd(&format!("SADD big m:{i}"));
    }
    let mut cursor = "0".to_owned();
    let mut seen = BTreeSet::new();
    loop {
        let Frame::Array(parts) = c.cmd(&format!("SSCAN big {cursor} COUNT 25")) else {
            panic!("SSCAN reply")
        };
        let (Frame::Bulk(next), Frame::Array(items)) = (&parts[0], &parts[1]) else {
            panic!("SSCAN reply shape")
        };
        for m in items {
            let Frame::Bulk(m) = m else { panic!("member") };
            seen.insert(m.clone());
        }
        cursor = String::from_utf8_lossy(next).into_owned();
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 300);
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
    // Replies whose order is defined: counts, errors, intsets (sorted).
    same_replies(
        &mut r,
        &mut f,
        &[
            "SADD a 5 3 1 3",
            "SADD b 3 4 5 6",
            "SMEMBERS a",
            "OBJECT ENCODING a",
            "SINTER a b",
            "SUNION a b",
            "SDIFF a b",
            "SINTERCARD 2 a b LIMIT 1",
            "SINTERSTORE c a b",
            "OBJECT ENCODING c",
            "SMEMBERS c",
            "SUNIONSTORE c a b nosuch",
            "SMEMBERS c",
            "SDIFFSTORE c nosuch a",
            "EXISTS c",
            "SMOVE a b 1",
            "SMOVE a b 1",
            "SMEMBERS b",
            "SADD a x",
            "OBJECT ENCODING a",
            "SREM a x",
            "OBJECT ENCODING a",
            "SISMEMBER a 3",
            "SMISMEMBER a 3 x 5",
            "SCARD a",
            "SSCAN b 0",
            "SSCAN b 0 MATCH 5",
            "SPOP a 0",
            "SPOP a 10",
            "EXISTS a",
            "SRANDMEMBER b 10",
            "SRANDMEMBER b 0",
            "SET s x",
            "SADD s 1",
            "SINTERCARD 1 s",
            "SDIFF nosuch s",
            "SINTERCARD 3 b",
            "SINTERCARD 1 b LIMIT x",
        ],
    );
}
