//! The AOF manifest parser on arbitrary bytes: it must never panic, what
//! it accepts must be consistent (one base, increasing incremental
//! sequence numbers, no paths), and writing it back must parse to the same
//! state, except where Redis' own format cannot say it (an empty name or
//! one with a single quote, which Redis writes unquoted, and lines that
//! quoting makes longer than the line limit).
#![no_main]

use ferrodis_persist::{AofFileKind, Manifest, ManifestErrorKind, MANIFEST_MAX_LINE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(m) = Manifest::parse(data) else {
        return;
    };
    assert!(m.base.iter().all(|b| b.kind == AofFileKind::Base));
    assert!(m.history.iter().all(|h| h.kind == AofFileKind::History));
    assert!(m.incrs.iter().all(|i| i.kind == AofFileKind::Incr));
    assert!(m.incrs.windows(2).all(|w| w[0].seq < w[1].seq));
    let files = || m.base.iter().chain(&m.history).chain(&m.incrs);
    assert!(files().all(|f| f.seq > 0 && !f.name.contains(['/', '\\', '\0'])));
    assert_eq!(m.base_seq, m.base.as_ref().map_or(0, |b| b.seq));
    assert_eq!(m.incr_seq, m.incrs.last().map_or(0, |i| i.seq));

    let text = m.to_text();
    assert!(text.is_ascii());
    match Manifest::parse(text.as_bytes()) {
        Ok(again) => assert_eq!(again, m),
        Err(e) => {
            let unsayable = files().any(|f| f.name.is_empty() || f.name.contains('\''));
            let too_long = text.lines().any(|l| l.len() >= MANIFEST_MAX_LINE);
            let empty = files().next().is_none();
            match e.kind {
                ManifestErrorKind::InvalidFormat => assert!(unsayable, "{e}: {text:?}"),
                ManifestErrorKind::LineTooLong => assert!(too_long, "{e}: {text:?}"),
                ManifestErrorKind::Empty => assert!(empty, "{e}: {text:?}"),
                _ => panic!("{e}: {text:?}"),
            }
        }
    }
});
