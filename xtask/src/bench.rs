//! `cargo xtask bench [--json] [--engine-only | --browser-only]`: two parts.
//!
//! - The engine: builds the wasm probe (`crates/wasm-probe`, a bare cdylib
//!   for `wasm32-unknown-unknown`) and runs the `bench` binary of
//!   `crates/lab`, which measures the engine natively and, through Node, as
//!   wasm.
//! - The app in the browser: `trunk build --release` into `dist/` (as
//!   `cargo xtask test` does), then `tests/bench/browser-bench.mjs` drives it
//!   in headless Chromium with the GPU off and measures the app's
//!   performance targets (the README's figures):
//!   frame intervals and main-thread busy while playing, no animation loop
//!   while paused, 25 servers with hundreds of messages in flight, seeking
//!   in a 10-minute run, memory over a run, download size and start-up.
//!
//! Every figure is printed beside its target with PASS or MISS, with the
//! load average (timings on a shared machine vary; they are never asserted
//! in tests). `--json` prints one JSON object per metric.
//!
//! [`wasm_hash_check`] is the native-versus-wasm trace-hash test of
//! `cargo xtask test`.

use std::path::PathBuf;
use std::process::Command;

use crate::sweep::lab_bin;
use crate::{announce, cargo, display, dist, install, project_root, run_cmd, Result};

/// Builds the wasm probe and returns the path of the module.
fn build_probe() -> Result<PathBuf> {
    run_cmd(cargo().args([
        "build",
        "--quiet",
        "--profile",
        "lab",
        "--target",
        "wasm32-unknown-unknown",
        "--package",
        "wasm-probe",
    ]))?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| project_root().join("target"));
    Ok(target.join("wasm32-unknown-unknown/lab/wasm_probe.wasm"))
}

pub fn run(args: &[String]) -> Result<()> {
    let (mut json, mut engine, mut browser) = (false, true, true);
    for a in args {
        match a.as_str() {
            "--json" => json = true,
            "--engine-only" => browser = false,
            "--browser-only" => engine = false,
            other => {
                let known = "--json, --engine-only and --browser-only";
                return Err(format!("`cargo xtask bench` takes {known}, got `{other}`"));
            }
        }
    }
    if engine {
        let mut bench_args: Vec<String> = Vec::new();
        if json {
            bench_args.push("--json".into());
        }
        let probe = build_probe()?;
        bench_args.push("--wasm".into());
        bench_args.push(probe.to_string_lossy().into_owned());
        let args: Vec<&str> = bench_args.iter().map(String::as_str).collect();
        run_cmd(&mut lab_bin("bench", &args))?;
    }
    if browser {
        browser_bench(json)?;
    }
    Ok(())
}

/// The release build in headless Chromium: `tests/bench/browser-bench.mjs`.
fn browser_bench(json: bool) -> Result<()> {
    let tools = install::ensure(install::Browser::Needed)?;
    dist::build_release(&tools)?;
    if !json {
        announce("The app in headless Chromium (GPU off), against its targets");
    }
    let mut node = tools.command("node");
    node.arg("tests/bench/browser-bench.mjs");
    if json {
        node.arg("--json");
    }
    run_cmd(&mut node)
}

const HASH_SEEDS: [&str; 6] = ["0", "1", "2", "3", "30", "12345"];

/// Runs the same sweep seeds (broadcast with generated faults, at 3 and 5
/// nodes) natively and as wasm in Node, and compares the trace hashes.
/// Returns (passed, failed), one check per node count.
pub fn wasm_hash_check() -> Result<(u64, u64)> {
    let probe = build_probe()?;
    let script = project_root().join("crates/wasm-probe/probe.mjs");
    let (mut passed, mut failed) = (0, 0);
    for nodes in ["3", "5"] {
        let mut native = Vec::new();
        for seed in HASH_SEEDS {
            let mut command = lab_bin(
                "sweep",
                &[
                    "--protocol",
                    "broadcast",
                    "--seeds",
                    "1",
                    "--start-seed",
                    seed,
                    "--nodes",
                    nodes,
                    "--hashes",
                ],
            );
            let out = command
                .output()
                .map_err(|e| format!("could not start `{}`: {e}", display(&command)))?;
            let text = String::from_utf8_lossy(&out.stdout);
            let hash = text
                .lines()
                .find_map(|l| l.strip_prefix(&format!("seed {seed} hash ")))
                .and_then(|rest| rest.split_whitespace().next())
                .ok_or_else(|| format!("no hash for seed {seed} in: {text}"))?;
            native.push(format!("{seed} {hash}"));
        }
        let mut node = Command::new("node");
        node.arg(&script)
            .arg(&probe)
            .arg("hash")
            .arg(nodes)
            .args(HASH_SEEDS);
        println!("$ {}", display(&node));
        let out = node
            .output()
            .map_err(|e| format!("could not start `{}`: {e}", display(&node)))?;
        let wasm: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        let same = out.status.success() && wasm == native;
        println!(
            "{} trace hashes of broadcast sweep seeds at {nodes} nodes, native versus wasm in Node",
            if same { "ok: equal" } else { "FAILED: differ:" }
        );
        if !same {
            println!("  native: {native:?}\n  wasm:   {wasm:?}");
            eprint!("{}", String::from_utf8_lossy(&out.stderr));
            failed += 1;
        } else {
            passed += 1;
        }
    }
    Ok((passed, failed))
}
