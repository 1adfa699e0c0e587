//! Appending, group-commit sync, and segment creation.

use crate::error::{Error, IoContext, Result};
use crate::fs::{write_all_at, OpenMode};

use super::format::{
    encode_record, encode_segment_header, frame_len, segment_name, temp_segment_name,
    MAX_RECORD_LEN, SEGMENT_HEADER_LEN,
};
use super::{Segment, Wal};

impl Wal {
    /// Appends a batch of `(index, payload)` records. Indexes must continue the log without gaps
    /// (a log never written accepts any first index; `u64::MAX` is reserved). Nothing is durable
    /// until [`Wal::sync`] returns: **acknowledge a record only after `sync`**.
    ///
    /// The whole batch is validated before anything is written, so a rejected batch leaves the
    /// log untouched. An I/O failure poisons the log.
    pub fn append(&mut self, records: &[(u64, &[u8])]) -> Result<()> {
        self.check_poisoned()?;
        let mut expected = self.next_index();
        for &(index, payload) in records {
            if payload.len() > MAX_RECORD_LEN as usize {
                return Err(Error::RecordTooLarge {
                    len: payload.len(),
                    max: MAX_RECORD_LEN,
                });
            }
            match expected {
                Some(e) if e != index => {
                    return Err(Error::NonContiguous {
                        expected: e,
                        found: index,
                    })
                }
                _ if index == u64::MAX => {
                    return Err(Error::NonContiguous {
                        expected: expected.unwrap_or(0),
                        found: index,
                    })
                }
                _ => expected = Some(index + 1),
            }
        }
        if records.is_empty() {
            return Ok(());
        }
        self.guarded(|wal| wal.write_batch(records))
    }

    /// Makes every appended record durable with one `fdatasync` of the active segment (segments
    /// filled during the batch were synced when it rolled over). A no-op if nothing is pending.
    /// A failure poisons the log: after a failed fsync the kernel may have dropped the data.
    pub fn sync(&mut self) -> Result<()> {
        self.check_poisoned()?;
        if !self.dirty {
            return Ok(());
        }
        self.guarded(|wal| {
            if let Some(seg) = wal.segments.last() {
                seg.file.sync_data().ctx("fdatasync", &seg.path)?;
            }
            wal.dirty = false;
            Ok(())
        })
    }

    fn write_batch(&mut self, records: &[(u64, &[u8])]) -> Result<()> {
        if self.segments.is_empty() {
            self.create_segment(records[0].0)?;
        }
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let mut offsets = Vec::with_capacity(records.len());
        for &(index, payload) in records {
            let seg = self.active();
            let at = seg.frames()?.data_end + buf.len() as u64;
            let holds_records = seg.records() > 0 || !offsets.is_empty();
            if holds_records && at + frame_len(payload.len()) > self.segment_size {
                self.flush(&buf, &mut offsets)?;
                buf.clear();
                self.roll_over(index)?;
            }
            offsets.push(self.active().frames()?.data_end + buf.len() as u64);
            encode_record(&mut buf, index, payload);
        }
        let result = self.flush(&buf, &mut offsets);
        self.buf = buf;
        self.dirty = true;
        result
    }

    fn active(&self) -> &Segment {
        // `write_batch` creates a segment before any caller gets here.
        &self.segments[self.segments.len() - 1]
    }

    /// Writes `buf` at the end of the active segment and records the frames' offsets.
    fn flush(&mut self, buf: &[u8], offsets: &mut Vec<u64>) -> Result<()> {
        let last = self.segments.len() - 1;
        let seg = &mut self.segments[last];
        let end = seg.frames()?.data_end;
        write_all_at(seg.file.as_ref(), buf, end).ctx("write", &seg.path)?;
        let frames = seg.frames_mut()?;
        frames.data_end += buf.len() as u64;
        frames.offsets.append(offsets);
        Ok(())
    }

    /// Closes the full segment (durably: a newer segment must never exist beside an unsynced one)
    /// and starts a new one whose first record is `first_index`.
    fn roll_over(&mut self, first_index: u64) -> Result<()> {
        let seg = self.active();
        seg.file.sync_data().ctx("fdatasync", &seg.path)?;
        tracing::debug!(path = %seg.path.display(), next = first_index, "segment full, rolling over");
        self.create_segment(first_index)
    }

    /// Creates `log.<first_index>` via a synced temp file and a rename, then a directory fsync, so
    /// a segment name always has a whole header behind it.
    pub(super) fn create_segment(&mut self, first_index: u64) -> Result<()> {
        let tmp = self.dir.join(temp_segment_name(first_index));
        let path = self.dir.join(segment_name(first_index));
        let file = self
            .fs
            .open(&tmp, OpenMode::CreateTruncate)
            .ctx("create", &tmp)?;
        write_all_at(file.as_ref(), &encode_segment_header(first_index), 0).ctx("write", &tmp)?;
        if self.preallocate {
            file.allocate(self.segment_size).ctx("fallocate", &tmp)?;
        }
        file.sync_all().ctx("fsync", &tmp)?;
        self.fs.rename(&tmp, &path).ctx("rename", &tmp)?;
        self.fs
            .sync_dir(&self.dir)
            .ctx("fsync directory", &self.dir)?;
        self.segments.push(Segment::scanned(
            first_index,
            path,
            file,
            Vec::new(),
            SEGMENT_HEADER_LEN,
        ));
        Ok(())
    }
}
