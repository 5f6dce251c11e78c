//! List operations (being written): the `ListValue` type and its typed API.

/// A list value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListValue {}

impl ListValue {
    /// The encoding `OBJECT ENCODING` reports.
    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    /// Approximate heap bytes held.
    pub fn heap_size(&self) -> usize {
        0
    }
}
