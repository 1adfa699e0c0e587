//! Proptest strategies shared by the round-trip and no-panic tests.
#![allow(dead_code)]

use bytes::Bytes;
use jute::proto::*;
use jute::{Acl, ClientInfo, CreateOp, ErrorCode, Id, MultiOp, MultiResult, OpCode, Request, Stat};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

/// Builds a record from one strategy per field, in field order.
#[macro_export]
macro_rules! arb {
    ($name:ident { $($field:ident : $strat:expr),* $(,)? }) => {
        ( $($strat,)* ).prop_map(|( $($field,)* )| $name { $($field),* })
    };
}

/// Any Unicode string, short: jute strings are UTF-8 with a byte length.
pub fn string() -> impl Strategy<Value = String> {
    vec(any::<char>(), 0..12).prop_map(|c| c.into_iter().collect())
}

/// A few strings.
pub fn strings() -> impl Strategy<Value = Vec<String>> {
    vec(string(), 0..5)
}

/// Any bytes, short.
pub fn bytes() -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..48).prop_map(Bytes::from)
}

/// Znode data: null (`None`, length −1 on the wire) or any short bytes, empty included.
pub fn data() -> impl Strategy<Value = Option<Bytes>> {
    proptest::option::of(bytes())
}

/// Any identity.
pub fn id() -> impl Strategy<Value = Id> {
    arb!(Id {
        scheme: string(),
        id: string()
    })
}

/// Any ACL entry.
pub fn acl() -> impl Strategy<Value = Acl> {
    arb!(Acl {
        perms: any::<i32>(),
        id: id()
    })
}

/// A few ACL entries.
pub fn acls() -> impl Strategy<Value = Vec<Acl>> {
    vec(acl(), 0..4)
}

/// Any stat.
pub fn stat() -> impl Strategy<Value = Stat> {
    arb!(Stat {
        czxid: any::<i64>(),
        mzxid: any::<i64>(),
        ctime: any::<i64>(),
        mtime: any::<i64>(),
        version: any::<i32>(),
        cversion: any::<i32>(),
        aversion: any::<i32>(),
        ephemeral_owner: any::<i64>(),
        data_length: any::<i32>(),
        num_children: any::<i32>(),
        pzxid: any::<i64>(),
    })
}

/// Any identity `whoAmI` could report.
pub fn client_info() -> impl Strategy<Value = ClientInfo> {
    arb!(ClientInfo {
        auth_scheme: string(),
        user: string()
    })
}

/// Every error code ZooKeeper defines.
pub fn all_error_codes() -> Vec<ErrorCode> {
    (-200..=0).filter_map(ErrorCode::from_i32).collect()
}

/// Any defined error code.
pub fn error_code() -> impl Strategy<Value = ErrorCode> {
    select(all_error_codes())
}

/// Any create, with a TTL only where `createTTL` carries one.
pub fn create_op() -> impl Strategy<Value = CreateOp> {
    (
        select(vec![
            OpCode::Create,
            OpCode::Create2,
            OpCode::CreateContainer,
            OpCode::CreateTtl,
        ]),
        string(),
        data(),
        acls(),
        any::<i32>(),
        any::<i64>(),
    )
        .prop_map(|(op, path, data, acl, flags, ttl)| CreateOp {
            op,
            path,
            data,
            acl,
            flags,
            ttl: if op == OpCode::CreateTtl { ttl } else { 0 },
        })
}

/// Any op allowed in a multi or multiRead.
pub fn multi_op() -> impl Strategy<Value = MultiOp> {
    prop_oneof![
        create_op().prop_map(MultiOp::Create),
        arb!(DeleteRequest {
            path: string(),
            version: any::<i32>()
        })
        .prop_map(MultiOp::Delete),
        arb!(SetDataRequest {
            path: string(),
            data: data(),
            version: any::<i32>()
        })
        .prop_map(MultiOp::SetData),
        arb!(CheckVersionRequest {
            path: string(),
            version: any::<i32>()
        })
        .prop_map(MultiOp::Check),
        arb!(GetChildrenRequest {
            path: string(),
            watch: any::<bool>()
        })
        .prop_map(MultiOp::GetChildren),
        arb!(GetDataRequest {
            path: string(),
            watch: any::<bool>()
        })
        .prop_map(MultiOp::GetData),
    ]
}

/// Any result of a multi op, in the shapes the wire can carry: a plain create has no stat, every
/// other create answers as create2.
pub fn multi_result() -> impl Strategy<Value = MultiResult> {
    prop_oneof![
        string().prop_map(|path| MultiResult::Create {
            op: OpCode::Create,
            path,
            stat: Stat::default()
        }),
        (string(), stat()).prop_map(|(path, stat)| MultiResult::Create {
            op: OpCode::Create2,
            path,
            stat
        }),
        Just(MultiResult::Delete),
        stat().prop_map(|stat| MultiResult::SetData { stat }),
        Just(MultiResult::Check),
        strings().prop_map(|children| MultiResult::GetChildren { children }),
        (data(), stat()).prop_map(|(data, stat)| MultiResult::GetData { data, stat }),
        error_code().prop_map(|err| MultiResult::Error { err }),
    ]
}

/// Any setWatches2 body.
pub fn set_watches2() -> impl Strategy<Value = SetWatches2> {
    arb!(SetWatches2 {
        relative_zxid: any::<i64>(),
        data_watches: strings(),
        exist_watches: strings(),
        child_watches: strings(),
        persistent_watches: strings(),
        persistent_recursive_watches: strings(),
    })
}

/// Any request a client can send, every variant.
pub fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        create_op().prop_map(Request::Create),
        arb!(DeleteRequest {
            path: string(),
            version: any::<i32>()
        })
        .prop_map(Request::Delete),
        arb!(ExistsRequest {
            path: string(),
            watch: any::<bool>()
        })
        .prop_map(Request::Exists),
        arb!(GetDataRequest {
            path: string(),
            watch: any::<bool>()
        })
        .prop_map(Request::GetData),
        arb!(SetDataRequest {
            path: string(),
            data: data(),
            version: any::<i32>()
        })
        .prop_map(Request::SetData),
        arb!(GetAclRequest { path: string() }).prop_map(Request::GetAcl),
        arb!(SetAclRequest {
            path: string(),
            acl: acls(),
            version: any::<i32>()
        })
        .prop_map(Request::SetAcl),
        arb!(GetChildrenRequest {
            path: string(),
            watch: any::<bool>()
        })
        .prop_map(Request::GetChildren),
        arb!(GetChildren2Request {
            path: string(),
            watch: any::<bool>()
        })
        .prop_map(Request::GetChildren2),
        arb!(SyncRequest { path: string() }).prop_map(Request::Sync),
        Just(Request::Ping),
        arb!(CheckVersionRequest {
            path: string(),
            version: any::<i32>()
        })
        .prop_map(Request::Check),
        vec(multi_op(), 0..6).prop_map(Request::Multi),
        vec(multi_op(), 0..6).prop_map(Request::MultiRead),
        arb!(ReconfigRequest {
            joining_servers: prop::option::of(string()),
            leaving_servers: prop::option::of(string()),
            new_members: prop::option::of(string()),
            cur_config_id: any::<i64>(),
        })
        .prop_map(Request::Reconfig),
        arb!(CheckWatchesRequest {
            path: string(),
            watcher_type: any::<i32>()
        })
        .prop_map(Request::CheckWatches),
        arb!(RemoveWatchesRequest {
            path: string(),
            watcher_type: any::<i32>()
        })
        .prop_map(Request::RemoveWatches),
        arb!(GetEphemeralsRequest {
            prefix_path: string()
        })
        .prop_map(Request::GetEphemerals),
        arb!(GetAllChildrenNumberRequest { path: string() })
            .prop_map(Request::GetAllChildrenNumber),
        arb!(AuthPacket {
            auth_type: any::<i32>(),
            scheme: string(),
            auth: bytes()
        })
        .prop_map(Request::Auth),
        set_watches2().prop_map(Request::SetWatches),
        arb!(GetSaslRequest { token: bytes() }).prop_map(Request::Sasl),
        arb!(AddWatchRequest {
            path: string(),
            mode: any::<i32>()
        })
        .prop_map(Request::AddWatch),
        Just(Request::WhoAmI),
        Just(Request::CloseSession),
    ]
}
