//! The data tree: ZooKeeper's replicated state as a deterministic state machine.
//!
//! No I/O, no clock, no randomness: every write is a [`Txn`] stamped with its zxid and time by the
//! leader, and [`DataTree::apply`] computes the same result and the same tree on every replica.
//! Writes are validated at apply time ("request as command"), including ACL checks against the
//! identities the txn carries.
//!
//! CONTRACT STUB: the server codes against these signatures; the bodies are filled in by the tree work.

use bytes::Bytes;
use jute::proto::{CheckVersionRequest, DeleteRequest, SetAclRequest, SetDataRequest};
use jute::{Acl, CreateOp, ErrorCode, EventType, Id, MultiOp, MultiResult, Stat};
use std::sync::Arc;

/// Who issued a request, for ACL checks at apply time and for the `auth` ACL scheme.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identity {
    /// The session's authenticated ids, in the order they were added, e.g. `ip:127.0.0.1`,
    /// `digest:bob:<base64 sha1>`. A super user carries `super:` and passes every check.
    pub ids: Vec<Id>,
}

/// Stamped by the leader when the txn enters the log; identical on every replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnHeader {
    pub zxid: i64,
    /// Milliseconds since the Unix epoch, from the leader's clock.
    pub time_ms: i64,
    /// The session that issued the txn (0 for server housekeeping).
    pub session_id: i64,
}

/// A write, validated when applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Txn {
    CreateSession {
        timeout_ms: i32,
        passwd: Bytes,
    },
    /// Closes (or expires) `header.session_id`, deleting its ephemerals.
    CloseSession,
    Create(CreateOp),
    Delete(DeleteRequest),
    SetData(SetDataRequest),
    SetAcl(SetAclRequest),
    Check(CheckVersionRequest),
    Multi(Vec<MultiOp>),
    /// Housekeeping: deletes an empty container that once had children, or an expired TTL node;
    /// a no-op error if the node no longer qualifies at apply time.
    DeleteExpired {
        path: String,
    },
}

/// What a successful txn produced, shaped like the reply it becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnOutput {
    SessionCreated,
    SessionClosed,
    Created {
        path: String,
        stat: Stat,
    },
    Deleted,
    SetData {
        stat: Stat,
    },
    SetAcl {
        stat: Stat,
    },
    Checked,
    /// Per-op results; on failure every op reports an error result (ZooKeeper's rule).
    Multi {
        results: Vec<MultiResult>,
    },
}

/// A change a watch may be waiting for, emitted by apply in ZooKeeper's firing order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchTrigger {
    pub path: Arc<str>,
    pub event: EventType,
}

/// The result of applying one txn: the output or error code, and the watch triggers it fired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub result: Result<TxnOutput, ErrorCode>,
    pub triggers: Vec<WatchTrigger>,
}

/// What the tree knows about a live session (replicated state).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEntry {
    pub timeout_ms: i32,
    pub passwd: Bytes,
}

/// The replicated state: znodes plus the session table.
#[derive(Debug, Clone)]
pub struct DataTree {}

impl Default for DataTree {
    fn default() -> Self {
        Self::new()
    }
}

impl DataTree {
    /// A fresh tree: `/`, `/zookeeper`, `/zookeeper/quota`, `/zookeeper/config`, as ZooKeeper starts.
    pub fn new() -> Self {
        todo!()
    }

    /// Applies one txn. Deterministic: same tree + same txn = same result and same tree.
    pub fn apply(&mut self, header: &TxnHeader, identity: &Identity, txn: &Txn) -> Applied {
        let _ = (header, identity, txn);
        todo!()
    }

    /// The zxid of the last applied txn.
    pub fn last_zxid(&self) -> i64 {
        todo!()
    }

    // ---- reads (served from the applied tree) ----

    pub fn stat(&self, path: &str) -> Option<Stat> {
        let _ = path;
        todo!()
    }
    pub fn get_data(&self, path: &str) -> Option<(Bytes, Stat)> {
        let _ = path;
        todo!()
    }
    /// Children names (not full paths), in a deterministic (sorted) order.
    pub fn get_children(&self, path: &str) -> Option<(Vec<String>, Stat)> {
        let _ = path;
        todo!()
    }
    pub fn get_acl(&self, path: &str) -> Option<(Vec<Acl>, Stat)> {
        let _ = path;
        todo!()
    }
    /// Number of descendants (not counting the node itself).
    pub fn all_children_number(&self, path: &str) -> Option<i32> {
        let _ = path;
        todo!()
    }
    /// Ephemeral paths owned by `session_id` that start with `prefix`, sorted.
    pub fn ephemerals(&self, session_id: i64, prefix: &str) -> Vec<String> {
        let _ = (session_id, prefix);
        todo!()
    }
    /// Err(NoNode) when missing, Err(NoAuth) when `identity` lacks `perm` on the node's ACL.
    pub fn check_acl(&self, path: &str, perm: i32, identity: &Identity) -> Result<(), ErrorCode> {
        let _ = (path, perm, identity);
        todo!()
    }
    pub fn session(&self, session_id: i64) -> Option<&SessionEntry> {
        let _ = session_id;
        todo!()
    }
    /// Every live session id, sorted.
    pub fn session_ids(&self) -> Vec<i64> {
        todo!()
    }
    pub fn node_count(&self) -> usize {
        todo!()
    }
    /// Containers and TTL nodes that qualify for deletion at `now_ms` (for the leader's sweeper).
    pub fn expired_candidates(&self, now_ms: i64) -> Vec<String> {
        let _ = now_ms;
        todo!()
    }
}

/// Validates a client path by ZooKeeper's rules (`PathUtils.validatePath`). `sequential` allows the
/// trailing `/` that a sequential create may end with.
pub fn validate_path(path: &str, sequential: bool) -> Result<(), ErrorCode> {
    let _ = (path, sequential);
    todo!()
}

/// `digest` scheme id for `user:password`: `user:base64(sha1("user:password"))`.
pub fn digest_id(user_password: &str) -> String {
    let _ = user_password;
    todo!()
}

/// True when `identity` grants `perm` under `acl` (world, auth/digest ids, ip with CIDR, super).
pub fn acl_permits(acl: &[Acl], perm: i32, identity: &Identity) -> bool {
    let _ = (acl, perm, identity);
    todo!()
}
