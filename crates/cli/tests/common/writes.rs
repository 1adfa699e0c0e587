//! A client that keeps writing until its server goes away, and the check that what it was told
//! succeeded survived: the core of the crash and clean-stop durability tests.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use testkit::raw::RawClient;
use testkit::TestServer;

/// Creates `{prefix}{i}` (data: the path) for i = 0, 1, … on a connection of its own until the
/// server stops answering; the paths whose create was acknowledged collect in the returned list.
/// An error reply fails the test: nothing here should be refused.
pub fn acked_writer(addr: SocketAddr, prefix: String) -> (JoinHandle<()>, Arc<Mutex<Vec<String>>>) {
    let acked = Arc::new(Mutex::new(Vec::new()));
    let list = Arc::clone(&acked);
    let writer = std::thread::spawn(move || {
        let Ok(mut client) = RawClient::connect(addr, 10_000) else {
            return;
        };
        for i in 0.. {
            let path = format!("{prefix}{i}");
            match client.create(&path, path.as_bytes(), 0) {
                Ok(reply) if reply.header.err == 0 => list.lock().unwrap().push(path),
                Ok(reply) => panic!("create {path} failed with {}", reply.header.err),
                Err(_) => return, // the server went away mid-request: not acknowledged
            }
        }
    });
    (writer, acked)
}

/// Asserts every path in `paths` reads back from `server`; `when` names the event for the message.
pub fn assert_all_present(server: &TestServer, paths: &[String], when: &str) {
    let mut check = RawClient::connect(server.addr(), 10_000).expect("connect after restart");
    for path in paths {
        let reply = check.get_data(path, false).expect("getData");
        assert_eq!(
            reply.header.err,
            0,
            "acknowledged {path} lost {when}\n{}",
            server.log_tail(3000)
        );
    }
    let _ = check.close();
}
