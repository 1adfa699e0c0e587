//! Arbitrary bytes through the frame decoder, then every decoder a server or client runs on a
//! frame body. Only panics, hangs and huge allocations count as failures.
//!
//! Run: `cargo +nightly fuzz run frame_decoder -- -max_total_time=120` from this directory.

#![no_main]

use bytes::{Bytes, BytesMut};
use jute::multi::{decode_multi_request, decode_multi_response};
use jute::proto::{ReplyHeader, RequestHeader, WatcherEvent};
use jute::{ConnectRequest, ConnectResponse, Frame, FrameDecoder, OpCode, Reader, Record, Request};
use libfuzzer_sys::fuzz_target;

fn decode_body(body: &Bytes, first: bool) {
    if first {
        let _ = ConnectRequest::decode(&mut Reader::new(body.clone()));
        let _ = ConnectResponse::decode(&mut Reader::new(body.clone()));
    }
    let mut r = Reader::new(body.clone());
    if let Ok(header) = RequestHeader::decode(&mut r) {
        if let Some(op) = OpCode::from_i32(header.op) {
            let _ = Request::decode(op, &mut r);
        }
    }
    let mut r = Reader::new(body.clone());
    if ReplyHeader::decode(&mut r).is_ok() {
        let rest = r.take_rest();
        let _ = decode_multi_response(&mut Reader::new(rest.clone()));
        let _ = WatcherEvent::decode(&mut Reader::new(rest));
    }
    let _ = decode_multi_request(&mut Reader::new(body.clone()));
    let _ = decode_multi_response(&mut Reader::new(body.clone()));
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the read size, so frames also arrive split across reads.
    let Some((&chunk, stream)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk).max(1);
    let mut decoder = FrameDecoder::new(jute::frame::DEFAULT_MAX_BUFFER);
    let mut buf = BytesMut::new();
    let mut first = true;
    for piece in stream.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(Frame::Packet(body))) => {
                    decode_body(&body, first);
                    first = false;
                }
                Ok(Some(Frame::FourLetterWord(_))) => first = false,
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
    // Every decoder also sees the raw input as one body.
    decode_body(&Bytes::copy_from_slice(stream), true);
});
