//! Differential test: seeded random op sequences run in lockstep on real ZooKeeper and on
//! Ferrokeeper; every normalised reply, stat and notification must agree. `FK_DIFF_SEEDS`
//! (`1,2,3` or `10..50`) picks other seeds; `FK_DIFF_STEPS` the length of each run.

mod common;

use testkit::differential::{run_pair, seeds_from_env, DiffError, DiffOptions};
use testkit::Target;

const DEFAULT_SEEDS: &[u64] = &[1, 2, 3, 4, 5];

fn steps() -> usize {
    std::env::var("FK_DIFF_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200)
}

fn run(candidate: Target) {
    let reference = common::server(Target::ZooKeeper);
    let cand = common::server(candidate);
    let mut failures = Vec::new();
    for seed in seeds_from_env(DEFAULT_SEEDS) {
        match run_pair(reference.addr, cand.addr, DiffOptions::new(seed, steps())) {
            Ok(summary) => {
                eprintln!(
                    "seed {seed}: {} steps agree ({} error replies, {} notification lines, {} allowed differences)",
                    summary.steps, summary.errors, summary.notifications, summary.allowed
                );
                // A run that never fails or never notifies tests too little. Collected like a
                // divergence, so one run names every such seed.
                if summary.errors == 0 || summary.notifications == 0 {
                    failures.push(format!(
                        "seed {seed} covered too little ({} error replies, {} notification lines)",
                        summary.errors, summary.notifications
                    ));
                }
            }
            Err(DiffError::Diverged(d)) => failures.push(d.to_string()),
            Err(e) => failures.push(format!("seed {seed}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

mod zookeeper {
    /// ZooKeeper against itself: proves the normalisation hides only what may differ, so a
    /// divergence against Ferrokeeper is a real difference.
    #[test]
    fn differential_self_consistency() {
        super::run(testkit::Target::ZooKeeper);
    }
}

mod ferrokeeper {
    #[test]
    fn differential_against_zookeeper() {
        super::run(testkit::Target::Ferrokeeper);
    }
}
