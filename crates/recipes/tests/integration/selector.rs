//! The leader selector: terms never overlap and rotate with auto-requeue; a leader whose
//! session is lost is interrupted before anyone else takes over; a returning term hands
//! leadership on.

use crate::common::{both_targets, eventually, within, Ctx};
use client::Client;
use recipes::selector::{current_leader, participants, LeaderSelector, SelectorOptions};
use recipes::Error;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use testkit::proxy::Proxy;
use tokio::time::Instant;

/// One term as its callback saw it.
#[derive(Debug, Clone)]
struct Term {
    who: String,
    start: Instant,
    end: Instant,
    token: i64,
}

/// Records the end of a term when dropped, so an interrupted term (whose future is dropped)
/// is recorded too.
struct EndOnDrop {
    who: String,
    start: Instant,
    token: i64,
    log: Arc<Mutex<Vec<Term>>>,
}

impl Drop for EndOnDrop {
    fn drop(&mut self) {
        self.log.lock().unwrap().push(Term {
            who: self.who.clone(),
            start: self.start,
            end: Instant::now(),
            token: self.token,
        });
    }
}

async fn terms_never_overlap_and_rotate(ctx: Ctx) {
    const PARTICIPANTS: usize = 3;
    const TERMS: usize = 9;
    let path = ctx.path("selector");
    let log = Arc::new(Mutex::new(Vec::<Term>::new()));
    let mut selectors = Vec::new();
    for i in 0..PARTICIPANTS {
        let log = log.clone();
        let who = format!("s{i}");
        let id = who.clone();
        let s = LeaderSelector::start(
            ctx.client().await,
            &path,
            &id,
            SelectorOptions { auto_requeue: true },
            move |term| {
                let guard = EndOnDrop {
                    who: who.clone(),
                    start: Instant::now(),
                    token: term.fencing_token(),
                    log: log.clone(),
                };
                async move {
                    assert!(term.is_leader());
                    tokio::time::sleep(Duration::from_millis(15)).await;
                    drop(guard);
                }
            },
        )
        .unwrap();
        selectors.push(s);
    }
    eventually("enough terms", Duration::from_secs(20), || async {
        log.lock().unwrap().len() >= TERMS
    })
    .await;
    for s in selectors {
        s.close().await.unwrap();
    }
    let mut log = log.lock().unwrap().clone();
    log.sort_by_key(|t| t.start);
    for w in log.windows(2) {
        assert!(w[0].end <= w[1].start, "two leaders at once: {w:?}");
        assert!(w[0].token < w[1].token, "tokens not increasing: {w:?}");
    }
    // The mutex is fair and requeueing goes to the end of the line: everyone leads in turn.
    for i in 0..PARTICIPANTS {
        let n = log.iter().filter(|t| t.who == format!("s{i}")).count();
        assert!(
            n >= TERMS / PARTICIPANTS - 1,
            "s{i} led {n} of {} terms",
            log.len()
        );
    }
    let observer = ctx.client().await;
    assert_eq!(
        participants(&observer, &path).await.unwrap(),
        Vec::<String>::new()
    );
}

async fn lost_session_interrupts_the_term(ctx: Ctx) {
    let path = ctx.path("selector");
    let observer = ctx.client().await;
    let log = Arc::new(Mutex::new(Vec::<Term>::new()));

    let proxy = Proxy::start(ctx.server.addr).await;
    let doomed_client = ctx
        .client_with(
            Client::builder().session_timeout(Duration::from_millis(1000)),
            &proxy.connect_string(),
        )
        .await;
    let doomed = LeaderSelector::start(
        doomed_client,
        &path,
        "doomed",
        SelectorOptions { auto_requeue: true },
        {
            let log = log.clone();
            move |term| {
                let guard = EndOnDrop {
                    who: "doomed".into(),
                    start: Instant::now(),
                    token: term.fencing_token(),
                    log: log.clone(),
                };
                async move {
                    // Leads until interrupted.
                    std::future::pending::<()>().await;
                    drop(guard);
                }
            }
        },
    )
    .unwrap();
    within("doomed leads", doomed.leadership().wait_for(|l| *l))
        .await
        .unwrap();
    assert_eq!(
        current_leader(&observer, &path).await.unwrap().as_deref(),
        Some("doomed")
    );

    // The next one leads once, until told to stop, then hands on without requeueing.
    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
    let release_rx = Arc::new(tokio::sync::Mutex::new(Some(release_rx)));
    let next = LeaderSelector::start(
        ctx.client().await,
        &path,
        "next",
        SelectorOptions::default(),
        {
            let log = log.clone();
            move |term| {
                let guard = EndOnDrop {
                    who: "next".into(),
                    start: Instant::now(),
                    token: term.fencing_token(),
                    log: log.clone(),
                };
                let release_rx = release_rx.clone();
                async move {
                    if let Some(rx) = release_rx.lock().await.take() {
                        let _ = rx.await;
                    }
                    drop(guard);
                }
            }
        },
    )
    .unwrap();
    eventually("next queued", Duration::from_secs(5), || async {
        participants(&observer, &path).await.unwrap() == ["doomed", "next"]
    })
    .await;
    assert!(!next.has_leadership());

    proxy.set_blocked(true);
    eventually("doomed interrupted", Duration::from_secs(5), || async {
        log.lock().unwrap().iter().any(|t| t.who == "doomed")
    })
    .await;
    assert!(!doomed.has_leadership());
    within("next leads", next.leadership().wait_for(|l| *l))
        .await
        .unwrap();
    assert_eq!(
        current_leader(&observer, &path).await.unwrap().as_deref(),
        Some("next")
    );
    release_tx.send(()).unwrap();
    eventually("next's only term ends", Duration::from_secs(5), || async {
        next.is_finished()
    })
    .await;
    assert_eq!(next.terms(), 1);
    next.close().await.unwrap();

    // The doomed session expired: its selector ends for good.
    proxy.set_blocked(false);
    let ended = within("doomed selector ends", doomed.close()).await;
    assert!(matches!(ended, Err(Error::SessionEnded(_))), "{ended:?}");

    let log = log.lock().unwrap().clone();
    assert_eq!(log.len(), 2, "{log:?}");
    let (d, n) = (&log[0], &log[1]);
    assert_eq!((d.who.as_str(), n.who.as_str()), ("doomed", "next"));
    assert!(d.end <= n.start, "next led before doomed was interrupted");
    assert!(d.token < n.token);
    assert_eq!(
        participants(&observer, &path).await.unwrap(),
        Vec::<String>::new()
    );
}

both_targets!(
    terms_never_overlap_and_rotate,
    lost_session_interrupts_the_term
);
