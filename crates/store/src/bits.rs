//! Bit operations on strings (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP,
//! BITFIELD, BITFIELD_RO) and the longest common subsequence (LCS).
//!
//! Strings are bit arrays with bit 0 the most significant bit of the first
//! byte. Reads past the end see zero bits; writes past the end grow the
//! string with zero bytes, up to `proto-max-bulk-len`. Integer-encoded
//! strings are their decimal text. Strings written here are stored raw, as
//! Redis does.

use crate::access::{check_len, expect_type, Access};
use crate::error::StoreError;
use crate::notify::class;
use crate::smallbytes::SmallBytes;
use crate::store::Db;
use crate::value::{StrValue, Value};

/// The unit of a BITCOUNT / BITPOS range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BitUnit {
    /// Offsets count bytes (`BYTE`, the default).
    #[default]
    Byte,
    /// Offsets count bits (`BIT`).
    Bit,
}

/// A BITCOUNT / BITPOS range: inclusive offsets in `unit`, negative ones
/// counting from the end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BitRange {
    /// First offset.
    pub start: i64,
    /// Last offset; `None` for the end of the string (BITPOS without an
    /// end, which also changes what a search for 0 returns).
    pub end: Option<i64>,
    /// Bytes or bits.
    pub unit: BitUnit,
}

/// The operation of BITOP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitOp {
    /// `AND`
    And,
    /// `OR`
    Or,
    /// `XOR`
    Xor,
    /// `NOT`: the complement of the first source (Redis accepts exactly
    /// one; further sources only lengthen the result, with 0xff bytes).
    Not,
}

/// A BITFIELD integer type: `i1`..`i64` or `u1`..`u63`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BitfieldType {
    signed: bool,
    bits: u8,
}

impl BitfieldType {
    /// `i<bits>` (1..=64) when `signed`, `u<bits>` (1..=63) otherwise;
    /// `None` outside those widths.
    pub fn new(signed: bool, bits: u8) -> Option<BitfieldType> {
        let max = if signed { 64 } else { 63 };
        (1..=max)
            .contains(&bits)
            .then_some(BitfieldType { signed, bits })
    }

    /// Parses `i16`, `u8`, ... as BITFIELD does.
    pub fn parse(text: &[u8]) -> Option<BitfieldType> {
        let (&sign, digits) = text.split_first()?;
        let signed = match sign {
            b'i' => true,
            b'u' => false,
            _ => return None,
        };
        let bits = ferrodis_resp::parse_i64(digits)?;
        BitfieldType::new(signed, u8::try_from(bits).ok()?)
    }

    /// Whether the type is signed.
    pub fn signed(self) -> bool {
        self.signed
    }

    /// The width in bits.
    pub fn bits(self) -> u8 {
        self.bits
    }
}

/// What BITFIELD does when a SET or INCRBY does not fit the type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BitfieldOverflow {
    /// Wrap around (`WRAP`, the default).
    #[default]
    Wrap,
    /// Saturate at the type's minimum or maximum (`SAT`).
    Sat,
    /// Leave the field alone and answer `None` (`FAIL`).
    Fail,
}

/// One BITFIELD subcommand. Offsets are in bits (`#n` offsets multiplied
/// by the width already).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitfieldOp {
    /// `GET type offset`: the field's value.
    Get {
        /// The field's type.
        ty: BitfieldType,
        /// Its first bit.
        offset: u64,
    },
    /// `SET type offset value`: writes `value`, answers the old value.
    Set {
        /// The field's type.
        ty: BitfieldType,
        /// Its first bit.
        offset: u64,
        /// The value to write.
        value: i64,
        /// The `OVERFLOW` mode in force.
        overflow: BitfieldOverflow,
    },
    /// `INCRBY type offset increment`: adds, answers the new value.
    IncrBy {
        /// The field's type.
        ty: BitfieldType,
        /// Its first bit.
        offset: u64,
        /// The increment.
        increment: i64,
        /// The `OVERFLOW` mode in force.
        overflow: BitfieldOverflow,
    },
}

impl BitfieldOp {
    fn ty_offset(&self) -> (BitfieldType, u64) {
        match *self {
            BitfieldOp::Get { ty, offset }
            | BitfieldOp::Set { ty, offset, .. }
            | BitfieldOp::IncrBy { ty, offset, .. } => (ty, offset),
        }
    }

    /// Whether the subcommand writes (`SET`, `INCRBY`).
    pub fn is_write(&self) -> bool {
        !matches!(self, BitfieldOp::Get { .. })
    }
}

/// What LCS computes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LcsQuery {
    /// The common subsequence itself (plain `LCS`).
    #[default]
    String,
    /// Only its length (`LEN`).
    Len,
    /// The matching ranges (`IDX`), those shorter than `min_match_len`
    /// left out (`MINMATCHLEN`).
    Idx {
        /// The shortest range reported.
        min_match_len: u64,
    },
}

/// One matching range of `LCS ... IDX`: inclusive byte ranges in each
/// string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LcsMatch {
    /// First and last byte in the first string.
    pub a: (usize, usize),
    /// First and last byte in the second string.
    pub b: (usize, usize),
    /// The range's length.
    pub len: usize,
}

/// The answer of [`Db::lcs`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lcs {
    /// The length of the longest common subsequence.
    pub len: usize,
    /// The subsequence ([`LcsQuery::String`] only).
    pub string: Option<Vec<u8>>,
    /// The matching ranges, last first, as Redis lists them
    /// ([`LcsQuery::Idx`] only).
    pub matches: Vec<LcsMatch>,
}

/// The bit at `offset` (0 past the end).
fn bit_at(bytes: &[u8], offset: u64) -> bool {
    let byte = usize::try_from(offset >> 3).unwrap_or(usize::MAX);
    bytes
        .get(byte)
        .is_some_and(|b| b & (0x80 >> (offset & 7)) != 0)
}

/// Sets the bit at `offset`, which must be inside `bytes`.
fn put_bit(bytes: &mut [u8], offset: u64, on: bool) {
    let byte = usize::try_from(offset >> 3).unwrap_or(usize::MAX);
    if let Some(b) = bytes.get_mut(byte) {
        let mask = 0x80u8 >> (offset & 7);
        if on {
            *b |= mask;
        } else {
            *b &= !mask;
        }
    }
}

/// The inclusive range `start..=end` of a sequence of `len` units, after
/// negative offsets count from the end and both are clamped; `None` when
/// it is empty.
fn clamp_range(start: i64, end: i64, len: i64) -> Option<(u64, u64)> {
    let start = if start < 0 {
        start.saturating_add(len)
    } else {
        start
    }
    .max(0);
    let end = if end < 0 {
        end.saturating_add(len)
    } else {
        end
    }
    .max(0)
    .min(len - 1);
    (start <= end).then_some((start as u64, end as u64))
}

/// The bit range of `range` in a string of `len` bytes.
fn bit_range(range: BitRange, len: usize) -> Option<(u64, u64)> {
    let len = i64::try_from(len).unwrap_or(i64::MAX >> 3);
    match range.unit {
        BitUnit::Bit => clamp_range(range.start, range.end.unwrap_or(-1), len << 3),
        BitUnit::Byte => clamp_range(range.start, range.end.unwrap_or(-1), len)
            .map(|(s, e)| (s << 3, (e << 3) | 7)),
    }
}

/// The byte at index `i` of `bytes` with the bits outside `first..=last`
/// (bit offsets) forced to `fill`.
fn masked_byte(bytes: &[u8], i: u64, first: u64, last: u64, fill: bool) -> u8 {
    let b = usize::try_from(i)
        .ok()
        .and_then(|i| bytes.get(i))
        .copied()
        .unwrap_or(0);
    let lo = if first >> 3 == i { first & 7 } else { 0 };
    let hi = if last >> 3 == i { last & 7 } else { 7 };
    // Bits lo..=hi (from the most significant) are inside the range.
    let inside = (0xffu8 >> lo) & (0xffu8 << (7 - hi));
    if fill {
        b | !inside
    } else {
        b & inside
    }
}

/// The number of set bits in bits `first..=last` of `bytes`.
fn count_bits(bytes: &[u8], first: u64, last: u64) -> u64 {
    let (fb, lb) = (first >> 3, last >> 3);
    if fb == lb {
        return u64::from(masked_byte(bytes, fb, first, last, false).count_ones());
    }
    let head = masked_byte(bytes, fb, first, last, false).count_ones();
    let tail = masked_byte(bytes, lb, first, last, false).count_ones();
    let middle = usize::try_from(fb + 1)
        .ok()
        .zip(usize::try_from(lb).ok())
        .and_then(|(a, b)| bytes.get(a..b))
        .unwrap_or_default();
    u64::from(head) + u64::from(tail) + popcount(middle)
}

fn popcount(bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(8);
    let mut n: u64 = 0;
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        n += u64::from(u64::from_ne_bytes(w).count_ones());
    }
    n + chunks
        .remainder()
        .iter()
        .map(|b| u64::from(b.count_ones()))
        .sum::<u64>()
}

/// The first bit equal to `bit` in bits `first..=last` of `bytes`.
fn find_bit(bytes: &[u8], bit: bool, first: u64, last: u64) -> Option<u64> {
    let (fb, lb) = (first >> 3, last >> 3);
    // Looking for 1: bits outside the range read 0; for 0 they read 1.
    let hit = |i: u64| {
        let b = masked_byte(bytes, i, first, last, !bit);
        let b = if bit { b } else { !b };
        (b != 0).then(|| (i << 3) + u64::from(b.leading_zeros()))
    };
    if let Some(p) = hit(fb) {
        return Some(p);
    }
    if lb == fb {
        return None;
    }
    let skip = if bit { 0u8 } else { 0xff };
    let middle = usize::try_from(fb + 1)
        .ok()
        .zip(usize::try_from(lb).ok())
        .and_then(|(a, b)| bytes.get(a..b))
        .unwrap_or_default();
    if let Some(j) = middle.iter().position(|&b| b != skip) {
        return hit(fb + 1 + j as u64);
    }
    hit(lb)
}

/// Reads a `bits`-wide field at bit `offset` as an unsigned number (zero
/// bits past the end).
fn get_field(bytes: &[u8], offset: u64, bits: u8) -> u64 {
    (0..u64::from(bits)).fold(0u64, |v, i| (v << 1) | u64::from(bit_at(bytes, offset + i)))
}

/// Writes the low `bits` bits of `value` at bit `offset`.
fn put_field(bytes: &mut [u8], offset: u64, bits: u8, value: u64) {
    for i in 0..u64::from(bits) {
        let on = (value >> (u64::from(bits) - 1 - i)) & 1 == 1;
        put_bit(bytes, offset + i, on);
    }
}

/// Reads a field of type `ty` as an `i64` (sign-extended when signed).
fn read_typed(bytes: &[u8], offset: u64, ty: BitfieldType) -> i64 {
    let raw = get_field(bytes, offset, ty.bits);
    if ty.signed && ty.bits < 64 && raw & (1u64 << (ty.bits - 1)) != 0 {
        (raw | (u64::MAX << ty.bits)) as i64
    } else {
        raw as i64
    }
}

/// `value + incr` in a field of type `ty`: the stored bits' value, or
/// `None` when it overflows under [`BitfieldOverflow::Fail`].
///
/// Out-of-range values are judged as Redis does: for unsigned types a
/// negative SET value counts as a very large one.
fn fit(ty: BitfieldType, value: i64, incr: i64, overflow: BitfieldOverflow) -> Option<i64> {
    let bits = u32::from(ty.bits);
    if ty.signed {
        let max = if bits == 64 {
            i64::MAX
        } else {
            (1i64 << (bits - 1)) - 1
        };
        let min = -max - 1;
        let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
        let min_incr = min.wrapping_sub(value);
        let over = value > max
            || (bits != 64 && incr > max_incr)
            || (value >= 0 && incr > 0 && incr > max_incr);
        let under = !over
            && (value < min
                || (bits != 64 && incr < min_incr)
                || (value < 0 && incr < 0 && incr < min_incr));
        if !over && !under {
            return Some(value.wrapping_add(incr));
        }
        match overflow {
            BitfieldOverflow::Fail => None,
            BitfieldOverflow::Sat => Some(if over { max } else { min }),
            BitfieldOverflow::Wrap => {
                let mut c = (value as u64).wrapping_add(incr as u64);
                if bits < 64 {
                    let mask = u64::MAX << bits;
                    if c & (1u64 << (bits - 1)) != 0 {
                        c |= mask;
                    } else {
                        c &= !mask;
                    }
                }
                Some(c as i64)
            }
        }
    } else {
        let max = (1u64 << bits) - 1;
        let v = value as u64;
        let over = v > max || (incr > 0 && incr > max.wrapping_sub(v) as i64);
        let under = !over && incr < 0 && incr < (v as i64).wrapping_neg();
        if !over && !under {
            return Some(v.wrapping_add(incr as u64) as i64);
        }
        match overflow {
            BitfieldOverflow::Fail => None,
            BitfieldOverflow::Sat => Some(if over { max as i64 } else { 0 }),
            BitfieldOverflow::Wrap => Some((v.wrapping_add(incr as u64) & max) as i64),
        }
    }
}

/// Runs one BITFIELD subcommand on a buffer already long enough for every
/// write.
fn apply_field(bytes: &mut [u8], op: &BitfieldOp) -> (Option<i64>, bool) {
    match *op {
        BitfieldOp::Get { ty, offset } => (Some(read_typed(bytes, offset, ty)), false),
        BitfieldOp::Set {
            ty,
            offset,
            value,
            overflow,
        } => {
            let old = read_typed(bytes, offset, ty);
            match fit(ty, value, 0, overflow) {
                None => (None, false),
                Some(new) => {
                    put_field(bytes, offset, ty.bits, new as u64);
                    (Some(old), old != new)
                }
            }
        }
        BitfieldOp::IncrBy {
            ty,
            offset,
            increment,
            overflow,
        } => {
            let old = read_typed(bytes, offset, ty);
            match fit(ty, old, increment, overflow) {
                None => (None, false),
                Some(new) => {
                    put_field(bytes, offset, ty.bits, new as u64);
                    (Some(new), old != new)
                }
            }
        }
    }
}

/// The byte length a string needs so that bit `offset` exists, checked
/// against `proto-max-bulk-len` by the offset's own byte as Redis does.
fn bytes_for_bit(db: &Db<'_>, offset: u64) -> Result<usize, StoreError> {
    let byte = usize::try_from(offset >> 3).map_err(|_| StoreError::StringTooLong)?;
    check_len(db, byte.saturating_add(1))?;
    Ok(byte + 1)
}

/// The longest common subsequence of `a` and `b`, computed as Redis does
/// (same table, same walk, so the same subsequence and ranges), with the
/// table's size limited to `max_table` bytes.
pub(crate) fn lcs_of(
    a: &[u8],
    b: &[u8],
    query: LcsQuery,
    max_table: usize,
) -> Result<Lcs, StoreError> {
    let (alen, blen) = (a.len(), b.len());
    let too_long = || StoreError::StringTooLong;
    let cells = (alen + 1).checked_mul(blen + 1).ok_or_else(too_long)?;
    if alen >= u32::MAX as usize - 1
        || blen >= u32::MAX as usize - 1
        || cells.checked_mul(4).map_or(true, |n| n > max_table)
    {
        return Err(too_long());
    }
    let mut table: Vec<u32> = Vec::new();
    table
        .try_reserve_exact(cells)
        .map_err(|_| StoreError::OutOfMemory)?;
    table.resize(cells, 0);
    let w = blen + 1;
    let at = |t: &[u32], i: usize, j: usize| t.get(i * w + j).copied().unwrap_or(0);
    for (i, &ca) in a.iter().enumerate() {
        for (j, &cb) in b.iter().enumerate() {
            let v = if ca == cb {
                at(&table, i, j) + 1
            } else {
                at(&table, i, j + 1).max(at(&table, i + 1, j))
            };
            if let Some(cell) = table.get_mut((i + 1) * w + j + 1) {
                *cell = v;
            }
        }
    }
    let len = at(&table, alen, blen) as usize;
    let mut out = Lcs {
        len,
        ..Lcs::default()
    };
    let (want_string, min_match) = match query {
        LcsQuery::Len => return Ok(out),
        LcsQuery::String => (true, None),
        LcsQuery::Idx { min_match_len } => (false, Some(min_match_len)),
    };
    let mut string = vec![0u8; len];
    let mut k = len;
    // The current range, as (a start, a end, b start, b end).
    let mut range: Option<(usize, usize, usize, usize)> = None;
    let (mut i, mut j) = (alen, blen);
    while i > 0 && j > 0 {
        let mut emit = false;
        let ca = a.get(i - 1).copied();
        if ca == b.get(j - 1).copied() {
            k -= 1;
            if let (Some(slot), Some(c)) = (string.get_mut(k), ca) {
                *slot = c;
            }
            range = Some(match range {
                None => (i - 1, i - 1, j - 1, j - 1),
                Some((sa, ea, sb, eb)) if sa == i && sb == j => (sa - 1, ea, sb - 1, eb),
                Some(r) => {
                    emit = true;
                    r
                }
            });
            if range.is_some_and(|(sa, _, sb, _)| sa == 0 || sb == 0) {
                emit = true;
            }
            i -= 1;
            j -= 1;
        } else {
            if at(&table, i - 1, j) > at(&table, i, j - 1) {
                i -= 1;
            } else {
                j -= 1;
            }
            emit = range.is_some();
        }
        if emit {
            if let (Some((sa, ea, sb, eb)), Some(min)) = (range, min_match) {
                let n = ea - sa + 1;
                if min == 0 || n as u64 >= min {
                    out.matches.push(LcsMatch {
                        a: (sa, ea),
                        b: (sb, eb),
                        len: n,
                    });
                }
            }
            range = None;
        }
    }
    if want_string {
        out.string = Some(string);
    }
    Ok(out)
}

impl Db<'_> {
    /// `SETBIT key offset 0|1`: the bit's previous value. The string grows
    /// with zero bytes to hold `offset`.
    pub fn set_bit(&self, key: &[u8], offset: u64, on: bool) -> Result<bool, StoreError> {
        let mut table = self.keys.lock(key);
        let need = bytes_for_bit(self, offset)?;
        match self.live(&mut table, key, Access::Write) {
            None => {
                let mut bytes = vec![0u8; need];
                put_bit(&mut bytes, offset, on);
                let entry = self.entry(Value::String(StrValue::Buf(bytes)));
                self.put(&mut table, key, entry);
                self.notify(class::STRING, "setbit", key);
                Ok(false)
            }
            Some(e) => {
                let s = expect_type!(e, String)?;
                let old = s.with_bytes(|b| bit_at(b, offset));
                let grows = s.len() < need;
                if old == on && !grows {
                    return Ok(old);
                }
                // In place: setting bits one by one costs no copy per call.
                let bytes = s.make_mut();
                if grows {
                    bytes.resize(need, 0);
                }
                put_bit(bytes, offset, on);
                table.touch(key);
                self.notify(class::STRING, "setbit", key);
                Ok(old)
            }
        }
    }

    /// `GETBIT key offset`: the bit (false past the end or for a missing
    /// key).
    pub fn get_bit(&self, key: &[u8], offset: u64) -> Result<bool, StoreError> {
        let mut table = self.keys.lock(key);
        match self.live(&mut table, key, Access::Read) {
            None => Ok(false),
            Some(e) => Ok(expect_type!(e, String)?.with_bytes(|b| bit_at(b, offset))),
        }
    }

    /// `BITCOUNT key [start end [BYTE|BIT]]`: the set bits in the range
    /// (`None`: the whole string).
    pub fn bit_count(&self, key: &[u8], range: Option<BitRange>) -> Result<u64, StoreError> {
        let mut table = self.keys.lock(key);
        let Some(e) = self.live(&mut table, key, Access::Read) else {
            return Ok(0);
        };
        let s = expect_type!(e, String)?;
        if let Some(BitRange {
            start,
            end: Some(end),
            ..
        }) = range
        {
            // Both negative and crossed: empty, before any clamping.
            if start < 0 && end < 0 && start > end {
                return Ok(0);
            }
        }
        let range = range.unwrap_or_default();
        Ok(s.with_bytes(|b| match bit_range(range, b.len()) {
            None => 0,
            Some((first, last)) => count_bits(b, first, last),
        }))
    }

    /// `BITPOS key bit [start [end [BYTE|BIT]]]`: the first bit equal to
    /// `bit` in the range (`None`: the whole string), or -1.
    ///
    /// As in Redis, a missing key is all zeros (0 for a clear bit, -1 for
    /// a set one), and a search for a clear bit without an explicit end
    /// finds the first bit after the string when the range is all ones.
    pub fn bit_pos(
        &self,
        key: &[u8],
        bit: bool,
        range: Option<BitRange>,
    ) -> Result<i64, StoreError> {
        let mut table = self.keys.lock(key);
        let Some(e) = self.live(&mut table, key, Access::Read) else {
            return Ok(if bit { -1 } else { 0 });
        };
        let s = expect_type!(e, String)?;
        let range = range.unwrap_or_default();
        Ok(s.with_bytes(|b| match bit_range(range, b.len()) {
            None => -1,
            Some((first, last)) => match find_bit(b, bit, first, last) {
                Some(p) => p as i64,
                None if bit || range.end.is_some() => -1,
                None => (last + 1) as i64,
            },
        }))
    }

    /// `BITOP op destkey key [key ...]`: stores the result in `dest`
    /// (deleting it when the result is empty) and returns its length.
    /// Missing sources are empty strings; shorter ones are zero-padded.
    pub fn bit_op(&self, op: BitOp, dest: &[u8], sources: &[&[u8]]) -> Result<usize, StoreError> {
        let mut locked = self
            .keys
            .lock_many(std::iter::once(dest).chain(sources.iter().copied()));
        let mut values: Vec<Option<Vec<u8>>> = Vec::with_capacity(sources.len());
        for src in sources {
            let Some(table) = locked.table(src) else {
                values.push(None);
                continue;
            };
            match self.live(table, src, Access::Read) {
                None => values.push(None),
                Some(e) => values.push(Some(expect_type!(e, String)?.to_vec())),
            }
        }
        let len = values
            .iter()
            .map(|v| v.as_ref().map_or(0, Vec::len))
            .max()
            .unwrap_or(0);
        let Some(table) = locked.table(dest) else {
            return Ok(0);
        };
        if len == 0 {
            if self.live(table, dest, Access::Peek).is_some() {
                table.remove(dest);
                self.notify(class::GENERIC, "del", dest);
            }
            return Ok(0);
        }
        let byte =
            |v: &Option<Vec<u8>>, i: usize| v.as_ref().and_then(|v| v.get(i)).copied().unwrap_or(0);
        let mut out = match values.first() {
            Some(Some(first)) => first.clone(),
            _ => Vec::new(),
        };
        out.resize(len, 0);
        match op {
            BitOp::Not => out.iter_mut().for_each(|b| *b = !*b),
            BitOp::And | BitOp::Or | BitOp::Xor => {
                for v in values.iter().skip(1) {
                    for (i, o) in out.iter_mut().enumerate() {
                        let b = byte(v, i);
                        match op {
                            BitOp::And => *o &= b,
                            BitOp::Or => *o |= b,
                            _ => *o ^= b,
                        }
                    }
                }
            }
        }
        let entry = self.entry(Value::String(StrValue::Raw(SmallBytes::from(out))));
        self.put(table, dest, entry);
        self.notify(class::STRING, "set", dest);
        Ok(len)
    }

    /// `BITFIELD key [GET|SET|INCRBY ...] ...`: one answer per operation,
    /// `None` where an overflow failed under `OVERFLOW FAIL`.
    ///
    /// With only GETs this is a read (BITFIELD_RO) and never creates the
    /// key; any write first grows the string to hold every written field,
    /// creating the key if needed, as Redis does even when every write then
    /// fails.
    pub fn bit_field(
        &self,
        key: &[u8],
        ops: &[BitfieldOp],
    ) -> Result<Vec<Option<i64>>, StoreError> {
        let mut table = self.keys.lock(key);
        if !ops.iter().any(BitfieldOp::is_write) {
            let Some(e) = self.live(&mut table, key, Access::Read) else {
                return Ok(ops.iter().map(|_| Some(0)).collect());
            };
            let s = expect_type!(e, String)?;
            return Ok(s.with_bytes(|b| {
                ops.iter()
                    .map(|op| {
                        let (ty, offset) = op.ty_offset();
                        Some(read_typed(b, offset, ty))
                    })
                    .collect()
            }));
        }
        let mut need = 0usize;
        for op in ops.iter().filter(|op| op.is_write()) {
            let (ty, offset) = op.ty_offset();
            bytes_for_bit(self, offset)?;
            let last = offset.saturating_add(u64::from(ty.bits) - 1);
            let n = usize::try_from(last >> 3).map_err(|_| StoreError::StringTooLong)?;
            need = need.max(n.saturating_add(1));
        }
        let entry = self.live(&mut table, key, Access::Write);
        let (mut bytes, existed) = match entry {
            None => (Vec::new(), false),
            Some(e) => (expect_type!(e, String)?.to_vec(), true),
        };
        let grown = !existed || bytes.len() < need;
        if bytes.len() < need {
            bytes.resize(need, 0);
        }
        let mut changed = false;
        let replies = ops
            .iter()
            .map(|op| {
                let (reply, changes) = apply_field(&mut bytes, op);
                changed |= changes;
                reply
            })
            .collect();
        if grown || changed {
            let value = Value::String(StrValue::Buf(bytes));
            match self.live(&mut table, key, Access::Peek) {
                Some(e) => {
                    e.value = value;
                    table.touch(key);
                }
                None => {
                    let e = self.entry(value);
                    self.put(&mut table, key, e);
                }
            }
            self.notify(class::STRING, "setbit", key);
        }
        Ok(replies)
    }

    /// `LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n]`: the longest common
    /// subsequence of two strings (missing keys are empty).
    ///
    /// Errors: [`StoreError::WrongType`] when a key is not a string,
    /// [`StoreError::StringTooLong`] when the table of the computation
    /// would exceed `proto-max-bulk-len` bytes, [`StoreError::OutOfMemory`]
    /// when it cannot be allocated.
    pub fn lcs(&self, key1: &[u8], key2: &[u8], query: LcsQuery) -> Result<Lcs, StoreError> {
        let (a, b) = {
            let mut locked = self.keys.lock_many([key1, key2]);
            let mut read = |key: &[u8]| -> Result<Option<Vec<u8>>, StoreError> {
                let Some(table) = locked.table(key) else {
                    return Ok(None);
                };
                match self.live(table, key, Access::Read) {
                    None => Ok(None),
                    Some(e) => match &e.value {
                        Value::String(s) => Ok(Some(s.to_vec())),
                        #[allow(unreachable_patterns)]
                        _ => Err(StoreError::WrongType),
                    },
                }
            };
            let a = read(key1);
            let b = read(key2);
            (a?.unwrap_or_default(), b?.unwrap_or_default())
        };
        let max = self
            .store
            .settings()
            .proto_max_bulk_len
            .load(std::sync::atomic::Ordering::Relaxed);
        lcs_of(&a, &b, query, max)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::Store;

    #[test]
    fn bit_ranges_follow_redis() {
        // "foobar": the example of the BITCOUNT documentation.
        let store = Store::new();
        let db = store.db(0).unwrap();
        db.set(b"k", b"foobar", Default::default()).unwrap();
        let r = |start, end, unit| {
            Some(BitRange {
                start,
                end: Some(end),
                unit,
            })
        };
        assert_eq!(db.bit_count(b"k", None).unwrap(), 26);
        assert_eq!(db.bit_count(b"k", r(0, 0, BitUnit::Byte)).unwrap(), 4);
        assert_eq!(db.bit_count(b"k", r(1, 1, BitUnit::Byte)).unwrap(), 6);
        assert_eq!(db.bit_count(b"k", r(5, 30, BitUnit::Bit)).unwrap(), 17);
        assert_eq!(db.bit_count(b"k", r(-1, -2, BitUnit::Byte)).unwrap(), 0);
        db.set(b"p", b"\xff\xf0\x00", Default::default()).unwrap();
        assert_eq!(db.bit_pos(b"p", false, None).unwrap(), 12);
        db.set(b"p", b"\x00\xff\xf0", Default::default()).unwrap();
        assert_eq!(db.bit_pos(b"p", true, r(0, -1, BitUnit::Byte)).unwrap(), 8);
        assert_eq!(db.bit_pos(b"p", true, r(2, -1, BitUnit::Byte)).unwrap(), 16);
        assert_eq!(db.bit_pos(b"p", true, r(7, 15, BitUnit::Bit)).unwrap(), 8);
        db.set(b"p", b"\xff\xff\xff", Default::default()).unwrap();
        assert_eq!(db.bit_pos(b"p", false, None).unwrap(), 24);
        let open = BitRange {
            start: 1,
            end: None,
            unit: BitUnit::Byte,
        };
        assert_eq!(db.bit_pos(b"p", false, Some(open)).unwrap(), 24);
        assert_eq!(
            db.bit_pos(b"p", false, r(1, -1, BitUnit::Byte)).unwrap(),
            -1
        );
        assert_eq!(db.bit_pos(b"nope", false, None).unwrap(), 0);
        assert_eq!(db.bit_pos(b"nope", true, None).unwrap(), -1);
    }

    #[test]
    fn integers_are_their_text() {
        let store = Store::new();
        let db = store.db(0).unwrap();
        db.incr_by(b"n", 1).unwrap();
        // "1" is 0x31: 00110001.
        assert!(db.get_bit(b"n", 2).unwrap());
        assert!(!db.get_bit(b"n", 1).unwrap());
        assert_eq!(db.bit_count(b"n", None).unwrap(), 3);
        assert!(!db.set_bit(b"n", 6, true).unwrap());
        assert_eq!(db.get(b"n").unwrap().unwrap(), b"3");
    }

    #[test]
    fn bitfield_overflow_modes() {
        let u8t = BitfieldType::new(false, 8).unwrap();
        let i8t = BitfieldType::new(true, 8).unwrap();
        let i64t = BitfieldType::new(true, 64).unwrap();
        use BitfieldOverflow::*;
        assert_eq!(fit(u8t, 250, 10, Wrap), Some(4));
        assert_eq!(fit(u8t, 250, 10, Sat), Some(255));
        assert_eq!(fit(u8t, 250, 10, Fail), None);
        assert_eq!(fit(u8t, 5, -10, Sat), Some(0));
        assert_eq!(fit(u8t, -1, 0, Sat), Some(255));
        assert_eq!(fit(i8t, 120, 10, Wrap), Some(-126));
        assert_eq!(fit(i8t, -120, -10, Sat), Some(-128));
        assert_eq!(fit(i64t, i64::MAX, 1, Wrap), Some(i64::MIN));
        assert_eq!(fit(i64t, i64::MIN, -1, Sat), Some(i64::MIN));
        assert_eq!(BitfieldType::parse(b"u64"), None);
        assert_eq!(BitfieldType::parse(b"i64"), Some(i64t));
        assert_eq!(BitfieldType::parse(b"i0"), None);
    }

    #[test]
    fn lcs_matches_redis_example() {
        let got = lcs_of(
            b"ohmytext",
            b"mynewtext",
            LcsQuery::Idx { min_match_len: 0 },
            1 << 20,
        )
        .unwrap();
        assert_eq!(got.len, 6);
        assert_eq!(
            got.matches,
            vec![
                LcsMatch {
                    a: (4, 7),
                    b: (5, 8),
                    len: 4
                },
                LcsMatch {
                    a: (2, 3),
                    b: (0, 1),
                    len: 2
                },
            ]
        );
        let s = lcs_of(b"ohmytext", b"mynewtext", LcsQuery::String, 1 << 20).unwrap();
        assert_eq!(s.string.as_deref(), Some(&b"mytext"[..]));
        assert!(lcs_of(b"abc", b"abc", LcsQuery::Len, 8).is_err());
    }
}
