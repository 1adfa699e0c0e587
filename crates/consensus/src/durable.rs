//! The log behind a single-node ensemble when data must survive restarts.
//!
//! A dedicated thread takes every proposal queued since its last write, appends the batch, makes it
//! durable with one sync (group commit), and only then hands it to the apply task: no write is
//! applied, let alone acknowledged, before it is on disk.

use crate::{Clock, CommitSink, Committed, CommittedBatch};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

/// How a payload is written into and read back from the log.
pub trait LogPayload: Sized + Send + Sync + 'static {
    fn encode(&self, out: &mut BytesMut);
    fn decode(bytes: Bytes) -> Result<Self, String>;
}

/// An append-only store of `(index, record)` pairs.
pub trait LogStore: Send + 'static {
    /// Appends records with contiguous, increasing indexes after the last one.
    fn append(&mut self, records: &[(u64, Bytes)]) -> std::io::Result<()>;
    /// Makes everything appended so far durable.
    fn sync(&mut self) -> std::io::Result<()>;
    /// Discards records below `before` (whole files only; the rest stay readable).
    fn compact(&mut self, before: u64) -> std::io::Result<()>;
}

/// Why the log could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("log record {index} is malformed: {reason}")]
    Malformed { index: u64, reason: String },
}

/// Encodes one committed entry as a log record: the leader's time, then the payload.
pub fn encode_record<P: LogPayload>(time_ms: i64, payload: &P, out: &mut BytesMut) {
    out.put_i64(time_ms);
    payload.encode(out);
}

/// Decodes a log record written by [`encode_record`].
pub fn decode_record<P: LogPayload>(
    index: u64,
    mut record: Bytes,
) -> Result<Committed<P>, ReplayError> {
    if record.len() < 8 {
        return Err(ReplayError::Malformed {
            index,
            reason: format!("{} bytes is shorter than its timestamp", record.len()),
        });
    }
    let time_ms = record.get_i64();
    let payload = P::decode(record).map_err(|reason| ReplayError::Malformed { index, reason })?;
    Ok(Committed {
        zxid: index as i64,
        time_ms,
        payload,
    })
}

/// What the log thread shares with the consensus handle that started it.
pub(crate) struct LogThreadShared {
    pub clock: Arc<dyn Clock>,
    /// The zxid of the newest entry appended, for read barriers.
    pub last_zxid: Arc<AtomicI64>,
    /// Entries below this zxid may be dropped from the log.
    pub compact_before: Arc<AtomicI64>,
    pub max_batch: usize,
}

/// Runs the log thread until every proposer is gone or the store fails. A store failure stops
/// the thread: a server that cannot write its log must not accept writes (callers then see
/// [`crate::ConsensusError::Shutdown`]), and `failed` is called.
pub(crate) fn run_log_thread<P: LogPayload>(
    mut store: Box<dyn LogStore>,
    mut proposals: mpsc::UnboundedReceiver<Arc<P>>,
    committed: impl CommitSink<P>,
    shared: LogThreadShared,
    failed: impl FnOnce(),
) {
    let LogThreadShared {
        clock,
        last_zxid,
        compact_before,
        max_batch,
    } = shared;
    let mut compacted = 0;
    let mut next = last_zxid.load(Ordering::Acquire);
    let mut incoming = Vec::with_capacity(max_batch);
    let mut buf = BytesMut::new();
    while let Some(first) = proposals.blocking_recv() {
        incoming.push(first);
        while incoming.len() < max_batch {
            match proposals.try_recv() {
                Ok(p) => incoming.push(p),
                Err(_) => break,
            }
        }
        let time_ms = clock.now_ms();
        let mut records = Vec::with_capacity(incoming.len());
        for (offset, payload) in incoming.iter().enumerate() {
            buf.clear();
            encode_record(time_ms, &**payload, &mut buf);
            records.push((next as u64 + 1 + offset as u64, buf.split().freeze()));
        }
        if let Err(e) = store.append(&records).and_then(|()| store.sync()) {
            tracing::error!("cannot write the log, refusing further writes: {e}");
            // Refuse proposals before reporting the failure, so nobody who saw it can still propose.
            proposals.close();
            failed();
            return;
        }
        let batch: CommittedBatch<P> = incoming
            .drain(..)
            .map(|payload| {
                next += 1;
                Committed {
                    zxid: next,
                    time_ms,
                    payload,
                }
            })
            .collect();
        last_zxid.store(next, Ordering::Release);
        if !committed.deliver(batch) {
            return;
        }
        // Compaction rides on the next write: with no writes the log does not grow either.
        let before = compact_before.load(Ordering::Acquire);
        if before > compacted {
            match store.compact(before as u64) {
                Ok(()) => compacted = before,
                Err(e) => tracing::warn!("cannot discard log records below {before:#x}: {e}"),
            }
        }
    }
}
