//! `SmallBytes`: an immutable byte string stored inline when short.
//!
//! Most keys and many values are short. Storing up to 22 bytes inside the
//! 24-byte value itself saves one heap allocation (and its allocator
//! overhead) per key or value, which is most of the per-key memory of a
//! keyspace of small strings.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// The longest byte string stored inline.
pub const INLINE_CAPACITY: usize = 22;

#[derive(Clone)]
enum Repr {
    Inline { len: u8, buf: [u8; INLINE_CAPACITY] },
    Heap(Box<[u8]>),
}

/// An immutable byte string, inline up to [`INLINE_CAPACITY`] bytes.
///
/// It borrows as `[u8]`, hashes and compares like `[u8]`, so maps keyed by
/// `SmallBytes` are looked up with plain byte slices.
#[derive(Clone)]
pub struct SmallBytes(Repr);

impl SmallBytes {
    /// Copies `bytes`.
    pub fn new(bytes: &[u8]) -> SmallBytes {
        if bytes.len() <= INLINE_CAPACITY {
            let mut buf = [0u8; INLINE_CAPACITY];
            if let Some(dst) = buf.get_mut(..bytes.len()) {
                dst.copy_from_slice(bytes);
            }
            SmallBytes(Repr::Inline {
                len: bytes.len() as u8,
                buf,
            })
        } else {
            SmallBytes(Repr::Heap(bytes.into()))
        }
    }

    /// The bytes.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, buf } => buf.get(..usize::from(*len)).unwrap_or_default(),
            Repr::Heap(b) => b,
        }
    }

    /// Heap bytes used beyond the value itself (0 when inline).
    pub fn heap_size(&self) -> usize {
        match &self.0 {
            Repr::Inline { .. } => 0,
            Repr::Heap(b) => b.len(),
        }
    }

    /// Whether the bytes are stored inline.
    pub fn is_inline(&self) -> bool {
        matches!(self.0, Repr::Inline { .. })
    }
}

impl Default for SmallBytes {
    fn default() -> Self {
        SmallBytes::new(b"")
    }
}

impl Deref for SmallBytes {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for SmallBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Borrow<[u8]> for SmallBytes {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Hash for SmallBytes {
    // Must hash exactly as `[u8]` does, for `Borrow<[u8]>` lookups.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state)
    }
}

impl PartialEq for SmallBytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for SmallBytes {}

impl PartialOrd for SmallBytes {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SmallBytes {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

impl From<&[u8]> for SmallBytes {
    fn from(b: &[u8]) -> Self {
        SmallBytes::new(b)
    }
}

impl From<Vec<u8>> for SmallBytes {
    fn from(v: Vec<u8>) -> Self {
        if v.len() <= INLINE_CAPACITY {
            SmallBytes::new(&v)
        } else {
            SmallBytes(Repr::Heap(v.into_boxed_slice()))
        }
    }
}

impl fmt::Debug for SmallBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn inline_and_heap() {
        assert_eq!(std::mem::size_of::<SmallBytes>(), 24);
        let short = SmallBytes::new(b"key:000001");
        assert!(short.is_inline());
        assert_eq!(&*short, b"key:000001");
        let long = SmallBytes::new(&[7u8; 23]);
        assert!(!long.is_inline());
        assert_eq!(long.heap_size(), 23);
        assert_eq!(SmallBytes::from(vec![1u8; 40]).len(), 40);
    }

    #[test]
    fn looks_up_by_slice() {
        let mut m = HashMap::new();
        m.insert(SmallBytes::new(b"a"), 1);
        m.insert(SmallBytes::new(&[b'x'; 30]), 2);
        assert_eq!(m.get(&b"a"[..]), Some(&1));
        assert_eq!(m.get(&[b'x'; 30][..]), Some(&2));
    }
}
