//! `Dict`: the chained hash table behind the keyspace, in the style of Redis'
//! `dict.c` (re-implemented in safe Rust, no code shared).
//!
//! # Layout
//!
//! A `Dict` owns two tables of buckets. Every bucket is a singly linked chain
//! of boxed nodes (`Vec<Link>`, where a `Link` wraps `Option<Box<Node>>`).
//! Table sizes are powers of two and an entry with hash `h` lives in bucket
//! `h & (size - 1)` of whichever table holds it.
//!
//! Normally only table 0 is in use. A resize allocates table 1 at the new
//! size and then moves the old buckets over **incrementally**: every mutating
//! call (`insert`, `get_or_insert_with`, `remove`, `remove_entry`, `get_mut`)
//! first moves one bucket (skipping at most 10 empty ones), and an owner can
//! do background work with [`Dict::rehash_step`]. While rehashing, lookups
//! probe both tables (table 0 is skipped when the probed bucket has already
//! been moved), new entries go into table 1, and once table 0 is empty table
//! 1 takes its place. No single call ever pays for a whole resize.
//!
//! # Resize policy
//!
//! * Grow when an insertion brings `len` to the size of table 0 (load
//!   factor 1): the new size is the next power of two `>= 2 * len`. The first
//!   insertion allocates 4 buckets.
//! * Shrink after a removal (or `retain`) leaves table 0 less than 1/8 full
//!   and bigger than 4 buckets: the new size is the smallest power of two
//!   `>= len` (at least 4). [`Dict::shrink_to_fit`] starts such a shrink on
//!   demand (and frees everything when the dict is empty).
//! * No new resize starts while one is in progress (as in Redis); the rehash
//!   finishes quickly because every mutation moves at least one bucket.
//!
//! # Stored hashes (measured choice)
//!
//! Each node stores its 64-bit hash. This costs 8 bytes per entry but means
//! that (a) rehashing never calls the hasher again, so moving a bucket is a
//! few pointer writes, and scanning/sampling/rehashing need no `Hash` bound;
//! (b) a chain walk compares hashes first and calls `Eq` only on a real
//! match, so a lookup computes exactly one hash and (almost always) does at
//! most one key comparison. Measured against a variant that compares keys
//! directly and re-hashes on every move (16-byte `Vec<u8>` keys, SipHash
//! `RandomState`, 100k and 1M entries, release build, best of 7): inserting
//! (which carries all the rehash work) was 7-30% (typically ~20%) faster with stored hashes;
//! hit and miss lookups and removals were equal within noise.
//!
//! # SCAN
//!
//! [`Dict::scan`] uses Redis' reverse-binary cursor: it increments the
//! *reversed* cursor, so the cursor walks the high bits of the bucket index
//! first. Because sizes are powers of two, a bucket of a small table expands
//! to a fixed set of buckets in a larger table and vice versa, so a cursor
//! stays meaningful across grows, shrinks and rehash steps. While rehashing,
//! one call visits a bucket of the smaller table plus all buckets of the
//! larger table that expand from it. Guarantee: an entry present for the
//! whole scan is returned at least once; entries may be returned more than
//! once if the table shrinks in between.
//!
//! # Random sampling
//!
//! [`Dict::random_entry`] picks a uniformly random live bucket (of both
//! tables while rehashing) and then a position `j` uniform in
//! `0..max(chain_len, 4)`; if `j` falls past the end of the chain it retries.
//! This is exactly uniform over entries as long as no chain is longer than 4
//! (with a decent hash that is rare at load factor <= 1); an entry in a chain
//! of length `L > 4` is picked with relative weight `4 / L`. After 128 failed
//! tries (very sparse table) it falls back to the first non-empty bucket after
//! a random point, which favours buckets that follow long empty runs.
//!
//! [`Dict::sample`] is the cheap bulk sampler used for eviction and active
//! expiry (like `dictGetSomeKeys`): it walks consecutive buckets from a random
//! point, visiting at most `10 * count` buckets (and never the same bucket
//! twice), so returned entries are distinct but correlated (neighbouring
//! buckets); it may return fewer than `count` entries in a sparse table.
//!
//! # Other notes
//!
//! * Redis pauses rehashing while "safe" iterators exist; here the borrow
//!   checker already forbids mutation while an iterator or scan call is live.
//! * Chains are dropped iteratively (`Link` has a looping `Drop`), so even a
//!   million-entry chain (a degenerate hasher) cannot overflow the stack;
//!   `Clone` copies chains with a loop as well.
//! * [`Dict::get_or_insert_with`] moves an existing entry to the front of its
//!   chain (cheaper than a second walk in safe Rust, and harmless).
//! * Bucket arrays are filled slot by slot (no `calloc` in safe Rust), so
//!   starting a resize costs one linear pass over the new array; moving the
//!   entries is what is spread over later calls.

use std::borrow::Borrow;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::iter::{Chain, FusedIterator};
use std::marker::PhantomData;
use std::mem;
use std::slice;
use std::vec;

/// Buckets allocated by the first insertion; also the minimum after shrinking.
const INITIAL_SIZE: usize = 4;
/// Shrink when `len * SHRINK_RATIO < buckets`, i.e. fill below 1/8.
const SHRINK_RATIO: usize = 8;
/// Empty buckets a rehash step may skip per bucket it is asked to move.
const EMPTY_VISITS_PER_STEP: usize = 10;
/// Chains up to this length are sampled exactly uniformly by `random_entry`.
const FAIR_CHAIN_BOUND: usize = 4;
/// Rejection-sampling rounds in `random_entry` before the linear fallback.
const RANDOM_TRIES: usize = 128;
/// `sample(count)` visits at most `count * SAMPLE_VISITS_PER_ENTRY` buckets.
const SAMPLE_VISITS_PER_ENTRY: usize = 10;

struct Node<K, V> {
    hash: u64,
    next: Link<K, V>,
    key: K,
    value: V,
}

/// One chain link. Its `Drop` unlinks the chain in a loop, so dropping any
/// chain (bucket arrays, iterators, clones) never recurses.
struct Link<K, V>(Option<Box<Node<K, V>>>);

impl<K, V> Default for Link<K, V> {
    #[inline]
    fn default() -> Self {
        Link(None)
    }
}

impl<K, V> Drop for Link<K, V> {
    fn drop(&mut self) {
        let mut cur = self.0.take();
        while let Some(mut node) = cur {
            cur = node.next.0.take();
            // `node` drops here with an empty `next`: no recursion.
        }
    }
}

impl<K, V> Link<K, V> {
    #[inline]
    fn head(&self) -> Option<&Node<K, V>> {
        self.0.as_deref()
    }
}

/// Walks a chain for `k`, comparing stored hashes before keys.
#[inline]
fn chain_find<'a, K, V, Q>(
    mut cur: Option<&'a Node<K, V>>,
    hash: u64,
    k: &Q,
) -> Option<&'a Node<K, V>>
where
    K: Borrow<Q>,
    Q: Eq + ?Sized,
{
    while let Some(n) = cur {
        if n.hash == hash && n.key.borrow() == k {
            return Some(n);
        }
        cur = n.next.head();
    }
    None
}

#[inline]
fn chain_find_mut<'a, K, V, Q>(
    mut cur: Option<&'a mut Node<K, V>>,
    hash: u64,
    k: &Q,
) -> Option<&'a mut Node<K, V>>
where
    K: Borrow<Q>,
    Q: Eq + ?Sized,
{
    while let Some(n) = cur {
        if n.hash == hash && n.key.borrow() == k {
            return Some(n);
        }
        cur = n.next.0.as_deref_mut();
    }
    None
}

/// Unlinks the node holding `k` from the chain starting at `slot`.
#[inline]
fn chain_unlink<K, V, Q>(slot: &mut Link<K, V>, hash: u64, k: &Q) -> Option<Box<Node<K, V>>>
where
    K: Borrow<Q>,
    Q: Eq + ?Sized,
{
    let mut cur = slot;
    while cur
        .0
        .as_ref()
        .is_some_and(|n| !(n.hash == hash && n.key.borrow() == k))
    {
        cur = &mut cur.0.as_mut()?.next;
    }
    let mut node = cur.0.take()?;
    cur.0 = node.next.0.take();
    Some(node)
}

#[inline]
fn chain_len<K, V>(first: &Node<K, V>) -> usize {
    let mut n = 1;
    let mut cur = first.next.head();
    while let Some(node) = cur {
        n += 1;
        cur = node.next.head();
    }
    n
}

#[inline]
fn chain_nth<K, V>(first: &Node<K, V>, j: usize) -> &Node<K, V> {
    let mut node = first;
    for _ in 0..j {
        match node.next.head() {
            Some(next) => node = next,
            None => break,
        }
    }
    node
}

/// Iterative, order-preserving copy of a chain.
fn clone_chain<K: Clone, V: Clone>(link: &Link<K, V>) -> Link<K, V> {
    let mut head = Link(None);
    let mut tail = &mut head;
    let mut cur = link.head();
    while let Some(n) = cur {
        let node = Box::new(Node {
            hash: n.hash,
            next: Link(None),
            key: n.key.clone(),
            value: n.value.clone(),
        });
        tail = &mut tail.0.insert(node).next;
        cur = n.next.head();
    }
    head
}

/// Uniform-ish integer in `0..n` (`n > 0`) by multiply-shift.
#[inline]
fn rand_below(rng: &mut impl FnMut() -> u64, n: usize) -> usize {
    ((u128::from(rng()) * n as u128) >> 64) as usize
}

/// Redis' reverse-binary cursor increment over the bits of `mask`.
#[inline]
fn next_cursor(v: u64, mask: u64) -> u64 {
    (v | !mask).reverse_bits().wrapping_add(1).reverse_bits()
}

/// Smallest power of two `>= n` (saturating at the largest one).
#[inline]
fn pow2_at_least(n: usize) -> usize {
    n.checked_next_power_of_two()
        .unwrap_or(1 << (usize::BITS - 1))
}

/// Bucket slices of table 0 (from the rehash index) and table 1.
type LiveBuckets<'a, K, V> = (&'a [Link<K, V>], &'a [Link<K, V>]);
/// A node taken out of its chain, with the (table, bucket) it came from.
type Unlinked<K, V> = (usize, usize, Box<Node<K, V>>);
type BucketIter<'a, K, V> = Chain<slice::Iter<'a, Link<K, V>>, slice::Iter<'a, Link<K, V>>>;
type BucketIterMut<'a, K, V> =
    Chain<slice::IterMut<'a, Link<K, V>>, slice::IterMut<'a, Link<K, V>>>;
type BucketIntoIter<K, V> = Chain<vec::IntoIter<Link<K, V>>, vec::IntoIter<Link<K, V>>>;

struct Table<K, V> {
    buckets: Vec<Link<K, V>>,
    used: usize,
}

impl<K, V> Default for Table<K, V> {
    fn default() -> Self {
        Table {
            buckets: Vec::new(),
            used: 0,
        }
    }
}

impl<K, V> Table<K, V> {
    fn with_size(size: usize) -> Self {
        debug_assert!(size.is_power_of_two());
        let mut buckets = Vec::with_capacity(size);
        buckets.resize_with(size, Link::default);
        Table { buckets, used: 0 }
    }

    /// Bucket index of `hash`; the table must be allocated.
    #[inline]
    fn index(&self, hash: u64) -> usize {
        (hash as usize) & (self.buckets.len().wrapping_sub(1))
    }

    #[inline]
    fn mask(&self) -> u64 {
        (self.buckets.len() as u64).wrapping_sub(1)
    }

    fn clone_table(&self) -> Self
    where
        K: Clone,
        V: Clone,
    {
        Table {
            buckets: self.buckets.iter().map(clone_chain).collect(),
            used: self.used,
        }
    }
}

/// A chained hash map with incremental rehashing, a Redis-compatible SCAN
/// cursor and random sampling. See the [module documentation](self).
pub struct Dict<K, V, S = RandomState> {
    /// `tables[1]` is allocated only while rehashing.
    tables: [Table<K, V>; 2],
    /// `Some(i)` while rehashing: buckets `..i` of table 0 are already moved.
    rehash_idx: Option<usize>,
    hash_builder: S,
}

impl<K, V> Dict<K, V, RandomState> {
    /// Creates an empty dict. Allocates nothing until the first insertion.
    #[inline]
    pub fn new() -> Self {
        Self::with_hasher(RandomState::new())
    }

    /// Creates an empty dict that holds `capacity` entries without resizing.
    pub fn with_capacity(capacity: usize) -> Self {
        Self::with_capacity_and_hasher(capacity, RandomState::new())
    }
}

impl<K, V, S> Dict<K, V, S> {
    /// Creates an empty dict using `hash_builder` to hash keys.
    #[inline]
    pub fn with_hasher(hash_builder: S) -> Self {
        Dict {
            tables: [Table::default(), Table::default()],
            rehash_idx: None,
            hash_builder,
        }
    }

    /// Creates an empty dict that holds `capacity` entries without resizing.
    pub fn with_capacity_and_hasher(capacity: usize, hash_builder: S) -> Self {
        let mut d = Self::with_hasher(hash_builder);
        if capacity > 0 {
            d.tables[0] = Table::with_size(Self::capacity_size(capacity));
        }
        d
    }

    /// Table size that holds `n` entries without triggering growth.
    fn capacity_size(n: usize) -> usize {
        pow2_at_least(n.saturating_add(1)).max(INITIAL_SIZE)
    }

    /// The hasher builder.
    #[inline]
    pub fn hasher(&self) -> &S {
        &self.hash_builder
    }

    /// Number of entries.
    #[inline]
    pub fn len(&self) -> usize {
        self.tables[0].used + self.tables[1].used
    }

    /// True if the dict holds no entries.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total number of buckets allocated, both tables together.
    #[inline]
    pub fn buckets(&self) -> usize {
        self.tables[0].buckets.len() + self.tables[1].buckets.len()
    }

    /// True while an incremental resize is in progress.
    #[inline]
    pub fn is_rehashing(&self) -> bool {
        self.rehash_idx.is_some()
    }

    /// Bytes used by the table structure itself: both bucket arrays plus one
    /// node allocation per entry. Add the heap size of keys and values.
    pub fn memory_usage(&self) -> usize {
        let slots = self.tables[0].buckets.capacity() + self.tables[1].buckets.capacity();
        slots * mem::size_of::<Link<K, V>>() + self.len() * mem::size_of::<Node<K, V>>()
    }

    /// Does up to `buckets` steps of incremental rehashing: each step moves
    /// one non-empty bucket, and at most `10 * buckets` empty buckets are
    /// skipped in all. Returns true while rehashing is still in progress.
    pub fn rehash_step(&mut self, buckets: usize) -> bool {
        self.rehash(buckets)
    }

    fn rehash(&mut self, steps: usize) -> bool {
        let Some(mut idx) = self.rehash_idx else {
            return false;
        };
        let mut empty_visits = steps.saturating_mul(EMPTY_VISITS_PER_STEP);
        let mut steps = steps;
        let [t0, t1] = &mut self.tables;
        while steps > 0 && t0.used > 0 {
            // Entries remain at indices >= idx, so this stays in bounds.
            while t0.buckets[idx].0.is_none() {
                idx += 1;
                empty_visits -= 1;
                if empty_visits == 0 {
                    self.rehash_idx = Some(idx);
                    return true;
                }
            }
            let mut chain = t0.buckets[idx].0.take();
            while let Some(mut node) = chain {
                chain = node.next.0.take();
                let i = t1.index(node.hash);
                let slot = &mut t1.buckets[i];
                node.next.0 = slot.0.take();
                slot.0 = Some(node);
                t0.used -= 1;
                t1.used += 1;
            }
            idx += 1;
            steps -= 1;
        }
        if t0.used > 0 {
            self.rehash_idx = Some(idx);
            return true;
        }
        self.tables[0] = mem::take(&mut self.tables[1]);
        self.rehash_idx = None;
        false
    }

    /// The step every mutating operation performs while rehashing.
    #[inline]
    fn rehash_on_write(&mut self) {
        if self.rehash_idx.is_some() {
            self.rehash(1);
        }
    }

    /// Starts a resize of table 0 to `size` buckets (not while rehashing).
    fn resize_to(&mut self, size: usize) {
        debug_assert!(self.rehash_idx.is_none());
        if size == self.tables[0].buckets.len() {
            return;
        }
        let table = Table::with_size(size);
        if self.tables[0].used == 0 {
            self.tables[0] = table;
        } else {
            self.tables[1] = table;
            self.rehash_idx = Some(0);
        }
    }

    /// Makes room for one more entry: allocates the first table, or starts
    /// growing when the new entry brings `len` to the bucket count.
    #[inline]
    fn grow_for_insert(&mut self) {
        if self.rehash_idx.is_some() {
            return;
        }
        let size = self.tables[0].buckets.len();
        if size == 0 {
            self.tables[0] = Table::with_size(INITIAL_SIZE);
            return;
        }
        let new_len = self.tables[0].used + 1;
        if new_len >= size {
            self.resize_to(pow2_at_least(new_len.saturating_mul(2)));
        }
    }

    /// Starts shrinking when table 0 is less than 1/8 full.
    #[inline]
    fn shrink_if_needed(&mut self) {
        if self.rehash_idx.is_some() {
            return;
        }
        let size = self.tables[0].buckets.len();
        let len = self.tables[0].used;
        if size > INITIAL_SIZE && len.saturating_mul(SHRINK_RATIO) < size {
            self.resize_to(pow2_at_least(len).max(INITIAL_SIZE));
        }
    }

    /// Starts shrinking table 0 to the smallest power of two `>= len` (at
    /// least 4) if that is smaller than now, or frees all buckets if the dict
    /// is empty. Does nothing while a resize is in progress.
    pub fn shrink_to_fit(&mut self) {
        if self.rehash_idx.is_some() {
            return;
        }
        if self.is_empty() {
            self.tables = Default::default();
            return;
        }
        let target = pow2_at_least(self.len()).max(INITIAL_SIZE);
        if target < self.tables[0].buckets.len() {
            self.resize_to(target);
        }
    }

    /// Makes sure `additional` more entries fit without growing. Starts a
    /// (incremental) resize if needed; does nothing while one is running.
    pub fn reserve(&mut self, additional: usize) {
        if self.rehash_idx.is_some() || additional == 0 {
            return;
        }
        let target = Self::capacity_size(self.len().saturating_add(additional));
        if target > self.tables[0].buckets.len() {
            self.resize_to(target);
        }
    }

    /// Removes all entries and frees the bucket arrays.
    pub fn clear(&mut self) {
        self.tables = Default::default();
        self.rehash_idx = None;
    }

    /// Keeps only the entries for which `f` returns true. May start a shrink.
    pub fn retain(&mut self, mut f: impl FnMut(&K, &mut V) -> bool) {
        for table in &mut self.tables {
            let Table { buckets, used } = table;
            for slot in buckets.iter_mut() {
                let mut cur = slot;
                loop {
                    let keep = match cur.0.as_deref_mut() {
                        None => break,
                        Some(n) => f(&n.key, &mut n.value),
                    };
                    if keep {
                        cur = match cur.0.as_mut() {
                            Some(n) => &mut n.next,
                            None => break,
                        };
                    } else if let Some(mut n) = cur.0.take() {
                        cur.0 = n.next.0.take();
                        *used -= 1;
                    }
                }
            }
        }
        self.rehash(0); // finishes a rehash whose table 0 just emptied
        self.shrink_if_needed();
    }

    /// Iterates over all entries, in no particular order.
    pub fn iter(&self) -> Iter<'_, K, V> {
        let start = self.rehash_idx.unwrap_or(0);
        Iter {
            buckets: self.tables[0].buckets[start..]
                .iter()
                .chain(self.tables[1].buckets.iter()),
            cur: None,
            remaining: self.len(),
        }
    }

    /// Iterates over all entries with mutable values.
    pub fn iter_mut(&mut self) -> IterMut<'_, K, V> {
        let remaining = self.len();
        let start = self.rehash_idx.unwrap_or(0);
        let [t0, t1] = &mut self.tables;
        IterMut {
            buckets: t0.buckets[start..].iter_mut().chain(t1.buckets.iter_mut()),
            cur: None,
            remaining,
        }
    }

    /// Iterates over all keys.
    pub fn keys(&self) -> Keys<'_, K, V> {
        Keys { inner: self.iter() }
    }

    /// Iterates over all values.
    pub fn values(&self) -> Values<'_, K, V> {
        Values { inner: self.iter() }
    }

    /// Iterates over all values, mutably.
    pub fn values_mut(&mut self) -> ValuesMut<'_, K, V> {
        ValuesMut {
            inner: self.iter_mut(),
        }
    }

    /// Removes all entries, returning them as an iterator. The dict is empty
    /// (with no buckets) as soon as this returns, even if the iterator is
    /// dropped early.
    pub fn drain(&mut self) -> Drain<'_, K, V> {
        let len = self.len();
        let tables = mem::take(&mut self.tables);
        self.rehash_idx = None;
        Drain {
            inner: IntoIter::from_tables(tables, len),
            _dict: PhantomData,
        }
    }

    /// One SCAN step: calls `f` for the entries of the bucket(s) at `cursor`
    /// and returns the next cursor, 0 when the iteration is complete. Start
    /// with cursor 0. Every entry present during the whole iteration is
    /// visited at least once, however the dict is resized or rehashed between
    /// calls; entries may be visited more than once.
    pub fn scan(&self, cursor: u64, mut f: impl FnMut(&K, &V)) -> u64 {
        if self.is_empty() {
            return 0;
        }
        let mut emit = |link: &Link<K, V>| {
            let mut cur = link.head();
            while let Some(n) = cur {
                f(&n.key, &n.value);
                cur = n.next.head();
            }
        };
        let mut v = cursor;
        if self.rehash_idx.is_none() {
            let t = &self.tables[0];
            let m0 = t.mask();
            emit(&t.buckets[(v & m0) as usize]);
            return next_cursor(v, m0);
        }
        let [a, b] = &self.tables;
        let (small, large) = if a.buckets.len() <= b.buckets.len() {
            (a, b)
        } else {
            (b, a)
        };
        let (m0, m1) = (small.mask(), large.mask());
        emit(&small.buckets[(v & m0) as usize]);
        loop {
            emit(&large.buckets[(v & m1) as usize]);
            v = next_cursor(v, m1);
            if v & (m0 ^ m1) == 0 {
                return v;
            }
        }
    }

    /// The buckets that may hold entries: table 0 from the rehash index on,
    /// then table 1.
    #[inline]
    fn live_buckets(&self) -> LiveBuckets<'_, K, V> {
        let start = self.rehash_idx.unwrap_or(0);
        (
            &self.tables[0].buckets[start..],
            &self.tables[1].buckets[..],
        )
    }

    /// A random entry, `None` if empty. `rng` must return uniform `u64`s.
    ///
    /// Exactly uniform when no chain is longer than 4; an entry in a longer
    /// chain of length `L` has relative weight `4 / L` (see module docs).
    pub fn random_entry(&self, rng: &mut impl FnMut() -> u64) -> Option<(&K, &V)> {
        if self.is_empty() {
            return None;
        }
        let (a, b) = self.live_buckets();
        let n = a.len() + b.len();
        let at = |p: usize| if p < a.len() { &a[p] } else { &b[p - a.len()] };
        for _ in 0..RANDOM_TRIES {
            let Some(first) = at(rand_below(rng, n)).head() else {
                continue;
            };
            let len = chain_len(first);
            let j = rand_below(rng, len.max(FAIR_CHAIN_BOUND));
            if j < len {
                let node = chain_nth(first, j);
                return Some((&node.key, &node.value));
            }
        }
        let start = rand_below(rng, n);
        for off in 0..n {
            let mut p = start + off;
            if p >= n {
                p -= n;
            }
            if let Some(first) = at(p).head() {
                let node = chain_nth(first, rand_below(rng, chain_len(first)));
                return Some((&node.key, &node.value));
            }
        }
        None
    }

    /// Up to `count` distinct entries from consecutive buckets after a random
    /// starting point, visiting at most `10 * count` buckets (like Redis'
    /// `dictGetSomeKeys`). Cheap, but not a uniform sample; may return fewer
    /// than `count` entries (all of them if `count >= len` and `10 * count`
    /// covers every bucket).
    pub fn sample(&self, count: usize, rng: &mut impl FnMut() -> u64) -> Vec<(&K, &V)> {
        let want = count.min(self.len());
        let mut out = Vec::with_capacity(want);
        if want == 0 {
            return out;
        }
        let (a, b) = self.live_buckets();
        let n = a.len() + b.len();
        let visits = n.min(want.saturating_mul(SAMPLE_VISITS_PER_ENTRY));
        let mut p = rand_below(rng, n);
        for _ in 0..visits {
            let link = if p < a.len() { &a[p] } else { &b[p - a.len()] };
            let mut cur = link.head();
            while let Some(node) = cur {
                out.push((&node.key, &node.value));
                if out.len() == want {
                    return out;
                }
                cur = node.next.head();
            }
            p += 1;
            if p == n {
                p = 0;
            }
        }
        out
    }
}

impl<K, V, S> Dict<K, V, S>
where
    K: Eq + Hash,
    S: BuildHasher,
{
    #[inline]
    fn hash_of<Q: Hash + ?Sized>(&self, k: &Q) -> u64 {
        self.hash_builder.hash_one(k)
    }

    #[inline]
    fn find<Q>(&self, hash: u64, k: &Q) -> Option<&Node<K, V>>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let t0 = &self.tables[0];
        if t0.buckets.is_empty() {
            return None;
        }
        let i0 = t0.index(hash);
        match self.rehash_idx {
            None => chain_find(t0.buckets[i0].head(), hash, k),
            Some(r) => {
                if i0 >= r {
                    if let Some(n) = chain_find(t0.buckets[i0].head(), hash, k) {
                        return Some(n);
                    }
                }
                let t1 = &self.tables[1];
                chain_find(t1.buckets[t1.index(hash)].head(), hash, k)
            }
        }
    }

    #[inline]
    fn find_mut<Q>(&mut self, hash: u64, k: &Q) -> Option<&mut Node<K, V>>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let rehash = self.rehash_idx;
        let [t0, t1] = &mut self.tables;
        if t0.buckets.is_empty() {
            return None;
        }
        let i0 = t0.index(hash);
        if rehash.map_or(true, |r| i0 >= r) {
            if let Some(n) = chain_find_mut(t0.buckets[i0].0.as_deref_mut(), hash, k) {
                return Some(n);
            }
        }
        rehash?;
        let i1 = t1.index(hash);
        chain_find_mut(t1.buckets[i1].0.as_deref_mut(), hash, k)
    }

    /// Unlinks the node holding `k`; returns it with its (table, bucket).
    #[inline]
    fn unlink<Q>(&mut self, hash: u64, k: &Q) -> Option<Unlinked<K, V>>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let rehash = self.rehash_idx;
        for (t, table) in self.tables.iter_mut().enumerate() {
            if table.buckets.is_empty() {
                return None;
            }
            let i = table.index(hash);
            // Buckets of table 0 below the rehash index are empty.
            if t == 1 || rehash.map_or(true, |r| i >= r) {
                if let Some(node) = chain_unlink(&mut table.buckets[i], hash, k) {
                    table.used -= 1;
                    return Some((t, i, node));
                }
            }
            rehash?;
        }
        None
    }

    /// Links a new node (key known to be absent) and returns its value.
    #[inline]
    fn insert_new(&mut self, hash: u64, key: K, value: V) -> &mut V {
        self.grow_for_insert();
        let table = &mut self.tables[usize::from(self.rehash_idx.is_some())];
        table.used += 1;
        let i = table.index(hash);
        let slot = &mut table.buckets[i];
        let next = Link(slot.0.take());
        let node = Box::new(Node {
            hash,
            next,
            key,
            value,
        });
        &mut slot.0.insert(node).value
    }

    /// The value for `k`.
    #[inline]
    pub fn get<Q>(&self, k: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get_key_value(k).map(|(_, v)| v)
    }

    /// The stored key and the value for `k`.
    #[inline]
    pub fn get_key_value<Q>(&self, k: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if self.is_empty() {
            return None;
        }
        self.find(self.hash_of(k), k).map(|n| (&n.key, &n.value))
    }

    /// True if `k` is present.
    #[inline]
    pub fn contains_key<Q>(&self, k: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get_key_value(k).is_some()
    }

    /// The value for `k`, mutably. Does a rehash step while rehashing.
    #[inline]
    pub fn get_mut<Q>(&mut self, k: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if self.is_empty() {
            return None;
        }
        let hash = self.hash_of(k);
        self.rehash_on_write();
        self.find_mut(hash, k).map(|n| &mut n.value)
    }

    /// Inserts `v` under `k`. If `k` was present, replaces the value (the
    /// original key is kept) and returns the old value.
    #[inline]
    pub fn insert(&mut self, k: K, v: V) -> Option<V> {
        let hash = self.hash_of(&k);
        self.rehash_on_write();
        if let Some(n) = self.find_mut(hash, &k) {
            return Some(mem::replace(&mut n.value, v));
        }
        self.insert_new(hash, k, v);
        None
    }

    /// The value for `k`, inserting `f()` first if `k` is absent (`f` is not
    /// called when present; `k` is dropped then).
    pub fn get_or_insert_with(&mut self, k: K, f: impl FnOnce() -> V) -> &mut V {
        let hash = self.hash_of(&k);
        self.rehash_on_write();
        if let Some((t, i, mut node)) = self.unlink(hash, &k) {
            // Relink at the head of its chain: in safe Rust this is cheaper
            // than returning a borrow found by a walk (a second walk).
            let table = &mut self.tables[t];
            table.used += 1;
            let slot = &mut table.buckets[i];
            node.next.0 = slot.0.take();
            return &mut slot.0.insert(node).value;
        }
        self.insert_new(hash, k, f())
    }

    /// Removes `k`, returning its value. May start a shrink.
    #[inline]
    pub fn remove<Q>(&mut self, k: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.remove_entry(k).map(|(_, v)| v)
    }

    /// Removes `k`, returning the stored key and value. May start a shrink.
    pub fn remove_entry<Q>(&mut self, k: &Q) -> Option<(K, V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if self.is_empty() {
            return None;
        }
        let hash = self.hash_of(k);
        self.rehash_on_write();
        let (_, _, node) = self.unlink(hash, k)?;
        self.rehash(0); // finishes a rehash whose table 0 just emptied
        self.shrink_if_needed();
        let Node { key, value, .. } = *node;
        Some((key, value))
    }
}

impl<K, V, S: Default> Default for Dict<K, V, S> {
    fn default() -> Self {
        Self::with_hasher(S::default())
    }
}

impl<K: fmt::Debug, V: fmt::Debug, S> fmt::Debug for Dict<K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Clone, V: Clone, S: Clone> Clone for Dict<K, V, S> {
    fn clone(&self) -> Self {
        Dict {
            tables: [self.tables[0].clone_table(), self.tables[1].clone_table()],
            rehash_idx: self.rehash_idx,
            hash_builder: self.hash_builder.clone(),
        }
    }
}

impl<K, V, S> PartialEq for Dict<K, V, S>
where
    K: Eq + Hash,
    V: PartialEq,
    S: BuildHasher,
{
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl<K: Eq + Hash, V: Eq, S: BuildHasher> Eq for Dict<K, V, S> {}

impl<K, V, S> Extend<(K, V)> for Dict<K, V, S>
where
    K: Eq + Hash,
    S: BuildHasher,
{
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        let iter = iter.into_iter();
        self.reserve(iter.size_hint().0);
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl<K, V, S> FromIterator<(K, V)> for Dict<K, V, S>
where
    K: Eq + Hash,
    S: BuildHasher + Default,
{
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut d = Self::default();
        d.extend(iter);
        d
    }
}

impl<K, V, S> IntoIterator for Dict<K, V, S> {
    type Item = (K, V);
    type IntoIter = IntoIter<K, V>;

    fn into_iter(self) -> IntoIter<K, V> {
        let len = self.len();
        IntoIter::from_tables(self.tables, len)
    }
}

impl<'a, K, V, S> IntoIterator for &'a Dict<K, V, S> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;

    fn into_iter(self) -> Iter<'a, K, V> {
        self.iter()
    }
}

impl<'a, K, V, S> IntoIterator for &'a mut Dict<K, V, S> {
    type Item = (&'a K, &'a mut V);
    type IntoIter = IterMut<'a, K, V>;

    fn into_iter(self) -> IterMut<'a, K, V> {
        self.iter_mut()
    }
}

/// Iterator over `(&K, &V)`, from [`Dict::iter`].
pub struct Iter<'a, K, V> {
    buckets: BucketIter<'a, K, V>,
    cur: Option<&'a Node<K, V>>,
    remaining: usize,
}

impl<K, V> Clone for Iter<'_, K, V> {
    fn clone(&self) -> Self {
        Iter {
            buckets: self.buckets.clone(),
            cur: self.cur,
            remaining: self.remaining,
        }
    }
}

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(n) = self.cur {
                self.cur = n.next.head();
                self.remaining -= 1;
                return Some((&n.key, &n.value));
            }
            if self.remaining == 0 {
                return None;
            }
            self.cur = self.buckets.next()?.head();
        }
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<K, V> ExactSizeIterator for Iter<'_, K, V> {}
impl<K, V> FusedIterator for Iter<'_, K, V> {}

/// Iterator over `(&K, &mut V)`, from [`Dict::iter_mut`].
pub struct IterMut<'a, K, V> {
    buckets: BucketIterMut<'a, K, V>,
    cur: Option<&'a mut Node<K, V>>,
    remaining: usize,
}

impl<'a, K, V> Iterator for IterMut<'a, K, V> {
    type Item = (&'a K, &'a mut V);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(n) = self.cur.take() {
                let Node {
                    key, value, next, ..
                } = n;
                self.cur = next.0.as_deref_mut();
                self.remaining -= 1;
                return Some((key, value));
            }
            if self.remaining == 0 {
                return None;
            }
            self.cur = self.buckets.next()?.0.as_deref_mut();
        }
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<K, V> ExactSizeIterator for IterMut<'_, K, V> {}
impl<K, V> FusedIterator for IterMut<'_, K, V> {}

/// Iterator over keys, from [`Dict::keys`].
pub struct Keys<'a, K, V> {
    inner: Iter<'a, K, V>,
}

impl<K, V> Clone for Keys<'_, K, V> {
    fn clone(&self) -> Self {
        Keys {
            inner: self.inner.clone(),
        }
    }
}

impl<'a, K, V> Iterator for Keys<'a, K, V> {
    type Item = &'a K;

    #[inline]
    fn next(&mut self) -> Option<&'a K> {
        self.inner.next().map(|(k, _)| k)
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<K, V> ExactSizeIterator for Keys<'_, K, V> {}
impl<K, V> FusedIterator for Keys<'_, K, V> {}

/// Iterator over values, from [`Dict::values`].
pub struct Values<'a, K, V> {
    inner: Iter<'a, K, V>,
}

impl<K, V> Clone for Values<'_, K, V> {
    fn clone(&self) -> Self {
        Values {
            inner: self.inner.clone(),
        }
    }
}

impl<'a, K, V> Iterator for Values<'a, K, V> {
    type Item = &'a V;

    #[inline]
    fn next(&mut self) -> Option<&'a V> {
        self.inner.next().map(|(_, v)| v)
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<K, V> ExactSizeIterator for Values<'_, K, V> {}
impl<K, V> FusedIterator for Values<'_, K, V> {}

/// Iterator over mutable values, from [`Dict::values_mut`].
pub struct ValuesMut<'a, K, V> {
    inner: IterMut<'a, K, V>,
}

impl<'a, K, V> Iterator for ValuesMut<'a, K, V> {
    type Item = &'a mut V;

    #[inline]
    fn next(&mut self) -> Option<&'a mut V> {
        self.inner.next().map(|(_, v)| v)
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<K, V> ExactSizeIterator for ValuesMut<'_, K, V> {}
impl<K, V> FusedIterator for ValuesMut<'_, K, V> {}

/// Owning iterator over `(K, V)`, from `Dict::into_iter`.
pub struct IntoIter<K, V> {
    buckets: BucketIntoIter<K, V>,
    cur: Link<K, V>,
    remaining: usize,
}

impl<K, V> IntoIter<K, V> {
    fn from_tables(tables: [Table<K, V>; 2], len: usize) -> Self {
        let [t0, t1] = tables;
        IntoIter {
            buckets: t0.buckets.into_iter().chain(t1.buckets),
            cur: Link(None),
            remaining: len,
        }
    }
}

impl<K, V> Iterator for IntoIter<K, V> {
    type Item = (K, V);

    #[inline]
    fn next(&mut self) -> Option<(K, V)> {
        loop {
            if let Some(mut node) = self.cur.0.take() {
                self.cur.0 = node.next.0.take();
                self.remaining -= 1;
                let Node { key, value, .. } = *node;
                return Some((key, value));
            }
            if self.remaining == 0 {
                return None;
            }
            self.cur = self.buckets.next()?;
        }
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<K, V> ExactSizeIterator for IntoIter<K, V> {}
impl<K, V> FusedIterator for IntoIter<K, V> {}

/// Draining iterator over `(K, V)`, from [`Dict::drain`].
pub struct Drain<'a, K, V> {
    inner: IntoIter<K, V>,
    _dict: PhantomData<&'a mut ()>,
}

impl<K, V> Iterator for Drain<'_, K, V> {
    type Item = (K, V);

    #[inline]
    fn next(&mut self) -> Option<(K, V)> {
        self.inner.next()
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<K, V> ExactSizeIterator for Drain<'_, K, V> {}
impl<K, V> FusedIterator for Drain<'_, K, V> {}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::hash_map::DefaultHasher;
    use std::collections::{HashMap, HashSet};
    use std::hash::{BuildHasherDefault, Hasher};

    /// Deterministic SipHash (fixed keys) so failures reproduce.
    type Sip = BuildHasherDefault<DefaultHasher>;
    type TestDict<K, V> = Dict<K, V, Sip>;

    /// Every key hashes to 0: one long chain.
    #[derive(Default)]
    struct ZeroHasher;
    impl Hasher for ZeroHasher {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, _: &[u8]) {}
    }
    type Zero = BuildHasherDefault<ZeroHasher>;

    /// Only 8 distinct hash values: equal hashes for different keys.
    #[derive(Default)]
    struct LowBitsHasher(DefaultHasher);
    impl Hasher for LowBitsHasher {
        fn finish(&self) -> u64 {
            self.0.finish() & 7
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.write(bytes);
        }
    }
    type LowBits = BuildHasherDefault<LowBitsHasher>;

    fn xorshift(seed: u64) -> impl FnMut() -> u64 {
        let mut s = seed | 1;
        move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        }
    }

    /// Inserts one by one (no up-front `reserve`, unlike `collect`).
    fn sip_dict(keys: impl IntoIterator<Item = u32>) -> TestDict<u32, u32> {
        let mut d = Dict::default();
        for k in keys {
            d.insert(k, k * 10);
        }
        d
    }

    /// A dict in the middle of growing 1024 -> 2048 buckets.
    fn mid_rehash() -> TestDict<u32, u32> {
        let d = sip_dict(0..1024);
        assert!(d.is_rehashing());
        d
    }

    /// Checks every structural invariant.
    fn check<K: Hash + Eq, V, S: BuildHasher>(d: &Dict<K, V, S>) {
        let mut total = 0;
        for (t, table) in d.tables.iter().enumerate() {
            if t == 1 && d.rehash_idx.is_none() {
                assert!(table.buckets.is_empty());
            }
            if !table.buckets.is_empty() {
                assert!(table.buckets.len().is_power_of_two());
                assert!(table.buckets.len() >= INITIAL_SIZE);
            }
            let mut count = 0;
            for (i, link) in table.buckets.iter().enumerate() {
                let mut cur = link.head();
                if let (0, Some(r)) = (t, d.rehash_idx) {
                    if i < r {
                        assert!(cur.is_none(), "moved bucket not empty");
                    }
                }
                while let Some(n) = cur {
                    assert_eq!(table.index(n.hash), i);
                    assert_eq!(n.hash, d.hash_of(&n.key));
                    count += 1;
                    cur = n.next.head();
                }
            }
            assert_eq!(count, table.used);
            total += count;
        }
        if let Some(r) = d.rehash_idx {
            assert!(d.tables[0].used > 0);
            assert!(r < d.tables[0].buckets.len());
            assert_ne!(d.tables[0].buckets.len(), d.tables[1].buckets.len());
        }
        assert_eq!(total, d.len());
        assert_eq!(d.iter().count(), d.len());
    }

    #[test]
    fn new_is_empty() {
        let mut d: Dict<u32, u32> = Dict::new();
        assert!(d.is_empty());
        assert_eq!(d.len(), 0);
        assert_eq!(d.buckets(), 0);
        assert!(!d.is_rehashing());
        assert_eq!(d.memory_usage(), 0);
        assert_eq!(d.get(&1), None);
        assert_eq!(d.get_mut(&1), None);
        assert_eq!(d.remove(&1), None);
        assert!(!d.contains_key(&1));
        assert_eq!(d.iter().next(), None);
        let mut calls = 0;
        assert_eq!(d.scan(0, |_, _| calls += 1), 0);
        assert_eq!(d.scan(12345, |_, _| calls += 1), 0);
        assert_eq!(calls, 0);
        let mut r = xorshift(1);
        assert!(d.random_entry(&mut r).is_none());
        assert!(d.sample(10, &mut r).is_empty());
        assert!(!d.rehash_step(10));
        check(&d);
    }

    #[test]
    fn with_hasher_default_and_capacity() {
        let mut d: TestDict<u32, u32> = Dict::with_hasher(Sip::default());
        d.insert(1, 2);
        assert_eq!(d.get(&1), Some(&2));
        let _: &Sip = d.hasher();
        let d2: TestDict<u32, u32> = Dict::default();
        assert!(d2.is_empty());
        let mut d3: Dict<u32, u32> = Dict::with_capacity(100);
        assert_eq!(d3.buckets(), 128);
        for k in 0..100 {
            d3.insert(k, k);
            assert!(!d3.is_rehashing());
        }
        assert_eq!(d3.buckets(), 128);
        let mut d4: TestDict<u32, u32> = Dict::with_capacity_and_hasher(0, Sip::default());
        assert_eq!(d4.buckets(), 0);
        d4.reserve(10);
        assert_eq!(d4.buckets(), 16);
        d4.extend((0..10).map(|k| (k, k)));
        assert!(!d4.is_rehashing());
        d4.reserve(100);
        assert!(d4.is_rehashing());
        check(&d4);
    }

    /// Equality and hashing only look at `id`, so the stored key is visible.
    #[derive(Debug, Clone)]
    struct Tagged {
        id: u32,
        tag: &'static str,
    }
    impl PartialEq for Tagged {
        fn eq(&self, o: &Self) -> bool {
            self.id == o.id
        }
    }
    impl Eq for Tagged {}
    impl Hash for Tagged {
        fn hash<H: Hasher>(&self, h: &mut H) {
            self.id.hash(h);
        }
    }

    #[test]
    fn insert_replaces_value_keeps_key() {
        let mut d: TestDict<Tagged, u32> = Dict::default();
        assert_eq!(
            d.insert(
                Tagged {
                    id: 1,
                    tag: "first"
                },
                10
            ),
            None
        );
        assert_eq!(
            d.insert(
                Tagged {
                    id: 1,
                    tag: "second"
                },
                20
            ),
            Some(10)
        );
        assert_eq!(d.len(), 1);
        let (k, v) = d.get_key_value(&Tagged { id: 1, tag: "" }).unwrap();
        assert_eq!((k.tag, *v), ("first", 20));
        let v = d.get_or_insert_with(
            Tagged {
                id: 1,
                tag: "third",
            },
            || 99,
        );
        assert_eq!(*v, 20);
        let (k, v) = d.remove_entry(&Tagged { id: 1, tag: "" }).unwrap();
        assert_eq!((k.tag, v), ("first", 20));
    }

    #[test]
    fn borrow_lookups() {
        let mut d: Dict<String, u32> = Dict::new();
        d.insert("alpha".to_string(), 1);
        d.insert("beta".to_string(), 2);
        assert_eq!(d.get("alpha"), Some(&1));
        assert!(d.contains_key("beta"));
        assert!(!d.contains_key("gamma"));
        assert_eq!(d.get_key_value("beta"), Some((&"beta".to_string(), &2)));
        *d.get_mut("beta").unwrap() += 40;
        assert_eq!(d.remove("beta"), Some(42));
        assert_eq!(d.remove("beta"), None);
        assert_eq!(d.remove_entry("alpha"), Some(("alpha".to_string(), 1)));
        assert!(d.is_empty());
    }

    #[test]
    fn get_and_get_mut_across_rehash() {
        let mut d = mid_rehash();
        for k in 0..1024 {
            assert_eq!(d.get(&k), Some(&(k * 10)));
        }
        assert_eq!(d.get(&5000), None);
        let idx = d.rehash_idx;
        let _ = d.get(&3);
        assert_eq!(d.rehash_idx, idx, "get must not rehash");
        for k in 0..1024 {
            *d.get_mut(&k).unwrap() += 1;
        }
        assert!(!d.is_rehashing());
        for k in 0..1024 {
            assert_eq!(d.get(&k), Some(&(k * 10 + 1)));
        }
        assert_eq!(d.get_mut(&5000), None);
        check(&d);
    }

    #[test]
    fn get_or_insert_with_inserts_once() {
        let mut d: TestDict<u32, Vec<u32>> = Dict::default();
        for round in 0..3 {
            for k in 0..300 {
                let mut called = false;
                d.get_or_insert_with(k, || {
                    called = true;
                    Vec::new()
                })
                .push(round);
                assert_eq!(called, round == 0);
                check_light(&d);
            }
        }
        assert_eq!(d.len(), 300);
        for k in 0..300 {
            assert_eq!(d.get(&k).unwrap(), &vec![0, 1, 2]);
        }
        check(&d);
    }

    fn check_light<K, V, S>(d: &Dict<K, V, S>) {
        assert_eq!(d.iter().count(), d.len());
    }

    #[test]
    fn remove_and_remove_entry() {
        let mut d = mid_rehash();
        for k in (0..1024).step_by(2) {
            assert_eq!(d.remove(&k), Some(k * 10));
            assert_eq!(d.remove(&k), None);
        }
        for k in (1..1024).step_by(2) {
            assert_eq!(d.remove_entry(&k), Some((k, k * 10)));
        }
        assert!(d.is_empty());
        assert_eq!(d.remove_entry(&1), None);
        check(&d);
    }

    #[test]
    fn iterators() {
        for d in [sip_dict(0..1000), mid_rehash()] {
            let n = d.len();
            let mut d = d;
            let it = d.iter();
            assert_eq!(it.len(), n);
            let all: HashMap<u32, u32> = d.iter().map(|(k, v)| (*k, *v)).collect();
            assert_eq!(all.len(), n);
            assert!(all.iter().all(|(k, v)| *v == k * 10));
            let mut keys: Vec<u32> = d.keys().copied().collect();
            keys.sort_unstable();
            assert_eq!(keys, (0..n as u32).collect::<Vec<_>>());
            assert_eq!(d.keys().len(), n);
            assert_eq!(
                d.values().map(|v| u64::from(*v)).sum::<u64>(),
                all.values().map(|v| u64::from(*v)).sum()
            );
            for (k, v) in d.iter_mut() {
                *v = *k + 1;
            }
            assert_eq!(d.iter_mut().len(), n);
            for v in d.values_mut() {
                *v *= 2;
            }
            assert_eq!(d.values_mut().len(), n);
            assert!(d.iter().all(|(k, v)| *v == (k + 1) * 2));
            for (_, v) in &mut d {
                *v = 0;
            }
            assert_eq!((&d).into_iter().filter(|(_, v)| **v == 0).count(), n);
            let mut it = d.iter();
            it.next();
            let cloned = it.clone();
            assert_eq!(it.count(), n - 1);
            assert_eq!(cloned.count(), n - 1);
            let mut owned: Vec<(u32, u32)> = d.clone().into_iter().collect();
            owned.sort_unstable();
            assert_eq!(owned.len(), n);
            let mut into = d.into_iter();
            assert_eq!(into.len(), n);
            into.next();
            assert_eq!(into.len(), n - 1);
            // dropping a half-consumed IntoIter frees the rest
        }
    }

    #[test]
    fn clear_retain_drain() {
        let mut d = mid_rehash();
        d.clear();
        assert!(d.is_empty());
        assert_eq!(d.buckets(), 0);
        assert!(!d.is_rehashing());
        d.insert(1, 1);
        assert_eq!(d.get(&1), Some(&1));

        let mut d = mid_rehash();
        d.retain(|k, v| {
            *v += 1;
            k % 3 == 0
        });
        assert_eq!(d.len(), 342);
        assert!(d.iter().all(|(k, v)| k % 3 == 0 && *v == k * 10 + 1));
        check(&d);
        d.retain(|k, _| *k < 30);
        assert_eq!(d.len(), 10);
        d.retain(|_, _| false);
        assert!(d.is_empty());
        check(&d);

        let mut d = mid_rehash();
        let mut drained: Vec<(u32, u32)> = d.drain().collect();
        drained.sort_unstable();
        assert_eq!(drained, (0..1024).map(|k| (k, k * 10)).collect::<Vec<_>>());
        assert!(d.is_empty());
        let mut d = sip_dict(0..100);
        let mut dr = d.drain();
        assert_eq!(dr.len(), 100);
        dr.next();
        drop(dr);
        assert!(d.is_empty());
        assert_eq!(d.buckets(), 0);
        check(&d);
    }

    #[test]
    fn retain_panic_keeps_consistent() {
        let mut d = sip_dict(0..500);
        let mut seen = 0;
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            d.retain(|k, _| {
                seen += 1;
                assert!(seen < 200, "boom");
                k % 2 == 0
            })
        }));
        assert!(r.is_err());
        check(&d);
        assert!(d.len() > 300);
    }

    #[test]
    fn from_iter_extend_debug_clone_eq() {
        let d: TestDict<u32, u32> = (0..10).map(|k| (k, k)).collect();
        assert_eq!(d.len(), 10);
        let mut e: TestDict<u32, u32> = Dict::default();
        e.extend((0..10).map(|k| (k, k)));
        assert_eq!(d, e);
        e.insert(3, 4);
        assert_ne!(d, e);
        let one: TestDict<u32, u32> = std::iter::once((7, 8)).collect();
        assert_eq!(format!("{one:?}"), "{7: 8}");
        let empty: TestDict<u32, u32> = Dict::default();
        assert_eq!(format!("{empty:?}"), "{}");

        let mut m = mid_rehash();
        let mut c = m.clone();
        assert!(c.is_rehashing());
        assert_eq!(c.rehash_idx, m.rehash_idx);
        assert_eq!(c.buckets(), m.buckets());
        assert_eq!(c, m);
        check(&c);
        c.insert(9999, 1);
        m.remove(&0);
        assert_eq!(c.len(), 1025);
        assert_eq!(m.len(), 1023);
        assert_eq!(c.get(&0), Some(&0));
    }

    #[test]
    fn shrinks_automatically_and_on_demand() {
        let mut d = sip_dict(0..4096);
        while d.rehash_step(100) {}
        assert_eq!(d.buckets(), 8192);
        for k in 100..4096 {
            d.remove(&k);
        }
        while d.rehash_step(100) {}
        // 100 entries: the last shrink went to 128 buckets or, if 100 was
        // reached mid-rehash, the table stays at most one step bigger.
        assert!(d.buckets() <= 1024, "{}", d.buckets());
        assert!(d.buckets() >= 128);
        d.shrink_to_fit();
        while d.rehash_step(100) {}
        assert_eq!(d.buckets(), 128);
        check(&d);
        // Nothing to do when already minimal.
        d.shrink_to_fit();
        assert!(!d.is_rehashing());
        for k in 0..100 {
            d.remove(&k);
        }
        while d.rehash_step(100) {}
        assert_eq!(d.buckets(), INITIAL_SIZE);
        d.shrink_to_fit();
        assert_eq!(d.buckets(), 0);
        d.insert(1, 1);
        assert_eq!(d.buckets(), INITIAL_SIZE);
        // shrink_to_fit does nothing mid-rehash.
        let mut m = mid_rehash();
        let b = m.buckets();
        m.shrink_to_fit();
        assert_eq!(m.buckets(), b);
    }

    #[test]
    fn shrink_triggers_below_one_eighth() {
        let mut d = sip_dict(0..64);
        while d.rehash_step(100) {}
        assert_eq!(d.buckets(), 128);
        // 16 / 128 is exactly 1/8: no shrink yet.
        for k in 16..64 {
            d.remove(&k);
        }
        assert_eq!(d.buckets(), 128);
        d.remove(&15);
        assert!(d.is_rehashing());
        assert_eq!(d.tables[1].buckets.len(), 16);
        while d.rehash_step(1) {}
        assert_eq!(d.buckets(), 16);
        check(&d);
    }

    #[test]
    fn memory_usage_counts_buckets_and_nodes() {
        let d = mid_rehash();
        let expected = 3072 * mem::size_of::<Option<Box<Node<u32, u32>>>>()
            + 1024 * mem::size_of::<Node<u32, u32>>();
        assert_eq!(d.memory_usage(), expected);
        assert_eq!(mem::size_of::<Link<u32, u32>>(), mem::size_of::<usize>());
    }

    #[test]
    fn resizing_is_incremental() {
        for k in 2..=12 {
            let n = 1u32 << k;
            let mut d = sip_dict(0..n);
            assert!(d.is_rehashing(), "after inserting 2^{k}");
            let size = n as usize;
            assert_eq!(d.tables[0].buckets.len(), size);
            assert_eq!(d.buckets(), size * 3);
            let mut last = d.rehash_idx.unwrap();
            let mut ops = 0;
            while d.is_rehashing() {
                let moved_before = d.tables[1].used;
                let key = ops % n;
                *d.get_mut(&key).unwrap() += 1;
                ops += 1;
                if let Some(r) = d.rehash_idx {
                    assert!(r > last, "every mutation makes progress");
                    assert!(r - last <= EMPTY_VISITS_PER_STEP, "bounded work");
                    assert!(d.tables[1].used >= moved_before);
                    last = r;
                }
            }
            assert!(ops as usize >= size / EMPTY_VISITS_PER_STEP);
            assert_eq!(d.buckets(), size * 2);
            check(&d);
        }
        // Same through insert and remove.
        let mut d = mid_rehash();
        let before = d.rehash_idx.unwrap();
        d.insert(5000, 0);
        let after_insert = d.rehash_idx.unwrap();
        assert!(after_insert > before);
        d.remove(&5000);
        assert!(d.rehash_idx.unwrap() > after_insert);
        check(&d);
    }

    #[test]
    fn rehash_step_api() {
        let mut d = mid_rehash();
        assert!(d.rehash_step(0));
        let r = d.rehash_idx.unwrap();
        assert!(d.rehash_step(1));
        assert!(d.rehash_idx.unwrap() > r);
        check(&d);
        assert!(!d.rehash_step(usize::MAX));
        assert!(!d.is_rehashing());
        assert!(!d.rehash_step(1));
        check(&d);
    }

    fn full_scan<K: Copy + Eq + Hash, V, S>(d: &Dict<K, V, S>) -> Vec<K> {
        let mut out = Vec::new();
        let mut cursor = 0;
        loop {
            cursor = d.scan(cursor, |k, _| out.push(*k));
            if cursor == 0 {
                return out;
            }
        }
    }

    #[test]
    fn scan_without_changes_returns_each_once() {
        for d in [sip_dict(0..1), sip_dict(0..1000), mid_rehash()] {
            let mut got = full_scan(&d);
            got.sort_unstable();
            assert_eq!(got, (0..d.len() as u32).collect::<Vec<_>>());
        }
        // Shrinking mid-rehash (larger table 0).
        let mut d = sip_dict(0..2048);
        while d.rehash_step(100) {}
        for k in 200..2048 {
            d.remove(&k);
            if d.is_rehashing() && d.tables[0].buckets.len() > d.tables[1].buckets.len() {
                break;
            }
        }
        assert!(d.is_rehashing());
        assert!(d.tables[0].buckets.len() > d.tables[1].buckets.len());
        let mut got = full_scan(&d);
        got.sort_unstable();
        let mut want: Vec<u32> = d.keys().copied().collect();
        want.sort_unstable();
        assert_eq!(got, want);
        // One long chain.
        let z: Dict<u32, (), Zero> = (0..100).map(|k| (k, ())).collect();
        assert_eq!(full_scan(&z).len(), 100);
    }

    #[test]
    fn scan_survives_growth_and_shrink() {
        let mut d = sip_dict(0..100);
        let mut seen = HashSet::new();
        let mut cursor = d.scan(0, |k, _| {
            seen.insert(*k);
        });
        let mut calls = 0;
        while cursor != 0 {
            calls += 1;
            if calls == 3 {
                d.extend((1000..5000).map(|k| (k, k)));
            }
            if calls == 20 {
                for k in 1000..5000 {
                    d.remove(&k);
                }
            }
            cursor = d.scan(cursor, |k, _| {
                seen.insert(*k);
            });
        }
        assert!((0..100).all(|k| seen.contains(&k)));
    }

    #[test]
    fn random_entry_is_fair() {
        let d = sip_dict(0..64);
        let mut rng = xorshift(42);
        let mut counts = [0u32; 64];
        for _ in 0..128_000 {
            let (k, v) = d.random_entry(&mut rng).unwrap();
            assert_eq!(*v, k * 10);
            counts[*k as usize] += 1;
        }
        for (k, c) in counts.iter().enumerate() {
            assert!((1700..2300).contains(c), "key {k} drawn {c} times");
        }
    }

    #[test]
    fn random_entry_reaches_everything() {
        let mut rng = xorshift(7);
        let d = mid_rehash();
        let mut seen = HashSet::new();
        for _ in 0..50_000 {
            seen.insert(*d.random_entry(&mut rng).unwrap().0);
        }
        assert_eq!(seen.len(), 1024);
        // A long chain: deep entries are reachable too.
        let z: Dict<u32, (), Zero> = (0..40).map(|k| (k, ())).collect();
        let mut seen = HashSet::new();
        for _ in 0..20_000 {
            seen.insert(*z.random_entry(&mut rng).unwrap().0);
        }
        assert_eq!(seen.len(), 40);
        // Very sparse table: the fallback path still finds entries.
        let mut s: TestDict<u32, u32> = Dict::with_capacity_and_hasher(1 << 16, Sip::default());
        s.extend([(1, 1), (2, 2), (3, 3)]);
        let mut seen = HashSet::new();
        for _ in 0..300 {
            seen.insert(*s.random_entry(&mut rng).unwrap().0);
        }
        assert_eq!(seen.len(), 3);
    }

    #[test]
    fn sample_is_bounded_distinct_and_valid() {
        let mut rng = xorshift(9);
        let d = sip_dict(0..1000);
        assert!(d.sample(0, &mut rng).is_empty());
        for count in [1, 5, 20, 100] {
            let s = d.sample(count, &mut rng);
            assert_eq!(s.len(), count);
            let keys: HashSet<u32> = s
                .iter()
                .map(|(k, v)| {
                    assert_eq!(**v, **k * 10);
                    **k
                })
                .collect();
            assert_eq!(keys.len(), count);
        }
        let all = d.sample(5000, &mut rng);
        assert_eq!(all.len(), 1000);
        assert_eq!(
            all.iter().map(|(k, _)| **k).collect::<HashSet<_>>().len(),
            1000
        );
        let m = mid_rehash();
        assert_eq!(m.sample(1024, &mut rng).len(), 1024);
        // Sparse: at most 10 buckets visited, so maybe nothing found.
        let mut s: TestDict<u32, u32> = Dict::with_capacity_and_hasher(1 << 16, Sip::default());
        s.extend([(1, 1), (2, 2)]);
        assert!(s.sample(1, &mut rng).len() <= 1);
    }

    /// Builds a dict whose table 0 holds one chain of `n` entries, directly
    /// (inserting through the API into one chain is quadratic).
    fn long_chain(n: u64) -> Dict<u64, u64, Zero> {
        let mut d: Dict<u64, u64, Zero> = Dict::default();
        d.insert(0, 0);
        let Table { buckets, used } = &mut d.tables[0];
        for k in 1..n {
            let next = Link(buckets[0].0.take());
            buckets[0].0 = Some(Box::new(Node {
                hash: 0,
                next,
                key: k,
                value: k,
            }));
            *used += 1;
        }
        d
    }

    #[test]
    fn long_chains_drop_without_recursion() {
        let d = long_chain(1_000_000);
        assert_eq!(d.len(), 1_000_000);
        assert_eq!(d.get(&0), Some(&0));
        assert_eq!(d.get(&999_999), Some(&999_999));
        drop(d);

        let mut d = long_chain(200_000);
        let c = d.clone();
        assert_eq!(c.len(), 200_000);
        drop(c);
        let mut it = long_chain(200_000).into_iter();
        it.next();
        drop(it);
        // An insert starts a resize that moves the whole chain in one step.
        d.insert(u64::MAX, 0);
        while d.rehash_step(1) {}
        assert_eq!(d.len(), 200_001);
        d.clear();
        assert!(d.is_empty());
        let mut d = long_chain(200_000);
        d.drain().take(3).for_each(drop);
        assert!(d.is_empty());
    }

    #[test]
    fn colliding_hasher_through_api() {
        let mut d: Dict<u32, u32, Zero> = Dict::default();
        for k in 0..2000 {
            assert_eq!(d.insert(k, k), None);
        }
        for k in 0..2000 {
            assert_eq!(d.insert(k, k + 1), Some(k));
        }
        check(&d);
        for k in (0..2000).step_by(2) {
            assert_eq!(d.remove(&k), Some(k + 1));
        }
        assert_eq!(d.len(), 1000);
        assert!(d.iter().all(|(k, v)| k % 2 == 1 && *v == k + 1));
        check(&d);
    }

    #[test]
    fn dict_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Dict<String, Vec<u8>>>();
        assert_send_sync::<IntoIter<String, Vec<u8>>>();
    }

    // ---------------------------------------------------------------- proptest

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u16, u32),
        Remove(u16),
        RemoveEntry(u16),
        Get(u16),
        GetMut(u16, u32),
        GetOrInsert(u16, u32),
        Contains(u16),
        InsertRange(u16, u16),
        RemoveRange(u16, u16),
        Rehash(u8),
        ShrinkToFit,
        Reserve(u16),
        Retain(u8),
        Clear,
    }

    fn op() -> impl Strategy<Value = Op> {
        let k = 0u16..300;
        prop_oneof![
            20 => (k.clone(), any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
            8 => k.clone().prop_map(Op::Remove),
            4 => k.clone().prop_map(Op::RemoveEntry),
            6 => k.clone().prop_map(Op::Get),
            4 => (k.clone(), any::<u32>()).prop_map(|(k, v)| Op::GetMut(k, v)),
            4 => (k.clone(), any::<u32>()).prop_map(|(k, v)| Op::GetOrInsert(k, v)),
            3 => k.clone().prop_map(Op::Contains),
            2 => (k.clone(), 0u16..200).prop_map(|(a, n)| Op::InsertRange(a, n)),
            2 => (k, 0u16..200).prop_map(|(a, n)| Op::RemoveRange(a, n)),
            2 => any::<u8>().prop_map(Op::Rehash),
            1 => Just(Op::ShrinkToFit),
            1 => (0u16..500).prop_map(Op::Reserve),
            1 => any::<u8>().prop_map(Op::Retain),
            1 => Just(Op::Clear),
        ]
    }

    fn run_model<S: BuildHasher + Default + Clone>(ops: &[Op]) {
        let mut d: Dict<u16, u32, S> = Dict::default();
        let mut m: HashMap<u16, u32> = HashMap::new();
        for (i, op) in ops.iter().enumerate() {
            match *op {
                Op::Insert(k, v) => assert_eq!(d.insert(k, v), m.insert(k, v)),
                Op::Remove(k) => assert_eq!(d.remove(&k), m.remove(&k)),
                Op::RemoveEntry(k) => assert_eq!(d.remove_entry(&k), m.remove_entry(&k)),
                Op::Get(k) => {
                    assert_eq!(d.get(&k), m.get(&k));
                    assert_eq!(d.get_key_value(&k), m.get_key_value(&k));
                }
                Op::GetMut(k, v) => {
                    let a = d.get_mut(&k).map(|x| mem::replace(x, v));
                    let b = m.get_mut(&k).map(|x| mem::replace(x, v));
                    assert_eq!(a, b);
                }
                Op::GetOrInsert(k, v) => {
                    let a = d.get_or_insert_with(k, || v);
                    let b = m.entry(k).or_insert(v);
                    assert_eq!(*a, *b);
                    *a = a.wrapping_add(1);
                    *b = b.wrapping_add(1);
                }
                Op::Contains(k) => assert_eq!(d.contains_key(&k), m.contains_key(&k)),
                Op::InsertRange(a, n) => {
                    for k in a..a.saturating_add(n) {
                        assert_eq!(d.insert(k, u32::from(k)), m.insert(k, u32::from(k)));
                    }
                }
                Op::RemoveRange(a, n) => {
                    for k in a..a.saturating_add(n) {
                        assert_eq!(d.remove(&k), m.remove(&k));
                    }
                }
                Op::Rehash(n) => {
                    assert_eq!(d.rehash_step(usize::from(n)), d.is_rehashing());
                }
                Op::ShrinkToFit => d.shrink_to_fit(),
                Op::Reserve(n) => d.reserve(usize::from(n)),
                Op::Retain(r) => {
                    let r = u16::from(r % 7) + 2;
                    let f = |k: &u16, v: &mut u32| {
                        *v = v.wrapping_mul(3);
                        k % r != 0
                    };
                    d.retain(f);
                    m.retain(f);
                }
                Op::Clear => {
                    d.clear();
                    m.clear();
                }
            }
            assert_eq!(d.len(), m.len());
            assert_eq!(d.is_empty(), m.is_empty());
            if i % 16 == 0 {
                check(&d);
            }
        }
        check(&d);
        let got: HashMap<u16, u32> = d.iter().map(|(k, v)| (*k, *v)).collect();
        assert_eq!(got, m);
        let c = d.clone();
        let owned: HashMap<u16, u32> = c.into_iter().collect();
        assert_eq!(owned, m);
    }

    #[derive(Debug, Clone)]
    enum ScanOp {
        Scan,
        Insert(u16),
        Remove(u16),
        InsertRange(u16, u16),
        RemoveRange(u16, u16),
        Rehash(u8),
        ShrinkToFit,
    }

    fn scan_op() -> impl Strategy<Value = ScanOp> {
        let k = 0u16..3000;
        prop_oneof![
            10 => Just(ScanOp::Scan),
            4 => k.clone().prop_map(ScanOp::Insert),
            4 => k.clone().prop_map(ScanOp::Remove),
            2 => (k.clone(), 0u16..1500).prop_map(|(a, n)| ScanOp::InsertRange(a, n)),
            2 => (k, 0u16..1500).prop_map(|(a, n)| ScanOp::RemoveRange(a, n)),
            2 => any::<u8>().prop_map(ScanOp::Rehash),
            1 => Just(ScanOp::ShrinkToFit),
        ]
    }

    fn run_scan<S: BuildHasher + Default>(initial: &[u16], pre_steps: u8, ops: &[ScanOp]) {
        let mut d: Dict<u16, (), S> = initial.iter().map(|k| (*k, ())).collect();
        d.rehash_step(usize::from(pre_steps));
        // Keys present from the start that were never removed.
        let mut stable: HashSet<u16> = initial.iter().copied().collect();
        let mut seen = HashSet::new();
        let mut cursor = d.scan(0, |k, _| {
            seen.insert(*k);
        });
        let mut ops = ops.iter();
        while cursor != 0 {
            match ops.next() {
                None | Some(ScanOp::Scan) => {
                    cursor = d.scan(cursor, |k, _| {
                        seen.insert(*k);
                    });
                }
                Some(ScanOp::Insert(k)) => {
                    d.insert(*k, ());
                }
                Some(ScanOp::Remove(k)) => {
                    d.remove(k);
                    stable.remove(k);
                }
                Some(ScanOp::InsertRange(a, n)) => {
                    d.extend((*a..a.saturating_add(*n)).map(|k| (k, ())));
                }
                Some(ScanOp::RemoveRange(a, n)) => {
                    for k in *a..a.saturating_add(*n) {
                        d.remove(&k);
                        stable.remove(&k);
                    }
                }
                Some(ScanOp::Rehash(n)) => {
                    d.rehash_step(usize::from(*n));
                }
                Some(ScanOp::ShrinkToFit) => d.shrink_to_fit(),
            }
        }
        let missed: Vec<_> = stable.difference(&seen).collect();
        assert!(missed.is_empty(), "scan missed {missed:?}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn model_sip(ops in prop::collection::vec(op(), 1..600)) {
            run_model::<Sip>(&ops);
        }

        #[test]
        fn model_colliding(ops in prop::collection::vec(op(), 1..400)) {
            run_model::<LowBits>(&ops);
        }

        #[test]
        fn scan_guarantee(
            initial in prop::collection::vec(0u16..3000, 0..1500),
            pre in any::<u8>(),
            ops in prop::collection::vec(scan_op(), 0..300),
        ) {
            run_scan::<Sip>(&initial, pre, &ops);
        }

        #[test]
        fn scan_guarantee_colliding(
            initial in prop::collection::vec(0u16..3000, 0..500),
            pre in any::<u8>(),
            ops in prop::collection::vec(scan_op(), 0..100),
        ) {
            run_scan::<LowBits>(&initial, pre, &ops);
        }

        #[test]
        fn sampling_returns_members(
            keys in prop::collection::vec(0u32..100_000, 0..2000),
            removes in prop::collection::vec(0u32..100_000, 0..500),
            count in 0usize..64,
            seed in any::<u64>(),
        ) {
            let mut d: TestDict<u32, u32> = keys.iter().map(|k| (*k, k ^ 5)).collect();
            for k in &removes {
                d.remove(k);
            }
            let mut rng = xorshift(seed);
            let s = d.sample(count, &mut rng);
            prop_assert!(s.len() <= count.min(d.len()));
            let distinct: HashSet<u32> = s.iter().map(|(k, _)| **k).collect();
            prop_assert_eq!(distinct.len(), s.len());
            for (k, v) in s {
                prop_assert_eq!(d.get(k), Some(v));
            }
            match d.random_entry(&mut rng) {
                None => prop_assert!(d.is_empty()),
                Some((k, v)) => prop_assert_eq!(d.get(k), Some(v)),
            }
        }
    }
}
