//! encode → decode = identity for every jute record, and decode → encode gives the same bytes.

mod common;

use common::*;
use jute::proto::*;
use jute::{
    Acl, ClientInfo, CreateOp, Id, MultiOp, MultiResult, OpCode, Reader, Record, Request, Stat,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::fmt::Debug;

fn roundtrip<T: Record + PartialEq + Debug>(value: &T) -> Result<(), TestCaseError> {
    let bytes = value.to_bytes();
    let back = T::from_bytes(bytes.clone())
        .map_err(|e| TestCaseError::fail(format!("decode failed: {e}")))?;
    prop_assert_eq!(&back, value);
    prop_assert_eq!(back.to_bytes(), bytes);
    Ok(())
}

proptest! {
    #[test]
    fn id_roundtrips(v in id()) { roundtrip(&v)?; }

    #[test]
    fn acl_roundtrips(v in acl()) { roundtrip::<Acl>(&v)?; }

    #[test]
    fn acl_list_roundtrips(v in acls()) { roundtrip::<Vec<Acl>>(&v)?; }

    #[test]
    fn stat_roundtrips(v in stat()) { roundtrip::<Stat>(&v)?; }

    #[test]
    fn client_info_roundtrips(v in client_info()) { roundtrip::<ClientInfo>(&v)?; }

    #[test]
    fn request_header_roundtrips(v in arb!(RequestHeader { xid: any::<i32>(), op: any::<i32>() })) {
        roundtrip(&v)?;
    }

    #[test]
    fn reply_header_roundtrips(
        v in arb!(ReplyHeader { xid: any::<i32>(), zxid: any::<i64>(), err: any::<i32>() })
    ) {
        roundtrip(&v)?;
    }

    #[test]
    fn multi_header_roundtrips(
        v in arb!(MultiHeader { op: any::<i32>(), done: any::<bool>(), err: any::<i32>() })
    ) {
        roundtrip(&v)?;
    }

    #[test]
    fn get_data_request_roundtrips(v in arb!(GetDataRequest { path: string(), watch: any::<bool>() })) {
        roundtrip(&v)?;
    }

    #[test]
    fn get_data_response_roundtrips(v in arb!(GetDataResponse { data: data(), stat: stat() })) {
        roundtrip(&v)?;
    }

    #[test]
    fn set_data_request_roundtrips(
        v in arb!(SetDataRequest { path: string(), data: data(), version: any::<i32>() })
    ) {
        roundtrip(&v)?;
    }

    #[test]
    fn set_data_response_roundtrips(v in arb!(SetDataResponse { stat: stat() })) {
        roundtrip(&v)?;
    }

    #[test]
    fn create_request_roundtrips(
        v in arb!(CreateRequest { path: string(), data: data(), acl: acls(), flags: any::<i32>() })
    ) {
        roundtrip(&v)?;
    }

    #[test]
    fn create_ttl_request_roundtrips(
        v in arb!(CreateTtlRequest {
            path: string(), data: data(), acl: acls(), flags: any::<i32>(), ttl: any::<i64>()
        })
    ) {
        roundtrip(&v)?;
    }

    #[test]
    fn create_response_roundtrips(v in arb!(CreateResponse { path: string() })) {
        roundtrip(&v)?;
    }

    #[test]
    fn create2_response_roundtrips(v in arb!(Create2Response { path: string(), stat: stat() })) {
        roundtrip(&v)?;
    }

    #[test]
    fn delete_request_roundtrips(v in arb!(DeleteRequest { path: string(), version: any::<i32>() })) {
        roundtrip(&v)?;
    }

    #[test]
    fn exists_request_roundtrips(v in arb!(ExistsRequest { path: string(), watch: any::<bool>() })) {
        roundtrip(&v)?;
    }

    #[test]
    fn exists_response_roundtrips(v in arb!(ExistsResponse { stat: stat() })) {
        roundtrip(&v)?;
    }

    #[test]
    fn get_children_request_roundtrips(
        v in arb!(GetChildrenRequest { path: string(), watch: any::<bool>() })
    ) {
        roundtrip(&v)?;
    }

    #[test]
    fn get_children_response_roundtrips(v in arb!(GetChildrenResponse { children: strings() })) {
        roundtrip(&v)?;
    }

    #[test]
    fn get_children2_request_roundtrips(
        v in arb!(GetChildren2Request { path: string(), watch: any::<bool>() })
    ) {
        roundtrip(&v)?;
    }

    #[test]
    fn get_children2_response_roundtrips(
        v in arb!(GetChildren2Response { children: strings(), stat: stat() })
    ) {
        roundtrip(&v)?;
    }

    #[test]
    fn get_all_children_number_request_roundtrips(
        v in arb!(GetAllChildrenNumberRequest { path: string() })
    ) {
        roundtrip(&v)?;
    }

    #[test]
    fn get_all_children_number_response_roundtrips(
        v in arb!(GetAllChildrenNumberResponse { total_number: any::<i32>() })
    ) {
        roundtrip(&v)?;
    }

    #[test]
    fn check_version_request_roundtrips(
        v in arb!(CheckVersionRequest { path: string(), version: any::<i32>() })
    ) {
        roundtrip(&v)?;
    }

    #[test]
    fn sync_request_roundtrips(v in arb!(SyncRequest { path: string() })) {
        roundtrip(&v)?;
    }

    #[test]
    fn sync_response_roundtrips(v in arb!(SyncResponse { path: string() })) {
        roundtrip(&v)?;
    }

    #[test]
    fn get_acl_request_roundtrips(v in arb!(GetAclRequest { path: string() })) {
        roundtrip(&v)?;
    }

    #[test]
    fn get_acl_response_roundtrips(v in arb!(GetAclResponse { acl: acls(), stat: stat() })) {
        roundtrip(&v)?;
    }

    #[test]
    fn set_acl_request_roundtrips(
        v in arb!(SetAclRequest { path: string(), acl: acls(), version: any::<i32>() })
    ) {
        roundtrip(&v)?;
    }

    #[test]
    fn set_acl_response_roundtrips(v in arb!(SetAclResponse { stat: stat() })) {
        roundtrip(&v)?;
    }

    #[test]
    fn add_watch_request_roundtrips(v in arb!(AddWatchRequest { path: string(), mode: any::<i32>() })) {
        roundtrip(&v)?;
    }

    #[test]
    fn check_watches_request_roundtrips(
        v in arb!(CheckWatchesRequest { path: string(), watcher_type: any::<i32>() })
    ) {
        roundtrip(&v)?;
    }

    #[test]
    fn remove_watches_request_roundtrips(
        v in arb!(RemoveWatchesRequest { path: string(), watcher_type: any::<i32>() })
    ) {
        roundtrip(&v)?;
    }

    #[test]
    fn get_ephemerals_request_roundtrips(v in arb!(GetEphemeralsRequest { prefix_path: string() })) {
        roundtrip(&v)?;
    }

    #[test]
    fn get_ephemerals_response_roundtrips(v in arb!(GetEphemeralsResponse { ephemerals: strings() })) {
        roundtrip(&v)?;
    }

    #[test]
    fn who_am_i_response_roundtrips(
        v in arb!(WhoAmIResponse { client_info: vec(client_info(), 0..4) })
    ) {
        roundtrip(&v)?;
    }

    #[test]
    fn watcher_event_roundtrips(
        v in arb!(WatcherEvent { event_type: any::<i32>(), state: any::<i32>(), path: string() })
    ) {
        roundtrip(&v)?;
    }

    #[test]
    fn error_response_roundtrips(v in arb!(ErrorResponse { err: any::<i32>() })) {
        roundtrip(&v)?;
    }

    #[test]
    fn auth_packet_roundtrips(
        v in arb!(AuthPacket { auth_type: any::<i32>(), scheme: string(), auth: bytes() })
    ) {
        roundtrip(&v)?;
    }

    #[test]
    fn set_watches_roundtrips(
        v in arb!(SetWatches {
            relative_zxid: any::<i64>(),
            data_watches: strings(),
            exist_watches: strings(),
            child_watches: strings(),
        })
    ) {
        roundtrip(&v)?;
    }

    #[test]
    fn set_watches2_roundtrips(v in set_watches2()) {
        roundtrip(&v)?;
    }

    #[test]
    fn reconfig_request_roundtrips(
        v in arb!(ReconfigRequest {
            joining_servers: prop::option::of(string()),
            leaving_servers: prop::option::of(string()),
            new_members: prop::option::of(string()),
            cur_config_id: any::<i64>(),
        })
    ) {
        roundtrip(&v)?;
    }

    #[test]
    fn get_sasl_request_roundtrips(v in arb!(GetSaslRequest { token: bytes() })) {
        roundtrip(&v)?;
    }

    #[test]
    fn set_sasl_request_roundtrips(v in arb!(SetSaslRequest { token: bytes() })) {
        roundtrip(&v)?;
    }

    #[test]
    fn set_sasl_response_roundtrips(v in arb!(SetSaslResponse { token: bytes() })) {
        roundtrip(&v)?;
    }
}

/// The property tests above would pass for any self-consistent field order; these pin the
/// order and widths to the schema.
#[test]
fn stat_layout_follows_the_schema() {
    let stat = Stat {
        czxid: 1,
        mzxid: 2,
        ctime: 3,
        mtime: 4,
        version: 5,
        cversion: 6,
        aversion: 7,
        ephemeral_owner: 8,
        data_length: 9,
        num_children: 10,
        pzxid: 11,
    };
    let mut expected = Vec::new();
    for v in [1i64, 2, 3, 4] {
        expected.extend_from_slice(&v.to_be_bytes());
    }
    for v in [5i32, 6, 7] {
        expected.extend_from_slice(&v.to_be_bytes());
    }
    expected.extend_from_slice(&8i64.to_be_bytes());
    for v in [9i32, 10] {
        expected.extend_from_slice(&v.to_be_bytes());
    }
    expected.extend_from_slice(&11i64.to_be_bytes());
    assert_eq!(expected.len(), 68);
    assert_eq!(&stat.to_bytes()[..], &expected[..]);
}

#[test]
fn primitives_are_big_endian_and_length_prefixed() {
    let acl = Acl::new(31, Id::new("world", "anyone"));
    let mut expected = vec![0, 0, 0, 31, 0, 0, 0, 5];
    expected.extend_from_slice(b"world");
    expected.extend_from_slice(&[0, 0, 0, 6]);
    expected.extend_from_slice(b"anyone");
    assert_eq!(&acl.to_bytes()[..], &expected[..]);

    let watch = GetDataRequest {
        path: "/a".into(),
        watch: true,
    };
    assert_eq!(&watch.to_bytes()[..], b"\x00\x00\x00\x02/a\x01");
}

#[test]
fn null_string_decodes_as_empty_and_null_data_stays_null() {
    // ustring -1, buffer -1, int version
    let body = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 3];
    let req = SetDataRequest::from_bytes(bytes::Bytes::copy_from_slice(&body)).unwrap();
    assert_eq!(
        req,
        SetDataRequest {
            path: String::new(),
            data: None,
            version: 3
        }
    );
}

/// ZooKeeper keeps null znode data apart from empty data: every record carrying node data
/// writes null as length −1 and empty as length 0, and reads each back as it was.
#[test]
fn null_and_empty_data_round_trip_apart() {
    let null_len = [0xff, 0xff, 0xff, 0xff];
    let empty_len = [0, 0, 0, 0];
    for (data, len) in [(None, null_len), (Some(bytes::Bytes::new()), empty_len)] {
        let set = SetDataRequest {
            path: "/a".into(),
            data: data.clone(),
            version: -1,
        };
        let wire = set.to_bytes();
        assert_eq!(&wire[6..10], &len, "setData data length");
        assert_eq!(SetDataRequest::from_bytes(wire).unwrap(), set);

        let create = CreateRequest {
            path: "/a".into(),
            data: data.clone(),
            acl: Acl::open_unsafe(),
            flags: 0,
        };
        let wire = create.to_bytes();
        assert_eq!(&wire[6..10], &len, "create data length");
        assert_eq!(CreateRequest::from_bytes(wire).unwrap(), create);

        let ttl = CreateTtlRequest {
            path: "/a".into(),
            data: data.clone(),
            acl: Acl::open_unsafe(),
            flags: 5,
            ttl: 100,
        };
        assert_eq!(CreateTtlRequest::from_bytes(ttl.to_bytes()).unwrap(), ttl);

        let reply = GetDataResponse {
            data: data.clone(),
            stat: Stat::default(),
        };
        let wire = reply.to_bytes();
        assert_eq!(&wire[..4], &len, "getData reply data length");
        assert_eq!(GetDataResponse::from_bytes(wire).unwrap(), reply);

        let ops = vec![
            MultiOp::Create(CreateOp {
                op: OpCode::Create2,
                path: "/a".into(),
                data: data.clone(),
                acl: Acl::open_unsafe(),
                flags: 0,
                ttl: 0,
            }),
            MultiOp::SetData(set.clone()),
        ];
        let request = Request::Multi(ops);
        let mut wire = bytes::BytesMut::new();
        request.encode(&mut wire);
        let mut r = Reader::new(wire.freeze());
        assert_eq!(Request::decode(OpCode::Multi, &mut r).unwrap(), request);

        let results = vec![MultiResult::GetData {
            data: data.clone(),
            stat: Stat::default(),
        }];
        let mut wire = bytes::BytesMut::new();
        jute::multi::encode_multi_response(&results, &mut wire);
        let mut r = Reader::new(wire.freeze());
        assert_eq!(jute::multi::decode_multi_response(&mut r).unwrap(), results);
    }
}

#[test]
fn negative_vector_count_reads_as_empty_like_zookeeper() {
    // ZooKeeper 3.8 answers a create whose ACL count is -2 with InvalidACL: it read no ACL.
    let mut body = Vec::new();
    body.extend_from_slice(&2i32.to_be_bytes());
    body.extend_from_slice(b"/a");
    body.extend_from_slice(&0i32.to_be_bytes());
    body.extend_from_slice(&(-2i32).to_be_bytes());
    body.extend_from_slice(&0i32.to_be_bytes());
    let req = CreateRequest::from_bytes(bytes::Bytes::from(body)).unwrap();
    assert!(req.acl.is_empty());
    assert_eq!(req.path, "/a");
}

#[test]
fn invalid_utf8_decodes_with_replacement_like_zookeeper() {
    let body = [0, 0, 0, 3, b'/', 0xff, 0xfe, 0];
    let req = GetDataRequest::from_bytes(bytes::Bytes::copy_from_slice(&body)).unwrap();
    assert_eq!(req.path, "/\u{fffd}\u{fffd}");
}

#[test]
fn trailing_bytes_are_rejected_by_from_bytes() {
    let mut body = SyncRequest { path: "/".into() }.to_bytes().to_vec();
    body.push(0);
    assert!(SyncRequest::from_bytes(bytes::Bytes::from(body)).is_err());
}
