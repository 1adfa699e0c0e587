//! Helpers shared by the integration tests of the `ferrokeeper` package: which binary to start,
//! the shared server per target, and a macro that runs each test against both targets.
#![allow(dead_code, unused_macros, unused_imports)]

pub mod ensemble;
pub mod output;
pub mod writes;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;
use testkit::shared::{self, SharedServer};
use testkit::Target;
use zookeeper_client as zk;

/// The `ferrokeeper` binary Cargo built for these tests.
pub fn fk_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ferrokeeper"))
}

/// The workspace root (two levels above this package).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The shared server for `target`, started on first use; panics with the startup error.
pub fn server(target: Target) -> SharedServer {
    let bin = fk_bin();
    match shared::server(target, Some(&bin)) {
        Ok(s) => s,
        Err(e) => panic!("cannot start {target}: {e}"),
    }
}

/// Harness settings (defaults) that start this package's `ferrokeeper` binary.
pub fn fk_config() -> testkit::ServerConfig {
    testkit::ServerConfig::default().with_binary(fk_bin())
}

/// A started [`testkit::TestServer`] with `config`; panics with the startup error.
pub fn own_server(target: Target, config: testkit::ServerConfig) -> testkit::TestServer {
    let config = config.with_binary(fk_bin());
    match testkit::TestServer::start(target, &config) {
        Ok(s) => s,
        Err(e) => panic!("cannot start {target}: {e}"),
    }
}

/// What a test body gets: the target, its shared server, and a root path of its own.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub target: Target,
    pub server: SharedServer,
    /// `/<test>-<pid>`, already created (open ACL, persistent).
    pub root: String,
}

impl Ctx {
    /// `root/rel`.
    pub fn path(&self, rel: &str) -> String {
        format!("{}/{rel}", self.root)
    }

    /// A new session with a 10 s timeout.
    pub async fn client(&self) -> zk::Client {
        self.client_with(zk::Client::connector()).await
    }

    /// A new session from a prepared connector.
    pub async fn client_with(&self, connector: zk::Connector) -> zk::Client {
        connector
            .with_session_timeout(Duration::from_secs(10))
            .connect(&self.server.connect_string())
            .await
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.target))
    }

    /// A raw wire-level session.
    pub fn raw(&self) -> testkit::raw::RawClient {
        testkit::raw::RawClient::connect(self.server.addr, 10_000)
            .unwrap_or_else(|e| panic!("raw connect to {}: {e}", self.target))
    }
}

/// Open ACL, persistent.
pub fn persistent() -> zk::CreateOptions<'static> {
    zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all())
}

/// Open ACL with `mode`.
pub fn mode(m: zk::CreateMode) -> zk::CreateOptions<'static> {
    m.with_acls(zk::Acls::anyone_all())
}

/// Upper bound for one test body; a hang is a failure, not a stuck CI run.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `body` against `target` on a fresh root under the shared server.
pub fn run<F, Fut>(target: Target, name: &str, body: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()>,
{
    let server = server(target);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        let root = testkit::unique_root(name);
        let ctx = Ctx {
            target,
            server,
            root,
        };
        let setup = ctx.client().await;
        setup
            .create(&ctx.root, b"", &persistent())
            .await
            .unwrap_or_else(|e| panic!("create test root {}: {e}", ctx.root));
        drop(setup);
        match tokio::time::timeout(TEST_TIMEOUT, body(ctx)).await {
            Ok(()) => {}
            Err(_) => panic!("{name} against {target} timed out after {TEST_TIMEOUT:?}"),
        }
    });
}

/// Waits for a future with a short deadline; a watch that never fires is a failure.
pub async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(10), fut).await {
        Ok(v) => v,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// Generates `zookeeper::<name>` and `ferrokeeper::<name>` tests from `async fn <name>(Ctx)`.
macro_rules! both_targets {
    ($($name:ident),* $(,)?) => {
        mod zookeeper {
            $(
                #[test]
                fn $name() {
                    crate::common::run(testkit::Target::ZooKeeper, stringify!($name), super::$name);
                }
            )*
        }
        mod ferrokeeper {
            $(
                #[test]
                fn $name() {
                    crate::common::run(testkit::Target::Ferrokeeper, stringify!($name), super::$name);
                }
            )*
        }
    };
}
pub(crate) use both_targets;
