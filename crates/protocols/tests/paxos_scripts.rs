//! Runs every scenario script in `testdata/paxos` and compares its output
//! with the file. `REWRITE=1 cargo test -p protocols` rewrites the files
//! instead. Each teaching toggle's script must break exactly the rules the
//! toggle names, and none with the toggle switched off.

use std::path::{Path, PathBuf};

use protocols::paxos::{Paxos, Toggle};
use protocols::script::{run_file, Runner};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/paxos")
}

fn rewrite() -> bool {
    std::env::var_os("REWRITE").is_some_and(|v| v != "0")
}

/// Runs one file, checks (or rewrites) its expected output, and returns the
/// finished runner.
fn check_file(path: &Path) -> Runner<Paxos> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (actual, runner) =
        run_file::<Paxos>(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if rewrite() {
        std::fs::write(path, &actual).expect("rewrite the script");
    } else if actual != text {
        let diff: Vec<String> = text
            .lines()
            .zip(actual.lines())
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .take(5)
            .map(|(i, (a, b))| format!("line {}:\n  expected: {a}\n  actual:   {b}", i + 1))
            .collect();
        panic!(
            "{} differs from its expected trace (REWRITE=1 to accept):\n{}",
            path.display(),
            diff.join("\n")
        );
    }
    runner
}

fn violated_rules(runner: &Runner<Paxos>) -> Vec<&'static str> {
    let mut rules: Vec<&'static str> = runner
        .checkers()
        .expect("set up")
        .violations()
        .iter()
        .map(|v| v.rule)
        .collect();
    rules.sort_unstable();
    rules.dedup();
    rules
}

fn milestones(runner: &Runner<Paxos>, kind: &str) -> u64 {
    runner.milestones().get(kind).copied().unwrap_or(0)
}

#[test]
fn scenario_scripts_match_their_traces_and_break_no_rule() {
    let mut names = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir())
        .expect("testdata/paxos exists")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    paths.sort();
    for path in paths {
        let runner = check_file(&path);
        let name = path
            .file_name()
            .expect("a file")
            .to_string_lossy()
            .to_string();
        if !name.starts_with("toggle-") {
            assert_eq!(
                violated_rules(&runner),
                Vec::<&str>::new(),
                "{name} broke a rule"
            );
            names.push(name);
        }
    }
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

/// The toggle's scenario with the toggle switched off: the same script
/// without its `toggle=` setting.
fn without_toggle(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.starts_with("setup ") {
                l.split_whitespace()
                    .filter(|w| !w.starts_with("toggle="))
                    .collect::<Vec<_>>()
                    .join(" ")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn toggle_runs(t: Toggle) -> (Runner<Paxos>, Runner<Paxos>) {
    let path = dir().join(format!("toggle-{}.txt", t.name()));
    let on = check_file(&path);
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(
        text.contains(&format!("toggle={}", t.name())),
        "the script switches its toggle on"
    );
    let (_, off) =
        run_file::<Paxos>(&without_toggle(&text)).expect("the script runs without its toggle");
    (on, off)
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
    let runner = check_file(&dir().join("proposer-crash.txt"));
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
    let runner = check_file(&dir().join("multipaxos-leader-change.txt"));
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
