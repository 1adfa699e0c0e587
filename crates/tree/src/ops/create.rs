//! `create`, `create2`, `createContainer`, `createTTL` (`PrepRequestProcessor.pRequest2TxnCreate`).

use super::OpContext;
use crate::acl::{acl_permits, fixup_acl};
use crate::ephemeral::{NodeKind, TTL_MAX_MS};
use crate::mutate::NewNode;
use crate::path::{split_parent, validate_path};
use crate::tree::DataTree;
use jute::{perms, CreateMode, CreateOp, ErrorCode, OpCode, Stat};
use std::sync::Arc;

/// The TTL ZooKeeper's prep sees for a create sent on its own: only `createTTL` carries one;
/// every other variant reads as -1 ("none").
pub(crate) fn standalone_ttl(op: &CreateOp) -> i64 {
    if op.op == OpCode::CreateTtl {
        op.ttl
    } else {
        -1
    }
}

impl DataTree {
    /// Creates a node for `op` as if it arrived with op code `effective_op` and TTL `ttl`.
    /// Returns the op code, the path created and its stat.
    pub(crate) fn create(
        &mut self,
        cx: &mut OpContext<'_>,
        op: &CreateOp,
        effective_op: OpCode,
        ttl: i64,
    ) -> Result<(OpCode, String, Stat), ErrorCode> {
        let mode = CreateMode::from_flags(op.flags).map_err(|_| ErrorCode::BadArguments)?;
        if mode.is_ttl() && !self.config.extended_types_enabled {
            return Err(ErrorCode::Unimplemented);
        }
        validate_ttl(mode, ttl)?;
        if effective_op == OpCode::CreateTtl && !mode.is_ttl() {
            // ZooKeeper accepts this pair (with ttl -1) and then fails to apply it, which stops
            // the server; refusing it is the only safe answer.
            return Err(ErrorCode::BadArguments);
        }
        let session_id = cx.header.session_id;
        if mode.is_ephemeral() && session_id == 0 {
            return Err(ErrorCode::SessionExpired);
        }
        self.check_session(cx)?;
        let (parent_path, _) = split_parent(&op.path)?;
        let acl = fixup_acl(&op.acl, cx.identity)?;
        let parent = self.nodes.get(parent_path).ok_or(ErrorCode::NoNode)?;
        if !acl_permits(&parent.acl, perms::CREATE, cx.identity) {
            return Err(ErrorCode::NoAuth);
        }
        let path = if mode.is_sequential() {
            format!("{}{:010}", op.path, parent.stat.cversion)
        } else {
            op.path.clone()
        };
        validate_path(&path, false)?;
        if self.nodes.contains_key(path.as_str()) {
            return Err(ErrorCode::NodeExists);
        }
        if matches!(parent.kind(), NodeKind::Ephemeral(_)) {
            return Err(ErrorCode::NoChildrenForEphemerals);
        }
        let data_len = op.data.as_ref().map_or(0, |d| d.len() as i64);
        self.check_quota(&path, 0, data_len, 1)?;
        let kind = match effective_op {
            OpCode::CreateContainer => NodeKind::Container,
            OpCode::CreateTtl => NodeKind::Ttl(ttl),
            _ if mode.is_ephemeral() => NodeKind::Ephemeral(session_id),
            _ => NodeKind::Persistent,
        };
        let path: Arc<str> = Arc::from(path);
        let stat = self.insert_node(
            NewNode {
                path: path.clone(),
                data: op.data.clone(),
                acl,
                kind,
            },
            cx.header.zxid,
            cx.header.time_ms,
            cx.triggers,
        );
        Ok((effective_op, path.to_string(), stat))
    }
}

/// `EphemeralType.validateTTL`: a TTL mode needs 0 < ttl <= max; other modes must not carry one.
fn validate_ttl(mode: CreateMode, ttl: i64) -> Result<(), ErrorCode> {
    let valid = if mode.is_ttl() {
        ttl > 0 && ttl <= TTL_MAX_MS
    } else {
        ttl < 0
    };
    if valid {
        Ok(())
    } else {
        Err(ErrorCode::BadArguments)
    }
}
