//! `ferrodis-trib` against Debian's `redis-cli --cluster` 7.0.15 on real
//! `redis-server` nodes: a six-node cluster created by `ferrodis-trib`
//! passes both tools' `check`; their `check`, `info`, `call` and
//! `set-timeout` reports are the same; `create` prints the same plan as
//! redis-cli's (node IDs and ports aside); and `local start` / `local stop`
//! run a cluster of `redis-server` processes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use ferrodis_suite::{
    free_port_range, redis_cluster_nodes, run_with_input, tool_binary, Server, TempDir,
};

fn run(program: &Path, args: &[&str], input: &[u8]) -> Output {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env("TERM", "dumb")
        .env_remove("REDISCLI_CLUSTER_YES");
    run_with_input(cmd, input)
}

fn trib() -> PathBuf {
    tool_binary("ferrodis-trib")
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn addrs(nodes: &[Server]) -> Vec<String> {
    nodes
        .iter()
        .map(|n| format!("127.0.0.1:{}", n.port))
        .collect()
}

/// The report with node IDs and ports replaced by their rank among the
/// nodes given to `create` (`<node0>`, `:P0`), so two clusters compare.
fn normalize(report: &str, nodes: &[Server]) -> String {
    let mut ids: Vec<(String, String)> = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        if let ferrodis_resp::Frame::Bulk(b) = n.client().cmd("CLUSTER MYID") {
            ids.push((
                String::from_utf8_lossy(&b).into_owned(),
                format!("<node{i}>"),
            ));
        }
    }
    let mut out = report.to_owned();
    for (id, name) in &ids {
        out = out.replace(id.as_str(), name);
        out = out.replace(&id[..8], &name[1..6]);
    }
    for (i, n) in nodes.iter().enumerate() {
        out = out.replace(&format!(":{}", n.port), &format!(":P{i}"));
    }
    out
}

/// The lines of the plan up to the confirmation, and the blocks of the
/// final check (each node's lines), sorted: the final order follows the
/// first node's `CLUSTER NODES`, which depends on the IDs.
fn structure(report: &str) -> (Vec<String>, Vec<String>) {
    let (plan, check) = report
        .split_once(">>> Performing Cluster Check")
        .unwrap_or((report, ""));
    let plan: Vec<String> = plan
        .lines()
        .filter(|l| !l.starts_with("   replicates") && !l.starts_with("S: "))
        // The dots count the seconds the join took.
        .filter(|l| !l.chars().all(|c| c == '.'))
        .map(str::to_owned)
        .collect();
    let mut blocks = Vec::new();
    let mut current = String::new();
    for line in check.lines().skip(1) {
        let starts_block = ["M: ", "S: ", "[", ">>>"]
            .iter()
            .any(|p| line.starts_with(p));
        if starts_block && !current.is_empty() {
            blocks.push(std::mem::take(&mut current));
        }
        if line.starts_with("   replicates") {
            continue;
        }
        current.push_str(line);
        current.push('\n');
    }
    blocks.push(current);
    blocks.sort();
    (plan, blocks)
}

#[test]
fn a_cluster_created_by_ferrodis_trib_passes_both_checks() {
    let dir = TempDir::new("trib-create");
    let nodes = redis_cluster_nodes(dir.path(), 6);
    let addrs = addrs(&nodes);
    let mut args = vec!["create"];
    args.extend(addrs.iter().map(String::as_str));
    args.extend(["--replicas", "1", "--yes"]);
    let created = run(&trib(), &args, b"");
    let report = text(&created);
    assert!(
        created.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let p = |i: usize| nodes[i].port;
    let expected_plan = format!(
        ">>> Performing hash slots allocation on 6 nodes...\n\
         Master[0] -> Slots 0 - 5460\n\
         Master[1] -> Slots 5461 - 10922\n\
         Master[2] -> Slots 10923 - 16383\n\
         Adding replica 127.0.0.1:{} to 127.0.0.1:{}\n\
         Adding replica 127.0.0.1:{} to 127.0.0.1:{}\n\
         Adding replica 127.0.0.1:{} to 127.0.0.1:{}\n\
         >>> Trying to optimize slaves allocation for anti-affinity\n\
         [WARNING] Some slaves are in the same host as their master\n",
        p(4),
        p(0),
        p(5),
        p(1),
        p(3),
        p(2)
    );
    assert!(report.starts_with(&expected_plan), "{report}");
    for line in [
        ">>> Nodes configuration updated\n",
        ">>> Assign a different config epoch to each node\n",
        ">>> Sending CLUSTER MEET messages to join the cluster\n",
        "Waiting for the cluster to join\n",
        "[OK] All nodes agree about slots configuration.\n",
        "[OK] All 16384 slots covered.\n",
    ] {
        assert!(report.contains(line), "no {line:?} in\n{report}");
    }
    // Three masters, each with one replica, on every node's view.
    let first = addrs[0].as_str();
    let theirs = run(Path::new("redis-cli"), &["--cluster", "check", first], b"");
    assert!(theirs.status.success(), "{}", text(&theirs));
    assert!(text(&theirs).contains("[OK] All 16384 slots covered."));
    assert_eq!(text(&theirs).matches("1 additional replica(s)").count(), 3);
    // Replication links up: the replicas report their master.
    for n in &nodes {
        ferrodis_suite::wait_until(Duration::from_secs(30), "replication", || {
            let role = n.client().cmd("ROLE");
            !matches!(&role, ferrodis_resp::Frame::Array(items)
                if matches!(items.first(), Some(ferrodis_resp::Frame::Bulk(b)) if &b[..] == b"slave")
                && !matches!(items.get(3), Some(ferrodis_resp::Frame::Bulk(s)) if &s[..] == b"connected"))
        });
    }
    // Both tools print the same reports on the same cluster.
    for cmd in [
        vec!["check", first],
        vec!["info", first],
        vec!["call", first, "DBSIZE"],
        vec!["call", first, "CLUSTER", "COUNTKEYSINSLOT", "7"],
        vec!["check", addrs[4].as_str()],
        vec!["info", "127.0.0.1", &addrs[1][10..]],
        vec!["check", "127.0.0.1:1"],
        vec!["check", "nonsense"],
        vec!["set-timeout", first, "50"],
        vec!["set-timeout", first, "5000"],
    ] {
        let ours = run(&trib(), &cmd, b"");
        let mut cluster_args = vec!["--cluster"];
        cluster_args.extend(cmd.iter().copied());
        let theirs = run(Path::new("redis-cli"), &cluster_args, b"");
        assert_eq!(text(&ours), text(&theirs), "{cmd:?}");
        assert_eq!(
            String::from_utf8_lossy(&ours.stderr),
            String::from_utf8_lossy(&theirs.stderr),
            "{cmd:?}"
        );
        assert_eq!(ours.status.code(), theirs.status.code(), "{cmd:?}");
    }
    // The cluster answers through it.
    let mut c = nodes[0].client();
    assert!(!c.cmd("CLUSTER INFO").is_error());
}

#[test]
fn create_prints_the_plan_redis_cli_prints() {
    let dir = TempDir::new("trib-plan");
    let ours_nodes = redis_cluster_nodes(&dir.path().join("ours"), 6);
    let their_nodes = redis_cluster_nodes(&dir.path().join("theirs"), 6);
    let mut ours_args = vec!["create".to_owned()];
    ours_args.extend(addrs(&ours_nodes));
    ours_args.extend([
        "--cluster-replicas".to_owned(),
        "1".to_owned(),
        "--cluster-yes".to_owned(),
    ]);
    let ours_args: Vec<&str> = ours_args.iter().map(String::as_str).collect();
    let ours = run(&trib(), &ours_args, b"");
    let mut their_args = vec!["--cluster".to_owned(), "create".to_owned()];
    their_args.extend(addrs(&their_nodes));
    their_args.extend([
        "--cluster-replicas".to_owned(),
        "1".to_owned(),
        "--cluster-yes".to_owned(),
    ]);
    let their_args: Vec<&str> = their_args.iter().map(String::as_str).collect();
    let theirs = run(Path::new("redis-cli"), &their_args, b"");
    assert!(ours.status.success() && theirs.status.success());
    let (ours_plan, ours_check) = structure(&normalize(&text(&ours), &ours_nodes));
    let (their_plan, their_check) = structure(&normalize(&text(&theirs), &their_nodes));
    assert_eq!(ours_plan, their_plan);
    assert_eq!(ours_check, their_check);
}

#[test]
fn create_asks_before_changing_anything() {
    let dir = TempDir::new("trib-ask");
    let nodes = redis_cluster_nodes(dir.path(), 3);
    let mut args = vec!["create".to_owned()];
    args.extend(addrs(&nodes));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let ours = run(&trib(), &args, b"no\n");
    let mut cluster_args = vec!["--cluster"];
    cluster_args.extend(args.iter().copied());
    let theirs = run(Path::new("redis-cli"), &cluster_args, b"no\n");
    let (o, t) = (
        normalize(&text(&ours), &nodes),
        normalize(&text(&theirs), &nodes),
    );
    assert_eq!(o, t);
    assert!(
        o.ends_with("Can I set the above configuration? (type 'yes' to accept): "),
        "{o}"
    );
    assert_eq!(ours.status.code(), theirs.status.code());
    // Nothing was assigned.
    let info = nodes[0].client().cmd("CLUSTER INFO");
    assert!(matches!(info, ferrodis_resp::Frame::Bulk(b)
        if String::from_utf8_lossy(&b).contains("cluster_slots_assigned:0")));
    // Too few nodes for three masters with a replica each.
    let mut args = vec!["create".to_owned()];
    args.extend(addrs(&nodes));
    args.extend(["--replicas".to_owned(), "1".to_owned(), "--yes".to_owned()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let ours = run(&trib(), &args, b"");
    assert_eq!(ours.status.code(), Some(1));
    assert_eq!(
        text(&ours),
        "*** ERROR: Invalid configuration for cluster creation.\n\
         *** Redis Cluster requires at least 3 master nodes.\n\
         *** This is not possible with 3 nodes and 1 replicas per node.\n\
         *** At least 6 nodes are required.\n"
    );
}

/// Stops a local cluster when the test ends, however it ends.
struct LocalCluster {
    dir: PathBuf,
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        let dir = self.dir.to_string_lossy().into_owned();
        let _ = run(&trib(), &["local", "stop", "--dir", &dir], b"");
    }
}

#[test]
fn local_start_and_stop_run_a_redis_server_cluster() {
    let tmp = TempDir::new("trib-local");
    let dir = tmp.path().join("cluster");
    let port = free_port_range(6);
    let dir_s = dir.to_string_lossy().into_owned();
    let port_s = port.to_string();
    let guard = LocalCluster { dir: dir.clone() };
    let started = run(
        &trib(),
        &[
            "local",
            "start",
            "--masters",
            "3",
            "--replicas",
            "1",
            "--port",
            &port_s,
            "--dir",
            &dir_s,
            "--node-binary",
            "redis-server",
        ],
        b"",
    );
    let report = text(&started);
    assert!(
        started.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&started.stderr)
    );
    assert!(
        report.contains("[OK] All 16384 slots covered.\n"),
        "{report}"
    );
    assert!(
        report.contains(&format!("    ferrodis-cli -c -h 127.0.0.1 -p {port}\n")),
        "{report}"
    );
    for i in 0..6 {
        let conf = std::fs::read_to_string(dir.join((port + i).to_string()).join("node.conf"))
            .expect("node.conf");
        assert!(conf.contains("cluster-enabled yes"));
        assert!(dir.join((port + i).to_string()).join("node.pid").is_file());
    }
    let first = format!("127.0.0.1:{port}");
    let check = run(Path::new("redis-cli"), &["--cluster", "check", &first], b"");
    assert!(check.status.success(), "{}", text(&check));
    // Nodes started from configuration files can save a new timeout.
    let ours = run(&trib(), &["set-timeout", &first, "3000"], b"");
    assert!(
        text(&ours).ends_with(">>> New node timeout set. 6 OK, 0 ERR.\n"),
        "{}",
        text(&ours)
    );
    let conf = std::fs::read_to_string(dir.join(port.to_string()).join("node.conf")).expect("conf");
    assert!(conf.contains("cluster-node-timeout 3000"), "{conf}");
    // Keys go through the cluster client.
    let cli = tool_binary("ferrodis-cli");
    let set = run(
        &cli,
        &["-c", "-p", &port_s],
        b"set 20160102 x\nget 20160102\n",
    );
    assert!(text(&set).ends_with("OK\nx\n"), "{}", text(&set));
    // A second start in the same directory finds the cluster running.
    let again = run(
        &trib(),
        &[
            "local",
            "start",
            "--port",
            &port_s,
            "--dir",
            &dir_s,
            "--node-binary",
            "redis-server",
        ],
        b"",
    );
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        text(&again).contains("already form a cluster"),
        "{}",
        text(&again)
    );
    // Stop: every node gone, pidfiles removed.
    let stopped = run(&trib(), &["local", "stop", "--dir", &dir_s], b"");
    assert!(stopped.status.success());
    assert_eq!(
        text(&stopped).matches("Stopped the node on port").count(),
        6,
        "{}",
        text(&stopped)
    );
    for i in 0..6 {
        assert!(std::net::TcpStream::connect(("127.0.0.1", port + i)).is_err());
        assert!(!dir.join((port + i).to_string()).join("node.pid").exists());
    }
    drop(guard);
}
