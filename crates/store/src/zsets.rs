//! Sorted set operations (being written): the `ZSetValue` type and its typed API.

/// A sorted set value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ZSetValue {}

impl ZSetValue {
    /// The encoding `OBJECT ENCODING` reports.
    pub fn encoding(&self) -> &'static str {
        "listpack"
    }

    /// Approximate heap bytes held.
    pub fn heap_size(&self) -> usize {
        0
    }
}
