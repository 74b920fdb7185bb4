//! What every protocol's script test shares: run a script and compare its
//! output with the file (`REWRITE=1 cargo test -p protocols` rewrites the
//! files instead), list the scenario scripts, and run a teaching toggle's
//! script with its toggle and without it.

// Each test file uses the part it needs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use protocols::script::{run_file, Runner, Scripted};

/// `testdata/<protocol>`.
pub fn dir(protocol: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(protocol)
}

fn rewrite() -> bool {
    std::env::var_os("REWRITE").is_some_and(|v| v != "0")
}

/// Runs one file, checks (or rewrites) its expected output, and returns the
/// finished runner.
pub fn check_file<P: Scripted>(path: &Path) -> Runner<P> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (actual, runner) =
        run_file::<P>(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
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

/// The rules the run broke, each once, sorted.
pub fn violated_rules<P: Scripted>(runner: &Runner<P>) -> Vec<&'static str> {
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

/// How many milestones of `kind` the run reached.
pub fn milestones<P: Scripted>(runner: &Runner<P>, kind: &str) -> u64 {
    runner.milestones().get(kind).copied().unwrap_or(0)
}

/// Checks every script in `dir` against its expected trace, and that each
/// scenario script (not a `toggle-*` one) breaks no rule. Returns the
/// scenario scripts' file names.
pub fn check_scenarios<P: Scripted>(dir: &Path) -> Vec<String> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    paths.sort();
    let mut names = Vec::new();
    for path in paths {
        let runner = check_file::<P>(&path);
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
    names
}

/// The toggle's scenario with the toggle switched off: the same script
/// without its `toggle=` setting.
pub fn without_toggle(text: &str) -> String {
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

/// Runs `toggle-<toggle>.txt` from `dir` as written (checking its trace)
/// and with the toggle switched off.
pub fn toggle_runs<P: Scripted>(dir: &Path, toggle: &str) -> (Runner<P>, Runner<P>) {
    let path = dir.join(format!("toggle-{toggle}.txt"));
    let on = check_file::<P>(&path);
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(
        text.contains(&format!("toggle={toggle}")),
        "the script switches its toggle on"
    );
    let (_, off) =
        run_file::<P>(&without_toggle(&text)).expect("the script runs without its toggle");
    (on, off)
}
