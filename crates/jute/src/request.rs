//! A client request body decoded by op code into one typed value.

use crate::codec::{DecodeError, Reader, Record};
use crate::data::Acl;
use crate::multi::{decode_multi_request, encode_multi_request, MultiOp};
use crate::opcode::OpCode;
use crate::proto::*;
use bytes::{Bytes, BytesMut};

/// Every create variant (`create`, `create2`, `createContainer`, `createTTL`) in one shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOp {
    /// Which op code the client used; it decides the reply's shape.
    pub op: OpCode,
    /// The path to create (the parent of a sequential node plus a prefix).
    pub path: String,
    /// The node's data; `None` is null data (length −1 on the wire), kept apart from empty.
    pub data: Option<Bytes>,
    /// The node's ACL.
    pub acl: Vec<Acl>,
    /// The `CreateMode` flag.
    pub flags: i32,
    /// Only meaningful for `createTTL`; 0 otherwise.
    pub ttl: i64,
}

impl CreateOp {
    pub(crate) fn decode_body(op: OpCode, r: &mut Reader) -> Result<Self, DecodeError> {
        if op == OpCode::CreateTtl {
            let q = CreateTtlRequest::decode(r)?;
            Ok(Self {
                op,
                path: q.path,
                data: q.data,
                acl: q.acl,
                flags: q.flags,
                ttl: q.ttl,
            })
        } else {
            let q = CreateRequest::decode(r)?;
            Ok(Self {
                op,
                path: q.path,
                data: q.data,
                acl: q.acl,
                flags: q.flags,
                ttl: 0,
            })
        }
    }

    pub(crate) fn encode_body(&self, out: &mut BytesMut) {
        self.path.encode(out);
        self.data.encode(out);
        self.acl.encode(out);
        self.flags.encode(out);
        if self.op == OpCode::CreateTtl {
            self.ttl.encode(out);
        }
    }
}

/// A decoded request body. `SetWatches` arrives as [`SetWatches2`] with empty persistent lists.
///
/// Like ZooKeeper, decoding ignores bytes after the body (ZooKeeper 3.8 answers an `exists` with
/// trailing garbage normally).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Create(CreateOp),
    Delete(DeleteRequest),
    Exists(ExistsRequest),
    GetData(GetDataRequest),
    SetData(SetDataRequest),
    GetAcl(GetAclRequest),
    SetAcl(SetAclRequest),
    GetChildren(GetChildrenRequest),
    GetChildren2(GetChildren2Request),
    Sync(SyncRequest),
    Ping,
    Check(CheckVersionRequest),
    Multi(Vec<MultiOp>),
    MultiRead(Vec<MultiOp>),
    Reconfig(ReconfigRequest),
    CheckWatches(CheckWatchesRequest),
    RemoveWatches(RemoveWatchesRequest),
    GetEphemerals(GetEphemeralsRequest),
    GetAllChildrenNumber(GetAllChildrenNumberRequest),
    Auth(AuthPacket),
    SetWatches(SetWatches2),
    Sasl(GetSaslRequest),
    AddWatch(AddWatchRequest),
    WhoAmI,
    CloseSession,
}

impl Request {
    /// Decodes the body that follows a `RequestHeader` with op code `op`.
    pub fn decode(op: OpCode, r: &mut Reader) -> Result<Self, DecodeError> {
        use OpCode as O;
        Ok(match op {
            O::Create | O::Create2 | O::CreateContainer | O::CreateTtl => {
                Request::Create(CreateOp::decode_body(op, r)?)
            }
            O::Delete => Request::Delete(Record::decode(r)?),
            O::Exists => Request::Exists(Record::decode(r)?),
            O::GetData => Request::GetData(Record::decode(r)?),
            O::SetData => Request::SetData(Record::decode(r)?),
            O::GetAcl => Request::GetAcl(Record::decode(r)?),
            O::SetAcl => Request::SetAcl(Record::decode(r)?),
            O::GetChildren => Request::GetChildren(Record::decode(r)?),
            O::GetChildren2 => Request::GetChildren2(Record::decode(r)?),
            O::Sync => Request::Sync(Record::decode(r)?),
            O::Ping => Request::Ping,
            O::Check => Request::Check(Record::decode(r)?),
            O::Multi => Request::Multi(decode_multi_request(r)?),
            O::MultiRead => Request::MultiRead(decode_multi_request(r)?),
            O::Reconfig => Request::Reconfig(Record::decode(r)?),
            O::CheckWatches => Request::CheckWatches(Record::decode(r)?),
            O::RemoveWatches => Request::RemoveWatches(Record::decode(r)?),
            O::GetEphemerals => Request::GetEphemerals(Record::decode(r)?),
            O::GetAllChildrenNumber => Request::GetAllChildrenNumber(Record::decode(r)?),
            O::Auth => Request::Auth(Record::decode(r)?),
            O::SetWatches => {
                let w = SetWatches::decode(r)?;
                Request::SetWatches(SetWatches2 {
                    relative_zxid: w.relative_zxid,
                    data_watches: w.data_watches,
                    exist_watches: w.exist_watches,
                    child_watches: w.child_watches,
                    persistent_watches: Vec::new(),
                    persistent_recursive_watches: Vec::new(),
                })
            }
            O::SetWatches2 => Request::SetWatches(Record::decode(r)?),
            O::Sasl => Request::Sasl(Record::decode(r)?),
            O::AddWatch => Request::AddWatch(Record::decode(r)?),
            O::WhoAmI => Request::WhoAmI,
            O::CloseSession => Request::CloseSession,
            O::Notification | O::DeleteContainer | O::CreateSession | O::Error => {
                return Err(DecodeError::InvalidValue {
                    field: "client op code",
                    value: op as i64,
                })
            }
        })
    }

    /// The op code this request travels under.
    pub fn op_code(&self) -> OpCode {
        match self {
            Request::Create(c) => c.op,
            Request::Delete(_) => OpCode::Delete,
            Request::Exists(_) => OpCode::Exists,
            Request::GetData(_) => OpCode::GetData,
            Request::SetData(_) => OpCode::SetData,
            Request::GetAcl(_) => OpCode::GetAcl,
            Request::SetAcl(_) => OpCode::SetAcl,
            Request::GetChildren(_) => OpCode::GetChildren,
            Request::GetChildren2(_) => OpCode::GetChildren2,
            Request::Sync(_) => OpCode::Sync,
            Request::Ping => OpCode::Ping,
            Request::Check(_) => OpCode::Check,
            Request::Multi(_) => OpCode::Multi,
            Request::MultiRead(_) => OpCode::MultiRead,
            Request::Reconfig(_) => OpCode::Reconfig,
            Request::CheckWatches(_) => OpCode::CheckWatches,
            Request::RemoveWatches(_) => OpCode::RemoveWatches,
            Request::GetEphemerals(_) => OpCode::GetEphemerals,
            Request::GetAllChildrenNumber(_) => OpCode::GetAllChildrenNumber,
            Request::Auth(_) => OpCode::Auth,
            Request::SetWatches(_) => OpCode::SetWatches2,
            Request::Sasl(_) => OpCode::Sasl,
            Request::AddWatch(_) => OpCode::AddWatch,
            Request::WhoAmI => OpCode::WhoAmI,
            Request::CloseSession => OpCode::CloseSession,
        }
    }

    /// Encodes the body (not the header). `SetWatches` always encodes as `setWatches2`.
    pub fn encode(&self, out: &mut BytesMut) {
        match self {
            Request::Create(c) => c.encode_body(out),
            Request::Delete(r) => r.encode(out),
            Request::Exists(r) => r.encode(out),
            Request::GetData(r) => r.encode(out),
            Request::SetData(r) => r.encode(out),
            Request::GetAcl(r) => r.encode(out),
            Request::SetAcl(r) => r.encode(out),
            Request::GetChildren(r) => r.encode(out),
            Request::GetChildren2(r) => r.encode(out),
            Request::Sync(r) => r.encode(out),
            Request::Check(r) => r.encode(out),
            Request::Multi(ops) | Request::MultiRead(ops) => encode_multi_request(ops, out),
            Request::Reconfig(r) => r.encode(out),
            Request::CheckWatches(r) => r.encode(out),
            Request::RemoveWatches(r) => r.encode(out),
            Request::GetEphemerals(r) => r.encode(out),
            Request::GetAllChildrenNumber(r) => r.encode(out),
            Request::Auth(r) => r.encode(out),
            Request::SetWatches(r) => r.encode(out),
            Request::Sasl(r) => r.encode(out),
            Request::AddWatch(r) => r.encode(out),
            Request::Ping | Request::WhoAmI | Request::CloseSession => {}
        }
    }
}
