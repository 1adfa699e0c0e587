//! Group membership: a watcher's live list follows joins, leaves and crashes (sessions that
//! expire), and an id already taken by another live session is refused.

use crate::common::{both_targets, within, Ctx};
use client::Client;
use recipes::group::Members;
use recipes::{Error, GroupMember, GroupWatcher};
use std::time::Duration;
use testkit::proxy::Proxy;

fn ids(m: &Members) -> Vec<&str> {
    m.keys().map(String::as_str).collect()
}

async fn list_follows_join_leave_and_crash(ctx: Ctx) {
    let group = ctx.path("services/api");
    let mut view = GroupWatcher::start(ctx.client().await, &group)
        .await
        .unwrap();
    assert!(view.members().is_empty(), "group not created yet");

    let a = GroupMember::join(ctx.client().await, &group, "a", b"10.0.0.1:80")
        .await
        .unwrap();
    let b_client = ctx.client().await;
    let b = GroupMember::join(b_client.clone(), &group, "b", b"10.0.0.2:80")
        .await
        .unwrap();
    let m = within("a and b", view.wait_for(|m| m.len() == 2))
        .await
        .unwrap();
    assert_eq!(ids(&m), ["a", "b"]);
    assert_eq!(m["a"], b"10.0.0.1:80");
    assert_eq!(m["b"], b"10.0.0.2:80");

    // The same id from another session is refused; from the same session it is kept.
    let dup = GroupMember::join(ctx.client().await, &group, "a", b"x").await;
    assert_eq!(dup.err(), Some(Error::Client(client::Error::NodeExists)));
    assert!(matches!(
        GroupMember::join(b_client.clone(), &group, "bad/id", b"").await,
        Err(Error::InvalidArgument(_))
    ));

    b.leave().await.unwrap();
    let m = within("b left", view.wait_for(|m| m.len() == 1))
        .await
        .unwrap();
    assert_eq!(ids(&m), ["a"]);

    // A member whose process is cut off disappears once its session expires.
    let proxy = Proxy::start(ctx.server.addr).await;
    let c_client = ctx
        .client_with(
            Client::builder().session_timeout(Duration::from_millis(1000)),
            &proxy.connect_string(),
        )
        .await;
    let _c = GroupMember::join(c_client, &group, "c", b"10.0.0.3:80")
        .await
        .unwrap();
    let m = within("c joined", view.wait_for(|m| m.contains_key("c")))
        .await
        .unwrap();
    assert_eq!(ids(&m), ["a", "c"]);
    proxy.set_blocked(true);
    let m = within("c crashed", view.wait_for(|m| !m.contains_key("c")))
        .await
        .unwrap();
    assert_eq!(ids(&m), ["a"]);

    // Data changes show up on refresh.
    a.set_data(b"10.0.0.9:80").await.unwrap();
    view.refresh();
    let m = within(
        "a's new data",
        view.wait_for(|m| m.get("a").is_some_and(|d| d == b"10.0.0.9:80")),
    )
    .await
    .unwrap();
    assert_eq!(ids(&m), ["a"]);
    a.leave().await.unwrap();
    let m = within("empty", view.wait_for(|m| m.is_empty()))
        .await
        .unwrap();
    assert!(m.is_empty());
}

both_targets!(list_follows_join_leave_and_crash);
