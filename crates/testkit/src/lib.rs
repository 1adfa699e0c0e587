//! Dev-only helpers for testing Ferrokeeper against Apache ZooKeeper.
//!
//! - [`TestServer`] starts real ZooKeeper (Debian's 3.8 jars) or the `ferrokeeper` binary on a free
//!   loopback port with a generated `zoo.cfg`, waits for `ruok`→`imok`, and kills it on drop.
//! - [`shared`] keeps one server per target per test binary, so the JVM starts once.
//! - [`TestEnsemble`] starts a loopback ensemble of either target (ZooKeeper as a real quorum),
//!   whose members can be killed and restarted; [`shared::ensemble`] keeps one 3-member ensemble
//!   per target per test binary for tests that kill no member.
//! - [`raw::RawClient`] speaks the wire protocol directly (blocking), for byte-exact and abuse tests.
//! - [`proxy::Proxy`] sits between a client and a server to drop, refuse, freeze or mute
//!   connections; [`suite`] is the scaffolding of the suites that run the same bodies against both
//!   targets (`both_targets!`).
//! - [`differential`] generates seeded operation sequences, runs them on two servers and compares
//!   the normalised outcomes.

pub mod config;
pub mod differential;
pub mod ensemble;
pub mod four_letter;
pub mod linearizability;
mod process;
pub mod proxy;
pub mod raw;
pub mod server;
pub mod shared;
pub mod suite;
pub mod target;

pub use config::ServerConfig;
pub use ensemble::TestEnsemble;
pub use server::{HarnessError, TestServer};
pub use target::Target;

/// A path prefix unique to one test in this process: `/<test>-<pid>`. Tests that share a server
/// work under their own prefix so they cannot see each other's nodes.
pub fn unique_root(test: &str) -> String {
    let clean: String = test
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("/{clean}-{}", std::process::id())
}
