//! Step records: what one step of the world did, for checkers, the event log
//! and the trace hash.

use std::fmt;

use crate::ids::{MsgId, NodeId};
use crate::input::Input;
use crate::node::{Message, Node, Out};
use crate::time::Time;

/// Why a message never reached its receiver's handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LossReason {
    /// The network's drop rate.
    Dropped,
    /// The link was cut.
    LinkCut,
    /// The receiver was crashed when the message arrived.
    ReceiverDown,
    /// A person dropped it by hand.
    DroppedByUser,
}

impl fmt::Display for LossReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LossReason::Dropped => "lost by the network",
            LossReason::LinkCut => "lost: the link is cut",
            LossReason::ReceiverDown => "lost: the receiver is down",
            LossReason::DroppedByUser => "dropped by hand",
        })
    }
}

/// What a message's fate is, as far as the world knows now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// On its way, and will be delivered unless something changes.
    Delivering,
    /// Will be lost on arrival (it still travels, so the stage can show it
    /// fall away where it was lost).
    Lost(LossReason),
}

/// A message on the network: the stage draws it at
/// `(now - sent) / (arrives - sent)` along its path.
#[derive(Clone, Debug)]
pub struct InFlight<M> {
    /// This copy's id.
    pub id: MsgId,
    /// Sender.
    pub from: NodeId,
    /// Receiver.
    pub to: NodeId,
    /// When it left the sender.
    pub sent: Time,
    /// When it reaches the receiver.
    pub arrives: Time,
    /// Whether it will be delivered.
    pub fate: Fate,
    /// For a duplicate made by the network: the id of the original.
    pub duplicate_of: Option<MsgId>,
    /// The message itself.
    pub msg: M,
}

/// The event a step handled.
#[derive(Clone, Debug)]
pub enum StepEvent<N: Node> {
    /// A message reached its receiver's handler.
    Deliver(InFlight<N::Msg>),
    /// A message arrived nowhere: it was lost (see `fate`).
    Lost(InFlight<N::Msg>, LossReason),
    /// A node's timer fired.
    Timer {
        /// The node.
        node: NodeId,
        /// The timer's name.
        timer: N::Timer,
    },
    /// An input from outside was applied.
    Input(Input<N::Op>),
    /// A node booted for the first time (a later boot is `Input::Restart`).
    Start(NodeId),
}

impl<N: Node> StepEvent<N> {
    /// A stable machine name for filtering: `deliver`, `lost`, `timer`, or the
    /// input's kind.
    pub fn kind(&self) -> &'static str {
        match self {
            StepEvent::Deliver(_) => "deliver",
            StepEvent::Lost(..) => "lost",
            StepEvent::Timer { .. } => "timer",
            StepEvent::Input(i) => i.kind(),
            StepEvent::Start(_) => "start",
        }
    }
}

/// A message sent in a step, with what the network decided for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sent {
    /// The copy's id.
    pub id: MsgId,
    /// Receiver.
    pub to: NodeId,
    /// When it will arrive.
    pub arrives: Time,
    /// Its fate as decided at send time.
    pub fate: Fate,
    /// For a network duplicate: the original's id.
    pub duplicate_of: Option<MsgId>,
}

/// Everything one step did. The world reuses one record across steps.
#[derive(Clone, Debug)]
pub struct StepRecord<N: Node> {
    /// Steps are numbered from 0 in the order they happen.
    pub step: u64,
    /// Virtual time of the step.
    pub time: Time,
    /// What happened.
    pub event: StepEvent<N>,
    /// The node whose handler ran, if one did.
    pub node: Option<NodeId>,
    /// The handler's effects (empty if no handler ran).
    pub out: Out<N>,
    /// One entry per message copy put on the network, duplicates included,
    /// in send order.
    pub sent: Vec<Sent>,
    /// Timers set in this step, with the time the world picked for each.
    pub timers_set: Vec<(N::Timer, Time)>,
}

impl<N: Node> StepRecord<N> {
    /// One readable line for the event log, such as
    /// `12.000 ms  n2 <- n1 AppendEntries(term 3, 1 entry)`.
    pub fn headline(&self) -> String {
        match &self.event {
            StepEvent::Deliver(m) => {
                format!("{} <- {} {} {}", m.to, m.from, m.msg.kind(), m.msg.label())
            }
            StepEvent::Lost(m, reason) => {
                format!(
                    "{} -> {} {} {} {}",
                    m.from,
                    m.to,
                    m.msg.kind(),
                    m.id,
                    reason
                )
            }
            StepEvent::Timer { node, timer } => format!("{node} timer {timer:?} fired"),
            StepEvent::Input(i) => i.to_string(),
            StepEvent::Start(node) => format!("{node} starts"),
        }
    }

    /// The nodes this step touched, for the event log's node filter.
    pub fn nodes(&self) -> impl Iterator<Item = NodeId> + '_ {
        let (a, b) = match &self.event {
            StepEvent::Deliver(m) | StepEvent::Lost(m, _) => (Some(m.from), Some(m.to)),
            StepEvent::Timer { node, .. } => (Some(*node), None),
            StepEvent::Input(i) => (i.node(), None),
            StepEvent::Start(node) => (Some(*node), None),
        };
        a.into_iter().chain(b)
    }
}
