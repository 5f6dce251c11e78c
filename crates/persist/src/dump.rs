//! The `DUMP` payload: an RDB object followed by a footer of the RDB
//! version (2 bytes, little endian) and the CRC64 of everything before the
//! checksum (8 bytes, little endian).
//!
//! ```text
//! +-----------+-------------+----------------+
//! | object    | RDB version | CRC64 (Jones)  |
//! | type+body | u16 LE      | u64 LE         |
//! +-----------+-------------+----------------+
//! ```

use crate::crc64::crc64;
use crate::error::DumpError;
use crate::object::{EncodeOptions, RdbObject};

/// The RDB version Redis 7.0 writes, and the newest `RESTORE` accepts.
pub const RDB_VERSION: u16 = 10;
/// Bytes of the footer: version and checksum.
pub const FOOTER_SIZE: usize = VERSION_SIZE + CRC_SIZE;
/// Bytes of the version field.
const VERSION_SIZE: usize = 2;
/// Bytes of the checksum field.
const CRC_SIZE: usize = 8;

impl RdbObject {
    /// The `DUMP` payload of this object (`createDumpPayload`).
    pub fn to_dump(&self, opts: &EncodeOptions) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out, opts);
        out.extend_from_slice(&RDB_VERSION.to_le_bytes());
        let crc = crc64(0, &out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Reads a `DUMP` payload as `RESTORE` does: checks the footer
    /// (`verifyDumpPayload`: version at most 10, checksum), then decodes
    /// the object. Bytes between the object and the footer are ignored, as
    /// Redis ignores them.
    pub fn from_dump(payload: &[u8]) -> Result<RdbObject, DumpError> {
        let body = verify(payload)?;
        RdbObject::decode(body)
            .map(|(obj, _)| obj)
            .map_err(DumpError::BadData)
    }
}

/// Checks a payload's footer; returns the bytes before it.
pub fn verify(payload: &[u8]) -> Result<&[u8], DumpError> {
    let split = payload
        .len()
        .checked_sub(FOOTER_SIZE)
        .ok_or(DumpError::TooShort)?;
    let (body, footer) = payload.split_at(split);
    let (version, crc) = footer
        .split_first_chunk::<VERSION_SIZE>()
        .ok_or(DumpError::TooShort)?;
    let version = u16::from_le_bytes(*version);
    if version > RDB_VERSION {
        return Err(DumpError::Version { found: version });
    }
    let stored = u64::from_le_bytes(*crc.first_chunk::<CRC_SIZE>().ok_or(DumpError::TooShort)?);
    let computed = crc64(0, payload.get(..split + VERSION_SIZE).unwrap_or_default());
    if stored != computed {
        return Err(DumpError::Checksum { stored, computed });
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::{Encoding, RdbValue};

    fn string(s: &[u8]) -> RdbObject {
        RdbObject {
            value: RdbValue::String(s.to_vec()),
            encoding: Encoding::Compact,
        }
    }

    #[test]
    fn matches_redis_for_a_small_string() {
        // redis-server 7.0.15: SET foo bar; DUMP foo.
        let want = [
            0x00, 0x03, b'b', b'a', b'r', 0x0a, 0x00, 0xe6, 0xbe, 0x49, 0x60, 0xee, 0x66, 0xfd,
            0x17,
        ];
        let got = string(b"bar").to_dump(&EncodeOptions::default());
        assert_eq!(got, want);
        assert_eq!(RdbObject::from_dump(&got), Ok(string(b"bar")));
    }

    #[test]
    fn footer_errors() {
        let good = string(b"bar").to_dump(&EncodeOptions::default());
        assert_eq!(RdbObject::from_dump(&good[..9]), Err(DumpError::TooShort));
        let mut newer = good.clone();
        newer[5] = 11;
        assert_eq!(
            RdbObject::from_dump(&newer),
            Err(DumpError::Version { found: 11 })
        );
        let mut flipped = good.clone();
        flipped[1] ^= 1;
        assert!(matches!(
            RdbObject::from_dump(&flipped),
            Err(DumpError::Checksum { .. })
        ));
        for e in [
            DumpError::TooShort,
            DumpError::Version { found: 11 },
            DumpError::Checksum {
                stored: 0,
                computed: 1,
            },
        ] {
            assert_eq!(
                e.to_string(),
                "ERR DUMP payload version or checksum are wrong"
            );
        }
    }

    #[test]
    fn older_versions_are_accepted() {
        let mut body = vec![0x00, 0x01, b'x'];
        body.extend_from_slice(&6u16.to_le_bytes());
        let crc = crc64(0, &body);
        body.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(RdbObject::from_dump(&body), Ok(string(b"x")));
    }
}
