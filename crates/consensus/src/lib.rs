//! The consensus seam: the only road a write takes into the replicated log.
//!
//! The server hands each write to [`Consensus::propose`]; the consensus layer orders it, stamps it
//! with its zxid (the log index) and the leader's time, makes it durable (a later issue) and
//! delivers it, in log order, on the committed stream the server's apply task reads. Nothing above
//! this crate knows whether the log is a single in-memory sequence or a Raft ensemble.

mod clock;
mod durable;
mod group_commit;
pub mod raft;
mod single_node;

pub use clock::{Clock, SystemClock};
pub use durable::{decode_record, encode_record, LogPayload, LogStore, ReplayError};
pub use single_node::SingleNode;

use std::sync::Arc;

/// A proposal after the log accepted it: its position and the leader's timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed<P> {
    /// The log index; ZooKeeper calls it the zxid. Strictly increasing, never reused.
    pub zxid: i64,
    /// Milliseconds since the Unix epoch, stamped once by the leader so every replica agrees.
    pub time_ms: i64,
    pub payload: P,
}

/// Committed entries in log order, delivered in batches to the apply task.
pub type CommittedBatch<P> = Vec<Committed<Arc<P>>>;

/// Where committed batches go: the apply task's input. `deliver` returns false once nobody
/// listens any more, which stops the log.
pub trait CommitSink<P>: Send + 'static {
    fn deliver(&self, batch: CommittedBatch<P>) -> bool;
}

impl<P: Send + Sync + 'static> CommitSink<P>
    for tokio::sync::mpsc::UnboundedSender<CommittedBatch<P>>
{
    fn deliver(&self, batch: CommittedBatch<P>) -> bool {
        self.send(batch).is_ok()
    }
}

impl<P, F> CommitSink<P> for F
where
    F: Fn(CommittedBatch<P>) -> bool + Send + 'static,
{
    fn deliver(&self, batch: CommittedBatch<P>) -> bool {
        self(batch)
    }
}

/// Why a proposal or barrier could not be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsensusError {
    /// The consensus layer has stopped (shutdown); nothing more will commit.
    #[error("consensus has shut down")]
    Shutdown,
    /// This server cannot reach a quorum, so it accepts no writes.
    #[error("no quorum")]
    NoQuorum,
}

/// This server's part in the ensemble, as the four-letter words report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Standalone,
    Leader,
    Follower,
    Observer,
    /// An ensemble member without a leader (electing one, or cut off from the quorum).
    Looking,
}

impl Role {
    /// The name ZooKeeper prints for the role (`Mode:` in `srvr`, `zk_server_state` in `mntr`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Standalone => "standalone",
            Role::Leader => "leader",
            Role::Follower => "follower",
            Role::Observer => "observer",
            Role::Looking => "looking",
        }
    }
}

/// What the server needs to know about the ensemble right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub role: Role,
    /// The leader this member follows (itself when leading); `None` while there is none.
    pub leader: Option<u64>,
    /// Whether this member may serve clients: it is part of a working quorum.
    pub serving: bool,
    /// Moves whenever the leader or `serving` changes, or a forwarded write was lost: the server
    /// closes its client connections then, so no client waits for a reply that will not come.
    pub epoch: u64,
    /// The member is recovering its damaged state from the ensemble: it is not serving, and
    /// must not offer read-only sessions either (its tree is incomplete).
    pub recovering: bool,
    /// Consensus stopped for good: its log could not be written, or Raft stopped on a storage
    /// error (the log says which). Such a member serves nothing until it restarts.
    pub failed: bool,
}

impl Default for Status {
    fn default() -> Self {
        Self {
            role: Role::Looking,
            leader: None,
            serving: false,
            epoch: 0,
            recovering: false,
            failed: false,
        }
    }
}

impl Status {
    /// A standalone server: always its own leader, always serving.
    pub fn standalone() -> Self {
        Self {
            role: Role::Standalone,
            leader: Some(0),
            serving: true,
            epoch: 0,
            recovering: false,
            failed: false,
        }
    }
}

/// The API the server writes through. Implementations deliver committed entries on the stream they
/// were built with; `propose` never waits for commitment.
pub trait Consensus<P>: Send + Sync + 'static {
    /// Appends a proposal to the log. Proposals from one caller commit in the order proposed.
    fn propose(&self, payload: Arc<P>) -> Result<(), ConsensusError>;

    /// Like [`Consensus::propose`], but the proposal may wait for the caller's next
    /// [`Consensus::flush`]: writes proposed in a row are written together, and a standalone
    /// log that is idle is written on the caller's own thread. Proposals from one caller still
    /// commit in the order proposed, deferred or not.
    fn propose_deferred(&self, payload: Arc<P>) -> Result<(), ConsensusError> {
        self.propose(payload)
    }

    /// Sends on what [`Consensus::propose_deferred`] queued. With `on_this_thread`, a caller that
    /// finds the log idle writes and syncs one batch itself before returning; it should then not
    /// have just woken another task on this thread, which would wait for the sync.
    fn flush(&self, on_this_thread: bool) {
        let _ = on_this_thread;
    }

    /// The zxid a linearizable read must wait for: every entry committed before this call has a
    /// zxid at or below it (ZooKeeper's `sync`; Raft's ReadIndex).
    fn read_barrier(&self) -> Result<i64, ConsensusError>;

    /// This server's role right now.
    fn role(&self) -> Role;

    /// Log entries below `before_zxid` are covered by a durable snapshot and may be discarded.
    fn compact(&self, before_zxid: i64);

    /// The ensemble status as it changes.
    fn status(&self) -> tokio::sync::watch::Receiver<Status>;

    /// Sends an opaque message to the leader's server (dropped when there is none, or when this
    /// server leads: it handles its own).
    fn send_to_leader(&self, message: bytes::Bytes);
}
