//! The read/write lock: Curator's node layout, writers exclusive under contention (including a
//! writer whose session expires mid-hold), readers sharing, fairness, and downgrade.

use crate::common::{both_targets, eventually, wait_state, within, Ctx};
use client::{Client, SessionState};
use recipes::{ReadWriteLock, WriteGuard};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use testkit::proxy::Proxy;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// One stay inside the lock.
#[derive(Debug, Clone)]
struct Interval {
    who: String,
    write: bool,
    start: Instant,
    end: Instant,
}

fn overlaps(a: &Interval, b: &Interval) -> bool {
    a.start < b.end && b.start < a.end
}

/// Asserts `_c_<uuid>-<marker><10 digits>` and returns the sequence.
fn curator_seq(name: &str, marker: &str) -> u64 {
    let rest = name.strip_prefix("_c_").unwrap_or_else(|| panic!("{name}"));
    let (guid, tail) = rest.split_at(36);
    let groups: Vec<usize> = guid.split('-').map(str::len).collect();
    assert_eq!(groups, [8, 4, 4, 4, 12], "{name}");
    let seq = tail
        .strip_prefix('-')
        .and_then(|t| t.strip_prefix(marker))
        .unwrap_or_else(|| panic!("{name} lacks {marker}"));
    assert_eq!(seq.len(), 10, "{name}");
    seq.parse().unwrap_or_else(|_| panic!("{name}"))
}

fn leaf(path: &str) -> &str {
    path.rsplit('/').next().unwrap()
}

/// Whether `task` is still waiting after `wait`.
async fn still_waiting<T>(task: &JoinHandle<T>, wait: Duration) -> bool {
    tokio::time::sleep(wait).await;
    !task.is_finished()
}

async fn writers_exclusive_even_when_a_holder_expires(ctx: Ctx) {
    const READERS: usize = 3;
    const WRITERS: usize = 2;
    const ROUNDS: usize = 3;
    let path = ctx.path("rw");
    let log = Arc::new(Mutex::new(Vec::<Interval>::new()));
    // Writers bump it non-atomically; a reader sees it change only if a writer overlaps it.
    let value = Arc::new(AtomicU64::new(0));

    let proxy = Proxy::start(ctx.server.addr).await;
    let doomed_client = ctx
        .client_with(
            Client::builder().session_timeout(Duration::from_millis(1000)),
            &proxy.connect_string(),
        )
        .await;
    let doomed = ReadWriteLock::new(doomed_client.clone(), &path)
        .unwrap()
        .acquire_write()
        .await
        .unwrap();
    let doomed_start = Instant::now();

    let mut tasks = Vec::new();
    for i in 0..READERS + WRITERS {
        let write = i >= READERS;
        let zk = ctx.client().await;
        let lock = ReadWriteLock::new(zk.clone(), &path).unwrap();
        let (log, value) = (log.clone(), value.clone());
        tasks.push(tokio::spawn(async move {
            let who = format!("{}{i}", if write { "w" } else { "r" });
            for _ in 0..ROUNDS {
                let start;
                if write {
                    let g = lock.acquire_write().await.unwrap();
                    start = Instant::now();
                    let v = value.load(Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(4)).await;
                    value.store(v + 1, Ordering::SeqCst);
                    let end = Instant::now();
                    g.release().await.unwrap();
                    log.lock().unwrap().push(Interval {
                        who: who.clone(),
                        write,
                        start,
                        end,
                    });
                } else {
                    let g = lock.acquire_read().await.unwrap();
                    start = Instant::now();
                    let before = value.load(Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(8)).await;
                    assert_eq!(value.load(Ordering::SeqCst), before, "{who} saw a write");
                    let end = Instant::now();
                    g.release().await.unwrap();
                    log.lock().unwrap().push(Interval {
                        who: who.clone(),
                        write,
                        start,
                        end,
                    });
                }
            }
            zk.close().await.unwrap();
        }));
    }
    let observer = ctx.client().await;
    eventually("everyone queued", Duration::from_secs(10), || async {
        observer.get_children(&path).await.unwrap().len() == READERS + WRITERS + 1
    })
    .await;
    let mut reads = 0;
    for c in observer.get_children(&path).await.unwrap() {
        if c.contains("__READ__") {
            curator_seq(&c, "__READ__");
            reads += 1;
        } else {
            curator_seq(&c, "__WRIT__");
        }
    }
    assert_eq!(reads, READERS);
    assert!(log.lock().unwrap().is_empty(), "nobody got past the writer");

    // Mid-hold, the writer is cut off; it stops acting as the holder from now on.
    let doomed_end = Instant::now();
    proxy.set_blocked(true);
    within("doomed writer suspended", doomed.lost_or_suspended()).await;
    log.lock().unwrap().push(Interval {
        who: "doomed".into(),
        write: true,
        start: doomed_start,
        end: doomed_end,
    });
    for t in tasks {
        within("contender", t).await.unwrap();
    }
    proxy.set_blocked(false);
    wait_state(&doomed_client, SessionState::Expired).await;
    assert!(doomed.release().await.is_err(), "released an expired lock");

    let log = log.lock().unwrap().clone();
    assert_eq!(log.len(), (READERS + WRITERS) * ROUNDS + 1);
    for w in log.iter().filter(|i| i.write) {
        for other in &log {
            if std::ptr::eq(w, other) {
                continue;
            }
            assert!(!overlaps(w, other), "{} overlaps {}", w.who, other.who);
        }
    }
    assert_eq!(value.load(Ordering::SeqCst), (WRITERS * ROUNDS) as u64);
    match observer.get_children(&path).await {
        Ok(left) => assert_eq!(left, Vec::<String>::new(), "every lock node gone"),
        Err(client::Error::NoNode) => {}
        Err(e) => panic!("{e}"),
    }
}

async fn readers_share_and_queue_behind_waiting_writers(ctx: Ctx) {
    let path = ctx.path("rw");
    let lock = |zk: Client| ReadWriteLock::new(zk, &path).unwrap();
    let r1 = lock(ctx.client().await).acquire_read().await.unwrap();
    let r2 = within(
        "second reader shares",
        lock(ctx.client().await).acquire_read(),
    )
    .await
    .unwrap();
    assert!(r1.is_held().await.unwrap() && r2.is_held().await.unwrap());

    let observer = ctx.client().await;
    let writer = tokio::spawn({
        let l = lock(ctx.client().await);
        async move { l.acquire_write().await }
    });
    eventually("writer queued", Duration::from_secs(5), || async {
        observer.get_children(&path).await.unwrap().len() == 3
    })
    .await;
    assert!(still_waiting(&writer, Duration::from_millis(150)).await);

    // A reader arriving after the waiting writer waits for it (no writer starvation), and
    // leaves no node behind when it gives up.
    let late = lock(ctx.client().await);
    let none = late
        .try_acquire_read_for(Duration::from_millis(300))
        .await
        .unwrap();
    assert!(none.is_none(), "a reader overtook a waiting writer");
    assert_eq!(observer.get_children(&path).await.unwrap().len(), 3);

    r1.release().await.unwrap();
    assert!(
        still_waiting(&writer, Duration::from_millis(150)).await,
        "writer entered while a reader held the lock"
    );
    r2.release().await.unwrap();
    let w = within("writer after the readers", writer)
        .await
        .unwrap()
        .unwrap();

    let reader = tokio::spawn(async move { late.acquire_read().await });
    assert!(
        still_waiting(&reader, Duration::from_millis(200)).await,
        "reader entered while the writer held the lock"
    );
    let token = w.fencing_token();
    w.release().await.unwrap();
    let r = within("reader after the writer", reader)
        .await
        .unwrap()
        .unwrap();
    assert!(r.fencing_token() > token);
    r.release().await.unwrap();
}

/// Downgrading keeps the writer's place, so a writer queued meanwhile stays out until the
/// downgraded reader is done (Curator's own downgrade lets it in).
async fn downgrade_keeps_queued_writers_out(ctx: Ctx) {
    let path = ctx.path("rw");
    let observer = ctx.client().await;
    let lock = |zk: Client| ReadWriteLock::new(zk, &path).unwrap();
    let w1 = lock(ctx.client().await).acquire_write().await.unwrap();
    let w1_seq = curator_seq(leaf(w1.node_path()), "__WRIT__");
    let w1_path = w1.node_path().to_string();

    let queued_writer = |l: ReadWriteLock| tokio::spawn(async move { l.acquire_write().await });
    let w2 = queued_writer(lock(ctx.client().await));
    eventually("second writer queued", Duration::from_secs(5), || async {
        observer.get_children(&path).await.unwrap().len() == 2
    })
    .await;
    let reader = tokio::spawn({
        let l = lock(ctx.client().await);
        async move { l.acquire_read().await }
    });
    eventually("reader queued", Duration::from_secs(5), || async {
        observer.get_children(&path).await.unwrap().len() == 3
    })
    .await;

    let r1 = w1.downgrade().await.unwrap();
    assert_eq!(curator_seq(leaf(r1.node_path()), "__READ__"), w1_seq);
    assert!(observer.exists(&w1_path).await.unwrap().is_none());
    assert!(r1.is_held().await.unwrap());
    assert!(
        still_waiting(&w2, Duration::from_millis(300)).await,
        "a writer got in beside the downgraded reader"
    );
    assert!(
        still_waiting(&reader, Duration::from_millis(10)).await,
        "the reader overtook the waiting writer"
    );
    r1.release().await.unwrap();
    let w2: WriteGuard = within("second writer", w2).await.unwrap().unwrap();

    // Curator's way: take the read lock inside the write lock, then release the write lock.
    let w3 = queued_writer(lock(ctx.client().await));
    eventually("third writer queued", Duration::from_secs(5), || async {
        observer.get_children(&path).await.unwrap().len() == 3
    })
    .await;
    let r2 = w2.acquire_read().await.unwrap();
    w2.release().await.unwrap();
    assert!(
        still_waiting(&w3, Duration::from_millis(300)).await,
        "a writer got in beside the reader inside the write lock"
    );
    r2.release().await.unwrap();
    let r = within("reader after the second writer", reader)
        .await
        .unwrap()
        .unwrap();
    assert!(
        still_waiting(&w3, Duration::from_millis(100)).await,
        "third writer entered beside a reader"
    );
    r.release().await.unwrap();
    let w3 = within("third writer", w3).await.unwrap().unwrap();
    w3.release().await.unwrap();
}

both_targets!(
    writers_exclusive_even_when_a_holder_expires,
    readers_share_and_queue_behind_waiting_writers,
    downgrade_keeps_queued_writers_out,
);
