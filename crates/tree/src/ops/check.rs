//! `check` (`PrepRequestProcessor`, case `OpCode.check`).

use super::OpContext;
use crate::acl::acl_permits;
use crate::path::validate_path;
use crate::tree::DataTree;
use jute::proto::CheckVersionRequest;
use jute::{perms, ErrorCode};

impl DataTree {
    /// Checks a node's version; needs READ on the node. Changes nothing.
    pub(crate) fn check(
        &self,
        cx: &OpContext<'_>,
        req: &CheckVersionRequest,
    ) -> Result<(), ErrorCode> {
        self.check_session(cx)?;
        validate_path(&req.path, false)?;
        let node = self.nodes.get(req.path.as_str()).ok_or(ErrorCode::NoNode)?;
        if !acl_permits(&node.acl, perms::READ, cx.identity) {
            return Err(ErrorCode::NoAuth);
        }
        Self::next_version(node.stat.version, req.version).map(|_| ())
    }
}
