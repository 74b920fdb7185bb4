//! `cargo xtask bench [--json]`: the engine's benchmarks against its targets.
//!
//! ```text
//! bench [--json] [--wasm PROBE.wasm]   every metric (wasm only with --wasm)
//! bench --memory-child STEPS           internal: one run in a fresh process,
//!                                      printing its peak RSS growth in KiB
//! ```
//!
//! Metrics: engine events per second natively (the 5-node workload of
//! `lab::workload`, no checkers); the same workload as wasm in Node, timed
//! from JavaScript; seek latency (`Sim::seek_time` and `Sim::seek_step` to
//! random points) at 10^4, 10^5 and 10^6 events, max and p50; and the peak
//! memory of a 10^6-event run with its checkpoints, measured as the growth of
//! the process's peak resident set (VmHWM in /proc/self/status) over its
//! baseline, in a separate process so that nothing else has touched its heap.
//! Last, the app's own path: a 10-minute Raft run (5 and 9 servers, the
//! app's default setup) through `sim::Run`, with seeks to random moments and
//! a step back after each, p95 and max (the browser bench times the same in
//! the app, as wasm, with rendering).

use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::Instant;

use lab::workload::{bench_sim, run_engine};
use protocols::raft::Raft;
use sim::{AnySim, Run, Time, WorldConfig};

const ENGINE_STEPS: u64 = 3_000_000;
const WASM_STEPS: u64 = 1_000_000;
const SEEKS: usize = 40;
const RAFT_SEEKS: usize = 200;

struct Metric {
    name: String,
    value: f64,
    unit: &'static str,
    target: Option<(String, bool)>,
}

fn metric(name: &str, value: f64, unit: &'static str) -> Metric {
    Metric {
        name: name.into(),
        value,
        unit,
        target: None,
    }
}

fn with_target(mut m: Metric, text: &str, pass: bool) -> Metric {
    m.target = Some((text.into(), pass));
    m
}

fn print(m: &Metric, json: bool) {
    if json {
        let target = m.target.as_ref().map_or(String::new(), |(t, pass)| {
            format!(
                ",\"target\":\"{t}\",\"pass\":{pass}",
                t = t.replace('"', "'")
            )
        });
        println!(
            "{{\"name\":\"{}\",\"value\":{},\"unit\":\"{}\"{target}}}",
            m.name, m.value, m.unit
        );
    } else {
        let target = m.target.as_ref().map_or(String::new(), |(t, pass)| {
            format!("  target {t}: {}", if *pass { "PASS" } else { "MISS" })
        });
        println!("{:<34} {:>14.3} {:<10}{target}", m.name, m.value, m.unit);
    }
}

fn native_engine() -> f64 {
    run_engine(50_000); // warm-up
    let start = Instant::now();
    let (taken, _) = run_engine(ENGINE_STEPS);
    assert_eq!(taken, ENGINE_STEPS, "the benchmark world ran dry");
    taken as f64 / start.elapsed().as_secs_f64()
}

/// Runs the probe in Node; returns events per second and checks that the
/// wasm run's trace hash equals the native one.
fn wasm_engine(probe: &Path) -> Result<f64, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wasm-probe/probe.mjs");
    let out = Command::new("node")
        .arg(&script)
        .arg(probe)
        .arg("bench")
        .arg(WASM_STEPS.to_string())
        .output()
        .map_err(|e| format!("could not start node: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "the wasm probe failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let field = |name: &str| -> Option<&str> {
        let at = text.find(&format!("\"{name}\":"))? + name.len() + 3;
        let rest = &text[at..];
        let end = rest.find([',', '}'])?;
        Some(rest[..end].trim_matches('"'))
    };
    let ms: f64 = field("ms")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("unexpected probe output: {text}"))?;
    let hash = field("hash").unwrap_or_default().to_string();
    let native = format!("{:016x}", run_engine(WASM_STEPS).1);
    if hash != native {
        return Err(format!(
            "the wasm run's trace hash {hash} differs from the native {native}"
        ));
    }
    Ok(WASM_STEPS as f64 / (ms / 1_000.0))
}

/// Seek latencies in milliseconds at `events` events: (max, p50).
fn seeks(events: u64) -> (f64, f64) {
    let mut sim = bench_sim(events);
    let end = sim.world().now().0;
    let steps = sim.world().steps();
    let mut x = 0x2545_f491_4f6c_dd1du64 ^ events;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut times = Vec::new();
    for i in 0..SEEKS {
        let r = next();
        let start = Instant::now();
        if i % 2 == 0 {
            sim.seek_time(Time(r % end.max(1)));
        } else {
            sim.seek_step(r % steps.max(1));
        }
        times.push(start.elapsed().as_secs_f64() * 1_000.0);
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() - 1], times[times.len() / 2])
}

/// A 10-minute Raft run of `servers` servers (the app's default setup),
/// then `RAFT_SEEKS` seeks to random moments, each followed by a step back:
/// (steps in the run, seek p95, seek max, step back p95, step back max), in
/// milliseconds.
fn raft_seeks(servers: usize) -> (u64, f64, f64, f64, f64) {
    let mut run = Run::new(Raft::new(servers, 2), WorldConfig::with_seed(1));
    run.seek_time(Time(600_000_000));
    let end = run.now().0;
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let (mut seek, mut back) = (Vec::new(), Vec::new());
    for _ in 0..RAFT_SEEKS {
        let t = Time(next() % end);
        let start = Instant::now();
        run.seek_time(t);
        seek.push(start.elapsed().as_secs_f64() * 1_000.0);
        let start = Instant::now();
        run.step_back();
        back.push(start.elapsed().as_secs_f64() * 1_000.0);
    }
    let p95 = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() * 95 / 100], v[v.len() - 1])
    };
    let (sp, sm) = p95(&mut seek);
    let (bp, bm) = p95(&mut back);
    (run.horizon().0, sp, sm, bp, bm)
}

fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn memory_child(events: u64) -> ExitCode {
    let Some(before) = vm_hwm_kib() else {
        println!("unavailable");
        return ExitCode::SUCCESS;
    };
    let sim = bench_sim(events);
    let after = vm_hwm_kib().unwrap_or(before);
    println!(
        "{} {} {}",
        after.saturating_sub(before),
        sim.checkpoint_count(),
        sim.world().steps()
    );
    ExitCode::SUCCESS
}

fn memory() -> Result<(f64, String), String> {
    let me = std::env::current_exe().map_err(|e| format!("cannot find myself: {e}"))?;
    let out = Command::new(me)
        .args(["--memory-child", "1000000"])
        .output()
        .map_err(|e| format!("could not start the memory run: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let words: Vec<&str> = text.split_whitespace().collect();
    match words.as_slice() {
        [kib, checkpoints, steps] => Ok((
            kib.parse::<f64>()
                .map_err(|_| format!("bad output {text}"))?
                / 1024.0,
            format!("{checkpoints} checkpoints, {steps} steps"),
        )),
        _ => Err(format!(
            "peak memory unavailable (no /proc/self/status?): {text}"
        )),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, n] = args.as_slice() {
        if flag == "--memory-child" {
            return memory_child(n.parse().unwrap_or(1_000_000));
        }
    }
    let mut json = false;
    let mut wasm = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => json = true,
            "--wasm" => match it.next() {
                Some(p) => wasm = Some(p.clone()),
                None => {
                    eprintln!("error: --wasm needs the path of the probe module");
                    return ExitCode::from(2);
                }
            },
            other => {
                eprintln!(
                    "error: unknown argument `{other}`; usage: bench [--json] [--wasm PROBE.wasm]"
                );
                return ExitCode::from(2);
            }
        }
    }
    let mut ok = true;
    if !json {
        println!("workload: {}", lab::workload::DESCRIPTION);
    }
    let native = native_engine();
    print(
        &with_target(
            metric("engine_events_per_sec_native", native, "events/s"),
            ">= 2000000",
            native >= 2e6,
        ),
        json,
    );
    if let Some(probe) = wasm {
        match wasm_engine(Path::new(&probe)) {
            Ok(w) => {
                print(
                    &metric("engine_events_per_sec_wasm_node", w, "events/s"),
                    json,
                );
                let ratio = native / w;
                print(
                    &with_target(
                        metric("wasm_slowdown_vs_native", ratio, "x"),
                        "<= 2",
                        ratio <= 2.0,
                    ),
                    json,
                );
            }
            Err(e) => {
                eprintln!("error: {e}");
                ok = false;
            }
        }
    }
    for (label, events) in [("1e4", 10_000u64), ("1e5", 100_000), ("1e6", 1_000_000)] {
        let (max, p50) = seeks(events);
        let max_m = metric(&format!("seek_max_ms_at_{label}_events"), max, "ms");
        let p50_m = metric(&format!("seek_p50_ms_at_{label}_events"), p50, "ms");
        if events == 1_000_000 {
            print(&with_target(max_m, "<= 20 ms", max <= 20.0), json);
        } else {
            print(&max_m, json);
        }
        print(&p50_m, json);
    }
    match memory() {
        Ok((mib, detail)) => {
            if !json {
                println!("peak memory: growth of VmHWM (process peak RSS) over its baseline, separate process; {detail}");
            }
            print(
                &with_target(
                    metric("peak_memory_mib_1e6_events_vmhwm", mib, "MiB"),
                    "<= 64 MiB",
                    mib <= 64.0,
                ),
                json,
            );
        }
        Err(e) => {
            eprintln!("error: {e}");
            ok = false;
        }
    }
    for servers in [5, 9] {
        let (steps, sp, sm, bp, bm) = raft_seeks(servers);
        if !json {
            println!("raft, {servers} servers, 10 minutes of virtual time ({steps} steps), {RAFT_SEEKS} random seeks, each followed by a step back, natively:");
        }
        for (name, value) in [
            ("seek_p95", sp),
            ("seek_max", sm),
            ("step_back_p95", bp),
            ("step_back_max", bm),
        ] {
            let m = metric(&format!("raft{servers}_10min_{name}_ms"), value, "ms");
            print(&with_target(m, "<= 16.7 ms", value <= 16.7), json);
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
