//! The pub/sub queue's messages: brokers with the controller (heartbeats,
//! partition states, ISR changes), followers with leaders (fetches), and
//! producers with brokers (metadata, produce requests).

use std::fmt;
use std::rc::Rc;

use sim::{impl_encode, Encode, Message, NodeId, TraceHasher};

use super::{Acks, Epoch, Generation, GroupId, MsgKey, Offset, PartitionId};

/// The controller's decision for one partition: who leads in which epoch,
/// and who is in sync. `version` grows with every change, so a broker can
/// tell a newer decision from an older one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionState {
    /// The partition.
    pub partition: PartitionId,
    /// The leader, or `None` while the partition is offline.
    pub leader: Option<NodeId>,
    /// The leader epoch.
    pub epoch: Epoch,
    /// Incremented on every change of leader or ISR.
    pub version: u64,
    /// The in-sync replicas, in broker order.
    pub isr: Vec<NodeId>,
}

impl_encode!(PartitionState {
    partition,
    leader,
    epoch,
    version,
    isr
});

impl fmt::Display for PartitionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let leader = self
            .leader
            .map_or_else(|| "none".to_string(), |l| l.to_string());
        let isr: Vec<String> = self.isr.iter().map(|n| n.to_string()).collect();
        write!(
            f,
            "{} leader {leader} {} isr {{{}}} v{}",
            self.partition,
            self.epoch,
            isr.join(" "),
            self.version
        )
    }
}

/// A record as stored in a partition log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The leader epoch it was appended in.
    pub epoch: Epoch,
    /// The message.
    pub id: MsgKey,
    /// The message key (which picked the partition).
    pub key: u32,
    /// The idempotence stamp, if the producer is idempotent.
    pub seq: Option<ProducerSeq>,
    /// In a partition of the internal offsets topic: the group coordinator's
    /// entry (a generation or an offset commit). `None` in every other
    /// topic.
    pub entry: Option<GroupEntry>,
}

impl_encode!(Record {
    epoch,
    id,
    key,
    seq,
    entry
});

/// A record of the internal `__consumer_offsets` topic: what the group
/// coordinator appends, and what a new coordinator rebuilds the group from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupEntry {
    /// A rebalance: the new generation, its members and each partition's
    /// owner with the offset it resumes from.
    Generation {
        /// The new generation.
        generation: Generation,
        /// The members, in id order.
        members: Vec<NodeId>,
        /// Each consumed partition's owner and start offset.
        assignment: Vec<(PartitionId, NodeId, Offset)>,
    },
    /// An accepted offset commit.
    Commit {
        /// The generation the member committed in.
        generation: Generation,
        /// The consumed partition.
        partition: PartitionId,
        /// The committed offset.
        offset: Offset,
        /// The member that committed.
        member: NodeId,
    },
}

impl Encode for GroupEntry {
    fn encode(&self, h: &mut TraceHasher) {
        match self {
            GroupEntry::Generation {
                generation,
                members,
                assignment,
            } => (1u8, generation, members, assignment).encode(h),
            GroupEntry::Commit {
                generation,
                partition,
                offset,
                member,
            } => (2u8, generation, partition, offset, member).encode(h),
        }
    }
}

impl fmt::Display for GroupEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupEntry::Generation {
                generation,
                assignment,
                ..
            } => {
                let owners: Vec<String> = assignment
                    .iter()
                    .map(|(p, m, o)| format!("{p}:{m}@{o}"))
                    .collect();
                write!(f, "{generation} [{}]", owners.join(" "))
            }
            GroupEntry::Commit {
                generation,
                partition,
                offset,
                member,
            } => write!(f, "commit {partition}@{offset} by {member} in {generation}"),
        }
    }
}

/// An idempotent producer's stamp: its session (one per start) and the
/// record's sequence number in that session and partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ProducerSeq {
    /// The producer's session.
    pub session: u64,
    /// The sequence number, from 0 per partition.
    pub seq: u64,
}

impl_encode!(ProducerSeq { session, seq });

/// What a leader answers to a fetch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchResult {
    /// The follower's log matches: here are the next records (possibly
    /// none) and the leader's high watermark.
    Records {
        /// The records from the fetch offset on.
        records: Rc<[Record]>,
        /// The leader's high watermark.
        hw: Offset,
    },
    /// The follower's last record is not in the leader's log: truncate to
    /// this offset and fetch again.
    Diverged {
        /// Where to truncate.
        truncate_to: Offset,
    },
}

impl Encode for FetchResult {
    fn encode(&self, h: &mut TraceHasher) {
        match self {
            FetchResult::Records { records, hw } => (1u8, records, hw).encode(h),
            FetchResult::Diverged { truncate_to } => (2u8, truncate_to).encode(h),
        }
    }
}

/// The stamp of a controller's message to one broker: the controller's
/// incarnation (it grows with every start) and a count of its messages to
/// that broker since. Stamps compare in that order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp {
    /// The controller's incarnation.
    pub incarnation: u64,
    /// The message's number in it, for this broker.
    pub n: u64,
}

impl_encode!(Stamp { incarnation, n });

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.incarnation, self.n)
    }
}

/// One message of a produce request's batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// The message.
    pub id: MsgKey,
    /// Its key.
    pub key: u32,
    /// The idempotence stamp, if the producer is idempotent.
    pub seq: Option<ProducerSeq>,
}

impl_encode!(Outgoing { id, key, seq });

/// What a leader answers to a produce request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProduceResult {
    /// Every message of the batch written, at these offsets (and committed,
    /// for `acks=all`).
    Ok(Rc<[(MsgKey, Offset)]>),
    /// This broker does not lead the partition.
    NotLeader,
    /// Fewer than `min.insync` replicas are in sync.
    NotEnoughReplicas,
}

impl Encode for ProduceResult {
    fn encode(&self, h: &mut TraceHasher) {
        match self {
            ProduceResult::Ok(written) => {
                1u8.encode(h);
                written.len().encode(h);
                for (id, o) in written.iter() {
                    (id, o).encode(h);
                }
            }
            ProduceResult::NotLeader => 2u8.encode(h),
            ProduceResult::NotEnoughReplicas => 3u8.encode(h),
        }
    }
}

/// What a leader answers to a consumer's fetch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsumerFetchResult {
    /// The records from the fetch offset up to the high watermark (or past
    /// it, under toggle `read-above-high-watermark`), possibly none.
    Records {
        /// The records.
        records: Rc<[Record]>,
        /// The leader's high watermark.
        hw: Offset,
    },
    /// The offset is past the log end (the records there were taken back):
    /// resume from `log_end`.
    OutOfRange {
        /// The leader's log end.
        log_end: Offset,
    },
    /// This broker does not lead the partition.
    NotLeader,
}

impl Encode for ConsumerFetchResult {
    fn encode(&self, h: &mut TraceHasher) {
        match self {
            ConsumerFetchResult::Records { records, hw } => (1u8, records, hw).encode(h),
            ConsumerFetchResult::OutOfRange { log_end } => (2u8, log_end).encode(h),
            ConsumerFetchResult::NotLeader => 3u8.encode(h),
        }
    }
}

/// Every message a pub/sub node sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PubSubMsg {
    /// Broker to controller: "I am alive, and the latest message I heard
    /// from you was `echo`", so the controller can tell a broker that hears
    /// it from one that only talks.
    BrokerHeartbeat {
        /// The stamp of the latest `Partitions` this broker received.
        echo: Stamp,
    },
    /// Controller to broker: the state of every partition (the answer to a
    /// heartbeat, and pushed after every decision).
    Partitions {
        /// Every partition's state.
        states: Rc<[PartitionState]>,
        /// This message's stamp, for the broker to echo.
        stamp: Stamp,
    },
    /// Leader to controller: make `isr` the partition's ISR, if the
    /// partition is still at `version` with me leading `epoch`.
    AlterIsr {
        /// The partition.
        partition: PartitionId,
        /// The leader's epoch.
        epoch: Epoch,
        /// The version the proposal is based on.
        version: u64,
        /// The proposed ISR.
        isr: Vec<NodeId>,
    },
    /// Follower to leader: "my log ends at `offset`, and its last record is
    /// of epoch `last_epoch`; send me what follows."
    Fetch {
        /// The partition.
        partition: PartitionId,
        /// The leader epoch the follower follows.
        epoch: Epoch,
        /// The follower's log end.
        offset: Offset,
        /// The epoch of the follower's last record (0 for an empty log).
        last_epoch: Epoch,
    },
    /// Leader to follower: the answer to a fetch, naming the fetch it
    /// answers.
    FetchReply {
        /// The partition.
        partition: PartitionId,
        /// The leader's epoch.
        epoch: Epoch,
        /// The fetch's offset.
        offset: Offset,
        /// The fetch's last epoch.
        last_epoch: Epoch,
        /// The answer.
        result: FetchResult,
    },
    /// Producer to broker: who leads what?
    MetadataRequest,
    /// Broker to producer: the partition states this broker knows.
    Metadata {
        /// The states.
        states: Rc<[PartitionState]>,
    },
    /// Producer to leader: append this batch.
    Produce {
        /// The partition.
        partition: PartitionId,
        /// The messages, in order.
        batch: Rc<[Outgoing]>,
        /// What the producer waits for.
        acks: Acks,
    },
    /// Leader to producer.
    ProduceReply {
        /// The partition.
        partition: PartitionId,
        /// The batch's first message, which names the batch.
        first: MsgKey,
        /// The outcome.
        result: ProduceResult,
    },
    /// Consumer to coordinator: add me to my group.
    JoinGroup {
        /// The group.
        group: GroupId,
        /// The consumer's session: it opens a new one at every start, and
        /// adopts only an assignment addressed to the one it is in.
        session: u64,
    },
    /// Coordinator to member: the group's generation and this member's
    /// partitions, each with the committed offset to resume from.
    Assignment {
        /// The group.
        group: GroupId,
        /// The new generation.
        generation: Generation,
        /// The member's partitions and where to start.
        partitions: Vec<(PartitionId, Offset)>,
        /// The member's session this answers, as its last JoinGroup gave it
        /// (0: the coordinator has not heard one since it took over).
        session: u64,
    },
    /// Consumer to coordinator: I am alive in this generation.
    GroupHeartbeat {
        /// The group.
        group: GroupId,
        /// The generation the member is in.
        generation: Generation,
    },
    /// Coordinator to consumer.
    GroupHeartbeatReply {
        /// The group.
        group: GroupId,
        /// The group's current generation.
        generation: Generation,
        /// Whether the member must join again (it is unknown, or behind).
        rejoin: bool,
    },
    /// Consumer to coordinator: my group has processed `partition` below
    /// `offset`.
    OffsetCommit {
        /// The group.
        group: GroupId,
        /// The generation the member is in.
        generation: Generation,
        /// The partition.
        partition: PartitionId,
        /// The next offset to process.
        offset: Offset,
    },
    /// Coordinator to consumer.
    OffsetCommitReply {
        /// The group.
        group: GroupId,
        /// The partition.
        partition: PartitionId,
        /// The offset.
        offset: Offset,
        /// Whether the commit was accepted (a member of an old generation
        /// is refused).
        accepted: bool,
    },
    /// Broker to consumer: I do not coordinate this group (I do not lead
    /// its offsets partition); look the coordinator up again.
    NotCoordinator {
        /// The group.
        group: GroupId,
    },
    /// Consumer to leader: records from `offset` on.
    ConsumerFetch {
        /// The partition.
        partition: PartitionId,
        /// The consumer's position.
        offset: Offset,
    },
    /// Leader to consumer.
    ConsumerFetchReply {
        /// The partition.
        partition: PartitionId,
        /// The fetch's offset.
        offset: Offset,
        /// The answer.
        result: ConsumerFetchResult,
    },
}

impl Encode for PubSubMsg {
    fn encode(&self, h: &mut TraceHasher) {
        match self {
            PubSubMsg::BrokerHeartbeat { echo } => (1u8, echo).encode(h),
            PubSubMsg::Partitions { states, stamp } => (2u8, states, stamp).encode(h),
            PubSubMsg::AlterIsr {
                partition,
                epoch,
                version,
                isr,
            } => (3u8, partition, epoch, version, isr).encode(h),
            PubSubMsg::Fetch {
                partition,
                epoch,
                offset,
                last_epoch,
            } => (4u8, partition, epoch, offset, last_epoch).encode(h),
            PubSubMsg::FetchReply {
                partition,
                epoch,
                offset,
                last_epoch,
                result,
            } => (5u8, partition, epoch, offset, (last_epoch, result)).encode(h),
            PubSubMsg::MetadataRequest => 6u8.encode(h),
            PubSubMsg::Metadata { states } => (7u8, states).encode(h),
            PubSubMsg::Produce {
                partition,
                batch,
                acks,
            } => (8u8, partition, batch, acks).encode(h),
            PubSubMsg::ProduceReply {
                partition,
                first,
                result,
            } => (9u8, partition, first, result).encode(h),
            PubSubMsg::JoinGroup { group, session } => (10u8, group, session).encode(h),
            PubSubMsg::Assignment {
                group,
                generation,
                partitions,
                session,
            } => (11u8, group, generation, partitions, session).encode(h),
            PubSubMsg::GroupHeartbeat { group, generation } => (12u8, group, generation).encode(h),
            PubSubMsg::GroupHeartbeatReply {
                group,
                generation,
                rejoin,
            } => (13u8, group, generation, rejoin).encode(h),
            PubSubMsg::OffsetCommit {
                group,
                generation,
                partition,
                offset,
            } => (14u8, group, generation, partition, offset).encode(h),
            PubSubMsg::OffsetCommitReply {
                group,
                partition,
                offset,
                accepted,
            } => (15u8, group, partition, offset, accepted).encode(h),
            PubSubMsg::ConsumerFetch { partition, offset } => (16u8, partition, offset).encode(h),
            PubSubMsg::ConsumerFetchReply {
                partition,
                offset,
                result,
            } => (17u8, partition, offset, result).encode(h),
            PubSubMsg::NotCoordinator { group } => (18u8, group).encode(h),
        }
    }
}

impl Message for PubSubMsg {
    fn kind(&self) -> &'static str {
        match self {
            PubSubMsg::BrokerHeartbeat { .. } => "BrokerHeartbeat",
            PubSubMsg::Partitions { .. } => "Partitions",
            PubSubMsg::AlterIsr { .. } => "AlterIsr",
            PubSubMsg::Fetch { .. } => "Fetch",
            PubSubMsg::FetchReply { .. } => "FetchReply",
            PubSubMsg::MetadataRequest => "MetadataRequest",
            PubSubMsg::Metadata { .. } => "Metadata",
            PubSubMsg::Produce { .. } => "Produce",
            PubSubMsg::ProduceReply { .. } => "ProduceReply",
            PubSubMsg::JoinGroup { .. } => "JoinGroup",
            PubSubMsg::Assignment { .. } => "Assignment",
            PubSubMsg::GroupHeartbeat { .. } => "GroupHeartbeat",
            PubSubMsg::GroupHeartbeatReply { .. } => "GroupHeartbeatReply",
            PubSubMsg::OffsetCommit { .. } => "OffsetCommit",
            PubSubMsg::OffsetCommitReply { .. } => "OffsetCommitReply",
            PubSubMsg::NotCoordinator { .. } => "NotCoordinator",
            PubSubMsg::ConsumerFetch { .. } => "ConsumerFetch",
            PubSubMsg::ConsumerFetchReply { .. } => "ConsumerFetchReply",
        }
    }

    fn label(&self) -> String {
        match self {
            PubSubMsg::BrokerHeartbeat { echo } => format!("heard {echo}"),
            PubSubMsg::MetadataRequest => String::new(),
            PubSubMsg::Partitions { states, .. } | PubSubMsg::Metadata { states } => {
                let s: Vec<String> = states.iter().map(|s| s.to_string()).collect();
                s.join("; ")
            }
            PubSubMsg::AlterIsr {
                partition,
                epoch,
                version,
                isr,
            } => {
                let isr: Vec<String> = isr.iter().map(|n| n.to_string()).collect();
                format!("{partition} {epoch} v{version} isr {{{}}}", isr.join(" "))
            }
            PubSubMsg::Fetch {
                partition,
                epoch,
                offset,
                last_epoch,
            } => format!("{partition} {epoch} from {offset} (last {last_epoch})"),
            PubSubMsg::FetchReply {
                partition,
                epoch,
                offset,
                result,
                ..
            } => match result {
                FetchResult::Records { records, hw } => {
                    let ids: Vec<String> = records.iter().map(|r| r.id.to_string()).collect();
                    format!(
                        "{partition} {epoch} from {offset}: [{}] hw {hw}",
                        ids.join(" ")
                    )
                }
                FetchResult::Diverged { truncate_to } => {
                    format!("{partition} {epoch} from {offset}: truncate to {truncate_to}")
                }
            },
            PubSubMsg::Produce {
                partition,
                batch,
                acks,
            } => {
                let ids: Vec<String> = batch
                    .iter()
                    .map(|m| format!("{}(k{})", m.id, m.key))
                    .collect();
                format!("[{}] to {partition} {acks}", ids.join(" "))
            }
            PubSubMsg::ProduceReply {
                partition,
                first,
                result,
            } => match result {
                ProduceResult::Ok(written) => {
                    let at: Vec<String> =
                        written.iter().map(|(id, o)| format!("{id}@{o}")).collect();
                    format!("{partition} ok: {}", at.join(" "))
                }
                ProduceResult::NotLeader => format!("batch {first} {partition}: not leader"),
                ProduceResult::NotEnoughReplicas => {
                    format!("batch {first} {partition}: not enough in-sync replicas")
                }
            },
            PubSubMsg::JoinGroup { group, session } => format!("{group}, session {session}"),
            PubSubMsg::Assignment {
                group,
                generation,
                partitions,
                session,
            } => {
                let ps: Vec<String> = partitions
                    .iter()
                    .map(|(p, o)| format!("{p} from {o}"))
                    .collect();
                format!(
                    "{group} {generation}: [{}], session {session}",
                    ps.join(", ")
                )
            }
            PubSubMsg::GroupHeartbeat { group, generation } => format!("{group} {generation}"),
            PubSubMsg::GroupHeartbeatReply {
                group,
                generation,
                rejoin,
            } => {
                if *rejoin {
                    format!("{group} {generation}: join again")
                } else {
                    format!("{group} {generation}: ok")
                }
            }
            PubSubMsg::OffsetCommit {
                group,
                generation,
                partition,
                offset,
            } => format!("{group} {generation} {partition} at {offset}"),
            PubSubMsg::OffsetCommitReply {
                group,
                partition,
                offset,
                accepted,
            } => {
                let verdict = if *accepted { "accepted" } else { "refused" };
                format!("{group} {partition} at {offset}: {verdict}")
            }
            PubSubMsg::NotCoordinator { group } => format!("{group}: not the coordinator"),
            PubSubMsg::ConsumerFetch { partition, offset } => format!("{partition} from {offset}"),
            PubSubMsg::ConsumerFetchReply {
                partition,
                offset,
                result,
            } => match result {
                ConsumerFetchResult::Records { records, hw } => {
                    let ids: Vec<String> = records.iter().map(|r| r.id.to_string()).collect();
                    format!("{partition} from {offset}: [{}] hw {hw}", ids.join(" "))
                }
                ConsumerFetchResult::OutOfRange { log_end } => {
                    format!("{partition} from {offset}: out of range, log ends at {log_end}")
                }
                ConsumerFetchResult::NotLeader => format!("{partition}: not leader"),
            },
        }
    }

    fn is_reply(&self) -> bool {
        matches!(
            self,
            PubSubMsg::Partitions { .. }
                | PubSubMsg::FetchReply { .. }
                | PubSubMsg::Metadata { .. }
                | PubSubMsg::ProduceReply { .. }
                | PubSubMsg::Assignment { .. }
                | PubSubMsg::GroupHeartbeatReply { .. }
                | PubSubMsg::OffsetCommitReply { .. }
                | PubSubMsg::NotCoordinator { .. }
                | PubSubMsg::ConsumerFetchReply { .. }
        )
    }
}
