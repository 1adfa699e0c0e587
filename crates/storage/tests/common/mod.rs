//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use storage::fs::{FileSystem, MemFs};
use storage::wal::{Record, Recovery, Wal, WalOptions};

/// A deterministic, never-empty-free payload for record `index`: bytes are never zero, so zero
/// fill cannot accidentally complete a cut record.
pub fn payload(index: u64) -> Vec<u8> {
    let len = (index * 37 % 200) as usize;
    (0..len)
        .map(|k| (((index as usize) * 31 + k * 7) % 255 + 1) as u8)
        .collect()
}

pub fn options(segment_size: u64) -> WalOptions {
    WalOptions {
        segment_size,
        ..WalOptions::default()
    }
}

/// Options with segments preallocated, as the server writes its log.
pub fn preallocated(segment_size: u64) -> WalOptions {
    WalOptions {
        preallocate: true,
        ..options(segment_size)
    }
}

pub fn mem_options(fs: &MemFs, segment_size: u64) -> WalOptions {
    WalOptions {
        segment_size,
        preallocate: false,
        fs: Arc::new(fs.clone()) as Arc<dyn FileSystem>,
        covered_through: None,
    }
}

/// Appends records `from..=to` with [`payload`], in batches of `batch`, syncing each batch.
pub fn append_synced(wal: &mut Wal, from: u64, to: u64, batch: usize) {
    let all: Vec<(u64, Vec<u8>)> = (from..=to).map(|i| (i, payload(i))).collect();
    for chunk in all.chunks(batch) {
        let refs: Vec<(u64, &[u8])> = chunk.iter().map(|(i, p)| (*i, p.as_slice())).collect();
        wal.append(&refs).unwrap();
        wal.sync().unwrap();
    }
}

/// Every record of the log, read through the iterator.
pub fn all_records(wal: &Wal) -> Vec<Record> {
    match wal.first_index() {
        Some(first) => wal
            .entries(first)
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap(),
        None => Vec::new(),
    }
}

/// Asserts the log holds exactly `from..=to` with [`payload`].
pub fn assert_holds(wal: &Wal, from: u64, to: u64) {
    let got = all_records(wal);
    let want: Vec<Record> = (from..=to)
        .map(|i| Record {
            index: i,
            payload: payload(i),
        })
        .collect();
    assert_eq!(got.len(), want.len(), "record count");
    assert_eq!(got, want);
}

pub fn reopen(dir: &Path, options: WalOptions) -> (Wal, Recovery) {
    Wal::open(dir, options).unwrap()
}

/// Byte offset of each record's frame in a segment holding `first..=last` written with
/// [`payload`] (the frames follow the 32-byte header back to back).
pub fn frame_offsets(first: u64, last: u64) -> Vec<u64> {
    let mut at = storage::wal::SEGMENT_HEADER_LEN;
    let mut out = Vec::new();
    for i in first..=last {
        out.push(at);
        at += storage::wal::RECORD_HEADER_LEN + payload(i).len() as u64;
    }
    out
}
