//! Typed views of the queue's nodes, for the app's widgets: what a broker's
//! partition logs hold (offsets, epochs, the high watermark, the in-sync
//! set), what a producer has sent, has pending and had acknowledged, what a
//! consumer owns and how far it is (position, committed offset, lag), the
//! controller's table, and each group as its coordinator (the broker that
//! leads the group's offsets partition) sees it. Plain data, compared by
//! value, so a widget redraws only when its node changed.

use sim::NodeId;

use super::msg::PartitionState;
use super::{Acks, Delivery, Epoch, Generation, MsgKey, Offset, PartitionId};

/// The most log rows a replica's view carries (the newest ones).
pub const VIEW_LOG_ROWS: usize = 32;

/// One record of a replica's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordRow {
    /// Its offset.
    pub offset: Offset,
    /// The leader epoch it was appended in.
    pub epoch: Epoch,
    /// The message.
    pub id: MsgKey,
    /// Its key.
    pub key: u32,
    /// Below this replica's high watermark.
    pub committed: bool,
}

/// One broker's replica of one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaView {
    /// The partition.
    pub partition: PartitionId,
    /// Its name, such as `events/0`.
    pub name: String,
    /// Whether it is a partition of the internal `__consumer_offsets`
    /// topic (a group's generations and commits), not of a topic producers
    /// write.
    pub internal: bool,
    /// Whether this broker leads it.
    pub leading: bool,
    /// The controller's latest decision this broker knows.
    pub state: Option<PartitionState>,
    /// The high watermark as this replica knows it.
    pub hw: Offset,
    /// The log end.
    pub leo: Offset,
    /// The last [`VIEW_LOG_ROWS`] records.
    pub log: Vec<RecordRow>,
    /// The ISR change it proposed as leader, not decided yet.
    pub pending_isr: Option<Vec<NodeId>>,
}

/// Everything a broker widget draws.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerView {
    /// The broker.
    pub id: NodeId,
    /// Its replicas, by partition (the internal offsets topic's included).
    pub replicas: Vec<ReplicaView>,
    /// The groups it coordinates: those whose offsets partition it leads.
    pub groups: Vec<GroupView>,
}

/// One group as the coordinator sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupView {
    /// Its name.
    pub name: String,
    /// Its delivery mode.
    pub mode: Delivery,
    /// Its generation.
    pub generation: Generation,
    /// Its members.
    pub members: Vec<NodeId>,
    /// Each partition's owner and committed offset.
    pub owners: Vec<(PartitionId, Option<NodeId>, Offset)>,
}

/// Everything the controller widget draws.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControllerView {
    /// The controller.
    pub id: NodeId,
    /// How many times it has started.
    pub incarnation: u64,
    /// Every partition's state.
    pub table: Vec<PartitionState>,
    /// The brokers whose session is live.
    pub alive: Vec<NodeId>,
}

/// A batch in flight to a partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InFlightView {
    /// The partition.
    pub partition: PartitionId,
    /// Its messages.
    pub messages: Vec<MsgKey>,
    /// How many times it has been sent.
    pub attempts: u32,
}

/// Everything a producer widget draws.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducerView {
    /// The producer.
    pub id: NodeId,
    /// What it waits for.
    pub acks: Acks,
    /// Its idempotence session.
    pub session: u64,
    /// How many messages it has created.
    pub created: u64,
    /// Messages waiting to be sent.
    pub queued: usize,
    /// The batches in flight.
    pub in_flight: Vec<InFlightView>,
    /// How many messages were acknowledged since it started.
    pub acknowledged: usize,
    /// The latest acknowledgements, newest first (at most 8).
    pub recent: Vec<(MsgKey, PartitionId, Offset)>,
    /// Messages sent with `acks=0` (never acknowledged).
    pub sent_unacked: u64,
    /// Messages it gave up on after its last retry.
    pub gave_up: u64,
}

/// One partition a consumer owns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PositionView {
    /// The partition.
    pub partition: PartitionId,
    /// The next offset it fetches.
    pub position: Offset,
    /// The offset it last committed.
    pub committed: Offset,
    /// The high watermark last seen minus the committed offset.
    pub lag: u64,
    /// How many records it is processing now.
    pub processing: usize,
}

/// Everything a consumer widget draws.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerView {
    /// The consumer.
    pub id: NodeId,
    /// Its group's name.
    pub group: String,
    /// Its group's delivery mode.
    pub mode: Delivery,
    /// The generation of its assignment.
    pub generation: Generation,
    /// Its partitions.
    pub partitions: Vec<PositionView>,
    /// How many records it processed since it started.
    pub processed: u64,
}

/// The typed view of one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PubSubView {
    /// A broker.
    Broker(BrokerView),
    /// The controller.
    Controller(ControllerView),
    /// A producer.
    Producer(ProducerView),
    /// A consumer.
    Consumer(ConsumerView),
}
