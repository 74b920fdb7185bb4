//! Inputs: everything a person (or a script, or the sweep's fault generator)
//! can do to a run. Inputs are events: each is stamped with the step and
//! virtual time at which it was applied and kept in the input log, so a run is
//! a pure function of (protocol, config, seed, input log).

use std::fmt;

use crate::encode::{Encode, TraceHasher};
use crate::ids::{MsgId, NodeId};
use crate::network::{Direction, LinkParams, PartitionKind};
use crate::time::{Permille, Time};

/// One thing done to the run from outside. `Op` is the protocol's client
/// operation type.
#[derive(Clone, Debug, PartialEq)]
pub enum Input<Op> {
    /// Crash a node: its volatile state is lost, its durable state kept.
    Crash(NodeId),
    /// Restart a crashed node from its durable state alone.
    Restart(NodeId),
    /// Pause a node: it keeps its state; its events wait.
    Pause(NodeId),
    /// Resume a paused node: its waiting events happen now, in order.
    Resume(NodeId),
    /// Make each event take `factor` times as long to process at `node`.
    Slow {
        /// The node.
        node: NodeId,
        /// 1x is normal speed.
        factor: Permille,
    },
    /// Run `node`'s clock at `rate` (2x fires its timers in half the time).
    Skew {
        /// The node.
        node: NodeId,
        /// 1x is a true clock.
        rate: Permille,
    },
    /// Cut the one-way link `from -> to`.
    Cut {
        /// Sender side.
        from: NodeId,
        /// Receiver side.
        to: NodeId,
    },
    /// Heal the one-way link `from -> to`.
    Heal {
        /// Sender side.
        from: NodeId,
        /// Receiver side.
        to: NodeId,
    },
    /// Cut a node off from every other node, in one or both directions.
    Isolate {
        /// The node.
        node: NodeId,
        /// Which way to cut.
        direction: Direction,
    },
    /// Split nodes into groups that cannot talk across (see
    /// [`PartitionKind`]). Nodes in no group keep all their links.
    Partition {
        /// Disjoint groups of nodes.
        groups: Vec<Vec<NodeId>>,
        /// Both ways or one way.
        kind: PartitionKind,
    },
    /// Heal every link, and undo every partition and isolation.
    HealAll,
    /// Lose one message that is in flight.
    DropMessage(MsgId),
    /// Hand a client operation to a node.
    Request {
        /// The node that receives the operation (usually a client).
        node: NodeId,
        /// The operation.
        op: Op,
    },
    /// Change the default parameters of every link that has none of its own.
    SetNetwork(LinkParams),
    /// Give the link `from -> to` its own parameters (`None`: follow the defaults).
    SetLink {
        /// Sender side.
        from: NodeId,
        /// Receiver side.
        to: NodeId,
        /// Parameters for this link alone.
        params: Option<LinkParams>,
    },
    /// Start the final check: once the cluster has settled (the liveness
    /// monitor's predicate holds, or its bound passes), the checkers give
    /// their end-of-run verdicts ([`crate::Checker::finish`], such as a
    /// queue's "every acknowledged message was delivered"). It changes
    /// nothing in the world; the inputs that end every fault first are
    /// [`crate::liveness::ending_every_fault`].
    Drain,
}

impl<Op> Input<Op> {
    /// A stable machine name for the event log filter, such as `"crash"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Input::Crash(_) => "crash",
            Input::Restart(_) => "restart",
            Input::Pause(_) => "pause",
            Input::Resume(_) => "resume",
            Input::Slow { .. } => "slow",
            Input::Skew { .. } => "skew",
            Input::Cut { .. } => "cut",
            Input::Heal { .. } => "heal",
            Input::Isolate { .. } => "isolate",
            Input::Partition { .. } => "partition",
            Input::HealAll => "heal-all",
            Input::DropMessage(_) => "drop",
            Input::Request { .. } => "request",
            Input::SetNetwork(_) => "set-network",
            Input::SetLink { .. } => "set-link",
            Input::Drain => "drain",
        }
    }

    /// The node this input is about, if it is about one node.
    pub fn node(&self) -> Option<NodeId> {
        match self {
            Input::Crash(n) | Input::Restart(n) | Input::Pause(n) | Input::Resume(n) => Some(*n),
            Input::Slow { node, .. } | Input::Skew { node, .. } | Input::Isolate { node, .. } => {
                Some(*node)
            }
            Input::Request { node, .. } => Some(*node),
            _ => None,
        }
    }

    /// The same input with its operation converted by `f` (inputs without an
    /// operation are unchanged): how the app turns operations to and from
    /// text, and how a generator re-types inputs that carry none.
    pub fn try_map_op<B, E>(self, f: impl FnOnce(Op) -> Result<B, E>) -> Result<Input<B>, E> {
        Ok(match self {
            Input::Request { node, op } => Input::Request { node, op: f(op)? },
            Input::Crash(n) => Input::Crash(n),
            Input::Restart(n) => Input::Restart(n),
            Input::Pause(n) => Input::Pause(n),
            Input::Resume(n) => Input::Resume(n),
            Input::Slow { node, factor } => Input::Slow { node, factor },
            Input::Skew { node, rate } => Input::Skew { node, rate },
            Input::Cut { from, to } => Input::Cut { from, to },
            Input::Heal { from, to } => Input::Heal { from, to },
            Input::Isolate { node, direction } => Input::Isolate { node, direction },
            Input::Partition { groups, kind } => Input::Partition { groups, kind },
            Input::HealAll => Input::HealAll,
            Input::DropMessage(id) => Input::DropMessage(id),
            Input::SetNetwork(p) => Input::SetNetwork(p),
            Input::SetLink { from, to, params } => Input::SetLink { from, to, params },
            Input::Drain => Input::Drain,
        })
    }

    /// Like [`Input::try_map_op`], for a conversion that cannot fail.
    pub fn map_op<B>(self, f: impl FnOnce(Op) -> B) -> Input<B> {
        match self.try_map_op(|op| Ok::<B, std::convert::Infallible>(f(op))) {
            Ok(input) => input,
        }
    }

    /// Whether this is a fault (as opposed to a client request or a setting),
    /// which the timeline marks.
    pub fn is_fault(&self) -> bool {
        !matches!(
            self,
            Input::Request { .. } | Input::SetNetwork(_) | Input::SetLink { .. }
        )
    }
}

impl<Op: fmt::Debug> fmt::Display for Input<Op> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::Crash(n) => write!(f, "crash {n}"),
            Input::Restart(n) => write!(f, "restart {n}"),
            Input::Pause(n) => write!(f, "pause {n}"),
            Input::Resume(n) => write!(f, "resume {n}"),
            Input::Slow { node, factor } => write!(f, "slow {node} to {factor} processing time"),
            Input::Skew { node, rate } => write!(f, "run the clock of {node} at {rate}"),
            Input::Cut { from, to } => write!(f, "cut {from} -> {to}"),
            Input::Heal { from, to } => write!(f, "heal {from} -> {to}"),
            Input::Isolate { node, direction } => match direction {
                Direction::Both => write!(f, "isolate {node}"),
                Direction::Inbound => write!(f, "isolate {node} from incoming messages"),
                Direction::Outbound => write!(f, "isolate {node} from outgoing messages"),
            },
            Input::Partition { groups, kind } => {
                let groups: Vec<String> = groups
                    .iter()
                    .map(|g| {
                        format!(
                            "{{{}}}",
                            g.iter()
                                .map(|n| n.to_string())
                                .collect::<Vec<_>>()
                                .join(" ")
                        )
                    })
                    .collect();
                let sep = match kind {
                    PartitionKind::Symmetric => " | ",
                    PartitionKind::OneWay => " -/-> ",
                };
                write!(f, "partition {}", groups.join(sep))
            }
            Input::HealAll => f.write_str("heal all links"),
            Input::DropMessage(id) => write!(f, "drop message {id}"),
            Input::Request { node, op } => write!(f, "request {op:?} at {node}"),
            Input::SetNetwork(_) => f.write_str("change the network defaults"),
            Input::SetLink {
                from,
                to,
                params: Some(_),
            } => write!(f, "change link {from} -> {to}"),
            Input::SetLink {
                from,
                to,
                params: None,
            } => write!(f, "reset link {from} -> {to} to the defaults"),
            Input::Drain => f.write_str("drain: check once the cluster has settled"),
        }
    }
}

impl<Op: Encode> Encode for Input<Op> {
    fn encode(&self, h: &mut TraceHasher) {
        match self {
            Input::Crash(n) => (1u8, n).encode(h),
            Input::Restart(n) => (2u8, n).encode(h),
            Input::Pause(n) => (3u8, n).encode(h),
            Input::Resume(n) => (4u8, n).encode(h),
            Input::Slow { node, factor } => (5u8, node, factor).encode(h),
            Input::Skew { node, rate } => (6u8, node, rate).encode(h),
            Input::Cut { from, to } => (7u8, from, to).encode(h),
            Input::Heal { from, to } => (8u8, from, to).encode(h),
            Input::Isolate { node, direction } => (9u8, node, *direction as u8).encode(h),
            Input::Partition { groups, kind } => (10u8, groups, *kind as u8).encode(h),
            Input::HealAll => 11u8.encode(h),
            Input::DropMessage(id) => (12u8, id).encode(h),
            Input::Request { node, op } => (13u8, node, op).encode(h),
            Input::SetNetwork(p) => (14u8, p).encode(h),
            Input::SetLink { from, to, params } => (15u8, from, to, params).encode(h),
            Input::Drain => 16u8.encode(h),
        }
    }
}

/// One entry of the input log: the input, and exactly where in the run it was
/// applied. `step` is the number of steps the run had taken before it, which
/// places the input exactly even among several events at the same time.
#[derive(Clone, Debug, PartialEq)]
pub struct InputRecord<Op> {
    /// The input took the step with this number.
    pub step: u64,
    /// The virtual time at which it was applied.
    pub time: Time,
    /// What was done.
    pub input: Input<Op>,
}
