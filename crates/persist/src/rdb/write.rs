//! [`RdbWriter`]: an RDB file appended to the caller's buffer.

use crate::crc64::crc64;
use crate::num;
use crate::object::{EncodeOptions, RdbObject};
use crate::primitives::{write_len, write_string};

use super::{
    AUX_AOF_BASE, AUX_CTIME, AUX_REDIS_BITS, AUX_REDIS_VER, AUX_REPL_ID, AUX_REPL_OFFSET,
    AUX_REPL_STREAM_DB, AUX_USED_MEM, OPCODE_AUX, OPCODE_EOF, OPCODE_EXPIRETIME_MS, OPCODE_FREQ,
    OPCODE_IDLE, OPCODE_RESIZEDB, OPCODE_SELECTDB, RDB_CHECKSUM_SIZE, RDB_MAGIC,
};

/// How an RDB file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    /// `rdbcompression`: LZF-compress keys, values and auxiliary fields
    /// longer than 20 bytes when that saves space. This setting wins over
    /// `encode.compression`.
    pub compression: bool,
    /// `rdbchecksum`: end the file with its CRC64 (otherwise 8 zero bytes,
    /// which readers take as "not computed").
    pub checksum: bool,
    /// How values are encoded (`list-max-listpack-size`); its
    /// `compression` is replaced by [`WriteOptions::compression`].
    pub encode: EncodeOptions,
}

impl Default for WriteOptions {
    /// Redis' defaults: compression and checksum on.
    fn default() -> Self {
        WriteOptions {
            compression: true,
            checksum: true,
            encode: EncodeOptions::default(),
        }
    }
}

/// The auxiliary fields Redis 7.0 writes at the start of every RDB file
/// (`rdbSaveInfoAuxFields`), for [`RdbWriter::standard_aux`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StandardAux<'a> {
    /// `redis-ver`: the Redis version this server claims, e.g. `"7.0.15"`.
    pub redis_ver: &'a str,
    /// `ctime`: now, unix time in seconds.
    pub ctime: i64,
    /// `used-mem`: the server's memory use in bytes.
    pub used_mem: u64,
    /// `repl-stream-db`, `repl-id`, `repl-offset`: written for replication
    /// and by a server that has replication state to keep.
    pub repl: Option<ReplAux<'a>>,
    /// `aof-base`: whether the file is the base of a multi-part AOF.
    pub aof_base: bool,
}

/// The replication fields of [`StandardAux`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplAux<'a> {
    /// The database the replication stream has selected.
    pub stream_db: i64,
    /// The replication ID (40 hex characters).
    pub id: &'a str,
    /// The replication offset.
    pub offset: i64,
}

/// Writes an RDB file of version [`RdbWriter::VERSION`] without doing any
/// I/O: every call appends to the caller's `Vec<u8>` and folds what it
/// appended into the running CRC64, so the caller may write the buffer to
/// disk and clear it between calls.
///
/// A file is: [`RdbWriter::new`] (the header), auxiliary fields (see
/// [`RdbWriter::standard_aux`]), then for each non-empty database
/// [`RdbWriter::select_db`] and its keys ([`RdbWriter::entry`]), then
/// [`RdbWriter::finish`].
#[derive(Debug, Clone)]
pub struct RdbWriter {
    compression: bool,
    checksum: bool,
    encode: EncodeOptions,
    crc: u64,
    written: u64,
}

impl RdbWriter {
    /// The RDB version written: what Redis 7.0 writes and the newest it
    /// loads.
    pub const VERSION: u16 = 10;

    /// Starts a file: appends the header `REDIS0010`.
    pub fn new(opts: WriteOptions, out: &mut Vec<u8>) -> RdbWriter {
        let mut w = RdbWriter {
            compression: opts.compression,
            checksum: opts.checksum,
            encode: EncodeOptions {
                compression: opts.compression,
                ..opts.encode
            },
            crc: 0,
            written: 0,
        };
        w.append(out, |o| {
            o.extend_from_slice(RDB_MAGIC);
            o.extend_from_slice(format!("{:04}", RdbWriter::VERSION).as_bytes());
        });
        w
    }

    /// A writer for a fragment of a file: no header, no checksum. What
    /// its [`RdbWriter::entry`] calls append is spliced into a file with
    /// [`RdbWriter::append_encoded`], so that keys can be encoded on
    /// several threads and written in order.
    pub fn fragment(opts: WriteOptions) -> RdbWriter {
        RdbWriter {
            compression: opts.compression,
            checksum: false,
            encode: EncodeOptions {
                compression: opts.compression,
                ..opts.encode
            },
            crc: 0,
            written: 0,
        }
    }

    /// Appends bytes a [`RdbWriter::fragment`] with the same options
    /// produced, folding them into this file's checksum.
    pub fn append_encoded(&mut self, out: &mut Vec<u8>, bytes: &[u8]) {
        self.append(out, |o| o.extend_from_slice(bytes));
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Appends an auxiliary field.
    pub fn aux(&mut self, out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
        let z = self.compression;
        self.append(out, |o| {
            o.push(OPCODE_AUX);
            write_string(o, key, z);
            write_string(o, value, z);
        });
    }

    /// Appends the auxiliary fields Redis 7.0 writes, in its order:
    /// `redis-ver`, `redis-bits` (this build's pointer width), `ctime`,
    /// `used-mem`, the replication fields when given, `aof-base`.
    pub fn standard_aux(&mut self, out: &mut Vec<u8>, aux: &StandardAux<'_>) {
        let int = |n: i64| num::i64_text(n);
        self.aux(out, AUX_REDIS_VER.as_bytes(), aux.redis_ver.as_bytes());
        self.aux(out, AUX_REDIS_BITS.as_bytes(), &int(i64::from(usize::BITS)));
        self.aux(out, AUX_CTIME.as_bytes(), &int(aux.ctime));
        self.aux(
            out,
            AUX_USED_MEM.as_bytes(),
            aux.used_mem.to_string().as_bytes(),
        );
        if let Some(repl) = aux.repl {
            self.aux(out, AUX_REPL_STREAM_DB.as_bytes(), &int(repl.stream_db));
            self.aux(out, AUX_REPL_ID.as_bytes(), repl.id.as_bytes());
            self.aux(out, AUX_REPL_OFFSET.as_bytes(), &int(repl.offset));
        }
        self.aux(out, AUX_AOF_BASE.as_bytes(), &int(i64::from(aux.aof_base)));
    }

    /// Appends `SELECTDB db` and `RESIZEDB keys expires`: the keys that
    /// follow belong to `db`, which holds `keys` keys, `expires` of them
    /// with a TTL. Redis writes this only for non-empty databases.
    pub fn select_db(&mut self, out: &mut Vec<u8>, db: u64, keys: u64, expires: u64) {
        self.append(out, |o| {
            o.push(OPCODE_SELECTDB);
            write_len(o, db);
            o.push(OPCODE_RESIZEDB);
            write_len(o, keys);
            write_len(o, expires);
        });
    }

    /// Appends a key: its expiry (unix time in milliseconds, capped at
    /// `i64::MAX`), LRU idle time in seconds and LFU counter when given,
    /// then the object's type, the key and the object.
    pub fn entry(
        &mut self,
        out: &mut Vec<u8>,
        key: &[u8],
        object: &RdbObject,
        expire_at_ms: Option<u64>,
        idle_seconds: Option<u64>,
        freq: Option<u8>,
    ) {
        let z = self.compression;
        let encode = self.encode;
        self.append(out, |o| {
            if let Some(ms) = expire_at_ms {
                o.push(OPCODE_EXPIRETIME_MS);
                let ms = i64::try_from(ms).unwrap_or(i64::MAX);
                o.extend_from_slice(&ms.to_le_bytes());
            }
            if let Some(idle) = idle_seconds {
                o.push(OPCODE_IDLE);
                write_len(o, idle);
            }
            if let Some(f) = freq {
                o.push(OPCODE_FREQ);
                o.push(f);
            }
            let rdb_type = object.rdb_type();
            o.push(rdb_type);
            write_string(o, key, z);
            object.encode_body(rdb_type, o, &encode);
        });
    }

    /// Ends the file: the EOF opcode, then the CRC64 of every byte before
    /// it, little endian (8 zero bytes when the checksum is off).
    pub fn finish(mut self, out: &mut Vec<u8>) {
        self.append(out, |o| o.push(OPCODE_EOF));
        let crc = if self.checksum { self.crc } else { 0 };
        let bytes: [u8; RDB_CHECKSUM_SIZE] = crc.to_le_bytes();
        out.extend_from_slice(&bytes);
    }

    /// Runs `f` on `out` and accounts for what it appended.
    fn append(&mut self, out: &mut Vec<u8>, f: impl FnOnce(&mut Vec<u8>)) {
        let start = out.len();
        f(out);
        let new = out.get(start..).unwrap_or_default();
        if self.checksum {
            self.crc = crc64(self.crc, new);
        }
        self.written += new.len() as u64;
    }
}
