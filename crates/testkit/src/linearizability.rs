//! A history recorder and a linearizability checker for a map of independent registers.
//!
//! Clients record every operation with [`Recorder`]: who sent it, when, what it asked, and when
//! and how it ended, or that its outcome is unknown (crash, timeout, connection loss; it may then
//! take effect at any moment after its invocation, or never). [`Checker`] then decides whether
//! some total order of the operations, respecting real time (an operation that ended before
//! another began comes first), explains every answer as a single register would give it.
//!
//! Registers are independent, so each key is checked on its own (linearizability is local,
//! Herlihy & Wing). Each key's search is Wing & Gong's with Lowe's just-in-time linearization and
//! a memo of explored configurations (see `search`); a history of a few thousand operations per
//! key with a handful of concurrent clients is checked in well under a second.
//!
//! ```
//! use testkit::linearizability::{Checker, History, Op, Operation, Outcome};
//! let op = |process, op, invoked, completed, outcome| Operation {
//!     process, key: "/k".into(), op, invoked, completed: Some(completed), outcome,
//! };
//! let history: History = [
//!     op(1, Op::Write(1), 0, 10, Outcome::Written { version: Some(1) }),
//!     // Completes after the write completed, yet sees the initial value: a stale read.
//!     op(2, Op::Read, 20, 30, Outcome::Read { value: 0, version: Some(0) }),
//! ]
//! .into_iter()
//! .collect();
//! let err = Checker::new().check(&history).unwrap_err();
//! assert!(err.to_string().contains("not linearizable"));
//! ```

mod durability;
mod explain;
mod history;
mod search;
#[cfg(test)]
mod tests;

pub use durability::unaccounted_writes;
pub use explain::Violation;
pub use history::{Expect, History, Op, Operation, Outcome, PendingOp, Recorder, Register, Value};

use search::{Search, Verdict};

/// The default cap on configurations explored per key (about 16 bytes of memo each).
pub const DEFAULT_BUDGET: usize = 4_000_000;

/// Why a history did not pass.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// No linearization exists; the violation says where it breaks.
    #[error("{0}")]
    NotLinearizable(Box<Violation>),
    /// The search gave up before an answer.
    #[error("key {key}: undecided after exploring {explored} configurations (budget exhausted)")]
    Undecided {
        /// The key whose search ran out.
        key: String,
        /// Configurations explored.
        explored: usize,
    },
    /// An operation's outcome cannot belong to it (a read that "wrote", a completion before the
    /// invocation, ...): a bug in the test, not in the system under test.
    #[error("malformed history: {0}")]
    Malformed(String),
}

/// What a successful check covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Report {
    /// Keys checked.
    pub keys: usize,
    /// Operations checked (including unknown-outcome ones).
    pub operations: usize,
    /// Configurations the searches explored, summed over keys.
    pub configurations: usize,
}

/// Checks histories of registers that all start in the same state.
#[derive(Debug, Clone, Copy)]
pub struct Checker {
    initial: Register,
    budget: usize,
}

impl Default for Checker {
    fn default() -> Self {
        Self::new()
    }
}

impl Checker {
    /// A checker for registers starting at value 0, version 0.
    pub fn new() -> Self {
        Self {
            initial: Register::default(),
            budget: DEFAULT_BUDGET,
        }
    }

    /// Every register starts as `initial`.
    pub fn with_initial(mut self, initial: Register) -> Self {
        self.initial = initial;
        self
    }

    /// Caps the configurations explored per key; past it the check is [`CheckError::Undecided`].
    pub fn with_budget(mut self, configurations: usize) -> Self {
        self.budget = configurations;
        self
    }

    /// Checks every key of `history`; the first key that fails is explained.
    pub fn check(&self, history: &History) -> Result<Report, CheckError> {
        if let Some(reason) = history.operations().iter().find_map(Operation::malformed) {
            return Err(CheckError::Malformed(reason));
        }
        let mut report = Report::default();
        for key in history.keys() {
            let ops = history.for_key(&key);
            let (verdict, explored) =
                Search::new(&ops, self.initial.value, self.initial.version).decide(self.budget);
            report.keys += 1;
            report.operations += ops.len();
            report.configurations += explored;
            match verdict {
                Verdict::Linearizable => {}
                Verdict::NotLinearizable => {
                    let initial = (self.initial.value, self.initial.version);
                    let violation = explain::explain(&key, &ops, initial, self.budget);
                    return Err(CheckError::NotLinearizable(Box::new(violation)));
                }
                Verdict::Exhausted => return Err(CheckError::Undecided { key, explored }),
            }
        }
        Ok(report)
    }
}
