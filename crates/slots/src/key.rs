//! Key → hash slot, with Redis Cluster's hash tag rules.

use crc16::{State, XMODEM};

/// The number of hash slots in a Redis Cluster.
pub const SLOT_COUNT: u16 = 16384;

/// A hash slot, `0..16384`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slot(u16);

impl Slot {
    /// Slot 0, the first.
    pub const MIN: Slot = Slot(0);

    /// Slot 16383, the last.
    pub const MAX: Slot = Slot(SLOT_COUNT - 1);

    /// The slot with this number, if it is below 16384.
    pub fn new(n: u16) -> Option<Slot> {
        (n < SLOT_COUNT).then_some(Slot(n))
    }

    /// The slot's number.
    pub fn get(self) -> u16 {
        self.0
    }

    /// The slot's number as an index.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// The part of `key` that is hashed: the text between the first `{` and the
/// first `}` after it, when that text is not empty; otherwise the whole key.
///
/// ```
/// use ferrodis_slots::hash_tag;
/// assert_eq!(hash_tag(b"user:{42}:name"), b"42");
/// assert_eq!(hash_tag(b"foo{}{bar}"), b"foo{}{bar}");
/// assert_eq!(hash_tag(b"foo{{bar}}zap"), b"{bar");
/// ```
pub fn hash_tag(key: &[u8]) -> &[u8] {
    let Some(open) = key.iter().position(|&b| b == b'{') else {
        return key;
    };
    let rest = key.get(open + 1..).unwrap_or_default();
    match rest.iter().position(|&b| b == b'}') {
        Some(0) | None => key,
        Some(close) => rest.get(..close).unwrap_or(key),
    }
}

/// The hash slot of `key`: CRC16 (XMODEM) of its hash tag, modulo 16384.
///
/// ```
/// use ferrodis_slots::key_slot;
/// // The same values `redis-cli cluster keyslot` prints.
/// assert_eq!(key_slot(b"foo").get(), 12182);
/// assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"{user1000}.followers"));
/// ```
pub fn key_slot(key: &[u8]) -> Slot {
    Slot(State::<XMODEM>::calculate(hash_tag(key)) & (SLOT_COUNT - 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_slots() {
        // Values printed by `CLUSTER KEYSLOT` on Redis 7.
        for (key, slot) in [
            (&b"20160102"[..], 13896),
            (b"20160103", 9833),
            (b"1", 9842),
            (b"foo", 12182),
            (b"hello", 866),
            (b"", 0),
        ] {
            assert_eq!(
                key_slot(key).get(),
                slot,
                "{:?}",
                String::from_utf8_lossy(key)
            );
        }
        assert_eq!(State::<XMODEM>::calculate(b"123456789"), 0x31C3);
    }

    #[test]
    fn tag_rules() {
        for (key, tag) in [
            (&b"{a}b"[..], &b"a"[..]),
            (b"x{a}{b}", b"a"),
            (b"{}a", b"{}a"),
            (b"a{b", b"a{b"),
            (b"a}b{c}", b"c"),
            (b"{{a}}", b"{a"),
        ] {
            assert_eq!(hash_tag(key), tag);
        }
    }

    proptest! {
        #[test]
        fn keys_sharing_a_tag_share_a_slot(tag in "[a-z0-9]{1,8}", a in "[^{}]{0,8}", b in "[^{}]{0,8}") {
            let k1 = format!("{a}{{{tag}}}{b}");
            let k2 = format!("{b}{{{tag}}}x{a}");
            prop_assert_eq!(key_slot(k1.as_bytes()), key_slot(k2.as_bytes()));
            prop_assert!(key_slot(k1.as_bytes()).get() < SLOT_COUNT);
        }
    }
}
