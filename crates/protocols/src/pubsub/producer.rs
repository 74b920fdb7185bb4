//! A producer: keyed messages to partition leaders, one in flight per
//! partition, retried with the same idempotence stamp until answered or out
//! of retries.

use sim::sorted::SortedMap;
use std::collections::VecDeque;
use std::rc::Rc;

use sim::{impl_encode, Durability, Duration, NodeId, NodeKind, NodeScene, Out};

use super::msg::{Outgoing, PartitionState, ProduceResult, ProducerSeq, PubSubMsg};
use super::node::{PubSubDurable, PubSubNode, PubSubObs, PubSubTimer};
use super::view::{InFlightView, ProducerView};
use super::{Acks, MsgKey, Offset, PartitionId, Settings};

/// What a producer persists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProducerDurable {
    /// The latest session; each start opens the next.
    pub session: u64,
    /// The number of the last message created.
    pub last_n: u64,
}

impl_encode!(ProducerDurable { session, last_n });

/// The most messages a producer queues per partition; more are refused.
pub const QUEUE_LIMIT: usize = 64;

/// How long a producer waits before asking for metadata again while some
/// partition's leader is unknown.
pub const METADATA_RETRY: Duration = Duration::from_ms(100);

/// The most messages one produce request carries.
pub const MAX_BATCH: usize = 16;

/// A message waiting to be sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    /// The message.
    pub id: MsgKey,
    /// Its key.
    pub key: u32,
    /// Its idempotence stamp.
    pub seq: ProducerSeq,
}

/// The batch in flight to a partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    /// Its messages, in order.
    pub messages: Vec<Pending>,
    /// How many times it has been sent.
    pub attempts: u32,
}

impl Batch {
    /// The first message's id, which names the batch in replies.
    pub fn first(&self) -> MsgKey {
        self.messages[0].id
    }
}

/// A producer's state for one partition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lane {
    /// Messages not sent yet.
    pub queue: VecDeque<Pending>,
    /// The batch in flight, if any.
    pub in_flight: Option<Batch>,
    /// The next sequence number in this session.
    pub next_seq: u64,
}

/// A producer.
#[derive(Clone, Debug)]
pub struct Producer {
    id: NodeId,
    brokers: Vec<NodeId>,
    settings: Rc<Settings>,
    durable: ProducerDurable,
    /// Who leads each partition, as far as this producer knows.
    metadata: SortedMap<PartitionId, PartitionState>,
    lanes: SortedMap<PartitionId, Lane>,
    /// The broker asked for metadata next (round robin).
    cursor: usize,
    /// Whether the metadata timer is set.
    metadata_armed: bool,
    /// Messages acknowledged, with their offsets (volatile, for the view).
    acked: Vec<(MsgKey, PartitionId, Offset)>,
    /// Messages sent with `acks=0`, or given up on (for the view).
    sent_unacked: u64,
    gave_up: u64,
}

impl Producer {
    /// A producer that talks to `brokers`.
    pub fn new(id: NodeId, brokers: Vec<NodeId>, settings: Rc<Settings>) -> Producer {
        Producer {
            id,
            brokers,
            settings,
            durable: ProducerDurable::default(),
            metadata: SortedMap::new(),
            lanes: SortedMap::new(),
            cursor: 0,
            metadata_armed: false,
            acked: Vec::new(),
            sent_unacked: 0,
            gave_up: 0,
        }
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The messages acknowledged since the last start, in order.
    pub fn acked(&self) -> &[(MsgKey, PartitionId, Offset)] {
        &self.acked
    }

    /// How many messages wait or are in flight.
    pub fn pending(&self) -> usize {
        self.lanes
            .values()
            .map(|l| l.queue.len() + l.in_flight.as_ref().map_or(0, |b| b.messages.len()))
            .sum()
    }

    pub(super) fn start(&mut self, durable: Option<&ProducerDurable>, out: &mut Out<PubSubNode>) {
        if let Some(d) = durable {
            self.durable = d.clone();
        }
        self.durable.session += 1;
        out.persist(PubSubDurable::Producer(self.durable.clone()));
        self.ask_metadata(out);
    }

    /// Asks a broker (the next in turn) for metadata now, and again at the
    /// metadata timer until every partition has a known leader.
    fn ask_metadata(&mut self, out: &mut Out<PubSubNode>) {
        let b = self.brokers[self.cursor % self.brokers.len()];
        self.cursor += 1;
        out.send(b, PubSubMsg::MetadataRequest);
        out.set_timer(PubSubTimer::Metadata, METADATA_RETRY, METADATA_RETRY);
        self.metadata_armed = true;
    }

    /// Asks for metadata at the metadata timer, arming it if it is not.
    /// What answers bring (a reply naming no leader, a "not leader" error)
    /// asks this way, never at once: otherwise every reply would ask again,
    /// and with the network duplicating messages the requests would
    /// multiply without bound.
    fn want_metadata(&mut self, out: &mut Out<PubSubNode>) {
        if !self.metadata_armed {
            out.set_timer(PubSubTimer::Metadata, METADATA_RETRY, METADATA_RETRY);
            self.metadata_armed = true;
        }
    }

    fn leader(&self, p: PartitionId) -> Option<NodeId> {
        self.metadata.get(&p).and_then(|s| s.leader)
    }

    pub(super) fn publish(&mut self, key: u32, out: &mut Out<PubSubNode>) {
        let p = self.settings.partition_for(key);
        let lane = self.lanes.entry(p).or_default();
        if lane.queue.len() >= QUEUE_LIMIT {
            out.note(format!(
                "{}'s queue for {p} is full: the message is refused",
                self.id
            ));
            return;
        }
        self.durable.last_n += 1;
        let id = MsgKey {
            producer: self.id,
            n: self.durable.last_n,
        };
        let seq = ProducerSeq {
            session: self.durable.session,
            seq: lane.next_seq,
        };
        lane.next_seq += 1;
        lane.queue.push_back(Pending { id, key, seq });
        out.persist(PubSubDurable::Producer(self.durable.clone()));
        out.observe(PubSubObs::Published { id, partition: p });
        self.pump(p, out);
    }

    /// Sends the next batch of partition `p` if nothing is in flight there
    /// and its leader is known (with `acks=0`, sends everything).
    fn pump(&mut self, p: PartitionId, out: &mut Out<PubSubNode>) {
        let Some(leader) = self.leader(p) else {
            self.want_metadata(out);
            return;
        };
        let acks = self.settings.acks;
        let timeout = self.settings.request_timeout;
        let idempotence = self.settings.idempotence;
        let lane = self.lanes.entry(p).or_default();
        while lane.in_flight.is_none() && !lane.queue.is_empty() {
            let n = lane.queue.len().min(MAX_BATCH);
            let batch = Batch {
                messages: lane.queue.drain(..n).collect(),
                attempts: 1,
            };
            out.send(leader, produce(p, &batch, acks, idempotence));
            if acks == Acks::Zero {
                self.sent_unacked += batch.messages.len() as u64;
                continue;
            }
            lane.in_flight = Some(batch);
            out.set_timer(PubSubTimer::Retry(p), timeout, timeout);
        }
    }

    /// Sends the batch in flight to `p` again, or gives up on it.
    fn retry(&mut self, p: PartitionId, out: &mut Out<PubSubNode>) {
        let retries = self.settings.retries;
        let timeout = self.settings.request_timeout;
        let idempotence = self.settings.idempotence;
        let acks = self.settings.acks;
        let leader = self.leader(p);
        let Some(lane) = self.lanes.get_mut(&p) else {
            return;
        };
        let Some(batch) = &mut lane.in_flight else {
            return;
        };
        if batch.attempts > retries {
            out.note(format!(
                "{} gives up on batch {} after {} attempts",
                self.id,
                batch.first(),
                batch.attempts
            ));
            for m in &batch.messages {
                out.observe(PubSubObs::GaveUp { id: m.id });
            }
            self.gave_up += batch.messages.len() as u64;
            lane.in_flight = None;
            self.pump(p, out);
            return;
        }
        batch.attempts += 1;
        if let Some(leader) = leader {
            out.send(leader, produce(p, batch, acks, idempotence));
        }
        out.set_timer(PubSubTimer::Retry(p), timeout, timeout);
    }

    /// The leader of `p` changed: the message in flight there goes to the
    /// new leader now, as an attempt of its own, instead of waiting for its
    /// timeout.
    fn resend(&mut self, p: PartitionId, out: &mut Out<PubSubNode>) {
        let in_flight = self.lanes.get(&p).is_some_and(|l| l.in_flight.is_some());
        if in_flight && self.leader(p).is_some() {
            self.retry(p, out);
        }
    }

    pub(super) fn on_message(&mut self, _from: NodeId, msg: &PubSubMsg, out: &mut Out<PubSubNode>) {
        match msg {
            PubSubMsg::Metadata { states } => {
                for s in states.iter() {
                    let newer = self
                        .metadata
                        .get(&s.partition)
                        .is_none_or(|known| known.version < s.version);
                    if newer {
                        let moved = self.leader(s.partition) != s.leader;
                        self.metadata.insert(s.partition, s.clone());
                        if moved {
                            self.resend(s.partition, out);
                        }
                    }
                }
                if self.settings.partitions().all(|p| self.leader(p).is_some()) {
                    out.cancel_timer(PubSubTimer::Metadata);
                    self.metadata_armed = false;
                }
                let lanes: Vec<PartitionId> = self.lanes.keys().copied().collect();
                for p in lanes {
                    self.pump(p, out);
                }
            }
            PubSubMsg::ProduceReply {
                partition,
                first,
                result,
            } => self.on_produce_reply(*partition, *first, result, out),
            other => out.note(format!(
                "{} ignores a {}",
                self.id,
                sim::Message::kind(other)
            )),
        }
    }

    fn on_produce_reply(
        &mut self,
        p: PartitionId,
        first: MsgKey,
        result: &ProduceResult,
        out: &mut Out<PubSubNode>,
    ) {
        let Some(lane) = self.lanes.get_mut(&p) else {
            return;
        };
        if lane.in_flight.as_ref().is_none_or(|b| b.first() != first) {
            // An answer to a message settled already (a duplicate or a late
            // answer to an earlier attempt).
            return;
        }
        match result {
            ProduceResult::Ok(written) => {
                lane.in_flight = None;
                out.cancel_timer(PubSubTimer::Retry(p));
                let name = self.settings.partition_name(p);
                for &(id, offset) in written.iter() {
                    self.acked.push((id, p, offset));
                    out.milestone(
                        "message-acknowledged",
                        format!("{id} acknowledged at {name}@{offset}"),
                    );
                }
                self.pump(p, out);
            }
            ProduceResult::NotLeader => {
                // Ask who leads now; the retry timer resends.
                self.want_metadata(out);
            }
            ProduceResult::NotEnoughReplicas => {}
        }
    }

    pub(super) fn on_timer(&mut self, timer: &PubSubTimer, out: &mut Out<PubSubNode>) {
        match *timer {
            PubSubTimer::Metadata => {
                self.metadata_armed = false;
                self.ask_metadata(out);
            }
            PubSubTimer::Retry(p) => {
                // No answer may mean the leader moved: ask too.
                self.ask_metadata(out);
                self.retry(p, out);
            }
            _ => {}
        }
    }

    /// The widget's view of this producer.
    pub fn view(&self) -> ProducerView {
        ProducerView {
            id: self.id,
            acks: self.settings.acks,
            session: self.durable.session,
            created: self.durable.last_n,
            queued: self.lanes.values().map(|l| l.queue.len()).sum(),
            in_flight: self
                .lanes
                .iter()
                .filter_map(|(&p, l)| {
                    l.in_flight.as_ref().map(|b| InFlightView {
                        partition: p,
                        messages: b.messages.iter().map(|m| m.id).collect(),
                        attempts: b.attempts,
                    })
                })
                .collect(),
            acknowledged: self.acked.len(),
            recent: self.acked.iter().rev().take(8).copied().collect(),
            sent_unacked: self.sent_unacked,
            gave_up: self.gave_up,
        }
    }

    pub(super) fn scene(&self) -> NodeScene {
        let acked: Vec<String> = self
            .acked
            .iter()
            .rev()
            .take(8)
            .map(|(id, p, o)| format!("{id}@{p}:{o}"))
            .collect();
        let in_flight: Vec<String> = self
            .lanes
            .values()
            .filter_map(|l| l.in_flight.as_ref())
            .map(|b| {
                format!(
                    "{} messages from {} (try {})",
                    b.messages.len(),
                    b.first(),
                    b.attempts
                )
            })
            .collect();
        NodeScene::new(NodeKind::Producer, "producer", self.id.to_string())
            .badge(self.settings.acks.to_string(), "acks")
            .row(
                "session",
                self.durable.session.to_string(),
                Durability::Durable,
            )
            .row(
                "messages created",
                self.durable.last_n.to_string(),
                Durability::Durable,
            )
            .row("pending", self.pending().to_string(), Durability::Volatile)
            .row("in flight", in_flight.join(", "), Durability::Volatile)
            .row(
                "acknowledged",
                format!("{} (latest {})", self.acked.len(), acked.join(" ")),
                Durability::Volatile,
            )
            .row(
                "sent without ack / given up",
                format!("{} / {}", self.sent_unacked, self.gave_up),
                Durability::Volatile,
            )
    }
}

/// The produce request for `batch`.
fn produce(p: PartitionId, batch: &Batch, acks: Acks, idempotence: bool) -> PubSubMsg {
    PubSubMsg::Produce {
        partition: p,
        batch: batch
            .messages
            .iter()
            .map(|m| Outgoing {
                id: m.id,
                key: m.key,
                seq: idempotence.then_some(m.seq),
            })
            .collect(),
        acks,
    }
}
