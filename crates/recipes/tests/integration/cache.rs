//! The node cache follows creation, changes and deletion of its node, also when they happen
//! while its client is cut off and re-attached through another server address; a cache whose
//! session expires stops with its last value while caches in live sessions converge.

use crate::common::{both_targets, expire_doomed, wait_state, within, Ctx, Doomed};
use client::{Client, CreateOptions, SessionState};
use recipes::{Error, NodeCache};
use std::time::Duration;
use testkit::proxy::Proxy;

async fn cache_follows_the_node(ctx: Ctx) {
    let path = ctx.path("config");
    let writer = ctx.client().await;
    let mut cache = NodeCache::start(ctx.client().await, &path).await.unwrap();
    assert_eq!(cache.current(), None);

    writer
        .create(&path, b"v1", &CreateOptions::persistent())
        .await
        .unwrap();
    let snap = within("created", cache.wait_for(|s| s.is_some()))
        .await
        .unwrap();
    let (data, stat) = snap.unwrap();
    assert_eq!((data.as_slice(), stat.version), (&b"v1"[..], 0));

    for v in 2..=4 {
        writer
            .set_data(&path, format!("v{v}").as_bytes(), None)
            .await
            .unwrap();
    }
    let snap = within(
        "v4",
        cache.wait_for(|s| s.as_ref().is_some_and(|(d, _)| d == b"v4")),
    )
    .await
    .unwrap();
    assert_eq!(snap.unwrap().1.version, 3);

    writer.delete(&path, None).await.unwrap();
    within("deleted", cache.wait_for(|s| s.is_none()))
        .await
        .unwrap();
    assert_eq!(cache.current(), None);
}

async fn converges_after_reconnect_elsewhere(ctx: Ctx) {
    let path = ctx.path("config");
    let writer = ctx.client().await;
    writer
        .create(&path, b"before", &CreateOptions::persistent())
        .await
        .unwrap();
    let p1 = Proxy::start(ctx.server.addr).await;
    let p2 = Proxy::start(ctx.server.addr).await;
    let zk = ctx
        .client_with(
            Client::builder().session_timeout(Duration::from_millis(4000)),
            &format!("{},{}", p1.connect_string(), p2.connect_string()),
        )
        .await;
    let mut cache = NodeCache::start(zk.clone(), &path).await.unwrap();
    let (data, _) = within("first value", cache.wait_for(|s| s.is_some()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(data, b"before");

    // Cut off, the cache hears nothing of these: the node is replaced and changed again.
    let session = zk.session_id();
    let first = zk.session().server.unwrap();
    let other = if first == p1.connect_string() {
        &p2
    } else {
        &p1
    };
    p1.set_blocked(true);
    p2.set_blocked(true);
    wait_state(&zk, SessionState::Disconnected).await;
    writer.delete(&path, None).await.unwrap();
    writer
        .create(&path, b"recreated", &CreateOptions::persistent())
        .await
        .unwrap();
    writer.set_data(&path, b"after", None).await.unwrap();
    let want = writer.get_data(&path).await.unwrap();
    assert_ne!(cache.current(), Some(want.clone()), "the changes matter");

    // The session comes back through the other address; the cache catches up.
    other.set_blocked(false);
    wait_state(&zk, SessionState::Connected).await;
    assert_eq!(zk.session_id(), session);
    assert_ne!(zk.session().server.unwrap(), first, "the session moved");
    within("converged", cache.wait_for(|s| s.as_ref() == Some(&want)))
        .await
        .unwrap();

    // A deletion while cut off is caught up with too.
    other.set_blocked(true);
    wait_state(&zk, SessionState::Disconnected).await;
    writer.delete(&path, None).await.unwrap();
    other.set_blocked(false);
    wait_state(&zk, SessionState::Connected).await;
    within("deletion seen", cache.wait_for(|s| s.is_none()))
        .await
        .unwrap();
    assert_eq!(cache.current(), None);

    // And it keeps following changes afterwards.
    writer
        .create(&path, b"again", &CreateOptions::persistent())
        .await
        .unwrap();
    let want = writer.get_data(&path).await.unwrap();
    within("followed", cache.wait_for(|s| s.as_ref() == Some(&want)))
        .await
        .unwrap();
    zk.close().await.unwrap();
}

/// A cache whose session is cut off and expires while the node keeps changing: idle, or
/// mid-read (`mid_read`: the event of a change reached it, the reply to its re-read did not).
/// As its module documents, that cache stops with the value it last read: `changed` and
/// `wait_for` fail with `SessionEnded(Expired)` and the value stays. A cache in a live session
/// follows every change to the final state and beyond, and a new cache on a new session starts
/// there.
async fn cache_expires(ctx: Ctx, mid_read: bool) {
    let path = ctx.path("config");
    let writer = ctx.client().await;
    writer
        .create(&path, b"v1", &CreateOptions::persistent())
        .await
        .unwrap();
    let v1 = writer.get_data(&path).await.unwrap();
    let mut live = NodeCache::start(ctx.client().await, &path).await.unwrap();
    let Doomed {
        proxy,
        client: doomed_client,
        alive,
    } = ctx.doomed().await;
    let mut doomed = NodeCache::start(doomed_client.clone(), &path)
        .await
        .unwrap();
    assert_eq!(doomed.current(), Some(v1.clone()));

    if mid_read {
        // The change's event is the next frame from the server; the re-read's reply is lost.
        proxy.mute_after(1);
        writer.set_data(&path, b"v2", None).await.unwrap();
        tokio::time::sleep(Duration::from_millis(150)).await;
        proxy.set_blocked(true);
    } else {
        proxy.set_blocked(true);
        writer.set_data(&path, b"v2", None).await.unwrap();
    }
    // Replaced and changed again while the doomed cache is cut off.
    writer.delete(&path, None).await.unwrap();
    writer
        .create(&path, b"v3", &CreateOptions::persistent())
        .await
        .unwrap();
    writer.set_data(&path, b"v4", None).await.unwrap();
    let want = writer.get_data(&path).await.unwrap();
    within(
        "live cache converged",
        live.wait_for(|s| s.as_ref() == Some(&want)),
    )
    .await
    .unwrap();

    expire_doomed(&writer, &doomed_client, &alive, &proxy).await;
    let ended = Err(Error::SessionEnded(SessionState::Expired));
    assert_eq!(
        within("doomed cache stops", doomed.changed()).await,
        ended.clone()
    );
    assert_eq!(
        within(
            "doomed cache waits",
            doomed.wait_for(|s| s.as_ref() == Some(&want))
        )
        .await,
        ended
    );
    assert_eq!(doomed.current(), Some(v1.clone()), "not its last value");

    // The live cache keeps following; the stopped one stays where it stopped.
    writer.set_data(&path, b"v5", None).await.unwrap();
    let want = writer.get_data(&path).await.unwrap();
    within(
        "live cache follows",
        live.wait_for(|s| s.as_ref() == Some(&want)),
    )
    .await
    .unwrap();
    assert_eq!(doomed.current(), Some(v1));
    let fresh = NodeCache::start(ctx.client().await, &path).await.unwrap();
    assert_eq!(fresh.current(), Some(want));
}

async fn idle_cache_stops_when_its_session_expires(ctx: Ctx) {
    cache_expires(ctx, false).await;
}

async fn cache_stops_when_its_session_expires_mid_read(ctx: Ctx) {
    cache_expires(ctx, true).await;
}

both_targets!(
    cache_follows_the_node,
    converges_after_reconnect_elsewhere,
    idle_cache_stops_when_its_session_expires,
    cache_stops_when_its_session_expires_mid_read,
);
