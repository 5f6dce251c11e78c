//! The RDB file reader (what a node runs on `dump.rdb`, an AOF's RDB
//! preamble, or a full sync from a primary) on arbitrary input: it must
//! never panic, hang or over-allocate, and a file it reads to the end must
//! write and read back to the same items.
#![no_main]

use ferrodis_persist::{
    crc64::crc64, RdbItem, RdbItemRef, RdbReader, RdbValue, RdbWriter, WriteOptions, OPCODE_EOF,
};
use libfuzzer_sys::fuzz_target;

/// Reads items until the end or an error.
fn read_all(file: &[u8]) -> Option<Vec<RdbItem>> {
    let mut r = RdbReader::new(file).ok()?;
    let mut items = Vec::new();
    loop {
        match r.next_item() {
            Ok(Some(item)) => items.push(item),
            Ok(None) => return Some(items),
            Err(_) => return None,
        }
    }
}

/// As `read_all`, locating keys first and decoding each after (the
/// parallel loader's way): it must agree with `read_all`.
fn read_all_ref(file: &[u8]) -> Option<Vec<RdbItem>> {
    let mut r = RdbReader::new(file).ok()?;
    let mut items = Vec::new();
    loop {
        match r.next_item_ref() {
            Ok(Some(RdbItemRef::Other(item))) => items.push(item),
            Ok(Some(RdbItemRef::Entry(e))) => {
                if let Some(entry) = e.into_entry().ok()? {
                    items.push(RdbItem::Entry(entry));
                }
            }
            Ok(None) => return Some(items),
            Err(_) => return None,
        }
    }
}

/// Reads `file` both ways; they must agree.
fn read_both(file: &[u8]) -> Option<Vec<RdbItem>> {
    let items = read_all(file);
    assert_eq!(items, read_all_ref(file), "the two readers disagree");
    items
}

/// What a rewrite may change: the order of a set (an intset sorts), the
/// sign of a zero score (a listpack stores it as the integer 0).
fn canonical(v: &RdbValue) -> String {
    match v.clone() {
        RdbValue::Set(mut m) => {
            m.sort();
            format!("{:?}", RdbValue::Set(m))
        }
        RdbValue::ZSet(p) => format!(
            "{:?}",
            RdbValue::ZSet(p.into_iter().map(|(m, s)| (m, s + 0.0)).collect())
        ),
        other => format!("{other:?}"),
    }
}

/// Writes `items` back and checks that they read the same (values
/// compared, as a re-encoded object may pick another encoding).
fn check_round_trip(items: &[RdbItem], compression: bool) {
    let opts = WriteOptions {
        compression,
        ..WriteOptions::default()
    };
    let mut out = Vec::new();
    let mut w = RdbWriter::new(opts, &mut out);
    for item in items {
        match item {
            RdbItem::Aux { key, value } => w.aux(&mut out, key, value),
            // The writer writes the two together; pair them up again.
            RdbItem::SelectDb(db) => w.select_db(&mut out, *db, 0, 0),
            RdbItem::ResizeDb { .. } => {}
            RdbItem::Entry(e) => w.entry(
                &mut out,
                &e.key,
                &e.object,
                e.expire_at_ms.map(|t| t.min(i64::MAX as u64)),
                e.idle_seconds,
                e.freq,
            ),
        }
    }
    w.finish(&mut out);
    let again = read_all(&out).expect("a written file reads back");
    let keys = |items: &[RdbItem]| -> Vec<_> {
        items
            .iter()
            .filter_map(|i| match i {
                RdbItem::Entry(e) => Some((
                    e.key.clone(),
                    canonical(&e.object.value),
                    e.expire_at_ms,
                    e.idle_seconds,
                    e.freq,
                )),
                _ => None,
            })
            .collect()
    };
    assert_eq!(keys(items), keys(&again));
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else {
        return;
    };
    // As given.
    if let Some(items) = read_both(input) {
        check_round_trip(&items, mode & 1 != 0);
    }
    // Behind a valid header and before a valid EOF and checksum, so that
    // the item reader sees every input.
    let mut file = b"REDIS0011".to_vec();
    file.extend_from_slice(input);
    file.push(OPCODE_EOF);
    let crc = crc64(0, &file);
    file.extend_from_slice(&crc.to_le_bytes());
    if let Some(items) = read_both(&file) {
        check_round_trip(&items, mode & 2 != 0);
    }
});
