//! Intset, the encoding of small sets of integers: a header naming the
//! width of every element (2, 4 or 8 bytes) and the count, then the
//! integers sorted ascending, little endian.

use crate::num;

/// Header size: encoding (u32 LE) and length (u32 LE).
pub(crate) const HEADER_SIZE: usize = 8;
/// Element widths, also the values of the encoding field.
const INT16: u32 = 2;
const INT32: u32 = 4;
const INT64: u32 = 8;

/// Encodes distinct integers; they are sorted here. The width is the
/// smallest that holds every element, as an intset built by `SADD` has.
pub(crate) fn encode(values: &mut [i64]) -> Vec<u8> {
    values.sort_unstable();
    let width = values
        .iter()
        .map(|&v| {
            if i16::try_from(v).is_ok() {
                INT16
            } else if i32::try_from(v).is_ok() {
                INT32
            } else {
                INT64
            }
        })
        .max()
        .unwrap_or(INT16);
    let mut out = Vec::with_capacity(HEADER_SIZE + values.len() * width as usize);
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&(values.len() as u32).to_le_bytes());
    for &v in values.iter() {
        out.extend(v.to_le_bytes().into_iter().take(width as usize));
    }
    out
}

/// Decodes and validates an intset as Redis' deep check does: a known
/// width, a size matching the count, at least one element, strictly
/// ascending.
pub(crate) fn decode(blob: &[u8]) -> Result<Vec<i64>, &'static str> {
    let (header, body) = blob
        .split_first_chunk::<HEADER_SIZE>()
        .ok_or("shorter than its header")?;
    let width = num::u32_le_at(header, 0).unwrap_or(0);
    let count = num::u32_le_at(header, 4).unwrap_or(0);
    if !matches!(width, INT16 | INT32 | INT64) {
        return Err("unknown encoding");
    }
    let width = width as usize;
    if u64::from(count) * width as u64 != body.len() as u64 {
        return Err("size does not match the count");
    }
    if count == 0 {
        return Err("empty");
    }
    let mut out: Vec<i64> = Vec::with_capacity(body.len() / width);
    for chunk in body.chunks_exact(width) {
        let v = num::int_le(chunk);
        if out.last().is_some_and(|&prev| prev >= v) {
            return Err("not strictly ascending");
        }
        out.push(v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_and_order() {
        let mut v = vec![3, -5, 1, 2];
        let enc = encode(&mut v);
        assert_eq!(enc, [2, 0, 0, 0, 4, 0, 0, 0, 0xfb, 0xff, 1, 0, 2, 0, 3, 0]);
        assert_eq!(decode(&enc), Ok(vec![-5, 1, 2, 3]));
        let mut big = vec![1, 5_000_000_000, -7];
        assert_eq!(decode(&encode(&mut big)), Ok(vec![-7, 1, 5_000_000_000]));
        let mut mid = vec![1, 100_000];
        assert_eq!(encode(&mut mid)[0], 4);
    }

    #[test]
    fn rejects_corruption() {
        assert!(decode(&[2, 0, 0, 0, 0, 0, 0, 0]).is_err()); // empty
        assert!(decode(&[3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0]).is_err()); // width
        assert!(decode(&[2, 0, 0, 0, 2, 0, 0, 0, 1, 0]).is_err()); // size
        assert!(decode(&[2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 1, 0]).is_err()); // dup
        assert!(decode(&[2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 1, 0]).is_err()); // order
        assert!(decode(&[2, 0, 0]).is_err());
    }
}
