//! `srvr` and `stat` (ZooKeeper's `StatCommand` and `ServerStats.toString`).

use super::connections::connection;
use crate::format::hex;
use crate::snapshot::{BufferSizes, ServerState, Snapshot};
use std::fmt::{self, Write};

pub(super) fn srvr(out: &mut String, snap: &Snapshot, with_clients: bool) -> fmt::Result {
    let s = &snap.server;
    writeln!(out, "Zookeeper version: {}", snap.version)?;
    if s.state == ServerState::ReadOnly {
        writeln!(out, "READ-ONLY mode; serving only read-only clients")?;
    }
    if with_clients {
        writeln!(out, "Clients:")?;
        for c in &snap.connections {
            connection(out, c, true)?;
            writeln!(out)?;
        }
        writeln!(out)?;
    }
    writeln!(
        out,
        "Latency min/avg/max: {}/{}/{}",
        s.latency.min_ms(),
        s.latency.avg_ms_text(),
        s.latency.max_ms()
    )?;
    writeln!(out, "Received: {}", s.packets_received)?;
    writeln!(out, "Sent: {}", s.packets_sent)?;
    writeln!(out, "Connections: {}", s.alive_connections)?;
    writeln!(out, "Outstanding: {}", s.outstanding_requests)?;
    writeln!(out, "Zxid: 0x{}", hex(s.last_processed_zxid))?;
    writeln!(out, "Mode: {}", s.state.name())?;
    writeln!(out, "Node count: {}", s.node_count)?;
    if s.state == ServerState::Leader {
        let p = s.proposal_sizes.unwrap_or(BufferSizes::NONE);
        writeln!(
            out,
            "Proposal sizes last/min/max: {}/{}/{}",
            p.last, p.min, p.max
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::sample;
    use crate::snapshot::{BufferSizes, ServerState};
    use crate::word::Word;

    #[test]
    fn srvr_standalone_matches_zookeeper() {
        let mut snap = sample::standalone();
        snap.server.packets_received = 32;
        snap.server.packets_sent = 33;
        // Captured from ZooKeeper 3.8 (`srvr`, two kazoo sessions open).
        let expected =
            "Zookeeper version: 3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC\n\
            Latency min/avg/max: 0/3.3529/13\n\
            Received: 32\n\
            Sent: 33\n\
            Connections: 3\n\
            Outstanding: 0\n\
            Zxid: 0x7\n\
            Mode: standalone\n\
            Node count: 10\n";
        assert_eq!(Word::Srvr.render(&snap), expected);
    }

    #[test]
    fn stat_lists_clients_briefly() {
        let mut snap = sample::standalone();
        snap.connections = sample::stat_connections();
        snap.server.packets_received = 31;
        snap.server.packets_sent = 32;
        // Captured from ZooKeeper 3.8 (`stat`, right after the `srvr` above).
        let expected =
            "Zookeeper version: 3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC\n\
            Clients:\n \
            /127.0.0.1:50922[1](queued=0,recved=6,sent=6)\n \
            /127.0.0.1:50918[1](queued=0,recved=11,sent=11)\n \
            /127.0.0.1:50974[0](queued=0,recved=1,sent=0)\n\
            \n\
            Latency min/avg/max: 0/3.3529/13\n\
            Received: 31\n\
            Sent: 32\n\
            Connections: 3\n\
            Outstanding: 0\n\
            Zxid: 0x7\n\
            Mode: standalone\n\
            Node count: 10\n";
        assert_eq!(Word::Stat.render(&snap), expected);
    }

    #[test]
    fn leader_adds_proposal_sizes() {
        let mut snap = sample::standalone();
        snap.server.state = ServerState::Leader;
        snap.server.proposal_sizes = Some(BufferSizes {
            last: 91,
            min: 48,
            max: 95,
        });
        let text = Word::Srvr.render(&snap);
        assert!(
            text.ends_with("Mode: leader\nNode count: 10\nProposal sizes last/min/max: 91/48/95\n"),
            "{text}"
        );
        snap.server.proposal_sizes = None;
        assert!(Word::Srvr
            .render(&snap)
            .ends_with("Proposal sizes last/min/max: -1/-1/-1\n"));
    }

    #[test]
    fn followers_do_not_print_proposal_sizes() {
        let mut snap = sample::standalone();
        snap.server.state = ServerState::Follower;
        snap.server.proposal_sizes = Some(BufferSizes::NONE);
        let text = Word::Srvr.render(&snap);
        assert!(text.ends_with("Mode: follower\nNode count: 10\n"), "{text}");
    }

    #[test]
    fn read_only_banner() {
        let mut snap = sample::standalone();
        snap.server.state = ServerState::ReadOnly;
        snap.connections.truncate(1);
        // Captured from a ZooKeeper 3.8 ensemble member in read-only mode.
        let stat = Word::Stat.render(&snap);
        assert!(
            stat.starts_with(
                "Zookeeper version: 3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC\n\
                 READ-ONLY mode; serving only read-only clients\nClients:\n"
            ),
            "{stat}"
        );
        assert!(Word::Srvr.render(&snap).contains("\nMode: read-only\n"));
    }
}
