//! `wchs`, `wchc`, `wchp` (ZooKeeper's `WatchCommand` over its data-watch manager). ZooKeeper
//! lists in hash order; we sort, so the same table always prints the same text.

use crate::format::hex;
use crate::snapshot::Snapshot;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write};

pub(super) fn wchs(out: &mut String, snap: &Snapshot) -> fmt::Result {
    let s = &snap.watch_summary;
    writeln!(
        out,
        "{} connections watching {} paths\nTotal watches:{}",
        s.connections, s.paths, s.watches
    )
}

pub(super) fn wchc(out: &mut String, snap: &Snapshot) -> fmt::Result {
    let mut by_session: BTreeMap<u64, BTreeSet<&str>> = BTreeMap::new();
    for w in &snap.data_watches {
        by_session
            .entry(w.session_id as u64)
            .or_default()
            .insert(&w.path);
    }
    for (session, paths) in by_session {
        writeln!(out, "0x{}", hex(session as i64))?;
        for path in paths {
            writeln!(out, "\t{path}")?;
        }
    }
    writeln!(out)
}

pub(super) fn wchp(out: &mut String, snap: &Snapshot) -> fmt::Result {
    let mut by_path: BTreeMap<&str, BTreeSet<u64>> = BTreeMap::new();
    for w in &snap.data_watches {
        by_path
            .entry(&w.path)
            .or_default()
            .insert(w.session_id as u64);
    }
    for (path, sessions) in by_path {
        writeln!(out, "{path}")?;
        for session in sessions {
            writeln!(out, "\t0x{}", hex(session as i64))?;
        }
    }
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use crate::sample;
    use crate::snapshot::WatchSummary;
    use crate::word::Word;

    #[test]
    fn wchs_matches_zookeeper() {
        let snap = sample::standalone();
        // Captured from ZooKeeper 3.8: data watches only (the two child watches are not counted).
        assert_eq!(
            Word::Wchs.render(&snap),
            "2 connections watching 2 paths\nTotal watches:3\n"
        );
        assert_eq!(
            snap.watch_summary,
            WatchSummary::from_watches(&snap.data_watches)
        );
    }

    #[test]
    fn wchc_matches_zookeeper_lines_in_sorted_order() {
        let snap = sample::standalone();
        // ZooKeeper 3.8 printed the same lines with the sessions in hash order:
        // "0x1000006f84b0001\n\t/nonexist\n\t/app/a\n0x1000006f84b0000\n\t/app/a\n\n"
        assert_eq!(
            Word::Wchc.render(&snap),
            "0x1000006f84b0000\n\t/app/a\n0x1000006f84b0001\n\t/app/a\n\t/nonexist\n\n"
        );
    }

    #[test]
    fn wchp_matches_zookeeper_lines_in_sorted_order() {
        let snap = sample::standalone();
        // ZooKeeper 3.8 printed:
        // "/nonexist\n\t0x1000006f84b0001\n/app/a\n\t0x1000006f84b0000\n\t0x1000006f84b0001\n\n"
        assert_eq!(
            Word::Wchp.render(&snap),
            "/app/a\n\t0x1000006f84b0000\n\t0x1000006f84b0001\n/nonexist\n\t0x1000006f84b0001\n\n"
        );
    }

    #[test]
    fn empty_watch_tables() {
        let mut snap = sample::standalone();
        snap.data_watches.clear();
        snap.watch_summary = WatchSummary::default();
        // Captured from ZooKeeper 3.8 with no watches.
        assert_eq!(
            Word::Wchs.render(&snap),
            "0 connections watching 0 paths\nTotal watches:0\n"
        );
        assert_eq!(Word::Wchc.render(&snap), "\n");
        assert_eq!(Word::Wchp.render(&snap), "\n");
    }
}
