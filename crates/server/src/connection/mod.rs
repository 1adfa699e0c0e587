//! One client connection: the handshake, then requests in and replies and events out.
//!
//! One task per connection, so a slow or stalled client only ever blocks itself. Replies and
//! events are drained from the outbound queue in batches and written with one syscall.

mod auth;
mod pipeline;

use crate::apply::ApplyInput;
use crate::connection_stats::ConnectionStats;
use crate::context::ServerContext;
use crate::four_letter;
use crate::outbound::{
    encode_event, encode_reply, outbound_queue, Outbound, OutboundRx, OutboundTx, ReplyBody,
};
use crate::proposal::{Origin, Proposal};
use crate::sessions::{new_password, Liveness};
use crate::wire::{read_some, write_all, DirectSocket, Wire};
use bytes::{Bytes, BytesMut};
use jute::proto::RequestHeader;
use jute::{xid, ConnectRequest, ConnectResponse, ErrorCode, Frame, FrameDecoder, OpCode};
use jute::{Id, Reader, Record, Request};
use pipeline::Pipeline;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tree::{Identity, Txn};

/// How many queued replies/events one write batch takes.
const WRITE_BATCH: usize = 256;

/// Encoded bytes after which a batch is written out before encoding more, so large replies to a
/// slow client never pile up in one buffer.
const FLUSH_BYTES: usize = 256 * 1024;

/// Why a connection ended abnormally (logged, never sent to the client).
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("bad frame: {0}")]
    Frame(#[from] jute::FrameError),
    #[error("malformed packet: {0}")]
    Decode(#[from] jute::DecodeError),
    #[error("unknown op code {0}")]
    UnknownOp(i32),
    #[error("client has seen zxid {client:#x}, this server only {server:#x}")]
    ZxidAhead { client: i64, server: i64 },
    #[error("server shutting down")]
    Shutdown,
    #[error("this server is not part of a working quorum")]
    NotServing,
    #[error("the ensemble's leader changed; the client reconnects and retries")]
    LeaderChanged,
    #[error("authentication failed")]
    AuthFailed,
    #[error("client did not read its replies within {0:?}")]
    WriteTimeout(std::time::Duration),
}

impl From<pipeline::PipelineError> for ConnectionError {
    fn from(_: pipeline::PipelineError) -> Self {
        ConnectionError::Shutdown
    }
}

/// Serves one accepted socket until it closes.
pub async fn serve(ctx: Arc<ServerContext>, stream: TcpStream, peer: SocketAddr) {
    let conn_id = ctx.next_conn_id();
    let stats = ctx.connections.open(
        conn_id,
        peer,
        consensus::Clock::now_ms(&consensus::SystemClock),
    );
    let mut conn = Connection {
        ctx,
        stream: Arc::new(stream),
        peer,
        conn_id,
        stats,
        write_timeout: std::time::Duration::from_secs(30),
        decoder: None,
        read_buf: BytesMut::with_capacity(16 * 1024),
        write_buf: BytesMut::with_capacity(16 * 1024),
    };
    let result = conn.run().await;
    match &result {
        Ok(()) => tracing::debug!(%peer, conn_id, "connection closed"),
        Err(ConnectionError::Io(e)) => tracing::debug!(%peer, conn_id, "connection closed: {e}"),
        Err(e) => tracing::warn!(%peer, conn_id, "closing connection: {e}"),
    }
    let _ = conn.ctx.apply.send(ApplyInput::Disconnect { conn_id });
    conn.ctx.connections.close(conn_id);
    let outstanding = conn.stats.outstanding.load(Ordering::Relaxed);
    conn.ctx
        .stats
        .outstanding_requests
        .fetch_sub(outstanding, Ordering::Relaxed);
}

struct Connection {
    ctx: Arc<ServerContext>,
    /// Shared with the apply task, which may write watch events to it (see [`crate::wire`]).
    stream: Arc<TcpStream>,
    peer: SocketAddr,
    conn_id: u64,
    stats: Arc<ConnectionStats>,
    /// How long one write may wait for a client that is not reading: its session timeout, after
    /// which the session would have expired anyway.
    write_timeout: std::time::Duration,
    decoder: Option<FrameDecoder>,
    read_buf: BytesMut,
    write_buf: BytesMut,
}

/// The live half of a connection, after the handshake.
struct Session {
    identity: Arc<Identity>,
    liveness: Arc<Liveness>,
    pipeline: Pipeline,
    outbound: OutboundRx,
    /// Arrival times of requests in flight, for latency statistics (replies come back in order).
    started: std::collections::VecDeque<Instant>,
    /// The ensemble status; the connection closes when its epoch moves past `epoch`.
    status: tokio::sync::watch::Receiver<consensus::Status>,
    epoch: u64,
}

impl Connection {
    async fn run(&mut self) -> Result<(), ConnectionError> {
        self.decoder = Some(FrameDecoder::new(self.ctx.limits.max_buffer));
        let first = match self.next_frame().await? {
            Some(frame) => frame,
            None => return Ok(()),
        };
        let connect = match first {
            Frame::FourLetterWord(word) => {
                let text = four_letter::answer(&self.ctx, word, self.conn_id).await;
                write_all(&self.stream, text.as_bytes()).await?;
                // Nobody else has the stream before a session starts.
                if let Some(stream) = Arc::get_mut(&mut self.stream) {
                    stream.shutdown().await?;
                }
                return Ok(());
            }
            Frame::Packet(body) => ConnectRequest::from_bytes(body)?,
        };
        let Some(mut session) = self.handshake(connect).await? else {
            return Ok(());
        };
        let result = self.serve_session(&mut session).await;
        session.outbound.wire().close();
        result
    }

    /// Reads until one whole frame is buffered; `None` at a clean end of stream.
    async fn next_frame(&mut self) -> Result<Option<Frame>, ConnectionError> {
        loop {
            if let Some(decoder) = self.decoder.as_mut() {
                if let Some(frame) = decoder.decode(&mut self.read_buf)? {
                    return Ok(Some(frame));
                }
            }
            if read_some(&self.stream, &mut self.read_buf).await? == 0 {
                return Ok(None);
            }
        }
    }

    async fn handshake(&mut self, req: ConnectRequest) -> Result<Option<Session>, ConnectionError> {
        let mut status = self.ctx.consensus.status();
        let (epoch, read_only) = {
            let now = status.borrow_and_update();
            let read_only = !now.serving;
            // A member recovering damaged state from its peers has an incomplete tree: no
            // session at all, not even a read-only one, until it has caught up.
            let may_read_only = self.ctx.config.read_only_mode_enabled && !now.recovering;
            if read_only && !(may_read_only && req.read_only == Some(true)) {
                // As ZooKeeper: a server outside a working quorum closes new connections, and the
                // client tries the next server in its list; with `readonlymode.enabled`, clients
                // that allow it get a read-only session instead.
                return Err(ConnectionError::NotServing);
            }
            (now.epoch, read_only)
        };
        let server_zxid = self.ctx.applied_zxid();
        if req.last_zxid_seen > server_zxid {
            // The client saw a newer state elsewhere; serving it here would travel back in time.
            return Err(ConnectionError::ZxidAhead {
                client: req.last_zxid_seen,
                server: server_zxid,
            });
        }
        let timeout_ms = self.ctx.limits.negotiate_timeout(req.timeout_ms);
        let (tx, mut rx) = outbound_queue(Some(DirectSocket {
            stream: Arc::downgrade(&self.stream),
            stats: Arc::clone(&self.stats),
            server_stats: Arc::clone(&self.ctx.stats),
        }));
        let identity = Arc::new(Identity {
            ids: vec![Id::new("ip", self.peer.ip().to_string())],
        });
        let session_id = if req.session_id == 0 && read_only {
            // A local session: nothing can be written to the log without a quorum.
            let session_id = self.ctx.session_ids.next_id();
            self.ctx
                .apply
                .send(ApplyInput::Register {
                    conn_id: self.conn_id,
                    session_id,
                    outbound: tx.clone(),
                    identity: Arc::clone(&identity),
                })
                .map_err(|_| ConnectionError::Shutdown)?;
            let _ = tx.send(Outbound::Connected {
                session_id,
                timeout_ms,
                passwd: crate::sessions::new_password(),
            });
            session_id
        } else if req.session_id == 0 {
            self.create_session(tx, timeout_ms, &identity)?
        } else {
            // In an ensemble this member may not have applied the session's close or expiry yet:
            // like a ZooKeeper follower revalidating with the leader, it first puts a barrier
            // through the log and checks the session only once that barrier is applied here.
            let barrier = !read_only && self.ctx.consensus.role() != consensus::Role::Standalone;
            self.ctx
                .apply
                .send(ApplyInput::Attach {
                    conn_id: self.conn_id,
                    session_id: req.session_id,
                    passwd: req.passwd.clone(),
                    timeout_ms,
                    outbound: tx,
                    after_barrier: barrier,
                    identity: Arc::clone(&identity),
                })
                .map_err(|_| ConnectionError::Shutdown)?;
            if barrier {
                self.propose_attach_barrier(req.session_id)?;
            }
            req.session_id
        };
        let read_only_reply = req.read_only.map(|_| read_only);
        // A session is created or revalidated through the log; if the leader changes meanwhile
        // the entry may be lost, so the connection closes and the client tries again.
        let answer = tokio::select! {
            answer = rx.recv() => answer,
            () = epoch_moved(&mut status, epoch) => return Err(ConnectionError::LeaderChanged),
        };
        let response = match answer {
            Some(Outbound::Connected {
                session_id,
                timeout_ms,
                passwd,
            }) => ConnectResponse {
                protocol_version: 0,
                timeout_ms,
                session_id,
                passwd,
                read_only: read_only_reply,
            },
            Some(_) => {
                // Expired or closed before it started: ZooKeeper's "session expired" answer.
                let response = ConnectResponse {
                    protocol_version: 0,
                    timeout_ms: 0,
                    session_id: 0,
                    passwd: Bytes::from_static(&[0u8; 16]),
                    read_only: read_only_reply,
                };
                self.write_record(&response).await?;
                tracing::info!(peer = %self.peer, "session {session_id:#x} expired or invalid");
                return Ok(None);
            }
            None => return Err(ConnectionError::Shutdown),
        };
        self.write_record(&response).await?;
        self.stats
            .session_id
            .store(response.session_id, Ordering::Relaxed);
        self.stats
            .session_timeout_ms
            .store(response.timeout_ms, Ordering::Relaxed);
        tracing::debug!(peer = %self.peer, "session {session_id:#x} established, timeout {timeout_ms} ms");
        Ok(Some(Session {
            identity,
            liveness: self.ctx.tracker.register(session_id, timeout_ms as u32),
            pipeline: {
                let mut pipeline = Pipeline::new(self.conn_id, session_id);
                if read_only {
                    pipeline.set_read_only();
                }
                pipeline
            },
            outbound: rx,
            started: std::collections::VecDeque::new(),
            status,
            epoch,
        }))
    }

    /// Proposes the barrier an ensemble member applies before it re-attaches `session_id`; every
    /// member hands the session to this one when it applies it.
    fn propose_attach_barrier(&self, session_id: i64) -> Result<(), ConnectionError> {
        self.ctx
            .consensus
            .propose(Arc::new(Proposal {
                session_id,
                origin: Some(Origin {
                    server_id: self.ctx.server_id,
                    conn_id: self.conn_id,
                    xid: crate::apply::ATTACH_BARRIER_XID,
                    op: OpCode::Sync,
                }),
                identity: Arc::new(Identity { ids: Vec::new() }),
                txn: Txn::Sync { path: "/".into() },
            }))
            .map_err(|_| ConnectionError::NotServing)
    }

    fn create_session(
        &self,
        outbound: OutboundTx,
        timeout_ms: i32,
        identity: &Arc<Identity>,
    ) -> Result<i64, ConnectionError> {
        let session_id = self.ctx.session_ids.next_id();
        self.ctx
            .apply
            .send(ApplyInput::Register {
                conn_id: self.conn_id,
                session_id,
                outbound,
                identity: Arc::clone(identity),
            })
            .map_err(|_| ConnectionError::Shutdown)?;
        self.ctx
            .consensus
            .propose(Arc::new(Proposal {
                session_id,
                origin: Some(Origin {
                    server_id: self.ctx.server_id,
                    conn_id: self.conn_id,
                    xid: 0,
                    op: OpCode::CreateSession,
                }),
                identity: Arc::clone(identity),
                txn: Txn::CreateSession {
                    timeout_ms,
                    passwd: new_password(),
                },
            }))
            .map_err(|_| ConnectionError::Shutdown)?;
        Ok(session_id)
    }

    async fn write_record(&mut self, record: &impl Record) -> Result<(), ConnectionError> {
        let mut out = BytesMut::new();
        out.extend_from_slice(&[0u8; 4]);
        record.encode(&mut out);
        crate::outbound::patch_length(&mut out, 0);
        write_all(&self.stream, &out).await?;
        Ok(())
    }

    async fn serve_session(&mut self, s: &mut Session) -> Result<(), ConnectionError> {
        let result = self.serve_requests(s).await;
        // Writes of the last round still go to the log, as they would had the connection stayed.
        s.pipeline.commit_round(&self.ctx, false);
        result
    }

    async fn serve_requests(&mut self, s: &mut Session) -> Result<(), ConnectionError> {
        let mut batch = Vec::with_capacity(WRITE_BATCH);
        // The connect response is out: from now on the apply task may write events directly.
        s.outbound.wire().release(0);
        loop {
            // Everything read or answered since the last turn has been routed: its writes go
            // to the log as one batch, before this task waits again.
            s.pipeline.commit_round(&self.ctx, true);
            let may_read =
                s.pipeline.outstanding() < self.ctx.limits.max_outstanding_per_connection;
            tokio::select! {
                biased;
                n = s.outbound.recv_many(&mut batch, WRITE_BATCH) => {
                    if n == 0 {
                        // The apply task dropped this connection (queue overflow) or is gone.
                        return Err(ConnectionError::Shutdown);
                    }
                    let close = self.write_outbound(s, &mut batch).await?;
                    if close {
                        return Ok(());
                    }
                    // Replies made room under the cap for requests already buffered.
                    if !self.read_buf.is_empty() {
                        self.process_frames(s).await?;
                    }
                }
                read = read_some(&self.stream, &mut self.read_buf), if may_read => {
                    if read? == 0 {
                        return Ok(());
                    }
                    self.process_frames(s).await?;
                }
                changed = s.status.changed() => {
                    if changed.is_err() || s.status.borrow_and_update().epoch != s.epoch {
                        return Err(ConnectionError::LeaderChanged);
                    }
                }
            }
        }
    }

    /// Encodes and writes a batch of outbound messages; true if the connection must close.
    async fn write_outbound(
        &mut self,
        s: &mut Session,
        batch: &mut Vec<Outbound>,
    ) -> Result<bool, ConnectionError> {
        let mut close = false;
        let taken = batch.len();
        for msg in batch.drain(..) {
            if self.write_buf.len() >= FLUSH_BYTES {
                self.flush(s.outbound.wire(), 0).await?;
            }
            match msg {
                Outbound::Reply {
                    xid,
                    zxid,
                    err,
                    body,
                    write,
                } => {
                    encode_reply(xid, zxid, err, &body, &mut self.write_buf);
                    if let Some(t) = s.started.pop_front() {
                        let latency_us = t.elapsed().as_micros() as u64;
                        self.ctx.stats.record_latency_us(latency_us);
                        self.stats
                            .record_reply(latency_us, zxid, self.ctx.tracker.now_ms());
                    }
                    self.stats.outstanding.fetch_sub(1, Ordering::Relaxed);
                    self.ctx
                        .stats
                        .outstanding_requests
                        .fetch_sub(1, Ordering::Relaxed);
                    s.pipeline.replied(&self.ctx, write)?;
                }
                Outbound::Event { event, path, zxid } => {
                    encode_event(event, &path, zxid, &mut self.write_buf)
                }
                Outbound::EventFrame(frame) => self.write_buf.extend_from_slice(&frame),
                Outbound::FrameRest(rest) => {
                    // Counted as sent when the apply task wrote its first part.
                    self.write_buf.extend_from_slice(&rest);
                    continue;
                }
                Outbound::Close | Outbound::Expired => {
                    // Nothing queued after the close may reach the client: a read the apply task
                    // answered after expiring this session must look unanswered, as in ZooKeeper.
                    // Breaking drops the rest of the drained batch, and closing the wire keeps
                    // direct writes off it too.
                    s.outbound.wire().close();
                    close = true;
                    break;
                }
                Outbound::Connected { .. } => {}
            }
            self.ctx.stats.packets_sent.fetch_add(1, Ordering::Relaxed);
            self.stats.packets_sent.fetch_add(1, Ordering::Relaxed);
        }
        self.flush(s.outbound.wire(), taken).await?;
        Ok(close)
    }

    /// Writes what is encoded, keeping the apply task off the socket meanwhile; `written` queued
    /// messages are then on the wire.
    async fn flush(&mut self, wire: &Wire, written: usize) -> Result<(), ConnectionError> {
        if !self.write_buf.is_empty() {
            wire.hold();
            tokio::time::timeout(self.write_timeout, write_all(&self.stream, &self.write_buf))
                .await
                .map_err(|_| ConnectionError::WriteTimeout(self.write_timeout))??;
            self.write_buf.clear();
        } else if written == 0 {
            return Ok(());
        }
        wire.release(written);
        Ok(())
    }

    async fn process_frames(&mut self, s: &mut Session) -> Result<(), ConnectionError> {
        let cap = self.ctx.limits.max_outstanding_per_connection;
        // Frames beyond the cap stay buffered until replies make room: backpressure must count
        // what is already read, not only what is still in the socket.
        while s.pipeline.outstanding() < cap {
            let frame = match self.decoder.as_mut() {
                Some(decoder) => decoder.decode(&mut self.read_buf)?,
                None => None,
            };
            let Some(Frame::Packet(body)) = frame else {
                break;
            };
            self.ctx
                .stats
                .packets_received
                .fetch_add(1, Ordering::Relaxed);
            s.liveness.touch(self.ctx.tracker.now_ms());
            let mut reader = Reader::new(body);
            let header = RequestHeader::decode(&mut reader)?;
            let Some(op) = OpCode::from_i32(header.op) else {
                // ZooKeeper answers Unimplemented, then closes the connection.
                encode_reply(
                    header.xid,
                    -1,
                    ErrorCode::Unimplemented,
                    &ReplyBody::Empty,
                    &mut self.write_buf,
                );
                self.flush(s.outbound.wire(), 0).await?;
                return Err(ConnectionError::UnknownOp(header.op));
            };
            let request = Request::decode(op, &mut reader)?;
            match request {
                Request::Ping => {
                    let zxid = self.ctx.applied_zxid();
                    encode_reply(
                        xid::PING,
                        zxid,
                        ErrorCode::Ok,
                        &ReplyBody::Empty,
                        &mut self.write_buf,
                    );
                }
                // ZooKeeper echoes the request's xid (clients normally send −4, not all do).
                Request::Auth(packet) => {
                    let super_digest = self.ctx.limits.super_digest.as_deref();
                    match auth::authenticate(&s.identity, &packet, super_digest) {
                        Some(identity) => {
                            s.identity = Arc::new(identity);
                            // Watch events from now on are checked against the new ids.
                            let _ = self.ctx.apply.send(ApplyInput::Authenticated {
                                conn_id: self.conn_id,
                                identity: Arc::clone(&s.identity),
                            });
                            encode_reply(
                                header.xid,
                                0,
                                ErrorCode::Ok,
                                &ReplyBody::Empty,
                                &mut self.write_buf,
                            );
                        }
                        None => {
                            tracing::info!(peer = %self.peer, scheme = %packet.scheme, "authentication failed");
                            encode_reply(
                                header.xid,
                                0,
                                ErrorCode::AuthFailed,
                                &ReplyBody::Empty,
                                &mut self.write_buf,
                            );
                            self.flush(s.outbound.wire(), 0).await?;
                            return Err(ConnectionError::AuthFailed);
                        }
                    }
                }
                request => {
                    self.stats.last_cxid.store(header.xid, Ordering::Relaxed);
                    self.stats.outstanding.fetch_add(1, Ordering::Relaxed);
                    self.ctx
                        .stats
                        .outstanding_requests
                        .fetch_add(1, Ordering::Relaxed);
                    s.started.push_back(Instant::now());
                    s.pipeline
                        .submit(&self.ctx, header.xid, request, &s.identity)?;
                }
            }
        }
        self.flush(s.outbound.wire(), 0).await
    }
}

/// Resolves once the ensemble status epoch moves past `epoch` (never, if the status is gone).
async fn epoch_moved(status: &mut tokio::sync::watch::Receiver<consensus::Status>, epoch: u64) {
    loop {
        if status.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
        if status.borrow_and_update().epoch != epoch {
            return;
        }
    }
}
