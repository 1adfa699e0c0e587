//! Typed errors. Every error that comes from data on disk names the file, and, where a position is
//! meaningful, the byte offset, so an operator can find the damage.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// What was wrong with the bytes at a given place in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Corruption {
    /// The file does not start with the expected magic bytes.
    BadMagic,
    /// The format version is not one this build reads.
    UnsupportedVersion(u32),
    /// A flags, compression or reserved field holds a value this build does not know.
    UnknownField {
        /// Which field.
        field: &'static str,
        /// The value found.
        value: u32,
    },
    /// A header's own checksum does not match.
    BadHeaderChecksum,
    /// The file is shorter than its fixed header (or trailer).
    Truncated,
    /// The index in the header differs from the index in the file name.
    NameMismatch {
        /// Index taken from the file name.
        name: u64,
        /// Index found in the header.
        header: u64,
    },
    /// A record's length field fails its own checksum.
    BadLengthChecksum,
    /// A record's length exceeds the format limit.
    LengthTooLarge(u32),
    /// A record's checksum over index and payload does not match.
    BadChecksum,
    /// A record (or segment) does not carry the index that must come next.
    IndexGap {
        /// The index that had to come next.
        expected: u64,
        /// The index found.
        found: u64,
    },
    /// Zero-filled space at the end of a segment is followed by non-zero bytes.
    GarbageAfterZeros,
    /// The payload length recorded in a header differs from the file's length.
    LengthMismatch {
        /// Bytes the header announces.
        expected: u64,
        /// Bytes present.
        found: u64,
    },
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Corruption::BadMagic => f.write_str("bad magic"),
            Corruption::UnsupportedVersion(v) => write!(f, "unsupported format version {v}"),
            Corruption::UnknownField { field, value } => {
                write!(f, "unknown value {value} in field {field}")
            }
            Corruption::BadHeaderChecksum => f.write_str("header checksum mismatch"),
            Corruption::Truncated => f.write_str("file shorter than its fixed header or trailer"),
            Corruption::NameMismatch { name, header } => write!(
                f,
                "header index {header:#x} does not match file name index {name:#x}"
            ),
            Corruption::BadLengthChecksum => f.write_str("record length checksum mismatch"),
            Corruption::LengthTooLarge(len) => write!(f, "record length {len} exceeds the limit"),
            Corruption::BadChecksum => f.write_str("record checksum mismatch"),
            Corruption::IndexGap { expected, found } => {
                write!(f, "index gap: expected {expected}, found {found}")
            }
            Corruption::GarbageAfterZeros => f.write_str("non-zero bytes after zero-filled space"),
            Corruption::LengthMismatch { expected, found } => {
                write!(f, "payload length {expected} announced, {found} present")
            }
        }
    }
}

/// Errors of the storage crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file-system call failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// The operation that failed, e.g. "fdatasync".
        op: &'static str,
        /// The file or directory it was applied to.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Bytes on disk failed verification.
    #[error("corrupt data in {path} at byte offset {offset}: {reason}")]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// Byte offset of the damaged frame or field.
        offset: u64,
        /// What failed.
        reason: Corruption,
    },
    /// A snapshot's decompressed stream does not match the checksum in its trailer.
    #[error("snapshot {path} fails its checksum: trailer has {expected_len} bytes crc {expected_crc:#010x}, stream has {actual_len} bytes crc {actual_crc:#010x}")]
    SnapshotChecksum {
        /// The snapshot file.
        path: PathBuf,
        /// Uncompressed length from the trailer.
        expected_len: u64,
        /// CRC32C from the trailer.
        expected_crc: u32,
        /// Uncompressed length actually read.
        actual_len: u64,
        /// CRC32C of what was actually read.
        actual_crc: u32,
    },
    /// A snapshot's compressed body cannot be decompressed.
    #[error("snapshot {path} is corrupt at or before byte offset {offset}: {reason}")]
    SnapshotCorrupt {
        /// The snapshot file.
        path: PathBuf,
        /// How far into the file the reader had got when the damage showed: the damaged bytes
        /// are at or before it (the decompressor reads ahead, so not exactly there).
        offset: u64,
        /// What the decompressor reported.
        reason: String,
    },
    /// An appended record's index does not follow the last one.
    #[error("record index {found} does not follow the log: expected {expected}")]
    NonContiguous {
        /// The index that had to come next.
        expected: u64,
        /// The index offered.
        found: u64,
    },
    /// A record is larger than the format allows.
    #[error("record of {len} bytes exceeds the limit of {max} bytes")]
    RecordTooLarge {
        /// The record's payload length.
        len: usize,
        /// The limit.
        max: u32,
    },
    /// A read asked for indexes the log does not hold.
    #[error("indexes {from}..{to} are outside the log, which holds {first}..{end}")]
    OutOfRange {
        /// First index asked for.
        from: u64,
        /// One past the last index asked for.
        to: u64,
        /// First index held.
        first: u64,
        /// One past the last index held.
        end: u64,
    },
    /// `truncate_after` asked to keep records that were already purged.
    #[error("cannot truncate after index {index}: the log starts at {first}")]
    TruncateBeforeFirst {
        /// The index asked for.
        index: u64,
        /// The log's first index.
        first: u64,
    },
    /// An earlier write or fsync failed; the on-disk state is unknown until the log is reopened.
    #[error("the write-ahead log is poisoned by an earlier I/O failure; reopen it")]
    Poisoned,
    /// The options passed are out of range.
    #[error("invalid options: {0}")]
    InvalidOptions(String),
}

/// This crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attaches an operation name and a path to an `io::Error`.
pub(crate) trait IoContext<T> {
    fn ctx(self, op: &'static str, path: &std::path::Path) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, op: &'static str, path: &std::path::Path) -> Result<T> {
        self.map_err(|source| Error::Io {
            op,
            path: path.to_path_buf(),
            source,
        })
    }
}
