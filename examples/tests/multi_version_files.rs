//! The multi-version files case study against a Ferrokeeper server: readers never see a
//! half-published version, archiving spares pinned versions, and the final rollback works.
//!
//! Wholeness is checked here from the raw files each reader printed (`observed` lines), not
//! taken from the example's own verdict; a run with `--unsafe-publish` and a torn observation
//! fed to the checker show that the check does fail when a version is read half-published.

use std::path::PathBuf;
use std::process::Command;
use testkit::{ServerConfig, Target, TestServer};

const EXE: &str = env!("CARGO_BIN_EXE_multi_version_files");
const VERSIONS: u64 = 12;
const READERS: usize = 3;

fn fk_bin() -> PathBuf {
    testkit::target::ferrokeeper_binary()
}

/// The value of `key=` in the summary line.
fn field<'a>(summary: &'a str, key: &str) -> &'a str {
    let prefix = format!("{key}=");
    summary
        .split(' ')
        .find_map(|w| w.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("no {key} in {summary:?}"))
}

/// FNV-1a (64 bits), as the example's file format specifies for the set checksum.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// What is wrong with one `observed` line; empty if the reader got exactly one whole version.
///
/// A whole observation is `observed pinned=<n>` and then `part-<i>=v<n>:<i>/<k>:<sum>:<payload>`
/// for every `i` in `0..k`, all naming the pinned version and the same `k` and `sum`, with
/// `sum` the FNV-1a of the payloads joined by newlines.
fn violations(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let Some(rest) = line.strip_prefix("observed ") else {
        return out;
    };
    let mut words = rest.split(' ');
    let Some(pinned) = words.next().and_then(|w| w.strip_prefix("pinned=")) else {
        return vec![format!("not a pinned read: {line}")];
    };
    let Ok(pinned) = pinned.parse::<u64>() else {
        return vec![format!("bad version: {line}")];
    };
    let mut payloads = Vec::new();
    let mut sums = Vec::new();
    let mut counts = Vec::new();
    for (index, word) in words.enumerate() {
        let Some((name, contents)) = word.split_once('=') else {
            out.push(format!("bad file {word:?}"));
            continue;
        };
        let fields: Vec<&str> = contents.splitn(4, ':').collect();
        let [version, position, sum, payload] = fields[..] else {
            out.push(format!("bad contents of {name}: {contents:?}"));
            continue;
        };
        if version != format!("v{pinned}") {
            out.push(format!("{name} is from {version}, pinned v{pinned}"));
        }
        if name != format!("part-{index}") || !position.starts_with(&format!("{index}/")) {
            out.push(format!("file {index} is {name} at {position}"));
        }
        counts.push(position.split_once('/').map(|(_, k)| k).unwrap_or(""));
        sums.push(sum);
        payloads.push(payload);
    }
    if payloads.is_empty() {
        out.push(format!("no files in version {pinned}"));
        return out;
    }
    if counts.iter().any(|k| k.parse() != Ok(payloads.len())) {
        out.push(format!(
            "read {} files, files say {counts:?}",
            payloads.len()
        ));
    }
    let want = format!("{:016x}", fnv1a(payloads.join("\n").as_bytes()));
    if sums.iter().any(|s| *s != want) {
        out.push(format!("set checksum {want}, files say {sums:?}"));
    }
    out
}

/// Every violation in a run's output, each with its line.
fn check_run(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| l.starts_with("observed "))
        .flat_map(|l| {
            violations(l)
                .into_iter()
                .map(move |v| format!("{v} in {l}"))
        })
        .collect()
}

/// Runs the example against a fresh Ferrokeeper server.
fn run(extra: &[&str]) -> std::process::Output {
    let server = TestServer::start(
        Target::Ferrokeeper,
        &ServerConfig::default().with_binary(fk_bin()),
    )
    .expect("start ferrokeeper");
    Command::new(EXE)
        .args(["--server", &server.connect_string()])
        .args(["--readers", &READERS.to_string()])
        .args(["--versions", &VERSIONS.to_string()])
        .args(extra)
        .output()
        .expect("run multi_version_files")
}

#[test]
fn checker_accepts_whole_versions_and_rejects_torn_ones() {
    let sum = format!("{:016x}", fnv1a(b"a\nb"));
    let whole = format!("observed pinned=4 part-0=v4:0/2:{sum}:a part-1=v4:1/2:{sum}:b");
    assert_eq!(violations(&whole), Vec::<String>::new());
    // One file from the next version.
    let other = format!("{:016x}", fnv1a(b"a\nc"));
    let mixed = format!("observed pinned=4 part-0=v4:0/2:{sum}:a part-1=v5:1/2:{other}:c");
    assert!(!violations(&mixed).is_empty());
    // Only some of the version's files.
    let partial = format!("observed pinned=4 part-0=v4:0/2:{sum}:a");
    assert!(!violations(&partial).is_empty());
    // A payload that does not match the set's checksum.
    let corrupt = format!("observed pinned=4 part-0=v4:0/2:{sum}:a part-1=v4:1/2:{sum}:x");
    assert!(!violations(&corrupt).is_empty());
    assert!(!violations("observed unpublished current version 3 has no node").is_empty());
    assert!(!violations("observed pinned=4").is_empty());
}

#[test]
fn unsafe_publish_is_caught() {
    let out = run(&["--unsafe-publish"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let found = check_run(&stdout);
    assert!(
        !found.is_empty(),
        "no reader saw a half-published version\n{stdout}{stderr}"
    );
    assert!(!out.status.success(), "the example must fail too\n{stdout}");
}

#[test]
fn readers_see_whole_versions_and_rollback_works() {
    let out = run(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let found = check_run(&stdout);
    assert!(found.is_empty(), "{}", found.join("\n"));
    let observed = stdout
        .lines()
        .filter(|l| l.starts_with("observed "))
        .count();
    assert!(
        out.status.success(),
        "exit {:?}\n{stdout}{stderr}",
        out.status
    );
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("summary: "))
        .unwrap_or_else(|| panic!("no summary in {stdout}"));
    assert_eq!(field(summary, "torn"), "0");
    assert_eq!(field(summary, "lost_pins"), "0");
    assert_eq!(field(summary, "rollback"), "ok");
    assert_eq!(field(summary, "versions"), VERSIONS.to_string());
    assert_eq!(field(summary, "current"), (VERSIONS - 1).to_string());
    let reads: u64 = field(summary, "reads").parse().expect("reads is a number");
    assert!(reads >= READERS as u64, "every reader read at least once");
    assert_eq!(observed as u64, reads, "one observed line per read");
    // Readers are gone at the final archive: everything older than the rollback target goes,
    // and only it and the newer last version stay.
    assert_eq!(
        field(summary, "archived"),
        (VERSIONS - 2).to_string(),
        "{summary}"
    );
    assert_eq!(
        field(summary, "live"),
        format!("{},{VERSIONS}", VERSIONS - 1),
        "{summary}"
    );
}
