//! The client suite's side of `testkit::suite`: the test context with this crate's client, and
//! the runner that creates each test's root node with it. Everything else is testkit's.

use client::{Client, CreateOptions, SessionState};
use std::future::Future;
use std::ops::Deref;
use testkit::suite::{self, TestContext};
use testkit::{Target, TestEnsemble};

pub use testkit::suite::{drain as drain_states, eventually, shared_server as server, within};

/// What a test body gets: testkit's context (target, shared server, root) plus clients.
#[derive(Debug, Clone)]
pub struct Ctx(TestContext);

impl Deref for Ctx {
    type Target = TestContext;

    fn deref(&self) -> &TestContext {
        &self.0
    }
}

impl Ctx {
    /// A new session with the default settings.
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

/// Runs `body` against `target` on a fresh root under the shared server.
pub fn run<F, Fut>(target: Target, name: &str, body: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()>,
{
    suite::run(
        target,
        name,
        |ctx| create_root(Ctx(ctx)),
        |ctx| body(Ctx(ctx)),
    );
}

/// Runs `body` against `target` on a fresh root under the shared 3-member ensemble (for tests
/// that need several members but kill none).
pub fn run_on_ensemble<F, Fut>(target: Target, name: &str, body: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()>,
{
    suite::run_on(
        suite::shared_ensemble(target),
        name,
        |ctx| create_root(Ctx(ctx)),
        |ctx| body(Ctx(ctx)),
    );
}

/// Runs `body` against a 3-member ensemble of `target` of its own, which the body may kill
/// members of; the ensemble dies with the body.
pub fn run_on_own_ensemble<F, Fut>(target: Target, name: &str, body: F)
where
    F: FnOnce(Ctx, TestEnsemble) -> Fut,
    Fut: Future<Output = ()>,
{
    let ensemble = suite::own_ensemble(target);
    suite::run_on(
        ensemble.as_shared(),
        name,
        |ctx| create_root(Ctx(ctx)),
        |ctx| body(Ctx(ctx), ensemble),
    );
}

async fn create_root(ctx: Ctx) {
    let setup = ctx.client().await;
    setup
        .create(&ctx.root, b"", &CreateOptions::persistent())
        .await
        .unwrap_or_else(|e| panic!("create test root {}: {e}", ctx.root));
    setup.close().await.expect("close setup session");
}

/// Waits until the client's state is `want`.
pub async fn wait_state(client: &Client, want: SessionState) {
    suite::wait_value(client.state_watch(), want).await;
}

/// `testkit::both_targets!` with this suite's runner, or with the runner named before a `;`
/// (`run_on_ensemble`, `run_on_own_ensemble`).
macro_rules! both_targets {
    ($runner:ident; $($name:ident),* $(,)?) => {
        testkit::both_targets!(crate::common::$runner; $($name),*);
    };
    ($($name:ident),* $(,)?) => {
        testkit::both_targets!(crate::common::run; $($name),*);
    };
}
pub(crate) use both_targets;
