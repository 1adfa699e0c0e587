//! Client helpers for the ensemble tests: a session that rides out an election, and the check that
//! members without a working quorum accept no write.

use client::{Client, CreateOptions};
use std::time::Duration;

/// A client on `connect_string` with a 6 s session, long enough to survive a leader election.
pub async fn connect(connect_string: &str) -> Client {
    Client::builder()
        .session_timeout(Duration::from_secs(6))
        .connect(connect_string)
        .await
        .expect("connect")
}

/// Asserts that creating `path` through `connect_string` does not succeed within 3 s (connecting
/// may fail, or the create may hang or fail): `what` says what a success would mean.
pub async fn assert_no_write(connect_string: &str, path: &str, what: &str) {
    let attempt = async {
        let zk = Client::builder()
            .session_timeout(Duration::from_secs(6))
            .connect(connect_string)
            .await?;
        zk.create(path, b"", &CreateOptions::persistent()).await
    };
    let outcome = tokio::time::timeout(Duration::from_secs(3), attempt).await;
    assert!(!matches!(outcome, Ok(Ok(_))), "{what}");
}
