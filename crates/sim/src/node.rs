//! The sans-IO node: a pure state machine whose handlers describe their
//! effects as data in an [`Out`], which the world then carries out.
//!
//! A node never sleeps, reads a clock, draws a random number or touches a
//! socket. It asks for a timer with a duration *range*, and the world picks the
//! value from its own seeded stream. That is what makes a run a pure function
//! of (protocol, config, seed, input log).

use std::fmt::Debug;

use crate::encode::Encode;
use crate::ids::NodeId;
use crate::time::Duration;

/// A message a protocol sends. The world keeps it in flight; the UI asks it
/// for a kind (which picks the colour) and a label (shown on hover).
pub trait Message: Clone + Debug + Encode + 'static {
    /// A short, stable name for the message type, such as `"AppendEntries"`.
    fn kind(&self) -> &'static str;
    /// One readable line describing this message, such as `"term 3, 2 entries"`.
    fn label(&self) -> String;
    /// Whether this message answers another one. The UI draws replies
    /// differently from requests.
    fn is_reply(&self) -> bool {
        false
    }
}

/// A protocol node. Servers and clients are both nodes; a protocol usually
/// makes `Self` an enum of the two.
pub trait Node: Clone + std::fmt::Debug + 'static {
    /// The messages nodes exchange.
    type Msg: Message;
    /// Names for this node's timers. Setting a timer that is already set
    /// replaces it, so one name is at most one pending timer.
    type Timer: Clone + Debug + Eq + Ord + Encode + 'static;
    /// What survives a crash: the last value passed to [`Out::persist`].
    type Durable: Clone + Debug + Encode + 'static;
    /// A client operation injected from outside the cluster (a user pressing
    /// "client request", or the sweep's workload generator).
    type Op: Clone + Debug + Encode + 'static;
    /// Facts a node reports for checkers to record, such as "applied index 4"
    /// or "client 7 invoked put(x, 1)". They are not shown to people; notes are.
    type Obs: Clone + Debug + 'static;

    /// Called when the node boots, and again after every restart with the
    /// durable state it persisted last (or `None` if it never persisted).
    fn on_start(&mut self, durable: Option<&Self::Durable>, out: &mut Out<Self>);
    /// A message from `from` has arrived.
    fn on_message(&mut self, from: NodeId, msg: &Self::Msg, out: &mut Out<Self>);
    /// The timer `timer` has fired.
    fn on_timer(&mut self, timer: &Self::Timer, out: &mut Out<Self>);
    /// A client operation has been handed to this node from outside.
    fn on_op(&mut self, op: &Self::Op, out: &mut Out<Self>);
    /// A protocol-agnostic picture of this node for the stage and inspector.
    fn scene(&self) -> NodeScene;
}

/// A timer command recorded in an [`Out`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimerCmd<T> {
    /// Fire `timer` after a duration the world picks uniformly in `min..=max`
    /// of the node's own clock.
    Set {
        /// The timer's name.
        timer: T,
        /// The shortest delay.
        min: Duration,
        /// The longest delay.
        max: Duration,
    },
    /// Forget `timer` if it is pending.
    Cancel(T),
}

/// A protocol-level event, used to step "one round" at a time and to mark the
/// timeline: "leader elected for term 3", "value chosen in slot 2".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Milestone {
    /// A stable machine name, such as `"leader-elected"`.
    pub kind: &'static str,
    /// A sentence for people.
    pub text: String,
}

/// The effects of one handler call, in the order the handler asked for them.
/// The world reuses one `Out` across steps, so collecting effects allocates
/// only when a handler produces more of them than ever before.
#[derive(Clone, Debug)]
pub struct Out<N: Node> {
    pub(crate) sends: Vec<(NodeId, N::Msg)>,
    pub(crate) timers: Vec<TimerCmd<N::Timer>>,
    pub(crate) persisted: Option<N::Durable>,
    pub(crate) notes: Vec<String>,
    pub(crate) milestones: Vec<Milestone>,
    pub(crate) observations: Vec<N::Obs>,
}

impl<N: Node> Default for Out<N> {
    fn default() -> Self {
        Out {
            sends: Vec::new(),
            timers: Vec::new(),
            persisted: None,
            notes: Vec::new(),
            milestones: Vec::new(),
            observations: Vec::new(),
        }
    }
}

impl<N: Node> Out<N> {
    /// An empty effect list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends `msg` to `to`. The network decides when (and whether) it arrives.
    pub fn send(&mut self, to: NodeId, msg: N::Msg) {
        self.sends.push((to, msg));
    }

    /// Sets `timer` to fire after a delay picked in `min..=max` (of this
    /// node's clock, which may be skewed). Replaces the timer if it is pending.
    pub fn set_timer(&mut self, timer: N::Timer, min: Duration, max: Duration) {
        assert!(min <= max, "timer range with min {min} above max {max}");
        self.timers.push(TimerCmd::Set { timer, min, max });
    }

    /// Cancels `timer` if it is pending.
    pub fn cancel_timer(&mut self, timer: N::Timer) {
        self.timers.push(TimerCmd::Cancel(timer));
    }

    /// Makes `state` the node's durable state: what it will get back in
    /// [`Node::on_start`] after a crash. Persisting again in the same step
    /// keeps only the last value.
    pub fn persist(&mut self, state: N::Durable) {
        self.persisted = Some(state);
    }

    /// Adds a readable line to the trace, such as "vote granted to n2".
    pub fn note(&mut self, text: impl Into<String>) {
        self.notes.push(text.into());
    }

    /// Records a protocol-level milestone (see [`Milestone`]).
    pub fn milestone(&mut self, kind: &'static str, text: impl Into<String>) {
        self.milestones.push(Milestone {
            kind,
            text: text.into(),
        });
    }

    /// Reports a fact for the checkers.
    pub fn observe(&mut self, obs: N::Obs) {
        self.observations.push(obs);
    }

    /// The messages sent so far, in order.
    pub fn sends(&self) -> &[(NodeId, N::Msg)] {
        &self.sends
    }

    /// The timer commands so far, in order.
    pub fn timers(&self) -> &[TimerCmd<N::Timer>] {
        &self.timers
    }

    /// The durable state persisted in this step, if any.
    pub fn persisted(&self) -> Option<&N::Durable> {
        self.persisted.as_ref()
    }

    /// The notes so far.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The milestones so far.
    pub fn milestones(&self) -> &[Milestone] {
        &self.milestones
    }

    /// The observations so far.
    pub fn observations(&self) -> &[N::Obs] {
        &self.observations
    }

    pub(crate) fn clear(&mut self) {
        self.sends.clear();
        self.timers.clear();
        self.persisted = None;
        self.notes.clear();
        self.milestones.clear();
        self.observations.clear();
    }
}

/// What kind of participant a node is; the stage lays kinds out differently
/// (servers on a ring, clients set apart).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeKind {
    /// A member of the replicated service.
    Server,
    /// A client of the service.
    Client,
    /// A pub/sub producer.
    Producer,
    /// A pub/sub consumer.
    Consumer,
}

/// A small tag drawn on a node, such as the term or "leader".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Badge {
    /// The text on the badge.
    pub text: String,
    /// A stable name the stylesheet colours by, such as `"term"`.
    pub tone: &'static str,
}

/// One row of the inspector: a label, a value, and whether it survives a crash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DetailRow {
    /// What the value is, such as "currentTerm".
    pub label: String,
    /// The value, as text.
    pub value: String,
    /// Durable state survives a crash; volatile state does not.
    pub durability: Durability,
}

/// Whether a piece of node state survives a crash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Persisted: kept across a crash.
    Durable,
    /// In memory only: lost on a crash.
    Volatile,
}

/// The protocol-agnostic picture of one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeScene {
    /// Server, client, producer or consumer.
    pub kind: NodeKind,
    /// The role a protocol gives the node, such as "leader", which picks its
    /// colour; empty if the protocol has no roles.
    pub role: String,
    /// A short label drawn on the node.
    pub label: String,
    /// Small tags drawn around the node.
    pub badges: Vec<Badge>,
    /// The inspector's rows.
    pub details: Vec<DetailRow>,
}

impl NodeScene {
    /// A scene with a kind, a role and a label, and no badges or rows yet.
    pub fn new(kind: NodeKind, role: impl Into<String>, label: impl Into<String>) -> NodeScene {
        NodeScene {
            kind,
            role: role.into(),
            label: label.into(),
            badges: Vec::new(),
            details: Vec::new(),
        }
    }

    /// Adds a badge.
    pub fn badge(mut self, text: impl Into<String>, tone: &'static str) -> NodeScene {
        self.badges.push(Badge {
            text: text.into(),
            tone,
        });
        self
    }

    /// Adds an inspector row.
    pub fn row(
        mut self,
        label: impl Into<String>,
        value: impl Into<String>,
        durability: Durability,
    ) -> NodeScene {
        self.details.push(DetailRow {
            label: label.into(),
            value: value.into(),
            durability,
        });
        self
    }
}
