//! An ensemble of one with an in-memory log: every proposal commits as soon as it is ordered.
//!
//! Proposals are drained in batches, so a burst of writes from many connections crosses into the
//! apply task as one message; the durable log of the ensemble work will fsync once per batch here.

use crate::durable::{run_log_thread, LogPayload, LogStore, LogThreadShared};
use crate::{Clock, CommitSink, Committed, CommittedBatch, Consensus, ConsensusError, Role};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

/// How many proposals one batch may carry, so one burst cannot starve readers of the apply task.
const MAX_BATCH: usize = 1024;

/// A single-node consensus: orders proposals, stamps zxid and time, forwards them to the apply task.
pub struct SingleNode<P> {
    proposals: mpsc::UnboundedSender<Arc<P>>,
    last_proposed: Arc<AtomicI64>,
    /// Entries below this zxid may be dropped from the durable log.
    compact_before: Arc<AtomicI64>,
    /// Standalone; the durable log marks it failed if it cannot write. Kept here so
    /// subscribers never see it closed.
    status: Arc<tokio::sync::watch::Sender<crate::Status>>,
}

impl<P: Send + Sync + 'static> SingleNode<P> {
    /// Starts the ordering task on the current tokio runtime. `last_zxid` is the zxid of the state
    /// the apply task starts from; new entries continue after it. Committed batches go to `committed`.
    pub fn start(last_zxid: i64, clock: Arc<dyn Clock>, committed: impl CommitSink<P>) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<Arc<P>>();
        let last_proposed = Arc::new(AtomicI64::new(last_zxid));
        let counter = Arc::clone(&last_proposed);
        tokio::spawn(async move {
            let mut next_zxid = last_zxid;
            let mut incoming = Vec::with_capacity(MAX_BATCH);
            while rx.recv_many(&mut incoming, MAX_BATCH).await > 0 {
                let time_ms = clock.now_ms();
                let batch: CommittedBatch<P> = incoming
                    .drain(..)
                    .map(|payload| {
                        next_zxid += 1;
                        Committed {
                            zxid: next_zxid,
                            time_ms,
                            payload,
                        }
                    })
                    .collect();
                counter.store(next_zxid, Ordering::Release);
                if !committed.deliver(batch) {
                    tracing::debug!("apply task gone; single-node log stops");
                    return;
                }
            }
        });
        Self {
            proposals: tx,
            last_proposed,
            compact_before: Arc::new(AtomicI64::new(0)),
            status: Arc::new(tokio::sync::watch::Sender::new(crate::Status::standalone())),
        }
    }
}

impl<P: LogPayload> SingleNode<P> {
    /// Like [`SingleNode::start`], but every batch is appended to `store` and synced before it
    /// commits. The log is written on its own thread so a slow disk never blocks the runtime.
    pub fn start_durable(
        last_zxid: i64,
        clock: Arc<dyn Clock>,
        committed: impl CommitSink<P>,
        store: Box<dyn LogStore>,
    ) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::unbounded_channel::<Arc<P>>();
        let last_proposed = Arc::new(AtomicI64::new(last_zxid));
        let counter = Arc::clone(&last_proposed);
        let compact_before = Arc::new(AtomicI64::new(0));
        let compact = Arc::clone(&compact_before);
        let status = Arc::new(tokio::sync::watch::Sender::new(crate::Status::standalone()));
        let fail = Arc::clone(&status);
        let failed = move || {
            fail.send_modify(|s| {
                s.serving = false;
                s.epoch += 1;
                s.failed = true;
            })
        };
        std::thread::Builder::new()
            .name("ferrokeeper-log".into())
            .spawn(move || {
                let shared = LogThreadShared {
                    clock,
                    last_zxid: counter,
                    compact_before: compact,
                    max_batch: MAX_BATCH,
                };
                run_log_thread(store, rx, committed, shared, failed)
            })?;
        Ok(Self {
            proposals: tx,
            last_proposed,
            compact_before,
            status,
        })
    }
}

impl<P: Send + Sync + 'static> Consensus<P> for SingleNode<P> {
    fn propose(&self, payload: Arc<P>) -> Result<(), ConsensusError> {
        self.proposals
            .send(payload)
            .map_err(|_| ConsensusError::Shutdown)
    }

    fn read_barrier(&self) -> Result<i64, ConsensusError> {
        // Everything proposed before now is ordered at or below the ordering task's counter once it
        // drains its queue; proposals still queued get zxids above it, and were proposed by other
        // sessions concurrently with this barrier, so they need not be waited for.
        Ok(self.last_proposed.load(Ordering::Acquire))
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
    use bytes::{Buf, BufMut, Bytes, BytesMut};
    use std::sync::Mutex;

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
    }

    impl LogStore for MemoryStore {
        fn append(&mut self, records: &[(u64, Bytes)]) -> std::io::Result<()> {
            self.appended.lock().unwrap().extend_from_slice(records);
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn durable_node_commits_only_synced_entries_and_records_replay() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let store = MemoryStore::default();
        let log = SingleNode::start_durable(5, Arc::new(FixedClock), tx, Box::new(store.clone()))
            .unwrap();
        for i in 0..500u32 {
            log.propose(Arc::new(i)).unwrap();
        }
        let mut seen = Vec::new();
        while seen.len() < 500 {
            let batch = rx.recv().await.unwrap();
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

    #[tokio::test]
    async fn commits_in_proposal_order_with_consecutive_zxids() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let log = SingleNode::start(10, Arc::new(FixedClock), tx);
        for i in 0..100u32 {
            log.propose(Arc::new(i)).unwrap();
        }
        let mut seen = Vec::new();
        while seen.len() < 100 {
            let batch = rx.recv().await.unwrap();
            seen.extend(batch.into_iter().map(|c| (c.zxid, *c.payload, c.time_ms)));
        }
        let expected: Vec<_> = (0..100u32).map(|i| (11 + i as i64, i, 42)).collect();
        assert_eq!(seen, expected);
        assert_eq!(log.read_barrier().unwrap(), 110);
    }
}
