//! Random and mutated bytes never make the decoders panic, and lying length prefixes fail fast.
//! (The cargo-fuzz target in /fuzz does the same at depth; this one runs in CI.)

mod common;

use bytes::{Bytes, BytesMut};
use common::*;
use jute::frame::DEFAULT_MAX_BUFFER;
use jute::multi::{decode_multi_request, decode_multi_response, encode_multi_response};
use jute::proto::*;
use jute::{ConnectRequest, ConnectResponse, Frame, FrameDecoder, OpCode, Reader, Record, Request};
use proptest::collection::vec;
use proptest::prelude::*;

/// Every op code plus a few that are not.
fn op_codes() -> Vec<i32> {
    let mut ops: Vec<i32> = (-12..=23).chain(100..=108).collect();
    ops.extend([i32::MIN, i32::MAX]);
    ops
}

/// Decodes a body every way a server or client might; only panics matter.
fn decode_every_way(body: &Bytes) {
    let _ = ConnectRequest::decode(&mut Reader::new(body.clone()));
    let _ = ConnectResponse::decode(&mut Reader::new(body.clone()));
    let _ = decode_multi_response(&mut Reader::new(body.clone()));
    let _ = decode_multi_request(&mut Reader::new(body.clone()));
    let _ = WatcherEvent::decode(&mut Reader::new(body.clone()));
    let _ = GetAclResponse::decode(&mut Reader::new(body.clone()));
    let _ = WhoAmIResponse::decode(&mut Reader::new(body.clone()));
    let mut r = Reader::new(body.clone());
    if let Ok(header) = RequestHeader::decode(&mut r) {
        if let Some(op) = OpCode::from_i32(header.op) {
            let _ = Request::decode(op, &mut r);
        }
    }
    for op in op_codes().into_iter().filter_map(OpCode::from_i32) {
        let _ = Request::decode(op, &mut Reader::new(body.clone()));
    }
}

/// Feeds `stream` to a fresh decoder in `chunk`-sized reads, decoding every packet it yields.
fn feed(stream: &[u8], chunk: usize, max_buffer: usize) {
    let mut decoder = FrameDecoder::new(max_buffer);
    let mut buf = BytesMut::new();
    for piece in stream.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(Frame::Packet(body))) => {
                    assert!(body.len() <= max_buffer);
                    decode_every_way(&body);
                }
                Ok(Some(Frame::FourLetterWord(_))) => {}
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
}

/// A plausible frame stream: a handshake, then requests, so mutations reach deep decoding.
fn valid_stream(requests: &[jute::Request]) -> Vec<u8> {
    let mut out = BytesMut::new();
    jute::frame::write_frame(&ConnectRequest::default().to_bytes(), &mut out);
    for (xid, req) in requests.iter().enumerate() {
        let mut body = BytesMut::new();
        RequestHeader {
            xid: xid as i32,
            op: req.op_code().as_i32(),
        }
        .encode(&mut body);
        req.encode(&mut body);
        jute::frame::write_frame(&body, &mut out);
    }
    out.to_vec()
}

proptest! {
    #[test]
    fn random_bytes_never_panic(stream in vec(any::<u8>(), 0..512), chunk in 1usize..64) {
        feed(&stream, chunk, DEFAULT_MAX_BUFFER);
        feed(&stream, chunk, 64);
        decode_every_way(&Bytes::from(stream));
    }

    #[test]
    fn mutated_requests_never_panic(
        requests in vec(request(), 1..4),
        flips in vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        cut in any::<prop::sample::Index>(),
        chunk in 1usize..64,
    ) {
        let mut stream = valid_stream(&requests);
        for (at, byte) in flips {
            let i = at.index(stream.len());
            stream[i] = byte;
        }
        let keep = cut.index(stream.len() + 1);
        stream.truncate(keep);
        feed(&stream, chunk, DEFAULT_MAX_BUFFER);
    }

    #[test]
    fn mutated_multi_responses_never_panic(
        results in vec(multi_result(), 0..6),
        flips in vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let mut out = BytesMut::new();
        encode_multi_response(&results, &mut out);
        let mut body = out.to_vec();
        for (at, byte) in flips {
            let i = at.index(body.len());
            body[i] = byte;
        }
        decode_every_way(&Bytes::from(body));
    }
}

#[test]
fn lying_vector_count_fails_without_allocating() {
    // A children list claiming i32::MAX entries in a 12-byte body.
    let mut body = Vec::new();
    body.extend_from_slice(&i32::MAX.to_be_bytes());
    body.extend_from_slice(&[0; 8]);
    assert!(GetChildrenResponse::from_bytes(Bytes::from(body)).is_err());
}

#[test]
fn lying_string_length_fails() {
    let mut body = Vec::new();
    body.extend_from_slice(&1_000_000i32.to_be_bytes());
    body.extend_from_slice(b"/short");
    assert!(SyncRequest::from_bytes(Bytes::from(body)).is_err());
}

#[test]
fn negative_buffer_length_other_than_null_fails() {
    let body = (-2i32).to_be_bytes();
    assert!(GetSaslRequest::from_bytes(Bytes::copy_from_slice(&body)).is_err());
}

#[test]
fn many_small_acls_decode_within_the_frame() {
    // The largest honest count: as many 12-byte ACLs as fit a default frame.
    let n = (DEFAULT_MAX_BUFFER - 4) / 12;
    let mut body = Vec::with_capacity(DEFAULT_MAX_BUFFER);
    body.extend_from_slice(&(n as i32).to_be_bytes());
    for _ in 0..n {
        body.extend_from_slice(&[0; 12]);
    }
    let acl = Vec::<jute::Acl>::from_bytes(Bytes::from(body)).unwrap();
    assert_eq!(acl.len(), n);
}
