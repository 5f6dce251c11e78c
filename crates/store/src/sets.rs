//! Set operations: SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD,
//! SPOP, SRANDMEMBER, SMOVE, SINTER, SINTERCARD, SINTERSTORE, SUNION,
//! SUNIONSTORE, SDIFF, SDIFFSTORE, SSCAN; and [`SetValue`], a set with
//! Redis 7.0's two encodings.
//!
//! A set is an `intset` (a sorted vector of `i64`) while every member is
//! the canonical decimal text of a 64-bit integer and it holds at most
//! `set-max-intset-entries` members; otherwise a `hashtable` (a [`Dict`]).
//! A set never converts back, except where Redis itself builds a new set
//! (SPOP with a count close to the size, and the `*STORE` commands, whose
//! results start as intsets).

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use crate::access::{expect_type, Access};
use crate::dict::Dict;
use crate::error::StoreError;
use crate::glob::glob_match;
use crate::hashes::{partial_shuffle, pick_indices};
use crate::keyspace::Locked;
use crate::notify::class;
use crate::smallbytes::SmallBytes;
use crate::store::Db;
use crate::value::{itoa_buf, Value};

/// A set value: distinct byte-string members.
#[derive(Debug, Clone)]
pub struct SetValue {
    repr: Repr,
    /// Heap bytes of the members stored out of line (hash table encoding),
    /// kept up to date so that [`SetValue::heap_size`] is O(1).
    bytes: usize,
}

#[derive(Debug, Clone)]
enum Repr {
    /// Sorted, distinct integers (Redis' `intset`).
    Intset(Vec<i64>),
    /// Redis' `hashtable`.
    Table(Dict<SmallBytes, ()>),
}

/// A member as stored: an integer of an intset, or bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Elem<'a> {
    Int(i64),
    Bytes(&'a [u8]),
}

impl Elem<'_> {
    fn to_vec(self) -> Vec<u8> {
        self.with_bytes(<[u8]>::to_vec)
    }

    fn with_bytes<R>(self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            Elem::Int(n) => f(itoa_buf(n).as_slice()),
            Elem::Bytes(b) => f(b),
        }
    }
}

impl Default for SetValue {
    fn default() -> Self {
        SetValue {
            repr: Repr::Intset(Vec::new()),
            bytes: 0,
        }
    }
}

impl PartialEq for SetValue {
    /// Same members, whatever the encodings.
    fn eq(&self, other: &Self) -> bool {
        if self.len() != other.len() {
            return false;
        }
        let mut all = true;
        self.for_each(|m| all &= other.contains(m));
        all
    }
}

impl SetValue {
    /// An empty set (intset encoded).
    pub fn new() -> SetValue {
        SetValue::default()
    }

    /// The encoding `OBJECT ENCODING` reports: `intset` or `hashtable`.
    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Intset(_) => "intset",
            Repr::Table(_) => "hashtable",
        }
    }

    /// Approximate heap bytes held (O(1)).
    pub fn heap_size(&self) -> usize {
        match &self.repr {
            Repr::Intset(v) => v.capacity() * std::mem::size_of::<i64>(),
            Repr::Table(d) => d.memory_usage() + self.bytes,
        }
    }

    /// The number of members.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Intset(v) => v.len(),
            Repr::Table(d) => d.len(),
        }
    }

    /// Whether the set has no member.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `member` belongs to the set.
    pub fn contains(&self, member: &[u8]) -> bool {
        match &self.repr {
            Repr::Intset(v) => {
                ferrodis_resp::parse_i64(member).is_some_and(|n| v.binary_search(&n).is_ok())
            }
            Repr::Table(d) => d.get(member).is_some(),
        }
    }

    /// Calls `f` with every member: ascending for an intset, in table order
    /// for a hash table.
    pub fn for_each(&self, mut f: impl FnMut(&[u8])) {
        match &self.repr {
            Repr::Intset(v) => {
                for &n in v {
                    f(itoa_buf(n).as_slice());
                }
            }
            Repr::Table(d) => {
                for m in d.keys() {
                    f(m);
                }
            }
        }
    }

    /// Every member, copied.
    pub fn members(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::with_capacity(self.len());
        self.for_each(|m| out.push(m.to_vec()));
        out
    }

    /// Adds `member`, converting to a hash table when it is not an integer
    /// or the intset would exceed `max_intset` members. Returns whether it
    /// was added.
    pub(crate) fn insert(&mut self, member: &[u8], max_intset: usize) -> bool {
        let max_intset = max_intset.min(1 << 30);
        match &mut self.repr {
            Repr::Intset(v) => match ferrodis_resp::parse_i64(member) {
                Some(n) => match v.binary_search(&n) {
                    Ok(_) => false,
                    Err(pos) => {
                        v.insert(pos, n);
                        if v.len() > max_intset {
                            self.convert();
                        }
                        true
                    }
                },
                None => {
                    self.convert();
                    self.insert_table(member)
                }
            },
            Repr::Table(_) => self.insert_table(member),
        }
    }

    fn insert_table(&mut self, member: &[u8]) -> bool {
        let Repr::Table(d) = &mut self.repr else {
            return false;
        };
        if d.get(member).is_some() {
            return false;
        }
        let m = SmallBytes::new(member);
        self.bytes += m.heap_size();
        d.insert(m, ());
        true
    }

    /// Removes `member`; returns whether it was there.
    pub(crate) fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Intset(v) => {
                let Some(n) = ferrodis_resp::parse_i64(member) else {
                    return false;
                };
                match v.binary_search(&n) {
                    Ok(i) => {
                        v.remove(i);
                        true
                    }
                    Err(_) => false,
                }
            }
            Repr::Table(d) => match d.remove_entry(member) {
                Some((m, ())) => {
                    self.bytes -= m.heap_size();
                    true
                }
                None => false,
            },
        }
    }

    /// Turns an intset into a hash table (a no-op for a hash table).
    fn convert(&mut self) {
        if let Repr::Intset(v) = &self.repr {
            let mut d = Dict::new();
            let mut bytes = 0;
            for &n in v {
                let m = SmallBytes::new(itoa_buf(n).as_slice());
                bytes += m.heap_size();
                d.insert(m, ());
            }
            self.repr = Repr::Table(d);
            self.bytes = bytes;
        }
    }

    /// A random member.
    fn random_elem(&self, rng: &mut impl FnMut() -> u64) -> Option<Elem<'_>> {
        match &self.repr {
            Repr::Intset(v) => {
                if v.is_empty() {
                    return None;
                }
                let i = (rng() % v.len() as u64) as usize;
                v.get(i).map(|&n| Elem::Int(n))
            }
            Repr::Table(d) => d.random_entry(rng).map(|(m, ())| Elem::Bytes(m)),
        }
    }

    /// Every member as an [`Elem`].
    fn elems(&self) -> Vec<Elem<'_>> {
        match &self.repr {
            Repr::Intset(v) => v.iter().map(|&n| Elem::Int(n)).collect(),
            Repr::Table(d) => d.keys().map(|m| Elem::Bytes(m)).collect(),
        }
    }

    /// `count` distinct random members (`count < len`).
    fn random_distinct(&self, count: usize, rng: &mut impl FnMut() -> u64) -> Vec<Vec<u8>> {
        if count.saturating_mul(3) > self.len() {
            let mut all = self.elems();
            partial_shuffle(&mut all, count, rng);
            all.truncate(count);
            return all.into_iter().map(Elem::to_vec).collect();
        }
        match &self.repr {
            Repr::Intset(v) => pick_indices(v.len(), count, rng)
                .into_iter()
                .filter_map(|i| v.get(i).map(|&n| Elem::Int(n).to_vec()))
                .collect(),
            Repr::Table(_) => {
                let mut seen: HashSet<Elem<'_>> = HashSet::with_capacity(count);
                let mut out = Vec::with_capacity(count);
                while out.len() < count {
                    let Some(e) = self.random_elem(rng) else {
                        break;
                    };
                    if seen.insert(e) {
                        out.push(e.to_vec());
                    }
                }
                out
            }
        }
    }

    /// Removes and returns `count` random members (`count < len`), as
    /// Redis' SPOP with a count: one at a time when few are taken, else by
    /// rebuilding the set from the members that stay.
    fn pop_random(
        &mut self,
        count: usize,
        max_intset: usize,
        rng: &mut impl FnMut() -> u64,
    ) -> Vec<Vec<u8>> {
        let remaining = self.len().saturating_sub(count);
        if remaining.saturating_mul(5) > count {
            let mut out = Vec::with_capacity(count);
            for _ in 0..count {
                let Some(m) = self.random_elem(rng).map(Elem::to_vec) else {
                    break;
                };
                self.remove(&m);
                out.push(m);
            }
            return out;
        }
        let mut all = self.members();
        partial_shuffle(&mut all, remaining, rng);
        let popped = all.split_off(remaining);
        let mut kept = SetValue::new();
        for m in &all {
            kept.insert(m, max_intset);
        }
        *self = kept;
        popped
    }
}

/// One step of an SSCAN: the next cursor and the members found.
pub type SetScan = (u64, Vec<Vec<u8>>);

/// The set at `key` in locked tables, after lazy expiry.
fn locked_set<'t>(
    db: &Db<'_>,
    locked: &'t mut Locked<'_>,
    key: &[u8],
    access: Access,
) -> Result<Option<&'t mut SetValue>, StoreError> {
    let Some(table) = locked.table(key) else {
        return Ok(None);
    };
    match db.live(table, key, access) {
        None => Ok(None),
        Some(e) => Ok(Some(&mut **expect_type!(e, Set)?)),
    }
}

impl Db<'_> {
    /// The current `set-max-intset-entries`.
    pub(crate) fn max_intset(&self) -> usize {
        self.store
            .settings()
            .set_max_intset_entries
            .load(Ordering::Relaxed)
    }

    /// Reads the set at `key` (`None` if missing) under its slot's lock.
    fn read_set<R>(
        &self,
        key: &[u8],
        f: impl FnOnce(Option<&SetValue>) -> R,
    ) -> Result<R, StoreError> {
        let mut table = self.keys.lock(key);
        match self.live(&mut table, key, Access::Read) {
            None => Ok(f(None)),
            Some(e) => Ok(f(Some(expect_type!(e, Set)?))),
        }
    }

    /// Modifies the set at `key` if it exists. `f` returns its result and
    /// whether it changed the set; a set left empty is deleted.
    fn modify_set<R>(
        &self,
        key: &[u8],
        event: &str,
        missing: R,
        f: impl FnOnce(&mut SetValue) -> (R, bool),
    ) -> Result<R, StoreError> {
        let mut table = self.keys.lock(key);
        let Some(e) = self.live(&mut table, key, Access::Write) else {
            return Ok(missing);
        };
        let set = expect_type!(e, Set)?;
        let (out, changed) = f(set);
        let emptied = set.is_empty();
        if emptied {
            table.remove(key);
        } else if changed {
            table.touch(key);
        }
        if changed {
            self.notify(class::SET, event, key);
        }
        if emptied {
            self.notify(class::GENERIC, "del", key);
        }
        Ok(out)
    }

    /// `SADD key member [member ...]`: how many members were added.
    pub fn sadd(&self, key: &[u8], members: &[&[u8]]) -> Result<usize, StoreError> {
        let max = self.max_intset();
        let mut table = self.keys.lock(key);
        match self.live(&mut table, key, Access::Write) {
            Some(e) => {
                let set = expect_type!(e, Set)?;
                let added = members.iter().filter(|m| set.insert(m, max)).count();
                if added > 0 {
                    table.touch(key);
                    self.notify(class::SET, "sadd", key);
                }
                Ok(added)
            }
            None => {
                let mut set = SetValue::new();
                let added = members.iter().filter(|m| set.insert(m, max)).count();
                if added > 0 {
                    let entry = self.entry(Value::Set(Box::new(set)));
                    self.put(&mut table, key, entry);
                    self.notify(class::SET, "sadd", key);
                }
                Ok(added)
            }
        }
    }

    /// `SREM key member [member ...]`: how many members were removed. The
    /// key is deleted when its last member goes.
    pub fn srem(&self, key: &[u8], members: &[&[u8]]) -> Result<usize, StoreError> {
        self.modify_set(key, "srem", 0, |set| {
            let mut removed = 0;
            for m in members {
                if set.remove(m) {
                    removed += 1;
                    if set.is_empty() {
                        break;
                    }
                }
            }
            (removed, removed > 0)
        })
    }

    /// `SMEMBERS key`: every member (none for a missing key).
    pub fn smembers(&self, key: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
        self.read_set(key, |s| s.map_or_else(Vec::new, SetValue::members))
    }

    /// `SISMEMBER key member`.
    pub fn sismember(&self, key: &[u8], member: &[u8]) -> Result<bool, StoreError> {
        self.read_set(key, |s| s.is_some_and(|s| s.contains(member)))
    }

    /// `SMISMEMBER key member [member ...]`: membership of each member.
    pub fn smismember(&self, key: &[u8], members: &[&[u8]]) -> Result<Vec<bool>, StoreError> {
        self.read_set(key, |s| {
            members
                .iter()
                .map(|m| s.is_some_and(|s| s.contains(m)))
                .collect()
        })
    }

    /// `SCARD key`: the number of members (0 for a missing key).
    pub fn scard(&self, key: &[u8]) -> Result<usize, StoreError> {
        self.read_set(key, |s| s.map_or(0, SetValue::len))
    }

    /// `SPOP key`: removes and returns a random member.
    pub fn spop(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let mut rng = || self.store.random();
        self.modify_set(key, "spop", None, |set| {
            let m = set.random_elem(&mut rng).map(Elem::to_vec);
            if let Some(m) = &m {
                set.remove(m);
            }
            let changed = m.is_some();
            (m, changed)
        })
    }

    /// `SPOP key count`: removes and returns up to `count` random members
    /// (the whole set, deleting the key, when `count` reaches its size).
    pub fn spop_count(&self, key: &[u8], count: usize) -> Result<Vec<Vec<u8>>, StoreError> {
        let max = self.max_intset();
        let mut rng = || self.store.random();
        self.modify_set(key, "spop", Vec::new(), |set| {
            if count == 0 {
                return (Vec::new(), false);
            }
            if count >= set.len() {
                // Redis replies through SUNION's result set, an intset
                // (ascending) when it can be one.
                let mut all = SetValue::new();
                set.for_each(|m| {
                    all.insert(m, max);
                });
                *set = SetValue::new();
                return (all.members(), true);
            }
            (set.pop_random(count, max, &mut rng), true)
        })
    }

    /// `SRANDMEMBER key`: a random member, `None` for a missing key.
    pub fn srandmember(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let mut rng = || self.store.random();
        self.read_set(key, |s| {
            s.and_then(|s| s.random_elem(&mut rng)).map(Elem::to_vec)
        })
    }

    /// `SRANDMEMBER key count`: a positive `count` gives distinct members
    /// (at most all of them); a negative one gives exactly `-count`
    /// members, possibly repeated.
    pub fn srandmember_count(&self, key: &[u8], count: i64) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut rng = || self.store.random();
        self.read_set(key, |s| {
            let Some(s) = s else {
                return Vec::new();
            };
            let n = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
            if n == 0 {
                return Vec::new();
            }
            if count < 0 || n == 1 {
                let mut out = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    match s.random_elem(&mut rng) {
                        Some(e) => out.push(e.to_vec()),
                        None => break,
                    }
                }
                return out;
            }
            if n >= s.len() {
                return s.members();
            }
            s.random_distinct(n, &mut rng)
        })
    }

    /// `SMOVE source destination member`: moves `member`; returns whether
    /// it was in `source`. The destination is only modified (and its
    /// watchers signalled) when the member was not already there.
    pub fn smove(&self, src: &[u8], dst: &[u8], member: &[u8]) -> Result<bool, StoreError> {
        let max = self.max_intset();
        let mut locked = self.keys.lock_many([src, dst]);
        if locked_set(self, &mut locked, src, Access::Write)?.is_none() {
            return Ok(false);
        }
        locked_set(self, &mut locked, dst, Access::Write)?;
        if src == dst {
            let set = locked_set(self, &mut locked, src, Access::Peek)?;
            return Ok(set.is_some_and(|s| s.contains(member)));
        }
        let (removed, now_empty) = match locked_set(self, &mut locked, src, Access::Peek)? {
            Some(set) => (set.remove(member), set.is_empty()),
            None => return Ok(false),
        };
        if !removed {
            return Ok(false);
        }
        if let Some(table) = locked.table(src) {
            if now_empty {
                table.remove(src);
            } else {
                table.touch(src);
            }
            self.notify(class::SET, "srem", src);
            if now_empty {
                self.notify(class::GENERIC, "del", src);
            }
        }
        let added =
            locked_set(self, &mut locked, dst, Access::Peek)?.map(|set| set.insert(member, max));
        if let Some(table) = locked.table(dst) {
            match added {
                Some(true) => table.touch(dst),
                Some(false) => {}
                None => {
                    let mut set = SetValue::new();
                    set.insert(member, max);
                    let entry = self.entry(Value::Set(Box::new(set)));
                    self.put(table, dst, entry);
                }
            }
        }
        if added != Some(false) {
            self.notify(class::SET, "sadd", dst);
        }
        Ok(true)
    }

    /// The sets at `keys` in locked tables: their sizes, `None` for missing
    /// keys; `WrongType` if any key holds another type.
    fn set_sizes(
        &self,
        locked: &mut Locked<'_>,
        keys: &[&[u8]],
    ) -> Result<Vec<Option<usize>>, StoreError> {
        keys.iter()
            .map(|k| Ok(locked_set(self, locked, k, Access::Read)?.map(|s| s.len())))
            .collect()
    }

    /// The members of the intersection of `keys`, in the order of the
    /// smallest set.
    fn inter_members(
        &self,
        locked: &mut Locked<'_>,
        keys: &[&[u8]],
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let sizes = self.set_sizes(locked, keys)?;
        if sizes.iter().any(Option::is_none) || keys.is_empty() {
            return Ok(Vec::new());
        }
        let smallest = (0..keys.len())
            .min_by_key(|&i| sizes.get(i).copied().flatten())
            .unwrap_or(0);
        let Some(&first) = keys.get(smallest) else {
            return Ok(Vec::new());
        };
        let mut out =
            locked_set(self, locked, first, Access::Peek)?.map_or_else(Vec::new, |s| s.members());
        let mut done: HashSet<&[u8]> = HashSet::new();
        done.insert(first);
        for &k in keys {
            if out.is_empty() {
                break;
            }
            if !done.insert(k) {
                continue;
            }
            if let Some(s) = locked_set(self, locked, k, Access::Peek)? {
                out.retain(|m| s.contains(m));
            }
        }
        Ok(out)
    }

    /// The union of `keys`, built as Redis builds it (starting as an
    /// intset).
    fn union_set(&self, locked: &mut Locked<'_>, keys: &[&[u8]]) -> Result<SetValue, StoreError> {
        self.set_sizes(locked, keys)?;
        let max = self.max_intset();
        let mut out = SetValue::new();
        let mut done: HashSet<&[u8]> = HashSet::new();
        for &k in keys {
            if !done.insert(k) {
                continue;
            }
            if let Some(s) = locked_set(self, locked, k, Access::Peek)? {
                s.for_each(|m| {
                    out.insert(m, max);
                });
            }
        }
        Ok(out)
    }

    /// The members of the first of `keys` that are in none of the others.
    fn diff_set(&self, locked: &mut Locked<'_>, keys: &[&[u8]]) -> Result<SetValue, StoreError> {
        self.set_sizes(locked, keys)?;
        let max = self.max_intset();
        let Some((&first, rest)) = keys.split_first() else {
            return Ok(SetValue::new());
        };
        if rest.contains(&first) {
            return Ok(SetValue::new());
        }
        let mut members = match locked_set(self, locked, first, Access::Peek)? {
            Some(s) => s.members(),
            None => return Ok(SetValue::new()),
        };
        for &k in rest {
            if members.is_empty() {
                break;
            }
            if let Some(s) = locked_set(self, locked, k, Access::Peek)? {
                members.retain(|m| !s.contains(m));
            }
        }
        let mut out = SetValue::new();
        for m in &members {
            out.insert(m, max);
        }
        Ok(out)
    }

    /// Stores `result` at `dst`, replacing whatever was there (and its
    /// TTL), or deletes `dst` when `result` is empty. Returns its size.
    fn store_set(
        &self,
        locked: &mut Locked<'_>,
        dst: &[u8],
        result: SetValue,
        event: &str,
    ) -> usize {
        let Some(table) = locked.table(dst) else {
            return 0;
        };
        let exists = self.live(table, dst, Access::Write).is_some();
        let n = result.len();
        if n == 0 {
            if exists {
                table.remove(dst);
                self.notify(class::GENERIC, "del", dst);
            }
        } else {
            let entry = self.entry(Value::Set(Box::new(result)));
            self.put(table, dst, entry);
            self.notify(class::SET, event, dst);
        }
        n
    }

    /// `SINTER key [key ...]`: the members in every set (a missing key is
    /// an empty set).
    pub fn sinter(&self, keys: &[&[u8]]) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut locked = self.keys.lock_many(keys.iter().copied());
        self.inter_members(&mut locked, keys)
    }

    /// `SINTERCARD numkeys key [key ...] [LIMIT limit]`: the size of the
    /// intersection, counting at most `limit` (0: no limit).
    pub fn sintercard(&self, keys: &[&[u8]], limit: usize) -> Result<usize, StoreError> {
        let n = self.sinter(keys)?.len();
        Ok(if limit == 0 { n } else { n.min(limit) })
    }

    /// `SINTERSTORE destination key [key ...]`: stores the intersection;
    /// returns its size.
    pub fn sinterstore(&self, dst: &[u8], keys: &[&[u8]]) -> Result<usize, StoreError> {
        let max = self.max_intset();
        let mut locked = self.keys.lock_many(keys.iter().copied().chain([dst]));
        let members = self.inter_members(&mut locked, keys)?;
        let mut result = SetValue::new();
        for m in &members {
            result.insert(m, max);
        }
        Ok(self.store_set(&mut locked, dst, result, "sinterstore"))
    }

    /// `SUNION key [key ...]`: the members of any of the sets.
    pub fn sunion(&self, keys: &[&[u8]]) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut locked = self.keys.lock_many(keys.iter().copied());
        Ok(self.union_set(&mut locked, keys)?.members())
    }

    /// `SUNIONSTORE destination key [key ...]`: stores the union; returns
    /// its size.
    pub fn sunionstore(&self, dst: &[u8], keys: &[&[u8]]) -> Result<usize, StoreError> {
        let mut locked = self.keys.lock_many(keys.iter().copied().chain([dst]));
        let result = self.union_set(&mut locked, keys)?;
        Ok(self.store_set(&mut locked, dst, result, "sunionstore"))
    }

    /// `SDIFF key [key ...]`: the members of the first set that are in none
    /// of the others.
    pub fn sdiff(&self, keys: &[&[u8]]) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut locked = self.keys.lock_many(keys.iter().copied());
        Ok(self.diff_set(&mut locked, keys)?.members())
    }

    /// `SDIFFSTORE destination key [key ...]`: stores the difference;
    /// returns its size.
    pub fn sdiffstore(&self, dst: &[u8], keys: &[&[u8]]) -> Result<usize, StoreError> {
        let mut locked = self.keys.lock_many(keys.iter().copied().chain([dst]));
        let result = self.diff_set(&mut locked, keys)?;
        Ok(self.store_set(&mut locked, dst, result, "sdiffstore"))
    }

    /// `SSCAN key cursor [MATCH pattern] [COUNT count]`: one step of a
    /// cursor iteration. An intset is returned whole with cursor 0, as
    /// Redis does.
    pub fn sscan(
        &self,
        key: &[u8],
        cursor: u64,
        pattern: Option<&[u8]>,
        count: usize,
    ) -> Result<SetScan, StoreError> {
        self.read_set(key, |s| {
            let Some(s) = s else {
                return (0, Vec::new());
            };
            let keep = |m: &[u8]| match pattern {
                None => true,
                Some(p) => glob_match(p, m, false),
            };
            match &s.repr {
                Repr::Intset(_) => {
                    let mut out = Vec::new();
                    s.for_each(|m| {
                        if keep(m) {
                            out.push(m.to_vec());
                        }
                    });
                    (0, out)
                }
                Repr::Table(d) => {
                    let count = count.max(1);
                    let mut budget = count.saturating_mul(10);
                    let mut seen = 0;
                    let mut out = Vec::new();
                    let mut cursor = cursor;
                    loop {
                        cursor = d.scan(cursor, |m, ()| {
                            seen += 1;
                            if keep(m) {
                                out.push(m.to_vec());
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

    #[test]
    fn intset_stays_sorted_and_converts() {
        let mut s = SetValue::new();
        for m in ["5", "-3", "10", "5"] {
            s.insert(m.as_bytes(), 4);
        }
        assert_eq!(s.encoding(), "intset");
        assert_eq!(s.members(), [b"-3".to_vec(), b"5".to_vec(), b"10".to_vec()]);
        assert!(s.contains(b"10") && !s.contains(b"010") && !s.contains(b"x"));
        assert!(s.insert(b"7", 4));
        assert_eq!(s.encoding(), "intset");
        assert!(s.insert(b"8", 4));
        assert_eq!(s.encoding(), "hashtable");
        assert!(s.contains(b"-3") && s.contains(b"8"));
        assert!(s.remove(b"8") && !s.remove(b"8"));
        assert_eq!(s.encoding(), "hashtable");
    }

    #[test]
    fn non_canonical_integers_are_strings() {
        for m in ["007", "+1", "-0", " 1", "9223372036854775808", "1.0"] {
            let mut s = SetValue::new();
            s.insert(m.as_bytes(), 512);
            assert_eq!(s.encoding(), "hashtable", "{m}");
            assert!(s.contains(m.as_bytes()));
        }
        let mut s = SetValue::new();
        s.insert(b"-9223372036854775808", 512);
        assert_eq!(s.encoding(), "intset");
        assert!(!s.remove(b"x"));
    }

    #[test]
    fn heap_size_tracks_members() {
        let mut s = SetValue::new();
        s.insert(&[b'm'; 40], 512);
        assert_eq!(s.bytes, 40);
        s.insert(&[b'n'; 30], 512);
        assert_eq!(s.bytes, 70);
        s.remove(&[b'm'; 40]);
        assert_eq!(s.bytes, 30);
        assert!(s.heap_size() >= 30);
    }

    #[test]
    fn pop_random_rebuilds_as_intset() {
        let mut x = 7u64;
        let mut rng = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut s = SetValue::new();
        for i in 0..20 {
            s.insert(i.to_string().as_bytes(), 512);
        }
        s.insert(b"a", 512);
        s.remove(b"a");
        assert_eq!(s.encoding(), "hashtable");
        let popped = s.pop_random(18, 512, &mut rng);
        assert_eq!(popped.len(), 18);
        assert_eq!(s.len(), 2);
        assert_eq!(s.encoding(), "intset");
        for m in &popped {
            assert!(!s.contains(m));
        }
        let popped = s.pop_random(1, 512, &mut rng);
        assert_eq!(popped.len(), 1);
        assert_eq!(s.len(), 1);
    }
}
