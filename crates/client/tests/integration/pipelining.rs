//! Many requests in flight on one connection, answered in order.

use crate::common::{both_targets, Ctx};
use client::{CreateOptions, Error};
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Instant;

/// Polls every future in index order until all are done. The client sends a request on its
/// future's first poll, so the requests go on the wire in index order.
async fn join_in_order<T>(mut futs: Vec<Pin<Box<dyn Future<Output = T> + Send + '_>>>) -> Vec<T> {
    let mut out: Vec<Option<T>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (i, f) in futs.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => out[i] = Some(v),
                    Poll::Pending => done = false,
                }
            }
        }
        if done {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    out.into_iter()
        .map(|v| v.expect("every future finished"))
        .collect()
}

async fn ten_thousand_requests_in_flight(ctx: Ctx) {
    const N: usize = 10_000;
    let c = ctx.client().await;
    let started = Instant::now();
    let creates = (0..N)
        .map(|i| {
            let c = c.clone();
            let path = ctx.path(&format!("n{i}"));
            Box::pin(async move {
                let got = c
                    .create(
                        &path,
                        i.to_string().as_bytes(),
                        &CreateOptions::persistent(),
                    )
                    .await;
                (path, got)
            })
                as Pin<
                    Box<
                        dyn Future<Output = (String, Result<(String, client::Stat), Error>)> + Send,
                    >,
                >
        })
        .collect();
    for (path, got) in join_in_order(creates).await {
        // A reply matched to the wrong request would name another path.
        assert_eq!(got.unwrap().0, path);
    }
    let reads = (0..N)
        .map(|i| {
            let c = c.clone();
            let path = ctx.path(&format!("n{i}"));
            Box::pin(async move { (i, c.get_data(&path).await) })
                as Pin<
                    Box<
                        dyn Future<Output = (usize, Result<(Vec<u8>, client::Stat), Error>)> + Send,
                    >,
                >
        })
        .collect();
    for (i, got) in join_in_order(reads).await {
        assert_eq!(got.unwrap().0, i.to_string().as_bytes());
    }
    assert_eq!(c.get_all_children_number(&ctx.root).await, Ok(N as i32));
    eprintln!(
        "{}: 2 x {N} pipelined requests in {:?}",
        ctx.target,
        started.elapsed()
    );
}

async fn pipelined_writes_apply_in_issue_order(ctx: Ctx) {
    const N: i32 = 1000;
    let c = ctx.client().await;
    let p = ctx.path("chain");
    c.create(&p, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    // Each write expects the version the previous one produced: any reordering fails one.
    let writes = (0..N)
        .map(|v| {
            let c = c.clone();
            let p = p.clone();
            Box::pin(async move { c.set_data(&p, v.to_string().as_bytes(), Some(v)).await })
                as Pin<Box<dyn Future<Output = Result<client::Stat, Error>> + Send>>
        })
        .collect();
    for (v, r) in join_in_order(writes).await.into_iter().enumerate() {
        assert_eq!(r.unwrap().version, v as i32 + 1);
    }
    let (data, stat) = c.get_data(&p).await.unwrap();
    assert_eq!((data, stat.version), ((N - 1).to_string().into_bytes(), N));
}

both_targets!(
    ten_thousand_requests_in_flight,
    pipelined_writes_apply_in_issue_order
);
