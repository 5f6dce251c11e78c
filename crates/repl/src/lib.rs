//! # ferrodis-repl
//!
//! Redis 7 replication as sans-IO state machines: the master side (the
//! replication ids, the backlog, the `PSYNC` decision) and the replica side
//! (handshake, RDB transfer including diskless `$EOF:` framing, the command
//! stream with its offsets). `docs/formats/replication.md` draws the wire
//! exchange.
//!
//! # Layout
//!
//! - [`id`]: [`ReplId`] and [`ReplIds`], the PSYNC2 pair of ids and offsets.
//! - [`backlog`]: [`Backlog`], the circular history partial resyncs are
//!   served from.
//! - [`master`]: [`master::decide`], Redis' rules for `+CONTINUE` against
//!   `+FULLRESYNC`, and the encoding of propagated commands.
//! - [`replica`]: [`replica::Link`], the replica's side of one connection to
//!   its master: bytes in, [`replica::Action`]s out.
//! - `error`: `ReplError`.
//!
//! ## Architecture invariants
//!
//! - No I/O and no clock: bytes and time in, bytes and actions out.
//! - Byte-compatible with Redis 7 on the wire, in both roles.
//! - Never panics and never allocates for a length it has not seen, whatever
//!   a master sends (the `repl_stream` fuzz target checks).
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod backlog;
pub mod error;
pub mod id;
pub mod master;
pub mod replica;

pub use backlog::Backlog;
pub use error::ReplError;
pub use id::{ReplId, ReplIds};
