//! A real `ferrodis-node` process answering list commands as Redis 7.0
//! does: each command against Debian's `redis-server` (same replies, error
//! texts and RESP3 nulls), and the blocking commands across clients:
//! wake-up by another client's push, timeouts, FIFO order, disconnects,
//! CLIENT UNBLOCK and transactions.

use std::time::{Duration, Instant};

use ferrodis_resp::Frame;
use ferrodis_suite::reply::{bulk, bulks, error, int, ok};
use ferrodis_suite::{Client, Server};

/// Commands whose replies must match `redis-server`'s exactly. Each line
/// is split on spaces.
const SCRIPT: &[&str] = &[
    "RPUSH l a b c a b c",
    "LPUSH l x y",
    "LPUSHX l z",
    "RPUSHX l w",
    "LPUSHX nolist z",
    "RPUSHX nolist z",
    "LLEN l",
    "LLEN nolist",
    "LRANGE l 0 -1",
    "LRANGE l -3 -1",
    "LRANGE l 5 2",
    "LRANGE l -100 100",
    "LRANGE nolist 0 -1",
    "LRANGE l a 1",
    "LRANGE nolist a 1",
    "LINDEX l 0",
    "LINDEX l -1",
    "LINDEX l 100",
    "LINDEX l abc",
    "LINDEX nolist abc",
    "LINDEX l -9223372036854775808",
    "LSET l 0 first",
    "LSET l -1 last",
    "LSET l 100 x",
    "LSET l abc x",
    "LSET nolist 0 x",
    "LSET nolist abc x",
    "LINSERT l BEFORE a before-a",
    "LINSERT l after c after-c",
    "LINSERT l after nothing x",
    "LINSERT l middle a x",
    "LINSERT nolist before a x",
    "LINSERT nolist middle a x",
    "LPOS l a",
    "LPOS l a RANK -1",
    "LPOS l a RANK 2",
    "LPOS l a RANK 5",
    "LPOS l a COUNT 0",
    "LPOS l a COUNT 1 RANK -1",
    "LPOS l a COUNT 0 MAXLEN 4",
    "LPOS l a RANK -9223372036854775808 COUNT 0",
    "LPOS l nothing",
    "LPOS l nothing COUNT 0",
    "LPOS nolist a",
    "LPOS nolist a COUNT 2",
    "LPOS l a RANK 0",
    "LPOS l a RANK x",
    "LPOS l a COUNT -1",
    "LPOS l a COUNT x",
    "LPOS l a MAXLEN -1",
    "LPOS l a BOGUS 1",
    "LPOS l a RANK",
    "LREM l 1 a",
    "LREM l -1 b",
    "LREM l 0 c",
    "LREM l 0 nothing",
    "LREM l x a",
    "LREM nolist 0 a",
    "LRANGE l 0 -1",
    "LTRIM l 1 -2",
    "LRANGE l 0 -1",
    "LTRIM l x 1",
    "LTRIM nolist 0 1",
    "LPOP l",
    "RPOP l",
    "LPOP l 2",
    "RPOP l 0",
    "LPOP l -1",
    "LPOP l x",
    "LPOP l 1 2",
    "LPOP nolist",
    "LPOP nolist 0",
    "LPOP nolist 3",
    "RPOP l 100",
    "EXISTS l",
    "RPUSH src 1 2 3",
    "RPOPLPUSH src dst",
    "LMOVE src dst LEFT RIGHT",
    "LMOVE src dst left left",
    "LMOVE src src left right",
    "LMOVE src dst up left",
    "LMOVE nolist dst left left",
    "LRANGE dst 0 -1",
    "EXISTS src",
    "RPUSH src 1 2",
    "LMOVE src src right left",
    "LRANGE src 0 -1",
    "LMPOP 2 nolist src LEFT",
    "LMPOP 2 nolist dst RIGHT COUNT 10",
    "LMPOP 1 nolist LEFT",
    "LMPOP 0 src LEFT",
    "LMPOP x src LEFT",
    "LMPOP 2 src LEFT",
    "LMPOP 1 src MIDDLE",
    "LMPOP 1 src LEFT COUNT 0",
    "LMPOP 1 src LEFT COUNT x",
    "LMPOP 1 src LEFT COUNT 1 COUNT 1",
    "LMPOP 1 src LEFT EXTRA",
    "SET s string",
    "LPUSH s a",
    "RPUSHX s a",
    "LLEN s",
    "LRANGE s 0 -1",
    "LINDEX s 0",
    "LINDEX s abc",
    "LSET s 0 x",
    "LSET s abc x",
    "LPOP s",
    "LPOP s 0",
    "LPOS s a",
    "LREM s 0 a",
    "LTRIM s 0 1",
    "LINSERT s before a b",
    "RPUSH l2 v",
    "LMOVE l2 s left left",
    "LMOVE s l2 left left",
    "LMOVE nolist s left left",
    "LMPOP 2 nolist s LEFT",
    "LMPOP 2 l2 s LEFT",
    "BLPOP s 0",
    "RPUSH bl a b c",
    "BLPOP nolist bl 0",
    "BRPOP nolist bl 0",
    "BLMPOP 0 2 nolist bl RIGHT COUNT 5",
    "RPUSH bl a b",
    "BRPOPLPUSH bl bdst 0",
    "BLMOVE bl bdst LEFT RIGHT 0",
    "BLMOVE bl bdst UP RIGHT 0",
    "BLPOP nolist -1",
    "BLPOP nolist abc",
    "BLPOP nolist inf",
    "BLPOP nolist nan",
    "BLMPOP -1 1 nolist MIDDLE",
    "BLMPOP abc 1 nolist LEFT",
    "BLMPOP 0 0 nolist LEFT",
    "BRPOPLPUSH nolist bdst x",
    "MULTI",
    "BLPOP nolist 0",
    "BRPOP nolist 0",
    "BLMPOP 0 1 nolist LEFT",
    "BRPOPLPUSH nolist bdst 0",
    "BLMOVE nolist bdst LEFT LEFT 0",
    "RPUSH tx one",
    "BLPOP tx 0",
    "EXEC",
    "LPUSH",
    "LINSERT l before a",
    "BLPOP x",
    "BLMPOP 0 1 x",
    "CLIENT UNBLOCK 999999",
    "CLIENT UNBLOCK 999999 ERROR",
    "CLIENT UNBLOCK 999999 bogus",
    "CLIENT UNBLOCK x",
    "OBJECT ENCODING bdst",
    "TYPE bdst",
];

fn run_script(server: &Server, resp3: bool) -> Vec<(String, Frame)> {
    let mut c = server.client();
    if resp3 {
        c.cmd("HELLO 3");
    }
    c.cmd("FLUSHALL");
    SCRIPT
        .iter()
        .map(|line| (line.to_string(), c.cmd(line)))
        .collect()
}

#[test]
fn list_commands_match_redis() {
    let redis = Server::redis(&[]);
    let node = Server::ferrodis(&[]);
    for resp3 in [false, true] {
        let theirs = run_script(&redis, resp3);
        let ours = run_script(&node, resp3);
        for ((line, want), (_, got)) in theirs.iter().zip(&ours) {
            assert_eq!(got, want, "{line} (RESP{})", if resp3 { 3 } else { 2 });
        }
    }
}

/// Sends a command (split on spaces) without waiting for its reply.
fn send(c: &mut Client, line: &str) {
    let args: Vec<&str> = line.split_whitespace().collect();
    c.send(&args);
}

/// Waits until INFO reports `n` blocked clients.
fn wait_blocked(c: &mut Client, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let want = format!("blocked_clients:{n}\r\n");
    loop {
        let info = match c.cmd("INFO clients") {
            Frame::Bulk(b) => b,
            Frame::Verbatim { data, .. } => data,
            other => panic!("INFO replied {other:?}"),
        };
        if String::from_utf8_lossy(&info).contains(&want) {
            return;
        }
        assert!(Instant::now() < deadline, "never saw {want:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn push_wakes_a_client_blocked_elsewhere() {
    // Several workers, so the two clients often live on different threads.
    let node = Server::ferrodis(&["--io-threads", "4"]);
    let mut admin = node.client();
    for _ in 0..20 {
        let mut waiter = node.client();
        let mut pusher = node.client();
        send(&mut waiter, "BLPOP q1 q2 0");
        wait_blocked(&mut admin, 1);
        assert_eq!(pusher.cmd("RPUSH q2 a b"), int(2));
        assert_eq!(waiter.read(), bulks(&["q2", "a"]));
        // The waiter took one element before the pusher's reply was sent.
        assert_eq!(pusher.cmd("LRANGE q2 0 -1"), bulks(&["b"]));
        assert_eq!(pusher.cmd("DEL q2"), int(1));
        wait_blocked(&mut admin, 0);
    }
}

#[test]
fn blocked_clients_are_served_in_order() {
    let node = Server::ferrodis(&["--io-threads", "3"]);
    let mut admin = node.client();
    let mut first = node.client();
    let mut second = node.client();
    let mut third = node.client();
    send(&mut first, "BRPOP k 0");
    wait_blocked(&mut admin, 1);
    send(&mut second, "BLMPOP 0 1 k LEFT COUNT 2");
    wait_blocked(&mut admin, 2);
    send(&mut third, "BLPOP k 0");
    wait_blocked(&mut admin, 3);
    // One push of three elements: the first two waiters take them, in the
    // order they blocked; the third stays blocked.
    assert_eq!(admin.cmd("RPUSH k a b c"), int(3));
    assert_eq!(first.read(), bulks(&["k", "c"]));
    assert_eq!(
        second.read(),
        Frame::Array(vec![bulk("k"), bulks(&["a", "b"])])
    );
    assert_eq!(admin.cmd("EXISTS k"), int(0));
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd("LPUSH k d"), int(1));
    assert_eq!(third.read(), bulks(&["k", "d"]));
}

#[test]
fn timeouts_reply_null_arrays() {
    let node = Server::ferrodis(&[]);
    let mut c = node.client();
    let start = Instant::now();
    assert_eq!(c.cmd("BLPOP none 0.2"), Frame::NullArray);
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(200), "{waited:?}");
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    assert_eq!(c.cmd("BRPOPLPUSH none dst 0.05"), Frame::NullArray);
    assert_eq!(c.cmd("BLMPOP 0.01 1 none LEFT"), Frame::NullArray);
    // RESP3: the null is `_`.
    c.cmd("HELLO 3");
    assert_eq!(c.cmd("BLMOVE none dst LEFT RIGHT 0.01"), Frame::Null);
    assert_eq!(c.cmd("BRPOP none 0.01"), Frame::Null);
    // The connection goes on normally.
    assert_eq!(c.cmd("RPUSH l x"), int(1));
}

#[test]
fn commands_sent_while_blocked_wait_their_turn() {
    let node = Server::ferrodis(&[]);
    let mut admin = node.client();
    let mut c = node.client();
    c.send(&["BLMOVE", "src", "dst", "RIGHT", "LEFT", "0"]);
    c.send(&["LRANGE", "dst", "0", "-1"]);
    c.send(&["BLPOP", "src", "0.05"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd("RPUSH src one two"), int(2));
    assert_eq!(c.read(), bulk("two"));
    assert_eq!(c.read(), bulks(&["two"]));
    assert_eq!(c.read(), bulks(&["src", "one"]));
}

#[test]
fn chained_moves_and_wrong_types() {
    let node = Server::ferrodis(&["--io-threads", "2"]);
    let mut admin = node.client();
    let mut a = node.client();
    let mut b = node.client();
    // a moves list1 → list2, b moves list2 → list3: one push feeds both.
    send(&mut a, "BLMOVE list1 list2 RIGHT LEFT 0");
    wait_blocked(&mut admin, 1);
    send(&mut b, "BRPOPLPUSH list2 list3 0");
    wait_blocked(&mut admin, 2);
    admin.cmd("RPUSH list1 foo");
    assert_eq!(a.read(), bulk("foo"));
    assert_eq!(b.read(), bulk("foo"));
    assert_eq!(admin.cmd("LRANGE list3 0 -1"), bulks(&["foo"]));
    assert_eq!(admin.cmd("EXISTS list1 list2"), int(0));
    // A destination of the wrong type answers WRONGTYPE and leaves the
    // source alone.
    admin.cmd("SET target nolist");
    send(&mut a, "BRPOPLPUSH blist target 0");
    wait_blocked(&mut admin, 1);
    admin.cmd("RPUSH blist x");
    assert_eq!(
        a.read(),
        error("WRONGTYPE Operation against a key holding the wrong kind of value")
    );
    assert_eq!(admin.cmd("LRANGE blist 0 -1"), bulks(&["x"]));
    // A key turned into another type does not wake the waiter; RENAME of a
    // list into place does.
    send(&mut b, "BLPOP k 0");
    wait_blocked(&mut admin, 1);
    admin.cmd("MULTI");
    admin.cmd("LPUSH k a");
    admin.cmd("DEL k");
    admin.cmd("SET k string");
    admin.cmd("EXEC");
    admin.cmd("DEL k");
    admin.cmd("RPUSH other one two");
    assert_eq!(admin.cmd("RENAME other k"), ok());
    assert_eq!(b.read(), bulks(&["k", "one"]));
}

#[test]
fn disconnect_and_client_unblock() {
    let node = Server::ferrodis(&[]);
    let mut admin = node.client();
    {
        let mut gone = node.client();
        send(&mut gone, "BLPOP q 0");
        wait_blocked(&mut admin, 1);
    }
    wait_blocked(&mut admin, 0);
    assert_eq!(admin.cmd("RPUSH q v"), int(1));
    assert_eq!(admin.cmd("LLEN q"), int(1));
    admin.cmd("DEL q");

    let mut c = node.client();
    let Frame::Integer(id) = c.cmd("CLIENT ID") else {
        panic!("CLIENT ID must be an integer")
    };
    let id = id.to_string();
    send(&mut c, "BLPOP q 0");
    wait_blocked(&mut admin, 1);
    let Frame::Bulk(list) = admin.cmd("CLIENT LIST") else {
        panic!("CLIENT LIST must be a bulk")
    };
    assert!(String::from_utf8_lossy(&list).contains("flags=b "));
    assert_eq!(admin.call(&["CLIENT", "UNBLOCK", &id]), int(1));
    assert_eq!(c.read(), Frame::NullArray);
    send(&mut c, "BLMPOP 0 1 q RIGHT");
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.call(&["CLIENT", "UNBLOCK", &id, "ERROR"]), int(1));
    assert_eq!(
        c.read(),
        error("UNBLOCKED client unblocked via CLIENT UNBLOCK")
    );
    assert_eq!(admin.call(&["CLIENT", "UNBLOCK", &id]), int(0));
    // Still usable afterwards.
    send(&mut c, "BLPOP q 0");
    wait_blocked(&mut admin, 1);
    admin.cmd("LPUSH q foo");
    assert_eq!(c.read(), bulks(&["q", "foo"]));
}

#[test]
fn transactions_do_not_block() {
    let node = Server::ferrodis(&[]);
    let mut admin = node.client();
    let mut waiter = node.client();
    send(&mut waiter, "BLPOP list 0");
    wait_blocked(&mut admin, 1);
    // The waiter sees the state after EXEC: the last element pushed.
    admin.cmd("MULTI");
    admin.cmd("LPUSH list a");
    admin.cmd("LPUSH list b");
    admin.cmd("LPUSH list c");
    assert_eq!(
        admin.cmd("EXEC"),
        Frame::Array(vec![int(1), int(2), int(3)])
    );
    assert_eq!(waiter.read(), bulks(&["list", "c"]));
    // Inside MULTI, blocking commands answer at once.
    admin.cmd("DEL list");
    admin.cmd("MULTI");
    admin.cmd("BLPOP list 0");
    admin.cmd("BRPOPLPUSH list other 0");
    assert_eq!(
        admin.cmd("EXEC"),
        Frame::Array(vec![Frame::NullArray, Frame::NullBulk])
    );
}

/// The keyspace events of list commands, in order, up to a marker.
fn list_events(server: &Server) -> Vec<Frame> {
    let mut sub = server.client();
    let mut c = server.client();
    c.cmd("FLUSHALL");
    assert_eq!(c.cmd("CONFIG SET notify-keyspace-events KEgl"), ok());
    sub.cmd("PSUBSCRIBE *");
    for line in [
        "LPUSH l a b",
        "RPUSH l c",
        "LPUSHX l d",
        "LINSERT l BEFORE a x",
        "LSET l 0 y",
        "LREM l 1 x",
        "LREM l 1 nothing",
        "LPOP l 0",
        "RPOPLPUSH l m",
        "LMOVE m m LEFT RIGHT",
        "LMOVE m l LEFT LEFT",
        "LTRIM l 0 1",
        "LMPOP 1 l RIGHT COUNT 5",
        "RPUSH q 1",
        "BLPOP q 0",
        "LTRIM nothing 0 1",
    ] {
        c.cmd(line);
    }
    c.cmd("PUBLISH end marker");
    let mut events = Vec::new();
    loop {
        let f = sub.read();
        if matches!(&f, Frame::Array(v) if v.get(2) == Some(&bulk("end"))) {
            break;
        }
        events.push(f);
    }
    c.call(&["CONFIG", "SET", "notify-keyspace-events", ""]);
    events
}

#[test]
fn keyspace_events_match_redis() {
    let redis = Server::redis(&[]);
    let node = Server::ferrodis(&[]);
    let theirs = list_events(&redis);
    assert!(theirs.len() > 30, "{}", theirs.len());
    assert_eq!(list_events(&node), theirs);
}
