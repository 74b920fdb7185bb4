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

/// A leader's log in little space: the index it ended at and, for each
/// run of entries of one term, that term and the run's first index. By
/// log matching (R3), the entry at an index is known by its index and
/// term, so this is enough to tell whether the leader held an entry.
#[derive(Clone, Debug, Default)]
struct Held {
    last: LogIndex,
    runs: Vec<(Term, LogIndex)>,
}

impl Held {
    /// The runs rewritten from index `from` on, from the shadow of the log.
    fn update(&mut self, shadow: &[(Term, u64)], from: LogIndex) {
        let from = LogIndex(from.0.max(1));
        while self.runs.last().is_some_and(|&(_, first)| first >= from) {
            self.runs.pop();
        }
        for (i, &(term, _)) in shadow.iter().enumerate().skip(from.0 as usize - 1) {
            if self.runs.last().map(|&(t, _)| t) != Some(term) {
                self.runs.push((term, LogIndex(i as u64 + 1)));
            }
        }
        self.last = LogIndex(shadow.len() as u64);
    }

    /// The term of the entry held at `index`, if the log reached it.
    fn term_at(&self, index: LogIndex) -> Option<Term> {
        if index > self.last || index.0 == 0 {
            return None;
        }
        let run = self.runs.partition_point(|&(_, first)| first <= index);
        Some(self.runs[run - 1].0)
    }
}

/// Checks R1 to R8.
#[derive(Clone, Debug, Default)]
pub struct RaftChecker {
    leaders: SortedMap<Term, NodeId>,
    /// Per server: (term, chain hash) of each entry of its log, as last seen.
    shadow: SortedMap<NodeId, Vec<(Term, u64)>>,
    /// Per server: the term it became leader in, while it leads.
    leading: SortedMap<NodeId, Term>,
    /// Per leadership (term, leader), current or past: the log it held
    /// while it led, as a leader's log stood when it last changed in that
    /// term. A leader that steps down keeps its entry here, so a commit
    /// learned later is still judged against every leader of a later term.
    held: SortedMap<(Term, NodeId), Held>,
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

    /// A checker whose linearizability check (R8) gets `steps` search
    /// steps per completed operation.
    pub fn with_check_steps(steps: u64) -> RaftChecker {
        RaftChecker {
            history: Tracker::with_steps(steps),
            ..RaftChecker::default()
        }
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
        if let Some(&t) = self.leading.get(&n) {
            if server.is_leader() && server.term() == t {
                if let Some(held) = self.held.get_mut(&(t, n)) {
                    held.update(&shadow, from);
                }
            }
        }
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
        let index = LogIndex(last as u64 + 1);
        let later = (Term(term.0 + 1), NodeId(0))..;
        for (&(lead_term, leader), held) in self.held.range(later) {
            let entry = held.term_at(index).and_then(|t| self.seen.get(&(index, t)));
            if entry.map(|&(h, _)| h) == Some(hash) {
                continue;
            }
            let (does, it) = if self.leading.get(&leader) == Some(&lead_term) {
                ("does", "it")
            } else {
                ("did", "it while it led")
            };
            report.violation(
                "R4",
                &[leader, n],
                format!(
                    "the entry at index {index} was committed in term {term}, but {leader}, leader of the later term {lead_term}, {does} not hold {it}"
                ),
            );
            return;
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
        let mut held = Held::default();
        held.update(
            self.shadow.get(&n).map(Vec::as_slice).unwrap_or_default(),
            LogIndex(1),
        );
        self.held.insert((term, n), held);
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
        self.history.undecided_rule("R8")
    }

    fn finish(&mut self, world: &World<Raft>) -> Vec<Violation> {
        self.history
            .finish_violations("R8", world.steps(), world.now())
    }

    fn observe(
        &mut self,
        record: &StepRecord<RaftNode>,
        world: &World<Raft>,
        report: &mut Report<'_>,
    ) {
        let Some(n) = record.node else { return };
        let Some(node) = world.node(n) else { return };
        self.observe_node(n, node, record, report);
    }
}

impl RaftChecker {
    /// Checks one step of node `n`, as it is right after the step: what the
    /// world hands [`Checker::observe`], and what the tests build by hand.
    fn observe_node(
        &mut self,
        n: NodeId,
        node: &RaftNode,
        record: &StepRecord<RaftNode>,
        report: &mut Report<'_>,
    ) {
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

#[cfg(test)]
mod tests {
    //! Each rule, seen to fire: hand-made histories that break exactly one
    //! rule, fed to the checker step by step, and a clean one that breaks
    //! none. The servers' states are set by hand before each step, the way
    //! a real handler would have left them.

    use std::cell::RefCell;
    use std::rc::Rc;

    use sim::{Checkers, Time, WorldConfig};

    use super::super::log::{Command, Log};
    use super::super::msg::RaftMsg;
    use super::super::node::{CandidateState, FollowerState, LeaderState, RaftTimer, Role};
    use super::*;
    use crate::kv::{KvOp, RequestId};

    /// The client of every history.
    const CLIENT: u32 = 3;

    /// The checker under test and the nodes as the test last set them.
    struct Shared {
        checker: RaftChecker,
        nodes: SortedMap<NodeId, RaftNode>,
    }

    /// Feeds the checker the hand-set node instead of the world's.
    #[derive(Clone)]
    struct Probe(Rc<RefCell<Shared>>);

    impl Checker<Raft> for Probe {
        fn rules(&self) -> &'static [Rule] {
            RULES
        }

        fn observe(
            &mut self,
            record: &StepRecord<RaftNode>,
            _world: &World<Raft>,
            report: &mut Report<'_>,
        ) {
            let shared = &mut *self.0.borrow_mut();
            let n = record.node.expect("every hand-made step has a node");
            shared
                .checker
                .observe_node(n, &shared.nodes[&n], record, report);
        }
    }

    /// A hand-made history of three servers (n1 to n3, ids 0 to 2) and one
    /// client (n4, id 3).
    struct History {
        /// Only there to give the checkers a world (they read no state of
        /// it: the probe hands them the hand-set nodes).
        world: World<Raft>,
        shared: Rc<RefCell<Shared>>,
        checkers: Checkers<Raft>,
        step: u64,
    }

    /// An entry of `term`: a no-op for "noop", otherwise the client's
    /// `put(x, what)`, so that different words make different entries.
    fn e(term: u64, what: &str) -> Entry {
        let command = match what {
            "noop" => Command::Noop,
            _ => Command::Client {
                client: NodeId(CLIENT),
                request: RequestId(1),
                op: put(what),
            },
        };
        Entry {
            term: Term(term),
            command,
        }
    }

    fn log(entries: &[Entry]) -> Log {
        let mut log = Log::new();
        for entry in entries {
            log.push(entry.clone());
        }
        log
    }

    fn put(value: &str) -> KvOp {
        KvOp::Put {
            key: "x".into(),
            value: value.into(),
        }
    }

    fn get() -> KvOp {
        KvOp::Get { key: "x".into() }
    }

    fn leader() -> Role {
        Role::Leader(LeaderState::default())
    }

    fn follower() -> Role {
        Role::Follower(FollowerState::default())
    }

    fn candidate() -> Role {
        Role::Candidate(CandidateState::default())
    }

    fn voted(term: u64, candidate: u32) -> RaftObs {
        RaftObs::Voted {
            term: Term(term),
            candidate: NodeId(candidate),
        }
    }

    fn written(from: u64) -> RaftObs {
        RaftObs::LogWritten(LogIndex(from))
    }

    fn committed(index: u64) -> RaftObs {
        RaftObs::Committed(LogIndex(index))
    }

    fn applied(index: u64, entry: Entry) -> RaftObs {
        RaftObs::Applied {
            index: LogIndex(index),
            entry,
        }
    }

    fn heartbeat(term: u64) -> RaftMsg {
        RaftMsg::AppendEntries {
            term: Term(term),
            prev_log_index: LogIndex(0),
            prev_log_term: Term(0),
            entries: Rc::from(Vec::new()),
            leader_commit: LogIndex(0),
        }
    }

    impl History {
        /// Every server freshly booted, with an empty log in term 0.
        fn new() -> History {
            let raft = Raft::new(3, 1);
            let servers: Vec<NodeId> = (0..3).map(NodeId).collect();
            let settings = Rc::new(raft.settings.clone());
            let mut nodes = SortedMap::new();
            for &s in &servers {
                nodes.insert(s, RaftNode::server(s, &servers, settings.clone()));
            }
            let client = RaftNode::client(NodeId(CLIENT), &servers, &raft.settings);
            nodes.insert(NodeId(CLIENT), client);
            let shared = Rc::new(RefCell::new(Shared {
                checker: RaftChecker::new(),
                nodes,
            }));
            let mut h = History {
                world: World::new(raft, WorldConfig::with_seed(1)),
                checkers: Checkers::new(vec![Box::new(Probe(shared.clone()))]),
                shared,
                step: 0,
            };
            for n in 0..3 {
                assert!(h.boot(n).is_empty());
            }
            h
        }

        /// One step of `node`, handling `event`, with these effects: the
        /// rules it broke.
        fn step(
            &mut self,
            node: u32,
            event: StepEvent<RaftNode>,
            obs: Vec<RaftObs>,
            sends: Vec<(u32, RaftMsg)>,
        ) -> Vec<&'static str> {
            let mut out = sim::Out::new();
            for (to, m) in sends {
                out.send(NodeId(to), m);
            }
            for o in obs {
                out.observe(o);
            }
            let record = StepRecord {
                step: self.step,
                time: Time(self.step * 1_000),
                event,
                node: Some(NodeId(node)),
                out,
                sent: Vec::new(),
                timers_set: Vec::new(),
            };
            self.step += 1;
            let before = self.checkers.violations().len();
            self.checkers.observe(&record, &self.world);
            self.checkers.violations()[before..]
                .iter()
                .map(|v| v.rule)
                .collect()
        }

        /// What every violation so far says, in order.
        fn messages(&self) -> Vec<String> {
            let found = self.checkers.violations().iter();
            found.map(|v| v.message.clone()).collect()
        }

        /// Server `n` is now in `term`, holds `entries` and plays `role`.
        fn set(&mut self, n: u32, term: u64, entries: &[Entry], role: Role) {
            let mut shared = self.shared.borrow_mut();
            let RaftNode::Server(server) = shared.nodes.get_mut(&NodeId(n)).expect("a node") else {
                panic!("n{} is not a server", n + 1);
            };
            server.set_state(Term(term), log(entries), role);
        }

        /// A step of server `n` (a timer, say) that reports `obs`.
        fn report(&mut self, n: u32, obs: Vec<RaftObs>) -> Vec<&'static str> {
            let timer = StepEvent::Timer {
                node: NodeId(n),
                timer: RaftTimer::Heartbeat,
            };
            self.step(n, timer, obs, Vec::new())
        }

        /// Server `n` ends a step in this state, reporting `obs`.
        fn server(
            &mut self,
            n: u32,
            (term, entries, role): (u64, &[Entry], Role),
            obs: Vec<RaftObs>,
        ) -> Vec<&'static str> {
            self.set(n, term, entries, role);
            self.report(n, obs)
        }

        /// Server `n` boots for the first time, in the state it was set to.
        fn boot(&mut self, n: u32) -> Vec<&'static str> {
            self.step(n, StepEvent::Start(NodeId(n)), Vec::new(), Vec::new())
        }

        /// Server `n` restarts from what it holds now.
        fn restart(&mut self, n: u32) -> Vec<&'static str> {
            let input = StepEvent::Input(Input::Restart(NodeId(n)));
            self.step(n, input, Vec::new(), Vec::new())
        }

        /// The client's request `r` goes out, in a step of its own.
        fn invoke(&mut self, r: u64, op: KvOp) -> Vec<&'static str> {
            let invoked = RaftObs::Invoked {
                request: RequestId(r),
                op,
            };
            let retry = StepEvent::Timer {
                node: NodeId(CLIENT),
                timer: RaftTimer::ClientRetry,
            };
            self.step(CLIENT, retry, vec![invoked], Vec::new())
        }

        /// The answer to the client's request `r` arrives, in a step of
        /// its own.
        fn complete(&mut self, r: u64, result: &str) -> Vec<&'static str> {
            let completed = RaftObs::Completed {
                request: RequestId(r),
                result: result.into(),
            };
            let retry = StepEvent::Timer {
                node: NodeId(CLIENT),
                timer: RaftTimer::ClientRetry,
            };
            self.step(CLIENT, retry, vec![completed], Vec::new())
        }

        /// The run so far: n1 wins term 1 with n2's vote, writes its no-op
        /// and then `put(x, a)` to every server, commits both and applies
        /// them, as do n2 and n3; the client saw `put(x, a)` answered.
        fn elected_and_replicated() -> History {
            let mut h = History::new();
            let noop_a = [e(1, "noop"), e(1, "a")];
            assert!(h
                .server(0, (1, &[], candidate()), vec![voted(1, 0)])
                .is_empty());
            assert!(h
                .server(1, (1, &[], follower()), vec![voted(1, 0)])
                .is_empty());
            assert!(h
                .server(0, (1, &[], leader()), vec![RaftObs::BecameLeader(Term(1))])
                .is_empty());
            assert!(h
                .server(0, (1, &noop_a[..1], leader()), vec![written(1)])
                .is_empty());
            assert!(h.invoke(1, put("a")).is_empty());
            assert!(h
                .server(0, (1, &noop_a, leader()), vec![written(2)])
                .is_empty());
            for n in [1, 2] {
                assert!(h
                    .server(n, (1, &noop_a, follower()), vec![written(1)])
                    .is_empty());
            }
            let done = vec![
                committed(2),
                applied(1, e(1, "noop")),
                applied(2, e(1, "a")),
            ];
            assert!(h.server(0, (1, &noop_a, leader()), done.clone()).is_empty());
            assert!(h.complete(1, "a").is_empty());
            for n in [1, 2] {
                assert!(h
                    .server(n, (1, &noop_a, follower()), done.clone())
                    .is_empty());
            }
            h
        }
    }

    #[test]
    fn a_clean_history_breaks_no_rule() {
        let mut h = History::elected_and_replicated();
        // A heartbeat of the leader's own term; a crash and a restart that
        // keep the log; the client reads what it wrote.
        let sends = vec![(1, heartbeat(1)), (2, heartbeat(1))];
        let timer = StepEvent::Timer {
            node: NodeId(0),
            timer: RaftTimer::Heartbeat,
        };
        assert!(h.step(0, timer, Vec::new(), sends).is_empty());
        assert!(h.restart(2).is_empty());
        let noop_a = [e(1, "noop"), e(1, "a")];
        let reapplied = vec![applied(1, e(1, "noop")), applied(2, e(1, "a"))];
        assert!(h.server(2, (1, &noop_a, follower()), reapplied).is_empty());
        assert!(h.invoke(2, get()).is_empty());
        assert!(h.complete(2, "a").is_empty());
        // A new leader of a later term that holds every committed entry.
        assert!(h
            .server(1, (2, &noop_a, candidate()), vec![voted(2, 1)])
            .is_empty());
        assert!(h
            .server(2, (2, &noop_a, follower()), vec![voted(2, 1)])
            .is_empty());
        assert!(h
            .server(
                1,
                (2, &noop_a, leader()),
                vec![RaftObs::BecameLeader(Term(2))]
            )
            .is_empty());
        assert!(h.checkers.violations().is_empty());
        assert!(Checker::<Raft>::undecided(&h.shared.borrow().checker).is_empty());
    }

    #[test]
    fn a_second_leader_in_one_term_breaks_r1() {
        let mut h = History::elected_and_replicated();
        let noop_a = [e(1, "noop"), e(1, "a")];
        let elected = vec![RaftObs::BecameLeader(Term(1))];
        assert_eq!(h.server(1, (1, &noop_a, leader()), elected), ["R1"]);
    }

    #[test]
    fn a_leader_that_deletes_its_own_entries_breaks_r2() {
        let mut h = History::elected_and_replicated();
        let noop = [e(1, "noop")];
        assert_eq!(h.server(0, (1, &noop, leader()), vec![written(2)]), ["R2"]);
    }

    #[test]
    fn a_leader_that_overwrites_an_entry_of_an_earlier_term_breaks_r2() {
        let mut h = History::elected_and_replicated();
        let noop_a = [e(1, "noop"), e(1, "a")];
        assert!(h
            .server(1, (2, &noop_a, candidate()), vec![voted(2, 1)])
            .is_empty());
        let elected = vec![RaftObs::BecameLeader(Term(2))];
        assert!(h.server(1, (2, &noop_a, leader()), elected).is_empty());
        // Index 2 held term 1's `put(x, a)`; no other log holds an entry of
        // term 2 there yet, so only R2 can see the overwrite.
        let rewritten = [e(1, "noop"), e(2, "b")];
        assert_eq!(
            h.server(1, (2, &rewritten, leader()), vec![written(2)]),
            ["R2"]
        );
    }

    #[test]
    fn a_leader_that_overwrites_an_entry_of_its_own_term_breaks_r2_and_r3() {
        let mut h = History::elected_and_replicated();
        // The old and the new entry at index 2 are both of term 1, and the
        // followers still hold the old one: one write breaks append-only
        // (R2) and makes two different logs agree on (index 2, term 1) (R3).
        let rewritten = [e(1, "noop"), e(1, "b")];
        assert_eq!(
            h.server(0, (1, &rewritten, leader()), vec![written(2)]),
            ["R2", "R3"]
        );
    }

    #[test]
    fn two_logs_that_share_an_entry_but_not_its_prefix_break_r3() {
        let mut h = History::new();
        // n2 and n3 hold the same entry (index 2, term 3) after different
        // first entries. The first entries have different terms, so only
        // index 2 is a shared (index, term).
        let first = [e(1, "a"), e(3, "c")];
        assert!(h
            .server(1, (3, &first, follower()), vec![written(1)])
            .is_empty());
        let second = [e(2, "b"), e(3, "c")];
        assert_eq!(
            h.server(2, (3, &second, follower()), vec![written(1)]),
            ["R3"]
        );
        assert_eq!(
            h.messages(),
            ["n2 and n3 both hold an entry of term 3 at index 2, but their logs differ up to there"]
        );
        // Reported once: n1 then joins n3's history.
        assert!(h
            .server(0, (3, &second, follower()), vec![written(1)])
            .is_empty());
    }

    #[test]
    fn a_leader_elected_without_a_committed_entry_breaks_r4() {
        let mut h = History::elected_and_replicated();
        // n3 loses index 2 (a follower's truncation is no rule by itself),
        // then is elected in term 2 without it.
        let noop = [e(1, "noop")];
        assert!(h
            .server(2, (1, &noop, follower()), vec![written(2)])
            .is_empty());
        assert!(h
            .server(2, (2, &noop, candidate()), vec![voted(2, 2)])
            .is_empty());
        let elected = vec![RaftObs::BecameLeader(Term(2))];
        assert_eq!(h.server(2, (2, &noop, leader()), elected), ["R4"]);
    }

    #[test]
    fn a_commit_that_a_leader_of_a_later_term_does_not_hold_breaks_r4() {
        let mut h = History::elected_and_replicated();
        // n3 leads term 2 with both committed entries; the old leader n1,
        // still in term 1, then commits a third entry that n3 lacks.
        let noop_a = [e(1, "noop"), e(1, "a")];
        assert!(h
            .server(2, (2, &noop_a, candidate()), vec![voted(2, 2)])
            .is_empty());
        let elected = vec![RaftObs::BecameLeader(Term(2))];
        assert!(h.server(2, (2, &noop_a, leader()), elected).is_empty());
        let four = [e(1, "noop"), e(1, "a"), e(1, "b"), e(1, "c")];
        assert!(h
            .server(0, (1, &four, leader()), vec![written(3)])
            .is_empty());
        assert!(h
            .server(1, (1, &four, follower()), vec![written(3)])
            .is_empty());
        // Two entries committed at once: the newest is the one checked.
        assert_eq!(
            h.server(0, (1, &four, leader()), vec![committed(4)]),
            ["R4"]
        );
        assert_eq!(
            h.messages().last().unwrap(),
            "the entry at index 4 was committed in term 1, but n3, leader of the later term 2, does not hold it"
        );
        // n2 learning the same commit adds nothing new to check.
        assert!(h
            .server(1, (1, &four, follower()), vec![committed(4)])
            .is_empty());
        // One more entry, committed alone, that n3 lacks too.
        let five = [&four[..], &[e(1, "d")]].concat();
        assert!(h
            .server(0, (1, &five, leader()), vec![written(5)])
            .is_empty());
        assert_eq!(
            h.server(0, (1, &five, leader()), vec![committed(5)]),
            ["R4"]
        );
    }

    #[test]
    fn a_commit_that_a_past_leader_of_a_later_term_did_not_hold_breaks_r4() {
        let mut h = History::elected_and_replicated();
        // n3 leads term 2 with both committed entries, then steps down
        // within term 2 (as CheckQuorum makes a leader do); n1, still the
        // leader of term 1, writes a third entry, commits it with n2, and
        // no server leads a later term any more.
        let noop_a = [e(1, "noop"), e(1, "a")];
        assert!(h
            .server(2, (2, &noop_a, candidate()), vec![voted(2, 2)])
            .is_empty());
        let elected = vec![RaftObs::BecameLeader(Term(2))];
        assert!(h.server(2, (2, &noop_a, leader()), elected).is_empty());
        assert!(h.server(2, (2, &noop_a, follower()), Vec::new()).is_empty());
        let three = [e(1, "noop"), e(1, "a"), e(1, "b")];
        assert!(h
            .server(0, (1, &three, leader()), vec![written(3)])
            .is_empty());
        assert!(h
            .server(1, (1, &three, follower()), vec![written(3)])
            .is_empty());
        assert_eq!(
            h.server(0, (1, &three, leader()), vec![committed(3)]),
            ["R4"]
        );
        assert_eq!(
            h.messages().last().unwrap(),
            "the entry at index 3 was committed in term 1, but n3, leader of the later term 2, did not hold it while it led"
        );
    }

    #[test]
    fn a_past_leader_that_held_the_committed_entry_breaks_nothing() {
        let mut h = History::elected_and_replicated();
        // n3 leads term 2 holding a third entry of term 1 and steps down;
        // the commit of that entry, learned in term 1, is one n3 held.
        let three = [e(1, "noop"), e(1, "a"), e(1, "b")];
        assert!(h
            .server(2, (1, &three, follower()), vec![written(3)])
            .is_empty());
        assert!(h
            .server(2, (2, &three, candidate()), vec![voted(2, 2)])
            .is_empty());
        let elected = vec![RaftObs::BecameLeader(Term(2))];
        assert!(h.server(2, (2, &three, leader()), elected).is_empty());
        assert!(h.server(2, (2, &three, follower()), Vec::new()).is_empty());
        assert!(h
            .server(0, (1, &three, leader()), vec![written(3)])
            .is_empty());
        assert!(h
            .server(0, (1, &three, leader()), vec![committed(3)])
            .is_empty());
    }

    #[test]
    fn applying_out_of_order_or_a_different_command_breaks_r5() {
        let mut h = History::elected_and_replicated();
        let noop_a = [e(1, "noop"), e(1, "a")];
        assert!(h.restart(1).is_empty());
        // After its restart n2 applies from index 1 again: index 2 first is a gap.
        assert_eq!(
            h.server(1, (1, &noop_a, follower()), vec![applied(2, e(1, "a"))]),
            ["R5"]
        );
        // n3 applies, at index 1 again after a restart, another command
        // than everyone else applied there.
        assert!(h.restart(2).is_empty());
        assert_eq!(
            h.server(2, (1, &noop_a, follower()), vec![applied(1, e(1, "b"))]),
            ["R5"]
        );
    }

    #[test]
    fn a_restart_that_loses_the_log_breaks_r6() {
        let mut h = History::elected_and_replicated();
        h.set(1, 1, &[], follower());
        assert_eq!(h.restart(1), ["R6"]);
    }

    #[test]
    fn a_term_that_goes_back_breaks_r6() {
        let mut h = History::elected_and_replicated();
        let noop_a = [e(1, "noop"), e(1, "a")];
        assert_eq!(h.server(1, (0, &noop_a, follower()), Vec::new()), ["R6"]);
    }

    #[test]
    fn two_votes_in_one_term_break_r6() {
        let mut h = History::elected_and_replicated();
        let noop_a = [e(1, "noop"), e(1, "a")];
        assert!(h
            .server(1, (2, &noop_a, follower()), vec![voted(2, 0)])
            .is_empty());
        assert_eq!(
            h.server(1, (2, &noop_a, follower()), vec![voted(2, 2)]),
            ["R6"]
        );
    }

    #[test]
    fn a_message_with_a_term_above_the_senders_breaks_r7() {
        let mut h = History::elected_and_replicated();
        let timer = StepEvent::Timer {
            node: NodeId(0),
            timer: RaftTimer::Heartbeat,
        };
        let sends = vec![(1, heartbeat(1)), (2, heartbeat(2))];
        assert_eq!(h.step(0, timer, Vec::new(), sends), ["R7"]);
    }

    #[test]
    fn a_read_that_misses_an_acknowledged_write_breaks_r8() {
        let mut h = History::elected_and_replicated();
        // `put(x, a)` was answered before `get(x)` was invoked, in an
        // earlier step, yet the read does not see it.
        assert!(h.invoke(2, get()).is_empty());
        assert_eq!(h.complete(2, ""), ["R8"]);
        // A key found not linearizable is reported once.
        assert!(h.invoke(3, get()).is_empty());
        assert!(h.complete(3, "").is_empty());
    }

    #[test]
    fn the_checker_lists_every_rule_in_order() {
        let ids: Vec<&str> = Checker::<Raft>::rules(&RaftChecker::new())
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, ["R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8"]);
    }
}
