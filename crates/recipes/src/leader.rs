//! Leader election as a latch, in the layout of Curator's `LeaderLatch`: each participant
//! creates `<path>/_c_<guid>-latch-<seq>` (ephemeral sequential, data = participant id in
//! UTF-8); the participant with the lowest sequence leads; every other one watches only its
//! predecessor.
//!
//! # Guarantees
//! - Among participants whose sessions are alive, at most one sees
//!   [`LeaderLatch::has_leadership`] true at any time, *provided* each flag follows its
//!   session: the latch drops leadership as soon as its client reports `Disconnected`, and only
//!   regains it after re-attaching and re-reading the participants.
//! - When the leader closes its latch or its session ends, the next participant in line takes
//!   over after the server deletes the leader's node (at once for a close, after the session
//!   timeout for a crash).
//! - Anyone, participant or not, can ask who leads with [`current_leader`] and see the line with
//!   [`participants`].
//!
//! # Failure behaviour
//! - Connection loss: leadership is given up at once (the session may expire meanwhile and
//!   someone else take over), and re-evaluated after the session is re-attached; the place in
//!   line is kept, since the ephemeral node survives with the session. (Curator's latch instead
//!   re-creates its node on reconnect, going to the end of the line.)
//! - Session expiry or close: the latch ends, leadership is false for good, and
//!   [`LeaderLatch::await_leadership`] fails with [`Error::SessionEnded`]; start a new latch on a
//!   new client to take part again.
//! - The latch's node deleted by someone else while the session lives: noticed at the latch's
//!   next look at the line (when its predecessor goes, or after a reconnect; a leader does not
//!   watch its own node), then the latch re-creates it at the end of the line.
//! - Dropping the latch stops it and deletes its node in the background, like
//!   [`LeaderLatch::close`].

use crate::error::Error;
use crate::protected::{self, ProtectedNode};
use crate::sequence::sorted_by_sequence;
use crate::session::{check_path, classify, retrying, wait_connected};
use client::{Client, SessionState, WatchFuture};
use std::time::Duration;
use tokio::sync::{broadcast, oneshot, watch};
use tokio::task::JoinHandle;

/// The marker before the sequence in latch node names (Curator's `LeaderLatch.LOCK_NAME`).
pub const LATCH_NAME: &str = "latch-";

/// A participant in an election.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    /// The id the participant gave.
    pub id: String,
    /// The name of its latch node.
    pub node: String,
    /// Whether it is first in line.
    pub is_leader: bool,
}

/// One participant's latch; leadership is tracked by a background task.
///
/// ```no_run
/// # async fn demo(zk: client::Client) -> Result<(), recipes::Error> {
/// let latch = recipes::LeaderLatch::start(zk, "/election/scheduler", "node-a").await?;
/// latch.await_leadership().await?;
/// // ... lead, checking `latch.has_leadership()` before acting ...
/// latch.close().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct LeaderLatch {
    client: Client,
    path: String,
    id: String,
    leader: watch::Receiver<bool>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), Error>>>,
}

impl LeaderLatch {
    /// Joins the election at `path` as `id`.
    pub async fn start(client: Client, path: &str, id: &str) -> Result<LeaderLatch, Error> {
        check_path(path)?;
        let node = protected::create(&client, path, LATCH_NAME, id.as_bytes()).await?;
        let (tx, rx) = watch::channel(false);
        let (stop_tx, stop_rx) = oneshot::channel();
        let task = tokio::spawn(run(
            client.clone(),
            path.to_string(),
            id.to_string(),
            node,
            tx,
            stop_rx,
        ));
        Ok(LeaderLatch {
            client,
            path: path.to_string(),
            id: id.to_string(),
            leader: rx,
            shutdown: Some(stop_tx),
            task: Some(task),
        })
    }

    /// This participant's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The election path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Whether this participant leads, as last established (no round trip). A participant whose
    /// session is not connected never leads, even before the latch's task has reacted to that:
    /// otherwise a closed leader could still claim leadership after its successor took over.
    pub fn has_leadership(&self) -> bool {
        *self.leader.borrow() && self.client.state().is_connected()
    }

    /// Every change of [`LeaderLatch::has_leadership`].
    pub fn leadership(&self) -> watch::Receiver<bool> {
        self.leader.clone()
    }

    /// Waits until this participant leads; fails if the latch ends first.
    pub async fn await_leadership(&self) -> Result<(), Error> {
        let mut rx = self.leader.clone();
        let led = rx.wait_for(|l| *l).await.is_ok();
        if led {
            Ok(())
        } else {
            Err(self.ended())
        }
    }

    /// Like [`LeaderLatch::await_leadership`], for at most `timeout`; `false` if not leading by
    /// then.
    pub async fn await_leadership_for(&self, timeout: Duration) -> Result<bool, Error> {
        match tokio::time::timeout(timeout, self.await_leadership()).await {
            Ok(r) => r.map(|()| true),
            Err(_) => Ok(false),
        }
    }

    /// Leaves the election: stops tracking and deletes this participant's node, so the next in
    /// line takes over at once. While disconnected, the deletion waits for the session to be
    /// re-attached (or to end). Reports why the latch had ended if it ended on its own.
    pub async fn close(mut self) -> Result<(), Error> {
        if let Some(stop) = self.shutdown.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => match task.await {
                Ok(r) => r,
                Err(e) => Err(Error::InvalidArgument(format!("latch task failed: {e}"))),
            },
            None => Ok(()),
        }
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

impl Drop for LeaderLatch {
    fn drop(&mut self) {
        // Dropping the sender stops the task, which deletes the node on its way out.
        self.shutdown.take();
    }
}

/// The participants of the election at `path`, in line order (the first leads).
pub async fn participants(client: &Client, path: &str) -> Result<Vec<Participant>, Error> {
    let children = match retrying(client, || client.get_children(path)).await {
        Ok(c) => c,
        Err(Error::Client(client::Error::NoNode)) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for name in sorted_by_sequence(children, LATCH_NAME) {
        let node = format!("{path}/{name}");
        match retrying(client, || client.get_data(&node)).await {
            Ok((data, _)) => out.push(Participant {
                id: String::from_utf8_lossy(&data).into_owned(),
                is_leader: out.is_empty(),
                node: name,
            }),
            // Left between the listing and the read.
            Err(Error::Client(client::Error::NoNode)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// The current leader of the election at `path`, if anyone takes part.
pub async fn current_leader(client: &Client, path: &str) -> Result<Option<Participant>, Error> {
    Ok(participants(client, path).await?.into_iter().next())
}

/// Where a participant stands after one look at the line.
enum Standing {
    Leader,
    /// Waiting; the watch fires when the predecessor goes.
    Follower(WatchFuture),
}

/// Looks at the line once.
async fn evaluate(client: &Client, path: &str, node: &ProtectedNode) -> Result<Standing, Error> {
    loop {
        let children = retrying(client, || client.get_children(path)).await?;
        let sorted = sorted_by_sequence(children, LATCH_NAME);
        let Some(ours) = sorted.iter().position(|c| *c == node.name) else {
            return Err(Error::NodeLost(node.path.clone()));
        };
        if ours == 0 {
            return Ok(Standing::Leader);
        }
        let predecessor = format!("{path}/{}", sorted[ours - 1]);
        match client.get_data_w(&predecessor).await {
            Ok((_, _, w)) => return Ok(Standing::Follower(w)),
            Err(client::Error::NoNode) => continue,
            Err(client::Error::ConnectionLoss | client::Error::RequestTimeout) => {
                wait_connected(client).await?
            }
            Err(e) => return Err(classify(client, e)),
        }
    }
}

/// Resolves at the next state that takes leadership away (a disconnect or the session's end).
async fn next_disconnect(client: &Client, states: &mut broadcast::Receiver<SessionState>) {
    loop {
        match states.recv().await {
            Ok(s) if !s.is_connected() => return,
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(_)) => {
                if !client.state().is_connected() {
                    return;
                }
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// The latch's background task.
async fn run(
    client: Client,
    path: String,
    id: String,
    mut node: ProtectedNode,
    leader: watch::Sender<bool>,
    mut stop: oneshot::Receiver<()>,
) -> Result<(), Error> {
    let mut states = client.state_events();
    let result = loop {
        let standing = tokio::select! {
            _ = &mut stop => break Ok(()),
            s = evaluate(&client, &path, &node) => s,
        };
        match standing {
            Ok(Standing::Leader) => {
                leader.send_replace(true);
                tracing::debug!(%path, %id, "leadership acquired");
                tokio::select! {
                    _ = &mut stop => break Ok(()),
                    _ = next_disconnect(&client, &mut states) => {}
                }
                leader.send_replace(false);
                tracing::debug!(%path, %id, "leadership suspended: disconnected");
            }
            Ok(Standing::Follower(watch)) => {
                leader.send_replace(false);
                tokio::select! {
                    _ = &mut stop => break Ok(()),
                    _ = watch => continue,
                    _ = next_disconnect(&client, &mut states) => {}
                }
            }
            Err(Error::NodeLost(_)) => {
                leader.send_replace(false);
                tokio::select! {
                    _ = &mut stop => break Ok(()),
                    n = protected::create(&client, &path, LATCH_NAME, id.as_bytes()) => match n {
                        Ok(n) => node = n,
                        Err(e) => break Err(e),
                    },
                }
                continue;
            }
            Err(e) => break Err(e),
        }
        // Disconnected: wait for the session to come back (or end).
        tokio::select! {
            _ = &mut stop => break Ok(()),
            r = wait_connected(&client) => if let Err(e) = r { break Err(e) },
        }
    };
    leader.send_replace(false);
    if !client.state().is_terminal() {
        if let Err(e) = protected::delete(&client, &node.path).await {
            tracing::debug!(path = %node.path, error = %e, "cannot delete latch node");
        }
    }
    result
}
