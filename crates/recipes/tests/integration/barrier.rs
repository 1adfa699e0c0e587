//! The double barrier: nobody gets through `enter` before everyone has arrived, nobody gets
//! through `leave` before everyone has left, a lone participant times out cleanly, and a
//! participant whose session expires inside `enter` stops nobody.

use crate::common::{both_targets, eventually, wait_state, within, Ctx};
use client::{Client, SessionState};
use recipes::{DoubleBarrier, Error};
use std::time::Duration;
use testkit::proxy::Proxy;
use tokio::task::JoinHandle;
use tokio::time::Instant;

async fn enter_together_leave_together(ctx: Ctx) {
    const N: usize = 4;
    let path = ctx.path("barrier");
    let mut tasks = Vec::new();
    for i in 0..N {
        let zk = ctx.client().await;
        let b = DoubleBarrier::new(zk, &path, &format!("w{i}"), N).unwrap();
        tasks.push(tokio::spawn(async move {
            // Stagger arrivals, and departures in the other order.
            tokio::time::sleep(Duration::from_millis(60 * i as u64)).await;
            let enter_call = Instant::now();
            b.enter().await.unwrap();
            let enter_ret = Instant::now();
            tokio::time::sleep(Duration::from_millis(60 * (N - i) as u64)).await;
            let leave_call = Instant::now();
            b.leave().await.unwrap();
            (enter_call, enter_ret, leave_call, Instant::now())
        }));
    }
    let mut times = Vec::new();
    for t in tasks {
        times.push(within("participant", t).await.unwrap());
    }
    let last_arrival = times.iter().map(|t| t.0).max().unwrap();
    let first_through = times.iter().map(|t| t.1).min().unwrap();
    assert!(first_through >= last_arrival, "entered before all arrived");
    let last_departure = times.iter().map(|t| t.2).max().unwrap();
    let first_out = times.iter().map(|t| t.3).min().unwrap();
    assert!(first_out >= last_departure, "left before all departed");
    let zk = ctx.client().await;
    assert_eq!(
        zk.get_children(&path).await.unwrap_or_default(),
        Vec::<String>::new(),
        "barrier reset"
    );
}

async fn lone_participant_times_out(ctx: Ctx) {
    let path = ctx.path("barrier");
    let zk = ctx.client().await;
    let b = DoubleBarrier::new(zk.clone(), &path, "alone", 2).unwrap();
    assert!(!b.enter_for(Duration::from_millis(300)).await.unwrap());
    assert_eq!(zk.get_children(&path).await.unwrap(), Vec::<String>::new());
    assert!(DoubleBarrier::new(zk, &path, "ready", 2).is_err());
}

/// A participant of a barrier for 3 at `path`, behind a proxy with a 2 s session, that has
/// entered and is waiting for the others; its `enter` task.
async fn doomed_participant(
    ctx: &Ctx,
    path: &str,
) -> (Proxy, Client, JoinHandle<Result<(), Error>>) {
    let proxy = Proxy::start(ctx.server.addr).await;
    let zk = ctx
        .client_with(
            Client::builder().session_timeout(Duration::from_millis(2000)),
            &proxy.connect_string(),
        )
        .await;
    let b = DoubleBarrier::new(zk.clone(), path, "doomed", 3).unwrap();
    let entering = tokio::spawn(async move { b.enter().await });
    let observer = ctx.client().await;
    let node = format!("{path}/doomed");
    eventually("doomed arrived", Duration::from_secs(5), || async {
        observer.exists(&node).await.unwrap().is_some()
    })
    .await;
    (proxy, zk, entering)
}

/// Waits until the server has expired the doomed participant (its node is gone), then lets its
/// client learn that; its `enter` ends with the session.
async fn doomed_expires(
    ctx: &Ctx,
    path: &str,
    proxy: &Proxy,
    zk: &Client,
    entering: JoinHandle<Result<(), Error>>,
) {
    let observer = ctx.client().await;
    let node = format!("{path}/doomed");
    eventually("doomed expired", Duration::from_secs(15), || async {
        observer.exists(&node).await.unwrap().is_none()
    })
    .await;
    proxy.set_blocked(false);
    wait_state(zk, SessionState::Expired).await;
    assert_eq!(
        within("doomed enter", entering).await.unwrap(),
        Err(Error::SessionEnded(SessionState::Expired))
    );
}

/// A participant of a barrier for 3 at `path` that enters and leaves; its task.
async fn live_participant(ctx: &Ctx, path: &str, id: &str) -> JoinHandle<()> {
    let b = DoubleBarrier::new(ctx.client().await, path, id, 3).unwrap();
    tokio::spawn(async move {
        b.enter().await.unwrap();
        b.leave().await.unwrap();
    })
}

/// A participant whose session expires inside `enter` before the barrier opens is no longer
/// counted: the others wait for a third live participant, then enter and leave together.
async fn expired_before_ready_is_not_counted(ctx: Ctx) {
    let path = ctx.path("barrier");
    let (proxy, doomed_zk, entering) = doomed_participant(&ctx, &path).await;
    // One more arrives while the doomed one still counts: two of three.
    let a = live_participant(&ctx, &path, "a").await;
    proxy.set_blocked(true);
    doomed_expires(&ctx, &path, &proxy, &doomed_zk, entering).await;
    // Two live participants after the expiry: still two of three.
    let b = live_participant(&ctx, &path, "b").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !a.is_finished() && !b.is_finished(),
        "the expired participant was counted"
    );
    let c = live_participant(&ctx, &path, "c").await;
    for t in [a, b, c] {
        within("live participant", t).await.unwrap();
    }
    let zk = ctx.client().await;
    assert_eq!(
        zk.get_children(&path).await.unwrap_or_default(),
        Vec::<String>::new(),
        "barrier reset"
    );
}

/// A participant whose session expires inside `enter` after its arrival completed the count:
/// the others enter, and its departure (its node gone with the session) counts as leaving, so
/// their `leave` returns once it has expired.
async fn expired_after_ready_counts_as_leaving(ctx: Ctx) {
    let path = ctx.path("barrier");
    let (proxy, doomed_zk, entering) = doomed_participant(&ctx, &path).await;
    proxy.set_blocked(true);
    let mut live = Vec::new();
    for id in ["a", "b"] {
        live.push(live_participant(&ctx, &path, id).await);
    }
    let observer = ctx.client().await;
    let ready = format!("{path}/{}", recipes::barrier::READY_NODE);
    eventually("barrier opened", Duration::from_secs(5), || async {
        observer.exists(&ready).await.unwrap().is_some()
    })
    .await;
    // The doomed node is still there (its session has not expired yet): nobody is out.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        live.iter().all(|t| !t.is_finished()),
        "left while a participant was still in"
    );
    doomed_expires(&ctx, &path, &proxy, &doomed_zk, entering).await;
    for t in live {
        within("live participant", t).await.unwrap();
    }
    assert_eq!(
        observer.get_children(&path).await.unwrap_or_default(),
        Vec::<String>::new(),
        "barrier reset"
    );
}

both_targets!(
    enter_together_leave_together,
    lone_participant_times_out,
    expired_before_ready_is_not_counted,
    expired_after_ready_counts_as_leaving,
);
