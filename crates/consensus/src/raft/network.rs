//! Outgoing Raft RPCs: one lazily opened TCP connection per target and purpose, one request in
//! flight on it at a time. Snapshots stream in chunks with no overall deadline, so a large one is
//! never cut off by a timer; each chunk has its own.

use super::environment::{Environment, PeerRead, PeerWrite};
use super::snapshot_file::{FileSource, SnapshotFile};
use super::types::{TypeConfig, Vote};
use super::wire::{read_frame, write_frame, Hello, PeerRequest, PeerResponse, WireError, MAGIC};
use openraft::errors::{NetworkError, RPCError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::{RPCOption, RaftNetworkFactory, RaftNetworkV2};
use openraft::raft::{AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse};
use openraft::raft::{VoteRequest, VoteResponse};
use openraft::{BasicNode, OptionalSend};
use std::future::Future;
use std::io::Read;
use std::time::Duration;
use tokio::io::{BufReader, BufWriter};

type Snapshot = openraft::type_config::alias::SnapshotOf<TypeConfig, SnapshotFile>;

/// Bytes of snapshot content per chunk.
const SNAPSHOT_CHUNK: usize = 1 << 20;
/// How long one snapshot chunk may take to be written and acknowledged by TCP.
const CHUNK_TIMEOUT: Duration = Duration::from_secs(30);

/// Makes [`PeerClient`]s for openraft.
pub struct Network {
    pub my_id: u64,
    pub env: Environment,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerClient;

    async fn new_client(&mut self, _target: u64, node: &BasicNode) -> PeerClient {
        PeerClient {
            my_id: self.my_id,
            addr: node.addr.clone(),
            conn: None,
            env: self.env.clone(),
        }
    }
}

type Conn = (BufReader<PeerRead>, BufWriter<PeerWrite>);

/// A connection to one member.
pub struct PeerClient {
    my_id: u64,
    addr: String,
    conn: Option<Conn>,
    env: Environment,
}

/// Opens a quorum connection to `addr` and introduces this member.
pub async fn connect(env: &Environment, addr: &str, my_id: u64) -> Result<Conn, WireError> {
    let (r, w) = env.transport.connect(addr).await?;
    let mut w = BufWriter::new(w);
    write_frame(
        &mut w,
        &Hello {
            magic: MAGIC,
            from: my_id,
        },
    )
    .await?;
    Ok((BufReader::new(r), w))
}

impl PeerClient {
    async fn exchange(&mut self, request: &PeerRequest) -> Result<PeerResponse, WireError> {
        if self.conn.is_none() {
            self.conn = Some(connect(&self.env, &self.addr, self.my_id).await?);
        }
        let Some((r, w)) = self.conn.as_mut() else {
            return Err(WireError::Io(std::io::Error::other("not connected")));
        };
        write_frame(w, request).await?;
        tokio::io::AsyncWriteExt::flush(w).await?;
        match read_frame(r).await? {
            Some(response) => Ok(response),
            None => Err(WireError::Io(std::io::ErrorKind::UnexpectedEof.into())),
        }
    }

    /// One request and its response within `timeout`; any failure drops the connection.
    async fn call(
        &mut self,
        request: PeerRequest,
        timeout: Duration,
    ) -> Result<PeerResponse, RPCError<TypeConfig>> {
        let result = tokio::time::timeout(timeout, self.exchange(&request)).await;
        match result {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(WireError::Io(e)))
                if self.conn.is_none() || e.kind() == std::io::ErrorKind::ConnectionRefused =>
            {
                self.conn = None;
                Err(RPCError::Unreachable(Unreachable::new(&e)))
            }
            Ok(Err(e)) => {
                self.conn = None;
                Err(RPCError::Network(NetworkError::new(&e)))
            }
            Err(elapsed) => {
                self.conn = None;
                Err(RPCError::Unreachable(Unreachable::new(&elapsed)))
            }
        }
    }
}

fn unexpected(what: &str, got: &PeerResponse) -> RPCError<TypeConfig> {
    RPCError::Network(NetworkError::from_string(format!(
        "expected a {what} response, got {got:?}"
    )))
}

fn remote(e: String) -> RPCError<TypeConfig> {
    RPCError::Unreachable(Unreachable::from_string(e))
}

impl RaftNetworkV2<TypeConfig> for PeerClient {
    type SnapshotData = SnapshotFile;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<TypeConfig>, RPCError<TypeConfig>> {
        match self
            .call(PeerRequest::Append(rpc), option.hard_ttl())
            .await?
        {
            PeerResponse::Append(r) => r.map_err(remote),
            other => Err(unexpected("append", &other)),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        match self.call(PeerRequest::Vote(rpc), option.hard_ttl()).await? {
            PeerResponse::Vote(r) => r.map_err(remote),
            other => Err(unexpected("vote", &other)),
        }
    }

    async fn pre_vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        match self
            .call(PeerRequest::PreVote(rpc), option.hard_ttl())
            .await?
        {
            PeerResponse::Vote(r) => r.map_err(remote),
            other => Err(unexpected("pre-vote", &other)),
        }
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote,
        snapshot: Snapshot,
        cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        _option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        tokio::pin!(cancel);
        tokio::select! {
            closed = &mut cancel => {
                self.conn = None;
                Err(StreamingError::Closed(closed))
            }
            result = self.send_snapshot(vote, snapshot) => result,
        }
    }
}

impl PeerClient {
    async fn send_snapshot(
        &mut self,
        vote: Vote,
        snapshot: Snapshot,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        let to_streaming = |e: RPCError<TypeConfig>| match e {
            RPCError::Unreachable(u) => StreamingError::Unreachable(u),
            RPCError::Network(n) => StreamingError::Network(n),
            other => StreamingError::Network(NetworkError::from_string(other.to_string())),
        };
        let begin = PeerRequest::SnapshotBegin {
            vote,
            meta: snapshot.meta.clone(),
        };
        self.send_only(begin).await.map_err(to_streaming)?;
        let path = snapshot.snapshot.path.clone();
        let fs = self.env.fs.clone();
        let mut source = self
            .env
            .run_blocking(move || storage::SnapshotReader::open_with(&*fs, &path).map(FileSource))
            .await
            .map_err(|e| StreamingError::Network(NetworkError::new(&e)))?
            .map_err(|e| StreamingError::Network(NetworkError::new(&e)))?;
        loop {
            let (chunk, back) = self
                .env
                .run_blocking(move || {
                    let mut buf = vec![0u8; SNAPSHOT_CHUNK];
                    let mut filled = 0;
                    while filled < buf.len() {
                        match source.read(&mut buf[filled..]) {
                            Ok(0) => break,
                            Ok(n) => filled += n,
                            Err(e) => return (Err(e), source),
                        }
                    }
                    buf.truncate(filled);
                    (Ok(buf), source)
                })
                .await
                .map_err(|e| StreamingError::Network(NetworkError::new(&e)))?;
            source = back;
            let chunk = chunk.map_err(|e| StreamingError::Network(NetworkError::new(&e)))?;
            if chunk.is_empty() {
                break;
            }
            self.send_only(PeerRequest::SnapshotChunk(chunk.into()))
                .await
                .map_err(to_streaming)?;
        }
        // Installing may take a while on the receiver (decoding a large tree): no fixed deadline
        // beyond a generous one for a stuck peer.
        match self
            .call(PeerRequest::SnapshotEnd, Duration::from_secs(600))
            .await
            .map_err(to_streaming)?
        {
            PeerResponse::Snapshot(Ok(response)) => Ok(response),
            PeerResponse::Snapshot(Err(e)) => {
                Err(StreamingError::Unreachable(Unreachable::from_string(e)))
            }
            other => Err(StreamingError::Network(NetworkError::from_string(format!(
                "expected a snapshot response, got {other:?}"
            )))),
        }
    }

    /// Sends a request that has no response of its own (snapshot begin and chunks).
    async fn send_only(&mut self, request: PeerRequest) -> Result<(), RPCError<TypeConfig>> {
        let attempt = async {
            if self.conn.is_none() {
                self.conn = Some(connect(&self.env, &self.addr, self.my_id).await?);
            }
            let Some((_, w)) = self.conn.as_mut() else {
                return Err(WireError::Io(std::io::Error::other("not connected")));
            };
            write_frame(w, &request).await?;
            tokio::io::AsyncWriteExt::flush(w).await?;
            Ok(())
        };
        match tokio::time::timeout(CHUNK_TIMEOUT, attempt).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                self.conn = None;
                Err(RPCError::Unreachable(Unreachable::new(&e)))
            }
            Err(elapsed) => {
                self.conn = None;
                Err(RPCError::Unreachable(Unreachable::new(&elapsed)))
            }
        }
    }
}
