//! [`RdbReader`]: an RDB file in memory, item by item.

use crate::crc64::crc64;
use crate::error::{Corruption, RdbFileError};
use std::borrow::Cow;

use crate::object::{decode_body, is_object_type, skip_body, RdbObject, Types, TYPE_STRING};
use crate::primitives::Reader;

use super::{
    RdbEntry, RdbItem, OPCODE_AUX, OPCODE_EOF, OPCODE_EXPIRETIME, OPCODE_EXPIRETIME_MS,
    OPCODE_FREQ, OPCODE_FUNCTION, OPCODE_FUNCTION2, OPCODE_IDLE, OPCODE_MODULE_AUX,
    OPCODE_RESIZEDB, OPCODE_SELECTDB, RDB_CHECKSUM_VERSION, RDB_HEADER_SIZE, RDB_MAGIC,
    RDB_MAX_VERSION, RDB_MIN_VERSION,
};

/// Reads an RDB file held in memory, one [`RdbItem`] at a time.
///
/// Versions 1 to 11 are accepted. Files of version 5 and later end with a
/// CRC64 that is checked once the EOF opcode is read; a stored checksum of
/// 0 means the writer did not compute one (`rdbchecksum no`) and is not
/// checked. Bytes after the checksum are not read: [`RdbReader::offset`]
/// says where the RDB data ended (an AOF with an RDB preamble goes on
/// there).
///
/// As Redis does, keys whose collection is empty are skipped (old Redis
/// versions could write them; [`RdbReader::empty_keys_skipped`] counts
/// them), and the attributes opcodes give (expiry, idle time, frequency)
/// apply to the next key even across auxiliary fields or a `SELECTDB`.
/// What Redis decides while loading is left to the caller: which database
/// numbers exist, what to do with a duplicate key or an expired one.
///
/// Values are validated as `RESTORE` validates them (see
/// [`RdbObject::decode`](crate::RdbObject::decode)), and the RDB 11 set
/// listpack (type 20) is read too.
///
/// ```
/// use ferrodis_persist::{
///     EncodeOptions, Encoding, RdbItem, RdbObject, RdbReader, RdbValue, RdbWriter, WriteOptions,
/// };
///
/// let mut file = Vec::new();
/// let mut w = RdbWriter::new(WriteOptions::default(), &mut file);
/// w.select_db(&mut file, 0, 1, 0);
/// let obj = RdbObject { value: RdbValue::String(b"v".to_vec()), encoding: Encoding::Compact };
/// w.entry(&mut file, b"k", &obj, None, None, None);
/// w.finish(&mut file);
///
/// let mut r = RdbReader::new(&file)?;
/// assert_eq!(r.next_item()?, Some(RdbItem::SelectDb(0)));
/// assert_eq!(r.next_item()?, Some(RdbItem::ResizeDb { keys: 1, expires: 0 }));
/// match r.next_item()? {
///     Some(RdbItem::Entry(e)) => assert_eq!((e.key, e.object), (b"k".to_vec(), obj)),
///     other => panic!("{other:?}"),
/// }
/// assert_eq!(r.next_item()?, None);
/// assert_eq!(r.offset(), file.len());
/// # Ok::<(), ferrodis_persist::RdbFileError>(())
/// ```
#[derive(Debug, Clone)]
pub struct RdbReader<'a> {
    input: &'a [u8],
    r: Reader<'a>,
    version: u16,
    state: State,
    /// Attributes read for the next key.
    pending: Pending,
    empty_keys_skipped: u64,
}

/// Where the reader is.
#[derive(Debug, Clone)]
enum State {
    Items,
    /// The EOF opcode and checksum were read.
    Done,
    /// An error was returned; it is returned again.
    Failed(RdbFileError),
}

/// What [`RdbReader::read_step`] found.
enum Step<'a> {
    Item(RdbItem),
    Key(RdbEntryRef<'a>),
}

/// One item of an RDB file as [`RdbReader::next_item_ref`] returns it.
#[derive(Debug, Clone)]
pub enum RdbItemRef<'a> {
    /// A key, located but not decoded.
    Entry(RdbEntryRef<'a>),
    /// Any other item (never [`RdbItem::Entry`]).
    Other(RdbItem),
}

/// A key of an RDB file whose value is located but not decoded yet.
#[derive(Debug, Clone)]
pub struct RdbEntryRef<'a> {
    /// The key.
    pub key: Cow<'a, [u8]>,
    /// As [`RdbEntry::expire_at_ms`].
    pub expire_at_ms: Option<u64>,
    /// As [`RdbEntry::idle_seconds`].
    pub idle_seconds: Option<u64>,
    /// As [`RdbEntry::freq`].
    pub freq: Option<u8>,
    input: &'a [u8],
    /// Offset of the type byte.
    at: usize,
    rdb_type: u8,
    /// Offset of the value.
    body: usize,
}

impl<'a> RdbEntryRef<'a> {
    /// The value's object type (`TYPE_*`).
    pub fn rdb_type(&self) -> u8 {
        self.rdb_type
    }

    /// Offset of the key's type byte in the file.
    pub fn offset(&self) -> usize {
        self.at
    }

    /// The value, when it is a string stored as is (not as an integer, not
    /// compressed): the bytes in the file, nothing to decode.
    pub fn plain_string(&self) -> Option<&'a [u8]> {
        if self.rdb_type != TYPE_STRING {
            return None;
        }
        let mut r = Reader::at(self.input, self.body);
        match r.string_ref() {
            Ok(Cow::Borrowed(s)) => Some(s),
            _ => None,
        }
    }

    /// Decodes and checks the value as [`RdbReader::next_item`] would;
    /// `None` for an empty collection, which a loader skips.
    pub fn decode(&self) -> Result<Option<RdbObject>, RdbFileError> {
        let mut r = Reader::at(self.input, self.body);
        match decode_body(&mut r, self.at, self.rdb_type, Types::Rdb11) {
            Ok(object) => Ok(Some(object)),
            Err(e) if e.what == Corruption::Empty => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The decoded entry (`None` for an empty collection).
    pub fn into_entry(self) -> Result<Option<RdbEntry>, RdbFileError> {
        Ok(self.decode()?.map(|object| RdbEntry {
            key: self.key.into_owned(),
            object,
            expire_at_ms: self.expire_at_ms,
            idle_seconds: self.idle_seconds,
            freq: self.freq,
        }))
    }
}

/// Attributes the opcodes before a key give it.
#[derive(Debug, Clone, Copy, Default)]
struct Pending {
    expire_at_ms: Option<u64>,
    idle_seconds: Option<u64>,
    freq: Option<u8>,
}

impl<'a> RdbReader<'a> {
    /// Checks the header: `REDIS` and a version of four decimal digits in
    /// 1..=11.
    pub fn new(input: &'a [u8]) -> Result<RdbReader<'a>, RdbFileError> {
        let Some(header) = input.first_chunk::<RDB_HEADER_SIZE>() else {
            // A prefix of a header is a truncated file; anything else is not
            // an RDB file at all.
            let n = input.len().min(RDB_MAGIC.len());
            return if input.get(..n) == RDB_MAGIC.get(..n) {
                Err(RdbFileError::Truncated {
                    offset: input.len(),
                })
            } else {
                Err(RdbFileError::BadMagic)
            };
        };
        let (magic, digits) = header.split_at(RDB_MAGIC.len());
        if magic != RDB_MAGIC || !digits.iter().all(u8::is_ascii_digit) {
            return Err(RdbFileError::BadMagic);
        }
        let version = digits
            .iter()
            .fold(0u16, |v, d| v * 10 + u16::from(d - b'0'));
        if !(RDB_MIN_VERSION..=RDB_MAX_VERSION).contains(&version) {
            return Err(RdbFileError::Version(version));
        }
        let mut r = Reader::new(input);
        r.take(RDB_HEADER_SIZE)?;
        Ok(RdbReader {
            input,
            r,
            version,
            state: State::Items,
            pending: Pending::default(),
            empty_keys_skipped: 0,
        })
    }

    /// The file's RDB version.
    pub fn version(&self) -> u16 {
        self.version
    }

    /// Offset of the next byte to read: after the last item returned, and
    /// after the checksum once [`RdbReader::next_item`] returned `None`.
    pub fn offset(&self) -> usize {
        self.r.pos()
    }

    /// Keys skipped because their collection was empty.
    pub fn empty_keys_skipped(&self) -> u64 {
        self.empty_keys_skipped
    }

    /// The next item; `None` after the EOF opcode and a good checksum (and
    /// on every call after that). After an error, every call returns it
    /// again.
    pub fn next_item(&mut self) -> Result<Option<RdbItem>, RdbFileError> {
        match &self.state {
            State::Done => return Ok(None),
            State::Failed(e) => return Err(e.clone()),
            State::Items => {}
        }
        let item = self.read_item();
        match &item {
            Ok(None) => self.state = State::Done,
            Err(e) => self.state = State::Failed(e.clone()),
            Ok(Some(_)) => {}
        }
        item
    }

    /// The next item, with keys located but not decoded: see
    /// [`RdbEntryRef`]. The file's structure (opcodes, lengths, counts,
    /// the checksum) is checked as [`RdbReader::next_item`] checks it; what
    /// is inside a value is checked when the entry is decoded. Empty
    /// collections are found then too ([`RdbEntryRef::decode`] returns
    /// `None`), so [`RdbReader::empty_keys_skipped`] does not count them.
    ///
    /// Locating keys is much cheaper than decoding them, and entries can
    /// be decoded on other threads: a loader decodes a large file on all
    /// its cores this way.
    pub fn next_item_ref(&mut self) -> Result<Option<RdbItemRef<'a>>, RdbFileError> {
        match &self.state {
            State::Done => return Ok(None),
            State::Failed(e) => return Err(e.clone()),
            State::Items => {}
        }
        let item = self.read_step(false).map(|step| {
            step.map(|s| match s {
                Step::Item(item) => RdbItemRef::Other(item),
                Step::Key(e) => RdbItemRef::Entry(e),
            })
        });
        match &item {
            Ok(None) => self.state = State::Done,
            Err(e) => self.state = State::Failed(e.clone()),
            Ok(Some(_)) => {}
        }
        item
    }

    fn read_item(&mut self) -> Result<Option<RdbItem>, RdbFileError> {
        Ok(self.read_step(true)?.map(|s| match s {
            Step::Item(item) => item,
            Step::Key(_) => unreachable!("keys are decoded"),
        }))
    }

    /// Reads up to the next item. With `decode`, keys come back decoded as
    /// [`Step::Item`]; without, located as [`Step::Key`].
    fn read_step(&mut self, decode: bool) -> Result<Option<Step<'a>>, RdbFileError> {
        loop {
            let at = self.r.pos();
            let opcode = self.r.u8()?;
            match opcode {
                OPCODE_EXPIRETIME_MS => {
                    let ms = i64::from_le_bytes(self.r.array()?);
                    self.pending.expire_at_ms = expire_time(ms);
                }
                OPCODE_EXPIRETIME => {
                    let s = i32::from_le_bytes(self.r.array()?);
                    self.pending.expire_at_ms = expire_time(i64::from(s) * 1000);
                }
                OPCODE_IDLE => self.pending.idle_seconds = Some(self.r.len()?),
                OPCODE_FREQ => self.pending.freq = Some(self.r.u8()?),
                OPCODE_EOF => {
                    self.check_sum()?;
                    return Ok(None);
                }
                OPCODE_SELECTDB => return Ok(Some(Step::Item(RdbItem::SelectDb(self.r.len()?)))),
                OPCODE_RESIZEDB => {
                    let keys = self.r.len()?;
                    let expires = self.r.len()?;
                    return Ok(Some(Step::Item(RdbItem::ResizeDb { keys, expires })));
                }
                OPCODE_AUX => {
                    let key = self.r.string()?;
                    let value = self.r.string()?;
                    return Ok(Some(Step::Item(RdbItem::Aux { key, value })));
                }
                OPCODE_MODULE_AUX => return Err(RdbFileError::ModuleAux { offset: at }),
                OPCODE_FUNCTION | OPCODE_FUNCTION2 => {
                    return Err(RdbFileError::Functions { offset: at })
                }
                t if is_object_type(t, Types::Rdb11) => {
                    let attrs = std::mem::take(&mut self.pending);
                    if !decode {
                        let key = self.r.string_ref()?;
                        let body = self.r.pos();
                        skip_body(&mut self.r, at, t, Types::Rdb11)?;
                        return Ok(Some(Step::Key(RdbEntryRef {
                            key,
                            expire_at_ms: attrs.expire_at_ms,
                            idle_seconds: attrs.idle_seconds,
                            freq: attrs.freq,
                            input: self.input,
                            at,
                            rdb_type: t,
                            body,
                        })));
                    }
                    let key = self.r.string()?;
                    match decode_body(&mut self.r, at, t, Types::Rdb11) {
                        Ok(object) => {
                            return Ok(Some(Step::Item(RdbItem::Entry(RdbEntry {
                                key,
                                object,
                                expire_at_ms: attrs.expire_at_ms,
                                idle_seconds: attrs.idle_seconds,
                                freq: attrs.freq,
                            }))))
                        }
                        // The decoder stops at the end of an empty object.
                        Err(e) if e.what == Corruption::Empty => self.empty_keys_skipped += 1,
                        Err(e) => return Err(e.into()),
                    }
                }
                t => {
                    return Err(RdbFileError::UnknownOpcode {
                        offset: at,
                        opcode: t,
                    })
                }
            }
        }
    }

    /// Reads and checks the checksum after the EOF opcode (RDB 5 and
    /// later).
    fn check_sum(&mut self) -> Result<(), RdbFileError> {
        if self.version < RDB_CHECKSUM_VERSION {
            return Ok(());
        }
        let end = self.r.pos();
        let stored = u64::from_le_bytes(self.r.array()?);
        let computed = crc64(0, self.input.get(..end).unwrap_or_default());
        if stored != 0 && stored != computed {
            return Err(RdbFileError::Checksum { stored, computed });
        }
        Ok(())
    }
}

/// An expiry as Redis reads it: -1 is no expiry (Redis' own marker), any
/// other time before 1970 is long past.
fn expire_time(ms: i64) -> Option<u64> {
    if ms == -1 {
        None
    } else {
        Some(u64::try_from(ms).unwrap_or(0))
    }
}

/// The items up to the end, then `None`; an error is the last item.
impl Iterator for RdbReader<'_> {
    type Item = Result<RdbItem, RdbFileError>;

    fn next(&mut self) -> Option<Self::Item> {
        if matches!(self.state, State::Failed(_)) {
            return None;
        }
        self.next_item().transpose()
    }
}

impl std::iter::FusedIterator for RdbReader<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::RdbError;
    use crate::listpack;
    use crate::object::{
        Encoding, RdbObject, RdbValue, TYPE_HASH_LISTPACK, TYPE_LIST_QUICKLIST_2,
        TYPE_LIST_ZIPLIST, TYPE_SET, TYPE_SET_LISTPACK, TYPE_STREAM_LISTPACKS,
        TYPE_STREAM_LISTPACKS_3, TYPE_STRING, TYPE_ZSET_LISTPACK,
    };
    use crate::primitives::{write_len, write_string};
    use crate::rdb::{RdbWriter, WriteOptions, RDB_MAGIC};
    use crate::ziplist::tests::build as ziplist;

    /// A file of `version` with `body` between the header and the EOF
    /// opcode, and a checksum (RDB 5+) that is right, or `crc` when given.
    fn file(version: u16, body: impl FnOnce(&mut Vec<u8>), crc: Option<u64>) -> Vec<u8> {
        let mut out = RDB_MAGIC.to_vec();
        out.extend_from_slice(format!("{version:04}").as_bytes());
        body(&mut out);
        out.push(OPCODE_EOF);
        if version >= RDB_CHECKSUM_VERSION {
            let crc = crc.unwrap_or_else(|| crc64(0, &out));
            out.extend_from_slice(&crc.to_le_bytes());
        }
        out
    }

    fn items(bytes: &[u8]) -> Result<Vec<RdbItem>, RdbFileError> {
        RdbReader::new(bytes)?.collect()
    }

    fn string_key(o: &mut Vec<u8>, key: &str, value: &str) {
        o.push(TYPE_STRING);
        write_string(o, key.as_bytes(), false);
        write_string(o, value.as_bytes(), false);
    }

    fn entry(key: &str, value: RdbValue, encoding: Encoding) -> RdbEntry {
        RdbEntry {
            key: key.as_bytes().to_vec(),
            object: RdbObject { value, encoding },
            expire_at_ms: None,
            idle_seconds: None,
            freq: None,
        }
    }

    fn string_entry(key: &str, value: &str) -> RdbEntry {
        entry(
            key,
            RdbValue::String(value.as_bytes().to_vec()),
            Encoding::Compact,
        )
    }

    fn lp(entries: &[&[u8]]) -> Vec<u8> {
        let mut w = listpack::Writer::new();
        for e in entries {
            w.push(e);
        }
        w.finish()
    }

    #[test]
    fn headers() {
        for (bytes, want) in [
            (&b""[..], RdbFileError::Truncated { offset: 0 }),
            (b"RED", RdbFileError::Truncated { offset: 3 }),
            (b"REDIS001", RdbFileError::Truncated { offset: 8 }),
            (b"XY", RdbFileError::BadMagic),
            (b"REDIX0010\xff", RdbFileError::BadMagic),
            (b"REDIS 010\xff", RdbFileError::BadMagic),
            (b"REDIS+010\xff", RdbFileError::BadMagic),
            (b"REDIS0000\xff", RdbFileError::Version(0)),
            (b"REDIS0012\xff", RdbFileError::Version(12)),
            (b"REDIS9999\xff", RdbFileError::Version(9999)),
        ] {
            assert_eq!(RdbReader::new(bytes).err(), Some(want), "{bytes:?}");
        }
        for v in 1..=11 {
            let f = file(v, |_| {}, None);
            let mut r = RdbReader::new(&f).unwrap();
            assert_eq!(r.version(), v);
            assert_eq!(r.next_item(), Ok(None));
            assert_eq!(r.offset(), f.len());
        }
        // No EOF opcode.
        assert_eq!(
            items(b"REDIS0010"),
            Err(RdbFileError::Truncated { offset: 9 })
        );
    }

    #[test]
    fn checksums() {
        let body = |o: &mut Vec<u8>| string_key(o, "k", "v");
        let good = file(10, body, None);
        assert_eq!(
            items(&good),
            Ok(vec![RdbItem::Entry(string_entry("k", "v"))])
        );
        // 0: not computed, not checked.
        assert!(items(&file(10, body, Some(0))).is_ok());
        let computed = crc64(0, &good[..good.len() - 8]);
        assert_eq!(
            items(&file(10, body, Some(1))),
            Err(RdbFileError::Checksum {
                stored: 1,
                computed
            })
        );
        // The checksum missing or cut short.
        for cut in 1..=8 {
            assert_eq!(
                items(&good[..good.len() - cut]),
                Err(RdbFileError::Truncated {
                    offset: good.len() - 8
                })
            );
        }
        // Before RDB 5 there is none, and trailing bytes are not read.
        let mut old = file(4, body, None);
        assert_eq!(old.last(), Some(&OPCODE_EOF));
        let end = old.len();
        old.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
        let mut r = RdbReader::new(&old).unwrap();
        assert!(r.next_item().unwrap().is_some());
        assert_eq!(r.next_item(), Ok(None));
        assert_eq!(r.offset(), end);
    }

    #[test]
    fn key_attributes() {
        let f = file(
            10,
            |o| {
                o.push(OPCODE_EXPIRETIME_MS);
                o.extend_from_slice(&1_700_000_000_123i64.to_le_bytes());
                o.push(OPCODE_IDLE);
                write_len(o, 300);
                o.push(OPCODE_FREQ);
                o.push(7);
                string_key(o, "a", "1");
                // Attributes do not outlive their key.
                string_key(o, "b", "2");
                // Old seconds expiry; an attribute survives an AUX field.
                o.push(OPCODE_EXPIRETIME);
                o.extend_from_slice(&1_700_000_000i32.to_le_bytes());
                o.push(OPCODE_AUX);
                write_string(o, b"x", false);
                write_string(o, b"y", false);
                string_key(o, "c", "3");
                // -1 is Redis' "no expiry"; other times before 1970 are past.
                o.push(OPCODE_EXPIRETIME_MS);
                o.extend_from_slice(&(-1i64).to_le_bytes());
                string_key(o, "d", "4");
                o.push(OPCODE_EXPIRETIME_MS);
                o.extend_from_slice(&(-5i64).to_le_bytes());
                string_key(o, "e", "5");
            },
            None,
        );
        let mut a = string_entry("a", "1");
        a.expire_at_ms = Some(1_700_000_000_123);
        a.idle_seconds = Some(300);
        a.freq = Some(7);
        let mut c = string_entry("c", "3");
        c.expire_at_ms = Some(1_700_000_000_000);
        let mut e = string_entry("e", "5");
        e.expire_at_ms = Some(0);
        assert_eq!(
            items(&f),
            Ok(vec![
                RdbItem::Entry(a),
                RdbItem::Entry(string_entry("b", "2")),
                RdbItem::Aux {
                    key: b"x".to_vec(),
                    value: b"y".to_vec()
                },
                RdbItem::Entry(c),
                RdbItem::Entry(string_entry("d", "4")),
                RdbItem::Entry(e),
            ])
        );
    }

    #[test]
    fn empty_keys_are_skipped_as_redis_skips_them() {
        // (type, body) of an empty value of each kind.
        let quicklist_of_one_empty_node = {
            let mut o = Vec::new();
            write_len(&mut o, 1);
            write_len(&mut o, 2);
            write_string(&mut o, &lp(&[]), false);
            o
        };
        let blob = |b: Vec<u8>| {
            let mut o = Vec::new();
            write_string(&mut o, &b, false);
            o
        };
        let empties = [
            (TYPE_SET, vec![0]),
            (TYPE_LIST_ZIPLIST, blob(ziplist(&[]))),
            (TYPE_HASH_LISTPACK, blob(lp(&[]))),
            (TYPE_ZSET_LISTPACK, blob(lp(&[]))),
            (TYPE_SET_LISTPACK, blob(lp(&[]))),
            (TYPE_LIST_QUICKLIST_2, quicklist_of_one_empty_node),
        ];
        for (t, body) in &empties {
            let f = file(
                10,
                |o| {
                    o.push(OPCODE_EXPIRETIME_MS);
                    o.extend_from_slice(&5i64.to_le_bytes());
                    o.push(*t);
                    write_string(o, b"e", false);
                    o.extend_from_slice(body);
                    string_key(o, "next", "v");
                },
                None,
            );
            let mut r = RdbReader::new(&f).unwrap();
            // The skipped key's expiry does not pass to the next one.
            assert_eq!(
                r.next_item(),
                Ok(Some(RdbItem::Entry(string_entry("next", "v"))))
            );
            assert_eq!(r.next_item(), Ok(None));
            assert_eq!(r.empty_keys_skipped(), 1);
        }
    }

    #[test]
    fn sets_as_listpacks_from_rdb_11() {
        let f = file(
            11,
            |o| {
                o.push(TYPE_SET_LISTPACK);
                write_string(o, b"s", false);
                write_string(o, &lp(&[b"a", b"12", b"-3"]), false);
            },
            None,
        );
        let want = entry(
            "s",
            RdbValue::Set(vec![b"a".to_vec(), b"12".to_vec(), b"-3".to_vec()]),
            Encoding::Compact,
        );
        assert_eq!(items(&f), Ok(vec![RdbItem::Entry(want)]));
        let dup = file(
            11,
            |o| {
                o.push(TYPE_SET_LISTPACK);
                write_string(o, b"s", false);
                write_string(o, &lp(&[b"12", b"a", b"12"]), false);
            },
            None,
        );
        assert!(matches!(
            items(&dup),
            Err(RdbFileError::Object(RdbError {
                what: Corruption::Duplicate,
                ..
            }))
        ));
        // RESTORE (Redis 7.0) does not know the type.
        let mut payload = vec![TYPE_SET_LISTPACK];
        write_string(&mut payload, &lp(&[b"a"]), false);
        assert_eq!(
            RdbObject::decode(&payload).map_err(|e| e.what),
            Err(Corruption::UnknownType(TYPE_SET_LISTPACK))
        );
    }

    #[test]
    fn what_ferrodis_cannot_load() {
        let at = RDB_HEADER_SIZE;
        let with = |bytes: &[u8]| {
            let bytes = bytes.to_vec();
            file(10, move |o| o.extend_from_slice(&bytes), None)
        };
        assert_eq!(
            items(&with(&[OPCODE_FUNCTION2, 0x01, b'x'])),
            Err(RdbFileError::Functions { offset: at })
        );
        assert_eq!(
            items(&with(&[OPCODE_FUNCTION, 0x01, b'x'])),
            Err(RdbFileError::Functions { offset: at })
        );
        assert_eq!(
            items(&with(&[OPCODE_MODULE_AUX, 0x01])),
            Err(RdbFileError::ModuleAux { offset: at })
        );
        for t in [8, 22, 100, 244] {
            assert_eq!(
                items(&with(&[t, 0x01, b'k', 0x00])),
                Err(RdbFileError::UnknownOpcode {
                    offset: at,
                    opcode: t
                })
            );
        }
        for t in [6, 7, TYPE_STREAM_LISTPACKS, TYPE_STREAM_LISTPACKS_3] {
            assert_eq!(
                items(&with(&[t, 0x01, b'k', 0x00])),
                Err(RdbFileError::Object(RdbError {
                    offset: at,
                    what: Corruption::UnsupportedType(t)
                }))
            );
        }
        let e = items(&with(&[OPCODE_FUNCTION2])).unwrap_err();
        assert!(e.to_string().contains("function"), "{e}");
        assert_eq!(e.offset(), Some(at));
    }

    #[test]
    fn errors_are_sticky_and_end_iteration() {
        let f = file(
            10,
            |o| {
                string_key(o, "a", "1");
                o.push(8);
            },
            None,
        );
        let mut r = RdbReader::new(&f).unwrap();
        assert!(r.next_item().unwrap().is_some());
        let e = r.next_item().unwrap_err();
        assert_eq!(r.next_item(), Err(e.clone()));
        let mut it = RdbReader::new(&f).unwrap();
        assert!(matches!(it.next(), Some(Ok(_))));
        assert_eq!(it.next(), Some(Err(e)));
        assert_eq!(it.next(), None);
    }

    #[test]
    fn writer_output_may_be_drained_between_calls() {
        let obj = RdbObject {
            value: RdbValue::List(vec![b"x".repeat(50); 3]),
            encoding: Encoding::Compact,
        };
        let write = |drain: bool| {
            let mut disk = Vec::new();
            let mut buf = Vec::new();
            let mut flush = |buf: &mut Vec<u8>| {
                if drain {
                    disk.append(buf);
                }
            };
            let mut w = RdbWriter::new(WriteOptions::default(), &mut buf);
            flush(&mut buf);
            w.aux(&mut buf, b"redis-ver", b"7.0.15");
            flush(&mut buf);
            w.select_db(&mut buf, 3, 1, 1);
            flush(&mut buf);
            w.entry(&mut buf, b"k", &obj, Some(99), Some(1), Some(2));
            flush(&mut buf);
            assert_eq!(w.written(), (disk.len() + buf.len()) as u64);
            w.finish(&mut buf);
            disk.append(&mut buf);
            disk
        };
        let whole = write(false);
        assert_eq!(write(true), whole);
        assert!(whole.starts_with(b"REDIS0010"));
        let (data, crc) = whole.split_at(whole.len() - 8);
        assert_eq!(crc, crc64(0, data).to_le_bytes());
        let mut e = entry("k", obj.value.clone(), Encoding::Compact);
        e.expire_at_ms = Some(99);
        e.idle_seconds = Some(1);
        e.freq = Some(2);
        assert_eq!(
            items(&whole),
            Ok(vec![
                RdbItem::Aux {
                    key: b"redis-ver".to_vec(),
                    value: b"7.0.15".to_vec()
                },
                RdbItem::SelectDb(3),
                RdbItem::ResizeDb {
                    keys: 1,
                    expires: 1
                },
                RdbItem::Entry(e),
            ])
        );
    }
}
