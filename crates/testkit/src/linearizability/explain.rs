//! Turning "not linearizable" into something a person can act on: the shortest prefix of the
//! key's history that already fails, the operation whose answer cannot be explained, the states
//! the register could have held while it was in flight, and the operations around it.

use super::history::{ms, Op, Operation, Outcome};
use super::search::{Search, Slot, Verdict};
use std::fmt;

/// At most this many operations are listed around the failing one.
const MAX_INVOLVED: usize = 40;
/// Operations that completed before the failing one began, listed for context.
const RECENT_BEFORE: usize = 6;

/// A history that is not linearizable, explained.
#[derive(Debug, Clone)]
pub struct Violation {
    /// The register whose history fails.
    pub key: String,
    /// The operation whose outcome no linearization of the shortest failing prefix allows.
    pub failing: Operation,
    /// Register states (`value @version`) that valid linearizations of everything before the
    /// failing operation's answer reach while it was in flight.
    pub possible_states: Vec<String>,
    /// True when `possible_states` was cut short by the search budget.
    pub states_truncated: bool,
    /// The failing operation's neighbourhood: operations concurrent with it and the last few
    /// that completed before it began, by invocation time.
    pub involved: Vec<Operation>,
    /// How many further concurrent operations were left out of `involved`.
    pub omitted: usize,
    /// Operations (of this key) in the shortest failing prefix, and in the whole history.
    pub prefix_len: usize,
    /// Operations of this key in the whole history.
    pub total: usize,
    /// Caveats about the minimisation, if the search budget interfered.
    pub note: Option<String>,
}

/// Events of one key's history in time order: `(time, is_return, op index)`.
fn events(ops: &[Operation]) -> Vec<(u64, bool, usize)> {
    let mut ev = Vec::with_capacity(ops.len() * 2);
    for (i, o) in ops.iter().enumerate() {
        ev.push((o.invoked, false, i));
        if !o.is_unknown() {
            ev.push((o.completed.unwrap_or(u64::MAX), true, i));
        }
    }
    ev.sort_unstable();
    ev
}

/// The history as it stood after the first `k` events: operations not yet answered then have
/// unknown outcomes.
fn prefix(ops: &[Operation], ev: &[(u64, bool, usize)], k: usize) -> Vec<(usize, Operation)> {
    let mut called = vec![false; ops.len()];
    let mut returned = vec![false; ops.len()];
    for &(_, is_return, i) in &ev[..k] {
        if is_return {
            returned[i] = true;
        } else {
            called[i] = true;
        }
    }
    (0..ops.len())
        .filter(|&i| called[i])
        .map(|i| {
            let mut o = ops[i].clone();
            if !returned[i] {
                o.outcome = Outcome::Unknown;
                o.completed = None;
            }
            (i, o)
        })
        .collect()
}

fn strip(ops: &[(usize, Operation)]) -> Vec<Operation> {
    ops.iter().map(|(_, o)| o.clone()).collect()
}

/// Explains why `ops` (one key's history, known to fail) is not linearizable.
pub(crate) fn explain(
    key: &str,
    ops: &[Operation],
    initial: (u64, u64),
    budget: usize,
) -> Violation {
    let ev = events(ops);
    let mut exhausted = false;
    let mut fails = |k: usize| {
        let (verdict, _) =
            Search::new(&strip(&prefix(ops, &ev, k)), initial.0, initial.1).decide(budget);
        exhausted |= verdict == Verdict::Exhausted;
        // An undecided prefix counts as failing: the minimum found is then an upper bound.
        verdict != Verdict::Linearizable
    };
    // Failing is monotone in the prefix length: a linearization of a longer prefix, cut at the
    // shorter one, linearizes it (operations cut off mid-flight are exactly the unknown ones).
    let (mut lo, mut hi) = (0, ev.len());
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if fails(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    let failing_index = ev.get(hi.saturating_sub(1)).map_or(0, |&(_, _, i)| i);
    let failing = ops[failing_index].clone();

    // What the register could hold while the failing operation was in flight: linearize the
    // rest of the prefix, requiring everything that had completed before it began.
    let before: Vec<(usize, Operation)> = prefix(ops, &ev, hi.saturating_sub(1))
        .into_iter()
        .filter(|(i, _)| *i != failing_index)
        .collect();
    let mut search = Search::exact(&strip(&before), initial.0, initial.1);
    let required: Vec<bool> = search
        .ops()
        .iter()
        .map(|o| o.completed.is_some_and(|c| c < failing.invoked) && !o.is_unknown())
        .collect();
    let (states, states_truncated) = search.reachable_states(&required, budget);
    let possible_states = states
        .iter()
        .map(|s| match s.slot {
            Slot::Seen(v) => format!("{v} @v{}", s.version),
            Slot::Unseen => format!("<a value nobody read> @v{}", s.version),
        })
        .collect();

    let in_prefix: Vec<usize> = prefix(ops, &ev, hi).into_iter().map(|(i, _)| i).collect();
    let end = failing.completed.unwrap_or(u64::MAX);
    let mut concurrent: Vec<usize> = in_prefix
        .iter()
        .copied()
        .filter(|&i| {
            let o = &ops[i];
            i != failing_index
                && !(o.op == Op::Read && o.is_unknown())
                && o.invoked <= end
                && o.completed
                    .is_none_or(|c| c >= failing.invoked || o.is_unknown())
        })
        .collect();
    let mut earlier: Vec<usize> = in_prefix
        .iter()
        .copied()
        .filter(|&i| {
            let o = &ops[i];
            !o.is_unknown() && o.completed.is_some_and(|c| c < failing.invoked)
        })
        .collect();
    earlier.sort_by_key(|&i| ops[i].completed);
    let earlier = &earlier[earlier.len().saturating_sub(RECENT_BEFORE)..];
    concurrent.sort_by_key(|&i| (ops[i].invoked, i));
    let room = MAX_INVOLVED.saturating_sub(earlier.len() + 1);
    let omitted = concurrent.len().saturating_sub(room);
    // The latest concurrent operations are the likeliest culprits; old unknown ones are many.
    let mut involved: Vec<usize> = concurrent[omitted..]
        .iter()
        .chain(earlier)
        .copied()
        .chain([failing_index])
        .collect();
    involved.sort_by_key(|&i| (ops[i].invoked, i));
    involved.dedup();

    Violation {
        key: key.to_owned(),
        failing,
        possible_states,
        states_truncated,
        involved: involved.into_iter().map(|i| ops[i].clone()).collect(),
        omitted,
        prefix_len: in_prefix.len(),
        total: ops.len(),
        note: exhausted.then(|| {
            "the search budget ran out while minimising; the prefix may not be the shortest".into()
        }),
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "key {}: not linearizable (the first {} of its {} operations already fail)",
            self.key, self.prefix_len, self.total
        )?;
        writeln!(f, "  no valid order explains: {}", self.failing)?;
        let states = if self.possible_states.is_empty() {
            "none".to_owned()
        } else {
            self.possible_states.join(", ")
        };
        writeln!(
            f,
            "  while it was in flight the register could hold: {states}{}",
            if self.states_truncated {
                " (list cut short)"
            } else {
                ""
            }
        )?;
        writeln!(
            f,
            "  operations around it (by invocation; >> marks the failing one):"
        )?;
        if self.omitted > 0 {
            writeln!(
                f,
                "     ... {} earlier concurrent operations omitted",
                self.omitted
            )?;
        }
        for o in &self.involved {
            let mark = if o == &self.failing { ">>" } else { "  " };
            writeln!(f, "   {mark} {o}")?;
        }
        if let Some(note) = &self.note {
            writeln!(f, "  note: {note}")?;
        }
        write!(
            f,
            "  (times are from the start of the history; the failing answer arrived at {})",
            self.failing.completed.map(ms).unwrap_or_else(|| "?".into())
        )
    }
}
