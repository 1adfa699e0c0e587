//! Rebuilding a [`DataTree`] from a snapshot's nodes and sessions (the inverse of
//! [`DataTree::iter_nodes`] and [`DataTree::sessions`]).

use crate::config::TreeConfig;
use crate::ephemeral::NodeKind;
use crate::node::{AclList, ChildName, Children, Node, PersistedStat};
use crate::path::{java_len, QUOTA_ZOOKEEPER, ROOT};
use crate::pmap::PMap;
use crate::quota::{self, LIMIT_NODE};
use crate::tree::{child_name, parent_of, DataTree};
use crate::txn::SessionEntry;
use bytes::Bytes;
use imbl::OrdSet;
use jute::Acl;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Why a snapshot's contents do not form a tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestoreError {
    /// A node arrived before its parent.
    #[error("node {0} arrived before its parent")]
    MissingParent(String),
    /// The same path arrived twice.
    #[error("node {0} appears twice")]
    DuplicateNode(String),
    /// A path that is not absolute.
    #[error("invalid node path {0:?}")]
    InvalidPath(String),
    /// No root node.
    #[error("the snapshot has no root node")]
    MissingRoot,
}

/// A node checked and allocated apart from any builder: the part of adding a node that needs no
/// knowledge of the others, so it can run on another thread.
#[derive(Debug)]
pub(crate) struct PreparedNode {
    path: Arc<str>,
    /// Where the parent's path ends in `path` (0 for `/`) and the node's name; `None` for `/`.
    parent: Option<(usize, ChildName)>,
    node: Arc<Node>,
}

impl PreparedNode {
    /// Checks that `path` is absolute and splits off its name.
    pub(crate) fn new(
        path: Arc<str>,
        data: Option<Bytes>,
        acl: AclList,
        stat: PersistedStat,
    ) -> Result<PreparedNode, RestoreError> {
        if !path.starts_with('/') || (&*path != ROOT && path.ends_with('/')) {
            return Err(RestoreError::InvalidPath(path.to_string()));
        }
        // The parent's path ends at the name's slash.
        let parent =
            parent_of(&path).map(|(_, name)| (path.len() - name.len() - 1, ChildName::new(name)));
        let node = Arc::new(Node {
            data,
            acl,
            stat,
            children: Children::default(),
        });
        Ok(PreparedNode { path, parent, node })
    }
}

/// Builds a tree node by node, parents first. Nodes that arrive in path order (as
/// [`DataTree::iter_nodes`] yields them and snapshots list them) are built into the path map in one
/// pass at the end; any other parents-first order works too, at the cost of an index and a sort.
#[derive(Debug)]
pub struct TreeBuilder {
    tree: DataTree,
    acls: BTreeMap<Vec<(i32, String, String)>, AclList>,
    /// Every node so far, in arrival order.
    nodes: Vec<(Arc<str>, Arc<Node>)>,
    /// Whether each path so far came after the one before it; then `nodes` is sorted and a parent
    /// is found by binary search.
    ascending: bool,
    /// Path → position in `nodes`, built once arrival stops being ascending.
    index: Option<HashMap<Arc<str>, usize>>,
    /// The parent whose children are arriving (its position in `nodes`) and their names: a
    /// snapshot lists siblings one after another, so their parent is found once and its child
    /// set is built from them in one go.
    open: Option<(usize, Vec<ChildName>)>,
}

impl TreeBuilder {
    /// An empty builder; the snapshot supplies every node, the built-in ones included.
    pub fn new(config: TreeConfig) -> Self {
        let mut tree = DataTree::with_config(config);
        tree.nodes = PMap::new();
        tree.data_size = 0;
        Self {
            tree,
            acls: BTreeMap::new(),
            nodes: Vec::new(),
            ascending: true,
            index: None,
            open: None,
        }
    }

    /// Makes room for `nodes` more nodes.
    pub fn reserve(&mut self, nodes: usize) {
        self.nodes.reserve(nodes);
    }

    /// Adds one node. Its parent must already be there (except for `/`). `data` `None` is null
    /// data.
    pub fn add_node(
        &mut self,
        path: &str,
        data: Option<Bytes>,
        acl: Vec<Acl>,
        stat: PersistedStat,
    ) -> Result<(), RestoreError> {
        let acl = self.intern(acl);
        self.add_node_shared(Arc::from(path), data, acl, stat)
    }

    /// [`TreeBuilder::add_node`] with an ACL list the caller already shares among nodes (a
    /// snapshot numbers its distinct lists), so nothing is compared or copied per node.
    pub fn add_node_shared(
        &mut self,
        path: Arc<str>,
        data: Option<Bytes>,
        acl: Arc<Vec<Acl>>,
        stat: PersistedStat,
    ) -> Result<(), RestoreError> {
        self.add_prepared(PreparedNode::new(path, data, acl, stat)?)
    }

    /// Adds a node made ready by [`PreparedNode::new`], possibly on another thread.
    pub(crate) fn add_prepared(&mut self, prepared: PreparedNode) -> Result<(), RestoreError> {
        let PreparedNode { path, parent, node } = prepared;
        self.check_new(&path)?;
        if let Some((parent_end, name)) = parent {
            let parent = if parent_end == 0 {
                ROOT
            } else {
                &path[..parent_end]
            };
            let same_parent = self
                .open
                .as_ref()
                .is_some_and(|(at, _)| *self.nodes[*at].0 == *parent);
            if !same_parent {
                self.close_parent();
                let at = self
                    .position(parent)
                    .ok_or_else(|| RestoreError::MissingParent(path.to_string()))?;
                self.open = Some((at, Vec::new()));
            }
            if let Some((_, arrived)) = self.open.as_mut() {
                arrived.push(name);
            }
        }
        match node.kind() {
            NodeKind::Container => {
                self.tree.containers.insert(path.clone());
            }
            NodeKind::Ttl(_) => {
                self.tree.ttls.insert(path.clone());
            }
            NodeKind::Ephemeral(owner) => {
                self.tree.ephemerals.insert((owner, path.clone()));
            }
            NodeKind::Persistent => {}
        }
        self.tree.data_size += java_len(&path) + node.data_len();
        if let Some(index) = self.index.as_mut() {
            index.insert(path.clone(), self.nodes.len());
        }
        self.nodes.push((path, node));
        Ok(())
    }

    /// Refuses a path that already arrived; notices when arrival stops being ascending.
    fn check_new(&mut self, path: &str) -> Result<(), RestoreError> {
        let duplicate = || Err(RestoreError::DuplicateNode(path.to_string()));
        if let Some(index) = &self.index {
            return if index.contains_key(path) {
                duplicate()
            } else {
                Ok(())
            };
        }
        match self.nodes.last().map(|(last, _)| path.cmp(last)) {
            None | Some(Ordering::Greater) => Ok(()),
            Some(Ordering::Equal) => duplicate(),
            Some(Ordering::Less) => {
                if self.position(path).is_some() {
                    return duplicate();
                }
                self.ascending = false;
                let index = self
                    .nodes
                    .iter()
                    .enumerate()
                    .map(|(at, (p, _))| (p.clone(), at))
                    .collect();
                self.index = Some(index);
                Ok(())
            }
        }
    }

    /// Where `path` is in `nodes`.
    fn position(&self, path: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(path).copied(),
            None => self.nodes.binary_search_by(|(p, _)| (**p).cmp(path)).ok(),
        }
    }

    /// Gives the open parent the children that arrived for it. While every path so far came
    /// after the one before, so did these children's names (they share the parent's prefix).
    fn close_parent(&mut self) {
        if let Some((at, arrived)) = self.open.take() {
            Arc::make_mut(&mut self.nodes[at].1)
                .children
                .extend(arrived, self.ascending);
        }
    }

    fn intern(&mut self, acl: Vec<Acl>) -> AclList {
        let key: Vec<(i32, String, String)> = acl
            .iter()
            .map(|a| (a.perms, a.id.scheme.clone(), a.id.id.clone()))
            .collect();
        self.acls
            .entry(key)
            .or_insert_with(|| Arc::new(acl))
            .clone()
    }

    /// Adds one live session.
    pub fn add_session(&mut self, session_id: i64, entry: SessionEntry) {
        self.tree.sessions.insert(session_id, entry);
    }

    /// The finished tree, as of `last_zxid`. Quota roots are found again and their usage
    /// recounted, as ZooKeeper does when it loads a snapshot.
    pub fn finish(mut self, last_zxid: i64) -> Result<DataTree, RestoreError> {
        self.close_parent();
        let mut nodes = std::mem::take(&mut self.nodes);
        if !self.ascending {
            nodes.sort_unstable_by(|(a, _), (b, _)| a.cmp(b));
        }
        // Ascending either way, and `check_new` refused every duplicate as it arrived.
        self.tree.nodes = PMap::from_verified_ascending(nodes.into_iter());
        if !self.tree.nodes.contains_key(ROOT) {
            return Err(RestoreError::MissingRoot);
        }
        let limit_suffix = format!("/{LIMIT_NODE}");
        let limited: Vec<String> = self
            .tree
            .descendants(QUOTA_ZOOKEEPER)
            .filter(|(path, node)| child_name(path) == LIMIT_NODE && node.children.is_empty())
            .filter_map(|(path, _)| {
                let start = QUOTA_ZOOKEEPER.len();
                let end = path.find(&limit_suffix)?;
                (end > start).then(|| path[start..end].to_string())
            })
            .collect();
        let mut roots = OrdSet::new();
        for quota_path in limited {
            roots.insert(quota::trie_key(&quota_path));
            self.tree.recount_quota(&quota_path);
        }
        self.tree.quota_roots = roots;
        self.tree.last_zxid = last_zxid;
        Ok(self.tree)
    }
}
