//! A node cache: the current data and stat of one node, kept up to date by a persistent watch
//! (ZooKeeper 3.6+ `addWatch`), like Curator's `CuratorCache` for a single node.
//!
//! # Guarantees
//! - The watch is set before the first read, so no change after [`NodeCache::start`] is
//!   missed: every event triggers a re-read, and the cache converges to the node's latest
//!   state. Intermediate versions between two reads may be skipped.
//! - The cache shows what the connected server has applied.
//!
//! # Failure behaviour
//! - Connection loss: the cache keeps its last value; after the session is re-attached (the
//!   client re-registers the persistent watch) it re-reads the node, since changes made while
//!   disconnected fire no event on a persistent watch.
//! - Session expiry or close: the cache stops and keeps its last value;
//!   [`NodeCache::changed`] fails with [`Error::SessionEnded`].

use crate::error::Error;
use crate::session::{check_path, retrying, Reconnects};
use client::{AddWatchMode, Client, EventType, PersistentWatcher, SessionState, Stat};
use tokio::sync::{oneshot, watch};

/// A snapshot of the node: `None` while it does not exist.
pub type Snapshot = Option<(Vec<u8>, Stat)>;

/// A cached view of one node.
///
/// ```no_run
/// # async fn demo(zk: client::Client) -> Result<(), recipes::Error> {
/// let mut config = recipes::NodeCache::start(zk, "/app/config").await?;
/// loop {
///     if let Some((data, stat)) = config.current() {
///         println!("config v{}: {data:?}", stat.version);
///     }
///     config.changed().await?;
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct NodeCache {
    client: Client,
    rx: watch::Receiver<Snapshot>,
    _stop: oneshot::Sender<()>,
}

impl NodeCache {
    /// Starts caching `path` (which need not exist yet).
    pub async fn start(client: Client, path: &str) -> Result<NodeCache, Error> {
        check_path(path)?;
        let reconnects = Reconnects::subscribe(&client);
        let watcher =
            retrying(&client, || client.add_watch(path, AddWatchMode::Persistent)).await?;
        let first = read(&client, path).await?;
        let (tx, rx) = watch::channel(first);
        let (stop_tx, stop_rx) = oneshot::channel();
        let task = run(
            client.clone(),
            path.to_string(),
            watcher,
            reconnects,
            tx,
            stop_rx,
        );
        tokio::spawn(task);
        Ok(NodeCache {
            client,
            rx,
            _stop: stop_tx,
        })
    }

    /// The node as last read.
    pub fn current(&self) -> Snapshot {
        self.rx.borrow().clone()
    }

    /// Waits for the next change of the cached snapshot.
    pub async fn changed(&mut self) -> Result<Snapshot, Error> {
        if self.rx.changed().await.is_err() {
            return Err(self.ended());
        }
        Ok(self.rx.borrow_and_update().clone())
    }

    /// Waits until the snapshot satisfies `pred`, and returns it.
    pub async fn wait_for(&mut self, pred: impl Fn(&Snapshot) -> bool) -> Result<Snapshot, Error> {
        let got = self.rx.wait_for(|s| pred(s)).await.map(|s| s.clone());
        got.map_err(|_| self.ended())
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

async fn read(client: &Client, path: &str) -> Result<Snapshot, Error> {
    match retrying(client, || client.get_data(path)).await {
        Ok(r) => Ok(Some(r)),
        Err(Error::Client(client::Error::NoNode)) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn run(
    client: Client,
    path: String,
    mut watcher: PersistentWatcher,
    mut reconnects: Reconnects,
    tx: watch::Sender<Snapshot>,
    mut stop: oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            _ = &mut stop => return,
            ev = watcher.next() => match ev {
                Some(ev) if ev.event_type != EventType::None => {}
                // The session ended or the watch was removed.
                _ => return,
            },
            again = reconnects.next() => if !again {
                return;
            },
        }
        match read(&client, &path).await {
            Ok(snapshot) => {
                tx.send_if_modified(|cur| {
                    let differs = *cur != snapshot;
                    *cur = snapshot;
                    differs
                });
            }
            Err(e) => {
                tracing::debug!(%path, error = %e, "node cache stops");
                return;
            }
        }
    }
}
