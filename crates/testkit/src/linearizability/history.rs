//! What clients did, and when: operations on registers, their outcomes, and a thread-safe recorder
//! that timestamps invocations and completions from one monotonic clock.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// A register's value. Tests write unique values so a read names the write it saw.
pub type Value = u64;

/// The state of one register: its value and how many writes it has taken (ZooKeeper's
/// `dataVersion`: a `setData` that succeeds bumps it by one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Register {
    /// The current value.
    pub value: Value,
    /// The number of writes applied since the initial state.
    pub version: u64,
}

/// What a compare-and-set compares against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Expect {
    /// The register's version (ZooKeeper's `setData` with a version).
    Version(u64),
    /// The register's value.
    Value(Value),
}

/// An operation on one register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// Unconditional write (ZooKeeper's `setData` with version −1).
    Write(Value),
    /// Read of value and version (in ZooKeeper, `sync` then `getData` on the same session).
    Read,
    /// Writes `value` only if `expect` holds.
    Cas {
        /// The condition.
        expect: Expect,
        /// The value written when it holds.
        value: Value,
    },
}

/// How an operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// A write or compare-and-set took effect; `version` is the register's version after it, if
    /// the server said (ZooKeeper's reply `Stat`).
    Written {
        /// The version after the write.
        version: Option<u64>,
    },
    /// A read returned `value`, and `version` if known.
    Read {
        /// The value read.
        value: Value,
        /// The version read.
        version: Option<u64>,
    },
    /// A compare-and-set was refused because its expectation did not hold (`BadVersion`).
    Refused,
    /// Crash, timeout or connection loss: the operation may or may not have taken effect, at any
    /// moment after its invocation (even after the client gave up on it).
    Unknown,
}

/// One operation in a history. Times are nanoseconds since the history began.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// Who issued it. Only for reports: the checker orders operations by real time alone.
    pub process: u64,
    /// The register it touched.
    pub key: String,
    /// What was asked.
    pub op: Op,
    /// When it was sent.
    pub invoked: u64,
    /// When its answer (or the client's giving up) arrived; `None` if it never did.
    pub completed: Option<u64>,
    /// How it ended.
    pub outcome: Outcome,
}

impl Operation {
    /// True when its outcome is [`Outcome::Unknown`].
    pub fn is_unknown(&self) -> bool {
        self.outcome == Outcome::Unknown
    }

    /// Why this op/outcome pair cannot happen, if it cannot.
    pub(crate) fn malformed(&self) -> Option<String> {
        let fits = matches!(
            (self.op, self.outcome),
            (_, Outcome::Unknown)
                | (Op::Write(_), Outcome::Written { .. })
                | (Op::Read, Outcome::Read { .. })
                | (Op::Cas { .. }, Outcome::Written { .. } | Outcome::Refused)
        );
        if !fits {
            return Some(format!("impossible outcome: {self}"));
        }
        match self.completed {
            None if !self.is_unknown() => {
                Some(format!("known outcome without a completion: {self}"))
            }
            Some(c) if c < self.invoked => Some(format!("completed before invoked: {self}")),
            _ => None,
        }
    }
}

/// Nanoseconds as milliseconds with three decimals.
pub(crate) fn ms(ns: u64) -> String {
    format!("{}.{:06}ms", ns / 1_000_000, ns % 1_000_000)
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Write(v) => write!(f, "write {v}"),
            Op::Read => write!(f, "read"),
            Op::Cas {
                expect: Expect::Version(e),
                value,
            } => write!(f, "cas(if version {e}) {value}"),
            Op::Cas {
                expect: Expect::Value(e),
                value,
            } => write!(f, "cas(if value {e}) {value}"),
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let version = |v: &Option<u64>| v.map(|v| format!(" @v{v}")).unwrap_or_default();
        match self {
            Outcome::Written { version: v } => write!(f, "ok{}", version(v)),
            Outcome::Read { value, version: v } => write!(f, "{value}{}", version(v)),
            Outcome::Refused => write!(f, "refused"),
            Outcome::Unknown => write!(f, "unknown"),
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let done = self.completed.map(ms).unwrap_or_else(|| "never".into());
        write!(
            f,
            "p{} {} {} -> {}  [{} .. {}]",
            self.process,
            self.key,
            self.op,
            self.outcome,
            ms(self.invoked),
            done
        )
    }
}

/// A recorded history: every operation, in invocation order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    pub(super) ops: Vec<Operation>,
}

impl History {
    /// An empty history (for hand-made histories; tests of real systems use [`Recorder`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an operation.
    pub fn push(&mut self, op: Operation) {
        self.ops.push(op);
    }

    /// Every operation, in the order they were pushed or invoked.
    pub fn operations(&self) -> &[Operation] {
        &self.ops
    }

    /// The operations on `key`.
    pub fn for_key(&self, key: &str) -> Vec<Operation> {
        self.ops.iter().filter(|o| o.key == key).cloned().collect()
    }

    /// Every key, sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.ops.iter().map(|o| o.key.clone()).collect();
        keys.sort();
        keys.dedup();
        keys
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// One line per operation, for a file kept as evidence.
    pub fn to_text(&self) -> String {
        self.ops.iter().map(|o| format!("{o}\n")).collect()
    }
}

impl FromIterator<Operation> for History {
    fn from_iter<I: IntoIterator<Item = Operation>>(iter: I) -> Self {
        Self {
            ops: iter.into_iter().collect(),
        }
    }
}

#[derive(Debug)]
struct Log {
    start: Instant,
    ops: Vec<Operation>,
}

/// Records operations from many threads or tasks. Clones share one history.
///
/// ```
/// use testkit::linearizability::{Op, Outcome, Recorder};
/// let recorder = Recorder::new();
/// let pending = recorder.invoke(1, "/k", Op::Write(7));
/// pending.complete(Outcome::Written { version: Some(1) });
/// assert_eq!(recorder.history().len(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct Recorder {
    log: Arc<Mutex<Log>>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    /// A recorder whose clock starts now.
    pub fn new() -> Self {
        Self {
            log: Arc::new(Mutex::new(Log {
                start: Instant::now(),
                ops: Vec::new(),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Log> {
        // A panicking client task must not hide the history from the checker.
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records that `process` sends `op` on `key` now. Call it before the request leaves, and
    /// finish the returned handle when the answer arrives; a handle dropped unfinished (a
    /// cancelled task) records an unknown outcome.
    pub fn invoke(&self, process: u64, key: impl Into<String>, op: Op) -> PendingOp {
        let mut log = self.lock();
        // Taking the time under the lock makes the recorded order the real order.
        let invoked = elapsed(log.start);
        let index = log.ops.len();
        log.ops.push(Operation {
            process,
            key: key.into(),
            op,
            invoked,
            completed: None,
            outcome: Outcome::Unknown,
        });
        PendingOp {
            recorder: self.clone(),
            index,
            finished: false,
        }
    }

    /// Records an operation whose outcome is already known at invocation time: a read of the
    /// final state, say, invoked and completed by the caller around its own request.
    pub fn record(&self, process: u64, key: impl Into<String>, op: Op, outcome: Outcome) {
        let pending = self.invoke(process, key, op);
        pending.complete(outcome);
    }

    /// Nanoseconds since the recorder started, on the clock operations are stamped with: for
    /// logging faults so they line up with the history.
    pub fn now(&self) -> u64 {
        elapsed(self.lock().start)
    }

    /// A copy of everything recorded so far; operations still in flight appear as unknown.
    pub fn history(&self) -> History {
        History {
            ops: self.lock().ops.clone(),
        }
    }

    fn finish(&self, index: usize, outcome: Outcome) {
        let mut log = self.lock();
        let completed = elapsed(log.start);
        if let Some(op) = log.ops.get_mut(index) {
            op.completed = Some(completed);
            op.outcome = outcome;
        }
    }
}

fn elapsed(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// An operation that has been sent and not yet answered.
#[derive(Debug)]
#[must_use = "an operation never completed is recorded as having an unknown outcome"]
pub struct PendingOp {
    recorder: Recorder,
    index: usize,
    finished: bool,
}

impl PendingOp {
    /// Records how the operation ended, timestamped now.
    pub fn complete(mut self, outcome: Outcome) {
        self.finished = true;
        self.recorder.finish(self.index, outcome);
    }
}

impl Drop for PendingOp {
    fn drop(&mut self) {
        if !self.finished {
            self.recorder.finish(self.index, Outcome::Unknown);
        }
    }
}
