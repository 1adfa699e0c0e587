//! What client handles send to the session task: requests with their frames, and the actions
//! that replies trigger.

use super::watches::Registration;
use crate::error::Error;
use bytes::{Bytes, BytesMut};
use jute::{AddWatchMode, OpCode, WatcherType};
use tokio::sync::oneshot;

/// A reply body, or why there is none.
pub(crate) type ReplyResult = Result<Bytes, Error>;

/// What the application asks of the session task.
#[derive(Debug)]
pub(crate) enum Command {
    /// A request to send (including `closeSession`).
    Request(Outgoing),
    /// An `auth` packet; it is also replayed on every later connection.
    AddAuth {
        scheme: String,
        auth: Bytes,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    /// A [`crate::PersistentWatcher`] was dropped.
    ForgetWatcher {
        mode: AddWatchMode,
        server_path: String,
        id: u64,
    },
    /// A request went unanswered past the request timeout: drop the connection, as
    /// ZooKeeper's client does, and re-attach the session.
    DropConnection,
}

/// What to do with the session's state when a reply arrives, before the caller sees it.
#[derive(Debug)]
pub(crate) enum OnReply {
    /// Register a watch (on success, or on NoNode for `exists`).
    Register(Registration),
    /// The server removed watches: drop them here and tell their holders.
    RemoveWatches {
        server_path: String,
        watcher_type: WatcherType,
    },
}

/// A request ready to go: its frame with a placeholder xid, and where its reply goes.
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub(crate) op: OpCode,
    pub(crate) frame: BytesMut,
    pub(crate) reply: Option<oneshot::Sender<ReplyResult>>,
    pub(crate) on_reply: Option<OnReply>,
}

impl Outgoing {
    /// A request of `op` whose body `encode` writes; the xid is assigned when it is sent.
    pub(crate) fn new(
        op: OpCode,
        encode: impl FnOnce(&mut BytesMut),
        reply: oneshot::Sender<ReplyResult>,
        on_reply: Option<OnReply>,
    ) -> Outgoing {
        Outgoing {
            op,
            frame: frame_with(0, op, encode),
            reply: Some(reply),
            on_reply,
        }
    }
}

/// A frame: length prefix, `RequestHeader{xid, op}`, body.
pub(crate) fn frame_with(xid: i32, op: OpCode, encode: impl FnOnce(&mut BytesMut)) -> BytesMut {
    let mut frame = BytesMut::with_capacity(64);
    frame.extend_from_slice(&[0; 4]);
    frame.extend_from_slice(&xid.to_be_bytes());
    frame.extend_from_slice(&op.as_i32().to_be_bytes());
    encode(&mut frame);
    let len = (frame.len() - 4) as i32;
    frame[..4].copy_from_slice(&len.to_be_bytes());
    frame
}

/// Where the answer to an `auth` packet goes.
pub(crate) type AuthWaiter = oneshot::Sender<Result<(), Error>>;
