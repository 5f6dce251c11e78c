//! The limits a decoder enforces, as Redis configures them.

/// `proto-max-bulk-len`'s default: 512 MiB.
pub const DEFAULT_MAX_BULK_LEN: usize = 512 * 1024 * 1024;
/// The largest argument count Redis 7.0 accepts in one request (`INT_MAX`).
pub const DEFAULT_MAX_MULTIBULK_LEN: usize = i32::MAX as usize;
/// `PROTO_INLINE_MAX_SIZE`: the longest inline request, and the longest
/// `*`/`$` header line, Redis waits for before giving up.
pub const DEFAULT_MAX_INLINE_LEN: usize = 64 * 1024;
/// Default nesting limit for aggregates in [`crate::decode_frame`].
pub const DEFAULT_MAX_DEPTH: usize = 64;
/// The most arguments a client that must still `AUTH` may send in one request.
pub const UNAUTHENTICATED_MAX_MULTIBULK_LEN: usize = 10;
/// The longest argument a client that must still `AUTH` may send.
pub const UNAUTHENTICATED_MAX_BULK_LEN: usize = 16 * 1024;

/// Limits applied while decoding. The defaults are Redis 7's.
///
/// ```
/// use ferrodis_resp::Limits;
/// // `proto-max-bulk-len 1mb`
/// let limits = Limits { max_bulk_len: 1024 * 1024, ..Limits::default() };
/// assert_eq!(limits.max_inline_len, 64 * 1024);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest bulk string accepted (`proto-max-bulk-len`).
    pub max_bulk_len: usize,
    /// The largest argument count (requests) or aggregate size (frames).
    pub max_multibulk_len: usize,
    /// The longest inline request or header line.
    pub max_inline_len: usize,
    /// How deep aggregates may nest in [`crate::decode_frame`]; requests are
    /// always flat.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: DEFAULT_MAX_BULK_LEN,
            max_multibulk_len: DEFAULT_MAX_MULTIBULK_LEN,
            max_inline_len: DEFAULT_MAX_INLINE_LEN,
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }
}
