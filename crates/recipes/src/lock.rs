//! An exclusive lock without herd effect, in the layout of Curator's `InterProcessMutex`.
//!
//! # Layout
//! Each contender creates an ephemeral-sequential node `<lockpath>/_c_<guid>-lock-<seq>`
//! (Curator's protected mode: `_c_` + a random UUID + `-`, then `lock-`). The contenders are
//! ordered by sequence; the first holds the lock. Every other contender watches only the node
//! just before its own, so a release wakes one waiter, not all (no herd effect). Missing parents
//! are created as containers. Rust and Curator contenders can share one lock path.
//!
//! # Guarantees
//! - While the holder's session is alive and its node exists, no other contender of this
//!   layout holds the lock.
//! - Every holder gets a fencing token, its lock node's creation zxid (`czxid`): tokens of
//!   successive holders strictly increase, so a resource that remembers the highest token seen
//!   can refuse a stale holder.
//! - Not reentrant: acquiring twice through the same session waits for itself (deadlock), unlike
//!   Curator's per-thread reentrancy. Hold one [`LockGuard`] per critical section.
//!
//! # Failure behaviour
//! - Connection loss while waiting: the waiter waits for the session to be re-attached and
//!   re-reads the contenders; a create cut off by the loss is recovered through the guid, so no
//!   orphan node blocks the lock.
//! - Session expiry or close: the holder's node disappears, and the next waiter takes over as
//!   soon as the server deletes it. The old holder learns it through [`LockGuard::lost`] once
//!   its client hears of the node's deletion or the session's end. **Between the expiry and
//!   that notification the old holder may still believe it holds the lock**: this is what the
//!   fencing token is for. A holder cut off from every server cannot learn of the expiry until
//!   it reaches a server again; it should stop acting as the holder as soon as
//!   [`LockGuard::lost_or_suspended`] resolves. A waiter whose session ends gets
//!   [`Error::SessionEnded`].
//! - Timeout ([`InterProcessMutex::try_acquire_for`]): the contender's node is deleted before
//!   returning `None`. On any error the contender's node is deleted (best effort).

use crate::error::Error;
use crate::held::HeldNode;
use crate::protected::{self, ProtectedNode};
use crate::sequence::sorted_by_sequence;
use crate::session::{check_path, classify, retrying, wait_connected};
use client::Client;
use std::time::Duration;
use tokio::time::Instant;

/// The marker before the sequence in lock node names (Curator's `LockInternals` lock name).
pub const LOCK_NAME: &str = "lock-";

/// A lock on one path, used through one client session.
///
/// ```no_run
/// # async fn demo(zk: client::Client) -> Result<(), recipes::Error> {
/// use std::time::Duration;
/// let mutex = recipes::InterProcessMutex::new(zk, "/locks/batch")?;
/// match mutex.try_acquire_for(Duration::from_secs(2)).await? {
///     Some(guard) => guard.release().await?,
///     None => println!("busy"),
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct InterProcessMutex {
    client: Client,
    path: String,
    data: Vec<u8>,
}

/// How an acquisition attempt ended.
enum Outcome {
    Held,
    TimedOut,
}

impl InterProcessMutex {
    /// A lock at `path` (created on first use).
    pub fn new(client: Client, path: &str) -> Result<InterProcessMutex, Error> {
        check_path(path)?;
        Ok(InterProcessMutex {
            client,
            path: path.to_string(),
            data: Vec::new(),
        })
    }

    /// Stores `data` in this contender's lock node (Curator stores the host address there),
    /// for operators looking at who holds or waits.
    pub fn with_node_data(mut self, data: &[u8]) -> InterProcessMutex {
        self.data = data.to_vec();
        self
    }

    /// The lock path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Waits until this contender holds the lock.
    pub async fn acquire(&self) -> Result<LockGuard, Error> {
        match self.acquire_until(None).await? {
            Some(g) => Ok(g),
            // Without a deadline the loop only ends holding the lock or with an error.
            None => Err(Error::InvalidArgument(
                "acquire ended without the lock".into(),
            )),
        }
    }

    /// Waits at most `timeout` for the lock; `None` if it was not acquired in time (this
    /// contender's node is then deleted).
    pub async fn try_acquire_for(&self, timeout: Duration) -> Result<Option<LockGuard>, Error> {
        self.acquire_until(Some(Instant::now() + timeout)).await
    }

    async fn acquire_until(&self, deadline: Option<Instant>) -> Result<Option<LockGuard>, Error> {
        let node = protected::create(&self.client, &self.path, LOCK_NAME, &self.data).await?;
        let outcome = self.wait_turn(&node, deadline).await;
        match outcome {
            Ok(Outcome::Held) => Ok(Some(LockGuard {
                node: HeldNode::new(self.client.clone(), node.path, node.czxid),
            })),
            Ok(Outcome::TimedOut) => {
                protected::delete(&self.client, &node.path).await?;
                Ok(None)
            }
            Err(e) => {
                if let Err(d) = protected::delete(&self.client, &node.path).await {
                    tracing::debug!(path = %node.path, error = %d, "cannot delete lock node");
                }
                Err(e)
            }
        }
    }

    /// The loop of Curator's `LockInternals.internalLockLoop`: hold if first, else watch the
    /// predecessor and look again when it goes.
    async fn wait_turn(
        &self,
        node: &ProtectedNode,
        deadline: Option<Instant>,
    ) -> Result<Outcome, Error> {
        let client = &self.client;
        loop {
            let children = retrying(client, || client.get_children(&self.path)).await?;
            let sorted = sorted_by_sequence(children, LOCK_NAME);
            let Some(ours) = sorted.iter().position(|c| *c == node.name) else {
                return Err(Error::NodeLost(node.path.clone()));
            };
            if ours == 0 {
                return Ok(Outcome::Held);
            }
            let predecessor = format!("{}/{}", self.path, sorted[ours - 1]);
            // getData rather than exists: a predecessor already gone leaves no creation watch.
            let watch = match client.get_data_w(&predecessor).await {
                Ok((_, _, w)) => w,
                Err(client::Error::NoNode) => continue,
                Err(client::Error::ConnectionLoss | client::Error::RequestTimeout) => {
                    wait_connected(client).await?;
                    continue;
                }
                Err(e) => return Err(classify(client, e)),
            };
            match deadline {
                None => drop(watch.await),
                Some(d) => {
                    if tokio::time::timeout_at(d, watch).await.is_err() {
                        return Ok(Outcome::TimedOut);
                    }
                }
            }
        }
    }
}

/// The held lock. Release it with [`LockGuard::release`]; dropping it unreleased deletes the
/// lock node in the background (when inside a tokio runtime), else the lock is freed when the
/// session ends.
#[derive(Debug)]
#[must_use = "the lock is released when the guard is released or dropped"]
pub struct LockGuard {
    node: HeldNode,
}

impl LockGuard {
    /// The fencing token: the lock node's creation zxid. Successive holders of a lock get
    /// strictly increasing tokens.
    pub fn fencing_token(&self) -> i64 {
        self.node.token()
    }

    /// The path of this holder's lock node.
    pub fn node_path(&self) -> &str {
        self.node.path()
    }

    /// Whether the lock node still exists and belongs to this session (a read, so a round
    /// trip; the answer may be stale by the time it arrives).
    pub async fn is_held(&self) -> Result<bool, Error> {
        self.node.is_held().await
    }

    /// Resolves once the lock is lost: the node was deleted (session expired or closed, or an
    /// operator deleted it) or the session ended. Never resolves while the lock is held.
    pub async fn lost(&self) {
        self.node.lost().await
    }

    /// Resolves once the lock *may* be lost: like [`LockGuard::lost`], and also as soon as the
    /// client is disconnected (the session may expire meanwhile, and the holder cannot tell).
    /// This is Curator's advice for `SUSPENDED`: stop acting as the holder until sure.
    pub async fn lost_or_suspended(&self) {
        self.node.lost_or_suspended().await
    }

    /// Releases the lock by deleting its node. [`Error::NodeLost`] if the node was already
    /// gone: the lock had been lost before the release.
    pub async fn release(self) -> Result<(), Error> {
        self.node.release().await
    }
}
