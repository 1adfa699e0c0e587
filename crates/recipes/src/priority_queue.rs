//! A distributed priority queue in the layout of Curator's `DistributedPriorityQueue`.
//!
//! # Layout
//! Each entry is a persistent-sequential node `<path>/queue-<priority><seq>`, where
//! `<priority>` is Curator's `priorityToString`: `1` then 8 upper-case hex digits for a
//! priority ≥ 0, `0` then the 8 hex digits of its two's complement for a negative one (so names
//! sort by priority), and `<seq>` the server's 10-digit sequence. Entries are taken in name
//! order, that is lowest priority first and, within a priority, in creation order. The data is
//! Curator's `ItemSerializer` format (one or more items); after its end marker our producers add
//! a tag of their own, which Curator consumers ignore. Curator producers and consumers can share
//! the queue (with Curator's default `QueueSerializer` being the caller's bytes).
//!
//! # Guarantees
//! - No duplicates: an entry is handed to the one consumer whose delete (conditional on the
//!   version it read) succeeds, and a producer whose put reply was lost looks for its own entry
//!   by tag before putting again.
//! - No loss while producers and consumers stay connected: an entry stays until taken.
//! - Priority order: a take returns the lowest-priority entry among those present when it
//!   listed the queue (an entry put after that listing may have a lower priority); within one
//!   priority, entries are taken in the order the server created them.
//! - Nodes not in this layout (and entries whose data is not in Curator's format) are left in
//!   place and skipped.
//!
//! # Failure behaviour
//! - Connection loss during a put: after reconnecting, the producer looks for its entry by tag;
//!   if it is not there and no entry was ever taken from the queue, it puts again; otherwise the
//!   entry may have been created and taken already, and the put returns
//!   [`Error::OutcomeUnknown`] rather than risk a duplicate. (The "ever taken" test reads the
//!   queue node's child version; a queue node reaped as an empty container and created again
//!   forgets its history.)
//! - Connection loss during a take's delete: if the entry still exists the delete is retried;
//!   if it is gone, the take returns [`Error::OutcomeUnknown`] (the entry may be lost to this
//!   consumer, never handed out twice).
//! - A consumer that crashes after taking an entry loses it (at-most-once delivery, as with
//!   Curator's queue without a lock path).
//! - Session expiry: [`Error::SessionEnded`]; entries are persistent and stay.
//! - Every consumer watches the queue's children, so each put wakes every waiting consumer
//!   (Curator documents the same cost for its priority queue).

use crate::error::Error;
use crate::queue_item;
use crate::sequence::uuid_v4;
use crate::session::{check_path, classify, ensure_path, retrying, wait_connected};
use client::{Client, CreateMode, CreateOptions, EventType};
use std::time::Duration;

/// The prefix of entry names (Curator's `DistributedQueue.QUEUE_ITEM_NAME`).
pub const ITEM_PREFIX: &str = "queue-";

/// The priority part of an entry name, as Curator's `priorityToString` writes it.
pub fn priority_to_string(priority: i32) -> String {
    let sign = if priority >= 0 { '1' } else { '0' };
    format!("{sign}{:08X}", priority as u32)
}

/// The priority of an entry name, if the name is in this layout.
pub fn priority_of(name: &str) -> Option<i32> {
    let rest = name.strip_prefix(ITEM_PREFIX)?;
    if rest.len() != 9 + 10 || !rest.is_ascii() {
        return None;
    }
    let (prio, seq) = rest.split_at(9);
    if !seq.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (sign, hex) = prio.split_at(1);
    if !hex
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
    {
        return None;
    }
    let value = u32::from_str_radix(hex, 16).ok()? as i32;
    match (sign, value >= 0) {
        ("1", true) | ("0", false) => Some(value),
        _ => None,
    }
}

/// The entries among `children`, in the order they are taken.
fn entries_in_order(children: Vec<String>) -> Vec<(String, i32)> {
    let mut out: Vec<(String, i32)> = children
        .into_iter()
        .filter_map(|c| priority_of(&c).map(|p| (c, p)))
        .collect();
    // Fixed-width names: name order is priority order, then sequence order (as Curator sorts).
    out.sort();
    out
}

/// One taken entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its priority.
    pub priority: i32,
    /// Its items: one for an entry put by [`DistributedPriorityQueue::put`], several for one
    /// put by [`DistributedPriorityQueue::put_multi`] (Curator's `putMulti`).
    pub items: Vec<Vec<u8>>,
    /// The name its node had.
    pub node: String,
}

/// A priority queue at one path (created on first put).
///
/// ```no_run
/// # async fn demo(zk: client::Client) -> Result<(), recipes::Error> {
/// let q = recipes::DistributedPriorityQueue::new(zk, "/queues/tasks")?;
/// q.put(b"routine", 10).await?;
/// q.put(b"urgent", -5).await?;
/// assert_eq!(q.take().await?.items, [b"urgent".to_vec()]);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct DistributedPriorityQueue {
    client: Client,
    path: String,
}

impl DistributedPriorityQueue {
    /// A queue at `path`.
    pub fn new(client: Client, path: &str) -> Result<DistributedPriorityQueue, Error> {
        check_path(path)?;
        Ok(DistributedPriorityQueue {
            client,
            path: path.to_string(),
        })
    }

    /// Puts one item with `priority` (lower comes out first).
    pub async fn put(&self, data: &[u8], priority: i32) -> Result<(), Error> {
        self.put_multi(&[data], priority).await
    }

    /// Puts several items as one entry with `priority`: they are taken together.
    pub async fn put_multi(&self, items: &[&[u8]], priority: i32) -> Result<(), Error> {
        let client = &self.client;
        let tag = uuid_v4();
        let data = queue_item::encode(items, &tag);
        let prefix = format!("{ITEM_PREFIX}{}", priority_to_string(priority));
        let base = format!("{}/{prefix}", self.path);
        let opts = CreateOptions::persistent().with_mode(CreateMode::PersistentSequential);
        loop {
            match client.create(&base, &data, &opts).await {
                Ok(_) => return Ok(()),
                Err(client::Error::NoNode) => ensure_path(client, &self.path).await?,
                Err(client::Error::ConnectionLoss | client::Error::RequestTimeout) => {
                    if wait_connected(client).await.is_err() {
                        // The session ended with the create in flight: it may have been applied.
                        return Err(Error::OutcomeUnknown(self.path.clone()));
                    }
                    if self.find_tagged(&prefix, &tag).await? {
                        return Ok(());
                    }
                    if self.ever_taken().await? {
                        return Err(Error::OutcomeUnknown(self.path.clone()));
                    }
                }
                Err(e) => return Err(classify(client, e)),
            }
        }
    }

    /// Whether an entry named `prefix…` carries `tag`, newest first (a lost put is recent).
    async fn find_tagged(&self, prefix: &str, tag: &str) -> Result<bool, Error> {
        let client = &self.client;
        let children = match retrying(client, || client.get_children(&self.path)).await {
            Ok(c) => c,
            Err(Error::Client(client::Error::NoNode)) => return Ok(false),
            Err(e) => return Err(e),
        };
        let mut candidates: Vec<String> = children
            .into_iter()
            .filter(|c| c.starts_with(prefix) && priority_of(c).is_some())
            .collect();
        candidates.sort();
        for name in candidates.into_iter().rev() {
            let node = format!("{}/{name}", self.path);
            let data = match retrying(client, || client.get_data(&node)).await {
                Ok((d, _)) => d,
                Err(Error::Client(client::Error::NoNode)) => continue,
                Err(e) => return Err(e),
            };
            if queue_item::decode(&data).is_ok_and(|d| d.tag.as_deref() == Some(tag)) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether any entry was ever removed: the queue node's `cversion` counts every creation
    /// and deletion of a child, so it equals the number of children only if none was deleted.
    async fn ever_taken(&self) -> Result<bool, Error> {
        let stat = retrying(&self.client, || self.client.exists(&self.path)).await?;
        Ok(stat.is_some_and(|s| s.cversion != s.num_children))
    }

    /// Removes and returns the first entry, if any.
    pub async fn poll(&self) -> Result<Option<Entry>, Error> {
        let client = &self.client;
        let children = match retrying(client, || client.get_children(&self.path)).await {
            Ok(c) => c,
            Err(Error::Client(client::Error::NoNode)) => return Ok(None),
            Err(e) => return Err(e),
        };
        self.take_first_of(children).await
    }

    /// Removes and returns the first entry, waiting for one.
    pub async fn take(&self) -> Result<Entry, Error> {
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
            if let Some(entry) = self.take_first_of(children).await? {
                return Ok(entry);
            }
            if watch.await.event_type == EventType::None {
                return Err(classify(client, client::Error::SessionExpired));
            }
        }
    }

    /// Like [`DistributedPriorityQueue::take`], for at most `timeout`.
    pub async fn take_for(&self, timeout: Duration) -> Result<Option<Entry>, Error> {
        match tokio::time::timeout(timeout, self.take()).await {
            Ok(r) => r.map(Some),
            Err(_) => Ok(None),
        }
    }

    /// Tries the entries in order until one is deleted by us.
    async fn take_first_of(&self, children: Vec<String>) -> Result<Option<Entry>, Error> {
        let client = &self.client;
        for (name, priority) in entries_in_order(children) {
            let node = format!("{}/{name}", self.path);
            let (data, stat) = match retrying(client, || client.get_data(&node)).await {
                Ok(r) => r,
                Err(Error::Client(client::Error::NoNode)) => continue,
                Err(e) => return Err(e),
            };
            let decoded = match queue_item::decode(&data) {
                Ok(d) => d,
                Err(reason) => {
                    tracing::warn!(%node, %reason, "skipping a queue entry not in Curator's format");
                    continue;
                }
            };
            loop {
                match client.delete(&node, Some(stat.version)).await {
                    Ok(()) => {
                        return Ok(Some(Entry {
                            priority,
                            items: decoded.items,
                            node: name,
                        }))
                    }
                    // Taken by another consumer (or changed: then it is not what we read).
                    Err(client::Error::NoNode | client::Error::BadVersion) => break,
                    Err(client::Error::ConnectionLoss | client::Error::RequestTimeout) => {
                        if wait_connected(client).await.is_err() {
                            // The session ended with the delete in flight: it may have been
                            // applied, and then the entry is gone from the queue.
                            return Err(Error::OutcomeUnknown(node));
                        }
                        if retrying(client, || client.exists(&node)).await?.is_none() {
                            return Err(Error::OutcomeUnknown(node));
                        }
                    }
                    Err(e) => return Err(classify(client, e)),
                }
            }
        }
        Ok(None)
    }

    /// How many entries are queued now (children in this layout).
    pub async fn len(&self) -> Result<usize, Error> {
        let client = &self.client;
        match retrying(client, || client.get_children(&self.path)).await {
            Ok(c) => Ok(c.iter().filter(|c| priority_of(c).is_some()).count()),
            Err(Error::Client(client::Error::NoNode)) => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Whether the queue is empty now.
    pub async fn is_empty(&self) -> Result<bool, Error> {
        Ok(self.len().await? == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_strings_match_curator() {
        // Curator: String.format("%s%08X", priority >= 0 ? "1" : "0", priority & 0xFFFFFFFFL).
        assert_eq!(priority_to_string(0), "100000000");
        assert_eq!(priority_to_string(10), "10000000A");
        assert_eq!(priority_to_string(i32::MAX), "17FFFFFFF");
        assert_eq!(priority_to_string(-1), "0FFFFFFFF");
        assert_eq!(priority_to_string(i32::MIN), "080000000");
        for p in [i32::MIN, -70000, -1, 0, 1, 255, i32::MAX] {
            let name = format!("queue-{}0000000042", priority_to_string(p));
            assert_eq!(priority_of(&name), Some(p), "{name}");
        }
    }

    #[test]
    fn name_order_is_priority_then_sequence() {
        let name = |p: i32, s: u32| format!("queue-{}{s:010}", priority_to_string(p));
        let kids = vec![
            name(5, 1),
            name(-3, 7),
            name(0, 2),
            name(-3, 4),
            name(i32::MIN, 9),
            "queue-0000000005".to_string(),
            "lock".to_string(),
            name(5, 0),
        ];
        let order: Vec<(i32, String)> = entries_in_order(kids)
            .into_iter()
            .map(|(n, p)| (p, n[15..].to_string()))
            .collect();
        let want: Vec<(i32, String)> = [(i32::MIN, 9), (-3, 4), (-3, 7), (0, 2), (5, 0), (5, 1)]
            .into_iter()
            .map(|(p, s)| (p, format!("{s:010}")))
            .collect();
        assert_eq!(order, want);
    }

    #[test]
    fn foreign_names_are_not_entries() {
        assert_eq!(priority_of("queue-1000000000000000001"), Some(0));
        assert_eq!(priority_of("queue-1800000000000000001"), None, "sign");
        assert_eq!(priority_of("queue-10000000a0000000001"), None, "lower hex");
        assert_eq!(priority_of("queue-100000000000000001"), None, "short");
        assert_eq!(
            priority_of("queue-100000000-000000001"),
            None,
            "negative seq"
        );
        assert_eq!(priority_of("x-1000000000000000001"), None);
    }
}
