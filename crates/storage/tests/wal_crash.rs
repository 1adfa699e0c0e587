//! Crashes through the file-system seam: only synced data is guaranteed, what survives beyond it
//! is a prefix of what was written, and a crash in the middle of any operation leaves a log that
//! opens.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use proptest::prelude::*;
use storage::fs::{Crash, MemFs};
use storage::wal::Wal;
use storage::Error;

const DIR: &str = "/data/log";

fn open(fs: &MemFs, segment_size: u64) -> Wal {
    Wal::open(DIR, mem_options(fs, segment_size)).unwrap().0
}

#[test]
fn only_synced_records_survive_losing_unsynced_data() {
    let fs = MemFs::new();
    let mut wal = open(&fs, 512);
    append_synced(&mut wal, 1, 100, 10);
    // Appended but never synced, enough to roll over into new segments.
    let unsynced: Vec<(u64, Vec<u8>)> = (101..=160).map(|i| (i, payload(i))).collect();
    let refs: Vec<(u64, &[u8])> = unsynced.iter().map(|(i, p)| (*i, p.as_slice())).collect();
    wal.append(&refs).unwrap();
    assert!(wal.has_unsynced());
    assert_eq!(
        wal.last_index(),
        Some(160),
        "unsynced records are readable before a crash"
    );
    fs.crash(Crash::LoseUnsynced);
    drop(wal);

    let (wal, rec) = Wal::open(DIR, mem_options(&fs, 512)).unwrap();
    // Rollover syncs each full segment, so records in segments that were closed survive too;
    // what is guaranteed is 1..=100, and whatever else is there is a prefix of what was written.
    let last = rec.last_index.unwrap();
    assert!((100..=160).contains(&last), "last {last}");
    assert_holds(&wal, 1, last);
    assert!(
        last < 160,
        "the active segment's unsynced tail must be gone"
    );
}

#[test]
fn one_fdatasync_per_batch() {
    let fs = MemFs::new();
    let mut wal = open(&fs, 1 << 20);
    wal.append(&[(1, b"first".as_slice())]).unwrap();
    wal.sync().unwrap();
    let before = fs.file_syncs();
    let batch: Vec<(u64, Vec<u8>)> = (2..=501).map(|i| (i, payload(i))).collect();
    let refs: Vec<(u64, &[u8])> = batch.iter().map(|(i, p)| (*i, p.as_slice())).collect();
    wal.append(&refs).unwrap();
    assert_eq!(fs.file_syncs(), before, "append alone does not sync");
    wal.sync().unwrap();
    assert_eq!(fs.file_syncs(), before + 1, "500 records, one fdatasync");
    wal.sync().unwrap();
    assert_eq!(fs.file_syncs(), before + 1, "nothing pending, no fdatasync");
}

#[test]
fn a_failed_sync_poisons_the_log_until_reopened() {
    let fs = MemFs::new();
    let mut wal = open(&fs, 4096);
    append_synced(&mut wal, 1, 10, 5);
    wal.append(&[(11, b"x".as_slice())]).unwrap();
    fs.set_fail_syncs(true);
    assert!(matches!(
        wal.sync(),
        Err(Error::Io {
            op: "fdatasync",
            ..
        })
    ));
    fs.set_fail_syncs(false);
    assert!(matches!(wal.sync(), Err(Error::Poisoned)));
    assert!(matches!(
        wal.append(&[(12, b"y".as_slice())]),
        Err(Error::Poisoned)
    ));
    assert!(matches!(wal.read_range(1, 2), Err(Error::Poisoned)));
    drop(wal);
    fs.crash(Crash::LoseUnsynced);
    let wal = open(&fs, 4096);
    assert_holds(&wal, 1, 10);
}

#[test]
fn a_failed_write_poisons_the_log() {
    let fs = MemFs::new();
    let mut wal = open(&fs, 4096);
    append_synced(&mut wal, 1, 3, 3);
    fs.set_fail_writes(true);
    assert!(matches!(
        wal.append(&[(4, b"x".as_slice())]),
        Err(Error::Io { op: "write", .. })
    ));
    fs.set_fail_writes(false);
    assert!(matches!(
        wal.append(&[(4, b"x".as_slice())]),
        Err(Error::Poisoned)
    ));
}

#[derive(Debug, Clone)]
enum Op {
    /// Append this many records with payload sizes derived from the seed.
    Append(usize, u64),
    Sync,
    /// Truncate after `last - n % len`.
    Truncate(u64),
    /// Purge before `first + n % (span + 3)`: sometimes past the end.
    Purge(u64),
    /// Crash (torn, seeded) and reopen.
    Crash(u64),
    /// Make syncs fail from the n-th on, run the op, crash (torn, seeded) and reopen.
    FailDuring(Box<Op>, u64),
}

fn op() -> impl Strategy<Value = Op> {
    let base = prop_oneof![
        4 => (1usize..12, any::<u64>()).prop_map(|(n, s)| Op::Append(n, s)),
        3 => Just(Op::Sync),
        1 => any::<u64>().prop_map(Op::Truncate),
        1 => any::<u64>().prop_map(Op::Purge),
    ];
    prop_oneof![
        8 => base.clone(),
        1 => any::<u64>().prop_map(Op::Crash),
        1 => (base, any::<u64>()).prop_map(|(o, s)| Op::FailDuring(Box::new(o), s)),
    ]
}

/// What the log must and may hold.
#[derive(Debug, Default)]
struct Model {
    /// Everything appended and not dropped: a record that survives must match this.
    written: BTreeMap<u64, Vec<u8>>,
    /// Records that must survive a crash.
    acked: BTreeMap<u64, Vec<u8>>,
    /// The next index that must survive a crash when no records do.
    acked_next: Option<u64>,
}

fn payload_for(index: u64, seed: u64) -> Vec<u8> {
    let len = ((seed ^ index.wrapping_mul(0x9e37_79b9)) % 150) as usize;
    (0..len).map(|k| (index as usize + k) as u8).collect()
}

/// Runs one op against the log and the model. Returns false if the op failed (expected only
/// when syncs fail).
fn apply(wal: &mut Wal, model: &mut Model, op: &Op) -> bool {
    match op {
        Op::Append(n, seed) => {
            let start = wal.next_index().unwrap_or(1);
            let batch: Vec<(u64, Vec<u8>)> = (start..start + *n as u64)
                .map(|i| (i, payload_for(i, *seed)))
                .collect();
            let refs: Vec<(u64, &[u8])> = batch.iter().map(|(i, p)| (*i, p.as_slice())).collect();
            model.written.extend(batch.iter().cloned());
            wal.append(&refs).is_ok()
        }
        Op::Sync => {
            if wal.sync().is_err() {
                return false;
            }
            model.acked = model.written.clone();
            model.acked_next = wal.next_index();
            true
        }
        Op::Truncate(n) => {
            let (Some(first), Some(last)) = (wal.first_index(), wal.last_index()) else {
                return true;
            };
            let keep = last - n % (last - first + 1);
            if keep == last {
                // A no-op, which makes nothing durable.
                return wal.truncate_after(keep).is_ok();
            }
            if wal.truncate_after(keep).is_err() {
                model.acked.retain(|&i, _| i <= keep);
                return false;
            }
            model.written.retain(|&i, _| i <= keep);
            model.acked = model.written.clone();
            model.acked_next = wal.next_index();
            true
        }
        Op::Purge(n) => {
            let first = wal.first_index().or(wal.next_index()).unwrap_or(1);
            let span = wal.last_index().map_or(0, |l| l + 1 - first);
            let index = first + n % (span + 3);
            if wal.purge_before(index).is_err() {
                // Records below the purge point may go either way now.
                model.acked.retain(|&i, _| i >= index);
                return false;
            }
            // The log says exactly which records it still holds.
            let kept_from = wal.first_index().or(wal.next_index()).unwrap_or(0);
            model.written.retain(|&i, _| i >= kept_from);
            model.acked.retain(|&i, _| i >= kept_from);
            if wal.last_index().is_none() {
                model.acked_next = wal.next_index();
            }
            true
        }
        Op::Crash(_) | Op::FailDuring(..) => unreachable!("handled by the runner"),
    }
}

fn crash_and_check(fs: &MemFs, wal: Wal, model: &mut Model, seed: u64, segment_size: u64) -> Wal {
    drop(wal);
    fs.crash(Crash::Torn { seed });
    let (wal, _) =
        Wal::open(DIR, mem_options(fs, segment_size)).expect("a crash must leave a log that opens");
    let got: BTreeMap<u64, Vec<u8>> = all_records(&wal)
        .into_iter()
        .map(|r| (r.index, r.payload))
        .collect();
    for (i, p) in &model.acked {
        assert_eq!(
            got.get(i),
            Some(p),
            "acknowledged record {i} lost or changed"
        );
    }
    for (i, p) in &got {
        assert_eq!(
            model.written.get(i),
            Some(p),
            "record {i} was never written like this"
        );
    }
    if got.is_empty() {
        if let Some(next) = model.acked_next {
            assert!(wal.next_index() >= Some(next), "next index went back");
        }
    }
    // After recovery, what is there is on disk.
    model.written = got.clone();
    model.acked = got;
    model.acked_next = wal.next_index();
    wal
}

fn run(ops: &[Op], segment_size: u64) {
    let fs = MemFs::new();
    let mut wal = open(&fs, segment_size);
    let mut model = Model::default();
    for op in ops {
        match op {
            Op::Crash(seed) => wal = crash_and_check(&fs, wal, &mut model, *seed, segment_size),
            Op::FailDuring(inner, seed) => {
                // Stop the op at one of its first few sync points.
                fs.fail_syncs_after(seed % 5);
                apply(&mut wal, &mut model, inner);
                fs.set_fail_syncs(false);
                wal = crash_and_check(&fs, wal, &mut model, *seed, segment_size);
            }
            op => assert!(
                apply(&mut wal, &mut model, op),
                "{op:?} failed without injected faults"
            ),
        }
    }
    wal = crash_and_check(&fs, wal, &mut model, 7, segment_size);
    drop(wal);
    assert!(fs.file_bytes(Path::new(DIR)).is_none());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn crashes_keep_every_acknowledged_record(
        ops in proptest::collection::vec(op(), 1..40),
        segment_size in 128u64..2048,
    ) {
        run(&ops, segment_size);
    }
}

/// Found by `crashes_keep_every_acknowledged_record` in CI: a crash during a purge past the end
/// of the log, after a failed append.
#[test]
fn crash_during_purge_past_the_end_after_a_failed_append() {
    run(
        &[
            Op::FailDuring(
                Box::new(Op::Append(3, 2635001604064776448)),
                1468173269234750278,
            ),
            Op::Append(5, 7512888998161437168),
            Op::FailDuring(
                Box::new(Op::Purge(3153394835469205807)),
                12268669307782192602,
            ),
        ],
        175,
    );
}
