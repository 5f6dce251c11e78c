//! String operations: GET, SET and its options, INCR family, APPEND,
//! GETRANGE/SETRANGE, MGET/MSET.

use crate::access::{check_len, expect_type, Access};
use crate::error::StoreError;
use crate::notify::class;
use crate::store::Db;
use crate::value::{StrValue, Value};

/// When `SET` writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SetCondition {
    /// Always.
    #[default]
    Always,
    /// Only if the key does not exist (`NX`).
    IfMissing,
    /// Only if the key exists (`XX`).
    IfExists,
}

/// What happens to the TTL of a key being written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TtlUpdate {
    /// Remove any TTL (plain `SET`).
    #[default]
    Clear,
    /// Keep the existing TTL (`KEEPTTL`).
    Keep,
    /// Expire at this Unix time in milliseconds (`EX`/`PX`/`EXAT`/`PXAT`).
    At(u64),
}

/// Options of [`Db::set`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SetOptions {
    /// `NX` / `XX`.
    pub condition: SetCondition,
    /// `EX`, `PX`, `EXAT`, `PXAT`, `KEEPTTL`.
    pub ttl: TtlUpdate,
    /// `GET`: return the old value (which must be a string).
    pub get: bool,
}

/// What [`Db::set`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetOutcome {
    /// Whether the value was written (false when `NX`/`XX` refused).
    pub written: bool,
    /// The previous value, when `get` was asked.
    pub old: Option<Vec<u8>>,
}

/// How `GETEX` changes the TTL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum GetExTtl {
    /// Leave it.
    #[default]
    Keep,
    /// Remove it (`PERSIST`).
    Persist,
    /// Expire at this Unix time in milliseconds.
    At(u64),
}

impl Db<'_> {
    /// `GET key`: the string value, `None` if the key is missing.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.get_with(key, <[u8]>::to_vec)
    }

    /// `GET key` without copying: calls `f` with the value's bytes while the
    /// key's slot is locked (keep `f` short).
    pub fn get_with<R>(
        &self,
        key: &[u8],
        f: impl FnOnce(&[u8]) -> R,
    ) -> Result<Option<R>, StoreError> {
        let mut table = self.keys.lock(key);
        let Some(entry) = self.live(&mut table, key, Access::Read) else {
            return Ok(None);
        };
        let s = expect_type!(entry, String)?;
        Ok(Some(s.with_bytes(f)))
    }

    /// `SET key value [NX|XX] [GET] [EX|PX|EXAT|PXAT|KEEPTTL]`.
    pub fn set(
        &self,
        key: &[u8],
        value: &[u8],
        opts: SetOptions,
    ) -> Result<SetOutcome, StoreError> {
        let mut table = self.keys.lock(key);
        let now = self.now;
        let existing = self.live(&mut table, key, Access::Write);
        let old = match (&existing, opts.get) {
            (Some(e), true) => match &e.value {
                Value::String(s) => Some(s.to_vec()),
                #[allow(unreachable_patterns)]
                _ => return Err(StoreError::WrongType),
            },
            _ => None,
        };
        let exists = existing.is_some();
        let old_expire = existing.map_or(0, |e| e.expire_at);
        let allowed = match opts.condition {
            SetCondition::Always => true,
            SetCondition::IfMissing => !exists,
            SetCondition::IfExists => exists,
        };
        if !allowed {
            return Ok(SetOutcome {
                written: false,
                old,
            });
        }
        let expire_at = match opts.ttl {
            TtlUpdate::Clear => 0,
            TtlUpdate::Keep => old_expire,
            TtlUpdate::At(at) => at,
        };
        if expire_at != 0 && expire_at <= now {
            // Already expired: the write is a delete (Redis propagates DEL).
            if table.remove(key).is_some() {
                self.notify(class::GENERIC, "del", key);
            }
            return Ok(SetOutcome { written: true, old });
        }
        let mut entry = self.entry(Value::String(StrValue::from_bytes(value)));
        entry.expire_at = expire_at;
        self.put(&mut table, key, entry);
        self.notify(class::STRING, "set", key);
        if expire_at != 0 {
            self.notify(class::GENERIC, "expire", key);
        }
        Ok(SetOutcome { written: true, old })
    }

    /// `GETDEL key`.
    pub fn get_del(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let mut table = self.keys.lock(key);
        let Some(entry) = self.live(&mut table, key, Access::Read) else {
            return Ok(None);
        };
        let value = expect_type!(entry, String)?.to_vec();
        table.remove(key);
        self.notify(class::GENERIC, "del", key);
        Ok(Some(value))
    }

    /// `GETEX key [EX|PX|EXAT|PXAT|PERSIST]`.
    pub fn get_ex(&self, key: &[u8], ttl: GetExTtl) -> Result<Option<Vec<u8>>, StoreError> {
        let mut table = self.keys.lock(key);
        let Some(entry) = self.live(&mut table, key, Access::Read) else {
            return Ok(None);
        };
        let value = expect_type!(entry, String)?.to_vec();
        match ttl {
            GetExTtl::Keep => {}
            GetExTtl::Persist => {
                if table.dict.get(key).is_some_and(|e| e.expire_at != 0) {
                    table.set_expire(key, 0);
                    self.notify(class::GENERIC, "persist", key);
                }
            }
            GetExTtl::At(at) if at <= self.now => {
                table.remove(key);
                self.notify(class::GENERIC, "del", key);
            }
            GetExTtl::At(at) => {
                table.set_expire(key, at);
                self.notify(class::GENERIC, "expire", key);
            }
        }
        Ok(Some(value))
    }

    /// `STRLEN key`.
    pub fn strlen(&self, key: &[u8]) -> Result<usize, StoreError> {
        let mut table = self.keys.lock(key);
        match self.live(&mut table, key, Access::Read) {
            None => Ok(0),
            Some(e) => Ok(expect_type!(e, String)?.len()),
        }
    }

    /// `APPEND key value`: the new length.
    pub fn append(&self, key: &[u8], value: &[u8]) -> Result<usize, StoreError> {
        let mut table = self.keys.lock(key);
        match self.live(&mut table, key, Access::Write) {
            None => {
                check_len(self, value.len())?;
                let entry = self.entry(Value::String(StrValue::from_bytes(value)));
                self.put(&mut table, key, entry);
                self.notify(class::STRING, "append", key);
                Ok(value.len())
            }
            Some(e) => {
                let s = expect_type!(e, String)?;
                check_len(self, s.len() + value.len())?;
                // In place: repeated appends are amortized O(1).
                let bytes = s.make_mut();
                bytes.extend_from_slice(value);
                let len = bytes.len();
                table.touch(key);
                self.notify(class::STRING, "append", key);
                Ok(len)
            }
        }
    }

    /// `INCRBY key delta` (and INCR, DECR, DECRBY): the new value.
    pub fn incr_by(&self, key: &[u8], delta: i64) -> Result<i64, StoreError> {
        let mut table = self.keys.lock(key);
        match self.live(&mut table, key, Access::Write) {
            None => {
                let entry = self.entry(Value::String(StrValue::Int(delta)));
                self.put(&mut table, key, entry);
                self.notify(class::STRING, "incrby", key);
                Ok(delta)
            }
            Some(e) => {
                let s = expect_type!(e, String)?;
                let current = match s {
                    StrValue::Int(n) => *n,
                    StrValue::Raw(b) => {
                        ferrodis_resp::parse_i64(b).ok_or(StoreError::NotInteger)?
                    }
                    StrValue::Buf(b) => {
                        ferrodis_resp::parse_i64(b).ok_or(StoreError::NotInteger)?
                    }
                };
                let next = current.checked_add(delta).ok_or(StoreError::Overflow)?;
                *s = StrValue::Int(next);
                table.touch(key);
                self.notify(class::STRING, "incrby", key);
                Ok(next)
            }
        }
    }

    /// `INCRBYFLOAT key delta`: the new value as Redis prints it.
    pub fn incr_by_float(&self, key: &[u8], delta: f64) -> Result<Vec<u8>, StoreError> {
        let mut table = self.keys.lock(key);
        let entry = self.live(&mut table, key, Access::Write);
        let current = match &entry {
            None => 0.0,
            Some(e) => match &e.value {
                Value::String(s) => s.with_bytes(parse_float).ok_or(StoreError::NotFloat)?,
                #[allow(unreachable_patterns)]
                _ => return Err(StoreError::WrongType),
            },
        };
        let next = current + delta;
        if !next.is_finite() {
            return Err(StoreError::NanOrInfinity);
        }
        let text = format_float(next);
        let value = Value::String(StrValue::from_bytes(text.as_bytes()));
        match entry {
            Some(e) => {
                e.value = value;
                table.touch(key);
            }
            None => {
                let e = self.entry(value);
                self.put(&mut table, key, e);
            }
        }
        self.notify(class::STRING, "incrbyfloat", key);
        Ok(text.into_bytes())
    }

    /// `GETRANGE key start end` (inclusive, negative from the end).
    pub fn get_range(&self, key: &[u8], start: i64, end: i64) -> Result<Vec<u8>, StoreError> {
        let mut table = self.keys.lock(key);
        let Some(e) = self.live(&mut table, key, Access::Read) else {
            return Ok(Vec::new());
        };
        let s = expect_type!(e, String)?;
        Ok(s.with_bytes(|b| {
            let len = b.len() as i64;
            let (mut start, mut end) = (start, end);
            if start < 0 && end < 0 && start > end {
                return Vec::new();
            }
            if start < 0 {
                start += len;
            }
            if end < 0 {
                end += len;
            }
            start = start.max(0);
            end = end.max(0).min(len - 1);
            if len == 0 || start > end {
                return Vec::new();
            }
            b.get(start as usize..=end as usize)
                .unwrap_or_default()
                .to_vec()
        }))
    }

    /// `SETRANGE key offset value`: the new length.
    pub fn set_range(&self, key: &[u8], offset: usize, value: &[u8]) -> Result<usize, StoreError> {
        let mut table = self.keys.lock(key);
        let end = offset.checked_add(value.len());
        let Some(e) = self.live(&mut table, key, Access::Write) else {
            if value.is_empty() {
                return Ok(0);
            }
            let end = end.ok_or(StoreError::StringTooLong)?;
            check_len(self, end)?;
            let mut bytes = vec![0; end];
            if let Some(dst) = bytes.get_mut(offset..end) {
                dst.copy_from_slice(value);
            }
            let entry = self.entry(Value::String(StrValue::Buf(bytes)));
            self.put(&mut table, key, entry);
            self.notify(class::STRING, "setrange", key);
            return Ok(end);
        };
        let s = expect_type!(e, String)?;
        if value.is_empty() {
            return Ok(s.len());
        }
        let end = end.ok_or(StoreError::StringTooLong)?;
        check_len(self, end)?;
        // In place, growing with zero bytes as Redis does.
        let bytes = s.make_mut();
        if bytes.len() < end {
            bytes.resize(end, 0);
        }
        if let Some(dst) = bytes.get_mut(offset..end) {
            dst.copy_from_slice(value);
        }
        let len = bytes.len();
        table.touch(key);
        self.notify(class::STRING, "setrange", key);
        Ok(len)
    }

    /// `MGET key [key ...]`: values of string keys, `None` for missing keys
    /// and keys of other types.
    pub fn mget(&self, keys: &[&[u8]]) -> Vec<Option<Vec<u8>>> {
        keys.iter().map(|k| self.get(k).ok().flatten()).collect()
    }

    /// `MSET key value [key value ...]`, atomically.
    pub fn mset(&self, pairs: &[(&[u8], &[u8])]) {
        let mut locked = self.keys.lock_many(pairs.iter().map(|(k, _)| *k));
        for (k, v) in pairs {
            if let Some(table) = locked.table(k) {
                let entry = self.entry(Value::String(StrValue::from_bytes(v)));
                self.put(table, k, entry);
                self.notify(class::STRING, "set", k);
            }
        }
    }

    /// `MSETNX key value [key value ...]`: sets all or none; true if set.
    pub fn msetnx(&self, pairs: &[(&[u8], &[u8])]) -> bool {
        let mut locked = self.keys.lock_many(pairs.iter().map(|(k, _)| *k));
        for (k, _) in pairs {
            if let Some(table) = locked.table(k) {
                if self.live(table, k, Access::Write).is_some() {
                    return false;
                }
            }
        }
        for (k, v) in pairs {
            if let Some(table) = locked.table(k) {
                let entry = self.entry(Value::String(StrValue::from_bytes(v)));
                self.put(table, k, entry);
                self.notify(class::STRING, "set", k);
            }
        }
        true
    }
}

/// Parses a float as Redis' `string2ld` does for INCRBYFLOAT: no spaces,
/// no NaN.
pub(crate) fn parse_float(b: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(b).ok()?;
    if s.is_empty() || s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
        return None;
    }
    let v: f64 = match s.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => s.parse().ok()?,
    };
    (!v.is_nan()).then_some(v)
}

/// Formats a float the way INCRBYFLOAT replies: shortest exact decimal,
/// without exponent and without a trailing `.0`.
pub(crate) fn format_float(v: f64) -> String {
    let mut s = format!("{v}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" {
        s = "0".to_owned();
    }
    s
}
