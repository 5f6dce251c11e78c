//! Errors of the RDB object decoder, of the DUMP payload and of the RDB
//! file reader. Where an error reaches a client (`RESTORE`), its `Display`
//! is Redis' exact text; the detail, with the offset of what is wrong, is
//! its `source()`.

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

/// Why an RDB file (or what is read of it so far) was refused. Offsets
/// count from the file's first byte.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RdbFileError {
    /// The file does not start with `REDIS` and four decimal digits.
    #[error("not an RDB file: no REDIS signature")]
    BadMagic,
    /// The version in the header is outside 1..=11.
    #[error("can't handle RDB format version {0}")]
    Version(u16),
    /// The file ends inside an item (or before its checksum).
    #[error("RDB file truncated at offset {offset}")]
    Truncated {
        /// Where the missing bytes were expected.
        offset: usize,
    },
    /// A byte where an opcode or object type is expected that is neither.
    #[error("unknown RDB opcode or object type {opcode} at offset {offset}")]
    UnknownOpcode {
        /// Offset of the byte.
        offset: usize,
        /// The byte.
        opcode: u8,
    },
    /// A key or value that is not valid (its type, encoding or contents).
    #[error(transparent)]
    Object(RdbError),
    /// The file holds function libraries (`FUNCTION LOAD`); Ferrodis has
    /// no functions, so it cannot load them.
    #[error(
        "the RDB file holds a function library at offset {offset}, and Ferrodis has no functions"
    )]
    Functions {
        /// Offset of the function opcode.
        offset: usize,
    },
    /// The file holds module auxiliary data; Ferrodis has no modules.
    #[error("the RDB file holds module data at offset {offset}, and Ferrodis has no modules")]
    ModuleAux {
        /// Offset of the module aux opcode.
        offset: usize,
    },
    /// The CRC64 after the EOF opcode is neither 0 (not computed) nor the
    /// checksum of the bytes before it.
    #[error("RDB CRC error: stored {stored:#018x}, computed {computed:#018x}")]
    Checksum {
        /// The checksum in the file.
        stored: u64,
        /// The checksum of the bytes before it.
        computed: u64,
    },
}

impl RdbFileError {
    /// The offset in the file of what is wrong, when the error names one.
    pub fn offset(&self) -> Option<usize> {
        match self {
            RdbFileError::Truncated { offset }
            | RdbFileError::UnknownOpcode { offset, .. }
            | RdbFileError::Functions { offset }
            | RdbFileError::ModuleAux { offset } => Some(*offset),
            RdbFileError::Object(e) => Some(e.offset),
            RdbFileError::BadMagic | RdbFileError::Version(_) | RdbFileError::Checksum { .. } => {
                None
            }
        }
    }
}

/// A short read is [`RdbFileError::Truncated`]; everything else about a key
/// or value is [`RdbFileError::Object`].
impl From<RdbError> for RdbFileError {
    fn from(e: RdbError) -> RdbFileError {
        match e.what {
            Corruption::Truncated => RdbFileError::Truncated { offset: e.offset },
            _ => RdbFileError::Object(e),
        }
    }
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
