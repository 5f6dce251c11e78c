//! A server's whole dataset read back with ordinary commands (`KEYS`,
//! `TYPE`, `GET`/`LRANGE`/`HGETALL`/`SMEMBERS`/`ZRANGE WITHSCORES`,
//! `PEXPIRETIME`,
//! `OBJECT ENCODING`), so that two servers — Ferrodis and the reference,
//! one having loaded the other's files — can be compared key by key.

use std::collections::BTreeMap;
use std::fmt;

use ferrodis_resp::Frame;

use crate::Client;

/// A key's value. Sets and hashes are sorted (Redis does not define their
/// order); lists and sorted sets keep the server's order, which is defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `GET`
    String(Vec<u8>),
    /// `LRANGE key 0 -1`
    List(Vec<Vec<u8>>),
    /// `SMEMBERS`, sorted.
    Set(Vec<Vec<u8>>),
    /// `HGETALL` as pairs, sorted.
    Hash(Vec<(Vec<u8>, Vec<u8>)>),
    /// `ZRANGE key 0 -1 WITHSCORES`: members with their scores as the
    /// server formats them (`1.5`, `inf`, `1e+300`).
    ZSet(Vec<(Vec<u8>, Vec<u8>)>),
}

/// One key as read from a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The value.
    pub value: Value,
    /// `PEXPIRETIME`: the absolute expiry in Unix milliseconds (-1: none).
    /// Absolute, so that two servers read seconds apart agree exactly.
    pub expire_at_ms: i64,
    /// `OBJECT ENCODING`.
    pub encoding: String,
}

/// Every key of every database that holds one, by database index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dataset {
    /// Database index → key → entry. Databases without keys are absent.
    pub dbs: BTreeMap<usize, BTreeMap<Vec<u8>, Entry>>,
    /// `DBSIZE` of every database read, empty ones included.
    pub sizes: Vec<i64>,
}

impl Dataset {
    /// The number of keys in all databases.
    pub fn len(&self) -> usize {
        self.dbs.values().map(BTreeMap::len).sum()
    }

    /// Whether no database holds a key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entry of `key` in database `db`.
    pub fn get(&self, db: usize, key: &[u8]) -> Option<&Entry> {
        self.dbs.get(&db)?.get(key)
    }
}

/// Keys read per pipelined round trip.
const BATCH: usize = 256;

fn bulk(f: Frame) -> Vec<u8> {
    match f {
        Frame::Bulk(b) => b.to_vec(),
        other => panic!("expected a bulk, got {other:?}"),
    }
}

fn bulks(f: Frame) -> Vec<Vec<u8>> {
    match f {
        Frame::Array(items) | Frame::Set(items) => items.into_iter().map(bulk).collect(),
        other => panic!("expected an array, got {other:?}"),
    }
}

fn pairs(f: Frame) -> Vec<(Vec<u8>, Vec<u8>)> {
    let flat = bulks(f);
    assert!(flat.len() % 2 == 0, "odd number of items in a pair reply");
    let mut it = flat.into_iter();
    let mut out = Vec::new();
    while let (Some(a), Some(b)) = (it.next(), it.next()) {
        out.push((a, b));
    }
    out
}

fn text(f: Frame) -> String {
    match f {
        Frame::Simple(b) | Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("expected a string reply, got {other:?}"),
    }
}

/// Reads databases `0..databases` of the server `c` is connected to
/// (pipelined, so that a few hundred thousand keys read in seconds). The
/// client is left on database 0.
pub fn read(c: &mut Client, databases: usize) -> Dataset {
    let mut out = Dataset::default();
    for db in 0..databases {
        let dbs = db.to_string();
        assert_eq!(c.call(&["SELECT", &dbs]), crate::reply::ok(), "SELECT {db}");
        let size = match c.call(&["DBSIZE"]) {
            Frame::Integer(n) => n,
            other => panic!("DBSIZE: {other:?}"),
        };
        out.sizes.push(size);
        if size == 0 {
            continue;
        }
        let keys = bulks(c.call(&["KEYS", "*"]));
        let mut entries = BTreeMap::new();
        for chunk in keys.chunks(BATCH) {
            for k in chunk {
                c.send(&[&b"TYPE"[..], k]);
            }
            let kinds: Vec<String> = chunk.iter().map(|_| text(c.read())).collect();
            for (k, kind) in chunk.iter().zip(&kinds) {
                let k = &k[..];
                match kind.as_str() {
                    "string" => c.send(&[&b"GET"[..], k]),
                    "list" => c.send(&[&b"LRANGE"[..], k, b"0", b"-1"]),
                    "set" => c.send(&[&b"SMEMBERS"[..], k]),
                    "hash" => c.send(&[&b"HGETALL"[..], k]),
                    "zset" => c.send(&[&b"ZRANGE"[..], k, b"0", b"-1", b"WITHSCORES"]),
                    other => panic!("unexpected type {other} of {}", show(k)),
                }
                c.send(&[&b"PEXPIRETIME"[..], k]);
                c.send(&[&b"OBJECT"[..], b"ENCODING", k]);
            }
            for (k, kind) in chunk.iter().zip(kinds) {
                let reply = c.read();
                let value = match kind.as_str() {
                    "string" => Value::String(bulk(reply)),
                    "list" => Value::List(bulks(reply)),
                    "set" => {
                        let mut m = bulks(reply);
                        m.sort();
                        Value::Set(m)
                    }
                    "hash" => {
                        let mut p = pairs(reply);
                        p.sort();
                        Value::Hash(p)
                    }
                    _ => Value::ZSet(pairs(reply)),
                };
                let expire_at_ms = match c.read() {
                    Frame::Integer(n) => n,
                    other => panic!("PEXPIRETIME: {other:?}"),
                };
                let encoding = text(c.read());
                entries.insert(
                    k.clone(),
                    Entry {
                        value,
                        expire_at_ms,
                        encoding,
                    },
                );
            }
        }
        out.dbs.insert(db, entries);
    }
    assert_eq!(c.call(&["SELECT", "0"]), crate::reply::ok());
    out
}

/// How [`assert_same`] compares (by default: expiry times exactly,
/// encodings not).
#[derive(Debug, Clone, Copy, Default)]
pub struct Compare {
    /// Largest difference allowed between two expiry times (0: exact).
    pub expire_tolerance_ms: i64,
    /// Whether `OBJECT ENCODING` must match too.
    pub encodings: bool,
}

/// Bytes as text, shortened, for messages.
pub fn show(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    if s.chars().count() > 60 {
        format!(
            "{}…({} bytes)",
            s.chars().take(60).collect::<String>(),
            b.len()
        )
    } else {
        s.into_owned()
    }
}

struct Short<'a>(&'a Value);

impl fmt::Display for Short<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items = |f: &mut fmt::Formatter<'_>, kind: &str, v: Vec<String>| {
            let n = v.len();
            let head: Vec<String> = v.into_iter().take(6).collect();
            write!(
                f,
                "{kind}[{n}: {}{}]",
                head.join(", "),
                if n > 6 { ", …" } else { "" }
            )
        };
        match self.0 {
            Value::String(s) => write!(f, "string {:?}", show(s)),
            Value::List(v) => items(f, "list", v.iter().map(|x| show(x)).collect()),
            Value::Set(v) => items(f, "set", v.iter().map(|x| show(x)).collect()),
            Value::Hash(v) => items(
                f,
                "hash",
                v.iter()
                    .map(|(a, b)| format!("{}={}", show(a), show(b)))
                    .collect(),
            ),
            Value::ZSet(v) => items(
                f,
                "zset",
                v.iter()
                    .map(|(a, b)| format!("{}:{}", show(a), show(b)))
                    .collect(),
            ),
        }
    }
}

/// The differences between two datasets, one line each (at most 30).
pub fn differences(expected: &Dataset, actual: &Dataset, how: Compare) -> Vec<String> {
    let mut out = Vec::new();
    if expected.sizes != actual.sizes {
        out.push(format!(
            "DBSIZE per database: expected {:?}, got {:?}",
            expected.sizes, actual.sizes
        ));
    }
    let empty = BTreeMap::new();
    let dbs: std::collections::BTreeSet<usize> = expected
        .dbs
        .keys()
        .chain(actual.dbs.keys())
        .copied()
        .collect();
    for db in dbs {
        let e = expected.dbs.get(&db).unwrap_or(&empty);
        let a = actual.dbs.get(&db).unwrap_or(&empty);
        for (k, want) in e {
            let Some(got) = a.get(k) else {
                out.push(format!("db {db}: key {} missing", show(k)));
                continue;
            };
            if want.value != got.value {
                out.push(format!(
                    "db {db}: key {}: expected {}, got {}",
                    show(k),
                    Short(&want.value),
                    Short(&got.value)
                ));
            }
            let (w, g) = (want.expire_at_ms, got.expire_at_ms);
            let expiry_ok = if w < 0 || g < 0 {
                w == g
            } else {
                (w - g).abs() <= how.expire_tolerance_ms
            };
            if !expiry_ok {
                out.push(format!(
                    "db {db}: key {}: PEXPIRETIME expected {w}, got {g}",
                    show(k)
                ));
            }
            if how.encodings && want.encoding != got.encoding {
                out.push(format!(
                    "db {db}: key {}: encoding expected {}, got {}",
                    show(k),
                    want.encoding,
                    got.encoding
                ));
            }
        }
        for k in a.keys().filter(|k| !e.contains_key(*k)) {
            out.push(format!("db {db}: unexpected key {}", show(k)));
        }
    }
    out.truncate(30);
    out
}

/// Panics, listing the differences, unless the datasets are the same.
pub fn assert_same(expected: &Dataset, actual: &Dataset, how: Compare) {
    assert!(!expected.is_empty(), "the expected dataset is empty");
    let diffs = differences(expected, actual, how);
    assert!(
        diffs.is_empty(),
        "datasets differ ({} keys expected, {} found):\n{}",
        expected.len(),
        actual.len(),
        diffs.join("\n")
    );
}
