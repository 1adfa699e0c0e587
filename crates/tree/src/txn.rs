//! What goes into the state machine (a [`Txn`] with its [`TxnHeader`] and the issuer's
//! [`Identity`]) and what comes out ([`Applied`]).

use bytes::Bytes;
use jute::proto::{CheckVersionRequest, DeleteRequest, SetAclRequest, SetDataRequest};
use jute::{Acl, CreateOp, ErrorCode, EventType, Id, MultiOp, MultiResult, Stat};
use std::sync::Arc;

/// Who issued a request, for ACL checks at apply time and for the `auth` ACL scheme.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identity {
    /// The session's authenticated ids, in the order ZooKeeper lists them (its connection keeps
    /// them in a hash set; see the server's `connection::auth`), e.g. `ip:127.0.0.1`,
    /// `digest:bob:<base64 sha1>`. A super user carries `super:` and passes every check.
    pub ids: Vec<Id>,
}

/// Stamped by the leader when the txn enters the log; identical on every replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnHeader {
    /// The txn's zxid; every op of a multi shares it.
    pub zxid: i64,
    /// Milliseconds since the Unix epoch, from the leader's clock.
    pub time_ms: i64,
    /// The session that issued the txn (0 for server housekeeping).
    pub session_id: i64,
}

/// A write, validated when applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Txn {
    /// Registers `header.session_id` in the session table.
    CreateSession {
        /// The negotiated session timeout.
        timeout_ms: i32,
        /// The session's password, checked when a client reconnects.
        passwd: Bytes,
    },
    /// Closes (or expires) `header.session_id`, deleting its ephemerals.
    CloseSession,
    /// Any create variant; `op` decides container/TTL and the reply's shape.
    Create(CreateOp),
    /// Deletes a childless node.
    Delete(DeleteRequest),
    /// Replaces a node's data.
    SetData(SetDataRequest),
    /// Replaces a node's ACL.
    SetAcl(SetAclRequest),
    /// Checks a node's version (on its own ZooKeeper only sends this inside a multi).
    Check(CheckVersionRequest),
    /// All-or-nothing sequence of writes.
    Multi(Vec<MultiOp>),
    /// Housekeeping: deletes an empty container that once had children, or an expired TTL node;
    /// a no-op error if the node no longer qualifies at apply time.
    DeleteExpired {
        /// The container or TTL node.
        path: String,
    },
    /// ZooKeeper's `sync`: changes nothing, but its place in the log orders it after every write
    /// committed before it, on every replica.
    Sync {
        /// The path the client named, echoed in the reply.
        path: String,
    },
}

/// What a successful txn produced, shaped like the reply it becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnOutput {
    /// The session is in the table.
    SessionCreated,
    /// The session and its ephemerals are gone.
    SessionClosed,
    /// The node created (with its sequence suffix, if any) and its stat.
    Created {
        /// The full path created.
        path: String,
        /// The new node's stat.
        stat: Stat,
    },
    /// The node is gone.
    Deleted,
    /// The node's stat after the change.
    SetData {
        /// The stat after the change.
        stat: Stat,
    },
    /// The node's stat after the change.
    SetAcl {
        /// The stat after the change.
        stat: Stat,
    },
    /// The version matched.
    Checked,
    /// A `sync` reached its place in the log.
    Synced {
        /// The path the client named.
        path: String,
    },
    /// Per-op results. On failure the tree is unchanged and every op reports
    /// [`MultiResult::Error`]: `Ok` for the ops before the failing one, its own code for the
    /// failing op, `RuntimeInconsistency` for the ops after it (ZooKeeper's rule; the reply
    /// header of a failed multi still carries err 0).
    Multi {
        /// One result per op, in op order.
        results: Vec<MultiResult>,
    },
}

impl TxnOutput {
    /// For a multi, the code of the op that failed it, if one did.
    pub fn multi_error(&self) -> Option<ErrorCode> {
        match self {
            TxnOutput::Multi { results } => results.iter().find_map(|r| match r {
                MultiResult::Error { err } if !err.is_ok() => Some(*err),
                _ => None,
            }),
            _ => None,
        }
    }
}

/// A change a watch may be waiting for, emitted by apply in ZooKeeper's firing order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchTrigger {
    /// The path the event is about.
    pub path: Arc<str>,
    /// NodeCreated, NodeDeleted, NodeDataChanged or NodeChildrenChanged.
    pub event: EventType,
    /// The ACL a watcher needs READ under to be told (ZooKeeper's CVE-2024-23944 fix): the node's
    /// own for a creation, data change or deletion (a deleted node's last ACL), the parent's for
    /// NodeChildrenChanged. Shared with the node, so carrying it costs no allocation.
    pub acl: Arc<Vec<Acl>>,
}

/// The result of applying one txn: the output or error code, and the watch triggers it fired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The output, or the error code the client gets.
    pub result: Result<TxnOutput, ErrorCode>,
    /// Watch triggers in firing order; empty when the txn failed.
    pub triggers: Vec<WatchTrigger>,
}

/// What the tree knows about a live session (replicated state).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEntry {
    /// The negotiated session timeout.
    pub timeout_ms: i32,
    /// The session's password.
    pub passwd: Bytes,
    /// The ensemble member whose client connection holds the session (ZooKeeper's session
    /// owner), by server id; 0 while unknown. A write proposed by any other member fails with
    /// SESSIONMOVED: the client has moved on, and its old connection must not write any more.
    pub owner: u64,
}
