//! Network and node-condition semantics, measured in the step records: cuts,
//! partitions, isolation, healing, drop/duplicate rates, delay spikes,
//! latency bounds, slow nodes, clock skew, pauses and dropping by hand.

mod common;

use common::{fixed_latency, lab_config, lab_sim, req, LOp, Lab, LabNode};
use sim::{
    Direction, Duration, Fate, Input, Latency, LinkParams, LossReason, NodeId, PartitionKind,
    Permille, Ppm, Sim, StepEvent, StepRecord, Tail, Time,
};

fn ms(x: u64) -> Time {
    Time(x * 1_000)
}

fn n(i: u32) -> NodeId {
    NodeId(i)
}

/// Runs to `t`, returning every step record taken on the way.
fn collect(s: &mut Sim<Lab>, t: Time) -> Vec<StepRecord<LabNode>> {
    let mut records = Vec::new();
    let outcome = s.run_until_observed(t, 10_000_000, &mut |r, _| records.push(r.clone()));
    assert!(outcome.reached);
    records
}

/// A booted lab sim: every node has started by 1 ms.
fn booted(nodes: usize, echo: bool, seed: u64) -> Sim<Lab> {
    let mut s = lab_sim(nodes, echo, lab_config(seed));
    s.run_until(ms(1), 1_000);
    assert!(s
        .world()
        .node_ids()
        .all(|id| s.world().node(id).unwrap().boots == 1));
    s
}

/// Every node sends one ping to every other node.
fn all_to_all(s: &mut Sim<Lab>) {
    let count = s.world().node_count() as u32;
    for from in 0..count {
        for to in 0..count {
            if from != to {
                s.apply(req(
                    from,
                    LOp::Send {
                        to: n(to),
                        count: 1,
                    },
                ))
                .unwrap();
            }
        }
    }
}

/// Which (from, to) pairs delivered at least one ping, as a matrix of 0/1.
fn delivered_matrix(s: &Sim<Lab>) -> Vec<Vec<u8>> {
    let w = s.world();
    w.node_ids()
        .map(|from| {
            w.node_ids()
                .map(|to| u8::from(!w.node(to).unwrap().pings_from(from).is_empty()))
                .collect()
        })
        .collect()
}

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
fn a_cut_link_loses_messages_in_its_direction_only() {
    let mut s = booted(3, false, 1);
    s.apply(Input::Cut {
        from: n(0),
        to: n(1),
    })
    .unwrap();
    assert!(s.world().network().is_cut(n(0), n(1)));
    assert!(!s.world().network().is_cut(n(1), n(0)));
    let record = s.apply(req(0, LOp::Send { to: n(1), count: 5 })).unwrap();
    assert_eq!(record, None);
    let sent = s.world().last_record().unwrap().sent.clone();
    assert_eq!(sent.len(), 5);
    assert!(sent
        .iter()
        .all(|m| m.fate == Fate::Lost(LossReason::LinkCut)));
    s.apply(req(1, LOp::Send { to: n(0), count: 5 })).unwrap();
    s.apply(req(0, LOp::Send { to: n(2), count: 5 })).unwrap();
    let records = collect(&mut s, ms(100));
    assert_eq!(losses(&records), vec![(n(0), n(1), LossReason::LinkCut); 5]);
    assert!(s.world().node(n(1)).unwrap().received.is_empty());
    assert_eq!(
        s.world().node(n(0)).unwrap().pings_from(n(1)),
        vec![1, 2, 3, 4, 5]
    );
    assert_eq!(
        s.world().node(n(2)).unwrap().pings_from(n(0)),
        vec![6, 7, 8, 9, 10]
    );
}

#[test]
fn a_message_in_flight_when_its_link_is_cut_is_lost_on_arrival() {
    let mut s = booted(2, false, 1);
    s.apply(req(0, LOp::Send { to: n(1), count: 1 })).unwrap();
    assert_eq!(
        s.world().last_record().unwrap().sent[0].fate,
        Fate::Delivering
    );
    s.run_until(ms(5), 100);
    s.apply(Input::Cut {
        from: n(0),
        to: n(1),
    })
    .unwrap();
    let records = collect(&mut s, ms(100));
    assert_eq!(losses(&records), vec![(n(0), n(1), LossReason::LinkCut)]);
    // Healing lets new messages through again.
    s.apply(Input::Heal {
        from: n(0),
        to: n(1),
    })
    .unwrap();
    s.apply(req(0, LOp::Send { to: n(1), count: 1 })).unwrap();
    let records = collect(&mut s, ms(200));
    assert!(losses(&records).is_empty());
    assert_eq!(s.world().node(n(1)).unwrap().pings_from(n(0)), vec![2]);
}

#[test]
fn a_one_way_partition_cuts_earlier_groups_to_later_groups_only() {
    let mut s = booted(4, false, 2);
    s.apply(Input::Partition {
        groups: vec![vec![n(0)], vec![n(1), n(2)], vec![n(3)]],
        kind: PartitionKind::OneWay,
    })
    .unwrap();
    all_to_all(&mut s);
    let records = collect(&mut s, ms(100));
    // Row = sender, column = receiver.
    assert_eq!(
        delivered_matrix(&s),
        vec![
            vec![0, 0, 0, 0],
            vec![1, 0, 1, 0],
            vec![1, 1, 0, 0],
            vec![1, 1, 1, 0],
        ]
    );
    let lost = losses(&records);
    assert_eq!(lost.len(), 5);
    assert!(lost.iter().all(|l| l.2 == LossReason::LinkCut));
}

#[test]
fn a_symmetric_partition_cuts_both_ways_and_spares_nodes_in_no_group() {
    let mut s = booted(4, false, 2);
    s.apply(Input::Partition {
        groups: vec![vec![n(0)], vec![n(1), n(2)]],
        kind: PartitionKind::Symmetric,
    })
    .unwrap();
    all_to_all(&mut s);
    collect(&mut s, ms(100));
    assert_eq!(
        delivered_matrix(&s),
        vec![
            vec![0, 0, 0, 1],
            vec![0, 0, 1, 1],
            vec![0, 1, 0, 1],
            vec![1, 1, 1, 0],
        ]
    );
}

#[test]
fn isolation_cuts_the_asked_direction() {
    let cases = [
        (Direction::Both, [[0, 0, 0], [0, 0, 1], [0, 1, 0]]),
        // Row = sender: an inbound-isolated node still sends.
        (Direction::Inbound, [[0, 1, 1], [0, 0, 1], [0, 1, 0]]),
        (Direction::Outbound, [[0, 0, 0], [1, 0, 1], [1, 1, 0]]),
    ];
    for (direction, want) in cases {
        let mut s = booted(3, false, 3);
        s.apply(Input::Isolate {
            node: n(0),
            direction,
        })
        .unwrap();
        all_to_all(&mut s);
        collect(&mut s, ms(100));
        let want: Vec<Vec<u8>> = want.iter().map(|r| r.to_vec()).collect();
        assert_eq!(delivered_matrix(&s), want, "{direction:?}");
    }
}

#[test]
fn heal_all_restores_every_link() {
    let mut s = booted(4, false, 4);
    s.apply(Input::Partition {
        groups: vec![vec![n(0), n(1)], vec![n(2), n(3)]],
        kind: PartitionKind::OneWay,
    })
    .unwrap();
    s.apply(Input::Isolate {
        node: n(1),
        direction: Direction::Both,
    })
    .unwrap();
    s.apply(Input::Cut {
        from: n(3),
        to: n(2),
    })
    .unwrap();
    assert!(s.world().network().unusual_links().count() > 0);
    s.apply(Input::HealAll).unwrap();
    assert_eq!(s.world().network().unusual_links().count(), 0);
    all_to_all(&mut s);
    let records = collect(&mut s, ms(100));
    assert!(losses(&records).is_empty());
    let all: Vec<Vec<u8>> = (0..4)
        .map(|i| (0..4).map(|j| u8::from(i != j)).collect())
        .collect();
    assert_eq!(delivered_matrix(&s), all);
}

/// Sends `count` pings from n1 to n2 over a link with `params`, runs until
/// they have all arrived, and returns the records, the sending step first.
/// Handling takes no time here, so that thousands of messages arriving
/// together do not queue at the receiver.
fn blast(params: LinkParams, count: u32, seed: u64) -> (Sim<Lab>, Vec<StepRecord<LabNode>>) {
    let mut config = lab_config(seed);
    config.processing = Duration::ZERO;
    let mut s = lab_sim(2, false, config);
    s.run_until(ms(1), 1_000);
    s.apply(Input::SetLink {
        from: n(0),
        to: n(1),
        params: Some(params),
    })
    .unwrap();
    s.apply(req(0, LOp::Send { to: n(1), count })).unwrap();
    let mut records = vec![s.world().last_record().unwrap().clone()];
    records.extend(collect(&mut s, ms(10_000)));
    (s, records)
}

/// `hits` out of `trials` at probability `p` (in ppm) is within six standard
/// deviations of its mean: about a one-in-500-million chance of failing for
/// a correct engine, and a sure failure for one that is off by a few percent.
fn assert_rate(hits: usize, trials: usize, p: Ppm, what: &str) {
    let p = f64::from(p.0) / 1e6;
    let mean = trials as f64 * p;
    let sigma = (trials as f64 * p * (1.0 - p)).sqrt();
    let deviation = (hits as f64 - mean).abs();
    assert!(
        deviation <= 6.0 * sigma,
        "{what}: {hits} of {trials}, expected {mean:.0} +- {:.0}",
        6.0 * sigma
    );
}

#[test]
fn the_drop_rate_matches_its_probability() {
    for (seed, percent) in [(5, 20), (6, 3)] {
        let params = LinkParams {
            drop: Ppm::percent(percent),
            ..fixed_latency(10_000)
        };
        let (s, records) = blast(params, 20_000, seed);
        let dropped = losses(&records)
            .iter()
            .filter(|l| l.2 == LossReason::Dropped)
            .count();
        assert_rate(dropped, 20_000, params.drop, "dropped");
        // Every message either arrived or was lost, none twice.
        assert_eq!(losses(&records).len(), dropped);
        assert_eq!(
            s.world().node(n(1)).unwrap().pings_from(n(0)).len(),
            20_000 - dropped
        );
    }
}

#[test]
fn the_duplicate_rate_matches_its_probability_and_copies_arrive() {
    let params = LinkParams {
        duplicate: Ppm::percent(30),
        ..fixed_latency(10_000)
    };
    let (s, records) = blast(params, 20_000, 7);
    let send = records
        .iter()
        .find(|r| r.sent.len() >= 20_000)
        .expect("the blast step");
    let copies: Vec<_> = send
        .sent
        .iter()
        .filter(|m| m.duplicate_of.is_some())
        .collect();
    assert_rate(copies.len(), 20_000, params.duplicate, "duplicated");
    // A copy follows its original directly and names it.
    for pair in send.sent.windows(2) {
        if let Some(original) = pair[1].duplicate_of {
            assert_eq!(original, pair[0].id);
            assert_eq!(pair[0].duplicate_of, None);
        }
    }
    let got = s.world().node(n(1)).unwrap().pings_from(n(0));
    assert_eq!(got.len(), 20_000 + copies.len());
}

#[test]
fn drops_and_duplicates_apply_to_each_copy() {
    let params = LinkParams {
        drop: Ppm::percent(50),
        duplicate: Ppm::ALWAYS,
        ..fixed_latency(10_000)
    };
    let (_, records) = blast(params, 4_000, 8);
    let send = records.iter().find(|r| r.sent.len() >= 4_000).unwrap();
    assert_eq!(send.sent.len(), 8_000, "every message is duplicated");
    let dropped = send
        .sent
        .iter()
        .filter(|m| m.fate == Fate::Lost(LossReason::Dropped))
        .count();
    assert_rate(dropped, 8_000, params.drop, "dropped copies");
}

#[test]
fn uniform_latency_stays_between_min_and_twice_the_mean_minus_min() {
    let latency = Latency {
        min: Duration::from_ms(5),
        mean: Duration::from_ms(20),
        tail: Tail::Uniform,
    };
    assert_eq!(latency.uniform_max(), Duration::from_ms(35));
    let params = LinkParams {
        latency,
        ..LinkParams::default()
    };
    let (_, records) = blast(params, 5_000, 9);
    let delays: Vec<u64> = records
        .iter()
        .filter_map(|r| match &r.event {
            StepEvent::Deliver(m) => Some((m.arrives - m.sent).as_us()),
            _ => None,
        })
        .collect();
    assert_eq!(delays.len(), 5_000);
    let (lo, hi) = (*delays.iter().min().unwrap(), *delays.iter().max().unwrap());
    assert!(lo >= 5_000 && hi <= 35_000, "delays in {lo}..={hi} us");
    // The whole range is used, and the mean is right (6 sigma of the mean of
    // 5000 uniform draws over 30 ms is 0.73 ms).
    assert!(lo < 5_100 && hi > 34_900, "delays in {lo}..={hi} us");
    let mean = delays.iter().sum::<u64>() as f64 / delays.len() as f64;
    assert!((mean - 20_000.0).abs() < 735.0, "mean delay {mean} us");
}

#[test]
fn delay_spikes_reorder_messages() {
    let calm = fixed_latency(10_000);
    let (s, _) = blast(calm, 300, 10);
    let got = s.world().node(n(1)).unwrap().pings_from(n(0));
    assert!(
        got.windows(2).all(|w| w[0] < w[1]),
        "a calm link keeps order"
    );

    let spiky = LinkParams {
        delay_spike: Ppm::percent(20),
        spike_min: Duration::from_ms(200),
        spike_max: Duration::from_ms(400),
        ..calm
    };
    let (s, records) = blast(spiky, 300, 10);
    let got = s.world().node(n(1)).unwrap().pings_from(n(0));
    assert_eq!(got.len(), 300);
    assert!(got.windows(2).any(|w| w[0] > w[1]), "spikes reorder");
    let delays: Vec<u64> = records
        .iter()
        .filter_map(|r| match &r.event {
            StepEvent::Deliver(m) => Some((m.arrives - m.sent).as_us()),
            _ => None,
        })
        .collect();
    let spiked = delays.iter().filter(|&&d| d > 10_000).count();
    assert!(delays
        .iter()
        .all(|&d| d == 10_000 || (210_000..=410_000).contains(&d)));
    assert_rate(spiked, 300, spiky.delay_spike, "spiked");
}

#[test]
fn a_slow_node_delays_its_handling_and_replies_and_queues_messages() {
    // Processing takes 1 ms; n2 is slowed 5x, so 5 ms per event.
    let mut s = booted(2, true, 11);
    s.apply(Input::Slow {
        node: n(1),
        factor: Permille(5_000),
    })
    .unwrap();
    s.run_until(ms(10), 100);
    // n1 departs at 11 ms (its own 1 ms), the pings arrive at 21 ms together.
    s.apply(req(0, LOp::Send { to: n(1), count: 3 })).unwrap();
    let records = collect(&mut s, ms(200));
    let handled_at: Vec<Time> = records
        .iter()
        .filter(|r| r.node == Some(n(1)))
        .map(|r| r.time)
        .collect();
    assert_eq!(
        handled_at,
        vec![ms(21), ms(26), ms(31)],
        "one message at a time, 5 ms each"
    );
    // Each pong leaves when its handling is done, 5 ms later.
    let pongs: Vec<(Time, Time)> = records
        .iter()
        .filter_map(|r| match &r.event {
            StepEvent::Deliver(m) if m.to == n(0) => Some((m.sent, m.arrives)),
            _ => None,
        })
        .collect();
    assert_eq!(
        pongs,
        vec![(ms(26), ms(36)), (ms(31), ms(41)), (ms(36), ms(46))]
    );
    assert_eq!(
        s.world().node(n(1)).unwrap().pings_from(n(0)),
        vec![1, 2, 3]
    );

    // Back to normal speed: 1 ms per event.
    s.apply(Input::Slow {
        node: n(1),
        factor: Permille::ONE,
    })
    .unwrap();
    s.apply(req(0, LOp::Send { to: n(1), count: 3 })).unwrap();
    let now = s.world().now();
    let records = collect(&mut s, ms(400));
    let times: Vec<Time> = records
        .iter()
        .filter(|r| r.node == Some(n(1)))
        .map(|r| r.time)
        .collect();
    let arrive = now + Duration::from_ms(11);
    assert_eq!(
        times,
        vec![
            arrive,
            arrive + Duration::from_ms(1),
            arrive + Duration::from_ms(2)
        ]
    );
}

#[test]
fn clock_skew_scales_timers() {
    for (rate, fires_after_ms) in [(2_000, 20), (500, 80), (1_000, 40)] {
        let mut s = booted(2, false, 12);
        s.apply(Input::Skew {
            node: n(0),
            rate: Permille(rate),
        })
        .unwrap();
        s.run_until(ms(10), 100);
        let timer = LOp::Timer {
            id: 1,
            min_us: 40_000,
            max_us: 40_000,
        };
        s.apply(req(0, timer.clone())).unwrap();
        let set = s.world().last_record().unwrap().timers_set.clone();
        assert_eq!(set.len(), 1);
        assert_eq!(set[0].1, ms(10 + fires_after_ms), "rate {rate}");
        // The other node's clock is true.
        s.apply(req(1, timer)).unwrap();
        let records = collect(&mut s, ms(200));
        let fired: Vec<(NodeId, Time)> = records
            .iter()
            .filter_map(|r| match &r.event {
                StepEvent::Timer { node, .. } => Some((*node, r.time)),
                _ => None,
            })
            .collect();
        let mut want = vec![(n(0), ms(10 + fires_after_ms)), (n(1), ms(50))];
        want.sort_by_key(|x| x.1);
        assert_eq!(fired, want, "rate {rate}");
    }
}

#[test]
fn a_paused_node_holds_its_messages_and_timers_and_handles_them_in_order_on_resume() {
    let mut s = booted(2, false, 13);
    s.apply(req(
        1,
        LOp::Timer {
            id: 7,
            min_us: 15_000,
            max_us: 15_000,
        },
    ))
    .unwrap();
    s.apply(Input::Pause(n(1))).unwrap();
    s.run_until(ms(5), 100);
    s.apply(req(0, LOp::Send { to: n(1), count: 2 })).unwrap();
    s.run_until(ms(10), 100);
    s.apply(req(0, LOp::Send { to: n(1), count: 1 })).unwrap();
    // The timer falls due at 16 ms, the pings arrive at 16 ms and 21 ms.
    let during = collect(&mut s, ms(100));
    assert!(
        during.iter().all(|r| r.node != Some(n(1))),
        "a paused node handles nothing"
    );
    assert_eq!(
        s.world().in_flight().count(),
        3,
        "held messages stay in flight"
    );
    s.apply(Input::Resume(n(1))).unwrap();
    let after = collect(&mut s, ms(200));
    let handled: Vec<(Time, String)> = after
        .iter()
        .filter(|r| r.node == Some(n(1)))
        .map(|r| (r.time, r.headline()))
        .collect();
    // In the order they fell due, one per millisecond of processing.
    assert_eq!(handled.len(), 4, "{handled:?}");
    assert_eq!(
        handled.iter().map(|h| h.0).collect::<Vec<_>>(),
        vec![ms(100), ms(101), ms(102), ms(103)]
    );
    let node = s.world().node(n(1)).unwrap();
    assert_eq!(node.fired, vec![7]);
    assert_eq!(node.pings_from(n(0)), vec![1, 2, 3]);
    assert!(handled[0].1.contains("timer"), "{handled:?}");
}

#[test]
fn dropping_a_message_by_hand_loses_exactly_that_message() {
    let mut s = booted(2, false, 14);
    s.apply(req(0, LOp::Send { to: n(1), count: 3 })).unwrap();
    let ids: Vec<_> = s.world().in_flight().map(|m| m.id).collect();
    assert_eq!(ids.len(), 3);
    s.run_until(ms(5), 100);
    s.apply(Input::DropMessage(ids[1])).unwrap();
    assert_eq!(
        s.world().message(ids[1]).unwrap().fate,
        Fate::Lost(LossReason::DroppedByUser)
    );
    let records = collect(&mut s, ms(100));
    let lost: Vec<_> = records
        .iter()
        .filter_map(|r| match &r.event {
            StepEvent::Lost(m, reason) => Some((m.id, *reason)),
            _ => None,
        })
        .collect();
    assert_eq!(lost, vec![(ids[1], LossReason::DroppedByUser)]);
    assert_eq!(s.world().node(n(1)).unwrap().pings_from(n(0)), vec![1, 3]);
}
