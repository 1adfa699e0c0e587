//! The Raft type configuration: what one log entry carries and how members are addressed.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// One client write as it sits in the Raft log: the leader's timestamp and the server's encoded
/// proposal. The leader stamps the time when it proposes, so every replica applies the same value.
#[derive(Clone, Serialize, Deserialize)]
pub struct LogData {
    pub time_ms: i64,
    pub payload: Bytes,
    /// On the member that proposed the entry, the proposal `payload` encodes, so applying it
    /// there skips decoding what was just encoded. Never stored or sent: every other reader of
    /// the entry decodes `payload`, which is the only thing that counts.
    #[serde(skip)]
    pub decoded: Option<Decoded>,
}

/// A proposal as its proposer holds it (downcast by the state machine).
pub type Decoded = Arc<dyn Any + Send + Sync>;

impl LogData {
    /// An entry read back from storage or received from a peer.
    pub fn encoded(time_ms: i64, payload: Bytes) -> LogData {
        LogData {
            time_ms,
            payload,
            decoded: None,
        }
    }
}

impl PartialEq for LogData {
    fn eq(&self, other: &Self) -> bool {
        (self.time_ms, &self.payload) == (other.time_ms, &other.payload)
    }
}

impl Eq for LogData {}

impl fmt::Debug for LogData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "LogData(t={}, {} bytes)",
            self.time_ms,
            self.payload.len()
        )
    }
}

impl fmt::Display for LogData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

openraft::declare_raft_types!(
    /// Ferrokeeper's Raft types: u64 member ids (ZooKeeper's `myid`), members addressed by
    /// `host:quorumPort`, entries carrying [`LogData`].
    pub TypeConfig:
        D = LogData,
        R = (),
        Node = openraft::BasicNode,
        AsyncRuntime = RaftRuntime,
);

/// Tokio, with openraft's random choices (election timeouts, tick jitter) drawn from a seed:
/// [`super::Environment::rng_seed`], random in production and fixed by a simulation's seed so
/// that a replay elects the same leaders.
pub type RaftRuntime =
    openraft::rt::deterministic_rng::DeterministicRng<openraft_rt_tokio::TokioRuntime>;

pub type Entry = openraft::type_config::alias::EntryOf<TypeConfig>;
pub type LogId = openraft::type_config::alias::LogIdOf<TypeConfig>;
pub type Vote = openraft::type_config::alias::VoteOf<TypeConfig>;
pub type SnapshotMeta = openraft::type_config::alias::SnapshotMetaOf<TypeConfig>;
pub type StoredMembership = openraft::type_config::alias::StoredMembershipOf<TypeConfig>;
