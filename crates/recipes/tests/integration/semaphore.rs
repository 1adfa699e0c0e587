//! The semaphore: Curator's layout, never more than `max_leases` holders under contention
//! (including a holder whose session expires mid-hold), timeouts, several leases at once.

use crate::common::{both_targets, eventually, wait_state, within, Ctx};
use client::{Client, SessionState};
use recipes::{Error, InterProcessSemaphore};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use testkit::proxy::Proxy;
use tokio::time::Instant;

/// The most intervals that overlap at one instant.
fn max_overlap(intervals: &[(Instant, Instant)]) -> usize {
    let mut points: Vec<(Instant, i32)> = Vec::new();
    for (s, e) in intervals {
        points.push((*s, 1));
        points.push((*e, -1));
    }
    // Ends sort before starts at the same instant: touching intervals do not overlap.
    points.sort();
    let (mut now, mut max) = (0i32, 0i32);
    for (_, d) in points {
        now += d;
        max = max.max(now);
    }
    max as usize
}

fn assert_lease_name(name: &str) {
    let rest = name.strip_prefix("_c_").unwrap_or_else(|| panic!("{name}"));
    let (guid, tail) = rest.split_at(36);
    assert_eq!(guid.matches('-').count(), 4, "{name}");
    let seq = tail
        .strip_prefix("-lease-")
        .unwrap_or_else(|| panic!("{name}"));
    assert!(
        seq.len() == 10 && seq.bytes().all(|b| b.is_ascii_digit()),
        "{name}"
    );
}

async fn leases_never_exceed_max_even_when_a_holder_expires(ctx: Ctx) {
    const MAX: usize = 2;
    const CONTENDERS: usize = 4;
    const ROUNDS: usize = 3;
    let path = ctx.path("sem");
    let log = Arc::new(Mutex::new(Vec::<(Instant, Instant)>::new()));
    let in_use = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));

    let proxy = Proxy::start(ctx.server.addr).await;
    let doomed_client = ctx
        .client_with(
            Client::builder().session_timeout(Duration::from_millis(1000)),
            &proxy.connect_string(),
        )
        .await;
    let doomed = InterProcessSemaphore::new(doomed_client.clone(), &path, MAX)
        .unwrap()
        .acquire()
        .await
        .unwrap();
    let doomed_start = Instant::now();
    in_use.fetch_add(1, Ordering::SeqCst);

    let mut tasks = Vec::new();
    for _ in 0..CONTENDERS {
        let zk = ctx.client().await;
        let sem = InterProcessSemaphore::new(zk.clone(), &path, MAX).unwrap();
        let (log, in_use, peak) = (log.clone(), in_use.clone(), peak.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..ROUNDS {
                let lease = sem.acquire().await.unwrap();
                let start = Instant::now();
                let n = in_use.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(n, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await;
                in_use.fetch_sub(1, Ordering::SeqCst);
                let end = Instant::now();
                lease.release().await.unwrap();
                log.lock().unwrap().push((start, end));
            }
            zk.close().await.unwrap();
        }));
    }
    let observer = ctx.client().await;
    // `locks` is an empty container between acquisitions, which the server may reap.
    let parts = observer.get_children(&path).await.unwrap();
    assert!(parts.iter().any(|p| p == "leases"), "{parts:?}");
    assert!(
        parts.iter().all(|p| p == "leases" || p == "locks"),
        "{parts:?}"
    );
    // The doomed lease stays held while the others take turns on the remaining one.
    eventually("others hold leases", Duration::from_secs(10), || async {
        log.lock().unwrap().len() >= 2
    })
    .await;
    for name in observer
        .get_children(&format!("{path}/leases"))
        .await
        .unwrap()
    {
        assert_lease_name(&name);
    }
    assert!(doomed.is_held().await.unwrap());

    let doomed_end = Instant::now();
    proxy.set_blocked(true);
    in_use.fetch_sub(1, Ordering::SeqCst);
    within("doomed holder suspended", doomed.lost_or_suspended()).await;
    log.lock().unwrap().push((doomed_start, doomed_end));
    for t in tasks {
        within("contender", t).await.unwrap();
    }
    let log = log.lock().unwrap().clone();
    assert_eq!(log.len(), CONTENDERS * ROUNDS + 1);
    assert!(max_overlap(&log) <= MAX, "more than {MAX} holders at once");
    assert!(peak.load(Ordering::SeqCst) <= MAX, "more than {MAX} in use");
    // The others could manage with one lease; all of them free means the server expired the
    // doomed session and freed its lease.
    let all = InterProcessSemaphore::new(observer.clone(), &path, MAX).unwrap();
    let freed = within("expired lease freed", all.acquire_many(MAX, None))
        .await
        .unwrap()
        .unwrap();
    for lease in freed {
        lease.release().await.unwrap();
    }
    proxy.set_blocked(false);
    wait_state(&doomed_client, SessionState::Expired).await;
    within("doomed lease lost", doomed.lost()).await;

    let leases = format!("{path}/leases");
    match observer.get_children(&leases).await {
        Ok(left) => assert_eq!(left, Vec::<String>::new(), "every lease node gone"),
        Err(client::Error::NoNode) => {}
        Err(e) => panic!("{e}"),
    }
}

async fn timeouts_and_many_leases(ctx: Ctx) {
    let path = ctx.path("sem");
    let sem = |zk: Client| InterProcessSemaphore::new(zk, &path, 3).unwrap();
    let a = sem(ctx.client().await);
    let b = sem(ctx.client().await);
    let c_client = ctx.client().await;
    let c = sem(c_client.clone());

    let mut two = within("two leases", a.acquire_many(2, None))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(two.len(), 2);
    let third = within("third lease", b.try_acquire_for(Duration::from_secs(5)))
        .await
        .unwrap()
        .expect("a free lease");

    let t0 = Instant::now();
    let none = c.try_acquire_for(Duration::from_millis(300)).await.unwrap();
    assert!(none.is_none(), "a fourth lease of three");
    assert!(t0.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        c.participant_nodes().await.unwrap().len(),
        3,
        "node left behind"
    );

    // One lease comes free, two are asked for: the one taken is given back at the timeout.
    two.pop().unwrap().release().await.unwrap();
    let none = c
        .acquire_many(2, Some(Duration::from_millis(300)))
        .await
        .unwrap();
    assert!(none.is_none());
    eventually("partial lease returned", Duration::from_secs(5), || async {
        c.participant_nodes().await.unwrap().len() == 2
    })
    .await;
    assert!(matches!(
        c.acquire_many(4, None).await,
        Err(Error::InvalidArgument(_))
    ));

    // A lease whose node is deleted is lost.
    let mine = within("lease", c.acquire()).await.unwrap();
    let admin = ctx.client().await;
    admin.delete(mine.node_path(), None).await.unwrap();
    within("lost lease", mine.lost()).await;
    let node = mine.node_path().to_string();
    assert_eq!(mine.release().await, Err(Error::NodeLost(node)));

    third.release().await.unwrap();
    two.pop().unwrap().release().await.unwrap();
    assert_eq!(c.participant_nodes().await.unwrap(), Vec::<String>::new());
}

both_targets!(
    leases_never_exceed_max_even_when_a_holder_expires,
    timeouts_and_many_leases,
);
