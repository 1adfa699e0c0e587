//! Sessions: timeout negotiation, expiry (ephemerals vanish, watchers fire), closing, re-attaching
//! from a new connection with the right and wrong password, and watch re-registration.

mod common;

use bytes::Bytes;
use common::{both_targets, persistent, within, Ctx};
use jute::proto::SetWatches;
use jute::{ConnectRequest, OpCode, Record};
use std::time::{Duration, Instant};
use testkit::raw::{RawClient, RawError};
use zk::{CreateMode, EventType};
use zookeeper_client as zk;

fn reattach(
    ctx: &Ctx,
    session_id: i64,
    passwd: Bytes,
    last_zxid: i64,
) -> Result<RawClient, RawError> {
    let req = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: last_zxid,
        timeout_ms: 10_000,
        session_id,
        passwd,
        read_only: Some(false),
    };
    RawClient::connect_with(ctx.server.addr, &req).map(|(c, _)| c)
}

async fn timeout_is_negotiated_into_bounds(ctx: Ctx) {
    tokio::task::spawn_blocking(move || {
        let min = ctx.server.config.min_session_timeout_ms.unwrap() as i32;
        let max = ctx.server.config.max_session_timeout_ms.unwrap() as i32;
        let low = RawClient::connect(ctx.server.addr, 10).unwrap();
        assert_eq!(low.timeout_ms, min);
        let high = RawClient::connect(ctx.server.addr, 10_000_000).unwrap();
        assert_eq!(high.timeout_ms, max);
        let mid = RawClient::connect(ctx.server.addr, 4321).unwrap();
        assert_eq!(mid.timeout_ms, 4321);
        assert_eq!(mid.passwd.len(), 16, "session passwords are 16 bytes");
        assert_ne!(low.session_id, high.session_id);
    })
    .await
    .unwrap();
}

async fn expiry_removes_ephemerals_and_fires_watches(ctx: Ctx) {
    let watcher = ctx.client().await;
    let dir = ctx.path("exp");
    watcher.create(&dir, b"", &persistent()).await.unwrap();
    let eph = format!("{dir}/e");
    let (mut doomed, id, pw) = {
        let dir = dir.clone();
        let eph = eph.clone();
        let addr = ctx.server.addr;
        tokio::task::spawn_blocking(move || {
            // A raw session never pings, so it expires after its (minimum) timeout.
            let mut c = RawClient::connect(addr, 1000).unwrap();
            assert_eq!(c.create(&eph, b"", 1).unwrap().header.err, 0);
            assert_eq!(
                c.create(&format!("{dir}/s-"), b"", 3).unwrap().header.err,
                0
            );
            let (id, pw) = (c.session_id, c.passwd.clone());
            (c, id, pw)
        })
        .await
        .unwrap()
    };
    // The watcher may be on another ensemble member: sync so it has applied the other
    // session's creates (ZooKeeper orders only a client's own writes before its reads).
    watcher.sync(&dir).await.unwrap();
    let (_, _, data_watch) = watcher.get_and_watch_data(&eph).await.unwrap();
    let (kids, child_watch) = watcher.list_and_watch_children(&dir).await.unwrap();
    assert_eq!(kids.len(), 2);
    let started = Instant::now();
    let ev = within("NodeDeleted on expiry", data_watch.changed()).await;
    assert_eq!(
        (ev.event_type, ev.path.as_str()),
        (EventType::NodeDeleted, eph.as_str())
    );
    let ev = within("NodeChildrenChanged on expiry", child_watch.changed()).await;
    assert_eq!(ev.event_type, EventType::NodeChildrenChanged);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "expiry took {:?}",
        started.elapsed()
    );
    assert!(watcher.list_children(&dir).await.unwrap().is_empty());
    tokio::task::spawn_blocking({
        let ctx = ctx.clone();
        move || {
            // In an ensemble the watcher may be on another member than the doomed session, and
            // the doomed session's member applies the expiry only when it catches up (ZooKeeper's
            // followers too). Once a sync through that member shows the expiry applied there...
            let mut checker = RawClient::connect(ctx.server.addr, 10_000).unwrap();
            let sync = jute::proto::SyncRequest { path: dir.clone() };
            assert_eq!(
                checker.call_record(OpCode::Sync, &sync).unwrap().header.err,
                0
            );
            assert_eq!(checker.exists(&eph, false).unwrap().header.err, -101);
            // ...the member has dropped the expired session's connection: nothing is answered.
            doomed.set_read_timeout(Duration::from_secs(5)).unwrap();
            let after = doomed.exists("/", false);
            assert!(after.is_err(), "expired session still answered: {after:?}");
            // Re-attaching an expired session is refused.
            match reattach(&ctx, id, pw, 0) {
                Err(RawError::Expired) => {}
                other => panic!("expected an expired-session answer, got {other:?}"),
            }
        }
    })
    .await
    .unwrap();
}

async fn close_removes_ephemerals_at_once(ctx: Ctx) {
    let p = ctx.path("closed");
    tokio::task::spawn_blocking(move || {
        let mut a = ctx.raw();
        let mut b = ctx.raw();
        assert_eq!(a.create(&p, b"", 1).unwrap().header.err, 0);
        assert_eq!(b.exists(&p, true).unwrap().header.err, 0);
        let (id, pw) = (a.session_id, a.passwd.clone());
        a.close().unwrap();
        // closeSession is a transaction: it is visible to every read that follows it.
        assert_eq!(b.exists(&p, false).unwrap().header.err, -101);
        let events = b.take_events();
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].1.event_type, 2);
        assert!(matches!(reattach(&ctx, id, pw, 0), Err(RawError::Expired)));
    })
    .await
    .unwrap();
}

async fn reattach_with_password_keeps_session(ctx: Ctx) {
    let p = ctx.path("kept");
    let first = ctx
        .client_with(zk::Client::connector().with_detached())
        .await;
    let (stat, _) = first
        .create(&p, b"", &common::mode(CreateMode::Ephemeral))
        .await
        .unwrap();
    let info = first.session().clone();
    let id = first.session_id();
    drop(first);
    let second = ctx
        .client_with(zk::Client::connector().with_session(info))
        .await;
    assert_eq!(
        second.session_id(),
        id,
        "re-attached to a different session"
    );
    let (_, now) = second.get_data(&p).await.unwrap();
    assert_eq!(now.ephemeral_owner, stat.ephemeral_owner);
    tokio::task::spawn_blocking(move || {
        let mut a = ctx.raw();
        let (id, pw) = (a.session_id, a.passwd.clone());
        let eph = format!("{p}-raw");
        assert_eq!(a.create(&eph, b"", 1).unwrap().header.err, 0);
        let mut b = reattach(&ctx, id, pw.clone(), 0).expect("same id and password re-attach");
        assert_eq!(b.session_id, id);
        assert_eq!(b.passwd, pw);
        let st = b.exists(&eph, false).unwrap();
        assert_eq!(st.header.err, 0);
        let stat: jute::Stat = st.decode().unwrap();
        assert_eq!(stat.ephemeral_owner, id);
        // The old connection is closed once the session moves to the new one.
        a.set_read_timeout(Duration::from_secs(5)).unwrap();
        assert!(
            a.exists("/", false).is_err(),
            "old connection still serves the moved session"
        );
        b.close().unwrap();
    })
    .await
    .unwrap();
}

async fn reattach_with_wrong_password_is_expired(ctx: Ctx) {
    tokio::task::spawn_blocking(move || {
        let a = ctx.raw();
        let mut wrong = a.passwd.to_vec();
        wrong[0] ^= 0xff;
        match reattach(&ctx, a.session_id, Bytes::from(wrong), 0) {
            Err(RawError::Expired) => {}
            other => panic!("wrong password must be refused as expired, got {other:?}"),
        }
        match reattach(&ctx, 0x7abc_0000_0000_0001, Bytes::from(vec![0u8; 16]), 0) {
            Err(RawError::Expired) => {}
            other => panic!("unknown session must be refused as expired, got {other:?}"),
        }
        // The real session is unharmed.
        let mut again = reattach(&ctx, a.session_id, a.passwd.clone(), 0).unwrap();
        assert_eq!(again.exists("/", false).unwrap().header.err, 0);
    })
    .await
    .unwrap();
}

async fn set_watches_on_reconnect_fires_missed_events(ctx: Ctx) {
    let dir = ctx.path("sw");
    tokio::task::spawn_blocking(move || {
        let mut a = ctx.raw();
        let mut b = ctx.raw();
        let data = format!("{dir}/data");
        let later = format!("{dir}/later");
        assert_eq!(a.create(&dir, b"", 0).unwrap().header.err, 0);
        assert_eq!(a.create(&data, b"0", 0).unwrap().header.err, 0);
        let seen = a.get_data(&data, true).unwrap().header.zxid;
        let (id, pw) = (a.session_id, a.passwd.clone());
        // Drop the TCP connection without closing the session.
        drop(a);
        assert_eq!(b.set_data(&data, b"1", -1).unwrap().header.err, 0);
        assert_eq!(b.create(&later, b"", 0).unwrap().header.err, 0);
        assert_eq!(
            b.create(&format!("{dir}/kid"), b"", 0).unwrap().header.err,
            0
        );
        let mut a = reattach(&ctx, id, pw, seen).unwrap();
        let sw = SetWatches {
            relative_zxid: seen,
            data_watches: vec![data.clone()],
            exist_watches: vec![later.clone()],
            child_watches: vec![dir.clone()],
        };
        a.send_with_xid(
            jute::xid::SET_WATCHES,
            OpCode::SetWatches.as_i32(),
            &sw.to_bytes(),
        )
        .unwrap();
        let reply = a.read_reply().unwrap();
        assert_eq!(
            (reply.header.xid, reply.header.err),
            (jute::xid::SET_WATCHES, 0)
        );
        a.ping().unwrap();
        let mut got: Vec<(i32, String)> = a
            .take_events()
            .into_iter()
            .map(|(_, e)| (e.event_type, e.path))
            .collect();
        got.sort();
        assert_eq!(got, vec![(1, later), (3, data), (4, dir)]);
    })
    .await
    .unwrap();
}

both_targets!(
    timeout_is_negotiated_into_bounds,
    expiry_removes_ephemerals_and_fires_watches,
    close_removes_ephemerals_at_once,
    reattach_with_password_keeps_session,
    reattach_with_wrong_password_is_expired,
    set_watches_on_reconnect_fires_missed_events,
);
