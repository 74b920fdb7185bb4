//! Checkers: safety properties checked after every step.
//!
//! A checker keeps its own history, because nodes overwrite their state: a
//! Raft node that truncates its log forgets what it once held, but a checker
//! that recorded every commit does not (etcd's TLA+ checks committed prefixes
//! the same way; Lamport's Paxos spec keeps every vote ever cast).

use std::fmt;

use crate::ids::NodeId;
use crate::time::Time;
use crate::trace::StepRecord;
use crate::world::{NodeOf, Protocol, World};

/// A property a checker enforces, for the checker panel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// A short stable id, such as `"R1"`.
    pub id: &'static str,
    /// A name, such as "Election safety".
    pub name: &'static str,
    /// One sentence that says what must always hold.
    pub description: &'static str,
}

/// A broken property, at the moment it broke.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The rule's id.
    pub rule: &'static str,
    /// The step at which it broke.
    pub step: u64,
    /// The virtual time at which it broke.
    pub time: Time,
    /// The nodes involved.
    pub nodes: Vec<NodeId>,
    /// A sentence a student can read.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at {} (step {}): {}",
            self.rule, self.time, self.step, self.message
        )
    }
}

/// A rule the checker could not decide so far: neither held nor broken,
/// because deciding it needs more search than its budget allows (a
/// linearizability check of a very concurrent history). Shown as its own
/// state, never as a rule that holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Undecided {
    /// The rule's id.
    pub rule: &'static str,
    /// What is undecided, for a student: which keys, how large.
    pub message: String,
}

/// Where a checker reports what it found.
pub struct Report<'a> {
    step: u64,
    time: Time,
    out: &'a mut Vec<Violation>,
}

impl Report<'_> {
    /// Reports that `rule` broke now, involving `nodes`.
    pub fn violation(&mut self, rule: &'static str, nodes: &[NodeId], message: impl Into<String>) {
        self.out.push(Violation {
            rule,
            step: self.step,
            time: self.time,
            nodes: nodes.to_vec(),
            message: message.into(),
        });
    }
}

/// A safety checker for protocol `P`.
pub trait Checker<P: Protocol>: CheckerClone<P> {
    /// The rules this checker enforces.
    fn rules(&self) -> &'static [Rule];
    /// Looks at one step (and the world right after it) and reports any rule
    /// that broke in it.
    fn observe(
        &mut self,
        record: &StepRecord<NodeOf<P>>,
        world: &World<P>,
        report: &mut Report<'_>,
    );

    /// Judges the rules that can only be judged once a run is over, such as
    /// a message queue's final drain ("every acknowledged message was
    /// delivered"). Called once, at the end of a run that has settled (the
    /// sweep calls it after its liveness phase). The default judges nothing.
    fn finish(&mut self, world: &World<P>) -> Vec<Violation> {
        let _ = world;
        Vec::new()
    }

    /// Whether the end-of-run verdicts are due after the step just
    /// observed: the liveness monitor says so once a drain
    /// ([`crate::Input::Drain`]) has seen the cluster settle. The default
    /// never asks.
    fn finish_due(&self) -> bool {
        false
    }

    /// The liveness monitor's state, for the one checker that is one
    /// ([`crate::liveness::Liveness`]); every other checker says `None`.
    fn liveness(&self) -> Option<&crate::liveness::LivenessState> {
        None
    }

    /// The rules this checker could not decide so far ([`Undecided`]). The
    /// default decides everything.
    fn undecided(&self) -> Vec<Undecided> {
        Vec::new()
    }

    /// Live counters from the checker's own history, as (name, value), for
    /// the app to show beside the rules: a queue's published, acknowledged,
    /// delivered, duplicated and lost messages. The default counts nothing.
    fn counters(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }
}

/// Lets boxed checkers be cloned into checkpoints. Implemented for every
/// checker that is `Clone`.
pub trait CheckerClone<P: Protocol> {
    /// A boxed copy.
    fn clone_box(&self) -> Box<dyn Checker<P>>;
}

impl<P: Protocol, T: Checker<P> + Clone + 'static> CheckerClone<P> for T {
    fn clone_box(&self) -> Box<dyn Checker<P>> {
        Box::new(self.clone())
    }
}

impl<P: Protocol> Clone for Box<dyn Checker<P>> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

/// A set of checkers and every violation they have found so far.
pub struct Checkers<P: Protocol> {
    checkers: Vec<Box<dyn Checker<P>>>,
    violations: Vec<Violation>,
}

impl<P: Protocol> Clone for Checkers<P> {
    fn clone(&self) -> Self {
        Checkers {
            checkers: self.checkers.clone(),
            violations: self.violations.clone(),
        }
    }
}

impl<P: Protocol> Default for Checkers<P> {
    fn default() -> Self {
        Checkers {
            checkers: Vec::new(),
            violations: Vec::new(),
        }
    }
}

impl<P: Protocol> Checkers<P> {
    /// A set of these checkers, with no violations yet.
    pub fn new(checkers: Vec<Box<dyn Checker<P>>>) -> Checkers<P> {
        Checkers {
            checkers,
            violations: Vec::new(),
        }
    }

    /// Every rule of every checker, in order.
    pub fn rules(&self) -> Vec<Rule> {
        self.checkers
            .iter()
            .flat_map(|c| c.rules().iter().copied())
            .collect()
    }

    /// Runs every checker on one step; returns how many violations it found.
    pub fn observe(&mut self, record: &StepRecord<NodeOf<P>>, world: &World<P>) -> usize {
        let before = self.violations.len();
        let mut report = Report {
            step: record.step,
            time: record.time,
            out: &mut self.violations,
        };
        for c in &mut self.checkers {
            c.observe(record, world, &mut report);
        }
        if self.checkers.iter().any(|c| c.finish_due()) {
            let from = self.violations.len();
            self.finish(world);
            // Found in this step, whatever the checker stamped.
            for v in &mut self.violations[from..] {
                v.step = record.step;
                v.time = record.time;
            }
        }
        self.violations.len() - before
    }

    /// Asks every checker for its end-of-run verdict ([`Checker::finish`])
    /// and records what they found; returns how many violations that was.
    pub fn finish(&mut self, world: &World<P>) -> usize {
        let before = self.violations.len();
        for c in &mut self.checkers {
            let found = c.finish(world);
            self.violations.extend(found);
        }
        self.violations.len() - before
    }

    /// Adds a checker.
    pub fn push(&mut self, checker: Box<dyn Checker<P>>) {
        self.checkers.push(checker);
    }

    /// The liveness monitor's state, if one of the checkers is one.
    pub fn liveness(&self) -> Option<&crate::liveness::LivenessState> {
        self.checkers.iter().find_map(|c| c.liveness())
    }

    /// Every rule some checker could not decide so far, in order.
    pub fn undecided(&self) -> Vec<Undecided> {
        self.checkers.iter().flat_map(|c| c.undecided()).collect()
    }

    /// Every checker's live counters ([`Checker::counters`]), in order.
    pub fn counters(&self) -> Vec<(&'static str, u64)> {
        self.checkers.iter().flat_map(|c| c.counters()).collect()
    }

    /// Every violation found so far, in the order found.
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::broadcast::Broadcast;
    use crate::world::WorldConfig;

    /// A checker that only judges at the end: it reports how many steps the
    /// run took.
    #[derive(Clone)]
    struct AtTheEnd;

    impl Checker<Broadcast> for AtTheEnd {
        fn rules(&self) -> &'static [Rule] {
            &[]
        }
        fn observe(
            &mut self,
            _record: &StepRecord<NodeOf<Broadcast>>,
            _world: &World<Broadcast>,
            _report: &mut Report<'_>,
        ) {
        }
        fn finish(&mut self, world: &World<Broadcast>) -> Vec<Violation> {
            vec![Violation {
                rule: "E1",
                step: world.steps(),
                time: world.now(),
                nodes: Vec::new(),
                message: format!("the run ended after {} steps", world.steps()),
            }]
        }
    }

    #[test]
    fn finish_records_the_end_of_run_verdicts_and_the_default_judges_nothing() {
        let mut world = World::new(Broadcast::new(3), WorldConfig::with_seed(1));
        world.run_until(Time(100_000), 1_000);
        let mut checkers = Checkers::new(vec![Box::new(AtTheEnd)]);
        assert_eq!(checkers.finish(&world), 1);
        assert_eq!(checkers.violations()[0].rule, "E1");
        assert_eq!(checkers.violations()[0].step, world.steps());
        let mut plain: Checkers<Broadcast> = Checkers::new(vec![Box::new(
            crate::testkit::broadcast::BroadcastChecker::default(),
        )]);
        assert_eq!(plain.finish(&world), 0);
    }
}
