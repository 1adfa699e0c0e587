//! `ferrokeeper`: the command-line front door. Subcommands hold no logic of their own; they parse
//! arguments and call into the crates.

mod bench_cmd;
mod ensemble_cmd;
mod inspect_cmd;
mod server_cmd;
mod shell_cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Opts the process out of transparent huge pages, which mimalloc asks for. On this VM a start
/// that loads a 1M-znode snapshot right after another process freed a few GiB took 0.46–1.05 s
/// with huge pages and 0.35–0.38 s without (see docs/ARCHITECTURE.md).
fn refuse_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and touches no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

#[derive(Parser)]
#[command(
    name = "ferrokeeper",
    version,
    about = "A ZooKeeper-compatible coordination service"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start a server. With no arguments: standalone on 127.0.0.1:2181, data under ./data.
    Server(server_cmd::ServerArgs),
    /// A zkCli-compatible shell: `shell -server host:port [command args...]`.
    Shell(shell_cmd::ShellArgs),
    /// Measure a ZooKeeper-protocol server: throughput, latency percentiles, server CPU per op.
    Bench(bench_cmd::BenchArgs),
    /// Start a local ensemble on loopback (one process per member) and print its connect string.
    Ensemble(ensemble_cmd::EnsembleArgs),
    /// Print a log's records and a snapshot's tree (like ZooKeeper's TxnLogToolkit/SnapshotFormatter).
    Inspect(inspect_cmd::InspectArgs),
}

fn main() -> ExitCode {
    refuse_huge_pages();
    let cli = Cli::parse();
    // The shell's and the benchmark's output is for users and scripts: only warnings may
    // interleave with it.
    let default_level = match cli.command {
        Command::Shell(_) | Command::Bench(_) => "warn",
        // Inspect reports every finding itself; the storage crate's repair logs would mislead.
        Command::Inspect(_) => "error",
        // openraft logs every failed heartbeat to a down member at warn, many times a second.
        _ => "info,openraft=error",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let result = match cli.command {
        Command::Server(args) => server_cmd::run(args),
        Command::Shell(args) => shell_cmd::run(args),
        Command::Bench(args) => bench_cmd::run(args),
        Command::Ensemble(args) => ensemble_cmd::run(args),
        Command::Inspect(args) => inspect_cmd::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("ferrokeeper: {message}");
            }
            ExitCode::FAILURE
        }
    }
}
