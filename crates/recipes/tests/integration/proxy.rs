//! A TCP proxy between a client and the server that can cut its client off (drop every
//! connection and refuse new ones), so that the server expires the client's session, or swallow
//! the server's replies, so that a request is applied but its reply never arrives.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

#[derive(Default)]
struct State {
    blocked: AtomicBool,
    mute: Arc<Mute>,
    conns: Mutex<Vec<AbortHandle>>,
}

/// A running proxy; dropping it stops accepting and closes its connections.
pub struct Proxy {
    addr: SocketAddr,
    state: Arc<State>,
    accept: AbortHandle,
}

impl Proxy {
    /// Starts a proxy to `upstream` on a free loopback port.
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let state = Arc::new(State::default());
        let st = state.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                if st.blocked.load(Ordering::SeqCst) {
                    continue;
                }
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                let up = tokio::spawn(pump_up(cr, sw));
                let down = tokio::spawn(pump_down(sr, cw, st.mute.clone()));
                let mut conns = st.conns.lock().unwrap();
                conns.push(up.abort_handle());
                conns.push(down.abort_handle());
            }
        });
        Proxy {
            addr,
            state,
            accept: accept.abort_handle(),
        }
    }

    /// `127.0.0.1:<port>` of the proxy.
    pub fn connect_string(&self) -> String {
        self.addr.to_string()
    }

    /// Drops every connection and refuses new ones: the client's session will expire.
    pub fn cut_off(&self) {
        self.state.blocked.store(true, Ordering::SeqCst);
        for t in self.state.conns.lock().unwrap().drain(..) {
            t.abort();
        }
    }
}

/// What the server-to-client direction lets through.
#[derive(Default)]
struct Mute {
    /// Whether replies are being swallowed.
    on: AtomicBool,
    /// How many more whole frames pass before muting starts (when `on` is armed by
    /// `mute_after`).
    pass: AtomicUsize,
}

/// Copies the client's bytes to the server unchanged.
async fn pump_up(mut from: OwnedReadHalf, mut to: OwnedWriteHalf) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Copies the server's frames to the client, swallowing them while muted.
async fn pump_down(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mute: Arc<Mute>) {
    let mut pending = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        pending.extend_from_slice(&buf[..n]);
        while pending.len() >= 4 {
            let len = u32::from_be_bytes([pending[0], pending[1], pending[2], pending[3]]) as usize;
            if pending.len() < 4 + len {
                break;
            }
            let frame: Vec<u8> = pending.drain(..4 + len).collect();
            let passes = if !mute.on.load(Ordering::SeqCst) {
                true
            } else {
                mute.pass
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |p| p.checked_sub(1))
                    .is_ok()
            };
            if passes && to.write_all(&frame).await.is_err() {
                return;
            }
        }
    }
}

impl Proxy {
    /// While muted, the server's frames are dropped: requests are applied, replies lost.
    pub fn set_muted(&self, muted: bool) {
        self.mute_after(0);
        self.state.mute.on.store(muted, Ordering::SeqCst);
    }

    /// Lets `frames` more server frames through, then mutes.
    pub fn mute_after(&self, frames: usize) {
        self.state.mute.pass.store(frames, Ordering::SeqCst);
        self.state.mute.on.store(true, Ordering::SeqCst);
    }

    /// Drops every current connection; new ones are accepted (unless cut off).
    pub fn drop_connections(&self) {
        for t in self.state.conns.lock().unwrap().drain(..) {
            t.abort();
        }
    }

    /// Accepts connections again.
    pub fn restore(&self) {
        self.state.blocked.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        for t in self.state.conns.lock().unwrap().drain(..) {
            t.abort();
        }
    }
}
