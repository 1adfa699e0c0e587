//! Every data operation through the `zookeeper-client` crate, against ZooKeeper and Ferrokeeper.

mod common;

use common::{both_targets, mode, persistent, Ctx};
use std::time::Duration;
use zk::{Acl, Acls, AuthId, CreateMode, Error, MultiReadResult, MultiWriteResult, Permission};
use zookeeper_client as zk;

async fn create_persistent_returns_stat(ctx: Ctx) {
    let c = ctx.client().await;
    let (_, parent_before) = c.get_data(&ctx.root).await.unwrap();
    let (stat, seq) = c
        .create(&ctx.path("a"), b"hello", &persistent())
        .await
        .unwrap();
    assert_eq!(seq.into_i64(), -1, "non-sequential create has no sequence");
    assert_eq!(stat.czxid, stat.mzxid);
    assert_eq!(stat.czxid, stat.pzxid, "a new node's pzxid is its czxid");
    assert_eq!(stat.ctime, stat.mtime);
    assert_eq!((stat.version, stat.cversion, stat.aversion), (0, 0, 0));
    assert_eq!(stat.ephemeral_owner, 0);
    assert_eq!(stat.data_length, 5);
    assert_eq!(stat.num_children, 0);
    let (data, got) = c.get_data(&ctx.path("a")).await.unwrap();
    assert_eq!(data, b"hello");
    assert_eq!(got, stat);
    let (_, parent) = c.get_data(&ctx.root).await.unwrap();
    assert_eq!(parent.cversion, parent_before.cversion + 1);
    assert_eq!(parent.num_children, parent_before.num_children + 1);
    assert_eq!(
        parent.pzxid, stat.czxid,
        "parent's pzxid is the child's creation zxid"
    );
    assert_eq!(
        parent.mzxid, parent_before.mzxid,
        "a child does not change the parent's data"
    );
    assert_eq!(parent.version, parent_before.version);
    assert_eq!(
        c.create(&ctx.path("a"), b"", &persistent()).await,
        Err(Error::NodeExists)
    );
    assert_eq!(
        c.create(&ctx.path("missing/child"), b"", &persistent())
            .await,
        Err(Error::NoNode)
    );
}

async fn create_sequential_names_follow_parent_cversion(ctx: Ctx) {
    let c = ctx.client().await;
    let dir = ctx.path("seq");
    c.create(&dir, b"", &persistent()).await.unwrap();
    let (_, s0) = c
        .create(
            &format!("{dir}/n-"),
            b"",
            &mode(CreateMode::PersistentSequential),
        )
        .await
        .unwrap();
    assert_eq!(s0.to_string(), "0000000000");
    c.create(&format!("{dir}/plain"), b"", &persistent())
        .await
        .unwrap();
    c.delete(&format!("{dir}/plain"), None).await.unwrap();
    // The suffix counts the parent's child *creations* (ZooKeeper keeps that count and reports
    // cversion as 2*creations - numChildren, i.e. creations + deletions).
    let (_, st) = c.get_data(&dir).await.unwrap();
    assert_eq!(st.cversion, 3, "cversion counts creates and deletes");
    let (_, s1) = c
        .create(
            &format!("{dir}/n-"),
            b"",
            &mode(CreateMode::EphemeralSequential),
        )
        .await
        .unwrap();
    assert_eq!(s1.to_string(), "0000000002");
    let mut kids = c.list_children(&dir).await.unwrap();
    kids.sort();
    assert_eq!(kids, vec!["n-0000000000", "n-0000000002"]);
}

async fn create_ephemeral_is_owned_and_childless(ctx: Ctx) {
    let c = ctx.client().await;
    let (stat, _) = c
        .create(&ctx.path("e"), b"x", &mode(CreateMode::Ephemeral))
        .await
        .unwrap();
    assert_eq!(stat.ephemeral_owner, c.session_id().0);
    assert_eq!(
        c.create(&ctx.path("e/child"), b"", &persistent()).await,
        Err(Error::NoChildrenForEphemerals)
    );
    let other = ctx.client().await;
    assert!(other.check_stat(&ctx.path("e")).await.unwrap().is_some());
    drop(c);
    // Dropping the last handle closes the session; its ephemerals go with it.
    let mut gone = false;
    for _ in 0..100 {
        if other.check_stat(&ctx.path("e")).await.unwrap().is_none() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(gone, "ephemeral node survived its closed session");
}

async fn create_container_is_reaped_after_last_child(ctx: Ctx) {
    let c = ctx.client().await;
    let box_path = ctx.path("box");
    let (stat, _) = c
        .create(&box_path, b"", &mode(CreateMode::Container))
        .await
        .unwrap();
    assert_eq!(stat.ephemeral_owner, 0, "containers report no owner");
    // A container that never had a child stays.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        c.check_stat(&box_path).await.unwrap().is_some(),
        "empty new container was reaped"
    );
    c.create(&format!("{box_path}/k"), b"", &persistent())
        .await
        .unwrap();
    c.delete(&format!("{box_path}/k"), None).await.unwrap();
    let mut gone = false;
    for _ in 0..100 {
        if c.check_stat(&box_path).await.unwrap().is_none() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "container with no children left was not reaped");
}

async fn create_ttl_expires_when_untouched(ctx: Ctx) {
    let c = ctx.client().await;
    let keep = ctx.path("ttl-keep");
    let short = ctx.path("ttl-short");
    let long_opts = persistent().with_ttl(Duration::from_secs(3600));
    let (stat, _) = c.create(&keep, b"x", &long_opts).await.unwrap();
    assert_eq!(stat.ephemeral_owner, 0, "TTL nodes report no owner");
    let short_opts = persistent().with_ttl(Duration::from_millis(300));
    c.create(&short, b"x", &short_opts).await.unwrap();
    let seq_opts = mode(CreateMode::PersistentSequential).with_ttl(Duration::from_secs(3600));
    let (_, seq) = c
        .create(&ctx.path("ttl-seq-"), b"", &seq_opts)
        .await
        .unwrap();
    assert!(seq.into_i64() >= 0);
    let mut gone = false;
    for _ in 0..100 {
        if c.check_stat(&short).await.unwrap().is_none() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "TTL node outlived its TTL");
    assert!(
        c.check_stat(&keep).await.unwrap().is_some(),
        "long TTL node vanished"
    );
}

async fn delete_checks_versions_and_children(ctx: Ctx) {
    let c = ctx.client().await;
    let p = ctx.path("d");
    c.create(&p, b"", &persistent()).await.unwrap();
    c.set_data(&p, b"1", None).await.unwrap();
    c.create(&ctx.path("d/k"), b"", &persistent())
        .await
        .unwrap();
    assert_eq!(c.delete(&p, None).await, Err(Error::NotEmpty));
    c.delete(&ctx.path("d/k"), Some(0)).await.unwrap();
    assert_eq!(c.delete(&p, Some(0)).await, Err(Error::BadVersion));
    assert_eq!(c.delete(&p, Some(7)).await, Err(Error::BadVersion));
    c.delete(&p, Some(1)).await.unwrap();
    assert_eq!(c.delete(&p, None).await, Err(Error::NoNode));
}

async fn exists_and_get_data(ctx: Ctx) {
    let c = ctx.client().await;
    assert_eq!(c.check_stat(&ctx.path("nope")).await, Ok(None));
    assert_eq!(c.get_data(&ctx.path("nope")).await, Err(Error::NoNode));
    let big = vec![7u8; 100_000];
    let (stat, _) = c
        .create(&ctx.path("big"), &big, &persistent())
        .await
        .unwrap();
    let got = c.check_stat(&ctx.path("big")).await.unwrap().unwrap();
    assert_eq!(got, stat);
    let (data, _) = c.get_data(&ctx.path("big")).await.unwrap();
    assert_eq!(data, big);
    let (empty, st) = {
        c.create(&ctx.path("empty"), b"", &persistent())
            .await
            .unwrap();
        c.get_data(&ctx.path("empty")).await.unwrap()
    };
    assert!(empty.is_empty());
    assert_eq!(st.data_length, 0);
}

async fn set_data_checks_versions(ctx: Ctx) {
    let c = ctx.client().await;
    let p = ctx.path("s");
    let (created, _) = c.create(&p, b"a", &persistent()).await.unwrap();
    let s1 = c.set_data(&p, b"bb", Some(0)).await.unwrap();
    assert_eq!(s1.version, 1);
    assert_eq!(s1.data_length, 2);
    assert_eq!(s1.czxid, created.czxid);
    assert!(s1.mzxid > created.mzxid);
    assert_eq!(s1.pzxid, created.pzxid, "setData leaves pzxid alone");
    assert!(s1.mtime >= created.mtime);
    assert_eq!(s1.ctime, created.ctime);
    assert_eq!(c.set_data(&p, b"x", Some(0)).await, Err(Error::BadVersion));
    let s2 = c.set_data(&p, b"ccc", None).await.unwrap();
    assert_eq!(s2.version, 2);
    assert_eq!(
        c.set_data(&ctx.path("missing"), b"", None).await,
        Err(Error::NoNode)
    );
    let (data, _) = c.get_data(&p).await.unwrap();
    assert_eq!(data, b"ccc");
}

async fn get_children_and_children2(ctx: Ctx) {
    let c = ctx.client().await;
    let p = ctx.path("kids");
    c.create(&p, b"", &persistent()).await.unwrap();
    for n in ["x", "a", "m"] {
        c.create(&format!("{p}/{n}"), b"", &persistent())
            .await
            .unwrap();
    }
    let mut list = c.list_children(&p).await.unwrap();
    list.sort();
    assert_eq!(list, vec!["a", "m", "x"]);
    let (mut list2, stat) = c.get_children(&p).await.unwrap();
    list2.sort();
    assert_eq!(list2, list);
    assert_eq!(stat.num_children, 3);
    assert_eq!(stat.cversion, 3);
    assert_eq!(c.list_children(&ctx.path("none")).await, Err(Error::NoNode));
    assert_eq!(
        c.list_children(&format!("{p}/a")).await.unwrap(),
        Vec::<String>::new()
    );
}

async fn get_and_set_acl(ctx: Ctx) {
    let c = ctx.client().await;
    let p = ctx.path("acl");
    c.create(&p, b"", &persistent()).await.unwrap();
    let (acl, stat) = c.get_acl(&p).await.unwrap();
    assert_eq!(acl, vec![Acl::new(Permission::ALL, AuthId::anyone())]);
    assert_eq!(stat.aversion, 0);
    let read = [Acl::new(
        Permission::READ | Permission::ADMIN,
        AuthId::anyone(),
    )];
    let st = c.set_acl(&p, &read, Some(0)).await.unwrap();
    assert_eq!(st.aversion, 1);
    assert_eq!(st.version, 0, "setACL leaves the data version alone");
    assert_eq!(c.set_acl(&p, &read, Some(0)).await, Err(Error::BadVersion));
    let (acl, _) = c.get_acl(&p).await.unwrap();
    assert_eq!(acl, read.to_vec());
    assert_eq!(c.set_data(&p, b"x", None).await, Err(Error::NoAuth));
    assert_eq!(c.get_acl(&ctx.path("missing")).await, Err(Error::NoNode));
}

async fn sync_succeeds(ctx: Ctx) {
    let c = ctx.client().await;
    c.sync(&ctx.root).await.unwrap();
    c.sync("/").await.unwrap();
}

async fn multi_success_returns_per_op_results(ctx: Ctx) {
    let c = ctx.client().await;
    let p = ctx.path("m");
    c.create(&p, b"0", &persistent()).await.unwrap();
    let mut w = c.new_multi_writer();
    w.add_check_version(&p, 0).unwrap();
    w.add_create(&ctx.path("m/a"), b"a", &persistent()).unwrap();
    w.add_create(
        &ctx.path("m/s-"),
        b"",
        &mode(CreateMode::PersistentSequential),
    )
    .unwrap();
    w.add_set_data(&p, b"1", Some(0)).unwrap();
    w.add_delete(&ctx.path("m/a"), Some(0)).unwrap();
    let results = w.commit().await.unwrap();
    assert_eq!(results.len(), 5);
    assert!(matches!(results[0], MultiWriteResult::Check));
    let MultiWriteResult::Create { path: pa, stat: sa } = &results[1] else {
        panic!("expected create, got {:?}", results[1]);
    };
    assert_eq!(pa, &ctx.path("m/a"));
    let MultiWriteResult::Create { path: ps, stat: ss } = &results[2] else {
        panic!("expected create, got {:?}", results[2]);
    };
    assert_eq!(ps, &ctx.path("m/s-0000000001"));
    let MultiWriteResult::SetData { stat: sd } = &results[3] else {
        panic!("expected setData, got {:?}", results[3]);
    };
    assert!(matches!(results[4], MultiWriteResult::Delete));
    assert_eq!(sd.version, 1);
    if ctx.target == testkit::Target::ZooKeeper {
        // ZooKeeper 3.8 answers a create2 inside multi with a plain create result (path only,
        // ZOOKEEPER-4026), which the client reports as an invalid stat.
        assert_eq!(
            (sa.czxid, ss.czxid),
            (-1, -1),
            "3.8 sends no stat for create in multi"
        );
    } else {
        // 3.9 (and 3.8.2+) send the stat: one transaction, so every op carries the same zxid.
        assert_ne!(
            sa.czxid, -1,
            "create2 in multi must return a stat (ZOOKEEPER-4026, fixed in 3.9)"
        );
        assert_eq!(sa.czxid, ss.czxid);
        assert_eq!(sa.czxid, sd.mzxid);
    }
    let mut kids = c.list_children(&p).await.unwrap();
    kids.sort();
    assert_eq!(kids, vec!["s-0000000001"]);
}

async fn multi_failure_applies_nothing(ctx: Ctx) {
    let c = ctx.client().await;
    let p = ctx.path("mf");
    c.create(&p, b"0", &persistent()).await.unwrap();
    let mut w = c.new_multi_writer();
    w.add_create(&ctx.path("mf/a"), b"", &persistent()).unwrap();
    w.add_check_version(&p, 5).unwrap();
    w.add_set_data(&p, b"x", None).unwrap();
    match w.commit().await {
        Err(zk::MultiWriteError::OperationFailed { index, source }) => {
            assert_eq!(index, 1);
            assert_eq!(source, Error::BadVersion);
        }
        other => panic!("expected failure at op 1, got {other:?}"),
    }
    assert_eq!(
        c.check_stat(&ctx.path("mf/a")).await,
        Ok(None),
        "multi was not atomic"
    );
    let (data, stat) = c.get_data(&p).await.unwrap();
    assert_eq!((data.as_slice(), stat.version), (b"0".as_slice(), 0));
    let mut w = c.new_multi_writer();
    w.add_create(&ctx.path("mf/b"), b"", &persistent()).unwrap();
    w.add_create(&ctx.path("mf/b"), b"", &persistent()).unwrap();
    match w.commit().await {
        Err(zk::MultiWriteError::OperationFailed { index, source }) => {
            assert_eq!((index, source), (1, Error::NodeExists));
        }
        other => panic!("expected NodeExists at op 1, got {other:?}"),
    }
    assert_eq!(c.check_stat(&ctx.path("mf/b")).await, Ok(None));
}

async fn multi_read_reports_each_op(ctx: Ctx) {
    let c = ctx.client().await;
    let p = ctx.path("mr");
    c.create(&p, b"d", &persistent()).await.unwrap();
    c.create(&ctx.path("mr/k"), b"", &persistent())
        .await
        .unwrap();
    let mut r = c.new_multi_reader();
    r.add_get_data(&p).unwrap();
    r.add_get_children(&p).unwrap();
    r.add_get_data(&ctx.path("mr/none")).unwrap();
    let results = r.commit().await.unwrap();
    assert_eq!(results.len(), 3);
    match &results[0] {
        MultiReadResult::Data { data, stat } => {
            assert_eq!(data, b"d");
            assert_eq!(stat.num_children, 1);
        }
        other => panic!("expected data, got {other:?}"),
    }
    match &results[1] {
        MultiReadResult::Children { children } => assert_eq!(children, &vec!["k".to_string()]),
        other => panic!("expected children, got {other:?}"),
    }
    match &results[2] {
        MultiReadResult::Error { err } => assert_eq!(err, &Error::NoNode),
        other => panic!("expected NoNode, got {other:?}"),
    }
}

async fn get_ephemerals_by_prefix(ctx: Ctx) {
    let c = ctx.client().await;
    c.create(&ctx.path("eph"), b"", &persistent())
        .await
        .unwrap();
    c.create(&ctx.path("eph/one"), b"", &mode(CreateMode::Ephemeral))
        .await
        .unwrap();
    c.create(&ctx.path("eph/two"), b"", &mode(CreateMode::Ephemeral))
        .await
        .unwrap();
    c.create(&ctx.path("ephx"), b"", &mode(CreateMode::Ephemeral))
        .await
        .unwrap();
    c.create(&ctx.path("eph/p"), b"", &persistent())
        .await
        .unwrap();
    let other = ctx.client().await;
    other
        .create(&ctx.path("eph/theirs"), b"", &mode(CreateMode::Ephemeral))
        .await
        .unwrap();
    let mut mine = c.list_ephemerals(&ctx.path("eph")).await.unwrap();
    mine.sort();
    // A plain string prefix: `eph` also matches `ephx`; only this session's nodes.
    assert_eq!(
        mine,
        vec![ctx.path("eph/one"), ctx.path("eph/two"), ctx.path("ephx")]
    );
    let mut all = c.list_ephemerals(&ctx.root).await.unwrap();
    all.sort();
    assert_eq!(all.len(), 3);
    let none = other
        .list_ephemerals(&ctx.path("nothing-here"))
        .await
        .unwrap();
    assert!(none.is_empty());
}

async fn get_all_children_number(ctx: Ctx) {
    let c = ctx.client().await;
    let p = ctx.path("count");
    c.create(&p, b"", &persistent()).await.unwrap();
    assert_eq!(c.count_descendants_number(&p).await.unwrap(), 0);
    for rel in ["count/a", "count/a/b", "count/a/b/c", "count/d"] {
        c.create(&ctx.path(rel), b"", &persistent()).await.unwrap();
    }
    assert_eq!(c.count_descendants_number(&p).await.unwrap(), 4);
    assert_eq!(
        c.count_descendants_number(&ctx.path("count/a"))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        c.count_descendants_number(&ctx.path("zzz")).await,
        Err(Error::NoNode)
    );
}

async fn who_am_i_lists_identities(ctx: Ctx) {
    let c = ctx.client().await;
    let users = c.list_auth_users().await.unwrap();
    let flat: Vec<(String, String)> = users
        .iter()
        .map(|u| (u.scheme().to_string(), u.user().to_string()))
        .collect();
    assert_eq!(flat, vec![("ip".to_string(), "127.0.0.1".to_string())]);
    c.auth("digest", b"alice:secret").await.unwrap();
    let users = c.list_auth_users().await.unwrap();
    let mut flat: Vec<(String, String)> = users
        .iter()
        .map(|u| (u.scheme().to_string(), u.user().to_string()))
        .collect();
    flat.sort();
    assert_eq!(
        flat,
        vec![
            ("digest".to_string(), "alice".to_string()),
            ("ip".to_string(), "127.0.0.1".to_string())
        ]
    );
}

async fn create_with_open_acl_helpers(ctx: Ctx) {
    let c = ctx.client().await;
    let ro = CreateMode::Persistent.with_acls(Acls::anyone_read());
    c.create(&ctx.path("ro"), b"r", &ro).await.unwrap();
    let (acl, _) = c.get_acl(&ctx.path("ro")).await.unwrap();
    assert_eq!(acl, vec![Acl::new(Permission::READ, AuthId::anyone())]);
    assert_eq!(
        c.set_data(&ctx.path("ro"), b"w", None).await,
        Err(Error::NoAuth)
    );
    assert_eq!(
        c.delete(&ctx.path("ro"), None).await,
        Ok(()),
        "delete needs DELETE on the parent only"
    );
}

both_targets!(
    create_persistent_returns_stat,
    create_sequential_names_follow_parent_cversion,
    create_ephemeral_is_owned_and_childless,
    create_container_is_reaped_after_last_child,
    create_ttl_expires_when_untouched,
    delete_checks_versions_and_children,
    exists_and_get_data,
    set_data_checks_versions,
    get_children_and_children2,
    get_and_set_acl,
    sync_succeeds,
    multi_success_returns_per_op_results,
    multi_failure_applies_nothing,
    multi_read_reports_each_op,
    get_ephemerals_by_prefix,
    get_all_children_number,
    who_am_i_lists_identities,
    create_with_open_acl_helpers,
);
