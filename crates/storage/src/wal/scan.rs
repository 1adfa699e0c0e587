//! Verifies one segment file frame by frame and classifies how it ends (docs/formats/wal.md,
//! "Recovery").

use std::path::Path;

use crate::error::{Corruption, Error, IoContext, Result};
use crate::fs::{read_exact_at, StorageFile};

use super::format::{
    check_frame, decode_segment_header, verified_len, MAX_RECORD_LEN, RECORD_HEADER_LEN,
    SEGMENT_HEADER_LEN,
};

/// Read-ahead size: scanning goes through the file in windows this large.
const WINDOW: u64 = 1 << 20;
/// The smallest unit a disk writes whole; a crash may persist any subset of a write's sectors.
const SECTOR: u64 = 512;

/// What a scan found in a segment.
#[derive(Debug)]
pub(crate) struct Scanned {
    pub first_index: u64,
    /// Byte offset of each record's frame, in index order.
    pub offsets: Vec<u64>,
    /// End of the last valid record (the header's end if there is none).
    pub data_end: u64,
    pub file_len: u64,
    pub tail: Tail,
}

/// How the bytes after the last valid record look.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Tail {
    /// The file ends right after the last record.
    Clean,
    /// Only zero bytes follow (preallocated or zero-extended space).
    Zeros,
    /// A torn write: a frame starting at `offset` that never completed. Only possible when the
    /// segment was scanned as the last one.
    Torn { offset: u64, reason: Corruption },
}

/// A moving read-ahead buffer over a file.
struct Window<'a> {
    file: &'a dyn StorageFile,
    path: &'a Path,
    file_len: u64,
    start: u64,
    buf: Vec<u8>,
}

impl<'a> Window<'a> {
    /// `len` bytes at `offset`; the caller has checked they lie inside the file.
    fn get(&mut self, offset: u64, len: u64) -> Result<&[u8]> {
        let end = offset + len;
        if offset < self.start || end > self.start + self.buf.len() as u64 {
            let want = len.max(WINDOW).min(self.file_len - offset);
            self.buf.resize(want as usize, 0);
            read_exact_at(self.file, &mut self.buf, offset).ctx("read", self.path)?;
            self.start = offset;
        }
        let from = (offset - self.start) as usize;
        Ok(&self.buf[from..from + len as usize])
    }

    /// Whether a sector overlapping `from..to` reads as zeros from `from` (or its start) to its
    /// end: a sector that a crash kept from landing on preallocated space. Sectors are counted
    /// from the start of the file, as the disk's are. Fewer zeros than a frame header are no
    /// evidence (a length's high bytes are zero), so a sector's last few bytes never count.
    fn unlanded_sector(&mut self, from: u64, to: u64) -> Result<bool> {
        let mut sector = from / SECTOR * SECTOR;
        while sector < to.max(from + 1) && sector < self.file_len {
            let start = sector.max(from);
            let end = (sector + SECTOR).min(self.file_len);
            if end - start >= RECORD_HEADER_LEN
                && self.get(start, end - start)?.iter().all(|&b| b == 0)
            {
                return Ok(true);
            }
            sector += SECTOR;
        }
        Ok(false)
    }

    /// Whether every byte in `from..file_len` is zero.
    fn zeros_from(&mut self, from: u64) -> Result<bool> {
        let mut at = from;
        while at < self.file_len {
            let n = (self.file_len - at).min(WINDOW);
            if self.get(at, n)?.iter().any(|&b| b != 0) {
                return Ok(false);
            }
            at += n;
        }
        Ok(true)
    }
}

/// Checks the header of the segment in `file`, whose name carries `name_index`; returns the
/// file's length.
pub(crate) fn check_header(file: &dyn StorageFile, path: &Path, name_index: u64) -> Result<u64> {
    let corrupt = |offset: u64, reason: Corruption| Error::Corrupt {
        path: path.to_path_buf(),
        offset,
        reason,
    };
    let file_len = file.file_len().ctx("stat", path)?;
    if file_len < SEGMENT_HEADER_LEN {
        return Err(corrupt(0, Corruption::Truncated));
    }
    let mut header = [0u8; SEGMENT_HEADER_LEN as usize];
    read_exact_at(file, &mut header, 0).ctx("read", path)?;
    let first_index = decode_segment_header(&header).map_err(|(at, why)| corrupt(at, why))?;
    if first_index != name_index {
        return Err(corrupt(
            16,
            Corruption::NameMismatch {
                name: name_index,
                header: first_index,
            },
        ));
    }
    Ok(file_len)
}

/// Scans the segment in `file`, whose name carries `name_index`. With `is_last`, a torn final write
/// is reported as [`Tail::Torn`]; anywhere else every bad frame is an error.
pub(crate) fn scan_segment(
    file: &dyn StorageFile,
    path: &Path,
    name_index: u64,
    is_last: bool,
) -> Result<Scanned> {
    let corrupt = |offset: u64, reason: Corruption| Error::Corrupt {
        path: path.to_path_buf(),
        offset,
        reason,
    };
    let file_len = check_header(file, path, name_index)?;
    let first_index = name_index;
    let mut w = Window {
        file,
        path,
        file_len,
        start: 0,
        buf: Vec::new(),
    };
    let mut offsets = Vec::new();
    let mut at = SEGMENT_HEADER_LEN;
    // `evidence` is where bytes written after the bad frame would start; if all bytes from there on
    // are zero, nothing was persisted after it and the frame is a torn write.
    let (bad_at, reason, evidence) = loop {
        if at == file_len {
            return Ok(Scanned {
                first_index,
                offsets,
                data_end: at,
                file_len,
                tail: Tail::Clean,
            });
        }
        let remaining = file_len - at;
        if remaining < 8 {
            break (at, Corruption::Truncated, file_len);
        }
        let head = w.get(at, 8)?;
        let Some(len) = verified_len(head) else {
            let why = if head.iter().all(|&b| b == 0) {
                Corruption::GarbageAfterZeros
            } else {
                Corruption::BadLengthChecksum
            };
            break (at, why, at + 8);
        };
        if len > MAX_RECORD_LEN {
            return Err(corrupt(at, Corruption::LengthTooLarge(len)));
        }
        let frame_end = at + RECORD_HEADER_LEN + u64::from(len);
        if frame_end > file_len {
            break (at, Corruption::Truncated, file_len);
        }
        let found = match check_frame(w.get(at, frame_end - at)?) {
            Ok(found) => found,
            Err(why) => break (at, why, frame_end),
        };
        match first_index.checked_add(offsets.len() as u64) {
            Some(expected) if expected == found => {}
            // `None`: the previous record had index u64::MAX, so nothing may follow it.
            expected => {
                let expected = expected.unwrap_or(u64::MAX);
                return Err(corrupt(at, Corruption::IndexGap { expected, found }));
            }
        }
        offsets.push(at);
        at = frame_end;
    };

    let data_end = bad_at;
    if w.zeros_from(bad_at)? {
        return Ok(Scanned {
            first_index,
            offsets,
            data_end,
            file_len,
            tail: Tail::Zeros,
        });
    }
    // Torn: nothing landed after the bad frame, or (last segment only) a sector of the frame
    // never landed, so the frame and everything after it belong to the one write that was never
    // synced (a later record is acknowledged only after a sync that made this one durable too).
    let torn = is_last && (w.zeros_from(evidence)? || w.unlanded_sector(bad_at, evidence)?);
    if !torn {
        return Err(corrupt(bad_at, reason));
    }
    Ok(Scanned {
        first_index,
        offsets,
        data_end,
        file_len,
        tail: Tail::Torn {
            offset: bad_at,
            reason,
        },
    })
}
