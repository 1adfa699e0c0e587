//! `config` against a real Ferrokeeper ensemble (three participants and an observer): every
//! member serves its membership from /zookeeper/config as a ZooKeeper member does, to our shell
//! and to Debian's zkCli alike, in the same text `conf` ends with, and keeps it after installing
//! a snapshot streamed from the leader and after restarting from its own snapshot.

mod common;

use client::CreateOptions;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;
use testkit::{ServerConfig, Target, TestEnsemble, TestServer};

fn fk_bin() -> &'static str {
    env!("CARGO_BIN_EXE_ferrokeeper")
}

/// What a ZooKeeper member stores for these `server.N` lines, worked out here from its rules
/// rather than by the server's code: ascending ids, the role always named, no client part (the
/// test ensemble's lines have none), `version=0` for a never reconfigured ensemble.
fn expected_membership(member: &TestServer) -> String {
    let zoo_cfg = std::fs::read_to_string(member.config_path()).expect("read zoo.cfg");
    let mut servers: Vec<(u64, String)> = zoo_cfg
        .lines()
        .filter_map(|l| {
            let (key, value) = l.split_once('=')?;
            let id = key.trim().strip_prefix("server.")?.parse().ok()?;
            let value = value.trim();
            let spec = if value.ends_with(":observer") {
                value.to_owned()
            } else {
                format!("{value}:participant")
            };
            Some((id, spec))
        })
        .collect();
    servers.sort();
    let mut text: String = servers
        .iter()
        .map(|(id, spec)| format!("server.{id}={spec}\n"))
        .collect();
    text.push_str("version=0");
    text
}

/// `ferrokeeper shell -server <member> config <flags>`: its stdout.
fn shell_config(member: &TestServer, flags: &[&str]) -> String {
    let out = Command::new(fk_bin())
        .args(["shell", "-server", &member.connect_string(), "config"])
        .args(flags)
        .stdin(Stdio::null())
        .output()
        .expect("run ferrokeeper shell");
    assert!(
        out.status.success(),
        "config {flags:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Debian's zkCli.sh running `commands` against `member`, without its banner and event lines.
fn zkcli(member: &TestServer, commands: &str) -> Vec<String> {
    let mut child = Command::new("timeout")
        .args(["120", testkit::target::ZKCLI, "-server"])
        .arg(member.connect_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn zkCli.sh");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{commands}quit\n").as_bytes())
        .expect("feed zkCli");
    let out = child.wait_with_output().expect("wait for zkCli");
    assert!(out.status.success(), "zkCli.sh exited with {}", out.status);
    let noise = [
        "Connecting to ",
        "Welcome to ZooKeeper!",
        "JLine support",
        "WATCHER::",
        "WatchedEvent ",
        "SLF4J:",
    ];
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty() && !noise.iter().any(|n| l.starts_with(n)))
        .map(str::to_owned)
        .collect()
}

/// `config` on `member` prints `expected`, and its stat is the one a ZooKeeper member's
/// configuration node has: written outside the log (zxids 0), dataVersion -1.
fn assert_serves(member: &TestServer, expected: &str) {
    let who = member.connect_string();
    assert_eq!(
        shell_config(member, &[]),
        format!("{expected}\n"),
        "config on {who}"
    );
    let with_stat = shell_config(member, &["-s"]);
    for line in [
        "cZxid = 0x0".to_owned(),
        "mZxid = 0x0".to_owned(),
        "dataVersion = -1".to_owned(),
        "aclVersion = -1".to_owned(),
        format!("dataLength = {}", expected.len()),
    ] {
        assert!(
            with_stat.lines().any(|l| l == line),
            "config -s on {who} lacks `{line}`:\n{with_stat}"
        );
    }
}

#[test]
fn every_member_serves_its_membership_and_keeps_it_across_snapshots() {
    // Snapshots every 200 entries, so a member stopped for 1,500 writes must catch up from one.
    let mut config = ServerConfig::default().with_binary(fk_bin());
    config.extra.push(("snapCount".into(), "200".into()));
    let mut ensemble =
        TestEnsemble::start_with_observers(Target::Ferrokeeper, 3, 1, &config).expect("ensemble");
    let expected = expected_membership(&ensemble.members[0]);
    assert_eq!(expected.lines().count(), 5, "{expected}");
    assert!(expected.contains(":observer\nversion=0"), "{expected}");

    for member in &ensemble.members {
        assert_serves(member, &expected);
        // `conf` ends with the same text (ZooKeeper prints its quorum verifier in both).
        let conf = member.four_letter("conf").expect("conf");
        assert!(
            conf.ends_with(&format!("membership: \n{expected}")),
            "conf on {}:\n{conf}",
            member.connect_string()
        );
    }
    // zkCli itself reads it the same way; with -c, one empty client address per server line.
    let mut want: Vec<String> = expected.lines().map(str::to_owned).collect();
    want.push("0 ,,,".to_owned());
    assert_eq!(zkcli(&ensemble.members[3], "config\nconfig -c\n"), want);
    assert_eq!(shell_config(&ensemble.members[3], &["-c"]), "0 ,,,\n");

    let leader = ensemble
        .wait_leader(Duration::from_secs(10))
        .expect("a leader");
    let lagging = (leader + 1) % 3;
    ensemble.members[lagging].kill();
    let others: Vec<String> = (0..3)
        .filter(|&i| i != lagging)
        .map(|i| ensemble.members[i].addr().to_string())
        .collect();
    let rt = testkit::suite::runtime();
    rt.block_on(async {
        let zk = common::ensemble::connect(&others.join(",")).await;
        zk.create("/load", b"", &CreateOptions::persistent())
            .await
            .expect("create /load");
        for i in 0..1_500 {
            zk.create(
                &format!("/load/n{i:04}"),
                &[7u8; 100],
                &CreateOptions::persistent(),
            )
            .await
            .expect("create");
        }
        let _ = zk.close().await;
    });
    ensemble.members[lagging].restart().expect("restart");
    let addr = ensemble.members[lagging].addr().to_string();
    rt.block_on(async {
        let zk = common::ensemble::connect(&addr).await;
        zk.sync("/load").await.expect("sync");
        assert!(zk.exists("/load/n1499").await.expect("exists").is_some());
        let _ = zk.close().await;
    });
    assert!(
        ensemble.members[lagging]
            .log_tail(1 << 20)
            .contains("installed a snapshot"),
        "the member caught up without a snapshot: the log was not purged as the test intends"
    );
    assert_serves(&ensemble.members[lagging], &expected);

    // Restarted again, it starts from the snapshot it now holds.
    ensemble.members[lagging].restart().expect("second restart");
    assert_serves(&ensemble.members[lagging], &expected);
}
