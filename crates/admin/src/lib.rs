//! ZooKeeper's admin commands — the four-letter words (`ruok`, `srvr`, `mntr`, …) — rendered
//! byte for byte as ZooKeeper 3.9 prints them.
//!
//! This crate owns no state. For each word the server asks [`needs`] which parts of a
//! [`Snapshot`] to gather (the watch tables and the session dump are expensive), fills them,
//! performs the [`reset`] the word asks for, if any, and sends back [`render`]'s text. Words the
//! whitelist refuses get [`not_in_whitelist`]'s text instead.
//!
//! ```
//! let mut snap = admin::Snapshot::default();
//! snap.serving = true;
//! snap.version = admin::full_version("0.1.0", "2025-01-01 00:00 UTC");
//! assert!(admin::render("srvr", &snap).starts_with("Zookeeper version: 3.9.0-ferrokeeper-0.1.0"));
//! assert_eq!(admin::render("ruok", &snap), "imok");
//! ```

mod format;
mod ops;
mod process;
mod render;
mod snapshot;
mod word;

#[cfg(test)]
mod sample;

pub use ops::last_operation;
pub use process::{environment, file_descriptors};
pub use snapshot::{
    BufferSizes, ConnectionExpiry, ConnectionSession, ConnectionStats, DataWatch, DirSizes,
    Latency, LeaderMonitor, Membership, MetricValue, Monitor, Percentiles, ServerState,
    ServerStats, SessionEphemerals, SessionInfo, Snapshot, Summary, WatchSummary,
};
pub use word::{Needs, Reset, Word};

/// The ZooKeeper release whose behaviour we reproduce; leads the version string so tools that
/// parse `X.Y.Z` from `srvr`, `mntr` or `envi` see a 3.9 server.
pub const ZOOKEEPER_VERSION: &str = "3.9.0";

/// What most words print while the server is not serving (electing, or without a quorum).
pub const NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests";

/// The version string ZooKeeper prints after `Zookeeper version: ` and as `zk_version`:
/// `3.9.0-ferrokeeper-<ours>, built on <built_on>`. ZooKeeper's own is
/// `<version>-<git hash>, built on <date>`; keeping the shape keeps version parsers working.
pub fn full_version(ferrokeeper_version: &str, built_on: &str) -> String {
    format!("{ZOOKEEPER_VERSION}-ferrokeeper-{ferrokeeper_version}, built on {built_on}")
}

/// The answer to a whitelisted `word`. An unknown word renders as the empty string: ZooKeeper
/// never treats unknown bytes as a command (they are a frame length), so the server should not
/// get here with one.
pub fn render(word: &str, snap: &Snapshot) -> String {
    Word::parse(word).map_or_else(String::new, |w| w.render(snap))
}

/// Which parts of the [`Snapshot`] `word` reads; nothing for an unknown word.
pub fn needs(word: &str) -> Needs {
    Word::parse(word).map_or_else(Needs::default, Word::needs)
}

/// The statistics `word` resets, when the server is `serving` (ZooKeeper resets nothing and
/// answers [`NOT_SERVING`] otherwise).
pub fn reset(word: &str, serving: bool) -> Option<Reset> {
    Word::parse(word).and_then(|w| w.reset(serving))
}

/// ZooKeeper's answer to a known word that `4lw.commands.whitelist` does not allow.
pub fn not_in_whitelist(word: &str) -> String {
    format!("{word} is not executed because it is not in the whitelist.\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_in_whitelist_matches_zookeeper() {
        // Captured from ZooKeeper 3.8 with `envi` left out of the whitelist.
        assert_eq!(
            not_in_whitelist("envi"),
            "envi is not executed because it is not in the whitelist.\n"
        );
    }

    #[test]
    fn full_version_keeps_zookeepers_shape() {
        let v = full_version("0.1.0", "2025-06-01 12:00 UTC");
        assert_eq!(v, "3.9.0-ferrokeeper-0.1.0, built on 2025-06-01 12:00 UTC");
    }

    #[test]
    fn unknown_words_render_nothing_and_need_nothing() {
        let snap = sample::standalone();
        assert_eq!(render("xyzw", &snap), "");
        assert_eq!(needs("xyzw"), Needs::default());
        assert_eq!(reset("xyzw", true), None);
    }

    #[test]
    fn string_entry_points_agree_with_word() {
        let snap = sample::standalone();
        for word in Word::ALL {
            assert_eq!(render(word.name(), &snap), word.render(&snap), "{word:?}");
            assert_eq!(needs(word.name()), word.needs(), "{word:?}");
        }
        assert_eq!(reset("crst", true), Some(Reset::ConnectionStats));
        assert_eq!(reset("srst", true), Some(Reset::ServerStats));
        assert_eq!(reset("srst", false), None);
        assert_eq!(reset("stat", true), None);
    }
}
