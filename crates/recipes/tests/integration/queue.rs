//! The FIFO queue: many producers and consumers, every item taken exactly once, and one
//! producer's items taken in order, including while a consumer's session expires mid-take.

use crate::common::{
    assert_taken_once, both_targets, eventually, expire_doomed, within, Ctx, Doomed,
};
use recipes::DistributedQueue;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use testkit::proxy::Proxy;

async fn no_loss_no_duplicates(ctx: Ctx) {
    const PRODUCERS: usize = 3;
    const CONSUMERS: usize = 3;
    const EACH: usize = 20;
    let path = ctx.path("jobs");
    let taken_total = Arc::new(AtomicUsize::new(0));
    let mut consumers = Vec::new();
    for _ in 0..CONSUMERS {
        let q = DistributedQueue::new(ctx.client().await, &path).unwrap();
        let total = taken_total.clone();
        consumers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while total.load(Ordering::SeqCst) < PRODUCERS * EACH {
                if let Some(item) = q.take_for(Duration::from_millis(200)).await.unwrap() {
                    total.fetch_add(1, Ordering::SeqCst);
                    got.push(String::from_utf8(item).unwrap());
                }
            }
            got
        }));
    }
    let mut producers = Vec::new();
    for p in 0..PRODUCERS {
        let q = DistributedQueue::new(ctx.client().await, &path).unwrap();
        producers.push(tokio::spawn(async move {
            for k in 0..EACH {
                q.put(format!("p{p}-{k:02}").as_bytes()).await.unwrap();
            }
        }));
    }
    for p in producers {
        within("producer", p).await.unwrap();
    }
    let mut all = Vec::new();
    for c in consumers {
        let got = within("consumer", c).await.unwrap();
        // Each consumer sees one producer's items in the order they were put.
        for p in 0..PRODUCERS {
            let mine: Vec<&String> = got
                .iter()
                .filter(|i| i.starts_with(&format!("p{p}-")))
                .collect();
            let mut sorted = mine.clone();
            sorted.sort();
            assert_eq!(mine, sorted, "out of order for producer {p}");
        }
        all.extend(got);
    }
    assert_eq!(all.len(), PRODUCERS * EACH, "duplicates or losses: {all:?}");
    let distinct: BTreeSet<&String> = all.iter().collect();
    assert_eq!(distinct.len(), PRODUCERS * EACH, "duplicates");
    let want: BTreeSet<String> = (0..PRODUCERS)
        .flat_map(|p| (0..EACH).map(move |k| format!("p{p}-{k:02}")))
        .collect();
    assert_eq!(distinct, want.iter().collect());
    let q = DistributedQueue::new(ctx.client().await, &path).unwrap();
    assert!(q.is_empty().await.unwrap());
    assert_eq!(q.poll().await.unwrap(), None);
}

async fn single_consumer_sees_fifo(ctx: Ctx) {
    let zk = ctx.client().await;
    let q = DistributedQueue::new(zk.clone(), &ctx.path("q")).unwrap();
    assert_eq!(q.poll().await.unwrap(), None, "missing queue is empty");
    for i in 0..10u8 {
        q.put(&[i]).await.unwrap();
    }
    assert_eq!(q.len().await.unwrap(), 10);
    let names = zk.get_children(&ctx.path("q")).await.unwrap();
    assert!(
        names
            .iter()
            .all(|n| n.starts_with("_c_") && n.contains("-qn-")),
        "{names:?}"
    );
    let mut got = Vec::new();
    while let Some(item) = q.poll().await.unwrap() {
        got.extend(item);
    }
    assert_eq!(got, (0..10u8).collect::<Vec<_>>());
    // A waiting take is woken by a put.
    let waiter = tokio::spawn({
        let q = q.clone();
        async move { q.take().await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    q.put(b"late").await.unwrap();
    assert_eq!(within("take", waiter).await.unwrap().unwrap(), b"late");
}

/// A put whose reply is lost finds its item by guid instead of putting it twice.
async fn lost_put_reply_is_not_duplicated(ctx: Ctx) {
    let path = ctx.path("q");
    let proxy = Proxy::start(ctx.server.addr).await;
    let zk = ctx
        .client_with(client::Client::builder(), &proxy.connect_string())
        .await;
    let q = DistributedQueue::new(zk, &path).unwrap();
    q.put(b"first").await.unwrap();
    let observer = ctx.client().await;
    proxy.set_muted(true);
    let putting = tokio::spawn({
        let q = q.clone();
        async move { q.put(b"second").await }
    });
    eventually("put applied", Duration::from_secs(5), || async {
        observer.get_children(&path).await.unwrap().len() == 2
    })
    .await;
    proxy.set_muted(false);
    proxy.drop_connections();
    within("put", putting).await.unwrap().unwrap();
    assert_eq!(q.len().await.unwrap(), 2, "put twice");
    assert_eq!(q.poll().await.unwrap().as_deref(), Some(&b"first"[..]));
    assert_eq!(q.poll().await.unwrap().as_deref(), Some(&b"second"[..]));
    assert_eq!(q.poll().await.unwrap(), None);
}

/// Consumers drain a queue of `ITEMS` while one consumer, behind a proxy, is cut off in the
/// middle of a take after `replies` of that take's replies reached it, until its session
/// expires. `replies` 1: the take listed the queue, its read of the head is lost (nothing
/// deleted). `replies` 2: its delete of the head item reached the server, the reply did not.
async fn consumer_expires_mid_take(ctx: Ctx, replies: usize) {
    const ITEMS: usize = 24;
    const SURVIVORS: usize = 3;
    let path = ctx.path("jobs");
    let producer = DistributedQueue::new(ctx.client().await, &path).unwrap();
    for k in 0..ITEMS {
        producer.put(format!("i{k:02}").as_bytes()).await.unwrap();
    }
    let want: BTreeSet<String> = (0..ITEMS).map(|k| format!("i{k:02}")).collect();

    let Doomed {
        proxy,
        client: doomed_client,
        alive,
    } = ctx.doomed().await;
    let doomed = DistributedQueue::new(doomed_client.clone(), &path).unwrap();
    let mut acknowledged = vec![String::from_utf8(doomed.take().await.unwrap()).unwrap()];

    proxy.mute_after(replies);
    let taking = tokio::spawn({
        let doomed = doomed.clone();
        async move { doomed.take().await }
    });
    // Right after the take started: cut off until the server expires the session.
    tokio::time::sleep(Duration::from_millis(150)).await;
    proxy.set_blocked(true);
    // The others take while the doomed session is on its way out; they start only now so that
    // the doomed take is the one working on the head item.
    let doomed_done = Arc::new(AtomicBool::new(false));
    let mut survivors = Vec::new();
    for _ in 0..SURVIVORS {
        let q = DistributedQueue::new(ctx.client().await, &path).unwrap();
        let done = doomed_done.clone();
        survivors.push(tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let finished = done.load(Ordering::SeqCst);
                match q.take_for(Duration::from_millis(300)).await.unwrap() {
                    Some(item) => got.push(String::from_utf8(item).unwrap()),
                    // Every item was put before the consumers started, and the doomed
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
    assert_taken_once("item", &acknowledged, &want, doomed_result);
    assert!(producer.is_empty().await.unwrap(), "items left behind");
}

async fn consumer_expires_before_its_delete(ctx: Ctx) {
    consumer_expires_mid_take(ctx, 1).await;
}

async fn consumer_expires_with_its_delete_in_flight(ctx: Ctx) {
    consumer_expires_mid_take(ctx, 2).await;
}

both_targets!(
    consumer_expires_before_its_delete,
    consumer_expires_with_its_delete_in_flight,
    no_loss_no_duplicates,
    single_consumer_sees_fifo,
    lost_put_reply_is_not_duplicated,
);
