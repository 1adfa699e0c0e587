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

both_targets!(
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
