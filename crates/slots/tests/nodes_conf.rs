//! `nodes.conf` files and `CLUSTER NODES` replies written by the reference
//! `redis-server` 7.0.15 (`fixtures/generate.sh`): each parses, prints back
//! byte for byte, and says what the cluster was in when it was written.
//! Then the property tests: printed values parse back to themselves, and
//! arbitrary text never panics the parser.

use std::collections::BTreeMap;

use ferrodis_slots::{
    cluster_nodes_text, parse_cluster_nodes, AuxField, LinkState, Migration, NodeAddr, NodeFlags,
    NodeId, NodeLine, NodesConf, Slot, SlotRange, SlotSet,
};
use proptest::prelude::*;

/// The `nodes.conf` fixtures, by name.
const CONF_FIXTURES: &[(&str, &str)] = &[
    ("fresh-node.conf", include_str!("fixtures/fresh-node.conf")),
    (
        "master-migrating.conf",
        include_str!("fixtures/master-migrating.conf"),
    ),
    (
        "master-importing.conf",
        include_str!("fixtures/master-importing.conf"),
    ),
    (
        "master-after-failover.conf",
        include_str!("fixtures/master-after-failover.conf"),
    ),
    (
        "replica-after-failover.conf",
        include_str!("fixtures/replica-after-failover.conf"),
    ),
    (
        "replica-hostname.conf",
        include_str!("fixtures/replica-hostname.conf"),
    ),
    (
        "replica-nofailover.conf",
        include_str!("fixtures/replica-nofailover.conf"),
    ),
    (
        "replica-pfail.conf",
        include_str!("fixtures/replica-pfail.conf"),
    ),
];

/// The `CLUSTER NODES` replies, by name.
const CLUSTER_NODES_FIXTURES: &[(&str, &str)] = &[
    (
        "fresh-node.cluster-nodes",
        include_str!("fixtures/fresh-node.cluster-nodes"),
    ),
    (
        "master-migrating.cluster-nodes",
        include_str!("fixtures/master-migrating.cluster-nodes"),
    ),
    (
        "handshake.cluster-nodes",
        include_str!("fixtures/handshake.cluster-nodes"),
    ),
];

fn conf(name: &str) -> NodesConf {
    let (_, text) = CONF_FIXTURES
        .iter()
        .find(|(n, _)| *n == name)
        .expect("fixture");
    NodesConf::parse(text).expect("fixture parses")
}

fn myself(conf: &NodesConf) -> &NodeLine {
    conf.myself().expect("a myself line")
}

fn slot(n: u16) -> Slot {
    Slot::new(n).expect("slot")
}

#[test]
fn every_fixture_prints_back_byte_for_byte() {
    for (name, text) in CONF_FIXTURES {
        let parsed = NodesConf::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&parsed.to_string(), text, "{name}");
    }
    for (name, text) in CLUSTER_NODES_FIXTURES {
        let nodes = parse_cluster_nodes(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&cluster_nodes_text(&nodes), text, "{name}");
        let me = nodes
            .iter()
            .filter(|n| n.flags.contains(NodeFlags::MYSELF))
            .count();
        assert_eq!(me, 1, "{name}");
    }
}

#[test]
fn a_fresh_node_knows_only_itself() {
    let c = conf("fresh-node.conf");
    assert_eq!(c.nodes.len(), 1);
    let me = myself(&c);
    assert_eq!(me.flags, NodeFlags::MYSELF | NodeFlags::MASTER);
    assert_eq!(
        (me.addr.ip.as_str(), me.addr.port, me.addr.bus_port),
        ("", 0, 0)
    );
    assert!(me.slots.is_empty());
    assert_eq!((c.current_epoch, c.last_vote_epoch), (0, 0));
}

#[test]
fn the_migrating_master() {
    let c = conf("master-migrating.conf");
    let me = myself(&c);
    assert_eq!(me.slots.to_string(), "0-299 301-399 401-5460");
    let migrations: Vec<(u16, &str)> = me
        .migrations
        .iter()
        .map(|(s, m)| {
            let dir = match m {
                Migration::Migrating { .. } => "->",
                Migration::Importing { .. } => "<-",
            };
            (s.get(), dir)
        })
        .collect();
    assert_eq!(
        migrations,
        [(100, "->"), (5460, "->"), (16000, "<-"), (16383, "<-")]
    );
    // Only the myself line lists migrations.
    assert!(c
        .nodes
        .iter()
        .all(|n| n.migrations.is_empty() || n.flags.contains(NodeFlags::MYSELF)));
    // It voted in the failover.
    assert_eq!((c.current_epoch, c.last_vote_epoch), (7, 7));

    let map = c.slot_map();
    assert_eq!(map.unassigned().to_string(), "400 16000 16383");
    assert_eq!(map.owner(slot(300)), map.owner(slot(5461)));
    assert_eq!(
        map.migration(slot(100)).map(Migration::peer),
        map.owner(slot(300))
    );
    assert_eq!(map.migrations().count(), 4);

    // The failed master whose address was taken by a new node.
    let gone = c
        .nodes
        .iter()
        .find(|n| n.flags.contains(NodeFlags::NOADDR))
        .expect("a noaddr node");
    assert_eq!(
        gone.flags,
        NodeFlags::MASTER | NodeFlags::FAIL | NodeFlags::NOADDR
    );
    assert_eq!(gone.link, LinkState::Disconnected);
    assert_eq!(gone.addr.to_string(), ":0@0");
    assert!(gone.ping_sent > 0);
}

#[test]
fn replicas() {
    let c = conf("replica-hostname.conf");
    let me = myself(&c);
    assert_eq!(me.flags, NodeFlags::MYSELF | NodeFlags::REPLICA);
    assert_eq!(me.addr.hostname, "replica-a.example");
    let master = me.master.expect("a master");
    assert!(c
        .nodes
        .iter()
        .any(|n| n.id == master && n.flags.contains(NodeFlags::MASTER)));

    let c = conf("replica-nofailover.conf");
    assert_eq!(
        myself(&c).flags,
        NodeFlags::MYSELF | NodeFlags::REPLICA | NodeFlags::NOFAILOVER
    );

    let c = conf("replica-pfail.conf");
    let stopped = c
        .nodes
        .iter()
        .find(|n| n.flags.contains(NodeFlags::PFAIL))
        .expect("a fail? node");
    assert_eq!(stopped.flags.to_string(), "slave,fail?");
    assert!(stopped.ping_sent > 0);

    // The old master turned replica: no slots, no migrations left.
    let c = conf("replica-after-failover.conf");
    let me = myself(&c);
    assert!(me.flags.contains(NodeFlags::REPLICA));
    assert!(me.slots.is_empty() && me.migrations.is_empty());
    // It never learned that slot 400 was given up: its map covers all.
    assert!(c.slot_map().covers_all());
}

#[test]
fn handshake_nodes_show_in_cluster_nodes_only() {
    let (_, text) = CLUSTER_NODES_FIXTURES[2];
    let nodes = parse_cluster_nodes(text).expect("parses");
    let hs = nodes
        .iter()
        .find(|n| n.flags.contains(NodeFlags::HANDSHAKE))
        .expect("a handshake node");
    assert_eq!(hs.flags, NodeFlags::HANDSHAKE);
    assert_eq!((hs.ping_sent, hs.pong_received, hs.config_epoch), (0, 0, 0));
    for (name, text) in CONF_FIXTURES {
        assert!(!text.contains("handshake"), "{name}");
    }
}

#[test]
fn errors_name_the_line() {
    let (_, text) = CONF_FIXTURES[1];
    let mut lines: Vec<&str> = text.lines().collect();
    lines[2] =
        "0123456789012345678901234567890123456789 127.0.0.1:1@2 master - 0 0 0 connected 9-1";
    let err = NodesConf::parse(&lines.join("\n")).expect_err("reversed range");
    assert_eq!(err.line, 3);
    assert_eq!(
        err.to_string(),
        "line 3: slot range 9-1 ends before it starts"
    );
}

// ---- Properties ----

fn arb_id() -> impl Strategy<Value = NodeId> {
    prop_oneof![
        any::<[u8; 20]>().prop_map(NodeId::from_random),
        "[0-9a-z]{40}".prop_map(|s| NodeId::parse(&s).expect("id")),
    ]
}

fn arb_slots() -> impl Strategy<Value = SlotSet> {
    prop::collection::vec((0u16..16384, 0u16..2000), 0..6).prop_map(|v| {
        v.into_iter()
            .filter_map(|(s, len)| SlotRange::new(slot(s), slot(s.saturating_add(len).min(16383))))
            .collect()
    })
}

fn arb_addr() -> impl Strategy<Value = NodeAddr> {
    let ip = prop_oneof![
        Just(String::new()),
        Just("127.0.0.1".to_owned()),
        Just("::1".to_owned()),
        "[0-9]{1,3}(\\.[0-9]{1,3}){3}",
        "[0-9a-f]{1,4}(:[0-9a-f]{0,4}){2,7}",
    ];
    let aux = prop::collection::vec(
        ("[a-z][a-z-]{0,9}", "[a-zA-Z0-9._-]{0,12}")
            .prop_map(|(name, value)| AuxField { name, value }),
        0..3,
    );
    (
        ip,
        any::<u16>(),
        any::<u16>(),
        "|[a-z0-9][a-z0-9.-]{0,20}",
        aux,
    )
        .prop_map(|(ip, port, bus_port, hostname, aux)| NodeAddr {
            ip,
            port,
            bus_port,
            hostname,
            aux,
        })
}

fn arb_migrations() -> impl Strategy<Value = BTreeMap<Slot, Migration>> {
    prop::collection::btree_map(
        (0u16..16384).prop_map(slot),
        (any::<bool>(), arb_id()).prop_map(|(out, id)| {
            if out {
                Migration::Migrating { to: id }
            } else {
                Migration::Importing { from: id }
            }
        }),
        0..4,
    )
}

fn arb_line() -> impl Strategy<Value = NodeLine> {
    (
        (arb_id(), arb_addr(), 0u16..1024, prop::option::of(arb_id())),
        (any::<u64>(), any::<u64>(), any::<u64>(), any::<bool>()),
        (arb_slots(), arb_migrations()),
    )
        .prop_map(
            |(
                (id, addr, flags, master),
                (ping_sent, pong_received, config_epoch, connected),
                (slots, migrations),
            )| {
                // Only the flags that print: the others do not survive a
                // round trip through text.
                let printed = NodeFlags::from_bits(flags);
                let mut flags = NodeFlags::empty();
                for f in [
                    NodeFlags::MASTER,
                    NodeFlags::REPLICA,
                    NodeFlags::PFAIL,
                    NodeFlags::FAIL,
                    NodeFlags::HANDSHAKE,
                    NodeFlags::NOADDR,
                    NodeFlags::NOFAILOVER,
                ] {
                    if printed.contains(f) {
                        flags.insert(f);
                    }
                }
                NodeLine {
                    id,
                    addr,
                    flags,
                    master,
                    ping_sent,
                    pong_received,
                    config_epoch,
                    link: if connected {
                        LinkState::Connected
                    } else {
                        LinkState::Disconnected
                    },
                    slots,
                    migrations,
                }
            },
        )
}

fn arb_conf() -> impl Strategy<Value = NodesConf> {
    (
        prop::collection::vec(arb_line(), 1..6),
        any::<prop::sample::Index>(),
        any::<u64>(),
        any::<u64>(),
    )
        .prop_map(|(mut nodes, me, current_epoch, last_vote_epoch)| {
            nodes.sort_by_key(|n| n.id);
            nodes.dedup_by_key(|n| n.id);
            let at = me.index(nodes.len());
            nodes[at].flags.insert(NodeFlags::MYSELF);
            NodesConf {
                nodes,
                current_epoch,
                last_vote_epoch,
            }
        })
}

proptest! {
    #[test]
    fn printed_conf_parses_back(conf in arb_conf()) {
        let text = conf.to_string();
        prop_assert_eq!(NodesConf::parse(&text), Ok(conf.clone()));
        let lines = parse_cluster_nodes(&cluster_nodes_text(&conf.nodes));
        let mut public = conf.nodes.clone();
        for n in &mut public {
            n.addr.aux.clear();
        }
        prop_assert_eq!(lines, Ok(public));
    }

    #[test]
    fn printed_line_parses_back(line in arb_line()) {
        prop_assert_eq!(NodeLine::parse(&line.to_string()), Ok(line));
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        if let Ok(conf) = NodesConf::parse(&text) {
            prop_assert_eq!(NodesConf::parse(&conf.to_string()), Ok(conf));
        }
        let _ = parse_cluster_nodes(&text);
    }

    #[test]
    fn mangled_fixtures_never_panic(
        which in 0..CONF_FIXTURES.len(),
        at in any::<prop::sample::Index>(),
        cut in 0usize..40,
        insert in "[ \\n0-9a-z,:@\\[\\]<>?=-]{0,6}",
    ) {
        let (_, text) = CONF_FIXTURES[which];
        let mut at = at.index(text.len());
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let end = (at + cut).min(text.len());
        let mangled = format!("{}{}{}", &text[..at], insert, text.get(end..).unwrap_or(""));
        if let Ok(conf) = NodesConf::parse(&mangled) {
            prop_assert_eq!(NodesConf::parse(&conf.to_string()), Ok(conf));
        }
    }
}
