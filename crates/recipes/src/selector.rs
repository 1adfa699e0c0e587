//! Leader election as a selector, in the style of Curator's `LeaderSelector`: the participants
//! contend for an [`InterProcessMutex`] at the election path (nodes
//! `<path>/_c_<guid>-lock-<seq>` holding the participant id, as Curator's selector makes them);
//! the holder runs the `take_leadership` callback, and leadership passes on when the callback
//! returns.
//!
//! # Guarantees
//! - At most one participant runs its callback at a time, provided each leader's session is
//!   alive: a term starts only once its participant holds the mutex, and ends (the callback's
//!   future is dropped) before the mutex is released.
//! - Fair: participants lead in the order they queued; with auto-requeue they take turns.
//! - A term is interrupted (its future dropped at its next await point) as soon as the client
//!   is disconnected or the mutex node is lost, that is before the session can expire on the
//!   server and someone else take over: Curator's `LeaderSelectorListenerAdapter`, which
//!   cancels leadership on `SUSPENDED` and `LOST`. A callback that does blocking work between
//!   awaits is not interrupted until its next await; it should check
//!   [`Leadership::is_leader`] or use the fencing token.
//! - Anyone, participant or not, can ask who leads with [`current_leader`] and see the line
//!   with [`participants`].
//!
//! # Failure behaviour
//! - Connection loss: the current term is interrupted; its mutex node is deleted once the
//!   session is re-attached (so the next in line takes over), and with auto-requeue the
//!   participant queues again at the end of the line.
//! - Session expiry or close: the current term is interrupted, and the selector ends with
//!   [`Error::SessionEnded`] (reported by [`LeaderSelector::close`]); start a new selector on a
//!   new client to take part again.
//! - Closing (or dropping) the selector interrupts a running term and leaves the line.
//! - Its mutex node deleted by someone else while waiting in line: the selector ends with
//!   [`Error::NodeLost`] (Curator retries instead).

use crate::error::Error;
use crate::lock::{InterProcessMutex, LockGuard, LOCK_NAME};
use crate::sequence::sorted_by_sequence;
use crate::session::{check_path, retrying, wait_connected};
use client::{Client, SessionState};
use std::future::Future;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

/// What the `take_leadership` callback gets for its term.
#[derive(Debug, Clone)]
pub struct Leadership {
    client: Client,
    id: String,
    token: i64,
    leading: watch::Receiver<bool>,
}

impl Leadership {
    /// The client whose session holds the leadership.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// This participant's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The fencing token of this term (the mutex node's creation zxid): later terms, of any
    /// participant, have higher tokens.
    pub fn fencing_token(&self) -> i64 {
        self.token
    }

    /// Whether the term is still on (no interruption decided, and the client connected).
    pub fn is_leader(&self) -> bool {
        *self.leading.borrow() && self.client.state().is_connected()
    }
}

/// Options of a [`LeaderSelector`].
#[derive(Debug, Clone, Default)]
pub struct SelectorOptions {
    /// Queue again after each term (Curator's `autoRequeue`); otherwise the selector ends after
    /// its first term.
    pub auto_requeue: bool,
}

/// One participant of a selector election; its terms run on a background task.
///
/// ```no_run
/// # async fn demo(zk: client::Client) -> Result<(), recipes::Error> {
/// use recipes::selector::{LeaderSelector, SelectorOptions};
/// let opts = SelectorOptions { auto_requeue: true };
/// let selector = LeaderSelector::start(zk, "/election/compactor", "node-a", opts, |term| async move {
///     println!("{} leads with token {}", term.id(), term.fencing_token());
///     // ... lead; returning hands leadership on ...
/// })?;
/// # selector.close().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct LeaderSelector {
    client: Client,
    leading: watch::Receiver<bool>,
    terms: watch::Receiver<u64>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), Error>>>,
}

impl LeaderSelector {
    /// Joins the election at `path` as `id`; `take_leadership` runs for each term.
    pub fn start<F, Fut>(
        client: Client,
        path: &str,
        id: &str,
        options: SelectorOptions,
        take_leadership: F,
    ) -> Result<LeaderSelector, Error>
    where
        F: FnMut(Leadership) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        check_path(path)?;
        let mutex = InterProcessMutex::new(client.clone(), path)?.with_node_data(id.as_bytes());
        let (leading_tx, leading) = watch::channel(false);
        let (terms_tx, terms) = watch::channel(0);
        let (stop_tx, stop_rx) = oneshot::channel();
        let run = Run {
            client: client.clone(),
            id: id.to_string(),
            mutex,
            options,
            leading: leading_tx,
            terms: terms_tx,
        };
        let task = tokio::spawn(run.run(take_leadership, stop_rx));
        Ok(LeaderSelector {
            client,
            leading,
            terms,
            shutdown: Some(stop_tx),
            task: Some(task),
        })
    }

    /// Whether this participant is in a term now. A participant whose client is not
    /// connected never leads.
    pub fn has_leadership(&self) -> bool {
        *self.leading.borrow() && self.client.state().is_connected()
    }

    /// Every start (`true`) and end (`false`) of a term.
    pub fn leadership(&self) -> watch::Receiver<bool> {
        self.leading.clone()
    }

    /// How many terms have ended.
    pub fn terms(&self) -> u64 {
        *self.terms.borrow()
    }

    /// Whether the selector's task has ended (after its only term without auto-requeue, or
    /// when the session ended).
    pub fn is_finished(&self) -> bool {
        self.task.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Leaves the election, interrupting a running term, and reports why the selector had
    /// ended if it ended on its own with an error.
    pub async fn close(mut self) -> Result<(), Error> {
        if let Some(stop) = self.shutdown.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => match task.await {
                Ok(r) => r,
                Err(e) => Err(Error::InvalidArgument(format!("selector task failed: {e}"))),
            },
            None => Ok(()),
        }
    }
}

impl Drop for LeaderSelector {
    fn drop(&mut self) {
        // Dropping the sender stops the task, which interrupts the term and leaves the line.
        self.shutdown.take();
    }
}

/// The participants of the selector election at `path` (their ids), in line order: the first
/// leads.
pub async fn participants(client: &Client, path: &str) -> Result<Vec<String>, Error> {
    let children = match retrying(client, || client.get_children(path)).await {
        Ok(c) => c,
        Err(Error::Client(client::Error::NoNode)) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for name in sorted_by_sequence(children, LOCK_NAME) {
        let node = format!("{path}/{name}");
        match retrying(client, || client.get_data(&node)).await {
            Ok((data, _)) => out.push(String::from_utf8_lossy(&data).into_owned()),
            Err(Error::Client(client::Error::NoNode)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// The id of the current leader of the selector election at `path`, if anyone takes part.
pub async fn current_leader(client: &Client, path: &str) -> Result<Option<String>, Error> {
    Ok(participants(client, path).await?.into_iter().next())
}

/// How a term ended.
enum TermEnd {
    Returned,
    Interrupted,
    Stopped,
}

struct Run {
    client: Client,
    id: String,
    mutex: InterProcessMutex,
    options: SelectorOptions,
    leading: watch::Sender<bool>,
    terms: watch::Sender<u64>,
}

impl Run {
    async fn run<F, Fut>(
        self,
        mut take_leadership: F,
        mut stop: oneshot::Receiver<()>,
    ) -> Result<(), Error>
    where
        F: FnMut(Leadership) -> Fut,
        Fut: Future<Output = ()>,
    {
        loop {
            let guard = tokio::select! {
                biased;
                _ = &mut stop => return Ok(()),
                g = self.mutex.acquire() => g?,
            };
            let end = self.term(&mut take_leadership, &guard, &mut stop).await;
            self.leading.send_replace(false);
            self.terms.send_modify(|n| *n += 1);
            self.give_up(guard).await;
            match end {
                TermEnd::Stopped => return Ok(()),
                _ if self.client.state().is_terminal() => {
                    return Err(Error::SessionEnded(self.client.state()))
                }
                TermEnd::Returned | TermEnd::Interrupted if !self.options.auto_requeue => {
                    return Ok(())
                }
                TermEnd::Returned | TermEnd::Interrupted => {}
            }
            // Requeue only with a live connection: the next acquire needs one anyway, and
            // waiting here reports a session that ended.
            wait_connected(&self.client).await?;
        }
    }

    /// Runs one term until the callback returns, leadership may be lost, or the selector stops.
    async fn term<F, Fut>(
        &self,
        take_leadership: &mut F,
        guard: &LockGuard,
        stop: &mut oneshot::Receiver<()>,
    ) -> TermEnd
    where
        F: FnMut(Leadership) -> Fut,
        Fut: Future<Output = ()>,
    {
        // The term must not start if the connection dropped right after the acquisition.
        if !self.client.state().is_connected() {
            return TermEnd::Interrupted;
        }
        self.leading.send_replace(true);
        let lead = take_leadership(Leadership {
            client: self.client.clone(),
            id: self.id.clone(),
            token: guard.fencing_token(),
            leading: self.leading.subscribe(),
        });
        tokio::select! {
            biased;
            _ = &mut *stop => TermEnd::Stopped,
            _ = guard.lost_or_suspended() => {
                tracing::debug!(id = %self.id, "leadership interrupted");
                TermEnd::Interrupted
            }
            () = lead => TermEnd::Returned,
        }
    }

    /// Releases the mutex after a term: at once when connected, else once the session is
    /// re-attached; nothing to do if the session ended (the node is gone with it).
    async fn give_up(&self, guard: LockGuard) {
        if self.client.state() == SessionState::Closed {
            return;
        }
        match guard.release().await {
            Ok(()) | Err(Error::NodeLost(_)) | Err(Error::SessionEnded(_)) => {}
            Err(e) => tracing::debug!(id = %self.id, error = %e, "cannot release leadership"),
        }
    }
}
