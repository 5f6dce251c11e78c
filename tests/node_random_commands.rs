//! Random argument vectors for every command in the table, sent to a live
//! `ferrodis-node`: whatever the input, the node answers (an error is fine)
//! and stays up. A panic aborts the node, which this test sees as a closed
//! connection. The seed is printed on failure by proptest and replays it.

use ferrodis_resp::Frame;
use ferrodis_suite::reply::simple;
use ferrodis_suite::Server;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Commands that would block, stop the server, or change the connection
/// in ways that end the sequence; their argument checking is covered by
/// their own tests.
const SKIP: &[&str] = &[
    "shutdown",
    "debug",
    "quit",
    "monitor",
    "subscribe",
    "psubscribe",
    "ssubscribe",
    "blpop",
    "brpop",
    "blmove",
    "brpoplpush",
    "blmpop",
    "bzpopmin",
    "bzpopmax",
    "bzmpop",
    "client",
    "reset",
    "hello",
    "auth",
    "select",
    "swapdb",
    "wait",
    "failover",
    "replicaof",
    "slaveof",
    "sync",
    "psync",
];

fn arg() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        // Keys shared by every command, so types collide.
        prop::sample::select(vec!["k1", "k2", "{t}a", "{t}b"]).prop_map(|s| s.as_bytes().to_vec()),
        // Numbers at and around the edges.
        prop::sample::select(vec![
            "0",
            "1",
            "-1",
            "2",
            "10",
            "-10",
            "9223372036854775807",
            "-9223372036854775808",
            "18446744073709551616",
            "1.5",
            "-inf",
            "+inf",
            "nan",
            "(1",
            "[a",
            "-",
            "+",
            "4294967296",
            "536870912"
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        // Option words.
        prop::sample::select(vec![
            "NX",
            "XX",
            "GT",
            "LT",
            "CH",
            "INCR",
            "EX",
            "PX",
            "EXAT",
            "PXAT",
            "KEEPTTL",
            "GET",
            "WITHSCORES",
            "LIMIT",
            "COUNT",
            "MATCH",
            "TYPE",
            "BYSCORE",
            "BYLEX",
            "REV",
            "LEFT",
            "RIGHT",
            "BEFORE",
            "AFTER",
            "RANK",
            "MAXLEN",
            "WEIGHTS",
            "AGGREGATE",
            "SUM",
            "MIN",
            "MAX",
            "IDX",
            "LEN",
            "BIT",
            "BYTE",
            "AND",
            "OR",
            "XOR",
            "NOT",
            "OVERFLOW",
            "WRAP",
            "SAT",
            "FAIL",
            "u8",
            "i64",
            "#1",
            "REPLACE",
            "ABSTTL",
            "IDLETIME",
            "FREQ",
            "DB",
            "WITHVALUES",
            "ENCODING"
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        // Anything.
        prop::collection::vec(any::<u8>(), 0..12),
    ]
}

#[test]
fn random_arguments_never_take_the_node_down() {
    let node = Server::ferrodis(&[]);
    let mut admin = node.client();
    let Frame::Array(names) = admin.cmd("COMMAND LIST") else {
        panic!("COMMAND LIST reply")
    };
    let names: Vec<String> = names
        .into_iter()
        .filter_map(|f| match f {
            Frame::Bulk(b) => Some(String::from_utf8_lossy(&b).into_owned()),
            _ => None,
        })
        .filter(|n| !SKIP.contains(&n.as_str()))
        .collect();
    assert!(names.len() > 50, "{names:?}");
    let command = (
        prop::sample::select(names),
        prop::collection::vec(arg(), 0..7),
    );
    let sequence = prop::collection::vec(command, 1..40);
    let mut runner = TestRunner::new(Config {
        cases: 300,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&sequence, |seq| {
            let mut c = node.client();
            for (name, args) in &seq {
                let mut argv: Vec<Vec<u8>> = vec![name.as_bytes().to_vec()];
                argv.extend(args.iter().cloned());
                // Any reply is fine; reading one proves the node answered.
                c.call(&argv);
            }
            // Leave a transaction or subscription state behind? Reset it.
            prop_assert_eq!(node.client().cmd("PING"), simple("PONG"));
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
}
