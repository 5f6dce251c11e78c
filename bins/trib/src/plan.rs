//! The `create` plan, as redis-cli 7.0 makes it: nodes interleaved by
//! host, the first ones masters with slots split evenly, then replicas
//! taken preferably from other hosts than their master's; and the
//! anti-affinity score that the optimiser lowers.

use crate::cluster::{ClusterNode, SlotSet, CLUSTER_SLOTS};

/// What `create` will do, before it is confirmed.
#[derive(Debug, Default)]
pub struct Plan {
    /// The lines printed while planning (`Master[0] -> Slots 0 - 5460`).
    pub lines: Vec<String>,
    /// Each master (an index into the nodes) and its slots.
    pub master_slots: Vec<(usize, SlotSet)>,
    /// Each replica and its master (indices into the nodes).
    pub replica_of: Vec<(usize, usize)>,
    /// The nodes of each host, in the order given (for the score).
    pub ip_groups: Vec<Vec<usize>>,
}

/// Plans masters, slots and replicas for `nodes` (`ip`, `port` and the
/// order matter) with `replicas` replicas per master. Fewer than one
/// master gives an empty plan.
pub fn allocate(nodes: &[ClusterNode], replicas: usize) -> Plan {
    let mut plan = Plan::default();
    let node_len = nodes.len();
    let masters_count = node_len / (replicas + 1);
    if masters_count == 0 {
        return plan;
    }
    // Nodes grouped by host, hosts in order of first appearance.
    let mut ips: Vec<&str> = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        match ips.iter().position(|ip| *ip == n.ip) {
            Some(g) => {
                if let Some(group) = plan.ip_groups.get_mut(g) {
                    group.push(i);
                }
            }
            None => {
                ips.push(&n.ip);
                plan.ip_groups.push(vec![i]);
            }
        }
    }
    // Interleave: one node of each host in turn.
    let mut interleaved = Vec::with_capacity(node_len);
    let mut cursors = vec![0usize; plan.ip_groups.len()];
    while interleaved.len() < node_len {
        for (g, group) in plan.ip_groups.iter().enumerate() {
            if let Some(c) = cursors.get_mut(g) {
                if let Some(&n) = group.get(*c) {
                    interleaved.push(n);
                    *c += 1;
                }
            }
        }
    }
    let (masters, rest) = interleaved.split_at(masters_count.min(interleaved.len()));
    // Slots: the same float arithmetic as redis-cli, so the ranges match.
    let slots_per_node = CLUSTER_SLOTS as f32 / masters_count as f32;
    let mut first: i64 = 0;
    let mut cursor = 0.0f32;
    let top = CLUSTER_SLOTS as i64 - 1;
    for (i, &m) in masters.iter().enumerate() {
        let mut last = (cursor + slots_per_node - 1.0).round() as i64;
        if last > CLUSTER_SLOTS as i64 || i == masters_count - 1 {
            last = top;
        }
        if last < first {
            last = first;
        }
        plan.lines
            .push(format!("Master[{i}] -> Slots {first} - {last}\n"));
        let mut slots = SlotSet::default();
        for s in first..=last.min(top) {
            if let Ok(s) = usize::try_from(s) {
                slots.insert(s);
            }
        }
        plan.master_slots.push((m, slots));
        first = last + 1;
        cursor += slots_per_node;
    }
    // Rotating the candidates sometimes gives a better start.
    let mut candidates: Vec<Option<usize>> = rest.iter().copied().map(Some).collect();
    if !candidates.is_empty() {
        candidates.rotate_left(1);
    }
    let mut start = 0usize;
    let mut available = candidates.len();
    let mut assign_unused = false;
    loop {
        for &m in masters {
            let master_ip = nodes.get(m).map(|n| n.ip.as_str()).unwrap_or_default();
            let mut assigned = 0;
            while assigned < replicas {
                if available == 0 {
                    break;
                }
                let mut found = None;
                let mut first_idx = None;
                for j in start..candidates.len() {
                    let Some(Some(n)) = candidates.get(j).copied() else {
                        continue;
                    };
                    if nodes.get(n).map(|x| x.ip.as_str()) != Some(master_ip) {
                        found = Some(n);
                        if let Some(c) = candidates.get_mut(j) {
                            *c = None;
                        }
                        break;
                    }
                    if first_idx.is_none() {
                        first_idx = Some(j);
                    }
                }
                let replica = match (found, first_idx) {
                    (Some(n), _) => n,
                    (None, Some(j)) => {
                        start = j + 1;
                        match candidates.get(j).copied().flatten() {
                            Some(n) => n,
                            None => break,
                        }
                    }
                    (None, None) => break,
                };
                assigned += 1;
                available -= 1;
                plan.replica_of.push((replica, m));
                let (r, ma) = (nodes.get(replica), nodes.get(m));
                if let (Some(r), Some(ma)) = (r, ma) {
                    plan.lines
                        .push(format!("Adding replica {} to {}\n", r.addr(), ma.addr()));
                }
                if assign_unused {
                    break;
                }
            }
        }
        if !assign_unused && available > 0 {
            assign_unused = true;
            plan.lines.push("Adding extra replicas...\n".to_owned());
            continue;
        }
        break;
    }
    plan
}

/// The anti-affinity score of the nodes' current `replicate` fields, and
/// the offending replicas (one per offending group), as redis-cli counts
/// them: 10000 for each replica on its master's host, 1 for each member of
/// a group of replicas of one master sharing a host.
pub fn anti_affinity_score(nodes: &[ClusterNode], ip_groups: &[Vec<usize>]) -> (usize, Vec<usize>) {
    let mut score = 0;
    let mut offenders = Vec::new();
    for group in ip_groups {
        let Some(ip) = group
            .first()
            .and_then(|&i| nodes.get(i))
            .map(|n| n.ip.as_str())
        else {
            continue;
        };
        // Master ID -> "m" (when the master is here) followed by an "s"
        // per replica here.
        let mut related: Vec<(&str, String)> = Vec::new();
        for &i in group {
            let Some(n) = nodes.get(i) else { continue };
            let key = n.replicate.as_deref().unwrap_or(&n.name);
            let at = match related.iter().position(|(k, _)| *k == key) {
                Some(at) => at,
                None => {
                    related.push((key, String::new()));
                    related.len() - 1
                }
            };
            if let Some((_, types)) = related.get_mut(at) {
                if n.replicate.is_some() {
                    types.push('s');
                } else {
                    types.insert(0, 'm');
                }
            }
        }
        for (name, types) in related {
            if types.len() < 2 {
                continue;
            }
            if types.starts_with('m') {
                score += 10000 * (types.len() - 1);
            } else {
                score += types.len();
            }
            if let Some(o) = nodes
                .iter()
                .position(|n| n.replicate.as_deref() == Some(name) && n.ip == ip)
            {
                offenders.push(o);
            }
        }
    }
    (score, offenders)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(addrs: &[(&str, u16)]) -> Vec<ClusterNode> {
        addrs
            .iter()
            .enumerate()
            .map(|(i, (ip, port))| {
                let mut n = ClusterNode::new(ip, *port, None);
                n.name = format!("{i:040}");
                n
            })
            .collect()
    }

    #[test]
    fn six_local_nodes_plan_as_redis_cli() {
        let ns = nodes(&[
            ("127.0.0.1", 7000),
            ("127.0.0.1", 7001),
            ("127.0.0.1", 7002),
            ("127.0.0.1", 7003),
            ("127.0.0.1", 7004),
            ("127.0.0.1", 7005),
        ]);
        let plan = allocate(&ns, 1);
        assert_eq!(
            plan.lines.concat(),
            "Master[0] -> Slots 0 - 5460\n\
             Master[1] -> Slots 5461 - 10922\n\
             Master[2] -> Slots 10923 - 16383\n\
             Adding replica 127.0.0.1:7004 to 127.0.0.1:7000\n\
             Adding replica 127.0.0.1:7005 to 127.0.0.1:7001\n\
             Adding replica 127.0.0.1:7003 to 127.0.0.1:7002\n"
        );
        assert_eq!(plan.replica_of, vec![(4, 0), (5, 1), (3, 2)]);
    }

    #[test]
    fn replicas_go_to_other_hosts() {
        let ns = nodes(&[
            ("10.0.0.1", 7000),
            ("10.0.0.1", 7001),
            ("10.0.0.2", 7000),
            ("10.0.0.2", 7001),
            ("10.0.0.3", 7000),
            ("10.0.0.3", 7001),
        ]);
        let mut ns = ns;
        let plan = allocate(&ns, 1);
        let masters: Vec<usize> = plan.master_slots.iter().map(|(m, _)| *m).collect();
        assert_eq!(masters, vec![0, 2, 4]);
        for (r, m) in &plan.replica_of {
            assert_ne!(ns[*r].ip, ns[*m].ip, "replica {r} on its master's host");
            let name = ns[*m].name.clone();
            ns[*r].replicate = Some(name);
        }
        assert_eq!(anti_affinity_score(&ns, &plan.ip_groups).0, 0);
    }

    #[test]
    fn four_masters_split_slots_with_float_rounding() {
        let ns = nodes(&[("a", 1), ("a", 2), ("a", 3), ("a", 4), ("a", 5)]);
        let plan = allocate(&ns, 0);
        assert_eq!(plan.master_slots.len(), 5);
        let total: usize = plan.master_slots.iter().map(|(_, s)| s.count()).sum();
        assert_eq!(total, CLUSTER_SLOTS);
        assert_eq!(plan.lines[0], "Master[0] -> Slots 0 - 3276\n");
        assert!(plan.replica_of.is_empty());
        assert!(allocate(&[], 1).lines.is_empty());
    }

    #[test]
    fn extra_nodes_become_extra_replicas() {
        let ns = nodes(&[
            ("a", 1),
            ("a", 2),
            ("a", 3),
            ("a", 4),
            ("a", 5),
            ("a", 6),
            ("a", 7),
        ]);
        let plan = allocate(&ns, 1);
        assert_eq!(plan.replica_of.len(), 4);
        assert!(plan.lines.iter().any(|l| l == "Adding extra replicas...\n"));
    }
}
