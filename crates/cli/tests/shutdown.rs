//! A clean stop (SIGTERM, as `kill`, systemd and container runtimes send it): the standalone server
//! snapshots its tree before it exits, so the next start replays no log, and a write acknowledged
//! while it was stopping is still there after the restart.

mod common;

use std::time::{Duration, Instant};
use testkit::raw::RawClient;
use testkit::{Target, TestServer};

/// Sends SIGTERM and waits for the process to exit by itself.
fn terminate(server: &mut TestServer) {
    let pid = server.pid().expect("server running");
    let pid = libc::pid_t::try_from(pid).expect("pid");
    // SAFETY: plain kill(2) on a child process we own.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0, "kill -TERM");
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.is_running() {
        assert!(
            Instant::now() < deadline,
            "the server did not stop within 30 s of SIGTERM\n{}",
            server.log_tail(3000)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_clean_stop_snapshots_the_tree_and_loses_no_write() {
    // A snapCount far above what the test writes, so only the stop takes a snapshot.
    let mut config = testkit::ServerConfig::default();
    config.extra.push(("snapCount".into(), "1000000".into()));
    let mut server = common::own_server(Target::Ferrokeeper, config);

    // Quiet stop: everything is in the final snapshot.
    let mut client = RawClient::connect(server.addr(), 10_000).expect("connect");
    let written: Vec<String> = (0..300).map(|i| format!("/quiet-{i}")).collect();
    for path in &written {
        let reply = client.create(path, path.as_bytes(), 0).expect("create");
        assert_eq!(reply.header.err, 0);
    }
    let _ = client.close();
    terminate(&mut server);
    let log = server.log_tail(5000);
    assert!(
        log.contains("written in"),
        "no snapshot at shutdown:\n{log}"
    );
    assert!(log.contains("stopped"), "no clean stop:\n{log}");
    server.restart().expect("restart");
    let log = server.log_tail(5000);
    assert!(
        log.contains("(0 log records replayed)"),
        "the restart replayed the log:\n{log}"
    );
    common::writes::assert_all_present(&server, &written, "across a quiet stop");

    // A stop while a client writes: acknowledged writes after the snapshot come from the log.
    let (writer, acked) = common::writes::acked_writer(server.addr(), "/busy-".into());
    std::thread::sleep(Duration::from_millis(300));
    terminate(&mut server);
    writer.join().expect("writer thread");
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    assert!(
        !acked.is_empty(),
        "no write was acknowledged before the stop"
    );
    server.restart().expect("restart");
    common::writes::assert_all_present(&server, &written, "across a busy stop");
    common::writes::assert_all_present(&server, &acked, "across a busy stop");
}
