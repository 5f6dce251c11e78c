//! # ferrodis-slots
//!
//! Redis Cluster's addressing: which of the 16384 hash slots a key belongs to,
//! sets and ranges of slots, the slot → node routing table, and the
//! `nodes.conf` file format.
//!
//! What it will hold (the cluster-mode issue fills it in):
//!
//! - `key_slot(key)`: CRC16 XMODEM of the key, or of its `{hash tag}`, modulo
//!   16384, with Redis' exact tag rules (first `{`, next `}`, empty tag
//!   ignored).
//! - Slot bitmaps and ranges, parsed from and printed as `0-5460 5461-10922`.
//! - The routing table clients and nodes consult.
//! - `nodes.conf` lines (`<id> <ip:port@cport> <flags> ...` and
//!   `vars currentEpoch N lastVoteEpoch N`), parsed and formatted in a round
//!   trip.
//!
//! ## Architecture invariants
//!
//! - Pure data and functions: no I/O, no clock, no threads.
//! - Parses untrusted text (`nodes.conf`, ranges typed by operators) and never
//!   panics on it: every malformed input is a typed error.
//! - Depends on no other workspace crate.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

mod key;
mod node_id;
mod slot_map;
mod slot_set;

pub use key::{hash_tag, key_slot, Slot, SLOT_COUNT};
pub use node_id::{NodeId, NodeIdError, NODE_ID_LEN};
pub use slot_map::{Migration, Runs, SlotMap};
pub use slot_set::{Bracketed, Iter, Ranges, SlotParseError, SlotRange, SlotSet, SLOT_BITMAP_LEN};
