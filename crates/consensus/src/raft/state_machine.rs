//! The Raft state machine: a bridge to the server's apply task, which owns the real state.
//!
//! Committed entries are decoded and handed over in batches; blank and membership entries take a
//! zxid but reach nothing above this crate. A snapshot is the apply task's state captured in
//! log order (an O(1) clone there), written to a file on a blocking thread.

use super::environment::Environment;
use super::snapshot_file::{self, SnapshotFile};
use super::types::{LogId, SnapshotMeta, StoredMembership, TypeConfig};
use super::Host;
use crate::durable::LogPayload;
use crate::{Committed, CommittedBatch};
use futures_util::{Stream, TryStreamExt};
use openraft::storage::{EntryResponder, RaftSnapshotBuilder, RaftStateMachine};
use openraft::{EntryPayload, OptionalSend};
use std::io;
use std::marker::PhantomData;
use std::sync::Arc;
use storage::SnapshotStore;

type Snapshot = openraft::type_config::alias::SnapshotOf<TypeConfig, SnapshotFile>;

fn other(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

/// The state machine handed to openraft.
pub struct StateMachine<P> {
    host: Arc<dyn Host<P>>,
    store: SnapshotStore,
    applied: Option<LogId>,
    membership: StoredMembership,
    env: Environment,
    _payload: PhantomData<fn() -> P>,
}

impl<P: LogPayload> StateMachine<P> {
    /// A state machine whose host state is the snapshot `initial` (or empty).
    pub fn new(
        host: Arc<dyn Host<P>>,
        store: SnapshotStore,
        initial: Option<SnapshotMeta>,
        env: Environment,
    ) -> Self {
        let (applied, membership) = match initial {
            Some(meta) => (meta.last_log_id, meta.last_membership),
            None => (None, StoredMembership::default()),
        };
        Self {
            host,
            store,
            applied,
            membership,
            env,
            _payload: PhantomData,
        }
    }
}

/// Builds one snapshot from a state captured when the builder was made.
pub struct Builder {
    meta: SnapshotMeta,
    store: SnapshotStore,
    capture: tokio::sync::oneshot::Receiver<super::StateWriter>,
    env: Environment,
}

impl RaftSnapshotBuilder<TypeConfig> for Builder {
    type SnapshotData = SnapshotFile;

    async fn build_snapshot(&mut self) -> Result<Snapshot, io::Error> {
        let (_, closed) = tokio::sync::oneshot::channel();
        let capture = std::mem::replace(&mut self.capture, closed);
        let write_state = capture
            .await
            .map_err(|_| other("the apply task stopped before capturing its state"))?;
        let meta = self.meta.clone();
        let store = self.store.clone();
        let started = tokio::time::Instant::now();
        let file = self
            .env
            .run_blocking(move || snapshot_file::write(&store, &meta, |out| write_state(out)))
            .await??;
        tracing::info!(
            "snapshot {} written in {} ms",
            file.path.display(),
            started.elapsed().as_millis()
        );
        Ok(Snapshot {
            meta: self.meta.clone(),
            snapshot: file,
        })
    }
}

impl<P: LogPayload> RaftStateMachine<TypeConfig> for StateMachine<P> {
    type SnapshotData = SnapshotFile;
    type SnapshotBuilder = Builder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), io::Error> {
        Ok((self.applied, self.membership.clone()))
    }

    async fn apply<Strm>(&mut self, mut entries: Strm) -> Result<(), io::Error>
    where
        Strm: Stream<Item = Result<EntryResponder<TypeConfig>, io::Error>> + Unpin + OptionalSend,
    {
        let mut batch: CommittedBatch<P> = Vec::new();
        let mut responders = Vec::new();
        while let Some((entry, responder)) = entries.try_next().await? {
            let index = entry.log_id.index;
            match entry.payload {
                EntryPayload::Normal(data) => {
                    let payload = match data.decoded.and_then(|d| d.downcast::<P>().ok()) {
                        Some(proposed_here) => proposed_here,
                        None => Arc::new(P::decode(data.payload).map_err(|e| {
                            other(format!("log entry {index} does not decode: {e}"))
                        })?),
                    };
                    batch.push(Committed {
                        zxid: index as i64,
                        time_ms: data.time_ms,
                        payload,
                    });
                }
                EntryPayload::Blank => {}
                EntryPayload::Membership(membership) => {
                    self.membership = StoredMembership::new(Some(entry.log_id), membership);
                }
            }
            self.applied = Some(entry.log_id);
            if let Some(responder) = responder {
                responders.push(responder);
            }
        }
        if !batch.is_empty() && !self.host.deliver(batch) {
            return Err(other("the apply task has stopped"));
        }
        for responder in responders {
            responder.send(());
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        Builder {
            meta: SnapshotMeta {
                last_log_id: self.applied,
                last_membership: self.membership.clone(),
            },
            store: self.store.clone(),
            capture: self.host.capture(),
            env: self.env.clone(),
        }
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: SnapshotFile,
    ) -> Result<(), io::Error> {
        let host = Arc::clone(&self.host);
        let fs = self.env.fs.clone();
        self.env
            .run_blocking(move || {
                let (_, mut input) = snapshot_file::open(&*fs, &snapshot.path)?;
                host.install(&mut input)
            })
            .await??;
        self.applied = meta.last_log_id;
        self.membership = meta.last_membership.clone();
        tracing::info!("installed a snapshot up to {:?}", self.applied);
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, io::Error> {
        let Some(info) = snapshot_file::latest(&self.store)? else {
            return Ok(None);
        };
        let path = info.path.clone();
        let fs = self.env.fs.clone();
        let meta = self
            .env
            .run_blocking(move || snapshot_file::open(&*fs, &path).map(|(m, _)| m))
            .await??;
        Ok(Some(Snapshot {
            meta,
            snapshot: SnapshotFile {
                path: info.path,
                index: info.index,
            },
        }))
    }
}
