//! A double barrier, as in ZooKeeper's recipe and Curator's `DistributedDoubleBarrier`: a set
//! number of participants enter together and leave together. Each participant is an ephemeral
//! node `<path>/<id>`; the one whose arrival completes the count creates `<path>/ready`, which
//! releases everyone waiting in [`DoubleBarrier::enter`].
//!
//! # Guarantees
//! - [`DoubleBarrier::enter`] returns only once `count` participants have entered (their nodes
//!   existed together at some point).
//! - [`DoubleBarrier::leave`] returns only once every participant has left (all their nodes are
//!   gone). Leaving watches one node at a time (the lowest waits on the highest, the others on the
//!   lowest), so departures do not wake everyone.
//!
//! # Failure behaviour
//! - Connection loss: waits for the session to be re-attached and re-reads.
//! - A participant whose session expires before `ready` exists is no longer counted; after
//!   `ready` exists, its departure counts as leaving (its node is gone), so the others are not
//!   stuck in `leave`.
//! - Session expiry of this participant: [`Error::SessionEnded`].
//! - The last to leave deletes `ready`, so the barrier can be used again.
//!
//! This module also holds the single barrier [`Barrier`] (set, remove, wait), Curator's
//! `DistributedBarrier`.

mod single;

pub use single::Barrier;

use crate::error::Error;
use crate::session::{check_path, classify, ensure_path, retrying, wait_connected};
use client::{Client, CreateOptions, EventType};
use std::time::Duration;

/// The node whose existence opens the barrier.
pub const READY_NODE: &str = "ready";

/// One participant's handle on a double barrier.
///
/// ```no_run
/// # async fn demo(zk: client::Client) -> Result<(), recipes::Error> {
/// let barrier = recipes::DoubleBarrier::new(zk, "/barriers/step-1", "worker-3", 5)?;
/// barrier.enter().await?;
/// // ... compute with the 4 others ...
/// barrier.leave().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct DoubleBarrier {
    client: Client,
    path: String,
    id: String,
    count: usize,
    ours: String,
    ready: String,
}

impl DoubleBarrier {
    /// A barrier at `path` for `count` participants, this one named `id`.
    pub fn new(client: Client, path: &str, id: &str, count: usize) -> Result<DoubleBarrier, Error> {
        check_path(path)?;
        if id.is_empty() || id.contains('/') || id == READY_NODE || count == 0 {
            return Err(Error::InvalidArgument(format!(
                "bad barrier participant {id:?} or count {count}"
            )));
        }
        Ok(DoubleBarrier {
            client,
            path: path.to_string(),
            id: id.to_string(),
            count,
            ours: format!("{path}/{id}"),
            ready: format!("{path}/{READY_NODE}"),
        })
    }

    /// Enters and waits for the others.
    pub async fn enter(&self) -> Result<(), Error> {
        let client = &self.client;
        ensure_path(client, &self.path).await?;
        let ephemeral = CreateOptions::ephemeral();
        let persistent = CreateOptions::persistent();
        match retrying(client, || client.create(&self.ours, b"", &ephemeral)).await {
            // A retry after a connection loss finds our own node.
            Ok(_) | Err(Error::Client(client::Error::NodeExists)) => {}
            Err(e) => return Err(e),
        }
        loop {
            let watch = match client.exists_w(&self.ready).await {
                Ok((Some(_), _)) => return Ok(()),
                Ok((None, w)) => w,
                Err(client::Error::ConnectionLoss | client::Error::RequestTimeout) => {
                    wait_connected(client).await?;
                    continue;
                }
                Err(e) => return Err(classify(client, e)),
            };
            if self.participants().await?.len() >= self.count {
                match retrying(client, || client.create(&self.ready, b"", &persistent)).await {
                    Ok(_) | Err(Error::Client(client::Error::NodeExists)) => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
            let ev = watch.await;
            match ev.event_type {
                // Opened: return at once, since the ready node may be gone again by the time
                // we could look (everyone else may already have left).
                EventType::NodeCreated => return Ok(()),
                EventType::None => return Err(classify(client, client::Error::SessionExpired)),
                _ => {}
            }
        }
    }

    /// Like [`DoubleBarrier::enter`], for at most `timeout`; `false` (and this participant's
    /// node deleted) if the others did not arrive in time.
    pub async fn enter_for(&self, timeout: Duration) -> Result<bool, Error> {
        match tokio::time::timeout(timeout, self.enter()).await {
            Ok(r) => r.map(|()| true),
            Err(_) => match retrying(&self.client, || self.client.delete(&self.ours, None)).await {
                Ok(()) | Err(Error::Client(client::Error::NoNode)) => Ok(false),
                Err(e) => Err(e),
            },
        }
    }

    /// Leaves and waits until everyone has left.
    pub async fn leave(&self) -> Result<(), Error> {
        let client = &self.client;
        loop {
            let mut children = self.participants().await?;
            if children.is_empty() {
                break;
            }
            children.sort();
            let is_ours = |c: &String| *c == self.id;
            let (lowest, highest) = (&children[0], &children[children.len() - 1]);
            let wait_on = if children.len() == 1 && is_ours(lowest) {
                self.delete_ours().await?;
                continue;
            } else if is_ours(lowest) {
                highest.clone()
            } else {
                if children.iter().any(is_ours) {
                    self.delete_ours().await?;
                }
                lowest.clone()
            };
            let node = format!("{}/{wait_on}", self.path);
            match client.exists_w(&node).await {
                Ok((Some(_), w)) => {
                    if w.await.event_type == EventType::None {
                        return Err(classify(client, client::Error::SessionExpired));
                    }
                }
                Ok((None, _)) => {}
                Err(client::Error::ConnectionLoss | client::Error::RequestTimeout) => {
                    wait_connected(client).await?
                }
                Err(e) => return Err(classify(client, e)),
            }
        }
        // Everyone is out: reset the barrier (whoever gets there first).
        match retrying(client, || client.delete(&self.ready, None)).await {
            Ok(()) | Err(Error::Client(client::Error::NoNode)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn delete_ours(&self) -> Result<(), Error> {
        match retrying(&self.client, || self.client.delete(&self.ours, None)).await {
            Ok(()) | Err(Error::Client(client::Error::NoNode)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The participants' names, without the ready node.
    async fn participants(&self) -> Result<Vec<String>, Error> {
        let children = match retrying(&self.client, || self.client.get_children(&self.path)).await {
            Ok(c) => c,
            Err(Error::Client(client::Error::NoNode)) => Vec::new(),
            Err(e) => return Err(e),
        };
        Ok(children.into_iter().filter(|c| c != READY_NODE).collect())
    }
}
