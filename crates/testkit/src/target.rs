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
