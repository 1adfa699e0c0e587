//! Rebuilding a [`DataTree`] from a snapshot's nodes and sessions (the inverse of
//! [`DataTree::iter_nodes`] and [`DataTree::sessions`]).

use crate::config::TreeConfig;
use crate::ephemeral::NodeKind;
use crate::node::{AclList, ChildName, Children, Node, PersistedStat};
use crate::path::{java_len, QUOTA_ZOOKEEPER, ROOT};
use crate::quota::{self, LIMIT_NODE};
use crate::tree::{child_name, parent_of, DataTree};
use crate::txn::SessionEntry;
use bytes::Bytes;
use imbl::{OrdMap, OrdSet};
use jute::Acl;
use std::collections::BTreeMap;
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

/// Builds a tree node by node, parents first (the order [`DataTree::iter_nodes`] yields).
#[derive(Debug)]
pub struct TreeBuilder {
    tree: DataTree,
    acls: BTreeMap<Vec<(i32, String, String)>, AclList>,
    /// The parent whose children are arriving, held outside the map: a snapshot lists siblings
    /// one after another, so each needs no lookup of its parent, and their names are collected
    /// in a vector and turned into the parent's child set once.
    open: Option<OpenParent>,
}

#[derive(Debug)]
struct OpenParent {
    path: Arc<str>,
    node: Node,
    /// Children added while open, in arrival order.
    arrived: Vec<ChildName>,
}

impl TreeBuilder {
    /// An empty builder; the snapshot supplies every node, the built-in ones included.
    pub fn new(config: TreeConfig) -> Self {
        let mut tree = DataTree::with_config(config);
        tree.nodes = OrdMap::new();
        tree.data_size = 0;
        Self {
            tree,
            acls: BTreeMap::new(),
            open: None,
        }
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
        self.add_node_shared(path, data, acl, stat)
    }

    /// [`TreeBuilder::add_node`] with an ACL list the caller already shares among nodes (a
    /// snapshot numbers its distinct lists), so nothing is compared or copied per node.
    pub fn add_node_shared(
        &mut self,
        path: &str,
        data: Option<Bytes>,
        acl: Arc<Vec<Acl>>,
        stat: PersistedStat,
    ) -> Result<(), RestoreError> {
        if !path.starts_with('/') || (path != ROOT && path.ends_with('/')) {
            return Err(RestoreError::InvalidPath(path.to_string()));
        }
        let path: Arc<str> = Arc::from(path);
        if self.open.as_ref().is_some_and(|o| o.path == path) {
            return Err(RestoreError::DuplicateNode(path.to_string()));
        }
        if let Some((parent, name)) = parent_of(&path) {
            if self.open.as_ref().is_none_or(|o| *o.path != *parent) {
                self.close_parent();
                let (parent_path, parent_node) = self
                    .tree
                    .nodes
                    .remove_with_key(parent)
                    .ok_or_else(|| RestoreError::MissingParent(path.to_string()))?;
                self.open = Some(OpenParent {
                    path: parent_path,
                    node: Arc::unwrap_or_clone(parent_node),
                    arrived: Vec::new(),
                });
            }
            if let Some(open) = self.open.as_mut() {
                open.arrived.push(ChildName::new(name));
            }
        }
        let node = Node {
            data,
            acl,
            stat,
            children: Children::default(),
        };
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
        let added = java_len(&path) + node.data_len();
        if self
            .tree
            .nodes
            .insert(path.clone(), Arc::new(node))
            .is_some()
        {
            return Err(RestoreError::DuplicateNode(path.to_string()));
        }
        self.tree.data_size += added;
        Ok(())
    }

    /// Puts the open parent back into the map with its new children.
    fn close_parent(&mut self) {
        let Some(OpenParent {
            path,
            mut node,
            arrived,
        }) = self.open.take()
        else {
            return;
        };
        node.children.extend(arrived);
        self.tree.nodes.insert(path, Arc::new(node));
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
