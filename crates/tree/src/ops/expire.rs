//! The sweeper's delete of containers and TTL nodes (ZooKeeper's `deleteContainer`).

use super::delete::deletable_parent;
use super::OpContext;
use crate::tree::DataTree;
use jute::ErrorCode;

impl DataTree {
    /// Deletes a container or TTL node that still qualifies at the txn's time (see
    /// [`DataTree::expired_candidates`]). ZooKeeper's answers: `NotEmpty` when it has children,
    /// `BadVersion` when it is not (or no longer) deletable. No ACL applies: the server asks.
    pub(crate) fn delete_expired(
        &mut self,
        cx: &mut OpContext<'_>,
        path: &str,
    ) -> Result<(), ErrorCode> {
        deletable_parent(path)?;
        let node = self.nodes.get(path).ok_or(ErrorCode::NoNode)?;
        if !node.children.is_empty() {
            return Err(ErrorCode::NotEmpty);
        }
        if !self.is_expired(node, cx.header.time_ms) {
            return Err(ErrorCode::BadVersion);
        }
        self.remove_node(path, cx.header.zxid, cx.triggers);
        Ok(())
    }
}
