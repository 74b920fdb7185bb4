//! The pub/sub checker: rules Q1 to Q9 of `docs/checkers.md`, and the final drain,
//! from its own history.
//!
//! It never asks a node what is true. It records the records producers put
//! on the wire and the acknowledgements that reached them; a shadow copy of
//! every replica's log, kept from the appends and truncations brokers
//! report; the *committed* prefix of every partition, grown whenever a
//! leader announces a high watermark (and compared with what was committed
//! before); every decision of the controller; every rebalance and accepted
//! commit of each group's coordinator, read from the records of the
//! internal offsets topic as they become committed (a coordinator's word
//! counts once it is in the committed log, which is what survives it);
//! what each consumer received from a leader
//! (Q6 is judged on the wire), the assignment it adopted and every record
//! it processed. The drain ([`PubSubChecker::drain`], run by
//! [`Checker::finish`]) judges what only the end of a run can show:
//! acknowledged messages a group never processed, per delivery mode.
//!
//! A run is held to what its options promise ([`PubSub::promise`]), and a
//! teaching toggle does not change the promise: it breaks it. Losing an
//! acknowledged message is a violation only with `acks=all` and
//! `min.insync` of 2 or more (and, at the end of a run, `min.insync` a
//! majority and an at-least-once group); a message committed twice only
//! with idempotent producers; a message processed twice only in an
//! at-most-once group. Whatever is not promised is still counted.

use sim::sorted::{SortedMap, SortedSet};

use sim::{Checker, NodeId, Report, Rule, StepEvent, StepRecord, Violation, World};

use super::coordinator::Rebalance;
use super::msg::{
    ConsumerFetchResult, GroupEntry, PartitionState, ProduceResult, PubSubMsg, Record,
};
use super::node::{PubSubNode, PubSubObs};
use super::{Delivery, Epoch, Generation, GroupId, MsgKey, Offset, PartitionId, Promise, PubSub};

/// The rules, in order.
pub const RULES: &[Rule] = &[
    Rule {
        id: "Q1",
        name: "No acknowledged message is lost",
        description: "Every acknowledged message stays at its offset in the committed log, and by the end every at-least-once group has processed it (without groups: its partition's leader holds it). Judged where the options promise it: acks=all with min.insync of 2 or more, and for the end of a run min.insync a majority.",
    },
    Rule {
        id: "Q2",
        name: "One message per offset",
        description: "Once an offset of a partition is committed, it holds that one message for ever: no leader commits another there, and every new leader holds it.",
    },
    Rule {
        id: "Q3",
        name: "Per-partition order",
        description: "A consumer processes a partition's offsets in order, never going back or skipping one, except when a rebalance moves it.",
    },
    Rule {
        id: "Q4",
        name: "No phantom messages",
        description: "Every record in a log is a message some producer sent, with its key and partition, and every record a consumer processes is the one committed at that offset.",
    },
    Rule {
        id: "Q5",
        name: "No duplicates",
        description: "No message is committed twice in a partition (judged with idempotent producers), and an at-most-once group processes none twice (at-least-once duplicates, and copies from producers that are not idempotent, are counted).",
    },
    Rule {
        id: "Q6",
        name: "Reads below the high watermark",
        description: "A consumer never receives a record that is not committed yet.",
    },
    Rule {
        id: "Q7",
        name: "Replication",
        description: "The leader is in the in-sync set and comes from the previous in-sync set; one leader per epoch; the high watermark never exceeds an in-sync replica's log end.",
    },
    Rule {
        id: "Q8",
        name: "Committed offsets",
        description: "A group's committed offset of a partition never goes backwards, a new owner resumes from it, and no consumer adopts an assignment that resumes a partition below a commit already acknowledged.",
    },
    Rule {
        id: "Q9",
        name: "Generation fencing",
        description: "Generations only grow, each partition has one owner per generation, and only that owner's commits are accepted.",
    },
];

/// What the checker has counted so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Messages producers accepted.
    pub published: u64,
    /// Messages acknowledged to their producer.
    pub acknowledged: u64,
    /// Messages committed more than once in a partition.
    pub duplicated: u64,
    /// Messages producers gave up on.
    pub gave_up: u64,
    /// Messages processed, counted once per group.
    pub delivered: u64,
    /// Messages a group processed again (at-least-once redelivery).
    pub redelivered: u64,
    /// Acknowledged messages lost: found while the run played (Q1: another
    /// message committed at their offset), and by the final drain (never
    /// processed by a group, or unreadable). Each message counts once.
    pub lost: u64,
}

/// Checks Q1 to Q9, and drains at the end.
#[derive(Clone, Debug, Default)]
pub struct PubSubChecker {
    /// Every message put on the wire: its partition and key.
    sent: SortedMap<MsgKey, (PartitionId, u32)>,
    /// The first acknowledgement of each message that reached its producer.
    acked: SortedMap<MsgKey, (PartitionId, Offset)>,
    acked_at: SortedMap<(PartitionId, Offset), MsgKey>,
    /// Each replica's log, as its appends and truncations made it.
    shadow: SortedMap<(NodeId, PartitionId), Vec<Record>>,
    /// Each partition's committed prefix, with the epoch of the leader
    /// that committed each offset first.
    committed: SortedMap<PartitionId, Vec<(MsgKey, Epoch)>>,
    /// Messages committed in each partition, to spot duplicates.
    committed_ids: SortedMap<PartitionId, SortedSet<MsgKey>>,
    /// Every decision of the controller, per partition, in order.
    decisions: SortedMap<PartitionId, Vec<PartitionState>>,
    /// Per group: its generation and partition owners, by the latest
    /// rebalance.
    generations: SortedMap<GroupId, (Generation, SortedMap<PartitionId, NodeId>)>,
    /// Per group and partition: the latest accepted commit.
    group_offsets: SortedMap<(GroupId, PartitionId), Offset>,
    /// Per group and partition: the highest commit acknowledged to a
    /// member, with that member.
    acknowledged_commits: SortedMap<(GroupId, PartitionId), (Offset, NodeId)>,
    /// Per consumer and partition: the next offset it may deliver.
    expected: SortedMap<(NodeId, PartitionId), Offset>,
    /// Per group: every message its consumers processed.
    delivered: SortedMap<GroupId, SortedSet<MsgKey>>,
    /// Per group: the messages its consumers processed more than once.
    redelivered: SortedMap<GroupId, SortedSet<MsgKey>>,
    /// Per group: every record (partition and offset) its consumers
    /// processed.
    processed_at: SortedMap<GroupId, SortedSet<(PartitionId, Offset)>>,
    /// Per group: the messages of records its consumers processed more
    /// than once (what at-most-once promises never happens; a producer
    /// that is not idempotent may put one message in two records, which
    /// are two deliveries, not one twice).
    reprocessed: SortedMap<GroupId, SortedSet<MsgKey>>,
    /// Every message counted as lost, so that each counts once.
    lost: SortedSet<MsgKey>,
    counters: Counters,
}

impl PubSubChecker {
    /// A checker with an empty history.
    pub fn new() -> PubSubChecker {
        PubSubChecker::default()
    }

    /// The counters so far.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// A partition's committed prefix, as recorded, with the epoch of the
    /// leader that committed each offset first.
    pub fn committed(&self, p: PartitionId) -> &[(MsgKey, Epoch)] {
        self.committed.get(&p).map_or(&[], |c| c.as_slice())
    }

    /// Every acknowledged message with where it was acknowledged.
    pub fn acked(&self) -> &SortedMap<MsgKey, (PartitionId, Offset)> {
        &self.acked
    }

    /// The final drain: every acknowledged message that cannot be read any
    /// more, as Q1 violations. A message can be read if the partition's
    /// leader (by the controller's latest decision in this checker's
    /// record) is up and holds it at its offset (by the shadow logs). A
    /// partition left offline, or led by a replica without the message,
    /// has lost it for its readers. Call it at the end of a run, once the
    /// cluster has had time to settle.
    /// Returns the violations and the messages they found lost.
    ///
    /// Each verdict is held to what the options promise
    /// ([`PubSub::promise`]): a loss only where the log is durable and
    /// available and the group at-least-once (without groups: where the
    /// log is durable and available), a message processed twice only in an
    /// at-most-once group. What the options do not promise is still
    /// counted as lost.
    pub fn drain(&self, world: &World<PubSub>) -> (Vec<Violation>, SortedSet<MsgKey>) {
        let mut lost = SortedSet::new();
        let promise = world.protocol().promise();
        let found = if world.protocol().settings.groups.is_empty() {
            self.drain_logs(world, &mut lost)
        } else {
            self.drain_groups(world, &promise, &mut lost)
        };
        let judged = found
            .into_iter()
            .filter(|v| v.rule != "Q1" || (promise.durable && promise.available))
            .collect();
        (judged, lost)
    }

    /// The final drain with consumer groups: every acknowledged message of
    /// the topic they read that a group never processed is lost for that
    /// group, reported per group with its delivery mode (the "acknowledged
    /// minus delivered" of Jepsen's queue checkers).
    fn drain_groups(
        &self,
        world: &World<PubSub>,
        promise: &Promise,
        lost_all: &mut SortedSet<MsgKey>,
    ) -> Vec<Violation> {
        let settings = &world.protocol().settings;
        let consumed: SortedSet<PartitionId> = settings.consumed().collect();
        let mut found = Vec::new();
        for g in settings.group_ids() {
            let spec = &settings.groups[g.0 as usize];
            let delivered = self.delivered.get(&g);
            // At-most-once promises that no record is processed twice;
            // at-least-once allows it (counted, not judged).
            let promised = promise.modes[g.0 as usize];
            let again = self.reprocessed.get(&g).map_or(0, SortedSet::len);
            if promised == Delivery::AtMostOnce && again > 0 {
                let shown: Vec<String> = self.reprocessed[&g]
                    .iter()
                    .take(5)
                    .map(|id| id.to_string())
                    .collect();
                let more = if again > 5 { ", ..." } else { "" };
                let messages = if again == 1 { "message" } else { "messages" };
                found.push(Violation {
                    rule: "Q5",
                    step: world.steps(),
                    time: world.now(),
                    nodes: Vec::new(),
                    message: format!(
                        "group {} (at-most-once) processed {again} {messages} more than once ({}{more})",
                        spec.name,
                        shown.join(", ")
                    ),
                });
            }
            let lost: Vec<MsgKey> = self
                .acked
                .iter()
                .filter(|(_, (p, _))| consumed.contains(p))
                .map(|(&id, _)| id)
                .filter(|id| !delivered.is_some_and(|d| d.contains(id)))
                .collect();
            if lost.is_empty() {
                continue;
            }
            lost_all.extend(lost.iter().copied());
            if promised == Delivery::AtMostOnce {
                // Committed before processing: what the mode gives up.
                continue;
            }
            let shown: Vec<String> = lost.iter().take(5).map(|id| id.to_string()).collect();
            let more = if lost.len() > 5 { ", ..." } else { "" };
            let why = match spec.mode {
                Delivery::AtMostOnce => "committed before they were processed",
                Delivery::AtLeastOnce => "never processed",
            };
            let mut nodes: Vec<NodeId> = lost.iter().map(|id| id.producer).collect();
            nodes.sort_unstable();
            nodes.dedup();
            found.push(Violation {
                rule: "Q1",
                step: world.steps(),
                time: world.now(),
                nodes,
                message: format!(
                    "group {} ({}) lost {} acknowledged messages ({}{more}): {why}",
                    spec.name,
                    spec.mode,
                    lost.len(),
                    shown.join(", ")
                ),
            });
        }
        found
    }

    /// The final drain without groups: every acknowledged message whose
    /// partition's leader cannot serve it.
    fn drain_logs(
        &self,
        world: &World<PubSub>,
        lost_all: &mut SortedSet<MsgKey>,
    ) -> Vec<Violation> {
        // Per partition: why its messages cannot be read, and which.
        let mut lost: SortedMap<PartitionId, (String, Vec<(MsgKey, Offset)>)> = SortedMap::new();
        for (&id, &(p, o)) in &self.acked {
            let leader = self
                .decisions
                .get(&p)
                .and_then(|ds| ds.last())
                .and_then(|d| d.leader);
            let readable = leader.is_some_and(|l| {
                world.node(l).is_some()
                    && self
                        .shadow
                        .get(&(l, p))
                        .and_then(|log| log.get(o.index()))
                        .is_some_and(|r| r.id == id)
            });
            if !readable {
                lost_all.insert(id);
                let why = match leader {
                    None => format!("{p} is offline"),
                    Some(l) if world.node(l).is_none() => format!("{p}'s leader {l} is down"),
                    Some(l) => format!("{p}'s leader {l} does not hold them"),
                };
                lost.entry(p)
                    .or_insert_with(|| (why, Vec::new()))
                    .1
                    .push((id, o));
            }
        }
        lost.into_iter()
            .map(|(p, (why, messages))| {
                let shown: Vec<String> = messages
                    .iter()
                    .take(5)
                    .map(|(id, o)| format!("{id} at {o}"))
                    .collect();
                let more = if messages.len() > 5 { ", ..." } else { "" };
                let mut nodes: Vec<NodeId> = messages.iter().map(|(id, _)| id.producer).collect();
                nodes.sort_unstable();
                nodes.dedup();
                Violation {
                    rule: "Q1",
                    step: world.steps(),
                    time: world.now(),
                    nodes,
                    message: format!(
                        "{} acknowledged messages of {p} cannot be read at the end of the run ({}{more}): {why}",
                        messages.len(),
                        shown.join(", ")
                    ),
                }
            })
            .collect()
    }

    fn count_lost(&mut self, id: MsgKey) {
        if self.lost.insert(id) {
            self.counters.lost += 1;
        }
    }

    fn on_sent(&mut self, msg: &PubSubMsg) {
        if let PubSubMsg::Produce {
            partition, batch, ..
        } = msg
        {
            for m in batch.iter() {
                self.sent.entry(m.id).or_insert((*partition, m.key));
            }
        }
    }

    fn on_ack(
        &mut self,
        producer: NodeId,
        p: PartitionId,
        id: MsgKey,
        o: Offset,
        durable: impl Fn() -> bool,
        report: &mut Report<'_>,
    ) {
        if self.acked.contains_key(&id) {
            return;
        }
        self.counters.acknowledged += 1;
        self.acked.insert(id, (p, o));
        self.acked_at.entry((p, o)).or_insert(id);
        if let Some(&(c, _)) = self.committed(p).get(o.index()) {
            if c != id {
                self.count_lost(id);
                if !durable() {
                    return;
                }
                report.violation(
                    "Q1",
                    &[producer],
                    format!("{producer} was told {id} is at {p}@{o}, but {c} is committed there: {id} is lost"),
                );
            }
        }
    }

    /// Q6: what a consumer receives must be committed already.
    fn on_fetched(
        &mut self,
        consumer: NodeId,
        p: PartitionId,
        offset: Offset,
        result: &ConsumerFetchResult,
        report: &mut Report<'_>,
    ) {
        let ConsumerFetchResult::Records { records, .. } = result else {
            return;
        };
        let committed = self.committed(p).len() as u64;
        if let Some(k) = (0..records.len() as u64).find(|k| offset.0 + k >= committed) {
            report.violation(
                "Q6",
                &[consumer],
                format!(
                    "{consumer} receives {} at {p}@{}, above the high watermark {committed}",
                    records[k as usize].id,
                    offset.0 + k
                ),
            );
        }
    }

    fn on_rebalanced(&mut self, coordinator: NodeId, r: &Rebalance, report: &mut Report<'_>) {
        let previous = self.generations.get(&r.group).map(|(g, _)| *g);
        if previous.is_some_and(|g| r.generation <= g) {
            report.violation(
                "Q9",
                &[coordinator],
                format!(
                    "{} rebalances to {}, but it was at {} already",
                    r.group,
                    r.generation,
                    previous.unwrap_or_default()
                ),
            );
        }
        let mut owners = SortedMap::new();
        for &(p, m, o) in &r.assignment {
            if owners.insert(p, m).is_some() {
                report.violation(
                    "Q9",
                    &[coordinator, m],
                    format!("{p} has two owners in {} {}", r.group, r.generation),
                );
            }
            let committed = self
                .group_offsets
                .get(&(r.group, p))
                .copied()
                .unwrap_or_default();
            if o != committed {
                report.violation(
                    "Q8",
                    &[coordinator, m],
                    format!(
                        "{m} is to resume {p} in {} from {o}, but the committed offset is {committed}",
                        r.group
                    ),
                );
            }
        }
        self.generations.insert(r.group, (r.generation, owners));
    }

    #[allow(clippy::too_many_arguments)]
    fn on_commit_accepted(
        &mut self,
        coordinator: NodeId,
        group: GroupId,
        generation: Generation,
        p: PartitionId,
        offset: Offset,
        member: NodeId,
        report: &mut Report<'_>,
    ) {
        let (current, owner) = self
            .generations
            .get(&group)
            .map(|(g, owners)| (*g, owners.get(&p).copied()))
            .unwrap_or_default();
        if generation != current || owner != Some(member) {
            let owner = owner.map_or_else(|| "nobody".to_string(), |o| o.to_string());
            report.violation(
                "Q9",
                &[coordinator, member],
                format!(
                    "{coordinator} accepts {member}'s commit of {p} at {offset} made in {generation}, but {group} is in {current} and {p} belongs to {owner}"
                ),
            );
        }
        let before = self
            .group_offsets
            .get(&(group, p))
            .copied()
            .unwrap_or_default();
        if offset < before {
            report.violation(
                "Q8",
                &[coordinator, member],
                format!("{group}'s committed offset of {p} goes back from {before} to {offset}"),
            );
        }
        self.group_offsets.insert((group, p), offset);
    }

    fn on_commit_acknowledged(
        &mut self,
        member: NodeId,
        group: GroupId,
        p: PartitionId,
        offset: Offset,
    ) {
        let top = self
            .acknowledged_commits
            .entry((group, p))
            .or_insert((offset, member));
        if offset >= top.0 {
            *top = (offset, member);
        }
    }

    /// A consumer adopts an assignment: a commit acknowledged to the group
    /// is durable, so no partition may resume below it (resuming there
    /// processes again what the group was told it had finished, which an
    /// at-most-once group must never do). The rebalance record's offsets
    /// are checked when it is committed; this catches an old assignment
    /// adopted late, or announced again after later commits.
    fn on_assigned(
        &mut self,
        consumer: NodeId,
        group: GroupId,
        generation: Generation,
        partitions: &[(PartitionId, Offset)],
        report: &mut Report<'_>,
    ) {
        for &(p, o) in partitions {
            let Some(&(acked, member)) = self.acknowledged_commits.get(&(group, p)) else {
                continue;
            };
            if o < acked {
                report.violation(
                    "Q8",
                    &[consumer],
                    format!(
                        "{consumer} adopts {group} {generation} and resumes {p} from {o}, but a commit of {p} at {acked} was acknowledged to {member}"
                    ),
                );
            }
        }
    }

    fn on_delivered(
        &mut self,
        consumer: NodeId,
        group: GroupId,
        p: PartitionId,
        o: Offset,
        id: MsgKey,
        report: &mut Report<'_>,
    ) {
        match self.committed(p).get(o.index()) {
            Some(&(c, _)) if c == id => {}
            Some(&(c, _)) => report.violation(
                "Q4",
                &[consumer],
                format!("{consumer} processes {id} at {p}@{o}, but {c} is committed there"),
            ),
            None => report.violation(
                "Q4",
                &[consumer],
                format!("{consumer} processes {id} at {p}@{o}, which is not committed"),
            ),
        }
        match self.expected.get(&(consumer, p)).copied() {
            Some(e) if e == o => {}
            Some(e) => report.violation(
                "Q3",
                &[consumer],
                format!(
                    "{consumer} processes {p}@{o} after {p}@{}: it {}",
                    e.0.wrapping_sub(1),
                    if o < e { "goes back" } else { "skips offsets" }
                ),
            ),
            None => report.violation(
                "Q3",
                &[consumer],
                format!("{consumer} processes {p}@{o} without being assigned {p}"),
            ),
        }
        self.expected.insert((consumer, p), o.next());
        if !self.processed_at.entry(group).or_default().insert((p, o)) {
            self.reprocessed.entry(group).or_default().insert(id);
        }
        if self.delivered.entry(group).or_default().insert(id) {
            self.counters.delivered += 1;
        } else {
            self.counters.redelivered += 1;
            self.redelivered.entry(group).or_default().insert(id);
        }
    }

    fn on_appended(
        &mut self,
        b: NodeId,
        p: PartitionId,
        from: Offset,
        internal: bool,
        records: &[Record],
        report: &mut Report<'_>,
    ) {
        for (k, r) in records.iter().enumerate() {
            let o = Offset(from.0 + k as u64);
            if r.entry.is_some() != internal {
                report.violation(
                    "Q4",
                    &[b],
                    format!(
                        "{b} holds {} at {p}@{o}: a coordinator's record outside the offsets topic, or a message inside it",
                        r.id
                    ),
                );
                continue;
            }
            if internal {
                continue;
            }
            match self.sent.get(&r.id) {
                None => report.violation(
                    "Q4",
                    &[b],
                    format!("{b} holds {} at {p}@{o}, a message no producer sent", r.id),
                ),
                Some(&(sp, key)) if sp != p || key != r.key => report.violation(
                    "Q4",
                    &[b],
                    format!(
                        "{b} holds {} with key {} at {p}@{o}, but it was sent with key {key} to {sp}",
                        r.id, r.key
                    ),
                ),
                Some(_) => {}
            }
        }
        let log = self.shadow.entry((b, p)).or_default();
        log.truncate(from.index());
        log.extend(records.iter().cloned());
    }

    fn on_high_watermark(
        &mut self,
        b: NodeId,
        p: PartitionId,
        epoch: Epoch,
        hw: Offset,
        promise: impl Fn() -> Promise,
        report: &mut Report<'_>,
    ) {
        let decision = self
            .decisions
            .get(&p)
            .and_then(|ds| ds.iter().rev().find(|d| d.epoch == epoch))
            .cloned();
        match &decision {
            Some(d) if d.leader == Some(b) => {
                for &m in &d.isr {
                    let leo = self.shadow.get(&(m, p)).map_or(0, |l| l.len() as u64);
                    if leo < hw.0 {
                        report.violation(
                            "Q7",
                            &[b, m],
                            format!(
                                "{b} raises the high watermark of {p} to {hw}, but in-sync replica {m} has only {leo} records"
                            ),
                        );
                    }
                }
            }
            _ => report.violation(
                "Q7",
                &[b],
                format!(
                    "{b} announces a high watermark for {p} in {epoch}, which it does not lead"
                ),
            ),
        }
        let log = self.shadow.get(&(b, p)).cloned().unwrap_or_default();
        let committed = self.committed.entry(p).or_default();
        let ids = self.committed_ids.entry(p).or_default();
        let mut entries = Vec::new();
        for (o, rec) in log.iter().enumerate().take(hw.index()) {
            let id = rec.id;
            if let Some(&(c, _)) = committed.get(o) {
                if c != id {
                    report.violation(
                        "Q2",
                        &[b],
                        format!("{b} commits {id} at {p}@{o}, where {c} was committed before"),
                    );
                }
                continue;
            }
            committed.push((id, epoch));
            if let Some(e) = &rec.entry {
                entries.push((GroupId(rec.key), e.clone()));
            }
            if let Some(&a) = self.acked_at.get(&(p, Offset(o as u64))) {
                if a != id {
                    if self.lost.insert(a) {
                        self.counters.lost += 1;
                    }
                    if !promise().durable {
                        continue;
                    }
                    report.violation(
                        "Q1",
                        &[b, a.producer],
                        format!(
                            "acknowledged message {a} at {p}@{o} is lost: {b} commits {id} there"
                        ),
                    );
                }
            }
            if !ids.insert(id) {
                self.counters.duplicated += 1;
                if !promise().idempotent {
                    continue;
                }
                report.violation(
                    "Q5",
                    &[b, id.producer],
                    format!("{id} is committed twice in {p}, the second time at {o}"),
                );
            }
        }
        // The coordinator's records now committed: its rebalances and
        // accepted commits, in log order.
        for (group, e) in entries {
            match e {
                GroupEntry::Generation {
                    generation,
                    assignment,
                    ..
                } => self.on_rebalanced(
                    b,
                    &Rebalance {
                        group,
                        generation,
                        assignment,
                    },
                    report,
                ),
                GroupEntry::Commit {
                    generation,
                    partition,
                    offset,
                    member,
                } => {
                    self.on_commit_accepted(b, group, generation, partition, offset, member, report)
                }
            }
        }
    }

    fn on_decided(&mut self, state: &PartitionState, report: &mut Report<'_>) {
        let p = state.partition;
        let history = self.decisions.entry(p).or_default();
        if let Some(l) = state.leader {
            if !state.isr.contains(&l) {
                report.violation(
                    "Q7",
                    &[l],
                    format!("the leader {l} of {p} is not in its in-sync set"),
                );
            }
            if let Some(same) = history.iter().find(|d| d.epoch == state.epoch) {
                if same.leader.is_some_and(|other| other != l) {
                    report.violation(
                        "Q7",
                        &[l],
                        format!(
                            "{p} has two leaders in {}: {} and {l}",
                            state.epoch,
                            same.leader.unwrap()
                        ),
                    );
                }
            }
            if let Some(prev) = history.last() {
                if prev.leader != Some(l) && !prev.isr.contains(&l) {
                    report.violation(
                        "Q7",
                        &[l],
                        format!(
                            "{l} becomes leader of {p} in {} from outside the in-sync set {}",
                            state.epoch,
                            super::node_set(&prev.isr)
                        ),
                    );
                }
            }
        }
        history.push(state.clone());
    }

    fn on_became_leader(
        &mut self,
        b: NodeId,
        p: PartitionId,
        epoch: Epoch,
        report: &mut Report<'_>,
    ) {
        let decided = self
            .decisions
            .get(&p)
            .and_then(|ds| ds.iter().find(|d| d.epoch == epoch))
            .and_then(|d| d.leader);
        if decided != Some(b) {
            report.violation(
                "Q7",
                &[b],
                format!("{b} leads {p} in {epoch}, but the controller did not make it leader"),
            );
        }
        // A leader must hold every record committed in an earlier epoch
        // (leader completeness). A replica that takes up a stale lead (it
        // was paused and reads an old decision) is only compared with what
        // was committed before its epoch.
        let log = self.shadow.get(&(b, p)).map_or(&[][..], |l| l.as_slice());
        let committed = self.committed.get(&p).map_or(&[][..], |c| c.as_slice());
        let missing = committed
            .iter()
            .enumerate()
            .find(|&(o, &(id, e))| e < epoch && log.get(o).map(|r| r.id) != Some(id));
        if let Some((o, &(id, e))) = missing {
            let held = log
                .get(o)
                .map_or_else(|| "nothing".to_string(), |r| r.id.to_string());
            report.violation(
                "Q2",
                &[b],
                format!(
                    "{b} leads {p} in {epoch} with {held} at offset {o}, where {id} was committed in {e}"
                ),
            );
        }
    }
}

impl Checker<PubSub> for PubSubChecker {
    fn rules(&self) -> &'static [Rule] {
        RULES
    }

    fn counters(&self) -> Vec<(&'static str, u64)> {
        let c = self.counters;
        vec![
            ("published", c.published),
            ("acknowledged", c.acknowledged),
            ("delivered", c.delivered),
            ("duplicated", c.duplicated),
            ("lost", c.lost),
        ]
    }

    /// The final drain; the messages it finds lost count as lost.
    fn finish(&mut self, world: &World<PubSub>) -> Vec<Violation> {
        let (found, lost) = self.drain(world);
        for id in lost {
            self.count_lost(id);
        }
        found
    }

    fn observe(
        &mut self,
        record: &StepRecord<PubSubNode>,
        world: &World<PubSub>,
        report: &mut Report<'_>,
    ) {
        if let StepEvent::Deliver(m) = &record.event {
            if let PubSubMsg::ConsumerFetchReply {
                partition,
                offset,
                result,
            } = &m.msg
            {
                self.on_fetched(m.to, *partition, *offset, result, report);
            }
            if let PubSubMsg::OffsetCommitReply {
                group,
                partition,
                offset,
                accepted: true,
            } = &m.msg
            {
                self.on_commit_acknowledged(m.to, *group, *partition, *offset);
            }
            if let PubSubMsg::ProduceReply {
                partition,
                result: ProduceResult::Ok(written),
                ..
            } = &m.msg
            {
                if world.protocol().producer_ids().contains(&m.to) {
                    let durable = || world.protocol().promise().durable;
                    for &(id, o) in written.iter() {
                        self.on_ack(m.to, *partition, id, o, durable, report);
                    }
                }
            }
        }
        for (_, msg) in record.out.sends() {
            self.on_sent(msg);
        }
        let Some(node) = record.node else { return };
        for obs in record.out.observations() {
            match obs {
                PubSubObs::Appended {
                    partition,
                    from,
                    records,
                } => {
                    let internal = world.protocol().settings.group_of(*partition).is_some();
                    self.on_appended(node, *partition, *from, internal, records, report)
                }
                PubSubObs::Truncated { partition, to } => {
                    if let Some(log) = self.shadow.get_mut(&(node, *partition)) {
                        log.truncate(to.index());
                    }
                }
                PubSubObs::HighWatermark {
                    partition,
                    epoch,
                    hw,
                } => {
                    let promise = || world.protocol().promise();
                    self.on_high_watermark(node, *partition, *epoch, *hw, promise, report)
                }
                PubSubObs::BecameLeader { partition, epoch } => {
                    self.on_became_leader(node, *partition, *epoch, report)
                }
                PubSubObs::Decided(state) => self.on_decided(state, report),
                PubSubObs::Published { .. } => self.counters.published += 1,
                PubSubObs::GaveUp { .. } => self.counters.gave_up += 1,
                PubSubObs::Assigned {
                    group,
                    generation,
                    partitions,
                } => {
                    self.on_assigned(node, *group, *generation, partitions, report);
                    self.expected.retain(|&(c, _), _| c != node);
                    for &(p, o) in partitions {
                        self.expected.insert((node, p), o);
                    }
                }
                PubSubObs::Repositioned { partition, offset } => {
                    self.expected.insert((node, *partition), *offset);
                }
                PubSubObs::Delivered {
                    group,
                    partition,
                    offset,
                    id,
                } => self.on_delivered(node, *group, *partition, *offset, *id, report),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use sim::{Checkers, Fate, InFlight, MsgId, Out, StepEvent, Time, WorldConfig};

    use super::*;
    use crate::pubsub::msg::Outgoing;
    use crate::pubsub::{Acks, GroupSpec};

    /// The checker under test, shared with the test so that its counters
    /// can be read after `Checkers` has fed it.
    #[derive(Clone)]
    struct Probe(Rc<RefCell<PubSubChecker>>);

    impl Checker<PubSub> for Probe {
        fn rules(&self) -> &'static [Rule] {
            RULES
        }

        fn observe(
            &mut self,
            record: &StepRecord<PubSubNode>,
            world: &World<PubSub>,
            report: &mut Report<'_>,
        ) {
            self.0.borrow_mut().observe(record, world, report);
        }

        fn finish(&mut self, world: &World<PubSub>) -> Vec<Violation> {
            self.0.borrow_mut().finish(world)
        }
    }

    /// A hand-made history, fed step by step to the checker.
    struct History {
        world: World<PubSub>,
        checker: Rc<RefCell<PubSubChecker>>,
        checkers: Checkers<PubSub>,
        step: u64,
    }

    impl History {
        /// Three brokers, one producer (`NodeId(4)`, shown n5) and one
        /// group `g` of one consumer (`NodeId(5)`) with delivery `mode`, reading one partition.
        fn new(mode: Delivery) -> History {
            let protocol = PubSub::new(3, 1, 1).with_groups(vec![GroupSpec {
                name: "g".to_string(),
                members: 1,
                mode,
            }]);
            let checker = Rc::new(RefCell::new(PubSubChecker::new()));
            History {
                world: World::new(protocol, WorldConfig::with_seed(1)),
                checkers: Checkers::new(vec![Box::new(Probe(checker.clone()))]),
                checker,
                step: 0,
            }
        }

        /// One step of `node`, handling `event`, with these effects: the
        /// rules it broke.
        fn step(
            &mut self,
            node: u32,
            event: StepEvent<PubSubNode>,
            sends: Vec<(u32, PubSubMsg)>,
            obs: Vec<PubSubObs>,
        ) -> Vec<&'static str> {
            let mut out = Out::new();
            for (to, m) in sends {
                out.send(NodeId(to), m);
            }
            for o in obs {
                out.observe(o);
            }
            let record = StepRecord {
                step: self.step,
                time: Time(self.step * 1_000),
                event,
                node: Some(NodeId(node)),
                out,
                sent: Vec::new(),
                timers_set: Vec::new(),
            };
            self.step += 1;
            let before = self.checkers.violations().len();
            self.checkers.observe(&record, &self.world);
            self.checkers.violations()[before..]
                .iter()
                .map(|v| v.rule)
                .collect()
        }

        /// A step of `node` that only reports `obs`.
        fn report(&mut self, node: u32, obs: Vec<PubSubObs>) -> Vec<&'static str> {
            self.step(node, StepEvent::Start(NodeId(node)), Vec::new(), obs)
        }

        /// The producer's message 1 (key 0) written to p0 by its leader
        /// `NodeId(0)` and a follower, committed and acknowledged.
        fn publish_one(&mut self) {
            let id = msg();
            let p = PartitionId(0);
            let e = Epoch(1);
            let decided = PubSubObs::Decided(PartitionState {
                partition: p,
                leader: Some(NodeId(0)),
                epoch: e,
                version: 1,
                isr: vec![NodeId(0), NodeId(1)],
            });
            assert!(self.report(3, vec![decided]).is_empty());
            let leads = PubSubObs::BecameLeader {
                partition: p,
                epoch: e,
            };
            assert!(self.report(0, vec![leads]).is_empty());
            let produce = PubSubMsg::Produce {
                partition: p,
                batch: Rc::from(vec![Outgoing {
                    id,
                    key: 0,
                    seq: None,
                }]),
                acks: Acks::All,
            };
            let published = PubSubObs::Published { id, partition: p };
            let start = StepEvent::Start(NodeId(4));
            assert!(self
                .step(4, start, vec![(0, produce)], vec![published])
                .is_empty());
            let record = Record {
                epoch: e,
                id,
                key: 0,
                seq: None,
                entry: None,
            };
            for b in [0, 1] {
                let appended = PubSubObs::Appended {
                    partition: p,
                    from: Offset(0),
                    records: vec![record.clone()],
                };
                assert!(self.report(b, vec![appended]).is_empty());
            }
            let hw = PubSubObs::HighWatermark {
                partition: p,
                epoch: e,
                hw: Offset(1),
            };
            assert!(self.report(0, vec![hw]).is_empty());
            let reply = InFlight {
                id: MsgId(1),
                from: NodeId(0),
                to: NodeId(4),
                sent: Time(self.step * 1_000),
                arrives: Time(self.step * 1_000),
                fate: Fate::Delivering,
                duplicate_of: None,
                msg: PubSubMsg::ProduceReply {
                    partition: p,
                    first: id,
                    result: ProduceResult::Ok(Rc::from(vec![(id, Offset(0))])),
                },
            };
            assert!(self
                .step(4, StepEvent::Deliver(reply), Vec::new(), Vec::new())
                .is_empty());
            assert_eq!(self.checker.borrow().acked().len(), 1);
        }

        /// The consumer is given p0 from offset 0 in `generation`, and
        /// processes the message there.
        fn process_from_start(&mut self, generation: u64) {
            let assigned = PubSubObs::Assigned {
                group: GroupId(0),
                generation: Generation(generation),
                partitions: vec![(PartitionId(0), Offset(0))],
            };
            let delivered = PubSubObs::Delivered {
                group: GroupId(0),
                partition: PartitionId(0),
                offset: Offset(0),
                id: msg(),
            };
            assert!(self.report(5, vec![assigned, delivered]).is_empty());
        }

        /// The final drain's verdicts.
        fn finish(&mut self) -> Vec<Violation> {
            let before = self.checkers.violations().len();
            self.checkers.finish(&self.world);
            self.checkers.violations()[before..].to_vec()
        }
    }

    fn msg() -> MsgKey {
        MsgKey {
            producer: NodeId(4),
            n: 1,
        }
    }

    /// The history both tests share: one acknowledged message, processed,
    /// then processed again after a rebalance hands its partition back
    /// from offset 0 (the commit of the first processing never counted).
    fn processed_twice(mode: Delivery) -> History {
        let mut h = History::new(mode);
        h.publish_one();
        h.process_from_start(1);
        h.process_from_start(2);
        let c = h.checker.borrow().counters();
        assert_eq!((c.delivered, c.redelivered), (1, 1));
        h
    }

    #[test]
    fn a_consumer_that_adopts_an_assignment_below_an_acknowledged_commit_breaks_q8() {
        let mut h = History::new(Delivery::AtMostOnce);
        h.publish_one();
        h.process_from_start(1);
        let ack = InFlight {
            id: MsgId(2),
            from: NodeId(1),
            to: NodeId(5),
            sent: Time(h.step * 1_000),
            arrives: Time(h.step * 1_000),
            fate: Fate::Delivering,
            duplicate_of: None,
            msg: PubSubMsg::OffsetCommitReply {
                group: GroupId(0),
                partition: PartitionId(0),
                offset: Offset(1),
                accepted: true,
            },
        };
        assert!(h
            .step(5, StepEvent::Deliver(ack), Vec::new(), Vec::new())
            .is_empty());
        let assigned = |from| PubSubObs::Assigned {
            group: GroupId(0),
            generation: Generation(1),
            partitions: vec![(PartitionId(0), Offset(from))],
        };
        // The same assignment again, delivered late: it would rewind p0 to
        // 0, below the commit at 1 the consumer was told of.
        assert_eq!(h.report(5, vec![assigned(0)]), ["Q8"]);
        assert!(h.report(5, vec![assigned(1)]).is_empty());
    }

    #[test]
    fn an_at_most_once_group_that_processes_a_message_twice_breaks_q5() {
        let mut h = processed_twice(Delivery::AtMostOnce);
        let found = h.finish();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].rule, "Q5");
        assert_eq!(
            found[0].message,
            "group g (at-most-once) processed 1 message more than once (n5#1)"
        );
    }

    /// A producer that is not idempotent may put one message in two
    /// records: an at-most-once group that processes both processes no
    /// record twice, and keeps its promise. The copy is counted.
    #[test]
    fn an_at_most_once_group_may_process_two_copies_of_a_message_that_is_not_idempotent() {
        let mut h = History::new(Delivery::AtMostOnce);
        let mut protocol = h.world.protocol().clone();
        protocol.settings.idempotence = false;
        h.world = World::new(protocol, WorldConfig::with_seed(1));
        h.publish_one();
        let p = PartitionId(0);
        let copy = Record {
            epoch: Epoch(1),
            id: msg(),
            key: 0,
            seq: None,
            entry: None,
        };
        for b in [0, 1] {
            let appended = PubSubObs::Appended {
                partition: p,
                from: Offset(1),
                records: vec![copy.clone()],
            };
            assert!(h.report(b, vec![appended]).is_empty());
        }
        let hw = PubSubObs::HighWatermark {
            partition: p,
            epoch: Epoch(1),
            hw: Offset(2),
        };
        assert!(h.report(0, vec![hw]).is_empty(), "not promised: no Q5");
        assert_eq!(h.checker.borrow().counters().duplicated, 1);
        h.process_from_start(1);
        let second = PubSubObs::Delivered {
            group: GroupId(0),
            partition: p,
            offset: Offset(1),
            id: msg(),
        };
        assert!(h.report(5, vec![second]).is_empty());
        let found = h.finish();
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(h.checker.borrow().counters().redelivered, 1);
    }

    #[test]
    fn an_at_least_once_group_that_processes_a_message_twice_only_counts_it() {
        let mut h = processed_twice(Delivery::AtLeastOnce);
        let found = h.finish();
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(h.checker.borrow().counters().redelivered, 1);
    }

    /// The group's offsets partition (the topic has one partition, p0).
    const OFFSETS: PartitionId = PartitionId(1);

    fn record(id: MsgKey) -> Record {
        Record {
            epoch: Epoch(1),
            id,
            key: 0,
            seq: None,
            entry: None,
        }
    }

    fn appended(from: u64, records: Vec<Record>) -> PubSubObs {
        PubSubObs::Appended {
            partition: PartitionId(0),
            from: Offset(from),
            records,
        }
    }

    fn high_watermark(epoch: u64, hw: u64) -> PubSubObs {
        PubSubObs::HighWatermark {
            partition: PartitionId(0),
            epoch: Epoch(epoch),
            hw: Offset(hw),
        }
    }

    fn decided(leader: u32, epoch: u64, isr: &[u32]) -> PubSubObs {
        PubSubObs::Decided(PartitionState {
            partition: PartitionId(0),
            leader: Some(NodeId(leader)),
            epoch: Epoch(epoch),
            version: epoch,
            isr: isr.iter().map(|&b| NodeId(b)).collect(),
        })
    }

    fn assigned(generation: u64, from: u64) -> PubSubObs {
        PubSubObs::Assigned {
            group: GroupId(0),
            generation: Generation(generation),
            partitions: vec![(PartitionId(0), Offset(from))],
        }
    }

    fn delivered(offset: u64, id: MsgKey) -> PubSubObs {
        PubSubObs::Delivered {
            group: GroupId(0),
            partition: PartitionId(0),
            offset: Offset(offset),
            id,
        }
    }

    /// A rebalance of the group to `generation`, giving p0 to `owner` from
    /// offset `from`.
    fn generation(generation: u64, owner: u32, from: u64) -> GroupEntry {
        GroupEntry::Generation {
            generation: Generation(generation),
            members: vec![NodeId(owner)],
            assignment: vec![(PartitionId(0), NodeId(owner), Offset(from))],
        }
    }

    /// A commit of p0 at `offset` by `member` in `generation`.
    fn commit(generation: u64, member: u32, offset: u64) -> GroupEntry {
        GroupEntry::Commit {
            generation: Generation(generation),
            partition: PartitionId(0),
            offset: Offset(offset),
            member: NodeId(member),
        }
    }

    impl History {
        /// The coordinator, `NodeId(0)`, sole replica and leader of the
        /// offsets partition, writes `entry` there and commits it: the
        /// rules that broke.
        fn coordinate(&mut self, entry: GroupEntry) -> Vec<&'static str> {
            let at = self.checker.borrow().committed(OFFSETS).len() as u64;
            if at == 0 {
                let decided = PubSubObs::Decided(PartitionState {
                    partition: OFFSETS,
                    leader: Some(NodeId(0)),
                    epoch: Epoch(1),
                    version: 1,
                    isr: vec![NodeId(0)],
                });
                assert!(self.report(3, vec![decided]).is_empty());
            }
            let record = Record {
                epoch: Epoch(1),
                id: MsgKey {
                    producer: NodeId(0),
                    n: at + 1,
                },
                key: 0,
                seq: None,
                entry: Some(entry),
            };
            let appended = PubSubObs::Appended {
                partition: OFFSETS,
                from: Offset(at),
                records: vec![record],
            };
            let hw = PubSubObs::HighWatermark {
                partition: OFFSETS,
                epoch: Epoch(1),
                hw: Offset(at + 1),
            };
            self.report(0, vec![appended, hw])
        }

        /// The group's first generation: the consumer owns p0 from 0.
        fn first_generation(&mut self) {
            assert!(self.coordinate(generation(1, 5, 0)).is_empty());
            assert!(self.report(5, vec![assigned(1, 0)]).is_empty());
        }

        /// The consumer processes the message and commits past it.
        fn process_and_commit(&mut self) {
            assert!(self.report(5, vec![delivered(0, msg())]).is_empty());
            assert!(self.coordinate(commit(1, 5, 1)).is_empty());
        }

        /// The rules broken so far, in order.
        fn broken(&self) -> Vec<&'static str> {
            self.checkers.violations().iter().map(|v| v.rule).collect()
        }
    }

    /// A second message of the producer.
    fn other() -> MsgKey {
        MsgKey {
            producer: NodeId(4),
            n: 2,
        }
    }

    #[test]
    fn a_clean_history_breaks_no_rule() {
        for mode in [Delivery::AtLeastOnce, Delivery::AtMostOnce] {
            let mut h = History::new(mode);
            h.publish_one();
            h.first_generation();
            h.process_and_commit();
            // A rebalance that resumes from the committed offset.
            assert!(h.coordinate(generation(2, 5, 1)).is_empty());
            assert!(h.report(5, vec![assigned(2, 1)]).is_empty());
            assert!(h.finish().is_empty());
            assert!(h.broken().is_empty());
        }
    }

    #[test]
    fn an_acknowledged_message_never_processed_breaks_q1_at_the_drain() {
        let mut h = History::new(Delivery::AtLeastOnce);
        h.publish_one();
        h.first_generation();
        assert_eq!(
            h.drained(),
            [(
                "Q1",
                "group g (at-least-once) lost 1 acknowledged messages (n5#1): never processed"
                    .to_string()
            )]
        );
        assert_eq!(h.checker.borrow().counters().lost, 1);
        // A group that is at-most-once by its options promises no delivery:
        // what it never processed is no Q1 loss (the commit-before-processing
        // toggle makes a group commit first while its options still promise
        // at-least-once, and that is a loss).
        let mut h = History::new(Delivery::AtMostOnce);
        h.publish_one();
        h.first_generation();
        assert_eq!(h.drained(), []);
    }

    #[test]
    fn another_message_committed_where_one_was_acknowledged_breaks_q1() {
        let mut h = History::new(Delivery::AtLeastOnce);
        h.publish_one();
        // The acknowledgement at offset 1 comes before the commit there,
        // and the leader then commits another message at offset 1.
        let reply = InFlight {
            id: MsgId(2),
            from: NodeId(0),
            to: NodeId(4),
            sent: Time(0),
            arrives: Time(0),
            fate: Fate::Delivering,
            duplicate_of: None,
            msg: PubSubMsg::ProduceReply {
                partition: PartitionId(0),
                first: other(),
                result: ProduceResult::Ok(Rc::from(vec![(other(), Offset(1))])),
            },
        };
        assert!(h
            .step(4, StepEvent::Deliver(reply), Vec::new(), Vec::new())
            .is_empty());
        // The phantom is a message the producer sent, so that Q4 holds.
        let produce = PubSubMsg::Produce {
            partition: PartitionId(0),
            batch: Rc::from(vec![Outgoing {
                id: MsgKey {
                    producer: NodeId(4),
                    n: 3,
                },
                key: 0,
                seq: None,
            }]),
            acks: Acks::All,
        };
        assert!(h
            .step(
                4,
                StepEvent::Start(NodeId(4)),
                vec![(0, produce)],
                Vec::new()
            )
            .is_empty());
        let third = record(MsgKey {
            producer: NodeId(4),
            n: 3,
        });
        for b in [0, 1] {
            assert!(h
                .report(b, vec![appended(1, vec![third.clone()])])
                .is_empty());
        }
        assert_eq!(h.report(0, vec![high_watermark(1, 2)]), ["Q1"]);
    }

    #[test]
    fn a_leader_without_a_committed_message_breaks_q2() {
        let mut h = History::new(Delivery::AtLeastOnce);
        h.publish_one();
        // n2 loses the committed message, then is made leader of epoch 2.
        let truncated = PubSubObs::Truncated {
            partition: PartitionId(0),
            to: Offset(0),
        };
        assert!(h.report(1, vec![truncated]).is_empty());
        assert!(h.report(3, vec![decided(1, 2, &[1])]).is_empty());
        let leads = PubSubObs::BecameLeader {
            partition: PartitionId(0),
            epoch: Epoch(2),
        };
        assert_eq!(h.report(1, vec![leads]), ["Q2"]);
    }

    #[test]
    fn a_leader_that_commits_another_message_at_a_committed_offset_breaks_q2() {
        let mut h = History::new(Delivery::AtLeastOnce);
        h.publish_one();
        // n1 rewrites offset 0 with a message it was sent and commits it
        // again. Nobody acknowledged the new one, so only Q2 sees it.
        let produce = PubSubMsg::Produce {
            partition: PartitionId(0),
            batch: Rc::from(vec![Outgoing {
                id: other(),
                key: 0,
                seq: None,
            }]),
            acks: Acks::All,
        };
        assert!(h
            .step(
                4,
                StepEvent::Start(NodeId(4)),
                vec![(0, produce)],
                Vec::new()
            )
            .is_empty());
        for b in [0, 1] {
            assert!(h
                .report(b, vec![appended(0, vec![record(other())])])
                .is_empty());
        }
        assert_eq!(h.report(0, vec![high_watermark(1, 1)]), ["Q2"]);
    }

    #[test]
    fn a_consumer_that_goes_back_or_reads_unassigned_breaks_q3() {
        let mut h = History::new(Delivery::AtLeastOnce);
        h.publish_one();
        // Processing before any assignment.
        assert_eq!(h.report(5, vec![delivered(0, msg())]), ["Q3"]);
        // Processing offset 0 again without a rebalance moving it back (an
        // at-least-once group may see a message twice, but not out of order).
        let mut h = History::new(Delivery::AtLeastOnce);
        h.publish_one();
        h.first_generation();
        assert!(h.report(5, vec![delivered(0, msg())]).is_empty());
        assert_eq!(h.report(5, vec![delivered(0, msg())]), ["Q3"]);
    }

    #[test]
    fn a_record_no_producer_sent_breaks_q4() {
        let mut h = History::new(Delivery::AtLeastOnce);
        h.publish_one();
        assert_eq!(
            h.report(0, vec![appended(1, vec![record(other())])]),
            ["Q4"]
        );
    }

    #[test]
    fn processing_a_record_that_is_not_committed_breaks_q4() {
        let mut h = History::new(Delivery::AtLeastOnce);
        h.publish_one();
        h.first_generation();
        assert!(h.report(5, vec![delivered(0, msg())]).is_empty());
        assert_eq!(h.report(5, vec![delivered(1, other())]), ["Q4"]);
    }

    #[test]
    fn a_message_committed_twice_breaks_q5() {
        let mut h = History::new(Delivery::AtLeastOnce);
        h.publish_one();
        // A retry written again at offset 1, without idempotence.
        for b in [0, 1] {
            assert!(h
                .report(b, vec![appended(1, vec![record(msg())])])
                .is_empty());
        }
        assert_eq!(h.report(0, vec![high_watermark(1, 2)]), ["Q5"]);
        assert_eq!(h.checker.borrow().counters().duplicated, 1);
    }

    #[test]
    fn a_fetch_that_returns_an_uncommitted_record_breaks_q6() {
        let mut h = History::new(Delivery::AtLeastOnce);
        h.publish_one();
        let reply = InFlight {
            id: MsgId(2),
            from: NodeId(0),
            to: NodeId(5),
            sent: Time(0),
            arrives: Time(0),
            fate: Fate::Delivering,
            duplicate_of: None,
            msg: PubSubMsg::ConsumerFetchReply {
                partition: PartitionId(0),
                offset: Offset(0),
                result: ConsumerFetchResult::Records {
                    records: Rc::from(vec![record(msg()), record(other())]),
                    hw: Offset(2),
                },
            },
        };
        assert_eq!(
            h.step(5, StepEvent::Deliver(reply), Vec::new(), Vec::new()),
            ["Q6"]
        );
    }

    #[test]
    fn a_leader_outside_the_in_sync_set_breaks_q7() {
        let mut h = History::new(Delivery::AtLeastOnce);
        h.publish_one();
        // Each decision breaks one of the controller's promises.
        let mut fresh = History::new(Delivery::AtLeastOnce);
        fresh.publish_one();
        // n2 leads epoch 2 but is not in its in-sync set.
        assert_eq!(fresh.report(3, vec![decided(1, 2, &[0])]), ["Q7"]);
        // n3 leads epoch 2 from outside the previous in-sync set {n1, n2}.
        assert_eq!(h.report(3, vec![decided(2, 2, &[2])]), ["Q7"]);
        // n2 leads epoch 1, which n1 leads already.
        let mut twice = History::new(Delivery::AtLeastOnce);
        twice.publish_one();
        assert_eq!(twice.report(3, vec![decided(1, 1, &[0, 1])]), ["Q7"]);
        // A broker that leads without being made leader by the controller.
        let leads = PubSubObs::BecameLeader {
            partition: PartitionId(0),
            epoch: Epoch(1),
        };
        assert_eq!(fresh.report(2, vec![leads]), ["Q7"]);
    }

    #[test]
    fn a_high_watermark_above_an_in_sync_replica_breaks_q7() {
        let mut h = History::new(Delivery::AtLeastOnce);
        h.publish_one();
        let mut h2 = History::new(Delivery::AtLeastOnce);
        h2.publish_one();
        // Only the leader holds the second record.
        let produce = PubSubMsg::Produce {
            partition: PartitionId(0),
            batch: Rc::from(vec![Outgoing {
                id: other(),
                key: 0,
                seq: None,
            }]),
            acks: Acks::All,
        };
        assert!(h
            .step(
                4,
                StepEvent::Start(NodeId(4)),
                vec![(0, produce)],
                Vec::new()
            )
            .is_empty());
        assert!(h
            .report(0, vec![appended(1, vec![record(other())])])
            .is_empty());
        assert_eq!(h.report(0, vec![high_watermark(1, 2)]), ["Q7"]);
        // A high watermark from a broker that does not lead the epoch.
        assert_eq!(h2.report(1, vec![high_watermark(1, 1)]), ["Q7"]);
    }

    #[test]
    fn a_committed_offset_that_goes_back_breaks_q8() {
        let mut h = History::new(Delivery::AtLeastOnce);
        h.publish_one();
        h.first_generation();
        h.process_and_commit();
        assert_eq!(h.coordinate(commit(1, 5, 0)), ["Q8"]);
    }

    #[test]
    fn a_new_owner_that_resumes_below_the_committed_offset_breaks_q8() {
        let mut h = History::new(Delivery::AtLeastOnce);
        h.publish_one();
        h.first_generation();
        h.process_and_commit();
        assert_eq!(h.coordinate(generation(2, 5, 0)), ["Q8"]);
    }

    #[test]
    fn a_generation_that_does_not_grow_breaks_q9() {
        let mut h = History::new(Delivery::AtLeastOnce);
        h.publish_one();
        h.first_generation();
        assert_eq!(h.coordinate(generation(1, 5, 0)), ["Q9"]);
    }

    #[test]
    fn a_commit_accepted_from_a_stale_generation_or_a_non_owner_breaks_q9() {
        let mut h = History::new(Delivery::AtLeastOnce);
        h.publish_one();
        h.first_generation();
        assert!(h.coordinate(generation(2, 5, 0)).is_empty());
        // Generation 1's commit, accepted in generation 2.
        assert_eq!(h.coordinate(commit(1, 5, 1)), ["Q9"]);
        // The right generation, but from a consumer that does not own p0.
        assert_eq!(h.coordinate(commit(2, 4, 1)), ["Q9"]);
    }

    impl History {
        /// Like [`History::new`], without consumer groups: the drain then
        /// judges what each partition's leader can serve. The world has
        /// run its first steps, so that its nodes are up.
        fn without_groups() -> History {
            let checker = Rc::new(RefCell::new(PubSubChecker::new()));
            let mut world = World::new(PubSub::new(3, 1, 1), WorldConfig::with_seed(1));
            world.run_until(Time(1_000), u64::MAX);
            History {
                world,
                checkers: Checkers::new(vec![Box::new(Probe(checker.clone()))]),
                checker,
                step: 0,
            }
        }

        /// The final drain's sentences.
        fn drained(&mut self) -> Vec<(&'static str, String)> {
            let found = self.finish();
            found.into_iter().map(|v| (v.rule, v.message)).collect()
        }
    }

    #[test]
    fn the_counters_count_each_message_once() {
        let mut h = History::new(Delivery::AtLeastOnce);
        h.publish_one();
        h.first_generation();
        h.process_and_commit();
        let gave_up = PubSubObs::GaveUp { id: other() };
        assert!(h.report(4, vec![gave_up]).is_empty());
        let counted = Counters {
            published: 1,
            acknowledged: 1,
            duplicated: 0,
            gave_up: 1,
            delivered: 1,
            redelivered: 0,
            lost: 0,
        };
        assert_eq!(h.checker.borrow().counters(), counted);
        let shown = Checker::<PubSub>::counters(&*h.checker.borrow());
        assert_eq!(
            shown,
            [
                ("published", 1),
                ("acknowledged", 1),
                ("delivered", 1),
                ("duplicated", 0),
                ("lost", 0)
            ]
        );
    }

    #[test]
    fn without_groups_the_drain_asks_the_partitions_leader() {
        let mut h = History::without_groups();
        h.publish_one();
        assert!(h.drained().is_empty());
        // The leader n1 loses the message.
        let mut lost = History::without_groups();
        lost.publish_one();
        let truncated = PubSubObs::Truncated {
            partition: PartitionId(0),
            to: Offset(0),
        };
        assert!(lost.report(0, vec![truncated]).is_empty());
        let unreadable = |why: &str| {
            let text =
                "1 acknowledged messages of p0 cannot be read at the end of the run (n5#1 at 0)";
            [("Q1", format!("{text}: {why}"))]
        };
        assert_eq!(
            lost.drained(),
            unreadable("p0's leader n1 does not hold them")
        );
        // The leader n1 is down.
        let mut down = History::without_groups();
        down.publish_one();
        down.world.apply(sim::Input::Crash(NodeId(0))).unwrap();
        assert_eq!(down.drained(), unreadable("p0's leader n1 is down"));
        // The controller left p0 without a leader.
        let mut offline = History::without_groups();
        offline.publish_one();
        let decided = PubSubObs::Decided(PartitionState {
            partition: PartitionId(0),
            leader: None,
            epoch: Epoch(2),
            version: 2,
            isr: vec![NodeId(0), NodeId(1)],
        });
        assert!(offline.report(3, vec![decided]).is_empty());
        assert_eq!(offline.drained(), unreadable("p0 is offline"));
        assert_eq!(offline.checker.borrow().counters().lost, 1);
    }

    #[test]
    fn the_checker_lists_every_rule_in_order() {
        let ids: Vec<&str> = Checker::<PubSub>::rules(&PubSubChecker::new())
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, ["Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "Q7", "Q8", "Q9"]);
    }

    /// The producer's message `n` (message 1 is [`msg`], 2 is [`other`]).
    fn message(n: u64) -> MsgKey {
        MsgKey {
            producer: NodeId(4),
            n,
        }
    }

    impl History {
        /// Like [`History::new`], with the world's options changed by
        /// `change` (what the options promise is read from the world).
        fn with_options(mode: Delivery, change: impl FnOnce(&mut PubSub)) -> History {
            let mut h = History::new(mode);
            let mut protocol = h.world.protocol().clone();
            change(&mut protocol);
            h.world = World::new(protocol, WorldConfig::with_seed(1));
            h
        }

        /// The producer puts `ids` on the wire to `p`, all with `key`, in
        /// one batch.
        fn send(&mut self, p: PartitionId, key: u32, ids: &[MsgKey]) {
            let batch: Vec<Outgoing> = ids
                .iter()
                .map(|&id| Outgoing { id, key, seq: None })
                .collect();
            let produce = PubSubMsg::Produce {
                partition: p,
                batch: Rc::from(batch),
                acks: Acks::All,
            };
            let published = ids
                .iter()
                .map(|&id| PubSubObs::Published { id, partition: p })
                .collect();
            let start = StepEvent::Start(NodeId(4));
            assert!(self
                .step(4, start, vec![(0, produce)], published)
                .is_empty());
        }

        /// The producer is told by p0's leader that each message of
        /// `written` is at its offset there: the rules and sentences that
        /// broke.
        fn acknowledge(&mut self, written: &[(MsgKey, u64)]) -> Vec<(&'static str, String)> {
            let written: Vec<(MsgKey, Offset)> =
                written.iter().map(|&(id, o)| (id, Offset(o))).collect();
            let reply = InFlight {
                id: MsgId(3),
                from: NodeId(0),
                to: NodeId(4),
                sent: Time(self.step * 1_000),
                arrives: Time(self.step * 1_000),
                fate: Fate::Delivering,
                duplicate_of: None,
                msg: PubSubMsg::ProduceReply {
                    partition: PartitionId(0),
                    first: written[0].0,
                    result: ProduceResult::Ok(Rc::from(written)),
                },
            };
            let before = self.checkers.violations().len();
            self.step(4, StepEvent::Deliver(reply), Vec::new(), Vec::new());
            self.said_since(before)
        }

        /// The consumer is told that the group's commit of p0 at `offset`
        /// was accepted.
        fn commit_acknowledged(&mut self, offset: u64) {
            let ack = InFlight {
                id: MsgId(4),
                from: NodeId(0),
                to: NodeId(5),
                sent: Time(self.step * 1_000),
                arrives: Time(self.step * 1_000),
                fate: Fate::Delivering,
                duplicate_of: None,
                msg: PubSubMsg::OffsetCommitReply {
                    group: GroupId(0),
                    partition: PartitionId(0),
                    offset: Offset(offset),
                    accepted: true,
                },
            };
            assert!(self
                .step(5, StepEvent::Deliver(ack), Vec::new(), Vec::new())
                .is_empty());
        }

        /// After [`History::publish_one`]: the producer's messages 2 to
        /// `last` (key 0), written to p0 from offset 1 by its leader and
        /// follower, committed and acknowledged, so that p0 holds message
        /// `n` at offset `n - 1`.
        fn publish_up_to(&mut self, last: u64) {
            let ids: Vec<MsgKey> = (2..=last).map(message).collect();
            self.send(PartitionId(0), 0, &ids);
            let records: Vec<Record> = ids.iter().map(|&id| record(id)).collect();
            for b in [0, 1] {
                assert!(self
                    .report(b, vec![appended(1, records.clone())])
                    .is_empty());
            }
            assert!(self.report(0, vec![high_watermark(1, last)]).is_empty());
            let written: Vec<(MsgKey, u64)> = ids.iter().map(|&id| (id, id.n - 1)).collect();
            assert!(self.acknowledge(&written).is_empty());
            assert_eq!(self.checker.borrow().acked().len() as u64, last);
        }

        /// A step of `node` that only reports `obs`: the rules and
        /// sentences that broke.
        fn said(&mut self, node: u32, obs: Vec<PubSubObs>) -> Vec<(&'static str, String)> {
            let before = self.checkers.violations().len();
            self.report(node, obs);
            self.said_since(before)
        }

        /// The rules and sentences of the violations after the first
        /// `before`.
        fn said_since(&self, before: usize) -> Vec<(&'static str, String)> {
            self.checkers.violations()[before..]
                .iter()
                .map(|v| (v.rule, v.message.clone()))
                .collect()
        }
    }

    /// The drain's Q5 sentence lists at most five of the messages an
    /// at-most-once group processed twice, with an ellipsis only when there
    /// are more.
    #[test]
    fn the_drain_shows_five_messages_processed_twice_and_elides_the_rest() {
        let listed = "n5#1, n5#2, n5#3, n5#4, n5#5";
        for (count, shown) in [(5, listed.to_string()), (6, format!("{listed}, ..."))] {
            let mut h = History::new(Delivery::AtMostOnce);
            h.publish_one();
            h.publish_up_to(count);
            // Every message processed, then processed again after a
            // rebalance hands p0 back from 0.
            for generation in [1, 2] {
                let mut obs = vec![assigned(generation, 0)];
                obs.extend((1..=count).map(|n| delivered(n - 1, message(n))));
                assert!(h.report(5, obs).is_empty());
            }
            assert_eq!(
                h.drained(),
                [(
                    "Q5",
                    format!(
                        "group g (at-most-once) processed {count} messages more than once ({shown})"
                    )
                )]
            );
        }
    }

    /// The drain's Q1 sentence for a group lists at most five of the
    /// acknowledged messages it never processed, with an ellipsis only when
    /// there are more.
    #[test]
    fn the_drain_shows_five_messages_a_group_lost_and_elides_the_rest() {
        let listed = "n5#1, n5#2, n5#3, n5#4, n5#5";
        for (count, shown) in [(5, listed.to_string()), (6, format!("{listed}, ..."))] {
            let mut h = History::new(Delivery::AtLeastOnce);
            h.publish_one();
            h.publish_up_to(count);
            h.first_generation();
            assert_eq!(
                h.drained(),
                [(
                    "Q1",
                    format!(
                        "group g (at-least-once) lost {count} acknowledged messages ({shown}): never processed"
                    )
                )]
            );
            assert_eq!(h.checker.borrow().counters().lost, count);
        }
    }

    /// Without groups, the drain's Q1 sentence lists at most five of the
    /// acknowledged messages a partition cannot serve, with an ellipsis
    /// only when there are more.
    #[test]
    fn the_drain_shows_five_unreadable_messages_and_elides_the_rest() {
        let listed = "n5#1 at 0, n5#2 at 1, n5#3 at 2, n5#4 at 3, n5#5 at 4";
        for (count, shown) in [(5, listed.to_string()), (6, format!("{listed}, ..."))] {
            let mut h = History::without_groups();
            h.publish_one();
            h.publish_up_to(count);
            // The leader n1 loses every message.
            let truncated = PubSubObs::Truncated {
                partition: PartitionId(0),
                to: Offset(0),
            };
            assert!(h.report(0, vec![truncated]).is_empty());
            assert_eq!(
                h.drained(),
                [(
                    "Q1",
                    format!(
                        "{count} acknowledged messages of p0 cannot be read at the end of the run ({shown}): p0's leader n1 does not hold them"
                    )
                )]
            );
        }
    }

    /// An acknowledgement that reaches the producer after another message
    /// was committed at its offset tells it of a message already lost: Q1
    /// where the options promise durability (`acks=all` with `min.insync`
    /// 2), and only counted where they do not (`min.insync` 1, whose
    /// acknowledged records may die with their leader).
    #[test]
    fn an_acknowledgement_of_an_offset_that_holds_another_message_breaks_q1_if_durable() {
        for min_insync in [2, 1] {
            let mut h = History::with_options(Delivery::AtLeastOnce, |p| {
                p.settings.min_insync = min_insync;
            });
            assert_eq!(h.world.protocol().promise().durable, min_insync == 2);
            h.publish_one();
            let found = h.acknowledge(&[(other(), 0)]);
            if min_insync == 2 {
                assert_eq!(
                    found,
                    [(
                        "Q1",
                        "n5 was told n5#2 is at p0@0, but n5#1 is committed there: n5#2 is lost"
                            .to_string()
                    )]
                );
            } else {
                assert_eq!(found, []);
            }
            assert_eq!(h.checker.borrow().counters().lost, 1);
        }
    }

    /// An assignment may not resume below the highest commit acknowledged
    /// to the group (Q8), whatever order the acknowledgements arrive in: a
    /// later one for a higher commit raises the bar, a late one for a lower
    /// commit does not lower it.
    #[test]
    fn q8_holds_an_assignment_to_the_highest_commit_acknowledged() {
        for order in [[1, 2], [2, 1]] {
            let mut h = History::new(Delivery::AtMostOnce);
            h.publish_one();
            h.publish_up_to(2);
            h.first_generation();
            assert!(h
                .report(5, vec![delivered(0, msg()), delivered(1, other())])
                .is_empty());
            for offset in order {
                h.commit_acknowledged(offset);
            }
            // The same generation announced again, resuming at the lower
            // commit: it would process message 2 again.
            assert_eq!(
                h.said(5, vec![assigned(1, 1)]),
                [(
                    "Q8",
                    "n6 adopts g0 gen1 and resumes p0 from 1, but a commit of p0 at 2 was acknowledged to n6"
                        .to_string()
                )]
            );
            assert!(h.report(5, vec![assigned(1, 2)]).is_empty());
        }
    }

    /// A consumer that processes, at a committed offset, a message other
    /// than the one committed there breaks Q4.
    #[test]
    fn processing_another_message_than_the_committed_one_breaks_q4() {
        let mut h = History::new(Delivery::AtLeastOnce);
        h.publish_one();
        h.first_generation();
        assert_eq!(
            h.said(5, vec![delivered(0, other())]),
            [(
                "Q4",
                "n6 processes n5#2 at p0@0, but n5#1 is committed there".to_string()
            )]
        );
    }

    /// A batch appended from offset `from` puts its `k`-th record at
    /// `from + k`, and Q4 names that offset.
    #[test]
    fn q4_names_the_offset_of_each_record_of_a_batch() {
        let mut h = History::new(Delivery::AtLeastOnce);
        h.publish_one();
        h.publish_up_to(2);
        // Two records no producer sent, appended after the two committed.
        let phantoms = vec![record(message(3)), record(message(4))];
        assert_eq!(
            h.said(0, vec![appended(2, phantoms)]),
            [
                (
                    "Q4",
                    "n1 holds n5#3 at p0@2, a message no producer sent".to_string()
                ),
                (
                    "Q4",
                    "n1 holds n5#4 at p0@3, a message no producer sent".to_string()
                )
            ]
        );
    }

    /// A record whose key, or whose partition, is not the one its producer
    /// sent it with breaks Q4, even when the other one is right.
    #[test]
    fn a_record_with_another_key_or_partition_than_it_was_sent_with_breaks_q4() {
        // Two partitions in the topic, so that p1 holds messages too (the
        // group's offsets partition is then p2).
        let two = || {
            History::with_options(Delivery::AtLeastOnce, |p| {
                p.settings.topics[0].partitions = 2;
            })
        };
        // The right partition, another key.
        let mut h = two();
        h.send(PartitionId(0), 0, &[msg()]);
        let mut rekeyed = record(msg());
        rekeyed.key = 2;
        assert_eq!(
            h.said(0, vec![appended(0, vec![rekeyed])]),
            [(
                "Q4",
                "n1 holds n5#1 with key 2 at p0@0, but it was sent with key 0 to p0".to_string()
            )]
        );
        // The right key, another partition: sent with key 1 to p1, held in
        // p0.
        let mut h = two();
        h.send(PartitionId(1), 1, &[msg()]);
        let mut moved = record(msg());
        moved.key = 1;
        assert_eq!(
            h.said(0, vec![appended(0, vec![moved])]),
            [(
                "Q4",
                "n1 holds n5#1 with key 1 at p0@0, but it was sent with key 1 to p1".to_string()
            )]
        );
        // Both right: no violation.
        let mut h = two();
        h.send(PartitionId(0), 0, &[msg()]);
        assert_eq!(h.said(0, vec![appended(0, vec![record(msg())])]), []);
    }

    /// Every acknowledged message the leader overwrites when it commits
    /// counts as lost once, whether or not the options promise it (Q1 is
    /// judged only where they do).
    #[test]
    fn each_acknowledged_message_overwritten_at_a_commit_counts_as_lost() {
        for min_insync in [2, 1] {
            let mut h = History::with_options(Delivery::AtLeastOnce, |p| {
                p.settings.min_insync = min_insync;
            });
            h.publish_one();
            // Messages 2 and 3 are acknowledged at offsets 1 and 2 before
            // they are committed; the leader then commits messages 4 and 5
            // there, one at a time.
            assert_eq!(h.acknowledge(&[(message(2), 1), (message(3), 2)]), []);
            h.send(PartitionId(0), 0, &[message(4), message(5)]);
            let records = vec![record(message(4)), record(message(5))];
            for b in [0, 1] {
                assert!(h.report(b, vec![appended(1, records.clone())]).is_empty());
            }
            let judged = |rules: &[&'static str]| {
                if min_insync == 2 {
                    rules.to_vec()
                } else {
                    Vec::new()
                }
            };
            assert_eq!(h.report(0, vec![high_watermark(1, 2)]), judged(&["Q1"]));
            assert_eq!(h.checker.borrow().counters().lost, 1);
            assert_eq!(h.report(0, vec![high_watermark(1, 3)]), judged(&["Q1"]));
            assert_eq!(h.checker.borrow().counters().lost, 2);
        }
    }
}
