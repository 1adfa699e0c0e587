//! `createSession` and `closeSession`.

use super::OpContext;
use crate::ephemeral::is_reserved_session_id;
use crate::tree::DataTree;
use crate::txn::{SessionEntry, TxnOutput};
use bytes::Bytes;
use jute::ErrorCode;
use std::sync::Arc;

impl DataTree {
    /// Registers `header.session_id`. Ids that would collide with container/TTL owner markers
    /// are refused, since ephemeral nodes store their owner in the same field.
    pub(crate) fn create_session(
        &mut self,
        cx: &OpContext<'_>,
        timeout_ms: i32,
        passwd: &Bytes,
    ) -> Result<TxnOutput, ErrorCode> {
        let session_id = cx.header.session_id;
        if is_reserved_session_id(session_id) {
            return Err(ErrorCode::BadArguments);
        }
        self.sessions.insert(
            session_id,
            SessionEntry {
                timeout_ms,
                passwd: passwd.clone(),
                owner: cx.origin_server,
            },
        );
        Ok(TxnOutput::SessionCreated)
    }

    /// Removes `header.session_id` and deletes its ephemerals in path order, each firing
    /// NodeDeleted then its parent's NodeChildrenChanged. Closing an unknown session succeeds
    /// and changes nothing, as in ZooKeeper.
    pub(crate) fn close_session(&mut self, cx: &mut OpContext<'_>) -> Result<TxnOutput, ErrorCode> {
        let session_id = cx.header.session_id;
        let doomed: Vec<Arc<str>> = self.session_ephemerals(session_id).cloned().collect();
        for path in doomed {
            self.remove_node(&path, cx.header.zxid, cx.triggers);
        }
        self.sessions.remove(&session_id);
        Ok(TxnOutput::SessionClosed)
    }
}
