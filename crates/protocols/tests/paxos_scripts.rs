//! Runs every scenario script in `testdata/paxos` and compares its output
//! with the file. `REWRITE=1 cargo test -p protocols` rewrites the files
//! instead. Each teaching toggle's script must break exactly the rules the
//! toggle names, and none with the toggle switched off.

use std::path::PathBuf;

use protocols::paxos::{Paxos, Toggle};
use protocols::script::{run_file, Runner};

mod common;
use common::{check_file, milestones, violated_rules};

fn dir() -> PathBuf {
    common::dir("paxos")
}

fn toggle_runs(t: Toggle) -> (Runner<Paxos>, Runner<Paxos>) {
    common::toggle_runs(&dir(), t.name())
}

#[test]
fn scenario_scripts_match_their_traces_and_break_no_rule() {
    let names = common::check_scenarios::<Paxos>(&dir());
    for expected in [
        "one-proposer.txt",
        "dueling-proposers.txt",
        "acceptor-crash.txt",
        "proposer-crash.txt",
        "multipaxos-leader-change.txt",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} is missing");
    }
}

#[test]
fn each_safety_toggle_trips_exactly_its_rules_and_nothing_without_it() {
    let mut checked = 0;
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
        checked += 1;
    }
    assert_eq!(checked, 5);
}

#[test]
fn without_backoff_dueling_proposers_livelock() {
    let (on, off) = toggle_runs(Toggle::NoBackoff);
    assert_eq!(on.last_settled(), Some(false));
    assert_eq!(off.last_settled(), Some(true));
    assert_eq!(milestones(&on, "value-chosen"), 0);
    assert!(
        milestones(&on, "ballot-started") >= 100,
        "only {} ballots in the livelock",
        milestones(&on, "ballot-started")
    );
    assert_eq!(milestones(&off, "value-chosen"), 3);
    for r in [&on, &off] {
        assert_eq!(violated_rules(r), Vec::<&str>::new());
    }
}

#[test]
fn the_second_proposer_adopts_the_value_a_promise_reports() {
    let runner = check_file::<Paxos>(&dir().join("proposer-crash.txt"));
    let world = runner.world().expect("set up");
    for id in world.protocol().server_ids() {
        let s = world.node(id).and_then(|n| n.as_server()).expect("up");
        assert_eq!(
            s.chosen().get(&protocols::paxos::Slot(1)),
            Some(&protocols::paxos::Value::Text("v1".into())),
            "{id}"
        );
    }
}

#[test]
fn a_new_leader_fills_holes_with_no_ops_and_executes_in_order() {
    use protocols::paxos::{Slot, Value};
    let runner = check_file::<Paxos>(&dir().join("multipaxos-leader-change.txt"));
    let world = runner.world().expect("set up");
    let leader = world
        .protocol()
        .server_ids()
        .into_iter()
        .find(|&n| {
            world
                .node(n)
                .and_then(|n| n.as_server())
                .is_some_and(|s| s.leading().is_some())
        })
        .expect("a new leader");
    assert_ne!(leader, sim::NodeId(0));
    let n2 = world.node(leader).and_then(|n| n.as_server()).expect("up");
    assert_eq!(n2.chosen().get(&Slot(1)), Some(&Value::Noop));
    assert_eq!(n2.chosen().get(&Slot(2)), Some(&Value::Noop));
    assert_eq!(n2.executed(), Slot(5));
    assert_eq!(milestones(&runner, "leader-established"), 2);
    let scene = world.scene(leader).expect("up");
    assert_eq!(scene.role, "leader");
    assert!(scene
        .details
        .iter()
        .any(|r| r.label == "slot[1]" && r.value == "no-op (executed)"));
}

#[test]
fn a_script_run_twice_gives_the_same_trace_hash() {
    let text = std::fs::read_to_string(dir().join("dueling-proposers.txt")).expect("read");
    let hash = || {
        let (_, runner) = run_file::<Paxos>(&text).expect("runs");
        runner.world().expect("set up").trace_hash()
    };
    assert_eq!(hash(), hash());
}
