//! The accept loop: one task per connection, at most `maxClientCnxns` per client IP.

use crate::connection;
use crate::context::ServerContext;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

/// Connection counts per client IP; touched only on connect and disconnect.
#[derive(Default)]
struct PerIpCount {
    counts: Mutex<HashMap<IpAddr, usize>>,
}

impl PerIpCount {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a new connection from `ip` unless that would exceed `limit` (0 = unlimited).
    fn try_acquire(self: &Arc<Self>, ip: IpAddr, limit: usize) -> Option<IpSlot> {
        let mut counts = self.lock();
        let count = counts.entry(ip).or_insert(0);
        if limit != 0 && *count >= limit {
            return None;
        }
        *count += 1;
        Some(IpSlot {
            counts: Arc::clone(self),
            ip,
        })
    }
}

/// Releases its IP's connection count when the connection ends.
struct IpSlot {
    counts: Arc<PerIpCount>,
    ip: IpAddr,
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock();
        if let Some(count) = counts.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// Accepts connections until the listener fails.
pub async fn accept_loop(ctx: Arc<ServerContext>, listener: TcpListener) {
    let per_ip = Arc::new(PerIpCount::default());
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Typically out of file descriptors; back off instead of spinning.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(slot) = per_ip.try_acquire(peer.ip(), ctx.limits.max_client_cnxns) else {
            tracing::warn!(
                %peer,
                "too many connections from {} - max is {}",
                peer.ip(),
                ctx.limits.max_client_cnxns
            );
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let ctx = Arc::clone(&ctx);
        ctx.stats
            .alive_connections
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tokio::spawn(async move {
            connection::serve(Arc::clone(&ctx), stream, peer).await;
            ctx.stats
                .alive_connections
                .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            drop(slot);
        });
    }
}
