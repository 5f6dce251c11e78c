//! Replica migration (cluster specification, "Replica migration";
//! `clusterHandleSlaveMigration` and its caller in `clusterCron`): a
//! replica of a master with the most working replicas moves to a master
//! left without any, once that master has been orphaned for
//! [`MIGRATION_DELAY_MS`], provided its own master keeps more than
//! `cluster-migration-barrier` working replicas.

use std::collections::BTreeMap;

/// How long a master must stay orphaned before a replica moves to it
/// (`CLUSTER_SLAVE_MIGRATION_DELAY`).
pub const MIGRATION_DELAY_MS: u64 = 5000;

/// A master, as the replica considering migration sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Master<Id> {
    /// Its id.
    pub id: Id,
    /// It is flagged FAIL.
    pub failed: bool,
    /// It is flagged `migrate_to`: it had replicas, or failed over a
    /// master that had.
    pub migrate_to: bool,
    /// How many slots it serves.
    pub slots: usize,
    /// Its replicas not flagged FAIL.
    pub ok_replicas: Vec<Id>,
}

/// What the replica knows about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Me<Id> {
    /// Its id.
    pub id: Id,
    /// Its master.
    pub master: Id,
    /// The cluster state is `ok`.
    pub state_ok: bool,
    /// `cluster-migration-barrier`.
    pub barrier: usize,
    /// Replicas of its master (itself included) neither FAIL nor PFAIL:
    /// what the barrier is compared with.
    pub healthy_siblings: usize,
    /// `cluster-allow-replica-migration`.
    pub allowed: bool,
}

/// The migration state: since when each master has been orphaned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration<Id> {
    orphaned_since: BTreeMap<Id, u64>,
}

impl<Id: Ord + Copy> Default for Migration<Id> {
    fn default() -> Self {
        Migration {
            orphaned_since: BTreeMap::new(),
        }
    }
}

impl<Id: Ord + Copy> Migration<Id> {
    /// No master seen orphaned yet.
    pub fn new() -> Migration<Id> {
        Migration::default()
    }

    /// Runs once per cron tick on a replica, with every known master not in
    /// handshake (its own included). Returns the master to replicate from
    /// now, if any.
    pub fn decide(&mut self, me: &Me<Id>, masters: &[Master<Id>], now: u64) -> Option<Id> {
        // The caller's gate (`clusterCron`): some orphaned master, a master
        // with two working replicas or more, and ours among those with the
        // most.
        let working = |m: &Master<Id>| if m.failed { 0 } else { m.ok_replicas.len() };
        let max = masters.iter().map(working).max().unwrap_or(0);
        let orphaned =
            |m: &Master<Id>| !m.failed && m.migrate_to && m.slots > 0 && m.ok_replicas.is_empty();
        let mine = masters.iter().find(|m| m.id == me.master);
        let mine_working = mine.map_or(0, working);
        // Track when each master became orphaned.
        let mut target = None;
        for m in masters {
            let is_orphaned = !m.failed && m.migrate_to && m.ok_replicas.is_empty();
            if is_orphaned {
                let since = *self.orphaned_since.entry(m.id).or_insert(now);
                if target.is_none() && m.slots > 0 {
                    target = Some((m.id, since));
                }
            } else {
                self.orphaned_since.remove(&m.id);
            }
        }
        if !masters.iter().any(orphaned) || max < 2 || mine_working != max || !me.allowed {
            return None;
        }
        if !me.state_ok {
            return None;
        }
        // Our master keeps more than the barrier.
        if me.healthy_siblings <= me.barrier {
            return None;
        }
        // The candidate: the smallest id among the replicas of the masters
        // with the most working replicas (us included).
        let mut candidate = me.id;
        for m in masters.iter().filter(|m| working(m) == max) {
            for r in &m.ok_replicas {
                if *r < candidate {
                    candidate = *r;
                }
            }
        }
        let (id, since) = target?;
        if candidate == me.id && now.saturating_sub(since) > MIGRATION_DELAY_MS {
            return Some(id);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master(id: u8, replicas: &[u8]) -> Master<u8> {
        Master {
            id,
            failed: false,
            migrate_to: true,
            slots: 100,
            ok_replicas: replicas.to_vec(),
        }
    }

    fn me(id: u8, master: u8) -> Me<u8> {
        Me {
            id,
            master,
            state_ok: true,
            barrier: 1,
            healthy_siblings: 2,
            allowed: true,
        }
    }

    #[test]
    fn the_smallest_replica_of_the_richest_master_migrates_after_the_delay() {
        let masters = [master(1, &[10, 11]), master(2, &[])];
        let mut m = Migration::new();
        assert_eq!(m.decide(&me(10, 1), &masters, 1000), None);
        assert_eq!(m.decide(&me(10, 1), &masters, 6000), None);
        assert_eq!(m.decide(&me(10, 1), &masters, 6001), Some(2));
        // Its sibling with a greater id stays.
        let mut other = Migration::new();
        assert_eq!(other.decide(&me(11, 1), &masters, 1000), None);
        assert_eq!(other.decide(&me(11, 1), &masters, 7000), None);
    }

    #[test]
    fn the_barrier_keeps_replicas_home() {
        let masters = [master(1, &[10, 11]), master(2, &[])];
        let mut m = Migration::new();
        let strict = Me {
            barrier: 2,
            ..me(10, 1)
        };
        assert_eq!(m.decide(&strict, &masters, 1000), None);
        assert_eq!(m.decide(&strict, &masters, 10_000), None);
        let masters = [master(1, &[10, 11, 12]), master(2, &[])];
        let three = Me {
            healthy_siblings: 3,
            ..strict
        };
        assert_eq!(m.decide(&three, &masters, 20_000), Some(2));
    }

    #[test]
    fn no_migration_without_need_or_permission() {
        let mut m = Migration::new();
        // Nobody orphaned.
        let masters = [master(1, &[10, 11]), master(2, &[12])];
        assert_eq!(m.decide(&me(10, 1), &masters, 1000), None);
        assert_eq!(m.decide(&me(10, 1), &masters, 10_000), None);
        // An orphan that never had replicas is not a target.
        let mut never = master(2, &[]);
        never.migrate_to = false;
        let masters = [master(1, &[10, 11]), never];
        assert_eq!(m.decide(&me(10, 1), &masters, 1000), None);
        assert_eq!(m.decide(&me(10, 1), &masters, 10_000), None);
        // Migration not allowed, or the cluster down.
        let masters = [master(1, &[10, 11]), master(2, &[])];
        let off = Me {
            allowed: false,
            ..me(10, 1)
        };
        assert_eq!(m.decide(&off, &masters, 20_000), None);
        let down = Me {
            state_ok: false,
            ..me(10, 1)
        };
        assert_eq!(m.decide(&down, &masters, 30_000), None);
        assert_eq!(m.decide(&me(10, 1), &masters, 30_000), Some(2));
    }
}
