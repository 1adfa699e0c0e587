//! Every watch type, one-shot and persistent, through the `zookeeper-client` crate, and the
//! ordering guarantee (a notification precedes the reply that reads its change) on the wire.

mod common;

use common::{both_targets, mode, persistent, within, Ctx};
use jute::proto::{RemoveWatchesRequest, WatcherEvent};
use jute::{EventType as WireEvent, OpCode};
use std::time::Duration;
use zk::{AddWatchMode, CreateMode, EventType, SessionState};
use zookeeper_client as zk;

async fn data_watch_fires_once_on_set(ctx: Ctx) {
    let c = ctx.client().await;
    let other = ctx.client().await;
    let p = ctx.path("w");
    c.create(&p, b"0", &persistent()).await.unwrap();
    let (_, _, watcher) = c.get_and_watch_data(&p).await.unwrap();
    let st = other.set_data(&p, b"1", None).await.unwrap();
    let ev = within("NodeDataChanged", watcher.changed()).await;
    assert_eq!(ev.event_type, EventType::NodeDataChanged);
    assert_eq!(ev.path, p);
    assert_eq!(ev.session_state, SessionState::SyncConnected);
    if ev.zxid != -1 {
        // 3.9 puts the triggering zxid in the notification header; 3.8 sends -1.
        assert_eq!(ev.zxid, st.mzxid);
    }
}

async fn data_watch_fires_on_delete(ctx: Ctx) {
    let c = ctx.client().await;
    let p = ctx.path("wd");
    c.create(&p, b"", &persistent()).await.unwrap();
    let (_, _, watcher) = c.get_and_watch_data(&p).await.unwrap();
    let (_, exists_watcher) = c.check_and_watch_stat(&p).await.unwrap();
    c.delete(&p, None).await.unwrap();
    let ev = within("NodeDeleted (data)", watcher.changed()).await;
    assert_eq!(
        (ev.event_type, ev.path.as_str()),
        (EventType::NodeDeleted, p.as_str())
    );
    let ev = within("NodeDeleted (exists)", exists_watcher.changed()).await;
    assert_eq!(ev.event_type, EventType::NodeDeleted);
}

async fn exists_watch_on_missing_node_fires_on_create(ctx: Ctx) {
    let c = ctx.client().await;
    let other = ctx.client().await;
    let p = ctx.path("later");
    let (stat, watcher) = c.check_and_watch_stat(&p).await.unwrap();
    assert!(stat.is_none());
    other
        .create(&p, b"", &mode(CreateMode::Ephemeral))
        .await
        .unwrap();
    let ev = within("NodeCreated", watcher.changed()).await;
    assert_eq!(
        (ev.event_type, ev.path.as_str()),
        (EventType::NodeCreated, p.as_str())
    );
}

async fn child_watch_fires_on_create_delete_and_parent_delete(ctx: Ctx) {
    let c = ctx.client().await;
    let other = ctx.client().await;
    let p = ctx.path("cw");
    c.create(&p, b"", &persistent()).await.unwrap();
    let (_, watcher) = c.list_and_watch_children(&p).await.unwrap();
    other
        .create(&format!("{p}/k"), b"", &persistent())
        .await
        .unwrap();
    let ev = within("NodeChildrenChanged on create", watcher.changed()).await;
    assert_eq!(
        (ev.event_type, ev.path.as_str()),
        (EventType::NodeChildrenChanged, p.as_str())
    );
    let (_, _, watcher) = c.get_and_watch_children(&p).await.unwrap();
    // A data change of the parent does not fire a child watch; the child's deletion does.
    other.set_data(&p, b"x", None).await.unwrap();
    other.delete(&format!("{p}/k"), None).await.unwrap();
    let ev = within("NodeChildrenChanged on delete", watcher.changed()).await;
    assert_eq!(ev.event_type, EventType::NodeChildrenChanged);
    let (_, watcher) = c.list_and_watch_children(&p).await.unwrap();
    other.delete(&p, None).await.unwrap();
    let ev = within("NodeDeleted on parent", watcher.changed()).await;
    assert_eq!(
        (ev.event_type, ev.path.as_str()),
        (EventType::NodeDeleted, p.as_str())
    );
}

async fn persistent_watch_stays_and_sees_node_and_children(ctx: Ctx) {
    let c = ctx.client().await;
    let other = ctx.client().await;
    let p = ctx.path("pw");
    let mut w = c.watch(&p, AddWatchMode::Persistent).await.unwrap();
    other.create(&p, b"", &persistent()).await.unwrap();
    other.set_data(&p, b"1", None).await.unwrap();
    other.set_data(&p, b"2", None).await.unwrap();
    other
        .create(&format!("{p}/k"), b"", &persistent())
        .await
        .unwrap();
    other
        .create(&format!("{p}/k/deep"), b"", &persistent())
        .await
        .unwrap();
    other.delete(&format!("{p}/k/deep"), None).await.unwrap();
    other.delete(&format!("{p}/k"), None).await.unwrap();
    other.delete(&p, None).await.unwrap();
    let mut got = Vec::new();
    for _ in 0..6 {
        let ev = within("persistent watch event", w.changed()).await;
        got.push((ev.event_type, ev.path));
    }
    assert_eq!(
        got,
        vec![
            (EventType::NodeCreated, p.clone()),
            (EventType::NodeDataChanged, p.clone()),
            (EventType::NodeDataChanged, p.clone()),
            (EventType::NodeChildrenChanged, p.clone()),
            (EventType::NodeChildrenChanged, p.clone()),
            (EventType::NodeDeleted, p.clone()),
        ]
    );
}

async fn persistent_recursive_watch_covers_subtree_without_child_events(ctx: Ctx) {
    let c = ctx.client().await;
    let other = ctx.client().await;
    let p = ctx.path("rw");
    c.create(&p, b"", &persistent()).await.unwrap();
    let mut w = c
        .watch(&p, AddWatchMode::PersistentRecursive)
        .await
        .unwrap();
    let k = format!("{p}/k");
    let deep = format!("{p}/k/deep");
    other.create(&k, b"", &persistent()).await.unwrap();
    other.create(&deep, b"", &persistent()).await.unwrap();
    other.set_data(&deep, b"x", None).await.unwrap();
    other.delete(&deep, None).await.unwrap();
    other.set_data(&p, b"y", None).await.unwrap();
    let mut got = Vec::new();
    for _ in 0..5 {
        let ev = within("recursive watch event", w.changed()).await;
        got.push((ev.event_type, ev.path));
    }
    assert_eq!(
        got,
        vec![
            (EventType::NodeCreated, k.clone()),
            (EventType::NodeCreated, deep.clone()),
            (EventType::NodeDataChanged, deep.clone()),
            (EventType::NodeDeleted, deep.clone()),
            (EventType::NodeDataChanged, p.clone()),
        ]
    );
}

/// Wire-level: a notification is delivered before the reply of a later read that sees the change.
async fn event_precedes_reply_of_following_read(ctx: Ctx) {
    let p = ctx.path("order");
    let root = ctx.root.clone();
    tokio::task::spawn_blocking({
        let ctx = ctx.clone();
        move || {
            let mut watcher = ctx.raw();
            let mut writer = ctx.raw();
            assert_eq!(writer.create(&p, b"0", 0).unwrap().header.err, 0);
            watcher.log = Some(Vec::new());
            assert_eq!(watcher.get_data(&p, true).unwrap().header.err, 0);
            assert_eq!(
                watcher
                    .exists(&format!("{root}/none"), true)
                    .unwrap()
                    .header
                    .err,
                -101
            );
            let set = writer.set_data(&p, b"1", -1).unwrap();
            assert_eq!(set.header.err, 0);
            let created = writer.create(&format!("{root}/none"), b"", 0).unwrap();
            assert_eq!(created.header.err, 0);
            let read = watcher.get_data(&p, false).unwrap();
            assert_eq!(read.header.err, 0);
            let log = watcher.log.take().unwrap();
            let kinds: Vec<String> = log
                .iter()
                .map(|i| match i {
                    testkit::raw::Incoming::Event { event, .. } => {
                        format!("event {} {}", event.event_type, event.path)
                    }
                    testkit::raw::Incoming::Reply(r) => format!("reply {}", r.header.err),
                })
                .collect();
            assert_eq!(
                kinds,
                vec![
                    "reply 0".to_string(),
                    "reply -101".to_string(),
                    format!("event {} {p}", WireEvent::NodeDataChanged as i32),
                    format!("event {} {root}/none", WireEvent::NodeCreated as i32),
                    "reply 0".to_string(),
                ],
                "notifications must precede the reply of the read that follows the change"
            );
            // The read's reply zxid is at least the change's zxid.
            assert!(read.header.zxid >= created.header.zxid);
            let events = watcher.take_events();
            assert!(events.iter().all(|(_, e)| e.state == 3));
        }
    })
    .await
    .unwrap();
}

/// removeWatches (op 18) drops a registered watch; a second removal answers NoWatcher.
async fn remove_watches_unregisters(ctx: Ctx) {
    let p = ctx.path("rm");
    tokio::task::spawn_blocking({
        let ctx = ctx.clone();
        move || {
            let mut c = ctx.raw();
            let mut other = ctx.raw();
            assert_eq!(c.create(&p, b"", 0).unwrap().header.err, 0);
            assert_eq!(c.get_data(&p, true).unwrap().header.err, 0);
            let rm = RemoveWatchesRequest {
                path: p.clone(),
                watcher_type: 2,
            };
            assert_eq!(
                c.call_record(OpCode::RemoveWatches, &rm)
                    .unwrap()
                    .header
                    .err,
                0
            );
            assert_eq!(
                c.call_record(OpCode::RemoveWatches, &rm)
                    .unwrap()
                    .header
                    .err,
                -121,
                "second removal must be NoWatcher"
            );
            let child = RemoveWatchesRequest {
                path: p.clone(),
                watcher_type: 1,
            };
            assert_eq!(
                c.call_record(OpCode::RemoveWatches, &child)
                    .unwrap()
                    .header
                    .err,
                -121
            );
            assert_eq!(other.set_data(&p, b"x", -1).unwrap().header.err, 0);
            c.ping().unwrap();
            let events: Vec<(i64, WatcherEvent)> = c.take_events();
            assert!(events.is_empty(), "removed watch still fired: {events:?}");
            // Any (3) removes both kinds.
            assert_eq!(c.exists(&p, true).unwrap().header.err, 0);
            let any = RemoveWatchesRequest {
                path: p.clone(),
                watcher_type: 3,
            };
            assert_eq!(
                c.call_record(OpCode::RemoveWatches, &any)
                    .unwrap()
                    .header
                    .err,
                0
            );
        }
    })
    .await
    .unwrap();
}

/// A one-shot watch set by exists on an existing node fires on data change, then never again.
async fn one_shot_watch_is_one_shot(ctx: Ctx) {
    let p = ctx.path("once");
    tokio::task::spawn_blocking({
        let ctx = ctx.clone();
        move || {
            let mut c = ctx.raw();
            let mut other = ctx.raw();
            assert_eq!(c.create(&p, b"", 0).unwrap().header.err, 0);
            assert_eq!(c.exists(&p, true).unwrap().header.err, 0);
            // Two watch registrations on one path and type are one watch: one event.
            assert_eq!(c.get_data(&p, true).unwrap().header.err, 0);
            other.set_data(&p, b"1", -1).unwrap();
            other.set_data(&p, b"2", -1).unwrap();
            std::thread::sleep(Duration::from_millis(100));
            c.ping().unwrap();
            let events = c.take_events();
            assert_eq!(events.len(), 1, "expected exactly one event: {events:?}");
            assert_eq!(events[0].1.event_type, WireEvent::NodeDataChanged as i32);
        }
    })
    .await
    .unwrap();
}

// Watch delivery and ACLs (CVE-2024-23944, ZOOKEEPER-4799): an event reaches a watcher only if
// the watcher's connection may READ the node the event is about (the node's own ACL, a deleted
// node's last one, the parent's for NodeChildrenChanged). Watches are registered while the nodes
// are open and restricted afterwards, so registration itself needs no permission.

/// Blocking helpers for the ACL cases: a raw session that can authenticate and set ACLs.
mod acl_wire {
    use bytes::Bytes;
    use jute::proto::{
        AddWatchRequest, AuthPacket, CreateRequest, GetChildrenRequest, SetAclRequest,
    };
    use jute::{perms, Acl, Id, OpCode, Record};
    use testkit::raw::RawClient;

    /// Everything for anyone.
    pub fn open() -> Vec<Acl> {
        Acl::open_unsafe()
    }

    /// Everything for the creator's authenticated ids (alice), nothing for anyone else.
    pub fn creator_only() -> Vec<Acl> {
        vec![Acl::new(perms::ALL, Id::new("auth", ""))]
    }

    pub fn add_auth(c: &mut RawClient, user_password: &str) {
        let packet = AuthPacket {
            auth_type: 0,
            scheme: "digest".into(),
            auth: Bytes::copy_from_slice(user_password.as_bytes()),
        };
        let reply = c.call(OpCode::Auth, &packet.to_bytes()).unwrap();
        assert_eq!(reply.header.err, 0, "addAuth {user_password}");
    }

    pub fn create(c: &mut RawClient, path: &str, acl: Vec<Acl>) {
        let req = CreateRequest {
            path: path.into(),
            data: Some(Bytes::new()),
            acl,
            flags: 0,
        };
        let reply = c.call_record(OpCode::Create2, &req).unwrap();
        assert_eq!(reply.header.err, 0, "create {path}");
    }

    pub fn set_acl(c: &mut RawClient, path: &str, acl: Vec<Acl>) {
        let req = SetAclRequest {
            path: path.into(),
            acl,
            version: -1,
        };
        let reply = c.call_record(OpCode::SetAcl, &req).unwrap();
        assert_eq!(reply.header.err, 0, "setACL {path}");
    }

    pub fn set_data(c: &mut RawClient, path: &str) {
        assert_eq!(
            c.set_data(path, b"x", -1).unwrap().header.err,
            0,
            "setData {path}"
        );
    }

    pub fn delete(c: &mut RawClient, path: &str) {
        assert_eq!(c.delete(path, -1).unwrap().header.err, 0, "delete {path}");
    }

    pub fn watch_data(c: &mut RawClient, path: &str) {
        assert_eq!(
            c.get_data(path, true).unwrap().header.err,
            0,
            "getData {path}"
        );
    }

    pub fn watch_exists(c: &mut RawClient, path: &str) {
        let err = c.exists(path, true).unwrap().header.err;
        assert!(err == 0 || err == -101, "exists {path}: {err}");
    }

    pub fn watch_children(c: &mut RawClient, path: &str) {
        let req = GetChildrenRequest {
            path: path.into(),
            watch: true,
        };
        let reply = c.call_record(OpCode::GetChildren, &req).unwrap();
        assert_eq!(reply.header.err, 0, "getChildren {path}");
    }

    /// `addWatch`; `mode` 0 is persistent, 1 persistent recursive.
    pub fn add_watch(c: &mut RawClient, path: &str, mode: i32) {
        let req = AddWatchRequest {
            path: path.into(),
            mode,
        };
        let reply = c.call_record(OpCode::AddWatch, &req).unwrap();
        assert_eq!(reply.header.err, 0, "addWatch {path}");
    }

    /// Every notification delivered so far, as `(type, path)`. A read goes through the server's
    /// pipeline after every write already answered, so each event those writes fired precedes
    /// its reply.
    pub fn events(c: &mut RawClient) -> Vec<(i32, String)> {
        assert_eq!(c.exists("/", false).unwrap().header.err, 0);
        c.take_events()
            .into_iter()
            .map(|(_, e)| (e.event_type, e.path))
            .collect()
    }
}

const CREATED: i32 = WireEvent::NodeCreated as i32;
const DATA_CHANGED: i32 = WireEvent::NodeDataChanged as i32;
const CHILDREN_CHANGED: i32 = WireEvent::NodeChildrenChanged as i32;

/// One-shot data, exists and child watches: an event about a node the watcher may not read is
/// not delivered, and the watch is spent all the same.
async fn one_shot_watches_skip_unreadable_events_and_are_spent(ctx: Ctx) {
    use acl_wire::*;
    let p = ctx.path("acl1");
    tokio::task::spawn_blocking(move || {
        let (kid, fresh, other) = (format!("{p}/kid"), format!("{p}/new"), format!("{p}/o"));
        let mut owner = ctx.raw();
        add_auth(&mut owner, "alice:secret");
        let mut w = ctx.raw();
        create(&mut owner, &p, open());
        create(&mut owner, &kid, open());
        watch_data(&mut w, &p);
        watch_children(&mut w, &p);
        watch_exists(&mut w, &kid);
        watch_exists(&mut w, &fresh);
        set_acl(&mut owner, &p, creator_only());
        set_acl(&mut owner, &kid, creator_only());
        // The data watch on p: p's ACL.
        set_data(&mut owner, &p);
        // The exists watch on the new node: its own ACL; the child watch on p: p's ACL.
        create(&mut owner, &fresh, creator_only());
        // The exists watch on kid: the ACL kid had.
        delete(&mut owner, &kid);
        assert_eq!(events(&mut w), vec![], "events about unreadable nodes");
        // Readable again: nothing fires, because every watch above was spent.
        set_acl(&mut owner, &p, open());
        set_acl(&mut owner, &fresh, open());
        set_data(&mut owner, &p);
        set_data(&mut owner, &fresh);
        create(&mut owner, &other, open());
        delete(&mut owner, &fresh);
        assert_eq!(events(&mut w), vec![], "spent watches fired");
        watch_data(&mut w, &p);
        set_data(&mut owner, &p);
        assert_eq!(events(&mut w), vec![(DATA_CHANGED, p.clone())]);
    })
    .await
    .unwrap();
}

/// Persistent and persistent recursive watches skip events about nodes the watcher may not
/// read (a child's own ACL for the recursive watch, the parent's for NodeChildrenChanged) and
/// stay registered.
async fn persistent_watches_skip_unreadable_events_and_stay(ctx: Ctx) {
    use acl_wire::*;
    let p = ctx.path("acl2");
    tokio::task::spawn_blocking(move || {
        let (secret, public, late) = (format!("{p}/s"), format!("{p}/o"), format!("{p}/l"));
        let mut owner = ctx.raw();
        add_auth(&mut owner, "alice:secret");
        create(&mut owner, &p, open());
        let mut persistent = ctx.raw();
        add_watch(&mut persistent, &p, 0);
        let mut recursive = ctx.raw();
        add_watch(&mut recursive, &p, 1);
        create(&mut owner, &secret, creator_only());
        create(&mut owner, &public, open());
        set_data(&mut owner, &secret);
        set_data(&mut owner, &public);
        delete(&mut owner, &secret);
        set_acl(&mut owner, &p, creator_only());
        set_data(&mut owner, &p);
        create(&mut owner, &late, open());
        set_acl(&mut owner, &p, open());
        set_data(&mut owner, &p);
        assert_eq!(
            events(&mut persistent),
            vec![
                (CHILDREN_CHANGED, p.clone()),
                (CHILDREN_CHANGED, p.clone()),
                (CHILDREN_CHANGED, p.clone()),
                (DATA_CHANGED, p.clone()),
            ]
        );
        assert_eq!(
            events(&mut recursive),
            vec![
                (CREATED, public.clone()),
                (DATA_CHANGED, public.clone()),
                (CREATED, late.clone()),
                (DATA_CHANGED, p.clone()),
            ]
        );
    })
    .await
    .unwrap();
}

/// The watcher's auth at delivery counts: its digest ids (also one added after the watch was
/// set), the super user, and its address under an `ip` ACL.
async fn watch_events_reach_watchers_with_read_access(ctx: Ctx) {
    use acl_wire::*;
    use jute::{perms, Acl, Id};
    let p = ctx.path("acl3");
    tokio::task::spawn_blocking(move || {
        let by_ip = format!("{p}/ip");
        let mut owner = ctx.raw();
        add_auth(&mut owner, "alice:secret");
        create(&mut owner, &p, open());
        create(&mut owner, &by_ip, open());
        let mut alice = ctx.raw();
        add_auth(&mut alice, "alice:secret");
        let mut root = ctx.raw();
        add_auth(&mut root, "super:test");
        let mut late = ctx.raw();
        let mut bob = ctx.raw();
        add_auth(&mut bob, "bob:secret");
        let mut local = ctx.raw();
        for c in [&mut alice, &mut root, &mut late, &mut bob] {
            watch_data(c, &p);
        }
        watch_data(&mut local, &by_ip);
        set_acl(&mut owner, &p, creator_only());
        // Loopback clients may read by_ip; bob has no right on either node.
        let by_ip_acl = vec![
            Acl::new(perms::READ, Id::new("ip", "127.0.0.1")),
            Acl::new(perms::ALL, Id::new("auth", "")),
        ];
        set_acl(&mut owner, &by_ip, by_ip_acl);
        add_auth(&mut late, "alice:secret");
        set_data(&mut owner, &p);
        set_data(&mut owner, &by_ip);
        let changed = vec![(DATA_CHANGED, p.clone())];
        assert_eq!(events(&mut alice), changed, "alice");
        assert_eq!(events(&mut root), changed, "super");
        assert_eq!(events(&mut late), changed, "alice since the watch was set");
        assert_eq!(events(&mut bob), vec![], "bob");
        assert_eq!(events(&mut local), vec![(DATA_CHANGED, by_ip.clone())]);
    })
    .await
    .unwrap();
}

both_targets!(
    one_shot_watches_skip_unreadable_events_and_are_spent,
    persistent_watches_skip_unreadable_events_and_stay,
    watch_events_reach_watchers_with_read_access,
    data_watch_fires_once_on_set,
    data_watch_fires_on_delete,
    exists_watch_on_missing_node_fires_on_create,
    child_watch_fires_on_create_delete_and_parent_delete,
    persistent_watch_stays_and_sees_node_and_children,
    persistent_recursive_watch_covers_subtree_without_child_events,
    event_precedes_reply_of_following_read,
    remove_watches_unregisters,
    one_shot_watch_is_one_shot,
);
