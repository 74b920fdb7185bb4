//! A consumer: a member of one group. It finds the group's coordinator
//! (the leader of the group's offsets partition, from metadata; again
//! whenever a broker answers `NotCoordinator` or the coordinator stops
//! answering heartbeats), joins through it,
//! reads the partitions it is assigned from their leaders (up to the high
//! watermark), processes each batch, and commits the offset after it:
//! after processing (at-least-once) or before (at-most-once).

use sim::sorted::SortedMap;
use std::rc::Rc;

use sim::{impl_encode, Durability, NodeId, NodeKind, NodeScene, Out};

use super::msg::{ConsumerFetchResult, PartitionState, PubSubMsg, Record};
use super::node::{PubSubDurable, PubSubNode, PubSubObs, PubSubTimer};
use super::producer::METADATA_RETRY;
use super::view::{ConsumerView, PositionView};
use super::{Delivery, Generation, GroupId, MsgKey, Offset, PartitionId, Settings};

/// How many heartbeats in a row may go unanswered (or polls pass with a
/// commit unacknowledged) before a consumer looks its coordinator up again.
pub const COORDINATOR_SILENCE: u32 = 3;

/// A consumer's state for one assigned partition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Position {
    /// The next offset to fetch.
    pub next: Offset,
    /// The offset this consumer last committed (or was assigned from).
    pub committed: Offset,
    /// The highest commit the coordinator has confirmed. A commit the
    /// network lost is sent again at the next poll.
    pub confirmed: Offset,
    /// The batch being processed, from this offset, if any.
    pub batch: Option<(Offset, Vec<Record>)>,
    /// Whether the batch's processing has started (at-most-once: only once
    /// the commit past it is acknowledged).
    pub processing: bool,
    /// Whether a fetch is out with no answer yet. Still unanswered at the
    /// next poll, it suggests the leader moved or died: ask for metadata.
    pub waiting: bool,
    /// The leader's high watermark in the latest fetch answer.
    pub hw: Offset,
}

impl Position {
    /// How far the group's commit trails what could be read: the high
    /// watermark last seen minus the committed offset.
    pub fn lag(&self) -> u64 {
        self.hw.0.saturating_sub(self.committed.0)
    }
}

/// What a consumer persists: the number of its session, one more at every
/// start. An assignment names the session it answers, so one that the
/// network delayed past a restart (the consumer has forgotten its
/// generation, and would take any) is told apart from the answer to the
/// new session's JoinGroup.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsumerDurable {
    /// The current session.
    pub session: u64,
}

impl_encode!(ConsumerDurable { session });

/// A consumer.
#[derive(Clone, Debug)]
pub struct Consumer {
    id: NodeId,
    group: GroupId,
    brokers: Vec<NodeId>,
    settings: Rc<Settings>,
    /// Heartbeats sent since the coordinator last answered anything.
    unanswered: u32,
    /// Polls in a row with a commit not acknowledged yet.
    unconfirmed_polls: u32,
    durable: ConsumerDurable,
    generation: Generation,
    assigned: SortedMap<PartitionId, Position>,
    metadata: SortedMap<PartitionId, PartitionState>,
    cursor: usize,
    /// Messages processed since the last start (for the view).
    delivered: u64,
}

impl Consumer {
    /// A member of `group`, reading from `brokers`.
    pub fn new(
        id: NodeId,
        group: GroupId,
        brokers: Vec<NodeId>,
        settings: Rc<Settings>,
    ) -> Consumer {
        Consumer {
            id,
            group,
            brokers,
            settings,
            unanswered: 0,
            unconfirmed_polls: 0,
            durable: ConsumerDurable::default(),
            generation: Generation(0),
            assigned: SortedMap::new(),
            metadata: SortedMap::new(),
            cursor: 0,
            delivered: 0,
        }
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// Its group.
    pub fn group(&self) -> GroupId {
        self.group
    }

    /// The generation of its assignment.
    pub fn generation(&self) -> Generation {
        self.generation
    }

    /// Its partitions and where it is in each.
    pub fn assigned(&self) -> &SortedMap<PartitionId, Position> {
        &self.assigned
    }

    /// Whether a batch is being processed (or, at-most-once, waits for
    /// its commit to be acknowledged).
    pub fn busy(&self) -> bool {
        self.assigned.values().any(|p| p.batch.is_some())
    }

    /// Whether a batch's processing has started.
    pub fn processing(&self) -> bool {
        self.assigned.values().any(|p| p.processing)
    }

    fn mode(&self) -> Delivery {
        self.settings.groups[self.group.0 as usize].mode
    }

    /// The group's coordinator as far as this consumer knows: the leader
    /// of the group's offsets partition in the newest metadata it has.
    pub fn coordinator(&self) -> Option<NodeId> {
        let p = self.settings.offsets_partition(self.group);
        self.metadata.get(&p).and_then(|s| s.leader)
    }

    /// Sends `msg` to the coordinator, or looks the coordinator up.
    fn send_to_coordinator(&mut self, msg: PubSubMsg, out: &mut Out<PubSubNode>) {
        match self.coordinator() {
            Some(c) => out.send(c, msg),
            None => self.ask_metadata(out),
        }
    }

    fn join(&mut self, out: &mut Out<PubSubNode>) {
        let group = self.group;
        let session = self.durable.session;
        self.send_to_coordinator(PubSubMsg::JoinGroup { group, session }, out);
    }

    pub(super) fn start(&mut self, durable: Option<&ConsumerDurable>, out: &mut Out<PubSubNode>) {
        if let Some(d) = durable {
            self.durable = d.clone();
        }
        self.durable.session += 1;
        out.persist(PubSubDurable::Consumer(self.durable.clone()));
        // The coordinator is not known yet: the join goes out with the
        // first metadata that names it.
        let s = &self.settings;
        out.set_timer(
            PubSubTimer::GroupHeartbeat,
            s.group_heartbeat_interval,
            s.group_heartbeat_interval,
        );
        out.set_timer(PubSubTimer::Poll, s.fetch_interval, s.fetch_interval);
        self.ask_metadata(out);
    }

    fn ask_metadata(&mut self, out: &mut Out<PubSubNode>) {
        let b = self.brokers[self.cursor % self.brokers.len()];
        self.cursor += 1;
        out.send(b, PubSubMsg::MetadataRequest);
        out.set_timer(PubSubTimer::Metadata, METADATA_RETRY, METADATA_RETRY);
    }

    fn fetch(&mut self, p: PartitionId, out: &mut Out<PubSubNode>) {
        let leader = self.metadata.get(&p).and_then(|s| s.leader);
        let Some(pos) = self.assigned.get_mut(&p) else {
            return;
        };
        if pos.batch.is_some() {
            return;
        }
        match leader {
            Some(leader) => {
                pos.waiting = true;
                out.send(
                    leader,
                    PubSubMsg::ConsumerFetch {
                        partition: p,
                        offset: pos.next,
                    },
                );
            }
            None => self.ask_metadata(out),
        }
    }

    fn commit(&mut self, p: PartitionId, offset: Offset, out: &mut Out<PubSubNode>) {
        let msg = PubSubMsg::OffsetCommit {
            group: self.group,
            generation: self.generation,
            partition: p,
            offset,
        };
        self.send_to_coordinator(msg, out);
    }

    pub(super) fn on_message(&mut self, from: NodeId, msg: &PubSubMsg, out: &mut Out<PubSubNode>) {
        if matches!(
            msg,
            PubSubMsg::Assignment { .. }
                | PubSubMsg::GroupHeartbeatReply { .. }
                | PubSubMsg::OffsetCommitReply { .. }
        ) && Some(from) == self.coordinator()
        {
            self.unanswered = 0;
        }
        match msg {
            PubSubMsg::Assignment {
                group,
                generation,
                partitions,
                session,
            } if *group == self.group => {
                if *session == self.durable.session {
                    self.on_assignment(*generation, partitions, out)
                } else {
                    out.note(format!(
                        "{} ignores an assignment for its session {session}: it is in session {}",
                        self.id, self.durable.session
                    ));
                }
            }
            PubSubMsg::GroupHeartbeatReply { rejoin: true, .. } => self.join(out),
            PubSubMsg::NotCoordinator { group } if *group == self.group => {
                out.note(format!(
                    "{from} does not coordinate {group}: {} looks the coordinator up",
                    self.id
                ));
                self.ask_metadata(out);
            }
            PubSubMsg::OffsetCommitReply {
                group,
                partition,
                offset,
                accepted: true,
            } if *group == self.group => {
                let at_most_once = self.mode() == Delivery::AtMostOnce;
                let t = self.settings.processing_time;
                if let Some(pos) = self.assigned.get_mut(partition) {
                    pos.confirmed = pos.confirmed.max(*offset);
                    // At-most-once: the commit past the batch is durable,
                    // so the batch may be processed now (a synchronous
                    // commit, as with Kafka's commitSync).
                    if at_most_once
                        && pos.batch.is_some()
                        && !pos.processing
                        && pos.confirmed >= pos.next
                    {
                        pos.processing = true;
                        out.set_timer(PubSubTimer::Process(*partition), t, t);
                    }
                }
            }
            PubSubMsg::OffsetCommitReply {
                accepted: false, ..
            } => {
                // Fenced: this member missed a rebalance.
                self.join(out);
            }
            PubSubMsg::Metadata { states } => {
                let before = self.coordinator();
                for s in states.iter() {
                    let newer = self
                        .metadata
                        .get(&s.partition)
                        .is_none_or(|known| known.version < s.version);
                    if newer {
                        self.metadata.insert(s.partition, s.clone());
                    }
                }
                if self
                    .settings
                    .partitions()
                    .all(|p| self.metadata.get(&p).and_then(|s| s.leader).is_some())
                {
                    out.cancel_timer(PubSubTimer::Metadata);
                }
                let after = self.coordinator();
                if after != before {
                    self.unanswered = 0;
                    if before.is_none() && self.generation == Generation(0) {
                        self.join(out);
                    }
                }
            }
            PubSubMsg::ConsumerFetchReply {
                partition,
                offset,
                result,
            } => self.on_fetch_reply(*partition, *offset, result, out),
            _ => {}
        }
    }

    /// Adopts a newer assignment: partitions no longer ours are dropped
    /// (a batch being processed there is abandoned), and every partition
    /// starts again from its committed offset. An assignment of the
    /// generation this consumer is in already is ignored: a generation has
    /// one assignment, which it holds, and its positions have moved on
    /// from the offsets a copy names (the network duplicated or delayed
    /// it, or a new coordinator announced the generation again); going
    /// back would process again what the group committed, which an
    /// at-most-once group promises never to do.
    fn on_assignment(
        &mut self,
        generation: Generation,
        partitions: &[(PartitionId, Offset)],
        out: &mut Out<PubSubNode>,
    ) {
        if generation <= self.generation {
            return;
        }
        for (&p, pos) in &self.assigned {
            if pos.batch.is_some() {
                out.cancel_timer(PubSubTimer::Process(p));
            }
        }
        self.generation = generation;
        self.assigned = partitions
            .iter()
            .map(|&(p, o)| {
                (
                    p,
                    Position {
                        next: o,
                        committed: o,
                        confirmed: o,
                        batch: None,
                        processing: false,
                        waiting: false,
                        hw: o,
                    },
                )
            })
            .collect();
        out.observe(PubSubObs::Assigned {
            group: self.group,
            generation,
            partitions: partitions.to_vec(),
        });
        let ps: Vec<PartitionId> = self.assigned.keys().copied().collect();
        for p in ps {
            self.fetch(p, out);
        }
    }

    fn on_fetch_reply(
        &mut self,
        p: PartitionId,
        offset: Offset,
        result: &ConsumerFetchResult,
        out: &mut Out<PubSubNode>,
    ) {
        let mode = self.mode();
        let processing = self.settings.processing_time;
        let Some(pos) = self.assigned.get_mut(&p) else {
            return;
        };
        pos.waiting = false;
        if let ConsumerFetchResult::Records { hw, .. } = result {
            pos.hw = pos.hw.max(*hw);
        }
        if pos.next != offset || pos.batch.is_some() {
            return;
        }
        match result {
            ConsumerFetchResult::Records { records, .. } if !records.is_empty() => {
                let next = Offset(offset.0 + records.len() as u64);
                pos.next = next;
                pos.batch = Some((offset, records.to_vec()));
                if mode == Delivery::AtMostOnce {
                    // Commit first, and process once the commit is
                    // acknowledged: if this consumer dies before the batch
                    // is processed, nobody will process it.
                    pos.committed = next;
                    self.commit(p, next, out);
                } else {
                    pos.processing = true;
                    out.set_timer(PubSubTimer::Process(p), processing, processing);
                }
            }
            ConsumerFetchResult::Records { .. } => {}
            ConsumerFetchResult::OutOfRange { log_end } => {
                out.note(format!(
                    "{}'s position {offset} in {p} is past the log end: it moves to {log_end}",
                    self.id
                ));
                pos.next = *log_end;
                out.observe(PubSubObs::Repositioned {
                    partition: p,
                    offset: *log_end,
                });
            }
            ConsumerFetchResult::NotLeader => self.ask_metadata(out),
        }
    }

    /// The batch of `p` is processed: each record is delivered, and with
    /// at-least-once the offset after it is committed now.
    fn on_processed(&mut self, p: PartitionId, out: &mut Out<PubSubNode>) {
        let mode = self.mode();
        let group = self.group;
        let Some(pos) = self.assigned.get_mut(&p) else {
            return;
        };
        let Some((from, records)) = pos.batch.take() else {
            return;
        };
        pos.processing = false;
        let ids: Vec<MsgKey> = records.iter().map(|r| r.id).collect();
        for (k, r) in records.iter().enumerate() {
            out.observe(PubSubObs::Delivered {
                group,
                partition: p,
                offset: Offset(from.0 + k as u64),
                id: r.id,
            });
        }
        let next = pos.next;
        if mode == Delivery::AtLeastOnce {
            pos.committed = next;
        }
        self.delivered += ids.len() as u64;
        let shown: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
        out.milestone(
            "message-delivered",
            format!("{} processed {} of {p} at {from}", self.id, shown.join(" ")),
        );
        if mode == Delivery::AtLeastOnce {
            self.commit(p, next, out);
        }
        self.fetch(p, out);
    }

    pub(super) fn on_timer(&mut self, timer: &PubSubTimer, out: &mut Out<PubSubNode>) {
        match *timer {
            PubSubTimer::GroupHeartbeat => {
                if self.unanswered >= COORDINATOR_SILENCE {
                    // The coordinator may have crashed or lost its lead:
                    // look it up again, and keep trying meanwhile.
                    self.unanswered = 0;
                    self.ask_metadata(out);
                }
                self.unanswered += 1;
                let msg = PubSubMsg::GroupHeartbeat {
                    group: self.group,
                    generation: self.generation,
                };
                self.send_to_coordinator(msg, out);
                let t = self.settings.group_heartbeat_interval;
                out.set_timer(PubSubTimer::GroupHeartbeat, t, t);
            }
            PubSubTimer::Poll => {
                if self.assigned.values().any(|p| p.waiting) {
                    self.ask_metadata(out);
                }
                // A commit that stays unacknowledged poll after poll may
                // be going to a coordinator that lost its lead without
                // knowing it (cut off from the controller): it still
                // answers heartbeats, but can commit nothing. Look the
                // coordinator up again.
                if self.assigned.values().any(|p| p.confirmed < p.committed) {
                    self.unconfirmed_polls += 1;
                    if self.unconfirmed_polls >= COORDINATOR_SILENCE {
                        self.unconfirmed_polls = 0;
                        self.ask_metadata(out);
                    }
                } else {
                    self.unconfirmed_polls = 0;
                }
                let ps: Vec<PartitionId> = self.assigned.keys().copied().collect();
                for p in ps {
                    let pos = &self.assigned[&p];
                    if pos.confirmed < pos.committed {
                        self.commit(p, pos.committed, out);
                    }
                    self.fetch(p, out);
                }
                let t = self.settings.fetch_interval;
                out.set_timer(PubSubTimer::Poll, t, t);
            }
            PubSubTimer::Process(p) => self.on_processed(p, out),
            PubSubTimer::Metadata => self.ask_metadata(out),
            _ => {}
        }
    }

    /// The widget's view of this consumer.
    pub fn view(&self) -> ConsumerView {
        let spec = &self.settings.groups[self.group.0 as usize];
        ConsumerView {
            id: self.id,
            group: spec.name.clone(),
            mode: spec.mode,
            generation: self.generation,
            partitions: self
                .assigned
                .iter()
                .map(|(&p, pos)| PositionView {
                    partition: p,
                    position: pos.next,
                    committed: pos.committed,
                    lag: pos.lag(),
                    processing: pos.batch.as_ref().map_or(0, |(_, b)| b.len()),
                })
                .collect(),
            processed: self.delivered,
        }
    }

    pub(super) fn scene(&self) -> NodeScene {
        let spec = &self.settings.groups[self.group.0 as usize];
        let mut scene = NodeScene::new(NodeKind::Consumer, "consumer", self.id.to_string())
            .badge(spec.name.clone(), "group")
            .row(
                "group",
                format!("{} ({}), {}", spec.name, spec.mode, self.generation),
                Durability::Volatile,
            )
            .row(
                "processed",
                self.delivered.to_string(),
                Durability::Volatile,
            );
        for (p, pos) in &self.assigned {
            let state = match &pos.batch {
                Some((from, records)) => format!("processing {} from {from}", records.len()),
                None => "fetching".to_string(),
            };
            scene = scene.row(
                self.settings.partition_name(*p),
                format!(
                    "position {}, committed {}, lag {}, {state}",
                    pos.next,
                    pos.committed,
                    pos.lag()
                ),
                Durability::Volatile,
            );
        }
        scene
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pubsub::{Epoch, GroupSpec};

    const P0: PartitionId = PartitionId(0);

    /// A consumer of a one-partition topic, alone in an at-most-once group.
    fn consumer() -> Consumer {
        let mut settings = Settings::safe(1);
        settings.groups.push(GroupSpec {
            name: "g".to_string(),
            members: 1,
            mode: Delivery::AtMostOnce,
        });
        Consumer::new(NodeId(5), GroupId(0), vec![NodeId(0)], Rc::new(settings))
    }

    fn assignment(generation: u64, from: u64) -> PubSubMsg {
        assignment_for(0, generation, from)
    }

    /// An assignment addressed to `session`.
    fn assignment_for(session: u64, generation: u64, from: u64) -> PubSubMsg {
        PubSubMsg::Assignment {
            group: GroupId(0),
            generation: Generation(generation),
            partitions: vec![(P0, Offset(from))],
            session,
        }
    }

    fn records(n: u64) -> ConsumerFetchResult {
        let records: Vec<Record> = (1..=n)
            .map(|k| Record {
                epoch: Epoch(1),
                id: MsgKey {
                    producer: NodeId(4),
                    n: k,
                },
                key: 0,
                seq: None,
                entry: None,
            })
            .collect();
        ConsumerFetchResult::Records {
            records: records.into(),
            hw: Offset(n),
        }
    }

    /// A consumer that restarted has forgotten its generation and would
    /// take any assignment; one the network delayed past the restart names
    /// the session before, and resumes from offsets the group may have
    /// committed past since. Only the new session's answer is adopted.
    #[test]
    fn after_a_restart_only_an_assignment_for_the_new_session_is_adopted() {
        let mut c = consumer();
        let mut out = Out::new();
        c.start(None, &mut out);
        c.start(Some(&ConsumerDurable { session: 1 }), &mut out);
        let stale = assignment_for(1, 1, 0);
        let mut out = Out::new();
        c.on_message(NodeId(0), &stale, &mut out);
        assert!(c.assigned().is_empty(), "the session-1 answer is ignored");
        let fresh = assignment_for(2, 1, 3);
        c.on_message(NodeId(0), &fresh, &mut out);
        assert_eq!(c.assigned()[&P0].next, Offset(3));
    }

    /// An assignment of the generation the consumer is in already is a
    /// copy (the network duplicated it, or a new coordinator announced the
    /// generation again): adopting it would move every position back to
    /// the offsets it names, and an at-most-once member would fetch and
    /// process again what it has committed and is processing.
    #[test]
    fn a_copy_of_the_current_assignment_moves_no_position_back() {
        let mut c = consumer();
        let mut out = Out::new();
        c.on_message(NodeId(0), &assignment(1, 0), &mut out);
        assert_eq!(c.assigned()[&P0].next, Offset(0));
        let reply = PubSubMsg::ConsumerFetchReply {
            partition: P0,
            offset: Offset(0),
            result: records(2),
        };
        c.on_message(NodeId(0), &reply, &mut out);
        assert_eq!(c.assigned()[&P0].next, Offset(2));
        assert!(c.busy(), "the batch waits for its commit");
        let mut out = Out::new();
        c.on_message(NodeId(0), &assignment(1, 0), &mut out);
        assert_eq!(c.assigned()[&P0].next, Offset(2));
        assert!(c.busy(), "the batch is still held");
        assert!(out.observations().is_empty(), "{:?}", out.observations());
        // A newer generation is adopted, from the offset it names.
        c.on_message(NodeId(0), &assignment(2, 2), &mut out);
        assert_eq!(c.generation(), Generation(2));
        assert_eq!(c.assigned()[&P0].next, Offset(2));
        assert!(!c.busy());
    }
}
