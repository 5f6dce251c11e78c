//! Errors of store operations. `Display` is the text Redis replies with.

use thiserror::Error;

/// Why a store operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The key holds a value of another type.
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
    /// A string that must be an integer is not.
    #[error("ERR value is not an integer or out of range")]
    NotInteger,
    /// An increment would overflow a 64-bit integer.
    #[error("ERR increment or decrement would overflow")]
    Overflow,
    /// A hash field that must hold an integer (HINCRBY) does not.
    #[error("ERR hash value is not an integer")]
    HashValueNotInteger,
    /// A hash field that must hold a float (HINCRBYFLOAT) does not.
    #[error("ERR hash value is not a float")]
    HashValueNotFloat,
    /// A string that must be a float is not.
    #[error("ERR value is not a valid float")]
    NotFloat,
    /// A float operation produced NaN or infinity.
    #[error("ERR increment would produce NaN or Infinity")]
    NanOrInfinity,
    /// The key does not exist (RENAME and friends).
    #[error("ERR no such key")]
    NoSuchKey,
    /// A string would grow beyond `proto-max-bulk-len`.
    #[error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")]
    StringTooLong,
    /// The database index is out of range.
    #[error("ERR DB index is out of range")]
    DbIndexOutOfRange,
    /// An index (LSET) is outside the list.
    #[error("ERR index out of range")]
    IndexOutOfRange,
    /// A write was refused because memory is above `maxmemory` and nothing
    /// could be evicted.
    #[error("OOM command not allowed when used memory > 'maxmemory'.")]
    OutOfMemory,
    /// Source and destination are the same object where that is refused.
    #[error("ERR source and destination objects are the same")]
    SameObject,
    /// An invalid expire time was given.
    #[error("ERR invalid expire time in '{0}' command")]
    InvalidExpireTime(&'static str),
    /// A `RESTORE` payload holds a value this store cannot hold.
    #[error("ERR Bad data format")]
    BadDataFormat,
    /// The `BUSYKEY` error of RESTORE and COPY.
    #[error("BUSYKEY Target key name already exists.")]
    BusyKey,
    /// A sorted set score would be NaN (ZADD INCR / ZINCRBY of `inf` and
    /// `-inf`).
    #[error("ERR resulting score is not a number (NaN)")]
    ScoreNotANumber,
    /// The string is not a HyperLogLog (PFADD, PFCOUNT, PFMERGE, PFDEBUG).
    #[error("WRONGTYPE Key is not a valid HyperLogLog string value.")]
    NotHll,
    /// A HyperLogLog's registers do not decode.
    #[error("INVALIDOBJ Corrupted HLL object detected")]
    CorruptHll,
}
