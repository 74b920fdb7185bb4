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
        self.violations.len() - before
    }

    /// Every violation found so far, in the order found.
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }
}
