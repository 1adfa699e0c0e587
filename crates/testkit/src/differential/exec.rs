//! Runs ops against one server over raw sessions and renders every answer as normalised text.

use super::normalise::{acl, err_name, Normaliser};
use super::ops::{show_data, Op, SubOp, ALICE};
use crate::raw::{RawClient, RawError, Reply};
use bytes::{Bytes, BytesMut};
use jute::multi::{decode_multi_response, MultiResult};
use jute::proto::*;
use jute::{MultiOp, OpCode, Reader, Record, Request, Stat};
use std::net::SocketAddr;

/// Session timeout asked for by differential sessions (long: runs must not expire).
const SESSION_TIMEOUT_MS: i32 = 30_000;

/// What a step changed, as the model needs to know it.
#[derive(Debug, Clone, Default)]
pub struct Effects {
    /// Nodes created: relative path, flags, creating session slot.
    pub created: Vec<(String, i32, usize)>,
    /// Nodes deleted: relative path.
    pub deleted: Vec<String>,
    /// A session slot that was closed and reopened.
    pub reopened: Option<usize>,
}

/// The normalised record of one step.
#[derive(Debug, Clone, Default)]
pub struct Step {
    /// One line per observation (reply, then notifications per session).
    pub lines: Vec<String>,
    /// For the model.
    pub effects: Effects,
}

/// One server's side of a run.
#[derive(Debug)]
pub struct Executor {
    addr: SocketAddr,
    root: String,
    sessions: Vec<RawClient>,
    generations: Vec<usize>,
    norm: Normaliser,
}

fn create_request(
    path: String,
    data: Option<&[u8]>,
    flags: i32,
    acl: Vec<jute::Acl>,
    ttl: i64,
) -> jute::CreateOp {
    let op = if flags == 5 || flags == 6 {
        OpCode::CreateTtl
    } else if flags == 4 {
        OpCode::CreateContainer
    } else {
        OpCode::Create2
    };
    jute::CreateOp {
        op,
        path,
        data: data.map(Bytes::copy_from_slice),
        acl,
        flags,
        ttl,
    }
}

impl Executor {
    /// Opens `sessions` sessions (slot 0 authenticated as alice) and creates `root`.
    pub fn start(addr: SocketAddr, root: &str, sessions: usize) -> Result<Executor, RawError> {
        let mut ex = Executor {
            addr,
            root: root.to_string(),
            sessions: Vec::new(),
            generations: Vec::new(),
            norm: Normaliser::new(root),
        };
        for slot in 0..sessions {
            let client = ex.open(slot, 0)?;
            ex.sessions.push(client);
            ex.generations.push(0);
        }
        let create = Request::Create(create_request(
            root.to_string(),
            Some(b""),
            0,
            jute::Acl::open_unsafe(),
            0,
        ));
        let reply = ex.call(0, &create)?;
        // The root's creation is the first zxid any stat of the run can show.
        ex.norm.zxid(reply.header.zxid);
        if reply.header.err != 0 {
            return Err(RawError::Io(std::io::Error::other(format!(
                "cannot create run root {root}: {}",
                err_name(reply.header.err)
            ))));
        }
        Ok(ex)
    }

    fn open(&mut self, slot: usize, generation: usize) -> Result<RawClient, RawError> {
        let mut c = RawClient::connect(self.addr, SESSION_TIMEOUT_MS)?;
        self.norm
            .name_session(c.session_id, format!("s{slot}.{generation}"));
        if slot == 0 {
            let auth = AuthPacket {
                auth_type: 0,
                scheme: "digest".into(),
                auth: Bytes::from_static(ALICE.0.as_bytes()),
            };
            c.call_record(OpCode::Auth, &auth)?;
        }
        Ok(c)
    }

    fn abs(&self, rel: &str) -> String {
        if rel.is_empty() {
            self.root.clone()
        } else {
            format!("{}/{rel}", self.root)
        }
    }

    fn rel(&self, abs: &str) -> String {
        abs.strip_prefix(&self.root)
            .map(|r| r.trim_start_matches('/').to_string())
            .unwrap_or_else(|| abs.to_string())
    }

    fn call(&mut self, s: usize, req: &Request) -> Result<Reply, RawError> {
        let mut body = BytesMut::new();
        req.encode(&mut body);
        self.sessions[s].call(req.op_code(), &body)
    }

    fn sub_op(&self, op: &SubOp) -> MultiOp {
        match op {
            SubOp::Create {
                path,
                data,
                flags,
                acl,
                ttl,
            } => MultiOp::Create(create_request(
                self.abs(path),
                data.as_deref(),
                *flags,
                acl.acl(),
                *ttl,
            )),
            SubOp::Delete { path, version } => MultiOp::Delete(DeleteRequest {
                path: self.abs(path),
                version: *version,
            }),
            SubOp::SetData {
                path,
                data,
                version,
            } => MultiOp::SetData(SetDataRequest {
                path: self.abs(path),
                data: data.as_deref().map(Bytes::copy_from_slice),
                version: *version,
            }),
            SubOp::Check { path, version } => MultiOp::Check(CheckVersionRequest {
                path: self.abs(path),
                version: *version,
            }),
        }
    }

    /// Sends `op`, records the reply, then pings every session to collect the notifications the
    /// op caused (a ping's reply follows every notification queued before it).
    pub fn apply(&mut self, op: &Op) -> Result<Step, RawError> {
        let mut step = Step::default();
        let line = self.apply_op(op, &mut step.effects)?;
        step.lines.push(line);
        for s in 0..self.sessions.len() {
            self.sessions[s].ping()?;
            let events = self.sessions[s].take_events();
            if !events.is_empty() {
                let mut rendered: Vec<String> =
                    events.iter().map(|(_, e)| self.norm.event(e)).collect();
                if matches!(op, Op::Reopen { .. }) {
                    // A closing session's ephemerals are deleted in an unspecified order
                    // (ZooKeeper walks a hash set), so their notifications are compared as a set.
                    rendered.sort();
                }
                step.lines
                    .push(format!("s{s} notified: {}", rendered.join(" | ")));
            }
        }
        Ok(step)
    }

    fn head(&mut self, reply: &Reply, write: bool) -> String {
        let err = err_name(reply.header.err);
        if write && reply.header.err == 0 {
            format!("{err} @{}", self.norm.zxid(reply.header.zxid))
        } else {
            err
        }
    }

    fn decode<T: Record>(reply: &Reply) -> Result<T, RawError> {
        Ok(T::decode(&mut Reader::new(reply.body.clone()))?)
    }

    fn stat_of(&mut self, reply: &Reply) -> Result<String, RawError> {
        let stat: Stat = Self::decode(reply)?;
        Ok(self.norm.stat(&stat))
    }

    fn apply_op(&mut self, op: &Op, fx: &mut Effects) -> Result<String, RawError> {
        match op {
            Op::Create {
                s,
                path,
                data,
                flags,
                acl,
                ttl,
            } => {
                let req = Request::Create(create_request(
                    self.abs(path),
                    data.as_deref(),
                    *flags,
                    acl.acl(),
                    *ttl,
                ));
                let reply = self.call(*s, &req)?;
                let mut line = self.head(&reply, true);
                if reply.header.err == 0 {
                    let r: Create2Response = Self::decode(&reply)?;
                    fx.created.push((self.rel(&r.path), *flags, *s));
                    line = format!(
                        "{line} {} {}",
                        self.norm.path(&r.path),
                        self.norm.stat(&r.stat)
                    );
                }
                Ok(line)
            }
            Op::Delete { s, path, version } => {
                let req = Request::Delete(DeleteRequest {
                    path: self.abs(path),
                    version: *version,
                });
                let reply = self.call(*s, &req)?;
                if reply.header.err == 0 {
                    fx.deleted.push(path.clone());
                }
                Ok(self.head(&reply, true))
            }
            Op::Exists { s, path, watch } => {
                let req = Request::Exists(ExistsRequest {
                    path: self.abs(path),
                    watch: *watch,
                });
                let reply = self.call(*s, &req)?;
                let line = self.head(&reply, false);
                if reply.header.err == 0 {
                    Ok(format!("{line} {}", self.stat_of(&reply)?))
                } else {
                    Ok(line)
                }
            }
            Op::GetData { s, path, watch } => {
                let req = Request::GetData(GetDataRequest {
                    path: self.abs(path),
                    watch: *watch,
                });
                let reply = self.call(*s, &req)?;
                let line = self.head(&reply, false);
                if reply.header.err == 0 {
                    let r: GetDataResponse = Self::decode(&reply)?;
                    Ok(format!(
                        "{line} {} {}",
                        show_data(r.data.as_deref()),
                        self.norm.stat(&r.stat)
                    ))
                } else {
                    Ok(line)
                }
            }
            Op::SetData {
                s,
                path,
                data,
                version,
            } => {
                let req = Request::SetData(SetDataRequest {
                    path: self.abs(path),
                    data: data.as_deref().map(Bytes::copy_from_slice),
                    version: *version,
                });
                let reply = self.call(*s, &req)?;
                let line = self.head(&reply, true);
                if reply.header.err == 0 {
                    Ok(format!("{line} {}", self.stat_of(&reply)?))
                } else {
                    Ok(line)
                }
            }
            Op::GetChildren { s, path, watch } => {
                let req = Request::GetChildren2(GetChildren2Request {
                    path: self.abs(path),
                    watch: *watch,
                });
                let reply = self.call(*s, &req)?;
                let line = self.head(&reply, false);
                if reply.header.err == 0 {
                    let r: GetChildren2Response = Self::decode(&reply)?;
                    Ok(format!(
                        "{line} {} {}",
                        self.norm.children(&r.children),
                        self.norm.stat(&r.stat)
                    ))
                } else {
                    Ok(line)
                }
            }
            Op::GetAcl { s, path } => {
                let req = Request::GetAcl(GetAclRequest {
                    path: self.abs(path),
                });
                let reply = self.call(*s, &req)?;
                let line = self.head(&reply, false);
                if reply.header.err == 0 {
                    let r: GetAclResponse = Self::decode(&reply)?;
                    Ok(format!(
                        "{line} {} {}",
                        acl(&r.acl),
                        self.norm.stat(&r.stat)
                    ))
                } else {
                    Ok(line)
                }
            }
            Op::SetAcl {
                s,
                path,
                acl: choice,
                version,
            } => {
                let req = Request::SetAcl(SetAclRequest {
                    path: self.abs(path),
                    acl: choice.acl(),
                    version: *version,
                });
                let reply = self.call(*s, &req)?;
                let line = self.head(&reply, true);
                if reply.header.err == 0 {
                    Ok(format!("{line} {}", self.stat_of(&reply)?))
                } else {
                    Ok(line)
                }
            }
            Op::Multi { s, ops } => {
                let req = Request::Multi(ops.iter().map(|o| self.sub_op(o)).collect());
                let reply = self.call(*s, &req)?;
                if reply.body.is_empty() {
                    return Ok(self.head(&reply, true));
                }
                let results = decode_multi_response(&mut Reader::new(reply.body.clone()))?;
                // ZooKeeper answers a failed multi with err 0 in the header and the error in the
                // results; the zxid its error transaction consumed is invisible elsewhere, so it
                // is not compared (a server may leave no gap for a failed write).
                let failed = results
                    .iter()
                    .any(|r| matches!(r, MultiResult::Error { .. }));
                let line = self.head(&reply, !failed);
                let mut parts = Vec::new();
                for (i, r) in results.iter().enumerate() {
                    parts.push(match r {
                        MultiResult::Create { op, path, stat } => {
                            if reply.header.err == 0 {
                                if let Some(SubOp::Create { flags, .. }) = ops.get(i) {
                                    fx.created.push((self.rel(path), *flags, *s));
                                }
                            }
                            if *op == OpCode::Create {
                                // A plain create result carries no stat.
                                format!("Create {}", self.norm.path(path))
                            } else {
                                format!("{op:?} {} {}", self.norm.path(path), self.norm.stat(stat))
                            }
                        }
                        MultiResult::Delete => {
                            if reply.header.err == 0 {
                                if let Some(SubOp::Delete { path, .. }) = ops.get(i) {
                                    fx.deleted.push(path.clone());
                                }
                            }
                            "Delete".into()
                        }
                        MultiResult::SetData { stat } => {
                            format!("SetData {}", self.norm.stat(stat))
                        }
                        MultiResult::Check => "Check".into(),
                        MultiResult::GetChildren { children } => {
                            format!("GetChildren {}", self.norm.children(children))
                        }
                        MultiResult::GetData { data, stat } => format!(
                            "GetData {} {}",
                            show_data(data.as_deref()),
                            self.norm.stat(stat)
                        ),
                        MultiResult::Error { err } => format!("Error {err:?}"),
                    });
                }
                Ok(format!("{line} [{}]", parts.join("; ")))
            }
            Op::Sync { s, path } => {
                let req = Request::Sync(SyncRequest {
                    path: self.abs(path),
                });
                let reply = self.call(*s, &req)?;
                let line = self.head(&reply, false);
                if reply.header.err == 0 {
                    let r: SyncResponse = Self::decode(&reply)?;
                    Ok(format!("{line} {}", self.norm.path(&r.path)))
                } else {
                    Ok(line)
                }
            }
            Op::GetEphemerals { s } => {
                let req = Request::GetEphemerals(GetEphemeralsRequest {
                    prefix_path: self.root.clone(),
                });
                let reply = self.call(*s, &req)?;
                let line = self.head(&reply, false);
                if reply.header.err == 0 {
                    let r: GetEphemeralsResponse = Self::decode(&reply)?;
                    let rel: Vec<String> = r.ephemerals.iter().map(|p| self.norm.path(p)).collect();
                    Ok(format!("{line} {}", self.norm.children(&rel)))
                } else {
                    Ok(line)
                }
            }
            Op::AllChildrenNumber { s, path } => {
                let req = Request::GetAllChildrenNumber(GetAllChildrenNumberRequest {
                    path: self.abs(path),
                });
                let reply = self.call(*s, &req)?;
                let line = self.head(&reply, false);
                if reply.header.err == 0 {
                    let r: GetAllChildrenNumberResponse = Self::decode(&reply)?;
                    Ok(format!("{line} {}", r.total_number))
                } else {
                    Ok(line)
                }
            }
            Op::AddAuth { s, user } => {
                let req = Request::Auth(AuthPacket {
                    auth_type: 0,
                    scheme: "digest".into(),
                    auth: Bytes::copy_from_slice(user.as_bytes()),
                });
                let reply = self.call(*s, &req)?;
                Ok(self.head(&reply, false))
            }
            Op::Reopen { s } => {
                let reply = self.sessions[*s].call(OpCode::CloseSession, &[])?;
                let line = self.head(&reply, true);
                let generation = self.generations[*s] + 1;
                let fresh = self.open(*s, generation)?;
                self.generations[*s] = generation;
                self.sessions[*s] = fresh;
                fx.reopened = Some(*s);
                Ok(line)
            }
        }
    }

    /// Closes every session and deletes nothing: each run has its own root, and a shared server
    /// dies with the test process.
    pub fn finish(self) {
        for c in self.sessions {
            let _ = c.close();
        }
    }
}
