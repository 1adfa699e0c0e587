//! Reading a stream on a helper thread while the caller parses it. Loading a snapshot is
//! decompression and checksumming on one side and building the tree on the other; on two cores
//! the two overlap instead of taking turns.

use std::io::{self, Read};
use std::sync::mpsc;

/// Bytes the helper reads per chunk.
const CHUNK: usize = 1 << 20;
/// Chunks read ahead of the consumer at most.
const DEPTH: usize = 4;

/// Runs `consume` over `source`, whose reads happen on a scoped helper thread. If `consume`
/// stops early, the helper stops at its next chunk.
pub fn with_read_ahead<R: Read + Send, T>(
    source: R,
    consume: impl FnOnce(&mut dyn Read) -> T,
) -> T {
    let (tx, rx) = mpsc::sync_channel::<io::Result<Vec<u8>>>(DEPTH);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut source = source;
            loop {
                let mut chunk = vec![0u8; CHUNK];
                let sent = match source.read(&mut chunk) {
                    Ok(0) => return,
                    Ok(n) => {
                        chunk.truncate(n);
                        tx.send(Ok(chunk))
                    }
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
        let mut ahead = Ahead {
            rx,
            chunk: Vec::new(),
            at: 0,
        };
        consume(&mut ahead)
    })
}

/// The consumer's side: chunks as they arrive.
struct Ahead {
    rx: mpsc::Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    at: usize,
}

impl Read for Ahead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.chunk.len() {
            match self.rx.recv() {
                Ok(chunk) => {
                    self.chunk = chunk?;
                    self.at = 0;
                }
                // The helper is done: the stream ended.
                Err(mpsc::RecvError) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
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
