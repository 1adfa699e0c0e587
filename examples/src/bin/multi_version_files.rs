//! Multi-version files case study: a writer keeps publishing new versions of a set of files
//! while readers keep reading them, through [`recipes::VersionedStore`].
//!
//! Version `n` is a manifest (`version N files K`, the version node's data) and K files
//! `part-0` .. `part-<K-1>`, each its own znode, all created with the counter move in one
//! `multi` ([`VersionedStore::publish_files`]). Every file names its version, its index, the
//! file count and a checksum of the whole set (`v<N>:<I>/<K>:<sum>:<payload>`), so a reader
//! that got files of two versions, or only some files of one, can tell. Readers run in their own
//! sessions: each pins the current version, lists and reads its files one at a time (pausing
//! between reads, so a writer has time to interleave), "works" for a few milliseconds, checks
//! the version was not archived under it, and unpins. Each read prints one `observed` line with
//! the raw files it got, for a checker outside the process. The writer publishes `--versions`
//! versions, archives unpinned old versions every few publishes, and at the end rolls back to
//! the previous version and checks a fresh reader gets it.
//!
//! `--unsafe-publish` (for the test that shows the checks can fail) publishes the way the
//! recipe must not: the counter first, then the version node, then the files one by one.
//!
//! The tree under `--path` (default `/multi-version-files`) is reset at start and left in place
//! at the end for inspection. The run prints one `summary:` line and exits 0 only if no reader
//! saw a half-published version, no pinned version was archived, and the rollback worked.
//!
//! ```text
//! cargo run -p ferrokeeper-examples --bin multi_version_files -- --server 127.0.0.1:2181
//! ```

use clap::Parser;
use client::{Client, CreateOptions};
use rand::Rng;
use recipes::{Pinned, VersionedStore};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Command line.
#[derive(Debug, Parser)]
#[command(about = "Readers pin whole versions of a file set while a writer publishes new ones")]
struct Cli {
    /// Connect string of the ensemble, e.g. `127.0.0.1:2181`.
    #[arg(long, default_value = "127.0.0.1:2181")]
    server: String,
    /// Number of concurrent reader sessions.
    #[arg(long, default_value_t = 4)]
    readers: usize,
    /// Number of versions the writer publishes (at least 2, for the rollback).
    #[arg(long, default_value_t = 20)]
    versions: u64,
    /// Root node of the case study (reset at start).
    #[arg(long, default_value = "/multi-version-files")]
    path: String,
    /// Publish non-atomically (counter first, then the nodes one by one), to show that the
    /// readers' checks catch a half-published version. For tests only.
    #[arg(long, hide = true)]
    unsafe_publish: bool,
}

/// What the readers observed.
#[derive(Debug, Default)]
struct Tally {
    reads: AtomicU64,
    torn: AtomicU64,
    lost_pins: AtomicU64,
}

/// How many files version `n` has (varies, so a reader cannot assume a count).
fn file_count(n: u64) -> u64 {
    3 + n % 4
}

/// Version `n`'s manifest: the version node's data.
fn manifest(n: u64) -> Vec<u8> {
    format!("version {n} files {}", file_count(n)).into_bytes()
}

/// FNV-1a (64 bits): a checksum small enough to write out by hand in a checker.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Version `n`'s files, `(name, contents)`: each `v<n>:<i>/<k>:<sum>:<payload>`, where `sum`
/// is the FNV-1a of the payloads joined by newlines.
fn files(n: u64) -> Vec<(String, Vec<u8>)> {
    let k = file_count(n);
    let payloads: Vec<String> = (0..k).map(|i| format!("part-{i}-of-v{n}")).collect();
    let sum = fnv1a(payloads.join("\n").as_bytes());
    payloads
        .iter()
        .enumerate()
        .map(|(i, p)| {
            (
                format!("part-{i}"),
                format!("v{n}:{i}/{k}:{sum:016x}:{p}").into_bytes(),
            )
        })
        .collect()
}

/// True if `got` (the files a reader read under a pin of version `n`) is exactly version `n`'s
/// file set.
fn is_whole(n: u64, got: &[(String, Vec<u8>)]) -> bool {
    got == files(n).as_slice()
}

/// Deletes `path` and everything below it (absent: nothing to do).
async fn delete_tree(zk: &Client, path: &str) -> Result<(), client::Error> {
    let mut all = vec![path.to_string()];
    let mut i = 0;
    while i < all.len() {
        match zk.get_children(&all[i]).await {
            Ok(children) => {
                let parent = all[i].clone();
                all.extend(children.into_iter().map(|c| format!("{parent}/{c}")));
            }
            Err(client::Error::NoNode) => {}
            Err(e) => return Err(e),
        }
        i += 1;
    }
    // Children were appended after their parents: delete in reverse.
    for p in all.iter().rev() {
        match zk.delete(p, None).await {
            Ok(()) | Err(client::Error::NoNode) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads every file of the pinned version, one at a time with a pause between reads.
async fn read_files(pin: &Pinned) -> Result<Vec<(String, Vec<u8>)>, recipes::Error> {
    let mut got = Vec::new();
    for name in pin.files().await? {
        let pause = rand::rng().random_range(1..=5);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        got.push((name.clone(), pin.read_file(&name).await?));
    }
    Ok(got)
}

/// One reader: pin, read the files, report them, check still live, unpin, until told to stop.
async fn reader(
    zk: Client,
    store: VersionedStore,
    stop: Arc<AtomicBool>,
    tally: Arc<Tally>,
) -> Result<(), recipes::Error> {
    loop {
        let last_round = stop.load(Ordering::SeqCst);
        let pin = match store.pin().await {
            Ok(pin) => pin,
            // The counter names a version whose node is missing: only an unsafe publish does.
            Err(recipes::Error::Malformed { reason, .. }) => {
                println!("observed unpublished {reason}");
                tally.torn.fetch_add(1, Ordering::SeqCst);
                if last_round {
                    break;
                }
                continue;
            }
            Err(e) => return Err(e),
        };
        if let Some(pin) = pin {
            let got = read_files(&pin).await?;
            let mut line = format!("observed pinned={}", pin.version());
            for (name, contents) in &got {
                line.push_str(&format!(" {name}={}", String::from_utf8_lossy(contents)));
            }
            println!("{line}");
            if !is_whole(pin.version(), &got) {
                tally.torn.fetch_add(1, Ordering::SeqCst);
                eprintln!("torn read of version {}", pin.version());
            }
            let work = rand::rng().random_range(5..=40);
            tokio::time::sleep(Duration::from_millis(work)).await;
            let live = zk
                .exists(&store.version_path(pin.version()))
                .await
                .map_err(recipes::Error::from)?;
            if live.is_none() {
                tally.lost_pins.fetch_add(1, Ordering::SeqCst);
                eprintln!("version {} archived while pinned", pin.version());
            }
            tally.reads.fetch_add(1, Ordering::SeqCst);
            pin.unpin().await?;
        }
        if last_round {
            break;
        }
    }
    zk.close().await.map_err(recipes::Error::from)
}

/// Publishes version `n` through the recipe: one `multi` for the counter and every node.
async fn publish(store: &VersionedStore, n: u64) -> Result<u64, recipes::Error> {
    let owned = files(n);
    let borrowed: Vec<(&str, &[u8])> = owned
        .iter()
        .map(|(name, contents)| (name.as_str(), contents.as_slice()))
        .collect();
    store.publish_files(&manifest(n), &borrowed).await
}

/// Publishes version `n` the wrong way (`--unsafe-publish`): moves the counter (its documented
/// layout: current and latest as two big-endian `i64`) before the version's nodes exist, then
/// creates them one by one, pausing between steps so readers can see the gap.
async fn publish_unsafely(
    zk: &Client,
    store: &VersionedStore,
    n: u64,
) -> Result<u64, client::Error> {
    let mut counter = Vec::with_capacity(16);
    counter.extend_from_slice(&(n as i64).to_be_bytes());
    counter.extend_from_slice(&(n as i64).to_be_bytes());
    zk.set_data(&format!("{}/current", store.path()), &counter, None)
        .await?;
    let persistent = CreateOptions::persistent();
    tokio::time::sleep(Duration::from_millis(30)).await;
    zk.create(&store.version_path(n), &manifest(n), &persistent)
        .await?;
    for (name, contents) in files(n) {
        tokio::time::sleep(Duration::from_millis(15)).await;
        zk.create(&store.file_path(n, &name), &contents, &persistent)
            .await?;
    }
    Ok(n)
}

/// The whole run; the summary line and whether everything held.
async fn run(cli: &Cli) -> Result<(String, bool), Box<dyn std::error::Error>> {
    if cli.versions < 2 {
        return Err("--versions must be at least 2 (the run ends with a rollback)".into());
    }
    let zk = Client::connect(&cli.server).await?;
    delete_tree(&zk, &cli.path).await?;
    let writer = VersionedStore::new(zk.clone(), &cli.path)?;
    publish(&writer, 1).await?;

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let mut readers = Vec::new();
    for _ in 0..cli.readers {
        let rz = Client::connect(&cli.server).await?;
        let store = VersionedStore::new(rz.clone(), &cli.path)?;
        readers.push(tokio::spawn(reader(rz, store, stop.clone(), tally.clone())));
    }

    let mut archived = 0usize;
    let mut kept_pinned = 0usize;
    for n in 2..=cli.versions {
        let published = if cli.unsafe_publish {
            publish_unsafely(&zk, &writer, n).await?
        } else {
            publish(&writer, n).await?
        };
        if published != n {
            return Err(format!("published version {published}, expected {n}").into());
        }
        // Never right after the last publish: the one before must stay live for the rollback.
        if n % 4 == 0 && n < cli.versions {
            let report = writer.archive().await?;
            archived += report.archived.len();
            kept_pinned += report.pinned.len();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for r in readers {
        r.await??;
    }

    let back_to = cli.versions - 1;
    writer.rollback(back_to).await?;
    let fresh_zk = Client::connect(&cli.server).await?;
    let fresh = VersionedStore::new(fresh_zk.clone(), &cli.path)?;
    let rollback_ok = match fresh.pin().await? {
        Some(pin) => {
            let ok = pin.version() == back_to && is_whole(back_to, &read_files(&pin).await?);
            pin.unpin().await?;
            ok
        }
        None => false,
    };
    fresh_zk.close().await?;
    let report = writer.archive().await?;
    archived += report.archived.len();
    kept_pinned += report.pinned.len();
    let live: Vec<String> = writer
        .versions()
        .await?
        .iter()
        .map(u64::to_string)
        .collect();
    let live = live.join(",");
    let current = writer.current().await?.unwrap_or(0);
    zk.close().await?;

    let torn = tally.torn.load(Ordering::SeqCst);
    let lost = tally.lost_pins.load(Ordering::SeqCst);
    let summary = format!(
        "summary: readers={} versions={} reads={} torn={torn} lost_pins={lost} \
         archived={archived} kept_pinned={kept_pinned} live={live} current={current} \
         rollback={}",
        cli.readers,
        cli.versions,
        tally.reads.load(Ordering::SeqCst),
        if rollback_ok { "ok" } else { "failed" },
    );
    Ok((summary, torn == 0 && lost == 0 && rollback_ok))
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli).await {
        Ok((summary, ok)) => {
            println!("{summary}");
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("multi_version_files: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_sets_check_whole_versions_only() {
        assert!(is_whole(5, &files(5)));
        assert!(!is_whole(6, &files(5)));
        let mut mixed = files(5);
        mixed[1] = files(6)[1].clone();
        assert!(!is_whole(5, &mixed));
        assert!(!is_whole(5, &files(5)[..2]));
        assert_eq!(files(5).len() as u64, file_count(5));
    }
}
