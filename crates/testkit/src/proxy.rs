//! A TCP proxy between a client and a server, to break connections on purpose: drop them, refuse
//! new ones (so a session expires while its client is cut off), freeze them (bytes stop flowing
//! but the sockets stay open: a server gone silent), or swallow the server's replies (a request is
//! applied but its reply never arrives). It records every frame the client sends, so tests can
//! check what went on the wire (handshakes, setWatches chunks).
//!
//! Runs on the caller's tokio runtime.

use bytes::{Buf, Bytes, BytesMut};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::AbortHandle;

/// How much one socket read takes.
const READ_CHUNK: usize = 64 * 1024;

/// One forwarded client connection.
struct Conn {
    tasks: [AbortHandle; 2],
    frozen: watch::Sender<bool>,
}

#[derive(Default)]
struct State {
    blocked: AtomicBool,
    accepted: AtomicUsize,
    conns: Mutex<Vec<Conn>>,
    /// (connection number, frame body) for every frame the client sent, in order.
    frames: Mutex<Vec<(usize, Bytes)>>,
    mute: Mute,
}

/// What the server-to-client direction lets through.
#[derive(Default)]
struct Mute {
    /// Whether replies are being swallowed.
    on: AtomicBool,
    /// How many more whole frames pass before swallowing starts.
    pass: AtomicUsize,
}

impl Mute {
    /// Whether the next whole server frame reaches the client.
    fn passes(&self) -> bool {
        !self.on.load(Ordering::SeqCst)
            || self
                .pass
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |p| p.checked_sub(1))
                .is_ok()
    }
}

/// A test helper's lock: a panic elsewhere in the test must not hide what it recorded.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A running proxy; dropping it stops accepting and closes its connections.
pub struct Proxy {
    addr: SocketAddr,
    state: Arc<State>,
    accept: AbortHandle,
}

impl Proxy {
    /// Starts a proxy to `upstream` on a free loopback port.
    ///
    /// # Panics
    /// If no loopback port can be bound.
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let state = Arc::new(State::default());
        let accept = tokio::spawn(accept_loop(listener, upstream, state.clone())).abort_handle();
        Proxy {
            addr,
            state,
            accept,
        }
    }

    /// `127.0.0.1:<port>` of the proxy.
    pub fn connect_string(&self) -> String {
        self.addr.to_string()
    }

    /// Closes every current connection (both sides); new ones are accepted unless blocked.
    pub fn drop_connections(&self) {
        for c in lock(&self.state.conns).drain(..) {
            for t in c.tasks {
                t.abort();
            }
        }
    }

    /// While blocked, current connections are dropped and new ones closed at once: the client is
    /// cut off, and its session expires on the server if that lasts.
    pub fn set_blocked(&self, blocked: bool) {
        self.state.blocked.store(blocked, Ordering::SeqCst);
        if blocked {
            self.drop_connections();
        }
    }

    /// Stops forwarding on the current connections without closing them (new connections are
    /// not frozen): a server that went silent.
    pub fn freeze(&self) {
        for c in lock(&self.state.conns).iter() {
            let _ = c.frozen.send(true);
        }
    }

    /// While muted, the server's frames are dropped: requests are applied, replies lost.
    pub fn set_muted(&self, muted: bool) {
        self.state.mute.pass.store(0, Ordering::SeqCst);
        self.state.mute.on.store(muted, Ordering::SeqCst);
    }

    /// Lets `frames` more server frames through, then mutes.
    pub fn mute_after(&self, frames: usize) {
        self.state.mute.pass.store(frames, Ordering::SeqCst);
        self.state.mute.on.store(true, Ordering::SeqCst);
    }

    /// How many client connections were accepted and forwarded.
    pub fn accepted(&self) -> usize {
        self.state.accepted.load(Ordering::SeqCst)
    }

    /// Every frame the client sent so far: (connection number, body).
    pub fn frames(&self) -> Vec<(usize, Bytes)> {
        lock(&self.state.frames).clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.drop_connections();
    }
}

async fn accept_loop(listener: TcpListener, upstream: SocketAddr, state: Arc<State>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        if state.blocked.load(Ordering::SeqCst) {
            drop(client);
            continue;
        }
        let n = state.accepted.fetch_add(1, Ordering::SeqCst);
        let Ok(server) = TcpStream::connect(upstream).await else {
            continue;
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let (frozen_tx, frozen_rx) = watch::channel(false);
        let (cr, cw) = client.into_split();
        let (sr, sw) = server.into_split();
        let up = tokio::spawn(pump_up(cr, sw, frozen_rx.clone(), n, state.clone()));
        let down = tokio::spawn(pump_down(sr, cw, frozen_rx, state.clone()));
        lock(&state.conns).push(Conn {
            tasks: [up.abort_handle(), down.abort_handle()],
            frozen: frozen_tx,
        });
    }
}

/// Takes every whole length-prefixed frame off the front of `buf`, prefix included.
fn whole_frames(buf: &mut BytesMut) -> Vec<Bytes> {
    let mut out = Vec::new();
    while buf.len() >= 4 {
        let len = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]).max(0) as usize;
        if buf.len() < 4 + len {
            break;
        }
        out.push(buf.split_to(4 + len).freeze());
    }
    out
}

/// Copies the client's bytes to the server as they come (a four-letter word is no frame), holding
/// them back while frozen, and records the client's frames on the side.
async fn pump_up(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    mut frozen: watch::Receiver<bool>,
    conn: usize,
    state: Arc<State>,
) {
    let mut buf = vec![0u8; READ_CHUNK];
    let mut seen = BytesMut::new();
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if frozen.wait_for(|f| !*f).await.is_err() {
            return;
        }
        seen.extend_from_slice(&buf[..n]);
        for mut frame in whole_frames(&mut seen) {
            frame.advance(4);
            lock(&state.frames).push((conn, frame));
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Copies the server's frames to the client whole, so that muting swallows whole replies; holds
/// them back while frozen. What is left when the server closes (a four-letter word's answer is no
/// frame) is passed on unless muted.
async fn pump_down(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    mut frozen: watch::Receiver<bool>,
    state: Arc<State>,
) {
    let mut buf = vec![0u8; READ_CHUNK];
    let mut pending = BytesMut::new();
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => {
                if !pending.is_empty() && !state.mute.on.load(Ordering::SeqCst) {
                    let _ = to.write_all(&pending).await;
                }
                return;
            }
            Ok(n) => n,
        };
        if frozen.wait_for(|f| !*f).await.is_err() {
            return;
        }
        pending.extend_from_slice(&buf[..n]);
        for frame in whole_frames(&mut pending) {
            if state.mute.passes() && to.write_all(&frame).await.is_err() {
                return;
            }
        }
    }
}
