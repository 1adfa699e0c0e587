//! Durability: every acknowledged write must be accounted for by the registers' final state.

use super::{History, Op, Outcome, Register};
use std::collections::BTreeMap;

/// What is wrong with `finals` (each key's final register, read after the system healed) as the
/// result of `history`'s writes; empty when nothing is. Every acknowledged write must have taken
/// one distinct version no higher than the final one; the final version must be at least the
/// number of acknowledged writes and at most that plus the writes of unknown outcome; and the
/// final value must have been written by one of them (or be the initial 0 at version 0).
pub fn unaccounted_writes(history: &History, finals: &[(String, Register)]) -> Vec<String> {
    let mut problems = Vec::new();
    for (key, register) in finals {
        let (value, version) = (register.value, register.version);
        let ops = history.for_key(key);
        let mut acked: BTreeMap<u64, u64> = BTreeMap::new();
        let mut unknown = 0u64;
        let mut candidates = vec![];
        for o in &ops {
            let written = match o.op {
                Op::Write(v) | Op::Cas { value: v, .. } => v,
                Op::Read => continue,
            };
            match o.outcome {
                Outcome::Written { version: Some(v) } => {
                    if let Some(other) = acked.insert(v, written) {
                        problems.push(format!(
                            "{key}: writes of {other} and {written} were both acknowledged at version {v}"
                        ));
                    }
                    if v > version {
                        problems.push(format!(
                            "{key}: write of {written} acknowledged at version {v}, but the final version is {version}"
                        ));
                    }
                    candidates.push(written);
                }
                Outcome::Unknown => {
                    unknown += 1;
                    candidates.push(written);
                }
                _ => {}
            }
        }
        let acked_count = acked.len() as u64;
        if version < acked_count {
            problems.push(format!(
                "{key}: {acked_count} writes acknowledged but the final version is {version}: acknowledged writes were lost"
            ));
        }
        if version > acked_count + unknown {
            problems.push(format!(
                "{key}: final version {version} exceeds {acked_count} acknowledged + {unknown} unknown writes"
            ));
        }
        if !(candidates.contains(&value) || (value == 0 && version == 0)) {
            problems.push(format!(
                "{key}: final value {value} was never written by an acknowledged or in-doubt write"
            ));
        }
        if acked.get(&version).is_some_and(|&w| w != value) {
            problems.push(format!(
                "{key}: final version {version} was acknowledged for value {}, but the final value is {value}",
                acked[&version]
            ));
        }
    }
    problems
}
