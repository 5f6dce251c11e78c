//! The replication backlog: the last `size` bytes of the replication
//! stream, kept so that a replica that lost its link can continue where it
//! stopped (`+CONTINUE`) instead of loading the whole dataset again.
//!
//! Offsets are Redis' (`replication.c`): `master_repl_offset` counts every
//! byte ever fed to the stream; the backlog holds the `histlen` bytes from
//! `first_byte_offset` (`repl_backlog_first_byte_offset`) to
//! `master_repl_offset` inclusive. A replica asks for the *next* byte it
//! needs, `its offset + 1`.

use crate::id::offset_i64;

/// See the module documentation.
#[derive(Debug, Clone)]
pub struct Backlog {
    /// The ring; its length is the configured size.
    buf: Vec<u8>,
    /// Where the next byte goes in `buf`.
    idx: usize,
    /// Bytes of history held (at most `buf.len()`).
    histlen: usize,
    /// Offset of the last byte fed.
    master_repl_offset: u64,
}

impl Backlog {
    /// The smallest size Redis accepts (`CONFIG SET repl-backlog-size`).
    pub const MIN_SIZE: usize = 16 * 1024;

    /// An empty backlog of `size` bytes whose stream so far ends at
    /// `master_repl_offset` (its first byte will be the one after).
    pub fn new(size: usize, master_repl_offset: u64) -> Backlog {
        Backlog {
            buf: vec![0; size.max(1)],
            idx: 0,
            histlen: 0,
            master_repl_offset,
        }
    }

    /// The configured size (`repl_backlog_size`).
    pub fn size(&self) -> usize {
        self.buf.len()
    }

    /// Bytes of history held (`repl_backlog_histlen`).
    pub fn histlen(&self) -> usize {
        self.histlen
    }

    /// The offset of the last byte fed (`master_repl_offset`).
    pub fn master_repl_offset(&self) -> u64 {
        self.master_repl_offset
    }

    /// The offset of the oldest byte held (`repl_backlog_first_byte_offset`):
    /// `master_repl_offset + 1` while nothing is held.
    pub fn first_byte_offset(&self) -> u64 {
        self.master_repl_offset + 1 - self.histlen as u64
    }

    /// Appends stream bytes.
    pub fn feed(&mut self, mut data: &[u8]) {
        self.master_repl_offset += data.len() as u64;
        let size = self.buf.len();
        if data.len() > size {
            let skip = data.len() - size;
            data = data.get(skip..).unwrap_or_default();
            self.idx = (self.idx + skip) % size;
        }
        while !data.is_empty() {
            let room = size - self.idx;
            let n = room.min(data.len());
            let (now, rest) = data.split_at(n);
            if let Some(dst) = self.buf.get_mut(self.idx..self.idx + n) {
                dst.copy_from_slice(now);
            }
            self.idx = (self.idx + n) % size;
            self.histlen = (self.histlen + n).min(size);
            data = rest;
        }
    }

    /// Whether a replica asking for the byte at `offset` (its offset + 1)
    /// can be served from here: Redis' range check in
    /// `masterTryPartialResynchronization`.
    pub fn covers(&self, offset: i64) -> bool {
        let first = offset_i64(self.first_byte_offset());
        offset >= first && offset <= first + self.histlen as i64
    }

    /// Up to `max` bytes of the stream starting at the byte at `offset`;
    /// `None` when those bytes are no longer (or not yet) held. An empty
    /// answer means the replica is up to date.
    pub fn read_from(&self, offset: u64, max: usize) -> Option<Vec<u8>> {
        if !self.covers(offset_i64(offset)) {
            return None;
        }
        let available = (self.master_repl_offset + 1 - offset) as usize;
        let n = available.min(max);
        let size = self.buf.len();
        // Position of the byte at `offset` in the ring.
        let start = (self.idx + size - available) % size;
        let mut out = Vec::with_capacity(n);
        let first = (size - start).min(n);
        out.extend_from_slice(self.buf.get(start..start + first).unwrap_or_default());
        out.extend_from_slice(self.buf.get(..n - first).unwrap_or_default());
        Some(out)
    }

    /// Changes the size, keeping as much of the most recent history as
    /// fits (`CONFIG SET repl-backlog-size`).
    pub fn resize(&mut self, size: usize) {
        let size = size.max(1);
        if size == self.buf.len() {
            return;
        }
        let keep = self.histlen.min(size);
        let start = self.master_repl_offset + 1 - keep as u64;
        let tail = self.read_from(start, keep).unwrap_or_default();
        let end = self.master_repl_offset;
        *self = Backlog::new(size, end - tail.len() as u64);
        self.feed(&tail);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn offsets_follow_redis() {
        let mut b = Backlog::new(16, 100);
        assert_eq!(b.first_byte_offset(), 101);
        assert!(b.covers(101));
        assert_eq!(b.read_from(101, 10), Some(vec![]));
        b.feed(b"hello");
        assert_eq!(b.master_repl_offset(), 105);
        assert_eq!(b.read_from(101, 100).unwrap(), b"hello");
        assert_eq!(b.read_from(103, 2).unwrap(), b"ll");
        assert!(b.read_from(100, 1).is_none());
        assert!(b.read_from(107, 1).is_none());
        b.feed(b"0123456789abcdefXY");
        assert_eq!(b.histlen(), 16);
        assert_eq!(b.read_from(108, 100).unwrap(), b"23456789abcdefXY");
        assert!(b.read_from(107, 1).is_none());
    }

    proptest! {
        /// The backlog answers as the last `size` bytes of a plain Vec of
        /// everything fed.
        #[test]
        fn backlog_matches_a_vec(
            size in 1usize..64,
            start in 0u64..1000,
            feeds in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 0..20),
            resize_to in proptest::option::of(1usize..64),
            ask in 0u64..2000,
            max in 0usize..100,
        ) {
            let mut b = Backlog::new(size, start);
            let mut all = Vec::new();
            let mut size = size;
            for (i, f) in feeds.iter().enumerate() {
                b.feed(f);
                all.extend_from_slice(f);
                if i == 3 {
                    if let Some(s) = resize_to {
                        b.resize(s);
                        size = s;
                    }
                }
            }
            // With a resize, what a smaller ring dropped is gone; without,
            // the model is the last `size` bytes.
            let held = all.len().min(size).min(b.histlen());
            if resize_to.is_none() {
                prop_assert_eq!(b.histlen(), all.len().min(size));
            }
            prop_assert_eq!(b.master_repl_offset(), start + all.len() as u64);
            let first = start + all.len() as u64 + 1 - held as u64;
            prop_assert_eq!(b.first_byte_offset(), first);
            let ask = start + ask % (all.len() as u64 + 3);
            let got = b.read_from(ask, max);
            if ask >= first && ask <= start + all.len() as u64 + 1 {
                let model: Vec<u8> = all
                    .get((ask - start - 1) as usize..)
                    .unwrap_or_default()
                    .iter()
                    .copied()
                    .take(max)
                    .collect();
                prop_assert_eq!(got, Some(model));
            } else {
                prop_assert_eq!(got, None);
            }
        }
    }
}
