//! Takes proposals from the server and gets them into the leader's log: proposed directly on the
//! leader, forwarded in batches over one ordered connection on a follower. A batch that cannot be
//! delivered moves the status epoch, so the server closes its client connections and clients
//! retry, instead of waiting for replies that will never come. The leader acknowledges every
//! forwarded batch: a link whose acknowledgements stop (a peer gone without a reset, a partition
//! that swallowed a segment) is dropped the same way, rather than taking writes into a void.

use super::environment::{Environment, PeerRead, PeerWrite};
use super::network::connect;
use super::types::{Decoded, LogData};
use super::wire::{read_frame, write_frame, PeerRequest, PeerResponse, WireError};
use super::{Member, RaftHandle};
use crate::durable::LogPayload;
use crate::Status;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncWriteExt, BufReader, BufWriter};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

const MAX_BATCH: usize = 1024;
/// How long the leader may take to acknowledge a forwarded batch before the link counts as dead
/// (as long as a follower keeps serving without hearing from a leader).
const FORWARD_ACK_TIMEOUT: Duration = Duration::from_millis(2_000);
/// How often an idle proposer checks its link.
const LINK_CHECK: Duration = Duration::from_millis(250);

/// The connection to the leader, and the forwarded batches it has not acknowledged yet.
struct Link {
    leader: u64,
    writer: BufWriter<PeerWrite>,
    /// When each unacknowledged batch was sent, oldest first.
    unacked: Arc<Mutex<VecDeque<Instant>>>,
    /// Set when the leader refused a batch or its side closed; the epoch has moved already.
    closed: Arc<AtomicBool>,
    acks: tokio::task::JoinHandle<()>,
}

impl Drop for Link {
    fn drop(&mut self) {
        self.acks.abort();
    }
}

impl Link {
    fn new(
        leader: u64,
        reader: PeerRead,
        writer: BufWriter<PeerWrite>,
        status: Arc<watch::Sender<Status>>,
    ) -> Link {
        let unacked = Arc::new(Mutex::new(VecDeque::new()));
        let closed = Arc::new(AtomicBool::new(false));
        let acks = tokio::spawn(read_acks(
            BufReader::new(reader),
            Arc::clone(&unacked),
            Arc::clone(&closed),
            status,
        ));
        Link {
            leader,
            writer,
            unacked,
            closed,
            acks,
        }
    }

    /// Whether the leader refused a batch or closed the link (the epoch has moved already).
    fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Whether the leader stopped acknowledging batches on this link.
    fn silent(&self) -> bool {
        let unacked = self.unacked.lock().unwrap_or_else(|e| e.into_inner());
        unacked
            .front()
            .is_some_and(|sent| sent.elapsed() > FORWARD_ACK_TIMEOUT)
    }
}

async fn read_acks(
    mut reader: BufReader<PeerRead>,
    unacked: Arc<Mutex<VecDeque<Instant>>>,
    closed: Arc<AtomicBool>,
    status: Arc<watch::Sender<Status>>,
) {
    loop {
        match read_frame::<_, PeerResponse>(&mut reader).await {
            Ok(Some(PeerResponse::Forwarded)) => {
                unacked
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .pop_front();
            }
            other => {
                if let Ok(Some(PeerResponse::ForwardRefused)) = other {
                    tracing::info!("the leader refused forwarded writes (it no longer leads)");
                }
                // Writes sent on this link may be lost: their clients must hear of it now.
                closed.store(true, Ordering::Release);
                status.send_modify(|s| s.epoch += 1);
                return;
            }
        }
    }
}

/// Starts the proposer; returns where proposals and leader-bound messages go.
pub fn spawn<P: LogPayload>(
    raft: RaftHandle<P>,
    my_id: u64,
    members: Vec<Member>,
    env: Environment,
    status: Arc<watch::Sender<Status>>,
) -> (mpsc::UnboundedSender<Arc<P>>, mpsc::UnboundedSender<Bytes>) {
    let (proposals, proposals_rx) = mpsc::unbounded_channel();
    let (to_leader, to_leader_rx) = mpsc::unbounded_channel();
    let addrs = members.into_iter().map(|m| (m.id, m.addr)).collect();
    let proposer = Proposer {
        raft,
        my_id,
        addrs,
        env,
        status,
        link: None,
    };
    tokio::spawn(proposer.run(proposals_rx, to_leader_rx));
    (proposals, to_leader)
}

struct Proposer<P: LogPayload> {
    raft: RaftHandle<P>,
    my_id: u64,
    addrs: HashMap<u64, String>,
    env: Environment,
    status: Arc<watch::Sender<Status>>,
    /// The connection to the leader.
    link: Option<Link>,
}

/// Bytes of buffer reserved at a time for encoding proposals.
const ENCODE_BLOCK: usize = 64 * 1024;

impl<P: LogPayload> Proposer<P> {
    async fn run(
        mut self,
        mut proposals: mpsc::UnboundedReceiver<Arc<P>>,
        mut to_leader: mpsc::UnboundedReceiver<Bytes>,
    ) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        let mut messages = Vec::new();
        let mut buf = BytesMut::new();
        let mut check = tokio::time::interval(LINK_CHECK);
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                n = proposals.recv_many(&mut batch, MAX_BATCH) => {
                    if n == 0 {
                        return;
                    }
                    let encoded: Vec<(Bytes, Arc<P>)> = batch
                        .drain(..)
                        .map(|p| {
                            // Proposals are encoded into shared blocks: one allocation serves
                            // many, instead of each growing its own buffer from nothing.
                            if buf.capacity() < ENCODE_BLOCK / 16 {
                                buf.reserve(ENCODE_BLOCK);
                            }
                            p.encode(&mut buf);
                            (buf.split().freeze(), p)
                        })
                        .collect();
                    self.propose(encoded).await;
                }
                n = to_leader.recv_many(&mut messages, MAX_BATCH) => {
                    if n == 0 {
                        return;
                    }
                    let leader = self.status.borrow().leader;
                    match leader {
                        Some(leader) if leader != self.my_id => {
                            for message in messages.drain(..) {
                                if self.send(leader, PeerRequest::ToLeader(message)).await.is_err() {
                                    break;
                                }
                            }
                        }
                        _ => messages.clear(),
                    }
                }
                _ = check.tick() => self.drop_dead_link(),
            }
        }
    }

    /// Drops a link the leader stopped acknowledging and moves the epoch: the writes sent on it
    /// may be lost, so their clients must hear of it.
    fn drop_dead_link(&mut self) {
        let Some(link) = self.link.as_ref() else {
            return;
        };
        if link.closed() {
            self.link = None;
        } else if link.silent() {
            tracing::info!(
                "leader {} stopped acknowledging forwarded writes; reconnecting",
                link.leader
            );
            self.link = None;
            self.lost();
        }
    }

    async fn propose(&mut self, writes: Vec<(Bytes, Arc<P>)>) {
        let leader = self.status.borrow().leader;
        match leader {
            Some(leader) if leader == self.my_id => {
                let time_ms = self.env.clock.now_ms();
                let entries = writes.into_iter().map(|(payload, decoded)| LogData {
                    time_ms,
                    payload,
                    decoded: Some(decoded as Decoded),
                });
                match self.raft.client_write_many(entries).await {
                    Ok(mut results) => {
                        let status = Arc::clone(&self.status);
                        tokio::spawn(async move {
                            while let Some(result) = results.next().await {
                                if let Err(e) = result
                                    .as_ref()
                                    .map_err(|e| e.to_string())
                                    .and_then(|r| r.as_ref().map(|_| ()).map_err(|e| e.to_string()))
                                {
                                    tracing::info!("a write was not committed: {e}");
                                    status.send_modify(|s| s.epoch += 1);
                                    return;
                                }
                            }
                        });
                    }
                    Err(e) => {
                        tracing::warn!("cannot propose: {e}");
                        self.lost();
                    }
                }
            }
            Some(leader) => {
                let writes = writes.into_iter().map(|(payload, _)| payload).collect();
                if let Err(e) = self.send(leader, PeerRequest::Forward(writes)).await {
                    tracing::info!("cannot forward writes to leader {leader}: {e}");
                }
            }
            None => self.lost(),
        }
    }

    /// Sends to the leader on the long-lived link, opening it if needed; a failure drops the
    /// link and moves the epoch.
    async fn send(&mut self, leader: u64, request: PeerRequest) -> Result<(), WireError> {
        let result = self.try_send(leader, &request).await;
        if result.is_err() {
            self.link = None;
            self.lost();
        }
        result
    }

    async fn try_send(&mut self, leader: u64, request: &PeerRequest) -> Result<(), WireError> {
        self.drop_dead_link();
        if self.link.as_ref().is_none_or(|link| link.leader != leader) {
            let addr = self.addrs.get(&leader).ok_or_else(|| {
                WireError::Io(std::io::Error::other(format!("unknown member {leader}")))
            })?;
            let (r, w) = connect(&self.env, addr, self.my_id).await?;
            self.link = Some(Link::new(
                leader,
                r.into_inner(),
                w,
                Arc::clone(&self.status),
            ));
        }
        let Some(link) = self.link.as_mut() else {
            return Err(WireError::Io(std::io::Error::other("no link")));
        };
        // Counted before it is sent, so its acknowledgement cannot arrive first.
        if matches!(request, PeerRequest::Forward(_)) {
            link.unacked
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push_back(Instant::now());
        }
        write_frame(&mut link.writer, request).await?;
        link.writer.flush().await?;
        Ok(())
    }

    fn lost(&self) {
        self.status.send_modify(|s| s.epoch += 1);
    }
}
