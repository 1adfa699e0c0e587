//! Segmented write-ahead log of opaque records with contiguous `u64` indexes.
//!
//! The on-disk format, the recovery rules and what is fsynced when are specified in
//! `docs/formats/wal.md`. In short: records are appended in batches with [`Wal::append`] and become
//! durable — and may be acknowledged — only when [`Wal::sync`] returns, which costs one `fdatasync`
//! however many records the batch held (group commit: the caller batches).
//!
//! ```no_run
//! # fn main() -> storage::Result<()> {
//! use storage::wal::{Wal, WalOptions};
//! let (mut wal, recovery) = Wal::open("data/log", WalOptions::default())?;
//! let next = recovery.last_index.map_or(1, |i| i + 1);
//! wal.append(&[(next, b"txn a".as_slice()), (next + 1, b"txn b".as_slice())])?;
//! wal.sync()?; // now both may be acknowledged
//! # Ok(()) }
//! ```

mod format;
mod open;
mod read;
mod scan;
mod trim;
pub use trim::{BackgroundRemover, SegmentRemover};
mod write;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::error::{Corruption, Error, Result};
use crate::fs::{std_fs, SharedFs, StorageFile};

pub use format::{MAX_RECORD_LEN, RECORD_HEADER_LEN, SEGMENT_HEADER_LEN};
pub use read::Entries;

/// Default segment size, the same as ZooKeeper's log preallocation size.
pub const DEFAULT_SEGMENT_SIZE: u64 = 64 << 20;
/// Smallest allowed segment size (tests use tiny segments to exercise rollover).
pub const MIN_SEGMENT_SIZE: u64 = 64;
/// Largest allowed segment size.
pub const MAX_SEGMENT_SIZE: u64 = 1 << 30;

/// How big segments are and whether their space is reserved when they are created.
///
/// Reserving (`fallocate`) would make a small write's `fdatasync` cheaper (no file-size update),
/// but it is off by default: see docs/formats/wal.md ("Segments") for the crash case it trades away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentLayout {
    /// A segment is closed once the next record would take it past this many bytes.
    pub segment_size: u64,
    /// Reserve `segment_size` bytes when a segment is created.
    pub preallocate: bool,
}

impl Default for SegmentLayout {
    /// 64 MiB segments (ZooKeeper's `preAllocSize`), grown as records arrive.
    fn default() -> SegmentLayout {
        SegmentLayout {
            segment_size: DEFAULT_SEGMENT_SIZE,
            preallocate: false,
        }
    }
}

/// How a [`Wal`] lays out and writes its segments.
#[derive(Clone)]
pub struct WalOptions {
    /// A segment is closed once the next record would take it past this many bytes.
    pub segment_size: u64,
    /// Reserve `segment_size` bytes (zero-filled, `fallocate`) when a segment is created.
    pub preallocate: bool,
    /// The file system; [`crate::fs::StdFs`] unless a test or simulation injects another.
    pub fs: SharedFs,
    /// The index of a snapshot the caller restarts from, if any. Segments holding only records
    /// at or below it (as the next segment's name shows) are not scanned by `open`: their records
    /// are verified when a read first reaches them. With four 64 MiB segments behind a 1M-znode
    /// snapshot, verifying them at open held a restart up by about 25 ms (0.366 against 0.341 s).
    pub covered_through: Option<u64>,
}

impl Default for WalOptions {
    fn default() -> WalOptions {
        WalOptions {
            segment_size: DEFAULT_SEGMENT_SIZE,
            preallocate: false,
            fs: std_fs(),
            covered_through: None,
        }
    }
}

impl WalOptions {
    /// Segments laid out as `layout`, on `fs`.
    pub fn with_layout(layout: SegmentLayout, fs: SharedFs) -> WalOptions {
        WalOptions {
            segment_size: layout.segment_size,
            preallocate: layout.preallocate,
            fs,
            covered_through: None,
        }
    }
}

impl fmt::Debug for WalOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WalOptions")
            .field("segment_size", &self.segment_size)
            .field("preallocate", &self.preallocate)
            .field("covered_through", &self.covered_through)
            .finish_non_exhaustive()
    }
}

impl WalOptions {
    fn validate(&self) -> Result<()> {
        if !(MIN_SEGMENT_SIZE..=MAX_SEGMENT_SIZE).contains(&self.segment_size) {
            return Err(Error::InvalidOptions(format!(
                "segment_size {} is outside {MIN_SEGMENT_SIZE}..={MAX_SEGMENT_SIZE}",
                self.segment_size
            )));
        }
        Ok(())
    }
}

/// One record read back from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The record's index.
    pub index: u64,
    /// The bytes appended with it.
    pub payload: Vec<u8>,
}

/// What [`Wal::open`] found and repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Segment files in use after recovery.
    pub segments: usize,
    /// Records in the log.
    pub records: u64,
    /// Index of the first record, if any.
    pub first_index: Option<u64>,
    /// Index of the last record, if any.
    pub last_index: Option<u64>,
    /// The torn write cut from the end of the last segment, if there was one.
    pub torn_tail: Option<TornTail>,
    /// Leftover `log.*.tmp` files (interrupted rollovers or purges) that were deleted.
    pub removed_temp_files: Vec<PathBuf>,
    /// Segments deleted to finish a `purge_before` that a crash interrupted.
    pub finished_purge: Vec<PathBuf>,
}

/// A torn write found at the end of the last segment and cut away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// The segment it was in.
    pub path: PathBuf,
    /// Byte offset where the incomplete frame started; the file now ends here.
    pub offset: u64,
    /// Bytes removed (including any zero fill after them).
    pub discarded_bytes: u64,
    /// Why the frame did not verify.
    pub reason: Corruption,
}

/// Where a segment is and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentInfo {
    /// The segment file.
    pub path: PathBuf,
    /// Index its first record has (or will have, while it is empty).
    pub first_index: u64,
    /// Records it holds.
    pub records: u64,
    /// Bytes of header and records (zero fill not counted); `None` for a segment that `open`
    /// left unscanned behind a snapshot ([`WalOptions::covered_through`]) and no read reached.
    pub bytes: Option<u64>,
}

/// Where a segment's records lie.
#[derive(Debug)]
struct Frames {
    /// Byte offset of each record's frame.
    offsets: Vec<u64>,
    /// End of the last record; the next append goes here.
    data_end: u64,
}

/// An open segment file and the position of every record in it.
#[derive(Debug)]
struct Segment {
    first_index: u64,
    path: PathBuf,
    file: Box<dyn StorageFile>,
    /// Records held while `frames` is unset: the next segment's first index says how many.
    unscanned_records: u64,
    /// Set by the scan at open or, for a segment opened behind a snapshot, by the first read.
    frames: OnceLock<Frames>,
}

impl Segment {
    /// A segment whose records were scanned (or that is new and empty).
    fn scanned(
        first_index: u64,
        path: PathBuf,
        file: Box<dyn StorageFile>,
        offsets: Vec<u64>,
        data_end: u64,
    ) -> Segment {
        Segment {
            first_index,
            path,
            file,
            unscanned_records: 0,
            frames: OnceLock::from(Frames { offsets, data_end }),
        }
    }

    fn records(&self) -> u64 {
        self.frames
            .get()
            .map_or(self.unscanned_records, |f| f.offsets.len() as u64)
    }

    /// Index the next record appended to this segment must carry.
    fn next_index(&self) -> u64 {
        self.first_index + self.records()
    }

    fn last_index(&self) -> Option<u64> {
        (self.records() > 0).then(|| self.next_index() - 1)
    }

    /// Where the records are, verifying them first if `open` did not.
    fn frames(&self) -> Result<&Frames> {
        if let Some(frames) = self.frames.get() {
            return Ok(frames);
        }
        let frames = self.scan_unscanned()?;
        Ok(self.frames.get_or_init(|| frames))
    }

    /// [`Segment::frames`], to change.
    fn frames_mut(&mut self) -> Result<&mut Frames> {
        if self.frames.get().is_none() {
            self.frames = OnceLock::from(self.scan_unscanned()?);
        }
        Ok(self
            .frames
            .get_mut()
            .expect("the frames were set just above"))
    }

    /// Scans a segment that `open` skipped; it must hold the records its neighbours' names say.
    fn scan_unscanned(&self) -> Result<Frames> {
        let scanned = scan::scan_segment(self.file.as_ref(), &self.path, self.first_index, false)?;
        let found = scanned.offsets.len() as u64;
        if found != self.unscanned_records {
            return Err(Error::Corrupt {
                path: self.path.clone(),
                offset: scanned.data_end,
                reason: Corruption::IndexGap {
                    expected: self.first_index + self.unscanned_records,
                    found: self.first_index + found,
                },
            });
        }
        Ok(Frames {
            offsets: scanned.offsets,
            data_end: scanned.data_end,
        })
    }

    /// Byte range `[start, end)` of records `i..j` of this segment.
    fn span(&self, i: usize, j: usize) -> Result<(u64, u64)> {
        let frames = self.frames()?;
        let end = frames.offsets.get(j).copied().unwrap_or(frames.data_end);
        Ok((frames.offsets[i], end))
    }
}

/// A segmented write-ahead log in one directory. See the [module docs](self).
#[derive(Debug)]
pub struct Wal {
    fs: SharedFs,
    dir: PathBuf,
    segment_size: u64,
    preallocate: bool,
    /// Ordered by index; the last one is the one appended to. Empty only for a log never written.
    segments: Vec<Segment>,
    /// Reused frame buffer for appends.
    buf: Vec<u8>,
    /// Records were appended since the last `sync`.
    dirty: bool,
    /// A write or fsync failed; the on-disk state is unknown until reopened.
    poisoned: bool,
}

impl Wal {
    /// Opens (creating if needed) the log in `dir`, verifying every record. See [`Recovery`] for
    /// what is repaired; anything else that fails verification is [`Error::Corrupt`].
    pub fn open(dir: impl AsRef<Path>, options: WalOptions) -> Result<(Wal, Recovery)> {
        open::open(dir.as_ref(), options)
    }

    /// The directory holding the segments.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Index of the first record held, or `None` if the log holds none.
    pub fn first_index(&self) -> Option<u64> {
        let first = self.segments.first()?;
        self.last_index().map(|_| first.first_index)
    }

    /// Index of the last record held, or `None` if the log holds none.
    pub fn last_index(&self) -> Option<u64> {
        // Only the last segment can be empty (a rollover or repair just before it got a record);
        // then the last record is the one before its first index.
        let last = self.segments.last()?;
        match last.last_index() {
            Some(index) => Some(index),
            None if self.segments.len() > 1 => Some(last.first_index - 1),
            None => None,
        }
    }

    /// Index the next appended record must carry; `None` for a log never written, which accepts
    /// any first index.
    pub fn next_index(&self) -> Option<u64> {
        self.segments.last().map(Segment::next_index)
    }

    /// The segments, oldest first.
    pub fn segments(&self) -> Vec<SegmentInfo> {
        self.segments
            .iter()
            .map(|s| SegmentInfo {
                path: s.path.clone(),
                first_index: s.first_index,
                records: s.records(),
                bytes: s.frames.get().map(|f| f.data_end),
            })
            .collect()
    }

    /// Whether records were appended since the last successful [`Wal::sync`].
    pub fn has_unsynced(&self) -> bool {
        self.dirty
    }

    fn check_poisoned(&self) -> Result<()> {
        if self.poisoned {
            Err(Error::Poisoned)
        } else {
            Ok(())
        }
    }

    /// Runs a mutating step; if it fails the log is poisoned, since a partial write or a failed
    /// fsync leaves the disk in a state only a fresh `open` can establish.
    fn guarded<T>(&mut self, step: impl FnOnce(&mut Wal) -> Result<T>) -> Result<T> {
        self.check_poisoned()?;
        let result = step(self);
        if let Err(e) = &result {
            tracing::error!(dir = %self.dir.display(), error = %e, "write-ahead log poisoned");
            self.poisoned = true;
        }
        result
    }
}
