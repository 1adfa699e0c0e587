//! What every connection shares: the way into the apply task and consensus, and the limits.

use crate::apply::ApplyInput;
use crate::config::ServerConfig;
use crate::connection_stats::ConnectionRegistry;
use crate::proposal::Proposal;
use crate::sessions::{SessionIdGenerator, SessionTracker};
use crate::stats::ServerStats;
use consensus::Consensus;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

/// The settings the request pipeline enforces (derived from the server configuration).
#[derive(Debug, Clone)]
pub struct Limits {
    /// `jute.maxbuffer`.
    pub max_buffer: usize,
    pub min_session_timeout_ms: i32,
    pub max_session_timeout_ms: i32,
    /// Requests one connection may have in flight before the server stops reading from it.
    pub max_outstanding_per_connection: usize,
    /// Connections one client IP may hold; 0 means no limit (`maxClientCnxns`).
    pub max_client_cnxns: usize,
    /// `super:<base64 sha1>`: authenticating with this digest grants every permission.
    pub super_digest: Option<String>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_buffer: jute::frame::DEFAULT_MAX_BUFFER,
            min_session_timeout_ms: 4_000,
            max_session_timeout_ms: 40_000,
            max_outstanding_per_connection: 1_000,
            max_client_cnxns: 60,
            super_digest: None,
        }
    }
}

impl Limits {
    /// The limits a configuration sets.
    pub fn from_config(config: &crate::config::ServerConfig) -> Self {
        Self {
            max_buffer: config.jute_max_buffer as usize,
            min_session_timeout_ms: config.min_session_timeout_ms(),
            max_session_timeout_ms: config.max_session_timeout_ms(),
            max_outstanding_per_connection: config.global_outstanding_limit as usize,
            max_client_cnxns: config.max_client_cnxns as usize,
            super_digest: config.super_digest.clone(),
        }
    }

    /// Clamps a client's requested session timeout into the configured range, as ZooKeeper does.
    pub fn negotiate_timeout(&self, requested_ms: i32) -> i32 {
        requested_ms
            .max(self.min_session_timeout_ms)
            .min(self.max_session_timeout_ms)
    }
}

/// Shared by the listener and every connection task.
pub struct ServerContext {
    pub apply: mpsc::UnboundedSender<ApplyInput>,
    pub consensus: Arc<dyn Consensus<Proposal>>,
    pub tracker: Arc<SessionTracker>,
    pub session_ids: SessionIdGenerator,
    /// The zxid of the last txn the apply task applied.
    pub applied_zxid: Arc<AtomicI64>,
    pub limits: Limits,
    /// This server's id (`myid`; 0 when standalone without one).
    pub server_id: u64,
    pub config: Arc<ServerConfig>,
    pub stats: Arc<ServerStats>,
    pub connections: ConnectionRegistry,
    /// When the server started, for `zk_uptime`.
    pub started: std::time::Instant,
    next_conn_id: AtomicU64,
}

impl ServerContext {
    pub fn new(
        apply: mpsc::UnboundedSender<ApplyInput>,
        consensus: Arc<dyn Consensus<Proposal>>,
        tracker: Arc<SessionTracker>,
        session_ids: SessionIdGenerator,
        applied_zxid: Arc<AtomicI64>,
        config: Arc<ServerConfig>,
    ) -> Self {
        Self {
            apply,
            consensus,
            tracker,
            session_ids,
            applied_zxid,
            limits: Limits::from_config(&config),
            server_id: config.my_id.unwrap_or(0),
            config,
            stats: Arc::new(ServerStats::new()),
            connections: ConnectionRegistry::default(),
            started: std::time::Instant::now(),
            next_conn_id: AtomicU64::new(first_conn_id()),
        }
    }

    /// A connection id never used by this server before, in this run or an earlier one: a write
    /// proposed by an earlier run can commit after a restart, and its reply must then find no
    /// connection rather than some other client's that reuses the id.
    pub fn next_conn_id(&self) -> u64 {
        self.next_conn_id.fetch_add(1, Ordering::Relaxed)
    }

    pub fn applied_zxid(&self) -> i64 {
        self.applied_zxid.load(Ordering::Acquire)
    }
}

/// Connection ids of one run start at its start time in milliseconds shifted left by 20 bits, so
/// a run's ids stay below the next run's unless it accepted over a million connections per
/// millisecond of uptime.
fn first_conn_id() -> u64 {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    (ms << 20) | 1
}
