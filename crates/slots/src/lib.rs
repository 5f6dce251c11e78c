//! # ferrodis-slots
//!
//! Redis Cluster's addressing: which of the 16384 hash slots a key belongs to,
//! sets and ranges of slots, the slot → node routing table, and the
//! `nodes.conf` file format (which is also the format of `CLUSTER NODES`).
//!
//! ```
//! use ferrodis_slots::{key_slot, NodesConf};
//!
//! let conf = NodesConf::parse(
//!     "3167b5fd18e4551c91baafe598d72c6cdecb6302 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-16383\n\
//!      vars currentEpoch 1 lastVoteEpoch 0\n",
//! )?;
//! let map = conf.slot_map();
//! assert!(map.covers_all());
//! assert_eq!(map.owner(key_slot(b"foo")), Some(&conf.nodes[0].id));
//! # Ok::<(), ferrodis_slots::NodesConfError>(())
//! ```
//!
//! # Layout
//!
//! - `key`: [`key_slot`] (CRC16 XMODEM of the key, or of its `{hash tag}`,
//!   modulo 16384, with Redis' exact tag rules: first `{`, next `}`, an
//!   empty tag ignored), [`hash_tag`], and [`Slot`], a number below
//!   [`SLOT_COUNT`].
//! - `slot_set`: [`SlotSet`], a 16384-bit bitmap in the cluster bus' bit
//!   order (slot `s` is bit `s % 8` of byte `s / 8`), and [`SlotRange`], a
//!   non-empty run `start..=end`. A set prints as its maximal runs
//!   (`0-5460 5461-10922 12000`, as `CLUSTER NODES` shows them, or
//!   `[0-5460],[12000]` as `redis-cli --cluster check` does) and parses back
//!   from either form.
//! - `node_id`: [`NodeId`], 40 ASCII digits and lowercase letters; new ones
//!   come from 20 random bytes the caller draws.
//! - `slot_map`: [`SlotMap`], the slot → owner routing table, with each
//!   slot's [`Migration`] state (`CLUSTER SETSLOT ... MIGRATING|IMPORTING`).
//! - `nodes_conf`: [`NodesConf`] (the file), [`NodeLine`] (one node, also a
//!   line of `CLUSTER NODES`), [`NodeAddr`], [`NodeFlags`], [`LinkState`];
//!   `docs/formats/nodes-conf.md` describes the format.
//!
//! # Invariants
//!
//! - A [`Slot`] is always below 16384, a [`SlotRange`] never empty, a
//!   [`NodeId`] always 40 digits or lowercase letters: the constructors
//!   check, so code holding one need not.
//! - [`SlotSet::ranges`] yields maximal runs in ascending order: no two
//!   touch. Text printed from a set parses back to the same set, and a
//!   [`NodesConf`] printed parses back to the same value; for a file Redis
//!   7.0 wrote, the printed text is the file, byte for byte.
//! - A [`SlotMap`] stays a fixed size whatever the number of nodes that
//!   come and go.
//!
//! ## Architecture invariants
//!
//! - Pure data and functions: no I/O, no clock, no threads, no randomness
//!   (callers pass random bytes and timestamps in).
//! - Parses untrusted text (`nodes.conf`, `CLUSTER NODES` replies, ranges
//!   typed by operators) and never panics on it: every malformed input is a
//!   typed error.
//! - Depends on no other workspace crate.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

mod key;
mod node_id;
mod nodes_conf;
mod slot_map;
mod slot_set;

pub use key::{hash_tag, key_slot, Slot, SLOT_COUNT};
pub use node_id::{NodeId, NodeIdError, NODE_ID_LEN};
pub use nodes_conf::{
    cluster_nodes_text, parse_cluster_nodes, AuxField, LinkState, NodeAddr, NodeFlags, NodeLine,
    NodeLineError, NodesConf, NodesConfError, NodesConfErrorKind, PublicLine, BUS_PORT_OFFSET,
};
pub use slot_map::{Migration, Runs, SlotMap};
pub use slot_set::{Bracketed, Iter, Ranges, SlotParseError, SlotRange, SlotSet, SLOT_BITMAP_LEN};
