//! Property tests: encode → decode is the identity for every frame type, any
//! split of a valid stream decodes to the same frames, and no input makes a
//! decoder panic or consume bytes it did not report.

use bytes::{Bytes, BytesMut};
use ferrodis_resp::{Frame, FrameDecoder, Limits, RequestDecoder};
use proptest::collection::vec;
use proptest::prelude::*;

/// Text for simple strings and errors: no CR or LF.
fn line_text() -> impl Strategy<Value = Bytes> {
    vec(
        any::<u8>().prop_filter("no CR/LF", |b| *b != b'\r' && *b != b'\n'),
        0..24,
    )
    .prop_map(Bytes::from)
}

fn blob() -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..48).prop_map(Bytes::from)
}

fn leaf() -> impl Strategy<Value = Frame> {
    prop_oneof![
        line_text().prop_map(Frame::Simple),
        line_text().prop_map(Frame::Error),
        any::<i64>().prop_map(Frame::Integer),
        blob().prop_map(Frame::Bulk),
        Just(Frame::NullBulk),
        Just(Frame::NullArray),
        Just(Frame::Null),
        // NaN != NaN, so it has its own unit test.
        any::<f64>()
            .prop_filter("not NaN", |d| !d.is_nan())
            .prop_map(Frame::Double),
        any::<bool>().prop_map(Frame::Boolean),
        "-?[0-9]{1,40}".prop_map(|s| Frame::BigNumber(Bytes::from(s))),
        ("[a-z]{3}", blob()).prop_map(|(f, data)| {
            let b = f.as_bytes();
            Frame::Verbatim {
                format: [b[0], b[1], b[2]],
                data,
            }
        }),
        blob().prop_map(Frame::BlobError),
    ]
}

fn frame() -> impl Strategy<Value = Frame> {
    leaf().prop_recursive(4, 64, 6, |inner| {
        let pairs = vec((inner.clone(), inner.clone()), 0..4);
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Frame::Array),
            vec(inner.clone(), 0..6).prop_map(Frame::Set),
            vec(inner.clone(), 0..6).prop_map(Frame::Push),
            pairs.clone().prop_map(Frame::Map),
            (pairs, inner).prop_map(|(attributes, value)| Frame::Attribute {
                attributes,
                value: Box::new(value)
            }),
        ]
    })
}

/// Cuts `stream` at the given points (taken modulo its length).
fn chunks(stream: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    points.push(0);
    points.push(stream.len());
    points.sort_unstable();
    points
        .windows(2)
        .map(|w| stream[w[0]..w[1]].to_vec())
        .collect()
}

/// Feeds `parts` to `decoder` one after the other, collecting every frame.
fn decode_in_parts(parts: &[Vec<u8>]) -> Vec<Frame> {
    let mut decoder = FrameDecoder::default();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for part in parts {
        buf.extend_from_slice(part);
        while let Some(f) = decoder.decode(&mut buf).expect("valid stream") {
            out.push(f);
        }
    }
    assert!(buf.is_empty(), "{} bytes left over", buf.len());
    out
}

/// A request as clients send it.
fn multibulk(args: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend(format!("${}\r\n", a.len()).bytes());
        out.extend(a);
        out.extend(b"\r\n");
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn encode_then_decode_is_identity(f in frame()) {
        let mut buf = f.to_bytes();
        let len = buf.len();
        let decoded = FrameDecoder::default().decode(&mut buf).expect("valid").expect("complete");
        prop_assert_eq!(&decoded, &f);
        prop_assert!(buf.is_empty());
        // And back again gives the same bytes.
        prop_assert_eq!(decoded.to_bytes().len(), len);
    }

    #[test]
    fn any_split_of_a_stream_gives_the_same_frames(
        frames in vec(frame(), 1..6),
        cuts in vec(any::<usize>(), 0..12),
    ) {
        let mut stream = BytesMut::new();
        for f in &frames {
            f.encode(&mut stream);
        }
        prop_assert_eq!(decode_in_parts(&chunks(&stream, &cuts)), frames.clone());
        // One byte at a time, too.
        let bytes: Vec<Vec<u8>> = stream.iter().map(|b| vec![*b]).collect();
        prop_assert_eq!(decode_in_parts(&bytes), frames);
    }

    #[test]
    fn any_split_of_a_request_stream_gives_the_same_requests(
        requests in vec(vec(vec(any::<u8>(), 0..40), 1..6), 1..8),
        cuts in vec(any::<usize>(), 0..12),
    ) {
        let stream: Vec<u8> = requests.iter().flat_map(|r| multibulk(r)).collect();
        let mut decoder = RequestDecoder::default();
        let mut buf = BytesMut::new();
        let mut got: Vec<Vec<Vec<u8>>> = Vec::new();
        for part in chunks(&stream, &cuts) {
            buf.extend_from_slice(&part);
            while let Some(args) = decoder.decode(&mut buf).expect("valid") {
                got.push(args.iter().map(|a| a.to_vec()).collect());
            }
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(got, requests);
    }

    #[test]
    fn inline_requests_split_on_blanks(
        words in vec(vec("[a-zA-Z0-9:_.-]{1,12}", 1..6), 1..6),
        crlf in any::<bool>(),
    ) {
        let ending = if crlf { "\r\n" } else { "\n" };
        let stream: String = words.iter().map(|w| format!("{}{ending}", w.join(" "))).collect();
        let mut decoder = RequestDecoder::default();
        let mut buf = BytesMut::from(stream.as_bytes());
        let mut got = Vec::new();
        while let Some(args) = decoder.decode(&mut buf).expect("valid") {
            got.push(args.iter().map(|a| String::from_utf8(a.to_vec()).unwrap()).collect::<Vec<_>>());
        }
        prop_assert_eq!(got, words);
    }

    #[test]
    fn request_decoder_never_panics(input in vec(any::<u8>(), 0..256), auth in any::<bool>()) {
        let limits = Limits { max_inline_len: 64, max_bulk_len: 64, ..Limits::default() };
        let mut decoder = RequestDecoder::new(limits);
        decoder.set_auth_required(auth);
        let mut buf = BytesMut::from(&input[..]);
        let mut guard = 0;
        while let Ok(Some(_)) = decoder.decode(&mut buf) {
            guard += 1;
            prop_assert!(guard <= input.len(), "a request that consumed nothing");
        }
    }

    #[test]
    fn frame_decoder_never_panics(input in vec(any::<u8>(), 0..256)) {
        let limits = Limits { max_inline_len: 64, max_bulk_len: 64, max_depth: 8, ..Limits::default() };
        let mut decoder = FrameDecoder::new(limits);
        let mut buf = BytesMut::from(&input[..]);
        let before = buf.len();
        if let Ok(Some(_)) = decoder.decode(&mut buf) {
            prop_assert!(buf.len() < before);
        }
    }

    #[test]
    fn frame_decoder_never_panics_on_mutated_valid_frames(
        f in frame(), at in any::<usize>(), byte in any::<u8>(),
    ) {
        let mut bytes = f.to_bytes().to_vec();
        let i = at % bytes.len();
        bytes[i] = byte;
        let mut buf = BytesMut::from(&bytes[..]);
        let _ = FrameDecoder::default().decode(&mut buf);
    }
}
