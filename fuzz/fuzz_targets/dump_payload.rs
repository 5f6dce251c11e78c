//! The DUMP payload decoder (what `RESTORE` runs on client bytes) on
//! arbitrary input: it must never panic, and whatever it accepts must
//! encode and decode back to itself.
#![no_main]

use ferrodis_persist::{crc64::crc64, EncodeOptions, RdbObject, RDB_VERSION};
use libfuzzer_sys::fuzz_target;

fn check_round_trip(obj: &RdbObject, compression: bool) {
    let opts = EncodeOptions {
        compression,
        list_max_listpack_size: -2,
    };
    let payload = obj.to_dump(&opts);
    let again = RdbObject::from_dump(&payload).expect("an encoded object decodes");
    assert_eq!(&again, obj);
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else {
        return;
    };
    // As given: almost always a footer error, which must not panic either.
    if let Ok(obj) = RdbObject::from_dump(input) {
        check_round_trip(&obj, mode & 2 != 0);
    }
    // With a valid footer, so that the object decoder sees every input.
    let mut payload = input.to_vec();
    payload.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(0, &payload);
    payload.extend_from_slice(&crc.to_le_bytes());
    if let Ok(obj) = RdbObject::from_dump(&payload) {
        check_round_trip(&obj, mode & 1 != 0);
    }
});
