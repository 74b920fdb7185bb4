//! A node's inbox: events that arrive while the node is busy (or paused)
//! wait there in arrival order. They have arrived, so a link cut no longer
//! loses them; a crash does.
//!
//! The flood test prints its wall-clock time, never asserts it (`cargo test
//! --release -p sim --test inbox flood -- --nocapture` to read it): a
//! scheduler that is quadratic in the length of a node's queue makes it take
//! minutes instead of a moment.

mod common;

use common::{lab_config, lab_sim, req, LOp, Lab, LabNode};
use sim::{Input, LossReason, NodeId, Permille, Sim, StepEvent, StepRecord, Time, World};

fn ms(x: u64) -> Time {
    Time(x * 1_000)
}

fn n(i: u32) -> NodeId {
    NodeId(i)
}

/// A booted lab sim without echo (1 ms processing, 10 ms links): every node
/// has started by 1 ms.
fn booted(seed: u64) -> Sim<Lab> {
    let mut s = lab_sim(2, false, lab_config(seed));
    s.run_until(ms(1), 1_000);
    s
}

/// Runs to `t`, returning every step record taken on the way.
fn collect(s: &mut Sim<Lab>, t: Time) -> Vec<StepRecord<LabNode>> {
    let mut records = Vec::new();
    let outcome = s.run_until_observed(t, 10_000_000, &mut |r, _| records.push(r.clone()));
    assert!(outcome.reached);
    records
}

const COUNT: u32 = 20_000;

#[test]
fn flood_of_messages_waits_at_the_receiver_and_is_handled_in_order() {
    let lab = Lab {
        nodes: 2,
        echo: false,
        history: usize::MAX,
    };
    let mut s = World::new(lab, lab_config(7));
    s.run_until(Time(1_000), 100);
    s.apply(req(
        0,
        LOp::Send {
            to: NodeId(1),
            count: COUNT,
        },
    ))
    .unwrap();
    // The sender is busy 1 ms, the link takes 10 ms: every ping arrives at
    // 12 ms, and the receiver handles one per millisecond from then on.
    let arrive = Time(12_000);
    assert!(s.in_flight().all(|m| m.arrives == arrive));

    let started = std::time::Instant::now();
    let mut handled = 0u64;
    let mut last_time = Time::ZERO;
    while let Some(r) = s.step() {
        match &r.event {
            StepEvent::Deliver(_) => {
                assert_eq!(r.time, Time(arrive.0 + handled * 1_000), "{r:?}");
                handled += 1;
                last_time = r.time;
            }
            other => panic!("unexpected step {other:?}"),
        }
    }
    let elapsed = started.elapsed();
    println!(
        "flood: {COUNT} messages at one node handled in {:.3} s of wall time ({} steps)",
        elapsed.as_secs_f64(),
        handled
    );
    assert_eq!(handled, u64::from(COUNT));
    assert_eq!(last_time, Time(arrive.0 + (u64::from(COUNT) - 1) * 1_000));
    let receiver = s.node(NodeId(1)).unwrap();
    assert_eq!(
        receiver.pings_from(NodeId(0)),
        (1..=u64::from(COUNT)).collect::<Vec<_>>()
    );
    assert_eq!(s.in_flight().count(), 0);
}

/// The losses among `records`: (from, to, reason).
fn losses(records: &[StepRecord<LabNode>]) -> Vec<(NodeId, NodeId, LossReason)> {
    records
        .iter()
        .filter_map(|r| match &r.event {
            StepEvent::Lost(m, reason) => Some((m.from, m.to, *reason)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_message_held_at_a_paused_node_survives_a_link_cut_before_resume() {
    let mut s = booted(21);
    s.apply(Input::Pause(n(1))).unwrap();
    s.apply(req(0, LOp::Send { to: n(1), count: 2 })).unwrap();
    // Both pings arrive at 12 ms and are held; then the link is cut.
    s.run_until(ms(20), 100);
    assert_eq!(
        s.world().in_flight().count(),
        2,
        "held messages stay in flight"
    );
    s.apply(Input::Cut {
        from: n(0),
        to: n(1),
    })
    .unwrap();
    s.apply(Input::Resume(n(1))).unwrap();
    let records = collect(&mut s, ms(100));
    assert_eq!(losses(&records), vec![], "they had arrived before the cut");
    assert_eq!(s.world().node(n(1)).unwrap().pings_from(n(0)), vec![1, 2]);
    // A ping sent after the cut is lost as before.
    s.apply(req(0, LOp::Send { to: n(1), count: 1 })).unwrap();
    let records = collect(&mut s, ms(200));
    assert_eq!(losses(&records), vec![(n(0), n(1), LossReason::LinkCut)]);
}

#[test]
fn a_message_waiting_at_a_busy_node_survives_a_link_cut() {
    // n2 takes 50 ms per event; three pings arrive together at 12 ms.
    let mut s = booted(22);
    s.apply(Input::Slow {
        node: n(1),
        factor: Permille(50_000),
    })
    .unwrap();
    s.apply(req(0, LOp::Send { to: n(1), count: 3 })).unwrap();
    s.run_until(ms(20), 100);
    assert_eq!(s.world().node(n(1)).unwrap().pings_from(n(0)), vec![1]);
    assert_eq!(
        s.world().in_flight().count(),
        2,
        "waiting messages stay in flight"
    );
    s.apply(Input::Cut {
        from: n(0),
        to: n(1),
    })
    .unwrap();
    let records = collect(&mut s, ms(300));
    assert_eq!(losses(&records), vec![]);
    let handled: Vec<Time> = records
        .iter()
        .filter(|r| r.node == Some(n(1)))
        .map(|r| r.time)
        .collect();
    assert_eq!(handled, vec![ms(62), ms(112)]);
    assert_eq!(
        s.world().node(n(1)).unwrap().pings_from(n(0)),
        vec![1, 2, 3]
    );
}

#[test]
fn timers_and_messages_wait_in_one_line_behind_a_request() {
    // n2 is slowed 10x: 10 ms per event. Three pings arrive at 12 ms: the
    // first keeps it busy until 22 ms. A request at 14 ms runs at once and
    // keeps it busy until 24 ms; its timer falls due at 15 ms, behind the two
    // waiting pings.
    let mut s = booted(23);
    s.apply(Input::Slow {
        node: n(1),
        factor: Permille(10_000),
    })
    .unwrap();
    s.apply(req(
        1,
        LOp::Timer {
            id: 3,
            min_us: 14_000,
            max_us: 14_000,
        },
    ))
    .unwrap();
    // That request kept n2 busy until 11 ms.
    s.apply(req(0, LOp::Send { to: n(1), count: 3 })).unwrap();
    s.run_until(ms(14), 100);
    s.apply(req(1, LOp::Remember(5))).unwrap();
    let records = collect(&mut s, ms(300));
    let handled: Vec<(Time, String)> = records
        .iter()
        .filter(|r| r.node == Some(n(1)))
        .map(|r| (r.time, r.headline()))
        .collect();
    assert_eq!(
        handled.iter().map(|h| h.0).collect::<Vec<_>>(),
        vec![ms(24), ms(34), ms(44)],
        "{handled:?}"
    );
    assert!(handled[2].1.contains("timer"), "{handled:?}");
    let node = s.world().node(n(1)).unwrap();
    assert_eq!(node.pings_from(n(0)), vec![1, 2, 3]);
    assert_eq!(node.fired, vec![3]);
}

#[test]
fn a_crash_loses_the_waiting_messages_even_if_the_node_restarts_at_once() {
    let mut s = booted(24);
    s.apply(Input::Slow {
        node: n(1),
        factor: Permille(50_000),
    })
    .unwrap();
    s.apply(req(0, LOp::Send { to: n(1), count: 3 })).unwrap();
    s.run_until(ms(20), 100);
    s.apply(Input::Crash(n(1))).unwrap();
    s.apply(Input::Restart(n(1))).unwrap();
    let records = collect(&mut s, ms(300));
    assert_eq!(
        losses(&records),
        vec![(n(0), n(1), LossReason::ReceiverDown); 2]
    );
    assert_eq!(
        s.world().node(n(1)).unwrap().pings_from(n(0)),
        Vec::<u64>::new()
    );
    assert_eq!(s.world().in_flight().count(), 0);
}
