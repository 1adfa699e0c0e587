//! A TCP proxy between the client and a server, to break connections on purpose: drop them,
//! refuse new ones, or freeze them (bytes stop flowing but the sockets stay open). It also records
//! every frame the client sends, so tests can check what went on the wire (handshakes,
//! setWatches chunks).

use bytes::{Buf, Bytes, BytesMut};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::AbortHandle;

struct Conn {
    tasks: Vec<AbortHandle>,
    frozen: watch::Sender<bool>,
}

#[derive(Default)]
struct State {
    blocked: AtomicBool,
    accepted: AtomicUsize,
    conns: Mutex<Vec<Conn>>,
    /// (connection number, frame body) for every frame the client sent, in order.
    frames: Mutex<Vec<(usize, Bytes)>>,
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
                    drop(client);
                    continue;
                }
                let n = st.accepted.fetch_add(1, Ordering::SeqCst);
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (frozen_tx, frozen_rx) = watch::channel(false);
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                let up = tokio::spawn(pump(cr, sw, frozen_rx.clone(), Some((n, st.clone()))));
                let down = tokio::spawn(pump(sr, cw, frozen_rx, None));
                st.conns.lock().unwrap().push(Conn {
                    tasks: vec![up.abort_handle(), down.abort_handle()],
                    frozen: frozen_tx,
                });
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

    /// Closes every current connection (both sides).
    pub fn drop_connections(&self) {
        for c in self.state.conns.lock().unwrap().drain(..) {
            for t in c.tasks {
                t.abort();
            }
        }
    }

    /// While blocked, current connections are dropped and new ones closed at once.
    pub fn set_blocked(&self, blocked: bool) {
        self.state.blocked.store(blocked, Ordering::SeqCst);
        if blocked {
            self.drop_connections();
        }
    }

    /// Stops forwarding on the current connections without closing them (new connections are
    /// not frozen): a server that went silent.
    pub fn freeze(&self) {
        for c in self.state.conns.lock().unwrap().iter() {
            let _ = c.frozen.send(true);
        }
    }

    /// How many client connections were accepted and forwarded.
    pub fn accepted(&self) -> usize {
        self.state.accepted.load(Ordering::SeqCst)
    }

    /// Every frame the client sent so far: (connection number, body).
    pub fn frames(&self) -> Vec<(usize, Bytes)> {
        self.state.frames.lock().unwrap().clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.drop_connections();
    }
}

/// Copies `from` to `to`, holding bytes back while frozen; records client frames if asked.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut frozen: watch::Receiver<bool>,
    record: Option<(usize, Arc<State>)>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut frames = BytesMut::new();
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if frozen.wait_for(|f| !*f).await.is_err() {
            return;
        }
        if let Some((conn, state)) = &record {
            frames.extend_from_slice(&buf[..n]);
            while frames.len() >= 4 {
                let len = i32::from_be_bytes([frames[0], frames[1], frames[2], frames[3]]);
                let len = len.max(0) as usize;
                if frames.len() < 4 + len {
                    break;
                }
                frames.advance(4);
                let body = frames.split_to(len).freeze();
                state.frames.lock().unwrap().push((*conn, body));
            }
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
