//! Runs every scenario script in `testdata/raft` and compares its output with
//! the file. `REWRITE=1 cargo test -p protocols` rewrites the files instead.

use std::path::PathBuf;

use protocols::raft::{Raft, Toggle};
use protocols::script::{run_file, Runner};

mod common;
use common::violated_rules;

fn dir() -> PathBuf {
    common::dir("raft")
}

fn toggle_runs(t: Toggle) -> (Runner<Raft>, Runner<Raft>) {
    common::toggle_runs(&dir(), t.name())
}

#[test]
fn scenario_scripts_match_their_traces_and_break_no_rule() {
    let names = common::check_scenarios::<Raft>(&dir());
    assert!(
        names.len() >= 7,
        "expected at least seven scenario scripts, found {}",
        names.len()
    );
}

#[test]
fn each_safety_toggle_trips_exactly_its_rules_and_nothing_without_it() {
    for t in Toggle::ALL {
        if t.trips().is_empty() {
            continue;
        }
        let (on, off) = toggle_runs(t);
        assert_eq!(violated_rules(&on), t.trips(), "toggle {t}");
        assert_eq!(
            violated_rules(&off),
            Vec::<&str>::new(),
            "toggle {t} switched off"
        );
    }
}

#[test]
fn fixed_election_timeout_splits_the_vote_forever() {
    let (on, off) = toggle_runs(Toggle::FixedElectionTimeout);
    assert_eq!(on.last_settled(), Some(false));
    assert_eq!(off.last_settled(), Some(true));
    for r in [&on, &off] {
        assert_eq!(violated_rules(r), Vec::<&str>::new());
    }
}

#[test]
fn without_prevote_and_checkquorum_a_one_way_isolated_follower_deposes_the_leader() {
    let (on, off) = toggle_runs(Toggle::NoPrevoteCheckquorum);
    let stepped_down = |r: &Runner<Raft>| r.milestones().get("stepped-down").copied().unwrap_or(0);
    assert!(
        stepped_down(&on) >= 2,
        "the leader was deposed {} times",
        stepped_down(&on)
    );
    assert_eq!(stepped_down(&off), 0);
    for r in [&on, &off] {
        assert_eq!(violated_rules(r), Vec::<&str>::new());
    }
}

#[test]
fn a_script_run_twice_gives_the_same_trace_hash() {
    let text = std::fs::read_to_string(dir().join("minority-partition.txt")).expect("read");
    let hash = || {
        let (_, runner) = run_file::<Raft>(&text).expect("runs");
        runner.world().expect("set up").trace_hash()
    };
    assert_eq!(hash(), hash());
}

#[test]
fn the_scene_and_view_show_the_leaders_progress_and_log_marks() {
    let text = std::fs::read_to_string(dir().join("log-repair.txt")).expect("read");
    let (_, runner) = run_file::<Raft>(&text).expect("runs");
    let world = runner.world().expect("set up");
    let leader = world
        .node_ids()
        .find(|&n| {
            world
                .node(n)
                .and_then(|n| n.as_server())
                .is_some_and(|s| s.is_leader())
        })
        .expect("a leader");
    let scene = world.scene(leader).expect("up");
    assert_eq!(scene.role, "leader");
    assert!(scene
        .details
        .iter()
        .any(|r| r.label.ends_with("next/match")));
    assert!(scene.details.iter().any(|r| r.value.contains("(applied)")));
    let protocols::raft::RaftView::Server(view) = world.node(leader).expect("up").view() else {
        panic!("a server's view");
    };
    assert_eq!(view.progress.len(), 2);
    assert!(view.log.iter().all(|row| row.committed && row.applied));
    assert_eq!(view.election_timer, None);
}
