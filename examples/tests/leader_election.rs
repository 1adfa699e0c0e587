//! The leader-election case study under fire: the first leader is SIGKILLed; the second is
//! paused (SIGSTOP) past its session's expiry and resumed after a third took over; the third's
//! latch node is deleted under it, so a fourth leads while the third still believes it leads
//! (its work is then refused by the fence); the fourth stops cleanly and the third leads again.
//! A new leader takes over each time, and the log and the fenced work records show that no two
//! terms ever overlapped.

mod common;

use common::{start, temp_log, Proc};
use ferrokeeper_examples::terms::Event;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use testkit::Target;

const EXE: &str = env!("CARGO_BIN_EXE_leader_election");
const SESSION: Duration = Duration::from_millis(2000);
const STEP: Duration = Duration::from_secs(20);

fn command(server: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(EXE);
    cmd.args(["--server", server, "--path", "/election/jobs"])
        .arg("--session-timeout-ms")
        .arg(SESSION.as_millis().to_string())
        .args(args);
    cmd
}

fn events(log: &Path) -> Vec<Event> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(Event::parse)
        .collect()
}

/// Waits for a leader in a term after `after`; returns `(term, id)`.
fn next_leader(log: &Path, after: i64) -> (i64, String) {
    let deadline = Instant::now() + STEP;
    loop {
        let found = events(log)
            .into_iter()
            .filter_map(|e| match e {
                Event::Lead { term, id, .. } if term > after => Some((term, id)),
                _ => None,
            })
            .min();
        if let Some(found) = found {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "no leader after term {after} within {STEP:?}:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until term `term` has committed at least `n` pieces of work.
fn wait_work(log: &Path, term: i64, n: usize) {
    let deadline = Instant::now() + STEP;
    loop {
        let done = events(log)
            .iter()
            .filter(|e| matches!(e, Event::Work { term: t, .. } if *t == term))
            .count();
        if done >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "term {term} did only {done} work(s)"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn index(candidates: &[Proc], id: &str) -> usize {
    candidates
        .iter()
        .position(|p| p.name == id)
        .unwrap_or_else(|| panic!("{id} is not a candidate"))
}

fn failover_never_makes_two_leaders(target: Target) {
    let server = start(target);
    let addr = server.connect_string();
    let (_dir, log) = temp_log("election.log");
    let log_arg = log.to_str().expect("utf-8 temp path");
    let mut candidates: Vec<Proc> = ["c1", "c2", "c3", "c4"]
        .iter()
        .map(|id| {
            let mut p = Proc::spawn(
                id,
                command(
                    &addr,
                    &["candidate", "--id", id, "--log", log_arg, "--work-ms", "50"],
                ),
            );
            p.wait_line("joining", STEP, |l| l.starts_with("candidate "));
            p
        })
        .collect();

    // 1. The first leader crashes; the next takes over once its session expires.
    let (term1, first) = next_leader(&log, 0);
    wait_work(&log, term1, 3);
    let i = index(&candidates, &first);
    candidates[i].crash();
    let crashed = Instant::now();
    let (term2, second) = next_leader(&log, term1);
    assert_ne!(second, first);
    let took = crashed.elapsed();
    assert!(
        took >= SESSION / 2,
        "took over {took:?} after a crash, before the old leader's session could expire"
    );

    // 2. The second leader is paused past its session's expiry: a third takes over, and the
    //    paused one, once resumed, must not act as the leader.
    wait_work(&log, term2, 3);
    let i = index(&candidates, &second);
    candidates[i].signal(libc::SIGSTOP);
    let (term3, third) = next_leader(&log, term2);
    assert!(third != first && third != second);
    wait_work(&log, term3, 3);
    candidates[i].signal(libc::SIGCONT);
    // It learns that its session expired and leaves the election.
    let status = candidates[i].wait_exit(STEP);
    assert!(
        !status.success(),
        "{second} should end with its expired session"
    );
    wait_work(&log, term3, 6);

    // 3. The third leader's latch node is deleted under it: the fourth leads at once, while
    //    the third still believes it leads until the fence refuses its next work.
    let zk = client::blocking::Client::connect(&addr).expect("connect");
    let latch = "/election/jobs/latch";
    let mut deleted = false;
    for name in zk.get_children(latch).expect("list the line") {
        let node = format!("{latch}/{name}");
        let (data, _) = zk.get_data(&node).expect("read a latch node");
        if data == third.as_bytes() {
            zk.delete(&node, None).expect("delete the leader's node");
            deleted = true;
        }
    }
    assert!(deleted, "{third}'s latch node not found");
    let deleted_at = Instant::now();
    let (term4, fourth) = next_leader(&log, term3);
    assert!(![&first, &second, &third].contains(&&fourth));
    assert!(
        deleted_at.elapsed() < SESSION,
        "the next leader should not wait for any expiry"
    );
    let deadline = Instant::now() + STEP;
    while !events(&log)
        .iter()
        .any(|e| matches!(e, Event::Fenced { term, .. } if *term == term3))
    {
        assert!(Instant::now() < deadline, "{third} was never fenced");
        std::thread::sleep(Duration::from_millis(20));
    }
    wait_work(&log, term4, 3);

    // 4. The fourth stops cleanly: the third, back in line, leads again in a new term.
    let i = index(&candidates, &fourth);
    candidates[i].signal(libc::SIGTERM);
    assert!(candidates[i].wait_exit(STEP).success(), "{fourth} failed");
    let (term5, again) = next_leader(&log, term4);
    assert_eq!(again, third);
    wait_work(&log, term5, 3);

    // 5. A clean stop of the last candidate.
    let i = index(&candidates, &third);
    candidates[i].signal(libc::SIGTERM);
    assert!(candidates[i].wait_exit(STEP).success(), "{third} failed");
    drop(zk);

    let check = command(&addr, &["check", "--log", log_arg])
        .output()
        .expect("run check");
    let report = String::from_utf8_lossy(&check.stdout);
    eprintln!("{report}{}", String::from_utf8_lossy(&check.stderr));
    assert!(check.status.success(), "check found violations");
    assert!(
        report.contains("check: OK terms=5 "),
        "five terms expected: {report}"
    );
    assert!(
        !report.contains(" fenced=0"),
        "{third}'s stale work should have been fenced: {report}"
    );

    // The paused leader's work after its term, if it tried any, was refused by the fence.
    for e in events(&log) {
        if let Event::Work { term, at, .. } = e {
            if term == term2 {
                let term3_start = events(&log)
                    .iter()
                    .find_map(|e| match e {
                        Event::Lead { term, at, .. } if *term == term3 => Some(*at),
                        _ => None,
                    })
                    .unwrap();
                assert!(
                    at < term3_start,
                    "term {term2} worked at {at} after term {term3} began"
                );
            }
        }
    }
}

#[test]
fn failover_never_makes_two_leaders_ferrokeeper() {
    failover_never_makes_two_leaders(Target::Ferrokeeper);
}

#[test]
fn failover_never_makes_two_leaders_zookeeper() {
    failover_never_makes_two_leaders(Target::ZooKeeper);
}
