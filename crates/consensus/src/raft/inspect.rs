//! Read-only views of the Raft files for tools (`ferrokeeper inspect`), without openraft types.

use super::wire::decode_entry;
use bytes::Bytes;
use openraft::EntryPayload;

/// What one Raft log record holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordKind {
    /// A client write: the leader's timestamp and the server's encoded proposal.
    Normal { time_ms: i64, payload: Bytes },
    /// A new leader's first entry.
    Blank,
    /// A membership change, as text.
    Membership(String),
}

/// One Raft log record, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// The Raft index, which is the zxid.
    pub index: u64,
    pub term: u64,
    /// The member that led when the entry was proposed.
    pub leader: u64,
    pub kind: RecordKind,
}

/// Decodes the payload of a write-ahead-log record of a Raft log (`<dataLogDir>/raft/log`).
pub fn decode_log_record(bytes: &[u8]) -> Result<LogRecord, String> {
    let entry = decode_entry(bytes).map_err(|e| e.to_string())?;
    let kind = match entry.payload {
        EntryPayload::Normal(data) => RecordKind::Normal {
            time_ms: data.time_ms,
            payload: data.payload,
        },
        EntryPayload::Blank => RecordKind::Blank,
        EntryPayload::Membership(m) => RecordKind::Membership(m.to_string()),
    };
    Ok(LogRecord {
        index: entry.log_id.index,
        term: entry.log_id.leader_id.term,
        leader: entry.log_id.leader_id.node_id,
        kind,
    })
}

/// The Raft metadata at the front of a Raft snapshot file, as text, and a reader positioned at
/// the tree stream that follows it.
pub fn open_snapshot(
    path: &std::path::Path,
) -> std::io::Result<(String, Box<dyn std::io::Read + Send>)> {
    let (meta, reader) = super::snapshot_file::open(&storage::fs::StdFs, path)?;
    Ok((meta.to_string(), Box::new(reader)))
}
