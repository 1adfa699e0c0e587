//! A small file replaced atomically, for state such as Raft's vote and term (ZooKeeper keeps its
//! `currentEpoch` and `acceptedEpoch` the same way). Format in `docs/formats/snapshot.md`.

use std::io;
use std::path::{Path, PathBuf};

use crate::codec::{crc, u32_at};
use crate::error::{Corruption, Error, IoContext, Result};
use crate::fs::{parent_dir, read_exact_at, write_all_at, OpenMode, SharedFs};

const MAGIC: [u8; 8] = *b"FKMETAFL";
const VERSION: u32 = 1;
const HEADER_LEN: usize = 24;

/// One meta file: `store` replaces its payload atomically and durably, `load` reads it back.
#[derive(Debug, Clone)]
pub struct MetaFile {
    fs: SharedFs,
    path: PathBuf,
}

impl MetaFile {
    /// A handle on the meta file at `path` (which need not exist yet).
    pub fn new(fs: SharedFs, path: impl Into<PathBuf>) -> MetaFile {
        MetaFile {
            fs,
            path: path.into(),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn temp_path(&self) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(".tmp");
        PathBuf::from(name)
    }

    /// Replaces the payload: write `<path>.tmp`, fsync it, rename it over `<path>`, fsync the
    /// directory. After a crash `load` sees the old payload or this one, never a mix.
    pub fn store(&self, payload: &[u8]) -> Result<()> {
        let len = u32::try_from(payload.len()).map_err(|_| Error::RecordTooLarge {
            len: payload.len(),
            max: u32::MAX,
        })?;
        let mut bytes = Vec::with_capacity(HEADER_LEN + payload.len());
        bytes.extend_from_slice(&MAGIC);
        bytes.extend_from_slice(&VERSION.to_le_bytes());
        bytes.extend_from_slice(&len.to_le_bytes());
        bytes.extend_from_slice(&crc(payload).to_le_bytes());
        bytes.extend_from_slice(&0u32.to_le_bytes());
        bytes.extend_from_slice(payload);

        let tmp = self.temp_path();
        let file = self
            .fs
            .open(&tmp, OpenMode::CreateTruncate)
            .ctx("create", &tmp)?;
        write_all_at(file.as_ref(), &bytes, 0).ctx("write", &tmp)?;
        file.sync_all().ctx("fsync", &tmp)?;
        drop(file);
        self.fs.rename(&tmp, &self.path).ctx("rename", &tmp)?;
        let dir = parent_dir(&self.path);
        self.fs.sync_dir(dir).ctx("fsync directory", dir)
    }

    /// The stored payload, `None` if the file does not exist, [`Error::Corrupt`] if it fails to
    /// verify. A leftover `<path>.tmp` from an interrupted `store` is ignored.
    pub fn load(&self) -> Result<Option<Vec<u8>>> {
        let path = &self.path;
        let file = match self.fs.open(path, OpenMode::Read) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).ctx("open", path),
        };
        let corrupt = |offset, reason| Error::Corrupt {
            path: path.clone(),
            offset,
            reason,
        };
        let file_len = file.file_len().ctx("stat", path)?;
        if file_len < HEADER_LEN as u64 {
            return Err(corrupt(0, Corruption::Truncated));
        }
        let mut header = [0u8; HEADER_LEN];
        read_exact_at(file.as_ref(), &mut header, 0).ctx("read", path)?;
        if header[0..8] != MAGIC {
            return Err(corrupt(0, Corruption::BadMagic));
        }
        let version = u32_at(&header, 8);
        if version != VERSION {
            return Err(corrupt(8, Corruption::UnsupportedVersion(version)));
        }
        let reserved = u32_at(&header, 20);
        if reserved != 0 {
            return Err(corrupt(
                20,
                Corruption::UnknownField {
                    field: "reserved",
                    value: reserved,
                },
            ));
        }
        let len = u64::from(u32_at(&header, 12));
        let present = file_len - HEADER_LEN as u64;
        if len != present {
            return Err(corrupt(
                12,
                Corruption::LengthMismatch {
                    expected: len,
                    found: present,
                },
            ));
        }
        let mut payload = vec![0u8; len as usize];
        read_exact_at(file.as_ref(), &mut payload, HEADER_LEN as u64).ctx("read", path)?;
        if crc(&payload) != u32_at(&header, 16) {
            return Err(corrupt(HEADER_LEN as u64, Corruption::BadChecksum));
        }
        Ok(Some(payload))
    }
}
