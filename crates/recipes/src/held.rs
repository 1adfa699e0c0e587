//! What every lock-like recipe hands its holder: one ephemeral node whose existence is the
//! holding. Shared by the mutex, the read/write lock and the semaphore's leases, so that losing,
//! releasing and dropping behave the same in all of them.

use crate::error::Error;
use crate::protected;
use crate::session::{retrying, wait_connected};
use client::{Client, EventType};

/// A held ephemeral node of this client's session.
#[derive(Debug)]
pub(crate) struct HeldNode {
    client: Client,
    path: String,
    token: i64,
    released: bool,
}

impl HeldNode {
    /// Holds `path`, created by this session at zxid `token`.
    pub(crate) fn new(client: Client, path: String, token: i64) -> HeldNode {
        HeldNode {
            client,
            path,
            token,
            released: false,
        }
    }

    /// The creation zxid of the node.
    pub(crate) fn token(&self) -> i64 {
        self.token
    }

    /// The node's path.
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// The client whose session owns the node.
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// Whether the node still exists and belongs to this session (one round trip).
    pub(crate) async fn is_held(&self) -> Result<bool, Error> {
        let stat = retrying(&self.client, || self.client.exists(&self.path)).await?;
        Ok(stat.is_some_and(|s| s.ephemeral_owner == self.client.session_id()))
    }

    /// Resolves once the node is gone or the session has ended.
    pub(crate) async fn lost(&self) {
        let client = &self.client;
        loop {
            match client.exists_w(&self.path).await {
                Ok((Some(stat), watch)) if stat.ephemeral_owner == client.session_id() => {
                    let ev = watch.await;
                    if ev.event_type == EventType::None {
                        // The session ended before the watch fired.
                        return;
                    }
                }
                Ok(_) => return,
                Err(client::Error::ConnectionLoss | client::Error::RequestTimeout) => {
                    if wait_connected(client).await.is_err() {
                        return;
                    }
                }
                Err(_) => return,
            }
        }
    }

    /// Resolves once the node may be gone: like [`HeldNode::lost`], and also as soon as the
    /// client is disconnected, since the session may expire meanwhile unnoticed.
    pub(crate) async fn lost_or_suspended(&self) {
        let mut state = self.client.state_watch();
        tokio::select! {
            _ = self.lost() => {}
            _ = state.wait_for(|s| !s.is_connected()) => {}
        }
    }

    /// Deletes the node. [`Error::NodeLost`] if it was already gone.
    pub(crate) async fn release(mut self) -> Result<(), Error> {
        self.released = true;
        match retrying(&self.client, || self.client.delete(&self.path, None)).await {
            Ok(()) => Ok(()),
            Err(Error::Client(client::Error::NoNode)) => Err(Error::NodeLost(self.path.clone())),
            Err(e) => Err(e),
        }
    }

    /// Gives up the node without deleting it (it has been replaced or deleted by a transaction
    /// of the recipe).
    pub(crate) fn forget(mut self) {
        self.released = true;
    }
}

impl Drop for HeldNode {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let client = self.client.clone();
        let path = std::mem::take(&mut self.path);
        rt.spawn(async move {
            if let Err(e) = protected::delete(&client, &path).await {
                tracing::debug!(%path, error = %e, "cannot delete dropped recipe node");
            }
        });
    }
}
