//! `ferrodis-cli` against Debian's `redis-cli` 7.0.15: the same commands,
//! sent to the same real `redis-server`, must print the same bytes, in the
//! terminal form (`--no-raw`), the raw form (the default when standard
//! output is not a terminal, and `--raw`), with RESP3 (`-3`), from standard
//! input, in pipe mode, and following cluster redirections (`-c`) in a
//! real three-node Redis Cluster.

use std::path::Path;
use std::process::{Command, Output};

use ferrodis_suite::{redis_cluster_nodes, run_with_input, tool_binary, Server, TempDir};

/// Runs `program args` with `input` on standard input; no terminal
/// anywhere, and no colour.
fn run(program: &Path, args: &[&str], input: &[u8]) -> Output {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env("TERM", "dumb")
        .env_remove("REDISCLI_AUTH")
        .env_remove("REDISCLI_CLUSTER_YES")
        .env("FERRODISCLI_HISTFILE", "/dev/null")
        .env("REDISCLI_HISTFILE", "/dev/null");
    run_with_input(cmd, input)
}

fn cli() -> std::path::PathBuf {
    tool_binary("ferrodis-cli")
}

fn redis_cli() -> &'static Path {
    Path::new("redis-cli")
}

/// Both clients with the same arguments and input: stdout, stderr and
/// exit status must be identical.
fn same(args: &[&str], input: &[u8]) -> Output {
    same_after(&|| {}, args, input)
}

/// [`same`], with `setup` run before each client (to give both the same
/// data when the command changes it).
fn same_after(setup: &dyn Fn(), args: &[&str], input: &[u8]) -> Output {
    setup();
    let ours = run(&cli(), args, input);
    setup();
    let theirs = run(redis_cli(), args, input);
    assert_eq!(
        String::from_utf8_lossy(&ours.stdout),
        String::from_utf8_lossy(&theirs.stdout),
        "stdout differs for {args:?}"
    );
    assert_eq!(
        ours.stdout, theirs.stdout,
        "stdout bytes differ for {args:?}"
    );
    assert_eq!(
        String::from_utf8_lossy(&ours.stderr),
        String::from_utf8_lossy(&theirs.stderr),
        "stderr differs for {args:?}"
    );
    assert_eq!(
        ours.status.code(),
        theirs.status.code(),
        "status for {args:?}"
    );
    ours
}

fn with_port<'a>(port: &'a str, mode: &[&'a str], cmd: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["-p", port];
    v.extend_from_slice(mode);
    v.extend_from_slice(cmd);
    v
}

const MODES: &[&[&str]] = &[&[], &["--no-raw"], &["--raw"]];

#[test]
fn every_reply_type_prints_as_redis_cli_prints_it() {
    let server = Server::redis(&["--enable-debug-command", "yes"]);
    let port = server.port.to_string();
    let setup = || {
        let mut c = server.client();
        c.cmd("FLUSHALL");
        c.cmd("RPUSH list a b c");
        c.call(&["SET", "bin", "a\tb\x01\"\\\r\n\u{7f}é"]);
        c.cmd("HSET hash f1 v1 f2 v2");
        c.cmd("SADD set m1");
        c.cmd("ZADD zset 1.5 a 0.1 b 2 c");
    };
    let commands: &[&[&str]] = &[
        &["SET", "foo", "bar"],
        &["GET", "foo"],
        &["GET", "missing"],
        &["INCR", "counter"],
        &["GET", "bin"],
        &["LRANGE", "list", "0", "-1"],
        &["LRANGE", "missing", "0", "-1"],
        &["NOSUCHCOMMAND", "x"],
        &["LPUSH", "foo", "x"],
        &["EVAL", "return {1,{2,'x',{}},false,'a\\nb',{{{}}}}", "0"],
        &[
            "EVAL",
            "local t = {} for i = 1, 12 do t[i] = {i, 'v'} end return t",
            "0",
        ],
        &["ZRANGE", "zset", "0", "-1", "WITHSCORES"],
        &["HGETALL", "hash"],
        &["CONFIG", "GET", "maxmemory-policy"],
        &["CLUSTER", "INFO"],
        &["DEBUG", "PROTOCOL", "array"],
        &["DEBUG", "PROTOCOL", "null"],
        &["MGET", "foo", "missing", "list"],
        &["PING"],
        &["ECHO", ""],
    ];
    for mode in MODES {
        for cmd in commands {
            same_after(&setup, &with_port(&port, mode, cmd), b"");
        }
    }
}

#[test]
fn resp3_replies_print_as_redis_cli_prints_them() {
    let server = Server::redis(&["--enable-debug-command", "yes"]);
    let port = server.port.to_string();
    let mut c = server.client();
    c.cmd("HSET hash f1 v1 f2 v2");
    c.cmd("SADD set m1 m2");
    c.cmd("ZADD zset 1.5 a 0.1 b 3 c");
    let commands: &[&[&str]] = &[
        &["HGETALL", "hash"],
        &["HGETALL", "missing"],
        &["SMEMBERS", "set"],
        &["SMEMBERS", "missing"],
        &["ZSCORE", "zset", "a"],
        &["ZSCORE", "zset", "b"],
        &["ZSCORE", "zset", "c"],
        &["ZSCORE", "zset", "missing"],
        &["ZRANGE", "zset", "0", "-1", "WITHSCORES"],
        &["CONFIG", "GET", "maxmemory*"],
        &["EVAL", "return {map={a={1,2},b='x',c={map={}}}}", "0"],
        &["EVAL", "return {double=3.25}", "0"],
        &["DEBUG", "PROTOCOL", "map"],
        &["DEBUG", "PROTOCOL", "set"],
        &["DEBUG", "PROTOCOL", "double"],
        &["DEBUG", "PROTOCOL", "true"],
        &["DEBUG", "PROTOCOL", "false"],
        &["DEBUG", "PROTOCOL", "null"],
        &["DEBUG", "PROTOCOL", "verbatim"],
        &["DEBUG", "PROTOCOL", "push"],
        &["GET", "missing"],
        &["NOSUCHCOMMAND"],
    ];
    for mode in MODES {
        for cmd in commands {
            let mut args = vec!["-3"];
            args.extend(with_port(&port, mode, cmd));
            same(&args, b"");
        }
    }
}

#[test]
fn commands_from_standard_input_print_as_redis_cli() {
    let server = Server::redis(&[]);
    let port = server.port.to_string();
    let setup = || {
        server.client().cmd("FLUSHALL");
    };
    let input = b"set a 1\nget a\n\n   \nset \"unbalanced\n3 incr n\n0 incr n\n\
        set q \"x\\x41\\n\" \nget q\nselect 2\nget a\nmulti\nincr n\nexec\n\
        nosuch\nhgetall nothing\nquit\nget a\n";
    for mode in MODES {
        let mut args = vec!["-p", port.as_str()];
        args.extend_from_slice(mode);
        same_after(&setup, &args, input);
    }
    same_after(
        &setup,
        &["-p", &port, "-n", "3", "--no-raw"],
        b"select 3\ndbsize\nset x y\n",
    );
}

#[test]
fn options_errors_and_exit_codes_match() {
    let server = Server::redis(&[]);
    let port = server.port.to_string();
    let dead = ferrodis_suite::free_port().to_string();
    same(&["-p", &port, "-e", "nosuch"], b"");
    same(&["-p", &port, "nosuch"], b"");
    same(&["-p", &dead, "get", "x"], b"");
    same(&["-p", &dead], b"get x\n");
    same(&["-p", &port, "-x", "set", "k"], b"from stdin\n");
    same(&["-p", &port, "get", "k"], b"");
    same(&["-p", &port, "-r", "3", "--no-raw", "get", "k"], b"");
    let reset = || {
        server.client().cmd("DEL n");
    };
    same_after(&reset, &["-p", &port, "-r", "3", "incr", "n"], b"");
    same(&["-p", &port, "-r", "2", "-i", "0.05", "ping"], b"");
    same(
        &["-p", &port, "--raw", "-d", ",", "-D", ";", "mget", "k", "k"],
        b"",
    );
    same(&["-p", &port, "--bogus"], b"");
    same(
        &["-p", &port, "-a", "nopass", "--no-auth-warning", "ping"],
        b"",
    );
}

#[test]
fn pipe_mode_reports_as_redis_cli() {
    let server = Server::redis(&[]);
    let port = server.port.to_string();
    let mut input = Vec::new();
    for i in 0..1000 {
        let (k, v) = (format!("key{i}"), i.to_string());
        input.extend_from_slice(
            format!(
                "*3\r\n$3\r\nSET\r\n${}\r\n{k}\r\n${}\r\n{v}\r\n",
                k.len(),
                v.len()
            )
            .as_bytes(),
        );
    }
    input.extend_from_slice(b"*2\r\n$4\r\nINCR\r\n$4\r\nkey1\r\n*1\r\n$7\r\nNOTACMD\r\n");
    let ours = same(&["-p", &port, "--pipe"], &input);
    assert_eq!(
        String::from_utf8_lossy(&ours.stdout),
        "All data transferred. Waiting for the last reply...\n\
         Last reply received from server.\nerrors: 1, replies: 1002\n"
    );
    assert_eq!(
        server.client().cmd("GET key1"),
        ferrodis_suite::reply::bulk("2")
    );
    assert_eq!(
        server.client().cmd("DBSIZE"),
        ferrodis_suite::reply::int(1000)
    );
}

/// A three-master Redis Cluster of real `redis-server` nodes, created by
/// `redis-cli --cluster create`.
fn redis_cluster(dir: &Path) -> Vec<Server> {
    let nodes = redis_cluster_nodes(dir, 3);
    let addrs: Vec<String> = nodes
        .iter()
        .map(|n| format!("127.0.0.1:{}", n.port))
        .collect();
    let mut args = vec!["--cluster", "create"];
    args.extend(addrs.iter().map(String::as_str));
    args.push("--cluster-yes");
    let out = run(redis_cli(), &args, b"");
    assert!(
        out.status.success(),
        "redis-cli --cluster create failed:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Every node must know every slot's owner before keys are sent.
    for n in &nodes {
        ferrodis_suite::wait_until(
            std::time::Duration::from_secs(30),
            "cluster_state:ok",
            || {
                matches!(n.client().cmd("CLUSTER INFO"), ferrodis_resp::Frame::Bulk(b)
                if String::from_utf8_lossy(&b).contains("cluster_state:ok"))
            },
        );
    }
    nodes
}

#[test]
fn cluster_mode_follows_redirections_as_redis_cli() {
    let dir = TempDir::new("cli-cluster");
    let nodes = redis_cluster(dir.path());
    let port = nodes[0].port.to_string();
    let input = b"set 20160101 a\nset 20160102 b\nset 20160103 c\n\
        get 20160101\nget 20160102\nget 20160103\nget 20160102\n";
    for mode in MODES {
        let mut args = vec!["-c", "-p", port.as_str()];
        args.extend_from_slice(mode);
        let ours = same(&args, input);
        let text = String::from_utf8_lossy(&ours.stdout);
        let p1 = nodes[1].port;
        let p2 = nodes[2].port;
        assert!(
            text.contains(&format!(
                "-> Redirected to slot [13896] located at 127.0.0.1:{p2}\n"
            )) && text.contains(&format!(
                "-> Redirected to slot [9833] located at 127.0.0.1:{p1}\n"
            )),
            "{text}"
        );
    }
    // A command on the command line follows the redirection silently.
    for key in ["20160101", "20160102", "20160103"] {
        same(&["-c", "-p", &port, "get", key], b"");
        same(&["-c", "-p", &port, "--no-raw", "get", key], b"");
        // Without -c, the redirection is the reply.
        same(&["-p", &port, "get", key], b"");
    }
    // -ASK: slot 13896 (node 2) migrating to node 0; a key not yet moved
    // is asked for on node 0, after ASKING.
    let id = |n: &Server| match n.client().cmd("CLUSTER MYID") {
        ferrodis_resp::Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("CLUSTER MYID: {other:?}"),
    };
    let (id0, id2) = (id(&nodes[0]), id(&nodes[2]));
    nodes[0]
        .client()
        .cmd(&format!("CLUSTER SETSLOT 13896 IMPORTING {id2}"));
    nodes[2]
        .client()
        .cmd(&format!("CLUSTER SETSLOT 13896 MIGRATING {id0}"));
    let asked = b"set {20160102}new v\nget {20160102}new\nget 20160102\n";
    for mode in MODES {
        let mut args = vec!["-c", "-p", port.as_str()];
        args.extend_from_slice(mode);
        let ours = same_after(
            &|| {
                nodes[0].client().cmd("DEL {20160102}new");
            },
            &args,
            asked,
        );
        let text = String::from_utf8_lossy(&ours.stdout);
        assert_eq!(
            text.matches(&format!("located at 127.0.0.1:{}\n", nodes[0].port))
                .count(),
            2,
            "{text}"
        );
    }
    // --cluster hands over to the administration commands.
    let ours = run(
        &cli(),
        &["--cluster", "check", &format!("127.0.0.1:{port}")],
        b"",
    );
    let theirs = run(
        redis_cli(),
        &["--cluster", "check", &format!("127.0.0.1:{port}")],
        b"",
    );
    assert_eq!(
        String::from_utf8_lossy(&ours.stdout),
        String::from_utf8_lossy(&theirs.stdout)
    );
    // The open slot fails the check, in both.
    assert!(
        String::from_utf8_lossy(&ours.stdout)
            .contains("[WARNING] The following slots are open: 13896.\n"),
        "{}",
        String::from_utf8_lossy(&ours.stdout)
    );
    assert_eq!(ours.status.code(), Some(1));
    assert_eq!(theirs.status.code(), Some(1));
}

#[test]
fn ten_thousand_inline_sets_land_on_their_nodes() {
    let dir = TempDir::new("cli-insert");
    let nodes = redis_cluster(dir.path());
    let mut input = String::new();
    for i in 0..10_000 {
        input.push_str(&format!("SET name{i} {i}\n"));
    }
    let port = nodes[0].port.to_string();
    let out = run(&cli(), &["-c", "-p", &port], input.as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().filter(|l| *l == "OK").count(), 10_000);
    assert!(text
        .lines()
        .all(|l| l == "OK" || l.starts_with("-> Redirected to slot [")));
    let mut total = 0;
    for n in &nodes {
        match n.client().cmd("DBSIZE") {
            ferrodis_resp::Frame::Integer(k) => {
                assert!(k > 2000, "node {} holds only {k} keys", n.port);
                total += k;
            }
            other => panic!("DBSIZE: {other:?}"),
        }
    }
    assert_eq!(total, 10_000);
    let check = run(&cli(), &["-c", "-p", &port, "get", "name4321"], b"");
    assert_eq!(String::from_utf8_lossy(&check.stdout), "4321\n");
}
