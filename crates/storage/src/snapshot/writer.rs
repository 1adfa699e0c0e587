//! Streaming snapshot writer: header, zstd body, trailer, fsync, rename, directory fsync.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::codec::crc_append;
use crate::error::{Error, IoContext, Result};
use crate::fs::{write_all_at, OpenMode, SharedFs, StorageFile};

use super::format::{encode_header, encode_trailer, Trailer, HEADER_LEN};
use super::SnapshotInfo;

/// The compressed bytes go to the temp file at increasing offsets, checksummed on the way.
struct FileSink {
    file: Box<dyn StorageFile>,
    pos: u64,
    crc: u32,
}

impl Write for FileSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write_at(buf, self.pos)?;
        self.crc = crc_append(self.crc, &buf[..n]);
        self.pos += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes one snapshot; made by [`super::SnapshotStore::create`]. Feed it with
/// [`SnapshotWriter::write`] (or as an `io::Write`), then call [`SnapshotWriter::finish`].
/// Dropped without `finish`, it deletes its temp file and no snapshot appears.
pub struct SnapshotWriter {
    encoder: Option<zstd::stream::write::Encoder<'static, FileSink>>,
    fs: SharedFs,
    dir: PathBuf,
    tmp: PathBuf,
    path: PathBuf,
    index: u64,
    crc: u32,
    len: u64,
}

impl std::fmt::Debug for SnapshotWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotWriter")
            .field("tmp", &self.tmp)
            .field("index", &self.index)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl SnapshotWriter {
    pub(super) fn create(
        fs: SharedFs,
        dir: &Path,
        tmp: PathBuf,
        path: PathBuf,
        index: u64,
        level: i32,
    ) -> Result<SnapshotWriter> {
        let file = fs
            .open(&tmp, OpenMode::CreateTruncate)
            .ctx("create", &tmp)?;
        write_all_at(file.as_ref(), &encode_header(index), 0).ctx("write", &tmp)?;
        let sink = FileSink {
            file,
            pos: HEADER_LEN,
            crc: 0,
        };
        // No zstd content checksum: the trailer's CRC32C covers the same uncompressed bytes, and
        // zstd's XXH64 over them cost 2% of the server's CPU under 64x32 1 KB creates.
        let encoder =
            zstd::stream::write::Encoder::new(sink, level).ctx("start compression", &tmp)?;
        Ok(SnapshotWriter {
            encoder: Some(encoder),
            fs,
            dir: dir.to_path_buf(),
            tmp,
            path,
            index,
            crc: 0,
            len: 0,
        })
    }

    /// The index this snapshot is taken at.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// Uncompressed bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.len
    }

    /// Appends a chunk of the uncompressed stream.
    pub fn write(&mut self, chunk: &[u8]) -> Result<()> {
        let Some(encoder) = self.encoder.as_mut() else {
            return Err(finished(&self.tmp));
        };
        encoder.write_all(chunk).ctx("write", &self.tmp)?;
        self.crc = crc_append(self.crc, chunk);
        self.len += chunk.len() as u64;
        Ok(())
    }

    /// Ends the stream, writes the trailer, fsyncs, renames the file to `snapshot.<index>` and
    /// fsyncs the directory. The snapshot exists (and survives a crash) once this returns `Ok`.
    pub fn finish(mut self) -> Result<SnapshotInfo> {
        let Some(encoder) = self.encoder.take() else {
            return Err(finished(&self.tmp));
        };
        let result = self.seal(encoder);
        if result.is_err() {
            if let Err(e) = self.fs.remove_file(&self.tmp) {
                tracing::warn!(path = %self.tmp.display(), error = %e, "could not remove failed snapshot");
            }
        }
        result
    }

    fn seal(
        &self,
        encoder: zstd::stream::write::Encoder<'static, FileSink>,
    ) -> Result<SnapshotInfo> {
        let sink = encoder.finish().ctx("finish compression", &self.tmp)?;
        let trailer = encode_trailer(Trailer {
            len: self.len,
            crc: self.crc,
            body_crc: sink.crc,
        });
        write_all_at(sink.file.as_ref(), &trailer, sink.pos).ctx("write", &self.tmp)?;
        sink.file.sync_all().ctx("fsync", &self.tmp)?;
        drop(sink);
        self.fs
            .rename(&self.tmp, &self.path)
            .ctx("rename", &self.tmp)?;
        self.fs
            .sync_dir(&self.dir)
            .ctx("fsync directory", &self.dir)?;
        tracing::info!(path = %self.path.display(), bytes = self.len, "snapshot written");
        Ok(SnapshotInfo {
            index: self.index,
            path: self.path.clone(),
        })
    }
}

fn finished(tmp: &Path) -> Error {
    Error::Io {
        op: "write",
        path: tmp.to_path_buf(),
        source: io::Error::other("snapshot writer already finished"),
    }
}

impl Write for SnapshotWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        SnapshotWriter::write(self, buf).map_err(io::Error::other)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for SnapshotWriter {
    fn drop(&mut self) {
        if let Some(encoder) = self.encoder.take() {
            drop(encoder);
            if let Err(e) = self.fs.remove_file(&self.tmp) {
                tracing::warn!(path = %self.tmp.display(), error = %e, "could not remove abandoned snapshot");
            }
        }
    }
}
