//! Framing on the client port: a 4-byte big-endian length then the record, or, as the very first
//! bytes of a connection, a four-letter word.

use bytes::{Buf, Bytes, BytesMut};

/// `jute.maxbuffer`'s default, and the largest frame (length prefix excluded) ZooKeeper reads.
///
/// Measured on ZooKeeper 3.8: a frame of exactly 0xfffff bytes is served, 0x100000 closes the
/// connection as soon as the length prefix arrives. There is no slack for headers at this level
/// (the `jute.maxbuffer.extrasize` slack applies only to single buffers inside a record), so the
/// largest `setData` payload is 0xfffff minus the header, path and version around it.
pub const DEFAULT_MAX_BUFFER: usize = 0xfffff;

/// The four-letter words ZooKeeper recognises on a fresh connection. Whether one is answered
/// depends on the server's whitelist; an unknown word is just a huge length and closes the
/// connection. `stmk` is followed by an 8-byte trace mask, which stays in the buffer.
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
    /// The length prefix exceeds `jute.maxbuffer`.
    #[error("frame length {length} exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The length the prefix claimed.
        length: usize,
        /// The decoder's limit.
        limit: usize,
    },
    /// The length prefix is negative.
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
    /// A decoder for a new connection, with `max_buffer` as `jute.maxbuffer`: frames longer than
    /// that are refused, as ZooKeeper refuses them.
    pub fn new(max_buffer: usize) -> Self {
        Self {
            limit: max_buffer,
            first: true,
        }
    }

    /// The largest frame body this decoder accepts.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Takes the next complete frame off the front of `buf`, or `Ok(None)` if more bytes are needed.
    ///
    /// Only the first four bytes of a connection may be a four-letter word (ZooKeeper stops
    /// looking once the session handshake has been read). A bad length is an error as soon as its
    /// four bytes are in, before any of the body is buffered; after an error the connection must
    /// be closed, since the stream has lost its framing.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(body: &[u8]) -> BytesMut {
        let mut out = BytesMut::new();
        write_frame(body, &mut out);
        out
    }

    #[test]
    fn four_letter_word_is_recognised_as_the_first_bytes() {
        let mut d = FrameDecoder::new(DEFAULT_MAX_BUFFER);
        let mut buf = BytesMut::from(&b"ruok"[..]);
        assert_eq!(d.decode(&mut buf), Ok(Some(Frame::FourLetterWord("ruok"))));
        assert!(buf.is_empty());
    }

    #[test]
    fn every_listed_word_is_recognised() {
        for word in FOUR_LETTER_WORDS {
            let mut d = FrameDecoder::new(DEFAULT_MAX_BUFFER);
            let mut buf = BytesMut::from(word.as_bytes());
            assert_eq!(d.decode(&mut buf), Ok(Some(Frame::FourLetterWord(word))));
        }
    }

    #[test]
    fn stmk_leaves_its_trace_mask_in_the_buffer() {
        let mut d = FrameDecoder::new(DEFAULT_MAX_BUFFER);
        let mut buf = BytesMut::from(&b"stmk\x00\x00\x00\x00\x00\x00\x01\x00"[..]);
        assert_eq!(d.decode(&mut buf), Ok(Some(Frame::FourLetterWord("stmk"))));
        assert_eq!(&buf[..], &256u64.to_be_bytes());
    }

    #[test]
    fn four_letter_word_after_the_first_frame_is_a_length() {
        let mut d = FrameDecoder::new(DEFAULT_MAX_BUFFER);
        let mut buf = framed(b"hello");
        buf.extend_from_slice(b"ruok");
        assert_eq!(
            d.decode(&mut buf),
            Ok(Some(Frame::Packet(Bytes::from_static(b"hello"))))
        );
        // "ruok" as a big-endian int is far beyond the limit: ZooKeeper closes such a connection.
        assert_eq!(
            d.decode(&mut buf),
            Err(FrameError::TooLarge {
                length: 0x7275_6f6b,
                limit: DEFAULT_MAX_BUFFER
            })
        );
    }

    #[test]
    fn first_frame_that_is_not_a_word_is_a_packet() {
        let mut d = FrameDecoder::new(DEFAULT_MAX_BUFFER);
        let mut buf = framed(b"abc");
        assert_eq!(
            d.decode(&mut buf),
            Ok(Some(Frame::Packet(Bytes::from_static(b"abc"))))
        );
    }

    #[test]
    fn unknown_word_is_a_too_large_length() {
        let mut d = FrameDecoder::new(DEFAULT_MAX_BUFFER);
        let mut buf = BytesMut::from(&b"abcd"[..]);
        assert!(matches!(
            d.decode(&mut buf),
            Err(FrameError::TooLarge { .. })
        ));
    }

    #[test]
    fn partial_frames_wait_for_more_bytes() {
        let mut d = FrameDecoder::new(DEFAULT_MAX_BUFFER);
        let whole = framed(b"0123456789");
        let mut buf = BytesMut::new();
        // Feed one byte at a time: nothing comes out until the last byte arrives.
        for (i, byte) in whole.iter().enumerate() {
            buf.extend_from_slice(&[*byte]);
            let got = d.decode(&mut buf).unwrap();
            if i + 1 < whole.len() {
                assert_eq!(got, None, "frame emitted after {} bytes", i + 1);
            } else {
                assert_eq!(got, Some(Frame::Packet(Bytes::from_static(b"0123456789"))));
            }
        }
        assert!(buf.is_empty());
    }

    #[test]
    fn a_partial_first_word_is_not_mistaken_for_a_frame() {
        let mut d = FrameDecoder::new(DEFAULT_MAX_BUFFER);
        let mut buf = BytesMut::from(&b"ru"[..]);
        assert_eq!(d.decode(&mut buf), Ok(None));
        buf.extend_from_slice(b"ok");
        assert_eq!(d.decode(&mut buf), Ok(Some(Frame::FourLetterWord("ruok"))));
    }

    #[test]
    fn two_frames_in_one_read_come_out_one_by_one() {
        let mut d = FrameDecoder::new(DEFAULT_MAX_BUFFER);
        let mut buf = framed(b"one");
        buf.extend_from_slice(&framed(b""));
        buf.extend_from_slice(&framed(b"three"));
        let mut out = Vec::new();
        while let Some(f) = d.decode(&mut buf).unwrap() {
            out.push(f);
        }
        assert_eq!(
            out,
            vec![
                Frame::Packet(Bytes::from_static(b"one")),
                Frame::Packet(Bytes::new()),
                Frame::Packet(Bytes::from_static(b"three")),
            ]
        );
    }

    #[test]
    fn oversized_frame_fails_on_its_length_alone() {
        let mut d = FrameDecoder::new(16);
        // Only the length prefix has arrived: the error comes before any body is buffered.
        let mut buf = BytesMut::from(&17i32.to_be_bytes()[..]);
        assert_eq!(
            d.decode(&mut buf),
            Err(FrameError::TooLarge {
                length: 17,
                limit: 16
            })
        );
    }

    #[test]
    fn frame_of_exactly_the_limit_is_accepted() {
        let mut d = FrameDecoder::new(16);
        let mut buf = framed(&[7u8; 16]);
        assert_eq!(
            d.decode(&mut buf),
            Ok(Some(Frame::Packet(Bytes::from(vec![7u8; 16]))))
        );
    }

    #[test]
    fn default_limit_matches_zookeeper() {
        let mut d = FrameDecoder::new(DEFAULT_MAX_BUFFER);
        assert_eq!(d.limit(), 0xfffff);
        let mut buf = BytesMut::from(&0x10_0000i32.to_be_bytes()[..]);
        assert!(matches!(
            d.decode(&mut buf),
            Err(FrameError::TooLarge {
                length: 0x10_0000,
                ..
            })
        ));
    }

    #[test]
    fn negative_length_is_an_error() {
        let mut d = FrameDecoder::new(DEFAULT_MAX_BUFFER);
        let mut buf = framed(b"x");
        assert!(d.decode(&mut buf).unwrap().is_some());
        buf.extend_from_slice(&(-1i32).to_be_bytes());
        assert_eq!(d.decode(&mut buf), Err(FrameError::NegativeLength(-1)));
    }

    #[test]
    fn negative_length_as_first_frame_is_an_error() {
        let mut d = FrameDecoder::new(DEFAULT_MAX_BUFFER);
        let mut buf = BytesMut::from(&i32::MIN.to_be_bytes()[..]);
        assert_eq!(
            d.decode(&mut buf),
            Err(FrameError::NegativeLength(i32::MIN))
        );
    }

    #[test]
    fn write_frame_prefixes_the_length() {
        assert_eq!(&framed(b"ab")[..], b"\x00\x00\x00\x02ab");
    }
}
