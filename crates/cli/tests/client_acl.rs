//! ACL schemes and the permission each operation needs, through the `zookeeper-client` crate.

mod common;

use common::{both_targets, persistent, Ctx};
use jute::proto::CreateRequest;
use jute::OpCode;
use zk::{Acl, Acls, AuthId, CreateMode, Error, Permission};
use zookeeper_client as zk;

const ALICE_DIGEST: &str = "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=";

fn acl_opts(acl: &[Acl]) -> zk::CreateOptions<'_> {
    CreateMode::Persistent.with_acls(Acls::new(acl))
}

async fn world_read_only_blocks_writes(ctx: Ctx) {
    let c = ctx.client().await;
    let p = ctx.path("ro");
    let acl = [Acl::new(Permission::READ, AuthId::anyone())];
    c.create(&p, b"d", &acl_opts(&acl)).await.unwrap();
    assert_eq!(c.get_data(&p).await.unwrap().0, b"d");
    assert_eq!(c.set_data(&p, b"x", None).await, Err(Error::NoAuth));
    assert_eq!(
        c.create(&format!("{p}/k"), b"", &persistent()).await,
        Err(Error::NoAuth)
    );
    assert_eq!(
        c.set_acl(&p, &[Acl::new(Permission::ALL, AuthId::anyone())], None)
            .await,
        Err(Error::NoAuth)
    );
    // READ is enough for getACL.
    assert_eq!(c.get_acl(&p).await.unwrap().0, acl.to_vec());
}

async fn digest_scheme_via_add_auth(ctx: Ctx) {
    let owner = ctx.client().await;
    owner.auth("digest", b"alice:secret").await.unwrap();
    let p = ctx.path("dg");
    let acl = [Acl::new(
        Permission::ALL,
        AuthId::new("digest", ALICE_DIGEST),
    )];
    owner.create(&p, b"secret", &acl_opts(&acl)).await.unwrap();
    assert_eq!(owner.get_data(&p).await.unwrap().0, b"secret");
    let anon = ctx.client().await;
    assert_eq!(anon.get_data(&p).await, Err(Error::NoAuth));
    assert_eq!(anon.list_children(&p).await, Err(Error::NoAuth));
    // exists needs no permission.
    assert!(anon.check_stat(&p).await.unwrap().is_some());
    let bob = ctx.client().await;
    bob.auth("digest", b"bob:secret").await.unwrap();
    assert_eq!(bob.get_data(&p).await, Err(Error::NoAuth));
    // Wrong password for alice is a different digest, so still NoAuth (not AuthFailed).
    let wrong = ctx.client().await;
    wrong.auth("digest", b"alice:wrong").await.unwrap();
    assert_eq!(wrong.get_data(&p).await, Err(Error::NoAuth));
    let second = ctx.client().await;
    second.auth("digest", b"alice:secret").await.unwrap();
    assert_eq!(second.get_data(&p).await.unwrap().0, b"secret");
}

async fn auth_scheme_expands_to_session_identities(ctx: Ctx) {
    let c = ctx.client().await;
    c.auth("digest", b"alice:secret").await.unwrap();
    let p = ctx.path("creator");
    c.create(
        &p,
        b"",
        &CreateMode::Persistent.with_acls(Acls::creator_all()),
    )
    .await
    .unwrap();
    let (acl, _) = c.get_acl(&p).await.unwrap();
    assert_eq!(
        acl,
        vec![Acl::new(
            Permission::ALL,
            AuthId::new("digest", ALICE_DIGEST)
        )]
    );
    let anon = ctx.client().await;
    assert_eq!(anon.get_data(&p).await, Err(Error::NoAuth));
    // Without any authenticated identity, the `auth` scheme has nothing to expand to.
    assert_eq!(
        anon.create(
            &ctx.path("creator2"),
            b"",
            &CreateMode::Persistent.with_acls(Acls::creator_all())
        )
        .await,
        Err(Error::InvalidAcl)
    );
}

/// ZooKeeper keeps a connection's auth ids in a hash set, so an `auth` ACL expands them in the
/// set's order, whatever order they were added in.
async fn auth_scheme_lists_identities_in_the_servers_set_order(ctx: Ctx) {
    let users: [&[u8]; 4] = [
        b"alice:secret",
        b"bob:secret",
        b"carol:secret",
        b"dave:secret",
    ];
    let mut lists = Vec::new();
    for (n, order) in [[0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1]]
        .iter()
        .enumerate()
    {
        let c = ctx.client().await;
        for &u in order {
            c.auth("digest", users[u]).await.unwrap();
        }
        let p = ctx.path(&format!("many{n}"));
        c.create(
            &p,
            b"",
            &CreateMode::Persistent.with_acls(Acls::creator_all()),
        )
        .await
        .unwrap();
        let (acl, _) = c.get_acl(&p).await.unwrap();
        assert_eq!(acl.len(), 4, "{acl:?}");
        lists.push(acl);
    }
    assert_eq!(lists[0], lists[1], "added in reverse order");
    assert_eq!(lists[0], lists[2], "added in a shuffled order");
}

async fn ip_scheme_matches_client_address(ctx: Ctx) {
    let c = ctx.client().await;
    let mine = [Acl::new(Permission::ALL, AuthId::new("ip", "127.0.0.1"))];
    c.create(&ctx.path("ip-ok"), b"y", &acl_opts(&mine))
        .await
        .unwrap();
    assert_eq!(c.get_data(&ctx.path("ip-ok")).await.unwrap().0, b"y");
    let cidr = [Acl::new(Permission::ALL, AuthId::new("ip", "127.0.0.0/8"))];
    c.create(&ctx.path("ip-cidr"), b"z", &acl_opts(&cidr))
        .await
        .unwrap();
    assert_eq!(c.get_data(&ctx.path("ip-cidr")).await.unwrap().0, b"z");
    let other = [Acl::new(Permission::ALL, AuthId::new("ip", "10.0.0.0/8"))];
    c.create(&ctx.path("ip-no"), b"n", &acl_opts(&other))
        .await
        .unwrap();
    assert_eq!(c.get_data(&ctx.path("ip-no")).await, Err(Error::NoAuth));
    let bad = [Acl::new(Permission::ALL, AuthId::new("ip", "not-an-ip"))];
    assert_eq!(
        c.create(&ctx.path("ip-bad"), b"", &acl_opts(&bad)).await,
        Err(Error::InvalidAcl)
    );
}

async fn super_digest_passes_every_check(ctx: Ctx) {
    let owner = ctx.client().await;
    let p = ctx.path("locked");
    let nobody = [Acl::new(
        Permission::READ,
        AuthId::new("digest", "nobody:AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
    )];
    owner.create(&p, b"x", &acl_opts(&nobody)).await.unwrap();
    assert_eq!(owner.get_data(&p).await, Err(Error::NoAuth));
    let root = ctx.client().await;
    root.auth("digest", b"super:test").await.unwrap();
    assert_eq!(root.get_data(&p).await.unwrap().0, b"x");
    root.set_data(&p, b"y", None).await.unwrap();
    root.set_acl(&p, &[Acl::new(Permission::ALL, AuthId::anyone())], None)
        .await
        .unwrap();
    // Another client may be on another ensemble member: as in ZooKeeper, it sees the change
    // once it syncs (only a client's own writes are ordered before its later reads).
    owner.sync(&p).await.unwrap();
    assert_eq!(owner.get_data(&p).await.unwrap().0, b"y");
    let users = root.list_auth_users().await.unwrap();
    let mut flat: Vec<(String, String)> = users
        .iter()
        .map(|u| (u.scheme().to_string(), u.user().to_string()))
        .collect();
    flat.sort();
    // The super digest adds a `super` identity beside the ordinary digest one.
    assert_eq!(
        flat,
        vec![
            ("digest".to_string(), "super".to_string()),
            ("ip".to_string(), "127.0.0.1".to_string()),
            ("super".to_string(), String::new()),
        ]
    );
}

async fn permission_bits_per_operation(ctx: Ctx) {
    let c = ctx.client().await;
    let p = ctx.path("perm");
    // CREATE|READ on the parent: children may be created, not deleted.
    let cr = [Acl::new(
        Permission::CREATE | Permission::READ,
        AuthId::anyone(),
    )];
    c.create(&p, b"", &acl_opts(&cr)).await.unwrap();
    c.create(&format!("{p}/k"), b"", &persistent())
        .await
        .unwrap();
    assert_eq!(
        c.delete(&format!("{p}/k"), None).await,
        Err(Error::NoAuth),
        "delete needs DELETE on the parent"
    );
    assert_eq!(
        c.set_data(&p, b"x", None).await,
        Err(Error::NoAuth),
        "setData needs WRITE"
    );
    assert_eq!(c.list_children(&p).await.unwrap(), vec!["k".to_string()]);
    // DELETE only: delete allowed, create refused, reads refused.
    let d = ctx.path("perm-d");
    let del = [Acl::new(Permission::DELETE, AuthId::anyone())];
    c.create(&d, b"", &persistent()).await.unwrap();
    c.create(&format!("{d}/k"), b"", &persistent())
        .await
        .unwrap();
    c.set_acl(&d, &del, None).await.unwrap();
    assert_eq!(
        c.create(&format!("{d}/j"), b"", &persistent()).await,
        Err(Error::NoAuth)
    );
    assert_eq!(
        c.list_children(&d).await,
        Err(Error::NoAuth),
        "getChildren needs READ"
    );
    assert_eq!(c.get_data(&d).await, Err(Error::NoAuth));
    assert!(
        c.check_stat(&d).await.unwrap().is_some(),
        "exists needs nothing"
    );
    assert_eq!(
        c.get_acl(&d).await,
        Err(Error::NoAuth),
        "getACL needs READ or ADMIN"
    );
    c.delete(&format!("{d}/k"), None).await.unwrap();
    // ADMIN only: setACL allowed.
    let a = ctx.path("perm-a");
    let admin = [Acl::new(Permission::ADMIN, AuthId::anyone())];
    c.create(&a, b"", &acl_opts(&admin)).await.unwrap();
    assert_eq!(
        c.get_acl(&a).await.unwrap().0,
        admin.to_vec(),
        "ADMIN alone allows getACL"
    );
    c.set_acl(&a, &[Acl::new(Permission::ALL, AuthId::anyone())], None)
        .await
        .unwrap();
    c.set_data(&a, b"now", None).await.unwrap();
    // A node's own ACL does not protect it from deletion: its parent's does.
    let w = ctx.path("perm-w");
    c.create(
        &w,
        b"",
        &acl_opts(&[Acl::new(Permission::READ, AuthId::anyone())]),
    )
    .await
    .unwrap();
    c.delete(&w, None).await.unwrap();
}

async fn invalid_acls_are_refused(ctx: Ctx) {
    let p = ctx.path("bad");
    tokio::task::spawn_blocking({
        let ctx = ctx.clone();
        move || {
            let mut raw = ctx.raw();
            let empty = CreateRequest {
                path: p.clone(),
                data: Default::default(),
                acl: vec![],
                flags: 0,
            };
            assert_eq!(
                raw.call_record(OpCode::Create2, &empty).unwrap().header.err,
                -114
            );
            let scheme = CreateRequest {
                path: p.clone(),
                data: Default::default(),
                acl: vec![jute::Acl::new(31, jute::Id::new("nosuch", "x"))],
                flags: 0,
            };
            assert_eq!(
                raw.call_record(OpCode::Create2, &scheme)
                    .unwrap()
                    .header
                    .err,
                -114
            );
            let digest_plain = CreateRequest {
                path: p.clone(),
                data: Default::default(),
                acl: vec![jute::Acl::new(31, jute::Id::new("digest", "no-colon"))],
                flags: 0,
            };
            assert_eq!(
                raw.call_record(OpCode::Create2, &digest_plain)
                    .unwrap()
                    .header
                    .err,
                -114
            );
            assert_eq!(raw.exists(&p, false).unwrap().header.err, -101);
        }
    })
    .await
    .unwrap();
}

async fn get_acl_redacts_digests_without_admin(ctx: Ctx) {
    let owner = ctx.client().await;
    owner.auth("digest", b"alice:secret").await.unwrap();
    let p = ctx.path("redact");
    let acl = [
        Acl::new(Permission::ALL, AuthId::new("digest", ALICE_DIGEST)),
        Acl::new(Permission::READ, AuthId::anyone()),
    ];
    owner.create(&p, b"", &acl_opts(&acl)).await.unwrap();
    // The owner holds ADMIN through the digest entry: it sees the hash.
    assert_eq!(owner.get_acl(&p).await.unwrap().0, acl.to_vec());
    // A reader without ADMIN sees the digest's password part replaced by "x".
    let reader = ctx.client().await;
    let (seen, _) = reader.get_acl(&p).await.unwrap();
    assert_eq!(
        seen,
        vec![
            Acl::new(Permission::ALL, AuthId::new("digest", "alice:x")),
            Acl::new(Permission::READ, AuthId::anyone()),
        ]
    );
}

async fn auth_reply_echoes_request_xid(ctx: Ctx) {
    tokio::task::spawn_blocking(move || {
        let mut raw = ctx.raw();
        let auth = jute::proto::AuthPacket {
            auth_type: 0,
            scheme: "digest".into(),
            auth: bytes::Bytes::from_static(b"alice:secret"),
        };
        // Clients may send auth with any xid (the Rust client uses ordinary ones, not -4); the
        // reply carries the request's xid like any other reply.
        raw.send_with_xid(7, OpCode::Auth.as_i32(), &jute::Record::to_bytes(&auth))
            .unwrap();
        let reply = raw.read_reply().unwrap();
        assert_eq!((reply.header.xid, reply.header.err), (7, 0));
        let again = raw.call_record(OpCode::Auth, &auth).unwrap();
        assert_eq!((again.header.xid, again.header.err), (jute::xid::AUTH, 0));
    })
    .await
    .unwrap();
}

both_targets!(
    get_acl_redacts_digests_without_admin,
    auth_reply_echoes_request_xid,
    world_read_only_blocks_writes,
    digest_scheme_via_add_auth,
    auth_scheme_expands_to_session_identities,
    auth_scheme_lists_identities_in_the_servers_set_order,
    ip_scheme_matches_client_address,
    super_digest_passes_every_check,
    permission_bits_per_operation,
    invalid_acls_are_refused,
);
