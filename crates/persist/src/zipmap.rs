//! Zipmap, the small-hash encoding of Redis 2.4 and older: read only.
//!
//! `<count> (<len> key <len> <free> value <free bytes>)* 0xff`, where a
//! length is one byte below 254, or 254 and a 4-byte little-endian length.

use crate::error::BlobError;

/// A length byte announcing a 4-byte length.
const BIGLEN: u8 = 254;
/// The end byte.
const END: u8 = 255;

/// A field and its value, inside the zipmap.
pub(crate) type Pair<'a> = (&'a [u8], &'a [u8]);

/// Decodes and validates a zipmap as Redis' deep check does; returns the
/// field/value pairs. The error is the offset inside `zm` and what is
/// wrong.
pub(crate) fn decode(zm: &[u8]) -> Result<Vec<Pair<'_>>, BlobError> {
    if zm.len() < 2 {
        return Err((0, "shorter than its header"));
    }
    let end = zm.len() - 1;
    if zm.get(end) != Some(&END) {
        return Err((end, "does not end with 0xff"));
    }
    let count = zm.first().copied().unwrap_or(0);
    // A key and value take at least 3 bytes.
    let mut out = Vec::with_capacity(usize::from(count).min(end / 3));
    let mut p = 1usize;
    // The length at `p`: (length, bytes it takes).
    let length = |p: usize| -> Result<(usize, usize), BlobError> {
        match zm.get(p).copied() {
            Some(b) if b < BIGLEN => Ok((usize::from(b), 1)),
            Some(_) if p + 4 < end => {
                let n = crate::num::u32_le_at(zm, p + 1).unwrap_or(u32::MAX);
                Ok((n as usize, 5))
            }
            _ => Err((p, "length runs past the end")),
        }
    };
    while zm.get(p) != Some(&END) {
        let at = p;
        let (klen, s) = length(p)?;
        let key = zm
            .get(p + s..(p + s).saturating_add(klen))
            .filter(|_| (p + s).saturating_add(klen) < end)
            .ok_or((at, "entry runs past the end"))?;
        p = p + s + klen;
        let (vlen, s) = length(p)?;
        let free = usize::from(
            zm.get(p + s)
                .copied()
                .ok_or((at, "entry runs past the end"))?,
        );
        let start = p + s + 1;
        let value = zm
            .get(start..start.saturating_add(vlen))
            .filter(|_| start.saturating_add(vlen).saturating_add(free) <= end)
            .ok_or((at, "entry runs past the end"))?;
        p = start + vlen + free;
        out.push((key, value));
    }
    if p != end {
        return Err((p, "end byte before the end"));
    }
    if out.is_empty() {
        return Err((0, "empty"));
    }
    if count != BIGLEN && usize::from(count) != out.len() {
        return Err((0, "count does not match the entries"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_documented_example() {
        let zm = b"\x02\x03foo\x03\x00bar\x05hello\x05\x00world\xff";
        assert_eq!(
            decode(zm),
            Ok(vec![(&b"foo"[..], &b"bar"[..]), (b"hello", b"world")])
        );
        // With free bytes after a value.
        let zm = b"\x01\x01a\x01\x02bxy\xff";
        assert_eq!(decode(zm), Ok(vec![(&b"a"[..], &b"b"[..])]));
    }

    #[test]
    fn rejects_corruption() {
        let zm = b"\x02\x03foo\x03\x00bar\x05hello\x05\x00world\xff";
        for i in 0..zm.len() {
            assert!(decode(&zm[..i]).is_err());
        }
        assert!(decode(b"\x00\xff").is_err());
        assert!(decode(b"\x03\x03foo\x03\x00bar\x05hello\x05\x00world\xff").is_err());
        assert!(decode(b"\x01\x01a\x01\x05b\xff").is_err());
    }
}
