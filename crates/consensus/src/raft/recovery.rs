//! Recovering a member whose log or snapshot is damaged from its peers.
//!
//! Wiping a Raft member and letting it rejoin is unsafe in two ways: it may vote twice in a term it
//! forgot, and it may vote for (or count towards) a leader that lacks an entry the member had
//! acknowledged before it lost it, so that entry, committed and answered, disappears. So a member
//! that finds its log or snapshot damaged (`quarantine`):
//!
//! - keeps its vote (term and candidate), which lives in a file of its own that must still verify
//!   (if it does not, the member refuses to start: with the term lost it could not even tell a
//!   deposed leader from the current one);
//! - moves the damaged state, whole, to `quarantine-<unix seconds>/` beside it, for an operator;
//! - first writes a durable marker, `raft.recovering`, which holds the vote too, so a crash at any
//!   step leaves a member that still knows it is recovering.
//!
//! While the marker exists the member neither grants votes or pre-votes nor stands for election,
//! and does not serve clients; it takes entries and snapshots from the leader like any follower.
//! It leaves recovery ([`watch`]) once it has applied an entry (a) from the term of the leader it
//! follows, and (b) at or past the commit index that leader reported in the first append this
//! member accepted. (a) covers a new leader, which knows what was committed before its term only
//! once it commits an entry of its own; (b) covers a leader that was already leading and may
//! have counted this member's lost acknowledgements. Only then is the marker removed and the
//! member votes again.

use super::environment::Environment;
use super::log_store;
use super::types::{LogId, Vote};
use super::{EnsembleError, RaftHandle};
use crate::durable::LogPayload;
use openraft::async_runtime::WatchReceiver;
use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use storage::fs::FileSystem;
use storage::MetaFile;

/// What the marker file holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Marker {
    /// The vote the member had when its state was moved aside.
    vote: Option<Vote>,
    /// Where the damaged state went.
    quarantine: String,
    /// What was damaged.
    cause: String,
}

/// The marker file of the Raft state in `dir`: `<dir>.recovering`, beside it, so that moving the
/// directory aside never moves the marker with it.
pub fn marker_path(dir: &Path) -> PathBuf {
    let mut name = dir.as_os_str().to_owned();
    name.push(".recovering");
    PathBuf::from(name)
}

fn marker_file(env: &Environment, dir: &Path) -> MetaFile {
    MetaFile::new(env.fs.clone(), marker_path(dir))
}

fn vote_file(env: &Environment, dir: &Path) -> MetaFile {
    MetaFile::new(env.fs.clone(), dir.join("vote"))
}

fn load_marker(env: &Environment, dir: &Path) -> Result<Option<Marker>, EnsembleError> {
    let file = marker_file(env, dir);
    let bytes = file.load().map_err(|source| EnsembleError::Log {
        dir: file.path().to_owned(),
        source,
    })?;
    bytes
        .map(|b| {
            postcard::from_bytes(&b).map_err(|e| {
                EnsembleError::Io(io::Error::other(format!(
                    "recovery marker {}: {e}",
                    file.path().display()
                )))
            })
        })
        .transpose()
}

/// Whether the Raft state in `dir` is recovering from its peers. Restores the vote from the
/// marker if a crash came between moving the old state aside and writing the new vote file.
pub(crate) fn open(env: &Environment, dir: &Path) -> Result<bool, EnsembleError> {
    let Some(marker) = load_marker(env, dir)? else {
        return Ok(false);
    };
    let votes = vote_file(env, dir);
    // Only a missing vote file is restored: a damaged one stops the start when the log opens.
    if matches!(votes.load(), Ok(None)) {
        env.fs.create_dir_all(dir)?;
        log_store::store_vote(&votes, marker.vote)?;
    }
    tracing::warn!(
        "recovering from the ensemble since {} was damaged ({}): this member votes and serves \
         clients again once it has caught up; the damaged state is in {}",
        dir.display(),
        marker.cause,
        marker.quarantine
    );
    Ok(true)
}

/// Whether `err` (or anything in its chain) says bytes on disk failed verification, as opposed
/// to an I/O failure or a setting: only damage is worth moving the state aside for.
pub fn is_damage(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        let storage = e.downcast_ref::<storage::Error>().or_else(|| {
            e.downcast_ref::<io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<storage::Error>())
        });
        if matches!(
            storage,
            Some(
                storage::Error::Corrupt { .. }
                    | storage::Error::SnapshotChecksum { .. }
                    | storage::Error::SnapshotCorrupt { .. }
            )
        ) {
            return true;
        }
        next = e.source();
    }
    false
}

/// Moves the Raft state in `dir` aside (into a new `quarantine-<unix seconds>/` beside it), keeps
/// its vote, and marks it recovering; returns the quarantine directory. Fails, touching nothing,
/// if the vote cannot be read.
pub fn quarantine(env: &Environment, dir: &Path, cause: &str) -> Result<PathBuf, EnsembleError> {
    let fs = &*env.fs;
    let previous = load_marker(env, dir)?;
    let vote = match log_store::load_vote(&vote_file(env, dir)) {
        Ok(Some(vote)) => Some(vote),
        Ok(None) => previous.as_ref().and_then(|m| m.vote),
        Err(e) => {
            return Err(EnsembleError::Io(io::Error::other(format!(
                "cannot recover from the ensemble: the vote file is unreadable ({e}), and a \
                 member that forgot its term could help a deposed leader; {cause}"
            ))))
        }
    };
    let parent = dir.parent().unwrap_or(Path::new("."));
    let seconds = env.clock.now_ms().max(0) / 1000;
    let mut target = parent.join(format!("quarantine-{seconds}"));
    let mut n = 1;
    while fs.list_dir(&target).is_ok() {
        target = parent.join(format!("quarantine-{seconds}-{n}"));
        n += 1;
    }
    let marker = Marker {
        vote,
        quarantine: target.display().to_string(),
        cause: cause.to_owned(),
    };
    let bytes = postcard::to_stdvec(&marker).map_err(io::Error::other)?;
    // The marker first: from here on, whatever step a crash interrupts, the member restarts
    // knowing it must not vote.
    marker_file(env, dir)
        .store(&bytes)
        .map_err(|source| EnsembleError::Log {
            dir: marker_path(dir),
            source,
        })?;
    fs.create_dir_all(&target)?;
    let name = dir.file_name().unwrap_or("raft".as_ref());
    fs.rename(dir, &target.join(name))?;
    fs.sync_dir(&target)?;
    fs.sync_dir(parent)?;
    fs.create_dir_all(dir)?;
    log_store::store_vote(&vote_file(env, dir), vote)?;
    tracing::error!(
        "{cause}: moved the damaged Raft state to {}; recovering it from the ensemble",
        target.display()
    );
    Ok(target)
}

/// A recovering member's shared state: read by the quorum listener (votes) and the status
/// monitor (serving), set by [`watch`].
#[derive(Debug, Default)]
pub struct Recovery {
    recovering: AtomicBool,
    /// The leader's commit index in the first append this member accepted, once there was one.
    first_commit: Mutex<Option<Option<LogId>>>,
}

impl Recovery {
    /// A member in recovery, or not.
    pub fn new(recovering: bool) -> Arc<Self> {
        Arc::new(Self {
            recovering: AtomicBool::new(recovering),
            first_commit: Mutex::new(None),
        })
    }

    /// True while the member must not vote, stand for election or serve clients.
    pub fn active(&self) -> bool {
        self.recovering.load(Ordering::Acquire)
    }

    /// Records the leader's commit index of an append this member accepted; only the first
    /// counts.
    pub fn accepted(&self, leader_commit: &Option<LogId>) {
        if self.active() {
            let mut first = self.first_commit.lock().unwrap_or_else(|e| e.into_inner());
            first.get_or_insert(*leader_commit);
        }
    }

    fn threshold(&self) -> Option<Option<LogId>> {
        *self.first_commit.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Ends recovery once the member has caught up (see the module documentation): removes the
/// marker durably, then lets the member vote and stand for election again.
pub async fn watch<P: LogPayload>(
    raft: RaftHandle<P>,
    recovery: Arc<Recovery>,
    env: Environment,
    dir: PathBuf,
) {
    let mut metrics = raft.metrics();
    loop {
        let caught_up = {
            let m = metrics.borrow_watched();
            let term = m.vote.leader_id().term;
            match (recovery.threshold(), m.last_applied.as_ref()) {
                (Some(threshold), Some(applied)) => {
                    m.vote.is_committed()
                        && applied.leader_id.term == term
                        && threshold.as_ref().is_none_or(|t| applied.index >= t.index)
                }
                _ => false,
            }
        };
        if caught_up {
            let fs = env.fs.clone();
            let marker = marker_path(&dir);
            let removed = env
                .run_blocking(move || remove_durably(&*fs, &marker))
                .await
                .and_then(|r| r);
            match removed {
                Ok(()) => {
                    recovery.recovering.store(false, Ordering::Release);
                    raft.runtime_config().elect(true);
                    let applied = raft.metrics().borrow_watched().last_applied;
                    tracing::info!(
                        "recovered from the ensemble (applied up to {applied:?}): voting and \
                         serving again"
                    );
                    return;
                }
                Err(e) => {
                    tracing::error!("cannot remove the recovery marker, still recovering: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            }
        }
        if metrics.changed().await.is_err() {
            return;
        }
    }
}

fn remove_durably(fs: &dyn FileSystem, path: &Path) -> io::Result<()> {
    match fs.remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    fs.sync_dir(path.parent().unwrap_or(Path::new(".")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use openraft::impls::leader_id_adv::LeaderId;

    fn vote(term: u64) -> Vote {
        openraft::impls::Vote {
            leader_id: LeaderId { term, node_id: 2 },
            committed: true,
        }
    }

    #[test]
    fn quarantine_keeps_the_vote_and_the_damaged_state_and_marks_recovery() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Environment::production();
        let dir = tmp.path().join("raft");
        std::fs::create_dir_all(dir.join("log")).unwrap();
        std::fs::write(dir.join("log").join("segment"), b"damaged").unwrap();
        log_store::store_vote(&vote_file(&env, &dir), Some(vote(7))).unwrap();
        assert!(!open(&env, &dir).unwrap());

        let target = quarantine(&env, &dir, "corrupt data in segment").unwrap();
        assert_eq!(
            std::fs::read(target.join("raft").join("log").join("segment")).unwrap(),
            b"damaged"
        );
        assert!(!dir.join("log").exists());
        assert_eq!(
            log_store::load_vote(&vote_file(&env, &dir)).unwrap(),
            Some(vote(7))
        );
        assert!(marker_path(&dir).exists());

        // A crash before the new vote file was written: the marker restores it.
        std::fs::remove_file(dir.join("vote")).unwrap();
        assert!(open(&env, &dir).unwrap());
        assert_eq!(
            log_store::load_vote(&vote_file(&env, &dir)).unwrap(),
            Some(vote(7))
        );

        // Damaged again while recovering: a second quarantine beside the first.
        let again = quarantine(&env, &dir, "again").unwrap();
        assert_ne!(again, target);
        assert!(target.exists() && again.exists());
    }

    #[test]
    fn an_unreadable_vote_stops_recovery_and_moves_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Environment::production();
        let dir = tmp.path().join("raft");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("vote"), b"not a meta file at all, not even close").unwrap();
        let err = quarantine(&env, &dir, "damage").unwrap_err();
        assert!(err.to_string().contains("vote file"), "{err}");
        assert!(dir.join("vote").exists());
        assert!(!marker_path(&dir).exists());
    }

    #[test]
    fn damage_is_told_from_other_failures() {
        let corrupt = storage::Error::Corrupt {
            path: "segment".into(),
            offset: 40,
            reason: storage::Corruption::BadChecksum,
        };
        let wrapped = io::Error::other(corrupt);
        assert!(is_damage(&wrapped));
        let plain = io::Error::new(io::ErrorKind::PermissionDenied, "no");
        assert!(!is_damage(&plain));
    }
}
