//! The exclusive lock: Curator's node layout, mutual exclusion under contention (including a
//! holder whose session expires mid-hold), fencing tokens, timeouts, and no herd effect (each
//! waiter watches only its predecessor, as the server's `wchp` shows).

use crate::common::{both_targets, eventually, wait_state, within, Ctx};
use client::{Client, SessionState};
use recipes::{Error, InterProcessMutex};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use testkit::proxy::Proxy;
use tokio::time::Instant;

/// One stay inside the critical section.
#[derive(Debug, Clone)]
struct Interval {
    who: String,
    start: Instant,
    end: Instant,
    token: i64,
}

/// Asserts `_c_<uuid>-lock-<10 digits>`.
fn assert_curator_name(name: &str) {
    let rest = name.strip_prefix("_c_").unwrap_or_else(|| panic!("{name}"));
    let (guid, tail) = rest.split_at(36);
    let groups: Vec<usize> = guid.split('-').map(str::len).collect();
    assert_eq!(groups, [8, 4, 4, 4, 12], "{name}");
    let seq = tail
        .strip_prefix("-lock-")
        .unwrap_or_else(|| panic!("{name}"));
    assert_eq!(seq.len(), 10, "{name}");
    assert!(seq.bytes().all(|b| b.is_ascii_digit()), "{name}");
}

/// Runs the critical section: a non-atomic read-modify-write of `counter` that loses updates if
/// two holders overlap, recorded as an interval.
async fn critical(who: &str, token: i64, counter: &AtomicU64, log: &Mutex<Vec<Interval>>) {
    let start = Instant::now();
    let v = counter.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(3)).await;
    counter.store(v + 1, Ordering::SeqCst);
    let end = Instant::now();
    log.lock().unwrap().push(Interval {
        who: who.to_string(),
        start,
        end,
        token,
    });
}

async fn contention_never_overlaps_even_when_a_holder_expires(ctx: Ctx) {
    const CONTENDERS: usize = 5;
    const ROUNDS: usize = 4;
    let lock_path = ctx.path("lock");
    let counter = Arc::new(AtomicU64::new(0));
    let log = Arc::new(Mutex::new(Vec::<Interval>::new()));

    // The doomed holder talks through a proxy, so that its session can be made to expire.
    let proxy = Proxy::start(ctx.server.addr).await;
    let doomed_client = ctx
        .client_with(
            Client::builder().session_timeout(Duration::from_millis(1000)),
            &proxy.connect_string(),
        )
        .await;
    let doomed = InterProcessMutex::new(doomed_client.clone(), &lock_path).unwrap();
    let doomed_guard = doomed.acquire().await.unwrap();
    let doomed_start = Instant::now();
    let doomed_token = doomed_guard.fencing_token();
    let v = counter.load(Ordering::SeqCst);
    counter.store(v + 1, Ordering::SeqCst);

    let mut tasks = Vec::new();
    for i in 0..CONTENDERS {
        let zk = ctx.client().await;
        let mutex = InterProcessMutex::new(zk.clone(), &lock_path).unwrap();
        let (counter, log) = (counter.clone(), log.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..ROUNDS {
                let guard = mutex.acquire().await.unwrap();
                critical(&format!("c{i}"), guard.fencing_token(), &counter, &log).await;
                guard.release().await.unwrap();
            }
            zk.close().await.unwrap();
        }));
    }
    // Let every contender queue up behind the doomed holder.
    let observer = ctx.client().await;
    eventually("all contenders queued", Duration::from_secs(10), || async {
        observer.get_children(&lock_path).await.unwrap().len() == CONTENDERS + 1
    })
    .await;
    let children = observer.get_children(&lock_path).await.unwrap();
    for c in &children {
        assert_curator_name(c);
    }
    assert!(
        log.lock().unwrap().is_empty(),
        "nobody entered past the holder"
    );

    // Mid-hold, the holder is cut off; it stops acting as holder from now on.
    let doomed_end = Instant::now();
    proxy.set_blocked(true);
    within("doomed holder suspended", doomed_guard.lost_or_suspended()).await;
    log.lock().unwrap().push(Interval {
        who: "doomed".into(),
        start: doomed_start,
        end: doomed_end,
        token: doomed_token,
    });
    for t in tasks {
        within("contender", t).await.unwrap();
    }

    // Every contender got through, so the server has expired the doomed session; its client
    // learns that only when it reaches the server again.
    proxy.set_blocked(false);
    wait_state(&doomed_client, SessionState::Expired).await;
    within("doomed holder lost", doomed_guard.lost()).await;
    assert!(matches!(
        doomed_guard.release().await,
        Err(Error::SessionEnded(SessionState::Expired))
    ));

    let mut log = log.lock().unwrap().clone();
    log.sort_by_key(|i| i.start);
    assert_eq!(log.len(), CONTENDERS * ROUNDS + 1);
    assert_eq!(log[0].who, "doomed");
    for w in log.windows(2) {
        assert!(
            w[0].end <= w[1].start,
            "{} and {} overlap: {:?}",
            w[0].who,
            w[1].who,
            w
        );
        assert!(
            w[0].token < w[1].token,
            "fencing tokens not increasing: {w:?}"
        );
    }
    assert_eq!(
        counter.load(Ordering::SeqCst),
        (CONTENDERS * ROUNDS + 1) as u64,
        "lost updates"
    );
    match observer.get_children(&lock_path).await {
        Ok(left) => assert_eq!(left, Vec::<String>::new(), "every lock node gone"),
        // The lock path is a container: the server may already have reaped it.
        Err(client::Error::NoNode) => {}
        Err(e) => panic!("{e}"),
    }
    // Curator's layout makes the lock path a container, which the server deletes once empty.
    eventually(
        "empty lock container reaped",
        Duration::from_secs(5),
        || async { observer.exists(&lock_path).await.unwrap().is_none() },
    )
    .await;
}

async fn timeout_gives_up_and_leaves_no_node(ctx: Ctx) {
    let lock_path = ctx.path("lock");
    let a = InterProcessMutex::new(ctx.client().await, &lock_path).unwrap();
    let b_client = ctx.client().await;
    let b = InterProcessMutex::new(b_client.clone(), &lock_path).unwrap();
    let held = a.acquire().await.unwrap();
    assert!(held.is_held().await.unwrap());

    let t0 = Instant::now();
    let none = b.try_acquire_for(Duration::from_millis(300)).await.unwrap();
    assert!(none.is_none(), "acquired a held lock");
    assert!(t0.elapsed() >= Duration::from_millis(300));
    let children = b_client.get_children(&lock_path).await.unwrap();
    assert_eq!(children.len(), 1, "waiter's node left behind: {children:?}");
    assert_eq!(format!("{lock_path}/{}", children[0]), held.node_path());

    // A waiter that is woken by the release gets the lock, with a higher token.
    let waiter = tokio::spawn({
        let b = b.clone();
        async move { b.try_acquire_for(Duration::from_secs(10)).await }
    });
    eventually("waiter queued", Duration::from_secs(5), || async {
        b_client.get_children(&lock_path).await.unwrap().len() == 2
    })
    .await;
    let first_token = held.fencing_token();
    held.release().await.unwrap();
    let got = within("waiter", waiter).await.unwrap().unwrap().unwrap();
    assert!(got.fencing_token() > first_token);
    got.release().await.unwrap();
}

async fn deleted_node_means_lost_lock(ctx: Ctx) {
    let lock_path = ctx.path("lock");
    let zk = ctx.client().await;
    let admin = ctx.client().await;
    let guard = InterProcessMutex::new(zk.clone(), &lock_path)
        .unwrap()
        .acquire()
        .await
        .unwrap();
    let lost = {
        let guard = &guard;
        async move { guard.lost().await }
    };
    let (deleted, ()) = tokio::join!(
        async {
            // Delete only after the guard is watching, to see the notification path.
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            admin.delete(guard.node_path(), None).await
        },
        within("lost after deletion", lost)
    );
    deleted.unwrap();
    within("lost", guard.lost()).await;
    assert!(!guard.is_held().await.unwrap());
    let node = guard.node_path().to_string();
    assert_eq!(guard.release().await, Err(Error::NodeLost(node)));
    assert_eq!(zk.state(), SessionState::Connected);
}

/// A create whose reply is lost is recovered through the guid: the contender adopts the node
/// the server made instead of queueing a second one behind its own orphan.
async fn lost_create_reply_is_recovered(ctx: Ctx) {
    let lock_path = ctx.path("lock");
    let observer = ctx.client().await;
    observer
        .create(&lock_path, b"", &client::CreateOptions::persistent())
        .await
        .unwrap();
    let proxy = Proxy::start(ctx.server.addr).await;
    let zk = ctx
        .client_with(Client::builder(), &proxy.connect_string())
        .await;
    let mutex = InterProcessMutex::new(zk.clone(), &lock_path).unwrap();
    proxy.set_muted(true);
    let acquiring = tokio::spawn(async move { mutex.acquire().await });
    eventually("create applied", Duration::from_secs(5), || async {
        observer.get_children(&lock_path).await.unwrap().len() == 1
    })
    .await;
    proxy.set_muted(false);
    proxy.drop_connections();
    let guard = within("acquire after the loss", acquiring)
        .await
        .unwrap()
        .unwrap();
    let children = observer.get_children(&lock_path).await.unwrap();
    assert_eq!(children.len(), 1, "orphan or second node: {children:?}");
    assert_eq!(format!("{lock_path}/{}", children[0]), guard.node_path());
    let (_, stat) = observer.get_data(guard.node_path()).await.unwrap();
    assert_eq!(stat.czxid, guard.fencing_token());
    assert_eq!(stat.ephemeral_owner, zk.session_id());
    guard.release().await.unwrap();
}

/// A waiter whose connection drops (the session survives) keeps its place and gets the lock.
async fn waiter_survives_connection_loss(ctx: Ctx) {
    let lock_path = ctx.path("lock");
    let holder = InterProcessMutex::new(ctx.client().await, &lock_path).unwrap();
    let guard = holder.acquire().await.unwrap();
    let proxy = Proxy::start(ctx.server.addr).await;
    let zk = ctx
        .client_with(Client::builder(), &proxy.connect_string())
        .await;
    let session = zk.session_id();
    let waiter = tokio::spawn({
        let m = InterProcessMutex::new(zk.clone(), &lock_path).unwrap();
        async move { m.acquire().await }
    });
    let observer = ctx.client().await;
    eventually("waiter queued", Duration::from_secs(5), || async {
        observer.get_children(&lock_path).await.unwrap().len() == 2
    })
    .await;
    proxy.drop_connections();
    wait_state(&zk, SessionState::Disconnected).await;
    wait_state(&zk, SessionState::Connected).await;
    assert_eq!(zk.session_id(), session);
    assert_eq!(observer.get_children(&lock_path).await.unwrap().len(), 2);
    guard.release().await.unwrap();
    let got = within("waiter after reconnect", waiter)
        .await
        .unwrap()
        .unwrap();
    assert!(got.is_held().await.unwrap());
    got.release().await.unwrap();
}

/// The server's data watches below `dir`, from `wchp`: path -> watching sessions. Asks every
/// member of an ensemble, since each lists only its own connections' watches.
fn watchers_below(ctx: &Ctx, dir: &str) -> BTreeMap<String, Vec<u64>> {
    let mut addrs = ctx.server.members.clone();
    if addrs.is_empty() {
        addrs.push(ctx.server.addr);
    }
    let prefix = format!("{dir}/");
    let mut out: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for addr in addrs {
        let text = testkit::four_letter::send(addr, "wchp", Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("wchp at {addr}: {e}"));
        let mut path: Option<String> = None;
        for line in text.lines() {
            if let Some(session) = line.strip_prefix('\t') {
                let hex = session.trim().trim_start_matches("0x");
                let id = u64::from_str_radix(hex, 16)
                    .unwrap_or_else(|e| panic!("session {session:?} in wchp: {e}"));
                if let Some(p) = path.as_ref().filter(|p| p.starts_with(&prefix)) {
                    out.entry(p.clone()).or_default().push(id);
                }
            } else if !line.trim().is_empty() {
                path = Some(line.trim().to_string());
            }
        }
    }
    out
}

async fn waiters_watch_only_their_predecessor(ctx: Ctx) {
    const WAITERS: usize = 5;
    let path = ctx.path("lock");
    let zk = ctx.client().await;
    let holder = InterProcessMutex::new(zk.clone(), &path).unwrap();
    let held = holder.acquire().await.unwrap();
    let mut sessions = BTreeSet::new();
    let mut waiters = Vec::new();
    for _ in 0..WAITERS {
        let wz = ctx.client().await;
        sessions.insert(wz.session_id() as u64);
        let lock = InterProcessMutex::new(wz.clone(), &path).unwrap();
        waiters.push(tokio::spawn(async move {
            let guard = lock.acquire().await.unwrap();
            guard.release().await.unwrap();
            wz.close().await.unwrap();
        }));
    }
    // Every waiter queued and watching: one watch per waiter below the lock.
    eventually("all waiters watching", Duration::from_secs(10), || async {
        watchers_below(&ctx, &path)
            .values()
            .map(Vec::len)
            .sum::<usize>()
            == WAITERS
    })
    .await;

    let children = zk.get_children(&path).await.unwrap();
    assert_eq!(children.len(), WAITERS + 1, "{children:?}");
    let mut queue: Vec<(String, String)> = children
        .iter()
        .map(|c| (c.rsplit('-').next().unwrap().to_string(), c.clone()))
        .collect();
    queue.sort();
    let mut owners = Vec::new();
    for (_, name) in &queue {
        let stat = zk.exists(&format!("{path}/{name}")).await.unwrap().unwrap();
        owners.push(stat.ephemeral_owner as u64);
    }
    let watchers = watchers_below(&ctx, &path);
    for (i, (_, name)) in queue.iter().enumerate() {
        let node = format!("{path}/{name}");
        let watching = watchers.get(&node).cloned().unwrap_or_default();
        if i + 1 < queue.len() {
            // Exactly one watcher, and it is the next waiter in line.
            assert_eq!(
                watching,
                [owners[i + 1]],
                "watchers of {node}: {watchers:?}"
            );
        } else {
            assert!(
                watching.is_empty(),
                "the last waiter is watched: {watchers:?}"
            );
        }
    }
    assert!(
        owners[1..].iter().all(|o| sessions.contains(o)),
        "the waiters own the queued nodes"
    );

    // The chain unwinds one by one; no watch is left behind.
    held.release().await.unwrap();
    for w in waiters {
        within("waiter", w).await.unwrap();
    }
    assert!(zk.get_children(&path).await.unwrap().is_empty());
    assert_eq!(watchers_below(&ctx, &path), BTreeMap::new());
}

both_targets!(
    waiters_watch_only_their_predecessor,
    contention_never_overlaps_even_when_a_holder_expires,
    timeout_gives_up_and_leaves_no_node,
    deleted_node_means_lost_lock,
    lost_create_reply_is_recovered,
    waiter_survives_connection_loss,
);
