//! Round trips, segment rollover, reads, truncation and purge on the real file system.

mod common;

use common::*;
use storage::wal::{Wal, WalOptions, MAX_RECORD_LEN};
use storage::Error;

#[test]
fn round_trip_across_segments_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, rec) = Wal::open(dir.path(), options(1024)).unwrap();
    assert_eq!(rec.records, 0);
    assert_eq!(wal.next_index(), None);
    append_synced(&mut wal, 1, 500, 17);
    let segments = wal.segments();
    assert!(segments.len() >= 10, "only {} segments", segments.len());
    for pair in segments.windows(2) {
        assert_eq!(pair[0].first_index + pair[0].records, pair[1].first_index);
        // Only a lone record may push a segment past its size.
        assert!(pair[0].bytes.unwrap() <= 1024 || pair[0].records == 1);
    }
    assert_holds(&wal, 1, 500);
    drop(wal);

    let (wal, rec) = reopen(dir.path(), options(1024));
    assert_eq!(
        (rec.first_index, rec.last_index, rec.records),
        (Some(1), Some(500), 500)
    );
    assert_eq!(rec.segments, segments.len());
    assert_eq!(rec.torn_tail, None);
    assert_holds(&wal, 1, 500);
    assert_eq!(wal.segments(), segments);
    // File names carry the first index in 16 hex digits.
    let name = segments[1]
        .path
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(name, format!("log.{:016x}", segments[1].first_index));
}

#[test]
fn reopen_with_a_different_segment_size_keeps_appending() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::open(dir.path(), options(300)).unwrap();
    append_synced(&mut wal, 10, 60, 5);
    drop(wal);
    let (mut wal, _) = reopen(dir.path(), options(4096));
    append_synced(&mut wal, 61, 120, 60);
    drop(wal);
    let (wal, _) = reopen(dir.path(), WalOptions::default());
    assert_holds(&wal, 10, 120);
}

#[test]
fn preallocated_segments_recover_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let opts = preallocated(4096);
    let (mut wal, _) = Wal::open(dir.path(), opts.clone()).unwrap();
    append_synced(&mut wal, 1, 300, 7);
    let seg = wal.segments()[0].clone();
    drop(wal);
    assert_eq!(
        std::fs::metadata(&seg.path).unwrap().len(),
        4096,
        "segment was preallocated"
    );
    let (mut wal, rec) = reopen(dir.path(), opts.clone());
    assert_eq!(rec.torn_tail, None);
    assert_holds(&wal, 1, 300);
    append_synced(&mut wal, 301, 320, 3);
    drop(wal);
    let (wal, _) = reopen(dir.path(), opts);
    assert_holds(&wal, 1, 320);
}

#[test]
fn read_range_is_half_open_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::open(dir.path(), options(512)).unwrap();
    append_synced(&mut wal, 5, 104, 10);
    let got = wal.read_range(20, 80).unwrap();
    assert_eq!(got.len(), 60);
    assert_eq!(got.first().unwrap().index, 20);
    assert_eq!(got.last().unwrap().index, 79);
    assert!(got.iter().all(|r| r.payload == payload(r.index)));
    assert!(wal.read_range(105, 105).unwrap().is_empty());
    assert!(wal.read_range(5, 105).is_ok());
    for (from, to) in [(4, 10), (100, 106), (50, 40)] {
        assert!(
            matches!(wal.read_range(from, to), Err(Error::OutOfRange { .. })),
            "{from}..{to}"
        );
    }
    assert_eq!(wal.entries(105).unwrap().count(), 0);
    assert_eq!(
        wal.entries(100)
            .unwrap()
            .map(|r| r.unwrap().index)
            .collect::<Vec<_>>(),
        vec![100, 101, 102, 103, 104]
    );
}

#[test]
fn appends_must_be_contiguous_and_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::open(dir.path(), options(512)).unwrap();
    wal.append(&[(7, b"a".as_slice())]).unwrap();
    let err = wal
        .append(&[(8, b"b".as_slice()), (10, b"c".as_slice())])
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::NonContiguous {
                expected: 9,
                found: 10
            }
        ),
        "{err}"
    );
    assert_eq!(wal.last_index(), Some(7), "a rejected batch writes nothing");
    assert!(matches!(
        wal.append(&[(7, b"x".as_slice())]),
        Err(Error::NonContiguous {
            expected: 8,
            found: 7
        })
    ));
    let huge = vec![1u8; MAX_RECORD_LEN as usize + 1];
    assert!(matches!(
        wal.append(&[(8, huge.as_slice())]),
        Err(Error::RecordTooLarge { .. })
    ));
    wal.append(&[]).unwrap();
    wal.append(&[(8, b"".as_slice())]).unwrap();
    wal.sync().unwrap();
    assert_eq!(wal.read_range(8, 9).unwrap()[0].payload, b"");
}

#[test]
fn truncate_after_drops_the_suffix_durably() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::open(dir.path(), options(400)).unwrap();
    append_synced(&mut wal, 1, 200, 9);
    let before = wal.segments().len();
    wal.truncate_after(57).unwrap();
    assert_eq!(wal.last_index(), Some(57));
    assert!(wal.segments().len() < before);
    // Raft then appends the leader's entries at the same indexes.
    wal.append(&[(58, b"new 58".as_slice()), (59, b"new 59".as_slice())])
        .unwrap();
    wal.sync().unwrap();
    drop(wal);

    let (mut wal, _) = reopen(dir.path(), options(400));
    assert_eq!(wal.last_index(), Some(59));
    assert_eq!(wal.read_range(58, 60).unwrap()[0].payload, b"new 58");
    assert_eq!(wal.read_range(1, 58).unwrap().len(), 57);
    // No-ops and limits.
    wal.truncate_after(59).unwrap();
    wal.truncate_after(1000).unwrap();
    assert_eq!(wal.last_index(), Some(59));
    wal.truncate_after(0).unwrap();
    assert_eq!(
        (wal.first_index(), wal.last_index(), wal.next_index()),
        (None, None, Some(1))
    );
    assert_eq!(wal.segments().len(), 1);
    drop(wal);
    let (wal, _) = reopen(dir.path(), options(400));
    assert_eq!((wal.last_index(), wal.next_index()), (None, Some(1)));
}

#[test]
fn truncate_before_first_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::open(dir.path(), options(200)).unwrap();
    append_synced(&mut wal, 1, 100, 10);
    wal.purge_before(50).unwrap();
    let first = wal.first_index().unwrap();
    assert!(first > 1 && first <= 50);
    let err = wal.truncate_after(first - 2).unwrap_err();
    assert!(matches!(err, Error::TruncateBeforeFirst { .. }), "{err}");
    wal.truncate_after(first - 1).unwrap();
    assert_eq!(wal.next_index(), Some(first));
}

#[test]
fn purge_before_deletes_whole_segments_only() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::open(dir.path(), options(300)).unwrap();
    append_synced(&mut wal, 1, 300, 11);
    let segments = wal.segments();
    let target = segments[4].first_index + 1; // inside the fifth segment
    wal.purge_before(target).unwrap();
    assert_eq!(
        wal.first_index(),
        Some(segments[4].first_index),
        "the segment holding {target} stays"
    );
    for gone in &segments[..4] {
        assert!(
            !gone.path.exists(),
            "{} should be deleted",
            gone.path.display()
        );
    }
    assert_holds(&wal, segments[4].first_index, 300);
    wal.purge_before(1).unwrap();
    wal.purge_before(segments[4].first_index).unwrap();
    assert_eq!(wal.first_index(), Some(segments[4].first_index));
    drop(wal);
    let (wal, _) = reopen(dir.path(), options(300));
    assert_holds(&wal, segments[4].first_index, 300);
}

#[test]
fn detached_segments_leave_the_log_at_once_and_are_deleted_later() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::open(dir.path(), options(300)).unwrap();
    append_synced(&mut wal, 1, 300, 11);
    let segments = wal.segments();
    let target = segments[4].first_index + 1;
    let detached = wal.detach_before(target).unwrap();
    let paths: Vec<_> = segments[..4].iter().map(|s| s.path.clone()).collect();
    assert_eq!(
        detached, paths,
        "the four whole segments below, oldest first"
    );
    assert_eq!(wal.first_index(), Some(segments[4].first_index));
    assert!(paths.iter().all(|p| p.exists()), "nothing deleted yet");
    // The log keeps working meanwhile, and a restart before the deletion sees a longer, still
    // contiguous log.
    append_synced(&mut wal, 301, 310, 11);
    drop(wal);
    let (mut wal, _) = reopen(dir.path(), options(300));
    assert_eq!(wal.first_index(), Some(1));
    assert_holds(&wal, 1, 310);
    assert_eq!(wal.detach_before(target).unwrap(), paths);
    // A crash after the first rename leaves a `.tmp` file, which the next open deletes.
    let remover = wal.remover();
    remover.remove(&paths[..1]).unwrap();
    std::fs::rename(&paths[1], format!("{}.tmp", paths[1].display())).unwrap();
    remover.remove(&paths[2..]).unwrap();
    assert!(paths.iter().all(|p| !p.exists()));
    drop(wal);
    let (wal, rec) = reopen(dir.path(), options(300));
    assert_eq!(rec.first_index, Some(segments[4].first_index));
    assert_holds(&wal, segments[4].first_index, 310);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // Past the last record it purges in place, as purge_before does.
    let mut wal = wal;
    assert!(wal.detach_before(10_000).unwrap().is_empty());
    assert_eq!(wal.next_index(), Some(10_000));
}

#[test]
fn purge_past_the_end_empties_the_log_and_sets_the_next_index() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::open(dir.path(), options(300)).unwrap();
    append_synced(&mut wal, 1, 40, 8);
    wal.purge_before(1000).unwrap();
    assert_eq!(
        (wal.first_index(), wal.last_index(), wal.next_index()),
        (None, None, Some(1000))
    );
    assert_eq!(wal.segments().len(), 1);
    assert!(matches!(
        wal.append(&[(41, b"x".as_slice())]),
        Err(Error::NonContiguous { expected: 1000, .. })
    ));
    drop(wal);
    let (mut wal, _) = reopen(dir.path(), options(300));
    assert_eq!(wal.next_index(), Some(1000));
    append_synced(&mut wal, 1000, 1010, 4);
    assert_holds(&wal, 1000, 1010);

    // On a log never written, purge sets where it starts.
    let fresh = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::open(fresh.path(), options(300)).unwrap();
    wal.purge_before(77).unwrap();
    drop(wal);
    let (wal, _) = reopen(fresh.path(), options(300));
    assert_eq!(wal.next_index(), Some(77));
}

#[test]
fn leftovers_of_interrupted_operations_are_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::open(dir.path(), options(300)).unwrap();
    append_synced(&mut wal, 1, 60, 6);
    drop(wal);
    // An unfinished rollover...
    let tmp = dir.path().join(format!("log.{:016x}.tmp", 61));
    std::fs::write(&tmp, b"half a header").unwrap();
    // ...an unrelated file, which is left alone...
    std::fs::write(dir.path().join("vote"), b"not a segment").unwrap();
    // ...and a purge past the end that created its new segment but deleted nothing yet.
    let mut header = Vec::new();
    header.extend_from_slice(b"FKWALSEG");
    header.extend_from_slice(&1u32.to_le_bytes());
    header.extend_from_slice(&0u32.to_le_bytes());
    header.extend_from_slice(&500u64.to_le_bytes());
    header.extend_from_slice(&crc32c::crc32c(&header).to_le_bytes());
    header.extend_from_slice(&0u32.to_le_bytes());
    std::fs::write(dir.path().join(format!("log.{:016x}", 500)), &header).unwrap();

    let (wal, rec) = reopen(dir.path(), options(300));
    assert_eq!(rec.removed_temp_files, vec![tmp.clone()]);
    assert!(!tmp.exists());
    assert!(rec.finished_purge.len() >= 2, "{:?}", rec.finished_purge);
    assert_eq!((wal.last_index(), wal.next_index()), (None, Some(500)));
    assert!(dir.path().join("vote").exists());
}
