//! A member of a 3-member ensemble dies under a client: the client moves to another member with
//! its session, its ephemerals stay, and a watch it set before fires for a change made through
//! another client; the dead member, restarted, catches up. Run against a real ZooKeeper quorum
//! and a Ferrokeeper ensemble, each test on an ensemble of its own (it kills a member).

use crate::common::{both_targets, drain_states, eventually, within, Ctx};
use client::{Client, CreateOptions, EventType, KeeperState, SessionState};
use std::time::Duration;
use testkit::TestEnsemble;

/// Long enough to outlast a leader election on a busy machine, so the session survives it.
const SESSION_TIMEOUT: Duration = Duration::from_secs(8);

/// How long the client may take to be connected to a survivor.
const MOVE_WITHIN: Duration = Duration::from_secs(25);

/// Which member the client is on when it is killed.
#[derive(Debug, Clone, Copy)]
enum Role {
    Leader,
    Follower,
}

/// A session on member `member`. The client shuffles its connect string, so sessions are opened
/// (and closed again) until one lands there.
async fn client_on(ctx: &Ctx, ensemble: &TestEnsemble, member: usize) -> Client {
    for _ in 0..60 {
        let c = ctx
            .client_with(
                Client::builder().session_timeout(SESSION_TIMEOUT),
                &ctx.connect_string(),
            )
            .await;
        let server = c.session().server.expect("a connected client has a server");
        if ensemble.member_at(&server) == Some(member) {
            return c;
        }
        c.close().await.unwrap();
    }
    panic!("no session landed on member {member} in 60 attempts");
}

/// Every member's address but `member`'s.
fn all_but(ensemble: &TestEnsemble, member: usize) -> String {
    (0..ensemble.members.len())
        .filter(|&i| i != member)
        .map(|i| ensemble.members[i].addr().to_string())
        .collect::<Vec<_>>()
        .join(",")
}

async fn moves_on_when_its_member_dies(ctx: Ctx, mut ensemble: TestEnsemble, role: Role) {
    let leader = ensemble
        .wait_leader(Duration::from_secs(10))
        .expect("a leader");
    let victim = match role {
        Role::Leader => leader,
        Role::Follower => (leader + 1) % ensemble.members.len(),
    };
    let c = client_on(&ctx, &ensemble, victim).await;
    let other = ctx
        .client_with(Client::builder(), &all_but(&ensemble, victim))
        .await;
    let (d, e) = (ctx.path("d"), ctx.path("e"));
    c.create(&d, b"0", &CreateOptions::persistent())
        .await
        .unwrap();
    c.create(&e, b"", &CreateOptions::ephemeral())
        .await
        .unwrap();
    let (_, _, data_watch) = c.get_data_w(&d).await.unwrap();
    let id = c.session_id();
    let mut states = c.state_events();

    ensemble.kill(victim);
    eventually(
        "the client to be connected to a surviving member",
        MOVE_WITHIN,
        || async {
            c.state() == SessionState::Connected
                && c.session()
                    .server
                    .and_then(|s| ensemble.member_at(&s))
                    .is_some_and(|m| m != victim)
        },
    )
    .await;
    let seen = drain_states(&mut states);
    assert_eq!(
        seen.first(),
        Some(&SessionState::Disconnected),
        "states: {seen:?}"
    );
    assert!(
        seen.iter()
            .all(|s| matches!(s, SessionState::Disconnected | SessionState::Connected)),
        "the session must survive the move: {seen:?}"
    );
    assert_eq!(c.session_id(), id, "same session on the new member");
    let owner = |stat: Option<jute::Stat>| stat.map(|s| s.ephemeral_owner);
    assert_eq!(owner(c.exists(&e).await.unwrap()), Some(id));
    other.sync(&e).await.unwrap();
    assert_eq!(owner(other.exists(&e).await.unwrap()), Some(id));

    // The watch was set on the dead member; the client re-registered it on the new one.
    other.set_data(&d, b"1", None).await.unwrap();
    let ev = within("the data watch set before the kill", data_watch).await;
    assert_eq!(
        (ev.event_type, ev.state, ev.path.as_str()),
        (
            EventType::NodeDataChanged,
            KeeperState::SyncConnected,
            d.as_str()
        )
    );

    // The dead member comes back and has caught up: a session on it alone sees everything.
    tokio::task::block_in_place(|| ensemble.restart(victim)).expect("restart the member");
    let back = ctx
        .client_with(
            Client::builder(),
            &ensemble.members[victim].addr().to_string(),
        )
        .await;
    back.sync(&d).await.unwrap();
    assert_eq!(back.get_data(&d).await.unwrap().0, b"1");
    assert_eq!(owner(back.exists(&e).await.unwrap()), Some(id));

    c.close().await.unwrap();
    other.sync(&e).await.unwrap();
    assert_eq!(
        other.exists(&e).await.unwrap(),
        None,
        "closed, ephemeral gone"
    );
}

async fn a_client_on_a_killed_follower_moves_on_with_its_session(ctx: Ctx, ensemble: TestEnsemble) {
    moves_on_when_its_member_dies(ctx, ensemble, Role::Follower).await;
}

async fn a_client_on_a_killed_leader_moves_on_with_its_session(ctx: Ctx, ensemble: TestEnsemble) {
    moves_on_when_its_member_dies(ctx, ensemble, Role::Leader).await;
}

both_targets!(
    run_on_own_ensemble;
    a_client_on_a_killed_follower_moves_on_with_its_session,
    a_client_on_a_killed_leader_moves_on_with_its_session,
);
