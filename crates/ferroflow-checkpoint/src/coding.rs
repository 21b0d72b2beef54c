//! Varints and fixed-width integers as LevelDB's `coding.cc` writes them.

/// Appends `v` as a base-128 varint (at most 10 bytes).
pub(crate) fn put_varint64(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends `v` as a little-endian u32.
pub(crate) fn put_fixed32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Decodes a varint at `*pos`, advancing `*pos`; `None` when it is truncated or longer than 64 bits.
pub(crate) fn get_varint64(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut result = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *buf.get(*pos)?;
        *pos += 1;
        let bits = u64::from(byte & 0x7f);
        // The tenth byte may carry only the top bit of a u64.
        if shift == 63 && bits > 1 {
            return None;
        }
        result |= bits << shift;
        if byte & 0x80 == 0 {
            return Some(result);
        }
    }
    None
}

/// Decodes a varint that must fit 32 bits.
pub(crate) fn get_varint32(buf: &[u8], pos: &mut usize) -> Option<u32> {
    get_varint64(buf, pos).and_then(|v| u32::try_from(v).ok())
}

/// Reads a little-endian u32 at `pos`.
pub(crate) fn get_fixed32(buf: &[u8], pos: usize) -> Option<u32> {
    let bytes = buf.get(pos..pos.checked_add(4)?)?;
    let mut b = [0u8; 4];
    b.copy_from_slice(bytes);
    Some(u32::from_le_bytes(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip() {
        for v in [0u64, 1, 127, 128, 300, 1 << 35, u64::MAX] {
            let mut buf = Vec::new();
            put_varint64(&mut buf, v);
            let mut pos = 0;
            assert_eq!(get_varint64(&buf, &mut pos), Some(v), "value {v}");
            assert_eq!(pos, buf.len());
            assert_eq!(get_varint64(&buf[..buf.len() - 1], &mut 0), None, "truncated {v}");
        }
        assert_eq!(get_varint64(&[0xff; 11], &mut 0), None, "too long");
        assert_eq!(get_varint32(&[0x80, 0x80, 0x80, 0x80, 0x10], &mut 0), None, "over 32 bits");
        assert_eq!(get_fixed32(&[1, 0, 0, 0], 0), Some(1));
        assert_eq!(get_fixed32(&[1, 0, 0], 0), None);
    }
}
