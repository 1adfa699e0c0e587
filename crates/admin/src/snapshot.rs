//! The plain data a server hands over for rendering. Nothing here is live: the server copies its
//! counters and tables in, and only the parts [`crate::needs`] asks for.

use std::net::SocketAddr;

/// Everything any word may print. Fields a word does not need may stay at their defaults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// ZooKeeper's `isZKServerRunning()`: false while electing or without a quorum. Then every
    /// word but `ruok`, `envi` and `isro` answers [`crate::NOT_SERVING`].
    pub serving: bool,
    /// See [`crate::full_version`].
    pub version: String,
    /// Always filled: cheap counters.
    pub server: ServerStats,
    /// `stat`, `cons`: every client connection, including the one asking.
    pub connections: Vec<ConnectionStats>,
    /// `wchs`.
    pub watch_summary: WatchSummary,
    /// `wchc`, `wchp`: the data-watch table (ZooKeeper's `dataWatches`; child watches are not
    /// listed by these words, though `zk_watch_count` counts them).
    pub data_watches: Vec<DataWatch>,
    /// `dump`: every session.
    pub sessions: Vec<SessionInfo>,
    /// `dump`: ephemeral nodes by owner.
    pub ephemerals: Vec<SessionEphemerals>,
    /// `dump`: connection idle-expiry; `None` prints nothing under `Connections dump:`, as
    /// ZooKeeper's Netty connection factory does.
    pub connection_expiry: Option<Vec<ConnectionExpiry>>,
    /// `conf`: key/value lines in order (the server's `ServerConfig::conf_lines`).
    pub conf: Vec<(String, String)>,
    /// `conf`, ensemble members only: the current membership, printed after the lines.
    pub membership: Option<Membership>,
    /// `envi`: key/value lines in order (see [`crate::environment`]).
    pub environment: Vec<(String, String)>,
    /// `dirs`.
    pub dir_sizes: DirSizes,
    /// `mntr`: the values beyond [`ServerStats`].
    pub monitor: Monitor,
}

/// The role printed as `Mode:` and `zk_server_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ServerState {
    /// An ensemble of one.
    #[default]
    Standalone,
    /// Ensemble leader.
    Leader,
    /// Voting ensemble member following a leader.
    Follower,
    /// Non-voting ensemble member.
    Observer,
    /// Partitioned from the quorum, serving read-only sessions (`isro` answers `ro`).
    ReadOnly,
}

impl ServerState {
    /// ZooKeeper's `getState()` text.
    pub fn name(self) -> &'static str {
        match self {
            ServerState::Standalone => "standalone",
            ServerState::Leader => "leader",
            ServerState::Follower => "follower",
            ServerState::Observer => "observer",
            ServerState::ReadOnly => "read-only",
        }
    }
}

/// Request latencies. Kept in microseconds (our requests often take less than ZooKeeper's 1 ms
/// resolution); printed in ms as ZooKeeper does: min and max truncated, the server-wide average
/// rounded half-up to 4 decimals, the per-connection average truncated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Latency {
    /// Requests measured.
    pub count: u64,
    /// Sum of their latencies.
    pub total_us: u64,
    /// Smallest; meaningless when `count` is 0.
    pub min_us: u64,
    /// Largest; meaningless when `count` is 0.
    pub max_us: u64,
}

impl Latency {
    /// Adds one measurement.
    pub fn record(&mut self, us: u64) {
        self.min_us = if self.count == 0 {
            us
        } else {
            self.min_us.min(us)
        };
        self.max_us = self.max_us.max(us);
        self.count += 1;
        self.total_us = self.total_us.saturating_add(us);
    }

    /// Minimum in whole ms; 0 before the first measurement.
    pub fn min_ms(&self) -> u64 {
        if self.count == 0 {
            0
        } else {
            self.min_us / 1000
        }
    }

    /// Maximum in whole ms; 0 before the first measurement.
    pub fn max_ms(&self) -> u64 {
        if self.count == 0 {
            0
        } else {
            self.max_us / 1000
        }
    }

    /// Mean in whole ms, truncated (a connection's `avglat`).
    pub fn avg_ms_truncated(&self) -> u64 {
        self.total_us.checked_div(self.count).unwrap_or(0) / 1000
    }

    /// Mean in ms as ZooKeeper prints it (`3.3529`, `0.0`).
    pub fn avg_ms_text(&self) -> String {
        crate::format::rounded_ratio(self.total_us as u128, self.count as u128 * 1000)
    }
}

/// Sizes in bytes of the last, smallest and largest buffer; -1 before the first, as in ZooKeeper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferSizes {
    /// Most recent.
    pub last: i64,
    /// Smallest.
    pub min: i64,
    /// Largest.
    pub max: i64,
}

impl BufferSizes {
    /// Nothing recorded yet.
    pub const NONE: BufferSizes = BufferSizes {
        last: -1,
        min: -1,
        max: -1,
    };
}

impl Default for BufferSizes {
    fn default() -> Self {
        BufferSizes::NONE
    }
}

/// Server-wide counters (ZooKeeper's `ServerStats`), always filled.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerStats {
    /// Role.
    pub state: ServerState,
    /// Client request latencies since start or the last `srst`.
    pub latency: Latency,
    /// Packets read from clients (a four-letter word counts as one).
    pub packets_received: u64,
    /// Packets written to clients.
    pub packets_sent: u64,
    /// Open client connections, including the one asking.
    pub alive_connections: u64,
    /// Requests received and not yet answered.
    pub outstanding_requests: u64,
    /// The last zxid applied to this server's tree.
    pub last_processed_zxid: i64,
    /// Nodes in the tree. ZooKeeper counts the root twice (`""` and `/`), so a fresh server
    /// reports 5; report the same to match.
    pub node_count: u64,
    /// Leader only: proposal sizes (`Proposal sizes last/min/max:`, `zk_*_proposal_size`).
    pub proposal_sizes: Option<BufferSizes>,
}

/// One client connection (ZooKeeper's `ServerCnxn` statistics).
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionStats {
    /// The client's address.
    pub remote: SocketAddr,
    /// Java NIO interest set, printed in hex: 1 while waiting to read, 5 with writes pending,
    /// 0 for the connection running the four-letter word itself.
    pub interest_ops: u32,
    /// Requests received and not yet answered on this connection (`queued=`).
    pub outstanding_requests: u64,
    /// Packets read (`recved=`).
    pub packets_received: u64,
    /// Packets written (`sent=`).
    pub packets_sent: u64,
    /// Set once the connection has a session; `cons` prints the details only then.
    pub session: Option<ConnectionSession>,
}

/// The per-session part of `cons`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionSession {
    /// Session id.
    pub session_id: i64,
    /// Last operation answered, in ZooKeeper's short form (see [`crate::last_operation`]);
    /// `NA` before any and after `crst`.
    pub last_operation: String,
    /// Wall-clock ms when the connection was established.
    pub established_ms: i64,
    /// Negotiated session timeout.
    pub session_timeout_ms: i32,
    /// Last client xid answered (not the special negative ones); `None` before any and after `crst`.
    pub last_cxid: Option<i32>,
    /// Zxid in the last reply; -1 before any and after `crst`.
    pub last_zxid: i64,
    /// Monotonic ms (ZooKeeper's `Time.currentElapsedTime()`) of the last reply; 0 after `crst`.
    pub last_response_ms: i64,
    /// Latency of the last reply in ms.
    pub last_latency_ms: u64,
    /// This connection's latencies.
    pub latency: Latency,
}

/// `wchs`: the size of the data-watch table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WatchSummary {
    /// Connections with at least one watch.
    pub connections: u64,
    /// Paths with at least one watch.
    pub paths: u64,
    /// Watches in all.
    pub watches: u64,
}

impl WatchSummary {
    /// The summary of a full table, for servers that would rather not count separately.
    pub fn from_watches(watches: &[DataWatch]) -> WatchSummary {
        let mut sessions: Vec<i64> = watches.iter().map(|w| w.session_id).collect();
        sessions.sort_unstable();
        sessions.dedup();
        let mut paths: Vec<&str> = watches.iter().map(|w| w.path.as_str()).collect();
        paths.sort_unstable();
        paths.dedup();
        let mut pairs: Vec<(i64, &str)> = watches
            .iter()
            .map(|w| (w.session_id, w.path.as_str()))
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        WatchSummary {
            connections: sessions.len() as u64,
            paths: paths.len() as u64,
            watches: pairs.len() as u64,
        }
    }
}

/// One data watch: `session_id`'s connection watches `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataWatch {
    /// The watched path.
    pub path: String,
    /// The watching connection's session.
    pub session_id: i64,
}

/// One session, for `dump`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionInfo {
    /// Session id.
    pub session_id: i64,
    /// Negotiated timeout (printed by followers and observers).
    pub timeout_ms: i32,
    /// Wall-clock ms of the expiry bucket the session is in (printed by leaders and standalone
    /// servers; sessions sharing a value are printed as one set).
    pub expires_at_ms: i64,
}

/// The ephemeral nodes one session owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEphemerals {
    /// Owner.
    pub session_id: i64,
    /// Paths it owns.
    pub paths: Vec<String>,
}

/// A connection's idle expiry, for `dump`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionExpiry {
    /// The client's address.
    pub remote: SocketAddr,
    /// Its session, 0 before the handshake.
    pub session_id: i64,
    /// Wall-clock ms of its expiry bucket.
    pub expires_at_ms: i64,
}

/// The ensemble as `conf` prints it after `membership: `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// `(id, spec)` where spec is the `server.N` value in ZooKeeper's canonical form
    /// (`host:quorumPort:electionPort:participant;clientHost:clientPort`).
    pub servers: Vec<(u64, String)>,
    /// Configuration version (printed in hex).
    pub version: i64,
}

/// `dirs` (and `conf`'s `dataDirSize`/`dataLogSize`): bytes under each directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DirSizes {
    /// Bytes under dataDir.
    pub data_dir: u64,
    /// Bytes under dataLogDir.
    pub log_dir: u64,
}

/// `mntr` values beyond [`ServerStats`]. Everything here must be measured, not made up: a key
/// whose value is unknown is left out (`Option`) rather than printed as 0.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Monitor {
    /// Ensemble members: `leading - broadcast`, `following - broadcast`, …
    pub peer_state: Option<String>,
    /// Observers: the id of the server they observe.
    pub observer_master_id: Option<u64>,
    /// Ms since the server started.
    pub uptime_ms: u64,
    /// Data watches plus child watches.
    pub watch_count: u64,
    /// Ephemeral nodes.
    pub ephemerals_count: u64,
    /// Sum over nodes of path length plus data length (ZooKeeper's `approximateDataSize`).
    pub approximate_data_size: u64,
    /// Sessions known ensemble-wide.
    pub global_sessions: u64,
    /// Local (non-replicated) sessions.
    pub local_sessions: u64,
    /// Open file descriptors, when the OS tells (see [`crate::file_descriptors`]).
    pub open_file_descriptor_count: Option<u64>,
    /// The descriptor limit, when the OS tells.
    pub max_file_descriptor_count: Option<u64>,
    /// Sizes of replies to clients.
    pub client_response_sizes: BufferSizes,
    /// Failed authentications.
    pub auth_failed_count: u64,
    /// Ensemble members: voters in the current configuration.
    pub quorum_size: Option<u64>,
    /// Leaders and followers: observers synced to this server.
    pub synced_observers: Option<u64>,
    /// Leader only.
    pub leader: Option<LeaderMonitor>,
    /// Further `zk_<name>` lines, printed in order after the fixed ones.
    pub extra: Vec<(String, MetricValue)>,
    /// Distributions, printed as `zk_{avg,min,max,cnt,sum}_<name>` and, when present,
    /// `zk_p{50,95,99,999}_<name>`.
    pub summaries: Vec<Summary>,
}

/// Leader-only `mntr` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LeaderMonitor {
    /// Connected learners (followers and observers).
    pub learners: u64,
    /// Followers in sync.
    pub synced_followers: u64,
    /// Followers in sync that do not vote.
    pub synced_non_voting_followers: u64,
    /// `sync` requests waiting.
    pub pending_syncs: u64,
    /// Ms since this server became leader.
    pub leader_uptime_ms: u64,
}

/// A `zk_<name>` value as ZooKeeper formats it.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricValue {
    /// Printed as is.
    Int(i64),
    /// Printed as Java's `Double.toString` (`0.0`, `2.5`, `1.0E7`).
    Float(f64),
    /// Printed as is.
    Text(String),
}

/// A distribution of integer samples.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    /// The name after `zk_avg_` etc.
    pub name: String,
    /// Samples.
    pub count: u64,
    /// Their sum.
    pub sum: u64,
    /// Smallest (printed as 0 when `count` is 0).
    pub min: u64,
    /// Largest (printed as 0 when `count` is 0).
    pub max: u64,
    /// Quantiles, for summaries that keep them.
    pub percentiles: Option<Percentiles>,
}

/// Quantiles of a [`Summary`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Percentiles {
    /// Median.
    pub p50: u64,
    /// 95th percentile.
    pub p95: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_matches_zookeeper_arithmetic() {
        let mut l = Latency::default();
        assert_eq!(
            (l.min_ms(), l.avg_ms_text(), l.max_ms()),
            (0, "0.0".into(), 0)
        );
        for us in [2_500, 13_999, 400] {
            l.record(us);
        }
        assert_eq!(l.count, 3);
        assert_eq!(l.min_ms(), 0);
        assert_eq!(l.max_ms(), 13);
        // 16.899 ms / 3 = 5.633 ms.
        assert_eq!(l.avg_ms_text(), "5.633");
        assert_eq!(l.avg_ms_truncated(), 5);
    }

    #[test]
    fn watch_summary_counts_distinct_connections_paths_and_pairs() {
        let w = |path: &str, session_id| DataWatch {
            path: path.to_owned(),
            session_id,
        };
        let table = [w("/a", 1), w("/a", 2), w("/b", 2), w("/b", 2)];
        assert_eq!(
            WatchSummary::from_watches(&table),
            WatchSummary {
                connections: 2,
                paths: 2,
                watches: 3
            }
        );
    }

    #[test]
    fn server_state_names() {
        let names: Vec<&str> = [
            ServerState::Standalone,
            ServerState::Leader,
            ServerState::Follower,
            ServerState::Observer,
            ServerState::ReadOnly,
        ]
        .iter()
        .map(|s| s.name())
        .collect();
        assert_eq!(
            names,
            ["standalone", "leader", "follower", "observer", "read-only"]
        );
    }
}
