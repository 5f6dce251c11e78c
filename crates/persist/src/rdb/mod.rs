//! The RDB file: a header, then a sequence of opcodes and keys, then an EOF
//! opcode and a CRC64, as `rdbSaveRio` writes it and
//! `rdbLoadRioWithLoadingCtx` reads it. Byte tables in
//! `docs/formats/rdb.md`.
//!
//! ```text
//! "REDIS" "0010"            header: signature, version as 4 ASCII digits
//! AUX key value ...         redis-ver, redis-bits, ctime, used-mem, aof-base
//! SELECTDB db               then RESIZEDB keys expires, once per non-empty db
//!   [EXPIRETIME_MS t] [IDLE s] [FREQ f] type key value     one per key
//! EOF                       0xff
//! crc64                     u64 LE over every byte before it (0: not computed)
//! ```
//!
//! - `read`: [`RdbReader`], over a whole file in memory.
//! - `write`: [`RdbWriter`], appending to the caller's buffer.

mod read;
mod write;

pub use read::{RdbEntryRef, RdbItemRef, RdbReader};
pub use write::{RdbWriter, ReplAux, StandardAux, WriteOptions};

use crate::object::RdbObject;

/// The signature every RDB file starts with.
pub const RDB_MAGIC: &[u8; 5] = b"REDIS";
/// Bytes of the header: the signature and the version as 4 ASCII digits.
pub const RDB_HEADER_SIZE: usize = 9;
/// The oldest RDB version the reader accepts.
pub const RDB_MIN_VERSION: u16 = 1;
/// The newest RDB version the reader accepts (Redis 7.2's).
pub const RDB_MAX_VERSION: u16 = 11;
/// The first RDB version whose files end with a CRC64.
pub const RDB_CHECKSUM_VERSION: u16 = 5;
/// Bytes of the checksum after the EOF opcode.
pub const RDB_CHECKSUM_SIZE: usize = 8;

/// Opcode: a function library (Redis 7.0 GA and later); its code follows
/// as a string.
pub const OPCODE_FUNCTION2: u8 = 245;
/// Opcode: a function library in the format of Redis 7.0's release
/// candidates.
pub const OPCODE_FUNCTION: u8 = 246;
/// Opcode: module auxiliary data.
pub const OPCODE_MODULE_AUX: u8 = 247;
/// Opcode: the next key's LRU idle time in seconds, as a length.
pub const OPCODE_IDLE: u8 = 248;
/// Opcode: the next key's LFU counter, one byte.
pub const OPCODE_FREQ: u8 = 249;
/// Opcode: an auxiliary field, two strings (name and value).
pub const OPCODE_AUX: u8 = 250;
/// Opcode: the sizes of the selected database (keys, keys with a TTL), two
/// lengths; a hint for sizing hash tables.
pub const OPCODE_RESIZEDB: u8 = 251;
/// Opcode: the next key's expiry, unix time in milliseconds, i64 LE.
pub const OPCODE_EXPIRETIME_MS: u8 = 252;
/// Opcode: the next key's expiry, unix time in seconds, i32 LE (old files).
pub const OPCODE_EXPIRETIME: u8 = 253;
/// Opcode: the database the following keys belong to, a length.
pub const OPCODE_SELECTDB: u8 = 254;
/// Opcode: the end of the data; the checksum follows (RDB 5 and later).
pub const OPCODE_EOF: u8 = 255;

/// Auxiliary field: the Redis version that wrote the file.
pub const AUX_REDIS_VER: &str = "redis-ver";
/// Auxiliary field: the writer's pointer width, 32 or 64.
pub const AUX_REDIS_BITS: &str = "redis-bits";
/// Auxiliary field: when the file was written, unix time in seconds.
pub const AUX_CTIME: &str = "ctime";
/// Auxiliary field: the writer's memory use in bytes.
pub const AUX_USED_MEM: &str = "used-mem";
/// Auxiliary field: the database the replication stream had selected.
pub const AUX_REPL_STREAM_DB: &str = "repl-stream-db";
/// Auxiliary field: the replication ID.
pub const AUX_REPL_ID: &str = "repl-id";
/// Auxiliary field: the replication offset.
pub const AUX_REPL_OFFSET: &str = "repl-offset";
/// Auxiliary field: 1 when the file is the base of a multi-part AOF.
pub const AUX_AOF_BASE: &str = "aof-base";

/// One key read from or written to an RDB file, with the attributes the
/// opcodes before it gave.
#[derive(Debug, Clone, PartialEq)]
pub struct RdbEntry {
    /// The key.
    pub key: Vec<u8>,
    /// The value and its encoding.
    pub object: RdbObject,
    /// When the key expires, unix time in milliseconds. The reader returns
    /// keys whether or not this is in the past: dropping expired keys is
    /// the loader's policy (a primary drops them, a replica keeps them).
    pub expire_at_ms: Option<u64>,
    /// LRU idle time in seconds (written under an LRU `maxmemory-policy`).
    pub idle_seconds: Option<u64>,
    /// LFU logarithmic counter (written under an LFU `maxmemory-policy`).
    pub freq: Option<u8>,
}

/// One item of an RDB file, in file order.
#[derive(Debug, Clone, PartialEq)]
pub enum RdbItem {
    /// An auxiliary field. Loaders skip the ones they do not know.
    Aux {
        /// The field's name, such as [`AUX_REDIS_VER`].
        key: Vec<u8>,
        /// Its value (numbers as decimal text).
        value: Vec<u8>,
    },
    /// The following keys belong to this database.
    SelectDb(u64),
    /// The selected database's sizes: a hint, not a promise.
    ResizeDb {
        /// Keys in the database.
        keys: u64,
        /// Keys with a TTL.
        expires: u64,
    },
    /// A key.
    Entry(RdbEntry),
}
