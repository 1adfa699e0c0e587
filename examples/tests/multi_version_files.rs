//! The multi-version files case study against a Ferrokeeper server: readers never see a
//! half-published version, archiving spares pinned versions, and the final rollback works.

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

#[test]
fn readers_see_whole_versions_and_rollback_works() {
    let server = TestServer::start(
        Target::Ferrokeeper,
        &ServerConfig::default().with_binary(fk_bin()),
    )
    .expect("start ferrokeeper");
    let out = Command::new(EXE)
        .args(["--server", &server.connect_string()])
        .args(["--readers", &READERS.to_string()])
        .args(["--versions", &VERSIONS.to_string()])
        .output()
        .expect("run multi_version_files");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
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
