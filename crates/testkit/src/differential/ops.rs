//! The operations the differential test issues, and the model that picks plausible ones.

use super::rng::SeededRng;
use jute::{perms, Acl, Id};
use std::collections::BTreeMap;
use std::fmt;

/// `digest` ids of the two users the sessions may authenticate as.
pub const ALICE: (&str, &str) = ("alice:secret", "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=");
/// See [`ALICE`].
pub const BOB: (&str, &str) = ("bob:secret", "bob:fyVmFCwVbTJYrznoSu1koqYEYF0=");

/// A named ACL choice, so op listings stay readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AclChoice {
    /// world:anyone ALL.
    Open,
    /// world:anyone READ.
    ReadOnly,
    /// digest alice ALL.
    AliceOnly,
    /// digest alice ALL + world READ.
    AliceWriteWorldRead,
    /// auth:"" ALL (needs an authenticated session).
    Creator,
    /// ip:127.0.0.1 ALL.
    Loopback,
    /// ip:10.0.0.0/8 ALL: a network no test client is in.
    OtherNet,
    /// world:anyone CREATE|READ (no DELETE, no WRITE).
    CreateOnly,
    /// An empty list (InvalidACL).
    Empty,
    /// An unknown scheme (InvalidACL).
    BadScheme,
}

impl AclChoice {
    const ALL: [AclChoice; 10] = [
        AclChoice::Open,
        AclChoice::ReadOnly,
        AclChoice::AliceOnly,
        AclChoice::AliceWriteWorldRead,
        AclChoice::Creator,
        AclChoice::Loopback,
        AclChoice::OtherNet,
        AclChoice::CreateOnly,
        AclChoice::Empty,
        AclChoice::BadScheme,
    ];

    /// The ACL list sent on the wire.
    pub fn acl(self) -> Vec<Acl> {
        match self {
            AclChoice::Open => Acl::open_unsafe(),
            AclChoice::ReadOnly => Acl::read_unsafe(),
            AclChoice::AliceOnly => vec![Acl::new(perms::ALL, Id::new("digest", ALICE.1))],
            AclChoice::AliceWriteWorldRead => vec![
                Acl::new(perms::ALL, Id::new("digest", ALICE.1)),
                Acl::new(perms::READ, Id::anyone()),
            ],
            AclChoice::Creator => vec![Acl::new(perms::ALL, Id::new("auth", ""))],
            AclChoice::Loopback => vec![Acl::new(perms::ALL, Id::new("ip", "127.0.0.1"))],
            AclChoice::OtherNet => vec![Acl::new(perms::ALL, Id::new("ip", "10.0.0.0/8"))],
            AclChoice::CreateOnly => {
                vec![Acl::new(perms::CREATE | perms::READ, Id::anyone())]
            }
            AclChoice::Empty => Vec::new(),
            AclChoice::BadScheme => vec![Acl::new(perms::ALL, Id::new("nosuchscheme", "x"))],
        }
    }

    /// What `setACL` on the run's root sends instead of `self`, so that no seed locks every
    /// session out of its whole run (only ADMIN can undo an ACL, so a root nobody may create
    /// under stays so, and the rest of the run fails the same way and notifies no one).
    /// Session 0 always holds alice's digest id and keeps every permission; each swap keeps
    /// the scheme or the world's rights of what was drawn.
    fn on_run_root(self, s: usize) -> AclChoice {
        match self {
            // world READ only: the world still only reads, alice may write.
            AclChoice::ReadOnly => AclChoice::AliceWriteWorldRead,
            // A network no client is in: the ip scheme with the clients' own address.
            AclChoice::OtherNet => AclChoice::Loopback,
            // auth ids of the setting session: unless that is session 0, they may lack alice.
            AclChoice::Creator if s != 0 => AclChoice::AliceOnly,
            other => other,
        }
    }

    fn random(rng: &mut SeededRng) -> AclChoice {
        // Open most of the time so trees grow; the rest exercise every ACL path.
        if rng.chance(60) {
            AclChoice::Open
        } else {
            *rng.pick(&AclChoice::ALL)
        }
    }
}

/// One write inside a `multi`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubOp {
    /// create2 (or createContainer / createTTL by flags).
    Create {
        path: String,
        /// `None` is null data (length −1), which servers keep apart from empty.
        data: Option<Vec<u8>>,
        flags: i32,
        acl: AclChoice,
        ttl: i64,
    },
    /// delete.
    Delete { path: String, version: i32 },
    /// setData.
    SetData {
        path: String,
        /// `None` is null data (length −1), which servers keep apart from empty.
        data: Option<Vec<u8>>,
        version: i32,
    },
    /// check.
    Check { path: String, version: i32 },
}

/// One step: what session `s` sends. Paths are relative to the run's root (`""` is the root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Create {
        s: usize,
        path: String,
        /// `None` is null data (length −1), which servers keep apart from empty.
        data: Option<Vec<u8>>,
        flags: i32,
        acl: AclChoice,
        ttl: i64,
    },
    Delete {
        s: usize,
        path: String,
        version: i32,
    },
    Exists {
        s: usize,
        path: String,
        watch: bool,
    },
    GetData {
        s: usize,
        path: String,
        watch: bool,
    },
    SetData {
        s: usize,
        path: String,
        /// `None` is null data (length −1), which servers keep apart from empty.
        data: Option<Vec<u8>>,
        version: i32,
    },
    GetChildren {
        s: usize,
        path: String,
        watch: bool,
    },
    GetAcl {
        s: usize,
        path: String,
    },
    SetAcl {
        s: usize,
        path: String,
        acl: AclChoice,
        version: i32,
    },
    Multi {
        s: usize,
        ops: Vec<SubOp>,
    },
    Sync {
        s: usize,
        path: String,
    },
    GetEphemerals {
        s: usize,
    },
    AllChildrenNumber {
        s: usize,
        path: String,
    },
    AddAuth {
        s: usize,
        user: &'static str,
    },
    /// closeSession, then a fresh session in the same slot.
    Reopen {
        s: usize,
    },
}

/// Znode data as an op history or a reply line shows it: quoted text, or `null`.
pub fn show_data(data: Option<&[u8]>) -> String {
    match data {
        Some(d) => format!("{:?}", String::from_utf8_lossy(d)),
        None => "null".to_string(),
    }
}

impl fmt::Display for SubOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubOp::Create {
                path,
                data,
                flags,
                acl,
                ttl,
            } => write!(
                f,
                "create(/{path}, {}, flags={flags}, {acl:?}, ttl={ttl})",
                show_data(data.as_deref())
            ),
            SubOp::Delete { path, version } => write!(f, "delete(/{path}, v={version})"),
            SubOp::SetData {
                path,
                data,
                version,
            } => write!(
                f,
                "setData(/{path}, {}, v={version})",
                show_data(data.as_deref())
            ),
            SubOp::Check { path, version } => write!(f, "check(/{path}, v={version})"),
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Create {
                s,
                path,
                data,
                flags,
                acl,
                ttl,
            } => {
                let sub = SubOp::Create {
                    path: path.clone(),
                    data: data.clone(),
                    flags: *flags,
                    acl: *acl,
                    ttl: *ttl,
                };
                write!(f, "s{s} {sub}")
            }
            Op::Delete { s, path, version } => write!(f, "s{s} delete(/{path}, v={version})"),
            Op::Exists { s, path, watch } => write!(f, "s{s} exists(/{path}, watch={watch})"),
            Op::GetData { s, path, watch } => write!(f, "s{s} getData(/{path}, watch={watch})"),
            Op::SetData {
                s,
                path,
                data,
                version,
            } => write!(
                f,
                "s{s} setData(/{path}, {}, v={version})",
                show_data(data.as_deref())
            ),
            Op::GetChildren { s, path, watch } => {
                write!(f, "s{s} getChildren2(/{path}, watch={watch})")
            }
            Op::GetAcl { s, path } => write!(f, "s{s} getACL(/{path})"),
            Op::SetAcl {
                s,
                path,
                acl,
                version,
            } => {
                write!(f, "s{s} setACL(/{path}, {acl:?}, v={version})")
            }
            Op::Multi { s, ops } => {
                write!(f, "s{s} multi[")?;
                for (i, o) in ops.iter().enumerate() {
                    if i > 0 {
                        write!(f, "; ")?;
                    }
                    write!(f, "{o}")?;
                }
                write!(f, "]")
            }
            Op::Sync { s, path } => write!(f, "s{s} sync(/{path})"),
            Op::GetEphemerals { s } => write!(f, "s{s} getEphemerals(/)"),
            Op::AllChildrenNumber { s, path } => write!(f, "s{s} getAllChildrenNumber(/{path})"),
            Op::AddAuth { s, user } => write!(f, "s{s} addAuth(digest, {user})"),
            Op::Reopen { s } => write!(f, "s{s} closeSession + reconnect"),
        }
    }
}

/// What the generator believes about one node (learned from the reference server's answers).
#[derive(Debug, Clone, Default)]
struct NodeInfo {
    ephemeral_owner: Option<usize>,
    container: bool,
}

/// The generator's view of the run's subtree, updated from the reference server's results.
#[derive(Debug, Clone, Default)]
pub struct Model {
    nodes: BTreeMap<String, NodeInfo>,
}

const NAMES: [&str; 5] = ["a", "b", "c", "d", "e"];
const MAX_DEPTH: usize = 3;
/// The node of [`Model::prologue`], a name the random ops never use.
const PROLOGUE_NODE: &str = "prologue";

fn parent_of(path: &str) -> Option<&str> {
    if path.is_empty() {
        None
    } else {
        Some(path.rfind('/').map(|i| &path[..i]).unwrap_or(""))
    }
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}/{name}")
    }
}

impl Model {
    /// A model holding only the run's root.
    pub fn new() -> Self {
        let mut nodes = BTreeMap::new();
        nodes.insert(String::new(), NodeInfo::default());
        Self { nodes }
    }

    /// Records a node the reference server created.
    pub fn created(&mut self, path: &str, flags: i32, session: usize) {
        self.nodes.insert(
            path.to_string(),
            NodeInfo {
                ephemeral_owner: (flags == 1 || flags == 3).then_some(session),
                container: flags == 4,
            },
        );
    }

    /// Records a node the reference server deleted.
    pub fn deleted(&mut self, path: &str) {
        self.nodes.remove(path);
    }

    /// Forgets the ephemerals of a closed session.
    pub fn session_closed(&mut self, session: usize) {
        self.nodes.retain(|_, n| n.ephemeral_owner != Some(session));
    }

    fn existing(&self, rng: &mut SeededRng) -> String {
        let keys: Vec<&String> = self.nodes.keys().collect();
        (*rng.pick(&keys)).clone()
    }

    fn depth(path: &str) -> usize {
        if path.is_empty() {
            0
        } else {
            path.matches('/').count() + 1
        }
    }

    /// A path that usually exists, sometimes does not (a sibling name or a missing parent).
    fn any_path(&self, rng: &mut SeededRng) -> String {
        let base = self.existing(rng);
        if rng.chance(70) {
            base
        } else if Self::depth(&base) < MAX_DEPTH + 1 {
            let name: &&str = rng.pick(&NAMES);
            join(&base, name)
        } else {
            base
        }
    }

    /// Whether deleting `path` could empty a container (containers vanish on their own timer,
    /// which no two servers share, so the generator never lets one become eligible).
    fn protects_container(&self, path: &str) -> bool {
        parent_of(path)
            .and_then(|p| self.nodes.get(p))
            .map(|n| n.container)
            .unwrap_or(false)
    }

    fn create_target(&self, rng: &mut SeededRng, flags: &mut i32) -> String {
        let mut parent = self.existing(rng);
        // Mostly a parent that can have children, so trees grow; sometimes an ephemeral one.
        for _ in 0..3 {
            let ephemeral = self.nodes.get(&parent).map(|n| n.ephemeral_owner.is_some());
            if ephemeral != Some(true) || rng.chance(15) {
                break;
            }
            parent = self.existing(rng);
        }
        while Self::depth(&parent) >= MAX_DEPTH {
            parent = parent_of(&parent).unwrap_or("").to_string();
        }
        if rng.chance(5) {
            // A missing parent: NoNode.
            parent = join(&parent, "zz");
        }
        let under_container = self
            .nodes
            .get(&parent)
            .map(|n| n.container)
            .unwrap_or(false);
        if under_container && (*flags == 1 || *flags == 3) {
            // An ephemeral child would empty the container when its session closes.
            *flags = 0;
        }
        let name: &&str = rng.pick(&NAMES);
        join(&parent, name)
    }

    fn version(rng: &mut SeededRng) -> i32 {
        *rng.pick(&[-1, -1, 0, 0, 1, 2, 5])
    }

    /// Data for a create or setData: empty, a few letters, or null. Null takes the place of
    /// the longest data after drawing it, so the random stream (and every op a seed chose
    /// before null data existed) stays as it was.
    fn data(rng: &mut SeededRng) -> Option<Vec<u8>> {
        let len = rng.below(12);
        let data: Vec<u8> = (0..len).map(|_| b'a' + rng.below(26) as u8).collect();
        (len < 11).then_some(data)
    }

    fn flags(rng: &mut SeededRng) -> (i32, i64) {
        match rng.below(20) {
            0..=7 => (0, 0),
            8..=10 => (1, 0),
            11..=12 => (2, 0),
            13..=14 => (3, 0),
            15 => (4, 0),
            // TTL long enough never to expire during a run.
            16 => (5, 3_600_000),
            17 => (6, 3_600_000),
            // TTL flags with a zero TTL, and a create mode that does not exist.
            18 => (5, 0),
            _ => (7, 0),
        }
    }

    fn sub_op(&self, rng: &mut SeededRng) -> SubOp {
        match rng.below(4) {
            0 => {
                let (mut flags, ttl) = Self::flags(rng);
                SubOp::Create {
                    path: self.create_target(rng, &mut flags),
                    data: Self::data(rng),
                    flags,
                    acl: AclChoice::random(rng),
                    ttl,
                }
            }
            1 => {
                let path = self.any_path(rng);
                if path.is_empty() || self.protects_container(&path) {
                    SubOp::Check {
                        path,
                        version: Self::version(rng),
                    }
                } else {
                    SubOp::Delete {
                        path,
                        version: Self::version(rng),
                    }
                }
            }
            2 => SubOp::SetData {
                path: self.any_path(rng),
                data: Self::data(rng),
                version: Self::version(rng),
            },
            _ => SubOp::Check {
                path: self.any_path(rng),
                version: Self::version(rng),
            },
        }
    }

    /// The ops every run starts with, before any random one: a watch that the next op fires
    /// and a read that fails, so each seed yields at least one notification and one error
    /// reply whatever its random part does (one seed's random ops may never fire a watch they
    /// set, or never fail). The node they create is deleted again, so the model, and with it the
    /// random part of every seed, is as it would be without them; they draw no random numbers.
    pub fn prologue(sessions: usize) -> Vec<Op> {
        let watcher = sessions.saturating_sub(1);
        let path = PROLOGUE_NODE.to_string();
        vec![
            // NoNode, leaving an exists watch on the missing node.
            Op::Exists {
                s: watcher,
                path: path.clone(),
                watch: true,
            },
            // Fires it (NodeCreated).
            Op::Create {
                s: 0,
                path: path.clone(),
                data: Some(Vec::new()),
                flags: 0,
                acl: AclChoice::Open,
                ttl: 0,
            },
            Op::Delete {
                s: 0,
                path,
                version: -1,
            },
        ]
    }

    /// The next op for a run with `sessions` sessions.
    pub fn next_op(&self, rng: &mut SeededRng, sessions: usize) -> Op {
        let s = rng.below(sessions);
        let watch = rng.chance(60);
        match rng.below(100) {
            0..=21 => {
                let (mut flags, ttl) = Self::flags(rng);
                Op::Create {
                    s,
                    path: self.create_target(rng, &mut flags),
                    data: Self::data(rng),
                    flags,
                    acl: AclChoice::random(rng),
                    ttl,
                }
            }
            22..=33 => {
                let path = self.any_path(rng);
                if path.is_empty() || self.protects_container(&path) {
                    Op::Exists { s, path, watch }
                } else {
                    Op::Delete {
                        s,
                        path,
                        version: Self::version(rng),
                    }
                }
            }
            34..=41 => Op::Exists {
                s,
                path: self.any_path(rng),
                watch,
            },
            42..=51 => Op::GetData {
                s,
                path: self.any_path(rng),
                watch,
            },
            52..=63 => Op::SetData {
                s,
                path: self.any_path(rng),
                data: Self::data(rng),
                version: Self::version(rng),
            },
            64..=73 => Op::GetChildren {
                s,
                path: self.any_path(rng),
                watch,
            },
            74..=76 => Op::GetAcl {
                s,
                path: self.any_path(rng),
            },
            77..=80 => {
                let path = self.any_path(rng);
                let mut acl = AclChoice::random(rng);
                if path.is_empty() {
                    acl = acl.on_run_root(s);
                }
                Op::SetAcl {
                    s,
                    path,
                    acl,
                    version: Self::version(rng),
                }
            }
            81..=91 => {
                let n = 1 + rng.below(4);
                Op::Multi {
                    s,
                    ops: (0..n).map(|_| self.sub_op(rng)).collect(),
                }
            }
            92 => Op::Sync {
                s,
                path: self.any_path(rng),
            },
            93..=94 => Op::GetEphemerals { s },
            95 => Op::AllChildrenNumber {
                s,
                path: self.any_path(rng),
            },
            96..=97 => Op::AddAuth {
                s,
                user: if rng.chance(50) { ALICE.0 } else { BOB.0 },
            },
            _ => Op::Reopen { s },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `acl` lets session 0 (alice, on loopback) create below the node it is set on.
    fn alice_may_create(acl: &[Acl], set_by: usize) -> bool {
        acl.iter().any(|a| {
            let id = (a.id.scheme.as_str(), a.id.id.as_str());
            a.perms & perms::CREATE != 0
                && (id == ("world", "anyone")
                    || id == ("digest", ALICE.1)
                    || id == ("ip", "127.0.0.1")
                    || (id == ("auth", "") && set_by == 0))
        })
    }

    #[test]
    fn no_acl_on_the_run_root_locks_session_zero_out() {
        for s in 0..2 {
            for choice in AclChoice::ALL {
                let acl = choice.on_run_root(s).acl();
                // An empty list or an unknown scheme is refused, and changes nothing.
                let refused = acl.is_empty() || acl[0].id.scheme == "nosuchscheme";
                assert!(
                    refused || alice_may_create(&acl, s),
                    "s{s} {choice:?} on the run root locks it"
                );
            }
        }
    }

    #[test]
    fn prologue_notifies_fails_and_leaves_the_model_as_it_was() {
        let ops = Model::prologue(2);
        assert!(matches!(&ops[0], Op::Exists { s: 1, watch: true, path } if path == PROLOGUE_NODE));
        assert!(
            matches!(&ops[1], Op::Create { s: 0, flags: 0, path, .. } if path == PROLOGUE_NODE)
        );
        assert!(matches!(&ops[2], Op::Delete { s: 0, version: -1, path } if path == PROLOGUE_NODE));
        assert!(!NAMES.contains(&PROLOGUE_NODE));
    }
}
