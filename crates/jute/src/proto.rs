//! Records of `org.apache.zookeeper.proto`: the bodies of requests and responses, in the field
//! order of ZooKeeper 3.9's `zookeeper.jute`.
//!
//! Which reply body goes with which request (checked against ZooKeeper 3.8's replies):
//! an error reply (`err != 0`) has no body at all; `delete`, `setWatches`, `setWatches2`,
//! `checkWatches`, `removeWatches`, `closeSession`, `ping` and `auth` answer with the header only;
//! `addWatch` answers with an [`ErrorResponse`] of 0; a successful `check` outside a multi is
//! meant to answer a [`SetDataResponse`], but ZooKeeper 3.8 fails to serialise it and sends
//! nothing.

use crate::data::{Acl, ClientInfo, Stat};
use crate::record;
use bytes::Bytes;

record! {
    /// Precedes every request after the handshake. `op` is jute's `type`.
    RequestHeader { xid: i32, op: i32 }
}
record! {
    /// Precedes every reply. `zxid` is the server's last processed zxid (−1 on watch
    /// notifications in 3.8, the triggering zxid in 3.9; 0 on auth replies).
    ReplyHeader { xid: i32, zxid: i64, err: i32 }
}

record! {
    /// `getData` (op 4).
    GetDataRequest { path: String, watch: bool }
}
record! {
    /// Reply to `getData`, and the body of a `reconfig` reply. `data` is `None` for a node
    /// created or set with null data (ZooKeeper answers length −1 then, not an empty buffer).
    GetDataResponse { data: Option<Bytes>, stat: Stat }
}
record! {
    /// `setData` (op 5). `version` −1 matches any version; `data` `None` is null data.
    SetDataRequest { path: String, data: Option<Bytes>, version: i32 }
}
record! {
    /// Reply to `setData` (and, in principle, to a `check` outside a multi).
    SetDataResponse { stat: Stat }
}
record! {
    /// `create` (1), `create2` (15) and `createContainer` (19). `flags` is the `CreateMode`;
    /// `data` `None` is null data.
    CreateRequest { path: String, data: Option<Bytes>, acl: Vec<Acl>, flags: i32 }
}
record! {
    /// `createTTL` (op 21): a create with a time to live in milliseconds; `data` `None` is null
    /// data.
    CreateTtlRequest { path: String, data: Option<Bytes>, acl: Vec<Acl>, flags: i32, ttl: i64 }
}
record! {
    /// Reply to plain `create`.
    CreateResponse { path: String }
}
record! {
    /// Reply to `create2`, `createContainer` and `createTTL`.
    Create2Response { path: String, stat: Stat }
}
record! {
    /// `delete` (op 2). `version` −1 matches any version.
    DeleteRequest { path: String, version: i32 }
}
record! {
    /// `exists` (op 3). A missing node answers NoNode and may still leave a watch.
    ExistsRequest { path: String, watch: bool }
}
record! {
    /// Reply to `exists` on a node that exists.
    ExistsResponse { stat: Stat }
}
record! {
    /// `getChildren` (op 8).
    GetChildrenRequest { path: String, watch: bool }
}
record! {
    /// Reply to `getChildren`.
    GetChildrenResponse { children: Vec<String> }
}
record! {
    /// `getChildren2` (op 12): children plus the parent's stat.
    GetChildren2Request { path: String, watch: bool }
}
record! {
    /// Reply to `getChildren2`.
    GetChildren2Response { children: Vec<String>, stat: Stat }
}
record! {
    /// `getAllChildrenNumber` (op 104): the number of descendants.
    GetAllChildrenNumberRequest { path: String }
}
record! {
    /// Reply to `getAllChildrenNumber`.
    GetAllChildrenNumberResponse { total_number: i32 }
}
record! {
    /// `check` (op 13), inside a multi or on its own.
    CheckVersionRequest { path: String, version: i32 }
}
record! {
    /// `sync` (op 9).
    SyncRequest { path: String }
}
record! {
    /// Reply to `sync`: the path asked for.
    SyncResponse { path: String }
}
record! {
    /// `getACL` (op 6).
    GetAclRequest { path: String }
}
record! {
    /// Reply to `getACL`.
    GetAclResponse { acl: Vec<Acl>, stat: Stat }
}
record! {
    /// `setACL` (op 7). `version` is the ACL version (`aversion`), −1 for any.
    SetAclRequest { path: String, acl: Vec<Acl>, version: i32 }
}
record! {
    /// Reply to `setACL`.
    SetAclResponse { stat: Stat }
}
record! {
    /// `addWatch` (op 106). `mode` is an `AddWatchMode`. Answered with [`ErrorResponse`] 0.
    AddWatchRequest { path: String, mode: i32 }
}
record! {
    /// `checkWatches` (op 17). `watcher_type` is a `WatcherType` (jute's `type`).
    CheckWatchesRequest { path: String, watcher_type: i32 }
}
record! {
    /// `removeWatches` (op 18). `watcher_type` is a `WatcherType` (jute's `type`).
    RemoveWatchesRequest { path: String, watcher_type: i32 }
}
record! {
    /// `getEphemerals` (op 103): the session's ephemeral nodes under a prefix.
    GetEphemeralsRequest { prefix_path: String }
}
record! {
    /// Reply to `getEphemerals`.
    GetEphemeralsResponse { ephemerals: Vec<String> }
}
record! {
    /// Reply to `whoAmI` (op 107, which has no body).
    WhoAmIResponse { client_info: Vec<ClientInfo> }
}
record! {
    /// A watch notification's body (reply xid −1). `event_type` is an `EventType`, `state` a
    /// `KeeperState`.
    WatcherEvent { event_type: i32, state: i32, path: String }
}
record! {
    /// An error code as a body: the result of a failed op in a multi, and the reply to `addWatch`.
    ErrorResponse { err: i32 }
}
record! {
    /// `auth` (op 100, xid −4). `auth_type` is always 0 in practice.
    AuthPacket { auth_type: i32, scheme: String, auth: Bytes }
}
record! {
    /// `setWatches` (op 101, xid −8): the watches a client re-registers after reconnecting.
    SetWatches {
        relative_zxid: i64,
        data_watches: Vec<String>,
        exist_watches: Vec<String>,
        child_watches: Vec<String>,
    }
}
record! {
    /// `setWatches2` (op 105): [`SetWatches`] plus persistent watches.
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
    /// `reconfig` (op 16). Answered with a [`GetDataResponse`] of the new config. A null list is
    /// one not given (incremental changes give joining/leaving, a bulk change `new_members`).
    ReconfigRequest {
        joining_servers: Option<String>,
        leaving_servers: Option<String>,
        new_members: Option<String>,
        cur_config_id: i64,
    }
}
record! {
    /// `sasl` (op 102): a SASL token from the client (jute's `GetSASLRequest`).
    GetSaslRequest { token: Bytes }
}
record! {
    /// jute's `SetSASLRequest`: declared by the schema, sent by no 3.9 client.
    SetSaslRequest { token: Bytes }
}
record! {
    /// Reply to `sasl`: the server's SASL token.
    SetSaslResponse { token: Bytes }
}
record! {
    /// Precedes each op and each result of a multi; `done` ends the list (as −1, true, −1).
    /// `op` is jute's `type`; a result's `op` is −1 (error) with `err` its code.
    MultiHeader { op: i32, done: bool, err: i32 }
}
