//! Arbitrary master bytes into the replica's replication state machine,
//! cut into pieces at the points the input's first bytes choose: it must
//! never panic, every payload chunk and command it returns must come from
//! bytes it was given (no allocation for a length it has not seen), and
//! the processed offset never runs ahead of the stream bytes received.
#![no_main]

use ferrodis_repl::replica::{Action, Config, Link};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (cuts, input) = data.split_at(data.len().min(4));
    let mut link = Link::new(
        Config {
            listening_port: 6380,
            ip_address: None,
            user: None,
            password: Some(b"secret".to_vec()),
        },
        None,
    );
    link.start();
    let mut at = 0;
    let mut points: Vec<usize> = cuts.iter().map(|c| *c as usize % (input.len() + 1)).collect();
    points.sort_unstable();
    points.push(input.len());
    let mut fed = 0usize;
    let mut produced = 0usize;
    for p in points {
        let piece = &input[at..p];
        at = p;
        fed += piece.len();
        let Ok(actions) = link.on_bytes(piece) else {
            return;
        };
        for a in actions {
            match a {
                Action::RdbChunk(c) => produced += c.len(),
                Action::Command { raw, .. } => produced += raw.len(),
                _ => {}
            }
        }
        assert!(produced <= fed);
    }
});
