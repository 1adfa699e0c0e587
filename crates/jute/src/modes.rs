//! Enumerations carried as ints: create modes, watch event types and states, watcher types, addWatch modes.

use crate::DecodeError;

/// How a znode is created (`CreateMode`, the `flags` of a create request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CreateMode {
    /// Flag 0.
    Persistent,
    /// Flag 1: deleted when the session ends.
    Ephemeral,
    /// Flag 2: the path gets a `%010d` suffix.
    PersistentSequential,
    /// Flag 3.
    EphemeralSequential,
    /// Flag 4: deleted by the server once it had children and has none left.
    Container,
    /// Flag 5: deleted after its TTL without changes and without children.
    PersistentWithTtl,
    /// Flag 6.
    PersistentSequentialWithTtl,
}

impl CreateMode {
    /// The mode for a create request's `flags`; anything but 0..=6 is invalid.
    pub fn from_flags(flags: i32) -> Result<Self, DecodeError> {
        use CreateMode::*;
        Ok(match flags {
            0 => Persistent,
            1 => Ephemeral,
            2 => PersistentSequential,
            3 => EphemeralSequential,
            4 => Container,
            5 => PersistentWithTtl,
            6 => PersistentSequentialWithTtl,
            _ => {
                return Err(DecodeError::InvalidValue {
                    field: "CreateMode",
                    value: flags as i64,
                })
            }
        })
    }

    /// The `flags` value of this mode.
    pub fn flags(self) -> i32 {
        use CreateMode::*;
        match self {
            Persistent => 0,
            Ephemeral => 1,
            PersistentSequential => 2,
            EphemeralSequential => 3,
            Container => 4,
            PersistentWithTtl => 5,
            PersistentSequentialWithTtl => 6,
        }
    }

    /// Ephemeral or ephemeral-sequential.
    pub fn is_ephemeral(self) -> bool {
        matches!(
            self,
            CreateMode::Ephemeral | CreateMode::EphemeralSequential
        )
    }

    /// Gets a sequence suffix.
    pub fn is_sequential(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentSequential
                | CreateMode::EphemeralSequential
                | CreateMode::PersistentSequentialWithTtl
        )
    }

    /// A container node.
    pub fn is_container(self) -> bool {
        self == CreateMode::Container
    }

    /// Needs a TTL (`createTTL`).
    pub fn is_ttl(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentWithTtl | CreateMode::PersistentSequentialWithTtl
        )
    }
}

/// Watch event types (`Watcher.Event.EventType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(i32)]
pub enum EventType {
    /// A session state change, not a node event.
    None = -1,
    /// The node was created.
    NodeCreated = 1,
    /// The node was deleted.
    NodeDeleted = 2,
    /// The node's data changed.
    NodeDataChanged = 3,
    /// A child was created or deleted.
    NodeChildrenChanged = 4,
    /// A data watch was removed (client-side event).
    DataWatchRemoved = 5,
    /// A child watch was removed (client-side event).
    ChildWatchRemoved = 6,
    /// A persistent watch was removed (client-side event).
    PersistentWatchRemoved = 7,
}

impl EventType {
    /// The event type for a wire value.
    pub fn from_i32(v: i32) -> Option<Self> {
        use EventType::*;
        Some(match v {
            -1 => None,
            1 => NodeCreated,
            2 => NodeDeleted,
            3 => NodeDataChanged,
            4 => NodeChildrenChanged,
            5 => DataWatchRemoved,
            6 => ChildWatchRemoved,
            7 => PersistentWatchRemoved,
            _ => return Option::None,
        })
    }
}

/// Connection states carried in watch events (`Watcher.Event.KeeperState`). The server only
/// ever sends `SyncConnected` in a notification; the others are client-side states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum KeeperState {
    /// Deprecated in ZooKeeper, never sent.
    Unknown = -1,
    /// The client lost its connection.
    Disconnected = 0,
    /// Deprecated in ZooKeeper, never sent.
    NoSyncConnected = 1,
    /// Connected: the state of every server-sent notification.
    SyncConnected = 3,
    /// Authentication failed.
    AuthFailed = 4,
    /// Connected to a read-only server.
    ConnectedReadOnly = 5,
    /// SASL authentication succeeded.
    SaslAuthenticated = 6,
    /// The session expired.
    Expired = -112,
    /// The client closed the session.
    Closed = 7,
}

impl KeeperState {
    /// The state for a wire value.
    pub fn from_i32(v: i32) -> Option<Self> {
        use KeeperState::*;
        Some(match v {
            -1 => Unknown,
            0 => Disconnected,
            1 => NoSyncConnected,
            3 => SyncConnected,
            4 => AuthFailed,
            5 => ConnectedReadOnly,
            6 => SaslAuthenticated,
            -112 => Expired,
            7 => Closed,
            _ => return None,
        })
    }
}

/// Which watches `checkWatches`/`removeWatches` address (`Watcher.WatcherType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WatcherType {
    /// Child watches.
    Children = 1,
    /// Data and exist watches.
    Data = 2,
    /// Every kind.
    Any = 3,
    /// Persistent watches.
    Persistent = 4,
    /// Persistent recursive watches.
    PersistentRecursive = 5,
}

impl WatcherType {
    /// The watcher type for a wire value.
    pub fn from_i32(v: i32) -> Option<Self> {
        Some(match v {
            1 => WatcherType::Children,
            2 => WatcherType::Data,
            3 => WatcherType::Any,
            4 => WatcherType::Persistent,
            5 => WatcherType::PersistentRecursive,
            _ => return None,
        })
    }
}

/// The mode of an `addWatch` request (`AddWatchMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddWatchMode {
    /// Fires on the node itself (data, children, deletion) and stays.
    Persistent = 0,
    /// Fires on the node and every descendant; never sends NodeChildrenChanged.
    PersistentRecursive = 1,
}

impl AddWatchMode {
    /// The mode for a wire value.
    pub fn from_i32(v: i32) -> Option<Self> {
        match v {
            0 => Some(AddWatchMode::Persistent),
            1 => Some(AddWatchMode::PersistentRecursive),
            _ => None,
        }
    }
}
