//! Deterministic simulation of a 3-member Raft ensemble (turmoil): the real consensus crate (log
//! store, snapshots, replication, forwarding, status) on a simulated network and in-memory disks
//! that lose or tear unsynced writes on a crash, under random partitions, message delays,
//! crashes and restarts of one or two members. Clients write, compare-and-set and read (through
//! the log) a few registers. After healing: the history must be linearizable, every acknowledged
//! write must be accounted for, and all members must hold identical state.
//!
//! `FK_SIM_SEEDS=N` runs N seeds (default 6; `FK_SIM_BASE` is the first); `FK_SIM_SEED=S` replays seed S alone. A seed fixes
//! the fault schedule, the network's latencies and losses, the clients' choices, and openraft's
//! election timeouts and timer jitter (seeded per member and boot through `Environment::rng_seed`).

mod machine;
mod member;

use machine::{Kind, OpId, Reply, SimOp};
use member::{read_frame, write_frame, Slot, CLIENT_PORT, MEMBERS};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use storage::fs::{Crash, MemFs, SharedFs};
use testkit::differential::SeededRng;
use testkit::linearizability::{
    unaccounted_writes, Checker, Expect, History, Op, Operation, Outcome, Register,
};

const CLIENTS: u64 = 3;
const KEYS: usize = 3;
/// Faults are injected during this much simulated time, then everything heals.
const FAULT_TIME: Duration = Duration::from_secs(12);
/// Clients stop this long after the faults stop.
const CALM_TIME: Duration = Duration::from_secs(4);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// Small, so members take, send and install snapshots during the run.
const SNAP_COUNT: u64 = 100;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// The history, stamped with one logical clock: the simulation runs every host on one thread, so
/// the order in which events execute is a real-time order consistent with every causal one.
#[derive(Default)]
struct Log {
    clock: u64,
    history: History,
    acked: usize,
}

impl Log {
    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }
}

fn op_of(kind: Kind) -> Op {
    match kind {
        Kind::Write(v) => Op::Write(v),
        Kind::Cas { expect, value } => Op::Cas {
            expect: Expect::Version(expect),
            value,
        },
        Kind::Read => Op::Read,
    }
}

/// One request and its answer within [`REQUEST_TIMEOUT`]; `None` if none came.
async fn request(stream: &mut turmoil::net::TcpStream, op: &SimOp) -> Option<Reply> {
    let exchange = async {
        write_frame(stream, op).await?;
        read_frame::<Reply>(stream).await
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .ok()
        .and_then(Result::ok)
}

async fn connect(member: u64) -> Option<turmoil::net::TcpStream> {
    let addr = format!("m{member}:{CLIENT_PORT}");
    let connect = turmoil::net::TcpStream::connect(addr);
    tokio::time::timeout(Duration::from_secs(1), connect)
        .await
        .ok()
        .and_then(Result::ok)
}

/// A client: random operations on random keys through random members until `until`.
async fn client(id: u64, seed: u64, until: Duration, log: Rc<RefCell<Log>>) -> turmoil::Result {
    let mut rng = SeededRng::new(seed ^ id.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut conn = None;
    let mut incarnation = 0;
    let mut seq = 0;
    let mut seen = [0u64; KEYS];
    while turmoil::elapsed() < until {
        let Some(stream) = conn.as_mut() else {
            conn = connect(1 + rng.below(MEMBERS as usize) as u64).await;
            if conn.is_none() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            continue;
        };
        seq += 1;
        let key = rng.below(KEYS);
        let value = (id << 40) | seq;
        let kind = match rng.below(3) {
            0 => Kind::Write(value),
            1 => Kind::Cas {
                expect: seen[key] + u64::from(rng.chance(20)),
                value,
            },
            _ => Kind::Read,
        };
        let op = SimOp {
            id: (id, seq) as OpId,
            key: key as u8,
            kind,
        };
        let invoked = log.borrow_mut().tick();
        let reply = request(stream, &op).await;
        let outcome = match reply {
            Some(Reply::NoQuorum) => {
                // Never proposed: no effect, nothing to record. Try another member.
                conn = None;
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            Some(Reply::Written { version }) => {
                seen[key] = version;
                log.borrow_mut().acked += 1;
                Outcome::Written {
                    version: Some(version),
                }
            }
            Some(Reply::Refused) => Outcome::Refused,
            Some(Reply::Read { value, version }) => {
                seen[key] = version;
                Outcome::Read {
                    value,
                    version: Some(version),
                }
            }
            None => {
                conn = None;
                Outcome::Unknown
            }
        };
        let mut log = log.borrow_mut();
        let completed = log.tick();
        log.history.push(Operation {
            process: id * 1_000_000 + incarnation,
            key: format!("k{key}"),
            op: op_of(kind),
            invoked,
            completed: Some(completed),
            outcome,
        });
        if outcome == Outcome::Unknown {
            // The request may still land; later requests belong to a new process.
            incarnation += 1;
        }
    }
    Ok(())
}

/// After healing: every key read through every member, recorded in the history.
async fn final_reads(
    log: Rc<RefCell<Log>>,
    finals: Rc<RefCell<Vec<Vec<Register>>>>,
) -> turmoil::Result {
    for member in 1..=MEMBERS {
        let mut registers = Vec::new();
        for key in 0..KEYS {
            let mut attempt = 0u64;
            let mut last = "nothing".to_string();
            loop {
                attempt += 1;
                if attempt > 30 {
                    return Err(format!(
                        "member m{member} never answered a read of k{key}; last: {last}"
                    )
                    .into());
                }
                let Some(mut stream) = connect(member).await else {
                    last = "cannot connect".into();
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                let op = SimOp {
                    id: (1000 + member, attempt * 100 + key as u64),
                    key: key as u8,
                    kind: Kind::Read,
                };
                let invoked = log.borrow_mut().tick();
                let reply = request(&mut stream, &op).await;
                last = format!("{reply:?}");
                if let Some(Reply::Read { value, version }) = reply {
                    let mut log = log.borrow_mut();
                    let completed = log.tick();
                    log.history.push(Operation {
                        process: 1_000_000_000 + member,
                        key: format!("k{key}"),
                        op: Op::Read,
                        invoked,
                        completed: Some(completed),
                        outcome: Outcome::Read {
                            value,
                            version: Some(version),
                        },
                    });
                    registers.push(Register { value, version });
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        finals.borrow_mut().push(registers);
    }
    Ok(())
}

/// What the nemesis did, for the failure report.
struct Faults {
    rng: SeededRng,
    crashed: Vec<u64>,
    partitioned: bool,
    slow: bool,
    count: usize,
    log: Vec<String>,
}

impl Faults {
    fn note(&mut self, at: Duration, what: String) {
        self.log
            .push(format!("[{:>6.3}s] {what}", at.as_secs_f64()));
    }

    fn inject(&mut self, sim: &mut turmoil::Sim, disks: &[MemFs], at: Duration) {
        self.count += 1;
        let m = 1 + self.rng.below(MEMBERS as usize) as u64;
        let other = 1 + (m + self.rng.below(2) as u64) % MEMBERS;
        match self.rng.below(5) {
            0 => {
                for n in (1..=MEMBERS).filter(|&n| n != m) {
                    sim.partition(format!("m{m}"), format!("m{n}"));
                }
                self.partitioned = true;
                self.note(at, format!("partition m{m} from the other members"));
            }
            1 | 2 => {
                self.crash(sim, disks, m);
                self.note(at, format!("crash m{m} (unsynced writes lost or torn)"));
            }
            3 => {
                self.crash(sim, disks, m);
                self.crash(sim, disks, other);
                self.note(at, format!("crash m{m} and m{other} (quorum lost)"));
            }
            _ => {
                sim.set_max_message_latency(Duration::from_millis(300));
                self.slow = true;
                self.note(at, "message delays up to 300 ms".into());
            }
        }
    }

    fn crash(&mut self, sim: &mut turmoil::Sim, disks: &[MemFs], m: u64) {
        sim.crash(format!("m{m}"));
        let seed = self.rng.next_u64();
        let mode = if self.rng.chance(50) {
            Crash::LoseUnsynced
        } else {
            Crash::Torn { seed }
        };
        disks[(m - 1) as usize].crash(mode);
        self.crashed.push(m);
    }

    fn heal(&mut self, sim: &mut turmoil::Sim, at: Duration) {
        if self.partitioned {
            for a in 1..=MEMBERS {
                for b in (a + 1)..=MEMBERS {
                    sim.repair(format!("m{a}"), format!("m{b}"));
                }
            }
            self.partitioned = false;
        }
        if self.slow {
            sim.set_max_message_latency(Duration::from_millis(20));
            self.slow = false;
        }
        for m in std::mem::take(&mut self.crashed) {
            sim.bounce(format!("m{m}"));
        }
        self.note(at, "healed".into());
    }

    fn active(&self) -> bool {
        self.partitioned || self.slow || !self.crashed.is_empty()
    }
}

/// Runs one seed; the error explains what broke.
fn run_seed(seed: u64) -> Result<String, String> {
    let mut sim = turmoil::Builder::new()
        .simulation_duration(Duration::from_secs(120))
        .tick_duration(Duration::from_millis(1))
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(Duration::from_millis(20))
        .rng_seed(seed)
        .build();
    let disks: Vec<MemFs> = (0..MEMBERS).map(|_| MemFs::new()).collect();
    let slots: Vec<Slot> = (0..MEMBERS).map(|_| Slot::default()).collect();
    for m in 1..=MEMBERS {
        let fs = disks[(m - 1) as usize].clone();
        let slot = Arc::clone(&slots[(m - 1) as usize]);
        let boots = std::cell::Cell::new(0u64);
        sim.host(format!("m{m}"), move || {
            boots.set(boots.get() + 1);
            member::run(
                m,
                Arc::new(fs.clone()) as SharedFs,
                Arc::clone(&slot),
                SNAP_COUNT,
                seed ^ (m << 48) ^ (boots.get() << 32),
            )
        });
    }
    let log = Rc::new(RefCell::new(Log::default()));
    let until = FAULT_TIME + CALM_TIME;
    for c in 1..=CLIENTS {
        sim.client(format!("c{c}"), client(c, seed, until, Rc::clone(&log)));
    }

    let mut faults = Faults {
        rng: SeededRng::new(seed.wrapping_add(1)),
        crashed: Vec::new(),
        partitioned: false,
        slow: false,
        count: 0,
        log: Vec::new(),
    };
    let mut next = Duration::from_millis(1000);
    let report = |faults: &Faults, why: String| {
        format!(
            "seed {seed} (replay with FK_SIM_SEED={seed}): {why}\nfaults:\n{}",
            faults.log.join("\n")
        )
    };
    loop {
        let now = sim.elapsed();
        if now >= next {
            if faults.active() {
                faults.heal(&mut sim, now);
                next = now + Duration::from_millis(300 + faults.rng.below(1200) as u64);
            } else if now < FAULT_TIME {
                faults.inject(&mut sim, &disks, now);
                next = now + Duration::from_millis(200 + faults.rng.below(1800) as u64);
            }
        }
        match sim.step() {
            Ok(true) => break,
            Ok(false) => {}
            Err(e) => return Err(report(&faults, format!("the simulation failed: {e}"))),
        }
    }
    if faults.active() {
        let now = sim.elapsed();
        faults.heal(&mut sim, now);
    }

    let finals = Rc::new(RefCell::new(Vec::new()));
    sim.client("final", final_reads(Rc::clone(&log), Rc::clone(&finals)));
    sim.run()
        .map_err(|e| report(&faults, format!("final reads failed: {e}")))?;
    // Let every member apply the last entries.
    for _ in 0..2000 {
        sim.step()
            .map_err(|e| report(&faults, format!("the simulation failed: {e}")))?;
    }

    let log = log.borrow();
    let finals = finals.borrow();
    let mut failures = Vec::new();
    for (m, registers) in finals.iter().enumerate().skip(1) {
        if *registers != finals[0] {
            failures.push(format!(
                "member m{} read {registers:?} but m1 read {:?}",
                m + 1,
                finals[0]
            ));
        }
    }
    let states: Vec<_> = slots
        .iter()
        .map(|slot| {
            slot.lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
                .map(|machine| machine.snapshot())
        })
        .collect();
    for (m, state) in states.iter().enumerate().skip(1) {
        if state.as_ref().map(|s| &s.0) != states[0].as_ref().map(|s| &s.0) {
            failures.push(format!(
                "replicas differ: m{} holds {state:?}, m1 holds {:?}",
                m + 1,
                states[0]
            ));
        }
    }
    let keyed: Vec<(String, Register)> = finals[0]
        .iter()
        .enumerate()
        .map(|(k, r)| (format!("k{k}"), *r))
        .collect();
    failures.extend(unaccounted_writes(&log.history, &keyed));
    if let Err(e) = Checker::new().check(&log.history) {
        failures.push(e.to_string());
    }
    if log.acked < 100 || faults.count < 4 {
        failures.push(format!(
            "too little happened: {} acknowledged writes, {} faults",
            log.acked, faults.count
        ));
    }
    if !failures.is_empty() {
        return Err(report(&faults, failures.join("\n")));
    }
    Ok(format!(
        "seed {seed}: {} operations, {} acknowledged writes, {} faults, {:.1} s simulated",
        log.history.len(),
        log.acked,
        faults.count,
        sim.elapsed().as_secs_f64()
    ))
}

#[test]
fn a_simulated_ensemble_stays_linearizable_and_durable_under_partitions_crashes_and_delays() {
    let seeds: Vec<u64> = match env_u64("FK_SIM_SEED") {
        Some(seed) => vec![seed],
        None => {
            let n = env_u64("FK_SIM_SEEDS").unwrap_or(6);
            let base = env_u64("FK_SIM_BASE").unwrap_or(0);
            (base..base + n).collect()
        }
    };
    let mut failures = Vec::new();
    for seed in seeds {
        let started = std::time::Instant::now();
        match run_seed(seed) {
            Ok(summary) => println!("{summary} in {:.1} s", started.elapsed().as_secs_f64()),
            Err(report) => failures.push(report),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
