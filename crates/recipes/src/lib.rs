//! Coordination recipes on top of the async [`client`] crate, in the node layouts Apache
//! Curator uses, so that Rust and Java processes can take part in the same lock or election.
//!
//! - [`lock`]: an exclusive lock without herd effect ([`InterProcessMutex`]), with fencing tokens.
//! - [`rwlock`]: a shared read/write lock ([`ReadWriteLock`]) without herd effect, with safe
//!   downgrade from writer to reader.
//! - [`semaphore`]: a counting semaphore ([`InterProcessSemaphore`]) handing out [`Lease`]s.
//! - [`leader`]: a leader latch ([`LeaderLatch`]) with failover and [`leader::current_leader`]
//!   for non-participants.
//! - [`selector`]: a leader selector ([`LeaderSelector`]): a callback runs for each term, and
//!   is interrupted when the session may be lost.
//! - [`counter`]: a distributed atomic counter ([`AtomicCounter`]) by versioned compare-and-set.
//! - [`group`]: group membership ([`GroupMember`]) and a live member list ([`GroupWatcher`]).
//! - [`barrier`]: a double barrier ([`DoubleBarrier`]): enter together, leave together; and a
//!   single barrier ([`Barrier`]): set, remove, wait.
//! - [`queue`]: a FIFO queue ([`DistributedQueue`]) without duplicates.
//! - [`priority_queue`]: a priority queue ([`DistributedPriorityQueue`]), lowest priority first,
//!   FIFO within a priority, without duplicates.
//! - [`cache`]: a node cache ([`NodeCache`]) kept current by a persistent watch.
//! - [`tree_cache`]: a subtree cache ([`TreeCache`]) kept current by a persistent recursive
//!   watch, with a stream of changes.
//! - [`versioned`]: versioned data ([`VersionedStore`]): atomic publish, reader pins, archiving.
//!
//! Every recipe works on one [`client::Client`], that is one session. A connection loss is
//! ridden out (the recipe waits for the client to re-attach the session and re-reads what it
//! needs); a session that ends (expired, closed, auth failed) ends the recipe with
//! [`Error::SessionEnded`] or the client's error, and every ephemeral node the recipe made
//! disappears with it. Each module states exactly what it guarantees.
//!
//! ```no_run
//! use recipes::InterProcessMutex;
//!
//! # async fn demo() -> Result<(), recipes::Error> {
//! let zk = client::Client::connect("127.0.0.1:2181").await?;
//! let mutex = InterProcessMutex::new(zk, "/locks/report")?;
//! let guard = mutex.acquire().await?;
//! // Pass the token to the guarded resource so it can refuse an older holder.
//! println!("holding with fencing token {}", guard.fencing_token());
//! guard.release().await?;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod barrier;
pub mod cache;
pub mod counter;
mod error;
pub mod group;
mod held;
pub mod leader;
pub mod lock;
pub mod priority_queue;
mod protected;
pub mod queue;
mod queue_item;
pub mod rwlock;
pub mod selector;
pub mod semaphore;
mod sequence;
mod session;
pub mod tree_cache;
pub mod versioned;

pub use barrier::{Barrier, DoubleBarrier};
pub use cache::NodeCache;
pub use counter::AtomicCounter;
pub use error::Error;
pub use group::{GroupMember, GroupWatcher};
pub use leader::LeaderLatch;
pub use lock::{InterProcessMutex, LockGuard};
pub use priority_queue::DistributedPriorityQueue;
pub use queue::DistributedQueue;
pub use rwlock::{ReadGuard, ReadWriteLock, WriteGuard};
pub use selector::LeaderSelector;
pub use semaphore::{InterProcessSemaphore, Lease};
pub use tree_cache::TreeCache;
pub use versioned::{Pinned, VersionedStore};
