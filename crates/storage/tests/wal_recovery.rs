//! Recovery: torn tails are cut and reported, corruption anywhere else is an error naming the file
//! and the byte offset, and no input makes `open` panic.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use proptest::prelude::*;
use storage::fs::MemFs;
use storage::wal::{Wal, WalOptions};
use storage::{Corruption, Error};

/// Writes records `1..=last` synced, closes the log, returns the last segment's path and the
/// offset of the last record's frame in it.
fn written_log(dir: &Path, last: u64, segment_size: u64) -> (PathBuf, u64) {
    let (mut wal, _) = Wal::open(dir, options(segment_size)).unwrap();
    append_synced(&mut wal, 1, last, 3);
    let seg = wal.segments().pop().unwrap();
    let offsets = frame_offsets(seg.first_index, last);
    (seg.path, *offsets.last().unwrap())
}

fn expect_corrupt(result: Result<(Wal, storage::Recovery), Error>) -> (PathBuf, u64, Corruption) {
    match result {
        Err(Error::Corrupt {
            path,
            offset,
            reason,
        }) => (path, offset, reason),
        Err(other) => panic!("expected Corrupt, got {other}"),
        Ok((_, rec)) => panic!("expected Corrupt, opened fine: {rec:?}"),
    }
}

#[test]
fn torn_tail_at_every_byte_offset_of_the_last_record_is_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let last = 41; // payload(41) is 117 non-zero bytes
    let (seg, start) = written_log(dir.path(), last, 700);
    let pristine = std::fs::read(&seg).unwrap();
    let end = pristine.len() as u64;
    assert_eq!(end - start, 20 + payload(last).len() as u64);
    for zero_fill in [false, true] {
        for cut in start..end {
            let mut bytes = pristine[..cut as usize].to_vec();
            if zero_fill {
                // As on preallocated space: the rest of the record never landed, zeros did.
                bytes.resize(pristine.len() + 512, 0);
            }
            std::fs::write(&seg, &bytes).unwrap();
            let (mut wal, rec) = Wal::open(dir.path(), options(700))
                .unwrap_or_else(|e| panic!("cut {cut} zero_fill {zero_fill}: {e}"));
            assert_eq!(rec.last_index, Some(last - 1), "cut {cut}");
            match &rec.torn_tail {
                None => assert_eq!(cut, start, "a cut inside the record must be reported"),
                Some(t) => {
                    assert_eq!((t.path.as_path(), t.offset), (seg.as_path(), start));
                    assert_eq!(t.discarded_bytes, bytes.len() as u64 - start);
                }
            }
            if rec.torn_tail.is_some() {
                assert_eq!(
                    std::fs::metadata(&seg).unwrap().len(),
                    start,
                    "torn bytes are cut off"
                );
            }
            // The log carries on from the cut.
            append_synced(&mut wal, last, last, 1);
            drop(wal);
            let (wal, rec) = Wal::open(dir.path(), options(700)).unwrap();
            assert_eq!(rec.torn_tail, None);
            assert_holds(&wal, 1, last);
        }
    }
}

#[test]
fn flipped_byte_in_a_middle_record_names_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::open(dir.path(), options(600)).unwrap();
    append_synced(&mut wal, 1, 120, 3);
    let mut last = 120;
    // The last segment needs records on both sides of the victim.
    while wal.segments().last().unwrap().records < 5 {
        last += 1;
        append_synced(&mut wal, last, last, 1);
    }
    let segments = wal.segments();
    drop(wal);
    assert!(segments.len() >= 3);
    for seg in [&segments[1], segments.last().unwrap()] {
        let last = seg.first_index + seg.records - 1;
        let offsets = frame_offsets(seg.first_index, last);
        let k = (1..offsets.len() - 1)
            .find(|&k| payload(seg.first_index + k as u64).len() >= 8)
            .unwrap();
        let victim = offsets[k];
        let pristine = std::fs::read(&seg.path).unwrap();
        // A payload byte, then the length field: both are corruption, neither a torn tail,
        // because valid records follow.
        for (at, want) in [
            (victim + 25, Corruption::BadChecksum),
            (victim + 2, Corruption::BadLengthChecksum),
        ] {
            let mut bytes = pristine.clone();
            bytes[at as usize] ^= 0x10;
            std::fs::write(&seg.path, &bytes).unwrap();
            let (path, offset, reason) = expect_corrupt(Wal::open(dir.path(), options(600)));
            assert_eq!((path, offset, reason), (seg.path.clone(), victim, want));
            std::fs::write(&seg.path, &pristine).unwrap();
        }
        let msg = {
            let mut bytes = pristine.clone();
            bytes[victim as usize + 25] ^= 1;
            std::fs::write(&seg.path, &bytes).unwrap();
            let err = Wal::open(dir.path(), options(600)).unwrap_err().to_string();
            std::fs::write(&seg.path, &pristine).unwrap();
            err
        };
        assert!(
            msg.contains(&seg.path.display().to_string()) && msg.contains(&victim.to_string()),
            "{msg}"
        );
    }
    let (wal, _) = Wal::open(dir.path(), options(600)).unwrap();
    assert_holds(&wal, 1, last);
}

#[test]
fn damage_to_the_last_record_is_cut_and_reported_unless_its_length_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let (seg, start) = written_log(dir.path(), 30, 4096);
    let pristine = std::fs::read(&seg).unwrap();
    // A payload byte of the very last record: indistinguishable from a torn write.
    let mut bytes = pristine.clone();
    bytes[start as usize + 22] ^= 0x01;
    std::fs::write(&seg, &bytes).unwrap();
    let (_, rec) = Wal::open(dir.path(), options(4096)).unwrap();
    let torn = rec.torn_tail.unwrap();
    assert_eq!((torn.offset, torn.reason), (start, Corruption::BadChecksum));
    assert_eq!(rec.last_index, Some(29));

    // Its length field: the record's bytes still follow, so this cannot be a torn write.
    let mut bytes = pristine.clone();
    bytes[start as usize + 3] ^= 0x80;
    std::fs::write(&seg, &bytes).unwrap();
    let (path, offset, reason) = expect_corrupt(Wal::open(dir.path(), options(4096)));
    assert_eq!(
        (path, offset, reason),
        (seg, start, Corruption::BadLengthChecksum)
    );
}

#[test]
fn missing_or_damaged_segments_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    written_log(dir.path(), 100, 500);
    let (wal, _) = Wal::open(dir.path(), options(500)).unwrap();
    let segments = wal.segments();
    drop(wal);

    // A header byte.
    let pristine = std::fs::read(&segments[0].path).unwrap();
    let mut bytes = pristine.clone();
    bytes[18] ^= 1;
    std::fs::write(&segments[0].path, &bytes).unwrap();
    let (path, offset, reason) = expect_corrupt(Wal::open(dir.path(), options(500)));
    assert_eq!(
        (path, offset, reason),
        (segments[0].path.clone(), 24, Corruption::BadHeaderChecksum)
    );
    std::fs::write(&segments[0].path, &pristine).unwrap();

    // A segment deleted from the middle.
    std::fs::remove_file(&segments[2].path).unwrap();
    let (path, offset, reason) = expect_corrupt(Wal::open(dir.path(), options(500)));
    assert_eq!(path, segments[3].path);
    assert_eq!(offset, 16);
    assert_eq!(
        reason,
        Corruption::IndexGap {
            expected: segments[2].first_index,
            found: segments[3].first_index
        }
    );

    // A non-last segment cut short is not a torn tail either.
    let dir = tempfile::tempdir().unwrap();
    written_log(dir.path(), 100, 500);
    let (wal, _) = Wal::open(dir.path(), options(500)).unwrap();
    let first = wal.segments()[0].clone();
    drop(wal);
    let bytes = std::fs::read(&first.path).unwrap();
    std::fs::write(&first.path, &bytes[..bytes.len() - 3]).unwrap();
    let (path, _, reason) = expect_corrupt(Wal::open(dir.path(), options(500)));
    assert_eq!((path, reason), (first.path, Corruption::Truncated));
}

/// Each 512-byte sector of `from..to`, in the file's own sector numbering.
fn sectors(from: u64, to: u64) -> impl Iterator<Item = u64> {
    (from / 512 * 512..to).step_by(512)
}

#[test]
fn a_sector_of_the_unsynced_last_write_that_never_landed_cuts_the_log_there() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::open(dir.path(), preallocated(1 << 16)).unwrap();
    append_synced(&mut wal, 1, 20, 4);
    // The last write: records 21..=60 in one batch, spanning several sectors.
    append_synced(&mut wal, 21, 60, 40);
    let seg = wal.segments().pop().unwrap();
    drop(wal);
    let offsets = frame_offsets(seg.first_index, 60);
    let (write_start, write_end) = (offsets[20], seg.bytes.unwrap());
    let frame_ends: Vec<u64> = offsets.iter().skip(1).copied().chain([write_end]).collect();
    assert!(write_end - write_start > 4 * 512);
    let pristine = std::fs::read(&seg.path).unwrap();
    for sector in sectors(write_start, write_end) {
        // A crash kept this sector from landing: it reads as it did before the write, zeros
        // from where the write started; every other sector of the write landed.
        let mut bytes = pristine.clone();
        let from = sector.max(write_start) as usize;
        bytes[from..(sector + 512) as usize].fill(0);
        std::fs::write(&seg.path, &bytes).unwrap();
        // Frames that end before the sector are intact; the first one reaching into it is not.
        let first_hit = frame_ends
            .iter()
            .position(|&end| end > from as u64)
            .unwrap();
        if sector + 512 - (from as u64) < storage::wal::RECORD_HEADER_LEN {
            // Only a header's first bytes are zero: too little to tell a lost sector from a
            // length's high bytes, so it is reported, not cut.
            expect_corrupt(Wal::open(dir.path(), preallocated(1 << 16)));
            std::fs::write(&seg.path, &pristine).unwrap();
            continue;
        }
        let (mut wal, rec) = Wal::open(dir.path(), preallocated(1 << 16))
            .unwrap_or_else(|e| panic!("sector at {sector}: {e}"));
        let torn = rec.torn_tail.expect("the cut is reported");
        assert_eq!(torn.offset, offsets[first_hit], "sector at {sector}");
        assert_eq!(rec.last_index, Some(first_hit as u64), "sector at {sector}");
        assert_holds(&wal, 1, first_hit as u64);
        // The log carries on from the cut.
        append_synced(&mut wal, first_hit as u64 + 1, 60, 40);
        drop(wal);
        let (wal, rec) = Wal::open(dir.path(), preallocated(1 << 16)).unwrap();
        assert_eq!(rec.torn_tail, None);
        assert_holds(&wal, 1, 60);
        drop(wal);
        std::fs::write(&seg.path, &pristine).unwrap();
    }
}

#[test]
fn a_zeroed_sector_in_a_segment_before_the_last_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::open(dir.path(), preallocated(4096)).unwrap();
    append_synced(&mut wal, 1, 200, 10);
    let segments = wal.segments();
    drop(wal);
    assert!(segments.len() >= 2);
    let first = &segments[0];
    let last = first.first_index + first.records - 1;
    let offsets = frame_offsets(first.first_index, last);
    let pristine = std::fs::read(&first.path).unwrap();
    let mut bytes = pristine.clone();
    bytes[1024..1536].fill(0);
    std::fs::write(&first.path, &bytes).unwrap();
    // The frame holding the zeroed sector's first byte.
    let victim = *offsets.iter().rev().find(|&&at| at <= 1024).unwrap();
    let (path, offset, _) = expect_corrupt(Wal::open(dir.path(), preallocated(4096)));
    assert_eq!((path, offset), (first.path.clone(), victim));
}

fn seg_path() -> PathBuf {
    PathBuf::from("/wal/log.0000000000000001")
}

/// A valid segment of records `1..=n` as bytes.
fn segment_bytes(n: u64) -> Vec<u8> {
    let fs = MemFs::new();
    let (mut wal, _) = Wal::open("/wal", mem_options(&fs, 1 << 20)).unwrap();
    if n > 0 {
        append_synced(&mut wal, 1, n, 4);
    } else {
        wal.purge_before(1).unwrap();
    }
    fs.file_bytes(&seg_path()).unwrap()
}

/// Opens a log whose only segment holds `bytes`; checks that whatever opens reads back cleanly.
fn open_bytes(bytes: &[u8]) -> Result<(), Error> {
    let fs = MemFs::new();
    fs.put_durable_file(&seg_path(), bytes);
    let (mut wal, _) = Wal::open("/wal", mem_options(&fs, 1 << 20))?;
    for r in all_records(&wal) {
        assert_eq!(
            r.payload,
            payload(r.index),
            "a record that opens must be one we wrote"
        );
    }
    if let Some(next) = wal.next_index() {
        if next < u64::MAX {
            wal.append(&[(next, b"after".as_slice())])?;
            wal.sync()?;
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn torn_tail_anywhere_in_a_random_last_record_is_repaired(
        n in 1u64..40,
        extra in 1usize..300,
        cut_frac in 0.0f64..1.0,
        zero_fill in any::<bool>(),
    ) {
        let fs = MemFs::new();
        let (mut wal, _) = Wal::open("/wal", mem_options(&fs, 1 << 20)).unwrap();
        append_synced(&mut wal, 1, n, 5);
        let before = fs.file_bytes(&seg_path()).unwrap();
        let big: Vec<u8> = (0..extra).map(|k| (k % 251 + 1) as u8).collect();
        wal.append(&[(n + 1, big.as_slice())]).unwrap();
        wal.sync().unwrap();
        let after = fs.file_bytes(&seg_path()).unwrap();
        let start = before.len();
        let cut = start + 1 + ((after.len() - start - 1) as f64 * cut_frac) as usize;
        let mut bytes = after[..cut.min(after.len() - 1)].to_vec();
        if zero_fill {
            bytes.resize(after.len() + 100, 0);
        }
        drop(wal);
        fs.put_durable_file(&seg_path(), &bytes);
        let (wal, rec) = Wal::open("/wal", mem_options(&fs, 1 << 20)).unwrap();
        prop_assert_eq!(rec.last_index, Some(n));
        let torn = rec.torn_tail.expect("a cut record is reported");
        prop_assert_eq!(torn.offset, start as u64);
        assert_holds(&wal, 1, n);
    }

    #[test]
    fn arbitrary_bytes_as_a_segment_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = open_bytes(&bytes);
    }

    #[test]
    fn arbitrary_bytes_after_a_valid_header_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut bytes = segment_bytes(0);
        bytes.extend_from_slice(&tail);
        let _ = open_bytes(&bytes);
    }

    #[test]
    fn mutated_valid_segments_never_panic(
        n in 1u64..30,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let mut bytes = segment_bytes(n);
        for (at, x) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= x;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        let _ = open_bytes(&bytes);
    }
}

/// Segments a snapshot covers are not scanned at open, but reads still verify them, and
/// everything after the snapshot is scanned (and repaired) as always.
#[test]
fn segments_behind_a_snapshot_are_verified_when_read() {
    let dir = tempfile::tempdir().unwrap();
    written_log(dir.path(), 300, 500);
    let (wal, full) = Wal::open(dir.path(), options(500)).unwrap();
    let scanned = wal.segments();
    drop(wal);
    let covered = |through: u64| WalOptions {
        covered_through: Some(through),
        ..options(500)
    };

    let (wal, rec) = Wal::open(dir.path(), covered(200)).unwrap();
    assert_eq!(rec, full, "the same log, whether scanned or not");
    let segments = wal.segments();
    for (seg, was) in segments.iter().zip(&scanned) {
        assert_eq!(
            (seg.first_index, seg.records),
            (was.first_index, was.records)
        );
        // Skipped exactly when the next segment starts at or below 201.
        let behind = seg.first_index + seg.records <= 201;
        assert_eq!(
            seg.bytes.is_none(),
            behind,
            "segment at {}",
            seg.first_index
        );
    }
    assert!(segments.iter().filter(|s| s.bytes.is_none()).count() >= 3);
    assert_holds(&wal, 1, 300);
    assert_eq!(wal.segments(), scanned, "reading them scanned them");
    drop(wal);

    // Damage behind the snapshot: open does not see it, a read does; without the snapshot, open
    // refuses the log as before.
    let victim = &scanned[1];
    let pristine = std::fs::read(&victim.path).unwrap();
    let mut bytes = pristine.clone();
    bytes[frame_offsets(victim.first_index, victim.first_index)[0] as usize + 20] ^= 1;
    std::fs::write(&victim.path, &bytes).unwrap();
    let (wal, _) = Wal::open(dir.path(), covered(200)).unwrap();
    let mut read = wal.entries(1).unwrap();
    let err = read
        .find_map(|r| r.err())
        .expect("the damaged record is reported");
    assert!(
        matches!(err, Error::Corrupt { ref path, .. } if *path == victim.path),
        "{err}"
    );
    assert!(wal
        .read_range(victim.first_index, victim.first_index + 1)
        .is_err());
    drop(wal);
    let (path, _, _) = expect_corrupt(Wal::open(dir.path(), options(500)));
    assert_eq!(path, victim.path);

    // A segment whose neighbours' names promise more records than it holds.
    std::fs::write(&victim.path, &pristine).unwrap();
    std::fs::remove_file(&scanned[2].path).unwrap();
    let (wal, _) = Wal::open(dir.path(), covered(200)).unwrap();
    let err = wal
        .read_range(victim.first_index, victim.first_index + 1)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Corrupt {
                reason: Corruption::IndexGap { .. },
                ..
            }
        ),
        "{err}"
    );
}
