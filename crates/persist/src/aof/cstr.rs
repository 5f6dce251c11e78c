//! The few C library behaviours the AOF formats inherit from the way Redis
//! reads them with stdio: `fgets` into a fixed buffer (a long line arrives
//! in pieces), text that ends at the first NUL byte, `strtol`/`atoll`
//! number parsing (leading blanks, a sign, as many digits as there are,
//! saturating on overflow) and the C locale's `isspace`/`isprint`.

/// One `fgets` call into a buffer of `buf_size` bytes: at most
/// `buf_size - 1` bytes from `pos`, ending after the first `\n` if one
/// comes sooner. `None` at the end of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Chunk<'a> {
    /// The bytes read, including the `\n` if there was one.
    pub(crate) bytes: &'a [u8],
    /// Where the next read starts.
    pub(crate) next: usize,
    /// The read stopped because the input ended (stdio's end-of-file
    /// flag is set): no `\n`, and fewer bytes than the buffer holds.
    pub(crate) hit_eof: bool,
}

pub(crate) fn fgets(input: &[u8], pos: usize, buf_size: usize) -> Option<Chunk<'_>> {
    let rest = input.get(pos..).filter(|r| !r.is_empty())?;
    let room = buf_size.saturating_sub(1).max(1);
    let window = rest.get(..room.min(rest.len())).unwrap_or(rest);
    let (bytes, newline) = match window.iter().position(|&b| b == b'\n') {
        Some(i) => (window.get(..=i).unwrap_or(window), true),
        None => (window, false),
    };
    let hit_eof = !newline && bytes.len() < room;
    Some(Chunk {
        bytes,
        next: pos + bytes.len(),
        hit_eof,
    })
}

/// `bytes` read as a C string: up to (not including) the first NUL.
pub(crate) fn c_str(bytes: &[u8]) -> &[u8] {
    match bytes.iter().position(|&b| b == 0) {
        Some(i) => bytes.get(..i).unwrap_or(bytes),
        None => bytes,
    }
}

/// The C locale's `isspace`: space, `\t`, `\n`, `\v`, `\f`, `\r`.
pub(crate) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The C locale's `isprint`: ASCII 0x20 to 0x7e. Bytes from 0x80 up are
/// not printable (Redis passes them as negative `char`s, which the C
/// locale classifies as nothing).
pub(crate) fn is_print(b: u8) -> bool {
    (0x20..=0x7e).contains(&b)
}

/// glibc's `strtol(s, NULL, 10)` on a C string (`atoll` is the same for a
/// 64-bit `long`): leading blanks, an optional sign, then decimal digits
/// up to the first non-digit; 0 when there are none; `i64::MAX`/`i64::MIN`
/// when the value does not fit.
pub(crate) fn strtol(s: &[u8]) -> i64 {
    let s = c_str(s);
    let mut i = s.iter().take_while(|&&b| is_space(b)).count();
    let negative = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    // Accumulate towards the sign so that i64::MIN itself parses.
    let mut v: i64 = 0;
    for &d in s.get(i..).unwrap_or_default() {
        if !d.is_ascii_digit() {
            break;
        }
        let digit = i64::from(d - b'0');
        let next = v.checked_mul(10).and_then(|v| {
            if negative {
                v.checked_sub(digit)
            } else {
                v.checked_add(digit)
            }
        });
        match next {
            Some(n) => v = n,
            None => return if negative { i64::MIN } else { i64::MAX },
        }
    }
    v
}

/// glibc's `atoi`: `strtol` truncated to a C `int`.
pub(crate) fn atoi(s: &[u8]) -> i32 {
    // Truncation is the point: glibc's atoi is `(int) strtol(...)`.
    strtol(s) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fgets_splits_lines_and_long_lines() {
        let input = b"ab\ncd";
        let c = fgets(input, 0, 1024).unwrap();
        assert_eq!((c.bytes, c.next, c.hit_eof), (&b"ab\n"[..], 3, false));
        let c = fgets(input, 3, 1024).unwrap();
        assert_eq!((c.bytes, c.next, c.hit_eof), (&b"cd"[..], 5, true));
        assert_eq!(fgets(input, 5, 1024), None);
        // A buffer of 4 holds 3 bytes: the line comes in two pieces, and a
        // full buffer does not set end-of-file even when the input ends.
        let c = fgets(b"abcdef", 0, 4).unwrap();
        assert_eq!((c.bytes, c.hit_eof), (&b"abc"[..], false));
        let c = fgets(b"abcdef", 3, 4).unwrap();
        assert_eq!((c.bytes, c.hit_eof), (&b"def"[..], false));
        let c = fgets(b"abcde", 3, 4).unwrap();
        assert_eq!((c.bytes, c.hit_eof), (&b"de"[..], true));
    }

    #[test]
    fn strtol_as_glibc() {
        for (text, want) in [
            (&b"42"[..], 42),
            (b"  -7x", -7),
            (b"+3", 3),
            (b"", 0),
            (b"abc", 0),
            (b"\t\n 12\r\n", 12),
            (b"9223372036854775807", i64::MAX),
            (b"9223372036854775808", i64::MAX),
            (b"-9223372036854775808", i64::MIN),
            (b"-99999999999999999999", i64::MIN),
            (b"1\x002", 1),
        ] {
            assert_eq!(strtol(text), want, "{:?}", String::from_utf8_lossy(text));
        }
        assert_eq!(atoi(b"4294967297"), 1);
        assert_eq!(atoi(b"99999999999999999999"), -1);
    }
}
