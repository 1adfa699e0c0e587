//! Differential testing: one seeded op sequence, run in lockstep on a reference server (real
//! ZooKeeper) and a candidate (Ferrokeeper), comparing every normalised answer and notification.
//!
//! The generator's model follows the reference's answers, so both servers see the same ops as
//! long as they agree; the first disagreement is reported with the whole op history.

mod exec;
mod normalise;
mod ops;
mod rng;

pub use exec::{Effects, Executor, Step};
pub use normalise::Normaliser;
pub use ops::{AclChoice, Model, Op, SubOp};
pub use rng::SeededRng;

use crate::raw::RawError;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A difference both projects accept, documented in `docs/COMPATIBILITY.md`.
#[derive(Debug, Clone, Copy)]
pub struct Allowance {
    /// Short name.
    pub name: &'static str,
    /// Where it is documented, e.g. `docs/COMPATIBILITY.md#some-section`.
    pub doc: &'static str,
    /// True when this reference/candidate pair of lines is the accepted difference.
    pub matches: fn(op: &Op, reference: &str, candidate: &str) -> bool,
}

/// Differences accepted today. Every entry must cite `docs/COMPATIBILITY.md`. (Notification
/// header zxids are not compared at all: ZooKeeper 3.8 sends −1 and 3.9 sends the real zxid.)
pub const KNOWN_DIFFERENCES: &[Allowance] = &[Allowance {
    name: "multi create2 result carries a stat",
    doc: "docs/COMPATIBILITY.md#known-differences",
    matches: multi_create2_stat,
}];

/// Debian's ZooKeeper 3.8.0 answers create2 inside multi with a plain create result (path, no
/// stat); 3.8.2 and 3.9.0 fixed that (ZOOKEEPER-4026) and Ferrokeeper follows 3.9. The lines are
/// the same once every `Create2 <path> stat{..}` of the candidate is cut to `Create <path>` where
/// the reference has `Create <path>`.
fn multi_create2_stat(op: &Op, reference: &str, candidate: &str) -> bool {
    if !matches!(op, Op::Multi { .. }) {
        return false;
    }
    let (Some(r), Some(c)) = (multi_parts(reference), multi_parts(candidate)) else {
        return false;
    };
    if r.0 != c.0 || r.1.len() != c.1.len() {
        return false;
    }
    r.1.iter().zip(&c.1).all(|(x, y)| {
        x == y
            || (x.starts_with("Create ")
                && y.starts_with("Create2 ")
                && y.split(' ').nth(1) == x.split(' ').nth(1))
    })
}

/// Splits `<head> [a; b; c]` into the head and the per-op results.
fn multi_parts(line: &str) -> Option<(&str, Vec<&str>)> {
    let open = line.find(" [")?;
    let body = line[open + 2..].strip_suffix(']')?;
    Some((&line[..open], body.split("; ").collect()))
}

/// The parameters of one run.
#[derive(Debug, Clone, Copy)]
pub struct DiffOptions {
    /// Seed of the op generator.
    pub seed: u64,
    /// Number of ops, [`Model::prologue`]'s included.
    pub steps: usize,
    /// Number of concurrent sessions (slot 0 is authenticated as alice).
    pub sessions: usize,
}

impl DiffOptions {
    /// `steps` ops over two sessions.
    pub fn new(seed: u64, steps: usize) -> Self {
        Self {
            seed,
            steps,
            sessions: 2,
        }
    }
}

/// The first step on which the servers disagreed.
#[derive(Debug, Clone)]
pub struct Divergence {
    /// The run's seed.
    pub seed: u64,
    /// Index of the failing step.
    pub step: usize,
    /// The op of that step.
    pub op: String,
    /// The reference's normalised lines.
    pub reference: Vec<String>,
    /// The candidate's normalised lines.
    pub candidate: Vec<String>,
    /// Every op up to and including the failing one, with the reference's answers.
    pub history: Vec<String>,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "seed {} diverged at step {}: {}",
            self.seed, self.step, self.op
        )?;
        writeln!(f, "  reference:")?;
        for l in &self.reference {
            writeln!(f, "    {l}")?;
        }
        writeln!(f, "  candidate:")?;
        for l in &self.candidate {
            writeln!(f, "    {l}")?;
        }
        writeln!(f, "op sequence (with the reference's answers):")?;
        for h in &self.history {
            writeln!(f, "  {h}")?;
        }
        Ok(())
    }
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    /// The reference could not be driven (harness problem, not a verdict).
    #[error("reference server failed at step {step}: {source}")]
    Reference {
        step: usize,
        #[source]
        source: RawError,
    },
    /// The candidate could not even start the run.
    #[error("candidate server failed during setup: {0}")]
    CandidateSetup(RawError),
    /// The servers disagreed.
    #[error("{0}")]
    Diverged(Box<Divergence>),
}

/// What a successful run covered.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    /// Ops run.
    pub steps: usize,
    /// Ops whose reply was an error code.
    pub errors: usize,
    /// Notifications observed on the reference.
    pub notifications: usize,
    /// Differences accepted through [`KNOWN_DIFFERENCES`].
    pub allowed: usize,
}

static RUN_COUNTER: AtomicUsize = AtomicUsize::new(0);

fn run_root(seed: u64, side: &str) -> String {
    let n = RUN_COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("/diff-{seed}-{}-{n}-{side}", std::process::id())
}

fn lines_equal(op: &Op, a: &[String], b: &[String], allowed: &mut usize) -> bool {
    if a.len() != b.len() {
        return false;
    }
    for (x, y) in a.iter().zip(b) {
        if x == y {
            continue;
        }
        if KNOWN_DIFFERENCES.iter().any(|al| (al.matches)(op, x, y)) {
            *allowed += 1;
            continue;
        }
        return false;
    }
    true
}

/// Runs `opts` in lockstep on `reference` and `candidate`.
pub fn run_pair(
    reference: SocketAddr,
    candidate: SocketAddr,
    opts: DiffOptions,
) -> Result<RunSummary, DiffError> {
    let mut a = Executor::start(reference, &run_root(opts.seed, "ref"), opts.sessions)
        .map_err(|source| DiffError::Reference { step: 0, source })?;
    let mut b = Executor::start(candidate, &run_root(opts.seed, "cand"), opts.sessions)
        .map_err(DiffError::CandidateSetup)?;
    let mut rng = SeededRng::new(opts.seed);
    let mut model = Model::new();
    let mut history = Vec::new();
    let mut summary = RunSummary::default();
    let prologue = Model::prologue(opts.sessions);
    for step in 0..opts.steps {
        let op = match prologue.get(step) {
            Some(op) => op.clone(),
            None => model.next_op(&mut rng, opts.sessions),
        };
        let ra = a
            .apply(&op)
            .map_err(|source| DiffError::Reference { step, source })?;
        let rb = match b.apply(&op) {
            Ok(r) => r.lines,
            Err(e) => vec![format!("candidate transport error: {e}")],
        };
        history.push(format!("#{step} {op}  =>  {}", ra.lines.join("  //  ")));
        if std::env::var_os("FK_DIFF_VERBOSE").is_some() {
            eprintln!("{}", history[history.len() - 1]);
        }
        if !lines_equal(&op, &ra.lines, &rb, &mut summary.allowed) {
            return Err(DiffError::Diverged(Box::new(Divergence {
                seed: opts.seed,
                step,
                op: op.to_string(),
                reference: ra.lines,
                candidate: rb,
                history,
            })));
        }
        summary.steps += 1;
        if ra
            .lines
            .first()
            .map(|l| !l.starts_with("Ok"))
            .unwrap_or(false)
        {
            summary.errors += 1;
        }
        summary.notifications += ra
            .lines
            .iter()
            .filter(|l| l.contains(" notified: "))
            .count();
        for (path, flags, s) in &ra.effects.created {
            model.created(path, *flags, *s);
        }
        for path in &ra.effects.deleted {
            model.deleted(path);
        }
        if let Some(s) = ra.effects.reopened {
            model.session_closed(s);
        }
    }
    a.finish();
    b.finish();
    Ok(summary)
}

/// The seeds to run (set env `FK_DIFF_VERBOSE=1` to print every step as it runs): env `FK_DIFF_SEEDS` (comma-separated, or `N..M`), else `default`.
pub fn seeds_from_env(default: &[u64]) -> Vec<u64> {
    match std::env::var("FK_DIFF_SEEDS") {
        Ok(spec) => parse_seeds(&spec, default),
        Err(_) => default.to_vec(),
    }
}

/// Parses `1,2,3` or `N..M` (half-open); anything unparsable gives `default`.
pub fn parse_seeds(spec: &str, default: &[u64]) -> Vec<u64> {
    if let Some((lo, hi)) = spec.split_once("..") {
        if let (Ok(lo), Ok(hi)) = (lo.trim().parse::<u64>(), hi.trim().parse::<u64>()) {
            return (lo..hi).collect();
        }
    }
    let seeds: Vec<u64> = spec
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    if seeds.is_empty() {
        default.to_vec()
    } else {
        seeds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_parse_lists_and_ranges() {
        assert_eq!(parse_seeds("1, 5,9", &[7]), vec![1, 5, 9]);
        assert_eq!(parse_seeds("3..6", &[7]), vec![3, 4, 5]);
        assert_eq!(parse_seeds("nonsense", &[7]), vec![7]);
    }

    #[test]
    fn generator_is_deterministic_per_seed() {
        let ops = |seed| {
            let mut rng = SeededRng::new(seed);
            let model = Model::new();
            (0..50)
                .map(|_| model.next_op(&mut rng, 2).to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(ops(42), ops(42));
        assert_ne!(ops(42), ops(43));
    }

    #[test]
    fn multi_create2_allowance_is_narrow() {
        let op = Op::Multi { s: 0, ops: vec![] };
        let zk = "Ok @Z3 [Create /a; Check]";
        let fk = "Ok @Z3 [Create2 /a stat{c=Z3}; Check]";
        assert!(multi_create2_stat(&op, zk, fk));
        assert!(!multi_create2_stat(
            &op,
            zk,
            "Ok @Z3 [Create2 /b stat{c=Z3}; Check]"
        ));
        assert!(!multi_create2_stat(
            &op,
            zk,
            "Ok @Z4 [Create2 /a stat{c=Z3}; Check]"
        ));
        assert!(!multi_create2_stat(
            &op,
            zk,
            "Ok @Z3 [Create2 /a stat{c=Z3}]"
        ));
        let get = Op::Sync {
            s: 0,
            path: String::new(),
        };
        assert!(!multi_create2_stat(&get, zk, fk));
    }

    #[test]
    fn allowances_cite_the_compatibility_doc() {
        for a in KNOWN_DIFFERENCES {
            assert!(
                a.doc.starts_with("docs/COMPATIBILITY.md"),
                "{} cites {}",
                a.name,
                a.doc
            );
        }
    }
}
