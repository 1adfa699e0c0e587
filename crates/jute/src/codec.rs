//! Jute primitives: big-endian integers, length-prefixed buffers and strings, vectors.
//!
//! A [`Reader`] walks a frame held in [`Bytes`], so byte buffers decode without a copy.

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Why a record could not be decoded. Every variant means "this frame is malformed".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The frame ended before the record did.
    #[error("frame truncated: needed {needed} more bytes at offset {offset}")]
    Truncated {
        /// Where the short read started.
        offset: usize,
        /// How many bytes were missing.
        needed: usize,
    },
    /// A length prefix was negative (other than the null marker) or larger than the frame.
    #[error("invalid length {length} at offset {offset}")]
    InvalidLength {
        /// Where the length prefix starts.
        offset: usize,
        /// The length it claimed.
        length: i32,
    },
    /// A field held a value the protocol does not define (an op code, a boolean byte, ...).
    #[error("invalid value {value} for {field}")]
    InvalidValue {
        /// Which field held it.
        field: &'static str,
        /// The value read.
        value: i64,
    },
    /// Bytes were left over after the record ended, where the protocol allows none.
    #[error("{remaining} unexpected trailing bytes")]
    TrailingBytes {
        /// How many bytes were left.
        remaining: usize,
    },
}

/// The most vector items allocated ahead of decoding them.
const MAX_PREALLOCATED_ITEMS: usize = 256;

/// Reads jute primitives from one frame.
#[derive(Debug, Clone)]
pub struct Reader {
    buf: Bytes,
    start_len: usize,
}

impl Reader {
    /// A reader over one frame body (without its 4-byte length prefix).
    pub fn new(buf: Bytes) -> Self {
        let start_len = buf.len();
        Self { buf, start_len }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// True when the whole frame has been read.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Offset of the next byte from the start of the frame (for error messages).
    pub fn offset(&self) -> usize {
        self.start_len - self.buf.len()
    }

    /// Fails unless every byte was consumed.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                remaining: self.buf.len(),
            })
        }
    }

    /// The unread rest of the frame, consuming it.
    pub fn take_rest(&mut self) -> Bytes {
        std::mem::take(&mut self.buf)
    }

    fn need(&self, n: usize) -> Result<(), DecodeError> {
        if self.buf.len() < n {
            Err(DecodeError::Truncated {
                offset: self.offset(),
                needed: n - self.buf.len(),
            })
        } else {
            Ok(())
        }
    }

    /// A big-endian `int`.
    pub fn read_i32(&mut self) -> Result<i32, DecodeError> {
        self.need(4)?;
        Ok(self.buf.get_i32())
    }

    /// A big-endian `long`.
    pub fn read_i64(&mut self) -> Result<i64, DecodeError> {
        self.need(8)?;
        Ok(self.buf.get_i64())
    }

    /// One raw byte (used by our own log formats; jute itself has no byte type on the wire).
    pub fn read_u8(&mut self) -> Result<u8, DecodeError> {
        self.need(1)?;
        Ok(self.buf.get_u8())
    }

    /// Jute booleans are one byte; ZooKeeper writes 0 or 1 and reads any non-zero byte as true.
    pub fn read_bool(&mut self) -> Result<bool, DecodeError> {
        self.need(1)?;
        Ok(self.buf.get_u8() != 0)
    }

    fn read_len(&mut self) -> Result<Option<usize>, DecodeError> {
        let offset = self.offset();
        let length = self.read_i32()?;
        if length == -1 {
            return Ok(None);
        }
        if length < 0 || length as usize > self.buf.len() {
            return Err(DecodeError::InvalidLength { offset, length });
        }
        Ok(Some(length as usize))
    }

    /// A `buffer`; null (length −1) decodes as `None`.
    pub fn read_buffer_opt(&mut self) -> Result<Option<Bytes>, DecodeError> {
        Ok(self.read_len()?.map(|n| self.buf.split_to(n)))
    }

    /// A `buffer` whose null carries no meaning of its own (tokens, passwords); null decodes as
    /// empty. Znode data keeps null apart: see [`Reader::read_buffer_opt`].
    pub fn read_buffer(&mut self) -> Result<Bytes, DecodeError> {
        Ok(self.read_buffer_opt()?.unwrap_or_default())
    }

    /// A `ustring`; null decodes as `None`.
    ///
    /// Invalid UTF-8 becomes U+FFFD instead of failing, because ZooKeeper decodes strings the same
    /// way (`new String(bytes, UTF_8)`): a path with a bad byte is then simply a path that does
    /// not exist (`getData` answers NoNode), not a malformed frame.
    pub fn read_string_opt(&mut self) -> Result<Option<String>, DecodeError> {
        Ok(self
            .read_len()?
            .map(|n| String::from_utf8_lossy(&self.buf.split_to(n)).into_owned()))
    }

    /// A `ustring`; null decodes as the empty string.
    pub fn read_string(&mut self) -> Result<String, DecodeError> {
        Ok(self.read_string_opt()?.unwrap_or_default())
    }

    /// A `vector<T>`; null decodes as empty.
    ///
    /// Any negative count reads as an empty vector, as ZooKeeper's `BinaryIndex` does (a create
    /// whose ACL count is −2 is answered InvalidACL, not dropped).
    pub fn read_vec<T>(
        &mut self,
        mut item: impl FnMut(&mut Reader) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let offset = self.offset();
        let count = self.read_i32()?;
        if count < 0 {
            return Ok(Vec::new());
        }
        // Every item is at least one byte, so a count beyond the remaining bytes is a lie.
        if count as usize > self.buf.len() {
            return Err(DecodeError::InvalidLength {
                offset,
                length: count,
            });
        }
        // The count is still untrusted: a 1 MiB frame may claim a million ACLs of 50+ bytes of
        // memory each. Growing past a small start costs little and bounds what a lie can allocate.
        let mut out = Vec::with_capacity((count as usize).min(MAX_PREALLOCATED_ITEMS));
        for _ in 0..count {
            out.push(item(self)?);
        }
        Ok(out)
    }

    /// A `vector<ustring>`; null decodes as empty.
    pub fn read_string_vec(&mut self) -> Result<Vec<String>, DecodeError> {
        self.read_vec(|r| r.read_string())
    }
}

/// Writes jute primitives. Implemented for [`BytesMut`].
pub trait Writer {
    /// A big-endian `int`.
    fn write_i32(&mut self, v: i32);
    /// A big-endian `long`.
    fn write_i64(&mut self, v: i64);
    /// A `boolean`: one byte, 0 or 1.
    fn write_bool(&mut self, v: bool);
    /// A `buffer`: length then bytes.
    fn write_buffer(&mut self, v: &[u8]);
    /// A `buffer` that may be null (length −1).
    fn write_buffer_opt(&mut self, v: Option<&[u8]>);
    /// A `ustring`: UTF-8 length then bytes.
    fn write_string(&mut self, v: &str);
    /// A `vector<ustring>`.
    fn write_string_vec(&mut self, v: &[String]);
}

impl Writer for BytesMut {
    fn write_i32(&mut self, v: i32) {
        self.put_i32(v);
    }
    fn write_i64(&mut self, v: i64) {
        self.put_i64(v);
    }
    fn write_bool(&mut self, v: bool) {
        self.put_u8(u8::from(v));
    }
    fn write_buffer(&mut self, v: &[u8]) {
        self.put_i32(v.len() as i32);
        self.put_slice(v);
    }
    fn write_buffer_opt(&mut self, v: Option<&[u8]>) {
        match v {
            Some(v) => self.write_buffer(v),
            None => self.put_i32(-1),
        }
    }
    fn write_string(&mut self, v: &str) {
        self.write_buffer(v.as_bytes());
    }
    fn write_string_vec(&mut self, v: &[String]) {
        self.put_i32(v.len() as i32);
        for s in v {
            self.write_string(s);
        }
    }
}

/// A jute record: a struct that encodes to and decodes from the wire.
pub trait Record: Sized {
    /// Appends the record's fields in jute order.
    fn encode(&self, out: &mut BytesMut);
    /// Reads the record's fields in jute order; bytes after it are left for the caller.
    fn decode(r: &mut Reader) -> Result<Self, DecodeError>;

    /// Encodes into a fresh buffer (tests and one-off replies).
    fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::new();
        self.encode(&mut out);
        out.freeze()
    }

    /// Decodes a whole frame body, rejecting trailing bytes.
    fn from_bytes(buf: Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf);
        let v = Self::decode(&mut r)?;
        r.finish()?;
        Ok(v)
    }
}
