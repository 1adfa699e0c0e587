//! The request pipeline over real TCP: ordering, read-your-writes, watch-before-reply, sessions.

mod common;

use bytes::Bytes;
use common::{start, Msg, RawClient};
use jute::proto::*;
use jute::{Acl, ConnectRequest, CreateOp, ErrorCode, EventType, OpCode, Record, Request};

fn create(path: &str, data: &[u8], flags: i32) -> Request {
    Request::Create(CreateOp {
        op: OpCode::Create,
        path: path.to_owned(),
        data: Some(Bytes::copy_from_slice(data)),
        acl: Acl::open_unsafe(),
        flags,
        ttl: 0,
    })
}

fn get(path: &str, watch: bool) -> Request {
    Request::GetData(GetDataRequest {
        path: path.to_owned(),
        watch,
    })
}

fn set(path: &str, data: &[u8]) -> Request {
    Request::SetData(SetDataRequest {
        path: path.to_owned(),
        data: Some(Bytes::copy_from_slice(data)),
        version: -1,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_writes_and_reads_answer_in_order_and_reads_see_own_writes() {
    let (server, _dir) = start("").await;
    let mut c = RawClient::connect(server.local_addr).await;
    let n = 300;
    for i in 0..n {
        let path = format!("/p{i}");
        c.send(2 * i, &create(&path, format!("v{i}").as_bytes(), 0))
            .await;
        c.send(2 * i + 1, &get(&path, false)).await;
    }
    let mut last_zxid = 0;
    for i in 0..n {
        let Msg::Reply { header, mut body } = c.recv().await else {
            panic!("unexpected event")
        };
        assert_eq!((header.xid, header.err), (2 * i, 0));
        assert!(header.zxid > last_zxid, "write zxids increase");
        last_zxid = header.zxid;
        assert_eq!(
            CreateResponse::decode(&mut body).unwrap().path,
            format!("/p{i}")
        );
        let Msg::Reply { header, mut body } = c.recv().await else {
            panic!("unexpected event")
        };
        assert_eq!((header.xid, header.err), (2 * i + 1, 0));
        let data = GetDataResponse::decode(&mut body).unwrap();
        assert_eq!(data.data.as_deref().unwrap(), format!("v{i}").as_bytes());
        assert_eq!(
            data.stat.czxid, last_zxid,
            "the read saw its session's write"
        );
    }
    server.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_event_arrives_before_the_read_that_follows_the_change() {
    let (server, _dir) = start("").await;
    let mut watcher = RawClient::connect(server.local_addr).await;
    let mut writer = RawClient::connect(server.local_addr).await;
    writer.call(1, &create("/w", b"a", 0)).await;
    let (h, _) = watcher.call(1, &get("/w", true)).await;
    assert_eq!(h.err, 0);
    let (set_reply, _) = writer.call(2, &set("/w", b"b")).await;
    watcher.send(2, &get("/w", false)).await;
    match watcher.recv().await {
        Msg::Event { zxid, event } => {
            assert_eq!(event.event_type, EventType::NodeDataChanged as i32);
            assert_eq!(event.path, "/w");
            assert_eq!(
                zxid, set_reply.zxid,
                "the event carries the triggering zxid"
            );
        }
        other => panic!("expected the event first, got {other:?}"),
    }
    let Msg::Reply { header, mut body } = watcher.recv().await else {
        panic!("expected the reply")
    };
    assert_eq!(header.xid, 2);
    assert_eq!(
        GetDataResponse::decode(&mut body)
            .unwrap()
            .data
            .as_deref()
            .unwrap(),
        b"b"
    );
    // One-shot: a second change fires nothing; the next message is the next reply.
    writer.call(3, &set("/w", b"c")).await;
    let (h, _) = watcher
        .call(
            3,
            &Request::Exists(ExistsRequest {
                path: "/w".into(),
                watch: false,
            }),
        )
        .await;
    assert_eq!(h.err, 0);
    server.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_reattaches_from_a_new_connection_and_wrong_password_is_expired() {
    let (server, _dir) = start("").await;
    let mut first = RawClient::connect(server.local_addr).await;
    first.call(1, &create("/eph", b"", 1)).await;
    let reattach = ConnectRequest {
        last_zxid_seen: 0,
        timeout_ms: 10_000,
        session_id: first.session_id,
        passwd: first.passwd.clone(),
        read_only: None,
        ..Default::default()
    };
    let mut second = RawClient::connect_with(server.local_addr, reattach.clone())
        .await
        .expect("re-attached");
    assert_eq!(second.session_id, first.session_id);
    assert!(
        first.frame().await.is_none(),
        "the old connection is closed"
    );
    let (h, _) = second
        .call(
            1,
            &Request::Exists(ExistsRequest {
                path: "/eph".into(),
                watch: false,
            }),
        )
        .await;
    assert_eq!(h.err, 0, "the ephemeral survived the move");
    let wrong = ConnectRequest {
        passwd: Bytes::from_static(&[9; 16]),
        ..reattach
    };
    assert!(RawClient::connect_with(server.local_addr, wrong)
        .await
        .is_none());
    server.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_session_loses_ephemerals_and_watchers_hear_it() {
    let (server, _dir) = start("minSessionTimeout=200\nmaxSessionTimeout=200\n").await;
    let mut doomed = RawClient::connect(server.local_addr).await;
    assert_eq!(doomed.timeout_ms, 200, "timeout negotiated into [min, max]");
    doomed.call(1, &create("/gone", b"", 1)).await;
    let mut watcher = RawClient::connect(server.local_addr).await;
    watcher.call(1, &get("/gone", true)).await;
    // The doomed client goes silent; the watcher keeps its session alive with pings.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        watcher.send(jute::xid::PING, &Request::Ping).await;
        match watcher.recv().await {
            Msg::Reply { header, .. } => assert_eq!(header.xid, jute::xid::PING),
            Msg::Event { event, .. } => {
                assert_eq!(event.event_type, EventType::NodeDeleted as i32);
                assert_eq!(event.path, "/gone");
                break;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "session never expired"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        doomed.frame().await.is_none(),
        "the expired session's connection is closed"
    );
    server.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_ahead_of_server_is_refused_and_close_session_deletes_ephemerals() {
    let (server, _dir) = start("").await;
    let ahead = ConnectRequest {
        last_zxid_seen: 1 << 40,
        timeout_ms: 10_000,
        passwd: Bytes::from_static(&[0; 16]),
        ..Default::default()
    };
    assert!(RawClient::connect_with(server.local_addr, ahead)
        .await
        .is_none());

    let mut c = RawClient::connect(server.local_addr).await;
    c.call(1, &create("/e1", b"", 1)).await;
    let (h, _) = c.call(2, &Request::CloseSession).await;
    assert_eq!(h.err, 0);
    assert!(c.frame().await.is_none(), "closed after closeSession");
    let mut other = RawClient::connect(server.local_addr).await;
    let (h, _) = other
        .call(
            1,
            &Request::Exists(ExistsRequest {
                path: "/e1".into(),
                watch: false,
            }),
        )
        .await;
    assert_eq!(h.err, ErrorCode::NoNode.as_i32());
    server.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_pipelined_behind_close_session_get_no_answer() {
    let (server, _dir) = start("").await;
    for round in 0..20 {
        let mut c = RawClient::connect(server.local_addr).await;
        // In one write: the server may close as soon as it answered the close, and a client
        // still writing to a closed connection gets a reset, not the answers.
        let mut requests = vec![(1, Request::CloseSession)];
        requests.extend((2..50).map(|xid| (xid, get("/", false))));
        c.send_all(&requests).await;
        let Msg::Reply { header, .. } = c.recv().await else {
            panic!("unexpected event")
        };
        assert_eq!((header.xid, header.err), (1, 0));
        // As in ZooKeeper, a closed session's connection answers nothing more.
        assert!(
            c.frame().await.is_none(),
            "round {round}: a reply followed closeSession's"
        );
    }
    server.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_malformed_frames_close_only_their_connection() {
    let (server, _dir) = start("").await;
    let mut good = RawClient::connect(server.local_addr).await;
    good.call(1, &create("/keep", b"safe", 0)).await;

    let mut big = RawClient::connect(server.local_addr).await;
    use tokio::io::AsyncWriteExt;
    big.stream
        .write_all(&(64i32 << 20).to_be_bytes())
        .await
        .unwrap();
    assert!(
        big.frame().await.is_none(),
        "oversized length prefix closes the connection"
    );

    let mut garbage = RawClient::connect(server.local_addr).await;
    garbage.send_raw(&[0, 0, 0, 1, 0, 0, 0, 4, 0xff]).await;
    assert!(
        garbage.frame().await.is_none(),
        "malformed request closes the connection"
    );

    let (h, mut body) = good.call(2, &get("/keep", false)).await;
    assert_eq!(h.err, 0);
    assert_eq!(
        GetDataResponse::decode(&mut body)
            .unwrap()
            .data
            .as_deref()
            .unwrap(),
        b"safe"
    );
    server.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_does_not_delay_others() {
    let (server, _dir) = start("globalOutstandingLimit=10\n").await;
    let mut stalled = RawClient::connect(server.local_addr).await;
    let big = vec![7u8; 512 * 1024];
    stalled.call(1, &create("/big", &big, 0)).await;
    // Thousands of 512 KiB replies the client never reads: the server must stop reading from it
    // (backpressure) instead of buffering gigabytes, and keep serving everyone else.
    let flood = tokio::spawn(async move {
        for xid in 2..20_000 {
            stalled.send(xid, &get("/big", false)).await;
        }
        stalled
    });
    let mut other = RawClient::connect(server.local_addr).await;
    for i in 0..200 {
        let path = format!("/o{i}");
        let (h, _) = other.call(2 * i, &create(&path, b"x", 0)).await;
        assert_eq!(h.err, 0);
        let (h, mut body) = other.call(2 * i + 1, &get(&path, false)).await;
        assert_eq!(h.err, 0);
        assert_eq!(
            GetDataResponse::decode(&mut body)
                .unwrap()
                .data
                .as_deref()
                .unwrap(),
            b"x"
        );
    }
    // The server never takes more than globalOutstandingLimit requests off this connection.
    let mut peak = 0;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while tokio::time::Instant::now() < deadline {
        let stat = common::four_letter_word(server.local_addr, "stat").await;
        let outstanding: usize = stat
            .lines()
            .find_map(|l| l.strip_prefix("Outstanding: "))
            .and_then(|n| n.trim().parse().ok())
            .expect("stat reports Outstanding");
        assert!(
            outstanding <= 10,
            "the server kept reading from a client that does not read: {outstanding} outstanding"
        );
        peak = peak.max(outstanding);
        if peak >= 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(peak >= 1, "the flood never reached the server");
    flood.abort();
    server.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_cannot_open_the_same_data_directory() {
    let (first, dir) = start("").await;
    let config = server::config::ServerConfig::default()
        .with_port(0)
        .with_data_dir(dir.path().to_owned());
    let err = server::start(config.clone())
        .await
        .err()
        .expect("second server refused");
    assert!(err.to_string().contains("in use"), "{err}");
    first.shutdown();
    // Dropping the first server releases the lock.
    let again = server::start(config).await.expect("lock released");
    again.shutdown();
}

/// Null data (a create or setData with a null buffer) is answered as a null buffer, apart from
/// empty data, by getData and by a multiRead's getData, as ZooKeeper does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn null_data_is_answered_as_null_by_get_data_and_multi_read() {
    let (server, _dir) = start("").await;
    let mut c = RawClient::connect(server.local_addr).await;
    let null_create = Request::Create(CreateOp {
        op: OpCode::Create,
        path: "/null".into(),
        data: None,
        acl: Acl::open_unsafe(),
        flags: 0,
        ttl: 0,
    });
    assert_eq!(c.call(1, &null_create).await.0.err, 0);
    assert_eq!(c.call(2, &create("/empty", b"", 0)).await.0.err, 0);
    let (h, mut body) = c.call(3, &get("/null", false)).await;
    assert_eq!(h.err, 0);
    let reply = GetDataResponse::decode(&mut body).unwrap();
    assert_eq!((reply.data, reply.stat.data_length), (None, 0));
    let (_, mut body) = c.call(4, &get("/empty", false)).await;
    assert_eq!(
        GetDataResponse::decode(&mut body).unwrap().data,
        Some(Bytes::new())
    );

    let read = |path: &str| {
        jute::MultiOp::GetData(GetDataRequest {
            path: path.into(),
            watch: false,
        })
    };
    let (h, mut body) = c
        .call(5, &Request::MultiRead(vec![read("/null"), read("/empty")]))
        .await;
    assert_eq!(h.err, 0);
    let data: Vec<Option<Bytes>> = jute::multi::decode_multi_response(&mut body)
        .unwrap()
        .into_iter()
        .map(|r| match r {
            jute::MultiResult::GetData { data, .. } => data,
            other => panic!("not a getData result: {other:?}"),
        })
        .collect();
    assert_eq!(data, [None, Some(Bytes::new())]);

    // A null setData makes empty data null; a non-null one makes it data again.
    let set_null = Request::SetData(SetDataRequest {
        path: "/empty".into(),
        data: None,
        version: -1,
    });
    assert_eq!(c.call(6, &set_null).await.0.err, 0);
    assert_eq!(c.call(7, &set("/null", b"")).await.0.err, 0);
    let (_, mut body) = c.call(8, &get("/empty", false)).await;
    assert_eq!(GetDataResponse::decode(&mut body).unwrap().data, None);
    let (_, mut body) = c.call(9, &get("/null", false)).await;
    assert_eq!(
        GetDataResponse::decode(&mut body).unwrap().data,
        Some(Bytes::new())
    );
    server.shutdown();
}
