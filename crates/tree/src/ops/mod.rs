//! Applying txns: each op validates against the current tree in ZooKeeper's prep order (so the
//! first failing check decides the error code), then mutates.

mod check;
mod create;
mod delete;
mod expire;
mod multi;
mod session;
mod set_acl;
mod set_data;

use crate::tree::DataTree;
use crate::txn::{Applied, Identity, Txn, TxnHeader, TxnOutput, WatchTrigger};
use jute::ErrorCode;

/// What every op gets: the txn's stamp and issuer, and where to report triggers.
pub(crate) struct OpContext<'a> {
    pub(crate) header: &'a TxnHeader,
    pub(crate) identity: &'a Identity,
    pub(crate) triggers: &'a mut Vec<WatchTrigger>,
}

impl DataTree {
    /// Applies one txn. Deterministic: same tree + same txn = same result and same tree.
    /// A failed txn changes nothing but [`DataTree::last_zxid`].
    pub fn apply(&mut self, header: &TxnHeader, identity: &Identity, txn: &Txn) -> Applied {
        let mut triggers = Vec::new();
        let mut cx = OpContext {
            header,
            identity,
            triggers: &mut triggers,
        };
        let result = match txn {
            Txn::CreateSession { timeout_ms, passwd } => {
                self.create_session(&cx, *timeout_ms, passwd)
            }
            Txn::CloseSession => self.close_session(&mut cx),
            Txn::Create(op) => self
                .create(&mut cx, op, op.op, create::standalone_ttl(op))
                .map(|(_, path, stat)| TxnOutput::Created { path, stat }),
            Txn::Delete(req) => self.delete(&mut cx, req).map(|()| TxnOutput::Deleted),
            Txn::SetData(req) => self
                .set_data(&mut cx, req)
                .map(|stat| TxnOutput::SetData { stat }),
            Txn::SetAcl(req) => self
                .set_acl(&cx, req)
                .map(|stat| TxnOutput::SetAcl { stat }),
            Txn::Check(req) => self.check(&cx, req).map(|()| TxnOutput::Checked),
            Txn::Multi(ops) => self.multi(&mut cx, ops),
            Txn::DeleteExpired { path } => self
                .delete_expired(&mut cx, path)
                .map(|()| TxnOutput::Deleted),
            Txn::Sync { path } => Ok(TxnOutput::Synced { path: path.clone() }),
        };
        self.last_zxid = self.last_zxid.max(header.zxid);
        let failed = match &result {
            Err(_) => true,
            Ok(output) => output.multi_error().is_some(),
        };
        if failed {
            triggers.clear();
        }
        Applied { result, triggers }
    }

    /// ZooKeeper's `sessionTracker.checkSession`: a client write needs a live session. Id 0 is
    /// the server's own housekeeping.
    pub(crate) fn check_session(&self, session_id: i64) -> Result<(), ErrorCode> {
        if session_id == 0 || self.sessions.contains_key(&session_id) {
            Ok(())
        } else {
            Err(ErrorCode::SessionExpired)
        }
    }

    /// `checkAndIncVersion`: -1 matches any version; the new version wraps like a Java int.
    pub(crate) fn next_version(current: i32, expected: i32) -> Result<i32, ErrorCode> {
        if expected != -1 && expected != current {
            return Err(ErrorCode::BadVersion);
        }
        Ok(current.wrapping_add(1))
    }
}
