//! A pub/sub message queue in the design of Apache Kafka: topics split into
//! partitions, each partition a replicated log, written by producers and
//! read by consumer groups.
//!
//! **The model.** A *topic* is split into *partitions*; a message's key
//! picks its partition (`key mod partitions`), so messages with one key stay
//! in order. Each partition is an append-only log of records numbered by
//! *offset* 0, 1, 2, ..., replicated on every broker (replication factor =
//! number of brokers). One replica is the partition's *leader*: producers
//! write to it and everybody reads from it. The others are *followers* that
//! fetch from the leader, the way a consumer would (Kafka's replication
//! design, "Replication" in the Kafka documentation; Jepsen's analyses of
//! Kafka and Redpanda show what goes wrong when any of the rules below is
//! bent).
//!
//! **The in-sync set and the high watermark.** The leader keeps the
//! *in-sync replica set* (ISR): itself and the followers that have recently
//! caught up to its log end. A record is *committed* once every ISR member
//! has it; the leader's *high watermark* (HW) is the offset below which
//! every record is committed. Consumers never read above it, because what
//! lies above may still vanish in a leader change. A follower that has not
//! caught up for a while (two ISR checks of 100 ms) is removed from the ISR,
//! so one slow broker cannot stall everybody; a follower that reaches the HW
//! again is added back. While a change of the ISR is pending, the leader
//! computes the HW over the union of the old and the new set (Kafka's
//! "maximal ISR"), so it never counts on a replica that might not be
//! there. The ISR never shrinks below `min.insync.replicas`: a lagging or
//! dead member is removed only once a caught-up replica has taken its place
//! (this is what Kafka's eligible leader replicas, KIP-966, achieve), so
//! a committed record is always on `min.insync` replicas that the
//! controller may elect.
//!
//! **Producers and acks.** A producer sends each record to the partition's
//! leader and waits, per its `acks` setting, for nothing (`acks=0`: fire
//! and forget, nothing is acknowledged), for the leader's own append
//! (`acks=1`), or for the whole ISR (`acks=all`, answered once the HW passes
//! the record and the ISR has at least `min.insync` members; with fewer the
//! leader refuses the write). Only `acks=all` with `min.insync` of 2 or more
//! survives the loss of a leader: with `acks=1` the leader can acknowledge a
//! record and crash before anyone copied it (toggle `acks-leader-only`), and
//! with `min.insync=1` the ISR can shrink to the leader alone, which then
//! acknowledges records that die with it (toggle `min-insync-one`). Without
//! an answer the producer *retries*, up to a bound. A retry can append the
//! same record twice (the first copy was written, its acknowledgement lost),
//! unless the producer is *idempotent*: every record carries the producer's
//! session and a sequence number, and a leader that finds that pair in its
//! log answers with the offset it already has instead of appending (toggle
//! `retries-without-idempotence` turns the numbers off). One record per
//! partition is in flight at a time, so retries cannot reorder a key.
//!
//! **Replication and divergence.** Each record is stamped with the *leader
//! epoch* in which it was appended. A follower's fetch names its log end and
//! the epoch of its last record; the leader answers with the next records
//! if its own log holds that record in that epoch, and otherwise with the
//! offset to truncate to (the end of that epoch in the leader's log: Kafka's
//! KIP-101/KIP-320 fetch validation, the same induction as Raft's
//! `prevLogIndex`/`prevLogTerm` check). Since every epoch has one leader
//! and leaders only append, equal (offset, epoch) means equal prefixes, and
//! truncation never reaches below the HW.
//!
//! **The controller.** Who leads a partition and who is in its ISR is
//! decided by one *controller* node, never by brokers themselves. Brokers
//! send it a heartbeat every 50 ms, echoing the stamp of the latest answer
//! they heard; a broker whose session is not renewed for 300 ms is declared
//! dead, and a heartbeat renews it only if it echoes the answer to the
//! previous renewal (a broker that can talk but not hear would otherwise be
//! kept as a leader that never learns it leads). Each partition a dead
//! broker led gets a new leader chosen from the live ISR members, with the
//! partition's *leader epoch* incremented. If no ISR
//! member is alive, the partition goes offline until one returns; electing
//! an out-of-sync replica instead (toggle `unclean-leader-election`) brings
//! it back at once, without the records only the ISR had. Leaders propose
//! ISR changes (`AlterIsr`, naming the partition's version); the controller
//! applies only proposals from the current leader at the current version.
//! Every decision bumps the partition's version and is pushed to all
//! brokers, and repeated in every heartbeat reply, so a lost push is
//! repaired within a heartbeat; a broker applies only newer versions.
//!
//! *Why one controller is safe.* The issue allowed a Raft quorum or another
//! argued design. The controller here is a single node whose whole state
//! (epoch, version, leader and ISR of each partition) is persisted in the
//! same step as the decision that changes it, before any message announcing
//! it leaves (a step's effects are atomic and a crash falls between steps).
//! There is only ever one decider, and it never forgets a decision across a
//! crash, so epochs and versions only grow and no partition epoch can ever
//! have two leaders. A leader that has been replaced but has not heard yet
//! (cut off, paused) is fenced by the epoch: followers of the new epoch
//! stop fetching from it, so its HW cannot advance and, with `acks=all`, it
//! can acknowledge nothing. The price is availability, not safety: while
//! the controller is down, no partition can change leader. (Replacing it
//! with a quorum of controllers running `raft::Server` behind a thin
//! wrapper that maps `Out<RaftNode>` effects into this protocol's is the
//! natural next step; the decisions would then be entries of the Raft log.)
//!
//! **Consumer groups.** A *group* reads the first topic; each partition
//! is owned by one member of the group at a time, so one group is a work
//! queue and several groups each get every message (publish/subscribe
//! fan-out). Members join through the group's *coordinator* (below), which gives
//! every member its partitions and a *generation* number, and rebalances
//! (next generation) when a member joins or its session runs out (no
//! heartbeat for 300 ms). A consumer fetches from the partition's leader,
//! never above the high watermark (toggle `read-above-high-watermark`
//! serves uncommitted records, which a leader change can take back),
//! processes a batch, and commits the offset after it to the coordinator:
//! after processing (*at-least-once*: a crash in between makes the next
//! owner process the batch again) or before (*at-most-once*, toggle
//! `commit-before-processing`: the consumer waits for the commit's
//! acknowledgement, Kafka's `commitSync`, then processes, and a crash in
//! between loses the batch for the group). A new owner resumes from the
//! committed offset. Commits carry the generation, and the coordinator
//! accepts them only from the partition's owner in the current
//! generation: a member that missed a rebalance (paused, cut off) is
//! fenced (toggle `no-generation-fencing` accepts its
//! commits and lets it move the group's offsets).
//!
//! *Where the coordinator lives* ([`coordinator`]). As in Kafka, on a
//! broker: the groups' state is kept in an internal, replicated topic,
//! `__consumer_offsets`, with one partition per group (numbered after the
//! other topics' partitions, replicated, led, fenced and made in-sync like
//! any partition), and a group's coordinator is whichever broker leads its
//! partition. Every decision of the coordinator is a record it appends
//! there: a *generation record* for every rebalance (the members, each
//! partition's owner and the offset it resumes from) and a *commit record*
//! for every accepted offset commit. It answers only once the record is
//! committed (the high watermark has passed it, the ISR has at least
//! `min.insync` members: `acks=all`): the members get their assignments
//! then, the committer its acknowledgement. So everything a consumer was
//! told is on `min.insync` replicas the controller may elect, and a
//! coordinator crash loses no acknowledged commit and no announced
//! generation. When the controller moves the partition's leadership (as
//! for any partition: the leader died, or was cut off), the new leader
//! rebuilds the group by replaying the records of its log and coordinates
//! from then on; members' sessions start afresh. It sends no assignment
//! until every record its log held at the takeover is committed (its
//! predecessor may have acknowledged commits anywhere in that log, and its
//! own high watermark lags), and a generation it finds above its high
//! watermark is announced then, each partition resuming from the group's
//! offset in the committed log at that moment. A member that asks for its
//! assignment again is answered once every record in the log is
//! committed, so that a commit it sent before a restart is not
//! acknowledged after an answer that resumes below it. A consumer adopts
//! only an assignment of a newer generation than its own: a copy of the
//! current one (duplicated, delayed, announced again) would move its
//! positions back over what it committed. And it adopts only one addressed
//! to its session, a durable number it increments at every start and
//! sends with each JoinGroup: after a restart it knows no generation, and
//! an assignment delayed from before would resume it below commits made
//! since. A commit
//! below the group's offset moves nothing, and is answered once the log
//! that holds the higher one is committed (an at-most-once member waits
//! for that answer before it processes). Consumers find
//! the coordinator the way producers find leaders (Kafka's FindCoordinator,
//! folded into metadata): the leader of the group's offsets partition in
//! the newest metadata they have. A broker that does not lead it answers
//! `NotCoordinator`, and a consumer whose heartbeats go unanswered three
//! times looks the coordinator up again. A deposed coordinator cannot
//! commit anything (its followers left its epoch), so it can neither
//! announce a generation nor acknowledge a commit; the members it still
//! talks to are fenced by the generation the new one announces.
//!
//! **What is durable.** A broker's partition logs (persisted in the step
//! that changes them, like a log flushed on every write), the latest
//! controller decision it applied for each partition (so that a delayed,
//! older decision cannot take a restarted broker back in time), and the
//! ISR change it proposed as a leader and has not seen decided (the
//! controller may accept it after the leader crashed; the leader must keep
//! counting those members). Not its HW, which it learns again. A new
//! leader lets a follower into the ISR only once it has caught up to the
//! log end at which the leadership began, so a stale HW after a restart
//! cannot admit a replica that lacks committed records. The groups'
//! state is in those logs (the offsets topic); a coordinator keeps nothing
//! else. The controller's incarnation and partition table. A producer's session counter and
//! message counter, so that a restarted producer opens a new idempotence
//! session and never reuses a message id.
//!
//! **The checker** (see [`checker`]) recomputes everything from its own
//! history: the records producers put on the wire, the acknowledgements
//! they received, every append and truncation of every replica (a shadow
//! copy of each log), every HW a leader announced, and every controller
//! decision, every rebalance and accepted commit (read from the offsets
//! topic's records as they become committed), every assignment a
//! consumer adopted and every record it processed. It checks rules Q1 to
//! Q9 of `docs/checkers.md`, and at the end of a run a *drain*
//! ([`sim::Checker::finish`], an additive hook with a default that judges
//! nothing) reports, per group and delivery mode, every acknowledged
//! message the group never processed (without groups: every one its
//! partition's leader cannot serve).
//!
//! **In seed sweeps** ([`sweep`]) brokers are the servers that faults aim
//! at and producers are the clients that take the workload; the controller
//! is neither, because a sweep may leave a server down for good and a lone
//! controller that stays down can move no partition. `min.insync` is a
//! majority of the brokers, so every ISR meets the healed majority.

pub mod broker;
pub mod checker;
pub mod consumer;
pub mod controller;
pub mod coordinator;
mod interactive;
pub mod msg;
pub mod node;
pub mod producer;
pub mod scenario;
pub mod sweep;
pub mod view;

use std::fmt;
use std::rc::Rc;

use sim::{impl_encode, Duration, Encode, NodeId, Protocol, TraceHasher};

pub use checker::PubSubChecker;
pub use msg::{FetchResult, PartitionState, ProduceResult, PubSubMsg};
pub use node::{PubSubDurable, PubSubNode, PubSubObs, PubSubOp, PubSubTimer};

/// The internal topic that holds the consumer groups' generations and
/// offset commits, one partition per group.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// A partition, numbered across all topics: partitions `0..n` of the first
/// topic, then the next topic's, and so on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartitionId(pub u32);

/// A position in a partition's log, from 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Offset(pub u64);

/// A partition's leader epoch: incremented by the controller whenever the
/// partition's leader changes. Every record is stamped with the epoch it was
/// appended in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Epoch(pub u64);

/// A consumer group, numbered in the order of [`Settings::groups`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupId(pub u32);

/// A group's generation: incremented by the coordinator at every rebalance.
/// Commits carry it, so a member that missed a rebalance is fenced off.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Generation(pub u64);

impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "g{}", self.0)
    }
}

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "gen{}", self.0)
    }
}

impl Encode for GroupId {
    fn encode(&self, h: &mut TraceHasher) {
        h.word(u64::from(self.0));
    }
}

impl Encode for Generation {
    fn encode(&self, h: &mut TraceHasher) {
        h.word(self.0);
    }
}

/// When a consumer commits an offset, relative to processing the records
/// below it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Delivery {
    /// Process, then commit: a crash in between means the next owner
    /// processes the records again (duplicates, nothing lost).
    AtLeastOnce,
    /// Commit, then process: a crash in between means nobody ever processes
    /// them (nothing duplicated, records lost).
    AtMostOnce,
}

impl fmt::Display for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Delivery::AtLeastOnce => "at-least-once",
            Delivery::AtMostOnce => "at-most-once",
        })
    }
}

/// A consumer group: a name, how many consumers it has, and its delivery
/// mode. Every group reads the first topic; several groups fan it out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupSpec {
    /// Its name.
    pub name: String,
    /// How many consumers belong to it.
    pub members: usize,
    /// When its consumers commit.
    pub mode: Delivery,
}

/// A message's identity: the producer that created it and its number there.
/// The number is durable, so an id is never reused, even across a restart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MsgKey {
    /// The producer.
    pub producer: NodeId,
    /// Its message number, from 1.
    pub n: u64,
}

impl fmt::Display for PartitionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p{}", self.0)
    }
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "e{}", self.0)
    }
}

impl fmt::Display for MsgKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.producer, self.n)
    }
}

impl Encode for PartitionId {
    fn encode(&self, h: &mut TraceHasher) {
        h.word(u64::from(self.0));
    }
}

impl Encode for Offset {
    fn encode(&self, h: &mut TraceHasher) {
        h.word(self.0);
    }
}

impl Encode for Epoch {
    fn encode(&self, h: &mut TraceHasher) {
        h.word(self.0);
    }
}

impl_encode!(MsgKey { producer, n });

/// A set of nodes as people read it: `{n1 n2}`.
pub fn node_set(nodes: &[NodeId]) -> String {
    let names: Vec<String> = nodes.iter().map(|n| n.to_string()).collect();
    format!("{{{}}}", names.join(" "))
}

impl Offset {
    /// The offset after this one.
    pub fn next(self) -> Offset {
        Offset(self.0 + 1)
    }

    /// The offset as an index into a log vector.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// How much acknowledgement a producer waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Acks {
    /// `acks=0`: none; the record counts as sent once it leaves.
    Zero,
    /// `acks=1`: the leader's own append.
    Leader,
    /// `acks=all`: the whole in-sync set (and at least `min.insync` of it).
    All,
}

impl_encode!(enum Acks);

impl fmt::Display for Acks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Acks::Zero => "acks=0",
            Acks::Leader => "acks=1",
            Acks::All => "acks=all",
        })
    }
}

/// A topic: a name and a number of partitions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicSpec {
    /// Its name.
    pub name: String,
    /// How many partitions it has.
    pub partitions: u32,
}

/// A teaching toggle: one deliberate departure from the safe settings, for a
/// student to see what the rule it breaks is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Toggle {
    /// Producers use `acks=1`.
    AcksLeaderOnly,
    /// The controller elects an out-of-sync replica when no in-sync one is
    /// alive.
    UncleanLeaderElection,
    /// `min.insync.replicas = 1`.
    MinInsyncOne,
    /// Producers retry without sequence numbers.
    RetriesWithoutIdempotence,
    /// Leaders serve consumers records above the high watermark.
    ReadAboveHighWatermark,
    /// Consumers commit an offset before processing the records below it.
    CommitBeforeProcessing,
    /// The coordinator accepts commits from any generation.
    NoGenerationFencing,
}

impl Toggle {
    /// Every toggle, in a stable order.
    pub const ALL: [Toggle; 7] = [
        Toggle::AcksLeaderOnly,
        Toggle::UncleanLeaderElection,
        Toggle::MinInsyncOne,
        Toggle::ReadAboveHighWatermark,
        Toggle::CommitBeforeProcessing,
        Toggle::RetriesWithoutIdempotence,
        Toggle::NoGenerationFencing,
    ];

    /// Every toggle's name, in the same order as [`Toggle::ALL`].
    pub const NAMES: [&'static str; 7] = [
        "acks-leader-only",
        "unclean-leader-election",
        "min-insync-one",
        "read-above-high-watermark",
        "commit-before-processing",
        "retries-without-idempotence",
        "no-generation-fencing",
    ];

    /// The toggle's name, as in URLs and `--toggle`.
    pub fn name(self) -> &'static str {
        Toggle::NAMES[Toggle::ALL.iter().position(|&t| t == self).expect("listed")]
    }

    /// The toggle with this name.
    pub fn from_name(name: &str) -> Option<Toggle> {
        Toggle::NAMES
            .iter()
            .position(|&n| n == name)
            .map(|i| Toggle::ALL[i])
    }

    /// One line on the rule the toggle breaks.
    pub fn explanation(self) -> &'static str {
        match self {
            Toggle::AcksLeaderOnly => {
                "Producers use acks=1: the leader acknowledges a record as soon as it has it, and if it crashes before a follower copies it, the new leader writes other records at that offset (breaks Q1)."
            }
            Toggle::UncleanLeaderElection => {
                "When no in-sync replica is alive, the controller makes an out-of-sync replica leader, which lacks committed records and overwrites them (breaks Q7, then Q1 and Q2)."
            }
            Toggle::MinInsyncOne => {
                "min.insync.replicas is 1: the in-sync set may shrink to the leader alone, which then acknowledges records nobody else has; when it crashes they are gone (breaks Q1)."
            }
            Toggle::RetriesWithoutIdempotence => {
                "Producers retry without sequence numbers: when an acknowledgement is lost, the retry appends the record a second time (breaks Q5)."
            }
            Toggle::ReadAboveHighWatermark => {
                "Leaders hand consumers records above the high watermark, which a leader change can still take back: consumers process records that were never committed (breaks Q6 and Q4)."
            }
            Toggle::CommitBeforeProcessing => {
                "Consumers commit an offset before they process the records below it (at-most-once): a consumer that crashes in between loses them for its group (breaks Q1)."
            }
            Toggle::NoGenerationFencing => {
                "The coordinator accepts offset commits from members of an old generation, so a consumer that missed a rebalance still moves the group's offsets (breaks Q9)."
            }
        }
    }

    /// The safety rules this toggle's scenario trips, in rule order.
    pub fn trips(self) -> &'static [&'static str] {
        match self {
            Toggle::AcksLeaderOnly => &["Q1"],
            Toggle::UncleanLeaderElection => &["Q1", "Q2", "Q7"],
            Toggle::MinInsyncOne => &["Q1"],
            Toggle::RetriesWithoutIdempotence => &["Q5"],
            Toggle::ReadAboveHighWatermark => &["Q4", "Q6"],
            Toggle::CommitBeforeProcessing => &["Q1"],
            Toggle::NoGenerationFencing => &["Q9"],
        }
    }
}

impl fmt::Display for Toggle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The settings every node of a run shares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The topics; producers publish to the first.
    pub topics: Vec<TopicSpec>,
    /// What producers wait for.
    pub acks: Acks,
    /// `min.insync.replicas`: the fewest ISR members a write with
    /// `acks=all` needs, and the size below which the ISR never shrinks.
    pub min_insync: usize,
    /// Idempotent producers (sequence numbers, duplicates removed).
    pub idempotence: bool,
    /// How many times a producer resends a record before giving up.
    pub retries: u32,
    /// Toggle `unclean-leader-election`.
    pub unclean_leader_election: bool,
    /// How often brokers send the controller a heartbeat.
    pub heartbeat_interval: Duration,
    /// How long the controller waits for a heartbeat before it declares a
    /// broker dead.
    pub session_timeout: Duration,
    /// How often a follower fetches when it has nothing new.
    pub fetch_interval: Duration,
    /// How often a leader checks its followers' progress.
    pub isr_check_interval: Duration,
    /// How many ISR checks in a row a follower may miss before the leader
    /// asks to remove it.
    pub isr_lag_checks: u32,
    /// How long a producer waits for an answer before it retries.
    pub request_timeout: Duration,
    /// The most records one fetch answer carries.
    pub max_fetch_records: usize,
    /// The consumer groups.
    pub groups: Vec<GroupSpec>,
    /// Toggle `read-above-high-watermark`.
    pub read_above_high_watermark: bool,
    /// Whether the coordinator rejects commits from other generations
    /// (off: toggle `no-generation-fencing`).
    pub generation_fencing: bool,
    /// How often consumers send their coordinator a heartbeat.
    pub group_heartbeat_interval: Duration,
    /// How long the coordinator waits for a member's heartbeat before it
    /// removes the member and rebalances.
    pub group_session_timeout: Duration,
    /// How long a consumer takes to process a batch of records.
    pub processing_time: Duration,
}

impl Settings {
    /// The safe defaults for three brokers: one topic `events` with
    /// `partitions` partitions, `acks=all`, `min.insync=2`, idempotent
    /// producers that retry up to 50 times, clean elections.
    pub fn safe(partitions: u32) -> Settings {
        Settings {
            topics: vec![TopicSpec {
                name: "events".to_string(),
                partitions,
            }],
            acks: Acks::All,
            min_insync: 2,
            idempotence: true,
            retries: 50,
            unclean_leader_election: false,
            heartbeat_interval: Duration::from_ms(50),
            session_timeout: Duration::from_ms(300),
            fetch_interval: Duration::from_ms(50),
            isr_check_interval: Duration::from_ms(100),
            isr_lag_checks: 2,
            request_timeout: Duration::from_ms(300),
            max_fetch_records: 16,
            groups: Vec::new(),
            read_above_high_watermark: false,
            generation_fencing: true,
            group_heartbeat_interval: Duration::from_ms(50),
            group_session_timeout: Duration::from_ms(300),
            processing_time: Duration::from_ms(20),
        }
    }

    /// How many partitions there are, over all topics, the internal offsets
    /// topic (one partition per group, after the others) included.
    pub fn partition_count(&self) -> u32 {
        self.user_partition_count() + self.groups.len() as u32
    }

    /// How many partitions the topics producers write have.
    pub fn user_partition_count(&self) -> u32 {
        self.topics.iter().map(|t| t.partitions).sum()
    }

    /// The partition of the internal offsets topic that holds `group`'s
    /// generations and commits, and whose leader coordinates the group.
    pub fn offsets_partition(&self, group: GroupId) -> PartitionId {
        PartitionId(self.user_partition_count() + group.0)
    }

    /// The group whose offsets partition `p` is, if it is one.
    pub fn group_of(&self, p: PartitionId) -> Option<GroupId> {
        let first = self.user_partition_count();
        (p.0 >= first && p.0 < self.partition_count()).then(|| GroupId(p.0 - first))
    }

    /// Every partition id.
    pub fn partitions(&self) -> impl Iterator<Item = PartitionId> {
        (0..self.partition_count()).map(PartitionId)
    }

    /// The partition of the first topic that a message with `key` goes to.
    pub fn partition_for(&self, key: u32) -> PartitionId {
        PartitionId(key % self.topics[0].partitions.max(1))
    }

    /// The partitions of the first topic, which groups read.
    pub fn consumed(&self) -> impl Iterator<Item = PartitionId> {
        (0..self.topics[0].partitions).map(PartitionId)
    }

    /// Every group id.
    pub fn group_ids(&self) -> impl Iterator<Item = GroupId> {
        (0..self.groups.len() as u32).map(GroupId)
    }

    /// The partition's name as people read it: `events/0`.
    pub fn partition_name(&self, p: PartitionId) -> String {
        let mut first = 0;
        for t in &self.topics {
            if p.0 < first + t.partitions {
                return format!("{}/{}", t.name, p.0 - first);
            }
            first += t.partitions;
        }
        match self.group_of(p) {
            Some(g) => format!("{OFFSETS_TOPIC}/{}", g.0),
            None => p.to_string(),
        }
    }
}

/// The pub/sub protocol: how many brokers, producers and consumers, and
/// their settings. Node ids: brokers `0..brokers`, then the controller, then
/// the producers, then the consumers of each group in turn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PubSub {
    /// Number of brokers.
    pub brokers: usize,
    /// Number of producers.
    pub producers: usize,
    /// What every node shares (the groups, and so the consumers, included).
    pub settings: Settings,
    /// The teaching toggles switched on, in order. The checker judges a
    /// run by what its options promise ([`PubSub::promise`]), and a toggle
    /// is a departure from that promise, not a new one.
    pub toggles: Vec<Toggle>,
}

/// What a queue's options promise, which the checker holds a run to: the
/// settings as they are without the teaching toggles (a setting a toggle
/// changes keeps the safe value the toggle departs from).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Promise {
    /// Acknowledged messages stay in the committed log: `acks=all` with
    /// `min.insync` of 2 or more, so every acknowledged record is on two
    /// replicas the controller may elect, and a leader crash loses none.
    /// (`acks=0` acknowledges nothing; `acks=1`, or `min.insync=1`,
    /// acknowledges records that can die with their leader.)
    pub durable: bool,
    /// Every partition stays available to a healed majority of brokers
    /// while the others stay down: `min.insync` is a majority. A smaller
    /// in-sync set may lie wholly in the minority, and a larger one cannot
    /// write with the majority alone, so the end of a run (each group has
    /// processed every acknowledged message, the sweep's convergence) is
    /// judged only then.
    pub available: bool,
    /// No message is committed twice in a partition: idempotent producers.
    pub idempotent: bool,
    /// Each group's delivery mode: at-least-once loses nothing (if the log
    /// is durable and available), at-most-once processes nothing twice.
    pub modes: Vec<Delivery>,
}

impl PubSub {
    /// `brokers` brokers, one controller and `producers` producers, with the
    /// safe settings, `partitions` partitions and `min.insync` a majority
    /// of the brokers (2 of 3).
    pub fn new(brokers: usize, producers: usize, partitions: u32) -> PubSub {
        assert!(brokers >= 1, "a pub/sub cluster needs at least one broker");
        assert!(partitions >= 1, "a topic needs at least one partition");
        let mut settings = Settings::safe(partitions);
        // A majority of the replicas: then every ISR meets every majority
        // of brokers, so losing a minority never takes a partition offline.
        settings.min_insync = brokers / 2 + 1;
        PubSub {
            brokers,
            producers,
            settings,
            toggles: Vec::new(),
        }
    }

    /// What this queue's options promise (see [`Promise`]).
    pub fn promise(&self) -> Promise {
        let s = &self.settings;
        let toggled = |t: Toggle| self.toggles.contains(&t);
        let acks = if toggled(Toggle::AcksLeaderOnly) {
            Acks::All
        } else {
            s.acks
        };
        let majority = self.brokers / 2 + 1;
        let min_insync = if toggled(Toggle::MinInsyncOne) {
            majority
        } else {
            s.min_insync
        };
        // One broker alone holds everything there is.
        let replicated = min_insync >= 2 || self.brokers == 1;
        Promise {
            durable: acks == Acks::All && replicated,
            available: min_insync == majority,
            idempotent: s.idempotence || toggled(Toggle::RetriesWithoutIdempotence),
            modes: s
                .groups
                .iter()
                .map(|g| {
                    if toggled(Toggle::CommitBeforeProcessing) {
                        Delivery::AtLeastOnce
                    } else {
                        g.mode
                    }
                })
                .collect(),
        }
    }

    /// Adds consumer groups (each reading the first topic).
    pub fn with_groups(mut self, groups: Vec<GroupSpec>) -> PubSub {
        self.settings.groups.extend(groups);
        self
    }

    /// Switches a teaching toggle on. `commit-before-processing` makes every
    /// group at-most-once, including groups added after it.
    pub fn with_toggle(mut self, toggle: Toggle) -> PubSub {
        self.toggles.push(toggle);
        let s = &mut self.settings;
        match toggle {
            Toggle::AcksLeaderOnly => s.acks = Acks::Leader,
            Toggle::UncleanLeaderElection => s.unclean_leader_election = true,
            Toggle::MinInsyncOne => s.min_insync = 1,
            Toggle::RetriesWithoutIdempotence => s.idempotence = false,
            Toggle::ReadAboveHighWatermark => s.read_above_high_watermark = true,
            Toggle::CommitBeforeProcessing => {
                for g in &mut s.groups {
                    g.mode = Delivery::AtMostOnce;
                }
            }
            Toggle::NoGenerationFencing => s.generation_fencing = false,
        }
        self
    }

    /// How many consumers there are, over all groups.
    pub fn consumers(&self) -> usize {
        self.settings.groups.iter().map(|g| g.members).sum()
    }

    /// The consumer ids, with their groups.
    pub fn consumer_ids(&self) -> Vec<(NodeId, GroupId)> {
        let mut next = (self.brokers + 1 + self.producers) as u32;
        let mut ids = Vec::new();
        for (g, spec) in self.settings.groups.iter().enumerate() {
            for _ in 0..spec.members {
                ids.push((NodeId(next), GroupId(g as u32)));
                next += 1;
            }
        }
        ids
    }

    /// The broker ids.
    pub fn broker_ids(&self) -> Vec<NodeId> {
        (0..self.brokers as u32).map(NodeId).collect()
    }

    /// The controller's id.
    pub fn controller_id(&self) -> NodeId {
        NodeId(self.brokers as u32)
    }

    /// The producer ids.
    pub fn producer_ids(&self) -> Vec<NodeId> {
        let first = self.brokers as u32 + 1;
        (first..first + self.producers as u32).map(NodeId).collect()
    }
}

impl Protocol for PubSub {
    type Node = PubSubNode;

    fn name(&self) -> &'static str {
        "pubsub"
    }

    fn node_count(&self) -> usize {
        self.brokers + 1 + self.producers + self.consumers()
    }

    fn new_node(&self, id: NodeId) -> PubSubNode {
        let settings = Rc::new(self.settings.clone());
        let brokers = self.broker_ids();
        let controller = self.controller_id();
        if id.index() < self.brokers {
            PubSubNode::Broker(broker::Broker::new(id, brokers, controller, settings))
        } else if id == controller {
            PubSubNode::Controller(controller::Controller::new(id, brokers, settings))
        } else if let Some(&(_, group)) = self.consumer_ids().iter().find(|(c, _)| *c == id) {
            PubSubNode::Consumer(consumer::Consumer::new(id, group, brokers, settings))
        } else {
            PubSubNode::Producer(producer::Producer::new(id, brokers, settings))
        }
    }
}

#[cfg(test)]
mod tests;
