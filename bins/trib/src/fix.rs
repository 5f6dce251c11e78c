//! `fix`: the check, repairing what it finds as `redis-cli --cluster fix`
//! 7.0 does: open slots (a migration left half done: `clusterManagerFixOpenSlot`'s
//! cases 1 to 4) and slots no node serves (`clusterManagerFixSlotsCoverage`:
//! given to a random master, to the one node holding keys, or to the node
//! holding most keys after moving the others' keys to it).

use ferrodis_resp::Frame;

use crate::cluster::{SlotSet, CLUSTER_SLOTS};
use crate::conn::error_text;
use crate::manager::{read_yes, Manager};
use crate::output::Level;
use crate::reshard::MoveOptions;

/// Why fixing stopped before it was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixOutcome {
    /// Fixed (or nothing to fix).
    Done,
    /// Could not fix; the check goes on.
    Failed,
    /// Masters are unreachable and `--fix-with-unreachable-masters` was
    /// not given: redis-cli exits at once with status 1.
    Refused,
}

impl Manager<'_, '_> {
    fn masters(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes.get(i).is_some_and(|n| !n.is_replica()))
            .collect()
    }

    fn count_keys_in_slot(&mut self, i: usize, slot: usize) -> Option<i64> {
        let s = slot.to_string();
        let n = self.nodes.get_mut(i)?;
        match n.call(&["CLUSTER", "COUNTKEYSINSLOT", s.as_str()]) {
            Ok(Frame::Integer(c)) => Some(c),
            Ok(reply) => {
                let addr = n.addr();
                let msg = error_text(&reply).unwrap_or_default();
                self.out.reply_error(&addr, &msg);
                None
            }
            Err(_) => None,
        }
    }

    fn clear_slot_status(&mut self, i: usize, slot: usize) -> bool {
        let s = slot.to_string();
        let Some(mut n) = self.nodes.get_mut(i).map(std::mem::take) else {
            return false;
        };
        let ok = self.call_checked(&mut n, &["CLUSTER", "SETSLOT", s.as_str(), "STABLE"]);
        if let Some(slot_ref) = self.nodes.get_mut(i) {
            *slot_ref = n;
        }
        ok
    }

    /// Gives an uncovered `slot` to node `i` (logged as redis-cli does).
    fn cover_slot(&mut self, i: usize, slot: usize) -> Result<(), FixOutcome> {
        let a = self.endpoints(&[i]);
        self.out
            .log(Level::Info, &format!(">>> Covering slot {slot} with {a}\n"));
        if !self.set_slot_owner(i, slot, false) {
            return Err(FixOutcome::Failed);
        }
        if let Some(node) = self.nodes.get_mut(i) {
            node.slots.insert(slot);
        }
        Ok(())
    }

    /// `clusterManagerSetSlotOwner`: in one transaction, DELSLOTS (errors
    /// ignored), ADDSLOTS, optionally SETSLOT STABLE, BUMPEPOCH.
    fn set_slot_owner(&mut self, i: usize, slot: usize, clear: bool) -> bool {
        let s = slot.to_string();
        let Some(n) = self.nodes.get_mut(i) else {
            return false;
        };
        let mut cmds: Vec<Vec<&str>> = vec![
            vec!["MULTI"],
            vec!["CLUSTER", "DELSLOTS", s.as_str()],
            vec!["CLUSTER", "ADDSLOTS", s.as_str()],
        ];
        if clear {
            cmds.push(vec!["CLUSTER", "SETSLOT", s.as_str(), "STABLE"]);
        }
        cmds.push(vec!["CLUSTER", "BUMPEPOCH"]);
        for c in &cmds {
            if n.call(c).is_err() {
                return false;
            }
        }
        match n.call(&["EXEC"]) {
            Ok(Frame::Array(replies)) => replies.get(1).map_or(true, |r| error_text(r).is_none()),
            _ => false,
        }
    }

    fn most_keys_in_slot(&mut self, among: &[usize], slot: usize) -> Option<usize> {
        let mut best: Option<(usize, i64)> = None;
        for &i in among {
            if self
                .nodes
                .get(i)
                .map_or(true, |n| n.is_replica() || n.replicate.is_some())
            {
                continue;
            }
            let c = self.count_keys_in_slot(i, slot)?;
            if best.map_or(true, |(_, b)| c > b) {
                best = Some((i, c));
            }
        }
        best.map(|(i, _)| i)
    }

    fn endpoints(&self, list: &[usize]) -> String {
        list.iter()
            .filter_map(|&i| self.nodes.get(i))
            .map(|n| format!("{}:{}", n.ip, n.port))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn unreachable_refusal(&mut self, what: &str) -> FixOutcome {
        let text = format!(
            "*** Fixing {what} with {} unreachable masters is dangerous: redis-cli will assume \
             that slots about masters that are not reachable are not covered, and will try to \
             reassign them to the reachable nodes. This can cause data loss and is rarely what \
             you want to do. If you really want to proceed use the \
             --cluster-fix-with-unreachable-masters option.\n",
            self.unreachable_masters
        );
        self.out.log(Level::Warn, &text);
        FixOutcome::Refused
    }

    /// Repairs one open slot (`clusterManagerFixOpenSlot`).
    pub fn fix_open_slot(&mut self, slot: usize) -> FixOutcome {
        if self.unreachable_masters > 0 && !self.opts.fix_with_unreachable_masters {
            return self.unreachable_refusal("open slots");
        }
        self.out
            .log(Level::Info, &format!(">>> Fixing open slot {slot}\n"));
        let slot_s = slot.to_string();
        let mut owners = Vec::new();
        for i in self.masters() {
            if self.nodes.get(i).is_some_and(|n| n.slots.contains(slot)) {
                owners.push(i);
                continue;
            }
            let Some(c) = self.count_keys_in_slot(i, slot) else {
                return FixOutcome::Failed;
            };
            if c > 0 {
                let a = self.endpoints(&[i]);
                self.out.log(
                    Level::Warn,
                    &format!("*** Found keys about slot {slot} in non-owner node {a}!\n"),
                );
                owners.push(i);
            }
        }
        let mut owner = (owners.len() == 1).then(|| owners[0]);
        let (mut migrating, mut importing) = (Vec::new(), Vec::new());
        for i in self.masters() {
            let Some(n) = self.nodes.get(i) else { continue };
            if n.migrating.iter().any(|(s, _)| *s == slot_s) {
                migrating.push(i);
            } else if n.importing.iter().any(|(s, _)| *s == slot_s) {
                importing.push(i);
            } else if Some(i) != owner {
                let Some(c) = self.count_keys_in_slot(i, slot) else {
                    return FixOutcome::Failed;
                };
                if c > 0 {
                    let a = self.endpoints(&[i]);
                    self.out.log(
                        Level::Warn,
                        &format!("*** Found keys about slot {slot} in node {a}!\n"),
                    );
                    importing.push(i);
                }
            }
        }
        if !migrating.is_empty() {
            let t = self.endpoints(&migrating);
            self.out.print(&format!("Set as migrating in: {t}\n"));
        }
        if !importing.is_empty() {
            let t = self.endpoints(&importing);
            self.out.print(&format!("Set as importing in: {t}\n"));
        }
        if owner.is_none() {
            self.out.log(
                Level::Info,
                ">>> No single clear owner for the slot, selecting an owner by # of keys...\n",
            );
            let all: Vec<usize> = (0..self.nodes.len()).collect();
            let Some(o) = self.most_keys_in_slot(&all, slot) else {
                self.out.log(
                    Level::Err,
                    "[ERR] Can't select a slot owner. Impossible to fix.\n",
                );
                return FixOutcome::Failed;
            };
            let a = self.endpoints(&[o]);
            self.out.log(
                Level::Warn,
                &format!("*** Configuring {a} as the slot owner\n"),
            );
            if !self.clear_slot_status(o, slot) || !self.set_slot_owner(o, slot, false) {
                return FixOutcome::Failed;
            }
            if let Some(n) = self.nodes.get_mut(o) {
                n.slots.insert(slot);
            }
            migrating.retain(|&m| m != o);
            importing.retain(|&m| m != o);
            owner = Some(o);
        }
        let Some(owner) = owner else {
            return FixOutcome::Failed;
        };
        if owners.len() > 1 {
            for &n in &owners {
                if n == owner {
                    continue;
                }
                let s = slot.to_string();
                if let Some(node) = self.nodes.get_mut(n) {
                    let _ = node.call(&["CLUSTER", "DELSLOTS", s.as_str()]);
                    node.slots.remove(slot);
                }
                if self.set_slot(n, owner, slot, "node").is_err()
                    || self.set_slot(n, owner, slot, "importing").is_err()
                {
                    return FixOutcome::Failed;
                }
                importing.retain(|&m| m != n);
                importing.push(n);
                migrating.retain(|&m| m != n);
            }
        }
        let verbose = MoveOptions {
            verbose: true,
            ..MoveOptions::default()
        };
        let ok = if migrating.len() == 1 && importing.len() == 1 {
            let (src, dst) = (migrating[0], importing[0]);
            let (a, b) = (self.endpoints(&[src]), self.endpoints(&[dst]));
            self.out.log(
                Level::Info,
                &format!(">>> Case 1: Moving slot {slot} from {a} to {b}\n"),
            );
            let opts = MoveOptions {
                update: true,
                ..verbose
            };
            self.move_slot(src, dst, slot, opts).is_ok()
        } else if migrating.is_empty() && !importing.is_empty() {
            let a = self.endpoints(&[owner]);
            self.out.log(
                Level::Info,
                &format!(">>> Case 2: Moving all the {slot} slot keys to its owner {a}\n"),
            );
            let opts = MoveOptions {
                cold: true,
                ..verbose
            };
            for &n in &importing {
                if n == owner {
                    continue;
                }
                if self.move_slot(n, owner, slot, opts).is_err() {
                    return FixOutcome::Failed;
                }
                let a = self.endpoints(&[n]);
                self.out.log(
                    Level::Info,
                    &format!(">>> Setting {slot} as STABLE in {a}\n"),
                );
                if !self.clear_slot_status(n, slot) {
                    return FixOutcome::Failed;
                }
            }
            for n in self.masters() {
                if n != owner && self.set_slot(n, owner, slot, "NODE").is_err() {
                    return FixOutcome::Failed;
                }
            }
            true
        } else if migrating.len() == 1 && importing.len() > 1 {
            let src = migrating[0];
            let target_id = self
                .nodes
                .get(src)
                .and_then(|n| n.migrating.iter().find(|(s, _)| *s == slot_s))
                .map(|(_, id)| id.clone())
                .unwrap_or_default();
            let mut dst = None;
            for &n in &importing {
                match self.count_keys_in_slot(n, slot) {
                    Some(0) => {}
                    _ => return self.unhandled(slot, &migrating, &importing, owner),
                }
                if self.nodes.get(n).is_some_and(|x| x.name == target_id) {
                    dst = Some(n);
                }
            }
            match dst {
                Some(dst) => {
                    let (a, b) = (self.endpoints(&[src]), self.endpoints(&[dst]));
                    self.out.log(
                        Level::Info,
                        &format!(
                            ">>> Case 3: Moving slot {slot} from {a} to {b} and closing it on \
                             all the other importing nodes.\n"
                        ),
                    );
                    if self.move_slot(src, dst, slot, verbose).is_err() {
                        return FixOutcome::Failed;
                    }
                    importing
                        .iter()
                        .filter(|&&n| n != dst)
                        .all(|&n| self.clear_slot_status(n, slot))
                }
                None => {
                    self.out.log(
                        Level::Info,
                        &format!(
                            ">>> Case 3: Closing slot {slot} on both migrating and importing nodes.\n"
                        ),
                    );
                    self.clear_slot_status(src, slot)
                        && importing.iter().all(|&n| self.clear_slot_status(n, slot))
                }
            }
        } else {
            let mut close = importing.is_empty() && migrating.len() == 1;
            if close {
                let n = migrating[0];
                if owner != n {
                    let Some(node) = self.nodes.get_mut(n) else {
                        return FixOutcome::Failed;
                    };
                    match node.call(&["CLUSTER", "GETKEYSINSLOT", slot_s.as_str(), "10"]) {
                        Ok(Frame::Array(keys)) => close = keys.is_empty(),
                        _ => return FixOutcome::Failed,
                    }
                }
            }
            if !close {
                return self.unhandled(slot, &migrating, &importing, owner);
            }
            let n = migrating[0];
            let a = self.endpoints(&[n]);
            self.out.log(
                Level::Info,
                &format!(">>> Case 4: Closing slot {slot} on {a}\n"),
            );
            self.clear_slot_status(n, slot)
        };
        if ok {
            FixOutcome::Done
        } else {
            FixOutcome::Failed
        }
    }

    fn unhandled(
        &mut self,
        _slot: usize,
        migrating: &[usize],
        importing: &[usize],
        owner: usize,
    ) -> FixOutcome {
        let (m, i, o) = (
            self.endpoints(migrating),
            self.endpoints(importing),
            self.endpoints(&[owner]),
        );
        self.out.log(
            Level::Err,
            &format!(
                "[ERR] Sorry, redis-cli can't fix this slot yet (work in progress). Slot is set \
                 as migrating in {m}, as importing in {i}, owner is {o}\n"
            ),
        );
        FixOutcome::Failed
    }

    /// Gives every uncovered slot an owner (`clusterManagerFixSlotsCoverage`),
    /// asking before each kind of change (even with `--yes`, as redis-cli).
    /// How many slots it covered.
    pub fn fix_slots_coverage(&mut self, covered: &[bool]) -> Result<usize, FixOutcome> {
        if self.unreachable_masters > 0 && !self.opts.fix_with_unreachable_masters {
            return Err(self.unreachable_refusal("slots coverage"));
        }
        self.out.log(Level::Info, ">>> Fixing slots coverage...\n");
        let mut holders: Vec<(usize, Vec<usize>)> = Vec::new();
        for slot in (0..CLUSTER_SLOTS).filter(|&s| !covered.get(s).copied().unwrap_or(true)) {
            let s = slot.to_string();
            let mut with_keys = Vec::new();
            for i in 0..self.nodes.len() {
                let Some(n) = self.nodes.get_mut(i) else {
                    continue;
                };
                if n.is_replica() || n.replicate.is_some() {
                    continue;
                }
                match n.call(&["CLUSTER", "GETKEYSINSLOT", s.as_str(), "1"]) {
                    Ok(Frame::Array(keys)) => {
                        if !keys.is_empty() {
                            with_keys.push(i);
                        }
                    }
                    Ok(reply) => {
                        let (addr, msg) = (n.addr(), error_text(&reply).unwrap_or_default());
                        self.out.reply_error(&addr, &msg);
                        return Err(FixOutcome::Failed);
                    }
                    Err(_) => return Err(FixOutcome::Failed),
                }
            }
            holders.push((slot, with_keys));
        }
        let list = |which: &dyn Fn(usize) -> bool| -> (Vec<usize>, String) {
            let mut set = SlotSet::default();
            let slots: Vec<usize> = holders
                .iter()
                .filter(|(_, h)| which(h.len()))
                .map(|(s, _)| *s)
                .collect();
            for &s in &slots {
                set.insert(s);
            }
            (slots, set.ranges_string())
        };
        let (none, none_text) = list(&|n| n == 0);
        let (single, single_text) = list(&|n| n == 1);
        let (multi, multi_text) = list(&|n| n > 1);
        let mut fixed = 0;
        let holders_of = |slot: usize| -> Vec<usize> {
            holders
                .iter()
                .find(|(s, _)| *s == slot)
                .map(|(_, h)| h.clone())
                .unwrap_or_default()
        };
        if !none.is_empty() {
            self.out
                .print("The following uncovered slots have no keys across the cluster:\n");
            self.out.print(&format!("{none_text}\n"));
            if self.ask("Fix these slots by covering with a random node?") {
                let masters = self.masters();
                for slot in none {
                    let Some(&n) = masters.get(self.random_index(masters.len())) else {
                        return Err(FixOutcome::Failed);
                    };
                    self.cover_slot(n, slot)?;
                    fixed += 1;
                }
            }
        }
        if !single.is_empty() {
            self.out
                .print("The following uncovered slots have keys in just one node:\n");
            self.out.print(&format!("{single_text}\n"));
            if self.ask("Fix these slots by covering with those nodes?") {
                for slot in single {
                    let Some(&n) = holders_of(slot).first() else {
                        continue;
                    };
                    self.cover_slot(n, slot)?;
                    fixed += 1;
                }
            }
        }
        if !multi.is_empty() {
            self.out
                .print("The following uncovered slots have keys in multiple nodes:\n");
            self.out.print(&format!("{multi_text}\n"));
            if self.ask("Fix these slots by moving keys into a single node?") {
                for slot in multi {
                    let nodes = holders_of(slot);
                    let Some(target) = self.most_keys_in_slot(&nodes, slot) else {
                        return Err(FixOutcome::Failed);
                    };
                    let a = self.endpoints(&[target]);
                    self.out.log(
                        Level::Info,
                        &format!(">>> Covering slot {slot} moving keys to {a}\n"),
                    );
                    if !self.set_slot_owner(target, slot, true) {
                        return Err(FixOutcome::Failed);
                    }
                    if let Some(node) = self.nodes.get_mut(target) {
                        node.slots.insert(slot);
                    }
                    for &src in &nodes {
                        if src == target {
                            continue;
                        }
                        let opts = MoveOptions {
                            verbose: true,
                            cold: true,
                            ..MoveOptions::default()
                        };
                        if self.set_slot(src, target, slot, "NODE").is_err()
                            || self.set_slot(src, target, slot, "IMPORTING").is_err()
                            || self.move_slot(src, target, slot, opts).is_err()
                            || !self.clear_slot_status(src, slot)
                        {
                            return Err(FixOutcome::Failed);
                        }
                    }
                    fixed += 1;
                }
            }
        }
        Ok(fixed)
    }

    /// A question `--yes` does not answer (`confirmWithYes` with
    /// `ignore_force`), read from standard input.
    fn ask(&mut self, question: &str) -> bool {
        self.out
            .print(&format!("{question} (type 'yes' to accept): "));
        self.out.flush();
        read_yes(&mut std::io::stdin())
    }
}
