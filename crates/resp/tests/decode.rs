//! Decoder behaviour beyond round trips: zero-copy payloads, skipped empty
//! requests, resumption, and the RESP3 corner cases.

use bytes::BytesMut;
use ferrodis_resp::{reply, Frame, FrameDecoder, Protocol, RequestDecoder};

fn requests(input: &[u8]) -> Vec<Vec<String>> {
    let mut decoder = RequestDecoder::default();
    let mut buf = BytesMut::from(input);
    let mut out = Vec::new();
    while let Some(args) = decoder.decode(&mut buf).expect("valid") {
        out.push(
            args.iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect(),
        );
    }
    out
}

#[test]
fn bulk_payloads_share_the_read_buffer() {
    let mut buf = BytesMut::with_capacity(128);
    buf.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$16\r\n0123456789abcdef\r\n");
    let range = buf.as_ptr() as usize..buf.as_ptr() as usize + buf.len();
    let args = RequestDecoder::default().decode(&mut buf).unwrap().unwrap();
    for arg in &args {
        assert!(
            range.contains(&(arg.as_ptr() as usize)),
            "argument was copied"
        );
    }

    let mut buf = BytesMut::from(&b"*2\r\n$5\r\nhello\r\n+OK\r\n"[..]);
    let range = buf.as_ptr() as usize..buf.as_ptr() as usize + buf.len();
    let Some(Frame::Array(items)) = FrameDecoder::default().decode(&mut buf).unwrap() else {
        panic!("expected an array");
    };
    let Frame::Bulk(hello) = &items[0] else {
        panic!("expected a bulk")
    };
    assert!(
        range.contains(&(hello.as_ptr() as usize)),
        "payload was copied"
    );
}

#[test]
fn empty_requests_are_skipped() {
    assert_eq!(
        requests(b"*0\r\n*-1\r\n\r\n\n   \r\nPING\r\n"),
        vec![vec!["PING"]]
    );
    assert_eq!(requests(b"*-5\r\n*1\r\n$4\r\nPING\r\n"), vec![vec!["PING"]]);
}

#[test]
fn inline_and_multibulk_mix() {
    assert_eq!(
        requests(b"set a \"b c\"\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\necho 'x y'\n"),
        vec![
            vec!["set", "a", "b c"],
            vec!["GET", "a"],
            vec!["echo", "x y"]
        ]
    );
}

#[test]
fn partial_requests_leave_the_buffer_alone() {
    let full = b"*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n";
    let mut decoder = RequestDecoder::default();
    for cut in 0..full.len() {
        let mut buf = BytesMut::from(&full[..cut]);
        decoder.reset();
        assert_eq!(decoder.decode(&mut buf), Ok(None), "cut at {cut}");
        assert_eq!(&buf[..], &full[..cut]);
        buf.extend_from_slice(&full[cut..]);
        assert_eq!(
            decoder.decode(&mut buf).unwrap().unwrap(),
            vec!["ECHO", "hello"]
        );
        assert!(buf.is_empty());
    }
}

#[test]
fn large_bulk_reports_bytes_needed() {
    let mut decoder = RequestDecoder::default();
    let mut buf = BytesMut::from(&b"*2\r\n$3\r\nSET\r\n$1000000\r\nxx"[..]);
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    let header = buf.len() - 2;
    assert_eq!(
        decoder.bytes_needed(buf.len()),
        Some(header + 1_000_002 - buf.len())
    );
    buf.extend_from_slice(&vec![b'x'; 999_998]);
    buf.extend_from_slice(b"\r\n");
    let args = decoder.decode(&mut buf).unwrap().unwrap();
    assert_eq!(args[1].len(), 1_000_000);
    assert_eq!(decoder.bytes_needed(0), None);
}

#[test]
fn resp3_types_decode() {
    let mut decoder = FrameDecoder::default();
    let mut buf = BytesMut::from(
        &b"|1\r\n+ttl\r\n:3600\r\n$1\r\nv\r\n(-123456789012345678901234567890\r\n=7\r\ntxt:abc\r\n!5\r\nERR x\r\n~1\r\n#t\r\n>2\r\n+message\r\n,nan\r\n,-inf\r\n"[..],
    );
    let mut next = || decoder.decode(&mut buf).unwrap().unwrap();
    assert_eq!(
        next(),
        Frame::Attribute {
            attributes: vec![(Frame::Simple("ttl".into()), Frame::Integer(3600))],
            value: Box::new(Frame::bulk("v")),
        }
    );
    assert_eq!(
        next(),
        Frame::BigNumber("-123456789012345678901234567890".into())
    );
    assert_eq!(
        next(),
        Frame::Verbatim {
            format: *b"txt",
            data: "abc".into()
        }
    );
    assert_eq!(next(), Frame::BlobError("ERR x".into()));
    assert_eq!(next(), Frame::Set(vec![Frame::Boolean(true)]));
    let Frame::Push(items) = next() else {
        panic!("expected a push")
    };
    assert!(matches!(&items[1], Frame::Double(d) if d.is_nan()));
    assert_eq!(next(), Frame::Double(f64::NEG_INFINITY));
}

#[test]
fn doubles_encode_as_resp3_text() {
    for (d, text) in [
        (1.5, ",1.5\r\n"),
        (f64::INFINITY, ",inf\r\n"),
        (f64::NEG_INFINITY, ",-inf\r\n"),
        (f64::NAN, ",nan\r\n"),
        (1e300, ",1e300\r\n"),
    ] {
        assert_eq!(&Frame::Double(d).to_bytes()[..], text.as_bytes());
    }
}

#[test]
fn reply_fast_path_matches_frames() {
    /// A reply writer, and what it must write in RESP2 and in RESP3.
    type Case = (fn(&mut BytesMut, Protocol), Frame, Frame);
    let cases: Vec<Case> = vec![
        (|o, p| reply::null(o, p), Frame::NullBulk, Frame::Null),
        (
            |o, p| reply::null_array(o, p),
            Frame::NullArray,
            Frame::Null,
        ),
        (
            |o, p| reply::boolean(o, true, p),
            Frame::Integer(1),
            Frame::Boolean(true),
        ),
        (
            |o, p| reply::boolean(o, false, p),
            Frame::Integer(0),
            Frame::Boolean(false),
        ),
        (
            |o, p| reply::double(o, 2.5, p),
            Frame::bulk("2.5"),
            Frame::Double(2.5),
        ),
        (
            |o, p| reply::verbatim(o, *b"txt", b"hi", p),
            Frame::bulk("hi"),
            Frame::Verbatim {
                format: *b"txt",
                data: "hi".into(),
            },
        ),
        (
            |o, p| {
                reply::map_len(o, 1, p);
                reply::bulk(o, b"k");
                reply::integer(o, -7);
            },
            Frame::Array(vec![Frame::bulk("k"), Frame::Integer(-7)]),
            Frame::Map(vec![(Frame::bulk("k"), Frame::Integer(-7))]),
        ),
        (
            |o, p| {
                reply::set_len(o, 1, p);
                reply::simple(o, b"a");
            },
            Frame::Array(vec![Frame::Simple("a".into())]),
            Frame::Set(vec![Frame::Simple("a".into())]),
        ),
        (
            |o, p| {
                reply::push_len(o, 1, p);
                reply::error(o, b"ERR x\r\ny");
            },
            Frame::Array(vec![Frame::Error("ERR x  y".into())]),
            Frame::Push(vec![Frame::Error("ERR x  y".into())]),
        ),
    ];
    for (write, resp2, resp3) in cases {
        for (proto, want) in [(Protocol::Resp2, resp2.clone()), (Protocol::Resp3, resp3)] {
            let mut out = BytesMut::new();
            write(&mut out, proto);
            assert_eq!(out, want.to_bytes(), "{proto:?}");
        }
    }
    let mut out = BytesMut::new();
    reply::ok(&mut out);
    reply::array_len(&mut out, 2);
    assert_eq!(&out[..], b"+OK\r\n*2\r\n");
}

#[test]
fn deep_nesting_is_bounded_not_recursive() {
    // 100 000 nested arrays: rejected by the depth limit without using the
    // call stack.
    let mut input = b"*1\r\n".repeat(100_000);
    input.extend_from_slice(b":1\r\n");
    let mut buf = BytesMut::from(&input[..]);
    assert!(FrameDecoder::default().decode(&mut buf).is_err());
}
