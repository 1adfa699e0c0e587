//! One server per target per test binary, started on first use and killed when the process exits.
//!
//! A JVM takes seconds to start, so tests that can be isolated by path prefix share one server.
//! Statics are never dropped, so an `atexit` hook kills the shared servers and removes their
//! directories; if the process dies harder, the parent-death signal still kills them.

use crate::config::ServerConfig;
use crate::server::{HarnessError, TestServer};
use crate::target::Target;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Mutex, Once, OnceLock};

/// What a test needs to reach a shared server; the server itself stays in the registry.
#[derive(Debug, Clone)]
pub struct SharedServer {
    /// Which implementation it is.
    pub target: Target,
    /// Its client address.
    pub addr: SocketAddr,
    /// The settings it runs with.
    pub config: ServerConfig,
    /// Every member's address when the shared server is an ensemble (see [`ENSEMBLE_ENV`]).
    pub members: Vec<SocketAddr>,
}

impl SharedServer {
    /// `127.0.0.1:<port>`, or every member's address for an ensemble.
    pub fn connect_string(&self) -> String {
        if self.members.is_empty() {
            return self.addr.to_string();
        }
        self.members
            .iter()
            .map(SocketAddr::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// With this set to N > 1, the shared Ferrokeeper "server" is an N-member ensemble on loopback and
/// clients get every member's address: the same suites then check the ensemble's behaviour. With
/// N = 1 it is an ensemble of one (`standaloneEnabled=false`): a single server that orders writes
/// through Raft rather than the standalone log.
pub const ENSEMBLE_ENV: &str = "FK_TEST_ENSEMBLE";

fn ensemble_size(target: Target) -> Option<usize> {
    let n: usize = std::env::var(ENSEMBLE_ENV).ok()?.parse().ok()?;
    (target == Target::Ferrokeeper && n >= 1).then_some(n)
}

type Registry = Mutex<HashMap<Target, Result<SharedServer, String>>>;

static REGISTRY: OnceLock<Registry> = OnceLock::new();
static ENSEMBLES: OnceLock<Registry> = OnceLock::new();
static SERVERS: Mutex<Vec<TestServer>> = Mutex::new(Vec::new());
static HOOK: Once = Once::new();

extern "C" fn kill_shared_servers() {
    // Another thread may still hold the lock while the process exits; then the parent-death
    // signal does the job instead.
    if let Ok(mut servers) = SERVERS.try_lock() {
        servers.clear();
    }
}

fn register_exit_hook() {
    HOOK.call_once(|| {
        // SAFETY: registering a plain extern "C" function is always sound.
        unsafe {
            libc::atexit(kill_shared_servers);
        }
    });
}

/// The shared server for `target` with [`ServerConfig::default`] (plus `binary` for Ferrokeeper),
/// starting it on first use. A failed start is remembered, so later tests fail fast with the same
/// message.
pub fn server(
    target: Target,
    binary: Option<&std::path::Path>,
) -> Result<SharedServer, HarnessError> {
    start_once(&REGISTRY, target, binary, |config| {
        let servers = match ensemble_size(target) {
            Some(n) => crate::ensemble::TestEnsemble::start(target, n, config)?.members,
            None => vec![TestServer::start(target, config)?],
        };
        let members = if servers.len() > 1 {
            servers.iter().map(TestServer::addr).collect()
        } else {
            Vec::new()
        };
        let shared = SharedServer {
            target,
            addr: servers[0].addr(),
            config: config.clone(),
            members,
        };
        Ok((shared, servers))
    })
}

/// How many members the shared ensemble has: the smallest that survives losing one.
pub const SHARED_ENSEMBLE_SIZE: usize = 3;

/// The shared [`SHARED_ENSEMBLE_SIZE`]-member ensemble of `target` with [`ServerConfig::default`]
/// (plus `binary` for Ferrokeeper), started on first use, whatever [`ENSEMBLE_ENV`] says. For
/// tests that need several members but leave them all running; a test that kills members starts
/// a [`TestEnsemble`](crate::TestEnsemble) of its own. A failed start is remembered.
pub fn ensemble(
    target: Target,
    binary: Option<&std::path::Path>,
) -> Result<SharedServer, HarnessError> {
    start_once(&ENSEMBLES, target, binary, |config| {
        let ensemble = crate::ensemble::TestEnsemble::start(target, SHARED_ENSEMBLE_SIZE, config)?;
        Ok((ensemble.as_shared(), ensemble.members))
    })
}

/// Looks `target` up in `registry`, or starts it with `start` and remembers the outcome; the
/// started processes are kept until the test binary exits.
fn start_once(
    registry: &'static OnceLock<Registry>,
    target: Target,
    binary: Option<&std::path::Path>,
    start: impl FnOnce(&ServerConfig) -> Result<(SharedServer, Vec<TestServer>), HarnessError>,
) -> Result<SharedServer, HarnessError> {
    register_exit_hook();
    let registry = registry.get_or_init(|| Mutex::new(HashMap::new()));
    let mut map = registry.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(entry) = map.get(&target) {
        return entry.clone().map_err(HarnessError::Shared);
    }
    let mut config = ServerConfig::default();
    if let Some(b) = binary {
        config.ferrokeeper_binary = Some(b.to_path_buf());
    }
    let entry = match start(&config) {
        Ok((shared, servers)) => {
            SERVERS
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend(servers);
            Ok(shared)
        }
        Err(e) => Err(e.to_string()),
    };
    map.insert(target, entry.clone());
    entry.map_err(HarnessError::Shared)
}
