//! CRC32C (Castagnoli) and TensorFlow's CRC mask, from `tsl/lib/hash/crc32c.h`.
//!
//! TFRecord stores masked CRCs because computing the CRC of bytes that already embed CRCs (a record
//! inside a record) gives degenerate results; the rotation and offset break that pattern (LevelDB
//! heritage).

const MASK_DELTA: u32 = 0xa282_ead8;

/// The CRC32C of `data` (reflected polynomial 0x82F63B78, hardware accelerated where available).
pub fn crc32c(data: &[u8]) -> u32 {
    crc32c::crc32c(data)
}

/// Masks a CRC the way TensorFlow stores it: rotate right by 15 bits, then add `0xa282ead8`.
pub fn mask(crc: u32) -> u32 {
    crc.rotate_right(15).wrapping_add(MASK_DELTA)
}

/// Inverts [`mask`].
pub fn unmask(masked: u32) -> u32 {
    masked.wrapping_sub(MASK_DELTA).rotate_left(15)
}

/// The masked CRC32C of `data`, as written in TFRecord headers and footers.
pub fn masked_crc32c(data: &[u8]) -> u32 {
    mask(crc32c(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_check_value() {
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
    }

    #[test]
    fn spec_vectors() {
        // (payload, crc32c, masked, reason) from formats.md 1.1.
        let rows: [(&[u8], u32, u32, &str); 3] = [
            (b"", 0x0000_0000, 0xa282_ead8, "empty payload: mask of 0 is the delta"),
            (b"hello", 0x9a71_bb4c, 0x191c_1fbb, "ascii payload"),
            (b"\0\0\0", 0x6064_a37a, 0xe977_aba1, "zero bytes are not a zero crc"),
        ];
        for (data, crc, masked, why) in rows {
            assert_eq!(crc32c(data), crc, "{why}");
            assert_eq!(masked_crc32c(data), masked, "{why}");
            assert_eq!(unmask(masked), crc, "{why}");
        }
    }

    #[test]
    fn unmask_inverts_mask() {
        for c in [0u32, 1, 0xdead_beef, u32::MAX, MASK_DELTA] {
            assert_eq!(unmask(mask(c)), c);
        }
    }
}
