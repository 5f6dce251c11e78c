//! # ferrodis-failover
//!
//! Redis Cluster replica promotion as a sans-IO state machine: election delay
//! by rank, `FAILOVER_AUTH_REQUEST`/`ACK` voting with one vote per epoch,
//! taking over the failed master's slots with a new `configEpoch`, manual
//! `CLUSTER FAILOVER` (default, `FORCE`, `TAKEOVER`) and replica migration.
//!
//! What it will hold: filled in by the replication and failover issue.
//!
//! ## Architecture invariants
//!
//! - No I/O and no clock: driven by `step(event, now)` and `tick(now)`.
//! - Never grants two votes in one epoch, never claims slots without a
//!   configEpoch greater than the one it replaces.
#![forbid(unsafe_code)]
