//! A real 3-member Ferrokeeper ensemble on loopback, one process per member: writes under load
//! survive `kill -9` of the leader, a new leader serves writes within a second, sessions on the
//! surviving members do not expire, the killed member catches up after a restart, and without a
//! majority nobody accepts writes until a member returns.

mod common;

use client::{Client, CreateOptions, SessionState};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use testkit::{Target, TestEnsemble};

const WRITERS: usize = 4;

/// Every path in `paths` exists on the member at `addr`, and `/load` has exactly `count` children.
async fn assert_has(addr: &str, paths: &[String], count: usize) {
    let zk = common::ensemble::connect(addr).await;
    zk.sync("/load").await.expect("sync");
    let children = zk.get_children("/load").await.expect("children");
    for path in paths {
        let name = path.trim_start_matches("/load/");
        assert!(
            children.iter().any(|c| c == name),
            "acknowledged write {path} is missing on {addr}"
        );
    }
    assert_eq!(children.len(), count, "member {addr} disagrees on /load");
    let _ = zk.close().await;
}

#[test]
fn leader_kill_loses_no_acknowledged_write_and_fails_over_fast() {
    let mut ensemble =
        TestEnsemble::start(Target::Ferrokeeper, 3, &common::fk_config()).expect("ensemble");
    let leader = ensemble
        .wait_leader(Duration::from_secs(10))
        .expect("a leader");
    let all = ensemble.connect_string();
    let follower = (leader + 1) % 3;
    let follower_addr = ensemble.members[follower].addr().to_string();
    let rt = testkit::suite::runtime();

    // A session on a follower that must outlive the failover.
    let survivor = rt.block_on(async {
        let zk = common::ensemble::connect(&follower_addr).await;
        zk.create("/load", b"", &CreateOptions::persistent())
            .await
            .expect("create /load");
        zk.create("/alive", b"", &CreateOptions::ephemeral())
            .await
            .expect("ephemeral");
        zk
    });

    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let first_after_kill = Arc::new(Mutex::new(None::<Instant>));
    let killed_at = Arc::new(Mutex::new(None::<Instant>));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (acked, first, killed_at, stop, all) = (
                Arc::clone(&acked),
                Arc::clone(&first_after_kill),
                Arc::clone(&killed_at),
                Arc::clone(&stop),
                all.clone(),
            );
            rt.spawn(async move {
                let zk = common::ensemble::connect(&all).await;
                let mut i = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let path = format!("/load/w{w}-{i}");
                    i += 1;
                    let sent = Instant::now();
                    match zk
                        .create(&path, path.as_bytes(), &CreateOptions::persistent())
                        .await
                    {
                        Ok(_) => {
                            // Only a write sent after the kill proves a new leader serves.
                            if killed_at.lock().unwrap().is_some_and(|k| sent > k) {
                                let mut first = first.lock().unwrap();
                                first.get_or_insert(Instant::now());
                            }
                            acked.lock().unwrap().push(path);
                        }
                        // Outcome unknown (connection lost mid-request): not acknowledged.
                        Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                    }
                }
                let _ = zk.close().await;
            })
        })
        .collect();

    std::thread::sleep(Duration::from_millis(1500));
    let before_kill = acked.lock().unwrap().len();
    assert!(before_kill > 0, "no write was acknowledged before the kill");
    *killed_at.lock().unwrap() = Some(Instant::now());
    ensemble.members[leader].kill();
    let kill_time = Instant::now();
    let new_leader = ensemble
        .wait_leader(Duration::from_secs(10))
        .expect("a new leader");
    let elected_after = kill_time.elapsed();
    assert_ne!(new_leader, leader);
    // Let the writers run on the new leader for a while.
    std::thread::sleep(Duration::from_millis(2500));
    let failover = first_after_kill
        .lock()
        .unwrap()
        .map(|t| t.duration_since(kill_time))
        .expect("no write was acknowledged after the kill");
    println!(
        "leader {} killed: member {} leads after {} ms; first write acknowledged {} ms after the kill",
        leader + 1,
        new_leader + 1,
        elected_after.as_millis(),
        failover.as_millis()
    );
    assert!(
        failover < Duration::from_secs(1),
        "writes resumed only {failover:?} after the leader was killed"
    );

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    rt.block_on(async {
        for w in writers {
            w.await.expect("writer");
        }
    });
    let acked = acked.lock().unwrap().clone();
    println!(
        "{} writes acknowledged ({before_kill} before the kill)",
        acked.len()
    );

    // Nothing acknowledged is lost on the survivors, and they agree.
    let survivors: Vec<String> = (0..3)
        .filter(|&i| i != leader)
        .map(|i| ensemble.members[i].addr().to_string())
        .collect();
    let count = rt.block_on(async {
        let zk = common::ensemble::connect(&survivors[0]).await;
        zk.sync("/load").await.expect("sync");
        let n = zk.get_children("/load").await.expect("children").len();
        let _ = zk.close().await;
        n
    });
    assert!(count >= acked.len());
    for addr in &survivors {
        rt.block_on(assert_has(addr, &acked, count));
    }

    // The follower's session lived through the failover, ephemeral and all.
    rt.block_on(async {
        assert_ne!(survivor.state(), SessionState::Expired);
        let stat = survivor
            .exists("/alive")
            .await
            .expect("exists after failover");
        assert!(stat.is_some(), "the surviving session's ephemeral vanished");
    });

    // The killed member rejoins and catches up.
    ensemble.members[leader].restart().expect("restart");
    let rejoined = ensemble.members[leader].addr().to_string();
    rt.block_on(assert_has(&rejoined, &acked, count));
    rt.block_on(async {
        let _ = survivor.close().await;
    });
}

#[test]
fn without_a_majority_nobody_accepts_writes_until_a_member_returns() {
    let mut ensemble =
        TestEnsemble::start(Target::Ferrokeeper, 3, &common::fk_config()).expect("ensemble");
    let rt = testkit::suite::runtime();
    let last = ensemble.members[2].addr().to_string();
    ensemble.members[0].kill();
    ensemble.members[1].kill();
    // The survivor stops serving once it notices it has no quorum: it closes new sessions.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let refused = rt.block_on(async {
            let attempt = Client::builder()
                .session_timeout(Duration::from_secs(6))
                .connect_timeout(Duration::from_millis(500))
                .connect(&last);
            match tokio::time::timeout(Duration::from_secs(2), attempt).await {
                Ok(Ok(zk)) => {
                    let wrote = tokio::time::timeout(
                        Duration::from_secs(2),
                        zk.create("/minority", b"", &CreateOptions::persistent()),
                    )
                    .await;
                    let _ = zk.close().await;
                    !matches!(wrote, Ok(Ok(_)))
                }
                _ => true,
            }
        });
        if refused {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a lone member kept accepting writes"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Within its serving lease (2 s) of losing the quorum it says so.
    let srvr = || {
        testkit::four_letter::send(ensemble.members[2].addr(), "srvr", Duration::from_secs(2))
            .unwrap_or_default()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while srvr().trim() != admin_not_serving() {
        assert!(Instant::now() < deadline, "still serving: {}", srvr());
        std::thread::sleep(Duration::from_millis(100));
    }
    // A member returns: service resumes without anyone doing anything else.
    ensemble.members[1].restart().expect("restart");
    rt.block_on(async {
        let zk = common::ensemble::connect(&last).await;
        zk.create("/after", b"", &CreateOptions::persistent())
            .await
            .expect("write after the majority returned");
        assert!(zk.exists("/minority").await.expect("exists").is_none());
        let _ = zk.close().await;
    });
}

fn admin_not_serving() -> &'static str {
    "This ZooKeeper instance is not currently serving requests"
}

#[test]
fn a_member_behind_the_purged_log_catches_up_from_a_streamed_snapshot() {
    // Snapshots every 200 entries, so the leader has purged what the stopped member missed.
    let mut config = common::fk_config();
    config.extra.push(("snapCount".into(), "200".into()));
    let mut ensemble = TestEnsemble::start(Target::Ferrokeeper, 3, &config).expect("ensemble");
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
    let written = rt.block_on(async {
        let zk = common::ensemble::connect(&others.join(",")).await;
        zk.create("/load", b"", &CreateOptions::persistent())
            .await
            .expect("create /load");
        let mut written = Vec::new();
        for i in 0..1_500 {
            let path = format!("/load/n{i:04}");
            zk.create(&path, &[7u8; 100], &CreateOptions::persistent())
                .await
                .expect("create");
            written.push(path);
        }
        let _ = zk.close().await;
        written
    });
    ensemble.members[lagging].restart().expect("restart");
    let addr = ensemble.members[lagging].addr().to_string();
    rt.block_on(assert_has(&addr, &written, written.len()));
    assert!(
        ensemble.members[lagging]
            .log_tail(1 << 20)
            .contains("installed a snapshot"),
        "the member caught up without a snapshot: the log was not purged as the test intends"
    );
    // It keeps following after the install: a new write reaches it too.
    rt.block_on(async {
        let zk = common::ensemble::connect(&others[0]).await;
        zk.create("/load/after", b"", &CreateOptions::persistent())
            .await
            .expect("write after catch-up");
        let _ = zk.close().await;
        let zk = common::ensemble::connect(&addr).await;
        zk.sync("/load").await.expect("sync");
        assert!(zk.exists("/load/after").await.expect("exists").is_some());
        let _ = zk.close().await;
    });
}

#[test]
fn read_only_mode_serves_reads_to_clients_that_allow_it_while_the_quorum_is_gone() {
    use jute::ConnectRequest;
    use testkit::raw::RawClient;

    let mut config = common::fk_config();
    config
        .extra
        .push(("readonlymode.enabled".into(), "true".into()));
    let mut ensemble = TestEnsemble::start(Target::Ferrokeeper, 3, &config).expect("ensemble");
    let rt = testkit::suite::runtime();
    rt.block_on(async {
        let zk = common::ensemble::connect(&ensemble.connect_string()).await;
        zk.create("/ro", b"v", &CreateOptions::persistent())
            .await
            .expect("create");
        let _ = zk.close().await;
    });
    ensemble.members[0].kill();
    ensemble.members[1].kill();
    let addr = ensemble.members[2].addr();
    let isro =
        || testkit::four_letter::send(addr, "isro", Duration::from_secs(2)).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(10);
    while isro() != "ro" {
        assert!(
            Instant::now() < deadline,
            "the lone member never went read-only"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let request = |read_only| ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        timeout_ms: 10_000,
        session_id: 0,
        passwd: bytes::Bytes::from(vec![0u8; 16]),
        read_only: Some(read_only),
    };
    // A client that does not allow read-only is refused, as without the mode.
    assert!(RawClient::connect_with(addr, &request(false)).is_err());
    let (mut ro, response) =
        RawClient::connect_with(addr, &request(true)).expect("read-only session");
    assert_eq!(response.read_only, Some(true));
    let reply = ro.get_data("/ro", false).expect("get");
    assert_eq!(reply.header.err, 0);
    let data: jute::proto::GetDataResponse = reply.decode().expect("decode");
    assert_eq!(data.data.as_deref(), Some(&b"v"[..]));
    let refused = ro.create("/nope", b"", 0).expect("create reply");
    assert_eq!(refused.header.err, jute::ErrorCode::NotReadOnly as i32);
    let reply = ro
        .get_data("/ro", false)
        .expect("a read after the refused write");
    assert_eq!(reply.header.err, 0);

    // The majority returns: the read-only session is closed and writes work again.
    ensemble.members[1].restart().expect("restart");
    assert_eq!(isro(), "rw");
    ro.set_read_timeout(Duration::from_secs(5))
        .expect("timeout");
    assert!(
        ro.get_data("/ro", false).is_err(),
        "the read-only connection stayed open"
    );
    rt.block_on(async {
        let zk = common::ensemble::connect(&addr.to_string()).await;
        zk.create("/rw-again", b"", &CreateOptions::persistent())
            .await
            .expect("write after the majority returned");
        assert!(zk.exists("/nope").await.expect("exists").is_none());
        let _ = zk.close().await;
    });
}

#[test]
fn an_observer_serves_clients_and_follows_failover_without_voting() {
    let mut ensemble =
        TestEnsemble::start_with_observers(Target::Ferrokeeper, 3, 1, &common::fk_config())
            .expect("ensemble with an observer");
    let observer = 3;
    let deadline = Instant::now() + Duration::from_secs(10);
    while ensemble.mode(observer).as_deref() != Some("observer") {
        assert!(
            Instant::now() < deadline,
            "member 4 never became an observer; modes: {:?}",
            (0..4).map(|i| ensemble.mode(i)).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let addr = ensemble.members[observer].addr().to_string();
    let rt = testkit::suite::runtime();
    rt.block_on(async {
        let zk = common::ensemble::connect(&addr).await;
        zk.create("/via-observer", b"o", &CreateOptions::persistent())
            .await
            .expect("a write through the observer");
        let _ = zk.close().await;
    });
    // The observer does not vote: with two participants gone, nothing is committed even though
    // three of four members run.
    let leader = ensemble
        .wait_leader(Duration::from_secs(10))
        .expect("leader");
    let others: Vec<usize> = (0..3).filter(|&i| i != leader).collect();
    ensemble.members[leader].kill();
    let new_leader = ensemble
        .wait_leader(Duration::from_secs(10))
        .expect("new leader");
    assert!(others.contains(&new_leader), "the observer must never lead");
    rt.block_on(async {
        let zk = common::ensemble::connect(&addr).await;
        zk.create("/after-failover", b"", &CreateOptions::persistent())
            .await
            .expect("a write through the observer after failover");
        let _ = zk.close().await;
    });
    let other = others
        .into_iter()
        .find(|&i| i != new_leader)
        .expect("a follower");
    ensemble.members[other].kill();
    rt.block_on(common::ensemble::assert_no_write(
        &addr,
        "/no-quorum",
        "a write committed with one voter of three",
    ));
}

/// The largest file directly under `dir`.
fn largest_file(dir: &std::path::Path) -> std::path::PathBuf {
    std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_file())
        .max_by_key(|p| p.metadata().map(|m| m.len()).unwrap_or(0))
        .expect("a file")
}

fn flip_middle_byte(path: &std::path::Path) -> Vec<u8> {
    let original = std::fs::read(path).expect("read");
    let mut bytes = original.clone();
    // Halfway into the written part: a log segment is preallocated, its second half zeros.
    let written = bytes.iter().rposition(|&b| b != 0).expect("written bytes");
    bytes[written / 2] ^= 0x55;
    std::fs::write(path, bytes).expect("write");
    original
}

#[test]
fn a_corrupt_log_or_snapshot_stops_a_standalone_server_and_is_quarantined_by_a_member() {
    // Standalone: no peer to recover from, so the server refuses to start and names the file.
    let mut config = common::fk_config();
    config.extra.push(("snapCount".into(), "200".into()));
    let mut server = testkit::TestServer::start(Target::Ferrokeeper, &config).expect("standalone");
    let rt = testkit::suite::runtime();
    rt.block_on(async {
        let zk = common::ensemble::connect(&server.connect_string()).await;
        for i in 0..600 {
            zk.create(&format!("/s{i}"), &[1u8; 64], &CreateOptions::persistent())
                .await
                .expect("create");
        }
        let _ = zk.close().await;
    });
    std::thread::sleep(Duration::from_millis(500));
    server.kill();
    let data_dir = server.data_dir();
    for file in [
        largest_file(&data_dir.join("wal")),
        largest_file(&data_dir.join("snapshots")),
    ] {
        let original = flip_middle_byte(&file);
        let err = server
            .restart()
            .expect_err("a standalone server must not start on a corrupt file");
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            err.to_string().contains(&name),
            "the refusal does not name {name}: {err}"
        );
        server.kill();
        std::fs::write(&file, original).expect("restore");
    }
    server.restart().expect("restart after repair");
    rt.block_on(async {
        let zk = common::ensemble::connect(&server.connect_string()).await;
        assert!(zk.exists("/s599").await.expect("exists").is_some());
        let _ = zk.close().await;
    });

    // Ensemble member: it names the file, moves its state aside untouched, and recovers from its
    // peers (crates/cli/tests/corrupt_member.rs checks the recovery itself in depth).
    let mut ensemble = TestEnsemble::start(Target::Ferrokeeper, 3, &config).expect("ensemble");
    rt.block_on(async {
        let zk = common::ensemble::connect(&ensemble.connect_string()).await;
        for i in 0..600 {
            zk.create(&format!("/c{i}"), &[1u8; 64], &CreateOptions::persistent())
                .await
                .expect("create");
        }
        let _ = zk.close().await;
    });
    let leader = ensemble
        .wait_leader(Duration::from_secs(10))
        .expect("leader");
    let victim = (leader + 1) % 3;
    let data_dir = ensemble.members[victim].data_dir();
    let raft_dir = data_dir.join("raft");
    let pickers: [fn(&std::path::Path) -> std::path::PathBuf; 2] = [
        |raft| largest_file(&raft.join("log")),
        |raft| largest_file(&raft.join("snapshots")),
    ];
    for (round, pick) in pickers.into_iter().enumerate() {
        // Let the victim apply and snapshot what it received before it stops.
        std::thread::sleep(Duration::from_millis(500));
        ensemble.members[victim].kill();
        let file = pick(&raft_dir);
        let damaged = {
            flip_middle_byte(&file);
            std::fs::read(&file).expect("read")
        };
        ensemble.members[victim]
            .restart()
            .expect("a member recovers a corrupt file from its peers");
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let log = ensemble.members[victim].log_tail(1 << 22);
        assert!(
            log.matches("moved the damaged Raft state to").count() == round + 1
                && log.contains(&name),
            "the member does not name {name} as it quarantines:\n{log}"
        );
        let kept = std::fs::read_dir(&data_dir)
            .expect("data dir")
            .map(|e| e.expect("entry").path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("quarantine-")
            })
            .filter_map(|q| std::fs::read(q.join(file.strip_prefix(&data_dir).unwrap())).ok())
            .any(|bytes| bytes == damaged);
        assert!(
            kept,
            "the damaged {name} is not kept in a quarantine directory"
        );
        let addr = ensemble.members[victim].addr().to_string();
        rt.block_on(async {
            let zk = common::ensemble::connect(&addr).await;
            zk.sync("/").await.expect("sync");
            assert!(zk.exists("/c599").await.expect("exists").is_some());
            let _ = zk.close().await;
        });
    }
}
