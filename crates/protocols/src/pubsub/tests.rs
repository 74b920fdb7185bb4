//! Runs of the queue with the checker watching: the safe settings lose and
//! duplicate nothing through a leader crash and a partition, and each
//! teaching toggle of this step breaks exactly its rule.

use sim::{Checkers, Duration, Input, Latency, LinkParams, NodeId, World, WorldConfig};

use super::broker::Broker;
use super::consumer::Consumer;
use super::node::{PubSubNode, PubSubObs, PubSubOp};
use super::producer::Producer;
use super::{
    Delivery, GroupId, GroupSpec, MsgKey, Offset, PartitionId, PubSub, PubSubChecker, Toggle,
};

/// A world with the checker watching every step.
struct Run {
    world: World<PubSub>,
    checkers: Checkers<PubSub>,
    /// Every record a consumer processed: who, and which message.
    deliveries: Vec<(NodeId, MsgKey)>,
}

impl Run {
    /// A run with a fixed 10 ms latency, so that a test can reason about
    /// what arrives when.
    fn new(protocol: PubSub, seed: u64) -> Run {
        let mut config = WorldConfig::with_seed(seed);
        config.network = LinkParams {
            latency: Latency::uniform(Duration::from_ms(10), Duration::from_ms(10)),
            ..LinkParams::default()
        };
        Run {
            world: World::new(protocol, config),
            checkers: Checkers::new(vec![Box::new(PubSubChecker::new())]),
            deliveries: Vec::new(),
        }
    }

    fn run_for(&mut self, d: Duration) {
        let until = self.world.now() + d;
        for _ in 0..1_000_000 {
            if self.world.run_until(until, 1).steps == 0 {
                return;
            }
            let record = self.world.last_record().expect("a step was taken");
            if std::env::var("TRACE").is_ok() {
                eprintln!("{} {}", record.time, record.headline());
            }
            self.checkers.observe(record, &self.world);
            for obs in record.out.observations() {
                if let PubSubObs::Delivered { id, .. } = obs {
                    self.deliveries
                        .push((record.node.expect("a consumer"), *id));
                }
            }
        }
        panic!("the run did not reach {until}");
    }

    fn apply(&mut self, input: Input<PubSubOp>) {
        self.world.apply(input).expect("a valid input");
        let record = self.world.last_record().expect("a step was taken");
        self.checkers.observe(record, &self.world);
    }

    fn publish(&mut self, producer: NodeId, key: u32) {
        self.apply(Input::Request {
            node: producer,
            op: PubSubOp::Publish { key },
        });
    }

    fn broker(&self, b: NodeId) -> &Broker {
        self.world
            .node(b)
            .and_then(PubSubNode::as_broker)
            .expect("a live broker")
    }

    fn producer(&self, p: NodeId) -> &Producer {
        self.world
            .node(p)
            .and_then(PubSubNode::as_producer)
            .expect("a live producer")
    }

    fn leader_of(&self, p: PartitionId) -> Option<NodeId> {
        let protocol = self.world.protocol();
        let controller = self.world.node(protocol.controller_id())?.as_controller()?;
        controller.table()[p.0 as usize].leader
    }

    /// The rules broken so far, each once, in rule order.
    fn broken(&self) -> Vec<&'static str> {
        let mut rules: Vec<&'static str> =
            self.checkers.violations().iter().map(|v| v.rule).collect();
        rules.sort_unstable();
        rules.dedup();
        rules
    }

    fn finish(&mut self) {
        self.checkers.finish(&self.world);
    }
}

const P0: PartitionId = PartitionId(0);

#[test]
fn steady_publishing_acknowledges_everything_and_replicas_agree() {
    let protocol = PubSub::new(3, 1, 3);
    let producer = protocol.producer_ids()[0];
    let mut run = Run::new(protocol, 1);
    run.run_for(Duration::from_ms(200));
    for key in 0..30 {
        run.publish(producer, key);
        run.run_for(Duration::from_ms(20));
    }
    run.run_for(Duration::from_ms(2_000));
    run.finish();
    assert_eq!(run.checkers.violations(), &[]);
    assert_eq!(run.producer(producer).acked().len(), 30);
    assert_eq!(run.producer(producer).pending(), 0);
    for p in 0..3 {
        let logs: Vec<Vec<_>> = (0..3)
            .map(|b| run.broker(NodeId(b)).replicas()[p].log.clone())
            .collect();
        assert_eq!(logs[0].len(), 10, "partition {p} has a third of the keys");
        assert_eq!(logs[0], logs[1]);
        assert_eq!(logs[0], logs[2]);
        for b in 0..3 {
            assert_eq!(run.broker(NodeId(b)).replicas()[p].hw.0, 10);
        }
    }
}

#[test]
fn a_leader_crash_with_acks_all_loses_nothing() {
    let protocol = PubSub::new(3, 1, 1);
    let producer = protocol.producer_ids()[0];
    let mut run = Run::new(protocol, 2);
    run.run_for(Duration::from_ms(200));
    let old = run.leader_of(P0).expect("a leader");
    for key in 0..10 {
        run.publish(producer, key);
    }
    run.run_for(Duration::from_ms(500));
    let acked_before = run.producer(producer).acked().len();
    assert_eq!(acked_before, 10);
    for key in 10..20 {
        run.publish(producer, key);
    }
    run.run_for(Duration::from_ms(25));
    run.apply(Input::Crash(old));
    run.run_for(Duration::from_ms(2_000));
    let new = run.leader_of(P0).expect("a new leader");
    assert_ne!(new, old);
    assert_eq!(run.producer(producer).acked().len(), 20);
    run.apply(Input::Restart(old));
    run.run_for(Duration::from_ms(1_000));
    run.finish();
    assert_eq!(run.checkers.violations(), &[]);
    let log = &run.broker(old).replicas()[0].log;
    assert_eq!(log.len(), 20, "the old leader caught up after its restart");
}

/// Builds a one-partition queue of three brokers and one producer, with
/// `toggle` on if given, and lets it settle.
fn settled(toggle: Option<Toggle>, seed: u64) -> (Run, NodeId) {
    let mut protocol = PubSub::new(3, 1, 1);
    if let Some(t) = toggle {
        protocol = protocol.with_toggle(t);
    }
    let producer = protocol.producer_ids()[0];
    let mut run = Run::new(protocol, seed);
    run.run_for(Duration::from_ms(200));
    assert_eq!(run.leader_of(P0), Some(NodeId(0)), "n1 leads p0 first");
    (run, producer)
}

fn cut_both_ways(run: &mut Run, a: NodeId, b: NodeId) {
    run.apply(Input::Cut { from: a, to: b });
    run.apply(Input::Cut { from: b, to: a });
}

const N1: NodeId = NodeId(0);
const N2: NodeId = NodeId(1);
const N3: NodeId = NodeId(2);

/// The leader's answers to its followers are lost; it acknowledges a
/// record and crashes; the new leader takes the next record at that offset.
fn leader_acks_alone_then_crashes(toggle: Option<Toggle>) -> Run {
    let (mut run, producer) = settled(toggle, 3);
    for f in [N2, N3] {
        run.apply(Input::Cut { from: N1, to: f });
    }
    run.publish(producer, 0);
    run.run_for(Duration::from_ms(30));
    run.apply(Input::Crash(N1));
    run.run_for(Duration::from_ms(1_000));
    run.publish(producer, 1);
    run.run_for(Duration::from_ms(1_000));
    run.finish();
    run
}

#[test]
fn acks_leader_only_loses_a_record_when_the_leader_crashes() {
    let run = leader_acks_alone_then_crashes(Some(Toggle::AcksLeaderOnly));
    assert_eq!(run.broken(), ["Q1"]);
    let producer = run.world.protocol().producer_ids()[0];
    assert_eq!(run.producer(producer).acked().len(), 2);
}

#[test]
fn acks_all_acknowledges_nothing_the_followers_lack() {
    let run = leader_acks_alone_then_crashes(None);
    assert_eq!(run.checkers.violations(), &[]);
    // The first record was written on n1 alone and never acknowledged; the
    // producer sent it again to the new leader, which has both now.
    let producer = run.world.protocol().producer_ids()[0];
    assert_eq!(run.producer(producer).acked().len(), 2);
    let new = run.leader_of(P0).expect("a leader");
    assert_eq!(run.broker(new).replicas()[0].log.len(), 2);
}

/// n3 is cut off from the other brokers (not from the controller) and
/// falls out of the ISR; three records are committed on n1 and n2; both
/// crash; at the end they come back.
fn in_sync_replicas_crash(toggle: Option<Toggle>) -> Run {
    let (mut run, producer) = settled(toggle, 4);
    cut_both_ways(&mut run, N3, N1);
    cut_both_ways(&mut run, N3, N2);
    run.run_for(Duration::from_ms(600));
    for key in 0..3 {
        run.publish(producer, key);
    }
    run.run_for(Duration::from_ms(300));
    assert_eq!(run.producer(producer).acked().len(), 3);
    run.apply(Input::Crash(N1));
    run.apply(Input::Crash(N2));
    run.run_for(Duration::from_ms(1_000));
    run.apply(Input::HealAll);
    run.apply(Input::Restart(N1));
    run.apply(Input::Restart(N2));
    run.run_for(Duration::from_ms(1_000));
    run.finish();
    run
}

#[test]
fn unclean_leader_election_elects_a_replica_without_the_committed_records() {
    let run = in_sync_replicas_crash(Some(Toggle::UncleanLeaderElection));
    assert_eq!(run.broken(), ["Q1", "Q2", "Q7"]);
    assert_eq!(run.leader_of(P0), Some(N3));
}

#[test]
fn clean_election_waits_for_an_in_sync_replica() {
    let run = in_sync_replicas_crash(None);
    assert_eq!(run.checkers.violations(), &[]);
    let leader = run.leader_of(P0).expect("back online");
    assert_ne!(leader, N3);
    assert_eq!(run.broker(N3).replicas()[0].log.len(), 3, "n3 caught up");
}

/// n1 is cut off from its followers, which fall out of the ISR as far as
/// `min.insync` allows; it takes a record, and crashes for good.
fn leader_alone_in_sync_crashes(toggle: Option<Toggle>) -> Run {
    let (mut run, producer) = settled(toggle, 5);
    cut_both_ways(&mut run, N1, N2);
    cut_both_ways(&mut run, N1, N3);
    run.run_for(Duration::from_ms(600));
    run.publish(producer, 0);
    run.run_for(Duration::from_ms(100));
    run.apply(Input::Crash(N1));
    run.apply(Input::HealAll);
    run.run_for(Duration::from_ms(2_000));
    run.finish();
    run
}

#[test]
fn min_insync_one_acknowledges_a_record_only_the_crashed_leader_has() {
    let run = leader_alone_in_sync_crashes(Some(Toggle::MinInsyncOne));
    assert_eq!(run.broken(), ["Q1"]);
    assert_eq!(run.leader_of(P0), None, "the partition is offline");
}

#[test]
fn min_insync_two_keeps_a_follower_in_sync_and_fails_over_to_it() {
    let run = leader_alone_in_sync_crashes(None);
    assert_eq!(run.checkers.violations(), &[]);
    let producer = run.world.protocol().producer_ids()[0];
    assert_eq!(run.producer(producer).acked().len(), 1);
    assert!(run.leader_of(P0).is_some_and(|l| l != N1));
}

/// The leader's answer to the producer is lost; the link heals before the
/// producer's retry, 300 ms after the first attempt.
fn ack_lost(toggle: Option<Toggle>) -> Run {
    let (mut run, producer) = settled(toggle, 6);
    run.apply(Input::Cut {
        from: N1,
        to: producer,
    });
    run.publish(producer, 0);
    run.run_for(Duration::from_ms(250));
    run.apply(Input::HealAll);
    run.run_for(Duration::from_ms(1_000));
    run.finish();
    run
}

#[test]
fn retries_without_idempotence_commit_a_record_twice() {
    let run = ack_lost(Some(Toggle::RetriesWithoutIdempotence));
    assert_eq!(run.broken(), ["Q5"]);
    assert_eq!(run.broker(N1).replicas()[0].log.len(), 2);
}

#[test]
fn idempotent_retries_are_not_appended_again() {
    let run = ack_lost(None);
    assert_eq!(run.checkers.violations(), &[]);
    assert_eq!(run.broker(N1).replicas()[0].log.len(), 1);
    let producer = run.world.protocol().producer_ids()[0];
    assert_eq!(run.producer(producer).acked().len(), 1);
}

// ----- consumer groups -------------------------------------------------------

fn group(name: &str, members: usize) -> GroupSpec {
    GroupSpec {
        name: name.to_string(),
        members,
        mode: Delivery::AtLeastOnce,
    }
}

/// Three brokers, two partitions, one producer, and `groups`.
fn with_groups(groups: Vec<GroupSpec>, toggle: Option<Toggle>, seed: u64) -> (Run, NodeId) {
    let mut protocol = PubSub::new(3, 1, 2).with_groups(groups);
    if let Some(t) = toggle {
        protocol = protocol.with_toggle(t);
    }
    let producer = protocol.producer_ids()[0];
    let mut run = Run::new(protocol, seed);
    run.run_for(Duration::from_ms(300));
    (run, producer)
}

impl Run {
    fn consumer(&self, c: NodeId) -> &Consumer {
        self.world
            .node(c)
            .and_then(PubSubNode::as_consumer)
            .expect("a live consumer")
    }

    fn consumers(&self) -> Vec<(NodeId, GroupId)> {
        self.world.protocol().consumer_ids()
    }

    /// The broker that coordinates `g`: the leader of its offsets
    /// partition, as the controller decided it.
    fn coordinator(&self, g: GroupId) -> NodeId {
        let protocol = self.world.protocol();
        let controller = self
            .world
            .node(protocol.controller_id())
            .and_then(PubSubNode::as_controller)
            .expect("the controller is up");
        let p = protocol.settings.offsets_partition(g);
        controller.table()[p.0 as usize]
            .leader
            .expect("the offsets partition has a leader")
    }

    fn coordinator_offset(&self, g: GroupId, p: PartitionId) -> Offset {
        let b = self.coordinator(g);
        self.world
            .node(b)
            .and_then(PubSubNode::as_broker)
            .and_then(|b| b.coordinator(g))
            .expect("the coordinator is up and has taken over")
            .state()
            .offset(p)
    }
}

#[test]
fn two_groups_each_read_every_message_and_split_the_partitions_inside_a_group() {
    let (mut run, producer) = with_groups(vec![group("billing", 2), group("audit", 1)], None, 7);
    let consumers = run.consumers();
    // In billing, each consumer owns one partition; audit's one owns both.
    for &(c, g) in &consumers {
        let owned = run.consumer(c).assigned().len();
        assert_eq!(owned, if g == GroupId(0) { 1 } else { 2 }, "{c} in {g}");
    }
    for key in 0..20 {
        run.publish(producer, key);
        run.run_for(Duration::from_ms(15));
    }
    run.run_for(Duration::from_ms(2_000));
    run.finish();
    assert_eq!(run.checkers.violations(), &[]);
    for g in [GroupId(0), GroupId(1)] {
        for p in [PartitionId(0), PartitionId(1)] {
            assert_eq!(run.coordinator_offset(g, p), Offset(10), "{g} {p}");
        }
    }
}

impl Run {
    /// Steps until `done` holds (at most a simulated minute).
    fn run_until(&mut self, done: impl Fn(&Run) -> bool) {
        let limit = self.world.now() + Duration::from_ms(60_000);
        while !done(self) {
            assert!(self.world.now() < limit, "the condition never held");
            self.run_for(Duration(1));
        }
    }

    fn busy(&self, c: NodeId) -> bool {
        self.world
            .node(c)
            .and_then(PubSubNode::as_consumer)
            .is_some_and(Consumer::busy)
    }

    fn processing(&self, c: NodeId) -> bool {
        self.world
            .node(c)
            .and_then(PubSubNode::as_consumer)
            .is_some_and(Consumer::processing)
    }
}

/// One group of `members` consumers over one partition, with one message
/// published and committed; the first consumer is about to process it.
fn about_to_process(members: usize, toggle: Option<Toggle>, seed: u64) -> (Run, NodeId) {
    let mut protocol = PubSub::new(3, 1, 1).with_groups(vec![group("billing", members)]);
    if let Some(t) = toggle {
        protocol = protocol.with_toggle(t);
    }
    let producer = protocol.producer_ids()[0];
    let mut run = Run::new(protocol, seed);
    run.run_for(Duration::from_ms(300));
    let owner = run
        .consumers()
        .into_iter()
        .map(|(c, _)| c)
        .find(|&c| !run.consumer(c).assigned().is_empty())
        .expect("an owner of p0");
    run.publish(producer, 0);
    run.run_until(|run| run.processing(owner));
    (run, owner)
}

#[test]
fn read_above_high_watermark_hands_out_records_that_are_not_committed() {
    // The leader cannot hear its followers, so its high watermark stays 0.
    let (mut run, producer) = with_groups(
        vec![group("billing", 1)],
        Some(Toggle::ReadAboveHighWatermark),
        8,
    );
    cut_both_ways(&mut run, N1, N2);
    cut_both_ways(&mut run, N1, N3);
    run.publish(producer, 0);
    run.run_for(Duration::from_ms(200));
    assert_eq!(run.broken(), ["Q4", "Q6"]);
}

#[test]
fn consumers_read_only_up_to_the_high_watermark() {
    let (mut run, producer) = with_groups(vec![group("billing", 1)], None, 8);
    cut_both_ways(&mut run, N1, N2);
    cut_both_ways(&mut run, N1, N3);
    run.publish(producer, 0);
    run.run_for(Duration::from_ms(200));
    assert!(run.deliveries.is_empty(), "nothing is committed yet");
    run.apply(Input::HealAll);
    run.run_for(Duration::from_ms(1_000));
    run.finish();
    assert_eq!(run.checkers.violations(), &[]);
    assert_eq!(run.deliveries.len(), 1);
}

#[test]
fn commit_before_processing_loses_the_batch_of_a_consumer_that_crashes() {
    let (mut run, owner) = about_to_process(1, Some(Toggle::CommitBeforeProcessing), 9);
    run.apply(Input::Crash(owner));
    run.apply(Input::Restart(owner));
    run.run_for(Duration::from_ms(1_000));
    assert_eq!(run.broken(), [] as [&str; 0]);
    run.finish();
    assert_eq!(run.broken(), ["Q1"]);
    assert!(run.deliveries.is_empty());
}

#[test]
fn commit_after_processing_redelivers_after_a_crash() {
    let (mut run, owner) = about_to_process(1, None, 9);
    run.apply(Input::Crash(owner));
    run.apply(Input::Restart(owner));
    run.run_for(Duration::from_ms(1_000));
    run.finish();
    assert_eq!(run.checkers.violations(), &[]);
    assert_eq!(run.deliveries.len(), 1);
}

#[test]
fn a_consumer_crash_moves_its_partition_and_the_new_owner_redelivers() {
    let (mut run, owner) = about_to_process(2, None, 10);
    let coordinator = run.coordinator(GroupId(0));
    // The commit after processing never reaches the coordinator.
    run.apply(Input::Cut {
        from: owner,
        to: coordinator,
    });
    run.run_until(|run| !run.busy(owner));
    assert_eq!(run.deliveries.len(), 1);
    run.apply(Input::Crash(owner));
    run.apply(Input::HealAll);
    run.run_for(Duration::from_ms(1_500));
    run.finish();
    assert_eq!(run.checkers.violations(), &[]);
    let (first, second) = (run.deliveries[0], run.deliveries[1]);
    assert_eq!(run.deliveries.len(), 2);
    assert_eq!(first.1, second.1, "the same message, processed twice");
    assert_ne!(first.0, second.0, "by the old owner, then the new one");
}

/// The owner of p0 is paused mid-batch for longer than its session; when
/// it resumes it finishes the batch and commits in its old generation.
fn owner_paused_past_its_session(toggle: Option<Toggle>) -> Run {
    let (mut run, owner) = about_to_process(2, toggle, 11);
    run.apply(Input::Pause(owner));
    run.run_for(Duration::from_ms(600));
    run.apply(Input::Resume(owner));
    run.run_for(Duration::from_ms(1_000));
    run.finish();
    run
}

#[test]
fn no_generation_fencing_accepts_a_commit_from_a_member_that_missed_a_rebalance() {
    let run = owner_paused_past_its_session(Some(Toggle::NoGenerationFencing));
    assert_eq!(run.broken(), ["Q9"]);
}

#[test]
fn generation_fencing_refuses_the_stale_commit() {
    let run = owner_paused_past_its_session(None);
    assert_eq!(run.checkers.violations(), &[]);
    assert_eq!(run.deliveries.len(), 2, "both owners processed the message");
}

#[test]
fn a_partition_isolating_a_leader_loses_nothing_with_acks_all() {
    let (mut run, producer) = with_groups(vec![group("billing", 1)], None, 12);
    for key in 0..6 {
        run.publish(producer, key);
    }
    run.run_for(Duration::from_ms(300));
    let old = run.leader_of(P0).expect("a leader");
    run.apply(Input::Isolate {
        node: old,
        direction: sim::Direction::Both,
    });
    for key in 6..12 {
        run.publish(producer, key);
    }
    run.run_for(Duration::from_ms(2_000));
    assert_ne!(
        run.leader_of(P0),
        Some(old),
        "the isolated leader was replaced"
    );
    run.apply(Input::HealAll);
    run.run_for(Duration::from_ms(2_000));
    run.finish();
    assert_eq!(run.checkers.violations(), &[]);
    assert_eq!(run.producer(producer).acked().len(), 12);
    assert_eq!(run.deliveries.len(), 12);
}

#[test]
fn a_consumer_shows_its_lag_while_it_processes() {
    let (mut run, owner) = about_to_process(1, None, 9);
    let lag = |run: &Run| run.consumer(owner).assigned()[&P0].lag();
    assert_eq!(lag(&run), 1, "one committed record, not processed yet");
    let scene = sim::Node::scene(run.world.node(owner).expect("up"));
    assert!(scene.details.iter().any(|r| r.value.contains("lag 1")));
    run.run_until(|run| !run.busy(owner));
    assert_eq!(lag(&run), 0);
}

/// Group billing is at-most-once (its commits are acknowledged before it
/// processes); n6 or n7 owns p0. The owner is paused before it has read
/// anything, for longer than its session: the other member takes p0 over
/// from offset 0 and processes n5#1. When the paused member resumes, it
/// still reads p0 from 0 in its old generation and commits offset 1.
fn stale_at_most_once_owner(fencing: bool, seed: u64) -> Run {
    let mut protocol = PubSub::new(3, 1, 1)
        .with_groups(vec![group("billing", 2)])
        .with_toggle(Toggle::CommitBeforeProcessing);
    if !fencing {
        protocol = protocol.with_toggle(Toggle::NoGenerationFencing);
    }
    let producer = protocol.producer_ids()[0];
    assert_eq!(protocol.settings.groups[0].mode, Delivery::AtMostOnce);
    let mut run = Run::new(protocol, seed);
    run.run_for(Duration::from_ms(300));
    let owner = run
        .consumers()
        .into_iter()
        .map(|(c, _)| c)
        .find(|&c| !run.consumer(c).assigned().is_empty())
        .expect("an owner of p0");
    run.apply(Input::Pause(owner));
    run.publish(producer, 0);
    run.run_for(Duration::from_ms(800));
    assert_eq!(run.deliveries.len(), 1, "the new owner processed n5#1");
    run.apply(Input::Resume(owner));
    run.run_for(Duration::from_ms(1_500));
    run.finish();
    run
}

#[test]
fn without_fencing_a_stale_at_most_once_member_moves_the_groups_offset() {
    // Its commit is accepted (Q9); the new assignment that its rejoin
    // brings arrives before it could process, so it abandons the batch.
    let run = stale_at_most_once_owner(false, 13);
    assert_eq!(run.broken(), ["Q9"]);
    assert_eq!(run.deliveries.len(), 1);
}

#[test]
fn fencing_keeps_an_at_most_once_group_from_processing_twice() {
    // With fencing its commit is refused, so it never processes n5#1.
    let run = stale_at_most_once_owner(true, 13);
    assert_eq!(run.deliveries.len(), 1);
    assert_eq!(run.checkers.violations(), &[]);
}

#[test]
fn views_show_logs_with_committed_marks_the_groups_and_the_positions() {
    use super::view::PubSubView;
    let (mut run, producer) = with_groups(vec![group("billing", 1)], None, 14);
    for key in [0, 2] {
        run.publish(producer, key);
    }
    run.run_for(Duration::from_ms(500));
    // n1's followers stop hearing it: its next record stays uncommitted.
    cut_both_ways(&mut run, N1, N2);
    cut_both_ways(&mut run, N1, N3);
    run.publish(producer, 4);
    run.run_for(Duration::from_ms(100));
    let PubSubView::Broker(b) = run.world.node(N1).expect("up").view() else {
        panic!("a broker's view");
    };
    let p0 = &b.replicas[0];
    assert!(p0.leading);
    assert_eq!(p0.name, "events/0");
    let marks: Vec<(u64, bool)> = p0.log.iter().map(|r| (r.offset.0, r.committed)).collect();
    assert_eq!(marks, [(0, true), (1, true), (2, false)]);
    assert_eq!((p0.hw, p0.leo), (Offset(2), Offset(3)));
    let PubSubView::Producer(p) = run.world.node(producer).expect("up").view() else {
        panic!("a producer's view");
    };
    assert_eq!(p.acknowledged, 2);
    assert_eq!(p.in_flight.len(), 1, "the third waits for acks=all");
    // The group's coordinator is the leader of its offsets partition
    // (__consumer_offsets/0, preferred on n3), which shows the group.
    let coordinator = run.coordinator(GroupId(0));
    assert_eq!(coordinator, N3);
    let PubSubView::Broker(b) = run.world.node(coordinator).expect("up").view() else {
        panic!("a broker's view");
    };
    assert_eq!(b.groups.len(), 1);
    assert_eq!(
        b.groups[0].owners[0].2,
        Offset(2),
        "billing committed p0 up to 2"
    );
    let offsets = &b.replicas[2];
    assert_eq!(offsets.name, "__consumer_offsets/0");
    assert!(offsets.leading);
    let (consumer, _) = run.consumers()[0];
    let PubSubView::Consumer(v) = run.world.node(consumer).expect("up").view() else {
        panic!("a consumer's view");
    };
    assert_eq!(v.group, "billing");
    assert_eq!(v.partitions.len(), 2);
    assert!(v.partitions.iter().all(|p| p.lag == 0));
    assert_eq!(v.processed, 2);
}

// ----- the coordinator on a broker ------------------------------------------

#[test]
fn a_commit_is_acknowledged_only_once_the_offsets_partition_has_committed_it() {
    let (mut run, producer) = with_groups(vec![group("billing", 1)], None, 22);
    run.run_for(Duration::from_ms(300));
    let g = GroupId(0);
    let coordinator = run.coordinator(g);
    assert_eq!(
        coordinator, N3,
        "the preferred leader of __consumer_offsets/0"
    );
    // The coordinator's followers stop hearing it: its offsets partition's
    // high watermark cannot move (the ISR never shrinks below min.insync).
    cut_both_ways(&mut run, N3, N1);
    cut_both_ways(&mut run, N3, N2);
    run.publish(producer, 0);
    run.run_for(Duration::from_ms(500));
    let (consumer, _) = run.consumers()[0];
    let pos = run.consumer(consumer).assigned()[&PartitionId(0)].clone();
    assert_eq!(run.deliveries.len(), 1, "processed");
    assert_eq!(pos.committed, Offset(1), "committed");
    assert_eq!(pos.confirmed, Offset(0), "but not acknowledged yet");
    run.apply(Input::HealAll);
    run.run_for(Duration::from_ms(500));
    let pos = run.consumer(consumer).assigned()[&PartitionId(0)].clone();
    assert_eq!(pos.confirmed, Offset(1), "acknowledged once committed");
    run.finish();
    assert_eq!(run.checkers.violations(), &[]);
}

#[test]
fn the_coordinator_moves_with_its_offsets_partition_and_keeps_every_acknowledged_commit() {
    let (mut run, producer) = with_groups(vec![group("billing", 1)], None, 21);
    for key in [0, 2] {
        run.publish(producer, key);
    }
    run.run_for(Duration::from_ms(600));
    let g = GroupId(0);
    let (consumer, _) = run.consumers()[0];
    let old = run.coordinator(g);
    let pos = run.consumer(consumer).assigned()[&PartitionId(0)].clone();
    assert_eq!(pos.confirmed, Offset(2));
    run.apply(Input::Crash(old));
    run.run_for(Duration::from_ms(1_000));
    let new = run.coordinator(g);
    assert_ne!(new, old, "the controller moved __consumer_offsets/0");
    assert_eq!(
        run.coordinator_offset(g, PartitionId(0)),
        Offset(2),
        "rebuilt from the log"
    );
    assert_eq!(run.consumer(consumer).coordinator(), Some(new), "found");
    run.publish(producer, 0);
    run.run_for(Duration::from_ms(500));
    assert_eq!(run.coordinator_offset(g, PartitionId(0)), Offset(3));
    let pos = run.consumer(consumer).assigned()[&PartitionId(0)].clone();
    assert_eq!(pos.confirmed, Offset(3), "the new coordinator acknowledges");
    run.finish();
    assert_eq!(run.checkers.violations(), &[]);
    assert_eq!(run.deliveries.len(), 3, "nothing processed twice");
}
