//! Snapshots holding what a real ZooKeeper 3.8 server showed while two kazoo sessions were open
//! (session 0x1000006f84b0000 with ephemerals /app/eph1 and /app/eph2 and a data watch on
//! /app/a; session 0x1000006f84b0001 with ephemeral /other and data watches on /app/a and
//! /nonexist), so renders can be compared with its captured output.

use crate::snapshot::{
    BufferSizes, ConnectionExpiry, ConnectionSession, ConnectionStats, DataWatch, Latency, Monitor,
    ServerState, ServerStats, SessionEphemerals, SessionInfo, Snapshot, WatchSummary,
};

const FIRST: i64 = 0x1000006f84b0000;
const SECOND: i64 = 0x1000006f84b0001;

fn addr(port: u16) -> std::net::SocketAddr {
    std::net::SocketAddr::from(([127, 0, 0, 1], port))
}

fn asking(port: u16) -> ConnectionStats {
    ConnectionStats {
        remote: addr(port),
        interest_ops: 0,
        outstanding_requests: 0,
        packets_received: 1,
        packets_sent: 0,
        session: None,
    }
}

/// The standalone server, as its `cons`, `wchs`, `dump` and `mntr` showed it.
pub(crate) fn standalone() -> Snapshot {
    let watches = vec![
        DataWatch {
            path: "/nonexist".to_owned(),
            session_id: SECOND,
        },
        DataWatch {
            path: "/app/a".to_owned(),
            session_id: SECOND,
        },
        DataWatch {
            path: "/app/a".to_owned(),
            session_id: FIRST,
        },
    ];
    Snapshot {
        serving: true,
        version: "3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC".to_owned(),
        server: ServerStats {
            state: ServerState::Standalone,
            // 17 requests, 57 ms in all: ZooKeeper's 3.3529 average.
            latency: Latency {
                count: 17,
                total_us: 57_000,
                min_us: 400,
                max_us: 13_200,
            },
            packets_received: 30,
            packets_sent: 29,
            alive_connections: 3,
            outstanding_requests: 0,
            last_processed_zxid: 7,
            node_count: 10,
            proposal_sizes: None,
        },
        connections: vec![
            asking(50926),
            ConnectionStats {
                remote: addr(50922),
                interest_ops: 1,
                outstanding_requests: 0,
                packets_received: 5,
                packets_sent: 5,
                session: Some(ConnectionSession {
                    session_id: SECOND,
                    last_operation: "GETC".to_owned(),
                    established_ms: 1_795_320_331_305,
                    session_timeout_ms: 15_000,
                    last_cxid: Some(4),
                    last_zxid: 7,
                    last_response_ms: 471_885,
                    last_latency_ms: 1,
                    latency: Latency {
                        count: 5,
                        total_us: 4_000,
                        min_us: 300,
                        max_us: 2_100,
                    },
                }),
            },
            ConnectionStats {
                remote: addr(50918),
                interest_ops: 1,
                outstanding_requests: 0,
                packets_received: 11,
                packets_sent: 11,
                session: Some(ConnectionSession {
                    session_id: FIRST,
                    last_operation: "PING".to_owned(),
                    established_ms: 1_795_320_331_269,
                    session_timeout_ms: 10_000,
                    last_cxid: Some(9),
                    last_zxid: 7,
                    last_response_ms: 474_837,
                    last_latency_ms: 1,
                    latency: Latency {
                        count: 11,
                        total_us: 50_000,
                        min_us: 200,
                        max_us: 13_500,
                    },
                }),
            },
        ],
        watch_summary: WatchSummary::from_watches(&watches),
        data_watches: watches,
        sessions: vec![
            SessionInfo {
                session_id: SECOND,
                timeout_ms: 15_000,
                expires_at_ms: 1_795_320_347_000,
            },
            SessionInfo {
                session_id: FIRST,
                timeout_ms: 10_000,
                expires_at_ms: 1_795_320_345_000,
            },
        ],
        ephemerals: vec![
            SessionEphemerals {
                session_id: SECOND,
                paths: vec!["/other".to_owned()],
            },
            SessionEphemerals {
                session_id: FIRST,
                paths: vec!["/app/eph2".to_owned(), "/app/eph1".to_owned()],
            },
        ],
        connection_expiry: Some(vec![
            ConnectionExpiry {
                remote: addr(50922),
                session_id: SECOND,
                expires_at_ms: 1_795_320_349_000,
            },
            ConnectionExpiry {
                remote: addr(50956),
                session_id: 0,
                expires_at_ms: 1_795_320_349_000,
            },
            ConnectionExpiry {
                remote: addr(50918),
                session_id: FIRST,
                expires_at_ms: 1_795_320_349_000,
            },
        ]),
        conf: Vec::new(),
        membership: None,
        environment: Vec::new(),
        dir_sizes: Default::default(),
        monitor: Monitor {
            uptime_ms: 20_048,
            watch_count: 5,
            ephemerals_count: 3,
            approximate_data_size: 82,
            global_sessions: 2,
            local_sessions: 0,
            open_file_descriptor_count: Some(44),
            max_file_descriptor_count: Some(20_000),
            client_response_sizes: BufferSizes {
                last: 16,
                min: 16,
                max: 88,
            },
            auth_failed_count: 0,
            ..Monitor::default()
        },
    }
}

/// The connections as `stat` listed them a moment later.
pub(crate) fn stat_connections() -> Vec<ConnectionStats> {
    let mut conns = standalone().connections;
    conns.remove(0);
    conns[0].packets_received = 6;
    conns[0].packets_sent = 6;
    conns.push(asking(50974));
    conns
}
