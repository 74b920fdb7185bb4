//! The pub/sub node: a broker, the controller, a producer or a consumer, with the
//! timers, durable state, operations and observations they share. Each kind
//! lives in its own module; this one dispatches.

use sim::{Encode, Node, NodeId, NodeScene, Out, TraceHasher};

use super::broker::{Broker, BrokerDurable};
use super::consumer::{Consumer, ConsumerDurable};
use super::controller::{Controller, ControllerDurable};
use super::msg::{PartitionState, PubSubMsg, Record};
use super::producer::{Producer, ProducerDurable};
use super::view::PubSubView;
use super::{Epoch, Generation, GroupId, MsgKey, Offset, PartitionId};

/// Timer names.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PubSubTimer {
    /// Broker: send the controller a heartbeat.
    Heartbeat,
    /// Broker: fetch for every partition it follows.
    Fetch,
    /// Broker: check its followers' progress, for every partition it leads.
    IsrCheck,
    /// Controller: this broker's session runs out.
    Session(NodeId),
    /// Producer: the record in flight to this partition has had no answer.
    Retry(PartitionId),
    /// Producer or consumer: ask for metadata again.
    Metadata,
    /// Broker (as a group's coordinator): this member's session runs out.
    Member(GroupId, NodeId),
    /// Consumer: send the coordinator a heartbeat.
    GroupHeartbeat,
    /// Consumer: fetch for every assigned partition that is idle.
    Poll,
    /// Consumer: the batch of this partition is processed.
    Process(PartitionId),
}

impl Encode for PubSubTimer {
    fn encode(&self, h: &mut TraceHasher) {
        match self {
            PubSubTimer::Heartbeat => 1u8.encode(h),
            PubSubTimer::Fetch => 2u8.encode(h),
            PubSubTimer::IsrCheck => 3u8.encode(h),
            PubSubTimer::Session(n) => (4u8, n).encode(h),
            PubSubTimer::Retry(p) => (5u8, p).encode(h),
            PubSubTimer::Metadata => 6u8.encode(h),
            PubSubTimer::Member(g, n) => (7u8, g, n).encode(h),
            PubSubTimer::GroupHeartbeat => 8u8.encode(h),
            PubSubTimer::Poll => 9u8.encode(h),
            PubSubTimer::Process(p) => (10u8, p).encode(h),
        }
    }
}

/// What survives a crash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PubSubDurable {
    /// A broker's partition logs.
    Broker(BrokerDurable),
    /// The controller's incarnation and partition table.
    Controller(ControllerDurable),
    /// A producer's counters.
    Producer(ProducerDurable),
    /// A consumer's session number.
    Consumer(ConsumerDurable),
}

impl Encode for PubSubDurable {
    fn encode(&self, h: &mut TraceHasher) {
        match self {
            PubSubDurable::Broker(b) => (1u8, b).encode(h),
            PubSubDurable::Controller(c) => (2u8, c).encode(h),
            PubSubDurable::Producer(p) => (3u8, p).encode(h),
            PubSubDurable::Consumer(c) => (4u8, c).encode(h),
        }
    }
}

/// An operation handed to a node from outside.
#[derive(Clone, PartialEq, Eq)]
pub enum PubSubOp {
    /// Producer: publish a new message with this key.
    Publish {
        /// The key, which picks the partition.
        key: u32,
    },
}

/// Written as a script writes it (`publish 3`), because the event log and
/// the trace show operations through `Debug`.
impl std::fmt::Debug for PubSubOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PubSubOp::Publish { key } => write!(f, "publish {key}"),
        }
    }
}

impl Encode for PubSubOp {
    fn encode(&self, h: &mut TraceHasher) {
        match self {
            PubSubOp::Publish { key } => (1u8, key).encode(h),
        }
    }
}

/// Facts nodes report to the checker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PubSubObs {
    /// A broker appended `records` to its replica of `partition`, the first
    /// at offset `from`.
    Appended {
        /// The partition.
        partition: PartitionId,
        /// The offset of the first record.
        from: Offset,
        /// The records.
        records: Vec<Record>,
    },
    /// A broker truncated its replica of `partition` to `to` records.
    Truncated {
        /// The partition.
        partition: PartitionId,
        /// The new log end.
        to: Offset,
    },
    /// A broker became leader of `partition` in `epoch`.
    BecameLeader {
        /// The partition.
        partition: PartitionId,
        /// The epoch.
        epoch: Epoch,
    },
    /// The leader of `partition` in `epoch` advanced its high watermark.
    HighWatermark {
        /// The partition.
        partition: PartitionId,
        /// The leader's epoch.
        epoch: Epoch,
        /// The new high watermark.
        hw: Offset,
    },
    /// The controller decided a partition's new state.
    Decided(PartitionState),
    /// A producer accepted a message to send.
    Published {
        /// The message.
        id: MsgKey,
        /// Its partition.
        partition: PartitionId,
    },
    /// A producer gave up on a message after its last retry.
    GaveUp {
        /// The message.
        id: MsgKey,
    },
    /// A consumer adopted an assignment: it now reads these partitions,
    /// from these offsets (and no others).
    Assigned {
        /// Its group.
        group: GroupId,
        /// The generation.
        generation: Generation,
        /// Its partitions and their start offsets.
        partitions: Vec<(PartitionId, Offset)>,
    },
    /// A consumer moved its position without reading (the records there
    /// were taken back).
    Repositioned {
        /// The partition.
        partition: PartitionId,
        /// The new position.
        offset: Offset,
    },
    /// A consumer processed a record.
    Delivered {
        /// Its group.
        group: GroupId,
        /// The partition.
        partition: PartitionId,
        /// The record's offset.
        offset: Offset,
        /// The message.
        id: MsgKey,
    },
}

/// A pub/sub node.
#[derive(Clone, Debug)]
pub enum PubSubNode {
    /// A broker: hosts a replica of every partition.
    Broker(Broker),
    /// The controller: decides leaders and in-sync sets.
    Controller(Controller),
    /// A producer.
    Producer(Producer),
    /// A consumer, member of one group.
    Consumer(Consumer),
}

impl PubSubNode {
    /// The broker, if this node is one.
    pub fn as_broker(&self) -> Option<&Broker> {
        match self {
            PubSubNode::Broker(b) => Some(b),
            _ => None,
        }
    }

    /// The controller, if this node is it.
    pub fn as_controller(&self) -> Option<&Controller> {
        match self {
            PubSubNode::Controller(c) => Some(c),
            _ => None,
        }
    }

    /// The typed view of this node, for the app's widgets.
    pub fn view(&self) -> PubSubView {
        match self {
            PubSubNode::Broker(b) => PubSubView::Broker(b.view()),
            PubSubNode::Controller(c) => PubSubView::Controller(c.view()),
            PubSubNode::Producer(p) => PubSubView::Producer(p.view()),
            PubSubNode::Consumer(c) => PubSubView::Consumer(c.view()),
        }
    }

    /// The consumer, if this node is one.
    pub fn as_consumer(&self) -> Option<&Consumer> {
        match self {
            PubSubNode::Consumer(c) => Some(c),
            _ => None,
        }
    }

    /// The producer, if this node is one.
    pub fn as_producer(&self) -> Option<&Producer> {
        match self {
            PubSubNode::Producer(p) => Some(p),
            _ => None,
        }
    }
}

impl Node for PubSubNode {
    type Msg = PubSubMsg;
    type Timer = PubSubTimer;
    type Durable = PubSubDurable;
    type Op = PubSubOp;
    type Obs = PubSubObs;

    fn on_start(&mut self, durable: Option<&PubSubDurable>, out: &mut Out<Self>) {
        match self {
            PubSubNode::Broker(b) => b.start(
                match durable {
                    Some(PubSubDurable::Broker(d)) => Some(d),
                    _ => None,
                },
                out,
            ),
            PubSubNode::Controller(c) => c.start(
                match durable {
                    Some(PubSubDurable::Controller(d)) => Some(d),
                    _ => None,
                },
                out,
            ),
            PubSubNode::Producer(p) => p.start(
                match durable {
                    Some(PubSubDurable::Producer(d)) => Some(d),
                    _ => None,
                },
                out,
            ),
            PubSubNode::Consumer(c) => c.start(
                match durable {
                    Some(PubSubDurable::Consumer(d)) => Some(d),
                    _ => None,
                },
                out,
            ),
        }
    }

    fn on_message(&mut self, from: NodeId, msg: &PubSubMsg, out: &mut Out<Self>) {
        match self {
            PubSubNode::Broker(b) => b.on_message(from, msg, out),
            PubSubNode::Controller(c) => c.on_message(from, msg, out),
            PubSubNode::Producer(p) => p.on_message(from, msg, out),
            PubSubNode::Consumer(c) => c.on_message(from, msg, out),
        }
    }

    fn on_timer(&mut self, timer: &PubSubTimer, out: &mut Out<Self>) {
        match self {
            PubSubNode::Broker(b) => b.on_timer(timer, out),
            PubSubNode::Controller(c) => c.on_timer(timer, out),
            PubSubNode::Producer(p) => p.on_timer(timer, out),
            PubSubNode::Consumer(c) => c.on_timer(timer, out),
        }
    }

    fn on_op(&mut self, op: &PubSubOp, out: &mut Out<Self>) {
        match (self, op) {
            (PubSubNode::Producer(p), PubSubOp::Publish { key }) => p.publish(*key, out),
            (PubSubNode::Broker(b), PubSubOp::Publish { key }) => out.note(format!(
                "{} is a broker: hand publish {key} to a producer",
                b.id()
            )),
            (PubSubNode::Controller(c), PubSubOp::Publish { key }) => out.note(format!(
                "{} is the controller: hand publish {key} to a producer",
                c.id()
            )),
            (PubSubNode::Consumer(c), PubSubOp::Publish { key }) => out.note(format!(
                "{} is a consumer: hand publish {key} to a producer",
                c.id()
            )),
        }
    }

    fn scene(&self) -> NodeScene {
        match self {
            PubSubNode::Broker(b) => b.scene(),
            PubSubNode::Controller(c) => c.scene(),
            PubSubNode::Producer(p) => p.scene(),
            PubSubNode::Consumer(c) => c.scene(),
        }
    }
}
