//! Streaming snapshot reader that verifies the checksum when the stream ends.

use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::codec::crc_append;
use crate::error::{Corruption, Error, IoContext, Result};
use crate::fs::{read_exact_at, FileSystem, OpenMode, StdFs, StorageFile};

use super::format::{
    decode_header, decode_trailer, parse_snapshot_name, Trailer, HEADER_LEN, TRAILER_LEN,
};

/// The compressed body: the bytes between header and trailer.
struct BodySource {
    file: Box<dyn StorageFile>,
    pos: u64,
    end: u64,
    crc: u32,
    /// Set when the file itself failed, to tell I/O errors from corrupt compressed data.
    io_failed: bool,
}

impl Read for BodySource {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = (buf.len() as u64).min(self.end - self.pos) as usize;
        if want == 0 {
            return Ok(0);
        }
        match self.file.read_at(&mut buf[..want], self.pos) {
            Ok(0) => {
                self.io_failed = true;
                Err(io::ErrorKind::UnexpectedEof.into())
            }
            Ok(n) => {
                self.crc = crc_append(self.crc, &buf[..n]);
                self.pos += n as u64;
                Ok(n)
            }
            Err(e) => {
                self.io_failed = true;
                Err(e)
            }
        }
    }
}

/// Reads a snapshot back as a stream of uncompressed bytes (use [`SnapshotReader::read_chunk`], or
/// the `io::Read` impl whose errors wrap this crate's [`Error`]).
///
/// Header and trailer are checked by `open`; the data checksum only when the stream ends, so
/// **do not use decoded state until a read has returned 0** (end of stream) without error.
pub struct SnapshotReader {
    path: PathBuf,
    index: u64,
    trailer: Trailer,
    decoder: zstd::stream::read::Decoder<'static, BufReader<BodySource>>,
    crc: u32,
    len: u64,
    verified: bool,
    failed: bool,
}

impl std::fmt::Debug for SnapshotReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotReader")
            .field("path", &self.path)
            .field("index", &self.index)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl SnapshotReader {
    /// Opens the snapshot at `path` on the real file system.
    pub fn open(path: impl AsRef<Path>) -> Result<SnapshotReader> {
        SnapshotReader::open_with(&StdFs, path.as_ref())
    }

    /// Opens the snapshot at `path` through `fs`, checking header and trailer.
    pub fn open_with(fs: &dyn FileSystem, path: &Path) -> Result<SnapshotReader> {
        let corrupt = |offset, reason| Error::Corrupt {
            path: path.to_path_buf(),
            offset,
            reason,
        };
        let file = fs.open(path, OpenMode::Read).ctx("open", path)?;
        let file_len = file.file_len().ctx("stat", path)?;
        if file_len < HEADER_LEN + TRAILER_LEN {
            return Err(corrupt(0, Corruption::Truncated));
        }
        let mut header = [0u8; HEADER_LEN as usize];
        read_exact_at(file.as_ref(), &mut header, 0).ctx("read", path)?;
        let index = decode_header(&header).map_err(|(at, why)| corrupt(at, why))?;
        let name_index = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(parse_snapshot_name);
        if let Some((name, _)) = name_index {
            if name != index {
                return Err(corrupt(
                    16,
                    Corruption::NameMismatch {
                        name,
                        header: index,
                    },
                ));
            }
        }
        let trailer_at = file_len - TRAILER_LEN;
        let mut raw = [0u8; TRAILER_LEN as usize];
        read_exact_at(file.as_ref(), &mut raw, trailer_at).ctx("read", path)?;
        let trailer = decode_trailer(&raw).map_err(|(at, why)| corrupt(trailer_at + at, why))?;
        let body = BodySource {
            file,
            pos: HEADER_LEN,
            end: trailer_at,
            crc: 0,
            io_failed: false,
        };
        let decoder = zstd::stream::read::Decoder::new(body).ctx("start decompression", path)?;
        Ok(SnapshotReader {
            path: path.to_path_buf(),
            index,
            trailer,
            decoder,
            crc: 0,
            len: 0,
            verified: false,
            failed: false,
        })
    }

    /// The log index the snapshot was taken at.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Uncompressed length recorded in the trailer (not yet verified).
    pub fn expected_len(&self) -> u64 {
        self.trailer.len
    }

    /// Reads uncompressed bytes into `buf`. `Ok(0)` (for a non-empty `buf`) means the stream
    /// ended and its length and CRC32C matched the trailer; a mismatch is
    /// [`Error::SnapshotChecksum`]. After an error every call fails.
    pub fn read_chunk(&mut self, buf: &mut [u8]) -> Result<usize> {
        if self.failed {
            return Err(self.corrupt("an earlier read failed".to_owned()));
        }
        if buf.is_empty() || self.verified {
            return Ok(0);
        }
        let result = self.read_inner(buf);
        self.failed = result.is_err();
        result
    }

    fn read_inner(&mut self, buf: &mut [u8]) -> Result<usize> {
        let n = match self.decoder.read(buf) {
            Ok(n) => n,
            Err(e) if self.decoder.get_ref().get_ref().io_failed => {
                return Err(e).ctx("read", &self.path)
            }
            Err(e) => return Err(self.corrupt(e.to_string())),
        };
        self.crc = crc_append(self.crc, &buf[..n]);
        self.len += n as u64;
        // Longer than announced is already wrong; no need to decompress the rest to know.
        if n == 0 || self.len > self.trailer.len {
            if self.len != self.trailer.len || self.crc != self.trailer.crc {
                return Err(Error::SnapshotChecksum {
                    path: self.path.clone(),
                    expected_len: self.trailer.len,
                    expected_crc: self.trailer.crc,
                    actual_len: self.len,
                    actual_crc: self.crc,
                });
            }
            let body = self.decoder.get_ref().get_ref();
            if body.pos != body.end || body.crc != self.trailer.body_crc {
                return Err(self.corrupt("compressed body checksum mismatch".to_owned()));
            }
            self.verified = true;
        }
        Ok(n)
    }

    fn corrupt(&self, reason: String) -> Error {
        Error::SnapshotCorrupt {
            path: self.path.clone(),
            offset: self.decoder.get_ref().get_ref().pos,
            reason,
        }
    }

    /// Reads the whole stream into memory and verifies it.
    pub fn read_all(mut self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(self.trailer.len.min(1 << 30) as usize);
        let mut chunk = vec![0u8; 64 << 10];
        loop {
            let n = self.read_chunk(&mut chunk)?;
            if n == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&chunk[..n]);
        }
    }
}

impl Read for SnapshotReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_chunk(buf).map_err(|e| {
            let kind = match &e {
                Error::Io { source, .. } => source.kind(),
                _ => io::ErrorKind::InvalidData,
            };
            io::Error::new(kind, e)
        })
    }
}
