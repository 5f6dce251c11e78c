//! The RESP2/RESP3 frame decoder on arbitrary bytes: it must never panic,
//! decoding in one piece or split in two must agree, and every decoded frame
//! must encode and decode back to itself.
#![no_main]

use bytes::BytesMut;
use ferrodis_resp::{Frame, FrameDecoder, FrameError};
use libfuzzer_sys::fuzz_target;

fn run(parts: &[&[u8]]) -> (Vec<BytesMut>, Option<FrameError>) {
    let mut decoder = FrameDecoder::default();
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for part in parts {
        buf.extend_from_slice(part);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => {
                    check_round_trip(&frame);
                    frames.push(frame.to_bytes());
                }
                Ok(None) => break,
                Err(e) => return (frames, Some(e)),
            }
        }
    }
    (frames, None)
}

fn check_round_trip(frame: &Frame) {
    let mut encoded = frame.to_bytes();
    let again = FrameDecoder::default()
        .decode(&mut encoded)
        .expect("re-encoded frame decodes")
        .expect("re-encoded frame is complete");
    assert!(encoded.is_empty());
    // Compare encodings: NaN doubles are not equal to themselves.
    assert_eq!(again.to_bytes(), frame.to_bytes());
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, input)) = data.split_first() else {
        return;
    };
    let cut = if input.is_empty() { 0 } else { usize::from(control) % (input.len() + 1) };
    let whole = run(&[input]);
    let split = run(&[&input[..cut], &input[cut..]]);
    assert_eq!(whole, split, "split at {cut}");
});
