//! The session task: one per client. It owns the connection, the requests in flight, the watches
//! and the session's identity, and moves between servers when a connection is lost, as ZooKeeper's
//! `ClientCnxn` does.
//!
//! Everything the application does arrives as a [`Command`] on one channel, so the order in which
//! calls are made is the order in which requests go on the wire; replies come back in that order
//! and are matched to requests by xid.

mod command;
mod connection;
mod io;
mod read_write_search;
mod replies;
pub(crate) mod set_watches;
mod shared;
pub(crate) mod watches;

use command::frame_with;
pub(crate) use command::{AuthWaiter, Command, OnReply, Outgoing};
use io::{reply, Io, Pending};
use shared::terminal_error;
pub use shared::SessionInfo;
pub(crate) use shared::Shared;

use crate::connect_string::HostPort;
use crate::error::Error;
use crate::path::Chroot;
use crate::state::SessionState;
use bytes::Bytes;
use connection::Connection;
use jute::proto::RemoveWatchesRequest;
use jute::{xid, AddWatchMode, ConnectRequest, Frame, OpCode, Record, WatcherType};
use rand::Rng;
use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;
use tokio::time::Instant;
use watches::WatchRegistry;

/// How much room each socket read gets.
const READ_CHUNK: usize = 64 * 1024;

/// How the session task is set up.
#[derive(Debug)]
pub(crate) struct SessionConfig {
    /// In the (shuffled) order they are tried.
    pub(crate) hosts: Vec<HostPort>,
    pub(crate) chroot: Chroot,
    pub(crate) session_timeout: Duration,
    pub(crate) read_only: bool,
    pub(crate) max_packet: usize,
    /// An existing session to re-attach (id, password).
    pub(crate) resume: Option<(i64, Bytes)>,
    /// Auth packets sent on every connection, before anything else, with whoever waits for
    /// the first answer.
    pub(crate) auth: Vec<((String, Bytes), AuthWaiter)>,
}

#[derive(Debug)]
struct AuthEntry {
    scheme: String,
    auth: Bytes,
    /// The caller of `add_auth` still waiting for the server's first answer.
    waiter: Option<AuthWaiter>,
}

/// How a connection ended.
enum End {
    /// Lost: try another server with the same session.
    Lost,
    /// The connection was to a read-only server and the server at this index of the host list
    /// says it serves writes: move there.
    ReadWriteFound(usize),
    /// The session is over.
    Terminal(SessionState),
}

/// The session task's state.
pub(crate) struct SessionTask {
    cfg: SessionConfig,
    shared: Arc<Shared>,
    cmds: mpsc::UnboundedReceiver<Command>,
    /// False once every client handle is gone.
    cmds_open: bool,
    next_host: usize,
    session_id: i64,
    passwd: Bytes,
    negotiated: Duration,
    last_zxid: i64,
    next_xid: i32,
    /// Requests accepted while disconnected, sent on the next connection.
    waiting: VecDeque<Outgoing>,
    auth: Vec<AuthEntry>,
    watches: WatchRegistry,
    /// closeSession was asked for: refuse new requests, end when it is answered.
    closing: bool,
    /// Connection attempts that failed since the last success.
    failures: usize,
    /// Whether the session was ever established on a read-write server (or given to the builder,
    /// as Java's client assumes). A session created on a read-only server is local to it and
    /// unknown to the quorum, so until then every connection asks for a new session instead of
    /// re-attaching, as ZooKeeper's client does (`seenRwServerBefore`).
    seen_read_write_server: bool,
}

impl SessionTask {
    pub(crate) fn new(
        mut cfg: SessionConfig,
        shared: Arc<Shared>,
        cmds: mpsc::UnboundedReceiver<Command>,
    ) -> SessionTask {
        let (session_id, passwd) = cfg
            .resume
            .clone()
            .unwrap_or_else(|| (0, Bytes::from_static(&[0; 16])));
        let auth = std::mem::take(&mut cfg.auth)
            .into_iter()
            .map(|((scheme, auth), waiter)| AuthEntry {
                scheme,
                auth,
                waiter: Some(waiter),
            })
            .collect();
        SessionTask {
            negotiated: cfg.session_timeout,
            seen_read_write_server: session_id != 0,
            cfg,
            shared,
            cmds,
            cmds_open: true,
            next_host: 0,
            session_id,
            passwd,
            last_zxid: 0,
            next_xid: 1,
            waiting: VecDeque::new(),
            auth,
            watches: WatchRegistry::default(),
            closing: false,
            failures: 0,
        }
    }

    /// Runs until the session ends.
    pub(crate) async fn run(mut self) {
        let end = self.connect_loop().await;
        self.finish(end);
    }

    async fn connect_loop(&mut self) -> SessionState {
        let mut first = true;
        loop {
            if !first {
                let delay = self.backoff();
                if let Err(end) = self.idle_while(tokio::time::sleep(delay)).await {
                    return end;
                }
            }
            first = false;
            let host_index = self.next_host % self.cfg.hosts.len();
            let host = self.cfg.hosts[host_index].clone();
            self.next_host = self.next_host.wrapping_add(1);
            let (session_id, passwd) = if self.seen_read_write_server {
                (self.session_id, self.passwd.clone())
            } else {
                (0, Bytes::from_static(&[0; 16]))
            };
            let req = ConnectRequest {
                protocol_version: 0,
                last_zxid_seen: self.last_zxid,
                timeout_ms: self.cfg.session_timeout.as_millis().min(i32::MAX as u128) as i32,
                session_id,
                passwd,
                read_only: Some(self.cfg.read_only),
            };
            let attempt = connection::establish(
                host.clone(),
                req,
                self.connect_timeout(),
                self.cfg.max_packet,
            );
            let result = match self.idle_while(attempt).await {
                Ok(r) => r,
                Err(end) => return end,
            };
            match result {
                Err(e) => {
                    tracing::debug!(server = %host, error = %e, "connection attempt failed");
                    self.on_attempt_failed();
                    if self.closing || !self.cmds_open {
                        return SessionState::Closed;
                    }
                }
                Ok(conn) => {
                    if conn.response.timeout_ms <= 0 {
                        tracing::info!(session = self.session_id, "session expired");
                        return SessionState::Expired;
                    }
                    self.failures = 0;
                    self.on_connected(&conn);
                    match self.serve(conn, host_index).await {
                        End::Terminal(state) => return state,
                        End::Lost => {}
                        End::ReadWriteFound(index) => self.next_host = index,
                    }
                    if self.closing || !self.cmds_open {
                        return SessionState::Closed;
                    }
                }
            }
        }
    }

    /// Java's client waits a random time below 1 s before every reconnect, so that many clients
    /// losing one server do not all hit the next one together. The same here, shortened for
    /// short sessions so a reconnect still fits well inside the timeout; a full pass over every
    /// server without success waits longer.
    fn backoff(&self) -> Duration {
        let cap = (self.negotiated / 10).clamp(Duration::from_millis(10), Duration::from_secs(1));
        let mut rng = rand::rng();
        if self.failures > 0 && self.failures.is_multiple_of(self.cfg.hosts.len()) {
            let base = cap.max(Duration::from_millis(200));
            base + rng.random_range(Duration::ZERO..=base)
        } else {
            rng.random_range(Duration::ZERO..=cap)
        }
    }

    /// Java's client gives each server an equal share of the session timeout.
    fn connect_timeout(&self) -> Duration {
        let n = self.cfg.hosts.len().max(1) as u32;
        (self.negotiated / n).max(Duration::from_millis(500))
    }

    /// Drives `fut` while serving commands as a disconnected session does. `Err` means the
    /// session ended meanwhile (every handle dropped while there is no connection).
    async fn idle_while<F: Future>(&mut self, fut: F) -> Result<F::Output, SessionState> {
        tokio::pin!(fut);
        loop {
            tokio::select! {
                biased;
                out = &mut fut => return Ok(out),
                cmd = self.cmds.recv(), if self.cmds_open => match cmd {
                    Some(cmd) => self.on_command_disconnected(cmd),
                    None => {
                        // Nobody can observe the session any more, and without a connection
                        // there is nobody to tell: let it expire on the server.
                        self.cmds_open = false;
                        return Err(SessionState::Closed);
                    }
                },
            }
        }
    }

    fn on_command_disconnected(&mut self, cmd: Command) {
        match cmd {
            Command::Request(o) => {
                if self.closing {
                    reply(o.reply, Err(Error::Closed));
                    return;
                }
                if o.op == OpCode::CloseSession {
                    self.closing = true;
                }
                self.waiting.push_back(o);
            }
            Command::AddAuth {
                scheme,
                auth,
                reply,
            } => self.auth.push(AuthEntry {
                scheme,
                auth,
                waiter: Some(reply),
            }),
            Command::ForgetWatcher {
                mode,
                server_path,
                id,
            } => {
                // Not re-registered on the next connection, so the server forgets it too.
                self.watches.forget(mode, &server_path, id);
            }
            Command::DropConnection => {
                // No connection to drop; but a request whose caller gave up must not go out
                // later, when its caller has already been told it failed.
                self.waiting
                    .retain(|o| o.reply.as_ref().is_none_or(|tx| !tx.is_closed()));
            }
        }
    }

    /// ZooKeeper's client fails what it queued whenever an attempt fails; callers retry on
    /// ConnectionLoss, so requests never wait without bound for a server that is down.
    fn on_attempt_failed(&mut self) {
        self.failures += 1;
        for o in self.waiting.drain(..) {
            reply(o.reply, Err(Error::ConnectionLoss));
        }
    }

    fn on_connected(&mut self, conn: &Connection) {
        let resp = &conn.response;
        self.session_id = resp.session_id;
        self.passwd = resp.passwd.clone();
        self.negotiated = Duration::from_millis(resp.timeout_ms.max(0) as u64);
        self.shared.set_session(SessionInfo {
            id: resp.session_id,
            password: resp.passwd.clone(),
            timeout: self.negotiated,
            server: Some(conn.server.clone()),
        });
        tracing::info!(
            server = %conn.server,
            session = format_args!("0x{:x}", resp.session_id),
            timeout_ms = resp.timeout_ms,
            "session established"
        );
        let read_only = resp.read_only == Some(true);
        self.seen_read_write_server |= !read_only;
        let state = if read_only {
            SessionState::ConnectedReadOnly
        } else {
            SessionState::Connected
        };
        self.shared.set_state(state);
    }

    fn next_xid(&mut self) -> i32 {
        let x = self.next_xid;
        // Negative xids are the protocol's special ones; wrap back to 1.
        self.next_xid = if x == i32::MAX { 1 } else { x + 1 };
        x
    }

    /// Serves one established connection, to `hosts[host_index]`, until it ends.
    async fn serve(&mut self, conn: Connection, host_index: usize) -> End {
        let Connection {
            mut read,
            write,
            mut buf,
            mut decoder,
            response,
            ..
        } = conn;
        // On a read-only server, look for a read-write one for as long as the connection lasts.
        let search = (response.read_only == Some(true))
            .then(|| read_write_search::find_read_write_server(self.cfg.hosts.clone(), host_index));
        let read_write_found = async move {
            match search {
                Some(search) => search.await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(read_write_found);
        let (wtx, wrx) = mpsc::unbounded_channel::<Bytes>();
        let mut writer = tokio::spawn(connection::write_loop(write, wrx));
        let mut io = Io {
            wtx,
            pending: VecDeque::new(),
            auth_pending: VecDeque::new(),
            last_send: Instant::now(),
        };

        // Prime the connection as ZooKeeper's client does: auth first (so re-registered watches
        // are checked against the right identity), then the watches, then queued requests.
        for entry in &mut self.auth {
            io.send_auth(&entry.scheme, &entry.auth, entry.waiter.take());
        }
        let lists = self.watches.lists();
        for packet in set_watches::packets(self.last_zxid, lists) {
            let body = packet.body;
            io.send_raw(
                frame_with(xid::SET_WATCHES, packet.op, |b| b.extend_from_slice(&body)),
                Pending {
                    xid: xid::SET_WATCHES,
                    op: packet.op,
                    reply: None,
                    on_reply: None,
                },
            );
        }
        while let Some(o) = self.waiting.pop_front() {
            self.send(&mut io, o);
        }

        let ping_every = self.negotiated / 3;
        let read_timeout = self.negotiated * 2 / 3;
        let mut last_recv = Instant::now();
        let timer = tokio::time::sleep_until(last_recv + ping_every);
        tokio::pin!(timer);

        let end = 'conn: loop {
            // Every complete frame first: replies may already be buffered from the handshake.
            loop {
                match decoder.decode(&mut buf) {
                    Ok(Some(Frame::Packet(body))) => {
                        if let Some(end) = self.on_frame(body, &mut io) {
                            break 'conn end;
                        }
                    }
                    Ok(Some(Frame::FourLetterWord(_))) => break 'conn End::Lost,
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "unframeable data from the server");
                        break 'conn End::Lost;
                    }
                }
            }
            // BytesMut grows by only 64 bytes when full; keep room for large reads.
            if buf.capacity() - buf.len() < READ_CHUNK / 4 {
                buf.reserve(READ_CHUNK);
            }
            let deadline = (io.last_send + ping_every).min(last_recv + read_timeout);
            if timer.deadline() != deadline {
                timer.as_mut().reset(deadline);
            }
            tokio::select! {
                biased;
                n = read.read_buf(&mut buf) => match n {
                    Ok(0) => {
                        tracing::debug!("server closed the connection");
                        break 'conn End::Lost;
                    }
                    Ok(_) => last_recv = Instant::now(),
                    Err(e) => {
                        tracing::debug!(error = %e, "read failed");
                        break 'conn End::Lost;
                    }
                },
                res = &mut writer => {
                    tracing::debug!(result = ?res, "writer ended");
                    break 'conn End::Lost;
                }
                cmd = self.cmds.recv(), if self.cmds_open => {
                    if let Some(end) = self.on_command(cmd, &mut io) {
                        break 'conn end;
                    }
                }
                index = &mut read_write_found, if !self.closing => {
                    tracing::info!(
                        server = %self.cfg.hosts[index],
                        "found a read-write server; leaving the read-only one"
                    );
                    break 'conn End::ReadWriteFound(index);
                }
                () = &mut timer => {
                    let now = Instant::now();
                    if now >= last_recv + read_timeout {
                        tracing::info!(
                            silent_ms = (now - last_recv).as_millis() as u64,
                            "no word from the server; reconnecting"
                        );
                        break 'conn End::Lost;
                    }
                    if now >= io.last_send + ping_every {
                        io.send_raw(frame_with(xid::PING, OpCode::Ping, |_| {}), None);
                    }
                }
            }
        };
        writer.abort();
        let err = match &end {
            End::Lost | End::ReadWriteFound(_) => {
                // Published before the failures, so a caller that gets ConnectionLoss already
                // sees the client as disconnected.
                self.shared.set_state(SessionState::Disconnected);
                Error::ConnectionLoss
            }
            End::Terminal(state) => terminal_error(*state),
        };
        for p in io.pending.drain(..) {
            reply(p.reply, Err(err.clone()));
        }
        for w in io.auth_pending.drain(..).flatten() {
            let _ = w.send(Err(err.clone()));
        }
        end
    }

    fn send(&mut self, io: &mut Io, mut o: Outgoing) {
        let xid = self.next_xid();
        o.frame[4..8].copy_from_slice(&xid.to_be_bytes());
        io.send_raw(
            o.frame,
            Pending {
                xid,
                op: o.op,
                reply: o.reply,
                on_reply: o.on_reply,
            },
        );
    }

    /// Handles one command on a live connection; `Some` ends the connection.
    fn on_command(&mut self, cmd: Option<Command>, io: &mut Io) -> Option<End> {
        match cmd {
            Some(Command::Request(o)) => {
                if self.closing {
                    reply(o.reply, Err(Error::Closed));
                    return None;
                }
                if o.op == OpCode::CloseSession {
                    self.closing = true;
                }
                self.send(io, o);
            }
            Some(Command::DropConnection) => {
                tracing::info!("a request timed out; dropping the connection");
                return Some(End::Lost);
            }
            Some(Command::AddAuth {
                scheme,
                auth,
                reply,
            }) => {
                io.send_auth(&scheme, &auth, Some(reply));
                self.auth.push(AuthEntry {
                    scheme,
                    auth,
                    waiter: None,
                });
            }
            Some(Command::ForgetWatcher {
                mode,
                server_path,
                id,
            }) => {
                if self.watches.forget(mode, &server_path, id) && !self.closing {
                    let watcher_type = removal_type(mode, &server_path, &self.watches, io);
                    let req = RemoveWatchesRequest {
                        path: server_path,
                        watcher_type: watcher_type as i32,
                    };
                    let xid = self.next_xid();
                    io.send_raw(
                        frame_with(xid, OpCode::RemoveWatches, |b| req.encode(b)),
                        Pending {
                            xid,
                            op: OpCode::RemoveWatches,
                            reply: None,
                            on_reply: None,
                        },
                    );
                }
            }
            None => {
                // Every handle is gone: close the session rather than leave it to expire.
                self.cmds_open = false;
                if !self.closing {
                    self.closing = true;
                    let xid = self.next_xid();
                    io.send_raw(
                        frame_with(xid, OpCode::CloseSession, |_| {}),
                        Pending {
                            xid,
                            op: OpCode::CloseSession,
                            reply: None,
                            on_reply: None,
                        },
                    );
                }
            }
        }
        None
    }

    /// Ends the session: publishes the final state and fails everything still waiting.
    fn finish(mut self, state: SessionState) {
        self.shared.set_state(state);
        let err = terminal_error(state);
        for o in self.waiting.drain(..) {
            // A close that never reached a server did not close the session there.
            let e = if o.op == OpCode::CloseSession {
                Error::ConnectionLoss
            } else {
                err.clone()
            };
            reply(o.reply, Err(e));
        }
        for a in self.auth.drain(..) {
            if let Some(w) = a.waiter {
                let _ = w.send(Err(err.clone()));
            }
        }
        self.watches.end_session(state.keeper_state());
        // Later commands find the channel closed and read the final state instead.
        self.cmds.close();
        while let Ok(cmd) = self.cmds.try_recv() {
            match cmd {
                Command::Request(o) => reply(o.reply, Err(err.clone())),
                Command::AddAuth { reply, .. } => {
                    let _ = reply.send(Err(err.clone()));
                }
                Command::ForgetWatcher { .. } | Command::DropConnection => {}
            }
        }
        tracing::debug!(?state, "session task done");
    }
}

/// Which watches to remove on the server when the last [`crate::PersistentWatcher`] of a path
/// and mode is dropped. ZooKeeper before 3.9 refuses the persistent watcher types in
/// `removeWatches` (MarshallingError) and removes persistent watches only with `Any`; `Any` also
/// removes one-shot watches, so it is used only when this client holds, and awaits, no other
/// watch on the path.
fn removal_type(
    mode: AddWatchMode,
    server_path: &str,
    watches: &WatchRegistry,
    io: &Io,
) -> WatcherType {
    let registering = io.pending.iter().any(|p| match &p.on_reply {
        Some(OnReply::Register(reg)) => reg.server_path() == server_path,
        _ => false,
    });
    if !registering && !watches.watches_path(server_path) {
        return WatcherType::Any;
    }
    match mode {
        AddWatchMode::Persistent => WatcherType::Persistent,
        AddWatchMode::PersistentRecursive => WatcherType::PersistentRecursive,
    }
}
