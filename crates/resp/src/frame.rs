//! The RESP2/RESP3 value tree.

use bytes::Bytes;

/// Which protocol a connection speaks: RESP2 by default, RESP3 after
/// `HELLO 3`. Reply writers use it to pick an encoding for types RESP2 lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Protocol {
    /// RESP2: maps become flat arrays, doubles become bulk strings, nulls are
    /// `$-1`/`*-1`.
    #[default]
    Resp2,
    /// RESP3 (`HELLO 3`).
    Resp3,
}

/// One RESP2 or RESP3 frame.
///
/// Every RESP type has its own variant, so encoding a decoded frame gives the
/// same bytes back (for doubles: the same value). Byte payloads are `Bytes`
/// that share the buffer they were decoded from.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// `+OK\r\n`
    Simple(Bytes),
    /// `-ERR message\r\n`
    Error(Bytes),
    /// `:42\r\n`
    Integer(i64),
    /// `$5\r\nhello\r\n`
    Bulk(Bytes),
    /// RESP2's null bulk string, `$-1\r\n`.
    NullBulk,
    /// RESP2's null array, `*-1\r\n`.
    NullArray,
    /// `*2\r\n...`
    Array(Vec<Frame>),
    /// RESP3 null, `_\r\n`.
    Null,
    /// RESP3 double, `,3.14\r\n` (also `inf`, `-inf`, `nan`).
    Double(f64),
    /// RESP3 boolean, `#t\r\n` or `#f\r\n`.
    Boolean(bool),
    /// RESP3 big number, `(3492890328409238509324850943850943825024385\r\n`:
    /// the digits, with an optional leading `-`.
    BigNumber(Bytes),
    /// RESP3 verbatim string, `=15\r\ntxt:Some string\r\n`.
    Verbatim {
        /// The three-byte format, such as `txt` or `mkd`.
        format: [u8; 3],
        /// The text after `xxx:`.
        data: Bytes,
    },
    /// RESP3 blob error, `!21\r\nSYNTAX invalid syntax\r\n`.
    BlobError(Bytes),
    /// RESP3 map, `%2\r\n` then keys and values alternately.
    Map(Vec<(Frame, Frame)>),
    /// RESP3 set, `~3\r\n...`
    Set(Vec<Frame>),
    /// RESP3 push (out-of-band data such as pub/sub messages), `>3\r\n...`
    Push(Vec<Frame>),
    /// RESP3 attribute, `|1\r\n` then key/value pairs, describing the frame
    /// that follows it.
    Attribute {
        /// The attribute pairs.
        attributes: Vec<(Frame, Frame)>,
        /// The frame the attributes describe.
        value: Box<Frame>,
    },
}

impl Frame {
    /// A bulk string frame from anything byte-like.
    pub fn bulk(data: impl Into<Bytes>) -> Frame {
        Frame::Bulk(data.into())
    }

    /// A request as clients send it: an array of bulk strings.
    ///
    /// ```
    /// use ferrodis_resp::Frame;
    /// let set = Frame::command(["SET", "k", "v"]);
    /// let mut out = bytes::BytesMut::new();
    /// set.encode(&mut out);
    /// assert_eq!(&out[..], b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
    /// ```
    pub fn command<I, A>(args: I) -> Frame
    where
        I: IntoIterator<Item = A>,
        A: Into<Bytes>,
    {
        Frame::Array(args.into_iter().map(|a| Frame::Bulk(a.into())).collect())
    }

    /// Whether this is an error reply (`-` or `!`).
    pub fn is_error(&self) -> bool {
        matches!(self, Frame::Error(_) | Frame::BlobError(_))
    }

    /// Whether this is a null of either protocol.
    pub fn is_null(&self) -> bool {
        matches!(self, Frame::Null | Frame::NullBulk | Frame::NullArray)
    }
}
