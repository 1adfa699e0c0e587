//! Watches of every kind, their events, their order, and their removal.

use crate::common::{both_targets, within, Ctx};
use client::{AddWatchMode, CreateOptions, Error, EventType, KeeperState, WatcherType};

async fn data_watch_fires_on_change_with_its_zxid(ctx: Ctx) {
    let c = ctx.client().await;
    let other = ctx.client().await;
    let p = ctx.path("w");
    c.create(&p, b"0", &CreateOptions::persistent())
        .await
        .unwrap();
    let (data, _, watch) = c.get_data_w(&p).await.unwrap();
    assert_eq!(data, b"0");
    let st = other.set_data(&p, b"1", None).await.unwrap();
    let ev = within("NodeDataChanged", watch).await;
    assert_eq!(
        (ev.event_type, ev.state, ev.path.as_str()),
        (
            EventType::NodeDataChanged,
            KeeperState::SyncConnected,
            p.as_str()
        )
    );
    // 3.9 sends the triggering zxid; 3.8 sends -1 (None).
    if let Some(z) = ev.zxid {
        assert_eq!(z, st.mzxid);
    }
}

async fn exists_watch_fires_on_creation_and_on_deletion(ctx: Ctx) {
    let c = ctx.client().await;
    let other = ctx.client().await;
    let p = ctx.path("later");
    let (stat, created) = c.exists_w(&p).await.unwrap();
    assert!(stat.is_none());
    other
        .create(&p, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let ev = within("NodeCreated", created).await;
    assert_eq!(
        (ev.event_type, ev.path.as_str()),
        (EventType::NodeCreated, p.as_str())
    );
    let (stat, deleted) = c.exists_w(&p).await.unwrap();
    assert!(stat.is_some());
    other.delete(&p, None).await.unwrap();
    let ev = within("NodeDeleted", deleted).await;
    assert_eq!(ev.event_type, EventType::NodeDeleted);
}

async fn child_watch_fires_on_child_change_and_parent_deletion(ctx: Ctx) {
    let c = ctx.client().await;
    let other = ctx.client().await;
    let p = ctx.path("cw");
    c.create(&p, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let (kids, watch) = c.get_children_w(&p).await.unwrap();
    assert!(kids.is_empty());
    let kid = format!("{p}/k");
    other
        .create(&kid, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let ev = within("NodeChildrenChanged", watch).await;
    assert_eq!(
        (ev.event_type, ev.path.as_str()),
        (EventType::NodeChildrenChanged, p.as_str())
    );
    let (kids, stat, mut watch) = c.get_children2_w(&p).await.unwrap();
    assert_eq!((kids.len(), stat.num_children), (1, 1));
    // A data change of the parent is not a child event.
    other.set_data(&p, b"x", None).await.unwrap();
    c.sync(&p).await.unwrap();
    assert!(
        watch.try_event().is_none(),
        "child watch fired on a data change"
    );
    other.delete(&kid, None).await.unwrap();
    assert_eq!(
        within("child deleted", watch).await.event_type,
        EventType::NodeChildrenChanged
    );
    let (_, watch) = c.get_children_w(&p).await.unwrap();
    other.delete(&p, None).await.unwrap();
    assert_eq!(
        within("parent deleted", watch).await.event_type,
        EventType::NodeDeleted
    );
}

/// A client sees a watch event before the reply that shows the change that fired it.
async fn event_arrives_before_the_change_is_read(ctx: Ctx) {
    let c = ctx.client().await;
    let other = ctx.client().await;
    let p = ctx.path("order");
    c.create(&p, b"0", &CreateOptions::persistent())
        .await
        .unwrap();
    for i in 1..=20u32 {
        let (_, _, mut watch) = c.get_data_w(&p).await.unwrap();
        other
            .set_data(&p, i.to_string().as_bytes(), None)
            .await
            .unwrap();
        // Spin on reads until this client sees the new value; by then the event is in.
        loop {
            let (data, _) = c.get_data(&p).await.unwrap();
            if data == i.to_string().as_bytes() {
                break;
            }
        }
        let ev = watch
            .try_event()
            .unwrap_or_else(|| panic!("round {i}: new data read before its watch event"));
        assert_eq!(ev.event_type, EventType::NodeDataChanged);
    }
}

async fn persistent_watch_stays_and_sees_every_node_event(ctx: Ctx) {
    let c = ctx.client().await;
    let other = ctx.client().await;
    let p = ctx.path("pw");
    c.create(&p, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let mut w = c.add_watch(&p, AddWatchMode::Persistent).await.unwrap();
    assert_eq!(w.mode(), AddWatchMode::Persistent);
    if ctx.typed_persistent_removal() {
        c.check_watches(&p, WatcherType::Persistent).await.unwrap();
    } else {
        assert_eq!(
            c.check_watches(&p, WatcherType::Persistent).await,
            Err(Error::MarshallingError)
        );
    }
    c.check_watches(&p, WatcherType::Any).await.unwrap();
    other.set_data(&p, b"1", None).await.unwrap();
    other.set_data(&p, b"2", None).await.unwrap();
    other
        .create(&format!("{p}/k"), b"", &CreateOptions::persistent())
        .await
        .unwrap();
    // A grandchild is not the watched node's business.
    other
        .create(&format!("{p}/k/g"), b"", &CreateOptions::persistent())
        .await
        .unwrap();
    other.delete(&format!("{p}/k/g"), None).await.unwrap();
    other.delete(&format!("{p}/k"), None).await.unwrap();
    other.delete(&p, None).await.unwrap();
    other
        .create(&p, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let want = [
        EventType::NodeDataChanged,
        EventType::NodeDataChanged,
        EventType::NodeChildrenChanged,
        EventType::NodeChildrenChanged,
        EventType::NodeDeleted,
        EventType::NodeCreated,
    ];
    for (i, t) in want.iter().enumerate() {
        let ev = within(&format!("event {i}"), w.next())
            .await
            .expect("stream open");
        assert_eq!(
            (ev.event_type, ev.path.as_str()),
            (*t, p.as_str()),
            "event {i}"
        );
    }
    c.sync(&p).await.unwrap();
    assert_eq!(w.try_next(), None, "no extra events");
}

async fn recursive_watch_sees_the_subtree_in_order(ctx: Ctx) {
    let c = ctx.client().await;
    let other = ctx.client().await;
    let p = ctx.path("rw");
    c.create(&p, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let mut w = c
        .add_watch(&p, AddWatchMode::PersistentRecursive)
        .await
        .unwrap();
    let a = format!("{p}/a");
    let b = format!("{a}/b");
    other
        .create(&a, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    other
        .create(&b, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    other.set_data(&b, b"x", None).await.unwrap();
    other.set_data(&p, b"y", None).await.unwrap();
    other.delete(&b, None).await.unwrap();
    other.delete(&a, None).await.unwrap();
    let want = [
        (EventType::NodeCreated, &a),
        (EventType::NodeCreated, &b),
        (EventType::NodeDataChanged, &b),
        (EventType::NodeDataChanged, &p),
        (EventType::NodeDeleted, &b),
        (EventType::NodeDeleted, &a),
    ];
    for (i, (t, path)) in want.iter().enumerate() {
        let ev = within(&format!("event {i}"), w.next())
            .await
            .expect("stream open");
        assert_eq!(
            (ev.event_type, ev.path.as_str()),
            (*t, path.as_str()),
            "event {i}"
        );
    }
    c.sync(&p).await.unwrap();
    assert_eq!(w.try_next(), None, "recursive watches send no child events");
}

async fn one_event_reaches_every_watch_it_fires(ctx: Ctx) {
    let c = ctx.client().await;
    let other = ctx.client().await;
    let p = ctx.path("many");
    c.create(&p, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let (_, _, d1) = c.get_data_w(&p).await.unwrap();
    let (_, _, d2) = c.get_data_w(&p).await.unwrap();
    let (_, e1) = c.exists_w(&p).await.unwrap();
    let mut rec = c
        .add_watch(&ctx.root, AddWatchMode::PersistentRecursive)
        .await
        .unwrap();
    other.set_data(&p, b"1", None).await.unwrap();
    for (name, w) in [("d1", d1), ("d2", d2), ("e1", e1)] {
        assert_eq!(within(name, w).await.event_type, EventType::NodeDataChanged);
    }
    let ev = within("recursive", rec.next()).await.unwrap();
    assert_eq!(
        (ev.event_type, ev.path.as_str()),
        (EventType::NodeDataChanged, p.as_str())
    );
}

async fn remove_and_check_watches(ctx: Ctx) {
    let c = ctx.client().await;
    let p = ctx.path("rm");
    c.create(&p, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    assert_eq!(
        c.check_watches(&p, WatcherType::Data).await,
        Err(Error::NoWatcher)
    );
    let (_, _, data_watch) = c.get_data_w(&p).await.unwrap();
    let (_, child_watch) = c.get_children_w(&p).await.unwrap();
    c.check_watches(&p, WatcherType::Data).await.unwrap();
    c.check_watches(&p, WatcherType::Children).await.unwrap();
    c.check_watches(&p, WatcherType::Any).await.unwrap();
    c.remove_watches(&p, WatcherType::Data).await.unwrap();
    let ev = within("DataWatchRemoved", data_watch).await;
    assert_eq!(
        (ev.event_type, ev.path.as_str()),
        (EventType::DataWatchRemoved, p.as_str())
    );
    assert_eq!(
        c.check_watches(&p, WatcherType::Data).await,
        Err(Error::NoWatcher)
    );
    c.check_watches(&p, WatcherType::Children).await.unwrap();
    c.remove_watches(&p, WatcherType::Children).await.unwrap();
    assert_eq!(
        within("ChildWatchRemoved", child_watch).await.event_type,
        EventType::ChildWatchRemoved
    );
    assert_eq!(
        c.remove_watches(&p, WatcherType::Any).await,
        Err(Error::NoWatcher)
    );

    let mut pw = c.add_watch(&p, AddWatchMode::Persistent).await.unwrap();
    if ctx.typed_persistent_removal() {
        c.remove_watches(&p, WatcherType::Persistent).await.unwrap();
    } else {
        assert_eq!(
            c.remove_watches(&p, WatcherType::Persistent).await,
            Err(Error::MarshallingError)
        );
        assert!(pw.try_next().is_none(), "a refused removal removes nothing");
        c.remove_watches(&p, WatcherType::Any).await.unwrap();
    }
    let ev = within("PersistentWatchRemoved", pw.next()).await.unwrap();
    assert_eq!(ev.event_type, EventType::PersistentWatchRemoved);
    assert_eq!(within("stream end", pw.next()).await, None);
}

async fn dropping_a_persistent_watcher_removes_it_from_the_server(ctx: Ctx) {
    let c = ctx.client().await;
    let p = ctx.path("drop");
    c.create(&p, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let check_type = if ctx.typed_persistent_removal() {
        WatcherType::PersistentRecursive
    } else {
        WatcherType::Any
    };
    let a = c
        .add_watch(&p, AddWatchMode::PersistentRecursive)
        .await
        .unwrap();
    let b = c
        .add_watch(&p, AddWatchMode::PersistentRecursive)
        .await
        .unwrap();
    drop(a);
    // Another watcher of the same path and mode remains: the server keeps the watch.
    c.check_watches(&p, check_type).await.unwrap();
    drop(b);
    // The removal was queued before this request, so it is answered first.
    assert_eq!(c.check_watches(&p, check_type).await, Err(Error::NoWatcher));

    // Dropping a persistent watcher leaves the one-shot watches of the same path alone.
    let (_, _, data_watch) = c.get_data_w(&p).await.unwrap();
    let stream = c.add_watch(&p, AddWatchMode::Persistent).await.unwrap();
    drop(stream);
    c.check_watches(&p, WatcherType::Data).await.unwrap();
    c.set_data(&p, b"x", None).await.unwrap();
    assert_eq!(
        within("data watch", data_watch).await.event_type,
        EventType::NodeDataChanged
    );
}

both_targets!(
    data_watch_fires_on_change_with_its_zxid,
    exists_watch_fires_on_creation_and_on_deletion,
    child_watch_fires_on_child_change_and_parent_deletion,
    event_arrives_before_the_change_is_read,
    persistent_watch_stays_and_sees_every_node_event,
    recursive_watch_sees_the_subtree_in_order,
    one_event_reaches_every_watch_it_fires,
    remove_and_check_watches,
    dropping_a_persistent_watcher_removes_it_from_the_server,
);
