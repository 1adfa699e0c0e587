//! The node cache follows creation, changes and deletion of its node.

use crate::common::{both_targets, within, Ctx};
use client::CreateOptions;
use recipes::NodeCache;

async fn cache_follows_the_node(ctx: Ctx) {
    let path = ctx.path("config");
    let writer = ctx.client().await;
    let mut cache = NodeCache::start(ctx.client().await, &path).await.unwrap();
    assert_eq!(cache.current(), None);

    writer
        .create(&path, b"v1", &CreateOptions::persistent())
        .await
        .unwrap();
    let snap = within("created", cache.wait_for(|s| s.is_some()))
        .await
        .unwrap();
    let (data, stat) = snap.unwrap();
    assert_eq!((data.as_slice(), stat.version), (&b"v1"[..], 0));

    for v in 2..=4 {
        writer
            .set_data(&path, format!("v{v}").as_bytes(), None)
            .await
            .unwrap();
    }
    let snap = within(
        "v4",
        cache.wait_for(|s| s.as_ref().is_some_and(|(d, _)| d == b"v4")),
    )
    .await
    .unwrap();
    assert_eq!(snap.unwrap().1.version, 3);

    writer.delete(&path, None).await.unwrap();
    within("deleted", cache.wait_for(|s| s.is_none()))
        .await
        .unwrap();
    assert_eq!(cache.current(), None);
}

both_targets!(cache_follows_the_node);
