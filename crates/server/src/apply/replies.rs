//! Shapes the outcome of an applied write into the reply its client expects.

use crate::outbound::{Outbound, ReplyBody};
use crate::proposal::Origin;
use jute::{ErrorCode, OpCode};
use tree::TxnOutput;

/// The reply to a write that `origin` sent, now applied at `zxid`.
pub fn write_reply(origin: Origin, zxid: i64, result: Result<TxnOutput, ErrorCode>) -> Outbound {
    let (err, body) = match result {
        Ok(output) => (ErrorCode::Ok, body_for(origin.op, output)),
        Err(err) => (err, ReplyBody::Empty),
    };
    Outbound::Reply {
        xid: origin.xid,
        zxid,
        err,
        body,
        write: true,
    }
}

fn body_for(op: OpCode, output: TxnOutput) -> ReplyBody {
    match output {
        // Plain `create` answers with the path only; every other create variant adds the stat.
        TxnOutput::Created { path, .. } if op == OpCode::Create => ReplyBody::Create(path),
        TxnOutput::Created { path, stat } => ReplyBody::Create2 { path, stat },
        TxnOutput::SetData { stat } | TxnOutput::SetAcl { stat } => ReplyBody::Stat(stat),
        TxnOutput::Multi { results } => ReplyBody::Multi(results),
        TxnOutput::Synced { path } => ReplyBody::Path(path),
        TxnOutput::SessionCreated
        | TxnOutput::SessionClosed
        | TxnOutput::Deleted
        | TxnOutput::Checked => ReplyBody::Empty,
    }
}
