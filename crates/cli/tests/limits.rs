//! Bad input and limits over raw TCP: a client that misbehaves is refused or loses its own
//! connection, and nobody else notices.

mod common;

use bytes::{BufMut, Bytes, BytesMut};
use jute::proto::{GetDataRequest, RequestHeader};
use jute::{ConnectRequest, OpCode, Record};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};
use testkit::raw::{frame, RawClient};
use testkit::{ServerConfig, Target};

/// A healthy session with a node whose data must survive every abuse.
struct Bystander {
    client: RawClient,
    path: String,
}

impl Bystander {
    fn new(addr: SocketAddr, test: &str) -> Bystander {
        let mut client = RawClient::connect(addr, 10_000).unwrap();
        let path = testkit::unique_root(test);
        assert_eq!(client.create(&path, b"intact", 0).unwrap().header.err, 0);
        Bystander { client, path }
    }

    fn check(&mut self, addr: SocketAddr) {
        let reply = self
            .client
            .get_data(&self.path, false)
            .expect("bystander lost its connection");
        assert_eq!(reply.header.err, 0);
        let data: jute::proto::GetDataResponse = reply.decode().unwrap();
        assert_eq!(data.data.as_deref(), Some(&b"intact"[..]));
        assert_eq!(
            testkit::four_letter::send(addr, "ruok", Duration::from_secs(5)).unwrap(),
            "imok",
            "server stopped answering ruok"
        );
    }
}

fn handshake_bytes() -> Vec<u8> {
    let req = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        timeout_ms: 10_000,
        session_id: 0,
        passwd: Bytes::from(vec![0u8; 16]),
        read_only: Some(false),
    };
    frame(&req.to_bytes())
}

/// True if the server closes `s` (EOF or reset) within a few seconds, draining whatever it sent.
fn closed_by_server(s: &mut TcpStream) -> bool {
    s.set_read_timeout(Some(Duration::from_secs(8))).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false
            }
            Err(_) => return true,
        }
    }
}

/// What the server did with a bad request on a live session.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// It answered the request's xid with this error code and the connection still serves.
    Refused(i32),
    /// It closed the connection.
    Closed,
}

/// Reads the server's reaction to a bad request with xid 1, then (if still open) proves the
/// connection serves by sending `exists /` with xid 2.
fn verdict(s: &mut TcpStream) -> Verdict {
    s.set_read_timeout(Some(Duration::from_secs(8))).unwrap();
    let read_reply = |s: &mut TcpStream| -> Option<(i32, i64, i32)> {
        let body = testkit::raw::read_frame(s).ok()??;
        let h = jute::proto::ReplyHeader::decode(&mut jute::Reader::new(body)).ok()?;
        Some((h.xid, h.zxid, h.err))
    };
    let Some((xid, _, err)) = read_reply(s) else {
        return Verdict::Closed;
    };
    assert_eq!(xid, 1, "reply to the bad request carries the wrong xid");
    assert_ne!(err, 0, "a malformed request was answered as a success");
    let exists = jute::proto::ExistsRequest {
        path: "/".into(),
        watch: false,
    }
    .to_bytes();
    if s.write_all(&request(2, OpCode::Exists.as_i32(), &exists))
        .is_err()
    {
        return Verdict::Closed;
    }
    match read_reply(s) {
        Some((2, _, 0)) => Verdict::Refused(err),
        Some(other) => panic!("unexpected reply after the refused request: {other:?}"),
        None => Verdict::Closed,
    }
}

/// ZooKeeper answers an undecodable body with MarshallingError (-5) and keeps the connection;
/// closing the connection is accepted from Ferrokeeper too, since no real client can tell.
fn assert_bad_body_handled(target: Target, v: Verdict) {
    match target {
        Target::ZooKeeper => assert_eq!(v, Verdict::Refused(-5), "ZooKeeper's reaction changed"),
        Target::Ferrokeeper => assert!(
            v == Verdict::Refused(-5) || v == Verdict::Closed,
            "expected MarshallingError or a closed connection, got {v:?}"
        ),
    }
}

/// A connected session's socket after a successful handshake.
fn session_socket(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(&handshake_bytes()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).unwrap();
    s
}

fn request(xid: i32, op: i32, body: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    RequestHeader { xid, op }.encode(&mut out);
    out.extend_from_slice(body);
    frame(&out)
}

fn server(target: Target) -> testkit::shared::SharedServer {
    common::server(target)
}

fn malformed_body_is_refused(target: Target) {
    let srv = server(target);
    let mut by = Bystander::new(srv.addr, "malformed_body");
    let mut s = session_socket(srv.addr);
    // getData whose path claims 1000 bytes in a 12-byte frame.
    let mut body = BytesMut::new();
    body.put_i32(1000);
    body.put_slice(b"/abc");
    s.write_all(&request(1, OpCode::GetData.as_i32(), &body))
        .unwrap();
    assert_bad_body_handled(target, verdict(&mut s));
    // The same for a write.
    let mut w = session_socket(srv.addr);
    w.write_all(&request(1, OpCode::Create.as_i32(), &body))
        .unwrap();
    assert_bad_body_handled(target, verdict(&mut w));
    by.check(srv.addr);
}

fn unknown_op_code_is_unimplemented_then_closed(target: Target) {
    let srv = server(target);
    let mut by = Bystander::new(srv.addr, "unknown_op");
    let mut s = session_socket(srv.addr);
    s.write_all(&request(1, 9999, b"xyz")).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(8))).unwrap();
    // ZooKeeper answers Unimplemented (-6) and then closes the connection.
    if let Some(body) = testkit::raw::read_frame(&mut s).unwrap_or(None) {
        let h = jute::proto::ReplyHeader::decode(&mut jute::Reader::new(body)).unwrap();
        assert_eq!((h.xid, h.err), (1, -6));
    } else {
        assert_eq!(
            target,
            Target::Ferrokeeper,
            "ZooKeeper answers before closing"
        );
    }
    assert!(
        closed_by_server(&mut s),
        "connection survived an unknown op code"
    );
    by.check(srv.addr);
}

fn truncated_frame_then_close(target: Target) {
    let srv = server(target);
    let mut by = Bystander::new(srv.addr, "truncated_frame");
    let mut s = session_socket(srv.addr);
    let full = request(
        1,
        OpCode::GetData.as_i32(),
        &GetDataRequest {
            path: by.path.clone(),
            watch: false,
        }
        .to_bytes(),
    );
    s.write_all(&full[..full.len() / 2]).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    assert!(
        closed_by_server(&mut s),
        "server kept a half-closed truncated connection"
    );
    // Also a truncated handshake.
    let mut h = TcpStream::connect(srv.addr).unwrap();
    let hs = handshake_bytes();
    h.write_all(&hs[..10]).unwrap();
    drop(h);
    by.check(srv.addr);
}

fn oversized_length_prefix_closes_connection(target: Target) {
    let srv = server(target);
    let mut by = Bystander::new(srv.addr, "oversized");
    let mut s = session_socket(srv.addr);
    // Far above jute.maxbuffer (1 MiB by default); nothing follows.
    s.write_all(&(64 * 1024 * 1024i32).to_be_bytes()).unwrap();
    s.write_all(&[0u8; 64]).unwrap();
    assert!(
        closed_by_server(&mut s),
        "connection survived a 64 MiB length prefix"
    );
    let mut neg = session_socket(srv.addr);
    neg.write_all(&(-5i32).to_be_bytes()).unwrap();
    assert!(
        closed_by_server(&mut neg),
        "connection survived a negative length prefix"
    );
    by.check(srv.addr);
}

fn garbage_bytes_close_connection(target: Target) {
    let srv = server(target);
    let mut by = Bystander::new(srv.addr, "garbage");
    // Before any handshake.
    let mut s = TcpStream::connect(srv.addr).unwrap();
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    s.write_all(&[0x00, 0x00, 0x00, 0x30]).unwrap();
    s.write_all(&garbage[..0x30]).unwrap();
    assert!(
        closed_by_server(&mut s),
        "connection survived a garbage handshake"
    );
    // After a handshake: a frame of noise.
    let mut t = session_socket(srv.addr);
    t.write_all(&frame(&garbage[..200])).unwrap();
    assert!(
        closed_by_server(&mut t),
        "connection survived a garbage request"
    );
    by.check(srv.addr);
}

fn huge_vector_count_is_refused(target: Target) {
    let srv = server(target);
    let mut by = Bystander::new(srv.addr, "huge_vector");
    let mut s = session_socket(srv.addr);
    // create2 whose ACL vector claims 2^31-1 entries in a tiny frame.
    let mut body = BytesMut::new();
    let path = format!("{}-x", by.path);
    body.put_i32(path.len() as i32);
    body.put_slice(path.as_bytes());
    body.put_i32(0);
    body.put_i32(i32::MAX);
    body.put_slice(&[0u8; 16]);
    s.write_all(&request(1, OpCode::Create2.as_i32(), &body))
        .unwrap();
    assert_bad_body_handled(target, verdict(&mut s));
    let mut check = RawClient::connect(srv.addr, 10_000).unwrap();
    assert_eq!(
        check.exists(&path, false).unwrap().header.err,
        -101,
        "bogus create took effect"
    );
    by.check(srv.addr);
}

fn max_client_cnxns_refuses_extra_connection(target: Target) {
    let config = ServerConfig {
        max_client_cnxns: Some(3),
        ..ServerConfig::default()
    };
    let srv = common::own_server(target, config);
    let mut held: Vec<RawClient> = (0..3)
        .map(|i| {
            RawClient::connect(srv.addr(), 10_000).unwrap_or_else(|e| panic!("connection {i}: {e}"))
        })
        .collect();
    let mut extra = TcpStream::connect(srv.addr()).unwrap();
    let _ = extra.write_all(&handshake_bytes());
    assert!(
        closed_by_server(&mut extra),
        "a 4th connection from one IP was accepted with maxClientCnxns=3"
    );
    for c in held.iter_mut() {
        assert_eq!(
            c.exists("/", false).unwrap().header.err,
            0,
            "an admitted connection was hurt"
        );
    }
    held.pop().unwrap().close().unwrap();
    // The slot is freed when the connection closes.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match RawClient::connect(srv.addr(), 10_000) {
            Ok(mut c) => {
                assert_eq!(c.exists("/", false).unwrap().header.err, 0);
                break;
            }
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => panic!("freed slot was not reusable: {e}"),
        }
    }
}

fn non_reading_client_does_not_delay_others(target: Target) {
    let srv = server(target);
    let mut by = Bystander::new(srv.addr, "slow_reader");
    let mut writer = RawClient::connect(srv.addr, 10_000).unwrap();
    let big = format!("{}-big", by.path);
    assert_eq!(
        writer
            .create(&big, &vec![b'x'; 512 * 1024], 0)
            .unwrap()
            .header
            .err,
        0
    );
    // The hog asks for the 512 KiB node thousands of times and never reads a reply.
    let mut hog = session_socket(srv.addr);
    hog.set_write_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let req = GetDataRequest {
        path: big.clone(),
        watch: false,
    }
    .to_bytes();
    let hog_thread = std::thread::spawn(move || {
        let started = Instant::now();
        let mut sent = 0;
        for xid in 1..=4000 {
            if started.elapsed() > Duration::from_secs(10) {
                break;
            }
            if hog
                .write_all(&request(xid, OpCode::GetData.as_i32(), &req))
                .is_err()
            {
                // The server stopped reading from us: that is the point.
                break;
            }
            sent += 1;
        }
        (hog, sent)
    });
    std::thread::sleep(Duration::from_millis(300));
    let mut worst = Duration::ZERO;
    for i in 0..50 {
        let t = Instant::now();
        let p = format!("{}-fast{i}", by.path);
        assert_eq!(writer.create(&p, b"1", 0).unwrap().header.err, 0);
        assert_eq!(writer.get_data(&p, false).unwrap().header.err, 0);
        worst = worst.max(t.elapsed());
    }
    let (hog, sent) = hog_thread.join().unwrap();
    assert!(sent > 10, "hog could not even send ({sent} requests)");
    assert!(
        worst < Duration::from_secs(2),
        "a non-reading client delayed others: worst {worst:?}"
    );
    drop(hog);
    by.check(srv.addr);
}

macro_rules! both_targets_sync {
    ($($name:ident),* $(,)?) => {
        mod zookeeper { $( #[test] fn $name() { super::$name(testkit::Target::ZooKeeper) } )* }
        mod ferrokeeper { $( #[test] fn $name() { super::$name(testkit::Target::Ferrokeeper) } )* }
    };
}

both_targets_sync!(
    malformed_body_is_refused,
    unknown_op_code_is_unimplemented_then_closed,
    truncated_frame_then_close,
    oversized_length_prefix_closes_connection,
    garbage_bytes_close_connection,
    huge_vector_count_is_refused,
    max_client_cnxns_refuses_extra_connection,
    non_reading_client_does_not_delay_others,
);
