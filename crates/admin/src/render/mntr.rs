//! `mntr` (ZooKeeper's `MonitorCommand`): `zk_<name>\t<value>` lines. ZooKeeper prints its
//! gauges in hash order; monitoring tools read lines by key, so we print ours in the order of
//! ZooKeeper's documentation and keep the keys and value formats.

use crate::format::{java_double, rounded_ratio};
use crate::snapshot::{BufferSizes, MetricValue, ServerState, Snapshot, Summary};
use std::fmt::{self, Display, Write};

pub(super) fn mntr(out: &mut String, snap: &Snapshot) -> fmt::Result {
    let s = &snap.server;
    let m = &snap.monitor;
    line(out, "version", &snap.version)?;
    line(out, "server_state", s.state.name())?;
    if let Some(peer_state) = &m.peer_state {
        line(out, "peer_state", peer_state)?;
    }
    if let Some(id) = m.observer_master_id {
        line(out, "observer_master_id", id)?;
    }
    line(out, "avg_latency", s.latency.avg_ms_text())?;
    line(out, "max_latency", s.latency.max_ms())?;
    line(out, "min_latency", s.latency.min_ms())?;
    line(out, "packets_received", s.packets_received)?;
    line(out, "packets_sent", s.packets_sent)?;
    line(out, "num_alive_connections", s.alive_connections)?;
    line(out, "outstanding_requests", s.outstanding_requests)?;
    line(out, "znode_count", s.node_count)?;
    line(out, "watch_count", m.watch_count)?;
    line(out, "ephemerals_count", m.ephemerals_count)?;
    line(out, "approximate_data_size", m.approximate_data_size)?;
    if let Some(n) = m.open_file_descriptor_count {
        line(out, "open_file_descriptor_count", n)?;
    }
    if let Some(n) = m.max_file_descriptor_count {
        line(out, "max_file_descriptor_count", n)?;
    }
    line(out, "uptime", m.uptime_ms)?;
    line(out, "global_sessions", m.global_sessions)?;
    line(out, "local_sessions", m.local_sessions)?;
    line(
        out,
        "last_client_response_size",
        m.client_response_sizes.last,
    )?;
    line(out, "max_client_response_size", m.client_response_sizes.max)?;
    line(out, "min_client_response_size", m.client_response_sizes.min)?;
    line(out, "auth_failed_count", m.auth_failed_count)?;
    if let Some(n) = m.quorum_size {
        line(out, "quorum_size", n)?;
    }
    if let (ServerState::Leader, Some(l)) = (s.state, &m.leader) {
        line(out, "learners", l.learners)?;
        line(out, "synced_followers", l.synced_followers)?;
        line(
            out,
            "synced_non_voting_followers",
            l.synced_non_voting_followers,
        )?;
    }
    if let Some(n) = m.synced_observers {
        line(out, "synced_observers", n)?;
    }
    if let (ServerState::Leader, Some(l)) = (s.state, &m.leader) {
        line(out, "pending_syncs", l.pending_syncs)?;
        line(out, "leader_uptime", l.leader_uptime_ms)?;
        let p = s.proposal_sizes.unwrap_or(BufferSizes::NONE);
        line(out, "last_proposal_size", p.last)?;
        line(out, "max_proposal_size", p.max)?;
        line(out, "min_proposal_size", p.min)?;
    }
    for (name, value) in &m.extra {
        match value {
            MetricValue::Int(n) => line(out, name, n)?,
            MetricValue::Float(x) => line(out, name, java_double(*x))?,
            MetricValue::Text(t) => line(out, name, t)?,
        }
    }
    for summary in &m.summaries {
        summary_lines(out, summary)?;
    }
    Ok(())
}

fn line(out: &mut String, key: &str, value: impl Display) -> fmt::Result {
    writeln!(out, "zk_{key}\t{value}")
}

/// ZooKeeper's `AvgMinMaxCounter` (and `…PercentileCounter`) key order.
fn summary_lines(out: &mut String, s: &Summary) -> fmt::Result {
    let name = &s.name;
    let (min, max) = if s.count == 0 { (0, 0) } else { (s.min, s.max) };
    line(
        out,
        &format!("avg_{name}"),
        rounded_ratio(s.sum as u128, s.count as u128),
    )?;
    line(out, &format!("min_{name}"), min)?;
    line(out, &format!("max_{name}"), max)?;
    line(out, &format!("cnt_{name}"), s.count)?;
    line(out, &format!("sum_{name}"), s.sum)?;
    if let Some(p) = &s.percentiles {
        line(out, &format!("p50_{name}"), p.p50)?;
        line(out, &format!("p95_{name}"), p.p95)?;
        line(out, &format!("p99_{name}"), p.p99)?;
        line(out, &format!("p999_{name}"), p.p999)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::sample;
    use crate::snapshot::{
        BufferSizes, LeaderMonitor, MetricValue, Percentiles, ServerState, Summary,
    };
    use crate::word::Word;

    /// Every `zk_` key ZooKeeper 3.8 printed as a gauge or server value, from standalone,
    /// leader, follower and observer servers.
    const ZOOKEEPER_KEYS: &[&str] = &[
        "version",
        "server_state",
        "peer_state",
        "observer_master_id",
        "ephemerals_count",
        "num_alive_connections",
        "avg_latency",
        "outstanding_requests",
        "znode_count",
        "global_sessions",
        "non_mtls_remote_conn_count",
        "last_client_response_size",
        "packets_sent",
        "packets_received",
        "max_client_response_size",
        "connection_drop_probability",
        "watch_count",
        "auth_failed_count",
        "min_latency",
        "max_file_descriptor_count",
        "approximate_data_size",
        "open_file_descriptor_count",
        "local_sessions",
        "uptime",
        "max_latency",
        "outstanding_tls_handshake",
        "min_client_response_size",
        "non_mtls_local_conn_count",
        "quorum_size",
        "min_proposal_size",
        "max_proposal_size",
        "synced_followers",
        "synced_non_voting_followers",
        "synced_observers",
        "last_proposal_size",
        "pending_syncs",
        "leader_uptime",
        "learners",
    ];

    fn keys(text: &str) -> Vec<&str> {
        text.lines()
            .map(|l| {
                let (key, _) = l.split_once('\t').expect("tab-separated");
                key.strip_prefix("zk_").expect("zk_ prefix")
            })
            .collect()
    }

    #[test]
    fn standalone_mntr() {
        let snap = sample::standalone();
        let expected = "zk_version\t3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC\n\
            zk_server_state\tstandalone\n\
            zk_avg_latency\t3.3529\n\
            zk_max_latency\t13\n\
            zk_min_latency\t0\n\
            zk_packets_received\t30\n\
            zk_packets_sent\t29\n\
            zk_num_alive_connections\t3\n\
            zk_outstanding_requests\t0\n\
            zk_znode_count\t10\n\
            zk_watch_count\t5\n\
            zk_ephemerals_count\t3\n\
            zk_approximate_data_size\t82\n\
            zk_open_file_descriptor_count\t44\n\
            zk_max_file_descriptor_count\t20000\n\
            zk_uptime\t20048\n\
            zk_global_sessions\t2\n\
            zk_local_sessions\t0\n\
            zk_last_client_response_size\t16\n\
            zk_max_client_response_size\t88\n\
            zk_min_client_response_size\t16\n\
            zk_auth_failed_count\t0\n";
        assert_eq!(Word::Mntr.render(&snap), expected);
        // Each of those lines appeared, with the same value, in ZooKeeper 3.8's `mntr`.
        for key in keys(expected) {
            assert!(ZOOKEEPER_KEYS.contains(&key), "{key}");
        }
    }

    #[test]
    fn unknown_descriptor_counts_are_left_out() {
        let mut snap = sample::standalone();
        snap.monitor.open_file_descriptor_count = None;
        snap.monitor.max_file_descriptor_count = None;
        let text = Word::Mntr.render(&snap);
        assert!(!text.contains("file_descriptor"), "{text}");
        assert!(text.contains("zk_approximate_data_size\t82\nzk_uptime\t"));
    }

    #[test]
    fn leader_mntr_adds_ensemble_keys() {
        let mut snap = sample::standalone();
        snap.server.state = ServerState::Leader;
        snap.server.proposal_sizes = Some(BufferSizes {
            last: 91,
            min: 48,
            max: 95,
        });
        snap.monitor.peer_state = Some("leading - broadcast".to_owned());
        snap.monitor.quorum_size = Some(3);
        snap.monitor.synced_observers = Some(1);
        snap.monitor.leader = Some(LeaderMonitor {
            learners: 3,
            synced_followers: 2,
            synced_non_voting_followers: 0,
            pending_syncs: 0,
            leader_uptime_ms: 16826,
        });
        let text = Word::Mntr.render(&snap);
        // Values as a ZooKeeper 3.8 leader printed them.
        for expected in [
            "zk_server_state\tleader\nzk_peer_state\tleading - broadcast\n",
            "zk_quorum_size\t3\n",
            "zk_learners\t3\n",
            "zk_synced_followers\t2\n",
            "zk_synced_non_voting_followers\t0\n",
            "zk_synced_observers\t1\n",
            "zk_pending_syncs\t0\n",
            "zk_leader_uptime\t16826\n",
            "zk_last_proposal_size\t91\n",
            "zk_max_proposal_size\t95\n",
            "zk_min_proposal_size\t48\n",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
        for key in keys(&text) {
            assert!(ZOOKEEPER_KEYS.contains(&key), "{key}");
        }
    }

    #[test]
    fn follower_and_observer_keys() {
        let mut snap = sample::standalone();
        snap.server.state = ServerState::Observer;
        snap.monitor.peer_state = Some("observing - broadcast".to_owned());
        snap.monitor.observer_master_id = Some(3);
        snap.monitor.leader = Some(LeaderMonitor::default());
        let text = Word::Mntr.render(&snap);
        assert!(text.contains(
            "zk_server_state\tobserver\nzk_peer_state\tobserving - broadcast\nzk_observer_master_id\t3\n"
        ));
        assert!(
            !text.contains("zk_learners"),
            "leader keys only on a leader"
        );
    }

    #[test]
    fn no_responses_yet_prints_minus_one() {
        let mut snap = sample::standalone();
        snap.monitor.client_response_sizes = BufferSizes::NONE;
        let text = Word::Mntr.render(&snap);
        // As a fresh ZooKeeper 3.8 leader printed them.
        assert!(text.contains("zk_last_client_response_size\t-1\n"));
        assert!(text.contains("zk_max_client_response_size\t-1\n"));
        assert!(text.contains("zk_min_client_response_size\t-1\n"));
    }

    #[test]
    fn extra_values_and_summaries() {
        let mut snap = sample::standalone();
        snap.monitor.extra = vec![
            (
                "connection_drop_probability".to_owned(),
                MetricValue::Float(0.0),
            ),
            ("throttled_ops".to_owned(), MetricValue::Int(0)),
            (
                "snapshot_state".to_owned(),
                MetricValue::Text("idle".to_owned()),
            ),
        ];
        snap.monitor.summaries = vec![
            Summary {
                name: "readlatency".to_owned(),
                count: 10,
                sum: 22,
                min: 0,
                max: 8,
                percentiles: Some(Percentiles {
                    p50: 1,
                    p95: 8,
                    p99: 8,
                    p999: 8,
                }),
            },
            Summary {
                name: "fsynctime".to_owned(),
                count: 0,
                sum: 0,
                min: u64::MAX,
                max: 0,
                percentiles: None,
            },
        ];
        let text = Word::Mntr.render(&snap);
        // Formats as ZooKeeper 3.8 printed them.
        let tail = "zk_auth_failed_count\t0\n\
            zk_connection_drop_probability\t0.0\n\
            zk_throttled_ops\t0\n\
            zk_snapshot_state\tidle\n\
            zk_avg_readlatency\t2.2\n\
            zk_min_readlatency\t0\n\
            zk_max_readlatency\t8\n\
            zk_cnt_readlatency\t10\n\
            zk_sum_readlatency\t22\n\
            zk_p50_readlatency\t1\n\
            zk_p95_readlatency\t8\n\
            zk_p99_readlatency\t8\n\
            zk_p999_readlatency\t8\n\
            zk_avg_fsynctime\t0.0\n\
            zk_min_fsynctime\t0\n\
            zk_max_fsynctime\t0\n\
            zk_cnt_fsynctime\t0\n\
            zk_sum_fsynctime\t0\n";
        assert!(text.ends_with(tail), "{text}");
    }
}
