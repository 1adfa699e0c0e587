//! Leader latch: one leader at a time, failover when the leader's session closes or the leader
//! leaves, a crashed leader replaced after its session expires, and the leader visible to
//! non-participants.

use crate::common::{both_targets, eventually, within, Ctx};
use client::Client;
use recipes::leader::{current_leader, participants};
use recipes::LeaderLatch;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use testkit::proxy::Proxy;

/// Samples every latch's flag until stopped, counting the samples with more than one leader
/// among latches not retired (a participant is retired from the moment the test starts closing
/// its session: it stops acting as leader then, whatever its flag says until the close
/// completes).
fn monitor(
    latches: Vec<(Arc<AtomicBool>, tokio::sync::watch::Receiver<bool>)>,
) -> (Arc<AtomicBool>, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let stop = Arc::new(AtomicBool::new(false));
    let violations = Arc::new(AtomicUsize::new(0));
    let samples = Arc::new(AtomicUsize::new(0));
    let (s, v, n) = (stop.clone(), violations.clone(), samples.clone());
    tokio::spawn(async move {
        while !s.load(Ordering::SeqCst) {
            let leaders = latches
                .iter()
                .filter(|(retired, l)| !retired.load(Ordering::SeqCst) && *l.borrow())
                .count();
            if leaders > 1 {
                v.fetch_add(1, Ordering::SeqCst);
            }
            n.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    });
    (stop, violations, samples)
}

async fn one_leader_and_failover_on_close(ctx: Ctx) {
    let path = ctx.path("election");
    let observer = ctx.client().await;
    assert_eq!(current_leader(&observer, &path).await.unwrap(), None);

    let mut clients = Vec::new();
    let mut latches = Vec::new();
    for i in 0..3 {
        let zk = ctx.client().await;
        let latch = LeaderLatch::start(zk.clone(), &path, &format!("p{i}"))
            .await
            .unwrap();
        clients.push(zk);
        latches.push(latch);
    }
    let retired: Vec<Arc<AtomicBool>> = (0..3).map(|_| Arc::new(AtomicBool::new(false))).collect();
    let (stop, violations, samples) = monitor(
        retired
            .iter()
            .cloned()
            .zip(latches.iter().map(|l| l.leadership()))
            .collect(),
    );

    // The first to join leads; everyone (and an outsider) agrees on the line.
    within("p0 leads", latches[0].await_leadership())
        .await
        .unwrap();
    let line = participants(&observer, &path).await.unwrap();
    let ids: Vec<&str> = line.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["p0", "p1", "p2"]);
    assert!(line[0].is_leader && !line[1].is_leader);
    assert!(line[0].node.starts_with("_c_") && line[0].node.contains("-latch-"));
    assert!(!latches[1].has_leadership() && !latches[2].has_leadership());
    assert!(!latches[1]
        .await_leadership_for(Duration::from_millis(200))
        .await
        .unwrap());

    // The leader's session closes: the next in line takes over, and the outsider sees it.
    clients[0].close().await.unwrap();
    within("p1 leads", latches[1].await_leadership())
        .await
        .unwrap();
    assert!(!latches[0].has_leadership());
    assert!(!latches[2].has_leadership());
    assert_eq!(
        current_leader(&observer, &path)
            .await
            .unwrap()
            .map(|p| p.id),
        Some("p1".to_string())
    );

    // The new leader leaves gracefully.
    let mut rest = latches.split_off(1);
    let p1 = rest.remove(0);
    retired[1].store(true, Ordering::SeqCst);
    p1.close().await.unwrap();
    within("p2 leads", rest[0].await_leadership())
        .await
        .unwrap();
    assert_eq!(
        current_leader(&observer, &path)
            .await
            .unwrap()
            .map(|p| p.id),
        Some("p2".to_string())
    );

    stop.store(true, Ordering::SeqCst);
    assert!(samples.load(Ordering::SeqCst) > 10, "monitor did not run");
    assert_eq!(violations.load(Ordering::SeqCst), 0, "two leaders at once");
    let ids: Vec<String> = participants(&observer, &path)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(ids, ["p2"]);
}

async fn crashed_leader_is_replaced_after_expiry(ctx: Ctx) {
    let path = ctx.path("election");
    let observer = ctx.client().await;
    let proxy = Proxy::start(ctx.server.addr).await;
    let crashing = ctx
        .client_with(
            Client::builder().session_timeout(Duration::from_millis(1000)),
            &proxy.connect_string(),
        )
        .await;
    let leader = LeaderLatch::start(crashing, &path, "crash").await.unwrap();
    within("crash leads", leader.await_leadership())
        .await
        .unwrap();
    let follower = LeaderLatch::start(ctx.client().await, &path, "next")
        .await
        .unwrap();
    assert!(!follower
        .await_leadership_for(Duration::from_millis(200))
        .await
        .unwrap());

    proxy.set_blocked(true);
    // The cut-off leader gives up leadership at the disconnect, before anyone can take over.
    eventually("leader steps down", Duration::from_secs(5), || async {
        !leader.has_leadership()
    })
    .await;
    within("follower takes over", follower.await_leadership())
        .await
        .unwrap();
    assert_eq!(
        current_leader(&observer, &path)
            .await
            .unwrap()
            .map(|p| p.id),
        Some("next".to_string())
    );
    proxy.set_blocked(false);
    // The crashed participant learns of the expiry and its latch ends for good.
    let err = within("old latch ends", leader.await_leadership()).await;
    assert!(
        matches!(err, Err(recipes::Error::SessionEnded(_))),
        "{err:?}"
    );
    follower.close().await.unwrap();
    assert_eq!(current_leader(&observer, &path).await.unwrap(), None);
}

/// A leader whose connection drops steps down at once, and leads again after re-attaching its
/// session (its node, and so its place in line, survived).
async fn leader_steps_down_while_disconnected(ctx: Ctx) {
    let path = ctx.path("election");
    let proxy = Proxy::start(ctx.server.addr).await;
    let zk = ctx
        .client_with(Client::builder(), &proxy.connect_string())
        .await;
    let latch = LeaderLatch::start(zk.clone(), &path, "solo").await.unwrap();
    within("solo leads", latch.await_leadership())
        .await
        .unwrap();
    let mut flag = latch.leadership();
    flag.borrow_and_update();
    proxy.set_blocked(true);
    within("step down", flag.wait_for(|l| !*l)).await.unwrap();
    assert!(!latch.has_leadership());
    proxy.set_blocked(false);
    within("lead again", latch.await_leadership())
        .await
        .unwrap();
    assert_eq!(
        participants(&ctx.client().await, &path)
            .await
            .unwrap()
            .len(),
        1,
        "no second node after the reconnect"
    );
    latch.close().await.unwrap();
}

both_targets!(
    one_leader_and_failover_on_close,
    crashed_leader_is_replaced_after_expiry,
    leader_steps_down_while_disconnected,
);
