//! The cluster bus decoder on arbitrary bytes: it must never panic; the
//! framer must agree with it on where a message ends; and every message it
//! accepts must encode to bytes that decode to the same message. (Those bytes
//! may be shorter: a hostname extension padded beyond the needed multiple of
//! 8, which Redis accepts too, is encoded with the least padding.)
#![no_main]

use ferrodis_bus::{decode, encode, frame_len, next_frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
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
            // A whole frame may still be a malformed message; a short buffer
            // is never a whole frame.
            if let Ok(Some(frame)) = framed {
                assert!(frame.len() <= data.len());
            }
        }
    }
});
