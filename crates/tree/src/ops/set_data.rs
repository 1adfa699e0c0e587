//! `setData` (`PrepRequestProcessor`, case `OpCode.setData`) and the quota check it shares with
//! create.

use super::OpContext;
use crate::acl::acl_permits;
use crate::path::validate_path;
use crate::quota::{self, StatsTrack};
use crate::tree::DataTree;
use jute::proto::SetDataRequest;
use jute::{perms, ErrorCode, Stat};

impl DataTree {
    /// Replaces a node's data; needs WRITE on the node.
    pub(crate) fn set_data(
        &mut self,
        cx: &mut OpContext<'_>,
        req: &SetDataRequest,
    ) -> Result<Stat, ErrorCode> {
        self.check_session(cx)?;
        validate_path(&req.path, false)?;
        let node = self.nodes.get(req.path.as_str()).ok_or(ErrorCode::NoNode)?;
        if !acl_permits(&node.acl, perms::WRITE, cx.identity) {
            return Err(ErrorCode::NoAuth);
        }
        let new_len = req.data.as_ref().map_or(0, |d| d.len() as i64);
        self.check_quota(&req.path, node.data_len(), new_len, 0)?;
        let version = Self::next_version(node.stat.version, req.version)?;
        self.set_node_data(
            &req.path,
            req.data.clone(),
            version,
            cx.header.zxid,
            cx.header.time_ms,
            cx.triggers,
        )
        .ok_or(ErrorCode::NoNode)
    }

    /// `ZooKeeperServer.checkQuota`: with enforcement on, a write that would pass a hard limit of
    /// the quota covering `path` fails; soft limits only count.
    pub(crate) fn check_quota(
        &self,
        path: &str,
        old_len: i64,
        new_len: i64,
        count_diff: i64,
    ) -> Result<(), ErrorCode> {
        if !self.config.enforce_quota {
            return Ok(());
        }
        let Some(prefix) = self.quota_prefix(path) else {
            return Ok(());
        };
        let Some(limit_node) = self.nodes.get(quota::limit_path(&prefix).as_str()) else {
            return Ok(());
        };
        let limits = StatsTrack::parse(limit_node.data_bytes());
        let bytes_diff = new_len - old_len;
        let check_count =
            count_diff != 0 && (limits.count() > -1 || limits.count_hard_limit() > -1);
        let check_bytes = bytes_diff != 0 && (limits.bytes() > -1 || limits.byte_hard_limit() > -1);
        if !check_count && !check_bytes {
            return Ok(());
        }
        let Some(stat_node) = self.nodes.get(quota::stat_path(&prefix).as_str()) else {
            return Ok(());
        };
        let usage = StatsTrack::parse(stat_node.data_bytes());
        if check_count
            && limits.count_hard_limit() > -1
            && usage.count() + count_diff > limits.count_hard_limit()
        {
            return Err(ErrorCode::QuotaExceeded);
        }
        if check_bytes
            && limits.byte_hard_limit() > -1
            && usage.bytes() + bytes_diff > limits.byte_hard_limit()
        {
            return Err(ErrorCode::QuotaExceeded);
        }
        Ok(())
    }
}
