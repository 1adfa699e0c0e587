//! Snapshot files: streaming round trip, corruption detection, retention, crash behaviour.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

use storage::fs::{std_fs, Crash, FileSystem, MemFs, SharedFs};
use storage::snapshot::{SnapshotReader, SnapshotStore, HEADER_LEN, TRAILER_LEN};
use storage::{Corruption, Error};

/// Compressible but not trivial: text-like runs with a counter mixed in.
fn state(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut i = 0u64;
    while out.len() < len {
        out.extend_from_slice(format!("/app/node-{:08}\u{0}data-{}|", i, i * i % 9973).as_bytes());
        i += 1;
    }
    out.truncate(len);
    out
}

fn write_snapshot(store: &SnapshotStore, index: u64, data: &[u8]) -> storage::SnapshotInfo {
    let mut w = store.create(index).unwrap();
    // Uneven chunks, as a serialiser would produce.
    let mut rest = data;
    let mut n = 1;
    while !rest.is_empty() {
        let take = n.min(rest.len());
        w.write(&rest[..take]).unwrap();
        rest = &rest[take..];
        n = n * 3 % 70_001 + 1;
    }
    assert_eq!(w.bytes_written(), data.len() as u64);
    w.finish().unwrap()
}

#[test]
fn round_trip_streams_and_compresses() {
    let dir = tempfile::tempdir().unwrap();
    let store = SnapshotStore::open(std_fs(), dir.path()).unwrap();
    let data = state(3 << 20);
    let info = write_snapshot(&store, 0x1234, &data);
    assert_eq!(info.index, 0x1234);
    assert_eq!(info.path, dir.path().join("snapshot.0000000000001234"));
    let on_disk = std::fs::metadata(&info.path).unwrap().len();
    assert!(
        on_disk < data.len() as u64 / 3,
        "{on_disk} bytes on disk for {}",
        data.len()
    );

    let mut reader = SnapshotReader::open(&info.path).unwrap();
    assert_eq!(
        (reader.index(), reader.expected_len()),
        (0x1234, data.len() as u64)
    );
    let mut back = Vec::new();
    reader.read_to_end(&mut back).unwrap();
    assert!(back == data);
    assert_eq!(store.reader(&info).unwrap().read_all().unwrap(), data);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "no temp file left: {names:?}");
}

#[test]
fn empty_snapshot_and_io_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = SnapshotStore::open(std_fs(), dir.path())
        .unwrap()
        .with_level(1);
    let info = store.create(0).unwrap().finish().unwrap();
    assert!(store.reader(&info).unwrap().read_all().unwrap().is_empty());
    let mut w = store.create(1).unwrap();
    write!(w, "hello {}", 42).unwrap();
    let info = w.finish().unwrap();
    assert_eq!(
        store.reader(&info).unwrap().read_all().unwrap(),
        b"hello 42"
    );
}

fn read_err(path: &Path) -> Error {
    match SnapshotReader::open(path) {
        Err(e) => e,
        Ok(r) => match r.read_all() {
            Err(e) => e,
            Ok(data) => panic!("corruption not detected; read {} bytes", data.len()),
        },
    }
}

#[test]
fn every_flipped_byte_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let store = SnapshotStore::open(std_fs(), dir.path()).unwrap();
    let data = state(20_000);
    let info = write_snapshot(&store, 9, &data);
    let pristine = std::fs::read(&info.path).unwrap();
    let len = pristine.len();
    for at in 0..len {
        let mut bytes = pristine.clone();
        bytes[at] ^= 0x04;
        std::fs::write(&info.path, &bytes).unwrap();
        let err = read_err(&info.path);
        let names_file = match &err {
            Error::Corrupt { path, .. }
            | Error::SnapshotCorrupt { path, .. }
            | Error::SnapshotChecksum { path, .. } => path == &info.path,
            other => panic!("byte {at}: unexpected error {other}"),
        };
        assert!(names_file, "byte {at}: {err}");
        if let Error::SnapshotCorrupt { offset, .. } = &err {
            assert!(
                *offset >= at as u64,
                "byte {at}: the damage must lie at or before the reported offset: {err}"
            );
        }
        if (at as u64) < HEADER_LEN || at as u64 >= len as u64 - TRAILER_LEN {
            assert!(
                matches!(err, Error::Corrupt { .. }),
                "byte {at}: header and trailer are checked at open: {err}"
            );
        }
    }
}

#[test]
fn a_wrong_trailer_checksum_is_a_checksum_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = SnapshotStore::open(std_fs(), dir.path()).unwrap();
    let info = write_snapshot(&store, 5, &state(5000));
    let mut bytes = std::fs::read(&info.path).unwrap();
    // Rewrite the trailer with a different data CRC but a valid trailer CRC, so only the
    // end-of-stream comparison can notice.
    let t = bytes.len() - TRAILER_LEN as usize;
    bytes[t + 16] ^= 0xff;
    let c = crc32c::crc32c(&bytes[t..t + 28]);
    bytes[t + 28..].copy_from_slice(&c.to_le_bytes());
    std::fs::write(&info.path, &bytes).unwrap();
    let err = read_err(&info.path);
    assert!(
        matches!(&err, Error::SnapshotChecksum { path, actual_len: 5000, .. } if path == &info.path),
        "{err}"
    );
    assert!(err.to_string().contains(&info.path.display().to_string()));

    // Through io::Read the same error comes back as InvalidData.
    let mut r = SnapshotReader::open(&info.path).unwrap();
    let io_err = r.read_to_end(&mut Vec::new()).unwrap_err();
    assert_eq!(io_err.kind(), std::io::ErrorKind::InvalidData);
}

#[test]
fn truncated_and_misnamed_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = SnapshotStore::open(std_fs(), dir.path()).unwrap();
    let info = write_snapshot(&store, 5, &state(5000));
    let bytes = std::fs::read(&info.path).unwrap();
    std::fs::write(&info.path, &bytes[..bytes.len() - 10]).unwrap();
    assert!(matches!(
        read_err(&info.path),
        Error::Corrupt {
            reason: Corruption::BadMagic,
            ..
        }
    ));
    std::fs::write(&info.path, &bytes[..40]).unwrap();
    assert!(matches!(
        read_err(&info.path),
        Error::Corrupt {
            reason: Corruption::Truncated,
            ..
        }
    ));
    let renamed = dir.path().join("snapshot.0000000000000006");
    std::fs::write(&renamed, &bytes).unwrap();
    assert!(matches!(
        read_err(&renamed),
        Error::Corrupt {
            reason: Corruption::NameMismatch { name: 6, header: 5 },
            ..
        }
    ));
}

#[test]
fn latest_list_and_retain() {
    let dir = tempfile::tempdir().unwrap();
    let store = SnapshotStore::open(std_fs(), dir.path()).unwrap();
    assert_eq!(store.latest().unwrap(), None);
    for index in [300u64, 10, 0x1000, 45, 46] {
        write_snapshot(&store, index, &state(100));
    }
    std::fs::write(dir.path().join("snapshot.notes"), b"ignored").unwrap();
    let all: Vec<u64> = store.list().unwrap().iter().map(|s| s.index).collect();
    assert_eq!(all, vec![10, 45, 46, 300, 0x1000]);
    assert_eq!(store.latest().unwrap().unwrap().index, 0x1000);
    let removed = store.retain(2).unwrap();
    assert_eq!(removed.len(), 3);
    assert!(removed.iter().all(|p| !p.exists()));
    let all: Vec<u64> = store.list().unwrap().iter().map(|s| s.index).collect();
    assert_eq!(all, vec![300, 0x1000]);
    assert!(store.retain(5).unwrap().is_empty());
    assert!(dir.path().join("snapshot.notes").exists());
}

#[test]
fn unfinished_snapshots_never_appear() {
    let dir = tempfile::tempdir().unwrap();
    let store = SnapshotStore::open(std_fs(), dir.path()).unwrap();
    write_snapshot(&store, 1, b"one");
    let mut w = store.create(2).unwrap();
    w.write(b"partial").unwrap();
    assert_eq!(
        store.latest().unwrap().unwrap().index,
        1,
        "a snapshot being written is not listed"
    );
    drop(w);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "the abandoned temp file is gone"
    );

    // A temp file left by a crashed process is cleaned when the store opens.
    std::fs::write(dir.path().join("snapshot.0000000000000003.tmp"), b"junk").unwrap();
    let store = SnapshotStore::open(std_fs(), dir.path()).unwrap();
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    assert_eq!(store.latest().unwrap().unwrap().index, 1);
}

#[test]
fn only_finished_snapshots_survive_a_crash() {
    let mem = MemFs::new();
    let fs: SharedFs = Arc::new(mem.clone()) as Arc<dyn FileSystem>;
    let store = SnapshotStore::open(fs.clone(), "/snap").unwrap();
    let done = write_snapshot(&store, 10, &state(50_000));
    let mut w = store.create(20).unwrap();
    w.write(&state(50_000)).unwrap();
    mem.crash(Crash::LoseUnsynced);
    std::mem::forget(w); // the process died; nothing runs its destructor

    let store = SnapshotStore::open(fs.clone(), "/snap").unwrap();
    assert_eq!(store.list().unwrap(), vec![done.clone()]);
    assert_eq!(
        store.reader(&done).unwrap().read_all().unwrap(),
        state(50_000)
    );
}
