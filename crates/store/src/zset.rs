//! The ordered part of a Redis sorted set: [`SortedSet`].
//!
//! # Semantics
//!
//! A sorted set maps distinct byte-string members to `f64` scores and keeps
//! them ordered by `(score, member)`, exactly as Redis does: scores compare
//! numerically (so `-0.0` and `0.0` are the *same* score and ties on them are
//! broken by member), and members on equal scores compare as `memcmp` on the
//! common prefix with the shorter string first (which is what `Ord` for
//! `[u8]` does). Scores are never NaN: [`SortedSet::insert`] and
//! [`SortedSet::increment`] reject NaN with [`NanScore`]; infinities are
//! allowed. Ranks are 0-based and ascending; reverse ranks count from the
//! highest element.
//!
//! Score ranges ([`ScoreBound`]) and lex ranges ([`LexBound`]) follow Redis'
//! `ZRANGEBYSCORE` / `ZRANGEBYLEX` rules. Lex ranges are meaningful only when
//! all elements share one score; as in Redis they are evaluated by comparing
//! members along the `(score, member)` order, so with mixed scores the result
//! is unspecified (but never a panic).
//!
//! # Design
//!
//! Like Redis, the set is two structures kept in step:
//!
//! * a **skiplist** ordered by `(score, member)` whose links carry *spans*
//!   (how many elements a link jumps over), giving `O(log n)` insert, delete,
//!   rank, select-by-rank and seek-by-score/lex, and `O(1)` per element to
//!   walk in either direction (level 0 is doubly linked);
//! * a **dictionary** `HashMap<Arc<[u8]>, f64>` from member to score, for
//!   `O(1)` `ZSCORE` and for finding an element's position in the list.
//!
//! The skiplist is arena based and entirely safe code: nodes live in a
//! `Vec<Option<Node>>`, links are `u32` indices (`NIL` = no node), freed
//! slots go on a free list, and the arena is compacted (rebuilt in order in
//! `O(n)`) once fewer than a quarter of its slots are live, which keeps the
//! memory proportional to the live elements at amortised `O(1)` cost. Node
//! heights are drawn with `P = 1/4` up to 32 levels from a per-set SplitMix64
//! generator seeded from std's random hasher keys. Spans are kept exact
//! for every link, including links to `NIL`, which count the distance to a
//! virtual end node at position `len + 1`; the level-0 span is always 1 and
//! is therefore not stored.
//!
//! A skiplist rather than an order-statistic B-tree: it matches Redis'
//! behaviour exactly (including lex ranges walked along the list), rank and
//! select come from spans with very little code, updates never move other
//! elements, and a score update that keeps an element between its
//! neighbours is done in place, as Redis does.
//!
//! # Memory
//!
//! The member bytes are stored **once**, in an `Arc<[u8]>` shared by the
//! dictionary key and the skiplist node (one allocation of 16 bytes of
//! reference counts plus the bytes). On a 64-bit target an element costs
//! about:
//!
//! * 48 bytes of arena slot (member 16, score 8, backward link 4, level-0
//!   link 4, upper levels 16);
//! * upper levels, 8 bytes each, `1/3` of a level on average, allocated only
//!   for the quarter of the nodes taller than one level;
//! * the member allocation: `16 + len` bytes;
//! * the dictionary bucket: 24 bytes plus one control byte, at a load factor
//!   between 7/16 and 7/8.
//!
//! That is roughly `110 + len` bytes per element, in line with Redis.
//! [`SortedSet::memory_usage`] reports this estimate in `O(1)` (allocator
//! rounding is not counted; members shared with a clone count in both).
//! The arena holds at most `u32::MAX - 2` elements.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;
use std::iter::FusedIterator;
use std::mem::size_of;
use std::sync::Arc;

/// Highest node level, as in Redis.
const MAX_LEVEL: usize = 32;
/// "No node": the end of a level, or the backward link of the first node.
const NIL: u32 = u32::MAX;
/// The list header, which is not in the arena.
const HEAD: u32 = u32::MAX - 1;
/// Heap bytes of an `Arc<[u8]>` allocation besides the bytes themselves.
const ARC_HEADER: usize = 2 * size_of::<usize>();
/// Compaction never runs on arenas smaller than this.
const COMPACT_MIN_SLOTS: usize = 64;

/// One link of a node at a level above 0.
#[derive(Clone, Copy, Debug)]
struct Level {
    forward: u32,
    span: u32,
}

/// A skiplist node.
#[derive(Clone, Debug)]
struct Node {
    member: Arc<[u8]>,
    score: f64,
    /// Previous node at level 0, `NIL` for the first node.
    backward: u32,
    /// Next node at level 0 (whose span is always 1).
    next: u32,
    /// Links at levels `1..height`.
    upper: Box<[Level]>,
}

impl Node {
    fn height(&self) -> usize {
        self.upper.len() + 1
    }

    /// Heap bytes owned by this node (member allocation and upper levels).
    fn heap_bytes(&self) -> usize {
        ARC_HEADER + self.member.len() + self.upper.len() * size_of::<Level>()
    }
}

/// Whether `(a_score, a_member)` sorts strictly before `(b_score, b_member)`.
fn precedes(a_score: f64, a_member: &[u8], b_score: f64, b_member: &[u8]) -> bool {
    a_score < b_score || (a_score == b_score && a_member < b_member)
}

/// The error for a score that is NaN (not a number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NanScore;

impl fmt::Display for NanScore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("score is not a number (NaN)")
    }
}

impl std::error::Error for NanScore {}

/// What [`SortedSet::insert`] did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Inserted {
    /// The member was new.
    Added,
    /// The member existed with another score, which was replaced.
    Updated {
        /// The previous score.
        old: f64,
    },
    /// The member existed with an equal score (`-0.0` equals `0.0`); nothing
    /// changed, the stored score keeps its sign.
    Unchanged,
}

/// One end of a score range, as in `ZRANGEBYSCORE`: `value` (which may be
/// infinite) and whether the end itself is excluded (`(` prefix in Redis).
///
/// A NaN `value` makes every range using it empty.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreBound {
    /// The bound's score.
    pub value: f64,
    /// `true` for an open end (`(1.5`), `false` for a closed one (`1.5`).
    pub exclusive: bool,
}

impl ScoreBound {
    /// `-inf`: as a minimum, admits every score.
    pub const NEG_INF: Self = Self::inclusive(f64::NEG_INFINITY);
    /// `+inf`: as a maximum, admits every score.
    pub const POS_INF: Self = Self::inclusive(f64::INFINITY);

    /// A closed bound: `value` itself is in the range.
    pub const fn inclusive(value: f64) -> Self {
        Self {
            value,
            exclusive: false,
        }
    }

    /// An open bound: `value` itself is not in the range.
    pub const fn exclusive(value: f64) -> Self {
        Self {
            value,
            exclusive: true,
        }
    }

    /// Whether `score` is at or above this bound used as a minimum.
    fn admits_as_min(&self, score: f64) -> bool {
        if self.exclusive {
            score > self.value
        } else {
            score >= self.value
        }
    }

    /// Whether `score` is at or below this bound used as a maximum.
    fn admits_as_max(&self, score: f64) -> bool {
        if self.exclusive {
            score < self.value
        } else {
            score <= self.value
        }
    }
}

/// One end of a lex range, as in `ZRANGEBYLEX`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LexBound {
    /// `-`: below every member.
    NegInf,
    /// `+`: above every member.
    PosInf,
    /// `[member`: the member itself is in the range.
    Inclusive(Vec<u8>),
    /// `(member`: the member itself is not in the range.
    Exclusive(Vec<u8>),
}

impl LexBound {
    /// Parses a Redis lex bound: exactly `-` or `+`, or `[` / `(` followed
    /// by the member bytes (possibly none). Anything else is `None` (Redis
    /// replies "min or max not valid string range item").
    pub fn parse(raw: &[u8]) -> Option<Self> {
        match raw {
            b"-" => Some(Self::NegInf),
            b"+" => Some(Self::PosInf),
            [b'[', rest @ ..] => Some(Self::Inclusive(rest.to_vec())),
            [b'(', rest @ ..] => Some(Self::Exclusive(rest.to_vec())),
            _ => None,
        }
    }

    /// Whether `member` is at or above this bound used as a minimum.
    fn admits_as_min(&self, member: &[u8]) -> bool {
        match self {
            Self::NegInf => true,
            Self::PosInf => false,
            Self::Inclusive(v) => member >= v.as_slice(),
            Self::Exclusive(v) => member > v.as_slice(),
        }
    }

    /// Whether `member` is at or below this bound used as a maximum.
    fn admits_as_max(&self, member: &[u8]) -> bool {
        match self {
            Self::NegInf => false,
            Self::PosInf => true,
            Self::Inclusive(v) => member <= v.as_slice(),
            Self::Exclusive(v) => member < v.as_slice(),
        }
    }
}

/// Members removed by [`SortedSet::pop_min`] and [`SortedSet::pop_max`].
pub type Popped = Vec<(Box<[u8]>, f64)>;

/// A sorted set: distinct byte-string members with `f64` scores, ordered by
/// `(score, member)`. See the [module documentation](self).
#[derive(Clone)]
pub struct SortedSet {
    /// The node arena; `None` slots are on `free`.
    nodes: Vec<Option<Node>>,
    /// Free arena slots.
    free: Vec<u32>,
    /// Header links, one per level in use (empty when the set is empty).
    /// `head[0].span` is unused (always 1).
    head: Vec<Level>,
    /// Last node, `NIL` when empty.
    tail: u32,
    /// Number of nodes linked into the list.
    len: usize,
    /// Member to score.
    dict: HashMap<Arc<[u8]>, f64>,
    /// SplitMix64 state for node heights.
    rng: u64,
    /// Sum of [`Node::heap_bytes`] over live nodes.
    node_heap: usize,
}

impl Default for SortedSet {
    fn default() -> Self {
        Self::new()
    }
}

impl SortedSet {
    /// An empty set. Does not allocate.
    pub fn new() -> Self {
        let hasher = RandomState::new();
        let rng = hasher.hash_one(0x5EED_u64);
        Self {
            nodes: Vec::new(),
            free: Vec::new(),
            head: Vec::new(),
            tail: NIL,
            len: 0,
            dict: HashMap::with_hasher(hasher),
            rng,
            node_heap: 0,
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the set has no members.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `member` is in the set.
    pub fn contains(&self, member: &[u8]) -> bool {
        self.dict.contains_key(member)
    }

    /// The score of `member`, `O(1)`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.dict.get(member).copied()
    }

    /// Adds `member` with `score`, or changes its score (moving it in the
    /// order), `O(log n)`. A NaN score is rejected and changes nothing.
    ///
    /// # Errors
    ///
    /// [`NanScore`] if `score` is NaN.
    pub fn insert(&mut self, member: &[u8], score: f64) -> Result<Inserted, NanScore> {
        if score.is_nan() {
            return Err(NanScore);
        }
        if let Some(slot) = self.dict.get_mut(member) {
            let old = *slot;
            if old == score {
                return Ok(Inserted::Unchanged);
            }
            *slot = score;
            self.update_score(member, old, score);
            return Ok(Inserted::Updated { old });
        }
        let member: Arc<[u8]> = Arc::from(member);
        let height = self.random_height();
        let node = Node {
            member: Arc::clone(&member),
            score,
            backward: NIL,
            next: NIL,
            upper: vec![
                Level {
                    forward: NIL,
                    span: 0
                };
                height - 1
            ]
            .into_boxed_slice(),
        };
        let idx = self.alloc(node);
        self.link(idx);
        self.dict.insert(member, score);
        Ok(Inserted::Added)
    }

    /// Adds `delta` to the score of `member` (a missing member counts as
    /// score `delta`, as `ZINCRBY` does) and returns the new score. If the
    /// result is NaN (`inf + -inf`, or a NaN `delta`) nothing changes.
    ///
    /// # Errors
    ///
    /// [`NanScore`] if the new score would be NaN.
    pub fn increment(&mut self, member: &[u8], delta: f64) -> Result<f64, NanScore> {
        let new = match self.score(member) {
            Some(old) => old + delta,
            None => delta,
        };
        self.insert(member, new)?;
        // An equal score (e.g. `0.0 + -0.0`) leaves the stored one in place.
        Ok(self.score(member).unwrap_or(new))
    }

    /// Removes `member`, returning its score, `O(log n)`.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let score = self.dict.remove(member)?;
        let (update, _) = self.path_before(score, member);
        let x = self.forward(update[0], 0);
        debug_assert_eq!(&*self.node(x).member, member);
        self.unlink(x, &update);
        self.release(x);
        self.maybe_compact();
        Some(score)
    }

    /// The 0-based ascending rank of `member`, `O(log n)`.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        let mut x = HEAD;
        let mut rank = 0usize;
        for i in (0..self.head.len()).rev() {
            loop {
                let f = self.forward(x, i);
                if f == NIL {
                    break;
                }
                let n = self.node(f);
                if n.score < score || (n.score == score && &*n.member <= member) {
                    rank += self.span(x, i) as usize;
                    x = f;
                } else {
                    break;
                }
            }
            if x != HEAD && &*self.node(x).member == member {
                break;
            }
        }
        debug_assert!(x != HEAD && &*self.node(x).member == member);
        Some(rank - 1)
    }

    /// The 0-based descending rank of `member` (`ZREVRANK`), `O(log n)`.
    pub fn rev_rank(&self, member: &[u8]) -> Option<usize> {
        self.rank(member).map(|r| self.len - 1 - r)
    }

    /// The element at 0-based ascending `rank`, `O(log n)`.
    pub fn get_by_rank(&self, rank: usize) -> Option<(&[u8], f64)> {
        let x = self.node_at_rank(rank);
        if x == NIL {
            return None;
        }
        let n = self.node(x);
        Some((&n.member, n.score))
    }

    /// The lowest element.
    pub fn first(&self) -> Option<(&[u8], f64)> {
        self.get_by_rank(0)
    }

    /// The highest element.
    pub fn last(&self) -> Option<(&[u8], f64)> {
        if self.tail == NIL {
            return None;
        }
        let n = self.node(self.tail);
        Some((&n.member, n.score))
    }

    /// All elements in ascending order (`.rev()` for descending).
    pub fn iter(&self) -> Iter<'_> {
        self.iter_ranks(0, self.len, false)
    }

    /// Elements with ranks `start..=end_inclusive` (`ZRANGE`), clamped to
    /// the set; empty if `start > end_inclusive` or `start >= len`. With
    /// `reverse` the ranks are descending ones (`ZRANGE ... REV`) and the
    /// elements come highest first. `O(log n)` to seek, then `O(1)` each.
    pub fn range_by_rank(&self, start: usize, end_inclusive: usize, reverse: bool) -> Iter<'_> {
        if start > end_inclusive || start >= self.len {
            return self.empty_iter();
        }
        let end = end_inclusive.min(self.len - 1);
        if reverse {
            self.iter_ranks(self.len - 1 - end, self.len - start, true)
        } else {
            self.iter_ranks(start, end + 1, false)
        }
    }

    /// Elements with `min <= score <= max` (each end possibly open), in
    /// ascending order, or descending with `reverse` (`ZREVRANGEBYSCORE`,
    /// which still takes `min` here as the low end). `offset` and `limit`
    /// apply after ordering, as `LIMIT offset count` does (`None` = no
    /// limit). `O(log n)` to seek, then `O(1)` per element.
    pub fn range_by_score(
        &self,
        min: ScoreBound,
        max: ScoreBound,
        reverse: bool,
        offset: usize,
        limit: Option<usize>,
    ) -> Iter<'_> {
        let (lo, hi) = self.score_ranks(min, max);
        self.window(lo, hi, reverse, offset, limit)
    }

    /// Number of elements in a score range (`ZCOUNT`), `O(log n)`.
    pub fn count_in_score_range(&self, min: ScoreBound, max: ScoreBound) -> usize {
        let (lo, hi) = self.score_ranks(min, max);
        hi - lo
    }

    /// Elements with members between `min` and `max` (`ZRANGEBYLEX`),
    /// ascending or, with `reverse`, descending; `offset` / `limit` as in
    /// [`range_by_score`](Self::range_by_score). Meaningful when all scores
    /// are equal.
    pub fn range_by_lex(
        &self,
        min: &LexBound,
        max: &LexBound,
        reverse: bool,
        offset: usize,
        limit: Option<usize>,
    ) -> Iter<'_> {
        let (lo, hi) = self.lex_ranks(min, max);
        self.window(lo, hi, reverse, offset, limit)
    }

    /// Number of elements in a lex range (`ZLEXCOUNT`), `O(log n)`.
    pub fn count_in_lex_range(&self, min: &LexBound, max: &LexBound) -> usize {
        let (lo, hi) = self.lex_ranks(min, max);
        hi - lo
    }

    /// Removes the elements with ascending ranks `start..=end_inclusive`
    /// (`ZREMRANGEBYRANK`, clamped as in [`range_by_rank`](Self::range_by_rank)),
    /// returning how many were removed. `O(log n + removed)`.
    pub fn remove_range_by_rank(&mut self, start: usize, end_inclusive: usize) -> usize {
        if start > end_inclusive || start >= self.len {
            return 0;
        }
        let end = end_inclusive.min(self.len - 1);
        self.remove_ranks(start, end + 1, |_, _| {})
    }

    /// Removes the elements in a score range (`ZREMRANGEBYSCORE`), returning
    /// how many were removed. `O(log n + removed)`.
    pub fn remove_range_by_score(&mut self, min: ScoreBound, max: ScoreBound) -> usize {
        let (lo, hi) = self.score_ranks(min, max);
        self.remove_ranks(lo, hi, |_, _| {})
    }

    /// Removes the elements in a lex range (`ZREMRANGEBYLEX`), returning how
    /// many were removed. `O(log n + removed)`.
    pub fn remove_range_by_lex(&mut self, min: &LexBound, max: &LexBound) -> usize {
        let (lo, hi) = self.lex_ranks(min, max);
        self.remove_ranks(lo, hi, |_, _| {})
    }

    /// Removes and returns up to `count` lowest elements, lowest first
    /// (`ZPOPMIN`).
    pub fn pop_min(&mut self, count: usize) -> Popped {
        let k = count.min(self.len);
        let mut out = Vec::with_capacity(k);
        self.remove_ranks(0, k, |m, s| out.push((Box::from(m), s)));
        out
    }

    /// Removes and returns up to `count` highest elements, highest first
    /// (`ZPOPMAX`).
    pub fn pop_max(&mut self, count: usize) -> Popped {
        let k = count.min(self.len);
        let mut out = Vec::with_capacity(k);
        self.remove_ranks(self.len - k, self.len, |m, s| out.push((Box::from(m), s)));
        out.reverse();
        out
    }

    /// Removes every element, keeping no allocation.
    pub fn clear(&mut self) {
        let rng = self.rng;
        *self = Self::new();
        self.rng = rng;
    }

    /// Approximate heap bytes held by the set (plus its own size), `O(1)`.
    /// See the module documentation for the per-element breakdown.
    pub fn memory_usage(&self) -> usize {
        let cap = self.dict.capacity();
        let buckets = match cap {
            0 => 0,
            c if c < 8 => c + 1,
            c => c / 7 * 8,
        };
        let dict_bytes = if buckets == 0 {
            0
        } else {
            // Entries, one control byte per bucket, one trailing group.
            buckets * (size_of::<(Arc<[u8]>, f64)>() + 1) + 16
        };
        size_of::<Self>()
            + self.nodes.capacity() * size_of::<Option<Node>>()
            + self.free.capacity() * size_of::<u32>()
            + self.head.capacity() * size_of::<Level>()
            + self.node_heap
            + dict_bytes
    }

    /// Compacts the node arena and shrinks every buffer to fit, `O(n)`.
    pub fn shrink_to_fit(&mut self) {
        self.compact();
        self.nodes.shrink_to_fit();
        self.head.shrink_to_fit();
        self.dict.shrink_to_fit();
    }

    // ----- internals: arena -------------------------------------------------

    fn node(&self, x: u32) -> &Node {
        match self.nodes.get(x as usize) {
            Some(Some(n)) => n,
            _ => unreachable!("sorted set: dangling link {x}"),
        }
    }

    fn node_mut(&mut self, x: u32) -> &mut Node {
        match self.nodes.get_mut(x as usize) {
            Some(Some(n)) => n,
            _ => unreachable!("sorted set: dangling link {x}"),
        }
    }

    /// Stores `node` in the arena (not yet linked) and returns its index.
    fn alloc(&mut self, node: Node) -> u32 {
        self.node_heap += node.heap_bytes();
        if let Some(idx) = self.free.pop() {
            self.nodes[idx as usize] = Some(node);
            return idx;
        }
        let idx = match u32::try_from(self.nodes.len()) {
            Ok(i) if i < HEAD => i,
            _ => panic!("sorted set: more than {} elements", HEAD),
        };
        self.nodes.push(Some(node));
        idx
    }

    /// Takes an unlinked node out of the arena.
    fn release(&mut self, x: u32) -> Node {
        match self.nodes.get_mut(x as usize).and_then(Option::take) {
            Some(node) => {
                self.node_heap -= node.heap_bytes();
                self.free.push(x);
                node
            }
            None => unreachable!("sorted set: releasing a free slot {x}"),
        }
    }

    /// Rebuilds the arena once at most a quarter of it is live.
    fn maybe_compact(&mut self) {
        let slots = self.nodes.len();
        if slots >= COMPACT_MIN_SLOTS && self.len * 4 < slots {
            self.compact();
            self.nodes.shrink_to(self.len * 2);
            self.free.shrink_to_fit();
            self.dict.shrink_to(self.len * 2);
        }
    }

    /// Moves the live nodes to the arena's front in list order and relinks
    /// them (keeping every node's height), `O(n)`.
    fn compact(&mut self) {
        let mut old = std::mem::take(&mut self.nodes);
        let mut nodes = Vec::with_capacity(self.len);
        let mut x = self.head.first().map_or(NIL, |l| l.forward);
        while x != NIL {
            match old.get_mut(x as usize).and_then(Option::take) {
                Some(n) => {
                    x = n.next;
                    nodes.push(Some(n));
                }
                None => unreachable!("sorted set: dangling link {x}"),
            }
        }
        debug_assert_eq!(nodes.len(), self.len);
        self.nodes = nodes;
        self.free.clear();
        let count = self.nodes.len() as u32;
        let top = self
            .nodes
            .iter()
            .flatten()
            .map(Node::height)
            .max()
            .unwrap_or(0);
        self.head.clear();
        self.head.resize(
            top,
            Level {
                forward: NIL,
                span: 0,
            },
        );
        let mut last = [HEAD; MAX_LEVEL];
        let mut last_pos = [0u32; MAX_LEVEL];
        for idx in 0..count {
            let pos = idx + 1;
            for i in 0..self.node(idx).height() {
                self.set_forward(last[i], i, idx);
                self.set_span(last[i], i, pos - last_pos[i]);
                last[i] = idx;
                last_pos[i] = pos;
            }
            self.node_mut(idx).backward = if idx == 0 { NIL } else { idx - 1 };
        }
        for i in 0..top {
            self.set_forward(last[i], i, NIL);
            self.set_span(last[i], i, count + 1 - last_pos[i]);
        }
        self.tail = if count == 0 { NIL } else { count - 1 };
    }

    // ----- internals: links -------------------------------------------------

    fn forward(&self, x: u32, level: usize) -> u32 {
        if x == HEAD {
            self.head[level].forward
        } else if level == 0 {
            self.node(x).next
        } else {
            self.node(x).upper[level - 1].forward
        }
    }

    fn span(&self, x: u32, level: usize) -> u32 {
        if level == 0 {
            1
        } else if x == HEAD {
            self.head[level].span
        } else {
            self.node(x).upper[level - 1].span
        }
    }

    fn set_forward(&mut self, x: u32, level: usize, to: u32) {
        if x == HEAD {
            self.head[level].forward = to;
        } else if level == 0 {
            self.node_mut(x).next = to;
        } else {
            self.node_mut(x).upper[level - 1].forward = to;
        }
    }

    fn set_span(&mut self, x: u32, level: usize, span: u32) {
        if level == 0 {
            debug_assert_eq!(span, 1, "level-0 spans are always 1");
        } else if x == HEAD {
            self.head[level].span = span;
        } else {
            self.node_mut(x).upper[level - 1].span = span;
        }
    }

    fn random_height(&mut self) -> usize {
        // SplitMix64.
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // Each pair of zero low bits (probability 1/4) adds a level.
        (1 + z.trailing_zeros() as usize / 2).min(MAX_LEVEL)
    }

    /// For each level in use, the last node sorting strictly before
    /// `(score, member)` and its 1-based position (0 for the header).
    fn path_before(&self, score: f64, member: &[u8]) -> ([u32; MAX_LEVEL], [u32; MAX_LEVEL]) {
        let mut update = [HEAD; MAX_LEVEL];
        let mut rank = [0u32; MAX_LEVEL];
        let mut x = HEAD;
        let mut r = 0u32;
        for i in (0..self.head.len()).rev() {
            loop {
                let f = self.forward(x, i);
                if f == NIL {
                    break;
                }
                let n = self.node(f);
                if !precedes(n.score, &n.member, score, member) {
                    break;
                }
                r += self.span(x, i);
                x = f;
            }
            update[i] = x;
            rank[i] = r;
        }
        (update, rank)
    }

    /// For each level in use, the last node at 1-based position `<= pos`.
    fn path_to_position(&self, pos: u32) -> [u32; MAX_LEVEL] {
        let mut update = [HEAD; MAX_LEVEL];
        let mut x = HEAD;
        let mut t = 0u32;
        for i in (0..self.head.len()).rev() {
            loop {
                let f = self.forward(x, i);
                if f == NIL {
                    break;
                }
                let s = self.span(x, i);
                if t + s > pos {
                    break;
                }
                t += s;
                x = f;
            }
            update[i] = x;
        }
        update
    }

    /// Links the arena node `idx` (its score, member and height set) into
    /// the list.
    fn link(&mut self, idx: u32) {
        let (height, (update, rank)) = {
            let n = self.node(idx);
            (n.height(), self.path_before(n.score, &n.member))
        };
        let old_len = self.len as u32;
        while self.head.len() < height {
            // New levels: the header links to the virtual end node.
            self.head.push(Level {
                forward: NIL,
                span: old_len + 1,
            });
        }
        for i in 0..height {
            let u = update[i];
            let after = self.forward(u, i);
            self.set_forward(idx, i, after);
            self.set_forward(u, i, idx);
            let skipped = rank[0] - rank[i];
            let u_span = self.span(u, i);
            self.set_span(idx, i, u_span - skipped);
            self.set_span(u, i, skipped + 1);
        }
        for (i, &u) in update.iter().enumerate().take(self.head.len()).skip(height) {
            let s = self.span(u, i);
            self.set_span(u, i, s + 1);
        }
        let back = if update[0] == HEAD { NIL } else { update[0] };
        let next = {
            let n = self.node_mut(idx);
            n.backward = back;
            n.next
        };
        if next == NIL {
            self.tail = idx;
        } else {
            self.node_mut(next).backward = idx;
        }
        self.len += 1;
    }

    /// Unlinks node `x`, given its predecessors at every level in use.
    fn unlink(&mut self, x: u32, update: &[u32; MAX_LEVEL]) {
        for (i, &u) in update.iter().enumerate().take(self.head.len()) {
            if self.forward(u, i) == x {
                let s = self.span(u, i) + self.span(x, i) - 1;
                let f = self.forward(x, i);
                self.set_span(u, i, s);
                self.set_forward(u, i, f);
            } else {
                let s = self.span(u, i);
                self.set_span(u, i, s - 1);
            }
        }
        let (back, next) = {
            let n = self.node(x);
            (n.backward, n.next)
        };
        if next == NIL {
            self.tail = back;
        } else {
            self.node_mut(next).backward = back;
        }
        while self.head.last().is_some_and(|l| l.forward == NIL) {
            self.head.pop();
        }
        self.len -= 1;
    }

    /// Moves `member` from score `old` to `new` (the dictionary is already
    /// updated).
    fn update_score(&mut self, member: &[u8], old: f64, new: f64) {
        let (update, _) = self.path_before(old, member);
        let x = self.forward(update[0], 0);
        let in_place = {
            let n = self.node(x);
            debug_assert_eq!(&*n.member, member);
            let after_prev = n.backward == NIL || {
                let p = self.node(n.backward);
                precedes(p.score, &p.member, new, member)
            };
            let before_next = n.next == NIL || {
                let q = self.node(n.next);
                precedes(new, member, q.score, &q.member)
            };
            after_prev && before_next
        };
        if !in_place {
            self.unlink(x, &update);
        }
        self.node_mut(x).score = new;
        if !in_place {
            self.link(x);
        }
    }

    /// Removes the elements with ascending ranks `lo..hi`, passing each to
    /// `sink` in ascending order; returns how many.
    fn remove_ranks(&mut self, lo: usize, hi: usize, mut sink: impl FnMut(&[u8], f64)) -> usize {
        if lo >= hi {
            return 0;
        }
        let update = self.path_to_position(lo as u32);
        let mut x = self.forward(update[0], 0);
        for _ in lo..hi {
            let next = self.node(x).next;
            self.unlink(x, &update);
            let node = self.release(x);
            self.dict.remove(&*node.member);
            sink(&node.member, node.score);
            x = next;
        }
        self.maybe_compact();
        hi - lo
    }

    // ----- internals: queries -----------------------------------------------

    /// The node at 0-based `rank`, or `NIL`.
    fn node_at_rank(&self, rank: usize) -> u32 {
        if rank >= self.len {
            return NIL;
        }
        if rank + 1 == self.len {
            return self.tail;
        }
        let target = rank as u32 + 1;
        let mut x = HEAD;
        let mut t = 0u32;
        for i in (0..self.head.len()).rev() {
            loop {
                let f = self.forward(x, i);
                if f == NIL {
                    break;
                }
                let s = self.span(x, i);
                if t + s > target {
                    break;
                }
                t += s;
                x = f;
            }
            if t == target {
                return x;
            }
        }
        unreachable!("sorted set: rank {rank} not found")
    }

    /// How many leading elements satisfy `pred`, which must hold for a
    /// prefix of the order (otherwise the answer depends on the list shape).
    fn prefix_len(&self, pred: impl Fn(f64, &[u8]) -> bool) -> usize {
        let mut x = HEAD;
        let mut count = 0usize;
        for i in (0..self.head.len()).rev() {
            loop {
                let f = self.forward(x, i);
                if f == NIL {
                    break;
                }
                let n = self.node(f);
                if !pred(n.score, &n.member) {
                    break;
                }
                count += self.span(x, i) as usize;
                x = f;
            }
        }
        count
    }

    /// The ascending rank range `lo..hi` of a score range.
    fn score_ranks(&self, min: ScoreBound, max: ScoreBound) -> (usize, usize) {
        if self.len == 0 || min.value.is_nan() || max.value.is_nan() {
            return (0, 0);
        }
        let lo = self.prefix_len(|s, _| !min.admits_as_min(s));
        if lo == self.len {
            return (lo, lo);
        }
        let hi = self.prefix_len(|s, _| max.admits_as_max(s));
        (lo, hi.max(lo))
    }

    /// The ascending rank range `lo..hi` of a lex range.
    fn lex_ranks(&self, min: &LexBound, max: &LexBound) -> (usize, usize) {
        if self.len == 0 {
            return (0, 0);
        }
        let lo = self.prefix_len(|_, m| !min.admits_as_min(m));
        if lo == self.len {
            return (lo, lo);
        }
        let hi = self.prefix_len(|_, m| max.admits_as_max(m));
        (lo, hi.max(lo))
    }

    /// Applies `offset` / `limit` to the ascending rank range `lo..hi` read
    /// in the given direction.
    fn window(
        &self,
        lo: usize,
        hi: usize,
        reverse: bool,
        offset: usize,
        limit: Option<usize>,
    ) -> Iter<'_> {
        let count = hi.saturating_sub(lo);
        if offset >= count {
            return self.empty_iter();
        }
        let take = (count - offset).min(limit.unwrap_or(usize::MAX));
        if reverse {
            self.iter_ranks(hi - offset - take, hi - offset, true)
        } else {
            self.iter_ranks(lo + offset, lo + offset + take, false)
        }
    }

    /// An iterator over ascending ranks `lo..hi`, read backwards if
    /// `reverse`.
    fn iter_ranks(&self, lo: usize, hi: usize, reverse: bool) -> Iter<'_> {
        if lo >= hi || hi > self.len {
            return self.empty_iter();
        }
        let first = self.node_at_rank(lo);
        let last = self.node_at_rank(hi - 1);
        let (front, back) = if reverse {
            (last, first)
        } else {
            (first, last)
        };
        Iter {
            set: self,
            front,
            back,
            remaining: hi - lo,
            reverse,
        }
    }

    fn empty_iter(&self) -> Iter<'_> {
        Iter {
            set: self,
            front: NIL,
            back: NIL,
            remaining: 0,
            reverse: false,
        }
    }
}

/// An iterator over `(member, score)` pairs of a [`SortedSet`], in the order
/// the producing method documents. Double-ended and exact-size.
#[derive(Clone)]
pub struct Iter<'a> {
    set: &'a SortedSet,
    front: u32,
    back: u32,
    remaining: usize,
    /// Whether "forward" for this iterator follows backward links.
    reverse: bool,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let set: &'a SortedSet = self.set;
        let n = set.node(self.front);
        self.remaining -= 1;
        self.front = if self.reverse { n.backward } else { n.next };
        Some((&n.member, n.score))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let set = self.set;
        let n = set.node(self.back);
        self.remaining -= 1;
        self.back = if self.reverse { n.next } else { n.backward };
        Some((&n.member, n.score))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl FusedIterator for Iter<'_> {}

impl fmt::Debug for Iter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter")
            .field("remaining", &self.remaining)
            .field("reverse", &self.reverse)
            .finish_non_exhaustive()
    }
}

impl<'a> IntoIterator for &'a SortedSet {
    type Item = (&'a [u8], f64);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// Equal when both sets hold the same members with equal scores (`-0.0`
/// equals `0.0`).
impl PartialEq for SortedSet {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len
            && self
                .dict
                .iter()
                .all(|(m, s)| other.dict.get(&**m).is_some_and(|o| o == s))
    }
}

/// Scores are never NaN, so equality is an equivalence.
impl Eq for SortedSet {}

impl fmt::Debug for SortedSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Bytes<'a>(&'a [u8]);
        impl fmt::Debug for Bytes<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "\"{}\"", self.0.escape_ascii())
            }
        }
        f.write_str("SortedSet ")?;
        f.debug_map()
            .entries(self.iter().map(|(m, s)| (Bytes(m), s)))
            .finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    impl SortedSet {
        /// Checks every structural invariant.
        fn check(&self) {
            // Level 0: order, back links, tail, positions.
            let mut pos: HashMap<u32, u32> = HashMap::new();
            let mut x = self.head.first().map_or(NIL, |l| l.forward);
            let mut prev = NIL;
            let mut p = 0u32;
            let mut heap = 0usize;
            while x != NIL {
                let n = self.node(x);
                p += 1;
                pos.insert(x, p);
                assert_eq!(n.backward, prev, "backward link");
                if prev != NIL {
                    let q = self.node(prev);
                    assert!(precedes(q.score, &q.member, n.score, &n.member), "order");
                }
                assert!(!n.score.is_nan());
                assert!(n.height() <= self.head.len());
                assert_eq!(
                    self.dict.get(&*n.member).map(|s| s.to_bits()),
                    Some(n.score.to_bits()),
                    "dict score"
                );
                heap += n.heap_bytes();
                prev = x;
                x = n.next;
            }
            assert_eq!(p as usize, self.len);
            assert_eq!(self.dict.len(), self.len);
            assert_eq!(self.tail, prev);
            assert_eq!(heap, self.node_heap);
            assert_eq!(self.head.is_empty(), self.len == 0);
            assert!(self.head.len() <= MAX_LEVEL);
            if let Some(top) = self.head.last() {
                assert_ne!(top.forward, NIL, "top level is used");
            }
            // Every level: spans, sortedness (visiting a subsequence).
            for i in 0..self.head.len() {
                let mut x = HEAD;
                let mut xp = 0u32;
                loop {
                    let f = self.forward(x, i);
                    let fp = if f == NIL {
                        self.len as u32 + 1
                    } else {
                        pos[&f]
                    };
                    assert!(fp > xp);
                    assert_eq!(self.span(x, i), fp - xp, "span at level {i}");
                    if f == NIL {
                        break;
                    }
                    assert!(self.node(f).height() > i);
                    x = f;
                    xp = fp;
                }
            }
            // Arena: live + free = slots.
            let live = self.nodes.iter().filter(|n| n.is_some()).count();
            assert_eq!(live, self.len);
            assert_eq!(live + self.free.len(), self.nodes.len());
        }
    }

    fn collect(it: Iter<'_>) -> Vec<(Vec<u8>, f64)> {
        it.map(|(m, s)| (m.to_vec(), s)).collect()
    }

    fn members(it: Iter<'_>) -> Vec<&[u8]> {
        it.map(|(m, _)| m).collect()
    }

    fn set_of(items: &[(&str, f64)]) -> SortedSet {
        let mut z = SortedSet::new();
        for &(m, s) in items {
            z.insert(m.as_bytes(), s).unwrap();
        }
        z.check();
        z
    }

    fn incl(v: f64) -> ScoreBound {
        ScoreBound::inclusive(v)
    }

    fn excl(v: f64) -> ScoreBound {
        ScoreBound::exclusive(v)
    }

    fn lex(s: &str) -> LexBound {
        LexBound::parse(s.as_bytes()).unwrap()
    }

    #[test]
    fn empty_set() {
        let mut z = SortedSet::default();
        z.check();
        assert!(z.is_empty());
        assert_eq!(z.len(), 0);
        assert_eq!(z.score(b"a"), None);
        assert_eq!(z.rank(b"a"), None);
        assert_eq!(z.rev_rank(b"a"), None);
        assert_eq!(z.get_by_rank(0), None);
        assert_eq!(z.first(), None);
        assert_eq!(z.last(), None);
        assert_eq!(z.iter().count(), 0);
        assert_eq!(z.range_by_rank(0, 10, false).count(), 0);
        assert_eq!(z.range_by_rank(0, 10, true).count(), 0);
        let all = z.range_by_score(ScoreBound::NEG_INF, ScoreBound::POS_INF, false, 0, None);
        assert_eq!(all.count(), 0);
        assert_eq!(
            z.count_in_score_range(ScoreBound::NEG_INF, ScoreBound::POS_INF),
            0
        );
        let (neg, pos) = (LexBound::NegInf, LexBound::PosInf);
        assert_eq!(z.range_by_lex(&neg, &pos, true, 0, None).count(), 0);
        assert_eq!(z.count_in_lex_range(&neg, &pos), 0);
        assert_eq!(z.remove(b"a"), None);
        assert_eq!(z.remove_range_by_rank(0, 5), 0);
        assert_eq!(
            z.remove_range_by_score(ScoreBound::NEG_INF, ScoreBound::POS_INF),
            0
        );
        assert_eq!(z.remove_range_by_lex(&neg, &pos), 0);
        assert!(z.pop_min(3).is_empty());
        assert!(z.pop_max(3).is_empty());
        assert_eq!(z, SortedSet::new());
        assert_eq!(format!("{z:?}"), "SortedSet {}");
        assert!(z.memory_usage() >= size_of::<SortedSet>());
        z.check();
    }

    #[test]
    fn insert_update_unchanged_and_nan() {
        let mut z = SortedSet::new();
        assert_eq!(z.insert(b"a", 1.0), Ok(Inserted::Added));
        assert_eq!(z.insert(b"a", 1.0), Ok(Inserted::Unchanged));
        assert_eq!(z.insert(b"a", 2.5), Ok(Inserted::Updated { old: 1.0 }));
        assert_eq!(z.score(b"a"), Some(2.5));
        assert_eq!(z.insert(b"a", f64::NAN), Err(NanScore));
        assert_eq!(z.insert(b"b", f64::NAN), Err(NanScore));
        assert_eq!(z.len(), 1);
        assert!(!z.contains(b"b"));
        assert!(z.contains(b"a"));
        // -0.0 and 0.0 are the same score; the stored one keeps its sign.
        assert_eq!(z.insert(b"z", 0.0), Ok(Inserted::Added));
        assert_eq!(z.insert(b"z", -0.0), Ok(Inserted::Unchanged));
        assert!(z.score(b"z").unwrap().is_sign_positive());
        assert_eq!(NanScore.to_string(), "score is not a number (NaN)");
        z.check();
    }

    #[test]
    fn order_ties_by_member_bytes() {
        let mut z = SortedSet::new();
        for m in [&b"b"[..], b"ab", b"a", b"", b"\xff", b"a\x00", b"B"] {
            z.insert(m, 1.0).unwrap();
        }
        z.insert(b"low", -0.0).unwrap();
        z.insert(b"high", 0.0).unwrap();
        z.insert(b"neg", f64::NEG_INFINITY).unwrap();
        z.insert(b"pos", f64::INFINITY).unwrap();
        z.check();
        let order = members(z.iter());
        let expected: Vec<&[u8]> = vec![
            b"neg", b"high", b"low", b"", b"B", b"a", b"a\x00", b"ab", b"b", b"\xff", b"pos",
        ];
        assert_eq!(order, expected);
        for (i, m) in expected.iter().enumerate() {
            assert_eq!(z.rank(m), Some(i));
            assert_eq!(z.rev_rank(m), Some(expected.len() - 1 - i));
            assert_eq!(z.get_by_rank(i).unwrap().0, *m);
        }
        assert_eq!(z.get_by_rank(expected.len()), None);
        assert_eq!(z.get_by_rank(usize::MAX), None);
        assert_eq!(z.first(), Some((&b"neg"[..], f64::NEG_INFINITY)));
        assert_eq!(z.last(), Some((&b"pos"[..], f64::INFINITY)));
        let rev: Vec<&[u8]> = z.iter().rev().map(|(m, _)| m).collect();
        let mut exp_rev = expected.clone();
        exp_rev.reverse();
        assert_eq!(rev, exp_rev);
    }

    #[test]
    fn updates_move_nodes() {
        let mut z = set_of(&[("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.0)]);
        // In place (stays between neighbours).
        assert_eq!(z.insert(b"b", 2.5), Ok(Inserted::Updated { old: 2.0 }));
        z.check();
        assert_eq!(z.rank(b"b"), Some(1));
        // Moves to the end, then to the front.
        z.insert(b"b", 10.0).unwrap();
        z.check();
        assert_eq!(members(z.iter()), vec![&b"a"[..], b"c", b"d", b"b"]);
        z.insert(b"b", -10.0).unwrap();
        z.check();
        assert_eq!(members(z.iter()), vec![&b"b"[..], b"a", b"c", b"d"]);
        // Tie with a neighbour: ordered by member.
        z.insert(b"b", 3.0).unwrap();
        z.check();
        assert_eq!(members(z.iter()), vec![&b"a"[..], b"b", b"c", b"d"]);
        z.insert(b"a", 3.0).unwrap();
        z.insert(b"d", 3.0).unwrap();
        z.check();
        assert_eq!(members(z.iter()), vec![&b"a"[..], b"b", b"c", b"d"]);
        assert_eq!(z.rank(b"d"), Some(3));
    }

    #[test]
    fn increment() {
        let mut z = SortedSet::new();
        assert_eq!(z.increment(b"a", 2.0), Ok(2.0));
        assert_eq!(z.increment(b"a", 0.5), Ok(2.5));
        assert_eq!(z.increment(b"a", -2.5), Ok(0.0));
        assert_eq!(z.increment(b"i", f64::INFINITY), Ok(f64::INFINITY));
        assert_eq!(z.increment(b"i", f64::NEG_INFINITY), Err(NanScore));
        assert_eq!(z.score(b"i"), Some(f64::INFINITY));
        assert_eq!(z.increment(b"n", f64::NAN), Err(NanScore));
        assert!(!z.contains(b"n"));
        let stored = z.increment(b"m", -0.0).unwrap();
        assert!(stored.is_sign_negative());
        z.check();
    }

    #[test]
    fn remove_members() {
        let mut z = set_of(&[("a", 1.0), ("b", 2.0), ("c", 3.0)]);
        assert_eq!(z.remove(b"b"), Some(2.0));
        assert_eq!(z.remove(b"b"), None);
        assert_eq!(z.remove(b"x"), None);
        z.check();
        assert_eq!(z.rank(b"c"), Some(1));
        assert_eq!(z.remove(b"a"), Some(1.0));
        assert_eq!(z.remove(b"c"), Some(3.0));
        assert!(z.is_empty());
        z.check();
        z.insert(b"again", 1.0).unwrap();
        z.check();
        assert_eq!(z.len(), 1);
    }

    #[test]
    fn range_by_rank_edges() {
        let z = set_of(&[("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.0), ("e", 5.0)]);
        assert_eq!(members(z.range_by_rank(0, 1, false)), vec![&b"a"[..], b"b"]);
        assert_eq!(
            members(z.range_by_rank(1, 3, false)),
            vec![&b"b"[..], b"c", b"d"]
        );
        assert_eq!(
            members(z.range_by_rank(3, 100, false)),
            vec![&b"d"[..], b"e"]
        );
        assert_eq!(members(z.range_by_rank(4, 4, false)), vec![&b"e"[..]]);
        assert_eq!(z.range_by_rank(5, 10, false).count(), 0);
        assert_eq!(z.range_by_rank(3, 2, false).count(), 0);
        assert_eq!(members(z.range_by_rank(0, 1, true)), vec![&b"e"[..], b"d"]);
        assert_eq!(
            members(z.range_by_rank(3, usize::MAX, true)),
            vec![&b"b"[..], b"a"]
        );
        assert_eq!(z.range_by_rank(5, 5, true).count(), 0);
        let all = collect(z.range_by_rank(0, usize::MAX, false));
        assert_eq!(all, collect(z.iter()));
        // Exact size and double-ended.
        let mut it = z.range_by_rank(1, 3, false);
        assert_eq!(it.len(), 3);
        assert_eq!(it.next_back().unwrap().0, b"d");
        assert_eq!(it.next().unwrap().0, b"b");
        assert_eq!(it.len(), 1);
        assert_eq!(it.next_back().unwrap().0, b"c");
        assert_eq!(it.next(), None);
        assert_eq!(it.next_back(), None);
        let mut rit = z.range_by_rank(0, 2, true);
        assert_eq!(rit.next_back().unwrap().0, b"c");
        assert_eq!(rit.next().unwrap().0, b"e");
        assert!(format!("{rit:?}").contains("remaining: 1"));
    }

    #[test]
    fn range_by_score_bounds() {
        let inf = f64::INFINITY;
        let z = set_of(&[
            ("ninf", -inf),
            ("a", 1.0),
            ("b", 2.0),
            ("b2", 2.0),
            ("c", 3.0),
            ("pinf", inf),
        ]);
        let q = |min, max| members(z.range_by_score(min, max, false, 0, None));
        assert_eq!(q(incl(2.0), incl(3.0)), vec![&b"b"[..], b"b2", b"c"]);
        assert_eq!(q(excl(2.0), incl(3.0)), vec![&b"c"[..]]);
        assert_eq!(q(incl(2.0), excl(3.0)), vec![&b"b"[..], b"b2"]);
        assert_eq!(q(excl(1.0), excl(3.0)), vec![&b"b"[..], b"b2"]);
        assert_eq!(q(incl(2.0), incl(2.0)), vec![&b"b"[..], b"b2"]);
        assert!(q(excl(2.0), incl(2.0)).is_empty());
        assert!(q(incl(2.0), excl(2.0)).is_empty());
        assert!(q(incl(3.0), incl(1.0)).is_empty());
        assert!(q(incl(1.5), incl(1.9)).is_empty());
        assert!(q(incl(10.0), incl(20.0)).is_empty());
        assert_eq!(q(ScoreBound::NEG_INF, ScoreBound::POS_INF).len(), 6);
        assert_eq!(q(excl(-inf), excl(inf)).len(), 4);
        assert_eq!(
            q(ScoreBound::NEG_INF, ScoreBound::NEG_INF),
            vec![&b"ninf"[..]]
        );
        assert_eq!(
            q(ScoreBound::POS_INF, ScoreBound::POS_INF),
            vec![&b"pinf"[..]]
        );
        assert!(q(incl(f64::NAN), ScoreBound::POS_INF).is_empty());
        assert!(q(ScoreBound::NEG_INF, incl(f64::NAN)).is_empty());
        // Reverse with offset and limit: offsets count from the top.
        let r = |off, lim| members(z.range_by_score(incl(1.0), incl(3.0), true, off, lim));
        assert_eq!(r(0, None), vec![&b"c"[..], b"b2", b"b", b"a"]);
        assert_eq!(r(1, Some(2)), vec![&b"b2"[..], b"b"]);
        assert_eq!(r(3, Some(5)), vec![&b"a"[..]]);
        assert!(r(4, None).is_empty());
        assert!(r(0, Some(0)).is_empty());
        let f = |off, lim| members(z.range_by_score(incl(1.0), incl(3.0), false, off, lim));
        assert_eq!(f(1, Some(2)), vec![&b"b"[..], b"b2"]);
        assert_eq!(f(2, None), vec![&b"b2"[..], b"c"]);
        assert!(f(usize::MAX, None).is_empty());
        // Counts.
        assert_eq!(z.count_in_score_range(incl(2.0), incl(3.0)), 3);
        assert_eq!(z.count_in_score_range(excl(2.0), incl(3.0)), 1);
        assert_eq!(z.count_in_score_range(incl(3.0), incl(2.0)), 0);
        assert_eq!(
            z.count_in_score_range(ScoreBound::NEG_INF, ScoreBound::POS_INF),
            6
        );
        assert_eq!(z.count_in_score_range(incl(f64::NAN), incl(f64::NAN)), 0);
        // Scores come through.
        let got = collect(z.range_by_score(incl(1.0), excl(2.0), false, 0, None));
        assert_eq!(got, vec![(b"a".to_vec(), 1.0)]);
    }

    #[test]
    fn zero_signs_are_one_score() {
        let z = set_of(&[("a", -0.0), ("b", 0.0), ("c", -0.0)]);
        assert_eq!(members(z.iter()), vec![&b"a"[..], b"b", b"c"]);
        assert_eq!(z.count_in_score_range(incl(0.0), incl(0.0)), 3);
        assert_eq!(z.count_in_score_range(incl(-0.0), incl(-0.0)), 3);
        assert_eq!(z.count_in_score_range(excl(-0.0), ScoreBound::POS_INF), 0);
        assert_eq!(z.rank(b"c"), Some(2));
    }

    #[test]
    fn lex_bound_parse() {
        assert_eq!(LexBound::parse(b"-"), Some(LexBound::NegInf));
        assert_eq!(LexBound::parse(b"+"), Some(LexBound::PosInf));
        assert_eq!(
            LexBound::parse(b"[a"),
            Some(LexBound::Inclusive(b"a".to_vec()))
        );
        assert_eq!(
            LexBound::parse(b"(ab"),
            Some(LexBound::Exclusive(b"ab".to_vec()))
        );
        assert_eq!(LexBound::parse(b"["), Some(LexBound::Inclusive(Vec::new())));
        assert_eq!(LexBound::parse(b"("), Some(LexBound::Exclusive(Vec::new())));
        assert_eq!(
            LexBound::parse(b"[-"),
            Some(LexBound::Inclusive(b"-".to_vec()))
        );
        assert_eq!(LexBound::parse(b""), None);
        assert_eq!(LexBound::parse(b"a"), None);
        assert_eq!(LexBound::parse(b"--"), None);
        assert_eq!(LexBound::parse(b"+a"), None);
        assert_eq!(LexBound::parse(b"-1"), None);
        assert_eq!(LexBound::parse(b"5"), None);
    }

    #[test]
    fn lex_ranges() {
        let z = set_of(&[
            ("", 0.0),
            ("a", 0.0),
            ("b", 0.0),
            ("ba", 0.0),
            ("c", 0.0),
            ("d", 0.0),
        ]);
        let q =
            |min: &str, max: &str| members(z.range_by_lex(&lex(min), &lex(max), false, 0, None));
        assert_eq!(q("-", "+").len(), 6);
        assert_eq!(q("[b", "[c"), vec![&b"b"[..], b"ba", b"c"]);
        assert_eq!(q("(b", "[c"), vec![&b"ba"[..], b"c"]);
        assert_eq!(q("[b", "(c"), vec![&b"b"[..], b"ba"]);
        assert_eq!(q("-", "(b"), vec![&b""[..], b"a"]);
        assert_eq!(q("[", "[a"), vec![&b""[..], b"a"]);
        assert_eq!(q("(", "[a"), vec![&b"a"[..]]);
        assert_eq!(q("(c", "+"), vec![&b"d"[..]]);
        assert!(q("+", "-").is_empty());
        assert!(q("-", "-").is_empty());
        assert!(q("+", "+").is_empty());
        assert!(q("[c", "[b").is_empty());
        assert!(q("(b", "(b").is_empty());
        assert_eq!(q("[b", "[b"), vec![&b"b"[..]]);
        assert!(q("[e", "+").is_empty());
        let r = members(z.range_by_lex(&lex("[a"), &lex("[c"), true, 1, Some(2)));
        assert_eq!(r, vec![&b"ba"[..], b"b"]);
        let f = members(z.range_by_lex(&lex("-"), &lex("+"), false, 4, Some(10)));
        assert_eq!(f, vec![&b"c"[..], b"d"]);
        assert_eq!(z.count_in_lex_range(&lex("[b"), &lex("[c")), 3);
        assert_eq!(z.count_in_lex_range(&lex("-"), &lex("+")), 6);
        assert_eq!(z.count_in_lex_range(&lex("[d"), &lex("[a")), 0);
        let mut z2 = z.clone();
        assert_eq!(z2.remove_range_by_lex(&lex("(a"), &lex("[c")), 3);
        z2.check();
        assert_eq!(members(z2.iter()), vec![&b""[..], b"a", b"d"]);
        assert_eq!(z2.remove_range_by_lex(&lex("+"), &lex("+")), 0);
        assert_eq!(z2.remove_range_by_lex(&lex("-"), &lex("+")), 3);
        z2.check();
        assert!(z2.is_empty());
    }

    #[test]
    fn lex_with_mixed_scores_does_not_panic() {
        let z = set_of(&[("z", 1.0), ("a", 2.0), ("m", 3.0)]);
        let n = z.count_in_lex_range(&lex("[b"), &lex("[y"));
        assert!(n <= 3);
        assert_eq!(
            z.range_by_lex(&lex("[b"), &lex("[y"), false, 0, None)
                .count(),
            n
        );
    }

    #[test]
    fn remove_ranges() {
        let items: Vec<(String, f64)> = (0..20).map(|i| (format!("m{i:02}"), i as f64)).collect();
        let refs: Vec<(&str, f64)> = items.iter().map(|(m, s)| (m.as_str(), *s)).collect();
        let mut z = set_of(&refs);
        assert_eq!(z.remove_range_by_rank(20, 30), 0);
        assert_eq!(z.remove_range_by_rank(5, 4), 0);
        assert_eq!(z.remove_range_by_rank(0, 1), 2);
        z.check();
        assert_eq!(z.first().unwrap().0, b"m02");
        assert_eq!(z.remove_range_by_rank(15, usize::MAX), 3);
        z.check();
        assert_eq!(z.last().unwrap().0, b"m16");
        assert_eq!(z.remove_range_by_score(excl(5.0), incl(7.0)), 2);
        z.check();
        assert!(!z.contains(b"m06") && !z.contains(b"m07") && z.contains(b"m05"));
        assert_eq!(z.remove_range_by_score(incl(100.0), ScoreBound::POS_INF), 0);
        assert_eq!(
            z.remove_range_by_score(incl(f64::NAN), ScoreBound::POS_INF),
            0
        );
        assert_eq!(z.remove_range_by_score(incl(9.0), incl(8.0)), 0);
        assert_eq!(z.len(), 13);
        assert_eq!(
            z.remove_range_by_score(ScoreBound::NEG_INF, ScoreBound::POS_INF),
            13
        );
        z.check();
        assert!(z.is_empty());
    }

    #[test]
    fn pops() {
        let mut z = set_of(&[("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.0)]);
        assert!(z.pop_min(0).is_empty());
        let p = z.pop_min(2);
        assert_eq!(
            p,
            vec![(Box::from(&b"a"[..]), 1.0), (Box::from(&b"b"[..]), 2.0)]
        );
        z.check();
        let p = z.pop_max(1);
        assert_eq!(p, vec![(Box::from(&b"d"[..]), 4.0)]);
        z.check();
        z.insert(b"e", 5.0).unwrap();
        let p = z.pop_max(10);
        assert_eq!(
            p,
            vec![(Box::from(&b"e"[..]), 5.0), (Box::from(&b"c"[..]), 3.0)]
        );
        assert!(z.is_empty());
        z.check();
    }

    #[test]
    fn clone_eq_debug_default() {
        let z = set_of(&[("a", 1.0), ("b\n", 2.0), ("z", -0.0)]);
        let mut c = z.clone();
        c.check();
        assert_eq!(c, z);
        c.insert(b"a", 1.5).unwrap();
        assert_ne!(c, z);
        c.insert(b"a", 1.0).unwrap();
        assert_eq!(c, z);
        c.remove(b"a");
        assert_ne!(c, z);
        // Same contents, other insertion order and zero sign: equal.
        let d = set_of(&[("z", 0.0), ("b\n", 2.0), ("a", 1.0)]);
        assert_eq!(d, z);
        assert_eq!(
            format!("{z:?}"),
            "SortedSet {\"z\": -0.0, \"a\": 1.0, \"b\\n\": 2.0}"
        );
        assert_eq!(SortedSet::default(), SortedSet::new());
        let v: Vec<(&[u8], f64)> = (&z).into_iter().collect();
        assert_eq!(v.len(), 3);
        let mut e = z.clone();
        e.clear();
        e.check();
        assert!(e.is_empty());
        e.insert(b"x", 1.0).unwrap();
        e.check();
    }

    #[test]
    fn memory_usage_tracks_contents() {
        let mut z = SortedSet::new();
        let empty = z.memory_usage();
        for i in 0..1000u32 {
            z.insert(format!("member-{i}").as_bytes(), f64::from(i))
                .unwrap();
        }
        let full = z.memory_usage();
        // Between 60 and 300 bytes per element of about 10 bytes.
        assert!(full > empty + 60 * 1000, "{full}");
        assert!(full < empty + 300 * 1000, "{full}");
        z.remove_range_by_rank(0, 989);
        z.check();
        assert_eq!(z.len(), 10);
        // Compaction brought the arena back.
        assert!(z.nodes.len() < 64, "{}", z.nodes.len());
        assert!(z.memory_usage() < full / 10);
        z.shrink_to_fit();
        z.check();
        assert_eq!(z.nodes.len(), 10);
        assert_eq!(z.rank(b"member-999"), Some(9));
    }

    #[test]
    fn compaction_after_single_removals() {
        let mut z = SortedSet::new();
        for i in 0..500u32 {
            z.insert(&i.to_be_bytes(), f64::from(i % 7)).unwrap();
        }
        for i in 0..480u32 {
            assert_eq!(z.remove(&i.to_be_bytes()), Some(f64::from(i % 7)));
            if i % 37 == 0 {
                z.check();
            }
        }
        z.check();
        assert!(z.nodes.len() < 100);
        for i in 480..500u32 {
            assert!(z.rank(&i.to_be_bytes()).is_some());
        }
    }

    #[test]
    fn heights_are_bounded_and_varied() {
        let mut z = SortedSet::new();
        let mut hist = [0usize; MAX_LEVEL + 1];
        for _ in 0..100_000 {
            hist[z.random_height()] += 1;
        }
        assert_eq!(hist[0], 0);
        // About 3/4 of nodes have height 1, 3/16 height 2.
        assert!((70_000..80_000).contains(&hist[1]), "{hist:?}");
        assert!((16_000..21_500).contains(&hist[2]), "{hist:?}");
    }

    #[test]
    fn big_set_rank_queries_are_logarithmic() {
        let n = 200_000usize;
        let mut z = SortedSet::new();
        for i in 0..n {
            // Many ties: scores repeat every 1000 members.
            z.insert(format!("k{i:07}").as_bytes(), (i % 1000) as f64)
                .unwrap();
        }
        assert_eq!(z.len(), n);
        assert!(z.head.len() <= 16, "levels {}", z.head.len());
        let start = std::time::Instant::now();
        for q in 0..5_000usize {
            let i = (q * 7919) % n;
            let m = format!("k{i:07}");
            // Expected rank: by score (i % 1000), then by member.
            let s = i % 1000;
            let expected = s * (n / 1000) + i / 1000;
            assert_eq!(z.rank(m.as_bytes()), Some(expected));
            let (got, score) = z.get_by_rank(expected).unwrap();
            assert_eq!((got, score), (m.as_bytes(), s as f64));
            assert_eq!(
                z.count_in_score_range(incl(s as f64), excl(s as f64 + 1.0)),
                n / 1000
            );
            assert_eq!(z.range_by_rank(expected, expected + 2, false).count(), 3);
        }
        let elapsed = start.elapsed();
        assert!(elapsed.as_secs_f64() < 1.0, "{elapsed:?}");
        assert_eq!(z.remove_range_by_score(incl(0.0), excl(500.0)), n / 2);
        assert_eq!(z.len(), n / 2);
        assert_eq!(z.rank(b"k0000500"), Some(0));
    }

    // ----- model-based property tests -----------------------------------------

    /// The reference model: a vector kept sorted by (score, member).
    #[derive(Default, Debug)]
    struct Model(Vec<(f64, Vec<u8>)>);

    impl Model {
        fn sort(&mut self) {
            self.0
                .sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap().then_with(|| a.1.cmp(&b.1)));
        }

        fn find(&self, m: &[u8]) -> Option<usize> {
            self.0.iter().position(|(_, x)| x == m)
        }

        fn insert(&mut self, m: &[u8], s: f64) -> Inserted {
            match self.find(m) {
                Some(i) if self.0[i].0 == s => Inserted::Unchanged,
                Some(i) => {
                    let old = self.0[i].0;
                    self.0[i].0 = s;
                    self.sort();
                    Inserted::Updated { old }
                }
                None => {
                    self.0.push((s, m.to_vec()));
                    self.sort();
                    Inserted::Added
                }
            }
        }

        fn in_score(min: ScoreBound, max: ScoreBound, s: f64) -> bool {
            min.admits_as_min(s) && max.admits_as_max(s)
        }

        fn in_lex(min: &LexBound, max: &LexBound, m: &[u8]) -> bool {
            min.admits_as_min(m) && max.admits_as_max(m)
        }

        fn window<'a>(
            items: impl DoubleEndedIterator<Item = &'a (f64, Vec<u8>)>,
            reverse: bool,
            offset: usize,
            limit: Option<usize>,
        ) -> Vec<(Vec<u8>, f64)> {
            let v: Vec<(Vec<u8>, f64)> = if reverse {
                items.rev().map(|(s, m)| (m.clone(), *s)).collect()
            } else {
                items.map(|(s, m)| (m.clone(), *s)).collect()
            };
            v.into_iter()
                .skip(offset)
                .take(limit.unwrap_or(usize::MAX))
                .collect()
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(Vec<u8>, f64),
        Incr(Vec<u8>, f64),
        Remove(Vec<u8>),
        RemRank(usize, usize),
        RemScore(ScoreBound, ScoreBound),
        RemLex(LexBound, LexBound),
        PopMin(usize),
        PopMax(usize),
        RangeRank(usize, usize, bool),
        RangeScore(ScoreBound, ScoreBound, bool, usize, Option<usize>),
        RangeLex(LexBound, LexBound, bool, usize, Option<usize>),
        Shrink,
    }

    fn member() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(prop::sample::select(vec![b'a', b'b', b'c']), 0..4)
    }

    fn score() -> impl Strategy<Value = f64> {
        prop_oneof![
            prop::sample::select(vec![
                f64::NEG_INFINITY,
                -1.0,
                -0.0,
                0.0,
                0.5,
                1.0,
                2.0,
                f64::INFINITY
            ]),
            (-4i32..4).prop_map(f64::from),
            (-1e6f64..1e6),
        ]
    }

    fn score_bound() -> impl Strategy<Value = ScoreBound> {
        (score(), any::<bool>()).prop_map(|(value, exclusive)| ScoreBound { value, exclusive })
    }

    fn lex_bound() -> impl Strategy<Value = LexBound> {
        prop_oneof![
            1 => Just(LexBound::NegInf),
            1 => Just(LexBound::PosInf),
            3 => member().prop_map(LexBound::Inclusive),
            3 => member().prop_map(LexBound::Exclusive),
        ]
    }

    fn limit() -> impl Strategy<Value = Option<usize>> {
        prop::option::of(0usize..6)
    }

    /// Operations; with `same_score` every score is `0.0` or `-0.0` and the
    /// lex operations are included.
    fn op(same_score: bool) -> BoxedStrategy<Op> {
        let sc: BoxedStrategy<f64> = if same_score {
            prop::sample::select(vec![0.0, -0.0]).boxed()
        } else {
            score().boxed()
        };
        let common = prop_oneof![
            8 => (member(), sc.clone()).prop_map(|(m, s)| Op::Insert(m, s)),
            2 => (member(), sc.clone()).prop_map(|(m, s)| Op::Incr(m, s)),
            3 => member().prop_map(Op::Remove),
            1 => (0usize..12, 0usize..12).prop_map(|(a, b)| Op::RemRank(a, b)),
            1 => (score_bound(), score_bound()).prop_map(|(a, b)| Op::RemScore(a, b)),
            1 => (0usize..4).prop_map(Op::PopMin),
            1 => (0usize..4).prop_map(Op::PopMax),
            2 => (0usize..15, 0usize..15, any::<bool>()).prop_map(|(a, b, r)| Op::RangeRank(a, b, r)),
            3 => (score_bound(), score_bound(), any::<bool>(), 0usize..5, limit())
                .prop_map(|(a, b, r, o, l)| Op::RangeScore(a, b, r, o, l)),
            1 => Just(Op::Shrink),
        ];
        if same_score {
            prop_oneof![
                6 => common,
                1 => (lex_bound(), lex_bound()).prop_map(|(a, b)| Op::RemLex(a, b)),
                3 => (lex_bound(), lex_bound(), any::<bool>(), 0usize..5, limit())
                    .prop_map(|(a, b, r, o, l)| Op::RangeLex(a, b, r, o, l)),
            ]
            .boxed()
        } else {
            common.boxed()
        }
    }

    fn run(ops: Vec<Op>) {
        let mut z = SortedSet::new();
        let mut model = Model::default();
        for op in ops {
            match op {
                Op::Insert(m, s) => assert_eq!(z.insert(&m, s), Ok(model.insert(&m, s))),
                Op::Incr(m, d) => {
                    let cur = model.find(&m).map(|i| model.0[i].0);
                    let new = cur.map_or(d, |c| c + d);
                    if new.is_nan() {
                        assert_eq!(z.increment(&m, d), Err(NanScore));
                    } else {
                        model.insert(&m, new);
                        let got = z.increment(&m, d).unwrap();
                        assert_eq!(got, new);
                    }
                }
                Op::Remove(m) => {
                    let expected = model.find(&m).map(|i| model.0.remove(i).0);
                    assert_eq!(z.remove(&m), expected);
                }
                Op::RemRank(a, b) => {
                    let n = model.0.len();
                    let expected = if a > b || a >= n {
                        0
                    } else {
                        let e = b.min(n - 1);
                        model.0.drain(a..=e).count()
                    };
                    assert_eq!(z.remove_range_by_rank(a, b), expected);
                }
                Op::RemScore(a, b) => {
                    let before = model.0.len();
                    model.0.retain(|(s, _)| !Model::in_score(a, b, *s));
                    assert_eq!(z.remove_range_by_score(a, b), before - model.0.len());
                }
                Op::RemLex(a, b) => {
                    let before = model.0.len();
                    model.0.retain(|(_, m)| !Model::in_lex(&a, &b, m));
                    assert_eq!(z.remove_range_by_lex(&a, &b), before - model.0.len());
                }
                Op::PopMin(k) => {
                    let k = k.min(model.0.len());
                    let expected: Vec<(Box<[u8]>, f64)> = model
                        .0
                        .drain(..k)
                        .map(|(s, m)| (m.into_boxed_slice(), s))
                        .collect();
                    assert_eq!(z.pop_min(k), expected);
                }
                Op::PopMax(k) => {
                    let n = model.0.len();
                    let k = k.min(n);
                    let expected: Vec<(Box<[u8]>, f64)> = model
                        .0
                        .drain(n - k..)
                        .rev()
                        .map(|(s, m)| (m.into_boxed_slice(), s))
                        .collect();
                    assert_eq!(z.pop_max(k), expected);
                }
                Op::RangeRank(a, b, rev) => {
                    let n = model.0.len();
                    let expected: Vec<(Vec<u8>, f64)> = if a > b || a >= n {
                        Vec::new()
                    } else {
                        let seq: Vec<(Vec<u8>, f64)> = Model::window(model.0.iter(), rev, 0, None);
                        seq[a..=b.min(n - 1)].to_vec()
                    };
                    let got = z.range_by_rank(a, b, rev);
                    assert_eq!(got.len(), expected.len());
                    assert_eq!(collect(got), expected);
                    // Reading it backwards gives the reverse.
                    let mut back: Vec<(Vec<u8>, f64)> = z
                        .range_by_rank(a, b, rev)
                        .rev()
                        .map(|(m, s)| (m.to_vec(), s))
                        .collect();
                    back.reverse();
                    assert_eq!(back, expected);
                }
                Op::RangeScore(a, b, rev, off, lim) => {
                    let items = model.0.iter().filter(|(s, _)| Model::in_score(a, b, *s));
                    let total = items.clone().count();
                    let expected = Model::window(items, rev, off, lim);
                    assert_eq!(collect(z.range_by_score(a, b, rev, off, lim)), expected);
                    assert_eq!(z.count_in_score_range(a, b), total);
                }
                Op::RangeLex(a, b, rev, off, lim) => {
                    let items = model.0.iter().filter(|(_, m)| Model::in_lex(&a, &b, m));
                    let total = items.clone().count();
                    let expected = Model::window(items, rev, off, lim);
                    assert_eq!(collect(z.range_by_lex(&a, &b, rev, off, lim)), expected);
                    assert_eq!(z.count_in_lex_range(&a, &b), total);
                }
                Op::Shrink => z.shrink_to_fit(),
            }
            // Full comparison after every operation.
            z.check();
            let n = model.0.len();
            assert_eq!(z.len(), n);
            assert_eq!(z.is_empty(), n == 0);
            let expected: Vec<(Vec<u8>, f64)> =
                model.0.iter().map(|(s, m)| (m.clone(), *s)).collect();
            assert_eq!(collect(z.iter()), expected);
            for (i, (s, m)) in model.0.iter().enumerate() {
                assert_eq!(z.score(m).map(f64::to_bits), Some(s.to_bits()));
                assert_eq!(z.rank(m), Some(i));
                assert_eq!(z.rev_rank(m), Some(n - 1 - i));
                assert_eq!(z.get_by_rank(i), Some((m.as_slice(), *s)));
            }
            assert_eq!(z.get_by_rank(n), None);
            assert_eq!(
                z.first().map(|(m, _)| m.to_vec()),
                model.0.first().map(|x| x.1.clone())
            );
            assert_eq!(
                z.last().map(|(m, _)| m.to_vec()),
                model.0.last().map(|x| x.1.clone())
            );
        }
        // A clone is equal, and stays consistent.
        let c = z.clone();
        c.check();
        assert_eq!(c, z);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn matches_model(ops in prop::collection::vec(op(false), 1..120)) {
            run(ops);
        }

        #[test]
        fn matches_model_lex(ops in prop::collection::vec(op(true), 1..120)) {
            run(ops);
        }
    }
}
