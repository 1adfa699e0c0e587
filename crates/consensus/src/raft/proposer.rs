//! Takes proposals from the server and gets them into the leader's log: proposed directly on the
//! leader, forwarded in batches over one ordered connection on a follower. A batch that cannot be
//! delivered moves the status epoch, so the server closes its client connections and clients
//! retry, instead of waiting for replies that will never come.

use super::network::connect;
use super::types::LogData;
use super::wire::{write_frame, PeerRequest, WireError};
use super::{Member, RaftHandle};
use crate::durable::LogPayload;
use crate::{Clock, Status};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{mpsc, watch};

const MAX_BATCH: usize = 1024;

/// Starts the proposer; returns where proposals and leader-bound messages go.
pub fn spawn<P: LogPayload>(
    raft: RaftHandle<P>,
    my_id: u64,
    members: Vec<Member>,
    clock: Arc<dyn Clock>,
    status: Arc<watch::Sender<Status>>,
) -> (mpsc::UnboundedSender<Arc<P>>, mpsc::UnboundedSender<Bytes>) {
    let (proposals, proposals_rx) = mpsc::unbounded_channel();
    let (to_leader, to_leader_rx) = mpsc::unbounded_channel();
    let addrs = members.into_iter().map(|m| (m.id, m.addr)).collect();
    let proposer = Proposer {
        raft,
        my_id,
        addrs,
        clock,
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
    clock: Arc<dyn Clock>,
    status: Arc<watch::Sender<Status>>,
    /// The connection to the leader, and which member that is.
    link: Option<(u64, BufWriter<OwnedWriteHalf>)>,
}

impl<P: LogPayload> Proposer<P> {
    async fn run(
        mut self,
        mut proposals: mpsc::UnboundedReceiver<Arc<P>>,
        mut to_leader: mpsc::UnboundedReceiver<Bytes>,
    ) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        let mut messages = Vec::new();
        let mut buf = BytesMut::new();
        loop {
            tokio::select! {
                biased;
                n = proposals.recv_many(&mut batch, MAX_BATCH) => {
                    if n == 0 {
                        return;
                    }
                    let encoded: Vec<Bytes> = batch
                        .drain(..)
                        .map(|p| {
                            p.encode(&mut buf);
                            buf.split().freeze()
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
            }
        }
    }

    async fn propose(&mut self, writes: Vec<Bytes>) {
        let leader = self.status.borrow().leader;
        match leader {
            Some(leader) if leader == self.my_id => {
                let time_ms = self.clock.now_ms();
                let entries = writes
                    .into_iter()
                    .map(|payload| LogData { time_ms, payload });
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
        if self.link.as_ref().is_none_or(|(id, _)| *id != leader) {
            let addr = self.addrs.get(&leader).ok_or_else(|| {
                WireError::Io(std::io::Error::other(format!("unknown member {leader}")))
            })?;
            let (_, w) = connect(addr, self.my_id).await?;
            self.link = Some((leader, w));
        }
        let Some((_, w)) = self.link.as_mut() else {
            return Err(WireError::Io(std::io::Error::other("no link")));
        };
        write_frame(w, request).await?;
        w.flush().await?;
        Ok(())
    }

    fn lost(&self) {
        self.status.send_modify(|s| s.epoch += 1);
    }
}
