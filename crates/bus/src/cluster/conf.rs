//! The node table as `nodes.conf` and `CLUSTER NODES` show it
//! (`clusterGenNodeDescription`), and a node restored from its
//! `nodes.conf` (`clusterLoadConfig`).

use super::node::{Config, Node};
use super::{ClusterError, ClusterNode};
use ferrodis_slots::{
    LinkState, Migration, NodeAddr, NodeFlags, NodeId, NodeLine, NodesConf, Slot,
};
use std::collections::BTreeMap;

impl ClusterNode {
    /// The line of one node, as `CLUSTER NODES` prints it and `nodes.conf`
    /// holds it (`clusterGenNodeDescription`): a replica shows its master's
    /// config epoch, the link is `connected` while this node has a link to
    /// it (always for itself), and only this node's own line lists open
    /// migrations.
    pub fn node_line(&self, node: &Node) -> NodeLine {
        let master = node.replica_of.and_then(|m| self.get(&m));
        let config_epoch = match master {
            Some(m) if node.is_replica() => m.config_epoch,
            _ => node.config_epoch,
        };
        let mut migrations = BTreeMap::new();
        if node.is_myself() {
            let slots: Vec<Slot> = self
                .migrating
                .keys()
                .chain(self.importing.keys())
                .copied()
                .collect();
            for slot in slots {
                if let Some(to) = self.migrating.get(&slot) {
                    migrations.insert(slot, Migration::Migrating { to: *to });
                } else if let Some(from) = self.importing.get(&slot) {
                    migrations.insert(slot, Migration::Importing { from: *from });
                }
            }
        }
        NodeLine {
            id: node.id,
            addr: NodeAddr {
                ip: node.ip.clone(),
                port: node.port,
                bus_port: node.cport,
                hostname: node.hostname.clone(),
                aux: Vec::new(),
            },
            flags: node.flags,
            master: node.replica_of,
            ping_sent: node.ping_sent,
            pong_received: node.pong_received,
            config_epoch,
            link: if node.link.is_some() || node.is_myself() {
                LinkState::Connected
            } else {
                LinkState::Disconnected
            },
            slots: node.slots.clone(),
            migrations,
        }
    }

    /// `CLUSTER NODES`: every node's line, those in handshake included,
    /// this node's first. Print with `ferrodis_slots::cluster_nodes_text`.
    pub fn cluster_nodes(&self) -> Vec<NodeLine> {
        self.nodes().map(|n| self.node_line(n)).collect()
    }

    /// What `nodes.conf` holds (`clusterSaveConfig`): every node's line but
    /// those in handshake, and the current and last vote epochs.
    pub fn to_nodes_conf(&self) -> NodesConf {
        NodesConf {
            nodes: self
                .nodes()
                .filter(|n| !n.in_handshake())
                .map(|n| self.node_line(n))
                .collect(),
            current_epoch: self.current_epoch,
            last_vote_epoch: self.last_vote_epoch,
        }
    }

    /// A node restarted from its `nodes.conf` (`clusterLoadConfig`): the
    /// file's `myself` id (which replaces `config.id`), nodes, roles,
    /// slots, migrations and epochs. A replica's config epoch is not read
    /// (its line shows its master's); the current epoch is at least the
    /// greatest config epoch. Nodes named only as a master or a migration
    /// peer enter the table with no flags. Ping and pong times that were
    /// set, and the `fail` time, become `now`. This node's ports, hostname
    /// and `nofailover` flag come from `config`, and so does its address if
    /// one is announced. No link is open: the ticks connect to every node.
    pub fn from_nodes_conf(
        conf: &NodesConf,
        mut config: Config,
        now: u64,
    ) -> Result<ClusterNode, ClusterError> {
        let mut mine = conf
            .nodes
            .iter()
            .filter(|l| l.flags.contains(NodeFlags::MYSELF));
        let me = mine
            .next()
            .ok_or_else(|| ClusterError::CorruptConfig("no myself line".into()))?;
        if mine.next().is_some() {
            return Err(ClusterError::CorruptConfig("two myself lines".into()));
        }
        config.id = me.id;
        let mut cluster = ClusterNode::new(config);
        cluster.todo = 0;
        cluster.now = now;
        // Flags come from the file, as for every node.
        cluster.myself.flags = NodeFlags::MYSELF;

        let ensure = |cluster: &mut ClusterNode, id: NodeId| {
            if cluster.get(&id).is_none() {
                cluster.add_node(Node::new(id, NodeFlags::empty(), now));
            }
        };
        for line in &conf.nodes {
            ensure(&mut cluster, line.id);
            if let Some(node) = cluster.get_mut(&line.id) {
                node.ip = line.addr.ip.clone();
                node.port = line.addr.port;
                node.cport = line.addr.bus_port;
                node.hostname = line.addr.hostname.clone();
                node.flags.insert(line.flags);
                if line.flags.contains(NodeFlags::FAIL) {
                    node.fail_time = now;
                }
                if line.ping_sent != 0 {
                    node.ping_sent = now;
                }
                if line.pong_received != 0 {
                    node.pong_received = now;
                }
                node.created = now;
            }
            if let Some(master) = line.master {
                ensure(&mut cluster, master);
                if let Some(node) = cluster.get_mut(&line.id) {
                    node.replica_of = Some(master);
                }
                cluster.add_replica(&master, &line.id);
            }
            let is_replica = line.flags.contains(NodeFlags::REPLICA) && line.master.is_some();
            if let Some(node) = cluster.get_mut(&line.id) {
                node.config_epoch = if is_replica { 0 } else { line.config_epoch };
            }
            for slot in &line.slots {
                cluster.add_slot(&line.id, slot);
            }
            for (&slot, migration) in &line.migrations {
                ensure(&mut cluster, *migration.peer());
                match migration {
                    Migration::Migrating { to } => cluster.migrating.insert(slot, *to),
                    Migration::Importing { from } => cluster.importing.insert(slot, *from),
                };
                cluster.sync_migration(slot);
            }
        }
        cluster.last_vote_epoch = conf.last_vote_epoch;
        let max_config = cluster.nodes().map(|n| n.config_epoch).max().unwrap_or(0);
        cluster.current_epoch = conf.current_epoch.max(max_config);

        // This node's own announced ports, hostname, flags and address
        // (`clusterUpdateMyself*`).
        let config = cluster.config.clone();
        let me = &mut cluster.myself;
        me.port = config.port;
        me.pport = config.pport;
        me.cport = config.cport;
        me.hostname = config.hostname.clone();
        if !config.ip.is_empty() {
            me.ip = config.ip.clone();
        }
        if config.replica_no_failover {
            me.flags.insert(NodeFlags::NOFAILOVER);
        } else {
            me.flags.remove(NodeFlags::NOFAILOVER);
        }
        Ok(cluster)
    }
}
