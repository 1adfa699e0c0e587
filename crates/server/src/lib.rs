//! The Ferrokeeper server: a ZooKeeper-protocol front end over the consensus seam and the data tree.
//!
//! The life of a write: a connection decodes it and (in [`connection`]'s pipeline) turns it into a
//! [`proposal::Proposal`]; consensus orders it and stamps zxid and time; the [`apply`] task applies
//! it to the tree, fires watches and routes the reply back to the connection, which encodes and
//! writes it. A read skips consensus and goes straight to the apply task, behind its session's
//! earlier writes.

pub mod apply;
pub mod config;
pub mod connection;
pub mod connection_stats;
pub mod context;
pub mod dynamic_config;
pub mod ensemble;
pub mod four_letter;
pub mod listener;
pub mod outbound;
pub mod persistence;
pub mod proposal;
mod read_ahead;
pub mod sessions;
pub mod snapshots;
pub mod stats;
pub mod watches;
pub mod wire;

use apply::{ApplyInput, ApplyTask};
use config::ServerConfig;
use consensus::{Consensus, Role, SingleNode, SystemClock};
use context::ServerContext;
use proposal::Proposal;
use sessions::{SessionIdGenerator, SessionTracker};
use std::net::SocketAddr;
use std::sync::atomic::AtomicI64;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tree::{DataTree, Identity, TreeConfig, Txn};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Persistence(#[from] persistence::PersistenceError),
    #[error(transparent)]
    Snapshot(#[from] snapshots::LoadError),
    #[error("cannot start the log writer: {0}")]
    LogThread(std::io::Error),
    #[error(transparent)]
    EnsembleConfig(#[from] ensemble::EnsembleConfigError),
    #[error(transparent)]
    Ensemble(#[from] consensus::raft::EnsembleError),
    #[error("server id {0} is out of range: ids 0 to 255 are supported")]
    ServerId(u64),
    #[error("data directory {path} is in use by another server (lock file {lock})")]
    DataDirInUse {
        path: std::path::PathBuf,
        lock: std::path::PathBuf,
    },
}

/// A started server. Dropping it does not stop it; call [`RunningServer::shutdown`] or end the runtime.
pub struct RunningServer {
    pub local_addr: SocketAddr,
    /// The apply task first, then the rest (the listener last).
    tasks: Vec<tokio::task::JoinHandle<()>>,
    apply: mpsc::UnboundedSender<ApplyInput>,
    /// The consensus layer's status, to notice when it stops for good.
    status: tokio::sync::watch::Receiver<consensus::Status>,
    /// Held while the server runs so no second server opens the same data directory.
    _data_dir_lock: std::fs::File,
}

impl RunningServer {
    /// Stops accepting connections and stops the background tasks.
    pub fn shutdown(self) {
        for task in self.tasks {
            task.abort();
        }
    }

    /// Resolves once consensus has stopped for good (its log could not be written, or Raft
    /// stopped on a storage error; the log says why). The server then serves nothing: like
    /// ZooKeeper after a critical thread dies, the process should exit, so that whatever
    /// supervises it restarts it and it recovers from disk and the ensemble.
    pub async fn consensus_failed(&self) {
        let mut status = self.status.clone();
        // A closed channel means consensus is gone too.
        let _ = status.wait_for(|s| s.failed).await;
    }

    /// Stops as [`RunningServer::shutdown`] does, but first stops accepting connections and
    /// expiring sessions and lets a standalone server snapshot its tree, waiting at most `limit`
    /// for that, so that the next start replays no log. Sessions are not closed: as with
    /// ZooKeeper, they survive a restart within their timeout.
    pub async fn shutdown_gracefully(mut self, limit: Duration) {
        let apply = if self.tasks.is_empty() {
            None
        } else {
            Some(self.tasks.remove(0))
        };
        for task in self.tasks.drain(..).rev() {
            task.abort();
        }
        let (done, finished) = tokio::sync::oneshot::channel();
        if self.apply.send(ApplyInput::FinalSnapshot(done)).is_ok()
            && tokio::time::timeout(limit, finished).await.is_err()
        {
            tracing::warn!(
                "no snapshot at shutdown within {limit:?}; the next start replays the log"
            );
        }
        if let Some(apply) = apply {
            apply.abort();
        }
    }
}

/// Starts a standalone server (an ensemble of one) on the current tokio runtime.
pub async fn start(config: ServerConfig) -> Result<RunningServer, ServerError> {
    let server_id = config.my_id.unwrap_or(0);
    let server_id = u8::try_from(server_id).map_err(|_| ServerError::ServerId(server_id))?;
    std::fs::create_dir_all(&config.data_dir).map_err(|source| ServerError::DataDir {
        path: config.data_dir.clone(),
        source,
    })?;
    let data_dir_lock = lock_data_dir(&config.data_dir)?;
    let listen = config.client_addr();
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|source| ServerError::Bind {
            addr: listen,
            source,
        })?;
    let local_addr = listener.local_addr().map_err(|source| ServerError::Bind {
        addr: listen,
        source,
    })?;
    let tick_time = Duration::from_millis(config.tick_time_ms.max(1) as u64);
    let container_check_interval =
        Duration::from_millis(u64::from(config.container_check_interval_ms));
    let tree_config = TreeConfig {
        extended_types_enabled: config.extended_types_enabled,
        enforce_quota: config.enforce_quota,
        container_max_never_used_ms: i64::from(config.container_max_never_used_ms),
    };
    let tracker = Arc::new(SessionTracker::new());
    let (apply_tx, apply_rx) = mpsc::unbounded_channel();
    let (consensus, apply_task) = if ensemble::is_ensemble(&config) {
        let options = ensemble::options(&config)?;
        let env = consensus::raft::Environment::production();
        let (storage, mut tree) = ensemble::open_state(&options, &env, &config, &tree_config)?;
        dynamic_config::init_config_node(&mut tree, &config);
        let applied_zxid = Arc::new(AtomicI64::new(tree.last_zxid()));
        let apply_task = ApplyTask::new(
            tree,
            Arc::clone(&tracker),
            Arc::clone(&applied_zxid),
            u64::from(server_id),
            None,
        );
        let host = Arc::new(ensemble::ServerHost {
            apply: apply_tx.clone(),
            tree_config,
            tracker: Arc::clone(&tracker),
        });
        let raft = consensus::raft::RaftConsensus::start(options, storage, host).await?;
        let consensus: Arc<dyn Consensus<Proposal>> = Arc::new(raft);
        (consensus, (apply_task, applied_zxid))
    } else {
        // The log is verified on a thread of its own while the snapshot loads: neither needs
        // the other until replay, and segments the snapshot covers are left unverified.
        let (snapshot_store, latest) = snapshots::find_latest(&config)?;
        let covered_through = latest.as_ref().map(|latest| latest.index);
        let (loaded, opened) = std::thread::scope(|scope| {
            let log = scope.spawn(|| persistence::open_log(&config, covered_through));
            let loaded = latest
                .as_ref()
                .map(|latest| snapshots::load(&snapshot_store, latest, tree_config.clone()))
                .transpose();
            let opened = log
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (loaded, opened)
        });
        let snapshot = loaded?;
        let base = snapshot.unwrap_or_else(|| DataTree::with_config(tree_config));
        let snapshot_zxid = base.last_zxid();
        let recovered = persistence::recover(&config, opened?, base)?;
        let tree = recovered.tree;
        let applied_zxid = Arc::new(AtomicI64::new(tree.last_zxid()));
        // Committed batches go straight into the apply task's ordered input, no relay task between.
        let commit_tx = apply_tx.clone();
        let committed = move |batch| commit_tx.send(ApplyInput::Committed(batch)).is_ok();
        let consensus: Arc<dyn Consensus<Proposal>> = Arc::new(
            SingleNode::start_durable(
                tree.last_zxid(),
                Arc::new(SystemClock),
                committed,
                Box::new(persistence::WalStore::new(recovered.wal)),
            )
            .map_err(ServerError::LogThread)?,
        );
        let snapshotter = snapshots::Snapshotter::new(
            snapshot_store,
            Arc::clone(&consensus),
            config.snap_count,
            snapshot_zxid,
        );
        let apply_task = ApplyTask::new(
            tree,
            Arc::clone(&tracker),
            Arc::clone(&applied_zxid),
            u64::from(server_id),
            Some(snapshotter),
        );
        (consensus, (apply_task, applied_zxid))
    };
    let (apply_task, applied_zxid) = apply_task;
    let mut tasks = vec![tokio::spawn(apply_task.run(apply_rx))];
    let now_ms = consensus::Clock::now_ms(&SystemClock);
    let apply_for_shutdown = apply_tx.clone();
    let status = consensus.status();
    let ctx = Arc::new(ServerContext::new(
        apply_tx,
        consensus,
        tracker,
        SessionIdGenerator::new(server_id, now_ms),
        applied_zxid,
        Arc::new(config),
    ));
    tasks.push(tokio::spawn(ensemble::report_sessions(
        Arc::clone(&ctx),
        tick_time,
    )));
    tasks.push(tokio::spawn(expire_sessions(Arc::clone(&ctx), tick_time)));
    tasks.push(tokio::spawn(sweep_containers(
        Arc::clone(&ctx),
        container_check_interval,
    )));
    tasks.push(tokio::spawn(listener::accept_loop(ctx, listener)));
    tracing::info!("serving ZooKeeper clients on {local_addr}");
    Ok(RunningServer {
        local_addr,
        tasks,
        apply: apply_for_shutdown,
        status,
        _data_dir_lock: data_dir_lock,
    })
}

/// Takes an exclusive lock on `dir/.lock`, released when the returned file is dropped (or the
/// process dies), so two servers never write one data directory.
fn lock_data_dir(dir: &std::path::Path) -> Result<std::fs::File, ServerError> {
    let lock = dir.join(".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .map_err(|source| ServerError::DataDir {
            path: dir.to_owned(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(ServerError::DataDirInUse {
            path: dir.to_owned(),
            lock,
        }),
        Err(std::fs::TryLockError::Error(source)) => Err(ServerError::DataDir {
            path: dir.to_owned(),
            source,
        }),
    }
}

fn housekeeping(session_id: i64, txn: Txn) -> Arc<Proposal> {
    Arc::new(Proposal {
        session_id,
        origin: None,
        identity: Arc::new(Identity::default()),
        txn,
    })
}

/// Proposes `CloseSession` for every session silent past its timeout (the leader's job; a new
/// leader first gives every session a full timeout).
async fn expire_sessions(ctx: Arc<ServerContext>, tick: Duration) {
    let mut interval = tokio::time::interval((tick / 2).max(Duration::from_millis(10)));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut leading = false;
    loop {
        interval.tick().await;
        let status = *ctx.consensus.status().borrow();
        let now_leading = matches!(status.role, Role::Leader | Role::Standalone) && status.serving;
        if now_leading && !leading {
            ctx.tracker.touch_all();
        }
        leading = now_leading;
        if !leading {
            continue;
        }
        for session_id in ctx.tracker.take_expired() {
            tracing::info!("expiring session {session_id:#x}");
            if let Err(e) = ctx
                .consensus
                .propose(housekeeping(session_id, Txn::CloseSession))
            {
                tracing::info!("cannot expire session {session_id:#x} now: {e}");
                break;
            }
        }
    }
}

/// Deletes empty containers and expired TTL nodes, through the log like any write.
async fn sweep_containers(ctx: Arc<ServerContext>, every: Duration) {
    let mut interval = tokio::time::interval(every.max(Duration::from_millis(10)));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let status = *ctx.consensus.status().borrow();
        if !(matches!(status.role, Role::Leader | Role::Standalone) && status.serving) {
            continue;
        }
        let now_ms = consensus::Clock::now_ms(&SystemClock);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let inspect = ApplyInput::Inspect(Box::new(move |view| {
            let _ = tx.send(view.tree.expired_candidates(now_ms));
        }));
        if ctx.apply.send(inspect).is_err() {
            return;
        }
        let Ok(paths) = rx.await else { return };
        for path in paths {
            if ctx
                .consensus
                .propose(housekeeping(0, Txn::DeleteExpired { path }))
                .is_err()
            {
                break;
            }
        }
    }
}
