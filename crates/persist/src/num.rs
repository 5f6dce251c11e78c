//! Numbers as Redis writes them into its encodings: the strict integer
//! test that decides integer encodings (`string2ll`), `%.17g` doubles
//! (`d2string`), and the double-to-integer test sorted sets use
//! (`double2ll`).

/// Longest decimal text of an `i64` plus one (Redis' `LONG_STR_SIZE`): a
/// string this long or longer is never integer-encoded.
const LONG_STR_SIZE: usize = 21;

/// The integer whose canonical decimal text is exactly `s`: no sign but a
/// leading `-`, no leading zeros (except `"0"` itself), no `"-0"`, no
/// spaces, no overflow. Redis integer-encodes exactly these strings.
pub(crate) fn parse_canonical_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= LONG_STR_SIZE {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// The integer a score equals exactly, when it lies within ±2^62 (Redis'
/// `double2ll`): such scores are stored as integers in a listpack. `-0`
/// gives `0`.
pub(crate) fn double_as_i64(d: f64) -> Option<i64> {
    const HALF: f64 = (i64::MAX / 2) as f64;
    if !(-HALF..=HALF).contains(&d) {
        return None;
    }
    let n = d as i64;
    (n as f64 == d).then_some(n)
}

/// `d` as Redis' `d2string` writes a score that is not an exact integer:
/// `inf`, `-inf`, `nan`, or `printf("%.17g")`.
pub(crate) fn format_g17(d: f64) -> String {
    if d.is_nan() {
        return "nan".to_owned();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    // 17 significant digits, and the decimal exponent after rounding.
    let sci = format!("{d:.16e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..17).contains(&exp) {
        let precision = (16 - exp) as usize;
        let mut s = format!("{d:.precision$}");
        trim_fraction(&mut s);
        s
    } else {
        let mut m = mantissa.to_owned();
        trim_fraction(&mut m);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{m}e{sign}{:02}", exp.unsigned_abs())
    }
}

/// Drops the zeros ending a fraction, and the point if nothing is left.
fn trim_fraction(s: &mut String) {
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
}

/// A score written as text (a listpack or ziplist string, an RDB text
/// double): decimal or exponent notation, `inf`, `-inf`, `nan`.
pub(crate) fn parse_double(s: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(s).ok()?;
    if text.is_empty() || text.starts_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    text.parse::<f64>().ok()
}

/// The little-endian `u32` at `at`, if `buf` holds it.
pub(crate) fn u32_le_at(buf: &[u8], at: usize) -> Option<u32> {
    buf.get(at..)?
        .first_chunk::<4>()
        .map(|b| u32::from_le_bytes(*b))
}

/// The little-endian `u16` at `at`, if `buf` holds it.
pub(crate) fn u16_le_at(buf: &[u8], at: usize) -> Option<u16> {
    buf.get(at..)?
        .first_chunk::<2>()
        .map(|b| u16::from_le_bytes(*b))
}

/// The signed little-endian integer of 1 to 8 bytes in `bytes`,
/// sign-extended.
pub(crate) fn int_le(bytes: &[u8]) -> i64 {
    let n = bytes.len().clamp(1, 8);
    let mut buf = [0u8; 8];
    buf.iter_mut().zip(bytes).for_each(|(b, x)| *b = *x);
    let shift = 64 - 8 * n as u32;
    (i64::from_le_bytes(buf) << shift) >> shift
}

/// The decimal text of `n`.
pub(crate) fn i64_text(n: i64) -> Vec<u8> {
    n.to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_integers() {
        for (s, want) in [
            (&b"0"[..], Some(0)),
            (b"-1", Some(-1)),
            (b"12345", Some(12345)),
            (b"9223372036854775807", Some(i64::MAX)),
            (b"-9223372036854775808", Some(i64::MIN)),
            (b"9223372036854775808", None),
            (b"-9223372036854775809", None),
            (b"-0", None),
            (b"01", None),
            (b"+1", None),
            (b" 1", None),
            (b"1 ", None),
            (b"", None),
            (b"-", None),
            (b"1a", None),
            (b"000000000000000000001", None),
        ] {
            assert_eq!(
                parse_canonical_i64(s),
                want,
                "{:?}",
                String::from_utf8_lossy(s)
            );
        }
    }

    #[test]
    fn g17_matches_printf() {
        for (d, want) in [
            (2.5, "2.5"),
            (0.1, "0.10000000000000001"),
            (1e300, "1.0000000000000001e+300"),
            (1e-5, "1.0000000000000001e-05"),
            (1.5e-4, "0.00014999999999999999"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (-3.25, "-3.25"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (-0.0, "-0"),
        ] {
            assert_eq!(format_g17(d), want);
        }
    }

    #[test]
    fn doubles_as_integers() {
        assert_eq!(double_as_i64(3.0), Some(3));
        assert_eq!(double_as_i64(-0.0), Some(0));
        assert_eq!(double_as_i64(2.5), None);
        assert_eq!(double_as_i64(4611686018427387904.0), Some(1 << 62));
        assert_eq!(double_as_i64(1e19), None);
        assert_eq!(double_as_i64(f64::NAN), None);
        assert_eq!(double_as_i64(f64::INFINITY), None);
    }
}
