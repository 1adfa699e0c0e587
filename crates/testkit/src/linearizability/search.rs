//! The search for a linearization of one register's history: Wing & Gong's backtracking over
//! the operations that may take effect next, in Lowe's "just-in-time" form (walk the call and
//! return events in time order; an operation may be linearized when its call has been passed; a
//! return whose operation is not yet linearized forces a backtrack), with a memo of the
//! configurations (set of linearized operations, register state) already explored.
//!
//! Two reductions keep histories with many unknown outcomes tractable:
//! - a value that no read returns and no compare-and-set expects can never be told apart from
//!   another such value, so the register state records only that it holds "an unseen value";
//! - unknown-outcome plain writes of unseen values are interchangeable, so they are only tried
//!   in invocation order (if a later one took effect, the earlier one could have, in its place).

use super::history::{Expect, Op, Operation, Outcome, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// What the register holds, as far as any operation can observe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Slot {
    /// A value some operation reads or compares against.
    Seen(Value),
    /// A value no operation ever looks at.
    Unseen,
}

/// The register state the search tracks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct State {
    pub slot: Slot,
    pub version: u64,
}

/// The answer of a decision search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Linearizable,
    NotLinearizable,
    /// The memo outgrew the budget before an answer.
    Exhausted,
}

const NIL: usize = usize::MAX;

#[derive(Debug, Clone, Copy)]
struct Entry {
    op: usize,
    is_return: bool,
}

#[derive(Debug, Clone, Copy)]
struct Frame {
    op: usize,
    state: State,
    unknown_pass: bool,
}

/// Fingerprints are already uniformly random; hashing them again would only cost time.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(word);
        }
    }
    fn write_u128(&mut self, v: u128) {
        self.0 = (v as u64) ^ ((v >> 64) as u64);
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A random 128-bit tag per operation; a set's fingerprint is the XOR of its members' tags, so it
/// is updated in O(1) per step, and two different sets collide with probability 2^-128.
fn op_tag(i: usize) -> u128 {
    let a = splitmix(i as u64 ^ 0xA076_1D64_78BD_642F);
    let b = splitmix(a ^ 0xE703_7ED1_A0B4_28DB);
    (u128::from(a) << 64) | u128::from(b)
}

fn state_tag(s: State) -> u128 {
    let (tag, v) = match s.slot {
        Slot::Seen(v) => (0x8EBC_6AF0_9C88_C6E3, v),
        Slot::Unseen => (0x5899_65CC_7537_4CC3, 0),
    };
    let a = splitmix(splitmix(s.version ^ tag) ^ v);
    let b = splitmix(a ^ 0x1D8E_4E27_C47D_124F);
    (u128::from(a) << 64) | u128::from(b)
}

/// One register's history prepared for searching.
pub(crate) struct Search {
    ops: Vec<Operation>,
    /// What each op's written value becomes in the search state.
    slot_of: Vec<Slot>,
    /// Rank among the interchangeable unknown writes, in invocation order.
    anon_rank: Vec<Option<usize>>,
    entries: Vec<Entry>,
    call_entry: Vec<usize>,
    ret_entry: Vec<Option<usize>>,
    next: Vec<usize>,
    prev: Vec<usize>,
    tags: Vec<u128>,
    /// The highest version the register may hold while the op is not yet linearized: the
    /// version a known read reported, or one less than a known write reported.
    ceiling: Vec<Option<u64>>,
    initial: State,
}

/// The mutable part of one run.
struct Run {
    state: State,
    set_tag: u128,
    known_left: usize,
    unknown_left: usize,
    anon_applied: usize,
    /// The entry to look at next, and whether this pass considers unknown-outcome operations.
    cursor: usize,
    unknown_pass: bool,
    stack: Vec<Frame>,
    memo: HashSet<u128, BuildHasherDefault<PassThrough>>,
    /// The ceilings of the known operations not yet linearized, as a multiset.
    ceilings: BTreeMap<u64, usize>,
}

impl Run {
    fn lower_ceiling(&mut self, c: Option<u64>) {
        if let Some(c) = c {
            *self.ceilings.entry(c).or_insert(0) += 1;
        }
    }

    fn raise_ceiling(&mut self, c: Option<u64>) {
        if let Some(c) = c {
            if let Some(n) = self.ceilings.get_mut(&c) {
                *n -= 1;
                if *n == 0 {
                    self.ceilings.remove(&c);
                }
            }
        }
    }

    fn under_ceiling(&self, s: State) -> bool {
        self.ceilings.keys().next().is_none_or(|&c| s.version <= c)
    }
}

impl Search {
    /// Prepares `ops` (all on one key, validated) starting from a register holding `initial`
    /// at version `initial_version`. Reads with unknown outcomes constrain nothing and are dropped.
    pub(crate) fn new(ops: &[Operation], initial: Value, initial_version: u64) -> Self {
        Self::prepare(ops, initial, initial_version, false)
    }

    /// Like [`Search::new`], but values written by operations with known outcomes keep their
    /// identity even if nobody read them, so the states it reports name them.
    pub(crate) fn exact(ops: &[Operation], initial: Value, initial_version: u64) -> Self {
        Self::prepare(ops, initial, initial_version, true)
    }

    fn prepare(ops: &[Operation], initial: Value, initial_version: u64, exact: bool) -> Self {
        let mut ops: Vec<Operation> = ops
            .iter()
            .filter(|o| !(o.op == Op::Read && o.is_unknown()))
            .cloned()
            .collect();
        infer_versions(&mut ops, initial, initial_version);
        let mut observed = HashSet::new();
        for o in &ops {
            if let Outcome::Read { value, .. } = o.outcome {
                observed.insert(value);
            }
            if let Op::Cas {
                expect: Expect::Value(v),
                ..
            } = o.op
            {
                observed.insert(v);
            }
        }
        if exact {
            for o in ops.iter().filter(|o| !o.is_unknown()) {
                if let Op::Write(v) | Op::Cas { value: v, .. } = o.op {
                    observed.insert(v);
                }
            }
            observed.insert(initial);
        }
        let slot = |v: Value| {
            if observed.contains(&v) {
                Slot::Seen(v)
            } else {
                Slot::Unseen
            }
        };
        let slot_of: Vec<Slot> = ops
            .iter()
            .map(|o| match o.op {
                Op::Write(v) | Op::Cas { value: v, .. } => slot(v),
                Op::Read => Slot::Unseen,
            })
            .collect();

        let mut anon: Vec<usize> = (0..ops.len())
            .filter(|&i| {
                matches!(ops[i].op, Op::Write(_))
                    && ops[i].is_unknown()
                    && slot_of[i] == Slot::Unseen
            })
            .collect();
        anon.sort_by_key(|&i| (ops[i].invoked, i));
        let mut anon_rank = vec![None; ops.len()];
        for (rank, &i) in anon.iter().enumerate() {
            anon_rank[i] = Some(rank);
        }

        // Calls sort before returns at the same instant: operations that touch in time overlap.
        let mut keyed: Vec<(u64, bool, usize)> = Vec::with_capacity(ops.len() * 2);
        for (i, o) in ops.iter().enumerate() {
            keyed.push((o.invoked, false, i));
            if !o.is_unknown() {
                keyed.push((o.completed.unwrap_or(u64::MAX), true, i));
            }
        }
        keyed.sort_unstable();
        let entries: Vec<Entry> = keyed
            .iter()
            .map(|&(_, is_return, op)| Entry { op, is_return })
            .collect();
        let mut call_entry = vec![0; ops.len()];
        let mut ret_entry = vec![None; ops.len()];
        for (e, entry) in entries.iter().enumerate() {
            if entry.is_return {
                ret_entry[entry.op] = Some(e);
            } else {
                call_entry[entry.op] = e;
            }
        }
        // Linked by `start` before every run.
        let next = vec![NIL; entries.len() + 1];
        let prev = vec![NIL; entries.len() + 1];
        let tags = (0..ops.len()).map(op_tag).collect();
        let ceiling = ops
            .iter()
            .map(|o| match o.outcome {
                Outcome::Read { version, .. } => version,
                Outcome::Written { version } => version.map(|v| v.saturating_sub(1)),
                Outcome::Refused | Outcome::Unknown => None,
            })
            .collect();
        Self {
            initial: State {
                slot: slot(initial),
                version: initial_version,
            },
            ops,
            slot_of,
            anon_rank,
            entries,
            call_entry,
            ret_entry,
            next,
            prev,
            tags,
            ceiling,
        }
    }

    /// The operations searched (unknown reads removed), indexed as the search indexes them.
    pub(crate) fn ops(&self) -> &[Operation] {
        &self.ops
    }

    /// Decides whether the history is linearizable, exploring at most `budget` configurations.
    /// Also returns how many it explored.
    pub(crate) fn decide(&mut self, budget: usize) -> (Verdict, usize) {
        let mut run = self.start();
        loop {
            if run.known_left == 0 {
                return (Verdict::Linearizable, run.memo.len());
            }
            match self.tick(&mut run) {
                Event::Took(_) if run.memo.len() > budget => {
                    return (Verdict::Exhausted, run.memo.len())
                }
                Event::Took(_) | Event::Undid(_) | Event::Moved => {}
                Event::Finished => return (Verdict::NotLinearizable, run.memo.len()),
            }
        }
    }

    /// Every register state some valid partial linearization reaches once all of `required` (by
    /// index into [`Search::ops`]) are linearized. Stops after `budget` configurations and then
    /// says the list is incomplete.
    pub(crate) fn reachable_states(
        &mut self,
        required: &[bool],
        budget: usize,
    ) -> (Vec<State>, bool) {
        let mut run = self.start();
        let is_required = |op: usize| required.get(op).copied().unwrap_or(false);
        let mut required_left = required.iter().filter(|&&r| r).count();
        let mut found: HashSet<State> = HashSet::new();
        if required_left == 0 {
            found.insert(run.state);
        }
        loop {
            match self.tick(&mut run) {
                Event::Took(op) => {
                    if is_required(op) {
                        required_left -= 1;
                    }
                    if required_left == 0 {
                        found.insert(run.state);
                    }
                    if run.memo.len() > budget {
                        return (sorted(found), true);
                    }
                }
                Event::Undid(op) => {
                    if is_required(op) {
                        required_left += 1;
                    }
                }
                Event::Moved => {}
                Event::Finished => return (sorted(found), false),
            }
        }
    }

    /// One move of the search from the run's cursor.
    ///
    /// The candidates at a configuration are the calls before the first remaining return (an
    /// operation invoked after some operation returned cannot precede it). They are tried in two
    /// passes, operations with known outcomes first: the same candidates as Lowe's single pass,
    /// so the same answer, but a linearizable history is found without first trying every
    /// unknown operation at every point (which made histories with many unknowns slow).
    fn tick(&mut self, run: &mut Run) -> Event {
        let e = run.cursor;
        if e == NIL || self.entries[e].is_return {
            if !run.unknown_pass && run.unknown_left > 0 {
                run.unknown_pass = true;
                run.cursor = self.next[self.head()];
                return Event::Moved;
            }
            let Some(frame) = run.stack.pop() else {
                return Event::Finished;
            };
            let i = frame.op;
            self.unlift(i);
            run.state = frame.state;
            run.set_tag ^= self.tags[i];
            self.count(run, i, false);
            run.lower_ceiling(self.ceiling[i]);
            run.cursor = self.next[self.call_entry[i]];
            run.unknown_pass = frame.unknown_pass;
            return Event::Undid(i);
        }
        let i = self.entries[e].op;
        run.cursor = self.next[e];
        if self.ops[i].is_unknown() != run.unknown_pass
            || self.anon_rank[i].is_some_and(|r| r != run.anon_applied)
        {
            return Event::Moved;
        }
        let Some(next_state) = self.step(run.state, i) else {
            return Event::Moved;
        };
        // Versions only grow, so a state above the version some pending known operation
        // reported can never lead to a linearization: cut the branch now, not after a long
        // walk (this keeps chains of speculative unknown writes short).
        run.raise_ceiling(self.ceiling[i]);
        let set_tag = run.set_tag ^ self.tags[i];
        if !run.under_ceiling(next_state) || !run.memo.insert(set_tag ^ state_tag(next_state)) {
            run.lower_ceiling(self.ceiling[i]);
            return Event::Moved;
        }
        run.stack.push(Frame {
            op: i,
            state: run.state,
            unknown_pass: run.unknown_pass,
        });
        run.state = next_state;
        run.set_tag = set_tag;
        self.count(run, i, true);
        self.lift(i);
        run.cursor = self.next[self.head()];
        run.unknown_pass = false;
        Event::Took(i)
    }

    /// Keeps the run's counters in step with linearizing (`took`) or undoing operation `i`.
    fn count(&self, run: &mut Run, i: usize, took: bool) {
        let delta = |n: &mut usize| {
            if took {
                *n -= 1;
            } else {
                *n += 1;
            }
        };
        if self.ops[i].is_unknown() {
            delta(&mut run.unknown_left);
            if self.anon_rank[i].is_some() {
                if took {
                    run.anon_applied += 1;
                } else {
                    run.anon_applied -= 1;
                }
            }
        } else {
            delta(&mut run.known_left);
        }
    }

    fn head(&self) -> usize {
        self.entries.len()
    }

    fn start(&mut self) -> Run {
        // A run that returned early (an answer, the budget) left operations lifted out.
        self.relink();
        let mut memo = HashSet::default();
        memo.insert(state_tag(self.initial));
        let mut ceilings = BTreeMap::new();
        for c in self.ceiling.iter().flatten() {
            *ceilings.entry(*c).or_insert(0) += 1;
        }
        Run {
            ceilings,
            state: self.initial,
            set_tag: 0,
            known_left: self.ops.iter().filter(|o| !o.is_unknown()).count(),
            unknown_left: self.ops.iter().filter(|o| o.is_unknown()).count(),
            anon_applied: 0,
            cursor: self.next[self.head()],
            unknown_pass: false,
            stack: Vec::new(),
            memo,
        }
    }

    fn relink(&mut self) {
        let head = self.head();
        let mut last = head;
        for e in 0..self.entries.len() {
            self.next[last] = e;
            self.prev[e] = last;
            last = e;
        }
        self.next[last] = NIL;
    }

    fn unlink(&mut self, e: usize) {
        let (p, n) = (self.prev[e], self.next[e]);
        self.next[p] = n;
        if n != NIL {
            self.prev[n] = p;
        }
    }

    fn relink_one(&mut self, e: usize) {
        let (p, n) = (self.prev[e], self.next[e]);
        self.next[p] = e;
        if n != NIL {
            self.prev[n] = e;
        }
    }

    fn lift(&mut self, i: usize) {
        self.unlink(self.call_entry[i]);
        if let Some(r) = self.ret_entry[i] {
            self.unlink(r);
        }
    }

    fn unlift(&mut self, i: usize) {
        if let Some(r) = self.ret_entry[i] {
            self.relink_one(r);
        }
        self.relink_one(self.call_entry[i]);
    }

    /// The register after operation `i` takes effect in state `s`, if its recorded outcome is
    /// possible there. An unknown compare-and-set whose expectation fails changes nothing, the same
    /// as never happening, so it is not offered as a step.
    fn step(&self, s: State, i: usize) -> Option<State> {
        let o = &self.ops[i];
        let holds = |e: Expect| match e {
            Expect::Version(v) => s.version == v,
            Expect::Value(v) => s.slot == Slot::Seen(v),
        };
        let written = |reported: Option<u64>| {
            let after = State {
                slot: self.slot_of[i],
                version: s.version + 1,
            };
            match reported {
                Some(v) if v != after.version => None,
                _ => Some(after),
            }
        };
        match (o.op, o.outcome) {
            (Op::Write(_), Outcome::Written { version }) => written(version),
            (Op::Write(_), Outcome::Unknown) => written(None),
            (Op::Read, Outcome::Read { value, version }) => {
                let fits = s.slot == Slot::Seen(value) && version.is_none_or(|v| v == s.version);
                fits.then_some(s)
            }
            (Op::Cas { expect, .. }, Outcome::Written { version }) if holds(expect) => {
                written(version)
            }
            (Op::Cas { expect, .. }, Outcome::Unknown) if holds(expect) => written(None),
            (Op::Cas { expect, .. }, Outcome::Refused) if !holds(expect) => Some(s),
            _ => None,
        }
    }
}

/// Fills in versions that answers left out but the history implies. A value written by exactly
/// one operation is held only between that write and the next, all at one version; so once any
/// answer ties the value to a version, every read of it and its write have that version. More
/// known versions mean a lower ceiling and earlier pruning.
fn infer_versions(ops: &mut [Operation], initial: Value, initial_version: u64) {
    let mut writers: HashMap<Value, usize> = HashMap::new();
    *writers.entry(initial).or_insert(0) += 1;
    for o in ops.iter() {
        if let Op::Write(v) | Op::Cas { value: v, .. } = o.op {
            *writers.entry(v).or_insert(0) += 1;
        }
    }
    let unique = |v: &Value| writers.get(v) == Some(&1);
    // None inside: answers disagree, which the search itself will reject.
    let mut version_of: HashMap<Value, Option<u64>> = HashMap::new();
    let mut tie = |v: Value, version: u64| {
        if unique(&v) {
            let slot = version_of.entry(v).or_insert(Some(version));
            if *slot != Some(version) {
                *slot = None;
            }
        }
    };
    tie(initial, initial_version);
    for o in ops.iter() {
        match (o.op, o.outcome) {
            (Op::Write(v) | Op::Cas { value: v, .. }, Outcome::Written { version: Some(x) })
            | (
                _,
                Outcome::Read {
                    value: v,
                    version: Some(x),
                },
            ) => tie(v, x),
            _ => {}
        }
    }
    let known = |v: Value| version_of.get(&v).copied().flatten();
    for o in ops.iter_mut() {
        let op = o.op;
        match &mut o.outcome {
            Outcome::Written { version } if version.is_none() => {
                if let Op::Write(v) | Op::Cas { value: v, .. } = op {
                    *version = known(v);
                }
            }
            Outcome::Read { value, version } if version.is_none() => *version = known(*value),
            _ => {}
        }
    }
}

/// What one move of the search did.
enum Event {
    /// Linearized this operation.
    Took(usize),
    /// Took this operation back.
    Undid(usize),
    /// Looked at a candidate without taking it, or started the second pass.
    Moved,
    /// Nothing left to take back: every order has been tried.
    Finished,
}

fn sorted(set: HashSet<State>) -> Vec<State> {
    let mut v: Vec<State> = set.into_iter().collect();
    v.sort_by_key(|s| {
        (
            s.version,
            match s.slot {
                Slot::Seen(v) => Some(v),
                Slot::Unseen => None,
            },
        )
    });
    v
}
