//! Per-connection statistics for `cons` and `stat`. Each connection owns its counters (touched
//! without contention); the registry is locked only when a connection opens or closes, or when a
//! four-letter word lists them.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI32, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// One connection's counters.
#[derive(Debug)]
pub struct ConnectionStats {
    pub remote: SocketAddr,
    /// Wall-clock ms when the connection was accepted.
    pub established_ms: i64,
    pub session_id: AtomicI64,
    pub session_timeout_ms: AtomicI32,
    pub packets_received: AtomicU64,
    pub packets_sent: AtomicU64,
    pub outstanding: AtomicU64,
    pub last_op: AtomicI32,
    /// `i32::MIN` until the first request.
    pub last_cxid: AtomicI32,
    pub last_zxid: AtomicI64,
    pub last_response_ms: AtomicI64,
    pub last_latency_us: AtomicU64,
    pub latency_count: AtomicU64,
    pub latency_total_us: AtomicU64,
    pub latency_min_us: AtomicU64,
    pub latency_max_us: AtomicU64,
}

impl ConnectionStats {
    fn new(remote: SocketAddr, established_ms: i64) -> Self {
        Self {
            remote,
            established_ms,
            session_id: AtomicI64::new(0),
            session_timeout_ms: AtomicI32::new(0),
            packets_received: AtomicU64::new(0),
            packets_sent: AtomicU64::new(0),
            outstanding: AtomicU64::new(0),
            last_op: AtomicI32::new(-1),
            last_cxid: AtomicI32::new(i32::MIN),
            last_zxid: AtomicI64::new(-1),
            last_response_ms: AtomicI64::new(0),
            last_latency_us: AtomicU64::new(0),
            latency_count: AtomicU64::new(0),
            latency_total_us: AtomicU64::new(0),
            latency_min_us: AtomicU64::new(u64::MAX),
            latency_max_us: AtomicU64::new(0),
        }
    }

    /// Records a reply: its latency, zxid and time.
    pub fn record_reply(&self, latency_us: u64, zxid: i64, now_ms: i64) {
        self.last_latency_us.store(latency_us, Ordering::Relaxed);
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_total_us
            .fetch_add(latency_us, Ordering::Relaxed);
        self.latency_min_us.fetch_min(latency_us, Ordering::Relaxed);
        self.latency_max_us.fetch_max(latency_us, Ordering::Relaxed);
        self.last_zxid.store(zxid, Ordering::Relaxed);
        self.last_response_ms.store(now_ms, Ordering::Relaxed);
    }

    /// `crst`: forget the request statistics.
    pub fn reset(&self) {
        for counter in [
            &self.packets_received,
            &self.packets_sent,
            &self.last_latency_us,
            &self.latency_count,
            &self.latency_total_us,
            &self.latency_max_us,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
        self.latency_min_us.store(u64::MAX, Ordering::Relaxed);
        self.last_op.store(-1, Ordering::Relaxed);
        self.last_cxid.store(i32::MIN, Ordering::Relaxed);
        self.last_zxid.store(-1, Ordering::Relaxed);
        self.last_response_ms.store(0, Ordering::Relaxed);
    }
}

/// All open connections of this server.
#[derive(Debug, Default)]
pub struct ConnectionRegistry {
    conns: Mutex<BTreeMap<u64, Arc<ConnectionStats>>>,
}

impl ConnectionRegistry {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<ConnectionStats>>> {
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn open(&self, conn_id: u64, remote: SocketAddr, now_ms: i64) -> Arc<ConnectionStats> {
        let stats = Arc::new(ConnectionStats::new(remote, now_ms));
        self.lock().insert(conn_id, Arc::clone(&stats));
        stats
    }

    pub fn close(&self, conn_id: u64) {
        self.lock().remove(&conn_id);
    }

    /// Every open connection, in the order they were accepted.
    pub fn list(&self) -> Vec<(u64, Arc<ConnectionStats>)> {
        self.lock()
            .iter()
            .map(|(id, s)| (*id, Arc::clone(s)))
            .collect()
    }
}
