//! Session expiry in a 3-member ensemble, seen across members: a client cut off from its member
//! (through a proxy) for longer than its session timeout is Expired when it gets through again,
//! and a client on another member sees its ephemeral go. Run against a real ZooKeeper quorum and
//! a Ferrokeeper ensemble, on the shared ensemble (no member is killed).

use crate::common::{both_targets, drain_states, eventually, wait_state, within, Ctx};
use client::{Client, CreateOptions, Error, EventType, KeeperState, SessionState};
use std::time::Duration;
use testkit::proxy::Proxy;

async fn a_cut_off_session_expires_for_every_member(ctx: Ctx) {
    let members = &ctx.server.members;
    assert!(members.len() >= 2, "an ensemble: {members:?}");
    let proxy = Proxy::start(members[0]).await;
    let c = ctx
        .client_with(
            Client::builder().session_timeout(Duration::from_millis(2000)),
            &proxy.connect_string(),
        )
        .await;
    let elsewhere = members[1..]
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let observer = ctx.client_with(Client::builder(), &elsewhere).await;
    let e = ctx.path("e");
    c.create(&e, b"", &CreateOptions::ephemeral())
        .await
        .unwrap();
    let (_, _, own_watch) = c.get_data_w(&e).await.unwrap();
    // The create went through member 0; the observer's member may apply it a moment later.
    observer.sync(&e).await.unwrap();
    let (stat, deleted) = observer.exists_w(&e).await.unwrap();
    assert_eq!(stat.map(|s| s.ephemeral_owner), Some(c.session_id()));
    let mut states = c.state_events();

    proxy.set_blocked(true);
    wait_state(&c, SessionState::Disconnected).await;
    let ev = within("the ephemeral's deletion on another member", deleted).await;
    assert_eq!(
        (ev.event_type, ev.state, ev.path.as_str()),
        (
            EventType::NodeDeleted,
            KeeperState::SyncConnected,
            e.as_str()
        )
    );
    assert_eq!(observer.exists(&e).await.unwrap(), None);

    proxy.set_blocked(false);
    wait_state(&c, SessionState::Expired).await;
    assert_eq!(
        drain_states(&mut states),
        [SessionState::Disconnected, SessionState::Expired]
    );
    assert_eq!(c.exists("/").await, Err(Error::SessionExpired));
    let ev = within("the expired client's watch to end", own_watch).await;
    assert_eq!(
        (ev.event_type, ev.state),
        (EventType::None, KeeperState::Expired)
    );
    // Every member agrees that the session is gone.
    for member in members {
        let probe = ctx
            .client_with(Client::builder(), &member.to_string())
            .await;
        eventually(
            "the ephemeral to be gone on every member",
            Duration::from_secs(5),
            || async { probe.exists(&e).await.unwrap().is_none() },
        )
        .await;
        probe.close().await.unwrap();
    }
}

both_targets!(
    run_on_ensemble;
    a_cut_off_session_expires_for_every_member,
);
