//! Nemesis: a real 3-member Ferrokeeper ensemble (one process per member) under a client load of
//! writes, compare-and-sets and linearizable reads (`sync` then `getData`) on a few registers,
//! while a nemesis `kill -9`s and restarts members: the leader, a follower, or two at once so the
//! quorum is lost for a moment. Every operation is recorded; after healing, the history must be
//! linearizable, every acknowledged write must be accounted for in the final state, and every
//! member must hold the same final values.
//!
//! `FK_NEMESIS_SEED` replays a seed's choices of faults and operations (timing still varies);
//! `FK_NEMESIS_SECS` sets how long the faults go on (default 15).

mod common;

use client::{Client, Error};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use testkit::differential::SeededRng;
use testkit::linearizability::{
    unaccounted_writes, CheckError, Checker, Expect, History, Op, Outcome, Recorder, Register,
};
use testkit::{Target, TestEnsemble};

const CLIENTS: usize = 5;
const KEYS: usize = 4;
const DEFAULT_SECS: u64 = 15;
/// A request unanswered this long is abandoned (outcome unknown) and the client moves on.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
const SESSION_TIMEOUT: Duration = Duration::from_secs(6);
/// Process ids of the final reads, one per member.
const FINAL_READER: u64 = 900_000_000;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

async fn connect(connect_string: &str) -> Result<Client, Error> {
    Client::builder()
        .session_timeout(SESSION_TIMEOUT)
        .connect_timeout(Duration::from_secs(3))
        .request_timeout(REQUEST_TIMEOUT)
        .connect(connect_string)
        .await
}

/// Tallies printed at the end, so a run that did nothing interesting is visible (and fails).
#[derive(Default)]
struct Tally {
    acked_writes: AtomicUsize,
    refused: AtomicUsize,
    reads: AtomicUsize,
    unknown: AtomicUsize,
    reconnects: AtomicUsize,
    /// Which member each session talked to, and from when: evidence for a failure.
    moves: Mutex<Vec<String>>,
}

impl Tally {
    /// Notes the member `client` talks to if it changed since `last`.
    fn track(
        &self,
        recorder: &Recorder,
        id: u64,
        client: &Client,
        members: &[String],
        last: &mut Option<String>,
    ) {
        let info = client.session();
        if info.server == *last {
            return;
        }
        last.clone_from(&info.server);
        let server = info.server.unwrap_or_default();
        let member = members
            .iter()
            .position(|m| *m == server)
            .map_or_else(|| "?".to_string(), |i| (i + 1).to_string());
        let ns = recorder.now();
        self.moves
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(format!(
                "[{}.{:03}s] client {id} session {:#x} on member {member} ({server})",
                ns / 1_000_000_000,
                ns / 1_000_000 % 1000,
                info.id
            ));
    }
}

/// One client: random operations on random keys until told to stop. A write's value is unique
/// (client id in the high bits), so a read names the write it saw.
#[allow(clippy::too_many_arguments)]
async fn client_task(
    id: u64,
    seed: u64,
    connect_string: String,
    members: Arc<Vec<String>>,
    keys: Arc<Vec<String>>,
    recorder: Recorder,
    stop: Arc<AtomicBool>,
    tally: Arc<Tally>,
) {
    let mut rng = SeededRng::new(seed ^ (id + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut zk: Option<Client> = None;
    // A new process id after every unknown outcome: the old request may still land.
    let mut incarnation = 0u64;
    let mut seen_version = [0u64; KEYS];
    let mut n = 0u64;
    let mut server = None;
    while !stop.load(Ordering::Relaxed) {
        let Some(client) = zk.as_ref() else {
            match connect(&connect_string).await {
                Ok(c) => zk = Some(c),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
            continue;
        };
        let process = id * 1_000_000 + incarnation;
        let k = rng.below(KEYS);
        let path = keys[k].as_str();
        n += 1;
        let value = ((id + 1) << 40) | n;
        let data = value.to_string();
        let error = match rng.below(3) {
            0 => {
                let pending = recorder.invoke(process, path, Op::Write(value));
                match client.set_data(path, data.as_bytes(), None).await {
                    Ok(stat) => {
                        tally.acked_writes.fetch_add(1, Ordering::Relaxed);
                        pending.complete(Outcome::Written {
                            version: Some(stat.version as u64),
                        });
                        None
                    }
                    Err(e) => {
                        pending.complete(Outcome::Unknown);
                        Some(e)
                    }
                }
            }
            1 => {
                // Usually the version this client last saw, which other clients may have moved.
                let expected = seen_version[k] + u64::from(rng.chance(20));
                let op = Op::Cas {
                    expect: Expect::Version(expected),
                    value,
                };
                let pending = recorder.invoke(process, path, op);
                match client
                    .set_data(path, data.as_bytes(), Some(expected as i32))
                    .await
                {
                    Ok(stat) => {
                        tally.acked_writes.fetch_add(1, Ordering::Relaxed);
                        seen_version[k] = stat.version as u64;
                        pending.complete(Outcome::Written {
                            version: Some(stat.version as u64),
                        });
                        None
                    }
                    // A definite refusal: the version did not match when it was applied.
                    Err(Error::BadVersion) => {
                        tally.refused.fetch_add(1, Ordering::Relaxed);
                        pending.complete(Outcome::Refused);
                        None
                    }
                    Err(e) => {
                        pending.complete(Outcome::Unknown);
                        Some(e)
                    }
                }
            }
            _ => {
                // ZooKeeper reads are sequentially consistent; a sync first (a log entry in
                // Ferrokeeper) makes this one linearizable.
                let pending = recorder.invoke(process, path, Op::Read);
                let read = async {
                    client.sync(path).await?;
                    client.get_data(path).await
                };
                match read.await {
                    Ok((bytes, stat)) => {
                        tally.reads.fetch_add(1, Ordering::Relaxed);
                        seen_version[k] = stat.version as u64;
                        // Garbage data becomes a value nobody wrote, which the checker reports.
                        let value = std::str::from_utf8(&bytes)
                            .ok()
                            .and_then(|s| s.parse().ok())
                            .unwrap_or(u64::MAX);
                        pending.complete(Outcome::Read {
                            value,
                            version: Some(stat.version as u64),
                        });
                        None
                    }
                    Err(e) => {
                        pending.complete(Outcome::Unknown);
                        Some(e)
                    }
                }
            }
        };
        tally.track(&recorder, id, client, &members, &mut server);
        if let Some(e) = error {
            tally.unknown.fetch_add(1, Ordering::Relaxed);
            incarnation += 1;
            if matches!(e, Error::SessionExpired | Error::Closed | Error::AuthFailed) {
                // The session is gone; a new one is a new client.
                if let Some(old) = zk.take() {
                    let _ = old.close().await;
                }
                tally.reconnects.fetch_add(1, Ordering::Relaxed);
            }
            tokio::time::sleep(Duration::from_millis(20 + rng.below(60) as u64)).await;
        } else if rng.chance(30) {
            tokio::time::sleep(Duration::from_millis(rng.below(4) as u64)).await;
        }
    }
    if let Some(c) = zk {
        let _ = c.close().await;
    }
}

/// A line of the nemesis's log, stamped on the history's clock.
fn note(log: &mut Vec<String>, recorder: &Recorder, text: String) {
    let ns = recorder.now();
    let line = format!(
        "[{}.{:03}s] {text}",
        ns / 1_000_000_000,
        ns / 1_000_000 % 1000
    );
    println!("nemesis {line}");
    log.push(line);
}

/// Kills and restarts members until `until`. Every fault is healed before the next one starts,
/// so the ensemble ends whole.
fn run_nemesis(
    ensemble: &mut TestEnsemble,
    rng: &mut SeededRng,
    until: Instant,
    recorder: &Recorder,
    log: &mut Vec<String>,
) -> usize {
    let mut kills = 0;
    let ms = |rng: &mut SeededRng, lo: u64, hi: u64| {
        Duration::from_millis(lo + rng.below((hi - lo) as usize) as u64)
    };
    while Instant::now() < until {
        std::thread::sleep(ms(rng, 300, 1500));
        let leader = ensemble.wait_leader(Duration::from_secs(5));
        let random = rng.below(3);
        let (victims, what): (Vec<usize>, &str) = match rng.below(10) {
            0..=3 => (vec![leader.unwrap_or(random)], "the leader"),
            4..=6 => (vec![random], "a random member"),
            _ => {
                // The leader and one other: the survivor has no quorum.
                let first = leader.unwrap_or(random);
                let second = (first + 1 + rng.below(2)) % 3;
                (vec![first, second], "two members (quorum lost)")
            }
        };
        let down = ms(rng, 200, 2000);
        for &v in &victims {
            ensemble.members[v].kill();
            kills += 1;
        }
        note(
            log,
            recorder,
            format!(
                "killed {what}: member(s) {:?} (leader was {:?}); down for {down:?}",
                victims.iter().map(|v| v + 1).collect::<Vec<_>>(),
                leader.map(|l| l + 1)
            ),
        );
        std::thread::sleep(down);
        for &v in &victims {
            let started = Instant::now();
            if let Err(e) = ensemble.members[v].restart() {
                panic!(
                    "member {} did not come back after a kill: {e}\nnemesis log:\n{}",
                    v + 1,
                    log.join("\n")
                );
            }
            note(
                log,
                recorder,
                format!(
                    "member {} restarted, serving after {} ms",
                    v + 1,
                    started.elapsed().as_millis()
                ),
            );
        }
    }
    kills
}

/// Reads every key on every member (after a sync) and records the reads in the history.
fn final_state(
    rt: &tokio::runtime::Runtime,
    ensemble: &TestEnsemble,
    keys: &[String],
    recorder: &Recorder,
) -> Vec<Vec<(u64, u64)>> {
    (0..ensemble.members.len())
        .map(|m| {
            let addr = ensemble.members[m].addr().to_string();
            rt.block_on(async {
                let zk = connect(&addr).await.expect("connect for the final read");
                let mut values = Vec::new();
                for key in keys {
                    let pending = recorder.invoke(FINAL_READER + m as u64, key.as_str(), Op::Read);
                    zk.sync(key).await.expect("final sync");
                    let (bytes, stat) = zk.get_data(key).await.expect("final read");
                    let value: u64 = std::str::from_utf8(&bytes)
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(u64::MAX);
                    let version = stat.version as u64;
                    pending.complete(Outcome::Read {
                        value,
                        version: Some(version),
                    });
                    values.push((value, version));
                }
                let _ = zk.close().await;
                values
            })
        })
        .collect()
}

/// Everything a person needs to chase a failure: the seed, the nemesis log, which member each
/// session used, and the history and every member's log, saved to files (the members' own
/// directories vanish with the ensemble); the tail of each log is printed too.
fn evidence(
    seed: u64,
    ensemble: &TestEnsemble,
    log: &[String],
    tally: &Tally,
    history: &History,
) -> String {
    let dir = std::env::temp_dir();
    let save = |name: String, text: &str| {
        let path = dir.join(name);
        match std::fs::write(&path, text) {
            Ok(()) => format!("saved {}", path.display()),
            Err(e) => format!("could not save {}: {e}", path.display()),
        }
    };
    let mut text = format!(
        "seed {seed} (rerun with FK_NEMESIS_SEED={seed})\n{}\nnemesis log:\n{}\nsessions:\n{}\n",
        save(format!("fk-nemesis-{seed}-history.txt"), &history.to_text()),
        log.join("\n"),
        tally
            .moves
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .join("\n"),
    );
    for (i, m) in ensemble.members.iter().enumerate() {
        let full = m.log_tail(u64::MAX >> 1);
        text.push_str(&format!(
            "---- member {} ({}) log tail; {} ----\n{}\n",
            i + 1,
            m.addr(),
            save(format!("fk-nemesis-{seed}-member{}.log", i + 1), &full),
            m.log_tail(3000)
        ));
    }
    text
}

#[test]
fn a_nemesis_killing_members_leaves_a_linearizable_history_and_identical_replicas() {
    let seed = env_u64("FK_NEMESIS_SEED").unwrap_or_else(|| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        t ^ u64::from(std::process::id())
    });
    let secs = env_u64("FK_NEMESIS_SECS").unwrap_or(DEFAULT_SECS);
    println!("nemesis seed {seed} for {secs} s (rerun with FK_NEMESIS_SEED={seed})");
    let started = Instant::now();

    let mut ensemble =
        TestEnsemble::start(Target::Ferrokeeper, 3, &common::fk_config()).expect("ensemble");
    ensemble
        .wait_leader(Duration::from_secs(10))
        .expect("a leader");
    let all = ensemble.connect_string();
    let members: Arc<Vec<String>> = Arc::new(
        ensemble
            .members
            .iter()
            .map(|m| m.addr().to_string())
            .collect(),
    );
    let rt = testkit::suite::runtime();
    let root = testkit::unique_root("nemesis");
    let keys: Arc<Vec<String>> = Arc::new((0..KEYS).map(|k| format!("{root}/k{k}")).collect());
    rt.block_on(async {
        let zk = connect(&all).await.expect("connect");
        let persistent = client::CreateOptions::persistent();
        zk.create(&root, b"", &persistent).await.expect("root");
        for key in keys.iter() {
            zk.create(key, b"0", &persistent).await.expect("key");
        }
        let _ = zk.close().await;
    });

    let recorder = Recorder::new();
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let clients: Vec<_> = (0..CLIENTS as u64)
        .map(|id| {
            rt.spawn(client_task(
                id,
                seed,
                all.clone(),
                Arc::clone(&members),
                Arc::clone(&keys),
                recorder.clone(),
                Arc::clone(&stop),
                Arc::clone(&tally),
            ))
        })
        .collect();

    let mut log = Vec::new();
    let mut rng = SeededRng::new(seed);
    // Some load before the first fault, so there is something to lose.
    std::thread::sleep(Duration::from_millis(500));
    let kills = run_nemesis(
        &mut ensemble,
        &mut rng,
        Instant::now() + Duration::from_secs(secs),
        &recorder,
        &mut log,
    );
    note(&mut log, &recorder, "healed; load continues 1 s".into());
    std::thread::sleep(Duration::from_secs(1));
    stop.store(true, Ordering::Relaxed);
    let joined = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(20), async {
            for c in clients {
                c.await.expect("client task");
            }
        })
        .await
    });
    let history = recorder.history();
    if joined.is_err() {
        panic!(
            "clients hung after the nemesis stopped\n{}",
            evidence(seed, &ensemble, &log, &tally, &history)
        );
    }
    if ensemble.wait_leader(Duration::from_secs(10)).is_none() {
        panic!(
            "no leader after healing\n{}",
            evidence(seed, &ensemble, &log, &tally, &history)
        );
    }

    let finals = final_state(&rt, &ensemble, &keys, &recorder);
    let history = recorder.history();
    let load_ops = history.len() - finals.len() * KEYS;
    println!(
        "{} operations: {} acknowledged writes, {} refused CAS, {} reads, {} unknown outcomes, {} new sessions; {kills} kills",
        load_ops,
        tally.acked_writes.load(Ordering::Relaxed),
        tally.refused.load(Ordering::Relaxed),
        tally.reads.load(Ordering::Relaxed),
        tally.unknown.load(Ordering::Relaxed),
        tally.reconnects.load(Ordering::Relaxed),
    );

    // Every check runs, so a failure report shows all that went wrong at once.
    let mut failures = Vec::new();
    for (m, values) in finals.iter().enumerate().skip(1) {
        if values != &finals[0] {
            failures.push(format!(
                "member {} disagrees with member 1: {values:?} vs {:?} (keys {keys:?})",
                m + 1,
                finals[0]
            ));
        }
    }
    let finals_by_key: Vec<(String, Register)> = keys
        .iter()
        .zip(&finals[0])
        .map(|(key, &(value, version))| (key.clone(), Register { value, version }))
        .collect();
    let problems = unaccounted_writes(&history, &finals_by_key);
    if !problems.is_empty() {
        failures.push(format!(
            "acknowledged writes are not accounted for by the final state:\n{}",
            problems.join("\n")
        ));
    }
    let checked = Instant::now();
    match Checker::new().check(&history) {
        Ok(report) => println!(
            "linearizable: {} keys, {} operations, {} configurations explored in {} ms",
            report.keys,
            report.operations,
            report.configurations,
            checked.elapsed().as_millis()
        ),
        Err(e @ CheckError::NotLinearizable(_)) => failures.push(e.to_string()),
        Err(e) => failures.push(format!("the checker could not decide: {e}")),
    }
    assert!(
        failures.is_empty(),
        "{}\n{}",
        failures.join("\n\n"),
        evidence(seed, &ensemble, &log, &tally, &history)
    );

    // Not vacuous: faults happened and the load kept going through them.
    assert!(
        kills as u64 >= (secs / 5).max(1),
        "only {kills} kills in {secs} s"
    );
    let acked = tally.acked_writes.load(Ordering::Relaxed);
    assert!(acked >= 50, "only {acked} writes were acknowledged");
    assert!(tally.reads.load(Ordering::Relaxed) >= 50, "too few reads");
    println!("nemesis test took {} s", started.elapsed().as_secs_f32());
}
