//! Crash durability: `kill -9` a standalone Ferrokeeper while a client writes, restart it on the
//! same data directory, and every write that was acknowledged must be there. Rounds accumulate on
//! one data directory, so later rounds also replay earlier rounds' logs. `FK_CRASH_ROUNDS` sets the
//! number of rounds (default 5).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;
use testkit::raw::RawClient;
use testkit::Target;

#[test]
fn acknowledged_writes_survive_kill_9() {
    let rounds: usize = std::env::var("FK_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    // A small snapCount so crashes also land during and after snapshots.
    let mut config = testkit::ServerConfig::default();
    config.extra.push(("snapCount".into(), "300".into()));
    let mut server = common::own_server(Target::Ferrokeeper, config);
    let mut acknowledged: Vec<String> = Vec::new();
    for round in 0..rounds {
        let acked = Arc::new(Mutex::new(Vec::new()));
        let writer = {
            let acked = Arc::clone(&acked);
            let addr = server.addr();
            std::thread::spawn(move || {
                let Ok(mut client) = RawClient::connect(addr, 10_000) else {
                    return;
                };
                for i in 0.. {
                    let path = format!("/crash-{round}-{i}");
                    match client.create(&path, path.as_bytes(), 0) {
                        Ok(reply) if reply.header.err == 0 => acked.lock().unwrap().push(path),
                        Ok(reply) => panic!("create {path} failed with {}", reply.header.err),
                        Err(_) => return, // the server died mid-request: not acknowledged
                    }
                }
            })
        };
        // Let some writes through, then crash at a moment that varies by round.
        std::thread::sleep(Duration::from_millis(150 + 97 * round as u64 % 300));
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
        let mut check = RawClient::connect(server.addr(), 10_000).expect("connect after restart");
        for path in &acknowledged {
            let reply = check.get_data(path, false).expect("getData");
            assert_eq!(
                reply.header.err,
                0,
                "round {round}: acknowledged {path} lost after kill -9\n{}",
                server.log_tail(3000)
            );
        }
        let _ = check.close();
    }
    eprintln!(
        "{rounds} kill -9 rounds, {} acknowledged writes all present",
        acknowledged.len()
    );
}
