//! The command registry: each word, what it reads, what it resets.

use crate::render;
use crate::snapshot::Snapshot;

/// A four-letter word we answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Word {
    /// `imok`, even while not serving.
    Ruok,
    /// Server statistics.
    Srvr,
    /// Server statistics and brief connection list.
    Stat,
    /// Monitoring values, `zk_<name>\t<value>` lines.
    Mntr,
    /// Configuration.
    Conf,
    /// Full connection list.
    Cons,
    /// Reset connection statistics.
    Crst,
    /// Reset server statistics.
    Srst,
    /// Environment.
    Envi,
    /// Watch summary.
    Wchs,
    /// Watches by connection.
    Wchc,
    /// Watches by path.
    Wchp,
    /// Sessions and ephemeral nodes.
    Dump,
    /// `ro` or `rw`.
    Isro,
    /// Data and log directory sizes.
    Dirs,
}

/// Which optional parts of a [`Snapshot`] a word reads. `serving`, `version` and `server` are
/// always read; gather the rest only when asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Needs {
    /// `connections`.
    pub connections: bool,
    /// `watch_summary`.
    pub watch_summary: bool,
    /// `data_watches` (a full copy of the watch table: expensive).
    pub data_watches: bool,
    /// `sessions`, `ephemerals` and `connection_expiry` (expensive).
    pub dump: bool,
    /// `conf` and `membership`.
    pub conf: bool,
    /// `environment`.
    pub environment: bool,
    /// `dir_sizes` (walks both directories).
    pub dir_sizes: bool,
    /// `monitor`.
    pub monitor: bool,
}

/// Statistics a word asks the server to zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reset {
    /// `crst`: for every connection, packets received and sent, latencies, last operation
    /// (`NA`), last cxid and zxid (unset), last response time and latency (0).
    ConnectionStats,
    /// `srst`: server-wide latency, packet counters, client response sizes, every summary and
    /// counter `mntr` prints, and the leader's proposal sizes.
    ServerStats,
}

impl Word {
    /// Every word, in ZooKeeper's documentation order.
    pub const ALL: [Word; 15] = [
        Word::Conf,
        Word::Cons,
        Word::Crst,
        Word::Dump,
        Word::Envi,
        Word::Ruok,
        Word::Srst,
        Word::Srvr,
        Word::Stat,
        Word::Wchs,
        Word::Wchc,
        Word::Wchp,
        Word::Dirs,
        Word::Mntr,
        Word::Isro,
    ];

    /// The four letters.
    pub fn name(self) -> &'static str {
        match self {
            Word::Ruok => "ruok",
            Word::Srvr => "srvr",
            Word::Stat => "stat",
            Word::Mntr => "mntr",
            Word::Conf => "conf",
            Word::Cons => "cons",
            Word::Crst => "crst",
            Word::Srst => "srst",
            Word::Envi => "envi",
            Word::Wchs => "wchs",
            Word::Wchc => "wchc",
            Word::Wchp => "wchp",
            Word::Dump => "dump",
            Word::Isro => "isro",
            Word::Dirs => "dirs",
        }
    }

    /// The word spelled by `name` (case-sensitive, as on the wire).
    pub fn parse(name: &str) -> Option<Word> {
        Word::ALL.into_iter().find(|w| w.name() == name)
    }

    /// What to gather before rendering.
    pub fn needs(self) -> Needs {
        let none = Needs::default();
        match self {
            Word::Stat | Word::Cons => Needs {
                connections: true,
                ..none
            },
            Word::Wchs => Needs {
                watch_summary: true,
                ..none
            },
            Word::Wchc | Word::Wchp => Needs {
                data_watches: true,
                ..none
            },
            Word::Dump => Needs { dump: true, ..none },
            Word::Conf => Needs {
                conf: true,
                dir_sizes: true,
                ..none
            },
            Word::Envi => Needs {
                environment: true,
                ..none
            },
            Word::Dirs => Needs {
                dir_sizes: true,
                ..none
            },
            Word::Mntr => Needs {
                monitor: true,
                ..none
            },
            Word::Ruok | Word::Srvr | Word::Crst | Word::Srst | Word::Isro => none,
        }
    }

    /// The reset to perform before answering, if any; none while not serving.
    pub fn reset(self, serving: bool) -> Option<Reset> {
        match (self, serving) {
            (Word::Crst, true) => Some(Reset::ConnectionStats),
            (Word::Srst, true) => Some(Reset::ServerStats),
            _ => None,
        }
    }

    /// The text to send back, exactly as ZooKeeper would.
    pub fn render(self, snap: &Snapshot) -> String {
        render::render(self, snap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_distinct() {
        for word in Word::ALL {
            assert_eq!(Word::parse(word.name()), Some(word));
            assert_eq!(word.name().len(), 4);
        }
        let mut names: Vec<&str> = Word::ALL.iter().map(|w| w.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Word::ALL.len());
        assert_eq!(Word::parse("SRVR"), None);
        assert_eq!(Word::parse("gtmk"), None);
    }

    #[test]
    fn only_expensive_words_ask_for_expensive_parts() {
        for word in Word::ALL {
            let n = word.needs();
            assert_eq!(
                n.data_watches,
                matches!(word, Word::Wchc | Word::Wchp),
                "{word:?}"
            );
            assert_eq!(n.dump, word == Word::Dump, "{word:?}");
            assert_eq!(
                n.dir_sizes,
                matches!(word, Word::Conf | Word::Dirs),
                "{word:?}"
            );
            assert_eq!(
                n.connections,
                matches!(word, Word::Stat | Word::Cons),
                "{word:?}"
            );
        }
        assert!(Word::Mntr.needs().monitor);
        assert!(Word::Envi.needs().environment);
        assert!(Word::Wchs.needs().watch_summary);
        assert_eq!(Word::Srvr.needs(), Needs::default());
    }

    #[test]
    fn resets() {
        for word in Word::ALL {
            let expected = match word {
                Word::Crst => Some(Reset::ConnectionStats),
                Word::Srst => Some(Reset::ServerStats),
                _ => None,
            };
            assert_eq!(word.reset(true), expected, "{word:?}");
            assert_eq!(word.reset(false), None, "{word:?}");
        }
    }
}
