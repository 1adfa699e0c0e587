//! The [`DataTree`]: persistent maps of znodes, indexes of ephemerals, containers and TTL nodes,
//! and the session table. Cloning is O(1), so snapshots and multi staging are cheap.

use crate::acl::acl_permits;
use crate::config::TreeConfig;
use crate::ephemeral::NodeKind;
use crate::node::{AclList, ChildName, Children, Node, PersistedStat};
use crate::path::{java_len, CONFIG_ZOOKEEPER, PROC_ZOOKEEPER, QUOTA_ZOOKEEPER, ROOT};
use crate::pmap::PMap;
use crate::txn::{Identity, SessionEntry};
use bytes::Bytes;
use imbl::{OrdMap, OrdSet};
use jute::{Acl, ErrorCode, Stat};
use std::ops::Bound;
use std::sync::Arc;

/// The replicated state: znodes plus the session table.
///
/// Every collection is an `imbl` persistent map ordered by key, so `clone()` is O(1) and every
/// iteration order is deterministic.
#[derive(Debug, Clone)]
pub struct DataTree {
    pub(crate) config: Arc<TreeConfig>,
    /// Full path → node. Keys are shared with the parents' children sets.
    pub(crate) nodes: PMap<Arc<str>, Arc<Node>>,
    /// (owner session, path) of every ephemeral node.
    pub(crate) ephemerals: OrdSet<(i64, Arc<str>)>,
    pub(crate) containers: OrdSet<Arc<str>>,
    pub(crate) ttls: OrdSet<Arc<str>>,
    pub(crate) sessions: OrdMap<i64, SessionEntry>,
    /// Paths with a `zookeeper_limits` node, keyed as [`crate::quota::trie_key`] makes them.
    pub(crate) quota_roots: OrdSet<String>,
    /// ZooKeeper's running estimate: path length plus data length of every node.
    pub(crate) data_size: i64,
    pub(crate) last_zxid: i64,
}

impl Default for DataTree {
    fn default() -> Self {
        Self::new()
    }
}

impl DataTree {
    /// A fresh tree: `/`, `/zookeeper`, `/zookeeper/quota`, `/zookeeper/config`, as ZooKeeper starts.
    pub fn new() -> Self {
        Self::with_config(TreeConfig::default())
    }

    /// A fresh tree with non-default settings (TTL nodes, quota enforcement, ...).
    pub fn with_config(config: TreeConfig) -> Self {
        let open: AclList = Arc::new(Acl::open_unsafe());
        let mut tree = DataTree {
            config: Arc::new(config),
            nodes: PMap::new(),
            ephemerals: OrdSet::new(),
            containers: OrdSet::new(),
            ttls: OrdSet::new(),
            sessions: OrdMap::new(),
            quota_roots: OrdSet::new(),
            // ZooKeeper also counts the root's alias "", of length 0.
            data_size: 0,
            last_zxid: 0,
        };
        // ZooKeeper gives its built-in nodes empty (not null) data.
        let system = |acl: &AclList| Node {
            data: Some(Bytes::new()),
            acl: acl.clone(),
            stat: PersistedStat::default(),
            children: Children::default(),
        };
        for path in [ROOT, PROC_ZOOKEEPER, QUOTA_ZOOKEEPER] {
            tree.put_system_node(path, system(&open));
        }
        tree.put_system_node(CONFIG_ZOOKEEPER, config_node());
        tree
    }

    /// Sets `/zookeeper/config` to an ensemble member's membership, outside the log, as
    /// ZooKeeper's `ZKDatabase.initConfigInZKDatabase` does: each member writes the text from its
    /// own configuration when it starts, so it is no txn and fires no watch. As there, the node's
    /// dataVersion becomes -1, its mzxid the configuration's version and its mtime `time_ms`; a
    /// tree without the node gets it back first.
    pub fn set_config_data(&mut self, data: &[u8], config_version: i64, time_ms: i64) {
        if !self.nodes.contains_key(CONFIG_ZOOKEEPER) {
            self.put_system_node(CONFIG_ZOOKEEPER, config_node());
        }
        // Nobody can watch a tree that is not serving yet, so the trigger is dropped.
        let mut triggers = Vec::new();
        self.set_node_data(
            CONFIG_ZOOKEEPER,
            Some(Bytes::copy_from_slice(data)),
            -1,
            config_version,
            time_ms,
            &mut triggers,
        );
    }

    /// Adds a built-in node without touching its parent's stat, as ZooKeeper's constructor does.
    fn put_system_node(&mut self, path: &str, node: Node) {
        let path: Arc<str> = Arc::from(path);
        if let Some((parent, name)) = parent_of(&path) {
            if let Some(parent) = self.nodes.get_mut(parent) {
                Arc::make_mut(parent).children.insert(ChildName::new(name));
            }
        }
        self.data_size += java_len(&path) + node.data_len();
        self.nodes.insert(path, Arc::new(node));
    }

    /// The settings this tree applies txns with.
    pub fn config(&self) -> &TreeConfig {
        &self.config
    }

    /// The zxid of the last applied txn.
    pub fn last_zxid(&self) -> i64 {
        self.last_zxid
    }

    // ---- reads (served from the applied tree) ----

    /// The node's stat, as a client sees it.
    pub fn stat(&self, path: &str) -> Option<Stat> {
        self.nodes.get(path).map(|n| n.stat())
    }

    /// The node's data and stat; the data is `None` when the node holds null data.
    pub fn get_data(&self, path: &str) -> Option<(Option<Bytes>, Stat)> {
        self.nodes.get(path).map(|n| (n.data.clone(), n.stat()))
    }

    /// Children names (not full paths), in a deterministic (sorted) order.
    pub fn get_children(&self, path: &str) -> Option<(Vec<String>, Stat)> {
        let node = self.nodes.get(path)?;
        let names = node.children.iter().map(|name| name.to_string()).collect();
        Some((names, node.stat()))
    }

    /// The node's ACL and stat.
    pub fn get_acl(&self, path: &str) -> Option<(Vec<Acl>, Stat)> {
        self.nodes
            .get(path)
            .map(|n| (n.acl.as_ref().clone(), n.stat()))
    }

    /// Number of descendants (not counting the node itself).
    pub fn all_children_number(&self, path: &str) -> Option<i32> {
        let node = self.nodes.get(path)?;
        if path == ROOT {
            return Some((self.nodes.len() - 1) as i32);
        }
        if node.children.is_empty() {
            return Some(0);
        }
        Some(self.descendants(path).count() as i32)
    }

    /// Every node below `path` (not `path` itself): in path order they follow it contiguously,
    /// all starting with `path/`.
    pub(crate) fn descendants<'a>(
        &'a self,
        path: &str,
    ) -> impl Iterator<Item = (&'a Arc<str>, &'a Arc<Node>)> + 'a {
        let prefix = if path == ROOT {
            ROOT.to_string()
        } else {
            format!("{path}/")
        };
        self.nodes
            .range_from(prefix.as_str())
            .take_while(move |(key, _)| key.starts_with(prefix.as_str()))
    }

    /// Ephemeral paths owned by `session_id` that start with `prefix` (a plain string prefix, as
    /// ZooKeeper's `getEphemerals` matches), sorted.
    pub fn ephemerals(&self, session_id: i64, prefix: &str) -> Vec<String> {
        self.session_ephemerals(session_id)
            .filter(|p| p.starts_with(prefix))
            .map(|p| p.to_string())
            .collect()
    }

    pub(crate) fn session_ephemerals(&self, session_id: i64) -> impl Iterator<Item = &Arc<str>> {
        let start: Arc<str> = Arc::from("");
        self.ephemerals
            .range((Bound::Included((session_id, start)), Bound::Unbounded))
            .take_while(move |(owner, _)| *owner == session_id)
            .map(|(_, path)| path)
    }

    /// Err(NoNode) when missing, Err(NoAuth) when `identity` lacks `perm` on the node's ACL.
    pub fn check_acl(&self, path: &str, perm: i32, identity: &Identity) -> Result<(), ErrorCode> {
        let node = self.nodes.get(path).ok_or(ErrorCode::NoNode)?;
        if acl_permits(&node.acl, perm, identity) {
            Ok(())
        } else {
            Err(ErrorCode::NoAuth)
        }
    }

    /// The session's entry, if the session is live.
    pub fn session(&self, session_id: i64) -> Option<&SessionEntry> {
        self.sessions.get(&session_id)
    }

    /// Every live session id, sorted.
    pub fn session_ids(&self) -> Vec<i64> {
        self.sessions.keys().copied().collect()
    }

    /// Every live session with its entry, sorted by id.
    pub fn sessions(&self) -> impl Iterator<Item = (i64, &SessionEntry)> {
        self.sessions.iter().map(|(id, entry)| (*id, entry))
    }

    /// Number of znodes, the built-in ones included. ZooKeeper's `zk_znode_count` is one more:
    /// its node map also holds the root under the alias "" (a fresh server reports 5).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Number of ephemeral nodes (`zk_ephemerals_count`); containers and TTL nodes are not.
    pub fn ephemeral_count(&self) -> usize {
        self.ephemerals.len()
    }

    /// ZooKeeper's `zk_approximate_data_size`: path lengths plus data lengths of all nodes.
    pub fn approximate_data_size(&self) -> i64 {
        self.data_size
    }

    /// Ephemeral paths grouped by owner session, sessions and paths sorted (for `dump`).
    pub fn ephemerals_by_session(&self) -> Vec<(i64, Vec<String>)> {
        let mut out: Vec<(i64, Vec<String>)> = Vec::new();
        for (owner, path) in self.ephemerals.iter() {
            match out.last_mut() {
                Some((last, paths)) if last == owner => paths.push(path.to_string()),
                _ => out.push((*owner, vec![path.to_string()])),
            }
        }
        out
    }

    /// Containers and TTL nodes that qualify for deletion at `now_ms` (for the leader's sweeper),
    /// sorted. ZooKeeper's `ContainerManager` rules: an empty container that had a child (or, if
    /// configured, that has been unused too long); an empty TTL node unchanged for longer than its
    /// TTL.
    pub fn expired_candidates(&self, now_ms: i64) -> Vec<String> {
        let mut out: Vec<String> = self
            .containers
            .iter()
            .chain(self.ttls.iter())
            .filter(|path| {
                self.nodes
                    .get(*path)
                    .is_some_and(|n| self.is_expired(n, now_ms))
            })
            .map(|p| p.to_string())
            .collect();
        out.sort();
        out
    }

    pub(crate) fn is_expired(&self, node: &Node, now_ms: i64) -> bool {
        if !node.children.is_empty() {
            return false;
        }
        let idle_ms = now_ms.saturating_sub(node.stat.mtime);
        match node.kind() {
            NodeKind::Container => {
                node.stat.cversion > 0
                    || (self.config.container_max_never_used_ms != 0
                        && idle_ms > self.config.container_max_never_used_ms)
            }
            NodeKind::Ttl(ttl_ms) => ttl_ms != 0 && idle_ms > ttl_ms,
            NodeKind::Persistent | NodeKind::Ephemeral(_) => false,
        }
    }

    /// Every node in path order (a parent always comes before its children), for snapshots.
    pub fn iter_nodes(&self) -> impl Iterator<Item = NodeRecord<'_>> {
        self.nodes.iter().map(|(path, node)| NodeRecord {
            path,
            data: node.data.as_ref(),
            acl: &node.acl,
            stat: node.stat,
        })
    }
}

/// One node as a snapshot stores it: the persisted stat keeps ZooKeeper's raw owner encoding
/// and its creations-only cversion.
#[derive(Debug, Clone, Copy)]
pub struct NodeRecord<'a> {
    /// The node's full path.
    pub path: &'a Arc<str>,
    /// The node's data; `None` for null data.
    pub data: Option<&'a Bytes>,
    /// The node's ACL.
    pub acl: &'a Arc<Vec<Acl>>,
    /// The stat as persisted.
    pub stat: PersistedStat,
}

/// `/zookeeper/config` as ZooKeeper creates it: empty, readable by anyone, writable by nobody.
fn config_node() -> Node {
    Node {
        data: Some(Bytes::new()),
        acl: Arc::new(Acl::read_unsafe()),
        // ZooKeeper puts the read-only ACL in place with setACL(version -1), which leaves the
        // aversion at -1.
        stat: PersistedStat {
            aversion: -1,
            ..PersistedStat::default()
        },
        children: Children::default(),
    }
}

/// The parent path and child name of a stored path; `None` for the root.
pub(crate) fn parent_of(path: &str) -> Option<(&str, &str)> {
    if path == ROOT {
        return None;
    }
    let slash = path.rfind('/')?;
    let parent = if slash == 0 { ROOT } else { &path[..slash] };
    Some((parent, &path[slash + 1..]))
}

/// The last component of a stored path.
pub(crate) fn child_name(path: &str) -> &str {
    path.rfind('/').map_or(path, |slash| &path[slash + 1..])
}
