//! Property tests over random input logs: random mixes of inputs at random
//! times, driven by random run/step/seek sequences.
//!
//! (a) Going forward, steps are numbered one by one, their times never go
//!     back, and the clock lands where it was asked to.
//! (b) Any such session leaves a timeline equal to a fresh replay of its
//!     input log, and seeking anywhere in it (by step or by time) equals a
//!     straight run to that moment.
//! (c) Runs long enough to thin the checkpoints keep at most
//!     `MAX_CHECKPOINTS` of them and still seek correctly.

mod common;

use common::{assert_same, lab_sim_with, snapshot, LOp, Lab};
use proptest::prelude::*;
use sim::sim::{INITIAL_CHECKPOINT_EVERY, MAX_CHECKPOINTS};
use sim::{
    Direction, Duration, Input, InputRecord, Latency, LinkParams, MsgId, NodeId, PartitionKind,
    Permille, Ppm, Sim, Tail, Time, WorldConfig,
};

const NODES: u32 = 4;

/// `default` cases, or `SIM_PROPTEST_CASES` when set (for a deeper search
/// than the everyday suite can afford).
fn cases(default: u32) -> u32 {
    std::env::var("SIM_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// An input to make at some moment; `DropMessage` picks an in-flight
/// message by position when it is applied.
#[derive(Clone, Debug)]
enum Gen {
    Input(Input<LOp>),
    DropNth(usize),
}

/// One thing a person does in the app.
#[derive(Clone, Debug)]
enum Action {
    RunFor(u64),
    Steps(u32),
    Act(Gen),
    SeekStep(u8),
    SeekTime(u8),
    StepBack(u8),
}

fn node() -> impl Strategy<Value = NodeId> {
    (0..NODES).prop_map(NodeId)
}

fn link_params() -> impl Strategy<Value = LinkParams> {
    (
        0u64..10_000,
        0u64..20_000,
        any::<bool>(),
        0u32..300_000,
        0u32..300_000,
        0u32..100_000,
    )
        .prop_map(|(min, extra, exp, drop, dup, spike)| LinkParams {
            latency: Latency {
                min: Duration(min),
                mean: Duration(min + extra),
                tail: if exp {
                    Tail::Exponential
                } else {
                    Tail::Uniform
                },
            },
            drop: Ppm(drop),
            duplicate: Ppm(dup),
            delay_spike: Ppm(spike),
            spike_min: Duration::from_ms(50),
            spike_max: Duration::from_ms(300),
        })
}

fn op() -> impl Strategy<Value = LOp> {
    prop_oneof![
        (node(), 1u32..4).prop_map(|(to, count)| LOp::Send { to, count }),
        (0u8..3, 0u64..30_000, 0u64..30_000).prop_map(|(id, a, b)| LOp::Timer {
            id,
            min_us: a.min(b),
            max_us: a.max(b),
        }),
        (0u8..3).prop_map(LOp::Cancel),
        (3_000u64..20_000).prop_map(|every_us| LOp::Gossip { every_us }),
        any::<u8>().prop_map(|v| LOp::Persist(u64::from(v))),
        any::<u8>().prop_map(|v| LOp::Remember(u64::from(v))),
    ]
}

fn gen() -> impl Strategy<Value = Gen> {
    let input = prop_oneof![
        node().prop_map(Input::Crash),
        node().prop_map(Input::Restart),
        node().prop_map(Input::Pause),
        node().prop_map(Input::Resume),
        (node(), 250u32..8_000).prop_map(|(node, f)| Input::Slow {
            node,
            factor: Permille(f)
        }),
        (node(), 250u32..4_000).prop_map(|(node, r)| Input::Skew {
            node,
            rate: Permille(r)
        }),
        (node(), node()).prop_map(|(from, to)| Input::Cut { from, to }),
        (node(), node()).prop_map(|(from, to)| Input::Heal { from, to }),
        (node(), 0u8..3).prop_map(|(node, d)| Input::Isolate {
            node,
            direction: [Direction::Both, Direction::Inbound, Direction::Outbound][d as usize],
        }),
        (
            proptest::collection::vec(0u8..3, NODES as usize),
            any::<bool>()
        )
            .prop_map(|(group_of, one_way)| {
                let groups = (0..3)
                    .map(|g| {
                        (0..NODES)
                            .filter(|&i| group_of[i as usize] == g)
                            .map(NodeId)
                            .collect()
                    })
                    .collect();
                Input::Partition {
                    groups,
                    kind: if one_way {
                        PartitionKind::OneWay
                    } else {
                        PartitionKind::Symmetric
                    },
                }
            }),
        Just(Input::HealAll),
        (node(), op()).prop_map(|(node, op)| Input::Request { node, op }),
        (node(), op()).prop_map(|(node, op)| Input::Request { node, op }),
        (node(), op()).prop_map(|(node, op)| Input::Request { node, op }),
        link_params().prop_map(Input::SetNetwork),
        (node(), node(), proptest::option::of(link_params()))
            .prop_map(|(from, to, params)| Input::SetLink { from, to, params }),
    ];
    prop_oneof![
        8 => input.prop_map(Gen::Input),
        1 => any::<usize>().prop_map(Gen::DropNth),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => (0u64..60_000).prop_map(Action::RunFor),
        2 => (1u32..30).prop_map(Action::Steps),
        6 => gen().prop_map(Action::Act),
        1 => any::<u8>().prop_map(Action::SeekStep),
        1 => any::<u8>().prop_map(Action::SeekTime),
        1 => (1u8..6).prop_map(Action::StepBack),
    ]
}

fn config() -> impl Strategy<Value = WorldConfig> {
    (any::<u64>(), link_params(), 0u64..2_000).prop_map(|(seed, network, processing)| {
        let mut c = WorldConfig::with_seed(seed);
        c.network = network;
        c.processing = Duration(processing);
        c
    })
}

fn lab(history: usize) -> Lab {
    Lab {
        nodes: NODES as usize,
        echo: true,
        history,
    }
}

/// Checks (a) on every step a forward move shows, and returns how many.
fn forward_steps_are_monotone(
    s: &mut Sim<Lab>,
    t: Time,
    max_steps: u64,
) -> Result<(), TestCaseError> {
    let (start_step, start_now) = (s.world().steps(), s.world().now());
    let mut last = (start_step, start_now);
    let mut bad = None;
    let outcome = s.run_until_observed(t, max_steps, &mut |r, w| {
        let ok = r.step == last.0 && r.time >= last.1 && w.now() == r.time;
        if !ok && bad.is_none() {
            bad = Some(format!(
                "step {} at {} after step {} at {}",
                r.step, r.time, last.0, last.1
            ));
        }
        last = (r.step + 1, r.time);
    });
    prop_assert!(bad.is_none(), "{}", bad.unwrap());
    prop_assert_eq!(s.world().steps(), start_step + outcome.steps);
    if outcome.reached {
        prop_assert_eq!(s.world().now(), t.max(start_now));
    } else {
        prop_assert!(s.world().now() <= t);
    }
    Ok(())
}

/// Plays `actions` on a fresh sim, checking (a) on every forward move.
fn play(config: &WorldConfig, actions: &[Action]) -> Result<Sim<Lab>, TestCaseError> {
    let mut s = lab_sim_with(lab(usize::MAX), config.clone());
    for action in actions {
        let (steps, now) = (s.world().steps(), s.world().now());
        match action {
            Action::RunFor(us) => forward_steps_are_monotone(&mut s, now + Duration(*us), 20_000)?,
            Action::Steps(k) => {
                for i in 0..u64::from(*k) {
                    let before = s.world().now();
                    match s.step() {
                        Some(r) => {
                            prop_assert_eq!(r.step, steps + i);
                            prop_assert!(r.time >= before);
                        }
                        None => break,
                    }
                    prop_assert_eq!(s.world().now(), s.world().last_record().unwrap().time);
                }
            }
            Action::Act(g) => {
                let input = match g {
                    Gen::Input(i) => i.clone(),
                    Gen::DropNth(k) => {
                        let ids: Vec<MsgId> = s.world().in_flight().map(|m| m.id).collect();
                        Input::DropMessage(if ids.is_empty() {
                            MsgId(0)
                        } else {
                            ids[k % ids.len()]
                        })
                    }
                };
                let hash = s.world().trace_hash();
                match s.apply(input) {
                    Ok(_) => {
                        let r = s.world().last_record().unwrap();
                        prop_assert_eq!((r.step, r.time), (steps, now));
                        prop_assert_eq!(s.world().now(), now);
                    }
                    Err(_) => {
                        prop_assert_eq!(s.world().trace_hash(), hash);
                        prop_assert_eq!(s.world().steps(), steps);
                    }
                }
            }
            Action::SeekStep(f) => {
                let k = s.horizon().0 * u64::from(*f) / 255;
                s.seek_step(k);
                prop_assert_eq!(s.world().steps(), k);
            }
            Action::SeekTime(f) => {
                let t = Time(s.horizon().1 .0 * u64::from(*f) / 255);
                s.seek_time(t);
                prop_assert_eq!(s.world().now(), t);
            }
            Action::StepBack(k) => {
                for _ in 0..*k {
                    let at = s.world().steps();
                    prop_assert_eq!(s.step_back(), at > 0);
                    prop_assert_eq!(s.world().steps(), at.saturating_sub(1));
                }
            }
        }
    }
    // Finish at the horizon of the timeline.
    let (h_steps, h_time) = s.horizon();
    s.seek_step(h_steps);
    s.run_until(h_time, 0);
    Ok(s)
}

/// The straight run: a fresh sim that replays `log` moving only forward,
/// one step at a time, to exactly `k` steps.
fn straight_to(lab: Lab, config: &WorldConfig, log: &[InputRecord<LOp>], k: u64) -> Sim<Lab> {
    let mut fresh = lab_sim_with(lab, config.clone());
    let mut next = 0;
    while fresh.world().steps() < k {
        match log.get(next) {
            Some(r) if r.step == fresh.world().steps() => {
                common::replay(&mut fresh, std::slice::from_ref(r));
                next += 1;
            }
            _ => {
                fresh.step().expect("the straight run ended early");
            }
        }
    }
    fresh
}

/// The time of every step of the straight run (index k: the step numbered
/// k), through the log and then on past its end until a step is later than
/// `until` (a seek to a time may go past the horizon: every step at or
/// before that time is taken).
fn step_times(lab: Lab, config: &WorldConfig, log: &[InputRecord<LOp>], until: Time) -> Vec<Time> {
    let mut fresh = lab_sim_with(lab, config.clone());
    let mut times: Vec<Time> = Vec::new();
    let mut next = 0;
    while next < log.len() || times.last().is_none_or(|&t| t <= until) {
        match log.get(next) {
            Some(r) if r.step == fresh.world().steps() => {
                common::replay(&mut fresh, std::slice::from_ref(r));
                next += 1;
            }
            _ => {
                if fresh.step().is_none() {
                    break;
                }
            }
        }
        times.push(fresh.world().last_record().unwrap().time);
    }
    times
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(24), ..ProptestConfig::default() })]

    /// (a) and (b): any session of runs, steps, inputs, seeks and forks
    /// leaves a timeline that a fresh replay of its log reproduces, and
    /// seeking in it equals a straight run.
    #[test]
    fn sessions_replay_and_seek_like_a_straight_run(
        config in config(),
        actions in proptest::collection::vec(action(), 1..40),
        step_targets in proptest::collection::vec(any::<u16>(), 3),
        time_targets in proptest::collection::vec(any::<u16>(), 3),
    ) {
        let mut s = play(&config, &actions)?;
        let log = s.inputs().to_vec();
        let (h_steps, h_time) = s.horizon();
        let at_end = snapshot(s.world());

        // The timeline is a pure function of its log.
        let fresh = straight_to(lab(usize::MAX), &config, &log, h_steps);
        assert_same(&snapshot(fresh.world()), &at_end, "fresh replay of the log");

        // Seeks by step, in the order drawn (back and forth).
        for &x in &step_targets {
            let k = h_steps * u64::from(x) / u64::from(u16::MAX);
            s.seek_step(k);
            let want = straight_to(lab(usize::MAX), &config, &log, k);
            assert_same(&snapshot(s.world()), &snapshot(want.world()), &format!("seek_step({k})"));
        }
        // Seeks by time, including moments between steps.
        let times = step_times(lab(usize::MAX), &config, &log, h_time);
        for &x in &time_targets {
            let t = Time(h_time.0 * u64::from(x) / u64::from(u16::MAX));
            s.seek_time(t);
            prop_assert_eq!(s.world().now(), t);
            let k = times.partition_point(|&x| x <= t) as u64;
            let want = straight_to(lab(usize::MAX), &config, &log, k);
            assert_same(&snapshot(s.world()), &snapshot(want.world()), &format!("seek_time({t})"));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(3), ..ProptestConfig::default() })]

    /// (c) Long runs thin their checkpoints and still seek correctly.
    #[test]
    fn long_runs_thin_checkpoints_and_still_seek_correctly(
        seed in any::<u64>(),
        crash_at_ms in 100u64..900,
        targets in proptest::collection::vec(any::<u16>(), 3),
    ) {
        let config = common::lab_config(seed);
        let lab = lab(8);
        let mut s = lab_sim_with(lab.clone(), config.clone());
        for i in 0..NODES {
            s.run_until(Time(u64::from(i) * 1_000 + 2_000), 1_000);
            s.apply(common::req(i, LOp::Gossip { every_us: 1_000 })).unwrap();
        }
        s.run_until(Time::ZERO + Duration::from_ms(crash_at_ms), 1_000_000);
        s.apply(Input::Crash(NodeId(1))).unwrap();
        let want_steps = MAX_CHECKPOINTS as u64 * INITIAL_CHECKPOINT_EVERY + 5_000;
        let mut t = s.world().now();
        while s.world().steps() < want_steps {
            t += Duration::from_ms(20);
            s.run_until(t, 1_000_000);
            prop_assert!(s.checkpoint_count() <= MAX_CHECKPOINTS);
        }
        prop_assert!(s.checkpoint_count() <= MAX_CHECKPOINTS);
        prop_assert!(s.checkpoint_count() >= MAX_CHECKPOINTS / 2 - 1, "{}", s.checkpoint_count());
        let log = s.inputs().to_vec();
        let h = s.horizon().0;
        for &x in &targets {
            let k = h * u64::from(x) / u64::from(u16::MAX);
            s.seek_step(k);
            let want = straight_to(lab.clone(), &config, &log, k);
            assert_same(&snapshot(s.world()), &snapshot(want.world()), &format!("seek_step({k}) of {h}"));
        }
        s.seek_step(h);
        prop_assert!(s.checkpoint_count() <= MAX_CHECKPOINTS);
    }
}
