//! Cluster mode (`cluster-enabled yes`): the node's side of Redis Cluster.
//!
//! - `route`: which node serves a command ([`route::route`], Redis'
//!   `getNodeByQuery`), over a [`RouteView`] of the slot map that the
//!   workers read on every keyed command.
//! - `keys`: the keys of a command, movable ones included.
//!
//! The cluster bus state machine (`ferrodis_bus::cluster`) owns the
//! cluster state; the node feeds it sockets and time and publishes a new
//! view after each change.

pub(crate) mod bus;
pub(crate) mod keys;
pub(crate) mod reply;
pub(crate) mod route;

use std::sync::{Arc, OnceLock};

use ferrodis_bus::cluster::ClusterNode;
use ferrodis_resp::Request;
use ferrodis_slots::NodeId;
use parking_lot::{Mutex, MutexGuard, RwLock};

use crate::client::Client;
use crate::commands::{flags, lookup, Spec};
use crate::shared::Shared;
pub(crate) use route::{Redirect, RouteView};

/// The cluster state the node keeps beside the bus state machine.
#[derive(Debug)]
pub(crate) struct Cluster {
    /// What workers route by; replaced as a whole when the state changes.
    view: RwLock<Arc<RouteView>>,
    /// The cluster state machine.
    node: Mutex<ClusterNode>,
    /// The bus thread, once started.
    bus: OnceLock<bus::BusHandle>,
    /// `cluster-config-file`.
    path: String,
    /// The last configuration written (timestamps left out): the file is
    /// written again only when the configuration changes.
    saved: Mutex<String>,
}

impl Cluster {
    pub(crate) fn new(myself: NodeId, node: ClusterNode, path: String) -> Cluster {
        Cluster {
            view: RwLock::new(Arc::new(RouteView::empty(myself))),
            node: Mutex::new(node),
            bus: OnceLock::new(),
            path,
            saved: Mutex::new(String::new()),
        }
    }

    /// The state machine, locked.
    pub(crate) fn node(&self) -> MutexGuard<'_, ClusterNode> {
        self.node.lock()
    }

    /// Has the bus thread carry out what a change of state asks for.
    pub(crate) fn run(&self, actions: Vec<ferrodis_bus::cluster::Action>) {
        if let Some(bus) = self.bus.get() {
            bus.run(actions);
        }
    }

    /// Writes the cluster config file: through a temporary file, fsynced,
    /// then renamed over the old one.
    pub(crate) fn save(&self) -> std::io::Result<()> {
        let conf = self.nodes_conf();
        *self.saved.lock() = config_key(&conf);
        let text = conf.to_string();
        let path = &self.path;
        let tmp = format!("{path}.tmp-{}", std::process::id());
        {
            let mut f = std::fs::File::create(&tmp)?;
            std::io::Write::write_all(&mut f, text.as_bytes())?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)
    }

    /// What the cluster config file holds now.
    pub(crate) fn nodes_conf(&self) -> ferrodis_slots::NodesConf {
        let node = self.node();
        let mut nodes = Vec::new();
        let view = self.view();
        let my_ip = view
            .endpoints
            .get(&view.myself)
            .map(|e| e.host.clone())
            .unwrap_or_default();
        nodes.push(ferrodis_slots::NodeLine {
            id: view.myself,
            addr: ferrodis_slots::NodeAddr {
                ip: my_ip,
                port: node.config().port,
                bus_port: node.config().cport,
                hostname: String::new(),
                aux: Vec::new(),
            },
            flags: ferrodis_slots::NodeFlags::MYSELF | ferrodis_slots::NodeFlags::MASTER,
            master: None,
            ping_sent: 0,
            pong_received: 0,
            config_epoch: 0,
            link: ferrodis_slots::LinkState::Connected,
            slots: bitmap_set(node.slots().iter()),
            migrations: Default::default(),
        });
        for p in node.peers().values() {
            let Ok(id) = NodeId::from_bytes(p.id.as_bytes()) else {
                continue;
            };
            nodes.push(ferrodis_slots::NodeLine {
                id,
                addr: ferrodis_slots::NodeAddr {
                    ip: String::from_utf8_lossy(p.ip.as_bytes()).into_owned(),
                    port: p.port,
                    bus_port: p.cport,
                    hostname: String::new(),
                    aux: Vec::new(),
                },
                flags: ferrodis_slots::NodeFlags::from_bits(p.flags.0),
                master: None,
                ping_sent: p.ping_sent,
                pong_received: p.pong_received,
                config_epoch: p.config_epoch.0,
                link: if p.link.is_some() {
                    ferrodis_slots::LinkState::Connected
                } else {
                    ferrodis_slots::LinkState::Disconnected
                },
                slots: bitmap_set(p.slots.iter()),
                migrations: Default::default(),
            });
        }
        ferrodis_slots::NodesConf {
            nodes,
            current_epoch: node.current_epoch().0,
            last_vote_epoch: 0,
        }
    }

    /// After the state machine ran: publishes the routing view of its
    /// state.
    pub(crate) fn after_change(&self, shared: &Shared) {
        let view = view_of(&self.node(), shared);
        self.set_view(view);
        let key = config_key(&self.nodes_conf());
        if *self.saved.lock() != key {
            if let Err(e) = self.save() {
                crate::log::warning(&format!(
                    "Could not save the cluster config file {}: {e}",
                    self.path
                ));
            }
        }
    }

    /// The current routing view.
    pub(crate) fn view(&self) -> Arc<RouteView> {
        Arc::clone(&self.view.read())
    }

    /// Publishes a new routing view.
    pub(crate) fn set_view(&self, view: RouteView) {
        *self.view.write() = Arc::new(view);
    }
}

/// The cluster check of a command about to run (or be queued) for
/// `client`: `Err` with the redirection or error to reply instead.
/// Commands without keys pass, except EXEC, which is checked for all the
/// commands it would run.
pub(crate) fn check(
    shared: &Shared,
    cluster: &Cluster,
    client: &Client,
    spec: &Spec,
    req: &Request,
) -> Result<(), Redirect> {
    let mut query = route::Query {
        asking: client.asking,
        readonly: client.readonly,
        pubsub_shard: matches!(spec.name, "spublish" | "ssubscribe" | "sunsubscribe"),
        migrate: spec.name == "migrate",
        ..route::Query::default()
    };
    if spec.name == "exec" {
        let Some(multi) = &client.multi else {
            return Ok(());
        };
        for queued in &multi.queued {
            let Some(s) = queued.arg(0).and_then(lookup) else {
                continue;
            };
            query.write |= s.has(flags::WRITE);
            for i in keys::key_positions(s, queued) {
                if let Some(k) = queued.arg(i) {
                    query.keys.push(k);
                }
            }
        }
    } else {
        query.write = spec.has(flags::WRITE);
        for i in keys::key_positions(spec, req) {
            if let Some(k) = req.arg(i) {
                query.keys.push(k);
            }
        }
    }
    if query.keys.is_empty() {
        return Ok(());
    }
    {
        let config = shared.config.read();
        query.allow_reads_when_down = config
            .get_bool("cluster-allow-reads-when-down")
            .unwrap_or(false);
        query.allow_pubsub_shard_when_down = config
            .get_bool("cluster-allow-pubsubshard-when-down")
            .unwrap_or(true);
    }
    let view = cluster.view();
    let db = shared.store.db(0).ok();
    route::route(&view, &query, |key| {
        db.as_ref().is_some_and(|d| d.contains(key))
    })
}

/// The routing view of the state machine's state.
fn view_of(node: &ClusterNode, shared: &Shared) -> RouteView {
    use ferrodis_bus::types::NodeFlags;
    let to_id = |id: &ferrodis_bus::types::NodeId| NodeId::from_bytes(id.as_bytes()).ok();
    let Some(myself) = to_id(&node.id()) else {
        return RouteView::empty(NodeId::from_random([0; 20]));
    };
    let mut view = RouteView::empty(myself);
    let my_ip = shared
        .config
        .read()
        .get_str("cluster-announce-ip")
        .filter(|s| !s.is_empty())
        .unwrap_or("127.0.0.1")
        .to_owned();
    view.endpoints.insert(
        myself,
        route::Endpoint {
            host: my_ip,
            port: node.config().port,
        },
    );
    for slot in node.slots().iter() {
        if let Some(s) = ferrodis_slots::Slot::new(slot) {
            view.slots.assign(s, myself);
        }
    }
    for peer in node.peers().values() {
        if peer.flags.contains(NodeFlags::HANDSHAKE) {
            continue;
        }
        let Some(id) = to_id(&peer.id) else {
            continue;
        };
        view.endpoints.insert(
            id,
            route::Endpoint {
                host: String::from_utf8_lossy(peer.ip.as_bytes()).into_owned(),
                port: peer.port,
            },
        );
        for slot in peer.slots.iter() {
            if let Some(s) = ferrodis_slots::Slot::new(slot) {
                if view.slots.owner(s).is_none() {
                    view.slots.assign(s, id);
                }
            }
        }
    }
    view.ok = view.slots.covers_all();
    view
}

/// A new random node id.
fn random_id() -> NodeId {
    let mut bytes = [0u8; 20];
    for chunk in bytes.chunks_mut(8) {
        let r = crate::shared::random_u64().to_le_bytes();
        chunk.copy_from_slice(r.get(..chunk.len()).unwrap_or_default());
    }
    NodeId::from_random(bytes)
}

/// The cluster state at start: this node's id from `cluster-config-file`
/// when the file exists (a restarted node keeps its identity), else a new
/// one, written to the file at once as Redis does.
pub(crate) fn setup(config: &crate::config::Config) -> Result<Cluster, String> {
    let path = config
        .get_str("cluster-config-file")
        .unwrap_or("nodes.conf")
        .to_owned();
    let myself = match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => {
            let conf = ferrodis_slots::NodesConf::parse(&text).map_err(|e| {
                format!("Unrecoverable error: corrupted cluster config file \"{path}\": {e}")
            })?;
            conf.myself()
                .map(|n| n.id)
                .ok_or_else(|| format!("Unrecoverable error: no myself line in \"{path}\""))?
        }
        Ok(_) => random_id(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => random_id(),
        Err(e) => {
            return Err(format!(
                "Unable to read the cluster config file \"{path}\": {e}"
            ))
        }
    };
    let port = config.port();
    let node = ClusterNode::new(ferrodis_bus::cluster::Config {
        id: ferrodis_bus::types::NodeId(*myself.as_bytes()),
        port,
        cport: bus_port(config),
        node_timeout: config
            .get_i64("cluster-node-timeout")
            .unwrap_or(15000)
            .max(0) as u64,
        seed: crate::shared::random_u64(),
    });
    let cluster = Cluster::new(myself, node, path.clone());
    cluster
        .save()
        .map_err(|e| format!("Unable to write \"{path}\": {e}"))?;
    Ok(cluster)
}

/// `cluster-port`, or the client port + 10000.
pub(crate) fn bus_port(config: &crate::config::Config) -> u16 {
    match config.get_i64("cluster-port").unwrap_or(0) {
        0 => config.port().wrapping_add(10000),
        p => u16::try_from(p).unwrap_or(0),
    }
}

/// Starts the bus thread for the node of `shared`, listening on the bus
/// port of its first bind address.
pub(crate) fn start_bus(shared: &Arc<Shared>) -> std::io::Result<()> {
    let Some(cluster) = shared.cluster.as_ref() else {
        return Ok(());
    };
    let (bind, port) = {
        let config = shared.config.read();
        (config.bind(), bus_port(&config))
    };
    let host = bind
        .first()
        .map(|b| b.trim_start_matches('-').to_owned())
        .filter(|b| b != "*")
        .unwrap_or_else(|| "0.0.0.0".to_owned());
    let ip: std::net::IpAddr = host
        .parse()
        .map_err(|_| std::io::Error::other(format!("bad bind address {host}")))?;
    let handle = bus::start(shared, std::net::SocketAddr::new(ip, port))?;
    let _ = cluster.bus.set(handle);
    Ok(())
}

/// A slot set from slot numbers.
fn bitmap_set(slots: impl Iterator<Item = u16>) -> ferrodis_slots::SlotSet {
    slots.filter_map(ferrodis_slots::Slot::new).collect()
}

/// The configuration in `conf`, without what changes all the time (ping
/// and pong times, link states).
fn config_key(conf: &ferrodis_slots::NodesConf) -> String {
    let mut conf = conf.clone();
    for n in &mut conf.nodes {
        n.ping_sent = 0;
        n.pong_received = 0;
        n.link = ferrodis_slots::LinkState::Connected;
    }
    conf.to_string()
}
