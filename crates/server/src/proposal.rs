//! The payload this server puts into the consensus log, and its log encoding
//! (`docs/formats/txn.md`).

use bytes::{BufMut, BytesMut};
use jute::{DecodeError, OpCode, Reader, Writer};
use std::sync::Arc;
use tree::codec::{decode_identity, decode_txn, encode_identity, encode_txn};
use tree::{Applied, DataTree, Identity, Txn, TxnHeader};

/// The version byte every encoded proposal starts with.
const FORMAT_VERSION: u8 = 1;

/// The xid of the barrier a connection proposes before re-attaching a session in an ensemble.
/// Client xids are positive and ZooKeeper's special ones small negatives, so none collides.
pub const ATTACH_BARRIER_XID: i32 = i32::MIN;

/// Where the reply to a write goes once it is applied. Replies are sent only by the server the
/// client is connected to; other replicas apply the entry and send nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    /// The server holding the client's connection.
    pub server_id: u64,
    pub conn_id: u64,
    pub xid: i32,
    /// The op the client sent; it decides the reply's shape (e.g. `create` vs `create2`).
    pub op: OpCode,
}

/// One write: the txn plus who issued it and where to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    pub session_id: i64,
    /// `None` for server housekeeping (session expiry, container and TTL sweeps).
    pub origin: Option<Origin>,
    /// The issuer's authenticated ids, checked against ACLs when the txn is applied.
    pub identity: Arc<Identity>,
    pub txn: Txn,
}

impl Proposal {
    /// Applies the proposal to `tree` at `zxid`: the one way every replica, and a replay of the
    /// log, turns an entry into tree state. A re-attach barrier hands its session to the member
    /// that proposed it, so writes from the session's old connection elsewhere now fail.
    pub fn apply_to(&self, tree: &mut DataTree, zxid: i64, time_ms: i64) -> Applied {
        let header = TxnHeader {
            zxid,
            time_ms,
            session_id: self.session_id,
        };
        let origin_server = self.origin.map_or(0, |o| o.server_id);
        let applied = tree.apply_from(&header, &self.identity, &self.txn, origin_server);
        if self.is_attach_barrier() && self.session_id != 0 {
            tree.set_session_owner(self.session_id, origin_server);
        }
        applied
    }

    /// Whether this is the barrier a member proposes before re-attaching a session.
    pub fn is_attach_barrier(&self) -> bool {
        matches!(self.txn, Txn::Sync { .. })
            && self.origin.is_some_and(|o| o.xid == ATTACH_BARRIER_XID)
    }

    /// Appends the log encoding.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u8(FORMAT_VERSION);
        out.write_i64(self.session_id);
        match &self.origin {
            None => out.put_u8(0),
            Some(origin) => {
                out.put_u8(1);
                out.write_i64(origin.server_id as i64);
                out.write_i64(origin.conn_id as i64);
                out.write_i32(origin.xid);
                out.write_i32(origin.op.as_i32());
            }
        }
        encode_identity(&self.identity, out);
        encode_txn(&self.txn, out);
    }

    /// Decodes a proposal written by [`Proposal::encode`].
    pub fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        let version = r.read_u8()?;
        if version != FORMAT_VERSION {
            return Err(DecodeError::InvalidValue {
                field: "proposal format version",
                value: i64::from(version),
            });
        }
        let session_id = r.read_i64()?;
        let origin = match r.read_u8()? {
            0 => None,
            1 => {
                let server_id = r.read_i64()? as u64;
                let conn_id = r.read_i64()? as u64;
                let xid = r.read_i32()?;
                let raw_op = r.read_i32()?;
                let op = OpCode::from_i32(raw_op).ok_or(DecodeError::InvalidValue {
                    field: "origin op",
                    value: i64::from(raw_op),
                })?;
                Some(Origin {
                    server_id,
                    conn_id,
                    xid,
                    op,
                })
            }
            other => {
                return Err(DecodeError::InvalidValue {
                    field: "origin flag",
                    value: i64::from(other),
                })
            }
        };
        let identity = Arc::new(decode_identity(r)?);
        let txn = decode_txn(r)?;
        Ok(Self {
            session_id,
            origin,
            identity,
            txn,
        })
    }
}

impl consensus::LogPayload for Proposal {
    fn encode(&self, out: &mut BytesMut) {
        Proposal::encode(self, out);
    }

    fn decode(bytes: bytes::Bytes) -> Result<Self, String> {
        let mut r = Reader::new(bytes);
        let proposal = Proposal::decode(&mut r).map_err(|e| e.to_string())?;
        r.finish().map_err(|e| e.to_string())?;
        Ok(proposal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jute::proto::DeleteRequest;
    use jute::{Id, Record};

    #[test]
    fn proposals_round_trip_with_and_without_origin() {
        let with_origin = Proposal {
            session_id: 0x1234,
            origin: Some(Origin {
                server_id: 3,
                conn_id: 77,
                xid: 9,
                op: OpCode::Delete,
            }),
            identity: Arc::new(Identity {
                ids: vec![Id::new("ip", "10.0.0.1")],
            }),
            txn: Txn::Delete(DeleteRequest {
                path: "/x".into(),
                version: 2,
            }),
        };
        let housekeeping = Proposal {
            session_id: 5,
            origin: None,
            identity: Arc::new(Identity::default()),
            txn: Txn::CloseSession,
        };
        for p in [with_origin, housekeeping] {
            let mut out = BytesMut::new();
            p.encode(&mut out);
            let mut r = Reader::new(out.freeze());
            assert_eq!(Proposal::decode(&mut r).unwrap(), p);
            assert!(r.finish().is_ok());
        }
        let mut wrong_version = Reader::new(2i32.to_bytes());
        assert!(Proposal::decode(&mut wrong_version).is_err());
    }
}
