//! The replicated state machine of the simulation: a few registers with ZooKeeper's version
//! semantics (a write bumps the version; a compare-and-set names the version it expects), plus
//! the [`Host`] that applies committed entries and answers the member that proposed them.

use bytes::{Bytes, BytesMut};
use consensus::raft::{Host, StateWriter};
use consensus::{CommittedBatch, LogPayload};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::oneshot;

/// Which operation of which client: unique over a whole run, so a late entry can only ever answer
/// the request that made it.
pub type OpId = (u64, u64);

/// What a client asks of one register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    Write(u64),
    Cas {
        expect: u64,
        value: u64,
    },
    /// Goes through the log, like ZooKeeper's `sync` followed by a read, so it is linearizable.
    Read,
}

/// One log entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimOp {
    pub id: OpId,
    pub key: u8,
    pub kind: Kind,
}

impl LogPayload for SimOp {
    fn encode(&self, out: &mut BytesMut) {
        // A fixed-size struct of integers always serializes.
        if let Ok(bytes) = postcard::to_stdvec(self) {
            out.extend_from_slice(&bytes);
        }
    }

    fn decode(bytes: Bytes) -> Result<Self, String> {
        postcard::from_bytes(&bytes).map_err(|e| e.to_string())
    }
}

/// A member's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    Written {
        version: u64,
    },
    Refused,
    Read {
        value: u64,
        version: u64,
    },
    /// Not proposed at all: the member is outside a working quorum.
    NoQuorum,
}

/// Register `key` -> (value, version).
pub type Registers = BTreeMap<u8, (u64, u64)>;

#[derive(Default)]
struct State {
    registers: Registers,
    last_zxid: i64,
    /// Requests this member proposed and still owes an answer.
    waiters: HashMap<OpId, oneshot::Sender<Reply>>,
}

/// The apply side of one member.
#[derive(Default)]
pub struct Machine {
    state: Mutex<State>,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Machine {
    /// A machine starting from a snapshot's state, if there is one.
    pub fn load(snapshot: Option<Box<dyn Read + Send>>) -> io::Result<Arc<Machine>> {
        let machine = Machine::default();
        if let Some(mut input) = snapshot {
            lock(&machine.state).registers = read_registers(&mut input)?;
        }
        Ok(Arc::new(machine))
    }

    /// Expects the answer for `id` once its entry is applied here.
    pub fn expect(&self, id: OpId) -> oneshot::Receiver<Reply> {
        let (tx, rx) = oneshot::channel();
        lock(&self.state).waiters.insert(id, tx);
        rx
    }

    /// Forgets a request that was never proposed.
    pub fn forget(&self, id: OpId) {
        lock(&self.state).waiters.remove(&id);
    }

    /// The registers and the zxid they reflect.
    pub fn snapshot(&self) -> (Registers, i64) {
        let state = lock(&self.state);
        (state.registers.clone(), state.last_zxid)
    }
}

fn apply(registers: &mut Registers, op: &SimOp) -> Reply {
    let register = registers.entry(op.key).or_insert((0, 0));
    match op.kind {
        Kind::Write(value) => {
            *register = (value, register.1 + 1);
            Reply::Written {
                version: register.1,
            }
        }
        Kind::Cas { expect, value } if expect == register.1 => {
            *register = (value, register.1 + 1);
            Reply::Written {
                version: register.1,
            }
        }
        Kind::Cas { .. } => Reply::Refused,
        Kind::Read => Reply::Read {
            value: register.0,
            version: register.1,
        },
    }
}

fn read_registers(input: &mut dyn Read) -> io::Result<Registers> {
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes)?;
    postcard::from_bytes(&bytes).map_err(io::Error::other)
}

impl Host<SimOp> for Machine {
    fn deliver(&self, batch: CommittedBatch<SimOp>) -> bool {
        let mut state = lock(&self.state);
        for committed in batch {
            assert!(
                committed.zxid > state.last_zxid,
                "entry {} applied after {}",
                committed.zxid,
                state.last_zxid
            );
            state.last_zxid = committed.zxid;
            let reply = apply(&mut state.registers, &committed.payload);
            if let Some(waiter) = state.waiters.remove(&committed.payload.id) {
                let _ = waiter.send(reply);
            }
        }
        true
    }

    fn capture(&self) -> oneshot::Receiver<StateWriter> {
        let registers = lock(&self.state).registers.clone();
        let (tx, rx) = oneshot::channel();
        let writer: StateWriter = Box::new(move |out| {
            let bytes = postcard::to_stdvec(&registers).map_err(io::Error::other)?;
            out.write_all(&bytes)
        });
        let _ = tx.send(writer);
        rx
    }

    fn install(&self, input: &mut dyn Read) -> io::Result<()> {
        let registers = read_registers(input)?;
        lock(&self.state).registers = registers;
        Ok(())
    }

    fn leader_message(&self, _from: u64, _message: Bytes) {}
}
