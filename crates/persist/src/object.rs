//! RDB objects: a value's type byte and encoded body, as `rdbSaveObject`
//! writes them and `rdbLoadObject` reads them in Redis 7.0 (RDB version
//! 10). Byte tables in `docs/formats/rdb.md`.

use std::collections::HashSet;

use crate::error::{Corruption, RdbError};
use crate::listpack::{self, Entry};
use crate::primitives::{write_binary_double, write_len, write_string, Reader};
use crate::{intset, num, ziplist, zipmap};

/// Object type: a string.
pub const TYPE_STRING: u8 = 0;
/// Object type: a list as a count and strings (RDB < 7).
pub const TYPE_LIST: u8 = 1;
/// Object type: a set as a count and strings.
pub const TYPE_SET: u8 = 2;
/// Object type: a sorted set with text scores (RDB < 8).
pub const TYPE_ZSET: u8 = 3;
/// Object type: a hash as a count and field/value strings.
pub const TYPE_HASH: u8 = 4;
/// Object type: a sorted set with binary scores.
pub const TYPE_ZSET_2: u8 = 5;
/// Object type: a module value (not supported).
pub const TYPE_MODULE: u8 = 6;
/// Object type: a module value with annotations (not supported).
pub const TYPE_MODULE_2: u8 = 7;
/// Object type: a hash as a zipmap (Redis 2.4 and older).
pub const TYPE_HASH_ZIPMAP: u8 = 9;
/// Object type: a list as one ziplist (RDB < 7).
pub const TYPE_LIST_ZIPLIST: u8 = 10;
/// Object type: a set as an intset.
pub const TYPE_SET_INTSET: u8 = 11;
/// Object type: a sorted set as a ziplist (RDB < 10).
pub const TYPE_ZSET_ZIPLIST: u8 = 12;
/// Object type: a hash as a ziplist (RDB < 10).
pub const TYPE_HASH_ZIPLIST: u8 = 13;
/// Object type: a list as a quicklist of ziplists (RDB 7 to 9).
pub const TYPE_LIST_QUICKLIST: u8 = 14;
/// Object type: a stream (not supported).
pub const TYPE_STREAM_LISTPACKS: u8 = 15;
/// Object type: a hash as a listpack.
pub const TYPE_HASH_LISTPACK: u8 = 16;
/// Object type: a sorted set as a listpack.
pub const TYPE_ZSET_LISTPACK: u8 = 17;
/// Object type: a list as a quicklist of listpack (or plain) nodes.
pub const TYPE_LIST_QUICKLIST_2: u8 = 18;
/// Object type: a stream with consumer group metadata (not supported).
pub const TYPE_STREAM_LISTPACKS_2: u8 = 19;
/// Object type: a set as a listpack (RDB 11, Redis 7.2; read from RDB
/// files only, as Redis 7.0's `RESTORE` does not know it).
pub const TYPE_SET_LISTPACK: u8 = 20;
/// Object type: a stream with more consumer metadata (RDB 11, not
/// supported).
pub const TYPE_STREAM_LISTPACKS_3: u8 = 21;

/// Quicklist node container: one element stored as is.
pub const QUICKLIST_NODE_PLAIN: u64 = 1;
/// Quicklist node container: a listpack of elements.
pub const QUICKLIST_NODE_PACKED: u64 = 2;

/// `list-max-listpack-size` levels for negative settings: the most bytes a
/// node holds at -1, -2, ... -5.
const LIST_SIZE_LEVELS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// Upper bound on a node of a count-limited list (positive setting).
const LIST_SIZE_SAFETY_LIMIT: usize = 8192;
/// Bytes an element adds to a node beyond its length, as quicklist
/// estimates it.
const LIST_SIZE_ESTIMATE_OVERHEAD: usize = 8;
/// Elements this long go into a node of their own, unpacked.
const LIST_PLAIN_THRESHOLD: usize = 1 << 30;

/// A value in the model the RDB format describes, independent of any
/// in-memory representation.
#[derive(Debug, Clone, PartialEq)]
pub enum RdbValue {
    /// A string.
    String(Vec<u8>),
    /// A list, head first.
    List(Vec<Vec<u8>>),
    /// A set's members.
    Set(Vec<Vec<u8>>),
    /// A sorted set's members and scores, in the order they are stored
    /// (no NaN).
    ZSet(Vec<(Vec<u8>, f64)>),
    /// A hash's fields and values.
    Hash(Vec<(Vec<u8>, Vec<u8>)>),
}

/// Which of Redis' two in-memory encodings a collection has, which picks
/// its RDB type: sets as intset or set, hashes and sorted sets as listpack
/// or hash/zset2. Strings and lists have one RDB form each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// The small encodings: `intset` (when every member is an integer),
    /// `listpack`.
    #[default]
    Compact,
    /// The large encodings: `hashtable`, `skiplist`.
    Full,
}

/// A value with its encoding: what `DUMP` serializes and `RESTORE` reads.
#[derive(Debug, Clone, PartialEq)]
pub struct RdbObject {
    /// The value.
    pub value: RdbValue,
    /// Its encoding (on decode: whether the payload used a compact type;
    /// always `Compact` for strings and lists, which have one form).
    pub encoding: Encoding,
}

/// How values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeOptions {
    /// `rdbcompression`: LZF-compress strings (and encoded blobs) longer
    /// than 20 bytes when that saves at least 4 bytes.
    pub compression: bool,
    /// `list-max-listpack-size`: negative for a byte limit per list node
    /// (-1 = 4 KiB ... -5 = 64 KiB), positive for an element count.
    pub list_max_listpack_size: i64,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            compression: true,
            list_max_listpack_size: -2,
        }
    }
}

impl RdbObject {
    /// The RDB type byte this object is written with.
    pub fn rdb_type(&self) -> u8 {
        match (&self.value, self.encoding) {
            (RdbValue::String(_), _) => TYPE_STRING,
            (RdbValue::List(_), _) => TYPE_LIST_QUICKLIST_2,
            (RdbValue::Set(m), Encoding::Compact) if intset_values(m).is_some() => TYPE_SET_INTSET,
            (RdbValue::Set(_), _) => TYPE_SET,
            (RdbValue::ZSet(_), Encoding::Compact) => TYPE_ZSET_LISTPACK,
            (RdbValue::ZSet(_), Encoding::Full) => TYPE_ZSET_2,
            (RdbValue::Hash(_), Encoding::Compact) => TYPE_HASH_LISTPACK,
            (RdbValue::Hash(_), Encoding::Full) => TYPE_HASH,
        }
    }

    /// Appends the type byte and the encoded object (`rdbSaveObjectType`
    /// and `rdbSaveObject`).
    pub fn encode(&self, out: &mut Vec<u8>, opts: &EncodeOptions) {
        let rdb_type = self.rdb_type();
        out.push(rdb_type);
        self.encode_body(rdb_type, out, opts);
    }

    /// Appends the encoded object without its type byte (an RDB file puts
    /// the key between the two); `rdb_type` is [`RdbObject::rdb_type`].
    pub(crate) fn encode_body(&self, rdb_type: u8, out: &mut Vec<u8>, opts: &EncodeOptions) {
        let z = opts.compression;
        match &self.value {
            RdbValue::String(s) => write_string(out, s, z),
            RdbValue::List(items) => encode_list(out, items.iter().map(Vec::as_slice), opts),
            RdbValue::Set(members) => match intset_values(members) {
                Some(mut ints) if rdb_type == TYPE_SET_INTSET => {
                    write_string(out, &intset::encode(&mut ints), z);
                }
                _ => {
                    write_len(out, members.len() as u64);
                    for m in members {
                        write_string(out, m, z);
                    }
                }
            },
            RdbValue::ZSet(items) if rdb_type == TYPE_ZSET_LISTPACK => {
                let mut lp = listpack::Writer::new();
                for (member, score) in items {
                    lp.push(member);
                    match num::double_as_i64(*score) {
                        Some(n) => lp.push_int(n),
                        None => lp.push(num::format_g17(*score).as_bytes()),
                    }
                }
                write_string(out, &lp.finish(), z);
            }
            RdbValue::ZSet(items) => {
                write_len(out, items.len() as u64);
                for (member, score) in items {
                    write_string(out, member, z);
                    write_binary_double(out, *score);
                }
            }
            RdbValue::Hash(pairs) if rdb_type == TYPE_HASH_LISTPACK => {
                let mut lp = listpack::Writer::new();
                for (field, value) in pairs {
                    lp.push(field);
                    lp.push(value);
                }
                write_string(out, &lp.finish(), z);
            }
            RdbValue::Hash(pairs) => {
                write_len(out, pairs.len() as u64);
                for (field, value) in pairs {
                    write_string(out, field, z);
                    write_string(out, value, z);
                }
            }
        }
    }

    /// Reads a type byte and the object after it from the start of `input`
    /// (`rdbLoadObjectType` and `rdbLoadObject`); returns the object and
    /// the bytes it took. Redis' deep integrity checks all apply, and
    /// empty collections are refused as Redis refuses them.
    ///
    /// This is `RESTORE`'s view, Redis 7.0's: the RDB 11 types (such as
    /// [`TYPE_SET_LISTPACK`]) are unknown here; the RDB file reader
    /// takes them.
    pub fn decode(input: &[u8]) -> Result<(RdbObject, usize), RdbError> {
        let mut r = Reader::new(input);
        let at = r.pos();
        let rdb_type = r.u8()?;
        let obj = decode_body(&mut r, at, rdb_type, Types::Rdb10)?;
        Ok((obj, r.pos()))
    }
}

/// The members as sorted distinct integers, if every one is a canonical
/// integer (an intset can hold them).
fn intset_values(members: &[Vec<u8>]) -> Option<Vec<i64>> {
    members
        .iter()
        .map(|m| num::parse_canonical_i64(m))
        .collect()
}

/// Writes a list's elements, head first, as a quicklist of listpack nodes
/// (type 18, without the type byte), split into nodes as Redis' `RPUSH`
/// splits them.
pub fn encode_list<'a>(
    out: &mut Vec<u8>,
    elements: impl IntoIterator<Item = &'a [u8]>,
    opts: &EncodeOptions,
) {
    enum Node<'a> {
        Packed(listpack::Writer),
        Plain(&'a [u8]),
    }
    let fill = opts.list_max_listpack_size;
    let mut nodes: Vec<Node<'a>> = Vec::new();
    for e in elements {
        if e.len() >= LIST_PLAIN_THRESHOLD {
            nodes.push(Node::Plain(e));
            continue;
        }
        match nodes.last_mut() {
            Some(Node::Packed(lp)) if node_allows(lp, e.len(), fill) => lp.push(e),
            _ => {
                let mut lp = listpack::Writer::new();
                lp.push(e);
                nodes.push(Node::Packed(lp));
            }
        }
    }
    write_len(out, nodes.len() as u64);
    for node in nodes {
        match node {
            Node::Packed(lp) => {
                write_len(out, QUICKLIST_NODE_PACKED);
                write_string(out, &lp.finish(), opts.compression);
            }
            Node::Plain(e) => {
                write_len(out, QUICKLIST_NODE_PLAIN);
                write_string(out, e, opts.compression);
            }
        }
    }
}

/// Whether a node may take one more element of `len` bytes
/// (`_quicklistNodeAllowInsert`).
fn node_allows(lp: &listpack::Writer, len: usize, fill: i64) -> bool {
    let new_size = lp.bytes() + len + LIST_SIZE_ESTIMATE_OVERHEAD;
    if fill < 0 {
        let level = usize::try_from(-fill - 1)
            .ok()
            .and_then(|i| LIST_SIZE_LEVELS.get(i));
        if let Some(&limit) = level {
            return new_size <= limit;
        }
    }
    new_size <= LIST_SIZE_SAFETY_LIMIT && i64::try_from(lp.len()).is_ok_and(|n| n < fill)
}

/// Which object types a decoder knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Types {
    /// Redis 7.0's: `RESTORE` payloads.
    Rdb10,
    /// Redis 7.2's too (type 20, set as listpack): RDB files, which Redis
    /// does not check against their version.
    Rdb11,
}

/// Whether `t` is an object type (any other byte where a type is expected
/// is an unknown opcode in a file).
pub(crate) fn is_object_type(t: u8, types: Types) -> bool {
    match t {
        0..=7 | 9..=TYPE_STREAM_LISTPACKS_2 => true,
        TYPE_SET_LISTPACK | TYPE_STREAM_LISTPACKS_3 => types == Types::Rdb11,
        _ => false,
    }
}

/// Reads the body of an object of type `rdb_type` (read at `at`).
///
/// On [`Corruption::Empty`] the reader is left at the end of the object,
/// so that a file reader can skip the key as Redis skips empty keys.
pub(crate) fn decode_body(
    r: &mut Reader<'_>,
    at: usize,
    rdb_type: u8,
    types: Types,
) -> Result<RdbObject, RdbError> {
    if !is_object_type(rdb_type, types) {
        return Err(r.error(at, Corruption::UnknownType(rdb_type)));
    }
    let full = |value| {
        Ok(RdbObject {
            value,
            encoding: Encoding::Full,
        })
    };
    let compact = |value| {
        Ok(RdbObject {
            value,
            encoding: Encoding::Compact,
        })
    };
    match rdb_type {
        TYPE_STRING => compact(RdbValue::String(r.string()?)),
        TYPE_LIST => {
            let n = collection_len(r, 1)?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(r.string()?);
            }
            compact(RdbValue::List(items))
        }
        TYPE_SET => {
            let n = collection_len(r, 1)?;
            let mut members = Vec::with_capacity(n);
            let mut seen = HashSet::with_capacity(n);
            for _ in 0..n {
                let m_at = r.pos();
                let m = r.string()?;
                if !seen.insert(m.clone()) {
                    return Err(r.error(m_at, Corruption::Duplicate));
                }
                members.push(m);
            }
            full(RdbValue::Set(members))
        }
        TYPE_ZSET | TYPE_ZSET_2 => {
            // A member takes at least 1 byte, a score 1 (text) or 8 bytes.
            let min = if rdb_type == TYPE_ZSET { 2 } else { 9 };
            let n = collection_len(r, min)?;
            let mut items = Vec::with_capacity(n);
            let mut seen = HashSet::with_capacity(n);
            for _ in 0..n {
                let m_at = r.pos();
                let member = r.string()?;
                let score = if rdb_type == TYPE_ZSET {
                    r.text_double()?
                } else {
                    r.binary_double()?
                };
                if score.is_nan() {
                    return Err(r.error(m_at, Corruption::NanScore));
                }
                if !seen.insert(member.clone()) {
                    return Err(r.error(m_at, Corruption::Duplicate));
                }
                items.push((member, score));
            }
            full(RdbValue::ZSet(items))
        }
        TYPE_HASH => {
            let n = collection_len(r, 2)?;
            let mut pairs = Vec::with_capacity(n);
            let mut seen = HashSet::with_capacity(n);
            for _ in 0..n {
                let f_at = r.pos();
                let field = r.string()?;
                let value = r.string()?;
                if !seen.insert(field.clone()) {
                    return Err(r.error(f_at, Corruption::Duplicate));
                }
                pairs.push((field, value));
            }
            full(RdbValue::Hash(pairs))
        }
        TYPE_LIST_QUICKLIST | TYPE_LIST_QUICKLIST_2 => {
            compact(RdbValue::List(decode_quicklist(r, rdb_type)?))
        }
        TYPE_HASH_ZIPMAP => {
            let blob_at = r.pos();
            let blob = r.string()?;
            let pairs = zipmap::decode(&blob)
                .map_err(|(i, why)| r.error(blob_at, Corruption::Zipmap(i, why)))?;
            let pairs = pairs
                .into_iter()
                .map(|(f, v)| (f.to_vec(), v.to_vec()))
                .collect();
            compact(RdbValue::Hash(unique_pairs(r, blob_at, pairs)?))
        }
        TYPE_LIST_ZIPLIST => {
            let blob_at = r.pos();
            let blob = r.string()?;
            let entries = ziplist::decode(&blob)
                .map_err(|(i, why)| r.error(blob_at, Corruption::Ziplist(i, why)))?;
            let items: Vec<Vec<u8>> = entries.into_iter().map(Entry::to_vec).collect();
            non_empty(r, items.len())?;
            compact(RdbValue::List(items))
        }
        TYPE_SET_INTSET => {
            let blob_at = r.pos();
            let blob = r.string()?;
            let ints =
                intset::decode(&blob).map_err(|why| r.error(blob_at, Corruption::Intset(why)))?;
            compact(RdbValue::Set(ints.into_iter().map(num::i64_text).collect()))
        }
        TYPE_ZSET_ZIPLIST | TYPE_ZSET_LISTPACK => {
            let blob_at = r.pos();
            let blob = r.string()?;
            let entries = if rdb_type == TYPE_ZSET_ZIPLIST {
                ziplist::decode(&blob)
                    .map_err(|(i, why)| r.error(blob_at, Corruption::Ziplist(i, why)))?
            } else {
                listpack::decode(&blob)
                    .map_err(|(i, why)| r.error(blob_at, Corruption::Listpack(i, why)))?
            };
            let pairs = entry_pairs(r, blob_at, &entries)?;
            let mut items = Vec::with_capacity(pairs.len());
            for (member, score) in pairs {
                let score = match score {
                    Entry::Int(n) => n as f64,
                    Entry::Str(s) => num::parse_double(s)
                        .ok_or_else(|| r.error(blob_at, Corruption::BadScore))?,
                };
                if score.is_nan() {
                    return Err(r.error(blob_at, Corruption::NanScore));
                }
                items.push((member.to_vec(), score));
            }
            let members: Vec<&[u8]> = items.iter().map(|(m, _)| m.as_slice()).collect();
            if !all_distinct(&members) {
                return Err(r.error(blob_at, Corruption::Duplicate));
            }
            compact(RdbValue::ZSet(items))
        }
        TYPE_HASH_ZIPLIST | TYPE_HASH_LISTPACK => {
            let blob_at = r.pos();
            let blob = r.string()?;
            let entries = if rdb_type == TYPE_HASH_ZIPLIST {
                ziplist::decode(&blob)
                    .map_err(|(i, why)| r.error(blob_at, Corruption::Ziplist(i, why)))?
            } else {
                listpack::decode(&blob)
                    .map_err(|(i, why)| r.error(blob_at, Corruption::Listpack(i, why)))?
            };
            let pairs = entry_pairs(r, blob_at, &entries)?
                .into_iter()
                .map(|(f, v)| (f.to_vec(), v.to_vec()))
                .collect();
            compact(RdbValue::Hash(unique_pairs(r, blob_at, pairs)?))
        }
        TYPE_SET_LISTPACK => {
            let blob_at = r.pos();
            let blob = r.string()?;
            let entries = listpack::decode(&blob)
                .map_err(|(i, why)| r.error(blob_at, Corruption::Listpack(i, why)))?;
            non_empty(r, entries.len())?;
            let members: Vec<Vec<u8>> = entries.into_iter().map(Entry::to_vec).collect();
            let refs: Vec<&[u8]> = members.iter().map(Vec::as_slice).collect();
            if !all_distinct(&refs) {
                return Err(r.error(blob_at, Corruption::Duplicate));
            }
            compact(RdbValue::Set(members))
        }
        TYPE_MODULE
        | TYPE_MODULE_2
        | TYPE_STREAM_LISTPACKS
        | TYPE_STREAM_LISTPACKS_2
        | TYPE_STREAM_LISTPACKS_3 => Err(r.error(at, Corruption::UnsupportedType(rdb_type))),
        _ => Err(r.error(at, Corruption::UnknownType(rdb_type))),
    }
}

/// Steps over the body of an object of type `rdb_type` (read at `at`)
/// without decoding it: lengths and counts are followed, nothing is
/// allocated, decompressed or validated beyond that. [`decode_body`] from
/// the same place reads exactly the same bytes when the body is valid, and
/// finds whatever else is wrong with it.
pub(crate) fn skip_body(
    r: &mut Reader<'_>,
    at: usize,
    rdb_type: u8,
    types: Types,
) -> Result<(), RdbError> {
    if !is_object_type(rdb_type, types) {
        return Err(r.error(at, Corruption::UnknownType(rdb_type)));
    }
    match rdb_type {
        TYPE_LIST | TYPE_SET => {
            for _ in 0..r.count(1)? {
                r.skip_string()?;
            }
        }
        TYPE_ZSET => {
            for _ in 0..r.count(2)? {
                r.skip_string()?;
                r.skip_text_double()?;
            }
        }
        TYPE_ZSET_2 => {
            for _ in 0..r.count(9)? {
                r.skip_string()?;
                r.take(8)?;
            }
        }
        TYPE_HASH => {
            for _ in 0..r.count(2)? {
                r.skip_string()?;
                r.skip_string()?;
            }
        }
        TYPE_LIST_QUICKLIST | TYPE_LIST_QUICKLIST_2 => {
            for _ in 0..r.count(1)? {
                if rdb_type == TYPE_LIST_QUICKLIST_2 {
                    r.len()?;
                }
                r.skip_string()?;
            }
        }
        TYPE_STRING | TYPE_HASH_ZIPMAP | TYPE_LIST_ZIPLIST | TYPE_SET_INTSET
        | TYPE_ZSET_ZIPLIST | TYPE_ZSET_LISTPACK | TYPE_HASH_ZIPLIST | TYPE_HASH_LISTPACK
        | TYPE_SET_LISTPACK => r.skip_string()?,
        TYPE_MODULE
        | TYPE_MODULE_2
        | TYPE_STREAM_LISTPACKS
        | TYPE_STREAM_LISTPACKS_2
        | TYPE_STREAM_LISTPACKS_3 => return Err(r.error(at, Corruption::UnsupportedType(rdb_type))),
        _ => return Err(r.error(at, Corruption::UnknownType(rdb_type))),
    }
    Ok(())
}

/// A collection's count of items of at least `min_item_bytes` each;
/// refused when 0 (Redis refuses empty keys) or more than the input holds.
fn collection_len(r: &mut Reader<'_>, min_item_bytes: usize) -> Result<usize, RdbError> {
    let n = r.count(min_item_bytes)?;
    non_empty(r, n)
}

/// `n`, or the empty-collection error when it is 0.
fn non_empty(r: &Reader<'_>, n: usize) -> Result<usize, RdbError> {
    if n == 0 {
        Err(r.error(r.pos(), Corruption::Empty))
    } else {
        Ok(n)
    }
}

/// Entries taken two by two (field and value, member and score); refuses
/// an odd count and no entries at all.
fn entry_pairs<'e>(
    r: &Reader<'_>,
    at: usize,
    entries: &[Entry<'e>],
) -> Result<Vec<(Vec<u8>, Entry<'e>)>, RdbError> {
    if entries.len() % 2 != 0 {
        return Err(r.error(at, Corruption::OddPairs));
    }
    if entries.is_empty() {
        return Err(r.error(at, Corruption::Empty));
    }
    Ok(entries
        .chunks_exact(2)
        .filter_map(|pair| match pair {
            [a, b] => Some((a.to_vec(), *b)),
            _ => None,
        })
        .collect())
}

/// Field/value pairs.
type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// `pairs`, refused when a field repeats or there is none.
fn unique_pairs(r: &Reader<'_>, at: usize, pairs: Pairs) -> Result<Pairs, RdbError> {
    if pairs.is_empty() {
        return Err(r.error(at, Corruption::Empty));
    }
    let fields: Vec<&[u8]> = pairs.iter().map(|(f, _)| f.as_slice()).collect();
    if !all_distinct(&fields) {
        return Err(r.error(at, Corruption::Duplicate));
    }
    Ok(pairs)
}

fn all_distinct(items: &[&[u8]]) -> bool {
    let mut seen = HashSet::with_capacity(items.len());
    items.iter().all(|i| seen.insert(*i))
}

/// A quicklist: a node count, then per node (type 18 only) its container,
/// then its data as a string: a listpack (type 18 packed), a ziplist (type
/// 14), or one element (plain). Empty packed nodes are skipped, as Redis
/// skips them; a list left empty is refused.
fn decode_quicklist(r: &mut Reader<'_>, rdb_type: u8) -> Result<Vec<Vec<u8>>, RdbError> {
    let nodes = collection_len(r, 1)?;
    let mut items = Vec::new();
    for _ in 0..nodes {
        let mut container = QUICKLIST_NODE_PACKED;
        if rdb_type == TYPE_LIST_QUICKLIST_2 {
            let c_at = r.pos();
            container = r.len()?;
            if container != QUICKLIST_NODE_PACKED && container != QUICKLIST_NODE_PLAIN {
                return Err(r.error(c_at, Corruption::Container(container)));
            }
        }
        let blob_at = r.pos();
        let blob = r.string()?;
        if blob.is_empty() {
            return Err(r.error(blob_at, Corruption::EmptyNode));
        }
        if container == QUICKLIST_NODE_PLAIN {
            items.push(blob);
            continue;
        }
        let entries = if rdb_type == TYPE_LIST_QUICKLIST_2 {
            listpack::decode(&blob)
                .map_err(|(i, why)| r.error(blob_at, Corruption::Listpack(i, why)))?
        } else {
            ziplist::decode(&blob)
                .map_err(|(i, why)| r.error(blob_at, Corruption::Ziplist(i, why)))?
        };
        items.extend(entries.into_iter().map(Entry::to_vec));
    }
    non_empty(r, items.len())?;
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Corruption;
    use crate::ziplist::tests::build as ziplist;

    fn s(x: &str) -> Vec<u8> {
        x.as_bytes().to_vec()
    }

    /// A type byte and body parts, each part a raw-written string or bytes.
    fn object(rdb_type: u8, body: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut out = vec![rdb_type];
        body(&mut out);
        out
    }

    fn decode(bytes: &[u8]) -> Result<RdbObject, RdbError> {
        RdbObject::decode(bytes).map(|(o, n)| {
            assert_eq!(n, bytes.len());
            o
        })
    }

    fn value(bytes: &[u8]) -> Result<RdbValue, Corruption> {
        decode(bytes).map(|o| o.value).map_err(|e| e.what)
    }

    #[test]
    fn legacy_lists() {
        // Type 1: a count and strings.
        let plain = object(TYPE_LIST, |o| {
            write_len(o, 3);
            for e in ["a", "12", "bb"] {
                write_string(o, e.as_bytes(), true);
            }
        });
        let want = RdbValue::List(vec![s("a"), s("12"), s("bb")]);
        assert_eq!(value(&plain), Ok(want.clone()));
        // Type 10: one ziplist.
        let zl = object(TYPE_LIST_ZIPLIST, |o| {
            write_string(o, &ziplist(&[b"a", b"12", b"bb"]), true);
        });
        assert_eq!(value(&zl), Ok(want.clone()));
        // Type 14: a quicklist of ziplists; empty nodes are skipped.
        let ql = object(TYPE_LIST_QUICKLIST, |o| {
            write_len(o, 3);
            write_string(o, &ziplist(&[b"a"]), true);
            write_string(o, &ziplist(&[]), true);
            write_string(o, &ziplist(&[b"12", b"bb"]), true);
        });
        assert_eq!(value(&ql), Ok(want.clone()));
        // Type 18 with a plain node.
        let mut lp = listpack::Writer::new();
        lp.push(b"a");
        let ql2 = object(TYPE_LIST_QUICKLIST_2, |o| {
            write_len(o, 2);
            write_len(o, QUICKLIST_NODE_PACKED);
            write_string(o, &lp.clone().finish(), true);
            write_len(o, QUICKLIST_NODE_PLAIN);
            write_string(o, b"big", true);
        });
        assert_eq!(value(&ql2), Ok(RdbValue::List(vec![s("a"), s("big")])));
    }

    #[test]
    fn legacy_hashes_and_zsets() {
        let want = RdbValue::Hash(vec![(s("f"), s("1")), (s("g"), s("x"))]);
        let zl = object(TYPE_HASH_ZIPLIST, |o| {
            write_string(o, &ziplist(&[b"f", b"1", b"g", b"x"]), true);
        });
        assert_eq!(value(&zl), Ok(want.clone()));
        let zm = object(TYPE_HASH_ZIPMAP, |o| {
            write_string(o, b"\x02\x01f\x01\x001\x01g\x01\x02xzz\xff", true);
        });
        assert_eq!(value(&zm), Ok(want));
        let zl = object(TYPE_ZSET_ZIPLIST, |o| {
            write_string(
                o,
                &ziplist(&[b"a", b"1", b"b", b"2.5", b"c", b"-inf"]),
                true,
            );
        });
        assert_eq!(
            value(&zl),
            Ok(RdbValue::ZSet(vec![
                (s("a"), 1.0),
                (s("b"), 2.5),
                (s("c"), f64::NEG_INFINITY)
            ]))
        );
        // Type 3: text scores.
        let z = object(TYPE_ZSET, |o| {
            write_len(o, 2);
            write_string(o, b"a", true);
            o.extend_from_slice(b"\x031.5");
            write_string(o, b"b", true);
            o.push(254);
        });
        assert_eq!(
            value(&z),
            Ok(RdbValue::ZSet(vec![(s("a"), 1.5), (s("b"), f64::INFINITY)]))
        );
    }

    #[test]
    fn refuses_what_redis_refuses() {
        let empty_list = object(TYPE_LIST, |o| write_len(o, 0));
        assert_eq!(value(&empty_list), Err(Corruption::Empty));
        let empty_zl = object(TYPE_LIST_ZIPLIST, |o| write_string(o, &ziplist(&[]), true));
        assert_eq!(value(&empty_zl), Err(Corruption::Empty));
        let dup_set = object(TYPE_SET, |o| {
            write_len(o, 2);
            write_string(o, b"a", true);
            write_string(o, b"a", true);
        });
        assert_eq!(value(&dup_set), Err(Corruption::Duplicate));
        let mut lp = listpack::Writer::new();
        for f in [b"f", b"1", b"f", b"2"] {
            lp.push(f);
        }
        let dup_hash = object(TYPE_HASH_LISTPACK, |o| write_string(o, &lp.finish(), true));
        assert_eq!(value(&dup_hash), Err(Corruption::Duplicate));
        let mut lp = listpack::Writer::new();
        lp.push(b"a");
        let odd = object(TYPE_ZSET_LISTPACK, |o| write_string(o, &lp.finish(), true));
        assert_eq!(value(&odd), Err(Corruption::OddPairs));
        let nan = object(TYPE_ZSET_2, |o| {
            write_len(o, 1);
            write_string(o, b"a", true);
            write_binary_double(o, f64::NAN);
        });
        assert_eq!(value(&nan), Err(Corruption::NanScore));
        let container = object(TYPE_LIST_QUICKLIST_2, |o| {
            write_len(o, 1);
            write_len(o, 3);
            write_string(o, b"x", true);
        });
        assert_eq!(value(&container), Err(Corruption::Container(3)));
        let empty_node = object(TYPE_LIST_QUICKLIST_2, |o| {
            write_len(o, 1);
            write_len(o, QUICKLIST_NODE_PLAIN);
            write_string(o, b"", true);
        });
        assert_eq!(value(&empty_node), Err(Corruption::EmptyNode));
        for t in [6, 7, 15, 19] {
            assert_eq!(value(&[t, 0]), Err(Corruption::UnsupportedType(t)));
        }
        for t in [8, 20, 255] {
            assert_eq!(value(&[t, 0]), Err(Corruption::UnknownType(t)));
        }
        // A huge count with no bytes behind it is refused before allocating.
        let huge = object(TYPE_SET, |o| write_len(o, u64::MAX));
        assert_eq!(value(&huge), Err(Corruption::TooLong(u64::MAX)));
        assert_eq!(
            decode(&[TYPE_STRING, 0x05, b'a']),
            Err(RdbError::new(2, Corruption::Truncated))
        );
    }

    #[test]
    fn list_nodes_split_as_redis_splits_them() {
        let items: Vec<Vec<u8>> = (0..100).map(|i| vec![b'x'; 100 + i]).collect();
        let count_nodes = |fill: i64| {
            let mut out = Vec::new();
            let opts = EncodeOptions {
                compression: false,
                list_max_listpack_size: fill,
            };
            encode_list(&mut out, items.iter().map(Vec::as_slice), &opts);
            Reader::new(&out).len().unwrap_or(0)
        };
        // 15 KB of elements: two 8 KiB nodes, four 4 KiB ones.
        assert_eq!(count_nodes(-2), 2);
        assert_eq!(count_nodes(-1), 4);
        assert_eq!(count_nodes(-5), 1);
        // Settings past -5 fall back to the 8 KiB safety limit with no
        // count allowance: one element a node.
        assert_eq!(count_nodes(-6), 100);
        assert_eq!(count_nodes(10), 10);
        // Count-limited nodes still stop at 8 KiB.
        assert_eq!(count_nodes(1000), 2);
    }
}
