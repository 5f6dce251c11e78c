//! Set operations (being written): the `SetValue` type and its typed API.

/// A set value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SetValue {}

impl SetValue {
    /// The encoding `OBJECT ENCODING` reports.
    pub fn encoding(&self) -> &'static str {
        "hashtable"
    }

    /// Approximate heap bytes held.
    pub fn heap_size(&self) -> usize {
        0
    }
}
