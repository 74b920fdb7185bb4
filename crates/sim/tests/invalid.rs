//! Invalid inputs are refused with a specific, readable error and change
//! nothing: not the trace hash, not the step count, not the input log.

mod common;

use common::{fixed_latency, lab_config, lab_sim, req, snapshot, LOp, Lab};
use sim::{
    Direction, Duration, Health, Input, InputError, Latency, LinkParams, MsgId, NodeId,
    PartitionKind, Permille, Ppm, Sim, Tail, Time,
};

fn n(i: u32) -> NodeId {
    NodeId(i)
}

/// A 3-node sim a little way into a run, with n3 crashed and a message in
/// flight.
fn busy_sim() -> Sim<Lab> {
    let mut s = lab_sim(3, true, lab_config(4));
    s.run_until(Time(5_000), 1_000);
    s.apply(Input::Crash(n(2))).unwrap();
    s.apply(req(0, LOp::Send { to: n(1), count: 1 })).unwrap();
    s
}

/// Applies `input`, expects exactly `want`, and checks that nothing changed.
#[track_caller]
fn refused(s: &mut Sim<Lab>, input: Input<LOp>, want: InputError) -> String {
    let before = snapshot(s.world());
    let (hash, steps, now) = (s.world().trace_hash(), s.world().steps(), s.world().now());
    let log = s.inputs().to_vec();
    let horizon = s.horizon();
    let got = s
        .apply(input.clone())
        .expect_err("the input should be refused");
    assert_eq!(got, want, "for {input}");
    assert_eq!(s.world().trace_hash(), hash);
    assert_eq!(s.world().steps(), steps);
    assert_eq!(s.world().now(), now);
    assert_eq!(s.inputs(), &log[..]);
    assert_eq!(s.horizon(), horizon);
    assert_eq!(snapshot(s.world()), before);
    got.to_string()
}

/// A sentence: starts with a lowercase word or a capital, has no debug
/// syntax, and is not empty. (Errors are shown after "Cannot do that: ".)
fn assert_sentence(text: &str) {
    assert!(text.len() > 10, "{text:?}");
    for bad in [
        "NodeId",
        "MsgId",
        "Some(",
        "None",
        "{",
        "Permille",
        "Ppm(",
        "Duration(",
    ] {
        assert!(!text.contains(bad), "{text:?} shows {bad}");
    }
}

#[test]
fn unknown_nodes_are_refused() {
    let mut s = busy_sim();
    let inputs = [
        Input::Crash(n(3)),
        Input::Restart(n(7)),
        Input::Pause(n(3)),
        Input::Resume(n(3)),
        Input::Slow {
            node: n(3),
            factor: Permille(2_000),
        },
        Input::Skew {
            node: n(3),
            rate: Permille(2_000),
        },
        Input::Cut {
            from: n(0),
            to: n(3),
        },
        Input::Heal {
            from: n(3),
            to: n(0),
        },
        Input::Isolate {
            node: n(3),
            direction: Direction::Both,
        },
        Input::Partition {
            groups: vec![vec![n(0)], vec![n(3)]],
            kind: PartitionKind::Symmetric,
        },
        req(3, LOp::Remember(1)),
        Input::SetLink {
            from: n(3),
            to: n(0),
            params: None,
        },
    ];
    for input in inputs {
        let bad = input.node().filter(|id| id.index() >= 3).unwrap_or(
            if matches!(input, Input::Restart(_)) {
                n(7)
            } else {
                n(3)
            },
        );
        let text = refused(&mut s, input, InputError::UnknownNode(bad, 3));
        assert_eq!(
            text,
            format!("there is no node {bad}: this cluster has nodes n1 to n3")
        );
    }
}

#[test]
fn bad_partitions_are_refused() {
    let mut s = busy_sim();
    let text = refused(
        &mut s,
        Input::Partition {
            groups: vec![vec![n(0), n(1)], vec![n(1), n(2)]],
            kind: PartitionKind::OneWay,
        },
        InputError::OverlappingGroups(n(1)),
    );
    assert_eq!(text, "node n2 is in more than one partition group");
    refused(
        &mut s,
        Input::Partition {
            groups: vec![vec![n(0), n(0)], vec![n(1)]],
            kind: PartitionKind::Symmetric,
        },
        InputError::OverlappingGroups(n(0)),
    );
    for groups in [vec![], vec![vec![n(0), n(1)]], vec![vec![n(0)], vec![]]] {
        let text = refused(
            &mut s,
            Input::Partition {
                groups,
                kind: PartitionKind::Symmetric,
            },
            InputError::TooFewGroups,
        );
        assert_eq!(text, "a partition needs at least two non-empty groups");
    }
}

#[test]
fn self_links_are_refused() {
    let mut s = busy_sim();
    for input in [
        Input::Cut {
            from: n(1),
            to: n(1),
        },
        Input::Heal {
            from: n(1),
            to: n(1),
        },
        Input::SetLink {
            from: n(1),
            to: n(1),
            params: None,
        },
    ] {
        let text = refused(&mut s, input, InputError::SelfLink(n(1)));
        assert_eq!(text, "a link goes between two nodes, but both ends are n2");
    }
}

#[test]
fn actions_in_the_wrong_health_are_refused() {
    let mut s = busy_sim();
    let wrong = |node, action, health| InputError::WrongHealth {
        node,
        action,
        health,
    };
    let text = refused(
        &mut s,
        Input::Restart(n(0)),
        wrong(n(0), "restart", Health::Up),
    );
    assert_eq!(text, "cannot restart n1: it is up");
    let text = refused(
        &mut s,
        Input::Crash(n(2)),
        wrong(n(2), "crash", Health::Crashed),
    );
    assert_eq!(text, "cannot crash n3: it is crashed");
    refused(
        &mut s,
        Input::Pause(n(2)),
        wrong(n(2), "pause", Health::Crashed),
    );
    refused(
        &mut s,
        Input::Resume(n(0)),
        wrong(n(0), "resume", Health::Up),
    );
    let text = refused(
        &mut s,
        req(2, LOp::Remember(1)),
        wrong(n(2), "send a request to", Health::Crashed),
    );
    assert_eq!(text, "cannot send a request to n3: it is crashed");
    s.apply(Input::Pause(n(1))).unwrap();
    refused(
        &mut s,
        Input::Pause(n(1)),
        wrong(n(1), "pause", Health::Paused),
    );
    let text = refused(
        &mut s,
        Input::Restart(n(1)),
        wrong(n(1), "restart", Health::Paused),
    );
    assert_eq!(text, "cannot restart n2: it is paused");
}

#[test]
fn dropping_a_message_not_in_flight_is_refused() {
    let mut s = busy_sim();
    let id = s.world().in_flight().next().unwrap().id;
    let text = refused(
        &mut s,
        Input::DropMessage(MsgId(999)),
        InputError::NoSuchMessage(MsgId(999)),
    );
    assert_eq!(text, "message #999 is not in flight any more");
    // Once dropped, it cannot be dropped again; once delivered, neither.
    s.apply(Input::DropMessage(id)).unwrap();
    refused(
        &mut s,
        Input::DropMessage(id),
        InputError::NoSuchMessage(id),
    );
    s.run_until(Time(100_000), 1_000);
    refused(
        &mut s,
        Input::DropMessage(id),
        InputError::NoSuchMessage(id),
    );
}

#[test]
fn bad_link_parameters_are_refused() {
    let mut s = busy_sim();
    let good = fixed_latency(10_000);
    let cases: Vec<(LinkParams, &str)> = vec![
        (
            LinkParams {
                latency: Latency {
                    min: Duration::from_ms(20),
                    mean: Duration::from_ms(10),
                    tail: Tail::Uniform,
                },
                ..good
            },
            "the mean latency (10.000 ms) is below the minimum latency (20.000 ms)",
        ),
        (
            LinkParams {
                drop: Ppm(1_000_001),
                ..good
            },
            "the drop rate must be between 0% and 100%, not 100.0001%",
        ),
        (
            LinkParams {
                duplicate: Ppm(2_000_000),
                ..good
            },
            "the duplicate rate must be between 0% and 100%, not 200%",
        ),
        (
            LinkParams {
                delay_spike: Ppm(u32::MAX),
                ..good
            },
            "the delay-spike rate must be between 0% and 100%, not 429496.7295%",
        ),
        (
            LinkParams {
                spike_min: Duration::from_ms(30),
                spike_max: Duration::from_ms(20),
                ..good
            },
            "the longest delay spike (20.000 ms) is shorter than the shortest (30.000 ms)",
        ),
    ];
    for (params, text) in cases {
        let want = InputError::BadParameter(text.to_string());
        assert_eq!(params.validate(), Err(want.clone()));
        assert_eq!(
            refused(&mut s, Input::SetNetwork(params), want.clone()),
            text
        );
        let link = Input::SetLink {
            from: n(0),
            to: n(1),
            params: Some(params),
        };
        refused(&mut s, link, want);
    }
    // The edges are fine.
    let edge = LinkParams {
        drop: Ppm::ALWAYS,
        duplicate: Ppm::NEVER,
        latency: Latency::uniform(Duration::ZERO, Duration::ZERO),
        ..good
    };
    assert_eq!(edge.validate(), Ok(()));
    s.apply(Input::SetNetwork(edge)).unwrap();
}

#[test]
fn slowdowns_and_clock_rates_out_of_range_are_refused() {
    let mut s = busy_sim();
    for (factor, ok) in [(0, false), (1, true), (1_000_000, true), (1_000_001, false)] {
        let input = Input::Slow {
            node: n(0),
            factor: Permille(factor),
        };
        if ok {
            s.apply(input).unwrap();
        } else {
            let text = format!(
                "a slowdown must be between 0.001x and 1000x, not {}",
                Permille(factor)
            );
            refused(&mut s, input, InputError::BadParameter(text));
        }
    }
    for (rate, ok) in [(9, false), (10, true), (100_000, true), (100_001, false)] {
        let input = Input::Skew {
            node: n(0),
            rate: Permille(rate),
        };
        if ok {
            s.apply(input).unwrap();
        } else {
            let text = format!(
                "a clock rate must be between 0.01x and 100x, not {}",
                Permille(rate)
            );
            refused(&mut s, input, InputError::BadParameter(text));
        }
    }
}

#[test]
fn every_error_reads_as_a_sentence() {
    let errors = [
        InputError::UnknownNode(n(9), 3),
        InputError::OverlappingGroups(n(0)),
        InputError::TooFewGroups,
        InputError::SelfLink(n(2)),
        InputError::NoSuchMessage(MsgId(4)),
        InputError::WrongHealth {
            node: n(0),
            action: "restart",
            health: Health::Paused,
        },
        InputError::BadParameter(
            LinkParams {
                drop: Ppm(1_000_001),
                ..LinkParams::default()
            }
            .validate()
            .unwrap_err()
            .to_string(),
        ),
    ];
    for e in errors {
        assert_sentence(&e.to_string());
        // It is an std error, so the edges can use `?` and `Box<dyn Error>`.
        let boxed: Box<dyn std::error::Error> = Box::new(e);
        assert!(!boxed.to_string().is_empty());
    }
}

#[test]
fn refusals_on_the_world_directly_change_nothing_either() {
    let mut s = busy_sim();
    let mut world = s.world().clone();
    let hash = world.trace_hash();
    assert!(world.apply(Input::Restart(n(0))).is_err());
    assert_eq!(world.trace_hash(), hash);
    assert_eq!(world.steps(), s.world().steps());
    // And the sim still runs on normally after refusals.
    assert!(s.apply(Input::Crash(n(2))).is_err());
    s.apply(Input::Restart(n(2))).unwrap();
    s.run_until(Time(50_000), 1_000);
}
