//! # ferrodis-persist
//!
//! Redis 7's on-disk formats: RDB snapshots (reading versions 6 to 11,
//! writing the version Redis 7.0 loads), the `DUMP`/`RESTORE` payload, and the
//! multi-part append-only file (manifest, base and incremental files).
//!
//! What it will hold (the persistence issue fills it in): encoders and
//! decoders over byte slices and `Read`/`Write`, CRC64 (Jones) checksums, LZF
//! compression, and the AOF manifest format.
//!
//! ## Architecture invariants
//!
//! - Decoders take untrusted bytes and never panic, hang or allocate in
//!   proportion to a length field they have not yet validated against the
//!   input: every malformed file is a typed error naming the offset.
//! - Sans-IO where it can be: the node owns files, fsync policy and
//!   background threads.
#![forbid(unsafe_code)]
