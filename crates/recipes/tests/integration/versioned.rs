//! Versioned data: readers pinning while a writer publishes always see whole versions, archiving
//! never removes a pinned version, a crashed reader's pin goes with its session, and rollback.

use crate::common::{both_targets, eventually, within, Ctx};
use client::Client;
use recipes::versioned::ArchiveReport;
use recipes::{Error, VersionedStore};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use testkit::proxy::Proxy;

/// Version `n`'s data: the number `n`, `10 * (n % 5 + 1)` times, so a torn or mixed read shows.
fn payload(n: u64) -> Vec<u8> {
    format!("{n};")
        .repeat(10 * (n as usize % 5 + 1))
        .into_bytes()
}

/// Checks that `data` is exactly version `n`'s payload.
fn assert_whole(n: u64, data: &[u8]) {
    let text = std::str::from_utf8(data).expect("utf-8 payload");
    let parts: Vec<&str> = text.split_terminator(';').collect();
    assert_eq!(
        parts.len(),
        10 * (n as usize % 5 + 1),
        "copies in version {n}"
    );
    assert!(
        parts.iter().all(|p| p.parse::<u64>() == Ok(n)),
        "version {n} holds other data: {text}"
    );
}

async fn concurrent_readers_see_whole_versions(ctx: Ctx) {
    const READERS: usize = 3;
    const VERSIONS: u64 = 15;
    let path = ctx.path("data");
    let writer = VersionedStore::new(ctx.client().await, &path).unwrap();
    assert_eq!(writer.publish(&payload(1)).await.unwrap(), 1);
    let done = Arc::new(AtomicBool::new(false));
    let mut readers = Vec::new();
    for _ in 0..READERS {
        let zk = ctx.client().await;
        let store = VersionedStore::new(zk.clone(), &path).unwrap();
        let done = done.clone();
        readers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            loop {
                let finished = done.load(Ordering::SeqCst);
                let pin = store.pin().await.unwrap().expect("a published version");
                assert_whole(pin.version(), pin.data());
                tokio::time::sleep(Duration::from_millis(20)).await;
                // Archiving runs meanwhile: the pinned version must still be there.
                let live = zk.exists(&store.version_path(pin.version())).await.unwrap();
                assert!(live.is_some(), "pinned version {} archived", pin.version());
                seen.push(pin.version());
                pin.unpin().await.unwrap();
                if finished {
                    break;
                }
            }
            zk.close().await.unwrap();
            seen
        }));
    }
    let mut archived = Vec::new();
    let mut kept_pinned = 0;
    for n in 2..=VERSIONS {
        assert_eq!(writer.publish(&payload(n)).await.unwrap(), n);
        // Archive after every publish, so it often meets readers still pinning older versions.
        let report = writer.archive().await.unwrap();
        archived.extend(report.archived);
        kept_pinned += report.pinned.len();
    }
    done.store(true, Ordering::SeqCst);
    for r in readers {
        let seen = within("reader", r).await.unwrap();
        assert!(
            seen.windows(2).all(|w| w[0] <= w[1]),
            "one reader's versions never go back: {seen:?}"
        );
        assert_eq!(
            seen.last(),
            Some(&VERSIONS),
            "last read sees the last version"
        );
    }
    eprintln!("{kept_pinned} older versions kept for pinning readers while publishing");
    archived.extend(writer.archive().await.unwrap().archived);
    archived.sort_unstable();
    let want: Vec<u64> = (1..VERSIONS).collect();
    assert_eq!(archived, want, "every older version archived once unpinned");
    assert_eq!(writer.versions().await.unwrap(), [VERSIONS]);
    assert_eq!(writer.archived().await.unwrap(), want);
}

async fn archiving_keeps_pinned_versions(ctx: Ctx) {
    let path = ctx.path("data");
    let zk = ctx.client().await;
    let writer = VersionedStore::new(zk.clone(), &path).unwrap();
    assert_eq!(writer.pin().await.unwrap().map(|p| p.version()), None);
    assert_eq!(writer.current().await.unwrap(), None);
    writer.publish(&payload(1)).await.unwrap();
    let reader = VersionedStore::new(ctx.client().await, &path).unwrap();
    let pin = reader.pin().await.unwrap().unwrap();
    assert_eq!(pin.version(), 1);
    writer.publish(&payload(2)).await.unwrap();
    writer.publish(&payload(3)).await.unwrap();
    assert_eq!(writer.readers(1).await.unwrap(), 1);

    let report = writer.archive().await.unwrap();
    assert_eq!(
        report,
        ArchiveReport {
            archived: vec![2],
            pinned: vec![1],
        }
    );
    assert_eq!(writer.versions().await.unwrap(), [1, 3]);
    let (data, _) = zk.get_data(&writer.version_path(1)).await.unwrap();
    assert_eq!(data, payload(1), "pinned version intact");
    assert_eq!(pin.data(), payload(1));
    let (moved, _) = zk.get_data(&writer.archive_path(2)).await.unwrap();
    assert_eq!(moved, payload(2), "archive keeps the data");

    pin.unpin().await.unwrap();
    assert_eq!(writer.readers(1).await.unwrap(), 0);
    assert_eq!(writer.archive().await.unwrap().archived, [1]);
    assert_eq!(writer.versions().await.unwrap(), [3]);
    assert_eq!(writer.archived().await.unwrap(), [1, 2]);
    let (v, data) = reader.read().await.unwrap().unwrap();
    assert_eq!(v, 3);
    assert_whole(3, &data);
}

async fn crashed_reader_pin_disappears(ctx: Ctx) {
    let path = ctx.path("data");
    let writer = VersionedStore::new(ctx.client().await, &path).unwrap();
    writer.publish(&payload(1)).await.unwrap();
    let proxy = Proxy::start(ctx.server.addr).await;
    let crashing = ctx
        .client_with(
            Client::builder().session_timeout(Duration::from_millis(1000)),
            &proxy.connect_string(),
        )
        .await;
    let reader = VersionedStore::new(crashing, &path).unwrap();
    let pin = reader.pin().await.unwrap().unwrap();
    assert_eq!(pin.version(), 1);
    writer.publish(&payload(2)).await.unwrap();
    assert_eq!(writer.archive().await.unwrap().pinned, [1]);

    proxy.set_blocked(true);
    eventually("crashed pin released", Duration::from_secs(10), || async {
        writer.readers(1).await.unwrap() == 0
    })
    .await;
    assert_eq!(writer.archive().await.unwrap().archived, [1]);
    assert_eq!(writer.versions().await.unwrap(), [2]);
    drop(pin);
}

async fn rollback_to_live_version(ctx: Ctx) {
    let path = ctx.path("data");
    let writer = VersionedStore::new(ctx.client().await, &path).unwrap();
    for n in 1..=3 {
        assert_eq!(writer.publish(&payload(n)).await.unwrap(), n);
    }
    writer.rollback(2).await.unwrap();
    assert_eq!(writer.current().await.unwrap(), Some(2));
    assert_eq!(writer.latest().await.unwrap(), Some(3));
    let reader = VersionedStore::new(ctx.client().await, &path).unwrap();
    let (v, data) = reader.read().await.unwrap().unwrap();
    assert_eq!(v, 2);
    assert_eq!(data, payload(2));

    // Only versions older than the current one go; the newer one stays.
    assert_eq!(writer.archive().await.unwrap().archived, [1]);
    assert_eq!(writer.versions().await.unwrap(), [2, 3]);
    assert!(matches!(
        writer.rollback(1).await,
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        writer.rollback(9).await,
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(
        writer.current().await.unwrap(),
        Some(2),
        "failed rollbacks change nothing"
    );

    // Forward again, then a publish takes a fresh number.
    writer.rollback(3).await.unwrap();
    assert_eq!(writer.read().await.unwrap().unwrap().0, 3);
    assert_eq!(writer.publish(&payload(4)).await.unwrap(), 4);
    assert_eq!(reader.read().await.unwrap().unwrap(), (4, payload(4)));
}

async fn files_are_published_pinned_and_archived_together(ctx: Ctx) {
    let path = ctx.path("data");
    let zk = ctx.client().await;
    let writer = VersionedStore::new(zk.clone(), &path).unwrap();
    let v1: [(&str, &[u8]); 2] = [("a", b"a1"), ("b", b"b1")];
    assert_eq!(writer.publish_files(b"m1", &v1).await.unwrap(), 1);
    let reader = VersionedStore::new(ctx.client().await, &path).unwrap();
    let pin = reader.pin().await.unwrap().unwrap();
    assert_eq!(pin.files().await.unwrap(), ["a", "b"]);
    let v2: [(&str, &[u8]); 1] = [("a", b"a2")];
    assert_eq!(writer.publish_files(b"m2", &v2).await.unwrap(), 2);
    writer.publish(b"m3").await.unwrap();
    // Files do not count as readers, and do not stop an unpinned version from moving.
    assert_eq!(writer.readers(1).await.unwrap(), 1);
    assert_eq!(writer.readers(2).await.unwrap(), 0);
    let report = writer.archive().await.unwrap();
    assert_eq!((report.archived, report.pinned), (vec![2], vec![1]));
    assert_eq!(
        pin.read_file("a").await.unwrap(),
        b"a1",
        "pinned files stay"
    );
    assert_eq!(pin.read_file("b").await.unwrap(), b"b1");
    let (moved, _) = zk
        .get_data(&format!("{}/file-a", writer.archive_path(2)))
        .await
        .unwrap();
    assert_eq!(moved, b"a2", "archive keeps the files");
    assert!(zk.exists(&writer.version_path(2)).await.unwrap().is_none());
    pin.unpin().await.unwrap();
    assert_eq!(writer.archive().await.unwrap().archived, [1]);
    assert_eq!(writer.versions().await.unwrap(), [3]);
    assert!(matches!(
        writer.publish_files(b"m", &[("x/y", b"")]).await,
        Err(Error::InvalidArgument(_))
    ));
}

async fn counter_naming_a_missing_version_is_reported(ctx: Ctx) {
    let path = ctx.path("data");
    let zk = ctx.client().await;
    let writer = VersionedStore::new(zk.clone(), &path).unwrap();
    writer.publish(b"m1").await.unwrap();
    // What a publish that moved the counter before creating the version would leave.
    let mut counter = 2i64.to_be_bytes().to_vec();
    counter.extend_from_slice(&2i64.to_be_bytes());
    zk.set_data(&format!("{path}/current"), &counter, None)
        .await
        .unwrap();
    assert!(matches!(writer.pin().await, Err(Error::Malformed { .. })));
}

both_targets!(
    files_are_published_pinned_and_archived_together,
    counter_naming_a_missing_version_is_reported,
    concurrent_readers_see_whole_versions,
    archiving_keeps_pinned_versions,
    crashed_reader_pin_disappears,
    rollback_to_live_version,
);
