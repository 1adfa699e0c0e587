//! `dump` (ZooKeeper's `DumpCommand`): sessions, ephemeral nodes, connection expiry.

use crate::format::{hex, java_date, java_socket_addr};
use crate::snapshot::{ServerState, Snapshot};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write};

pub(super) fn dump(out: &mut String, snap: &Snapshot) -> fmt::Result {
    writeln!(out, "SessionTracker dump:")?;
    sessions(out, snap)?;
    writeln!(out, "ephemeral nodes dump:")?;
    ephemerals(out, snap)?;
    writeln!(out, "Connections dump:")?;
    connections(out, snap)
}

/// Leaders and standalone servers track expiry and print their expiry sets; learners (and a
/// read-only server) only know the global sessions and their timeouts.
fn sessions(out: &mut String, snap: &Snapshot) -> fmt::Result {
    match snap.server.state {
        ServerState::Standalone | ServerState::Leader => {
            let mut sets: BTreeMap<i64, BTreeSet<u64>> = BTreeMap::new();
            for s in &snap.sessions {
                sets.entry(s.expires_at_ms)
                    .or_default()
                    .insert(s.session_id as u64);
            }
            writeln!(
                out,
                "Session Sets ({})/({}):",
                sets.len(),
                snap.sessions.len()
            )?;
            for (at, ids) in sets {
                writeln!(out, "{} expire at {}:", ids.len(), java_date(at))?;
                for id in ids {
                    writeln!(out, "\t0x{}", hex(id as i64))?;
                }
            }
        }
        ServerState::Follower | ServerState::Observer | ServerState::ReadOnly => {
            let by_id: BTreeMap<u64, i32> = snap
                .sessions
                .iter()
                .map(|s| (s.session_id as u64, s.timeout_ms))
                .collect();
            writeln!(out, "Global Sessions({}):", by_id.len())?;
            for (id, timeout) in by_id {
                writeln!(out, "0x{}\t{timeout}ms", hex(id as i64))?;
            }
        }
    }
    Ok(())
}

fn ephemerals(out: &mut String, snap: &Snapshot) -> fmt::Result {
    let mut by_owner: BTreeMap<u64, BTreeSet<&str>> = BTreeMap::new();
    for e in &snap.ephemerals {
        by_owner
            .entry(e.session_id as u64)
            .or_default()
            .extend(e.paths.iter().map(String::as_str));
    }
    writeln!(out, "Sessions with Ephemerals ({}):", by_owner.len())?;
    for (owner, paths) in by_owner {
        writeln!(out, "0x{}:", hex(owner as i64))?;
        for path in paths {
            writeln!(out, "\t{path}")?;
        }
    }
    Ok(())
}

fn connections(out: &mut String, snap: &Snapshot) -> fmt::Result {
    let Some(expiry) = &snap.connection_expiry else {
        return Ok(());
    };
    let mut sets: BTreeMap<i64, Vec<_>> = BTreeMap::new();
    for c in expiry {
        sets.entry(c.expires_at_ms).or_default().push(c);
    }
    writeln!(out, "Connections Sets ({})/({}):", sets.len(), expiry.len())?;
    for (at, conns) in sets {
        writeln!(out, "{} expire at {}:", conns.len(), java_date(at))?;
        for c in conns {
            writeln!(
                out,
                "\tip: {} sessionId: 0x{}",
                java_socket_addr(&c.remote),
                hex(c.session_id)
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::sample;
    use crate::snapshot::{ServerState, SessionInfo};
    use crate::word::Word;

    #[test]
    fn standalone_dump_matches_zookeeper() {
        let snap = sample::standalone();
        // Captured from ZooKeeper 3.8, except that ZooKeeper also listed an already-empty
        // expiry set ("0 expire at …:") and ordered the ephemeral owners by hash.
        let expected = "SessionTracker dump:\n\
            Session Sets (2)/(2):\n\
            1 expire at Sun Nov 22 04:05:45 UTC 2026:\n\
            \t0x1000006f84b0000\n\
            1 expire at Sun Nov 22 04:05:47 UTC 2026:\n\
            \t0x1000006f84b0001\n\
            ephemeral nodes dump:\n\
            Sessions with Ephemerals (2):\n\
            0x1000006f84b0000:\n\
            \t/app/eph1\n\
            \t/app/eph2\n\
            0x1000006f84b0001:\n\
            \t/other\n\
            Connections dump:\n\
            Connections Sets (1)/(3):\n\
            3 expire at Sun Nov 22 04:05:49 UTC 2026:\n\
            \tip: /127.0.0.1:50922 sessionId: 0x1000006f84b0001\n\
            \tip: /127.0.0.1:50956 sessionId: 0x0\n\
            \tip: /127.0.0.1:50918 sessionId: 0x1000006f84b0000\n";
        assert_eq!(Word::Dump.render(&snap), expected);
    }

    #[test]
    fn sessions_sharing_an_expiry_set_print_together() {
        let mut snap = sample::standalone();
        // Joins 0x1000006f84b0000's set (sessions[1] in the sample).
        let at = snap.sessions[1].expires_at_ms;
        snap.sessions.push(SessionInfo {
            session_id: 0x1000006f84b0002,
            timeout_ms: 4000,
            expires_at_ms: at,
        });
        let text = Word::Dump.render(&snap);
        assert!(
            text.contains(
                "Session Sets (2)/(3):\n2 expire at Sun Nov 22 04:05:45 UTC 2026:\n\
                 \t0x1000006f84b0000\n\t0x1000006f84b0002\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn follower_dump_lists_global_sessions_with_timeouts() {
        let mut snap = sample::standalone();
        snap.server.state = ServerState::Follower;
        snap.connection_expiry = None;
        // Captured from a ZooKeeper 3.8 follower (connections part aside).
        let expected = "SessionTracker dump:\n\
            Global Sessions(2):\n\
            0x1000006f84b0000\t10000ms\n\
            0x1000006f84b0001\t15000ms\n\
            ephemeral nodes dump:\n\
            Sessions with Ephemerals (2):\n\
            0x1000006f84b0000:\n\
            \t/app/eph1\n\
            \t/app/eph2\n\
            0x1000006f84b0001:\n\
            \t/other\n\
            Connections dump:\n";
        assert_eq!(Word::Dump.render(&snap), expected);
    }

    #[test]
    fn empty_read_only_dump_matches_zookeeper() {
        let mut snap = sample::standalone();
        snap.server.state = ServerState::ReadOnly;
        snap.sessions.clear();
        snap.ephemerals.clear();
        if let Some(conns) = &mut snap.connection_expiry {
            conns.truncate(1);
            conns[0].remote = "127.0.0.1:45852".parse().unwrap();
            conns[0].session_id = 0;
            conns[0].expires_at_ms = 1_795_320_559_000;
        }
        // Captured from a ZooKeeper 3.8 server in read-only mode.
        let expected = "SessionTracker dump:\n\
            Global Sessions(0):\n\
            ephemeral nodes dump:\n\
            Sessions with Ephemerals (0):\n\
            Connections dump:\n\
            Connections Sets (1)/(1):\n\
            1 expire at Sun Nov 22 04:09:19 UTC 2026:\n\
            \tip: /127.0.0.1:45852 sessionId: 0x0\n";
        assert_eq!(Word::Dump.render(&snap), expected);
    }
}
