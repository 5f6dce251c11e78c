//! Redis 7's multi-part append-only file, without I/O.
//!
//! An AOF directory (`appenddirname`, by default `appendonlydir`) holds a
//! manifest naming the files that make up the AOF: at most one base file
//! (an RDB, or commands, written by the last rewrite), then incremental
//! files of commands written since, loaded in order. Files made obsolete
//! by a rewrite stay listed as history until deleted.
//!
//! - [`Manifest`]: parsing and writing the manifest, the file-naming rules
//!   and the rewrite steps (`manifest`).
//! - [`AofReader`]: the commands of one file, with Redis' verdicts on a
//!   file that ends early or holds garbage (`reader`).
//! - [`encode_command`]: commands as Redis appends them.
//!
//! The caller owns the files: it reads them whole, opens, appends,
//! fsyncs, renames and deletes. The layout and the rules are described in
//! `docs/formats/aof.md`.

mod cstr;
mod error;
mod manifest;
mod reader;

pub use error::{AofCorruption, AofError, ManifestError, ManifestErrorKind};
pub use manifest::{AofFileInfo, AofFileKind, Manifest, MANIFEST_MAX_LINE};
pub use reader::{AofCommand, AofReader, AOF_LINE_BUFFER};

/// The magic at the start of an RDB file.
const RDB_MAGIC: &[u8; 5] = b"REDIS";

/// Whether a file starts with an RDB (the magic `REDIS`): a base file written
/// with `aof-use-rdb-preamble yes`, or a legacy single-file AOF with an
/// RDB preamble. Redis then loads the RDB and reads commands from where it
/// ends ([`AofReader::starting_at`]).
pub fn starts_with_rdb_preamble(bytes: &[u8]) -> bool {
    bytes.starts_with(RDB_MAGIC)
}

/// Appends one command in the form Redis appends to the AOF (and sends to
/// replicas): `*<argc>\r\n`, then `$<len>\r\n<bytes>\r\n` per argument.
///
/// ```
/// let mut out = Vec::new();
/// ferrodis_persist::encode_command(&mut out, &["SET", "k", "v"]);
/// assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
/// ```
pub fn encode_command<A: AsRef<[u8]>>(out: &mut Vec<u8>, argv: &[A]) {
    push_header(out, b'*', argv.len());
    for arg in argv {
        let arg = arg.as_ref();
        push_header(out, b'$', arg.len());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// Appends the `SELECT <db>` Redis writes before a command for another
/// database than the previous command's (and before the first command of
/// every new incremental file).
pub fn encode_select(out: &mut Vec<u8>, db: u32) {
    encode_command(out, &[b"SELECT".as_slice(), db.to_string().as_bytes()]);
}

/// Appends the annotation `#TS:<unix seconds>\r\n` Redis writes, with
/// `aof-timestamp-enabled yes`, before the first command of each second
/// (loading skips it).
pub fn encode_timestamp_annotation(out: &mut Vec<u8>, unix_seconds: i64) {
    out.extend_from_slice(b"#TS:");
    out.extend_from_slice(unix_seconds.to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn push_header(out: &mut Vec<u8>, kind: u8, n: usize) {
    out.push(kind);
    out.extend_from_slice(n.to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
}
