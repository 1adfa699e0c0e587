//! The read side and the small APIs the server needs beyond apply: four-letter-word numbers,
//! sessions, ACL checks, snapshot rebuild errors. Numbers marked "observed" were read from a
//! real ZooKeeper 3.8 (`mntr`) after the same writes.

use bytes::Bytes;
use jute::proto::{DeleteRequest, SetDataRequest};
use jute::{perms, Acl, CreateOp, ErrorCode, EventType, Id, OpCode};
use tree::{
    is_reserved_session_id, DataTree, Identity, PersistedStat, RestoreError, TreeBuilder,
    TreeConfig, Txn, TxnHeader, TxnOutput,
};

const S1: i64 = 0x0100_0000_0000_0001;
const S2: i64 = 0x0100_0000_0000_0002;

struct Log {
    tree: DataTree,
    zxid: i64,
}

impl Log {
    fn new(config: TreeConfig) -> Self {
        Self {
            tree: DataTree::with_config(config),
            zxid: 0,
        }
    }

    fn apply(&mut self, session_id: i64, txn: Txn) -> tree::Applied {
        self.zxid += 1;
        let header = TxnHeader {
            zxid: self.zxid,
            time_ms: self.zxid * 1000,
            session_id,
        };
        self.tree.apply(&header, &Identity::default(), &txn)
    }

    fn session(&mut self, id: i64) {
        let applied = self.apply(
            id,
            Txn::CreateSession {
                timeout_ms: 4000,
                passwd: Bytes::from_static(b"secret"),
            },
        );
        assert_eq!(applied.result, Ok(TxnOutput::SessionCreated));
    }

    fn create(
        &mut self,
        session_id: i64,
        path: &str,
        data: &'static [u8],
        flags: i32,
    ) -> tree::Applied {
        self.apply(
            session_id,
            Txn::Create(CreateOp {
                op: OpCode::Create,
                path: path.to_string(),
                data: Some(Bytes::from_static(data)),
                acl: Acl::open_unsafe(),
                flags,
                ttl: 0,
            }),
        )
    }
}

#[test]
fn four_letter_word_numbers_match_zookeeper() {
    let mut log = Log::new(TreeConfig::default());
    // observed on a fresh server: zk_znode_count 5 (ours + the root alias), zk_approximate_data_size 44
    assert_eq!(log.tree.node_count() + 1, 5);
    assert_eq!(log.tree.approximate_data_size(), 44);
    log.session(S1);
    log.create(S1, "/abc", b"12345", 0);
    log.create(S1, "/e", b"", 1);
    // observed after the same two creates: 7, 55, and one ephemeral
    assert_eq!(log.tree.node_count() + 1, 7);
    assert_eq!(log.tree.approximate_data_size(), 55);
    assert_eq!(log.tree.ephemeral_count(), 1);
    log.apply(
        S1,
        Txn::SetData(SetDataRequest {
            path: "/abc".into(),
            data: Some(Bytes::from_static(b"1")),
            version: -1,
        }),
    );
    assert_eq!(log.tree.approximate_data_size(), 51);
}

#[test]
fn sessions_and_ephemerals_by_session() {
    let mut log = Log::new(TreeConfig::default());
    log.session(S2);
    log.session(S1);
    assert_eq!(log.tree.session_ids(), vec![S1, S2]);
    assert_eq!(log.tree.session(S1).map(|s| s.timeout_ms), Some(4000));
    log.create(S1, "/b", b"", 1);
    log.create(S1, "/a", b"", 1);
    log.create(S2, "/c", b"", 1);
    assert_eq!(
        log.tree.ephemerals_by_session(),
        vec![
            (S1, vec!["/a".to_string(), "/b".to_string()]),
            (S2, vec!["/c".to_string()])
        ]
    );
    let closed = log.apply(S1, Txn::CloseSession);
    assert_eq!(closed.result, Ok(TxnOutput::SessionClosed));
    let events: Vec<(EventType, &str)> = closed
        .triggers
        .iter()
        .map(|t| (t.event, &*t.path))
        .collect();
    assert_eq!(
        events,
        vec![
            (EventType::NodeDeleted, "/a"),
            (EventType::NodeChildrenChanged, "/"),
            (EventType::NodeDeleted, "/b"),
            (EventType::NodeChildrenChanged, "/"),
        ]
    );
    assert_eq!(log.tree.session_ids(), vec![S2]);
    assert!(log.tree.session(S1).is_none());
    assert_eq!(log.tree.ephemeral_count(), 1);
    // A closed session cannot write; an unknown one closes harmlessly.
    assert_eq!(
        log.create(S1, "/late", b"", 0).result,
        Err(ErrorCode::SessionExpired)
    );
    assert_eq!(
        log.apply(S1, Txn::CloseSession).result,
        Ok(TxnOutput::SessionClosed)
    );
}

#[test]
fn reserved_session_ids_are_refused() {
    let mut log = Log::new(TreeConfig::default());
    for id in [0, i64::MIN, -1, 0xff00_0000_0000_0001u64 as i64] {
        assert!(is_reserved_session_id(id));
        let applied = log.apply(
            id,
            Txn::CreateSession {
                timeout_ms: 1,
                passwd: Bytes::new(),
            },
        );
        assert_eq!(applied.result, Err(ErrorCode::BadArguments));
    }
    assert!(log.tree.session_ids().is_empty());
}

#[test]
fn ttl_nodes_need_extended_types_by_default() {
    let mut log = Log::new(TreeConfig::default());
    let applied = log.apply(
        0,
        Txn::Create(CreateOp {
            op: OpCode::CreateTtl,
            path: "/t".into(),
            data: Some(Bytes::new()),
            acl: Acl::open_unsafe(),
            flags: 5,
            ttl: 100,
        }),
    );
    assert_eq!(applied.result, Err(ErrorCode::Unimplemented));
    assert_eq!(log.tree.last_zxid(), 1);
}

#[test]
fn check_acl_reports_missing_and_denied() {
    let mut log = Log::new(TreeConfig::default());
    let identity = Identity {
        ids: vec![Id::new("ip", "10.0.0.1")],
    };
    assert_eq!(
        log.tree.check_acl("/none", perms::READ, &identity),
        Err(ErrorCode::NoNode)
    );
    assert_eq!(
        log.tree
            .check_acl("/zookeeper/config", perms::READ, &identity),
        Ok(())
    );
    assert_eq!(
        log.tree
            .check_acl("/zookeeper/config", perms::WRITE, &identity),
        Err(ErrorCode::NoAuth)
    );
    log.apply(
        0,
        Txn::Create(CreateOp {
            op: OpCode::Create,
            path: "/net".into(),
            data: Some(Bytes::new()),
            acl: vec![Acl::new(perms::READ, Id::new("ip", "10.0.0.0/8"))],
            flags: 0,
            ttl: 0,
        }),
    );
    assert_eq!(log.tree.check_acl("/net", perms::READ, &identity), Ok(()));
    assert_eq!(
        log.tree
            .check_acl("/net", perms::READ, &Identity::default()),
        Err(ErrorCode::NoAuth)
    );
}

#[test]
fn children_are_sorted_names_even_when_many() {
    let mut log = Log::new(TreeConfig::default());
    log.create(0, "/p", b"", 0);
    let mut expected = Vec::new();
    for i in (0..100).rev() {
        let name = format!("c{i:03}");
        log.create(0, &format!("/p/{name}"), b"", 0);
        expected.push(name);
    }
    expected.sort();
    let (children, stat) = log.tree.get_children("/p").expect("exists");
    assert_eq!(children, expected);
    assert_eq!(stat.num_children, 100);
    assert_eq!(log.tree.all_children_number("/p"), Some(100));
    for name in &expected[..60] {
        log.apply(
            0,
            Txn::Delete(DeleteRequest {
                path: format!("/p/{name}"),
                version: -1,
            }),
        );
    }
    let (children, stat) = log.tree.get_children("/p").expect("exists");
    assert_eq!(children, expected[60..].to_vec());
    // cversion counts 100 creations and 60 deletions
    assert_eq!(stat.cversion, 160);
}

#[test]
fn a_snapshot_clone_does_not_see_later_writes() {
    let mut log = Log::new(TreeConfig::default());
    log.create(0, "/a", b"1", 0);
    let snapshot = log.tree.clone();
    log.create(0, "/a/b", b"2", 0);
    log.apply(
        0,
        Txn::SetData(SetDataRequest {
            path: "/a".into(),
            data: Some(Bytes::from_static(b"changed")),
            version: -1,
        }),
    );
    assert!(snapshot.stat("/a/b").is_none());
    assert_eq!(
        snapshot.get_data("/a").and_then(|(d, _)| d),
        Some(Bytes::from_static(b"1"))
    );
    assert_eq!(snapshot.last_zxid(), 1);
    assert_eq!(
        log.tree.get_data("/a").and_then(|(d, _)| d),
        Some(Bytes::from_static(b"changed"))
    );
}

#[test]
fn rebuild_rejects_malformed_snapshots() {
    let stat = PersistedStat::default();
    let mut b = TreeBuilder::new(TreeConfig::default());
    assert_eq!(
        b.add_node("/a", Some(Bytes::new()), Acl::open_unsafe(), stat),
        Err(RestoreError::MissingParent("/a".into()))
    );
    assert_eq!(
        b.add_node("a", Some(Bytes::new()), Acl::open_unsafe(), stat),
        Err(RestoreError::InvalidPath("a".into()))
    );
    assert_eq!(
        TreeBuilder::new(TreeConfig::default()).finish(0).err(),
        Some(RestoreError::MissingRoot)
    );
    b.add_node("/", Some(Bytes::new()), Acl::open_unsafe(), stat)
        .expect("root");
    assert_eq!(
        b.add_node("/", Some(Bytes::new()), Acl::open_unsafe(), stat),
        Err(RestoreError::DuplicateNode("/".into()))
    );
    b.add_node("/a", Some(Bytes::new()), Acl::open_unsafe(), stat)
        .expect("child");
    let t = b.finish(42).expect("tree");
    assert_eq!(t.last_zxid(), 42);
    assert_eq!(
        t.get_children("/").map(|(c, _)| c),
        Some(vec!["a".to_string()])
    );
}

#[test]
fn rebuild_finds_quota_roots_and_recounts_usage() {
    let mut log = Log::new(TreeConfig::default());
    log.create(0, "/q", b"abc", 0);
    log.create(0, "/q/x", b"12", 0);
    log.create(0, "/zookeeper/quota/q", b"", 0);
    log.create(
        0,
        "/zookeeper/quota/q/zookeeper_limits",
        b"count=5,bytes=-1",
        0,
    );
    log.create(0, "/zookeeper/quota/q/zookeeper_stats", b"", 0);
    let mut b = TreeBuilder::new(TreeConfig::default());
    for n in log.tree.iter_nodes() {
        let data = if n.path.ends_with("zookeeper_stats") {
            Some(Bytes::from_static(b"count=99,bytes=99"))
        } else {
            n.data.cloned()
        };
        b.add_node(n.path, data, n.acl.to_vec(), n.stat)
            .expect("node");
    }
    let mut t = b.finish(log.zxid).expect("tree");
    let stats = |t: &DataTree| {
        t.get_data("/zookeeper/quota/q/zookeeper_stats")
            .and_then(|(d, _)| d)
    };
    assert_eq!(stats(&t), Some(Bytes::from_static(b"count=2,bytes=5")));
    t.apply(
        &TxnHeader {
            zxid: 100,
            time_ms: 0,
            session_id: 0,
        },
        &Identity::default(),
        &Txn::Create(CreateOp {
            op: OpCode::Create,
            path: "/q/y".into(),
            data: Some(Bytes::from_static(b"1234")),
            acl: Acl::open_unsafe(),
            flags: 0,
            ttl: 0,
        }),
    );
    assert_eq!(stats(&t), Some(Bytes::from_static(b"count=3,bytes=9")));
}

#[test]
fn config_data_is_set_outside_the_log_as_zookeeper_does() {
    let mut log = Log::new(TreeConfig::default());
    log.create(0, "/a", b"1", 0);
    let size = log.tree.approximate_data_size();
    let text = b"server.1=127.0.0.1:2888:3888:participant\nversion=0";
    log.tree.set_config_data(text, 0, 1_700_000_000_000);
    let (data, stat) = log.tree.get_data("/zookeeper/config").expect("config node");
    assert_eq!(data.as_deref(), Some(&text[..]));
    // What `get -s /zookeeper/config` shows on a ZooKeeper 3.8 ensemble member (observed).
    assert_eq!((stat.czxid, stat.ctime, stat.mzxid), (0, 0, 0));
    assert_eq!(stat.mtime, 1_700_000_000_000);
    assert_eq!((stat.version, stat.aversion, stat.cversion), (-1, -1, 0));
    assert_eq!(stat.data_length, text.len() as i32);
    // No txn: the zxid does not move, and the node stays read-only.
    assert_eq!(log.tree.last_zxid(), 1);
    assert_eq!(log.tree.approximate_data_size(), size + text.len() as i64);
    let denied = log.apply(
        0,
        Txn::SetData(SetDataRequest {
            path: "/zookeeper/config".into(),
            data: Some(Bytes::from_static(b"x")),
            version: -1,
        }),
    );
    assert_eq!(denied.result, Err(ErrorCode::NoAuth));
}

#[test]
fn config_data_brings_back_a_missing_config_node() {
    let stat = PersistedStat::default();
    let mut b = TreeBuilder::new(TreeConfig::default());
    b.add_node("/", Some(Bytes::new()), Acl::open_unsafe(), stat)
        .expect("root");
    b.add_node("/zookeeper", Some(Bytes::new()), Acl::open_unsafe(), stat)
        .expect("/zookeeper");
    let mut t = b.finish(7).expect("tree");
    assert!(t.stat("/zookeeper/config").is_none());
    t.set_config_data(b"version=0", 0x1_0000_0003, 5);
    let (acl, stat) = t.get_acl("/zookeeper/config").expect("config node");
    assert_eq!(acl, Acl::read_unsafe());
    assert_eq!((stat.aversion, stat.version), (-1, -1));
    assert_eq!(stat.mzxid, 0x1_0000_0003);
    // Added without counting as a creation, as ZooKeeper's addConfigNode does: copyStat's
    // `2 × cversion − children` then shows -1.
    assert_eq!(
        t.get_children("/zookeeper").map(|(c, s)| (c, s.cversion)),
        Some((vec!["config".to_string()], -1))
    );
    assert_eq!(t.last_zxid(), 7);
}
