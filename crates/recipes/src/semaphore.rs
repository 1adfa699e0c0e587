//! A counting semaphore across processes, in the layout of Curator's `InterProcessSemaphoreV2`.
//!
//! # Layout
//! Under the semaphore path: `locks/`, an [`InterProcessMutex`] that lets one acquirer at a
//! time count the leases, and `leases/`, holding one ephemeral-sequential node
//! `_c_<guid>-lease-<seq>` per lease (Curator's protected mode). To acquire a lease, a process
//! takes the mutex, creates its lease node, and waits (still holding the mutex, watching the
//! lease children) until at most `max_leases` lease nodes exist; then it releases the mutex.
//! Missing parents are created as containers. Rust and Curator processes can share one
//! semaphore if they agree on `max_leases` (Curator's convention: nothing stored checks it).
//!
//! # Guarantees
//! - While every holder's session is alive, at most `max_leases` leases are held at once: only
//!   the mutex holder can be waiting with a lease node, so every other lease node is a held
//!   lease, and it proceeds only when the count including its own is within the limit.
//! - Mostly fair: acquirers are served in the order they queued on the mutex.
//! - A lease is freed by [`Lease::release`], by dropping it (in the background, inside a tokio
//!   runtime), or when its session ends (closed, or expired after a crash).
//!
//! # Failure behaviour
//! - Connection loss while waiting: ridden out, as for the mutex; a lease create cut off by the
//!   loss is found again through its guid.
//! - Session expiry or close: the session's lease nodes (and its mutex node, if it was
//!   acquiring) disappear; the next acquirer proceeds once the server deletes them. A holder
//!   learns it through [`Lease::lost`], and should stop using the resource as soon as
//!   [`Lease::lost_or_suspended`] resolves. An acquirer whose session ends gets
//!   [`Error::SessionEnded`].
//! - Timeout: `None`, with every lease node of the attempt deleted (also those of a
//!   multi-lease acquisition that got only some of its leases), and the mutex released.

use crate::error::Error;
use crate::held::HeldNode;
use crate::lock::{InterProcessMutex, LockGuard};
use crate::protected::{self, ProtectedNode};
use crate::session::{check_path, classify, retrying, wait_connected};
use client::{Client, EventType};
use std::time::Duration;
use tokio::time::Instant;

/// The child of the semaphore path holding the mutex (Curator's `LOCK_PARENT`).
pub const LOCK_PARENT: &str = "locks";
/// The child of the semaphore path holding the leases (Curator's `LEASE_PARENT`).
pub const LEASE_PARENT: &str = "leases";
/// The marker before the sequence in lease node names (Curator's `LEASE_BASE_NAME`).
pub const LEASE_NAME: &str = "lease-";

/// A semaphore of `max_leases` leases at one path, used through one client session.
///
/// ```no_run
/// # async fn demo(zk: client::Client) -> Result<(), recipes::Error> {
/// let db_slots = recipes::InterProcessSemaphore::new(zk, "/semaphores/db", 4)?;
/// let lease = db_slots.acquire().await?;
/// // ... use one of the 4 connections ...
/// lease.release().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct InterProcessSemaphore {
    client: Client,
    leases_path: String,
    max_leases: usize,
    data: Vec<u8>,
    mutex: InterProcessMutex,
}

impl InterProcessSemaphore {
    /// A semaphore at `path` with `max_leases` leases (at least 1). Every user of the path must
    /// use the same number.
    pub fn new(
        client: Client,
        path: &str,
        max_leases: usize,
    ) -> Result<InterProcessSemaphore, Error> {
        check_path(path)?;
        if max_leases == 0 {
            return Err(Error::InvalidArgument(
                "a semaphore needs at least one lease".into(),
            ));
        }
        let mutex = InterProcessMutex::new(client.clone(), &format!("{path}/{LOCK_PARENT}"))?;
        Ok(InterProcessSemaphore {
            client,
            leases_path: format!("{path}/{LEASE_PARENT}"),
            max_leases,
            data: Vec::new(),
            mutex,
        })
    }

    /// Stores `data` in this process's lease nodes (Curator's `setNodeData`).
    pub fn with_node_data(mut self, data: &[u8]) -> InterProcessSemaphore {
        self.data = data.to_vec();
        self
    }

    /// The number of leases.
    pub fn max_leases(&self) -> usize {
        self.max_leases
    }

    /// Waits for one lease.
    pub async fn acquire(&self) -> Result<Lease, Error> {
        let mut leases = self.acquire_until(1, None).await?.unwrap_or_default();
        leases
            .pop()
            .ok_or_else(|| Error::InvalidArgument("acquire ended without a lease".into()))
    }

    /// Waits at most `timeout` for one lease; `None` if none was free in time.
    pub async fn try_acquire_for(&self, timeout: Duration) -> Result<Option<Lease>, Error> {
        let leases = self
            .acquire_until(1, Some(Instant::now() + timeout))
            .await?;
        Ok(leases.and_then(|mut l| l.pop()))
    }

    /// Waits at most `timeout` (or without limit for `None`) for `count` leases, taken one at
    /// a time; `None` if they were not all acquired in time, with the ones already taken
    /// returned.
    pub async fn acquire_many(
        &self,
        count: usize,
        timeout: Option<Duration>,
    ) -> Result<Option<Vec<Lease>>, Error> {
        if count == 0 || count > self.max_leases {
            return Err(Error::InvalidArgument(format!(
                "cannot acquire {count} of {} leases",
                self.max_leases
            )));
        }
        self.acquire_until(count, timeout.map(|t| Instant::now() + t))
            .await
    }

    /// The names of the current lease nodes (held leases and at most one waiting acquirer).
    pub async fn participant_nodes(&self) -> Result<Vec<String>, Error> {
        match retrying(&self.client, || self.client.get_children(&self.leases_path)).await {
            Ok(c) => Ok(c),
            Err(Error::Client(client::Error::NoNode)) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    async fn acquire_until(
        &self,
        count: usize,
        deadline: Option<Instant>,
    ) -> Result<Option<Vec<Lease>>, Error> {
        let mut leases = Vec::with_capacity(count);
        while leases.len() < count {
            // On a timeout or an error the leases taken so far are dropped: deleted.
            match self.acquire_one(deadline).await? {
                Some(lease) => leases.push(lease),
                None => return Ok(None),
            }
        }
        Ok(Some(leases))
    }

    /// Curator's `internalAcquire1Lease`: count the leases while holding the mutex.
    async fn acquire_one(&self, deadline: Option<Instant>) -> Result<Option<Lease>, Error> {
        let guard = match deadline {
            None => Some(self.mutex.acquire().await?),
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                self.mutex.try_acquire_for(left).await?
            }
        };
        let Some(guard) = guard else {
            return Ok(None);
        };
        let outcome = self.lease_under_mutex(deadline).await;
        release_mutex(guard).await;
        outcome
    }

    async fn lease_under_mutex(&self, deadline: Option<Instant>) -> Result<Option<Lease>, Error> {
        let client = &self.client;
        let node = protected::create(client, &self.leases_path, LEASE_NAME, &self.data).await?;
        match self.wait_for_room(&node, deadline).await {
            Ok(true) => Ok(Some(Lease {
                node: HeldNode::new(client.clone(), node.path, node.czxid),
            })),
            Ok(false) => {
                protected::delete(client, &node.path).await?;
                Ok(None)
            }
            Err(e) => {
                if let Err(d) = protected::delete(client, &node.path).await {
                    tracing::debug!(path = %node.path, error = %d, "cannot delete lease node");
                }
                Err(e)
            }
        }
    }

    /// Waits until the lease nodes, ours included, fit in `max_leases`: `true` then, `false` at
    /// the deadline.
    async fn wait_for_room(
        &self,
        node: &ProtectedNode,
        deadline: Option<Instant>,
    ) -> Result<bool, Error> {
        let client = &self.client;
        loop {
            let (children, watch) = match client.get_children_w(&self.leases_path).await {
                Ok(r) => r,
                Err(client::Error::ConnectionLoss | client::Error::RequestTimeout) => {
                    wait_connected(client).await?;
                    continue;
                }
                Err(e) => return Err(classify(client, e)),
            };
            if !children.contains(&node.name) {
                return Err(Error::NodeLost(node.path.clone()));
            }
            if children.len() <= self.max_leases {
                return Ok(true);
            }
            let ev = match deadline {
                None => watch.await,
                Some(d) => match tokio::time::timeout_at(d, watch).await {
                    Ok(ev) => ev,
                    Err(_) => return Ok(false),
                },
            };
            if ev.event_type == EventType::None {
                return Err(classify(client, client::Error::SessionExpired));
            }
        }
    }
}

/// Releases the counting mutex; a mutex already gone (session ended) needs no release.
async fn release_mutex(guard: LockGuard) {
    if let Err(e) = guard.release().await {
        tracing::debug!(error = %e, "cannot release the semaphore's mutex");
    }
}

/// A held lease. Release it with [`Lease::release`]; dropping it unreleased deletes its node in
/// the background (inside a tokio runtime), else it is freed when the session ends.
#[derive(Debug)]
#[must_use = "the lease is returned when released or dropped"]
pub struct Lease {
    node: HeldNode,
}

impl Lease {
    /// The path of the lease node.
    pub fn node_path(&self) -> &str {
        self.node.path()
    }

    /// Whether the lease node still exists and belongs to this session (a round trip).
    pub async fn is_held(&self) -> Result<bool, Error> {
        self.node.is_held().await
    }

    /// Resolves once the lease is lost (its node deleted or the session ended).
    pub async fn lost(&self) {
        self.node.lost().await
    }

    /// Resolves once the lease may be lost: lost, or the client disconnected.
    pub async fn lost_or_suspended(&self) {
        self.node.lost_or_suspended().await
    }

    /// Returns the lease. [`Error::NodeLost`] if its node was already gone.
    pub async fn release(self) -> Result<(), Error> {
        self.node.release().await
    }
}
