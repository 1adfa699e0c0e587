//! Raft snapshots as files in a [`SnapshotStore`]: the snapshot's Raft metadata (last log id and
//! membership) framed in front of the state machine's own bytes, so one checksummed file holds
//! both and a half-written one is never taken for a snapshot.

use super::types::SnapshotMeta;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use storage::fs::FileSystem;
use storage::{SnapshotInfo, SnapshotReader, SnapshotStore, SnapshotWriter};

/// How many snapshot files are kept.
pub const KEEP: usize = 3;

/// A finished snapshot file: what Raft stores, sends and installs.
#[derive(Debug, Clone)]
pub struct SnapshotFile {
    pub path: PathBuf,
    pub index: u64,
}

fn other(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

/// Keeps the storage error itself inside the `io::Error`, so that damage can be told from other
/// failures (`recovery::is_damage`).
fn kept(e: storage::Error) -> io::Error {
    io::Error::other(e)
}

/// `io::Write` into a snapshot being written.
pub struct FileSink(pub SnapshotWriter);

impl Write for FileSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf).map(|()| buf.len()).map_err(kept)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `io::Read` over a snapshot's content; the end of the stream means its checksum matched.
pub struct FileSource(pub SnapshotReader);

impl Read for FileSource {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read_chunk(buf).map_err(kept)
    }
}

/// The index a snapshot file is named by.
pub fn file_index(meta: &SnapshotMeta) -> u64 {
    meta.last_log_id.as_ref().map_or(0, |id| id.index)
}

/// Writes the metadata frame at the start of a snapshot's content.
pub fn write_header(out: &mut impl Write, meta: &SnapshotMeta) -> io::Result<()> {
    let bytes = postcard::to_stdvec(meta).map_err(other)?;
    out.write_all(&(bytes.len() as u32).to_be_bytes())?;
    out.write_all(&bytes)
}

/// Reads the metadata frame written by [`write_header`].
pub fn read_header(input: &mut impl Read) -> io::Result<SnapshotMeta> {
    let mut len = [0u8; 4];
    input.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > 1 << 20 {
        return Err(other(format!(
            "snapshot header of {len} bytes is implausible"
        )));
    }
    let mut bytes = vec![0u8; len];
    input.read_exact(&mut bytes)?;
    postcard::from_bytes(&bytes).map_err(|e| other(format!("snapshot header: {e}")))
}

/// Writes a snapshot file: header, then the state `write_state` produces; keeps the newest few.
pub fn write(
    store: &SnapshotStore,
    meta: &SnapshotMeta,
    write_state: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<SnapshotFile> {
    let writer = store.create(file_index(meta)).map_err(kept)?;
    let mut sink = io::BufWriter::with_capacity(256 * 1024, FileSink(writer));
    write_header(&mut sink, meta)?;
    write_state(&mut sink)?;
    let writer = sink.into_inner().map_err(|e| other(e.error()))?.0;
    let info = writer.finish().map_err(kept)?;
    store.retain(KEEP).map_err(kept)?;
    Ok(SnapshotFile {
        path: info.path,
        index: info.index,
    })
}

/// Opens a snapshot file in `fs` and reads its header; the reader is left at the start of the
/// state.
pub fn open(
    fs: &dyn FileSystem,
    path: &std::path::Path,
) -> io::Result<(SnapshotMeta, io::BufReader<FileSource>)> {
    let reader = SnapshotReader::open_with(fs, path).map_err(kept)?;
    let mut input = io::BufReader::with_capacity(256 * 1024, FileSource(reader));
    let meta = read_header(&mut input)?;
    Ok((meta, input))
}

/// The newest snapshot in the store, if any.
pub fn latest(store: &SnapshotStore) -> io::Result<Option<SnapshotInfo>> {
    store.latest().map_err(kept)
}
