//! The double barrier: nobody gets through `enter` before everyone has arrived, nobody gets
//! through `leave` before everyone has left, and a lone participant times out cleanly.

use crate::common::{both_targets, within, Ctx};
use recipes::DoubleBarrier;
use std::time::Duration;
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

both_targets!(enter_together_leave_together, lone_participant_times_out);
