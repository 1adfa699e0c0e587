//! The tree's mutations once a write has been validated (ZooKeeper's `DataTree.createNode`,
//! `deleteNode`, `setData`, `setACL`), including the indexes and quota usage they keep current.

use crate::ephemeral::NodeKind;
use crate::node::{ChildName, Children, Node, PersistedStat};
use crate::path::{java_len, PROC_ZOOKEEPER, QUOTA_ZOOKEEPER, ROOT};
use crate::quota::{self, StatsTrack, LIMIT_NODE, STAT_NODE};
use crate::tree::{parent_of, DataTree};
use crate::txn::WatchTrigger;
use bytes::Bytes;
use jute::{Acl, EventType, Stat};
use std::sync::Arc;

/// A node about to be created.
pub(crate) struct NewNode {
    pub(crate) path: Arc<str>,
    /// `None` is null data.
    pub(crate) data: Option<Bytes>,
    pub(crate) acl: Vec<Acl>,
    pub(crate) kind: NodeKind,
}

impl DataTree {
    /// Creates a node under an existing parent; returns its stat.
    pub(crate) fn insert_node(
        &mut self,
        new: NewNode,
        zxid: i64,
        time_ms: i64,
        triggers: &mut Vec<WatchTrigger>,
    ) -> Stat {
        let NewNode {
            path,
            data,
            acl,
            kind,
        } = new;
        let (parent_name, child) = parent_of(&path).unwrap_or((ROOT, ""));
        let child = child.to_string();
        // The parent always exists here (create checked it): one descent updates it and yields
        // its stored path (so the trigger does not allocate) and its ACL, which guards
        // NodeChildrenChanged and which new nodes usually share.
        let (parent_path, parent_acl) = match self.nodes.get_key_value_mut(parent_name) {
            Some((parent_path, parent)) => {
                let parent = Arc::make_mut(parent);
                parent.stat.cversion = parent.stat.cversion.wrapping_add(1);
                parent.stat.pzxid = zxid;
                parent.children.insert(ChildName::new(&child));
                (parent_path.clone(), Some(parent.acl.clone()))
            }
            None => (Arc::from(parent_name), None),
        };
        // Sharing the parent's allocation keeps a million `world:anyone` nodes from holding a
        // million copies.
        let acl = match &parent_acl {
            Some(shared) if **shared == acl => shared.clone(),
            _ => Arc::new(acl),
        };
        let parent_acl = parent_acl.unwrap_or_else(|| acl.clone());
        let node = Node {
            data: data.map(own),
            acl: acl.clone(),
            stat: PersistedStat::created(zxid, time_ms, kind.to_owner()),
            children: Children::default(),
        };
        let stat = node.stat();
        let data_len = node.data_len();
        self.data_size += java_len(&path) + data_len;
        self.nodes.insert(path.clone(), Arc::new(node));
        match kind {
            NodeKind::Container => {
                self.containers.insert(path.clone());
            }
            NodeKind::Ttl(_) => {
                self.ttls.insert(path.clone());
            }
            NodeKind::Ephemeral(owner) => {
                self.ephemerals.insert((owner, path.clone()));
            }
            NodeKind::Persistent => {}
        }
        if let Some(quota_path) = parent_path.strip_prefix(QUOTA_ZOOKEEPER) {
            if !quota_path.is_empty() {
                if child == LIMIT_NODE {
                    self.quota_roots.insert(quota::trie_key(quota_path));
                }
                if child == STAT_NODE {
                    self.recount_quota(quota_path);
                }
            }
        }
        if let Some(prefix) = self.quota_prefix(&path) {
            self.add_quota_usage(&prefix, data_len, 1);
        }
        triggers.push(WatchTrigger {
            path: path.clone(),
            event: EventType::NodeCreated,
            acl,
        });
        triggers.push(WatchTrigger {
            path: parent_path,
            event: EventType::NodeChildrenChanged,
            acl: parent_acl,
        });
        stat
    }

    /// Deletes a node (which must have no children) and fires its triggers.
    pub(crate) fn remove_node(&mut self, path: &str, zxid: i64, triggers: &mut Vec<WatchTrigger>) {
        let Some((key, node)) = self.nodes.remove_with_key(path) else {
            return;
        };
        let (parent_path, child) = parent_of(path).unwrap_or((ROOT, ""));
        let mut parent_acl = None;
        let mut parent_key = None;
        if let Some((stored, parent)) = self.nodes.get_key_value_mut(parent_path) {
            let parent = Arc::make_mut(parent);
            parent.children.remove(child);
            if zxid > parent.stat.pzxid {
                parent.stat.pzxid = zxid;
            }
            parent_acl = Some(parent.acl.clone());
            parent_key = Some(stored.clone());
        }
        let parent_acl = parent_acl.unwrap_or_else(|| node.acl.clone());
        let parent_key = parent_key.unwrap_or_else(|| Arc::from(parent_path));
        let data_len = node.data_len();
        self.data_size -= java_len(path) + data_len;
        match node.kind() {
            NodeKind::Container => {
                self.containers.remove(path);
            }
            NodeKind::Ttl(_) => {
                self.ttls.remove(path);
            }
            NodeKind::Ephemeral(owner) => {
                self.ephemerals.remove(&(owner, key.clone()));
            }
            NodeKind::Persistent => {}
        }
        if parent_path.starts_with(PROC_ZOOKEEPER) && child == LIMIT_NODE {
            let quota_path = parent_path.get(QUOTA_ZOOKEEPER.len()..).unwrap_or("");
            self.quota_roots.remove(&quota::trie_key(quota_path));
        }
        if let Some(prefix) = self.quota_prefix(path) {
            self.add_quota_usage(&prefix, -data_len, -1);
        }
        // A deleted node's watchers are judged by the ACL it had.
        triggers.push(WatchTrigger {
            path: key,
            event: EventType::NodeDeleted,
            acl: node.acl.clone(),
        });
        triggers.push(WatchTrigger {
            path: parent_key,
            event: EventType::NodeChildrenChanged,
            acl: parent_acl,
        });
    }

    /// Replaces a node's data (`None`: null data); returns its new stat.
    pub(crate) fn set_node_data(
        &mut self,
        path: &str,
        data: Option<Bytes>,
        version: i32,
        zxid: i64,
        time_ms: i64,
        triggers: &mut Vec<WatchTrigger>,
    ) -> Option<Stat> {
        let (key, node) = self.nodes.get_key_value_mut(path)?;
        let key = key.clone();
        let node = Arc::make_mut(node);
        let old_len = node.data_len();
        node.data = data.map(own);
        let new_len = node.data_len();
        node.stat.mtime = time_ms;
        node.stat.mzxid = zxid;
        node.stat.version = version;
        let stat = node.stat();
        let acl = node.acl.clone();
        self.data_size += new_len - old_len;
        if let Some(prefix) = self.quota_prefix(path) {
            self.add_quota_usage(&prefix, new_len - old_len, 0);
        }
        triggers.push(WatchTrigger {
            path: key,
            event: EventType::NodeDataChanged,
            acl,
        });
        Some(stat)
    }

    /// Replaces a node's ACL; only the aversion changes in its stat, and no watch fires.
    pub(crate) fn set_node_acl(
        &mut self,
        path: &str,
        acl: Vec<Acl>,
        aversion: i32,
    ) -> Option<Stat> {
        let node = Arc::make_mut(self.nodes.get_mut(path)?);
        if *node.acl != acl {
            node.acl = Arc::new(acl);
        }
        node.stat.aversion = aversion;
        Some(node.stat())
    }

    /// The deepest quota root covering `path`, if any (`DataTree.getMaxPrefixWithQuota`).
    pub(crate) fn quota_prefix(&self, path: &str) -> Option<String> {
        if self.quota_roots.is_empty() {
            return None;
        }
        let key = quota::trie_key(path);
        let mut best = None;
        for (i, _) in key.match_indices('/').skip(1).chain([(key.len(), "")]) {
            let prefix = &key[..i];
            if !prefix.is_empty() && self.quota_roots.contains(prefix) {
                best = Some(prefix.to_string());
            }
        }
        best
    }

    /// Adds to the usage recorded in a quota's stats node. ZooKeeper rewrites the node's data in
    /// place: its version and mzxid stay, and no watch fires.
    fn add_quota_usage(&mut self, prefix: &str, bytes: i64, count: i64) {
        let stat_path = quota::stat_path(prefix);
        let Some(node) = self.nodes.get_mut(stat_path.as_str()) else {
            return;
        };
        let node = Arc::make_mut(node);
        let mut usage = StatsTrack::parse(node.data_bytes());
        usage.set_count(usage.count() + count);
        usage.set_bytes(usage.bytes() + bytes);
        node.data = Some(Bytes::from(usage.to_text()));
    }

    /// Recomputes a quota's usage from its subtree when its stats node appears.
    pub(crate) fn recount_quota(&mut self, quota_path: &str) {
        let (mut count, mut bytes) = (0i64, 0i64);
        let subtree = self
            .nodes
            .get(quota_path)
            .into_iter()
            .chain(self.descendants(quota_path).map(|(_, n)| n));
        for n in subtree {
            count += 1;
            bytes += n.data_len();
        }
        let stat_path = quota::stat_path(quota_path);
        if let Some(node) = self.nodes.get_mut(stat_path.as_str()) {
            let mut usage = StatsTrack::default();
            usage.set_bytes(bytes);
            usage.set_count(count);
            Arc::make_mut(node).data = Some(Bytes::from(usage.to_text()));
        }
    }
}

/// Znode data arrives as a slice of a request frame; keeping that slice would keep the whole
/// frame (a large multi, say) alive for as long as the node lives, so the tree keeps a copy.
fn own(data: Bytes) -> Bytes {
    if data.is_empty() {
        Bytes::new()
    } else {
        Bytes::copy_from_slice(&data)
    }
}
