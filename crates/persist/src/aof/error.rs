//! Errors of the AOF command reader and of the manifest parser.

use thiserror::Error;

/// Why an AOF file (or what is left of it after an RDB preamble) cannot be
/// read to its end.
///
/// Redis sorts failures into two classes, and so does this type:
/// [`Truncated`](AofError::Truncated) and
/// [`IncompleteMulti`](AofError::IncompleteMulti) mean the file is a valid
/// prefix that stops early (a crash in the middle of a write); with
/// `aof-load-truncated yes`, and only for the last file of the manifest,
/// Redis cuts the file at [`truncate_to`](AofError::truncate_to) and loads
/// what comes before. [`Corrupt`](AofError::Corrupt) is never forgiven.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AofError {
    /// The input ends inside a command.
    #[error("unexpected end of the AOF; the last complete command ends at byte {offset}")]
    Truncated {
        /// End of the last complete command (0 if there is none): where
        /// Redis truncates the file.
        offset: usize,
    },
    /// The input ends cleanly, but after a `MULTI` whose `EXEC` never came.
    /// Redis reverts the whole transaction: it truncates the file before
    /// the `MULTI`.
    #[error(
        "the AOF ends inside a MULTI/EXEC transaction started at byte \
         {multi_offset}; the commands before it end at byte {offset}"
    )]
    IncompleteMulti {
        /// End of the last complete command before the `MULTI` (annotations
        /// between the two are dropped with it): where Redis truncates.
        offset: usize,
        /// Where the `MULTI` command starts.
        multi_offset: usize,
    },
    /// Bytes that no valid AOF contains at this place.
    #[error("bad AOF format at byte {offset}: {reason}")]
    Corrupt {
        /// Start of the line that is wrong.
        offset: usize,
        /// What is wrong with it.
        reason: AofCorruption,
    },
}

impl AofError {
    /// Where `aof-load-truncated yes` cuts the file for this error, or
    /// `None` for corruption, which nothing forgives.
    pub fn truncate_to(&self) -> Option<usize> {
        match *self {
            AofError::Truncated { offset } | AofError::IncompleteMulti { offset, .. } => {
                Some(offset)
            }
            AofError::Corrupt { .. } => None,
        }
    }
}

/// What is wrong with a line of an AOF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AofCorruption {
    /// A line between commands starts neither with `*` (a command) nor
    /// with `#` (an annotation).
    #[error("expected '*' or '#' at the start of a line")]
    NotACommand,
    /// `*` directly followed by a NUL byte.
    #[error("NUL byte after '*'")]
    NulAfterStar,
    /// The argument count is below 1 (or not a number), as C's `atoi`
    /// reads it.
    #[error("invalid argument count {0}")]
    BadArgCount(i32),
    /// An argument's line does not start with `$`.
    #[error("expected '$' at the start of an argument")]
    NotABulk,
    /// An argument's length is negative (Redis would try to allocate
    /// nearly 2^64 bytes and abort).
    #[error("negative argument length {0}")]
    NegativeLength(i64),
}

/// Why a manifest was refused: the line (counted from 1, as Redis counts
/// them: a line longer than the 1024-byte read buffer counts once per
/// piece) and the reason.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{kind} (AOF manifest line {line})")]
pub struct ManifestError {
    /// The line that is wrong; 0 for [`ManifestErrorKind::Empty`].
    pub line: usize,
    /// What is wrong.
    pub kind: ManifestErrorKind,
}

/// What is wrong with a manifest. The texts are the ones Redis logs,
/// where Redis refuses the manifest too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ManifestErrorKind {
    /// The manifest has no line at all.
    #[error("Found an empty AOF manifest")]
    Empty,
    /// A line that is not a comment has no `\n` within its first 1024
    /// bytes (also a last line without a final newline, or a NUL byte
    /// before the newline).
    #[error("The AOF manifest file contains too long line")]
    LineTooLong,
    /// A blank line, unbalanced quotes, fewer than 6 or an odd number of
    /// words, or a missing (or zero) `file`, `seq` or `type`.
    #[error("Invalid AOF manifest file format")]
    InvalidFormat,
    /// A file name containing `/` or `\`.
    #[error("File can't be a path, just a filename")]
    NotABaseName,
    /// Two lines of type `b`.
    #[error("Found duplicate base file information")]
    DuplicateBase,
    /// An incremental file whose sequence number is not above the
    /// previous incremental file's.
    #[error("Found a non-monotonic sequence number")]
    NonMonotonicSeq,
    /// A type other than `b`, `h` or `i`.
    #[error("Unknown AOF file type")]
    UnknownType(u8),
    /// A negative sequence number. Redis accepts these (it reads a signed
    /// number); Redis never writes one, and this parser refuses them.
    #[error("negative sequence number")]
    NegativeSeq,
    /// A file name that is not UTF-8 once unquoted. Redis accepts any
    /// bytes; this parser keeps names as `String`s and refuses them.
    #[error("file name is not UTF-8")]
    NonUtf8Name,
}
