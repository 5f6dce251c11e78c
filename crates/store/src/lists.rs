//! List operations: the [`ListValue`] type and the typed API behind LPUSH,
//! RPUSH, LPOP/RPOP, LRANGE, LTRIM, LREM, LINSERT, LPOS, LMOVE, LMPOP and
//! the data side of the blocking pops.
//!
//! Lists are deques of [`SmallBytes`]; a list is never stored empty: the
//! operation that removes its last element deletes the key, as Redis does.

use std::collections::VecDeque;

use crate::access::{expect_type, Access};
use crate::error::StoreError;
use crate::keyspace::SlotTable;
use crate::notify::class;
use crate::smallbytes::SmallBytes;
use crate::store::Db;
use crate::value::Value;

/// An end of a list: `LEFT` (the head, index 0) or `RIGHT` (the tail).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListEnd {
    /// The head (`LEFT`, `LPUSH`, `LPOP`).
    Left,
    /// The tail (`RIGHT`, `RPUSH`, `RPOP`).
    Right,
}

impl ListEnd {
    /// `LEFT` or `RIGHT`, case-insensitively.
    pub fn parse(word: &[u8]) -> Option<ListEnd> {
        if word.eq_ignore_ascii_case(b"left") {
            Some(ListEnd::Left)
        } else if word.eq_ignore_ascii_case(b"right") {
            Some(ListEnd::Right)
        } else {
            None
        }
    }
}

/// What LMPOP pops: the key's name and the elements, in popping order.
pub type KeyElements = (Vec<u8>, Vec<Vec<u8>>);

/// A list value: a deque of byte strings with its heap size kept up to
/// date on every change.
#[derive(Debug, Clone, Default)]
pub struct ListValue {
    items: VecDeque<SmallBytes>,
    /// Heap bytes of the elements themselves (not of the deque's buffer).
    element_heap: usize,
}

impl PartialEq for ListValue {
    fn eq(&self, other: &Self) -> bool {
        self.items == other.items
    }
}

impl ListValue {
    /// An empty list.
    pub fn new() -> ListValue {
        ListValue::default()
    }

    /// The encoding `OBJECT ENCODING` reports (Redis 7.0 always says
    /// `quicklist`).
    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    /// Approximate heap bytes held, in O(1).
    pub fn heap_size(&self) -> usize {
        self.items.capacity() * std::mem::size_of::<SmallBytes>() + self.element_heap
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the list has no element.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Adds `value` at `end`.
    pub fn push(&mut self, end: ListEnd, value: &[u8]) {
        let v = SmallBytes::new(value);
        self.element_heap += v.heap_size();
        match end {
            ListEnd::Left => self.items.push_front(v),
            ListEnd::Right => self.items.push_back(v),
        }
    }

    /// Removes and returns the element at `end`.
    pub fn pop(&mut self, end: ListEnd) -> Option<SmallBytes> {
        let v = match end {
            ListEnd::Left => self.items.pop_front(),
            ListEnd::Right => self.items.pop_back(),
        }?;
        self.element_heap -= v.heap_size();
        Some(v)
    }

    /// The element at `index` (0 is the head).
    pub fn get(&self, index: usize) -> Option<&[u8]> {
        self.items.get(index).map(|v| v.as_slice())
    }

    /// Iterates from head to tail.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> + ExactSizeIterator + '_ {
        self.items.iter().map(|v| v.as_slice())
    }

    /// Replaces the element at `index`; false if out of range.
    fn replace(&mut self, index: usize, value: &[u8]) -> bool {
        let Some(slot) = self.items.get_mut(index) else {
            return false;
        };
        let v = SmallBytes::new(value);
        self.element_heap = self.element_heap - slot.heap_size() + v.heap_size();
        *slot = v;
        true
    }

    /// Inserts `value` before position `index`.
    fn insert(&mut self, index: usize, value: &[u8]) {
        let v = SmallBytes::new(value);
        self.element_heap += v.heap_size();
        self.items.insert(index, v);
    }

    /// Removes the element at `index`.
    fn remove(&mut self, index: usize) -> Option<SmallBytes> {
        let v = self.items.remove(index)?;
        self.element_heap -= v.heap_size();
        Some(v)
    }

    /// Keeps only the elements in `start..end`.
    fn keep_range(&mut self, start: usize, end: usize) {
        let end = end.min(self.items.len());
        let start = start.min(end);
        for v in self.items.drain(end..) {
            self.element_heap -= v.heap_size();
        }
        for v in self.items.drain(..start) {
            self.element_heap -= v.heap_size();
        }
        self.shrink();
    }

    /// Gives memory back when the deque is mostly empty.
    fn shrink(&mut self) {
        if self.items.capacity() > 64 && self.items.len() * 4 < self.items.capacity() {
            self.items.shrink_to(self.items.len() * 2);
        }
    }

    /// Removes up to `count` elements from `end`, in popping order.
    fn pop_many(&mut self, end: ListEnd, count: usize) -> Vec<Vec<u8>> {
        let n = count.min(self.items.len());
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            if let Some(v) = self.pop(end) {
                out.push(v.to_vec());
            }
        }
        self.shrink();
        out
    }
}

impl<'a> FromIterator<&'a [u8]> for ListValue {
    fn from_iter<I: IntoIterator<Item = &'a [u8]>>(iter: I) -> Self {
        let mut list = ListValue::new();
        for v in iter {
            list.push(ListEnd::Right, v);
        }
        list
    }
}

/// Resolves a possibly negative index against `len` (Redis' convention:
/// -1 is the last element).
fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let len = len as i64;
    let i = if index < 0 {
        index.checked_add(len)?
    } else {
        index
    };
    (0..len).contains(&i).then_some(i as usize)
}

/// The inclusive range `start..=end` of LRANGE/LTRIM, clamped to the list,
/// as a half-open range; `None` when empty.
fn resolve_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 {
        start.saturating_add(len)
    } else {
        start
    };
    let mut end = if end < 0 {
        end.saturating_add(len)
    } else {
        end
    };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return None;
    }
    if end >= len {
        end = len - 1;
    }
    Some((start as usize, end as usize + 1))
}

/// The list held by `key` in `table`, after lazy expiry: `Ok(None)` when
/// missing, `WrongType` when it holds something else.
fn list_in<'t>(
    db: &Db<'_>,
    table: &'t mut SlotTable,
    key: &[u8],
    access: Access,
) -> Result<Option<&'t mut ListValue>, StoreError> {
    match db.live(table, key, access) {
        None => Ok(None),
        Some(e) => Ok(Some(&mut **expect_type!(e, List)?)),
    }
}

/// The keyspace event of a push or a pop at `end`.
fn event(end: ListEnd, push: bool) -> &'static str {
    match (end, push) {
        (ListEnd::Left, true) => "lpush",
        (ListEnd::Right, true) => "rpush",
        (ListEnd::Left, false) => "lpop",
        (ListEnd::Right, false) => "rpop",
    }
}

impl Db<'_> {
    /// After a change to the list at `key`: reports `event`, then deletes
    /// the key if its list became empty (reporting `del`), or signals the
    /// change to watchers.
    fn settle(&self, table: &mut SlotTable, key: &[u8], now_empty: bool, event: &str) {
        self.notify(class::LIST, event, key);
        if now_empty {
            table.remove(key);
            self.notify(class::GENERIC, "del", key);
        } else {
            table.touch(key);
        }
    }

    /// `LPUSH`/`RPUSH key element [element ...]` (and with `only_if_exists`,
    /// `LPUSHX`/`RPUSHX`): the list's length after the push (0 when
    /// `only_if_exists` and the key is missing).
    pub fn list_push(
        &self,
        key: &[u8],
        end: ListEnd,
        elements: &[&[u8]],
        only_if_exists: bool,
    ) -> Result<usize, StoreError> {
        let mut table = self.keys.lock(key);
        match list_in(self, &mut table, key, Access::Write)? {
            Some(list) => {
                for e in elements {
                    list.push(end, e);
                }
                let len = list.len();
                table.touch(key);
                self.notify(class::LIST, event(end, true), key);
                Ok(len)
            }
            None if only_if_exists || elements.is_empty() => Ok(0),
            None => {
                let mut list = ListValue::new();
                for e in elements {
                    list.push(end, e);
                }
                let len = list.len();
                let entry = self.entry(Value::List(Box::new(list)));
                self.put(&mut table, key, entry);
                self.notify(class::LIST, event(end, true), key);
                Ok(len)
            }
        }
    }

    /// `LPOP`/`RPOP key [count]`: `None` when the key is missing. Without a
    /// count, at most one element; with `Some(0)`, an existing list gives
    /// an empty vector.
    pub fn list_pop(
        &self,
        key: &[u8],
        end: ListEnd,
        count: Option<usize>,
    ) -> Result<Option<Vec<Vec<u8>>>, StoreError> {
        let mut table = self.keys.lock(key);
        let Some(list) = list_in(self, &mut table, key, Access::Write)? else {
            return Ok(None);
        };
        let n = count.unwrap_or(1);
        if n == 0 {
            return Ok(Some(Vec::new()));
        }
        let out = list.pop_many(end, n);
        let empty = list.is_empty();
        self.settle(&mut table, key, empty, event(end, false));
        Ok(Some(out))
    }

    /// `LLEN key`.
    pub fn list_len(&self, key: &[u8]) -> Result<usize, StoreError> {
        let mut table = self.keys.lock(key);
        Ok(list_in(self, &mut table, key, Access::Read)?.map_or(0, |l| l.len()))
    }

    /// `LINDEX key index` (negative counts from the tail).
    pub fn list_index(&self, key: &[u8], index: i64) -> Result<Option<Vec<u8>>, StoreError> {
        let mut table = self.keys.lock(key);
        let Some(list) = list_in(self, &mut table, key, Access::Read)? else {
            return Ok(None);
        };
        Ok(resolve_index(index, list.len())
            .and_then(|i| list.get(i))
            .map(<[u8]>::to_vec))
    }

    /// `LSET key index element`: `NoSuchKey` or `IndexOutOfRange` when
    /// there is nothing to replace.
    pub fn list_set(&self, key: &[u8], index: i64, value: &[u8]) -> Result<(), StoreError> {
        let mut table = self.keys.lock(key);
        let Some(list) = list_in(self, &mut table, key, Access::Write)? else {
            return Err(StoreError::NoSuchKey);
        };
        let i = resolve_index(index, list.len()).ok_or(StoreError::IndexOutOfRange)?;
        if !list.replace(i, value) {
            return Err(StoreError::IndexOutOfRange);
        }
        table.touch(key);
        self.notify(class::LIST, "lset", key);
        Ok(())
    }

    /// `LRANGE key start stop` (inclusive, negative from the tail).
    pub fn list_range(
        &self,
        key: &[u8],
        start: i64,
        stop: i64,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        self.list_range_with(key, start, stop, |items| {
            items.map(<[u8]>::to_vec).collect()
        })
        .map(Option::unwrap_or_default)
    }

    /// `LRANGE` without copying: calls `f` with the elements of the range
    /// while the key's slot is locked (keep `f` short). `None` when the key
    /// is missing.
    pub fn list_range_with<R>(
        &self,
        key: &[u8],
        start: i64,
        stop: i64,
        f: impl FnOnce(&mut dyn ExactSizeIterator<Item = &[u8]>) -> R,
    ) -> Result<Option<R>, StoreError> {
        let mut table = self.keys.lock(key);
        let Some(list) = list_in(self, &mut table, key, Access::Read)? else {
            return Ok(None);
        };
        let (from, to) = resolve_range(start, stop, list.len()).unwrap_or((0, 0));
        let mut iter = list.items.range(from..to).map(|v| v.as_slice());
        Ok(Some(f(&mut iter)))
    }

    /// `LTRIM key start stop`: keeps only the range; an empty result
    /// deletes the key.
    pub fn list_trim(&self, key: &[u8], start: i64, stop: i64) -> Result<(), StoreError> {
        let mut table = self.keys.lock(key);
        let Some(list) = list_in(self, &mut table, key, Access::Write)? else {
            return Ok(());
        };
        let (from, to) = resolve_range(start, stop, list.len()).unwrap_or((0, 0));
        list.keep_range(from, to);
        let empty = list.is_empty();
        self.settle(&mut table, key, empty, "ltrim");
        Ok(())
    }

    /// `LREM key count element`: removes up to `|count|` occurrences (all
    /// when 0), from the tail when `count` is negative. Returns how many.
    pub fn list_remove(&self, key: &[u8], count: i64, element: &[u8]) -> Result<usize, StoreError> {
        let mut table = self.keys.lock(key);
        let Some(list) = list_in(self, &mut table, key, Access::Write)? else {
            return Ok(0);
        };
        let limit = match count.unsigned_abs() {
            0 => usize::MAX,
            n => usize::try_from(n).unwrap_or(usize::MAX),
        };
        let mut removed = 0;
        if count >= 0 {
            let mut i = 0;
            while i < list.len() && removed < limit {
                if list.get(i) == Some(element) {
                    list.remove(i);
                    removed += 1;
                } else {
                    i += 1;
                }
            }
        } else {
            let mut i = list.len();
            while i > 0 && removed < limit {
                i -= 1;
                if list.get(i) == Some(element) {
                    list.remove(i);
                    removed += 1;
                }
            }
        }
        if removed > 0 {
            list.shrink();
            let empty = list.is_empty();
            self.settle(&mut table, key, empty, "lrem");
        }
        Ok(removed)
    }

    /// `LINSERT key BEFORE|AFTER pivot element`: the new length, -1 when
    /// the pivot is not found, 0 when the key is missing.
    pub fn list_insert(
        &self,
        key: &[u8],
        after: bool,
        pivot: &[u8],
        element: &[u8],
    ) -> Result<i64, StoreError> {
        let mut table = self.keys.lock(key);
        let Some(list) = list_in(self, &mut table, key, Access::Write)? else {
            return Ok(0);
        };
        let Some(at) = list.iter().position(|v| v == pivot) else {
            return Ok(-1);
        };
        list.insert(if after { at + 1 } else { at }, element);
        let len = list.len() as i64;
        table.touch(key);
        self.notify(class::LIST, "linsert", key);
        Ok(len)
    }

    /// `LPOS key element [RANK rank] [COUNT count] [MAXLEN len]`: the
    /// indexes of matches (as LINDEX counts them). `rank` must not be 0;
    /// a negative rank searches from the tail. `count` 0 means all matches;
    /// `maxlen` 0 means no limit. At most `max(count, 1)` indexes are
    /// returned.
    pub fn list_pos(
        &self,
        key: &[u8],
        element: &[u8],
        rank: i64,
        count: usize,
        maxlen: usize,
    ) -> Result<Vec<usize>, StoreError> {
        let mut table = self.keys.lock(key);
        let Some(list) = list_in(self, &mut table, key, Access::Read)? else {
            return Ok(Vec::new());
        };
        let from_tail = rank < 0;
        // Redis negates the rank in a C long: i64::MIN stays negative, so
        // every match is at or past that rank.
        let rank = if from_tail { rank.wrapping_neg() } else { rank };
        let len = list.len();
        let limit = if maxlen == 0 { len } else { maxlen.min(len) };
        let mut out = Vec::new();
        let mut matches: i64 = 0;
        for step in 0..limit {
            let index = if from_tail { len - 1 - step } else { step };
            if list.get(index) != Some(element) {
                continue;
            }
            matches += 1;
            if matches >= rank {
                out.push(index);
                if count != 1 && (count == 0 || out.len() < count) {
                    continue;
                }
                break;
            }
        }
        Ok(out)
    }

    /// `LMOVE source destination LEFT|RIGHT LEFT|RIGHT` (and RPOPLPUSH):
    /// the moved element, `None` when the source is missing.
    pub fn list_move(
        &self,
        src: &[u8],
        dst: &[u8],
        from: ListEnd,
        to: ListEnd,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.list_move_impl(src, dst, from, to, true)
    }

    /// [`Db::list_move`] for serving a blocked client: a source that is
    /// not a list counts as missing (the client stays blocked), while a
    /// destination of the wrong type is still an error.
    pub fn list_move_ready(
        &self,
        src: &[u8],
        dst: &[u8],
        from: ListEnd,
        to: ListEnd,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.list_move_impl(src, dst, from, to, false)
    }

    fn list_move_impl(
        &self,
        src: &[u8],
        dst: &[u8],
        from: ListEnd,
        to: ListEnd,
        strict: bool,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let mut locked = self.keys.lock_many([src, dst]);
        let Some(table) = locked.table(src) else {
            return Ok(None);
        };
        match list_in(self, table, src, Access::Write) {
            Ok(Some(_)) => {}
            Ok(None) => return Ok(None),
            Err(e) if strict => return Err(e),
            Err(_) => return Ok(None),
        }
        if let Some(table) = locked.table(dst) {
            list_in(self, table, dst, Access::Write)?;
        }
        // Both keys are checked: pop from the source, then push.
        let Some(table) = locked.table(src) else {
            return Ok(None);
        };
        let Ok(Some(list)) = list_in(self, table, src, Access::Peek) else {
            return Ok(None);
        };
        let Some(value) = list.pop(from) else {
            return Ok(None);
        };
        if src == dst {
            // A rotation: the list never becomes empty (and keeps its TTL).
            list.push(to, &value);
            table.touch(src);
            self.notify(class::LIST, event(to, true), src);
            self.notify(class::LIST, event(from, false), src);
            return Ok(Some(value.to_vec()));
        }
        let empty = list.is_empty();
        // Redis reports the push before the pop.
        if let Some(table) = locked.table(dst) {
            match list_in(self, table, dst, Access::Peek) {
                Ok(Some(list)) => {
                    list.push(to, &value);
                    table.touch(dst);
                }
                _ => {
                    let mut list = ListValue::new();
                    list.push(to, &value);
                    let entry = self.entry(Value::List(Box::new(list)));
                    self.put(table, dst, entry);
                }
            }
            self.notify(class::LIST, event(to, true), dst);
        }
        if let Some(table) = locked.table(src) {
            self.settle(table, src, empty, event(from, false));
        }
        Ok(Some(value.to_vec()))
    }

    /// `LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]`: pops up to
    /// `count` elements from the first non-empty list among `keys`, and
    /// returns its name with them. A key of another type is an error.
    pub fn list_mpop(
        &self,
        keys: &[&[u8]],
        end: ListEnd,
        count: usize,
    ) -> Result<Option<KeyElements>, StoreError> {
        self.list_mpop_impl(keys, end, count, true)
    }

    /// [`Db::list_mpop`] for serving a blocked client: keys of other types
    /// are skipped rather than an error.
    pub fn list_mpop_ready(
        &self,
        keys: &[&[u8]],
        end: ListEnd,
        count: usize,
    ) -> Option<KeyElements> {
        self.list_mpop_impl(keys, end, count, false).ok().flatten()
    }

    fn list_mpop_impl(
        &self,
        keys: &[&[u8]],
        end: ListEnd,
        count: usize,
        strict: bool,
    ) -> Result<Option<KeyElements>, StoreError> {
        for key in keys {
            let mut table = self.keys.lock(key);
            let list = match list_in(self, &mut table, key, Access::Write) {
                Ok(Some(list)) if !list.is_empty() => list,
                Ok(_) => continue,
                Err(e) if strict => return Err(e),
                Err(_) => continue,
            };
            let out = list.pop_many(end, count.max(1));
            let empty = list.is_empty();
            self.settle(&mut table, key, empty, event(end, false));
            return Ok(Some((key.to_vec(), out)));
        }
        Ok(None)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn items(list: &ListValue) -> Vec<Vec<u8>> {
        list.iter().map(<[u8]>::to_vec).collect()
    }

    #[test]
    fn heap_size_follows_changes() {
        let mut l = ListValue::new();
        assert_eq!(l.heap_size(), 0);
        l.push(ListEnd::Right, &[b'x'; 100]);
        l.push(ListEnd::Left, b"short");
        assert!(l.heap_size() >= 100 + 2 * std::mem::size_of::<SmallBytes>());
        assert!(l.replace(0, &[b'y'; 50]));
        assert_eq!(l.element_heap, 150);
        l.keep_range(1, 2);
        assert_eq!(items(&l), vec![vec![b'x'; 100]]);
        assert_eq!(l.element_heap, 100);
        assert_eq!(l.pop(ListEnd::Left).map(|v| v.len()), Some(100));
        assert_eq!(l.element_heap, 0);
    }

    #[test]
    fn ranges_follow_redis() {
        assert_eq!(resolve_range(0, -1, 3), Some((0, 3)));
        assert_eq!(resolve_range(-100, 100, 3), Some((0, 3)));
        assert_eq!(resolve_range(2, 1, 3), None);
        assert_eq!(resolve_range(5, 10, 3), None);
        assert_eq!(resolve_range(i64::MIN, i64::MAX, 3), Some((0, 3)));
        assert_eq!(resolve_index(-1, 3), Some(2));
        assert_eq!(resolve_index(-4, 3), None);
        assert_eq!(resolve_index(i64::MIN, 3), None);
        assert_eq!(resolve_index(3, 3), None);
    }

    #[test]
    fn empty_lists_are_deleted() {
        let store = Store::new();
        let db = store.db(0).unwrap();
        assert_eq!(
            db.list_push(b"l", ListEnd::Right, &[b"a", b"b"], false),
            Ok(2)
        );
        assert_eq!(
            db.list_pop(b"l", ListEnd::Left, Some(5)),
            Ok(Some(vec![b"a".to_vec(), b"b".to_vec()]))
        );
        assert_eq!(db.exists(&[b"l"]), 0);
        db.list_push(b"l", ListEnd::Right, &[b"a"], false).unwrap();
        db.list_trim(b"l", 1, 0).unwrap();
        assert_eq!(db.exists(&[b"l"]), 0);
        assert_eq!(db.list_push(b"l", ListEnd::Right, &[b"a"], true), Ok(0));
        assert_eq!(db.exists(&[b"l"]), 0);
    }

    #[test]
    fn lpos_rank_count_maxlen() {
        let store = Store::new();
        let db = store.db(0).unwrap();
        let els: Vec<&[u8]> = vec![b"a", b"b", b"c", b"1", b"2", b"3", b"c", b"c"];
        db.list_push(b"l", ListEnd::Right, &els, false).unwrap();
        assert_eq!(db.list_pos(b"l", b"c", 1, 1, 0), Ok(vec![2]));
        assert_eq!(db.list_pos(b"l", b"c", -1, 1, 0), Ok(vec![7]));
        assert_eq!(db.list_pos(b"l", b"c", 2, 0, 0), Ok(vec![6, 7]));
        assert_eq!(db.list_pos(b"l", b"c", -1, 2, 0), Ok(vec![7, 6]));
        assert_eq!(db.list_pos(b"l", b"c", 1, 0, 3), Ok(vec![2]));
        assert_eq!(db.list_pos(b"l", b"c", i64::MIN, 0, 0), Ok(vec![7, 6, 2]));
        assert_eq!(db.list_pos(b"l", b"c", 4, 1, 0), Ok(vec![]));
    }

    #[test]
    fn move_checks_types() {
        let store = Store::new();
        let db = store.db(0).unwrap();
        db.set(b"s", b"x", Default::default()).unwrap();
        db.list_push(b"l", ListEnd::Right, &[b"a", b"b"], false)
            .unwrap();
        assert_eq!(
            db.list_move(b"l", b"s", ListEnd::Left, ListEnd::Left),
            Err(StoreError::WrongType)
        );
        assert_eq!(
            db.list_move(b"s", b"l", ListEnd::Left, ListEnd::Left),
            Err(StoreError::WrongType)
        );
        assert_eq!(
            db.list_move_ready(b"s", b"l", ListEnd::Left, ListEnd::Left),
            Ok(None)
        );
        assert_eq!(
            db.list_move(b"none", b"s", ListEnd::Left, ListEnd::Left),
            Ok(None)
        );
        assert_eq!(
            db.list_move(b"l", b"l", ListEnd::Left, ListEnd::Right),
            Ok(Some(b"a".to_vec()))
        );
        assert_eq!(
            db.list_range(b"l", 0, -1),
            Ok(vec![b"b".to_vec(), b"a".to_vec()])
        );
        assert_eq!(
            db.list_move(b"l", b"m", ListEnd::Right, ListEnd::Left),
            Ok(Some(b"a".to_vec()))
        );
        assert_eq!(
            db.list_move(b"l", b"m", ListEnd::Right, ListEnd::Left),
            Ok(Some(b"b".to_vec()))
        );
        assert_eq!(db.exists(&[b"l"]), 0);
        assert_eq!(
            db.list_range(b"m", 0, -1),
            Ok(vec![b"b".to_vec(), b"a".to_vec()])
        );
    }
}
