//! A `ClusterNode` on real sockets joins a cluster of real `redis-server`
//! 7.0 nodes: it answers a MEET, completes the handshake both ways, learns a
//! node it never met from gossip (and that node learns it), and suspects a
//! node that was killed. With slots on every node, all agree on who serves
//! what and at which config epoch (colliding epochs separate), the cluster
//! turns ok, Pub/Sub crosses in both directions, and a killed master is
//! marked `fail` by our node and by the surviving real node alike. And
//! failover across implementations: real masters elect our replica, our
//! master votes for a real replica, and a real replica fails our master
//! over by hand (MFSTART, the PAUSED offset, FORCEACK).

mod support;

use ferrodis_bus::cluster::ClusterState;
use ferrodis_bus::cluster::{Action, ClusterNode, Config, LinkId};
use ferrodis_bus::{next_frame, NodeIp};
use ferrodis_slots::{NodeFlags, NodeId, Slot};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use support::{Redis, Reply, WAIT};

enum Event {
    Accepted(TcpStream),
    Data(LinkId, Vec<u8>),
    Closed(LinkId),
}

/// The I/O around a `ClusterNode`: a listener, a reader thread per
/// connection, and a loop that feeds events and ticks into the node.
struct Driver {
    node: ClusterNode,
    events: mpsc::Receiver<Event>,
    tx: mpsc::Sender<Event>,
    streams: BTreeMap<LinkId, TcpStream>,
    buffers: BTreeMap<LinkId, Vec<u8>>,
    last_tick: Instant,
    /// Pub/Sub messages other nodes sent us: channel, message, sharded.
    delivered: Vec<(Vec<u8>, Vec<u8>, bool)>,
    /// The failover actions the node asked for, in order.
    effects: Vec<Action>,
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn read_into(link: LinkId, mut stream: TcpStream, tx: mpsc::Sender<Event>) {
    thread::spawn(move || {
        let mut chunk = [0; 8192];
        loop {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => {
                    let _ = tx.send(Event::Closed(link));
                    return;
                }
                Ok(n) => {
                    if tx.send(Event::Data(link, chunk[..n].to_vec())).is_err() {
                        return;
                    }
                }
            }
        }
    });
}

impl Driver {
    fn start(id: NodeId, node_timeout_ms: u64) -> (Driver, u16) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let cport = listener.local_addr().unwrap().port();
        let (tx, events) = mpsc::channel();
        let accept_tx = tx.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                if accept_tx.send(Event::Accepted(stream)).is_err() {
                    return;
                }
            }
        });
        let node = ClusterNode::new(Config {
            node_timeout_ms,
            seed: 7,
            ..Config::new(id, cport.wrapping_sub(10000).max(1), cport)
        });
        let driver = Driver {
            node,
            events,
            tx,
            streams: BTreeMap::new(),
            buffers: BTreeMap::new(),
            last_tick: Instant::now(),
            delivered: Vec::new(),
            effects: Vec::new(),
        };
        (driver, cport)
    }

    fn apply(&mut self, actions: Vec<Action>) {
        let mut work: Vec<Action> = actions;
        while let Some(action) = work.pop() {
            match action {
                Action::Connect { link, ip, cport } => {
                    let addr = format!("{}:{cport}", String::from_utf8_lossy(ip.as_bytes()));
                    match TcpStream::connect(addr) {
                        Ok(stream) => {
                            read_into(link, stream.try_clone().unwrap(), self.tx.clone());
                            self.streams.insert(link, stream);
                            work.extend(self.node.on_connected(link, unix_ms()));
                        }
                        Err(_) => self.node.on_closed(link),
                    }
                }
                Action::Send { link, bytes } => {
                    if let Some(s) = self.streams.get_mut(&link) {
                        let _ = s.write_all(&bytes);
                    }
                }
                Action::Close { link } => {
                    if let Some(s) = self.streams.remove(&link) {
                        let _ = s.shutdown(std::net::Shutdown::Both);
                    }
                    self.buffers.remove(&link);
                }
                Action::Deliver {
                    channel,
                    message,
                    shard,
                } => self.delivered.push((channel, message, shard)),
                // The driver holds no data set: it only records them.
                Action::BecomeMaster
                | Action::ReplicateFrom { .. }
                | Action::PauseWrites { .. }
                | Action::ResumeWrites => self.effects.push(action),
            }
        }
    }

    /// Runs the node until `done` holds, or panics after `WAIT`.
    fn run_until(&mut self, what: &str, mut done: impl FnMut(&ClusterNode) -> bool) {
        let deadline = Instant::now() + WAIT;
        while !done(&self.node) {
            assert!(
                Instant::now() < deadline,
                "never: {what}; {:#?}",
                self.node.peers().collect::<Vec<_>>()
            );
            self.step();
        }
    }

    /// Runs the node until `done` holds for a real node's `CLUSTER NODES`
    /// line about node `id` (split in fields), or panics after `WAIT`.
    fn wait_line(
        &mut self,
        server: &Redis,
        id: &NodeId,
        what: &str,
        done: impl Fn(&[&str]) -> bool,
    ) -> String {
        let deadline = Instant::now() + WAIT;
        let id = id.to_string();
        loop {
            for _ in 0..5 {
                self.step();
            }
            let nodes = server.cmd(&["CLUSTER", "NODES"]).as_str();
            if let Some(line) = nodes.lines().find(|l| l.starts_with(&id)) {
                let fields: Vec<&str> = line.split(' ').collect();
                if done(&fields) {
                    return line.to_string();
                }
            }
            assert!(
                Instant::now() < deadline,
                "never: {what}\n{nodes}\nours: {:#?}",
                self.node.cluster_nodes()
            );
        }
    }

    /// Runs the node until a real node's `CLUSTER INFO` field has a value.
    fn wait_info(&mut self, server: &Redis, field: &str, value: &str) {
        let deadline = Instant::now() + WAIT;
        while server.cluster_info(field) != value {
            assert!(Instant::now() < deadline, "{field} never {value}");
            for _ in 0..5 {
                self.step();
            }
        }
    }

    fn step(&mut self) {
        match self.events.recv_timeout(Duration::from_millis(20)) {
            Ok(Event::Accepted(stream)) => {
                let peer = stream.peer_addr().unwrap().ip().to_string();
                let local = stream.local_addr().unwrap().ip().to_string();
                let link = self.node.on_accept(
                    NodeIp::new(peer.as_bytes()).unwrap(),
                    NodeIp::new(local.as_bytes()).unwrap(),
                    unix_ms(),
                );
                read_into(link, stream.try_clone().unwrap(), self.tx.clone());
                self.streams.insert(link, stream);
            }
            Ok(Event::Data(link, data)) => {
                let buf = self.buffers.entry(link).or_default();
                buf.extend_from_slice(&data);
                let mut frames = Vec::new();
                while let Some(frame) = next_frame(buf).expect("real nodes frame well") {
                    frames.push(frame.to_vec());
                    let len = frame.len();
                    buf.drain(..len);
                }
                for frame in frames {
                    let actions = self.node.on_message(link, &frame, unix_ms());
                    self.apply(actions);
                }
            }
            Ok(Event::Closed(link)) => {
                self.streams.remove(&link);
                self.buffers.remove(&link);
                self.node.on_closed(link);
            }
            Err(_) => {}
        }
        if self.last_tick.elapsed() >= Duration::from_millis(100) {
            self.last_tick = Instant::now();
            let actions = self.node.on_tick(unix_ms());
            self.apply(actions);
        }
    }
}

/// A node id as the state machine names it.
fn slots_id(id: ferrodis_bus::NodeId) -> NodeId {
    NodeId::from_bytes(id.as_bytes()).unwrap()
}

fn knows(node: &ClusterNode, id: NodeId) -> bool {
    node.node(&id).is_some_and(|p| !p.in_handshake())
}

#[test]
fn a_cluster_node_joins_real_redis_nodes() {
    let ours: NodeId = "c1a5000000000000000000000000000000000001".parse().unwrap();
    let (mut driver, cport) = Driver::start(ours, 2000);
    let a = Redis::start(&[]);
    let b = Redis::start(&[]);
    let (id_a, id_b) = (slots_id(a.id()), slots_id(b.id()));

    // A meets us: we answer its MEET, connect back, and both finish the
    // handshake with the other's real id.
    a.cmd(&[
        "CLUSTER",
        "MEET",
        "127.0.0.1",
        &driver.node.config().port.to_string(),
        &cport.to_string(),
    ])
    .ok();
    driver.run_until("we know A", |n| knows(n, id_a));
    let peer = driver.node.node(&id_a).unwrap();
    assert_eq!((peer.port, peer.cport), (a.port, a.bus_port));
    assert_eq!(peer.ip, "127.0.0.1");
    let ready = |f: &[&str]| f[2] == "master" && f[7] == "connected";
    let line = loop {
        driver.step();
        let nodes = a.cmd(&["CLUSTER", "NODES"]).as_str();
        if let Some(l) = nodes.lines().find(|l| l.starts_with(&ours.to_string())) {
            let f: Vec<&str> = l.split(' ').collect();
            if ready(&f) {
                break l.to_string();
            }
        }
    };
    assert!(line.contains(&format!("127.0.0.1:{}@{cport}", driver.node.config().port)));

    // B meets A only; we learn B from A's gossip and B learns us.
    a.cmd(&[
        "CLUSTER",
        "MEET",
        "127.0.0.1",
        &b.port.to_string(),
        &b.bus_port.to_string(),
    ])
    .ok();
    driver.run_until("we know B", |n| knows(n, id_b));
    loop {
        driver.step();
        let nodes = b.cmd(&["CLUSTER", "NODES"]).as_str();
        if nodes.lines().any(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            f[0] == ours.to_string() && ready(&f)
        }) {
            break;
        }
    }
    // We answer pings, so neither real node suspects us.
    for _ in 0..100 {
        driver.step();
    }
    for server in [&a, &b] {
        let nodes = server.cmd(&["CLUSTER", "NODES"]).as_str();
        let line = nodes
            .lines()
            .find(|l| l.starts_with(&ours.to_string()))
            .unwrap();
        assert!(!line.contains("fail"), "{line}");
    }

    // CLUSTER REPLICATE on our side: both real nodes learn that we are
    // A's replica, and A lists us among its replicas.
    driver.node.replicate(&id_a).unwrap();
    for server in [&a, &b] {
        driver.wait_line(server, &ours, "we are A's replica", |f| {
            f[2] == "slave" && f[3] == id_a.to_string()
        });
    }
    let replicas = a.cmd(&["CLUSTER", "REPLICAS", &id_a.to_string()]);
    match replicas {
        Reply::Array(lines) => {
            assert_eq!(lines.len(), 1);
            assert!(lines[0].as_str().starts_with(&ours.to_string()));
        }
        other => panic!("{other:?}"),
    }
    // And a real replica: C joins through us and replicates A too.
    let c = Redis::start(&[]);
    let id_c = slots_id(c.id());
    c.cmd(&[
        "CLUSTER",
        "MEET",
        "127.0.0.1",
        &port_text(&driver),
        &cport.to_string(),
    ])
    .ok();
    driver.run_until("we know C", |n| knows(n, id_c));
    let deadline = Instant::now() + WAIT;
    loop {
        driver.step();
        let nodes = c.cmd(&["CLUSTER", "NODES"]).as_str();
        if nodes.lines().filter(|l| !l.contains("handshake")).count() == 4 {
            break;
        }
        assert!(Instant::now() < deadline, "C never knew everyone:\n{nodes}");
    }
    c.cmd(&["CLUSTER", "REPLICATE", &id_a.to_string()]).ok();
    driver.run_until("C is A's replica", |n| {
        n.node(&id_c)
            .is_some_and(|c| c.is_replica() && c.replica_of == Some(id_a))
    });
    let ours_replicas: Vec<NodeId> = driver
        .node
        .replicas(&id_a)
        .unwrap()
        .iter()
        .map(|n| n.id)
        .collect();
    assert_eq!(ours_replicas, vec![ours, id_c]);

    // B dies: we suspect it after the node timeout.
    drop(b);
    driver.run_until("B suspected", |n| {
        n.node(&id_b).unwrap().flags.contains(NodeFlags::PFAIL)
            || n.node(&id_b).unwrap().flags.contains(NodeFlags::FAIL)
    });
    assert!(!driver.node.node(&id_a).unwrap().timed_out());
}

fn port_text(driver: &Driver) -> String {
    driver.node.config().port.to_string()
}

fn slots(range: std::ops::RangeInclusive<u16>) -> Vec<Slot> {
    range.map(|n| Slot::new(n).unwrap()).collect()
}

/// The config epoch a real node gives itself, from its own line.
fn own_epoch(server: &Redis) -> u64 {
    let nodes = server.cmd(&["CLUSTER", "NODES"]).as_str();
    let line = nodes.lines().find(|l| l.contains("myself")).unwrap();
    line.split(' ').nth(6).unwrap().parse().unwrap()
}

#[test]
fn slots_epochs_pubsub_and_failure_agree_with_real_redis_nodes() {
    let ours: NodeId = "c1a5000000000000000000000000000000000002".parse().unwrap();
    let (mut driver, cport) = Driver::start(ours, 1000);
    let timeout = ["--cluster-node-timeout", "1000"];
    let a = Redis::start(&timeout);
    let mut b = Redis::start(&timeout);
    let (id_a, id_b) = (slots_id(a.id()), slots_id(b.id()));

    // A third of the slots each, before anyone knows anyone: every config
    // epoch is 0.
    driver.node.add_slots(&slots(0..=5460)).unwrap();
    a.cmd(&["CLUSTER", "ADDSLOTSRANGE", "5461", "10922"]).ok();
    b.cmd(&["CLUSTER", "ADDSLOTSRANGE", "10923", "16383"]).ok();
    let port = driver.node.config().port.to_string();
    a.cmd(&["CLUSTER", "MEET", "127.0.0.1", &port, &cport.to_string()])
        .ok();
    a.cmd(&[
        "CLUSTER",
        "MEET",
        "127.0.0.1",
        &b.port.to_string(),
        &b.bus_port.to_string(),
    ])
    .ok();

    // Our slots, as the real nodes see them.
    for server in [&a, &b] {
        let line = driver.wait_line(server, &ours, "our slots known", |f| {
            f[2] == "master" && f[7] == "connected" && f.get(8) == Some(&"0-5460")
        });
        assert!(
            line.contains(&format!("127.0.0.1:{port}@{cport}")),
            "{line}"
        );
    }
    // Theirs, as we see them.
    driver.run_until("their slots known", |n| {
        let map = n.slot_map();
        map.owner(Slot::new(5461).unwrap()) == Some(&id_a)
            && map.owner(Slot::new(16383).unwrap()) == Some(&id_b)
            && map.covers_all()
    });
    assert_eq!(driver.node.slot_map().count_of(&id_a), 5462);
    assert_eq!(driver.node.myself().ip, "127.0.0.1", "learnt from the MEET");

    // clusterHandleConfigEpochCollision, across implementations: three
    // distinct config epochs, on which all three agree.
    let deadline = Instant::now() + WAIT;
    loop {
        for _ in 0..5 {
            driver.step();
        }
        let epochs = [driver.node.config_epoch(), own_epoch(&a), own_epoch(&b)];
        let distinct: std::collections::BTreeSet<u64> = epochs.iter().copied().collect();
        let we_agree = driver.node.node(&id_a).unwrap().config_epoch == epochs[1]
            && driver.node.node(&id_b).unwrap().config_epoch == epochs[2];
        let they_agree = [&a, &b].iter().all(|server| {
            let nodes = server.cmd(&["CLUSTER", "NODES"]).as_str();
            let line = nodes
                .lines()
                .find(|l| l.starts_with(&ours.to_string()))
                .unwrap_or_default()
                .to_string();
            line.split(' ').nth(6) == Some(&epochs[0].to_string())
        });
        if distinct.len() == 3 && we_agree && they_agree {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "epochs never settled: {epochs:?}"
        );
    }
    let greatest = own_epoch(&a)
        .max(own_epoch(&b))
        .max(driver.node.config_epoch());
    driver.run_until("current epoch caught up", |n| n.current_epoch() == greatest);

    // The cluster is ok everywhere.
    driver.wait_info(&a, "cluster_state", "ok");
    driver.wait_info(&b, "cluster_state", "ok");
    driver.run_until("we are ok", |n| n.state() == ClusterState::Ok);
    let info = driver.node.info();
    assert_eq!((info.known_nodes, info.size, info.slots_ok), (3, 3, 16384));
    assert_eq!(a.cluster_info("cluster_known_nodes"), "3");

    // Pub/Sub: a real PUBLISH reaches us; ours reaches a real subscriber.
    let mut subscriber = b.client();
    let reply = subscriber.cmd(&["SUBSCRIBE", "news"]);
    assert!(matches!(reply, Reply::Array(_)), "{reply:?}");
    a.cmd(&["PUBLISH", "weather", "sunny"]);
    let deadline = Instant::now() + WAIT;
    while driver.delivered.is_empty() {
        assert!(Instant::now() < deadline, "no PUBLISH from A");
        driver.step();
    }
    assert_eq!(
        driver.delivered[0],
        (b"weather".to_vec(), b"sunny".to_vec(), false)
    );
    let actions = driver.node.publish(b"news", b"from ferrodis");
    driver.apply(actions);
    let message = subscriber.read();
    assert_eq!(
        message,
        Reply::Array(vec![
            Reply::Bulk(Some(b"message".to_vec())),
            Reply::Bulk(Some(b"news".to_vec())),
            Reply::Bulk(Some(b"from ferrodis".to_vec())),
        ])
    );

    // B dies (SIGKILL): both we and A agree it failed, and the cluster
    // fails with its slots.
    b.kill();
    driver.run_until("B failed on our side", |n| n.node(&id_b).unwrap().failed());
    driver.wait_line(&a, &id_b, "B failed on A", |f| {
        f[2].split(',').any(|flag| flag == "fail")
    });
    let ours_line = driver
        .node
        .cluster_nodes()
        .into_iter()
        .find(|l| l.id == id_b)
        .unwrap();
    assert!(ours_line.flags.contains(NodeFlags::FAIL), "{ours_line}");
    assert!(!ours_line.flags.contains(NodeFlags::PFAIL));
    assert!(!driver.node.node(&id_a).unwrap().timed_out());
    driver.run_until("we fail", |n| n.state() == ClusterState::Fail);
    driver.wait_info(&a, "cluster_state", "fail");
    assert_eq!(driver.node.info().slots_fail, 16384 - 10923);
}

/// clusterHandleSlaveFailover across implementations: our node replicates
/// real master A; A dies; the real masters B and C flag it FAIL and vote
/// for us (FAILOVER_AUTH_REQUEST / ACK on the wire); we take A's slots with
/// a new config epoch, and both real nodes route them to us.
#[test]
fn real_redis_masters_elect_our_replica_when_its_master_dies() {
    let ours: NodeId = "c1a5000000000000000000000000000000000003".parse().unwrap();
    let (mut driver, cport) = Driver::start(ours, 1000);
    let timeout = ["--cluster-node-timeout", "1000"];
    let mut a = Redis::start(&timeout);
    let b = Redis::start(&timeout);
    let c = Redis::start(&timeout);
    let id_a = slots_id(a.id());
    a.cmd(&["CLUSTER", "ADDSLOTSRANGE", "0", "5460"]).ok();
    b.cmd(&["CLUSTER", "ADDSLOTSRANGE", "5461", "10922"]).ok();
    c.cmd(&["CLUSTER", "ADDSLOTSRANGE", "10923", "16383"]).ok();
    let port = driver.node.config().port.to_string();
    a.cmd(&["CLUSTER", "MEET", "127.0.0.1", &port, &cport.to_string()])
        .ok();
    for other in [&b, &c] {
        a.cmd(&[
            "CLUSTER",
            "MEET",
            "127.0.0.1",
            &other.port.to_string(),
            &other.bus_port.to_string(),
        ])
        .ok();
    }
    driver.run_until("every slot known", |n| {
        n.slot_map().covers_all() && n.peers().filter(|p| !p.in_handshake()).count() == 3
    });
    driver.node.replicate(&id_a).unwrap();
    for server in [&b, &c] {
        driver.wait_line(server, &ours, "we are A's replica", |f| {
            f[2] == "slave" && f[3] == id_a.to_string() && f[7] == "connected"
        });
    }
    driver.wait_info(&b, "cluster_state", "ok");
    driver.wait_info(&c, "cluster_state", "ok");
    let before = own_epoch(&b).max(own_epoch(&c)).max(own_epoch(&a));

    a.kill();
    driver.run_until("we are elected", |n| n.myself().is_master());
    assert!(driver.node.config_epoch() > before);
    assert_eq!(driver.node.myself().slot_count(), 5461);
    for server in [&b, &c] {
        let line = driver.wait_line(server, &ours, "we serve A's slots", |f| {
            f[2] == "master" && f.get(8) == Some(&"0-5460")
        });
        assert_eq!(
            line.split(' ').nth(6),
            Some(driver.node.config_epoch().to_string().as_str()),
            "{line}"
        );
        driver.wait_line(server, &id_a, "A failed, without slots", |f| {
            f[2].split(',').any(|flag| flag == "fail") && f.len() == 8
        });
    }
    driver.wait_info(&b, "cluster_state", "ok");
    driver.wait_info(&c, "cluster_state", "ok");
    assert!(b.log().contains("Failover auth granted to"), "{}", b.log());
}

/// clusterSendFailoverAuthIfNeeded across implementations: a real replica
/// R of real master B asks for votes when B dies; our node (a master
/// serving slots) votes for it with the real master C, and routes B's
/// slots to R once it takes them.
#[test]
fn our_master_votes_for_a_real_replica_when_its_master_dies() {
    let ours: NodeId = "c1a5000000000000000000000000000000000004".parse().unwrap();
    let (mut driver, cport) = Driver::start(ours, 1000);
    let timeout = ["--cluster-node-timeout", "1000"];
    let mut b = Redis::start(&timeout);
    let c = Redis::start(&timeout);
    let r = Redis::start(&timeout);
    let (id_b, id_r) = (slots_id(b.id()), slots_id(r.id()));
    driver.node.add_slots(&slots(0..=5460)).unwrap();
    b.cmd(&["CLUSTER", "ADDSLOTSRANGE", "5461", "10922"]).ok();
    c.cmd(&["CLUSTER", "ADDSLOTSRANGE", "10923", "16383"]).ok();
    let port = driver.node.config().port.to_string();
    b.cmd(&["CLUSTER", "MEET", "127.0.0.1", &port, &cport.to_string()])
        .ok();
    for other in [&c, &r] {
        b.cmd(&[
            "CLUSTER",
            "MEET",
            "127.0.0.1",
            &other.port.to_string(),
            &other.bus_port.to_string(),
        ])
        .ok();
    }
    driver.run_until("every node and slot known", |n| {
        n.slot_map().covers_all() && n.peers().filter(|p| !p.in_handshake()).count() == 3
    });
    // R must know B before it can replicate it.
    let deadline = Instant::now() + WAIT;
    while !r
        .cmd(&["CLUSTER", "NODES"])
        .as_str()
        .contains(&id_b.to_string())
    {
        assert!(Instant::now() < deadline, "R never knew B");
        driver.step();
    }
    r.cmd(&["CLUSTER", "REPLICATE", &id_b.to_string()]).ok();
    driver.run_until("R is B's replica", |n| {
        n.node(&id_r)
            .is_some_and(|p| p.is_replica() && p.replica_of == Some(id_b))
    });
    driver.wait_info(&r, "cluster_state", "ok");
    driver.run_until("we are ok", |n| n.state() == ClusterState::Ok);
    let deadline = Instant::now() + WAIT;
    while r.info("replication", "master_link_status") != "up" {
        assert!(Instant::now() < deadline, "R never synced with B");
        driver.step();
    }

    b.kill();
    driver.run_until("R took B's slots", |n| {
        n.slot_owner(Slot::new(5461).unwrap())
            .is_some_and(|o| o.id == id_r)
    });
    assert!(driver.node.last_vote_epoch() > 0, "we voted");
    assert!(r.log().contains("Failover election won"), "{}", r.log());
    assert!(driver.node.node(&id_r).unwrap().is_master());
    driver.run_until("we are ok again", |n| n.state() == ClusterState::Ok);
}

/// Manual failover across implementations: a real replica R of our master
/// runs `CLUSTER FAILOVER`; its MFSTART reaches us, we pause writes and
/// report our offset flagged PAUSED; R, at that offset, is elected by the
/// real masters with FORCEACK; we find our slots served at a greater config
/// epoch, turn into R's replica and resume writes.
#[test]
fn a_real_replica_fails_our_master_over_by_hand() {
    let ours: NodeId = "c1a5000000000000000000000000000000000005".parse().unwrap();
    let (mut driver, cport) = Driver::start(ours, 1000);
    let timeout = ["--cluster-node-timeout", "1000"];
    let b = Redis::start(&timeout);
    let c = Redis::start(&timeout);
    let r = Redis::start(&timeout);
    let id_r = slots_id(r.id());
    driver.node.add_slots(&slots(0..=5460)).unwrap();
    b.cmd(&["CLUSTER", "ADDSLOTSRANGE", "5461", "10922"]).ok();
    c.cmd(&["CLUSTER", "ADDSLOTSRANGE", "10923", "16383"]).ok();
    let port = driver.node.config().port.to_string();
    for server in [&b, &c, &r] {
        server
            .cmd(&["CLUSTER", "MEET", "127.0.0.1", &port, &cport.to_string()])
            .ok();
    }
    driver.run_until("every node and slot known", |n| {
        n.slot_map().covers_all() && n.peers().filter(|p| !p.in_handshake()).count() == 3
    });
    let deadline = Instant::now() + WAIT;
    while !r
        .cmd(&["CLUSTER", "NODES"])
        .as_str()
        .contains(&ours.to_string())
    {
        assert!(Instant::now() < deadline, "R never knew us");
        driver.step();
    }
    r.cmd(&["CLUSTER", "REPLICATE", &ours.to_string()]).ok();
    driver.run_until("R is our replica", |n| {
        n.node(&id_r)
            .is_some_and(|p| p.is_replica() && p.replica_of == Some(ours))
    });
    driver.wait_info(&r, "cluster_state", "ok");
    for _ in 0..20 {
        driver.step();
    }

    let reply = r.cmd(&["CLUSTER", "FAILOVER"]);
    assert_eq!(reply, Reply::Simple("OK".into()));
    driver.run_until("R took our slots", |n| {
        n.slot_owner(Slot::new(0).unwrap())
            .is_some_and(|o| o.id == id_r)
    });
    driver.run_until("we follow R", |n| n.myself().replica_of == Some(id_r));
    assert!(
        matches!(driver.effects.first(), Some(Action::PauseWrites { .. })),
        "{:?}",
        driver.effects
    );
    assert!(driver.effects.contains(&Action::ResumeWrites));
    assert!(driver.effects.iter().any(
        |a| matches!(a, Action::ReplicateFrom { id, port, .. } if *id == id_r && *port == r.port)
    ));
    let log = r.log();
    assert!(
        log.contains("Received replication offset for paused master manual failover"),
        "{log}"
    );
    assert!(log.contains("Failover election won"), "{log}");
}
