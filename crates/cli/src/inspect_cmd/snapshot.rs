//! Printing snapshots: a standalone server's `<dataDir>/snapshots` (files holding a tree stream)
//! and an ensemble member's `<dataLogDir>/raft/snapshots` (Raft metadata, then the tree stream).
//! Every snapshot is read to its end, which is what verifies its checksum.

use super::read_only_fs::ReadOnlyFs;
use super::render::{format_time, Fields, Value};
use super::{Ctx, InspectError};
use indicatif::ProgressBar;
use server::snapshots::read_tree;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;
use storage::{SnapshotReader, SnapshotStore};
use tree::snapshot::SnapshotError;
use tree::{DataTree, NodeKind, TreeConfig};

/// Prints every snapshot in `dir`, oldest first; with `--tree`, the newest one's tree too. A
/// snapshot that fails to verify is reported and the others are still printed.
pub fn inspect_snapshot_dir(dir: &Path, ctx: &mut Ctx) -> Result<(), InspectError> {
    let fs = Arc::new(ReadOnlyFs::new(ProgressBar::hidden()));
    let list = SnapshotStore::open(fs, dir)?.list()?;
    let count = list.len();
    for (i, info) in list.into_iter().enumerate() {
        let newest = i + 1 == count;
        if let Err(e) = inspect_snapshot_file(&info.path, ctx.opts.tree && newest, ctx) {
            ctx.problem(&e);
        }
    }
    Ok(())
}

/// Prints one snapshot file's summary and, with `print_tree`, its znodes and sessions.
pub fn inspect_snapshot_file(
    path: &Path,
    print_tree: bool,
    ctx: &mut Ctx,
) -> Result<(), InspectError> {
    let loaded = load(path, ctx)?;
    ctx.totals.snapshots += 1;
    ctx.totals.latest_snapshot = ctx.totals.latest_snapshot.max(Some(loaded.index));
    print_summary(path, &loaded, ctx)?;
    if print_tree {
        print_nodes(&loaded.tree, ctx)?;
        print_sessions(&loaded.tree, ctx)?;
    }
    Ok(())
}

/// A snapshot read back and verified.
struct Loaded {
    tree: DataTree,
    /// The zxid in the file's header.
    index: u64,
    /// An ensemble member's snapshot: the Raft metadata in front of the tree, as text.
    raft_meta: Option<String>,
    file_len: u64,
}

fn load(path: &Path, ctx: &Ctx) -> Result<Loaded, InspectError> {
    let failed = |reason: String| InspectError::Snapshot {
        path: path.to_owned(),
        reason,
    };
    let file_len = std::fs::metadata(path)
        .map_err(|source| InspectError::Io {
            path: path.to_owned(),
            source,
        })?
        .len();
    let reader = SnapshotReader::open(path)?;
    let index = reader.index();
    let total = reader.expected_len();
    ctx.progress.phase("reading snapshot", total, false);
    let mut input = Counted(reader, ctx.progress.bar());
    let (tree, raft_meta) = match read_tree(&mut input, TreeConfig::default()) {
        Ok(tree) => (tree, None),
        // Not a tree stream from its first bytes on: an ensemble member's snapshot starts with
        // its Raft metadata.
        Err(SnapshotError::BadMagic) => {
            let (meta, reader) = consensus::raft::inspect::open_snapshot(path)
                .map_err(|e| failed(format!("neither a tree snapshot nor a Raft snapshot: {e}")))?;
            ctx.progress.phase("reading snapshot", total, false);
            let mut input = Counted(reader, ctx.progress.bar());
            let tree =
                read_tree(&mut input, TreeConfig::default()).map_err(|e| failed(e.to_string()))?;
            (tree, Some(meta))
        }
        Err(SnapshotError::Io(e)) => return Err(storage_error(path, e)),
        Err(e) => return Err(failed(e.to_string())),
    };
    Ok(Loaded {
        tree,
        index,
        raft_meta,
        file_len,
    })
}

/// The storage crate's own error when it is what failed the read: it names the file and offset.
fn storage_error(path: &Path, e: io::Error) -> InspectError {
    let reason = e.to_string();
    match e
        .into_inner()
        .map(|inner| inner.downcast::<storage::Error>())
    {
        Some(Ok(inner)) => InspectError::Storage(*inner),
        _ => InspectError::Snapshot {
            path: path.to_owned(),
            reason,
        },
    }
}

/// Counts the uncompressed bytes read, for the progress bar.
struct Counted<R>(R, ProgressBar);

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.0.read(buf)?;
        self.1.inc(n as u64);
        Ok(n)
    }
}

fn print_summary(path: &Path, s: &Loaded, ctx: &mut Ctx) -> Result<(), InspectError> {
    let file = path.display().to_string();
    let mut f = Fields::default();
    f.push("", Value::Str("snapshot"))
        .push("", Value::Str(&file))
        .push("zxid", Value::Zxid(s.index as i64))
        .push("znodes", Value::Int(s.tree.node_count() as i64))
        .push("sessions", Value::Int(s.tree.sessions().count() as i64))
        .push("ephemerals", Value::Int(s.tree.ephemeral_count() as i64))
        .push("bytes", Value::Int(s.file_len as i64));
    if let Some(meta) = &s.raft_meta {
        f.push("raft", Value::Str(meta));
    }
    let line = if ctx.opts.json {
        f.json(&["type", "file"])
    } else {
        f.text()
    };
    ctx.out.line(&line)
}

fn print_nodes(tree: &DataTree, ctx: &mut Ctx) -> Result<(), InspectError> {
    let limit = ctx.opts.limit.unwrap_or(u64::MAX);
    for node in tree
        .iter_nodes()
        .take(limit.try_into().unwrap_or(usize::MAX))
    {
        let Some(stat) = tree.stat(node.path) else {
            continue;
        };
        let (ctime, mtime) = (format_time(stat.ctime), format_time(stat.mtime));
        let mut f = Fields::default();
        if ctx.opts.json {
            f.push("type", Value::Str("node"));
        }
        f.push("", Value::Str(node.path))
            .push("czxid", Value::Zxid(stat.czxid))
            .push("mzxid", Value::Zxid(stat.mzxid))
            .push("pzxid", Value::Zxid(stat.pzxid))
            .push("ctime", Value::Str(&ctime))
            .push("mtime", Value::Str(&mtime))
            .push("version", Value::Int(i64::from(stat.version)))
            .push("cversion", Value::Int(i64::from(stat.cversion)))
            .push("aversion", Value::Int(i64::from(stat.aversion)))
            .push("dataLength", Value::Int(i64::from(stat.data_length)))
            .push("numChildren", Value::Int(i64::from(stat.num_children)))
            .push("ephemeralOwner", Value::Hex(stat.ephemeral_owner))
            .push("acl", Value::Int(node.acl.len() as i64));
        match NodeKind::from_owner(node.stat.ephemeral_owner) {
            NodeKind::Container => {
                f.push("kind", Value::Str("container"));
            }
            NodeKind::Ttl(ms) => {
                f.push("ttl", Value::Int(ms));
            }
            NodeKind::Persistent | NodeKind::Ephemeral(_) => {}
        }
        if ctx.opts.data {
            f.push("data", Value::Data(node.data.map(|d| &d[..])));
        }
        let line = if ctx.opts.json {
            f.json(&["path"])
        } else {
            f.text()
        };
        ctx.out.line(&line)?;
    }
    Ok(())
}

fn print_sessions(tree: &DataTree, ctx: &mut Ctx) -> Result<(), InspectError> {
    let ephemerals = tree.ephemerals_by_session();
    let mut sessions: Vec<(i64, i32)> = tree
        .sessions()
        .map(|(id, entry)| (id, entry.timeout_ms))
        .collect();
    sessions.sort_unstable();
    for (id, timeout_ms) in sessions {
        let owned = ephemerals
            .binary_search_by_key(&id, |(owner, _)| *owner)
            .map_or(0, |i| ephemerals[i].1.len());
        let mut f = Fields::default();
        f.push("", Value::Str("session"))
            .push("", Value::Hex(id))
            .push("timeout", Value::Int(i64::from(timeout_ms)))
            .push("ephemerals", Value::Int(owned as i64));
        let line = if ctx.opts.json {
            f.json(&["type", "session"])
        } else {
            f.text()
        };
        ctx.out.line(&line)?;
    }
    Ok(())
}
