//! Cluster mode (`cluster-enabled yes`): the node's side of Redis Cluster.
//!
//! - `route`: which node serves a command ([`route::route`], Redis'
//!   `getNodeByQuery`), over a [`RouteView`] of the slot map that the
//!   workers read on every keyed command.
//! - `keys`: the keys of a command, movable ones included.
//! - `bus`: the thread that owns the bus sockets.
//! - `reply`: CLUSTER SLOTS, SHARDS, NODES, REPLICAS.
//!
//! The cluster bus state machine (`ferrodis_bus::cluster::ClusterNode`)
//! owns the cluster state. The bus thread and the CLUSTER commands lock it,
//! drive it, carry out the actions it returns, then call
//! [`Cluster::after_change`]: a new routing view is published and
//! `cluster-config-file` written when the state machine asks.

pub(crate) mod bus;
pub(crate) mod keys;
pub(crate) mod reply;
pub(crate) mod route;
pub(crate) mod slotmig;

use std::sync::{Arc, OnceLock};

use ferrodis_bus::cluster::{Action, ClusterNode, ClusterState};
use ferrodis_resp::Request;
use ferrodis_slots::{Migration, NodeId};
use parking_lot::{Mutex, MutexGuard, RwLock};

use crate::client::Client;
use crate::commands::{flags, lookup, Spec};
use crate::shared::{unix_ms, Shared};
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
}

impl Cluster {
    fn new(node: ClusterNode, path: String) -> Cluster {
        Cluster {
            view: RwLock::new(Arc::new(RouteView::empty(node.id()))),
            node: Mutex::new(node),
            bus: OnceLock::new(),
            path,
        }
    }

    /// `cluster-config-file`.
    pub(crate) fn config_path(&self) -> &str {
        &self.path
    }

    /// The state machine, locked.
    pub(crate) fn node(&self) -> MutexGuard<'_, ClusterNode> {
        self.node.lock()
    }

    /// The current routing view.
    pub(crate) fn view(&self) -> Arc<RouteView> {
        Arc::clone(&self.view.read())
    }

    /// Has the bus thread carry out what a change of state asks for (and
    /// look at the state again).
    pub(crate) fn run(&self, actions: Vec<Action>) {
        if let Some(bus) = self.bus.get() {
            bus.run(actions);
        }
    }

    /// Writes the cluster config file, fsynced: see [`Cluster::save_as`].
    pub(crate) fn save(&self) -> std::io::Result<()> {
        self.save_as(true)
    }

    /// Writes the cluster config file through a temporary file renamed
    /// over the old one, so that a crash leaves the old file or the new
    /// one, never a mix. With `fsync`, the data reaches the disk before
    /// the rename, as Redis does where an epoch or an owner changed;
    /// without, as Redis does for the other changes (`CLUSTER SETSLOT
    /// IMPORTING`, say), which a slot migration makes several of per slot.
    pub(crate) fn save_as(&self, fsync: bool) -> std::io::Result<()> {
        let text = self.node().to_nodes_conf().to_string();
        let tmp = format!("{}.tmp-{}", self.path, std::process::id());
        {
            let mut f = std::fs::File::create(&tmp)?;
            std::io::Write::write_all(&mut f, text.as_bytes())?;
            if fsync {
                f.sync_all()?;
            }
        }
        std::fs::rename(&tmp, &self.path)
    }

    /// Publishes the routing view of the state machine's state, leaving
    /// the config file to [`Cluster::after_change`].
    pub(crate) fn publish_view(&self, shared: &Shared) {
        let view = view_of(&self.node(), shared);
        *self.view.write() = Arc::new(view);
    }

    /// After the state machine ran: publishes the routing view of its
    /// state, and writes the config file if it changed.
    pub(crate) fn after_change(&self, shared: &Shared) {
        let (view, save) = {
            let mut node = self.node();
            (view_of(&node, shared), node.take_save_request())
        };
        *self.view.write() = Arc::new(view);
        if let Some(save) = save {
            if let Err(e) = self.save_as(save == ferrodis_bus::cluster::Save::Now) {
                crate::log::warning(&format!(
                    "Could not save the cluster config file {}: {e}",
                    self.path
                ));
            }
        }
    }
}

/// The routing view of the state machine's state.
fn view_of(node: &ClusterNode, shared: &Shared) -> RouteView {
    let endpoint = reply::EndpointType::from_config(&shared.config.read());
    let mut view = RouteView::empty(node.id());
    view.slots = node.slot_map().clone();
    view.also_importing = view
        .slots
        .migrations()
        .filter(|(slot, m)| {
            matches!(m, Migration::Migrating { .. }) && node.importing_from(*slot).is_some()
        })
        .map(|(slot, _)| slot)
        .collect();
    for n in node.nodes() {
        view.endpoints.insert(
            n.id,
            route::Endpoint {
                host: endpoint.of_node(n),
                port: n.port,
            },
        );
    }
    view.ok = node.state() == ClusterState::Ok;
    if node.myself().is_replica() {
        view.master = node.myself().replica_of;
    }
    view
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
        // RESTORE-ASKING (what MIGRATE sends in cluster mode) counts as
        // asked, as Redis' CMD_ASKING flag makes it.
        asking: client.asking || spec.name == "restore-asking",
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

/// A new random node id.
fn random_id() -> NodeId {
    let mut bytes = [0u8; 20];
    for chunk in bytes.chunks_mut(8) {
        let r = crate::shared::random_u64().to_le_bytes();
        chunk.copy_from_slice(r.get(..chunk.len()).unwrap_or_default());
    }
    NodeId::from_random(bytes)
}

/// The state machine's settings from the node's configuration.
fn bus_config(config: &crate::config::Config, id: NodeId) -> ferrodis_bus::cluster::Config {
    let num = |name: &str| config.get_i64(name).unwrap_or(0);
    let announced = |name: &str, default: u16| match num(name) {
        0 => default,
        p => u16::try_from(p).unwrap_or(default),
    };
    let text = |name: &str| config.get_str(name).unwrap_or_default().to_owned();
    let flag = |name: &str, default: bool| config.get_bool(name).unwrap_or(default);
    let mut c = ferrodis_bus::cluster::Config::new(
        id,
        announced("cluster-announce-port", config.port()),
        announced("cluster-announce-bus-port", bus_port(config)),
    );
    c.ip = text("cluster-announce-ip");
    c.hostname = text("cluster-announce-hostname");
    c.node_timeout_ms = num("cluster-node-timeout").max(0) as u64;
    c.require_full_coverage = flag("cluster-require-full-coverage", true);
    c.replica_no_failover = flag("cluster-replica-no-failover", false);
    c.allow_replica_migration = flag("cluster-allow-replica-migration", true);
    c.migration_barrier = usize::try_from(num("cluster-migration-barrier")).unwrap_or(1);
    c.replica_validity_factor = u64::try_from(num("cluster-replica-validity-factor")).unwrap_or(10);
    c.repl_ping_period_ms = u64::try_from(num("repl-ping-replica-period"))
        .unwrap_or(10)
        .saturating_mul(1000);
    c.seed = crate::shared::random_u64();
    c
}

/// The cluster state at start: restored from `cluster-config-file` when
/// the file exists (a restarted node keeps its id, slots and epochs), else
/// a new node with a random id, written to the file at once as Redis does.
pub(crate) fn setup(config: &crate::config::Config) -> Result<Cluster, String> {
    let path = config
        .get_str("cluster-config-file")
        .unwrap_or("nodes.conf")
        .to_owned();
    let node = match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => {
            let conf = ferrodis_slots::NodesConf::parse(&text).map_err(|e| {
                format!("Unrecoverable error: corrupted cluster config file \"{path}\": {e}")
            })?;
            ClusterNode::from_nodes_conf(&conf, bus_config(config, random_id()), unix_ms())
                .map_err(|e| {
                    format!("Unrecoverable error: corrupted cluster config file \"{path}\": {e}")
                })?
        }
        Ok(_) => ClusterNode::new(bus_config(config, random_id())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            ClusterNode::new(bus_config(config, random_id()))
        }
        Err(e) => {
            return Err(format!(
                "Unable to read the cluster config file \"{path}\": {e}"
            ))
        }
    };
    let id = node.id();
    let cluster = Cluster::new(node, path.clone());
    cluster
        .save()
        .map_err(|e| format!("Unable to write \"{path}\": {e}"))?;
    crate::log::notice(&format!("Node configuration loaded, I'm {id}"));
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
    cluster.after_change(shared);
    Ok(())
}
