//! `Wal::open`: find the segments, verify them, repair what a crash may leave behind.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::error::{Corruption, Error, IoContext, Result};
use crate::fs::{parent_dir, OpenMode};

use super::format::parse_segment_name;
use super::scan::{check_header, scan_segment, Tail};
use super::{Recovery, Segment, TornTail, Wal, WalOptions};

pub(super) fn open(dir: &Path, options: WalOptions) -> Result<(Wal, Recovery)> {
    options.validate()?;
    let fs = options.fs.clone();
    let names = match fs.list_dir(dir) {
        Ok(names) => names,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs.create_dir_all(dir).ctx("create directory", dir)?;
            let parent = parent_dir(dir);
            fs.sync_dir(parent).ctx("fsync directory", parent)?;
            Vec::new()
        }
        Err(e) => return Err(e).ctx("list directory", dir),
    };

    let mut recovery = Recovery::default();
    let mut found: Vec<(u64, PathBuf)> = Vec::new();
    for name in names {
        match parse_segment_name(&name) {
            Some((_, true)) => {
                let path = dir.join(&name);
                fs.remove_file(&path).ctx("remove", &path)?;
                tracing::info!(path = %path.display(), "removed unfinished segment");
                recovery.removed_temp_files.push(path);
            }
            Some((index, false)) => found.push((index, dir.join(&name))),
            None => tracing::debug!(name, "ignoring file that is not a segment"),
        }
    }
    if !recovery.removed_temp_files.is_empty() {
        fs.sync_dir(dir).ctx("fsync directory", dir)?;
    }
    found.sort();

    let mut segments: Vec<Segment> = Vec::with_capacity(found.len());
    let count = found.len();
    let next_names: Vec<Option<u64>> = (0..count)
        .map(|n| found.get(n + 1).map(|(index, _)| *index))
        .collect();
    for (n, (name_index, path)) in found.into_iter().enumerate() {
        let is_last = n + 1 == count;
        let file = fs.open(&path, OpenMode::ReadWrite).ctx("open", &path)?;
        // Every record here is at or below the snapshot (names are sorted and distinct, so
        // `next > name_index`): verified later, if ever read.
        let covered_until = match (next_names[n], options.covered_through) {
            (Some(next), Some(through)) if next - 1 <= through => Some(next),
            _ => None,
        };
        let follows = segments
            .last()
            .is_none_or(|prev| prev.next_index() == name_index);
        if let (Some(next), true) = (covered_until, follows) {
            check_header(file.as_ref(), &path, name_index)?;
            segments.push(Segment {
                first_index: name_index,
                path,
                file,
                unscanned_records: next - name_index,
                frames: OnceLock::new(),
            });
            continue;
        }
        let scanned = scan_segment(file.as_ref(), &path, name_index, is_last)?;
        if let Some(prev) = segments.last() {
            let expected = prev.next_index();
            if scanned.first_index != expected {
                // Only `purge_before` past the end of the log creates an empty segment ahead of
                // the others; finish that purge rather than call it a gap.
                let interrupted_purge =
                    is_last && scanned.offsets.is_empty() && scanned.first_index > expected;
                if !interrupted_purge {
                    return Err(Error::Corrupt {
                        path,
                        offset: 16,
                        reason: Corruption::IndexGap {
                            expected,
                            found: scanned.first_index,
                        },
                    });
                }
                for old in segments.drain(..) {
                    drop(old.file);
                    fs.remove_file(&old.path).ctx("remove", &old.path)?;
                    fs.sync_dir(dir).ctx("fsync directory", dir)?;
                    tracing::warn!(path = %old.path.display(), "finished interrupted purge");
                    recovery.finished_purge.push(old.path);
                }
            }
        }
        if let Tail::Torn { offset, reason } = scanned.tail {
            file.set_len(offset).ctx("truncate", &path)?;
            if options.preallocate {
                // Cutting dropped the reserved space; appends are cheaper to sync inside it.
                file.allocate(options.segment_size)
                    .ctx("fallocate", &path)?;
            }
            file.sync_all().ctx("fsync", &path)?;
            let discarded_bytes = scanned.file_len - offset;
            tracing::warn!(
                path = %path.display(), offset, discarded_bytes, %reason,
                "cut torn write from the end of the log"
            );
            recovery.torn_tail = Some(TornTail {
                path: path.clone(),
                offset,
                discarded_bytes,
                reason,
            });
        }
        segments.push(Segment::scanned(
            scanned.first_index,
            path,
            file,
            scanned.offsets,
            scanned.data_end,
        ));
    }

    let wal = Wal {
        fs,
        dir: dir.to_path_buf(),
        segment_size: options.segment_size,
        preallocate: options.preallocate,
        segments,
        buf: Vec::new(),
        dirty: false,
        poisoned: false,
    };
    recovery.segments = wal.segments.len();
    recovery.records = wal.segments.iter().map(|s| s.records()).sum();
    recovery.first_index = wal.first_index();
    recovery.last_index = wal.last_index();
    tracing::info!(
        dir = %dir.display(),
        segments = recovery.segments,
        first_index = ?recovery.first_index,
        last_index = ?recovery.last_index,
        "opened write-ahead log"
    );
    Ok((wal, recovery))
}
