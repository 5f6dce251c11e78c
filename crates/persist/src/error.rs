//! Errors of the RDB object decoder and of the DUMP payload. Where an error
//! reaches a client (`RESTORE`), its `Display` is Redis' exact text; the
//! detail, with the offset of what is wrong, is its `source()`.

use thiserror::Error;

/// Why a `RESTORE` payload was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DumpError {
    /// The payload is shorter than its 10-byte footer.
    #[error("ERR DUMP payload version or checksum are wrong")]
    TooShort,
    /// The footer names an RDB version newer than the one Redis 7.0 writes.
    #[error("ERR DUMP payload version or checksum are wrong")]
    Version {
        /// The RDB version the footer names.
        found: u16,
    },
    /// The CRC64 in the footer is not the checksum of the payload.
    #[error("ERR DUMP payload version or checksum are wrong")]
    Checksum {
        /// The checksum stored in the footer.
        stored: u64,
        /// The checksum of the bytes before it.
        computed: u64,
    },
    /// The footer is right but the object is not a valid RDB object.
    #[error("ERR Bad data format")]
    BadData(#[source] RdbError),
}

/// A malformed RDB object: what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{what} at offset {offset}")]
pub struct RdbError {
    /// Offset in the decoded input of the item that is wrong (for an
    /// encoded blob such as a listpack, the offset of the blob's string).
    pub offset: usize,
    /// What is wrong.
    pub what: Corruption,
}

/// What is wrong with an RDB object.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Corruption {
    /// The input ends inside an item.
    #[error("unexpected end of input")]
    Truncated,
    /// The type byte is not an RDB object type.
    #[error("unknown object type {0}")]
    UnknownType(u8),
    /// A stream or module value, which this decoder does not hold.
    #[error("unsupported object type {0}")]
    UnsupportedType(u8),
    /// A length prefix with an unknown encoding.
    #[error("unknown length encoding {0:#04x}")]
    LengthEncoding(u8),
    /// A string with an unknown special encoding.
    #[error("unknown string encoding {0}")]
    StringEncoding(u64),
    /// A length larger than the input could possibly hold.
    #[error("length {0} exceeds the input")]
    TooLong(u64),
    /// LZF data that does not decompress to its stated length.
    #[error("LZF data does not decompress to {0} bytes")]
    Lzf(u64),
    /// An invalid listpack; the first field is the offset inside it.
    #[error("invalid listpack at byte {0}: {1}")]
    Listpack(usize, &'static str),
    /// An invalid ziplist; the first field is the offset inside it.
    #[error("invalid ziplist at byte {0}: {1}")]
    Ziplist(usize, &'static str),
    /// An invalid zipmap; the first field is the offset inside it.
    #[error("invalid zipmap at byte {0}: {1}")]
    Zipmap(usize, &'static str),
    /// An invalid intset.
    #[error("invalid intset: {0}")]
    Intset(&'static str),
    /// A quicklist node container that is neither plain (1) nor packed (2).
    #[error("unknown quicklist container {0}")]
    Container(u64),
    /// A quicklist node with no data.
    #[error("empty quicklist node")]
    EmptyNode,
    /// A collection with no element (Redis refuses empty keys).
    #[error("empty collection")]
    Empty,
    /// A set member, hash field or sorted set member given twice.
    #[error("duplicate member or field")]
    Duplicate,
    /// An odd number of entries where pairs are expected.
    #[error("odd number of entries in a pair encoding")]
    OddPairs,
    /// A sorted set score that is NaN.
    #[error("NaN score")]
    NanScore,
    /// A sorted set score that is not a number.
    #[error("invalid score")]
    BadScore,
}

/// What is wrong inside an encoded blob (listpack, ziplist, zipmap): the
/// offset inside the blob and a description.
pub(crate) type BlobError = (usize, &'static str);

impl RdbError {
    pub(crate) fn new(offset: usize, what: Corruption) -> RdbError {
        RdbError { offset, what }
    }
}
