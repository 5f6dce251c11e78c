//! Every error path of both decoders, with the exact text a client sees.

use bytes::BytesMut;
use ferrodis_resp::{decode_frame, FrameError, Limits, RequestDecoder, RequestError};

/// Decodes `input` as a request and returns the error it must produce.
fn request_error(input: &[u8], auth_required: bool) -> RequestError {
    let mut decoder = RequestDecoder::default();
    decoder.set_auth_required(auth_required);
    let mut buf = BytesMut::from(input);
    match decoder.decode(&mut buf) {
        Err(e) => e,
        Ok(other) => panic!("expected an error for {:?}, got {other:?}", show(input)),
    }
}

fn show(input: &[u8]) -> String {
    let s = String::from_utf8_lossy(input);
    if s.len() > 60 {
        format!("{}... ({} bytes)", &s[..60], s.len())
    } else {
        s.into_owned()
    }
}

fn check(input: &[u8], want: RequestError, text: &str) {
    check_auth(input, false, want, text);
}

fn check_auth(input: &[u8], auth: bool, want: RequestError, text: &str) {
    let got = request_error(input, auth);
    assert_eq!(got, want, "input {:?}", show(input));
    assert_eq!(got.to_string(), text, "input {:?}", show(input));
}

#[test]
fn request_error_texts_are_redis_texts() {
    let big = vec![b'a'; 64 * 1024 + 1];
    check(
        &big,
        RequestError::TooBigInlineRequest,
        "Protocol error: too big inline request",
    );
    check(
        b"set \"a b\r\n",
        RequestError::UnbalancedQuotes,
        "Protocol error: unbalanced quotes in request",
    );
    check(
        b"set 'a\n",
        RequestError::UnbalancedQuotes,
        "Protocol error: unbalanced quotes in request",
    );
    check(
        b"get \"a\"b\r\n",
        RequestError::UnbalancedQuotes,
        "Protocol error: unbalanced quotes in request",
    );

    let mut mbulk = b"*".to_vec();
    mbulk.extend(vec![b'1'; 64 * 1024 + 1]);
    check(
        &mbulk,
        RequestError::TooBigMultibulkCount,
        "Protocol error: too big mbulk count string",
    );

    for bad in [
        &b"*abc\r\n"[..],
        b"*2147483648\r\n",
        b"*01\r\n",
        b"*+1\r\n",
        b"*\r\n",
        b"* 1\r\n",
    ] {
        check(
            bad,
            RequestError::InvalidMultibulkLength,
            "Protocol error: invalid multibulk length",
        );
    }
    check_auth(
        b"*11\r\n",
        true,
        RequestError::UnauthenticatedMultibulkLength,
        "Protocol error: unauthenticated multibulk length",
    );

    let mut bulk_count = b"*1\r\n$".to_vec();
    bulk_count.extend(vec![b'1'; 64 * 1024]);
    check(
        &bulk_count,
        RequestError::TooBigBulkCount,
        "Protocol error: too big bulk count string",
    );

    check(
        b"*1\r\nx3\r\nfoo\r\n",
        RequestError::ExpectedDollar { got: b'x' },
        "Protocol error: expected '$', got 'x'",
    );
    check(
        b"*2\r\n$1\r\na\r\n:1\r\n",
        RequestError::ExpectedDollar { got: b':' },
        "Protocol error: expected '$', got ':'",
    );
    // An empty line where `$` is expected: Redis prints the `\r` as a space.
    check(
        b"*1\r\n\r\n",
        RequestError::ExpectedDollar { got: b'\r' },
        "Protocol error: expected '$', got ' '",
    );

    for bad in [
        &b"*1\r\n$-1\r\n"[..],
        b"*1\r\n$abc\r\n",
        b"*1\r\n$\r\n",
        b"*1\r\n$536870913\r\n",
        b"*1\r\n$01\r\n",
    ] {
        check(
            bad,
            RequestError::InvalidBulkLength,
            "Protocol error: invalid bulk length",
        );
    }
    check_auth(
        b"*1\r\n$16385\r\n",
        true,
        RequestError::UnauthenticatedBulkLength,
        "Protocol error: unauthenticated bulk length",
    );
}

#[test]
fn limits_are_inclusive_and_configurable() {
    // Exactly at the limits: no error, just waiting for the bytes.
    let mut decoder = RequestDecoder::default();
    let mut buf = BytesMut::from(&b"*1\r\n$536870912\r\n"[..]);
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    assert_eq!(decoder.bytes_needed(buf.len()), Some(536870912 + 2));

    let mut decoder = RequestDecoder::default();
    decoder.set_auth_required(true);
    let mut buf = BytesMut::from(&b"*10\r\n$16384\r\n"[..]);
    assert_eq!(decoder.decode(&mut buf), Ok(None));

    // An inline line of exactly 64 KiB without its newline still waits.
    let mut decoder = RequestDecoder::default();
    let mut buf = BytesMut::from(&vec![b'a'; 64 * 1024][..]);
    assert_eq!(decoder.decode(&mut buf), Ok(None));

    // `proto-max-bulk-len 100`
    let limits = Limits {
        max_bulk_len: 100,
        ..Limits::default()
    };
    let mut decoder = RequestDecoder::new(limits);
    let mut buf = BytesMut::from(&b"*1\r\n$101\r\n"[..]);
    assert_eq!(
        decoder.decode(&mut buf),
        Err(RequestError::InvalidBulkLength)
    );
    let mut buf = BytesMut::from(&b"*1\r\n$100\r\n"[..]);
    assert_eq!(RequestDecoder::new(limits).decode(&mut buf), Ok(None));

    let limits = Limits {
        max_multibulk_len: 3,
        ..Limits::default()
    };
    let mut buf = BytesMut::from(&b"*4\r\n"[..]);
    assert_eq!(
        RequestDecoder::new(limits).decode(&mut buf),
        Err(RequestError::InvalidMultibulkLength)
    );

    let limits = Limits {
        max_inline_len: 4,
        ..Limits::default()
    };
    let mut buf = BytesMut::from(&b"PING!"[..]);
    assert_eq!(
        RequestDecoder::new(limits).decode(&mut buf),
        Err(RequestError::TooBigInlineRequest)
    );
}

fn frame_error(input: &[u8], limits: Limits) -> FrameError {
    let mut buf = BytesMut::from(input);
    match decode_frame(&mut buf, &limits) {
        Err(e) => e,
        Ok(other) => panic!("expected an error for {:?}, got {other:?}", show(input)),
    }
}

#[test]
fn frame_error_paths() {
    let d = Limits::default();
    let cases: Vec<(&[u8], FrameError, &str)> = vec![
        (
            b"@foo\r\n",
            FrameError::InvalidTypeByte(b'@'),
            "Protocol error, got '@' as reply type byte",
        ),
        (
            b":12a\r\n",
            FrameError::InvalidInteger,
            "Protocol error: invalid integer value",
        ),
        (
            b"$x\r\n",
            FrameError::InvalidInteger,
            "Protocol error: invalid integer value",
        ),
        (
            b"$-2\r\n",
            FrameError::InvalidBulkLength,
            "Protocol error: invalid bulk length",
        ),
        (
            b"!-1\r\n",
            FrameError::InvalidBulkLength,
            "Protocol error: invalid bulk length",
        ),
        (
            b"*-2\r\n",
            FrameError::InvalidAggregateLength,
            "Protocol error: invalid multibulk length",
        ),
        (
            b"%-1\r\n",
            FrameError::InvalidAggregateLength,
            "Protocol error: invalid multibulk length",
        ),
        (
            b"$3\r\nfooXY",
            FrameError::MissingCrlf,
            "Protocol error: bulk payload not terminated by CRLF",
        ),
        (
            b",1.5x\r\n",
            FrameError::InvalidDouble,
            "Protocol error: invalid double value",
        ),
        (
            b",infinity\r\n",
            FrameError::InvalidDouble,
            "Protocol error: invalid double value",
        ),
        (
            b"#x\r\n",
            FrameError::InvalidBoolean,
            "Protocol error: invalid boolean value",
        ),
        (
            b"(12a\r\n",
            FrameError::InvalidBigNumber,
            "Protocol error: invalid big number value",
        ),
        (
            b"(\r\n",
            FrameError::InvalidBigNumber,
            "Protocol error: invalid big number value",
        ),
        (
            b"_x\r\n",
            FrameError::InvalidNull,
            "Protocol error: invalid null value",
        ),
        (
            b"=3\r\ntxt\r\n",
            FrameError::InvalidVerbatim,
            "Protocol error: invalid verbatim string",
        ),
        (
            b"=4\r\ntxt-\r\n",
            FrameError::InvalidVerbatim,
            "Protocol error: invalid verbatim string",
        ),
        (
            b"$?\r\n",
            FrameError::StreamedNotSupported,
            "Protocol error: streamed RESP3 types are not supported",
        ),
        (
            b"*?\r\n",
            FrameError::StreamedNotSupported,
            "Protocol error: streamed RESP3 types are not supported",
        ),
    ];
    for (input, want, text) in cases {
        let got = frame_error(input, d);
        assert_eq!(got, want, "input {:?}", show(input));
        assert_eq!(got.to_string(), text, "input {:?}", show(input));
    }

    let tight = Limits {
        max_bulk_len: 3,
        max_multibulk_len: 2,
        max_inline_len: 8,
        max_depth: 2,
    };
    assert_eq!(frame_error(b"$4\r\n", tight), FrameError::InvalidBulkLength);
    assert_eq!(
        frame_error(b"*3\r\n", tight),
        FrameError::InvalidAggregateLength
    );
    assert_eq!(
        frame_error(b"+123456789\r\n", tight),
        FrameError::LineTooLong
    );
    assert_eq!(frame_error(b"+1234567890", tight), FrameError::LineTooLong);
    let deep = frame_error(b"*1\r\n*1\r\n*1\r\n:1\r\n", tight);
    assert_eq!(deep, FrameError::TooDeep(2));
    assert_eq!(
        deep.to_string(),
        "Protocol error: aggregates nested deeper than 2"
    );
}
