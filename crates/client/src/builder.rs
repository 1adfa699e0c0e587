//! Setting up a client: session timeout, read-only mode, initial auth, an existing session.

use crate::client::Client;
use crate::connect_string::ConnectString;
use crate::error::Error;
use crate::session::{Command, SessionConfig, SessionTask, Shared};
use crate::state::SessionState;
use bytes::Bytes;
use rand::seq::SliceRandom;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// The default session timeout asked of the server (it negotiates it into its own bounds).
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(10);

/// The default limit on one incoming packet. ZooKeeper's own client stops at `jute.maxbuffer`
/// (1 MiB), which a `getChildren` of a large directory or a `getData` of a full-size node can
/// exceed; a client that drops such replies reconnects and fails forever, so this one allows more.
pub const DEFAULT_MAX_PACKET: usize = 16 * 1024 * 1024;

/// Configures and opens a [`Client`].
///
/// ```no_run
/// # async fn demo() -> Result<(), client::Error> {
/// use std::time::Duration;
/// let client = client::Client::builder()
///     .session_timeout(Duration::from_secs(6))
///     .auth("digest", b"alice:secret")
///     .connect("10.0.0.1:2181,10.0.0.2:2181/app")
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    session_timeout: Duration,
    connect_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    read_only: bool,
    max_packet: usize,
    auth: Vec<(String, Bytes)>,
    session: Option<(i64, Bytes)>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            session_timeout: DEFAULT_SESSION_TIMEOUT,
            connect_timeout: None,
            request_timeout: None,
            read_only: false,
            max_packet: DEFAULT_MAX_PACKET,
            auth: Vec::new(),
            session: None,
        }
    }
}

impl Builder {
    /// The session timeout to ask for.
    pub fn session_timeout(mut self, timeout: Duration) -> Builder {
        self.session_timeout = timeout;
        self
    }

    /// How long [`Builder::connect`] waits for the first session before failing with
    /// [`Error::ConnectionLoss`]. Defaults to twice the session timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Builder {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How long each request waits for its reply (none by default: until the reply or the
    /// connection's end). A request unanswered in time fails with [`Error::RequestTimeout`] and
    /// the connection is then treated as lost, as ZooKeeper's client does with
    /// `zookeeper.request.timeout`: every other request in flight fails with
    /// [`Error::ConnectionLoss`] and the client re-attaches the session, on another server if
    /// the list has one. The clock starts when the request is made, so time spent waiting for a
    /// connection counts. Zero means no timeout, as in the Java client.
    pub fn request_timeout(mut self, timeout: Duration) -> Builder {
        self.request_timeout = (!timeout.is_zero()).then_some(timeout);
        self
    }

    /// Accept a read-only server (one cut off from its quorum) instead of waiting for a
    /// read-write one; the state is then [`SessionState::ConnectedReadOnly`].
    ///
    /// While on a read-only server the client asks the other servers of the connect string in
    /// turn whether they serve writes (`isro`, after 100 ms, then pausing twice as long each time
    /// up to a minute, as ZooKeeper's client does) and moves to the first that does: the state
    /// goes to [`SessionState::Disconnected`] (requests in flight fail with
    /// [`Error::ConnectionLoss`]), then [`SessionState::Connected`]. A session that has only ever
    /// been on read-only servers is unknown to the quorum, so it is replaced by a new session
    /// there (a new [`Client::session_id`]) rather than re-attached.
    pub fn read_only(mut self, allowed: bool) -> Builder {
        self.read_only = allowed;
        self
    }

    /// The largest packet accepted from the server (see [`DEFAULT_MAX_PACKET`]).
    pub fn max_packet_size(mut self, bytes: usize) -> Builder {
        self.max_packet = bytes;
        self
    }

    /// Authenticates every connection with `scheme` (e.g. `digest` with `user:password`)
    /// before any request; `connect` fails with [`Error::AuthFailed`] if the server refuses.
    pub fn auth(mut self, scheme: impl Into<String>, auth: impl AsRef<[u8]>) -> Builder {
        self.auth
            .push((scheme.into(), Bytes::copy_from_slice(auth.as_ref())));
        self
    }

    /// Re-attaches an existing session (from [`Client::session`]) instead of creating one.
    pub fn session(mut self, id: i64, password: impl AsRef<[u8]>) -> Builder {
        self.session = Some((id, Bytes::copy_from_slice(password.as_ref())));
        self
    }

    /// Connects to one of the servers of `connect_string` (`host:port,host:port/chroot`, tried
    /// in random order) and waits until the session is established.
    ///
    /// Must be called inside a tokio runtime: the session runs as a task on it.
    pub async fn connect(self, connect_string: &str) -> Result<Client, Error> {
        let mut parsed = ConnectString::parse(connect_string)?;
        parsed.hosts.shuffle(&mut rand::rng());
        let (auth_waiters, auth_rxs): (Vec<_>, Vec<_>) =
            self.auth.iter().map(|_| oneshot::channel()).unzip();
        let cfg = SessionConfig {
            hosts: parsed.hosts,
            chroot: parsed.chroot.clone(),
            session_timeout: self.session_timeout,
            read_only: self.read_only,
            max_packet: self.max_packet,
            resume: self.session.clone(),
            auth: self.auth.clone().into_iter().zip(auth_waiters).collect(),
        };
        let shared = Arc::new(Shared::new());
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel::<Command>();
        let mut state = shared.watch_state();
        let client = Client::new(cmd_tx, shared.clone(), parsed.chroot, self.request_timeout);
        tokio::spawn(SessionTask::new(cfg, shared, cmd_rx).run());

        let wait = self.connect_timeout.unwrap_or(self.session_timeout * 2);
        let established = async {
            loop {
                let s = *state.borrow_and_update();
                match s {
                    SessionState::Connected | SessionState::ConnectedReadOnly => break Ok(()),
                    SessionState::Expired => break Err(Error::SessionExpired),
                    SessionState::AuthFailed => break Err(Error::AuthFailed),
                    SessionState::Closed => break Err(Error::Closed),
                    SessionState::Connecting | SessionState::Disconnected => {}
                }
                if state.changed().await.is_err() {
                    break Err(Error::Closed);
                }
            }?;
            // The initial auth packets went out first on the connection; their answers tell
            // whether this session has the identity the caller asked for.
            for rx in auth_rxs {
                match rx.await {
                    Ok(r) => r?,
                    Err(_) => return Err(client.terminal_error()),
                }
            }
            Ok(())
        };
        match tokio::time::timeout(wait, established).await {
            Ok(Ok(())) => Ok(client),
            Ok(Err(e)) => Err(e),
            // Dropping the only handle ends the session task.
            Err(_) => Err(Error::ConnectionLoss),
        }
    }
}
