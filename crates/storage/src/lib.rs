//! Durable storage for Ferrokeeper, knowing nothing of ZooKeeper or Raft: it keeps opaque bytes.
//!
//! - [`wal`]: a segmented write-ahead log of records with contiguous `u64` indexes, CRC32C per
//!   record, one `fdatasync` per batch (group commit), torn-tail repair on open.
//! - [`snapshot`]: zstd-compressed, checksummed snapshot files written via temp file + rename.
//! - [`meta`]: a small file replaced atomically (Raft vote and term).
//! - [`fs`]: the file-system seam all of the above go through; [`fs::StdFs`] in production,
//!   [`fs::MemFs`] to simulate crashes, torn writes and lost unsynced data.
//!
//! The on-disk formats are specified in `docs/formats/wal.md` and `docs/formats/snapshot.md`.

#![warn(missing_docs)]

mod codec;
mod error;
pub mod fs;
pub mod meta;
pub mod snapshot;
pub mod wal;

pub use error::{Corruption, Error, Result};
pub use meta::MetaFile;
pub use snapshot::{SnapshotInfo, SnapshotReader, SnapshotStore, SnapshotWriter};
pub use wal::{
    BackgroundRemover, Record, Recovery, SegmentLayout, SegmentRemover, TornTail, Wal, WalOptions,
};

#[cfg(test)]
mod tests {
    /// The log and the snapshot streams move to blocking tasks and between threads.
    #[test]
    fn handles_are_send() {
        fn send<T: Send>() {}
        fn sync<T: Sync>() {}
        send::<crate::Wal>();
        sync::<crate::Wal>();
        send::<crate::SnapshotWriter>();
        send::<crate::SnapshotReader>();
        send::<crate::MetaFile>();
        sync::<crate::SnapshotStore>();
    }
}
