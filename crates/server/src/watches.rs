//! The watch manager: which connection waits for which change, with ZooKeeper's semantics.
//!
//! Like ZooKeeper it keeps two tables. The data table holds data and exists watches; the child table
//! holds child watches. `addWatch` puts a persistent watch in both tables and a recursive one only
//! in the data table, which is why recursive watches never see `NodeChildrenChanged`. One trigger
//! delivers at most one event to a connection, and a one-shot watch is gone once it fired.
//! Owned by the apply task, so it needs no lock.

use jute::{EventType, WatcherType};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// Identifies a client connection inside this server.
pub type ConnId = u64;

/// How a watch was registered; a connection may hold several on one path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Modes {
    standard: bool,
    persistent: bool,
    recursive: bool,
}

impl Modes {
    fn is_empty(self) -> bool {
        !(self.standard || self.persistent || self.recursive)
    }
}

/// The persistent kinds `addWatch` registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersistentKind {
    Persistent,
    Recursive,
}

#[derive(Debug, Default)]
struct Table {
    by_path: HashMap<Arc<str>, BTreeMap<ConnId, Modes>>,
    by_conn: HashMap<ConnId, HashSet<Arc<str>>>,
    recursive_count: usize,
}

impl Table {
    fn add(&mut self, path: &Arc<str>, conn: ConnId, set: impl FnOnce(&mut Modes)) {
        let modes = self
            .by_path
            .entry(Arc::clone(path))
            .or_default()
            .entry(conn)
            .or_default();
        let had_recursive = modes.recursive;
        set(modes);
        if modes.recursive && !had_recursive {
            self.recursive_count += 1;
        }
        self.by_conn
            .entry(conn)
            .or_default()
            .insert(Arc::clone(path));
    }

    /// Clears the modes `clear` selects; returns true if any of them was set.
    fn remove(&mut self, path: &str, conn: ConnId, clear: impl FnOnce(&mut Modes) -> bool) -> bool {
        let Some(watchers) = self.by_path.get_mut(path) else {
            return false;
        };
        let Some(modes) = watchers.get_mut(&conn) else {
            return false;
        };
        let had_recursive = modes.recursive;
        let removed = clear(modes);
        if had_recursive && !modes.recursive {
            self.recursive_count -= 1;
        }
        if modes.is_empty() {
            watchers.remove(&conn);
            if watchers.is_empty() {
                self.by_path.remove(path);
            }
            if let Some(paths) = self.by_conn.get_mut(&conn) {
                paths.remove(path);
                if paths.is_empty() {
                    self.by_conn.remove(&conn);
                }
            }
        }
        removed
    }

    fn has(&self, path: &str, conn: ConnId, test: impl Fn(&Modes) -> bool) -> bool {
        self.by_path
            .get(path)
            .and_then(|w| w.get(&conn))
            .is_some_and(test)
    }

    /// Fires `path`: watchers on the path itself, and recursive watchers on its ancestors.
    /// Connections in `suppress` are skipped; every connection that fires is added to it.
    fn trigger(&mut self, path: &str, out: &mut Vec<ConnId>, suppress: &mut HashSet<ConnId>) {
        let mut spent = Vec::new();
        if let Some(watchers) = self.by_path.get_mut(path) {
            for (&conn, modes) in watchers.iter_mut() {
                if suppress.insert(conn) {
                    out.push(conn);
                }
                if modes.standard {
                    modes.standard = false;
                    if modes.is_empty() {
                        spent.push(conn);
                    }
                }
            }
        }
        for conn in spent {
            self.remove(path, conn, |_| true);
        }
        if self.recursive_count == 0 {
            return;
        }
        let mut ancestor = path;
        while let Some(parent) = parent_of(ancestor) {
            if let Some(watchers) = self.by_path.get(parent) {
                for (&conn, modes) in watchers {
                    if modes.recursive && suppress.insert(conn) {
                        out.push(conn);
                    }
                }
            }
            ancestor = parent;
        }
    }

    fn drop_conn(&mut self, conn: ConnId) {
        let Some(paths) = self.by_conn.remove(&conn) else {
            return;
        };
        for path in paths {
            if let Some(watchers) = self.by_path.get_mut(&path) {
                if let Some(modes) = watchers.remove(&conn) {
                    if modes.recursive {
                        self.recursive_count -= 1;
                    }
                }
                if watchers.is_empty() {
                    self.by_path.remove(&path);
                }
            }
        }
    }

    fn count(&self) -> usize {
        self.by_path.values().map(BTreeMap::len).sum()
    }
}

/// `"/a/b"` → `"/a"`, `"/a"` → `"/"`, `"/"` → none.
pub fn parent_of(path: &str) -> Option<&str> {
    if path == "/" {
        return None;
    }
    match path.rfind('/') {
        Some(0) => Some("/"),
        Some(i) => Some(&path[..i]),
        None => None,
    }
}

/// Every watch of every connection of this server.
#[derive(Debug, Default)]
pub struct WatchManager {
    data: Table,
    child: Table,
}

impl WatchManager {
    /// A one-shot data watch (`getData`) or exists watch (`exists`).
    pub fn add_data_watch(&mut self, path: &Arc<str>, conn: ConnId) {
        self.data.add(path, conn, |m| m.standard = true);
    }

    /// A one-shot child watch (`getChildren`).
    pub fn add_child_watch(&mut self, path: &Arc<str>, conn: ConnId) {
        self.child.add(path, conn, |m| m.standard = true);
    }

    /// `addWatch`: persistent watches sit in both tables, recursive ones only in the data table.
    pub fn add_persistent_watch(&mut self, path: &Arc<str>, conn: ConnId, kind: PersistentKind) {
        match kind {
            PersistentKind::Persistent => {
                self.data.add(path, conn, |m| m.persistent = true);
                self.child.add(path, conn, |m| m.persistent = true);
            }
            PersistentKind::Recursive => self.data.add(path, conn, |m| m.recursive = true),
        }
    }

    /// The connections to notify of `event` on `path`, each once, in a deterministic order.
    pub fn trigger(&mut self, path: &str, event: EventType) -> Vec<ConnId> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        match event {
            EventType::NodeCreated | EventType::NodeDataChanged => {
                self.data.trigger(path, &mut out, &mut seen)
            }
            EventType::NodeChildrenChanged => self.child.trigger(path, &mut out, &mut seen),
            EventType::NodeDeleted => {
                self.data.trigger(path, &mut out, &mut seen);
                self.child.trigger(path, &mut out, &mut seen);
            }
            _ => {}
        }
        out
    }

    /// Whether `conn` has a watch of `kind` on `path` (`checkWatches`).
    pub fn contains(&self, path: &str, conn: ConnId, kind: WatcherType) -> bool {
        let std_only = |m: &Modes| m.standard;
        match kind {
            WatcherType::Children => self.child.has(path, conn, std_only),
            WatcherType::Data => self.data.has(path, conn, std_only),
            WatcherType::Any => {
                self.child.has(path, conn, |_| true) || self.data.has(path, conn, |_| true)
            }
            WatcherType::Persistent => self.data.has(path, conn, |m| m.persistent),
            WatcherType::PersistentRecursive => self.data.has(path, conn, |m| m.recursive),
        }
    }

    /// Removes `conn`'s watches of `kind` on `path` (`removeWatches`); returns the events the
    /// client is told about (`DataWatchRemoved`, `ChildWatchRemoved`, `PersistentWatchRemoved`),
    /// empty when nothing matched.
    pub fn remove(&mut self, path: &str, conn: ConnId, kind: WatcherType) -> Vec<EventType> {
        let mut events = Vec::new();
        let take_std = |m: &mut Modes| std::mem::take(&mut m.standard);
        let take_persistent = |m: &mut Modes| std::mem::take(&mut m.persistent);
        let take_recursive = |m: &mut Modes| std::mem::take(&mut m.recursive);
        if matches!(kind, WatcherType::Children | WatcherType::Any)
            && self.child.remove(path, conn, take_std)
        {
            events.push(EventType::ChildWatchRemoved);
        }
        if matches!(kind, WatcherType::Data | WatcherType::Any)
            && self.data.remove(path, conn, take_std)
        {
            events.push(EventType::DataWatchRemoved);
        }
        if matches!(kind, WatcherType::Persistent | WatcherType::Any) {
            let data = self.data.remove(path, conn, take_persistent);
            let child = self.child.remove(path, conn, take_persistent);
            if data || child {
                events.push(EventType::PersistentWatchRemoved);
            }
        }
        if matches!(kind, WatcherType::PersistentRecursive | WatcherType::Any)
            && self.data.remove(path, conn, take_recursive)
        {
            events.push(EventType::PersistentWatchRemoved);
        }
        events
    }

    /// Forgets every watch of a closed connection.
    pub fn drop_connection(&mut self, conn: ConnId) {
        self.data.drop_conn(conn);
        self.child.drop_conn(conn);
    }

    /// Total watches (`zk_watch_count`): a (path, connection) pair counts once per table.
    pub fn watch_count(&self) -> usize {
        self.data.count() + self.child.count()
    }

    /// Distinct watched paths.
    pub fn watched_path_count(&self) -> usize {
        let mut paths: HashSet<&str> = self.data.by_path.keys().map(|p| &**p).collect();
        paths.extend(self.child.by_path.keys().map(|p| &**p));
        paths.len()
    }

    /// Every data and exists watch as (path, connection), sorted: what `wchs`/`wchc`/`wchp` list.
    pub fn data_watches(&self) -> Vec<(String, ConnId)> {
        let mut out: Vec<(String, ConnId)> = self
            .data
            .by_path
            .iter()
            .flat_map(|(path, watchers)| watchers.keys().map(move |c| (path.to_string(), *c)))
            .collect();
        out.sort();
        out
    }

    /// Paths each connection watches, sorted (`wchc`).
    pub fn paths_by_connection(&self) -> BTreeMap<ConnId, Vec<String>> {
        let mut out: BTreeMap<ConnId, Vec<String>> = BTreeMap::new();
        for table in [&self.data, &self.child] {
            for (conn, paths) in &table.by_conn {
                out.entry(*conn)
                    .or_default()
                    .extend(paths.iter().map(|p| p.to_string()));
            }
        }
        for paths in out.values_mut() {
            paths.sort();
            paths.dedup();
        }
        out
    }

    /// Connections watching each path, sorted (`wchp`).
    pub fn connections_by_path(&self) -> BTreeMap<String, Vec<ConnId>> {
        let mut out: BTreeMap<String, Vec<ConnId>> = BTreeMap::new();
        for table in [&self.data, &self.child] {
            for (path, watchers) in &table.by_path {
                out.entry(path.to_string())
                    .or_default()
                    .extend(watchers.keys());
            }
        }
        for conns in out.values_mut() {
            conns.sort();
            conns.dedup();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Arc<str> {
        Arc::from(s)
    }

    #[test]
    fn one_shot_watch_fires_once() {
        let mut w = WatchManager::default();
        w.add_data_watch(&p("/a"), 1);
        assert_eq!(w.trigger("/a", EventType::NodeDataChanged), vec![1]);
        assert!(w.trigger("/a", EventType::NodeDataChanged).is_empty());
        assert_eq!(w.watch_count(), 0);
    }

    #[test]
    fn delete_notifies_a_connection_with_data_and_child_watch_once() {
        let mut w = WatchManager::default();
        w.add_data_watch(&p("/a"), 1);
        w.add_child_watch(&p("/a"), 1);
        w.add_child_watch(&p("/a"), 2);
        assert_eq!(w.trigger("/a", EventType::NodeDeleted), vec![1, 2]);
        assert_eq!(w.watch_count(), 0);
    }

    #[test]
    fn persistent_watch_stays_and_sees_children_changes() {
        let mut w = WatchManager::default();
        w.add_persistent_watch(&p("/a"), 7, PersistentKind::Persistent);
        for _ in 0..3 {
            assert_eq!(w.trigger("/a", EventType::NodeDataChanged), vec![7]);
            assert_eq!(w.trigger("/a", EventType::NodeChildrenChanged), vec![7]);
        }
        assert!(w.trigger("/a/b", EventType::NodeCreated).is_empty());
    }

    #[test]
    fn recursive_watch_covers_subtree_but_not_children_changed() {
        let mut w = WatchManager::default();
        w.add_persistent_watch(&p("/a"), 3, PersistentKind::Recursive);
        assert_eq!(w.trigger("/a/b/c", EventType::NodeCreated), vec![3]);
        assert_eq!(w.trigger("/a", EventType::NodeDataChanged), vec![3]);
        assert!(w.trigger("/a", EventType::NodeChildrenChanged).is_empty());
        assert!(w.trigger("/ab", EventType::NodeCreated).is_empty());
        assert!(w.trigger("/", EventType::NodeDataChanged).is_empty());
    }

    #[test]
    fn remove_reports_what_was_removed_and_drop_forgets_all() {
        let mut w = WatchManager::default();
        w.add_data_watch(&p("/a"), 1);
        w.add_child_watch(&p("/a"), 1);
        assert!(w.contains("/a", 1, WatcherType::Data));
        assert_eq!(
            w.remove("/a", 1, WatcherType::Data),
            vec![EventType::DataWatchRemoved]
        );
        assert!(!w.contains("/a", 1, WatcherType::Data));
        assert!(w.remove("/a", 1, WatcherType::Data).is_empty());
        w.add_persistent_watch(&p("/r"), 1, PersistentKind::Recursive);
        w.drop_connection(1);
        assert_eq!(w.watch_count(), 0);
        assert!(w.trigger("/r/x", EventType::NodeCreated).is_empty());
    }

    #[test]
    fn parent_of_paths() {
        assert_eq!(parent_of("/a/b"), Some("/a"));
        assert_eq!(parent_of("/a"), Some("/"));
        assert_eq!(parent_of("/"), None);
    }
}
