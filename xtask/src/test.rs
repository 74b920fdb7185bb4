//! `cargo xtask test`: everything CI checks, in one command, ending with one
//! line `N passed, N failed`.
//!
//! The run is a list of [`Step`]s. Each step is either a check that counts as
//! one pass or one failure (formatting, clippy, the release build), or a test
//! runner whose own counts are added up (cargo's `test result:` lines, the
//! browser runner's `pass`/`fail` lines). A failing step does not stop the
//! run, so the summary is complete; a step that needs an earlier one (the
//! browser tests need the release build) is skipped when that one failed. To
//! add a step, append it to [`STEPS`].

use std::{
    fs,
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Instant,
};

use crate::{announce, cargo, display, dist, format_duration, install, project_root, Result};

struct Step {
    name: &'static str,
    /// The step that must have passed for this one to make sense.
    needs: Option<&'static str>,
    run: fn(&install::Toolchain) -> Result<Outcome>,
}

const STEPS: &[Step] = &[
    Step {
        name: "formatting (cargo fmt --check)",
        needs: None,
        run: |_| check(cargo().args(["fmt", "--all", "--check"])),
    },
    Step {
        name: "clippy, native, every crate and target",
        needs: None,
        run: |_| {
            check(cargo().args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]))
        },
    },
    Step {
        name: "clippy, the app for wasm32",
        needs: None,
        run: |_| {
            check(cargo().args([
                "clippy",
                "--package",
                "clusterscope",
                "--target",
                "wasm32-unknown-unknown",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]))
        },
    },
    Step {
        name: "clippy, each download's feature alone",
        needs: None,
        run: |_| {
            let mut clean = true;
            for (feature, _) in dist::DOWNLOADS {
                let outcome = check(cargo().args([
                    "clippy",
                    "--package",
                    "clusterscope",
                    "--target",
                    "wasm32-unknown-unknown",
                    "--no-default-features",
                    "--features",
                    feature,
                    "--",
                    "-D",
                    "warnings",
                ]))?;
                clean &= outcome == Outcome::Check(true);
            }
            Ok(Outcome::Check(clean))
        },
    },
    Step {
        name: "native tests, every crate",
        needs: None,
        // --no-fail-fast: one failing test binary must not hide the
        // results of the others.
        run: |_| {
            count_tests(
                cargo().args(["test", "--workspace", "--no-fail-fast"]),
                Runner::Cargo,
            )
        },
    },
    Step {
        name: "seed sweeps and native-vs-wasm trace hashes",
        needs: None,
        run: |_| {
            let (p1, f1) = crate::sweep::test_checks()?;
            let (p2, f2) = crate::bench::wasm_hash_check()?;
            Ok(Outcome::Tests {
                passed: p1 + p2,
                failed: f1 + f2,
                runner_ok: true,
            })
        },
    },
    Step {
        name: "release build (cargo xtask dist: a download per protocol family)",
        needs: None,
        run: |tools| dist::build_release(tools).map(|_| Outcome::Check(true)),
    },
    Step {
        name: "browser end-to-end tests (tests/e2e)",
        needs: Some("release build (cargo xtask dist: a download per protocol family)"),
        run: browser_tests,
    },
];

/// What one step found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// One check: passed (`true`) or failed.
    Check(bool),
    /// A test runner's counts, and whether the runner itself exited cleanly
    /// (a compile error fails the runner without failing a test).
    Tests {
        passed: u64,
        failed: u64,
        runner_ok: bool,
    },
    /// Not run, because the step it needs did not pass.
    Skipped,
}

impl Outcome {
    /// The outcome's contribution to the summary line. A runner that failed
    /// without reporting a failed test counts as one failure, so that a build
    /// error can never read as success.
    fn counts(self) -> (u64, u64) {
        match self {
            Outcome::Check(true) => (1, 0),
            Outcome::Check(false) => (0, 1),
            Outcome::Tests {
                passed,
                failed,
                runner_ok,
            } => (passed, if !runner_ok && failed == 0 { 1 } else { failed }),
            Outcome::Skipped => (0, 0),
        }
    }

    fn passed(self) -> bool {
        self.counts().1 == 0 && self != Outcome::Skipped
    }
}

pub fn run() -> Result<()> {
    let started = Instant::now();
    let tools = install::ensure(install::Browser::Needed)?;

    let mut results: Vec<(&Step, Outcome, String)> = Vec::new();
    for step in STEPS {
        let prerequisite_failed = step.needs.is_some_and(|needed| {
            results
                .iter()
                .any(|(s, outcome, _)| s.name == needed && !outcome.passed())
        });
        if prerequisite_failed {
            results.push((step, Outcome::Skipped, String::new()));
            continue;
        }
        announce(&format!("Test step: {}", step.name));
        let step_started = Instant::now();
        let outcome = (step.run)(&tools).unwrap_or_else(|error| {
            eprintln!("error: {error}");
            Outcome::Check(false)
        });
        results.push((step, outcome, format_duration(step_started.elapsed())));
    }

    announce(&format!(
        "Summary ({} in all)",
        format_duration(started.elapsed())
    ));
    let (mut passed, mut failed) = (0, 0);
    let mut failures = Vec::new();
    for (step, outcome, took) in &results {
        let (p, f) = outcome.counts();
        passed += p;
        failed += f;
        let verdict = match outcome {
            Outcome::Skipped => "skipped".to_owned(),
            Outcome::Check(true) => "ok".to_owned(),
            Outcome::Check(false) => "FAILED".to_owned(),
            Outcome::Tests { .. } => format!(
                "{}: {p} passed, {f} failed",
                if f == 0 { "ok" } else { "FAILED" }
            ),
        };
        let width = STEPS.iter().map(|s| s.name.len()).max().unwrap_or(0);
        println!("  {:<width$} {verdict:<32} {took}", step.name);
        match outcome {
            Outcome::Skipped => failures.push(format!(
                "{} was skipped: `{}` failed",
                step.name,
                step.needs.unwrap_or_default()
            )),
            _ if f > 0 => failures.push(format!("{} failed", step.name)),
            _ => {}
        }
    }
    for failure in &failures {
        println!("FAILED: {failure}");
    }
    println!("{passed} passed, {failed} failed");
    if failures.is_empty() {
        Ok(())
    } else {
        // The summary already said what failed; just set the exit status.
        std::process::exit(1)
    }
}

/// A command that passes or fails as a whole.
fn check(command: &mut Command) -> Result<Outcome> {
    Ok(Outcome::Check(crate::spawn_status(command)?.success()))
}

/// The browser tests: node's built-in runner over `tests/e2e/*.test.mjs`,
/// against the `dist/` the release build just wrote.
fn browser_tests(tools: &install::Toolchain) -> Result<Outcome> {
    let dir = project_root().join("tests").join("e2e");
    let mut files: Vec<String> = fs::read_dir(&dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".test.mjs"))
        .map(|name| format!("tests/e2e/{name}"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("no *.test.mjs files in {}", dir.display()));
    }
    let mut node = tools.command("node");
    node.args(["--test", "--test-reporter=spec"]).args(&files);
    count_tests(&mut node, Runner::NodeTest)
}

#[derive(Clone, Copy)]
enum Runner {
    Cargo,
    NodeTest,
}

/// Runs a test runner, streaming its standard output while keeping a copy to
/// count from; standard error (compiler progress) goes straight through.
fn count_tests(command: &mut Command, runner: Runner) -> Result<Outcome> {
    println!("$ {}", display(command));
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start `{}`: {e}", display(command)))?;
    let mut output = String::new();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|e| format!("reading test output: {e}"))?;
            println!("{line}");
            output.push_str(&line);
            output.push('\n');
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for `{}`: {e}", display(command)))?;
    let (passed, failed) = match runner {
        Runner::Cargo => cargo_counts(&output),
        Runner::NodeTest => node_counts(&output),
    };
    Ok(Outcome::Tests {
        passed,
        failed,
        runner_ok: status.success(),
    })
}

/// Sums cargo's `test result: ok. 3 passed; 1 failed; ...` lines (one per
/// test binary and one per crate's doc tests).
fn cargo_counts(output: &str) -> (u64, u64) {
    let (mut passed, mut failed) = (0, 0);
    for line in output.lines() {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            continue;
        };
        for part in rest.split(';') {
            let words: Vec<&str> = part.split_whitespace().collect();
            // The first part reads `ok. 3 passed`; the count is the word
            // before the label.
            match words.as_slice() {
                [.., n, "passed"] => passed += n.parse::<u64>().unwrap_or(0),
                [.., n, "failed"] => failed += n.parse::<u64>().unwrap_or(0),
                _ => {}
            }
        }
    }
    (passed, failed)
}

/// Reads the totals of node's spec reporter (`ℹ pass 5`, `ℹ fail 0`,
/// `ℹ cancelled 0`); a cancelled test is a failed one.
fn node_counts(output: &str) -> (u64, u64) {
    let (mut passed, mut failed) = (0, 0);
    for line in output.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let ["ℹ" | "#", label, n] = words.as_slice() {
            let n = n.parse::<u64>().unwrap_or(0);
            match *label {
                "pass" => passed += n,
                "fail" | "cancelled" => failed += n,
                _ => {}
            }
        }
    }
    (passed, failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_cargo_test_results() {
        let output = "\
running 2 tests
test a ... ok
test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

test result: FAILED. 5 passed; 3 failed; 0 ignored; 0 measured; 1 filtered out; finished in 0.01s
test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s
";
        assert_eq!(cargo_counts(output), (7, 3));
        assert_eq!(cargo_counts("error[E0308]: mismatched types\n"), (0, 0));
    }

    #[test]
    fn reads_node_spec_totals() {
        let output = "\
✔ page loads (812ms)
✖ help dialog (40ms)
ℹ tests 6
ℹ suites 0
ℹ pass 4
ℹ fail 1
ℹ cancelled 1
ℹ skipped 0
ℹ todo 0
ℹ duration_ms 3021.5
";
        assert_eq!(node_counts(output), (4, 2));
    }

    #[test]
    fn a_runner_that_fails_without_a_failed_test_counts_as_a_failure() {
        let compile_error = Outcome::Tests {
            passed: 0,
            failed: 0,
            runner_ok: false,
        };
        assert_eq!(compile_error.counts(), (0, 1));
        assert!(!compile_error.passed());
        let red = Outcome::Tests {
            passed: 3,
            failed: 2,
            runner_ok: false,
        };
        assert_eq!(red.counts(), (3, 2));
        assert_eq!(Outcome::Check(false).counts(), (0, 1));
        assert!(Outcome::Check(true).passed());
        assert!(!Outcome::Skipped.passed());
    }

    #[test]
    fn browser_tests_run_after_the_build_they_need() {
        for (index, step) in STEPS.iter().enumerate() {
            if let Some(needed) = step.needs {
                let position = STEPS.iter().position(|s| s.name == needed);
                assert!(
                    position.is_some_and(|p| p < index),
                    "`{}` needs `{needed}`, which must come earlier",
                    step.name
                );
            }
        }
    }
}
