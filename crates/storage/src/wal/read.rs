//! Reading records back: ranges for Raft's log reads, an iterator for replay. Every record is
//! verified again on the way out, so damage that appeared after `open` is still an error.

use std::collections::VecDeque;

use crate::error::{Corruption, Error, IoContext, Result};
use crate::fs::read_exact_at;

use super::format::{check_frame, verified_len, RECORD_HEADER_LEN};
use super::{Record, Segment, Wal};

/// How many bytes the iterator reads at a time (it always takes at least one record).
const BATCH_BYTES: u64 = 1 << 20;

impl Wal {
    /// The records with indexes `from..to` (half-open). `from == to` is an empty read; anything
    /// outside `first_index()..=last_index()` is [`Error::OutOfRange`].
    pub fn read_range(&self, from: u64, to: u64) -> Result<Vec<Record>> {
        self.check_poisoned()?;
        self.check_range(from, to)?;
        let mut out = Vec::with_capacity((to - from).min(1 << 16) as usize);
        let mut index = from;
        while index < to {
            let (seg, i) = self.locate(index);
            let j = (to - seg.first_index).min(seg.records()) as usize;
            read_records(seg, i, j, &mut out)?;
            index = seg.first_index + j as u64;
        }
        Ok(out)
    }

    /// Iterates over the records from `from` to the last one, reading about 1 MiB at a time.
    /// `from` may be one past the last record (an empty iteration).
    pub fn entries(&self, from: u64) -> Result<Entries<'_>> {
        self.check_poisoned()?;
        let end = self.next_index().unwrap_or(from);
        self.check_range(from, end)?;
        Ok(Entries {
            wal: self,
            next: from,
            end,
            ready: VecDeque::new(),
            failed: false,
        })
    }

    fn check_range(&self, from: u64, to: u64) -> Result<()> {
        let (first, end) = match (self.first_index(), self.next_index()) {
            (Some(first), Some(end)) => (first, end),
            // Empty log: only empty reads at the next index are in range.
            (None, next) => {
                let at = next.unwrap_or(from);
                (at, at)
            }
            (Some(first), None) => (first, first),
        };
        if from > to || from < first || to > end {
            return Err(Error::OutOfRange {
                from,
                to,
                first,
                end,
            });
        }
        Ok(())
    }

    /// The segment holding `index` and the record's position in it; `index` is in range.
    fn locate(&self, index: u64) -> (&Segment, usize) {
        let n = self.segments.partition_point(|s| s.first_index <= index);
        let seg = &self.segments[n.saturating_sub(1)];
        (seg, (index - seg.first_index) as usize)
    }
}

/// Reads and verifies records `i..j` of `seg` with one read, appending them to `out`.
fn read_records(seg: &Segment, i: usize, j: usize, out: &mut Vec<Record>) -> Result<()> {
    if i >= j {
        return Ok(());
    }
    let (start, end) = seg.span(i, j)?;
    let mut buf = vec![0u8; (end - start) as usize];
    read_exact_at(seg.file.as_ref(), &mut buf, start).ctx("read", &seg.path)?;
    let mut at = 0usize;
    for k in i..j {
        let offset = start + at as u64;
        let corrupt = |reason| Error::Corrupt {
            path: seg.path.clone(),
            offset,
            reason,
        };
        let head = buf
            .get(at..at + 8)
            .ok_or_else(|| corrupt(Corruption::Truncated))?;
        let len = verified_len(head).ok_or_else(|| corrupt(Corruption::BadLengthChecksum))?;
        let frame_end = at + RECORD_HEADER_LEN as usize + len as usize;
        let frame = buf
            .get(at..frame_end)
            .ok_or_else(|| corrupt(Corruption::Truncated))?;
        let found = check_frame(frame).map_err(corrupt)?;
        let expected = seg.first_index + k as u64;
        if found != expected {
            return Err(corrupt(Corruption::IndexGap { expected, found }));
        }
        out.push(Record {
            index: found,
            payload: frame[RECORD_HEADER_LEN as usize..].to_vec(),
        });
        at = frame_end;
    }
    Ok(())
}

/// Iterator over the log's records in index order; see [`Wal::entries`]. After an error it ends.
#[derive(Debug)]
pub struct Entries<'a> {
    wal: &'a Wal,
    next: u64,
    end: u64,
    ready: VecDeque<Record>,
    failed: bool,
}

impl Entries<'_> {
    fn refill(&mut self) -> Result<()> {
        let (seg, i) = self.wal.locate(self.next);
        let last = (self.end - seg.first_index).min(seg.records()) as usize;
        let offsets = &seg.frames()?.offsets;
        let start = offsets[i];
        // At least one record, then as many as fit in the batch.
        let mut j = i + 1;
        while j < last && offsets[j] - start < BATCH_BYTES {
            j += 1;
        }
        let mut out = Vec::with_capacity(j - i);
        read_records(seg, i, j, &mut out)?;
        self.next = seg.first_index + j as u64;
        self.ready.extend(out);
        Ok(())
    }
}

impl Iterator for Entries<'_> {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Result<Record>> {
        if self.ready.is_empty() && self.next < self.end && !self.failed {
            if let Err(e) = self.refill() {
                self.failed = true;
                return Some(Err(e));
            }
        }
        self.ready.pop_front().map(Ok)
    }
}
