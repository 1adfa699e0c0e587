//! Group membership and service discovery: each member is an ephemeral node `<group>/<id>`
//! holding the member's data (an address, say), and a [`GroupWatcher`] keeps a live list of
//! the members, driven by child watches.
//!
//! # Guarantees
//! - A member is listed while its session is alive and it has not left; its node goes when it
//!   [leaves](GroupMember::leave), closes its session, or its session expires (a crash is seen
//!   after the session timeout).
//! - A watcher's list converges to the server's: after every change of the group's children it
//!   re-reads the children (setting a new watch in the same read, so no change is missed) and
//!   publishes the new list if it differs. Intermediate states between two reads may be skipped.
//! - Member data is read when the member list is read; a later `set_data` by a member shows up
//!   at the next membership change ([`GroupWatcher::refresh`] forces a re-read).
//!
//! # Failure behaviour
//! - Connection loss: members stay members (the session survives); a watcher keeps its last
//!   list and re-reads after the session is re-attached (the client re-registers its watches).
//! - Session expiry of a member's client: the member is gone; join again on a new client.
//! - Session expiry of a watcher's client: the watcher stops; [`GroupWatcher::changed`] then
//!   fails with [`Error::SessionEnded`] and [`GroupWatcher::members`] keeps the last list.

use crate::error::Error;
use crate::session::{check_path, classify, ensure_path, retrying, wait_connected};
use client::{Client, CreateOptions, SessionState};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::{oneshot, watch, Notify};

/// Member id → member data.
pub type Members = BTreeMap<String, Vec<u8>>;

/// This process's membership in a group.
///
/// ```no_run
/// # async fn demo(zk: client::Client) -> Result<(), recipes::Error> {
/// let me = recipes::GroupMember::join(zk, "/services/api", "host-1", b"10.0.0.1:8080").await?;
/// // ... serve ...
/// me.leave().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct GroupMember {
    client: Client,
    path: String,
    id: String,
}

impl GroupMember {
    /// Joins `group` (created if missing) as `id` with `data`. Fails with the client's
    /// `NodeExists` if another live session is a member under the same id.
    pub async fn join(
        client: Client,
        group: &str,
        id: &str,
        data: &[u8],
    ) -> Result<GroupMember, Error> {
        check_path(group)?;
        if id.is_empty() || id.contains('/') || id == "." || id == ".." {
            return Err(Error::InvalidArgument(format!("bad member id {id:?}")));
        }
        let path = format!("{group}/{id}");
        let opts = CreateOptions::ephemeral();
        loop {
            match client.create(&path, data, &opts).await {
                Ok(_) => break,
                Err(client::Error::NoNode) => ensure_path(&client, group).await?,
                Err(client::Error::ConnectionLoss | client::Error::RequestTimeout) => {
                    wait_connected(&client).await?;
                    if owned(&client, &path).await? {
                        break;
                    }
                }
                Err(client::Error::NodeExists) if owned(&client, &path).await? => break,
                Err(e) => return Err(classify(&client, e)),
            }
        }
        Ok(GroupMember {
            client,
            path,
            id: id.to_string(),
        })
    }

    /// This member's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Replaces this member's data.
    pub async fn set_data(&self, data: &[u8]) -> Result<(), Error> {
        match retrying(&self.client, || {
            self.client.set_data(&self.path, data, None)
        })
        .await
        {
            Ok(_) => Ok(()),
            Err(Error::Client(client::Error::NoNode)) => Err(Error::NodeLost(self.path.clone())),
            Err(e) => Err(e),
        }
    }

    /// Leaves the group (deletes the member node).
    pub async fn leave(self) -> Result<(), Error> {
        match retrying(&self.client, || self.client.delete(&self.path, None)).await {
            Ok(()) => Ok(()),
            Err(Error::Client(client::Error::NoNode)) => Err(Error::NodeLost(self.path.clone())),
            Err(e) => Err(e),
        }
    }
}

/// Whether `path` exists as an ephemeral of this session.
async fn owned(client: &Client, path: &str) -> Result<bool, Error> {
    let stat = retrying(client, || client.exists(path)).await?;
    Ok(stat.is_some_and(|s| s.ephemeral_owner == client.session_id()))
}

/// A live list of a group's members, kept by a background task.
///
/// ```no_run
/// # async fn demo(zk: client::Client) -> Result<(), recipes::Error> {
/// let mut view = recipes::GroupWatcher::start(zk, "/services/api").await?;
/// loop {
///     println!("members: {:?}", view.members().keys().collect::<Vec<_>>());
///     view.changed().await?;
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct GroupWatcher {
    client: Client,
    rx: watch::Receiver<Members>,
    refresh: Arc<Notify>,
    _stop: oneshot::Sender<()>,
}

impl GroupWatcher {
    /// Starts watching `group`; the list is loaded before this returns. A group that does not
    /// exist yet has no members (and is watched for its creation).
    pub async fn start(client: Client, group: &str) -> Result<GroupWatcher, Error> {
        check_path(group)?;
        let (first, wake) = load(&client, group).await?;
        let (tx, rx) = watch::channel(first);
        let (stop_tx, stop_rx) = oneshot::channel();
        let refresh = Arc::new(Notify::new());
        tokio::spawn(run(
            client.clone(),
            group.to_string(),
            tx,
            wake,
            refresh.clone(),
            stop_rx,
        ));
        Ok(GroupWatcher {
            client,
            rx,
            refresh,
            _stop: stop_tx,
        })
    }

    /// The members as last read.
    pub fn members(&self) -> Members {
        self.rx.borrow().clone()
    }

    /// Waits until the list changes (from what this watcher last returned).
    pub async fn changed(&mut self) -> Result<Members, Error> {
        if self.rx.changed().await.is_err() {
            return Err(self.ended());
        }
        Ok(self.rx.borrow_and_update().clone())
    }

    /// Waits until the list satisfies `pred`, and returns it.
    pub async fn wait_for(&mut self, pred: impl Fn(&Members) -> bool) -> Result<Members, Error> {
        let got = self.rx.wait_for(|m| pred(m)).await.map(|m| m.clone());
        got.map_err(|_| self.ended())
    }

    /// Asks the task to re-read the members and their data now.
    pub fn refresh(&self) {
        self.refresh.notify_one();
    }

    fn ended(&self) -> Error {
        let st = self.client.state();
        Error::SessionEnded(if st.is_terminal() {
            st
        } else {
            SessionState::Closed
        })
    }
}

/// Reads the members and sets a watch for the next change of the group's children (or for the
/// group's creation).
async fn load(client: &Client, group: &str) -> Result<(Members, client::WatchFuture), Error> {
    loop {
        let (children, wake) = match client.get_children_w(group).await {
            Ok(r) => r,
            Err(client::Error::NoNode) => match client.exists_w(group).await {
                Ok((None, w)) => return Ok((Members::new(), w)),
                // Created meanwhile: list it.
                Ok((Some(_), _)) => continue,
                Err(client::Error::ConnectionLoss | client::Error::RequestTimeout) => {
                    wait_connected(client).await?;
                    continue;
                }
                Err(e) => return Err(classify(client, e)),
            },
            Err(client::Error::ConnectionLoss | client::Error::RequestTimeout) => {
                wait_connected(client).await?;
                continue;
            }
            Err(e) => return Err(classify(client, e)),
        };
        let mut members = Members::new();
        for id in children {
            let path = format!("{group}/{id}");
            match retrying(client, || client.get_data(&path)).await {
                Ok((data, _)) => {
                    members.insert(id, data);
                }
                // Left between the listing and the read; the watch reports it.
                Err(Error::Client(client::Error::NoNode)) => {}
                Err(e) => return Err(e),
            }
        }
        return Ok((members, wake));
    }
}

async fn run(
    client: Client,
    group: String,
    tx: watch::Sender<Members>,
    mut wake: client::WatchFuture,
    refresh: Arc<Notify>,
    mut stop: oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            _ = &mut stop => return,
            ev = &mut wake => {
                if ev.event_type == client::EventType::None {
                    // The session ended before the group changed.
                    return;
                }
            }
            _ = refresh.notified() => {}
        }
        let loaded = tokio::select! {
            _ = &mut stop => return,
            l = load(&client, &group) => l,
        };
        match loaded {
            Ok((members, w)) => {
                wake = w;
                tx.send_if_modified(|cur| {
                    let differs = *cur != members;
                    *cur = members;
                    differs
                });
            }
            Err(e) => {
                tracing::debug!(%group, error = %e, "group watcher stops");
                return;
            }
        }
    }
}
