//! Session liveness: who has been heard from recently, and which sessions have expired.
//!
//! The session table itself (ids, timeouts, passwords) is replicated state in the data tree. This
//! module is the local, unreplicated half: each connection holds an `Arc<Liveness>` and touches it
//! with one atomic store per packet, so the hot path shares no lock; the expiry scan walks the
//! registry once per tick and proposes `CloseSession` for the silent ones, like ZooKeeper's leader.

use rand::RngCore;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// One session's liveness, shared by the registry and the connection serving the session.
#[derive(Debug)]
pub struct Liveness {
    timeout_ms: AtomicU32,
    last_heard_ms: AtomicI64,
    expiring: AtomicBool,
}

impl Liveness {
    /// Records that the client was heard from at `now_ms` (monotonic milliseconds).
    pub fn touch(&self, now_ms: i64) {
        self.last_heard_ms.store(now_ms, Ordering::Relaxed);
    }

    pub fn timeout_ms(&self) -> u32 {
        self.timeout_ms.load(Ordering::Relaxed)
    }
}

/// The registry of live sessions known to this server.
#[derive(Debug)]
pub struct SessionTracker {
    epoch: Instant,
    sessions: Mutex<HashMap<i64, Arc<Liveness>>>,
}

impl Default for SessionTracker {
    fn default() -> Self {
        Self::new()
    }
}

impl SessionTracker {
    pub fn new() -> Self {
        Self {
            epoch: Instant::now(),
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// Monotonic milliseconds since this tracker started.
    pub fn now_ms(&self) -> i64 {
        self.epoch.elapsed().as_millis() as i64
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<Liveness>>> {
        // A panic while holding this lock cannot leave the map inconsistent (single inserts and
        // removes), so a poisoned lock is still safe to use.
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts (or restarts) tracking `session_id` with `timeout_ms`, heard from now.
    pub fn register(&self, session_id: i64, timeout_ms: u32) -> Arc<Liveness> {
        let now = self.now_ms();
        let mut sessions = self.lock();
        let live = sessions.entry(session_id).or_insert_with(|| {
            Arc::new(Liveness {
                timeout_ms: AtomicU32::new(timeout_ms),
                last_heard_ms: AtomicI64::new(now),
                expiring: AtomicBool::new(false),
            })
        });
        live.timeout_ms.store(timeout_ms, Ordering::Relaxed);
        live.touch(now);
        Arc::clone(live)
    }

    /// When `session_id` expires if not heard from again, in this tracker's monotonic ms.
    pub fn deadline_ms(&self, session_id: i64) -> Option<i64> {
        self.lock()
            .get(&session_id)
            .map(|l| l.last_heard_ms.load(Ordering::Relaxed) + i64::from(l.timeout_ms()))
    }

    /// Stops tracking a closed or expired session.
    pub fn remove(&self, session_id: i64) {
        self.lock().remove(&session_id);
    }

    /// Sessions silent for longer than their timeout that are not already being expired; each is
    /// returned once, so the caller proposes one `CloseSession` per session.
    pub fn take_expired(&self) -> Vec<i64> {
        let now = self.now_ms();
        let mut expired: Vec<i64> = self
            .lock()
            .iter()
            .filter(|(_, l)| {
                now - l.last_heard_ms.load(Ordering::Relaxed) > i64::from(l.timeout_ms())
                    && !l.expiring.swap(true, Ordering::Relaxed)
            })
            .map(|(id, _)| *id)
            .collect();
        expired.sort_unstable();
        expired
    }

    /// Sessions heard from after `since_ms` (this tracker's monotonic ms): what a follower
    /// reports to the leader so the leader does not expire sessions its clients keep alive here.
    pub fn touched_since(&self, since_ms: i64) -> Vec<i64> {
        let mut ids: Vec<i64> = self
            .lock()
            .iter()
            .filter(|(_, l)| l.last_heard_ms.load(Ordering::Relaxed) > since_ms)
            .map(|(id, _)| *id)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Marks sessions as heard from now (a follower's report, on the leader).
    pub fn touch_ids(&self, ids: &[i64]) {
        let now = self.now_ms();
        let sessions = self.lock();
        for id in ids {
            if let Some(live) = sessions.get(id) {
                live.touch(now);
            }
        }
    }

    /// Gives every session a full timeout from now, as a new leader does: it cannot know when
    /// the old leader last heard from them.
    pub fn touch_all(&self) {
        let now = self.now_ms();
        for live in self.lock().values() {
            live.touch(now);
            live.expiring.store(false, Ordering::Relaxed);
        }
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Hands out session ids the way ZooKeeper does: the server id in the top byte, then a value
/// seeded from the clock so ids from a restarted server do not collide with old ones.
#[derive(Debug)]
pub struct SessionIdGenerator {
    next: AtomicI64,
}

impl SessionIdGenerator {
    pub fn new(server_id: u8, now_ms: i64) -> Self {
        let seed = ((now_ms << 24) as u64 >> 8) as i64;
        Self {
            next: AtomicI64::new(seed | (i64::from(server_id) << 56)),
        }
    }

    pub fn next_id(&self) -> i64 {
        self.next.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// A fresh 16-byte session password.
pub fn new_password() -> bytes::Bytes {
    let mut passwd = [0u8; 16];
    rand::rng().fill_bytes(&mut passwd);
    bytes::Bytes::copy_from_slice(&passwd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silent_session_expires_once_and_touched_one_does_not() {
        let tracker = SessionTracker::new();
        let quiet = tracker.register(1, 0);
        let busy = tracker.register(2, 60_000);
        std::thread::sleep(std::time::Duration::from_millis(5));
        busy.touch(tracker.now_ms());
        assert_eq!(tracker.take_expired(), vec![1]);
        assert!(tracker.take_expired().is_empty());
        drop(quiet);
        tracker.remove(1);
        assert_eq!(tracker.len(), 1);
    }

    #[test]
    fn session_ids_carry_server_id_and_increase() {
        let gen = SessionIdGenerator::new(3, 1_700_000_000_000);
        let a = gen.next_id();
        let b = gen.next_id();
        assert_eq!(a >> 56, 3);
        assert_eq!(b, a + 1);
    }
}
