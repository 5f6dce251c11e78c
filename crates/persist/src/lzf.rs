//! LZF, the compression Redis applies to strings longer than 20 bytes in
//! RDB files and DUMP payloads (`rdbcompression yes`).
//!
//! The format is a sequence of runs (see `docs/formats/rdb.md`):
//!
//! | first byte  | then                  | meaning                                  |
//! |-------------|-----------------------|------------------------------------------|
//! | `000LLLLL`  | `L+1` bytes           | literal run of 1..=32 bytes              |
//! | `LLLooooo`  | `oooooooo`            | copy `L+2` (3..=8) bytes from `o+1` back |
//! | `111ooooo`  | `LLLLLLLL` `oooooooo` | copy `L+9` (9..=264) bytes from `o+1` back |
//!
//! The compressor makes the same choices as the one Redis ships (liblzf
//! 3.6 with `HLOG 16`, `VERY_FAST`): the same hash of three bytes, the same
//! 65536-slot table, the same match limits, so it writes the bytes Redis
//! writes and DUMP payloads compare equal.

use std::cell::RefCell;

/// Longest literal run.
const MAX_LIT: usize = 1 << 5;
/// Farthest back a reference reaches (the offset field holds `off - 1`).
const MAX_OFF: usize = 1 << 13;
/// Longest back reference: 7 + 255 + 2 bytes.
const MAX_REF: usize = (1 << 8) + (1 << 3);
/// Hash table slots (`HLOG 16`).
const HSIZE: usize = 1 << 16;
/// The most bytes one input byte can expand to (a 3-byte reference copying
/// 264 bytes), which bounds what a decompression can produce.
pub const MAX_EXPANSION: usize = MAX_REF / 3;

/// The table of last positions per hash, reused between calls: a slot is
/// valid when its stamp is the current call's.
struct Table {
    stamp: u32,
    slots: Vec<(u32, u32)>,
}

thread_local! {
    static TABLE: RefCell<Table> = const { RefCell::new(Table { stamp: 0, slots: Vec::new() }) };
}

impl Table {
    fn begin(&mut self) {
        if self.slots.len() != HSIZE || self.stamp == u32::MAX {
            self.slots = vec![(0, 0); HSIZE];
            self.stamp = 0;
        }
        self.stamp += 1;
    }

    /// The position stored for `slot`, replacing it with `pos`.
    fn swap(&mut self, slot: usize, pos: usize) -> Option<usize> {
        let stamp = self.stamp;
        let entry = self.slots.get_mut(slot)?;
        let old = (entry.0 == stamp).then_some(entry.1 as usize);
        *entry = (stamp, pos as u32);
        old
    }
}

/// liblzf's `IDX(NEXT(FRST(p), p))` reduced to the three bytes it depends on.
fn hash(input: &[u8], pos: usize) -> usize {
    let b = |i: usize| u32::from(input.get(pos + i).copied().unwrap_or(0));
    let front = (b(0) << 8) | b(1);
    let back = (b(1) << 8) | b(2);
    (front.wrapping_sub(back.wrapping_mul(5)) as usize) & (HSIZE - 1)
}

/// Output of the compressor: a fixed-size buffer, as liblzf's.
struct Out {
    buf: Vec<u8>,
}

impl Out {
    fn put(&mut self, at: usize, byte: u8) -> Option<()> {
        *self.buf.get_mut(at)? = byte;
        Some(())
    }
}

/// Compresses `input` into at most `max_out` bytes, as Redis'
/// `lzf_compress(input, len, out, max_out)`. `None` when the input is
/// empty or the result would not fit (Redis then stores the string as is).
pub fn compress(input: &[u8], max_out: usize) -> Option<Vec<u8>> {
    if input.is_empty() || max_out == 0 || input.len() >= u32::MAX as usize {
        return None;
    }
    TABLE.with(|t| {
        let mut table = t.borrow_mut();
        table.begin();
        compress_with(input, max_out, &mut table)
    })
}

fn compress_with(input: &[u8], max_out: usize, table: &mut Table) -> Option<Vec<u8>> {
    let in_len = input.len();
    let at = |i: usize| input.get(i).copied();
    let mut out = Out {
        buf: vec![0; max_out],
    };
    let mut ip = 0usize;
    // `op` is where the next byte goes; the byte before the current literal
    // run (at `op - lit - 1`) is reserved for its length.
    let mut op = 1usize;
    let mut lit = 0usize;

    while ip + 2 < in_len {
        let candidate = table.swap(hash(input, ip), ip);
        let reference = candidate.filter(|&r| {
            r < ip
                && ip - r - 1 < MAX_OFF
                && r > 0
                && at(r + 2) == at(ip + 2)
                && at(r) == at(ip)
                && at(r + 1) == at(ip + 1)
        });
        if let Some(r) = reference {
            let off = ip - r - 1;
            let maxlen = (in_len - ip - 2).min(MAX_REF);
            if op + 4 >= max_out && op - usize::from(lit == 0) + 4 >= max_out {
                return None;
            }
            // Close the literal run (or take back its unused length byte).
            out.put(op - lit - 1, (lit as u8).wrapping_sub(1))?;
            if lit == 0 {
                op -= 1;
            }
            // liblzf compares 16 bytes unrolled before checking `maxlen`.
            let mut len = 2usize;
            let mut mismatch = false;
            if maxlen > 16 {
                for _ in 0..16 {
                    len += 1;
                    if at(r + len) != at(ip + len) {
                        mismatch = true;
                        break;
                    }
                }
            }
            if !mismatch {
                loop {
                    len += 1;
                    if !(len < maxlen && at(r + len) == at(ip + len)) {
                        break;
                    }
                }
            }
            // `len` is now the match length; the field holds length - 2.
            let field = len - 2;
            let off_high = (off >> 8) as u8;
            if field < 7 {
                out.put(op, off_high + ((field as u8) << 5))?;
                op += 1;
            } else {
                out.put(op, off_high + (7 << 5))?;
                out.put(op + 1, (field - 7) as u8)?;
                op += 2;
            }
            out.put(op, off as u8)?;
            op += 2; // the offset byte, and the next run's length byte
            lit = 0;
            ip += len;
            if ip + 2 >= in_len {
                break;
            }
            // Hash the two positions before the new one (VERY_FAST).
            ip -= 2;
            table.swap(hash(input, ip), ip);
            ip += 1;
            table.swap(hash(input, ip), ip);
            ip += 1;
        } else {
            if op >= max_out {
                return None;
            }
            out.put(op, at(ip)?)?;
            op += 1;
            ip += 1;
            lit += 1;
            if lit == MAX_LIT {
                out.put(op - lit - 1, (lit - 1) as u8)?;
                lit = 0;
                op += 1;
            }
        }
    }
    if op + 3 > max_out {
        return None;
    }
    while ip < in_len {
        out.put(op, at(ip)?)?;
        op += 1;
        ip += 1;
        lit += 1;
        if lit == MAX_LIT {
            out.put(op - lit - 1, (lit - 1) as u8)?;
            lit = 0;
            op += 1;
        }
    }
    out.put(op - lit - 1, (lit as u8).wrapping_sub(1))?;
    if lit == 0 {
        op -= 1;
    }
    out.buf.truncate(op);
    Some(out.buf)
}

/// Decompresses `input`, which must not produce more than `out_len`
/// bytes, as Redis' `lzf_decompress`: `None` on malformed input or output
/// beyond `out_len`; otherwise everything the input produced (possibly
/// less than `out_len`: the caller checks the length).
pub fn decompress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let mut out: Vec<u8> =
        Vec::with_capacity(out_len.min(input.len().saturating_mul(MAX_EXPANSION)));
    let mut ip = 0usize;
    let byte = |i: usize| input.get(i).copied().map(usize::from);
    while let Some(ctrl) = byte(ip) {
        ip += 1;
        if ctrl < MAX_LIT {
            let n = ctrl + 1;
            if out.len() + n > out_len {
                return None;
            }
            out.extend_from_slice(input.get(ip..ip + n)?);
            ip += n;
        } else {
            let mut len = ctrl >> 5;
            let mut back = ((ctrl & 0x1f) << 8) + 1;
            byte(ip)?;
            if len == 7 {
                len += byte(ip)?;
                ip += 1;
                byte(ip)?;
            }
            back += byte(ip)?;
            ip += 1;
            let n = len + 2;
            if out.len() + n > out_len || back > out.len() {
                return None;
            }
            let start = out.len() - back;
            // Byte by byte: the source may overlap what is being written.
            for i in start..start + n {
                let b = *out.get(i)?;
                out.push(b);
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(data: &[u8]) {
        if let Some(c) = compress(data, data.len().saturating_sub(4)) {
            assert!(c.len() <= data.len() - 4);
            assert_eq!(decompress(&c, data.len()).as_deref(), Some(data));
        }
        // With room to spare every input compresses.
        let c = compress(data, data.len() + data.len() / 32 + 8).unwrap_or_default();
        if !data.is_empty() {
            assert_eq!(decompress(&c, data.len()).as_deref(), Some(data));
        }
    }

    #[test]
    fn known_redis_output() {
        // `SET k aaaaaaaaaaaaaaaaaaaaa` (21 bytes): DUMP holds `01 61 61 e0 0a 00`.
        assert_eq!(
            compress(&[b'a'; 21], 17),
            Some(vec![0x01, 0x61, 0x61, 0xe0, 0x0a, 0x00])
        );
    }

    #[test]
    fn incompressible_fails_within_limit() {
        assert_eq!(compress(b"abcdefghijklmnopqrstu", 17), None);
        assert_eq!(compress(b"", 10), None);
    }

    #[test]
    fn round_trips() {
        round_trip(b"abc");
        round_trip(&[0u8; 1000]);
        let text: Vec<u8> = (0..20000u32)
            .flat_map(|i| format!("{}|", i % 977).into_bytes())
            .collect();
        round_trip(&text);
        let mut x = 12345u32;
        let noise: Vec<u8> = (0..5000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x % 7) as u8
            })
            .collect();
        round_trip(&noise);
    }

    #[test]
    fn decompress_rejects_bad_input() {
        // A back reference before the start.
        assert_eq!(decompress(&[0x20, 0x00], 10), None);
        // A literal run longer than the input.
        assert_eq!(decompress(&[0x05, b'a'], 10), None);
        // Output beyond the stated length.
        assert_eq!(decompress(&[0x02, b'a', b'b', b'c'], 2), None);
        // A truncated reference.
        assert_eq!(decompress(&[0x00, b'a', 0xe0], 300), None);
        assert_eq!(decompress(&[0x00, b'a', 0xe0, 0x01], 300), None);
        // Shorter output is returned for the caller to check.
        assert_eq!(decompress(&[0x00, b'a'], 5), Some(vec![b'a']));
    }
}
