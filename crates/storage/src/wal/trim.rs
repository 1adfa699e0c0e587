//! Dropping records: a conflicting suffix (`truncate_after`) or a prefix covered by a snapshot
//! (`purge_before`). Both are durable when they return, and both remove files in an order that
//! leaves a contiguous log on disk if a crash stops them halfway.

use std::path::PathBuf;

use crate::error::{Error, IoContext, Result};
use crate::fs::{OpenMode, SharedFs};

use super::Wal;

/// Deletes segments taken out of a log by [`Wal::detach_before`].
#[derive(Debug, Clone)]
pub struct SegmentRemover {
    fs: SharedFs,
    dir: PathBuf,
}

/// Bytes a detached segment shrinks by per step while it is deleted.
const SHRINK_STEP: u64 = 4 << 20;
/// Pause between shrink steps.
const SHRINK_PAUSE: std::time::Duration = std::time::Duration::from_millis(5);

impl SegmentRemover {
    /// Deletes `paths` in order, so a crash part way leaves a contiguous log. Each is first
    /// renamed durably to its `.tmp` name (which `Wal::open` deletes, as it holds nothing the
    /// snapshot does not cover), then shrunk a few MiB at a time before it is unlinked: freeing a
    /// 64 MiB file's blocks at once is one large file-system journal commit, which the log's next
    /// fdatasync waits behind (tens of milliseconds on the machines measured). Detached batches
    /// must be removed in the order they were detached.
    pub fn remove(&self, paths: &[PathBuf]) -> Result<()> {
        for path in paths {
            let mut doomed = path.clone().into_os_string();
            doomed.push(".tmp");
            let doomed = PathBuf::from(doomed);
            self.fs.rename(path, &doomed).ctx("rename", path)?;
            self.fs
                .sync_dir(&self.dir)
                .ctx("fsync directory", &self.dir)?;
            let file = self
                .fs
                .open(&doomed, OpenMode::ReadWrite)
                .ctx("open", &doomed)?;
            let mut len = file.file_len().ctx("stat", &doomed)?;
            while len > 0 {
                len = len.saturating_sub(SHRINK_STEP);
                file.set_len(len).ctx("truncate", &doomed)?;
                std::thread::sleep(SHRINK_PAUSE);
            }
            drop(file);
            self.fs.remove_file(&doomed).ctx("remove", &doomed)?;
            tracing::info!(path = %path.display(), "purged segment");
        }
        Ok(())
    }
}

/// A thread of its own that deletes detached segments, batch after batch in the order they were
/// detached, so a crash part way leaves a contiguous log. The thread starts with the first batch;
/// dropping this lets it finish the batches already queued and stop.
#[derive(Debug)]
pub struct BackgroundRemover {
    remover: SegmentRemover,
    name: &'static str,
    queue: Option<std::sync::mpsc::Sender<Vec<PathBuf>>>,
}

impl BackgroundRemover {
    /// Deletes with `remover` on a thread named `name`.
    pub fn new(remover: SegmentRemover, name: &'static str) -> Self {
        Self {
            remover,
            name,
            queue: None,
        }
    }

    /// Queues `paths` (from [`Wal::detach_before`]) for deletion.
    pub fn remove(&mut self, paths: Vec<PathBuf>) -> std::io::Result<()> {
        if paths.is_empty() {
            return Ok(());
        }
        let queue = match &mut self.queue {
            Some(queue) => queue,
            None => self.queue.insert(self.start()?),
        };
        queue
            .send(paths)
            .map_err(|_| std::io::Error::other("the segment removal thread stopped"))
    }

    fn start(&self) -> std::io::Result<std::sync::mpsc::Sender<Vec<PathBuf>>> {
        let (queue, batches) = std::sync::mpsc::channel::<Vec<PathBuf>>();
        let remover = self.remover.clone();
        std::thread::Builder::new()
            .name(self.name.to_owned())
            .spawn(move || {
                for paths in batches {
                    if let Err(e) = remover.remove(&paths) {
                        // The files stay; a restart finds them behind the snapshot and a later
                        // purge removes them.
                        tracing::error!("could not delete old log segments: {e}");
                    }
                }
            })?;
        Ok(queue)
    }
}

impl Wal {
    /// Drops every record with an index above `index` (Raft's conflicting suffix), durably.
    /// `index + 1 == first_index()` empties the log; asking to keep records that were already
    /// purged (`index + 1 < first_index()`) is [`Error::TruncateBeforeFirst`].
    pub fn truncate_after(&mut self, index: u64) -> Result<()> {
        self.check_poisoned()?;
        let Some(first) = self.segments.first().map(|s| s.first_index) else {
            return Ok(());
        };
        // `index < first - 1`, written so that `first == 0` cannot underflow.
        if index < first && first - index > 1 {
            return Err(Error::TruncateBeforeFirst { index, first });
        }
        match self.last_index() {
            Some(last) if index < last => {}
            _ => return Ok(()),
        }
        self.guarded(|wal| wal.truncate_inner(index + 1))
    }

    fn truncate_inner(&mut self, keep_below: u64) -> Result<()> {
        // Newest first, so a crash part way leaves a shorter but still contiguous log.
        while self.segments.len() > 1
            && self.segments[self.segments.len() - 1].first_index >= keep_below
        {
            if let Some(seg) = self.segments.pop() {
                let path = seg.path;
                drop(seg.file);
                self.fs.remove_file(&path).ctx("remove", &path)?;
                self.fs
                    .sync_dir(&self.dir)
                    .ctx("fsync directory", &self.dir)?;
                tracing::info!(path = %path.display(), "removed segment past truncation point");
            }
        }
        let Some(seg) = self.segments.last_mut() else {
            return Ok(());
        };
        let keep = (keep_below.saturating_sub(seg.first_index)) as usize;
        if let Some(cut) = seg.frames()?.offsets.get(keep).copied() {
            seg.file.set_len(cut).ctx("truncate", &seg.path)?;
            // A full fsync: the new length is metadata, and the records kept before the cut may
            // not have been synced yet either.
            seg.file.sync_all().ctx("fsync", &seg.path)?;
            let frames = seg.frames_mut()?;
            frames.offsets.truncate(keep);
            frames.data_end = cut;
            tracing::info!(path = %seg.path.display(), keep_below, "truncated log");
        }
        self.dirty = false;
        Ok(())
    }

    /// Deletes whole segments all of whose records are below `index` (covered by a snapshot at
    /// `index - 1` or later), durably. Records below `index` that share a segment with later ones
    /// stay. If `index` is past the last record the log becomes empty and the next append must
    /// carry `index`; on a log never written this sets its first index.
    pub fn purge_before(&mut self, index: u64) -> Result<()> {
        self.check_poisoned()?;
        let Some(last) = self.segments.last() else {
            return self.guarded(|wal| wal.create_segment(index));
        };
        if index <= self.segments[0].first_index {
            return Ok(());
        }
        if index < last.next_index() {
            return self.guarded(|wal| wal.remove_oldest_below(index));
        }
        let reuse_last = last.records() == 0 && last.first_index == index;
        self.guarded(|wal| {
            if !reuse_last {
                // Like a rollover, the current last segment is synced before another follows it:
                // once it is not the last, a torn tail in it would read as corruption if a crash
                // interrupts the purge before it is deleted.
                if wal.dirty {
                    if let Some(seg) = wal.segments.last() {
                        seg.file.sync_data().ctx("fdatasync", &seg.path)?;
                    }
                }
                // The new empty segment carries the next index across a restart; it is made
                // durable before the old ones go, and `open` finishes a purge interrupted here.
                wal.create_segment(index)?;
            }
            let keep_from = wal.segments.len() - 1;
            wal.remove_oldest(keep_from)?;
            wal.dirty = false;
            Ok(())
        })
    }

    /// Like [`Wal::purge_before`], but whole segments below `index` are only taken out of the
    /// log, not deleted: their paths come back, oldest first, for [`SegmentRemover::remove`] to
    /// delete off the write path (deleting a large file and syncing the directory can stall
    /// appends for tens of milliseconds). Until they are deleted a restart finds them and skips
    /// their records, which the snapshot covers. The rare purge past the last record is done in
    /// place, as `purge_before` does it.
    pub fn detach_before(&mut self, index: u64) -> Result<Vec<PathBuf>> {
        self.check_poisoned()?;
        match self.segments.last() {
            Some(last) if index < last.next_index() => {}
            _ => return self.purge_before(index).map(|()| Vec::new()),
        }
        let whole = self
            .segments
            .windows(2)
            .take_while(|w| w[1].first_index <= index)
            .count();
        Ok(self.segments.drain(..whole).map(|seg| seg.path).collect())
    }

    /// What deletes detached segments, for another thread to own.
    pub fn remover(&self) -> SegmentRemover {
        SegmentRemover {
            fs: self.fs.clone(),
            dir: self.dir.clone(),
        }
    }

    fn remove_oldest_below(&mut self, index: u64) -> Result<()> {
        let whole = self
            .segments
            .windows(2)
            .take_while(|w| w[1].first_index <= index)
            .count();
        self.remove_oldest(whole)
    }

    /// Removes the `n` oldest segments, oldest first, so a crash part way leaves a contiguous log.
    fn remove_oldest(&mut self, n: usize) -> Result<()> {
        for seg in self.segments.drain(..n).collect::<Vec<_>>() {
            let path = seg.path;
            drop(seg.file);
            self.fs.remove_file(&path).ctx("remove", &path)?;
            self.fs
                .sync_dir(&self.dir)
                .ctx("fsync directory", &self.dir)?;
            tracing::info!(path = %path.display(), "purged segment");
        }
        Ok(())
    }
}
