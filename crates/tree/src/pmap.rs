//! A persistent ordered map: a copy-on-write B+tree whose clones are O(1) and share every node
//! until one side writes, and which is built in O(n) from keys that arrive in ascending order.
//!
//! Why not `imbl::OrdMap`: it has no bulk build, so loading a snapshot inserted every znode one at
//! a time, cloning the entry at each level on the way down. With a million znodes that was most of
//! the restart time (about 0.6 s for the path map and 0.5 s for a large child set, measured
//! against 0.1 s for building the same map from sorted input). Snapshots list znodes in path
//! order, so the tree can be built level by level instead. Entries live only in the leaves;
//! branches hold separator keys, so a lookup compares against a compact key array per level.

use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

/// Most entries in a leaf and children in a branch (small in unit tests, so that they build deep
/// trees and exercise every merge and split).
const MAX: usize = if cfg!(test) { 8 } else { 64 };
/// A node with fewer than this is merged with or refilled from a sibling after a removal.
const MIN: usize = MAX / 4;

#[derive(Clone)]
enum Node<K, V> {
    Leaf(Vec<(K, V)>),
    Branch(Branch<K, V>),
}

#[derive(Clone)]
struct Branch<K, V> {
    /// `keys[i]` is at most the smallest key under `children[i + 1]` and greater than every key
    /// under `children[i]`.
    keys: Vec<K>,
    children: Vec<Arc<Node<K, V>>>,
}

/// A persistent map ordered by key. See the module documentation.
pub struct PMap<K, V> {
    root: Option<Arc<Node<K, V>>>,
    len: usize,
}

impl<K, V> Clone for PMap<K, V> {
    fn clone(&self) -> Self {
        Self {
            root: self.root.clone(),
            len: self.len,
        }
    }
}

impl<K, V> Default for PMap<K, V> {
    fn default() -> Self {
        Self { root: None, len: 0 }
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for PMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K, V> Node<K, V> {
    fn len(&self) -> usize {
        match self {
            Node::Leaf(entries) => entries.len(),
            Node::Branch(branch) => branch.children.len(),
        }
    }
}

impl<K, V> Branch<K, V> {
    /// The child whose range holds `key`.
    fn child_for<Q: Ord + ?Sized>(&self, key: &Q) -> usize
    where
        K: Borrow<Q>,
    {
        self.keys.partition_point(|k| k.borrow() <= key)
    }
}

fn search<K: Borrow<Q>, V, Q: Ord + ?Sized>(entries: &[(K, V)], key: &Q) -> Result<usize, usize> {
    entries.binary_search_by(|(k, _)| k.borrow().cmp(key))
}

impl<K, V> PMap<K, V> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every entry in key order.
    pub fn iter(&self) -> Iter<'_, K, V> {
        let mut iter = Iter {
            stack: Vec::new(),
            leaf: [].iter(),
        };
        if let Some(root) = self.root.as_deref() {
            iter.descend_leftmost(root);
        }
        iter
    }

    /// The keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.iter().map(|(k, _)| k)
    }

    /// The entries whose keys are at least `from`, in key order.
    pub fn range_from<Q: Ord + ?Sized>(&self, from: &Q) -> Iter<'_, K, V>
    where
        K: Borrow<Q>,
    {
        let mut iter = Iter {
            stack: Vec::new(),
            leaf: [].iter(),
        };
        let mut node = match self.root.as_deref() {
            Some(root) => root,
            None => return iter,
        };
        loop {
            match node {
                Node::Leaf(entries) => {
                    let at = entries.partition_point(|(k, _)| k.borrow() < from);
                    iter.leaf = entries[at..].iter();
                    return iter;
                }
                Node::Branch(branch) => {
                    let i = branch.child_for(from);
                    iter.stack.push((branch, i));
                    node = &branch.children[i];
                }
            }
        }
    }

    /// The entry for `key`, with the stored key.
    pub fn get_key_value<Q: Ord + ?Sized>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
    {
        let mut node = self.root.as_deref()?;
        loop {
            match node {
                Node::Leaf(entries) => {
                    let i = search(entries, key).ok()?;
                    let (k, v) = &entries[i];
                    return Some((k, v));
                }
                Node::Branch(branch) => node = &branch.children[branch.child_for(key)],
            }
        }
    }

    /// The value for `key`.
    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.get_key_value(key).map(|(_, v)| v)
    }

    /// Whether `key` has an entry.
    pub fn contains_key<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.get_key_value(key).is_some()
    }
}

impl<K: Ord + Clone, V: Clone> PMap<K, V> {
    /// Builds a map in O(n), with full nodes, from entries in strictly ascending key order that
    /// the caller has already checked (a snapshot's znodes are compared one by one as they
    /// arrive): comparing a million paths a second time was a quarter of a 1M-znode restart's
    /// single-threaded end. Entries out of order make a map whose lookups miss them; debug
    /// builds assert the order.
    pub fn from_verified_ascending(entries: impl ExactSizeIterator<Item = (K, V)>) -> Self {
        let len = entries.len();
        if len == 0 {
            return Self::new();
        }
        // Each level as (smallest key, node), split into nodes of near-equal size.
        let mut level: Vec<(K, Arc<Node<K, V>>)> = Vec::with_capacity(len / MAX + 1);
        let mut rest = entries;
        for size in even_sizes(len) {
            let leaf: Vec<(K, V)> = rest.by_ref().take(size).collect();
            debug_assert!(strictly_ascending(leaf.iter().map(|(k, _)| k)));
            debug_assert!(level.last().is_none_or(|(prev, _)| *prev < leaf[0].0));
            level.push((leaf[0].0.clone(), Arc::new(Node::Leaf(leaf))));
        }
        while level.len() > 1 {
            let count = level.len();
            let mut above = Vec::with_capacity(count / MAX + 1);
            let mut rest = level.into_iter();
            for size in even_sizes(count) {
                let mut group = rest.by_ref().take(size);
                let Some((smallest, first)) = group.next() else {
                    break;
                };
                let mut branch = Branch {
                    keys: Vec::with_capacity(size - 1),
                    children: Vec::with_capacity(size),
                };
                branch.children.push(first);
                for (key, child) in group {
                    branch.keys.push(key);
                    branch.children.push(child);
                }
                above.push((smallest, Arc::new(Node::Branch(branch))));
            }
            level = above;
        }
        let root = level.pop().map(|(_, node)| node);
        Self { root, len }
    }

    /// The value for `key`, to change in place; nodes shared with clones are copied first.
    pub fn get_mut<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.get_key_value_mut(key).map(|(_, v)| v)
    }

    /// The stored key and the value for `key`, to change in place, in one descent.
    pub fn get_key_value_mut<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<(&K, &mut V)>
    where
        K: Borrow<Q>,
    {
        let mut node = Arc::make_mut(self.root.as_mut()?);
        loop {
            match node {
                Node::Leaf(entries) => {
                    let i = search(entries, key).ok()?;
                    let (k, v) = &mut entries[i];
                    return Some((k, v));
                }
                Node::Branch(branch) => {
                    let i = branch.child_for(key);
                    node = Arc::make_mut(&mut branch.children[i]);
                }
            }
        }
    }

    /// Sets `key` to `value`; the previous value, if any.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        let Some(root) = self.root.as_mut() else {
            self.root = Some(Arc::new(Node::Leaf(vec![(key, value)])));
            self.len = 1;
            return None;
        };
        let (old, split) = insert_into(Arc::make_mut(root), key, value);
        if let Some((separator, right)) = split {
            if let Some(left) = self.root.take() {
                self.root = Some(Arc::new(Node::Branch(Branch {
                    keys: vec![separator],
                    children: vec![left, right],
                })));
            }
        }
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    /// Removes `key`; its stored key and value, if it had an entry.
    pub fn remove_with_key<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<(K, V)>
    where
        K: Borrow<Q>,
    {
        let root = Arc::make_mut(self.root.as_mut()?);
        let removed = remove_from(root, key)?;
        self.len -= 1;
        // Drop levels left with one child, and an empty root.
        loop {
            match self.root.as_deref() {
                Some(Node::Branch(branch)) if branch.children.len() == 1 => {
                    self.root = Some(Arc::clone(&branch.children[0]));
                }
                Some(node) if node.len() == 0 => self.root = None,
                _ => break,
            }
        }
        Some(removed)
    }

    /// Removes `key`; its value, if it had an entry.
    pub fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.remove_with_key(key).map(|(_, v)| v)
    }
}

/// Whether every key is greater than the one before it.
fn strictly_ascending<'a, K: Ord + 'a>(mut keys: impl Iterator<Item = &'a K>) -> bool {
    let Some(mut prev) = keys.next() else {
        return true;
    };
    keys.all(|key| {
        let ascending = prev < key;
        prev = key;
        ascending
    })
}

/// `total` entries cut into the fewest nodes of at most [`MAX`], sizes differing by at most one
/// (so none is below [`MIN`] unless `total` itself is).
fn even_sizes(total: usize) -> impl Iterator<Item = usize> {
    let nodes = total.div_ceil(MAX).max(1);
    let (base, extra) = (total / nodes, total % nodes);
    (0..nodes).map(move |i| base + usize::from(i < extra))
}

type Split<K, V> = Option<(K, Arc<Node<K, V>>)>;

/// Inserts into the subtree at `node`; the replaced value, and the right half if `node` split.
fn insert_into<K: Ord + Clone, V: Clone>(
    node: &mut Node<K, V>,
    key: K,
    value: V,
) -> (Option<V>, Split<K, V>) {
    match node {
        Node::Leaf(entries) => match search(entries, &key) {
            Ok(i) => (Some(std::mem::replace(&mut entries[i].1, value)), None),
            Err(i) => {
                // Grow straight to the most a leaf ever holds (one past full, just before it
                // splits) rather than doubling past it: a million-entry map would otherwise carry
                // megabytes of spare capacity.
                if entries.len() == entries.capacity() {
                    entries.reserve_exact(MAX + 1 - entries.len());
                }
                entries.insert(i, (key, value));
                if entries.len() <= MAX {
                    return (None, None);
                }
                let right = entries.split_off(split_point(i, entries.len()));
                let separator = right[0].0.clone();
                (None, Some((separator, Arc::new(Node::Leaf(right)))))
            }
        },
        Node::Branch(branch) => {
            let i = branch.child_for(&key);
            let (old, split) = insert_into(Arc::make_mut(&mut branch.children[i]), key, value);
            let Some((separator, right)) = split else {
                return (old, None);
            };
            branch.keys.insert(i, separator);
            branch.children.insert(i + 1, right);
            if branch.children.len() <= MAX {
                return (old, None);
            }
            let at = split_point(i + 1, branch.children.len());
            let children = branch.children.split_off(at);
            let keys = branch.keys.split_off(at);
            let promoted = branch.keys.pop();
            let right = Arc::new(Node::Branch(Branch { keys, children }));
            (old, promoted.map(|separator| (separator, right)))
        }
    }
}

/// Where an overfull node of `len` splits after an insert at `inserted`: appends (ascending
/// keys, such as sequential znodes) leave the left node full; anything else splits in half.
fn split_point(inserted: usize, len: usize) -> usize {
    if inserted == len - 1 {
        len - 1
    } else {
        len / 2
    }
}

/// Removes `key` from the subtree at `node`, which holds it, refilling any child left small.
fn remove_from<K, V, Q>(node: &mut Node<K, V>, key: &Q) -> Option<(K, V)>
where
    K: Ord + Clone + Borrow<Q>,
    V: Clone,
    Q: Ord + ?Sized,
{
    match node {
        Node::Leaf(entries) => {
            let i = search(entries, key).ok()?;
            Some(entries.remove(i))
        }
        Node::Branch(branch) => {
            let i = branch.child_for(key);
            let removed = remove_from(Arc::make_mut(&mut branch.children[i]), key)?;
            let left = branch.children[i].len();
            if left == 0 {
                branch.children.remove(i);
                if !branch.keys.is_empty() {
                    branch.keys.remove(i.saturating_sub(1));
                }
            } else if left < MIN && branch.children.len() > 1 {
                rebalance(branch, i.saturating_sub(1));
            }
            Some(removed)
        }
    }
}

/// Joins children `l` and `l + 1` of `branch` into one node, or, if they hold too much for one,
/// shares their contents evenly between two.
fn rebalance<K: Ord + Clone, V: Clone>(branch: &mut Branch<K, V>, l: usize) {
    let separator = branch.keys.remove(l);
    let right = Arc::unwrap_or_clone(branch.children.remove(l + 1));
    let left = Arc::make_mut(&mut branch.children[l]);
    let split = match (left, right) {
        (Node::Leaf(entries), Node::Leaf(mut more)) => {
            entries.append(&mut more);
            (entries.len() > MAX).then(|| {
                let right = entries.split_off(entries.len() / 2);
                (right[0].0.clone(), Node::Leaf(right))
            })
        }
        (Node::Branch(joined), Node::Branch(mut more)) => {
            joined.keys.push(separator);
            joined.keys.append(&mut more.keys);
            joined.children.append(&mut more.children);
            if joined.children.len() > MAX {
                let at = joined.children.len() / 2;
                let children = joined.children.split_off(at);
                let keys = joined.keys.split_off(at);
                joined
                    .keys
                    .pop()
                    .map(|promoted| (promoted, Node::Branch(Branch { keys, children })))
            } else {
                None
            }
        }
        // Every leaf is at the same depth, so siblings are of one kind.
        _ => unreachable!("siblings of different kinds"),
    };
    if let Some((separator, right)) = split {
        branch.keys.insert(l, separator);
        branch.children.insert(l + 1, Arc::new(right));
    }
}

/// An iterator over a [`PMap`]'s entries in key order.
pub struct Iter<'a, K, V> {
    /// The branches above the current leaf, each with the index of the child being visited.
    stack: Vec<(&'a Branch<K, V>, usize)>,
    leaf: std::slice::Iter<'a, (K, V)>,
}

impl<'a, K, V> Iter<'a, K, V> {
    fn descend_leftmost(&mut self, mut node: &'a Node<K, V>) {
        loop {
            match node {
                Node::Leaf(entries) => {
                    self.leaf = entries.iter();
                    return;
                }
                Node::Branch(branch) => {
                    self.stack.push((branch, 0));
                    node = &branch.children[0];
                }
            }
        }
    }
}

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((k, v)) = self.leaf.next() {
                return Some((k, v));
            }
            // The leaf is done: move to the next child of the nearest branch that has one.
            loop {
                let (branch, at) = self.stack.last_mut()?;
                *at += 1;
                if let Some(child) = branch.children.get(*at) {
                    self.descend_leftmost(child);
                    break;
                }
                self.stack.pop();
            }
        }
    }
}

/// A persistent ordered set: a [`PMap`] with no values.
#[derive(Clone)]
pub struct PSet<K> {
    map: PMap<K, ()>,
}

impl<K> Default for PSet<K> {
    fn default() -> Self {
        Self {
            map: PMap::default(),
        }
    }
}

impl<K: fmt::Debug> fmt::Debug for PSet<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl<K> PSet<K> {
    /// The number of members.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the set has no members.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The members in order.
    pub fn iter(&self) -> impl Iterator<Item = &K> {
        self.map.keys()
    }
}

impl<K: Ord + Clone> PSet<K> {
    /// Builds a set from strictly ascending members in O(n); the members back if they are not
    /// ascending.
    pub fn from_ascending(keys: Vec<K>) -> Result<Self, Vec<K>> {
        if !strictly_ascending(keys.iter()) {
            return Err(keys);
        }
        Ok(Self::from_verified_ascending(keys))
    }

    /// [`PSet::from_ascending`] for members whose order the caller has already checked (see
    /// `PMap::from_verified_ascending`).
    pub fn from_verified_ascending(keys: Vec<K>) -> Self {
        Self {
            map: PMap::from_verified_ascending(keys.into_iter().map(|k| (k, ()))),
        }
    }

    /// Adds `key`; whether it was new.
    pub fn insert(&mut self, key: K) -> bool {
        self.map.insert(key, ()).is_none()
    }

    /// Removes `key`; whether it was a member.
    pub fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.map.remove(key).is_some()
    }
}

impl<K: Ord + Clone> FromIterator<K> for PSet<K> {
    fn from_iter<I: IntoIterator<Item = K>>(iter: I) -> Self {
        let mut set = Self::default();
        for key in iter {
            set.insert(key);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u16, u32),
        Remove(u16),
        Snapshot,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (any::<u16>(), any::<u32>()).prop_map(|(k, v)| Op::Insert(k % 2000, v)),
            3 => any::<u16>().prop_map(|k| Op::Remove(k % 2000)),
            1 => Just(Op::Snapshot),
        ]
    }

    /// Checks the B+tree's shape: ordered separators, sizes within bounds, leaves at one depth.
    fn check<K: Ord + Clone + fmt::Debug, V>(map: &PMap<K, V>) {
        fn walk<K: Ord + Clone + fmt::Debug, V>(
            node: &Node<K, V>,
            low: Option<&K>,
            high: Option<&K>,
            root: bool,
        ) -> (usize, usize) {
            match node {
                Node::Leaf(entries) => {
                    assert!(entries.len() <= MAX);
                    assert!(root || !entries.is_empty());
                    for w in entries.windows(2) {
                        assert!(w[0].0 < w[1].0);
                    }
                    for (k, _) in entries {
                        assert!(low.is_none_or(|l| k >= l), "{k:?} below {low:?}");
                        assert!(high.is_none_or(|h| k < h), "{k:?} not below {high:?}");
                    }
                    (entries.len(), 1)
                }
                Node::Branch(branch) => {
                    assert_eq!(branch.keys.len() + 1, branch.children.len());
                    assert!(branch.children.len() <= MAX);
                    assert!(!root || branch.children.len() >= 2);
                    let mut total = 0;
                    let mut depth = None;
                    for (i, child) in branch.children.iter().enumerate() {
                        let lo = if i == 0 {
                            low
                        } else {
                            Some(&branch.keys[i - 1])
                        };
                        let hi = branch.keys.get(i).or(high);
                        let (n, d) = walk(child, lo, hi, false);
                        assert!(depth.is_none_or(|e| e == d), "leaves at different depths");
                        depth = Some(d);
                        total += n;
                    }
                    (total, depth.unwrap_or(0) + 1)
                }
            }
        }
        let total = map
            .root
            .as_deref()
            .map_or(0, |r| walk(r, None, None, true).0);
        assert_eq!(total, map.len());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Every operation agrees with `BTreeMap`, and clones taken along the way never change.
        #[test]
        fn behaves_like_btreemap(ops in proptest::collection::vec(op(), 0..3000)) {
            let mut map = PMap::new();
            let mut model = BTreeMap::new();
            let mut snapshots = Vec::new();
            for op in ops {
                match op {
                    Op::Insert(k, v) => prop_assert_eq!(map.insert(k, v), model.insert(k, v)),
                    Op::Remove(k) => {
                        prop_assert_eq!(map.remove_with_key(&k), model.remove_entry(&k));
                    }
                    Op::Snapshot => snapshots.push((map.clone(), model.clone())),
                }
                prop_assert_eq!(map.len(), model.len());
            }
            check(&map);
            prop_assert!(map.iter().map(|(k, v)| (*k, *v)).eq(model.iter().map(|(k, v)| (*k, *v))));
            for k in 0..2000u16 {
                prop_assert_eq!(map.get(&k), model.get(&k));
            }
            for (snapshot, expected) in snapshots {
                check(&snapshot);
                prop_assert!(snapshot.iter().map(|(k, v)| (*k, *v)).eq(expected.into_iter()));
            }
        }

        /// A bulk-built map equals one built by inserts, stays valid under changes, and ranges
        /// start where they should.
        #[test]
        fn bulk_build_and_ranges(n in 0usize..5000, edits in proptest::collection::vec(op(), 0..500), from in any::<u16>()) {
            let entries: Vec<(u16, u32)> = (0..n as u16).map(|k| (k * 3, u32::from(k))).collect();
            let mut map = PMap::from_verified_ascending(entries.clone().into_iter());
            let mut model: BTreeMap<u16, u32> = entries.into_iter().collect();
            check(&map);
            for op in edits {
                match op {
                    Op::Insert(k, v) => prop_assert_eq!(map.insert(k, v), model.insert(k, v)),
                    Op::Remove(k) => prop_assert_eq!(map.remove(&k), model.remove(&k)),
                    Op::Snapshot => {
                        if let Some(v) = map.get_mut(&(from % 2000)) {
                            *v += 1;
                        }
                        if let Some(v) = model.get_mut(&(from % 2000)) {
                            *v += 1;
                        }
                    }
                }
            }
            check(&map);
            let got: Vec<_> = map.range_from(&from).map(|(k, v)| (*k, *v)).collect();
            let want: Vec<_> = model.range(from..).map(|(k, v)| (*k, *v)).collect();
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn draining_a_deep_tree_keeps_it_valid() {
        let mut map = PMap::from_verified_ascending((0..5000u32).map(|k| (k, k)));
        let frozen = map.clone();
        // Every seventh key, then the rest: merges and refills at every level.
        let order: Vec<u32> = (0..5000)
            .filter(|k| k % 7 == 0)
            .chain((0..5000).filter(|k| k % 7 != 0))
            .collect();
        for (n, k) in order.iter().enumerate() {
            assert_eq!(map.remove_with_key(k), Some((*k, *k)));
            if n % 250 == 0 {
                check(&map);
            }
        }
        assert!(map.is_empty() && map.root.is_none());
        check(&frozen);
        assert!(frozen.iter().map(|(k, _)| *k).eq(0..5000));
    }

    #[test]
    fn unordered_input_is_refused() {
        assert_eq!(PSet::from_ascending(vec![1, 1]).unwrap_err(), vec![1, 1]);
        assert_eq!(PSet::from_ascending(vec![2, 1]).unwrap_err(), vec![2, 1]);
        assert_eq!(PSet::from_ascending(vec![1, 2, 3]).unwrap().len(), 3);
    }

    #[test]
    fn sequential_inserts_fill_leaves() {
        let mut map = PMap::new();
        for k in 0..(MAX * MAX) as u32 {
            map.insert(k, ());
        }
        check(&map);
        let Some(Node::Branch(root)) = map.root.as_deref() else {
            panic!("expected a branch root");
        };
        // Full leaves: MAX × MAX entries need exactly MAX leaves.
        assert_eq!(root.children.len(), MAX);
    }
}
