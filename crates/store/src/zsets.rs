//! Sorted set operations: the [`ZSetValue`] type and its typed API (the
//! Z* commands).
//!
//! # Encodings
//!
//! As in Redis 7.0, a sorted set starts as a `listpack`: a small vector of
//! `(member, score)` pairs kept sorted by `(score, member)`, searched
//! linearly. It becomes a `skiplist` ([`SortedSet`]) for good once it would
//! hold more than `zset-max-listpack-entries` members or a member longer
//! than `zset-max-listpack-value` bytes. Only the `*STORE` commands build a
//! small result as a listpack again, as Redis does.
//!
//! Redis stores listpack scores as text or integers, which turns a `-0`
//! score into `0`; the listpack here does the same, the skiplist keeps the
//! sign.

use std::collections::HashMap;
use std::sync::atomic::Ordering as AtomicOrdering;

use crate::access::{expect_type, Access};
use crate::error::StoreError;
use crate::glob::glob_match;
use crate::keyspace::SlotTable;
use crate::notify::class;
use crate::sets::SetValue;
use crate::smallbytes::SmallBytes;
use crate::store::Db;
use crate::value::Value;
use crate::zset::{self, LexBound, ScoreBound, SortedSet};

/// A member with its score, owned.
pub type ScoredMember = (Vec<u8>, f64);

/// What ZMPOP popped: the key and its elements.
pub type Popped = (Vec<u8>, Vec<ScoredMember>);

/// The encoding thresholds (`zset-max-listpack-entries`,
/// `zset-max-listpack-value`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZSetLimits {
    /// The most members a listpack holds.
    pub max_listpack_entries: usize,
    /// The longest member (bytes) a listpack holds.
    pub max_listpack_value: usize,
}

impl Default for ZSetLimits {
    fn default() -> Self {
        ZSetLimits {
            max_listpack_entries: 128,
            max_listpack_value: 64,
        }
    }
}

/// A sorted set value.
#[derive(Debug, Clone, Default)]
pub struct ZSetValue {
    repr: Repr,
}

#[derive(Debug, Clone)]
enum Repr {
    Listpack(Listpack),
    Skiplist(SortedSet),
}

impl Default for Repr {
    fn default() -> Self {
        Repr::Listpack(Listpack::default())
    }
}

/// The small encoding: pairs sorted by `(score, member)`.
#[derive(Debug, Clone, Default)]
struct Listpack {
    items: Vec<(SmallBytes, f64)>,
    /// Sum of the members' heap bytes, for an O(1) `heap_size`.
    heap: usize,
}

/// Whether `(a, am)` sorts strictly before `(b, bm)`.
fn precedes(a: f64, am: &[u8], b: f64, bm: &[u8]) -> bool {
    a < b || (a == b && am < bm)
}

/// A listpack stores scores as Redis' `d2string` text or as integers, so
/// `-0` reads back as `0`.
fn listpack_score(score: f64) -> f64 {
    if score == 0.0 {
        0.0
    } else {
        score
    }
}

impl Listpack {
    fn position(&self, member: &[u8]) -> Option<usize> {
        self.items.iter().position(|(m, _)| &m[..] == member)
    }

    fn insert(&mut self, member: &[u8], score: f64) {
        let score = listpack_score(score);
        let at = self
            .items
            .partition_point(|(m, s)| precedes(*s, m, score, member));
        let m = SmallBytes::new(member);
        self.heap += m.heap_size();
        self.items.insert(at, (m, score));
    }

    fn remove_at(&mut self, i: usize) -> Option<(SmallBytes, f64)> {
        if i >= self.items.len() {
            return None;
        }
        let (m, s) = self.items.remove(i);
        self.heap -= m.heap_size();
        Some((m, s))
    }

    fn drain(&mut self, lo: usize, hi: usize) -> Vec<(SmallBytes, f64)> {
        let hi = hi.min(self.items.len());
        if lo >= hi {
            return Vec::new();
        }
        let out: Vec<(SmallBytes, f64)> = self.items.drain(lo..hi).collect();
        self.heap -= out.iter().map(|(m, _)| m.heap_size()).sum::<usize>();
        out
    }

    /// Ascending index range `lo..hi` of a score range.
    fn score_span(&self, min: ScoreBound, max: ScoreBound) -> (usize, usize) {
        if min.value.is_nan() || max.value.is_nan() {
            return (0, 0);
        }
        let lo = self.items.partition_point(|(_, s)| !gte_min(*s, min));
        let hi = self.items.partition_point(|(_, s)| lte_max(*s, max));
        (lo, hi.max(lo))
    }

    /// Ascending index range of a lex range, walking the pairs as Redis
    /// walks a listpack: from the first member at or above `min` while
    /// members stay at or below `max` (from the end, with `rev`).
    fn lex_span(&self, min: &LexBound, max: &LexBound, rev: bool) -> (usize, usize) {
        let items = &self.items;
        let (Some(first), Some(last)) = (items.first(), items.last()) else {
            return (0, 0);
        };
        if lex_range_is_empty(min, max) || !lex_gte_min(&last.0, min) || !lex_lte_max(&first.0, max)
        {
            return (0, 0);
        }
        if rev {
            let Some(j) = items.iter().rposition(|(m, _)| lex_lte_max(m, max)) else {
                return (0, 0);
            };
            let n = items[..=j]
                .iter()
                .rev()
                .take_while(|(m, _)| lex_gte_min(m, min))
                .count();
            (j + 1 - n, j + 1)
        } else {
            let Some(i) = items.iter().position(|(m, _)| lex_gte_min(m, min)) else {
                return (0, 0);
            };
            let n = items[i..]
                .iter()
                .take_while(|(m, _)| lex_lte_max(m, max))
                .count();
            (i, i + n)
        }
    }
}

fn gte_min(score: f64, min: ScoreBound) -> bool {
    if min.exclusive {
        score > min.value
    } else {
        score >= min.value
    }
}

fn lte_max(score: f64, max: ScoreBound) -> bool {
    if max.exclusive {
        score < max.value
    } else {
        score <= max.value
    }
}

fn lex_gte_min(member: &[u8], min: &LexBound) -> bool {
    match min {
        LexBound::NegInf => true,
        LexBound::PosInf => false,
        LexBound::Inclusive(v) => member >= v.as_slice(),
        LexBound::Exclusive(v) => member > v.as_slice(),
    }
}

fn lex_lte_max(member: &[u8], max: &LexBound) -> bool {
    match max {
        LexBound::NegInf => false,
        LexBound::PosInf => true,
        LexBound::Inclusive(v) => member <= v.as_slice(),
        LexBound::Exclusive(v) => member < v.as_slice(),
    }
}

/// Redis' test for lex ranges that are always empty (`min > max`, or equal
/// with an open end; `-` and `+` count as open).
fn lex_range_is_empty(min: &LexBound, max: &LexBound) -> bool {
    use std::cmp::Ordering::*;
    fn rank(b: &LexBound) -> (u8, &[u8], bool) {
        match b {
            LexBound::NegInf => (0, &[], true),
            LexBound::PosInf => (2, &[], true),
            LexBound::Inclusive(v) => (1, v, false),
            LexBound::Exclusive(v) => (1, v, true),
        }
    }
    let (a, b) = (rank(min), rank(max));
    match (a.0, a.1).cmp(&(b.0, b.1)) {
        Greater => true,
        Equal => a.2 || b.2,
        Less => false,
    }
}

/// What one [`ZSetValue::add`] did (Redis' `zsetAdd` outcome).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ZAddStep {
    /// The member was new and was added with this score.
    Added(f64),
    /// The member's score changed to this one.
    Updated(f64),
    /// The member kept its score (the new one compares equal).
    Unchanged(f64),
    /// Nothing done: NX/XX/GT/LT said no.
    Skipped,
}

/// When `ZADD` writes a member.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ZAddCondition {
    /// Always.
    #[default]
    Always,
    /// Only new members (`NX`).
    IfMissing,
    /// Only existing members (`XX`).
    IfExists,
}

/// Options of [`Db::zadd`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ZAddOptions {
    /// `NX` / `XX`.
    pub condition: ZAddCondition,
    /// `GT`: only update existing members to a greater score.
    pub gt: bool,
    /// `LT`: only update existing members to a lower score.
    pub lt: bool,
    /// `INCR`: add the score to the current one (`ZINCRBY`).
    pub incr: bool,
}

/// What [`Db::zadd`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ZAddOutcome {
    /// Members added.
    pub added: usize,
    /// Members whose score changed.
    pub updated: usize,
    /// Members not skipped by the options.
    pub processed: usize,
    /// The score of the last member processed (`INCR`'s reply); `None` if
    /// it was skipped.
    pub score: Option<f64>,
}

/// Which elements a range selects (ZRANGE and friends).
#[derive(Debug, Clone, PartialEq)]
pub enum ZRangeBy {
    /// Ranks `start..=stop`; negative ranks count from the end. With `rev`
    /// these are ranks in descending order.
    Rank(i64, i64),
    /// Scores between the two bounds (low, high).
    Score(ScoreBound, ScoreBound),
    /// Members between the two bounds (low, high).
    Lex(LexBound, LexBound),
}

/// A range query: what to select, in which order, which window.
#[derive(Debug, Clone, PartialEq)]
pub struct ZRangeSpec {
    /// The selection.
    pub by: ZRangeBy,
    /// Descending order (`REV`).
    pub rev: bool,
    /// `LIMIT offset count` (score and lex ranges only): a negative offset
    /// selects nothing, a negative count means no limit.
    pub limit: Option<(i64, i64)>,
}

impl ZRangeSpec {
    /// A range of ranks in ascending order.
    pub fn rank(start: i64, stop: i64) -> ZRangeSpec {
        ZRangeSpec {
            by: ZRangeBy::Rank(start, stop),
            rev: false,
            limit: None,
        }
    }
}

/// The aggregate of ZUNION/ZINTER scores.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Aggregate {
    /// Sum of the weighted scores (`inf + -inf` counts as 0).
    #[default]
    Sum,
    /// The lowest weighted score.
    Min,
    /// The highest weighted score.
    Max,
}

/// A set operation over sorted sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZSetOp {
    /// ZUNION.
    Union,
    /// ZINTER.
    Inter,
    /// ZDIFF: members of the first set in none of the others.
    Diff,
}

/// One page of ZSCAN.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZScanPage {
    /// The cursor to continue with; 0 when done.
    pub cursor: u64,
    /// Members and their scores as ZSCAN prints them.
    pub items: Vec<(Vec<u8>, Vec<u8>)>,
}

/// Sanitises `start..=stop` ranks for a set of `len` as Redis does: the
/// ascending index range, or `None` when empty.
fn rank_window(len: usize, start: i64, stop: i64) -> Option<(usize, usize)> {
    let len_i = i64::try_from(len).unwrap_or(i64::MAX);
    let mut start = if start < 0 {
        len_i.saturating_add(start)
    } else {
        start
    };
    let mut stop = if stop < 0 {
        len_i.saturating_add(stop)
    } else {
        stop
    };
    if start < 0 {
        start = 0;
    }
    if start > stop || start >= len_i {
        return None;
    }
    if stop >= len_i {
        stop = len_i - 1;
    }
    Some((start as usize, stop as usize))
}

/// Redis' `LIMIT offset count` as `(offset, limit)`; `None` when nothing
/// can be selected.
fn limit_window(limit: Option<(i64, i64)>) -> Option<(usize, Option<usize>)> {
    match limit {
        None => Some((0, None)),
        Some((offset, _)) if offset < 0 => None,
        Some((offset, count)) => Some((
            usize::try_from(offset).unwrap_or(usize::MAX),
            usize::try_from(count).ok(),
        )),
    }
}

/// Applies an offset and limit to the ascending index range `lo..hi` read
/// in the given direction; returns the ascending sub-range.
fn window(lo: usize, hi: usize, rev: bool, offset: usize, limit: Option<usize>) -> (usize, usize) {
    let count = hi.saturating_sub(lo);
    if offset >= count {
        return (lo, lo);
    }
    let take = (count - offset).min(limit.unwrap_or(usize::MAX));
    if rev {
        (hi - offset - take, hi - offset)
    } else {
        (lo + offset, lo + offset + take)
    }
}

/// An iterator over `(member, score)` pairs of a [`ZSetValue`].
#[derive(Debug, Clone)]
pub struct ZIter<'a>(IterRepr<'a>);

#[derive(Debug, Clone)]
enum IterRepr<'a> {
    Listpack(std::slice::Iter<'a, (SmallBytes, f64)>, bool),
    Skiplist(zset::Iter<'a>),
}

impl<'a> ZIter<'a> {
    fn listpack(items: &'a [(SmallBytes, f64)], rev: bool) -> ZIter<'a> {
        ZIter(IterRepr::Listpack(items.iter(), rev))
    }

    fn empty() -> ZIter<'a> {
        ZIter::listpack(&[], false)
    }
}

impl<'a> Iterator for ZIter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            IterRepr::Listpack(it, rev) => {
                let item = if *rev { it.next_back() } else { it.next() };
                item.map(|(m, s)| (&m[..], *s))
            }
            IterRepr::Skiplist(it) => it.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            IterRepr::Listpack(it, _) => it.size_hint(),
            IterRepr::Skiplist(it) => it.size_hint(),
        }
    }
}

impl DoubleEndedIterator for ZIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            IterRepr::Listpack(it, rev) => {
                let item = if *rev { it.next() } else { it.next_back() };
                item.map(|(m, s)| (&m[..], *s))
            }
            IterRepr::Skiplist(it) => it.next_back(),
        }
    }
}

impl ExactSizeIterator for ZIter<'_> {}

impl ZSetValue {
    /// An empty listpack-encoded set.
    pub fn new() -> ZSetValue {
        ZSetValue::default()
    }

    /// An empty set in the encoding Redis picks for a key created with
    /// `first_member` (listpack unless the limits rule it out).
    pub fn for_first_member(first_member_len: usize, limits: ZSetLimits) -> ZSetValue {
        if limits.max_listpack_entries == 0 || first_member_len > limits.max_listpack_value {
            ZSetValue {
                repr: Repr::Skiplist(SortedSet::new()),
            }
        } else {
            ZSetValue::new()
        }
    }

    /// A set of `items` (any order; a repeated member keeps its last score),
    /// listpack-encoded when it fits the limits, as the `*STORE` commands
    /// build their results. NaN scores are skipped.
    pub fn from_items<M: AsRef<[u8]>>(
        items: impl IntoIterator<Item = (M, f64)>,
        limits: ZSetLimits,
    ) -> ZSetValue {
        let mut z = SortedSet::new();
        for (m, s) in items {
            let _ = z.insert(m.as_ref(), s);
        }
        let fits = z.len() <= limits.max_listpack_entries
            && z.iter().all(|(m, _)| m.len() <= limits.max_listpack_value);
        if !fits {
            return ZSetValue {
                repr: Repr::Skiplist(z),
            };
        }
        let mut lp = Listpack::default();
        lp.items.reserve_exact(z.len());
        for (m, s) in z.iter() {
            let m = SmallBytes::new(m);
            lp.heap += m.heap_size();
            lp.items.push((m, listpack_score(s)));
        }
        ZSetValue {
            repr: Repr::Listpack(lp),
        }
    }

    /// The encoding `OBJECT ENCODING` reports: `listpack` or `skiplist`.
    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Listpack(_) => "listpack",
            Repr::Skiplist(_) => "skiplist",
        }
    }

    /// Approximate heap bytes held, O(1).
    pub fn heap_size(&self) -> usize {
        match &self.repr {
            Repr::Listpack(lp) => {
                lp.items.capacity() * std::mem::size_of::<(SmallBytes, f64)>() + lp.heap
            }
            Repr::Skiplist(z) => z.memory_usage(),
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Listpack(lp) => lp.items.len(),
            Repr::Skiplist(z) => z.len(),
        }
    }

    /// Whether there is no member.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.repr {
            Repr::Listpack(lp) => lp.position(member).map(|i| lp.items[i].1),
            Repr::Skiplist(z) => z.score(member),
        }
    }

    /// The 0-based rank of `member`, ascending or (`rev`) descending.
    pub fn rank(&self, member: &[u8], rev: bool) -> Option<usize> {
        let r = match &self.repr {
            Repr::Listpack(lp) => lp.position(member)?,
            Repr::Skiplist(z) => z.rank(member)?,
        };
        Some(if rev { self.len() - 1 - r } else { r })
    }

    /// All members in ascending order.
    pub fn iter(&self) -> ZIter<'_> {
        match &self.repr {
            Repr::Listpack(lp) => ZIter::listpack(&lp.items, false),
            Repr::Skiplist(z) => ZIter(IterRepr::Skiplist(z.iter())),
        }
    }

    /// The element at ascending `rank`.
    pub fn get_by_rank(&self, rank: usize) -> Option<(&[u8], f64)> {
        match &self.repr {
            Repr::Listpack(lp) => lp.items.get(rank).map(|(m, s)| (&m[..], *s)),
            Repr::Skiplist(z) => z.get_by_rank(rank),
        }
    }

    /// Adds or updates one member as `ZADD` does with `opts` (Redis'
    /// `zsetAdd`), converting to a skiplist when the new member does not fit
    /// the listpack limits.
    ///
    /// # Errors
    ///
    /// [`StoreError::ScoreNotANumber`] when `score` or the incremented score
    /// is NaN; nothing changes then.
    pub fn add(
        &mut self,
        member: &[u8],
        score: f64,
        opts: ZAddOptions,
        limits: ZSetLimits,
    ) -> Result<ZAddStep, StoreError> {
        if score.is_nan() {
            return Err(StoreError::ScoreNotANumber);
        }
        match self.score(member) {
            Some(cur) => {
                if opts.condition == ZAddCondition::IfMissing {
                    return Ok(ZAddStep::Skipped);
                }
                let new = if opts.incr { cur + score } else { score };
                if new.is_nan() {
                    return Err(StoreError::ScoreNotANumber);
                }
                if (opts.lt && new >= cur) || (opts.gt && new <= cur) {
                    return Ok(ZAddStep::Skipped);
                }
                if new == cur {
                    return Ok(ZAddStep::Unchanged(new));
                }
                match &mut self.repr {
                    Repr::Listpack(lp) => {
                        if let Some(i) = lp.position(member) {
                            lp.remove_at(i);
                        }
                        lp.insert(member, new);
                    }
                    Repr::Skiplist(z) => {
                        z.insert(member, new)
                            .map_err(|_| StoreError::ScoreNotANumber)?;
                    }
                }
                Ok(ZAddStep::Updated(new))
            }
            None => {
                if opts.condition == ZAddCondition::IfExists {
                    return Ok(ZAddStep::Skipped);
                }
                self.insert_new(member, score, limits);
                Ok(ZAddStep::Added(score))
            }
        }
    }

    /// Inserts a member known to be absent (score not NaN).
    fn insert_new(&mut self, member: &[u8], score: f64, limits: ZSetLimits) {
        if let Repr::Listpack(lp) = &self.repr {
            if lp.items.len() + 1 > limits.max_listpack_entries
                || member.len() > limits.max_listpack_value
            {
                self.convert_to_skiplist();
            }
        }
        match &mut self.repr {
            Repr::Listpack(lp) => lp.insert(member, score),
            Repr::Skiplist(z) => {
                let _ = z.insert(member, score);
            }
        }
    }

    fn convert_to_skiplist(&mut self) {
        if let Repr::Listpack(lp) = &mut self.repr {
            let mut z = SortedSet::new();
            for (m, s) in lp.items.drain(..) {
                let _ = z.insert(&m, s);
            }
            self.repr = Repr::Skiplist(z);
        }
    }

    /// Removes `member`, returning its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        match &mut self.repr {
            Repr::Listpack(lp) => {
                let i = lp.position(member)?;
                lp.remove_at(i).map(|(_, s)| s)
            }
            Repr::Skiplist(z) => z.remove(member),
        }
    }

    /// The elements a range selects, in the order it asks for.
    pub fn range(&self, spec: &ZRangeSpec) -> ZIter<'_> {
        let len = self.len();
        match (&self.repr, &spec.by) {
            (_, ZRangeBy::Rank(start, stop)) => {
                let Some((start, stop)) = rank_window(len, *start, *stop) else {
                    return ZIter::empty();
                };
                match &self.repr {
                    Repr::Listpack(lp) => {
                        let (lo, hi) = if spec.rev {
                            (len - 1 - stop, len - start)
                        } else {
                            (start, stop + 1)
                        };
                        ZIter::listpack(&lp.items[lo..hi], spec.rev)
                    }
                    Repr::Skiplist(z) => {
                        ZIter(IterRepr::Skiplist(z.range_by_rank(start, stop, spec.rev)))
                    }
                }
            }
            (Repr::Listpack(lp), ZRangeBy::Score(min, max)) => {
                let Some((offset, limit)) = limit_window(spec.limit) else {
                    return ZIter::empty();
                };
                let (lo, hi) = lp.score_span(*min, *max);
                let (lo, hi) = window(lo, hi, spec.rev, offset, limit);
                ZIter::listpack(&lp.items[lo..hi], spec.rev)
            }
            (Repr::Skiplist(z), ZRangeBy::Score(min, max)) => {
                let Some((offset, limit)) = limit_window(spec.limit) else {
                    return ZIter::empty();
                };
                ZIter(IterRepr::Skiplist(
                    z.range_by_score(*min, *max, spec.rev, offset, limit),
                ))
            }
            (Repr::Listpack(lp), ZRangeBy::Lex(min, max)) => {
                let Some((offset, limit)) = limit_window(spec.limit) else {
                    return ZIter::empty();
                };
                let (lo, hi) = lp.lex_span(min, max, spec.rev);
                let (lo, hi) = window(lo, hi, spec.rev, offset, limit);
                ZIter::listpack(&lp.items[lo..hi], spec.rev)
            }
            (Repr::Skiplist(z), ZRangeBy::Lex(min, max)) => {
                let Some((offset, limit)) = limit_window(spec.limit) else {
                    return ZIter::empty();
                };
                ZIter(IterRepr::Skiplist(
                    z.range_by_lex(min, max, spec.rev, offset, limit),
                ))
            }
        }
    }

    /// How many elements have a score in the range (`ZCOUNT`).
    pub fn count_in_score_range(&self, min: ScoreBound, max: ScoreBound) -> usize {
        match &self.repr {
            Repr::Listpack(lp) => {
                let (lo, hi) = lp.score_span(min, max);
                hi - lo
            }
            Repr::Skiplist(z) => z.count_in_score_range(min, max),
        }
    }

    /// How many elements have a member in the range (`ZLEXCOUNT`).
    pub fn count_in_lex_range(&self, min: &LexBound, max: &LexBound) -> usize {
        match &self.repr {
            Repr::Listpack(lp) => {
                let (lo, hi) = lp.lex_span(min, max, false);
                hi - lo
            }
            Repr::Skiplist(z) => z.count_in_lex_range(min, max),
        }
    }

    /// Removes the elements a range selects (ascending ranks; `rev` and
    /// `limit` are ignored), returning how many (ZREMRANGEBY*).
    pub fn remove_range(&mut self, by: &ZRangeBy) -> usize {
        let len = self.len();
        match (&mut self.repr, by) {
            (repr, ZRangeBy::Rank(start, stop)) => {
                let Some((start, stop)) = rank_window(len, *start, *stop) else {
                    return 0;
                };
                match repr {
                    Repr::Listpack(lp) => lp.drain(start, stop + 1).len(),
                    Repr::Skiplist(z) => z.remove_range_by_rank(start, stop),
                }
            }
            (Repr::Listpack(lp), ZRangeBy::Score(min, max)) => {
                let (lo, hi) = lp.score_span(*min, *max);
                lp.drain(lo, hi).len()
            }
            (Repr::Skiplist(z), ZRangeBy::Score(min, max)) => z.remove_range_by_score(*min, *max),
            (Repr::Listpack(lp), ZRangeBy::Lex(min, max)) => {
                let (lo, hi) = lp.lex_span(min, max, false);
                lp.drain(lo, hi).len()
            }
            (Repr::Skiplist(z), ZRangeBy::Lex(min, max)) => z.remove_range_by_lex(min, max),
        }
    }

    /// Removes and returns up to `count` lowest (or, with `max`, highest)
    /// elements, in the order they are popped.
    pub fn pop(&mut self, max: bool, count: usize) -> Vec<ScoredMember> {
        match &mut self.repr {
            Repr::Listpack(lp) => {
                let len = lp.items.len();
                let k = count.min(len);
                let mut out: Vec<ScoredMember> = if max {
                    lp.drain(len - k, len)
                } else {
                    lp.drain(0, k)
                }
                .into_iter()
                .map(|(m, s)| (m.to_vec(), s))
                .collect();
                if max {
                    out.reverse();
                }
                out
            }
            Repr::Skiplist(z) => {
                let popped = if max {
                    z.pop_max(count)
                } else {
                    z.pop_min(count)
                };
                popped.into_iter().map(|(m, s)| (m.into_vec(), s)).collect()
            }
        }
    }

    /// One ZSCAN step. A listpack is returned whole with cursor 0, as Redis
    /// does. A skiplist is walked in score order: the cursor is the
    /// order-preserving bit pattern of the next score to visit, and a page
    /// never splits a run of equal scores, so every member present for the
    /// whole iteration (with an unchanged score) is returned at least once.
    fn scan(&self, cursor: u64, count: usize, pattern: Option<&[u8]>) -> ZScanPage {
        let keep = |m: &[u8]| match pattern {
            None => true,
            Some(p) => glob_match(p, m, false),
        };
        match &self.repr {
            Repr::Listpack(lp) => ZScanPage {
                cursor: 0,
                items: lp
                    .items
                    .iter()
                    .filter(|(m, _)| keep(m))
                    .map(|(m, s)| (m.to_vec(), listpack_score_text(*s).into_bytes()))
                    .collect(),
            },
            Repr::Skiplist(z) => {
                let start = if cursor == 0 {
                    ScoreBound::NEG_INF
                } else {
                    let v = cursor_to_score(cursor);
                    if v.is_nan() {
                        return ZScanPage::default();
                    }
                    ScoreBound::inclusive(v)
                };
                let mut items = Vec::new();
                let mut last = f64::NAN;
                let mut next = 0u64;
                let page = z.range_by_score(start, ScoreBound::POS_INF, false, 0, None);
                for (taken, (m, s)) in page.enumerate() {
                    if taken >= count.max(1) && s != last {
                        next = score_to_cursor(s);
                        break;
                    }
                    last = s;
                    if keep(m) {
                        items.push((m.to_vec(), format_score(s).into_bytes()));
                    }
                }
                ZScanPage {
                    cursor: next,
                    items,
                }
            }
        }
    }
}

impl PartialEq for ZSetValue {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

/// Order-preserving map of a score to a nonzero cursor.
fn score_to_cursor(s: f64) -> u64 {
    let b = s.to_bits();
    if b >> 63 == 1 {
        !b
    } else {
        b | (1 << 63)
    }
}

fn cursor_to_score(c: u64) -> f64 {
    if c >> 63 == 1 {
        f64::from_bits(c & !(1 << 63))
    } else {
        f64::from_bits(!c)
    }
}

/// Formats a score as Redis 7.0 replies with it (`%.17g`, `inf`, `-inf`).
pub fn format_score(d: f64) -> String {
    if d.is_nan() {
        return "nan".to_owned();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    let sci = format!("{d:.16e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..17).contains(&exp) {
        let mut m = mantissa.to_owned();
        trim_fraction(&mut m);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{m}e{sign}{:02}", exp.abs())
    } else {
        let prec = (16 - exp) as usize;
        let mut s = format!("{d:.prec$}");
        trim_fraction(&mut s);
        s
    }
}

/// Drops trailing zeros after a decimal point, and the point if bare.
fn trim_fraction(s: &mut String) {
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
}

/// A score as a listpack holds it (Redis' `d2string`, integers exact).
fn listpack_score_text(s: f64) -> String {
    const HALF: f64 = (i64::MAX / 2) as f64;
    if s.is_finite() && (-HALF..=HALF).contains(&s) && (s as i64) as f64 == s {
        return (s as i64).to_string();
    }
    format_score(s)
}

/// A ZUNION/ZINTER/ZDIFF input: a sorted set, or a plain set whose members
/// all score 1.
enum Input<'a> {
    Sorted(&'a ZSetValue),
    Plain(&'a SetValue),
}

impl Input<'_> {
    fn len(&self) -> usize {
        match self {
            Input::Sorted(z) => z.len(),
            Input::Plain(s) => s.len(),
        }
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Input::Sorted(z) => z.score(member),
            Input::Plain(s) => s.contains(member).then_some(1.0),
        }
    }

    fn for_each(&self, f: &mut dyn FnMut(&[u8], f64)) {
        match self {
            Input::Sorted(z) => z.iter().for_each(|(m, s)| f(m, s)),
            Input::Plain(s) => s.for_each(|m| f(m, 1.0)),
        }
    }
}

/// A source of a ZUNION/ZINTER/ZDIFF after the type check.
struct Source<'k> {
    key: &'k [u8],
    len: usize,
    weight: f64,
}

fn aggregate(target: &mut f64, val: f64, agg: Aggregate) {
    match agg {
        Aggregate::Sum => {
            *target += val;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if val < *target {
                *target = val;
            }
        }
        Aggregate::Max => {
            if val > *target {
                *target = val;
            }
        }
    }
}

/// Sorts `(member, score)` pairs by `(score, member)`.
fn sort_items(items: &mut [(SmallBytes, f64)]) {
    items.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.cmp(&b.0))
    });
}

impl Db<'_> {
    /// The encoding thresholds currently configured.
    pub fn zset_limits(&self) -> ZSetLimits {
        let s = self.store.settings();
        ZSetLimits {
            max_listpack_entries: s.zset_max_listpack_entries.load(AtomicOrdering::Relaxed),
            max_listpack_value: s.zset_max_listpack_value.load(AtomicOrdering::Relaxed),
        }
    }

    /// Runs `f` on the sorted set at `key` (`None` if missing) while its
    /// slot is locked.
    fn with_zset<R>(
        &self,
        key: &[u8],
        access: Access,
        f: impl FnOnce(Option<&ZSetValue>) -> R,
    ) -> Result<R, StoreError> {
        let mut table = self.keys.lock(key);
        match self.live(&mut table, key, access) {
            None => Ok(f(None)),
            Some(e) => Ok(f(Some(expect_type!(e, ZSet)?))),
        }
    }

    /// Runs `f` on the sorted set at `key` for a change, then signals the
    /// change if `f` says so and deletes the key if it became empty.
    /// `Ok(None)` when the key is missing.
    fn modify_zset<R>(
        &self,
        key: &[u8],
        event: &str,
        f: impl FnOnce(&mut ZSetValue) -> (R, bool),
    ) -> Result<Option<R>, StoreError> {
        let mut table = self.keys.lock(key);
        let Some(entry) = self.live(&mut table, key, Access::Write) else {
            return Ok(None);
        };
        let z = expect_type!(entry, ZSet)?;
        let (r, changed) = f(z);
        let empty = z.is_empty();
        if empty {
            table.remove(key);
        } else if changed {
            table.touch(key);
        }
        if changed {
            self.notify(class::ZSET, event, key);
        }
        if empty {
            self.notify(class::GENERIC, "del", key);
        }
        Ok(Some(r))
    }

    /// `ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member ...`: applies the
    /// pairs in order. Option conflicts are the caller's to reject.
    ///
    /// # Errors
    ///
    /// `WrongType`; `ScoreNotANumber` for a NaN score or a NaN result of
    /// `INCR` (pairs before it stay applied, as in Redis).
    pub fn zadd(
        &self,
        key: &[u8],
        pairs: &[(f64, &[u8])],
        opts: ZAddOptions,
    ) -> Result<ZAddOutcome, StoreError> {
        if pairs.iter().any(|(s, _)| s.is_nan()) {
            return Err(StoreError::ScoreNotANumber);
        }
        let limits = self.zset_limits();
        let mut out = ZAddOutcome::default();
        let mut table = self.keys.lock(key);
        let apply = |z: &mut ZSetValue, out: &mut ZAddOutcome| -> Result<(), StoreError> {
            for (score, member) in pairs {
                let step = z.add(member, *score, opts, limits)?;
                match step {
                    ZAddStep::Added(s) => {
                        out.added += 1;
                        out.processed += 1;
                        out.score = Some(s);
                    }
                    ZAddStep::Updated(s) => {
                        out.updated += 1;
                        out.processed += 1;
                        out.score = Some(s);
                    }
                    ZAddStep::Unchanged(s) => {
                        out.processed += 1;
                        out.score = Some(s);
                    }
                    ZAddStep::Skipped => out.score = None,
                }
            }
            Ok(())
        };
        match self.live(&mut table, key, Access::Write) {
            Some(entry) => {
                let z = expect_type!(entry, ZSet)?;
                let result = apply(z, &mut out);
                if out.added + out.updated > 0 {
                    table.touch(key);
                }
                result?;
                if out.added + out.updated > 0 {
                    self.notify(class::ZSET, if opts.incr { "zincr" } else { "zadd" }, key);
                }
            }
            None => {
                let Some((_, first)) = pairs.first() else {
                    return Ok(out);
                };
                if opts.condition == ZAddCondition::IfExists {
                    return Ok(out);
                }
                let mut z = ZSetValue::for_first_member(first.len(), limits);
                let result = apply(&mut z, &mut out);
                let created = !z.is_empty();
                if created {
                    let entry = self.entry(Value::ZSet(Box::new(z)));
                    self.put(&mut table, key, entry);
                }
                result?;
                if created {
                    self.notify(class::ZSET, if opts.incr { "zincr" } else { "zadd" }, key);
                }
            }
        }
        Ok(out)
    }

    /// `ZINCRBY key delta member`: the new score.
    pub fn zincrby(&self, key: &[u8], delta: f64, member: &[u8]) -> Result<f64, StoreError> {
        let opts = ZAddOptions {
            incr: true,
            ..Default::default()
        };
        let out = self.zadd(key, &[(delta, member)], opts)?;
        Ok(out.score.unwrap_or(delta))
    }

    /// `ZCARD key`.
    pub fn zcard(&self, key: &[u8]) -> Result<usize, StoreError> {
        self.with_zset(key, Access::Read, |z| z.map_or(0, ZSetValue::len))
    }

    /// `ZSCORE key member`.
    pub fn zscore(&self, key: &[u8], member: &[u8]) -> Result<Option<f64>, StoreError> {
        self.with_zset(key, Access::Read, |z| z.and_then(|z| z.score(member)))
    }

    /// `ZMSCORE key member ...`.
    pub fn zmscore(&self, key: &[u8], members: &[&[u8]]) -> Result<Vec<Option<f64>>, StoreError> {
        self.with_zset(key, Access::Read, |z| {
            members.iter().map(|m| z.and_then(|z| z.score(m))).collect()
        })
    }

    /// `ZRANK` / `ZREVRANK` (`rev`).
    pub fn zrank(&self, key: &[u8], member: &[u8], rev: bool) -> Result<Option<usize>, StoreError> {
        self.with_zset(key, Access::Read, |z| z.and_then(|z| z.rank(member, rev)))
    }

    /// `ZCOUNT key min max`.
    pub fn zcount(
        &self,
        key: &[u8],
        min: ScoreBound,
        max: ScoreBound,
    ) -> Result<usize, StoreError> {
        self.with_zset(key, Access::Read, |z| {
            z.map_or(0, |z| z.count_in_score_range(min, max))
        })
    }

    /// `ZLEXCOUNT key min max`.
    pub fn zlexcount(
        &self,
        key: &[u8],
        min: &LexBound,
        max: &LexBound,
    ) -> Result<usize, StoreError> {
        self.with_zset(key, Access::Read, |z| {
            z.map_or(0, |z| z.count_in_lex_range(min, max))
        })
    }

    /// `ZRANGE` and friends without copying: calls `f` with the selected
    /// elements while the key's slot is locked (keep `f` short). A missing
    /// key gives an empty iterator.
    pub fn zrange_with<R>(
        &self,
        key: &[u8],
        spec: &ZRangeSpec,
        f: impl FnOnce(ZIter<'_>) -> R,
    ) -> Result<R, StoreError> {
        self.with_zset(key, Access::Read, |z| match z {
            None => f(ZIter::empty()),
            Some(z) => f(z.range(spec)),
        })
    }

    /// `ZRANGE` and friends: the selected elements, copied.
    pub fn zrange(&self, key: &[u8], spec: &ZRangeSpec) -> Result<Vec<ScoredMember>, StoreError> {
        self.zrange_with(key, spec, |it| it.map(|(m, s)| (m.to_vec(), s)).collect())
    }

    /// `ZRANGESTORE dst src ...`: stores the selected elements at `dst`
    /// (deleting `dst` when there are none) and returns how many.
    pub fn zrange_store(
        &self,
        dst: &[u8],
        src: &[u8],
        spec: &ZRangeSpec,
    ) -> Result<usize, StoreError> {
        let limits = self.zset_limits();
        let mut locked = self.keys.lock_many([dst, src]);
        let items: Vec<(SmallBytes, f64)> = match locked.table(src) {
            None => Vec::new(),
            Some(table) => match self.live(table, src, Access::Read) {
                None => Vec::new(),
                Some(e) => expect_type!(e, ZSet)?
                    .range(spec)
                    .map(|(m, s)| (SmallBytes::new(m), s))
                    .collect(),
            },
        };
        let Some(table) = locked.table(dst) else {
            return Ok(0);
        };
        Ok(self.store_result(table, dst, items, limits, "zrangestore"))
    }

    /// Writes a `*STORE` result: the set at `dst`, or no key when empty.
    fn store_result(
        &self,
        table: &mut SlotTable,
        dst: &[u8],
        items: Vec<(SmallBytes, f64)>,
        limits: ZSetLimits,
        event: &str,
    ) -> usize {
        if items.is_empty() {
            if self.live(table, dst, Access::Write).is_some() {
                table.remove(dst);
                self.notify(class::GENERIC, "del", dst);
            }
            return 0;
        }
        let z = ZSetValue::from_items(items, limits);
        let n = z.len();
        let entry = self.entry(Value::ZSet(Box::new(z)));
        self.put(table, dst, entry);
        self.notify(class::ZSET, event, dst);
        n
    }

    /// `ZREM key member ...`: how many were removed. The key goes when
    /// empty.
    pub fn zrem(&self, key: &[u8], members: &[&[u8]]) -> Result<usize, StoreError> {
        let n = self.modify_zset(key, "zrem", |z| {
            let mut n = 0;
            for m in members {
                if z.remove(m).is_some() {
                    n += 1;
                }
                if z.is_empty() {
                    break;
                }
            }
            (n, n > 0)
        })?;
        Ok(n.unwrap_or(0))
    }

    /// `ZREMRANGEBYRANK` / `ZREMRANGEBYSCORE` / `ZREMRANGEBYLEX`: how many
    /// were removed.
    pub fn zremrange(&self, key: &[u8], by: &ZRangeBy) -> Result<usize, StoreError> {
        let event = match by {
            ZRangeBy::Rank(..) => "zremrangebyrank",
            ZRangeBy::Score(..) => "zremrangebyscore",
            ZRangeBy::Lex(..) => "zremrangebylex",
        };
        let n = self.modify_zset(key, event, |z| {
            let n = z.remove_range(by);
            (n, n > 0)
        })?;
        Ok(n.unwrap_or(0))
    }

    /// `ZPOPMIN` / `ZPOPMAX` (`max`) `key count`: the popped elements in
    /// order (empty when the key is missing).
    pub fn zpop(
        &self,
        key: &[u8],
        max: bool,
        count: usize,
    ) -> Result<Vec<ScoredMember>, StoreError> {
        let event = if max { "zpopmax" } else { "zpopmin" };
        let out = self.modify_zset(key, event, |z| {
            let popped = z.pop(max, count);
            let changed = !popped.is_empty();
            (popped, changed)
        })?;
        Ok(out.unwrap_or_default())
    }

    /// `ZMPOP numkeys key ... MIN|MAX [COUNT count]`: pops from the first
    /// key that exists; `None` when none does. A key of another type before
    /// it is an error.
    pub fn zmpop(
        &self,
        keys: &[&[u8]],
        max: bool,
        count: usize,
    ) -> Result<Option<Popped>, StoreError> {
        let mut locked = self.keys.lock_many(keys.iter().copied());
        for key in keys {
            let Some(table) = locked.table(key) else {
                continue;
            };
            let Some(entry) = self.live(table, key, Access::Write) else {
                continue;
            };
            let z = expect_type!(entry, ZSet)?;
            let popped = z.pop(max, count);
            let emptied = z.is_empty();
            if emptied {
                table.remove(key);
            } else {
                table.touch(key);
            }
            self.notify(class::ZSET, if max { "zpopmax" } else { "zpopmin" }, key);
            if emptied {
                self.notify(class::GENERIC, "del", key);
            }
            return Ok(Some((key.to_vec(), popped)));
        }
        Ok(None)
    }

    /// `ZRANDMEMBER key`: a random member.
    pub fn zrandmember(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.with_zset(key, Access::Read, |z| {
            let z = z.filter(|z| !z.is_empty())?;
            let i = (self.store.random() % z.len() as u64) as usize;
            z.get_by_rank(i).map(|(m, _)| m.to_vec())
        })
    }

    /// `ZRANDMEMBER key count`: calls `f(i, total, member, score)` for each
    /// of the `total` elements picked (not at all when none is): distinct
    /// members when `count >= 0`, possibly repeated ones, `-count` of them,
    /// when negative. Streams, so a huge negative count allocates nothing
    /// up front.
    pub fn zrandmember_with(
        &self,
        key: &[u8],
        count: i64,
        mut f: impl FnMut(usize, usize, &[u8], f64),
    ) -> Result<(), StoreError> {
        self.with_zset(key, Access::Read, |z| {
            let Some(z) = z.filter(|z| !z.is_empty()) else {
                return;
            };
            let size = z.len();
            if count < 0 {
                let total = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
                for i in 0..total {
                    let r = (self.store.random() % size as u64) as usize;
                    if let Some((m, s)) = z.get_by_rank(r) {
                        f(i, total, m, s);
                    }
                }
                return;
            }
            let count = usize::try_from(count).unwrap_or(usize::MAX);
            if count == 0 {
                return;
            }
            if count >= size {
                // The whole set, highest first, as Redis' iterator walks it.
                for (i, (m, s)) in z.iter().rev().enumerate() {
                    f(i, size, m, s);
                }
                return;
            }
            if count.saturating_mul(3) <= size {
                // Few of many: draw ranks until enough distinct ones.
                let mut picked = std::collections::HashSet::with_capacity(count);
                while picked.len() < count {
                    let r = (self.store.random() % size as u64) as usize;
                    if picked.insert(r) {
                        if let Some((m, s)) = z.get_by_rank(r) {
                            f(picked.len() - 1, count, m, s);
                        }
                    }
                }
                return;
            }
            // Most of them: a partial Fisher-Yates shuffle of all ranks.
            let mut ranks: Vec<usize> = (0..size).collect();
            for i in 0..count {
                let j = i + (self.store.random() % (size - i) as u64) as usize;
                ranks.swap(i, j);
            }
            for (i, &r) in ranks.iter().take(count).enumerate() {
                if let Some((m, s)) = z.get_by_rank(r) {
                    f(i, count, m, s);
                }
            }
        })
    }

    /// `ZSCAN key cursor [MATCH pattern] [COUNT count]`: one step (a missing
    /// key gives cursor 0 and nothing).
    pub fn zscan(
        &self,
        key: &[u8],
        cursor: u64,
        pattern: Option<&[u8]>,
        count: usize,
    ) -> Result<ZScanPage, StoreError> {
        self.with_zset(key, Access::Read, |z| {
            z.map(|z| z.scan(cursor, count, pattern))
                .unwrap_or_default()
        })
    }

    /// `ZUNION` / `ZINTER` / `ZDIFF numkeys key ... [WEIGHTS ...]
    /// [AGGREGATE ...]`: the result in ascending order. `weights` (one per
    /// key, default 1) and `agg` are ignored by `Diff`.
    pub fn zset_op(
        &self,
        op: ZSetOp,
        keys: &[&[u8]],
        weights: Option<&[f64]>,
        agg: Aggregate,
    ) -> Result<Vec<ScoredMember>, StoreError> {
        let mut locked = self.keys.lock_many(keys.iter().copied());
        let items = self.compute_op(&mut locked, op, keys, weights, agg)?;
        Ok(items.into_iter().map(|(m, s)| (m.to_vec(), s)).collect())
    }

    /// `ZUNIONSTORE` / `ZINTERSTORE` / `ZDIFFSTORE dst ...`: stores the
    /// result at `dst` (deleting it when empty) and returns its size.
    pub fn zset_op_store(
        &self,
        dst: &[u8],
        op: ZSetOp,
        keys: &[&[u8]],
        weights: Option<&[f64]>,
        agg: Aggregate,
    ) -> Result<usize, StoreError> {
        let limits = self.zset_limits();
        let mut locked = self
            .keys
            .lock_many(keys.iter().copied().chain(std::iter::once(dst)));
        let items = self.compute_op(&mut locked, op, keys, weights, agg)?;
        let Some(table) = locked.table(dst) else {
            return Ok(0);
        };
        let event = match op {
            ZSetOp::Union => "zunionstore",
            ZSetOp::Inter => "zinterstore",
            ZSetOp::Diff => "zdiffstore",
        };
        Ok(self.store_result(table, dst, items, limits, event))
    }

    /// `ZINTERCARD numkeys key ... [LIMIT limit]`: the size of the
    /// intersection, capped at `limit` when it is not 0.
    pub fn zintercard(&self, keys: &[&[u8]], limit: usize) -> Result<usize, StoreError> {
        let mut locked = self.keys.lock_many(keys.iter().copied());
        let n = self
            .compute_op(&mut locked, ZSetOp::Inter, keys, None, Aggregate::Sum)?
            .len();
        Ok(if limit == 0 { n } else { n.min(limit) })
    }

    /// The result of a set operation over locked sources, sorted.
    fn compute_op(
        &self,
        locked: &mut crate::keyspace::Locked<'_>,
        op: ZSetOp,
        keys: &[&[u8]],
        weights: Option<&[f64]>,
        agg: Aggregate,
    ) -> Result<Vec<(SmallBytes, f64)>, StoreError> {
        // Look every key up once (as Redis does) and check its type first.
        let mut sources = Vec::with_capacity(keys.len());
        for (i, key) in keys.iter().enumerate() {
            let weight = weights.and_then(|w| w.get(i)).copied().unwrap_or(1.0);
            let len = match locked.table(key) {
                None => 0,
                Some(table) => match self.live(table, key, Access::Read) {
                    None => 0,
                    Some(e) => match &e.value {
                        Value::ZSet(z) => z.len(),
                        // Plain sets are inputs too, every member scoring 1.
                        Value::Set(set) => set.len(),
                        _ => return Err(StoreError::WrongType),
                    },
                },
            };
            sources.push(Source { key, len, weight });
        }
        if sources.is_empty() {
            return Ok(Vec::new());
        }
        if op != ZSetOp::Diff {
            // Smallest first, as Redis orders its inputs.
            sources.sort_by_key(|s| s.len);
        }
        let mut visit = |key: &[u8], f: &mut dyn FnMut(Input<'_>)| {
            if let Some(table) = locked.table(key) {
                if let Some(e) = self.live(table, key, Access::Peek) {
                    match &e.value {
                        Value::ZSet(z) => f(Input::Sorted(z)),
                        Value::Set(set) => f(Input::Plain(set)),
                        _ => {}
                    }
                }
            }
        };
        let mut items: Vec<(SmallBytes, f64)> = Vec::new();
        match op {
            ZSetOp::Inter => {
                let first = &sources[0];
                if first.len == 0 {
                    return Ok(Vec::new());
                }
                visit(first.key, &mut |z| {
                    items.reserve(z.len());
                    z.for_each(&mut |m, s| {
                        let mut v = first.weight * s;
                        if v.is_nan() {
                            v = 0.0;
                        }
                        items.push((SmallBytes::new(m), v));
                    });
                });
                for src in &sources[1..] {
                    if items.is_empty() {
                        break;
                    }
                    let mut found = false;
                    visit(src.key, &mut |z| {
                        found = true;
                        items.retain_mut(|(m, score)| match z.score(m) {
                            Some(v) => {
                                aggregate(score, v * src.weight, agg);
                                true
                            }
                            None => false,
                        });
                    });
                    if !found {
                        items.clear();
                    }
                }
            }
            ZSetOp::Union => {
                let mut acc: HashMap<SmallBytes, f64> = HashMap::new();
                for src in &sources {
                    if src.len == 0 {
                        continue;
                    }
                    visit(src.key, &mut |z| {
                        acc.reserve(z.len());
                        z.for_each(&mut |m, s| {
                            let mut v = src.weight * s;
                            if v.is_nan() {
                                v = 0.0;
                            }
                            match acc.get_mut(m) {
                                Some(cur) => aggregate(cur, v, agg),
                                None => {
                                    acc.insert(SmallBytes::new(m), v);
                                }
                            }
                        });
                    });
                }
                items = acc.into_iter().collect();
            }
            ZSetOp::Diff => {
                let first = &sources[0];
                if first.len == 0 {
                    return Ok(Vec::new());
                }
                let first_key = first.key;
                visit(first_key, &mut |z| {
                    items.reserve(z.len());
                    z.for_each(&mut |m, s| items.push((SmallBytes::new(m), s)));
                });
                for src in &sources[1..] {
                    if items.is_empty() {
                        break;
                    }
                    if src.len == 0 {
                        continue;
                    }
                    visit(src.key, &mut |z| {
                        items.retain(|(m, _)| z.score(m).is_none());
                    });
                }
            }
        }
        sort_items(&mut items);
        Ok(items)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn formats_scores_like_redis() {
        for (v, text) in [
            (1.5, "1.5"),
            (0.1, "0.10000000000000001"),
            (2.1, "2.1000000000000001"),
            (1.0, "1"),
            (-3.0, "-3"),
            (1e308, "1e+308"),
            (1e21, "1e+21"),
            (1e17, "1e+17"),
            (1e16, "10000000000000000"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (1e-5, "1.0000000000000001e-05"),
            (0.0001, "0.0001"),
            (-0.0, "-0"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "4.9406564584124654e-324"),
        ] {
            assert_eq!(format_score(v), text, "{v}");
        }
        assert_eq!(
            listpack_score_text(123456789012345678.0),
            "123456789012345680"
        );
        assert_eq!(listpack_score_text(0.1), "0.10000000000000001");
        assert_eq!(listpack_score_text(1e21), "1e+21");
        assert_eq!(listpack_score_text(-7.0), "-7");
    }

    #[test]
    fn cursor_mapping_preserves_order() {
        let scores = [
            f64::NEG_INFINITY,
            -1e300,
            -1.0,
            -0.0,
            0.0,
            5e-324,
            1.0,
            f64::INFINITY,
        ];
        let cursors: Vec<u64> = scores.iter().map(|&s| score_to_cursor(s)).collect();
        assert!(cursors.windows(2).all(|w| w[0] < w[1]));
        assert!(cursors.iter().all(|&c| c != 0));
        for &s in &scores {
            assert_eq!(cursor_to_score(score_to_cursor(s)).to_bits(), s.to_bits());
        }
    }

    #[test]
    fn rank_windows() {
        assert_eq!(rank_window(5, 0, -1), Some((0, 4)));
        assert_eq!(rank_window(5, -2, -1), Some((3, 4)));
        assert_eq!(rank_window(5, -10, 1), Some((0, 1)));
        assert_eq!(rank_window(5, 3, 1), None);
        assert_eq!(rank_window(5, 5, 10), None);
        assert_eq!(rank_window(5, 0, i64::MAX), Some((0, 4)));
        assert_eq!(rank_window(5, i64::MIN, i64::MIN), None);
        assert_eq!(rank_window(0, 0, -1), None);
    }

    #[test]
    fn lex_empty_ranges() {
        let l = |s: &str| LexBound::parse(s.as_bytes()).unwrap();
        assert!(lex_range_is_empty(&l("[b"), &l("[a")));
        assert!(lex_range_is_empty(&l("(a"), &l("[a")));
        assert!(!lex_range_is_empty(&l("[a"), &l("[a")));
        assert!(lex_range_is_empty(&l("-"), &l("-")));
        assert!(lex_range_is_empty(&l("+"), &l("-")));
        assert!(!lex_range_is_empty(&l("-"), &l("+")));
        assert!(!lex_range_is_empty(&l("-"), &l("[a")));
    }

    #[test]
    fn listpack_normalises_negative_zero() {
        let limits = ZSetLimits::default();
        let mut z = ZSetValue::new();
        z.add(b"a", -0.0, ZAddOptions::default(), limits).unwrap();
        assert!(z.score(b"a").unwrap().is_sign_positive());
        let mut s = ZSetValue::for_first_member(
            1,
            ZSetLimits {
                max_listpack_entries: 0,
                ..limits
            },
        );
        s.add(b"a", -0.0, ZAddOptions::default(), limits).unwrap();
        assert_eq!(s.encoding(), "skiplist");
        assert!(s.score(b"a").unwrap().is_sign_negative());
    }
}
