//! # ferrodis-store
//!
//! The embeddable keyspace: Redis' data types (strings, lists, hashes, sets,
//! sorted sets, ...) behind a typed, thread-safe Rust API (`Arc<Store>` with
//! `&self` methods), usable from any Rust program as well as from
//! `ferrodis-node`.
//!
//! What it will hold (the storage-engine issue fills it in):
//!
//! - A keyspace sharded by hash slot, so that counting, listing and dropping
//!   the keys of one slot costs in proportion to that slot, and threads
//!   working on different slots rarely contend.
//! - Millisecond expiry (lazy on access plus an active cycle), `maxmemory`
//!   with Redis' eviction policies, and memory accounting.
//!
//! ## Architecture invariants
//!
//! - No sockets and no files: persistence and networking live elsewhere.
//! - Never speaks RESP: commands are typed method calls, replies are typed
//!   values. The node translates.
#![forbid(unsafe_code)]
