//! # ferrodis-repl
//!
//! Redis 7 replication as sans-IO state machines: the master side
//! (`REPLCONF`, `PSYNC` answered with `+FULLRESYNC` or `+CONTINUE`, the
//! replication backlog, the propagated write stream, `WAIT`) and the replica
//! side (handshake, RDB transfer including diskless `$EOF:` framing, applying
//! the stream, PSYNC2 replication ids).
//!
//! What it will hold: filled in by the replication and failover issue.
//!
//! ## Architecture invariants
//!
//! - No I/O and no clock: bytes and time in, bytes and actions out.
//! - Byte-compatible with Redis 7 on the wire, in both roles.
#![forbid(unsafe_code)]
