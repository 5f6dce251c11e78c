//! Splitting an inline request line into arguments, with the quoting rules
//! `redis-server` and `redis-cli` share.
//!
//! - Arguments are separated by blanks (`isspace` in the C locale).
//! - `"double quotes"` allow the escapes `\xHH`, `\n`, `\r`, `\t`, `\b`,
//!   `\a`; any other escaped byte stands for itself (`\"`, `\\`).
//! - `'single quotes'` allow only `\'`; everything else is literal.
//! - A closing quote must be followed by a blank or the end of the line.
//! - An unterminated quote is an error.
//! - The line ends at its first NUL byte, as the C string it is in Redis.

use bytes::Bytes;

/// Blanks that separate arguments (`isspace`).
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Splits one inline request line (without its line ending) into arguments.
///
/// Returns `None` for unbalanced quotes, which a server reports as
/// [`crate::RequestError::UnbalancedQuotes`].
///
/// ```
/// use ferrodis_resp::split_args;
/// let args = split_args(br#"set a "b c\x21" 'it\'s'"#).unwrap();
/// assert_eq!(args, vec!["set", "a", "b c!", "it's"]);
/// assert_eq!(split_args(br#"get "a"#), None);
/// ```
pub fn split_args(line: &[u8]) -> Option<Vec<Bytes>> {
    // The C string ends at the first NUL.
    let line = match line.iter().position(|&b| b == 0) {
        Some(nul) => line.get(..nul).unwrap_or(line),
        None => line,
    };
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let mut args = Vec::new();
    let mut p = 0;
    loop {
        while p < line.len() && is_space(at(p)) {
            p += 1;
        }
        if p >= line.len() {
            return Some(args);
        }
        let mut current = Vec::new();
        let (mut in_double, mut in_single) = (false, false);
        loop {
            let c = at(p);
            if in_double {
                if c == b'\\' && at(p + 1) == b'x' {
                    if let (Some(hi), Some(lo)) = (hex_value(at(p + 2)), hex_value(at(p + 3))) {
                        current.push(hi * 16 + lo);
                        p += 4;
                        continue;
                    }
                }
                if c == b'\\' && p + 1 < line.len() {
                    p += 1;
                    current.push(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    if p + 1 < line.len() && !is_space(at(p + 1)) {
                        return None;
                    }
                    p += 1;
                    break;
                } else if p >= line.len() {
                    return None;
                } else {
                    current.push(c);
                }
            } else if in_single {
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    current.push(b'\'');
                } else if c == b'\'' {
                    if p + 1 < line.len() && !is_space(at(p + 1)) {
                        return None;
                    }
                    p += 1;
                    break;
                } else if p >= line.len() {
                    return None;
                } else {
                    current.push(c);
                }
            } else {
                match c {
                    // Only these end an unquoted argument (not \v or \f).
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        if p < line.len() {
                            p += 1;
                        }
                        break;
                    }
                    b'"' => in_double = true,
                    b'\'' => in_single = true,
                    other => current.push(other),
                }
            }
            p += 1;
        }
        args.push(Bytes::from(current));
    }
}

#[cfg(test)]
mod tests {
    use super::split_args;

    fn check(line: &[u8], want: Option<&[&[u8]]>) {
        let got = split_args(line);
        let want: Option<Vec<&[u8]>> = want.map(|w| w.to_vec());
        let got: Option<Vec<&[u8]>> = got.as_ref().map(|g| g.iter().map(|b| &b[..]).collect());
        assert_eq!(got, want, "line {:?}", String::from_utf8_lossy(line));
    }

    #[test]
    fn quoting_rules() {
        check(b"", Some(&[]));
        check(b"   \t ", Some(&[]));
        check(b"PING", Some(&[b"PING"]));
        check(b"  set  a   b ", Some(&[b"set", b"a", b"b"]));
        check(b"set a \"b c\"", Some(&[b"set", b"a", b"b c"]));
        check(
            b"\"\\x41\\x4a\\n\\r\\t\\b\\a\\\\\\\"\\q\"",
            Some(&[b"AJ\n\r\t\x08\x07\\\"q"]),
        );
        // \x followed by non-hex is an escaped 'x'.
        check(b"\"\\xZZ\"", Some(&[b"xZZ"]));
        check(b"'a\\'b' 'c\\nd'", Some(&[b"a'b", b"c\\nd"]));
        check(b"\"\"", Some(&[b""]));
        check(b"a\"b c\"d", None);
        check(b"ab\"cd\" e", Some(&[b"abcd", b"e"]));
        check(b"\"abc", None);
        check(b"'abc", None);
        check(b"\"abc\"x", None);
        check(b"'abc'x", None);
        check(b"\"ab\\", None);
        // \v is a separator between arguments but not inside one.
        check(b"a\x0bb", Some(&[b"a\x0bb"]));
        check(b"a \x0b b", Some(&[b"a", b"b"]));
        // The line ends at NUL.
        check(b"get a\0 b", Some(&[b"get", b"a"]));
        check(b"\"a\0\"", None);
    }
}
