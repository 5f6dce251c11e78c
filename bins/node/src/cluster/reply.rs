//! The replies of CLUSTER SLOTS, SHARDS, NODES and REPLICAS, built from the
//! node lines of the cluster state (the format of `nodes.conf`), shaped as
//! Redis 7.0 shapes them.

use ferrodis_slots::{NodeFlags, NodeId, NodeLine, SlotRange};

use crate::commands::Ctx;

/// `cluster-preferred-endpoint-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EndpointType {
    Ip,
    Hostname,
    Unknown,
}

impl EndpointType {
    pub(crate) fn from_config(config: &crate::config::Config) -> EndpointType {
        let value = config
            .get(&[b"cluster-preferred-endpoint-type".as_slice()])
            .into_iter()
            .next()
            .map(|(_, v)| v)
            .unwrap_or_default();
        match value.as_str() {
            "hostname" => EndpointType::Hostname,
            "unknown-endpoint" => EndpointType::Unknown,
            _ => EndpointType::Ip,
        }
    }

    /// The endpoint clients are told to use for `n` (`-MOVED`, SLOTS).
    pub(crate) fn of(self, n: &NodeLine) -> String {
        self.pick(&n.addr.ip, &n.addr.hostname)
    }

    /// [`EndpointType::of`] for a node of the state machine.
    pub(crate) fn of_node(self, n: &ferrodis_bus::cluster::Node) -> String {
        self.pick(&n.ip, &n.hostname)
    }

    fn pick(self, ip: &str, hostname: &str) -> String {
        match self {
            EndpointType::Ip => ip.to_owned(),
            EndpointType::Hostname if hostname.is_empty() => "?".to_owned(),
            EndpointType::Hostname => hostname.to_owned(),
            EndpointType::Unknown => String::new(),
        }
    }
}

fn is_replica(n: &NodeLine) -> bool {
    n.flags.contains(NodeFlags::REPLICA)
}

fn failed(n: &NodeLine) -> bool {
    n.flags.contains(NodeFlags::FAIL)
}

fn replicas_of<'a>(
    nodes: &'a [NodeLine],
    master: &'a NodeId,
) -> impl Iterator<Item = &'a NodeLine> {
    nodes
        .iter()
        .filter(move |n| is_replica(n) && n.master.as_ref() == Some(master))
}

/// One node of a CLUSTER SLOTS entry: endpoint, port, id, and a map of
/// the other networking facts.
fn slot_node(ctx: &mut Ctx<'_>, n: &NodeLine, endpoint: EndpointType) {
    ctx.array(4);
    if endpoint == EndpointType::Unknown {
        ctx.null();
    } else {
        ctx.bulk(endpoint.of(n).as_bytes());
    }
    ctx.int(i64::from(n.addr.port));
    ctx.bulk(n.id.as_str().as_bytes());
    let show_ip = endpoint != EndpointType::Ip;
    let show_host = endpoint != EndpointType::Hostname && !n.addr.hostname.is_empty();
    ctx.map(usize::from(show_ip) + usize::from(show_host));
    if show_ip {
        ctx.bulk(b"ip");
        ctx.bulk(n.addr.ip.as_bytes());
    }
    if show_host {
        ctx.bulk(b"hostname");
        ctx.bulk(n.addr.hostname.as_bytes());
    }
}

/// CLUSTER SLOTS: each run of slots of one master, with the master and its
/// replicas that are up and have replicated something (offsets of
/// replicas, indexed like `nodes`; 0 hides a replica, as in Redis).
pub(crate) fn slots(
    ctx: &mut Ctx<'_>,
    nodes: &[NodeLine],
    offsets: impl Fn(&NodeId) -> u64,
    endpoint: EndpointType,
) {
    let mut runs: Vec<(SlotRange, &NodeLine)> = Vec::new();
    for n in nodes.iter().filter(|n| !is_replica(n)) {
        for r in n.slots.ranges() {
            runs.push((r, n));
        }
    }
    runs.sort_by_key(|(r, _)| r.start());
    ctx.array(runs.len());
    for (range, master) in runs {
        let replicas: Vec<&NodeLine> = replicas_of(nodes, &master.id)
            .filter(|r| !failed(r) && offsets(&r.id) != 0)
            .collect();
        ctx.array(3 + replicas.len());
        ctx.int(i64::from(range.start().get()));
        ctx.int(i64::from(range.end().get()));
        slot_node(ctx, master, endpoint);
        for r in replicas {
            slot_node(ctx, r, endpoint);
        }
    }
}

/// CLUSTER SHARDS: each master with its slots, then it and its replicas
/// in detail.
pub(crate) fn shards(
    ctx: &mut Ctx<'_>,
    nodes: &[NodeLine],
    offsets: impl Fn(&NodeId) -> u64,
    endpoint: EndpointType,
) {
    let masters: Vec<&NodeLine> = nodes.iter().filter(|n| !is_replica(n)).collect();
    ctx.array(masters.len());
    for m in masters {
        ctx.map(2);
        ctx.bulk(b"slots");
        let ranges: Vec<SlotRange> = m.slots.ranges().collect();
        ctx.array(ranges.len() * 2);
        for r in ranges {
            ctx.int(i64::from(r.start().get()));
            ctx.int(i64::from(r.end().get()));
        }
        ctx.bulk(b"nodes");
        let members: Vec<&NodeLine> = std::iter::once(m)
            .chain(replicas_of(nodes, &m.id))
            .collect();
        ctx.array(members.len());
        for n in members {
            let offset = offsets(&n.id);
            let host = !n.addr.hostname.is_empty();
            ctx.map(7 + usize::from(host));
            ctx.bulk(b"id");
            ctx.bulk(n.id.as_str().as_bytes());
            ctx.bulk(b"port");
            ctx.int(i64::from(n.addr.port));
            ctx.bulk(b"ip");
            ctx.bulk(n.addr.ip.as_bytes());
            ctx.bulk(b"endpoint");
            ctx.bulk(endpoint.of(n).as_bytes());
            if host {
                ctx.bulk(b"hostname");
                ctx.bulk(n.addr.hostname.as_bytes());
            }
            ctx.bulk(b"role");
            ctx.bulk(if is_replica(n) {
                b"replica".as_slice()
            } else {
                b"master"
            });
            ctx.bulk(b"replication-offset");
            ctx.int(i64::try_from(offset).unwrap_or(i64::MAX));
            ctx.bulk(b"health");
            let health: &[u8] = if failed(n) {
                b"fail"
            } else if is_replica(n) && offset == 0 {
                b"loading"
            } else {
                b"online"
            };
            ctx.bulk(health);
        }
    }
}

/// CLUSTER REPLICAS / SLAVES: the node lines of a master's replicas.
pub(crate) fn replica_lines(nodes: &[NodeLine], master: &NodeId) -> Vec<String> {
    replicas_of(nodes, master)
        .map(|n| {
            ferrodis_slots::cluster_nodes_text(std::iter::once(n))
                .trim_end()
                .to_owned()
        })
        .collect()
}
