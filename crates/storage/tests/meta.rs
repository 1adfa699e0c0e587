//! The meta file: atomic, durable replacement of a small payload.

use std::sync::Arc;

use storage::fs::{std_fs, Crash, FileSystem, MemFs};
use storage::{Corruption, Error, MetaFile};

#[test]
fn store_load_replace() {
    let dir = tempfile::tempdir().unwrap();
    let meta = MetaFile::new(std_fs(), dir.path().join("vote"));
    assert_eq!(meta.load().unwrap(), None);
    meta.store(b"term=1 vote=2").unwrap();
    assert_eq!(meta.load().unwrap().unwrap(), b"term=1 vote=2");
    meta.store(b"").unwrap();
    assert_eq!(meta.load().unwrap().unwrap(), b"");
    meta.store(b"term=9").unwrap();
    assert_eq!(meta.load().unwrap().unwrap(), b"term=9");
    assert!(!dir.path().join("vote.tmp").exists());
}

#[test]
fn damage_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vote");
    let meta = MetaFile::new(std_fs(), &path);
    meta.store(b"term=1 vote=2").unwrap();
    let pristine = std::fs::read(&path).unwrap();
    for at in 0..pristine.len() {
        let mut bytes = pristine.clone();
        bytes[at] ^= 0x20;
        std::fs::write(&path, &bytes).unwrap();
        match meta.load() {
            Err(Error::Corrupt { path: p, .. }) => assert_eq!(p, path),
            other => panic!("byte {at}: {other:?}"),
        }
    }
    std::fs::write(&path, &pristine[..pristine.len() - 1]).unwrap();
    assert!(matches!(
        meta.load(),
        Err(Error::Corrupt {
            reason: Corruption::LengthMismatch { .. },
            ..
        })
    ));
}

#[test]
fn a_crash_leaves_old_or_new_never_a_mix() {
    for seed in 0..64 {
        let mem = MemFs::new();
        let fs = Arc::new(mem.clone()) as Arc<dyn FileSystem>;
        fs.create_dir_all("/m".as_ref()).unwrap();
        let meta = MetaFile::new(fs.clone(), "/m/vote");
        meta.store(b"old value").unwrap();
        // The store's final directory fsync fails, so the rename may or may not have landed.
        mem.set_fail_syncs(seed % 2 == 0);
        let stored = meta.store(b"the new value");
        mem.set_fail_syncs(false);
        mem.crash(Crash::Torn { seed });
        let got = meta.load().unwrap().unwrap();
        assert!(
            got == b"old value" || got == b"the new value",
            "seed {seed}: {got:?}"
        );
        if stored.is_ok() {
            assert_eq!(
                got, b"the new value",
                "seed {seed}: a completed store is durable"
            );
        }
    }
}
