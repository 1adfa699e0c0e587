//! Records of `org.apache.zookeeper.proto`: the bodies of requests and responses.

use crate::data::{Acl, ClientInfo, Stat};
use crate::record;
use bytes::Bytes;

record! { RequestHeader { xid: i32, op: i32 } }
record! { ReplyHeader { xid: i32, zxid: i64, err: i32 } }

record! { GetDataRequest { path: String, watch: bool } }
record! { GetDataResponse { data: Bytes, stat: Stat } }
record! { SetDataRequest { path: String, data: Bytes, version: i32 } }
record! { SetDataResponse { stat: Stat } }
record! { CreateRequest { path: String, data: Bytes, acl: Vec<Acl>, flags: i32 } }
record! { CreateTtlRequest { path: String, data: Bytes, acl: Vec<Acl>, flags: i32, ttl: i64 } }
record! { CreateResponse { path: String } }
record! { Create2Response { path: String, stat: Stat } }
record! { DeleteRequest { path: String, version: i32 } }
record! { ExistsRequest { path: String, watch: bool } }
record! { ExistsResponse { stat: Stat } }
record! { GetChildrenRequest { path: String, watch: bool } }
record! { GetChildrenResponse { children: Vec<String> } }
record! { GetChildren2Request { path: String, watch: bool } }
record! { GetChildren2Response { children: Vec<String>, stat: Stat } }
record! { GetAllChildrenNumberRequest { path: String } }
record! { GetAllChildrenNumberResponse { total_number: i32 } }
record! { CheckVersionRequest { path: String, version: i32 } }
record! { SyncRequest { path: String } }
record! { SyncResponse { path: String } }
record! { GetAclRequest { path: String } }
record! { GetAclResponse { acl: Vec<Acl>, stat: Stat } }
record! { SetAclRequest { path: String, acl: Vec<Acl>, version: i32 } }
record! { SetAclResponse { stat: Stat } }
record! { AddWatchRequest { path: String, mode: i32 } }
record! { CheckWatchesRequest { path: String, watcher_type: i32 } }
record! { RemoveWatchesRequest { path: String, watcher_type: i32 } }
record! { GetEphemeralsRequest { prefix_path: String } }
record! { GetEphemeralsResponse { ephemerals: Vec<String> } }
record! { WhoAmIResponse { client_info: Vec<ClientInfo> } }
record! { WatcherEvent { event_type: i32, state: i32, path: String } }
record! { ErrorResponse { err: i32 } }
record! { AuthPacket { auth_type: i32, scheme: String, auth: Bytes } }
record! {
    SetWatches {
        relative_zxid: i64,
        data_watches: Vec<String>,
        exist_watches: Vec<String>,
        child_watches: Vec<String>,
    }
}
record! {
    SetWatches2 {
        relative_zxid: i64,
        data_watches: Vec<String>,
        exist_watches: Vec<String>,
        child_watches: Vec<String>,
        persistent_watches: Vec<String>,
        persistent_recursive_watches: Vec<String>,
    }
}
record! {
    ReconfigRequest {
        joining_servers: String,
        leaving_servers: String,
        new_members: String,
        cur_config_id: i64,
    }
}
record! { GetSaslRequest { token: Bytes } }
record! { SetSaslResponse { token: Bytes } }
record! { MultiHeader { op: i32, done: bool, err: i32 } }
