//! # ferrodis-persist
//!
//! Redis 7's on-disk formats: RDB snapshots (reading versions 1 to 11,
//! writing the version Redis 7.0 loads), the `DUMP`/`RESTORE` payload, and the
//! multi-part append-only file (manifest, base and incremental files).
//!
//! It holds the RDB object encoding, the `DUMP` payload and the RDB file
//! built on it ([`RdbReader`], [`RdbWriter`]), and the multi-part AOF
//! ([`Manifest`], [`AofReader`]).
//!
//! ```
//! use ferrodis_persist::{EncodeOptions, Encoding, RdbObject, RdbValue};
//!
//! let obj = RdbObject {
//!     value: RdbValue::Hash(vec![(b"field".to_vec(), b"42".to_vec())]),
//!     encoding: Encoding::Compact,
//! };
//! let payload = obj.to_dump(&EncodeOptions::default());
//! assert_eq!(RdbObject::from_dump(&payload), Ok(obj));
//! ```
//!
//! # Layout
//!
//! - `aof`: the multi-part append-only file: [`Manifest`], [`AofReader`],
//!   [`encode_command`] (`docs/formats/aof.md`).
//! - `object`: [`RdbValue`], [`RdbObject`] and the RDB object types: what
//!   `rdbSaveObject` writes and `rdbLoadObject` reads.
//! - `dump`: the `DUMP` payload (object, RDB version, CRC64).
//! - `rdb`: the RDB file: [`RdbReader`] over a file in memory,
//!   [`RdbWriter`] appending to the caller's buffer, the opcodes, and
//!   [`RdbEntry`]/[`RdbItem`], what a file holds.
//! - `primitives`: length prefixes, strings (integer and LZF encodings),
//!   doubles.
//! - `listpack`, `intset`, `ziplist`, `zipmap`: the compact encodings
//!   (ziplist and zipmap read only).
//! - [`lzf`] and [`crc64`](mod@crc64): compression and checksum, as Redis
//!   computes them.
//! - `num`: integers and doubles as text, as Redis formats them.
//!
//! The byte layouts are drawn in `docs/formats/rdb.md`.
//!
//! ## Architecture invariants
//!
//! - Decoders take untrusted bytes and never panic, hang or allocate in
//!   proportion to a length field they have not yet validated against the
//!   input: every malformed file is a typed error naming the offset.
//! - Sans-IO where it can be: the node owns files, fsync policy and
//!   background threads.
//! - No dependency on `ferrodis-store`: values cross the boundary as
//!   [`RdbValue`], and the store converts.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

mod aof;
pub mod crc64;
mod dump;
mod error;
mod intset;
mod listpack;
pub mod lzf;
mod num;
mod object;
mod primitives;
mod rdb;
mod ziplist;
mod zipmap;

pub use aof::{
    encode_command, encode_select, encode_timestamp_annotation, starts_with_rdb_preamble,
    AofCommand, AofCorruption, AofError, AofFileInfo, AofFileKind, AofReader, Manifest,
    ManifestError, ManifestErrorKind, AOF_LINE_BUFFER, MANIFEST_MAX_LINE,
};
pub use dump::{verify, FOOTER_SIZE, RDB_VERSION};
pub use error::{Corruption, DumpError, RdbError, RdbFileError};
pub use object::{
    encode_list, EncodeOptions, Encoding, RdbObject, RdbValue, QUICKLIST_NODE_PACKED,
    QUICKLIST_NODE_PLAIN, TYPE_HASH, TYPE_HASH_LISTPACK, TYPE_HASH_ZIPLIST, TYPE_HASH_ZIPMAP,
    TYPE_LIST, TYPE_LIST_QUICKLIST, TYPE_LIST_QUICKLIST_2, TYPE_LIST_ZIPLIST, TYPE_MODULE,
    TYPE_MODULE_2, TYPE_SET, TYPE_SET_INTSET, TYPE_SET_LISTPACK, TYPE_STREAM_LISTPACKS,
    TYPE_STREAM_LISTPACKS_2, TYPE_STREAM_LISTPACKS_3, TYPE_STRING, TYPE_ZSET, TYPE_ZSET_2,
    TYPE_ZSET_LISTPACK, TYPE_ZSET_ZIPLIST,
};
pub use rdb::{
    RdbEntry, RdbEntryRef, RdbItem, RdbItemRef, RdbReader, RdbWriter, ReplAux, StandardAux,
    WriteOptions, AUX_AOF_BASE, AUX_CTIME, AUX_REDIS_BITS, AUX_REDIS_VER, AUX_REPL_ID,
    AUX_REPL_OFFSET, AUX_REPL_STREAM_DB, AUX_USED_MEM, OPCODE_AUX, OPCODE_EOF, OPCODE_EXPIRETIME,
    OPCODE_EXPIRETIME_MS, OPCODE_FREQ, OPCODE_FUNCTION, OPCODE_FUNCTION2, OPCODE_IDLE,
    OPCODE_MODULE_AUX, OPCODE_RESIZEDB, OPCODE_SELECTDB, RDB_CHECKSUM_SIZE, RDB_CHECKSUM_VERSION,
    RDB_HEADER_SIZE, RDB_MAGIC, RDB_MAX_VERSION, RDB_MIN_VERSION,
};
