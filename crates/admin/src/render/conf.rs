//! `conf`, `envi`, `dirs`, `isro`.

use crate::format::hex;
use crate::snapshot::{ServerState, Snapshot};
use std::fmt::{self, Write};

pub(super) fn conf(out: &mut String, snap: &Snapshot) -> fmt::Result {
    for (key, value) in &snap.conf {
        writeln!(out, "{key}={value}")?;
    }
    if let Some(m) = &snap.membership {
        writeln!(out, "membership: ")?;
        let mut servers: Vec<&(u64, String)> = m.servers.iter().collect();
        servers.sort_by_key(|(id, _)| *id);
        for (id, spec) in servers {
            writeln!(out, "server.{id}={spec}")?;
        }
        // ZooKeeper prints the quorum verifier without a final line break.
        write!(out, "version={}", hex(m.version))?;
    }
    Ok(())
}

pub(super) fn envi(out: &mut String, snap: &Snapshot) -> fmt::Result {
    writeln!(out, "Environment:")?;
    for (key, value) in &snap.environment {
        writeln!(out, "{key}={value}")?;
    }
    Ok(())
}

pub(super) fn dirs(out: &mut String, snap: &Snapshot) -> fmt::Result {
    writeln!(out, "datadir_size: {}", snap.dir_sizes.data_dir)?;
    writeln!(out, "logdir_size: {}", snap.dir_sizes.log_dir)
}

pub(super) fn isro(out: &mut String, snap: &Snapshot) -> fmt::Result {
    out.write_str(match (snap.serving, snap.server.state) {
        (false, _) => "null",
        (true, ServerState::ReadOnly) => "ro",
        (true, _) => "rw",
    })
}

#[cfg(test)]
mod tests {
    use crate::sample;
    use crate::snapshot::{DirSizes, Membership, ServerState};
    use crate::word::Word;

    fn lines(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn standalone_conf_matches_zookeeper() {
        let mut snap = sample::standalone();
        snap.conf = lines(&[
            ("clientPort", "21911"),
            ("secureClientPort", "-1"),
            ("dataDir", "/tmp/zkprobe/data/version-2"),
            ("dataDirSize", "457"),
            ("dataLogDir", "/tmp/zkprobe/data/version-2"),
            ("dataLogSize", "457"),
            ("tickTime", "2000"),
            ("maxClientCnxns", "60"),
            ("minSessionTimeout", "4000"),
            ("maxSessionTimeout", "40000"),
            ("clientPortListenBacklog", "-1"),
            ("serverId", "0"),
        ]);
        // Captured from ZooKeeper 3.8.
        let expected =
            "clientPort=21911\nsecureClientPort=-1\ndataDir=/tmp/zkprobe/data/version-2\n\
            dataDirSize=457\ndataLogDir=/tmp/zkprobe/data/version-2\ndataLogSize=457\n\
            tickTime=2000\nmaxClientCnxns=60\nminSessionTimeout=4000\nmaxSessionTimeout=40000\n\
            clientPortListenBacklog=-1\nserverId=0\n";
        assert_eq!(Word::Conf.render(&snap), expected);
    }

    #[test]
    fn ensemble_conf_ends_with_membership_and_no_line_break() {
        let mut snap = sample::standalone();
        snap.server.state = ServerState::Follower;
        snap.conf = lines(&[("serverId", "1"), ("peerType", "0")]);
        snap.membership = Some(Membership {
            servers: vec![
                (4, "127.0.0.1:23884:23894:observer;0.0.0.0:22924".to_owned()),
                (
                    1,
                    "127.0.0.1:23881:23891:participant;0.0.0.0:22921".to_owned(),
                ),
                (
                    2,
                    "127.0.0.1:23882:23892:participant;0.0.0.0:22922".to_owned(),
                ),
                (
                    3,
                    "127.0.0.1:23883:23893:participant;127.0.0.1:22923".to_owned(),
                ),
            ],
            version: 0,
        });
        // The tail of ZooKeeper 3.8's `conf` on an ensemble member.
        let expected = "serverId=1\npeerType=0\nmembership: \n\
            server.1=127.0.0.1:23881:23891:participant;0.0.0.0:22921\n\
            server.2=127.0.0.1:23882:23892:participant;0.0.0.0:22922\n\
            server.3=127.0.0.1:23883:23893:participant;127.0.0.1:22923\n\
            server.4=127.0.0.1:23884:23894:observer;0.0.0.0:22924\n\
            version=0";
        assert_eq!(Word::Conf.render(&snap), expected);
        snap.membership = snap.membership.map(|m| Membership {
            version: 0x100000003,
            ..m
        });
        assert!(Word::Conf.render(&snap).ends_with("\nversion=100000003"));
    }

    #[test]
    fn envi_lists_the_environment() {
        let mut snap = sample::standalone();
        snap.environment = lines(&[
            (
                "zookeeper.version",
                "3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC",
            ),
            ("host.name", "localhost"),
            ("os.name", "Linux"),
        ]);
        // Shape of ZooKeeper 3.8's `envi` (first lines).
        assert_eq!(
            Word::Envi.render(&snap),
            "Environment:\nzookeeper.version=3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC\n\
             host.name=localhost\nos.name=Linux\n"
        );
    }

    #[test]
    fn dirs_matches_zookeeper() {
        let mut snap = sample::standalone();
        snap.dir_sizes = DirSizes {
            data_dir: 457,
            log_dir: 458,
        };
        assert_eq!(
            Word::Dirs.render(&snap),
            "datadir_size: 457\nlogdir_size: 458\n"
        );
    }

    #[test]
    fn isro_by_state() {
        let mut snap = sample::standalone();
        assert_eq!(Word::Isro.render(&snap), "rw");
        snap.server.state = ServerState::ReadOnly;
        assert_eq!(Word::Isro.render(&snap), "ro");
        snap.serving = false;
        assert_eq!(Word::Isro.render(&snap), "null");
    }
}
