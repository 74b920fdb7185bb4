//! Raft's safety checker: rules R1 to R8 of `docs/checkers.md`, from its own history.
//!
//! The checker never trusts a node's current state alone: nodes truncate
//! logs, forget volatile state on a crash, and (under a teaching toggle)
//! forget their term. So it keeps its own record of every leader per term,
//! every vote, a shadow copy of each log as a chain of hashes (entry `i`'s
//! hash covers entries `1..=i`, so equal hashes mean equal prefixes, which
//! makes Log Matching cheap to check), every committed index, every applied
//! entry, and every client invocation and completion.

use sim::sorted::SortedMap;

use sim::{
    Checker, Encode, Input, NodeId, Report, Rule, StepEvent, StepRecord, TraceHasher, Undecided,
    Violation, World,
};

use super::log::{Entry, LogIndex, Term};
use super::node::{RaftNode, RaftObs, Server};
use super::Raft;
use crate::linearizability::Tracker;

/// The liveness check, which the seed sweep runs after healing and the app
/// watches as a run plays (`sim::liveness`): Raft's predicate is
/// [`super::scenario::settled_among`] under a term that lasts.
pub const LIVENESS: Rule = Rule {
    id: "L1",
    name: "Leadership and progress",
    description: "Once a majority can talk again, one leader is elected within a bound of election timeouts and keeps its post, and every operation a client saw acknowledged is applied on every server of that majority.",
};

/// The rules, in order.
pub const RULES: &[Rule] = &[
    Rule {
        id: "R1",
        name: "Election safety",
        description: "At most one leader is elected in a term, over the whole run.",
    },
    Rule {
        id: "R2",
        name: "Leader append-only",
        description: "A leader never overwrites or deletes entries in its own log.",
    },
    Rule {
        id: "R3",
        name: "Log matching",
        description: "If two logs hold an entry with the same index and term, they are identical up to that index.",
    },
    Rule {
        id: "R4",
        name: "Leader completeness",
        description: "A leader holds every entry committed in an earlier term.",
    },
    Rule {
        id: "R5",
        name: "State machine safety",
        description: "No two servers apply different commands at one index, and each applies in order without gaps.",
    },
    Rule {
        id: "R6",
        name: "Durability",
        description: "currentTerm, votedFor and the log survive a restart: the term never decreases and a server votes at most once per term.",
    },
    Rule {
        id: "R7",
        name: "Message sanity",
        description: "No message carries a term above its sender's current term.",
    },
    Rule {
        id: "R8",
        name: "Linearizability",
        description: "Every key's client history is explained by one order of its operations, each taking effect between its call and its answer.",
    },
];

fn chain(prev: u64, entry: &Entry) -> u64 {
    let mut h = TraceHasher::new();
    h.word(prev);
    entry.encode(&mut h);
    h.finish()
}

/// Checks R1 to R8.
#[derive(Clone, Debug, Default)]
pub struct RaftChecker {
    leaders: SortedMap<Term, NodeId>,
    /// Per server: (term, chain hash) of each entry of its log, as last seen.
    shadow: SortedMap<NodeId, Vec<(Term, u64)>>,
    /// Per server: the term it became leader in, while it leads.
    leading: SortedMap<NodeId, Term>,
    /// The first chain hash seen for each (index, term).
    seen: SortedMap<(LogIndex, Term), (u64, NodeId)>,
    /// Committed entries: chain hash, and the term in which the commit was learned.
    committed: Vec<(u64, Term)>,
    applied: SortedMap<LogIndex, (Entry, NodeId)>,
    next_apply: SortedMap<NodeId, LogIndex>,
    max_term: SortedMap<NodeId, Term>,
    votes: SortedMap<(NodeId, Term), NodeId>,
    history: Tracker,
}

impl RaftChecker {
    /// A checker with an empty history.
    pub fn new() -> RaftChecker {
        RaftChecker::default()
    }

    fn shadow_of(&mut self, node: NodeId) -> &mut Vec<(Term, u64)> {
        self.shadow.entry(node).or_default()
    }

    fn recompute(server: &Server, from: LogIndex, shadow: &mut Vec<(Term, u64)>) {
        let keep = (from.0.max(1) - 1) as usize;
        shadow.truncate(keep);
        let mut prev = shadow.last().map_or(0, |&(_, c)| c);
        for i in (keep as u64 + 1)..=server.log().last_index().0 {
            let e = server.log().get(LogIndex(i)).expect("within the log");
            prev = chain(prev, e);
            shadow.push((e.term, prev));
        }
    }

    fn on_restart(&mut self, n: NodeId, server: &Server, report: &mut Report<'_>) {
        self.next_apply.insert(n, LogIndex(1));
        self.leading.remove(&n);
        let mut fresh = Vec::new();
        Self::recompute(server, LogIndex(1), &mut fresh);
        let before = self.shadow_of(n);
        if *before != fresh {
            report.violation(
                "R6",
                &[n],
                format!(
                    "{n} restarted with {} log entries, but it held {} different ones before the crash",
                    fresh.len(),
                    before.len()
                ),
            );
        }
        *self.shadow_of(n) = fresh;
    }

    fn on_log_written(
        &mut self,
        n: NodeId,
        from: LogIndex,
        server: &Server,
        report: &mut Report<'_>,
    ) {
        let old_len = self.shadow_of(n).len() as u64;
        if let Some(&t) = self.leading.get(&n) {
            if server.is_leader() && server.term() == t && from.0 <= old_len {
                report.violation(
                    "R2",
                    &[n],
                    format!("{n}, leader of term {t}, changed its own entry at index {from}"),
                );
            }
        }
        let mut shadow = std::mem::take(self.shadow_of(n));
        Self::recompute(server, from, &mut shadow);
        let first = from.0.max(1) as usize - 1;
        for (i, &(term, hash)) in shadow.iter().enumerate().skip(first) {
            let index = LogIndex(i as u64 + 1);
            match self.seen.get(&(index, term)) {
                None => {
                    self.seen.insert((index, term), (hash, n));
                }
                Some(&(h, other)) if h != hash => {
                    report.violation(
                        "R3",
                        &[other, n],
                        format!(
                            "{other} and {n} both hold an entry of term {term} at index {index}, but their logs differ up to there"
                        ),
                    );
                    // Report each (index, term) once.
                    self.seen.insert((index, term), (hash, n));
                }
                Some(_) => {}
            }
        }
        *self.shadow_of(n) = shadow;
    }

    fn on_committed(&mut self, n: NodeId, index: LogIndex, term: Term, report: &mut Report<'_>) {
        let shadow = self.shadow.get(&n).cloned().unwrap_or_default();
        let upto = (index.0 as usize).min(shadow.len());
        let first_new = self.committed.len();
        for (_, hash) in shadow.iter().take(upto).skip(first_new) {
            self.committed.push((*hash, term));
        }
        // Leader completeness also binds leaders elected before the commit:
        // whoever leads a later term than the one this commit was learned in
        // must already hold the entry.
        let Some(last) = self.committed.len().checked_sub(1) else {
            return;
        };
        if last < first_new {
            return;
        }
        let (hash, _) = self.committed[last];
        for (&leader, &lead_term) in &self.leading {
            if lead_term <= term {
                continue;
            }
            let held = self.shadow.get(&leader).and_then(|s| s.get(last));
            if held.map(|&(_, h)| h) != Some(hash) {
                report.violation(
                    "R4",
                    &[leader, n],
                    format!(
                        "the entry at index {} was committed in term {term}, but {leader}, leader of the later term {lead_term}, does not hold it",
                        last + 1
                    ),
                );
                return;
            }
        }
    }

    fn on_became_leader(&mut self, n: NodeId, term: Term, report: &mut Report<'_>) {
        if let Some(&other) = self.leaders.get(&term) {
            if other != n {
                report.violation(
                    "R1",
                    &[other, n],
                    format!("{n} was elected leader of term {term}, but {other} already leads term {term}"),
                );
            }
        } else {
            self.leaders.insert(term, n);
        }
        self.leading.insert(n, term);
        // The highest index committed in an earlier term must be in this log.
        let Some(i) = self.committed.iter().rposition(|&(_, t)| t < term) else {
            return;
        };
        let (hash, _) = self.committed[i];
        let shadow = self.shadow.get(&n).map(Vec::as_slice).unwrap_or_default();
        if shadow.get(i).map(|&(_, h)| h) != Some(hash) {
            report.violation(
                "R4",
                &[n],
                format!(
                    "{n} became leader of term {term} without the committed entry at index {}",
                    i + 1
                ),
            );
        }
    }

    fn on_applied(&mut self, n: NodeId, index: LogIndex, entry: &Entry, report: &mut Report<'_>) {
        let expected = *self.next_apply.get(&n).unwrap_or(&LogIndex(1));
        if index != expected {
            report.violation(
                "R5",
                &[n],
                format!("{n} applied index {index}, but the next index to apply was {expected}"),
            );
        }
        self.next_apply.insert(n, index.next());
        match self.applied.get(&index) {
            None => {
                self.applied.insert(index, (entry.clone(), n));
            }
            Some((other_entry, other)) if other_entry != entry => {
                report.violation(
                    "R5",
                    &[*other, n],
                    format!(
                        "{n} applied \"{}\" (term {}) at index {index}, but {other} applied \"{}\" (term {}) there",
                        entry.command, entry.term, other_entry.command, other_entry.term
                    ),
                );
            }
            Some(_) => {}
        }
    }
}

impl Checker<Raft> for RaftChecker {
    fn rules(&self) -> &'static [Rule] {
        RULES
    }

    fn undecided(&self) -> Vec<Undecided> {
        self.history
            .undecided_sentence()
            .map(|message| Undecided {
                rule: "R8",
                message,
            })
            .into_iter()
            .collect()
    }

    fn finish(&mut self, world: &World<Raft>) -> Vec<Violation> {
        self.history
            .finish()
            .into_iter()
            .map(|message| Violation {
                rule: "R8",
                step: world.steps(),
                time: world.now(),
                nodes: Vec::new(),
                message,
            })
            .collect()
    }

    fn observe(
        &mut self,
        record: &StepRecord<RaftNode>,
        world: &World<Raft>,
        report: &mut Report<'_>,
    ) {
        let Some(n) = record.node else { return };
        let Some(node) = world.node(n) else { return };
        match node {
            RaftNode::Client(_) => {
                for obs in record.out.observations() {
                    match obs {
                        RaftObs::Invoked { request, op } => {
                            self.history.invoke(n, *request, op, record.step)
                        }
                        RaftObs::Completed { request, result } => {
                            if let Some(text) =
                                self.history.complete(n, *request, result, record.step)
                            {
                                report.violation("R8", &[n], text);
                            }
                        }
                        _ => {}
                    }
                }
            }
            RaftNode::Server(server) => {
                // A first boot and a restart both rebuild the server from
                // its durable state, which is what R6 checks.
                if let StepEvent::Start(_) | StepEvent::Input(Input::Restart(_)) = record.event {
                    self.on_restart(n, server, report);
                }
                // Log writes first: the other facts of this step are about
                // the log as it is at the end of the step.
                for obs in record.out.observations() {
                    if let RaftObs::LogWritten(from) = obs {
                        self.on_log_written(n, *from, server, report);
                    }
                }
                for obs in record.out.observations() {
                    match obs {
                        RaftObs::BecameLeader(term) => self.on_became_leader(n, *term, report),
                        RaftObs::Voted { term, candidate } => {
                            if let Some(&earlier) = self.votes.get(&(n, *term)) {
                                if earlier != *candidate {
                                    report.violation(
                                        "R6",
                                        &[n, earlier, *candidate],
                                        format!("{n} voted for {earlier} and then for {candidate} in term {term}"),
                                    );
                                }
                            }
                            self.votes.insert((n, *term), *candidate);
                        }
                        RaftObs::Committed(index) => {
                            self.on_committed(n, *index, server.term(), report)
                        }
                        RaftObs::Applied { index, entry } => {
                            self.on_applied(n, *index, entry, report)
                        }
                        RaftObs::LogWritten(_)
                        | RaftObs::Invoked { .. }
                        | RaftObs::Completed { .. } => {}
                    }
                }
                if self
                    .leading
                    .get(&n)
                    .is_some_and(|&t| t != server.term() || !server.is_leader())
                {
                    self.leading.remove(&n);
                }
                let term = server.term();
                let max = self.max_term.entry(n).or_default();
                if term < *max {
                    report.violation(
                        "R6",
                        &[n],
                        format!("{n}'s term went back from {} to {term}", *max),
                    );
                }
                *max = term;
                for (to, msg) in record.out.sends() {
                    if let Some(t) = msg.term() {
                        if t > term {
                            report.violation(
                                "R7",
                                &[n, *to],
                                format!("{n} sent a message with term {t} to {to} while its own term is {term}"),
                            );
                        }
                    }
                }
            }
        }
    }
}
