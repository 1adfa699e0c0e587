//! Helpers for the recipes' integration tests (after the client's): which Ferrokeeper binary to start, the shared
//! server per target, a runner that gives each test its own root node, and a macro that runs each
//! test against both real ZooKeeper and Ferrokeeper with the same assertions.

use client::{Client, CreateOptions, SessionState};
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;
use testkit::shared::{self, SharedServer};
use testkit::Target;

/// The `ferrokeeper` binary (see `testkit::target::ferrokeeper_binary`).
pub fn fk_bin() -> PathBuf {
    testkit::target::ferrokeeper_binary()
}

/// The shared server for `target`, started on first use.
pub fn server(target: Target) -> SharedServer {
    let bin = match target {
        Target::Ferrokeeper => Some(fk_bin()),
        Target::ZooKeeper => None,
    };
    match shared::server(target, bin.as_deref()) {
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

    /// `127.0.0.1:<port>`.
    pub fn connect_string(&self) -> String {
        self.server.connect_string()
    }

    /// A new session with a 10 s timeout.
    pub async fn client(&self) -> Client {
        self.client_with(Client::builder(), &self.connect_string())
            .await
    }

    /// A new session from `builder` on `connect_string`.
    pub async fn client_with(&self, builder: client::Builder, connect_string: &str) -> Client {
        builder
            .connect(connect_string)
            .await
            .unwrap_or_else(|e| panic!("connect to {} ({connect_string}): {e}", self.target))
    }
}

/// Upper bound for one test body: a hang is a failure, not a stuck run.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(40);

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
        let ctx = Ctx {
            target,
            server,
            root: testkit::unique_root(name),
        };
        let setup = ctx.client().await;
        setup
            .create(&ctx.root, b"", &CreateOptions::persistent())
            .await
            .unwrap_or_else(|e| panic!("create test root {}: {e}", ctx.root));
        setup.close().await.expect("close setup session");
        match tokio::time::timeout(TEST_TIMEOUT, body(ctx)).await {
            Ok(()) => {}
            Err(_) => panic!("{name} against {target} timed out after {TEST_TIMEOUT:?}"),
        }
    });
}

/// Waits for a future with a deadline; a watch that never fires is a failure.
pub async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(10), fut).await {
        Ok(v) => v,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// Polls `check` until it returns true, for at most `limit`.
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

/// Waits until the client's state is `want`.
pub async fn wait_state(client: &Client, want: SessionState) {
    let mut rx = client.state_watch();
    within(&format!("state {want:?}"), rx.wait_for(|s| *s == want))
        .await
        .expect("state channel closed");
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
