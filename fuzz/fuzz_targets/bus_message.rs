//! The cluster bus decoder on arbitrary bytes: it must never panic; the
//! framer must agree with it on where a message ends; and every message it
//! accepts must encode to bytes that decode to the same message. (Those bytes
//! may be shorter: a hostname extension padded beyond the needed multiple of
//! 8, which Redis accepts too, is encoded with the least padding.)
//!
//! Each input is tried twice: as it is, and as the body of a message whose
//! header passes the framing checks, with the fields the body parsers read
//! (type, gossip count, extension count, message flags) taken from the first
//! six bytes. The second form lets a fuzzer with no corpus reach the body
//! parsers at once.
#![no_main]

use ferrodis_bus::layout::header;
use ferrodis_bus::{decode, encode, frame_len, next_frame, Body, Header, Message};
use libfuzzer_sys::fuzz_target;

fn check(data: &[u8]) {
    let framed = next_frame(data);
    match decode(data) {
        Ok(message) => {
            assert_eq!(frame_len(data), Ok(Some(data.len())));
            assert_eq!(framed, Ok(Some(data)));
            let bytes = encode(&message).expect("a decoded message encodes");
            assert!(bytes.len() <= data.len());
            assert_eq!(decode(&bytes).expect("its encoding decodes"), message);
        }
        Err(_) => {
            if let Ok(Some(frame)) = framed {
                assert!(frame.len() <= data.len());
            }
        }
    }
}

/// A message with a valid prefix: type, counts and flags from `fields`, then
/// `body`.
fn with_header(fields: &[u8; 6], body: &[u8]) -> Vec<u8> {
    let mut msg = encode(&Message {
        header: Header::default(),
        body: Body::MfStart,
    })
    .expect("an empty message encodes");
    msg.extend_from_slice(body);
    let len = msg.len() as u32;
    msg[header::TOTAL_LEN..header::TOTAL_LEN + 4].copy_from_slice(&len.to_be_bytes());
    msg[header::TYPE..header::TYPE + 2].copy_from_slice(&u16::from(fields[0] % 12).to_be_bytes());
    msg[header::MFLAGS] = fields[1];
    msg[header::COUNT..header::COUNT + 2].copy_from_slice(&fields[2..4]);
    msg[header::EXTENSIONS..header::EXTENSIONS + 2].copy_from_slice(&fields[4..6]);
    msg
}

fuzz_target!(|data: &[u8]| {
    check(data);
    if let Some((fields, body)) = data.split_first_chunk::<6>() {
        check(&with_header(fields, body));
    }
});
