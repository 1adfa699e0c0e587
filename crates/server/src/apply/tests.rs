//! The apply task driven directly: what a connection's outbound queue receives, in what order.

use super::*;
use crate::outbound::outbound_queue;
use crate::proposal::Origin;
use consensus::Committed;
use jute::proto::ExistsRequest;
use jute::OpCode;

const SESSION: i64 = 0x51;
const CONN: ConnId = 7;

fn task() -> ApplyTask {
    ApplyTask::new(
        DataTree::new(),
        Arc::new(SessionTracker::new()),
        Arc::new(AtomicI64::new(0)),
        1,
        None,
    )
}

fn commit(zxid: i64, origin: Option<Origin>, txn: Txn) -> ApplyInput {
    ApplyInput::Committed(vec![Committed {
        zxid,
        time_ms: 1,
        payload: Arc::new(Proposal {
            session_id: SESSION,
            origin,
            identity: Arc::default(),
            txn,
        }),
    }])
}

fn exists(xid: i32) -> ApplyInput {
    read_request(
        CONN,
        SESSION,
        xid,
        Arc::default(),
        Request::Exists(ExistsRequest {
            path: "/".into(),
            watch: true,
        }),
        0,
    )
}

#[tokio::test]
async fn an_expired_sessions_connection_gets_nothing_after_its_close() {
    let mut apply = task();
    let (tx, mut rx) = outbound_queue(None);
    apply.handle(ApplyInput::Register {
        conn_id: CONN,
        session_id: SESSION,
        outbound: tx,
        identity: Arc::default(),
    });
    let origin = Origin {
        server_id: 1,
        conn_id: CONN,
        xid: 0,
        op: OpCode::CreateSession,
    };
    let passwd = Bytes::from_static(&[1; 16]);
    apply.handle(commit(
        1,
        Some(origin),
        Txn::CreateSession {
            timeout_ms: 4000,
            passwd,
        },
    ));
    apply.handle(exists(1));
    // Expiry: server housekeeping closes the session. The read that the connection sent before
    // learning of it must go unanswered, and its watch must not outlive the session.
    apply.handle(commit(2, None, Txn::CloseSession));
    apply.handle(exists(2));
    let mut got = Vec::new();
    rx.recv_many(&mut got, 100).await;
    assert!(matches!(got[0], Outbound::Connected { .. }), "{got:?}");
    assert!(matches!(got[1], Outbound::Reply { xid: 1, .. }), "{got:?}");
    assert!(matches!(got[2], Outbound::Close), "{got:?}");
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(apply.watches.watch_count(), 0);
}
