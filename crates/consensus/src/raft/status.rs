//! Watches Raft's metrics and publishes what the server needs: this member's role, the leader,
//! whether it may serve clients, and an epoch that moves whenever either changes (the server then
//! closes its client connections, as a ZooKeeper follower does when it loses its leader).

use super::{Member, RaftHandle};
use crate::durable::LogPayload;
use crate::Role;
pub use crate::Status;
use openraft::async_runtime::WatchReceiver;
use openraft::{BasicNode, ServerState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// The shortest silence after which a member stops serving clients (ZooKeeper waits
/// `syncLimit * tickTime`, 10 s by default).
const SERVING_LEASE_MS: u64 = 2_000;

/// When this member last heard from a leader (milliseconds since `epoch`).
#[derive(Debug)]
pub struct LeaderContact {
    epoch: Instant,
    last_ms: AtomicU64,
}

impl LeaderContact {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            epoch: Instant::now(),
            last_ms: AtomicU64::new(0),
        })
    }

    /// Records a message from the leader now.
    pub fn heard(&self) {
        self.last_ms.store(
            self.epoch.elapsed().as_millis() as u64 + 1,
            Ordering::Relaxed,
        );
    }

    fn silent_for(&self) -> Option<Duration> {
        match self.last_ms.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(
                self.epoch
                    .elapsed()
                    .saturating_sub(Duration::from_millis(ms - 1)),
            ),
        }
    }
}

fn role_of(state: ServerState) -> Role {
    match state {
        ServerState::Leader => Role::Leader,
        ServerState::Follower => Role::Follower,
        ServerState::Learner => Role::Observer,
        ServerState::Candidate | ServerState::Shutdown => Role::Looking,
    }
}

/// Starts the monitor; the returned sender lets others force a new epoch (a lost forward).
pub fn spawn_monitor<P: LogPayload>(
    raft: RaftHandle<P>,
    my_id: u64,
    members: Vec<Member>,
    heartbeat_ms: u64,
    contact: Arc<LeaderContact>,
    recovery: Arc<super::recovery::Recovery>,
) -> Arc<watch::Sender<Status>> {
    let (tx, _) = watch::channel(Status::default());
    let tx = Arc::new(tx);
    let publisher = Arc::clone(&tx);
    let voters = members.iter().filter(|m| m.voter).count();
    // Past this silence a leader or follower no longer counts as part of a working quorum. Far
    // longer than an election timeout: a busy machine delays heartbeats by hundreds of ms, and
    // every flip closes all client connections. A real leader change moves the epoch at once
    // anyway, and a write forwarded to a dead leader fails and moves it too.
    let lease = Duration::from_millis((heartbeat_ms * 10).max(SERVING_LEASE_MS));
    tokio::spawn(async move {
        let mut metrics = raft.metrics();
        let mut tick = tokio::time::interval(Duration::from_millis(heartbeat_ms));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut was_leader = false;
        let mut last_term = 0;
        loop {
            tokio::select! {
                changed = metrics.changed() => if changed.is_err() { return },
                _ = tick.tick() => {}
            }
            let (state, leader, term, quorum_acked_ago, failed) = {
                let m = metrics.borrow_watched();
                (
                    m.state,
                    m.current_leader,
                    m.current_term,
                    m.last_quorum_acked
                        .as_ref()
                        .map(|at| openraft::Instant::elapsed(&**at)),
                    // Raft stopped on an error (a stop we asked for is `Fatal::Stopped`).
                    matches!(&m.running_state, Err(e) if !matches!(e, openraft::error::Fatal::Stopped)),
                )
            };
            let role = role_of(state);
            let serving = match role {
                Role::Leader => voters <= 1 || quorum_acked_ago.is_some_and(|ago| ago < lease),
                Role::Follower | Role::Observer => {
                    leader.is_some() && contact.silent_for().is_some_and(|d| d < lease)
                }
                Role::Looking | Role::Standalone => false,
            };
            // A recovering member's state is incomplete until it has caught up.
            let recovering = recovery.active();
            let serving = serving && !recovering && !failed;
            let leader = leader.filter(|_| serving);
            // A new term is a new election, even if the same member won it again: writes
            // forwarded or proposed in the old term may be gone, so the epoch moves.
            let new_term = term != last_term;
            last_term = term;
            publisher.send_if_modified(|s| {
                if !new_term
                    && s.role == role
                    && s.leader == leader
                    && s.serving == serving
                    && s.recovering == recovering
                    && s.failed == failed
                {
                    return false;
                }
                if new_term || s.leader != leader || s.serving != serving {
                    s.epoch += 1;
                }
                s.role = role;
                s.leader = leader;
                s.serving = serving;
                s.recovering = recovering;
                s.failed = failed;
                tracing::info!(
                    "member {my_id}: {} (leader {leader:?}, serving {serving})",
                    role.as_str()
                );
                true
            });
            let is_leader = role == Role::Leader;
            if is_leader && !was_leader {
                tokio::spawn(add_observers(raft.clone(), members.clone()));
            }
            was_leader = is_leader;
        }
    });
    tx
}

/// Observers join as Raft learners; only a leader can add them, and only once its first
/// membership entry is committed, so this retries while the member leads.
async fn add_observers<P: LogPayload>(raft: RaftHandle<P>, members: Vec<Member>) {
    let mut missing: Vec<&Member> = members.iter().filter(|m| !m.voter).collect();
    while !missing.is_empty() && raft.is_leader() {
        let known: Vec<u64> = {
            let m = raft.metrics();
            let m = m.borrow_watched();
            m.membership_config
                .membership()
                .nodes()
                .map(|(id, _)| *id)
                .collect()
        };
        missing.retain(|m| !known.contains(&m.id));
        let mut failed = false;
        for member in &missing {
            let node = BasicNode {
                addr: member.addr.clone(),
            };
            if let Err(e) = raft.add_learner(member.id, node, false).await {
                tracing::debug!("cannot add observer {} yet: {e}", member.id);
                failed = true;
                break;
            }
            tracing::info!("added observer {}", member.id);
        }
        if failed {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
