//! Null znode data (a create or setData with a null buffer) stays apart from empty data through
//! every way a tree is rebuilt: set, snapshot, and replay of the logged txns. ZooKeeper keeps the
//! two apart end to end; what it answers is recorded in `testdata/null_data.txt`.

use bytes::{Bytes, BytesMut};
use jute::proto::SetDataRequest;
use jute::{Acl, CreateOp, MultiOp, OpCode, Reader};
use tree::codec::{decode_txn, encode_txn};
use tree::snapshot::{read_snapshot, write_snapshot, SnapshotError};
use tree::{DataTree, Identity, TreeConfig, Txn, TxnHeader};

fn create(path: &str, data: Option<&'static [u8]>) -> Txn {
    Txn::Create(CreateOp {
        op: OpCode::Create2,
        path: path.to_string(),
        data: data.map(Bytes::from_static),
        acl: Acl::open_unsafe(),
        flags: 0,
        ttl: 0,
    })
}

fn set(path: &str, data: Option<&'static [u8]>) -> Txn {
    Txn::SetData(SetDataRequest {
        path: path.to_string(),
        data: data.map(Bytes::from_static),
        version: -1,
    })
}

/// Creates, sets and a multi that leave null, empty and non-empty nodes behind.
fn txns() -> Vec<Txn> {
    vec![
        create("/null", None),
        create("/empty", Some(b"")),
        create("/full", Some(b"abc")),
        create("/was-null", None),
        set("/was-null", Some(b"x")),
        create("/was-empty", Some(b"")),
        set("/was-empty", None),
        create("/was-full", Some(b"abc")),
        set("/was-full", None),
        Txn::Multi(vec![
            MultiOp::Create(CreateOp {
                op: OpCode::Create,
                path: "/m".into(),
                data: None,
                acl: Acl::open_unsafe(),
                flags: 0,
                ttl: 0,
            }),
            MultiOp::SetData(SetDataRequest {
                path: "/empty".into(),
                data: Some(Bytes::new()),
                version: -1,
            }),
        ]),
    ]
}

/// What a client reading each node gets: `None` for null data.
const EXPECTED: [(&str, Option<&[u8]>); 8] = [
    ("/null", None),
    ("/empty", Some(b"")),
    ("/full", Some(b"abc")),
    ("/was-null", Some(b"x")),
    ("/was-empty", None),
    ("/was-full", None),
    ("/m", None),
    ("/", Some(b"")),
];

fn apply_all(tree: &mut DataTree, txns: &[Txn]) {
    for (i, txn) in txns.iter().enumerate() {
        let zxid = tree.last_zxid() + 1;
        let header = TxnHeader {
            zxid,
            time_ms: zxid * 1000,
            session_id: 0,
        };
        let applied = tree.apply(&header, &Identity::default(), txn);
        assert!(
            applied.result.is_ok(),
            "txn {i} failed: {:?}",
            applied.result
        );
    }
}

fn assert_data(tree: &DataTree, how: &str) {
    for (path, expected) in EXPECTED {
        let (data, stat) = tree.get_data(path).expect("node exists");
        assert_eq!(data.as_deref(), expected, "{how}: data of {path}");
        assert_eq!(
            stat.data_length as usize,
            expected.map_or(0, <[u8]>::len),
            "{how}: dataLength of {path} (0 for null)"
        );
    }
}

fn built() -> DataTree {
    let mut tree = DataTree::new();
    apply_all(&mut tree, &txns());
    tree
}

#[test]
fn null_and_empty_survive_create_and_set() {
    let tree = built();
    assert_data(&tree, "applied");
    // Null data counts as no bytes, as in ZooKeeper's zk_approximate_data_size.
    let paths: i64 = tree
        .iter_nodes()
        .map(|n| n.path.encode_utf16().count() as i64)
        .sum();
    assert_eq!(tree.approximate_data_size(), paths + 3 + 1);
}

#[test]
fn null_and_empty_survive_a_snapshot() {
    let tree = built();
    let mut bytes = Vec::new();
    write_snapshot(&tree, &mut bytes).expect("write to memory");
    let back = read_snapshot(&mut bytes.as_slice(), TreeConfig::default()).expect("read back");
    assert_data(&back, "snapshot");
    assert_eq!(back.approximate_data_size(), tree.approximate_data_size());
    let nulls = |t: &DataTree| -> Vec<String> {
        t.iter_nodes()
            .filter(|n| n.data.is_none())
            .map(|n| n.path.to_string())
            .collect()
    };
    assert_eq!(nulls(&back), nulls(&tree));
}

#[test]
fn version_1_snapshots_still_read_and_had_no_null_data() {
    // Version 1 stored null data as empty; without null data or sessions it is byte for byte
    // the version written now.
    let mut tree = DataTree::new();
    apply_all(
        &mut tree,
        &[create("/empty", Some(b"")), create("/full", Some(b"abc"))],
    );
    let mut bytes = Vec::new();
    write_snapshot(&tree, &mut bytes).expect("write to memory");
    assert_eq!(&bytes[..8], b"FKTREE\x00\x03", "writes version 3");
    bytes[7] = 1;
    let back = read_snapshot(&mut bytes.as_slice(), TreeConfig::default()).expect("version 1");
    assert_eq!(
        back.get_data("/full").and_then(|(d, _)| d),
        Some(Bytes::from_static(b"abc"))
    );
    assert_eq!(
        back.get_data("/empty").and_then(|(d, _)| d),
        Some(Bytes::new())
    );

    // Version 1 has no null marker: the marker's length is as impossible there as it was.
    let mut null_tree = DataTree::new();
    apply_all(&mut null_tree, &[create("/null", None)]);
    let mut bytes = Vec::new();
    write_snapshot(&null_tree, &mut bytes).expect("write to memory");
    bytes[7] = 1;
    let err = read_snapshot(&mut bytes.as_slice(), TreeConfig::default()).unwrap_err();
    assert!(
        matches!(err, SnapshotError::BadLength { field: "data", .. }),
        "{err}"
    );

    for version in [0u8, 4] {
        bytes[7] = version;
        let err = read_snapshot(&mut bytes.as_slice(), TreeConfig::default()).unwrap_err();
        assert!(matches!(err, SnapshotError::BadMagic), "version {version}");
    }
}

#[test]
fn null_and_empty_survive_log_replay() {
    // What the log holds: each txn in its log encoding, decoded again on replay.
    let replayed: Vec<Txn> = txns()
        .iter()
        .map(|txn| {
            let mut out = BytesMut::new();
            encode_txn(txn, &mut out);
            let mut r = Reader::new(out.freeze());
            let back = decode_txn(&mut r).expect("decode");
            assert!(r.is_empty());
            back
        })
        .collect();
    assert_eq!(replayed, txns());
    let mut tree = DataTree::new();
    apply_all(&mut tree, &replayed);
    assert_data(&tree, "replayed");

    // Replay on top of a snapshot taken part-way gives the same tree.
    let all = txns();
    let mut first = DataTree::new();
    apply_all(&mut first, &all[..5]);
    let mut bytes = Vec::new();
    write_snapshot(&first, &mut bytes).expect("write to memory");
    let mut resumed = read_snapshot(&mut bytes.as_slice(), TreeConfig::default()).expect("read");
    apply_all(&mut resumed, &replayed[5..]);
    assert_data(&resumed, "snapshot + replay");
}
