//! Configuration push: a publisher changes a configuration node, subscriber processes follow it.
//!
//! # Design
//!
//! The configuration is one node (default `/config/app`). Each subscriber keeps a
//! [`recipes::NodeCache`] of it: a persistent watch set before the first read, and a re-read
//! after every event, so the subscriber converges to the latest value without polling. The
//! publisher simply sets the node's data.
//!
//! What a subscriber is promised, and checks for itself:
//! - it ends at the latest value (no change after the cache started is missed);
//! - it never sees the configuration go back: each value it is shown has a larger `mzxid` (the
//!   zxid of the node's last change) than the one before. A subscriber may skip intermediate
//!   values published in quick succession; it never sees them out of order.
//!
//! # Modes
//!
//! - `publish --count N --prefix P`: sets the node to `P-1` ... `P-N` (creating it and its
//!   parents if needed), printing `published version=V value=P-i` for each.
//! - `subscribe --id S [--until VALUE]`: prints `observed version=V mzxid=Z value=...` for the
//!   first snapshot and every change (`observed absent` while the node does not exist); exits
//!   when it sees `VALUE`, or at Ctrl-C. Exits non-zero if a snapshot went backwards.
//! - `demo --subscribers N --count C`: starts N subscriber processes, publishes C values and
//!   waits for every subscriber to reach the last one.
//!
//! ```text
//! cargo run -p ferrokeeper-examples --bin config_push -- --server 127.0.0.1:2181 demo
//! ```

use clap::{Parser, Subcommand};
use client::{Client, CreateOptions, Error};
use ferrokeeper_examples::event_log::now_micros;
use ferrokeeper_examples::shutdown::Shutdown;
use recipes::cache::Snapshot;
use recipes::NodeCache;
use std::process::ExitCode;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

/// Command line.
#[derive(Debug, Parser)]
#[command(about = "A publisher changes a config node; subscriber processes follow it live")]
struct Cli {
    /// Connect string of the ensemble, e.g. `127.0.0.1:2181`.
    #[arg(long, default_value = "127.0.0.1:2181")]
    server: String,
    /// The configuration node.
    #[arg(long, default_value = "/config/app")]
    path: String,
    /// What to do.
    #[command(subcommand)]
    mode: Mode,
}

/// The binary's modes.
#[derive(Debug, Subcommand)]
enum Mode {
    /// Publish `count` successive values.
    Publish {
        /// How many values.
        #[arg(long, default_value_t = 10)]
        count: u32,
        /// Values are `<prefix>-1` ... `<prefix>-<count>`.
        #[arg(long, default_value = "config")]
        prefix: String,
        /// Pause between two values, in milliseconds.
        #[arg(long, default_value_t = 0)]
        interval_ms: u64,
    },
    /// Follow the configuration and print every value seen.
    Subscribe {
        /// This subscriber's name, for the logs.
        #[arg(long)]
        id: String,
        /// Exit once this value is seen.
        #[arg(long)]
        until: Option<String>,
    },
    /// Start subscriber processes, publish, and wait for all of them to converge.
    Demo {
        /// Subscriber processes.
        #[arg(long, default_value_t = 3)]
        subscribers: u32,
        /// Values to publish.
        #[arg(long, default_value_t = 20)]
        count: u32,
    },
}

/// Creates `path`'s missing ancestors (persistent).
async fn ensure_parents(zk: &Client, path: &str) -> Result<(), String> {
    let mut at = 0;
    while let Some(i) = path[at + 1..].find('/') {
        let prefix = &path[..at + 1 + i];
        at += 1 + i;
        match zk.create(prefix, b"", &CreateOptions::persistent()).await {
            Ok(_) | Err(Error::NodeExists) => {}
            Err(e) => return Err(format!("create {prefix}: {e}")),
        }
    }
    Ok(())
}

async fn publish(cli: &Cli, count: u32, prefix: &str, interval: Duration) -> Result<(), String> {
    let zk = Client::connect(&cli.server)
        .await
        .map_err(|e| format!("connect to {}: {e}", cli.server))?;
    ensure_parents(&zk, &cli.path).await?;
    for i in 1..=count {
        let value = format!("{prefix}-{i}");
        let stat = match zk.set_data(&cli.path, value.as_bytes(), None).await {
            Ok(stat) => stat,
            Err(Error::NoNode) => {
                let created = zk
                    .create(&cli.path, value.as_bytes(), &CreateOptions::persistent())
                    .await;
                created.map_err(|e| format!("create {}: {e}", cli.path))?.1
            }
            Err(e) => return Err(format!("set {}: {e}", cli.path)),
        };
        println!("published version={} value={value}", stat.version);
        if !interval.is_zero() {
            tokio::time::sleep(interval).await;
        }
    }
    let _ = zk.close().await;
    Ok(())
}

/// What a subscriber has seen, to tell whether the configuration ever went backwards.
#[derive(Debug, Default)]
struct Seen {
    last_mzxid: Option<i64>,
    violations: Vec<String>,
}

impl Seen {
    /// Prints and checks one snapshot; returns its value.
    fn observe(&mut self, snapshot: &Snapshot) -> Option<String> {
        let Some((data, stat)) = snapshot else {
            println!("observed absent");
            return None;
        };
        let value = String::from_utf8_lossy(data).into_owned();
        println!(
            "observed version={} mzxid={} value={value}",
            stat.version, stat.mzxid
        );
        if let Some(last) = self.last_mzxid {
            if stat.mzxid <= last {
                let v = format!("went backwards: mzxid {} after {last}", stat.mzxid);
                println!("violation: {v}");
                self.violations.push(v);
            }
        }
        self.last_mzxid = Some(stat.mzxid);
        Some(value)
    }
}

async fn subscribe(cli: &Cli, id: &str, until: Option<&str>) -> Result<(), String> {
    let mut shutdown = Shutdown::listen().map_err(|e| format!("catch signals: {e}"))?;
    let zk = Client::connect(&cli.server)
        .await
        .map_err(|e| format!("connect to {}: {e}", cli.server))?;
    let mut cache = NodeCache::start(zk.clone(), &cli.path)
        .await
        .map_err(|e| format!("cache {}: {e}", cli.path))?;
    eprintln!("subscriber {id}: following {}", cli.path);
    let mut seen = Seen::default();
    let mut value = seen.observe(&cache.current());
    while until.is_none() || value.as_deref() != until {
        tokio::select! {
            _ = shutdown.requested() => break,
            changed = cache.changed() => match changed {
                Ok(snapshot) => value = seen.observe(&snapshot),
                Err(e) => return Err(format!("cache ended: {e}")),
            },
        }
    }
    let _ = zk.close().await;
    if seen.violations.is_empty() {
        Ok(())
    } else {
        Err(format!("{} violation(s)", seen.violations.len()))
    }
}

async fn demo(cli: &Cli, subscribers: u32, count: u32) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("locate own executable: {e}"))?;
    // A value no earlier run published, so no subscriber stops at a stale one.
    let prefix = format!("demo{}", now_micros() % 1_000_000_000);
    let last = format!("{prefix}-{count}");
    let mut children = Vec::new();
    for n in 1..=subscribers {
        let id = format!("s{n}");
        let mut child = tokio::process::Command::new(&exe)
            .args(["--server", &cli.server, "--path", &cli.path])
            .args(["subscribe", "--id", &id, "--until", &last])
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("spawn subscriber {id}: {e}"))?;
        let stdout = child.stdout.take().ok_or("no subscriber stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        // The first line is the first snapshot: the cache (and its watch) is in place.
        let first = lines.next_line().await.map_err(|e| e.to_string())?;
        println!("demo: {id} started: {}", first.unwrap_or_default());
        children.push((id, child, lines));
    }
    publish(cli, count, &prefix, Duration::from_millis(20)).await?;
    for (id, mut child, mut lines) in children {
        let mut observed = 0;
        while let Ok(Some(line)) = lines.next_line().await {
            if line.starts_with("observed") {
                observed += 1;
            }
            if line.starts_with("violation") {
                println!("demo: {id}: {line}");
            }
        }
        let status = child.wait().await.map_err(|e| e.to_string())?;
        println!("demo: {id} reached {last} after {observed} change(s) seen; {status}");
        if !status.success() {
            return Err(format!("subscriber {id} failed"));
        }
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match &cli.mode {
        Mode::Publish {
            count,
            prefix,
            interval_ms,
        } => publish(&cli, *count, prefix, Duration::from_millis(*interval_ms)).await,
        Mode::Subscribe { id, until } => subscribe(&cli, id, until.as_deref()).await,
        Mode::Demo { subscribers, count } => demo(&cli, *subscribers, *count).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("config_push: {e}");
            ExitCode::FAILURE
        }
    }
}
