//! The client side: decoding any RESP2/RESP3 frame (server replies, pushes,
//! attributes) from a read buffer.
//!
//! Decoding runs in two passes. The first measures the frame at the front of
//! the buffer without allocating: it walks items with an explicit stack of
//! "children still expected" counts, so it needs no recursion and can stop at
//! the end of the available bytes and resume there after the next read
//! (a large reply that arrives in many reads is scanned once, not once per
//! read). When the frame is complete, it is split off the buffer and frozen,
//! and the second pass builds the [`Frame`] tree with payloads that are
//! slices of those frozen bytes.

use bytes::{Bytes, BytesMut};
use nom::bytes::streaming::{tag, take, take_until};
use nom::error::{ErrorKind, ParseError};
use nom::Parser;

use crate::error::FrameError;
use crate::frame::Frame;
use crate::limits::Limits;
use crate::num::parse_i64;

type In<'a> = &'a [u8];
type PResult<'a, O> = nom::IResult<In<'a>, O, Fail>;

/// The nom error type: either a typed frame error or a plain mismatch.
#[derive(Debug)]
enum Fail {
    Frame(FrameError),
    Mismatch,
}

impl ParseError<In<'_>> for Fail {
    fn from_error_kind(_: In<'_>, _: ErrorKind) -> Self {
        Fail::Mismatch
    }
    fn append(_: In<'_>, _: ErrorKind, other: Self) -> Self {
        other
    }
}

fn fail<'a, O>(e: FrameError) -> PResult<'a, O> {
    Err(nom::Err::Failure(Fail::Frame(e)))
}

/// A line up to `\r\n`, at most `max` bytes long.
fn line(i: In<'_>, max: usize) -> PResult<'_, In<'_>> {
    match take_until::<_, _, Fail>(&b"\r\n"[..]).parse(i) {
        Ok((_, l)) if l.len() > max => fail(FrameError::LineTooLong),
        Ok((rest, l)) => Ok((rest.get(2..).unwrap_or_default(), l)),
        Err(nom::Err::Incomplete(_)) if i.len() > max.saturating_add(1) => {
            fail(FrameError::LineTooLong)
        }
        Err(e) => Err(e),
    }
}

/// A length line: `-1` (RESP2 null), `?` (RESP3 streamed) or a count within
/// `max`.
enum Len {
    Null,
    Some(usize),
}

fn length<'a>(i: In<'a>, limits: &Limits, negative: FrameError) -> PResult<'a, Len> {
    let (rest, text) = line(i, limits.max_inline_len)?;
    if text == b"?" {
        return fail(FrameError::StreamedNotSupported);
    }
    match parse_i64(text) {
        Some(-1) => Ok((rest, Len::Null)),
        Some(n) => match usize::try_from(n) {
            Ok(n) => Ok((rest, Len::Some(n))),
            Err(_) => fail(negative),
        },
        None => fail(FrameError::InvalidInteger),
    }
}

/// `<len bytes>\r\n`
fn payload(i: In<'_>, len: usize) -> PResult<'_, In<'_>> {
    let (rest, data) = take(len).parse(i)?;
    match tag::<_, _, Fail>(&b"\r\n"[..]).parse(rest) {
        Ok((rest, _)) => Ok((rest, data)),
        Err(nom::Err::Incomplete(n)) => Err(nom::Err::Incomplete(n)),
        Err(_) => fail(FrameError::MissingCrlf),
    }
}

/// A frame without children, borrowing its payload from the input.
enum Leaf<'a> {
    Simple(In<'a>),
    Error(In<'a>),
    Integer(i64),
    Bulk(In<'a>),
    NullBulk,
    NullArray,
    Null,
    Double(f64),
    Boolean(bool),
    BigNumber(In<'a>),
    Verbatim([u8; 3], In<'a>),
    BlobError(In<'a>),
}

#[derive(Clone, Copy)]
enum AggKind {
    Array,
    Set,
    Push,
    Map,
    Attribute,
}

/// One item: a leaf, or the header of an aggregate with its declared size.
enum Item<'a> {
    Leaf(Leaf<'a>),
    Aggregate(AggKind, usize),
}

impl AggKind {
    /// How many frames follow the header of an aggregate of `n` entries.
    fn children(self, n: usize) -> usize {
        match self {
            AggKind::Array | AggKind::Set | AggKind::Push => n,
            AggKind::Map => n.saturating_mul(2),
            // The pairs, then the frame they describe.
            AggKind::Attribute => n.saturating_mul(2).saturating_add(1),
        }
    }
}

/// Parses one item at the front of `i`.
fn item<'a>(i: In<'a>, limits: &Limits) -> PResult<'a, Item<'a>> {
    let (i, kind) = take(1usize).parse(i)?;
    let max_line = limits.max_inline_len;
    let leaf = |(rest, l)| Ok((rest, Item::Leaf(l)));
    match kind.first().copied().unwrap_or_default() {
        b'+' => line(i, max_line).and_then(|(r, l)| leaf((r, Leaf::Simple(l)))),
        b'-' => line(i, max_line).and_then(|(r, l)| leaf((r, Leaf::Error(l)))),
        b':' => {
            let (r, l) = line(i, max_line)?;
            match parse_i64(l) {
                Some(n) => leaf((r, Leaf::Integer(n))),
                None => fail(FrameError::InvalidInteger),
            }
        }
        t @ (b'$' | b'!' | b'=') => {
            let (r, len) = length(i, limits, FrameError::InvalidBulkLength)?;
            let len = match len {
                Len::Null if t == b'$' => return leaf((r, Leaf::NullBulk)),
                Len::Null => return fail(FrameError::InvalidBulkLength),
                Len::Some(n) if n > limits.max_bulk_len => {
                    return fail(FrameError::InvalidBulkLength)
                }
                Len::Some(n) => n,
            };
            let (r, data) = payload(r, len)?;
            match t {
                b'$' => leaf((r, Leaf::Bulk(data))),
                b'!' => leaf((r, Leaf::BlobError(data))),
                _ => match data {
                    [a, b, c, b':', text @ ..] => leaf((r, Leaf::Verbatim([*a, *b, *c], text))),
                    _ => fail(FrameError::InvalidVerbatim),
                },
            }
        }
        t @ (b'*' | b'%' | b'~' | b'>' | b'|') => {
            let (r, len) = length(i, limits, FrameError::InvalidAggregateLength)?;
            let n = match len {
                Len::Null if t == b'*' => return leaf((r, Leaf::NullArray)),
                Len::Null => return fail(FrameError::InvalidAggregateLength),
                Len::Some(n) if n > limits.max_multibulk_len => {
                    return fail(FrameError::InvalidAggregateLength)
                }
                Len::Some(n) => n,
            };
            let kind = match t {
                b'*' => AggKind::Array,
                b'%' => AggKind::Map,
                b'~' => AggKind::Set,
                b'>' => AggKind::Push,
                _ => AggKind::Attribute,
            };
            Ok((r, Item::Aggregate(kind, n)))
        }
        b'_' => match line(i, max_line)? {
            (r, []) => leaf((r, Leaf::Null)),
            _ => fail(FrameError::InvalidNull),
        },
        b',' => {
            let (r, l) = line(i, max_line)?;
            match parse_double(l) {
                Some(d) => leaf((r, Leaf::Double(d))),
                None => fail(FrameError::InvalidDouble),
            }
        }
        b'#' => match line(i, max_line)? {
            (r, b"t") => leaf((r, Leaf::Boolean(true))),
            (r, b"f") => leaf((r, Leaf::Boolean(false))),
            _ => fail(FrameError::InvalidBoolean),
        },
        b'(' => {
            let (r, l) = line(i, max_line)?;
            let digits = l.strip_prefix(b"-").unwrap_or(l);
            if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                return fail(FrameError::InvalidBigNumber);
            }
            leaf((r, Leaf::BigNumber(l)))
        }
        other => fail(FrameError::InvalidTypeByte(other)),
    }
}

/// RESP3 doubles: a decimal or exponent number, `inf`, `-inf` or `nan`.
fn parse_double(text: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(text).ok()?;
    match text {
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        "nan" | "-nan" => Some(f64::NAN),
        // Rust's parser also takes "infinity" and "NaN"; RESP3 does not.
        t if t
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
            && !t.is_empty() =>
        {
            t.parse().ok()
        }
        _ => None,
    }
}

/// Where the measuring pass stopped in a partial frame.
#[derive(Debug, Clone, Default)]
struct Scan {
    /// Offset of the next item to read.
    offset: usize,
    /// For each open aggregate, how many child frames it still expects.
    open: Vec<usize>,
}

/// Incremental RESP2/RESP3 frame decoder, for replies and pushes read from a
/// server.
///
/// ```
/// use bytes::BytesMut;
/// use ferrodis_resp::{Frame, FrameDecoder};
///
/// let mut decoder = FrameDecoder::default();
/// let mut buf = BytesMut::from(&b"%1\r\n+key\r\n,1.5\r\n*2\r\n:1"[..]);
/// let map = decoder.decode(&mut buf).unwrap().unwrap();
/// assert_eq!(map, Frame::Map(vec![(Frame::Simple("key".into()), Frame::Double(1.5))]));
/// assert_eq!(decoder.decode(&mut buf), Ok(None)); // `*2` is not complete
/// buf.extend_from_slice(b"\r\n_\r\n");
/// assert_eq!(
///     decoder.decode(&mut buf).unwrap(),
///     Some(Frame::Array(vec![Frame::Integer(1), Frame::Null]))
/// );
/// ```
#[derive(Debug, Clone, Default)]
pub struct FrameDecoder {
    limits: Limits,
    scan: Scan,
}

impl FrameDecoder {
    /// A decoder enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        FrameDecoder {
            limits,
            scan: Scan::default(),
        }
    }

    /// Forgets a partially scanned frame (after the buffer was cleared).
    pub fn reset(&mut self) {
        self.scan = Scan::default();
    }

    /// Decodes the next frame at the front of `buf`.
    ///
    /// - `Ok(Some(frame))`: a complete frame was removed from `buf`; its
    ///   payloads share the buffer's memory.
    /// - `Ok(None)`: more bytes are needed; `buf` is unchanged. Between calls
    ///   only append to `buf`.
    /// - `Err(e)`: the stream is malformed; it cannot be resynchronised.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        let len = match self.measure(buf) {
            Ok(Some(len)) => len,
            Ok(None) => return Ok(None),
            Err(e) => {
                self.reset();
                return Err(e);
            }
        };
        self.reset();
        let bytes = buf.split_to(len).freeze();
        match build(&bytes, &bytes, &self.limits) {
            Ok((_, frame)) => Ok(Some(frame)),
            Err(e) => Err(frame_error(e)),
        }
    }

    /// Advances the scan over complete items; `Some(len)` once the whole
    /// frame is there.
    fn measure(&mut self, buf: &[u8]) -> Result<Option<usize>, FrameError> {
        loop {
            let at = buf.get(self.scan.offset..).unwrap_or_default();
            let (rest, item) = match item(at, &self.limits) {
                Ok(parsed) => parsed,
                Err(nom::Err::Incomplete(_)) => return Ok(None),
                Err(e) => return Err(frame_error(e)),
            };
            self.scan.offset = buf.len() - rest.len();
            let children = match item {
                Item::Aggregate(kind, n) => kind.children(n),
                Item::Leaf(_) => 0,
            };
            if children > 0 {
                if self.scan.open.len() >= self.limits.max_depth {
                    return Err(FrameError::TooDeep(self.limits.max_depth));
                }
                self.scan.open.push(children);
                continue;
            }
            // A complete frame: it completes one child of its parent, which
            // may complete the parent in turn.
            loop {
                match self.scan.open.last_mut() {
                    None => return Ok(Some(self.scan.offset)),
                    Some(1) => {
                        self.scan.open.pop();
                    }
                    Some(n) => {
                        *n -= 1;
                        break;
                    }
                }
            }
        }
    }
}

fn frame_error(e: nom::Err<Fail>) -> FrameError {
    match e {
        nom::Err::Error(Fail::Frame(e)) | nom::Err::Failure(Fail::Frame(e)) => e,
        // `tag` mismatches are mapped where they happen; an incomplete input
        // cannot reach the build pass. Report the nearest meaning.
        _ => FrameError::MissingCrlf,
    }
}

/// Decodes one frame from `buf` with `limits`, without keeping scan progress
/// between calls. Prefer [`FrameDecoder`] on a connection.
pub fn decode_frame(buf: &mut BytesMut, limits: &Limits) -> Result<Option<Frame>, FrameError> {
    FrameDecoder::new(*limits).decode(buf)
}

/// Builds the frame at the front of `i`, a complete frame inside `base`. The
/// measuring pass has bounded the nesting depth, so recursion is bounded.
fn build<'a>(base: &Bytes, i: In<'a>, limits: &Limits) -> PResult<'a, Frame> {
    let slice = |s: &[u8]| base.slice_ref(s);
    let (mut i, item) = item(i, limits)?;
    let frame = match item {
        Item::Leaf(leaf) => match leaf {
            Leaf::Simple(s) => Frame::Simple(slice(s)),
            Leaf::Error(s) => Frame::Error(slice(s)),
            Leaf::Integer(n) => Frame::Integer(n),
            Leaf::Bulk(s) => Frame::Bulk(slice(s)),
            Leaf::NullBulk => Frame::NullBulk,
            Leaf::NullArray => Frame::NullArray,
            Leaf::Null => Frame::Null,
            Leaf::Double(d) => Frame::Double(d),
            Leaf::Boolean(b) => Frame::Boolean(b),
            Leaf::BigNumber(s) => Frame::BigNumber(slice(s)),
            Leaf::Verbatim(format, s) => Frame::Verbatim {
                format,
                data: slice(s),
            },
            Leaf::BlobError(s) => Frame::BlobError(slice(s)),
        },
        Item::Aggregate(kind, n) => {
            // `n` was checked against the input by the measuring pass: every
            // child takes at least three bytes.
            let cap = n.min(i.len() / 3);
            match kind {
                AggKind::Array | AggKind::Set | AggKind::Push => {
                    let mut items = Vec::with_capacity(cap);
                    for _ in 0..n {
                        let (rest, f) = build(base, i, limits)?;
                        items.push(f);
                        i = rest;
                    }
                    match kind {
                        AggKind::Array => Frame::Array(items),
                        AggKind::Set => Frame::Set(items),
                        _ => Frame::Push(items),
                    }
                }
                AggKind::Map | AggKind::Attribute => {
                    let mut pairs = Vec::with_capacity(cap / 2);
                    for _ in 0..n {
                        let (rest, k) = build(base, i, limits)?;
                        let (rest, v) = build(base, rest, limits)?;
                        pairs.push((k, v));
                        i = rest;
                    }
                    if let AggKind::Map = kind {
                        Frame::Map(pairs)
                    } else {
                        let (rest, value) = build(base, i, limits)?;
                        i = rest;
                        Frame::Attribute {
                            attributes: pairs,
                            value: Box::new(value),
                        }
                    }
                }
            }
        }
    };
    Ok((i, frame))
}
