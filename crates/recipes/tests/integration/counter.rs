//! The atomic counter: concurrent increments from many sessions add up exactly, and
//! compare-and-set only writes on a match.

use crate::common::{both_targets, eventually, within, Ctx};
use client::CreateOptions;
use recipes::{AtomicCounter, Error};
use std::time::Duration;
use testkit::proxy::Proxy;

async fn concurrent_increments_add_up(ctx: Ctx) {
    const TASKS: usize = 4;
    const EACH: usize = 25;
    let path = ctx.path("counters/hits");
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let zk = ctx.client().await;
        let counter = AtomicCounter::new(zk.clone(), &path).unwrap();
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            for _ in 0..EACH {
                let change = counter.increment().await.unwrap();
                assert_eq!(change.post, change.pre + 1);
                seen.push(change.post);
            }
            zk.close().await.unwrap();
            seen
        }));
    }
    let mut posts = Vec::new();
    for t in tasks {
        posts.extend(t.await.unwrap());
    }
    posts.sort();
    let want: Vec<i64> = (1..=(TASKS * EACH) as i64).collect();
    assert_eq!(posts, want, "every increment applied exactly once");
    let zk = ctx.client().await;
    let counter = AtomicCounter::new(zk.clone(), &path).unwrap();
    assert_eq!(counter.get().await.unwrap(), (TASKS * EACH) as i64);
    // Curator's format: 8 bytes, big-endian.
    let (raw, _) = zk.get_data(&path).await.unwrap();
    assert_eq!(raw, ((TASKS * EACH) as i64).to_be_bytes());
}

async fn compare_and_set_and_bad_data(ctx: Ctx) {
    let zk = ctx.client().await;
    let counter = AtomicCounter::new(zk.clone(), &ctx.path("c")).unwrap();
    assert_eq!(counter.get().await.unwrap(), 0, "missing node reads as 0");
    assert!(counter.compare_and_set(0, 5).await.unwrap());
    assert!(!counter.compare_and_set(0, 6).await.unwrap());
    assert_eq!(counter.get().await.unwrap(), 5);
    assert_eq!(counter.decrement().await.unwrap().post, 4);
    assert_eq!(counter.add(-10).await.unwrap().post, -6);

    let bad = ctx.path("bad");
    zk.create(&bad, b"abc", &CreateOptions::persistent())
        .await
        .unwrap();
    let counter = AtomicCounter::new(zk.clone(), &bad).unwrap();
    assert!(matches!(
        counter.increment().await,
        Err(Error::Malformed { .. })
    ));
}

/// A write whose reply is lost is reported as of unknown outcome, not retried (which could count
/// twice).
async fn lost_write_reply_is_not_retried(ctx: Ctx) {
    let path = ctx.path("c");
    let proxy = Proxy::start(ctx.server.addr).await;
    let zk = ctx
        .client_with(client::Client::builder(), &proxy.connect_string())
        .await;
    let counter = AtomicCounter::new(zk.clone(), &path).unwrap();
    assert_eq!(counter.increment().await.unwrap().post, 1);
    let observer = AtomicCounter::new(ctx.client().await, &path).unwrap();
    // The read's reply passes; the write's is lost.
    proxy.mute_after(1);
    let incrementing = tokio::spawn({
        let counter = counter.clone();
        async move { counter.increment().await }
    });
    eventually("write applied", Duration::from_secs(5), || async {
        observer.get().await.unwrap() == 2
    })
    .await;
    proxy.set_muted(false);
    proxy.drop_connections();
    let r = within("increment", incrementing).await.unwrap();
    assert_eq!(r, Err(Error::OutcomeUnknown(path.clone())));
    assert_eq!(
        observer.get().await.unwrap(),
        2,
        "applied once, not retried"
    );
    assert_eq!(counter.increment().await.unwrap().post, 3, "usable again");
}

both_targets!(
    concurrent_increments_add_up,
    compare_and_set_and_bad_data,
    lost_write_reply_is_not_retried,
);
