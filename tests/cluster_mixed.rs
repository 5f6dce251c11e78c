//! Cluster mode against real Redis: a `ferrodis-node` and Debian's
//! `redis-server` (both cluster-enabled) meet over the cluster bus, each
//! takes half of the slots, and both agree that the cluster is up; keys are
//! served where their slot lives and redirected with Redis' `-MOVED`
//! everywhere else, and `redis-cli -c` follows the redirections.

use std::process::Command;
use std::time::Duration;

use ferrodis_resp::Frame;
use ferrodis_suite::reply::{bulk, ok};
use ferrodis_suite::{redis_py_cluster_round_trip, wait_until, Client, Launch, Server, TempDir};

fn cluster_node(launch: Launch, dir: &std::path::Path) -> Server {
    launch
        .args(&[
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            "3000",
            "--save",
            "",
        ])
        .dir(dir)
        .start()
}

fn info_field(c: &mut Client, field: &str) -> Option<String> {
    let Frame::Bulk(text) = c.cmd("CLUSTER INFO") else {
        return None;
    };
    String::from_utf8_lossy(&text)
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")).map(str::to_owned))
}

/// `first` takes slots 0-8191 and `second` the rest; waits until both
/// see the cluster up.
fn split_slots_and_wait(first: &mut Client, second: &mut Client) {
    add_slots(first, 0..=8191);
    assert_eq!(second.cmd("CLUSTER ADDSLOTSRANGE 8192 16383"), ok());
    wait_until(
        Duration::from_secs(20),
        "both nodes to see the cluster up",
        || {
            info_field(first, "cluster_state").as_deref() == Some("ok")
                && info_field(second, "cluster_state").as_deref() == Some("ok")
        },
    );
}

/// ADDSLOTS for `range`, as one command.
fn add_slots(c: &mut Client, range: std::ops::RangeInclusive<u16>) {
    let mut args = vec!["CLUSTER".to_owned(), "ADDSLOTS".to_owned()];
    args.extend(range.map(|s| s.to_string()));
    assert_eq!(c.call(&args), ok());
}

#[test]
fn ferrodis_and_redis_form_one_cluster() {
    let dirs = TempDir::new("mixed");
    let ferrodis = cluster_node(Launch::ferrodis(), &dirs.path().join("f"));
    let redis = cluster_node(Launch::redis(), &dirs.path().join("r"));
    let (mut f, mut r) = (ferrodis.client(), redis.client());

    // Ferrodis meets Redis; each takes half of the slots.
    assert_eq!(
        f.call(&["CLUSTER", "MEET", "127.0.0.1", &redis.port.to_string()]),
        ok()
    );
    split_slots_and_wait(&mut f, &mut r);

    // Redis knows Ferrodis by the id Ferrodis reports, with its slots.
    let Frame::Bulk(fid) = f.cmd("CLUSTER MYID") else {
        panic!("no CLUSTER MYID");
    };
    let fid = String::from_utf8_lossy(&fid).into_owned();
    let Frame::Bulk(nodes) = r.cmd("CLUSTER NODES") else {
        panic!("no CLUSTER NODES");
    };
    let nodes = String::from_utf8_lossy(&nodes).into_owned();
    let line = nodes
        .lines()
        .find(|l| l.starts_with(&fid))
        .unwrap_or_else(|| panic!("Redis does not know {fid}:\n{nodes}"));
    assert!(
        line.contains(&format!(
            "127.0.0.1:{}@{}",
            ferrodis.port,
            ferrodis.port + 10000
        )) && line.contains(" master ")
            && line.ends_with(" connected 0-8191"),
        "{line}"
    );

    // And Ferrodis describes the cluster as Redis does.
    let Frame::Bulk(ours) = f.cmd("CLUSTER NODES") else {
        panic!("no CLUSTER NODES");
    };
    let ours = String::from_utf8_lossy(&ours).into_owned();
    let Frame::Bulk(rid) = r.cmd("CLUSTER MYID") else {
        panic!("no CLUSTER MYID");
    };
    let rid = String::from_utf8_lossy(&rid).into_owned();
    assert_eq!(ours.lines().count(), 2, "{ours}");
    assert!(
        ours.lines().any(|l| l.starts_with(&fid)
            && l.contains(" myself,master - ")
            && l.ends_with(" connected 0-8191")),
        "{ours}"
    );
    assert!(
        ours.lines().any(|l| l.starts_with(&rid)
            && l.contains(&format!(
                " 127.0.0.1:{}@{} master - ",
                redis.port,
                redis.port + 10000
            ))
            && l.ends_with(" connected 8192-16383")),
        "{ours}"
    );
    let Frame::Array(slots) = f.cmd("CLUSTER SLOTS") else {
        panic!("no CLUSTER SLOTS");
    };
    assert_eq!(slots.len(), 2);
    assert_eq!(
        slots[1],
        Frame::Array(vec![
            Frame::Integer(8192),
            Frame::Integer(16383),
            Frame::Array(vec![
                bulk("127.0.0.1"),
                Frame::Integer(i64::from(redis.port)),
                bulk(&rid),
                Frame::Array(vec![]),
            ]),
        ])
    );

    // Keys live where their slots are ("hello" is slot 866, "foo" 12182).
    assert_eq!(f.cmd("SET hello 1"), ok());
    assert_eq!(
        f.cmd("SET foo 1"),
        Frame::Error(format!("MOVED 12182 127.0.0.1:{}", redis.port).into())
    );
    assert_eq!(
        r.cmd("GET hello"),
        Frame::Error(format!("MOVED 866 127.0.0.1:{}", ferrodis.port).into())
    );
    assert_eq!(
        f.cmd("MSET {a}x 1 {b}y 2"),
        Frame::Error("CROSSSLOT Keys in request don't hash to the same slot".into())
    );
    assert_eq!(
        f.cmd("SELECT 1"),
        Frame::Error("ERR SELECT is not allowed in cluster mode".into())
    );

    // redis-cli -c follows the redirections both ways.
    for (port, key, value) in [
        (ferrodis.port, "20160102", "x"),
        (redis.port, "20160101", "y"),
        (ferrodis.port, "20160103", "z"),
    ] {
        let out = Command::new("redis-cli")
            .args(["-c", "-p", &port.to_string(), "SET", key, value])
            .output()
            .expect("run redis-cli");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "OK");
        for p in [ferrodis.port, redis.port] {
            let out = Command::new("redis-cli")
                .args(["-c", "-p", &p.to_string(), "GET", key])
                .output()
                .expect("run redis-cli");
            assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), value);
        }
    }
    assert_eq!(
        f.cmd("CLUSTER KEYSLOT 20160103"),
        ferrodis_suite::reply::int(9833)
    );
    assert_eq!(f.cmd("GET 20160101"), bulk("y"));

    // redis-py's cluster client writes and reads through both nodes.
    redis_py_cluster_round_trip(ferrodis.port, "name", 2000);
    let sizes: i64 = [&mut f, &mut r]
        .into_iter()
        .map(|c| match c.cmd("DBSIZE") {
            Frame::Integer(n) => n,
            other => panic!("DBSIZE: {other:?}"),
        })
        .sum();
    assert_eq!(sizes, 2000 + 4, "2000 names, hello and the three dates");
    let Frame::Integer(here) = f.cmd("DBSIZE") else {
        panic!("no DBSIZE");
    };
    assert!(
        here > 500 && here < 1500,
        "{here} of 2000 keys on half the slots"
    );
}

/// Each node's view of the cluster, normalised: per node id, its address,
/// role, master, config epoch and slots (what every node must agree on).
fn view(c: &mut Client) -> Vec<String> {
    let Frame::Bulk(text) = c.cmd("CLUSTER NODES") else {
        return Vec::new();
    };
    let mut lines: Vec<String> = String::from_utf8_lossy(&text)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let flags = f.get(2).unwrap_or(&"").replace("myself,", "");
            format!(
                "{} {} {} {} {} {}",
                f.first().unwrap_or(&""),
                f.get(1).unwrap_or(&""),
                flags,
                f.get(3).unwrap_or(&""),
                f.get(6).unwrap_or(&""),
                f.get(8..).unwrap_or_default().join(" ")
            )
        })
        .collect();
    lines.sort();
    lines
}

/// Three redis-server and three ferrodis-node masters in one cluster, each
/// with a sixth of the slots: every node ends up with the same picture of
/// the six (addresses, roles, config epochs, slots), and a cluster client
/// writes and reads keys on every master.
#[test]
fn three_redis_and_three_ferrodis_masters() {
    let dirs = TempDir::new("mixed6");
    let nodes: Vec<Server> = (0..6)
        .map(|i| {
            let launch = if i % 2 == 0 {
                Launch::ferrodis()
            } else {
                Launch::redis()
            };
            cluster_node(launch, &dirs.path().join(format!("n{i}")))
        })
        .collect();
    let mut clients: Vec<Client> = nodes.iter().map(Server::client).collect();
    for n in &nodes[1..] {
        assert_eq!(
            clients[0].call(&["CLUSTER", "MEET", "127.0.0.1", &n.port.to_string()]),
            ok()
        );
    }
    for (i, c) in clients.iter_mut().enumerate() {
        let start = i * 16384 / 6;
        let end = (i + 1) * 16384 / 6 - 1;
        assert_eq!(
            c.call(&[
                "CLUSTER",
                "ADDSLOTSRANGE",
                &start.to_string(),
                &end.to_string()
            ]),
            ok()
        );
    }
    wait_until(Duration::from_secs(40), "six nodes to agree", || {
        let views: Vec<Vec<String>> = clients.iter_mut().map(view).collect();
        views[0].len() == 6
            && views.iter().all(|v| *v == views[0])
            && clients
                .iter_mut()
                .all(|c| info_field(c, "cluster_state").as_deref() == Some("ok"))
    });
    let epochs: std::collections::BTreeSet<String> = view(&mut clients[0])
        .iter()
        .map(|l| l.split(' ').nth(4).unwrap_or("").to_owned())
        .collect();
    assert_eq!(epochs.len(), 6, "config epochs not distinct: {epochs:?}");

    redis_py_cluster_round_trip(nodes[1].port, "k", 3000);
    for (n, c) in nodes.iter().zip(clients.iter_mut()) {
        let Frame::Integer(k) = c.cmd("DBSIZE") else {
            panic!("DBSIZE");
        };
        assert!(k > 300, "node {} holds {k} of 3000 keys", n.port);
    }
}

/// Forwards every connection to `listen` on 127.0.0.1 to `to`, as a NAT
/// or a container's port mapping does.
fn forward(listen: u16, to: u16) {
    let listener = std::net::TcpListener::bind(("127.0.0.1", listen)).expect("bind forwarder");
    std::thread::spawn(move || {
        for inbound in listener.incoming().flatten() {
            let Ok(outbound) = std::net::TcpStream::connect(("127.0.0.1", to)) else {
                continue;
            };
            for (mut from, mut into) in [
                (
                    inbound.try_clone().expect("clone"),
                    outbound.try_clone().expect("clone"),
                ),
                (outbound, inbound),
            ] {
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from, &mut into);
                    let _ = into.shutdown(std::net::Shutdown::Both);
                });
            }
        }
    });
}

/// A node behind NAT: it listens on ports nobody else can use directly
/// and announces the mapped ones (`cluster-announce-port`,
/// `-bus-port`, `-hostname`). Its peer (a real redis-server) reaches its
/// bus through the mapping, and clients redirected to it land on the
/// mapped client port.
#[test]
fn announced_addresses_for_nodes_behind_nat() {
    let dirs = TempDir::new("nat");
    let (mapped_port, mapped_bus) = (ferrodis_suite::free_port(), ferrodis_suite::free_port());
    let inner_bus = ferrodis_suite::free_port();
    let natted = Launch::ferrodis();
    let natted = cluster_node(
        natted.args(&[
            "--cluster-port",
            &inner_bus.to_string(),
            "--cluster-announce-port",
            &mapped_port.to_string(),
            "--cluster-announce-bus-port",
            &mapped_bus.to_string(),
            "--cluster-announce-hostname",
            "ferrodis-a.example",
        ]),
        &dirs.path().join("a"),
    );
    forward(mapped_port, natted.port);
    forward(mapped_bus, inner_bus);
    let redis = cluster_node(Launch::redis(), &dirs.path().join("r"));
    let (mut a, mut r) = (natted.client(), redis.client());
    // The real node meets the natted one at its mapped addresses.
    assert_eq!(
        r.call(&[
            "CLUSTER",
            "MEET",
            "127.0.0.1",
            &mapped_port.to_string(),
            &mapped_bus.to_string()
        ]),
        ok()
    );
    split_slots_and_wait(&mut a, &mut r);
    let Frame::Bulk(nodes) = r.cmd("CLUSTER NODES") else {
        panic!("no CLUSTER NODES");
    };
    let nodes = String::from_utf8_lossy(&nodes).into_owned();
    assert!(
        nodes.contains(&format!(
            "127.0.0.1:{mapped_port}@{mapped_bus},ferrodis-a.example master"
        )),
        "{nodes}"
    );
    // A client sent from the real node to the natted one goes through
    // the mapping.
    assert_eq!(
        r.cmd("SET hello 1"),
        Frame::Error(format!("MOVED 866 127.0.0.1:{mapped_port}").into())
    );
    let out = Command::new("redis-cli")
        .args([
            "-c",
            "-p",
            &redis.port.to_string(),
            "SET",
            "hello",
            "via-nat",
        ])
        .output()
        .expect("run redis-cli");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "OK");
    assert_eq!(a.cmd("GET hello"), bulk("via-nat"));
}
