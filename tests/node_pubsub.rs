//! Pub/sub through a real `ferrodis-node`: messages cross from one client
//! to another (possibly on another worker thread), in RESP2 and RESP3.

use ferrodis_resp::Frame;
use ferrodis_suite::reply::{bulk, bulks, error, int};
use ferrodis_suite::Server;

fn array(items: Vec<Frame>) -> Frame {
    Frame::Array(items)
}

#[test]
fn subscribe_publish_unsubscribe() {
    let node = Server::ferrodis(&[]);
    let mut sub = node.client();
    let mut publisher = node.client();
    assert_eq!(
        sub.cmd("SUBSCRIBE news sport"),
        array(vec![bulk("subscribe"), bulk("news"), int(1)])
    );
    assert_eq!(
        sub.read(),
        array(vec![bulk("subscribe"), bulk("sport"), int(2)])
    );
    assert_eq!(
        sub.cmd("PSUBSCRIBE n*"),
        array(vec![bulk("psubscribe"), bulk("n*"), int(3)])
    );
    // Subscribed RESP2 clients may only run a few commands.
    assert_eq!(
        sub.cmd("GET x"),
        error("ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
    );
    assert_eq!(sub.cmd("PING"), bulks(&["pong", ""]));
    assert_eq!(publisher.cmd("PUBLISH news hello"), int(2));
    assert_eq!(sub.read(), bulks(&["message", "news", "hello"]));
    assert_eq!(sub.read(), bulks(&["pmessage", "n*", "news", "hello"]));
    assert_eq!(publisher.cmd("PUBLISH weather rain"), int(0));
    assert_eq!(
        publisher.cmd("PUBSUB NUMSUB news weather"),
        array(vec![bulk("news"), int(1), bulk("weather"), int(0)])
    );
    assert_eq!(publisher.cmd("PUBSUB NUMPAT"), int(1));
    assert_eq!(
        sub.cmd("UNSUBSCRIBE news"),
        array(vec![bulk("unsubscribe"), bulk("news"), int(2)])
    );
    assert_eq!(
        sub.cmd("PUNSUBSCRIBE"),
        array(vec![bulk("punsubscribe"), bulk("n*"), int(1)])
    );
    assert_eq!(publisher.cmd("PUBLISH news again"), int(0));
    assert_eq!(publisher.cmd("PUBLISH sport goal"), int(1));
    assert_eq!(sub.read(), bulks(&["message", "sport", "goal"]));
}

#[test]
fn resp3_clients_get_pushes_and_keep_working() {
    let node = Server::ferrodis(&[]);
    let mut sub = node.client();
    let mut publisher = node.client();
    let Frame::Map(_) = sub.cmd("HELLO 3") else {
        panic!("HELLO 3")
    };
    assert_eq!(
        sub.cmd("SUBSCRIBE ch"),
        Frame::Push(vec![bulk("subscribe"), bulk("ch"), int(1)])
    );
    // RESP3 allows ordinary commands while subscribed.
    assert_eq!(sub.cmd("GET missing"), Frame::Null);
    assert_eq!(publisher.cmd("PUBLISH ch m"), int(1));
    assert_eq!(
        sub.read(),
        Frame::Push(vec![bulk("message"), bulk("ch"), bulk("m")])
    );
}

#[test]
fn disconnect_drops_subscriptions() {
    let node = Server::ferrodis(&[]);
    let mut publisher = node.client();
    {
        let mut sub = node.client();
        sub.cmd("SUBSCRIBE gone");
        assert_eq!(publisher.cmd("PUBSUB CHANNELS"), bulks(&["gone"]));
    }
    for _ in 0..50 {
        if publisher.cmd("PUBSUB NUMSUB gone") == array(vec![bulk("gone"), int(0)]) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("the subscription outlived its client");
}

#[test]
fn keyspace_notifications() {
    let node = Server::ferrodis(&[]);
    let mut c = node.client();
    let mut sub = node.client();
    assert_eq!(
        c.cmd("CONFIG SET notify-keyspace-events KEA"),
        ferrodis_suite::reply::ok()
    );
    sub.cmd("PSUBSCRIBE *");
    let ev = |sub: &mut ferrodis_suite::Client| -> Vec<String> {
        let Frame::Array(parts) = sub.read() else {
            panic!("message")
        };
        parts
            .into_iter()
            .map(|p| match p {
                Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
                other => format!("{other:?}"),
            })
            .collect()
    };
    c.cmd("SET foo bar");
    assert_eq!(ev(&mut sub), ["pmessage", "*", "__keyspace@0__:foo", "set"]);
    assert_eq!(ev(&mut sub), ["pmessage", "*", "__keyevent@0__:set", "foo"]);
    c.cmd("HSET h f v");
    assert_eq!(ev(&mut sub)[2..], ["__keyspace@0__:h", "hset"]);
    assert_eq!(ev(&mut sub)[2..], ["__keyevent@0__:hset", "h"]);
    c.cmd("SREM nosuch x");
    c.cmd("DEL foo");
    assert_eq!(ev(&mut sub)[2..], ["__keyspace@0__:foo", "del"]);
    assert_eq!(ev(&mut sub)[2..], ["__keyevent@0__:del", "foo"]);
    // Expired keys, found by the active expire cycle.
    c.cmd("CONFIG SET notify-keyspace-events Ex");
    c.cmd("PSETEX temp 50 v");
    assert_eq!(ev(&mut sub)[2..], ["__keyevent@0__:expired", "temp"]);
    // New keys, only once.
    c.cmd("CONFIG SET notify-keyspace-events En");
    c.cmd("SET n1 a");
    c.cmd("SET n1 b");
    c.cmd("SET n2 a");
    assert_eq!(ev(&mut sub)[2..], ["__keyevent@0__:new", "n1"]);
    assert_eq!(ev(&mut sub)[2..], ["__keyevent@0__:new", "n2"]);
}
