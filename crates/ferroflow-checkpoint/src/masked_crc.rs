//! CRC32C as LevelDB and TensorFlow store it: "masked", so that a CRC of data that itself holds CRCs
//! does not degenerate.

const MASK_DELTA: u32 = 0xa282_ead8;

/// CRC32C of `data` (hardware accelerated where the CPU has it).
pub(crate) fn crc32c(data: &[u8]) -> u32 {
    crc32c::crc32c(data)
}

/// Extends a CRC32C with more bytes, as if they had been appended to the first part.
pub(crate) fn extend(crc: u32, data: &[u8]) -> u32 {
    crc32c::crc32c_append(crc, data)
}

/// The masked form that goes on disk.
pub(crate) fn mask(crc: u32) -> u32 {
    crc.rotate_right(15).wrapping_add(MASK_DELTA)
}

/// The CRC behind a masked value.
pub(crate) fn unmask(masked: u32) -> u32 {
    masked.wrapping_sub(MASK_DELTA).rotate_left(15)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_spec_vectors() {
        // spec/formats.md 4.5: int64 21 has CRC 0x607f4474, stored masked as 0x2b6babd6.
        let crc = crc32c(&21i64.to_le_bytes());
        assert_eq!(crc, 0x607f_4474);
        assert_eq!(mask(crc), 0x2b6b_abd6);
        assert_eq!(unmask(mask(crc)), crc);
        assert_eq!(extend(crc32c(b"ab"), b"cd"), crc32c(b"abcd"));
        // Masked CRC of an empty block (restart [0], count 1) plus type byte 0: c0 f2 a1 b0.
        assert_eq!(mask(crc32c(&[0, 0, 0, 0, 1, 0, 0, 0, 0])), 0xb0a1_f2c0);
    }
}
