//! The apply task: the one task that owns the data tree and the watch manager.
//!
//! It reads a single ordered channel carrying committed writes (from consensus) and reads (straight
//! from connections). Because a connection holds its reads back while its own writes are in flight,
//! and a read enters this channel before any later write of its session is even proposed, every
//! session sees its requests answered in order; watch events are queued before the reply of the
//! write that fired them, so a client sees the event before the data that follows it.

mod notify;
mod reads;
mod replies;
#[cfg(test)]
mod tests;

use crate::outbound::{encode_event, Outbound, SendError, MAX_QUEUED_PER_CONNECTION};
use crate::proposal::Proposal;
use crate::sessions::SessionTracker;
use crate::watches::{ConnId, WatchManager};
use bytes::Bytes;
use consensus::CommittedBatch;
use jute::Request;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;
use tree::{DataTree, Identity, Txn};

pub use reads::ReadRequest;

pub use crate::outbound::OutboundTx;

/// Everything the apply task reacts to, in one ordered stream.
pub enum ApplyInput {
    /// Entries the log committed, in log order.
    Committed(CommittedBatch<Proposal>),
    /// A read (or `sync`, `setWatches`, watch management) from a connection.
    Read(ReadRequest),
    /// A connection starting a new session; its `CreateSession` proposal follows.
    Register {
        conn_id: ConnId,
        session_id: i64,
        outbound: OutboundTx,
        /// The connection's auth ids (its address), which decide what its watches may hear.
        identity: Arc<Identity>,
    },
    /// A connection re-attaching an existing session.
    Attach {
        conn_id: ConnId,
        session_id: i64,
        passwd: Bytes,
        timeout_ms: i32,
        outbound: OutboundTx,
        /// Check the session only when this connection's barrier entry (a sync with
        /// [`ATTACH_BARRIER_XID`]) is applied: an ensemble member must first catch up with
        /// everything committed before the client came, or it could revive an expired session.
        after_barrier: bool,
        /// The connection's auth ids (its address), which decide what its watches may hear.
        identity: Arc<Identity>,
    },
    /// A connection's auth ids changed (an auth packet was accepted). Later events are checked
    /// against them, as ZooKeeper checks a watcher's current auth info at delivery.
    Authenticated {
        conn_id: ConnId,
        identity: Arc<Identity>,
    },
    /// A connection closed; forget its watches.
    Disconnect { conn_id: ConnId },
    /// A read-only look at the state, for four-letter words and the sweeper.
    Inspect(Box<dyn FnOnce(&StateView<'_>) + Send>),
    /// Capture the tree as it stands after everything before this input, for a Raft snapshot.
    Capture(tokio::sync::oneshot::Sender<consensus::raft::StateWriter>),
    /// Replace the tree with one from a snapshot the leader sent (this member lagged too far).
    Install(Box<DataTree>),
    /// The server is stopping: snapshot the tree as applied so far (standalone), then answer.
    FinalSnapshot(tokio::sync::oneshot::Sender<()>),
}

/// A read-only view handed to [`ApplyInput::Inspect`] callbacks.
pub struct StateView<'a> {
    pub tree: &'a DataTree,
    pub watches: &'a WatchManager,
    /// Which connection serves each session on this server.
    pub session_connections: &'a HashMap<i64, ConnId>,
}

struct ConnEntry {
    outbound: OutboundTx,
    session_id: i64,
    /// Who the connection has proved to be, for the READ check on its watch events.
    identity: Arc<Identity>,
}

pub use crate::proposal::ATTACH_BARRIER_XID;

/// A session re-attach: what the client sent and where to answer.
pub struct PendingAttach {
    session_id: i64,
    passwd: Bytes,
    timeout_ms: i32,
    outbound: OutboundTx,
    identity: Arc<Identity>,
}

/// State owned by the apply task.
pub struct ApplyTask {
    tree: DataTree,
    watches: WatchManager,
    conns: HashMap<ConnId, ConnEntry>,
    session_conn: HashMap<i64, ConnId>,
    /// Re-attaches waiting for their connection's barrier entry to be applied.
    pending_attach: HashMap<ConnId, PendingAttach>,
    tracker: Arc<SessionTracker>,
    applied_zxid: Arc<AtomicI64>,
    /// `sync` requests waiting for the apply task to reach their barrier zxid.
    waiting_syncs: VecDeque<ReadRequest>,
    /// Replies go out only for entries whose origin is this server.
    server_id: u64,
    /// Takes snapshots in the background every so many txns.
    snapshotter: Option<crate::snapshots::Snapshotter>,
}

impl ApplyTask {
    pub fn new(
        tree: DataTree,
        tracker: Arc<SessionTracker>,
        applied_zxid: Arc<AtomicI64>,
        server_id: u64,
        snapshotter: Option<crate::snapshots::Snapshotter>,
    ) -> Self {
        applied_zxid.store(tree.last_zxid(), Ordering::Release);
        // Sessions recovered from disk get a full timeout to reconnect before they expire.
        for (session_id, entry) in tree.sessions() {
            tracker.register(session_id, u32::try_from(entry.timeout_ms).unwrap_or(0));
        }
        Self {
            tree,
            watches: WatchManager::default(),
            conns: HashMap::new(),
            session_conn: HashMap::new(),
            pending_attach: HashMap::new(),
            tracker,
            applied_zxid,
            waiting_syncs: VecDeque::new(),
            server_id,
            snapshotter,
        }
    }

    /// Runs until every sender of `inputs` is gone.
    pub async fn run(mut self, mut inputs: mpsc::UnboundedReceiver<ApplyInput>) {
        let mut batch = Vec::with_capacity(256);
        while inputs.recv_many(&mut batch, 256).await > 0 {
            for input in batch.drain(..) {
                self.handle(input);
            }
        }
        tracing::debug!("apply task stopped");
    }

    fn handle(&mut self, input: ApplyInput) {
        match input {
            ApplyInput::Committed(entries) => {
                let count = entries.len() as u64;
                for entry in entries {
                    self.apply_committed(entry.zxid, entry.time_ms, &entry.payload);
                }
                if let Some(snapshotter) = self.snapshotter.as_mut() {
                    snapshotter.applied(count, &self.tree);
                }
                self.release_syncs();
            }
            ApplyInput::Read(read) => {
                if read.barrier_zxid > self.tree.last_zxid() {
                    self.waiting_syncs.push_back(read);
                } else {
                    self.serve_read(read);
                }
            }
            ApplyInput::Register {
                conn_id,
                session_id,
                outbound,
                identity,
            } => {
                self.conns.insert(
                    conn_id,
                    ConnEntry {
                        outbound,
                        session_id,
                        identity,
                    },
                );
            }
            ApplyInput::Attach {
                conn_id,
                session_id,
                passwd,
                timeout_ms,
                outbound,
                after_barrier,
                identity,
            } => {
                let attach = PendingAttach {
                    session_id,
                    passwd,
                    timeout_ms,
                    outbound,
                    identity,
                };
                if after_barrier {
                    self.pending_attach.insert(conn_id, attach);
                } else {
                    self.attach(conn_id, attach);
                }
            }
            ApplyInput::Authenticated { conn_id, identity } => {
                if let Some(entry) = self.conns.get_mut(&conn_id) {
                    entry.identity = identity;
                }
            }
            ApplyInput::Disconnect { conn_id } => {
                self.pending_attach.remove(&conn_id);
                self.forget_connection(conn_id);
            }
            ApplyInput::Inspect(f) => f(&StateView {
                tree: &self.tree,
                watches: &self.watches,
                session_connections: &self.session_conn,
            }),
            ApplyInput::Capture(reply) => {
                let tree = self.tree.clone();
                let _ = reply.send(Box::new(move |out: &mut dyn std::io::Write| {
                    tree::snapshot::write_snapshot(&tree, &mut &mut *out)
                }));
            }
            ApplyInput::Install(tree) => self.install(*tree),
            ApplyInput::FinalSnapshot(done) => match self.snapshotter.as_ref() {
                Some(snapshotter) => snapshotter.final_snapshot(&self.tree, done),
                None => {
                    let _ = done.send(());
                }
            },
        }
    }

    /// Takes a whole new state. Every connection here closes: its watches and view of the data
    /// belong to the old state, and its client re-registers them against the new one.
    fn install(&mut self, tree: DataTree) {
        self.tree = tree;
        self.applied_zxid
            .store(self.tree.last_zxid(), Ordering::Release);
        for (session_id, entry) in self.tree.sessions() {
            self.tracker
                .register(session_id, u32::try_from(entry.timeout_ms).unwrap_or(0));
        }
        let conns: Vec<ConnId> = self.conns.keys().copied().collect();
        for conn in conns {
            self.close_connection(conn);
        }
        // Also entries whose connection was gone already (a session created after it dropped).
        self.session_conn.clear();
        self.release_syncs();
    }

    fn send(&mut self, conn_id: ConnId, msg: Outbound) {
        self.deliver(conn_id, |outbound| outbound.send(msg));
    }

    /// Hands something to a connection through `send`, dropping the connection if it is full.
    fn deliver(
        &mut self,
        conn_id: ConnId,
        send: impl FnOnce(&OutboundTx) -> Result<(), SendError>,
    ) {
        let Some(conn) = self.conns.get(&conn_id) else {
            return;
        };
        // A closed receiver means the connection is going away; its Disconnect follows.
        if send(&conn.outbound) == Err(SendError::Full) {
            // Dropping the sender ends the connection once it drains what is queued.
            tracing::warn!(
                conn_id,
                "closing connection: {MAX_QUEUED_PER_CONNECTION} replies and events unread"
            );
            self.forget_connection(conn_id);
        }
    }

    /// Closes a connection whose session has ended: it gets no further reply or event, and its
    /// watches go at once rather than when its task reports the disconnect.
    fn close_connection(&mut self, conn_id: ConnId) {
        self.send(conn_id, Outbound::Close);
        self.forget_connection(conn_id);
    }

    /// Drops a connection's watches and its place in the session map.
    fn forget_connection(&mut self, conn_id: ConnId) {
        self.watches.drop_connection(conn_id);
        if let Some(entry) = self.conns.remove(&conn_id) {
            if self.session_conn.get(&entry.session_id) == Some(&conn_id) {
                self.session_conn.remove(&entry.session_id);
            }
        }
    }

    fn attach(&mut self, conn_id: ConnId, attach: PendingAttach) {
        let PendingAttach {
            session_id,
            passwd,
            timeout_ms,
            outbound,
            identity,
        } = attach;
        let valid = self
            .tree
            .session(session_id)
            .is_some_and(|s| s.passwd == passwd);
        if !valid {
            let _ = outbound.send(Outbound::Expired);
            return;
        }
        if let Some(old) = self.session_conn.insert(session_id, conn_id) {
            if old != conn_id {
                // The session moved to a new connection: the old one must stop serving it.
                self.close_connection(old);
            }
        }
        self.tracker
            .register(session_id, u32::try_from(timeout_ms).unwrap_or(0));
        let _ = outbound.send(Outbound::Connected {
            session_id,
            timeout_ms,
            passwd,
        });
        self.conns.insert(
            conn_id,
            ConnEntry {
                outbound,
                session_id,
                identity,
            },
        );
    }

    fn apply_committed(&mut self, zxid: i64, time_ms: i64, proposal: &Proposal) {
        let applied = proposal.apply_to(&mut self.tree, zxid, time_ms);
        self.applied_zxid.store(zxid, Ordering::Release);
        for trigger in &applied.triggers {
            let watchers = self.watches.trigger(&trigger.path, trigger.event);
            if watchers.is_empty() {
                continue;
            }
            // The watches are spent (one-shot ones) whether or not the event may be delivered.
            let check = notify::ReadCheck::new(&trigger.acl);
            // Encoded once for every watcher; each gets these very bytes, on its socket or queued.
            let mut frame = bytes::BytesMut::new();
            encode_event(trigger.event, &trigger.path, zxid, &mut frame);
            let frame = frame.freeze();
            for conn in watchers {
                let allowed = || {
                    self.conns
                        .get(&conn)
                        .is_some_and(|entry| check.allows(&entry.identity))
                };
                if check.needs_identity() && !allowed() {
                    tracing::trace!(conn, path = %trigger.path, "event filtered by ACL");
                    continue;
                }
                self.deliver(conn, |outbound| outbound.send_event(&frame));
            }
        }
        let ok = applied.result.is_ok();
        // Another server's client: that server answers it.
        let origin = proposal.origin.filter(|o| o.server_id == self.server_id);
        if let Some(origin) = origin {
            let moved = match &applied.result {
                Err(err) => *err == jute::ErrorCode::SessionMoved,
                Ok(output) => output.multi_error() == Some(jute::ErrorCode::SessionMoved),
            };
            if moved {
                // ZooKeeper treats a moved session as a connection-level error: no reply, the
                // connection closes, and the client carries on on its new server.
                tracing::info!(
                    "session {:#x} moved to another server; closing its old connection",
                    proposal.session_id
                );
                self.close_connection(origin.conn_id);
                return;
            }
        }
        match &proposal.txn {
            Txn::Sync { .. } if proposal.is_attach_barrier() => {
                if let Some(origin) = origin {
                    if let Some(attach) = self.pending_attach.remove(&origin.conn_id) {
                        self.attach(origin.conn_id, attach);
                    }
                }
                return;
            }
            Txn::CreateSession { timeout_ms, passwd } if ok => {
                self.tracker
                    .register(proposal.session_id, u32::try_from(*timeout_ms).unwrap_or(0));
                if let Some(origin) = origin {
                    self.session_conn
                        .insert(proposal.session_id, origin.conn_id);
                    self.send(
                        origin.conn_id,
                        Outbound::Connected {
                            session_id: proposal.session_id,
                            timeout_ms: *timeout_ms,
                            passwd: passwd.clone(),
                        },
                    );
                }
                return;
            }
            Txn::CloseSession if ok => {
                self.tracker.remove(proposal.session_id);
                if let Some(origin) = origin {
                    self.send(
                        origin.conn_id,
                        replies::write_reply(origin, zxid, applied.result),
                    );
                }
                if let Some(conn) = self.session_conn.remove(&proposal.session_id) {
                    self.close_connection(conn);
                }
                return;
            }
            _ => {}
        }
        if let Some(origin) = origin {
            self.send(
                origin.conn_id,
                replies::write_reply(origin, zxid, applied.result),
            );
        }
    }

    fn release_syncs(&mut self) {
        while self
            .waiting_syncs
            .front()
            .is_some_and(|r| r.barrier_zxid <= self.tree.last_zxid())
        {
            if let Some(read) = self.waiting_syncs.pop_front() {
                self.serve_read(read);
            }
        }
    }

    fn serve_read(&mut self, read: ReadRequest) {
        let conn_id = read.conn_id;
        if !self.conns.contains_key(&conn_id) {
            // Its session ended or its queue overflowed: it gets no answer, and a watch it set
            // now would outlive the connection.
            return;
        }
        let reply = reads::serve(&self.tree, &mut self.watches, read);
        for event in reply.events {
            self.send(conn_id, event);
        }
        self.send(conn_id, reply.reply);
    }
}

/// Builds a read request for the apply task.
pub fn read_request(
    conn_id: ConnId,
    session_id: i64,
    xid: i32,
    identity: Arc<Identity>,
    request: Request,
    barrier_zxid: i64,
) -> ApplyInput {
    ApplyInput::Read(ReadRequest {
        conn_id,
        session_id,
        xid,
        identity,
        request,
        barrier_zxid,
        prep_error: None,
    })
}

impl std::fmt::Debug for StateView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateView").finish_non_exhaustive()
    }
}
