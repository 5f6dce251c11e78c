//! A replica's election to replace its failed master
//! (`clusterHandleSlaveFailover`, `clusterGetSlaveRank`; cluster
//! specification, "Replica election and promotion").
//!
//! The caller checks that the election may run at all ([`Candidate`]), then
//! calls [`Election::step`] on every cron tick (and as soon as a vote
//! arrives), and does what the returned [`Step`] says.

/// The fixed part of the election delay, letting the FAIL message reach
/// every master first.
pub const FIXED_DELAY_MS: u64 = 500;
/// The random part of the delay is below this, so that replicas of one
/// master are unlikely to ask at once.
pub const RANDOM_DELAY_MS: u64 = 500;
/// The delay added per rank: a replica with less data asks later.
pub const RANK_DELAY_MS: u64 = 1000;

/// How long an election may wait for votes: twice the node timeout, at
/// least 2 s.
pub fn auth_timeout(node_timeout_ms: u64) -> u64 {
    node_timeout_ms.saturating_mul(2).max(2000)
}

/// How long after an election started a new one may be scheduled: twice
/// [`auth_timeout`].
pub fn auth_retry_time(node_timeout_ms: u64) -> u64 {
    auth_timeout(node_timeout_ms).saturating_mul(2)
}

/// The votes that elect a replica: a majority of the masters serving
/// slots (`size` as the cluster state counts them).
pub fn quorum(size: usize) -> usize {
    size / 2 + 1
}

/// One of the other replicas of the same master, as the candidate sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sibling {
    /// Its replication offset, from its last message.
    pub offset: u64,
    /// Whether it announces `nofailover` (it never competes).
    pub no_failover: bool,
}

/// A replica's rank: how many other replicas of its master that may fail
/// over have a greater replication offset. Rank 0 has the most data;
/// replicas with equal offsets share a rank.
pub fn rank(my_offset: u64, siblings: impl IntoIterator<Item = Sibling>) -> usize {
    siblings
        .into_iter()
        .filter(|s| !s.no_failover && s.offset > my_offset)
        .count()
}

/// The election delay for a rank and a random draw: 500 ms + (random mod
/// 500) ms + rank × 1000 ms.
pub fn delay(rank: usize, random: u64) -> u64 {
    let rank = u64::try_from(rank).unwrap_or(u64::MAX);
    FIXED_DELAY_MS + random % RANDOM_DELAY_MS + rank.saturating_mul(RANK_DELAY_MS)
}

/// Whether a replica's data is too old to fail over
/// (`cluster-replica-validity-factor`): the time since it last heard from
/// its master, less the node timeout (the master was down at least that
/// long before it was flagged FAIL), may not exceed `repl-ping-replica-period`
/// + node timeout × factor. A factor of 0 never refuses.
pub fn data_too_old(
    data_age_ms: u64,
    node_timeout_ms: u64,
    repl_ping_period_ms: u64,
    validity_factor: u64,
) -> bool {
    if validity_factor == 0 {
        return false;
    }
    let age = if data_age_ms > node_timeout_ms {
        data_age_ms - node_timeout_ms
    } else {
        data_age_ms
    };
    age > repl_ping_period_ms.saturating_add(node_timeout_ms.saturating_mul(validity_factor))
}

/// What the candidate knows when deciding whether an election may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// This node is a replica with a known master.
    pub replica_with_master: bool,
    /// Its master is flagged FAIL.
    pub master_failed: bool,
    /// How many slots its master serves.
    pub master_slots: usize,
    /// `cluster-replica-no-failover` is set.
    pub no_failover: bool,
    /// A manual failover is ready to run (the master's offset was reached,
    /// or FORCE).
    pub manual: bool,
    /// [`data_too_old`] for this replica (ignored by a manual failover).
    pub data_too_old: bool,
}

/// Why no election runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotEligible {
    /// Nothing to fail over: a master, a replica whose master is up (no
    /// manual failover), `nofailover`, or a master with no slots.
    NoReason,
    /// The data is older than the validity factor allows.
    DataAge,
}

impl Candidate {
    /// Whether the election may run.
    pub fn check(&self) -> Result<(), NotEligible> {
        if !self.replica_with_master
            || (!self.master_failed && !self.manual)
            || (self.no_failover && !self.manual)
            || self.master_slots == 0
        {
            return Err(NotEligible::NoReason);
        }
        if self.data_too_old && !self.manual {
            return Err(NotEligible::DataAge);
        }
        Ok(())
    }
}

/// What the election tells the caller to do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A new election is scheduled for `at` (Unix ms) with this rank; tell
    /// the other replicas of the master our offset (a PONG), so that their
    /// ranks are right.
    Scheduled {
        /// When votes will be asked for.
        at: u64,
        /// This replica's rank.
        rank: usize,
    },
    /// Waiting for the scheduled time.
    Delayed,
    /// The election expired without a majority; a new one will be
    /// scheduled after the retry time.
    Expired,
    /// Take `epoch` as the current epoch, save it (with fsync), and send a
    /// FAILOVER_AUTH_REQUEST to every node (with `FORCEACK` for a manual
    /// failover).
    RequestVotes {
        /// The new current epoch.
        epoch: u64,
    },
    /// Votes asked for; no majority yet.
    WaitingVotes,
    /// Elected: take `epoch` as the config epoch (if greater) and the
    /// master's slots.
    Won {
        /// The epoch of the election.
        epoch: u64,
    },
}

/// What [`Election::step`] needs from the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inputs {
    /// Now, Unix ms.
    pub now: u64,
    /// `cluster-node-timeout`.
    pub node_timeout_ms: u64,
    /// This replica's rank now ([`rank`]).
    pub rank: usize,
    /// A manual failover is in progress (no delay, rank 0, rank not
    /// updated).
    pub manual: bool,
    /// A random number for the delay.
    pub random: u64,
    /// The node's current epoch.
    pub current_epoch: u64,
    /// The votes needed ([`quorum`]).
    pub quorum: usize,
}

/// One replica's election state (Redis' `failover_auth_*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Election {
    /// When votes are (or were) asked for, Unix ms; 0 when no election was
    /// ever scheduled.
    auth_time: u64,
    /// Votes received in this election.
    count: usize,
    /// Whether votes were asked for.
    sent: bool,
    /// The rank the delay was computed with.
    rank: usize,
    /// The epoch votes were asked in.
    epoch: u64,
}

impl Election {
    /// No election yet.
    pub fn new() -> Election {
        Election::default()
    }

    /// The epoch of the latest request for votes (0 if none).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Votes counted in the current election.
    pub fn votes(&self) -> usize {
        self.count
    }

    /// Whether votes were asked for in the current election.
    pub fn requested(&self) -> bool {
        self.sent
    }

    /// When votes are (or were) asked for.
    pub fn auth_time(&self) -> u64 {
        self.auth_time
    }

    /// The rank of the current election.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// A FAILOVER_AUTH_ACK arrived from a master serving slots whose
    /// current epoch is `sender_current_epoch`: it counts if that is at
    /// least the election's epoch (a vote for an older election does not).
    /// Returns whether it counted.
    pub fn on_vote(&mut self, sender_current_epoch: u64) -> bool {
        if !self.sent || sender_current_epoch < self.epoch {
            return false;
        }
        self.count += 1;
        true
    }

    /// Moves the election on; the caller has checked [`Candidate::check`].
    pub fn step(&mut self, input: Inputs) -> Step {
        let auth_age = input.now.saturating_sub(self.auth_time);
        let timeout = auth_timeout(input.node_timeout_ms);
        if self.auth_time == 0 || auth_age > auth_retry_time(input.node_timeout_ms) {
            self.count = 0;
            self.sent = false;
            if input.manual {
                self.auth_time = input.now;
                self.rank = 0;
            } else {
                self.rank = input.rank;
                self.auth_time = input.now + delay(input.rank, input.random);
            }
            return Step::Scheduled {
                at: self.auth_time,
                rank: self.rank,
            };
        }
        // A better offset seen since scheduling only ever delays us.
        if !self.sent && !input.manual && input.rank > self.rank {
            let added = u64::try_from(input.rank - self.rank).unwrap_or(u64::MAX);
            self.auth_time = self
                .auth_time
                .saturating_add(added.saturating_mul(RANK_DELAY_MS));
            self.rank = input.rank;
        }
        if input.now < self.auth_time {
            return Step::Delayed;
        }
        if input.now.saturating_sub(self.auth_time) > timeout {
            return Step::Expired;
        }
        if !self.sent {
            self.sent = true;
            self.epoch = input.current_epoch + 1;
            return Step::RequestVotes { epoch: self.epoch };
        }
        if self.count >= input.quorum {
            return Step::Won { epoch: self.epoch };
        }
        Step::WaitingVotes
    }

    /// Forgets the current election (the replica became a master, or
    /// changed master).
    pub fn reset(&mut self) {
        *self = Election::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn inputs(now: u64) -> Inputs {
        Inputs {
            now,
            node_timeout_ms: 1000,
            rank: 0,
            manual: false,
            random: 123,
            current_epoch: 7,
            quorum: 2,
        }
    }

    #[test]
    fn delay_is_fixed_plus_random_plus_rank() {
        assert_eq!(delay(0, 0), 500);
        assert_eq!(delay(0, 499), 999);
        assert_eq!(delay(0, 500), 500);
        assert_eq!(delay(2, 10), 2510);
    }

    #[test]
    fn timeouts_follow_the_node_timeout() {
        assert_eq!(auth_timeout(500), 2000);
        assert_eq!(auth_timeout(15_000), 30_000);
        assert_eq!(auth_retry_time(15_000), 60_000);
        assert_eq!(quorum(3), 2);
        assert_eq!(quorum(4), 3);
        assert_eq!(quorum(1), 1);
    }

    #[test]
    fn rank_counts_better_replicas_that_can_fail_over() {
        let s = |offset, no_failover| Sibling {
            offset,
            no_failover,
        };
        assert_eq!(rank(100, []), 0);
        assert_eq!(rank(100, [s(50, false), s(100, false)]), 0);
        assert_eq!(rank(100, [s(150, false), s(200, false)]), 2);
        assert_eq!(rank(100, [s(150, true), s(200, false)]), 1);
    }

    #[test]
    fn data_age_uses_the_validity_factor() {
        // 1 s timeout, 10 s ping period, factor 10: limit 20 s after the
        // timeout is taken off.
        assert!(!data_too_old(21_000, 1000, 10_000, 10));
        assert!(data_too_old(21_001, 1000, 10_000, 10));
        assert!(!data_too_old(u64::MAX, 1000, 10_000, 0));
    }

    #[test]
    fn candidate_rules() {
        let base = Candidate {
            replica_with_master: true,
            master_failed: true,
            master_slots: 10,
            no_failover: false,
            manual: false,
            data_too_old: false,
        };
        assert_eq!(base.check(), Ok(()));
        let up = Candidate {
            master_failed: false,
            ..base
        };
        assert_eq!(up.check(), Err(NotEligible::NoReason));
        assert_eq!(Candidate { manual: true, ..up }.check(), Ok(()));
        let nf = Candidate {
            no_failover: true,
            ..base
        };
        assert_eq!(nf.check(), Err(NotEligible::NoReason));
        assert_eq!(Candidate { manual: true, ..nf }.check(), Ok(()));
        let empty = Candidate {
            master_slots: 0,
            ..base
        };
        assert_eq!(empty.check(), Err(NotEligible::NoReason));
        let old = Candidate {
            data_too_old: true,
            ..base
        };
        assert_eq!(old.check(), Err(NotEligible::DataAge));
        assert_eq!(
            Candidate {
                manual: true,
                ..old
            }
            .check(),
            Ok(())
        );
    }

    #[test]
    fn an_election_runs_delay_request_votes_win() {
        let mut e = Election::new();
        assert_eq!(
            e.step(inputs(10_000)),
            Step::Scheduled {
                at: 10_623,
                rank: 0
            }
        );
        assert_eq!(e.step(inputs(10_622)), Step::Delayed);
        assert_eq!(e.step(inputs(10_623)), Step::RequestVotes { epoch: 8 });
        assert_eq!(e.step(inputs(10_700)), Step::WaitingVotes);
        // A vote from a node still at an older epoch does not count.
        assert!(!e.on_vote(7));
        assert!(e.on_vote(8));
        assert_eq!(e.step(inputs(10_800)), Step::WaitingVotes);
        assert!(e.on_vote(9));
        assert_eq!(e.step(inputs(10_900)), Step::Won { epoch: 8 });
    }

    #[test]
    fn an_election_expires_then_retries() {
        let mut e = Election::new();
        let Step::Scheduled { at, .. } = e.step(inputs(10_000)) else {
            panic!("not scheduled");
        };
        assert_eq!(e.step(inputs(at)), Step::RequestVotes { epoch: 8 });
        assert_eq!(e.step(inputs(at + 2000)), Step::WaitingVotes);
        assert_eq!(e.step(inputs(at + 2001)), Step::Expired);
        assert_eq!(e.step(inputs(at + 4000)), Step::Expired);
        assert!(matches!(e.step(inputs(at + 4001)), Step::Scheduled { .. }));
        assert_eq!(e.votes(), 0);
        assert!(!e.requested());
    }

    #[test]
    fn a_worse_rank_adds_delay_before_the_request_only() {
        let mut e = Election::new();
        assert!(matches!(
            e.step(inputs(10_000)),
            Step::Scheduled { at: 10_623, .. }
        ));
        let worse = Inputs {
            rank: 2,
            ..inputs(10_100)
        };
        assert_eq!(e.step(worse), Step::Delayed);
        assert_eq!(e.auth_time(), 12_623);
        assert_eq!(e.rank(), 2);
        // A better rank never shortens the wait.
        assert_eq!(e.step(inputs(10_200)), Step::Delayed);
        assert_eq!(e.auth_time(), 12_623);
    }

    #[test]
    fn a_manual_failover_asks_at_once() {
        let mut e = Election::new();
        let manual = Inputs {
            manual: true,
            rank: 3,
            ..inputs(10_000)
        };
        assert_eq!(
            e.step(manual),
            Step::Scheduled {
                at: 10_000,
                rank: 0
            }
        );
        assert_eq!(e.step(manual), Step::RequestVotes { epoch: 8 });
    }

    proptest! {
        /// Lower offsets never rank better than higher ones.
        #[test]
        fn rank_orders_by_offset(offsets in proptest::collection::vec(0u64..1000, 1..8)) {
            let ranks: Vec<usize> = (0..offsets.len())
                .map(|i| {
                    let others = offsets.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, &o)| Sibling { offset: o, no_failover: false });
                    rank(offsets[i], others)
                })
                .collect();
            for i in 0..offsets.len() {
                for j in 0..offsets.len() {
                    if offsets[i] > offsets[j] {
                        prop_assert!(ranks[i] < ranks[j]);
                    }
                    if offsets[i] == offsets[j] {
                        prop_assert_eq!(ranks[i], ranks[j]);
                    }
                }
                // The delay of a better rank never exceeds a worse one's
                // minimum.
                prop_assert!(delay(ranks[i], 0) >= 500 + 1000 * ranks[i] as u64);
            }
        }

        /// Whatever the inputs, a won election names the epoch votes were
        /// asked in, one more than the current epoch of that moment.
        #[test]
        fn wins_name_the_requested_epoch(
            steps in proptest::collection::vec((0u64..3000, 0usize..3, any::<bool>(), 0u64..5, 0usize..3), 1..60)
        ) {
            let mut e = Election::new();
            let mut now = 1_000_000;
            let mut epoch = 1;
            let mut asked = None;
            for (dt, rank, vote, bump, quorum) in steps {
                now += dt;
                epoch += bump;
                if vote { e.on_vote(epoch); }
                match e.step(Inputs { now, node_timeout_ms: 500, rank, manual: false, random: dt, current_epoch: epoch, quorum }) {
                    Step::RequestVotes { epoch: asked_in } => {
                        prop_assert_eq!(asked_in, epoch + 1);
                        epoch = asked_in;
                        asked = Some(asked_in);
                    }
                    Step::Won { epoch: won } => prop_assert_eq!(Some(won), asked),
                    _ => {}
                }
            }
        }
    }
}
