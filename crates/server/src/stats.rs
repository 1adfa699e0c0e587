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

/// A consistent-enough copy of the latency counters.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LatencySummary {
    pub min_ms: f64,
    pub avg_ms: f64,
    pub max_ms: f64,
    pub count: u64,
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

    pub fn latency(&self) -> LatencySummary {
        let count = self.latency_count.load(Ordering::Relaxed);
        if count == 0 {
            return LatencySummary::default();
        }
        let sum = self.latency_sum_us.load(Ordering::Relaxed);
        LatencySummary {
            min_ms: self.latency_min_us.load(Ordering::Relaxed) as f64 / 1000.0,
            avg_ms: sum as f64 / count as f64 / 1000.0,
            max_ms: self.latency_max_us.load(Ordering::Relaxed) as f64 / 1000.0,
            count,
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
