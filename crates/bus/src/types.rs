//! The quantities a bus message carries: node ids, addresses, slot bitmaps,
//! epochs and flag words.
//!
//! Fixed-size fields keep all their bytes, so that a message decoded and
//! encoded again is the same message byte for byte.

use crate::layout::field::{IP_LEN, NODE_ID_LEN, SLOTS_LEN};
use std::fmt;
use std::ops::{BitOr, BitOrAssign};
use std::str::FromStr;

/// A node id: 40 bytes, normally lowercase hex characters, with no
/// terminator. The all-zero id ([`NodeId::NULL`]) means "no node" (the
/// replicaof field of a master).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub [u8; NODE_ID_LEN]);

impl NodeId {
    /// The all-zero id: no node.
    pub const NULL: NodeId = NodeId([0; NODE_ID_LEN]);

    /// The 40 bytes.
    pub fn as_bytes(&self) -> &[u8; NODE_ID_LEN] {
        &self.0
    }

    /// Whether this is the all-zero id.
    pub fn is_null(&self) -> bool {
        self.0 == [0; NODE_ID_LEN]
    }

    /// Whether every byte is a lowercase letter or a digit, the rule a Redis
    /// node applies to ids given in commands.
    pub fn is_valid(&self) -> bool {
        self.0
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    }
}

/// An id that is not 40 lowercase letters and digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidNodeId;

impl Default for NodeId {
    /// [`NodeId::NULL`].
    fn default() -> Self {
        NodeId::NULL
    }
}

impl fmt::Display for InvalidNodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a node id is 40 lowercase letters and digits")
    }
}

impl std::error::Error for InvalidNodeId {}

impl FromStr for NodeId {
    type Err = InvalidNodeId;

    /// Parses a node id as `CLUSTER MYID` prints it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes: [u8; NODE_ID_LEN] = s.as_bytes().try_into().map_err(|_| InvalidNodeId)?;
        let id = NodeId(bytes);
        if id.is_valid() {
            Ok(id)
        } else {
            Err(InvalidNodeId)
        }
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.escape_ascii())
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_null() {
            f.write_str("NodeId::NULL")
        } else {
            write!(f, "NodeId(\"{}\")", self.0.escape_ascii())
        }
    }
}

/// An IP address field: 46 bytes holding the address as text, ended by a NUL
/// and padded (an IPv6 address takes up to 45 characters). An empty field
/// ([`NodeIp::EMPTY`]) in a header means "use the address the message came
/// from".
///
/// All 46 bytes are kept, including whatever follows the first NUL, because
/// a Redis node may leave old bytes there.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeIp(pub [u8; IP_LEN]);

impl NodeIp {
    /// The empty address.
    pub const EMPTY: NodeIp = NodeIp([0; IP_LEN]);

    /// The field holding `ip` and zeros, if `ip` has at most 45 bytes and no
    /// NUL.
    pub fn new(ip: &[u8]) -> Option<NodeIp> {
        if ip.len() >= IP_LEN || ip.contains(&0) {
            return None;
        }
        let mut raw = [0; IP_LEN];
        raw.iter_mut().zip(ip).for_each(|(slot, b)| *slot = *b);
        Some(NodeIp(raw))
    }

    /// The address: the bytes before the first NUL (all 46 when there is
    /// none).
    pub fn as_bytes(&self) -> &[u8] {
        let end = self.0.iter().position(|&b| b == 0).unwrap_or(IP_LEN);
        self.0.get(..end).unwrap_or_default()
    }

    /// Whether the address is empty (the first byte is NUL).
    pub fn is_empty(&self) -> bool {
        self.0.first() == Some(&0)
    }
}

impl Default for NodeIp {
    /// [`NodeIp::EMPTY`].
    fn default() -> Self {
        NodeIp::EMPTY
    }
}

impl fmt::Display for NodeIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_bytes().escape_ascii())
    }
}

impl fmt::Debug for NodeIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeIp(\"{}\"", self.as_bytes().escape_ascii())?;
        // Old bytes after the terminator, without the trailing zeros.
        let after = self.0.get(self.as_bytes().len() + 1..).unwrap_or_default();
        let end = after.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        let tail = after.get(..end).unwrap_or_default();
        if !tail.is_empty() {
            write!(f, ", tail \"{}\"", tail.escape_ascii())?;
        }
        f.write_str(")")
    }
}

/// The number of hash slots.
pub const SLOTS: u16 = 16384;

/// A set of hash slots as the bus carries it: 2048 bytes, slot `n` being bit
/// `n % 8` (least significant first) of byte `n / 8`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SlotBitmap(Box<[u8; SLOTS_LEN]>);

impl SlotBitmap {
    /// No slots.
    pub fn new() -> SlotBitmap {
        SlotBitmap(Box::new([0; SLOTS_LEN]))
    }

    /// The bitmap with these bytes.
    pub fn from_bytes(bytes: [u8; SLOTS_LEN]) -> SlotBitmap {
        SlotBitmap(Box::new(bytes))
    }

    /// The 2048 bytes.
    pub fn as_bytes(&self) -> &[u8; SLOTS_LEN] {
        &self.0
    }

    /// Whether `slot` is in the set (false for numbers from 16384 up).
    pub fn contains(&self, slot: u16) -> bool {
        self.0
            .get(usize::from(slot / 8))
            .is_some_and(|byte| byte & (1 << (slot % 8)) != 0)
    }

    /// Adds `slot`; returns false, changing nothing, for numbers from 16384
    /// up.
    pub fn insert(&mut self, slot: u16) -> bool {
        match self.0.get_mut(usize::from(slot / 8)) {
            Some(byte) => {
                *byte |= 1 << (slot % 8);
                true
            }
            None => false,
        }
    }

    /// Removes `slot`.
    pub fn remove(&mut self, slot: u16) {
        if let Some(byte) = self.0.get_mut(usize::from(slot / 8)) {
            *byte &= !(1 << (slot % 8));
        }
    }

    /// The number of slots in the set.
    pub fn count(&self) -> u32 {
        self.0.iter().map(|b| b.count_ones()).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&b| b == 0)
    }

    /// The slots in the set, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        (0..SLOTS).filter(|&slot| self.contains(slot))
    }

    /// The slots in the set as inclusive ranges, ascending.
    pub fn ranges(&self) -> Vec<(u16, u16)> {
        let mut ranges: Vec<(u16, u16)> = Vec::new();
        for slot in self.iter() {
            match ranges.last_mut() {
                Some((_, end)) if *end + 1 == slot => *end = slot,
                _ => ranges.push((slot, slot)),
            }
        }
        ranges
    }
}

impl Default for SlotBitmap {
    fn default() -> Self {
        SlotBitmap::new()
    }
}

impl FromIterator<u16> for SlotBitmap {
    /// The set of these slots; numbers from 16384 up are left out.
    fn from_iter<I: IntoIterator<Item = u16>>(iter: I) -> Self {
        let mut bitmap = SlotBitmap::new();
        for slot in iter {
            bitmap.insert(slot);
        }
        bitmap
    }
}

impl fmt::Debug for SlotBitmap {
    /// Ranges, as `CLUSTER NODES` prints them: `SlotBitmap[0-99 5000]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SlotBitmap[")?;
        for (i, (start, end)) in self.ranges().into_iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            if start == end {
                write!(f, "{start}")?;
            } else {
                write!(f, "{start}-{end}")?;
            }
        }
        f.write_str("]")
    }
}

/// An epoch: the cluster's current epoch or a master's config epoch. The two
/// count in the same sequence (a new config epoch is the incremented current
/// epoch), so they share a type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Epoch(pub u64);

/// A replication offset: a master's, or what a replica has processed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReplOffset(pub u64);

/// The id of a module, in a MODULE message. Redis copies it into the message
/// without converting its byte order, so it is kept as the sender's 8 bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ModuleId(pub [u8; 8]);

/// A node's flags as the bus carries them (in the header for the sender, in
/// each gossip entry for the node it is about). Bits Redis 7.0 does not
/// define are kept as they are.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct NodeFlags(pub u16);

impl NodeFlags {
    /// No flag.
    pub const NONE: NodeFlags = NodeFlags(0);
    /// The node is a master.
    pub const MASTER: NodeFlags = NodeFlags(1);
    /// The node is a replica (`slave` in `CLUSTER NODES`).
    pub const REPLICA: NodeFlags = NodeFlags(1 << 1);
    /// The sender has not heard from the node in time: a suspected failure
    /// (`fail?`).
    pub const PFAIL: NodeFlags = NodeFlags(1 << 2);
    /// The node is agreed to have failed.
    pub const FAIL: NodeFlags = NodeFlags(1 << 3);
    /// The node is the sender itself.
    pub const MYSELF: NodeFlags = NodeFlags(1 << 4);
    /// The first PING/PONG exchange with the node has not happened yet.
    pub const HANDSHAKE: NodeFlags = NodeFlags(1 << 5);
    /// The node's address is not known.
    pub const NOADDR: NodeFlags = NodeFlags(1 << 6);
    /// A MEET is to be sent to the node.
    pub const MEET: NodeFlags = NodeFlags(1 << 7);
    /// The master may receive a migrating replica.
    pub const MIGRATE_TO: NodeFlags = NodeFlags(1 << 8);
    /// The replica will not try to fail over.
    pub const NOFAILOVER: NodeFlags = NodeFlags(1 << 9);

    /// Whether every bit of `other` is set.
    pub fn contains(self, other: NodeFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Sets the bits of `other`.
    pub fn insert(&mut self, other: NodeFlags) {
        self.0 |= other.0;
    }

    /// Clears the bits of `other`.
    pub fn remove(&mut self, other: NodeFlags) {
        self.0 &= !other.0;
    }
}

impl BitOr for NodeFlags {
    type Output = NodeFlags;
    fn bitor(self, rhs: NodeFlags) -> NodeFlags {
        NodeFlags(self.0 | rhs.0)
    }
}

impl BitOrAssign for NodeFlags {
    fn bitor_assign(&mut self, rhs: NodeFlags) {
        self.0 |= rhs.0;
    }
}

impl fmt::Debug for NodeFlags {
    /// The names of the set bits, as `CLUSTER NODES` would print them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [(NodeFlags, &str); 10] = [
            (NodeFlags::MYSELF, "myself"),
            (NodeFlags::MASTER, "master"),
            (NodeFlags::REPLICA, "slave"),
            (NodeFlags::PFAIL, "fail?"),
            (NodeFlags::FAIL, "fail"),
            (NodeFlags::HANDSHAKE, "handshake"),
            (NodeFlags::NOADDR, "noaddr"),
            (NodeFlags::MEET, "meet"),
            (NodeFlags::MIGRATE_TO, "migrate-to"),
            (NodeFlags::NOFAILOVER, "nofailover"),
        ];
        let mut rest = self.0;
        f.write_str("NodeFlags(")?;
        let mut first = true;
        for (flag, name) in NAMES {
            if self.contains(flag) {
                if !first {
                    f.write_str(",")?;
                }
                f.write_str(name)?;
                first = false;
                rest &= !flag.0;
            }
        }
        if rest != 0 {
            if !first {
                f.write_str(",")?;
            }
            write!(f, "{rest:#x}")?;
        }
        f.write_str(")")
    }
}

/// The three message flag bytes of the header. Redis 7.0 defines bits of the
/// first byte only; the others are kept as they are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct MessageFlags(pub [u8; 3]);

impl MessageFlags {
    /// No flag.
    pub const NONE: MessageFlags = MessageFlags([0; 3]);
    /// The sending master has paused its clients for a manual failover.
    pub const PAUSED: MessageFlags = MessageFlags([1, 0, 0]);
    /// In a FAILOVER_AUTH_REQUEST: vote even though the master is not
    /// failing (manual failover).
    pub const FORCEACK: MessageFlags = MessageFlags([1 << 1, 0, 0]);
    /// In a PING, PONG or MEET: ping extensions follow the gossip entries.
    /// [`encode`](crate::encode) sets it whenever the body has extensions.
    pub const EXT_DATA: MessageFlags = MessageFlags([1 << 2, 0, 0]);

    /// Whether every bit of `other` is set.
    pub fn contains(self, other: MessageFlags) -> bool {
        self.0
            .iter()
            .zip(other.0)
            .all(|(mine, theirs)| mine & theirs == theirs)
    }

    /// Sets the bits of `other`.
    pub fn insert(&mut self, other: MessageFlags) {
        self.0
            .iter_mut()
            .zip(other.0)
            .for_each(|(mine, theirs)| *mine |= theirs);
    }

    /// Clears the bits of `other`.
    pub fn remove(&mut self, other: MessageFlags) {
        self.0
            .iter_mut()
            .zip(other.0)
            .for_each(|(mine, theirs)| *mine &= !theirs);
    }
}

impl BitOr for MessageFlags {
    type Output = MessageFlags;
    fn bitor(mut self, rhs: MessageFlags) -> MessageFlags {
        self.insert(rhs);
        self
    }
}

/// The cluster state as the sender sees it. Values other than the two Redis
/// defines are kept as they are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ClusterState(pub u8);

impl ClusterState {
    /// The cluster serves queries (`cluster_state:ok`).
    pub const OK: ClusterState = ClusterState(0);
    /// The cluster does not serve queries (`cluster_state:fail`).
    pub const FAIL: ClusterState = ClusterState(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_bits_are_least_significant_first() {
        let slots: SlotBitmap = [0, 9, 16383, 16384].into_iter().collect();
        assert_eq!(slots.as_bytes()[0], 0b0000_0001);
        assert_eq!(slots.as_bytes()[1], 0b0000_0010);
        assert_eq!(slots.as_bytes()[2047], 0b1000_0000);
        assert_eq!(slots.count(), 3);
        assert_eq!(slots.ranges(), vec![(0, 0), (9, 9), (16383, 16383)]);
        assert_eq!(format!("{slots:?}"), "SlotBitmap[0 9 16383]");
        let range: SlotBitmap = (100..=200).collect();
        assert_eq!(format!("{range:?}"), "SlotBitmap[100-200]");
    }

    #[test]
    fn node_ids() {
        let id: NodeId = "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca".parse().unwrap();
        assert!(id.is_valid() && !id.is_null());
        assert_eq!(id.to_string(), "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca");
        assert!("E7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca"
            .parse::<NodeId>()
            .is_err());
        assert!("e7d1".parse::<NodeId>().is_err());
        assert!(NodeId::NULL.is_null());
        assert_eq!(format!("{:?}", NodeId::NULL), "NodeId::NULL");
    }

    #[test]
    fn ips_keep_their_tail() {
        let ip = NodeIp::new(b"127.0.0.1").unwrap();
        assert_eq!(ip.as_bytes(), b"127.0.0.1");
        assert!(!ip.is_empty() && NodeIp::EMPTY.is_empty());
        assert!(NodeIp::new(&[b'1'; 46]).is_none());
        assert!(NodeIp::new(b"1\x002").is_none());
        let mut raw = [0; 46];
        raw[..9].copy_from_slice(b"10.0.0.1\0");
        raw[9] = b'0';
        let stale = NodeIp(raw);
        assert_eq!(stale.as_bytes(), b"10.0.0.1");
        assert_ne!(stale, NodeIp::new(b"10.0.0.1").unwrap());
        assert_eq!(format!("{stale:?}"), "NodeIp(\"10.0.0.1\", tail \"0\")");
    }

    #[test]
    fn flags() {
        let mut flags = NodeFlags::MASTER | NodeFlags::MYSELF;
        assert_eq!(flags.0, 17);
        assert!(flags.contains(NodeFlags::MASTER));
        flags.remove(NodeFlags::MASTER);
        flags.insert(NodeFlags(0x8000));
        assert_eq!(format!("{flags:?}"), "NodeFlags(myself,0x8000)");
        let m = MessageFlags::PAUSED | MessageFlags::EXT_DATA;
        assert_eq!(m.0, [5, 0, 0]);
        assert!(m.contains(MessageFlags::EXT_DATA) && !m.contains(MessageFlags::FORCEACK));
    }
}
