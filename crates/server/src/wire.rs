//! Who writes to a client connection's socket, and when.
//!
//! Normally only the connection's own task writes: it drains the outbound queue and writes each
//! batch with one syscall. A watch event that fans out to many connections would then cost a task
//! wake-up per watcher, handed between worker threads, before that watcher's event moves; on a
//! small machine those wake-ups, not the writes, dominate the fan-out time. So when nothing is
//! queued ahead of an event and the connection task is not in the middle of a write, the apply task
//! writes the (already encoded) frame straight to the socket with a non-blocking `try_write`.
//! Frames never interleave and never overtake one another:
//! - the queue counts messages until they are *written*, not merely taken, so the apply task never
//!   writes past a reply that is queued or half-written;
//! - the connection task marks the socket held while it writes bytes of its own;
//! - a partial direct write queues the rest of the frame, so it goes out before anything later.
//!
//! A full socket buffer or any error simply sends the event through the queue as before; the
//! connection task then deals with slow clients and broken sockets as it always did.

use crate::connection_stats::ConnectionStats;
use crate::stats::ServerStats;
use std::io;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use tokio::net::TcpStream;

/// The socket as the apply task may use it. The connection task owns the stream; a `Weak` lets
/// the socket close as soon as that task ends.
#[derive(Debug)]
pub struct DirectSocket {
    pub stream: Weak<TcpStream>,
    /// The connection's and the server's counters, so a direct write counts as a packet sent.
    pub stats: Arc<ConnectionStats>,
    pub server_stats: Arc<ServerStats>,
}

#[derive(Debug)]
struct State {
    /// Messages queued (or taken from the queue) and not yet written to the socket.
    unwritten: usize,
    /// The connection task is writing, or has not started serving yet.
    held: bool,
    /// The connection has ended.
    closed: bool,
}

/// What a connection's outbound queue and the apply task share about its socket.
#[derive(Debug)]
pub struct Wire {
    state: Mutex<State>,
    direct: Option<DirectSocket>,
}

impl Wire {
    /// A wire held by the connection task until it starts serving its session.
    pub fn new(direct: Option<DirectSocket>) -> Self {
        Self {
            state: Mutex::new(State {
                unwritten: 0,
                held: true,
                closed: false,
            }),
            direct,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent whatever a panicking holder did: each field is set whole.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one more queued message, unless `limit` are already unwritten.
    pub fn reserve(&self, limit: usize) -> bool {
        let mut state = self.lock();
        if state.unwritten >= limit {
            return false;
        }
        state.unwritten += 1;
        true
    }

    /// The connection task is about to write bytes of its own.
    pub fn hold(&self) {
        self.lock().held = true;
    }

    /// The connection task finished writing, including `written` messages from the queue. A
    /// closed wire stays held.
    pub fn release(&self, written: usize) {
        let mut state = self.lock();
        state.held = state.closed;
        state.unwritten = state.unwritten.saturating_sub(written);
    }

    /// Takes `consumed` messages off the count without writing them (the handshake's own).
    pub fn consumed(&self, consumed: usize) {
        let mut state = self.lock();
        state.unwritten = state.unwritten.saturating_sub(consumed);
    }

    /// The connection has ended; the apply task must not write to it any more.
    pub fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        state.held = true;
    }

    /// Writes `frame` now if nothing is ahead of it; false if it must be queued as usual. When only
    /// part of it fits, `queue_rest` queues the rest while the wire is still locked, so nothing
    /// can slip in between.
    pub fn try_direct(&self, frame: &bytes::Bytes, queue_rest: impl FnOnce(bytes::Bytes)) -> bool {
        let Some(direct) = self.direct.as_ref() else {
            return false;
        };
        let mut state = self.lock();
        if state.unwritten > 0 || state.held || state.closed {
            return false;
        }
        let Some(stream) = direct.stream.upgrade() else {
            return false;
        };
        let written = match stream.try_write(frame) {
            Ok(n) if n > 0 => n,
            // Full socket buffer or a broken connection: the connection task finds out itself.
            Ok(_) => return false,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
            Err(e) => {
                tracing::trace!("direct event write failed: {e}");
                return false;
            }
        };
        direct.stats.packets_sent.fetch_add(1, Ordering::Relaxed);
        direct
            .server_stats
            .packets_sent
            .fetch_add(1, Ordering::Relaxed);
        if written < frame.len() {
            state.unwritten += 1;
            queue_rest(frame.slice(written..));
        }
        true
    }
}

/// Reads what the socket has into `buf`; 0 at the end of the stream. Cancel safe.
pub async fn read_some(stream: &TcpStream, buf: &mut bytes::BytesMut) -> io::Result<usize> {
    loop {
        stream.readable().await?;
        match stream.try_read_buf(buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            result => return result,
        }
    }
}

/// Writes all of `buf` through a shared stream.
pub async fn write_all(stream: &TcpStream, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        stream.writable().await?;
        match stream.try_write(buf) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection_stats::ConnectionRegistry;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    /// A connected pair: the server side behind a [`Wire`], and the client side to read from.
    async fn pair() -> (Arc<TcpStream>, Wire, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, peer) = listener.accept().await.unwrap();
        let server = Arc::new(server);
        let wire = Wire::new(Some(DirectSocket {
            stream: Arc::downgrade(&server),
            stats: ConnectionRegistry::default().open(1, peer, 0),
            server_stats: Arc::new(ServerStats::new()),
        }));
        (server, wire, client)
    }

    async fn read_exactly(client: &mut TcpStream, n: usize) -> Vec<u8> {
        let mut got = vec![0; n];
        client.read_exact(&mut got).await.unwrap();
        got
    }

    #[tokio::test]
    async fn writes_directly_only_when_nothing_is_ahead() {
        let (server, wire, mut client) = pair().await;
        let no_rest = |_: bytes::Bytes| panic!("a small frame fits");
        // Held until the connection task starts serving.
        assert!(!wire.try_direct(&bytes::Bytes::from_static(b"early"), no_rest));
        wire.release(0);
        assert!(wire.try_direct(&bytes::Bytes::from_static(b"first"), no_rest));
        assert_eq!(read_exactly(&mut client, 5).await, b"first");
        // A queued reply must go out first.
        assert!(wire.reserve(10));
        assert!(!wire.try_direct(&bytes::Bytes::from_static(b"x"), no_rest));
        wire.hold();
        wire.release(1);
        assert!(wire.try_direct(&bytes::Bytes::from_static(b"second"), no_rest));
        assert_eq!(read_exactly(&mut client, 6).await, b"second");
        // Not while the connection task writes, nor after it ended.
        wire.hold();
        assert!(!wire.try_direct(&bytes::Bytes::from_static(b"x"), no_rest));
        wire.release(0);
        wire.close();
        assert!(!wire.try_direct(&bytes::Bytes::from_static(b"x"), no_rest));
        wire.release(0);
        assert!(!wire.try_direct(&bytes::Bytes::from_static(b"x"), no_rest));
        // Nor once the stream is gone.
        let (server2, wire2, _client2) = pair().await;
        wire2.release(0);
        drop(server2);
        assert!(!wire2.try_direct(&bytes::Bytes::from_static(b"x"), no_rest));
        drop(server);
    }

    #[tokio::test]
    async fn a_partly_written_frame_queues_its_rest_and_counts_it_unwritten() {
        let (server, wire, mut client) = pair().await;
        wire.release(0);
        // Far more than a loopback socket buffers while the peer does not read.
        let frame = bytes::Bytes::from(frame_bytes());
        let mut rest = None;
        assert!(wire.try_direct(&frame, |r| rest = Some(r)));
        let rest = rest.expect("a 32 MiB frame cannot go out in one non-blocking write");
        assert!(!rest.is_empty() && rest.len() < frame.len());
        // The rest is now ahead of anything else.
        assert!(
            !wire.try_direct(&bytes::Bytes::from_static(b"x"), |_| panic!(
                "refused before writing"
            ))
        );
        let len = frame.len();
        let reader = tokio::spawn(async move { read_exactly(&mut client, len).await });
        // What the connection task does with the queued rest.
        write_all(&server, &rest).await.unwrap();
        wire.release(1);
        assert_eq!(reader.await.unwrap(), frame);
    }

    fn frame_bytes() -> Vec<u8> {
        (0..32 << 20).map(|i| (i % 251) as u8).collect()
    }
}
