//! Printing a write-ahead log: a standalone server's `<dataLogDir>/wal` (record index = zxid,
//! payload = leader time + proposal) or an ensemble member's `<dataLogDir>/raft/log` (record
//! index = Raft index + 1, payload = a Raft entry whose normal payload is a proposal).

use super::read_only_fs::ReadOnlyFs;
use super::txn_format::{Body, Entry};
use super::{Ctx, InspectError};
use bytes::Bytes;
use consensus::raft::inspect::{decode_log_record, RecordKind};
use consensus::LogPayload;
use server::proposal::Proposal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use storage::wal::SegmentInfo;
use storage::{Record, Recovery, Wal, WalOptions};

/// Which server wrote a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    Standalone,
    Raft,
}

impl LogKind {
    /// The log's record index for `zxid`, minus this.
    fn index_offset(self) -> u64 {
        match self {
            LogKind::Standalone => 0,
            LogKind::Raft => 1,
        }
    }

    fn name(self) -> &'static str {
        match self {
            LogKind::Standalone => "standalone",
            LogKind::Raft => "raft",
        }
    }
}

/// Prints the records of the log in `dir` (only those of `segment`, when given) that the options
/// select. `kind` is guessed from the first record when `None`.
pub fn inspect_log(
    dir: &Path,
    kind: Option<LogKind>,
    segment: Option<&Path>,
    ctx: &mut Ctx,
) -> Result<(), InspectError> {
    ctx.progress
        .phase("verifying log", segment_bytes_on_disk(dir), false);
    let fs = Arc::new(ReadOnlyFs::new(ctx.progress.bar()));
    let options = WalOptions {
        fs,
        ..WalOptions::default()
    };
    let (wal, recovery) = Wal::open(dir, options)?;
    let kind = match kind {
        Some(kind) => kind,
        None => sniff(&wal, &recovery)?,
    };
    let offset = kind.index_offset();
    let zxid_of = |index: u64| index.saturating_sub(offset);
    let segments = wal.segments();
    print_header(dir, kind, &recovery, segments.len(), ctx)?;
    print_notes(&recovery, ctx)?;
    let (Some(first), Some(last)) = (recovery.first_index, recovery.last_index) else {
        return Ok(());
    };
    ctx.totals.records += recovery.records;
    ctx.totals.widen_zxids(zxid_of(first), zxid_of(last));

    let mut lo = ctx
        .opts
        .from
        .map_or(first, |z| z.saturating_add(offset).max(first));
    let mut hi = ctx
        .opts
        .to
        .map_or(last, |z| z.saturating_add(offset).min(last));
    if let Some(segment) = segment {
        let name = segment.file_name();
        let Some(seg) = segments.iter().find(|s| s.path.file_name() == name) else {
            return Ok(());
        };
        lo = lo.max(seg.first_index);
        hi = hi.min((seg.first_index + seg.records).saturating_sub(1));
        if seg.records == 0 {
            return Ok(());
        }
    }
    if lo > hi {
        return Ok(());
    }
    let bytes = segments
        .iter()
        .filter(|s| s.first_index <= hi && s.first_index + s.records > lo)
        // Opened without `covered_through`, so every segment was scanned and has its size.
        .filter_map(|s| s.bytes)
        .sum();
    ctx.progress.phase("reading log", bytes, true);
    let mut shown = 0u64;
    for record in wal.entries(lo)? {
        let record = record?;
        if record.index > hi || ctx.opts.limit.is_some_and(|limit| shown >= limit) {
            break;
        }
        print_record(kind, record, &segments, ctx)?;
        shown += 1;
    }
    ctx.totals.shown += shown;
    Ok(())
}

/// Bytes of the segment files in `dir`, for the progress bar of `Wal::open`'s verification.
fn segment_bytes_on_disk(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(is_segment_name))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

/// `log.<16 hex digits>`: a complete segment (not a `.tmp` one being created).
pub fn is_segment_name(name: &str) -> bool {
    name.strip_prefix("log.")
        .is_some_and(|hex| hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A log whose directory name does not tell: a standalone record decodes as a proposal.
fn sniff(wal: &Wal, recovery: &Recovery) -> Result<LogKind, InspectError> {
    let Some(first) = recovery.first_index else {
        return Ok(LogKind::Standalone);
    };
    let record = wal
        .read_range(first, first + 1)?
        .pop()
        .map(|r| r.payload)
        .unwrap_or_default();
    let standalone =
        consensus::decode_record::<Proposal>(first, Bytes::from(record.clone())).is_ok();
    Ok(if !standalone && decode_log_record(&record).is_ok() {
        LogKind::Raft
    } else {
        LogKind::Standalone
    })
}

fn print_header(
    dir: &Path,
    kind: LogKind,
    recovery: &Recovery,
    segments: usize,
    ctx: &mut Ctx,
) -> Result<(), InspectError> {
    let offset = kind.index_offset();
    let zxid = |i: Option<u64>| i.map(|i| i.saturating_sub(offset));
    let (first, last) = (zxid(recovery.first_index), zxid(recovery.last_index));
    let line = if ctx.opts.json {
        let mut line = format!(
            "{{\"type\":\"log\",\"dir\":{},\"kind\":\"{}\",\"segments\":{segments},\"records\":{}",
            super::render::quote(&dir.display().to_string()),
            kind.name(),
            recovery.records
        );
        if let (Some(first), Some(last)) = (first, last) {
            line.push_str(&format!(",\"firstZxid\":{first},\"lastZxid\":{last}"));
        }
        line.push('}');
        line
    } else {
        let what = match kind {
            LogKind::Standalone => "standalone write-ahead log",
            LogKind::Raft => "Raft log",
        };
        let range = match (first, last) {
            (Some(first), Some(last)) => format!(", zxid {first:#x}..{last:#x}"),
            _ => String::new(),
        };
        format!(
            "log {}: {what}, {segments} segments, {} records{range}",
            dir.display(),
            recovery.records
        )
    };
    ctx.out.line(&line)
}

/// What `Wal::open` would have repaired on a server's start; inspect only shows it.
fn print_notes(recovery: &Recovery, ctx: &mut Ctx) -> Result<(), InspectError> {
    if let Some(torn) = &recovery.torn_tail {
        let message = format!(
            "ends in an incomplete record of {} bytes: a write in progress or cut short by a \
             crash, never acknowledged, not shown",
            torn.discarded_bytes
        );
        ctx.note(&torn.path, Some(torn.offset), &message)?;
    }
    for path in &recovery.removed_temp_files {
        ctx.note(
            path,
            None,
            "unfinished segment (a rollover in progress), ignored",
        )?;
    }
    for path in &recovery.finished_purge {
        ctx.note(path, None, "left over from an interrupted purge, ignored")?;
    }
    Ok(())
}

/// The segment holding record `index`.
fn segment_of(segments: &[SegmentInfo], index: u64) -> PathBuf {
    segments
        .iter()
        .rev()
        .find(|s| s.first_index <= index)
        .or(segments.first())
        .map(|s| s.path.clone())
        .unwrap_or_default()
}

fn print_record(
    kind: LogKind,
    record: Record,
    segments: &[SegmentInfo],
    ctx: &mut Ctx,
) -> Result<(), InspectError> {
    let index = record.index;
    let malformed = |reason: String| InspectError::Record {
        path: segment_of(segments, index),
        zxid: index.saturating_sub(kind.index_offset()),
        reason,
    };
    let with_data = ctx.opts.data;
    let line = match kind {
        LogKind::Standalone => {
            let committed =
                consensus::decode_record::<Proposal>(index, Bytes::from(record.payload))
                    .map_err(|e| malformed(e.to_string()))?;
            let entry = Entry {
                zxid: index,
                time_ms: Some(committed.time_ms),
                raft: None,
                body: Body::Proposal(&committed.payload),
            };
            ctx.render(&entry, with_data)
        }
        LogKind::Raft => {
            let raft = decode_log_record(&record.payload).map_err(malformed)?;
            if raft.index + 1 != index {
                return Err(malformed(format!(
                    "holds Raft index {:#x} in log record {index:#x}",
                    raft.index
                )));
            }
            let (zxid, pos) = (raft.index, Some((raft.term, raft.leader)));
            match &raft.kind {
                RecordKind::Normal { time_ms, payload } => {
                    let proposal = <Proposal as LogPayload>::decode(payload.clone())
                        .map_err(|e| malformed(format!("proposal: {e}")))?;
                    let entry = Entry {
                        zxid,
                        time_ms: Some(*time_ms),
                        raft: pos,
                        body: Body::Proposal(&proposal),
                    };
                    ctx.render(&entry, with_data)
                }
                RecordKind::Blank => ctx.render(
                    &Entry {
                        zxid,
                        time_ms: None,
                        raft: pos,
                        body: Body::Blank,
                    },
                    with_data,
                ),
                RecordKind::Membership(members) => ctx.render(
                    &Entry {
                        zxid,
                        time_ms: None,
                        raft: pos,
                        body: Body::Membership(members),
                    },
                    with_data,
                ),
            }
        }
    };
    ctx.out.line(&line)
}
