//! Shared handling of connection loss and session end, and of the recipes' parent nodes.

use crate::error::Error;
use client::{Client, CreateOptions, SessionState};

/// Waits until the client is connected again; fails once the session has ended.
pub(crate) async fn wait_connected(client: &Client) -> Result<(), Error> {
    let mut rx = client.state_watch();
    let state = match rx.wait_for(|s| s.is_connected() || s.is_terminal()).await {
        Ok(s) => *s,
        // The session task is gone: the client was closed.
        Err(_) => SessionState::Closed,
    };
    if state.is_terminal() {
        return Err(Error::SessionEnded(state));
    }
    Ok(())
}

/// Maps a client error, turning the errors that mean "this session is over" into
/// [`Error::SessionEnded`].
pub(crate) fn classify(client: &Client, e: client::Error) -> Error {
    match e {
        client::Error::SessionExpired | client::Error::Closed | client::Error::AuthFailed => {
            let st = client.state();
            Error::SessionEnded(if st.is_terminal() {
                st
            } else {
                SessionState::Expired
            })
        }
        other => Error::Client(other),
    }
}

/// Runs an idempotent request, retrying it after each connection loss once reconnected.
pub(crate) async fn retrying<T, F, Fut>(client: &Client, mut op: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, client::Error>>,
{
    loop {
        match op().await {
            Err(client::Error::ConnectionLoss | client::Error::RequestTimeout) => {
                wait_connected(client).await?
            }
            Err(e) => return Err(classify(client, e)),
            Ok(v) => return Ok(v),
        }
    }
}

/// Creates `path` and its missing ancestors as containers, as Curator's
/// `creatingParentContainersIfNeeded` does, so that empty recipe parents are cleaned up by the
/// server. Falls back to persistent nodes on a server without containers.
pub(crate) async fn ensure_path(client: &Client, path: &str) -> Result<(), Error> {
    let mut at = 0;
    while at < path.len() {
        let end = path[at + 1..].find('/').map_or(path.len(), |i| at + 1 + i);
        let prefix = &path[..end];
        at = end;
        if retrying(client, || client.exists(prefix)).await?.is_some() {
            continue;
        }
        let container = CreateOptions::container();
        let persistent = CreateOptions::persistent();
        let created = retrying(client, || client.create(prefix, b"", &container)).await;
        let created = match created {
            Err(Error::Client(client::Error::Unimplemented)) => {
                retrying(client, || client.create(prefix, b"", &persistent)).await
            }
            other => other,
        };
        match created {
            Ok(_) | Err(Error::Client(client::Error::NodeExists)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Checks a recipe path: absolute, not the root, no trailing slash.
pub(crate) fn check_path(path: &str) -> Result<(), Error> {
    if !path.starts_with('/') || path.len() < 2 || path.ends_with('/') || path.contains("//") {
        return Err(Error::InvalidArgument(format!(
            "recipe path must be absolute, below the root, without trailing slash: {path:?}"
        )));
    }
    Ok(())
}

/// Tells a cache when to read again: after its session reconnected, or after transitions were
/// missed while it is connected (no further transition may come to say so). It follows every
/// transition, not the latest state: a task polled late would otherwise see Connected, then
/// Connected again, and miss the reconnect in between.
pub(crate) struct Reconnects {
    client: Client,
    states: tokio::sync::broadcast::Receiver<SessionState>,
    disconnected: bool,
}

impl Reconnects {
    /// Subscribes now, so a reconnect during the cache's first read causes a second one.
    pub(crate) fn subscribe(client: &Client) -> Self {
        Self {
            client: client.clone(),
            states: client.state_events(),
            disconnected: false,
        }
    }

    /// True when the cache must read again; false once the session has ended. Cancel safe.
    pub(crate) async fn next(&mut self) -> bool {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            match self.states.recv().await {
                Ok(s) if s.is_terminal() => return false,
                Ok(s) if s.is_connected() => {
                    if std::mem::take(&mut self.disconnected) {
                        return true;
                    }
                }
                Ok(_) => self.disconnected = true,
                Err(RecvError::Lagged(_)) => {
                    if self.client.state().is_connected() {
                        self.disconnected = false;
                        return true;
                    }
                    self.disconnected = true;
                }
                Err(RecvError::Closed) => return false,
            }
        }
    }
}
