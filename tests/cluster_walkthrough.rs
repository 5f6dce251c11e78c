//! The operators' walkthrough of Redis Cluster, first half, on six
//! `ferrodis-node` processes: create the cluster with `ferrodis-trib create
//! --replicas 1`, check it with both `ferrodis-trib check` and Debian's
//! `redis-cli --cluster check`, use it through `ferrodis-cli -c` (the
//! redirections the seeds show, 10,000 piped SETs landing on their nodes),
//! then SIGKILL all six and start them again from their files: the cluster
//! comes back with the same ids and slots.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use ferrodis_resp::Frame;
use ferrodis_suite::{
    cluster_masters_dbsize, redis_py_cluster_round_trip, run_with_input, tool_binary, wait_until,
    Client, Launch, Server, TempDir,
};

/// Runs `program` with `args` and `input` on stdin, killed after a minute
/// (a hang fails the test with what it printed).
fn run(program: &Path, args: &[&str], input: &[u8]) -> Output {
    let mut cmd = Command::new("timeout");
    cmd.arg("60").arg(program).args(args).env("TERM", "dumb");
    run_with_input(cmd, input)
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn bulk_text(c: &mut Client, cmd: &str) -> String {
    match c.cmd(cmd) {
        Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("{cmd}: {other:?}"),
    }
}

fn cluster_state(c: &mut Client) -> String {
    bulk_text(c, "CLUSTER INFO")
        .lines()
        .find_map(|l| l.strip_prefix("cluster_state:").map(str::to_owned))
        .unwrap_or_default()
}

/// Each node's slots, by id, as `CLUSTER NODES` on `c` shows them.
fn slots_by_id(c: &mut Client) -> BTreeMap<String, String> {
    bulk_text(c, "CLUSTER NODES")
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (f[0].to_owned(), f.get(8..).unwrap_or_default().join(" "))
        })
        .collect()
}

/// A node started from a config file, as the seeds start theirs
/// (`port`, `cluster-enabled yes`, `cluster-config-file nodes.conf`,
/// `cluster-node-timeout 5000`, `appendonly yes`).
fn start_node(dir: &Path) -> Server {
    std::fs::create_dir_all(dir).expect("node dir");
    let launch = Launch::ferrodis();
    let conf = dir.join("redis.conf");
    std::fs::write(
        &conf,
        format!(
            "port {}\ncluster-enabled yes\ncluster-config-file nodes.conf\n\
             cluster-node-timeout 5000\nappendonly yes\n",
            launch.port
        ),
    )
    .expect("write redis.conf");
    launch.config_file(&conf).dir(dir).start()
}

#[test]
fn six_nodes_created_checked_used_and_restarted() {
    let root = TempDir::new("walkthrough");
    let mut nodes: Vec<Server> = (0..6)
        .map(|i| start_node(&root.path().join(format!("node{i}"))))
        .collect();
    let addrs: Vec<String> = nodes
        .iter()
        .map(|n| format!("127.0.0.1:{}", n.port))
        .collect();

    // create --replicas 1
    let mut args = vec!["create"];
    args.extend(addrs.iter().map(String::as_str));
    args.extend(["--replicas", "1", "--yes"]);
    let created = run(&tool_binary("ferrodis-trib"), &args, b"");
    let report = text(&created);
    assert!(created.status.success(), "{report}");
    assert!(report.contains("[OK] All 16384 slots covered."), "{report}");
    for n in &nodes {
        let mut c = n.client();
        wait_until(Duration::from_secs(30), "cluster_state:ok", || {
            cluster_state(&mut c) == "ok"
        });
    }

    // Both admin tools find it healthy.
    let check = run(&tool_binary("ferrodis-trib"), &["check", &addrs[0]], b"");
    let report = text(&check);
    assert!(check.status.success(), "{report}");
    assert!(
        report.contains("[OK] All nodes agree about slots configuration."),
        "{report}"
    );
    assert!(report.contains("[OK] All 16384 slots covered."), "{report}");
    assert_eq!(
        report.matches("\nM: ").count() + usize::from(report.starts_with("M: ")),
        3,
        "{report}"
    );
    assert_eq!(report.matches("\nS: ").count(), 3, "{report}");
    let check = run(
        Path::new("redis-cli"),
        &["--cluster", "check", &addrs[0]],
        b"",
    );
    let report = text(&check);
    assert!(check.status.success(), "{report}");
    assert!(
        report.contains("[OK] All nodes agree about slots configuration."),
        "{report}"
    );
    assert!(report.contains("[OK] All 16384 slots covered."), "{report}");

    // The seeds' session: keys 20160101..03 through ferrodis-cli -c.
    let owner_of = |slot: u16, c: &mut Client| -> String {
        let nodes = bulk_text(c, "CLUSTER NODES");
        nodes
            .lines()
            .find(|l| {
                l.split(' ').skip(8).any(|r| match r.split_once('-') {
                    Some((a, b)) => {
                        a.parse::<u16>().is_ok_and(|a| a <= slot)
                            && b.parse::<u16>().is_ok_and(|b| slot <= b)
                    }
                    None => r.parse::<u16>() == Ok(slot),
                })
            })
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|a| a.split('@').next())
            .unwrap_or_default()
            .to_owned()
    };
    let mut c0 = nodes[0].client();
    let session = run(
        &tool_binary("ferrodis-cli"),
        &["-c", "-p", &nodes[0].port.to_string()],
        b"set 20160101 a\nset 20160102 b\nset 20160103 c\nget 20160101\nget 20160102\n",
    );
    let out = text(&session);
    for slot in [13896u16, 9833] {
        let owner = owner_of(slot, &mut c0);
        if owner != addrs[0] {
            assert!(
                out.contains(&format!(
                    "-> Redirected to slot [{slot}] located at {owner}"
                )),
                "slot {slot} at {owner}:\n{out}"
            );
        }
    }
    assert!(
        out.lines().any(|l| l == "a") && out.lines().any(|l| l == "b"),
        "{out}"
    );

    // 10,000 SETs piped through ferrodis-cli -c land on their nodes.
    let mut input = String::new();
    for i in 0..10_000 {
        input.push_str(&format!("SET name{i} {i}\n"));
    }
    let piped = run(
        &tool_binary("ferrodis-cli"),
        &["-c", "-p", &nodes[0].port.to_string()],
        input.as_bytes(),
    );
    assert!(piped.status.success(), "{}", text(&piped));
    let total = cluster_masters_dbsize(&nodes);
    assert_eq!(total, 10_000 + 3);

    // SIGKILL all six, start them again from their files.
    let before: Vec<(String, BTreeMap<String, String>)> = nodes
        .iter()
        .map(|n| {
            let mut c = n.client();
            (bulk_text(&mut c, "CLUSTER MYID"), slots_by_id(&mut c))
        })
        .collect();
    for n in &mut nodes {
        n.kill();
    }
    for n in &mut nodes {
        n.restart();
    }
    for (n, (id, slots)) in nodes.iter().zip(&before) {
        let mut c = n.client();
        assert_eq!(&bulk_text(&mut c, "CLUSTER MYID"), id);
        wait_until(
            Duration::from_secs(30),
            "cluster_state:ok after restart",
            || cluster_state(&mut c) == "ok",
        );
        assert_eq!(&slots_by_id(&mut c), slots, "node {id}");
    }
}

/// The same six Ferrodis nodes made a cluster by Debian's `redis-cli
/// --cluster create`, checked clean by `redis-cli --cluster check`, used
/// by redis-py's `RedisCluster` for 10,000 keys.
#[test]
fn redis_cli_creates_and_checks_a_ferrodis_cluster() {
    let root = TempDir::new("redis-cli-create");
    let nodes: Vec<Server> = (0..6)
        .map(|i| start_node(&root.path().join(format!("node{i}"))))
        .collect();
    let addrs: Vec<String> = nodes
        .iter()
        .map(|n| format!("127.0.0.1:{}", n.port))
        .collect();
    let mut args = vec!["--cluster", "create"];
    args.extend(addrs.iter().map(String::as_str));
    args.extend(["--cluster-replicas", "1", "--cluster-yes"]);
    let created = run(Path::new("redis-cli"), &args, b"");
    let report = text(&created);
    assert!(created.status.success(), "{report}");
    assert!(report.contains("[OK] All 16384 slots covered."), "{report}");
    for n in &nodes {
        let mut c = n.client();
        wait_until(Duration::from_secs(30), "cluster_state:ok", || {
            cluster_state(&mut c) == "ok"
        });
    }
    let check = run(
        Path::new("redis-cli"),
        &["--cluster", "check", &addrs[3]],
        b"",
    );
    let report = text(&check);
    assert!(check.status.success(), "{report}");
    assert!(
        report.contains("[OK] All nodes agree about slots configuration."),
        "{report}"
    );
    assert!(
        !report.contains("[ERR]") && !report.contains("[WARNING]"),
        "{report}"
    );

    redis_py_cluster_round_trip(nodes[0].port, "name", 10_000);
    let total = cluster_masters_dbsize(&nodes);
    assert_eq!(total, 10_000);
}
