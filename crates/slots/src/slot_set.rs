//! Sets of hash slots as a 16384-bit bitmap, runs of slots as
//! [`SlotRange`]s, and the two ways Redis prints them: `0-5460 5461-10922
//! 12000` (`CLUSTER NODES`, `nodes.conf`) and `[0-5460],[12000]`
//! (`redis-cli --cluster check`).

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::key::{Slot, SLOT_COUNT};

/// Length in bytes of a slot bitmap: one bit per slot, as the cluster bus
/// sends a node's slots in its message header.
pub const SLOT_BITMAP_LEN: usize = SLOT_COUNT as usize / 8;

/// Why text did not parse as slots.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SlotParseError {
    /// A number that is not a slot: slots are `0..=16383`.
    #[error("slot {text} is out of range: slots are 0 to 16383")]
    OutOfRange {
        /// The number as written.
        text: String,
    },
    /// A range whose end comes before its start, such as `10-5`.
    #[error("slot range {start}-{end} ends before it starts")]
    Reversed {
        /// The first number of the range.
        start: u16,
        /// The second number of the range.
        end: u16,
    },
    /// Text that is neither a slot number nor a range of two of them.
    #[error("{text:?} is not a slot or a slot range")]
    Junk {
        /// The text as written.
        text: String,
    },
}

/// A run of consecutive slots, `start..=end`, never empty.
///
/// Prints as Redis does: `5` for a single slot, `5-10` for more.
///
/// ```
/// use ferrodis_slots::{Slot, SlotRange};
/// let r: SlotRange = "0-5460".parse()?;
/// assert_eq!(r.count(), 5461);
/// assert_eq!(r.to_string(), "0-5460");
/// assert_eq!(SlotRange::single(Slot::new(7).unwrap()).to_string(), "7");
/// # Ok::<(), ferrodis_slots::SlotParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SlotRange {
    start: Slot,
    end: Slot,
}

impl SlotRange {
    /// The slots from `start` to `end`, both included; `None` if `end`
    /// comes before `start`.
    pub fn new(start: Slot, end: Slot) -> Option<SlotRange> {
        (start <= end).then_some(SlotRange { start, end })
    }

    /// The range holding `slot` alone.
    pub fn single(slot: Slot) -> SlotRange {
        SlotRange {
            start: slot,
            end: slot,
        }
    }

    /// All 16384 slots.
    pub fn all() -> SlotRange {
        SlotRange {
            start: Slot::MIN,
            end: Slot::MAX,
        }
    }

    /// The first slot of the range.
    pub fn start(self) -> Slot {
        self.start
    }

    /// The last slot of the range (included).
    pub fn end(self) -> Slot {
        self.end
    }

    /// How many slots the range holds (at least one).
    pub fn count(self) -> usize {
        usize::from(self.end.get() - self.start.get()) + 1
    }

    /// Whether `slot` lies in the range.
    pub fn contains(self, slot: Slot) -> bool {
        self.start <= slot && slot <= self.end
    }

    /// The slots of the range, in order.
    pub fn iter(self) -> impl Iterator<Item = Slot> {
        (self.start.get()..=self.end.get()).filter_map(Slot::new)
    }
}

impl fmt::Display for SlotRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.start == self.end {
            write!(f, "{}", self.start.get())
        } else {
            write!(f, "{}-{}", self.start.get(), self.end.get())
        }
    }
}

impl FromStr for SlotRange {
    type Err = SlotParseError;

    /// Parses `N` or `N-M` (decimal digits only, no sign, no spaces).
    fn from_str(text: &str) -> Result<SlotRange, SlotParseError> {
        match text.split_once('-') {
            None => parse_slot(text, text).map(SlotRange::single),
            Some((a, b)) => {
                let start = parse_slot(a, text)?;
                let end = parse_slot(b, text)?;
                SlotRange::new(start, end).ok_or(SlotParseError::Reversed {
                    start: start.get(),
                    end: end.get(),
                })
            }
        }
    }
}

/// A slot number: decimal digits, any number of leading zeros, at most
/// 16383. `whole` is the text an error names when `digits` is not a number.
fn parse_slot(digits: &str, whole: &str) -> Result<Slot, SlotParseError> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SlotParseError::Junk {
            text: whole.to_owned(),
        });
    }
    let value = digits.bytes().fold(0u32, |n, b| {
        n.saturating_mul(10).saturating_add(u32::from(b - b'0'))
    });
    u16::try_from(value)
        .ok()
        .and_then(Slot::new)
        .ok_or_else(|| SlotParseError::OutOfRange {
            text: digits.to_owned(),
        })
}

/// A set of hash slots: 16384 bits, slot `s` being bit `s % 8` (the least
/// significant bit first) of byte `s / 8`, the layout of the cluster bus'
/// `myslots` field.
///
/// It prints as its maximal runs, separated by spaces, the way `CLUSTER
/// NODES` lists a node's slots; [`SlotSet::parse`] reads that form back (and
/// any other list of slots and ranges, overlapping or in any order).
///
/// ```
/// use ferrodis_slots::{Slot, SlotSet};
/// let mut set = SlotSet::parse("0-5460 12000")?;
/// set.insert(Slot::new(5461).unwrap());
/// assert_eq!(set.count(), 5463);
/// assert_eq!(set.to_string(), "0-5461 12000");
/// assert_eq!(set.bracketed().to_string(), "[0-5461],[12000]");
/// # Ok::<(), ferrodis_slots::SlotParseError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SlotSet {
    bits: Box<[u8; SLOT_BITMAP_LEN]>,
}

impl Default for SlotSet {
    fn default() -> SlotSet {
        SlotSet::new()
    }
}

impl SlotSet {
    /// The empty set.
    pub fn new() -> SlotSet {
        SlotSet {
            bits: Box::new([0; SLOT_BITMAP_LEN]),
        }
    }

    /// The set of all 16384 slots.
    pub fn all() -> SlotSet {
        SlotSet {
            bits: Box::new([0xff; SLOT_BITMAP_LEN]),
        }
    }

    /// The set a bitmap describes, in the cluster bus' bit order.
    pub fn from_bytes(bytes: &[u8; SLOT_BITMAP_LEN]) -> SlotSet {
        SlotSet {
            bits: Box::new(*bytes),
        }
    }

    /// The set as a bitmap, in the cluster bus' bit order.
    pub fn as_bytes(&self) -> &[u8; SLOT_BITMAP_LEN] {
        &self.bits
    }

    /// Adds `slot`; `true` if it was not in the set before.
    pub fn insert(&mut self, slot: Slot) -> bool {
        let (byte, mask) = position(slot);
        match self.bits.get_mut(byte) {
            Some(b) => {
                let added = *b & mask == 0;
                *b |= mask;
                added
            }
            None => false,
        }
    }

    /// Removes `slot`; `true` if it was in the set.
    pub fn remove(&mut self, slot: Slot) -> bool {
        let (byte, mask) = position(slot);
        match self.bits.get_mut(byte) {
            Some(b) => {
                let removed = *b & mask != 0;
                *b &= !mask;
                removed
            }
            None => false,
        }
    }

    /// Whether `slot` is in the set.
    pub fn contains(&self, slot: Slot) -> bool {
        let (byte, mask) = position(slot);
        self.bits.get(byte).is_some_and(|b| b & mask != 0)
    }

    /// Adds every slot of `range`.
    pub fn insert_range(&mut self, range: SlotRange) {
        self.fill(range, true);
    }

    /// Removes every slot of `range`.
    pub fn remove_range(&mut self, range: SlotRange) {
        self.fill(range, false);
    }

    /// Sets (`on`) or clears every bit of `range`, a whole byte at a time
    /// where the range covers one.
    fn fill(&mut self, range: SlotRange, on: bool) {
        let (mut at, end) = (range.start().index(), range.end().index());
        while at <= end {
            if at % 8 == 0 && at + 7 <= end {
                if let Some(byte) = self.bits.get_mut(at / 8) {
                    *byte = if on { 0xff } else { 0 };
                }
                at += 8;
            } else {
                let mask = 1 << (at % 8);
                if let Some(byte) = self.bits.get_mut(at / 8) {
                    if on {
                        *byte |= mask;
                    } else {
                        *byte &= !mask;
                    }
                }
                at += 1;
            }
        }
    }

    /// Adds every slot of `other`.
    pub fn union_with(&mut self, other: &SlotSet) {
        for (a, b) in self.bits.iter_mut().zip(other.bits.iter()) {
            *a |= b;
        }
    }

    /// Keeps only the slots that are also in `other`.
    pub fn intersect_with(&mut self, other: &SlotSet) {
        for (a, b) in self.bits.iter_mut().zip(other.bits.iter()) {
            *a &= b;
        }
    }

    /// Removes every slot of `other`.
    pub fn subtract(&mut self, other: &SlotSet) {
        for (a, b) in self.bits.iter_mut().zip(other.bits.iter()) {
            *a &= !b;
        }
    }

    /// Whether no slot is in both sets.
    pub fn is_disjoint(&self, other: &SlotSet) -> bool {
        self.bits
            .iter()
            .zip(other.bits.iter())
            .all(|(a, b)| a & b == 0)
    }

    /// The set of the slots that are not in this one.
    pub fn complement(&self) -> SlotSet {
        let mut out = SlotSet::all();
        out.subtract(self);
        out
    }

    /// Removes every slot.
    pub fn clear(&mut self) {
        *self.bits = [0; SLOT_BITMAP_LEN];
    }

    /// How many slots the set holds.
    pub fn count(&self) -> usize {
        self.bits.iter().map(|b| b.count_ones() as usize).sum()
    }

    /// Whether the set holds no slot.
    pub fn is_empty(&self) -> bool {
        self.bits.iter().all(|&b| b == 0)
    }

    /// Whether the set holds all 16384 slots.
    pub fn is_full(&self) -> bool {
        self.bits.iter().all(|&b| b == 0xff)
    }

    /// The slots of the set, in ascending order.
    pub fn iter(&self) -> Iter<'_> {
        Iter { set: self, next: 0 }
    }

    /// The maximal runs of consecutive slots, in ascending order: no two
    /// runs touch or overlap.
    pub fn ranges(&self) -> Ranges<'_> {
        Ranges { set: self, next: 0 }
    }

    /// Parses slots and ranges separated by whitespace, as `CLUSTER NODES`
    /// prints them (`0-5460 5461-10922 12000`). Ranges may overlap and come
    /// in any order; empty text is the empty set.
    pub fn parse(text: &str) -> Result<SlotSet, SlotParseError> {
        let mut set = SlotSet::new();
        for word in text.split_ascii_whitespace() {
            set.insert_range(word.parse()?);
        }
        Ok(set)
    }

    /// Parses the form `redis-cli --cluster check` prints:
    /// `[0-5460],[5461-10922],[12000]` (no spaces; empty text is the empty
    /// set).
    pub fn parse_bracketed(text: &str) -> Result<SlotSet, SlotParseError> {
        let mut set = SlotSet::new();
        if text.is_empty() {
            return Ok(set);
        }
        for item in text.split(',') {
            let inner = item
                .strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
                .ok_or_else(|| SlotParseError::Junk {
                    text: item.to_owned(),
                })?;
            set.insert_range(inner.parse()?);
        }
        Ok(set)
    }

    /// The set in `redis-cli --cluster check`'s form: each maximal run in
    /// brackets, separated by commas (`[0-5460],[12000]`).
    pub fn bracketed(&self) -> Bracketed<'_> {
        Bracketed(self)
    }

    /// The 64 slots `64 * index .. 64 * index + 64` as a word, bit `i`
    /// being slot `64 * index + i`.
    fn word(&self, index: usize) -> Option<u64> {
        let bytes = self.bits.get(index * 8..index * 8 + 8)?;
        Some(u64::from_le_bytes(bytes.try_into().ok()?))
    }

    /// The first slot number at or after `from` that is in the set
    /// (`want == true`) or not in it (`want == false`).
    fn next_with(&self, from: usize, want: bool) -> Option<usize> {
        let flip = if want { 0 } else { u64::MAX };
        let mut index = from / 64;
        let mut word = (self.word(index)? ^ flip) & (u64::MAX << (from % 64));
        loop {
            if word != 0 {
                return Some(index * 64 + word.trailing_zeros() as usize);
            }
            index += 1;
            word = self.word(index)? ^ flip;
        }
    }
}

/// The byte of the bitmap that holds `slot`, and the bit within it.
fn position(slot: Slot) -> (usize, u8) {
    (slot.index() / 8, 1 << (slot.get() % 8))
}

impl fmt::Display for SlotSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, range) in self.ranges().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{range}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for SlotSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SlotSet({:?})", self.to_string())
    }
}

impl FromStr for SlotSet {
    type Err = SlotParseError;

    /// As [`SlotSet::parse`].
    fn from_str(text: &str) -> Result<SlotSet, SlotParseError> {
        SlotSet::parse(text)
    }
}

impl FromIterator<Slot> for SlotSet {
    fn from_iter<I: IntoIterator<Item = Slot>>(iter: I) -> SlotSet {
        let mut set = SlotSet::new();
        set.extend(iter);
        set
    }
}

impl FromIterator<SlotRange> for SlotSet {
    fn from_iter<I: IntoIterator<Item = SlotRange>>(iter: I) -> SlotSet {
        let mut set = SlotSet::new();
        set.extend(iter);
        set
    }
}

impl Extend<Slot> for SlotSet {
    fn extend<I: IntoIterator<Item = Slot>>(&mut self, iter: I) {
        for slot in iter {
            self.insert(slot);
        }
    }
}

impl Extend<SlotRange> for SlotSet {
    fn extend<I: IntoIterator<Item = SlotRange>>(&mut self, iter: I) {
        for range in iter {
            self.insert_range(range);
        }
    }
}

impl<'a> IntoIterator for &'a SlotSet {
    type Item = Slot;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// The slots of a [`SlotSet`] in ascending order ([`SlotSet::iter`]).
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    set: &'a SlotSet,
    next: usize,
}

impl Iterator for Iter<'_> {
    type Item = Slot;

    fn next(&mut self) -> Option<Slot> {
        let at = self.set.next_with(self.next, true)?;
        self.next = at + 1;
        u16::try_from(at).ok().and_then(Slot::new)
    }
}

/// The maximal runs of a [`SlotSet`] in ascending order
/// ([`SlotSet::ranges`]).
#[derive(Debug, Clone)]
pub struct Ranges<'a> {
    set: &'a SlotSet,
    next: usize,
}

impl Iterator for Ranges<'_> {
    type Item = SlotRange;

    fn next(&mut self) -> Option<SlotRange> {
        let start = self.set.next_with(self.next, true)?;
        let end = self
            .set
            .next_with(start, false)
            .unwrap_or(usize::from(SLOT_COUNT));
        self.next = end;
        let slot = |n: usize| u16::try_from(n).ok().and_then(Slot::new);
        SlotRange::new(slot(start)?, slot(end - 1)?)
    }
}

/// A [`SlotSet`] printed as `redis-cli --cluster check` does
/// ([`SlotSet::bracketed`]).
#[derive(Debug, Clone, Copy)]
pub struct Bracketed<'a>(&'a SlotSet);

impl fmt::Display for Bracketed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, range) in self.0.ranges().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "[{range}]")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn slot(n: u16) -> Slot {
        Slot::new(n).unwrap()
    }

    fn set_of(slots: &[u16]) -> SlotSet {
        slots.iter().map(|&n| slot(n)).collect()
    }

    #[test]
    fn bit_order_is_the_cluster_bus_order() {
        // Slot s is bit s % 8 of byte s / 8, least significant bit first.
        let set = set_of(&[0, 9, 16383]);
        let bytes = set.as_bytes();
        assert_eq!(bytes[0], 0b0000_0001);
        assert_eq!(bytes[1], 0b0000_0010);
        assert_eq!(bytes[2047], 0b1000_0000);
        assert_eq!(bytes.iter().filter(|&&b| b != 0).count(), 3);
        assert_eq!(SlotSet::from_bytes(bytes), set);
    }

    #[test]
    fn insert_remove_contains() {
        let mut set = SlotSet::new();
        assert!(set.is_empty());
        assert!(set.insert(slot(42)));
        assert!(!set.insert(slot(42)));
        assert!(set.contains(slot(42)));
        assert!(!set.contains(slot(43)));
        assert_eq!(set.count(), 1);
        assert!(set.remove(slot(42)));
        assert!(!set.remove(slot(42)));
        assert!(set.is_empty());
        assert!(SlotSet::all().is_full());
        assert_eq!(SlotSet::all().count(), 16384);
    }

    #[test]
    fn ranges_are_maximal_runs() {
        let mut set = SlotSet::parse("0-5460 5461-10922 12000 63 64 127-128 16383").unwrap();
        assert_eq!(set.to_string(), "0-10922 12000 16383");
        set.remove(slot(0));
        set.remove(slot(64));
        assert_eq!(set.to_string(), "1-63 65-10922 12000 16383");
        assert_eq!(SlotSet::all().to_string(), "0-16383");
        assert_eq!(SlotSet::new().to_string(), "");
        let ranges: Vec<_> = SlotSet::all().ranges().collect();
        assert_eq!(ranges, vec![SlotRange::all()]);
    }

    #[test]
    fn ranges_fill_whole_bytes_and_edges() {
        for (start, end) in [
            (0, 0),
            (0, 7),
            (1, 8),
            (7, 16),
            (3, 4),
            (8, 15),
            (5, 16383),
            (16376, 16383),
        ] {
            let range = SlotRange::new(slot(start), slot(end)).unwrap();
            let mut set = SlotSet::new();
            set.insert_range(range);
            let slow: SlotSet = range.iter().collect();
            assert_eq!(set, slow, "{range}");
            assert_eq!(set.ranges().collect::<Vec<_>>(), vec![range]);
            let mut all = SlotSet::all();
            all.remove_range(range);
            assert_eq!(all, slow.complement(), "{range}");
        }
    }

    #[test]
    fn set_operations() {
        let a = SlotSet::parse("0-10").unwrap();
        let b = SlotSet::parse("5-15").unwrap();
        let mut u = a.clone();
        u.union_with(&b);
        assert_eq!(u.to_string(), "0-15");
        let mut i = a.clone();
        i.intersect_with(&b);
        assert_eq!(i.to_string(), "5-10");
        let mut d = a.clone();
        d.subtract(&b);
        assert_eq!(d.to_string(), "0-4");
        assert!(!a.is_disjoint(&b));
        assert!(d.is_disjoint(&b));
        assert_eq!(a.complement().to_string(), "11-16383");
    }

    #[test]
    fn text_errors() {
        for (text, err) in [
            (
                "16384",
                SlotParseError::OutOfRange {
                    text: "16384".into(),
                },
            ),
            (
                "0-99999999999999999999",
                SlotParseError::OutOfRange {
                    text: "99999999999999999999".into(),
                },
            ),
            ("10-5", SlotParseError::Reversed { start: 10, end: 5 }),
            ("1 x", SlotParseError::Junk { text: "x".into() }),
            ("-5", SlotParseError::Junk { text: "-5".into() }),
            ("5-", SlotParseError::Junk { text: "5-".into() }),
            (
                "1-2-3",
                SlotParseError::Junk {
                    text: "1-2-3".into(),
                },
            ),
            ("+5", SlotParseError::Junk { text: "+5".into() }),
            ("5,6", SlotParseError::Junk { text: "5,6".into() }),
        ] {
            assert_eq!(SlotSet::parse(text), Err(err), "{text:?}");
        }
        assert_eq!(SlotSet::parse("  007 \t 9-9\n").unwrap().to_string(), "7 9");
        assert_eq!(
            SlotSet::parse("16384").unwrap_err().to_string(),
            "slot 16384 is out of range: slots are 0 to 16383"
        );
    }

    #[test]
    fn bracketed_form() {
        let set = SlotSet::parse("0-5460 5462 10923-16383").unwrap();
        assert_eq!(set.bracketed().to_string(), "[0-5460],[5462],[10923-16383]");
        assert_eq!(
            SlotSet::parse_bracketed("[0-5460],[5462],[10923-16383]").unwrap(),
            set
        );
        assert_eq!(SlotSet::parse_bracketed("").unwrap(), SlotSet::new());
        for bad in ["[1", "1]", "[1],", "[1] ,[2]", "[]", "[1-0]", "[16384]"] {
            assert!(SlotSet::parse_bracketed(bad).is_err(), "{bad:?}");
        }
    }

    fn arb_set() -> impl Strategy<Value = SlotSet> {
        prop_oneof![
            // Sparse: a few slots anywhere.
            prop::collection::vec(0..SLOT_COUNT, 0..40)
                .prop_map(|v| v.into_iter().filter_map(Slot::new).collect()),
            // Dense: runs, including the edges 0 and 16383.
            prop::collection::vec((0..SLOT_COUNT, 0u16..3000), 0..8).prop_map(|v| {
                v.into_iter()
                    .filter_map(|(s, len)| {
                        SlotRange::new(slot(s), slot(s.saturating_add(len).min(SLOT_COUNT - 1)))
                    })
                    .collect()
            }),
            // Any bitmap.
            prop::collection::vec(any::<u8>(), SLOT_BITMAP_LEN).prop_map(|v| {
                let mut bytes = [0; SLOT_BITMAP_LEN];
                bytes.copy_from_slice(&v);
                SlotSet::from_bytes(&bytes)
            }),
        ]
    }

    proptest! {
        #[test]
        fn set_ranges_text_round_trip(set in arb_set()) {
            // Ranges are maximal, ascending, and cover exactly the set.
            let ranges: Vec<SlotRange> = set.ranges().collect();
            for pair in ranges.windows(2) {
                prop_assert!(pair[0].end().get() + 1 < pair[1].start().get());
            }
            prop_assert_eq!(ranges.iter().map(|r| r.count()).sum::<usize>(), set.count());
            prop_assert_eq!(&ranges.iter().copied().collect::<SlotSet>(), &set);
            prop_assert_eq!(set.iter().count(), set.count());
            prop_assert!(set.iter().all(|s| set.contains(s)));

            // Text round trips, both forms.
            let text = set.to_string();
            prop_assert_eq!(&SlotSet::parse(&text).unwrap(), &set);
            let bracketed = set.bracketed().to_string();
            prop_assert_eq!(&SlotSet::parse_bracketed(&bracketed).unwrap(), &set);
            prop_assert_eq!(SlotSet::parse(&text).unwrap().to_string(), text);

            // Bytes round trip, and the complement partitions the slots.
            prop_assert_eq!(&SlotSet::from_bytes(set.as_bytes()), &set);
            let other = set.complement();
            prop_assert!(set.is_disjoint(&other));
            prop_assert_eq!(set.count() + other.count(), 16384);
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,40}|[0-9 \\-\\[\\],]{0,40}") {
            if let Ok(set) = SlotSet::parse(&text) {
                prop_assert_eq!(SlotSet::parse(&set.to_string()).unwrap(), set);
            }
            if let Ok(set) = SlotSet::parse_bracketed(&text) {
                prop_assert_eq!(SlotSet::parse_bracketed(&set.bracketed().to_string()).unwrap(), set);
            }
            if let Ok(range) = text.parse::<SlotRange>() {
                prop_assert_eq!(range.to_string().parse::<SlotRange>().unwrap(), range);
            }
        }
    }
}
