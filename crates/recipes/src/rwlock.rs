//! A shared read/write lock without herd effect, in the layout of Curator's
//! `InterProcessReadWriteLock`.
//!
//! # Layout
//! Readers and writers queue under one lock path, each with an ephemeral-sequential node in
//! Curator's protected form: `<lockpath>/_c_<guid>-__READ__<seq>` for a reader and
//! `<lockpath>/_c_<guid>-__WRIT__<seq>` for a writer. The queue is ordered by sequence, across
//! both kinds. A writer holds the lock when it is first in the queue; a reader holds it when no
//! writer is ahead of it. A waiting writer watches only the node just before its own; a waiting
//! reader watches only the nearest writer ahead of it, so a departure wakes only contenders
//! whose turn it may be (no herd effect). Missing parents are created as containers. Rust and
//! Curator contenders can share one lock path.
//!
//! # Guarantees
//! - While the holders' sessions are alive and their nodes exist, a writer holds the lock alone:
//!   no other writer and no reader holds it at the same time. Any number of readers hold it
//!   together.
//! - Fair: contenders get the lock in the order of their nodes. A reader that arrives after a
//!   waiting writer waits for that writer, so a stream of readers cannot starve writers.
//! - A writer may downgrade to a reader ([`WriteGuard::downgrade`], or Curator's way: take the
//!   read lock with [`WriteGuard::acquire_read`] while holding the write lock, then release the
//!   write lock) without letting any writer in between. The read node made this way carries the
//!   writer's sequence number, so it keeps the writer's place in the queue. (Curator's own
//!   downgrade gives its read node a new sequence number, so a writer that queued while the
//!   write lock was held gets the write lock while the downgraded reader still reads; Curator
//!   contenders sharing a path with ours see our downgraded reader in the writer's place and
//!   wait for it.)
//! - Each guard carries a fencing token, its node's creation zxid; successive writers' tokens
//!   strictly increase.
//! - Not reentrant: a second acquisition through the same session queues behind the first.
//!   Upgrading (a reader asking for the write lock) deadlocks, as in Curator.
//!
//! # Failure behaviour
//! As for [`crate::lock`]: connection loss while waiting is ridden out (a create cut off by the
//! loss is found again through its guid); a holder's session that expires or closes frees its
//! node, and the next contenders proceed once the server deletes it. The old holder learns of it
//! through `lost()` once its client hears of it, and should stop acting as a holder as soon as
//! `lost_or_suspended()` resolves (on the first disconnect). A waiter whose session ends gets
//! [`Error::SessionEnded`]; on a timeout or any error the waiter's node is deleted.

use crate::error::Error;
use crate::held::HeldNode;
use crate::protected::{self, ProtectedNode};
use crate::sequence::{protected_prefix, sequence_of, uuid_v4};
use crate::session::{check_path, classify, retrying, wait_connected};
use client::{Client, CreateOptions};
use std::time::Duration;
use tokio::time::Instant;

/// The marker before the sequence in reader node names (Curator's `READ_LOCK_NAME`).
pub const READ_LOCK_NAME: &str = "__READ__";
/// The marker before the sequence in writer node names (Curator's `WRITE_LOCK_NAME`).
pub const WRITE_LOCK_NAME: &str = "__WRIT__";

/// Which side of the lock a contender wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Read,
    Write,
}

impl Side {
    fn marker(self) -> &'static str {
        match self {
            Side::Read => READ_LOCK_NAME,
            Side::Write => WRITE_LOCK_NAME,
        }
    }
}

/// A lock node's place in the queue: its sequence and side; `None` for unrelated children.
fn classify_node(name: &str) -> Option<(u64, Side)> {
    // A guid is hex and dashes, so at most one marker can appear in a name.
    if let Some(seq) = sequence_of(name, WRITE_LOCK_NAME) {
        return Some((seq, Side::Write));
    }
    sequence_of(name, READ_LOCK_NAME).map(|seq| (seq, Side::Read))
}

/// The lock nodes among `children`, in queue order. Equal sequences (a downgraded reader next
/// to its writer node) are ordered by name, which only their owner cares about.
fn queue(children: Vec<String>) -> Vec<(String, Side)> {
    let mut q: Vec<(u64, String, Side)> = children
        .into_iter()
        .filter_map(|c| classify_node(&c).map(|(seq, side)| (seq, c, side)))
        .collect();
    q.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    q.into_iter().map(|(_, name, side)| (name, side)).collect()
}

/// What a contender at `ours` in `queue` must wait for: `None` if it holds the lock, else the
/// node to watch (a writer: its predecessor; a reader: the nearest writer ahead).
fn blocker(queue: &[(String, Side)], ours: usize) -> Option<&str> {
    let side = queue[ours].1;
    match side {
        Side::Write => ours.checked_sub(1).map(|i| queue[i].0.as_str()),
        Side::Read => queue[..ours]
            .iter()
            .rev()
            .find(|(_, s)| *s == Side::Write)
            .map(|(n, _)| n.as_str()),
    }
}

/// A read/write lock on one path, used through one client session.
///
/// ```no_run
/// # async fn demo(zk: client::Client) -> Result<(), recipes::Error> {
/// let lock = recipes::ReadWriteLock::new(zk, "/locks/catalog")?;
/// let w = lock.acquire_write().await?;
/// // ... update the catalog, then keep reading it without letting a writer in ...
/// let r = w.downgrade().await?;
/// r.release().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ReadWriteLock {
    client: Client,
    path: String,
    data: Vec<u8>,
}

impl ReadWriteLock {
    /// A read/write lock at `path` (created on first use).
    pub fn new(client: Client, path: &str) -> Result<ReadWriteLock, Error> {
        check_path(path)?;
        Ok(ReadWriteLock {
            client,
            path: path.to_string(),
            data: Vec::new(),
        })
    }

    /// Stores `data` in this contender's lock nodes (Curator's `lockData`).
    pub fn with_node_data(mut self, data: &[u8]) -> ReadWriteLock {
        self.data = data.to_vec();
        self
    }

    /// The lock path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Waits until this contender holds the read lock.
    pub async fn acquire_read(&self) -> Result<ReadGuard, Error> {
        let node = self.acquire_until(Side::Read, None).await?;
        Ok(ReadGuard {
            node: required(node)?,
        })
    }

    /// Waits at most `timeout` for the read lock; `None` (and no node left behind) if not
    /// acquired in time.
    pub async fn try_acquire_read_for(
        &self,
        timeout: Duration,
    ) -> Result<Option<ReadGuard>, Error> {
        let node = self
            .acquire_until(Side::Read, Some(Instant::now() + timeout))
            .await?;
        Ok(node.map(|node| ReadGuard { node }))
    }

    /// Waits until this contender holds the write lock.
    pub async fn acquire_write(&self) -> Result<WriteGuard, Error> {
        let node = self.acquire_until(Side::Write, None).await?;
        self.write_guard(required(node)?)
    }

    /// Waits at most `timeout` for the write lock; `None` (and no node left behind) if not
    /// acquired in time.
    pub async fn try_acquire_write_for(
        &self,
        timeout: Duration,
    ) -> Result<Option<WriteGuard>, Error> {
        let node = self
            .acquire_until(Side::Write, Some(Instant::now() + timeout))
            .await?;
        node.map(|n| self.write_guard(n)).transpose()
    }

    fn write_guard(&self, node: HeldNode) -> Result<WriteGuard, Error> {
        let name = node.path().rsplit('/').next().unwrap_or_default();
        let Some((seq, Side::Write)) = classify_node(name) else {
            return Err(Error::Malformed {
                path: node.path().to_string(),
                reason: "write lock node without a write sequence".into(),
            });
        };
        Ok(WriteGuard {
            lock: self.clone(),
            seq,
            node,
        })
    }

    async fn acquire_until(
        &self,
        side: Side,
        deadline: Option<Instant>,
    ) -> Result<Option<HeldNode>, Error> {
        let node = protected::create(&self.client, &self.path, side.marker(), &self.data).await?;
        match self.wait_turn(&node, deadline).await {
            Ok(true) => Ok(Some(HeldNode::new(
                self.client.clone(),
                node.path,
                node.czxid,
            ))),
            Ok(false) => {
                protected::delete(&self.client, &node.path).await?;
                Ok(None)
            }
            Err(e) => {
                if let Err(d) = protected::delete(&self.client, &node.path).await {
                    tracing::debug!(path = %node.path, error = %d, "cannot delete rwlock node");
                }
                Err(e)
            }
        }
    }

    /// Curator's lock loop with the read/write predicates: `true` once held, `false` at the
    /// deadline.
    async fn wait_turn(
        &self,
        node: &ProtectedNode,
        deadline: Option<Instant>,
    ) -> Result<bool, Error> {
        let client = &self.client;
        loop {
            let children = retrying(client, || client.get_children(&self.path)).await?;
            let q = queue(children);
            let Some(ours) = q.iter().position(|(n, _)| *n == node.name) else {
                return Err(Error::NodeLost(node.path.clone()));
            };
            let Some(blocking) = blocker(&q, ours) else {
                return Ok(true);
            };
            let blocking = format!("{}/{blocking}", self.path);
            // getData rather than exists: a node already gone leaves no creation watch behind.
            let watch = match client.get_data_w(&blocking).await {
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
                        return Ok(false);
                    }
                }
            }
        }
    }
}

/// An acquisition without deadline ends holding the lock or with an error.
fn required(node: Option<HeldNode>) -> Result<HeldNode, Error> {
    node.ok_or_else(|| Error::InvalidArgument("acquire ended without the lock".into()))
}

/// A held read lock. Dropping it unreleased deletes its node in the background (inside a tokio
/// runtime), else the lock is freed when the session ends.
#[derive(Debug)]
#[must_use = "the lock is released when the guard is released or dropped"]
pub struct ReadGuard {
    node: HeldNode,
}

/// A held write lock. Dropping it unreleased deletes its node in the background (inside a tokio
/// runtime), else the lock is freed when the session ends.
#[derive(Debug)]
#[must_use = "the lock is released when the guard is released or dropped"]
pub struct WriteGuard {
    lock: ReadWriteLock,
    seq: u64,
    node: HeldNode,
}

macro_rules! guard_methods {
    ($guard:ident) => {
        impl $guard {
            /// The fencing token: the lock node's creation zxid.
            pub fn fencing_token(&self) -> i64 {
                self.node.token()
            }

            /// The path of this holder's lock node.
            pub fn node_path(&self) -> &str {
                self.node.path()
            }

            /// Whether the lock node still exists and belongs to this session (a round trip).
            pub async fn is_held(&self) -> Result<bool, Error> {
                self.node.is_held().await
            }

            /// Resolves once the lock is lost (node deleted or session ended).
            pub async fn lost(&self) {
                self.node.lost().await
            }

            /// Resolves once the lock may be lost: lost, or the client disconnected.
            pub async fn lost_or_suspended(&self) {
                self.node.lost_or_suspended().await
            }

            /// Releases the lock. [`Error::NodeLost`] if its node was already gone.
            pub async fn release(self) -> Result<(), Error> {
                self.node.release().await
            }
        }
    };
}

guard_methods!(ReadGuard);
guard_methods!(WriteGuard);

impl WriteGuard {
    /// The name of a read node that takes this writer's place in the queue.
    fn read_node_path(&self) -> String {
        format!(
            "{}/{}{READ_LOCK_NAME}{:010}",
            self.lock.path,
            protected_prefix(&uuid_v4()),
            self.seq
        )
    }

    /// Takes the read lock too, while keeping the write lock (Curator's reentrant read inside a
    /// write). The read node carries this writer's sequence number, so once the write lock is
    /// released the reader still stands where the writer stood: no writer queued meanwhile
    /// gets in while it reads.
    pub async fn acquire_read(&self) -> Result<ReadGuard, Error> {
        let client = self.node.client();
        let path = self.read_node_path();
        let opts = CreateOptions::ephemeral();
        let data = &self.lock.data;
        match retrying(client, || client.create(&path, data, &opts)).await {
            Ok((_, stat)) => Ok(ReadGuard {
                node: HeldNode::new(client.clone(), path, stat.czxid),
            }),
            // The create was applied before a connection loss: ours, since the guid is new.
            Err(Error::Client(client::Error::NodeExists)) => adopt(client, path).await,
            Err(e) => Err(e),
        }
    }

    /// Turns the write lock into a read lock in one transaction (create the read node in the
    /// writer's place, delete the write node): readers waiting behind this writer proceed,
    /// writers keep waiting. [`Error::NodeLost`] if the write lock had been lost.
    pub async fn downgrade(self) -> Result<ReadGuard, Error> {
        let read_path = self.read_node_path();
        let WriteGuard { lock, node, .. } = self;
        let client = node.client().clone();
        let opts = CreateOptions::ephemeral();
        loop {
            let committed = client
                .multi()
                .create(&read_path, &lock.data, &opts)
                .delete(node.path(), None)
                .commit()
                .await;
            let Err(e) = committed else { break };
            match client::Error::from(e) {
                client::Error::ConnectionLoss | client::Error::RequestTimeout => {
                    wait_connected(&client).await?;
                    // All or nothing: our read node exists only if the write node is gone.
                    if retrying(&client, || client.exists(&read_path))
                        .await?
                        .is_some()
                    {
                        break;
                    }
                }
                client::Error::NoNode => {
                    let lost = Error::NodeLost(node.path().to_string());
                    node.forget();
                    return Err(lost);
                }
                other => return Err(classify(&client, other)),
            }
        }
        // The transaction deleted the write node.
        node.forget();
        adopt(&client, read_path).await
    }
}

/// A guard for a read node this session created.
async fn adopt(client: &Client, path: String) -> Result<ReadGuard, Error> {
    match retrying(client, || client.exists(&path)).await? {
        Some(stat) if stat.ephemeral_owner == client.session_id() => Ok(ReadGuard {
            node: HeldNode::new(client.clone(), path, stat.czxid),
        }),
        _ => Err(Error::NodeLost(path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(q: &[(String, Side)]) -> Vec<&str> {
        q.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn queue_orders_both_sides_by_sequence() {
        let q = queue(vec![
            "_c_b-__WRIT__0000000003".into(),
            "_c_a-__READ__0000000001".into(),
            "_c_c-__READ__0000000010".into(),
            "foreign".into(),
            "_c_d-__WRIT__0000000002".into(),
        ]);
        assert_eq!(
            names(&q),
            [
                "_c_a-__READ__0000000001",
                "_c_d-__WRIT__0000000002",
                "_c_b-__WRIT__0000000003",
                "_c_c-__READ__0000000010"
            ]
        );
        assert_eq!(q[1].1, Side::Write);
        assert_eq!(q[3].1, Side::Read);
    }

    #[test]
    fn readers_wait_only_for_writers_ahead() {
        let q = queue(vec![
            "r-__READ__0000000001".into(),
            "r-__READ__0000000002".into(),
            "w-__WRIT__0000000003".into(),
            "r-__READ__0000000004".into(),
            "w-__WRIT__0000000005".into(),
            "r-__READ__0000000006".into(),
        ]);
        assert_eq!(blocker(&q, 0), None);
        assert_eq!(blocker(&q, 1), None, "readers share");
        assert_eq!(blocker(&q, 2), Some("r-__READ__0000000002"), "writer waits");
        assert_eq!(blocker(&q, 3), Some("w-__WRIT__0000000003"));
        assert_eq!(blocker(&q, 4), Some("r-__READ__0000000004"));
        assert_eq!(
            blocker(&q, 5),
            Some("w-__WRIT__0000000005"),
            "nearest writer, not the first"
        );
    }

    #[test]
    fn a_downgraded_reader_keeps_the_writers_place() {
        // The writer at 3 downgraded: its read node carries 3; a writer queued at 4 waits.
        let q = queue(vec![
            "w2-__WRIT__0000000004".into(),
            "_c_x-__READ__0000000003".into(),
            "r-__READ__0000000005".into(),
        ]);
        assert_eq!(blocker(&q, 0), None);
        assert_eq!(names(&q)[1], "w2-__WRIT__0000000004");
        assert_eq!(blocker(&q, 1), Some("_c_x-__READ__0000000003"));
        assert_eq!(blocker(&q, 2), Some("w2-__WRIT__0000000004"));
    }
}
