//! A blocking client that speaks the wire protocol directly: no retries, no reconnects, every
//! reply header visible. Used where a real client library would hide what the server did.

use bytes::{Bytes, BytesMut};
use jute::proto::{ReplyHeader, RequestHeader, WatcherEvent};
use jute::{xid, ConnectRequest, ConnectResponse, OpCode, Reader, Record};
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Why a raw exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum RawError {
    /// Socket error (includes read timeouts).
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
    /// The server closed the connection.
    #[error("connection closed by the server")]
    Closed,
    /// A frame did not decode.
    #[error("decode: {0}")]
    Decode(#[from] jute::DecodeError),
    /// The server refused the session (timeout 0 in the connect response).
    #[error("session expired or refused")]
    Expired,
    /// A reply arrived for a request that was not the oldest outstanding one.
    #[error("reply xid {got}, expected {expected}")]
    OutOfOrder { expected: i32, got: i32 },
}

/// One reply: its header and undecoded body.
#[derive(Debug, Clone)]
pub struct Reply {
    /// `xid`, `zxid`, `err`.
    pub header: ReplyHeader,
    /// The body (empty when `err != 0`).
    pub body: Bytes,
}

impl Reply {
    /// Decodes the body as `T`.
    pub fn decode<T: Record>(&self) -> Result<T, jute::DecodeError> {
        T::decode(&mut Reader::new(self.body.clone()))
    }
}

/// What arrived on the connection, in order: notifications and replies.
#[derive(Debug, Clone)]
pub enum Incoming {
    /// A watch notification (xid −1).
    Event { zxid: i64, event: WatcherEvent },
    /// A reply to a request.
    Reply(Reply),
}

/// A session over one TCP connection.
#[derive(Debug)]
pub struct RawClient {
    stream: TcpStream,
    /// The session id the server assigned.
    pub session_id: i64,
    /// The session password.
    pub passwd: Bytes,
    /// The negotiated session timeout in ms.
    pub timeout_ms: i32,
    next_xid: i32,
    events: VecDeque<(i64, WatcherEvent)>,
    /// Every event and reply in arrival order, when recording is on.
    pub log: Option<Vec<Incoming>>,
}

/// Reads one length-prefixed frame; `Ok(None)` on a clean close.
pub fn read_frame(stream: &mut TcpStream) -> Result<Option<Bytes>, RawError> {
    let mut len = [0u8; 4];
    match stream.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let n = i32::from_be_bytes(len);
    if n < 0 {
        return Err(jute::DecodeError::InvalidLength {
            offset: 0,
            length: n,
        }
        .into());
    }
    let mut body = vec![0u8; n as usize];
    stream.read_exact(&mut body)?;
    Ok(Some(Bytes::from(body)))
}

/// Frames `body` with its length prefix.
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::with_capacity(body.len() + 4);
    jute::frame::write_frame(body, &mut out);
    out.to_vec()
}

impl RawClient {
    /// Opens a new session with the requested timeout.
    pub fn connect(addr: SocketAddr, timeout_ms: i32) -> Result<RawClient, RawError> {
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            timeout_ms,
            session_id: 0,
            passwd: Bytes::from(vec![0u8; 16]),
            read_only: Some(false),
        };
        let (client, _) = Self::connect_with(addr, &req)?;
        Ok(client)
    }

    /// Sends `req` as the handshake and returns the client with the server's raw answer. A
    /// refused session (timeout 0) is [`RawError::Expired`].
    pub fn connect_with(
        addr: SocketAddr,
        req: &ConnectRequest,
    ) -> Result<(RawClient, ConnectResponse), RawError> {
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(15)))?;
        stream.write_all(&frame(&req.to_bytes()))?;
        let body = read_frame(&mut stream)?.ok_or(RawError::Closed)?;
        let resp = ConnectResponse::decode(&mut Reader::new(body))?;
        if resp.timeout_ms <= 0 {
            return Err(RawError::Expired);
        }
        let client = RawClient {
            stream,
            session_id: resp.session_id,
            passwd: resp.passwd.clone(),
            timeout_ms: resp.timeout_ms,
            next_xid: 1,
            events: VecDeque::new(),
            log: None,
        };
        Ok((client, resp))
    }

    /// The socket, for tests that misbehave on purpose.
    pub fn stream(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    /// Sets how long a read may block before failing with a timeout.
    pub fn set_read_timeout(&mut self, t: Duration) -> io::Result<()> {
        self.stream.set_read_timeout(Some(t))
    }

    /// Sends one request without waiting; returns its xid.
    pub fn send(&mut self, op: OpCode, body: &[u8]) -> Result<i32, RawError> {
        let xid = match op {
            OpCode::Ping => xid::PING,
            OpCode::Auth => xid::AUTH,
            _ => {
                let x = self.next_xid;
                self.next_xid += 1;
                x
            }
        };
        self.send_with_xid(xid, op.as_i32(), body)?;
        Ok(xid)
    }

    /// Sends a request with an explicit xid and raw op code.
    pub fn send_with_xid(&mut self, xid: i32, op: i32, body: &[u8]) -> Result<(), RawError> {
        let mut out = BytesMut::new();
        RequestHeader { xid, op }.encode(&mut out);
        out.extend_from_slice(body);
        self.stream.write_all(&frame(&out))?;
        Ok(())
    }

    /// Reads the next reply, queueing notifications that arrive first.
    pub fn read_reply(&mut self) -> Result<Reply, RawError> {
        loop {
            let body = read_frame(&mut self.stream)?.ok_or(RawError::Closed)?;
            let mut r = Reader::new(body);
            let header = ReplyHeader::decode(&mut r)?;
            if header.xid == xid::NOTIFICATION {
                let event = WatcherEvent::decode(&mut r)?;
                if let Some(log) = self.log.as_mut() {
                    log.push(Incoming::Event {
                        zxid: header.zxid,
                        event: event.clone(),
                    });
                }
                self.events.push_back((header.zxid, event));
                continue;
            }
            let reply = Reply {
                header,
                body: r.take_rest(),
            };
            if let Some(log) = self.log.as_mut() {
                log.push(Incoming::Reply(reply.clone()));
            }
            return Ok(reply);
        }
    }

    /// Sends a request and waits for its reply.
    pub fn call(&mut self, op: OpCode, body: &[u8]) -> Result<Reply, RawError> {
        let xid = self.send(op, body)?;
        let reply = self.read_reply()?;
        if reply.header.xid != xid {
            return Err(RawError::OutOfOrder {
                expected: xid,
                got: reply.header.xid,
            });
        }
        Ok(reply)
    }

    /// Encodes `req` and calls.
    pub fn call_record(&mut self, op: OpCode, req: &impl Record) -> Result<Reply, RawError> {
        self.call(op, &req.to_bytes())
    }

    /// Sends a ping and waits for its reply, so every notification queued before it has arrived.
    pub fn ping(&mut self) -> Result<(), RawError> {
        self.call(OpCode::Ping, &[])?;
        Ok(())
    }

    /// create2 with an open ACL.
    pub fn create(&mut self, path: &str, data: &[u8], flags: i32) -> Result<Reply, RawError> {
        let req = jute::proto::CreateRequest {
            path: path.into(),
            data: Some(Bytes::copy_from_slice(data)),
            acl: jute::Acl::open_unsafe(),
            flags,
        };
        self.call_record(OpCode::Create2, &req)
    }

    /// getData.
    pub fn get_data(&mut self, path: &str, watch: bool) -> Result<Reply, RawError> {
        let req = jute::proto::GetDataRequest {
            path: path.into(),
            watch,
        };
        self.call_record(OpCode::GetData, &req)
    }

    /// exists.
    pub fn exists(&mut self, path: &str, watch: bool) -> Result<Reply, RawError> {
        let req = jute::proto::ExistsRequest {
            path: path.into(),
            watch,
        };
        self.call_record(OpCode::Exists, &req)
    }

    /// setData.
    pub fn set_data(&mut self, path: &str, data: &[u8], version: i32) -> Result<Reply, RawError> {
        let req = jute::proto::SetDataRequest {
            path: path.into(),
            data: Some(Bytes::copy_from_slice(data)),
            version,
        };
        self.call_record(OpCode::SetData, &req)
    }

    /// delete.
    pub fn delete(&mut self, path: &str, version: i32) -> Result<Reply, RawError> {
        let req = jute::proto::DeleteRequest {
            path: path.into(),
            version,
        };
        self.call_record(OpCode::Delete, &req)
    }

    /// Notifications received so far, oldest first, with the zxid of their reply header.
    pub fn take_events(&mut self) -> Vec<(i64, WatcherEvent)> {
        self.events.drain(..).collect()
    }

    /// Closes the session politely (closeSession, then the socket).
    pub fn close(mut self) -> Result<(), RawError> {
        self.call(OpCode::CloseSession, &[])?;
        Ok(())
    }
}
