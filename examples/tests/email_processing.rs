//! The email-processing case study under fire: worker processes are SIGKILLed mid-work and
//! replaced, and every message must still end up processed exactly once.

use client::Client;
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use testkit::{ServerConfig, Target, TestServer};

const EXE: &str = env!("CARGO_BIN_EXE_email_processing");
const ROOT: &str = "/email";
const MESSAGES: u32 = 60;
const WORKERS: u32 = 4;
const SESSION_TIMEOUT_MS: u64 = 2000;
/// Bound on the whole run: a stuck worker is a failure, not a hang.
const COMPLETION_LIMIT: Duration = Duration::from_secs(60);

fn fk_bin() -> PathBuf {
    testkit::target::ferrokeeper_binary()
}

/// The binary with the shared flags for `server`.
fn command(server: &str) -> Command {
    let mut cmd = Command::new(EXE);
    cmd.args(["--server", server, "--root", ROOT])
        .arg("--session-timeout-ms")
        .arg(SESSION_TIMEOUT_MS.to_string());
    cmd
}

fn run_mode(server: &str, args: &[&str]) -> Output {
    let out = command(server)
        .args(args)
        .output()
        .expect("run email_processing");
    eprintln!(
        "--- {args:?} ---\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

struct Worker {
    id: String,
    child: Child,
    killed: bool,
}

fn spawn_worker(server: &str, id: &str) -> Worker {
    let child = command(server)
        .args(["worker", "--id", id, "--min-work-ms", "100"])
        .args(["--max-work-ms", "300"])
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn worker");
    Worker {
        id: id.to_string(),
        child,
        killed: false,
    }
}

/// `(worker id, claimed message)` for every claim held now.
async fn claims_by_worker(zk: &Client) -> Vec<(String, String)> {
    let dir = format!("{ROOT}/claims");
    let mut held = Vec::new();
    for msg in zk.get_children(&dir).await.expect("list claims") {
        if let Ok((data, _)) = zk.get_data(&format!("{dir}/{msg}")).await {
            held.push((String::from_utf8_lossy(&data).into_owned(), msg));
        }
    }
    held
}

fn field(text: &str, key: &str) -> Option<String> {
    text.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key))
        .map(str::to_string)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_processed_exactly_once_despite_sigkill() {
    let server = TestServer::start(
        Target::Ferrokeeper,
        &ServerConfig::default().with_binary(fk_bin()),
    )
    .expect("start ferrokeeper");
    let addr = server.connect_string();
    let zk = Client::connect(&addr).await.expect("connect");

    let seeded = run_mode(&addr, &["seed", "--messages", &MESSAGES.to_string()]);
    assert!(seeded.status.success(), "seed failed");
    let inbox = zk.get_children(&format!("{ROOT}/inbox")).await.unwrap();
    assert_eq!(inbox.len(), MESSAGES as usize, "seed must fill the inbox");

    let started = Instant::now();
    let mut workers: Vec<Worker> = (1..=WORKERS)
        .map(|n| spawn_worker(&addr, &format!("w{n}")))
        .collect();
    let mut next_id = WORKERS + 1;

    // Kill two workers at random moments (a third or fourth only if neither died holding a
    // claim, so the take-over path is always exercised). A claim still naming the victim after
    // it is dead was abandoned mid-work: only its session's expiry can free it.
    let mut kills = 0;
    let mut victims = BTreeSet::new();
    let mut abandoned: Vec<(String, String)> = Vec::new();
    while kills < 2 || (abandoned.is_empty() && kills < 4) {
        let pause = rand::rng().random_range(200..700);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        let live: Vec<usize> = (0..workers.len()).filter(|&i| !workers[i].killed).collect();
        let victim = live[rand::rng().random_range(0..live.len())];
        let w = &mut workers[victim];
        assert!(
            w.child.try_wait().unwrap().is_none(),
            "worker {} finished before it could be killed: the inbox is too small",
            w.id
        );
        w.child.kill().expect("SIGKILL worker");
        w.child.wait().expect("reap killed worker");
        w.killed = true;
        kills += 1;
        victims.insert(w.id.clone());
        for (owner, msg) in claims_by_worker(&zk).await {
            if owner == w.id {
                abandoned.push((owner, msg));
            }
        }
        let id = format!("w{next_id}");
        next_id += 1;
        workers.push(spawn_worker(&addr, &id));
    }
    assert!(
        !abandoned.is_empty(),
        "no victim died holding a claim after {kills} kills"
    );

    // Wait for every survivor to drain the inbox and exit.
    loop {
        let running = workers
            .iter_mut()
            .filter(|w| !w.killed)
            .map(|w| w.child.try_wait().unwrap().is_none())
            .filter(|&alive| alive)
            .count();
        if running == 0 {
            break;
        }
        assert!(
            started.elapsed() < COMPLETION_LIMIT,
            "{running} workers still running after {COMPLETION_LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Every worker's own account of its commits, killed ones included (what they printed
    // before dying).
    let mut commits: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for w in workers {
        let (id, killed) = (w.id.clone(), w.killed);
        let out = w.child.wait_with_output().expect("collect worker output");
        if !killed {
            assert!(out.status.success(), "worker {id} failed: {}", out.status);
        }
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if let Some(rest) = line.strip_prefix("committed ") {
                let msg = rest.split_whitespace().next().unwrap().to_string();
                commits.entry(msg).or_default().push(id.clone());
            }
        }
    }

    let check = run_mode(&addr, &["check", "--messages", &MESSAGES.to_string()]);
    assert!(check.status.success(), "check reported violations");
    assert!(String::from_utf8_lossy(&check.stdout).contains("check: OK"));

    // Independent verification with the client.
    let left = zk.get_children(&format!("{ROOT}/inbox")).await.unwrap();
    assert!(left.is_empty(), "messages left in the inbox: {left:?}");
    let done: BTreeSet<String> = zk
        .get_children(&format!("{ROOT}/done"))
        .await
        .unwrap()
        .into_iter()
        .collect();
    let expected: BTreeSet<String> = (0..MESSAGES).map(|i| format!("msg-{i:04}")).collect();
    assert_eq!(
        done, expected,
        "results must be exactly the seeded messages"
    );
    let mut owner_of = BTreeMap::new();
    for msg in &expected {
        let (data, stat) = zk.get_data(&format!("{ROOT}/done/{msg}")).await.unwrap();
        assert_eq!(stat.version, 0, "{msg}: result written more than once");
        let text = String::from_utf8_lossy(&data).into_owned();
        let verdict = field(&text, "verdict=").unwrap_or_default();
        assert!(verdict == "spam" || verdict == "ham", "{msg}: {text}");
        let worker = field(&text, "worker=").expect("worker id in result");
        let claimed = commits.get(msg).cloned().unwrap_or_default();
        // A worker SIGKILLed between its commit and its report leaves no line: only then may
        // the result's worker be silent about it.
        let killed_before_reporting = claimed.is_empty() && victims.contains(&worker);
        if !killed_before_reporting {
            assert_eq!(
                claimed,
                vec![worker.clone()],
                "{msg}: exactly one worker must report committing it, the one in the result \
                 (killed: {victims:?})"
            );
        }
        owner_of.insert(msg.clone(), worker);
    }
    assert!(
        commits.keys().all(|m| expected.contains(m)),
        "commits reported for unknown messages: {commits:?}"
    );
    for (victim, msg) in &abandoned {
        if let Some(winner) = owner_of.get(msg) {
            assert_ne!(
                winner, victim,
                "{msg} was claimed by {victim} when it died, so someone else must finish it"
            );
        }
    }

    // The dead workers' ephemeral claims vanish once their sessions expire.
    let deadline = Instant::now() + Duration::from_millis(SESSION_TIMEOUT_MS * 5);
    loop {
        let held = claims_by_worker(&zk).await;
        if held.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "claims never expired: {held:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "processed {MESSAGES} messages in {:?} with {kills} kills ({victims:?}), {} abandoned \
         claim(s) taken over",
        started.elapsed(),
        abandoned.len()
    );
    zk.close().await.unwrap();
}
