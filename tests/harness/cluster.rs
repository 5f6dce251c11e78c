//! Helpers for tests that run whole clusters of real processes: the admin
//! tools (`ferrodis-trib`, Debian's `redis-cli`), cluster creation and
//! settling, slot ownership as the nodes report it, and redis-py's cluster
//! client loading and checking keys.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use ferrodis_resp::Frame;

use crate::writer::Acked;
use crate::{run_with_input, tool_binary, wait_until, Client, Launch, Server};

/// Runs `program` with `args` and `input` on stdin, killed after ten
/// minutes (a hang fails the test with what it printed).
pub fn run(program: &Path, args: &[&str], input: &[u8]) -> Output {
    let mut cmd = Command::new("timeout");
    cmd.arg("600").arg(program).args(args).env("TERM", "dumb");
    run_with_input(cmd, input)
}

/// Runs `ferrodis-trib` with `args` (killed after ten minutes).
pub fn trib(args: &[&str]) -> Output {
    run(&tool_binary("ferrodis-trib"), args, b"")
}

/// Runs Debian's `redis-cli` with `args` and `input` on stdin.
pub fn redis_cli(args: &[&str], input: &[u8]) -> Output {
    run(Path::new("redis-cli"), args, input)
}

/// A command's stdout then stderr, as text.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The bulk reply to `cmd`, as text (panics on anything else).
pub fn bulk_text(c: &mut Client, cmd: &str) -> String {
    match c.cmd(cmd) {
        Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("{cmd}: {other:?}"),
    }
}

/// The bulk reply to `cmd`, as text; empty for anything else (a replica
/// answering `-LOADING` while it loads its master's data, say), for
/// waits that try again.
pub fn try_bulk_text(c: &mut Client, cmd: &str) -> String {
    match c.cmd(cmd) {
        Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
        _ => String::new(),
    }
}

/// `127.0.0.1:<port>` of `n`.
pub fn addr(n: &Server) -> String {
    format!("127.0.0.1:{}", n.port)
}

/// `n`'s node id (CLUSTER MYID).
pub fn myid(n: &Server) -> String {
    let mut c = n.client();
    let mut id = String::new();
    wait_until(Duration::from_secs(60), "CLUSTER MYID", || {
        id = try_bulk_text(&mut c, "CLUSTER MYID");
        !id.is_empty()
    });
    id
}

/// How many slots `n` serves, by its own line of CLUSTER NODES.
pub fn slot_count(n: &Server) -> usize {
    let nodes = bulk_text(&mut n.client(), "CLUSTER NODES");
    let Some(line) = nodes.lines().find(|l| l.contains("myself")) else {
        return 0;
    };
    line.split(' ')
        .skip(8)
        .filter(|r| !r.starts_with('['))
        .map(|r| match r.split_once('-') {
            Some((a, b)) => b.parse::<usize>().unwrap_or(0) - a.parse::<usize>().unwrap_or(0) + 1,
            None => 1,
        })
        .sum()
}

/// `n` cluster-enabled `ferrodis-node`s, not yet joined.
pub fn ferrodis_nodes(dir: &Path, n: usize) -> Vec<Server> {
    ferrodis_nodes_with(dir, n, &[])
}

/// [`ferrodis_nodes`] with `extra` options on every node.
fn ferrodis_nodes_with(dir: &Path, n: usize, extra: &[&str]) -> Vec<Server> {
    let mut args = vec![
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        "nodes.conf",
        "--cluster-node-timeout",
        "5000",
    ];
    args.extend_from_slice(extra);
    (0..n)
        .map(|i| {
            Launch::ferrodis()
                .args(&args)
                .dir(&dir.join(format!("node{i}")))
                .start()
        })
        .collect()
}

/// `ferrodis-trib create` over `nodes`, then waits for every node to see
/// the cluster up.
pub fn create(nodes: &[Server], replicas: usize) {
    let addrs: Vec<String> = nodes.iter().map(addr).collect();
    let r = replicas.to_string();
    let mut args = vec!["create"];
    args.extend(addrs.iter().map(String::as_str));
    args.extend(["--replicas", r.as_str(), "--yes"]);
    let out = trib(&args);
    assert!(out.status.success(), "{}", text(&out));
    wait_settled(nodes);
}

/// Waits until every node is `cluster_state:ok` and knows every other.
pub fn wait_settled(nodes: &[Server]) {
    let ids: Vec<String> = nodes.iter().map(myid).collect();
    for n in nodes {
        let mut c = n.client();
        wait_until(Duration::from_secs(60), "cluster settled", || {
            let info = try_bulk_text(&mut c, "CLUSTER INFO");
            let known = try_bulk_text(&mut c, "CLUSTER NODES");
            info.contains("cluster_state:ok") && ids.iter().all(|id| known.contains(id.as_str()))
        });
    }
}

/// Runs a python snippet with redis-py; panics with its output on failure.
pub fn python(script: &str) -> String {
    let out = Command::new("python3")
        .args(["-c", script])
        .output()
        .expect("run python3");
    let t = text(&out);
    assert!(out.status.success(), "python failed:\n{t}");
    t
}

/// Writes `key:<i>` = i for i in 0..n through redis-py's cluster client.
pub fn load_keys(port: u16, n: usize) {
    python(&format!(
        "import redis.cluster as rc\n\
         c = rc.RedisCluster(host='127.0.0.1', port={port})\n\
         p = c.pipeline()\n\
         for i in range({n}):\n    p.set(f'key:{{i}}', i)\n    \
         if i % 1000 == 999: p.execute()\n\
         p.execute()\n"
    ));
}

/// Reads every `key:<i>` back through redis-py's cluster client.
pub fn verify_keys(port: u16, n: usize) {
    python(&format!(
        "import redis.cluster as rc\n\
         c = rc.RedisCluster(host='127.0.0.1', port={port})\n\
         bad = [i for i in range({n}) if c.get(f'key:{{i}}') != str(i).encode()]\n\
         assert not bad, f'{{len(bad)}} keys wrong, first {{bad[:5]}}'\n"
    ));
}

/// Waits until every node in `nodes` sees `slots` slots served by `n`.
pub fn wait_slots_seen(nodes: &[Server], n: &Server, slots: usize) {
    let id = myid(n);
    for other in nodes {
        let mut c = other.client();
        wait_until(Duration::from_secs(30), "slot ownership spread", || {
            let text = try_bulk_text(&mut c, "CLUSTER NODES");
            text.lines()
                .find(|l| l.starts_with(id.as_str()))
                .is_some_and(|l| {
                    l.split(' ')
                        .skip(8)
                        .filter(|r| !r.starts_with('['))
                        .map(|r| match r.split_once('-') {
                            Some((a, b)) => {
                                b.parse::<usize>().unwrap_or(0) - a.parse::<usize>().unwrap_or(0)
                                    + 1
                            }
                            None => 1,
                        })
                        .sum::<usize>()
                        == slots
                })
        });
    }
}

/// GET through the cluster, following `-MOVED` from `port`.
pub fn cluster_get(port: u16, key: &str) -> Frame {
    let mut port = port;
    for _ in 0..5 {
        let mut c =
            Client::new(std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect"));
        match c.call(&["GET", key]) {
            Frame::Error(e) if e.starts_with(b"MOVED ") => {
                port = String::from_utf8_lossy(&e)
                    .rsplit(':')
                    .next()
                    .and_then(|p| p.parse().ok())
                    .expect("MOVED port");
            }
            other => return other,
        }
    }
    panic!("GET {key}: too many redirections")
}

/// Every write in `acked` that `keep` selects reads back with its value.
pub fn assert_readable(port: u16, acked: &[Acked], keep: impl Fn(&Acked) -> bool) -> usize {
    let mut checked = 0;
    let mut missing = Vec::new();
    for a in acked.iter().filter(|a| keep(a)) {
        checked += 1;
        match cluster_get(port, &a.key) {
            Frame::Bulk(v) if v.as_ref() == a.value.as_bytes() => {}
            other => missing.push(format!("{} = {:?}", a.key, other)),
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {checked} acknowledged writes lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    checked
}

/// `n` cluster-enabled nodes that log every write to their AOF and fsync
/// it at once, so that a SIGKILL loses nothing acknowledged.
pub fn durable_nodes(dir: &Path, n: usize) -> Vec<Server> {
    ferrodis_nodes_with(dir, n, &["--appendonly", "yes", "--appendfsync", "always"])
}

/// Waits until every node is `cluster_state:ok`, knows exactly `nodes`
/// and flags none of them as failing (after a node was killed and
/// restarted).
pub fn wait_healed(nodes: &[Server]) {
    for n in nodes {
        let mut c = n.client();
        wait_until(Duration::from_secs(60), "cluster healed", || {
            let info = try_bulk_text(&mut c, "CLUSTER INFO");
            let known = try_bulk_text(&mut c, "CLUSTER NODES");
            info.contains("cluster_state:ok")
                && known.lines().count() == nodes.len()
                && !known.contains("fail")
        });
    }
}
