//! Runs every scenario script in `testdata/pubsub` and compares its output with
//! the file. `REWRITE=1 cargo test -p protocols` rewrites the files instead.

use std::path::PathBuf;

use protocols::pubsub::{PubSub, Toggle};
use protocols::script::{run_file, Runner};

mod common;
use common::violated_rules;

fn dir() -> PathBuf {
    common::dir("pubsub")
}

fn toggle_runs(t: Toggle) -> (Runner<PubSub>, Runner<PubSub>) {
    common::toggle_runs(&dir(), t.name())
}

#[test]
fn scenario_scripts_match_their_traces_and_break_no_rule() {
    let names = common::check_scenarios::<PubSub>(&dir());
    assert!(
        names.len() >= 5,
        "expected at least five scenario scripts, found {}",
        names.len()
    );
}

#[test]
fn each_safety_toggle_trips_exactly_its_rules_and_nothing_without_it() {
    for t in Toggle::ALL {
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
fn a_script_run_twice_gives_the_same_trace_hash() {
    let text = std::fs::read_to_string(dir().join("leader-crash.txt")).expect("read");
    let hash = || {
        let (_, runner) = run_file::<PubSub>(&text).expect("runs");
        runner.world().expect("set up").trace_hash()
    };
    assert_eq!(hash(), hash());
}
