//! A real `ferrodis-node` process answering SORT and SORT_RO exactly as
//! Debian's `redis-server` 7.0 does: numeric and ALPHA orders, DESC, LIMIT,
//! BY and GET patterns (string keys and hash fields), STORE and errors.

use ferrodis_suite::{Client, Server};

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
            "RPUSH l 3 1 2 10 -5 2.5",
            "SORT l",
            "SORT l DESC",
            "SORT l ALPHA",
            "SORT l ALPHA DESC",
            "SORT l LIMIT 1 3",
            "SORT l LIMIT -2 2",
            "SORT l LIMIT 4 100",
            "SORT l LIMIT 10 2",
            "SORT l LIMIT 0 0",
            "SORT l DESC LIMIT 1 -1",
            "SORT_RO l DESC LIMIT 0 2",
            "MSET w_3 30 w_1 10 w_2 20 w_10 5 w_-5 0 w_2.5 25",
            "SORT l BY w_*",
            "SORT l BY w_* DESC GET # GET w_*",
            "SORT l BY nosort",
            "SORT l BY nosort DESC LIMIT 1 2",
            "SORT l BY nosort GET w_* GET nosuch_* GET fixed",
            "HSET h_1 f b",
            "HSET h_2 f a",
            "HSET h_3 f c",
            "SORT l BY h_*->f ALPHA GET h_*->f GET #",
            "SORT l BY h_*->f ALPHA DESC LIMIT 0 3 GET h_*->f",
            "SORT l GET h_*->nofield GET w_*->f GET h_*->",
            "SADD s 5 2 9 1",
            "SORT s",
            "SORT s DESC LIMIT 1 2",
            "SORT s BY nosort STORE dst",
            "LRANGE dst 0 -1",
            "ZADD z 3 c 1 a 2 b 0 d",
            "SORT z ALPHA",
            "SORT z BY nosort",
            "SORT z BY nosort DESC LIMIT 1 2",
            "SORT z BY nosort LIMIT 2 10",
            "SORT l STORE dst",
            "TYPE dst",
            "LRANGE dst 0 -1",
            "SORT l GET w_* GET missing_* STORE dst",
            "LRANGE dst 0 -1",
            "SORT nosuch",
            "SORT nosuch STORE dst",
            "EXISTS dst",
            "SET str x",
            "SORT str",
            "SORT str STORE dst",
            "RPUSH words b a c",
            "SORT words",
            "SORT words LIMIT 1 1 ALPHA",
            "SORT words BY w_*",
            "SORT l LIMIT 1",
            "SORT l LIMIT a 1",
            "SORT l BOGUS",
            "SORT l STORE",
            "SORT_RO l STORE dst",
            "SORT",
            "SORT_RO",
            "MSET x_1 1e5 x_2 abc",
            "SORT l BY x_*",
            "RPUSH e '' 1",
            "SORT l ASC DESC ASC",
            "COMMAND GETKEYS sort abc store def",
            "COMMAND GETKEYS sort abc store invalid store stillbad store def",
            "COMMAND GETKEYS sort abc limit 0 1 get store by store",
            "COMMAND GETKEYS sort abc store",
            "COMMAND GETKEYS sort_ro abc",
        ],
    );
    // Values with spaces go through `call`.
    for args in [
        &["RPUSH", "sp", " 1", "2 ", ""][..],
        &["SORT", "sp"],
        &["RPUSH", "sp2", "", "3", "-1"],
        &["SORT", "sp2"],
        &["SORT", "sp2", "DESC"],
    ] {
        assert_eq!(r.call(args), f.call(args), "{args:?}");
    }
}
