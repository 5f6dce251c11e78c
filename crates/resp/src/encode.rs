//! Encoding: whole [`Frame`] trees, and the reply fast path.
//!
//! A server mostly answers with one short reply per command. The functions in
//! [`reply`] write such replies straight into the output buffer, choosing the
//! RESP2 or RESP3 form from the connection's [`crate::Protocol`], without building a
//! [`Frame`].

use bytes::{BufMut, BytesMut};

use crate::frame::Frame;
use crate::num::format_i64;

/// `<type><n>\r\n`
#[inline]
fn header(dst: &mut BytesMut, type_byte: u8, n: i64) {
    let mut digits = [0u8; 20];
    let digits = format_i64(n, &mut digits);
    dst.reserve(digits.len() + 3);
    dst.put_u8(type_byte);
    dst.put_slice(digits);
    dst.put_slice(b"\r\n");
}

/// Lengths are at most `isize::MAX`, so they always fit in `i64`.
#[inline]
fn len_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `<type><text>\r\n`, with any `\r` or `\n` in `text` turned into a space so
/// the line cannot break the stream (Redis does the same for error replies).
fn line(dst: &mut BytesMut, type_byte: u8, text: &[u8]) {
    dst.reserve(text.len() + 3);
    dst.put_u8(type_byte);
    if text.iter().any(|&b| b == b'\r' || b == b'\n') {
        dst.extend(
            text.iter()
                .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
    } else {
        dst.put_slice(text);
    }
    dst.put_slice(b"\r\n");
}

/// `<type><len>\r\n<data>\r\n`
#[inline]
fn blob(dst: &mut BytesMut, type_byte: u8, data: &[u8]) {
    header(dst, type_byte, len_i64(data.len()));
    dst.reserve(data.len() + 2);
    dst.put_slice(data);
    dst.put_slice(b"\r\n");
}

/// Formats a double the way it is sent: `inf`, `-inf`, `nan`, or the
/// shortest text that reads back as the same value.
pub(crate) fn format_double(d: f64) -> String {
    if d.is_nan() {
        "nan".to_owned()
    } else if d.is_infinite() {
        if d > 0.0 { "inf" } else { "-inf" }.to_owned()
    } else {
        // `{:?}` is the shortest round-tripping form and switches to exponent
        // notation for very large or small magnitudes.
        format!("{d:?}")
    }
}

impl Frame {
    /// Appends this frame's RESP encoding to `dst`.
    ///
    /// Simple strings and errors cannot hold `\r` or `\n`; any such byte is
    /// written as a space.
    pub fn encode(&self, dst: &mut BytesMut) {
        match self {
            Frame::Simple(s) => line(dst, b'+', s),
            Frame::Error(s) => line(dst, b'-', s),
            Frame::Integer(n) => header(dst, b':', *n),
            Frame::Bulk(b) => blob(dst, b'$', b),
            Frame::NullBulk => dst.extend_from_slice(b"$-1\r\n"),
            Frame::NullArray => dst.extend_from_slice(b"*-1\r\n"),
            Frame::Null => dst.extend_from_slice(b"_\r\n"),
            Frame::Double(d) => line(dst, b',', format_double(*d).as_bytes()),
            Frame::Boolean(b) => dst.extend_from_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
            Frame::BigNumber(n) => line(dst, b'(', n),
            Frame::Verbatim { format, data } => {
                header(dst, b'=', len_i64(data.len() + 4));
                dst.reserve(data.len() + 6);
                dst.put_slice(format);
                dst.put_u8(b':');
                dst.put_slice(data);
                dst.put_slice(b"\r\n");
            }
            Frame::BlobError(b) => blob(dst, b'!', b),
            Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
                let t = match self {
                    Frame::Array(_) => b'*',
                    Frame::Set(_) => b'~',
                    _ => b'>',
                };
                header(dst, t, len_i64(items.len()));
                for item in items {
                    item.encode(dst);
                }
            }
            Frame::Map(pairs) => {
                header(dst, b'%', len_i64(pairs.len()));
                encode_pairs(dst, pairs);
            }
            Frame::Attribute { attributes, value } => {
                header(dst, b'|', len_i64(attributes.len()));
                encode_pairs(dst, attributes);
                value.encode(dst);
            }
        }
    }

    /// This frame's encoding as a new buffer.
    pub fn to_bytes(&self) -> BytesMut {
        let mut out = BytesMut::new();
        self.encode(&mut out);
        out
    }
}

fn encode_pairs(dst: &mut BytesMut, pairs: &[(Frame, Frame)]) {
    for (k, v) in pairs {
        k.encode(dst);
        v.encode(dst);
    }
}

/// The reply fast path: write one reply, or the header of an aggregate reply,
/// directly into the output buffer.
///
/// ```
/// use bytes::BytesMut;
/// use ferrodis_resp::{reply, Protocol};
///
/// let mut out = BytesMut::new();
/// reply::ok(&mut out);
/// reply::integer(&mut out, 42);
/// reply::bulk(&mut out, b"bar");
/// reply::null(&mut out, Protocol::Resp2);
/// reply::map_len(&mut out, 1, Protocol::Resp2);
/// assert_eq!(&out[..], b"+OK\r\n:42\r\n$3\r\nbar\r\n$-1\r\n*2\r\n");
/// ```
pub mod reply {
    use super::{blob, format_double, header, len_i64, line};
    use crate::frame::Protocol;
    use bytes::BytesMut;

    /// `+OK\r\n`
    #[inline]
    pub fn ok(dst: &mut BytesMut) {
        dst.extend_from_slice(b"+OK\r\n");
    }

    /// `+<text>\r\n`
    #[inline]
    pub fn simple(dst: &mut BytesMut, text: &[u8]) {
        line(dst, b'+', text);
    }

    /// `-<text>\r\n`. `text` includes the error code, e.g.
    /// `ERR unknown command` or `WRONGTYPE Operation against ...`.
    #[inline]
    pub fn error(dst: &mut BytesMut, text: &[u8]) {
        line(dst, b'-', text);
    }

    /// `:<n>\r\n`
    #[inline]
    pub fn integer(dst: &mut BytesMut, n: i64) {
        header(dst, b':', n);
    }

    /// `$<len>\r\n<data>\r\n`
    #[inline]
    pub fn bulk(dst: &mut BytesMut, data: &[u8]) {
        blob(dst, b'$', data);
    }

    /// A missing value: `$-1` in RESP2, `_` in RESP3.
    #[inline]
    pub fn null(dst: &mut BytesMut, proto: Protocol) {
        dst.extend_from_slice(match proto {
            Protocol::Resp2 => b"$-1\r\n",
            Protocol::Resp3 => b"_\r\n",
        });
    }

    /// A missing aggregate: `*-1` in RESP2, `_` in RESP3.
    #[inline]
    pub fn null_array(dst: &mut BytesMut, proto: Protocol) {
        dst.extend_from_slice(match proto {
            Protocol::Resp2 => b"*-1\r\n",
            Protocol::Resp3 => b"_\r\n",
        });
    }

    /// `*<n>\r\n`, to be followed by `n` replies.
    #[inline]
    pub fn array_len(dst: &mut BytesMut, n: usize) {
        header(dst, b'*', len_i64(n));
    }

    /// A map of `n` pairs: `%<n>` in RESP3, a flat array `*<2n>` in RESP2.
    #[inline]
    pub fn map_len(dst: &mut BytesMut, n: usize, proto: Protocol) {
        match proto {
            Protocol::Resp2 => header(dst, b'*', len_i64(n.saturating_mul(2))),
            Protocol::Resp3 => header(dst, b'%', len_i64(n)),
        }
    }

    /// A set of `n` members: `~<n>` in RESP3, `*<n>` in RESP2.
    #[inline]
    pub fn set_len(dst: &mut BytesMut, n: usize, proto: Protocol) {
        let t = match proto {
            Protocol::Resp2 => b'*',
            Protocol::Resp3 => b'~',
        };
        header(dst, t, len_i64(n));
    }

    /// An out-of-band push of `n` items: `><n>` in RESP3, `*<n>` in RESP2.
    #[inline]
    pub fn push_len(dst: &mut BytesMut, n: usize, proto: Protocol) {
        let t = match proto {
            Protocol::Resp2 => b'*',
            Protocol::Resp3 => b'>',
        };
        header(dst, t, len_i64(n));
    }

    /// A double: `,<d>` in RESP3, a bulk string in RESP2.
    pub fn double(dst: &mut BytesMut, d: f64, proto: Protocol) {
        let text = format_double(d);
        match proto {
            Protocol::Resp2 => blob(dst, b'$', text.as_bytes()),
            Protocol::Resp3 => line(dst, b',', text.as_bytes()),
        }
    }

    /// A boolean: `#t`/`#f` in RESP3, `:1`/`:0` in RESP2.
    #[inline]
    pub fn boolean(dst: &mut BytesMut, b: bool, proto: Protocol) {
        dst.extend_from_slice(match (proto, b) {
            (Protocol::Resp2, true) => b":1\r\n",
            (Protocol::Resp2, false) => b":0\r\n",
            (Protocol::Resp3, true) => b"#t\r\n",
            (Protocol::Resp3, false) => b"#f\r\n",
        });
    }

    /// Text with a format hint: `=<len>\r\n<fmt>:<text>` in RESP3, a bulk
    /// string in RESP2.
    pub fn verbatim(dst: &mut BytesMut, format: [u8; 3], text: &[u8], proto: Protocol) {
        match proto {
            Protocol::Resp2 => blob(dst, b'$', text),
            Protocol::Resp3 => {
                header(dst, b'=', len_i64(text.len() + 4));
                dst.extend_from_slice(&format);
                dst.extend_from_slice(b":");
                dst.extend_from_slice(text);
                dst.extend_from_slice(b"\r\n");
            }
        }
    }
}
