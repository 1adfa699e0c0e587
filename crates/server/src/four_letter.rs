//! Four-letter words on the client port: check the whitelist, gather what the word needs, and let
//! `admin` render it.

use crate::apply::ApplyInput;
use crate::connection_stats::ConnectionStats;
use crate::context::ServerContext;
use consensus::{Clock, Role, SystemClock};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::Ordering;

/// The text answering `word`, sent by connection `asking_conn`.
pub async fn answer(ctx: &ServerContext, word: &str, asking_conn: u64) -> String {
    if !ctx.config.is_four_letter_word_allowed(word) {
        return admin::not_in_whitelist(word);
    }
    let needs = admin::needs(word);
    let status = *ctx.consensus.status().borrow();
    // A member cut off from its quorum still runs, read-only, when `readonlymode.enabled`; one
    // recovering damaged state does not serve at all.
    let read_only = !status.serving && !status.recovering && ctx.config.read_only_mode_enabled;
    let mut snap = admin::Snapshot {
        serving: status.serving || read_only,
        version: admin::full_version(env!("CARGO_PKG_VERSION"), "unknown"),
        ..Default::default()
    };
    if let Some(reset) = admin::reset(word, snap.serving) {
        match reset {
            admin::Reset::ConnectionStats => {
                for (_, conn) in ctx.connections.list() {
                    conn.reset();
                }
            }
            admin::Reset::ServerStats => ctx.stats.reset(),
        }
    }
    let Some(tree_facts) = gather_tree_facts(ctx, needs).await else {
        return admin::NOT_SERVING.to_owned() + "\n";
    };
    fill_server_stats(ctx, &mut snap, &tree_facts);
    if read_only {
        snap.server.state = admin::ServerState::ReadOnly;
    }
    let session_of: HashMap<u64, i64> = tree_facts.session_connections.clone();
    if needs.connections {
        snap.connections = ctx
            .connections
            .list()
            .into_iter()
            .map(|(id, c)| connection_stats(&c, id == asking_conn))
            .collect();
    }
    let data_watches: Vec<admin::DataWatch> = tree_facts
        .data_watches
        .iter()
        .map(|(path, conn)| admin::DataWatch {
            path: path.clone(),
            session_id: session_of.get(conn).copied().unwrap_or(0),
        })
        .collect();
    snap.watch_summary = admin::WatchSummary::from_watches(&data_watches);
    snap.data_watches = data_watches;
    if needs.dump {
        let wall_now = SystemClock.now_ms();
        let mono_now = ctx.tracker.now_ms();
        snap.sessions = tree_facts
            .sessions
            .iter()
            .map(|(session_id, timeout_ms)| admin::SessionInfo {
                session_id: *session_id,
                timeout_ms: *timeout_ms,
                expires_at_ms: ctx
                    .tracker
                    .deadline_ms(*session_id)
                    .map_or(wall_now, |d| wall_now + (d - mono_now)),
            })
            .collect();
        snap.ephemerals = tree_facts.ephemerals.clone();
    }
    if needs.conf || needs.dir_sizes {
        let data_dir = dir_size(&ctx.config.data_dir);
        let log_dir = dir_size(ctx.config.data_log_dir());
        snap.dir_sizes = admin::DirSizes { data_dir, log_dir };
        snap.conf = ctx.config.conf_lines(data_dir, log_dir);
        if crate::ensemble::is_ensemble(&ctx.config) {
            // The static membership from zoo.cfg (version 0: never reconfigured).
            snap.membership = Some(admin::Membership {
                servers: ctx
                    .config
                    .servers
                    .iter()
                    .map(|s| (s.id, s.to_string()))
                    .collect(),
                version: 0,
            });
        }
    }
    if needs.environment {
        snap.environment = admin::environment(&snap.version);
    }
    if needs.monitor {
        let (open, max) = admin::file_descriptors();
        snap.monitor = admin::Monitor {
            uptime_ms: ctx.started.elapsed().as_millis() as u64,
            watch_count: tree_facts.watch_count,
            ephemerals_count: tree_facts.ephemerals_count,
            approximate_data_size: tree_facts.approximate_data_size,
            global_sessions: tree_facts.sessions.len() as u64,
            open_file_descriptor_count: open,
            max_file_descriptor_count: max,
            client_response_sizes: admin::BufferSizes::NONE,
            peer_state: match status.role {
                Role::Leader if status.serving => Some("leading - broadcast".to_owned()),
                Role::Follower if status.serving => Some("following - broadcast".to_owned()),
                Role::Observer if status.serving => Some("observing - broadcast".to_owned()),
                Role::Standalone => None,
                _ => Some("looking".to_owned()),
            },
            quorum_size: crate::ensemble::is_ensemble(&ctx.config).then(|| {
                ctx.config
                    .servers
                    .iter()
                    .filter(|s| s.learner_type == crate::config::LearnerType::Participant)
                    .count() as u64
            }),
            ..Default::default()
        };
    }
    admin::render(word, &snap)
}

/// What the apply task knows that a word may need.
#[derive(Default)]
struct TreeFacts {
    last_zxid: i64,
    node_count: u64,
    watch_count: u64,
    ephemerals_count: u64,
    approximate_data_size: u64,
    session_connections: HashMap<u64, i64>,
    data_watches: Vec<(String, u64)>,
    sessions: Vec<(i64, i32)>,
    ephemerals: Vec<admin::SessionEphemerals>,
}

async fn gather_tree_facts(ctx: &ServerContext, needs: admin::Needs) -> Option<TreeFacts> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let inspect = ApplyInput::Inspect(Box::new(move |view| {
        let tree = view.tree;
        let mut facts = TreeFacts {
            last_zxid: tree.last_zxid(),
            node_count: tree.node_count() as u64,
            watch_count: view.watches.watch_count() as u64,
            ephemerals_count: tree.ephemeral_count() as u64,
            approximate_data_size: tree.approximate_data_size().max(0) as u64,
            session_connections: view
                .session_connections
                .iter()
                .map(|(session, conn)| (*conn, *session))
                .collect(),
            ..Default::default()
        };
        if needs.watch_summary || needs.data_watches {
            facts.data_watches = view.watches.data_watches();
        }
        if needs.dump || needs.monitor {
            facts.sessions = tree
                .session_ids()
                .into_iter()
                .map(|id| (id, tree.session(id).map_or(0, |s| s.timeout_ms)))
                .collect();
        }
        if needs.dump {
            facts.ephemerals = facts
                .sessions
                .iter()
                .map(|(id, _)| admin::SessionEphemerals {
                    session_id: *id,
                    paths: tree.ephemerals(*id, "/"),
                })
                .filter(|e| !e.paths.is_empty())
                .collect();
        }
        let _ = tx.send(facts);
    }));
    ctx.apply.send(inspect).ok()?;
    rx.await.ok()
}

fn fill_server_stats(ctx: &ServerContext, snap: &mut admin::Snapshot, facts: &TreeFacts) {
    let latency = ctx.stats.latency_us();
    snap.server = admin::ServerStats {
        state: match ctx.consensus.role() {
            Role::Standalone => admin::ServerState::Standalone,
            Role::Leader => admin::ServerState::Leader,
            // Only shown while serving, which a member without a leader is not.
            Role::Follower | Role::Looking => admin::ServerState::Follower,
            Role::Observer => admin::ServerState::Observer,
        },
        latency,
        packets_received: ctx.stats.packets_received.load(Ordering::Relaxed),
        packets_sent: ctx.stats.packets_sent.load(Ordering::Relaxed),
        alive_connections: ctx.stats.alive_connections.load(Ordering::Relaxed),
        outstanding_requests: ctx.stats.outstanding_requests.load(Ordering::Relaxed),
        last_processed_zxid: facts.last_zxid,
        node_count: facts.node_count,
        proposal_sizes: None,
    };
}

fn connection_stats(c: &ConnectionStats, asking: bool) -> admin::ConnectionStats {
    let session_id = c.session_id.load(Ordering::Relaxed);
    let count = c.latency_count.load(Ordering::Relaxed);
    let last_cxid = c.last_cxid.load(Ordering::Relaxed);
    admin::ConnectionStats {
        remote: c.remote,
        interest_ops: if asking { 0 } else { 1 },
        outstanding_requests: c.outstanding.load(Ordering::Relaxed),
        packets_received: c.packets_received.load(Ordering::Relaxed),
        packets_sent: c.packets_sent.load(Ordering::Relaxed),
        session: (session_id != 0).then(|| admin::ConnectionSession {
            session_id,
            last_operation: admin::last_operation(c.last_op.load(Ordering::Relaxed)).to_owned(),
            established_ms: c.established_ms,
            session_timeout_ms: c.session_timeout_ms.load(Ordering::Relaxed),
            last_cxid: (last_cxid != i32::MIN).then_some(last_cxid),
            last_zxid: c.last_zxid.load(Ordering::Relaxed),
            last_response_ms: c.last_response_ms.load(Ordering::Relaxed),
            last_latency_ms: c.last_latency_us.load(Ordering::Relaxed) / 1000,
            latency: admin::Latency {
                count,
                total_us: c.latency_total_us.load(Ordering::Relaxed),
                min_us: if count == 0 {
                    0
                } else {
                    c.latency_min_us.load(Ordering::Relaxed)
                },
                max_us: c.latency_max_us.load(Ordering::Relaxed),
            },
        }),
    }
}

/// Bytes in the regular files directly inside `dir` (what ZooKeeper's `dirs` reports).
fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}
