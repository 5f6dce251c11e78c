//! Cluster commands: `CLUSTER <subcommand>`, `ASKING`, `READONLY`,
//! `READWRITE`. Outside cluster mode each answers Redis' "cluster support
//! disabled" error. The subcommands that change the cluster call the bus
//! state machine (`ferrodis_bus::cluster`), whose errors carry Redis'
//! texts; the bus thread then carries out what they ask for.

use ferrodis_bus::cluster::ClusterError;
use ferrodis_resp::Request;
use ferrodis_slots::{key_slot, NodeId, Slot};

use super::flags::*;
use super::{arg, int_arg, spec, Ctx, Spec};
use crate::cluster::reply::{self, EndpointType};
use crate::cluster::slotmig;
use crate::cluster::Cluster;
use crate::shared::unix_ms;

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
    let argc = req.len();
    match (&sub[..], argc) {
        (b"help", 2) => help(ctx),
        (b"myid", 2) => {
            let id = cluster.node().id();
            ctx.bulk(id.as_str().as_bytes());
        }
        (b"myshardid", 2) => {
            // Redis 7.0 has no shard ids; a shard is named after its master.
            let node = cluster.node();
            let me = node.myself();
            let id = me.replica_of.unwrap_or(me.id);
            drop(node);
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
        (b"info", 2) => {
            let text = cluster.node().info().to_string();
            ctx.verbatim(text.as_bytes());
        }
        (b"nodes", 2) => {
            let lines = cluster.node().cluster_nodes();
            let text = ferrodis_slots::cluster_nodes_text(&lines);
            ctx.verbatim(text.as_bytes());
        }
        (b"slots", 2) | (b"shards", 2) => {
            let node = cluster.node();
            let lines = node.cluster_nodes();
            let offsets: std::collections::HashMap<NodeId, u64> =
                node.nodes().map(|n| (n.id, n.repl_offset)).collect();
            drop(node);
            let endpoint = EndpointType::from_config(&ctx.shared.config.read());
            let offset = |id: &NodeId| offsets.get(id).copied().unwrap_or(0);
            if sub == b"slots" {
                reply::slots(ctx, &lines, offset, endpoint);
            } else {
                reply::shards(ctx, &lines, offset, endpoint);
            }
        }
        (b"replicas" | b"slaves", 3) => {
            let node = cluster.node();
            let result = node_id(req, 2).and_then(|id| node.replicas(&id).map(|r| (id, r.len())));
            let lines = node.cluster_nodes();
            drop(node);
            match result {
                Ok((id, _)) => {
                    let lines = reply::replica_lines(&lines, &id);
                    ctx.bulks(lines.iter().map(String::as_bytes));
                }
                Err(e) => ctx.error(&e.to_string()),
            }
        }
        (b"links", 2) => links(ctx, cluster),
        (b"meet", 4 | 5) => {
            let ip = String::from_utf8_lossy(arg(req, 2)).into_owned();
            let Some(port) = int_arg(req, 3) else {
                ctx.error(&format!(
                    "ERR Invalid TCP base port specified: {}",
                    String::from_utf8_lossy(arg(req, 3))
                ));
                return;
            };
            let cport = if argc == 5 {
                let Some(c) = int_arg(req, 4) else {
                    ctx.error(&format!(
                        "ERR Invalid TCP bus port specified: {}",
                        String::from_utf8_lossy(arg(req, 4))
                    ));
                    return;
                };
                c
            } else {
                port + 10000
            };
            let result = cluster.node().meet(&ip, port, cport, unix_ms());
            done(ctx, cluster, result.map(|()| Vec::new()));
        }
        (b"addslots" | b"delslots", n) if n >= 3 => {
            let slots: Result<Vec<Slot>, ClusterError> = (2..n).map(|i| slot_arg(req, i)).collect();
            let result = slots.and_then(|slots| {
                let mut node = cluster.node();
                if sub == b"addslots" {
                    node.add_slots(&slots)
                } else {
                    node.del_slots(&slots)
                }
            });
            done(ctx, cluster, result.map(|()| Vec::new()));
        }
        (b"addslotsrange" | b"delslotsrange", n) if n >= 4 && n % 2 == 0 => {
            let mut slots = Vec::new();
            for i in (2..n).step_by(2) {
                let (start, end) = match (slot_arg(req, i), slot_arg(req, i + 1)) {
                    (Ok(s), Ok(e)) => (s, e),
                    (Err(e), _) | (_, Err(e)) => {
                        ctx.error(&e.to_string());
                        return;
                    }
                };
                if start.get() > end.get() {
                    ctx.error(
                        &ClusterError::SlotRangeReversed {
                            start: start.get(),
                            end: end.get(),
                        }
                        .to_string(),
                    );
                    return;
                }
                slots.extend((start.get()..=end.get()).filter_map(Slot::new));
            }
            let mut node = cluster.node();
            let result = if sub == b"addslotsrange" {
                node.add_slots(&slots)
            } else {
                node.del_slots(&slots)
            };
            drop(node);
            done(ctx, cluster, result.map(|()| Vec::new()));
        }
        (b"flushslots", 2) => {
            if ctx.shared.store.db(0).map_or(0, |d| d.len()) != 0 {
                ctx.error(&ClusterError::FlushSlotsNotEmpty.to_string());
                return;
            }
            let result = cluster.node().flush_slots();
            done(ctx, cluster, result.map(|()| Vec::new()));
        }
        (b"forget", 3) => {
            let result = node_id(req, 2).and_then(|id| cluster.node().forget(&id, unix_ms()));
            done(ctx, cluster, result);
        }
        (b"replicate", 3) => {
            let holds_keys = ctx.shared.store.db(0).map_or(0, |d| d.len()) != 0;
            let result = node_id(req, 2).and_then(|id| {
                let mut node = cluster.node();
                if holds_keys && node.myself().is_master() && node.node(&id).is_some() {
                    return Err(ClusterError::ReplicateNotEmpty);
                }
                node.replicate(&id)?;
                Ok(node.node(&id).map(|n| (n.ip.clone(), n.port)))
            });
            // The data follows the new master: replicate from its client
            // address.
            let result = result.map(|addr| {
                if let (Some((ip, port)), Some(shared)) = (addr, ctx.shared.me()) {
                    crate::repl::replicate_from(&shared, &ip, port);
                }
            });
            done(ctx, cluster, result.map(|()| Vec::new()));
        }
        (b"failover", n) => {
            use ferrodis_bus::cluster::FailoverKind;
            let kind = match req.arg(2) {
                _ if n > 3 => None,
                None => Some(FailoverKind::Default),
                Some(a) if a.eq_ignore_ascii_case(b"force") => Some(FailoverKind::Force),
                Some(a) if a.eq_ignore_ascii_case(b"takeover") => Some(FailoverKind::Takeover),
                Some(_) => None,
            };
            let Some(kind) = kind else {
                ctx.syntax_error();
                return;
            };
            let result = cluster.node().failover(kind, unix_ms());
            done(ctx, cluster, result);
        }
        (b"setslot", n) if n >= 4 => setslot(ctx, cluster, req),
        (b"migrateslots", n) if n >= 4 => match slotmig::migrate_slots(ctx.shared, req) {
            Ok(()) => ctx.ok(),
            Err(e) => ctx.error(&e),
        },
        (b"cancelslotmigrations", 2) => {
            let n = slotmig::cancel_all(ctx.shared);
            ctx.uint(n);
        }
        (b"getslotmigrations", 2) => {
            let rows = slotmig::rows(ctx.shared);
            ctx.array(rows.len());
            for row in rows {
                ctx.map(row.fields.len());
                for (k, v) in row.fields {
                    ctx.bulk(k.as_bytes());
                    ctx.bulk(v.as_bytes());
                }
            }
        }
        (b"syncslots", n) if n >= 3 => {
            let id = ctx.client.id();
            let step = arg(req, 2).to_ascii_lowercase();
            let result = match (&step[..], n) {
                (b"begin", n) if n >= 6 => {
                    slotmig::begin_import(ctx.shared, id, req).map(|()| true)
                }
                (b"commit", 3) => slotmig::commit_import(ctx.shared, id).map(|()| false),
                _ => Err("ERR syntax error".to_owned()),
            };
            match result {
                Ok(importing) => {
                    ctx.client.importer = importing;
                    ctx.ok();
                }
                Err(e) => ctx.error(&e),
            }
        }
        (b"bumpepoch", 2) => {
            let bumped = cluster.node().bump_epoch();
            cluster.after_change(ctx.shared);
            ctx.simple(&bumped.to_string());
        }
        (b"set-config-epoch", 3) => {
            let result = match int_arg(req, 2) {
                Some(e) if e >= 0 => cluster.node().set_config_epoch(e as u64),
                Some(e) => Err(ClusterError::InvalidConfigEpoch(e)),
                None => {
                    ctx.error("ERR value is not an integer or out of range");
                    return;
                }
            };
            done(ctx, cluster, result.map(|()| Vec::new()));
        }
        (b"reset", 2 | 3) => {
            let hard = match (argc, arg(req, 2).to_ascii_lowercase().as_slice()) {
                (2, _) | (3, b"soft") => false,
                (3, b"hard") => true,
                _ => {
                    ctx.syntax_error();
                    return;
                }
            };
            let is_master = cluster.node().myself().is_master();
            if is_master && ctx.shared.store.db(0).map_or(0, |d| d.len()) != 0 {
                ctx.error(&ClusterError::ResetMasterWithKeys.to_string());
                return;
            }
            if !is_master {
                ctx.shared.store.flush_all();
            }
            let result = cluster.node().reset(hard);
            done(ctx, cluster, result);
        }
        (b"count-failure-reports", 3) => {
            let result = node_id(req, 2).and_then(|id| cluster.node().count_failure_reports(&id));
            match result {
                Ok(n) => ctx.uint(n),
                Err(e) => ctx.error(&e.to_string()),
            }
        }
        (b"saveconfig", 2) => match cluster.save() {
            Ok(()) => ctx.ok(),
            Err(e) => ctx.error(&format!("ERR error saving the cluster node config: {e}")),
        },
        _ => unknown_subcommand(ctx, req),
    }
}

/// Replies to a command that changed the cluster state: OK (and the bus
/// thread carries out the actions), or the error.
fn done(
    ctx: &mut Ctx<'_>,
    cluster: &Cluster,
    result: Result<Vec<ferrodis_bus::cluster::Action>, ClusterError>,
) {
    match result {
        Ok(actions) => {
            cluster.after_change(ctx.shared);
            cluster.run(actions);
            ctx.ok();
        }
        Err(e) => ctx.error(&e.to_string()),
    }
}

/// A node id argument; an unknown or malformed one is Redis' "Unknown
/// node" error.
fn node_id(req: &Request, i: usize) -> Result<NodeId, ClusterError> {
    let text = String::from_utf8_lossy(arg(req, i)).into_owned();
    NodeId::parse(&text).map_err(|_| ClusterError::UnknownNode(text))
}

/// A slot argument (`getSlotOrReply`).
fn slot_arg(req: &Request, i: usize) -> Result<Slot, ClusterError> {
    int_arg(req, i)
        .and_then(|n| u16::try_from(n).ok())
        .and_then(Slot::new)
        .ok_or(ClusterError::InvalidSlot)
}

/// `CLUSTER SETSLOT slot IMPORTING id | MIGRATING id | STABLE | NODE id`.
fn setslot(ctx: &mut Ctx<'_>, cluster: &Cluster, req: &Request) {
    let slot = match slot_arg(req, 2) {
        Ok(s) => s,
        Err(e) => {
            ctx.error(&e.to_string());
            return;
        }
    };
    let action = arg(req, 3).to_ascii_lowercase();
    let argc = req.len();
    let result = match (&action[..], argc) {
        (b"stable", 4) => cluster.node().set_slot_stable(slot).map(|()| Vec::new()),
        (b"importing" | b"migrating" | b"node", 5) => {
            let text = String::from_utf8_lossy(arg(req, 4)).into_owned();
            let id = NodeId::parse(&text);
            let mut node = cluster.node();
            match (&action[..], id) {
                (b"importing", Ok(id)) => node.set_slot_importing(slot, &id).map(|()| Vec::new()),
                (b"migrating", Ok(id)) => node.set_slot_migrating(slot, &id).map(|()| Vec::new()),
                (b"node", Ok(id)) => {
                    let keys = ctx
                        .shared
                        .store
                        .db(0)
                        .map_or(0, |d| d.count_keys_in_slot(slot));
                    node.set_slot_node(slot, &id, keys as u64, unix_ms())
                }
                (b"importing" | b"migrating", Err(_)) => Err(ClusterError::DontKnowNode(text)),
                _ => Err(ClusterError::UnknownNode(text)),
            }
        }
        _ => Err(ClusterError::SetSlotSyntax),
    };
    done(ctx, cluster, result);
}

/// CLUSTER LINKS: one map per bus connection.
fn links(ctx: &mut Ctx<'_>, cluster: &Cluster) {
    let links = cluster.node().links();
    ctx.array(links.len());
    for l in links {
        ctx.map(6);
        ctx.bulk(b"direction");
        ctx.bulk(l.direction.as_str().as_bytes());
        ctx.bulk(b"node");
        ctx.bulk(l.node.as_str().as_bytes());
        ctx.bulk(b"create-time");
        ctx.int(i64::try_from(l.created).unwrap_or(i64::MAX));
        ctx.bulk(b"events");
        ctx.bulk(l.events.as_bytes());
        ctx.bulk(b"send-buffer-allocated");
        ctx.int(i64::try_from(l.send_buffer_allocated).unwrap_or(i64::MAX));
        ctx.bulk(b"send-buffer-used");
        ctx.int(i64::try_from(l.send_buffer_used).unwrap_or(i64::MAX));
    }
}

fn help(ctx: &mut Ctx<'_>) {
    const LINES: &[&str] = &[
        "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ADDSLOTS <slot> [<slot> ...]",
        "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
        "BUMPEPOCH",
        "CANCELSLOTMIGRATIONS",
        "COUNT-FAILURE-REPORTS <node-id>",
        "COUNTKEYSINSLOT <slot>",
        "DELSLOTS <slot> [<slot> ...]",
        "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
        "FAILOVER [FORCE|TAKEOVER]",
        "FLUSHSLOTS",
        "FORGET <node-id>",
        "GETKEYSINSLOT <slot> <count>",
        "GETSLOTMIGRATIONS",
        "INFO",
        "KEYSLOT <key>",
        "LINKS",
        "MEET <ip> <port> [<bus-port>]",
        "MIGRATESLOTS SLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...] NODE <node-id>",
        "MYID",
        "MYSHARDID",
        "NODES",
        "REPLICATE <node-id>",
        "RESET [HARD|SOFT]",
        "SET-CONFIG-EPOCH <epoch>",
        "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
        "REPLICAS <node-id>",
        "SAVECONFIG",
        "SHARDS",
        "SLOTS",
        "HELP",
    ];
    ctx.array(LINES.len());
    for l in LINES {
        ctx.simple(l);
    }
}

fn unknown_subcommand(ctx: &mut Ctx<'_>, req: &Request) {
    ctx.error(&format!(
        "ERR unknown subcommand '{}'. Try CLUSTER HELP.",
        String::from_utf8_lossy(arg(req, 1))
    ));
}
