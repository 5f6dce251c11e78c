//! Replies as `redis-cli` prints them: the terminal form (`(integer) 1`,
//! `1) "a"`, quoted strings), the raw form (what it prints when standard
//! output is not a terminal, or with `--raw`), and CSV.

use ferrodis_resp::Frame;

/// Appends `s` as `sdscatrepr` quotes it: in double quotes, with `\n`,
/// `\r`, `\t`, `\a`, `\b`, `\\`, `\"` escaped and other unprintable bytes
/// as `\xhh`.
pub fn repr(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &b in s {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(b),
            _ => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}

/// A double as C's `printf("%.17g")` writes it, which is how Redis sends
/// RESP3 doubles (`inf` and `-inf` spelled out): formatting the parsed value
/// again gives back the server's text.
pub fn double_text(d: f64) -> String {
    if d.is_nan() {
        return if d.is_sign_negative() { "-nan" } else { "nan" }.to_owned();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    const PRECISION: i32 = 17;
    let sci = format!("{:.*e}", (PRECISION - 1) as usize, d);
    let (mantissa, exp) = match sci.split_once('e') {
        Some(parts) => parts,
        None => return sci,
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..PRECISION).contains(&exp) {
        let mantissa = strip_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        let decimals = usize::try_from(PRECISION - 1 - exp).unwrap_or(0);
        strip_zeros(&format!("{d:.decimals$}")).to_owned()
    }
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

fn is_multiline(f: &Frame) -> bool {
    match f {
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => match items.as_slice() {
            [] => false,
            [one] => is_multiline(one),
            _ => true,
        },
        Frame::Map(pairs) => match pairs.as_slice() {
            [] => false,
            [(_, v)] => is_multiline(v),
            _ => true,
        },
        Frame::Attribute { value, .. } => is_multiline(value),
        _ => false,
    }
}

/// The terminal form of a reply (`cliFormatReplyTTY`), each line ending in
/// `\n`.
pub fn tty(f: &Frame) -> Vec<u8> {
    let mut out = Vec::new();
    tty_into(&mut out, f, "");
    out
}

fn tty_into(out: &mut Vec<u8>, f: &Frame, prefix: &str) {
    match f {
        Frame::Error(s) | Frame::BlobError(s) => {
            out.extend_from_slice(b"(error) ");
            out.extend_from_slice(c_string(s));
            out.push(b'\n');
        }
        Frame::Simple(s) => {
            out.extend_from_slice(s);
            out.push(b'\n');
        }
        Frame::Integer(n) => out.extend_from_slice(format!("(integer) {n}\n").as_bytes()),
        Frame::Double(d) => {
            out.extend_from_slice(format!("(double) {}\n", double_text(*d)).as_bytes())
        }
        Frame::BigNumber(s) => {
            out.extend_from_slice(b"(big number) ");
            out.extend_from_slice(s);
            out.push(b'\n');
        }
        Frame::Bulk(s) => {
            repr(out, s);
            out.push(b'\n');
        }
        Frame::Verbatim { data, .. } => {
            out.extend_from_slice(data);
            out.push(b'\n');
        }
        Frame::NullBulk | Frame::NullArray | Frame::Null => out.extend_from_slice(b"(nil)\n"),
        Frame::Boolean(b) => out.extend_from_slice(if *b { b"(true)\n" } else { b"(false)\n" }),
        Frame::Attribute { value, .. } => tty_into(out, value, prefix),
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
            if items.is_empty() {
                out.extend_from_slice(match f {
                    Frame::Set(_) => b"(empty set)\n".as_slice(),
                    Frame::Push(_) => b"(empty push)\n".as_slice(),
                    _ => b"(empty array)\n".as_slice(),
                });
                return;
            }
            let sep = if matches!(f, Frame::Set(_)) { '~' } else { ')' };
            let width = digits(items.len());
            let inner = format!("{prefix}{}", " ".repeat(width + 2));
            for (i, item) in items.iter().enumerate() {
                let lead = if i == 0 { "" } else { prefix };
                out.extend_from_slice(format!("{lead}{:>width$}{sep} ", i + 1).as_bytes());
                tty_into(out, item, &inner);
            }
        }
        Frame::Map(pairs) => {
            if pairs.is_empty() {
                out.extend_from_slice(b"(empty hash)\n");
                return;
            }
            let width = digits(pairs.len());
            let inner = format!("{prefix}{}", " ".repeat(width + 2));
            for (i, (k, v)) in pairs.iter().enumerate() {
                let lead = if i == 0 { "" } else { prefix };
                out.extend_from_slice(format!("{lead}{:>width$}# ", i + 1).as_bytes());
                tty_into(out, k, &inner);
                // The key's line ending gives way to ` => `.
                if out.last() == Some(&b'\n') {
                    out.pop();
                }
                out.extend_from_slice(b" => ");
                if is_multiline(v) {
                    out.push(b'\n');
                    out.extend_from_slice(inner.as_bytes());
                }
                tty_into(out, v, &inner);
            }
        }
    }
}

fn digits(mut n: usize) -> usize {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

/// The text up to the first NUL, as C's `%s` prints it.
fn c_string(s: &[u8]) -> &[u8] {
    match s.iter().position(|&b| b == 0) {
        Some(at) => s.get(..at).unwrap_or(s),
        None => s,
    }
}

/// The raw form of a reply (`cliFormatReplyRaw`): strings as they are,
/// aggregate items separated by `delim`, nulls as nothing; no final line
/// ending except after an error.
pub fn raw(f: &Frame, delim: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    raw_into(&mut out, f, delim);
    out
}

fn raw_into(out: &mut Vec<u8>, f: &Frame, delim: &[u8]) {
    match f {
        Frame::NullBulk | Frame::NullArray | Frame::Null => {}
        Frame::Error(s) | Frame::BlobError(s) => {
            out.extend_from_slice(s);
            out.push(b'\n');
        }
        Frame::Simple(s) | Frame::Bulk(s) | Frame::BigNumber(s) => out.extend_from_slice(s),
        Frame::Verbatim { data, .. } => out.extend_from_slice(data),
        Frame::Boolean(b) => out.extend_from_slice(if *b { b"(true)" } else { b"(false)" }),
        Frame::Integer(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Frame::Double(d) => out.extend_from_slice(double_text(*d).as_bytes()),
        Frame::Attribute { value, .. } => raw_into(out, value, delim),
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(delim);
                }
                raw_into(out, item, delim);
            }
        }
        Frame::Map(pairs) => {
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(delim);
                }
                raw_into(out, k, delim);
                out.push(b' ');
                raw_into(out, v, delim);
            }
        }
    }
}

/// The CSV form of a reply (`--csv`), without the final line ending.
pub fn csv(f: &Frame) -> Vec<u8> {
    let mut out = Vec::new();
    csv_into(&mut out, f);
    out
}

fn csv_into(out: &mut Vec<u8>, f: &Frame) {
    match f {
        Frame::Error(s) | Frame::BlobError(s) => {
            out.extend_from_slice(b"ERROR,");
            repr(out, c_string(s));
        }
        Frame::Simple(s) | Frame::Bulk(s) => repr(out, s),
        Frame::Verbatim { data, .. } => repr(out, data),
        Frame::Integer(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Frame::Double(d) => out.extend_from_slice(double_text(*d).as_bytes()),
        Frame::BigNumber(s) => out.extend_from_slice(s),
        Frame::NullBulk | Frame::NullArray | Frame::Null => out.extend_from_slice(b"NULL"),
        Frame::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Frame::Attribute { value, .. } => csv_into(out, value),
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                csv_into(out, item);
            }
        }
        Frame::Map(pairs) => {
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                csv_into(out, k);
                out.push(b',');
                csv_into(out, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Frame {
        Frame::Bulk(bytes::Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn doubles_print_as_printf_g17() {
        for (d, s) in [
            (2.3, "2.2999999999999998"),
            (1.0, "1"),
            (0.1, "0.10000000000000001"),
            (1e20, "1e+20"),
            (1.5e-5, "1.5e-05"),
            (123456.0, "123456"),
            (-2.5, "-2.5"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (0.0001, "0.0001"),
            (f64::INFINITY, "inf"),
        ] {
            assert_eq!(double_text(d), s, "{d}");
        }
    }

    #[test]
    fn nested_arrays_indent_as_redis_cli() {
        let f = Frame::Array(vec![
            b("a"),
            Frame::Array(vec![Frame::Integer(1), b("x\ny")]),
            Frame::NullBulk,
        ]);
        assert_eq!(
            String::from_utf8(tty(&f)).unwrap(),
            "1) \"a\"\n2) 1) (integer) 1\n   2) \"x\\ny\"\n3) (nil)\n"
        );
        assert_eq!(raw(&f, b"\n"), b"a\n1\nx\ny\n");
    }

    #[test]
    fn maps_put_multiline_values_on_the_next_line() {
        let f = Frame::Map(vec![
            (b("k"), b("v")),
            (
                b("l"),
                Frame::Array(vec![Frame::Integer(1), Frame::Integer(2)]),
            ),
        ]);
        assert_eq!(
            String::from_utf8(tty(&f)).unwrap(),
            "1# \"k\" => \"v\"\n2# \"l\" => \n   1) (integer) 1\n   2) (integer) 2\n"
        );
    }

    #[test]
    fn ten_items_widen_the_index() {
        let f = Frame::Array((0..10).map(Frame::Integer).collect());
        let text = String::from_utf8(tty(&f)).unwrap();
        assert!(text.starts_with(" 1) (integer) 0\n"), "{text}");
        assert!(text.ends_with("10) (integer) 9\n"), "{text}");
    }
}
