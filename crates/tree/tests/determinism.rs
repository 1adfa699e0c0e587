//! Property tests: random txn sequences give identical trees and results on every replica; a
//! failed txn (a failed multi above all) changes nothing; clones are independent; the indexes
//! agree with the nodes; a tree rebuilt from its own snapshot is the same tree.

use bytes::Bytes;
use jute::proto::{CheckVersionRequest, DeleteRequest, SetAclRequest, SetDataRequest};
use jute::{perms, Acl, CreateOp, Id, MultiOp, OpCode};
use proptest::prelude::*;
use tree::{digest_id, Applied, DataTree, Identity, NodeKind, TreeConfig, Txn, TxnHeader};

const SESSIONS: [i64; 3] = [0x0100_0000_0000_0001, 0x0100_0000_0000_0002, 0];

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => Just("/a"),
        5 => Just("/a/b"),
        3 => Just("/a/b/c"),
        4 => Just("/b"),
        3 => Just("/b/e"),
        2 => Just("/a/s-"),
        1 => Just("/"),
        1 => Just("/zookeeper"),
        1 => Just("bad"),
        1 => Just("/a/"),
    ]
    .prop_map(str::to_string)
}

fn version() -> impl Strategy<Value = i32> {
    prop_oneof![6 => Just(-1), 1 => 0..3i32]
}

fn acl() -> impl Strategy<Value = Vec<Acl>> {
    prop_oneof![
        12 => Just(Acl::open_unsafe()),
        1 => Just(Acl::read_unsafe()),
        1 => Just(vec![Acl::new(perms::ALL, Id::new("digest", digest_id("bob:pw")))]),
        1 => Just(vec![Acl::new(perms::ALL, Id::new("auth", ""))]),
        1 => Just(Vec::new()),
    ]
}

/// (op, flags, ttl): mostly well-formed node types, sometimes odd combinations.
fn create_kind() -> impl Strategy<Value = (OpCode, i32, i64)> {
    prop_oneof![
        6 => Just((OpCode::Create, 0, 0)),
        3 => Just((OpCode::Create2, 1, 0)),
        3 => Just((OpCode::Create, 2, 0)),
        2 => Just((OpCode::Create2, 3, 0)),
        2 => Just((OpCode::CreateContainer, 4, 0)),
        2 => Just((OpCode::CreateTtl, 5, 1000)),
        1 => Just((OpCode::CreateTtl, 6, 1000)),
        2 => (
            prop::sample::select(vec![OpCode::Create, OpCode::Create2, OpCode::CreateContainer, OpCode::CreateTtl]),
            -1..8i32,
            prop_oneof![Just(-1i64), Just(0), Just(1000)],
        ),
    ]
}

/// Node data: null (kept apart from empty, as ZooKeeper does) or a few bytes, empty included.
fn data() -> impl Strategy<Value = Option<Bytes>> {
    prop::option::of(prop::collection::vec(any::<u8>(), 0..4).prop_map(Bytes::from))
}

fn create() -> impl Strategy<Value = CreateOp> {
    (create_kind(), path(), data(), acl()).prop_map(|((op, flags, ttl), path, data, acl)| {
        CreateOp {
            op,
            path,
            data,
            acl,
            flags,
            ttl,
        }
    })
}

fn multi_op() -> impl Strategy<Value = MultiOp> {
    prop_oneof![
        3 => create().prop_map(MultiOp::Create),
        1 => (path(), version()).prop_map(|(path, version)| MultiOp::Delete(DeleteRequest { path, version })),
        1 => (path(), version(), data()).prop_map(|(path, version, data)| MultiOp::SetData(SetDataRequest {
            path,
            data,
            version,
        })),
        1 => (path(), version()).prop_map(|(path, version)| MultiOp::Check(CheckVersionRequest { path, version })),
    ]
}

fn txn() -> impl Strategy<Value = Txn> {
    prop_oneof![
        2 => Just(Txn::CreateSession { timeout_ms: 10_000, passwd: Bytes::from_static(b"pw") }),
        1 => Just(Txn::CloseSession),
        5 => create().prop_map(Txn::Create),
        2 => (path(), version()).prop_map(|(path, version)| Txn::Delete(DeleteRequest { path, version })),
        2 => (path(), version(), data()).prop_map(|(path, version, data)| {
            Txn::SetData(SetDataRequest { path, data, version })
        }),
        1 => (path(), acl(), version()).prop_map(|(path, acl, version)| Txn::SetAcl(SetAclRequest { path, acl, version })),
        1 => (path(), version()).prop_map(|(path, version)| Txn::Check(CheckVersionRequest { path, version })),
        3 => prop::collection::vec(multi_op(), 0..4).prop_map(Txn::Multi),
        1 => path().prop_map(|path| Txn::DeleteExpired { path }),
    ]
}

fn identity() -> impl Strategy<Value = Identity> {
    prop::sample::select(vec![
        vec![Id::new("ip", "127.0.0.1")],
        vec![
            Id::new("ip", "127.0.0.1"),
            Id::new("digest", digest_id("bob:pw")),
        ],
        vec![
            Id::new("super", ""),
            Id::new("digest", digest_id("super:x")),
        ],
    ])
    .prop_map(|ids| Identity { ids })
}

/// (session, identity, time step, txn)
fn steps() -> impl Strategy<Value = Vec<(i64, Identity, i64, Txn)>> {
    prop::collection::vec(
        (
            prop_oneof![3 => Just(SESSIONS[0]), 2 => Just(SESSIONS[1]), 1 => Just(SESSIONS[2])],
            identity(),
            0..2000i64,
            txn(),
        ),
        1..60,
    )
}

fn config() -> TreeConfig {
    TreeConfig {
        extended_types_enabled: true,
        enforce_quota: true,
        container_max_never_used_ms: 5000,
    }
}

/// Everything observable about a tree, in a comparable form.
fn snapshot(t: &DataTree) -> Vec<String> {
    let mut out: Vec<String> = t
        .iter_nodes()
        .map(|n| {
            let (children, stat) = t.get_children(n.path).expect("listed node exists");
            format!(
                "{} {:?} {:?} {:?} {children:?} {stat:?}",
                n.path, n.data, n.acl, n.stat
            )
        })
        .collect();
    out.extend(t.sessions().map(|(id, e)| format!("session {id} {e:?}")));
    out.push(format!(
        "size={} ephemerals={:?} candidates={:?} count={}",
        t.approximate_data_size(),
        t.ephemerals_by_session(),
        t.expired_candidates(i64::MAX / 2),
        t.node_count()
    ));
    out
}

fn is_failure(applied: &Applied) -> bool {
    match &applied.result {
        Err(_) => true,
        Ok(output) => output.multi_error().is_some(),
    }
}

/// The indexes and derived counts agree with the nodes themselves.
fn check_invariants(t: &DataTree) {
    let mut size = 0i64;
    let mut ephemerals = 0;
    for n in t.iter_nodes() {
        size += n.path.encode_utf16().count() as i64 + n.data.map_or(0, |d| d.len() as i64);
        let (children, stat) = t.get_children(n.path).expect("node");
        assert_eq!(stat.num_children as usize, children.len());
        for child in &children {
            let child_path = if &**n.path == "/" {
                format!("/{child}")
            } else {
                format!("{}/{child}", n.path)
            };
            assert!(t.stat(&child_path).is_some(), "child {child_path} missing");
        }
        if &**n.path != "/" {
            let parent = match n.path.rfind('/') {
                Some(0) => "/",
                Some(i) => &n.path[..i],
                None => panic!("relative path stored"),
            };
            let (siblings, _) = t.get_children(parent).expect("parent exists");
            assert!(siblings.iter().any(|s| n.path.ends_with(&format!("/{s}"))));
        }
        if let NodeKind::Ephemeral(owner) = NodeKind::from_owner(n.stat.ephemeral_owner) {
            ephemerals += 1;
            assert!(
                t.session(owner).is_some(),
                "ephemeral {} outlived its session",
                n.path
            );
            assert!(t.ephemerals(owner, "/").contains(&n.path.to_string()));
            assert_eq!(stat.num_children, 0, "ephemeral with children");
        }
    }
    assert_eq!(ephemerals, t.ephemeral_count());
    assert_eq!(t.node_count(), t.iter_nodes().count());
    assert_eq!(t.all_children_number("/"), Some(t.node_count() as i32 - 1));
    // Quota usage rewrites stats nodes without updating the estimate, as ZooKeeper does; the
    // generated paths never touch /zookeeper/quota, so here it is exact.
    assert_eq!(size, t.approximate_data_size());
}

/// A tree rebuilt from its snapshot stream (`tree::snapshot`).
fn rebuild(t: &DataTree) -> DataTree {
    let mut bytes = Vec::new();
    tree::snapshot::write_snapshot(t, &mut bytes).expect("write to memory");
    tree::snapshot::read_snapshot(&mut &bytes[..], config()).expect("read back its own snapshot")
}

/// A txn after a trip through the log encoding (`tree::codec`).
fn through_log(txn: &Txn) -> Txn {
    let mut out = bytes::BytesMut::new();
    tree::codec::encode_txn(txn, &mut out);
    let mut r = jute::Reader::new(out.freeze());
    let back = tree::codec::decode_txn(&mut r).expect("decode its own encoding");
    assert!(r.is_empty(), "encoding left bytes behind");
    back
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn replicas_agree_and_failures_change_nothing(steps in steps()) {
        let mut a = DataTree::with_config(config());
        let mut b = DataTree::with_config(config());
        let mut time = 1_000_000i64;
        let open_sessions = SESSIONS[..2].iter().map(|s| {
            (*s, Identity::default(), 0, Txn::CreateSession { timeout_ms: 10_000, passwd: Bytes::new() })
        });
        let steps: Vec<_> = open_sessions.chain(steps).collect();
        for (zxid, (session, identity, step, txn)) in steps.iter().enumerate() {
            time += step;
            let header = TxnHeader { zxid: zxid as i64 + 1, time_ms: time, session_id: *session };
            let before = a.clone();
            let before_snapshot = snapshot(&a);
            let applied_a = a.apply(&header, identity, txn);
            // Replica b applies what it read back from the log, as a follower would.
            let applied_b = b.apply(&header, identity, &through_log(txn));
            prop_assert_eq!(&applied_a, &applied_b);
            prop_assert_eq!(snapshot(&a), snapshot(&b));
            prop_assert_eq!(a.last_zxid(), header.zxid);
            // The clone taken before the txn still shows the old tree.
            prop_assert_eq!(snapshot(&before), before_snapshot.clone());
            if is_failure(&applied_a) {
                prop_assert_eq!(snapshot(&a), before_snapshot);
                prop_assert!(applied_a.triggers.is_empty());
            }
            check_invariants(&a);
        }
        prop_assert_eq!(snapshot(&rebuild(&a)), snapshot(&a));
    }
}

fn oracle_path() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "/a/x", "/a/y", "/b/z", "/a/x/k", "/a/s-", "/a", "/b", "/c",
    ])
    .prop_map(str::to_string)
}

/// Creates whose meaning is the same inside a multi and on their own.
fn plain_create() -> impl Strategy<Value = CreateOp> {
    (
        prop::sample::select(vec![
            (OpCode::Create, 0, 0),
            (OpCode::Create2, 1, 0),
            (OpCode::Create, 2, 0),
            (OpCode::Create2, 3, 0),
            (OpCode::CreateContainer, 4, 0),
            (OpCode::CreateTtl, 5, 1000),
        ]),
        oracle_path(),
    )
        .prop_map(|((op, flags, ttl), path)| CreateOp {
            op,
            path,
            data: Some(Bytes::from_static(b"d")),
            acl: Acl::open_unsafe(),
            flags,
            ttl,
        })
}

fn oracle_op() -> impl Strategy<Value = MultiOp> {
    prop_oneof![
        3 => plain_create().prop_map(MultiOp::Create),
        2 => (oracle_path(), version()).prop_map(|(path, version)| MultiOp::Delete(DeleteRequest { path, version })),
        2 => (oracle_path(), version()).prop_map(|(path, version)| MultiOp::SetData(SetDataRequest {
            path,
            data: Some(Bytes::from_static(b"mm")),
            version,
        })),
        1 => (oracle_path(), version()).prop_map(|(path, version)| MultiOp::Check(CheckVersionRequest { path, version })),
    ]
}

fn standalone(op: &MultiOp) -> Txn {
    match op.clone() {
        MultiOp::Create(c) => Txn::Create(c),
        MultiOp::Delete(r) => Txn::Delete(r),
        MultiOp::SetData(r) => Txn::SetData(r),
        MultiOp::Check(r) => Txn::Check(r),
        other => panic!("not a write: {other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// A multi does exactly what its ops do one after another at the same zxid, or, if one of
    /// them fails, nothing at all, reporting ZooKeeper's per-op error pattern.
    #[test]
    fn multi_is_its_ops_in_sequence_or_nothing(
        seed in prop::collection::vec(plain_create(), 0..6),
        ops in prop::collection::vec(oracle_op(), 1..5),
    ) {
        let session = SESSIONS[0];
        let who = Identity::default();
        let mut base = DataTree::with_config(config());
        let open = TxnHeader { zxid: 1, time_ms: 1000, session_id: session };
        base.apply(&open, &who, &Txn::CreateSession { timeout_ms: 10_000, passwd: Bytes::new() });
        for (zxid, path) in [(2, "/a"), (3, "/b")] {
            let h = TxnHeader { zxid, time_ms: 1000, session_id: session };
            let create = CreateOp {
                op: OpCode::Create,
                path: path.to_string(),
                data: Some(Bytes::new()),
                acl: Acl::open_unsafe(),
                flags: 0,
                ttl: 0,
            };
            base.apply(&h, &who, &Txn::Create(create));
        }
        for (i, c) in seed.into_iter().enumerate() {
            let h = TxnHeader { zxid: i as i64 + 4, time_ms: 2000, session_id: session };
            base.apply(&h, &who, &Txn::Create(c));
        }
        let header = TxnHeader { zxid: 100, time_ms: 5000, session_id: session };
        let mut sequential = base.clone();
        let mut failed_at = None;
        let mut expected_triggers = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            let applied = sequential.apply(&header, &who, &standalone(op));
            match applied.result {
                Ok(_) => expected_triggers.extend(applied.triggers),
                Err(err) => {
                    failed_at = Some((i, err));
                    break;
                }
            }
        }
        let mut multi = base.clone();
        let applied = multi.apply(&header, &who, &Txn::Multi(ops.clone()));
        match failed_at {
            None => {
                prop_assert!(!is_failure(&applied));
                prop_assert_eq!(snapshot(&multi), snapshot(&sequential));
                prop_assert_eq!(applied.triggers, expected_triggers);
            }
            Some((index, err)) => {
                prop_assert_eq!(applied.result.as_ref().ok().and_then(|o| o.multi_error()), Some(err));
                let Ok(tree::TxnOutput::Multi { results }) = &applied.result else {
                    panic!("a failed multi still answers with results");
                };
                prop_assert_eq!(results.len(), ops.len());
                for (i, r) in results.iter().enumerate() {
                    let code = match r {
                        jute::MultiResult::Error { err } => *err,
                        other => panic!("failed multi with a success result {other:?}"),
                    };
                    let expected = match i.cmp(&index) {
                        std::cmp::Ordering::Less => jute::ErrorCode::Ok,
                        std::cmp::Ordering::Equal => err,
                        std::cmp::Ordering::Greater => jute::ErrorCode::RuntimeInconsistency,
                    };
                    prop_assert_eq!(code, expected);
                }
                prop_assert_eq!(snapshot(&multi), snapshot(&base));
                prop_assert!(applied.triggers.is_empty());
            }
        }
        check_invariants(&multi);
    }
}
