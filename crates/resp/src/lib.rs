//! # ferrodis-resp
//!
//! The Redis serialization protocol, RESP2 and RESP3, as Redis 7 speaks it:
//! an incremental, zero-copy decoder for both directions and an encoder with a
//! fast path for replies.
//!
//! - **Servers** read requests with [`RequestDecoder`]: multibulk requests and
//!   inline commands (`PING\r\n`, `set a "b c"\r\n`), with Redis' limits and
//!   its exact protocol error texts ([`RequestError`]). Replies go out through
//!   the [`reply`] functions, which write straight into the output buffer in
//!   the connection's [`Protocol`].
//! - **Clients** read replies with [`FrameDecoder`], which understands every
//!   RESP2 and RESP3 type ([`Frame`]), and write requests with
//!   [`Frame::command`] and [`Frame::encode`].
//!
//! Both decoders work on a `BytesMut` read buffer: a partial frame yields
//! `Ok(None)` and leaves the buffer alone; a complete one is split off the
//! buffer, and its payloads are `Bytes` sharing that memory.
//!
//! ```
//! use bytes::BytesMut;
//! use ferrodis_resp::{reply, Protocol, RequestDecoder};
//!
//! let mut decoder = RequestDecoder::default();
//! let mut input = BytesMut::from(&b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n"[..]);
//! let args = decoder.decode(&mut input).unwrap().unwrap();
//! assert_eq!(args, vec!["SET", "key", "value"]);
//!
//! let mut output = BytesMut::new();
//! reply::ok(&mut output);
//! assert_eq!(&output[..], b"+OK\r\n");
//! ```
//!
//! # Layout
//!
//! - `request`: the server's request parser ([`RequestDecoder`]).
//! - `inline`: inline-command argument splitting ([`split_args`]).
//! - `decode`: the RESP2/RESP3 frame decoder ([`FrameDecoder`]).
//! - `encode`: [`Frame::encode`] and the [`reply`] fast path.
//! - `frame`: the [`Frame`] tree and [`Protocol`].
//! - `limits`: [`Limits`] with Redis' defaults.
//! - `num`: Redis' strict integer syntax ([`parse_i64`]).
//! - `error`: [`RequestError`] and [`FrameError`].
//!
//! # Architecture invariants
//!
//! - Depends on no other workspace crate.
//! - Never panics, never loops forever and never allocates in proportion to a
//!   length it has not seen the bytes for, whatever the input: fuzzed in
//!   `fuzz/` and property-tested.
//! - Does no I/O: it only turns bytes into values and values into bytes.
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod decode;
mod encode;
mod error;
mod frame;
mod inline;
mod limits;
mod num;
mod request;

pub use decode::{decode_frame, FrameDecoder};
pub use encode::reply;
pub use error::{FrameError, RequestError};
pub use frame::{Frame, Protocol};
pub use inline::split_args;
pub use limits::{
    Limits, DEFAULT_MAX_BULK_LEN, DEFAULT_MAX_DEPTH, DEFAULT_MAX_INLINE_LEN,
    DEFAULT_MAX_MULTIBULK_LEN, UNAUTHENTICATED_MAX_BULK_LEN, UNAUTHENTICATED_MAX_MULTIBULK_LEN,
};
pub use num::parse_i64;
pub use request::{Request, RequestDecoder};
