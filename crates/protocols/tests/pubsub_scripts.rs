//! Runs every scenario script in `testdata/pubsub` and compares its output with
//! the file. `REWRITE=1 cargo test -p protocols` rewrites the files instead.

use std::path::{Path, PathBuf};

use protocols::pubsub::{PubSub, Toggle};
use protocols::script::{run_file, Runner};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/pubsub")
}

fn rewrite() -> bool {
    std::env::var_os("REWRITE").is_some_and(|v| v != "0")
}

/// Runs one file, checks (or rewrites) its expected output, and returns the
/// finished runner.
fn check_file(path: &Path) -> Runner<PubSub> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (actual, runner) =
        run_file::<PubSub>(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
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

fn violated_rules(runner: &Runner<PubSub>) -> Vec<&'static str> {
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
        .expect("testdata/pubsub exists")
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
        count >= 5,
        "expected at least five scenario scripts, found {count}"
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

fn toggle_runs(t: Toggle) -> (Runner<PubSub>, Runner<PubSub>) {
    let path = dir().join(format!("toggle-{}.txt", t.name()));
    let on = check_file(&path);
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(
        text.contains(&format!("toggle={}", t.name())),
        "the script switches its toggle on"
    );
    let (_, off) =
        run_file::<PubSub>(&without_toggle(&text)).expect("the script runs without its toggle");
    (on, off)
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
