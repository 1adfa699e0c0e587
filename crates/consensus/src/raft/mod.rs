//! A Raft ensemble member (openraft) behind the [`Consensus`](crate::Consensus) API.
//!
//! zxid = Raft log index. The leader stamps each entry's time when it proposes it. Followers
//! forward their clients' writes to the leader over one ordered connection; every member applies
//! committed entries through the [`Host`] (the server's apply task) and answers reads locally.

mod environment;
pub mod inspect;
mod log_store;
mod network;
mod peer_server;
mod proposer;
pub mod recovery;
pub mod snapshot_file;
mod state_machine;
mod status;
mod types;
mod wire;

pub use environment::{
    Blocking, BoxFuture, Environment, PeerListener, PeerRead, PeerWrite, Tcp, Transport,
};
pub use types::LogData;

use crate::durable::LogPayload;
use crate::{CommittedBatch, Consensus, ConsensusError, Role, Status};
use bytes::Bytes;
use log_store::LogStore;
use openraft::async_runtime::WatchReceiver;
use openraft::BasicNode;
use state_machine::StateMachine;
use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use storage::{MetaFile, SegmentLayout, SnapshotStore, Wal, WalOptions};
use tokio::sync::{mpsc, oneshot, watch};
use types::{SnapshotMeta, TypeConfig};

pub(crate) type RaftHandle<P> = openraft::Raft<TypeConfig, StateMachine<P>>;

/// Writes a captured state machine state; runs on a blocking thread.
pub type StateWriter = Box<dyn FnOnce(&mut dyn Write) -> io::Result<()> + Send>;

/// What the server provides to its Raft member: the way into its apply task.
pub trait Host<P>: Send + Sync + 'static {
    /// Hands committed entries, in log order, to the apply task; false once it has stopped.
    fn deliver(&self, batch: CommittedBatch<P>) -> bool;
    /// Captures the state after everything delivered so far, as a writer of its bytes.
    fn capture(&self) -> oneshot::Receiver<StateWriter>;
    /// Reads a state written by a [`StateWriter`] (on a blocking thread) and makes it the apply
    /// task's state, after everything delivered so far.
    fn install(&self, input: &mut dyn Read) -> io::Result<()>;
    /// A message another member's server sent to the leader's server (this one).
    fn leader_message(&self, from: u64, message: Bytes);
}

/// One ensemble member, as zoo.cfg's `server.N` lines give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// `myid`.
    pub id: u64,
    /// `host:quorumPort`, where the member takes Raft traffic.
    pub addr: String,
    /// Participants vote; observers replicate and serve clients only.
    pub voter: bool,
}

/// How to run this member.
#[derive(Debug, Clone)]
pub struct EnsembleOptions {
    pub my_id: u64,
    pub members: Vec<Member>,
    /// The quorum port to listen on.
    pub listen: SocketAddr,
    /// Where the Raft log, vote and snapshots live.
    pub dir: PathBuf,
    /// Entries between snapshots (`snapCount`).
    pub snap_count: u64,
    /// Leader heartbeat interval; elections start after 5 to 8 of these without one.
    pub heartbeat: Duration,
}

/// Why the Raft member could not start.
#[derive(Debug, thiserror::Error)]
pub enum EnsembleError {
    #[error("Raft log in {dir}: {source}")]
    Log {
        dir: PathBuf,
        source: storage::Error,
    },
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("snapshot {path}: {source}")]
    Snapshot { path: PathBuf, source: io::Error },
    #[error("cannot listen for ensemble members on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
    #[error("Raft: {0}")]
    Raft(String),
    #[error("myid {0} is not among the server.N lines")]
    NotAMember(u64),
}

/// The Raft state on disk, opened before the server builds its state machine.
pub struct RaftStorage {
    dir: PathBuf,
    log: LogStore,
    snapshots: SnapshotStore,
    initial: Option<SnapshotMeta>,
    env: Environment,
    /// A recovery marker was found: see [`recovery`].
    recovering: bool,
}

impl RaftStorage {
    /// Opens (or creates) the Raft state under `dir` through `env`'s file system; returns the
    /// newest snapshot's state bytes for the server to load, positioned after the snapshot's Raft
    /// header.
    pub fn open(
        dir: &Path,
        env: &Environment,
        log_layout: SegmentLayout,
    ) -> Result<(RaftStorage, Option<Box<dyn Read + Send>>), EnsembleError> {
        let fs = env.fs.clone();
        fs.create_dir_all(dir)?;
        let recovering = recovery::open(env, dir)?;
        let log_dir = dir.join("log");
        let wal_options = WalOptions::with_layout(log_layout, fs.clone());
        let (wal, recovery) =
            Wal::open(&log_dir, wal_options).map_err(|source| EnsembleError::Log {
                dir: log_dir.clone(),
                source,
            })?;
        if let Some(torn) = &recovery.torn_tail {
            tracing::warn!(
                "Raft log: cut a torn write at its end ({torn:?}); it was never acknowledged"
            );
        }
        let log = LogStore::open(
            wal,
            MetaFile::new(fs.clone(), dir.join("vote")),
            env.clone(),
        )?;
        let snap_dir = dir.join("snapshots");
        let snapshots =
            SnapshotStore::open(fs.clone(), &snap_dir).map_err(|source| EnsembleError::Log {
                dir: snap_dir.clone(),
                source,
            })?;
        let (initial, state) = match snapshot_file::latest(&snapshots)? {
            Some(info) => {
                let (meta, reader) = snapshot_file::open(&*fs, &info.path).map_err(|source| {
                    EnsembleError::Snapshot {
                        path: info.path.clone(),
                        source,
                    }
                })?;
                tracing::info!(
                    "loading snapshot {} ({:?})",
                    info.path.display(),
                    meta.last_log_id
                );
                (Some(meta), Some(Box::new(reader) as Box<dyn Read + Send>))
            }
            None => (None, None),
        };
        Ok((
            RaftStorage {
                dir: dir.to_owned(),
                log,
                snapshots,
                initial,
                env: env.clone(),
                recovering,
            },
            state,
        ))
    }

    /// Whether this member is recovering its state from the ensemble (see [`recovery`]).
    pub fn recovering(&self) -> bool {
        self.recovering
    }
}

/// A running Raft member.
pub struct RaftConsensus<P: LogPayload> {
    raft: RaftHandle<P>,
    proposals: mpsc::UnboundedSender<Arc<P>>,
    to_leader: mpsc::UnboundedSender<Bytes>,
    status: Arc<watch::Sender<Status>>,
}

impl<P: LogPayload> RaftConsensus<P> {
    /// Starts the member: Raft, the quorum listener, the proposer and the status monitor.
    pub async fn start(
        options: EnsembleOptions,
        storage: RaftStorage,
        host: Arc<dyn Host<P>>,
    ) -> Result<Self, EnsembleError> {
        let env = storage.env.clone();
        if !options.members.iter().any(|m| m.id == options.my_id) {
            return Err(EnsembleError::NotAMember(options.my_id));
        }
        let heartbeat = options.heartbeat.as_millis().max(10) as u64;
        let config = openraft::Config {
            cluster_name: "ferrokeeper".into(),
            heartbeat_interval: heartbeat,
            // A follower also refuses votes for one `election_timeout_max` after the last
            // heartbeat (the leader lease), so failover takes about twice this.
            election_timeout_min: heartbeat * 5,
            election_timeout_max: heartbeat * 8,
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(options.snap_count.max(100)),
            max_in_snapshot_log_to_keep: (options.snap_count / 2).clamp(100, 50_000),
            max_payload_entries: 4096,
            enable_pre_vote: Some(true),
            // A restarted leader must win a fresh election. Resuming leadership from the persisted
            // vote is unsafe here: the committed index is not persisted and the tree is rebuilt
            // from the last snapshot, so the member could lead with a stale state (the nemesis test
            // caught it answering from such a state).
            enable_leader_restore: Some(false),
            // A member recovering from damage does not stand for election; it votes again only
            // once it has caught up (see `recovery`).
            enable_elect: !storage.recovering,
            // A member whose damaged log was moved aside answers with an empty log; the leader
            // must then replicate to it from the start instead of treating it as a bug.
            allow_log_reversion: Some(true),
            ..Default::default()
        }
        .validate()
        .map_err(|e| EnsembleError::Raft(e.to_string()))?;
        let listener = env
            .transport
            .listen(options.listen)
            .await
            .map_err(|source| EnsembleError::Bind {
                addr: options.listen,
                source,
            })?;
        let state_machine = StateMachine::new(
            Arc::clone(&host),
            storage.snapshots.clone(),
            storage.initial,
            env.clone(),
        );
        // Openraft's own tasks inherit the seed scope from here (its runtime derives a child seed
        // per spawned task), so every random choice it makes follows from `rng_seed`.
        let raft = types::RaftRuntime::scope(
            env.rng_seed,
            openraft::Raft::new(
                options.my_id,
                Arc::new(config),
                network::Network {
                    my_id: options.my_id,
                    env: env.clone(),
                },
                storage.log,
                state_machine,
            ),
        )
        .await
        .map_err(|e| EnsembleError::Raft(e.to_string()))?;
        tracing::info!(
            "Raft member {} started in {}",
            options.my_id,
            storage.dir.display()
        );
        let voters: BTreeMap<u64, BasicNode> = options
            .members
            .iter()
            .filter(|m| m.voter)
            .map(|m| {
                (
                    m.id,
                    BasicNode {
                        addr: m.addr.clone(),
                    },
                )
            })
            .collect();
        let is_voter = options
            .members
            .iter()
            .any(|m| m.id == options.my_id && m.voter);
        // Observers never initialize: they are learners, given their log by the leader.
        if is_voter
            && !raft
                .is_initialized()
                .await
                .map_err(|e| EnsembleError::Raft(e.to_string()))?
        {
            // Every member initializes with the same voters: the same first entry everywhere.
            if let Err(e) = raft.initialize(voters).await {
                tracing::debug!("initialize: {e}");
            }
        }
        let contact = status::LeaderContact::new();
        let recovery = recovery::Recovery::new(storage.recovering);
        if storage.recovering {
            tokio::spawn(recovery::watch(
                raft.clone(),
                Arc::clone(&recovery),
                env.clone(),
                storage.dir.clone(),
            ));
        }
        let peer_ctx = Arc::new(peer_server::PeerContext {
            raft: raft.clone(),
            host: Arc::clone(&host),
            snapshots: storage.snapshots,
            env: env.clone(),
            contact: Arc::clone(&contact),
            recovery: Arc::clone(&recovery),
        });
        tokio::spawn(peer_server::accept_loop(peer_ctx, listener));
        let status = status::spawn_monitor(
            raft.clone(),
            options.my_id,
            options.members.clone(),
            heartbeat,
            contact,
            recovery,
        );
        let (proposals, to_leader) = proposer::spawn(
            raft.clone(),
            options.my_id,
            options.members,
            env,
            Arc::clone(&status),
        );
        Ok(Self {
            raft,
            proposals,
            to_leader,
            status,
        })
    }

    /// Stops Raft (used by tests that restart a member in-process).
    pub async fn shutdown(&self) {
        let _ = self.raft.shutdown().await;
    }
}

impl<P: LogPayload> Consensus<P> for RaftConsensus<P> {
    fn propose(&self, payload: Arc<P>) -> Result<(), ConsensusError> {
        if !self.status.borrow().serving {
            return Err(ConsensusError::NoQuorum);
        }
        self.proposals
            .send(payload)
            .map_err(|_| ConsensusError::Shutdown)
    }

    fn read_barrier(&self) -> Result<i64, ConsensusError> {
        // `sync` goes through the log as an entry of its own (see the server), which orders it
        // after everything committed before it on every member.
        let applied = self
            .raft
            .metrics()
            .borrow_watched()
            .last_applied
            .as_ref()
            .map_or(0, |id| id.index);
        Ok(applied as i64)
    }

    fn role(&self) -> Role {
        self.status.borrow().role
    }

    fn compact(&self, _before_zxid: i64) {
        // Raft purges its own log behind the snapshots it triggers.
    }

    fn status(&self) -> watch::Receiver<Status> {
        self.status.subscribe()
    }

    fn send_to_leader(&self, message: Bytes) {
        let _ = self.to_leader.send(message);
    }
}
