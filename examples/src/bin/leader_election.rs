//! Leader election: candidate processes elect one leader that does the work; when the leader
//! dies another takes over, and there are never two leaders at once.
//!
//! # Design
//!
//! Candidates join a [`recipes::LeaderLatch`] at `<path>/latch`. The leader's *term* is the
//! creation zxid (`czxid`) of its latch node: leaders follow the order of their nodes, so each
//! new leader has a larger term than the last.
//!
//! Believing one leads is not enough to act as the leader: a leader that was paused (a long GC,
//! a stopped VM, SIGSTOP) may wake up after its session expired and a successor took over,
//! still believing it leads. So every piece of work is committed with a fence, in one `multi`:
//!
//! 1. check that the leader's own latch node still exists (version 0; it is never written),
//! 2. create the work record `<path>/work/rec-<seq>` with data `term=T id=X n=N`.
//!
//! The latch node exists exactly as long as the term lasts (it is ephemeral; a successor can
//! only lead once it is gone), so work of a stale leader is refused by the ensemble itself and
//! the record sequence shows terms in order. If the node is deleted while its leader's session
//! lives (an operator's mistake, say), the next candidate leads at once while the old leader
//! still believes it leads (a leader does not watch its own node): the fence refuses the old
//! leader's next work, and it joins the line again, at the end.
//!
//! Every candidate appends to one log file (opened with `O_APPEND`; one write per line):
//! `lead term=T id=X at=µs`, `work term=T id=X n=N at=µs` (the time the commit was sent),
//! `fenced ...` for refused work and `lost ...` when leadership ends. The `check` mode verifies
//! from the log and the records that no two terms overlap ([`ferrokeeper_examples::terms`]).
//!
//! # Modes
//!
//! - `candidate --id X --log FILE`: takes part until stopped (Ctrl-C or SIGTERM close the latch,
//!   so the next candidate takes over at once); leads when elected.
//! - `check --log FILE`: verifies the run; prints every term and exits non-zero on a violation.
//! - `demo --candidates N`: runs N candidate processes, SIGKILLs the leader, stops the next one
//!   cleanly, then checks.
//!
//! ```text
//! cargo run -p ferrokeeper-examples --bin leader_election -- --server 127.0.0.1:2181 demo
//! ```

use clap::{Parser, Subcommand};
use client::{Client, CreateMode, CreateOptions, Error, MultiError};
use ferrokeeper_examples::event_log::{now_micros, EventLog};
use ferrokeeper_examples::shutdown::Shutdown;
use ferrokeeper_examples::terms::{self, Commit, Event};
use recipes::leader;
use recipes::LeaderLatch;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Command line.
#[derive(Debug, Parser)]
#[command(about = "Candidates elect a leader that does fenced work; failover without overlap")]
struct Cli {
    /// Connect string of the ensemble, e.g. `127.0.0.1:2181`.
    #[arg(long, default_value = "127.0.0.1:2181")]
    server: String,
    /// Root of the election: the latch is `<path>/latch`, work records `<path>/work`.
    #[arg(long, default_value = "/election/demo")]
    path: String,
    /// Session timeout: how long a crashed leader keeps its term.
    #[arg(long, default_value_t = 3000)]
    session_timeout_ms: u64,
    /// What to do.
    #[command(subcommand)]
    mode: Mode,
}

/// The binary's modes.
#[derive(Debug, Subcommand)]
enum Mode {
    /// Take part in the election; do work while leading.
    Candidate {
        /// This candidate's name (unique among the candidates).
        #[arg(long)]
        id: String,
        /// The log file shared by every candidate.
        #[arg(long)]
        log: PathBuf,
        /// Pause between two pieces of work, in milliseconds.
        #[arg(long, default_value_t = 100)]
        work_ms: u64,
    },
    /// Verify from the log and the work records that there were never two leaders at once.
    Check {
        /// The log file the candidates wrote.
        #[arg(long)]
        log: PathBuf,
    },
    /// Run candidate processes, crash the leader, stop the next one, then check.
    Demo {
        /// Candidate processes.
        #[arg(long, default_value_t = 3)]
        candidates: u32,
    },
}

/// The election's nodes.
#[derive(Debug, Clone)]
struct Layout {
    root: String,
}

impl Layout {
    fn latch(&self) -> String {
        format!("{}/latch", self.root)
    }
    fn work(&self) -> String {
        format!("{}/work", self.root)
    }
}

impl Cli {
    fn layout(&self) -> Layout {
        Layout {
            root: self.path.trim_end_matches('/').to_string(),
        }
    }

    async fn connect(&self) -> Result<Client, String> {
        Client::builder()
            .session_timeout(Duration::from_millis(self.session_timeout_ms))
            .connect(&self.server)
            .await
            .map_err(|e| format!("connect to {}: {e}", self.server))
    }
}

/// Creates `path` and its missing ancestors (persistent).
async fn ensure_path(zk: &Client, path: &str) -> Result<(), String> {
    let mut ends: Vec<usize> = path.match_indices('/').skip(1).map(|(i, _)| i).collect();
    ends.push(path.len());
    for end in ends {
        match zk
            .create(&path[..end], b"", &CreateOptions::persistent())
            .await
        {
            Ok(_) | Err(Error::NodeExists) => {}
            Err(e) => return Err(format!("create {}: {e}", &path[..end])),
        }
    }
    Ok(())
}

/// Where a candidate stands, from one read of the line.
enum Standing {
    /// First in line: leading in `term` (its latch node's `czxid`).
    Leads { node: String, term: i64 },
    /// Someone else is first, or the line changed while it was read.
    Waits,
    /// The candidate's latch node is gone while its session lives (someone deleted it).
    Gone,
}

async fn standing(zk: &Client, latch: &str, id: &str) -> Result<Standing, String> {
    let line = leader::participants(zk, latch)
        .await
        .map_err(|e| format!("read the line: {e}"))?;
    if !line.iter().any(|p| p.id == id) {
        return Ok(Standing::Gone);
    }
    let Some(first) = line.into_iter().next().filter(|p| p.id == id) else {
        return Ok(Standing::Waits);
    };
    let node = format!("{latch}/{}", first.node);
    match zk.exists(&node).await {
        Ok(Some(stat)) => Ok(Standing::Leads {
            node,
            term: stat.czxid,
        }),
        Ok(None) | Err(Error::ConnectionLoss) => Ok(Standing::Waits),
        Err(e) => Err(format!("stat {node}: {e}")),
    }
}

/// How a term of work ended.
enum TermEnd {
    /// The latch reports that leadership went away: wait to lead again.
    Lost,
    /// The ensemble refused work because the term is over, though the latch still claims
    /// leadership (its node was deleted under it): join the line again.
    Fenced,
    /// A stop was requested.
    Stop,
}

/// A candidate's run: one session, one latch, work while leading.
struct Candidate<'a> {
    zk: Client,
    layout: Layout,
    id: &'a str,
    log: EventLog,
    work: Duration,
    /// Work numbers are unique per candidate, so a record names exactly one attempt.
    next_n: u64,
}

impl Candidate<'_> {
    fn record(&self, line: String) -> Result<(), String> {
        println!("{line}");
        self.log
            .record(&line)
            .map_err(|e| format!("write log: {e}"))
    }

    /// Works while leading in `term`.
    async fn lead(
        &mut self,
        latch: &LeaderLatch,
        node: &str,
        term: i64,
        shutdown: &mut Shutdown,
    ) -> Result<TermEnd, String> {
        let id = self.id;
        self.record(format!("lead term={term} id={id} at={}", now_micros()))?;
        let record = CreateOptions::persistent().with_mode(CreateMode::PersistentSequential);
        let prefix = format!("{}/rec-", self.layout.work());
        let end = loop {
            if !latch.has_leadership() {
                break TermEnd::Lost;
            }
            self.next_n += 1;
            let n = self.next_n;
            let data = Commit {
                term,
                id: id.to_string(),
                n,
            }
            .encode();
            let sent = now_micros();
            let committed = self
                .zk
                .multi()
                .check(node, 0)
                .create(&prefix, data.as_bytes(), &record)
                .commit()
                .await;
            match committed {
                Ok(_) => self.record(format!("work term={term} id={id} n={n} at={sent}"))?,
                Err(MultiError::Failed { index: 0, .. }) => {
                    // Our latch node is gone: the term is over, whatever the latch believes.
                    self.record(format!("fenced term={term} id={id} n={n} at={sent}"))?;
                    break TermEnd::Fenced;
                }
                // The outcome is unknown; the latch reports whether we still lead.
                Err(MultiError::Request(Error::ConnectionLoss)) => {}
                Err(e) => return Err(format!("commit work: {}", e.error())),
            }
            tokio::select! {
                _ = shutdown.requested() => break TermEnd::Stop,
                _ = tokio::time::sleep(self.work) => {}
            }
        };
        self.record(format!("lost term={term} id={id} at={}", now_micros()))?;
        Ok(end)
    }
}

async fn candidate(cli: &Cli, id: &str, log: &Path, work_ms: u64) -> Result<(), String> {
    let log = EventLog::open(log).map_err(|e| format!("open {}: {e}", log.display()))?;
    let mut shutdown = Shutdown::listen().map_err(|e| format!("catch signals: {e}"))?;
    let zk = cli.connect().await?;
    let layout = cli.layout();
    ensure_path(&zk, &layout.work()).await?;
    let mut latch = LeaderLatch::start(zk.clone(), &layout.latch(), id)
        .await
        .map_err(|e| format!("join the election: {e}"))?;
    let mut me = Candidate {
        zk: zk.clone(),
        layout: layout.clone(),
        id,
        log,
        work: Duration::from_millis(work_ms),
        next_n: 0,
    };
    me.record(format!(
        "candidate id={id} session=0x{:x} at={}",
        zk.session_id(),
        now_micros()
    ))?;
    let outcome = loop {
        tokio::select! {
            _ = shutdown.requested() => break Ok(()),
            led = latch.await_leadership() => if let Err(e) = led {
                break Err(format!("left the election: {e}"));
            },
        }
        let rejoin = match standing(&zk, &layout.latch(), id).await {
            Ok(Standing::Leads { node, term }) => {
                match me.lead(&latch, &node, term, &mut shutdown).await {
                    Ok(TermEnd::Lost) => false,
                    Ok(TermEnd::Fenced) => true,
                    Ok(TermEnd::Stop) => break Ok(()),
                    Err(e) => break Err(e),
                }
            }
            // The latch's view and ours crossed a change of the line; look again shortly.
            Ok(Standing::Waits) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                false
            }
            Ok(Standing::Gone) => true,
            Err(e) => break Err(e),
        };
        if rejoin {
            // A new node at the end of the line: a later term if this candidate leads again.
            let fresh = match LeaderLatch::start(zk.clone(), &layout.latch(), id).await {
                Ok(l) => l,
                Err(e) => break Err(format!("rejoin the election: {e}")),
            };
            let _ = std::mem::replace(&mut latch, fresh).close().await;
            me.record(format!("rejoined id={id} at={}", now_micros()))?;
        }
    };
    // Closing the latch deletes our node, so the next candidate takes over at once.
    let closed = latch.close().await;
    let _ = zk.close().await;
    outcome?;
    closed.map_err(|e| format!("close the latch: {e}"))
}

/// Reads the work records in commit order.
async fn commits(zk: &Client, layout: &Layout) -> Result<Vec<Commit>, String> {
    let dir = layout.work();
    let mut names = match zk.get_children(&dir).await {
        Ok(n) => n,
        Err(Error::NoNode) => Vec::new(),
        Err(e) => return Err(format!("list {dir}: {e}")),
    };
    // `rec-` plus a fixed-width sequence: the name order is the commit order.
    names.sort();
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let path = format!("{dir}/{name}");
        let (data, _) = zk
            .get_data(&path)
            .await
            .map_err(|e| format!("read {path}: {e}"))?;
        let text = String::from_utf8_lossy(&data);
        out.push(Commit::decode(&text).ok_or_else(|| format!("{path}: bad record {text:?}"))?);
    }
    Ok(out)
}

async fn check(cli: &Cli, log: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(log).map_err(|e| format!("read {}: {e}", log.display()))?;
    let events: Vec<Event> = text.lines().filter_map(Event::parse).collect();
    let zk = cli.connect().await?;
    let commits = commits(&zk, &cli.layout()).await?;
    let _ = zk.close().await;
    match terms::check(&events, &commits) {
        Ok(report) => {
            let mut previous_end = None;
            for t in &report.terms {
                let gap = previous_end
                    .map(|end: u64| {
                        format!(", {} ms after the previous term", (t.start - end) / 1000)
                    })
                    .unwrap_or_default();
                println!(
                    "  term {} led by {}: {} work(s) over {} ms{gap}",
                    t.term,
                    t.id,
                    t.works,
                    (t.end - t.start) / 1000
                );
                previous_end = Some(t.end);
            }
            println!(
                "check: OK terms={} commits={} fenced={}: never two leaders at once",
                report.terms.len(),
                report.commits,
                report.fenced
            );
            Ok(())
        }
        Err(violations) => {
            for v in &violations {
                println!("  violation: {v}");
            }
            Err(format!(
                "check failed with {} violation(s)",
                violations.len()
            ))
        }
    }
}

/// The leader's `(term, id)` once a term later than `after` has started, from the log.
async fn next_leader(log: &Path, after: i64) -> Result<(i64, String), String> {
    let started = Instant::now();
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let newest = text
            .lines()
            .filter_map(Event::parse)
            .filter_map(|e| match e {
                Event::Lead { term, id, .. } if term > after => Some((term, id)),
                _ => None,
            })
            .max();
        if let Some(found) = newest {
            return Ok(found);
        }
        if started.elapsed() > Duration::from_secs(60) {
            return Err("no new leader within 60 s".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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

async fn demo(cli: &Cli, candidates: u32) -> Result<(), String> {
    if candidates < 3 {
        return Err("the demo needs at least 3 candidates".into());
    }
    let log = std::env::temp_dir().join(format!("leader-election-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let zk = cli.connect().await?;
    let layout = cli.layout();
    // Records of earlier runs have no lines in this run's log; start from a clean slate.
    if let Ok(old) = zk.get_children(&layout.work()).await {
        for name in old {
            let _ = zk.delete(&format!("{}/{name}", layout.work()), None).await;
        }
    }
    let _ = zk.close().await;
    let exe = std::env::current_exe().map_err(|e| format!("locate own executable: {e}"))?;
    let mut children = std::collections::BTreeMap::new();
    for n in 1..=candidates {
        let id = format!("c{n}");
        let child = tokio::process::Command::new(&exe)
            .args(["--server", &cli.server, "--path", &cli.path])
            .arg("--session-timeout-ms")
            .arg(cli.session_timeout_ms.to_string())
            .args(["candidate", "--id", &id, "--log"])
            .arg(&log)
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("spawn candidate {id}: {e}"))?;
        children.insert(id, child);
    }
    let (term, id) = next_leader(&log, 0).await?;
    println!("demo: {id} leads in term {term}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut crashed = children.remove(&id).ok_or("leader is not ours")?;
    crashed.start_kill().map_err(|e| e.to_string())?;
    let _ = crashed.wait().await;
    let killed_at = Instant::now();
    println!("demo: killed {id} (SIGKILL); its term lasts until its session expires");
    let (term, id) = next_leader(&log, term).await?;
    println!(
        "demo: {id} leads in term {term}, {:?} after the crash",
        killed_at.elapsed()
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut stopped = children.remove(&id).ok_or("leader is not ours")?;
    terminate(stopped.id().ok_or("leader already gone")?)?;
    let stopped_at = Instant::now();
    let _ = stopped.wait().await;
    let (term, id) = next_leader(&log, term).await?;
    println!(
        "demo: {id} leads in term {term}, {:?} after a clean stop",
        stopped_at.elapsed()
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    for (_, mut child) in children {
        if let Some(pid) = child.id() {
            terminate(pid)?;
        }
        let _ = child.wait().await;
    }
    let outcome = check(cli, &log).await;
    println!("demo: log kept at {}", log.display());
    outcome
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match &cli.mode {
        Mode::Candidate { id, log, work_ms } => candidate(&cli, id, log, *work_ms).await,
        Mode::Check { log } => check(&cli, log).await,
        Mode::Demo { candidates } => demo(&cli, *candidates).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("leader_election: {e}");
            ExitCode::FAILURE
        }
    }
}
