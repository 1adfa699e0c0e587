//! Session owners (ZooKeeper's `checkSession(id, owner)`): a write proposed by a member other
//! than the one holding the session fails with SESSIONMOVED and changes nothing; owners survive
//! a snapshot; version 2 snapshots (from before owners existed) read with no owner.

use bytes::Bytes;
use jute::proto::SetDataRequest;
use jute::{Acl, CreateOp, ErrorCode, MultiOp, OpCode};
use tree::snapshot::{read_snapshot, write_snapshot};
use tree::{DataTree, Identity, TreeConfig, Txn, TxnHeader};

fn header(zxid: i64, session_id: i64) -> TxnHeader {
    TxnHeader {
        zxid,
        time_ms: 1_000,
        session_id,
    }
}

fn set(path: &str, data: &[u8]) -> Txn {
    Txn::SetData(SetDataRequest {
        path: path.into(),
        data: Some(Bytes::copy_from_slice(data)),
        version: -1,
    })
}

fn create(path: &str) -> Txn {
    Txn::Create(CreateOp {
        op: OpCode::Create,
        path: path.into(),
        data: Some(Bytes::new()),
        acl: Acl::open_unsafe(),
        flags: 0,
        ttl: 0,
    })
}

const S: i64 = 0x100;

/// A tree with session `S` created through member 1 and `/n` written by it.
fn owned_by_one() -> DataTree {
    let mut tree = DataTree::new();
    let nobody = Identity::default();
    let open = Txn::CreateSession {
        timeout_ms: 10_000,
        passwd: Bytes::from_static(&[0; 16]),
    };
    assert!(tree
        .apply_from(&header(1, S), &nobody, &open, 1)
        .result
        .is_ok());
    assert!(tree
        .apply_from(&header(2, S), &nobody, &create("/n"), 1)
        .result
        .is_ok());
    assert_eq!(tree.session(S).map(|s| s.owner), Some(1));
    tree
}

#[test]
fn a_write_from_another_member_is_refused_until_the_session_moves_there() {
    let mut tree = owned_by_one();
    let nobody = Identity::default();
    let refused = tree.apply_from(&header(3, S), &nobody, &set("/n", b"x"), 2);
    assert_eq!(refused.result.map(drop), Err(ErrorCode::SessionMoved));
    assert!(refused.triggers.is_empty());
    assert_eq!(
        tree.get_data("/n").map(|(d, _)| d),
        Some(Some(Bytes::new()))
    );
    assert_eq!(tree.last_zxid(), 3, "a refused txn still takes its zxid");

    // Housekeeping and replays of entries without an origin are not checked.
    assert!(tree
        .apply_from(&header(4, S), &nobody, &set("/n", b"h"), 0)
        .result
        .is_ok());

    tree.set_session_owner(S, 2);
    assert!(tree
        .apply_from(&header(5, S), &nobody, &set("/n", b"y"), 2)
        .result
        .is_ok());
    let stale = tree.apply_from(&header(6, S), &nobody, &set("/n", b"z"), 1);
    assert_eq!(stale.result.map(drop), Err(ErrorCode::SessionMoved));

    // A multi is refused as a whole.
    let multi = Txn::Multi(vec![MultiOp::SetData(SetDataRequest {
        path: "/n".into(),
        data: Some(Bytes::from_static(b"m")),
        version: -1,
    })]);
    let applied = tree.apply_from(&header(7, S), &nobody, &multi, 1);
    let output = applied.result.expect("a multi answers per op");
    assert_eq!(output.multi_error(), Some(ErrorCode::SessionMoved));
    assert_eq!(
        tree.get_data("/n").map(|(d, _)| d),
        Some(Some(Bytes::from_static(b"y")))
    );

    // Closing is not checked, as in ZooKeeper: expiry and a close from anywhere end it.
    assert!(tree
        .apply_from(&header(8, S), &nobody, &Txn::CloseSession, 1)
        .result
        .is_ok());
    assert!(tree.session(S).is_none());
}

#[test]
fn a_session_without_an_owner_takes_the_first_writer() {
    let mut tree = DataTree::new();
    let nobody = Identity::default();
    let open = Txn::CreateSession {
        timeout_ms: 10_000,
        passwd: Bytes::from_static(&[0; 16]),
    };
    // Created before owners existed (an old log replayed without origins).
    assert!(tree.apply(&header(1, S), &nobody, &open).result.is_ok());
    assert_eq!(tree.session(S).map(|s| s.owner), Some(0));
    assert!(tree
        .apply_from(&header(2, S), &nobody, &create("/a"), 3)
        .result
        .is_ok());
    assert_eq!(tree.session(S).map(|s| s.owner), Some(3));
    let other = tree.apply_from(&header(3, S), &nobody, &create("/b"), 1);
    assert_eq!(other.result.map(drop), Err(ErrorCode::SessionMoved));
}

#[test]
fn owners_survive_a_snapshot() {
    let tree = owned_by_one();
    let mut bytes = Vec::new();
    write_snapshot(&tree, &mut bytes).unwrap();
    let back = read_snapshot(&mut bytes.as_slice(), TreeConfig::default()).unwrap();
    assert_eq!(back.session(S).map(|s| s.owner), Some(1));
    assert_eq!(back.session(S), tree.session(S));
}

#[test]
fn version_2_snapshots_read_with_no_owner() {
    let tree = owned_by_one();
    let mut bytes = Vec::new();
    write_snapshot(&tree, &mut bytes).unwrap();
    assert_eq!(&bytes[..8], b"FKTREE\x00\x03");
    // Version 2 is version 3 without the owner after each session's password: magic, zxid,
    // session count, then id (8), timeout (4), password length (4) and 16 password bytes.
    let owner_at = 8 + 8 + 8 + 8 + 4 + 4 + 16;
    assert_eq!(&bytes[owner_at..owner_at + 8], &1u64.to_be_bytes());
    bytes.drain(owner_at..owner_at + 8);
    bytes[7] = 2;
    let back = read_snapshot(&mut bytes.as_slice(), TreeConfig::default()).unwrap();
    assert_eq!(back.session(S).map(|s| s.owner), Some(0));
    assert_eq!(back.node_count(), tree.node_count());
}
