//! # ferrodis-failover
//!
//! The decisions of Redis Cluster failover, as small sans-IO types that the
//! bus state machine (`ferrodis_bus::cluster::ClusterNode`) drives. Each
//! follows Redis 7.0.15's `cluster.c` and the cluster specification
//! ("Replica election and promotion", "Masters reply to replica vote
//! request", "Replica migration", "Manual failover"):
//!
//! - [`election`]: a replica's election for its failed master
//!   (`clusterHandleSlaveFailover`): its rank among its master's replicas
//!   by replication offset (`clusterGetSlaveRank`), the delay before asking
//!   for votes (500 ms + random(0..500 ms) + rank × 1000 ms), the epoch it
//!   asks in, the votes it counts, the majority that elects it, and the
//!   data-age limit of `cluster-replica-validity-factor`.
//! - [`vote`]: a master's rules for granting its vote
//!   (`clusterSendFailoverAuthIfNeeded`): one vote per epoch, one per
//!   failed master per two node timeouts, only for a replica of a FAIL
//!   master (or a manual failover's `FORCEACK`), never for slots a greater
//!   config epoch serves.
//! - [`manual`]: `CLUSTER FAILOVER [FORCE|TAKEOVER]` on both sides
//!   (`clusterHandleManualFailover`, MFSTART, the `PAUSED` flag,
//!   `CLUSTER_MF_TIMEOUT`).
//! - [`migration`]: moving a replica to an orphaned master
//!   (`clusterHandleSlaveMigration`, `cluster-migration-barrier`).
//!
//! ## Architecture invariants
//!
//! - No I/O and no clock: time (Unix ms) and randomness come in as
//!   arguments; the caller sends the messages a decision asks for.
//! - [`vote::Voter`] never grants two votes in one epoch, whatever the
//!   sequence of requests; a won [`election::Election`] always carries the
//!   epoch it was asked in, greater than every epoch seen before it.
#![forbid(unsafe_code)]

pub mod election;
pub mod manual;
pub mod migration;
pub mod vote;
