//! The counting global allocator behind `used_memory`: every allocation
//! goes to the system allocator (glibc malloc, hence `mem_allocator:libc`)
//! and its size is added to a counter; `used_memory` is the sum of the
//! counters.
//!
//! # Why sharded counters
//!
//! One global atomic would be written by every `malloc` and `free` of every
//! worker thread, and its cache line would bounce between cores on each
//! one. Instead each thread adds to one of [`SHARDS`] counters (assigned
//! round-robin when the thread first allocates), each on its own cache
//! line. A block freed by another thread than the one that allocated it
//! makes one counter go up and another down, so single counters may be
//! negative; only their sum means anything.
//!
//! # What is counted
//!
//! The sizes the program asks for (`Layout::size`), not what malloc
//! reserves around them (headers, rounding to its size classes): that
//! difference, together with memory malloc has not returned to the system,
//! is what `mem_fragmentation_ratio` (RSS / used) shows.
//!
//! # Unsafe code
//!
//! Implementing [`GlobalAlloc`] takes `unsafe`; this module is the only
//! place in the workspace allowed to use it (`tests/tidy.rs` checks), and
//! every `unsafe` carries a `// SAFETY:` argument.
#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};

/// How many counters the threads spread over.
const SHARDS: usize = 64;

/// One counter, alone on its cache line (128 bytes: two lines, as adjacent
/// lines are prefetched together on x86).
#[repr(align(128))]
struct Shard(AtomicIsize);

static LIVE: [Shard; SHARDS] = [const { Shard(AtomicIsize::new(0)) }; SHARDS];
/// The next shard to hand to a thread.
static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);
/// The highest sum seen by [`update_peak`].
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// `used_memory` once the server was initialised.
static STARTUP: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's shard; `usize::MAX` until its first allocation. A
    /// `const`-initialised `Cell` without destructor: reading it never
    /// allocates and works at any point of a thread's life.
    static MY_SHARD: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// Adds `delta` bytes to this thread's counter. Never allocates, never
/// panics.
#[inline]
fn count(delta: isize) {
    let index = MY_SHARD
        .try_with(|s| {
            let mut i = s.get();
            if i == usize::MAX {
                i = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARDS;
                s.set(i);
            }
            i
        })
        .unwrap_or(0);
    if let Some(shard) = LIVE.get(index) {
        shard.0.fetch_add(delta, Ordering::Relaxed);
    }
}

/// The system allocator, counting live bytes.
pub struct Counting;

// SAFETY: every method hands its arguments unchanged to `System`, which
// implements `GlobalAlloc` soundly, and returns its result unchanged; so
// `Counting` meets the trait's contract exactly as `System` does. The
// bookkeeping around the calls only updates atomics and reads a
// const-initialised thread-local `Cell`: it neither allocates (no
// re-entrance into the allocator) nor panics or unwinds.
unsafe impl GlobalAlloc for Counting {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller guarantees `layout` has a non-zero size, which
        // is all `System.alloc` requires; it gets the same layout.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            // A `Layout` size never exceeds `isize::MAX`.
            count(layout.size() as isize);
        }
        ptr
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`: the caller's non-zero-size layout is
        // passed on unchanged.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            count(layout.size() as isize);
        }
        ptr
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller guarantees `ptr` was allocated by this
        // allocator (that is, by `System`, which all our methods delegate
        // to) with `layout`; both are passed on unchanged.
        unsafe { System.dealloc(ptr, layout) };
        count(-(layout.size() as isize));
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `ptr` came from this allocator (so
        // from `System`) with `layout`, and that `new_size` is non-zero and
        // fits `isize` when rounded to the alignment: exactly `System`'s
        // requirements; all three are passed on unchanged.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            // On failure the old block stays allocated: nothing changes.
            count(new_size as isize - layout.size() as isize);
        }
        new
    }
}

/// Bytes allocated and not yet freed, by the whole process. Reads only
/// the shards handed out so far (shards go to threads in order), so a
/// process with few threads reads few cache lines.
pub(crate) fn used_memory() -> usize {
    let handed_out = NEXT_SHARD.load(Ordering::Relaxed).clamp(1, SHARDS);
    let sum: isize = LIVE
        .iter()
        .take(handed_out)
        .map(|s| s.0.load(Ordering::Relaxed))
        .sum();
    usize::try_from(sum).unwrap_or(0)
}

/// Reads `used_memory`, raising the recorded peak if it is higher; returns
/// `(used, peak)`.
pub(crate) fn update_peak() -> (usize, usize) {
    let used = used_memory();
    let peak = PEAK.fetch_max(used, Ordering::Relaxed).max(used);
    (used, peak)
}

/// Records the current use as `used_memory_startup`.
pub(crate) fn mark_startup() {
    STARTUP.store(used_memory(), Ordering::Relaxed);
}

/// `used_memory_startup`: the use once the server was initialised.
pub(crate) fn startup_memory() -> usize {
    STARTUP.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_allocations_and_frees() {
        // Other test threads allocate and free meanwhile; a block this big
        // dwarfs them.
        const BIG: usize = 256 << 20;
        let before = used_memory();
        let block = vec![1u8; BIG];
        let during = used_memory();
        assert!(during >= before + BIG / 2, "{before} -> {during}");
        let mut grown = block;
        grown.reserve_exact(BIG);
        assert!(used_memory() >= before + BIG + BIG / 2);
        drop(grown);
        assert!(used_memory() < during, "not released");
        let (used, peak) = update_peak();
        assert!(peak >= used);
    }

    #[test]
    fn shards_sit_on_their_own_cache_lines() {
        assert_eq!(std::mem::align_of::<Shard>(), 128);
        assert_eq!(std::mem::size_of::<Shard>(), 128);
    }
}
