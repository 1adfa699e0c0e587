//! The content of a snapshot: the whole tree and session table as one byte stream
//! (`docs/formats/tree-snapshot.md`). The storage layer wraps this stream in a checksummed,
//! compressed file; this module only turns a tree into bytes and back.
//!
//! Layout: header, sessions, an ACL table (each distinct ACL list once, like ZooKeeper's ACL
//! cache), then every znode in path order, so a parent always precedes its children.

use crate::config::TreeConfig;
use crate::node::AclList;
use crate::node::PersistedStat;
use crate::restore::{PreparedNode, RestoreError, TreeBuilder};
use crate::tree::DataTree;
use crate::txn::SessionEntry;
use bytes::Bytes;
use jute::{Acl, Id};
use std::collections::HashMap;
use std::io::{self, BufRead, Read, Write};
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
    let mut acl_index = AclNumbers::default();
    let mut acl_table: Vec<&Vec<Acl>> = Vec::new();
    for node in tree.iter_nodes() {
        acl_index.number(node.acl, || {
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
        // The tree is an immutable clone: the second pass meets only lists the first numbered.
        let index = acl_index
            .get(node.acl)
            .ok_or_else(|| io::Error::other("a znode's ACL list was missed by the ACL table"))?;
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

/// Numbers for the distinct ACL lists of a tree, by identity. Neighbouring znodes almost always
/// share a list, so the last one looked up is checked before the map: hashing a pointer per znode
/// was 2% of the server's CPU under 64x32 1 KB creates, which snapshot a growing tree back to back.
#[derive(Default)]
struct AclNumbers {
    last: Option<(*const Vec<Acl>, u32)>,
    all: HashMap<*const Vec<Acl>, u32>,
}

impl AclNumbers {
    /// The number of `acl`, taken from `new` the first time it is seen.
    fn number(&mut self, acl: &Arc<Vec<Acl>>, new: impl FnOnce() -> u32) -> u32 {
        if let Some(n) = self.get(acl) {
            return n;
        }
        let ptr = Arc::as_ptr(acl);
        let n = new();
        self.all.insert(ptr, n);
        self.last = Some((ptr, n));
        n
    }

    /// The number `acl` was given, if it was.
    fn get(&mut self, acl: &Arc<Vec<Acl>>) -> Option<u32> {
        let ptr = Arc::as_ptr(acl);
        match self.last {
            Some((last, n)) if last == ptr => Some(n),
            _ => {
                let n = *self.all.get(&ptr)?;
                self.last = Some((ptr, n));
                Some(n)
            }
        }
    }
}

/// Reads a snapshot stream back into a tree with `config`.
pub fn read_snapshot(
    input: &mut impl BufRead,
    config: TreeConfig,
) -> Result<DataTree, SnapshotError> {
    let head = SnapshotHead::read(input)?;
    let mut path = Vec::new();
    let nodes = head.node_reader();
    let count = head.node_count();
    let mut builder = head.into_builder(config);
    for _ in 0..count {
        builder.add(nodes.read(input, &mut path)?)?;
    }
    builder.finish()
}

/// What a snapshot stream holds before its znodes: read first, it says how to read the rest.
#[derive(Debug)]
pub struct SnapshotHead {
    last_zxid: i64,
    null_data_marked: bool,
    sessions: Vec<(i64, SessionEntry)>,
    acls: Vec<Arc<Vec<Acl>>>,
    node_count: u64,
}

impl SnapshotHead {
    /// Reads the header, the session table and the ACL table.
    pub fn read(input: &mut impl Read) -> Result<SnapshotHead, SnapshotError> {
        let mut magic = [0u8; 8];
        input.read_exact(&mut magic)?;
        let version = magic[7];
        if magic[..7] != MAGIC_PREFIX[..] || !(VERSION_NO_NULL_DATA..=VERSION).contains(&version) {
            return Err(SnapshotError::BadMagic);
        }
        let session_owners = version > VERSION_NO_SESSION_OWNER;
        let last_zxid = read_i64(input)?;
        let session_count = read_u64(input)?;
        let mut sessions = Vec::new();
        for _ in 0..session_count {
            let id = read_i64(input)?;
            let timeout_ms = read_i32(input)?;
            let passwd = Bytes::from(read_bytes(input, "passwd", 1024)?);
            let owner = if session_owners { read_u64(input)? } else { 0 };
            sessions.push((
                id,
                SessionEntry {
                    timeout_ms,
                    passwd,
                    owner,
                },
            ));
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
        let node_count = read_u64(input)?;
        Ok(SnapshotHead {
            last_zxid,
            null_data_marked: version > VERSION_NO_NULL_DATA,
            sessions,
            acls,
            node_count,
        })
    }

    /// How many znodes follow the head.
    pub fn node_count(&self) -> u64 {
        self.node_count
    }

    /// Reads the znodes that follow; it can run on another thread than the builder.
    pub fn node_reader(&self) -> NodeReader {
        NodeReader {
            null_data_marked: self.null_data_marked,
            acls: self.acls.clone(),
        }
    }

    /// A builder for the tree, given the znodes in stream order.
    pub fn into_builder(self, config: TreeConfig) -> SnapshotBuilder {
        let mut builder = TreeBuilder::new(config);
        for (id, entry) in self.sessions {
            builder.add_session(id, entry);
        }
        builder.reserve(self.node_count.min(MAX_RESERVED_NODES) as usize);
        SnapshotBuilder {
            builder,
            last_zxid: self.last_zxid,
        }
    }
}

/// One znode of a snapshot: parsed, not yet part of a tree.
///
/// Allocating the node itself ([`SnapshotNode::prepare`]) can happen on the parsing thread or be
/// left to the builder, so a loader on two cores can split that work between them.
#[derive(Debug)]
pub struct SnapshotNode(Parsed);

#[derive(Debug)]
enum Parsed {
    /// Path and data allocated, the node not yet.
    Parts {
        path: Arc<str>,
        data: Option<Bytes>,
        acl: AclList,
        stat: PersistedStat,
    },
    /// Allocated and checked.
    Prepared(PreparedNode),
}

impl SnapshotNode {
    /// Checks the path and allocates the node, unless that was done already.
    pub fn prepared(self) -> Result<SnapshotNode, SnapshotError> {
        Ok(SnapshotNode(Parsed::Prepared(self.into_prepared()?)))
    }

    fn into_prepared(self) -> Result<PreparedNode, SnapshotError> {
        match self.0 {
            Parsed::Parts {
                path,
                data,
                acl,
                stat,
            } => Ok(PreparedNode::new(path, data, acl, stat)?),
            Parsed::Prepared(prepared) => Ok(prepared),
        }
    }
}

/// Parses the znodes of a snapshot stream, one at a time.
#[derive(Debug, Clone)]
pub struct NodeReader {
    null_data_marked: bool,
    acls: Vec<AclList>,
}

impl NodeReader {
    /// Reads the next znode; `scratch` is reused from call to call for a path that straddles
    /// the end of `input`'s buffer.
    pub fn read(
        &self,
        input: &mut impl BufRead,
        scratch: &mut Vec<u8>,
    ) -> Result<SnapshotNode, SnapshotError> {
        let length = read_u32(input)? as usize;
        if length > MAX_PATH_BYTES {
            return Err(SnapshotError::BadLength {
                field: "string",
                length: length as u64,
            });
        }
        let path = with_next(input, length, scratch, |bytes| {
            std::str::from_utf8(bytes).map(Arc::<str>::from)
        })?
        .map_err(|_| SnapshotError::Utf8)?;
        let data = self.read_data(input)?;
        // One read for the ACL index and the fixed-size stat that follows it.
        let fixed: [u8; 4 + 4 * 8 + 3 * 4 + 2 * 8] = read_array(input)?;
        let bytes_at = |at: usize| fixed[at..at + 8].try_into().unwrap_or_default();
        let i64_at = |at: usize| i64::from_be_bytes(bytes_at(at));
        let u32_at = |at: usize| fixed[at..at + 4].try_into().unwrap_or_default();
        let i32_at = |at: usize| i32::from_be_bytes(u32_at(at));
        let acl = u32::from_be_bytes(u32_at(0));
        let acl = self
            .acls
            .get(acl as usize)
            .cloned()
            .ok_or(SnapshotError::UnknownAcl(acl))?;
        let stat = PersistedStat {
            czxid: i64_at(4),
            mzxid: i64_at(12),
            ctime: i64_at(20),
            mtime: i64_at(28),
            version: i32_at(36),
            cversion: i32_at(40),
            aversion: i32_at(44),
            ephemeral_owner: i64_at(48),
            pzxid: i64_at(56),
        };
        Ok(SnapshotNode(Parsed::Parts {
            path,
            data,
            acl,
            stat,
        }))
    }

    /// A node's data: copied straight out of `input`'s buffer when it is all there, so it is
    /// neither zeroed first nor copied twice.
    fn read_data(&self, input: &mut impl BufRead) -> Result<Option<Bytes>, SnapshotError> {
        let length = read_u32(input)?;
        if self.null_data_marked && length == NULL_DATA {
            return Ok(None);
        }
        if length as usize > MAX_DATA_BYTES {
            return Err(SnapshotError::BadLength {
                field: "data",
                length: u64::from(length),
            });
        }
        match take_buffered(input, length as usize, Bytes::copy_from_slice)? {
            Some(data) => Ok(Some(data)),
            None => read_body(input, length, "data", MAX_DATA_BYTES).map(|b| Some(Bytes::from(b))),
        }
    }
}

/// Builds the tree from a snapshot's znodes in stream order.
#[derive(Debug)]
pub struct SnapshotBuilder {
    builder: TreeBuilder,
    last_zxid: i64,
}

impl SnapshotBuilder {
    /// Adds the next znode.
    pub fn add(&mut self, node: SnapshotNode) -> Result<(), SnapshotError> {
        Ok(self.builder.add_prepared(node.into_prepared()?)?)
    }

    /// The tree, once every znode was added.
    pub fn finish(self) -> Result<DataTree, SnapshotError> {
        Ok(self.builder.finish(self.last_zxid)?)
    }
}

/// Runs `parse` over the next `length` bytes of `input`: in place when they are buffered, else
/// copied into `scratch`.
fn with_next<T>(
    input: &mut impl BufRead,
    length: usize,
    scratch: &mut Vec<u8>,
    parse: impl Fn(&[u8]) -> T,
) -> io::Result<T> {
    if let Some(parsed) = take_buffered(input, length, &parse)? {
        return Ok(parsed);
    }
    scratch.resize(length, 0);
    input.read_exact(scratch)?;
    Ok(parse(scratch))
}

/// Runs `parse` over the next `length` bytes and consumes them, if `input` holds them all in its
/// buffer; `None` (and nothing consumed) otherwise.
fn take_buffered<T>(
    input: &mut impl BufRead,
    length: usize,
    parse: impl FnOnce(&[u8]) -> T,
) -> io::Result<Option<T>> {
    let Some(bytes) = input.fill_buf()?.get(..length) else {
        return Ok(None);
    };
    let parsed = parse(bytes);
    input.consume(length);
    Ok(Some(parsed))
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

fn read_string(input: &mut impl Read) -> Result<String, SnapshotError> {
    String::from_utf8(read_bytes(input, "string", MAX_PATH_BYTES)?).map_err(|_| SnapshotError::Utf8)
}
