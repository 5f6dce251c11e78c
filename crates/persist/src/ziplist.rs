//! Ziplist, the compact encoding before Redis 7 (lists, small hashes and
//! sorted sets in RDB versions up to 9): read only, since Redis 7 converts
//! it to a listpack on load. Byte tables in `docs/formats/rdb.md`.

use crate::error::BlobError;
use crate::listpack::Entry;
use crate::num;

/// Header: total bytes (u32 LE), offset of the last entry (u32 LE), count
/// (u16 LE).
const HEADER_SIZE: usize = 10;
/// Offset of the tail offset in the header.
const TAIL_OFFSET: usize = 4;
/// Offset of the count in the header.
const COUNT_OFFSET: usize = 8;
/// The count meaning "count them".
const COUNT_UNKNOWN: u16 = u16::MAX;
/// The end byte.
const END: u8 = 0xff;
/// A previous-entry length byte announcing a 4-byte length.
const BIG_PREVLEN: u8 = 0xfe;

/// Encoding byte, top two bits: string of up to 63 bytes.
const STR_06B: u8 = 0x00;
/// Top two bits: string of up to 16383 bytes, 14-bit big-endian length.
const STR_14B: u8 = 0x40;
/// Whole byte: string with a 32-bit big-endian length.
const STR_32B: u8 = 0x80;
/// Whole byte: 16-bit little-endian integer.
const INT_16B: u8 = 0xc0;
/// Whole byte: 32-bit little-endian integer.
const INT_32B: u8 = 0xd0;
/// Whole byte: 64-bit little-endian integer.
const INT_64B: u8 = 0xe0;
/// Whole byte: 24-bit little-endian integer.
const INT_24B: u8 = 0xf0;
/// Whole byte: 8-bit integer.
const INT_8B: u8 = 0xfe;
/// `0xf1..=0xfd`: an immediate integer 0..=12 in the low four bits, minus 1.
const INT_IMM_MIN: u8 = 0xf1;
const INT_IMM_MAX: u8 = 0xfd;

/// Decodes and fully validates a ziplist as Redis' deep check does:
/// sizes, every entry's previous-length field, the tail offset, the end
/// byte and the count. The error is the offset inside `zl` and what is
/// wrong.
pub(crate) fn decode(zl: &[u8]) -> Result<Vec<Entry<'_>>, BlobError> {
    let u32_at = |at: usize| num::u32_le_at(zl, at).map(|n| n as usize);
    if zl.len() < HEADER_SIZE + 1 {
        return Err((0, "shorter than its header"));
    }
    if u32_at(0) != Some(zl.len()) {
        return Err((0, "total bytes do not match its size"));
    }
    let end = zl.len() - 1;
    if zl.get(end) != Some(&END) {
        return Err((end, "does not end with 0xff"));
    }
    let tail = u32_at(TAIL_OFFSET).unwrap_or(usize::MAX);
    if tail > end {
        return Err((TAIL_OFFSET, "tail offset beyond the end"));
    }
    let count = num::u16_le_at(zl, COUNT_OFFSET).unwrap_or(0);
    let byte = |at: usize| zl.get(at).copied().filter(|_| at < end);
    // Every entry takes at least 2 bytes.
    let mut out = Vec::with_capacity(usize::from(count).min(end / 2));
    let mut p = HEADER_SIZE;
    let mut prev_size = 0usize;
    let mut last = None;
    while zl.get(p) != Some(&END) {
        let bad = |why| (p, why);
        // Previous entry length: 1 byte, or 0xfe and 4 bytes.
        let first = byte(p).ok_or(bad("entry runs past the end"))?;
        let (prevlen, prevlen_size) = if first < BIG_PREVLEN {
            (usize::from(first), 1)
        } else {
            byte(p + 4).ok_or(bad("entry runs past the end"))?;
            (u32_at(p + 1).unwrap_or(usize::MAX), 5)
        };
        if prevlen != prev_size {
            return Err(bad("previous entry length does not match"));
        }
        let q = p + prevlen_size;
        let enc = byte(q).ok_or(bad("entry runs past the end"))?;
        let (header, data_len) = match enc {
            e if e & 0xc0 == STR_06B => (1, usize::from(e & 0x3f)),
            e if e & 0xc0 == STR_14B => {
                let low = byte(q + 1).ok_or(bad("entry runs past the end"))?;
                (2, (usize::from(e & 0x3f) << 8) | usize::from(low))
            }
            STR_32B => {
                byte(q + 4).ok_or(bad("entry runs past the end"))?;
                let b = zl.get(q + 1..q + 5).unwrap_or_default();
                let len = b.iter().fold(0usize, |acc, &x| (acc << 8) | usize::from(x));
                (5, len)
            }
            INT_16B => (1, 2),
            INT_32B => (1, 4),
            INT_64B => (1, 8),
            INT_24B => (1, 3),
            INT_8B => (1, 1),
            INT_IMM_MIN..=INT_IMM_MAX => (1, 0),
            _ => return Err(bad("unknown entry encoding")),
        };
        let data_start = q + header;
        let data = zl
            .get(data_start..data_start.saturating_add(data_len))
            .filter(|_| data_start.saturating_add(data_len) <= end)
            .ok_or(bad("entry runs past the end"))?;
        let entry = if enc & 0xc0 != 0xc0 {
            Entry::Str(data)
        } else if (INT_IMM_MIN..=INT_IMM_MAX).contains(&enc) {
            Entry::Int(i64::from(enc & 0x0f) - 1)
        } else {
            Entry::Int(num::int_le(data))
        };
        out.push(entry);
        last = Some(p);
        prev_size = prevlen_size + header + data_len;
        p += prev_size;
    }
    if p != end {
        return Err((p, "end byte before the end"));
    }
    if let Some(last) = last {
        if last != tail {
            return Err((TAIL_OFFSET, "tail offset is not the last entry"));
        }
    }
    if count != COUNT_UNKNOWN && usize::from(count) != out.len() {
        return Err((COUNT_OFFSET, "count does not match the entries"));
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a ziplist (for tests: Redis 7 no longer writes them).
    pub(crate) fn build(items: &[&[u8]]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev = 0usize;
        let mut tail = HEADER_SIZE;
        for item in items {
            let start = body.len();
            tail = HEADER_SIZE + start;
            if prev < 254 {
                body.push(prev as u8);
            } else {
                body.push(BIG_PREVLEN);
                body.extend_from_slice(&(prev as u32).to_le_bytes());
            }
            match crate::num::parse_canonical_i64(item) {
                Some(n @ 0..=12) => body.push(INT_IMM_MIN + n as u8),
                Some(n) if i8::try_from(n).is_ok() => {
                    body.push(INT_8B);
                    body.push(n as u8);
                }
                Some(n) if i16::try_from(n).is_ok() => {
                    body.push(INT_16B);
                    body.extend_from_slice(&(n as i16).to_le_bytes());
                }
                Some(n) if (-(1 << 23)..(1 << 23)).contains(&n) => {
                    body.push(INT_24B);
                    body.extend_from_slice(&n.to_le_bytes()[..3]);
                }
                Some(n) if i32::try_from(n).is_ok() => {
                    body.push(INT_32B);
                    body.extend_from_slice(&(n as i32).to_le_bytes());
                }
                Some(n) => {
                    body.push(INT_64B);
                    body.extend_from_slice(&n.to_le_bytes());
                }
                None if item.len() < 64 => {
                    body.push(STR_06B | item.len() as u8);
                    body.extend_from_slice(item);
                }
                None if item.len() < 16384 => {
                    body.push(STR_14B | (item.len() >> 8) as u8);
                    body.push(item.len() as u8);
                    body.extend_from_slice(item);
                }
                None => {
                    body.push(STR_32B);
                    body.extend_from_slice(&(item.len() as u32).to_be_bytes());
                    body.extend_from_slice(item);
                }
            }
            prev = body.len() - start;
        }
        let total = HEADER_SIZE + body.len() + 1;
        let mut zl = Vec::with_capacity(total);
        zl.extend_from_slice(&(total as u32).to_le_bytes());
        zl.extend_from_slice(&(tail as u32).to_le_bytes());
        zl.extend_from_slice(&(items.len().min(65535) as u16).to_le_bytes());
        zl.extend_from_slice(&body);
        zl.push(END);
        zl
    }

    #[test]
    fn round_trips_every_encoding() {
        let long = vec![b'q'; 300];
        let huge = vec![b'h'; 17000];
        let items: Vec<&[u8]> = vec![
            b"a",
            b"",
            b"0",
            b"12",
            b"13",
            b"-1",
            b"-128",
            b"200",
            b"-32768",
            b"40000",
            b"-8388608",
            b"8388608",
            b"2147483647",
            b"2147483648",
            b"-9223372036854775808",
            &long,
            &huge,
            b"01",
        ];
        let zl = build(&items);
        let got: Vec<Vec<u8>> = decode(&zl)
            .unwrap_or_default()
            .into_iter()
            .map(Entry::to_vec)
            .collect();
        let want: Vec<Vec<u8>> = items.iter().map(|i| i.to_vec()).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn rejects_corruption() {
        let zl = build(&[b"hello", b"1000", b"x"]);
        assert!(decode(&zl).is_ok());
        for i in 0..zl.len() {
            assert!(decode(&zl[..i]).is_err());
            let mut bad = zl.clone();
            bad[i] ^= 0x01;
            if let Ok(v) = decode(&bad) {
                assert_eq!(v.len(), 3);
            }
        }
        // An empty ziplist is valid (the caller refuses empty values).
        assert_eq!(decode(&build(&[])), Ok(vec![]));
    }
}
