//! A master's vote for a replica asking to replace its master
//! (`clusterSendFailoverAuthIfNeeded`; cluster specification, "Masters
//! reply to replica vote request").

use std::fmt;

/// What a master knows about a FAILOVER_AUTH_REQUEST when it decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// The current epoch in the request's header (this node's current
    /// epoch has already grown to it, if it was greater).
    pub current_epoch: u64,
    /// The config epoch in the request's header: the requester's master's.
    pub config_epoch: u64,
    /// The requester is, as this node sees it, a master.
    pub requester_is_master: bool,
    /// The requester's master as this node sees it, if it knows one.
    pub master: Option<FailedMaster>,
    /// The request carries `FORCEACK` (a manual failover): vote although
    /// the master is not failing.
    pub force_ack: bool,
    /// The greatest config epoch among the masters that this node believes
    /// serve the slots the request claims (slots whose owner stopped
    /// claiming them left out); 0 when none.
    pub claimed_slots_epoch: u64,
}

/// The requester's master, as the voter sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailedMaster {
    /// It is flagged FAIL.
    pub failed: bool,
    /// When this node last voted for a replica of it, Unix ms (0: never).
    pub voted_time: u64,
}

/// What the voter itself is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Voter {
    /// The epoch of its last vote (`lastVoteEpoch`), saved in `nodes.conf`.
    pub last_vote_epoch: u64,
}

/// The voter's situation when a request arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context {
    /// It is a master serving at least one slot: only those vote.
    pub serving_master: bool,
    /// Its current epoch.
    pub current_epoch: u64,
    /// Now, Unix ms.
    pub now: u64,
    /// `cluster-node-timeout`.
    pub node_timeout_ms: u64,
}

/// Why a vote is refused; `Display` is the reason Redis logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Denial {
    /// The voter is a replica or serves no slot.
    NotAVoter,
    /// The request's epoch is older than the voter's.
    OldEpoch {
        /// The request's current epoch.
        request: u64,
        /// The voter's.
        current: u64,
    },
    /// The voter already voted in this epoch.
    AlreadyVoted(u64),
    /// The requester is a master.
    RequesterIsMaster,
    /// The voter does not know the requester's master.
    UnknownMaster,
    /// The requester's master is not failing (and no FORCEACK).
    MasterUp,
    /// The voter voted for a replica of this master less than two node
    /// timeouts ago.
    TooSoon {
        /// How many ms remain.
        remaining: u64,
    },
    /// A claimed slot is served at a greater config epoch than the
    /// request's.
    StaleSlots {
        /// The serving epoch.
        slot_epoch: u64,
        /// The request's config epoch.
        request: u64,
    },
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denial::NotAVoter => write!(f, "I am not a master serving slots"),
            Denial::OldEpoch { request, current } => {
                write!(f, "reqEpoch ({request}) < curEpoch({current})")
            }
            Denial::AlreadyVoted(epoch) => write!(f, "already voted for epoch {epoch}"),
            Denial::RequesterIsMaster => write!(f, "it is a master node"),
            Denial::UnknownMaster => write!(f, "I don't know its master"),
            Denial::MasterUp => write!(f, "its master is up"),
            Denial::TooSoon { remaining } => write!(
                f,
                "can't vote about this master before {remaining} milliseconds"
            ),
            Denial::StaleSlots {
                slot_epoch,
                request,
            } => write!(f, "slot epoch ({slot_epoch}) > reqEpoch ({request})"),
        }
    }
}

impl Voter {
    /// A voter that has voted in no epoch after `last_vote_epoch`.
    pub fn new(last_vote_epoch: u64) -> Voter {
        Voter { last_vote_epoch }
    }

    /// Decides on a request. On `Ok(epoch)` the vote is granted in `epoch`
    /// (the voter's current epoch): the caller records `ctx.now` as the
    /// master's `voted_time`, saves `nodes.conf` with fsync, and sends a
    /// FAILOVER_AUTH_ACK. Never grants twice in one epoch: a grant needs
    /// an epoch greater than the last one granted in.
    pub fn consider(&mut self, ctx: &Context, req: &Request) -> Result<u64, Denial> {
        if !ctx.serving_master {
            return Err(Denial::NotAVoter);
        }
        if req.current_epoch < ctx.current_epoch {
            return Err(Denial::OldEpoch {
                request: req.current_epoch,
                current: ctx.current_epoch,
            });
        }
        if self.last_vote_epoch >= ctx.current_epoch {
            return Err(Denial::AlreadyVoted(ctx.current_epoch));
        }
        if req.requester_is_master {
            return Err(Denial::RequesterIsMaster);
        }
        let Some(master) = req.master else {
            return Err(Denial::UnknownMaster);
        };
        if !master.failed && !req.force_ack {
            return Err(Denial::MasterUp);
        }
        let window = ctx.node_timeout_ms.saturating_mul(2);
        let since = ctx.now.saturating_sub(master.voted_time);
        if master.voted_time != 0 && since < window {
            return Err(Denial::TooSoon {
                remaining: window - since,
            });
        }
        if req.claimed_slots_epoch > req.config_epoch {
            return Err(Denial::StaleSlots {
                slot_epoch: req.claimed_slots_epoch,
                request: req.config_epoch,
            });
        }
        self.last_vote_epoch = ctx.current_epoch;
        Ok(ctx.current_epoch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ctx(epoch: u64, now: u64) -> Context {
        Context {
            serving_master: true,
            current_epoch: epoch,
            now,
            node_timeout_ms: 1000,
        }
    }

    fn req(epoch: u64) -> Request {
        Request {
            current_epoch: epoch,
            config_epoch: 3,
            requester_is_master: false,
            master: Some(FailedMaster {
                failed: true,
                voted_time: 0,
            }),
            force_ack: false,
            claimed_slots_epoch: 3,
        }
    }

    #[test]
    fn grants_one_vote_per_epoch() {
        let mut v = Voter::new(0);
        assert_eq!(v.consider(&ctx(5, 10_000), &req(5)), Ok(5));
        assert_eq!(
            v.consider(&ctx(5, 10_000), &req(5)),
            Err(Denial::AlreadyVoted(5))
        );
        assert_eq!(v.consider(&ctx(6, 10_000), &req(6)), Ok(6));
    }

    #[test]
    fn refusals() {
        let mut v = Voter::new(0);
        let c = ctx(5, 10_000);
        let not_voter = Context {
            serving_master: false,
            ..c
        };
        assert_eq!(v.consider(&not_voter, &req(5)), Err(Denial::NotAVoter));
        assert_eq!(
            v.consider(&c, &req(4)),
            Err(Denial::OldEpoch {
                request: 4,
                current: 5
            })
        );
        let master = Request {
            requester_is_master: true,
            ..req(5)
        };
        assert_eq!(v.consider(&c, &master), Err(Denial::RequesterIsMaster));
        let unknown = Request {
            master: None,
            ..req(5)
        };
        assert_eq!(v.consider(&c, &unknown), Err(Denial::UnknownMaster));
        let up = Request {
            master: Some(FailedMaster {
                failed: false,
                voted_time: 0,
            }),
            ..req(5)
        };
        assert_eq!(v.consider(&c, &up), Err(Denial::MasterUp));
        let recent = Request {
            master: Some(FailedMaster {
                failed: true,
                voted_time: 9_000,
            }),
            ..req(5)
        };
        assert_eq!(
            v.consider(&c, &recent),
            Err(Denial::TooSoon { remaining: 1000 })
        );
        let stale = Request {
            claimed_slots_epoch: 4,
            ..req(5)
        };
        assert_eq!(
            v.consider(&c, &stale),
            Err(Denial::StaleSlots {
                slot_epoch: 4,
                request: 3
            })
        );
        // None of these used the vote.
        assert_eq!(v.last_vote_epoch, 0);
        // FORCEACK votes for a replica of a working master.
        let forced = Request {
            force_ack: true,
            ..up
        };
        assert_eq!(v.consider(&c, &forced), Ok(5));
        // Two node timeouts after the last vote about a master, it may
        // vote about it again.
        let later = Request {
            master: Some(FailedMaster {
                failed: true,
                voted_time: 8_000,
            }),
            ..req(6)
        };
        assert_eq!(v.consider(&ctx(6, 10_000), &later), Ok(6));
    }

    #[test]
    fn denials_print_redis_reasons() {
        assert_eq!(
            Denial::AlreadyVoted(4).to_string(),
            "already voted for epoch 4"
        );
        assert_eq!(
            Denial::OldEpoch {
                request: 1,
                current: 2
            }
            .to_string(),
            "reqEpoch (1) < curEpoch(2)"
        );
        assert_eq!(Denial::MasterUp.to_string(), "its master is up");
    }

    proptest! {
        /// Never two votes in one epoch, for any sequence of requests and
        /// any (non-decreasing) current epoch.
        #[test]
        fn never_two_votes_in_one_epoch(
            steps in proptest::collection::vec(
                (0u64..3, 0u64..4, any::<bool>(), any::<bool>(), any::<bool>(), 0u64..5000, 0u64..6, 0u64..6),
                1..80,
            )
        ) {
            let mut v = Voter::new(0);
            let mut epoch = 1;
            let mut now = 100_000;
            let mut granted = std::collections::BTreeSet::new();
            for (bump, behind, failed, force, master_role, dt, cfg, slot_epoch) in steps {
                epoch += bump;
                now += dt;
                let r = Request {
                    current_epoch: epoch.saturating_sub(behind),
                    config_epoch: cfg,
                    requester_is_master: master_role,
                    master: Some(FailedMaster { failed, voted_time: 0 }),
                    force_ack: force,
                    claimed_slots_epoch: slot_epoch,
                };
                if let Ok(e) = v.consider(&ctx(epoch, now), &r) {
                    prop_assert!(granted.insert(e), "second vote in epoch {}", e);
                    prop_assert!(r.current_epoch >= epoch);
                    prop_assert!(r.config_epoch >= slot_epoch);
                }
            }
        }
    }
}
