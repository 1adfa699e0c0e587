//! Rebuilding a [`DataTree`] from a snapshot's nodes and sessions (the inverse of
//! [`DataTree::iter_nodes`] and [`DataTree::sessions`]).

use crate::config::TreeConfig;
use crate::ephemeral::NodeKind;
use crate::node::{AclList, Children, Node, PersistedStat};
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
        }
    }

    /// Adds one node. Its parent must already be there (except for `/`).
    pub fn add_node(
        &mut self,
        path: &str,
        data: Bytes,
        acl: Vec<Acl>,
        stat: PersistedStat,
    ) -> Result<(), RestoreError> {
        if !path.starts_with('/') || (path != ROOT && path.ends_with('/')) {
            return Err(RestoreError::InvalidPath(path.to_string()));
        }
        if self.tree.nodes.contains_key(path) {
            return Err(RestoreError::DuplicateNode(path.to_string()));
        }
        let path: Arc<str> = Arc::from(path);
        if let Some((parent, _)) = parent_of(&path) {
            let parent = self
                .tree
                .nodes
                .get_mut(parent)
                .ok_or_else(|| RestoreError::MissingParent(path.to_string()))?;
            Arc::make_mut(parent).children.insert(path.clone());
        }
        let acl = self.intern(acl);
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
        self.tree.data_size += java_len(&path) + node.data.len() as i64;
        self.tree.nodes.insert(path, Arc::new(node));
        Ok(())
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
        if !self.tree.nodes.contains_key(ROOT) {
            return Err(RestoreError::MissingRoot);
        }
        let limit_suffix = format!("/{LIMIT_NODE}");
        let quota_prefix = format!("{QUOTA_ZOOKEEPER}/");
        let limited: Vec<String> = self
            .tree
            .nodes
            .iter()
            .filter(|(path, node)| {
                path.starts_with(&quota_prefix)
                    && child_name(path) == LIMIT_NODE
                    && node.children.is_empty()
            })
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
