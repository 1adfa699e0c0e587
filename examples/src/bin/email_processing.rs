//! Email processing case study: an inbox of messages classified as spam or not by several worker
//! *processes* that coordinate only through Ferrokeeper, so that every message is processed exactly
//! once even when workers are killed (SIGKILL) mid-work.
//!
//! # Design
//!
//! All nodes live under a root (default `/email`):
//!
//! - `/email/inbox/msg-XXXX`: one persistent node per unprocessed message; its data is the body.
//! - `/email/claims/msg-XXXX`: an *ephemeral* node, data = worker id, owned by the worker that is
//!   processing the message. Creating it is the claim: `NodeExists` means someone else has it.
//! - `/email/done/msg-XXXX`: the result, `verdict=<spam|ham> worker=<id> session=<hex>`.
//!
//! A worker lists the inbox, claims a message, re-reads the inbox node (it may have been committed
//! by another worker between the listing and the claim), "classifies" it (a deterministic keyword
//! rule plus a random delay that stands for real work), then commits with one `multi`:
//!
//! 1. create `/email/done/msg-XXXX` with the verdict,
//! 2. delete `/email/inbox/msg-XXXX` at the version it read,
//! 3. delete its claim `/email/claims/msg-XXXX` at version 0 (claims are never rewritten).
//!
//! The transaction is all or nothing, so a result exists only if the message left the inbox, and
//! the inbox delete is the fence: a second commit for the same message fails (`NoNode` on the inbox
//! or `NodeExists` on the result) and changes nothing. A worker killed mid-work loses its session;
//! when the server expires it (after the session timeout, kept short here) the ephemeral claim
//! vanishes and another worker picks the message up. Work done by a killed worker is simply
//! repeated; only commits are exactly-once, which is what "processed exactly once" can mean when
//! processes die at arbitrary points.
//!
//! A worker exits once the inbox is empty; while messages remain that others hold, it waits for
//! the claims to change (a children watch, with a poll as a backstop).
//!
//! # Modes
//!
//! - `--server ADDR seed --messages N`: (re)creates the tree and an inbox of N messages.
//! - `--server ADDR worker --id W`: processes messages until the inbox is empty; prints one
//!   `committed msg-XXXX verdict=... worker=W` line per commit.
//! - `--server ADDR check --messages N`: verifies every message has exactly one result with the
//!   right verdict and none is left in the inbox; prints a summary and exits non-zero otherwise.
//! - `--server ADDR demo`: seed, start worker processes (this executable), SIGKILL some at random,
//!   start replacements, wait, then check.
//!
//! ```text
//! cargo run -p ferrokeeper-examples --bin email_processing -- --server 127.0.0.1:2181 demo
//! ```

use clap::{Parser, Subcommand};
use client::{Client, CreateOptions, Error, MultiError};
use rand::seq::SliceRandom;
use rand::Rng;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

/// Command line.
#[derive(Debug, Parser)]
#[command(
    about = "Exactly-once email classification by worker processes coordinated via Ferrokeeper"
)]
struct Cli {
    /// Connect string of the ensemble, e.g. `127.0.0.1:2181`.
    #[arg(long, default_value = "127.0.0.1:2181")]
    server: String,
    /// Root node of the case study.
    #[arg(long, default_value = "/email")]
    root: String,
    /// Session timeout requested by workers; a killed worker's claims vanish after it.
    #[arg(long, default_value_t = 2000)]
    session_timeout_ms: u64,
    /// What to do.
    #[command(subcommand)]
    mode: Mode,
}

/// The binary's modes.
#[derive(Debug, Subcommand)]
enum Mode {
    /// (Re)create the tree with an inbox of `messages` messages.
    Seed {
        /// Number of messages.
        #[arg(long, default_value_t = 40)]
        messages: u32,
    },
    /// Process messages until the inbox is empty.
    Worker {
        /// This worker's id, recorded with each result.
        #[arg(long)]
        id: String,
        /// Shortest simulated work per message, in milliseconds.
        #[arg(long, default_value_t = 50)]
        min_work_ms: u64,
        /// Longest simulated work per message, in milliseconds.
        #[arg(long, default_value_t = 250)]
        max_work_ms: u64,
    },
    /// Verify that every message was processed exactly once.
    Check {
        /// Number of messages that were seeded.
        #[arg(long, default_value_t = 40)]
        messages: u32,
    },
    /// Seed, run worker processes, kill some at random, replace them, then check.
    Demo {
        /// Number of messages.
        #[arg(long, default_value_t = 40)]
        messages: u32,
        /// Workers running at once.
        #[arg(long, default_value_t = 4)]
        workers: u32,
        /// Workers to SIGKILL (each is replaced by a new one).
        #[arg(long, default_value_t = 2)]
        kills: u32,
    },
}

/// The three folders under the root.
#[derive(Debug, Clone)]
struct Layout {
    root: String,
}

impl Layout {
    fn inbox(&self) -> String {
        format!("{}/inbox", self.root)
    }
    fn claims(&self) -> String {
        format!("{}/claims", self.root)
    }
    fn done(&self) -> String {
        format!("{}/done", self.root)
    }
    fn in_inbox(&self, msg: &str) -> String {
        format!("{}/inbox/{msg}", self.root)
    }
    fn in_claims(&self, msg: &str) -> String {
        format!("{}/claims/{msg}", self.root)
    }
    fn in_done(&self, msg: &str) -> String {
        format!("{}/done/{msg}", self.root)
    }
}

/// Why a mode failed.
#[derive(Debug)]
enum Failure {
    /// A Ferrokeeper request failed.
    Keeper(String, Error),
    /// The check found violations.
    Check(Vec<String>),
    /// A worker process could not be run.
    Process(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Keeper(what, e) => write!(f, "{what}: {e}"),
            Failure::Check(v) => write!(f, "check failed with {} violation(s)", v.len()),
            Failure::Process(what) => write!(f, "{what}"),
        }
    }
}

/// Attaches what was being done to a client error.
fn ctx<T>(what: impl Into<String>, r: Result<T, Error>) -> Result<T, Failure> {
    r.map_err(|e| Failure::Keeper(what.into(), e))
}

/// The name of message `i`.
fn msg_name(i: u32) -> String {
    format!("msg-{i:04}")
}

/// The body of message `i`: deterministic, so `check` can recompute every verdict.
fn msg_body(i: u32) -> String {
    const SUBJECTS: [&str; 7] = [
        "Minutes of the Tuesday meeting",
        "You are a WINNER, claim your free prize",
        "Re: quarterly report draft",
        "Cheap pills, limited offer",
        "Lunch on Friday?",
        "Urgent: verify your bank account now",
        "Build failed on main",
    ];
    let subject = SUBJECTS[(i as usize * 5 + 3) % SUBJECTS.len()];
    format!("From: sender{}@example.org\nSubject: {subject}\n", i % 11)
}

/// The classifier: a keyword rule, deterministic so repeated processing gives the same verdict.
fn classify(body: &str) -> &'static str {
    const SPAMMY: [&str; 6] = [
        "winner",
        "free",
        "prize",
        "pills",
        "offer",
        "verify your bank",
    ];
    let lower = body.to_lowercase();
    if SPAMMY.iter().any(|w| lower.contains(w)) {
        "spam"
    } else {
        "ham"
    }
}

async fn connect(cli: &Cli) -> Result<Client, Failure> {
    let r = Client::builder()
        .session_timeout(Duration::from_millis(cli.session_timeout_ms))
        .connect(&cli.server)
        .await;
    ctx(format!("connect to {}", cli.server), r)
}

/// Creates `path` unless it exists.
async fn ensure(zk: &Client, path: &str) -> Result<(), Failure> {
    match zk.create(path, b"", &CreateOptions::persistent()).await {
        Ok(_) | Err(Error::NodeExists) => Ok(()),
        Err(e) => Err(Failure::Keeper(format!("create {path}"), e)),
    }
}

/// Deletes every child of `dir` (children are leaves here).
async fn clear(zk: &Client, dir: &str) -> Result<(), Failure> {
    for child in ctx(format!("list {dir}"), zk.get_children(dir).await)? {
        match zk.delete(&format!("{dir}/{child}"), None).await {
            Ok(()) | Err(Error::NoNode) => {}
            Err(e) => return Err(Failure::Keeper(format!("delete {dir}/{child}"), e)),
        }
    }
    Ok(())
}

async fn seed(cli: &Cli, layout: &Layout, messages: u32) -> Result<(), Failure> {
    let zk = connect(cli).await?;
    for dir in [
        layout.root.clone(),
        layout.inbox(),
        layout.claims(),
        layout.done(),
    ] {
        ensure(&zk, &dir).await?;
    }
    for dir in [layout.inbox(), layout.claims(), layout.done()] {
        clear(&zk, &dir).await?;
    }
    for i in 0..messages {
        let path = layout.in_inbox(&msg_name(i));
        let r = zk
            .create(&path, msg_body(i).as_bytes(), &CreateOptions::persistent())
            .await;
        ctx(format!("create {path}"), r)?;
    }
    println!("seeded {messages} messages under {}", layout.inbox());
    let _ = zk.close().await;
    Ok(())
}

/// What happened to one attempt at a message.
enum Attempt {
    /// This worker committed the result.
    Committed(&'static str),
    /// Another worker holds or already finished the message.
    Skipped,
}

/// Claims `msg`, processes it and commits the result; `Skipped` if someone else got there first.
async fn attempt(
    zk: &Client,
    layout: &Layout,
    id: &str,
    msg: &str,
    work: (u64, u64),
) -> Result<Attempt, Failure> {
    let claim = layout.in_claims(msg);
    match zk
        .create(&claim, id.as_bytes(), &CreateOptions::ephemeral())
        .await
    {
        Ok(_) => {}
        Err(Error::NodeExists) => {
            // A claim left by our own session (a commit whose reply was lost with the
            // connection) is still ours; anyone else's means hands off.
            match zk.exists(&claim).await {
                Ok(Some(stat)) if stat.ephemeral_owner == zk.session_id() => {}
                Ok(_) => return Ok(Attempt::Skipped),
                Err(e) => return Err(Failure::Keeper(format!("exists {claim}"), e)),
            }
        }
        Err(e) => return Err(Failure::Keeper(format!("claim {claim}"), e)),
    }
    let inbox_path = layout.in_inbox(msg);
    let (body, stat) = match zk.get_data(&inbox_path).await {
        Ok(found) => found,
        Err(Error::NoNode) => {
            // Committed by someone else between our listing and our claim.
            release(zk, &claim).await?;
            return Ok(Attempt::Skipped);
        }
        Err(e) => return Err(Failure::Keeper(format!("read {inbox_path}"), e)),
    };
    let verdict = classify(&String::from_utf8_lossy(&body));
    let pause = rand::rng().random_range(work.0..=work.1.max(work.0));
    tokio::time::sleep(Duration::from_millis(pause)).await;

    let result = format!(
        "verdict={verdict} worker={id} session={:#x}",
        zk.session_id()
    );
    let commit = zk
        .multi()
        .create(
            &layout.in_done(msg),
            result.as_bytes(),
            &CreateOptions::persistent(),
        )
        .delete(&inbox_path, Some(stat.version))
        .delete(&claim, Some(0))
        .commit()
        .await;
    match commit {
        Ok(_) => Ok(Attempt::Committed(verdict)),
        Err(MultiError::Failed {
            error: Error::NoNode | Error::NodeExists | Error::BadVersion,
            ..
        }) => {
            // Someone else's commit won; ours changed nothing.
            release(zk, &claim).await?;
            Ok(Attempt::Skipped)
        }
        Err(e) => Err(Failure::Keeper(format!("commit {msg}"), e.into())),
    }
}

/// Drops our claim on a message we will not process.
async fn release(zk: &Client, claim: &str) -> Result<(), Failure> {
    match zk.delete(claim, Some(0)).await {
        Ok(()) | Err(Error::NoNode) => Ok(()),
        Err(e) => Err(Failure::Keeper(format!("release {claim}"), e)),
    }
}

async fn worker(cli: &Cli, layout: &Layout, id: &str, work: (u64, u64)) -> Result<(), Failure> {
    let zk = connect(cli).await?;
    let mut committed = 0u32;
    loop {
        let mut inbox = ctx("list inbox", zk.get_children(&layout.inbox()).await)?;
        if inbox.is_empty() {
            break;
        }
        // Random order spreads workers over the inbox instead of all fighting for the first.
        inbox.shuffle(&mut rand::rng());
        let mut progressed = false;
        for msg in &inbox {
            if let Attempt::Committed(verdict) = attempt(&zk, layout, id, msg, work).await? {
                committed += 1;
                println!("committed {msg} verdict={verdict} worker={id}");
                progressed = true;
                break;
            }
        }
        if !progressed {
            // Everything left is claimed: wait for a claim to go (commit or expiry).
            let (_, changed) = ctx("watch claims", zk.get_children_w(&layout.claims()).await)?;
            let _ = tokio::time::timeout(Duration::from_millis(500), changed).await;
        }
    }
    println!("worker {id} finished: committed {committed}");
    let _ = zk.close().await;
    Ok(())
}

async fn check(cli: &Cli, layout: &Layout, messages: u32) -> Result<(), Failure> {
    let zk = connect(cli).await?;
    let mut violations = Vec::new();
    let inbox = ctx("list inbox", zk.get_children(&layout.inbox()).await)?;
    for msg in &inbox {
        violations.push(format!("{msg} is still in the inbox"));
    }
    let done = ctx("list done", zk.get_children(&layout.done()).await)?;
    let mut per_worker: BTreeMap<String, u32> = BTreeMap::new();
    let (mut found, mut spam) = (0u32, 0u32);
    for i in 0..messages {
        let msg = msg_name(i);
        let path = layout.in_done(&msg);
        let (data, stat) = match zk.get_data(&path).await {
            Ok(found) => found,
            Err(Error::NoNode) => {
                violations.push(format!("{msg} has no result"));
                continue;
            }
            Err(e) => return Err(Failure::Keeper(format!("read {path}"), e)),
        };
        // A result is written once by its commit; a later version would mean a second write.
        if stat.version != 0 {
            violations.push(format!(
                "{msg} result was rewritten (version {})",
                stat.version
            ));
        }
        let text = String::from_utf8_lossy(&data);
        let field = |key: &str| {
            text.split_whitespace()
                .find_map(|kv| kv.strip_prefix(key))
                .map(str::to_string)
        };
        let want = classify(&msg_body(i));
        match field("verdict=") {
            Some(v) if v == want => {}
            other => violations.push(format!("{msg} verdict {other:?}, expected {want}")),
        }
        found += 1;
        if want == "spam" {
            spam += 1;
        }
        *per_worker
            .entry(field("worker=").unwrap_or_else(|| "?".into()))
            .or_default() += 1;
    }
    let expected: Vec<String> = (0..messages).map(msg_name).collect();
    for extra in done.iter().filter(|d| !expected.contains(d)) {
        violations.push(format!("unexpected result {extra}"));
    }
    let claims = ctx("list claims", zk.get_children(&layout.claims()).await)?;
    let _ = zk.close().await;

    println!(
        "check: {} results for {messages} messages ({spam} spam, {} ham), {} left in inbox",
        done.len(),
        found - spam,
        inbox.len()
    );
    for (w, n) in &per_worker {
        println!("  worker {w}: {n}");
    }
    if !claims.is_empty() {
        // Claims taken just before a kill linger until their session expires; harmless.
        println!("  {} stale claim(s) awaiting session expiry", claims.len());
    }
    if violations.is_empty() {
        println!("check: OK, every message processed exactly once");
        Ok(())
    } else {
        for v in &violations {
            println!("  violation: {v}");
        }
        Err(Failure::Check(violations))
    }
}

/// Starts `worker --id id` as a child process of this executable.
fn spawn_worker(cli: &Cli, id: &str) -> Result<tokio::process::Child, Failure> {
    let exe = std::env::current_exe()
        .map_err(|e| Failure::Process(format!("locate own executable: {e}")))?;
    tokio::process::Command::new(exe)
        .args(["--server", &cli.server, "--root", &cli.root])
        .arg("--session-timeout-ms")
        .arg(cli.session_timeout_ms.to_string())
        .args(["worker", "--id", id])
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| Failure::Process(format!("spawn worker {id}: {e}")))
}

async fn demo(
    cli: &Cli,
    layout: &Layout,
    messages: u32,
    workers: u32,
    kills: u32,
) -> Result<(), Failure> {
    seed(cli, layout, messages).await?;
    let mut running = Vec::new();
    for n in 1..=workers {
        let id = format!("w{n}");
        running.push((id.clone(), spawn_worker(cli, &id)?));
    }
    for next_id in (workers + 1..).take(kills as usize) {
        if running.is_empty() {
            break;
        }
        let pause = rand::rng().random_range(200..1200);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        let victim = rand::rng().random_range(0..running.len());
        let (id, mut child) = running.swap_remove(victim);
        // `start_kill` is SIGKILL on Unix: no chance to clean up, the session just stops.
        match child.start_kill() {
            Ok(()) => println!("demo: killed worker {id}"),
            Err(e) => println!("demo: worker {id} already gone ({e})"),
        }
        let _ = child.wait().await;
        let id = format!("w{next_id}");
        println!("demo: started replacement worker {id}");
        running.push((id.clone(), spawn_worker(cli, &id)?));
    }
    for (id, mut child) in running {
        let status = child
            .wait()
            .await
            .map_err(|e| Failure::Process(format!("wait for worker {id}: {e}")))?;
        if !status.success() {
            println!("demo: worker {id} exited with {status}");
        }
    }
    check(cli, layout, messages).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let layout = Layout {
        root: cli.root.trim_end_matches('/').to_string(),
    };
    let outcome = match &cli.mode {
        Mode::Seed { messages } => seed(&cli, &layout, *messages).await,
        Mode::Worker {
            id,
            min_work_ms,
            max_work_ms,
        } => worker(&cli, &layout, id, (*min_work_ms, *max_work_ms)).await,
        Mode::Check { messages } => check(&cli, &layout, *messages).await,
        Mode::Demo {
            messages,
            workers,
            kills,
        } => demo(&cli, &layout, *messages, *workers, *kills).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("email_processing: {e}");
            ExitCode::FAILURE
        }
    }
}
