//! Slot moves between Ferrodis nodes by atomic slot migration (`CLUSTER
//! MIGRATESLOTS`): each source streams its share of the slots to the
//! target in the background, all sources at once, and the slots change
//! owner in one step each; clients never see `-ASK`. `reshard` and
//! `rebalance` use it when the target and every source are Ferrodis nodes
//! (`ferrodis_version` in `INFO server`), unless `--legacy` is given; with
//! any Redis node they move keys with `MIGRATE`, as `redis-cli` does.

use std::collections::BTreeMap;
use std::time::Duration;

use ferrodis_resp::Frame;

use crate::conn::{error_text, string_bytes};
use crate::manager::Manager;

/// How often a running migration is looked at.
const POLL: Duration = Duration::from_millis(20);

/// `a-b c-d` ranges of sorted, distinct slots.
pub fn ranges(slots: &[usize]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for &s in slots {
        match out.last_mut() {
            Some((_, end)) if *end + 1 == s => *end = s,
            _ => out.push((s, s)),
        }
    }
    out
}

fn ranges_text(ranges: &[(usize, usize)]) -> String {
    ranges
        .iter()
        .map(|(a, b)| format!("{a}-{b}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The strings of a reply, flattened (a map's keys and values in turn).
fn strings(frame: &Frame, out: &mut Vec<String>) {
    match frame {
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
            for f in items {
                strings(f, out);
            }
        }
        Frame::Map(pairs) => {
            for (k, v) in pairs {
                strings(k, out);
                strings(v, out);
            }
        }
        Frame::Integer(n) => out.push(n.to_string()),
        f => {
            if let Some(b) = string_bytes(f) {
                out.push(String::from_utf8_lossy(b).into_owned());
            }
        }
    }
}

/// The rows of `CLUSTER GETSLOTMIGRATIONS`, as field maps.
fn rows(frame: &Frame) -> Vec<BTreeMap<String, String>> {
    let Frame::Array(items) = frame else {
        return Vec::new();
    };
    items
        .iter()
        .map(|row| {
            let mut flat = Vec::new();
            strings(row, &mut flat);
            flat.chunks(2)
                .filter_map(|kv| match kv {
                    [k, v] => Some((k.clone(), v.clone())),
                    _ => None,
                })
                .collect()
        })
        .collect()
}

/// One source's export, while it runs.
struct Running {
    source: usize,
    ranges: String,
    slots: Vec<usize>,
}

impl Manager<'_, '_> {
    /// Whether node `i` is a Ferrodis node.
    pub(crate) fn is_ferrodis(&mut self, i: usize) -> bool {
        let Some(n) = self.nodes.get_mut(i) else {
            return false;
        };
        n.call(&["INFO", "server"])
            .ok()
            .and_then(|r| string_bytes(&r).map(|b| String::from_utf8_lossy(b).into_owned()))
            .is_some_and(|text| text.contains("ferrodis_version:"))
    }

    /// Moves the `(source, slot)` pairs of `table` to `target` by atomic
    /// slot migration, every source at once; `None` when that is not
    /// possible (a Redis node involved, or `--legacy`), for the caller to
    /// move keys with MIGRATE. `update`: the manager's view of the nodes
    /// follows. Prints a line per source unless `quiet`.
    pub(crate) fn move_slots_atomic(
        &mut self,
        table: &[(usize, usize)],
        target: usize,
        update: bool,
        quiet: bool,
    ) -> Option<Result<(), String>> {
        if self.opts.legacy || table.is_empty() {
            return None;
        }
        let mut by_source: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for &(src, slot) in table {
            by_source.entry(src).or_default().push(slot);
        }
        if !self.is_ferrodis(target) || !by_source.keys().all(|&s| self.is_ferrodis(s)) {
            return None;
        }
        let target_id = self.nodes.get(target)?.name.clone();
        let target_addr = self.nodes.get(target)?.addr();
        let mut running = Vec::new();
        for (src, mut slots) in by_source {
            slots.sort_unstable();
            slots.dedup();
            let r = ranges(&slots);
            let mut args: Vec<String> =
                vec!["CLUSTER".into(), "MIGRATESLOTS".into(), "SLOTSRANGE".into()];
            for (a, b) in &r {
                args.push(a.to_string());
                args.push(b.to_string());
            }
            args.push("NODE".into());
            args.push(target_id.clone());
            let node = self.nodes.get_mut(src)?;
            let src_addr = node.addr();
            match node.call(&args) {
                Ok(reply) => {
                    if let Some(e) = error_text(&reply) {
                        return Some(Err(format!("{src_addr}: {e}")));
                    }
                }
                Err(e) => return Some(Err(format!("{src_addr}: {e}"))),
            }
            if !quiet {
                self.out.print(&format!(
                    "Moving slots {} from {src_addr} to {target_addr} (atomic slot migration)\n",
                    ranges_text(&r)
                ));
                self.out.flush();
            }
            running.push(Running {
                source: src,
                ranges: ranges_text(&r),
                slots,
            });
        }
        while !running.is_empty() {
            std::thread::sleep(POLL);
            let mut still = Vec::new();
            for job in running {
                let node = self.nodes.get_mut(job.source)?;
                let src_addr = node.addr();
                let reply = match node.call(&["CLUSTER", "GETSLOTMIGRATIONS"]) {
                    Ok(r) => r,
                    Err(e) => return Some(Err(format!("{src_addr}: {e}"))),
                };
                let row = rows(&reply).into_iter().rev().find(|row| {
                    row.get("operation").map(String::as_str) == Some("EXPORT")
                        && row.get("target_node") == Some(&target_id)
                        && row.get("slot_ranges") == Some(&job.ranges)
                });
                let Some(row) = row else {
                    return Some(Err(format!("{src_addr}: the migration is not listed")));
                };
                match row.get("state").map(String::as_str) {
                    Some("success") => {
                        if !quiet {
                            let keys = row.get("keys_sent").cloned().unwrap_or_default();
                            self.out.print(&format!(
                                "Moved slots {} from {src_addr} to {target_addr} ({keys} keys sent)\n",
                                job.ranges
                            ));
                        }
                        if update {
                            if let Some(s) = self.nodes.get_mut(job.source) {
                                for &slot in &job.slots {
                                    s.slots.remove(slot);
                                }
                                s.slots_count = s.slots.count();
                            }
                            if let Some(t) = self.nodes.get_mut(target) {
                                for &slot in &job.slots {
                                    t.slots.insert(slot);
                                }
                                t.slots_count = t.slots.count();
                            }
                        }
                    }
                    Some(state @ ("failed" | "cancelled")) => {
                        let message = row.get("message").cloned().unwrap_or_default();
                        return Some(Err(format!(
                            "{src_addr}: slot migration {state}: {message}"
                        )));
                    }
                    _ => still.push(job),
                }
            }
            running = still;
        }
        Some(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_of_slots() {
        assert_eq!(ranges(&[]), vec![]);
        assert_eq!(ranges(&[0, 1, 2, 5, 7, 8]), vec![(0, 2), (5, 5), (7, 8)]);
        assert_eq!(ranges_text(&ranges(&[3, 4, 16383])), "3-4 16383-16383");
    }

    #[test]
    fn rows_of_a_resp2_reply() {
        let b = |s: &str| Frame::Bulk(bytes::Bytes::copy_from_slice(s.as_bytes()));
        let reply = Frame::Array(vec![Frame::Array(vec![
            b("state"),
            b("success"),
            b("keys_sent"),
            Frame::Integer(3),
        ])]);
        let rows = rows(&reply);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].get("state").map(String::as_str), Some("success"));
        assert_eq!(rows[0].get("keys_sent").map(String::as_str), Some("3"));
    }
}
