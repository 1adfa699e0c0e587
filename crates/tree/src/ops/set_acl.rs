//! `setACL` (`PrepRequestProcessor`, case `OpCode.setACL`).

use super::OpContext;
use crate::acl::{acl_permits, fixup_acl};
use crate::path::validate_path;
use crate::tree::DataTree;
use jute::proto::SetAclRequest;
use jute::{perms, ErrorCode, Stat};

impl DataTree {
    /// Replaces a node's ACL; needs ADMIN on the node. Only the aversion changes; no watch fires.
    pub(crate) fn set_acl(
        &mut self,
        cx: &OpContext<'_>,
        req: &SetAclRequest,
    ) -> Result<Stat, ErrorCode> {
        self.check_session(cx)?;
        validate_path(&req.path, false)?;
        let acl = fixup_acl(&req.acl, cx.identity)?;
        let node = self.nodes.get(req.path.as_str()).ok_or(ErrorCode::NoNode)?;
        if !acl_permits(&node.acl, perms::ADMIN, cx.identity) {
            return Err(ErrorCode::NoAuth);
        }
        let aversion = Self::next_version(node.stat.aversion, req.version)?;
        self.set_node_acl(&req.path, acl, aversion)
            .ok_or(ErrorCode::NoNode)
    }
}
