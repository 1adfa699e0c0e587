//! A blocking facade over the async [`crate::Client`], for code without an async runtime.
//!
//! It owns a small tokio runtime (one worker thread) on which the session keeps running between
//! calls, so pings and watch events flow while the caller's thread does other work. Its methods
//! must not be called from inside an async runtime.
//!
//! ```no_run
//! use client::blocking::Client;
//! use client::CreateOptions;
//!
//! let zk = Client::connect("127.0.0.1:2181")?;
//! zk.create("/greeting", b"hello", &CreateOptions::persistent())?;
//! let (data, watch) = {
//!     let (data, _stat, watch) = zk.get_data_w("/greeting")?;
//!     (data, watch)
//! };
//! assert_eq!(data, b"hello");
//! zk.set_data("/greeting", b"bye", None)?;
//! let event = watch.wait_blocking();
//! assert_eq!(event.path, "/greeting");
//! # Ok::<(), client::Error>(())
//! ```

use crate::builder::Builder;
use crate::error::Error;
use crate::multi::{MultiError, OpResult, ReadResult};
use crate::options::CreateOptions;
use crate::session::SessionInfo;
use crate::state::SessionState;
use crate::watch::{PersistentWatcher, WatchFuture};
use jute::{Acl, AddWatchMode, ClientInfo, Stat, WatcherType};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Runtime;

/// A blocking ZooKeeper client. Cheap to clone; the session closes when the last clone drops.
#[derive(Clone, Debug)]
pub struct Client {
    owner: Arc<Owner>,
}

#[derive(Debug)]
struct Owner {
    client: crate::Client,
    /// `Option` so that `Drop` can take it and shut it down after closing the session.
    rt: Option<Runtime>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        let Some(rt) = self.rt.take() else { return };
        // Blocking inside an async context would panic; then the session is left to expire.
        if tokio::runtime::Handle::try_current().is_err() && !self.client.state().is_terminal() {
            let client = self.client.clone();
            // The timer must be created inside the runtime.
            let _ = rt.block_on(async {
                tokio::time::timeout(Duration::from_secs(5), client.close()).await
            });
        }
        rt.shutdown_background();
    }
}

impl Client {
    /// Connects with default settings.
    pub fn connect(connect_string: &str) -> Result<Client, Error> {
        Client::connect_with(Builder::default(), connect_string)
    }

    /// Connects with the settings of `builder`.
    pub fn connect_with(builder: Builder, connect_string: &str) -> Result<Client, Error> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("zk-client")
            .enable_all()
            .build()
            .map_err(|e| Error::invalid(format!("cannot start the client runtime: {e}")))?;
        let client = rt.block_on(builder.connect(connect_string))?;
        Ok(Client {
            owner: Arc::new(Owner {
                client,
                rt: Some(rt),
            }),
        })
    }

    fn rt(&self) -> &Runtime {
        match &self.owner.rt {
            Some(rt) => rt,
            // Only `Drop` takes it, and nothing can call a method then.
            None => unreachable!("runtime taken before drop"),
        }
    }

    /// Runs any future on the client's runtime, e.g. an async call the facade lacks.
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        self.rt().block_on(fut)
    }

    /// The async client underneath.
    pub fn as_async(&self) -> &crate::Client {
        &self.owner.client
    }

    fn c(&self) -> &crate::Client {
        &self.owner.client
    }

    /// The current session state.
    pub fn state(&self) -> SessionState {
        self.c().state()
    }

    /// Blocks until the state is `want` or a final state, or `timeout` passes; returns the
    /// state then.
    pub fn wait_for_state(&self, want: SessionState, timeout: Duration) -> SessionState {
        let mut rx = self.c().state_watch();
        self.block_on(async {
            let _ =
                tokio::time::timeout(timeout, rx.wait_for(|s| *s == want || s.is_terminal())).await;
        });
        self.state()
    }

    /// The session's id, password, negotiated timeout and server.
    pub fn session(&self) -> SessionInfo {
        self.c().session()
    }

    /// See [`crate::Client::create`].
    pub fn create(
        &self,
        path: &str,
        data: &[u8],
        options: &CreateOptions,
    ) -> Result<(String, Stat), Error> {
        self.block_on(self.c().create(path, data, options))
    }

    /// See [`crate::Client::create_opt`] (`None`: null data).
    pub fn create_opt(
        &self,
        path: &str,
        data: Option<&[u8]>,
        options: &CreateOptions,
    ) -> Result<(String, Stat), Error> {
        self.block_on(self.c().create_opt(path, data, options))
    }

    /// See [`crate::Client::delete`].
    pub fn delete(&self, path: &str, version: Option<i32>) -> Result<(), Error> {
        self.block_on(self.c().delete(path, version))
    }

    /// See [`crate::Client::exists`].
    pub fn exists(&self, path: &str) -> Result<Option<Stat>, Error> {
        self.block_on(self.c().exists(path))
    }

    /// See [`crate::Client::exists_w`]; wait with [`WatchFuture::wait_blocking`].
    pub fn exists_w(&self, path: &str) -> Result<(Option<Stat>, WatchFuture), Error> {
        self.block_on(self.c().exists_w(path))
    }

    /// See [`crate::Client::get_data`].
    pub fn get_data(&self, path: &str) -> Result<(Vec<u8>, Stat), Error> {
        self.block_on(self.c().get_data(path))
    }

    /// See [`crate::Client::get_data_w`].
    pub fn get_data_w(&self, path: &str) -> Result<(Vec<u8>, Stat, WatchFuture), Error> {
        self.block_on(self.c().get_data_w(path))
    }

    /// See [`crate::Client::get_data_opt`] (null data reads as `None`).
    pub fn get_data_opt(&self, path: &str) -> Result<(Option<Vec<u8>>, Stat), Error> {
        self.block_on(self.c().get_data_opt(path))
    }

    /// See [`crate::Client::get_data_opt_w`].
    pub fn get_data_opt_w(
        &self,
        path: &str,
    ) -> Result<(Option<Vec<u8>>, Stat, WatchFuture), Error> {
        self.block_on(self.c().get_data_opt_w(path))
    }

    /// See [`crate::Client::get_config`].
    pub fn get_config(&self) -> Result<(Vec<u8>, Stat), Error> {
        self.block_on(self.c().get_config())
    }

    /// See [`crate::Client::get_config_w`].
    pub fn get_config_w(&self) -> Result<(Vec<u8>, Stat, WatchFuture), Error> {
        self.block_on(self.c().get_config_w())
    }

    /// See [`crate::Client::reconfig`].
    pub fn reconfig(
        &self,
        joining: Option<&str>,
        leaving: Option<&str>,
        new_members: Option<&str>,
        from_config: i64,
    ) -> Result<(Vec<u8>, Stat), Error> {
        self.block_on(
            self.c()
                .reconfig(joining, leaving, new_members, from_config),
        )
    }

    /// See [`crate::Client::set_data`].
    pub fn set_data(&self, path: &str, data: &[u8], version: Option<i32>) -> Result<Stat, Error> {
        self.block_on(self.c().set_data(path, data, version))
    }

    /// See [`crate::Client::get_acl`].
    pub fn get_acl(&self, path: &str) -> Result<(Vec<Acl>, Stat), Error> {
        self.block_on(self.c().get_acl(path))
    }

    /// See [`crate::Client::set_acl`].
    pub fn set_acl(&self, path: &str, acl: &[Acl], aversion: Option<i32>) -> Result<Stat, Error> {
        self.block_on(self.c().set_acl(path, acl, aversion))
    }

    /// See [`crate::Client::get_children`].
    pub fn get_children(&self, path: &str) -> Result<Vec<String>, Error> {
        self.block_on(self.c().get_children(path))
    }

    /// See [`crate::Client::get_children_w`].
    pub fn get_children_w(&self, path: &str) -> Result<(Vec<String>, WatchFuture), Error> {
        self.block_on(self.c().get_children_w(path))
    }

    /// See [`crate::Client::get_children2`].
    pub fn get_children2(&self, path: &str) -> Result<(Vec<String>, Stat), Error> {
        self.block_on(self.c().get_children2(path))
    }

    /// See [`crate::Client::sync`].
    pub fn sync(&self, path: &str) -> Result<(), Error> {
        self.block_on(self.c().sync(path))
    }

    /// See [`crate::Client::check`].
    pub fn check(&self, path: &str, version: i32) -> Result<(), Error> {
        self.block_on(self.c().check(path, version))
    }

    /// Commits the multi built by `build` on the async builder, e.g.
    /// `zk.multi(|m| m.create(..).delete(..))`.
    pub fn multi(
        &self,
        build: impl FnOnce(crate::MultiBuilder) -> crate::MultiBuilder,
    ) -> Result<Vec<OpResult>, MultiError> {
        self.block_on(build(self.c().multi()).commit())
    }

    /// Commits the multiRead built by `build`.
    pub fn multi_read(
        &self,
        build: impl FnOnce(crate::MultiReadBuilder) -> crate::MultiReadBuilder,
    ) -> Result<Vec<Result<ReadResult, Error>>, Error> {
        self.block_on(build(self.c().multi_read()).commit())
    }

    /// See [`crate::Client::get_ephemerals`].
    pub fn get_ephemerals(&self, prefix: &str) -> Result<Vec<String>, Error> {
        self.block_on(self.c().get_ephemerals(prefix))
    }

    /// See [`crate::Client::get_all_children_number`].
    pub fn get_all_children_number(&self, path: &str) -> Result<i32, Error> {
        self.block_on(self.c().get_all_children_number(path))
    }

    /// See [`crate::Client::add_watch`]; read with [`PersistentWatcher::next_blocking`].
    pub fn add_watch(&self, path: &str, mode: AddWatchMode) -> Result<PersistentWatcher, Error> {
        self.block_on(self.c().add_watch(path, mode))
    }

    /// See [`crate::Client::remove_watches`].
    pub fn remove_watches(&self, path: &str, watcher_type: WatcherType) -> Result<(), Error> {
        self.block_on(self.c().remove_watches(path, watcher_type))
    }

    /// See [`crate::Client::check_watches`].
    pub fn check_watches(&self, path: &str, watcher_type: WatcherType) -> Result<(), Error> {
        self.block_on(self.c().check_watches(path, watcher_type))
    }

    /// See [`crate::Client::who_am_i`].
    pub fn who_am_i(&self) -> Result<Vec<ClientInfo>, Error> {
        self.block_on(self.c().who_am_i())
    }

    /// See [`crate::Client::add_auth`].
    pub fn add_auth(&self, scheme: &str, auth: &[u8]) -> Result<(), Error> {
        self.block_on(self.c().add_auth(scheme, auth))
    }

    /// See [`crate::Client::close`].
    pub fn close(&self) -> Result<(), Error> {
        self.block_on(self.c().close())
    }
}
