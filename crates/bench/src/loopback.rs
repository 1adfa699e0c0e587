//! The machine's own floor under watch fan-out: how long it takes to deliver one small frame to
//! each of N loopback TCP connections and have every receiving task read it, with no server and
//! no protocol. A server's watch fan-out to N watchers (as the `watch` workload measures it) does
//! at least this work plus one durable write, so it is the yardstick for that workload.

use crate::stats::{Percentiles, Samples};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// Delivers a `frame`-byte message to each of `connections` loopback connections, `rounds` times;
/// the latency of each round (first write until the last receiver has read) in milliseconds.
///
/// The sender writes from one blocking thread with plain `write` calls (the cheapest a server
/// can do); each receiver is a tokio task reading its own socket, as a client library's
/// connection task does.
pub async fn fanout_floor(
    connections: usize,
    rounds: usize,
    frame: usize,
) -> std::io::Result<Percentiles> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let remaining = Arc::new(AtomicUsize::new(0));
    let all_read = Arc::new(Notify::new());
    let mut senders = Vec::with_capacity(connections);
    let mut receivers = Vec::with_capacity(connections);
    for _ in 0..connections {
        let receiving = TcpStream::connect(addr).await?;
        let (sending, _) = listener.accept().await?;
        receiving.set_nodelay(true)?;
        sending.set_nodelay(true)?;
        let sending = sending.into_std()?;
        sending.set_nonblocking(false)?;
        senders.push(sending);
        let (remaining, all_read) = (remaining.clone(), all_read.clone());
        receivers.push(tokio::spawn(receive(receiving, frame, remaining, all_read)));
    }
    let senders = Arc::new(senders);
    let message = Arc::new(vec![0x5a_u8; frame]);
    let mut samples = Samples::default();
    for _ in 0..rounds {
        remaining.store(connections, Ordering::SeqCst);
        let (senders, message) = (senders.clone(), message.clone());
        let began = Instant::now();
        let sent = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            for mut socket in senders.iter() {
                socket.write_all(&message)?;
            }
            Ok(())
        });
        all_read.notified().await;
        samples.record(began.elapsed().as_micros() as u64);
        sent.await.map_err(std::io::Error::other)??;
        // Let both sides go idle, as between two writes of a watched znode.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    drop(senders);
    for receiver in receivers {
        let _ = receiver.await;
    }
    Ok(samples.summary())
}

/// Reads whole frames until the sender closes, counting each one down.
async fn receive(
    mut socket: TcpStream,
    frame: usize,
    remaining: Arc<AtomicUsize>,
    all_read: Arc<Notify>,
) {
    let mut buf = vec![0u8; frame];
    while socket.read_exact(&mut buf).await.is_ok() {
        if remaining.fetch_sub(1, Ordering::SeqCst) == 1 {
            all_read.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_round_reaches_every_connection() {
        let p = fanout_floor(20, 5, 60).await.unwrap();
        assert!(p.p50 > 0.0 && p.p50 <= p.max, "{p:?}");
    }
}
