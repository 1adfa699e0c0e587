//! The recipes suite's side of `testkit::suite`: the test context with the client, and
//! the runner that creates each test's root node with it. Everything else is testkit's.

use client::{Client, CreateOptions, SessionState};
use recipes::Error;
use std::collections::BTreeSet;
use std::fmt::Debug;
use std::future::Future;
use std::ops::Deref;
use testkit::suite::{self, TestContext};
use testkit::Target;

pub use testkit::suite::{eventually, within};

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

/// A session behind a proxy of its own with a 2 s timeout, for tests that expire it mid-recipe by
/// blocking the proxy; its ephemeral `alive` disappears once the server has expired it.
pub struct Doomed {
    pub proxy: testkit::proxy::Proxy,
    pub client: Client,
    pub alive: String,
}

impl Ctx {
    /// A [`Doomed`] session on this test's server.
    pub async fn doomed(&self) -> Doomed {
        let proxy = testkit::proxy::Proxy::start(self.server.addr).await;
        let client = self
            .client_with(
                Client::builder().session_timeout(std::time::Duration::from_millis(2000)),
                &proxy.connect_string(),
            )
            .await;
        let alive = self.path("doomed-alive");
        client
            .create(&alive, b"", &CreateOptions::ephemeral())
            .await
            .unwrap();
        Doomed {
            proxy,
            client,
            alive,
        }
    }
}

/// Waits until the server has expired a [`Doomed`] session (its `alive` node is gone, as
/// `observer` sees it), then lets its proxy through so the client itself learns of it.
pub async fn expire_doomed(
    observer: &Client,
    doomed: &Client,
    alive: &str,
    proxy: &testkit::proxy::Proxy,
) {
    eventually(
        "doomed session expired",
        std::time::Duration::from_secs(15),
        || async { observer.exists(alive).await.unwrap().is_none() },
    )
    .await;
    proxy.set_muted(false);
    proxy.set_blocked(false);
    wait_state(doomed, SessionState::Expired).await;
}

/// The verdict on a queue drained while one consumer's session expired mid-take: every
/// `acknowledged` `what` (the doomed consumer's and the others' takes) was handed out once and
/// was put (in `want`), and what is missing is what the doomed take's result allows. Its
/// module's failure behaviour: an expired session leaves its items in the queue, so after
/// `SessionEnded` the others took everything; a delete whose outcome is unknown may have taken
/// (and so lost) exactly that one.
pub fn assert_taken_once<T: Ord + Clone + Debug, R: Debug>(
    what: &str,
    acknowledged: &[T],
    want: &BTreeSet<T>,
    doomed_result: Result<R, Error>,
) {
    let distinct: BTreeSet<T> = acknowledged.iter().cloned().collect();
    assert_eq!(
        distinct.len(),
        acknowledged.len(),
        "{what} handed out twice: {acknowledged:?}"
    );
    assert!(distinct.is_subset(want), "{distinct:?}");
    let missing: Vec<&T> = want.difference(&distinct).collect();
    match doomed_result {
        Err(Error::SessionEnded(SessionState::Expired)) => assert!(
            missing.is_empty(),
            "take ended with SessionEnded, yet some vanished: {missing:?}"
        ),
        Err(Error::OutcomeUnknown(node)) => assert!(
            missing.len() <= 1,
            "more than the in-flight {what} lost ({node}): {missing:?}"
        ),
        other => panic!("the doomed take returned {other:?}"),
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

/// `testkit::both_targets!` with this suite's runner.
macro_rules! both_targets {
    ($($name:ident),* $(,)?) => {
        testkit::both_targets!(crate::common::run; $($name),*);
    };
}
pub(crate) use both_targets;
