//! The server side: turning a client's query buffer into argument vectors,
//! exactly as a Redis 7 server parses requests.
//!
//! A request starting with `*` is a multibulk (`*<n>\r\n` then `n` times
//! `$<len>\r\n<bytes>\r\n`); anything else is an inline command, one line
//! split by [`crate::split_args`]. Empty requests (`*0`, `*-1`, a blank line)
//! are skipped, as Redis skips them.

use bytes::{Buf, Bytes, BytesMut};
use nom::bytes::streaming::{take, take_until};
use nom::Parser;

use crate::error::RequestError;
use crate::inline::split_args;
use crate::limits::{Limits, UNAUTHENTICATED_MAX_BULK_LEN, UNAUTHENTICATED_MAX_MULTIBULK_LEN};
use crate::num::parse_i64;

/// What scanning for a `*`/`$` header line found.
enum Header<'a> {
    /// The text between the type byte's position and the `\r`, and the offset
    /// just past the line ending.
    Line(&'a [u8], usize),
    /// A `\r` is there but the byte after it is not yet.
    Partial,
    /// No `\r` at all yet.
    NoCr,
}

/// Finds a header line as Redis does: up to the first `\r`, then skip it and
/// one more byte (Redis does not check that this byte is `\n`).
fn header(input: &[u8]) -> Header<'_> {
    let found: nom::IResult<&[u8], &[u8], ()> = take_until(&b"\r"[..]).parse(input);
    let Ok((rest, line)) = found else {
        return Header::NoCr;
    };
    let ending: nom::IResult<&[u8], &[u8], ()> = take(2usize).parse(rest);
    match ending {
        Ok(_) => Header::Line(line, line.len() + 2),
        Err(_) => Header::Partial,
    }
}

/// Progress on a multibulk request whose bytes have not all arrived.
#[derive(Debug, Clone, Copy)]
struct Pending {
    /// Arguments still to read.
    remaining: usize,
    /// Offset in the buffer of the next unread byte.
    pos: usize,
    /// The length of the argument being read, once its `$` line is parsed.
    bulk_len: Option<usize>,
}

/// Incremental request decoder for one client connection.
///
/// Call [`RequestDecoder::decode`] after every read with the connection's read
/// buffer. A complete request is removed from the front of the buffer and its
/// arguments come out as `Bytes` that share the buffer's memory (no copy).
/// A partial request leaves the buffer as it is and yields `Ok(None)`; the
/// decoder remembers how far it got, so a request arriving in many reads is
/// scanned once in all, not once per read. Between calls, only append to the
/// buffer (or call [`RequestDecoder::reset`] after changing it otherwise).
///
/// ```
/// use bytes::BytesMut;
/// use ferrodis_resp::RequestDecoder;
///
/// let mut decoder = RequestDecoder::default();
/// let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$3\r\nfo"[..]);
/// assert_eq!(decoder.decode(&mut buf), Ok(None)); // need more
/// buf.extend_from_slice(b"o\r\nPING\r\n");
/// let args = decoder.decode(&mut buf).unwrap().unwrap();
/// assert_eq!(args, vec!["GET", "foo"]);
/// assert_eq!(decoder.decode(&mut buf).unwrap().unwrap(), vec!["PING"]);
/// assert!(buf.is_empty());
/// ```
#[derive(Debug, Clone, Default)]
pub struct RequestDecoder {
    limits: Limits,
    auth_required: bool,
    pending: Option<Pending>,
    /// `(offset, len)` of each argument of the pending request.
    spans: Vec<(usize, usize)>,
}

impl RequestDecoder {
    /// A decoder enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        RequestDecoder {
            limits,
            ..RequestDecoder::default()
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Changes the limits, e.g. after `CONFIG SET proto-max-bulk-len`.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Whether the client must still authenticate. While it must, requests
    /// are limited to 10 arguments of at most 16 KiB each, as in Redis.
    pub fn set_auth_required(&mut self, required: bool) {
        self.auth_required = required;
    }

    /// Forgets a partially scanned request (after the buffer was cleared).
    pub fn reset(&mut self) {
        self.pending = None;
        self.spans.clear();
    }

    /// How many more bytes the pending request needs at least, when that is
    /// known (inside a bulk whose length has been read). A server can use it
    /// to size its next read for large values.
    pub fn bytes_needed(&self, buf_len: usize) -> Option<usize> {
        let p = self.pending?;
        let end = p.pos.checked_add(p.bulk_len?)?.checked_add(2)?;
        Some(end.saturating_sub(buf_len))
    }

    /// Decodes the next request at the front of `buf` into a new vector of
    /// arguments.
    ///
    /// - `Ok(Some(args))`: a complete, non-empty request was removed from
    ///   `buf`.
    /// - `Ok(None)`: more bytes are needed; `buf` is unchanged.
    /// - `Err(e)`: the stream is malformed. Reply with `e` and close the
    ///   connection, as Redis does.
    ///
    /// A server should prefer [`RequestDecoder::decode_into`], which reuses
    /// one [`Request`] and costs one reference count per request instead of
    /// one per argument.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, RequestError> {
        let mut request = Request::default();
        Ok(self
            .decode_into(buf, &mut request)?
            .then(|| request.to_vec()))
    }

    /// Decodes the next request at the front of `buf` into `request`,
    /// replacing what it held. Returns `Ok(true)` when a request was decoded,
    /// `Ok(false)` when more bytes are needed (`buf` and `request` are then
    /// unchanged), and an error as [`RequestDecoder::decode`] does.
    pub fn decode_into(
        &mut self,
        buf: &mut BytesMut,
        request: &mut Request,
    ) -> Result<bool, RequestError> {
        loop {
            let mut pending = match self.pending {
                Some(p) => p,
                None => match buf.first() {
                    None => return Ok(false),
                    Some(b'*') => match self.multibulk_header(buf)? {
                        None => return Ok(false),
                        Some(p) if p.remaining == 0 => {
                            buf.advance(p.pos);
                            continue;
                        }
                        Some(p) => p,
                    },
                    Some(_) => match self.inline(buf)? {
                        None => return Ok(false),
                        Some(args) if args.is_empty() => continue,
                        Some(args) => {
                            request.set_inline(&args);
                            return Ok(true);
                        }
                    },
                },
            };
            let result = self.bulks(buf, &mut pending);
            self.pending = Some(pending);
            if let Err(e) = result {
                self.reset();
                return Err(e);
            }
            if pending.remaining > 0 {
                return Ok(false);
            }
            request.frame = buf.split_to(pending.pos).freeze();
            std::mem::swap(&mut request.spans, &mut self.spans);
            self.reset();
            return Ok(true);
        }
    }

    /// Parses `*<count>\r\n`. `remaining == 0` marks an empty request.
    fn multibulk_header(&mut self, buf: &[u8]) -> Result<Option<Pending>, RequestError> {
        let (text, consumed) = match header(buf) {
            Header::Line(line, consumed) => (line.get(1..).unwrap_or_default(), consumed),
            Header::Partial => return Ok(None),
            Header::NoCr if buf.len() > self.limits.max_inline_len => {
                return Err(RequestError::TooBigMultibulkCount)
            }
            Header::NoCr => return Ok(None),
        };
        let count = match parse_i64(text) {
            Some(n) if n <= 0 => 0,
            Some(n) => match usize::try_from(n) {
                Ok(n) if n <= self.limits.max_multibulk_len => n,
                _ => return Err(RequestError::InvalidMultibulkLength),
            },
            None => return Err(RequestError::InvalidMultibulkLength),
        };
        if count > UNAUTHENTICATED_MAX_MULTIBULK_LEN && self.auth_required {
            return Err(RequestError::UnauthenticatedMultibulkLength);
        }
        self.spans.clear();
        // Reserve for the declared count only up to a bound: the count is
        // untrusted until the arguments arrive.
        self.spans.reserve(count.min(1024));
        Ok(Some(Pending {
            remaining: count,
            pos: consumed,
            bulk_len: None,
        }))
    }

    /// Reads as many `$<len>\r\n<bytes>\r\n` arguments as `buf` holds.
    fn bulks(&mut self, buf: &[u8], p: &mut Pending) -> Result<(), RequestError> {
        while p.remaining > 0 {
            let len = match p.bulk_len {
                Some(len) => len,
                None => {
                    let at = buf.get(p.pos..).unwrap_or_default();
                    let (line, consumed) = match header(at) {
                        Header::Line(line, consumed) => (line, consumed),
                        Header::Partial => return Ok(()),
                        Header::NoCr if at.len() > self.limits.max_inline_len => {
                            return Err(RequestError::TooBigBulkCount)
                        }
                        Header::NoCr => return Ok(()),
                    };
                    let (first, digits) = line.split_first().unwrap_or((&b'\r', &[]));
                    if *first != b'$' {
                        return Err(RequestError::ExpectedDollar { got: *first });
                    }
                    let len = match parse_i64(digits).map(usize::try_from) {
                        Some(Ok(n)) if n <= self.limits.max_bulk_len => n,
                        _ => return Err(RequestError::InvalidBulkLength),
                    };
                    if len > UNAUTHENTICATED_MAX_BULK_LEN && self.auth_required {
                        return Err(RequestError::UnauthenticatedBulkLength);
                    }
                    p.pos += consumed;
                    p.bulk_len = Some(len);
                    len
                }
            };
            // Redis skips the two bytes after the payload without looking at
            // them; so do we.
            if buf.len() - p.pos < len.saturating_add(2) {
                return Ok(());
            }
            self.spans.push((p.pos, len));
            p.pos += len + 2;
            p.bulk_len = None;
            p.remaining -= 1;
        }
        Ok(())
    }

    /// Parses one inline request line. An empty `Vec` is a blank line.
    fn inline(&mut self, buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, RequestError> {
        let found: nom::IResult<&[u8], &[u8], ()> = take_until(&b"\n"[..]).parse(&buf[..]);
        let Ok((_, line)) = found else {
            if buf.len() > self.limits.max_inline_len {
                return Err(RequestError::TooBigInlineRequest);
            }
            return Ok(None);
        };
        let newline = line.len();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let args = split_args(line).ok_or(RequestError::UnbalancedQuotes)?;
        buf.advance(newline + 1);
        Ok(Some(args))
    }
}

/// One decoded request: its arguments, borrowed from one shared buffer.
///
/// Holds the request's bytes (split off the read buffer without copying) and
/// where each argument lies in them. Reuse one `Request` per connection with
/// [`RequestDecoder::decode_into`]: decoding then allocates nothing.
///
/// ```
/// use bytes::BytesMut;
/// use ferrodis_resp::{Request, RequestDecoder};
///
/// let mut decoder = RequestDecoder::default();
/// let mut request = Request::default();
/// let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\nPING\r\n"[..]);
/// assert!(decoder.decode_into(&mut buf, &mut request).unwrap());
/// assert_eq!(request.len(), 2);
/// assert_eq!(request.arg(0), Some(&b"GET"[..]));
/// assert_eq!(request.arg_bytes(1).unwrap(), "foo");
/// assert!(decoder.decode_into(&mut buf, &mut request).unwrap());
/// assert_eq!(request.args().collect::<Vec<_>>(), vec![&b"PING"[..]]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Request {
    frame: Bytes,
    /// `(offset, len)` of each argument in `frame`.
    spans: Vec<(usize, usize)>,
}

impl Request {
    /// The number of arguments, the command name included.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there are no arguments (never true for a decoded request).
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Argument `i` (0 is the command name).
    pub fn arg(&self, i: usize) -> Option<&[u8]> {
        let &(at, len) = self.spans.get(i)?;
        self.frame.get(at..at + len)
    }

    /// Argument `i` as `Bytes` sharing the request's memory. Note that it
    /// keeps the whole read buffer chunk alive: copy small values that are
    /// kept long.
    pub fn arg_bytes(&self, i: usize) -> Option<Bytes> {
        let &(at, len) = self.spans.get(i)?;
        (at + len <= self.frame.len()).then(|| self.frame.slice(at..at + len))
    }

    /// The arguments in order.
    pub fn args(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        self.spans
            .iter()
            .map(|&(at, len)| self.frame.get(at..at + len).unwrap_or_default())
    }

    /// The arguments as `Bytes` sharing the request's memory.
    pub fn to_vec(&self) -> Vec<Bytes> {
        (0..self.len()).filter_map(|i| self.arg_bytes(i)).collect()
    }

    /// Replaces the content with `args` (an inline request, already split
    /// and unescaped), packed into one buffer.
    fn set_inline(&mut self, args: &[Bytes]) {
        let mut frame = BytesMut::with_capacity(args.iter().map(Bytes::len).sum());
        self.spans.clear();
        for a in args {
            self.spans.push((frame.len(), a.len()));
            frame.extend_from_slice(a);
        }
        self.frame = frame.freeze();
    }
}
