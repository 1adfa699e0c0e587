//! A file system seam for the storage crate that never changes the disk.
//!
//! `Wal::open` repairs what a crash leaves behind (it cuts a torn tail, deletes leftover temp
//! files) and `SnapshotStore::open` deletes unfinished snapshots. On a live server's directory that
//! would destroy the record being written or the snapshot being taken, so `inspect` hands the
//! storage crate this overlay instead: repairs happen only in its view, files are opened read-only,
//! and every byte read moves the progress bar.

use indicatif::ProgressBar;
use std::collections::BTreeSet;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use storage::fs::{FileSystem, OpenMode, StdFs, StorageFile};

fn refused(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!("inspect never writes ({what} refused)"),
    )
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded values are plain sets and numbers, consistent after every critical section.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The overlay. `progress` counts every byte read through it.
#[derive(Debug)]
pub struct ReadOnlyFs {
    /// Files "removed" by the storage crate's clean-up: hidden from listings, still on disk.
    hidden: Mutex<BTreeSet<PathBuf>>,
    progress: ProgressBar,
}

impl ReadOnlyFs {
    pub fn new(progress: ProgressBar) -> Self {
        Self {
            hidden: Mutex::new(BTreeSet::new()),
            progress,
        }
    }
}

impl FileSystem for ReadOnlyFs {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Box<dyn StorageFile>> {
        if mode == OpenMode::CreateTruncate {
            return Err(refused("create"));
        }
        if lock(&self.hidden).contains(path) {
            return Err(io::ErrorKind::NotFound.into());
        }
        Ok(Box::new(ReadOnlyFile {
            file: File::open(path)?,
            visible_len: Mutex::new(None),
            progress: self.progress.clone(),
        }))
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        if path.is_dir() {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{} does not exist", path.display()),
            ))
        }
    }

    fn list_dir(&self, dir: &Path) -> io::Result<Vec<String>> {
        let hidden = lock(&self.hidden);
        let mut names = StdFs.list_dir(dir)?;
        names.retain(|name| !hidden.contains(&dir.join(name)));
        Ok(names)
    }

    fn rename(&self, _from: &Path, _to: &Path) -> io::Result<()> {
        Err(refused("rename"))
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        lock(&self.hidden).insert(path.to_path_buf());
        Ok(())
    }

    fn sync_dir(&self, _dir: &Path) -> io::Result<()> {
        Ok(())
    }
}

/// A file opened read-only; a truncation only shortens what this view shows.
#[derive(Debug)]
struct ReadOnlyFile {
    file: File,
    visible_len: Mutex<Option<u64>>,
    progress: ProgressBar,
}

impl StorageFile for ReadOnlyFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let want = match *lock(&self.visible_len) {
            Some(len) if offset >= len => return Ok(0),
            Some(len) => buf.len().min((len - offset) as usize),
            None => buf.len(),
        };
        let n = self.file.read_at(&mut buf[..want], offset)?;
        self.progress.inc(n as u64);
        Ok(n)
    }

    fn write_at(&self, _buf: &[u8], _offset: u64) -> io::Result<usize> {
        Err(refused("write"))
    }

    fn file_len(&self) -> io::Result<u64> {
        let real = self.file.metadata()?.len();
        Ok(lock(&self.visible_len).map_or(real, |len| len.min(real)))
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        if len > self.file_len()? {
            return Err(refused("extend"));
        }
        *lock(&self.visible_len) = Some(len);
        Ok(())
    }

    fn allocate(&self, _len: u64) -> io::Result<()> {
        Err(refused("allocate"))
    }

    fn sync_data(&self) -> io::Result<()> {
        Ok(())
    }

    fn sync_all(&self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_and_removal_stay_in_the_view() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123456789").unwrap();
        let fs = ReadOnlyFs::new(ProgressBar::hidden());
        let file = fs.open(&path, OpenMode::ReadWrite).unwrap();
        file.set_len(4).unwrap();
        assert_eq!(file.file_len().unwrap(), 4);
        let mut buf = [0u8; 10];
        assert_eq!(file.read_at(&mut buf, 0).unwrap(), 4);
        assert_eq!(file.read_at(&mut buf, 4).unwrap(), 0);
        assert!(file.write_at(b"x", 0).is_err());
        assert!(file.set_len(20).is_err());
        fs.remove_file(&path).unwrap();
        assert!(fs.list_dir(dir.path()).unwrap().is_empty());
        assert_eq!(std::fs::read(&path).unwrap(), b"0123456789");
        assert!(fs
            .open(&dir.path().join("g"), OpenMode::CreateTruncate)
            .is_err());
    }
}
