//! Hash operations (being written): the `HashValue` type and its typed API.

/// A hash value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HashValue {}

impl HashValue {
    /// The encoding `OBJECT ENCODING` reports.
    pub fn encoding(&self) -> &'static str {
        "listpack"
    }

    /// Approximate heap bytes held.
    pub fn heap_size(&self) -> usize {
        0
    }
}
