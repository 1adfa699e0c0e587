//! `ferrokeeper bench`: a load generator for any ZooKeeper-protocol server (Ferrokeeper or
//! Apache ZooKeeper), so the two can be measured side by side under the same load.
//!
//! Each client is one session; each runs `in_flight` workers that issue requests back to back,
//! so `clients × in_flight` requests are outstanding at once. With a target rate, workers instead
//! send on a fixed schedule that adds up to that rate, and a request's latency counts from when
//! it was due, not when it was sent: a server that falls behind is charged for the queue it built
//! (no coordinated omission). Samples taken during the warm-up are dropped. The report gives throughput, latency percentiles, errors, and, when the server's
//! process id is given, the server's CPU time per operation.

mod cpu;
mod disk;
mod loopback;
mod pacer;
mod report;
mod stats;
mod workload;

pub use cpu::process_cpu_time;
pub use disk::{durable_round_trip, fdatasync_latency};
pub use loopback::fanout_floor;
pub use report::Report;
pub use stats::{Percentiles, Samples};
pub use workload::{key, Workload, ROOT};

use client::{Client, CreateOptions};
use pacer::Pacer;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Connect string, e.g. `127.0.0.1:2181`.
    pub server: String,
    pub workload: Workload,
    /// Sessions.
    pub clients: usize,
    /// Requests each session keeps outstanding.
    pub in_flight: usize,
    pub value_size: usize,
    /// Keys the key-space workloads choose from.
    pub keys: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// The server's process ids (every member of an ensemble), to report their CPU time per
    /// operation, summed.
    pub server_pids: Vec<u32>,
    /// Print a progress line to stderr every second.
    pub progress: bool,
    /// Total requests per second to offer (open loop); `None` sends back to back.
    pub rate: Option<f64>,
}

/// Why a run could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(
        "cannot connect to {server}: {source} (a server refuses more than maxClientCnxns \
         connections from one address, 60 by default: set maxClientCnxns=0 to benchmark many sessions)"
    )]
    Connect {
        server: String,
        source: client::Error,
    },
    #[error("cannot prepare the benchmark znodes: {0}")]
    Prepare(String),
    #[error("{path} did not read back from {server} within {waited:?}: {source}")]
    NotReady {
        server: String,
        path: String,
        waited: Duration,
        source: client::Error,
    },
}

async fn connect(server: &str) -> Result<Client, BenchError> {
    Client::connect(server)
        .await
        .map_err(|source| BenchError::Connect {
            server: server.to_owned(),
            source,
        })
}

/// Creates `path` unless it exists.
async fn ensure(zk: &Client, path: &str, value: &[u8]) -> Result<(), BenchError> {
    match zk.create(path, value, &CreateOptions::persistent()).await {
        Ok(_) | Err(client::Error::NodeExists) => Ok(()),
        Err(e) => Err(BenchError::Prepare(format!("{path}: {e}"))),
    }
}

/// Polls until `path` reads back from `server` (a server still starting refuses connections or
/// sessions), giving up after `timeout`; the time it took. For timing a restart to serving.
pub async fn wait_until_readable(
    server: &str,
    path: &str,
    timeout: Duration,
) -> Result<Duration, BenchError> {
    let started = Instant::now();
    loop {
        let attempt = async {
            let zk = Client::builder()
                .connect_timeout(Duration::from_millis(200))
                .connect(server)
                .await?;
            let read = zk.get_data(path).await;
            let _ = zk.close().await;
            read
        };
        let last = match attempt.await {
            Ok(_) => return Ok(started.elapsed()),
            Err(e) => e,
        };
        if started.elapsed() >= timeout {
            return Err(BenchError::NotReady {
                server: server.to_owned(),
                path: path.to_owned(),
                waited: started.elapsed(),
                source: last,
            });
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Creates the benchmark root, `count` keys of `size` bytes (pipelined), and reports progress.
pub async fn populate(
    server: &str,
    count: usize,
    size: usize,
    progress: bool,
) -> Result<Duration, BenchError> {
    let zk = connect(server).await?;
    let started = Instant::now();
    ensure(&zk, ROOT, b"").await?;
    ensure(&zk, &format!("{ROOT}/new"), b"").await?;
    let value = vec![b'x'; size];
    let next = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..64 {
        let (zk, next, value) = (zk.clone(), Arc::clone(&next), value.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                if i >= count {
                    return Ok(());
                }
                ensure(&zk, &key(i), &value).await?;
            }
        }));
    }
    let ticker = progress.then(|| {
        let next = Arc::clone(&next);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let done = next.load(Ordering::Relaxed).min(count as u64);
                eprint!("\rpopulating: {done}/{count} znodes");
            }
        })
    });
    for w in workers {
        w.await.map_err(|e| BenchError::Prepare(e.to_string()))??;
    }
    if let Some(t) = ticker {
        t.abort();
        eprintln!("\rpopulated {count} znodes of {size} bytes          ");
    }
    let _ = zk.close().await;
    Ok(started.elapsed())
}

/// Runs one benchmark and returns its report.
pub async fn run(opts: &Options) -> Result<Report, BenchError> {
    let value = vec![b'x'; opts.value_size];
    if opts.workload.needs_keys() {
        populate(&opts.server, opts.keys, opts.value_size, false).await?;
    } else {
        populate(&opts.server, 0, 0, false).await?;
    }
    let run_id: u32 = rand::random();
    let completed = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let measure_from = start + opts.warmup;
    let deadline = measure_from + opts.duration;
    let ticker = opts.progress.then(|| {
        let completed = Arc::clone(&completed);
        tokio::spawn(async move {
            let mut last = 0;
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let now = completed.load(Ordering::Relaxed);
                let phase = if Instant::now() < measure_from {
                    "warm-up"
                } else {
                    "measuring"
                };
                eprint!("\r{phase}: {} ops/s   ", now - last);
                last = now;
            }
        })
    });
    // The server's CPU time is read exactly at the start and the end of the measured window,
    // whatever the workers are doing then.
    let pids = opts.server_pids.clone();
    let cpu_window = (!pids.is_empty()).then(|| {
        tokio::spawn(async move {
            let total = |pids: &[u32]| -> Option<Duration> {
                pids.iter().map(|&pid| process_cpu_time(pid)).sum()
            };
            tokio::time::sleep_until(measure_from.into()).await;
            let at_start = total(&pids);
            tokio::time::sleep_until(deadline.into()).await;
            Some(total(&pids)?.saturating_sub(at_start?))
        })
    });
    let outcome = match opts.workload {
        Workload::Watch { watchers } => {
            watch_run(opts, watchers, &value, measure_from, deadline, &completed).await?
        }
        _ => {
            let mut tasks = Vec::new();
            // Sessions connect concurrently so setup fits in the warm-up even with many of them.
            let mut connecting = Vec::new();
            for _ in 0..opts.clients {
                let server = opts.server.clone();
                let sessions = opts.workload == Workload::Sessions;
                connecting.push(tokio::spawn(async move {
                    if sessions {
                        Ok(None)
                    } else {
                        connect(&server).await.map(Some)
                    }
                }));
            }
            let pacer = opts
                .rate
                .filter(|r| *r > 0.0)
                .map(|rate| Pacer::start(rate, start, deadline))
                .transpose()
                .map_err(|e| BenchError::Prepare(format!("cannot start the pacer: {e}")))?;
            let mut clients = Vec::new();
            for (c, pending) in connecting.into_iter().enumerate() {
                let zk = pending
                    .await
                    .map_err(|e| BenchError::Prepare(e.to_string()))??;
                clients.extend(zk.clone());
                for w in 0..opts.in_flight.max(1) {
                    let (zk, opts2, value) = (zk.clone(), opts.clone(), value.clone());
                    let completed = Arc::clone(&completed);
                    let prefix = format!("{run_id:08x}-{c}-{w}");
                    let pacer = pacer.clone();
                    tasks.push(tokio::spawn(async move {
                        let window = (measure_from, deadline);
                        worker(zk, opts2, value, prefix, window, pacer, completed).await
                    }));
                }
            }
            let mut outcome = Outcome::default();
            for t in tasks {
                if let Ok(o) = t.await {
                    outcome.merge(o);
                }
            }
            // Closed only now: a session's workers share it until the last one is done.
            for zk in clients {
                let _ = zk.close().await;
            }
            outcome
        }
    };
    if let Some(t) = ticker {
        t.abort();
        eprintln!();
    }
    let server_cpu = match cpu_window {
        Some(window) => window.await.ok().flatten(),
        None => None,
    };
    Ok(Report::new(opts, outcome, server_cpu))
}

/// What workers measured.
#[derive(Debug, Default)]
pub struct Outcome {
    pub samples: Samples,
    pub errors: u64,
    pub first_error: Option<String>,
}

impl Outcome {
    fn merge(&mut self, other: Outcome) {
        self.samples.merge(other.samples);
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    fn error(&mut self, e: String) {
        self.errors += 1;
        self.first_error.get_or_insert(e);
    }
}

async fn worker(
    zk: Option<Client>,
    opts: Options,
    value: Vec<u8>,
    prefix: String,
    (measure_from, deadline): (Instant, Instant),
    pacer: Option<Arc<Pacer>>,
    completed: Arc<AtomicU64>,
) -> Outcome {
    let mut out = Outcome::default();
    let mut n = 0u64;
    while Instant::now() < deadline {
        n += 1;
        let unique = format!("{prefix}-{n}");
        // Under a rate, wait for a request's turn and count its latency from then.
        let due = match &pacer {
            Some(pacer) => match pacer.next().await {
                Some(due) => Some(due),
                None => break,
            },
            None => None,
        };
        let start_clock = || due.unwrap_or_else(Instant::now);
        let began;
        let result = match (&zk, opts.workload) {
            (_, Workload::Sessions) => {
                began = start_clock();
                session_cycle(&opts.server, &unique).await
            }
            (Some(zk), Workload::Delete) => {
                let path = format!("{ROOT}/new/{unique}");
                if let Err(e) = zk.create(&path, &value, &CreateOptions::persistent()).await {
                    out.error(e.to_string());
                    continue;
                }
                began = Instant::now();
                workload::run_one(zk, opts.workload, opts.keys, &value, &unique).await
            }
            (Some(zk), w) => {
                began = start_clock();
                workload::run_one(zk, w, opts.keys, &value, &unique).await
            }
            (None, _) => return out,
        };
        let micros = began.elapsed().as_micros() as u64;
        completed.fetch_add(1, Ordering::Relaxed);
        match result {
            Ok(()) if began >= measure_from && Instant::now() <= deadline => {
                out.samples.record(micros)
            }
            Ok(()) => {}
            Err(e) => out.error(e),
        }
    }
    out
}

async fn session_cycle(server: &str, unique: &str) -> Result<(), String> {
    let zk = Client::connect(server).await.map_err(|e| e.to_string())?;
    let created = zk
        .create(
            &format!("{ROOT}/new/{unique}"),
            b"",
            &CreateOptions::ephemeral(),
        )
        .await;
    let closed = zk.close().await;
    created.map(drop).map_err(|e| e.to_string())?;
    closed.map_err(|e| e.to_string())
}

/// `watchers` sessions each watch one znode; a writer changes it, and the time until the last
/// watcher has its event is one sample.
async fn watch_run(
    opts: &Options,
    watchers: usize,
    value: &[u8],
    measure_from: Instant,
    deadline: Instant,
    completed: &AtomicU64,
) -> Result<Outcome, BenchError> {
    let path = format!("{ROOT}/watched");
    let writer = connect(&opts.server).await?;
    ensure(&writer, &path, value).await?;
    let mut sessions = Vec::with_capacity(watchers);
    for _ in 0..watchers {
        sessions.push(connect(&opts.server).await?);
    }
    let mut out = Outcome::default();
    while Instant::now() < deadline {
        let mut pending = Vec::with_capacity(watchers);
        for zk in &sessions {
            match zk.get_data_w(&path).await {
                Ok((_, _, watch)) => pending.push(watch),
                Err(e) => out.error(e.to_string()),
            }
        }
        let began = Instant::now();
        if let Err(e) = writer.set_data(&path, value, None).await {
            out.error(e.to_string());
            continue;
        }
        for watch in pending {
            if tokio::time::timeout(Duration::from_secs(10), watch)
                .await
                .is_err()
            {
                out.error("a watcher got no event within 10 s".to_owned());
            }
        }
        completed.fetch_add(1, Ordering::Relaxed);
        if began >= measure_from {
            out.samples.record(began.elapsed().as_micros() as u64);
        }
    }
    for zk in sessions {
        let _ = zk.close().await;
    }
    let _ = writer.close().await;
    Ok(out)
}
