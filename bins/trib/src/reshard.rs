//! Changing a running cluster key by key, as `redis-cli --cluster` 7.0
//! does it and with the same report: `add-node`, `del-node`, `reshard`,
//! and the slot move they share (`clusterManagerMoveSlot`): `SETSLOT
//! IMPORTING` on the target, `MIGRATING` on the source, `GETKEYSINSLOT` and
//! `MIGRATE ... KEYS` in batches of `--pipeline` keys, then `SETSLOT NODE`
//! on the target, the source and every other master. Between Ferrodis
//! nodes, `reshard` and `rebalance` move slots by atomic slot migration
//! instead ([`crate::atomic`]).

use std::io::Read;
use std::net::ToSocketAddrs;
use std::time::Duration;

use ferrodis_resp::Frame;

use crate::cluster::{ClusterNode, CLUSTER_SLOTS};
use crate::conn::{error_text, string_bytes};
use crate::error::Error;
use crate::manager::{host_from_args, Manager, INVALID_HOST_ARG};
use crate::output::Level;

/// MIGRATE's timeout when `--timeout` is not given (ms).
pub const DEFAULT_MIGRATE_TIMEOUT: u64 = 60_000;
/// Keys per MIGRATE when `--pipeline` is not given.
pub const DEFAULT_PIPELINE: usize = 10;

/// Options of a slot move.
#[derive(Debug, Clone, Copy, Default)]
pub struct MoveOptions {
    /// Print the "Moving slot" line and a dot per key.
    pub verbose: bool,
    /// Do not print the "Moving slot" line.
    pub quiet: bool,
    /// Move the keys only: no SETSLOT before or after.
    pub cold: bool,
    /// Update the manager's view of the two nodes' slots.
    pub update: bool,
}

/// Reads one line of an answer (without the newline); `None` at the end of
/// the input.
fn read_line(input: &mut dyn Read) -> Option<String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match input.read(&mut byte) {
            Ok(0) | Err(_) => {
                if line.is_empty() {
                    return None;
                }
                break;
            }
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) => line.push(byte[0]),
        }
    }
    Some(String::from_utf8_lossy(&line).into_owned())
}

impl Manager<'_, '_> {
    fn timeout_ms(&self) -> u64 {
        match self.opts.timeout_ms {
            0 => DEFAULT_MIGRATE_TIMEOUT,
            t => t,
        }
    }

    fn pipeline(&self) -> usize {
        match self.opts.pipeline {
            0 => DEFAULT_PIPELINE,
            p => p,
        }
    }

    /// The master with the fewest replicas (`clusterManagerNodeWithLeastReplicas`).
    fn master_with_least_replicas(&self) -> Option<usize> {
        let mut best: Option<usize> = None;
        for (i, n) in self.nodes.iter().enumerate() {
            if n.is_replica() {
                continue;
            }
            match best.and_then(|b| self.nodes.get(b)) {
                Some(b) if n.replicas_count >= b.replicas_count => {}
                _ => best = Some(i),
            }
        }
        best
    }

    /// `add-node new_host:new_port existing_host:existing_port [--slave
    /// [--master-id id]]`.
    pub fn add_node(&mut self, args: &[String]) -> bool {
        let (Some((ref_ip, ref_port)), Some((ip, port))) = (
            host_from_args(args.get(1..2).unwrap_or_default()),
            host_from_args(args.get(..1).unwrap_or_default()),
        ) else {
            self.out.eprint(INVALID_HOST_ARG);
            return false;
        };
        self.out.log(
            Level::Info,
            &format!(">>> Adding node {ip}:{port} to cluster {ref_ip}:{ref_port}\n"),
        );
        if !self.load_from(ClusterNode::new(&ref_ip, ref_port, None)) {
            return false;
        }
        if !self.check_cluster(false) {
            return false;
        }
        let mut master: Option<usize> = None;
        if self.opts.slave {
            if let Some(id) = self.opts.master_id.clone() {
                match self.node_by_name(&id) {
                    Some(m) => master = Some(m),
                    None => {
                        self.out
                            .log(Level::Err, &format!("[ERR] No such master ID {id}\n"));
                        return false;
                    }
                }
            } else {
                master = self.master_with_least_replicas();
                if let Some(m) = master.and_then(|m| self.nodes.get(m)) {
                    let text = format!("Automatically selected master {}:{}\n", m.ip, m.port);
                    self.out.print(&text);
                }
            }
        }
        let mut node = ClusterNode::new(&ip, port, None);
        if node.connect(&self.opts.connect).is_err() {
            self.out.log(
                Level::Err,
                &format!("[ERR] Sorry, can't connect to node {ip}:{port}\n"),
            );
            return false;
        }
        match node.is_cluster() {
            Ok(true) => {}
            Ok(false) => {
                self.out.log(
                    Level::Err,
                    &format!("[ERR] Node {ip}:{port} is not configured as a cluster node.\n"),
                );
                return false;
            }
            Err(e) => {
                let msg = reply_message(e);
                self.out
                    .log(Level::Err, &format!("[ERR] Node {ip}:{port} {msg}\n"));
                return false;
            }
        }
        if let Err(e) = node.load_info(false) {
            if let Error::Reply { message, .. } = e {
                self.out.reply_error(&node.addr(), &message);
            }
            return false;
        }
        match node.is_empty() {
            Ok(true) => {}
            Ok(false) => {
                self.out.log(
                    Level::Err,
                    &format!(
                        "[ERR] Node {ip}:{port} is not empty. Either the node already knows other \
                         nodes (check with CLUSTER NODES) or contains some key in database 0.\n"
                    ),
                );
                return false;
            }
            Err(e) => {
                let msg = reply_message(e);
                self.out
                    .log(Level::Err, &format!("[ERR] Node {ip}:{port} {msg}\n"));
                return false;
            }
        }
        let Some((first_ip, first_port, first_bus)) = self
            .nodes
            .first()
            .map(|f| (f.ip.clone(), f.port, f.bus_port))
        else {
            return false;
        };
        if master.is_none() && !self.copy_functions(&mut node) {
            return false;
        }
        self.out.log(
            Level::Info,
            &format!(">>> Send CLUSTER MEET to node {ip}:{port} to make it join the cluster.\n"),
        );
        let Some(meet_ip) = (first_ip.as_str(), first_port)
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .map(|a| a.ip().to_string())
        else {
            self.out.eprint(&format!(
                "Invalid IP address or hostname specified: {first_ip}\n"
            ));
            return false;
        };
        let port_s = first_port.to_string();
        let bus_s = first_bus.to_string();
        let mut meet = vec!["CLUSTER", "MEET", meet_ip.as_str(), port_s.as_str()];
        if first_bus != 0 && u32::from(first_bus) != u32::from(first_port) + 10000 {
            meet.push(bus_s.as_str());
        }
        if !self.call_checked(&mut node, &meet) {
            return false;
        }
        self.nodes.push(node);
        if let Some(m) = master {
            std::thread::sleep(Duration::from_secs(1));
            if !self.wait_for_cluster_join() {
                return false;
            }
            let Some((m_ip, m_port, m_name)) = self
                .nodes
                .get(m)
                .map(|n| (n.ip.clone(), n.port, n.name.clone()))
            else {
                return false;
            };
            self.out.log(
                Level::Info,
                &format!(">>> Configure node as replica of {m_ip}:{m_port}.\n"),
            );
            let Some(mut node) = self.nodes.pop() else {
                return false;
            };
            let ok = self.call_checked(&mut node, &["CLUSTER", "REPLICATE", m_name.as_str()]);
            self.nodes.push(node);
            if !ok {
                return false;
            }
        }
        self.out.log(Level::Ok, "[OK] New node added correctly.\n");
        true
    }

    /// Copies the cluster's functions to a new master (FUNCTION DUMP on
    /// the first node, FUNCTION RESTORE on the new one), as redis-cli.
    fn copy_functions(&mut self, node: &mut ClusterNode) -> bool {
        self.out
            .log(Level::Info, ">>> Getting functions from cluster\n");
        let dump = match self
            .nodes
            .first_mut()
            .map(|f| f.call(&["FUNCTION", "DUMP"]))
        {
            Some(Ok(reply)) if error_text(&reply).is_none() => reply,
            other => {
                let err = match other {
                    Some(Ok(reply)) => error_text(&reply).unwrap_or_default(),
                    _ => "NULL reply".to_owned(),
                };
                self.out.log(
                    Level::Info,
                    &format!(
                        ">>> Failed retrieving Functions from the cluster, skip this step as \
                         Redis version do not support function command (error = '{err}')\n"
                    ),
                );
                return true;
            }
        };
        let Some(payload) = string_bytes(&dump).map(<[u8]>::to_vec) else {
            return true;
        };
        self.out.log(
            Level::Info,
            &format!(
                ">>> Send FUNCTION LIST to {} to verify there is no functions in it\n",
                node.addr()
            ),
        );
        match node.call(&["FUNCTION", "LIST"]) {
            Ok(Frame::Array(items)) if items.is_empty() => {}
            Ok(Frame::Array(_)) => {
                self.out.log(
                    Level::Err,
                    ">>> New node already contains functions and can not be added to the \
                     cluster. Use FUNCTION FLUSH and try again.\r\n",
                );
                return false;
            }
            other => {
                let err = match other {
                    Ok(reply) => error_text(&reply).unwrap_or_default(),
                    Err(_) => "NULL reply".to_owned(),
                };
                self.out.log(
                    Level::Err,
                    &format!(">>> Failed on CLUSTER LIST (error = '{err}')\r\n"),
                );
                return false;
            }
        }
        self.out.log(
            Level::Info,
            &format!(">>> Send FUNCTION RESTORE to {}\n", node.addr()),
        );
        let restore: [&[u8]; 3] = [b"FUNCTION", b"RESTORE", &payload];
        match node.call(&restore) {
            Ok(reply) if error_text(&reply).is_none() => true,
            other => {
                let err = match other {
                    Ok(reply) => error_text(&reply).unwrap_or_default(),
                    Err(_) => "NULL reply".to_owned(),
                };
                self.out.log(
                    Level::Err,
                    &format!(">>> Failed loading functions to the new node (error = '{err}')\r\n"),
                );
                false
            }
        }
    }

    /// Runs a command whose reply must not be an error, printing the error
    /// as redis-cli does (`clusterManagerCheckRedisReply`).
    pub(crate) fn call_checked(&mut self, node: &mut ClusterNode, args: &[&str]) -> bool {
        match node.call(args) {
            Ok(reply) => match error_text(&reply) {
                Some(msg) => {
                    self.out.reply_error(&node.addr(), &msg);
                    false
                }
                None => true,
            },
            Err(_) => false,
        }
    }

    /// `del-node host:port node_id`: forgets the node everywhere (moving its
    /// replicas to the master with the fewest), then `CLUSTER RESET SOFT`
    /// on it.
    pub fn del_node(&mut self, args: &[String]) -> bool {
        let Some((ip, port)) = host_from_args(args.get(..1).unwrap_or_default()) else {
            self.out.eprint(INVALID_HOST_ARG);
            return false;
        };
        let node_id = args.get(1).cloned().unwrap_or_default();
        self.out.log(
            Level::Info,
            &format!(">>> Removing node {node_id} from cluster {ip}:{port}\n"),
        );
        if !self.load_from(ClusterNode::new(&ip, port, None)) {
            return false;
        }
        let Some(victim) = self.node_by_name(&node_id) else {
            self.out
                .log(Level::Err, &format!("[ERR] No such node ID {node_id}\n"));
            return false;
        };
        if let Some(n) = self.nodes.get(victim) {
            if n.slots_count != 0 {
                let text = format!(
                    "[ERR] Node {}:{} is not empty! Reshard data away and try again.\n",
                    n.ip, n.port
                );
                self.out.log(Level::Err, &text);
                return false;
            }
        }
        self.out.log(
            Level::Info,
            ">>> Sending CLUSTER FORGET messages to the cluster...\n",
        );
        let lower = node_id.to_ascii_lowercase();
        for i in 0..self.nodes.len() {
            if i == victim {
                continue;
            }
            let replicates_victim = self
                .nodes
                .get(i)
                .and_then(|n| n.replicate.as_deref())
                .is_some_and(|m| m.eq_ignore_ascii_case(&lower));
            if replicates_victim {
                let Some(m) = self.master_with_least_replicas() else {
                    return false;
                };
                let Some((m_ip, m_port, m_name)) = self
                    .nodes
                    .get(m)
                    .map(|n| (n.ip.clone(), n.port, n.name.clone()))
                else {
                    return false;
                };
                let Some(mut n) = self.take_node(i) else {
                    return false;
                };
                self.out.log(
                    Level::Info,
                    &format!(">>> {}:{} as replica of {m_ip}:{m_port}\n", n.ip, n.port),
                );
                let ok = self.call_checked(&mut n, &["CLUSTER", "REPLICATE", m_name.as_str()]);
                self.put_node(i, n);
                if !ok {
                    return false;
                }
            }
            let Some(mut n) = self.take_node(i) else {
                return false;
            };
            let ok = self.call_checked(&mut n, &["CLUSTER", "FORGET", node_id.as_str()]);
            self.put_node(i, n);
            if !ok {
                return false;
            }
        }
        self.out.log(
            Level::Info,
            ">>> Sending CLUSTER RESET SOFT to the deleted node.\n",
        );
        let Some(mut n) = self.take_node(victim) else {
            return false;
        };
        let ok = self.call_checked(&mut n, &["CLUSTER", "RESET", "SOFT"]);
        self.put_node(victim, n);
        ok
    }

    fn take_node(&mut self, i: usize) -> Option<ClusterNode> {
        self.nodes.get_mut(i).map(std::mem::take)
    }

    fn put_node(&mut self, i: usize, n: ClusterNode) {
        if let Some(slot) = self.nodes.get_mut(i) {
            *slot = n;
        }
    }

    /// A master named by `id` that may take part in a reshard
    /// (`clusterNodeForResharding`): `Err(true)` when it is unknown or a
    /// replica, `Err(false)` when it is the target itself.
    fn node_for_resharding(&mut self, id: &str, target: Option<usize>) -> Result<usize, bool> {
        match self.node_by_name(id) {
            Some(i) if !self.nodes.get(i).is_some_and(ClusterNode::is_replica) => {
                let same = target.is_some_and(|t| {
                    self.nodes.get(t).map(|n| &n.name) == self.nodes.get(i).map(|n| &n.name)
                });
                if same {
                    self.out.log(
                        Level::Err,
                        "*** It is not possible to use the target node as source node.\n",
                    );
                    Err(false)
                } else {
                    Ok(i)
                }
            }
            _ => {
                self.out.log(
                    Level::Err,
                    &format!(
                        "*** The specified node ({id}) is not known or not a master, please retry.\n"
                    ),
                );
                Err(true)
            }
        }
    }

    /// `reshard host:port [--from ids|all] [--to id] [--slots n] [--yes]`:
    /// asks what it is not told, prints the plan, then moves the slots.
    pub fn reshard(&mut self, args: &[String], input: &mut dyn Read) -> bool {
        if !self.load_from_args(args) {
            return false;
        }
        self.check_cluster(false);
        if !self.errors.is_empty() {
            self.out.flush();
            self.out
                .eprint("*** Please fix your cluster problems before resharding\n");
            return false;
        }
        let mut slots = self.opts.slots;
        while slots == 0 || slots > CLUSTER_SLOTS {
            self.out.print(&format!(
                "How many slots do you want to move (from 1 to {CLUSTER_SLOTS})? "
            ));
            self.out.flush();
            let Some(line) = read_line(input) else {
                return false;
            };
            let text: String = line.chars().take(5).collect();
            slots = usize::try_from(crate::cluster::atoi(&text)).unwrap_or(0);
        }
        let mut to = self.opts.to.clone();
        while to.is_none() {
            self.out.print("What is the receiving node ID? ");
            self.out.flush();
            let Some(line) = read_line(input) else {
                return false;
            };
            if !line.is_empty() {
                to = Some(line);
            }
        }
        let to = to.unwrap_or_default();
        let Ok(target) = self.node_for_resharding(&to, None) else {
            return false;
        };
        let mut sources: Vec<usize> = Vec::new();
        let mut all = false;
        match self.opts.from.clone() {
            None => {
                self.out.print("Please enter all the source node IDs.\n");
                self.out.print(
                    "  Type 'all' to use all the nodes as source nodes for the hash slots.\n",
                );
                self.out
                    .print("  Type 'done' once you entered all the source nodes IDs.\n");
                loop {
                    self.out
                        .print(&format!("Source node #{}: ", sources.len() + 1));
                    self.out.flush();
                    let Some(line) = read_line(input) else {
                        return false;
                    };
                    if line == "done" {
                        break;
                    }
                    if line == "all" {
                        all = true;
                        break;
                    }
                    match self.node_for_resharding(&line, Some(target)) {
                        Ok(s) => sources.push(s),
                        Err(true) => return false,
                        Err(false) => {}
                    }
                }
            }
            Some(from) => {
                for id in from.split(',') {
                    if id == "all" {
                        all = true;
                        break;
                    }
                    if id.is_empty() {
                        continue;
                    }
                    match self.node_for_resharding(id, Some(target)) {
                        Ok(s) => sources.push(s),
                        Err(true) => return false,
                        Err(false) => {}
                    }
                }
            }
        }
        let target_name = self
            .nodes
            .get(target)
            .map(|n| n.name.clone())
            .unwrap_or_default();
        if all {
            sources = (0..self.nodes.len())
                .filter(|&i| {
                    self.nodes.get(i).is_some_and(|n| {
                        !n.is_replica() && n.replicate.is_none() && n.name != target_name
                    })
                })
                .collect();
        }
        if sources.is_empty() {
            self.out
                .eprint("*** No source nodes given, operation aborted.\n");
            return false;
        }
        self.out.print(&format!("\nReady to move {slots} slots.\n"));
        self.out.print("  Source nodes:\n");
        for &s in &sources {
            let text = self
                .nodes
                .get(s)
                .map(|n| n.info_string_indented(4))
                .unwrap_or_default();
            self.out.print(&format!("{text}\n"));
        }
        self.out.print("  Destination node:\n");
        let text = self
            .nodes
            .get(target)
            .map(|n| n.info_string_indented(4))
            .unwrap_or_default();
        self.out.print(&format!("{text}\n"));
        let table = self.reshard_table(&sources, slots);
        self.out.print("  Resharding plan:\n");
        for &(src, slot) in &table {
            let name = self
                .nodes
                .get(src)
                .map(|n| n.name.clone())
                .unwrap_or_default();
            self.out
                .print(&format!("    Moving slot {slot} from {name}\n"));
        }
        if !self.opts.yes {
            self.out
                .print("Do you want to proceed with the proposed reshard plan (yes/no)? ");
            self.out.flush();
            if !crate::manager::read_yes(input) {
                return false;
            }
        }
        match self.move_slots_atomic(&table, target, false, false) {
            Some(Ok(())) => return true,
            Some(Err(e)) => {
                self.out
                    .log(Level::Err, &format!("*** Slot migration failed: {e}\n"));
                return false;
            }
            None => {}
        }
        let opts = MoveOptions {
            verbose: true,
            ..MoveOptions::default()
        };
        for (src, slot) in table {
            if let Err(e) = self.move_slot(src, target, slot, opts) {
                if let Some(e) = e {
                    self.out
                        .log(Level::Err, &format!("clusterManagerMoveSlot failed: {e}\n"));
                }
                return false;
            }
        }
        true
    }

    /// Which slots each source gives (`clusterManagerComputeReshardTable`):
    /// sources by slot count, largest first, each giving its share of
    /// `numslots` (the first rounded up, the others down), lowest slots
    /// first.
    pub fn reshard_table(&self, sources: &[usize], numslots: usize) -> Vec<(usize, usize)> {
        let total: usize = sources
            .iter()
            .filter_map(|&s| self.nodes.get(s))
            .map(|n| n.slots_count)
            .sum();
        let mut sorted = sources.to_vec();
        sorted.sort_by_key(|&s| std::cmp::Reverse(self.nodes.get(s).map_or(0, |n| n.slots_count)));
        let mut moved = Vec::new();
        for (i, &s) in sorted.iter().enumerate() {
            let Some(node) = self.nodes.get(s) else {
                continue;
            };
            let share = numslots as f32 / total.max(1) as f32 * node.slots_count as f32;
            let max = if i == 0 { share.ceil() } else { share.floor() } as usize;
            for (count, slot) in node.slots.iter().enumerate() {
                if count >= max || moved.len() >= numslots {
                    break;
                }
                moved.push((s, slot));
            }
        }
        moved
    }

    /// `CLUSTER SETSLOT slot state <id of other>` on `node`; the error text
    /// on failure.
    pub(crate) fn set_slot(
        &mut self,
        node: usize,
        other: usize,
        slot: usize,
        state: &str,
    ) -> Result<(), String> {
        let other_name = self
            .nodes
            .get(other)
            .map(|n| n.name.clone())
            .unwrap_or_default();
        let slot_s = slot.to_string();
        let Some(n) = self.nodes.get_mut(node) else {
            return Err("CLUSTER SETSLOT failed to run".to_owned());
        };
        match n.call(&[
            "CLUSTER",
            "SETSLOT",
            slot_s.as_str(),
            state,
            other_name.as_str(),
        ]) {
            Ok(reply) => match error_text(&reply) {
                Some(e) => Err(e),
                None => Ok(()),
            },
            Err(_) => Err("CLUSTER SETSLOT failed to run".to_owned()),
        }
    }

    /// Moves one slot from `source` to `target` (`clusterManagerMoveSlot`).
    /// `Err(Some(text))`: a node's error, for the caller to print.
    pub fn move_slot(
        &mut self,
        source: usize,
        target: usize,
        slot: usize,
        opts: MoveOptions,
    ) -> Result<(), Option<String>> {
        let (Some(src), Some(dst)) = (
            self.nodes.get(source).map(ClusterNode::addr),
            self.nodes.get(target).map(ClusterNode::addr),
        ) else {
            return Err(None);
        };
        if !opts.quiet {
            self.out
                .print(&format!("Moving slot {slot} from {src} to {dst}: "));
            self.out.flush();
        }
        if !opts.cold {
            self.set_slot(target, source, slot, "importing")
                .map_err(Some)?;
            self.set_slot(source, target, slot, "migrating")
                .map_err(Some)?;
        }
        let moved = self.migrate_keys_in_slot(source, target, slot, opts.verbose);
        if !opts.quiet {
            self.out.print("\n");
        }
        moved?;
        if !opts.cold {
            self.set_slot(target, target, slot, "node").map_err(Some)?;
            if let Err(e) = self.set_slot(source, target, slot, "node") {
                if !e.starts_with("ERR Please use SETSLOT only with masters.") {
                    return Err(Some(e));
                }
            }
            for i in 0..self.nodes.len() {
                if i == source || i == target {
                    continue;
                }
                if self.nodes.get(i).is_some_and(ClusterNode::is_replica) {
                    continue;
                }
                self.set_slot(i, target, slot, "node").map_err(Some)?;
            }
        }
        if opts.update {
            if let Some(s) = self.nodes.get_mut(source) {
                s.slots.remove(slot);
                s.slots_count = s.slots.count();
            }
            if let Some(t) = self.nodes.get_mut(target) {
                t.slots.insert(slot);
                t.slots_count = t.slots.count();
            }
        }
        Ok(())
    }

    /// The MIGRATE of a batch of keys from `source` to `target`.
    fn migrate_batch(
        &mut self,
        source: usize,
        target: usize,
        keys: &[Vec<u8>],
        replace: bool,
    ) -> Result<Frame, Error> {
        let (ip, port) = self
            .nodes
            .get(target)
            .map(|n| (n.ip.clone(), n.port.to_string()))
            .unwrap_or_default();
        let timeout = self.timeout_ms().to_string();
        let mut argv: Vec<Vec<u8>> = vec![
            b"MIGRATE".to_vec(),
            ip.into_bytes(),
            port.into_bytes(),
            Vec::new(),
            b"0".to_vec(),
            timeout.into_bytes(),
        ];
        if replace {
            argv.push(b"REPLACE".to_vec());
        }
        if let Some(pass) = &self.opts.connect.password {
            match &self.opts.connect.user {
                Some(user) => {
                    argv.push(b"AUTH2".to_vec());
                    argv.push(user.as_bytes().to_vec());
                }
                None => argv.push(b"AUTH".to_vec()),
            }
            argv.push(pass.as_bytes().to_vec());
        }
        argv.push(b"KEYS".to_vec());
        argv.extend(keys.iter().cloned());
        match self.nodes.get_mut(source) {
            Some(n) => n.call(&argv),
            None => Err(Error::Closed),
        }
    }

    /// Moves every key of `slot` (`clusterManagerMigrateKeysInSlot`),
    /// handling a target that already holds a key as redis-cli does.
    fn migrate_keys_in_slot(
        &mut self,
        source: usize,
        target: usize,
        slot: usize,
        verbose: bool,
    ) -> Result<(), Option<String>> {
        let pipeline = self.pipeline().to_string();
        let slot_s = slot.to_string();
        let src_addr = self
            .nodes
            .get(source)
            .map(ClusterNode::addr)
            .unwrap_or_default();
        loop {
            let reply = match self.nodes.get_mut(source).map(|n| {
                n.call(&[
                    "CLUSTER",
                    "GETKEYSINSLOT",
                    slot_s.as_str(),
                    pipeline.as_str(),
                ])
            }) {
                Some(Ok(r)) => r,
                _ => return Err(None),
            };
            if let Some(e) = error_text(&reply) {
                self.out.reply_error(&src_addr, &e);
                return Err(Some(e));
            }
            let keys: Vec<Vec<u8>> = match &reply {
                Frame::Array(items) => items
                    .iter()
                    .filter_map(|k| string_bytes(k).map(<[u8]>::to_vec))
                    .collect(),
                _ => Vec::new(),
            };
            if keys.is_empty() {
                return Ok(());
            }
            let Ok(mut migrated) = self.migrate_batch(source, target, &keys, self.opts.replace)
            else {
                return Err(None);
            };
            if let Some(e) = error_text(&migrated) {
                let busy = e.contains("BUSYKEY");
                let not_served = !busy && self.slot_not_served(source, slot);
                if !(busy || not_served) {
                    self.out.print("\n");
                    self.out.reply_error(&src_addr, &e);
                    return Err(Some(e));
                }
                if self.opts.fix && not_served {
                    let (ip, port) = self
                        .nodes
                        .get(target)
                        .map(|n| (n.ip.clone(), n.port))
                        .unwrap_or_default();
                    self.out.log(
                        Level::Warn,
                        &format!("*** Slot was not served, setting owner to node {ip}:{port}.\n"),
                    );
                    let _ = self.set_slot(source, target, slot, "node");
                }
                if busy {
                    self.out.log(Level::Warn, "\n*** Target key exists\n");
                    if !self.opts.replace {
                        self.out
                            .log(Level::Warn, "*** Checking key values on both nodes...\n");
                        let Some(diffs) = self.compare_values(source, target, &keys) else {
                            self.out.log(Level::Err, "*** Value check failed!\n");
                            return Err(None);
                        };
                        if !diffs.is_empty() {
                            let (sa, ta) = (
                                src_addr.clone(),
                                self.nodes
                                    .get(target)
                                    .map(ClusterNode::addr)
                                    .unwrap_or_default(),
                            );
                            let mut text = format!(
                                "*** Found {} key(s) in both source node and target node having \
                                 different values.\n    Source node: {sa}\n    Target node: {ta}\n    Keys(s):\n",
                                diffs.len()
                            );
                            for k in &diffs {
                                text.push_str(&format!("    - {}\n", String::from_utf8_lossy(k)));
                            }
                            self.out.log(Level::Err, &text);
                            self.out.log(
                                Level::Err,
                                "Please fix the above key(s) manually and try again or relaunch \
                                 the command \nwith --cluster-replace option to force key overriding.\n",
                            );
                            return Err(None);
                        }
                    }
                    self.out.log(Level::Warn, "*** Replacing target keys...\n");
                }
                migrated = match self.migrate_batch(source, target, &keys, busy) {
                    Ok(r) => r,
                    Err(_) => return Err(None),
                };
                if let Some(e) = error_text(&migrated) {
                    self.out.print("\n");
                    self.out.reply_error(&src_addr, &e);
                    return Err(Some(e));
                }
                // redis-cli prints no dots for a batch it had to retry.
                continue;
            }
            if verbose {
                self.out.print(&".".repeat(keys.len()));
                self.out.flush();
            }
        }
    }

    /// Whether `node` sees `slot` unassigned (`clusterManagerGetSlotOwner`
    /// finding no owner without an error).
    fn slot_not_served(&mut self, node: usize, slot: usize) -> bool {
        let Some(n) = self.nodes.get_mut(node) else {
            return false;
        };
        let Ok(Frame::Array(ranges)) = n.call(&["CLUSTER", "SLOTS"]) else {
            return false;
        };
        !ranges.iter().any(|r| match r {
            Frame::Array(items) => match (items.first(), items.get(1)) {
                (Some(Frame::Integer(a)), Some(Frame::Integer(b))) => {
                    (*a..=*b).contains(&(slot as i64))
                }
                _ => false,
            },
            _ => false,
        })
    }

    /// Keys whose values differ on the two nodes (DEBUG DIGEST-VALUE),
    /// ignoring keys missing on either; `None` when a node refused.
    fn compare_values(&mut self, a: usize, b: usize, keys: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
        let mut argv: Vec<Vec<u8>> = vec![b"DEBUG".to_vec(), b"DIGEST-VALUE".to_vec()];
        argv.extend(keys.iter().cloned());
        let mut digests = Vec::new();
        for i in [a, b] {
            let n = self.nodes.get_mut(i)?;
            let reply = n.call(&argv).ok()?;
            if let Some(e) = error_text(&reply) {
                let addr = n.addr();
                self.out.reply_error(&addr, &e);
                return None;
            }
            let Frame::Array(items) = reply else {
                return None;
            };
            digests.push(
                items
                    .iter()
                    .map(|d| string_bytes(d).map(<[u8]>::to_vec).unwrap_or_default())
                    .collect::<Vec<_>>(),
            );
        }
        let zero = [b'0'; 40];
        let (d1, d2) = (digests.first()?, digests.get(1)?);
        Some(
            keys.iter()
                .zip(d1.iter().zip(d2))
                .filter(|(_, (x, y))| x[..] != zero[..] && y[..] != zero[..] && x != y)
                .map(|(k, _)| k.clone())
                .collect(),
        )
    }
}

fn reply_message(e: Error) -> String {
    match e {
        Error::Reply { message, .. } => message,
        other => other.to_string(),
    }
}

impl Manager<'_, '_> {
    /// `rebalance host:port [--weight id=w ...] [--use-empty-masters]
    /// [--threshold t] [--simulate]` (`clusterManagerCommandRebalance`):
    /// moves slots from the masters above their weighted share to those
    /// below, when one is off by more than the threshold (percent).
    pub fn rebalance(&mut self, args: &[String]) -> bool {
        if !self.load_from_args(args) {
            return false;
        }
        let mut weights = vec![1.0f32; self.nodes.len()];
        for spec in &self.opts.weights {
            let Some((name, w)) = spec.split_once('=') else {
                self.out
                    .log(Level::Err, &format!("*** invalid input {spec}\n"));
                return false;
            };
            let lower = name.to_ascii_lowercase();
            let Some(i) = self.nodes.iter().position(|n| n.name.starts_with(&lower)) else {
                self.out
                    .log(Level::Err, &format!("*** No such master node {name}\n"));
                return false;
            };
            if let Some(slot) = weights.get_mut(i) {
                *slot = w.trim().parse().unwrap_or(0.0);
            }
        }
        let mut total_weight = 0f32;
        let mut involved = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            if n.is_replica() || n.replicate.is_some() {
                continue;
            }
            if !self.opts.use_empty_masters && n.slots_count == 0 {
                continue;
            }
            total_weight += weights.get(i).copied().unwrap_or(1.0);
            involved.push(i);
        }
        self.check_cluster(true);
        if !self.errors.is_empty() {
            self.out.log(
                Level::Err,
                "*** Please fix your cluster problems before rebalancing\n",
            );
            return false;
        }
        let threshold = self.opts.threshold.unwrap_or(2.0);
        let mut balance: Vec<(usize, i64)> = Vec::new();
        let mut total_balance = 0i64;
        let mut reached = false;
        for &i in &involved {
            let Some(n) = self.nodes.get(i) else { continue };
            let w = weights.get(i).copied().unwrap_or(1.0);
            let expected = (CLUSTER_SLOTS as f32 / total_weight * w) as i64;
            let count = n.slots_count as i64;
            let b = count - expected;
            total_balance += b;
            if threshold > 0.0 {
                if count > 0 {
                    let err = (100.0 - (100.0 * expected as f64 / count as f64)).abs();
                    if err > f64::from(threshold) {
                        reached = true;
                    }
                } else if expected > 1 {
                    reached = true;
                }
            }
            balance.push((i, b));
        }
        if !reached {
            self.out.log(
                Level::Warn,
                &format!(
                    "*** No rebalancing needed! All nodes are within the {threshold:.2}% threshold.\n"
                ),
            );
            return true;
        }
        while total_balance > 0 {
            for (_, b) in balance.iter_mut() {
                if *b <= 0 && total_balance > 0 {
                    *b -= 1;
                    total_balance -= 1;
                }
            }
        }
        balance.sort_by_key(|&(_, b)| b);
        self.out.log(
            Level::Info,
            &format!(
                ">>> Rebalancing across {} nodes. Total weight = {total_weight:.2}\n",
                involved.len()
            ),
        );
        let (mut dst_idx, mut src_idx) = (0usize, balance.len().saturating_sub(1));
        while dst_idx < src_idx {
            let (Some(&(dst, db)), Some(&(src, sb))) = (balance.get(dst_idx), balance.get(src_idx))
            else {
                break;
            };
            let numslots = db.abs().min(sb.abs());
            if numslots > 0 {
                let (sa, da) = (
                    self.nodes
                        .get(src)
                        .map(ClusterNode::addr)
                        .unwrap_or_default(),
                    self.nodes
                        .get(dst)
                        .map(ClusterNode::addr)
                        .unwrap_or_default(),
                );
                self.out
                    .print(&format!("Moving {numslots} slots from {sa} to {da}\n"));
                let table = self.reshard_table(&[src], numslots as usize);
                if table.len() != numslots as usize {
                    self.out.log(
                        Level::Err,
                        "*** Assertion failed: Reshard table != number of slots",
                    );
                    return false;
                }
                if self.opts.simulate {
                    self.out.print(&"#".repeat(table.len()));
                } else if let Some(moved) = self.move_slots_atomic(&table, dst, true, true) {
                    if let Err(e) = moved {
                        self.out
                            .log(Level::Err, &format!("*** Slot migration failed: {e}\n"));
                        return false;
                    }
                    self.out.print(&"#".repeat(table.len()));
                    self.out.flush();
                } else {
                    let opts = MoveOptions {
                        quiet: true,
                        update: true,
                        ..MoveOptions::default()
                    };
                    for (from, slot) in table {
                        if let Err(e) = self.move_slot(from, dst, slot, opts) {
                            let e = e.unwrap_or_default();
                            self.out
                                .log(Level::Err, &format!("*** clusterManagerMoveSlot: {e}\n"));
                            return false;
                        }
                        self.out.print("#");
                        self.out.flush();
                    }
                }
                self.out.print("\n");
            }
            if let Some(d) = balance.get_mut(dst_idx) {
                d.1 += numslots;
                if d.1 == 0 {
                    dst_idx += 1;
                }
            }
            if let Some(s) = balance.get_mut(src_idx) {
                s.1 -= numslots;
                if s.1 == 0 {
                    src_idx = src_idx.saturating_sub(1);
                }
            }
        }
        true
    }
}

impl Manager<'_, '_> {
    /// `import host:port --from host:port [--copy] [--replace]`
    /// (`clusterManagerCommandImport`): every key of database 0 of a
    /// non-cluster instance, moved (or copied) to its master with MIGRATE
    /// run on the source.
    pub fn import(&mut self, args: &[String]) -> bool {
        let Some((ip, port)) = host_from_args(args) else {
            self.out.eprint(INVALID_HOST_ARG);
            return false;
        };
        let Some(from) = self.opts.from.clone() else {
            self.out
                .eprint("[ERR] Option '--cluster-from' is required for subcommand 'import'.\n");
            return false;
        };
        let Some((src_ip, src_port)) = host_from_args(std::slice::from_ref(&from)) else {
            self.out.eprint(
                "[ERR] Invalid --cluster-from host. You need to pass a valid address \
                 (ie. 120.0.0.1:7000).\n",
            );
            return false;
        };
        self.out.log(
            Level::Info,
            &format!(">>> Importing data from {src_ip}:{src_port} to cluster {ip}:{port}\n"),
        );
        if !self.load_from(ClusterNode::new(&ip, port, None)) || !self.check_cluster(false) {
            return false;
        }
        let src_opts = crate::conn::ConnectOptions {
            connect_timeout: self.opts.connect.connect_timeout,
            password: self.opts.from_pass.clone(),
            user: self.opts.from_user.clone(),
        };
        let mut src = match crate::conn::Conn::open(&src_ip, src_port, &src_opts) {
            Ok(c) => c,
            Err(e) => {
                self.out.eprint(&format!(
                    "Could not connect to Redis at {src_ip}:{src_port}: {e}.\n"
                ));
                return false;
            }
        };
        let src_err = |m: &mut Self, text: &str| {
            m.out.log(
                Level::Err,
                &format!("Source {src_ip}:{src_port} replied with error:\n{text}\n"),
            );
        };
        let info = match src.call(&["INFO"]) {
            Ok(r) => match error_text(&r) {
                Some(e) => {
                    src_err(self, &e);
                    return false;
                }
                None => string_bytes(&r)
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default(),
            },
            Err(_) => return false,
        };
        if crate::cluster::info_field(&info, "cluster_enabled")
            .is_some_and(|v| crate::cluster::atoi(v) != 0)
        {
            self.out.log(
                Level::Err,
                "[ERR] The source node should not be a cluster node.\n",
            );
            return false;
        }
        let size = match src.call(&["DBSIZE"]) {
            Ok(Frame::Integer(n)) => n,
            Ok(r) => {
                src_err(self, &error_text(&r).unwrap_or_default());
                return false;
            }
            Err(_) => return false,
        };
        self.out.log(
            Level::Warn,
            &format!("*** Importing {size} keys from DB 0\n"),
        );
        let mut owner = vec![None; CLUSTER_SLOTS];
        for (slot, o) in owner.iter_mut().enumerate() {
            *o = self
                .nodes
                .iter()
                .position(|n| !n.is_replica() && n.slots_count > 0 && n.slots.contains(slot));
        }
        let timeout = self.timeout_ms().to_string();
        let mut cursor = b"0".to_vec();
        loop {
            let reply = match src.call(&[b"SCAN".as_slice(), &cursor, b"COUNT", b"1000"]) {
                Ok(r) => r,
                Err(_) => return false,
            };
            if let Some(e) = error_text(&reply) {
                src_err(self, &e);
                return false;
            }
            let Frame::Array(parts) = reply else {
                return false;
            };
            cursor = parts
                .first()
                .and_then(string_bytes)
                .map(<[u8]>::to_vec)
                .unwrap_or_else(|| b"0".to_vec());
            let keys: Vec<Vec<u8>> = match parts.get(1) {
                Some(Frame::Array(keys)) => keys
                    .iter()
                    .filter_map(|k| string_bytes(k).map(<[u8]>::to_vec))
                    .collect(),
                _ => Vec::new(),
            };
            for key in keys {
                let slot = usize::from(ferrodis_slots::key_slot(&key).get());
                let Some(t) = owner.get(slot).copied().flatten() else {
                    return false;
                };
                let Some((t_ip, t_port)) = self.nodes.get(t).map(|n| (n.ip.clone(), n.port)) else {
                    return false;
                };
                self.out.print(&format!(
                    "Migrating {} to {t_ip}:{t_port}: ",
                    String::from_utf8_lossy(&key)
                ));
                let port_s = t_port.to_string();
                let mut argv: Vec<&[u8]> = vec![
                    b"MIGRATE",
                    t_ip.as_bytes(),
                    port_s.as_bytes(),
                    &key,
                    b"0",
                    timeout.as_bytes(),
                ];
                if let Some(pass) = &self.opts.connect.password {
                    match &self.opts.connect.user {
                        Some(user) => argv.extend([b"AUTH2".as_slice(), user.as_bytes()]),
                        None => argv.push(b"AUTH"),
                    }
                    argv.push(pass.as_bytes());
                }
                if self.opts.copy {
                    argv.push(b"COPY");
                }
                if self.opts.replace {
                    argv.push(b"REPLACE");
                }
                match src.call(&argv) {
                    Ok(r) => {
                        if let Some(e) = error_text(&r) {
                            src_err(self, &e);
                            return false;
                        }
                    }
                    Err(_) => return false,
                }
                self.out.log(Level::Ok, "OK\n");
            }
            if cursor == b"0" {
                return true;
            }
        }
    }
}
