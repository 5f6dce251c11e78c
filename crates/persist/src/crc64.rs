//! CRC-64/Jones as Redis computes it (`crc64.c`): polynomial
//! `0xad93d23594c935a9`, reflected input and output, initial value 0, no
//! final XOR. The DUMP payload and RDB files end with it, little endian.

/// The Jones polynomial, bit-reversed for the reflected algorithm.
const POLY_REFLECTED: u64 = 0x95ac_9329_ac4b_c9b5;

/// One table per byte lane, for slicing-by-8.
const TABLES: [[u64; 256]; 8] = build_tables();

// Every index is below 8 (lanes) or 256 (a byte): in bounds by type.
#[allow(clippy::indexing_slicing)]
const fn build_tables() -> [[u64; 256]; 8] {
    let mut t = [[0u64; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY_REFLECTED
            } else {
                crc >> 1
            };
            bit += 1;
        }
        t[0][i] = crc;
        i += 1;
    }
    let mut lane = 1;
    while lane < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[lane - 1][i];
            t[lane][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            i += 1;
        }
        lane += 1;
    }
    t
}

/// Continues the checksum `crc` over `data` (`crc64(crc, data, len)`);
/// start from 0.
// Table indices are bytes into 256-entry tables: in bounds by type.
#[allow(clippy::indexing_slicing)]
pub fn crc64(mut crc: u64, data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let v = crc ^ u64::from_le_bytes(word);
        let b = v.to_le_bytes();
        crc = TABLES[7][usize::from(b[0])]
            ^ TABLES[6][usize::from(b[1])]
            ^ TABLES[5][usize::from(b[2])]
            ^ TABLES[4][usize::from(b[3])]
            ^ TABLES[3][usize::from(b[4])]
            ^ TABLES[2][usize::from(b[5])]
            ^ TABLES[1][usize::from(b[6])]
            ^ TABLES[0][usize::from(b[7])];
    }
    for &byte in chunks.remainder() {
        crc = TABLES[0][usize::from((crc as u8) ^ byte)] ^ (crc >> 8);
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bitwise(data: &[u8]) -> u64 {
        let mut crc = 0u64;
        for &b in data {
            crc ^= u64::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ POLY_REFLECTED
                } else {
                    crc >> 1
                };
            }
        }
        crc
    }

    #[test]
    fn check_value() {
        // The check value Redis' crc64.c tests against.
        assert_eq!(crc64(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
        assert_eq!(crc64(0, b""), 0);
    }

    #[test]
    fn slicing_agrees_with_bitwise_and_continues() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        for len in [0, 1, 7, 8, 9, 63, 64, 65, 999, 1000] {
            let part = &data[..len];
            assert_eq!(crc64(0, part), bitwise(part), "len {len}");
        }
        let (a, b) = data.split_at(333);
        assert_eq!(crc64(crc64(0, a), b), crc64(0, &data));
    }
}
