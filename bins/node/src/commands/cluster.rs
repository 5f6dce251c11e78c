//! Cluster commands: `CLUSTER <subcommand>`, `ASKING`, `READONLY`,
//! `READWRITE`. Outside cluster mode each answers Redis' "cluster support
//! disabled" error.

use ferrodis_resp::Request;
use ferrodis_slots::{key_slot, Slot};

use super::flags::*;
use super::{arg, int_arg, spec, Ctx, Spec};
use crate::cluster::reply::{self, EndpointType};

const DISABLED: &str = "ERR This instance has cluster support disabled";

pub(super) fn specs() -> Vec<Spec> {
    vec![
        spec("cluster", -2, 0, (0, 0, 0), cluster),
        spec("asking", 1, FAST, (0, 0, 0), asking),
        spec("readonly", 1, LOADING | STALE | FAST, (0, 0, 0), readonly),
        spec("readwrite", 1, LOADING | STALE | FAST, (0, 0, 0), readwrite),
    ]
}

/// ASKING: the next command may touch a slot this node is importing.
fn asking(ctx: &mut Ctx<'_>, _req: &Request) {
    if ctx.shared.cluster.is_none() {
        ctx.error(DISABLED);
        return;
    }
    ctx.client.asking = true;
    ctx.ok();
}

/// READONLY: a replica serves reads of its master's slots to this client.
fn readonly(ctx: &mut Ctx<'_>, _req: &Request) {
    if ctx.shared.cluster.is_none() {
        ctx.error(DISABLED);
        return;
    }
    ctx.client.readonly = true;
    ctx.ok();
}

/// READWRITE: back to redirecting reads to masters.
fn readwrite(ctx: &mut Ctx<'_>, _req: &Request) {
    if ctx.shared.cluster.is_none() {
        ctx.error(DISABLED);
        return;
    }
    ctx.client.readonly = false;
    ctx.ok();
}

/// `CLUSTER <subcommand> [args]`.
fn cluster(ctx: &mut Ctx<'_>, req: &Request) {
    let Some(cluster) = &ctx.shared.cluster else {
        ctx.error(DISABLED);
        return;
    };
    let sub = arg(req, 1).to_ascii_lowercase();
    match (&sub[..], req.len()) {
        (b"myid", 2) => {
            let id = cluster.view().myself;
            ctx.bulk(id.as_str().as_bytes());
        }
        (b"keyslot", 3) => {
            ctx.int(i64::from(key_slot(arg(req, 2)).get()));
        }
        (b"countkeysinslot", 3) => {
            let Some(n) = int_arg(req, 2) else {
                ctx.error("ERR value is not an integer or out of range");
                return;
            };
            let Some(slot) = u16::try_from(n).ok().and_then(Slot::new) else {
                ctx.error("ERR Invalid slot");
                return;
            };
            let count = ctx.db().count_keys_in_slot(slot);
            ctx.uint(count);
        }
        (b"getkeysinslot", 4) => {
            let (Some(n), Some(max)) = (int_arg(req, 2), int_arg(req, 3)) else {
                ctx.error("ERR value is not an integer or out of range");
                return;
            };
            let slot = u16::try_from(n).ok().and_then(Slot::new);
            let (Some(slot), Ok(max)) = (slot, usize::try_from(max)) else {
                ctx.error("ERR Invalid slot or number of keys");
                return;
            };
            let keys = ctx.db().keys_in_slot(slot, max);
            ctx.bulks(keys.iter().map(Vec::as_slice));
        }
        (b"meet", 4 | 5) => meet(ctx, req),
        (b"nodes", 2) => {
            let conf = cluster.nodes_conf();
            let text = ferrodis_slots::cluster_nodes_text(&conf.nodes);
            ctx.verbatim(text.as_bytes());
        }
        (b"slots", 2) => {
            let conf = cluster.nodes_conf();
            let endpoint = EndpointType::from_config(&ctx.shared.config.read());
            reply::slots(ctx, &conf.nodes, |_| 0, endpoint);
        }
        (b"shards", 2) => {
            let conf = cluster.nodes_conf();
            let endpoint = EndpointType::from_config(&ctx.shared.config.read());
            reply::shards(ctx, &conf.nodes, |_| 0, endpoint);
        }
        (b"replicas" | b"slaves", 3) => {
            let conf = cluster.nodes_conf();
            let text = String::from_utf8_lossy(arg(req, 2)).into_owned();
            let known = ferrodis_slots::NodeId::parse(&text)
                .ok()
                .and_then(|id| conf.nodes.iter().find(|n| n.id == id));
            let Some(master) = known else {
                ctx.error(&format!("ERR Unknown node {text}"));
                return;
            };
            if master.flags.contains(ferrodis_slots::NodeFlags::REPLICA) {
                ctx.error("ERR The specified node is not a master");
                return;
            }
            let lines = reply::replica_lines(&conf.nodes, &master.id);
            ctx.bulks(lines.iter().map(String::as_bytes));
        }
        (b"addslots", n) if n >= 3 => {
            let Some(slots) = slot_args(ctx, req) else {
                return;
            };
            let mut node = cluster.node();
            let mut mine = node.slots().clone();
            for s in &slots {
                if mine.contains(*s) || node.peers().values().any(|p| p.slots.contains(*s)) {
                    drop(node);
                    ctx.error(&format!("ERR Slot {s} is already busy"));
                    return;
                }
            }
            for s in slots {
                mine.insert(s);
            }
            node.set_slots(mine);
            drop(node);
            cluster.after_change(ctx.shared);
            ctx.ok();
        }
        (b"info", 2) => {
            let view = cluster.view();
            let node = cluster.node();
            let assigned = view.slots.assigned().count();
            let known = 1 + node.peers().len();
            let masters = view
                .slots
                .owners()
                .collect::<std::collections::BTreeSet<_>>()
                .len();
            let text = format!(
                "cluster_state:{}\r\ncluster_slots_assigned:{assigned}\r\ncluster_slots_ok:{assigned}\r\ncluster_slots_pfail:0\r\ncluster_slots_fail:0\r\ncluster_known_nodes:{known}\r\ncluster_size:{masters}\r\ncluster_current_epoch:{}\r\ncluster_my_epoch:0\r\n",
                if view.ok { "ok" } else { "fail" },
                node.current_epoch().0,
            );
            drop(node);
            ctx.verbatim(text.as_bytes());
        }
        _ => unknown_subcommand(ctx, req),
    }
}

/// `CLUSTER MEET ip port [cport]`.
fn meet(ctx: &mut Ctx<'_>, req: &Request) {
    let Some(cluster) = &ctx.shared.cluster else {
        return;
    };
    let ip_text = String::from_utf8_lossy(arg(req, 2)).into_owned();
    let port = int_arg(req, 3).and_then(|p| u16::try_from(p).ok());
    let cport = if req.len() == 5 {
        int_arg(req, 4).and_then(|p| u16::try_from(p).ok())
    } else {
        port.map(|p| p.wrapping_add(10000))
    };
    let (Some(port), Some(cport)) = (port, cport) else {
        ctx.error(&format!(
            "ERR Invalid base port specified: {}",
            String::from_utf8_lossy(arg(req, 3))
        ));
        return;
    };
    let ip = ip_text
        .parse::<std::net::IpAddr>()
        .ok()
        .and_then(|ip| ferrodis_bus::types::NodeIp::new(ip.to_string().as_bytes()));
    let Some(ip) = ip else {
        ctx.error(&format!(
            "ERR Invalid node address specified: {ip_text}:{port}"
        ));
        return;
    };
    cluster
        .node()
        .meet(ip, port, cport, crate::shared::unix_ms());
    cluster.run(Vec::new());
    ctx.ok();
}

/// The slot arguments of ADDSLOTS / DELSLOTS; `None` after replying with
/// the error.
fn slot_args(ctx: &mut Ctx<'_>, req: &Request) -> Option<Vec<u16>> {
    let mut slots = Vec::new();
    for i in 2..req.len() {
        let Some(s) = int_arg(req, i)
            .and_then(|n| u16::try_from(n).ok())
            .filter(|&n| n < ferrodis_slots::SLOT_COUNT)
        else {
            ctx.error("ERR Invalid or out of range slot");
            return None;
        };
        if slots.contains(&s) {
            ctx.error(&format!("ERR Slot {s} specified multiple times"));
            return None;
        }
        slots.push(s);
    }
    Some(slots)
}

fn unknown_subcommand(ctx: &mut Ctx<'_>, req: &Request) {
    ctx.error(&format!(
        "ERR unknown subcommand '{}'. Try CLUSTER HELP.",
        String::from_utf8_lossy(arg(req, 1))
    ));
}
