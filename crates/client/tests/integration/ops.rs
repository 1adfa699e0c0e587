//! Every single-request operation, its results and its errors.

use crate::common::{both_targets, eventually, Ctx};
use client::{perms, Acl, ClientInfo, CreateMode, CreateOptions, Error, Id};
use std::time::Duration;

async fn create_in_every_mode(ctx: Ctx) {
    let c = ctx.client().await;
    let p = ctx.path("p");
    let (path, stat) = c
        .create(&p, b"data", &CreateOptions::persistent())
        .await
        .unwrap();
    assert_eq!(path, p);
    assert_eq!(
        (stat.version, stat.data_length, stat.ephemeral_owner),
        (0, 4, 0)
    );
    assert!(stat.czxid > 0 && stat.czxid == stat.mzxid);
    let got = c.exists(&p).await.unwrap().expect("created node exists");
    assert_eq!(got, stat, "create2's stat is the node's stat");

    let (e, st) = c
        .create(&ctx.path("e"), b"", &CreateOptions::ephemeral())
        .await
        .unwrap();
    assert_eq!(e, ctx.path("e"));
    assert_eq!(st.ephemeral_owner, c.session_id());

    let seq = CreateOptions::persistent().with_mode(CreateMode::PersistentSequential);
    let (s1, _) = c.create(&ctx.path("s-"), b"", &seq).await.unwrap();
    let (s2, _) = c.create(&ctx.path("s-"), b"", &seq).await.unwrap();
    let suffix = |s: &str| s[ctx.path("s-").len()..].to_string();
    assert_eq!(suffix(&s1).len(), 10, "{s1}");
    assert!(suffix(&s1).chars().all(|ch| ch.is_ascii_digit()));
    assert!(suffix(&s2) > suffix(&s1));

    let eseq = CreateOptions::ephemeral().with_mode(CreateMode::EphemeralSequential);
    let (es, st) = c.create(&ctx.path("es-"), b"", &eseq).await.unwrap();
    assert!(es.starts_with(&ctx.path("es-")));
    assert_eq!(st.ephemeral_owner, c.session_id());

    // A sequential create may name just the parent: the node is the suffix alone.
    let dir = ctx.path("dir");
    c.create(&dir, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let (bare, _) = c.create(&format!("{dir}/"), b"", &seq).await.unwrap();
    assert_eq!(bare.len(), dir.len() + 1 + 10, "{bare}");

    assert_eq!(
        c.get_ephemerals(&ctx.root).await.unwrap().len(),
        2,
        "the ephemeral and the ephemeral sequential node"
    );
}

async fn container_is_removed_after_its_last_child(ctx: Ctx) {
    let c = ctx.client().await;
    let box_path = ctx.path("box");
    let (_, stat) = c
        .create(&box_path, b"", &CreateOptions::container())
        .await
        .unwrap();
    assert_eq!(stat.version, 0);
    let child = format!("{box_path}/item");
    c.create(&child, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    c.delete(&child, None).await.unwrap();
    // The server sweeps containers every znode.container.checkIntervalMs (500 ms here).
    eventually("container removal", Duration::from_secs(10), || async {
        c.exists(&box_path).await.unwrap().is_none()
    })
    .await;
}

async fn ttl_nodes_expire(ctx: Ctx) {
    let c = ctx.client().await;
    let ttl = CreateOptions::persistent().with_ttl(CreateMode::PersistentWithTtl, 300);
    let p = ctx.path("ttl");
    let (path, stat) = c.create(&p, b"x", &ttl).await.unwrap();
    assert_eq!(path, p);
    assert_eq!(stat.data_length, 1);
    let seq_ttl =
        CreateOptions::persistent().with_ttl(CreateMode::PersistentSequentialWithTtl, 300);
    let (sp, _) = c.create(&ctx.path("ttls-"), b"", &seq_ttl).await.unwrap();
    assert_eq!(sp.len(), ctx.path("ttls-").len() + 10);
    eventually("TTL expiry", Duration::from_secs(10), || async {
        c.exists(&p).await.unwrap().is_none() && c.exists(&sp).await.unwrap().is_none()
    })
    .await;
    // Checked before anything is sent, as ZooKeeper's client does.
    let no_ttl = CreateOptions::persistent().with_mode(CreateMode::PersistentWithTtl);
    assert!(matches!(
        c.create(&p, b"", &no_ttl).await,
        Err(Error::InvalidArgument(_))
    ));
}

async fn create_errors(ctx: Ctx) {
    let c = ctx.client().await;
    let p = ctx.path("x");
    c.create(&p, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    assert_eq!(
        c.create(&p, b"", &CreateOptions::persistent()).await,
        Err(Error::NodeExists)
    );
    assert_eq!(
        c.create(
            &ctx.path("missing/child"),
            b"",
            &CreateOptions::persistent()
        )
        .await,
        Err(Error::NoNode)
    );
    let e = ctx.path("eph");
    c.create(&e, b"", &CreateOptions::ephemeral())
        .await
        .unwrap();
    assert_eq!(
        c.create(&format!("{e}/kid"), b"", &CreateOptions::persistent())
            .await,
        Err(Error::NoChildrenForEphemerals)
    );
    assert_eq!(
        c.create(
            &ctx.path("noacl"),
            b"",
            &CreateOptions::persistent().with_acl(vec![])
        )
        .await,
        Err(Error::InvalidAcl)
    );
    for bad in ["relative", "/a//b", "/trailing/", "/dot/."] {
        assert!(
            matches!(
                c.create(bad, b"", &CreateOptions::persistent()).await,
                Err(Error::InvalidArgument(_))
            ),
            "{bad}"
        );
    }
}

async fn get_set_exists_and_versions(ctx: Ctx) {
    let c = ctx.client().await;
    let p = ctx.path("v");
    assert_eq!(c.exists(&p).await, Ok(None));
    assert_eq!(c.get_data(&p).await, Err(Error::NoNode));
    assert_eq!(c.set_data(&p, b"", None).await, Err(Error::NoNode));
    c.create(&p, b"one", &CreateOptions::persistent())
        .await
        .unwrap();
    let (data, stat) = c.get_data(&p).await.unwrap();
    assert_eq!((data.as_slice(), stat.version), (&b"one"[..], 0));
    let st = c.set_data(&p, b"two", Some(0)).await.unwrap();
    assert_eq!(st.version, 1);
    assert!(st.mzxid > stat.mzxid);
    assert_eq!(st.czxid, stat.czxid);
    assert_eq!(
        c.set_data(&p, b"three", Some(0)).await,
        Err(Error::BadVersion)
    );
    let st = c.set_data(&p, b"three", None).await.unwrap();
    assert_eq!(st.version, 2);
    let (data, stat) = c.get_data(&p).await.unwrap();
    assert_eq!((data.as_slice(), stat.data_length), (&b"three"[..], 5));
    assert_eq!(c.exists(&p).await.unwrap(), Some(stat));
    // Large values travel whole (1 MiB minus headroom for the frame's other fields).
    let big = vec![7u8; 1_000_000];
    c.set_data(&p, &big, None).await.unwrap();
    assert_eq!(c.get_data(&p).await.unwrap().0, big);
}

async fn delete_rules(ctx: Ctx) {
    let c = ctx.client().await;
    let p = ctx.path("d");
    assert_eq!(c.delete(&p, None).await, Err(Error::NoNode));
    c.create(&p, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    c.create(&format!("{p}/k"), b"", &CreateOptions::persistent())
        .await
        .unwrap();
    assert_eq!(c.delete(&p, None).await, Err(Error::NotEmpty));
    assert_eq!(
        c.delete(&format!("{p}/k"), Some(3)).await,
        Err(Error::BadVersion)
    );
    c.delete(&format!("{p}/k"), Some(0)).await.unwrap();
    c.delete(&p, None).await.unwrap();
    assert_eq!(c.exists(&p).await, Ok(None));
}

async fn acl_get_and_set(ctx: Ctx) {
    let c = ctx.client().await;
    let p = ctx.path("acl");
    c.create(&p, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let (acl, stat) = c.get_acl(&p).await.unwrap();
    assert_eq!(acl, Acl::open_unsafe());
    assert_eq!(stat.aversion, 0);
    let read_only = vec![Acl::new(perms::READ | perms::ADMIN, Id::anyone())];
    assert_eq!(
        c.set_acl(&p, &read_only, Some(5)).await,
        Err(Error::BadVersion)
    );
    let st = c.set_acl(&p, &read_only, Some(0)).await.unwrap();
    assert_eq!(st.aversion, 1);
    assert_eq!(c.get_acl(&p).await.unwrap().0, read_only);
    assert_eq!(c.set_data(&p, b"x", None).await, Err(Error::NoAuth));
    assert_eq!(
        c.create(&format!("{p}/k"), b"", &CreateOptions::persistent())
            .await,
        Err(Error::NoAuth)
    );
    assert!(c.get_data(&p).await.is_ok());
    assert_eq!(c.get_acl(&ctx.path("none")).await, Err(Error::NoNode));
}

async fn children_and_counts(ctx: Ctx) {
    let c = ctx.client().await;
    let p = ctx.path("kids");
    c.create(&p, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    assert_eq!(c.get_children(&p).await.unwrap(), Vec::<String>::new());
    for k in ["b", "a", "c"] {
        c.create(&format!("{p}/{k}"), b"", &CreateOptions::persistent())
            .await
            .unwrap();
    }
    c.create(&format!("{p}/a/deep"), b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let mut kids = c.get_children(&p).await.unwrap();
    kids.sort();
    assert_eq!(kids, ["a", "b", "c"]);
    let (mut kids2, stat) = c.get_children2(&p).await.unwrap();
    kids2.sort();
    assert_eq!(kids2, kids);
    assert_eq!((stat.num_children, stat.cversion), (3, 3));
    assert_eq!(c.get_all_children_number(&p).await, Ok(4));
    assert_eq!(c.get_children(&ctx.path("nope")).await, Err(Error::NoNode));
    assert_eq!(
        c.get_all_children_number(&ctx.path("nope")).await,
        Err(Error::NoNode)
    );
}

async fn sync_and_check(ctx: Ctx) {
    let c = ctx.client().await;
    let p = ctx.path("chk");
    c.create(&p, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    c.set_data(&p, b"1", None).await.unwrap();
    c.sync(&p).await.unwrap();
    c.check(&p, 1).await.unwrap();
    assert_eq!(c.check(&p, 0).await, Err(Error::BadVersion));
    assert_eq!(c.check(&ctx.path("nope"), 0).await, Err(Error::NoNode));
    // A passing check leaves the pipeline intact: the next request is answered normally.
    assert_eq!(c.get_data(&p).await.unwrap().0, b"1");
}

async fn ephemerals_of_the_session(ctx: Ctx) {
    let c = ctx.client().await;
    let other = ctx.client().await;
    let dir = ctx.path("eph");
    c.create(&dir, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    for n in ["x", "y"] {
        c.create(&format!("{dir}/{n}"), b"", &CreateOptions::ephemeral())
            .await
            .unwrap();
    }
    other
        .create(&format!("{dir}/z"), b"", &CreateOptions::ephemeral())
        .await
        .unwrap();
    let mut mine = c.get_ephemerals(&dir).await.unwrap();
    mine.sort();
    assert_eq!(mine, [format!("{dir}/x"), format!("{dir}/y")]);
    assert_eq!(
        other.get_ephemerals(&dir).await.unwrap(),
        [format!("{dir}/z")]
    );
    // ZooKeeper matches the prefix as a string, not as a path.
    assert_eq!(
        c.get_ephemerals(&format!("{dir}/x")).await.unwrap().len(),
        1
    );
    other.close().await.unwrap();
    assert_eq!(c.exists(&format!("{dir}/z")).await, Ok(None));
}

async fn who_am_i_and_digest_auth(ctx: Ctx) {
    let c = ctx.client().await;
    let ip = ClientInfo {
        auth_scheme: "ip".into(),
        user: "127.0.0.1".into(),
    };
    assert_eq!(c.who_am_i().await.unwrap(), vec![ip.clone()]);
    c.add_auth("digest", b"alice:secret").await.unwrap();
    let mut ids = c.who_am_i().await.unwrap();
    ids.sort_by(|a, b| a.auth_scheme.cmp(&b.auth_scheme));
    assert_eq!(
        ids,
        vec![
            ClientInfo {
                auth_scheme: "digest".into(),
                user: "alice".into()
            },
            ip
        ]
    );
}

both_targets!(
    create_in_every_mode,
    container_is_removed_after_its_last_child,
    ttl_nodes_expire,
    create_errors,
    get_set_exists_and_versions,
    delete_rules,
    acl_get_and_set,
    children_and_counts,
    sync_and_check,
    ephemerals_of_the_session,
    who_am_i_and_digest_auth,
);
