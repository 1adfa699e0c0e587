//! An async (tokio) client for ZooKeeper and Ferrokeeper, with a blocking facade.
//!
//! - One [`Client`] is one session. The connect string `host1:port,host2:port/chroot` lists the
//!   servers (tried in random order) and an optional chroot, prepended to every path sent and
//!   stripped from every path received.
//! - The session survives connection losses: the client moves to another server (or the same one)
//!   and re-attaches the session, re-sending its auth and re-registering its watches (the server
//!   fires what was missed meanwhile). Requests in flight at the loss fail with
//!   [`Error::ConnectionLoss`]; if the server says the session expired, the state becomes
//!   [`SessionState::Expired`] and the client is finished.
//! - With [`Builder::read_only`], a server cut off from its quorum serves the session's reads
//!   ([`SessionState::ConnectedReadOnly`]) while the client looks for a read-write server among
//!   the others and moves there as soon as one answers.
//! - Requests are pipelined on one connection and answered in order. With
//!   [`Builder::request_timeout`], a request unanswered in time fails with
//!   [`Error::RequestTimeout`] and the connection is dropped and re-established, as with the Java
//!   client's `zookeeper.request.timeout`.
//! - Null data (Java's `create(path, null, ...)`) is kept apart from empty data:
//!   [`Client::create_opt`], [`Client::set_data_opt`] and [`Client::get_data_opt`].
//! - One-shot watches are futures ([`WatchFuture`]); persistent watches are streams
//!   ([`PersistentWatcher`]).
//!
//! ```no_run
//! use client::{AddWatchMode, Client, CreateOptions, EventType};
//!
//! # async fn demo() -> Result<(), client::Error> {
//! let zk = Client::connect("127.0.0.1:2181/myapp").await?;
//! zk.create("/config", b"v1", &CreateOptions::persistent()).await?;
//!
//! let (data, _stat, changed) = zk.get_data_w("/config").await?;
//! assert_eq!(data, b"v1");
//! zk.set_data("/config", b"v2", None).await?;
//! assert_eq!(changed.await.event_type, EventType::NodeDataChanged);
//!
//! let mut all = zk.add_watch("/", AddWatchMode::PersistentRecursive).await?;
//! zk.delete("/config", None).await?;
//! let ev = all.next().await.expect("event");
//! assert_eq!((ev.event_type, ev.path.as_str()), (EventType::NodeDeleted, "/config"));
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod acl;
pub mod blocking;
mod builder;
mod client;
mod connect_string;
mod ensemble_config;
mod error;
mod multi;
mod options;
mod path;
mod session;
mod state;
mod watch;

pub use acl::{creator_all_acl, digest_acl, digest_id};
pub use builder::{Builder, DEFAULT_MAX_PACKET, DEFAULT_SESSION_TIMEOUT};
pub use client::Client;
pub use connect_string::DEFAULT_PORT;
pub use ensemble_config::CONFIG_NODE;
pub use error::Error;
pub use multi::{MultiBuilder, MultiError, MultiReadBuilder, OpResult, ReadResult};
pub use options::{CreateOptions, MAX_TTL_MS};
pub use session::SessionInfo;
pub use state::SessionState;
pub use watch::{PersistentWatcher, WatchFuture, WatchedEvent};

pub use jute::{
    perms, Acl, AddWatchMode, ClientInfo, CreateMode, ErrorCode, EventType, Id, KeeperState, Stat,
    WatcherType,
};
