//! Every `nodes.conf` a real `redis-server` 7.0.15 wrote (the fixtures of
//! `ferrodis-slots`) restores a `ClusterNode` that writes the same file
//! back: ids, addresses, flags, masters, config epochs, slots, migrations
//! and epochs; only the times restart and links start closed, as after a
//! Redis restart (`clusterLoadConfig`).

use ferrodis_bus::cluster::{ClusterNode, Config};
use ferrodis_slots::{LinkState, NodeFlags, NodesConf};
use std::path::Path;

const NOW: u64 = 1_900_000_000_000;

#[test]
fn real_nodes_conf_files_restore_and_write_back() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../slots/tests/fixtures");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension() != Some("conf".as_ref()) {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let file = NodesConf::parse(&text).unwrap();
        let me = file.myself().unwrap();
        let config = Config {
            hostname: me.addr.hostname.clone(),
            replica_no_failover: me.flags.contains(NodeFlags::NOFAILOVER),
            ..Config::new(me.id, me.addr.port, me.addr.bus_port)
        };
        let node = ClusterNode::from_nodes_conf(&file, config, NOW).unwrap();
        let back = node.to_nodes_conf();
        assert_eq!(back.current_epoch, file.current_epoch, "{name}");
        assert_eq!(back.last_vote_epoch, file.last_vote_epoch, "{name}");
        for old in &file.nodes {
            let new = back
                .nodes
                .iter()
                .find(|l| l.id == old.id)
                .unwrap_or_else(|| panic!("{name}: {} lost", old.id));
            assert_eq!(new.addr, old.addr, "{name}");
            // As printed: the hidden bits (MIGRATE_TO) follow the table.
            assert_eq!(new.flags.to_string(), old.flags.to_string(), "{name}");
            assert_eq!(new.master, old.master, "{name}");
            assert_eq!(new.slots, old.slots, "{name}");
            assert_eq!(new.migrations, old.migrations, "{name}");
            // A replica shows its master's epoch: the same, unless its
            // master has no line of its own (then Redis shows 0 too).
            let master_listed = old
                .master
                .is_some_and(|m| file.nodes.iter().any(|l| l.id == m));
            if old.master.is_none() || master_listed {
                assert_eq!(new.config_epoch, old.config_epoch, "{name} {}", old.id);
            }
            assert_eq!(new.ping_sent != 0, old.ping_sent != 0, "{name}");
            assert_eq!(new.pong_received != 0, old.pong_received != 0, "{name}");
            let want = if old.flags.contains(NodeFlags::MYSELF) {
                LinkState::Connected
            } else {
                LinkState::Disconnected
            };
            assert_eq!(new.link, want, "{name}");
        }
        // Nodes named only as a master or migration peer are added, with
        // no flags, as Redis adds them.
        for extra in back
            .nodes
            .iter()
            .filter(|l| !file.nodes.iter().any(|o| o.id == l.id))
        {
            assert_eq!(extra.flags, NodeFlags::empty(), "{name}");
            assert_eq!(extra.to_string().split(' ').nth(2), Some("noflags"));
        }
        // And the file it writes parses again into the same node.
        let again = NodesConf::parse(&back.to_string()).unwrap();
        let config = node.config().clone();
        let node2 = ClusterNode::from_nodes_conf(&again, config, NOW).unwrap();
        assert_eq!(node2.to_nodes_conf(), back, "{name}");
        checked += 1;
    }
    assert!(checked >= 7, "{checked} fixtures");
}
