//! How one log record is printed: in text like ZooKeeper's TxnLogToolkit (`time session cxid zxid
//! op args`), or as a JSON object.

use super::render::{format_time, Fields, Value};
use jute::{CreateMode, MultiOp, OpCode};
use server::proposal::Proposal;
use tree::Txn;

/// One decoded log record.
#[derive(Debug)]
pub struct Entry<'a> {
    pub zxid: u64,
    /// The leader's timestamp; Raft's own entries carry none.
    pub time_ms: Option<i64>,
    /// `(term, leader)` for a record of a Raft log.
    pub raft: Option<(u64, u64)>,
    pub body: Body<'a>,
}

#[derive(Debug)]
pub enum Body<'a> {
    /// A write: the server's proposal.
    Proposal(&'a Proposal),
    /// A new leader's first entry.
    Blank,
    /// A membership change, as the consensus crate renders it.
    Membership(&'a str),
}

impl Entry<'_> {
    /// `2026-11-22T08:08:38.747Z session 0x… cxid 0x1 zxid 0x2 create /a dataLength=5 …`
    pub fn text(&self, with_data: bool) -> String {
        let time = self.time_ms.map_or_else(|| "-".to_owned(), format_time);
        let (session, cxid) = match &self.body {
            Body::Proposal(p) => (
                format!("{:#x}", p.session_id),
                p.origin
                    .map_or_else(|| "-".to_owned(), |o| format!("{:#x}", o.xid)),
            ),
            _ => ("-".to_owned(), "-".to_owned()),
        };
        let term = self
            .raft
            .map_or_else(String::new, |(term, _)| format!(" term {term}"));
        format!(
            "{time} session {session} cxid {cxid} zxid {:#x}{term} {}",
            self.zxid,
            self.op_fields(with_data).text()
        )
    }

    /// `{"type":"txn","zxid":2,…,"op":"create","path":"/a",…}`
    pub fn json(&self, with_data: bool) -> String {
        // Declared before `f`, which borrows it.
        let ids: String;
        let mut f = Fields::default();
        f.push("type", Value::Str("txn"))
            .push("zxid", Value::Int(self.zxid as i64));
        let time = self.time_ms.map(format_time);
        if let (Some(ms), Some(time)) = (self.time_ms, time.as_deref()) {
            f.push("time", Value::Str(time))
                .push("timeMs", Value::Int(ms));
        }
        if let Some((term, leader)) = self.raft {
            f.push("term", Value::Int(term as i64))
                .push("leader", Value::Int(leader as i64));
        }
        if let Body::Proposal(p) = &self.body {
            f.push("session", Value::Hex(p.session_id));
            if let Some(origin) = &p.origin {
                f.push("cxid", Value::Int(i64::from(origin.xid)))
                    .push("server", Value::Int(origin.server_id as i64))
                    .push("request", Value::Str(op_name(origin.op)));
            }
            ids = p
                .identity
                .ids
                .iter()
                .map(|id| format!("{}:{}", id.scheme, id.id))
                .collect::<Vec<_>>()
                .join(",");
            if !ids.is_empty() {
                f.push("ids", Value::Str(&ids));
            }
        }
        f.0.extend(self.op_fields(with_data).0);
        f.json(&["op", "path"])
    }

    fn op_fields(&self, with_data: bool) -> Fields<'_> {
        let mut f = Fields::default();
        match &self.body {
            Body::Proposal(p) => txn_fields(&p.txn, with_data, &mut f),
            Body::Blank => {
                f.push("", Value::Str("blank"));
                if let Some((_, leader)) = self.raft {
                    f.push("leader", Value::Int(leader as i64));
                }
            }
            Body::Membership(m) => {
                f.push("", Value::Str("membership"))
                    .push("members", Value::Str(m));
            }
        }
        f
    }
}

fn txn_fields<'a>(txn: &'a Txn, with_data: bool, f: &mut Fields<'a>) {
    match txn {
        Txn::CreateSession { timeout_ms, .. } => {
            f.push("", Value::Str("createSession"))
                .push("timeout", Value::Int(i64::from(*timeout_ms)));
        }
        Txn::CloseSession => {
            f.push("", Value::Str("closeSession"));
        }
        Txn::Create(c) => create_fields(c, with_data, f),
        Txn::Delete(d) => {
            f.push("", Value::Str("delete"))
                .push("", Value::Str(&d.path))
                .push("version", Value::Int(i64::from(d.version)));
        }
        Txn::SetData(s) => {
            f.push("", Value::Str("setData"))
                .push("", Value::Str(&s.path))
                .push("dataLength", Value::Int(data_length(&s.data)))
                .push("version", Value::Int(i64::from(s.version)));
            if with_data {
                f.push("data", Value::Data(s.data.as_deref()));
            }
        }
        Txn::SetAcl(a) => {
            f.push("", Value::Str("setACL"))
                .push("", Value::Str(&a.path))
                .push("acl", Value::Int(a.acl.len() as i64))
                .push("version", Value::Int(i64::from(a.version)));
        }
        Txn::Check(c) => {
            f.push("", Value::Str("check"))
                .push("", Value::Str(&c.path))
                .push("version", Value::Int(i64::from(c.version)));
        }
        Txn::Multi(ops) => {
            let items = ops
                .iter()
                .map(|op| multi_op_fields(op, with_data))
                .collect();
            f.push("", Value::Str("multi"))
                .push("ops", Value::List(items));
        }
        // ZooKeeper logs the removal of an empty container or an expired TTL node as
        // `deleteContainer`.
        Txn::DeleteExpired { path } => {
            f.push("", Value::Str("deleteContainer"))
                .push("", Value::Str(path));
        }
        Txn::Sync { path } => {
            f.push("", Value::Str("sync")).push("", Value::Str(path));
        }
    }
}

fn multi_op_fields(op: &MultiOp, with_data: bool) -> Fields<'_> {
    let mut f = Fields::default();
    match op {
        MultiOp::Create(c) => create_fields(c, with_data, &mut f),
        MultiOp::Delete(d) => txn_fields_of_request("delete", &d.path, Some(d.version), &mut f),
        MultiOp::SetData(s) => {
            f.push("", Value::Str("setData"))
                .push("", Value::Str(&s.path))
                .push("dataLength", Value::Int(data_length(&s.data)))
                .push("version", Value::Int(i64::from(s.version)));
            if with_data {
                f.push("data", Value::Data(s.data.as_deref()));
            }
        }
        MultiOp::Check(c) => txn_fields_of_request("check", &c.path, Some(c.version), &mut f),
        MultiOp::GetChildren(g) => txn_fields_of_request("getChildren", &g.path, None, &mut f),
        MultiOp::GetData(g) => txn_fields_of_request("getData", &g.path, None, &mut f),
    }
    f
}

fn txn_fields_of_request<'a>(
    op: &'static str,
    path: &'a str,
    version: Option<i32>,
    f: &mut Fields<'a>,
) {
    f.push("", Value::Str(op)).push("", Value::Str(path));
    if let Some(v) = version {
        f.push("version", Value::Int(i64::from(v)));
    }
}

fn create_fields<'a>(c: &'a jute::CreateOp, with_data: bool, f: &mut Fields<'a>) {
    f.push("", Value::Str(op_name(c.op)))
        .push("", Value::Str(&c.path))
        .push("dataLength", Value::Int(data_length(&c.data)))
        .push("acl", Value::Int(c.acl.len() as i64));
    match CreateMode::from_flags(c.flags) {
        Ok(mode) => f.push("mode", Value::Str(mode_name(mode))),
        Err(_) => f.push("flags", Value::Int(i64::from(c.flags))),
    };
    if c.op == OpCode::CreateTtl || c.ttl != 0 {
        f.push("ttl", Value::Int(c.ttl));
    }
    if with_data {
        f.push("data", Value::Data(c.data.as_deref()));
    }
}

/// A create's or setData's `dataLength`: 0 for null data, as ZooKeeper's stat counts it.
fn data_length(data: &Option<bytes::Bytes>) -> i64 {
    data.as_ref().map_or(0, |d| d.len() as i64)
}

/// ZooKeeper's `CreateMode` constant names.
fn mode_name(mode: CreateMode) -> &'static str {
    match mode {
        CreateMode::Persistent => "PERSISTENT",
        CreateMode::Ephemeral => "EPHEMERAL",
        CreateMode::PersistentSequential => "PERSISTENT_SEQUENTIAL",
        CreateMode::EphemeralSequential => "EPHEMERAL_SEQUENTIAL",
        CreateMode::Container => "CONTAINER",
        CreateMode::PersistentWithTtl => "PERSISTENT_WITH_TTL",
        CreateMode::PersistentSequentialWithTtl => "PERSISTENT_SEQUENTIAL_WITH_TTL",
    }
}

/// ZooKeeper's `Request.op2String` names.
fn op_name(op: OpCode) -> &'static str {
    match op {
        OpCode::Notification => "notification",
        OpCode::Create => "create",
        OpCode::Delete => "delete",
        OpCode::Exists => "exists",
        OpCode::GetData => "getData",
        OpCode::SetData => "setData",
        OpCode::GetAcl => "getACL",
        OpCode::SetAcl => "setACL",
        OpCode::GetChildren => "getChildren",
        OpCode::Sync => "sync",
        OpCode::Ping => "ping",
        OpCode::GetChildren2 => "getChildren2",
        OpCode::Check => "check",
        OpCode::Multi => "multi",
        OpCode::Create2 => "create2",
        OpCode::Reconfig => "reconfig",
        OpCode::CheckWatches => "checkWatches",
        OpCode::RemoveWatches => "removeWatches",
        OpCode::CreateContainer => "createContainer",
        OpCode::DeleteContainer => "deleteContainer",
        OpCode::CreateTtl => "createTTL",
        OpCode::MultiRead => "multiRead",
        OpCode::Auth => "auth",
        OpCode::SetWatches => "setWatches",
        OpCode::Sasl => "sasl",
        OpCode::GetEphemerals => "getEphemerals",
        OpCode::GetAllChildrenNumber => "getAllChildrenNumber",
        OpCode::SetWatches2 => "setWatches2",
        OpCode::AddWatch => "addWatch",
        OpCode::WhoAmI => "whoAmI",
        OpCode::CreateSession => "createSession",
        OpCode::CloseSession => "closeSession",
        OpCode::Error => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use jute::proto::DeleteRequest;
    use jute::{Acl, CreateOp};
    use server::proposal::Origin;
    use std::sync::Arc;
    use tree::Identity;

    fn create(path: &str, flags: i32) -> CreateOp {
        CreateOp {
            op: OpCode::Create2,
            path: path.into(),
            data: Some(Bytes::from_static(b"hi")),
            acl: Acl::open_unsafe(),
            flags,
            ttl: 0,
        }
    }

    #[test]
    fn a_multi_prints_like_txn_log_toolkit() {
        let p = Proposal {
            session_id: 0x0100_00e5_bbe8_0000,
            origin: Some(Origin {
                server_id: 1,
                conn_id: 4,
                xid: 7,
                op: OpCode::Multi,
            }),
            identity: Arc::new(Identity::default()),
            txn: Txn::Multi(vec![
                MultiOp::Create(create("/s-", 3)),
                MultiOp::Delete(DeleteRequest {
                    path: "/old".into(),
                    version: 2,
                }),
            ]),
        };
        let e = Entry {
            zxid: 0x2a,
            time_ms: Some(1_795_334_918_747),
            raft: None,
            body: Body::Proposal(&p),
        };
        assert_eq!(
            e.text(true),
            "2026-11-22T08:08:38.747Z session 0x10000e5bbe80000 cxid 0x7 zxid 0x2a multi \
             ops=[create2 /s- dataLength=2 acl=1 mode=EPHEMERAL_SEQUENTIAL data='hi'; \
             delete /old version=2]"
        );
        assert_eq!(
            e.json(false),
            "{\"type\":\"txn\",\"zxid\":42,\"time\":\"2026-11-22T08:08:38.747Z\",\
             \"timeMs\":1795334918747,\"session\":\"0x10000e5bbe80000\",\"cxid\":7,\"server\":1,\
             \"request\":\"multi\",\"op\":\"multi\",\"ops\":[{\"op\":\"create2\",\"path\":\"/s-\",\
             \"dataLength\":2,\"acl\":1,\"mode\":\"EPHEMERAL_SEQUENTIAL\"},{\"op\":\"delete\",\
             \"path\":\"/old\",\"version\":2}]}"
        );
    }

    #[test]
    fn null_data_prints_as_null_apart_from_empty() {
        let p = |txn| Proposal {
            session_id: 1,
            origin: None,
            identity: Arc::new(Identity::default()),
            txn,
        };
        let entry = |p| Entry {
            zxid: 5,
            time_ms: None,
            raft: None,
            body: Body::Proposal(p),
        };
        let null_create = p(Txn::Create(CreateOp {
            data: None,
            ..create("/n", 0)
        }));
        let e = entry(&null_create);
        assert!(
            e.text(true)
                .ends_with("create2 /n dataLength=0 acl=1 mode=PERSISTENT data=null"),
            "{}",
            e.text(true)
        );
        assert!(
            e.json(true).ends_with(",\"data\":null}"),
            "{}",
            e.json(true)
        );
        let set = |data| {
            p(Txn::SetData(jute::proto::SetDataRequest {
                path: "/n".into(),
                data,
                version: -1,
            }))
        };
        let null_set = set(None);
        assert!(entry(&null_set)
            .text(true)
            .ends_with("setData /n dataLength=0 version=-1 data=null"));
        let empty_set = set(Some(Bytes::new()));
        assert!(entry(&empty_set)
            .text(true)
            .ends_with("setData /n dataLength=0 version=-1 data=''"));
    }

    #[test]
    fn raft_entries_without_a_proposal_still_print() {
        let e = Entry {
            zxid: 3,
            time_ms: None,
            raft: Some((2, 1)),
            body: Body::Blank,
        };
        assert_eq!(
            e.text(false),
            "- session - cxid - zxid 0x3 term 2 blank leader=1"
        );
    }
}
