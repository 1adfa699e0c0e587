//! One connection's outbound side: the writer's queue and the requests awaiting replies.

use super::command::{frame_with, AuthWaiter, OnReply, ReplyResult};
use bytes::{Bytes, BytesMut};
use jute::proto::AuthPacket;
use jute::{xid, OpCode, Record};
use std::collections::VecDeque;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// A request on the wire, waiting for its reply.
#[derive(Debug)]
pub(super) struct Pending {
    pub(super) xid: i32,
    pub(super) op: OpCode,
    pub(super) reply: Option<oneshot::Sender<ReplyResult>>,
    pub(super) on_reply: Option<OnReply>,
}

/// Delivers a result to a caller that may have stopped waiting.
pub(super) fn reply(tx: Option<oneshot::Sender<ReplyResult>>, result: ReplyResult) {
    if let Some(tx) = tx {
        // The caller may have given up waiting.
        let _ = tx.send(result);
    }
}

/// The connection's outbound side and what is in flight on it.
pub(super) struct Io {
    pub(super) wtx: mpsc::UnboundedSender<Bytes>,
    pub(super) pending: VecDeque<Pending>,
    /// Callers of `add_auth` in the order of their packets (`None` for replayed packets).
    pub(super) auth_pending: VecDeque<Option<AuthWaiter>>,
    pub(super) last_send: Instant,
}

impl Io {
    /// Queues a frame for the writer. A frame with a `Pending` expects an in-order reply.
    pub(super) fn send_raw(&mut self, frame: BytesMut, pending: impl Into<Option<Pending>>) {
        // If the writer is gone, the serve loop sees it and fails what is pending.
        let _ = self.wtx.send(frame.freeze());
        if let Some(p) = pending.into() {
            self.pending.push_back(p);
        }
        self.last_send = Instant::now();
    }

    pub(super) fn send_auth(&mut self, scheme: &str, auth: &Bytes, waiter: Option<AuthWaiter>) {
        let packet = AuthPacket {
            auth_type: 0,
            scheme: scheme.to_string(),
            auth: auth.clone(),
        };
        // Auth replies are matched by their special xid, not by position: ZooKeeper answers
        // them as soon as they are read, ahead of earlier requests still in its pipeline.
        self.send_raw(
            frame_with(xid::AUTH, OpCode::Auth, |b| packet.encode(b)),
            None,
        );
        self.auth_pending.push_back(waiter);
    }
}
