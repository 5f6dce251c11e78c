//! The server's request parser on arbitrary bytes: it must never panic, and
//! decoding the input in one piece or split in two must give the same
//! requests and the same error.
#![no_main]

use bytes::BytesMut;
use ferrodis_resp::{RequestDecoder, RequestError};
use libfuzzer_sys::fuzz_target;

type Outcome = (Vec<Vec<Vec<u8>>>, Option<RequestError>, usize);

fn run(parts: &[&[u8]], auth: bool) -> Outcome {
    let mut decoder = RequestDecoder::default();
    decoder.set_auth_required(auth);
    let mut buf = BytesMut::new();
    let mut requests = Vec::new();
    for part in parts {
        buf.extend_from_slice(part);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(args)) => {
                    assert!(!args.is_empty(), "an empty request was returned");
                    requests.push(args.iter().map(|a| a.to_vec()).collect());
                }
                Ok(None) => break,
                Err(e) => return (requests, Some(e), buf.len()),
            }
        }
    }
    (requests, None, buf.len())
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, input)) = data.split_first() else {
        return;
    };
    let auth = control & 1 == 1;
    let cut = if input.is_empty() { 0 } else { usize::from(control) % (input.len() + 1) };
    let whole = run(&[input], auth);
    let split = run(&[&input[..cut], &input[cut..]], auth);
    // Inputs stay far below the 64 KiB line limit, where Redis' answer can
    // depend on how bytes were split across reads.
    assert_eq!(whole.0, split.0, "requests differ when split at {cut}");
    assert_eq!(whole.1, split.1, "errors differ when split at {cut}");
    if whole.1.is_none() {
        assert_eq!(whole.2, split.2, "leftover differs when split at {cut}");
    }
});
