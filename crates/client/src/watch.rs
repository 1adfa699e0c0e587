//! What the application holds for a watch: a future for a one-shot watch and a stream for a
//! persistent one.

use crate::session::Command;
use jute::{AddWatchMode, EventType, KeeperState};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::{mpsc, oneshot};

/// A watch notification, with the path as the application named it (chroot stripped).
///
/// Node events carry `state` [`KeeperState::SyncConnected`]. When the session ends before the
/// watch fires, the watch receives one event of type [`EventType::None`] whose state says why
/// ([`KeeperState::Expired`], [`KeeperState::AuthFailed`] or [`KeeperState::Closed`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedEvent {
    /// What happened.
    pub event_type: EventType,
    /// The session state the event was delivered in.
    pub state: KeeperState,
    /// The node the event is about; empty for session events.
    pub path: String,
    /// The zxid of the change that fired the watch. ZooKeeper 3.9 sends it; 3.8 sends −1, which
    /// is reported as `None`.
    pub zxid: Option<i64>,
}

impl WatchedEvent {
    /// The event a watch receives when the session ends in `state`.
    pub(crate) fn session_end(state: KeeperState) -> WatchedEvent {
        WatchedEvent {
            event_type: EventType::None,
            state,
            path: String::new(),
            zxid: None,
        }
    }
}

/// A one-shot watch (from [`crate::Client::get_data_w`], [`crate::Client::exists_w`],
/// [`crate::Client::get_children_w`] ...): resolves to the single event that fires it.
///
/// Dropping it forgets the watch on the client side; the server still sends its one event, which
/// is then discarded.
///
/// ```no_run
/// # async fn demo(client: client::Client) -> Result<(), client::Error> {
/// let (data, _stat, watch) = client.get_data_w("/config").await?;
/// println!("now: {data:?}");
/// let event = watch.await;
/// println!("{:?} on {}", event.event_type, event.path);
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a watch does nothing unless awaited"]
pub struct WatchFuture {
    rx: oneshot::Receiver<WatchedEvent>,
}

impl WatchFuture {
    pub(crate) fn new(rx: oneshot::Receiver<WatchedEvent>) -> WatchFuture {
        WatchFuture { rx }
    }

    /// The event if the watch has already fired, without waiting.
    pub fn try_event(&mut self) -> Option<WatchedEvent> {
        match self.rx.try_recv() {
            Ok(ev) => Some(ev),
            Err(oneshot::error::TryRecvError::Empty) => None,
            Err(oneshot::error::TryRecvError::Closed) => {
                Some(WatchedEvent::session_end(KeeperState::Closed))
            }
        }
    }

    /// Blocks the calling thread until the watch fires. Must not be called from async code.
    pub fn wait_blocking(self) -> WatchedEvent {
        self.rx
            .blocking_recv()
            .unwrap_or_else(|_| WatchedEvent::session_end(KeeperState::Closed))
    }
}

impl Future for WatchFuture {
    type Output = WatchedEvent;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<WatchedEvent> {
        match Pin::new(&mut self.rx).poll(cx) {
            Poll::Ready(Ok(ev)) => Poll::Ready(ev),
            // The session task is gone without a word: the client was dropped.
            Poll::Ready(Err(_)) => Poll::Ready(WatchedEvent::session_end(KeeperState::Closed)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// A persistent or persistent-recursive watch from [`crate::Client::add_watch`]: a stream of
/// every event on the node (or, recursively, its subtree), in the order the server sent them.
///
/// The stream ends (`None`) after the watch is removed ([`crate::Client::remove_watches`], last
/// event [`EventType::PersistentWatchRemoved`]) or the session ends (last event of type
/// [`EventType::None`]). Dropping it removes the watch from the server once no other
/// [`PersistentWatcher`] of this client watches the same path in the same mode. (ZooKeeper
/// before 3.9 can remove a persistent watch only together with every other watch of the path;
/// there the server's watch stays while the client holds another watch on that path, and its
/// events are discarded.)
///
/// ```no_run
/// # async fn demo(client: client::Client) -> Result<(), client::Error> {
/// use client::AddWatchMode;
/// let mut events = client.add_watch("/app", AddWatchMode::PersistentRecursive).await?;
/// while let Some(ev) = events.next().await {
///     println!("{:?} {}", ev.event_type, ev.path);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct PersistentWatcher {
    rx: mpsc::UnboundedReceiver<WatchedEvent>,
    path: String,
    mode: AddWatchMode,
    forget: Option<Forget>,
}

/// What dropping a [`PersistentWatcher`] tells the session task.
#[derive(Debug)]
pub(crate) struct Forget {
    pub(crate) cmd: mpsc::WeakUnboundedSender<Command>,
    pub(crate) server_path: String,
    pub(crate) id: u64,
}

impl PersistentWatcher {
    pub(crate) fn new(
        rx: mpsc::UnboundedReceiver<WatchedEvent>,
        path: String,
        mode: AddWatchMode,
        forget: Forget,
    ) -> PersistentWatcher {
        PersistentWatcher {
            rx,
            path,
            mode,
            forget: Some(forget),
        }
    }

    /// The watched path (as given to `add_watch`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Persistent or persistent-recursive.
    pub fn mode(&self) -> AddWatchMode {
        self.mode
    }

    /// The next event; `None` once the watch is removed or the session has ended.
    pub async fn next(&mut self) -> Option<WatchedEvent> {
        self.rx.recv().await
    }

    /// Polls for the next event (for adapting into a `Stream`).
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<WatchedEvent>> {
        self.rx.poll_recv(cx)
    }

    /// The next event if one is already queued.
    pub fn try_next(&mut self) -> Option<WatchedEvent> {
        self.rx.try_recv().ok()
    }

    /// Blocks the calling thread for the next event. Must not be called from async code.
    pub fn next_blocking(&mut self) -> Option<WatchedEvent> {
        self.rx.blocking_recv()
    }
}

impl Drop for PersistentWatcher {
    fn drop(&mut self) {
        if let Some(f) = self.forget.take() {
            if let Some(cmd) = f.cmd.upgrade() {
                // The task may already be gone; then there is nothing left to forget.
                let _ = cmd.send(Command::ForgetWatcher {
                    mode: self.mode,
                    server_path: f.server_path,
                    id: f.id,
                });
            }
        }
    }
}
