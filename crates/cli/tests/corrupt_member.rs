//! An ensemble member whose log or snapshot is damaged on disk moves it aside and recovers its
//! state from its peers (`consensus::raft::recovery`): it ends with the same tree as the others and
//! every acknowledged write, and while it recovers it neither serves clients nor votes, so it
//! cannot help elect a leader that lacks a committed write.

mod common;

use client::CreateOptions;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use testkit::{ServerConfig, Target, TestEnsemble};

/// Creates `count` nodes under `parent` (created first) through `connect_string`; returns their
/// paths, every one acknowledged.
async fn write_nodes(connect_string: &str, parent: &str, count: usize) -> Vec<String> {
    let zk = common::ensemble::connect(connect_string).await;
    zk.create(parent, b"", &CreateOptions::persistent())
        .await
        .expect("create parent");
    let mut written = Vec::with_capacity(count);
    for i in 0..count {
        let path = format!("{parent}/n{i:04}");
        zk.create(&path, path.as_bytes(), &CreateOptions::persistent())
            .await
            .expect("create");
        written.push(path);
    }
    let _ = zk.close().await;
    written
}

/// Every znode on the member at `addr` (a client connected to it alone), with its data and stat.
async fn dump(addr: &str) -> BTreeMap<String, String> {
    let zk = common::ensemble::connect(addr).await;
    zk.sync("/").await.expect("sync");
    let mut out = BTreeMap::new();
    let mut todo = vec!["/".to_owned()];
    while let Some(path) = todo.pop() {
        let (data, stat) = zk.get_data(&path).await.expect("get_data");
        out.insert(path.clone(), format!("{data:?} {stat:?}"));
        for child in zk.get_children(&path).await.expect("children") {
            todo.push(if path == "/" {
                format!("/{child}")
            } else {
                format!("{path}/{child}")
            });
        }
    }
    let _ = zk.close().await;
    out
}

/// Two members' trees hold the same znodes with the same data and stats. `/zookeeper/config` is
/// left out: each member writes it from its own zoo.cfg when it starts (its mtime is that start),
/// it is not replicated state.
fn assert_same_tree(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) {
    let differing: Vec<_> = a
        .keys()
        .chain(b.keys())
        .filter(|k| k.as_str() != "/zookeeper/config" && a.get(*k) != b.get(*k))
        .map(|k| (k, a.get(k), b.get(k)))
        .take(5)
        .collect();
    assert!(differing.is_empty(), "the trees differ: {differing:#?}");
}

/// The largest file directly under `dir`.
fn largest_file(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_file())
        .max_by_key(|p| p.metadata().map(|m| m.len()).unwrap_or(0))
        .expect("a file")
}

/// The newest snapshot (names sort by index).
fn newest_file(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_file() && !p.to_string_lossy().ends_with(".tmp"))
        .max()
        .expect("a file")
}

/// Flips a byte halfway into the written part of `path` (a log segment is preallocated with
/// zeros): a record in the middle of the log, with valid ones after it, fails its checksum.
fn flip_written_byte(path: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(path).expect("read");
    let written = bytes.iter().rposition(|&b| b != 0).expect("written bytes");
    bytes[written / 2] ^= 0x55;
    std::fs::write(path, &bytes).expect("write");
    bytes
}

fn quarantine_dirs(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .expect("read data dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("quarantine-"))
        })
        .collect()
}

/// Waits until `member` says in its log that it recovered.
fn wait_recovered(ensemble: &TestEnsemble, member: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ensemble.members[member]
        .log_tail(1 << 22)
        .contains("recovered from the ensemble")
    {
        assert!(
            Instant::now() < deadline,
            "member {} never recovered:\n{}",
            member + 1,
            ensemble.members[member].log_tail(4000)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Stops a follower, damages `pick(raft dir)`, restarts it, and checks that it quarantined the
/// damaged state (the damaged file kept as it was), recovered, and holds the leader's tree.
fn damage_a_follower_and_check_it_recovers(
    config: &ServerConfig,
    writes: usize,
    pick: fn(&Path) -> PathBuf,
) {
    let mut ensemble = TestEnsemble::start(Target::Ferrokeeper, 3, config).expect("ensemble");
    let rt = testkit::suite::runtime();
    let mut acked = rt.block_on(write_nodes(&ensemble.connect_string(), "/a", writes));
    let leader = ensemble
        .wait_leader(Duration::from_secs(10))
        .expect("leader");
    let victim = (leader + 1) % 3;
    // Let the victim apply (and snapshot) what it received before it stops.
    std::thread::sleep(Duration::from_millis(500));
    ensemble.members[victim].kill();
    let data_dir = ensemble.members[victim].data_dir();
    let raft_dir = data_dir.join("raft");
    let damaged = pick(&raft_dir);
    let damaged_bytes = flip_written_byte(&damaged);
    let name = damaged
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();

    // Writes go on while it is down, so it must catch up past what it had.
    let others: Vec<String> = (0..3)
        .filter(|&i| i != victim)
        .map(|i| ensemble.members[i].addr().to_string())
        .collect();
    acked.extend(rt.block_on(write_nodes(&others.join(","), "/b", 50)));

    // It starts, and serves only once it has recovered.
    ensemble.members[victim].restart().expect("restart");
    let log = ensemble.members[victim].log_tail(1 << 22);
    assert!(
        log.contains("moved the damaged Raft state to") && log.contains(&name),
        "no quarantine naming {name} in the log:\n{log}"
    );
    wait_recovered(&ensemble, victim);
    let quarantined = quarantine_dirs(&data_dir);
    assert_eq!(quarantined.len(), 1, "one quarantine: {quarantined:?}");
    let relative = damaged.strip_prefix(&data_dir).expect("under the data dir");
    assert_eq!(
        std::fs::read(quarantined[0].join(relative)).expect("the damaged file is kept"),
        damaged_bytes,
        "the quarantined file is not the damaged one"
    );
    assert!(
        !raft_dir.with_extension("recovering").exists(),
        "the recovery marker outlived the recovery"
    );

    // Same tree as the leader, every acknowledged write included.
    let addr = ensemble.members[victim].addr().to_string();
    let leader_addr = ensemble.members[leader].addr().to_string();
    let (mine, theirs) = rt.block_on(async { (dump(&addr).await, dump(&leader_addr).await) });
    for path in &acked {
        assert!(mine.contains_key(path), "acknowledged {path} missing");
    }
    assert_same_tree(&mine, &theirs);

    // It keeps following and votes again: with the leader gone it helps elect a new one.
    ensemble.members[leader].kill();
    let new_leader = ensemble
        .wait_leader(Duration::from_secs(10))
        .expect("a leader elected with the recovered member's vote");
    assert_ne!(new_leader, leader);
    rt.block_on(async {
        let zk = common::ensemble::connect(&addr).await;
        zk.create("/after", b"", &CreateOptions::persistent())
            .await
            .expect("write after recovery");
        let _ = zk.close().await;
    });
}

#[test]
fn a_follower_with_a_damaged_log_recovers_it_from_its_peers() {
    damage_a_follower_and_check_it_recovers(&common::fk_config(), 300, |raft| {
        largest_file(&raft.join("log"))
    });
}

#[test]
fn a_follower_with_a_damaged_snapshot_recovers_it_from_its_peers() {
    let mut config = common::fk_config();
    config.extra.push(("snapCount".into(), "200".into()));
    damage_a_follower_and_check_it_recovers(&config, 600, |raft| {
        newest_file(&raft.join("snapshots"))
    });
}

/// A member process started outside the harness (the harness waits until a member serves, which
/// these never do), killed when dropped.
struct Loose(Child);

impl Loose {
    fn start(config: &Path, log: &Path) -> Loose {
        let out = std::fs::File::create(log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_ferrokeeper"))
            .arg("server")
            .arg("--config")
            .arg(config)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn");
        Loose(child)
    }
}

impl Drop for Loose {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_recovering_member_does_not_help_elect_a_leader_without_a_committed_write() {
    // With read-only mode on, a member cut off from its quorum serves reads; a recovering one
    // must not, its tree being incomplete.
    let mut config = common::fk_config();
    config
        .extra
        .push(("readonlymode.enabled".into(), "true".into()));
    let mut ensemble = TestEnsemble::start(Target::Ferrokeeper, 3, &config).expect("ensemble");
    let rt = testkit::suite::runtime();
    rt.block_on(write_nodes(&ensemble.connect_string(), "/base", 20));
    // W is committed on members 1 and 2 only.
    ensemble.members[2].kill();
    let pair = format!(
        "{},{}",
        ensemble.members[0].addr(),
        ensemble.members[1].addr()
    );
    let w = rt.block_on(write_nodes(&pair, "/w", 50));
    std::thread::sleep(Duration::from_millis(300));
    ensemble.members[0].kill();
    ensemble.members[1].kill();
    flip_written_byte(&largest_file(
        &ensemble.members[1].data_dir().join("raft").join("log"),
    ));

    // Member 2 (recovering, W lost) and member 3 (never had W) run: they must not form a quorum.
    let logs = tempfile::tempdir().expect("tempdir");
    let two = Loose::start(
        ensemble.members[1].config_path(),
        &logs.path().join("2.log"),
    );
    let three = Loose::start(
        ensemble.members[2].config_path(),
        &logs.path().join("3.log"),
    );
    let pair = format!(
        "{},{}",
        ensemble.members[1].addr(),
        ensemble.members[2].addr()
    );
    let until = Instant::now() + Duration::from_secs(6);
    while Instant::now() < until {
        for i in [1, 2] {
            assert_ne!(
                ensemble.mode(i).as_deref(),
                Some("leader"),
                "member {} leads without the write W",
                i + 1
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let isro = |i: usize| {
        testkit::four_letter::send(ensemble.members[i].addr(), "isro", Duration::from_secs(2))
            .unwrap_or_default()
    };
    assert_eq!(isro(2), "ro", "member 3, without a quorum, is read-only");
    assert_ne!(isro(1), "ro", "member 2 offers reads while recovering");
    let read_only = |read_only| jute::ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        timeout_ms: 10_000,
        session_id: 0,
        passwd: bytes::Bytes::from(vec![0u8; 16]),
        read_only: Some(read_only),
    };
    assert!(
        testkit::raw::RawClient::connect_with(ensemble.members[2].addr(), &read_only(true)).is_ok(),
        "member 3 refuses a read-only session"
    );
    assert!(
        testkit::raw::RawClient::connect_with(ensemble.members[1].addr(), &read_only(true))
            .is_err(),
        "member 2 gave a read-only session while recovering"
    );
    let log_two = std::fs::read_to_string(logs.path().join("2.log")).expect("log");
    assert!(
        log_two.contains("moved the damaged Raft state to"),
        "member 2 did not quarantine:\n{log_two}"
    );
    rt.block_on(common::ensemble::assert_no_write(
        &pair,
        "/without-w",
        "members 2 and 3 accepted a write without W",
    ));

    // Member 1 returns: it leads (it has W), member 2 recovers W, and W is everywhere.
    ensemble.members[0].restart().expect("member 1 restarts");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let log = std::fs::read_to_string(logs.path().join("2.log")).expect("log");
        if log.contains("recovered from the ensemble") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "member 2 never recovered:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let addrs: Vec<String> = (0..3)
        .map(|i| ensemble.members[i].addr().to_string())
        .collect();
    let trees: Vec<_> = rt.block_on(async {
        let mut trees = Vec::new();
        for addr in &addrs {
            trees.push(dump(addr).await);
        }
        trees
    });
    for (i, tree) in trees.iter().enumerate() {
        for path in &w {
            assert!(
                tree.contains_key(path),
                "{path} missing on member {}",
                i + 1
            );
        }
        assert!(
            !tree.contains_key("/without-w"),
            "member {} has a write made without W",
            i + 1
        );
        assert_same_tree(tree, &trees[0]);
    }
    drop((two, three));
}
