//! How committed entries are stored in a durable log: the store's interface and the record format.

use crate::Committed;
use bytes::{Buf, BufMut, Bytes, BytesMut};

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
