//! `delete` (`PrepRequestProcessor`, case `OpCode.delete`).

use super::OpContext;
use crate::acl::acl_permits;
use crate::path::{is_special_path, split_parent};
use crate::tree::DataTree;
use jute::proto::DeleteRequest;
use jute::{perms, ErrorCode};

impl DataTree {
    /// Deletes a childless node; needs DELETE on the parent. ZooKeeper does not validate the
    /// path here beyond its parent, so a malformed path reads as a missing node.
    pub(crate) fn delete(
        &mut self,
        cx: &mut OpContext<'_>,
        req: &DeleteRequest,
    ) -> Result<(), ErrorCode> {
        self.check_session(cx)?;
        let parent_path = deletable_parent(&req.path)?;
        let parent = self.nodes.get(parent_path).ok_or(ErrorCode::NoNode)?;
        if !acl_permits(&parent.acl, perms::DELETE, cx.identity) {
            return Err(ErrorCode::NoAuth);
        }
        let node = self.nodes.get(req.path.as_str()).ok_or(ErrorCode::NoNode)?;
        Self::next_version(node.stat.version, req.version)?;
        if !node.children.is_empty() {
            return Err(ErrorCode::NotEmpty);
        }
        self.remove_node(&req.path, cx.header.zxid, cx.triggers);
        Ok(())
    }
}

/// `getParentPathAndValidate`: the parent of a path a client may delete.
pub(crate) fn deletable_parent(path: &str) -> Result<&str, ErrorCode> {
    let (parent, _) = split_parent(path)?;
    if is_special_path(path) {
        return Err(ErrorCode::BadArguments);
    }
    Ok(parent)
}
