//! `multi`: ops applied in order to a staged copy of the tree, kept only if every op succeeds.

use super::OpContext;
use crate::tree::DataTree;
use crate::txn::TxnOutput;
use jute::{CreateMode, CreateOp, ErrorCode, MultiOp, MultiResult, OpCode};

impl DataTree {
    /// Applies `ops` all or nothing. A request ZooKeeper cannot decode (a read op, or TTL flags on
    /// a create that is not `createTTL`) fails whole with `MarshallingError`; unknown create flags
    /// fail only their own op (`BadArguments`), in order, as the real server answers.
    pub(crate) fn multi(
        &mut self,
        cx: &mut OpContext<'_>,
        ops: &[MultiOp],
    ) -> Result<TxnOutput, ErrorCode> {
        if ops.iter().any(is_undecodable) {
            return Err(ErrorCode::MarshallingError);
        }
        // The clone is O(1); the staged tree copies only the paths the ops touch.
        let mut staged = self.clone();
        let mut staged_triggers = Vec::new();
        let mut results = Vec::with_capacity(ops.len());
        for (index, op) in ops.iter().enumerate() {
            let mut op_cx = OpContext {
                header: cx.header,
                identity: cx.identity,
                triggers: &mut staged_triggers,
                origin_server: cx.origin_server,
            };
            match staged.apply_multi_op(&mut op_cx, op) {
                Ok(result) => results.push(result),
                Err(err) => return Ok(failed_results(ops.len(), index, err)),
            }
        }
        *self = staged;
        cx.triggers.extend(staged_triggers);
        Ok(TxnOutput::Multi { results })
    }

    fn apply_multi_op(
        &mut self,
        cx: &mut OpContext<'_>,
        op: &MultiOp,
    ) -> Result<MultiResult, ErrorCode> {
        match op {
            MultiOp::Create(create) => {
                let (effective_op, ttl) = multi_create_variant(create);
                self.create(cx, create, effective_op, ttl)
                    .map(|(op, path, stat)| MultiResult::Create { op, path, stat })
            }
            MultiOp::Delete(req) => self.delete(cx, req).map(|()| MultiResult::Delete),
            MultiOp::SetData(req) => self
                .set_data(cx, req)
                .map(|stat| MultiResult::SetData { stat }),
            MultiOp::Check(req) => self.check(cx, req).map(|()| MultiResult::Check),
            MultiOp::GetChildren(_) | MultiOp::GetData(_) => Err(ErrorCode::MarshallingError),
        }
    }
}

fn is_undecodable(op: &MultiOp) -> bool {
    match op {
        MultiOp::GetChildren(_) | MultiOp::GetData(_) => true,
        // ZooKeeper's decoder rebuilds each create from its flags: unknown flags fall back to a
        // default mode (prep then answers BadArguments for that op), but TTL flags on a create
        // without a TTL cannot be rebuilt at all.
        MultiOp::Create(c) => {
            c.op != OpCode::CreateTtl && CreateMode::from_flags(c.flags).is_ok_and(|m| m.is_ttl())
        }
        _ => false,
    }
}

/// Which create a multi op really is. ZooKeeper 3.9 rebuilds each create from its flags
/// (ZOOKEEPER-4026 kept `create2`): container flags make a `createContainer`; otherwise the op
/// code sent is kept, except that `createTTL` without TTL flags becomes a plain `create` (its ttl
/// ignored).
fn multi_create_variant(op: &CreateOp) -> (OpCode, i64) {
    match CreateMode::from_flags(op.flags) {
        Ok(mode) if mode.is_ttl() => {
            let ttl = if op.op == OpCode::CreateTtl {
                op.ttl
            } else {
                -1
            };
            (OpCode::CreateTtl, ttl)
        }
        Ok(mode) if mode.is_container() => (OpCode::CreateContainer, -1),
        _ if op.op == OpCode::CreateTtl => (OpCode::Create, -1),
        _ => (op.op, -1),
    }
}

/// ZooKeeper's failed-multi results: `Ok` before the failing op, its code, then
/// `RuntimeInconsistency`.
fn failed_results(len: usize, failed_at: usize, err: ErrorCode) -> TxnOutput {
    let results = (0..len)
        .map(|i| MultiResult::Error {
            err: match i.cmp(&failed_at) {
                std::cmp::Ordering::Less => ErrorCode::Ok,
                std::cmp::Ordering::Equal => err,
                std::cmp::Ordering::Greater => ErrorCode::RuntimeInconsistency,
            },
        })
        .collect();
    TxnOutput::Multi { results }
}
