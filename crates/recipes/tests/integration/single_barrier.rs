//! The single barrier: waiters wait while it is set and are all released when it is removed.

use crate::common::{both_targets, within, Ctx};
use recipes::Barrier;
use std::time::Duration;

async fn waiters_wait_until_removed(ctx: Ctx) {
    // Nested below a missing parent, which `set` creates.
    let path = ctx.path("gates/deploy");
    let admin = Barrier::new(ctx.client().await, &path).unwrap();
    within("unset barrier", admin.wait()).await.unwrap();
    assert!(!admin.is_set().await.unwrap());

    admin.set().await.unwrap();
    admin.set().await.unwrap();
    assert!(admin.is_set().await.unwrap());
    let mut waiters = Vec::new();
    for _ in 0..3 {
        let b = Barrier::new(ctx.client().await, &path).unwrap();
        waiters.push(tokio::spawn(async move { b.wait().await }));
    }
    let probe = Barrier::new(ctx.client().await, &path).unwrap();
    assert!(!probe.wait_for(Duration::from_millis(300)).await.unwrap());
    assert!(
        waiters.iter().all(|w| !w.is_finished()),
        "a waiter passed a set barrier"
    );

    admin.remove().await.unwrap();
    for w in waiters {
        within("released", w).await.unwrap().unwrap();
    }
    assert!(probe.wait_for(Duration::from_millis(300)).await.unwrap());
    admin.remove().await.unwrap();
    assert!(!admin.is_set().await.unwrap());
}

both_targets!(waiters_wait_until_removed);
