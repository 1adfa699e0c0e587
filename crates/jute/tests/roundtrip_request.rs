//! encode → decode = identity for requests (every variant), multi op lists, multi result lists
//! and the session handshake with and without the readOnly byte.

mod common;

use bytes::{Bytes, BytesMut};
use common::*;
use jute::multi::{
    decode_multi_request, decode_multi_response, encode_multi_request, encode_multi_response,
};
use jute::proto::*;
use jute::{ConnectRequest, ConnectResponse, MultiResult, OpCode, Reader, Record, Request, Stat};
use proptest::collection::vec;
use proptest::prelude::*;

fn encode_request(req: &Request) -> Bytes {
    let mut out = BytesMut::new();
    req.encode(&mut out);
    out.freeze()
}

proptest! {
    #[test]
    fn request_roundtrips(req in request()) {
        let body = encode_request(&req);
        let mut r = Reader::new(body.clone());
        let back = Request::decode(req.op_code(), &mut r).unwrap();
        prop_assert!(r.is_empty(), "{} bytes left", r.remaining());
        prop_assert_eq!(&back, &req);
        prop_assert_eq!(back.op_code(), req.op_code());
        prop_assert_eq!(encode_request(&back), body);
    }

    #[test]
    fn request_with_header_roundtrips(req in request(), xid in any::<i32>()) {
        // As a server reads it: header, then the body by the header's op code.
        let mut out = BytesMut::new();
        RequestHeader { xid, op: req.op_code().as_i32() }.encode(&mut out);
        req.encode(&mut out);
        let mut r = Reader::new(out.freeze());
        let header = RequestHeader::decode(&mut r).unwrap();
        prop_assert_eq!(header.xid, xid);
        let op = OpCode::from_i32(header.op).unwrap();
        prop_assert_eq!(Request::decode(op, &mut r).unwrap(), req);
        prop_assert!(r.is_empty());
    }

    #[test]
    fn multi_op_list_roundtrips(ops in vec(multi_op(), 0..8)) {
        let mut out = BytesMut::new();
        encode_multi_request(&ops, &mut out);
        let bytes = out.freeze();
        let mut r = Reader::new(bytes.clone());
        let back = decode_multi_request(&mut r).unwrap();
        prop_assert!(r.is_empty());
        prop_assert_eq!(&back, &ops);
        let mut again = BytesMut::new();
        encode_multi_request(&back, &mut again);
        prop_assert_eq!(again.freeze(), bytes);
    }

    #[test]
    fn multi_result_list_roundtrips(results in vec(multi_result(), 0..8)) {
        let mut out = BytesMut::new();
        encode_multi_response(&results, &mut out);
        let bytes = out.freeze();
        let mut r = Reader::new(bytes.clone());
        let back = decode_multi_response(&mut r).unwrap();
        prop_assert!(r.is_empty());
        prop_assert_eq!(&back, &results);
        let mut again = BytesMut::new();
        encode_multi_response(&back, &mut again);
        prop_assert_eq!(again.freeze(), bytes);
    }

    #[test]
    fn failed_multi_result_list_roundtrips(codes in vec(error_code(), 1..8)) {
        let results: Vec<_> = codes.into_iter().map(|err| MultiResult::Error { err }).collect();
        let mut out = BytesMut::new();
        encode_multi_response(&results, &mut out);
        let back = decode_multi_response(&mut Reader::new(out.freeze())).unwrap();
        prop_assert_eq!(back, results);
    }

    #[test]
    fn connect_request_roundtrips(
        req in arb!(ConnectRequest {
            protocol_version: any::<i32>(),
            last_zxid_seen: any::<i64>(),
            timeout_ms: any::<i32>(),
            session_id: any::<i64>(),
            passwd: bytes(),
            read_only: proptest::option::of(any::<bool>()),
        })
    ) {
        let bytes = req.to_bytes();
        let expected_len = 4 + 8 + 4 + 8 + 4 + req.passwd.len() + usize::from(req.read_only.is_some());
        prop_assert_eq!(bytes.len(), expected_len);
        let back = ConnectRequest::from_bytes(bytes.clone()).unwrap();
        prop_assert_eq!(&back, &req);
        prop_assert_eq!(back.to_bytes(), bytes);
    }

    #[test]
    fn connect_response_roundtrips(
        resp in arb!(ConnectResponse {
            protocol_version: any::<i32>(),
            timeout_ms: any::<i32>(),
            session_id: any::<i64>(),
            passwd: bytes(),
            read_only: proptest::option::of(any::<bool>()),
        })
    ) {
        let bytes = resp.to_bytes();
        let expected_len = 4 + 4 + 8 + 4 + resp.passwd.len() + usize::from(resp.read_only.is_some());
        prop_assert_eq!(bytes.len(), expected_len);
        let back = ConnectResponse::from_bytes(bytes.clone()).unwrap();
        prop_assert_eq!(&back, &resp);
        prop_assert_eq!(back.to_bytes(), bytes);
    }
}

#[test]
fn old_set_watches_decodes_as_set_watches2_with_no_persistent_watches() {
    let old = SetWatches {
        relative_zxid: 7,
        data_watches: vec!["/d".into()],
        exist_watches: vec!["/e".into()],
        child_watches: vec!["/c".into()],
    };
    let mut r = Reader::new(old.to_bytes());
    let req = Request::decode(OpCode::SetWatches, &mut r).unwrap();
    assert!(r.is_empty());
    assert_eq!(
        req,
        Request::SetWatches(SetWatches2 {
            relative_zxid: 7,
            data_watches: vec!["/d".into()],
            exist_watches: vec!["/e".into()],
            child_watches: vec!["/c".into()],
            persistent_watches: vec![],
            persistent_recursive_watches: vec![],
        })
    );
}

#[test]
fn server_only_op_codes_are_not_client_requests() {
    for op in [
        OpCode::Notification,
        OpCode::DeleteContainer,
        OpCode::CreateSession,
        OpCode::Error,
    ] {
        assert!(Request::decode(op, &mut Reader::new(Bytes::new())).is_err());
    }
}

fn result_ops(results: &[MultiResult]) -> Vec<i32> {
    let mut out = BytesMut::new();
    encode_multi_response(results, &mut out);
    let mut r = Reader::new(out.freeze());
    let mut ops = Vec::new();
    loop {
        let h = MultiHeader::decode(&mut r).unwrap();
        if h.done {
            return ops;
        }
        ops.push(h.op);
        // Skip the body by decoding a one-result list from here is not possible; bodies here
        // are known: Create2Response.
        Create2Response::decode(&mut r).unwrap();
    }
}

#[test]
fn container_and_ttl_create_results_travel_as_create2() {
    // ZooKeeper's OpResult.CreateResult only knows create (1) and create2 (15); the Java client
    // throws on 19 or 21 in a MultiResponse.
    let stat = Stat {
        czxid: 5,
        ..Stat::default()
    };
    let results: Vec<_> = [OpCode::Create2, OpCode::CreateContainer, OpCode::CreateTtl]
        .into_iter()
        .map(|op| MultiResult::Create {
            op,
            path: "/p".into(),
            stat: stat.clone(),
        })
        .collect();
    assert_eq!(result_ops(&results), vec![15, 15, 15]);
}

#[test]
fn create_results_typed_19_or_21_are_rejected() {
    for op in [19, 21] {
        let mut out = BytesMut::new();
        MultiHeader {
            op,
            done: false,
            err: 0,
        }
        .encode(&mut out);
        Create2Response {
            path: "/p".into(),
            stat: Stat::default(),
        }
        .encode(&mut out);
        MultiHeader {
            op: -1,
            done: true,
            err: -1,
        }
        .encode(&mut out);
        assert!(decode_multi_response(&mut Reader::new(out.freeze())).is_err());
    }
}

#[test]
fn multi_ends_with_the_done_header() {
    let mut out = BytesMut::new();
    encode_multi_request(&[], &mut out);
    assert_eq!(&out[..], b"\xff\xff\xff\xff\x01\xff\xff\xff\xff");
}
