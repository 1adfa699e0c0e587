//! An in-memory file system that knows what a power failure would keep.
//!
//! Every file keeps the bytes that were made durable by its last `sync_data`/`sync_all` plus the list
//! of writes and truncations since. Every directory keeps the names made durable by its last
//! `sync_dir` plus the creations, renames and removals since. [`MemFs::crash`] then decides what
//! survives: nothing unsynced, or (seeded) an in-order prefix of each file's and each directory's
//! pending operations with the last write possibly cut short — the torn-write model the WAL's
//! recovery is built for.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{parent_dir, FileSystem, OpenMode, StorageFile};

/// What a [`MemFs::crash`] keeps of the data that was not synced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crash {
    /// Only synced data and names survive.
    LoseUnsynced,
    /// Each file and directory keeps a seeded random prefix of its unsynced operations, the last
    /// kept write possibly torn (only its first bytes land).
    Torn {
        /// Seed for the choices; the same seed on the same history gives the same outcome.
        seed: u64,
    },
}

/// In-memory [`FileSystem`] for tests and deterministic simulation. Clones share the same files.
#[derive(Debug, Clone, Default)]
pub struct MemFs {
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    /// Bumped by every crash; handles from before a crash stop working, like a rebooted process's.
    generation: u64,
    inodes: Vec<Inode>,
    names: BTreeMap<PathBuf, usize>,
    durable_names: BTreeMap<PathBuf, usize>,
    dir_ops: Vec<DirOp>,
    dirs: BTreeSet<PathBuf>,
    /// `Some(n)`: the next `n` syncs succeed, every one after fails.
    syncs_before_failure: Option<u64>,
    fail_writes: bool,
    file_syncs: u64,
    dir_syncs: u64,
}

impl State {
    /// Whether this sync is one that must fail; counts it down otherwise.
    fn sync_fails(&mut self) -> bool {
        match &mut self.syncs_before_failure {
            Some(0) => true,
            Some(n) => {
                *n -= 1;
                false
            }
            None => false,
        }
    }
}

#[derive(Debug, Default)]
struct Inode {
    data: Vec<u8>,
    durable: Vec<u8>,
    pending: Vec<FileOp>,
}

#[derive(Debug)]
enum FileOp {
    Write { offset: u64, bytes: Vec<u8> },
    SetLen(u64),
}

#[derive(Debug)]
enum DirOp {
    Link { path: PathBuf, inode: usize },
    Unlink { path: PathBuf },
    Rename { from: PathBuf, to: PathBuf },
}

impl DirOp {
    fn dir(&self) -> &Path {
        match self {
            DirOp::Link { path, .. } | DirOp::Unlink { path } => parent_dir(path),
            DirOp::Rename { to, .. } => parent_dir(to),
        }
    }

    fn apply(&self, names: &mut BTreeMap<PathBuf, usize>) {
        match self {
            DirOp::Link { path, inode } => {
                names.insert(path.clone(), *inode);
            }
            DirOp::Unlink { path } => {
                names.remove(path);
            }
            DirOp::Rename { from, to } => {
                if let Some(inode) = names.remove(from) {
                    names.insert(to.clone(), inode);
                }
            }
        }
    }
}

impl FileOp {
    fn apply(&self, data: &mut Vec<u8>) {
        match self {
            FileOp::Write { offset, bytes } => write_into(data, *offset, bytes),
            FileOp::SetLen(len) => data.resize(to_usize(*len), 0),
        }
    }
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

fn write_into(data: &mut Vec<u8>, offset: u64, bytes: &[u8]) {
    let start = to_usize(offset);
    let end = start + bytes.len();
    if data.len() < end {
        data.resize(end, 0);
    }
    data[start..end].copy_from_slice(bytes);
}

/// splitmix64: tiny, seedable, good enough to pick crash outcomes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..=max`.
    fn up_to(&mut self, max: usize) -> usize {
        (self.next() % (max as u64 + 1)) as usize
    }
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{} not found", path.display()),
    )
}

impl MemFs {
    /// An empty file system.
    pub fn new() -> MemFs {
        MemFs::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind, still usable by the test.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Simulates a power failure: what was not synced is lost, or partly kept (see [`Crash`]).
    /// Open handles stop working.
    pub fn crash(&self, mode: Crash) {
        let mut st = self.lock();
        let mut rng = Rng(match mode {
            Crash::LoseUnsynced => 0,
            Crash::Torn { seed } => seed,
        });
        let torn = matches!(mode, Crash::Torn { .. });
        for inode in &mut st.inodes {
            let pending = std::mem::take(&mut inode.pending);
            let keep = if torn { rng.up_to(pending.len()) } else { 0 };
            for op in &pending[..keep] {
                op.apply(&mut inode.durable);
            }
            if torn && rng.next() & 1 == 0 {
                if let Some(FileOp::Write { offset, bytes }) = pending.get(keep) {
                    let cut = rng.up_to(bytes.len());
                    write_into(&mut inode.durable, *offset, &bytes[..cut]);
                }
            }
            inode.data = inode.durable.clone();
        }
        let ops = std::mem::take(&mut st.dir_ops);
        let keep = if torn { rng.up_to(ops.len()) } else { 0 };
        let mut names = std::mem::take(&mut st.durable_names);
        for op in &ops[..keep] {
            op.apply(&mut names);
        }
        st.names = names.clone();
        st.durable_names = names;
        st.generation += 1;
    }

    /// Makes every later `sync_data`, `sync_all` and `sync_dir` fail (or succeed again).
    pub fn set_fail_syncs(&self, fail: bool) {
        self.lock().syncs_before_failure = fail.then_some(0);
    }

    /// Lets the next `n` syncs (file or directory) succeed and makes every later one fail, to
    /// stop an operation at each of its sync points in turn.
    pub fn fail_syncs_after(&self, n: u64) {
        self.lock().syncs_before_failure = Some(n);
    }

    /// Makes every later `write_at` fail (or succeed again).
    pub fn set_fail_writes(&self, fail: bool) {
        self.lock().fail_writes = fail;
    }

    /// Number of successful `sync_data`/`sync_all` calls so far.
    pub fn file_syncs(&self) -> u64 {
        self.lock().file_syncs
    }

    /// Number of successful `sync_dir` calls so far.
    pub fn dir_syncs(&self) -> u64 {
        self.lock().dir_syncs
    }

    /// The current contents of `path` (as a reader would see them now, synced or not).
    pub fn file_bytes(&self, path: &Path) -> Option<Vec<u8>> {
        let st = self.lock();
        st.names.get(path).map(|&i| st.inodes[i].data.clone())
    }

    /// Creates or replaces `path` with `bytes`, already durable (name and data). For setting up
    /// test cases; the parent directory is created if missing.
    pub fn put_durable_file(&self, path: &Path, bytes: &[u8]) {
        let mut st = self.lock();
        add_dirs(&mut st.dirs, parent_dir(path));
        let inode = st.inodes.len();
        st.inodes.push(Inode {
            data: bytes.to_vec(),
            durable: bytes.to_vec(),
            pending: Vec::new(),
        });
        st.names.insert(path.to_path_buf(), inode);
        st.durable_names.insert(path.to_path_buf(), inode);
    }
}

fn add_dirs(dirs: &mut BTreeSet<PathBuf>, path: &Path) {
    for p in path.ancestors() {
        if !p.as_os_str().is_empty() {
            dirs.insert(p.to_path_buf());
        }
    }
}

impl FileSystem for MemFs {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Box<dyn StorageFile>> {
        let mut st = self.lock();
        let inode = match (mode, st.names.get(path).copied()) {
            (OpenMode::Read | OpenMode::ReadWrite, Some(i)) => i,
            (OpenMode::Read | OpenMode::ReadWrite, None) => return Err(not_found(path)),
            (OpenMode::CreateTruncate, Some(i)) => {
                let inode = &mut st.inodes[i];
                inode.data.clear();
                inode.pending.push(FileOp::SetLen(0));
                i
            }
            (OpenMode::CreateTruncate, None) => {
                if !st.dirs.contains(parent_dir(path)) {
                    return Err(not_found(parent_dir(path)));
                }
                let i = st.inodes.len();
                st.inodes.push(Inode::default());
                st.names.insert(path.to_path_buf(), i);
                st.dir_ops.push(DirOp::Link {
                    path: path.to_path_buf(),
                    inode: i,
                });
                i
            }
        };
        Ok(Box::new(MemFile {
            state: Arc::clone(&self.state),
            inode,
            generation: st.generation,
            writable: mode != OpenMode::Read,
        }))
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        add_dirs(&mut self.lock().dirs, path);
        Ok(())
    }

    fn list_dir(&self, dir: &Path) -> io::Result<Vec<String>> {
        let st = self.lock();
        if !st.dirs.contains(dir) {
            return Err(not_found(dir));
        }
        Ok(st
            .names
            .keys()
            .filter(|p| parent_dir(p) == dir)
            .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
            .collect())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut st = self.lock();
        let inode = st.names.remove(from).ok_or_else(|| not_found(from))?;
        st.names.insert(to.to_path_buf(), inode);
        st.dir_ops.push(DirOp::Rename {
            from: from.to_path_buf(),
            to: to.to_path_buf(),
        });
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let mut st = self.lock();
        st.names.remove(path).ok_or_else(|| not_found(path))?;
        st.dir_ops.push(DirOp::Unlink {
            path: path.to_path_buf(),
        });
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut st = self.lock();
        if st.sync_fails() {
            return Err(io::Error::other("injected sync failure"));
        }
        if !st.dirs.contains(dir) {
            return Err(not_found(dir));
        }
        let ops = std::mem::take(&mut st.dir_ops);
        let mut durable = std::mem::take(&mut st.durable_names);
        let mut rest = Vec::new();
        for op in ops {
            if op.dir() == dir {
                op.apply(&mut durable);
            } else {
                rest.push(op);
            }
        }
        st.durable_names = durable;
        st.dir_ops = rest;
        st.dir_syncs += 1;
        Ok(())
    }
}

#[derive(Debug)]
struct MemFile {
    state: Arc<Mutex<State>>,
    inode: usize,
    generation: u64,
    writable: bool,
}

impl MemFile {
    fn with<T>(&self, f: impl FnOnce(&mut State, usize) -> io::Result<T>) -> io::Result<T> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if st.generation != self.generation {
            return Err(io::Error::other("stale handle: the file system crashed"));
        }
        f(&mut st, self.inode)
    }

    fn check_writable(&self) -> io::Result<()> {
        if self.writable {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "file opened read-only",
            ))
        }
    }

    fn sync(&self) -> io::Result<()> {
        self.with(|st, i| {
            if st.sync_fails() {
                return Err(io::Error::other("injected sync failure"));
            }
            let inode = &mut st.inodes[i];
            for op in std::mem::take(&mut inode.pending) {
                op.apply(&mut inode.durable);
            }
            st.file_syncs += 1;
            Ok(())
        })
    }
}

impl StorageFile for MemFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.with(|st, i| {
            let data = &st.inodes[i].data;
            let start = to_usize(offset).min(data.len());
            let n = buf.len().min(data.len() - start);
            buf[..n].copy_from_slice(&data[start..start + n]);
            Ok(n)
        })
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        self.check_writable()?;
        self.with(|st, i| {
            if st.fail_writes {
                return Err(io::Error::other("injected write failure"));
            }
            let inode = &mut st.inodes[i];
            write_into(&mut inode.data, offset, buf);
            inode.pending.push(FileOp::Write {
                offset,
                bytes: buf.to_vec(),
            });
            Ok(buf.len())
        })
    }

    fn file_len(&self) -> io::Result<u64> {
        self.with(|st, i| Ok(st.inodes[i].data.len() as u64))
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.check_writable()?;
        self.with(|st, i| {
            let inode = &mut st.inodes[i];
            inode.data.resize(to_usize(len), 0);
            inode.pending.push(FileOp::SetLen(len));
            Ok(())
        })
    }

    fn allocate(&self, len: u64) -> io::Result<()> {
        if self.file_len()? < len {
            self.set_len(len)?;
        }
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        self.sync()
    }

    fn sync_all(&self) -> io::Result<()> {
        self.sync()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(fs: &MemFs, path: &str, bytes: &[u8]) -> Box<dyn StorageFile> {
        let f = fs.open(Path::new(path), OpenMode::CreateTruncate).unwrap();
        f.write_at(bytes, 0).unwrap();
        f
    }

    #[test]
    fn unsynced_data_and_names_are_lost() {
        let fs = MemFs::new();
        fs.create_dir_all(Path::new("/d")).unwrap();
        let a = write(&fs, "/d/a", b"hello");
        a.sync_data().unwrap();
        fs.sync_dir(Path::new("/d")).unwrap();
        a.write_at(b" world", 5).unwrap();
        let _b = write(&fs, "/d/b", b"unsynced name");
        fs.crash(Crash::LoseUnsynced);
        assert_eq!(fs.file_bytes(Path::new("/d/a")).unwrap(), b"hello");
        assert!(fs.file_bytes(Path::new("/d/b")).is_none());
        assert!(
            a.read_at(&mut [0; 4], 0).is_err(),
            "handles die with the crash"
        );
    }

    #[test]
    fn torn_crash_keeps_a_prefix_of_writes() {
        for seed in 0..200 {
            let fs = MemFs::new();
            fs.create_dir_all(Path::new("/d")).unwrap();
            let f = write(&fs, "/d/a", b"");
            f.sync_data().unwrap();
            fs.sync_dir(Path::new("/d")).unwrap();
            let full = b"0123456789abcdefghij";
            for (i, chunk) in full.chunks(5).enumerate() {
                f.write_at(chunk, (i * 5) as u64).unwrap();
            }
            fs.crash(Crash::Torn { seed });
            let got = fs.file_bytes(Path::new("/d/a")).unwrap();
            assert_eq!(&full[..got.len()], &got[..], "seed {seed}");
        }
    }

    #[test]
    fn rename_is_durable_only_after_dir_sync() {
        let fs = MemFs::new();
        fs.create_dir_all(Path::new("/d")).unwrap();
        let f = write(&fs, "/d/x.tmp", b"new");
        f.sync_all().unwrap();
        fs.sync_dir(Path::new("/d")).unwrap();
        fs.rename(Path::new("/d/x.tmp"), Path::new("/d/x")).unwrap();
        fs.crash(Crash::LoseUnsynced);
        assert!(fs.file_bytes(Path::new("/d/x")).is_none());
        assert_eq!(fs.file_bytes(Path::new("/d/x.tmp")).unwrap(), b"new");
    }
}
