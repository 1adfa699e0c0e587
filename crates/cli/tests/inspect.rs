//! `ferrokeeper inspect` on the files real servers wrote: a standalone server's write-ahead log and
//! snapshots, an ensemble member's Raft log and snapshots, and damaged copies of them. What it
//! prints is checked against what the clients wrote and what the live server reported.

mod common;

use client::blocking::Client;
use client::{CreateMode, CreateOptions, Stat};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use testkit::raw::RawClient;
use testkit::{ServerConfig, Target, TestEnsemble};

/// `ferrokeeper inspect <path> <args...>`.
fn inspect(path: &Path, args: &[&str]) -> Output {
    Command::new(common::fk_bin())
        .arg("inspect")
        .arg(path)
        .args(args)
        .output()
        .expect("run ferrokeeper inspect")
}

/// stdout of a run that must succeed.
fn inspect_ok(path: &Path, args: &[&str]) -> String {
    let out = inspect(path, args);
    assert!(
        out.status.success(),
        "inspect {} {args:?} failed: {}\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// The log line of the record with this zxid (text form: `... zxid 0x5 ...`).
fn record_line(out: &str, zxid: i64) -> &str {
    let needle = format!(" zxid {zxid:#x} ");
    let lines: Vec<&str> = out.lines().filter(|l| l.contains(&needle)).collect();
    assert_eq!(
        lines.len(),
        1,
        "expected one record with zxid {zxid:#x}:\n{out}"
    );
    lines[0]
}

/// The tree line of `path` (text form: `<path> czxid=...`).
fn node_line<'a>(out: &'a str, path: &str) -> Option<&'a str> {
    let prefix = format!("{path} czxid=");
    out.lines().find(|l| l.starts_with(&prefix))
}

/// The node line must show the stat the live server reported.
fn assert_node_matches(out: &str, path: &str, stat: &Stat) {
    let line = node_line(out, path).unwrap_or_else(|| panic!("{path} missing from tree:\n{out}"));
    for field in [
        format!("czxid={:#x}", stat.czxid),
        format!("mzxid={:#x}", stat.mzxid),
        format!("pzxid={:#x}", stat.pzxid),
        format!("version={}", stat.version),
        format!("cversion={}", stat.cversion),
        format!("dataLength={}", stat.data_length),
        format!("numChildren={}", stat.num_children),
        format!("ephemeralOwner={:#x}", stat.ephemeral_owner),
    ] {
        assert!(
            line.split(' ').any(|w| w == field),
            "{path}: expected {field} in\n{line}"
        );
    }
}

/// Waits until `dir` holds a snapshot taken at `zxid` or later (snapshots are written in the
/// background).
fn wait_for_snapshot(dir: &Path, zxid: i64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let newest = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let hex = name.strip_prefix("snapshot.")?;
                u64::from_str_radix(hex, 16).ok()
            })
            .max();
        if newest.is_some_and(|n| n >= zxid as u64) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no snapshot at or after zxid {zxid:#x} in {} (newest {newest:?})",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every zxid the text log lines name, in order.
fn logged_zxids(out: &str) -> Vec<u64> {
    out.lines()
        .filter_map(|l| {
            let rest = l.split(" zxid 0x").nth(1)?;
            let hex = rest.split(' ').next()?;
            u64::from_str_radix(hex, 16).ok()
        })
        .collect()
}

fn persistent() -> CreateOptions {
    CreateOptions::persistent()
}

/// What a standalone run wrote, with the live server's view of it.
struct Written {
    /// Keeps the server's directory until the test ends.
    server: testkit::TestServer,
    session: i64,
    ephemeral_session: i64,
    seq_path: String,
    /// The live stats of the nodes the snapshot must show.
    stats: Vec<(String, Stat)>,
    /// czxids of `/inspect`, the sequential node, the multi's node, `/inspect/gone`, the node
    /// with null data, the ephemeral.
    top: i64,
    seq: i64,
    multi: i64,
    gone: i64,
    null: i64,
    ephemeral: i64,
}

/// Starts a standalone server with a small snapCount, writes creates (sequential, ephemeral, in a
/// multi), a setData, a delete and enough filler for a snapshot that covers them, then kills it.
fn write_standalone() -> Written {
    let mut config = ServerConfig::default();
    config.extra.push(("snapCount".into(), "10".into()));
    let mut server = common::own_server(Target::Ferrokeeper, config);
    let zk = Client::connect(&server.connect_string()).expect("connect");
    let session = zk.session().id;
    let (_, top) = zk
        .create("/inspect", b"top", &persistent())
        .expect("create");
    let seq_options = persistent().with_mode(CreateMode::PersistentSequential);
    let (seq_path, seq) = zk
        .create("/inspect/seq-", b"s", &seq_options)
        .expect("create sequential");
    zk.multi(|m| {
        m.create("/inspect/m1", b"multi-data", &persistent())
            .set_data("/inspect", b"top2", None)
            .check("/inspect", 1)
    })
    .expect("multi");
    let (_, gone) = zk
        .create("/inspect/gone", b"", &persistent())
        .expect("create");
    zk.delete("/inspect/gone", None).expect("delete");
    let (_, null) = zk
        .create_opt("/inspect/null", None, &persistent())
        .expect("create with null data");
    // A session that stays open until the kill, so its ephemeral is in the snapshot.
    let mut raw = RawClient::connect(server.addr(), 30_000).expect("raw connect");
    let reply = raw
        .create("/inspect/eph", b"e", 1)
        .expect("create ephemeral");
    assert_eq!(reply.header.err, 0, "create ephemeral");
    zk.create("/filler", b"", &persistent()).expect("create");
    for i in 0..25 {
        zk.set_data("/filler", format!("{i}").as_bytes(), None)
            .expect("setData");
    }
    let stat = |path: &str| zk.exists(path).expect("exists").expect(path);
    let stats: Vec<(String, Stat)> = ["/inspect", &seq_path, "/inspect/m1", "/inspect/eph"]
        .iter()
        .map(|p| (p.to_string(), stat(p)))
        .collect();
    let (multi, ephemeral) = (stat("/inspect/m1").czxid, stat("/inspect/eph").czxid);
    wait_for_snapshot(&server.data_dir().join("snapshots"), ephemeral);
    drop(zk);
    server.kill();
    let ephemeral_session = raw.session_id;
    drop(raw);
    Written {
        server,
        session,
        ephemeral_session,
        seq_path,
        stats,
        top: top.czxid,
        seq: seq.czxid,
        multi,
        gone: gone.czxid,
        null: null.czxid,
        ephemeral,
    }
}

#[test]
fn standalone_log_and_snapshot_show_what_was_written() {
    let w = write_standalone();
    let data_dir = w.server.data_dir();
    let out = inspect_ok(&data_dir, &["--tree", "--data"]);

    // The log: every record from zxid 1 on, in order, without gaps.
    let zxids = logged_zxids(&out);
    assert!(!zxids.is_empty(), "no records:\n{out}");
    let expected: Vec<u64> = (1..=zxids.len() as u64).collect();
    assert_eq!(
        zxids, expected,
        "log records out of order or missing:\n{out}"
    );
    let session = format!("session {:#x} ", w.session);
    let top = record_line(&out, w.top);
    assert!(top.contains(&session), "{top}");
    assert!(
        top.ends_with("/inspect dataLength=3 acl=1 mode=PERSISTENT data='top'"),
        "{top}"
    );
    let seq = record_line(&out, w.seq);
    assert!(
        seq.ends_with("/inspect/seq- dataLength=1 acl=1 mode=PERSISTENT_SEQUENTIAL data='s'"),
        "the log holds the request, before the sequence suffix: {seq}"
    );
    let multi = record_line(&out, w.multi);
    for part in [
        " multi ops=[",
        "/inspect/m1 dataLength=10 acl=1 mode=PERSISTENT data='multi-data'",
        "; setData /inspect dataLength=4 version=-1 data='top2'",
        "; check /inspect version=1]",
    ] {
        assert!(multi.contains(part), "expected {part:?} in {multi}");
    }
    let deletes: Vec<&str> = out
        .lines()
        .filter(|l| l.ends_with(" delete /inspect/gone version=-1"))
        .collect();
    assert_eq!(deletes.len(), 1, "{out}");
    assert!(logged_zxids(deletes[0])[0] > w.gone as u64);
    // Null data prints as a bare null, apart from empty data ('').
    let null = record_line(&out, w.null);
    assert!(
        null.ends_with("/inspect/null dataLength=0 acl=1 mode=PERSISTENT data=null"),
        "{null}"
    );
    let eph = record_line(&out, w.ephemeral);
    assert!(
        eph.contains(&format!("session {:#x} ", w.ephemeral_session)),
        "{eph}"
    );
    assert!(
        eph.ends_with("/inspect/eph dataLength=1 acl=1 mode=EPHEMERAL data='e'"),
        "{eph}"
    );

    // The newest snapshot's tree agrees with the live server.
    for (path, stat) in &w.stats {
        assert_node_matches(&out, path, stat);
    }
    assert!(w.seq_path.starts_with("/inspect/seq-") && w.seq_path.len() > "/inspect/seq-".len());
    let m1 = node_line(&out, "/inspect/m1").unwrap_or_default();
    assert!(m1.ends_with(" data='multi-data'"), "{m1}");
    let null = node_line(&out, "/inspect/null").unwrap_or_default();
    assert!(
        null.contains(" dataLength=0 ") && null.ends_with(" data=null"),
        "{null}"
    );
    let built_in = node_line(&out, "/zookeeper").unwrap_or_default();
    assert!(built_in.ends_with(" data=''"), "empty data: {built_in}");
    assert!(
        node_line(&out, "/inspect/gone").is_none(),
        "deleted node in tree:\n{out}"
    );
    assert!(
        out.lines().any(
            |l| l.starts_with(&format!("session {:#x} ", w.ephemeral_session))
                && l.ends_with(" ephemerals=1")
        ),
        "the ephemeral's session is not in the snapshot's session table:\n{out}"
    );

    // The summary counts what is there.
    let summary = out.lines().last().unwrap_or_default();
    let records = zxids.len();
    assert!(
        summary.starts_with(&format!(
            "summary: {records} log records (zxid 0x1..{records:#x}), {records} shown; "
        )),
        "{summary}"
    );
    // A snapshot being written when the server was killed is left as `.tmp`; it is not one (the
    // server deletes it at the next start), and the summary rightly does not count it.
    let snapshots = std::fs::read_dir(data_dir.join("snapshots"))
        .expect("ls")
        .filter_map(Result::ok)
        .filter(|e| !e.file_name().to_string_lossy().ends_with(".tmp"))
        .count();
    assert!(
        summary.contains(&format!("; {snapshots} snapshots (latest at zxid 0x")),
        "{summary}"
    );

    // --from/--to/--limit select records; --json prints one object per line.
    let range = inspect_ok(
        &data_dir.join("wal"),
        &[
            "--from",
            &w.seq.to_string(),
            "--to",
            &format!("{:#x}", w.multi),
        ],
    );
    assert_eq!(
        logged_zxids(&range),
        (w.seq as u64..=w.multi as u64).collect::<Vec<_>>(),
        "{range}"
    );
    let limited = inspect_ok(&data_dir.join("wal"), &["--limit", "2"]);
    assert_eq!(logged_zxids(&limited), vec![1, 2], "{limited}");
    let json = inspect_ok(&data_dir, &["--json", "--tree"]);
    for line in json.lines() {
        assert!(
            line.starts_with("{\"type\":\"") && line.ends_with('}'),
            "{line}"
        );
    }
    let m1_json = format!(
        "{{\"type\":\"node\",\"path\":\"/inspect/m1\",\"czxid\":{},",
        w.multi
    );
    assert!(
        json.lines().any(|l| l.starts_with(&m1_json)),
        "{m1_json} missing:\n{json}"
    );
    assert!(
        json.lines().any(
            |l| l.starts_with(&format!("{{\"type\":\"txn\",\"zxid\":{},", w.multi))
                && l.contains("\"op\":\"multi\",\"ops\":[{\"op\":")
        ),
        "{json}"
    );
    let last = json.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!("{{\"type\":\"summary\",\"records\":{records},")),
        "{last}"
    );
}

/// A flipped byte in a log segment is reported with the file and the offset of the damaged
/// record, with a non-zero exit; a torn final record is only noted, and the file is not repaired.
#[test]
fn damage_is_reported_with_file_and_offset_and_nothing_is_repaired() {
    let w = write_standalone();
    let segment = std::fs::read_dir(w.server.data_dir().join("wal"))
        .expect("ls wal")
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("log."))
        })
        .expect("a segment");
    let original = std::fs::read(&segment).expect("read segment");

    // Cut the last record short, as a crash mid-write would. The segment is preallocated: its
    // records end where the zeros after them start.
    let written = original.iter().rposition(|&b| b != 0).expect("records") + 1;
    std::fs::write(&segment, &original[..written - 3]).expect("truncate");
    let out = inspect(&w.server.data_dir(), &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let zxids = logged_zxids(&stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with(&format!("note: {}", segment.display()))
                && l.contains("incomplete record")),
        "{stdout}"
    );
    assert_eq!(
        std::fs::metadata(&segment).expect("stat").len(),
        written as u64 - 3,
        "inspect changed the segment"
    );

    // Flip a byte inside the first record (the segment header is 32 bytes, a record header 20):
    // later records follow it, so it cannot be a torn write.
    let mut damaged = original.clone();
    damaged[32 + 20 + 4] ^= 0x40;
    std::fs::write(&segment, &damaged).expect("damage");
    let out = inspect(&w.server.data_dir(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "damage not detected:\n{stderr}");
    assert!(
        stderr.contains(&format!(
            "corrupt data in {} at byte offset 32",
            segment.display()
        )),
        "{stderr}"
    );
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains(" zxid 0x1 "),
        "a damaged record was printed"
    );
    assert_eq!(
        std::fs::read(&segment).expect("read"),
        damaged,
        "inspect changed the segment"
    );
    // The intact log had one record more than the torn one showed.
    std::fs::write(&segment, &original).expect("restore");
    assert_eq!(
        logged_zxids(&inspect_ok(&segment, &[])).len(),
        zxids.len() + 1
    );
}

/// An ensemble member's Raft log and Raft snapshot.
#[test]
fn ensemble_member_raft_log_and_snapshot() {
    let mut config = ServerConfig::default().with_binary(common::fk_bin());
    // The Raft snapshot policy takes snapCount, but at least 100 entries.
    config.extra.push(("snapCount".into(), "10".into()));
    let mut ensemble = TestEnsemble::start(Target::Ferrokeeper, 3, &config).expect("ensemble");
    // Every write goes through member 0, which answers only after applying it: its log has it.
    let member = &ensemble.members[0];
    let zk = Client::connect(&member.connect_string()).expect("connect");
    let (_, top) = zk.create("/ens", b"raft", &persistent()).expect("create");
    zk.multi(|m| {
        m.create("/ens/a", b"1", &persistent())
            .create("/ens/b", b"22", &persistent())
    })
    .expect("multi");
    let multi = zk.exists("/ens/a").expect("exists").expect("a").czxid;
    // Raft snapshots come every 100 entries at the least.
    for i in 0..110 {
        zk.create(&format!("/ens/f{i}"), b"", &persistent())
            .expect("create");
    }
    let stat = zk.exists("/ens/b").expect("exists").expect("b");
    let session = zk.session().id;
    let raft = member.data_dir().join("raft");
    wait_for_snapshot(&raft.join("snapshots"), multi);
    drop(zk);
    for m in &mut ensemble.members {
        m.kill();
    }

    let out = inspect_ok(&ensemble.members[0].data_dir(), &["--tree"]);
    let header = out.lines().next().unwrap_or_default();
    assert!(
        header.starts_with(&format!("log {}: Raft log, ", raft.join("log").display())),
        "{header}"
    );
    let top_line = record_line(&out, top.czxid);
    assert!(
        top_line.contains(&format!("session {session:#x} ")),
        "{top_line}"
    );
    assert!(top_line.contains(" term "), "{top_line}");
    assert!(
        top_line.ends_with("/ens dataLength=4 acl=1 mode=PERSISTENT"),
        "{top_line}"
    );
    let multi_line = record_line(&out, multi);
    assert!(
        multi_line.contains(" multi ops=[")
            && multi_line.contains("/ens/a dataLength=1 acl=1 mode=PERSISTENT; ")
            && multi_line.ends_with("/ens/b dataLength=2 acl=1 mode=PERSISTENT]"),
        "{multi_line}"
    );
    assert!(
        out.lines().any(|l| l.contains(" membership members=")),
        "no membership entry:\n{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("snapshot ") && l.contains(" raft=")),
        "no Raft snapshot summary:\n{out}"
    );
    assert_node_matches(&out, "/ens/b", &stat);
}
