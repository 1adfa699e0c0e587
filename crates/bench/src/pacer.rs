//! Due times for a run at a fixed rate, released on time by a thread of their own.
//!
//! Tokio's timers tick in whole milliseconds and round a deadline up to the next tick, so a
//! request that waited for its turn on one was sent up to a millisecond late, and that lag counted
//! as the server's latency: one client at 1,000 sets/s measured p50 1.25 ms from a server that
//! answers back-to-back sets in 0.15 ms. A plain thread sleeping until each due time is late by
//! tens of microseconds instead.

use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Mutex};

/// Hands out the due times of a run's requests, in order, to whichever worker is free.
pub(crate) struct Pacer {
    dues: Mutex<mpsc::UnboundedReceiver<Instant>>,
}

impl Pacer {
    /// Starts releasing due times `1 / rate` seconds apart, from `first` until `deadline`. A due
    /// time is released when it comes; if every worker is busy then, it waits for the next free
    /// one, and that request's latency still counts from its due time.
    pub fn start(rate: f64, first: Instant, deadline: Instant) -> std::io::Result<Arc<Self>> {
        let (tx, rx) = mpsc::unbounded_channel();
        let interval = Duration::from_secs_f64(1.0 / rate);
        std::thread::Builder::new()
            .name("bench-pacer".into())
            .spawn(move || {
                let mut due = first;
                while due < deadline {
                    let now = Instant::now();
                    if due > now {
                        std::thread::sleep(due - now);
                    }
                    if tx.send(due).is_err() {
                        return;
                    }
                    due += interval;
                }
            })?;
        Ok(Arc::new(Self {
            dues: Mutex::new(rx),
        }))
    }

    /// The due time of the next request; `None` once the run's time is up.
    pub async fn next(&self) -> Option<Instant> {
        self.dues.lock().await.recv().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn releases_every_due_time_in_order_never_early_and_stops_at_the_deadline() {
        let first = Instant::now();
        let interval = Duration::from_micros(500);
        let pacer = Pacer::start(2000.0, first, first + interval * 200).unwrap();
        let mut released = Vec::new();
        while let Some(due) = pacer.next().await {
            assert!(Instant::now() >= due, "released before it was due");
            released.push(due);
        }
        assert_eq!(released.len(), 200);
        for (k, due) in released.iter().enumerate() {
            let expected = first + interval * k as u32;
            let off = due.max(&expected).duration_since(*due.min(&expected));
            assert!(
                off < Duration::from_micros(1),
                "due time {k} is {off:?} off"
            );
        }
    }
}
