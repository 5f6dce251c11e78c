//! `CLUSTER FAILOVER [FORCE|TAKEOVER]` (cluster specification, "Manual
//! failover"; `clusterHandleManualFailover`, `resetManualFailover`,
//! `manualFailoverCheckTimeout`).
//!
//! The default form, on the replica: it sends MFSTART to its master; the
//! master pauses its clients' writes for twice [`MF_TIMEOUT_MS`] and sends
//! PINGs flagged `PAUSED` carrying its replication offset; once the
//! replica's own offset reaches that one, it runs the election at once,
//! asking for votes with `FORCEACK`. FORCE skips the master (the election
//! starts at once); TAKEOVER skips the election too (a new config epoch
//! without agreement). Either side gives up after [`MF_TIMEOUT_MS`].

/// How long a manual failover may take (`CLUSTER_MF_TIMEOUT`).
pub const MF_TIMEOUT_MS: u64 = 5000;
/// The master pauses writes for this many times [`MF_TIMEOUT_MS`]
/// (`CLUSTER_MF_PAUSE_MULT`).
pub const PAUSE_MULT: u64 = 2;

/// The forms of `CLUSTER FAILOVER`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// No option: agree on the offset with the master first, lose no
    /// write.
    Default,
    /// `FORCE`: the master may be unreachable; run the election at once.
    Force,
    /// `TAKEOVER`: no election either; take a new config epoch without
    /// agreement.
    Takeover,
}

/// What the replica checks before accepting `CLUSTER FAILOVER`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preconditions {
    /// The node is a master.
    pub is_master: bool,
    /// The node knows its master.
    pub master_known: bool,
    /// Its master is flagged FAIL or has no link.
    pub master_down: bool,
}

/// Why `CLUSTER FAILOVER` is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Sent to a master.
    NotAReplica,
    /// The replica does not know its master.
    UnknownMaster,
    /// The master is down and the form is the default one.
    MasterDown,
}

/// Checks `CLUSTER FAILOVER` (the checks `clusterCommand` makes, in its
/// order).
pub fn check(kind: Kind, pre: Preconditions) -> Result<(), Refusal> {
    if pre.is_master {
        return Err(Refusal::NotAReplica);
    }
    if !pre.master_known {
        return Err(Refusal::UnknownMaster);
    }
    if kind == Kind::Default && pre.master_down {
        return Err(Refusal::MasterDown);
    }
    Ok(())
}

/// One node's manual failover, on either side (Redis' `mf_*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManualFailover {
    /// When it is abandoned, Unix ms; 0 when none is in progress.
    end: u64,
    /// Replica side: the election may run now.
    can_start: bool,
    /// Replica side: the master's offset, as its first `PAUSED` message
    /// said.
    master_offset: Option<u64>,
    /// Master side: this node paused its writes for a replica.
    paused: bool,
}

impl ManualFailover {
    /// None in progress.
    pub fn new() -> ManualFailover {
        ManualFailover::default()
    }

    /// Whether one is in progress (Redis' `mf_end != 0`): a master flags
    /// its messages `PAUSED`, a replica its vote requests `FORCEACK`.
    pub fn in_progress(&self) -> bool {
        self.end != 0
    }

    /// When it will be abandoned (0: none in progress).
    pub fn end(&self) -> u64 {
        self.end
    }

    /// Replica side: whether the election may run.
    pub fn can_start(&self) -> bool {
        self.end != 0 && self.can_start
    }

    /// Master side: whether writes are paused for a replica.
    pub fn paused(&self) -> bool {
        self.paused
    }

    /// The master's offset the replica waits for, once known.
    pub fn master_offset(&self) -> Option<u64> {
        self.master_offset
    }

    /// Replica side, `CLUSTER FAILOVER` accepted (after [`check`]). For
    /// `Default` the caller sends MFSTART to its master; `Force` may start
    /// the election at once; `Takeover` is the caller's to finish at once
    /// (new config epoch, take the slots, then [`reset`](Self::reset)).
    pub fn start_replica(&mut self, kind: Kind, now: u64) {
        self.reset();
        self.end = now + MF_TIMEOUT_MS;
        if kind == Kind::Force {
            self.can_start = true;
        }
    }

    /// Master side, MFSTART from one of its replicas: returns until when
    /// writes are paused (`now` + 2 × [`MF_TIMEOUT_MS`]).
    pub fn start_master(&mut self, now: u64) -> u64 {
        self.reset();
        self.end = now + MF_TIMEOUT_MS;
        self.paused = true;
        now + MF_TIMEOUT_MS * PAUSE_MULT
    }

    /// Replica side: a message from its master arrived flagged `PAUSED`
    /// (or not), with this offset. The first paused offset is the one to
    /// reach.
    pub fn on_master_message(&mut self, paused: bool, offset: u64) {
        if self.end != 0 && paused && self.master_offset.is_none() {
            self.master_offset = Some(offset);
        }
    }

    /// Replica side (`clusterHandleManualFailover`): with its own
    /// replication offset now, may the election run? True once the
    /// offset equals the master's paused one (or FORCE).
    pub fn ready(&mut self, my_offset: u64) -> bool {
        if self.end == 0 {
            return false;
        }
        if self.can_start {
            return true;
        }
        if self.master_offset == Some(my_offset) {
            self.can_start = true;
        }
        self.can_start
    }

    /// Abandons it if its time is over; returns whether it did.
    pub fn check_timeout(&mut self, now: u64) -> bool {
        if self.end != 0 && self.end < now {
            self.reset();
            return true;
        }
        false
    }

    /// Ends it, whatever happened (`resetManualFailover`): a master
    /// resumes writes.
    pub fn reset(&mut self) {
        *self = ManualFailover::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_in_redis_order() {
        let pre = Preconditions {
            is_master: false,
            master_known: true,
            master_down: false,
        };
        assert_eq!(check(Kind::Default, pre), Ok(()));
        let master = Preconditions {
            is_master: true,
            master_known: false,
            master_down: true,
        };
        assert_eq!(check(Kind::Takeover, master), Err(Refusal::NotAReplica));
        let orphan = Preconditions {
            master_known: false,
            ..pre
        };
        assert_eq!(check(Kind::Force, orphan), Err(Refusal::UnknownMaster));
        let down = Preconditions {
            master_down: true,
            ..pre
        };
        assert_eq!(check(Kind::Default, down), Err(Refusal::MasterDown));
        assert_eq!(check(Kind::Force, down), Ok(()));
        assert_eq!(check(Kind::Takeover, down), Ok(()));
    }

    #[test]
    fn default_waits_for_the_paused_offset() {
        let mut mf = ManualFailover::new();
        mf.start_replica(Kind::Default, 1000);
        assert!(mf.in_progress());
        assert_eq!(mf.end(), 6000);
        assert!(!mf.ready(50));
        // An unpaused message does not give the offset.
        mf.on_master_message(false, 100);
        assert!(!mf.ready(100));
        mf.on_master_message(true, 120);
        mf.on_master_message(true, 130);
        assert_eq!(mf.master_offset(), Some(120));
        assert!(!mf.ready(100));
        assert!(mf.ready(120));
        assert!(mf.can_start());
        assert!(!mf.check_timeout(6000));
        assert!(mf.check_timeout(6001));
        assert!(!mf.in_progress());
        assert!(!mf.ready(120));
    }

    #[test]
    fn force_is_ready_at_once() {
        let mut mf = ManualFailover::new();
        mf.start_replica(Kind::Force, 1000);
        assert!(mf.ready(0));
    }

    #[test]
    fn the_master_pauses_twice_the_timeout() {
        let mut mf = ManualFailover::new();
        assert_eq!(mf.start_master(1000), 11_000);
        assert!(mf.paused());
        assert!(mf.in_progress());
        assert!(mf.check_timeout(6001));
        assert!(!mf.paused());
    }
}
