//! The Raft log over the storage crate's write-ahead log, and the vote in a meta file.
//!
//! Appends are handed to one writer (a thread of its own, or a task in a simulation) that drains
//! everything queued, appends it and makes it durable with a single fdatasync (group commit)
//! before telling Raft the entries are flushed;
//! Raft counts an entry towards a quorum only after that. The newest entries also stay in memory
//! so the leader replicates them without reading the disk.

use super::environment::{Blocking, Environment};
use super::types::{Entry, LogId, TypeConfig, Vote};
use super::wire::{decode_entry, encode_entry};
use openraft::entry::RaftEntry;
use openraft::storage::{IOFlushed, LogState, RaftLogReader, RaftLogStorage};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use storage::{BackgroundRemover, MetaFile, Wal};
use tokio::sync::{mpsc, oneshot};

/// How many of the newest entries are kept in memory for replication.
const CACHE_ENTRIES: usize = 16 * 1024;

/// Raft's first entry has index 0; the write-ahead log stores entry `i` as record `i + 1` so that
/// "truncate after nothing" (`truncate_after(None)`) is an ordinary truncation after record 0.
fn record_index(raft_index: u64) -> u64 {
    raft_index + 1
}

/// What the meta file holds: the vote and the id of the last purged entry (whose term the log no
/// longer has once its segment is deleted).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct LogMeta {
    vote: Option<Vote>,
    last_purged: Option<LogId>,
}

/// The vote stored in `meta_file`, without opening the log (a member moving its damaged log
/// aside keeps its vote: see `recovery`).
pub fn load_vote(meta_file: &MetaFile) -> io::Result<Option<Vote>> {
    match meta_file.load() {
        Ok(Some(bytes)) => postcard::from_bytes::<LogMeta>(&bytes)
            .map(|meta| meta.vote)
            .map_err(|e| other(format!("{}: {e}", meta_file.path().display()))),
        Ok(None) => Ok(None),
        Err(e) => Err(io::Error::other(e)),
    }
}

/// Writes a meta file holding `vote` and nothing purged: the state of a log emptied on purpose.
pub fn store_vote(meta_file: &MetaFile, vote: Option<Vote>) -> io::Result<()> {
    let meta = LogMeta {
        vote,
        last_purged: None,
    };
    let bytes = postcard::to_stdvec(&meta).map_err(other)?;
    meta_file.store(&bytes).map_err(io::Error::other)
}

struct Shared {
    wal: Mutex<Wal>,
    /// The newest entries, by index.
    cache: Mutex<BTreeMap<u64, Entry>>,
    meta: Mutex<LogMeta>,
    meta_file: MetaFile,
    /// The last log id appended (durable or not), for `get_log_state`.
    last: Mutex<Option<LogId>>,
    /// Entries at or below this index are on disk; only those may leave the cache.
    durable: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Each critical section leaves the data consistent, so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

enum Command {
    Append {
        records: Vec<(u64, Vec<u8>)>,
        last: u64,
        callback: IOFlushed<TypeConfig>,
    },
    TruncateAfter {
        index: u64,
        done: oneshot::Sender<io::Result<()>>,
    },
    PurgeBefore {
        index: u64,
        done: oneshot::Sender<io::Result<()>>,
    },
}

/// The Raft log store. Cloning shares the same log.
#[derive(Clone)]
pub struct LogStore {
    shared: Arc<Shared>,
    commands: mpsc::UnboundedSender<Command>,
    env: Environment,
}

fn other(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

impl LogStore {
    /// Opens the log in `wal` and the vote in `meta_file`, and starts the writer.
    pub fn open(wal: Wal, meta_file: MetaFile, env: Environment) -> io::Result<LogStore> {
        let meta: LogMeta = match meta_file.load().map_err(other)? {
            Some(bytes) => postcard::from_bytes(&bytes)
                .map_err(|e| other(format!("{}: {e}", meta_file.path().display())))?,
            None => LogMeta::default(),
        };
        let last = match wal.last_index() {
            Some(index) => {
                let record = wal.read_range(index, index + 1).map_err(other)?;
                let entry = record
                    .first()
                    .map(|r| decode_entry(&r.payload))
                    .transpose()
                    .map_err(|e| other(format!("log entry {index}: {e}")))?;
                entry.map(|e| e.log_id())
            }
            None => meta.last_purged,
        };
        let durable = wal.last_index().map_or(0, |i| i.saturating_sub(1));
        let shared = Arc::new(Shared {
            wal: Mutex::new(wal),
            cache: Mutex::new(BTreeMap::new()),
            meta: Mutex::new(meta),
            meta_file,
            last: Mutex::new(last),
            durable: AtomicU64::new(durable),
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let writer = Arc::clone(&shared);
        match env.blocking {
            Blocking::Threads => {
                std::thread::Builder::new()
                    .name("ferrokeeper-raft-log".into())
                    .spawn(move || run_writer_thread(writer, rx))?;
            }
            Blocking::Inline => {
                tokio::spawn(run_writer_task(writer, rx));
            }
        }
        Ok(LogStore {
            shared,
            commands: tx,
            env,
        })
    }

    fn send(&self, command: Command) -> io::Result<()> {
        self.commands
            .send(command)
            .map_err(|_| other("the log writer has stopped after a write error"))
    }

    async fn store_meta(&self, update: impl FnOnce(&mut LogMeta)) -> io::Result<()> {
        let bytes = {
            let mut meta = lock(&self.shared.meta);
            update(&mut meta);
            postcard::to_stdvec(&*meta).map_err(other)?
        };
        let shared = Arc::clone(&self.shared);
        self.env
            .run_blocking(move || shared.meta_file.store(&bytes).map_err(other))
            .await?
    }

    /// Entries `start..end` (fewer only where the log ends or was purged), never with a hole.
    ///
    /// The newest entries are in the cache, older ones on disk. Appends evict the oldest cached
    /// entries (only ones already durable) at any time, including while this reads the disk, so
    /// it reads the disk up to where the cache began and then looks again: whatever was evicted
    /// meanwhile is read from the disk on the next turn.
    fn read(&self, start: u64, end: u64) -> io::Result<Vec<Entry>> {
        let mut out = Vec::with_capacity(end.saturating_sub(start).min(4096) as usize);
        let mut next = start;
        while next < end {
            let cached_from = {
                let cache = lock(&self.shared.cache);
                let cached_from = cache.keys().next().copied().unwrap_or(u64::MAX);
                if next >= cached_from {
                    for (&index, entry) in cache.range(next..end) {
                        if index != next {
                            return Err(hole(next, index));
                        }
                        out.push(entry.clone());
                        next += 1;
                    }
                    return Ok(out);
                }
                cached_from
            };
            let wal = lock(&self.shared.wal);
            // Raft entry `i` is record `i + 1`, so the disk holds entries below `next_index - 1`.
            let on_disk_end = wal.next_index().map_or(next, |n| n.saturating_sub(1));
            let disk_end = end.min(cached_from).min(on_disk_end);
            if next >= disk_end {
                // The log ends here (nothing cached above it), or a hole.
                return match cached_from {
                    u64::MAX => Ok(out),
                    _ => Err(hole(next, cached_from)),
                };
            }
            let records = wal
                .read_range(record_index(next), record_index(disk_end))
                .map_err(other)?;
            drop(wal);
            for record in records {
                let entry = decode_entry(&record.payload)
                    .map_err(|e| other(format!("log entry {}: {e}", record.index)))?;
                let index = entry.index();
                // Entries purged from the front of the range may be missing, nothing else.
                if index != next && !(out.is_empty() && index > next) {
                    return Err(hole(next, index));
                }
                next = index + 1;
                out.push(entry);
            }
            if next < disk_end {
                return Err(hole(next, disk_end));
            }
        }
        Ok(out)
    }
}

/// Reading entries across a gap would hand Raft a log with a hole in it; it must fail instead.
fn hole(missing: u64, found: u64) -> io::Error {
    other(format!(
        "the Raft log has no entry {missing} before entry {found}"
    ))
}

fn bounds(range: &impl RangeBounds<u64>) -> (u64, u64) {
    let start = match range.start_bound() {
        Bound::Included(&s) => s,
        Bound::Excluded(&s) => s + 1,
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(&e) => e + 1,
        Bound::Excluded(&e) => e,
        Bound::Unbounded => u64::MAX,
    };
    (start, end)
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + openraft::OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, io::Error> {
        let (start, end) = bounds(&range);
        let end = match *lock(&self.shared.last) {
            Some(ref last) => end.min(last.index() + 1),
            None => return Ok(Vec::new()),
        };
        self.read(start, end)
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, io::Error> {
        Ok(lock(&self.shared.meta).vote)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, io::Error> {
        Ok(LogState {
            last_purged_log_id: lock(&self.shared.meta).last_purged,
            last_log_id: *lock(&self.shared.last),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), io::Error> {
        let vote = *vote;
        self.store_meta(move |m| m.vote = Some(vote)).await
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: IOFlushed<TypeConfig>,
    ) -> Result<(), io::Error>
    where
        I: IntoIterator<Item = Entry> + openraft::OptionalSend,
        I::IntoIter: openraft::OptionalSend,
    {
        let mut records = Vec::new();
        let mut last_id = None;
        {
            let mut cache = lock(&self.shared.cache);
            for entry in entries {
                records.push((
                    record_index(entry.index()),
                    encode_entry(&entry).map_err(other)?,
                ));
                last_id = Some(entry.log_id());
                cache.insert(entry.index(), entry);
            }
            // Evict the oldest entries that are already on disk.
            let durable = self.shared.durable.load(Ordering::Acquire);
            while cache.len() > CACHE_ENTRIES {
                match cache.first_key_value() {
                    Some((&first, _)) if first <= durable => {
                        cache.pop_first();
                    }
                    _ => break,
                }
            }
        }
        let Some(last_id) = last_id else {
            callback.io_completed(Ok(()));
            return Ok(());
        };
        let last = last_id.index();
        *lock(&self.shared.last) = Some(last_id);
        self.send(Command::Append {
            records,
            last,
            callback,
        })
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogId>) -> Result<(), io::Error> {
        // In record indexes: keep records up to and including this one.
        let keep_through = last_log_id
            .as_ref()
            .map_or(0, |id| record_index(id.index()));
        let first_dropped = last_log_id.as_ref().map_or(0, |id| id.index() + 1);
        lock(&self.shared.cache).split_off(&first_dropped);
        let (done, wait) = oneshot::channel();
        self.send(Command::TruncateAfter {
            index: keep_through,
            done,
        })?;
        wait.await.map_err(other)??;
        *lock(&self.shared.last) = last_log_id;
        Ok(())
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), io::Error> {
        let index = log_id.index();
        // Record the purged id first: a crash after the files go must still know its term.
        let purged = log_id;
        self.store_meta(move |m| m.last_purged = Some(purged))
            .await?;
        {
            let mut cache = lock(&self.shared.cache);
            let rest = cache.split_off(&(index + 1));
            *cache = rest;
        }
        let (done, wait) = oneshot::channel();
        self.send(Command::PurgeBefore {
            index: record_index(index) + 1,
            done,
        })?;
        wait.await.map_err(other)?
    }
}

/// The writer thread: group-commits appends, runs truncations and purges in order with them.
fn run_writer_thread(shared: Arc<Shared>, mut commands: mpsc::UnboundedReceiver<Command>) {
    let remover = BackgroundRemover::new(lock(&shared.wal).remover(), "ferrokeeper-raft-purge");
    let mut writer = Writer {
        remover: Some(remover),
        ..Writer::default()
    };
    while let Some(first) = commands.blocking_recv() {
        if !writer.run(&shared, first, &mut commands) {
            return;
        }
    }
}

/// The same writer as a task, for a simulation's inline disk.
async fn run_writer_task(shared: Arc<Shared>, mut commands: mpsc::UnboundedReceiver<Command>) {
    let mut writer = Writer::default();
    while let Some(first) = commands.recv().await {
        if !writer.run(&shared, first, &mut commands) {
            return;
        }
    }
}

#[derive(Default)]
struct Writer {
    pending: Vec<(u64, IOFlushed<TypeConfig>)>,
    queued: Vec<Command>,
    /// Deletes purged segments on a thread of its own rather than here: deleting a large file and
    /// syncing the directory would stall the appends queued behind the purge. `None` for a
    /// simulation's inline disk, which purges in place, deterministically.
    remover: Option<BackgroundRemover>,
}

impl Writer {
    /// Runs `first` and everything queued behind it, then syncs once; false after a failure
    /// (the writer then stops and every later write fails).
    fn run(
        &mut self,
        shared: &Shared,
        first: Command,
        commands: &mut mpsc::UnboundedReceiver<Command>,
    ) -> bool {
        let pending = &mut self.pending;
        self.queued.push(first);
        while let Ok(next) = commands.try_recv() {
            self.queued.push(next);
        }
        for command in self.queued.drain(..) {
            match command {
                Command::Append {
                    records,
                    last,
                    callback,
                } => {
                    let refs: Vec<(u64, &[u8])> =
                        records.iter().map(|(i, r)| (*i, &r[..])).collect();
                    let result = lock(&shared.wal).append(&refs);
                    if let Err(e) = result {
                        tracing::error!("cannot append to the Raft log: {e}");
                        callback.io_completed(Err(other(e)));
                        fail_pending(pending, "log append failed");
                        return false;
                    }
                    pending.push((last, callback));
                }
                Command::TruncateAfter { index, done } => {
                    if !flush(shared, pending) {
                        return false;
                    }
                    let _ = done.send(lock(&shared.wal).truncate_after(index).map_err(other));
                    shared
                        .durable
                        .store(index.saturating_sub(1), Ordering::Release);
                }
                Command::PurgeBefore { index, done } => {
                    if !flush(shared, pending) {
                        return false;
                    }
                    let purged = match self.remover.as_mut() {
                        Some(remover) => lock(&shared.wal)
                            .detach_before(index)
                            .map_err(other)
                            .and_then(|detached| remover.remove(detached)),
                        None => lock(&shared.wal).purge_before(index).map_err(other),
                    };
                    let _ = done.send(purged);
                }
            }
        }
        flush(shared, pending)
    }
}

/// Syncs what was appended and reports it flushed; false (and the thread stops) on failure.
fn flush(shared: &Shared, pending: &mut Vec<(u64, IOFlushed<TypeConfig>)>) -> bool {
    if pending.is_empty() {
        return true;
    }
    if let Err(e) = lock(&shared.wal).sync() {
        tracing::error!("cannot sync the Raft log, refusing further writes: {e}");
        fail_pending(pending, "log sync failed");
        return false;
    }
    for (last, callback) in pending.drain(..) {
        shared.durable.fetch_max(last, Ordering::AcqRel);
        callback.io_completed(Ok(()));
    }
    true
}

fn fail_pending(pending: &mut Vec<(u64, IOFlushed<TypeConfig>)>, why: &str) {
    for (_, callback) in pending.drain(..) {
        callback.io_completed(Err(other(why)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::types::LogData;

    fn log_id(term: u64, index: u64) -> LogId {
        openraft::LogId {
            leader_id: openraft::impls::leader_id_adv::LeaderId { term, node_id: 1 },
            index,
        }
    }

    fn entry(term: u64, index: u64) -> Entry {
        Entry::new_normal(
            log_id(term, index),
            LogData::encoded(
                index as i64,
                bytes::Bytes::from(index.to_be_bytes().to_vec()),
            ),
        )
    }

    fn open(dir: &std::path::Path) -> LogStore {
        let (wal, _) = Wal::open(dir.join("log"), storage::WalOptions::default()).unwrap();
        LogStore::open(
            wal,
            MetaFile::new(storage::fs::std_fs(), dir.join("vote")),
            Environment::production(),
        )
        .unwrap()
    }

    async fn append(store: &mut LogStore, entries: Vec<Entry>) {
        let (tx, rx) = <TypeConfig as openraft::type_config::TypeConfigExt>::oneshot();
        store.append(entries, IOFlushed::signal(tx)).await.unwrap();
        rx.await.unwrap().unwrap();
    }

    fn indexes(entries: &[Entry]) -> Vec<u64> {
        entries.iter().map(|e| e.index()).collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_any_range_across_cache_and_disk_truncates_purges_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        let total = CACHE_ENTRIES as u64 + 4_000;
        for chunk in (0..total).collect::<Vec<_>>().chunks(1000) {
            append(&mut store, chunk.iter().map(|&i| entry(1, i)).collect()).await;
        }
        // One more batch so the oldest entries leave the cache.
        append(&mut store, vec![entry(2, total)]).await;
        for (from, to) in [
            (0, 10),
            (0, 1),
            (3_000, 5_000),
            (0, total + 1),
            (total - 5, total + 1),
            (7, 7),
        ] {
            let got = store.try_get_log_entries(from..to).await.unwrap();
            assert_eq!(
                indexes(&got),
                (from..to).collect::<Vec<_>>(),
                "range {from}..{to}"
            );
        }
        let beyond = store.try_get_log_entries(total..total + 50).await.unwrap();
        assert_eq!(indexes(&beyond), vec![total]);

        store.truncate_after(Some(log_id(1, 15_000))).await.unwrap();
        let state = store.get_log_state().await.unwrap();
        assert_eq!(state.last_log_id, Some(log_id(1, 15_000)));
        append(&mut store, vec![entry(3, 15_001)]).await;
        store.purge(log_id(1, 99)).await.unwrap();
        store.save_vote(&Vote::new(3, 1)).await.unwrap();
        drop(store);

        let mut reopened = open(dir.path());
        let state = reopened.get_log_state().await.unwrap();
        assert_eq!(state.last_log_id, Some(log_id(3, 15_001)));
        assert_eq!(state.last_purged_log_id, Some(log_id(1, 99)));
        assert_eq!(reopened.read_vote().await.unwrap(), Some(Vote::new(3, 1)));
        let got = reopened.try_get_log_entries(14_990..15_002).await.unwrap();
        assert_eq!(indexes(&got), (14_990..15_002).collect::<Vec<_>>());
        assert_eq!(got.last().map(|e| e.log_id()), Some(log_id(3, 15_001)));
    }

    /// Segments behind a purge leave the log at once and their files go on another thread, so
    /// the appends queued behind a purge do not wait for file deletion.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn purged_segments_are_deleted_and_the_rest_stays_readable() {
        let dir = tempfile::tempdir().unwrap();
        let options = storage::WalOptions {
            segment_size: 4096,
            ..storage::WalOptions::default()
        };
        let (wal, _) = Wal::open(dir.path().join("log"), options).unwrap();
        let mut store = LogStore::open(
            wal,
            MetaFile::new(storage::fs::std_fs(), dir.path().join("vote")),
            Environment::production(),
        )
        .unwrap();
        for chunk in (0..2_000).collect::<Vec<_>>().chunks(100) {
            append(&mut store, chunk.iter().map(|&i| entry(1, i)).collect()).await;
        }
        let segments = || std::fs::read_dir(dir.path().join("log")).unwrap().count();
        let before = segments();
        assert!(before > 10, "{before} segments");
        store.purge(log_id(1, 1_500)).await.unwrap();
        // Appends go on while the files are deleted.
        append(&mut store, vec![entry(1, 2_000)]).await;
        let got = store.try_get_log_entries(1_501..2_001).await.unwrap();
        assert_eq!(indexes(&got), (1_501..2_001).collect::<Vec<_>>());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        // Three quarters of the entries are purged: as many segments, but for the one that
        // straddles the purge point, must go.
        while segments() > before / 4 + 2 {
            assert!(
                std::time::Instant::now() < deadline,
                "{} segments left",
                segments()
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        drop(store);
        let (wal, _) = Wal::open(dir.path().join("log"), storage::WalOptions::default()).unwrap();
        let mut reopened = LogStore::open(
            wal,
            MetaFile::new(storage::fs::std_fs(), dir.path().join("vote")),
            Environment::production(),
        )
        .unwrap();
        let state = reopened.get_log_state().await.unwrap();
        assert_eq!(state.last_purged_log_id, Some(log_id(1, 1_500)));
        assert_eq!(state.last_log_id, Some(log_id(1, 2_000)));
        let got = reopened.try_get_log_entries(1_501..2_001).await.unwrap();
        assert_eq!(indexes(&got), (1_501..2_001).collect::<Vec<_>>());
    }

    /// A leader replicates from its log while it appends: a read that spans the disk and the
    /// cache must not lose the entries evicted from the cache while it read the disk.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_during_appends_return_no_holes() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        let first = CACHE_ENTRIES as u64 + 2_000;
        for chunk in (0..first).collect::<Vec<_>>().chunks(2_000) {
            append(&mut store, chunk.iter().map(|&i| entry(1, i)).collect()).await;
        }
        let appended = Arc::new(AtomicU64::new(first));
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let (mut store, appended, done) = (store.clone(), appended.clone(), done.clone());
            tokio::spawn(async move {
                let mut reads = 0;
                while !done.load(Ordering::Acquire) {
                    let last = appended.load(Ordering::Acquire);
                    // From below the cache's start to the newest entry.
                    let from = last - CACHE_ENTRIES as u64 - 1_500;
                    let got = indexes(&store.try_get_log_entries(from..last).await.unwrap());
                    let first_wrong = (from..last).zip(&got).find(|(want, got)| want != *got);
                    assert!(
                        got.len() as u64 == last - from && first_wrong.is_none(),
                        "read {from}..{last} after {reads} good reads: {} entries, first \
                         wrong (expected, got) {first_wrong:?}",
                        got.len()
                    );
                    reads += 1;
                    tokio::task::yield_now().await;
                }
                reads
            })
        };
        let mut next = first;
        while next < first + 40_000 {
            append(&mut store, (next..next + 50).map(|i| entry(1, i)).collect()).await;
            next += 50;
            appended.store(next, Ordering::Release);
        }
        done.store(true, Ordering::Release);
        let reads = reader.await.unwrap();
        assert!(reads > 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn truncating_after_nothing_empties_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        append(&mut store, (0..5).map(|i| entry(1, i)).collect()).await;
        store.truncate_after(None).await.unwrap();
        assert_eq!(store.get_log_state().await.unwrap().last_log_id, None);
        append(&mut store, (0..3).map(|i| entry(2, i)).collect()).await;
        let got = store.try_get_log_entries(0..10).await.unwrap();
        assert_eq!(
            got.iter().map(|e| e.log_id()).collect::<Vec<_>>(),
            (0..3).map(|i| log_id(2, i)).collect::<Vec<_>>()
        );
    }
}
