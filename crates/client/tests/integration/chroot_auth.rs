//! The chroot of a connect string, and authentication with ACLs.

use crate::common::{both_targets, within, Ctx};
use client::{
    creator_all_acl, digest_acl, perms, AddWatchMode, Client, CreateMode, CreateOptions, Error,
    EventType, OpResult, SessionState,
};

async fn chroot_is_applied_to_every_path(ctx: Ctx) {
    let root = ctx.client().await;
    let app = ctx.path("app");
    root.create(&app, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let c = ctx
        .client_with(Client::builder(), &format!("{}{app}", ctx.connect_string()))
        .await;
    assert_eq!(c.chroot(), Some(app.as_str()));

    let (path, _) = c
        .create("/x", b"1", &CreateOptions::persistent())
        .await
        .unwrap();
    assert_eq!(path, "/x");
    assert_eq!(root.get_data(&format!("{app}/x")).await.unwrap().0, b"1");
    let seq = CreateOptions::ephemeral().with_mode(CreateMode::EphemeralSequential);
    let (seq_path, _) = c.create("/x/s-", b"", &seq).await.unwrap();
    assert!(
        seq_path.starts_with("/x/s-") && seq_path.len() == 15,
        "{seq_path}"
    );
    assert_eq!(c.get_children("/").await.unwrap(), ["x"]);
    assert_eq!(c.get_ephemerals("/").await.unwrap(), vec![seq_path.clone()]);
    assert_eq!(c.exists("/").await.unwrap().unwrap().num_children, 1);

    // Watch events come back under the chroot too.
    let (_, _, data_watch) = c.get_data_w("/x").await.unwrap();
    let mut all = c
        .add_watch("/", AddWatchMode::PersistentRecursive)
        .await
        .unwrap();
    root.set_data(&format!("{app}/x"), b"2", None)
        .await
        .unwrap();
    let ev = within("data watch", data_watch).await;
    assert_eq!(
        (ev.event_type, ev.path.as_str()),
        (EventType::NodeDataChanged, "/x")
    );
    let ev = within("recursive watch", all.next()).await.unwrap();
    assert_eq!(ev.path, "/x");
    root.set_data(&app, b"top", None).await.unwrap();
    let ev = within("recursive watch on the chroot itself", all.next())
        .await
        .unwrap();
    assert_eq!(
        (ev.event_type, ev.path.as_str()),
        (EventType::NodeDataChanged, "/")
    );

    let results = c
        .multi()
        .create("/y", b"", &CreateOptions::persistent())
        .delete("/y", None)
        .commit()
        .await
        .unwrap();
    assert!(matches!(&results[0], OpResult::Create { path, .. } if path == "/y"));

    // delete("/") never deletes the chroot node.
    assert!(c.delete("/", None).await.is_err());
    assert!(root.exists(&app).await.unwrap().is_some());

    let missing = ctx
        .client_with(
            Client::builder(),
            &format!("{}{}", ctx.connect_string(), ctx.path("nochroot")),
        )
        .await;
    assert_eq!(missing.get_children("/").await, Err(Error::NoNode));
}

async fn digest_acl_and_auth_scheme(ctx: Ctx) {
    let alice = ctx.client().await;
    alice.add_auth("digest", b"alice:pw").await.unwrap();
    let p = ctx.path("secret");
    alice
        .create(
            &p,
            b"s",
            &CreateOptions::persistent().with_acl(vec![digest_acl(perms::ALL, "alice", "pw")]),
        )
        .await
        .unwrap();
    assert_eq!(alice.get_data(&p).await.unwrap().0, b"s");

    let bob = ctx.client().await;
    assert_eq!(bob.get_data(&p).await, Err(Error::NoAuth));
    assert!(
        bob.exists(&p).await.unwrap().is_some(),
        "exists needs no permission"
    );
    bob.add_auth("digest", b"alice:wrong").await.unwrap();
    assert_eq!(bob.get_data(&p).await, Err(Error::NoAuth));
    bob.add_auth("digest", b"alice:pw").await.unwrap();
    assert_eq!(bob.get_data(&p).await.unwrap().0, b"s");

    // `auth` ACLs name whoever the creating session is authenticated as.
    let mine = ctx.path("mine");
    alice
        .create(
            &mine,
            b"",
            &CreateOptions::persistent().with_acl(creator_all_acl()),
        )
        .await
        .unwrap();
    let (acl, _) = alice.get_acl(&mine).await.unwrap();
    assert_eq!(acl, vec![digest_acl(perms::ALL, "alice", "pw")]);
    let anonymous = ctx.client().await;
    assert_eq!(
        anonymous
            .create(
                &ctx.path("nobody"),
                b"",
                &CreateOptions::persistent().with_acl(creator_all_acl())
            )
            .await,
        Err(Error::InvalidAcl)
    );

    // Auth given to the builder is in place before the first request.
    let carol = ctx
        .client_with(
            Client::builder().auth("digest", "alice:pw"),
            &ctx.connect_string(),
        )
        .await;
    assert_eq!(carol.get_data(&p).await.unwrap().0, b"s");
}

async fn unknown_auth_scheme_fails_the_client(ctx: Ctx) {
    let c = ctx.client().await;
    let mut states = c.state_events();
    assert_eq!(
        c.add_auth("nosuchscheme", b"x").await,
        Err(Error::AuthFailed)
    );
    assert_eq!(
        within("AuthFailed state", states.recv()).await.unwrap(),
        SessionState::AuthFailed
    );
    assert_eq!(c.state(), SessionState::AuthFailed);
    assert_eq!(c.exists("/").await, Err(Error::AuthFailed));

    let refused = Client::builder()
        .auth("nosuchscheme", "x")
        .connect(&ctx.connect_string())
        .await;
    assert!(matches!(refused, Err(Error::AuthFailed)), "{refused:?}");
}

both_targets!(
    chroot_is_applied_to_every_path,
    digest_acl_and_auth_scheme,
    unknown_auth_scheme_fails_the_client,
);
