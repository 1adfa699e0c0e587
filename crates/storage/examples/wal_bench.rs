//! Measures append + sync throughput and fdatasync latency on the disk holding `--dir`
//! (default: a temporary directory under the current directory).
//!
//! `cargo run --release --example wal_bench -p storage -- [--dir PATH] [--secs S]`
//!
//! Prints numbers; asserts nothing about them.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use storage::fs::{std_fs, OpenMode};
use storage::wal::{Wal, WalOptions};

struct Args {
    dir: Option<PathBuf>,
    secs: f64,
}

fn args() -> Args {
    let mut out = Args {
        dir: None,
        secs: 1.5,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--dir" => out.dir = it.next().map(PathBuf::from),
            "--secs" => out.secs = it.next().and_then(|s| s.parse().ok()).unwrap_or(out.secs),
            other => {
                eprintln!("unknown argument {other}; usage: wal_bench [--dir PATH] [--secs S]");
                std::process::exit(2);
            }
        }
    }
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn us(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1e6)
}

/// Raw cost of one 4 KiB write + fdatasync, appending to a file (no WAL in between).
fn raw_fdatasync(dir: &std::path::Path, budget: Duration) {
    let fs = std_fs();
    let path = dir.join("raw-fdatasync");
    let file = fs
        .open(&path, OpenMode::CreateTruncate)
        .expect("create bench file");
    let block = vec![0xa5u8; 4096];
    let mut lat = Vec::new();
    let start = Instant::now();
    let mut off = 0u64;
    while start.elapsed() < budget {
        file.write_at(&block, off).expect("write");
        off += block.len() as u64;
        let t = Instant::now();
        file.sync_data().expect("fdatasync");
        lat.push(t.elapsed());
    }
    lat.sort();
    println!(
        "raw 4 KiB append + fdatasync: {} syncs, p50 {} us, p99 {} us, max {} us, {:.0} syncs/s",
        lat.len(),
        us(percentile(&lat, 0.5)),
        us(percentile(&lat, 0.99)),
        us(*lat.last().unwrap_or(&Duration::ZERO)),
        lat.len() as f64 / start.elapsed().as_secs_f64()
    );
    let _ = fs.remove_file(&path);
}

fn wal_run(dir: &std::path::Path, batch: usize, size: usize, preallocate: bool, budget: Duration) {
    let sub = dir.join(format!("wal-b{batch}-s{size}-p{preallocate}"));
    let options = WalOptions {
        preallocate,
        ..WalOptions::default()
    };
    let (mut wal, _) = Wal::open(&sub, options).expect("open wal");
    let payload = vec![0x5au8; size];
    let mut index = 1u64;
    let mut sync_lat = Vec::new();
    let mut records = 0u64;
    let start = Instant::now();
    while start.elapsed() < budget {
        let batch_refs: Vec<(u64, &[u8])> = (0..batch as u64)
            .map(|k| (index + k, payload.as_slice()))
            .collect();
        wal.append(&batch_refs).expect("append");
        let t = Instant::now();
        wal.sync().expect("sync");
        sync_lat.push(t.elapsed());
        index += batch as u64;
        records += batch as u64;
    }
    let secs = start.elapsed().as_secs_f64();
    sync_lat.sort();
    println!(
        "{:>6} {:>7} {:>8} {:>11.0} {:>8.1} {:>8.0} {:>8} {:>8} {:>9}",
        batch,
        size,
        if preallocate { "yes" } else { "no" },
        records as f64 / secs,
        records as f64 * size as f64 / secs / (1 << 20) as f64,
        sync_lat.len() as f64 / secs,
        us(percentile(&sync_lat, 0.5)),
        us(percentile(&sync_lat, 0.99)),
        wal.segments().len(),
    );
    drop(wal);
    let _ = std::fs::remove_dir_all(&sub);
}

fn main() {
    let args = args();
    let holder;
    let dir = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d).expect("create --dir");
            d.clone()
        }
        None => {
            holder = tempfile::tempdir_in(".").expect("temp dir in the current directory");
            holder.path().to_path_buf()
        }
    };
    let budget = Duration::from_secs_f64(args.secs);
    println!("directory: {}", dir.display());
    raw_fdatasync(&dir, budget);
    println!();
    println!(" batch  rec(B) prealloc   records/s     MiB/s   syncs/s  p50(us)  p99(us)  segments");
    for &(batch, size) in &[(1, 256), (8, 256), (64, 256), (512, 256), (16, 65536)] {
        for preallocate in [false, true] {
            wal_run(&dir, batch, size, preallocate, budget);
        }
    }
}
