//! Acknowledged writes and sessions survive a restart on the same data directory.

mod common;

use bytes::Bytes;
use common::{start, start_in, RawClient};
use jute::proto::*;
use jute::{Acl, ConnectRequest, CreateOp, OpCode, Record, Request};

fn create(path: &str, data: &[u8], flags: i32) -> Request {
    create_opt(path, Some(Bytes::copy_from_slice(data)), flags)
}

/// `data` `None` creates with null data (buffer length −1), which must come back null.
fn create_opt(path: &str, data: Option<Bytes>, flags: i32) -> Request {
    Request::Create(CreateOp {
        op: OpCode::Create,
        path: path.to_owned(),
        data,
        acl: Acl::open_unsafe(),
        flags,
        ttl: 0,
    })
}

/// The data `getData` answers for `path`: `None` for null data.
async fn data_of(c: &mut RawClient, xid: i32, path: &str) -> Option<Bytes> {
    let (h, mut body) = c
        .call(
            xid,
            &Request::GetData(GetDataRequest {
                path: path.into(),
                watch: false,
            }),
        )
        .await;
    assert_eq!(h.err, 0, "{path} lost");
    GetDataResponse::decode(&mut body).unwrap().data
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_and_sessions_survive_a_restart() {
    let (server, dir) = start("minSessionTimeout=10000\nmaxSessionTimeout=10000\n").await;
    let mut c = RawClient::connect(server.local_addr).await;
    c.call(1, &create("/durable", b"v1", 0)).await;
    c.call(
        2,
        &Request::SetData(SetDataRequest {
            path: "/durable".into(),
            data: Some(Bytes::from_static(b"v2")),
            version: 0,
        }),
    )
    .await;
    for i in 0..200 {
        c.send(10 + i, &create(&format!("/durable/n{i}"), b"x", 2))
            .await;
    }
    for _ in 0..200 {
        c.recv().await;
    }
    c.call(3, &create("/eph", b"", 1)).await;
    c.call(5, &create_opt("/null", None, 0)).await;
    c.call(6, &create("/empty", b"", 0)).await;
    let (last, _) = c
        .call(
            4,
            &Request::Exists(ExistsRequest {
                path: "/eph".into(),
                watch: false,
            }),
        )
        .await;
    let (session_id, passwd) = (c.session_id, c.passwd.clone());
    drop(c);
    server.shutdown();

    let server = start_in(
        dir.path(),
        "minSessionTimeout=10000\nmaxSessionTimeout=10000\n",
    )
    .await;
    let reattach = ConnectRequest {
        last_zxid_seen: last.zxid,
        timeout_ms: 10_000,
        session_id,
        passwd,
        read_only: Some(false),
        ..Default::default()
    };
    let mut c = RawClient::connect_with(server.local_addr, reattach)
        .await
        .expect("the session outlived the restart");
    let (h, mut body) = c
        .call(
            1,
            &Request::GetData(GetDataRequest {
                path: "/durable".into(),
                watch: false,
            }),
        )
        .await;
    assert_eq!(h.err, 0);
    let got = GetDataResponse::decode(&mut body).unwrap();
    assert_eq!(
        (got.data.as_deref().unwrap(), got.stat.version),
        (&b"v2"[..], 1)
    );
    let (h, mut body) = c
        .call(
            2,
            &Request::GetChildren(GetChildrenRequest {
                path: "/durable".into(),
                watch: false,
            }),
        )
        .await;
    assert_eq!(h.err, 0);
    assert_eq!(
        GetChildrenResponse::decode(&mut body)
            .unwrap()
            .children
            .len(),
        200
    );
    let (h, mut body) = c
        .call(
            3,
            &Request::Exists(ExistsRequest {
                path: "/eph".into(),
                watch: false,
            }),
        )
        .await;
    assert_eq!(h.err, 0, "the ephemeral lives as long as its session");
    assert_eq!(
        ExistsResponse::decode(&mut body)
            .unwrap()
            .stat
            .ephemeral_owner,
        session_id
    );
    assert_eq!(data_of(&mut c, 5, "/null").await, None, "null stays null");
    assert_eq!(data_of(&mut c, 6, "/empty").await, Some(Bytes::new()));
    // New writes continue after the recovered zxid.
    let (h, _) = c.call(4, &create("/after", b"", 0)).await;
    assert!(h.zxid > last.zxid);
    server.shutdown();
}

fn snapshot_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("snapshots"))
        .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

/// The hex indexes in the names `<prefix><index>` of `dir`'s files (not `.tmp` ones), sorted.
fn indexes_named(dir: &std::path::Path, prefix: &str) -> Vec<u64> {
    let mut indexes: Vec<u64> = std::fs::read_dir(dir)
        .expect("the directory exists")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|name| u64::from_str_radix(name.strip_prefix(prefix)?, 16).ok())
        .collect();
    indexes.sort();
    indexes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_loads_the_latest_snapshot_plus_the_log_after_it() {
    // 16 KiB log segments: the restart finds some wholly behind the snapshot (left unverified)
    // and the rest after it.
    let cfg = "snapCount=100\npreAllocSize=16\n";
    let (server, dir) = start(cfg).await;
    let mut c = RawClient::connect(server.local_addr).await;
    // Null data in a snapshot (created first) and in the log after it (created last).
    let (h, _) = c.call(10_000, &create_opt("/null-early", None, 0)).await;
    assert_eq!(h.err, 0);
    for i in 0..1_000 {
        let (h, _) = c
            .call(i, &create(&format!("/s{i}"), format!("{i}").as_bytes(), 0))
            .await;
        assert_eq!(h.err, 0);
    }
    let (h, _) = c.call(10_001, &create_opt("/null-late", None, 0)).await;
    assert_eq!(h.err, 0);
    // Snapshots are written in the background; give the last one a moment.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while snapshot_files(dir.path()).is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let files = snapshot_files(dir.path());
    assert!(
        !files.is_empty(),
        "no snapshot after 1,000 txns with snapCount=100"
    );
    assert!(files.len() <= 3, "old snapshots are purged: {files:?}");
    drop(c);
    server.shutdown();
    // The restart below meets at least one segment wholly behind the newest snapshot.
    let newest = indexes_named(&dir.path().join("snapshots"), "snapshot.");
    let segments = indexes_named(&dir.path().join("wal"), "log.");
    let snapshot = *newest.last().expect("a snapshot");
    assert!(
        segments.windows(2).any(|w| w[1] <= snapshot + 1),
        "no log segment behind snapshot {snapshot:#x}: {segments:x?}"
    );

    let server = start_in(dir.path(), cfg).await;
    let mut c = RawClient::connect(server.local_addr).await;
    for i in [0, 499, 999] {
        let (h, mut body) = c
            .call(
                i,
                &Request::GetData(GetDataRequest {
                    path: format!("/s{i}"),
                    watch: false,
                }),
            )
            .await;
        assert_eq!(h.err, 0, "/s{i} lost");
        assert_eq!(
            GetDataResponse::decode(&mut body).unwrap().data.as_deref(),
            Some(format!("{i}").as_bytes())
        );
    }
    assert_eq!(data_of(&mut c, 10_000, "/null-early").await, None);
    assert_eq!(data_of(&mut c, 10_001, "/null-late").await, None);
    let (h, mut body) = c
        .call(
            5,
            &Request::GetAllChildrenNumber(GetAllChildrenNumberRequest { path: "/".into() }),
        )
        .await;
    assert_eq!(h.err, 0);
    // 1,000 nodes, the two null ones, /zookeeper, /zookeeper/quota and /zookeeper/config.
    assert_eq!(
        GetAllChildrenNumberResponse::decode(&mut body)
            .unwrap()
            .total_number,
        1_005
    );
    drop(c);
    server.shutdown();

    // A flipped byte in the newest snapshot: the server refuses to start and names the file.
    let newest = snapshot_files(dir.path()).pop().expect("a snapshot");
    let mut bytes = std::fs::read(&newest).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&newest, bytes).unwrap();
    let config = server::config::ServerConfig::from_str_contents(cfg)
        .unwrap()
        .with_port(0)
        .with_data_dir(dir.path().to_owned());
    let err = server::start(config)
        .await
        .err()
        .expect("refuses a corrupt snapshot");
    let name = newest.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        err.to_string().contains(&name),
        "error names the file: {err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_log_record_stops_the_start_and_names_file_and_offset() {
    let (server, dir) = start("").await;
    let mut c = RawClient::connect(server.local_addr).await;
    for i in 0..50 {
        c.call(i, &create(&format!("/w{i}"), &[b'a'; 100], 0)).await;
    }
    drop(c);
    server.shutdown();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let segment = std::fs::read_dir(dir.path().join("wal"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("log."))
        })
        .expect("a log segment");
    let mut bytes = std::fs::read(&segment).unwrap();
    // Somewhere in the middle: a record with intact records after it, so this is not a torn tail.
    // The segment is preallocated; its records end where the zeros after them start.
    let offset = bytes.iter().rposition(|&b| b != 0).expect("records") / 2;
    bytes[offset] ^= 0xff;
    std::fs::write(&segment, bytes).unwrap();
    let config = server::config::ServerConfig::default()
        .with_port(0)
        .with_data_dir(dir.path().to_owned());
    let err = server::start(config)
        .await
        .err()
        .expect("refuses a corrupt log");
    let text = err.to_string();
    let name = segment.file_name().unwrap().to_string_lossy().into_owned();
    assert!(text.contains(&name), "error names the file: {text}");
    assert!(text.contains("offset"), "error gives the offset: {text}");
    eprintln!("refused as expected: {text}");
}
