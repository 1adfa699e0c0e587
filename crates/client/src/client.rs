//! The async client handle and every single-request operation.

use crate::builder::Builder;
use crate::error::Error;
use crate::multi::{MultiBuilder, MultiReadBuilder};
use crate::options::CreateOptions;
use crate::path::{validate, Chroot};
use crate::session::watches::{OneShotKind, Registration};
use crate::session::{Command, OnReply, Outgoing, SessionInfo, Shared};
use crate::state::SessionState;
use crate::watch::{Forget, PersistentWatcher, WatchFuture};
use bytes::{Bytes, BytesMut};
use jute::proto::*;
use jute::{
    Acl, AddWatchMode, ClientInfo, CreateOp, OpCode, Reader, Record, Request, Stat, WatcherType,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

/// An async ZooKeeper client: one session, kept alive across connection losses, shared by every
/// clone of the handle.
///
/// Requests are pipelined: any number may be in flight on the connection, and replies are
/// matched to them in order. A request in flight when the connection drops fails with
/// [`Error::ConnectionLoss`] (its outcome is unknown); the session itself survives if a server
/// is reached again within the session timeout. Dropping the last handle closes the session.
///
/// ```no_run
/// use client::{Client, CreateOptions, Error};
///
/// # async fn demo() -> Result<(), Error> {
/// let zk = Client::connect("127.0.0.1:2181").await?;
/// let (path, _stat) = zk.create("/jobs", b"", &CreateOptions::persistent()).await?;
/// zk.set_data(&path, b"ready", None).await?;
/// let (data, stat) = zk.get_data("/jobs").await?;
/// assert_eq!(data, b"ready");
/// assert_eq!(stat.version, 1);
/// match zk.delete("/missing", None).await {
///     Err(Error::NoNode) => {}
///     other => panic!("{other:?}"),
/// }
/// zk.close().await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    cmd: mpsc::UnboundedSender<Command>,
    shared: Arc<Shared>,
    chroot: Chroot,
    next_watch_id: AtomicU64,
    request_timeout: Option<Duration>,
}

impl Client {
    pub(crate) fn new(
        cmd: mpsc::UnboundedSender<Command>,
        shared: Arc<Shared>,
        chroot: Chroot,
        request_timeout: Option<Duration>,
    ) -> Client {
        Client {
            inner: Arc::new(Inner {
                cmd,
                shared,
                chroot,
                next_watch_id: AtomicU64::new(1),
                request_timeout,
            }),
        }
    }

    /// A [`Builder`] for a client with non-default settings.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Connects with default settings (10 s session timeout); see [`Builder::connect`].
    pub async fn connect(connect_string: &str) -> Result<Client, Error> {
        Builder::default().connect(connect_string).await
    }

    /// The current session state.
    pub fn state(&self) -> SessionState {
        self.inner.shared.state()
    }

    /// Every state change from now on, in order (a lagging receiver is told how many it missed).
    pub fn state_events(&self) -> broadcast::Receiver<SessionState> {
        self.inner.shared.subscribe()
    }

    /// The latest state, for waiting on a particular one (`wait_for`).
    pub fn state_watch(&self) -> watch::Receiver<SessionState> {
        self.inner.shared.watch_state()
    }

    /// The session's id, password, negotiated timeout and current server.
    pub fn session(&self) -> SessionInfo {
        self.inner.shared.session()
    }

    /// The session id.
    pub fn session_id(&self) -> i64 {
        self.session().id
    }

    /// The newest zxid seen in a reply; sent on reconnect so that no server older than what
    /// this client has seen accepts it.
    pub fn last_zxid(&self) -> i64 {
        self.inner.shared.last_zxid()
    }

    /// The chroot of the connect string, if any.
    pub fn chroot(&self) -> Option<&str> {
        self.inner.chroot.as_str()
    }

    pub(crate) fn terminal_error(&self) -> Error {
        self.inner.shared.terminal_error()
    }

    pub(crate) fn chroot_ref(&self) -> &Chroot {
        &self.inner.chroot
    }

    /// The server path of `path`, after checking it.
    pub(crate) fn server_path(&self, path: &str) -> Result<String, Error> {
        validate(path, false)?;
        Ok(self.inner.chroot.prepend(path))
    }

    /// Sends one request and waits for its reply body.
    pub(crate) async fn call(
        &self,
        request: &Request,
        on_reply: Option<OnReply>,
    ) -> Result<Bytes, Error> {
        self.call_encoded(request.op_code(), |b| request.encode(b), on_reply)
            .await
    }

    /// Sends one request of `op` whose body `encode` writes, and waits for its reply body
    /// (at most the request timeout, if one is set).
    async fn call_encoded(
        &self,
        op: OpCode,
        encode: impl FnOnce(&mut BytesMut),
        on_reply: Option<OnReply>,
    ) -> Result<Bytes, Error> {
        let (tx, rx) = oneshot::channel();
        let out = Outgoing::new(op, encode, tx, on_reply);
        if self.inner.cmd.send(Command::Request(out)).is_err() {
            return Err(self.terminal_error());
        }
        let answer = match self.inner.request_timeout {
            None => rx.await,
            Some(limit) => match tokio::time::timeout(limit, rx).await {
                Ok(answer) => answer,
                Err(_) => {
                    // A server that leaves one request unanswered cannot be trusted with the
                    // others: ZooKeeper's client drops the connection, and so does this one.
                    let _ = self.inner.cmd.send(Command::DropConnection);
                    return Err(Error::RequestTimeout);
                }
            },
        };
        match answer {
            Ok(r) => r,
            Err(_) => Err(self.terminal_error()),
        }
    }

    /// Creates a node and returns its actual path (with the sequence suffix of a sequential
    /// mode) and its stat. Containers use `createContainer`, TTL modes `createTTL` (the server
    /// must have extended types enabled), every other mode `create2`.
    ///
    /// ```no_run
    /// # async fn demo(zk: client::Client) -> Result<(), client::Error> {
    /// use client::{CreateMode, CreateOptions};
    /// let opts = CreateOptions::ephemeral().with_mode(CreateMode::EphemeralSequential);
    /// let (path, stat) = zk.create("/locks/lock-", b"", &opts).await?;
    /// assert!(path.starts_with("/locks/lock-"));
    /// assert_eq!(stat.ephemeral_owner, zk.session_id());
    /// # Ok(()) }
    /// ```
    pub async fn create(
        &self,
        path: &str,
        data: &[u8],
        options: &CreateOptions,
    ) -> Result<(String, Stat), Error> {
        let op = create_op(&self.inner.chroot, path, Some(data), options)?;
        let body = self.call(&Request::Create(op), None).await?;
        let resp = decode::<Create2Response>(body)?;
        Ok((self.inner.chroot.strip(&resp.path), resp.stat))
    }

    /// Like [`Client::create`], but `None` creates the node with null data (buffer length −1 on
    /// the wire), as the Java client does for `create(path, null, ...)`. ZooKeeper keeps null
    /// apart from empty: [`Client::get_data_opt`] reads it back as `None` (`dataLength` 0).
    pub async fn create_opt(
        &self,
        path: &str,
        data: Option<&[u8]>,
        options: &CreateOptions,
    ) -> Result<(String, Stat), Error> {
        let op = create_op(&self.inner.chroot, path, data, options)?;
        let body = self.call(&Request::Create(op), None).await?;
        let resp = decode::<Create2Response>(body)?;
        Ok((self.inner.chroot.strip(&resp.path), resp.stat))
    }

    /// Deletes a node if its version matches (`None`: any version).
    pub async fn delete(&self, path: &str, version: Option<i32>) -> Result<(), Error> {
        // Like ZooKeeper's client, never turn `delete("/")` into a delete of the chroot node:
        // the server refuses to delete the root.
        let path = if path == "/" {
            path.to_string()
        } else {
            self.server_path(path)?
        };
        let req = Request::Delete(DeleteRequest {
            path,
            version: version.unwrap_or(-1),
        });
        self.call(&req, None).await.map(drop)
    }

    /// The node's stat, or `None` if it does not exist.
    pub async fn exists(&self, path: &str) -> Result<Option<Stat>, Error> {
        let req = Request::Exists(ExistsRequest {
            path: self.server_path(path)?,
            watch: false,
        });
        exists_result(self.call(&req, None).await)
    }

    /// Like [`Client::exists`], and watches the node: for its data change or deletion if it
    /// exists, for its creation if not.
    pub async fn exists_w(&self, path: &str) -> Result<(Option<Stat>, WatchFuture), Error> {
        let server_path = self.server_path(path)?;
        let (tx, rx) = oneshot::channel();
        let req = Request::Exists(ExistsRequest {
            path: server_path.clone(),
            watch: true,
        });
        let reg = Registration::Exists { server_path, tx };
        let stat = exists_result(self.call(&req, Some(OnReply::Register(reg))).await)?;
        Ok((stat, WatchFuture::new(rx)))
    }

    /// The node's data and stat.
    pub async fn get_data(&self, path: &str) -> Result<(Vec<u8>, Stat), Error> {
        let req = Request::GetData(GetDataRequest {
            path: self.server_path(path)?,
            watch: false,
        });
        let resp = decode::<GetDataResponse>(self.call(&req, None).await?)?;
        Ok((resp.data.unwrap_or_default().to_vec(), resp.stat))
    }

    /// Like [`Client::get_data`], but tells null data (`None`, from a create or set with null
    /// data) from empty data (`Some` of nothing), as ZooKeeper's server does.
    /// [`Client::get_data`] reads both as empty.
    pub async fn get_data_opt(&self, path: &str) -> Result<(Option<Vec<u8>>, Stat), Error> {
        let req = Request::GetData(GetDataRequest {
            path: self.server_path(path)?,
            watch: false,
        });
        let resp = decode::<GetDataResponse>(self.call(&req, None).await?)?;
        Ok((resp.data.map(|d| d.to_vec()), resp.stat))
    }

    /// Like [`Client::get_data`], and watches the node for a data change or its deletion.
    pub async fn get_data_w(&self, path: &str) -> Result<(Vec<u8>, Stat, WatchFuture), Error> {
        let (data, stat, watch) = self.get_data_opt_w(path).await?;
        Ok((data.unwrap_or_default(), stat, watch))
    }

    /// Like [`Client::get_data_opt`] (null data reads as `None`), and watches the node for a
    /// data change or its deletion.
    pub async fn get_data_opt_w(
        &self,
        path: &str,
    ) -> Result<(Option<Vec<u8>>, Stat, WatchFuture), Error> {
        let (reg, watch) = self.one_shot(OneShotKind::Data, path)?;
        let req = Request::GetData(GetDataRequest {
            path: self.server_path(path)?,
            watch: true,
        });
        let resp = decode::<GetDataResponse>(self.call(&req, Some(reg)).await?)?;
        Ok((resp.data.map(|d| d.to_vec()), resp.stat, watch))
    }

    /// Replaces the node's data if its version matches (`None`: any version).
    pub async fn set_data(
        &self,
        path: &str,
        data: &[u8],
        version: Option<i32>,
    ) -> Result<Stat, Error> {
        self.set_data_opt(path, Some(data), version).await
    }

    /// Like [`Client::set_data`], but `None` sets null data (buffer length −1 on the wire), as
    /// the Java client does for `setData(path, null, version)`.
    pub async fn set_data_opt(
        &self,
        path: &str,
        data: Option<&[u8]>,
        version: Option<i32>,
    ) -> Result<Stat, Error> {
        let req = Request::SetData(SetDataRequest {
            path: self.server_path(path)?,
            data: data.map(Bytes::copy_from_slice),
            version: version.unwrap_or(-1),
        });
        Ok(decode::<SetDataResponse>(self.call(&req, None).await?)?.stat)
    }

    /// The node's ACL and stat.
    pub async fn get_acl(&self, path: &str) -> Result<(Vec<Acl>, Stat), Error> {
        let req = Request::GetAcl(GetAclRequest {
            path: self.server_path(path)?,
        });
        let resp = decode::<GetAclResponse>(self.call(&req, None).await?)?;
        Ok((resp.acl, resp.stat))
    }

    /// Replaces the node's ACL if its ACL version (`aversion`) matches (`None`: any).
    pub async fn set_acl(
        &self,
        path: &str,
        acl: &[Acl],
        aversion: Option<i32>,
    ) -> Result<Stat, Error> {
        let req = Request::SetAcl(SetAclRequest {
            path: self.server_path(path)?,
            acl: acl.to_vec(),
            version: aversion.unwrap_or(-1),
        });
        Ok(decode::<SetAclResponse>(self.call(&req, None).await?)?.stat)
    }

    /// The names of the node's children (in the server's order).
    pub async fn get_children(&self, path: &str) -> Result<Vec<String>, Error> {
        let req = Request::GetChildren(GetChildrenRequest {
            path: self.server_path(path)?,
            watch: false,
        });
        Ok(decode::<GetChildrenResponse>(self.call(&req, None).await?)?.children)
    }

    /// Like [`Client::get_children`], and watches for a child's creation or deletion or the
    /// node's own deletion.
    pub async fn get_children_w(&self, path: &str) -> Result<(Vec<String>, WatchFuture), Error> {
        let (reg, watch) = self.one_shot(OneShotKind::Child, path)?;
        let req = Request::GetChildren(GetChildrenRequest {
            path: self.server_path(path)?,
            watch: true,
        });
        let resp = decode::<GetChildrenResponse>(self.call(&req, Some(reg)).await?)?;
        Ok((resp.children, watch))
    }

    /// The children and the node's stat (`getChildren2`).
    pub async fn get_children2(&self, path: &str) -> Result<(Vec<String>, Stat), Error> {
        let req = Request::GetChildren2(GetChildren2Request {
            path: self.server_path(path)?,
            watch: false,
        });
        let resp = decode::<GetChildren2Response>(self.call(&req, None).await?)?;
        Ok((resp.children, resp.stat))
    }

    /// Like [`Client::get_children2`], with a child watch.
    pub async fn get_children2_w(
        &self,
        path: &str,
    ) -> Result<(Vec<String>, Stat, WatchFuture), Error> {
        let (reg, watch) = self.one_shot(OneShotKind::Child, path)?;
        let req = Request::GetChildren2(GetChildren2Request {
            path: self.server_path(path)?,
            watch: true,
        });
        let resp = decode::<GetChildren2Response>(self.call(&req, Some(reg)).await?)?;
        Ok((resp.children, resp.stat, watch))
    }

    /// Waits until the server this client is connected to has applied every write the leader
    /// had committed when the sync arrived, so that later reads see them.
    pub async fn sync(&self, path: &str) -> Result<(), Error> {
        let req = Request::Sync(SyncRequest {
            path: self.server_path(path)?,
        });
        decode::<SyncResponse>(self.call(&req, None).await?).map(drop)
    }

    /// Fails with [`Error::BadVersion`] unless the node's version is `version` (or with
    /// [`Error::NoNode`]).
    ///
    /// Sent as a one-op `multi`: ZooKeeper 3.8 and 3.9 send no reply at all to a standalone
    /// `check` (op 13) that passes, which would stall every request pipelined behind it.
    pub async fn check(&self, path: &str, version: i32) -> Result<(), Error> {
        self.multi()
            .check(path, version)
            .commit()
            .await
            .map(drop)
            .map_err(Error::from)
    }

    /// Starts an all-or-nothing transaction.
    ///
    /// ```no_run
    /// # async fn demo(zk: client::Client) -> Result<(), client::MultiError> {
    /// use client::{CreateOptions, OpResult};
    /// let results = zk
    ///     .multi()
    ///     .check("/config", 3)
    ///     .set_data("/config", b"v4", Some(3))
    ///     .create("/config/history-", b"v4", &CreateOptions::persistent()
    ///         .with_mode(client::CreateMode::PersistentSequential))
    ///     .commit()
    ///     .await?;
    /// assert!(matches!(results[2], OpResult::Create { .. }));
    /// # Ok(()) }
    /// ```
    pub fn multi(&self) -> MultiBuilder {
        MultiBuilder::new(self.clone())
    }

    /// Starts a batch of reads answered together (`multiRead`); each read succeeds or fails on
    /// its own.
    pub fn multi_read(&self) -> MultiReadBuilder {
        MultiReadBuilder::new(self.clone())
    }

    /// The paths of this session's ephemeral nodes under `prefix` (`/` for all).
    pub async fn get_ephemerals(&self, prefix: &str) -> Result<Vec<String>, Error> {
        let req = Request::GetEphemerals(GetEphemeralsRequest {
            prefix_path: self.server_path(prefix)?,
        });
        let resp = decode::<GetEphemeralsResponse>(self.call(&req, None).await?)?;
        Ok(resp
            .ephemerals
            .iter()
            .map(|p| self.inner.chroot.strip(p))
            .collect())
    }

    /// The number of descendants of the node (not counting itself).
    pub async fn get_all_children_number(&self, path: &str) -> Result<i32, Error> {
        let req = Request::GetAllChildrenNumber(GetAllChildrenNumberRequest {
            path: self.server_path(path)?,
        });
        Ok(decode::<GetAllChildrenNumberResponse>(self.call(&req, None).await?)?.total_number)
    }

    /// Adds a persistent (or persistent recursive) watch and returns the stream of its events.
    pub async fn add_watch(
        &self,
        path: &str,
        mode: AddWatchMode,
    ) -> Result<PersistentWatcher, Error> {
        let server_path = self.server_path(path)?;
        let (tx, rx) = mpsc::unbounded_channel();
        let id = self.inner.next_watch_id.fetch_add(1, Ordering::Relaxed);
        let req = Request::AddWatch(AddWatchRequest {
            path: server_path.clone(),
            mode: mode as i32,
        });
        let reg = Registration::Persistent {
            mode,
            server_path: server_path.clone(),
            id,
            tx,
        };
        self.call(&req, Some(OnReply::Register(reg))).await?;
        let forget = Forget {
            cmd: self.inner.cmd.downgrade(),
            server_path,
            id,
        };
        Ok(PersistentWatcher::new(rx, path.to_string(), mode, forget))
    }

    /// Removes this session's watches of `watcher_type` on the node, on the server and here;
    /// each removed watch receives its removal event (`DataWatchRemoved`, `ChildWatchRemoved`
    /// or `PersistentWatchRemoved`). [`Error::NoWatcher`] if there is none.
    pub async fn remove_watches(&self, path: &str, watcher_type: WatcherType) -> Result<(), Error> {
        let server_path = self.server_path(path)?;
        let req = Request::RemoveWatches(RemoveWatchesRequest {
            path: server_path.clone(),
            watcher_type: watcher_type as i32,
        });
        let on = OnReply::RemoveWatches {
            server_path,
            watcher_type,
        };
        self.call(&req, Some(on)).await.map(drop)
    }

    /// Succeeds if the server holds a watch of `watcher_type` for this session on the node,
    /// else [`Error::NoWatcher`].
    pub async fn check_watches(&self, path: &str, watcher_type: WatcherType) -> Result<(), Error> {
        let req = Request::CheckWatches(CheckWatchesRequest {
            path: self.server_path(path)?,
            watcher_type: watcher_type as i32,
        });
        self.call(&req, None).await.map(drop)
    }

    /// The identities this session is authenticated as.
    pub async fn who_am_i(&self) -> Result<Vec<ClientInfo>, Error> {
        Ok(decode::<WhoAmIResponse>(self.call(&Request::WhoAmI, None).await?)?.client_info)
    }

    /// Adds an identity to the session (e.g. `digest` with `user:password`). It is replayed on
    /// every reconnect. A scheme the server does not know fails with [`Error::AuthFailed`], and
    /// then the server closes the connection and the client is finished, as in ZooKeeper.
    pub async fn add_auth(&self, scheme: &str, auth: &[u8]) -> Result<(), Error> {
        let (tx, rx) = oneshot::channel();
        let cmd = Command::AddAuth {
            scheme: scheme.to_string(),
            auth: Bytes::copy_from_slice(auth),
            reply: tx,
        };
        if self.inner.cmd.send(cmd).is_err() {
            return Err(self.terminal_error());
        }
        rx.await.unwrap_or_else(|_| Err(self.terminal_error()))
    }

    /// Closes the session (its ephemeral nodes go at once) and ends the client. Requests still
    /// in flight are answered first; later ones fail with [`Error::Closed`]. An error means
    /// the close did not reach a server: the client is closed anyway, and the session expires
    /// on the server after its timeout.
    pub async fn close(&self) -> Result<(), Error> {
        if self.state().is_terminal() {
            return Ok(());
        }
        match self.call(&Request::CloseSession, None).await {
            Ok(_) => Ok(()),
            // Someone else closed it first.
            Err(Error::Closed) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn one_shot(&self, kind: OneShotKind, path: &str) -> Result<(OnReply, WatchFuture), Error> {
        let (tx, rx) = oneshot::channel();
        let reg = Registration::OneShot {
            kind,
            server_path: self.server_path(path)?,
            tx,
        };
        Ok((OnReply::Register(reg), WatchFuture::new(rx)))
    }
}

/// A create request for `path` with `options`, in server paths.
pub(crate) fn create_op(
    chroot: &Chroot,
    path: &str,
    data: Option<&[u8]>,
    options: &CreateOptions,
) -> Result<CreateOp, Error> {
    validate(path, options.mode().is_sequential())?;
    let (op, ttl) = options.op_and_ttl()?;
    Ok(CreateOp {
        op,
        path: chroot.prepend(path),
        data: data.map(Bytes::copy_from_slice),
        acl: options.acl().to_vec(),
        flags: options.mode().flags(),
        ttl,
    })
}

fn exists_result(reply: Result<Bytes, Error>) -> Result<Option<Stat>, Error> {
    match reply {
        Ok(body) => Ok(Some(decode::<ExistsResponse>(body)?.stat)),
        Err(Error::NoNode) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Decodes a reply body. Trailing bytes are tolerated, as ZooKeeper's clients tolerate them.
pub(crate) fn decode<T: Record>(body: Bytes) -> Result<T, Error> {
    Ok(T::decode(&mut Reader::new(body))?)
}
