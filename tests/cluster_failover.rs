//! The operators' failover walkthrough on real processes, with
//! `cluster-node-timeout 5000` as the seeds use: SIGKILL a master while a
//! client writes, its replica takes the slots within `node_timeout + 2 s`,
//! acknowledged writes survive, the old master comes back as a replica;
//! losing a master and its only replica takes the cluster down. Manual
//! `CLUSTER FAILOVER` under load, twenty times, loses no acknowledged
//! write. The same automatic failover in a cluster that mixes Ferrodis and
//! Debian's `redis-server`, each way round.

use std::path::Path;
use std::time::{Duration, Instant};

use ferrodis_resp::Frame;
use ferrodis_suite::cluster::assert_readable;
use ferrodis_suite::writer::ClusterWriter;
use ferrodis_suite::{tool_binary, wait_until, Client, Launch, Server, TempDir};

const NODE_TIMEOUT_MS: u64 = 5000;

/// The manual failover test's node timeout: shorter, so that its twenty
/// rounds wait less for the vote and election spacing Redis imposes.
const MANUAL_NODE_TIMEOUT_MS: u64 = 2000;

/// Where Redis nodes take part, failure detection and the election run at
/// Redis' pace: Redis 7.0.15 alone took 7.2-8.2 s in this test's setup.
const MIXED_LIMIT: Duration = Duration::from_millis(NODE_TIMEOUT_MS + 5000);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Ferrodis,
    Redis,
}

/// A cluster-enabled node in `dir`, as the seeds configure theirs.
fn start_node(kind: Kind, dir: &Path, node_timeout_ms: u64) -> Server {
    std::fs::create_dir_all(dir).expect("node dir");
    let launch = match kind {
        Kind::Ferrodis => Launch::ferrodis(),
        Kind::Redis => Launch::redis(),
    };
    let timeout = node_timeout_ms.to_string();
    launch
        .args(&[
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            &timeout,
            "--save",
            "",
        ])
        .dir(dir)
        .start()
}

fn bulk_text(c: &mut Client, cmd: &str) -> String {
    match c.cmd(cmd) {
        Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("{cmd}: {other:?}"),
    }
}

/// One line of `CLUSTER NODES`.
#[derive(Debug, Clone)]
struct Line {
    id: String,
    port: u16,
    flags: String,
    master: String,
    slots: Vec<(u16, u16)>,
}

impl Line {
    fn is_master(&self) -> bool {
        self.flags.split(',').any(|f| f == "master")
    }
    fn is_myself(&self) -> bool {
        self.flags.split(',').any(|f| f == "myself")
    }
    fn owns(&self, slot: u16) -> bool {
        self.slots.iter().any(|&(a, b)| a <= slot && slot <= b)
    }
}

/// `CLUSTER NODES` parsed; empty while the node cannot answer (a replica
/// loading its master's data answers -LOADING).
fn nodes_of(c: &mut Client) -> Vec<Line> {
    match c.call(&["CLUSTER", "NODES"]) {
        Frame::Bulk(b) => parse_nodes(&String::from_utf8_lossy(&b)),
        _ => Vec::new(),
    }
}

fn parse_nodes(text: &str) -> Vec<Line> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let port = f
                .get(1)?
                .split('@')
                .next()?
                .rsplit(':')
                .next()?
                .parse()
                .ok()?;
            let slots = f
                .get(8..)
                .unwrap_or_default()
                .iter()
                .filter(|s| !s.starts_with('['))
                .filter_map(|s| match s.split_once('-') {
                    Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
                    None => s.parse().ok().map(|a| (a, a)),
                })
                .collect();
            Some(Line {
                id: (*f.first()?).to_owned(),
                port,
                flags: (*f.get(2)?).to_owned(),
                master: (*f.get(3)?).to_owned(),
                slots,
            })
        })
        .collect()
}

fn try_nodes_of(port: u16) -> Option<Vec<Line>> {
    let stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    let mut c = Client::new(stream);
    c.set_read_timeout(Duration::from_secs(2));
    c.try_send(&["CLUSTER", "NODES"]).ok()?;
    match c.try_read().ok()? {
        Frame::Bulk(b) => Some(parse_nodes(&String::from_utf8_lossy(&b))),
        _ => None,
    }
}

fn field(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|l| {
        l.strip_prefix(&format!("{name}:"))
            .map(|v| v.trim().to_owned())
    })
}

fn cluster_state(c: &mut Client) -> String {
    match c.call(&["CLUSTER", "INFO"]) {
        Frame::Bulk(b) => field(&String::from_utf8_lossy(&b), "cluster_state").unwrap_or_default(),
        _ => String::new(),
    }
}

/// The master serving `slot` and its replicas, once `c` knows of at
/// least one replica.
fn shard_with_replica(c: &mut Client, slot: u16) -> (Line, Line) {
    let mut found = None;
    wait_until(
        Duration::from_secs(20),
        "the shard's replica to be known",
        || {
            found = try_shard_of(c, slot).and_then(|(m, r)| r.first().cloned().map(|r| (m, r)));
            found.is_some()
        },
    );
    found.expect("found")
}

/// The master serving `slot` and its replicas, as `c` sees them.
fn shard_of(c: &mut Client, slot: u16) -> (Line, Vec<Line>) {
    try_shard_of(c, slot).unwrap_or_else(|| panic!("no master for slot {slot}"))
}

fn try_shard_of(c: &mut Client, slot: u16) -> Option<(Line, Vec<Line>)> {
    let lines = nodes_of(c);
    let master = lines
        .iter()
        .find(|l| l.is_master() && l.owns(slot))?
        .clone();
    let replicas = lines
        .iter()
        .filter(|l| l.master == master.id)
        .cloned()
        .collect();
    Some((master, replicas))
}

fn server_at(nodes: &mut [Server], port: u16) -> &mut Server {
    nodes
        .iter_mut()
        .find(|n| n.port == port)
        .expect("a node on that port")
}

/// Waits until every node in `ports` reports the cluster `ok` with `id`
/// serving `slot`; returns how long that took from `since`.
fn wait_owner_everywhere(
    ports: &[u16],
    slot: u16,
    id: &str,
    since: Instant,
    limit: Duration,
) -> Duration {
    wait_until(limit, "the new master on every node", || {
        ports.iter().all(|&p| {
            try_nodes_of(p).is_some_and(|lines| {
                lines
                    .iter()
                    .any(|l| l.id == id && l.is_master() && l.owns(slot))
            }) && {
                let mut c =
                    Client::new(std::net::TcpStream::connect(("127.0.0.1", p)).expect("connect"));
                cluster_state(&mut c) == "ok"
            }
        })
    });
    since.elapsed()
}

/// Six nodes (the kinds given) made a 3+3 cluster by `ferrodis-trib
/// create --replicas 1`; waits until every node says `ok`.
fn six_node_cluster(root: &Path, kinds: [Kind; 6], node_timeout_ms: u64) -> Vec<Server> {
    let nodes: Vec<Server> = kinds
        .iter()
        .enumerate()
        .map(|(i, &k)| start_node(k, &root.join(format!("node{i}")), node_timeout_ms))
        .collect();
    let addrs: Vec<String> = nodes
        .iter()
        .map(|n| format!("127.0.0.1:{}", n.port))
        .collect();
    let mut args = vec!["create".to_owned()];
    args.extend(addrs.iter().cloned());
    args.extend(["--replicas".to_owned(), "1".to_owned(), "--yes".to_owned()]);
    let out = std::process::Command::new("timeout")
        .arg("60")
        .arg(tool_binary("ferrodis-trib"))
        .args(&args)
        .output()
        .expect("run ferrodis-trib");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_cluster_ok(&nodes);
    nodes
}

fn wait_cluster_ok(nodes: &[Server]) {
    for n in nodes {
        let mut c = n.client();
        wait_until(Duration::from_secs(30), "cluster_state:ok", || {
            cluster_state(&mut c) == "ok"
        });
    }
}

/// Waits until the node on `port` is a replica of `master` with its
/// replication link up and as many keys as the master.
fn wait_synced_replica(port: u16, master: &Line, limit: Duration) {
    wait_until(limit, "a synced replica", || {
        // A replica answers -LOADING while it loads its master's data.
        let Some(lines) = try_nodes_of(port) else {
            return false;
        };
        let me = lines.into_iter().find(Line::is_myself);
        let Ok(stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
            return false;
        };
        let mut c = Client::new(stream);
        let Frame::Bulk(info) = c.call(&["INFO", "replication"]) else {
            return false;
        };
        let info = String::from_utf8_lossy(&info).into_owned();
        let mut m = Client::new(
            std::net::TcpStream::connect(("127.0.0.1", master.port)).expect("connect master"),
        );
        // The master, too, must know it as its replica (a manual
        // failover's MFSTART from an unknown replica is ignored).
        let known_by_master = |me: &Line| {
            try_nodes_of(master.port).is_some_and(|lines| {
                lines
                    .iter()
                    .any(|l| l.id == me.id && !l.is_master() && l.master == master.id)
            })
        };
        me.is_some_and(|l| !l.is_master() && l.master == master.id && known_by_master(&l))
            && field(&info, "master_link_status").as_deref() == Some("up")
            && c.cmd("DBSIZE") == m.cmd("DBSIZE")
    });
}

/// The automatic failover of the master of `slot`, under a writing
/// client: the replica takes the slots in time, no acknowledged write is
/// lost, the old master returns as the new master's replica. Returns the
/// new master's port.
fn kill_master_and_check(nodes: &mut [Server], slot: u16, prefix: &str, limit: Duration) -> u16 {
    let ports: Vec<u16> = nodes.iter().map(|n| n.port).collect();
    let (master, replica) = shard_with_replica(&mut nodes[0].client(), slot);
    wait_synced_replica(replica.port, &master, Duration::from_secs(30));

    let writer = ClusterWriter::start(&ports, prefix);
    writer.wait_progress(2000, Duration::from_secs(30));
    std::thread::sleep(Duration::from_millis(1500));
    server_at(nodes, master.port).kill();
    let killed = Instant::now();
    let alive: Vec<u16> = ports
        .iter()
        .copied()
        .filter(|&p| p != master.port)
        .collect();
    let took = wait_owner_everywhere(
        &alive,
        slot,
        &replica.id,
        killed,
        Duration::from_millis(NODE_TIMEOUT_MS + 10_000),
    );
    assert!(took <= limit, "the replica took {took:?} to take over");
    let recovered = Instant::now();
    writer.wait_progress(1000, Duration::from_secs(20));

    // The old master comes back as a replica of the new one and syncs.
    server_at(nodes, master.port).restart();
    let writes = writer.stop();
    let new_master = nodes_of(&mut Client::new(
        std::net::TcpStream::connect(("127.0.0.1", replica.port)).expect("connect"),
    ))
    .into_iter()
    .find(Line::is_myself)
    .expect("myself");
    wait_synced_replica(master.port, &new_master, Duration::from_secs(60));

    let before = killed.checked_sub(Duration::from_secs(1)).expect("time");
    let checked = assert_readable(replica.port, &writes, |a| a.at < before || a.at > recovered);
    assert!(checked > 1000, "only {checked} writes checked");
    replica.port
}

#[test]
fn replica_takes_over_and_losing_a_whole_shard_takes_the_cluster_down() {
    let root = TempDir::new("failover");
    let mut nodes = six_node_cluster(root.path(), [Kind::Ferrodis; 6], NODE_TIMEOUT_MS);
    kill_master_and_check(
        &mut nodes,
        0,
        "auto",
        Duration::from_millis(NODE_TIMEOUT_MS + 2000),
    );

    // Kill a replica, then its master: no one can take the slots over.
    let (master, replica) = shard_with_replica(&mut nodes[0].client(), 16383);
    server_at(&mut nodes, replica.port).kill();
    std::thread::sleep(Duration::from_secs(1));
    server_at(&mut nodes, master.port).kill();
    let alive: Vec<u16> = nodes
        .iter()
        .map(|n| n.port)
        .filter(|&p| p != master.port && p != replica.port)
        .collect();
    for &p in &alive {
        let mut c = Client::new(std::net::TcpStream::connect(("127.0.0.1", p)).expect("connect"));
        wait_until(
            Duration::from_millis(3 * NODE_TIMEOUT_MS),
            "cluster_state:fail",
            || cluster_state(&mut c) == "fail",
        );
        assert_eq!(
            c.call(&["GET", "auto:1"]),
            Frame::Error("CLUSTERDOWN The cluster is down".into()),
            "node {p}"
        );
    }
    // With cluster-allow-reads-when-down, a live master serves reads.
    let mut any =
        Client::new(std::net::TcpStream::connect(("127.0.0.1", alive[0])).expect("connect"));
    let (m0, _) = shard_of(&mut any, 0);
    let key = (0..)
        .map(|i| format!("auto:{i}"))
        .find(|k| m0.owns(ferrodis_slots::key_slot(k.as_bytes()).get()))
        .expect("a key on a live master");
    let mut c = Client::new(std::net::TcpStream::connect(("127.0.0.1", m0.port)).expect("connect"));
    assert_eq!(
        c.call(&["CONFIG", "SET", "cluster-allow-reads-when-down", "yes"]),
        Frame::Simple("OK".into())
    );
    assert!(
        matches!(c.call(&["GET", &key]), Frame::Bulk(_)),
        "GET {key}"
    );
    assert_eq!(
        c.call(&["SET", &key, "x"]),
        Frame::Error("CLUSTERDOWN The cluster is down and only accepts read commands".into())
    );
}

#[test]
fn manual_failover_under_load_loses_no_acknowledged_write() {
    let root = TempDir::new("manual-failover");
    let nodes = six_node_cluster(root.path(), [Kind::Ferrodis; 6], MANUAL_NODE_TIMEOUT_MS);
    let ports: Vec<u16> = nodes.iter().map(|n| n.port).collect();
    let writer = ClusterWriter::start(&ports, "manual");
    writer.wait_progress(1000, Duration::from_secs(30));
    // As in Redis, masters vote about one master at most once per two
    // node timeouts, and a replica starts a new election at the earliest
    // four node timeouts after its last one: the rounds go round the
    // three shards, and wait where the last failover of the master or of
    // the replica is more recent.
    let mut last_vote_about: std::collections::HashMap<String, Instant> = Default::default();
    let mut last_election_of: std::collections::HashMap<String, Instant> = Default::default();
    let vote_spacing = Duration::from_millis(2 * MANUAL_NODE_TIMEOUT_MS + 500);
    let election_spacing = Duration::from_millis(4 * MANUAL_NODE_TIMEOUT_MS + 500);
    for round in 0..20 {
        let slot = [0, 5461, 10923][round % 3];
        let (master, replica) = shard_with_replica(&mut nodes[0].client(), slot);
        if let Some(at) = last_vote_about.get(&master.id) {
            std::thread::sleep(vote_spacing.saturating_sub(at.elapsed()));
        }
        if let Some(at) = last_election_of.get(&replica.id) {
            std::thread::sleep(election_spacing.saturating_sub(at.elapsed()));
        }
        wait_synced_replica(replica.port, &master, Duration::from_secs(30));
        // Voters refuse a node they still take for a master: every node
        // must know the replica as one (a former master says so in its
        // next pings).
        wait_until(
            Duration::from_secs(20),
            "the replica known everywhere",
            || {
                ports.iter().all(|&p| {
                    try_nodes_of(p).is_some_and(|lines| {
                        lines
                            .iter()
                            .any(|l| l.id == replica.id && l.master == master.id)
                    })
                })
            },
        );
        let mut c = Client::new(
            std::net::TcpStream::connect(("127.0.0.1", replica.port)).expect("connect"),
        );
        assert_eq!(
            c.call(&["CLUSTER", "FAILOVER"]),
            Frame::Simple("OK".into()),
            "round {round}"
        );
        last_vote_about.insert(master.id.clone(), Instant::now());
        last_election_of.insert(replica.id.clone(), Instant::now());
        wait_owner_everywhere(
            &ports,
            slot,
            &replica.id,
            Instant::now(),
            Duration::from_secs(20),
        );
        writer.wait_progress(300, Duration::from_secs(20));
    }
    let writes = writer.stop();
    let checked = assert_readable(ports[0], &writes, |_| true);
    assert!(checked > 5000, "only {checked} writes checked");
}

/// Ferrodis and Redis in one cluster: the shard of slot 0 is a Ferrodis
/// master with a Redis replica, the shard of slot 16383 a Redis master
/// with a Ferrodis replica; killing either master promotes the replica of
/// the other kind.
#[test]
fn mixed_cluster_fails_over_each_way() {
    let root = TempDir::new("mixed-failover");
    // Roles are set by hand (MEET, ADDSLOTSRANGE, REPLICATE) so that
    // each shard pairs the two kinds.
    let kinds = [
        Kind::Ferrodis,
        Kind::Ferrodis,
        Kind::Redis,
        Kind::Redis,
        Kind::Ferrodis,
        Kind::Redis,
    ];
    let mut nodes: Vec<Server> = kinds
        .iter()
        .enumerate()
        .map(|(i, &k)| start_node(k, &root.path().join(format!("node{i}")), NODE_TIMEOUT_MS))
        .collect();
    let ports: Vec<u16> = nodes.iter().map(|n| n.port).collect();
    let mut c0 = nodes[0].client();
    for &p in &ports[1..] {
        assert_eq!(
            c0.cmd(&format!("CLUSTER MEET 127.0.0.1 {p}")),
            Frame::Simple("OK".into())
        );
    }
    let ids: Vec<String> = nodes
        .iter()
        .map(|n| bulk_text(&mut n.client(), "CLUSTER MYID"))
        .collect();
    wait_until(
        Duration::from_secs(20),
        "all nodes to know each other",
        || nodes.iter().all(|n| nodes_of(&mut n.client()).len() == 6),
    );
    // Masters: node0 (Ferrodis), node1 (Ferrodis), node2 (Redis).
    for (i, range) in [(0usize, "0 5460"), (1, "5461 10922"), (2, "10923 16383")] {
        assert_eq!(
            nodes[i]
                .client()
                .cmd(&format!("CLUSTER ADDSLOTSRANGE {range}")),
            Frame::Simple("OK".into())
        );
    }
    wait_until(
        Duration::from_secs(20),
        "slot owners known everywhere",
        || {
            nodes.iter().all(|n| {
                nodes_of(&mut n.client())
                    .iter()
                    .filter(|l| !l.slots.is_empty())
                    .count()
                    == 3
            })
        },
    );
    // Replicas: node3 (Redis) of node0 (Ferrodis), node4 (Ferrodis) of
    // node2 (Redis), node5 (Redis) of node1 (Ferrodis).
    for (replica, master) in [(3usize, 0usize), (4, 2), (5, 1)] {
        assert_eq!(
            nodes[replica]
                .client()
                .cmd(&format!("CLUSTER REPLICATE {}", ids[master])),
            Frame::Simple("OK".into()),
            "node{replica} replicating node{master}"
        );
    }
    wait_cluster_ok(&nodes);

    // Slot 0: Ferrodis master, Redis replica.
    let new_port = kill_master_and_check(&mut nodes, 0, "mixed-a", MIXED_LIMIT);
    assert_eq!(new_port, ports[3]);
    // Slot 16383: Redis master, Ferrodis replica.
    let new_port = kill_master_and_check(&mut nodes, 16383, "mixed-b", MIXED_LIMIT);
    assert_eq!(new_port, ports[4]);
}
