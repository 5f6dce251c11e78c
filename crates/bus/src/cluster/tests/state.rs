//! The cluster state (`clusterUpdateState`) and `CLUSTER INFO`.

use super::*;

/// Node 1 serving 0..=8191 and a fake serving the rest.
fn two_halves() -> Harness {
    let mut h = Harness::new();
    h.node.add_slots(&slots(0..=8191)).unwrap();
    let b = Fake::new(2).with_slots(8192..=16383, 0);
    h.join(&b);
    h
}

#[test]
fn a_master_waits_the_writable_delay_before_turning_ok() {
    let mut h = two_halves();
    assert_eq!(h.node.state(), ClusterState::Fail);
    let start = h.now;
    while h.now - start < 1900 {
        h.tick();
        assert_eq!(h.node.state(), ClusterState::Fail);
    }
    h.run(300);
    assert_eq!(h.node.state(), ClusterState::Ok);
    // The state goes out in every header.
    let b = h.fakes[&2].clone();
    let out = h.from(2, &b.ping(vec![]));
    assert_eq!(sent(&out)[0].1.header.state, types::ClusterState::OK);
}

#[test]
fn a_slot_without_owner_fails_the_cluster_unless_coverage_is_optional() {
    let mut h = two_halves();
    h.run(2500);
    assert_eq!(h.node.state(), ClusterState::Ok);
    h.node.del_slots(&[slot(0)]).unwrap();
    assert_eq!(h.node.state(), ClusterState::Fail);

    let mut h = Harness::with(Config {
        require_full_coverage: false,
        ..config(1)
    });
    h.node.add_slots(&slots(0..=99)).unwrap();
    h.run(2500);
    assert_eq!(h.node.state(), ClusterState::Ok);
}

#[test]
fn a_failed_owner_fails_the_cluster() {
    let mut h = Harness::new();
    h.node.add_slots(&slots(0..=5000)).unwrap();
    let b = Fake::new(2).with_slots(5001..=10000, 0);
    let c = Fake::new(3).with_slots(10001..=16383, 0);
    h.join(&b);
    h.join(&c);
    h.run(2500);
    assert_eq!(h.node.state(), ClusterState::Ok);
    h.from(
        2,
        &b.bytes(Body::Fail {
            node: c.header.sender,
        }),
    );
    assert_eq!(h.node.state(), ClusterState::Fail);
    let info = h.node.info();
    assert_eq!(info.slots_fail, 6383);
    assert_eq!(info.slots_ok, 10001);
}

#[test]
fn a_minority_partition_fails_and_waits_the_rejoin_delay() {
    let mut h = Harness::new();
    h.node.add_slots(&slots(0..=5000)).unwrap();
    let b = Fake::new(2).with_slots(5001..=10000, 0);
    let c = Fake::new(3).with_slots(10001..=16383, 0);
    h.join(&b);
    h.join(&c);
    h.run(2500);
    assert_eq!(h.node.state(), ClusterState::Ok);
    // Both others unreachable: we are 1 of 3 reachable masters.
    h.kill(2);
    h.kill(3);
    let mut guard = 0;
    while h.node.state() == ClusterState::Ok {
        h.tick();
        guard += 1;
        assert!(guard < 100);
    }
    assert!(h.flags(2).contains(NodeFlags::PFAIL) && h.flags(3).contains(NodeFlags::PFAIL));
    let info = h.node.info();
    assert_eq!((info.slots_pfail, info.slots_ok), (11383, 5001));
    // They answer again: ok only after the rejoin delay (the node timeout,
    // within 500..=5000 ms) since we last saw ourselves in a minority.
    h.alive.insert(2);
    h.alive.insert(3);
    // Back in the majority as soon as one of them answers.
    while h.flags(2).contains(NodeFlags::PFAIL) && h.flags(3).contains(NodeFlags::PFAIL) {
        h.tick();
    }
    let back = h.now;
    assert_eq!(h.node.state(), ClusterState::Fail);
    while h.node.state() == ClusterState::Fail {
        h.tick();
    }
    assert!(h.now - back >= TIMEOUT, "{}", h.now - back);
    assert!(h.now - back <= TIMEOUT + 100, "{}", h.now - back);
}

#[test]
fn a_replica_turns_ok_without_delay() {
    let mut h = Harness::new();
    let a = Fake::new(2).with_slots(0..=16383, 1);
    h.join(&a);
    h.node.replicate(&a.id()).unwrap();
    h.tick();
    assert_eq!(h.node.state(), ClusterState::Ok);
}

#[test]
fn cluster_info_text_is_redis_text() {
    let mut h = two_halves();
    h.run(2500);
    let info = h.node.info();
    assert_eq!(info.known_nodes, 2);
    assert_eq!(info.size, 2);
    assert_eq!(info.slots_assigned, 16384);
    let text = info.to_string();
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(
        lines[..9],
        [
            "cluster_state:ok",
            "cluster_slots_assigned:16384",
            "cluster_slots_ok:16384",
            "cluster_slots_pfail:0",
            "cluster_slots_fail:0",
            "cluster_known_nodes:2",
            "cluster_size:2",
            "cluster_current_epoch:1",
            "cluster_my_epoch:1",
        ]
    );
    let sent_pings = info.messages_sent[0];
    assert!(text.contains(&format!(
        "cluster_stats_messages_ping_sent:{sent_pings}\r\n"
    )));
    assert!(text.contains("cluster_stats_messages_meet_sent:1\r\n"));
    assert!(!text.contains("fail_sent"), "zero counts are left out");
    let total: u64 = info.messages_received.iter().sum();
    assert!(text.contains(&format!("cluster_stats_messages_received:{total}\r\n")));
    assert!(text.ends_with("total_cluster_links_buffer_limit_exceeded:0\r\n"));
}

#[test]
fn cluster_links_lists_both_directions() {
    let mut h = Harness::new();
    let b = Fake::new(2);
    h.join(&b);
    let (to_b, from_b) = h.links[&2];
    let links = h.node.links();
    assert_eq!(links.len(), 2);
    assert_eq!(
        (
            links[0].link,
            links[0].direction,
            links[0].node,
            links[0].events
        ),
        (to_b, LinkDirection::To, b.id(), "r")
    );
    assert_eq!(
        (links[1].link, links[1].direction),
        (from_b, LinkDirection::From)
    );
    assert_eq!(links[1].direction.as_str(), "from");
    // An inbound link not yet tied to a node is not listed.
    h.node.on_accept(ip("10.0.0.9"), ip("10.0.0.1"), h.now);
    assert_eq!(h.node.links().len(), 2);
}

#[test]
fn publish_reaches_every_node_and_publishshard_the_shard() {
    let mut h = Harness::new();
    let a = Fake::new(2).with_slots(0..=9, 1);
    let r = Fake::new(3).replica_of(&a);
    let other = Fake::new(4);
    h.join(&a);
    h.join(&r);
    h.join(&other);
    h.from(3, &r.ping(vec![]));
    h.node.replicate(&a.id()).unwrap();
    let out = h.node.publish(b"news", b"hello");
    assert_eq!(sent(&out).len(), 3);
    // Our shard: A (master) and R (its other replica), not the other node.
    let out = h.node.publish_shard(b"{s}", b"hi");
    let to: Vec<LinkId> = sent(&out).iter().map(|(l, _)| *l).collect();
    assert_eq!(to, vec![h.links[&2].0, h.links[&3].0]);
    assert_eq!(
        sent(&out)[0].1.body,
        Body::PublishShard {
            channel: b"{s}".to_vec(),
            message: b"hi".to_vec()
        }
    );
    // What other nodes publish is delivered here.
    let incoming = other.bytes(Body::Publish {
        channel: b"c".to_vec(),
        message: b"m".to_vec(),
    });
    // (The first event after CLUSTER REPLICATE also tells the caller to
    // replicate A.)
    assert_eq!(
        h.from(4, &incoming),
        vec![
            Action::Deliver {
                channel: b"c".to_vec(),
                message: b"m".to_vec(),
                shard: false
            },
            Action::ReplicateFrom {
                id: a.id(),
                ip: a.ip(),
                port: 7002
            }
        ]
    );
    // Not from a node we do not know.
    let stranger = h.node.on_accept(ip("10.9.9.9"), ip("10.0.0.1"), h.now);
    assert!(h
        .node
        .on_message(
            stranger,
            &Fake::new(99).bytes(Body::Publish {
                channel: b"c".to_vec(),
                message: b"m".to_vec(),
            }),
            h.now
        )
        .is_empty());
}

#[test]
fn our_replication_offset_goes_out_and_theirs_comes_in() {
    let mut h = Harness::new();
    let mut b = Fake::new(2);
    h.join(&b);
    h.node.set_repl_offset(1234);
    assert_eq!(h.node.myself().repl_offset, 1234);
    b.header.offset = types::ReplOffset(99);
    let out = h.from(2, &b.ping(vec![]));
    assert_eq!(sent(&out)[0].1.header.offset, types::ReplOffset(1234));
    assert_eq!(h.node.node(&b.id()).unwrap().repl_offset, 99);
}
