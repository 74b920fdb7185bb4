//! A crash keeps durable state only: what the node persisted last comes back
//! through `on_start`; memory, timers and messages waiting at the node are
//! gone. And the test protocol's deliberate durability bug is caught.

mod common;

use common::{lab_config, lab_sim, req, LOp, Lab, LabNode};
use sim::testkit::broadcast::{Broadcast, BroadcastChecker};
use sim::{
    Checkers, Health, Input, LossReason, NodeId, Sim, StepEvent, StepRecord, Time, World,
    WorldConfig,
};

fn ms(x: u64) -> Time {
    Time(x * 1_000)
}

fn n(i: u32) -> NodeId {
    NodeId(i)
}

fn collect(s: &mut Sim<Lab>, t: Time) -> Vec<StepRecord<LabNode>> {
    let mut records = Vec::new();
    s.run_until_observed(t, 1_000_000, &mut |r, _| records.push(r.clone()));
    records
}

fn booted(nodes: usize) -> Sim<Lab> {
    let mut s = lab_sim(nodes, true, lab_config(1));
    s.run_until(ms(1), 1_000);
    s
}

#[test]
fn restart_hands_on_start_exactly_the_last_persisted_value() {
    let mut s = booted(2);
    s.apply(req(1, LOp::Persist(5))).unwrap();
    s.apply(req(1, LOp::Persist(9))).unwrap();
    s.apply(req(1, LOp::Remember(3))).unwrap();
    s.apply(req(0, LOp::Send { to: n(1), count: 2 })).unwrap();
    s.run_until(ms(50), 1_000);
    let node = s.world().node(n(1)).unwrap();
    assert_eq!((node.volatile, node.received.len()), (Some(3), 2));

    s.apply(Input::Crash(n(1))).unwrap();
    assert!(
        s.world().node(n(1)).is_none(),
        "a crashed node has no state"
    );
    assert!(s.world().scene(n(1)).is_none());
    assert_eq!(s.world().durable(n(1)), Some(&9));
    assert_eq!(s.world().conditions(n(1)).health, Health::Crashed);
    s.run_until(ms(60), 1_000);
    s.apply(Input::Restart(n(1))).unwrap();
    let node = s.world().node(n(1)).unwrap();
    assert_eq!(node.started_with, Some(Some(9)));
    assert_eq!(node.durable, Some(9));
    assert_eq!(node.volatile, None, "memory is gone");
    assert!(node.received.is_empty(), "memory is gone");
    assert_eq!(node.boots, 1);
    assert_eq!(s.world().conditions(n(1)).health, Health::Up);
}

#[test]
fn a_node_that_never_persisted_restarts_with_nothing() {
    let mut s = booted(2);
    s.apply(req(0, LOp::Remember(4))).unwrap();
    s.apply(Input::Crash(n(0))).unwrap();
    s.apply(Input::Restart(n(0))).unwrap();
    let node = s.world().node(n(0)).unwrap();
    assert_eq!(node.started_with, Some(None));
    assert_eq!(node.volatile, None);
    assert_eq!(s.world().durable(n(0)), None);
}

#[test]
fn timers_of_a_crashed_node_never_fire() {
    let mut s = booted(2);
    for id in [1, 2] {
        s.apply(req(
            0,
            LOp::Timer {
                id,
                min_us: 20_000,
                max_us: 20_000,
            },
        ))
        .unwrap();
    }
    assert!(s.world().timer_deadline(n(0), &common::Tick(1)).is_some());
    s.run_until(ms(5), 100);
    s.apply(Input::Crash(n(0))).unwrap();
    assert_eq!(s.world().timer_deadline(n(0), &common::Tick(1)), None);
    s.run_until(ms(10), 100);
    s.apply(Input::Restart(n(0))).unwrap();
    // A timer set after the restart does fire: the timers are not just lost.
    s.apply(req(
        0,
        LOp::Timer {
            id: 3,
            min_us: 30_000,
            max_us: 30_000,
        },
    ))
    .unwrap();
    let records = collect(&mut s, ms(200));
    let fired: Vec<(NodeId, Time)> = records
        .iter()
        .filter_map(|r| match &r.event {
            StepEvent::Timer { node, .. } => Some((*node, r.time)),
            _ => None,
        })
        .collect();
    assert_eq!(fired, vec![(n(0), ms(40))]);
    assert_eq!(s.world().node(n(0)).unwrap().fired, vec![3]);
}

#[test]
fn messages_to_a_crashed_node_are_lost_as_receiver_down() {
    let mut s = booted(2);
    s.apply(req(0, LOp::Send { to: n(1), count: 3 })).unwrap();
    s.apply(Input::Crash(n(1))).unwrap();
    let records = collect(&mut s, ms(100));
    let lost: Vec<LossReason> = records
        .iter()
        .filter_map(|r| match &r.event {
            StepEvent::Lost(m, reason) if m.to == n(1) => Some(*reason),
            _ => None,
        })
        .collect();
    assert_eq!(lost, vec![LossReason::ReceiverDown; 3]);
    assert!(records.iter().all(|r| r.node != Some(n(1))));
    // After a restart, messages arrive again.
    s.apply(Input::Restart(n(1))).unwrap();
    s.apply(req(0, LOp::Send { to: n(1), count: 1 })).unwrap();
    collect(&mut s, ms(200));
    assert_eq!(s.world().node(n(1)).unwrap().pings_from(n(0)), vec![4]);
}

#[test]
fn a_crash_of_a_paused_node_loses_what_it_held() {
    let mut s = booted(2);
    s.apply(req(
        1,
        LOp::Timer {
            id: 5,
            min_us: 5_000,
            max_us: 5_000,
        },
    ))
    .unwrap();
    s.apply(Input::Pause(n(1))).unwrap();
    s.apply(req(0, LOp::Send { to: n(1), count: 2 })).unwrap();
    // The timer and both pings fall due while n2 is paused.
    let during = collect(&mut s, ms(50));
    assert!(during.iter().all(|r| r.node != Some(n(1))));
    s.apply(Input::Crash(n(1))).unwrap();
    let crash_time = s.world().now();
    let after = collect(&mut s, ms(60));
    let lost: Vec<(Time, LossReason)> = after
        .iter()
        .filter_map(|r| match &r.event {
            StepEvent::Lost(_, reason) => Some((r.time, *reason)),
            _ => None,
        })
        .collect();
    assert_eq!(lost, vec![(crash_time, LossReason::ReceiverDown); 2]);
    s.apply(Input::Restart(n(1))).unwrap();
    let later = collect(&mut s, ms(300));
    assert!(
        later.iter().all(|r| r.node != Some(n(1))),
        "the held timer died"
    );
    let node = s.world().node(n(1)).unwrap();
    assert!(node.fired.is_empty() && node.received.is_empty());
}

/// Regression: a node crashed and restarted before its boot event came up
/// started twice (once on restart, again when the boot event arrived).
#[test]
fn a_node_crashed_and_restarted_before_boot_starts_once() {
    let mut s = lab_sim(2, true, lab_config(1));
    s.apply(Input::Crash(n(0))).unwrap();
    s.apply(Input::Restart(n(0))).unwrap();
    s.run_until(ms(10), 1_000);
    assert_eq!(s.world().node(n(0)).unwrap().boots, 1);
    assert_eq!(s.world().node(n(1)).unwrap().boots, 1);
}

#[test]
fn a_node_crashed_before_boot_boots_only_when_restarted() {
    let mut s = lab_sim(2, true, lab_config(1));
    s.apply(Input::Crash(n(0))).unwrap();
    s.run_until(ms(10), 1_000);
    assert!(s.world().node(n(0)).is_none());
    s.apply(Input::Restart(n(0))).unwrap();
    s.run_until(ms(20), 1_000);
    assert_eq!(s.world().node(n(0)).unwrap().boots, 1);
}

#[test]
fn a_node_paused_before_boot_boots_on_resume() {
    let mut s = lab_sim(2, true, lab_config(1));
    s.apply(Input::Pause(n(0))).unwrap();
    s.run_until(ms(10), 1_000);
    assert_eq!(s.world().node(n(0)).unwrap().boots, 0);
    s.apply(Input::Resume(n(0))).unwrap();
    s.run_until(ms(20), 1_000);
    assert_eq!(s.world().node(n(0)).unwrap().boots, 1);
}

/// n2 delivers v7 but cannot acknowledge it (its outgoing links are cut),
/// crashes and restarts; n1 keeps retransmitting v7 to it.
fn broadcast_crash_scenario(volatile_delivered: bool) -> Sim<Broadcast> {
    let mut protocol = Broadcast::new(3);
    protocol.volatile_delivered = volatile_delivered;
    let world = World::new(protocol, WorldConfig::with_seed(21));
    let mut s = Sim::new(
        world,
        Checkers::new(vec![Box::new(BroadcastChecker::default())]),
    );
    s.run_until(ms(1), 1_000);
    s.apply(Input::Isolate {
        node: n(1),
        direction: sim::Direction::Outbound,
    })
    .unwrap();
    s.apply(Input::Request { node: n(0), op: 7 }).unwrap();
    s.run_until(ms(100), 10_000);
    assert!(s.world().node(n(1)).unwrap().delivered().contains(&7));
    s.apply(Input::Crash(n(1))).unwrap();
    s.run_until(ms(120), 10_000);
    s.apply(Input::Restart(n(1))).unwrap();
    s.apply(Input::HealAll).unwrap();
    s.run_until(ms(1_000), 100_000);
    s
}

#[test]
fn the_volatile_delivered_bug_is_reported_as_b1() {
    let s = broadcast_crash_scenario(true);
    let v = s.violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].rule, "B1");
    assert_eq!(v[0].nodes, vec![n(1)]);
    assert_eq!(v[0].message, "n2 delivered v7 a second time");
    assert!(v[0].time > ms(120));
}

#[test]
fn the_correct_broadcast_survives_the_same_crash() {
    let s = broadcast_crash_scenario(false);
    assert!(s.violations().is_empty(), "{:?}", s.violations());
    for id in s.world().node_ids() {
        assert!(s.world().node(id).unwrap().delivered().contains(&7), "{id}");
    }
    assert_eq!(s.world().durable(n(1)).map(|d| d.len()), Some(1));
}
