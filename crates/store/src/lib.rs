//! # ferrodis-store
//!
//! The embeddable keyspace: Redis' data types behind a typed, thread-safe
//! Rust API (`Arc<Store>` with `&self` methods), usable from any Rust
//! program as well as from `ferrodis-node`.
//!
//! ```
//! use std::sync::Arc;
//! use ferrodis_store::{SetOptions, Store, TtlUpdate};
//!
//! let store = Arc::new(Store::new());
//! let db = store.db(0).unwrap();
//! db.set(b"counter", b"41", SetOptions::default()).unwrap();
//! assert_eq!(db.incr_by(b"counter", 1).unwrap(), 42);
//!
//! // Expiry is in absolute Unix milliseconds.
//! let later = db.now_ms() + 60_000;
//! let opts = SetOptions { ttl: TtlUpdate::At(later), ..Default::default() };
//! db.set(b"session", b"data", opts).unwrap();
//! ```
//!
//! # Layout
//!
//! - `store`: [`Store`], its [`Db`] handles, clocks, statistics and the
//!   active expire cycle.
//! - `evict`: `maxmemory` eviction with Redis' policies, the LRU clock and
//!   the LFU counter.
//! - `keyspace`: one database as 16384 per-slot tables, each behind its own
//!   lock: slot-level work touches one table, and threads on different
//!   slots rarely contend.
//! - `value`: the value types and the per-key entry.
//! - `strings`, `keys`, `lists`, `hashes`, `sets`, `zsets`: the typed
//!   operations, grouped like Redis' commands, each with its value type.
//! - `dump`: `DUMP`/`RESTORE` conversions to and from the RDB value
//!   model of `ferrodis-persist`.
//! - `dict`: a chained hash table with incremental rehashing and Redis'
//!   SCAN cursor, used for the keyspace and large collections.
//! - `zset`: the ordered index of sorted sets.
//! - `hll`: HyperLogLog on byte strings in Redis' exact layout; `pf`
//!   holds the PFADD/PFCOUNT/PFMERGE/PFDEBUG operations over it.
//! - `smallbytes`: byte strings stored inline when short.
//! - `glob`: Redis' glob-style patterns (KEYS, SCAN MATCH, CONFIG GET).
//!
//! # Architecture invariants
//!
//! - No sockets and no files, no RESP: the node translates commands into
//!   these typed calls and their results into replies.
//! - Expired keys are never returned: every lookup goes through one lazy
//!   expiry check, and [`Store::active_expire_cycle`] reclaims the rest.
//! - Operations on several keys lock their slots in ascending order.
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod bits;
pub mod dict;
mod dump;
mod error;
mod evict;
pub mod glob;
mod hashes;
pub mod hll;
mod keys;
mod keyspace;
mod lists;
pub mod notify;
mod pf;
mod sets;
mod smallbytes;
mod snapshot;
mod store;
mod strings;
mod value;
pub mod zset;
mod zsets;

pub use bits::{
    BitOp, BitRange, BitUnit, BitfieldOp, BitfieldOverflow, BitfieldType, Lcs, LcsMatch, LcsQuery,
};
pub use dump::RestoreOptions;
pub use error::StoreError;
pub use evict::{lfu_decayed, lfu_log_incr, EvictionPolicy, LFU_INIT_VAL};
pub use ferrodis_persist::{EncodeOptions, Encoding, RdbObject, RdbValue};
pub use hashes::{FieldValues, HashScan, HashValue};
pub use keys::{ExpireCondition, ObjectInfo, Ttl};
pub use keyspace::WatchFlag;
pub use lists::{KeyElements, ListEnd, ListValue};
pub use pf::{PfDebug, PfDebugReply};
pub use sets::{SetScan, SetValue};
pub use smallbytes::{SmallBytes, INLINE_CAPACITY};
pub use snapshot::{changes_on_this_thread, DbSummary, Snapshot, SnapshotEntry, SnapshotError};
pub use store::{Clock, Db, ManualClock, Settings, Stats, Store, StoreBuilder, SystemClock};
pub use strings::{GetExTtl, SetCondition, SetOptions, SetOutcome, TtlUpdate};
pub use value::{StrValue, Value, ValueType};
pub use zset::{LexBound, ScoreBound};
pub use zsets::{
    format_score, Aggregate, Popped, ScoredMember, ZAddCondition, ZAddOptions, ZAddOutcome,
    ZAddStep, ZIter, ZRangeBy, ZRangeSpec, ZScanPage, ZSetLimits, ZSetOp, ZSetValue,
};
