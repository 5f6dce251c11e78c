//! The AOF command reader on arbitrary bytes, as the loader meets a file:
//! it must never panic or hang, offsets must stay inside the input and move
//! forward, a truncation point must lie at or before the last complete
//! command, and what reads to a clean end must read back the same once
//! re-encoded.
#![no_main]

use ferrodis_persist::{encode_command, AofError, AofReader};
use libfuzzer_sys::fuzz_target;

/// Reads everything from `start`: the commands and how it ended.
fn read(input: &[u8], start: usize) -> (Vec<Vec<Vec<u8>>>, Result<(), AofError>) {
    let mut reader = AofReader::starting_at(input, start);
    let mut cmds = Vec::new();
    let mut last_end = reader.offset();
    loop {
        match reader.next_command() {
            Ok(Some(cmd)) => {
                assert!(last_end <= cmd.offset && cmd.offset < cmd.end);
                assert!(cmd.end <= input.len());
                assert_eq!(reader.offset(), cmd.end);
                assert!(!cmd.argv.is_empty());
                last_end = cmd.end;
                cmds.push(cmd.argv);
            }
            Ok(None) => return (cmds, Ok(())),
            Err(e) => {
                if let Some(at) = e.truncate_to() {
                    assert!(at <= last_end);
                }
                if let AofError::Corrupt { offset, .. } = e {
                    assert!(offset >= last_end && offset < input.len());
                }
                assert_eq!(reader.next_command(), Err(e.clone()));
                return (cmds, Err(e));
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&skip, input)) = data.split_first() else {
        return;
    };
    // From the start, and from a later offset as after an RDB preamble.
    for start in [0, usize::from(skip) % (input.len() + 1)] {
        let (cmds, end) = read(input, start);
        if end.is_ok() {
            let mut again = Vec::new();
            for argv in &cmds {
                encode_command(&mut again, argv);
            }
            assert_eq!(read(&again, 0), (cmds, Ok(())));
        }
    }
});
