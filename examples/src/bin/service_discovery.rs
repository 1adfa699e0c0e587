//! Service discovery: service instances register themselves, clients keep a live list of them.
//!
//! # Design
//!
//! Each instance of a service joins the group `<root>/<service>` ([`recipes::GroupMember`]) as
//! an *ephemeral* node named after the instance, holding its `host:port`. A client that needs
//! the service keeps a live list of the instances ([`recipes::GroupWatcher`], driven by child
//! watches) and picks one of them for each call.
//!
//! - An instance that stops cleanly (Ctrl-C or SIGTERM) leaves the group and closes its session:
//!   it disappears from every list at once.
//! - An instance that crashes (SIGKILL, power loss, a network partition) cannot say goodbye: its
//!   node stays until the server expires its session, one session timeout later, and then
//!   disappears from every list. The session timeout is the bound on how long clients may keep
//!   routing to a dead instance.
//!
//! # Modes
//!
//! - `instance --id ID --addr HOST:PORT`: registers and stays registered until stopped; prints
//!   `registered id=ID addr=HOST:PORT session=0x..`.
//! - `watch`: prints `members n=N id=addr ...` at start and at every change, until stopped.
//! - `demo --instances N`: starts N instance processes, watches them join, SIGKILLs one and stops
//!   another cleanly, and shows how long each took to leave the list.
//!
//! ```text
//! cargo run -p ferrokeeper-examples --bin service_discovery -- --server 127.0.0.1:2181 demo
//! ```

use clap::{Parser, Subcommand};
use client::Client;
use ferrokeeper_examples::shutdown::Shutdown;
use recipes::group::Members;
use recipes::{GroupMember, GroupWatcher};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Command line.
#[derive(Debug, Parser)]
#[command(about = "Service instances register in a group; clients keep a live list of them")]
struct Cli {
    /// Connect string of the ensemble, e.g. `127.0.0.1:2181`.
    #[arg(long, default_value = "127.0.0.1:2181")]
    server: String,
    /// Parent of the service groups.
    #[arg(long, default_value = "/services")]
    root: String,
    /// The service's name: its instances are `<root>/<service>/<id>`.
    #[arg(long, default_value = "api")]
    service: String,
    /// Session timeout: how long a crashed instance stays listed.
    #[arg(long, default_value_t = 4000)]
    session_timeout_ms: u64,
    /// What to do.
    #[command(subcommand)]
    mode: Mode,
}

/// The binary's modes.
#[derive(Debug, Subcommand)]
enum Mode {
    /// Register one instance until stopped (Ctrl-C or SIGTERM leaves cleanly).
    Instance {
        /// The instance's name in the group.
        #[arg(long)]
        id: String,
        /// Where the instance serves, `host:port`.
        #[arg(long)]
        addr: String,
    },
    /// Print the live list of instances at every change, until stopped.
    Watch,
    /// Run instances as child processes, crash one, stop one, and watch the list follow.
    Demo {
        /// Instances to start.
        #[arg(long, default_value_t = 4)]
        instances: u32,
    },
}

impl Cli {
    fn group(&self) -> String {
        format!(
            "{}/{}",
            self.root.trim_end_matches('/'),
            self.service.trim_matches('/')
        )
    }

    async fn connect(&self) -> Result<Client, String> {
        Client::builder()
            .session_timeout(Duration::from_millis(self.session_timeout_ms))
            .connect(&self.server)
            .await
            .map_err(|e| format!("connect to {}: {e}", self.server))
    }
}

/// `host:port` with a numeric port: what a client needs to reach the instance.
fn check_addr(addr: &str) -> Result<(), String> {
    match addr.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(()),
        _ => Err(format!("--addr {addr:?} is not host:port")),
    }
}

/// One line describing the list: `members n=2 a=10.0.0.1:80 b=10.0.0.2:80`.
fn describe(members: &Members) -> String {
    let mut line = format!("members n={}", members.len());
    for (id, data) in members {
        line.push_str(&format!(" {id}={}", String::from_utf8_lossy(data)));
    }
    line
}

async fn instance(cli: &Cli, id: &str, addr: &str) -> Result<(), String> {
    check_addr(addr)?;
    let mut shutdown = Shutdown::listen().map_err(|e| format!("catch signals: {e}"))?;
    let zk = cli.connect().await?;
    let me = GroupMember::join(zk.clone(), &cli.group(), id, addr.as_bytes())
        .await
        .map_err(|e| format!("join {}: {e}", cli.group()))?;
    println!(
        "registered id={id} addr={addr} session=0x{:x}",
        zk.session_id()
    );
    shutdown.requested().await;
    me.leave().await.map_err(|e| format!("leave: {e}"))?;
    let _ = zk.close().await;
    println!("left id={id}");
    Ok(())
}

async fn watch(cli: &Cli) -> Result<(), String> {
    let mut shutdown = Shutdown::listen().map_err(|e| format!("catch signals: {e}"))?;
    let zk = cli.connect().await?;
    let mut view = GroupWatcher::start(zk.clone(), &cli.group())
        .await
        .map_err(|e| format!("watch {}: {e}", cli.group()))?;
    println!("{}", describe(&view.members()));
    loop {
        tokio::select! {
            _ = shutdown.requested() => break,
            changed = view.changed() => match changed {
                Ok(members) => println!("{}", describe(&members)),
                Err(e) => return Err(format!("watcher ended: {e}")),
            },
        }
    }
    let _ = zk.close().await;
    Ok(())
}

/// Starts `instance --id id` as a child process of this executable.
fn spawn_instance(cli: &Cli, id: &str, addr: &str) -> Result<tokio::process::Child, String> {
    let exe = std::env::current_exe().map_err(|e| format!("locate own executable: {e}"))?;
    tokio::process::Command::new(exe)
        .args(["--server", &cli.server, "--root", &cli.root])
        .args(["--service", &cli.service])
        .arg("--session-timeout-ms")
        .arg(cli.session_timeout_ms.to_string())
        .args(["instance", "--id", id, "--addr", addr])
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("spawn instance {id}: {e}"))
}

/// Waits until the list satisfies `pred`, printing it at every change; returns how long it took.
async fn until(
    view: &mut GroupWatcher,
    what: &str,
    pred: impl Fn(&Members) -> bool,
) -> Result<Duration, String> {
    let started = Instant::now();
    let limit = Duration::from_secs(60);
    while !pred(&view.members()) {
        match tokio::time::timeout(limit.saturating_sub(started.elapsed()), view.changed()).await {
            Ok(Ok(m)) => println!("demo: {}", describe(&m)),
            Ok(Err(e)) => return Err(format!("watcher ended: {e}")),
            Err(_) => return Err(format!("no {what} after {limit:?}")),
        }
    }
    Ok(started.elapsed())
}

async fn demo(cli: &Cli, instances: u32) -> Result<(), String> {
    if instances < 2 {
        return Err("the demo needs at least 2 instances".into());
    }
    let zk = cli.connect().await?;
    let mut view = GroupWatcher::start(zk.clone(), &cli.group())
        .await
        .map_err(|e| format!("watch {}: {e}", cli.group()))?;
    println!("demo: {}", describe(&view.members()));
    let mut children = Vec::new();
    for n in 1..=instances {
        let id = format!("instance-{n}");
        let addr = format!("127.0.0.1:{}", 8080 + n);
        children.push((id.clone(), spawn_instance(cli, &id, &addr)?));
    }
    let ids: Vec<String> = children.iter().map(|(id, _)| id.clone()).collect();
    let took = until(&mut view, "full list", |m| {
        ids.iter().all(|id| m.contains_key(id))
    })
    .await?;
    println!("demo: all {instances} instances listed after {took:?}");

    let (crashed, mut child) = children.remove(0);
    // SIGKILL: the instance cannot leave; only its session's expiry removes it.
    child
        .start_kill()
        .map_err(|e| format!("kill {crashed}: {e}"))?;
    let _ = child.wait().await;
    println!("demo: killed {crashed} (SIGKILL)");
    let took = until(&mut view, "expiry", |m| !m.contains_key(&crashed)).await?;
    println!(
        "demo: {crashed} left the list {took:?} after its crash (session timeout {} ms)",
        cli.session_timeout_ms
    );

    let (stopped, mut child) = children.remove(0);
    let pid = child.id().ok_or("instance already gone")?;
    terminate(pid)?;
    let took = until(&mut view, "clean leave", |m| !m.contains_key(&stopped)).await?;
    println!("demo: {stopped} left the list {took:?} after a clean stop");
    let _ = child.wait().await;

    for (id, child) in &mut children {
        if let Some(pid) = child.id() {
            terminate(pid)?;
        }
        let _ = child.wait().await;
        println!("demo: stopped {id}");
    }
    until(&mut view, "empty list", |m| m.is_empty()).await?;
    let _ = zk.close().await;
    Ok(())
}

/// Asks a child to stop cleanly (SIGTERM) through the `kill` utility.
fn terminate(pid: u32) -> Result<(), String> {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .map_err(|e| format!("run kill: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("kill -TERM {pid} failed: {status}"))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match &cli.mode {
        Mode::Instance { id, addr } => instance(&cli, id, addr).await,
        Mode::Watch => watch(&cli).await,
        Mode::Demo { instances } => demo(&cli, *instances).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("service_discovery: {e}");
            ExitCode::FAILURE
        }
    }
}
