//! The single barrier: waiters wait while it is set and are all released when it is removed;
//! a waiter whose session expires mid-wait ends with `SessionEnded` and changes nothing for the
//! others, whether it set the barrier itself or the barrier is removed while it is cut off.

use crate::common::{both_targets, expire_doomed, within, Ctx, Doomed};
use client::SessionState;
use recipes::{Barrier, Error};
use std::time::Duration;
use tokio::task::JoinHandle;

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

/// `n` waiters on `path`, each in a live session of its own; their `wait` tasks.
async fn live_waiters(ctx: &Ctx, path: &str, n: usize) -> Vec<JoinHandle<Result<(), Error>>> {
    let mut waiters = Vec::new();
    for _ in 0..n {
        let b = Barrier::new(ctx.client().await, path).unwrap();
        waiters.push(tokio::spawn(async move { b.wait().await }));
    }
    waiters
}

/// The session that set the barrier expires while its own `wait` is in flight (the reply to
/// its read of the barrier is lost): that wait ends with `SessionEnded(Expired)`, and the
/// barrier, a persistent node, outlives its setter: the live waiters stay blocked until a live
/// session removes it, and are released then.
async fn setter_expires_mid_wait(ctx: Ctx) {
    let path = ctx.path("gate");
    let Doomed {
        proxy,
        client: doomed_client,
        alive,
    } = ctx.doomed().await;
    let doomed = Barrier::new(doomed_client.clone(), &path).unwrap();
    doomed.set().await.unwrap();
    let waiters = live_waiters(&ctx, &path, 2).await;

    proxy.set_muted(true);
    let waiting = tokio::spawn(async move { doomed.wait().await });
    // Right after the wait asked whether the barrier is set: cut off until the server
    // expires the session.
    tokio::time::sleep(Duration::from_millis(150)).await;
    proxy.set_blocked(true);
    let observer = ctx.client().await;
    expire_doomed(&observer, &doomed_client, &alive, &proxy).await;
    assert_eq!(
        within("doomed wait", waiting).await.unwrap(),
        Err(Error::SessionEnded(SessionState::Expired))
    );

    let admin = Barrier::new(observer, &path).unwrap();
    assert!(
        admin.is_set().await.unwrap(),
        "the barrier went with its setter's session"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        waiters.iter().all(|w| !w.is_finished()),
        "a waiter passed a set barrier"
    );
    admin.remove().await.unwrap();
    for w in waiters {
        within("released", w).await.unwrap().unwrap();
    }
}

/// A waiter is cut off while it waits on a set barrier, a live session removes the barrier,
/// and the waiter's session expires: the live waiters are released at once, without waiting
/// for the expiry, while the cut-off waiter, which never saw the barrier gone, ends with
/// `SessionEnded(Expired)` rather than passing.
async fn removed_while_a_waiter_expires(ctx: Ctx) {
    let path = ctx.path("gate");
    let admin = Barrier::new(ctx.client().await, &path).unwrap();
    admin.set().await.unwrap();
    let waiters = live_waiters(&ctx, &path, 2).await;
    let Doomed {
        proxy,
        client: doomed_client,
        alive,
    } = ctx.doomed().await;
    let doomed = Barrier::new(doomed_client.clone(), &path).unwrap();
    let waiting = tokio::spawn(async move { doomed.wait().await });
    // Its watch on the barrier is set by now.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "the doomed waiter passed a set barrier"
    );

    proxy.set_blocked(true);
    admin.remove().await.unwrap();
    for w in waiters {
        within("released", w).await.unwrap().unwrap();
    }
    let observer = ctx.client().await;
    assert!(
        observer.exists(&alive).await.unwrap().is_some(),
        "the live waiters were released only after the expiry"
    );
    expire_doomed(&observer, &doomed_client, &alive, &proxy).await;
    assert_eq!(
        within("doomed wait", waiting).await.unwrap(),
        Err(Error::SessionEnded(SessionState::Expired))
    );
}

both_targets!(
    waiters_wait_until_removed,
    setter_expires_mid_wait,
    removed_while_a_waiter_expires,
);
