//! The handshake, addresses, gossip and the ping schedule.

use super::*;
use crate::MessageType;

#[test]
fn cluster_start_handshake_normalises_and_refuses_bad_addresses() {
    let mut h = Harness::new();
    let err = h.node.meet("10.0.0", 7000, 17000, h.now).unwrap_err();
    assert_eq!(
        err.to_string(),
        "ERR Invalid node address specified: 10.0.0:7000"
    );
    assert!(h.node.meet("10.0.0.2", 0, 17000, h.now).is_err());
    assert!(h.node.meet("10.0.0.2", 7000, 65536, h.now).is_err());
    h.node.meet("0:0::1", 7000, 17000, h.now).unwrap();
    // clusterHandshakeInProgress: the same address twice is one handshake.
    h.node.meet("::1", 7000, 17000, h.now).unwrap();
    let peers: Vec<&Node> = h.node.peers().collect();
    assert_eq!(peers.len(), 1);
    assert_eq!(peers[0].ip, "::1");
    assert!(peers[0]
        .flags
        .contains(NodeFlags::HANDSHAKE | NodeFlags::MEET));
}

#[test]
fn handshake_renames_the_node_with_the_id_of_its_first_pong() {
    let mut h = Harness::new();
    let b = Fake::new(2).replica_of(&Fake::new(9));
    h.node.meet(&b.ip(), 7002, 17002, h.now).unwrap();
    let out = h.tick();
    let link = connect_of(&out).unwrap();
    assert!(matches!(&out[0], Action::Connect { cport: 17002, .. }));
    // clusterLinkConnectHandler: MEET first, then the flag is gone.
    let out = h.node.on_connected(link, h.now);
    assert_eq!(sent(&out)[0].1.kind(), MessageType::Meet);
    let handshake = h.node.peers().next().unwrap().clone();
    assert!(!handshake.flags.contains(NodeFlags::MEET));
    assert_ne!(handshake.id, b.id());

    h.node.on_message(link, &b.pong(vec![]), h.now);
    let node = h.node.node(&b.id()).unwrap();
    assert_eq!(node.flags, NodeFlags::REPLICA, "role from the header flags");
    assert_eq!(node.link, Some(link));
    assert_eq!(node.pong_received, h.now);
    assert!(h.node.node(&handshake.id).is_none());
    // The first PONG is not yet from a known sender: its master is
    // learnt from the next message.
    assert_eq!(node.replica_of, None);
}

#[test]
fn a_meet_from_a_stranger_adds_it_in_handshake_and_teaches_our_address() {
    let mut h = Harness::new();
    assert_eq!(h.node.myself().ip, "");
    let b = Fake::new(2);
    let inbound = h.node.on_accept(ip("10.0.0.2"), ip("10.0.0.1"), h.now);
    let out = h.node.on_message(inbound, &b.meet(), h.now);
    // Anyway reply with a PONG.
    let replies = sent(&out);
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].1.kind(), MessageType::Pong);
    assert_eq!(h.node.myself().ip, "10.0.0.1");
    assert_eq!(h.node.take_save_request(), Some(Save::Later));
    let stranger = h.node.peers().next().unwrap();
    assert!(stranger.in_handshake());
    assert!(
        !stranger.flags.contains(NodeFlags::MEET),
        "we PING, not MEET"
    );
    assert_eq!(
        (stranger.ip.as_str(), stranger.port, stranger.cport),
        ("10.0.0.2", 7002, 17002)
    );
    // An announced address wins over the connection's.
    let mut h = Harness::new();
    let mut c = Fake::new(3);
    c.header.ip = ip("192.168.1.3");
    let inbound = h.node.on_accept(ip("10.0.0.3"), ip("10.0.0.1"), h.now);
    h.node.on_message(inbound, &c.meet(), h.now);
    assert_eq!(h.node.peers().next().unwrap().ip, "192.168.1.3");
}

#[test]
fn an_announced_ip_is_never_replaced() {
    let mut h = Harness::with(Config {
        ip: "192.168.0.1".into(),
        ..config(1)
    });
    let b = Fake::new(2);
    let inbound = h.node.on_accept(ip("10.0.0.2"), ip("10.0.0.1"), h.now);
    let out = h.node.on_message(inbound, &b.meet(), h.now);
    assert_eq!(h.node.myself().ip, "192.168.0.1");
    let pong = &sent(&out)[0].1;
    assert_eq!(pong.header.ip, ip("192.168.0.1"));
}

#[test]
fn gossip_from_a_known_node_adds_unknown_nodes_with_their_flags() {
    let mut h = Harness::new();
    let b = Fake::new(2);
    h.join(&b);
    let c = Fake::new(3);
    let d = Fake::new(4);
    let mut e = Fake::new(5).entry(NodeFlags::MASTER, 0);
    e.flags = types::NodeFlags(NodeFlags::NOADDR.bits() | NodeFlags::MASTER.bits());
    let gossip = vec![
        c.entry(NodeFlags::REPLICA, 0),
        d.entry(
            NodeFlags::MASTER | NodeFlags::MYSELF | NodeFlags::HANDSHAKE,
            0,
        ),
        e,
    ];
    h.from(2, &b.ping(gossip.clone()));
    let c_node = h.node.node(&c.id()).unwrap();
    assert_eq!(c_node.flags, NodeFlags::REPLICA);
    assert_eq!((c_node.ip.as_str(), c_node.port), ("10.0.0.3", 7003));
    assert_eq!(
        h.flags(4),
        NodeFlags::MASTER,
        "myself/handshake never taken"
    );
    assert!(h.node.node(&id(5)).is_none(), "a noaddr node is not added");

    // A MEET from a stranger: its gossip is not trusted for new nodes.
    let mut h = Harness::new();
    let stranger = Fake::new(6);
    let inbound = h.node.on_accept(ip("10.0.0.6"), ip("10.0.0.1"), h.now);
    let meet = stranger.bytes(Body::Meet(PingBody {
        gossip,
        extensions: vec![],
    }));
    h.node.on_message(inbound, &meet, h.now);
    assert!(h.node.node(&c.id()).is_none());
}

#[test]
fn a_node_learnt_from_gossip_is_connected_without_handshake() {
    let mut h = Harness::new();
    let b = Fake::new(2);
    h.join(&b);
    let c = Fake::new(3).with_slots(0..=9, 2);
    h.from(2, &b.ping(vec![c.entry(NodeFlags::MASTER, 0)]));
    assert!(!h.node.node(&c.id()).unwrap().in_handshake());
    h.connect_learnt(&c);
    let node = h.node.node(&c.id()).unwrap();
    assert!(node.link.is_some() && node.inbound_link.is_some());
    assert_eq!(node.config_epoch, 2);
    assert_eq!(h.node.slot_map().owner(slot(0)), Some(&c.id()));
    assert_eq!(h.node.peers().count(), 2);
}

#[test]
fn gossip_pong_times_count_when_not_in_the_future() {
    let mut h = Harness::new();
    let (b, c) = (Fake::new(2), Fake::new(3));
    h.join(&b);
    h.join(&c);
    let before = h.node.node(&c.id()).unwrap().pong_received;
    let secs = |ms: u64| u32::try_from(ms / 1000).unwrap();
    // In the future beyond 500 ms: ignored.
    h.from(
        2,
        &b.ping(vec![c.entry(NodeFlags::MASTER, secs(h.now + 2000))]),
    );
    assert_eq!(h.node.node(&c.id()).unwrap().pong_received, before);
    h.now += 5000;
    h.from(2, &b.ping(vec![c.entry(NodeFlags::MASTER, secs(h.now))]));
    assert_eq!(
        h.node.node(&c.id()).unwrap().pong_received,
        u64::from(secs(h.now)) * 1000
    );
}

#[test]
fn gossip_moves_a_node_we_cannot_reach_to_the_address_others_see() {
    let mut h = Harness::new();
    let (b, c) = (Fake::new(2), Fake::new(3));
    h.join(&b);
    h.join(&c);
    h.kill(3);
    while !h.flags(3).contains(NodeFlags::PFAIL) {
        h.tick();
    }
    let old_link = h.node.node(&c.id()).unwrap().link;
    // B reaches C at another address.
    let mut moved = c.entry(NodeFlags::MASTER, 0);
    moved.port = 7103;
    moved.cport = 17103;
    // A node reported failing is not moved.
    let mut failing = moved.clone();
    failing.flags = types::NodeFlags((NodeFlags::MASTER | NodeFlags::PFAIL).bits());
    h.from(2, &b.ping(vec![failing]));
    assert_eq!(h.node.node(&c.id()).unwrap().port, 7003);
    let out = h.from(2, &b.ping(vec![moved]));
    let node = h.node.node(&c.id()).unwrap();
    assert_eq!((node.port, node.cport, node.link), (7103, 17103, None));
    if let Some(link) = old_link {
        assert!(out.contains(&Action::Close { link }));
    }
}

#[test]
fn a_handshake_that_reaches_a_known_node_updates_it_and_goes() {
    let mut h = Harness::new();
    let mut b = Fake::new(2);
    h.join(&b);
    // B is met again at another address (it moved): the PONG names a node
    // we know, so its address is taken and the handshake entry dropped.
    b.header.port = 7202;
    b.header.cport = 17202;
    h.node.meet("10.0.0.22", 7202, 17202, h.now).unwrap();
    let out = h.tick();
    let link = out
        .iter()
        .find_map(|a| match a {
            Action::Connect {
                link, cport: 17202, ..
            } => Some(*link),
            _ => None,
        })
        .unwrap();
    h.node.on_connected(link, h.now);
    let out = h.node.on_message(link, &b.pong(vec![]), h.now);
    assert!(out.contains(&Action::Close { link }));
    assert_eq!(h.node.peers().count(), 1);
    let node = h.node.node(&b.id()).unwrap();
    assert_eq!(
        (node.ip.as_str(), node.port, node.cport),
        ("10.0.0.22", 7202, 17202)
    );
}

#[test]
fn a_ping_from_a_new_address_moves_the_node_and_drops_our_link() {
    let mut h = Harness::new();
    let mut b = Fake::new(2);
    h.join(&b);
    let (out_link, _) = h.links[&2];
    // nodeUpdateAddressIfNeeded: B restarted on another port.
    b.header.port = 7102;
    b.header.cport = 17102;
    let out = h.from(2, &b.ping(vec![]));
    assert!(out.contains(&Action::Close { link: out_link }));
    let node = h.node.node(&b.id()).unwrap();
    assert_eq!((node.port, node.cport, node.link), (7102, 17102, None));
    // The next tick connects to the new address.
    let out = h.tick();
    assert!(out
        .iter()
        .any(|a| matches!(a, Action::Connect { cport: 17102, .. })));
}

#[test]
fn someone_else_answering_on_our_link_makes_the_node_noaddr() {
    let mut h = Harness::new();
    let b = Fake::new(2);
    h.join(&b);
    let (out_link, _) = h.links[&2];
    let out = h.answer(2, &Fake::new(3).pong(vec![]));
    assert_eq!(out, vec![Action::Close { link: out_link }]);
    let node = h.node.node(&b.id()).unwrap();
    assert!(node.flags.contains(NodeFlags::NOADDR));
    assert_eq!((node.ip.as_str(), node.port), ("", 0));
    // No address, no reconnection.
    assert!(connect_of(&h.tick()).is_none());
}

#[test]
fn a_second_inbound_link_from_a_node_replaces_the_first() {
    let mut h = Harness::new();
    let b = Fake::new(2);
    h.join(&b);
    let (_, first) = h.links[&2];
    let second = h.node.on_accept(ip("10.0.0.2"), ip("10.0.0.1"), h.now);
    let out = h.node.on_message(second, &b.ping(vec![]), h.now);
    assert!(out.contains(&Action::Close { link: first }));
    assert_eq!(h.node.node(&b.id()).unwrap().inbound_link, Some(second));
}

#[test]
fn cluster_cron_pings_every_node_within_half_the_timeout() {
    let mut h = Harness::new();
    for n in 2..=7 {
        h.join(&Fake::new(n));
    }
    // Once a second one random node among five; any node whose PONG is
    // older than node_timeout / 2 at once: no PONG ever gets older than
    // that plus a tick.
    for _ in 0..(TIMEOUT * 3 / 100) {
        h.tick();
        for peer in h.node.peers() {
            assert!(h.now - peer.pong_received <= TIMEOUT / 2 + 100);
            assert!(!peer.timed_out());
        }
    }
}

#[test]
fn a_node_waiting_for_its_pong_is_not_pinged_again() {
    let mut h = Harness::new();
    h.join(&Fake::new(2));
    h.kill(2);
    let out = h.run(TIMEOUT * 3 / 2);
    assert_eq!(sent_of(&out, MessageType::Ping).len(), 1);
}

#[test]
fn a_node_without_pong_is_suspected_after_the_node_timeout() {
    let mut h = Harness::new();
    let b = Fake::new(2);
    h.join(&b);
    h.kill(2);
    h.run(TIMEOUT / 2 + 100);
    let sent_at = h.node.node(&b.id()).unwrap().ping_sent;
    assert_ne!(sent_at, 0);
    while h.now - sent_at <= TIMEOUT {
        assert!(!h.flags(2).contains(NodeFlags::PFAIL));
        h.tick();
    }
    assert!(h.flags(2).contains(NodeFlags::PFAIL));
    assert_eq!(h.node.info().state, ClusterState::Fail);
    // Our link was dropped for silence and is being opened again; a PONG
    // on it clears PFAIL at once.
    let link = h.node.node(&b.id()).unwrap().link.unwrap();
    h.node.on_connected(link, h.now);
    h.node.on_message(link, &b.pong(vec![]), h.now);
    assert!(!h.flags(2).contains(NodeFlags::PFAIL));
}

#[test]
fn any_data_from_a_node_postpones_suspicion() {
    let mut h = Harness::new();
    let b = Fake::new(2);
    h.join(&b);
    h.kill(2);
    for _ in 0..40 {
        h.run(100);
        // B never answers our pings but keeps pinging us.
        h.from(2, &b.ping(vec![]));
    }
    assert!(!h.flags(2).contains(NodeFlags::PFAIL));
}

#[test]
fn a_silent_link_is_dropped_and_reconnected() {
    let mut h = Harness::new();
    let b = Fake::new(2);
    h.join(&b);
    h.kill(2);
    let (out_link, _) = h.links[&2];
    // Link older than the timeout, ping outstanding and no data for half
    // the timeout: free it, reconnect on the next tick.
    let out = h.run(TIMEOUT * 2);
    assert!(out.contains(&Action::Close { link: out_link }));
    assert!(out
        .iter()
        .any(|a| matches!(a, Action::Connect { cport: 17002, link, .. } if *link != out_link)));
}

#[test]
fn a_handshake_lives_at_most_max_of_node_timeout_and_a_second() {
    for timeout in [300, 2500] {
        let mut h = Harness::with(Config {
            node_timeout_ms: timeout,
            ..config(1)
        });
        h.node.meet("10.0.0.2", 7002, 17002, h.now).unwrap();
        let limit = timeout.max(1000);
        let start = h.now;
        while h.now - start <= limit {
            assert_eq!(h.node.peers().count(), 1, "timeout {timeout}");
            h.tick();
        }
        assert_eq!(h.node.peers().count(), 0, "timeout {timeout}");
    }
}

#[test]
fn the_gossip_section_leaves_out_handshakes_and_adds_every_pfail_node() {
    let mut h = Harness::new();
    let fakes: Vec<Fake> = (2..=5).map(Fake::new).collect();
    for f in &fakes {
        h.join(f);
    }
    h.node.meet("10.0.0.99", 7099, 17099, h.now).unwrap();
    // 6 nodes: wanted = max(3, 6 / 10) = 3, at most 6 - 2 = 4.
    let out = h.from(2, &fakes[0].ping(vec![]));
    let pong = &sent(&out)[0].1;
    let gossip = &pong.body.ping().unwrap().gossip;
    assert_eq!(gossip.len(), 3);
    assert!(gossip.iter().all(|g| g.port != 7099));
    // Suspect two nodes: they come after the others (here the two left
    // out of handshake and PFAIL, fewer than wanted).
    for n in [4u8, 5] {
        let node = h.node.others.get_mut(&id(n)).unwrap();
        node.flags.insert(NodeFlags::PFAIL);
    }
    let out = h.from(2, &fakes[0].ping(vec![]));
    let gossip = &sent(&out)[0].1.body.ping().unwrap().gossip.clone();
    assert_eq!(gossip.len(), 4);
    let pfail: Vec<u16> = gossip
        .iter()
        .filter(|g| g.flags.0 & NodeFlags::PFAIL.bits() != 0)
        .map(|g| g.port)
        .collect();
    assert_eq!(pfail, vec![7004, 7005]);
}

#[test]
fn the_hostname_extension_is_sent_and_learnt() {
    let mut h = Harness::with(Config {
        hostname: "one.example".into(),
        ..config(1)
    });
    let b = Fake::new(2);
    h.join(&b);
    let out = h.from(2, &b.ping(vec![]));
    let pong = &sent(&out)[0].1;
    assert_eq!(
        pong.body.ping().unwrap().extensions,
        vec![crate::PingExt::Hostname(b"one.example".to_vec())]
    );
    let with_name = b.bytes(Body::Ping(PingBody {
        gossip: vec![],
        extensions: vec![crate::PingExt::Hostname(b"two.example".to_vec())],
    }));
    h.from(2, &with_name);
    assert_eq!(h.node.node(&b.id()).unwrap().hostname, "two.example");
    // clusterProcessPingExtensions: no extension, no hostname.
    h.from(2, &b.ping(vec![]));
    assert_eq!(h.node.node(&b.id()).unwrap().hostname, "");
}

#[test]
fn malformed_messages_and_unknown_links_are_ignored() {
    let mut h = Harness::new();
    let b = Fake::new(2);
    h.join(&b);
    let before = h.node.clone().info();
    assert!(h.from(2, b"RCmb garbage").is_empty());
    let mut bytes = b.ping(vec![]);
    bytes[8] = 9; // version
    assert!(h.from(2, &bytes).is_empty());
    assert!(h
        .node
        .on_message(LinkId(999), &b.ping(vec![]), h.now)
        .is_empty());
    assert_eq!(h.node.info(), before);
}
