//! A cluster node's name: 40 characters, chosen at random when the node is
//! first started and kept in `nodes.conf` for its whole life.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// Length of a node id in characters (and bytes: it is ASCII).
pub const NODE_ID_LEN: usize = 40;

/// Why text is not a node id.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum NodeIdError {
    /// Not 40 bytes long.
    #[error("a node id is 40 characters long, not {0}")]
    Length(usize),
    /// A byte that is neither a digit nor a lowercase ASCII letter.
    #[error("a node id holds only digits and lowercase letters, not byte {0:#04x}")]
    Byte(u8),
}

/// A node's id: 40 ASCII digits and lowercase letters.
///
/// Redis generates ids as 40 lowercase hex digits
/// ([`NodeId::from_random`] does the same) but accepts any digits and
/// lowercase letters where it reads one, and so does [`NodeId::parse`].
///
/// ```
/// use ferrodis_slots::NodeId;
/// let id = NodeId::from_random([0xab; 20]);
/// assert_eq!(id.as_str(), "abababababababababababababababababababab");
/// assert_eq!(NodeId::parse(id.as_str()), Ok(id));
/// assert!(NodeId::parse("ABABABABABABABABABABABABABABABABABABABAB").is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId([u8; NODE_ID_LEN]);

impl NodeId {
    /// Parses a node id written as text.
    pub fn parse(text: &str) -> Result<NodeId, NodeIdError> {
        NodeId::from_bytes(text.as_bytes())
    }

    /// The node id in `bytes`, such as the 40-byte name fields of a cluster
    /// bus message.
    pub fn from_bytes(bytes: &[u8]) -> Result<NodeId, NodeIdError> {
        let id: [u8; NODE_ID_LEN] = bytes
            .try_into()
            .map_err(|_| NodeIdError::Length(bytes.len()))?;
        match id
            .iter()
            .find(|b| !(b.is_ascii_digit() || b.is_ascii_lowercase()))
        {
            Some(&bad) => Err(NodeIdError::Byte(bad)),
            None => Ok(NodeId(id)),
        }
    }

    /// A new node's id: the 20 random bytes the caller drew, in lowercase
    /// hex.
    pub fn from_random(bytes: [u8; 20]) -> NodeId {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut id = [0; NODE_ID_LEN];
        for (pair, byte) in id.chunks_exact_mut(2).zip(bytes) {
            let hex = |nibble: u8| HEX.get(usize::from(nibble)).copied().unwrap_or(b'0');
            if let [hi, lo] = pair {
                *hi = hex(byte >> 4);
                *lo = hex(byte & 0x0f);
            }
        }
        NodeId(id)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Always ASCII: every constructor checks or produces it.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The id's 40 bytes, as the cluster bus carries them.
    pub fn as_bytes(&self) -> &[u8; NODE_ID_LEN] {
        &self.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({})", self.as_str())
    }
}

impl FromStr for NodeId {
    type Err = NodeIdError;

    fn from_str(text: &str) -> Result<NodeId, NodeIdError> {
        NodeId::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print() {
        let text = "3167b5fd18e4551c91baafe598d72c6cdecb6302";
        let id = NodeId::parse(text).unwrap();
        assert_eq!(id.to_string(), text);
        assert_eq!(id.as_bytes(), text.as_bytes());
        assert_eq!(NodeId::from_bytes(text.as_bytes()), Ok(id));
        assert_eq!(format!("{id:?}"), format!("NodeId({text})"));
        // Redis accepts any lowercase letter, not only hex digits.
        assert!(NodeId::parse("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz").is_ok());
    }

    #[test]
    fn errors() {
        assert_eq!(NodeId::parse(""), Err(NodeIdError::Length(0)));
        assert_eq!(NodeId::parse(&"a".repeat(41)), Err(NodeIdError::Length(41)));
        assert_eq!(
            NodeId::parse(&format!("{}A", "a".repeat(39))),
            Err(NodeIdError::Byte(b'A'))
        );
        assert_eq!(
            NodeId::parse(&format!("{}-", "a".repeat(39))),
            Err(NodeIdError::Byte(b'-'))
        );
        // 20 two-byte characters: 40 bytes, not ASCII.
        assert!(NodeId::parse(&"é".repeat(20)).is_err());
    }

    #[test]
    fn from_random_is_lowercase_hex() {
        let mut bytes = [0u8; 20];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37).wrapping_add(0x0f);
        }
        let id = NodeId::from_random(bytes);
        assert!(id
            .as_str()
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(&id.as_str()[..4], "0f34");
        assert_eq!(NodeId::parse(id.as_str()), Ok(id));
    }
}
