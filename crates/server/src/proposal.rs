//! The payload this server puts into the consensus log.

use jute::OpCode;
use std::sync::Arc;
use tree::{Identity, Txn};

/// Where the reply to a write goes once it is applied. Replies are sent only by the server the
/// client is connected to; other replicas apply the entry and send nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    pub conn_id: u64,
    pub xid: i32,
    /// The op the client sent; it decides the reply's shape (e.g. `create` vs `create2`).
    pub op: OpCode,
}

/// One write: the txn plus who issued it and where to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    pub session_id: i64,
    /// `None` for server housekeeping (session expiry, container and TTL sweeps).
    pub origin: Option<Origin>,
    /// The issuer's authenticated ids, checked against ACLs when the txn is applied.
    pub identity: Arc<Identity>,
    pub txn: Txn,
}
