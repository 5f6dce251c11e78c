//! The values a key can hold, and the per-key entry around them.

use crate::hashes::HashValue;
use crate::lists::ListValue;
use crate::sets::SetValue;
use crate::smallbytes::SmallBytes;
use crate::zsets::ZSetValue;

/// A Redis string: an integer when it is the canonical text of one (as
/// Redis' `int` encoding), bytes otherwise.
#[derive(Debug, Clone, PartialEq)]
pub enum StrValue {
    /// A string that is the canonical decimal text of this integer.
    Int(i64),
    /// Any other bytes.
    Raw(SmallBytes),
    /// A string modified in place (APPEND, SETRANGE, SETBIT, BITFIELD),
    /// with room to grow, so repeated appends cost amortized O(1) like
    /// Redis' `raw` strings.
    Buf(Vec<u8>),
}

impl StrValue {
    /// The string for `bytes`, integer-encoded when it reads back the same.
    pub fn from_bytes(bytes: &[u8]) -> StrValue {
        match ferrodis_resp::parse_i64(bytes) {
            Some(n) if bytes.len() <= 20 => StrValue::Int(n),
            _ => StrValue::Raw(SmallBytes::new(bytes)),
        }
    }

    /// The string's bytes (formatting an integer).
    pub fn to_vec(&self) -> Vec<u8> {
        match self {
            StrValue::Int(n) => n.to_string().into_bytes(),
            StrValue::Raw(b) => b.to_vec(),
            StrValue::Buf(v) => v.clone(),
        }
    }

    /// The bytes as a growable buffer for in-place edits; converts the
    /// string to [`StrValue::Buf`] the first time (one copy).
    pub fn make_mut(&mut self) -> &mut Vec<u8> {
        if !matches!(self, StrValue::Buf(_)) {
            *self = StrValue::Buf(self.to_vec());
        }
        match self {
            StrValue::Buf(v) => v,
            // Just set above.
            _ => unreachable!(),
        }
    }

    /// Calls `f` with the string's bytes, formatting an integer on the stack.
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            StrValue::Int(n) => {
                let mut buf = itoa_buf(*n);
                f(buf.as_slice())
            }
            StrValue::Raw(b) => f(b),
            StrValue::Buf(v) => f(v),
        }
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        match self {
            StrValue::Int(n) => itoa_buf(*n).len,
            StrValue::Raw(b) => b.len(),
            StrValue::Buf(v) => v.len(),
        }
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A formatted integer on the stack.
pub(crate) struct ItoaBuf {
    buf: [u8; 20],
    len: usize,
}

impl ItoaBuf {
    pub(crate) fn as_slice(&mut self) -> &[u8] {
        let start = self.buf.len() - self.len;
        self.buf.get(start..).unwrap_or_default()
    }
}

pub(crate) fn itoa_buf(n: i64) -> ItoaBuf {
    let mut buf = [0u8; 20];
    let mut v = n.unsigned_abs();
    let mut pos = buf.len();
    loop {
        pos -= 1;
        if let Some(b) = buf.get_mut(pos) {
            *b = b'0' + (v % 10) as u8;
        }
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        pos -= 1;
        if let Some(b) = buf.get_mut(pos) {
            *b = b'-';
        }
    }
    ItoaBuf {
        len: buf.len() - pos,
        buf,
    }
}

/// The type of a value, as `TYPE` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// `string`
    String,
    /// `list`
    List,
    /// `hash`
    Hash,
    /// `set`
    Set,
    /// `zset`
    ZSet,
}

impl ValueType {
    /// The name `TYPE` and `SCAN ... TYPE` use.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::List => "list",
            ValueType::Hash => "hash",
            ValueType::Set => "set",
            ValueType::ZSet => "zset",
        }
    }

    /// The type with this `TYPE` name (case-insensitive).
    pub fn from_name(name: &[u8]) -> Option<ValueType> {
        let lower = name.to_ascii_lowercase();
        Some(match &lower[..] {
            b"string" => ValueType::String,
            b"list" => ValueType::List,
            b"hash" => ValueType::Hash,
            b"set" => ValueType::Set,
            b"zset" => ValueType::ZSet,
            _ => return None,
        })
    }
}

/// A value stored under a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string.
    String(StrValue),
    /// A list.
    List(Box<ListValue>),
    /// A hash.
    Hash(Box<HashValue>),
    /// A set.
    Set(Box<SetValue>),
    /// A sorted set.
    ZSet(Box<ZSetValue>),
}

impl Value {
    /// The value's type.
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::String(_) => ValueType::String,
            Value::List(_) => ValueType::List,
            Value::Hash(_) => ValueType::Hash,
            Value::Set(_) => ValueType::Set,
            Value::ZSet(_) => ValueType::ZSet,
        }
    }

    /// The encoding `OBJECT ENCODING` reports, with Redis 7.0's names and
    /// thresholds.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::String(StrValue::Int(_)) => "int",
            // Redis' embstr holds strings up to 44 bytes.
            Value::String(StrValue::Raw(b)) if b.len() <= 44 => "embstr",
            Value::String(StrValue::Raw(_) | StrValue::Buf(_)) => "raw",
            Value::List(l) => l.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::Set(v) => v.encoding(),
            Value::ZSet(z) => z.encoding(),
        }
    }

    /// Approximate heap bytes held by the value beyond its inline part
    /// (the boxed part of a collection included).
    pub fn heap_size(&self) -> usize {
        use std::mem::size_of_val;
        match self {
            Value::String(StrValue::Int(_)) => 0,
            Value::String(StrValue::Raw(b)) => b.heap_size(),
            Value::String(StrValue::Buf(v)) => v.capacity(),
            Value::List(l) => size_of_val(&**l) + l.heap_size(),
            Value::Hash(h) => size_of_val(&**h) + h.heap_size(),
            Value::Set(v) => size_of_val(&**v) + v.heap_size(),
            Value::ZSet(z) => size_of_val(&**z) + z.heap_size(),
        }
    }
}

/// What the keyspace stores per key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) value: Value,
    /// Absolute expiry in Unix milliseconds; 0 when the key has no TTL.
    pub(crate) expire_at: u64,
    /// LRU clock (seconds) of the last access, or the LFU counter and
    /// decrement time, depending on the eviction policy (layout in the
    /// `evict` module).
    pub(crate) lru: u32,
}

impl Entry {
    pub(crate) fn new(value: Value, lru: u32) -> Entry {
        Entry {
            value,
            expire_at: 0,
            lru,
        }
    }

    #[inline]
    pub(crate) fn is_expired(&self, now_ms: u64) -> bool {
        self.expire_at != 0 && self.expire_at <= now_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_stay_small() {
        assert!(
            std::mem::size_of::<Value>() <= 32,
            "{}",
            std::mem::size_of::<Value>()
        );
        assert!(
            std::mem::size_of::<Entry>() <= 48,
            "{}",
            std::mem::size_of::<Entry>()
        );
    }

    #[test]
    fn integer_encoding_only_for_canonical_text() {
        assert_eq!(StrValue::from_bytes(b"123"), StrValue::Int(123));
        assert_eq!(StrValue::from_bytes(b"-5"), StrValue::Int(-5));
        assert!(matches!(StrValue::from_bytes(b"0123"), StrValue::Raw(_)));
        assert!(matches!(StrValue::from_bytes(b" 1"), StrValue::Raw(_)));
        assert_eq!(StrValue::Int(-42).to_vec(), b"-42");
        assert_eq!(StrValue::Int(i64::MIN).len(), 20);
        assert_eq!(StrValue::Int(0).with_bytes(|b| b.to_vec()), b"0");
    }
}
