//! The disk's own write latency: what one small log write plus `fdatasync` costs on the file
//! system a server's log lives on. A durable server cannot answer a single client's write faster
//! than this, so it is the yardstick for single-client write latency; the durable round trip adds
//! the one loopback request and reply no server can avoid either.
//!
//! The writes go into a file already sized to hold them, as both servers' logs are (ZooKeeper pads
//! its log files ahead of the writes, Ferrokeeper reserves its segments), so each sync commits the
//! data and no change of file size: on the reference machine an appending write's sync took
//! 0.15–0.17 ms and one inside the file 0.10–0.12 ms, and the floor is the cheaper one.

use crate::stats::{Percentiles, Samples};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Bytes of the durable round trip's answer: a setData reply (header and stat) is about this.
const REPLY_BYTES: usize = 84;

/// Writes `size` bytes and calls `fdatasync`, `count` times, one after the other in a scratch
/// log file under `dir` (removed afterwards); the latency of each write-and-sync in milliseconds.
pub fn fdatasync_latency(dir: &Path, count: usize, size: usize) -> io::Result<Percentiles> {
    with_scratch_log(dir, "fsync", count * size, |file| {
        let record = vec![0x5a_u8; size];
        let mut samples = Samples::default();
        for _ in 0..count {
            let began = Instant::now();
            file.write_all(&record)?;
            file.sync_data()?;
            samples.record(began.elapsed().as_micros() as u64);
        }
        Ok(samples.summary())
    })
}

/// The least a durable server's single client can wait for a write, `count` times: a `size`-byte
/// request over loopback TCP to a thread that writes it to a scratch log file under `dir`, calls
/// `fdatasync` and answers, with nothing else in between (no parsing, no hand-off to another
/// thread). Latency in milliseconds, from sending the request until the reply is read.
pub fn durable_round_trip(dir: &Path, count: usize, size: usize) -> io::Result<Percentiles> {
    with_scratch_log(dir, "round-trip", count * size, |file| {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let mut client = TcpStream::connect(listener.local_addr()?)?;
        let (server, _) = listener.accept()?;
        client.set_nodelay(true)?;
        server.set_nodelay(true)?;
        let log = file.try_clone()?;
        let answering = std::thread::spawn(move || answer_durably(server, log, size));
        let request = vec![0x5a_u8; size];
        let mut reply = [0u8; REPLY_BYTES];
        let mut samples = Samples::default();
        for _ in 0..count {
            let began = Instant::now();
            client.write_all(&request)?;
            client.read_exact(&mut reply)?;
            samples.record(began.elapsed().as_micros() as u64);
        }
        drop(client);
        answering
            .join()
            .map_err(|_| io::Error::other("the answering thread panicked"))??;
        Ok(samples.summary())
    })
}

/// The round trip's server: every request made durable, then answered, until the client leaves.
fn answer_durably(mut conn: TcpStream, mut log: File, size: usize) -> io::Result<()> {
    let mut request = vec![0u8; size];
    let reply = [0u8; REPLY_BYTES];
    loop {
        match conn.read_exact(&mut request) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e),
        }
        log.write_all(&request)?;
        log.sync_data()?;
        conn.write_all(&reply)?;
    }
}

/// Runs `probe` on a new scratch log file under `dir`, removed afterwards. The file is sized for
/// `bytes` and its metadata synced first, so samples measure writes into an existing log, as a
/// server's steady state does.
fn with_scratch_log<T>(
    dir: &Path,
    what: &str,
    bytes: usize,
    probe: impl FnOnce(&mut File) -> io::Result<T>,
) -> io::Result<T> {
    let path: PathBuf = dir.join(format!(".ferrokeeper-{what}-probe-{}", std::process::id()));
    let result = OpenOptions::new()
        .create_new(true)
        .write(true)
        .open(&path)
        .and_then(|mut file| {
            file.set_len(bytes as u64)?;
            file.sync_all()?;
            probe(&mut file)
        });
    let _ = std::fs::remove_file(&path);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a probe in a fresh directory: it measures something and leaves no file behind.
    fn probe_leaves_no_file(probe: impl FnOnce(&Path) -> io::Result<Percentiles>) {
        let dir = tempfile::tempdir().unwrap();
        let p = probe(dir.path()).unwrap();
        assert!(p.p50 > 0.0 && p.p50 <= p.max, "{p:?}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn measures_every_write_and_leaves_no_file() {
        probe_leaves_no_file(|dir| fdatasync_latency(dir, 20, 512));
    }

    #[test]
    fn durable_round_trip_answers_every_request_and_leaves_no_file() {
        probe_leaves_no_file(|dir| durable_round_trip(dir, 20, 1024));
    }
}
