//! HyperLogLog on byte strings, in Redis 7's layout: a value written here
//! is byte for byte what Redis writes for the same commands, so HLLs cross
//! between the two in DUMP payloads, RDB files and replication as plain
//! strings.
//!
//! # Layout
//!
//! | offset | size | field                                                  |
//! |--------|------|--------------------------------------------------------|
//! | 0      | 4    | magic `HYLL`                                           |
//! | 4      | 1    | encoding: 0 dense, 1 sparse                            |
//! | 5      | 3    | unused (zero)                                          |
//! | 8      | 8    | cached cardinality, little endian; bit 7 of byte 15 set = stale |
//! | 16     | ...  | registers                                              |
//!
//! 16384 registers (P = 14) of 6 bits. Dense: 12288 bytes, register `i`
//! at bit `6 * i`, least significant bits first, possibly straddling two
//! bytes. Sparse: a run-length code of opcodes,
//!
//! - `00xxxxxx` ZERO: `x + 1` (1..=64) zero registers;
//! - `01xxxxxx yyyyyyyy` XZERO: `(x << 8 | y) + 1` (1..=16384) zero registers;
//! - `1vvvvvxx` VAL: `x + 1` (1..=4) registers of value `v + 1` (1..=32).
//!
//! A sparse HLL becomes dense when a register would exceed 32 or the string
//! would grow beyond `hll-sparse-max-bytes`; never the other way.
//!
//! Elements hash with MurmurHash64A (seed `0xadc83b19`): the low 14 bits
//! pick the register, and the position of the first set bit of the rest,
//! counting from 1, is the candidate value. The cardinality is Ertl's improved estimator
//! ("New cardinality estimation algorithms for HyperLogLog sketches",
//! 2017) over the histogram of register values.
//!
//! A sparse code must cover exactly 16384 registers; a run that would
//! reach past the last register makes it corrupt even where the registers
//! already add up (as the Redis 7.0.15 that Debian ships, with the fix for
//! CVE-2025-32023, treats it).
//!
//! Every function takes untrusted bytes: a corrupt value gives
//! [`HllError::Corrupt`] (or a count over a damaged register set, as in
//! Redis), never a panic or a read out of bounds.

use thiserror::Error;

/// Bits of the hash that pick the register.
pub const P: u32 = 14;
/// Number of registers.
pub const REGISTERS: usize = 1 << P;
/// Bits per dense register.
const BITS: usize = 6;
/// The largest register value.
const REGISTER_MAX: u8 = (1 << BITS) - 1;
/// Bits of the hash left after the register index.
const Q: u32 = 64 - P;
/// Header length.
pub const HDR_SIZE: usize = 16;
/// Length of a dense HLL.
pub const DENSE_SIZE: usize = HDR_SIZE + (REGISTERS * BITS).div_ceil(8);
/// Offset of the encoding byte.
const ENCODING_AT: usize = 4;
/// Offset of the cached cardinality.
const CARD_AT: usize = 8;
/// The byte holding the "cache is stale" bit (its most significant bit).
const STALE_AT: usize = CARD_AT + 7;
/// Encoding byte of a dense HLL.
const DENSE: u8 = 0;
/// Encoding byte of a sparse HLL.
const SPARSE: u8 = 1;
/// Largest value a sparse VAL opcode holds.
const VAL_MAX_VALUE: u8 = 32;
/// Longest run of a VAL opcode.
const VAL_MAX_LEN: usize = 4;
/// Longest run of a ZERO opcode.
const ZERO_MAX_LEN: usize = 64;
/// Longest run of an XZERO opcode.
const XZERO_MAX_LEN: usize = 16384;
/// The hash seed.
const SEED: u64 = 0xadc8_3b19;
/// 0.5 / ln 2, the estimator's constant for m → ∞.
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// Why an HLL operation failed. `Display` is Redis' reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum HllError {
    /// The string is not an HLL (bad magic, encoding or dense length).
    #[error("WRONGTYPE Key is not a valid HyperLogLog string value.")]
    NotHll,
    /// The registers do not decode (a sparse code that does not cover
    /// exactly 16384 registers).
    #[error("INVALIDOBJ Corrupted HLL object detected")]
    Corrupt,
}

/// The two encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HllEncoding {
    /// 6 bits per register.
    Dense,
    /// Run-length opcodes.
    Sparse,
}

impl HllEncoding {
    /// The name PFDEBUG ENCODING answers.
    pub fn name(self) -> &'static str {
        match self {
            HllEncoding::Dense => "dense",
            HllEncoding::Sparse => "sparse",
        }
    }
}

/// MurmurHash64A (Austin Appleby), little-endian reads, as Redis hashes
/// HLL elements.
pub fn murmur64a(data: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    // Redis passes the length as an int: only its low 32 bits count.
    let len = data.len() as u32 as i32 as i64 as u64;
    let mut h = seed ^ len.wrapping_mul(M);
    let mut chunks = data.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let mut k = u64::from_le_bytes(word);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate().rev() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element updates and the value it offers (1..=51).
pub fn position(element: &[u8]) -> (usize, u8) {
    let hash = murmur64a(element, SEED);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

/// Register `i` of a dense register array (bytes past the end read as 0).
fn dense_get(regs: &[u8], i: usize) -> u8 {
    let bit = i * BITS;
    let (byte, shift) = (bit / 8, bit % 8);
    let b0 = u16::from(regs.get(byte).copied().unwrap_or(0));
    let b1 = u16::from(regs.get(byte + 1).copied().unwrap_or(0));
    (((b0 | (b1 << 8)) >> shift) as u8) & REGISTER_MAX
}

/// The dense registers four at a time: every 3 bytes hold 4 registers.
fn dense_quads(regs: &[u8]) -> impl Iterator<Item = [u8; 4]> + '_ {
    regs.chunks_exact(3).take(REGISTERS / 4).map(|b| {
        let (b0, b1, b2) = (b[0], b[1], b[2]);
        [
            b0 & 63,
            ((b0 >> 6) | (b1 << 2)) & 63,
            ((b1 >> 4) | (b2 << 4)) & 63,
            b2 >> 2,
        ]
    })
}

/// Sets register `i` of a dense register array to `value` (≤ 63).
fn dense_put(regs: &mut [u8], i: usize, value: u8) {
    let bit = i * BITS;
    let (byte, shift) = (bit / 8, bit % 8);
    let both = (
        u16::from(REGISTER_MAX) << shift,
        u16::from(value & REGISTER_MAX) << shift,
    );
    if let Some(b) = regs.get_mut(byte) {
        *b = (*b & !(both.0 as u8)) | both.1 as u8;
    }
    if let Some(b) = regs.get_mut(byte + 1) {
        *b = (*b & !((both.0 >> 8) as u8)) | (both.1 >> 8) as u8;
    }
}

/// Raises register `i` to `value` if that is higher; whether it changed.
fn dense_raise(regs: &mut [u8], i: usize, value: u8) -> bool {
    if value > dense_get(regs, i) {
        dense_put(regs, i, value);
        true
    } else {
        false
    }
}

/// One sparse opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// A run of zero registers (ZERO or XZERO).
    Zero(usize),
    /// A run of registers holding one value.
    Val(u8, usize),
}

/// Decodes the opcode at `code[at]`: the opcode and its length in bytes.
/// An XZERO cut short reads its missing second byte as 0, as Redis'
/// string terminator makes it.
fn op_at(code: &[u8], at: usize) -> Option<(Op, usize)> {
    let b = *code.get(at)?;
    Some(match b & 0xc0 {
        0x00 => (Op::Zero(usize::from(b & 0x3f) + 1), 1),
        0x40 => {
            let lo = code.get(at + 1).copied().unwrap_or(0);
            (
                Op::Zero(((usize::from(b & 0x3f) << 8) | usize::from(lo)) + 1),
                2,
            )
        }
        _ => (Op::Val(((b >> 2) & 0x1f) + 1, usize::from(b & 3) + 1), 1),
    })
}

/// Iterates the opcodes of a sparse code.
fn ops(code: &[u8]) -> impl Iterator<Item = Op> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        let (op, len) = op_at(code, at)?;
        at += len;
        Some(op)
    })
}

/// Appends the encoding of a run of `len` zeros (1..=16384).
fn push_zero(out: &mut Vec<u8>, len: usize) {
    if len > ZERO_MAX_LEN {
        let v = len - 1;
        out.push(0x40 | ((v >> 8) & 0x3f) as u8);
        out.push((v & 0xff) as u8);
    } else {
        out.push((len - 1) as u8);
    }
}

/// The VAL opcode for `len` (1..=4) registers of `value` (1..=32).
fn val_byte(value: u8, len: usize) -> u8 {
    0x80 | ((value - 1) << 2) | ((len - 1) as u8 & 3)
}

/// A new, empty HLL: sparse, one XZERO opcode, cached cardinality 0.
pub fn new_sparse() -> Vec<u8> {
    let mut out = Vec::with_capacity(HDR_SIZE + 2);
    out.extend_from_slice(b"HYLL");
    out.push(SPARSE);
    out.extend_from_slice(&[0; 3 + 8]);
    push_zero(&mut out, XZERO_MAX_LEN);
    out
}

/// Checks the header as Redis does before any HLL command: magic, a known
/// encoding, and the exact length of a dense HLL.
pub fn check(hll: &[u8]) -> Result<HllEncoding, HllError> {
    if hll.len() < HDR_SIZE || !hll.starts_with(b"HYLL") {
        return Err(HllError::NotHll);
    }
    match hll.get(ENCODING_AT) {
        Some(&DENSE) if hll.len() == DENSE_SIZE => Ok(HllEncoding::Dense),
        Some(&SPARSE) => Ok(HllEncoding::Sparse),
        _ => Err(HllError::NotHll),
    }
}

/// The cached cardinality, if the cache is valid.
pub fn cached(hll: &[u8]) -> Option<u64> {
    let card: [u8; 8] = hll.get(CARD_AT..CARD_AT + 8)?.try_into().ok()?;
    (card[7] & 0x80 == 0).then(|| u64::from_le_bytes(card))
}

/// Stores `card` as the cached cardinality (valid).
pub fn set_cached(hll: &mut [u8], card: u64) {
    if let Some(dst) = hll.get_mut(CARD_AT..CARD_AT + 8) {
        dst.copy_from_slice(&card.to_le_bytes());
    }
}

/// Marks the cached cardinality stale.
pub fn invalidate(hll: &mut [u8]) {
    if let Some(b) = hll.get_mut(STALE_AT) {
        *b |= 0x80;
    }
}

/// Converts a checked sparse HLL to dense in place, keeping the header
/// (cached cardinality included). `Ok(false)` if it was dense already.
pub fn to_dense(hll: &mut Vec<u8>) -> Result<bool, HllError> {
    if check(hll)? == HllEncoding::Dense {
        return Ok(false);
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    let code = hll.get(HDR_SIZE..).unwrap_or_default();
    let mut idx = 0usize;
    for op in ops(code) {
        match op {
            Op::Zero(n) => idx += n,
            Op::Val(v, n) => {
                if idx + n > REGISTERS {
                    return Err(HllError::Corrupt);
                }
                for i in idx..idx + n {
                    dense_put(&mut dense[HDR_SIZE..], i, v);
                }
                idx += n;
            }
        }
    }
    if idx != REGISTERS {
        return Err(HllError::Corrupt);
    }
    dense[..HDR_SIZE].copy_from_slice(&hll[..HDR_SIZE]);
    dense[ENCODING_AT] = DENSE;
    *hll = dense;
    Ok(true)
}

/// Raises register `index` of a checked HLL to `value`, promoting a sparse
/// one to dense when the value or the size calls for it (`sparse_max`:
/// `hll-sparse-max-bytes`). Whether the register changed. Leaves the
/// cached cardinality alone.
pub fn raise(
    hll: &mut Vec<u8>,
    index: usize,
    value: u8,
    sparse_max: usize,
) -> Result<bool, HllError> {
    if index >= REGISTERS {
        return Ok(false);
    }
    match check(hll)? {
        HllEncoding::Dense => Ok(dense_raise(&mut hll[HDR_SIZE..], index, value)),
        HllEncoding::Sparse => sparse_raise(hll, index, value, sparse_max),
    }
}

/// [`raise`] on a sparse HLL, editing its code in place as Redis does.
fn sparse_raise(
    hll: &mut Vec<u8>,
    index: usize,
    value: u8,
    sparse_max: usize,
) -> Result<bool, HllError> {
    if value > VAL_MAX_VALUE {
        return promote(hll, index, value);
    }
    // Find the opcode covering `index`.
    let mut at = HDR_SIZE;
    let mut first = 0usize;
    let mut prev = None;
    let mut found = None;
    while let Some((op, oplen)) = op_at(hll, at) {
        let span = match op {
            Op::Zero(n) | Op::Val(_, n) => n,
        };
        if index < first + span {
            found = Some((op, oplen, span));
            break;
        }
        prev = Some(at);
        at += oplen;
        first += span;
    }
    let Some((op, oplen, span)) = found else {
        return Err(HllError::Corrupt);
    };
    // Simple cases: the opcode stays one byte.
    let in_place = match op {
        Op::Val(old, _) if old >= value => return Ok(false),
        Op::Val(_, 1) => true,
        Op::Zero(1) => oplen == 1,
        _ => false,
    };
    if in_place {
        hll[at] = val_byte(value, 1);
    } else {
        // Split the run into up to three opcodes around `index`.
        let last = first + span - 1;
        let mut seq = Vec::with_capacity(5);
        match op {
            Op::Zero(_) => {
                if index != first {
                    push_zero(&mut seq, index - first);
                }
                seq.push(val_byte(value, 1));
                if index != last {
                    push_zero(&mut seq, last - index);
                }
            }
            Op::Val(cur, _) => {
                if index != first {
                    seq.push(val_byte(cur, index - first));
                }
                seq.push(val_byte(value, 1));
                if index != last {
                    seq.push(val_byte(cur, last - index));
                }
            }
        }
        if seq.len() > oplen && hll.len() + seq.len() - oplen > sparse_max {
            return promote(hll, index, value);
        }
        // An XZERO cut short at the end: Redis' length arithmetic counts
        // the missing byte, so the result is one byte shorter than the
        // new sequence.
        let end = (at + oplen).min(hll.len());
        let short = at + oplen - end;
        hll.splice(at..end, seq);
        hll.truncate(hll.len().saturating_sub(short));
    }
    merge_vals(hll, prev.unwrap_or(HDR_SIZE));
    Ok(true)
}

/// After an edit, merges adjacent VAL opcodes of equal value whose runs
/// fit one opcode, scanning up to five opcodes from `from` (Redis' step
/// 4, which keeps the code canonical in the same way).
fn merge_vals(hll: &mut Vec<u8>, from: usize) {
    let mut p = from;
    let mut scan = 5;
    while p < hll.len() && scan > 0 {
        scan -= 1;
        let b = hll[p];
        match b & 0xc0 {
            0x40 => {
                p += 2;
                continue;
            }
            0x00 => {
                p += 1;
                continue;
            }
            _ => {}
        }
        if let Some(&next) = hll.get(p + 1) {
            if next & 0x80 != 0 {
                let (v1, l1) = (((b >> 2) & 0x1f) + 1, usize::from(b & 3) + 1);
                let (v2, l2) = (((next >> 2) & 0x1f) + 1, usize::from(next & 3) + 1);
                if v1 == v2 && l1 + l2 <= VAL_MAX_LEN {
                    hll[p + 1] = val_byte(v1, l1 + l2);
                    hll.remove(p);
                    continue;
                }
            }
        }
        p += 1;
    }
}

/// Promotes a sparse HLL to dense and sets the register there.
fn promote(hll: &mut Vec<u8>, index: usize, value: u8) -> Result<bool, HllError> {
    to_dense(hll)?;
    Ok(dense_raise(&mut hll[HDR_SIZE..], index, value))
}

/// Adds `element` to a checked HLL; whether a register changed. Leaves the
/// cached cardinality alone (PFADD marks it stale once for all elements).
pub fn add(hll: &mut Vec<u8>, element: &[u8], sparse_max: usize) -> Result<bool, HllError> {
    let (index, value) = position(element);
    raise(hll, index, value, sparse_max)
}

/// Raises `max[i]` to register `i` of a checked HLL, for every register
/// (PFMERGE and PFCOUNT of several keys).
pub fn merge_into(max: &mut [u8; REGISTERS], hll: &[u8]) -> Result<(), HllError> {
    let regs = hll.get(HDR_SIZE..).unwrap_or_default();
    match check(hll)? {
        HllEncoding::Dense => {
            for (m, r) in max.chunks_exact_mut(4).zip(dense_quads(regs)) {
                for (m, r) in m.iter_mut().zip(r) {
                    *m = (*m).max(r);
                }
            }
            Ok(())
        }
        HllEncoding::Sparse => {
            let mut idx = 0usize;
            for op in ops(regs) {
                match op {
                    Op::Zero(n) => idx += n,
                    Op::Val(v, n) => {
                        let Some(run) = max.get_mut(idx..idx + n) else {
                            return Err(HllError::Corrupt);
                        };
                        for m in run {
                            *m = (*m).max(v);
                        }
                        idx += n;
                    }
                }
            }
            if idx == REGISTERS {
                Ok(())
            } else {
                Err(HllError::Corrupt)
            }
        }
    }
}

/// Every register of a checked HLL, as bytes.
pub fn registers(hll: &[u8]) -> Result<Box<[u8; REGISTERS]>, HllError> {
    let mut max = Box::new([0u8; REGISTERS]);
    merge_into(&mut max, hll)?;
    Ok(max)
}

/// The cardinality estimate of registers given one per byte.
pub fn count_registers(regs: &[u8; REGISTERS]) -> u64 {
    let mut histo = [0u32; 64];
    for &r in regs.iter() {
        histo[usize::from(r & 63)] += 1;
    }
    estimate(&histo)
}

/// The cardinality estimate of a checked HLL, ignoring the cache. A sparse
/// code covering other than 16384 registers is corrupt.
pub fn count(hll: &[u8]) -> Result<u64, HllError> {
    let regs = hll.get(HDR_SIZE..).unwrap_or_default();
    let mut histo = [0u32; 64];
    match check(hll)? {
        HllEncoding::Dense => {
            for quad in dense_quads(regs) {
                for r in quad {
                    histo[usize::from(r)] += 1;
                }
            }
        }
        HllEncoding::Sparse => {
            let mut idx = 0usize;
            for op in ops(regs) {
                let (v, n) = match op {
                    Op::Zero(n) => (0, n),
                    Op::Val(v, n) => (v, n),
                };
                idx += n;
                if idx > REGISTERS {
                    return Err(HllError::Corrupt);
                }
                histo[usize::from(v)] += n as u32;
            }
            if idx != REGISTERS {
                return Err(HllError::Corrupt);
            }
        }
    }
    Ok(estimate(&histo))
}

/// Ertl's estimator over the histogram of register values.
fn estimate(histo: &[u32; 64]) -> u64 {
    let m = REGISTERS as f64;
    let q = Q as usize;
    let mut z = m * tau((m - f64::from(histo[q + 1])) / m);
    for j in (1..=q).rev() {
        z += f64::from(histo[j]);
        z *= 0.5;
    }
    z += m * sigma(f64::from(histo[0]) / m);
    (ALPHA_INF * m * m / z).round() as u64
}

/// Ertl's σ(x) = x + Σ_{k≥1} x^(2^k) 2^(k-1).
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let before = z;
        z += x * y;
        y += y;
        if before == z {
            return z;
        }
    }
}

/// Ertl's τ(x) = (1 - x - Σ_{k≥1} (1 - x^(2^-k))² 2^-k) / 3.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let before = z;
        y *= 0.5;
        let d = 1.0 - x;
        z -= d * d * y;
        if before == z {
            return z / 3.0;
        }
    }
}

/// The opcodes of a sparse HLL as PFDEBUG DECODE prints them
/// (`z:len`, `Z:len`, `v:value,len`, space separated). `None` for a dense
/// one.
pub fn decode_sparse(hll: &[u8]) -> Option<String> {
    if hll.get(ENCODING_AT) != Some(&SPARSE) {
        return None;
    }
    let code = hll.get(HDR_SIZE..).unwrap_or_default();
    let mut out = Vec::new();
    let mut at = 0;
    while let Some((op, len)) = op_at(code, at) {
        out.push(match op {
            Op::Zero(n) if len == 1 => format!("z:{n}"),
            Op::Zero(n) => format!("Z:{n}"),
            Op::Val(v, n) => format!("v:{v},{n}"),
        });
        at += len;
    }
    Some(out.join(" "))
}

/// PFSELFTEST: register packing round trips, then the estimate of 1 to
/// 10⁷ distinct elements in a dense and a sparse HLL side by side (both
/// must agree and stay within six standard errors). `Err` is the failure
/// text Redis replies with.
pub fn selftest(seed: u64, sparse_max: usize) -> Result<(), String> {
    selftest_sized(seed, sparse_max, 1000, 10_000_000)
}

/// [`selftest`] with `cycles` rounds of register checks and up to
/// `elements` elements.
fn selftest_sized(
    seed: u64,
    sparse_max: usize,
    cycles: usize,
    elements: u64,
) -> Result<(), String> {
    let mut rng = seed | 1;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut regs = vec![0u8; DENSE_SIZE - HDR_SIZE];
    let mut bytes = [0u8; REGISTERS];
    for _ in 0..cycles {
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (next() & u64::from(REGISTER_MAX)) as u8;
            dense_put(&mut regs, i, *b);
        }
        for (i, &b) in bytes.iter().enumerate() {
            let got = dense_get(&regs, i);
            if got != b {
                return Err(format!(
                    "TESTFAILED Register {i} should be {b} but is {got}"
                ));
            }
        }
    }
    let mut dense = new_sparse();
    to_dense(&mut dense).map_err(|e| e.to_string())?;
    let mut sparse = new_sparse();
    let relerr = 1.04 / (REGISTERS as f64).sqrt();
    let base = next();
    let mut checkpoint = 1u64;
    for j in 1..=elements {
        let ele = (j ^ base).to_le_bytes();
        add(&mut dense, &ele, sparse_max).map_err(|e| e.to_string())?;
        add(&mut sparse, &ele, sparse_max).map_err(|e| e.to_string())?;
        if j != checkpoint {
            continue;
        }
        if (j as usize) < sparse_max / 2 && check(&sparse) != Ok(HllEncoding::Sparse) {
            return Err("TESTFAILED sparse encoding not used".to_owned());
        }
        let card = count(&dense).map_err(|e| e.to_string())?;
        if Ok(card) != count(&sparse) {
            return Err("TESTFAILED dense/sparse disagree".to_owned());
        }
        let mut maxerr = (relerr * 6.0 * checkpoint as f64).ceil() as u64;
        if j == 10 {
            maxerr = 1;
        }
        let abserr = checkpoint.abs_diff(card);
        if abserr > maxerr {
            return Err(format!(
                "TESTFAILED Too big error. card:{checkpoint} abserr:{abserr}"
            ));
        }
        checkpoint *= 10;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;

    const MAX: usize = 3000;

    fn sparse_with(elements: &[Vec<u8>]) -> Vec<u8> {
        let mut h = new_sparse();
        for e in elements {
            add(&mut h, e, MAX).unwrap();
        }
        h
    }

    #[test]
    fn murmur_matches_known_values() {
        // Redis' hash of "" and of short inputs: the register and value
        // Redis' PFDEBUG GETREG shows after PFADD of these elements.
        assert_eq!(murmur64a(b"", 0), 0);
        let (i, v) = position(b"a");
        assert!(i < REGISTERS && (1..=51).contains(&v));
    }

    #[test]
    fn a_new_hll_is_sparse_with_one_xzero() {
        let h = new_sparse();
        assert_eq!(h.len(), 18);
        assert_eq!(&h[..5], b"HYLL\x01");
        assert_eq!(&h[16..], &[0x7f, 0xff]);
        assert_eq!(check(&h), Ok(HllEncoding::Sparse));
        assert_eq!(cached(&h), Some(0));
        assert_eq!(count(&h), Ok(0));
        assert_eq!(decode_sparse(&h).unwrap(), "Z:16384");
    }

    #[test]
    fn dense_registers_round_trip_and_leave_neighbours_alone() {
        let mut regs = vec![0u8; DENSE_SIZE - HDR_SIZE];
        for i in 0..REGISTERS {
            dense_put(&mut regs, i, (i % 64) as u8);
        }
        for i in 0..REGISTERS {
            assert_eq!(dense_get(&regs, i), (i % 64) as u8);
        }
        dense_put(&mut regs, 5, 0);
        assert_eq!(dense_get(&regs, 4), 4);
        assert_eq!(dense_get(&regs, 6), 6);
    }

    #[test]
    fn four_at_a_time_reads_as_one_at_a_time() {
        let regs: Vec<u8> = (0..DENSE_SIZE - HDR_SIZE)
            .map(|i| (i * 37 % 256) as u8)
            .collect();
        let quads: Vec<u8> = dense_quads(&regs).flatten().collect();
        let single: Vec<u8> = (0..REGISTERS).map(|i| dense_get(&regs, i)).collect();
        assert_eq!(quads, single);
    }

    #[test]
    fn a_high_register_promotes_to_dense() {
        let mut h = new_sparse();
        assert!(raise(&mut h, 100, 33, MAX).unwrap());
        assert_eq!(check(&h), Ok(HllEncoding::Dense));
        assert_eq!(registers(&h).unwrap()[100], 33);
    }

    #[test]
    fn the_sparse_limit_promotes_to_dense() {
        let mut h = new_sparse();
        let mut i = 0u32;
        while check(&h) == Ok(HllEncoding::Sparse) {
            assert!(h.len() <= 100);
            add(&mut h, &i.to_le_bytes(), 100).unwrap();
            i += 1;
        }
        assert!(i > 10);
        assert_eq!(h.len(), DENSE_SIZE);
    }

    #[test]
    fn splitting_runs_keeps_the_code_canonical() {
        let mut h = new_sparse();
        raise(&mut h, 0, 3, MAX).unwrap();
        raise(&mut h, 1, 3, MAX).unwrap();
        raise(&mut h, 200, 5, MAX).unwrap();
        raise(&mut h, 16383, 2, MAX).unwrap();
        assert_eq!(
            decode_sparse(&h).unwrap(),
            "v:3,2 Z:198 v:5,1 Z:16182 v:2,1"
        );
        raise(&mut h, 2, 3, MAX).unwrap();
        assert_eq!(
            decode_sparse(&h).unwrap(),
            "v:3,3 Z:197 v:5,1 Z:16182 v:2,1"
        );
    }

    #[test]
    fn corrupt_sparse_codes_are_reported() {
        let mut h = new_sparse();
        h.truncate(17);
        h[16] = 0x3f; // ZERO of 64 only
        assert_eq!(count(&h), Err(HllError::Corrupt));
        let mut max = [0u8; REGISTERS];
        assert_eq!(merge_into(&mut max, &h), Err(HllError::Corrupt));
        assert_eq!(to_dense(&mut h.clone()), Err(HllError::Corrupt));
        assert_eq!(raise(&mut h, 1000, 3, MAX), Err(HllError::Corrupt));
        assert_eq!(check(b"HYLL\x00"), Err(HllError::NotHll));
        assert_eq!(
            check(b"HYLL\x02\0\0\0\0\0\0\0\0\0\0\0"),
            Err(HllError::NotHll)
        );
    }

    #[test]
    fn the_estimate_stays_within_error_bounds() {
        for n in [1u32, 10, 100, 1000, 10_000, 100_000] {
            let mut h = new_sparse();
            for i in 0..n {
                add(&mut h, format!("e{i}").as_bytes(), MAX).unwrap();
            }
            let c = count(&h).unwrap() as f64;
            let err = (c - f64::from(n)).abs() / f64::from(n);
            assert!(err < 0.05 || (c - f64::from(n)).abs() <= 1.0, "{n}: {c}");
        }
    }

    #[test]
    fn selftest_passes() {
        // PFSELFTEST runs 1000 cycles and 10^7 elements; a smaller run
        // keeps debug builds quick.
        assert_eq!(selftest_sized(0x1234_5678, MAX, 20, 100_000), Ok(()));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn sparse_and_dense_agree(elements in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..12), 0..400)) {
            let sparse = sparse_with(&elements);
            let mut dense = new_sparse();
            to_dense(&mut dense).unwrap();
            for e in &elements {
                add(&mut dense, e, MAX).unwrap();
            }
            prop_assert_eq!(registers(&sparse).unwrap(), registers(&dense).unwrap());
            prop_assert_eq!(count(&sparse).unwrap(), count(&dense).unwrap());
            let mut promoted = sparse.clone();
            to_dense(&mut promoted).unwrap();
            prop_assert_eq!(&promoted[HDR_SIZE..], &dense[HDR_SIZE..]);
        }

        #[test]
        fn count_is_close_to_the_distinct_count(elements in prop::collection::vec(any::<u32>(), 0..3000)) {
            let bytes: Vec<Vec<u8>> = elements.iter().map(|e| e.to_le_bytes().to_vec()).collect();
            let h = sparse_with(&bytes);
            let distinct = elements.iter().collect::<HashSet<_>>().len() as f64;
            let c = count(&h).unwrap() as f64;
            prop_assert!((c - distinct).abs() <= (distinct * 0.05).max(2.0), "{} vs {}", c, distinct);
        }

        #[test]
        fn merge_is_commutative_and_matches_adding_everything(
            a in prop::collection::vec(any::<u16>(), 0..300),
            b in prop::collection::vec(any::<u16>(), 0..300),
        ) {
            let enc = |v: &[u16]| v.iter().map(|e| e.to_le_bytes().to_vec()).collect::<Vec<_>>();
            let (ha, hb) = (sparse_with(&enc(&a)), sparse_with(&enc(&b)));
            let mut ab = [0u8; REGISTERS];
            merge_into(&mut ab, &ha).unwrap();
            merge_into(&mut ab, &hb).unwrap();
            let mut ba = [0u8; REGISTERS];
            merge_into(&mut ba, &hb).unwrap();
            merge_into(&mut ba, &ha).unwrap();
            prop_assert_eq!(ab, ba);
            let all = sparse_with(&[enc(&a), enc(&b)].concat());
            prop_assert_eq!(&ab, &*registers(&all).unwrap());
        }

        #[test]
        fn arbitrary_bytes_never_panic(tail in prop::collection::vec(any::<u8>(), 0..64), dense in any::<bool>(), ele in prop::collection::vec(any::<u8>(), 0..8)) {
            let mut h = b"HYLL".to_vec();
            h.push(u8::from(!dense));
            h.extend_from_slice(&[0; 11]);
            h.extend_from_slice(&tail);
            if dense {
                h.resize(DENSE_SIZE, 0x5a);
            }
            let _ = count(&h);
            let _ = decode_sparse(&h);
            let mut max = [0u8; REGISTERS];
            let _ = merge_into(&mut max, &h);
            let mut edited = h.clone();
            let _ = add(&mut edited, &ele, 40);
            let _ = to_dense(&mut h);
        }
    }
}
