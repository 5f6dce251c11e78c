//! Errors of the message codec.
//!
//! "Need more bytes" is not an error: [`frame_len`](crate::frame_len) and
//! [`next_frame`](crate::next_frame) return `Ok(None)` for it.
//!
//! Two kinds of error come out of a byte stream, and a node treats them as a
//! Redis 7.0 node does:
//!
//! - [`BusError::BadSignature`] and [`BusError::TooShort`] come from the first
//!   8 bytes of a message: the stream cannot be framed any more, so the link
//!   is closed.
//! - Every other decoding error is about one whole message whose length is
//!   known: the message is dropped and the link kept.

use crate::message::MessageType;
use thiserror::Error;

/// What is wrong with a message, when decoding it or encoding it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BusError {
    /// The message does not start with `RCmb`.
    #[error("bad signature {}: not a cluster bus message", .found.escape_ascii())]
    BadSignature {
        /// The four bytes found instead.
        found: [u8; 4],
    },
    /// The total length announced in the message is less than the fixed
    /// header (2256 bytes).
    #[error("message length {len} is below the 2256-byte header")]
    TooShort {
        /// The announced total length.
        len: u32,
    },
    /// The buffer handed to [`decode`](crate::decode) does not hold exactly
    /// the number of bytes the message announces.
    #[error("message announces {declared} bytes but {actual} were given")]
    LengthMismatch {
        /// The announced total length, or 0 when the buffer is too short to
        /// hold it.
        declared: u32,
        /// The bytes given.
        actual: usize,
    },
    /// The protocol version is not 1.
    #[error("unsupported cluster bus protocol version {0}")]
    UnsupportedVersion(u16),
    /// The message type is none of those Redis 7.0 knows (0..=10). Redis
    /// ignores such a message; so should a node.
    #[error("unknown message type {0}")]
    UnknownType(u16),
    /// The total length is not the one the message's type and contents call
    /// for (gossip count, extension lengths, channel and payload lengths).
    #[error("{kind:?} message of {len} bytes, expected {expected}")]
    BodyLength {
        /// The message type.
        kind: MessageType,
        /// The announced total length.
        len: u32,
        /// The length its contents call for; for a body too short to hold
        /// its own length fields, the least it could be.
        expected: u64,
    },
    /// An extension's header does not fit in what is left of the message.
    #[error("ping extension {index} needs an 8-byte header, {remaining} bytes left")]
    ExtensionMissing {
        /// Index of the extension, from 0.
        index: u16,
        /// Bytes left in the message.
        remaining: usize,
    },
    /// An extension's length is not a multiple of 8, or is shorter than its
    /// own header.
    #[error("ping extension {index} has length {length}, not a positive multiple of 8")]
    ExtensionLength {
        /// Index of the extension, from 0.
        index: u16,
        /// Its announced length.
        length: u32,
    },
    /// An extension runs past the end of the message.
    #[error("ping extension {index} of {length} bytes exceeds the {remaining} bytes left")]
    ExtensionOverrun {
        /// Index of the extension, from 0.
        index: u16,
        /// Its announced length.
        length: u32,
        /// Bytes left in the message.
        remaining: usize,
    },
    /// A hostname extension holds no NUL terminator.
    #[error("hostname extension {index} is not NUL-terminated")]
    HostnameUnterminated {
        /// Index of the extension, from 0.
        index: u16,
    },
    /// A field lies past the end of the message. (The length checks before
    /// it make this unreachable; it exists so that no read can panic.)
    #[error("field at offset {at} lies past the end of a {len}-byte message")]
    Truncated {
        /// Offset of the field.
        at: usize,
        /// Length of the message.
        len: usize,
    },
    /// Encoding: a count or length does not fit its wire field (more than
    /// 65535 gossip entries or extensions, a channel, message or payload of
    /// 4 GiB or more, a whole message of 4 GiB or more).
    #[error("{what} of {len} does not fit in a cluster bus message")]
    TooLarge {
        /// What is too large.
        what: &'static str,
        /// Its size.
        len: u64,
    },
    /// Encoding: a hostname extension contains a NUL byte, which would end it
    /// early on the wire.
    #[error("hostname contains a NUL byte")]
    HostnameNul,
    /// Encoding: an [`Other`](crate::PingExt::Other) extension whose data is
    /// not a multiple of 8 bytes, or whose type is the hostname's.
    #[error("extension of type {kind} with {len} data bytes cannot be encoded as such")]
    BadExtension {
        /// The extension type.
        kind: u16,
        /// Length of its data.
        len: usize,
    },
}
