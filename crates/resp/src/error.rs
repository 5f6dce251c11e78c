//! Errors of the codec.
//!
//! "Need more bytes" is not an error: decoders return `Ok(None)` for it.
//! Everything here means the stream is malformed and the connection should be
//! closed after the error is reported.

use thiserror::Error;

/// A malformed client request, as the request parser of a Redis 7 server sees
/// it.
///
/// `Display` gives Redis' exact text. A server replies with it as an error
/// (`-ERR <text>\r\n`) and then closes the connection, as Redis does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RequestError {
    /// An inline request has no newline within the inline limit (64 KiB by
    /// default).
    #[error("Protocol error: too big inline request")]
    TooBigInlineRequest,
    /// An inline request has an unterminated quote, or a closing quote not
    /// followed by a space.
    #[error("Protocol error: unbalanced quotes in request")]
    UnbalancedQuotes,
    /// The `*<count>` line has no `\r` within the inline limit.
    #[error("Protocol error: too big mbulk count string")]
    TooBigMultibulkCount,
    /// The `*<count>` line is not an integer, or is above the multibulk limit.
    #[error("Protocol error: invalid multibulk length")]
    InvalidMultibulkLength,
    /// More than 10 arguments from a client that must still authenticate.
    #[error("Protocol error: unauthenticated multibulk length")]
    UnauthenticatedMultibulkLength,
    /// A `$<len>` line has no `\r` within the inline limit.
    #[error("Protocol error: too big bulk count string")]
    TooBigBulkCount,
    /// An argument of a multibulk request does not start with `$`.
    #[error("Protocol error: expected '$', got '{}'", printable(*.got))]
    ExpectedDollar {
        /// The byte found where `$` was expected.
        got: u8,
    },
    /// A `$<len>` line is not an integer, is negative, or is above
    /// `proto-max-bulk-len`.
    #[error("Protocol error: invalid bulk length")]
    InvalidBulkLength,
    /// A bulk longer than 16384 bytes from a client that must still
    /// authenticate.
    #[error("Protocol error: unauthenticated bulk length")]
    UnauthenticatedBulkLength,
}

/// Redis formats the offending byte with `%c` and then turns `\r` and `\n`
/// into spaces so the error stays on one line; bytes outside ASCII are shown
/// as their Latin-1 character.
fn printable(b: u8) -> char {
    match b {
        b'\r' | b'\n' => ' ',
        other => char::from(other),
    }
}

/// A malformed RESP2/RESP3 frame (a reply from a server, or any frame read by
/// [`crate::decode_frame`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The first byte of a frame is not a RESP type byte.
    #[error("Protocol error, got {:?} as reply type byte", char::from(*.0))]
    InvalidTypeByte(u8),
    /// A length or integer field is not a valid integer.
    #[error("Protocol error: invalid integer value")]
    InvalidInteger,
    /// A bulk, verbatim or blob error length is negative (other than -1 for a
    /// RESP2 null) or above the configured limit.
    #[error("Protocol error: invalid bulk length")]
    InvalidBulkLength,
    /// An aggregate count is negative (other than -1 for a RESP2 null) or
    /// above the configured limit.
    #[error("Protocol error: invalid multibulk length")]
    InvalidAggregateLength,
    /// A bulk payload is not followed by `\r\n`.
    #[error("Protocol error: bulk payload not terminated by CRLF")]
    MissingCrlf,
    /// A simple string, error or number line is longer than the line limit.
    #[error("Protocol error: line too long")]
    LineTooLong,
    /// A `,` double that is not a number, `inf`, `-inf` or `nan`.
    #[error("Protocol error: invalid double value")]
    InvalidDouble,
    /// A `#` boolean other than `t` or `f`.
    #[error("Protocol error: invalid boolean value")]
    InvalidBoolean,
    /// A `(` big number that is not an optionally signed run of digits.
    #[error("Protocol error: invalid big number value")]
    InvalidBigNumber,
    /// A `_` null with a payload.
    #[error("Protocol error: invalid null value")]
    InvalidNull,
    /// A `=` verbatim string without its three-byte format and `:`.
    #[error("Protocol error: invalid verbatim string")]
    InvalidVerbatim,
    /// RESP3 streamed strings and aggregates (`$?`, `*?`) are not supported.
    #[error("Protocol error: streamed RESP3 types are not supported")]
    StreamedNotSupported,
    /// Aggregates nested deeper than the configured limit.
    #[error("Protocol error: aggregates nested deeper than {0}")]
    TooDeep(usize),
}
