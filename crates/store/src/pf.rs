//! HyperLogLog commands (PFADD, PFCOUNT, PFMERGE, PFDEBUG) on string keys,
//! over the byte-level [`crate::hll`] module. An HLL is an ordinary string
//! value, so GET, DUMP and the RDB see Redis' exact bytes.

use std::sync::atomic::Ordering;

use crate::access::{expect_type, Access};
use crate::error::StoreError;
use crate::hll::{self, HllEncoding, HllError, REGISTERS};
use crate::notify::class;
use crate::store::Db;
use crate::value::{StrValue, Value};

impl From<HllError> for StoreError {
    fn from(e: HllError) -> StoreError {
        match e {
            HllError::Corrupt => StoreError::CorruptHll,
            _ => StoreError::NotHll,
        }
    }
}

/// A PFDEBUG subcommand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PfDebug {
    /// `GETREG`: every register (converting a sparse HLL to dense, as
    /// Redis does).
    GetReg,
    /// `DECODE`: the sparse opcodes as text.
    Decode,
    /// `ENCODING`: `dense` or `sparse`.
    Encoding,
    /// `TODENSE`: converts to dense; whether it converted.
    ToDense,
}

/// The answer of [`Db::pf_debug`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PfDebugReply {
    /// The 16384 registers.
    Registers(Box<[u8; REGISTERS]>),
    /// The decoded opcodes; `None` when the HLL is dense.
    Decoded(Option<String>),
    /// The encoding.
    Encoding(HllEncoding),
    /// Whether TODENSE converted a sparse HLL.
    Converted(bool),
}

/// The HLL bytes of a string value, or why it is not one.
fn hll_bytes(s: &StrValue) -> Result<HllEncoding, StoreError> {
    match s {
        // Redis refuses integer-encoded strings outright.
        StrValue::Int(_) => Err(StoreError::NotHll),
        _ => Ok(s.with_bytes(hll::check)?),
    }
}

impl Db<'_> {
    fn sparse_max(&self) -> usize {
        self.store
            .settings()
            .hll_sparse_max_bytes
            .load(Ordering::Relaxed)
    }

    /// `PFADD key [element ...]`: adds the elements, creating the key (an
    /// empty sparse HLL) if missing. True if the key was created or a
    /// register changed.
    pub fn pf_add(&self, key: &[u8], elements: &[&[u8]]) -> Result<bool, StoreError> {
        let max = self.sparse_max();
        let mut table = self.keys.lock(key);
        let (mut bytes, created) = match self.live(&mut table, key, Access::Write) {
            None => (hll::new_sparse(), true),
            Some(e) => {
                let s = expect_type!(e, String)?;
                hll_bytes(s)?;
                (std::mem::take(s.make_mut()), false)
            }
        };
        // Redis counts one change for the creation and one per element
        // that raised a register (its `dirty` counter).
        let mut changes = u64::from(created);
        let mut result: Result<(), StoreError> = Ok(());
        for element in elements {
            match hll::add(&mut bytes, element, max) {
                Ok(changed) => changes += u64::from(changed),
                Err(e) => {
                    result = Err(e.into());
                    break;
                }
            }
        }
        let updated = changes > 0;
        if updated && result.is_ok() {
            hll::invalidate(&mut bytes);
            // `put` or `touch` below counts the first.
            for _ in 1..changes {
                crate::snapshot::count_change();
            }
        }
        if created {
            if result.is_ok() {
                let entry = self.entry(Value::String(StrValue::Buf(bytes)));
                self.put(&mut table, key, entry);
            }
        } else if let Some(e) = self.live(&mut table, key, Access::Peek) {
            if let Value::String(s) = &mut e.value {
                *s = StrValue::Buf(bytes);
            }
            // A corrupt value met part-way keeps the registers raised
            // before it, unannounced, as in Redis.
            if updated && result.is_ok() {
                table.touch(key);
            }
        }
        result?;
        if updated {
            self.notify(class::STRING, "pfadd", key);
        }
        Ok(updated)
    }

    /// `PFCOUNT key [key ...]`: the estimated cardinality of one HLL
    /// (refreshing its cached value, which changes the string), or of the
    /// union of several (nothing cached). Missing keys count as empty.
    pub fn pf_count(&self, keys: &[&[u8]]) -> Result<u64, StoreError> {
        if let [key] = keys {
            return self.pf_count_one(key);
        }
        let mut locked = self.keys.lock_many(keys.iter().copied());
        let mut max = Box::new([0u8; REGISTERS]);
        for key in keys {
            let Some(table) = locked.table(key) else {
                continue;
            };
            let Some(e) = self.live(table, key, Access::Read) else {
                continue;
            };
            let s = expect_type!(e, String)?;
            hll_bytes(s)?;
            s.with_bytes(|b| hll::merge_into(&mut max, b))?;
        }
        Ok(hll::count_registers(&max))
    }

    fn pf_count_one(&self, key: &[u8]) -> Result<u64, StoreError> {
        let mut table = self.keys.lock(key);
        let Some(e) = self.live(&mut table, key, Access::Read) else {
            return Ok(0);
        };
        let s = expect_type!(e, String)?;
        hll_bytes(s)?;
        if let Some(card) = s.with_bytes(hll::cached) {
            return Ok(card);
        }
        let bytes = s.make_mut();
        let card = hll::count(bytes)?;
        hll::set_cached(bytes, card);
        table.touch(key);
        Ok(card)
    }

    /// `PFMERGE destkey [sourcekey ...]`: sets the destination (which
    /// counts as a source when it exists) to the union of the HLLs. The
    /// destination is created sparse, and made dense if any source is.
    pub fn pf_merge(&self, dest: &[u8], sources: &[&[u8]]) -> Result<(), StoreError> {
        let sparse_max = self.sparse_max();
        let all = || std::iter::once(dest).chain(sources.iter().copied());
        let mut locked = self.keys.lock_many(all());
        let mut max = Box::new([0u8; REGISTERS]);
        let mut use_dense = false;
        for key in all() {
            let Some(table) = locked.table(key) else {
                continue;
            };
            let Some(e) = self.live(table, key, Access::Read) else {
                continue;
            };
            let s = expect_type!(e, String)?;
            use_dense |= hll_bytes(s)? == HllEncoding::Dense;
            s.with_bytes(|b| hll::merge_into(&mut max, b))?;
        }
        let Some(table) = locked.table(dest) else {
            return Ok(());
        };
        let existing = match self.live(table, dest, Access::Write) {
            Some(e) => match &mut e.value {
                Value::String(s) => Some(std::mem::take(s.make_mut())),
                _ => return Err(StoreError::WrongType),
            },
            None => None,
        };
        let created = existing.is_none();
        let mut bytes = existing.unwrap_or_else(hll::new_sparse);
        let mut result: Result<(), StoreError> = Ok(());
        if use_dense {
            result = hll::to_dense(&mut bytes)
                .map(|_| ())
                .map_err(StoreError::from);
        }
        if result.is_ok() {
            for (i, &v) in max.iter().enumerate() {
                if v != 0 {
                    // Redis ignores a failed register write here: the
                    // sources were all checked above.
                    let _ = hll::raise(&mut bytes, i, v, sparse_max);
                }
            }
            hll::invalidate(&mut bytes);
        }
        if created {
            if result.is_ok() {
                let entry = self.entry(Value::String(StrValue::Buf(bytes)));
                self.put(table, dest, entry);
            }
        } else if let Some(e) = self.live(table, dest, Access::Peek) {
            if let Value::String(s) = &mut e.value {
                *s = StrValue::Buf(bytes);
            }
            if result.is_ok() {
                table.touch(dest);
            }
        }
        result?;
        self.notify(class::STRING, "pfadd", dest);
        Ok(())
    }

    /// `PFDEBUG <subcommand> key`; `Ok(None)` when the key does not exist.
    pub fn pf_debug(&self, op: PfDebug, key: &[u8]) -> Result<Option<PfDebugReply>, StoreError> {
        let mut table = self.keys.lock(key);
        let Some(e) = self.live(&mut table, key, Access::Write) else {
            return Ok(None);
        };
        let s = expect_type!(e, String)?;
        let encoding = hll_bytes(s)?;
        let reply = match op {
            PfDebug::Encoding => PfDebugReply::Encoding(encoding),
            PfDebug::Decode => PfDebugReply::Decoded(s.with_bytes(hll::decode_sparse)),
            PfDebug::GetReg | PfDebug::ToDense => {
                let bytes = s.make_mut();
                let converted = hll::to_dense(bytes)?;
                let reply = if op == PfDebug::GetReg {
                    PfDebugReply::Registers(hll::registers(bytes)?)
                } else {
                    PfDebugReply::Converted(converted)
                };
                if converted {
                    table.touch(key);
                }
                reply
            }
        };
        Ok(Some(reply))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::{SetOptions, Store};

    #[test]
    fn pfadd_creates_and_reports_changes() {
        let store = Store::new();
        let db = store.db(0).unwrap();
        assert!(db.pf_add(b"h", &[]).unwrap());
        assert!(!db.pf_add(b"h", &[]).unwrap());
        assert!(db.pf_add(b"h", &[b"a", b"b"]).unwrap());
        assert!(!db.pf_add(b"h", &[b"a"]).unwrap());
        assert_eq!(db.pf_count(&[b"h"]).unwrap(), 2);
        // The cache is now valid and stored in the string.
        let bytes = db.get(b"h").unwrap().unwrap();
        assert_eq!(hll::cached(&bytes), Some(2));
    }

    #[test]
    fn non_hll_strings_are_refused() {
        let store = Store::new();
        let db = store.db(0).unwrap();
        db.set(b"s", b"hello", SetOptions::default()).unwrap();
        db.set(b"n", b"12345", SetOptions::default()).unwrap();
        for k in [&b"s"[..], b"n"] {
            assert_eq!(db.pf_add(k, &[b"a"]), Err(StoreError::NotHll));
            assert_eq!(db.pf_count(&[k]), Err(StoreError::NotHll));
        }
        db.sadd(b"l", &[b"x"]).unwrap();
        assert_eq!(db.pf_count(&[b"l"]), Err(StoreError::WrongType));
        assert_eq!(db.pf_merge(b"d", &[b"l"]), Err(StoreError::WrongType));
        assert_eq!(db.get(b"d").unwrap(), None);
    }

    #[test]
    fn merge_unions_and_goes_dense_with_a_dense_source() {
        let store = Store::new();
        let db = store.db(0).unwrap();
        db.pf_add(b"a", &[b"1", b"2", b"3"]).unwrap();
        db.pf_add(b"b", &[b"3", b"4"]).unwrap();
        db.pf_merge(b"u", &[b"a", b"b"]).unwrap();
        assert_eq!(db.pf_count(&[b"u"]).unwrap(), 4);
        assert_eq!(db.pf_count(&[b"a", b"b"]).unwrap(), 4);
        assert_eq!(
            db.pf_debug(PfDebug::Encoding, b"u").unwrap(),
            Some(PfDebugReply::Encoding(HllEncoding::Sparse))
        );
        assert_eq!(
            db.pf_debug(PfDebug::ToDense, b"b").unwrap(),
            Some(PfDebugReply::Converted(true))
        );
        db.pf_merge(b"v", &[b"a", b"b"]).unwrap();
        assert_eq!(
            db.pf_debug(PfDebug::Encoding, b"v").unwrap(),
            Some(PfDebugReply::Encoding(HllEncoding::Dense))
        );
        assert_eq!(db.pf_count(&[b"v"]).unwrap(), 4);
        assert_eq!(db.pf_debug(PfDebug::Decode, b"nope").unwrap(), None);
    }
}
