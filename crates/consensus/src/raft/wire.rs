//! Messages between ensemble members on the quorum port, each a length-prefixed postcard frame.
//!
//! A connection opens with [`Hello`]; after that the opener sends requests and, for Raft RPCs,
//! reads one response per request. Forwarded writes and messages for the leader get no response:
//! they ride one long-lived connection per follower so their order is the order they were sent.

use super::types::{SnapshotMeta, TypeConfig, Vote};
use bytes::Bytes;
use openraft::raft::{AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse};
use openraft::raft::{VoteRequest, VoteResponse};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The largest frame a member accepts; an append batch is capped well below it.
pub const MAX_FRAME: usize = 64 << 20;

/// The first frame on every connection.
#[derive(Debug, Serialize, Deserialize)]
pub struct Hello {
    /// Guards against a stray client or another cluster on this port.
    pub magic: u32,
    /// The sender's `myid`.
    pub from: u64,
}

/// `FKRQ`: a Ferrokeeper quorum connection.
pub const MAGIC: u32 = 0x464b_5251;

/// A request from one member to another.
#[derive(Debug, Serialize, Deserialize)]
pub enum PeerRequest {
    Append(AppendEntriesRequest<TypeConfig>),
    Vote(VoteRequest<TypeConfig>),
    PreVote(VoteRequest<TypeConfig>),
    /// Starts a snapshot transfer; chunks of the snapshot file's content follow, then the end.
    SnapshotBegin {
        vote: Vote,
        meta: SnapshotMeta,
    },
    SnapshotChunk(Bytes),
    SnapshotEnd,
    /// Writes a follower took from its clients, for the leader to order (no response).
    Forward(Vec<Bytes>),
    /// An opaque message for the leader's server (session liveness; no response).
    ToLeader(Bytes),
}

/// The answer to a Raft RPC. An error is the receiver's reason, as text: it is only logged.
#[derive(Debug, Serialize, Deserialize)]
pub enum PeerResponse {
    Append(Result<AppendEntriesResponse<TypeConfig>, String>),
    Vote(Result<VoteResponse<TypeConfig>, String>),
    Snapshot(Result<SnapshotResponse<TypeConfig>, String>),
    /// The leader took a batch of forwarded writes off the link; lets the follower tell a live
    /// link from one that silently lost its peer.
    Forwarded,
    /// The member is not the leader (any more) or could not propose them: the writes are lost
    /// and the follower must tell its clients.
    ForwardRefused,
}

/// Why a frame could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("frame of {0} bytes exceeds the limit")]
    TooLarge(usize),
    #[error("malformed frame: {0}")]
    Malformed(#[from] postcard::Error),
}

/// Writes one frame holding `message`.
pub async fn write_frame<W, T>(out: &mut W, message: &T) -> Result<(), WireError>
where
    W: AsyncWriteExt + Unpin,
    T: Serialize,
{
    let body = postcard::to_stdvec(message)?;
    if body.len() > MAX_FRAME {
        return Err(WireError::TooLarge(body.len()));
    }
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(&body);
    out.write_all(&frame).await?;
    Ok(())
}

/// Reads one frame; `Ok(None)` when the peer closed the connection between frames.
pub async fn read_frame<R, T>(input: &mut R) -> Result<Option<T>, WireError>
where
    R: AsyncReadExt + Unpin,
    T: DeserializeOwned,
{
    let mut len = [0u8; 4];
    match input.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(WireError::TooLarge(len));
    }
    let mut body = vec![0u8; len];
    input.read_exact(&mut body).await?;
    Ok(Some(postcard::from_bytes(&body)?))
}

/// Encodes a log entry for the write-ahead log.
pub fn encode_entry(entry: &super::types::Entry) -> Result<Vec<u8>, postcard::Error> {
    // Sized up front: the payload dominates, and growing the vector copies it again and again.
    let payload = match &entry.payload {
        openraft::EntryPayload::Normal(data) => data.payload.len(),
        _ => 0,
    };
    postcard::to_extend(entry, Vec::with_capacity(payload + 64))
}

/// Decodes a log entry read back from the write-ahead log.
pub fn decode_entry(bytes: &[u8]) -> Result<super::types::Entry, postcard::Error> {
    postcard::from_bytes(bytes)
}
