//! Runs every scenario script in `testdata/raft` and compares its output with
//! the file. `REWRITE=1 cargo test -p protocols` rewrites the files instead.

use std::path::{Path, PathBuf};

use protocols::raft::{Raft, Toggle};
use protocols::script::{run_file, Runner};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/raft")
}

fn rewrite() -> bool {
    std::env::var_os("REWRITE").is_some_and(|v| v != "0")
}

/// Runs one file, checks (or rewrites) its expected output, and returns the
/// finished runner.
fn check_file(path: &Path) -> Runner<Raft> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (actual, runner) =
        run_file::<Raft>(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
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

fn violated_rules(runner: &Runner<Raft>) -> Vec<&'static str> {
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

#[test]
fn scenario_scripts_match_their_traces_and_break_no_rule() {
    let mut count = 0;
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir())
        .expect("testdata/raft exists")
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
            count += 1;
        }
    }
    assert!(
        count >= 7,
        "expected at least seven scenario scripts, found {count}"
    );
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

fn toggle_runs(t: Toggle) -> (Runner<Raft>, Runner<Raft>) {
    let path = dir().join(format!("toggle-{}.txt", t.name()));
    let on = check_file(&path);
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(
        text.contains(&format!("toggle={}", t.name())),
        "the script switches its toggle on"
    );
    let (_, off) =
        run_file::<Raft>(&without_toggle(&text)).expect("the script runs without its toggle");
    (on, off)
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
