//! An ensemble of one with an in-memory log: every proposal commits as soon as it is ordered.
//!
//! Proposals are drained in batches, so a burst of writes from many connections crosses into the
//! apply task as one message; the durable log of the ensemble work will fsync once per batch here.

use crate::{Clock, Committed, CommittedBatch, Consensus, ConsensusError, Role};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

/// How many proposals one batch may carry, so one burst cannot starve readers of the apply task.
const MAX_BATCH: usize = 1024;

/// A single-node consensus: orders proposals, stamps zxid and time, forwards them to the apply task.
pub struct SingleNode<P> {
    proposals: mpsc::UnboundedSender<Arc<P>>,
    last_proposed: Arc<AtomicI64>,
}

impl<P: Send + Sync + 'static> SingleNode<P> {
    /// Starts the ordering task on the current tokio runtime. `last_zxid` is the zxid of the state
    /// the apply task starts from; new entries continue after it. Committed batches go to `committed`.
    pub fn start(
        last_zxid: i64,
        clock: Arc<dyn Clock>,
        committed: mpsc::UnboundedSender<CommittedBatch<P>>,
    ) -> Self {
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
                if committed.send(batch).is_err() {
                    tracing::debug!("apply task gone; single-node log stops");
                    return;
                }
            }
        });
        Self {
            proposals: tx,
            last_proposed,
        }
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
