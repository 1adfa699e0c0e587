//! The world outside a Raft member: its network, file system, clock, and where blocking work runs.
//!
//! Production uses TCP, the real file system, the system clock and tokio's blocking threads. A
//! deterministic simulation (see `tests/simulation.rs`) runs every member of an ensemble in one
//! process on a simulated network (turmoil) and in-memory file systems that can lose unsynced
//! writes, with all work inline on the member's own task so that a seed replays exactly.

use crate::{Clock, SystemClock};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use storage::fs::SharedFs;
use tokio::io::{AsyncRead, AsyncWrite};

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
/// The receiving half of a quorum connection.
pub type PeerRead = Box<dyn AsyncRead + Send + Sync + Unpin>;
/// The sending half of a quorum connection.
pub type PeerWrite = Box<dyn AsyncWrite + Send + Sync + Unpin>;

/// How a member reaches the others' quorum ports.
pub trait Transport: Send + Sync + 'static {
    /// Opens a connection to `addr` (`host:port`).
    fn connect<'a>(&'a self, addr: &'a str) -> BoxFuture<'a, io::Result<(PeerRead, PeerWrite)>>;
    /// Listens on this member's quorum port.
    fn listen(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<Box<dyn PeerListener>>>;
}

/// Accepts quorum connections.
pub trait PeerListener: Send {
    /// The next connection and a name for its peer (for logs).
    fn accept(&mut self) -> BoxFuture<'_, io::Result<(PeerRead, PeerWrite, String)>>;
}

/// Where file-system work runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocking {
    /// On tokio's blocking threads, and the log's group commit on a thread of its own, so a slow
    /// disk never stalls Raft's tasks.
    Threads,
    /// On the calling task: for a simulation, whose in-memory disk never blocks and whose result
    /// must not depend on how threads are scheduled.
    Inline,
}

/// Everything a member uses from outside the process.
#[derive(Clone)]
pub struct Environment {
    pub transport: Arc<dyn Transport>,
    pub fs: SharedFs,
    pub clock: Arc<dyn Clock>,
    pub blocking: Blocking,
    /// Seeds every random choice the Raft library makes for this member (election timeouts,
    /// timer jitter). Production draws it at random; a simulation derives it from its seed.
    pub rng_seed: u64,
}

impl std::fmt::Debug for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Environment")
            .field("fs", &self.fs)
            .field("blocking", &self.blocking)
            .finish_non_exhaustive()
    }
}

impl Environment {
    /// TCP, the real file system, the system clock, blocking threads.
    pub fn production() -> Environment {
        Environment {
            transport: Arc::new(Tcp),
            fs: storage::fs::std_fs(),
            clock: Arc::new(SystemClock),
            blocking: Blocking::Threads,
            rng_seed: random_seed(),
        }
    }

    /// Runs `work`, which may block on the disk, where [`Environment::blocking`] says.
    pub async fn run_blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> io::Result<T> {
        match self.blocking {
            Blocking::Threads => tokio::task::spawn_blocking(work)
                .await
                .map_err(io::Error::other),
            Blocking::Inline => Ok(work()),
        }
    }
}

/// A seed from the operating system's randomness: the standard library seeds each
/// `RandomState` from it, which spares a dependency for one number per process.
fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(std::process::id().into());
    hasher.finish()
}

/// Real TCP with Nagle off: Raft messages are small and latency-bound.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tcp;

impl Transport for Tcp {
    fn connect<'a>(&'a self, addr: &'a str) -> BoxFuture<'a, io::Result<(PeerRead, PeerWrite)>> {
        Box::pin(async move {
            let stream = tokio::net::TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let (r, w) = stream.into_split();
            Ok((Box::new(r) as PeerRead, Box::new(w) as PeerWrite))
        })
    }

    fn listen(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<Box<dyn PeerListener>>> {
        Box::pin(async move {
            let listener = tokio::net::TcpListener::bind(addr).await?;
            Ok(Box::new(TcpPeerListener(listener)) as Box<dyn PeerListener>)
        })
    }
}

struct TcpPeerListener(tokio::net::TcpListener);

impl PeerListener for TcpPeerListener {
    fn accept(&mut self) -> BoxFuture<'_, io::Result<(PeerRead, PeerWrite, String)>> {
        Box::pin(async move {
            let (stream, peer) = self.0.accept().await?;
            stream.set_nodelay(true)?;
            let (r, w) = stream.into_split();
            Ok((
                Box::new(r) as PeerRead,
                Box::new(w) as PeerWrite,
                peer.to_string(),
            ))
        })
    }
}
