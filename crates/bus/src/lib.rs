//! # ferrodis-bus
//!
//! The Redis Cluster bus, byte-compatible with Redis 7: the `RCmb` message
//! header and its per-type bodies (PING, PONG, MEET, FAIL, PUBLISH, UPDATE,
//! failover auth, MFSTART, PUBLISHSHARD and ping extensions), and the gossip
//! state machine built on them (handshake, failure detection, epochs, slot
//! ownership).
//!
//! What it will hold (the cluster-mode issue fills it in): a codec for bus
//! messages and a sans-IO `Node` driven by `on_message(from, bytes, now)` and
//! `on_tick(now)`, returning the messages to send and the state changes to
//! persist.
//!
//! ## Architecture invariants
//!
//! - No I/O and no clock: time comes in as an argument, messages go out as
//!   return values. This is what lets a whole cluster run in a deterministic
//!   simulation.
//! - Every message from the network is untrusted: a malformed one is a typed
//!   error, never a panic.
#![forbid(unsafe_code)]
