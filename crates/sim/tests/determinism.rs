//! A run is a pure function of (protocol, config, seed, input log): the same
//! run twice gives the same records and hash, seeking anywhere and running on
//! equals a straight run, and acting in the past forks the log exactly.

mod common;

use common::{assert_same, lab_sim, replay, req, snapshot, LOp, Lab};
use sim::{Direction, Duration, Fork, Input, NodeId, PartitionKind, Permille, Ppm, Sim, Time};
use sim::{Latency, WorldConfig};

fn ms(x: u64) -> Time {
    Time(x * 1_000)
}

/// A lossy, jittery world so that every random stream matters.
fn rough_config(seed: u64) -> WorldConfig {
    let mut c = WorldConfig::with_seed(seed);
    c.network.latency = Latency::uniform(Duration::from_ms(5), Duration::from_ms(25));
    c.network.drop = Ppm::percent(10);
    c.network.duplicate = Ppm::percent(10);
    c.network.delay_spike = Ppm::percent(5);
    c
}

/// The scripted actions: (time in ms, input). Inputs that cannot apply at
/// their moment are skipped by `drive`, so every seed gives a valid log.
fn script() -> Vec<(u64, Input<LOp>)> {
    let n = NodeId;
    vec![
        (1, req(0, LOp::Gossip { every_us: 2_000 })),
        (3, req(1, LOp::Persist(11))),
        (3, req(2, LOp::Send { to: n(3), count: 5 })),
        (
            40,
            Input::Slow {
                node: n(1),
                factor: Permille(4_000),
            },
        ),
        (
            55,
            Input::Skew {
                node: n(2),
                rate: Permille(2_000),
            },
        ),
        (
            60,
            req(
                2,
                LOp::Timer {
                    id: 1,
                    min_us: 1_000,
                    max_us: 30_000,
                },
            ),
        ),
        (70, Input::Crash(n(1))),
        (
            90,
            Input::Partition {
                groups: vec![vec![n(0), n(1)], vec![n(2), n(3)]],
                kind: PartitionKind::OneWay,
            },
        ),
        (95, Input::Pause(n(3))),
        (120, Input::Restart(n(1))),
        (130, Input::Resume(n(3))),
        (150, Input::HealAll),
        (
            150,
            Input::Isolate {
                node: n(2),
                direction: Direction::Inbound,
            },
        ),
        (170, req(3, LOp::Gossip { every_us: 1_500 })),
        (200, Input::HealAll),
    ]
}

/// Runs the script to `end_ms`, stepping one event at a time between inputs
/// when `by_step` (to exercise `step` as well as `run_until`).
fn drive(seed: u64, end_ms: u64, by_step: bool) -> (Sim<Lab>, Vec<String>) {
    let mut s = lab_sim(4, true, rough_config(seed));
    let mut records = Vec::new();
    for (ms, input) in script() {
        let t = Time(ms * 1_000);
        if by_step {
            while s.world().next_event_time().is_some_and(|n| n <= t) {
                records.push(format!("{:?}", s.step().unwrap()));
            }
        }
        s.run_until(t, 100_000);
        if let Ok(fork) = s.apply(input) {
            assert_eq!(fork, None, "acting at the horizon never forks");
            records.push(format!("{:?}", s.world().last_record().unwrap()));
        }
    }
    while s
        .world()
        .next_event_time()
        .is_some_and(|n| n <= Time(end_ms * 1_000))
    {
        records.push(format!("{:?}", s.step().unwrap()));
    }
    s.run_until(Time(end_ms * 1_000), 100_000);
    (s, records)
}

/// The straight run: a fresh sim replaying `s`'s log, recording a snapshot
/// after every step (`tape[k]` is the state after `k` steps) and each step's
/// time. It never seeks, so it is the ground truth for seeks.
fn tape(s: &Sim<Lab>) -> (Vec<String>, Vec<Time>) {
    let mut fresh = lab_sim(4, true, s.world().config().clone());
    let horizon = s.horizon().0;
    let log = s.inputs().to_vec();
    let mut snaps = vec![snapshot(fresh.world())];
    let mut times = Vec::new();
    let mut next_input = 0;
    while fresh.world().steps() < horizon {
        match log.get(next_input) {
            Some(r) if r.step == fresh.world().steps() => {
                replay(&mut fresh, std::slice::from_ref(r));
                next_input += 1;
            }
            _ => {
                fresh.step().unwrap();
            }
        }
        snaps.push(snapshot(fresh.world()));
        times.push(fresh.world().last_record().unwrap().time);
    }
    (snaps, times)
}

#[test]
fn the_same_run_twice_gives_the_same_records_and_hash() {
    for by_step in [false, true] {
        let (a, ra) = drive(7, 300, by_step);
        let (b, rb) = drive(7, 300, by_step);
        assert!(
            ra.len() > 10,
            "the script is too quiet: {} records",
            ra.len()
        );
        assert_eq!(ra, rb);
        assert_eq!(a.world().trace_hash(), b.world().trace_hash());
        assert_same(&snapshot(a.world()), &snapshot(b.world()), "two runs");
        assert_eq!(a.inputs(), b.inputs());
    }
}

#[test]
fn stepping_and_running_to_the_same_moments_agree() {
    let (a, _) = drive(7, 300, false);
    let (b, records) = drive(7, 300, true);
    assert!(
        records.len() > 1_000,
        "the script is too quiet: {} steps",
        records.len()
    );
    assert_eq!(records.len() as u64, b.world().steps());
    assert_eq!(a.world().steps(), b.world().steps());
    assert_eq!(a.world().trace_hash(), b.world().trace_hash());
}

#[test]
fn different_seeds_give_different_runs() {
    let hashes: Vec<u64> = (0..6)
        .map(|seed| drive(seed, 300, false).0.world().trace_hash())
        .collect();
    for i in 0..hashes.len() {
        for j in 0..i {
            assert_ne!(hashes[i], hashes[j], "seeds {i} and {j} gave the same run");
        }
    }
}

#[test]
fn a_fresh_replay_of_the_log_gives_the_same_run() {
    let (s, _) = drive(3, 300, false);
    let (snaps, _) = tape(&s);
    assert_same(
        snaps.last().unwrap(),
        &snapshot(s.world()),
        "replay vs original",
    );
}

#[test]
fn seek_step_backwards_and_forwards_equals_the_straight_run() {
    let (mut s, _) = drive(5, 400, false);
    let (snaps, _) = tape(&s);
    let last = (snaps.len() - 1) as u64;
    assert!(last > 1_000, "want several checkpoints, got {last} steps");
    let targets = [
        last / 2,
        3,
        last,
        0,
        last - 1,
        257,
        256,
        255,
        900,
        600,
        last / 3,
        last,
    ];
    for k in targets {
        s.seek_step(k);
        assert_eq!(s.world().steps(), k);
        assert_eq!(
            snapshot(s.world()),
            snaps[k as usize],
            "after seek_step({k})"
        );
    }
    // Seeking never changes the timeline.
    assert_eq!(s.horizon().0, last);
}

#[test]
fn seek_time_to_steps_between_steps_and_inputs_equals_the_straight_run() {
    let (mut s, _) = drive(5, 400, false);
    let (snaps, times) = tape(&s);
    let mut moments: Vec<Time> = Vec::new();
    // The times of logged inputs, one microsecond before and after them.
    for r in s.inputs() {
        moments.extend([r.time, Time(r.time.0.saturating_sub(1)), Time(r.time.0 + 1)]);
    }
    // Moments between steps and at steps.
    for k in (0..times.len()).step_by(97) {
        moments.extend([times[k], Time(times[k].0 + 1)]);
    }
    moments.extend([
        Time::ZERO,
        Time(150_000),
        Time(10_000),
        Time(399_000),
        Time(1),
    ]);
    for t in moments {
        if t > *times.last().unwrap() {
            continue;
        }
        s.seek_time(t);
        let k = times.partition_point(|&x| x <= t);
        assert_eq!(s.world().now(), t, "the clock after seek_time({t})");
        assert_same(
            &snapshot(s.world()),
            &snaps[k],
            &format!("after seek_time({t})"),
        );
    }
}

#[test]
fn step_back_then_step_gives_the_same_record() {
    let (mut s, _) = drive(9, 250, false);
    let horizon = s.horizon().0;
    // Walk back from the end, at several places, including across inputs.
    let input_steps: Vec<u64> = s.inputs().iter().map(|r| r.step).collect();
    let mut places: Vec<u64> = input_steps.iter().map(|&k| k + 1).collect();
    places.extend([horizon, horizon / 2, 300, 257, 1]);
    for k in places {
        s.seek_step(k);
        let before = snapshot(s.world());
        let record = format!("{:?}", s.world().last_record().unwrap());
        assert!(s.step_back());
        assert_eq!(s.world().steps(), k - 1);
        let again = format!("{:?}", s.step().unwrap());
        assert_eq!(again, record, "step {} again", k - 1);
        assert_same(&snapshot(s.world()), &before, "after step_back and step");
    }
    s.seek_step(0);
    assert!(!s.step_back(), "there is nothing before the start");
}

#[test]
fn a_fork_drops_exactly_the_future_inputs() {
    let (mut s, _) = drive(11, 300, false);
    let old_log = s.inputs().to_vec();
    let horizon = s.horizon().0;
    // Go back to just before the crash of n2 (the 7th scripted input).
    let crash = old_log
        .iter()
        .position(|r| r.input == Input::Crash(NodeId(1)))
        .unwrap();
    let at = old_log[crash].step;
    s.seek_step(at);
    let fork = s.apply(req(0, LOp::Persist(99))).unwrap();
    assert_eq!(
        fork,
        Some(Fork {
            at_step: at,
            dropped_inputs: old_log.len() - crash,
            dropped_steps: horizon - at,
        })
    );
    let mut expected = old_log[..crash].to_vec();
    expected.push(sim::InputRecord {
        step: at,
        time: s.world().last_record().unwrap().time,
        input: req(0, LOp::Persist(99)),
    });
    assert_eq!(s.inputs(), &expected[..]);
    assert_eq!(s.horizon().0, at + 1);

    // The new timeline equals a fresh run of the truncated log plus the new
    // input, now and after running on.
    let mut fresh = lab_sim(4, true, s.world().config().clone());
    replay(&mut fresh, s.inputs());
    assert_same(
        &snapshot(fresh.world()),
        &snapshot(s.world()),
        "fresh replay vs forked run",
    );
    s.run_until(ms(400), 100_000);
    fresh.run_until(ms(400), 100_000);
    assert_same(
        &snapshot(fresh.world()),
        &snapshot(s.world()),
        "fresh replay vs forked run",
    );
    // n2 never crashed in the new timeline.
    assert!(s.world().node(NodeId(1)).is_some_and(|n| n.boots == 1));
}

#[test]
fn a_fork_between_steps_keeps_the_inputs_before_it() {
    let (mut s, _) = drive(12, 300, false);
    let old_log = s.inputs().to_vec();
    // A moment 1 us after the pause of n4, between two steps.
    let pause = old_log
        .iter()
        .position(|r| r.input == Input::Pause(NodeId(3)))
        .unwrap();
    let t = Time(old_log[pause].time.0 + 1);
    s.seek_time(t);
    assert_eq!(s.world().steps(), old_log[pause].step + 1);
    let fork = s.apply(Input::Resume(NodeId(3))).unwrap().unwrap();
    assert_eq!(fork.at_step, old_log[pause].step + 1);
    assert_eq!(fork.dropped_inputs, old_log.len() - pause - 1);
    assert_eq!(&s.inputs()[..=pause], &old_log[..=pause]);
    assert_eq!(s.inputs().last().unwrap().time, t);
    let mut fresh = lab_sim(4, true, s.world().config().clone());
    replay(&mut fresh, s.inputs());
    s.run_until(ms(350), 100_000);
    fresh.run_until(ms(350), 100_000);
    assert_same(
        &snapshot(fresh.world()),
        &snapshot(s.world()),
        "fresh replay vs forked run",
    );
}

#[test]
fn acting_at_a_step_where_an_input_sits_replaces_it() {
    let (mut s, _) = drive(13, 300, false);
    let old_log = s.inputs().to_vec();
    let r = old_log[3].clone();
    s.seek_step(r.step);
    let fork = s.apply(req(3, LOp::Remember(5))).unwrap().unwrap();
    assert_eq!(fork.dropped_inputs, old_log.len() - 3);
    assert_eq!(&s.inputs()[..3], &old_log[..3]);
    assert_eq!(s.inputs().len(), 4);
}

#[test]
fn an_invalid_input_in_the_past_does_not_fork() {
    let (mut s, _) = drive(14, 300, false);
    let old_log = s.inputs().to_vec();
    let horizon = s.horizon();
    s.seek_step(horizon.0 / 2);
    let before = snapshot(s.world());
    assert!(s.apply(Input::Restart(NodeId(0))).is_err());
    assert_eq!(s.inputs(), &old_log[..]);
    assert_eq!(s.horizon(), horizon);
    assert_same(&snapshot(s.world()), &before, "after step_back and step");
}

/// Regression: replaying a logged input right after a quiet stretch applied
/// it at the target time of the replay instead of its own time, because the
/// replay stepped the world with `run_until(t, 1)`, which moves the clock to
/// `t` after its one step.
#[test]
fn replay_applies_a_logged_input_at_its_own_time() {
    let mut s = lab_sim(2, true, common::lab_config(1));
    s.run_until(ms(100), 1_000);
    s.apply(req(
        0,
        LOp::Send {
            to: NodeId(1),
            count: 1,
        },
    ))
    .unwrap();
    s.run_until(ms(300), 1_000);
    let hash = s.world().trace_hash();
    let straight = snapshot(s.world());
    s.seek_step(0);
    s.seek_time(ms(300));
    assert_eq!(s.inputs()[0].time, ms(100));
    assert_eq!(s.world().trace_hash(), hash);
    assert_same(&snapshot(s.world()), &straight, "replayed vs straight");
}

/// Regression: `Sim::step` of the last scheduled event moved the clock to the
/// end of time, so the next input was applied at `Time::MAX`.
#[test]
fn stepping_the_last_event_leaves_the_clock_at_its_time() {
    let mut s = lab_sim(2, true, common::lab_config(1));
    let mut last = Time::ZERO;
    while let Some(r) = s.step() {
        last = r.time;
    }
    assert_eq!(s.world().now(), last);
    s.apply(req(0, LOp::Remember(1))).unwrap();
    assert_eq!(s.inputs()[0].time, last);
}

/// Regression: a bounded `run_until` that ran out of steps right before a
/// logged input still reported the target as reached and moved the clock
/// past the input's time.
#[test]
fn a_bounded_run_stops_before_a_logged_input_without_moving_the_clock() {
    let mut s = lab_sim(2, true, common::lab_config(1));
    s.run_until(ms(50), 1_000);
    let boot_steps = s.world().steps();
    s.apply(req(
        0,
        LOp::Send {
            to: NodeId(1),
            count: 1,
        },
    ))
    .unwrap();
    s.run_until(ms(100), 1_000);
    let straight = snapshot(s.world());
    s.seek_step(0);
    let outcome = s.run_until(ms(100), boot_steps);
    assert_eq!(outcome.steps, boot_steps);
    assert!(!outcome.reached, "the logged input at 50 ms is still due");
    assert!(s.world().now() < ms(50));
    s.run_until(ms(100), 1_000);
    assert_same(&snapshot(s.world()), &straight, "replayed vs straight");
}

/// Loads `log` into a fresh sim the way a share link does.
fn load(config: WorldConfig, log: &[sim::InputRecord<LOp>]) -> Result<Sim<Lab>, String> {
    let mut s = lab_sim(4, true, config);
    for r in log {
        s.apply_at(r.step, r.time, r.input.clone(), &mut |_, _| {})?;
    }
    Ok(s)
}

#[test]
fn a_saved_log_loads_through_apply_at() {
    let (s, _) = drive(15, 300, false);
    let loaded = load(s.world().config().clone(), s.inputs()).unwrap();
    assert_eq!(loaded.inputs(), s.inputs());
    let mut s = s;
    s.seek_step(loaded.world().steps());
    assert_same(
        &snapshot(loaded.world()),
        &snapshot(s.world()),
        "loaded log",
    );
}

/// A log in which an input follows a cancelled timer (an event that is not
/// a step, still queued in a straight replay) must load: `apply_at` may not
/// mistake it for an event still due before the input.
#[test]
fn a_log_with_a_cancelled_timer_before_an_input_loads() {
    let mut s = lab_sim(4, true, common::lab_config(2));
    s.run_until(ms(1), 1_000);
    s.apply(req(
        0,
        LOp::Timer {
            id: 1,
            min_us: 5_000,
            max_us: 5_000,
        },
    ))
    .unwrap();
    s.apply(req(0, LOp::Cancel(1))).unwrap();
    s.run_until(ms(20), 1_000);
    s.apply(req(1, LOp::Remember(3))).unwrap();
    s.run_until(ms(30), 1_000);
    let loaded = load(s.world().config().clone(), s.inputs()).unwrap();
    assert_eq!(loaded.inputs(), s.inputs());
    assert_eq!(loaded.world().trace_hash(), {
        s.seek_step(loaded.world().steps());
        s.world().trace_hash()
    });
}
