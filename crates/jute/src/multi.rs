//! `multi` and `multiRead`: a sequence of `MultiHeader` + op records, ended by a `done` header.

use crate::codec::{DecodeError, Reader, Record};
use crate::data::Stat;
use crate::error_code::ErrorCode;
use crate::opcode::OpCode;
use crate::proto::*;
use crate::request::CreateOp;
use bytes::{Bytes, BytesMut};

/// One operation inside a `multi` (writes) or `multiRead` (reads).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiOp {
    /// Any create variant (`create`, `create2`, `createContainer`, `createTTL`).
    Create(CreateOp),
    /// `delete`.
    Delete(DeleteRequest),
    /// `setData`.
    SetData(SetDataRequest),
    /// `check`: the node's version must match.
    Check(CheckVersionRequest),
    /// `getChildren` (multiRead only; its `watch` flag is ignored by ZooKeeper).
    GetChildren(GetChildrenRequest),
    /// `getData` (multiRead only; its `watch` flag is ignored by ZooKeeper).
    GetData(GetDataRequest),
}

impl MultiOp {
    /// The op code in this op's `MultiHeader`.
    pub fn op_code(&self) -> OpCode {
        match self {
            MultiOp::Create(c) => c.op,
            MultiOp::Delete(_) => OpCode::Delete,
            MultiOp::SetData(_) => OpCode::SetData,
            MultiOp::Check(_) => OpCode::Check,
            MultiOp::GetChildren(_) => OpCode::GetChildren,
            MultiOp::GetData(_) => OpCode::GetData,
        }
    }

    /// The path the op works on.
    pub fn path(&self) -> &str {
        match self {
            MultiOp::Create(c) => &c.path,
            MultiOp::Delete(r) => &r.path,
            MultiOp::SetData(r) => &r.path,
            MultiOp::Check(r) => &r.path,
            MultiOp::GetChildren(r) => &r.path,
            MultiOp::GetData(r) => &r.path,
        }
    }
}

const DONE: MultiHeader = MultiHeader {
    op: -1,
    done: true,
    err: -1,
};

/// Encodes the ops of a `multi`/`multiRead` request body.
pub fn encode_multi_request(ops: &[MultiOp], out: &mut BytesMut) {
    for op in ops {
        MultiHeader {
            op: op.op_code().as_i32(),
            done: false,
            err: -1,
        }
        .encode(out);
        match op {
            MultiOp::Create(c) => c.encode_body(out),
            MultiOp::Delete(r) => r.encode(out),
            MultiOp::SetData(r) => r.encode(out),
            MultiOp::Check(r) => r.encode(out),
            MultiOp::GetChildren(r) => r.encode(out),
            MultiOp::GetData(r) => r.encode(out),
        }
    }
    DONE.encode(out);
}

/// Decodes the ops of a `multi`/`multiRead` request body.
pub fn decode_multi_request(r: &mut Reader) -> Result<Vec<MultiOp>, DecodeError> {
    let mut ops = Vec::new();
    loop {
        let h = MultiHeader::decode(r)?;
        if h.done {
            return Ok(ops);
        }
        let code = OpCode::from_i32(h.op).ok_or(DecodeError::InvalidValue {
            field: "multi op",
            value: h.op as i64,
        })?;
        ops.push(match code {
            OpCode::Create | OpCode::Create2 | OpCode::CreateContainer | OpCode::CreateTtl => {
                MultiOp::Create(CreateOp::decode_body(code, r)?)
            }
            OpCode::Delete => MultiOp::Delete(DeleteRequest::decode(r)?),
            OpCode::SetData => MultiOp::SetData(SetDataRequest::decode(r)?),
            OpCode::Check => MultiOp::Check(CheckVersionRequest::decode(r)?),
            OpCode::GetChildren => MultiOp::GetChildren(GetChildrenRequest::decode(r)?),
            OpCode::GetData => MultiOp::GetData(GetDataRequest::decode(r)?),
            _ => {
                return Err(DecodeError::InvalidValue {
                    field: "multi op",
                    value: h.op as i64,
                })
            }
        });
    }
}

/// The result of one op of a `multi`/`multiRead`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiResult {
    /// `op` is the create variant that was asked for. On the wire plain `create` answers with
    /// the path only (so `stat` is not sent and decodes as default) and every other variant
    /// answers as `create2` (so `op` decodes as [`OpCode::Create2`]).
    Create {
        /// The create variant asked for.
        op: OpCode,
        /// The created path (with its sequence suffix).
        path: String,
        /// The new node's stat.
        stat: Stat,
    },
    /// A delete succeeded.
    Delete,
    /// A setData succeeded.
    SetData {
        /// The node's stat after the write.
        stat: Stat,
    },
    /// A version check passed.
    Check,
    /// A `multiRead` getChildren.
    GetChildren {
        /// The children's names.
        children: Vec<String>,
    },
    /// A `multiRead` getData.
    GetData {
        /// The node's data; `None` for null data.
        data: Option<Bytes>,
        /// The node's stat.
        stat: Stat,
    },
    /// An op that failed, or any op of a failed `multi` (then `Ok` marks the ops before the
    /// failure).
    Error {
        /// The op's outcome.
        err: ErrorCode,
    },
}

/// The op code a create result travels under: plain `create` answers without a stat, every other
/// create variant as `create2` (ZooKeeper's `OpResult.CreateResult` knows only these two, and the
/// Java client fails on a result typed 19 or 21).
fn create_result_op(op: OpCode) -> OpCode {
    if op == OpCode::Create {
        OpCode::Create
    } else {
        OpCode::Create2
    }
}

/// Encodes the body of a `multi`/`multiRead` response.
///
/// A failed `multi` is a list of [`MultiResult::Error`] only, one per op: `Ok` for the ops before
/// the failing one, its code for the failing op, `RuntimeInconsistency` after it; the reply
/// header's `err` stays 0 (ZooKeeper 3.8, measured).
pub fn encode_multi_response(results: &[MultiResult], out: &mut BytesMut) {
    for res in results {
        let (op, err) = match res {
            MultiResult::Create { op, .. } => (create_result_op(*op).as_i32(), 0),
            MultiResult::Delete => (OpCode::Delete.as_i32(), 0),
            MultiResult::SetData { .. } => (OpCode::SetData.as_i32(), 0),
            MultiResult::Check => (OpCode::Check.as_i32(), 0),
            MultiResult::GetChildren { .. } => (OpCode::GetChildren.as_i32(), 0),
            MultiResult::GetData { .. } => (OpCode::GetData.as_i32(), 0),
            MultiResult::Error { err } => (OpCode::Error.as_i32(), err.as_i32()),
        };
        MultiHeader {
            op,
            done: false,
            err,
        }
        .encode(out);
        match res {
            MultiResult::Create { op, path, stat } => {
                if *op == OpCode::Create {
                    CreateResponse { path: path.clone() }.encode(out)
                } else {
                    Create2Response {
                        path: path.clone(),
                        stat: stat.clone(),
                    }
                    .encode(out)
                }
            }
            MultiResult::Delete | MultiResult::Check => {}
            MultiResult::SetData { stat } => stat.encode(out),
            MultiResult::GetChildren { children } => children.encode(out),
            MultiResult::GetData { data, stat } => {
                data.encode(out);
                stat.encode(out);
            }
            MultiResult::Error { err } => err.as_i32().encode(out),
        }
    }
    DONE.encode(out);
}

/// Decodes the body of a `multi`/`multiRead` response.
pub fn decode_multi_response(r: &mut Reader) -> Result<Vec<MultiResult>, DecodeError> {
    let mut results = Vec::new();
    loop {
        let h = MultiHeader::decode(r)?;
        if h.done {
            return Ok(results);
        }
        let code = OpCode::from_i32(h.op).ok_or(DecodeError::InvalidValue {
            field: "multi result op",
            value: h.op as i64,
        })?;
        results.push(match code {
            OpCode::Create => MultiResult::Create {
                op: code,
                path: String::decode(r)?,
                stat: Stat::default(),
            },
            // ZooKeeper answers createContainer and createTTL as create2, and its Java client
            // rejects anything else, so 19 and 21 are malformed here.
            OpCode::Create2 => {
                let resp = Create2Response::decode(r)?;
                MultiResult::Create {
                    op: code,
                    path: resp.path,
                    stat: resp.stat,
                }
            }
            OpCode::Delete => MultiResult::Delete,
            OpCode::Check => MultiResult::Check,
            OpCode::SetData => MultiResult::SetData {
                stat: Stat::decode(r)?,
            },
            OpCode::GetChildren => MultiResult::GetChildren {
                children: Vec::<String>::decode(r)?,
            },
            OpCode::GetData => MultiResult::GetData {
                data: Option::<Bytes>::decode(r)?,
                stat: Stat::decode(r)?,
            },
            OpCode::Error => {
                let err = i32::decode(r)?;
                MultiResult::Error {
                    err: ErrorCode::from_i32(err).ok_or(DecodeError::InvalidValue {
                        field: "error code",
                        value: err as i64,
                    })?,
                }
            }
            _ => {
                return Err(DecodeError::InvalidValue {
                    field: "multi result op",
                    value: h.op as i64,
                })
            }
        });
    }
}
