//! A stored HyperLogLog value is client bytes (SET, RESTORE, a replica's
//! stream): arbitrary bytes behind a valid header, or as given, through
//! everything the PF* commands do with them. Nothing may panic; a sparse
//! value that converts to dense must count the same both ways, and an
//! add must leave a value that is still an HLL.
#![no_main]

use ferrodis_store::hll;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let value = if mode & 1 == 0 {
        rest.to_vec()
    } else {
        let mut v = b"HYLL".to_vec();
        v.push(u8::from(mode & 2 != 0));
        v.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80]);
        v.extend_from_slice(rest);
        if mode & 2 == 0 {
            v.resize(hll::DENSE_SIZE, 0);
        }
        v
    };
    let sparse_max = usize::from(mode >> 2) * 64;
    let counted = hll::count(&value);
    let _ = hll::decode_sparse(&value);
    let _ = hll::cached(&value);
    let mut max = [0u8; hll::REGISTERS];
    let merged = hll::merge_into(&mut max, &value);
    let mut dense = value.clone();
    if let Ok(converted) = hll::to_dense(&mut dense) {
        assert_eq!(hll::count(&dense), counted);
        assert!(merged.is_ok());
        assert_eq!(&max, &*hll::registers(&dense).expect("dense registers"));
        let _ = converted;
    }
    let mut added = value.clone();
    for element in rest.chunks(3).take(64) {
        if hll::add(&mut added, element, sparse_max).is_err() {
            break;
        }
        assert!(hll::check(&added).is_ok());
    }
    let _ = hll::count(&added);
});
