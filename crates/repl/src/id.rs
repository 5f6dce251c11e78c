//! Replication ids and the PSYNC2 pair: the current history (`replid`,
//! `master_repl_offset`) and the one it continues (`replid2`, valid up to
//! `second_repl_offset`).

use std::fmt;

/// A replication id: 40 hexadecimal characters naming one history of the
/// dataset.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReplId([u8; 40]);

impl ReplId {
    /// Length on the wire.
    pub const LEN: usize = 40;

    /// The id Redis uses for "none": forty zeros.
    pub const ZERO: ReplId = ReplId([b'0'; 40]);

    /// Parses 40 hexadecimal characters (either case; kept as given).
    pub fn parse(text: &[u8]) -> Option<ReplId> {
        let bytes: [u8; 40] = text.try_into().ok()?;
        bytes
            .iter()
            .all(u8::is_ascii_hexdigit)
            .then_some(ReplId(bytes))
    }

    /// An id made from 160 random bits the caller supplies (the node draws
    /// them; this crate reads no entropy).
    pub fn from_random(words: [u64; 3]) -> ReplId {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [b'0'; 40];
        for (i, b) in out.iter_mut().enumerate() {
            let word = words.get(i / 16).copied().unwrap_or(0);
            let nibble = (word >> ((i % 16) * 4)) & 0xf;
            *b = HEX.get(nibble as usize).copied().unwrap_or(b'0');
        }
        ReplId(out)
    }

    /// The 40 bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// As text (always ASCII).
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("0000000000000000000000000000000000000000")
    }
}

impl fmt::Display for ReplId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for ReplId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReplId({})", self.as_str())
    }
}

/// The ids of a node's dataset history, as INFO replication prints them
/// (`master_replid`, `master_replid2`, `second_repl_offset`; the offset
/// itself is the backlog's `master_repl_offset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplIds {
    /// The current history.
    pub replid: ReplId,
    /// The history this one continues, or [`ReplId::ZERO`].
    pub replid2: ReplId,
    /// The first offset that is *not* shared with `replid2`'s history
    /// (Redis: `second_replid_offset`), or -1.
    pub second_repl_offset: i64,
}

impl ReplIds {
    /// A fresh history.
    pub fn new(replid: ReplId) -> ReplIds {
        ReplIds {
            replid,
            replid2: ReplId::ZERO,
            second_repl_offset: -1,
        }
    }

    /// PSYNC2's shift (Redis' `shiftReplicationId`), done when a replica
    /// becomes a master: the old id stays valid as `replid2` up to
    /// `master_repl_offset`, so replicas that followed the same master can
    /// continue from this node; `fresh` becomes the current id.
    pub fn shift(&mut self, fresh: ReplId, master_repl_offset: u64) {
        self.replid2 = self.replid;
        self.second_repl_offset = offset_i64(master_repl_offset) + 1;
        self.replid = fresh;
    }

    /// Forgets the secondary id (Redis' `clearReplicationId2`).
    pub fn clear_second(&mut self) {
        self.replid2 = ReplId::ZERO;
        self.second_repl_offset = -1;
    }
}

/// An offset as Redis' signed `long long`.
pub(crate) fn offset_i64(offset: u64) -> i64 {
    i64::try_from(offset).unwrap_or(i64::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_forty_hex_digits_only() {
        let id = ReplId::parse(&[b'a'; 40]).unwrap();
        assert_eq!(id.as_str(), "a".repeat(40));
        assert!(ReplId::parse(&[b'a'; 39]).is_none());
        assert!(ReplId::parse(&[b'g'; 40]).is_none());
        assert_eq!(ReplId::from_random([u64::MAX; 3]).as_str(), "f".repeat(40));
    }

    #[test]
    fn shift_keeps_the_old_id_as_replid2() {
        let a = ReplId::from_random([1, 2, 3]);
        let b = ReplId::from_random([4, 5, 6]);
        let mut ids = ReplIds::new(a);
        ids.shift(b, 1000);
        assert_eq!(ids.replid, b);
        assert_eq!(ids.replid2, a);
        assert_eq!(ids.second_repl_offset, 1001);
    }
}
