//! Placeholder being replaced: a simple glob matcher stand-in.
#![allow(missing_docs)]

pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let eq = |a: u8, b: u8| {
        if nocase {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    match pattern.split_first() {
        None => string.is_empty(),
        Some((b'*', rest)) => (0..=string.len()).any(|i| glob_match(rest, &string[i..], nocase)),
        Some((b'?', rest)) => !string.is_empty() && glob_match(rest, &string[1..], nocase),
        Some((c, rest)) => {
            !string.is_empty() && eq(*c, string[0]) && glob_match(rest, &string[1..], nocase)
        }
    }
}
