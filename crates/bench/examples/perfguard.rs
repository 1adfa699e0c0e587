//! perfguard: a fixed, deterministic workload for the callgrind regression guard
//! (`bench/callgrind/run.sh`).
//!
//! It starts a standalone Ferrokeeper server in this process, on a current-thread tokio runtime,
//! connects one session over loopback with the project's client and runs fixed phases, each
//! request awaited before the next. One request in flight means every log batch holds exactly
//! one txn and every run takes the same code paths, so the instruction count is a property of
//! the code, not of the machine's speed or load.
//!
//! After each phase it calls [`perfguard_phase_end`], which does nothing; callgrind is run with
//! `--dump-before=perfguard_phase_end`, so each phase's instructions land in their own dump file
//! (dump N is the phase printed as `phase N <name>` on stdout).
//!
//! Usage: `perfguard [DATA_PARENT_DIR]`; the data directory is a fresh temporary directory inside
//! it (default: the system temp dir), removed at exit.

use client::{Client, CreateOptions};
use server::config::ServerConfig;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Znodes created, then each set once.
const KEYS: usize = 2_000;
/// getData requests, spread over all keys.
const GETS: usize = 5_000;
/// multi requests, each of [`MULTI_OPS`] setData.
const MULTIS: usize = 500;
const MULTI_OPS: usize = 4;
/// Payload size of every create and setData.
const VALUE_SIZE: usize = 100;
const ROOT: &str = "/perfguard";

/// The phase boundary callgrind dumps at. Kept out of line and unmangled so
/// `--dump-before=perfguard_phase_end` always finds it.
#[no_mangle]
#[inline(never)]
pub extern "C" fn perfguard_phase_end(phase: u32) {
    std::hint::black_box(phase);
}

/// Counts phases so each boundary's dump number is printed next to its name.
struct Phases {
    done: u32,
}

impl Phases {
    fn end(&mut self, name: &str, ops: usize) {
        self.done += 1;
        perfguard_phase_end(self.done);
        println!("phase {} {name} {ops}", self.done);
    }
}

fn key(i: usize) -> String {
    format!("{ROOT}/k{i:05}")
}

/// A value that differs per key and per round, so every write really changes the data.
fn value(i: usize, round: u8) -> Vec<u8> {
    (0..VALUE_SIZE)
        .map(|b| (i as u8).wrapping_add(b as u8).wrapping_add(round))
        .collect()
}

/// Visits every key in a fixed scattered order (a stride coprime with [`KEYS`]), so reads do not
/// walk the tree in insertion order yet every run reads the same keys.
fn scattered(n: usize) -> usize {
    (n * 7_919) % KEYS
}

async fn workload(zk: &Client, phases: &mut Phases) -> Result<(), String> {
    let err = |what: &str, e: client::Error| format!("{what}: {e}");
    zk.create(ROOT, b"", &CreateOptions::persistent())
        .await
        .map_err(|e| err("create root", e))?;
    phases.end("setup", 1);

    for i in 0..KEYS {
        zk.create(&key(i), &value(i, 0), &CreateOptions::persistent())
            .await
            .map_err(|e| err("create", e))?;
    }
    phases.end("create", KEYS);

    for i in 0..KEYS {
        let stat = zk
            .set_data(&key(i), &value(i, 1), None)
            .await
            .map_err(|e| err("setData", e))?;
        if stat.version != 1 {
            return Err(format!("setData {}: version {}", key(i), stat.version));
        }
    }
    phases.end("set", KEYS);

    for n in 0..GETS {
        let i = scattered(n);
        let (data, _) = zk.get_data(&key(i)).await.map_err(|e| err("getData", e))?;
        if data != value(i, 1) {
            return Err(format!("getData {}: unexpected data", key(i)));
        }
    }
    phases.end("get", GETS);

    for m in 0..MULTIS {
        let mut multi = zk.multi();
        for op in 0..MULTI_OPS {
            let i = scattered(m * MULTI_OPS + op);
            multi = multi.set_data(&key(i), &value(i, 2), None);
        }
        let results = multi.commit().await.map_err(|e| e.to_string())?;
        if results.len() != MULTI_OPS {
            return Err(format!("multi: {} results", results.len()));
        }
    }
    phases.end("multi", MULTIS);
    Ok(())
}

async fn run(data_parent: PathBuf) -> Result<(), String> {
    let data_dir = tempfile::Builder::new()
        .prefix("perfguard-")
        .tempdir_in(&data_parent)
        .map_err(|e| format!("temp dir in {}: {e}", data_parent.display()))?;
    let mut config = ServerConfig::default();
    config.data_dir = data_dir.path().to_owned();
    // Port 0: the kernel picks a free loopback port.
    config.client_port = 0;
    // A snapshot taken mid-run would add a one-off cost to whichever phase it falls in.
    config.snap_count = 100_000_000;
    // Long ticks: timer work grows with wall time, which callgrind stretches 50-fold.
    config.tick_time_ms = 10_000;
    let running = server::start(config)
        .await
        .map_err(|e| format!("server: {e}"))?;
    let zk = Client::builder()
        .session_timeout(Duration::from_secs(120))
        .connect(&running.local_addr.to_string())
        .await
        .map_err(|e| format!("connect to {}: {e}", running.local_addr))?;
    let mut phases = Phases { done: 0 };
    let outcome = workload(&zk, &mut phases).await;
    let _ = zk.close().await;
    running.shutdown();
    outcome
}

fn main() -> ExitCode {
    let data_parent = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("perfguard: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(data_parent)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("perfguard: {e}");
            ExitCode::FAILURE
        }
    }
}
