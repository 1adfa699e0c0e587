//! Server configuration: ZooKeeper's `zoo.cfg` read the way ZooKeeper 3.9 reads it, plus our
//! embedded defaults for running without a file.
//!
//! Keys ZooKeeper passes through as `zookeeper.<key>` system properties (`4lw.commands.whitelist`,
//! `extendedTypesEnabled`, `DigestAuthenticationProvider.superDigest`, `globalOutstandingLimit`)
//! are read from the file directly, as they are in a real zoo.cfg. Unknown keys are logged and
//! skipped, never fatal, so a zoo.cfg written for ZooKeeper loads unchanged.

mod properties;
mod quorum;
#[cfg(test)]
mod tests;

pub use quorum::{ClientAddress, LearnerType, QuorumServer};

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

/// ZooKeeper's basic time unit in milliseconds.
pub const DEFAULT_TICK_TIME_MS: i32 = 2000;
/// ZooKeeper's client port.
pub const DEFAULT_CLIENT_PORT: u16 = 2181;
/// Connections per client IP; 0 means unlimited.
pub const DEFAULT_MAX_CLIENT_CNXNS: u32 = 60;
/// `jute.maxbuffer`: the largest znode payload and  packet.
pub const DEFAULT_JUTE_MAX_BUFFER: u32 = 0xfffff;
/// Requests in flight server-wide before reads from clients are paused.
pub const DEFAULT_GLOBAL_OUTSTANDING_LIMIT: u32 = 1000;
/// Our whitelist when the file names none (ZooKeeper's own default is `srvr` alone; these are the
/// read-only words health checks and monitoring tools use).
pub const DEFAULT_FOUR_LETTER_WORDS: [&str; 5] = ["srvr", "ruok", "mntr", "stat", "isro"];
/// Where data lives when nothing says otherwise.
pub const DEFAULT_DATA_DIR: &str = "./data";

/// Why a configuration could not be loaded. Every variant names the key (or file) and the value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file (zoo.cfg or myid) could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A `\\u` escape without four hex digits (Java rejects these too).
    #[error("zoo.cfg line {line}: malformed \\uxxxx escape")]
    MalformedEscape {
        /// 1-based line number.
        line: usize,
    },
    /// A known key with a value it cannot take.
    #[error("invalid value {value:?} for {key}: {reason}")]
    InvalidValue {
        /// The key as written.
        key: String,
        /// The value as written (trimmed).
        value: String,
        /// What was expected.
        reason: String,
    },
    /// The effective minSessionTimeout exceeds the effective maxSessionTimeout.
    #[error("minSessionTimeout={min} must not be larger than maxSessionTimeout={max}")]
    SessionTimeoutRange {
        /// Effective minimum in ms.
        min: i32,
        /// Effective maximum in ms.
        max: i32,
    },
    /// A ZooKeeper feature we refuse rather than silently ignore, because ignoring it would change
    /// the ensemble's behaviour.
    #[error("{key} is not supported: {reason}")]
    Unsupported {
        /// The key as written.
        key: String,
        /// What to do instead.
        reason: String,
    },
    /// Two differently written keys (`server.1`, `server.01`) name one server.
    #[error("{first} and {second} both name server id {id}")]
    DuplicateServer {
        /// The server id.
        id: u64,
        /// The first key.
        first: String,
        /// The second key.
        second: String,
    },
    /// The first line of `myid` is not a server id.
    #[error("invalid myid file {path}: {value:?} is not a server id")]
    InvalidMyId {
        /// The myid file.
        path: PathBuf,
        /// Its first line, trimmed.
        value: String,
    },
    /// The `server.N` lines, `myid` and limits do not make a usable ensemble.
    #[error("invalid ensemble: {0}")]
    Ensemble(String),
}

/// Which four-letter words may run (`4lw.commands.whitelist`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FourLetterWhitelist {
    /// `*`: every word ZooKeeper knows.
    All,
    /// The listed words.
    Only(BTreeSet<String>),
}

impl Default for FourLetterWhitelist {
    fn default() -> Self {
        FourLetterWhitelist::Only(
            DEFAULT_FOUR_LETTER_WORDS
                .iter()
                .map(|w| (*w).to_owned())
                .collect(),
        )
    }
}

/// Everything a server reads from zoo.cfg. Fields keep ZooKeeper's meaning; `Option` marks values
/// whose default depends on another field.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// `tickTime` in ms; always positive.
    pub tick_time_ms: i32,
    /// `dataDir`: snapshots, `myid`, and the log unless `data_log_dir` is set.
    pub data_dir: PathBuf,
    /// `dataLogDir`; `None` means the same as `data_dir`.
    pub data_log_dir: Option<PathBuf>,
    /// `clientPort`.
    pub client_port: u16,
    /// `clientPortAddress` (ours defaults to loopback; ZooKeeper's to every interface).
    pub client_port_address: IpAddr,
    /// `maxClientCnxns` per client IP; 0 = unlimited.
    pub max_client_cnxns: u32,
    /// `minSessionTimeout` in ms; `None` = 2 × tickTime.
    pub min_session_timeout_ms: Option<i32>,
    /// `maxSessionTimeout` in ms; `None` = 20 × tickTime.
    pub max_session_timeout_ms: Option<i32>,
    /// `jute.maxbuffer` in bytes; always positive.
    pub jute_max_buffer: u32,
    /// `4lw.commands.whitelist`.
    pub four_letter_words: FourLetterWhitelist,
    /// `globalOutstandingLimit`; always positive.
    pub global_outstanding_limit: u32,
    /// `readonlymode.enabled`: serve read-only sessions without a quorum.
    pub read_only_mode_enabled: bool,
    /// `extendedTypesEnabled`: TTL nodes.
    pub extended_types_enabled: bool,
    /// `DigestAuthenticationProvider.superDigest`: a whole `user:base64(sha1(user:password))` id;
    /// a client authenticated as exactly this id passes every ACL check.
    pub super_digest: Option<String>,
    /// `initLimit` in ticks (ensemble only).
    pub init_limit: u32,
    /// `syncLimit` in ticks (ensemble only).
    pub sync_limit: u32,
    /// `clientPortListenBacklog`; -1 = the system default.
    pub client_port_listen_backlog: i32,
    /// `standaloneEnabled`: a single `server.N` line still means standalone.
    pub standalone_enabled: bool,
    /// `peerType`; the `server.N` line of this server wins when both are given.
    pub peer_type: LearnerType,
    /// `server.N` lines, sorted by id.
    pub servers: Vec<QuorumServer>,
    /// The `myid` file's value, when one was read.
    pub my_id: Option<u64>,
    /// `znode.container.checkIntervalMs`: how often empty containers and expired TTL nodes are
    /// swept (ZooKeeper reads it as a system property; here it is also a zoo.cfg key).
    pub container_check_interval_ms: u32,
    /// `znode.container.maxNeverUsedIntervalMs`: a container that never had a child may be swept
    /// this long after its last change; 0 (ZooKeeper's default) keeps it forever.
    pub container_max_never_used_ms: u32,
    /// `snapCount`: about how many txns between snapshots (each server picks a random point in
    /// the second half, so an ensemble does not snapshot all at once).
    pub snap_count: u32,
    /// `preAllocSize` (KiB; ZooKeeper reads it as a system property): the size of each log
    /// segment. Segments grow as records arrive rather than being reserved up front (see
    /// docs/formats/wal.md for why).
    pub pre_alloc_size_kb: u32,
    /// `enforceQuota`: hard quotas under `/zookeeper/quota` reject writes with `QuotaExceeded`.
    pub enforce_quota: bool,
    /// Keys neither we nor ZooKeeper know; each was also logged with `tracing::warn!`.
    pub unknown_keys: Vec<String>,
    /// Whether `clientPort` was given, so a `server.N` client port can be checked against it.
    client_port_given: bool,
}

impl Default for ServerConfig {
    /// The embedded default: standalone, loopback, `./data`.
    fn default() -> Self {
        ServerConfig {
            tick_time_ms: DEFAULT_TICK_TIME_MS,
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            data_log_dir: None,
            client_port: DEFAULT_CLIENT_PORT,
            client_port_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            max_client_cnxns: DEFAULT_MAX_CLIENT_CNXNS,
            min_session_timeout_ms: None,
            max_session_timeout_ms: None,
            jute_max_buffer: DEFAULT_JUTE_MAX_BUFFER,
            four_letter_words: FourLetterWhitelist::default(),
            global_outstanding_limit: DEFAULT_GLOBAL_OUTSTANDING_LIMIT,
            read_only_mode_enabled: false,
            extended_types_enabled: false,
            super_digest: None,
            init_limit: 10,
            sync_limit: 5,
            client_port_listen_backlog: -1,
            standalone_enabled: true,
            peer_type: LearnerType::Participant,
            servers: Vec::new(),
            my_id: None,
            container_check_interval_ms: 60_000,
            container_max_never_used_ms: 0,
            enforce_quota: false,
            snap_count: 100_000,
            pre_alloc_size_kb: 65_536,
            unknown_keys: Vec::new(),
            client_port_given: false,
        }
    }
}

/// Keys ZooKeeper accepts that change nothing here (yet); they are logged at debug level.
const KNOWN_IGNORED_KEYS: &[&str] = &[
    "admin.commandURL",
    "admin.enableServer",
    "admin.idleTimeout",
    "admin.portUnification",
    "admin.serverAddress",
    "admin.serverPort",
    "audit.enable",
    "autopurge.purgeInterval",
    "autopurge.snapRetainCount",
    "closeSessionTxn.enabled",
    "cnxTimeout",
    "commitLogCount",
    "connectToLearnerMasterLimit",
    "digest.enabled",
    "electionPortBindRetry",
    "forceSync",
    "fsync.warningthresholdms",
    "jvm.pause.info-threshold.ms",
    "jvm.pause.monitor",
    "jvm.pause.sleep.time.ms",
    "jvm.pause.warn-threshold.ms",
    "leaderServes",
    "learner.asyncSending",
    "localSessionsEnabled",
    "localSessionsUpgradingEnabled",
    "maxCnxns",
    "metricsProvider.className",
    "multiAddress.enabled",
    "multiAddress.reachabilityCheckEnabled",
    "multiAddress.reachabilityCheckTimeoutMs",
    "observerMasterPort",
    "portUnification",
    "quorum.cnxn.threads.size",
    "quorumListenOnAllIPs",
    "reconfigEnabled",
    "secureClientPort",
    "secureClientPortAddress",
    "serverCnxnFactory",
    "skipACL",
    "snapSizeLimitInKb",
    "sslQuorum",
    "sslQuorumReloadCertFiles",
    "syncEnabled",
    "txnLogSizeLimitInKb",
];

/// Prefixes of key families ZooKeeper accepts that change nothing here.
const KNOWN_IGNORED_PREFIXES: &[&str] = &[
    "authProvider.",
    "metricsProvider.",
    "quorum.auth.",
    "ssl.",
    "ssl.quorum.",
];

impl ServerConfig {
    /// Reads a zoo.cfg, then `myid` from its dataDir, and checks the ensemble settings.
    pub fn from_file(path: impl AsRef<Path>) -> Result<ServerConfig, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_owned(),
            source,
        })?;
        let mut config = ServerConfig::from_str_contents(&text)?;
        config.read_my_id()?;
        config.check_ensemble_identity()?;
        Ok(config)
    }

    /// Parses zoo.cfg text. Touches no files: `myid` is read by [`ServerConfig::from_file`] or
    /// [`ServerConfig::read_my_id`].
    pub fn from_str_contents(text: &str) -> Result<ServerConfig, ConfigError> {
        let props =
            properties::parse(text).map_err(|e| ConfigError::MalformedEscape { line: e.line })?;
        let mut config = ServerConfig::default();
        let mut servers: BTreeMap<u64, (String, QuorumServer)> = BTreeMap::new();
        for prop in props {
            let key = prop.key.trim();
            let value = prop.value.trim();
            if let Some(id) = key.strip_prefix("server.") {
                let (id, server) = parse_server_line(key, id, value)?;
                if let Some((first, _)) = servers.get(&id) {
                    if first != key {
                        return Err(ConfigError::DuplicateServer {
                            id,
                            first: first.clone(),
                            second: key.to_owned(),
                        });
                    }
                }
                servers.insert(id, (key.to_owned(), server));
            } else {
                config.apply(key, value, prop.line)?;
            }
        }
        config.servers = servers.into_values().map(|(_, s)| s).collect();
        config.validate()?;
        Ok(config)
    }

    /// Uses `port` as the client port (e.g. from a command-line flag).
    pub fn with_port(mut self, port: u16) -> ServerConfig {
        self.client_port = port;
        self.client_port_given = true;
        self
    }

    /// Uses `dir` as dataDir (and as dataLogDir unless that was set separately).
    pub fn with_data_dir(mut self, dir: PathBuf) -> ServerConfig {
        self.data_dir = dir;
        self
    }

    /// Binds the client port on `address`.
    pub fn with_client_port_address(mut self, address: IpAddr) -> ServerConfig {
        self.client_port_address = address;
        self
    }

    /// The address clients connect to.
    pub fn client_addr(&self) -> SocketAddr {
        SocketAddr::new(self.client_port_address, self.client_port)
    }

    /// dataLogDir, defaulting to dataDir.
    pub fn data_log_dir(&self) -> &Path {
        self.data_log_dir.as_deref().unwrap_or(&self.data_dir)
    }

    /// How the write-ahead log lays out its segments: `preAllocSize` each, reserved when created
    /// as ZooKeeper preallocates its log files, because syncing a write inside a file is cheaper
    /// than syncing one that grows the file (no size update to commit).
    pub fn log_layout(&self) -> storage::SegmentLayout {
        storage::SegmentLayout {
            segment_size: u64::from(self.pre_alloc_size_kb) * 1024,
            preallocate: true,
        }
    }

    /// The effective minSessionTimeout in ms.
    pub fn min_session_timeout_ms(&self) -> i32 {
        self.min_session_timeout_ms
            .unwrap_or_else(|| self.tick_time_ms.saturating_mul(2))
    }

    /// The effective maxSessionTimeout in ms.
    pub fn max_session_timeout_ms(&self) -> i32 {
        self.max_session_timeout_ms
            .unwrap_or_else(|| self.tick_time_ms.saturating_mul(20))
    }

    /// The session timeout granted to a client asking for `requested_ms`: raised to the minimum,
    /// then lowered to the maximum, as ZooKeeper's `processConnectRequest` does.
    pub fn negotiate_session_timeout(&self, requested_ms: i32) -> i32 {
        let mut granted = requested_ms;
        let min = self.min_session_timeout_ms();
        if granted < min {
            granted = min;
        }
        let max = self.max_session_timeout_ms();
        if granted > max {
            granted = max;
        }
        granted
    }

    /// Whether the four-letter word may run. ZooKeeper always allows `srvr` (its `zkServer.sh
    /// status` needs it) and allows `isro` whenever read-only mode is on, whatever the whitelist.
    pub fn is_four_letter_word_allowed(&self, word: &str) -> bool {
        if !jute::frame::FOUR_LETTER_WORDS.contains(&word) {
            return false;
        }
        if word == "srvr" || (word == "isro" && self.read_only_mode_enabled) {
            return true;
        }
        match &self.four_letter_words {
            FourLetterWhitelist::All => true,
            FourLetterWhitelist::Only(words) => words.contains(word),
        }
    }

    /// Whether this configuration describes an ensemble rather than a standalone server
    /// (ZooKeeper's `isDistributed`): more than one voter, or any voter with standalone disabled.
    pub fn is_distributed(&self) -> bool {
        let voters = self
            .servers
            .iter()
            .filter(|s| s.learner_type == LearnerType::Participant)
            .count();
        voters > 1 || (!self.standalone_enabled && !self.servers.is_empty())
    }

    /// This server's own `server.N` line, when `myid` is known and listed.
    pub fn me(&self) -> Option<&QuorumServer> {
        let id = self.my_id?;
        self.servers.iter().find(|s| s.id == id)
    }

    /// This server's role: its `server.N` line wins over `peerType`, as in ZooKeeper.
    pub fn learner_type(&self) -> LearnerType {
        self.me().map_or(self.peer_type, |s| s.learner_type)
    }

    /// What `conf` prints, in ZooKeeper's order, given the current sizes of the data and log
    /// directories (ZooKeeper walks them on every `conf`). Ensemble members add their quorum
    /// settings; the `membership:` block after them is runtime state, rendered by `admin`.
    pub fn conf_lines(&self, data_dir_size: u64, data_log_size: u64) -> Vec<(String, String)> {
        let mut lines = vec![
            ("clientPort", self.client_port.to_string()),
            ("secureClientPort", "-1".to_owned()),
            ("dataDir", absolute(&self.data_dir)),
            ("dataDirSize", data_dir_size.to_string()),
            ("dataLogDir", absolute(self.data_log_dir())),
            ("dataLogSize", data_log_size.to_string()),
            ("tickTime", self.tick_time_ms.to_string()),
            ("maxClientCnxns", self.max_client_cnxns.to_string()),
            (
                "minSessionTimeout",
                self.min_session_timeout_ms().to_string(),
            ),
            (
                "maxSessionTimeout",
                self.max_session_timeout_ms().to_string(),
            ),
            (
                "clientPortListenBacklog",
                self.client_port_listen_backlog.to_string(),
            ),
            ("serverId", self.my_id.unwrap_or(0).to_string()),
        ];
        if let (true, Some(me)) = (self.is_distributed(), self.me()) {
            lines.extend([
                ("initLimit", self.init_limit.to_string()),
                ("syncLimit", self.sync_limit.to_string()),
                // Fast leader election: the only algorithm ZooKeeper still accepts.
                ("electionAlg", "3".to_owned()),
                ("electionPort", me.election_port.to_string()),
                ("quorumPort", me.quorum_port.to_string()),
                ("peerType", self.learner_type().ordinal().to_string()),
            ]);
        }
        lines.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }

    /// Reads `<dataDir>/myid` if it is a file. Only the first line counts, as in ZooKeeper.
    pub fn read_my_id(&mut self) -> Result<(), ConfigError> {
        let path = self.data_dir.join("myid");
        if !path.is_file() {
            return Ok(());
        }
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Io {
            path: path.clone(),
            source,
        })?;
        let first = text.lines().next().unwrap_or_default().trim();
        let id = first.parse::<u64>().map_err(|_| ConfigError::InvalidMyId {
            path: path.clone(),
            value: first.to_owned(),
        })?;
        self.my_id = Some(id);
        Ok(())
    }

    /// Checks the rules that hold whatever the source: session timeout range, ensemble shape.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let (min, max) = (self.min_session_timeout_ms(), self.max_session_timeout_ms());
        if min > max {
            return Err(ConfigError::SessionTimeoutRange { min, max });
        }
        let voters = self
            .servers
            .iter()
            .filter(|s| s.learner_type == LearnerType::Participant)
            .count();
        let observers = self.servers.len() - voters;
        if voters == 0 && !self.standalone_enabled {
            return Err(ConfigError::Ensemble(
                "standaloneEnabled=false needs at least one participant".to_owned(),
            ));
        }
        if voters == 0 && observers > 0 {
            return Err(ConfigError::Ensemble(
                "observers without participants".to_owned(),
            ));
        }
        if voters == 1 && self.standalone_enabled && observers > 0 {
            return Err(ConfigError::Ensemble(
                "observers without a quorum (one participant, standaloneEnabled=true)".to_owned(),
            ));
        }
        if self.is_distributed() {
            if self.init_limit == 0 {
                return Err(ConfigError::Ensemble("initLimit is not set".to_owned()));
            }
            if self.sync_limit == 0 {
                return Err(ConfigError::Ensemble("syncLimit is not set".to_owned()));
            }
        }
        Ok(())
    }

    /// The checks that need `myid`: an ensemble member must know which line is its own, and its
    /// client address follows that line (ZooKeeper's `setupClientPort`).
    fn check_ensemble_identity(&mut self) -> Result<(), ConfigError> {
        if !self.is_distributed() {
            return Ok(());
        }
        let Some(id) = self.my_id else {
            return Err(ConfigError::Ensemble(format!(
                "myid file is missing from {}",
                self.data_dir.display()
            )));
        };
        let Some(me) = self.me().cloned() else {
            return Err(ConfigError::Ensemble(format!(
                "myid {id} has no server.{id} line"
            )));
        };
        if let Some(client) = &me.client {
            if self.client_port_given && self.client_port != client.port {
                return Err(ConfigError::Ensemble(format!(
                    "clientPort={} differs from the client port {} in server.{id}",
                    self.client_port, client.port
                )));
            }
            self.client_port = client.port;
            self.client_port_address = resolve_host(&format!("server.{id}"), &client.host)?;
        }
        if self.peer_type != me.learner_type {
            tracing::warn!(
                "peerType={} differs from server.{id}; using {}",
                self.peer_type.name(),
                me.learner_type.name()
            );
            self.peer_type = me.learner_type;
        }
        Ok(())
    }

    /// Applies one non-`server.N` key.
    fn apply(&mut self, key: &str, value: &str, line: usize) -> Result<(), ConfigError> {
        match key {
            "tickTime" => self.tick_time_ms = int_in(key, value, 1, i32::MAX as i64)? as i32,
            "dataDir" => self.data_dir = non_empty_path(key, value)?,
            "dataLogDir" => self.data_log_dir = Some(non_empty_path(key, value)?),
            "clientPort" => {
                self.client_port = int_in(key, value, 0, u16::MAX as i64)? as u16;
                self.client_port_given = true;
            }
            "clientPortAddress" => self.client_port_address = resolve_host(key, value)?,
            "maxClientCnxns" => {
                self.max_client_cnxns = int_in(key, value, 0, i32::MAX as i64)? as u32
            }
            "minSessionTimeout" => self.min_session_timeout_ms = session_timeout(key, value)?,
            "maxSessionTimeout" => self.max_session_timeout_ms = session_timeout(key, value)?,
            "jute.maxbuffer" => {
                self.jute_max_buffer = int_in(key, value, 1, i32::MAX as i64)? as u32
            }
            "4lw.commands.whitelist" => self.four_letter_words = whitelist(value),
            "globalOutstandingLimit" => {
                self.global_outstanding_limit = int_in(key, value, 1, i32::MAX as i64)? as u32
            }
            "readonlymode.enabled" => self.read_only_mode_enabled = boolean(key, value)?,
            "extendedTypesEnabled" => self.extended_types_enabled = boolean(key, value)?,
            "enforceQuota" => self.enforce_quota = boolean(key, value)?,
            "snapCount" => self.snap_count = int_in(key, value, 2, i32::MAX as i64)? as u32,
            // Bounded by the log's largest segment (1 GiB).
            "preAllocSize" => self.pre_alloc_size_kb = int_in(key, value, 1, 1 << 20)? as u32,
            "znode.container.maxNeverUsedIntervalMs" => {
                self.container_max_never_used_ms = int_in(key, value, 0, i32::MAX as i64)? as u32
            }
            "znode.container.checkIntervalMs" => {
                self.container_check_interval_ms = int_in(key, value, 1, i32::MAX as i64)? as u32
            }
            "DigestAuthenticationProvider.superDigest" => {
                self.super_digest = Some(super_digest(key, value)?)
            }
            "initLimit" => self.init_limit = int_in(key, value, 0, i32::MAX as i64)? as u32,
            "syncLimit" => self.sync_limit = int_in(key, value, 0, i32::MAX as i64)? as u32,
            "clientPortListenBacklog" => {
                self.client_port_listen_backlog = int_in(key, value, -1, i32::MAX as i64)? as i32
            }
            "standaloneEnabled" => self.standalone_enabled = boolean(key, value)?,
            "peerType" => {
                self.peer_type = LearnerType::parse(value)
                    .ok_or_else(|| invalid(key, value, "expected participant or observer"))?
            }
            "electionAlg" => {
                if value != "3" {
                    return Err(invalid(key, value, "only 3 (fast leader election) exists"));
                }
            }
            "dynamicConfigFile" => {
                return Err(ConfigError::Unsupported {
                    key: key.to_owned(),
                    reason: "put the server.N lines in zoo.cfg itself".to_owned(),
                })
            }
            _ if key.starts_with("group.") || key.starts_with("weight.") => {
                return Err(ConfigError::Unsupported {
                    key: key.to_owned(),
                    reason: "hierarchical quorums are not implemented; only majority quorums"
                        .to_owned(),
                })
            }
            _ if KNOWN_IGNORED_KEYS.contains(&key)
                || KNOWN_IGNORED_PREFIXES.iter().any(|p| key.starts_with(p)) =>
            {
                tracing::debug!("zoo.cfg line {line}: `{key}` has no effect here; ignored");
            }
            _ => {
                tracing::warn!("zoo.cfg line {line}: unknown key `{key}` ignored");
                self.unknown_keys.push(key.to_owned());
            }
        }
        Ok(())
    }
}

fn invalid(key: &str, value: &str, reason: &str) -> ConfigError {
    ConfigError::InvalidValue {
        key: key.to_owned(),
        value: value.to_owned(),
        reason: reason.to_owned(),
    }
}

/// A Java `int` (optional sign, digits) within `[min, max]`.
fn int_in(key: &str, value: &str, min: i64, max: i64) -> Result<i64, ConfigError> {
    let n = value
        .parse::<i32>()
        .map_err(|_| invalid(key, value, "not an integer"))? as i64;
    if n < min || n > max {
        return Err(invalid(
            key,
            value,
            &format!("must be between {min} and {max}"),
        ));
    }
    Ok(n)
}

/// `-1` is ZooKeeper's "derive from tickTime".
fn session_timeout(key: &str, value: &str) -> Result<Option<i32>, ConfigError> {
    let n = int_in(key, value, -1, i32::MAX as i64)? as i32;
    Ok((n != -1).then_some(n))
}

/// ZooKeeper's strict boolean: `true` or `false` in any case.
fn boolean(key: &str, value: &str) -> Result<bool, ConfigError> {
    if value.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(invalid(key, value, "expected true or false"))
    }
}

fn non_empty_path(key: &str, value: &str) -> Result<PathBuf, ConfigError> {
    if value.is_empty() {
        return Err(invalid(key, value, "empty path"));
    }
    Ok(PathBuf::from(value))
}

/// An address literal, or a host name resolved now (as ZooKeeper's `InetAddress.getByName`).
fn resolve_host(key: &str, value: &str) -> Result<IpAddr, ConfigError> {
    if let Ok(ip) = value.parse::<IpAddr>() {
        return Ok(ip);
    }
    if value.is_empty() {
        return Err(invalid(key, value, "empty address"));
    }
    (value, 0)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .map(|a| a.ip())
        .ok_or_else(|| invalid(key, value, "not an address and does not resolve"))
}

/// Comma- or blank-separated words; `*` anywhere means all of them.
fn whitelist(value: &str) -> FourLetterWhitelist {
    let words: BTreeSet<String> = value
        .split([',', ' ', '\t'])
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    if words.contains("*") {
        return FourLetterWhitelist::All;
    }
    for word in &words {
        if !jute::frame::FOUR_LETTER_WORDS.contains(&word.as_str()) {
            tracing::warn!(
                "4lw.commands.whitelist: `{word}` is not a four-letter word ZooKeeper knows"
            );
        }
    }
    FourLetterWhitelist::Only(words)
}

/// `user:base64(sha1("user:password"))`: the digest is 20 bytes, so 28 base64 characters.
fn super_digest(key: &str, value: &str) -> Result<String, ConfigError> {
    let Some((user, digest)) = value.split_once(':') else {
        return Err(invalid(key, value, "expected user:base64-sha1-digest"));
    };
    let base64_char = |c: char| c.is_ascii_alphanumeric() || c == '+' || c == '/';
    let well_formed =
        digest.len() == 28 && digest.ends_with('=') && digest[..27].chars().all(base64_char);
    if user.is_empty() || !well_formed {
        return Err(invalid(
            key,
            value,
            "expected user:base64-sha1-digest (28 base64 characters after the colon)",
        ));
    }
    Ok(value.to_owned())
}

fn parse_server_line(key: &str, id: &str, value: &str) -> Result<(u64, QuorumServer), ConfigError> {
    let id = id
        .parse::<u64>()
        .map_err(|_| invalid(key, value, "the server id after `server.` is not a number"))?;
    let server = QuorumServer::parse(id, value).map_err(|reason| invalid(key, value, &reason))?;
    Ok((id, server))
}

/// Java's `File.getAbsolutePath()`: joined to the working directory, not canonicalised.
fn absolute(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_owned())
        .display()
        .to_string()
}
