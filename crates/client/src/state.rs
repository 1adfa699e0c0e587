//! The session's connection state as the application sees it.

use jute::KeeperState;

/// Where the session stands. Published on [`crate::Client::state_events`] at every change and
/// readable at any time with [`crate::Client::state`].
///
/// `Disconnected` is not the end: the client keeps trying the servers of its connect string and
/// re-attaches the session (`Connected` again) unless the server says it expired meanwhile.
/// `Expired`, `AuthFailed` and `Closed` are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionState {
    /// No session yet: the first connection is being made.
    Connecting,
    /// Connected to a server that serves reads and writes (`SyncConnected`).
    Connected,
    /// Connected to a read-only server (only when the client asked for read-only mode).
    ConnectedReadOnly,
    /// The connection was lost; the session may still be alive and the client is reconnecting.
    Disconnected,
    /// The server declared the session expired. Final.
    Expired,
    /// The server refused an authentication packet and closed the connection. Final.
    AuthFailed,
    /// The client was closed. Final.
    Closed,
}

impl SessionState {
    /// True once no further state can follow.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            SessionState::Expired | SessionState::AuthFailed | SessionState::Closed
        )
    }

    /// True while requests can be sent.
    pub fn is_connected(self) -> bool {
        matches!(
            self,
            SessionState::Connected | SessionState::ConnectedReadOnly
        )
    }

    /// ZooKeeper's name for this state in watch events (`Watcher.Event.KeeperState`).
    pub fn keeper_state(self) -> KeeperState {
        match self {
            SessionState::Connecting | SessionState::Disconnected => KeeperState::Disconnected,
            SessionState::Connected => KeeperState::SyncConnected,
            SessionState::ConnectedReadOnly => KeeperState::ConnectedReadOnly,
            SessionState::Expired => KeeperState::Expired,
            SessionState::AuthFailed => KeeperState::AuthFailed,
            SessionState::Closed => KeeperState::Closed,
        }
    }
}
