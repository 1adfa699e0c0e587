//! A minimal raw-protocol client for driving the server in-process.

#![allow(dead_code)]

use bytes::{Bytes, BytesMut};
use jute::proto::{ReplyHeader, RequestHeader, WatcherEvent};
use jute::{ConnectRequest, ConnectResponse, Frame, FrameDecoder, Reader, Record, Request};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A server on a free loopback port with a fast tick, configured by `zoo_cfg` lines.
pub async fn start(zoo_cfg: &str) -> (server::RunningServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let running = start_in(dir.path(), zoo_cfg).await;
    (running, dir)
}

/// A server whose data lives in `dir` (to restart on the same data).
pub async fn start_in(dir: &std::path::Path, zoo_cfg: &str) -> server::RunningServer {
    let text = format!("tickTime=50\nznode.container.checkIntervalMs=50\n{zoo_cfg}");
    let config = server::config::ServerConfig::from_str_contents(&text)
        .expect("valid config")
        .with_port(0)
        .with_data_dir(dir.to_owned());
    server::start(config).await.expect("server starts")
}

/// One decoded server message.
#[derive(Debug)]
pub enum Msg {
    Reply { header: ReplyHeader, body: Reader },
    Event { zxid: i64, event: WatcherEvent },
}

pub struct RawClient {
    pub stream: TcpStream,
    buf: BytesMut,
    decoder: FrameDecoder,
    pub session_id: i64,
    pub passwd: Bytes,
    pub timeout_ms: i32,
}

impl RawClient {
    pub async fn connect(addr: SocketAddr) -> Self {
        Self::connect_with(
            addr,
            ConnectRequest {
                timeout_ms: 10_000,
                passwd: Bytes::from_static(&[0; 16]),
                read_only: Some(false),
                ..Default::default()
            },
        )
        .await
        .expect("session established")
    }

    /// Connects with `req`; `None` if the server answered "expired" or closed the socket.
    pub async fn connect_with(addr: SocketAddr, req: ConnectRequest) -> Option<Self> {
        let stream = TcpStream::connect(addr).await.expect("tcp connect");
        let mut c = Self {
            stream,
            buf: BytesMut::new(),
            decoder: FrameDecoder::new(jute::frame::DEFAULT_MAX_BUFFER),
            session_id: 0,
            passwd: Bytes::new(),
            timeout_ms: 0,
        };
        // The client side never sends a four-letter word, so skip that check for replies.
        let _ = c.decoder.decode(&mut BytesMut::from(&[0u8, 0, 0, 0][..]));
        c.send_raw(&req.to_bytes()).await;
        let body = c.frame().await?;
        let resp = ConnectResponse::from_bytes(body).expect("connect response");
        if resp.session_id == 0 {
            return None;
        }
        c.session_id = resp.session_id;
        c.passwd = resp.passwd;
        c.timeout_ms = resp.timeout_ms;
        Some(c)
    }

    pub async fn send_raw(&mut self, body: &[u8]) {
        let mut out = BytesMut::new();
        jute::frame::write_frame(body, &mut out);
        self.stream.write_all(&out).await.expect("write");
    }

    pub async fn send(&mut self, xid: i32, request: &Request) {
        self.send_all(&[(xid, request.clone())]).await;
    }

    /// Sends requests in one write, as a client pipelining them does.
    pub async fn send_all(&mut self, requests: &[(i32, Request)]) {
        let mut out = BytesMut::new();
        for (xid, request) in requests {
            let mut body = BytesMut::new();
            RequestHeader {
                xid: *xid,
                op: request.op_code().as_i32(),
            }
            .encode(&mut body);
            request.encode(&mut body);
            jute::frame::write_frame(&body, &mut out);
        }
        self.stream.write_all(&out).await.expect("write");
    }

    /// The next frame body, or `None` when the server closed the connection.
    pub async fn frame(&mut self) -> Option<Bytes> {
        loop {
            if let Some(Frame::Packet(body)) = self.decoder.decode(&mut self.buf).expect("frame") {
                return Some(body);
            }
            let read =
                tokio::time::timeout(Duration::from_secs(10), self.stream.read_buf(&mut self.buf))
                    .await
                    .expect("server answered within 10 s");
            match read {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    pub async fn recv(&mut self) -> Msg {
        let body = self.frame().await.expect("a message");
        let mut r = Reader::new(body);
        let header = ReplyHeader::decode(&mut r).expect("reply header");
        if header.xid == jute::xid::NOTIFICATION {
            Msg::Event {
                zxid: header.zxid,
                event: WatcherEvent::decode(&mut r).expect("event"),
            }
        } else {
            Msg::Reply { header, body: r }
        }
    }

    /// Sends a request and returns its reply, asserting nothing else arrived first.
    pub async fn call(&mut self, xid: i32, request: &Request) -> (ReplyHeader, Reader) {
        self.send(xid, request).await;
        match self.recv().await {
            Msg::Reply { header, body } => {
                assert_eq!(header.xid, xid);
                (header, body)
            }
            other => panic!("expected reply to {xid}, got {other:?}"),
        }
    }
}

/// Sends a four-letter word and returns the whole answer.
pub async fn four_letter_word(addr: SocketAddr, word: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("tcp connect");
    stream.write_all(word.as_bytes()).await.expect("write");
    let mut out = String::new();
    stream.read_to_string(&mut out).await.expect("read");
    out
}
