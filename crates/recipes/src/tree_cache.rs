//! A tree cache: the data and stat of every node of a subtree, kept current through one
//! persistent recursive watch (ZooKeeper 3.6+ `addWatch` in `PERSISTENT_RECURSIVE` mode), with a
//! stream of changes, like Curator's `CuratorCache`/`TreeCache`.
//!
//! # How it stays current
//! The watch is added before the first walk of the subtree, so every change after
//! [`TreeCache::start`] produces an event. Each event makes the cache re-read what it names: a
//! created or changed node is read again, a deleted node is dropped with its cached subtree,
//! and for a creation or deletion the parent is read again too (its child count and `pzxid`
//! changed, and a recursive watch sends no child events). Events and replies arrive in one
//! ordered stream and every read returns a state at least as new as the event that caused it,
//! so the last event about any node is followed by a read of its final state.
//!
//! Changes made while the client is disconnected produce no events on a persistent watch, so
//! after every reconnect (the session re-attached, on the same server or another) the cache
//! walks the whole subtree again and reports the differences.
//!
//! # Guarantees
//! - Convergence: once changes stop, the cache equals the server's subtree (paths, data and
//!   stats) as seen by the connected server. Intermediate states between two reads may be
//!   skipped.
//! - The event stream describes every change of the cache: replaying it over an empty map
//!   yields the cache. [`TreeEvent::Added`] is sent for each node of the first walk, then
//!   [`TreeEvent::Initialized`] once. [`TreeEvent::Updated`] means the data changed or the node
//!   was re-created (its `mzxid` or `czxid` moved); a stat change from children alone updates
//!   the cache silently. Parents are added before their children and removed after them.
//! - The cached root need not exist; it is picked up when created.
//!
//! # Failure behaviour
//! - Connection loss: the cache keeps its last state, and is rebuilt by a full walk after the
//!   session is re-attached.
//! - Session expiry or close: the cache stops and keeps its last state; the event stream ends
//!   and [`TreeCache::changed`] fails with [`Error::SessionEnded`]. Start a new cache on a new
//!   client.
//! - Events are queued without bound for the consumer of [`TreeCache::next_event`]; a cache
//!   whose events are never read grows by one event per change.

use crate::error::Error;
use crate::session::{check_path, retrying, Reconnects};
use client::{AddWatchMode, Client, EventType, PersistentWatcher, SessionState, Stat};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;

/// How many node reads a walk keeps in flight.
const WALK_CONCURRENCY: usize = 32;

/// A cached node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedNode {
    /// Its data.
    pub data: Vec<u8>,
    /// Its stat.
    pub stat: Stat,
}

/// A change of the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeEvent {
    /// A node appeared.
    Added {
        /// Its path.
        path: String,
        /// Its state.
        node: CachedNode,
    },
    /// A node's data changed (or it was deleted and created again between two reads).
    Updated {
        /// Its path.
        path: String,
        /// Its new state.
        node: CachedNode,
    },
    /// A node disappeared.
    Removed {
        /// Its path.
        path: String,
        /// Its last cached state.
        node: CachedNode,
    },
    /// The first walk is complete: every node that existed then has been added.
    Initialized,
}

type Nodes = BTreeMap<String, CachedNode>;

/// The state shared by the handle and the task.
#[derive(Debug)]
struct Shared {
    nodes: Mutex<Nodes>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Nodes> {
        // A panic while holding the lock cannot leave the map half-updated in a way that
        // matters more than stopping the cache would.
        self.nodes.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A cached view of a subtree.
///
/// ```no_run
/// # async fn demo(zk: client::Client) -> Result<(), recipes::Error> {
/// use recipes::tree_cache::TreeEvent;
/// let mut cache = recipes::TreeCache::start(zk, "/services").await?;
/// while let Some(event) = cache.next_event().await {
///     if let TreeEvent::Added { path, .. } = event {
///         println!("new: {path}");
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct TreeCache {
    client: Client,
    root: String,
    shared: Arc<Shared>,
    events: mpsc::UnboundedReceiver<TreeEvent>,
    generation: watch::Receiver<u64>,
    _stop: oneshot::Sender<()>,
}

impl TreeCache {
    /// Starts caching the subtree at `root` (which need not exist yet); returns once the first
    /// walk is done.
    pub async fn start(client: Client, root: &str) -> Result<TreeCache, Error> {
        check_path(root)?;
        // Subscribe first: a reconnect during the first walk must cause a second one.
        let reconnects = Reconnects::subscribe(&client);
        let watcher = retrying(&client, || {
            client.add_watch(root, AddWatchMode::PersistentRecursive)
        })
        .await?;
        let first = walk(&client, root).await?;
        let (events_tx, events) = mpsc::unbounded_channel();
        for (path, node) in &first {
            let _ = events_tx.send(TreeEvent::Added {
                path: path.clone(),
                node: node.clone(),
            });
        }
        let _ = events_tx.send(TreeEvent::Initialized);
        let shared = Arc::new(Shared {
            nodes: Mutex::new(first),
        });
        let (generation_tx, generation) = watch::channel(0);
        let (stop_tx, stop_rx) = oneshot::channel();
        let task = Task {
            client: client.clone(),
            root: root.to_string(),
            shared: shared.clone(),
            events: events_tx,
            generation: generation_tx,
        };
        tokio::spawn(task.run(watcher, reconnects, stop_rx));
        Ok(TreeCache {
            client,
            root: root.to_string(),
            shared,
            events,
            generation,
            _stop: stop_tx,
        })
    }

    /// The cached root path.
    pub fn root(&self) -> &str {
        &self.root
    }

    /// The cached node at `path`.
    pub fn get(&self, path: &str) -> Option<CachedNode> {
        self.shared.lock().get(path).cloned()
    }

    /// The names of the cached children of `path`, sorted.
    pub fn children(&self, path: &str) -> Vec<String> {
        let nodes = self.shared.lock();
        let prefix = format!("{path}/");
        nodes
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .filter_map(|(p, _)| {
                let name = &p[prefix.len()..];
                (!name.contains('/')).then(|| name.to_string())
            })
            .collect()
    }

    /// Every cached node, by path.
    pub fn snapshot(&self) -> BTreeMap<String, CachedNode> {
        self.shared.lock().clone()
    }

    /// The next change; `None` once the cache has stopped and every event was read.
    pub async fn next_event(&mut self) -> Option<TreeEvent> {
        self.events.recv().await
    }

    /// The next change if one is queued.
    pub fn try_next_event(&mut self) -> Option<TreeEvent> {
        self.events.try_recv().ok()
    }

    /// Waits until the cache changes (or is re-checked after an event or a reconnect).
    pub async fn changed(&mut self) -> Result<(), Error> {
        if self.generation.changed().await.is_err() {
            return Err(self.ended());
        }
        Ok(())
    }

    /// Whether the cache is still being kept current.
    pub fn is_running(&self) -> bool {
        self.generation.has_changed().is_ok()
    }

    fn ended(&self) -> Error {
        let st = self.client.state();
        Error::SessionEnded(if st.is_terminal() {
            st
        } else {
            SessionState::Closed
        })
    }
}

/// Reads the subtree at `root`: every node's data and stat. A node deleted during the walk is
/// left out (its deletion event follows).
async fn walk(client: &Client, root: &str) -> Result<Nodes, Error> {
    let mut out = Nodes::new();
    let mut todo = vec![root.to_string()];
    let mut reads: JoinSet<Result<Option<WalkedNode>, Error>> = JoinSet::new();
    loop {
        while reads.len() < WALK_CONCURRENCY {
            let Some(path) = todo.pop() else { break };
            reads.spawn(read_node(client.clone(), path));
        }
        let Some(done) = reads.join_next().await else {
            return Ok(out);
        };
        let read = done.map_err(|e| Error::InvalidArgument(format!("walk task failed: {e}")))?;
        if let Some((path, node, children)) = read? {
            for c in children {
                todo.push(format!("{path}/{c}"));
            }
            out.insert(path, node);
        }
    }
}

/// A node read by a walk: its path, state and children's names.
type WalkedNode = (String, CachedNode, Vec<String>);

/// One node of a walk; `None` if it does not exist.
async fn read_node(client: Client, path: String) -> Result<Option<WalkedNode>, Error> {
    let Some(node) = read(&client, &path).await? else {
        return Ok(None);
    };
    let children = if node.stat.num_children > 0 {
        match retrying(&client, || client.get_children(&path)).await {
            Ok(c) => c,
            Err(Error::Client(client::Error::NoNode)) => return Ok(None),
            Err(e) => return Err(e),
        }
    } else {
        // Children created after this read send their own events.
        Vec::new()
    };
    Ok(Some((path, node, children)))
}

async fn read(client: &Client, path: &str) -> Result<Option<CachedNode>, Error> {
    match retrying(client, || client.get_data(path)).await {
        Ok((data, stat)) => Ok(Some(CachedNode { data, stat })),
        Err(Error::Client(client::Error::NoNode)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The parent of `path`.
fn parent_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// Whether `path` is `root` or below it.
fn within(root: &str, path: &str) -> bool {
    path == root
        || path
            .strip_prefix(root)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Whether the cached node changed in a way worth an [`TreeEvent::Updated`].
fn is_update(old: &CachedNode, new: &CachedNode) -> bool {
    old.stat.mzxid != new.stat.mzxid || old.stat.czxid != new.stat.czxid || old.data != new.data
}

/// The background task keeping the cache current.
struct Task {
    client: Client,
    root: String,
    shared: Arc<Shared>,
    events: mpsc::UnboundedSender<TreeEvent>,
    generation: watch::Sender<u64>,
}

impl Task {
    async fn run(
        self,
        mut watcher: PersistentWatcher,
        mut reconnects: Reconnects,
        mut stop: oneshot::Receiver<()>,
    ) {
        loop {
            let step = tokio::select! {
                biased;
                _ = &mut stop => return,
                again = reconnects.next() => match again {
                    true => self.rebuild().await,
                    false => return,
                },
                ev = watcher.next() => match ev {
                    Some(ev) if ev.event_type != EventType::None => self.on_event(ev.event_type, &ev.path).await,
                    // The session ended or the watch was removed.
                    _ => return,
                },
            };
            if let Err(e) = step {
                tracing::debug!(root = %self.root, error = %e, "tree cache stops");
                return;
            }
            self.generation.send_modify(|g| *g += 1);
        }
    }

    async fn on_event(&self, kind: EventType, path: &str) -> Result<(), Error> {
        match kind {
            EventType::NodeCreated | EventType::NodeDataChanged => self.refresh(path).await?,
            EventType::NodeDeleted => self.remove_subtree(path),
            // A recursive watch sends no child events; a plain child event needs no re-read of
            // data, but a re-read is harmless.
            _ => self.refresh(path).await?,
        }
        if matches!(kind, EventType::NodeCreated | EventType::NodeDeleted) && path != self.root {
            let parent = parent_of(path);
            if within(&self.root, parent) {
                self.refresh(parent).await?;
            }
        }
        Ok(())
    }

    /// Re-reads one node and records what it is now.
    async fn refresh(&self, path: &str) -> Result<(), Error> {
        // A node can outlive the read that dropped its parent (parent deleted and created
        // again meanwhile): read such ancestors first, so parents are added before children.
        for ancestor in self.missing_ancestors(path) {
            match read(&self.client, &ancestor).await? {
                Some(node) => self.upsert(&ancestor, node),
                None => {
                    // Gone again, and `path` with it.
                    self.remove_subtree(&ancestor);
                    return Ok(());
                }
            }
        }
        match read(&self.client, path).await? {
            Some(node) => self.upsert(path, node),
            None => self.remove_subtree(path),
        }
        Ok(())
    }

    /// The ancestors of `path` below the root that are not cached, outermost first.
    fn missing_ancestors(&self, path: &str) -> Vec<String> {
        let nodes = self.shared.lock();
        let mut missing = Vec::new();
        let mut at = path;
        while at != self.root {
            at = parent_of(at);
            if !within(&self.root, at) || nodes.contains_key(at) {
                break;
            }
            missing.push(at.to_string());
        }
        missing.reverse();
        missing
    }

    fn upsert(&self, path: &str, node: CachedNode) {
        let mut nodes = self.shared.lock();
        let event = match nodes.get(path) {
            None => Some(TreeEvent::Added {
                path: path.to_string(),
                node: node.clone(),
            }),
            Some(old) if is_update(old, &node) => Some(TreeEvent::Updated {
                path: path.to_string(),
                node: node.clone(),
            }),
            Some(_) => None,
        };
        nodes.insert(path.to_string(), node);
        if let Some(ev) = event {
            let _ = self.events.send(ev);
        }
    }

    /// Drops `path` and everything cached below it, children first.
    fn remove_subtree(&self, path: &str) {
        let mut nodes = self.shared.lock();
        let below = format!("{path}/");
        let mut gone: Vec<String> = nodes
            .range(below.clone()..)
            .take_while(|(p, _)| p.starts_with(&below))
            .map(|(p, _)| p.clone())
            .collect();
        if nodes.contains_key(path) {
            gone.insert(0, path.to_string());
        }
        for p in gone.into_iter().rev() {
            if let Some(node) = nodes.remove(&p) {
                let _ = self.events.send(TreeEvent::Removed { path: p, node });
            }
        }
    }

    /// Walks the subtree again and replaces the cache, reporting the differences.
    async fn rebuild(&self) -> Result<(), Error> {
        let fresh = walk(&self.client, &self.root).await?;
        let mut nodes = self.shared.lock();
        let removed: Vec<String> = nodes
            .keys()
            .filter(|p| !fresh.contains_key(*p))
            .cloned()
            .collect();
        for p in removed.into_iter().rev() {
            if let Some(node) = nodes.remove(&p) {
                let _ = self.events.send(TreeEvent::Removed { path: p, node });
            }
        }
        for (path, node) in fresh {
            let event = match nodes.get(&path) {
                None => Some(TreeEvent::Added {
                    path: path.clone(),
                    node: node.clone(),
                }),
                Some(old) if is_update(old, &node) => Some(TreeEvent::Updated {
                    path: path.clone(),
                    node: node.clone(),
                }),
                Some(_) => None,
            };
            if let Some(ev) = event {
                let _ = self.events.send(ev);
            }
            nodes.insert(path, node);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_and_subtrees() {
        assert_eq!(parent_of("/a/b/c"), "/a/b");
        assert_eq!(parent_of("/a"), "/");
        assert!(within("/a", "/a"));
        assert!(within("/a", "/a/b"));
        assert!(!within("/a", "/ab"));
        assert!(!within("/a/b", "/a"));
    }
}
