//! The checker of the leader-election case study: were there ever two leaders at once?
//!
//! Each leadership is a *term*, named by the creation zxid (`czxid`) of the leader's latch node:
//! leaders follow the order of their nodes, so terms increase from one leader to the next. A
//! leader logs when its term starts (`lead`) and every piece of work it committed (`work`, with
//! the time the commit was *sent*); the work is also committed in the ensemble as sequential
//! nodes, each naming its term, and a commit only succeeds while the leader's latch node exists
//! (the fence).
//!
//! The checker verifies:
//! 1. every term belongs to one participant;
//! 2. in the ensemble's commit order, terms never decrease: no leader committed after a later
//!    leader had started committing;
//! 3. every work the logs claim is committed in the ensemble;
//! 4. the terms' intervals, from `lead` to the last committed work, do not overlap, taken in
//!    term order. This holds on one machine's clock because a commit sent at `t` can only
//!    succeed if it is applied before the leader's node is deleted, which is before the next
//!    leader can see that it leads and log its `lead`.

use crate::event_log::field;
use std::collections::BTreeMap;

/// One line of a participant's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `lead term=T id=X at=US`: the participant starts leading in term `T`.
    Lead {
        /// The term.
        term: i64,
        /// The participant.
        id: String,
        /// When, in µs since the epoch.
        at: u64,
    },
    /// `work term=T id=X n=N at=US`: work `N` of term `T` was committed; `at` is when its
    /// commit was sent.
    Work {
        /// The term.
        term: i64,
        /// The participant.
        id: String,
        /// The work's number within the participant's run.
        n: u64,
        /// When the commit was sent.
        at: u64,
    },
    /// `fenced term=T id=X n=N at=US`: the ensemble refused work `N` because term `T` was over.
    Fenced {
        /// The stale term.
        term: i64,
        /// The participant.
        id: String,
        /// The refused work's number.
        n: u64,
        /// When the commit was sent.
        at: u64,
    },
    /// `lost term=T id=X at=US`: the participant stopped leading.
    Lost {
        /// The term.
        term: i64,
        /// The participant.
        id: String,
        /// When it noticed.
        at: u64,
    },
}

impl Event {
    /// Parses a log line; `None` for lines that are not events (comments, other kinds).
    pub fn parse(line: &str) -> Option<Event> {
        let kind = line.split_whitespace().next()?;
        let term = field(line, "term")?.parse().ok()?;
        let id = field(line, "id")?.to_string();
        let at = field(line, "at")?.parse().ok()?;
        let n = || field(line, "n").and_then(|n| n.parse().ok());
        Some(match kind {
            "lead" => Event::Lead { term, id, at },
            "work" => Event::Work {
                term,
                id,
                n: n()?,
                at,
            },
            "fenced" => Event::Fenced {
                term,
                id,
                n: n()?,
                at,
            },
            "lost" => Event::Lost { term, id, at },
            _ => return None,
        })
    }

    fn term_and_id(&self) -> (i64, &str) {
        match self {
            Event::Lead { term, id, .. }
            | Event::Work { term, id, .. }
            | Event::Fenced { term, id, .. }
            | Event::Lost { term, id, .. } => (*term, id),
        }
    }
}

/// One work record as committed in the ensemble, in commit order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// The term that committed it.
    pub term: i64,
    /// The participant that committed it.
    pub id: String,
    /// The work's number.
    pub n: u64,
}

impl Commit {
    /// The data of a work record: `term=T id=X n=N`.
    pub fn encode(&self) -> String {
        format!("term={} id={} n={}", self.term, self.id, self.n)
    }

    /// Parses a work record's data.
    pub fn decode(data: &str) -> Option<Commit> {
        Some(Commit {
            term: field(data, "term")?.parse().ok()?,
            id: field(data, "id")?.to_string(),
            n: field(data, "n")?.parse().ok()?,
        })
    }
}

/// One term as the checker saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// The term (the leader's latch node `czxid`).
    pub term: i64,
    /// Its leader.
    pub id: String,
    /// When it started leading (µs since the epoch).
    pub start: u64,
    /// When it sent its last committed work (or `start` without work).
    pub end: u64,
    /// How much work it committed.
    pub works: usize,
}

/// What a successful check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The terms in order.
    pub terms: Vec<Term>,
    /// Work refused by the fence.
    pub fenced: usize,
    /// Work records in the ensemble.
    pub commits: usize,
}

/// Checks a run (see the module documentation); `Err` lists every violation.
pub fn check(events: &[Event], commits: &[Commit]) -> Result<Report, Vec<String>> {
    let mut violations = Vec::new();
    let mut owner: BTreeMap<i64, String> = BTreeMap::new();
    let pairs = events
        .iter()
        .map(Event::term_and_id)
        .chain(commits.iter().map(|c| (c.term, c.id.as_str())));
    for (term, id) in pairs {
        match owner.get(&term) {
            Some(o) if o != id => violations.push(format!("term {term} claimed by {o} and {id}")),
            Some(_) => {}
            None => {
                owner.insert(term, id.to_string());
            }
        }
    }

    for w in commits.windows(2) {
        if w[1].term < w[0].term {
            violations.push(format!(
                "term {} ({}) committed work {} after term {} ({}) had committed",
                w[1].term, w[1].id, w[1].n, w[0].term, w[0].id
            ));
        }
    }

    let mut terms: BTreeMap<i64, Term> = BTreeMap::new();
    let mut fenced = 0;
    for e in events {
        match e {
            Event::Lead { term, id, at } => {
                let t = terms.entry(*term).or_insert_with(|| Term {
                    term: *term,
                    id: id.clone(),
                    start: *at,
                    end: *at,
                    works: 0,
                });
                t.start = t.start.min(*at);
                t.end = t.end.max(t.start);
            }
            Event::Work { term, id, n, at } => {
                if !commits
                    .iter()
                    .any(|c| c.term == *term && c.id == *id && c.n == *n)
                {
                    violations.push(format!(
                        "{id} logged work {n} of term {term}, but it is not committed"
                    ));
                }
                match terms.get_mut(term) {
                    Some(t) => {
                        t.end = t.end.max(*at);
                        t.works += 1;
                    }
                    None => violations.push(format!(
                        "{id} logged work {n} of term {term} before leading in it"
                    )),
                }
            }
            Event::Fenced { .. } => fenced += 1,
            Event::Lost { .. } => {}
        }
    }

    let ordered: Vec<&Term> = terms.values().collect();
    for w in ordered.windows(2) {
        let (a, b) = (w[0], w[1]);
        if a.end >= b.start {
            violations.push(format!(
                "term {} ({}) lasted until {} but term {} ({}) started at {}: two leaders for {} µs",
                a.term,
                a.id,
                a.end,
                b.term,
                b.id,
                b.start,
                a.end - b.start
            ));
        }
    }

    if violations.is_empty() {
        Ok(Report {
            terms: terms.into_values().collect(),
            fenced,
            commits: commits.len(),
        })
    } else {
        Err(violations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(lines: &[&str]) -> Vec<Event> {
        lines.iter().filter_map(|l| Event::parse(l)).collect()
    }

    fn commits(list: &[(i64, &str, u64)]) -> Vec<Commit> {
        list.iter()
            .map(|&(term, id, n)| Commit {
                term,
                id: id.into(),
                n,
            })
            .collect()
    }

    #[test]
    fn a_clean_handover_passes() {
        let ev = events(&[
            "candidate id=a session=0x1 at=1",
            "lead term=10 id=a at=100",
            "work term=10 id=a n=1 at=110",
            "work term=10 id=a n=2 at=120",
            "lead term=12 id=b at=300",
            "work term=12 id=b n=1 at=310",
            "fenced term=10 id=a n=3 at=320",
        ]);
        let c = commits(&[(10, "a", 1), (10, "a", 2), (12, "b", 1)]);
        let r = check(&ev, &c).unwrap();
        assert_eq!(r.terms.len(), 2);
        assert_eq!((r.terms[0].start, r.terms[0].end), (100, 120));
        assert_eq!((r.fenced, r.commits), (1, 3));
    }

    #[test]
    fn overlapping_terms_are_caught() {
        let ev = events(&[
            "lead term=10 id=a at=100",
            "lead term=12 id=b at=200",
            "work term=10 id=a n=1 at=250",
            "work term=12 id=b n=1 at=260",
        ]);
        let c = commits(&[(10, "a", 1), (12, "b", 1)]);
        let v = check(&ev, &c).unwrap_err();
        assert!(v.iter().any(|m| m.contains("two leaders")), "{v:?}");
    }

    #[test]
    fn commits_going_back_a_term_are_caught() {
        let ev = events(&["lead term=10 id=a at=100", "lead term=12 id=b at=200"]);
        let c = commits(&[(10, "a", 1), (12, "b", 1), (10, "a", 2)]);
        let v = check(&ev, &c).unwrap_err();
        assert!(v.iter().any(|m| m.contains("after term 12")), "{v:?}");
    }

    #[test]
    fn uncommitted_work_and_shared_terms_are_caught() {
        let ev = events(&[
            "lead term=10 id=a at=100",
            "work term=10 id=a n=1 at=110",
            "lead term=10 id=b at=120",
        ]);
        let v = check(&ev, &[]).unwrap_err();
        assert!(v.iter().any(|m| m.contains("not committed")), "{v:?}");
        assert!(v.iter().any(|m| m.contains("claimed by a and b")), "{v:?}");
    }

    #[test]
    fn records_round_trip() {
        let c = Commit {
            term: 42,
            id: "c-1".into(),
            n: 7,
        };
        assert_eq!(Commit::decode(&c.encode()), Some(c));
    }
}
