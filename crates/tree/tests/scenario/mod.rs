//! Runs scenario files against a [`DataTree`]. The same command language is replayed against a
//! real ZooKeeper by `tests/record_scenarios.py`, which wrote the expected outputs.
//!
//! Every write is one txn with the next zxid and time `zxid × 1000` (unless `at=` says
//! otherwise), so zxids line up with ZooKeeper's, where every write (failed ones too) and every
//! session creation and close takes a zxid. Sessions have names (`s1`), and each carries the
//! `ip:127.0.0.1` identity a loopback client has.

pub mod datadriven;

use bytes::Bytes;
use jute::proto::{CheckVersionRequest, DeleteRequest, SetAclRequest, SetDataRequest};
use jute::{Acl, CreateOp, ErrorCode, Id, MultiOp, MultiResult, OpCode, Stat};
use std::collections::BTreeMap;
use tree::{
    digest_id, Applied, DataTree, Identity, TreeConfig, Txn, TxnHeader, TxnOutput, WatchTrigger,
};

/// The super user's password on the recording server (`-Dzookeeper.DigestAuthenticationProvider.superDigest`).
const SUPER_PASSWORD: &str = "secret";
const FIRST_SESSION_ID: i64 = 0x0100_0000_0000_0001;

pub struct Runner {
    tree: DataTree,
    zxid: i64,
    sessions: BTreeMap<String, i64>,
    identities: BTreeMap<String, Identity>,
    next_session: i64,
}

type Opts = BTreeMap<String, String>;

impl Runner {
    pub fn new() -> Self {
        Self {
            tree: DataTree::with_config(TreeConfig {
                extended_types_enabled: true,
                ..TreeConfig::default()
            }),
            zxid: 0,
            sessions: BTreeMap::new(),
            identities: BTreeMap::new(),
            next_session: FIRST_SESSION_ID,
        }
    }

    pub fn run(&mut self, input: &[String]) -> String {
        let words: Vec<&str> = input[0].split_whitespace().collect();
        let (args, opts) = split_args(&words[1..]);
        let mut out = String::new();
        match words[0] {
            "config" => {
                let mut config = self.tree.config().clone();
                for flag in &args {
                    match *flag {
                        "enforce_quota" => config.enforce_quota = true,
                        "no_extended_types" => config.extended_types_enabled = false,
                        other => panic!("unknown config {other}"),
                    }
                }
                if let Some(ms) = opts.get("container_max_never_used_ms") {
                    config.container_max_never_used_ms = ms.parse().unwrap();
                }
                self.tree = DataTree::with_config(config);
                out.push_str("ok\n");
            }
            "connect" => {
                let id = self.next_session;
                self.next_session += 1;
                self.sessions.insert(args[0].to_string(), id);
                self.identities.insert(
                    args[0].to_string(),
                    Identity {
                        ids: vec![Id::new("ip", "127.0.0.1")],
                    },
                );
                let txn = Txn::CreateSession {
                    timeout_ms: 30000,
                    passwd: Bytes::from_static(&[0; 16]),
                };
                let applied = self.write(args[0], &opts, &txn);
                self.render(&mut out, &applied, |_| "connected".to_string());
            }
            "close" => {
                let applied = self.write(args[0], &opts, &Txn::CloseSession);
                self.render(&mut out, &applied, |_| "closed".to_string());
            }
            "auth" => {
                let (scheme, cred) = (args[1], args[2]);
                let identity = self.identities.get_mut(args[0]).expect("unknown session");
                if scheme == "digest" {
                    if cred == format!("super:{SUPER_PASSWORD}") {
                        identity.ids.push(Id::new("super", ""));
                    }
                    identity.ids.push(Id::new("digest", digest_id(cred)));
                } else {
                    identity.ids.push(Id::new(scheme, cred));
                }
                out.push_str("ok\n");
            }
            "setacl" => {
                let txn = Txn::SetAcl(SetAclRequest {
                    path: unquote(args[1]).to_string(),
                    acl: parse_acl(args[2]),
                    version: version(&opts),
                });
                let applied = self.write(args[0], &opts, &txn);
                self.render(&mut out, &applied, |o| self.output(o, None));
            }
            "create" | "delete" | "set" | "check" => {
                let op = parse_op(words[0], &args[1..], &opts);
                let txn = match op.clone() {
                    MultiOp::Create(c) => Txn::Create(c),
                    MultiOp::Delete(r) => Txn::Delete(r),
                    MultiOp::SetData(r) => Txn::SetData(r),
                    MultiOp::Check(r) => Txn::Check(r),
                    _ => unreachable!(),
                };
                let applied = self.write(args[0], &opts, &txn);
                let create_op = match &op {
                    MultiOp::Create(c) => Some(c.op),
                    _ => None,
                };
                self.render(&mut out, &applied, |o| self.output(o, create_op));
            }
            "multi" => {
                let ops: Vec<MultiOp> = input[1..]
                    .iter()
                    .map(|l| {
                        let w: Vec<&str> = l.split_whitespace().collect();
                        let (a, o) = split_args(&w[1..]);
                        parse_op(w[0], &a, &o)
                    })
                    .collect();
                let applied = self.write(args[0], &opts, &Txn::Multi(ops));
                self.render(&mut out, &applied, |o| self.output(o, None));
            }
            "expire" => {
                let txn = Txn::DeleteExpired {
                    path: args[0].to_string(),
                };
                let applied = self.write("-", &opts, &txn);
                self.render(&mut out, &applied, |_| "deleted".to_string());
            }
            "candidates" => {
                let now: i64 = opts["now"].parse().unwrap();
                out.push_str(&format!("{:?}\n", self.tree.expired_candidates(now)));
            }
            "stat" => out.push_str(&self.or_nonode(self.tree.stat(args[0]).map(|s| self.stat(&s)))),
            "get" => out.push_str(&self.or_nonode(self.tree.get_data(args[0]).map(|(d, s)| {
                let data = d.map_or_else(
                    || NULL_DATA.to_string(),
                    |d| String::from_utf8_lossy(&d).into_owned(),
                );
                format!("data={data} {}", self.stat(&s))
            }))),
            "ls" => out.push_str(
                &self.or_nonode(
                    self.tree
                        .get_children(args[0])
                        .map(|(c, s)| format!("[{}] {}", c.join(" "), self.stat(&s))),
                ),
            ),
            "getacl" => out.push_str(
                &self.or_nonode(
                    self.tree
                        .get_acl(args[0])
                        .map(|(a, s)| format!("acl={} {}", render_acl(&a), self.stat(&s))),
                ),
            ),
            "count" => out.push_str(
                &self.or_nonode(
                    self.tree
                        .all_children_number(args[0])
                        .map(|n| n.to_string()),
                ),
            ),
            "ephemerals" => {
                let id = self.sessions[args[0]];
                let prefix = args.get(1).copied().unwrap_or("/");
                out.push_str(&format!("{:?}\n", self.tree.ephemerals(id, prefix)));
            }
            other => panic!("unknown command {other}"),
        }
        out
    }

    fn write(&mut self, session: &str, opts: &Opts, txn: &Txn) -> Applied {
        self.zxid += 1;
        let header = TxnHeader {
            zxid: self.zxid,
            time_ms: opts
                .get("at")
                .map_or(self.zxid * 1000, |t| t.parse().unwrap()),
            session_id: self.sessions.get(session).copied().unwrap_or(0),
        };
        let identity = self.identities.get(session).cloned().unwrap_or_default();
        let before = self.tree.clone();
        let applied = self.tree.apply(&header, &identity, txn);
        assert_eq!(self.tree.last_zxid(), self.zxid);
        if applied.result.is_err() || matches!(&applied.result, Ok(o) if o.multi_error().is_some())
        {
            assert_same_tree(&before, &self.tree);
            assert!(applied.triggers.is_empty());
        }
        applied
    }

    fn render(&self, out: &mut String, applied: &Applied, ok: impl Fn(&TxnOutput) -> String) {
        match &applied.result {
            Ok(o) => {
                out.push_str(&ok(o));
                out.push('\n');
            }
            Err(e) => out.push_str(&format!("error {}\n", err_name(*e))),
        }
        for WatchTrigger { path, event, .. } in &applied.triggers {
            out.push_str(&format!("  watch {event:?} {path}\n"));
        }
    }

    fn output(&self, o: &TxnOutput, create_op: Option<OpCode>) -> String {
        match o {
            TxnOutput::Created { path, stat } => {
                self.created(create_op.unwrap_or(OpCode::Create2), path, stat)
            }
            TxnOutput::Deleted => "deleted".into(),
            TxnOutput::SetData { stat } => format!("set {}", self.stat(stat)),
            TxnOutput::SetAcl { stat } => format!("setacl {}", self.stat(stat)),
            TxnOutput::Checked => "checked".into(),
            TxnOutput::Synced { path } => format!("synced {path}"),
            TxnOutput::Multi { results } => {
                let failed = o.multi_error().is_some();
                let mut s = String::from(if failed { "multi failed" } else { "multi ok" });
                for r in results {
                    s.push_str("\n  ");
                    s.push_str(&match r {
                        MultiResult::Create { op, path, stat } => self.created(*op, path, stat),
                        MultiResult::Delete => "deleted".into(),
                        MultiResult::SetData { stat } => format!("set {}", self.stat(stat)),
                        MultiResult::Check => "checked".into(),
                        MultiResult::Error { err } => format!("error {}", err_name(*err)),
                        other => panic!("read result in a write multi: {other:?}"),
                    });
                }
                s
            }
            TxnOutput::SessionCreated | TxnOutput::SessionClosed => unreachable!(),
        }
    }

    /// Plain `create` replies carry no stat; every other variant does.
    fn created(&self, op: OpCode, path: &str, stat: &Stat) -> String {
        if op == OpCode::Create {
            format!("created {path}")
        } else {
            format!("created {path} {}", self.stat(stat))
        }
    }

    fn stat(&self, s: &Stat) -> String {
        let owner = match s.ephemeral_owner {
            0 => "0".to_string(),
            id => self
                .sessions
                .iter()
                .find(|(_, v)| **v == id)
                .map_or_else(|| format!("{id:#x}"), |(k, _)| k.clone()),
        };
        format!(
            "czxid={} mzxid={} pzxid={} ctime={} mtime={} version={} cversion={} aversion={} owner={} dlen={} nchildren={}",
            s.czxid, s.mzxid, s.pzxid, s.ctime, s.mtime, s.version, s.cversion, s.aversion, owner,
            s.data_length, s.num_children
        )
    }

    fn or_nonode(&self, v: Option<String>) -> String {
        format!("{}\n", v.unwrap_or_else(|| "error NoNode".to_string()))
    }
}

fn err_name(e: ErrorCode) -> String {
    format!("{e:?}")
}

fn split_args<'a>(words: &[&'a str]) -> (Vec<&'a str>, Opts) {
    let mut args = Vec::new();
    let mut opts = Opts::new();
    for w in words {
        match w.split_once('=') {
            Some((k, v)) if !w.starts_with('/') => {
                opts.insert(k.to_string(), v.to_string());
            }
            _ => args.push(*w),
        }
    }
    (args, opts)
}

fn version(opts: &Opts) -> i32 {
    opts.get("v").map_or(-1, |v| v.parse().unwrap())
}

/// How `get` prints null data (ZooKeeper answers it as a null buffer, not an empty one).
const NULL_DATA: &str = "<null>";

/// The data of a create (`data=`) or set (second positional argument); `nulldata=1` sends a
/// null buffer instead.
fn op_data(given: Option<&str>, opts: &Opts) -> Option<Bytes> {
    if opts.contains_key("nulldata") {
        None
    } else {
        Some(Bytes::from(given.unwrap_or_default().to_string()))
    }
}

/// `PATH` is the first positional argument; `set` takes DATA second.
fn parse_op(cmd: &str, args: &[&str], opts: &Opts) -> MultiOp {
    let path = args.first().map_or("", |p| unquote(p)).to_string();
    match cmd {
        "create" => {
            let op = match opts.get("op").map_or("create", String::as_str) {
                "create" => OpCode::Create,
                "create2" => OpCode::Create2,
                "container" => OpCode::CreateContainer,
                "ttl" => OpCode::CreateTtl,
                other => panic!("unknown create op {other}"),
            };
            MultiOp::Create(CreateOp {
                op,
                path,
                data: op_data(opts.get("data").map(String::as_str), opts),
                acl: opts
                    .get("acl")
                    .map_or_else(Acl::open_unsafe, |a| parse_acl(a)),
                flags: opts.get("flags").map_or(0, |f| f.parse().unwrap()),
                ttl: opts.get("ttl").map_or(0, |t| t.parse().unwrap()),
            })
        }
        "delete" => MultiOp::Delete(DeleteRequest {
            path,
            version: version(opts),
        }),
        "set" => MultiOp::SetData(SetDataRequest {
            path,
            data: op_data(args.get(1).copied(), opts),
            version: version(opts),
        }),
        "check" => MultiOp::Check(CheckVersionRequest {
            path,
            version: version(opts),
        }),
        other => panic!("unknown op {other}"),
    }
}

/// `"..."` lets a scenario name the empty path.
fn unquote(p: &str) -> &str {
    p.strip_prefix('"')
        .and_then(|p| p.strip_suffix('"'))
        .unwrap_or(p)
}

/// `PERMS:SCHEME:ID,...`; PERMS is a number; scheme `digestpw` takes `user:password`.
fn parse_acl(spec: &str) -> Vec<Acl> {
    if spec == "none" {
        return Vec::new();
    }
    spec.split(',')
        .map(|entry| {
            let mut parts = entry.splitn(3, ':');
            let perms: i32 = parts.next().unwrap().parse().unwrap();
            let scheme = parts.next().unwrap();
            let id = parts.next().unwrap_or("");
            if scheme == "digestpw" {
                Acl::new(perms, Id::new("digest", digest_id(id)))
            } else {
                Acl::new(perms, Id::new(scheme, id))
            }
        })
        .collect()
}

fn render_acl(acl: &[Acl]) -> String {
    acl.iter()
        .map(|a| format!("{}:{}:{}", a.perms, a.id.scheme, a.id.id))
        .collect::<Vec<_>>()
        .join(",")
}

/// Two trees hold the same nodes, stats, data, ACLs and sessions.
pub fn assert_same_tree(a: &DataTree, b: &DataTree) {
    assert_eq!(snapshot(a), snapshot(b));
}

pub fn snapshot(t: &DataTree) -> Vec<String> {
    let mut out: Vec<String> = t
        .iter_nodes()
        .map(|n| format!("{} {:?} {:?} {:?}", n.path, n.data, n.acl, n.stat))
        .collect();
    out.extend(t.sessions().map(|(id, e)| format!("session {id} {e:?}")));
    out.push(format!(
        "size={} ephemerals={:?} candidates={:?}",
        t.approximate_data_size(),
        t.ephemerals_by_session(),
        t.expired_candidates(i64::MAX)
    ));
    out
}
