//! `DEBUG DIGEST` and `DEBUG DIGEST-VALUE`: Redis' SHA-1 based signatures
//! of values and of the whole dataset, equal to redis-server's for the same
//! data, so tests can compare servers (and a replica with its master).
//!
//! Redis' construction, over SHA-1:
//!
//! - `xor(d, bytes)`: `d ^= SHA1(bytes)`; order-independent, for the
//!   members of sets, hashes and sorted sets, and for keys.
//! - `mix(d, bytes)`: `d = SHA1(d ^ SHA1(bytes))`; order-dependent, for
//!   list elements and the parts of one entry.
//! - A value's digest: `mix` the type (a big-endian `u32`: string 0, list
//!   1, set 2, sorted set 3, hash 4), then the string; or each list element
//!   in order; or `xor` each set member; or `xor` each hash pair's digest
//!   (`mix` field, `mix` value, from zeroes); or each sorted set member's
//!   (`mix` member, `mix` the score printed with `%.17g`). A key with an
//!   expiry `xor`s the 10 bytes `!!expire!!` last.
//! - The dataset's: for each database holding keys, `mix` its index (a
//!   big-endian `u32`), then `xor` each key's digest (`mix` the key name,
//!   then its value's digest on top, from zeroes).

use ferrodis_store::{RdbObject, RdbValue};

/// A 20-byte digest.
pub(crate) type Digest = [u8; 20];

/// SHA-1 (FIPS 180-4) of `data`.
pub(crate) fn sha1(data: &[u8]) -> Digest {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let bit_len = (data.len() as u64).wrapping_mul(8);
    let mut message = data.to_vec();
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&bit_len.to_be_bytes());
    for block in message.chunks_exact(64) {
        let mut w = [0u32; 80];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, &wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (chunk, word) in out.chunks_exact_mut(4).zip(h) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

fn xor(d: &mut Digest, data: &[u8]) {
    for (x, y) in d.iter_mut().zip(sha1(data)) {
        *x ^= y;
    }
}

fn mix(d: &mut Digest, data: &[u8]) {
    xor(d, data);
    *d = sha1(d);
}

/// Adds a value (and whether its key expires) to `d` (Redis'
/// `xorObjectDigest`).
fn add_value(d: &mut Digest, obj: &RdbObject, expires: bool) {
    let kind: u32 = match &obj.value {
        RdbValue::String(_) => 0,
        RdbValue::List(_) => 1,
        RdbValue::Set(_) => 2,
        RdbValue::ZSet(_) => 3,
        RdbValue::Hash(_) => 4,
    };
    mix(d, &kind.to_be_bytes());
    match &obj.value {
        RdbValue::String(s) => mix(d, s),
        RdbValue::List(items) => items.iter().for_each(|i| mix(d, i)),
        RdbValue::Set(members) => members.iter().for_each(|m| xor(d, m)),
        RdbValue::ZSet(members) => {
            for (member, score) in members {
                let mut e = [0u8; 20];
                mix(&mut e, member);
                mix(&mut e, ferrodis_store::format_score(*score).as_bytes());
                xor(d, &e);
            }
        }
        RdbValue::Hash(pairs) => {
            for (field, value) in pairs {
                let mut e = [0u8; 20];
                mix(&mut e, field);
                mix(&mut e, value);
                xor(d, &e);
            }
        }
    }
    if expires {
        xor(d, b"!!expire!!");
    }
}

/// `DEBUG DIGEST-VALUE`'s digest of one key's value (zeroes for a missing
/// key).
pub(crate) fn value_digest(value: Option<(&RdbObject, bool)>) -> Digest {
    let mut d = [0u8; 20];
    if let Some((obj, expires)) = value {
        add_value(&mut d, obj, expires);
    }
    d
}

/// Builds `DEBUG DIGEST`'s dataset digest, one database at a time.
#[derive(Debug, Default)]
pub(crate) struct Dataset {
    digest: Digest,
}

impl Dataset {
    /// Starts database `index` (call only for databases holding keys).
    pub(crate) fn database(&mut self, index: u32) {
        mix(&mut self.digest, &index.to_be_bytes());
    }

    /// Adds one key of the current database.
    pub(crate) fn key(&mut self, key: &[u8], obj: &RdbObject, expires: bool) {
        let mut d = [0u8; 20];
        mix(&mut d, key);
        add_value(&mut d, obj, expires);
        xor(&mut self.digest, &d);
    }

    pub(crate) fn finish(self) -> Digest {
        self.digest
    }
}

/// Lowercase hex, as Redis prints digests.
pub(crate) fn hex(d: &Digest) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrodis_store::Encoding;

    #[test]
    fn sha1_test_vectors() {
        let cases: [(&[u8], &str); 4] = [
            (b"", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
            (b"abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
            (
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
            ),
            (&[b'a'; 1000], "291e9a6c66994949b57ba5e650361e98fc36b1ba"),
        ];
        for (input, want) in cases {
            assert_eq!(hex(&sha1(input)), want, "{}", input.len());
        }
    }

    fn obj(value: RdbValue) -> RdbObject {
        RdbObject {
            value,
            encoding: Encoding::Compact,
        }
    }

    #[test]
    fn digests_follow_order_only_where_redis_does() {
        let v = |items: &[&str]| -> Vec<Vec<u8>> {
            items.iter().map(|s| s.as_bytes().to_vec()).collect()
        };
        let d = |value: RdbValue| value_digest(Some((&obj(value), false)));
        assert_eq!(
            d(RdbValue::Set(v(&["a", "b"]))),
            d(RdbValue::Set(v(&["b", "a"])))
        );
        assert_ne!(
            d(RdbValue::List(v(&["a", "b"]))),
            d(RdbValue::List(v(&["b", "a"])))
        );
        // The type is part of it.
        assert_ne!(d(RdbValue::List(v(&["a"]))), d(RdbValue::Set(v(&["a"]))));
        // So is an expiry.
        let s = obj(RdbValue::String(b"x".to_vec()));
        assert_ne!(
            value_digest(Some((&s, true))),
            value_digest(Some((&s, false)))
        );
        assert_eq!(value_digest(None), [0u8; 20]);
    }
}
