//! The RDB primitives every object is built from: length prefixes,
//! strings (plain, integer-encoded, LZF-compressed) and doubles (text and
//! binary), read from a byte slice that tracks its offset, and written to a
//! `Vec<u8>`.

use crate::error::{Corruption, RdbError};
use crate::lzf;
use crate::num;

/// Top two bits of a length byte: a 6-bit length follows in the byte.
pub(crate) const LEN_6BIT: u8 = 0;
/// Top two bits of a length byte: a 14-bit length, big endian.
pub(crate) const LEN_14BIT: u8 = 1;
/// Top two bits: a special string encoding in the low six bits.
pub(crate) const LEN_ENCVAL: u8 = 3;
/// The whole byte: a 32-bit big-endian length follows.
pub(crate) const LEN_32BIT: u8 = 0x80;
/// The whole byte: a 64-bit big-endian length follows.
pub(crate) const LEN_64BIT: u8 = 0x81;

/// Special string encoding: an 8-bit signed integer.
pub(crate) const ENC_INT8: u8 = 0;
/// Special string encoding: a 16-bit little-endian signed integer.
pub(crate) const ENC_INT16: u8 = 1;
/// Special string encoding: a 32-bit little-endian signed integer.
pub(crate) const ENC_INT32: u8 = 2;
/// Special string encoding: LZF, compressed length, then original length.
pub(crate) const ENC_LZF: u8 = 3;

/// Text double marker: NaN.
pub(crate) const DOUBLE_NAN: u8 = 253;
/// Text double marker: +inf.
pub(crate) const DOUBLE_POS_INF: u8 = 254;
/// Text double marker: -inf.
pub(crate) const DOUBLE_NEG_INF: u8 = 255;

/// Strings up to this long are tried as integers (`rdbSaveRawString`).
const INT_TRY_MAX_LEN: usize = 11;
/// Strings longer than this are tried with LZF when compression is on.
const LZF_MIN_LEN: usize = 20;
/// LZF must save at least this many bytes to be used.
const LZF_MIN_SAVING: usize = 4;

/// A cursor over untrusted input: every read is bounds-checked and errors
/// carry the offset of what was being read.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// A length prefix: a length, or the number of a special string encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Len {
    Plain(u64),
    Encoded(u8),
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    /// A reader of `buf` whose next byte is `buf[pos]` (error offsets stay
    /// relative to the start of `buf`).
    pub(crate) fn at(buf: &'a [u8], pos: usize) -> Reader<'a> {
        Reader {
            buf,
            pos: pos.min(buf.len()),
        }
    }

    /// Offset of the next byte.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes left.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn error(&self, at: usize, what: Corruption) -> RdbError {
        RdbError::new(at, what)
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], RdbError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| self.error(self.pos, Corruption::Truncated))?;
        let out = self.buf.get(self.pos..end).unwrap_or_default();
        self.pos = end;
        Ok(out)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], RdbError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, RdbError> {
        Ok(self.array::<1>()?[0])
    }

    /// A length prefix (`rdbLoadLen`).
    pub(crate) fn len_or_encoding(&mut self) -> Result<Len, RdbError> {
        let at = self.pos;
        let first = self.u8()?;
        Ok(match first >> 6 {
            LEN_ENCVAL => Len::Encoded(first & 0x3f),
            LEN_6BIT => Len::Plain(u64::from(first & 0x3f)),
            LEN_14BIT => Len::Plain((u64::from(first & 0x3f) << 8) | u64::from(self.u8()?)),
            _ if first == LEN_32BIT => Len::Plain(u64::from(u32::from_be_bytes(self.array()?))),
            _ if first == LEN_64BIT => Len::Plain(u64::from_be_bytes(self.array()?)),
            _ => return Err(self.error(at, Corruption::LengthEncoding(first))),
        })
    }

    /// A plain length (a special encoding here is an error).
    pub(crate) fn len(&mut self) -> Result<u64, RdbError> {
        let at = self.pos;
        match self.len_or_encoding()? {
            Len::Plain(n) => Ok(n),
            Len::Encoded(e) => Err(self.error(at, Corruption::StringEncoding(u64::from(e)))),
        }
    }

    /// A count of items, each at least `min_item_bytes` long: refused when
    /// the input left could not hold them, so that it can size a `Vec`.
    pub(crate) fn count(&mut self, min_item_bytes: usize) -> Result<usize, RdbError> {
        let at = self.pos;
        let n = self.len()?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n.saturating_mul(min_item_bytes) <= self.remaining())
            .ok_or_else(|| self.error(at, Corruption::TooLong(n)))
    }

    /// A string in any of its encodings (`rdbGenericLoadStringObject`);
    /// integers come back as their decimal text.
    pub(crate) fn string(&mut self) -> Result<Vec<u8>, RdbError> {
        let at = self.pos;
        match self.len_or_encoding()? {
            Len::Plain(n) => {
                let n = usize::try_from(n).map_err(|_| self.error(at, Corruption::TooLong(n)))?;
                Ok(self.take(n)?.to_vec())
            }
            Len::Encoded(ENC_INT8) => {
                Ok(num::i64_text(i64::from(i8::from_le_bytes(self.array()?))))
            }
            Len::Encoded(ENC_INT16) => {
                Ok(num::i64_text(i64::from(i16::from_le_bytes(self.array()?))))
            }
            Len::Encoded(ENC_INT32) => {
                Ok(num::i64_text(i64::from(i32::from_le_bytes(self.array()?))))
            }
            Len::Encoded(ENC_LZF) => self.lzf_string(at),
            Len::Encoded(e) => Err(self.error(at, Corruption::StringEncoding(u64::from(e)))),
        }
    }

    /// A string as [`Reader::string`] reads it, borrowed from the input
    /// when it is stored as is.
    pub(crate) fn string_ref(&mut self) -> Result<std::borrow::Cow<'a, [u8]>, RdbError> {
        let at = self.pos;
        if let Len::Plain(n) = self.len_or_encoding()? {
            let n = usize::try_from(n).map_err(|_| self.error(at, Corruption::TooLong(n)))?;
            return Ok(std::borrow::Cow::Borrowed(self.take(n)?));
        }
        self.pos = at;
        self.string().map(std::borrow::Cow::Owned)
    }

    /// Steps over a string in any encoding without decoding it: a
    /// compressed one is neither decompressed nor checked.
    pub(crate) fn skip_string(&mut self) -> Result<(), RdbError> {
        let at = self.pos;
        let n = match self.len_or_encoding()? {
            Len::Plain(n) => n,
            Len::Encoded(ENC_INT8) => 1,
            Len::Encoded(ENC_INT16) => 2,
            Len::Encoded(ENC_INT32) => 4,
            Len::Encoded(ENC_LZF) => {
                let clen = self.len()?;
                self.len()?;
                clen
            }
            Len::Encoded(e) => return Err(self.error(at, Corruption::StringEncoding(u64::from(e)))),
        };
        let n = usize::try_from(n).map_err(|_| self.error(at, Corruption::TooLong(n)))?;
        self.take(n).map(|_| ())
    }

    /// Steps over a double written as text (`rdbLoadDoubleValue`).
    pub(crate) fn skip_text_double(&mut self) -> Result<(), RdbError> {
        match self.u8()? {
            DOUBLE_NEG_INF | DOUBLE_POS_INF | DOUBLE_NAN => Ok(()),
            n => self.take(usize::from(n)).map(|_| ()),
        }
    }

    fn lzf_string(&mut self, at: usize) -> Result<Vec<u8>, RdbError> {
        let clen = self.len()?;
        let len = self.len()?;
        let clen_usize =
            usize::try_from(clen).map_err(|_| self.error(at, Corruption::TooLong(clen)))?;
        let compressed = self.take(clen_usize)?;
        // What `clen` bytes can expand to bounds the allocation.
        let len_usize = usize::try_from(len)
            .ok()
            .filter(|&n| n <= clen_usize.saturating_mul(lzf::MAX_EXPANSION))
            .ok_or_else(|| self.error(at, Corruption::Lzf(len)))?;
        match lzf::decompress(compressed, len_usize) {
            Some(out) if out.len() == len_usize => Ok(out),
            // liblzf reports failure as 0 bytes, which is right for 0.
            None if len_usize == 0 => Ok(Vec::new()),
            _ => Err(self.error(at, Corruption::Lzf(len))),
        }
    }

    /// A double as text after a length byte (`rdbLoadDoubleValue`, RDB < 8).
    pub(crate) fn text_double(&mut self) -> Result<f64, RdbError> {
        let at = self.pos;
        match self.u8()? {
            DOUBLE_NEG_INF => Ok(f64::NEG_INFINITY),
            DOUBLE_POS_INF => Ok(f64::INFINITY),
            DOUBLE_NAN => Ok(f64::NAN),
            n => {
                let text = self.take(usize::from(n))?;
                num::parse_double(text).ok_or_else(|| self.error(at, Corruption::BadScore))
            }
        }
    }

    /// A little-endian IEEE 754 double (`rdbLoadBinaryDoubleValue`).
    pub(crate) fn binary_double(&mut self) -> Result<f64, RdbError> {
        Ok(f64::from_le_bytes(self.array()?))
    }
}

/// Writes a length prefix (`rdbSaveLen`).
pub(crate) fn write_len(out: &mut Vec<u8>, len: u64) {
    if len < 1 << 6 {
        out.push((len as u8) | (LEN_6BIT << 6));
    } else if len < 1 << 14 {
        out.push(((len >> 8) as u8) | (LEN_14BIT << 6));
        out.push(len as u8);
    } else if let Ok(n) = u32::try_from(len) {
        out.push(LEN_32BIT);
        out.extend_from_slice(&n.to_be_bytes());
    } else {
        out.push(LEN_64BIT);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

/// Writes `n` as an integer-encoded string when it fits 32 bits
/// (`rdbEncodeInteger`); returns whether it did.
fn write_int(out: &mut Vec<u8>, n: i64) -> bool {
    let tag = LEN_ENCVAL << 6;
    if let Ok(v) = i8::try_from(n) {
        out.push(tag | ENC_INT8);
        out.extend_from_slice(&v.to_le_bytes());
    } else if let Ok(v) = i16::try_from(n) {
        out.push(tag | ENC_INT16);
        out.extend_from_slice(&v.to_le_bytes());
    } else if let Ok(v) = i32::try_from(n) {
        out.push(tag | ENC_INT32);
        out.extend_from_slice(&v.to_le_bytes());
    } else {
        return false;
    }
    true
}

/// Writes a string as Redis' `rdbSaveRawString` does: a short canonical
/// integer of 32 bits as an integer, a string over 20 bytes LZF-compressed
/// when `compress` and that saves at least 4 bytes, otherwise length and
/// bytes.
pub(crate) fn write_string(out: &mut Vec<u8>, s: &[u8], compress: bool) {
    if s.len() <= INT_TRY_MAX_LEN {
        if let Some(n) = num::parse_canonical_i64(s) {
            if write_int(out, n) {
                return;
            }
        }
    }
    if compress && s.len() > LZF_MIN_LEN {
        if let Some(packed) = lzf::compress(s, s.len() - LZF_MIN_SAVING) {
            out.push((LEN_ENCVAL << 6) | ENC_LZF);
            write_len(out, packed.len() as u64);
            write_len(out, s.len() as u64);
            out.extend_from_slice(&packed);
            return;
        }
    }
    write_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// Writes a little-endian binary double (`rdbSaveBinaryDoubleValue`).
pub(crate) fn write_binary_double(out: &mut Vec<u8>, d: f64) {
    out.extend_from_slice(&d.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut v = Vec::new();
        f(&mut v);
        v
    }

    #[test]
    fn lengths_round_trip_at_every_boundary() {
        for (n, bytes) in [
            (0u64, 1usize),
            (63, 1),
            (64, 2),
            (16383, 2),
            (16384, 5),
            (u64::from(u32::MAX), 5),
            (u64::from(u32::MAX) + 1, 9),
            (u64::MAX, 9),
        ] {
            let enc = written(|o| write_len(o, n));
            assert_eq!(enc.len(), bytes, "{n}");
            assert_eq!(Reader::new(&enc).len(), Ok(n));
        }
        assert_eq!(written(|o| write_len(o, 300)), [0x41, 0x2c]);
    }

    #[test]
    fn strings_pick_redis_encodings() {
        assert_eq!(written(|o| write_string(o, b"7", true)), [0xc0, 7]);
        assert_eq!(
            written(|o| write_string(o, b"1000", true)),
            [0xc1, 0xe8, 0x03]
        );
        assert_eq!(
            written(|o| write_string(o, b"-100000", true)),
            [0xc2, 0x60, 0x79, 0xfe, 0xff]
        );
        // Beyond 32 bits, or not canonical: plain.
        assert_eq!(written(|o| write_string(o, b"12345678901", true))[0], 11);
        assert_eq!(written(|o| write_string(o, b"007", true)), b"\x03007");
        assert_eq!(written(|o| write_string(o, b"", true)), [0]);
        // Compressible but compression off.
        assert_eq!(written(|o| write_string(o, &[b'a'; 21], false)).len(), 22);
        assert_eq!(written(|o| write_string(o, &[b'a'; 21], true))[0], 0xc3);
        for s in [
            &b"7"[..],
            b"-100000",
            b"12345678901",
            b"",
            &[b'a'; 100],
            b"-0",
        ] {
            let enc = written(|o| write_string(o, s, true));
            let mut r = Reader::new(&enc);
            assert_eq!(r.string().as_deref(), Ok(s));
            assert_eq!(r.remaining(), 0);
        }
    }

    #[test]
    fn malformed_strings_are_errors() {
        for bad in [
            &[0xc4][..],                     // unknown special encoding
            &[0x05, b'a'],                   // truncated
            &[0xc3, 0x02, 0x05, 0x00, b'a'], // LZF short of its length
            &[0xc3, 0x01, 0x7f, 0x00],       // LZF stating more than it can hold
            &[0x82],                         // unknown length byte
            &[0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        ] {
            assert!(Reader::new(bad).string().is_err(), "{bad:?}");
        }
        assert_eq!(
            Reader::new(&[0x82]).string(),
            Err(RdbError::new(0, Corruption::LengthEncoding(0x82)))
        );
    }

    #[test]
    fn doubles() {
        let mut r = Reader::new(b"\x032.5\xfe\xff\xfd");
        assert_eq!(r.text_double(), Ok(2.5));
        assert_eq!(r.text_double(), Ok(f64::INFINITY));
        assert_eq!(r.text_double(), Ok(f64::NEG_INFINITY));
        assert!(r.text_double().is_ok_and(f64::is_nan));
        let enc = written(|o| write_binary_double(o, -1.25));
        assert_eq!(Reader::new(&enc).binary_double(), Ok(-1.25));
    }
}
