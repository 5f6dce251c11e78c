//! Redis' glob-style pattern matcher (`stringmatchlen` of Redis 7.0), used by
//! `KEYS`, `SCAN ... MATCH`, `PSUBSCRIBE`, `CONFIG GET` and ACL patterns.
//!
//! Syntax:
//!
//! - `*` matches any sequence of bytes, `?` matches one byte.
//! - `[abc]` matches one of the listed bytes, `[^abc]` one byte not listed,
//!   `[a-z]` a range (the bounds may come in either order), `\x` inside a
//!   class is the literal `x`.
//! - `\x` outside a class matches the literal `x`; a trailing `\` matches a
//!   backslash.
//! - An unterminated class (`[abc` at the end of the pattern) is closed by the
//!   end of the pattern, exactly as Redis does it (so `[` alone never matches
//!   and `[^` matches any single byte).
//!
//! Quirks kept from Redis 7.0.15, bit for bit:
//!
//! - The empty string is matched only by the empty pattern (not even by `*`).
//! - With `nocase`, literal bytes and range bounds are compared through ASCII
//!   `tolower`, but a `\x` escape inside a class is compared case-sensitively.
//!   Range bounds are swapped *before* lowering, so `[Z-a]` with `nocase`
//!   matches nothing.
//! - Range bounds compare as C `char`, which is signed on x86-64 Linux: bytes
//!   `0x80..=0xFF` sort below `0x00`, so `[\x7f-\x80]` covers every byte.
//!   With `nocase` they then go through glibc's `tolower`, which maps those
//!   negative values (except `0xFF`) back to `128..=254`, so that
//!   `[\x80-a]` matches `A` case-sensitively but not with `nocase`.
//!
//! Redis matches recursively (one level per `*`); this version is iterative
//! and backtracks only to the most recent `*`, so it needs no stack and runs
//! in `O(pattern * string)` time, even on patterns like `a*a*a*a*...b`. The
//! results are the same: past the "empty string" rule above, Redis' algorithm
//! is plain glob matching over the tokens described here, for which resuming
//! from the last star alone is complete.

/// What one non-star token of the pattern matches.
enum Token {
    /// `?`: any byte.
    Any,
    /// A literal byte (after `\` escaping); compared with `nocase` applied.
    Literal(u8),
    /// A `[...]` class starting at this offset of the pattern (the byte after
    /// `[`), to be re-read by [`class_matches`].
    Class(usize),
}

/// The pattern byte at `i`, or NUL past the end (Redis' patterns are C
/// strings; the algorithm reads their terminator in a few places).
fn at(pattern: &[u8], i: usize) -> u8 {
    pattern.get(i).copied().unwrap_or(0)
}

/// glibc's `tolower` on a C `char` (signed on x86-64) in the C locale: ASCII
/// letters are lowered, negative values other than -1 (`EOF`) come back as
/// their unsigned byte (`-128` gives `128`), everything else is unchanged.
fn lower(c: i8) -> i32 {
    match c {
        -1 => -1,
        c if c < 0 => i32::from(c) + 256,
        c if (b'A' as i8..=b'Z' as i8).contains(&c) => i32::from(c) + 32,
        c => i32::from(c),
    }
}

/// Reads the token that starts at `p` (which must not be a `*` and must be
/// inside the pattern). Returns it and the offset just past it.
fn token_at(pattern: &[u8], p: usize) -> (Token, usize) {
    match at(pattern, p) {
        b'?' => (Token::Any, p + 1),
        b'\\' if pattern.len() - p >= 2 => (Token::Literal(at(pattern, p + 1)), p + 2),
        b'[' => (Token::Class(p + 1), class_end(pattern, p + 1) + 1),
        c => (Token::Literal(c), p + 1),
    }
}

/// Where a class whose body starts at `start` ends: the offset of its `]`,
/// or of its last byte when the pattern ends first. Mirrors the pointer walk
/// of Redis' class loop, which never depends on the string.
fn class_end(pattern: &[u8], start: usize) -> usize {
    let mut q = start;
    if at(pattern, q) == b'^' {
        q += 1;
    }
    loop {
        let remaining = pattern.len().saturating_sub(q);
        if at(pattern, q) == b'\\' && remaining >= 2 {
            q += 1;
        } else if remaining > 0 && at(pattern, q) == b']' {
            return q;
        } else if remaining == 0 {
            return q - 1;
        } else if remaining >= 3 && at(pattern, q + 1) == b'-' {
            q += 2;
        }
        q += 1;
    }
}

/// Whether the class whose body starts at `start` matches byte `c`.
fn class_matches(pattern: &[u8], start: usize, c: u8, nocase: bool) -> bool {
    let mut q = start;
    let negate = at(pattern, q) == b'^';
    if negate {
        q += 1;
    }
    let mut matched = false;
    loop {
        let remaining = pattern.len().saturating_sub(q);
        let pc = at(pattern, q);
        if pc == b'\\' && remaining >= 2 {
            q += 1;
            if at(pattern, q) == c {
                matched = true;
            }
        } else if remaining == 0 || pc == b']' {
            break;
        } else if remaining >= 3 && at(pattern, q + 1) == b'-' {
            // C `char` is signed here: compare as i8, as Redis does on x86-64.
            let (mut from, mut to) = (pc as i8, at(pattern, q + 2) as i8);
            if from > to {
                std::mem::swap(&mut from, &mut to);
            }
            let (from, to, ch) = if nocase {
                (lower(from), lower(to), lower(c as i8))
            } else {
                (i32::from(from), i32::from(to), i32::from(c as i8))
            };
            if from <= ch && ch <= to {
                matched = true;
            }
            q += 2;
        } else if eq(pc, c, nocase) {
            matched = true;
        }
        q += 1;
    }
    matched != negate
}

/// Byte equality, through ASCII `tolower` when `nocase`.
fn eq(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

/// Whether the token `token` matches byte `c`.
fn token_matches(pattern: &[u8], token: &Token, c: u8, nocase: bool) -> bool {
    match *token {
        Token::Any => true,
        Token::Literal(l) => eq(l, c, nocase),
        Token::Class(start) => class_matches(pattern, start, c, nocase),
    }
}

/// Matches `string` against the glob-style `pattern`, with exactly the
/// results of Redis 7.0's `stringmatchlen` (see the module documentation for
/// the syntax and its quirks). With `nocase`, ASCII letters match either case.
///
/// ```
/// use ferrodis_store::glob::glob_match;
/// assert!(glob_match(b"user:*", b"user:42", false));
/// assert!(glob_match(b"h[ae]llo", b"HELLO", true));
/// assert!(!glob_match(b"h[^e]llo", b"hello", false));
/// ```
pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    if string.is_empty() {
        return pattern.is_empty();
    }
    let (mut p, mut s) = (0usize, 0usize);
    // Pattern offset just past the last star seen, and the string offset
    // that star's expansion currently ends at.
    let mut resume: Option<(usize, usize)> = None;
    loop {
        if s == string.len() {
            // The string is used up: only stars may remain.
            while at(pattern, p) == b'*' && p < pattern.len() {
                p += 1;
            }
            return p == pattern.len();
        }
        if p < pattern.len() && pattern[p] == b'*' {
            while p < pattern.len() && pattern[p] == b'*' {
                p += 1;
            }
            if p == pattern.len() {
                return true;
            }
            resume = Some((p, s));
            continue;
        }
        if p < pattern.len() {
            let (token, next) = token_at(pattern, p);
            if token_matches(pattern, &token, string[s], nocase) {
                p = next;
                s += 1;
                continue;
            }
        }
        // Mismatch (or pattern used up): let the last star absorb one more
        // byte. Without a star, there is no other way to match.
        match resume {
            Some((star_p, star_s)) => {
                resume = Some((star_p, star_s + 1));
                p = star_p;
                s = star_s + 1;
            }
            None => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;
    use proptest::prelude::*;

    /// A straightforward recursive transcription of Redis'
    /// `stringmatchlen_impl`, `skipLongerMatches` shortcut included, reading
    /// NUL past the end of the pattern like the C code. Recursion depth grows
    /// with the number of stars: only for small inputs.
    fn reference(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
        fn pat(p: &[u8], i: usize) -> u8 {
            p.get(i).copied().unwrap_or(0)
        }
        // glibc's C-locale `tolower` over the signed `char` range.
        fn low(c: i32) -> i32 {
            if (65..=90).contains(&c) {
                c + 32
            } else if (-128..=-2).contains(&c) {
                c + 256
            } else {
                c
            }
        }
        fn go(
            p: &[u8],
            mut pi: usize,
            st: &[u8],
            mut si: usize,
            nocase: bool,
            skip_longer: &mut bool,
        ) -> bool {
            // `plen` and `slen` count what is left, as in the C code.
            let mut plen = p.len() as isize - pi as isize;
            let mut slen = st.len() as isize - si as isize;
            while plen > 0 && slen > 0 {
                let sc = st[si];
                match pat(p, pi) {
                    b'*' => {
                        while plen > 0 && pat(p, pi + 1) == b'*' {
                            pi += 1;
                            plen -= 1;
                        }
                        if plen == 1 {
                            return true;
                        }
                        while slen > 0 {
                            if go(p, pi + 1, st, si, nocase, skip_longer) {
                                return true;
                            }
                            if *skip_longer {
                                return false;
                            }
                            si += 1;
                            slen -= 1;
                        }
                        *skip_longer = true;
                        return false;
                    }
                    b'?' => {
                        si += 1;
                        slen -= 1;
                    }
                    b'[' => {
                        pi += 1;
                        plen -= 1;
                        let not = pat(p, pi) == b'^';
                        if not {
                            pi += 1;
                            plen -= 1;
                        }
                        let mut m = false;
                        loop {
                            if pat(p, pi) == b'\\' && plen >= 2 {
                                pi += 1;
                                plen -= 1;
                                if pat(p, pi) == sc {
                                    m = true;
                                }
                            } else if pat(p, pi) == b']' && plen > 0 {
                                break;
                            } else if plen == 0 {
                                pi -= 1;
                                plen += 1;
                                break;
                            } else if plen >= 3 && pat(p, pi + 1) == b'-' {
                                let mut a = i32::from(pat(p, pi) as i8);
                                let mut b = i32::from(pat(p, pi + 2) as i8);
                                let mut c = i32::from(sc as i8);
                                if a > b {
                                    std::mem::swap(&mut a, &mut b);
                                }
                                if nocase {
                                    a = low(a);
                                    b = low(b);
                                    c = low(c);
                                }
                                pi += 2;
                                plen -= 2;
                                if c >= a && c <= b {
                                    m = true;
                                }
                            } else if nocase {
                                if low(i32::from(pat(p, pi))) == low(i32::from(sc)) {
                                    m = true;
                                }
                            } else if pat(p, pi) == sc {
                                m = true;
                            }
                            pi += 1;
                            plen -= 1;
                        }
                        if not {
                            m = !m;
                        }
                        if !m {
                            return false;
                        }
                        si += 1;
                        slen -= 1;
                    }
                    first => {
                        let mut c = first;
                        if c == b'\\' && plen >= 2 {
                            pi += 1;
                            plen -= 1;
                            c = pat(p, pi);
                        }
                        let same = if nocase {
                            low(i32::from(c)) == low(i32::from(sc))
                        } else {
                            c == sc
                        };
                        if !same {
                            return false;
                        }
                        si += 1;
                        slen -= 1;
                    }
                }
                pi += 1;
                plen -= 1;
                if slen == 0 {
                    while pat(p, pi) == b'*' && plen > 0 {
                        pi += 1;
                        plen -= 1;
                    }
                    break;
                }
            }
            plen == 0 && slen == 0
        }
        go(pattern, 0, string, 0, nocase, &mut false)
    }

    #[test]
    fn table() {
        // (pattern, string, nocase, expected), checked against Redis 7.0.15.
        let cases: &[(&[u8], &[u8], bool, bool)] = &[
            (b"", b"", false, true),
            (b"*", b"", false, false),
            (b"", b"a", false, false),
            (b"*", b"anything", false, true),
            (b"**", b"x", false, true),
            (b"a*", b"a", false, true),
            (b"a*", b"abc", false, true),
            (b"*c", b"abc", false, true),
            (b"*c", b"abd", false, false),
            (b"a*c", b"ac", false, true),
            (b"a*c", b"abbbc", false, true),
            (b"a*c", b"abbbd", false, false),
            (b"a*b*c", b"aXbYc", false, true),
            (b"a*b*", b"ab", false, true),
            (b"h?llo", b"hello", false, true),
            (b"h?llo", b"hllo", false, false),
            (b"h[ae]llo", b"hallo", false, true),
            (b"h[ae]llo", b"hillo", false, false),
            (b"h[^e]llo", b"hallo", false, true),
            (b"h[^e]llo", b"hello", false, false),
            (b"h[a-b]llo", b"hbllo", false, true),
            (b"h[b-a]llo", b"hallo", false, true),
            (b"h[a-b]llo", b"hcllo", false, false),
            (b"[a-]", b"a", false, true),
            (b"[a-]", b"-", false, false),
            (b"[]]", b"]", false, false),
            (b"[\\]]", b"]", false, true),
            (b"[\\^]", b"^", false, true),
            (b"\\*", b"*", false, true),
            (b"\\*", b"a", false, false),
            (b"a\\", b"a\\", false, true),
            (b"\\", b"\\", false, true),
            (b"[", b"[", false, false),
            (b"[", b"a", false, false),
            (b"[a", b"a", false, true),
            (b"[ab", b"b", false, true),
            (b"[^", b"x", false, true),
            (b"[^a", b"a", false, false),
            (b"[a-", b"a", false, true),
            (b"[a-", b"-", false, true),
            (b"x[a-z", b"xq", false, true),
            (b"HELLO", b"hello", true, true),
            (b"HELLO", b"hello", false, false),
            (b"h[A-Z]llo", b"hello", true, true),
            (b"h[E]llo", b"hello", true, true),
            (b"h[\\E]llo", b"hello", true, false),
            (b"[Z-a]", b"_", false, true),
            (b"[Z-a]", b"_", true, false),
            (b"\\A", b"a", true, true),
            (b"[\x7f-\x80]", b"a", false, true),
            (b"[\x7f-\x80]", b"\xff", false, true),
            (b"[\x01-\xff]", b"a", false, false),
            (b"[\xff-\x01]", b"\x00", false, true),
            (b"[\x80-a]", b"A", false, true),
            (b"[\x80-a]", b"A", true, false),
            (b"[\x80-a]", b"\x80", true, false),
            (b"a\x00b", b"a\x00b", false, true),
            (
                b"*b",
                b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                false,
                false,
            ),
        ];
        for &(p, s, nocase, want) in cases {
            assert_eq!(
                glob_match(p, s, nocase),
                want,
                "pattern {:?} string {:?} nocase {}",
                String::from_utf8_lossy(p),
                String::from_utf8_lossy(s),
                nocase
            );
            assert_eq!(reference(p, s, nocase), want, "reference disagrees");
        }
    }

    #[test]
    fn pathological_patterns_are_fast() {
        let mut pattern = Vec::new();
        for _ in 0..1000 {
            pattern.extend_from_slice(b"a*");
        }
        pattern.push(b'b');
        let string = vec![b'a'; 10_000];
        assert!(!glob_match(&pattern, &string, false));
        let mut yes = string.clone();
        yes.push(b'b');
        assert!(glob_match(&pattern, &yes, false));
        // Deep nesting that would need one stack frame per star.
        let stars = vec![b'*'; 1_000_000];
        assert!(glob_match(&stars, b"x", false));
        let mut many = b"*?".repeat(100_000);
        many.push(b'z');
        assert!(!glob_match(&many, &string, false));
    }

    /// Small alphabets make matches (and the quirky corners) likely.
    fn pattern_bytes() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            proptest::sample::select(vec![
                b'*', b'?', b'[', b']', b'^', b'-', b'\\', b'a', b'b', b'A', b'Z', b'_', 0x80u8,
                0xffu8,
            ]),
            0..10,
        )
    }

    fn string_bytes() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            proptest::sample::select(vec![
                b'a', b'b', b'A', b'B', b'-', b']', b'*', b'_', 0x80u8, 0xffu8, 0u8,
            ]),
            0..8,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]
        #[test]
        fn agrees_with_reference(p in pattern_bytes(), s in string_bytes(), nocase in any::<bool>()) {
            prop_assert_eq!(glob_match(&p, &s, nocase), reference(&p, &s, nocase));
        }

        #[test]
        fn agrees_on_arbitrary_bytes(
            p in proptest::collection::vec(any::<u8>(), 0..8),
            s in proptest::collection::vec(any::<u8>(), 0..6),
            nocase in any::<bool>(),
        ) {
            prop_assert_eq!(glob_match(&p, &s, nocase), reference(&p, &s, nocase));
        }
    }
}
