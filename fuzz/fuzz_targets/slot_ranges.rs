//! Slot text on arbitrary input, as operators type it and `CLUSTER NODES`
//! or `redis-cli --cluster check` print it: the parsers must never panic,
//! and what they accept must print as maximal runs that parse back to the
//! same set. The same bytes, read as a bus bitmap, must agree with the
//! set's ranges, count and iterator.
#![no_main]

use ferrodis_slots::{SlotRange, SlotSet, SLOT_BITMAP_LEN};
use libfuzzer_sys::fuzz_target;

/// Checks what must hold of every set.
fn check(set: &SlotSet) {
    let ranges: Vec<SlotRange> = set.ranges().collect();
    for pair in ranges.windows(2) {
        assert!(pair[0].end().get() + 1 < pair[1].start().get());
    }
    assert_eq!(ranges.iter().map(|r| r.count()).sum::<usize>(), set.count());
    assert_eq!(set.iter().count(), set.count());
    let text = set.to_string();
    assert_eq!(SlotSet::parse(&text).as_ref(), Ok(set));
    assert_eq!(SlotSet::parse(&text).map(|s| s.to_string()), Ok(text));
    assert_eq!(
        SlotSet::parse_bracketed(&set.bracketed().to_string()).as_ref(),
        Ok(set)
    );
    assert_eq!(&SlotSet::from_bytes(set.as_bytes()), set);
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(set) = SlotSet::parse(&text) {
        check(&set);
    }
    if let Ok(set) = SlotSet::parse_bracketed(&text) {
        check(&set);
    }
    if let Ok(range) = text.parse::<SlotRange>() {
        assert_eq!(range.to_string().parse::<SlotRange>(), Ok(range));
        assert!(range.start() <= range.end());
    }

    let mut bytes = [0u8; SLOT_BITMAP_LEN];
    for (b, d) in bytes.iter_mut().zip(data) {
        *b = *d;
    }
    check(&SlotSet::from_bytes(&bytes));
});
