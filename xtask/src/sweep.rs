//! `cargo xtask sweep`: seed sweeps, run by the `sweep` binary of
//! `crates/lab` in the `lab` profile (optimised, and a panicking seed is
//! reported instead of aborting the sweep). The binary parses and checks the
//! arguments; this module only builds and runs it, and hands on its exit code.
//!
//! [`test_checks`] is the sweep part of `cargo xtask test`.

use std::process::Command;

use crate::{cargo, display, probe, project_root, Result};

/// The `cargo run` command for the lab's `bin` with `args`.
pub fn lab_bin(bin: &str, args: &[&str]) -> Command {
    let mut command = cargo();
    command
        .args([
            "run",
            "--quiet",
            "--profile",
            "lab",
            "--package",
            "lab",
            "--bin",
            bin,
            "--",
        ])
        .args(args);
    if let Some(commit) = probe(Command::new("git").current_dir(project_root()).args([
        "rev-parse",
        "--short",
        "HEAD",
    ])) {
        command.env("CLUSTERSCOPE_COMMIT", commit.trim());
    }
    command
}

pub fn run(args: &[String]) -> Result<()> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut command = lab_bin("sweep", &args);
    println!("$ {}", display(&command));
    let status = command
        .status()
        .map_err(|e| format!("could not start `{}`: {e}", display(&command)))?;
    // The sweep printed its own summary or error; pass its verdict on.
    std::process::exit(status.code().unwrap_or(1))
}

/// Runs a sweep and returns (exit status success, standard output).
fn sweep(args: &[&str]) -> Result<(bool, String)> {
    let mut command = lab_bin("sweep", args);
    println!("$ {}", display(&command));
    let out = command
        .output()
        .map_err(|e| format!("could not start `{}`: {e}", display(&command)))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    if let Some(last) = text.lines().last() {
        println!("{last}");
    }
    Ok((out.status.success(), text))
}

/// The sweep checks of `cargo xtask test`, as (passed, failed):
/// the correct broadcast passes 200 seeds at 3 and at 5 nodes; the
/// `volatile-delivered` toggle is caught as a safety violation; and the
/// first caught seed, rerun alone by its printed command, fails the same way
/// at the same step.
pub fn test_checks() -> Result<(u64, u64)> {
    let (mut passed, mut failed) = (0, 0);
    let mut count = |ok: bool, what: &str| {
        println!("{} {what}", if ok { "ok:" } else { "FAILED:" });
        if ok {
            passed += 1;
        } else {
            failed += 1;
        }
    };
    for nodes in ["3", "5"] {
        let (ok, _) = sweep(&[
            "--protocol",
            "broadcast",
            "--seeds",
            "200",
            "--nodes",
            nodes,
        ])?;
        count(ok, &format!("broadcast passes 200 seeds at {nodes} nodes"));
    }
    let toggled = [
        "--protocol",
        "broadcast",
        "--seeds",
        "200",
        "--nodes",
        "3",
        "--toggle",
        "volatile-delivered",
    ];
    let (ok, text) = sweep(&toggled)?;
    let caught: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("FAILED SEED=") && l.ends_with("safety violation"))
        .collect();
    count(
        !ok && !caught.is_empty(),
        &format!(
            "the volatile-delivered toggle is caught ({} of 200 seeds)",
            caught.len()
        ),
    );
    // Reproduce the first caught seed from its printed command.
    let first_violation = |text: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with("violation:"))
            .map(str::to_owned)
    };
    let reproduce = text
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("reproduce: cargo xtask sweep "))
        .map(str::to_owned);
    match (first_violation(&text), reproduce) {
        (Some(violation), Some(command)) => {
            let args: Vec<&str> = command.split_whitespace().collect();
            let (_, again) = sweep(&args)?;
            let same = first_violation(&again).as_deref() == Some(violation.as_str());
            count(
                same,
                &format!(
                    "`cargo xtask sweep {command}` reproduces `{}`",
                    violation.trim()
                ),
            );
        }
        _ => count(
            false,
            "a caught seed prints its violation and its reproducing command",
        ),
    }
    Ok((passed, failed))
}
