//! The write gate: what keeps a snapshot's instant between commands, and
//! the AOF's order the order of execution, when several worker threads run
//! commands at once.
//!
//! Redis runs one command at a time, so a fork (BGSAVE, AOF rewrite) always
//! falls between two commands and the AOF lists writes in the order they
//! ran. Ferrodis' workers run commands in parallel, so with more than one
//! worker:
//!
//! - a write command passes the gate *shared*: writes go on in parallel,
//!   and a snapshot, which takes the gate *exclusively*, waits until none
//!   is half done, so a command on several keys (MSET, DEL k1 k2, SMOVE)
//!   is wholly in a snapshot or wholly out;
//! - while the AOF is on, writes pass *exclusively*, so that the order they
//!   are appended in is the order they ran in;
//! - EXEC passes exclusively: its transaction is whole in a snapshot, and
//!   a BGSAVE or BGREWRITEAOF queued inside it takes its snapshot right
//!   there, between two of its commands, as Redis' fork would — the thread
//!   already holds the gate, so it does not take it again (which would
//!   deadlock).
//!
//! With one worker the gate is taken by snapshots only.

use std::cell::Cell;

use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};

thread_local! {
    /// Whether this thread holds the gate (in either mode).
    static HELD: Cell<bool> = const { Cell::new(false) };
}

/// See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    lock: RwLock<()>,
}

/// The gate held, until dropped.
#[derive(Debug)]
#[must_use = "the gate is released when the guard is dropped"]
pub(crate) enum GateGuard<'a> {
    Shared {
        _guard: RwLockReadGuard<'a, ()>,
    },
    Exclusive {
        _guard: RwLockWriteGuard<'a, ()>,
    },
    /// This thread held the gate already (a command inside EXEC).
    Reentered,
    /// A write that runs without the gate (one worker, nothing that needs
    /// it): the thread counts as holding it, so that what the write does
    /// inside (BGSAVE in EXEC) does not wait for a gate a replication
    /// thread holds while it waits for this very write (`repl::gate_on`).
    Skipped,
}

impl Gate {
    /// Passes the gate for a command: `exclusive` for EXEC and for writes
    /// while the AOF is on, shared for other writes.
    pub(crate) fn enter(&self, exclusive: bool) -> GateGuard<'_> {
        if HELD.with(Cell::get) {
            return GateGuard::Reentered;
        }
        let guard = if exclusive {
            GateGuard::Exclusive {
                _guard: self.lock.write(),
            }
        } else {
            GateGuard::Shared {
                _guard: self.lock.read(),
            }
        };
        HELD.with(|h| h.set(true));
        guard
    }

    /// Runs a write without the gate; see [`GateGuard::Skipped`].
    pub(crate) fn skip(&self) -> GateGuard<'_> {
        if HELD.with(Cell::get) {
            return GateGuard::Reentered;
        }
        HELD.with(|h| h.set(true));
        GateGuard::Skipped
    }

    /// Takes the gate exclusively to start a snapshot (or to switch the AOF
    /// on or off), unless this thread holds it already: EXEC holds it
    /// exclusively while its commands run.
    pub(crate) fn exclusive(&self) -> GateGuard<'_> {
        self.enter(true)
    }
}

impl Drop for GateGuard<'_> {
    fn drop(&mut self) {
        if !matches!(self, GateGuard::Reentered) {
            HELD.with(|h| h.set(false));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_holding_the_gate_reenters_it() {
        let gate = Gate::default();
        let outer = gate.enter(true);
        assert!(matches!(gate.exclusive(), GateGuard::Reentered));
        drop(outer);
        let shared = gate.enter(false);
        assert!(matches!(shared, GateGuard::Shared { .. }));
        drop(shared);
        assert!(matches!(gate.exclusive(), GateGuard::Exclusive { .. }));
    }

    #[test]
    fn shared_holders_run_together_and_keep_an_exclusive_one_out() {
        let gate = std::sync::Arc::new(Gate::default());
        let held = gate.enter(false);
        let other = {
            let gate = std::sync::Arc::clone(&gate);
            std::thread::spawn(move || {
                // Another writer passes while the first one runs...
                drop(gate.enter(false));
                // ...a snapshot does not.
                gate.lock.try_write().is_none()
            })
        };
        assert!(other.join().unwrap());
        drop(held);
        assert!(gate.lock.try_write().is_some());
    }
}
