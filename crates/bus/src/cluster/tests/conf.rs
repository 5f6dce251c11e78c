//! `nodes.conf` and `CLUSTER NODES` (`clusterGenNodeDescription`,
//! `clusterLoadConfig`), and when the node asks for the file to be saved.

use super::*;
use ferrodis_slots::{cluster_nodes_text, LinkState, NodesConf};

/// Node 1 with slots and migrations, a master with a replica, a failed
/// node, a node in handshake, and epochs.
fn busy_node() -> Harness {
    let mut h = Harness::new();
    h.node.add_slots(&slots(0..=99)).unwrap();
    let a = Fake::new(2).with_slots(100..=199, 5);
    let r = Fake::new(3).replica_of(&a);
    let dead = Fake::new(4);
    for f in [&a, &r, &dead] {
        h.join(f);
    }
    h.from(3, &r.ping(vec![]));
    h.node.set_slot_migrating(slot(7), &a.id()).unwrap();
    h.node.set_slot_importing(slot(150), &a.id()).unwrap();
    h.from(
        2,
        &a.bytes(Body::Fail {
            node: dead.header.sender,
        }),
    );
    h.node.meet("10.0.0.50", 7050, 17050, h.now).unwrap();
    h
}

#[test]
fn cluster_nodes_shows_handshakes_and_nodes_conf_does_not() {
    let h = busy_node();
    let nodes = h.node.cluster_nodes();
    assert_eq!(nodes.len(), 5);
    assert!(nodes[0].flags.contains(NodeFlags::MYSELF));
    let handshake = nodes.iter().find(|l| l.addr.port == 7050).unwrap();
    assert_eq!(handshake.flags, NodeFlags::HANDSHAKE | NodeFlags::MEET);
    assert!(cluster_nodes_text(&nodes).contains(" handshake - "));
    let conf = h.node.to_nodes_conf();
    assert_eq!(conf.nodes.len(), 4);
    assert!(conf
        .nodes
        .iter()
        .all(|l| !l.flags.contains(NodeFlags::HANDSHAKE)));
}

#[test]
fn lines_show_what_redis_shows() {
    let h = busy_node();
    let conf = h.node.to_nodes_conf();
    let line = |n: u8| conf.nodes.iter().find(|l| l.id == id(n)).unwrap();
    let me = line(1);
    assert_eq!(me.flags, NodeFlags::MYSELF | NodeFlags::MASTER);
    assert_eq!(me.link, LinkState::Connected);
    assert_eq!(me.slots.count(), 100);
    assert_eq!(
        me.to_string(),
        format!(
            "{} 10.0.0.1:7001@17001 myself,master - 0 0 {} connected 0-99 [7->-{}] [150-<-{}]",
            id(1),
            h.node.config_epoch(),
            id(2),
            id(2)
        )
    );
    // A replica shows its master's config epoch; only myself shows
    // migrations.
    let replica = line(3);
    assert_eq!(replica.master, Some(id(2)));
    assert_eq!(replica.config_epoch, 5);
    assert!(line(2).migrations.is_empty());
    assert!(line(4).flags.contains(NodeFlags::FAIL));
    assert_eq!(
        line(2).to_string(),
        format!(
            "{} 10.0.0.2:7002@17002 master - 0 {} 5 connected 100-199",
            id(2),
            h.node.node(&id(2)).unwrap().pong_received
        )
    );
}

#[test]
fn a_restart_keeps_id_slots_epochs_roles_and_migrations() {
    let mut h = busy_node();
    let before = h.node.to_nodes_conf();
    let text = before.to_string();
    let parsed = NodesConf::parse(&text).unwrap();
    let later = h.now + 60_000;
    let mut config = config(1);
    config.id = id(42); // replaced by the file's
    let restored = ClusterNode::from_nodes_conf(&parsed, config, later).unwrap();
    assert_eq!(restored.id(), id(1));
    assert_eq!(restored.config().id, id(1));
    assert_eq!(restored.current_epoch(), h.node.current_epoch());
    assert_eq!(restored.config_epoch(), h.node.config_epoch());
    assert_eq!(restored.slot_map(), h.node.slot_map());
    assert_eq!(restored.migrating_to(slot(7)), Some(&id(2)));
    assert_eq!(restored.importing_from(slot(150)), Some(&id(2)));
    assert_eq!(restored.replicas(&id(2)).unwrap()[0].id, id(3));
    let after = restored.to_nodes_conf();
    for (old, new) in before.nodes.iter().zip(&after.nodes) {
        assert_eq!(
            (
                &new.id,
                &new.addr,
                new.flags,
                new.master,
                new.config_epoch,
                &new.slots,
                &new.migrations
            ),
            (
                &old.id,
                &old.addr,
                old.flags,
                old.master,
                old.config_epoch,
                &old.slots,
                &old.migrations
            )
        );
        // Times that were set restart from now; no link is open yet.
        assert_eq!(new.ping_sent, if old.ping_sent == 0 { 0 } else { later });
        assert_eq!(
            new.pong_received,
            if old.pong_received == 0 { 0 } else { later }
        );
        if new.id != id(1) {
            assert_eq!(new.link, LinkState::Disconnected);
        }
    }
    assert_eq!(after.nodes.len(), before.nodes.len());
    // The replica's config epoch is not read from its line.
    assert_eq!(restored.node(&id(3)).unwrap().config_epoch, 0);
    // Nothing to save yet.
    let mut restored = restored;
    assert_eq!(restored.take_save_request(), None);
    // The ticks connect to every node with an address.
    let out = restored.on_tick(later + 100);
    let cports: Vec<u16> = out
        .iter()
        .filter_map(|a| match a {
            Action::Connect { cport, .. } => Some(*cport),
            _ => None,
        })
        .collect();
    assert_eq!(cports, vec![17002, 17003, 17004]);
    let _ = h.node.take_save_request();
}

#[test]
fn the_vars_line_is_kept_and_the_current_epoch_is_at_least_every_config_epoch() {
    let text = format!(
        "{} 10.0.0.1:7001@17001 myself,master - 0 0 3 connected 0-10\n\
         {} 10.0.0.2:7002@17002 master - 0 0 9 connected 11-20\n\
         vars currentEpoch 4 lastVoteEpoch 8\n",
        id(1),
        id(2)
    );
    let conf = NodesConf::parse(&text).unwrap();
    let node = ClusterNode::from_nodes_conf(&conf, config(1), T0).unwrap();
    assert_eq!(node.current_epoch(), 9);
    assert_eq!(node.last_vote_epoch(), 8);
    assert_eq!(node.to_nodes_conf().last_vote_epoch, 8);
}

#[test]
fn this_nodes_ports_hostname_and_flags_come_from_its_config() {
    let text = format!(
        "{} 10.0.0.1:6000@16000,old.example myself,slave,nofailover {} 0 0 3 connected\n\
         {} 10.0.0.2:7002@17002 master - 0 0 3 connected 0-16383\n",
        id(1),
        id(2),
        id(2)
    );
    let conf = NodesConf::parse(&text).unwrap();
    let config = Config {
        hostname: "new.example".into(),
        ..config(1)
    };
    let node = ClusterNode::from_nodes_conf(&conf, config, T0).unwrap();
    let me = node.myself();
    assert_eq!(
        (me.port, me.cport, me.ip.as_str()),
        (7001, 17001, "10.0.0.1")
    );
    assert_eq!(me.hostname, "new.example");
    assert_eq!(me.flags, NodeFlags::MYSELF | NodeFlags::REPLICA);
    assert_eq!(node.master().map(|m| m.id), Some(id(2)));
    assert_eq!(node.info().my_epoch, 3);
}

#[test]
fn a_file_without_myself_is_refused() {
    let conf = NodesConf {
        nodes: vec![],
        current_epoch: 0,
        last_vote_epoch: 0,
    };
    assert!(matches!(
        ClusterNode::from_nodes_conf(&conf, config(1), T0),
        Err(ClusterError::CorruptConfig(_))
    ));
}

#[test]
fn save_requests_follow_redis_todo_flags() {
    // A fresh node saves its new id at once, with fsync.
    let mut node = ClusterNode::new(config(1));
    assert_eq!(node.take_save_request(), Some(Save::Now));
    assert_eq!(node.take_save_request(), None);
    // ADDSLOTS: saved, no fsync.
    node.add_slots(&[slot(1)]).unwrap();
    assert_eq!(node.take_save_request(), Some(Save::Later));
    // A new config epoch: fsync before answering.
    node.bump_epoch();
    assert_eq!(node.take_save_request(), Some(Save::Now));
    // Nothing happened: nothing to save.
    node.on_tick(T0);
    assert_eq!(node.take_save_request(), None);
}
