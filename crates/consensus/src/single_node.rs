//! An ensemble of one: orders proposals, stamps zxid and time, and commits each batch once it is
//! durable in the log (group commit, see [`crate::group_commit`]).

use crate::durable::{LogPayload, LogStore};
use crate::group_commit::{GroupCommit, Log};
use crate::{Clock, CommitSink, Consensus, ConsensusError, Role};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// How many proposals one batch may carry, so one burst cannot starve readers of the apply task.
const MAX_BATCH: usize = 1024;

/// A single-node consensus: a standalone server's log.
pub struct SingleNode<P: LogPayload> {
    log: Arc<GroupCommit<P>>,
    /// The zxid of the newest entry in the log.
    last_zxid: Arc<AtomicI64>,
    /// Entries below this zxid may be dropped from the durable log.
    compact_before: Arc<AtomicI64>,
    /// Standalone; the durable log marks it failed if it cannot write. Kept here so
    /// subscribers never see it closed.
    status: Arc<tokio::sync::watch::Sender<crate::Status>>,
}

impl<P: LogPayload> SingleNode<P> {
    /// Starts the log thread. `last_zxid` is the zxid of the state the apply task starts from;
    /// new entries continue after it. Every batch is appended to `store` and synced before it
    /// goes to `committed`.
    pub fn start_durable(
        last_zxid: i64,
        clock: Arc<dyn Clock>,
        committed: impl CommitSink<P>,
        store: Box<dyn LogStore>,
    ) -> std::io::Result<Self> {
        let last_zxid = Arc::new(AtomicI64::new(last_zxid));
        let compact_before = Arc::new(AtomicI64::new(0));
        let status = Arc::new(tokio::sync::watch::Sender::new(crate::Status::standalone()));
        let fail = Arc::clone(&status);
        let failed = move || {
            fail.send_modify(|s| {
                s.serving = false;
                s.epoch += 1;
                s.failed = true;
            })
        };
        let log = Arc::new(GroupCommit::new(
            Log {
                store,
                committed: Some(Box::new(committed)),
                clock,
                last_zxid: Arc::clone(&last_zxid),
                compact_before: Arc::clone(&compact_before),
                failed: Some(Box::new(failed)),
            },
            MAX_BATCH,
        ));
        let thread_log = Arc::clone(&log);
        std::thread::Builder::new()
            .name("ferrokeeper-log".into())
            .spawn(move || thread_log.run_log_thread())?;
        Ok(Self {
            log,
            last_zxid,
            compact_before,
            status,
        })
    }
}

impl<P: LogPayload> Drop for SingleNode<P> {
    fn drop(&mut self) {
        self.log.close();
    }
}

impl<P: LogPayload> Consensus<P> for SingleNode<P> {
    fn propose(&self, payload: Arc<P>) -> Result<(), ConsensusError> {
        self.log.propose(payload, false)
    }

    fn propose_deferred(&self, payload: Arc<P>) -> Result<(), ConsensusError> {
        self.log.propose(payload, true)
    }

    fn flush(&self, on_this_thread: bool) {
        self.log.flush(on_this_thread);
    }

    fn read_barrier(&self) -> Result<i64, ConsensusError> {
        // Every entry committed before now is at or below the log's newest zxid; proposals still
        // queued get zxids above it, and were proposed by other sessions concurrently with this
        // barrier, so they need not be waited for.
        Ok(self.last_zxid.load(Ordering::Acquire))
    }

    fn role(&self) -> Role {
        Role::Standalone
    }

    fn compact(&self, before_zxid: i64) {
        self.compact_before.fetch_max(before_zxid, Ordering::AcqRel);
    }

    fn status(&self) -> tokio::sync::watch::Receiver<crate::Status> {
        self.status.subscribe()
    }

    fn send_to_leader(&self, _message: bytes::Bytes) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::durable::decode_record;
    use crate::CommittedBatch;
    use bytes::{Buf, BufMut, Bytes, BytesMut};
    use std::sync::Mutex;
    use tokio::sync::mpsc;

    impl LogPayload for u32 {
        fn encode(&self, out: &mut BytesMut) {
            out.put_u32(*self);
        }
        fn decode(mut bytes: Bytes) -> Result<Self, String> {
            if bytes.len() != 4 {
                return Err(format!("{} bytes", bytes.len()));
            }
            Ok(bytes.get_u32())
        }
    }

    /// Records what was appended and synced, to check nothing commits before its sync.
    #[derive(Clone, Default)]
    struct MemoryStore {
        appended: Arc<Mutex<Vec<(u64, Bytes)>>>,
        synced_upto: Arc<AtomicI64>,
        syncs: Arc<AtomicI64>,
        /// The name of the thread that wrote each batch.
        writers: Arc<Mutex<Vec<String>>>,
    }

    impl LogStore for MemoryStore {
        fn append(&mut self, records: &[(u64, Bytes)]) -> std::io::Result<()> {
            self.appended.lock().unwrap().extend_from_slice(records);
            let name = std::thread::current().name().unwrap_or("").to_string();
            self.writers.lock().unwrap().push(name);
            Ok(())
        }
        fn sync(&mut self) -> std::io::Result<()> {
            let last = self
                .appended
                .lock()
                .unwrap()
                .last()
                .map_or(0, |r| r.0 as i64);
            self.synced_upto.store(last, Ordering::SeqCst);
            self.syncs.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
        fn compact(&mut self, before: u64) -> std::io::Result<()> {
            self.appended.lock().unwrap().retain(|r| r.0 >= before);
            Ok(())
        }
    }

    #[test]
    fn durable_node_commits_only_synced_entries_and_records_replay() {
        let (log, mut rx, store) = start_on_memory(5);
        for i in 0..500u32 {
            log.propose(Arc::new(i)).unwrap();
        }
        let seen = receive(&mut rx, &store, 500);
        let expected: Vec<_> = (0..500u32).map(|i| (6 + i as i64, i)).collect();
        assert_eq!(seen, expected);
        assert!(
            store.syncs.load(Ordering::SeqCst) <= 500,
            "one sync per batch at most"
        );
        let replayed: Vec<(i64, u32, i64)> = store
            .appended
            .lock()
            .unwrap()
            .iter()
            .map(|(i, r)| decode_record::<u32>(*i, r.clone()).unwrap())
            .map(|c| (c.zxid, c.payload, c.time_ms))
            .collect();
        assert_eq!(replayed.len(), 500);
        assert_eq!(replayed[0], (6, 0, 42));
    }

    /// A durable node over a fresh memory store whose last entry is `last_zxid`, and its
    /// committed stream.
    fn start_on_memory(
        last_zxid: i64,
    ) -> (
        SingleNode<u32>,
        mpsc::UnboundedReceiver<CommittedBatch<u32>>,
        MemoryStore,
    ) {
        let (tx, rx) = mpsc::unbounded_channel();
        let store = MemoryStore::default();
        let log =
            SingleNode::start_durable(last_zxid, Arc::new(FixedClock), tx, Box::new(store.clone()))
                .unwrap();
        (log, rx, store)
    }

    /// A disk that refuses every sync.
    struct FailingStore;

    impl LogStore for FailingStore {
        fn append(&mut self, _: &[(u64, Bytes)]) -> std::io::Result<()> {
            Ok(())
        }
        fn sync(&mut self) -> std::io::Result<()> {
            Err(std::io::Error::other("no space left on device"))
        }
        fn compact(&mut self, _: u64) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_log_that_cannot_be_written_marks_consensus_failed_and_commits_nothing() {
        let (tx, mut rx) = mpsc::unbounded_channel::<CommittedBatch<u32>>();
        let log =
            SingleNode::start_durable(0, Arc::new(FixedClock), tx, Box::new(FailingStore)).unwrap();
        let mut status = log.status();
        assert!(!status.borrow().failed && status.borrow().serving);
        log.propose(Arc::new(1)).unwrap();
        tokio::time::timeout(
            std::time::Duration::from_secs(5),
            status.wait_for(|s| s.failed),
        )
        .await
        .expect("failure reported")
        .unwrap();
        assert!(!status.borrow().serving);
        assert!(rx.recv().await.is_none(), "nothing committed");
        assert!(log.propose(Arc::new(2)).is_err(), "the log thread is gone");
    }

    struct FixedClock;
    impl Clock for FixedClock {
        fn now_ms(&self) -> i64 {
            42
        }
    }

    #[test]
    fn commits_in_proposal_order_with_consecutive_zxids() {
        let (log, mut rx, store) = start_on_memory(10);
        for i in 0..100u32 {
            log.propose(Arc::new(i)).unwrap();
        }
        let seen = receive(&mut rx, &store, 100);
        let expected: Vec<_> = (0..100u32).map(|i| (11 + i as i64, i)).collect();
        assert_eq!(seen, expected);
        assert_eq!(log.read_barrier().unwrap(), 110);
    }

    /// The next `n` committed entries as (zxid, payload), checking each was synced first.
    fn receive(
        rx: &mut mpsc::UnboundedReceiver<CommittedBatch<u32>>,
        store: &MemoryStore,
        n: usize,
    ) -> Vec<(i64, u32)> {
        let mut seen = Vec::new();
        while seen.len() < n {
            let batch = rx.blocking_recv().expect("the log stopped early");
            let synced = store.synced_upto.load(Ordering::SeqCst);
            for c in batch {
                assert!(
                    c.zxid <= synced,
                    "zxid {} committed before its sync",
                    c.zxid
                );
                seen.push((c.zxid, *c.payload));
            }
        }
        seen
    }

    #[test]
    fn a_deferred_proposal_waits_for_flush_and_an_idle_log_is_written_by_the_flushing_thread() {
        let (log, mut rx, store) = start_on_memory(0);
        log.propose_deferred(Arc::new(1)).unwrap();
        log.propose_deferred(Arc::new(2)).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(rx.try_recv().is_err(), "nothing written before the flush");
        assert_eq!(store.syncs.load(Ordering::SeqCst), 0);
        let caller = std::thread::current().name().unwrap_or("").to_string();
        log.flush(true);
        // Written and delivered before flush returned, in one batch, by this thread.
        let batch = rx.try_recv().expect("committed during the flush");
        let zxids: Vec<_> = batch.iter().map(|c| (c.zxid, *c.payload)).collect();
        assert_eq!(zxids, [(1, 1), (2, 2)]);
        assert_eq!(*store.writers.lock().unwrap(), [caller]);
        // Not on this thread: the log thread writes it.
        log.propose_deferred(Arc::new(3)).unwrap();
        log.flush(false);
        assert_eq!(receive(&mut rx, &store, 1), [(3, 3)]);
        assert_eq!(store.writers.lock().unwrap()[1], "ferrokeeper-log");
        assert_eq!(log.read_barrier().unwrap(), 3);
    }

    #[test]
    fn concurrent_proposers_flushing_on_their_own_threads_keep_each_ones_order_and_sync_first() {
        const THREADS: u32 = 4;
        const EACH: u32 = 2000;
        let (log, mut rx, store) = start_on_memory(0);
        let log = Arc::new(log);
        let proposers: Vec<_> = (0..THREADS)
            .map(|t| {
                let log = Arc::clone(&log);
                std::thread::spawn(move || {
                    for i in 0..EACH {
                        let value = t * EACH + i;
                        // A mix of every way in: plain, deferred then flushed here or by the thread.
                        match i % 3 {
                            0 => log.propose(Arc::new(value)).unwrap(),
                            1 => {
                                log.propose_deferred(Arc::new(value)).unwrap();
                                log.flush(true);
                            }
                            _ => {
                                log.propose_deferred(Arc::new(value)).unwrap();
                                log.flush(i % 2 == 0);
                            }
                        }
                        // Pauses let the log fall idle now and then, as between a client's writes.
                        if i % 5 == 0 {
                            std::thread::sleep(std::time::Duration::from_micros(200));
                        }
                    }
                })
            })
            .collect();
        let seen = receive(&mut rx, &store, (THREADS * EACH) as usize);
        for p in proposers {
            p.join().unwrap();
        }
        let zxids: Vec<_> = seen.iter().map(|s| s.0).collect();
        assert_eq!(zxids, (1..=(THREADS * EACH) as i64).collect::<Vec<_>>());
        for t in 0..THREADS {
            let mine: Vec<_> = seen.iter().map(|s| s.1).filter(|v| v / EACH == t).collect();
            assert_eq!(
                mine,
                (t * EACH..(t + 1) * EACH).collect::<Vec<_>>(),
                "proposer {t}"
            );
        }
        let writers = store.writers.lock().unwrap();
        assert!(writers.iter().any(|w| w == "ferrokeeper-log"));
        assert!(
            writers.iter().any(|w| w != "ferrokeeper-log"),
            "some batches written inline"
        );
    }
}
