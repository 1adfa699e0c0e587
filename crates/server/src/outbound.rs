//! What the apply task (and the connection itself) sends back to a client connection.
//!
//! Replies travel as typed values and are encoded on the connection's own task, so serialisation
//! runs in parallel across connections instead of on the single apply task. A watch event carries
//! the path as a shared `Arc<str>`: one allocation however many watchers receive it. An event for an
//! idle connection usually never enters the queue: the apply task writes it directly (`crate::wire`).

use crate::wire::{DirectSocket, Wire};
use bytes::{Bytes, BytesMut};
use jute::proto::{ReplyHeader, WatcherEvent};
use jute::{multi, Acl, ClientInfo, ErrorCode, EventType, KeeperState, MultiResult, Record, Stat};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Messages one connection may have queued before the server gives up on it. A client that does
/// not read while watches keep firing would otherwise grow the queue without bound.
pub const MAX_QUEUED_PER_CONNECTION: usize = 100_000;

/// The sending half of a connection's outbound queue.
#[derive(Debug, Clone)]
pub struct OutboundTx {
    tx: mpsc::UnboundedSender<Outbound>,
    wire: Arc<Wire>,
}

/// Why a message was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// The connection is gone.
    Closed,
    /// The connection has [`MAX_QUEUED_PER_CONNECTION`] messages it has not written yet.
    Full,
}

impl OutboundTx {
    pub fn send(&self, msg: Outbound) -> Result<(), SendError> {
        if !self.wire.reserve(MAX_QUEUED_PER_CONNECTION) {
            return Err(SendError::Full);
        }
        self.tx.send(msg).map_err(|_| SendError::Closed)
    }

    /// Delivers an encoded watch event: written straight to the socket when nothing is queued
    /// ahead of it (see [`crate::wire`]), otherwise queued.
    pub fn send_event(&self, frame: &Bytes) -> Result<(), SendError> {
        let direct = self.wire.try_direct(frame, |rest| {
            // A closed queue means the connection is ending; the rest no longer matters.
            let _ = self.tx.send(Outbound::FrameRest(rest));
        });
        if direct {
            return Ok(());
        }
        self.send(Outbound::EventFrame(frame.clone()))
    }
}

/// The receiving half of a connection's outbound queue.
#[derive(Debug)]
pub struct OutboundRx {
    rx: mpsc::UnboundedReceiver<Outbound>,
    wire: Arc<Wire>,
}

impl OutboundRx {
    /// Waits for at least one message and takes up to `limit`; 0 once every sender is gone. The
    /// messages count as unwritten until [`Wire::release`] says they were written.
    pub async fn recv_many(&mut self, buf: &mut Vec<Outbound>, limit: usize) -> usize {
        self.rx.recv_many(buf, limit).await
    }

    /// Takes one message that the caller answers itself (the handshake's outcome).
    pub async fn recv(&mut self) -> Option<Outbound> {
        let msg = self.rx.recv().await;
        if msg.is_some() {
            self.wire.consumed(1);
        }
        msg
    }

    /// Who may write to the socket; the connection task holds it while writing.
    pub fn wire(&self) -> &Wire {
        &self.wire
    }
}

/// A new outbound queue for one connection. With `direct`, the apply task may write watch events
/// straight to that socket once the connection task releases the wire.
pub fn outbound_queue(direct: Option<DirectSocket>) -> (OutboundTx, OutboundRx) {
    let (tx, rx) = mpsc::unbounded_channel();
    let wire = Arc::new(Wire::new(direct));
    (
        OutboundTx {
            tx,
            wire: Arc::clone(&wire),
        },
        OutboundRx { rx, wire },
    )
}

/// The body that follows a successful reply header; each variant is laid out as the jute response
/// record of the ops that use it (e.g. `Data` = `GetDataResponse`, `Children2` = `GetChildren2Response`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyBody {
    Empty,
    Stat(Stat),
    Data {
        /// `None` for a node holding null data: answered as a null buffer, as ZooKeeper does.
        data: Option<Bytes>,
        stat: Stat,
    },
    Children(Vec<String>),
    Children2 {
        children: Vec<String>,
        stat: Stat,
    },
    Create(String),
    Create2 {
        path: String,
        stat: Stat,
    },
    Acl {
        acl: Vec<Acl>,
        stat: Stat,
    },
    Multi(Vec<MultiResult>),
    Path(String),
    Paths(Vec<String>),
    Count(i32),
    WhoAmI(Vec<ClientInfo>),
    /// `addWatch` answers with an `ErrorResponse` body even on success; the Java client reads it.
    ErrorResponse(ErrorCode),
}

/// A message for one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    /// A reply to request `xid`. `write` marks replies to writes, which release held reads.
    Reply {
        xid: i32,
        zxid: i64,
        err: ErrorCode,
        body: ReplyBody,
        write: bool,
    },
    /// A watch notification.
    Event {
        event: EventType,
        path: Arc<str>,
        zxid: i64,
    },
    /// The handshake finished: the session exists (new or re-attached).
    Connected {
        session_id: i64,
        timeout_ms: i32,
        passwd: Bytes,
    },
    /// The handshake named a session that is gone or gave the wrong password.
    Expired,
    /// Flush what is queued, then close the connection (session closed, expired or moved).
    Close,
    /// A watch event already encoded; every watcher of one change shares the same bytes.
    EventFrame(Bytes),
    /// The rest of an event frame the apply task began writing straight to the socket.
    FrameRest(Bytes),
}

/// Appends one length-prefixed reply frame to `out`.
pub fn encode_reply(xid: i32, zxid: i64, err: ErrorCode, body: &ReplyBody, out: &mut BytesMut) {
    let start = out.len();
    out.extend_from_slice(&[0u8; 4]);
    ReplyHeader {
        xid,
        zxid,
        err: err.as_i32(),
    }
    .encode(out);
    if err.is_ok() {
        encode_body(body, out);
    }
    patch_length(out, start);
}

/// Appends one length-prefixed watch notification frame to `out`.
pub fn encode_event(event: EventType, path: &str, zxid: i64, out: &mut BytesMut) {
    let start = out.len();
    out.extend_from_slice(&[0u8; 4]);
    ReplyHeader {
        xid: jute::xid::NOTIFICATION,
        zxid,
        err: 0,
    }
    .encode(out);
    WatcherEvent {
        event_type: event as i32,
        state: KeeperState::SyncConnected as i32,
        path: path.to_owned(),
    }
    .encode(out);
    patch_length(out, start);
}

/// Writes the frame length into the 4 bytes reserved at `start`.
pub fn patch_length(out: &mut BytesMut, start: usize) {
    let len = (out.len() - start - 4) as i32;
    out[start..start + 4].copy_from_slice(&len.to_be_bytes());
}

fn encode_body(body: &ReplyBody, out: &mut BytesMut) {
    match body {
        ReplyBody::Empty => {}
        ReplyBody::Stat(stat) => stat.encode(out),
        ReplyBody::Data { data, stat } => {
            // Encoded field by field so the znode's data is copied once, into the frame.
            data.encode(out);
            stat.encode(out);
        }
        ReplyBody::Children(children) => children.encode(out),
        ReplyBody::Children2 { children, stat } => {
            children.encode(out);
            stat.encode(out);
        }
        ReplyBody::Create(path) => path.encode(out),
        ReplyBody::Create2 { path, stat } => {
            path.encode(out);
            stat.encode(out);
        }
        ReplyBody::Acl { acl, stat } => {
            acl.encode(out);
            stat.encode(out);
        }
        ReplyBody::Multi(results) => multi::encode_multi_response(results, out),
        ReplyBody::Path(path) => path.encode(out),
        ReplyBody::Paths(paths) => paths.encode(out),
        ReplyBody::Count(n) => n.encode(out),
        ReplyBody::WhoAmI(infos) => infos.encode(out),
        ReplyBody::ErrorResponse(err) => err.as_i32().encode(out),
    }
}
