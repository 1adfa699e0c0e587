//! Sessions: timeout negotiation, pings, close, expiry, and reconnects (through a proxy that
//! drops, refuses or freezes connections) that keep the session, its ephemerals and its watches.

use crate::common::{both_targets, drain_states, eventually, wait_state, within, Ctx};
use bytes::Bytes;
use client::{AddWatchMode, Client, CreateOptions, Error, EventType, KeeperState, SessionState};
use jute::proto::{RequestHeader, SetWatches, SetWatches2};
use jute::{ConnectRequest, OpCode, Reader, Record};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use testkit::proxy::Proxy;

async fn timeout_is_negotiated_and_session_reported(ctx: Ctx) {
    let min = ctx.server.config.min_session_timeout_ms.unwrap() as u64;
    let max = ctx.server.config.max_session_timeout_ms.unwrap() as u64;
    let low = ctx
        .client_with(
            Client::builder().session_timeout(Duration::from_millis(10)),
            &ctx.connect_string(),
        )
        .await;
    assert_eq!(low.session().timeout, Duration::from_millis(min));
    let high = ctx
        .client_with(
            Client::builder().session_timeout(Duration::from_secs(3600)),
            &ctx.connect_string(),
        )
        .await;
    assert_eq!(high.session().timeout, Duration::from_millis(max));
    let info = high.session();
    assert_ne!(info.id, 0);
    assert_ne!(info.id, low.session_id());
    assert_eq!(info.password.len(), 16);
    assert_eq!(info.server.as_deref(), Some(ctx.connect_string().as_str()));
    assert_eq!(high.state(), SessionState::Connected);
}

async fn close_ends_the_session_and_the_client(ctx: Ctx) {
    let c = ctx.client().await;
    let observer = ctx.client().await;
    let e = ctx.path("e");
    c.create(&e, b"", &CreateOptions::ephemeral())
        .await
        .unwrap();
    let (_, watch) = c.exists_w(&ctx.path("never")).await.unwrap();
    let mut stream = c
        .add_watch(&ctx.root, AddWatchMode::Persistent)
        .await
        .unwrap();
    let mut states = c.state_events();
    c.close().await.unwrap();
    assert_eq!(
        observer.exists(&e).await,
        Ok(None),
        "ephemeral gone at close"
    );
    assert_eq!(c.state(), SessionState::Closed);
    assert_eq!(drain_states(&mut states), [SessionState::Closed]);
    assert_eq!(c.get_data(&ctx.root).await, Err(Error::Closed));
    assert_eq!(c.close().await, Ok(()), "closing twice is harmless");
    let ev = within("watch end", watch).await;
    assert_eq!(
        (ev.event_type, ev.state),
        (EventType::None, KeeperState::Closed)
    );
    // Closing deleted the ephemeral, a child of the watched node: the server reports that first.
    let mut ev = within("stream end event", stream.next()).await.unwrap();
    eprintln!("{}: after close: {ev:?}", ctx.target);
    if ev.event_type == EventType::NodeChildrenChanged {
        ev = within("stream end event", stream.next()).await.unwrap();
    }
    assert_eq!(
        (ev.event_type, ev.state),
        (EventType::None, KeeperState::Closed)
    );
    assert_eq!(stream.next().await, None);
}

async fn dropping_every_handle_closes_the_session(ctx: Ctx) {
    let observer = ctx.client().await;
    let e = ctx.path("e");
    {
        let c = ctx.client().await;
        let c2 = c.clone();
        c2.create(&e, b"", &CreateOptions::ephemeral())
            .await
            .unwrap();
    }
    eventually(
        "ephemeral removed by the implicit close",
        Duration::from_secs(5),
        || async { observer.exists(&e).await.unwrap().is_none() },
    )
    .await;
}

async fn pings_keep_an_idle_session_alive(ctx: Ctx) {
    let c = ctx
        .client_with(
            Client::builder().session_timeout(Duration::from_millis(1500)),
            &ctx.connect_string(),
        )
        .await;
    assert_eq!(c.session().timeout, Duration::from_millis(1500));
    let e = ctx.path("e");
    c.create(&e, b"", &CreateOptions::ephemeral())
        .await
        .unwrap();
    let mut states = c.state_events();
    // Idle for more than two session timeouts: only pings keep it.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_eq!(
        drain_states(&mut states),
        [],
        "the connection never dropped"
    );
    let observer = ctx.client().await;
    assert!(
        observer.exists(&e).await.unwrap().is_some(),
        "session still alive"
    );
    assert!(c.exists(&e).await.unwrap().is_some());
}

async fn expiry_is_reported_and_ends_the_client(ctx: Ctx) {
    let proxy = Proxy::start(ctx.server.addr).await;
    let c = ctx
        .client_with(
            Client::builder().session_timeout(Duration::from_millis(1000)),
            &proxy.connect_string(),
        )
        .await;
    let observer = ctx.client().await;
    let e = ctx.path("e");
    c.create(&e, b"", &CreateOptions::ephemeral())
        .await
        .unwrap();
    let (_, _, watch) = c.get_data_w(&ctx.root).await.unwrap();
    let mut stream = c
        .add_watch(&ctx.root, AddWatchMode::PersistentRecursive)
        .await
        .unwrap();
    let mut states = c.state_events();
    proxy.set_blocked(true);
    wait_state(&c, SessionState::Disconnected).await;
    eventually("server-side expiry", Duration::from_secs(10), || async {
        observer.exists(&e).await.unwrap().is_none()
    })
    .await;
    proxy.set_blocked(false);
    wait_state(&c, SessionState::Expired).await;
    assert_eq!(
        drain_states(&mut states),
        [SessionState::Disconnected, SessionState::Expired]
    );
    assert_eq!(c.exists("/").await, Err(Error::SessionExpired));
    let ev = within("watch end", watch).await;
    assert_eq!(
        (ev.event_type, ev.state),
        (EventType::None, KeeperState::Expired)
    );
    // The deletion of the ephemeral happened while disconnected: not delivered.
    let ev = within("stream end event", stream.next()).await.unwrap();
    assert_eq!(
        (ev.event_type, ev.state),
        (EventType::None, KeeperState::Expired)
    );
    assert_eq!(stream.next().await, None);
}

fn decode_connect(body: &Bytes) -> ConnectRequest {
    ConnectRequest::decode(&mut Reader::new(body.clone())).expect("connect request")
}

/// The setWatches packets a connection carried: (relative zxid, data, exist, child, persistent,
/// recursive) merged, and each packet's size.
fn set_watches_on(
    frames: &[(usize, Bytes)],
    conn: usize,
) -> (Vec<i64>, [BTreeSet<String>; 5], Vec<usize>) {
    let mut zxids = Vec::new();
    let mut lists: [BTreeSet<String>; 5] = Default::default();
    let mut sizes = Vec::new();
    for (_, body) in frames.iter().filter(|(c, _)| *c == conn).skip(1) {
        let mut r = Reader::new(body.clone());
        let h = RequestHeader::decode(&mut r).unwrap();
        if h.xid != jute::xid::SET_WATCHES {
            continue;
        }
        sizes.push(body.len());
        if h.op == OpCode::SetWatches2.as_i32() {
            let sw = SetWatches2::decode(&mut r).unwrap();
            zxids.push(sw.relative_zxid);
            lists[0].extend(sw.data_watches);
            lists[1].extend(sw.exist_watches);
            lists[2].extend(sw.child_watches);
            lists[3].extend(sw.persistent_watches);
            lists[4].extend(sw.persistent_recursive_watches);
        } else {
            assert_eq!(h.op, OpCode::SetWatches.as_i32());
            let sw = SetWatches::decode(&mut r).unwrap();
            zxids.push(sw.relative_zxid);
            lists[0].extend(sw.data_watches);
            lists[1].extend(sw.exist_watches);
            lists[2].extend(sw.child_watches);
        }
    }
    (zxids, lists, sizes)
}

async fn reconnect_keeps_session_ephemerals_and_watches(ctx: Ctx) {
    let proxy = Proxy::start(ctx.server.addr).await;
    let c = ctx
        .client_with(Client::builder(), &proxy.connect_string())
        .await;
    let other = ctx.client().await;
    let (d, m, k, e) = (ctx.path("d"), ctx.path("m"), ctx.path("k"), ctx.path("e"));
    c.create(&d, b"0", &CreateOptions::persistent())
        .await
        .unwrap();
    c.create(&k, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    c.create(&e, b"", &CreateOptions::ephemeral())
        .await
        .unwrap();
    let (_, _, data_watch) = c.get_data_w(&d).await.unwrap();
    let (_, exist_watch) = c.exists_w(&m).await.unwrap();
    let (_, child_watch) = c.get_children_w(&k).await.unwrap();
    let mut recursive = c
        .add_watch(&ctx.root, AddWatchMode::PersistentRecursive)
        .await
        .unwrap();
    let id = c.session_id();
    let password = c.session().password;
    let zxid_before = c.last_zxid();
    assert!(zxid_before > 0);
    let mut states = c.state_events();

    proxy.set_blocked(true);
    wait_state(&c, SessionState::Disconnected).await;
    assert_eq!(
        c.get_data(&d).await,
        Err(Error::ConnectionLoss),
        "no server reachable"
    );
    // Changes the client misses while it is away.
    let missed = other.set_data(&d, b"1", None).await.unwrap().mzxid;
    other
        .create(&m, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    other
        .create(&format!("{k}/kid"), b"", &CreateOptions::persistent())
        .await
        .unwrap();
    proxy.set_blocked(false);
    wait_state(&c, SessionState::Connected).await;
    assert_eq!(
        drain_states(&mut states),
        [SessionState::Disconnected, SessionState::Connected]
    );
    assert_eq!(c.session_id(), id, "same session");

    // The server fired what the client missed, once the watches were set again.
    let ev = within("missed data change", data_watch).await;
    assert_eq!(
        (ev.event_type, ev.path.as_str()),
        (EventType::NodeDataChanged, d.as_str())
    );
    let ev = within("missed creation", exist_watch).await;
    assert_eq!(
        (ev.event_type, ev.path.as_str()),
        (EventType::NodeCreated, m.as_str())
    );
    let ev = within("missed child", child_watch).await;
    assert_eq!(
        (ev.event_type, ev.path.as_str()),
        (EventType::NodeChildrenChanged, k.as_str())
    );
    assert!(other.exists(&e).await.unwrap().is_some(), "ephemeral kept");
    c.exists(&e).await.unwrap();
    assert!(
        c.last_zxid() >= missed,
        "replies after the reconnect carry newer zxids"
    );

    // The recursive watch is registered again: a new change reaches it. Before it come the
    // missed events fired for the one-shot watches, which the client hands to every matching
    // watch as ZooKeeper's client does; the server fires nothing missed for persistent watches
    // themselves (so the child created under `k` while away is not reported).
    let after = ctx.path("after");
    other
        .create(&after, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let mut seen = Vec::new();
    for _ in 0..3 {
        let ev = within("recursive watch after reconnect", recursive.next())
            .await
            .unwrap();
        seen.push((ev.event_type, ev.path));
    }
    assert_eq!(
        seen,
        [
            (EventType::NodeDataChanged, d.clone()),
            (EventType::NodeCreated, m.clone()),
            (EventType::NodeCreated, after.clone()),
        ]
    );

    // What went on the wire: the re-attach handshake and the re-registration.
    let frames = proxy.frames();
    let first = decode_connect(&frames.iter().find(|(c, _)| *c == 0).unwrap().1);
    assert_eq!((first.session_id, first.read_only), (0, Some(false)));
    let again = decode_connect(&frames.iter().find(|(c, _)| *c == 1).unwrap().1);
    assert_eq!(again.session_id, id);
    assert_eq!(again.passwd, password);
    assert_eq!(
        again.last_zxid_seen, zxid_before,
        "lastZxidSeen carried over"
    );
    let (zxids, lists, _) = set_watches_on(&frames, 1);
    assert_eq!(zxids, [zxid_before]);
    let set = |v: &[&String]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(lists[0], set(&[&d]));
    assert_eq!(lists[1], set(&[&m]));
    assert_eq!(lists[2], set(&[&k]));
    assert_eq!(lists[4], set(&[&ctx.root]));
}

async fn silent_server_is_detected_and_in_flight_requests_fail(ctx: Ctx) {
    let proxy = Proxy::start(ctx.server.addr).await;
    let c = ctx
        .client_with(
            Client::builder().session_timeout(Duration::from_millis(3000)),
            &proxy.connect_string(),
        )
        .await;
    let id = c.session_id();
    let mut states = c.state_events();
    proxy.freeze();
    let started = Instant::now();
    // In flight on a connection that will never answer.
    let stuck = c.get_data(&ctx.root).await;
    assert_eq!(stuck, Err(Error::ConnectionLoss));
    let waited = started.elapsed();
    // Declared dead after 2/3 of the timeout (2 s) without a byte, as ZooKeeper's client does;
    // the last ping's answer may have come up to a ping interval (1 s) before the freeze.
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_millis(3500),
        "{waited:?}"
    );
    wait_state(&c, SessionState::Connected).await;
    assert_eq!(
        drain_states(&mut states),
        [SessionState::Disconnected, SessionState::Connected]
    );
    assert_eq!(c.session_id(), id);
    assert_eq!(proxy.accepted(), 2);
    c.get_data(&ctx.root).await.unwrap();
}

async fn moves_to_another_server_of_the_list(ctx: Ctx) {
    let p1 = Proxy::start(ctx.server.addr).await;
    let p2 = Proxy::start(ctx.server.addr).await;
    let list = format!("{},{}", p1.connect_string(), p2.connect_string());
    let c = ctx.client_with(Client::builder(), &list).await;
    let id = c.session_id();
    let (used, spare) = if p1.accepted() == 1 {
        (&p1, &p2)
    } else {
        (&p2, &p1)
    };
    assert_eq!(used.accepted() + spare.accepted(), 1);
    assert_eq!(c.session().server, Some(used.connect_string()));
    used.set_blocked(true);
    let mut states = c.state_watch();
    within("reconnect elsewhere", async {
        loop {
            states.changed().await.unwrap();
            if c.state() == SessionState::Connected
                && c.session().server == Some(spare.connect_string())
            {
                break;
            }
        }
    })
    .await;
    assert_eq!(c.session_id(), id);
    c.exists("/").await.unwrap();
}

async fn many_watches_are_re_registered_in_chunks(ctx: Ctx) {
    let proxy = Proxy::start(ctx.server.addr).await;
    let c = ctx
        .client_with(Client::builder(), &proxy.connect_string())
        .await;
    let other = ctx.client().await;
    let pad = "x".repeat(90);
    let paths: Vec<String> = (0..2500)
        .map(|i| ctx.path(&format!("w{i:05}-{pad}")))
        .collect();
    let mut set = tokio::task::JoinSet::new();
    for p in paths.clone() {
        let c = c.clone();
        set.spawn(async move { c.exists_w(&p).await.map(|(s, w)| (p, s, w)) });
    }
    let mut watches = std::collections::HashMap::new();
    while let Some(r) = set.join_next().await {
        let (p, stat, w) = r.unwrap().unwrap();
        assert!(stat.is_none());
        watches.insert(p, w);
    }
    proxy.drop_connections();
    eventually("reconnect", Duration::from_secs(10), || async {
        proxy.accepted() == 2 && c.state() == SessionState::Connected
    })
    .await;
    c.sync("/").await.unwrap();
    let (_, lists, sizes) = set_watches_on(&proxy.frames(), 1);
    assert!(
        sizes.len() >= 2,
        "2500 watches of ~100 bytes need several packets: {sizes:?}"
    );
    for s in &sizes {
        assert!(*s <= 128 * 1024 + 64, "packet of {s} bytes");
    }
    let want: BTreeSet<String> = paths.iter().cloned().collect();
    assert_eq!(lists[1], want, "every exist watch re-registered once");
    // The server took every chunk: watches from the first and the last one fire.
    for p in [&paths[0], &paths[paths.len() - 1]] {
        other
            .create(p, b"", &CreateOptions::persistent())
            .await
            .unwrap();
        let w = watches.remove(p).unwrap();
        let ev = within("NodeCreated after re-registration", w).await;
        assert_eq!(
            (ev.event_type, ev.path.as_str()),
            (EventType::NodeCreated, p.as_str())
        );
    }
}

both_targets!(
    timeout_is_negotiated_and_session_reported,
    close_ends_the_session_and_the_client,
    dropping_every_handle_closes_the_session,
    pings_keep_an_idle_session_alive,
    expiry_is_reported_and_ends_the_client,
    reconnect_keeps_session_ephemerals_and_watches,
    silent_server_is_detected_and_in_flight_requests_fail,
    moves_to_another_server_of_the_list,
    many_watches_are_re_registered_in_chunks,
);
