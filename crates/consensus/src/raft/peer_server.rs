//! Incoming quorum connections: Raft RPCs for the local Raft node, writes forwarded by followers
//! (proposed here when this member leads), and messages for the leader's server.

use super::environment::{Environment, PeerListener, PeerRead, PeerWrite};
use super::snapshot_file::{file_index, SnapshotFile};
use super::types::{LogData, SnapshotMeta, TypeConfig, Vote};
use super::wire::{read_frame, write_frame, Hello, PeerRequest, PeerResponse, WireError, MAGIC};
use super::{Host, RaftHandle};
use crate::durable::LogPayload;
use openraft::raft::AppendEntriesResponse;
use std::sync::Arc;
use storage::{SnapshotStore, SnapshotWriter};
use tokio::io::{AsyncWriteExt, BufReader, BufWriter};

/// The refusal a recovering member gives candidates.
const NOT_VOTING: &str = "recovering from damaged storage: not voting until caught up";

/// What every incoming connection needs.
pub struct PeerContext<P: LogPayload> {
    pub raft: RaftHandle<P>,
    pub host: Arc<dyn Host<P>>,
    pub snapshots: SnapshotStore,
    pub env: Environment,
    pub contact: Arc<super::status::LeaderContact>,
    pub recovery: Arc<super::recovery::Recovery>,
}

/// Accepts quorum connections until the listener fails.
pub async fn accept_loop<P: LogPayload>(
    ctx: Arc<PeerContext<P>>,
    mut listener: Box<dyn PeerListener>,
) {
    loop {
        match listener.accept().await {
            Ok((r, w, peer)) => {
                let ctx = Arc::clone(&ctx);
                tokio::spawn(async move {
                    if let Err(e) = serve(ctx, r, w).await {
                        tracing::debug!("quorum connection from {peer} ended: {e}");
                    }
                });
            }
            Err(e) => {
                tracing::warn!("quorum port accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

/// A snapshot being received.
struct Incoming {
    vote: Vote,
    meta: SnapshotMeta,
    writer: Option<SnapshotWriter>,
}

async fn serve<P: LogPayload>(
    ctx: Arc<PeerContext<P>>,
    r: PeerRead,
    w: PeerWrite,
) -> Result<(), WireError> {
    let mut r = BufReader::new(r);
    let mut w = BufWriter::new(w);
    let hello: Hello = match read_frame(&mut r).await? {
        Some(h) => h,
        None => return Ok(()),
    };
    if hello.magic != MAGIC {
        return Err(WireError::Io(std::io::Error::other(
            "not a Ferrokeeper quorum connection",
        )));
    }
    let from = hello.from;
    let mut incoming: Option<Incoming> = None;
    while let Some(request) = read_frame::<_, PeerRequest>(&mut r).await? {
        let response = match request {
            PeerRequest::Append(rpc) => {
                ctx.contact.heard();
                let leader_commit = rpc.leader_commit;
                let response = ctx.raft.append_entries(rpc).await;
                if matches!(response, Ok(AppendEntriesResponse::Success)) {
                    ctx.recovery.accepted(&leader_commit);
                }
                PeerResponse::Append(response.map_err(|e| e.to_string()))
            }
            // A recovering member may have lost entries it acknowledged: its vote could elect a
            // leader without them. It answers like a member that is down.
            PeerRequest::Vote(_) | PeerRequest::PreVote(_) if ctx.recovery.active() => {
                PeerResponse::Vote(Err(NOT_VOTING.to_owned()))
            }
            PeerRequest::Vote(rpc) => {
                PeerResponse::Vote(ctx.raft.vote(rpc).await.map_err(|e| e.to_string()))
            }
            PeerRequest::PreVote(rpc) => {
                PeerResponse::Vote(ctx.raft.pre_vote(rpc).await.map_err(|e| e.to_string()))
            }
            PeerRequest::SnapshotBegin { vote, meta } => {
                let store = ctx.snapshots.clone();
                let index = file_index(&meta);
                let writer = ctx
                    .env
                    .run_blocking(move || store.create(index))
                    .await?
                    .map_err(std::io::Error::other)?;
                incoming = Some(Incoming {
                    vote,
                    meta,
                    writer: Some(writer),
                });
                continue;
            }
            PeerRequest::SnapshotChunk(chunk) => {
                let Some(snap) = incoming.as_mut() else {
                    return Err(WireError::Io(std::io::Error::other(
                        "snapshot chunk without a start",
                    )));
                };
                let Some(mut writer) = snap.writer.take() else {
                    return Err(WireError::Io(std::io::Error::other("snapshot writer lost")));
                };
                let writer = ctx
                    .env
                    .run_blocking(move || writer.write(&chunk).map(|()| writer))
                    .await?
                    .map_err(std::io::Error::other)?;
                snap.writer = Some(writer);
                continue;
            }
            PeerRequest::SnapshotEnd => {
                let Some(snap) = incoming.take() else {
                    return Err(WireError::Io(std::io::Error::other(
                        "snapshot end without a start",
                    )));
                };
                PeerResponse::Snapshot(install(&ctx, snap).await)
            }
            PeerRequest::Forward(writes) => {
                if propose_forwarded(&ctx, writes).await {
                    PeerResponse::Forwarded
                } else {
                    PeerResponse::ForwardRefused
                }
            }
            PeerRequest::ToLeader(message) => {
                ctx.host.leader_message(from, message);
                continue;
            }
        };
        write_frame(&mut w, &response).await?;
        w.flush().await?;
    }
    Ok(())
}

async fn install<P: LogPayload>(
    ctx: &PeerContext<P>,
    snap: Incoming,
) -> Result<openraft::raft::SnapshotResponse<TypeConfig>, String> {
    let writer = snap.writer.ok_or("snapshot writer lost")?;
    let info = ctx
        .env
        .run_blocking(move || writer.finish())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let snapshot = openraft::type_config::alias::SnapshotOf::<TypeConfig, SnapshotFile> {
        meta: snap.meta,
        snapshot: SnapshotFile {
            path: info.path,
            index: info.index,
        },
    };
    ctx.raft
        .install_full_snapshot(snap.vote, snapshot)
        .await
        .map_err(|e| e.to_string())
}

/// Proposes writes a follower forwarded, if this member still leads; false if they were dropped
/// (the follower then closes its clients' connections, and they retry).
async fn propose_forwarded<P: LogPayload>(ctx: &PeerContext<P>, writes: Vec<bytes::Bytes>) -> bool {
    if !ctx.raft.is_leader() {
        tracing::debug!("dropping {} forwarded writes: not the leader", writes.len());
        return false;
    }
    let time_ms = ctx.env.clock.now_ms();
    let entries = writes
        .into_iter()
        .map(|payload| LogData::encoded(time_ms, payload));
    match ctx.raft.client_write_many(entries).await {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!("cannot propose forwarded writes: {e}");
            false
        }
    }
}
