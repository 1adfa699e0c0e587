//! `ferrokeeper inspect`: prints a log's records and a snapshot's tree, like ZooKeeper's
//! TxnLogToolkit and SnapshotFormatter, from a standalone server's or an ensemble member's files.
//!
//! It never writes: the storage crate reads through a read-only overlay
//! ([`read_only_fs`]), so inspecting a running server's directory is safe. Damage is reported
//! with the file and byte offset the storage crate found it at, and the command exits non-zero.

mod log;
mod progress;
mod read_only_fs;
mod render;
mod snapshot;
mod txn_format;

use clap::Args;
use log::{inspect_log, is_segment_name, LogKind};
use progress::Progress;
use std::io::{self, BufWriter, Stdout, Write};
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// A dataDir or dataLogDir, a `wal` or `raft/log` directory, one log segment, a snapshots
    /// directory or one snapshot file.
    path: PathBuf,
    /// Print log records from this zxid on (decimal or 0x-hex).
    #[arg(long, value_name = "ZXID", value_parser = parse_zxid)]
    from: Option<u64>,
    /// Print log records up to and including this zxid.
    #[arg(long, value_name = "ZXID", value_parser = parse_zxid)]
    to: Option<u64>,
    /// Print at most N records of each log and N znodes of a tree.
    #[arg(long, value_name = "N")]
    limit: Option<u64>,
    /// Print the znodes and sessions of the newest snapshot (or of the snapshot file given).
    #[arg(long)]
    tree: bool,
    /// Include znode and txn data (escaped; in JSON a string, or hex digits if not UTF-8).
    #[arg(long)]
    data: bool,
    /// Print one JSON object per line.
    #[arg(long)]
    json: bool,
}

fn parse_zxid(s: &str) -> Result<u64, String> {
    let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    };
    parsed.map_err(|e| format!("not a zxid: {e}"))
}

/// Why inspecting failed.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// Reading or verifying a log or snapshot file; carries the file and, for damage, the offset.
    #[error(transparent)]
    Storage(#[from] storage::Error),
    /// A log record passed its checksum but is not a record this build can decode.
    #[error("{path}: the record at zxid {zxid:#x} cannot be decoded: {reason}")]
    Record {
        path: PathBuf,
        zxid: u64,
        reason: String,
    },
    /// A snapshot's content failed to verify or decode.
    #[error("snapshot {path}: {reason}")]
    Snapshot { path: PathBuf, reason: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "no Ferrokeeper log or snapshots at {0} (give a dataDir or dataLogDir, a wal, raft/log or \
         snapshots directory, a log segment or a snapshot file)"
    )]
    NothingFound(PathBuf),
    #[error("cannot write the output: {0}")]
    Output(io::Error),
}

/// What the options select.
#[derive(Debug, Clone)]
struct Options {
    from: Option<u64>,
    to: Option<u64>,
    limit: Option<u64>,
    tree: bool,
    data: bool,
    json: bool,
}

/// Buffered stdout.
struct Out(BufWriter<Stdout>);

impl Out {
    fn line(&mut self, line: &str) -> Result<(), InspectError> {
        writeln!(self.0, "{line}").map_err(InspectError::Output)
    }

    fn flush(&mut self) -> Result<(), InspectError> {
        self.0.flush().map_err(InspectError::Output)
    }
}

/// What the summary line reports.
#[derive(Debug, Default)]
struct Totals {
    /// Records in the logs read.
    records: u64,
    /// Records printed.
    shown: u64,
    first_zxid: Option<u64>,
    last_zxid: Option<u64>,
    snapshots: u64,
    latest_snapshot: Option<u64>,
    /// Errors reported so far.
    problems: u64,
}

impl Totals {
    fn widen_zxids(&mut self, first: u64, last: u64) {
        self.first_zxid = Some(self.first_zxid.map_or(first, |z| z.min(first)));
        self.last_zxid = Some(self.last_zxid.map_or(last, |z| z.max(last)));
    }
}

/// Everything a printer needs.
struct Ctx {
    opts: Options,
    out: Out,
    progress: Progress,
    totals: Totals,
}

impl Ctx {
    fn render(&self, entry: &txn_format::Entry<'_>, with_data: bool) -> String {
        if self.opts.json {
            entry.json(with_data)
        } else {
            entry.text(with_data)
        }
    }

    /// A finding that is not an error (a torn tail, leftover files).
    fn note(
        &mut self,
        path: &Path,
        offset: Option<u64>,
        message: &str,
    ) -> Result<(), InspectError> {
        let file = path.display().to_string();
        let line = if self.opts.json {
            let offset = offset.map_or_else(String::new, |o| format!(",\"offset\":{o}"));
            format!(
                "{{\"type\":\"note\",\"file\":{}{offset},\"message\":{}}}",
                render::quote(&file),
                render::quote(message)
            )
        } else {
            let at = offset.map_or_else(String::new, |o| format!(" at byte offset {o}"));
            format!("note: {file}{at} {message}")
        };
        self.out.line(&line)
    }

    /// Reports an error on stderr (after what was printed so far) and carries on.
    fn problem(&mut self, error: &InspectError) {
        // A closed stdout ends the run anyway; the error itself goes to stderr.
        let _ = self.out.flush();
        self.progress.clear();
        eprintln!("ferrokeeper: {error}");
        self.totals.problems += 1;
    }
}

/// One thing to print.
#[derive(Debug, PartialEq, Eq)]
enum Source {
    Log {
        dir: PathBuf,
        kind: Option<LogKind>,
        /// Only this segment's records.
        segment: Option<PathBuf>,
    },
    SnapshotDir(PathBuf),
    SnapshotFile(PathBuf),
}

/// The kind of log a directory holds, from where servers put it: `<dataLogDir>/wal` for a
/// standalone server, `<dataLogDir>/raft/log` for an ensemble member.
fn kind_from_dir(dir: &Path) -> Option<LogKind> {
    let name = dir.file_name()?.to_str()?;
    let parent = dir
        .parent()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str());
    match (name, parent) {
        ("wal", _) => Some(LogKind::Standalone),
        ("log", Some("raft")) => Some(LogKind::Raft),
        _ => None,
    }
}

fn has_file(dir: &Path, matches: impl Fn(&str) -> bool) -> Result<bool, InspectError> {
    let entries = std::fs::read_dir(dir).map_err(|source| InspectError::Io {
        path: dir.to_owned(),
        source,
    })?;
    Ok(entries
        .flatten()
        .any(|e| e.file_name().to_str().is_some_and(&matches)))
}

fn is_snapshot_name(name: &str) -> bool {
    name.strip_prefix("snapshot.")
        .is_some_and(|hex| hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// What `path` holds, in the order it is printed: logs, then snapshots.
fn detect(path: &Path) -> Result<Vec<Source>, InspectError> {
    let meta = std::fs::metadata(path).map_err(|source| InspectError::Io {
        path: path.to_owned(),
        source,
    })?;
    if meta.is_file() {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if is_segment_name(name) {
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
                _ => PathBuf::from("."),
            };
            return Ok(vec![Source::Log {
                kind: kind_from_dir(&dir),
                dir,
                segment: Some(path.to_owned()),
            }]);
        }
        return Ok(vec![Source::SnapshotFile(path.to_owned())]);
    }
    if has_file(path, is_segment_name)? {
        return Ok(vec![Source::Log {
            dir: path.to_owned(),
            kind: kind_from_dir(path),
            segment: None,
        }]);
    }
    if has_file(path, is_snapshot_name)? {
        return Ok(vec![Source::SnapshotDir(path.to_owned())]);
    }
    let mut found = Vec::new();
    let raft = path.join("raft");
    for (dir, kind) in [
        (path.join("wal"), Some(LogKind::Standalone)),
        (raft.join("log"), Some(LogKind::Raft)),
    ] {
        if dir.is_dir() {
            found.push(Source::Log {
                dir,
                kind,
                segment: None,
            });
        }
    }
    for dir in [path.join("snapshots"), raft.join("snapshots")] {
        if dir.is_dir() {
            found.push(Source::SnapshotDir(dir));
        }
    }
    if found.is_empty() {
        return Err(InspectError::NothingFound(path.to_owned()));
    }
    Ok(found)
}

fn inspect_source(source: &Source, ctx: &mut Ctx) -> Result<(), InspectError> {
    match source {
        Source::Log { dir, kind, segment } => inspect_log(dir, *kind, segment.as_deref(), ctx),
        Source::SnapshotDir(dir) => snapshot::inspect_snapshot_dir(dir, ctx),
        Source::SnapshotFile(file) => snapshot::inspect_snapshot_file(file, ctx.opts.tree, ctx),
    }
}

fn summary_line(t: &Totals, json: bool) -> String {
    if json {
        let mut line = format!(
            "{{\"type\":\"summary\",\"records\":{},\"shown\":{},\"snapshots\":{},\"problems\":{}",
            t.records, t.shown, t.snapshots, t.problems
        );
        if let (Some(first), Some(last)) = (t.first_zxid, t.last_zxid) {
            line.push_str(&format!(",\"firstZxid\":{first},\"lastZxid\":{last}"));
        }
        if let Some(latest) = t.latest_snapshot {
            line.push_str(&format!(",\"latestSnapshotZxid\":{latest}"));
        }
        line.push('}');
        line
    } else {
        let range = match (t.first_zxid, t.last_zxid) {
            (Some(first), Some(last)) => format!(" (zxid {first:#x}..{last:#x})"),
            _ => String::new(),
        };
        let latest = t
            .latest_snapshot
            .map_or_else(String::new, |z| format!(" (latest at zxid {z:#x})"));
        format!(
            "summary: {} log records{range}, {} shown; {} snapshots{latest}",
            t.records, t.shown, t.snapshots
        )
    }
}

/// Runs `ferrokeeper inspect`.
pub fn run(args: InspectArgs) -> Result<(), String> {
    let mut ctx = Ctx {
        opts: Options {
            from: args.from,
            to: args.to,
            limit: args.limit,
            tree: args.tree,
            data: args.data,
            json: args.json,
        },
        out: Out(BufWriter::new(io::stdout())),
        progress: Progress::new(),
        totals: Totals::default(),
    };
    let result = detect(&args.path).and_then(|sources| {
        for source in &sources {
            match inspect_source(source, &mut ctx) {
                Err(InspectError::Output(e)) => return Err(InspectError::Output(e)),
                Err(e) => ctx.problem(&e),
                Ok(()) => {}
            }
        }
        let line = summary_line(&ctx.totals, ctx.opts.json);
        ctx.out.line(&line)?;
        ctx.out.flush()
    });
    ctx.progress.clear();
    match result {
        // The reader went away (`inspect … | head`): nothing is wrong with the data.
        Err(InspectError::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(e.to_string()),
        Ok(()) if ctx.totals.problems > 0 => Err(format!(
            "{} problem(s) found in {}",
            ctx.totals.problems,
            args.path.display()
        )),
        Ok(()) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zxids_parse_in_decimal_and_hex() {
        assert_eq!(parse_zxid("42"), Ok(42));
        assert_eq!(parse_zxid("0x2a"), Ok(42));
        assert!(parse_zxid("0xzz").is_err());
    }

    #[test]
    fn a_data_dir_yields_logs_then_snapshots() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for sub in ["wal", "snapshots", "raft/log", "raft/snapshots"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        assert_eq!(
            detect(root).unwrap(),
            vec![
                Source::Log {
                    dir: root.join("wal"),
                    kind: Some(LogKind::Standalone),
                    segment: None
                },
                Source::Log {
                    dir: root.join("raft/log"),
                    kind: Some(LogKind::Raft),
                    segment: None
                },
                Source::SnapshotDir(root.join("snapshots")),
                Source::SnapshotDir(root.join("raft/snapshots")),
            ]
        );
        let segment = root.join("raft/log/log.0000000000000001");
        std::fs::write(&segment, b"").unwrap();
        assert_eq!(
            detect(&segment).unwrap(),
            vec![Source::Log {
                dir: root.join("raft/log"),
                kind: Some(LogKind::Raft),
                segment: Some(segment.clone())
            }]
        );
        assert!(matches!(
            detect(&root.join("wal")).map(|s| s.len()),
            Err(InspectError::NothingFound(_))
        ));
    }
}
