//! Byte compatibility with a real Redis 7.0 cluster node.
//!
//! Each test starts `redis-server` processes in cluster mode and a fake node
//! made of a TCP listener and this crate's codec. The real nodes MEET the
//! fake one, which decodes what they send, checks the fields against what the
//! servers report about themselves (`CLUSTER MYID`, `CLUSTER INFO`, `CLUSTER
//! NODES`), answers with messages it encodes, and checks through `CLUSTER
//! NODES` that the real nodes understood them. Every message received is
//! also encoded again and compared with the bytes that arrived.
//!
//! With `FERRODIS_BUS_WRITE_FIXTURES=1` the tests also write the captures
//! that `tests/fixtures.rs` decodes without a server.

mod support;

use ferrodis_bus::{
    encode, Body, ClusterState, Epoch, Gossip, Message, MessageFlags, MessageType, NodeFlags,
    NodeId, NodeIp, PingBody, PingExt, ReplOffset, SlotBitmap,
};
use std::time::{SystemTime, UNIX_EPOCH};
use support::{maybe_write_fixture, Captured, FakeNode, Redis, Reply};

/// The fake node's id.
fn fake_id(n: u8) -> NodeId {
    format!("fa4e{:036}", n).parse().unwrap()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Every message the fake node received re-encodes to the bytes that came.
fn assert_all_round_trip(fake: &FakeNode) {
    assert!(!fake.log.is_empty());
    for c in &fake.log {
        assert_eq!(
            encode(&c.message).unwrap(),
            c.bytes,
            "re-encoding {:?} from connection {}",
            c.message.kind(),
            c.conn
        );
    }
}

fn from(id: NodeId, kind: MessageType) -> impl Fn(&Captured) -> bool {
    move |c| c.message.header.sender == id && c.message.kind() == kind
}

/// Connects `a` to `b` and waits until each knows the other.
fn meet(a: &Redis, b: &Redis) {
    a.cmd(&[
        "CLUSTER",
        "MEET",
        "127.0.0.1",
        &b.port.to_string(),
        &b.bus_port.to_string(),
    ])
    .ok();
    let connected = |f: &[&str]| !f[2].contains("handshake") && f[7] == "connected";
    a.wait_node_line(&b.id(), connected);
    b.wait_node_line(&a.id(), connected);
}

#[test]
fn meet_from_a_real_node_decodes_and_our_pong_completes_the_handshake() {
    let a = Redis::start(&[]);
    a.cmd(&["CLUSTER", "ADDSLOTSRANGE", "0", "99"]).ok();
    a.cmd(&["CLUSTER", "ADDSLOTS", "5000"]).ok();
    assert_eq!(a.cmd(&["CLUSTER", "BUMPEPOCH"]).as_str(), "BUMPED 1");
    let id_a = a.id();

    let ours = fake_id(1);
    let mut fake = FakeNode::start(ours, 7999);
    fake.header.lock().unwrap().slots = (16000..=16383).collect();
    a.cmd(&[
        "CLUSTER",
        "MEET",
        "127.0.0.1",
        "7999",
        &fake.bus_port.to_string(),
    ])
    .ok();

    let meet = fake.wait_for("MEET", from(id_a, MessageType::Meet));
    let h = &meet.message.header;
    assert_eq!(h.sender, id_a);
    assert_eq!(h.port, a.port);
    assert_eq!(h.cport, a.bus_port);
    assert_eq!(h.pport, 0, "no TLS: no separate plaintext port");
    assert_eq!(h.current_epoch, Epoch(1));
    assert_eq!(h.config_epoch, Epoch(1));
    assert_eq!(a.cluster_info("cluster_current_epoch"), "1");
    assert_eq!(a.cluster_info("cluster_my_epoch"), "1");
    let offset: u64 = a.info("replication", "master_repl_offset").parse().unwrap();
    assert_eq!(h.offset, ReplOffset(offset));
    let expected_slots: SlotBitmap = (0..=99).chain([5000]).collect();
    assert_eq!(h.slots, expected_slots);
    assert_eq!(h.replicaof, NodeId::NULL);
    assert_eq!(h.ip, NodeIp::EMPTY, "no cluster-announce-ip");
    assert_eq!(h.flags, NodeFlags::MASTER | NodeFlags::MYSELF);
    assert_eq!(a.cluster_info("cluster_state"), "fail");
    assert_eq!(h.state, ClusterState::FAIL);
    assert_eq!(h.mflags, MessageFlags::NONE);
    // Only itself and the node in handshake: nothing to gossip about.
    assert_eq!(meet.message.body, Body::Meet(PingBody::default()));
    assert_eq!(encode(&meet.message).unwrap(), meet.bytes);
    maybe_write_fixture("meet.bin", &meet.bytes);

    // Our PONG renames the handshake node to our id; the PONG answering
    // the next PING makes it bind the slots we claim.
    let line = a.wait_node_line(&ours, |f| {
        f[2] == "master" && f.get(8) == Some(&"16000-16383")
    });
    let fields: Vec<&str> = line.split(' ').collect();
    assert_eq!(fields[1], format!("127.0.0.1:7999@{}", fake.bus_port));
    assert_eq!(fields[3], "-");
    assert_eq!(fields[7], "connected");
    assert_eq!(fields.len(), 9, "{line}");

    // A PING after the handshake.
    fake.wait_for("PING", from(id_a, MessageType::Ping));
    assert_all_round_trip(&fake);
}

#[test]
fn gossip_and_hostname_from_two_real_nodes_round_trip() {
    let a = Redis::start(&["--cluster-announce-hostname", "a.bus.test"]);
    let b = Redis::start(&[]);
    a.cmd(&["CLUSTER", "ADDSLOTSRANGE", "0", "8191"]).ok();
    b.cmd(&["CLUSTER", "ADDSLOTSRANGE", "8192", "16383"]).ok();
    meet(&a, &b);
    let (id_a, id_b) = (a.id(), b.id());

    let ours = fake_id(2);
    let mut fake = FakeNode::start(ours, 7998);
    a.cmd(&[
        "CLUSTER",
        "MEET",
        "127.0.0.1",
        "7998",
        &fake.bus_port.to_string(),
    ])
    .ok();

    // A knows itself, B and us: its MEET and PINGs gossip about one of B and
    // us, picked at random, and carry its hostname.
    let meet = fake.wait_for("MEET", from(id_a, MessageType::Meet));
    let ping = meet.message.body.ping().unwrap();
    assert!(ping.gossip.len() <= 1);
    assert_eq!(
        ping.extensions,
        vec![PingExt::Hostname(b"a.bus.test".to_vec())]
    );
    assert!(meet.message.header.mflags.contains(MessageFlags::EXT_DATA));
    assert_eq!(
        meet.bytes.len(),
        2256 + 104 * ping.gossip.len() + 8 + 16,
        "a.bus.test, its NUL and 5 bytes of padding"
    );
    assert_eq!(encode(&meet.message).unwrap(), meet.bytes);
    let about_b = fake.wait_for("gossip about B", |c| {
        c.message.header.sender == id_a
            && c.message
                .body
                .ping()
                .is_some_and(|p| p.gossip.iter().any(|g| g.node == id_b))
    });
    let g = about_b
        .message
        .body
        .ping()
        .unwrap()
        .gossip
        .iter()
        .find(|g| g.node == id_b)
        .unwrap();
    assert_eq!(g.ip, NodeIp::new(b"127.0.0.1").unwrap());
    assert_eq!(g.port, b.port);
    assert_eq!(g.cport, b.bus_port);
    assert_eq!(g.pport, 0);
    assert_eq!(g.flags, NodeFlags::MASTER);
    assert!(u64::from(g.pong_received).abs_diff(unix_now()) < 60);
    maybe_write_fixture("gossip_hostname.bin", &about_b.bytes);

    // B hears of us in A's gossip and meets us itself; both then ping us
    // with gossip sections.
    let gossip_about = |sender: NodeId, about: NodeId| {
        move |c: &Captured| {
            c.message.header.sender == sender
                && c.message.kind() == MessageType::Ping
                && c.message
                    .body
                    .ping()
                    .is_some_and(|p| p.gossip.iter().any(|g| g.node == about))
        }
    };
    let ping_b = fake.wait_for("PING from B about A", gossip_about(id_b, id_a));
    assert!(ping_b.message.body.ping().unwrap().extensions.is_empty());
    maybe_write_fixture("ping_gossip.bin", &ping_b.bytes);
    fake.wait_for("PING from A about us", gossip_about(id_a, ours));
    b.wait_node_line(&ours, |f| f[2] == "master" && f[7] == "connected");
    assert_all_round_trip(&fake);
}

#[test]
fn publish_pong_update_fail_and_votes_from_a_real_node() {
    let a = Redis::start(&[]);
    let mut b = Redis::start(&[]);
    a.cmd(&["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]).ok();
    assert_eq!(a.cmd(&["CLUSTER", "BUMPEPOCH"]).as_str(), "BUMPED 1");
    meet(&a, &b);
    let (id_a, id_b) = (a.id(), b.id());

    let ours = fake_id(3);
    let mut fake = FakeNode::start(ours, 7997);
    a.cmd(&[
        "CLUSTER",
        "MEET",
        "127.0.0.1",
        "7997",
        &fake.bus_port.to_string(),
    ])
    .ok();
    let conn = fake.wait_for("MEET", from(id_a, MessageType::Meet)).conn;
    a.wait_node_line(&ours, |f| f[2] == "master" && f[7] == "connected");

    // PUBLISH goes to every node.
    assert_eq!(
        a.cmd(&["PUBLISH", "news", "hello bus"]),
        Reply::Int(0),
        "no subscribers"
    );
    let publish = fake.wait_for("PUBLISH", from(id_a, MessageType::Publish));
    assert_eq!(
        publish.message.body,
        Body::Publish {
            channel: b"news".to_vec(),
            message: b"hello bus".to_vec()
        }
    );
    maybe_write_fixture("publish.bin", &publish.bytes);

    // Our PING gets a PONG.
    fake.send(conn, Body::Ping(PingBody::default()));
    let pong = fake.wait_for("PONG", from(id_a, MessageType::Pong));
    assert_eq!(pong.conn, conn);
    maybe_write_fixture("pong.bin", &pong.bytes);

    // Claiming a slot A serves at a newer config epoch gets an UPDATE.
    fake.header.lock().unwrap().slots = [5].into_iter().collect();
    fake.send(conn, Body::Ping(PingBody::default()));
    let update = fake.wait_for("UPDATE", from(id_a, MessageType::Update));
    assert_eq!(
        update.message.body,
        Body::Update {
            config_epoch: Epoch(1),
            node: id_a,
            slots: (0..=16383).collect()
        }
    );
    maybe_write_fixture("update.bin", &update.bytes);
    fake.header.lock().unwrap().slots = SlotBitmap::new();

    // B stops answering. A suspects it, and declares it failed once a master
    // (us) reports it in a gossip entry we encode; then A tells every node.
    b.kill();
    a.wait_node_line(&id_b, |f| f[2] == "master,fail?");
    let report = Gossip {
        node: id_b,
        ip: NodeIp::new(b"127.0.0.1").unwrap(),
        port: b.port,
        cport: b.bus_port,
        flags: NodeFlags::MASTER | NodeFlags::PFAIL,
        ..Gossip::default()
    };
    fake.send(
        conn,
        Body::Ping(PingBody {
            gossip: vec![report],
            extensions: vec![],
        }),
    );
    let fail = fake.wait_for("FAIL", from(id_a, MessageType::Fail));
    assert_eq!(fail.message.body, Body::Fail { node: id_b });
    maybe_write_fixture("fail.bin", &fail.bytes);
    a.wait_node_line(&id_b, |f| f[2] == "master,fail");

    // We become A's replica: A then sends us the sharded messages of its
    // shard.
    {
        let mut h = fake.header.lock().unwrap();
        h.flags = NodeFlags::REPLICA;
        h.replicaof = id_a;
        h.slots = (0..=16383).collect();
        h.config_epoch = Epoch(1);
    }
    fake.send(conn, Body::Ping(PingBody::default()));
    a.wait_node_line(&ours, |f| f[2] == "slave" && f[3] == id_a.to_string());
    let deadline = std::time::Instant::now() + support::WAIT;
    while a.cluster_info("cluster_state") != "ok" {
        assert!(std::time::Instant::now() < deadline, "cluster never ok");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(a.cmd(&["SPUBLISH", "news", "sharded"]), Reply::Int(0));
    let spublish = fake.wait_for("PUBLISHSHARD", from(id_a, MessageType::PublishShard));
    assert_eq!(
        spublish.message.body,
        Body::PublishShard {
            channel: b"news".to_vec(),
            message: b"sharded".to_vec()
        }
    );
    maybe_write_fixture("publishshard.bin", &spublish.bytes);

    // And, asked for a forced vote in a newer epoch, A votes for us.
    let epoch: u64 = a.cluster_info("cluster_current_epoch").parse().unwrap();
    {
        let mut h = fake.header.lock().unwrap();
        h.current_epoch = Epoch(epoch + 1);
        h.mflags = MessageFlags::FORCEACK;
    }
    fake.send(conn, Body::FailoverAuthRequest);
    let ack = fake.wait_for(
        "FAILOVER_AUTH_ACK",
        from(id_a, MessageType::FailoverAuthAck),
    );
    assert_eq!(ack.message.header.current_epoch, Epoch(epoch + 1));
    maybe_write_fixture("failover_auth_ack.bin", &ack.bytes);
    assert_eq!(
        a.cluster_info("cluster_current_epoch"),
        (epoch + 1).to_string()
    );
    assert_all_round_trip(&fake);
}

#[test]
fn failover_requests_from_real_replicas() {
    let a = Redis::start(&[]);
    let b = Redis::start(&[]);
    let c = Redis::start(&[]);
    a.cmd(&["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]).ok();
    meet(&a, &b);
    meet(&a, &c);
    let (id_a, id_b, id_c) = (a.id(), b.id(), c.id());

    let ours = fake_id(4);
    let mut fake = FakeNode::start(ours, 7996);
    a.cmd(&[
        "CLUSTER",
        "MEET",
        "127.0.0.1",
        "7996",
        &fake.bus_port.to_string(),
    ])
    .ok();
    let known = |f: &[&str]| f[2] == "master" && f[7] == "connected";
    a.wait_node_line(&ours, known);
    b.wait_node_line(&ours, known);
    c.wait_node_line(&ours, known);

    // B, a replica of A, forces a failover: it asks every node for a vote.
    b.cmd(&["CLUSTER", "REPLICATE", &id_a.to_string()]).ok();
    b.wait_node_line(&id_b, |f| f[2] == "myself,slave");
    b.cmd(&["CLUSTER", "FAILOVER", "FORCE"]).ok();
    let request = fake.wait_for(
        "FAILOVER_AUTH_REQUEST",
        from(id_b, MessageType::FailoverAuthRequest),
    );
    let h = &request.message.header;
    assert!(h.mflags.contains(MessageFlags::FORCEACK));
    assert_eq!(h.replicaof, id_a);
    assert!(h.flags.contains(NodeFlags::REPLICA | NodeFlags::MYSELF));
    assert_eq!(h.slots.count(), 16384, "a replica sends its master's slots");
    maybe_write_fixture("failover_auth_request.bin", &request.bytes);

    // C, a replica of ours, asks us to start a manual failover.
    c.cmd(&["CLUSTER", "REPLICATE", &ours.to_string()]).ok();
    c.wait_node_line(&id_c, |f| f[2] == "myself,slave");
    c.cmd(&["CLUSTER", "FAILOVER"]).ok();
    let mfstart = fake.wait_for("MFSTART", from(id_c, MessageType::MfStart));
    assert_eq!(mfstart.message.header.replicaof, ours);
    maybe_write_fixture("mfstart.bin", &mfstart.bytes);
    assert_all_round_trip(&fake);
}

#[test]
fn a_stream_of_real_messages_frames_in_any_chunking() {
    // The captures of a real node, concatenated, split at every offset.
    let a = Redis::start(&[]);
    let ours = fake_id(5);
    let mut fake = FakeNode::start(ours, 7995);
    a.cmd(&[
        "CLUSTER",
        "MEET",
        "127.0.0.1",
        "7995",
        &fake.bus_port.to_string(),
    ])
    .ok();
    let id_a = a.id();
    fake.wait_for("MEET", from(id_a, MessageType::Meet));
    fake.wait_for("PING", from(id_a, MessageType::Ping));
    let stream: Vec<u8> = fake.log.iter().flat_map(|c| c.bytes.clone()).collect();
    let expected: Vec<Message> = fake.log.iter().map(|c| c.message.clone()).collect();
    for cut in (0..stream.len()).step_by(97) {
        let mut buf = stream[..cut].to_vec();
        let mut rest = &stream[cut..];
        let mut got = Vec::new();
        loop {
            while let Some(frame) = ferrodis_bus::next_frame(&buf).unwrap() {
                let len = frame.len();
                got.push(ferrodis_bus::decode(frame).unwrap());
                buf.drain(..len);
            }
            if rest.is_empty() {
                break;
            }
            buf.extend_from_slice(rest);
            rest = &[];
        }
        assert_eq!(got, expected, "cut at {cut}");
        assert!(buf.is_empty());
    }
}
