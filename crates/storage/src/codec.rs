//! Little-endian field access and the checksum shared by every format in this crate.

/// CRC32C (Castagnoli) of `bytes`.
pub(crate) fn crc(bytes: &[u8]) -> u32 {
    crc32c::crc32c(bytes)
}

/// Continues a CRC32C over more bytes.
pub(crate) fn crc_append(crc: u32, bytes: &[u8]) -> u32 {
    crc32c::crc32c_append(crc, bytes)
}

/// The `u32` at `at` in a slice the caller has already sized.
pub(crate) fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(b)
}

/// The `u64` at `at` in a slice the caller has already sized.
pub(crate) fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

/// Parses `<prefix><16 lowercase hex digits>[.tmp]`, the naming scheme of segments and snapshots.
/// Returns the index and whether the name is a temporary file.
pub(crate) fn parse_indexed_name(name: &str, prefix: &str) -> Option<(u64, bool)> {
    let rest = name.strip_prefix(prefix)?;
    let (hex, tmp) = match rest.strip_suffix(".tmp") {
        Some(hex) => (hex, true),
        None => (rest, false),
    };
    let well_formed =
        hex.len() == 16 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !well_formed {
        return None;
    }
    u64::from_str_radix(hex, 16).ok().map(|index| (index, tmp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexed_names() {
        assert_eq!(
            parse_indexed_name("log.00000000000000ff", "log."),
            Some((255, false))
        );
        assert_eq!(
            parse_indexed_name("log.00000000000000ff.tmp", "log."),
            Some((255, true))
        );
        assert_eq!(parse_indexed_name("log.ff", "log."), None);
        assert_eq!(parse_indexed_name("log.00000000000000FF", "log."), None);
        assert_eq!(
            parse_indexed_name("snapshot.00000000000000ff", "log."),
            None
        );
        assert_eq!(parse_indexed_name("log.+0000000000000ff", "log."), None);
    }

    #[test]
    fn crc_is_castagnoli() {
        // The standard check value for CRC-32C.
        assert_eq!(crc(b"123456789"), 0xe306_9283);
        assert_eq!(crc_append(crc(b"1234"), b"56789"), 0xe306_9283);
    }
}
