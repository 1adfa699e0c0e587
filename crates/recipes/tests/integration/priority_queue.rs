//! The priority queue: Curator's node names and data, lowest priority first and FIFO within a
//! priority, nothing lost or duplicated under contention, when a put's reply is lost, or when a
//! consumer's session expires mid-take.

use crate::common::{
    assert_taken_once, both_targets, eventually, expire_doomed, within, Ctx, Doomed,
};
use client::{Client, CreateMode, CreateOptions};
use recipes::priority_queue::{priority_of, priority_to_string};
use recipes::DistributedPriorityQueue;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use testkit::proxy::Proxy;

/// Curator's `ItemSerializer` bytes for `items`, as a Java producer writes them.
fn curator_bytes(items: &[&[u8]]) -> Vec<u8> {
    let mut out = vec![0, 1, 0, 1];
    for i in items {
        out.push(1);
        out.extend_from_slice(&(i.len() as u32).to_be_bytes());
        out.extend_from_slice(i);
    }
    out.push(2);
    out
}

async fn lowest_priority_first_fifo_within(ctx: Ctx) {
    let path = ctx.path("pq");
    let zk = ctx.client().await;
    let q = DistributedPriorityQueue::new(zk.clone(), &path).unwrap();
    assert_eq!(q.poll().await.unwrap(), None, "a missing queue is empty");
    // A shuffled mix of priorities, each repeated, so FIFO within a priority shows.
    let prios = [3, -2, 3, 0, i32::MIN, 7, -2, 0, 3, i32::MAX, -2, 7];
    for (k, p) in prios.iter().enumerate() {
        q.put(format!("{p}/{k}").as_bytes(), *p).await.unwrap();
    }
    let names = zk.get_children(&path).await.unwrap();
    assert_eq!(names.len(), prios.len());
    for name in &names {
        let p = priority_of(name).unwrap_or_else(|| panic!("{name}"));
        assert!(name.starts_with(&format!("queue-{}", priority_to_string(p))));
        let (data, _) = zk.get_data(&format!("{path}/{name}")).await.unwrap();
        // Readable by Curator: version, one item, end marker (our tag after it is ignored).
        assert_eq!(&data[..5], &[0, 1, 0, 1, 1], "{name}");
        let len = u32::from_be_bytes(data[5..9].try_into().unwrap()) as usize;
        assert!(
            data[9..9 + len].starts_with(format!("{p}/").as_bytes()),
            "{name}"
        );
        assert_eq!(data[9 + len], 2, "{name}");
    }
    // An entry put by a Curator producer (putMulti, no tag of ours) in the middle.
    zk.create(
        &format!("{path}/queue-{}", priority_to_string(0)),
        &curator_bytes(&[b"java-a", b"java-b"]),
        &CreateOptions::persistent().with_mode(CreateMode::PersistentSequential),
    )
    .await
    .unwrap();
    // Foreign nodes are left alone.
    zk.create(&format!("{path}/other"), b"", &CreateOptions::persistent())
        .await
        .unwrap();

    let mut want: Vec<(i32, usize)> = prios.iter().copied().zip(0..).collect();
    want.sort();
    let mut got = Vec::new();
    while let Some(e) = q.poll().await.unwrap() {
        if e.items.len() == 2 {
            assert_eq!(
                (e.priority, &e.items[..]),
                (0, &[b"java-a".to_vec(), b"java-b".to_vec()][..])
            );
            got.push((e.priority, usize::MAX));
            continue;
        }
        assert_eq!(e.items.len(), 1);
        let text = String::from_utf8(e.items[0].clone()).unwrap();
        let (p, k) = text.split_once('/').unwrap();
        assert_eq!(p.parse::<i32>().unwrap(), e.priority);
        got.push((e.priority, k.parse().unwrap()));
    }
    // The Curator entry came after the priority-0 entries put before it.
    let at = want.iter().rposition(|(p, _)| *p == 0).unwrap() + 1;
    want.insert(at, (0, usize::MAX));
    assert_eq!(got, want);
    assert_eq!(zk.get_children(&path).await.unwrap(), ["other"]);
    assert!(q.is_empty().await.unwrap());
}

async fn no_loss_no_duplicates_under_contention(ctx: Ctx) {
    const PRODUCERS: usize = 3;
    const CONSUMERS: usize = 3;
    const EACH: usize = 15;
    let path = ctx.path("pq");
    let total = PRODUCERS * EACH;
    let taken = Arc::new(AtomicUsize::new(0));
    let mut consumers = Vec::new();
    for _ in 0..CONSUMERS {
        let q = DistributedPriorityQueue::new(ctx.client().await, &path).unwrap();
        let taken = taken.clone();
        consumers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while taken.load(Ordering::SeqCst) < total {
                if let Some(e) = q.take_for(Duration::from_millis(200)).await.unwrap() {
                    taken.fetch_add(1, Ordering::SeqCst);
                    let text = String::from_utf8(e.items[0].clone()).unwrap();
                    got.push((e.priority, text));
                }
            }
            got
        }));
    }
    let mut producers = Vec::new();
    for p in 0..PRODUCERS {
        let q = DistributedPriorityQueue::new(ctx.client().await, &path).unwrap();
        producers.push(tokio::spawn(async move {
            for k in 0..EACH {
                let prio = (k % 3) as i32 - 1;
                q.put(format!("p{p}-{k:02}").as_bytes(), prio)
                    .await
                    .unwrap();
            }
        }));
    }
    for p in producers {
        within("producer", p).await.unwrap();
    }
    let mut all = Vec::new();
    for c in consumers {
        let got = within("consumer", c).await.unwrap();
        // One consumer takes one producer's entries of one priority in the order put.
        for p in 0..PRODUCERS {
            for prio in -1..=1 {
                let mine: Vec<&String> = got
                    .iter()
                    .filter(|(q, t)| *q == prio && t.starts_with(&format!("p{p}-")))
                    .map(|(_, t)| t)
                    .collect();
                let mut sorted = mine.clone();
                sorted.sort();
                assert_eq!(mine, sorted, "producer {p} priority {prio} out of order");
            }
        }
        all.extend(got);
    }
    assert_eq!(all.len(), total, "duplicates or losses");
    let distinct: BTreeSet<(i32, String)> = all.into_iter().collect();
    let want: BTreeSet<(i32, String)> = (0..PRODUCERS)
        .flat_map(|p| (0..EACH).map(move |k| ((k % 3) as i32 - 1, format!("p{p}-{k:02}"))))
        .collect();
    assert_eq!(distinct, want);
}

/// A put whose reply is lost is found by its tag: exactly one entry.
async fn lost_priority_put_is_not_duplicated(ctx: Ctx) {
    let path = ctx.path("pq");
    let observer = ctx.client().await;
    observer
        .create(&path, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    // Something was taken before, so a blind retry could not be told apart from a duplicate.
    let q0 = DistributedPriorityQueue::new(observer.clone(), &path).unwrap();
    q0.put(b"earlier", 1).await.unwrap();
    assert!(q0.poll().await.unwrap().is_some());

    let proxy = Proxy::start(ctx.server.addr).await;
    let zk = ctx
        .client_with(Client::builder(), &proxy.connect_string())
        .await;
    let q = DistributedPriorityQueue::new(zk, &path).unwrap();
    proxy.set_muted(true);
    let putting = tokio::spawn(async move { q.put(b"once", 5).await });
    eventually("put applied", Duration::from_secs(5), || async {
        observer.get_children(&path).await.unwrap().len() == 1
    })
    .await;
    proxy.set_muted(false);
    proxy.drop_connections();
    within("put after the loss", putting)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(observer.get_children(&path).await.unwrap().len(), 1);
    let e = q0.poll().await.unwrap().unwrap();
    assert_eq!((e.priority, e.items), (5, vec![b"once".to_vec()]));
}

/// Consumers drain a queue of `ENTRIES` while one consumer, behind a proxy, is cut off in the
/// middle of a take after `replies` of that take's replies reached it, until its session
/// expires. `replies` 1: the take listed the queue, its read of the first entry is lost
/// (nothing deleted). `replies` 2: its delete of the first entry reached the server, the reply
/// did not.
async fn consumer_expires_mid_take(ctx: Ctx, replies: usize) {
    const ENTRIES: usize = 24;
    const SURVIVORS: usize = 3;
    let path = ctx.path("pq");
    let producer = DistributedPriorityQueue::new(ctx.client().await, &path).unwrap();
    let mut want = BTreeSet::new();
    for k in 0..ENTRIES {
        let prio = (k % 4) as i32 - 2;
        producer
            .put(format!("e{k:02}").as_bytes(), prio)
            .await
            .unwrap();
        want.insert((prio, format!("e{k:02}")));
    }

    let Doomed {
        proxy,
        client: doomed_client,
        alive,
    } = ctx.doomed().await;
    let doomed = DistributedPriorityQueue::new(doomed_client.clone(), &path).unwrap();
    let entry = |e: recipes::priority_queue::Entry| {
        assert_eq!(e.items.len(), 1);
        (e.priority, String::from_utf8(e.items[0].clone()).unwrap())
    };
    let mut acknowledged = vec![entry(doomed.take().await.unwrap())];

    proxy.mute_after(replies);
    let taking = tokio::spawn({
        let doomed = doomed.clone();
        async move { doomed.take().await }
    });
    // Right after the take started: cut off until the server expires the session.
    tokio::time::sleep(Duration::from_millis(150)).await;
    proxy.set_blocked(true);
    // The others take while the doomed session is on its way out; they start only now so that
    // the doomed take is the one working on the first entry.
    let doomed_done = Arc::new(AtomicBool::new(false));
    let mut survivors = Vec::new();
    for _ in 0..SURVIVORS {
        let q = DistributedPriorityQueue::new(ctx.client().await, &path).unwrap();
        let done = doomed_done.clone();
        survivors.push(tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let finished = done.load(Ordering::SeqCst);
                match q.take_for(Duration::from_millis(300)).await.unwrap() {
                    Some(e) => got.push(entry(e)),
                    // Every entry was put before the consumers started, and the doomed
                    // consumer can delete nothing more: empty now means empty for good.
                    None if finished => return got,
                    None => {}
                }
            }
        }));
    }
    let observer = ctx.client().await;
    expire_doomed(&observer, &doomed_client, &alive, &proxy).await;
    let doomed_result = within("doomed take", taking).await.unwrap();
    doomed_done.store(true, Ordering::SeqCst);

    for s in survivors {
        acknowledged.extend(within("survivor", s).await.unwrap());
    }
    assert_taken_once("entry", &acknowledged, &want, doomed_result);
    assert!(producer.is_empty().await.unwrap(), "entries left behind");
}

async fn priority_consumer_expires_before_its_delete(ctx: Ctx) {
    consumer_expires_mid_take(ctx, 1).await;
}

async fn priority_consumer_expires_with_its_delete_in_flight(ctx: Ctx) {
    consumer_expires_mid_take(ctx, 2).await;
}

both_targets!(
    priority_consumer_expires_before_its_delete,
    priority_consumer_expires_with_its_delete_in_flight,
    lowest_priority_first_fifo_within,
    no_loss_no_duplicates_under_contention,
    lost_priority_put_is_not_duplicated,
);
