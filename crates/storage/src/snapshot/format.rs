//! Byte layout of snapshot headers and trailers (specified in docs/formats/snapshot.md).

use crate::codec::{crc, parse_indexed_name, u32_at, u64_at};
use crate::error::Corruption;

/// Magic bytes at the start of every snapshot.
pub const SNAPSHOT_MAGIC: [u8; 8] = *b"FKSNAPSH";
/// Magic bytes at the start of the trailer.
pub const TRAILER_MAGIC: [u8; 8] = *b"FKSNTAIL";
/// Snapshot format version written and read by this build.
pub const SNAPSHOT_VERSION: u32 = 1;
/// The only compression: zstd.
pub const COMPRESSION_ZSTD: u32 = 1;
/// Bytes in the header; the compressed body starts here.
pub const HEADER_LEN: u64 = 32;
/// Bytes in the trailer at the end of the file.
pub const TRAILER_LEN: u64 = 32;

const NAME_PREFIX: &str = "snapshot.";

/// File name of the snapshot at `index`.
pub(crate) fn snapshot_name(index: u64) -> String {
    format!("{NAME_PREFIX}{index:016x}")
}

/// File name of the snapshot at `index` while it is written.
pub(crate) fn temp_snapshot_name(index: u64) -> String {
    format!("{NAME_PREFIX}{index:016x}.tmp")
}

/// `(index, is_temp)` if `name` is a snapshot name.
pub(crate) fn parse_snapshot_name(name: &str) -> Option<(u64, bool)> {
    parse_indexed_name(name, NAME_PREFIX)
}

pub(crate) fn encode_header(index: u64) -> [u8; HEADER_LEN as usize] {
    let mut h = [0u8; HEADER_LEN as usize];
    h[0..8].copy_from_slice(&SNAPSHOT_MAGIC);
    h[8..12].copy_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&COMPRESSION_ZSTD.to_le_bytes());
    h[16..24].copy_from_slice(&index.to_le_bytes());
    let c = crc(&h[0..24]);
    h[24..28].copy_from_slice(&c.to_le_bytes());
    h
}

/// Verifies a header; returns its index, or the offset of the bad field and what is wrong.
pub(crate) fn decode_header(h: &[u8; HEADER_LEN as usize]) -> Result<u64, (u64, Corruption)> {
    if h[0..8] != SNAPSHOT_MAGIC {
        return Err((0, Corruption::BadMagic));
    }
    if crc(&h[0..24]) != u32_at(h, 24) {
        return Err((24, Corruption::BadHeaderChecksum));
    }
    let version = u32_at(h, 8);
    if version != SNAPSHOT_VERSION {
        return Err((8, Corruption::UnsupportedVersion(version)));
    }
    for (at, field, want) in [(12, "compression", COMPRESSION_ZSTD), (28, "reserved", 0)] {
        let value = u32_at(h, at);
        if value != want {
            return Err((at as u64, Corruption::UnknownField { field, value }));
        }
    }
    Ok(u64_at(h, 16))
}

/// What the trailer records about the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Trailer {
    /// Length of the uncompressed stream.
    pub len: u64,
    /// CRC32C of the uncompressed stream.
    pub crc: u32,
    /// CRC32C of the compressed body as stored, so damage that zstd would decode to the same
    /// bytes (or never read) is caught too.
    pub body_crc: u32,
}

pub(crate) fn encode_trailer(t: Trailer) -> [u8; TRAILER_LEN as usize] {
    let mut b = [0u8; TRAILER_LEN as usize];
    b[0..8].copy_from_slice(&TRAILER_MAGIC);
    b[8..16].copy_from_slice(&t.len.to_le_bytes());
    b[16..20].copy_from_slice(&t.crc.to_le_bytes());
    b[20..24].copy_from_slice(&t.body_crc.to_le_bytes());
    let c = crc(&b[0..28]);
    b[28..32].copy_from_slice(&c.to_le_bytes());
    b
}

/// Verifies a trailer; on failure returns the offset within the trailer and what is wrong.
pub(crate) fn decode_trailer(b: &[u8; TRAILER_LEN as usize]) -> Result<Trailer, (u64, Corruption)> {
    if b[0..8] != TRAILER_MAGIC {
        return Err((0, Corruption::BadMagic));
    }
    if crc(&b[0..28]) != u32_at(b, 28) {
        return Err((28, Corruption::BadHeaderChecksum));
    }
    let reserved = u32_at(b, 24);
    if reserved != 0 {
        return Err((
            24,
            Corruption::UnknownField {
                field: "reserved",
                value: reserved,
            },
        ));
    }
    Ok(Trailer {
        len: u64_at(b, 8),
        crc: u32_at(b, 16),
        body_crc: u32_at(b, 20),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_trailer_round_trip() {
        let h = encode_header(42);
        assert_eq!(decode_header(&h), Ok(42));
        let mut bad = h;
        bad[12] = 2;
        assert!(decode_header(&bad).is_err());
        let t = Trailer {
            len: 9,
            crc: 0xdead_beef,
            body_crc: 7,
        };
        assert_eq!(decode_trailer(&encode_trailer(t)), Ok(t));
        let mut bad = encode_trailer(t);
        bad[9] ^= 1;
        assert_eq!(
            decode_trailer(&bad),
            Err((28, Corruption::BadHeaderChecksum))
        );
    }

    #[test]
    fn names() {
        assert_eq!(snapshot_name(0x10), "snapshot.0000000000000010");
        assert_eq!(parse_snapshot_name(&temp_snapshot_name(3)), Some((3, true)));
        assert_eq!(parse_snapshot_name("snapshot.10"), None);
    }
}
