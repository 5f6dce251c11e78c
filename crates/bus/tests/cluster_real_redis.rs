//! A `ClusterNode` on real sockets joins a cluster of real `redis-server`
//! 7.0 nodes: it answers a MEET, completes the handshake both ways, learns a
//! node it never met from gossip (and that node learns it), and suspects a
//! node that was killed.

mod support;

use ferrodis_bus::cluster::{Action, ClusterNode, Config, LinkId};
use ferrodis_bus::{next_frame, NodeIp};
use ferrodis_slots::{NodeFlags, NodeId};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use support::{Redis, WAIT};

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
    fn start(id: NodeId) -> (Driver, u16) {
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
            node_timeout_ms: 2000,
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
                Action::Deliver { .. } => {}
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
    let (mut driver, cport) = Driver::start(ours);
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

    // B dies: we suspect it after the node timeout.
    drop(b);
    driver.run_until("B suspected", |n| {
        n.node(&id_b).unwrap().flags.contains(NodeFlags::PFAIL)
            || n.node(&id_b).unwrap().flags.contains(NodeFlags::FAIL)
    });
    assert!(!driver.node.node(&id_a).unwrap().timed_out());
}
