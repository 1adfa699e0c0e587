//! A distributed atomic counter: a signed 64-bit value in one node, changed by versioned
//! compare-and-set, in the format of Curator's `DistributedAtomicLong` (8 bytes big-endian;
//! a missing node or empty data reads as 0).
//!
//! # Guarantees
//! - Every successful [`AtomicCounter::add`] is applied exactly once, atomically: it reads the
//!   value and its version, then writes the new value only if the version is unchanged, and
//!   retries (with a short random backoff) when another writer got there first. N writers
//!   making M successful increments each end at exactly N×M.
//! - [`AtomicCounter::get`] reads what the connected server has applied (possibly behind the
//!   leader; call `sync` on the client first for a fresh read).
//!
//! # Failure behaviour
//! - Connection loss before a write is sent, or during a read: waits for the session to be
//!   re-attached and goes on.
//! - Connection loss while a write is in flight: the write may or may not have been applied,
//!   so the counter returns [`Error::OutcomeUnknown`] instead of retrying (a blind retry could
//!   count twice). The caller decides.
//! - Session expiry: [`Error::SessionEnded`]; the counter itself is persistent and unaffected.
//! - More than the attempt limit of lost races: [`Error::TooManyRetries`], nothing applied.

use crate::error::Error;
use crate::session::{check_path, classify, ensure_path, retrying, wait_connected};
use client::{Client, CreateOptions};
use rand::Rng;
use std::time::Duration;

/// The default limit of compare-and-set attempts per operation.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 1000;

/// The old and new value of a successful change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// The value before.
    pub pre: i64,
    /// The value after.
    pub post: i64,
}

/// A counter stored at one path (created with value 0 on first write).
///
/// ```no_run
/// # async fn demo(zk: client::Client) -> Result<(), recipes::Error> {
/// let hits = recipes::AtomicCounter::new(zk, "/counters/hits")?;
/// let change = hits.increment().await?;
/// assert_eq!(change.post, change.pre + 1);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AtomicCounter {
    client: Client,
    path: String,
    max_attempts: u32,
}

impl AtomicCounter {
    /// A counter at `path`.
    pub fn new(client: Client, path: &str) -> Result<AtomicCounter, Error> {
        check_path(path)?;
        Ok(AtomicCounter {
            client,
            path: path.to_string(),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        })
    }

    /// Gives up after `attempts` lost compare-and-set races (at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> AtomicCounter {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The current value (0 if the node does not exist yet).
    pub async fn get(&self) -> Result<i64, Error> {
        Ok(self.read().await?.0)
    }

    /// Adds 1.
    pub async fn increment(&self) -> Result<Change, Error> {
        self.add(1).await
    }

    /// Subtracts 1.
    pub async fn decrement(&self) -> Result<Change, Error> {
        self.add(-1).await
    }

    /// Adds `delta` (wrapping on overflow, like Java's `long`).
    pub async fn add(&self, delta: i64) -> Result<Change, Error> {
        self.update(|v| Some(v.wrapping_add(delta)))
            .await?
            .ok_or_else(|| Error::InvalidArgument("add declined".into()))
    }

    /// Sets the value to `new` only if it is `expected` now; `false` if it was not.
    pub async fn compare_and_set(&self, expected: i64, new: i64) -> Result<bool, Error> {
        let changed = self
            .update(|v| if v == expected { Some(new) } else { None })
            .await?;
        Ok(changed.is_some())
    }

    /// Sets the value unconditionally.
    pub async fn set(&self, value: i64) -> Result<Change, Error> {
        self.update(|_| Some(value))
            .await?
            .ok_or_else(|| Error::InvalidArgument("set declined".into()))
    }

    /// The compare-and-set loop: `next` maps the current value to the new one, or declines
    /// (`None`), which ends the loop without a write.
    async fn update(&self, next: impl Fn(i64) -> Option<i64>) -> Result<Option<Change>, Error> {
        let client = &self.client;
        for attempt in 0..self.max_attempts {
            if attempt > 0 {
                let ms = rand::rng().random_range(0..=(attempt.min(20) as u64));
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            let (pre, version) = self.read().await?;
            let Some(post) = next(pre) else {
                return Ok(None);
            };
            let data = post.to_be_bytes();
            let written = match version {
                Some(v) => client.set_data(&self.path, &data, Some(v)).await.map(drop),
                None => {
                    let parent = parent_of(&self.path);
                    if !parent.is_empty() {
                        ensure_path(client, parent).await?;
                    }
                    client
                        .create(&self.path, &data, &CreateOptions::persistent())
                        .await
                        .map(drop)
                }
            };
            match written {
                Ok(()) => return Ok(Some(Change { pre, post })),
                Err(client::Error::BadVersion)
                | Err(client::Error::NodeExists)
                | Err(client::Error::NoNode) => continue,
                Err(client::Error::ConnectionLoss | client::Error::RequestTimeout) => {
                    // Wait so the caller gets a usable client back, but do not retry; if the
                    // session ended meanwhile the write may still have been applied, so the
                    // answer is the same.
                    let _ = wait_connected(client).await;
                    return Err(Error::OutcomeUnknown(self.path.clone()));
                }
                Err(e) => return Err(classify(client, e)),
            }
        }
        Err(Error::TooManyRetries {
            path: self.path.clone(),
            attempts: self.max_attempts,
        })
    }

    /// The value and its version (`None`: no node yet).
    async fn read(&self) -> Result<(i64, Option<i32>), Error> {
        match retrying(&self.client, || self.client.get_data(&self.path)).await {
            Ok((data, stat)) => Ok((decode(&self.path, &data)?, Some(stat.version))),
            Err(Error::Client(client::Error::NoNode)) => Ok((0, None)),
            Err(e) => Err(e),
        }
    }
}

/// The parent of an absolute path; empty for a child of the root.
fn parent_of(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

/// Curator's `DistributedAtomicLong` value format.
fn decode(path: &str, data: &[u8]) -> Result<i64, Error> {
    if data.is_empty() {
        return Ok(0);
    }
    let bytes: [u8; 8] = data.try_into().map_err(|_| Error::Malformed {
        path: path.to_string(),
        reason: format!("{} bytes, want 8 (big-endian long)", data.len()),
    })?;
    Ok(i64::from_be_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_format_is_java_long() {
        assert_eq!(decode("/c", &[]), Ok(0));
        assert_eq!(decode("/c", &(-2i64).to_be_bytes()), Ok(-2));
        assert_eq!(decode("/c", &[0, 0, 0, 0, 0, 0, 1, 0]), Ok(256));
        assert!(matches!(
            decode("/c", &[1, 2]),
            Err(Error::Malformed { .. })
        ));
    }

    #[test]
    fn parent_of_paths() {
        assert_eq!(parent_of("/a/b/c"), "/a/b");
        assert_eq!(parent_of("/a"), "");
    }
}
