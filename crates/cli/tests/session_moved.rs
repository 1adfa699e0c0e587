//! A session that moved to another ensemble member cannot write through its old connection:
//! ZooKeeper's SESSIONMOVED. The member that proposed the stale write closes that connection
//! without a reply, the write changes nothing, and the session carries on where it moved to.

mod common;

use bytes::Bytes;
use jute::ConnectRequest;
use std::time::Duration;
use testkit::raw::{RawClient, RawError};
use testkit::{Target, TestEnsemble};

/// Opens a session on `addr`, retrying while the ensemble elects its first leader.
fn connect(addr: std::net::SocketAddr) -> RawClient {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        match RawClient::connect(addr, 10_000) {
            Ok(c) => return c,
            Err(e) if std::time::Instant::now() < deadline => {
                eprintln!("waiting for {addr}: {e}");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("cannot open a session on {addr}: {e}"),
        }
    }
}

#[test]
fn a_write_through_the_old_connection_of_a_moved_session_closes_it_and_changes_nothing() {
    let ensemble =
        TestEnsemble::start(Target::Ferrokeeper, 3, &common::fk_config()).expect("ensemble");
    let first = ensemble.members[0].addr();
    let second = ensemble.members[1].addr();

    let mut old = connect(first);
    let reply = old.create("/moved", b"a", 0).expect("create");
    assert_eq!(reply.header.err, 0, "create on the first member");

    // The same session re-attaches on another member, as a client that lost its connection
    // would; the old connection stays open, as a slow or half-dead one does.
    let (mut new, response) = RawClient::connect_with(
        second,
        &ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            timeout_ms: 10_000,
            session_id: old.session_id,
            passwd: old.passwd.clone(),
            read_only: Some(false),
        },
    )
    .expect("re-attach on the second member");
    assert_eq!(response.session_id, old.session_id, "same session");
    let reply = new
        .set_data("/moved", b"b", -1)
        .expect("set on the second member");
    assert_eq!(reply.header.err, 0, "the session writes where it moved to");

    // The stale connection's write: no reply, the connection closes.
    old.set_read_timeout(Duration::from_secs(10))
        .expect("timeout");
    match old.set_data("/moved", b"stale", -1) {
        Err(RawError::Closed) => {}
        Err(RawError::Io(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("the old connection's write was answered: {other:?}"),
    }

    let reply = new.get_data("/moved", false).expect("read back");
    assert_eq!(reply.header.err, 0);
    let data: jute::proto::GetDataResponse = reply.decode().expect("getData reply");
    assert_eq!(
        data.data,
        Some(Bytes::from_static(b"b")),
        "the stale write changed nothing"
    );
    // The session is alive and still writes on its new member.
    let reply = new.set_data("/moved", b"c", -1).expect("set again");
    assert_eq!(reply.header.err, 0);
    new.close().expect("close");
}
