//! What runs on the clock: the periodic work of `clusterCron` (connecting,
//! pinging, suspecting) and the evaluation of the cluster state
//! (`clusterUpdateState`), and the `CLUSTER INFO` figures.

use super::node::{Action, ClusterInfo, ClusterState};
use super::send::Kind;
use super::{ip_field, ClusterNode, Link, TODO_UPDATE_STATE};
use ferrodis_slots::{NodeFlags, NodeId};

/// How long a master that was in a minority waits, at most and at least,
/// before it serves again (`CLUSTER_MAX_REJOIN_DELAY`,
/// `CLUSTER_MIN_REJOIN_DELAY`).
const MAX_REJOIN_DELAY: u64 = 5000;
const MIN_REJOIN_DELAY: u64 = 500;

/// How long a master waits after its first evaluation before it may turn
/// the state `ok` (`CLUSTER_WRITABLE_DELAY`).
const WRITABLE_DELAY: u64 = 2000;

impl ClusterNode {
    /// `clusterCron`.
    pub(super) fn cron(&mut self, now: u64, out: &mut Vec<Action>) {
        self.ticks += 1;
        let timeout = self.config.node_timeout_ms;
        // A handshake lives at most the node timeout, and no less than a
        // second.
        let handshake_timeout = timeout.max(1000);

        // Drop expired handshakes; connect to nodes without a link
        // (`clusterNodeCronHandleReconnect`).
        let ids: Vec<NodeId> = self.others.keys().copied().collect();
        for id in ids {
            let Some(node) = self.others.get(&id) else {
                continue;
            };
            if !node.has_addr() {
                continue;
            }
            if node.in_handshake() && now.saturating_sub(node.created) > handshake_timeout {
                self.del_node(&id, now, out);
                continue;
            }
            if node.link.is_none() {
                let link = self.new_link();
                let Some(node) = self.others.get_mut(&id) else {
                    continue;
                };
                node.link = Some(link);
                // Until the link is up no PING can leave; count the wait
                // from now, so that a node that cannot be reached is
                // suspected all the same.
                if node.ping_sent == 0 {
                    node.ping_sent = now;
                }
                let ip = ip_field(&node.ip);
                let cport = node.cport;
                self.links.insert(
                    link,
                    Link {
                        node: Some(id),
                        inbound: false,
                        connected: false,
                        created: now,
                        peer_ip: ip,
                        local_ip: crate::types::NodeIp::EMPTY,
                    },
                );
                out.push(Action::Connect { link, ip, cport });
            }
        }

        // Every tenth tick (once a second), ping the node with the oldest
        // PONG among five picked at random.
        if self.ticks % 10 == 0 {
            let mut best: Option<(u64, NodeId)> = None;
            for _ in 0..5 {
                let i = self.rng_below(self.known());
                // Index 0 is this node, which is never pinged.
                let Some(node) = i.checked_sub(1).and_then(|i| self.others.values().nth(i)) else {
                    continue;
                };
                let up = node
                    .link
                    .and_then(|l| self.links.get(&l))
                    .is_some_and(|l| l.connected);
                if !up || node.ping_sent != 0 || node.in_handshake() {
                    continue;
                }
                if best.map_or(true, |(pong, _)| pong > node.pong_received) {
                    best = Some((node.pong_received, node.id));
                }
            }
            if let Some(link) = best
                .and_then(|(_, id)| self.others.get(&id))
                .and_then(|n| n.link)
            {
                self.send_ping(link, Kind::Ping, now, out);
            }
        }

        let mut update_state = false;
        let mut suspected = false;
        let ids: Vec<NodeId> = self.others.keys().copied().collect();
        for id in ids {
            let Some(node) = self.others.get(&id) else {
                continue;
            };
            if node.flags.contains(NodeFlags::NOADDR) || node.in_handshake() {
                continue;
            }
            let ping_delay = now.saturating_sub(node.ping_sent);
            let data_delay = now.saturating_sub(node.data_received);
            let link = node.link.and_then(|l| self.links.get(&l).map(|s| (l, s)));

            // Waiting too long for a PONG with no traffic at all: the link
            // may be the problem, so drop it; the next tick reconnects.
            if let Some((l, state)) = link {
                if now.saturating_sub(state.created) > timeout
                    && node.ping_sent != 0
                    && ping_delay > timeout / 2
                    && data_delay > timeout / 2
                {
                    self.free_link(l, out);
                }
            }

            // No PING outstanding and the last PONG older than half the
            // timeout: ping now.
            let Some(node) = self.others.get(&id) else {
                continue;
            };
            let up = node
                .link
                .and_then(|l| self.links.get(&l).map(|s| (l, s.connected)));
            if let Some((l, true)) = up {
                if node.ping_sent == 0 && now.saturating_sub(node.pong_received) > timeout / 2 {
                    self.send_ping(l, Kind::Ping, now, out);
                    continue;
                }
            }

            if node.ping_sent == 0 {
                continue;
            }
            // Any data is proof of life: the link carries Pub/Sub too.
            let delay = ping_delay.min(data_delay);
            if delay > timeout
                && !node.flags.contains(NodeFlags::PFAIL)
                && !node.flags.contains(NodeFlags::FAIL)
            {
                if let Some(node) = self.others.get_mut(&id) {
                    node.flags.insert(NodeFlags::PFAIL);
                }
                update_state = true;
                suspected = true;
            }
        }
        // A master that starts suspecting a node tells everyone at once
        // (its PONG's gossip names every node it suspects) instead of on
        // the next pings, up to half a node timeout later: the other
        // masters' reports are what turns PFAIL into FAIL, so a failover
        // starts sooner. Plain PONGs, which Redis nodes accept at any time.
        if suspected && self.myself.is_master() {
            self.broadcast_pong(now, out);
        }

        self.failover_cron(now, out);

        if update_state || self.state == ClusterState::Fail {
            self.update_state(now);
        }
    }

    /// `clusterUpdateState`: the cluster is `ok` when every slot is served
    /// by a master not in FAIL (if full coverage is required) and a majority
    /// of the masters serving slots is reachable (cluster specification,
    /// "Cluster state"). A master waits [`WRITABLE_DELAY`] after its first
    /// evaluation, and a master back from a minority waits the rejoin delay
    /// (the node timeout, within 500..=5000 ms), before turning `ok`.
    pub(super) fn update_state(&mut self, now: u64) {
        self.todo &= !TODO_UPDATE_STATE;
        let first = *self.first_state_update.get_or_insert(now);
        if self.myself.is_master()
            && self.state == ClusterState::Fail
            && now.saturating_sub(first) < WRITABLE_DELAY
        {
            return;
        }

        let mut new_state = ClusterState::Ok;
        if self.config.require_full_coverage {
            let failed_owner = self
                .nodes()
                .any(|n| n.numslots > 0 && n.flags.contains(NodeFlags::FAIL));
            if !self.slot_map.covers_all() || failed_owner {
                new_state = ClusterState::Fail;
            }
        }

        let mut size = 0;
        let mut reachable = 0;
        for node in self.nodes() {
            if node.is_master() && node.numslots > 0 {
                size += 1;
                if !node.flags.contains(NodeFlags::FAIL) && !node.flags.contains(NodeFlags::PFAIL) {
                    reachable += 1;
                }
            }
        }
        self.size = size;
        if reachable < size / 2 + 1 {
            new_state = ClusterState::Fail;
            self.among_minority_time = now;
        }

        if new_state != self.state {
            let rejoin_delay = self
                .config
                .node_timeout_ms
                .clamp(MIN_REJOIN_DELAY, MAX_REJOIN_DELAY);
            if new_state == ClusterState::Ok
                && self.myself.is_master()
                && now.saturating_sub(self.among_minority_time) < rejoin_delay
            {
                return;
            }
            self.state = new_state;
        }
    }

    /// `CLUSTER INFO`.
    pub fn info(&self) -> ClusterInfo {
        let mut info = ClusterInfo {
            state: self.state,
            slots_assigned: 0,
            slots_ok: 0,
            slots_pfail: 0,
            slots_fail: 0,
            known_nodes: self.known(),
            size: self.size,
            current_epoch: self.current_epoch,
            my_epoch: self
                .master()
                .filter(|_| self.myself.is_replica())
                .map_or(self.myself.config_epoch, |m| m.config_epoch),
            messages_sent: self.stats_sent,
            messages_received: self.stats_received,
            links_buffer_limit_exceeded: 0,
        };
        for node in self.nodes() {
            info.slots_assigned += node.numslots;
            if node.failed() {
                info.slots_fail += node.numslots;
            } else if node.timed_out() {
                info.slots_pfail += node.numslots;
            } else {
                info.slots_ok += node.numslots;
            }
        }
        info
    }
}
