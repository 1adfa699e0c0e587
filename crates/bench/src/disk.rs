//! The disk's own write latency: what one small append plus `fdatasync` costs on the file system
//! a server's log lives on. A durable server cannot answer a single client's write faster than
//! this, so it is the yardstick for single-client write latency.

use crate::stats::{Percentiles, Samples};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

/// Appends `size` bytes and calls `fdatasync`, `count` times, in a scratch file under `dir`
/// (removed afterwards); the latency of each append-and-sync in milliseconds.
pub fn fdatasync_latency(dir: &Path, count: usize, size: usize) -> std::io::Result<Percentiles> {
    let path = dir.join(format!(".ferrokeeper-fsync-probe-{}", std::process::id()));
    let result = probe(&path, count, size);
    let _ = std::fs::remove_file(&path);
    result
}

fn probe(path: &Path, count: usize, size: usize) -> std::io::Result<Percentiles> {
    let mut file = OpenOptions::new()
        .create_new(true)
        .append(true)
        .open(path)?;
    // The file is created and its metadata synced first, so the samples measure appends to an
    // existing log, as a server's steady state does.
    file.sync_all()?;
    let record = vec![0x5a_u8; size];
    let mut samples = Samples::default();
    for _ in 0..count {
        let began = Instant::now();
        file.write_all(&record)?;
        file.sync_data()?;
        samples.record(began.elapsed().as_micros() as u64);
    }
    Ok(samples.summary())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_every_append_and_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = fdatasync_latency(dir.path(), 20, 512).unwrap();
        assert!(p.p50 > 0.0 && p.p50 <= p.max, "{p:?}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
