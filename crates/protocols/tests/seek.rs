//! Seeking in a Raft run through `sim::Run` (the app's path) lands on the
//! same moment as running straight there, whichever way it goes: back,
//! forward within the part of the timeline already reached (from a
//! checkpoint), or forward past it.

use protocols::raft::Raft;
use sim::{AnySim, Run, Time, WorldConfig};

fn run() -> Run<Raft> {
    Run::new(Raft::new(5, 2), WorldConfig::with_seed(7))
}

/// The trace hash and step count of a fresh run taken straight to `t`.
fn straight(t: Time) -> (u64, u64) {
    let mut r = run();
    r.run_until(t, u64::MAX);
    (r.trace_hash(), r.steps())
}

#[test]
fn seeks_in_any_direction_land_where_a_straight_run_does() {
    let mut r = run();
    r.seek_time(Time(30_000_000));
    // Back, forward within the horizon, forward past it, and back again.
    for ms in [12_000u64, 25_000, 3_000, 29_000, 45_000, 1_000, 44_000] {
        let t = Time(ms * 1_000);
        r.seek_time(t);
        assert_eq!(r.now(), t);
        assert_eq!((r.trace_hash(), r.steps()), straight(t), "seek to {t}");
    }
    assert_eq!(r.horizon().1, Time(45_000_000));
}

#[test]
fn seek_step_forward_within_the_horizon_matches_stepping() {
    let mut r = run();
    r.seek_time(Time(20_000_000));
    let end = r.steps();
    r.seek_step(10);
    r.seek_step(end - 5);
    let mut s = run();
    for _ in 0..end - 5 {
        s.step();
    }
    assert_eq!((r.trace_hash(), r.steps()), (s.trace_hash(), s.steps()));
    // And past the horizon, one step at a time.
    r.seek_step(end + 20);
    for _ in 0..25 {
        s.step();
    }
    assert_eq!((r.trace_hash(), r.steps()), (s.trace_hash(), s.steps()));
}
