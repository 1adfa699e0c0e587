//! The `zoo.cfg` a test server is started with.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// `super:test`: the password `test` for the `super` user, as ZooKeeper's docs use it.
pub const SUPER_DIGEST: &str = "super:D/InIHSb7yEEbrWz8b9l71RjZJU=";

/// Settings written into the generated `zoo.cfg`. Defaults suit the shared servers: a short tick so
/// expiry tests finish fast, extended types (TTL) on, and a `super` digest configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// `tickTime` in ms.
    pub tick_time_ms: u32,
    /// `minSessionTimeout` in ms; `None` leaves ZooKeeper's default (2 × tickTime).
    pub min_session_timeout_ms: Option<u32>,
    /// `maxSessionTimeout` in ms; `None` leaves ZooKeeper's default (20 × tickTime).
    pub max_session_timeout_ms: Option<u32>,
    /// `maxClientCnxns` per client IP; `None` leaves the default (60).
    pub max_client_cnxns: Option<u32>,
    /// `jute.maxbuffer` in bytes; `None` leaves the default (0xfffff).
    pub jute_max_buffer: Option<u32>,
    /// `DigestAuthenticationProvider.superDigest`, e.g. [`SUPER_DIGEST`].
    pub super_digest: Option<String>,
    /// `extendedTypesEnabled` (TTL nodes).
    pub extended_types: bool,
    /// `znode.container.checkIntervalMs`: how often containers and expired TTL nodes are reaped.
    /// ZooKeeper reads it only as a JVM property (the harness passes it so); Ferrokeeper is
    /// expected to accept it as a zoo.cfg key.
    pub container_check_interval_ms: Option<u32>,
    /// Further `key=value` lines, written verbatim.
    pub extra: Vec<(String, String)>,
    /// The `ferrokeeper` binary; falls back to env `FK_BINARY`. Unused for ZooKeeper.
    pub ferrokeeper_binary: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            tick_time_ms: 500,
            min_session_timeout_ms: Some(1000),
            max_session_timeout_ms: Some(30_000),
            max_client_cnxns: None,
            jute_max_buffer: None,
            super_digest: Some(SUPER_DIGEST.to_string()),
            extended_types: true,
            container_check_interval_ms: Some(500),
            extra: Vec::new(),
            ferrokeeper_binary: None,
        }
    }
}

impl ServerConfig {
    /// Sets the Ferrokeeper binary (builder style).
    pub fn with_binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.ferrokeeper_binary = Some(path.into());
        self
    }

    /// The text of `zoo.cfg` for a standalone server on `127.0.0.1:port` with `data_dir`.
    pub fn render(&self, port: u16, data_dir: &Path) -> String {
        let mut s = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(s, "tickTime={}", self.tick_time_ms);
        let _ = writeln!(s, "dataDir={}", data_dir.display());
        let _ = writeln!(s, "clientPort={port}");
        let _ = writeln!(s, "clientPortAddress=127.0.0.1");
        let _ = writeln!(s, "4lw.commands.whitelist=*");
        if let Some(v) = self.min_session_timeout_ms {
            let _ = writeln!(s, "minSessionTimeout={v}");
        }
        if let Some(v) = self.max_session_timeout_ms {
            let _ = writeln!(s, "maxSessionTimeout={v}");
        }
        if let Some(v) = self.max_client_cnxns {
            let _ = writeln!(s, "maxClientCnxns={v}");
        }
        if let Some(v) = self.jute_max_buffer {
            let _ = writeln!(s, "jute.maxbuffer={v}");
        }
        if let Some(v) = &self.super_digest {
            let _ = writeln!(s, "DigestAuthenticationProvider.superDigest={v}");
        }
        if self.extended_types {
            let _ = writeln!(s, "extendedTypesEnabled=true");
        }
        if let Some(v) = self.container_check_interval_ms {
            let _ = writeln!(s, "znode.container.checkIntervalMs={v}");
        }
        for (k, v) in &self.extra {
            let _ = writeln!(s, "{k}={v}");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_configured_key() {
        let cfg = ServerConfig {
            max_client_cnxns: Some(3),
            jute_max_buffer: Some(4096),
            extra: vec![("foo".into(), "bar".into())],
            ..ServerConfig::default()
        };
        let text = cfg.render(4242, Path::new("/tmp/d"));
        for line in [
            "tickTime=500",
            "dataDir=/tmp/d",
            "clientPort=4242",
            "clientPortAddress=127.0.0.1",
            "4lw.commands.whitelist=*",
            "minSessionTimeout=1000",
            "maxSessionTimeout=30000",
            "maxClientCnxns=3",
            "jute.maxbuffer=4096",
            "DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=",
            "extendedTypesEnabled=true",
            "znode.container.checkIntervalMs=500",
            "foo=bar",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
        }
    }
}
