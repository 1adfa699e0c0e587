//! Crash durability: `kill -9` a single Ferrokeeper server while a client writes, restart it on
//! the same data directory, and every write that was acknowledged must be there. Rounds accumulate
//! on one data directory, so later rounds also replay earlier rounds' logs. `FK_CRASH_ROUNDS` sets
//! the number of rounds (default 5). Both single-server paths are crashed: standalone (its own
//! group-commit log) and an ensemble of one (`standaloneEnabled=false`, ordered through Raft).

mod common;

use std::time::Duration;
use testkit::{Target, TestEnsemble, TestServer};

/// A small snapCount so crashes also land during and after snapshots.
fn config() -> testkit::ServerConfig {
    let mut config = testkit::ServerConfig::default();
    config.extra.push(("snapCount".into(), "300".into()));
    config.with_binary(common::fk_bin())
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let mut server = common::own_server(Target::Ferrokeeper, config());
    crash_rounds(&mut server);
}

#[test]
fn an_ensemble_of_one_keeps_acknowledged_writes_through_kill_9() {
    let mut ensemble = TestEnsemble::start(Target::Ferrokeeper, 1, &config())
        .unwrap_or_else(|e| panic!("cannot start an ensemble of one: {e}"));
    assert_eq!(
        ensemble.mode(0).as_deref(),
        Some("leader"),
        "an ensemble of one runs as a quorum peer, not standalone"
    );
    crash_rounds(&mut ensemble.members[0]);
}

fn crash_rounds(server: &mut TestServer) {
    let rounds: usize = std::env::var("FK_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let mut acknowledged: Vec<String> = Vec::new();
    for round in 0..rounds {
        let (writer, acked) =
            common::writes::acked_writer(server.addr(), format!("/crash-{round}-"));
        // Once writes are being acknowledged (a loaded machine can take a while after a
        // restart), crash at a moment that varies by round.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while acked.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(50 + 97 * round as u64 % 300));
        server.kill();
        writer.join().expect("writer thread");
        let acked = std::mem::take(&mut *acked.lock().unwrap());
        assert!(
            !acked.is_empty(),
            "round {round}: no write was acknowledged before the crash"
        );
        acknowledged.extend(acked);
        server
            .restart()
            .unwrap_or_else(|e| panic!("round {round}: restart after kill -9 failed: {e}"));
        common::writes::assert_all_present(
            server,
            &acknowledged,
            &format!("after kill -9 in round {round}"),
        );
    }
    eprintln!(
        "{rounds} kill -9 rounds, {} acknowledged writes all present",
        acknowledged.len()
    );
}
