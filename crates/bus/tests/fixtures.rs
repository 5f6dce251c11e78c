//! Messages captured from real `redis-server` 7.0.15 cluster nodes (by
//! `tests/real_redis.rs` with `FERRODIS_BUS_WRITE_FIXTURES=1`), decoded
//! without a server: each decodes to what the capturing test saw, and
//! encodes back to the same bytes.

use ferrodis_bus::{
    decode, encode, frame_len, next_frame, Body, ClusterState, Epoch, Message, MessageFlags,
    MessageType, NodeFlags, NodeId, NodeIp, PingExt, SlotBitmap,
};
use std::path::Path;

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Decodes fixture `name`, checks that it frames, is of type `kind` and
/// encodes back to its bytes, and returns it.
fn check(name: &str, kind: MessageType) -> Message {
    let bytes = fixture(name);
    assert_eq!(frame_len(&bytes), Ok(Some(bytes.len())), "{name}");
    assert_eq!(next_frame(&bytes), Ok(Some(&bytes[..])), "{name}");
    let message = decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(message.kind(), kind, "{name}");
    assert_eq!(encode(&message).unwrap(), bytes, "{name} re-encoded");
    assert!(message.header.sender.is_valid(), "{name}");
    assert_eq!(message.header.ip, NodeIp::EMPTY, "{name}");
    assert_eq!(message.header.pport, 0, "{name}");
    message
}

fn master_flags() -> NodeFlags {
    NodeFlags::MASTER | NodeFlags::MYSELF
}

fn all_slots() -> SlotBitmap {
    (0..16384).collect()
}

#[test]
fn meet() {
    let m = check("meet.bin", MessageType::Meet);
    let h = &m.header;
    assert_eq!((h.current_epoch, h.config_epoch), (Epoch(1), Epoch(1)));
    assert_eq!(h.slots, (0..=99).chain([5000]).collect());
    assert_eq!(h.replicaof, NodeId::NULL);
    assert_eq!(h.flags, master_flags());
    assert_eq!(h.state, ClusterState::FAIL);
    assert_eq!(h.mflags, MessageFlags::NONE);
    assert_eq!(m.body, Body::Meet(Default::default()));
}

#[test]
fn gossip_with_a_hostname_and_without() {
    let a = check("gossip_hostname.bin", MessageType::Ping);
    let b = check("ping_gossip.bin", MessageType::Ping);
    assert!(a.header.mflags.contains(MessageFlags::EXT_DATA));
    assert!(!b.header.mflags.contains(MessageFlags::EXT_DATA));
    let (pa, pb) = (a.body.ping().unwrap(), b.body.ping().unwrap());
    assert_eq!(
        pa.extensions,
        vec![PingExt::Hostname(b"a.bus.test".to_vec())]
    );
    assert!(pb.extensions.is_empty());
    // A and B gossip about each other: each entry matches the other's
    // header.
    for (ping, other) in [(pa, &b), (pb, &a)] {
        let g = ping
            .gossip
            .iter()
            .find(|g| g.node == other.header.sender)
            .unwrap();
        assert_eq!(g.port, other.header.port);
        assert_eq!(g.cport, other.header.cport);
        assert_eq!(g.ip, NodeIp::new(b"127.0.0.1").unwrap());
        assert_eq!(g.flags, NodeFlags::MASTER);
        assert!(g.pong_received > 1_700_000_000, "Unix seconds");
    }
    assert_eq!(a.header.slots, (0..8192).collect());
    assert_eq!(b.header.slots, (8192..16384).collect());
}

#[test]
fn pong_publish_update_fail_and_ack_from_one_node() {
    let pong = check("pong.bin", MessageType::Pong);
    let publish = check("publish.bin", MessageType::Publish);
    let shard = check("publishshard.bin", MessageType::PublishShard);
    let update = check("update.bin", MessageType::Update);
    let fail = check("fail.bin", MessageType::Fail);
    let ack = check("failover_auth_ack.bin", MessageType::FailoverAuthAck);
    let a = pong.header.sender;
    for m in [&publish, &shard, &update, &fail, &ack] {
        assert_eq!(m.header.sender, a);
        assert_eq!(m.header.slots, all_slots());
        assert_eq!(m.header.config_epoch, Epoch(1));
        assert!(m.header.flags.contains(master_flags()));
    }
    assert_eq!(
        publish.body,
        Body::Publish {
            channel: b"news".to_vec(),
            message: b"hello bus".to_vec()
        }
    );
    assert_eq!(
        shard.body,
        Body::PublishShard {
            channel: b"news".to_vec(),
            message: b"sharded".to_vec()
        }
    );
    assert_eq!(
        update.body,
        Body::Update {
            config_epoch: Epoch(1),
            node: a,
            slots: all_slots()
        }
    );
    let Body::Fail { node: b } = fail.body else {
        unreachable!()
    };
    assert!(b.is_valid() && b != a);
    // The vote is cast in the epoch the request asked for.
    assert_eq!(ack.header.current_epoch, Epoch(2));
}

#[test]
fn failover_requests_from_replicas() {
    let request = check(
        "failover_auth_request.bin",
        MessageType::FailoverAuthRequest,
    );
    let h = &request.header;
    assert_eq!(h.mflags, MessageFlags::FORCEACK);
    assert_eq!(h.flags, NodeFlags::REPLICA | NodeFlags::MYSELF);
    assert!(!h.replicaof.is_null());
    assert_eq!(h.slots, all_slots(), "a replica sends its master's slots");

    let mfstart = check("mfstart.bin", MessageType::MfStart);
    assert_eq!(
        mfstart.header.replicaof,
        "fa4e000000000000000000000000000000000004".parse().unwrap()
    );
    assert_eq!(mfstart.header.flags, NodeFlags::REPLICA | NodeFlags::MYSELF);
}

#[test]
fn every_prefix_of_a_fixture_is_incomplete_and_no_decode() {
    for name in ["gossip_hostname.bin", "publish.bin", "update.bin"] {
        let bytes = fixture(name);
        for cut in 0..bytes.len() {
            let prefix = &bytes[..cut];
            assert_eq!(next_frame(prefix), Ok(None), "{name} cut at {cut}");
            assert!(decode(prefix).is_err(), "{name} cut at {cut}");
        }
    }
}
