//! One TCP connection to one server: the session handshake, and the writer task that owns the
//! socket's write half so the session task never waits on a slow socket.

use crate::connect_string::HostPort;
use bytes::{Bytes, BytesMut};
use jute::frame::write_frame;
use jute::{ConnectRequest, ConnectResponse, Frame, FrameDecoder, Reader, Record};
use std::io;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// Frames are coalesced into writes of up to this many bytes.
const WRITE_BATCH: usize = 64 * 1024;

/// Why a connection attempt failed; the session task then tries the next server.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectError {
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
    #[error("no handshake within {0:?}")]
    Timeout(Duration),
    #[error("server closed the connection during the handshake")]
    Closed,
    #[error("framing: {0}")]
    Frame(#[from] jute::FrameError),
    #[error("malformed connect response: {0}")]
    Decode(#[from] jute::DecodeError),
}

/// A connection whose handshake is done.
pub(crate) struct Connection {
    pub(crate) read: OwnedReadHalf,
    pub(crate) write: OwnedWriteHalf,
    /// Bytes already read past the connect response.
    pub(crate) buf: BytesMut,
    pub(crate) decoder: FrameDecoder,
    pub(crate) response: ConnectResponse,
    pub(crate) server: String,
}

/// Connects to `host`, sends `req` and reads the server's answer, all within `timeout`.
pub(crate) async fn establish(
    host: HostPort,
    req: ConnectRequest,
    timeout: Duration,
    max_packet: usize,
) -> Result<Connection, ConnectError> {
    let attempt = async {
        let stream = TcpStream::connect((host.host.as_str(), host.port)).await?;
        stream.set_nodelay(true)?;
        let (mut read, mut write) = stream.into_split();
        let mut out = BytesMut::new();
        write_frame(&req.to_bytes(), &mut out);
        write.write_all(&out).await?;
        let mut buf = BytesMut::with_capacity(4096);
        let mut decoder = FrameDecoder::new(max_packet);
        loop {
            match decoder.decode(&mut buf)? {
                Some(Frame::Packet(body)) => {
                    let response = ConnectResponse::decode(&mut Reader::new(body))?;
                    return Ok(Connection {
                        read,
                        write,
                        buf,
                        decoder,
                        response,
                        server: host.to_string(),
                    });
                }
                // A connect response that spells a four-letter word is no connect response.
                Some(Frame::FourLetterWord(_)) => return Err(ConnectError::Closed),
                None => {}
            }
            if read.read_buf(&mut buf).await? == 0 {
                return Err(ConnectError::Closed);
            }
        }
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .map_err(|_| ConnectError::Timeout(timeout))?
}

/// Writes every frame it receives, in order, coalescing what is queued into one write. Returns
/// on a write error, or `Ok` when the session task drops its sender.
pub(crate) async fn write_loop(
    mut write: OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Bytes>,
) -> io::Result<()> {
    let mut batch = BytesMut::with_capacity(WRITE_BATCH);
    while let Some(first) = rx.recv().await {
        batch.extend_from_slice(&first);
        while batch.len() < WRITE_BATCH {
            match rx.try_recv() {
                Ok(more) => batch.extend_from_slice(&more),
                Err(_) => break,
            }
        }
        write.write_all(&batch).await?;
        batch.clear();
    }
    Ok(())
}
