//! The log encoding of a [`Txn`] and an [`Identity`]: a tag byte, then ZooKeeper's own jute request
//! body wherever one exists. Specified in `docs/formats/txn.md`; a change here is a format change.

use crate::txn::{Identity, Txn};
use bytes::{BufMut, BytesMut};
use jute::proto::{CheckVersionRequest, DeleteRequest, SetAclRequest, SetDataRequest};
use jute::{DecodeError, Id, OpCode, Reader, Record, Request, Writer};

const CREATE_SESSION: u8 = 1;
const CLOSE_SESSION: u8 = 2;
const CREATE: u8 = 3;
const DELETE: u8 = 4;
const SET_DATA: u8 = 5;
const SET_ACL: u8 = 6;
const CHECK: u8 = 7;
const MULTI: u8 = 8;
const DELETE_EXPIRED: u8 = 9;
const SYNC: u8 = 10;

/// Appends the log encoding of `txn`.
pub fn encode_txn(txn: &Txn, out: &mut BytesMut) {
    match txn {
        Txn::CreateSession { timeout_ms, passwd } => {
            out.put_u8(CREATE_SESSION);
            out.write_i32(*timeout_ms);
            out.write_buffer(passwd);
        }
        Txn::CloseSession => out.put_u8(CLOSE_SESSION),
        Txn::Create(c) => {
            out.put_u8(CREATE);
            out.write_i32(c.op.as_i32());
            Request::Create(c.clone()).encode(out);
        }
        Txn::Delete(q) => {
            out.put_u8(DELETE);
            q.encode(out);
        }
        Txn::SetData(q) => {
            out.put_u8(SET_DATA);
            q.encode(out);
        }
        Txn::SetAcl(q) => {
            out.put_u8(SET_ACL);
            q.encode(out);
        }
        Txn::Check(q) => {
            out.put_u8(CHECK);
            q.encode(out);
        }
        Txn::Multi(ops) => {
            out.put_u8(MULTI);
            jute::multi::encode_multi_request(ops, out);
        }
        Txn::DeleteExpired { path } => {
            out.put_u8(DELETE_EXPIRED);
            out.write_string(path);
        }
        Txn::Sync { path } => {
            out.put_u8(SYNC);
            out.write_string(path);
        }
    }
}

/// Decodes one txn written by [`encode_txn`].
pub fn decode_txn(r: &mut Reader) -> Result<Txn, DecodeError> {
    let tag = r.read_u8()?;
    Ok(match tag {
        CREATE_SESSION => Txn::CreateSession {
            timeout_ms: r.read_i32()?,
            passwd: r.read_buffer()?,
        },
        CLOSE_SESSION => Txn::CloseSession,
        CREATE => {
            let raw = r.read_i32()?;
            let op = OpCode::from_i32(raw)
                .filter(|op| {
                    matches!(
                        op,
                        OpCode::Create
                            | OpCode::Create2
                            | OpCode::CreateContainer
                            | OpCode::CreateTtl
                    )
                })
                .ok_or(DecodeError::InvalidValue {
                    field: "txn create op",
                    value: i64::from(raw),
                })?;
            match Request::decode(op, r)? {
                Request::Create(c) => Txn::Create(c),
                _ => {
                    return Err(DecodeError::InvalidValue {
                        field: "txn create op",
                        value: i64::from(raw),
                    })
                }
            }
        }
        DELETE => Txn::Delete(DeleteRequest::decode(r)?),
        SET_DATA => Txn::SetData(SetDataRequest::decode(r)?),
        SET_ACL => Txn::SetAcl(SetAclRequest::decode(r)?),
        CHECK => Txn::Check(CheckVersionRequest::decode(r)?),
        MULTI => Txn::Multi(jute::multi::decode_multi_request(r)?),
        DELETE_EXPIRED => Txn::DeleteExpired {
            path: r.read_string()?,
        },
        SYNC => Txn::Sync {
            path: r.read_string()?,
        },
        other => {
            return Err(DecodeError::InvalidValue {
                field: "txn tag",
                value: i64::from(other),
            })
        }
    })
}

/// Appends the issuer's ids (a jute `vector<Id>`).
pub fn encode_identity(identity: &Identity, out: &mut BytesMut) {
    identity.ids.encode(out);
}

/// Decodes ids written by [`encode_identity`].
pub fn decode_identity(r: &mut Reader) -> Result<Identity, DecodeError> {
    Ok(Identity {
        ids: Vec::<Id>::decode(r)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use jute::{Acl, CreateOp, MultiOp};

    fn round_trip(txn: Txn) {
        let mut out = BytesMut::new();
        encode_txn(&txn, &mut out);
        let mut r = Reader::new(out.freeze());
        assert_eq!(decode_txn(&mut r).unwrap(), txn);
        assert!(r.is_empty(), "{txn:?} left bytes behind");
    }

    #[test]
    fn every_txn_kind_round_trips() {
        let create = CreateOp {
            op: OpCode::CreateTtl,
            path: "/a".into(),
            data: Some(Bytes::from_static(b"d")),
            acl: Acl::open_unsafe(),
            flags: 5,
            ttl: 100,
        };
        round_trip(Txn::CreateSession {
            timeout_ms: 4000,
            passwd: Bytes::from_static(&[1; 16]),
        });
        round_trip(Txn::CloseSession);
        round_trip(Txn::Create(create.clone()));
        round_trip(Txn::Create(CreateOp {
            op: OpCode::Create,
            ttl: 0,
            flags: 0,
            ..create.clone()
        }));
        round_trip(Txn::Delete(DeleteRequest {
            path: "/a".into(),
            version: 3,
        }));
        round_trip(Txn::SetData(SetDataRequest {
            path: "/a".into(),
            data: Some(Bytes::from_static(b"x")),
            version: -1,
        }));
        // Null data is written as jute's null buffer and read back as null, not empty.
        round_trip(Txn::SetData(SetDataRequest {
            path: "/a".into(),
            data: None,
            version: -1,
        }));
        round_trip(Txn::SetData(SetDataRequest {
            path: "/a".into(),
            data: Some(Bytes::new()),
            version: -1,
        }));
        round_trip(Txn::Create(CreateOp {
            data: None,
            ..create.clone()
        }));
        round_trip(Txn::SetAcl(SetAclRequest {
            path: "/a".into(),
            acl: Acl::read_unsafe(),
            version: 0,
        }));
        round_trip(Txn::Check(CheckVersionRequest {
            path: "/a".into(),
            version: 1,
        }));
        round_trip(Txn::Multi(vec![
            MultiOp::Create(CreateOp {
                op: OpCode::Create2,
                ttl: 0,
                flags: 0,
                ..create
            }),
            MultiOp::Delete(DeleteRequest {
                path: "/b".into(),
                version: -1,
            }),
            MultiOp::SetData(SetDataRequest {
                path: "/c".into(),
                data: None,
                version: -1,
            }),
        ]));
        round_trip(Txn::DeleteExpired { path: "/c".into() });
        round_trip(Txn::Sync { path: "/s".into() });
    }

    #[test]
    fn identity_round_trips_and_unknown_tag_is_an_error() {
        let identity = Identity {
            ids: vec![Id::new("ip", "127.0.0.1"), Id::new("digest", "bob:x")],
        };
        let mut out = BytesMut::new();
        encode_identity(&identity, &mut out);
        assert_eq!(
            decode_identity(&mut Reader::new(out.freeze())).unwrap(),
            identity
        );
        let mut bad = Reader::new(Bytes::from_static(&[99]));
        assert!(decode_txn(&mut bad).is_err());
    }
}
