//! `DUMP` and `RESTORE`: the store's values to and from the RDB value model
//! of `ferrodis-persist`, which writes and reads the payload bytes.
//!
//! A value leaves with the encoding it has here (so a listpack hash dumps as
//! an RDB listpack, as Redis dumps it) and comes back through the same
//! inserts the commands use, so a small value restores into the compact
//! encoding the configured limits allow.

use ferrodis_persist::{Encoding, RdbObject, RdbValue};

use crate::access::Access;
use crate::error::StoreError;
use crate::hashes::HashValue;
use crate::lists::ListValue;
use crate::notify::class;
use crate::sets::SetValue;
use crate::store::Db;
use crate::value::{StrValue, Value};
use crate::zsets::ZSetValue;

/// What `RESTORE` does besides creating the key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RestoreOptions {
    /// Replace an existing key (`REPLACE`) instead of failing with
    /// [`StoreError::BusyKey`].
    pub replace: bool,
    /// Absolute expiry in Unix milliseconds; `None` for no TTL. A time not
    /// after "now" deletes the key instead (and an existing key it
    /// replaces).
    pub expire_at: Option<u64>,
    /// Seconds the key has been idle (`IDLETIME`), for `OBJECT IDLETIME`
    /// and LRU eviction; ignored under an LFU policy, as in Redis.
    pub idle_seconds: Option<u64>,
    /// The LFU counter (`FREQ`), for `OBJECT FREQ` and LFU eviction; used
    /// only under an LFU policy, as in Redis.
    pub freq: Option<u8>,
}

impl Db<'_> {
    /// `DUMP key`: the value at `key` in the RDB model, with its encoding;
    /// `None` if the key does not exist. Counts as a read.
    pub fn dump(&self, key: &[u8]) -> Option<RdbObject> {
        let mut table = self.keys.lock(key);
        let entry = self.live(&mut table, key, Access::Read)?;
        Some(to_rdb(&entry.value))
    }

    /// The value at `key` in the RDB model and its expiry (absolute Unix
    /// ms), for inspection (`DEBUG DIGEST-VALUE`, `DEBUG OBJECT`): counts
    /// no read and leaves the LRU clock alone. `None` if the key does not
    /// exist.
    pub fn peek(&self, key: &[u8]) -> Option<(RdbObject, Option<u64>)> {
        let mut table = self.keys.lock(key);
        let entry = self.live(&mut table, key, Access::Peek)?;
        let expire_at = (entry.expire_at != 0).then_some(entry.expire_at);
        Some((to_rdb(&entry.value), expire_at))
    }

    /// Deletes `key` if it still holds `obj` (what MIGRATE sent), as one
    /// step under the key's lock: a write that another thread made since
    /// is never lost. Reports a `del` event. Whether the key was deleted.
    pub fn del_if_unchanged(&self, key: &[u8], obj: &RdbObject) -> bool {
        let mut table = self.keys.lock(key);
        let same = self
            .live(&mut table, key, Access::Peek)
            .is_some_and(|entry| to_rdb(&entry.value) == *obj);
        let removed = same && table.remove(key).is_some();
        if removed {
            self.notify(class::GENERIC, "del", key);
        }
        removed
    }

    /// `RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s]`, with the
    /// payload already decoded: creates `key` holding `obj`. Returns
    /// `Ok(false)` when the expiry had already passed, so that nothing
    /// was created (an existing key was still deleted with `replace`).
    /// Reports `new` and `restore` events (`del` for a key replaced by an
    /// already expired one), as Redis does.
    ///
    /// # Errors
    ///
    /// [`StoreError::BusyKey`] when the key exists and `replace` is off;
    /// [`StoreError::BadDataFormat`] for a value this store cannot hold.
    pub fn restore(
        &self,
        key: &[u8],
        obj: RdbObject,
        opts: RestoreOptions,
    ) -> Result<bool, StoreError> {
        let value = self.value_from_rdb(obj).ok_or(StoreError::BadDataFormat)?;
        let mut table = self.keys.lock(key);
        let exists = self.live(&mut table, key, Access::Write).is_some();
        if exists && !opts.replace {
            return Err(StoreError::BusyKey);
        }
        // Redis deletes the old key, then adds the new one (a `new` event).
        if exists {
            table.remove(key);
        }
        if opts.expire_at.is_some_and(|at| at <= self.now) {
            if exists {
                self.notify(class::GENERIC, "del", key);
            }
            return Ok(false);
        }
        let mut entry = self.entry(value);
        entry.expire_at = opts.expire_at.unwrap_or(0);
        if let Some(stamp) = self.restored_stamp(opts.idle_seconds, opts.freq) {
            entry.lru = stamp;
        }
        self.put(&mut table, key, entry);
        self.notify(class::GENERIC, "restore", key);
        Ok(true)
    }

    /// Loads `key` holding `obj` from a snapshot (an RDB file, an AOF
    /// preamble, a full sync): as `RESTORE ... REPLACE` with one lookup
    /// instead of two and no keyspace events, as Redis loads. A key whose
    /// expiry has passed is still created: dropping those is the loader's
    /// choice (a primary drops them, a replica keeps them). Returns whether
    /// the key is new (false: it replaced a key of the same name).
    ///
    /// # Errors
    ///
    /// [`StoreError::BadDataFormat`] for a value this store cannot hold.
    pub fn load(
        &self,
        key: &[u8],
        obj: RdbObject,
        opts: RestoreOptions,
    ) -> Result<bool, StoreError> {
        let value = self.value_from_rdb(obj).ok_or(StoreError::BadDataFormat)?;
        Ok(self.load_value(key, value, opts))
    }

    /// [`Db::load`] for a string value given as its bytes.
    pub fn load_string(&self, key: &[u8], value: &[u8], opts: RestoreOptions) -> bool {
        self.load_value(key, Value::String(StrValue::from_bytes(value)), opts)
    }

    fn load_value(&self, key: &[u8], value: Value, opts: RestoreOptions) -> bool {
        let mut entry = self.entry(value);
        entry.expire_at = opts.expire_at.unwrap_or(0);
        if let Some(stamp) = self.restored_stamp(opts.idle_seconds, opts.freq) {
            entry.lru = stamp;
        }
        let mut table = self.keys.lock(key);
        table.insert(key, entry).is_none()
    }

    /// Makes room for `keys` more keys spread over the hash slots, so that
    /// loading them does not grow each slot's table step by step (RDB
    /// files give the count ahead, in `RESIZEDB`).
    pub fn reserve_keys(&self, keys: u64) {
        let slots = u64::from(ferrodis_slots::SLOT_COUNT);
        // The mean per slot and a little more: slots hold a Poisson-like
        // share, and a table grows only once it is full.
        let per_slot = keys / slots + keys / slots / 4;
        let Ok(per_slot) = usize::try_from(per_slot) else {
            return;
        };
        if per_slot == 0 {
            return;
        }
        for slot in 0..usize::from(ferrodis_slots::SLOT_COUNT) {
            self.keys.lock_slot(slot).reserve(per_slot);
        }
    }

    /// A store value for a decoded RDB value, built with the configured
    /// encoding limits; `None` when the store cannot hold it.
    fn value_from_rdb(&self, obj: RdbObject) -> Option<Value> {
        Some(match obj.value {
            RdbValue::String(s) => Value::String(StrValue::from_bytes(&s)),
            RdbValue::List(items) => Value::List(Box::new(list_from_rdb(items)?)),
            RdbValue::Set(members) => {
                let max_intset = self.max_intset();
                let mut set = SetValue::new();
                for m in &members {
                    set.insert(m, max_intset);
                }
                Value::Set(Box::new(set))
            }
            RdbValue::ZSet(items) => {
                Value::ZSet(Box::new(ZSetValue::from_items(items, self.zset_limits())))
            }
            RdbValue::Hash(pairs) => {
                let limits = self.hash_limits();
                let mut hash = HashValue::new();
                for (f, v) in &pairs {
                    hash.set(f, v, limits);
                }
                Value::Hash(Box::new(hash))
            }
        })
    }
}

/// A store value in the RDB model, with the encoding it has here. Sorted
/// sets in a skiplist are listed from the greatest member down, as Redis
/// writes them.
pub(crate) fn to_rdb(value: &Value) -> RdbObject {
    let compact = |is_compact: bool| {
        if is_compact {
            Encoding::Compact
        } else {
            Encoding::Full
        }
    };
    let (value, encoding) = match value {
        Value::String(s) => (RdbValue::String(s.to_vec()), Encoding::Compact),
        Value::List(l) => (RdbValue::List(list_to_rdb(l)), Encoding::Compact),
        Value::Set(s) => (
            RdbValue::Set(s.members()),
            compact(s.encoding() == "intset"),
        ),
        Value::Hash(h) => (
            RdbValue::Hash(h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect()),
            compact(h.encoding() == "listpack"),
        ),
        Value::ZSet(z) => {
            let listpack = z.encoding() == "listpack";
            let items: Vec<(Vec<u8>, f64)> = if listpack {
                z.iter().map(|(m, s)| (m.to_vec(), s)).collect()
            } else {
                z.iter().rev().map(|(m, s)| (m.to_vec(), s)).collect()
            };
            (RdbValue::ZSet(items), compact(listpack))
        }
    };
    RdbObject { value, encoding }
}

/// A list's elements, head first.
fn list_to_rdb(list: &ListValue) -> Vec<Vec<u8>> {
    list.iter().map(<[u8]>::to_vec).collect()
}

/// A list of `items`, head first.
fn list_from_rdb(items: Vec<Vec<u8>>) -> Option<ListValue> {
    let mut list = ListValue::default();
    for item in &items {
        list.push(crate::lists::ListEnd::Right, item);
    }
    Some(list)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use ferrodis_persist::EncodeOptions;

    use crate::{Store, StoreError, Ttl};

    use super::*;

    fn round_trip(db: &Db<'_>, key: &[u8], dst: &[u8]) -> RdbObject {
        let obj = db.dump(key).unwrap_or_else(|| panic!("{key:?} exists"));
        let payload = obj.to_dump(&EncodeOptions::default());
        let back = RdbObject::from_dump(&payload).expect("payload decodes");
        assert_eq!(db.restore(dst, back, RestoreOptions::default()), Ok(true));
        obj
    }

    /// A dumped value with hash table order taken out.
    fn sorted(obj: Option<RdbObject>) -> Option<RdbValue> {
        Some(match obj?.value {
            RdbValue::Set(mut m) => {
                m.sort();
                RdbValue::Set(m)
            }
            RdbValue::Hash(mut p) => {
                p.sort();
                RdbValue::Hash(p)
            }
            other => other,
        })
    }

    #[test]
    fn every_type_round_trips_and_keeps_its_encoding() {
        let store = Store::new();
        let db = store.db(0).expect("db 0");
        db.set(b"s", b"12345", Default::default()).expect("set");
        db.sadd(b"iset", &[b"3", b"1", b"2"]).expect("sadd");
        db.sadd(b"set", &[b"a", b"1"]).expect("sadd");
        db.hset(b"h", &[(b"f", b"v"), (b"n", b"1")]).expect("hset");
        let long = [b'x'; 100];
        db.hset(b"bigh", &[(b"f", &long[..])]).expect("hset");
        db.zadd(b"z", &[(1.5, b"a"), (-2.0, b"b")], Default::default())
            .expect("zadd");
        db.zadd(
            b"bigz",
            &[(1.0, &long[..]), (2.0, b"b")],
            Default::default(),
        )
        .expect("zadd");
        for (key, encoding) in [
            (&b"s"[..], Encoding::Compact),
            (b"iset", Encoding::Compact),
            (b"set", Encoding::Full),
            (b"h", Encoding::Compact),
            (b"bigh", Encoding::Full),
            (b"z", Encoding::Compact),
            (b"bigz", Encoding::Full),
        ] {
            let mut dst = key.to_vec();
            dst.extend_from_slice(b"-copy");
            let obj = round_trip(&db, key, &dst);
            assert_eq!(obj.encoding, encoding, "{key:?}");
            assert_eq!(
                db.object(key).map(|o| o.encoding),
                db.object(&dst).map(|o| o.encoding),
                "{key:?}"
            );
            assert_eq!(sorted(db.dump(key)), sorted(db.dump(&dst)), "{key:?}");
        }
        // A skiplist dumps from the greatest member down, as Redis does.
        let Some(RdbObject {
            value: RdbValue::ZSet(items),
            ..
        }) = db.dump(b"bigz")
        else {
            panic!("a sorted set");
        };
        assert_eq!(items.first().map(|(m, _)| m.as_slice()), Some(&b"b"[..]));
        assert_eq!(db.dump(b"missing"), None);
    }

    #[test]
    fn del_if_unchanged_keeps_a_newer_write() {
        let store = Store::new();
        let db = store.db(0).expect("db 0");
        db.set(b"k", b"1", Default::default()).expect("set");
        let sent = db.dump(b"k").expect("k exists");
        db.set(b"k", b"2", Default::default()).expect("set");
        assert!(!db.del_if_unchanged(b"k", &sent));
        assert!(db.contains(b"k"));
        let sent = db.dump(b"k").expect("k exists");
        assert!(db.del_if_unchanged(b"k", &sent));
        assert!(!db.contains(b"k"));
        assert!(!db.del_if_unchanged(b"k", &sent));
    }

    #[test]
    fn restore_options() {
        let store = Store::new();
        let db = store.db(0).expect("db 0");
        let obj = |s: &[u8]| RdbObject {
            value: RdbValue::String(s.to_vec()),
            encoding: Encoding::Compact,
        };
        assert_eq!(db.restore(b"k", obj(b"1"), Default::default()), Ok(true));
        assert_eq!(
            db.restore(b"k", obj(b"2"), Default::default()),
            Err(StoreError::BusyKey)
        );
        let later = db.now_ms() + 10_000;
        let opts = RestoreOptions {
            replace: true,
            expire_at: Some(later),
            idle_seconds: Some(1000),
            freq: None,
        };
        assert_eq!(db.restore(b"k", obj(b"2"), opts), Ok(true));
        assert_eq!(db.get(b"k"), Ok(Some(b"2".to_vec())));
        assert_eq!(db.ttl(b"k"), Ttl::ExpiresAt(later));
        // (GET touched the key: restore again to check IDLETIME.)
        assert_eq!(db.restore(b"k", obj(b"3"), opts), Ok(true));
        assert_eq!(db.object(b"k").map(|o| o.idle_seconds), Some(1000));
        // An expiry already past deletes the key it replaces.
        let past = RestoreOptions {
            replace: true,
            expire_at: Some(db.now_ms()),
            idle_seconds: None,
            freq: None,
        };
        assert_eq!(db.restore(b"k", obj(b"4"), past), Ok(false));
        assert_eq!(db.get(b"k"), Ok(None));
        assert_eq!(db.restore(b"k", obj(b"4"), past), Ok(false));
        // Lists keep their order.
        let list = RdbObject {
            value: RdbValue::List(vec![b"a".to_vec(), b"b".to_vec()]),
            encoding: Encoding::Compact,
        };
        assert_eq!(db.restore(b"l", list, Default::default()), Ok(true));
        assert_eq!(
            db.list_range(b"l", 0, -1),
            Ok(vec![b"a".to_vec(), b"b".to_vec()])
        );
    }

    #[derive(Debug, Default)]
    struct Recorder(parking_lot::Mutex<Vec<String>>);

    impl crate::notify::Notify for Recorder {
        fn notify(&self, _db: usize, _class: u32, event: &str, key: &[u8]) {
            self.0
                .lock()
                .push(format!("{event} {}", String::from_utf8_lossy(key)));
        }
    }

    #[test]
    fn restore_reports_keyspace_events() {
        let store = Store::new();
        let events = std::sync::Arc::new(Recorder::default());
        assert!(store.set_notifier(events.clone()));
        let mask = crate::notify::parse_flags("KEA").expect("flags") | crate::notify::class::NEW;
        store
            .settings()
            .notify_mask
            .store(mask, std::sync::atomic::Ordering::Relaxed);
        let db = store.db(0).expect("db 0");
        let obj = RdbObject {
            value: RdbValue::String(b"v".to_vec()),
            encoding: Encoding::Compact,
        };
        let replace = RestoreOptions {
            replace: true,
            ..Default::default()
        };
        db.restore(b"k", obj.clone(), replace).expect("restore");
        db.restore(b"k", obj.clone(), replace).expect("restore");
        let past = RestoreOptions {
            expire_at: Some(1),
            ..replace
        };
        db.restore(b"k", obj, past).expect("restore");
        assert_eq!(
            *events.0.lock(),
            ["new k", "restore k", "new k", "restore k", "del k"]
        );
    }
}
