//! The content of a snapshot: the whole tree and session table as one byte stream
//! (`docs/formats/tree-snapshot.md`). The storage layer wraps this stream in a checksummed,
//! compressed file; this module only turns a tree into bytes and back.
//!
//! Layout: header, sessions, an ACL table (each distinct ACL list once, like ZooKeeper's ACL
//! cache), then every znode in path order, so a parent always precedes its children.

use crate::config::TreeConfig;
use crate::node::PersistedStat;
use crate::restore::{RestoreError, TreeBuilder};
use crate::tree::DataTree;
use crate::txn::SessionEntry;
use bytes::Bytes;
use jute::{Acl, Id};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::sync::Arc;

/// Identifies the stream; its last byte is the version.
const MAGIC_PREFIX: &[u8; 7] = b"FKTREE\x00";
/// The version written: 3 adds each session's owner (the member its client is connected to).
const VERSION: u8 = 3;
/// Version 2 told null node data from empty data, without session owners; it is still read.
const VERSION_NO_SESSION_OWNER: u8 = 2;
/// Version 1 had no null data (it stored null as empty); it is still read.
const VERSION_NO_NULL_DATA: u8 = 1;
/// A node data length that stands for null data (version 2 on).
const NULL_DATA: u32 = u32::MAX;
/// Bounds on single fields, so a corrupted length cannot make the reader allocate gigabytes
/// before the file checksum is even reached.
const MAX_PATH_BYTES: usize = 64 * 1024;
const MAX_DATA_BYTES: usize = 256 * 1024 * 1024;
const MAX_ACL_ENTRIES: usize = 64 * 1024;
/// Room made up front for at most this many nodes: enough for big trees to load without
/// regrowing, bounded so a corrupted count cannot reserve absurd amounts.
const MAX_RESERVED_NODES: u64 = 1 << 21;

/// Why a snapshot stream could not be turned back into a tree.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The stream ended early or could not be read.
    #[error("snapshot i/o: {0}")]
    Io(#[from] io::Error),
    /// The stream does not start with this format's magic and version.
    #[error("not a Ferrokeeper tree snapshot (bad magic or version)")]
    BadMagic,
    /// A length field is beyond what any valid snapshot holds.
    #[error("snapshot field {field} has impossible length {length}")]
    BadLength {
        /// Which field.
        field: &'static str,
        /// The length read.
        length: u64,
    },
    /// A node names an ACL list the table does not have.
    #[error("snapshot node refers to ACL #{0}, which the table does not have")]
    UnknownAcl(u32),
    /// A path, scheme or id is not UTF-8.
    #[error("snapshot string is not UTF-8")]
    Utf8,
    /// The nodes do not form a valid tree.
    #[error("snapshot does not form a tree: {0}")]
    Restore(#[from] RestoreError),
}

/// Writes `tree` as a snapshot stream.
pub fn write_snapshot(tree: &DataTree, out: &mut impl Write) -> io::Result<()> {
    out.write_all(MAGIC_PREFIX)?;
    out.write_all(&[VERSION])?;
    out.write_all(&tree.last_zxid().to_be_bytes())?;
    let sessions: Vec<(i64, &SessionEntry)> = tree.sessions().collect();
    out.write_all(&(sessions.len() as u64).to_be_bytes())?;
    for (id, entry) in sessions {
        out.write_all(&id.to_be_bytes())?;
        out.write_all(&entry.timeout_ms.to_be_bytes())?;
        write_bytes(out, &entry.passwd)?;
        out.write_all(&entry.owner.to_be_bytes())?;
    }
    // ACL lists are shared `Arc`s inside the tree: number each distinct one in first-seen order.
    let mut acl_index: HashMap<*const Vec<Acl>, u32> = HashMap::new();
    let mut acl_table: Vec<&Vec<Acl>> = Vec::new();
    for node in tree.iter_nodes() {
        acl_index.entry(Arc::as_ptr(node.acl)).or_insert_with(|| {
            acl_table.push(node.acl);
            (acl_table.len() - 1) as u32
        });
    }
    out.write_all(&(acl_table.len() as u64).to_be_bytes())?;
    for acl in &acl_table {
        out.write_all(&(acl.len() as u32).to_be_bytes())?;
        for entry in acl.iter() {
            out.write_all(&entry.perms.to_be_bytes())?;
            write_bytes(out, entry.id.scheme.as_bytes())?;
            write_bytes(out, entry.id.id.as_bytes())?;
        }
    }
    out.write_all(&(tree.node_count() as u64).to_be_bytes())?;
    for node in tree.iter_nodes() {
        write_bytes(out, node.path.as_bytes())?;
        match node.data {
            Some(data) => write_bytes(out, data)?,
            None => out.write_all(&NULL_DATA.to_be_bytes())?,
        }
        let index = acl_index[&Arc::as_ptr(node.acl)];
        out.write_all(&index.to_be_bytes())?;
        let s = node.stat;
        for v in [s.czxid, s.mzxid, s.ctime, s.mtime] {
            out.write_all(&v.to_be_bytes())?;
        }
        for v in [s.version, s.cversion, s.aversion] {
            out.write_all(&v.to_be_bytes())?;
        }
        out.write_all(&s.ephemeral_owner.to_be_bytes())?;
        out.write_all(&s.pzxid.to_be_bytes())?;
    }
    Ok(())
}

/// Reads a snapshot stream back into a tree with `config`.
pub fn read_snapshot(input: &mut impl Read, config: TreeConfig) -> Result<DataTree, SnapshotError> {
    let mut magic = [0u8; 8];
    input.read_exact(&mut magic)?;
    let version = magic[7];
    if magic[..7] != MAGIC_PREFIX[..] || !(VERSION_NO_NULL_DATA..=VERSION).contains(&version) {
        return Err(SnapshotError::BadMagic);
    }
    let null_data_marked = version > VERSION_NO_NULL_DATA;
    let session_owners = version > VERSION_NO_SESSION_OWNER;
    let last_zxid = read_i64(input)?;
    let mut builder = TreeBuilder::new(config);
    let sessions = read_u64(input)?;
    for _ in 0..sessions {
        let id = read_i64(input)?;
        let timeout_ms = read_i32(input)?;
        let passwd = Bytes::from(read_bytes(input, "passwd", 1024)?);
        let owner = if session_owners { read_u64(input)? } else { 0 };
        builder.add_session(
            id,
            SessionEntry {
                timeout_ms,
                passwd,
                owner,
            },
        );
    }
    let acl_count = read_u64(input)?;
    let mut acls: Vec<Arc<Vec<Acl>>> = Vec::new();
    for _ in 0..acl_count {
        let entries = read_u32(input)? as usize;
        if entries > MAX_ACL_ENTRIES {
            return Err(SnapshotError::BadLength {
                field: "acl",
                length: entries as u64,
            });
        }
        let mut acl = Vec::with_capacity(entries);
        for _ in 0..entries {
            let perms = read_i32(input)?;
            let scheme = read_string(input)?;
            let id = read_string(input)?;
            acl.push(Acl::new(perms, Id::new(scheme, id)));
        }
        acls.push(Arc::new(acl));
    }
    let nodes = read_u64(input)?;
    builder.reserve(nodes.min(MAX_RESERVED_NODES) as usize);
    // One buffer for every path: the builder copies each into its own shared allocation.
    let mut path_bytes = Vec::new();
    for _ in 0..nodes {
        let length = read_u32(input)? as usize;
        if length > MAX_PATH_BYTES {
            return Err(SnapshotError::BadLength {
                field: "string",
                length: length as u64,
            });
        }
        path_bytes.resize(length, 0);
        input.read_exact(&mut path_bytes)?;
        let path = std::str::from_utf8(&path_bytes).map_err(|_| SnapshotError::Utf8)?;
        let data = read_data(input, null_data_marked)?;
        let index = read_u32(input)?;
        let acl = acls
            .get(index as usize)
            .cloned()
            .ok_or(SnapshotError::UnknownAcl(index))?;
        let stat = PersistedStat {
            czxid: read_i64(input)?,
            mzxid: read_i64(input)?,
            ctime: read_i64(input)?,
            mtime: read_i64(input)?,
            version: read_i32(input)?,
            cversion: read_i32(input)?,
            aversion: read_i32(input)?,
            ephemeral_owner: read_i64(input)?,
            pzxid: read_i64(input)?,
        };
        builder.add_node_shared(path, data, acl, stat)?;
    }
    Ok(builder.finish(last_zxid)?)
}

fn write_bytes(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    out.write_all(&(bytes.len() as u32).to_be_bytes())?;
    out.write_all(bytes)
}

fn read_array<const N: usize>(input: &mut impl Read) -> io::Result<[u8; N]> {
    let mut buf = [0u8; N];
    input.read_exact(&mut buf)?;
    Ok(buf)
}

fn read_i64(input: &mut impl Read) -> io::Result<i64> {
    read_array(input).map(i64::from_be_bytes)
}

fn read_u64(input: &mut impl Read) -> io::Result<u64> {
    read_array(input).map(u64::from_be_bytes)
}

fn read_i32(input: &mut impl Read) -> io::Result<i32> {
    read_array(input).map(i32::from_be_bytes)
}

fn read_u32(input: &mut impl Read) -> io::Result<u32> {
    read_array(input).map(u32::from_be_bytes)
}

fn read_bytes(
    input: &mut impl Read,
    field: &'static str,
    max: usize,
) -> Result<Vec<u8>, SnapshotError> {
    let length = read_u32(input)?;
    read_body(input, length, field, max)
}

/// The `length` bytes that follow a length field.
fn read_body(
    input: &mut impl Read,
    length: u32,
    field: &'static str,
    max: usize,
) -> Result<Vec<u8>, SnapshotError> {
    let length = length as usize;
    if length > max {
        return Err(SnapshotError::BadLength {
            field,
            length: length as u64,
        });
    }
    let mut buf = vec![0u8; length];
    input.read_exact(&mut buf)?;
    Ok(buf)
}

/// A node's data; with `null_marked`, the length [`NULL_DATA`] is null data.
fn read_data(input: &mut impl Read, null_marked: bool) -> Result<Option<Bytes>, SnapshotError> {
    let length = read_u32(input)?;
    if null_marked && length == NULL_DATA {
        return Ok(None);
    }
    read_body(input, length, "data", MAX_DATA_BYTES).map(|b| Some(Bytes::from(b)))
}

fn read_string(input: &mut impl Read) -> Result<String, SnapshotError> {
    String::from_utf8(read_bytes(input, "string", MAX_PATH_BYTES)?).map_err(|_| SnapshotError::Utf8)
}
