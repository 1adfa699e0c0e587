//! A single barrier, as Curator's `DistributedBarrier`: while the barrier node exists,
//! everyone calling [`Barrier::wait`] waits; removing it releases them all.
//!
//! # Guarantees
//! - [`Barrier::wait`] returns only after it saw the barrier node absent: at once if it was
//!   never set or is removed, else when the deletion event arrives.
//! - The node is persistent: a barrier set by a process that then crashes stays set until
//!   someone removes it. Missing parents are created as containers.
//!
//! # Failure behaviour
//! - Connection loss while waiting: waits for the session to be re-attached and looks again
//!   (the client re-registers the watch, and the server reports a deletion that happened
//!   meanwhile).
//! - Session expiry or close while waiting: [`Error::SessionEnded`].

use crate::error::Error;
use crate::session::{check_path, classify, ensure_path, retrying, wait_connected};
use client::{Client, CreateOptions, EventType};
use std::time::Duration;

/// A barrier at one path.
///
/// ```no_run
/// # async fn demo(zk: client::Client) -> Result<(), recipes::Error> {
/// let gate = recipes::Barrier::new(zk, "/barriers/deploy")?;
/// gate.set().await?;
/// // ... elsewhere, workers call gate.wait() and block ...
/// gate.remove().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Barrier {
    client: Client,
    path: String,
}

impl Barrier {
    /// A barrier at `path`.
    pub fn new(client: Client, path: &str) -> Result<Barrier, Error> {
        check_path(path)?;
        Ok(Barrier {
            client,
            path: path.to_string(),
        })
    }

    /// Sets the barrier (creates its node); setting a set barrier is fine.
    pub async fn set(&self) -> Result<(), Error> {
        let client = &self.client;
        let opts = CreateOptions::persistent();
        loop {
            match retrying(client, || client.create(&self.path, b"", &opts)).await {
                Ok(_) | Err(Error::Client(client::Error::NodeExists)) => return Ok(()),
                Err(Error::Client(client::Error::NoNode)) => {
                    let parent = match self.path.rfind('/') {
                        Some(i) if i > 0 => &self.path[..i],
                        _ => return Err(Error::Client(client::Error::NoNode)),
                    };
                    ensure_path(client, parent).await?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Removes the barrier, releasing every waiter; removing an unset barrier is fine.
    pub async fn remove(&self) -> Result<(), Error> {
        match retrying(&self.client, || self.client.delete(&self.path, None)).await {
            Ok(()) | Err(Error::Client(client::Error::NoNode)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Whether the barrier is set now (a round trip).
    pub async fn is_set(&self) -> Result<bool, Error> {
        Ok(retrying(&self.client, || self.client.exists(&self.path))
            .await?
            .is_some())
    }

    /// Waits until the barrier is not set.
    pub async fn wait(&self) -> Result<(), Error> {
        let client = &self.client;
        loop {
            let watch = match client.exists_w(&self.path).await {
                Ok((None, _)) => return Ok(()),
                Ok((Some(_), w)) => w,
                Err(client::Error::ConnectionLoss | client::Error::RequestTimeout) => {
                    wait_connected(client).await?;
                    continue;
                }
                Err(e) => return Err(classify(client, e)),
            };
            match watch.await.event_type {
                // Released: return at once, since the barrier may be set again by the time we
                // could look.
                EventType::NodeDeleted => return Ok(()),
                EventType::None => return Err(classify(client, client::Error::SessionExpired)),
                _ => {}
            }
        }
    }

    /// Like [`Barrier::wait`], for at most `timeout`; `false` if still set by then.
    pub async fn wait_for(&self, timeout: Duration) -> Result<bool, Error> {
        match tokio::time::timeout(timeout, self.wait()).await {
            Ok(r) => r.map(|()| true),
            Err(_) => Ok(false),
        }
    }
}
