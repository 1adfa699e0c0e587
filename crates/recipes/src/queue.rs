//! A distributed FIFO queue: items are persistent-sequential nodes
//! `<path>/_c_<guid>-qn-<seq>` (the `qn-` prefix of ZooKeeper's own queue recipe, with Curator's
//! protected prefix so that a producer can recover a put cut off by a connection loss), taken
//! in sequence order by deleting them. This layout is not interoperable with Curator's
//! `DistributedQueue` (which names items `queue-<seq>` without protection).
//!
//! # Guarantees
//! - No duplicates: a put cut off by a connection loss looks for its own node (by guid) before
//!   trying again, and an item is handed to the one consumer whose delete succeeds.
//! - No loss while consumers and producers stay connected: an item stays until taken.
//! - FIFO: items are taken in the order the server created them, so one producer's items are
//!   taken in the order it put them.
//!
//! # Failure behaviour
//! - Connection loss during a put: if the item is found by its guid, the put is done; if not and
//!   no item was ever taken from the queue, it is put again; otherwise it may have been created
//!   and taken already, and [`DistributedQueue::put`] returns [`Error::OutcomeUnknown`] rather
//!   than risk a duplicate.
//! - Connection loss during a take's delete: after reconnecting, if the item still exists the
//!   delete is retried; if it is gone, this consumer cannot tell whether its own delete or
//!   another consumer's took it, and [`DistributedQueue::take`] returns
//!   [`Error::OutcomeUnknown`] (the item may be lost to this consumer, but is never handed out
//!   twice).
//! - A consumer that crashes after taking an item loses it (at-most-once delivery).
//! - Session expiry: [`Error::SessionEnded`]; items are persistent and stay in the queue.

use crate::error::Error;
use crate::sequence::{protected_prefix, sorted_by_sequence, uuid_v4};
use crate::session::{check_path, classify, ensure_path, retrying, wait_connected};
use client::{Client, CreateMode, CreateOptions};
use std::time::Duration;

/// The marker before the sequence in item names.
pub const ITEM_NAME: &str = "qn-";

/// A queue at one path (created on first put).
///
/// ```no_run
/// # async fn demo(zk: client::Client) -> Result<(), recipes::Error> {
/// let q = recipes::DistributedQueue::new(zk, "/queues/jobs")?;
/// q.put(b"job-1").await?;
/// assert_eq!(q.take().await?, b"job-1");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct DistributedQueue {
    client: Client,
    path: String,
}

impl DistributedQueue {
    /// A queue at `path`.
    pub fn new(client: Client, path: &str) -> Result<DistributedQueue, Error> {
        check_path(path)?;
        Ok(DistributedQueue {
            client,
            path: path.to_string(),
        })
    }

    /// Appends an item.
    pub async fn put(&self, data: &[u8]) -> Result<(), Error> {
        let client = &self.client;
        let prefix = protected_prefix(&uuid_v4());
        let base = format!("{}/{prefix}{ITEM_NAME}", self.path);
        let opts = CreateOptions::persistent().with_mode(CreateMode::PersistentSequential);
        loop {
            match client.create(&base, data, &opts).await {
                Ok(_) => return Ok(()),
                Err(client::Error::NoNode) => ensure_path(client, &self.path).await?,
                Err(client::Error::ConnectionLoss | client::Error::RequestTimeout) => {
                    if wait_connected(client).await.is_err() {
                        // The session ended with the create in flight: it may have been applied.
                        return Err(Error::OutcomeUnknown(self.path.clone()));
                    }
                    let children = retrying(client, || client.get_children(&self.path)).await?;
                    if children.iter().any(|c| c.starts_with(&prefix)) {
                        return Ok(());
                    }
                    // Not there: either never created (retry is safe) or created and already
                    // taken (retry would duplicate). Only if no item was ever taken can we tell.
                    if self.ever_taken().await? {
                        return Err(Error::OutcomeUnknown(self.path.clone()));
                    }
                }
                Err(e) => return Err(classify(client, e)),
            }
        }
    }

    /// Whether any item was ever removed from the queue: the parent's `cversion` counts every
    /// creation and deletion of a child, so it equals the number of children only if nothing
    /// was ever deleted.
    async fn ever_taken(&self) -> Result<bool, Error> {
        let stat = retrying(&self.client, || self.client.exists(&self.path)).await?;
        Ok(stat.is_some_and(|s| s.cversion != s.num_children))
    }

    /// Removes and returns the head item, if any.
    pub async fn poll(&self) -> Result<Option<Vec<u8>>, Error> {
        let client = &self.client;
        let children = match retrying(client, || client.get_children(&self.path)).await {
            Ok(c) => c,
            Err(Error::Client(client::Error::NoNode)) => return Ok(None),
            Err(e) => return Err(e),
        };
        self.take_first_of(children).await
    }

    /// Removes and returns the head item, waiting for one.
    pub async fn take(&self) -> Result<Vec<u8>, Error> {
        let client = &self.client;
        loop {
            let (children, watch) = match client.get_children_w(&self.path).await {
                Ok(r) => r,
                Err(client::Error::NoNode) => {
                    ensure_path(client, &self.path).await?;
                    continue;
                }
                Err(client::Error::ConnectionLoss | client::Error::RequestTimeout) => {
                    wait_connected(client).await?;
                    continue;
                }
                Err(e) => return Err(classify(client, e)),
            };
            if let Some(item) = self.take_first_of(children).await? {
                return Ok(item);
            }
            let ev = watch.await;
            if ev.event_type == client::EventType::None {
                return Err(classify(client, client::Error::SessionExpired));
            }
        }
    }

    /// Like [`DistributedQueue::take`], for at most `timeout`.
    pub async fn take_for(&self, timeout: Duration) -> Result<Option<Vec<u8>>, Error> {
        match tokio::time::timeout(timeout, self.take()).await {
            Ok(r) => r.map(Some),
            Err(_) => Ok(None),
        }
    }

    /// Tries the items in order until one is deleted by us.
    async fn take_first_of(&self, children: Vec<String>) -> Result<Option<Vec<u8>>, Error> {
        let client = &self.client;
        for name in sorted_by_sequence(children, ITEM_NAME) {
            let item = format!("{}/{name}", self.path);
            let (data, _) = match retrying(client, || client.get_data(&item)).await {
                Ok(r) => r,
                Err(Error::Client(client::Error::NoNode)) => continue,
                Err(e) => return Err(e),
            };
            loop {
                match client.delete(&item, None).await {
                    Ok(()) => return Ok(Some(data)),
                    Err(client::Error::NoNode) => break,
                    Err(client::Error::ConnectionLoss | client::Error::RequestTimeout) => {
                        if wait_connected(client).await.is_err() {
                            // The session ended with the delete in flight: it may have been
                            // applied, and then the item is gone from the queue.
                            return Err(Error::OutcomeUnknown(item));
                        }
                        if retrying(client, || client.exists(&item)).await?.is_none() {
                            return Err(Error::OutcomeUnknown(item));
                        }
                    }
                    Err(e) => return Err(classify(client, e)),
                }
            }
        }
        Ok(None)
    }

    /// How many items are queued now.
    pub async fn len(&self) -> Result<usize, Error> {
        match retrying(&self.client, || self.client.exists(&self.path)).await? {
            Some(stat) => Ok(stat.num_children.max(0) as usize),
            None => Ok(0),
        }
    }

    /// Whether the queue is empty now.
    pub async fn is_empty(&self) -> Result<bool, Error> {
        Ok(self.len().await? == 0)
    }
}
