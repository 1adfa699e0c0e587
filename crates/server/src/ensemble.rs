//! Running as a member of a replicated ensemble (zoo.cfg with several `server.N` lines).
//!
//! The server side of the Raft seam: the [`Host`] that lets consensus feed, snapshot and reset
//! the apply task, and session liveness reported from followers to the leader, which alone
//! decides expiry.

use crate::apply::ApplyInput;
use crate::config::{LearnerType, ServerConfig};
use crate::context::ServerContext;
use crate::proposal::Proposal;
use crate::sessions::SessionTracker;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use consensus::raft::{EnsembleOptions, Environment, Host, Member, RaftStorage, StateWriter};
use consensus::{CommittedBatch, Role};
use std::io::{self, Read};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tree::snapshot::SnapshotError;
use tree::{DataTree, TreeConfig};

/// How often a leader sends heartbeats; elections start after 5 to 8 missed ones, which keeps
/// a failover (election timeout plus the leader lease) well under a second.
pub const HEARTBEAT: Duration = Duration::from_millis(30);

/// Why the ensemble settings are unusable.
#[derive(Debug, thiserror::Error)]
pub enum EnsembleConfigError {
    #[error("this server has no myid, so it cannot tell which server.N line is its own")]
    NoMyId,
    #[error("myid {0} has no server.{0} line")]
    NotListed(u64),
    #[error("cannot resolve quorum address {addr}: {source}")]
    Resolve { addr: String, source: io::Error },
}

/// Where the Raft log, vote and snapshots of an ensemble member live.
pub fn raft_dir(config: &ServerConfig) -> PathBuf {
    config.data_log_dir().join("raft")
}

/// Whether `config` describes an ensemble rather than a standalone server.
pub fn is_ensemble(config: &ServerConfig) -> bool {
    config.servers.len() > 1 || (!config.servers.is_empty() && !config.standalone_enabled)
}

/// The Raft settings for this member, from its `server.N` lines and `myid`.
pub fn options(config: &ServerConfig) -> Result<EnsembleOptions, EnsembleConfigError> {
    let my_id = config.my_id.ok_or(EnsembleConfigError::NoMyId)?;
    let me = config
        .servers
        .iter()
        .find(|s| s.id == my_id)
        .ok_or(EnsembleConfigError::NotListed(my_id))?;
    let addr = format!("{}:{}", bracket(&me.host), me.quorum_port);
    let listen: SocketAddr = addr
        .to_socket_addrs()
        .and_then(|mut a| a.next().ok_or_else(|| io::Error::other("no address")))
        .map_err(|source| EnsembleConfigError::Resolve {
            addr: addr.clone(),
            source,
        })?;
    let members = config
        .servers
        .iter()
        .map(|s| Member {
            id: s.id,
            addr: format!("{}:{}", bracket(&s.host), s.quorum_port),
            voter: s.learner_type == LearnerType::Participant,
        })
        .collect();
    Ok(EnsembleOptions {
        my_id,
        members,
        listen,
        dir: raft_dir(config),
        snap_count: u64::from(config.snap_count),
        heartbeat: HEARTBEAT,
    })
}

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// Opens this member's Raft state and loads its newest snapshot. A damaged log or snapshot is not
/// served: it is moved aside and the member recovers its state from the ensemble
/// (`consensus::raft::recovery`), which also keeps it from voting or serving until it has caught up.
/// Anything else (an unreadable vote file, an I/O error) stops the start.
pub fn open_state(
    options: &EnsembleOptions,
    env: &Environment,
    config: &ServerConfig,
    tree_config: &TreeConfig,
) -> Result<(RaftStorage, DataTree), crate::ServerError> {
    let mut quarantined = false;
    loop {
        match load(options, env, config, tree_config) {
            Ok(opened) => return Ok(opened),
            Err(e) if !quarantined && is_damage(&e) => {
                consensus::raft::recovery::quarantine(env, &options.dir, &e.to_string())?;
                quarantined = true;
            }
            Err(e) => return Err(e),
        }
    }
}

fn load(
    options: &EnsembleOptions,
    env: &Environment,
    config: &ServerConfig,
    tree_config: &TreeConfig,
) -> Result<(RaftStorage, DataTree), crate::ServerError> {
    let (storage, state) = RaftStorage::open(&options.dir, env, config.log_layout())?;
    let tree = match state {
        Some(input) => crate::read_ahead::with_read_ahead(input, |input| {
            crate::snapshots::read_whole_tree(input, tree_config.clone())
        })
        .map_err(|source| crate::snapshots::LoadError::Content {
            path: options.dir.join("snapshots"),
            source,
        })?,
        None => DataTree::with_config(tree_config.clone()),
    };
    Ok((storage, tree))
}

/// Damage, as opposed to an I/O failure: bytes that fail their checksum, or a snapshot whose
/// content does not decode (its checksum is only checked at its end, so damage may show first as
/// a nonsensical field).
fn is_damage(e: &crate::ServerError) -> bool {
    if consensus::raft::recovery::is_damage(e) {
        return true;
    }
    matches!(
        e,
        crate::ServerError::Snapshot(crate::snapshots::LoadError::Content { source, .. })
            if !matches!(source, SnapshotError::Io(_))
    )
}

/// The apply task, as consensus sees it.
pub struct ServerHost {
    pub apply: mpsc::UnboundedSender<ApplyInput>,
    pub tree_config: TreeConfig,
    pub tracker: Arc<SessionTracker>,
}

impl Host<Proposal> for ServerHost {
    fn deliver(&self, batch: CommittedBatch<Proposal>) -> bool {
        self.apply.send(ApplyInput::Committed(batch)).is_ok()
    }

    fn capture(&self) -> oneshot::Receiver<StateWriter> {
        let (tx, rx) = oneshot::channel();
        // If the apply task is gone the receiver reports it.
        let _ = self.apply.send(ApplyInput::Capture(tx));
        rx
    }

    fn install(&self, input: &mut dyn Read) -> io::Result<()> {
        let tree = crate::snapshots::read_tree(input, self.tree_config.clone())
            .map_err(|e| io::Error::other(e.to_string()))?;
        self.apply
            .send(ApplyInput::Install(Box::new(tree)))
            .map_err(|_| io::Error::other("the apply task has stopped"))
    }

    fn leader_message(&self, _from: u64, message: Bytes) {
        match decode_touches(message) {
            Some(ids) => self.tracker.touch_ids(&ids),
            None => tracing::warn!("ignoring a malformed session report"),
        }
    }
}

fn encode_touches(ids: &[i64]) -> Bytes {
    let mut out = BytesMut::with_capacity(4 + ids.len() * 8);
    out.put_u32(ids.len() as u32);
    for id in ids {
        out.put_i64(*id);
    }
    out.freeze()
}

fn decode_touches(mut message: Bytes) -> Option<Vec<i64>> {
    if message.remaining() < 4 {
        return None;
    }
    let n = message.get_u32() as usize;
    if message.remaining() != n.checked_mul(8)? {
        return None;
    }
    Some((0..n).map(|_| message.get_i64()).collect())
}

/// On a follower or observer: reports the sessions its clients kept alive to the leader, every
/// half tick, so the leader (which alone expires sessions) knows they are live.
pub async fn report_sessions(ctx: Arc<ServerContext>, tick: Duration) {
    let mut interval = tokio::time::interval((tick / 2).max(Duration::from_millis(10)));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut since = 0;
    loop {
        interval.tick().await;
        let now = ctx.tracker.now_ms();
        if !matches!(ctx.consensus.role(), Role::Follower | Role::Observer) {
            since = now;
            continue;
        }
        let ids = ctx.tracker.touched_since(since);
        since = now;
        if !ids.is_empty() {
            ctx.consensus.send_to_leader(encode_touches(&ids));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_reports_round_trip_and_reject_bad_lengths() {
        let ids = vec![1, -5, i64::MAX];
        assert_eq!(decode_touches(encode_touches(&ids)), Some(ids));
        assert_eq!(decode_touches(Bytes::from_static(&[0, 0, 0, 2, 1])), None);
        assert_eq!(decode_touches(Bytes::new()), None);
    }
}
