//! The client's side of watches: which application handles wait on which server path, filled when
//! a watching read is answered and emptied when a notification fires them. Owned by the session
//! task, so registration and delivery follow the connection's order without locks.

use crate::path::Chroot;
use crate::watch::WatchedEvent;
use jute::{AddWatchMode, ErrorCode, EventType, KeeperState, WatcherType};
use std::collections::BTreeMap;
use tokio::sync::{mpsc, oneshot};

/// The one-shot watch kinds, as ZooKeeper's `ZKWatchManager` keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OneShotKind {
    /// Set by `getData`, or `exists` on an existing node.
    Data,
    /// Set by `getChildren`/`getChildren2`.
    Child,
}

/// A watch to register once the request that asked for it is answered.
#[derive(Debug)]
pub(crate) enum Registration {
    /// `getData`/`getChildren`: registered only on success (the server sets none on NoNode).
    OneShot {
        kind: OneShotKind,
        server_path: String,
        tx: oneshot::Sender<WatchedEvent>,
    },
    /// `exists`: a data watch if the node exists, an exist watch (for its creation) on NoNode.
    Exists {
        server_path: String,
        tx: oneshot::Sender<WatchedEvent>,
    },
    /// `addWatch`: registered on success.
    Persistent {
        mode: AddWatchMode,
        server_path: String,
        id: u64,
        tx: mpsc::UnboundedSender<WatchedEvent>,
    },
}

impl Registration {
    /// The server path the watch is for.
    pub(crate) fn server_path(&self) -> &str {
        match self {
            Registration::OneShot { server_path, .. }
            | Registration::Exists { server_path, .. }
            | Registration::Persistent { server_path, .. } => server_path,
        }
    }
}

type OneShots = BTreeMap<String, Vec<oneshot::Sender<WatchedEvent>>>;
type Streams = BTreeMap<String, Vec<(u64, mpsc::UnboundedSender<WatchedEvent>)>>;

/// The paths to re-register after a reconnect, in ZooKeeper's five lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct WatchLists {
    pub(crate) data: Vec<String>,
    pub(crate) exist: Vec<String>,
    pub(crate) child: Vec<String>,
    pub(crate) persistent: Vec<String>,
    pub(crate) recursive: Vec<String>,
}

impl WatchLists {
    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty()
            && self.exist.is_empty()
            && self.child.is_empty()
            && self.persistent.is_empty()
            && self.recursive.is_empty()
    }
}

/// Every watch the application holds, keyed by server path (chroot included). `BTreeMap`s keep
/// the re-registration order deterministic.
#[derive(Debug, Default)]
pub(crate) struct WatchRegistry {
    data: OneShots,
    exist: OneShots,
    child: OneShots,
    persistent: Streams,
    recursive: Streams,
}

impl WatchRegistry {
    /// Registers `reg` according to the reply's error code.
    pub(crate) fn on_reply(&mut self, reg: Registration, err: i32) {
        let ok = err == ErrorCode::Ok.as_i32();
        match reg {
            Registration::OneShot {
                kind,
                server_path,
                tx,
            } if ok => {
                let map = match kind {
                    OneShotKind::Data => &mut self.data,
                    OneShotKind::Child => &mut self.child,
                };
                map.entry(server_path).or_default().push(tx);
            }
            Registration::Exists { server_path, tx } => {
                if ok {
                    self.data.entry(server_path).or_default().push(tx);
                } else if err == ErrorCode::NoNode.as_i32() {
                    self.exist.entry(server_path).or_default().push(tx);
                }
            }
            Registration::Persistent {
                mode,
                server_path,
                id,
                tx,
            } if ok => {
                self.streams(mode)
                    .entry(server_path)
                    .or_default()
                    .push((id, tx));
            }
            // A failed request sets no watch; dropping the sender tells nobody, since the
            // caller got the error instead of a watch handle.
            _ => {}
        }
    }

    fn streams(&mut self, mode: AddWatchMode) -> &mut Streams {
        match mode {
            AddWatchMode::Persistent => &mut self.persistent,
            AddWatchMode::PersistentRecursive => &mut self.recursive,
        }
    }

    /// Delivers a server notification to every watch it fires, removing the one-shot ones.
    pub(crate) fn dispatch(
        &mut self,
        event_type: EventType,
        server_path: &str,
        zxid: i64,
        chroot: &Chroot,
    ) {
        let event = WatchedEvent {
            event_type,
            state: KeeperState::SyncConnected,
            path: chroot.strip(server_path),
            zxid: (zxid > 0).then_some(zxid),
        };
        let mut fired: Vec<oneshot::Sender<WatchedEvent>> = Vec::new();
        match event_type {
            EventType::NodeCreated | EventType::NodeDataChanged => {
                fired.extend(self.data.remove(server_path).unwrap_or_default());
                fired.extend(self.exist.remove(server_path).unwrap_or_default());
            }
            EventType::NodeDeleted => {
                fired.extend(self.data.remove(server_path).unwrap_or_default());
                fired.extend(self.exist.remove(server_path).unwrap_or_default());
                fired.extend(self.child.remove(server_path).unwrap_or_default());
            }
            EventType::NodeChildrenChanged => {
                fired.extend(self.child.remove(server_path).unwrap_or_default());
            }
            _ => return,
        }
        for tx in fired {
            // A dropped WatchFuture no longer wants it.
            let _ = tx.send(event.clone());
        }
        send_all(&mut self.persistent, server_path, &event);
        // Recursive watches see their whole subtree but, by definition, no child events.
        if event_type != EventType::NodeChildrenChanged {
            for ancestor in self_and_ancestors(server_path) {
                send_all(&mut self.recursive, ancestor, &event);
            }
        }
    }

    /// After the server removed `watcher_type` watches on `server_path`: drops them here too,
    /// telling each holder with ZooKeeper's removal event.
    pub(crate) fn remove(&mut self, server_path: &str, watcher_type: WatcherType, chroot: &Chroot) {
        let event = |event_type| WatchedEvent {
            event_type,
            state: KeeperState::SyncConnected,
            path: chroot.strip(server_path),
            zxid: None,
        };
        let (data, child, persistent, recursive) = match watcher_type {
            WatcherType::Data => (true, false, false, false),
            WatcherType::Children => (false, true, false, false),
            WatcherType::Persistent => (false, false, true, false),
            WatcherType::PersistentRecursive => (false, false, false, true),
            WatcherType::Any => (true, true, true, true),
        };
        if data {
            let ev = event(EventType::DataWatchRemoved);
            for map in [&mut self.data, &mut self.exist] {
                for tx in map.remove(server_path).unwrap_or_default() {
                    let _ = tx.send(ev.clone());
                }
            }
        }
        if child {
            let ev = event(EventType::ChildWatchRemoved);
            for tx in self.child.remove(server_path).unwrap_or_default() {
                let _ = tx.send(ev.clone());
            }
        }
        let ev = event(EventType::PersistentWatchRemoved);
        for (wanted, map) in [
            (persistent, &mut self.persistent),
            (recursive, &mut self.recursive),
        ] {
            if wanted {
                // Dropping the senders after the last event ends each stream.
                for (_, tx) in map.remove(server_path).unwrap_or_default() {
                    let _ = tx.send(ev.clone());
                }
            }
        }
    }

    /// Forgets one dropped [`crate::PersistentWatcher`]. True when it was the last watcher of
    /// this path and mode, so the server's watch can go too.
    pub(crate) fn forget(&mut self, mode: AddWatchMode, server_path: &str, id: u64) -> bool {
        let map = self.streams(mode);
        let Some(list) = map.get_mut(server_path) else {
            return false;
        };
        let before = list.len();
        list.retain(|(i, _)| *i != id);
        let removed = list.len() != before;
        if list.is_empty() {
            map.remove(server_path);
            return removed;
        }
        false
    }

    /// True if any watch of any kind is held on `server_path`.
    pub(crate) fn watches_path(&self, server_path: &str) -> bool {
        [&self.data, &self.exist, &self.child]
            .iter()
            .any(|m| m.contains_key(server_path))
            || [&self.persistent, &self.recursive]
                .iter()
                .any(|m| m.contains_key(server_path))
    }

    /// Ends every watch with a session event (`Expired`, `AuthFailed`, `Closed`).
    pub(crate) fn end_session(&mut self, state: KeeperState) {
        let ev = WatchedEvent::session_end(state);
        for map in [&mut self.data, &mut self.exist, &mut self.child] {
            for (_, list) in std::mem::take(map) {
                for tx in list {
                    let _ = tx.send(ev.clone());
                }
            }
        }
        for map in [&mut self.persistent, &mut self.recursive] {
            for (_, list) in std::mem::take(map) {
                for (_, tx) in list {
                    let _ = tx.send(ev.clone());
                }
            }
        }
    }

    /// The paths to re-register on a new connection, after dropping watches nobody holds.
    pub(crate) fn lists(&mut self) -> WatchLists {
        fn one_shots(map: &mut OneShots) -> Vec<String> {
            map.retain(|_, list| {
                list.retain(|tx| !tx.is_closed());
                !list.is_empty()
            });
            map.keys().cloned().collect()
        }
        fn streams(map: &mut Streams) -> Vec<String> {
            map.retain(|_, list| {
                list.retain(|(_, tx)| !tx.is_closed());
                !list.is_empty()
            });
            map.keys().cloned().collect()
        }
        WatchLists {
            data: one_shots(&mut self.data),
            exist: one_shots(&mut self.exist),
            child: one_shots(&mut self.child),
            persistent: streams(&mut self.persistent),
            recursive: streams(&mut self.recursive),
        }
    }
}

fn send_all(map: &mut Streams, key: &str, event: &WatchedEvent) {
    if let Some(list) = map.get_mut(key) {
        // A receiver that was dropped is pruned here; its server watch is removed by `forget`.
        list.retain(|(_, tx)| tx.send(event.clone()).is_ok());
        if list.is_empty() {
            map.remove(key);
        }
    }
}

/// `/a/b/c`, `/a/b`, `/a`, `/`.
fn self_and_ancestors(path: &str) -> impl Iterator<Item = &str> {
    let mut next = Some(path);
    std::iter::from_fn(move || {
        let cur = next?;
        next = match cur.rfind('/') {
            _ if cur == "/" => None,
            Some(0) => Some("/"),
            Some(i) => Some(&cur[..i]),
            None => None,
        };
        Some(cur)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_shot(kind: OneShotKind, path: &str) -> (Registration, oneshot::Receiver<WatchedEvent>) {
        let (tx, rx) = oneshot::channel();
        (
            Registration::OneShot {
                kind,
                server_path: path.into(),
                tx,
            },
            rx,
        )
    }

    #[test]
    fn ancestors_walk_to_the_root() {
        let v: Vec<&str> = self_and_ancestors("/a/b/c").collect();
        assert_eq!(v, ["/a/b/c", "/a/b", "/a", "/"]);
        let v: Vec<&str> = self_and_ancestors("/").collect();
        assert_eq!(v, ["/"]);
    }

    #[test]
    fn data_watch_fires_once_with_the_chroot_stripped() {
        let mut reg = WatchRegistry::default();
        let chroot = Chroot::new("/app").unwrap();
        let (r, mut rx) = one_shot(OneShotKind::Data, "/app/x");
        reg.on_reply(r, 0);
        reg.dispatch(EventType::NodeChildrenChanged, "/app/x", -1, &chroot);
        assert!(
            rx.try_recv().is_err(),
            "a child event must not fire a data watch"
        );
        reg.dispatch(EventType::NodeDataChanged, "/app/x", 7, &chroot);
        let ev = rx.try_recv().unwrap();
        assert_eq!(ev.path, "/x");
        assert_eq!(ev.zxid, Some(7));
        assert!(reg.lists().is_empty());
    }

    #[test]
    fn failed_reads_register_nothing_but_exists_on_no_node_does() {
        let mut reg = WatchRegistry::default();
        let (r, _rx) = one_shot(OneShotKind::Data, "/x");
        reg.on_reply(r, ErrorCode::NoNode.as_i32());
        let (tx, _rx2) = oneshot::channel();
        reg.on_reply(
            Registration::Exists {
                server_path: "/y".into(),
                tx,
            },
            ErrorCode::NoNode.as_i32(),
        );
        let lists = reg.lists();
        assert!(lists.data.is_empty());
        assert_eq!(lists.exist, vec!["/y".to_string()]);
    }

    #[test]
    fn recursive_watch_sees_descendants_but_no_child_events() {
        let mut reg = WatchRegistry::default();
        let (tx, mut rx) = mpsc::unbounded_channel();
        reg.on_reply(
            Registration::Persistent {
                mode: AddWatchMode::PersistentRecursive,
                server_path: "/a".into(),
                id: 1,
                tx,
            },
            0,
        );
        let none = Chroot::default();
        reg.dispatch(EventType::NodeCreated, "/a/b/c", -1, &none);
        reg.dispatch(EventType::NodeChildrenChanged, "/a/b", -1, &none);
        reg.dispatch(EventType::NodeDataChanged, "/other", -1, &none);
        assert_eq!(rx.try_recv().unwrap().path, "/a/b/c");
        assert!(rx.try_recv().is_err());
        assert!(reg.forget(AddWatchMode::PersistentRecursive, "/a", 1));
        assert!(reg.lists().is_empty());
    }

    #[test]
    fn dropped_futures_are_not_re_registered() {
        let mut reg = WatchRegistry::default();
        let (r, rx) = one_shot(OneShotKind::Child, "/x");
        reg.on_reply(r, 0);
        assert_eq!(reg.lists().child, vec!["/x".to_string()]);
        drop(rx);
        assert!(reg.lists().is_empty());
    }
}
