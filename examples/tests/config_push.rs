//! The config-push case study: subscriber processes (one of them started mid-way) follow a
//! configuration node while a publisher process changes it many times; every subscriber ends
//! at the final value and none ever sees the configuration go back.

mod common;

use common::{start, Proc};
use ferrokeeper_examples::event_log::field;
use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;
use testkit::Target;

const EXE: &str = env!("CARGO_BIN_EXE_config_push");
const PATH: &str = "/config/app";
const VALUES: u32 = 40;
const STEP: Duration = Duration::from_secs(30);

fn command(server: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(EXE);
    cmd.args(["--server", server, "--path", PATH]).args(args);
    cmd
}

/// One `observed version=V mzxid=Z value=X` line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Observed {
    version: i32,
    mzxid: i64,
    value: String,
}

fn observed(lines: &[String]) -> Vec<Observed> {
    lines
        .iter()
        .filter(|l| l.starts_with("observed version="))
        .map(|l| Observed {
            version: field(l, "version").unwrap().parse().unwrap(),
            mzxid: field(l, "mzxid").unwrap().parse().unwrap(),
            value: field(l, "value").unwrap().to_string(),
        })
        .collect()
}

fn subscribers_end_at_the_final_value_and_never_go_back(target: Target) {
    let server = start(target);
    let addr = server.connect_string();
    let init = command(&addr, &["publish", "--count", "1", "--prefix", "init"])
        .output()
        .expect("run the first publish");
    assert!(init.status.success(), "first publish failed");

    let last = format!("v-{VALUES}");
    let subscriber = |id: &str| {
        let mut p = Proc::spawn(
            id,
            command(&addr, &["subscribe", "--id", id, "--until", &last]),
        );
        p.wait_line("first snapshot", STEP, |l| l.starts_with("observed "));
        p
    };
    let mut subs = vec![subscriber("s1"), subscriber("s2")];
    for s in &subs {
        assert_eq!(observed(&s.lines)[0].value, "init-1");
    }

    let count = VALUES.to_string();
    let mut publisher = Proc::spawn(
        "publisher",
        command(
            &addr,
            &[
                "publish",
                "--count",
                &count,
                "--prefix",
                "v",
                "--interval-ms",
                "5",
            ],
        ),
    );
    // A late subscriber starts from whatever value is current, then follows.
    publisher.wait_line("a third of the values", STEP, |l| {
        l.ends_with(&format!("value=v-{}", VALUES / 3))
    });
    subs.push(subscriber("s3"));
    assert!(publisher.wait_exit(STEP).success(), "publisher failed");

    // What the publisher wrote: value -> version.
    let mut published: BTreeMap<String, i32> = BTreeMap::new();
    published.insert("init-1".into(), 0);
    for l in &publisher.lines {
        let version = field(l, "version").unwrap().parse().unwrap();
        published.insert(field(l, "value").unwrap().to_string(), version);
    }
    assert_eq!(published.len(), VALUES as usize + 1);
    let final_version = published[&last];
    assert_eq!(final_version, VALUES as i32);

    for s in &mut subs {
        let status = s.wait_exit(STEP);
        assert!(status.success(), "{} failed: {status}", s.name);
        let seen = observed(&s.lines);
        assert!(!seen.is_empty(), "{} saw nothing", s.name);
        let end = seen.last().unwrap();
        assert_eq!(
            (end.value.as_str(), end.version),
            (last.as_str(), final_version),
            "{} did not end at the final value",
            s.name
        );
        for o in &seen {
            assert_eq!(
                published.get(&o.value),
                Some(&o.version),
                "{} saw {o:?}, which was never published with that version",
                s.name
            );
        }
        for w in seen.windows(2) {
            assert!(
                w[1].mzxid > w[0].mzxid && w[1].version > w[0].version,
                "{} went backwards: {:?} then {:?}",
                s.name,
                w[0],
                w[1]
            );
        }
        assert!(
            !s.lines.iter().any(|l| l.starts_with("violation")),
            "{}: {:?}",
            s.name,
            s.lines
        );
        eprintln!("{}: {} of {} values seen", s.name, seen.len(), VALUES + 1);
    }
}

#[test]
fn subscribers_end_at_the_final_value_and_never_go_back_ferrokeeper() {
    subscribers_end_at_the_final_value_and_never_go_back(Target::Ferrokeeper);
}

#[test]
fn subscribers_end_at_the_final_value_and_never_go_back_zookeeper() {
    subscribers_end_at_the_final_value_and_never_go_back(Target::ZooKeeper);
}
