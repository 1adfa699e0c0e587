//! One znode as stored: data, ACL, the persisted stat, and its children.

use crate::ephemeral::NodeKind;
use crate::pmap::PSet;
use bytes::Bytes;
use jute::{Acl, Stat};
use smol_str::SmolStr;
use std::sync::Arc;

/// A child's name (the last path component). Names up to 23 bytes, which covers sequential
/// names and most others, are stored inline, so ordering siblings compares bytes inside the set's
/// own nodes instead of chasing a pointer per comparison (long shared-prefix path comparisons were
/// the top entry in create and restart profiles).
pub(crate) type ChildName = SmolStr;

/// A shared, immutable ACL list. Nodes with equal ACLs usually share one allocation.
pub type AclList = Arc<Vec<Acl>>;

/// The stat as ZooKeeper persists it (`StatPersisted`). `cversion` counts child creations only;
/// clients see `2 × creations − live children` (see [`crate::DataTree::stat`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PersistedStat {
    /// The zxid that created the node.
    pub czxid: i64,
    /// The zxid that last changed the node's data.
    pub mzxid: i64,
    /// When the node was created (ms since the epoch, from the creating txn).
    pub ctime: i64,
    /// When the node's data last changed.
    pub mtime: i64,
    /// Number of data changes (wrapping like a Java int).
    pub version: i32,
    /// Number of children ever created under this node (wrapping like a Java int).
    pub cversion: i32,
    /// Number of ACL changes.
    pub aversion: i32,
    /// The raw owner: a session id, or a container/TTL marker (see [`NodeKind`]).
    pub ephemeral_owner: i64,
    /// The zxid that last created or deleted a child.
    pub pzxid: i64,
}

impl PersistedStat {
    /// The stat of a node created at `zxid`, `time_ms` (`DataTree.createStat`).
    pub fn created(zxid: i64, time_ms: i64, ephemeral_owner: i64) -> Self {
        Self {
            czxid: zxid,
            mzxid: zxid,
            ctime: time_ms,
            mtime: time_ms,
            version: 0,
            cversion: 0,
            aversion: 0,
            ephemeral_owner,
            pzxid: zxid,
        }
    }
}

/// Children stored by name, sorted.
#[derive(Debug, Clone, Default)]
pub(crate) enum Children {
    #[default]
    None,
    /// Sorted; cheap for the common case of few children.
    Small(Vec<ChildName>),
    /// For many children: updating one does not copy the others.
    Large(PSet<ChildName>),
}

/// Above this many children a persistent set replaces the sorted vector, so a copy-on-write
/// node clone stays cheap for parents with many children.
const SMALL_CHILDREN_MAX: usize = 32;

impl Children {
    pub(crate) fn len(&self) -> usize {
        match self {
            Children::None => 0,
            Children::Small(v) => v.len(),
            Children::Large(s) => s.len(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn insert(&mut self, child: ChildName) {
        match self {
            Children::None => *self = Children::Small(vec![child]),
            Children::Small(v) => {
                if let Err(at) = v.binary_search(&child) {
                    if v.len() < SMALL_CHILDREN_MAX {
                        v.insert(at, child);
                    } else {
                        let mut set: PSet<ChildName> = v.drain(..).collect();
                        set.insert(child);
                        *self = Children::Large(set);
                    }
                }
            }
            Children::Large(s) => {
                s.insert(child);
            }
        }
    }

    /// Adds many children; cheapest when they arrive in order, as a snapshot lists them.
    /// `verified_ascending`: the caller has already seen each name come after the one before.
    pub(crate) fn extend(&mut self, children: Vec<ChildName>, verified_ascending: bool) {
        if children.is_empty() {
            return;
        }
        let children = if !self.is_empty() {
            children
        } else if children.len() <= SMALL_CHILDREN_MAX {
            if verified_ascending || children.windows(2).all(|w| w[0] < w[1]) {
                *self = Children::Small(children);
                return;
            }
            children
        } else if verified_ascending {
            *self = Children::Large(PSet::from_verified_ascending(children));
            return;
        } else {
            match PSet::from_ascending(children) {
                Ok(set) => {
                    *self = Children::Large(set);
                    return;
                }
                Err(children) => children,
            }
        };
        for child in children {
            self.insert(child);
        }
    }

    pub(crate) fn remove(&mut self, child: &str) {
        match self {
            Children::None => {}
            Children::Small(v) => {
                if let Ok(at) = v.binary_search_by(|c| c.as_str().cmp(child)) {
                    v.remove(at);
                }
                if v.is_empty() {
                    *self = Children::None;
                }
            }
            Children::Large(s) => {
                s.remove(child);
                if s.is_empty() {
                    *self = Children::None;
                }
            }
        }
    }

    /// Child names in sorted order.
    pub(crate) fn iter(&self) -> Box<dyn Iterator<Item = &ChildName> + '_> {
        match self {
            Children::None => Box::new(std::iter::empty()),
            Children::Small(v) => Box::new(v.iter()),
            Children::Large(s) => Box::new(s.iter()),
        }
    }
}

/// A znode.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// `None` is null data (a create or setData with a null buffer), which ZooKeeper keeps apart
    /// from empty data and answers as null.
    pub(crate) data: Option<Bytes>,
    pub(crate) acl: AclList,
    pub(crate) stat: PersistedStat,
    pub(crate) children: Children,
}

// A million nodes are held in memory: null data must cost nothing. `Bytes` holds a non-null
// vtable reference, so `Option<Bytes>` uses that niche and is no larger than `Bytes`.
const _: () = assert!(std::mem::size_of::<Option<Bytes>>() == std::mem::size_of::<Bytes>());

impl Node {
    /// The node's data as bytes; null data reads as empty (for quota parsing and sizes).
    pub(crate) fn data_bytes(&self) -> &[u8] {
        self.data.as_deref().unwrap_or_default()
    }

    /// The data's length; 0 for null data, as ZooKeeper's `dataLength`.
    pub(crate) fn data_len(&self) -> i64 {
        self.data_bytes().len() as i64
    }

    pub(crate) fn kind(&self) -> NodeKind {
        NodeKind::from_owner(self.stat.ephemeral_owner)
    }

    /// The stat a client sees (`DataNode.copyStat`): cversion counts creations and deletions,
    /// derived as `2 × creations − live children`.
    pub(crate) fn stat(&self) -> Stat {
        let num_children = self.children.len() as i32;
        Stat {
            czxid: self.stat.czxid,
            mzxid: self.stat.mzxid,
            ctime: self.stat.ctime,
            mtime: self.stat.mtime,
            version: self.stat.version,
            cversion: self
                .stat
                .cversion
                .wrapping_mul(2)
                .wrapping_sub(num_children),
            aversion: self.stat.aversion,
            ephemeral_owner: self.kind().client_owner(),
            data_length: self.data_len() as i32,
            num_children,
            pzxid: self.stat.pzxid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(c: &Children) -> Vec<String> {
        c.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn children_stay_sorted_across_representations() {
        let mut c = Children::default();
        let mut expected = Vec::new();
        for i in (0..80).rev() {
            let p = format!("/p/c{i:03}");
            c.insert(ChildName::new(&p));
            expected.push(p);
        }
        expected.sort();
        assert!(matches!(c, Children::Large(_)));
        assert_eq!(names(&c), expected);
        for p in &expected {
            c.remove(p);
        }
        assert!(c.is_empty());
        assert!(matches!(c, Children::None));
    }

    #[test]
    fn duplicate_insert_is_ignored() {
        let mut c = Children::default();
        c.insert(ChildName::new("a"));
        c.insert(ChildName::new("a"));
        assert_eq!(c.len(), 1);
    }
}
