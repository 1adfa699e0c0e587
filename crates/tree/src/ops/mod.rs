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
    /// The member whose client connection proposed the txn (0: unknown, or housekeeping).
    pub(crate) origin_server: u64,
}

impl DataTree {
    /// Applies one txn. Deterministic: same tree + same txn = same result and same tree.
    /// A failed txn changes nothing but [`DataTree::last_zxid`].
    pub fn apply(&mut self, header: &TxnHeader, identity: &Identity, txn: &Txn) -> Applied {
        self.apply_from(header, identity, txn, 0)
    }

    /// [`DataTree::apply`] for a txn that a client of ensemble member `origin_server` issued (0
    /// when unknown): a new session is owned by that member, and a write of a session owned by
    /// another member fails with SESSIONMOVED, as ZooKeeper's `checkSession(id, owner)` does.
    pub fn apply_from(
        &mut self,
        header: &TxnHeader,
        identity: &Identity,
        txn: &Txn,
        origin_server: u64,
    ) -> Applied {
        let mut triggers = Vec::new();
        let mut cx = OpContext {
            header,
            identity,
            triggers: &mut triggers,
            origin_server,
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
        } else if origin_server != 0 && !matches!(txn, Txn::CloseSession) {
            // ZooKeeper's first checked request names the owner of a session that has none.
            if let Some(entry) = self.sessions.get_mut(&header.session_id) {
                if entry.owner == 0 {
                    entry.owner = origin_server;
                }
            }
        }
        Applied { result, triggers }
    }

    /// Hands `session_id` to ensemble member `owner`: its client re-attached there. Applied by
    /// every member at the same place in the log (the re-attach barrier), so all agree.
    pub fn set_session_owner(&mut self, session_id: i64, owner: u64) {
        if let Some(entry) = self.sessions.get_mut(&session_id) {
            entry.owner = owner;
        }
    }

    /// ZooKeeper's `sessionTracker.checkSession(id, owner)`: a client write needs a live session
    /// (id 0 is the server's own housekeeping), held by the member that proposed the write.
    pub(crate) fn check_session(&self, cx: &OpContext<'_>) -> Result<(), ErrorCode> {
        let session_id = cx.header.session_id;
        if session_id == 0 {
            return Ok(());
        }
        match self.sessions.get(&session_id) {
            None => Err(ErrorCode::SessionExpired),
            Some(entry)
                if entry.owner != 0 && cx.origin_server != 0 && entry.owner != cx.origin_server =>
            {
                Err(ErrorCode::SessionMoved)
            }
            Some(_) => Ok(()),
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
