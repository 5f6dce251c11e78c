//! Hash operations: HSET, HSETNX, HGET, HMGET, HGETALL, HKEYS, HVALS, HDEL,
//! HLEN, HSTRLEN, HEXISTS, HINCRBY, HINCRBYFLOAT, HRANDFIELD, HSCAN; and
//! [`HashValue`], a hash with Redis 7.0's two encodings.
//!
//! A hash starts as a `listpack`: a small vector of field/value pairs in
//! insertion order, searched linearly. It becomes a `hashtable` (a
//! [`Dict`]) once it holds more than `hash-max-listpack-entries` fields or
//! a field or value longer than `hash-max-listpack-value` bytes, and never
//! goes back, as in Redis.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use crate::access::{expect_type, Access};
use crate::dict::Dict;
use crate::error::StoreError;
use crate::glob::glob_match;
use crate::notify::class;
use crate::smallbytes::SmallBytes;
use crate::store::Db;
use crate::strings::{format_float, parse_float};
use crate::value::Value;

/// A hash value: field → value, both byte strings.
#[derive(Debug, Clone)]
pub struct HashValue {
    repr: Repr,
    /// Heap bytes of the fields and values stored out of line, kept up to
    /// date on every change so that [`HashValue::heap_size`] is O(1).
    bytes: usize,
}

#[derive(Debug, Clone)]
enum Repr {
    /// Pairs in insertion order (Redis' `listpack`).
    Listpack(Vec<(SmallBytes, SmallBytes)>),
    /// Redis' `hashtable`.
    Table(Dict<SmallBytes, SmallBytes>),
}

/// When a listpack hash becomes a hash table (`hash-max-listpack-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HashLimits {
    /// The most fields a listpack holds.
    pub(crate) entries: usize,
    /// The longest field or value a listpack holds, in bytes.
    pub(crate) value: usize,
}

impl HashLimits {
    /// No conversion at all: the limits never trigger.
    #[cfg(test)]
    pub(crate) const UNLIMITED: HashLimits = HashLimits {
        entries: usize::MAX,
        value: usize::MAX,
    };
}

impl Default for HashValue {
    fn default() -> Self {
        HashValue {
            repr: Repr::Listpack(Vec::new()),
            bytes: 0,
        }
    }
}

impl PartialEq for HashValue {
    /// Same fields with the same values, whatever the encodings.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(f, v)| other.get(f) == Some(v))
    }
}

impl HashValue {
    /// An empty hash (listpack encoded).
    pub fn new() -> HashValue {
        HashValue::default()
    }

    /// The encoding `OBJECT ENCODING` reports: `listpack` or `hashtable`.
    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Listpack(_) => "listpack",
            Repr::Table(_) => "hashtable",
        }
    }

    /// Approximate heap bytes held (O(1)).
    pub fn heap_size(&self) -> usize {
        let container = match &self.repr {
            Repr::Listpack(v) => v.capacity() * std::mem::size_of::<(SmallBytes, SmallBytes)>(),
            Repr::Table(d) => d.memory_usage(),
        };
        container + self.bytes
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Listpack(v) => v.len(),
            Repr::Table(d) => d.len(),
        }
    }

    /// Whether the hash has no field.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.repr {
            Repr::Listpack(v) => v.iter().find(|(f, _)| **f == *field).map(|(_, v)| &**v),
            Repr::Table(d) => d.get(field).map(|v| &**v),
        }
    }

    /// Every field and value: in insertion order for a listpack, in table
    /// order for a hash table.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        let (small, table) = match &self.repr {
            Repr::Listpack(v) => (Some(v.iter().map(|(f, v)| (&**f, &**v))), None),
            Repr::Table(d) => (None, Some(d.iter().map(|(f, v)| (&**f, &**v)))),
        };
        small
            .into_iter()
            .flatten()
            .chain(table.into_iter().flatten())
    }

    /// Sets `field` to `value`, converting to a hash table when `limits`
    /// say so. Returns whether the field is new.
    pub(crate) fn set(&mut self, field: &[u8], value: &[u8], limits: HashLimits) -> bool {
        if matches!(self.repr, Repr::Listpack(_))
            && (field.len() > limits.value || value.len() > limits.value)
        {
            self.convert();
        }
        let value = SmallBytes::new(value);
        let added = value.heap_size();
        let created = match &mut self.repr {
            Repr::Listpack(pairs) => {
                if let Some((_, v)) = pairs.iter_mut().find(|(f, _)| **f == *field) {
                    self.bytes -= v.heap_size();
                    *v = value;
                    false
                } else {
                    let field = SmallBytes::new(field);
                    self.bytes += field.heap_size();
                    pairs.push((field, value));
                    true
                }
            }
            Repr::Table(d) => {
                if let Some(v) = d.get_mut(field) {
                    self.bytes -= v.heap_size();
                    *v = value;
                    false
                } else {
                    let field = SmallBytes::new(field);
                    self.bytes += field.heap_size();
                    d.insert(field, value);
                    true
                }
            }
        };
        self.bytes += added;
        if created && self.len() > limits.entries {
            self.convert();
        }
        created
    }

    /// Removes `field`; returns whether it was there.
    pub(crate) fn remove(&mut self, field: &[u8]) -> bool {
        let removed = match &mut self.repr {
            Repr::Listpack(pairs) => match pairs.iter().position(|(f, _)| **f == *field) {
                Some(i) => {
                    let (f, v) = pairs.remove(i);
                    Some(f.heap_size() + v.heap_size())
                }
                None => None,
            },
            Repr::Table(d) => d
                .remove_entry(field)
                .map(|(f, v)| f.heap_size() + v.heap_size()),
        };
        match removed {
            Some(n) => {
                self.bytes -= n;
                true
            }
            None => false,
        }
    }

    /// Turns a listpack into a hash table (a no-op for a hash table).
    fn convert(&mut self) {
        if let Repr::Listpack(pairs) = &mut self.repr {
            let mut d = Dict::new();
            for (f, v) in pairs.drain(..) {
                d.insert(f, v);
            }
            self.repr = Repr::Table(d);
        }
    }

    /// A random field and its value.
    fn random_pair(&self, rng: &mut impl FnMut() -> u64) -> Option<(&[u8], &[u8])> {
        match &self.repr {
            Repr::Listpack(v) => {
                if v.is_empty() {
                    return None;
                }
                let i = (rng() % v.len() as u64) as usize;
                v.get(i).map(|(f, v)| (&**f, &**v))
            }
            Repr::Table(d) => d.random_entry(rng).map(|(f, v)| (&**f, &**v)),
        }
    }

    /// `count` distinct random pairs (`count < len`).
    fn random_distinct(&self, count: usize, rng: &mut impl FnMut() -> u64) -> Vec<(&[u8], &[u8])> {
        let len = self.len();
        if count.saturating_mul(3) > len {
            // Close to the whole hash: shuffle a copy and take a prefix.
            let mut all: Vec<(&[u8], &[u8])> = self.iter().collect();
            partial_shuffle(&mut all, count, rng);
            all.truncate(count);
            return all;
        }
        match &self.repr {
            Repr::Listpack(v) => pick_indices(v.len(), count, rng)
                .into_iter()
                .filter_map(|i| v.get(i).map(|(f, v)| (&**f, &**v)))
                .collect(),
            Repr::Table(_) => {
                let mut seen: HashSet<&[u8]> = HashSet::with_capacity(count);
                let mut out = Vec::with_capacity(count);
                while out.len() < count {
                    let Some((f, v)) = self.random_pair(rng) else {
                        break;
                    };
                    if seen.insert(f) {
                        out.push((f, v));
                    }
                }
                out
            }
        }
    }
}

/// Moves `k` uniformly chosen elements of `v` to its front, in random
/// order (the first `k` steps of a Fisher-Yates shuffle).
pub(crate) fn partial_shuffle<T>(v: &mut [T], k: usize, rng: &mut impl FnMut() -> u64) {
    let n = v.len();
    for i in 0..k.min(n) {
        let j = i + (rng() % (n - i) as u64) as usize;
        v.swap(i, j);
    }
}

/// `k` distinct random indices below `n` (`k` small next to `n`).
pub(crate) fn pick_indices(n: usize, k: usize, rng: &mut impl FnMut() -> u64) -> Vec<usize> {
    let k = k.min(n);
    let mut seen = HashSet::with_capacity(k);
    let mut out = Vec::with_capacity(k);
    while out.len() < k {
        let i = (rng() % n as u64) as usize;
        if seen.insert(i) {
            out.push(i);
        }
    }
    out
}

/// Field/value pairs, as HGETALL, HRANDFIELD and HSCAN return them.
pub type FieldValues = Vec<(Vec<u8>, Vec<u8>)>;

/// One step of an HSCAN: the next cursor and the pairs found.
pub type HashScan = (u64, FieldValues);

impl Db<'_> {
    /// The current listpack limits.
    pub(crate) fn hash_limits(&self) -> HashLimits {
        let s = self.store.settings();
        HashLimits {
            entries: s.hash_max_listpack_entries.load(Ordering::Relaxed),
            value: s.hash_max_listpack_value.load(Ordering::Relaxed),
        }
    }

    /// Reads the hash at `key` (`None` if missing) under its slot's lock.
    fn read_hash<R>(
        &self,
        key: &[u8],
        f: impl FnOnce(Option<&HashValue>) -> R,
    ) -> Result<R, StoreError> {
        let mut table = self.keys.lock(key);
        match self.live(&mut table, key, Access::Read) {
            None => Ok(f(None)),
            Some(e) => Ok(f(Some(expect_type!(e, Hash)?))),
        }
    }

    /// Modifies the hash at `key`. `f` returns its result and whether it
    /// changed the hash. A missing key is an empty hash, stored only if `f`
    /// leaves something in it; a hash left empty is deleted.
    fn write_hash<R>(
        &self,
        key: &[u8],
        f: impl FnOnce(&mut HashValue) -> Result<(R, bool), StoreError>,
    ) -> Result<R, StoreError> {
        let mut table = self.keys.lock(key);
        match self.live(&mut table, key, Access::Write) {
            Some(e) => {
                let hash = expect_type!(e, Hash)?;
                let (out, changed) = f(hash)?;
                if hash.is_empty() {
                    table.remove(key);
                } else if changed {
                    table.touch(key);
                }
                Ok(out)
            }
            None => {
                let mut hash = HashValue::new();
                let (out, _) = f(&mut hash)?;
                if !hash.is_empty() {
                    let entry = self.entry(Value::Hash(Box::new(hash)));
                    self.put(&mut table, key, entry);
                }
                Ok(out)
            }
        }
    }

    /// `HSET key field value [field value ...]` (and `HMSET`): how many
    /// fields were added (fields that existed are overwritten).
    pub fn hset(&self, key: &[u8], pairs: &[(&[u8], &[u8])]) -> Result<usize, StoreError> {
        let limits = self.hash_limits();
        let result = self.write_hash(key, |h| {
            let added = pairs.iter().filter(|(f, v)| h.set(f, v, limits)).count();
            Ok((added, !pairs.is_empty()))
        });
        if result.is_ok() && !pairs.is_empty() {
            self.notify(class::HASH, "hset", key);
        }
        result
    }

    /// `HSETNX key field value`: sets the field only if it does not exist;
    /// returns whether it did.
    pub fn hsetnx(&self, key: &[u8], field: &[u8], value: &[u8]) -> Result<bool, StoreError> {
        let limits = self.hash_limits();
        let result = self.write_hash(key, |h| {
            if h.get(field).is_some() {
                return Ok((false, false));
            }
            h.set(field, value, limits);
            Ok((true, true))
        });
        if result == Ok(true) {
            self.notify(class::HASH, "hset", key);
        }
        result
    }

    /// `HGET key field`.
    pub fn hget(&self, key: &[u8], field: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.read_hash(key, |h| h.and_then(|h| h.get(field)).map(<[u8]>::to_vec))
    }

    /// `HMGET key field [field ...]`: one value (or `None`) per field; a
    /// missing key gives all `None`.
    #[allow(clippy::type_complexity)]
    pub fn hmget(&self, key: &[u8], fields: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        self.read_hash(key, |h| {
            fields
                .iter()
                .map(|f| h.and_then(|h| h.get(f)).map(<[u8]>::to_vec))
                .collect()
        })
    }

    /// `HGETALL key`: every field with its value.
    pub fn hgetall(&self, key: &[u8]) -> Result<FieldValues, StoreError> {
        self.read_hash(key, |h| {
            h.map_or_else(Vec::new, |h| {
                h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect()
            })
        })
    }

    /// `HKEYS key`: every field.
    pub fn hkeys(&self, key: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
        self.read_hash(key, |h| {
            h.map_or_else(Vec::new, |h| h.iter().map(|(f, _)| f.to_vec()).collect())
        })
    }

    /// `HVALS key`: every value.
    pub fn hvals(&self, key: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
        self.read_hash(key, |h| {
            h.map_or_else(Vec::new, |h| h.iter().map(|(_, v)| v.to_vec()).collect())
        })
    }

    /// `HDEL key field [field ...]`: how many fields were removed. The key
    /// is deleted when its last field goes.
    pub fn hdel(&self, key: &[u8], fields: &[&[u8]]) -> Result<usize, StoreError> {
        let mut table = self.keys.lock(key);
        let Some(e) = self.live(&mut table, key, Access::Write) else {
            return Ok(0);
        };
        let h = expect_type!(e, Hash)?;
        let mut removed = 0;
        for f in fields {
            if h.remove(f) {
                removed += 1;
                if h.is_empty() {
                    break;
                }
            }
        }
        let emptied = h.is_empty();
        if emptied {
            table.remove(key);
        } else if removed > 0 {
            table.touch(key);
        }
        if removed > 0 {
            self.notify(class::HASH, "hdel", key);
        }
        if emptied {
            self.notify(class::GENERIC, "del", key);
        }
        Ok(removed)
    }

    /// `HLEN key`: the number of fields (0 for a missing key).
    pub fn hlen(&self, key: &[u8]) -> Result<usize, StoreError> {
        self.read_hash(key, |h| h.map_or(0, HashValue::len))
    }

    /// `HSTRLEN key field`: the length of the field's value (0 if missing).
    pub fn hstrlen(&self, key: &[u8], field: &[u8]) -> Result<usize, StoreError> {
        self.read_hash(key, |h| h.and_then(|h| h.get(field)).map_or(0, <[u8]>::len))
    }

    /// `HEXISTS key field`.
    pub fn hexists(&self, key: &[u8], field: &[u8]) -> Result<bool, StoreError> {
        self.read_hash(key, |h| h.is_some_and(|h| h.get(field).is_some()))
    }

    /// `HINCRBY key field delta`: the new value. A missing field counts as
    /// 0; a value that is not an integer is `HashValueNotInteger`.
    pub fn hincrby(&self, key: &[u8], field: &[u8], delta: i64) -> Result<i64, StoreError> {
        let limits = self.hash_limits();
        let result = self.write_hash(key, |h| {
            let current = match h.get(field) {
                None => 0,
                Some(v) => ferrodis_resp::parse_i64(v).ok_or(StoreError::HashValueNotInteger)?,
            };
            let next = current.checked_add(delta).ok_or(StoreError::Overflow)?;
            h.set(field, next.to_string().as_bytes(), limits);
            Ok((next, true))
        });
        if result.is_ok() {
            self.notify(class::HASH, "hincrby", key);
        }
        result
    }

    /// `HINCRBYFLOAT key field delta`: the new value as Redis prints it. A
    /// missing field counts as 0; a value that is not a float is
    /// `HashValueNotFloat`; a result that is not finite is `NanOrInfinity`.
    pub fn hincrbyfloat(
        &self,
        key: &[u8],
        field: &[u8],
        delta: f64,
    ) -> Result<Vec<u8>, StoreError> {
        let limits = self.hash_limits();
        let result = self.write_hash(key, |h| {
            let current = match h.get(field) {
                None => 0.0,
                Some(v) => parse_float(v).ok_or(StoreError::HashValueNotFloat)?,
            };
            let next = current + delta;
            if !next.is_finite() {
                return Err(StoreError::NanOrInfinity);
            }
            let text = format_float(next).into_bytes();
            h.set(field, &text, limits);
            Ok((text, true))
        });
        if result.is_ok() {
            self.notify(class::HASH, "hincrbyfloat", key);
        }
        result
    }

    /// `HRANDFIELD key`: a random field, `None` for a missing key.
    pub fn hrandfield(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let mut rng = || self.store.random();
        self.read_hash(key, |h| {
            h.and_then(|h| h.random_pair(&mut rng))
                .map(|(f, _)| f.to_vec())
        })
    }

    /// `HRANDFIELD key count [WITHVALUES]`: random fields with their
    /// values. A positive `count` gives distinct fields (at most all of
    /// them); a negative one gives exactly `-count` fields, possibly
    /// repeated.
    pub fn hrandfield_count(&self, key: &[u8], count: i64) -> Result<FieldValues, StoreError> {
        let mut rng = || self.store.random();
        self.read_hash(key, |h| {
            let Some(h) = h else {
                return Vec::new();
            };
            let owned = |(f, v): (&[u8], &[u8])| (f.to_vec(), v.to_vec());
            let n = count.unsigned_abs();
            if n == 0 {
                return Vec::new();
            }
            if count < 0 || n == 1 {
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                let mut out = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    match h.random_pair(&mut rng) {
                        Some(p) => out.push(owned(p)),
                        None => break,
                    }
                }
                return out;
            }
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            if n >= h.len() {
                return h.iter().map(owned).collect();
            }
            h.random_distinct(n, &mut rng)
                .into_iter()
                .map(owned)
                .collect()
        })
    }

    /// `HSCAN key cursor [MATCH pattern] [COUNT count]`: one step of a
    /// cursor iteration over fields and values. A listpack hash is returned
    /// whole with cursor 0, as Redis does.
    pub fn hscan(
        &self,
        key: &[u8],
        cursor: u64,
        pattern: Option<&[u8]>,
        count: usize,
    ) -> Result<HashScan, StoreError> {
        self.read_hash(key, |h| {
            let Some(h) = h else {
                return (0, Vec::new());
            };
            let keep = |f: &[u8]| match pattern {
                None => true,
                Some(p) => glob_match(p, f, false),
            };
            match &h.repr {
                Repr::Listpack(pairs) => (
                    0,
                    pairs
                        .iter()
                        .filter(|(f, _)| keep(f))
                        .map(|(f, v)| (f.to_vec(), v.to_vec()))
                        .collect(),
                ),
                Repr::Table(d) => {
                    let count = count.max(1);
                    let mut budget = count.saturating_mul(20);
                    let mut seen = 0;
                    let mut out = Vec::new();
                    let mut cursor = cursor;
                    loop {
                        cursor = d.scan(cursor, |f, v| {
                            seen += 1;
                            if keep(f) {
                                out.push((f.to_vec(), v.to_vec()));
                            }
                        });
                        budget = budget.saturating_sub(1);
                        if cursor == 0 || budget == 0 || seen >= count {
                            break;
                        }
                    }
                    (cursor, out)
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: HashLimits = HashLimits {
        entries: 4,
        value: 8,
    };

    #[test]
    fn listpack_keeps_insertion_order_and_converts_on_count() {
        let mut h = HashValue::new();
        for (i, f) in [b"d", b"a", b"c", b"b"].iter().enumerate() {
            assert!(h.set(*f, i.to_string().as_bytes(), SMALL));
        }
        assert_eq!(h.encoding(), "listpack");
        let fields: Vec<&[u8]> = h.iter().map(|(f, _)| f).collect();
        assert_eq!(fields, [b"d", b"a", b"c", b"b"]);
        assert!(!h.set(b"a", b"x", SMALL));
        assert_eq!(h.get(b"a"), Some(&b"x"[..]));
        assert_eq!(h.encoding(), "listpack");
        assert!(h.set(b"e", b"4", SMALL));
        assert_eq!(h.encoding(), "hashtable");
        assert!(h.remove(b"e") && h.remove(b"a") && !h.remove(b"a"));
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), 3);
    }

    #[test]
    fn long_field_or_value_converts() {
        let mut h = HashValue::new();
        h.set(b"f", b"12345678", SMALL);
        assert_eq!(h.encoding(), "listpack");
        h.set(b"f", b"123456789", SMALL);
        assert_eq!(h.encoding(), "hashtable");
        let mut h = HashValue::new();
        h.set(b"123456789", b"v", SMALL);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.get(b"123456789"), Some(&b"v"[..]));
    }

    #[test]
    fn heap_size_tracks_bytes() {
        let mut h = HashValue::new();
        let long = [b'x'; 100];
        h.set(&long, &long, HashLimits::UNLIMITED);
        assert!(h.heap_size() >= 200);
        h.set(&long, b"short", HashLimits::UNLIMITED);
        assert_eq!(h.bytes, 100);
        h.remove(&long);
        assert_eq!(h.bytes, 0);
        h.set(&long, &long, SMALL);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.bytes, 200);
        h.remove(&long);
        assert_eq!(h.bytes, 0);
    }

    #[test]
    fn shuffles_and_picks_are_in_range() {
        let mut x = 1u64;
        let mut rng = || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            x >> 11
        };
        let mut v: Vec<u32> = (0..10).collect();
        partial_shuffle(&mut v, 4, &mut rng);
        let mut sorted = v.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>());
        let picks = pick_indices(10, 3, &mut rng);
        assert_eq!(picks.len(), 3);
        assert!(picks.iter().all(|&i| i < 10));
        assert_eq!(pick_indices(3, 5, &mut rng).len(), 3);
    }
}
