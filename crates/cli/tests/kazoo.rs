//! Runs the kazoo (Python) suite in tests/python against each target. Missing prerequisites fail
//! the test with the command that installs them; they never make it pass. With
//! `FK_TEST_ENSEMBLE=N` (inherited by pytest) tests/python/fkserver.py runs Ferrokeeper as an
//! N-member ensemble and kazoo gets every member's address, as testkit::shared does for the Rust
//! suites; ZooKeeper stays the standalone reference.

mod common;

use std::process::Command;
use testkit::Target;

fn require_python_modules() {
    let probe = Command::new("python3")
        .args(["-c", "import kazoo, pytest"])
        .output();
    match probe {
        Err(e) => panic!(
            "python3 is not runnable ({e}): install Python 3, then `pip install kazoo pytest`"
        ),
        Ok(out) if !out.status.success() => panic!(
            "kazoo or pytest is missing: `pip install kazoo pytest`\n{}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Ok(_) => {}
    }
}

/// The header line tests/python/conftest.py prints: which server pytest actually started.
fn expected_header(target: Target) -> String {
    let size = std::env::var(testkit::shared::ENSEMBLE_ENV)
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|&n| n > 1 && target == Target::Ferrokeeper);
    match size {
        Some(n) => format!("server under test: {} ensemble of {n}", target.name()),
        None => format!("server under test: {} standalone", target.name()),
    }
}

fn run_suite(target: Target) {
    require_python_modules();
    if target == Target::ZooKeeper && testkit::server::which("java").is_none() {
        panic!("java is missing: `apt-get install -y zookeeper` (it pulls in a JRE)");
    }
    let root = common::workspace_root();
    let out = Command::new("python3")
        .args(["-m", "pytest", "tests/python", "-p", "no:cacheprovider"])
        .current_dir(&root)
        .env("FK_TARGET", target.name())
        .env("FK_BINARY", common::fk_bin())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("spawn python3 -m pytest");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("--- pytest ({target}) stdout ---\n{stdout}\n--- stderr ---\n{stderr}");
    assert!(
        out.status.success(),
        "kazoo suite failed against {target} ({})",
        out.status
    );
    assert!(
        stdout.contains(" passed"),
        "pytest ran no test against {target}"
    );
    let header = expected_header(target);
    assert!(
        stdout.lines().any(|l| l == header),
        "pytest did not run against the server asked for: no line {header:?}"
    );
}

mod zookeeper {
    #[test]
    fn kazoo_suite() {
        super::run_suite(testkit::Target::ZooKeeper);
    }
}

mod ferrokeeper {
    #[test]
    fn kazoo_suite() {
        super::run_suite(testkit::Target::Ferrokeeper);
    }
}
