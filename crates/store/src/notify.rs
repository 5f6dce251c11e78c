//! Keyspace events: what the store reports when it changes a key, for
//! Redis' keyspace notifications (`notify-keyspace-events`) and anything
//! else an embedder wants to observe.
//!
//! Operations report `(class, event, key)` through [`Db::notify`]; the
//! store forwards those whose class is enabled in its mask to the
//! [`Notify`] sink installed with [`crate::Store::set_notifier`]. With no
//! class enabled, reporting costs one relaxed atomic load.

use std::sync::atomic::Ordering;

use crate::store::Db;

/// Event classes, as the letters of `notify-keyspace-events`.
pub mod class {
    /// `K`: publish on `__keyspace@<db>__:<key>`.
    pub const KEYSPACE: u32 = 1 << 0;
    /// `E`: publish on `__keyevent@<db>__:<event>`.
    pub const KEYEVENT: u32 = 1 << 1;
    /// `g`: generic commands (DEL, EXPIRE, RENAME, ...).
    pub const GENERIC: u32 = 1 << 2;
    /// `$`: string commands.
    pub const STRING: u32 = 1 << 3;
    /// `l`: list commands.
    pub const LIST: u32 = 1 << 4;
    /// `s`: set commands.
    pub const SET: u32 = 1 << 5;
    /// `h`: hash commands.
    pub const HASH: u32 = 1 << 6;
    /// `z`: sorted set commands.
    pub const ZSET: u32 = 1 << 7;
    /// `x`: keys removed because their TTL passed.
    pub const EXPIRED: u32 = 1 << 8;
    /// `e`: keys evicted by `maxmemory`.
    pub const EVICTED: u32 = 1 << 9;
    /// `t`: stream commands.
    pub const STREAM: u32 = 1 << 10;
    /// `m`: key misses.
    pub const KEY_MISS: u32 = 1 << 11;
    /// `d`: module events.
    pub const MODULE: u32 = 1 << 12;
    /// `n`: new keys.
    pub const NEW: u32 = 1 << 13;
    /// `A`: alias for `g$lshzxetd`.
    pub const ALL: u32 =
        GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;
}

/// Parses the flags of `notify-keyspace-events` into a class mask; `None`
/// for an unknown letter.
///
/// ```
/// use ferrodis_store::notify::{class, parse_flags};
/// assert_eq!(parse_flags("KEg"), Some(class::KEYSPACE | class::KEYEVENT | class::GENERIC));
/// assert_eq!(parse_flags("Kq"), None);
/// ```
pub fn parse_flags(flags: &str) -> Option<u32> {
    let mut mask = 0;
    for c in flags.chars() {
        mask |= match c {
            'A' => class::ALL,
            'g' => class::GENERIC,
            '$' => class::STRING,
            'l' => class::LIST,
            's' => class::SET,
            'h' => class::HASH,
            'z' => class::ZSET,
            'x' => class::EXPIRED,
            'e' => class::EVICTED,
            'K' => class::KEYSPACE,
            'E' => class::KEYEVENT,
            't' => class::STREAM,
            'm' => class::KEY_MISS,
            'd' => class::MODULE,
            'n' => class::NEW,
            _ => return None,
        };
    }
    Some(mask)
}

/// Where the store sends keyspace events.
pub trait Notify: Send + Sync + std::fmt::Debug {
    /// `key` in database `db` had `event` (e.g. `"set"`, `"del"`,
    /// `"expired"`) of class `class` (one of [`class`]). Called for the
    /// classes the notification mask enables, and always for `expired` and
    /// `evicted`, whatever the mask.
    fn notify(&self, db: usize, class: u32, event: &str, key: &[u8]);
}

impl Db<'_> {
    /// Reports an event on `key` if its class is enabled.
    #[inline]
    pub fn notify(&self, class: u32, event: &str, key: &[u8]) {
        let mask = self.store.settings().notify_mask.load(Ordering::Relaxed);
        // Expired and evicted keys always reach the sink, whatever the
        // mask: the embedder propagates them as deletions (the sink checks
        // the mask before publishing them).
        if (mask & class != 0 && mask & (class::KEYSPACE | class::KEYEVENT) != 0)
            || class & (class::EXPIRED | class::EVICTED) != 0
        {
            if let Some(sink) = self.store.notifier() {
                sink.notify(self.index, class, event, key);
            }
        }
    }
}
