//! Server-wide counters for the four-letter words. Relaxed atomics: exact to the packet is not
//! needed, and they must not cost the hot path a lock.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters shared by all connections.
#[derive(Debug, Default)]
pub struct ServerStats {
    pub packets_received: AtomicU64,
    pub packets_sent: AtomicU64,
    pub alive_connections: AtomicU64,
    pub outstanding_requests: AtomicU64,
    /// Sum, count, min and max of request latencies in microseconds.
    latency_sum_us: AtomicU64,
    latency_count: AtomicU64,
    latency_min_us: AtomicU64,
    latency_max_us: AtomicU64,
}

impl ServerStats {
    pub fn new() -> Self {
        let stats = Self::default();
        stats.latency_min_us.store(u64::MAX, Ordering::Relaxed);
        stats
    }

    pub fn record_latency_us(&self, us: u64) {
        self.latency_sum_us.fetch_add(us, Ordering::Relaxed);
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_min_us.fetch_min(us, Ordering::Relaxed);
        self.latency_max_us.fetch_max(us, Ordering::Relaxed);
    }

    /// The latency counters in `admin`'s shape.
    pub fn latency_us(&self) -> admin::Latency {
        let count = self.latency_count.load(Ordering::Relaxed);
        admin::Latency {
            count,
            total_us: self.latency_sum_us.load(Ordering::Relaxed),
            min_us: if count == 0 {
                0
            } else {
                self.latency_min_us.load(Ordering::Relaxed)
            },
            max_us: self.latency_max_us.load(Ordering::Relaxed),
        }
    }

    /// `srst`: zero the request statistics.
    pub fn reset(&self) {
        self.packets_received.store(0, Ordering::Relaxed);
        self.packets_sent.store(0, Ordering::Relaxed);
        self.latency_sum_us.store(0, Ordering::Relaxed);
        self.latency_count.store(0, Ordering::Relaxed);
        self.latency_min_us.store(u64::MAX, Ordering::Relaxed);
        self.latency_max_us.store(0, Ordering::Relaxed);
    }
}
