//! The `nodes.conf` parser on arbitrary bytes, as a node meets its file
//! at start (and the same lines as `CLUSTER NODES` replies): it must never
//! panic, what it accepts must hold exactly one `myself` line and no node
//! twice, and printing it must give text that parses to the same value and
//! prints the same again.
#![no_main]

use ferrodis_slots::{
    cluster_nodes_text, parse_cluster_nodes, NodeFlags, NodeLine, NodesConf, NodesConfErrorKind,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);

    match NodesConf::parse(&text) {
        Ok(conf) => {
            let me = conf
                .nodes
                .iter()
                .filter(|n| n.flags.contains(NodeFlags::MYSELF))
                .count();
            assert_eq!(me, 1);
            for (i, n) in conf.nodes.iter().enumerate() {
                assert!(conf.nodes[..i].iter().all(|o| o.id != n.id));
            }
            let printed = conf.to_string();
            let again = NodesConf::parse(&printed).expect("printed text parses");
            assert_eq!(again, conf);
            assert_eq!(again.to_string(), printed);
            let map = conf.slot_map();
            assert!(map.assigned().count() <= 16384);
        }
        Err(e) => {
            let lines = text.split('\n').count();
            assert!(e.line <= lines);
            assert_eq!(e.line == 0, e.kind == NodesConfErrorKind::NoMyself);
        }
    }

    if let Ok(nodes) = parse_cluster_nodes(&text) {
        let printed = cluster_nodes_text(&nodes);
        let again = parse_cluster_nodes(&printed).expect("printed reply parses");
        assert_eq!(cluster_nodes_text(&again), printed);
    }

    if let Some(first) = text.lines().next() {
        if let Ok(line) = NodeLine::parse(first) {
            assert_eq!(NodeLine::parse(&line.to_string()), Ok(line));
        }
    }
});
