//! Paxos's safety checker: rules P1 to P7 of `docs/checkers.md`, and P8, the
//! clients' linearizability in Multi-Paxos, from its own history.
//!
//! Like Lamport's Voting.tla, the checker keeps every vote ever cast, as
//! (slot, ballot, value) with the set of acceptors that cast it, and derives
//! "chosen" from that record alone: a value is chosen in a slot once a
//! majority of acceptors voted for it in one ballot. It never asks a node
//! what was chosen; what learners say they learned is checked against the
//! record (P3). It also keeps every promise with the votes it reported, so
//! that it can check that each Accept was justified (P6).

use sim::sorted::{SortedMap, SortedSet};

use sim::{
    Checker, Input, NodeId, Report, Rule, StepEvent, StepRecord, Undecided, Violation, World,
};

use super::msg::{show_ballot, Ballot, Slot, Value, Vote};
use super::node::{PaxosNode, PaxosObs};
use super::{Mode, PaxosLike};
use crate::kv::{KvOp, RequestId};
use crate::linearizability::Tracker;

/// The safety rules, in order.
pub const RULES: &[Rule] = &[
    Rule {
        id: "P1",
        name: "Agreement",
        description: "At most one value is chosen in each slot, where chosen means a majority of acceptors voted for it in one ballot.",
    },
    Rule {
        id: "P2",
        name: "Validity",
        description: "A chosen value was proposed: handed to a proposer, sent by a client, or a leader's no-op.",
    },
    Rule {
        id: "P3",
        name: "Learner integrity",
        description: "No server learns or executes a value as chosen unless a majority of acceptors voted for it in one ballot.",
    },
    Rule {
        id: "P4",
        name: "One value per ballot",
        description: "Every Accept of one ballot in one slot carries the same value.",
    },
    Rule {
        id: "P5",
        name: "Acceptor monotonicity",
        description: "An acceptor's promised ballot never decreases, also across a restart, and it never accepts below its promise.",
    },
    Rule {
        id: "P6",
        name: "Phase-2 justification",
        description: "An Accept(b, v) for a slot is backed by promises for b from a majority, each covering that slot, in which v is the highest-ballot accepted value, or none was accepted.",
    },
    Rule {
        id: "P7",
        name: "Multi-Paxos log",
        description: "Slots execute in order without holes, holes are filled only by no-ops, and each client command executes at most once.",
    },
    Rule {
        id: "P8",
        name: "Linearizability",
        description: "Every key's client history is explained by one order of its operations, each taking effect between its call and its answer.",
    },
];

/// The liveness checks, which the seed sweep runs after healing (see
/// `sweep.rs`); named here so that the app and the sweep say the same.
pub const LIVENESS: &[Rule] = &[
    Rule {
        id: "L1",
        name: "Progress",
        description: "Once a majority can talk again, a value is chosen and every server of that majority learns it (single-decree).",
    },
    Rule {
        id: "L2",
        name: "Leadership and execution",
        description: "Once a majority can talk again, one leader holds for a while, no server of that majority has learned a slot above one it has not learned (a hole that stops execution), and every command a client saw answered is executed on every server of that majority (Multi-Paxos).",
    },
];

/// The promises made for one (proposer, ballot): each acceptor's first
/// slot covered and the votes it reported.
type Promises = SortedMap<NodeId, (Slot, Vec<Vote>)>;

/// What the checker needs to know of a node besides its observations.
#[derive(Clone, Copy, Debug)]
enum Facts {
    Client,
    Server { promised: Option<Ballot> },
}

/// The violations found in one step: (rule, nodes, sentence).
#[derive(Debug, Default)]
struct Findings(Vec<(&'static str, Vec<NodeId>, String)>);

impl Findings {
    fn violation(&mut self, rule: &'static str, nodes: &[NodeId], message: impl Into<String>) {
        self.0.push((rule, nodes.to_vec(), message.into()));
    }
}

/// Checks P1 to P8.
#[derive(Clone, Debug)]
pub struct PaxosChecker {
    mode: Mode,
    majority: usize,
    /// The highest ballot each acceptor has promised or voted in.
    promised: SortedMap<NodeId, Ballot>,
    /// Promises by (proposer, ballot): each acceptor's first slot and votes.
    promises: SortedMap<(NodeId, Ballot), Promises>,
    /// The value of every (slot, ballot) proposed, and by whom.
    proposed: SortedMap<(Slot, Ballot), (Value, NodeId)>,
    /// Every vote ever cast.
    votes: SortedMap<(Slot, Ballot, Value), SortedSet<NodeId>>,
    /// What the record says is chosen, per slot, with the ballot.
    chosen: SortedMap<Slot, Vec<(Value, Ballot)>>,
    /// Values handed to proposers.
    wanted: SortedSet<Value>,
    /// Client commands invoked.
    invoked: SortedSet<(NodeId, RequestId, KvOp)>,
    /// The last slot each server executed since it started.
    executed: SortedMap<NodeId, Slot>,
    /// The client commands each server executed since it started.
    fresh: SortedMap<NodeId, SortedSet<(NodeId, RequestId)>>,
    history: Tracker,
    /// (slot, ballot) pairs already reported under P6, to report each once.
    unjustified: SortedSet<(Slot, Ballot)>,
}

impl PaxosChecker {
    /// A checker for `servers` acceptors in `mode`, with an empty history.
    pub fn new(servers: usize, mode: Mode) -> PaxosChecker {
        PaxosChecker {
            mode,
            majority: servers / 2 + 1,
            promised: SortedMap::new(),
            promises: SortedMap::new(),
            proposed: SortedMap::new(),
            votes: SortedMap::new(),
            chosen: SortedMap::new(),
            wanted: SortedSet::new(),
            invoked: SortedSet::new(),
            executed: SortedMap::new(),
            fresh: SortedMap::new(),
            history: Tracker::default(),
            unjustified: SortedSet::new(),
        }
    }

    /// The checker for a protocol value.
    pub fn for_protocol<P: PaxosLike>(p: &P) -> PaxosChecker {
        let paxos = p.paxos();
        let mut checker = PaxosChecker::new(paxos.settings.servers, paxos.mode());
        checker.history = Tracker::with_steps(paxos.check_steps);
        checker
    }

    /// What the vote record says is chosen, per slot (more than one value
    /// in a slot only if P1 broke).
    pub fn chosen(&self) -> &SortedMap<Slot, Vec<(Value, Ballot)>> {
        &self.chosen
    }

    fn is_chosen(&self, slot: Slot, value: &Value) -> bool {
        self.chosen
            .get(&slot)
            .is_some_and(|c| c.iter().any(|(v, _)| v == value))
    }

    fn valid(&self, value: &Value) -> bool {
        match value {
            Value::Noop => self.mode == Mode::Multi,
            Value::Text(_) => self.wanted.contains(value),
            Value::Command {
                client,
                request,
                op,
            } => self.invoked.contains(&(*client, *request, op.clone())),
        }
    }

    fn on_voted(
        &mut self,
        n: NodeId,
        slot: Slot,
        ballot: Ballot,
        value: &Value,
        report: &mut Findings,
    ) {
        if let Some(&p) = self.promised.get(&n) {
            if ballot < p {
                report.violation(
                    "P5",
                    &[n],
                    format!("{n} accepted ballot {ballot} in slot {slot}, below the ballot {p} it had promised"),
                );
            }
        }
        let p = self.promised.entry(n).or_insert(ballot);
        *p = (*p).max(ballot);
        let voters = self.votes.entry((slot, ballot, value.clone())).or_default();
        voters.insert(n);
        if voters.len() != self.majority {
            return;
        }
        let by: Vec<NodeId> = voters.iter().copied().collect();
        let names: Vec<String> = by.iter().map(|n| n.to_string()).collect();
        let earlier = self.chosen.entry(slot).or_default();
        if earlier.iter().any(|(v, _)| v == value) {
            earlier.push((value.clone(), ballot));
            return;
        }
        if let Some((other, b)) = earlier.first().cloned() {
            report.violation(
                "P1",
                &by,
                format!(
                    "{value} is chosen in slot {slot} by {} in ballot {ballot}, but {other} was already chosen there in ballot {b}",
                    names.join(", ")
                ),
            );
        }
        earlier.push((value.clone(), ballot));
        if !self.valid(value) {
            report.violation(
                "P2",
                &by,
                format!("{value} is chosen in slot {slot}, but nobody proposed it"),
            );
        }
    }

    fn on_proposed(
        &mut self,
        n: NodeId,
        slot: Slot,
        ballot: Ballot,
        value: &Value,
        quorum: &[NodeId],
        report: &mut Findings,
    ) {
        match self.proposed.get(&(slot, ballot)) {
            Some((other, by)) if other != value => {
                report.violation(
                    "P4",
                    &[*by, n],
                    format!(
                        "ballot {ballot} carries two values in slot {slot}: {other} from {by} and {value} from {n}"
                    ),
                );
            }
            Some(_) => {}
            None => {
                self.proposed.insert((slot, ballot), (value.clone(), n));
            }
        }
        if self.unjustified.contains(&(slot, ballot)) {
            return;
        }
        let promises = self.promises.get(&(n, ballot));
        let mut members = Vec::new();
        for q in quorum {
            match promises.and_then(|p| p.get(q)) {
                Some(p) => members.push(p),
                None => {
                    self.unjustified.insert((slot, ballot));
                    report.violation(
                        "P6",
                        &[n, *q],
                        format!(
                            "{n} counts a promise from {q} for ballot {ballot} that {q} never made"
                        ),
                    );
                    return;
                }
            }
        }
        if quorum.len() < self.majority {
            self.unjustified.insert((slot, ballot));
            report.violation(
                "P6",
                &[n],
                format!(
                    "{n} sends Accept({ballot}, {value}) for slot {slot} on promises from only {} acceptor(s), fewer than a majority ({})",
                    quorum.len(),
                    self.majority
                ),
            );
            return;
        }
        // A promise covers the slots from its first one on: one made for a
        // prepare from a later slot says nothing of this slot's votes, so
        // it cannot count towards this slot's majority.
        let covering: Vec<&&(Slot, Vec<Vote>)> =
            members.iter().filter(|(from, _)| *from <= slot).collect();
        if covering.len() < self.majority {
            self.unjustified.insert((slot, ballot));
            report.violation(
                "P6",
                &[n],
                format!(
                    "{n} sends Accept({ballot}, {value}) for slot {slot}, but only {} of the promises it counts cover that slot, fewer than a majority ({})",
                    covering.len(),
                    self.majority
                ),
            );
            return;
        }
        let reported: Vec<&Vote> = covering
            .iter()
            .flat_map(|(_, votes)| votes.iter().filter(|v| v.slot == slot))
            .collect();
        match reported.iter().map(|v| v.ballot).max() {
            Some(top) => {
                let allowed: Vec<&Value> = reported
                    .iter()
                    .filter(|v| v.ballot == top)
                    .map(|v| &v.value)
                    .collect();
                if !allowed.contains(&value) {
                    self.unjustified.insert((slot, ballot));
                    report.violation(
                        "P6",
                        &[n],
                        format!(
                            "{n} sends Accept({ballot}, {value}) for slot {slot}, but the highest-ballot value its promises reported is {} (ballot {top})",
                            allowed[0]
                        ),
                    );
                }
            }
            None => {
                let hole = covering
                    .iter()
                    .flat_map(|(_, votes)| votes.iter())
                    .any(|v| v.slot > slot);
                if self.mode == Mode::Multi && hole && *value != Value::Noop {
                    report.violation(
                        "P7",
                        &[n],
                        format!("slot {slot} is a hole below slots its promises reported, and {n} fills it with {value} instead of a no-op"),
                    );
                }
            }
        }
    }

    fn on_executed(
        &mut self,
        n: NodeId,
        slot: Slot,
        value: &Value,
        fresh: bool,
        report: &mut Findings,
    ) {
        let last = self.executed.entry(n).or_default();
        if slot != last.next() {
            report.violation(
                "P7",
                &[n],
                format!("{n} executed slot {slot} right after slot {last}"),
            );
        }
        *last = slot;
        if !self.is_chosen(slot, value) {
            report.violation(
                "P3",
                &[n],
                format!("{n} executed {value} in slot {slot}, but the votes never chose it there"),
            );
        }
        if let (
            true,
            Value::Command {
                client, request, ..
            },
        ) = (fresh, value)
        {
            if !self.fresh.entry(n).or_default().insert((*client, *request)) {
                report.violation(
                    "P7",
                    &[n, *client],
                    format!("{n} executed {value} a second time, in slot {slot}"),
                );
            }
        }
    }

    /// Checks one step of node `n`: what it observed, and (for a server)
    /// its promise after the step. `restarted` says the step rebuilt the
    /// server from stable storage (a first boot or a restart).
    fn observe_node(
        &mut self,
        n: NodeId,
        node: Facts,
        restarted: bool,
        observations: &[PaxosObs],
        step: u64,
        report: &mut Findings,
    ) {
        let promised_now = match node {
            Facts::Client => {
                for obs in observations {
                    match obs {
                        PaxosObs::Invoked { request, op } => {
                            self.invoked.insert((n, *request, op.clone()));
                            self.history.invoke(n, *request, op, step);
                        }
                        PaxosObs::Completed { request, result } => {
                            if let Some(text) = self.history.complete(n, *request, result, step) {
                                report.violation("P8", &[n], text);
                            }
                        }
                        _ => {}
                    }
                }
                return;
            }
            Facts::Server { promised } => promised,
        };
        if restarted {
            self.executed.remove(&n);
            self.fresh.remove(&n);
        }
        for obs in observations {
            match obs {
                PaxosObs::Wants(v) => {
                    self.wanted.insert(v.clone());
                }
                PaxosObs::Promised {
                    to,
                    ballot,
                    from,
                    votes,
                } => {
                    let p = self.promised.entry(n).or_insert(*ballot);
                    *p = (*p).max(*ballot);
                    self.promises
                        .entry((*to, *ballot))
                        .or_default()
                        .insert(n, (*from, votes.clone()));
                }
                PaxosObs::Voted {
                    slot,
                    ballot,
                    value,
                } => self.on_voted(n, *slot, *ballot, value, report),
                PaxosObs::Proposed {
                    slot,
                    ballot,
                    value,
                    quorum,
                } => self.on_proposed(n, *slot, *ballot, value, quorum, report),
                PaxosObs::Learned { slot, value } => {
                    if !self.is_chosen(*slot, value) {
                        report.violation(
                            "P3",
                            &[n],
                            format!("{n} learned that {value} is chosen in slot {slot}, but no majority of acceptors voted for it in one ballot"),
                        );
                    }
                }
                PaxosObs::Executed { slot, value, fresh } => {
                    self.on_executed(n, *slot, value, *fresh, report)
                }
                PaxosObs::Invoked { .. } | PaxosObs::Completed { .. } => {}
            }
        }
        if let Some(&max) = self.promised.get(&n) {
            if promised_now < Some(max) {
                let when = if restarted { " after a restart" } else { "" };
                report.violation(
                    "P5",
                    &[n],
                    format!(
                        "{n}'s promised ballot went back from {max} to {}{when}",
                        show_ballot(promised_now)
                    ),
                );
                // Report each fall once: measure from where it fell to.
                match promised_now {
                    Some(p) => self.promised.insert(n, p),
                    None => self.promised.remove(&n),
                };
            }
        }
        if let Some(p) = promised_now {
            let max = self.promised.entry(n).or_insert(p);
            *max = (*max).max(p);
        }
    }
}

impl<P: PaxosLike> Checker<P> for PaxosChecker {
    fn rules(&self) -> &'static [Rule] {
        RULES
    }

    fn undecided(&self) -> Vec<Undecided> {
        self.history.undecided_rule("P8")
    }

    fn finish(&mut self, world: &World<P>) -> Vec<Violation> {
        self.history
            .finish_violations("P8", world.steps(), world.now())
    }

    fn observe(
        &mut self,
        record: &StepRecord<PaxosNode>,
        world: &World<P>,
        report: &mut Report<'_>,
    ) {
        let Some(n) = record.node else { return };
        let facts = match world.node(n) {
            None => return,
            Some(PaxosNode::Client(_)) => Facts::Client,
            Some(PaxosNode::Server(s)) => Facts::Server {
                promised: s.promised(),
            },
        };
        // A first boot and a restart both rebuild the server from its stable
        // storage, and its state machine from scratch.
        let restarted = matches!(
            record.event,
            StepEvent::Start(_) | StepEvent::Input(Input::Restart(_))
        );
        let mut findings = Findings::default();
        self.observe_node(
            n,
            facts,
            restarted,
            record.out.observations(),
            record.step,
            &mut findings,
        );
        for (rule, nodes, message) in findings.0 {
            report.violation(rule, &nodes, message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::KvOp;

    fn b(round: u64, by: u32) -> Ballot {
        Ballot {
            round,
            by: Some(NodeId(by)),
        }
    }

    fn text(v: &str) -> Value {
        Value::Text(v.into())
    }

    /// One step of server `n` reporting `obs` with promise `promised`
    /// after it: the rules it broke.
    fn step(
        c: &mut PaxosChecker,
        n: u32,
        promised: Option<Ballot>,
        obs: Vec<PaxosObs>,
    ) -> Vec<&'static str> {
        let mut f = Findings::default();
        c.observe_node(
            NodeId(n),
            Facts::Server { promised },
            false,
            &obs,
            0,
            &mut f,
        );
        f.0.iter().map(|(r, _, _)| *r).collect()
    }

    fn voted(slot: u64, ballot: Ballot, value: Value) -> PaxosObs {
        PaxosObs::Voted {
            slot: Slot(slot),
            ballot,
            value,
        }
    }

    fn learned(slot: u64, value: Value) -> PaxosObs {
        PaxosObs::Learned {
            slot: Slot(slot),
            value,
        }
    }

    #[test]
    fn chosen_means_a_majority_in_one_ballot_and_learners_are_held_to_it() {
        let mut c = PaxosChecker::new(3, Mode::Single);
        assert!(step(&mut c, 0, None, vec![PaxosObs::Wants(text("v1"))]).is_empty());
        // Two votes for "v1", but in different ballots: nothing is chosen.
        assert!(step(
            &mut c,
            0,
            Some(b(1, 0)),
            vec![voted(1, b(1, 0), text("v1"))]
        )
        .is_empty());
        assert!(step(
            &mut c,
            1,
            Some(b(2, 2)),
            vec![voted(1, b(2, 2), text("v1"))]
        )
        .is_empty());
        assert_eq!(step(&mut c, 2, None, vec![learned(1, text("v1"))]), ["P3"]);
        assert!(c.chosen().is_empty());
        // A second vote in ballot 2.n3 makes a majority.
        assert!(step(
            &mut c,
            2,
            Some(b(2, 2)),
            vec![voted(1, b(2, 2), text("v1"))]
        )
        .is_empty());
        assert_eq!(c.chosen()[&Slot(1)], vec![(text("v1"), b(2, 2))]);
        assert!(step(&mut c, 2, Some(b(2, 2)), vec![learned(1, text("v1"))]).is_empty());
        // A value nobody proposed, chosen later in a higher ballot: P1 and P2.
        assert!(step(&mut c, 0, Some(b(3, 0)), vec![voted(1, b(3, 0), text("x"))]).is_empty());
        assert_eq!(
            step(&mut c, 1, Some(b(3, 0)), vec![voted(1, b(3, 0), text("x"))]),
            ["P1", "P2"]
        );
    }

    #[test]
    fn an_accept_must_carry_the_highest_ballot_value_of_a_majority_of_promises() {
        let mut c = PaxosChecker::new(3, Mode::Single);
        let promise = |votes: Vec<Vote>| PaxosObs::Promised {
            to: NodeId(0),
            ballot: b(3, 0),
            from: Slot(1),
            votes,
        };
        let vote = |ballot, v: &str| Vote {
            slot: Slot(1),
            ballot,
            value: text(v),
        };
        let proposed = |v: &str, quorum: &[u32]| PaxosObs::Proposed {
            slot: Slot(1),
            ballot: b(3, 0),
            value: text(v),
            quorum: quorum.iter().map(|&q| NodeId(q)).collect(),
        };
        step(
            &mut c,
            1,
            Some(b(3, 0)),
            vec![promise(vec![vote(b(1, 0), "old")])],
        );
        step(
            &mut c,
            2,
            Some(b(3, 0)),
            vec![promise(vec![vote(b(2, 1), "new")])],
        );
        let mut fresh = c.clone();
        assert!(step(&mut fresh, 0, None, vec![proposed("new", &[1, 2])]).is_empty());
        let mut fresh = c.clone();
        assert_eq!(
            step(&mut fresh, 0, None, vec![proposed("old", &[1, 2])]),
            ["P6"]
        );
        // One promise is not a majority; a promise never made counts for nothing.
        let mut fresh = c.clone();
        assert_eq!(
            step(&mut fresh, 0, None, vec![proposed("mine", &[2])]),
            ["P6"]
        );
        let mut fresh = c.clone();
        assert_eq!(
            step(&mut fresh, 0, None, vec![proposed("new", &[0, 2])]),
            ["P6"]
        );
        // A second value in the same ballot, from n2 (whose quorum never
        // promised it anything): P4, and P6.
        let mut fresh = c.clone();
        step(&mut fresh, 0, None, vec![proposed("new", &[1, 2])]);
        assert_eq!(
            step(
                &mut fresh,
                1,
                Some(b(3, 0)),
                vec![proposed("other", &[1, 2])]
            ),
            ["P4", "P6"]
        );
    }

    #[test]
    fn an_accept_counts_only_the_promises_that_cover_its_slot() {
        let mut c = PaxosChecker::new(3, Mode::Multi);
        // n1 promises ballot 2.n1 for slots 1 and up, n2 for slots 5 and up.
        for (n, from) in [(0, 1), (1, 5)] {
            step(
                &mut c,
                n,
                Some(b(2, 0)),
                vec![PaxosObs::Promised {
                    to: NodeId(0),
                    ballot: b(2, 0),
                    from: Slot(from),
                    votes: vec![],
                }],
            );
        }
        let proposed = |slot| PaxosObs::Proposed {
            slot: Slot(slot),
            ballot: b(2, 0),
            value: Value::Noop,
            quorum: vec![NodeId(0), NodeId(1)],
        };
        // Slot 5 is covered by both promises; slot 3 by n1's alone.
        assert!(step(&mut c.clone(), 0, Some(b(2, 0)), vec![proposed(5)]).is_empty());
        assert_eq!(step(&mut c, 0, Some(b(2, 0)), vec![proposed(3)]), ["P6"]);
    }

    #[test]
    fn an_acceptor_never_goes_back_on_its_promise() {
        let mut c = PaxosChecker::new(3, Mode::Single);
        assert!(step(&mut c, 0, Some(b(2, 1)), vec![]).is_empty());
        assert_eq!(step(&mut c, 0, None, vec![]), ["P5"]);
        // Reported once; then a vote below the promise it had made.
        assert!(step(&mut c, 0, Some(b(4, 1)), vec![]).is_empty());
        assert_eq!(
            step(&mut c, 0, Some(b(4, 1)), vec![voted(1, b(3, 2), text("v"))]),
            ["P5"]
        );
    }

    #[test]
    fn the_multi_paxos_log_fills_holes_with_no_ops_and_executes_in_order_once() {
        let mut c = PaxosChecker::new(3, Mode::Multi);
        let cmd = |r: u64| Value::Command {
            client: NodeId(3),
            request: RequestId(r),
            op: KvOp::Get { key: "x".into() },
        };
        // Promises for ballot 2.n1 from n1 and n2: n2 reports slot 3 only.
        let promise = |votes: Vec<Vote>| PaxosObs::Promised {
            to: NodeId(0),
            ballot: b(2, 0),
            from: Slot(1),
            votes,
        };
        step(&mut c, 0, Some(b(2, 0)), vec![promise(vec![])]);
        step(
            &mut c,
            1,
            Some(b(2, 0)),
            vec![promise(vec![Vote {
                slot: Slot(3),
                ballot: b(1, 2),
                value: cmd(1),
            }])],
        );
        let proposed = |slot, value| PaxosObs::Proposed {
            slot: Slot(slot),
            ballot: b(2, 0),
            value,
            quorum: vec![NodeId(0), NodeId(1)],
        };
        let leader = Some(b(2, 0));
        let mut fresh = c.clone();
        assert!(step(&mut fresh, 0, leader, vec![proposed(1, Value::Noop)]).is_empty());
        assert_eq!(
            step(&mut fresh, 0, leader, vec![proposed(2, cmd(2))]),
            ["P7"]
        );
        // Beyond every reported slot a new command is fine.
        assert!(step(&mut fresh, 0, leader, vec![proposed(4, cmd(2))]).is_empty());

        // Execution: in order, without holes, each command once.
        let mut c = PaxosChecker::new(3, Mode::Multi);
        c.invoked
            .insert((NodeId(3), RequestId(1), KvOp::Get { key: "x".into() }));
        for (slot, value) in [(1, Value::Noop), (2, cmd(1)), (3, cmd(1))] {
            for voter in 0..2 {
                step(
                    &mut c,
                    voter,
                    Some(b(1, 0)),
                    vec![voted(slot, b(1, 0), value.clone())],
                );
            }
        }
        let executed = |slot, value, fresh| PaxosObs::Executed {
            slot: Slot(slot),
            value,
            fresh,
        };
        assert_eq!(
            step(&mut c, 2, None, vec![executed(2, cmd(1), true)]),
            ["P7"]
        );
        // Start n3 over (as a restart does), in order this time.
        let mut c2 = c.clone();
        c2.executed.clear();
        c2.fresh.clear();
        assert!(step(&mut c2, 2, None, vec![executed(1, Value::Noop, false)]).is_empty());
        assert!(step(&mut c2, 2, None, vec![executed(2, cmd(1), true)]).is_empty());
        assert_eq!(
            step(&mut c2, 2, None, vec![executed(3, cmd(1), true)]),
            ["P7"]
        );
        // A duplicate that the store recognises is not executed again.
        let mut c3 = c.clone();
        c3.executed.clear();
        c3.fresh.clear();
        step(&mut c3, 2, None, vec![executed(1, Value::Noop, false)]);
        step(&mut c3, 2, None, vec![executed(2, cmd(1), true)]);
        assert!(step(&mut c3, 2, None, vec![executed(3, cmd(1), false)]).is_empty());
        // Executing a value the votes never chose there is P3.
        assert_eq!(
            step(&mut c3, 2, None, vec![executed(4, cmd(1), false)]),
            ["P3"]
        );
    }

    /// One step of client `n` reporting `obs`, at `step`: the rules it broke.
    fn client_step(
        c: &mut PaxosChecker,
        n: u32,
        step: u64,
        obs: Vec<PaxosObs>,
    ) -> Vec<&'static str> {
        let mut f = Findings::default();
        c.observe_node(NodeId(n), Facts::Client, false, &obs, step, &mut f);
        f.0.iter().map(|(r, _, _)| *r).collect()
    }

    /// A step of server `n` that rebuilt it from stable storage.
    fn restart(c: &mut PaxosChecker, n: u32, promised: Option<Ballot>) -> Vec<&'static str> {
        let mut f = Findings::default();
        c.observe_node(NodeId(n), Facts::Server { promised }, true, &[], 0, &mut f);
        f.0.iter().map(|(r, _, _)| *r).collect()
    }

    fn promised(to: u32, ballot: Ballot, votes: Vec<Vote>) -> PaxosObs {
        PaxosObs::Promised {
            to: NodeId(to),
            ballot,
            from: Slot(1),
            votes,
        }
    }

    fn proposed(slot: u64, ballot: Ballot, value: Value, quorum: &[u32]) -> PaxosObs {
        PaxosObs::Proposed {
            slot: Slot(slot),
            ballot,
            value,
            quorum: quorum.iter().map(|&q| NodeId(q)).collect(),
        }
    }

    /// Single-decree: n1 is handed "v", wins ballot 1.n1 with n1's and
    /// n2's promises (neither had voted), and proposes "v".
    fn proposed_v() -> PaxosChecker {
        let mut c = PaxosChecker::new(3, Mode::Single);
        let ballot = b(1, 0);
        assert!(step(&mut c, 0, None, vec![PaxosObs::Wants(text("v"))]).is_empty());
        for n in [0, 1] {
            assert!(step(&mut c, n, Some(ballot), vec![promised(0, ballot, vec![])]).is_empty());
        }
        assert!(step(
            &mut c,
            0,
            Some(ballot),
            vec![proposed(1, ballot, text("v"), &[0, 1])]
        )
        .is_empty());
        c
    }

    #[test]
    fn a_clean_single_decree_history_breaks_no_rule() {
        let mut c = proposed_v();
        let ballot = b(1, 0);
        // The same Accept again (a resend) is still one value per ballot.
        let again = proposed(1, ballot, text("v"), &[0, 1]);
        assert!(step(&mut c, 0, Some(ballot), vec![again]).is_empty());
        for n in [0, 1, 2] {
            assert!(step(&mut c, n, Some(ballot), vec![voted(1, ballot, text("v"))]).is_empty());
        }
        for n in [0, 1, 2] {
            assert!(step(&mut c, n, Some(ballot), vec![learned(1, text("v"))]).is_empty());
        }
        // A restart that keeps the promise, and a later ballot that
        // reports the vote and proposes the same value again.
        assert!(restart(&mut c, 2, Some(ballot)).is_empty());
        let later = b(2, 1);
        let vote = Vote {
            slot: Slot(1),
            ballot,
            value: text("v"),
        };
        for n in [1, 2] {
            assert!(step(
                &mut c,
                n,
                Some(later),
                vec![promised(1, later, vec![vote.clone()])]
            )
            .is_empty());
        }
        assert!(step(
            &mut c,
            1,
            Some(later),
            vec![proposed(1, later, text("v"), &[1, 2])]
        )
        .is_empty());
        assert_eq!(c.chosen()[&Slot(1)], vec![(text("v"), ballot)]);
    }

    #[test]
    fn a_clean_multi_paxos_history_breaks_no_rule() {
        let mut c = PaxosChecker::new(3, Mode::Multi);
        let ballot = b(1, 0);
        let put = KvOp::Put {
            key: "x".into(),
            value: "1".into(),
        };
        let cmd = Value::Command {
            client: NodeId(3),
            request: RequestId(1),
            op: put.clone(),
        };
        for n in [0, 1] {
            assert!(step(&mut c, n, Some(ballot), vec![promised(0, ballot, vec![])]).is_empty());
        }
        let invoked = PaxosObs::Invoked {
            request: RequestId(1),
            op: put,
        };
        assert!(client_step(&mut c, 3, 10, vec![invoked]).is_empty());
        assert!(step(
            &mut c,
            0,
            Some(ballot),
            vec![proposed(1, ballot, cmd.clone(), &[0, 1])]
        )
        .is_empty());
        for n in [0, 1] {
            assert!(step(&mut c, n, Some(ballot), vec![voted(1, ballot, cmd.clone())]).is_empty());
        }
        let executed = PaxosObs::Executed {
            slot: Slot(1),
            value: cmd,
            fresh: true,
        };
        for n in [0, 1, 2] {
            assert!(step(&mut c, n, Some(ballot), vec![executed.clone()]).is_empty());
        }
        let completed = PaxosObs::Completed {
            request: RequestId(1),
            result: "1".into(),
        };
        assert!(client_step(&mut c, 3, 20, vec![completed]).is_empty());
        assert!(Checker::<super::super::Paxos>::undecided(&c).is_empty());
    }

    #[test]
    fn two_values_chosen_in_one_slot_break_p1() {
        let mut c = proposed_v();
        // "v" is chosen in ballot 1.n1; then "w", which n2 was handed too,
        // is chosen in ballot 2.n2 by n2 and n3.
        let (first, second) = (b(1, 0), b(2, 1));
        for n in [0, 1] {
            assert!(step(&mut c, n, Some(first), vec![voted(1, first, text("v"))]).is_empty());
        }
        assert!(step(&mut c, 1, Some(first), vec![PaxosObs::Wants(text("w"))]).is_empty());
        assert!(step(&mut c, 1, Some(second), vec![voted(1, second, text("w"))]).is_empty());
        assert_eq!(
            step(&mut c, 2, Some(second), vec![voted(1, second, text("w"))]),
            ["P1"]
        );
    }

    #[test]
    fn a_chosen_value_nobody_proposed_breaks_p2() {
        let mut c = proposed_v();
        // Slot 2 was never proposed in: a majority votes there for "w",
        // which no proposer was handed.
        let ballot = b(1, 0);
        assert!(step(&mut c, 1, Some(ballot), vec![voted(2, ballot, text("w"))]).is_empty());
        assert_eq!(
            step(&mut c, 2, Some(ballot), vec![voted(2, ballot, text("w"))]),
            ["P2"]
        );
        // A no-op is no proposal of single-decree Paxos either.
        assert!(step(&mut c, 1, Some(ballot), vec![voted(3, ballot, Value::Noop)]).is_empty());
        assert_eq!(
            step(&mut c, 2, Some(ballot), vec![voted(3, ballot, Value::Noop)]),
            ["P2"]
        );
    }

    #[test]
    fn a_learner_that_learns_a_value_never_chosen_breaks_p3() {
        let mut c = proposed_v();
        let ballot = b(1, 0);
        // One vote is not a majority.
        assert!(step(&mut c, 0, Some(ballot), vec![voted(1, ballot, text("v"))]).is_empty());
        assert_eq!(step(&mut c, 2, None, vec![learned(1, text("v"))]), ["P3"]);
    }

    #[test]
    fn two_values_in_one_ballot_break_p4() {
        let mut c = proposed_v();
        // The promises reported no votes, so each value alone would be
        // justified: only P4 sees that the ballot carries two.
        assert_eq!(
            step(
                &mut c,
                0,
                Some(b(1, 0)),
                vec![proposed(1, b(1, 0), text("w"), &[0, 1])]
            ),
            ["P4"]
        );
    }

    #[test]
    fn a_promise_lost_in_a_restart_breaks_p5() {
        let mut c = proposed_v();
        assert_eq!(restart(&mut c, 1, None), ["P5"]);
    }

    #[test]
    fn an_accept_without_a_majority_of_promises_breaks_p6() {
        let mut c = proposed_v();
        // n2 asks for ballot 2.n2, and only n2 itself promises it.
        let ballot = b(2, 1);
        assert!(step(&mut c, 1, Some(ballot), vec![promised(1, ballot, vec![])]).is_empty());
        assert_eq!(
            step(
                &mut c,
                1,
                Some(ballot),
                vec![proposed(1, ballot, text("v"), &[1])]
            ),
            ["P6"]
        );
    }

    #[test]
    fn a_read_that_misses_an_answered_write_breaks_p8() {
        let mut c = PaxosChecker::new(3, Mode::Multi);
        let put = KvOp::Put {
            key: "x".into(),
            value: "1".into(),
        };
        let get = KvOp::Get { key: "x".into() };
        let invoked = |r, op| PaxosObs::Invoked {
            request: RequestId(r),
            op,
        };
        let completed = |r, result: &str| PaxosObs::Completed {
            request: RequestId(r),
            result: result.into(),
        };
        // `put(x, 1)` is answered at step 2; `get(x)`, invoked at step 3,
        // reads nothing.
        assert!(client_step(&mut c, 3, 1, vec![invoked(1, put)]).is_empty());
        assert!(client_step(&mut c, 3, 2, vec![completed(1, "1")]).is_empty());
        assert!(client_step(&mut c, 3, 3, vec![invoked(2, get)]).is_empty());
        assert_eq!(client_step(&mut c, 3, 4, vec![completed(2, "")]), ["P8"]);
    }

    #[test]
    fn the_checker_lists_every_rule_in_order() {
        let c = PaxosChecker::new(3, Mode::Multi);
        let ids: Vec<&str> = Checker::<super::super::Paxos>::rules(&c)
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, ["P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8"]);
    }
}
