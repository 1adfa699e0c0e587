//! Which server implementation a test runs against.

use std::fmt;
use std::path::PathBuf;

/// The server under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// Apache ZooKeeper 3.8 from Debian's `zookeeper` package, the reference.
    ZooKeeper,
    /// The `ferrokeeper` binary.
    Ferrokeeper,
}

impl Target {
    /// Both targets, reference first.
    pub const ALL: [Target; 2] = [Target::ZooKeeper, Target::Ferrokeeper];

    /// The lower-case name used in env vars (`FK_TARGET`) and test names.
    pub fn name(self) -> &'static str {
        match self {
            Target::ZooKeeper => "zookeeper",
            Target::Ferrokeeper => "ferrokeeper",
        }
    }

    /// Parses `zookeeper`/`zk` or `ferrokeeper`/`fk`.
    pub fn parse(s: &str) -> Option<Target> {
        match s.trim().to_ascii_lowercase().as_str() {
            "zookeeper" | "zk" => Some(Target::ZooKeeper),
            "ferrokeeper" | "fk" => Some(Target::Ferrokeeper),
            _ => None,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The jars of Debian's `zookeeper` package plus its config dir (for log4j.properties).
pub const ZOOKEEPER_CLASSPATH: &[&str] = &[
    "/usr/share/java/zookeeper.jar",
    "/usr/share/java/zookeeper-jute.jar",
    "/usr/share/java/slf4j-api.jar",
    "/usr/share/java/slf4j-log4j12.jar",
    "/usr/share/java/log4j-1.2.jar",
    "/usr/share/java/commons-cli.jar",
    "/usr/share/java/metrics-core.jar",
    "/usr/share/java/netty-all.jar",
    "/usr/share/java/snappy-java.jar",
    "/etc/zookeeper/conf",
];

/// Debian's zkCli script.
pub const ZKCLI: &str = "/usr/share/zookeeper/bin/zkCli.sh";

/// The Ferrokeeper binary named by env `FK_BINARY`, if set.
pub fn ferrokeeper_binary_from_env() -> Option<PathBuf> {
    std::env::var_os("FK_BINARY").map(PathBuf::from)
}

/// The `ferrokeeper` binary for tests outside the `ferrokeeper` package (which cannot use its
/// `CARGO_BIN_EXE_*`): `FK_BINARY`, else `<target dir>/debug/ferrokeeper`, as built by
/// `cargo build -p ferrokeeper` or by `cargo test --workspace`. Panics with what to run when it is
/// missing, and warns when server sources are newer than it.
pub fn ferrokeeper_binary() -> PathBuf {
    if let Some(p) = ferrokeeper_binary_from_env() {
        return p;
    }
    let root = workspace_root();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let bin = target.join("debug").join("ferrokeeper");
    if !bin.exists() {
        panic!(
            "{} not found: run `cargo build -p ferrokeeper` first (or set FK_BINARY)",
            bin.display()
        );
    }
    warn_if_stale(&bin, &root);
    bin
}

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(std::path::Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Says so when server sources are newer than the binary, which then tests old code.
fn warn_if_stale(bin: &std::path::Path, root: &std::path::Path) {
    let Ok(built) = bin.metadata().and_then(|m| m.modified()) else {
        return;
    };
    if newest_source(&root.join("crates")).is_some_and(|t| t > built) {
        eprintln!(
            "warning: {} is older than the server sources; `cargo build -p ferrokeeper` to test \
             the current code",
            bin.display()
        );
    }
}

fn newest_source(dir: &std::path::Path) -> Option<std::time::SystemTime> {
    let mut newest = None;
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        let name = e.file_name();
        if name == "client" || name == "recipes" || name == "testkit" || name == "target" {
            continue;
        }
        let t = if p.is_dir() {
            newest_source(&p)
        } else if p.extension().is_some_and(|x| x == "rs") {
            e.metadata().and_then(|m| m.modified()).ok()
        } else {
            None
        };
        newest = newest.max(t);
    }
    newest
}
