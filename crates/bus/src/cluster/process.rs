//! Acting on a message from another node (`clusterProcessPacket`): the
//! handshake, epochs, roles, slot ownership and UPDATE, config epoch
//! collisions, the gossip section with its failure reports, FAIL, and
//! Pub/Sub.

use super::node::{Action, LinkId, Node};
use super::send::Kind;
use super::{
    ip_text, valid_id, ClusterNode, TODO_FSYNC_CONFIG, TODO_SAVE_CONFIG, TODO_UPDATE_STATE,
};
use crate::message::{Body, Gossip, Header, Message, MessageType, PingBody, PingExt};
use ferrodis_slots::{NodeFlags, NodeId, SlotSet};

/// The flags a node learnt from gossip may take from the entry: never
/// `myself`, and not the handshake's (the node is named, and no MEET is
/// due).
const GOSSIP_FLAGS_DROPPED: NodeFlags = NodeFlags::from_bits(
    NodeFlags::MYSELF.bits() | NodeFlags::HANDSHAKE.bits() | NodeFlags::MEET.bits(),
);

impl ClusterNode {
    /// `clusterProcessPacket`, for a message that decoded.
    pub(super) fn process(
        &mut self,
        link: LinkId,
        message: &Message,
        now: u64,
        out: &mut Vec<Action>,
    ) {
        let Some(state) = self.links.get(&link) else {
            return;
        };
        let inbound = state.inbound;
        let kind = message.kind();
        if let Some(count) = self.stats_received.get_mut(usize::from(kind.as_u16())) {
            *count += 1;
        }
        let hdr = &message.header;
        let sender = self.sender_of(link, hdr, out);

        // Any data is proof of life.
        if let Some(node) = sender.and_then(|id| self.get_mut(&id)) {
            node.data_received = now;
        }

        // Adopt a greater current epoch, and the sender's config epoch if
        // it grew.
        let mut sender_config_epoch = 0;
        if let Some(id) = sender.filter(|id| self.get(id).is_some_and(|n| !n.in_handshake())) {
            sender_config_epoch = hdr.config_epoch.0;
            if hdr.current_epoch.0 > self.current_epoch {
                self.current_epoch = hdr.current_epoch.0;
            }
            let mut grew = false;
            if let Some(node) = self.get_mut(&id) {
                if sender_config_epoch > node.config_epoch {
                    node.config_epoch = sender_config_epoch;
                    grew = true;
                }
                node.repl_offset = hdr.offset.0;
            }
            if grew {
                self.todo |= TODO_SAVE_CONFIG | TODO_FSYNC_CONFIG;
            }
            self.on_master_offset(&id, hdr);
        }

        match &message.body {
            Body::Ping(ping) | Body::Pong(ping) | Body::Meet(ping) => {
                self.process_ping(
                    link,
                    inbound,
                    kind,
                    hdr,
                    ping,
                    sender,
                    sender_config_epoch,
                    now,
                    out,
                );
            }
            Body::Fail { node } => {
                if sender.is_none() {
                    return;
                }
                let Some(failing) = valid_id(node) else {
                    return;
                };
                let Some(n) = self.get_mut(&failing) else {
                    return;
                };
                if !n.flags.contains(NodeFlags::FAIL) && !n.is_myself() {
                    n.flags.insert(NodeFlags::FAIL);
                    n.fail_time = now;
                    n.flags.remove(NodeFlags::PFAIL);
                    self.todo |= TODO_SAVE_CONFIG | TODO_UPDATE_STATE;
                }
            }
            Body::Publish { channel, message } | Body::PublishShard { channel, message } => {
                if sender.is_some() {
                    out.push(Action::Deliver {
                        channel: channel.clone(),
                        message: message.clone(),
                        shard: kind == MessageType::PublishShard,
                    });
                }
            }
            Body::Update {
                config_epoch,
                node,
                slots,
            } => {
                if sender.is_none() {
                    return;
                }
                let Some(about) = valid_id(node) else { return };
                let Some(known) = self.get(&about) else {
                    return;
                };
                if known.config_epoch >= config_epoch.0 {
                    return;
                }
                if known.is_replica() {
                    self.set_node_as_master(&about);
                }
                if let Some(n) = self.get_mut(&about) {
                    n.config_epoch = config_epoch.0;
                }
                self.todo |= TODO_SAVE_CONFIG | TODO_FSYNC_CONFIG;
                let slots = SlotSet::from_bytes(slots.as_bytes());
                self.update_slots_config_with(&about, config_epoch.0, &slots);
            }
            Body::FailoverAuthRequest => {
                if let Some(sender) = sender {
                    self.on_auth_request(&sender, hdr, now, out);
                }
            }
            Body::FailoverAuthAck => {
                if let Some(sender) = sender {
                    self.on_auth_ack(&sender, hdr);
                }
            }
            Body::MfStart => {
                if let Some(sender) = sender {
                    self.on_mfstart(&sender, now, out);
                }
            }
            // Module messages are not handled here.
            Body::Module { .. } => {}
        }
    }

    /// The node a message comes from (`getNodeFromLinkAndMsg`): the link's
    /// node once it is out of handshake, else the node the header names. An
    /// inbound link is tied to that node the first time, replacing (and
    /// closing) an older inbound link from it
    /// (`setClusterNodeToInboundClusterLink`).
    fn sender_of(&mut self, link: LinkId, hdr: &Header, out: &mut Vec<Action>) -> Option<NodeId> {
        let link_node = self.links.get(&link)?.node;
        if let Some(id) = link_node {
            if self.get(&id).is_some_and(|n| !n.in_handshake()) {
                return Some(id);
            }
        }
        let sender = valid_id(&hdr.sender).filter(|id| self.get(id).is_some())?;
        if link_node.is_none() {
            let old = self.get(&sender).and_then(|n| n.inbound_link);
            if let Some(old) = old.filter(|old| *old != link) {
                self.free_link(old, out);
            }
            if let Some(node) = self.get_mut(&sender) {
                node.inbound_link = Some(link);
            }
            if let Some(state) = self.links.get_mut(&link) {
                state.node = Some(sender);
            }
        }
        Some(sender)
    }

    /// PING, PONG and MEET: the heartbeat and everything it carries.
    #[allow(clippy::too_many_arguments)]
    fn process_ping(
        &mut self,
        link: LinkId,
        inbound: bool,
        kind: MessageType,
        hdr: &Header,
        ping: &PingBody,
        sender: Option<NodeId>,
        sender_config_epoch: u64,
        now: u64,
        out: &mut Vec<Action>,
    ) {
        let (peer_ip, local_ip, link_node) = match self.links.get(&link) {
            Some(l) => (l.peer_ip, l.local_ip, l.node),
            None => return,
        };
        if matches!(kind, MessageType::Ping | MessageType::Meet) {
            // Without an announced address, learn ours from the connection
            // a MEET comes on (or any PING while we have none): the peer
            // reached us there.
            if (kind == MessageType::Meet || self.myself.ip.is_empty())
                && self.config.ip.is_empty()
                && !local_ip.is_empty()
            {
                let ip = ip_text(&local_ip);
                if ip != self.myself.ip {
                    self.myself.ip = ip;
                    self.todo |= TODO_SAVE_CONFIG;
                }
            }
            // A MEET from a node we do not know: add it, in handshake; our
            // own connection to it will learn its id. Its gossip is read as
            // from an unknown sender.
            if sender.is_none() && kind == MessageType::Meet {
                let id = self.random_id();
                let mut node = Node::new(id, NodeFlags::HANDSHAKE, now);
                node.ip = if hdr.ip.is_empty() {
                    ip_text(&peer_ip)
                } else {
                    ip_text(&hdr.ip)
                };
                node.port = hdr.port;
                node.pport = hdr.pport;
                node.cport = hdr.cport;
                self.add_node(node);
                self.todo |= TODO_SAVE_CONFIG;
                self.process_gossip(None, &ping.gossip, now, out);
            }
            self.send_ping(link, Kind::Pong, now, out);
        }

        // On a link we opened, the answer tells who is there.
        if !inbound {
            let Some(to) = link_node else { return };
            let Some(node) = self.get(&to) else { return };
            if node.in_handshake() {
                if let Some(known) = sender {
                    // We already know this node under its real id: take the
                    // address we met it at, and drop the handshake entry.
                    if self.update_address_if_needed(&known, link, hdr, out) {
                        self.todo |= TODO_SAVE_CONFIG | TODO_UPDATE_STATE;
                    }
                    self.del_node(&to, now, out);
                    return;
                }
                let Some(real) = valid_id(&hdr.sender) else {
                    return;
                };
                if real == self.myself.id {
                    // We met ourselves.
                    self.del_node(&to, now, out);
                    return;
                }
                self.rename_node(&to, real);
                if let Some(node) = self.get_mut(&real) {
                    node.flags.remove(NodeFlags::HANDSHAKE);
                    let role = hdr.flags.0 & (NodeFlags::MASTER.bits() | NodeFlags::REPLICA.bits());
                    node.flags.insert(NodeFlags::from_bits(role));
                }
                self.todo |= TODO_SAVE_CONFIG;
            } else if to.as_bytes() != hdr.sender.as_bytes() {
                // Another node answers at that address now: the address is
                // stale.
                if let Some(node) = self.get_mut(&to) {
                    node.flags.insert(NodeFlags::NOADDR);
                    node.ip.clear();
                    node.port = 0;
                    node.pport = 0;
                    node.cport = 0;
                }
                self.free_link(link, out);
                self.todo |= TODO_SAVE_CONFIG;
                return;
            }
        }

        // The sender's `nofailover` flag is its own to set.
        if let Some(node) = sender.and_then(|id| self.get_mut(&id)) {
            let nofailover = hdr.flags.0 & NodeFlags::NOFAILOVER.bits() != 0;
            if nofailover {
                node.flags.insert(NodeFlags::NOFAILOVER);
            } else {
                node.flags.remove(NodeFlags::NOFAILOVER);
            }
        }

        if let Some(id) = sender {
            if kind == MessageType::Ping
                && self.get(&id).is_some_and(|n| !n.in_handshake())
                && self.update_address_if_needed(&id, link, hdr, out)
            {
                self.todo |= TODO_SAVE_CONFIG | TODO_UPDATE_STATE;
            }
        }

        // A PONG on our link: the node is alive.
        if !inbound && kind == MessageType::Pong {
            let to = self.links.get(&link).and_then(|l| l.node);
            if let Some(to) = to {
                let (mut cleared, mut clear_fail) = (false, false);
                if let Some(node) = self.get_mut(&to) {
                    node.pong_received = now;
                    node.ping_sent = 0;
                    if node.timed_out() {
                        node.flags.remove(NodeFlags::PFAIL);
                        cleared = true;
                    } else if node.failed() {
                        clear_fail = true;
                    }
                }
                if cleared {
                    self.todo |= TODO_SAVE_CONFIG | TODO_UPDATE_STATE;
                }
                if clear_fail {
                    self.clear_failure_if_needed(&to, now);
                }
            }
        }

        let Some(sender) = sender else { return };
        self.update_role(&sender, hdr);

        // Slots: only worth a look when the sender (or, for a replica, its
        // master) claims other slots than we believe it serves.
        let claimed = SlotSet::from_bytes(hdr.slots.as_bytes());
        let sender_master = self.get(&sender).and_then(|n| {
            if n.is_master() {
                Some(sender)
            } else {
                n.replica_of
            }
        });
        let dirty = sender_master
            .and_then(|m| self.get(&m))
            .is_some_and(|m| m.slots != claimed);
        if dirty && self.get(&sender).is_some_and(Node::is_master) {
            self.update_slots_config_with(&sender, sender_config_epoch, &claimed);
        }
        if dirty {
            // The sender claims a slot that a node with a greater config
            // epoch serves: tell it (cluster specification, "UPDATE
            // messages"). One UPDATE per message, as Redis sends.
            let stale = claimed.iter().find_map(|slot| {
                let owner = self.slot_map.owner(slot)?;
                if *owner == sender || self.slot_unclaimed(slot) {
                    return None;
                }
                let owner = self.get(owner)?;
                (owner.config_epoch > sender_config_epoch).then_some(owner.id)
            });
            if let Some(owner) = stale {
                if let Some(l) = self.get(&sender).and_then(|n| n.link) {
                    self.send_update(l, &owner, out);
                }
            }
        }

        // Two masters with the same config epoch.
        if self.myself.is_master()
            && self.get(&sender).is_some_and(Node::is_master)
            && sender_config_epoch == self.myself.config_epoch
        {
            self.handle_config_epoch_collision(&sender);
        }

        self.process_gossip(Some(sender), &ping.gossip, now, out);
        self.process_extensions(&sender, &ping.extensions);
    }

    /// The sender says whether it is a master or whose replica it is
    /// (`clusterProcessPacket`, "Check for role switch").
    fn update_role(&mut self, sender: &NodeId, hdr: &Header) {
        if hdr.replicaof.is_null() {
            self.set_node_as_master(sender);
            return;
        }
        let master = valid_id(&hdr.replicaof).filter(|m| self.get(m).is_some());
        if self.get(sender).is_some_and(Node::is_master) {
            // A master turned into a replica.
            self.del_node_slots(sender);
            if let Some(node) = self.get_mut(sender) {
                node.flags.remove(NodeFlags::MASTER | NodeFlags::MIGRATE_TO);
                node.flags.insert(NodeFlags::REPLICA);
            }
            self.todo |= TODO_SAVE_CONFIG | TODO_UPDATE_STATE;
        }
        if let Some(master) = master {
            let old = self.get(sender).and_then(|n| n.replica_of);
            if old != Some(master) {
                if let Some(old) = old {
                    self.remove_replica(&old, sender);
                }
                self.add_replica(&master, sender);
                if let Some(node) = self.get_mut(sender) {
                    node.replica_of = Some(master);
                }
                self.todo |= TODO_SAVE_CONFIG;
            }
        }
    }

    /// A master's claim on slots at a config epoch
    /// (`clusterUpdateSlotsConfigWith`): an unassigned slot, or one whose
    /// owner stopped claiming it, goes to the claimant; an assigned one
    /// only if the claimant's config epoch is greater than its owner's
    /// (cluster specification, "Hash slots configuration propagation").
    /// Slots being imported are left alone. A slot the claimant no longer
    /// claims stays its own, marked unclaimed. If this node (or its master)
    /// loses its last slot this way, it becomes a replica of the claimant;
    /// a replica whose master became a replica follows the new master.
    pub(super) fn update_slots_config_with(
        &mut self,
        sender: &NodeId,
        epoch: u64,
        slots: &SlotSet,
    ) {
        let my_id = self.myself.id;
        if *sender == my_id {
            return;
        }
        let current_master = if self.myself.is_master() {
            Some(my_id)
        } else {
            self.myself.replica_of
        };
        let mut new_master = None;
        let mut sender_slots = 0usize;
        let mut migrated_our_slots = 0usize;
        for slot in ferrodis_slots::SlotRange::all().iter() {
            let owner = self.slot_map.owner(slot).copied();
            if slots.contains(slot) {
                sender_slots += 1;
                if owner == Some(*sender) {
                    self.not_claiming.remove(slot);
                    continue;
                }
                if self.importing.contains_key(&slot) {
                    continue;
                }
                let owner_epoch = owner
                    .and_then(|o| self.get(&o))
                    .map_or(0, |o| o.config_epoch);
                if self.slot_unclaimed(slot) || owner_epoch < epoch {
                    if owner.is_some() && owner == current_master {
                        new_master = Some(*sender);
                        migrated_our_slots += 1;
                    }
                    self.del_slot(slot);
                    self.add_slot(sender, slot);
                    self.not_claiming.remove(slot);
                    self.todo |= TODO_SAVE_CONFIG | TODO_UPDATE_STATE | TODO_FSYNC_CONFIG;
                }
            } else if owner == Some(*sender) {
                self.not_claiming.insert(slot);
            }
        }

        let master_empty = current_master
            .and_then(|m| self.get(&m))
            .is_some_and(|m| m.numslots == 0);
        let grandmaster = self
            .myself
            .replica_of
            .and_then(|m| self.get(&m))
            .and_then(|m| m.replica_of)
            .filter(|g| *g != my_id);
        if new_master.is_some()
            && master_empty
            && (self.config.allow_replica_migration || sender_slots == migrated_our_slots)
        {
            self.set_master(sender);
            self.todo |= TODO_SAVE_CONFIG | TODO_UPDATE_STATE | TODO_FSYNC_CONFIG;
        } else if let Some(grandmaster) = grandmaster {
            // Our master became a replica: no sub-replicas.
            self.set_master(&grandmaster);
            self.todo |= TODO_SAVE_CONFIG | TODO_UPDATE_STATE | TODO_FSYNC_CONFIG;
        }
    }

    /// Another master has our config epoch (cluster specification,
    /// "Handling config epoch collisions"): the one with the smaller id
    /// takes a new one, currentEpoch + 1
    /// (`clusterHandleConfigEpochCollision`).
    fn handle_config_epoch_collision(&mut self, sender: &NodeId) {
        let Some(node) = self.get(sender) else { return };
        if node.config_epoch != self.myself.config_epoch
            || !node.is_master()
            || !self.myself.is_master()
        {
            return;
        }
        if sender.as_bytes() <= self.myself.id.as_bytes() {
            return;
        }
        self.current_epoch += 1;
        self.myself.config_epoch = self.current_epoch;
        self.todo |= TODO_SAVE_CONFIG | TODO_FSYNC_CONFIG;
    }

    /// The gossip section (`clusterProcessGossipSection`): failure reports
    /// from masters, PONG times seen by others, new addresses of nodes we
    /// cannot reach, and nodes we did not know (only from a known sender,
    /// and not if forgotten within the minute).
    fn process_gossip(
        &mut self,
        sender: Option<NodeId>,
        gossip: &[Gossip],
        now: u64,
        out: &mut Vec<Action>,
    ) {
        let sender_is_master = sender
            .and_then(|s| self.get(&s))
            .is_some_and(Node::is_master);
        let failing_flags = NodeFlags::FAIL.bits() | NodeFlags::PFAIL.bits();
        for g in gossip {
            let Some(id) = valid_id(&g.node) else {
                continue;
            };
            let flags = g.flags.0;
            let reported_failing = flags & failing_flags != 0;
            if self.get(&id).is_some() {
                if let Some(s) = sender.filter(|_| sender_is_master && id != self.myself.id) {
                    if reported_failing {
                        self.add_failure_report(&id, &s, now);
                        self.mark_failing_if_needed(&id, now, out);
                    } else {
                        self.del_failure_report(&id, &s, now);
                    }
                }
                // A node we consider up, with no ping outstanding and no
                // reports against it: others' PONG times count as ours.
                let quiet = self.get(&id).is_some_and(|n| n.ping_sent == 0)
                    && self.failure_reports(&id, now) == 0;
                if !reported_failing && quiet {
                    let pong = u64::from(g.pong_received) * 1000;
                    if let Some(node) = self.get_mut(&id) {
                        if pong <= now + 500 && pong > node.pong_received {
                            node.pong_received = pong;
                        }
                    }
                }
                // A node we cannot reach, seen elsewhere at another address
                // by a node that can reach it: reconnect there.
                let new_ip = ip_text(&g.ip);
                let Some(node) = self.get(&id) else { continue };
                let moved = node.ip != new_ip || node.port != g.port || node.cport != g.cport;
                if (node.timed_out() || node.failed())
                    && flags & NodeFlags::NOADDR.bits() == 0
                    && !reported_failing
                    && moved
                    && !node.is_myself()
                {
                    if let Some(l) = node.link {
                        self.free_link(l, out);
                    }
                    if let Some(node) = self.get_mut(&id) {
                        node.ip = new_ip;
                        node.port = g.port;
                        node.pport = g.pport;
                        node.cport = g.cport;
                        node.flags.remove(NodeFlags::NOADDR);
                    }
                }
            } else if sender.is_some()
                && flags & NodeFlags::NOADDR.bits() == 0
                && !self.blacklisted(&id, now)
            {
                let mut node_flags = NodeFlags::from_bits(flags);
                node_flags.remove(GOSSIP_FLAGS_DROPPED);
                let mut node = Node::new(id, node_flags, now);
                node.ip = ip_text(&g.ip);
                node.port = g.port;
                node.pport = g.pport;
                node.cport = g.cport;
                self.add_node(node);
            }
        }
    }

    /// Ping extensions (`clusterProcessPingExtensions`): the hostname the
    /// sender announces, none when it sends none.
    fn process_extensions(&mut self, sender: &NodeId, extensions: &[PingExt]) {
        let mut hostname = String::new();
        for ext in extensions {
            if let PingExt::Hostname(name) = ext {
                hostname = String::from_utf8_lossy(name).into_owned();
            }
        }
        if let Some(node) = self.get_mut(sender) {
            node.hostname = hostname;
        }
    }

    /// Takes the address a node announces (or, if it announces none, the
    /// address its connection comes from) when it changed, and drops our
    /// link so that the next tick connects there
    /// (`nodeUpdateAddressIfNeeded`). Never for the link the message came
    /// on, if it is the one we opened.
    fn update_address_if_needed(
        &mut self,
        id: &NodeId,
        link: LinkId,
        hdr: &Header,
        out: &mut Vec<Action>,
    ) -> bool {
        if *id == self.myself.id {
            return false;
        }
        let Some(node) = self.get(id) else {
            return false;
        };
        if node.link == Some(link) {
            return false;
        }
        let ip = if hdr.ip.is_empty() {
            match self.links.get(&link) {
                Some(l) if !l.peer_ip.is_empty() => ip_text(&l.peer_ip),
                _ => return false,
            }
        } else {
            ip_text(&hdr.ip)
        };
        if node.port == hdr.port
            && node.cport == hdr.cport
            && node.pport == hdr.pport
            && node.ip == ip
        {
            return false;
        }
        let old_link = node.link;
        if let Some(node) = self.get_mut(id) {
            node.ip = ip;
            node.port = hdr.port;
            node.pport = hdr.pport;
            node.cport = hdr.cport;
            node.flags.remove(NodeFlags::NOADDR);
        }
        if let Some(l) = old_link {
            self.free_link(l, out);
        }
        true
    }

    /// PFAIL becomes FAIL when a majority of the masters serving slots
    /// (this one included, if it is a master) reported the node failing
    /// within twice the node timeout (`markNodeAsFailingIfNeeded`; cluster
    /// specification, "Failure detection"). The node tells everyone.
    pub(super) fn mark_failing_if_needed(&mut self, id: &NodeId, now: u64, out: &mut Vec<Action>) {
        let quorum = self.size / 2 + 1;
        let Some(node) = self.get(id) else { return };
        if !node.timed_out() || node.failed() {
            return;
        }
        let mut failures = self.failure_reports(id, now);
        if self.myself.is_master() {
            failures += 1;
        }
        if failures < quorum {
            return;
        }
        if let Some(node) = self.get_mut(id) {
            node.flags.remove(NodeFlags::PFAIL);
            node.flags.insert(NodeFlags::FAIL);
            node.fail_time = now;
        }
        self.send_fail(id, out);
        self.todo |= TODO_UPDATE_STATE | TODO_SAVE_CONFIG;
    }

    /// A node flagged FAIL answers again (`clearNodeFailureIfNeeded`): a
    /// replica, or a master without slots, is cleared at once; a master
    /// with slots once it has been FAIL for twice the node timeout with
    /// nobody taking its slots.
    pub(super) fn clear_failure_if_needed(&mut self, id: &NodeId, now: u64) {
        let undo_time = self.config.node_timeout_ms.saturating_mul(2);
        let Some(node) = self.get_mut(id) else { return };
        if !node.failed() {
            return;
        }
        let clear = node.is_replica()
            || node.numslots == 0
            || (node.is_master() && now.saturating_sub(node.fail_time) > undo_time);
        if clear {
            node.flags.remove(NodeFlags::FAIL);
        }
        if clear {
            self.todo |= TODO_UPDATE_STATE | TODO_SAVE_CONFIG;
        }
    }
}
