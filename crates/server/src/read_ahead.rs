//! Reading a stream on a helper thread while the caller parses it. Loading a snapshot is
//! decompression and checksumming on one side and building the tree on the other; on two cores
//! the two overlap instead of taking turns.

use std::io::{self, BufRead, Read};
use std::sync::mpsc;

/// Bytes the helper reads per chunk.
const CHUNK: usize = 1 << 20;
/// Chunks read ahead of the consumer at most.
const DEPTH: usize = 4;

/// Runs `consume` over `source`, whose reads happen on a scoped helper thread. If `consume`
/// stops early, the helper stops at its next chunk.
pub fn with_read_ahead<R: Read + Send, T>(
    source: R,
    consume: impl FnOnce(&mut ReadAhead) -> T,
) -> T {
    let (tx, rx) = mpsc::sync_channel::<io::Result<Filled>>(DEPTH);
    // Consumed chunks go back to the helper: reusing them spares a fresh, page-faulting
    // allocation per megabyte.
    let (free_tx, free_rx) = mpsc::channel::<Vec<u8>>();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut source = source;
            loop {
                // A recycled chunk keeps its full length, so only a new one is ever zeroed.
                let mut chunk = free_rx.try_recv().unwrap_or_default();
                chunk.resize(CHUNK, 0);
                let sent = match source.read(&mut chunk) {
                    Ok(0) => return,
                    Ok(len) => tx.send(Ok(Filled { chunk, len })),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                if sent.is_err() {
                    return;
                }
            }
        });
        let mut ahead = ReadAhead {
            rx,
            free: free_tx,
            chunk: Vec::new(),
            at: 0,
            end: 0,
        };
        consume(&mut ahead)
    })
}

/// The consumer's side: chunks as they arrive. Small reads are served straight from the current
/// chunk, so a parser needs no `BufReader` (and no second copy of every byte) on top.
pub struct ReadAhead {
    rx: mpsc::Receiver<io::Result<Filled>>,
    free: mpsc::Sender<Vec<u8>>,
    chunk: Vec<u8>,
    at: usize,
    /// The chunk's bytes end here; the rest of its length is stale.
    end: usize,
}

/// A chunk whose first `len` bytes were read.
struct Filled {
    chunk: Vec<u8>,
    len: usize,
}

impl ReadAhead {
    /// Waits for the next chunk; false once the stream has ended.
    fn next_chunk(&mut self) -> io::Result<bool> {
        match self.rx.recv() {
            Ok(filled) => {
                let Filled { chunk, len } = filled?;
                let used = std::mem::replace(&mut self.chunk, chunk);
                // The helper may be gone already; the chunk is then simply dropped.
                let _ = self.free.send(used);
                self.at = 0;
                self.end = len;
                Ok(true)
            }
            // The helper is done: the stream ended.
            Err(mpsc::RecvError) => Ok(false),
        }
    }
}

impl Read for ReadAhead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = buf.len().min(available.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }

    #[inline]
    fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        if let Some(bytes) = self.chunk[..self.end].get(self.at..self.at + buf.len()) {
            buf.copy_from_slice(bytes);
            self.at += buf.len();
            return Ok(());
        }
        let mut filled = 0;
        while filled < buf.len() {
            match self.read(&mut buf[filled..])? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                n => filled += n,
            }
        }
        Ok(())
    }
}

impl BufRead for ReadAhead {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.at == self.end {
            if !self.next_chunk()? {
                break;
            }
        }
        Ok(&self.chunk[self.at..self.end])
    }

    fn consume(&mut self, amount: usize) {
        self.at = (self.at + amount).min(self.end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_every_byte_in_order() {
        let data: Vec<u8> = (0..3 * CHUNK + 12345).map(|i| (i % 251) as u8).collect();
        let got = with_read_ahead(data.as_slice(), |r| {
            let mut out = Vec::new();
            r.read_to_end(&mut out).map(|_| out)
        })
        .unwrap();
        assert_eq!(got, data);
    }

    #[test]
    fn exact_reads_across_chunk_boundaries_and_recycled_chunks_keep_every_byte() {
        let data: Vec<u8> = (0..5 * CHUNK + 3).map(|i| (i % 253) as u8).collect();
        let got = with_read_ahead(data.as_slice(), |r| {
            let mut out = Vec::new();
            let mut piece = [0u8; 7];
            while r.read_exact(&mut piece).is_ok() {
                out.extend_from_slice(&piece);
            }
            out
        });
        // The stream is not a multiple of 7: the last short piece is reported as an early end.
        assert_eq!(got.len(), data.len() / 7 * 7);
        assert_eq!(got, data[..got.len()]);
    }

    struct Failing(usize);

    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0 == 0 {
                return Err(io::Error::other("bad byte at offset 7"));
            }
            self.0 -= 1;
            buf[0] = 1;
            Ok(1)
        }
    }

    #[test]
    fn a_read_error_reaches_the_consumer_after_the_bytes_before_it() {
        let err = with_read_ahead(Failing(3), |r| {
            let mut out = Vec::new();
            let e = r.read_to_end(&mut out).unwrap_err();
            (out.len(), e.to_string())
        });
        assert_eq!(err, (3, "bad byte at offset 7".to_string()));
    }

    #[test]
    fn a_consumer_that_stops_early_does_not_hang() {
        let data = vec![0u8; 20 * CHUNK];
        let first = with_read_ahead(data.as_slice(), |r| {
            let mut b = [0u8; 4];
            r.read_exact(&mut b).map(|()| b)
        });
        assert_eq!(first.unwrap(), [0; 4]);
    }
}
