//! Byte layout of segment headers and record frames (specified in docs/formats/wal.md).

use crate::codec::{crc, crc_append, parse_indexed_name, u32_at, u64_at};
use crate::error::Corruption;

/// Magic bytes at the start of every segment.
pub const SEGMENT_MAGIC: [u8; 8] = *b"FKWALSEG";
/// Segment format version written and read by this build.
pub const SEGMENT_VERSION: u32 = 1;
/// Bytes in a segment header; the first record starts here.
pub const SEGMENT_HEADER_LEN: u64 = 32;
/// Bytes in a record frame before the payload.
pub const RECORD_HEADER_LEN: u64 = 20;
/// Largest payload a record may carry.
pub const MAX_RECORD_LEN: u32 = 256 << 20;

const NAME_PREFIX: &str = "log.";

/// File name of the segment whose first record is `first_index`.
pub(crate) fn segment_name(first_index: u64) -> String {
    format!("{NAME_PREFIX}{first_index:016x}")
}

/// File name of a segment under construction.
pub(crate) fn temp_segment_name(first_index: u64) -> String {
    format!("{NAME_PREFIX}{first_index:016x}.tmp")
}

/// `(first_index, is_temp)` if `name` is a segment name.
pub(crate) fn parse_segment_name(name: &str) -> Option<(u64, bool)> {
    parse_indexed_name(name, NAME_PREFIX)
}

pub(crate) fn encode_segment_header(first_index: u64) -> [u8; SEGMENT_HEADER_LEN as usize] {
    let mut h = [0u8; SEGMENT_HEADER_LEN as usize];
    h[0..8].copy_from_slice(&SEGMENT_MAGIC);
    h[8..12].copy_from_slice(&SEGMENT_VERSION.to_le_bytes());
    h[16..24].copy_from_slice(&first_index.to_le_bytes());
    let c = crc(&h[0..24]);
    h[24..28].copy_from_slice(&c.to_le_bytes());
    h
}

/// Verifies a segment header; on failure returns the offset of the bad field and what is wrong.
pub(crate) fn decode_segment_header(h: &[u8]) -> Result<u64, (u64, Corruption)> {
    if h.len() < SEGMENT_HEADER_LEN as usize {
        return Err((0, Corruption::Truncated));
    }
    if h[0..8] != SEGMENT_MAGIC {
        return Err((0, Corruption::BadMagic));
    }
    if crc(&h[0..24]) != u32_at(h, 24) {
        return Err((24, Corruption::BadHeaderChecksum));
    }
    let version = u32_at(h, 8);
    if version != SEGMENT_VERSION {
        return Err((8, Corruption::UnsupportedVersion(version)));
    }
    for (at, field) in [(12, "flags"), (28, "reserved")] {
        let value = u32_at(h, at);
        if value != 0 {
            return Err((at as u64, Corruption::UnknownField { field, value }));
        }
    }
    Ok(u64_at(h, 16))
}

/// Total frame bytes of a record with `payload_len` bytes of payload.
pub(crate) fn frame_len(payload_len: usize) -> u64 {
    RECORD_HEADER_LEN + payload_len as u64
}

/// Appends the frame of one record to `out`. The caller has checked `payload.len() <= MAX_RECORD_LEN`.
pub(crate) fn encode_record(out: &mut Vec<u8>, index: u64, payload: &[u8]) {
    let len = payload.len() as u32;
    let len_bytes = len.to_le_bytes();
    let index_bytes = index.to_le_bytes();
    out.extend_from_slice(&len_bytes);
    out.extend_from_slice(&crc(&len_bytes).to_le_bytes());
    out.extend_from_slice(&crc_append(crc(&index_bytes), payload).to_le_bytes());
    out.extend_from_slice(&index_bytes);
    out.extend_from_slice(payload);
}

/// The verified length of the frame whose first 8 bytes are `head`, if its length checksum holds.
pub(crate) fn verified_len(head: &[u8]) -> Option<u32> {
    let len = u32_at(head, 0);
    (crc(&head[0..4]) == u32_at(head, 4)).then_some(len)
}

/// Checks a whole frame (header + payload) whose length was verified; returns its index.
pub(crate) fn check_frame(frame: &[u8]) -> Result<u64, Corruption> {
    let index = u64_at(frame, 12);
    let body = crc_append(crc(&frame[12..20]), &frame[RECORD_HEADER_LEN as usize..]);
    if body != u32_at(frame, 8) {
        return Err(Corruption::BadChecksum);
    }
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_field_offsets() {
        let h = encode_segment_header(0xabc);
        assert_eq!(decode_segment_header(&h), Ok(0xabc));
        let mut bad = h;
        bad[0] ^= 1;
        assert_eq!(decode_segment_header(&bad), Err((0, Corruption::BadMagic)));
        let mut bad = h;
        bad[17] ^= 1;
        assert_eq!(
            decode_segment_header(&bad),
            Err((24, Corruption::BadHeaderChecksum))
        );
        assert_eq!(
            decode_segment_header(&h[..31]),
            Err((0, Corruption::Truncated))
        );
    }

    #[test]
    fn record_frame_round_trip() {
        let mut out = Vec::new();
        encode_record(&mut out, 7, b"payload");
        assert_eq!(out.len() as u64, frame_len(7));
        assert_eq!(verified_len(&out[..8]), Some(7));
        assert_eq!(check_frame(&out), Ok(7));
        for i in 8..out.len() {
            let mut bad = out.clone();
            bad[i] ^= 0x40;
            assert_eq!(check_frame(&bad), Err(Corruption::BadChecksum), "byte {i}");
        }
        let mut bad = out.clone();
        bad[1] ^= 1;
        assert_eq!(verified_len(&bad[..8]), None);
    }

    #[test]
    fn zeros_are_never_a_frame() {
        assert_eq!(verified_len(&[0; 8]), None);
    }

    #[test]
    fn names_sort_by_index() {
        assert_eq!(segment_name(1), "log.0000000000000001");
        assert!(segment_name(0xff) < segment_name(0x100));
        assert_eq!(parse_segment_name(&temp_segment_name(9)), Some((9, true)));
        assert_eq!(
            parse_segment_name(&segment_name(u64::MAX)),
            Some((u64::MAX, false))
        );
    }
}
