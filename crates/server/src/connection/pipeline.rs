//! Per-session FIFO on one connection ("prep" and routing).
//!
//! Writes go to consensus; reads go straight to the apply task. A read must see its session's
//! earlier writes and be answered after them, so while any write of this session is in flight,
//! reads (and everything after them) wait here in arrival order. Writes never wait behind writes:
//! consensus keeps their order.

use crate::apply::{read_request, ApplyInput};
use crate::context::ServerContext;
use crate::proposal::{Origin, Proposal};
use jute::{ErrorCode, Request};
use std::collections::VecDeque;
use std::sync::Arc;
use tree::{Identity, Txn};

/// A request that could not be sent on yet.
enum Held {
    Write(Arc<Proposal>),
    Read(ApplyInput),
}

/// The ordering state of one connection.
pub struct Pipeline {
    conn_id: u64,
    session_id: i64,
    writes_in_flight: usize,
    /// Requests sent on and not yet answered, plus held ones.
    outstanding: usize,
    held: VecDeque<Held>,
    /// Writes are refused (a read-only session).
    read_only: bool,
    /// This round proposed writes that wait for [`Pipeline::commit_round`].
    deferred: bool,
    /// This round sent requests to the apply task, which now waits to run on this thread.
    woke_apply: bool,
}

/// Why the connection must stop.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("the server is shutting down")]
    Shutdown,
}

impl Pipeline {
    pub fn new(conn_id: u64, session_id: i64) -> Self {
        Self {
            conn_id,
            session_id,
            writes_in_flight: 0,
            outstanding: 0,
            held: VecDeque::new(),
            read_only: false,
            deferred: false,
            woke_apply: false,
        }
    }

    /// A session on a member cut off from its quorum (read-only mode): every write is refused
    /// with `NotReadOnly`, in order with the reads.
    pub fn set_read_only(&mut self) {
        self.read_only = true;
    }

    /// Requests awaiting replies (for backpressure).
    pub fn outstanding(&self) -> usize {
        self.outstanding
    }

    /// Routes one decoded request.
    pub fn submit(
        &mut self,
        ctx: &ServerContext,
        xid: i32,
        request: Request,
        identity: &Arc<Identity>,
    ) -> Result<(), PipelineError> {
        self.outstanding += 1;
        let origin = Origin {
            server_id: ctx.server_id,
            conn_id: self.conn_id,
            xid,
            op: request.op_code(),
        };
        let prepared = match prepare(request) {
            // The request is never looked at: the error decided here is the whole reply.
            Prepared::Write(_) if self.read_only => Prepared::Read {
                request: Request::CloseSession,
                barrier_zxid: 0,
                error: Some(ErrorCode::NotReadOnly),
            },
            other => other,
        };
        match prepared {
            Prepared::Write(txn) => {
                let proposal = Arc::new(Proposal {
                    session_id: self.session_id,
                    origin: Some(origin),
                    identity: Arc::clone(identity),
                    txn,
                });
                if self.held.is_empty() {
                    self.propose(ctx, proposal)?;
                } else {
                    self.held.push_back(Held::Write(proposal));
                }
            }
            Prepared::Read {
                request,
                barrier_zxid,
                error,
            } => {
                let mut input = read_request(
                    self.conn_id,
                    self.session_id,
                    xid,
                    Arc::clone(identity),
                    request,
                    barrier_zxid,
                );
                if let (ApplyInput::Read(read), Some(err)) = (&mut input, error) {
                    read.prep_error = Some(err);
                }
                if self.held.is_empty() && self.writes_in_flight == 0 {
                    self.send_read(ctx, input)?;
                } else {
                    self.held.push_back(Held::Read(input));
                }
            }
        }
        Ok(())
    }

    fn propose(&mut self, ctx: &ServerContext, p: Arc<Proposal>) -> Result<(), PipelineError> {
        self.writes_in_flight += 1;
        self.deferred = true;
        ctx.consensus
            .propose_deferred(p)
            .map_err(|_| PipelineError::Shutdown)
    }

    fn send_read(&mut self, ctx: &ServerContext, input: ApplyInput) -> Result<(), PipelineError> {
        self.woke_apply = true;
        ctx.apply.send(input).map_err(|_| PipelineError::Shutdown)
    }

    /// Ends a round of requests and replies: the writes it proposed go to the log together.
    /// With `may_write_here`, an idle standalone log is written on this thread, unless the
    /// round woke the apply task, which would then wait on this thread for the sync.
    pub fn commit_round(&mut self, ctx: &ServerContext, may_write_here: bool) {
        if std::mem::take(&mut self.deferred) {
            ctx.consensus.flush(may_write_here && !self.woke_apply);
        }
        self.woke_apply = false;
    }

    /// A reply left for the client; `write` says whether it answered a write.
    pub fn replied(&mut self, ctx: &ServerContext, write: bool) -> Result<(), PipelineError> {
        self.outstanding = self.outstanding.saturating_sub(1);
        if write {
            self.writes_in_flight = self.writes_in_flight.saturating_sub(1);
        }
        while let Some(next) = self.held.front() {
            match next {
                Held::Read(_) if self.writes_in_flight > 0 => break,
                _ => {}
            }
            match self.held.pop_front() {
                Some(Held::Write(p)) => self.propose(ctx, p)?,
                Some(Held::Read(input)) => self.send_read(ctx, input)?,
                None => break,
            }
        }
        Ok(())
    }
}

enum Prepared {
    Write(Txn),
    Read {
        request: Request,
        barrier_zxid: i64,
        /// An error decided before the apply task (e.g. a disabled feature), answered in order.
        error: Option<ErrorCode>,
    },
}

/// Turns a request into a txn for consensus or a read for the apply task.
fn prepare(request: Request) -> Prepared {
    let read = |request, error| Prepared::Read {
        request,
        barrier_zxid: 0,
        error,
    };
    match request {
        Request::Create(c) => Prepared::Write(Txn::Create(c)),
        Request::Delete(q) => Prepared::Write(Txn::Delete(q)),
        Request::SetData(q) => Prepared::Write(Txn::SetData(q)),
        Request::SetAcl(q) => Prepared::Write(Txn::SetAcl(q)),
        Request::Check(q) => Prepared::Write(Txn::Check(q)),
        Request::Multi(ops) => Prepared::Write(Txn::Multi(ops)),
        Request::CloseSession => Prepared::Write(Txn::CloseSession),
        // Through the log, so on every server it is answered only after everything committed
        // before it has been applied there.
        Request::Sync(q) => Prepared::Write(Txn::Sync { path: q.path }),
        Request::Reconfig(q) => read(Request::Reconfig(q), Some(ErrorCode::ReconfigDisabled)),
        Request::Sasl(q) => read(Request::Sasl(q), Some(ErrorCode::Unimplemented)),
        other => read(other, None),
    }
}
