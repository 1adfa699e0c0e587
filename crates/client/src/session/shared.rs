//! The session's state as the client handles see it: connection state, identity, last zxid.

use crate::error::Error;
use crate::state::SessionState;
use bytes::Bytes;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::{broadcast, watch};

/// The session's identity, readable by the application.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionInfo {
    /// The session id (0 before the first connection).
    pub id: i64,
    /// The session password, needed to re-attach the session from another client.
    pub password: Bytes,
    /// The timeout the server granted.
    pub timeout: Duration,
    /// The server of the current or last connection (`host:port`).
    pub server: Option<String>,
}

/// State shared between the session task and the client handles.
#[derive(Debug)]
pub(crate) struct Shared {
    state_tx: watch::Sender<SessionState>,
    events_tx: broadcast::Sender<SessionState>,
    session: Mutex<SessionInfo>,
    last_zxid: AtomicI64,
}

impl Shared {
    pub(crate) fn new() -> Shared {
        let (state_tx, _) = watch::channel(SessionState::Connecting);
        let (events_tx, _) = broadcast::channel(64);
        Shared {
            state_tx,
            events_tx,
            session: Mutex::new(SessionInfo::default()),
            last_zxid: AtomicI64::new(0),
        }
    }

    pub(crate) fn state(&self) -> SessionState {
        *self.state_tx.borrow()
    }

    pub(crate) fn watch_state(&self) -> watch::Receiver<SessionState> {
        self.state_tx.subscribe()
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<SessionState> {
        self.events_tx.subscribe()
    }

    pub(crate) fn session(&self) -> SessionInfo {
        self.session
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn last_zxid(&self) -> i64 {
        self.last_zxid.load(Ordering::Relaxed)
    }

    pub(super) fn set_state(&self, state: SessionState) {
        if *self.state_tx.borrow() == state {
            return;
        }
        tracing::debug!(?state, "session state");
        // The event goes out before the watch value changes, so whoever sees the new value
        // (e.g. `connect` returning) and then subscribes cannot receive this event late.
        let _ = self.events_tx.send(state);
        self.state_tx.send_replace(state);
    }

    pub(super) fn set_last_zxid(&self, zxid: i64) {
        self.last_zxid.store(zxid, Ordering::Relaxed);
    }

    pub(super) fn set_session(&self, info: SessionInfo) {
        *self.session.lock().unwrap_or_else(|p| p.into_inner()) = info;
    }

    /// The error for a request that can no longer be served in a final state.
    pub(crate) fn terminal_error(&self) -> Error {
        terminal_error(self.state())
    }
}

/// The error every request gets once the session is over.
pub(crate) fn terminal_error(state: SessionState) -> Error {
    match state {
        SessionState::Expired => Error::SessionExpired,
        SessionState::AuthFailed => Error::AuthFailed,
        _ => Error::Closed,
    }
}
