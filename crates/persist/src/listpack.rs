//! Listpack, the compact encoding of small hashes, small sorted sets and
//! list nodes in Redis 7: a header, entries each followed by its length
//! written backwards, and an end byte. Byte tables in `docs/formats/rdb.md`.

use crate::error::BlobError;
use crate::num;

/// Header size: total bytes (u32 LE) and element count (u16 LE).
pub(crate) const HEADER_SIZE: usize = 6;
/// Offset of the element count in the header.
const COUNT_OFFSET: usize = 4;
/// The element count meaning "count them" (65535 elements or more).
pub(crate) const COUNT_UNKNOWN: u16 = u16::MAX;
/// The end byte.
pub(crate) const EOF: u8 = 0xff;

/// `0xxxxxxx`: an integer 0..=127 in the byte.
const UINT7_MASK: u8 = 0x80;
/// `10xxxxxx`: a string of up to 63 bytes.
const STR6: u8 = 0x80;
const STR6_MASK: u8 = 0xc0;
/// `110xxxxx` + 1 byte: a 13-bit signed integer.
const INT13: u8 = 0xc0;
const INT13_MASK: u8 = 0xe0;
/// `1110xxxx` + 1 byte: a string of up to 4095 bytes.
const STR12: u8 = 0xe0;
const STR12_MASK: u8 = 0xf0;
/// `0xf0` + u32 LE length: a longer string.
const STR32: u8 = 0xf0;
/// `0xf1`: a 16-bit little-endian signed integer.
const INT16: u8 = 0xf1;
/// `0xf2`: a 24-bit little-endian signed integer.
const INT24: u8 = 0xf2;
/// `0xf3`: a 32-bit little-endian signed integer.
const INT32: u8 = 0xf3;
/// `0xf4`: a 64-bit little-endian signed integer.
const INT64: u8 = 0xf4;

/// One listpack element: an integer or bytes inside the listpack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Entry<'_> {
    /// The element as Redis replies with it (integers as decimal text).
    pub(crate) fn to_vec(self) -> Vec<u8> {
        match self {
            Entry::Int(n) => num::i64_text(n),
            Entry::Str(s) => s.to_vec(),
        }
    }
}

/// Bytes of the backwards length of an entry of `len` bytes.
fn backlen_size(len: usize) -> usize {
    match len {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// Appends the backwards length of an entry of `len` bytes
/// (`lpEncodeBacklen`): 7 bits a byte, most significant first, every byte
/// but the first with the top bit set, so it reads from the end.
fn write_backlen(out: &mut Vec<u8>, len: usize) {
    let n = backlen_size(len);
    for i in (0..n).rev() {
        let bits = ((len >> (7 * i)) & 0x7f) as u8;
        out.push(if i == n - 1 { bits } else { bits | 0x80 });
    }
}

/// Builds a listpack by appending elements, as `lpAppend` does.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    buf: Vec<u8>,
    count: usize,
}

impl Writer {
    pub(crate) fn new() -> Writer {
        Writer {
            buf: vec![0; HEADER_SIZE],
            count: 0,
        }
    }

    /// Bytes the listpack has now, end byte included (`lpBytes`).
    pub(crate) fn bytes(&self) -> usize {
        self.buf.len() + 1
    }

    /// Elements so far.
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// Appends a string, integer-encoded when it is a canonical integer.
    pub(crate) fn push(&mut self, s: &[u8]) {
        match num::parse_canonical_i64(s) {
            Some(n) => self.push_int(n),
            None => self.push_str(s),
        }
    }

    fn push_str(&mut self, s: &[u8]) {
        let start = self.buf.len();
        let len = s.len();
        if len < 64 {
            self.buf.push(STR6 | len as u8);
        } else if len < 4096 {
            self.buf.push(STR12 | (len >> 8) as u8);
            self.buf.push(len as u8);
        } else {
            self.buf.push(STR32);
            self.buf.extend_from_slice(&(len as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(s);
        self.end_entry(start);
    }

    /// Appends an integer in the smallest encoding that holds it.
    pub(crate) fn push_int(&mut self, n: i64) {
        let start = self.buf.len();
        let b = n.to_le_bytes();
        match n {
            0..=127 => self.buf.push(n as u8),
            -4096..=4095 => {
                let v = (n & 0x1fff) as u16;
                self.buf.push(INT13 | (v >> 8) as u8);
                self.buf.push(v as u8);
            }
            -32768..=32767 => {
                self.buf.push(INT16);
                self.buf.extend_from_slice(&b[..2]);
            }
            -8388608..=8388607 => {
                self.buf.push(INT24);
                self.buf.extend_from_slice(&b[..3]);
            }
            -2147483648..=2147483647 => {
                self.buf.push(INT32);
                self.buf.extend_from_slice(&b[..4]);
            }
            _ => {
                self.buf.push(INT64);
                self.buf.extend_from_slice(&b);
            }
        }
        self.end_entry(start);
    }

    fn end_entry(&mut self, start: usize) {
        let len = self.buf.len() - start;
        write_backlen(&mut self.buf, len);
        self.count += 1;
    }

    /// The finished listpack.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.buf.push(EOF);
        let total = self.buf.len() as u32;
        let count = u16::try_from(self.count).unwrap_or(COUNT_UNKNOWN);
        let header = total.to_le_bytes().into_iter().chain(count.to_le_bytes());
        self.buf.iter_mut().zip(header).for_each(|(b, h)| *b = h);
        self.buf
    }
}

/// Decodes and fully validates a listpack (Redis' deep integrity check):
/// the header's byte count, every entry's encoding and backwards length,
/// the end byte, and the element count. The error is the offset inside
/// `lp` and what is wrong.
pub(crate) fn decode(lp: &[u8]) -> Result<Vec<Entry<'_>>, BlobError> {
    let header = lp
        .get(..HEADER_SIZE)
        .filter(|_| lp.len() > HEADER_SIZE)
        .ok_or((0, "shorter than its header"))?;
    let total = num::u32_le_at(header, 0).unwrap_or(0);
    if usize::try_from(total).ok() != Some(lp.len()) {
        return Err((0, "total bytes do not match its size"));
    }
    if lp.last() != Some(&EOF) {
        return Err((lp.len() - 1, "does not end with 0xff"));
    }
    let count = num::u16_le_at(header, COUNT_OFFSET).unwrap_or(0);
    let end = lp.len() - 1;
    // Every entry takes at least 2 bytes.
    let mut out = Vec::with_capacity(usize::from(count).min(end / 2));
    let mut p = HEADER_SIZE;
    while p < end {
        let (entry, size) = decode_entry(lp, p, end)?;
        let backlen = lp
            .get(p + size..)
            .and_then(|rest| rest.get(..backlen_size(size)))
            .filter(|_| p + size + backlen_size(size) <= end)
            .ok_or((p, "entry runs past the end"))?;
        let mut expected = Vec::with_capacity(5);
        write_backlen(&mut expected, size);
        if backlen != expected.as_slice() {
            return Err((p + size, "backwards length does not match the entry"));
        }
        out.push(entry);
        p += size + expected.len();
    }
    if count != COUNT_UNKNOWN && usize::from(count) != out.len() {
        return Err((COUNT_OFFSET, "element count does not match the entries"));
    }
    Ok(out)
}

/// The entry at `p` and its size without the backwards length; `end` is
/// the offset of the end byte.
fn decode_entry(lp: &[u8], p: usize, end: usize) -> Result<(Entry<'_>, usize), BlobError> {
    let bytes = |from: usize, n: usize| {
        lp.get(from..from + n)
            .filter(|_| from + n <= end)
            .ok_or((p, "entry runs past the end"))
    };
    let first = *bytes(p, 1)?.first().unwrap_or(&0);
    let int = |n: usize| -> Result<(Entry<'_>, usize), BlobError> {
        Ok((Entry::Int(num::int_le(bytes(p + 1, n)?)), 1 + n))
    };
    let string = |header: usize, len: usize| -> Result<(Entry<'_>, usize), BlobError> {
        Ok((Entry::Str(bytes(p + header, len)?), header + len))
    };
    if first & UINT7_MASK == 0 {
        Ok((Entry::Int(i64::from(first)), 1))
    } else if first & STR6_MASK == STR6 {
        string(1, usize::from(first & 0x3f))
    } else if first & INT13_MASK == INT13 {
        let low = *bytes(p + 1, 1)?.first().unwrap_or(&0);
        let u = (i64::from(first & 0x1f) << 8) | i64::from(low);
        let v = if u >= 1 << 12 { u - (1 << 13) } else { u };
        Ok((Entry::Int(v), 2))
    } else if first & STR12_MASK == STR12 {
        let low = *bytes(p + 1, 1)?.first().unwrap_or(&0);
        string(2, (usize::from(first & 0x0f) << 8) | usize::from(low))
    } else {
        match first {
            STR32 => {
                let len = num::u32_le_at(bytes(p + 1, 4)?, 0).unwrap_or(u32::MAX);
                let len = usize::try_from(len).map_err(|_| (p, "entry runs past the end"))?;
                string(5, len)
            }
            INT16 => int(2),
            INT24 => int(3),
            INT32 => int(4),
            INT64 => int(8),
            _ => Err((p, "unknown entry encoding")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backlen_boundaries() {
        for (len, want) in [
            (0usize, vec![0u8]),
            (127, vec![127]),
            (128, vec![1, 0x80]),
            (16382, vec![127, 0xfe]),
            (16383, vec![0, 0xff, 0xff]),
        ] {
            let mut v = Vec::new();
            write_backlen(&mut v, len);
            assert_eq!(v, want, "{len}");
        }
    }

    #[test]
    fn integers_take_the_smallest_encoding() {
        for (n, size) in [
            (0i64, 1usize),
            (127, 1),
            (128, 2),
            (-1, 2),
            (-4096, 2),
            (4095, 2),
            (4096, 3),
            (-32768, 3),
            (32767, 3),
            (32768, 4),
            (-8388608, 4),
            (8388607, 4),
            (8388608, 5),
            (i64::from(i32::MIN), 5),
            (i64::from(i32::MAX) + 1, 9),
            (i64::MIN, 9),
            (i64::MAX, 9),
        ] {
            let mut w = Writer::new();
            w.push_int(n);
            let lp = w.finish();
            assert_eq!(lp.len(), HEADER_SIZE + size + 1 + 1, "{n}");
            assert_eq!(decode(&lp), Ok(vec![Entry::Int(n)]), "{n}");
        }
    }

    #[test]
    fn strings_round_trip() {
        let long = vec![b'x'; 5000];
        let items: Vec<&[u8]> = vec![b"", b"a", b"01", b"-0", &[b'y'; 63], &[b'z'; 64], &long];
        let mut w = Writer::new();
        for i in &items {
            w.push(i);
        }
        w.push(b"-17");
        let lp = w.finish();
        let got = decode(&lp).unwrap_or_default();
        assert_eq!(got.len(), items.len() + 1);
        for (g, want) in got.iter().zip(&items) {
            assert_eq!(g, &Entry::Str(want));
        }
        assert_eq!(got.last(), Some(&Entry::Int(-17)));
    }

    #[test]
    fn rejects_corruption() {
        let mut w = Writer::new();
        w.push(b"hello");
        w.push_int(1000);
        let lp = w.finish();
        assert!(decode(&lp).is_ok());
        for i in 0..lp.len() {
            for delta in [1u8, 0x40, 0x80] {
                let mut bad = lp.clone();
                bad[i] = bad[i].wrapping_add(delta);
                // Either refused or still a listpack of two entries.
                if let Ok(v) = decode(&bad) {
                    assert_eq!(v.len(), 2, "byte {i} + {delta}");
                }
            }
            assert!(decode(&lp[..i]).is_err());
        }
        assert!(decode(&[7, 0, 0, 0, 0, 0, 0xff]).is_ok());
        assert!(decode(&[7, 0, 0, 0, 1, 0, 0xff]).is_err());
    }
}
