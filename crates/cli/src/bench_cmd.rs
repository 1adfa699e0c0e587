//! `ferrokeeper bench`: drives load against any ZooKeeper-protocol server.

use clap::{Args, Subcommand, ValueEnum};
use std::time::Duration;

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    command: Option<BenchCommand>,
    /// Connect string of the server under test.
    #[arg(long, default_value = "127.0.0.1:2181", global = true)]
    server: String,
    /// What to measure.
    #[arg(long, value_enum, default_value = "set")]
    workload: WorkloadName,
    /// Sessions (connections).
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Requests each session keeps in flight.
    #[arg(long, default_value_t = 32)]
    in_flight: usize,
    /// Bytes per value.
    #[arg(long, default_value_t = 1024)]
    value_size: usize,
    /// Keys the key-space workloads choose from.
    #[arg(long, default_value_t = 1000)]
    keys: usize,
    /// Fraction of reads in `--workload mixed`.
    #[arg(long, default_value_t = 0.8)]
    read_ratio: f64,
    /// Operations per transaction in `--workload multi`.
    #[arg(long, default_value_t = 4)]
    ops: usize,
    /// Watching sessions in `--workload watch`.
    #[arg(long, default_value_t = 1000)]
    watchers: usize,
    /// Seconds of warm-up, not measured.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Seconds measured.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// The server's process id, to report its CPU time per operation; repeat it (or separate ids
    /// with commas) for every member of an ensemble, whose CPU times are summed.
    #[arg(long, value_delimiter = ',')]
    server_pid: Vec<u32>,
    /// Offer this many requests per second in total on a fixed schedule (open loop), counting
    /// latency from when each was due; without it, requests go back to back.
    #[arg(long)]
    rate: Option<f64>,
    /// Threads the load generator runs its sessions on (default: one per core). With few cores,
    /// `--threads 1` keeps a latency workload's own thread hand-offs off the measurement.
    #[arg(long, global = true)]
    threads: Option<usize>,
    /// Print only the JSON line.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand, Debug)]
enum BenchCommand {
    /// Create N znodes of S bytes under /ferrokeeper-bench.
    Populate {
        #[arg(long, default_value_t = 100_000)]
        count: usize,
        #[arg(long, default_value_t = 100)]
        size: usize,
    },
    /// Wait until a znode reads back (a server restarting is serving again) and print how long
    /// that took, in seconds.
    Ready {
        /// The znode to read.
        #[arg(long, default_value = "/ferrokeeper-bench/k00000000")]
        path: String,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 300.0)]
        timeout: f64,
    },
    /// Measure this disk's latency of one log write plus fdatasync (no server involved): the
    /// floor under a durable server's single-client write latency.
    Fsync(DiskProbe),
    /// Measure the floor under a durable server's single-client write latency (no server
    /// involved): a request over loopback TCP to a thread that logs it, calls fdatasync and
    /// answers, with nothing else in between.
    RoundTrip(DiskProbe),
    /// Measure this machine's floor under watch fan-out (no server involved): one small frame
    /// written to each of N loopback TCP connections until every receiving task has read it.
    Fanout {
        /// Connections (watchers) to deliver to.
        #[arg(long, default_value_t = 1000)]
        connections: usize,
        /// Rounds to time.
        #[arg(long, default_value_t = 200)]
        rounds: usize,
        /// Bytes per frame (a watch event for a short path is about 60).
        #[arg(long, default_value_t = 60)]
        size: usize,
    },
}

/// Where and how often a disk probe writes.
#[derive(Debug, clap::Args)]
pub struct DiskProbe {
    /// A directory on the file system to measure (where the server keeps its log).
    #[arg(long, default_value = ".")]
    dir: std::path::PathBuf,
    /// Writes to time.
    #[arg(long, default_value_t = 500)]
    count: usize,
    /// Bytes per write.
    #[arg(long, default_value_t = 1024)]
    size: usize,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum WorkloadName {
    Create,
    Set,
    Get,
    Exists,
    Delete,
    Mixed,
    Multi,
    Watch,
    Sessions,
}

/// Runs the benchmark (or `populate`) and prints its report.
pub fn run(args: BenchArgs) -> Result<(), String> {
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = args.threads {
        runtime.worker_threads(threads.max(1));
    }
    let runtime = runtime
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    if let Some(BenchCommand::Ready { path, timeout }) = &args.command {
        let timeout = Duration::try_from_secs_f64(*timeout)
            .map_err(|_| "--timeout must be a non-negative number of seconds".to_string())?;
        let took = runtime
            .block_on(bench::wait_until_readable(&args.server, path, timeout))
            .map_err(|e| e.to_string())?;
        println!("{:.3}", took.as_secs_f64());
        return Ok(());
    }
    if let Some(BenchCommand::Fsync(DiskProbe { dir, count, size })) = &args.command {
        let p = bench::fdatasync_latency(dir, (*count).max(1), *size)
            .map_err(|e| format!("cannot measure fdatasync in {}: {e}", dir.display()))?;
        let what = format!(
            "write {size} B into a log file + fdatasync in {}",
            dir.display()
        );
        print_probe(args.json, &what, "fdatasync", *size, *count, &p);
        return Ok(());
    }
    if let Some(BenchCommand::RoundTrip(DiskProbe { dir, count, size })) = &args.command {
        let p = bench::durable_round_trip(dir, (*count).max(1), *size).map_err(|e| {
            format!(
                "cannot measure a durable round trip in {}: {e}",
                dir.display()
            )
        })?;
        let what = format!(
            "{size} B over loopback, logged + fdatasync in {}, answered",
            dir.display()
        );
        print_probe(args.json, &what, "durable-round-trip", *size, *count, &p);
        return Ok(());
    }
    if let Some(BenchCommand::Fanout {
        connections,
        rounds,
        size,
    }) = &args.command
    {
        let p = runtime
            .block_on(bench::fanout_floor(
                (*connections).max(1),
                (*rounds).max(1),
                (*size).max(1),
            ))
            .map_err(|e| format!("cannot measure loopback fan-out: {e}"))?;
        let what = format!("{size} B to each of {connections} loopback connections");
        print_probe(args.json, &what, "loopback-fanout", *size, *rounds, &p);
        return Ok(());
    }
    if let Some(BenchCommand::Populate { count, size }) = args.command {
        let took = runtime
            .block_on(bench::populate(&args.server, count, size, true))
            .map_err(|e| e.to_string())?;
        println!(
            "populated {count} znodes of {size} bytes in {:.1} s ({:.0} creates/s)",
            took.as_secs_f64(),
            count as f64 / took.as_secs_f64().max(f64::EPSILON)
        );
        return Ok(());
    }
    let workload = match args.workload {
        WorkloadName::Create => bench::Workload::Create,
        WorkloadName::Set => bench::Workload::Set,
        WorkloadName::Get => bench::Workload::Get,
        WorkloadName::Exists => bench::Workload::Exists,
        WorkloadName::Delete => bench::Workload::Delete,
        WorkloadName::Mixed => bench::Workload::Mixed {
            read_ratio: args.read_ratio,
        },
        WorkloadName::Multi => bench::Workload::Multi { ops: args.ops },
        WorkloadName::Watch => bench::Workload::Watch {
            watchers: args.watchers,
        },
        WorkloadName::Sessions => bench::Workload::Sessions,
    };
    let seconds = |s: f64, name: &str| {
        Duration::try_from_secs_f64(s)
            .map_err(|_| format!("--{name} must be a non-negative number of seconds"))
    };
    let options = bench::Options {
        server: args.server,
        workload,
        clients: args.clients.max(1),
        in_flight: args.in_flight.max(1),
        value_size: args.value_size,
        keys: args.keys.max(1),
        warmup: seconds(args.warmup, "warmup")?,
        duration: seconds(args.duration, "duration")?,
        server_pids: args.server_pid,
        progress: !args.json,
        rate: args.rate,
    };
    let report = runtime
        .block_on(bench::run(&options))
        .map_err(|e| e.to_string())?;
    if !args.json {
        print!("{}", report.table());
    }
    println!("{}", report.json());
    Ok(())
}

/// Prints a machine probe's latencies: a human line (unless `json`), then the JSON line.
fn print_probe(
    json: bool,
    what: &str,
    workload: &str,
    size: usize,
    operations: usize,
    p: &bench::Percentiles,
) {
    if !json {
        println!(
            "{what}: p50 {:.3} ms  p90 {:.3}  p99 {:.3}  max {:.3}",
            p.p50, p.p90, p.p99, p.max
        );
    }
    println!(
        "{{\"workload\":\"{workload}\",\"value_size\":{size},\"operations\":{operations},\"p50_ms\":{:.3},\"p90_ms\":{:.3},\"p99_ms\":{:.3},\"max_ms\":{:.3}}}",
        p.p50, p.p90, p.p99, p.max
    );
}
