//! # ferrodis-bus
//!
//! The Redis Cluster bus, byte-compatible with Redis 7.0: every message two
//! cluster nodes exchange on their bus port, as typed values, with an encoder,
//! a decoder and a framer for a byte stream.
//!
//! A message is the 2256-byte `RCmb` [`Header`] (the sender's id, ports,
//! epochs, replication offset, slots, master and flags) followed by a
//! [`Body`] per type: PING, PONG and MEET carry [`Gossip`] entries and ping
//! extensions ([`PingExt`]); FAIL names a failed node; PUBLISH and
//! PUBLISHSHARD carry a Pub/Sub message; UPDATE a node's slots; MODULE a
//! module's payload; FAILOVER_AUTH_REQUEST, FAILOVER_AUTH_ACK and MFSTART
//! have no body. `docs/formats/cluster-bus.md` draws the bytes; [`layout`]
//! names each offset.
//!
//! ```
//! use ferrodis_bus::{decode, encode, Body, Header, Message, NodeFlags, PingBody};
//!
//! let mut header = Header::default();
//! header.sender = "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca".parse().unwrap();
//! header.port = 7000;
//! header.cport = 17000;
//! header.flags = NodeFlags::MASTER | NodeFlags::MYSELF;
//! let ping = Message { header, body: Body::Ping(PingBody::default()) };
//!
//! let bytes = encode(&ping).unwrap();
//! assert_eq!(&bytes[..4], b"RCmb");
//! assert_eq!(bytes.len(), 2256);
//! assert_eq!(decode(&bytes).unwrap(), ping);
//! ```
//!
//! Reading from a socket: append what arrives to a buffer, and while
//! [`next_frame`] returns a whole message, [`decode`] it and drop its bytes.
//! An error from `next_frame` (bad signature, length below the header) means
//! the stream is lost; an error from `decode` means that one message is
//! malformed and is skipped, as a Redis node skips it.
//!
//! [`cluster`] is the sans-IO cluster node built on the codec
//! ([`cluster::ClusterNode`]): the node table kept by the handshake and
//! PING/PONG gossip, failure detection (PFAIL, failure reports, FAIL), config
//! epochs and slot ownership (UPDATE, collisions), the cluster state, the
//! replica topology, and the operator commands (`CLUSTER MEET`, `ADDSLOTS`,
//! `SETSLOT`, ...), driven by `on_message(link, bytes, now)` and
//! `on_tick(now)`, which return the connections to open and the messages to
//! send. Its public types for slots and nodes are `ferrodis-slots`' ones
//! (`NodeId`, `Slot`, `SlotMap`, `NodeFlags`); the wire types here stay for
//! the codec. Replica elections and manual failover are still to come.
//!
//! # Layout
//!
//! - [`message`] holds the typed model ([`Message`], [`Header`], [`Body`]).
//! - [`types`] holds node ids, addresses, slot bitmaps, epochs, flag words.
//! - `codec` holds [`encode`], [`decode`], [`frame_len`], [`next_frame`].
//! - [`layout`] names the offset of every field.
//! - [`errors`] holds [`BusError`].
//! - [`cluster`] holds the node state machine ([`cluster::ClusterNode`]), its
//!   operator commands and their errors ([`cluster::ClusterError`]).
//!
//! ## Architecture invariants
//!
//! - No I/O and no clock: time comes in as an argument, messages go out as
//!   return values. This is what lets a whole cluster run in a deterministic
//!   simulation.
//! - Every message from the network is untrusted: a malformed one is a typed
//!   error, never a panic, and nothing is allocated for a length whose bytes
//!   have not arrived.
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub mod cluster;
mod codec;
pub mod errors;
pub mod layout;
pub mod message;
pub mod types;

pub use codec::{
    decode, encode, encode_into, encoded_len, frame_len, next_frame, MIN_MESSAGE_LEN,
    PROTOCOL_VERSION, SIGNATURE,
};
pub use errors::BusError;
pub use message::{Body, Gossip, Header, Message, MessageType, PingBody, PingExt};
pub use types::{
    ClusterState, Epoch, InvalidNodeId, MessageFlags, ModuleId, NodeFlags, NodeId, NodeIp,
    ReplOffset, SlotBitmap, SLOTS,
};
