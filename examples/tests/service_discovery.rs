//! The service-discovery case study: instance processes join, one crashes (SIGKILL, its
//! session expires), one stops cleanly, one more joins, and a watcher process's live list
//! follows every change and never lists a departed instance again.

mod common;

use common::{start, Proc};
use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};
use testkit::Target;

const EXE: &str = env!("CARGO_BIN_EXE_service_discovery");
const SESSION: Duration = Duration::from_millis(2000);
const GROUP: &str = "/services/api";
/// Bound on any single step: a stuck list is a failure, not a hang.
const STEP: Duration = Duration::from_secs(20);

fn command(server: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(EXE);
    cmd.args(["--server", server, "--service", "api"])
        .arg("--session-timeout-ms")
        .arg(SESSION.as_millis().to_string())
        .args(args);
    cmd
}

fn addr_of(id: &str) -> String {
    format!("10.0.0.{}:8080", id.trim_start_matches('i'))
}

/// The watcher's line for exactly these members.
fn members_line(ids: &[&str]) -> String {
    let mut line = format!("members n={}", ids.len());
    for id in ids {
        line.push_str(&format!(" {id}={}", addr_of(id)));
    }
    line
}

fn join(server: &str, id: &str) -> Proc {
    let addr = addr_of(id);
    let mut p = Proc::spawn(
        id,
        command(server, &["instance", "--id", id, "--addr", &addr]),
    );
    p.wait_line("registration", STEP, |l| l.starts_with("registered "));
    p
}

fn members_listed_by(line: &str) -> BTreeSet<String> {
    line.split_whitespace()
        .skip(2)
        .filter_map(|w| w.split_once('=').map(|(id, _)| id.to_string()))
        .collect()
}

fn the_list_follows_joins_crashes_and_leaves(target: Target) {
    let server = start(target);
    let addr = server.connect_string();
    let mut watcher = Proc::spawn("watcher", command(&addr, &["watch"]));
    watcher.wait_line("empty list", STEP, |l| l == "members n=0");

    let mut instances: Vec<Proc> = ["i1", "i2", "i3"]
        .iter()
        .map(|id| join(&addr, id))
        .collect();
    let want = members_line(&["i1", "i2", "i3"]);
    watcher.wait_line("all three", STEP, |l| l == want);

    // A crash: only the expiry of its session takes i1 off the list.
    instances[0].crash();
    let crashed = Instant::now();
    let want = members_line(&["i2", "i3"]);
    let seen_at = watcher.lines.len();
    watcher.wait_line("i1 expired", STEP, |l| l == want);
    let took = crashed.elapsed();
    assert!(
        took >= SESSION / 2,
        "i1 left the list {took:?} after a crash, sooner than any session expiry could remove it"
    );
    for l in &watcher.lines[seen_at..] {
        assert!(
            members_listed_by(l).contains("i2"),
            "a live instance vanished: {l}"
        );
    }

    // A clean stop: i2 leaves at once, well before its session could have expired.
    instances[1].signal(libc::SIGTERM);
    let stopped = Instant::now();
    instances[1].wait_line("leave", STEP, |l| l == "left id=i2");
    assert!(instances[1].wait_exit(STEP).success());
    let want = members_line(&["i3"]);
    watcher.wait_line("i2 left", STEP, |l| l == want);
    let took = stopped.elapsed();
    assert!(
        took < SESSION,
        "a clean leave took {took:?}, as long as an expiry"
    );

    let _i4 = join(&addr, "i4");
    let want = members_line(&["i3", "i4"]);
    watcher.wait_line("i4 joined", STEP, |l| l == want);

    // The server agrees with the watcher.
    let zk = client::blocking::Client::connect(&addr).expect("connect");
    let mut children = zk.get_children(GROUP).expect("list the group");
    children.sort();
    assert_eq!(children, ["i3", "i4"]);
    drop(zk);

    // Once gone, an instance never comes back in the list.
    let expired_at = watcher
        .lines
        .iter()
        .position(|l| *l == members_line(&["i2", "i3"]))
        .expect("i1's departure was listed");
    for l in &watcher.lines[expired_at..] {
        assert!(!members_listed_by(l).contains("i1"), "i1 listed again: {l}");
    }
    let left_at = watcher
        .lines
        .iter()
        .position(|l| *l == members_line(&["i3"]))
        .expect("i2's departure was listed");
    for l in &watcher.lines[left_at..] {
        assert!(!members_listed_by(l).contains("i2"), "i2 listed again: {l}");
    }

    watcher.signal(libc::SIGTERM);
    assert!(watcher.wait_exit(STEP).success(), "watcher failed");
}

#[test]
fn the_list_follows_joins_crashes_and_leaves_ferrokeeper() {
    the_list_follows_joins_crashes_and_leaves(Target::Ferrokeeper);
}

#[test]
fn the_list_follows_joins_crashes_and_leaves_zookeeper() {
    the_list_follows_joins_crashes_and_leaves(Target::ZooKeeper);
}
