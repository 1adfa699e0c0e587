//! Multi-version files case study: a writer keeps publishing new versions of a set of files
//! while readers keep reading them, through [`recipes::VersionedStore`].
//!
//! Each version's data is a manifest (`version N files K` and then K lines `part-I@vN`), so a
//! reader can tell a whole version from a torn or mixed one. Readers run in their own sessions:
//! each pins the current version, checks its manifest, "reads the files" for a few
//! milliseconds, checks the version was not archived under it, and unpins. The writer publishes
//! `--versions` versions (each in one atomic `multi`), archives unpinned old versions every few
//! publishes, and at the end rolls back to the previous version and checks a fresh reader gets
//! it.
//!
//! The tree under `--path` (default `/multi-version-files`) is reset at start and left in place
//! at the end for inspection. The run prints one `summary:` line and exits 0 only if no reader
//! saw a half-published version, no pinned version was archived, and the rollback worked.
//!
//! ```text
//! cargo run -p ferrokeeper-examples --bin multi_version_files -- --server 127.0.0.1:2181
//! ```

use clap::Parser;
use client::Client;
use rand::Rng;
use recipes::VersionedStore;
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
}

/// What the readers observed.
#[derive(Debug, Default)]
struct Tally {
    reads: AtomicU64,
    torn: AtomicU64,
    lost_pins: AtomicU64,
}

/// Version `n`'s manifest: a header and `3 + n % 4` file lines naming the version.
fn manifest(n: u64) -> Vec<u8> {
    let files = 3 + n % 4;
    let mut text = format!("version {n} files {files}\n");
    for i in 0..files {
        text.push_str(&format!("part-{i}@v{n}\n"));
    }
    text.into_bytes()
}

/// True if `data` is exactly version `n`'s manifest (one check per line, to say what is wrong
/// rather than only comparing with `manifest(n)`).
fn is_whole(n: u64, data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        return false;
    };
    let want_header = format!("version {n} files {}", 3 + n % 4);
    let files: Vec<&str> = lines.collect();
    header == want_header
        && files.len() as u64 == 3 + n % 4
        && files
            .iter()
            .enumerate()
            .all(|(i, l)| *l == format!("part-{i}@v{n}"))
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

/// One reader: pin, check, read, check still live, unpin, until told to stop.
async fn reader(
    zk: Client,
    store: VersionedStore,
    stop: Arc<AtomicBool>,
    tally: Arc<Tally>,
) -> Result<(), recipes::Error> {
    loop {
        let last_round = stop.load(Ordering::SeqCst);
        if let Some(pin) = store.pin().await? {
            if !is_whole(pin.version(), pin.data()) {
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

/// The whole run; the summary line and whether everything held.
async fn run(cli: &Cli) -> Result<(String, bool), Box<dyn std::error::Error>> {
    if cli.versions < 2 {
        return Err("--versions must be at least 2 (the run ends with a rollback)".into());
    }
    let zk = Client::connect(&cli.server).await?;
    delete_tree(&zk, &cli.path).await?;
    let writer = VersionedStore::new(zk.clone(), &cli.path)?;
    writer.publish(&manifest(1)).await?;

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
        let published = writer.publish(&manifest(n)).await?;
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
    let rollback_ok = match fresh.read().await? {
        Some((v, data)) => v == back_to && is_whole(v, &data),
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
    fn manifests_check_whole_versions_only() {
        assert!(is_whole(5, &manifest(5)));
        assert!(!is_whole(6, &manifest(5)));
        let mut mixed = manifest(5);
        mixed.extend_from_slice(b"part-9@v6\n");
        assert!(!is_whole(5, &mixed));
        assert!(!is_whole(5, &manifest(5)[..10]));
    }
}
