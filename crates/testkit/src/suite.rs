//! Scaffolding for the suites that run the same test bodies against real ZooKeeper and
//! Ferrokeeper (the client's and the recipes'): the shared server per target, a context with a
//! root node of each test's own, a runner with a deadline, and waiting helpers.
//!
//! It knows no client (the client crate's own tests use this crate); each suite wraps
//! [`TestContext`] to add its client and creates the root node through it (see [`run`]).

use crate::shared::{self, SharedServer};
use crate::{ServerConfig, Target, TestEnsemble};
use std::future::Future;
use std::time::Duration;

/// Upper bound for one test body: a hang is a failure, not a stuck run.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(40);

/// How long [`within`] waits.
pub const WITHIN: Duration = Duration::from_secs(10);

/// The shared server for `target` (the `ferrokeeper` binary of this workspace for Ferrokeeper),
/// started on first use.
///
/// # Panics
/// If it cannot be started.
pub fn shared_server(target: Target) -> SharedServer {
    match shared::server(target, ferrokeeper_binary_for(target).as_deref()) {
        Ok(s) => s,
        Err(e) => panic!("cannot start {target}: {e}"),
    }
}

/// The shared 3-member ensemble of `target` ([`shared::ensemble`]), started on first use.
///
/// # Panics
/// If it cannot be started.
pub fn shared_ensemble(target: Target) -> SharedServer {
    match shared::ensemble(target, ferrokeeper_binary_for(target).as_deref()) {
        Ok(s) => s,
        Err(e) => panic!("cannot start a {target} ensemble: {e}"),
    }
}

/// A 3-member ensemble of `target` for one test alone (one that kills or restarts members),
/// started with the shared servers' settings and serving. Dropping it kills every member.
///
/// # Panics
/// If it cannot be started.
pub fn own_ensemble(target: Target) -> TestEnsemble {
    let config = ServerConfig {
        ferrokeeper_binary: ferrokeeper_binary_for(target),
        ..ServerConfig::default()
    };
    let mut ensemble = TestEnsemble::start(target, shared::SHARED_ENSEMBLE_SIZE, &config)
        .unwrap_or_else(|e| panic!("cannot start a {target} ensemble: {e}"));
    assert!(
        ensemble.wait_serving(crate::server::READY_TIMEOUT),
        "the {target} ensemble has no leader"
    );
    ensemble
}

fn ferrokeeper_binary_for(target: Target) -> Option<std::path::PathBuf> {
    match target {
        Target::Ferrokeeper => Some(crate::target::ferrokeeper_binary()),
        Target::ZooKeeper => None,
    }
}

/// What a test body works with: the target, its shared server, and a root path of its own.
#[derive(Debug, Clone)]
pub struct TestContext {
    /// Which implementation the test runs against.
    pub target: Target,
    /// The shared server of that target.
    pub server: SharedServer,
    /// `/<test>-<pid>`, created by the suite before the body runs.
    pub root: String,
}

impl TestContext {
    /// `root/rel`.
    pub fn path(&self, rel: &str) -> String {
        format!("{}/{rel}", self.root)
    }

    /// The server's connect string (every member's address for an ensemble).
    pub fn connect_string(&self) -> String {
        self.server.connect_string()
    }

    /// The server's `major.minor` version, from `srvr` (`Zookeeper version: 3.8.0-...`).
    ///
    /// # Panics
    /// If the server does not answer `srvr` with a version.
    pub fn version(&self) -> (u32, u32) {
        let text = crate::four_letter::send(self.server.addr, "srvr", Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("srvr on {}: {e}", self.target));
        let v = text
            .lines()
            .find_map(|l| l.strip_prefix("Zookeeper version: "))
            .unwrap_or_else(|| panic!("no version in srvr output: {text}"));
        let mut parts = v.split(|c: char| !c.is_ascii_digit());
        let major = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let minor = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        (major, minor)
    }

    /// ZooKeeper 3.9 added the persistent watcher types to `checkWatches`/`removeWatches`
    /// (ZOOKEEPER-4472); 3.8 answers them with MarshallingError and removes persistent watches
    /// only with `Any`.
    pub fn typed_persistent_removal(&self) -> bool {
        self.version() >= (3, 9)
    }
}

/// A runtime for one test: two workers, as on the 2-core machines the suites run on.
///
/// # Panics
/// If the runtime cannot be built.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Runs one test against `target` on a runtime of its own: `create_root` makes the context's root
/// node, then `body` runs within [`TEST_TIMEOUT`].
///
/// # Panics
/// If the server cannot be started or the body takes too long (and whenever the body panics).
pub fn run<R, RFut, F, Fut>(target: Target, name: &str, create_root: R, body: F)
where
    R: FnOnce(TestContext) -> RFut,
    RFut: Future<Output = ()>,
    F: FnOnce(TestContext) -> Fut,
    Fut: Future<Output = ()>,
{
    run_on(shared_server(target), name, create_root, body);
}

/// [`run`] on a given server or ensemble (e.g. [`shared_ensemble`], or
/// [`TestEnsemble::as_shared`] of the test's own ensemble).
///
/// # Panics
/// If the body takes too long (and whenever it panics).
pub fn run_on<R, RFut, F, Fut>(server: SharedServer, name: &str, create_root: R, body: F)
where
    R: FnOnce(TestContext) -> RFut,
    RFut: Future<Output = ()>,
    F: FnOnce(TestContext) -> Fut,
    Fut: Future<Output = ()>,
{
    let target = server.target;
    let ctx = TestContext {
        target,
        server,
        root: crate::unique_root(name),
    };
    runtime().block_on(async {
        create_root(ctx.clone()).await;
        match tokio::time::timeout(TEST_TIMEOUT, body(ctx)).await {
            Ok(()) => {}
            Err(_) => panic!("{name} against {target} timed out after {TEST_TIMEOUT:?}"),
        }
    });
}

/// Waits for a future at most [`WITHIN`]; a watch that never fires is a failure.
///
/// # Panics
/// If the future is not ready in time.
pub async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(WITHIN, fut).await {
        Ok(v) => v,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// Polls `check` until it returns true, for at most `limit`.
///
/// # Panics
/// If `check` is still false at `limit`.
pub async fn eventually<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if check().await {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits at most [`WITHIN`] until the value `rx` watches is `want`.
///
/// # Panics
/// If it is not in time, or the sender is gone.
pub async fn wait_value<T: PartialEq + std::fmt::Debug>(
    mut rx: tokio::sync::watch::Receiver<T>,
    want: T,
) {
    within(&format!("{want:?}"), rx.wait_for(|v| *v == want))
        .await
        .expect("watch sender dropped");
}

/// Every value already received, without waiting.
pub fn drain<T: Clone>(rx: &mut tokio::sync::broadcast::Receiver<T>) -> Vec<T> {
    let mut out = Vec::new();
    while let Ok(v) = rx.try_recv() {
        out.push(v);
    }
    out
}

/// Generates `zookeeper::<name>` and `ferrokeeper::<name>` tests from `async fn <name>(ctx)`, each
/// calling `$run(target, "<name>", <name>)` (the suite's runner, which wraps [`run`]).
#[macro_export]
macro_rules! both_targets {
    ($run:path; $($name:ident),* $(,)?) => {
        mod zookeeper {
            $(
                #[test]
                fn $name() {
                    $run($crate::Target::ZooKeeper, stringify!($name), super::$name);
                }
            )*
        }
        mod ferrokeeper {
            $(
                #[test]
                fn $name() {
                    $run($crate::Target::Ferrokeeper, stringify!($name), super::$name);
                }
            )*
        }
    };
}
