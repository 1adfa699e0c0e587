//! Framing on the client port: a 4-byte big-endian length then the record, or, as the very first
//! bytes of a connection, a four-letter word.

use bytes::{Buf, Bytes, BytesMut};

/// `jute.maxbuffer`'s default: the largest znode payload and, with [`FRAME_SLACK`], the largest frame.
pub const DEFAULT_MAX_BUFFER: usize = 0xfffff;

/// Room beyond `jute.maxbuffer` for the request header and path around a maximal payload.
pub const FRAME_SLACK: usize = 1024;

/// The four-letter words a server may answer.
pub const FOUR_LETTER_WORDS: [&str; 18] = [
    "ruok", "srvr", "stat", "mntr", "conf", "cons", "crst", "srst", "envi", "wchs", "wchc", "wchp",
    "dump", "isro", "dirs", "gtmk", "stmk", "hash",
];

/// One unit read from a client connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A length-prefixed packet; the body excludes the prefix.
    Packet(Bytes),
    /// A four-letter word, sent instead of a first length prefix.
    FourLetterWord(&'static str),
}

/// Why the byte stream cannot be framed; the connection must be closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("frame length {length} exceeds the limit of {limit} bytes")]
    TooLarge { length: usize, limit: usize },
    #[error("negative frame length {0}")]
    NegativeLength(i32),
}

/// Splits a byte stream into frames, enforcing the size limit before buffering a frame.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    limit: usize,
    first: bool,
}

impl FrameDecoder {
    /// A decoder for a new connection, with `max_buffer` as `jute.maxbuffer`.
    pub fn new(max_buffer: usize) -> Self {
        Self {
            limit: max_buffer + FRAME_SLACK,
            first: true,
        }
    }

    /// The largest frame body this decoder accepts.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Takes the next complete frame off the front of `buf`, or `Ok(None)` if more bytes are needed.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        if buf.len() < 4 {
            return Ok(None);
        }
        let head: [u8; 4] = [buf[0], buf[1], buf[2], buf[3]];
        if self.first {
            self.first = false;
            if let Some(word) = four_letter_word(&head) {
                buf.advance(4);
                return Ok(Some(Frame::FourLetterWord(word)));
            }
        }
        let length = i32::from_be_bytes(head);
        if length < 0 {
            return Err(FrameError::NegativeLength(length));
        }
        let length = length as usize;
        if length > self.limit {
            return Err(FrameError::TooLarge {
                length,
                limit: self.limit,
            });
        }
        if buf.len() < 4 + length {
            buf.reserve(4 + length - buf.len());
            return Ok(None);
        }
        buf.advance(4);
        Ok(Some(Frame::Packet(buf.split_to(length).freeze())))
    }
}

/// The four-letter word these bytes spell, if any.
pub fn four_letter_word(head: &[u8; 4]) -> Option<&'static str> {
    FOUR_LETTER_WORDS
        .iter()
        .copied()
        .find(|w| w.as_bytes() == head)
}

/// Prefixes `body` with its length, as every frame on the wire is.
pub fn write_frame(body: &[u8], out: &mut BytesMut) {
    out.extend_from_slice(&(body.len() as i32).to_be_bytes());
    out.extend_from_slice(body);
}
