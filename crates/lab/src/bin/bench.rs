//! `cargo xtask bench [--json]`: the engine's benchmarks against its targets.
//!
//! ```text
//! bench [--json] [--wasm PROBE.wasm]   every metric (wasm only with --wasm)
//! bench --linearizability [--json]     the linearizability checker's only
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
//!
//! And the linearizability checker: Porcupine's published histories
//! (`crates/protocols/testdata/porcupine`), each decided with Porcupine's
//! verdict, beside the times Porcupine itself took on this 2-core machine
//! (its targets); 100,000 sequential operations on one key; and the Raft
//! checker (R1-R8, the live linearizability check among them) over a
//! 10-minute run whose five clients are never idle, per completed
//! operation.

use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::Instant;

use lab::workload::{bench_sim, run_engine};
use protocols::kv::KvOp;
use protocols::linearizability::formats::{parse_jepsen_cas_log, parse_kv_log, Logged};
use protocols::linearizability::{check_logged, CasRegister, Feed, Kv, KvInput, Verdict};
use protocols::raft::{Raft, RaftChecker, RaftNode, RaftObs, RaftOp};
use sim::{AnySim, Checkers, Input, NodeId, Run, Time, World, WorldConfig};

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

/// The median of `runs` timings of `f`, in milliseconds, and its result.
fn timed<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut times = Vec::new();
    let mut out = None;
    for _ in 0..runs {
        let start = Instant::now();
        out = Some(f());
        times.push(start.elapsed().as_secs_f64() * 1_000.0);
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], out.expect("at least one run"))
}

fn porcupine_file(path: &str) -> Result<String, String> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../protocols/testdata/porcupine")
        .join(path);
    std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))
}

/// Far more than any published history needs; one that is not decided
/// within it is reported, not waited for.
const LIN_BUDGET: u64 = 500_000_000;

/// Porcupine's key-value histories: (name, median ms, decided as Porcupine
/// decides it).
fn lin_kv() -> Result<Vec<(String, f64, bool)>, String> {
    let mut out = Vec::new();
    for name in [
        "c01-ok", "c01-bad", "c10-ok", "c10-bad", "c50-ok", "c50-bad",
    ] {
        let events = parse_kv_log(&porcupine_file(&format!("kv/{name}.txt"))?)
            .map_err(|e| format!("{name}: {e}"))?;
        let expected = if name.ends_with("ok") {
            Verdict::Linearizable
        } else {
            Verdict::NotLinearizable
        };
        let (ms, verdict) = timed(5, || check_logged(&Kv, &events, LIN_BUDGET, Feed::Whole));
        out.push((name.to_string(), ms, verdict? == expected));
    }
    Ok(out)
}

/// The etcd histories Porcupine's tests judge linearizable.
const ETCD_OK: &[u32] = &[
    2, 5, 7, 18, 25, 31, 38, 45, 48, 49, 51, 53, 56, 67, 75, 76, 80, 87, 92, 98, 100, 101, 102,
];

/// Every Jepsen etcd history: (the slowest one's name and median ms, how
/// many were decided as Porcupine decides them, how many there are).
fn lin_etcd() -> Result<(String, f64, usize, usize), String> {
    let (mut slowest, mut slowest_ms, mut right, mut all) = (String::new(), 0.0, 0, 0);
    for n in (0..=102u32).filter(|&n| n != 95) {
        let name = format!("etcd_{n:03}");
        let events = parse_jepsen_cas_log(&porcupine_file(&format!("jepsen/{name}.log"))?)
            .map_err(|e| format!("{name}: {e}"))?;
        let expected = if ETCD_OK.contains(&n) {
            Verdict::Linearizable
        } else {
            Verdict::NotLinearizable
        };
        let (ms, verdict) = timed(3, || {
            check_logged(&CasRegister, &events, LIN_BUDGET, Feed::Whole)
        });
        all += 1;
        if verdict? == expected {
            right += 1;
        }
        if ms > slowest_ms {
            (slowest, slowest_ms) = (name, ms);
        }
    }
    Ok((slowest, slowest_ms, right, all))
}

/// 100,000 sequential operations on one key by one client (puts, appends
/// and reads, each answered truly), fed whole: median ms and the verdict.
fn lin_sequential() -> (f64, Verdict) {
    let mut events = Vec::new();
    let mut value = String::new();
    for i in 0..100_000u64 {
        let (input, output) = match i % 3 {
            0 => {
                value = format!("{}", i % 10);
                (KvInput::Put(value.clone()), Some(value.clone()))
            }
            1 => {
                value.push_str("ab");
                (KvInput::Append("ab".into()), Some(value.clone()))
            }
            _ => (KvInput::Get, Some(value.clone())),
        };
        events.push(Logged::Call {
            process: 1,
            key: "x".into(),
            input,
        });
        events.push(Logged::Return { process: 1, output });
    }
    let (ms, v) = timed(5, || check_logged(&Kv, &events, LIN_BUDGET, Feed::Whole));
    (ms, v.expect("well-formed"))
}

/// Raft's checker over a 10-minute run of 5 servers and 5 clients that
/// always have requests queued: (completed operations, checker ms per
/// completed operation, the share of the run's time spent in it).
fn lin_live() -> (u64, f64, f64) {
    let raft = Raft::new(5, 5);
    let clients: Vec<NodeId> = (5..10).map(NodeId).collect();
    let mut world = World::new(raft, WorldConfig::with_seed(3));
    let mut checkers: Checkers<Raft> = Checkers::new(vec![Box::new(RaftChecker::new())]);
    let (mut in_checker, mut completed, mut n) = (0.0f64, 0u64, 0u64);
    let started = Instant::now();
    let mut next_load = Time(0);
    let end = Time(600_000_000);
    loop {
        let now = world.now();
        if now >= next_load {
            // Keep every client's queue topped up: saturating load.
            for &c in &clients {
                if let Some(RaftNode::Client(client)) = world.node(c) {
                    for _ in client.queued()..4 {
                        n += 1;
                        let key = ["x", "y", "z"][(n % 3) as usize].to_string();
                        let op = match n % 3 {
                            0 => KvOp::Get { key },
                            1 => KvOp::Put {
                                key,
                                value: n.to_string(),
                            },
                            _ => KvOp::Append {
                                key,
                                value: format!("{n},"),
                            },
                        };
                        // An input is a step of its own: the checker sees it.
                        if world
                            .apply(Input::Request {
                                node: c,
                                op: RaftOp::Kv(op),
                            })
                            .is_ok()
                        {
                            let record = world.last_record().expect("an input is a step");
                            let start = Instant::now();
                            checkers.observe(record, &world);
                            in_checker += start.elapsed().as_secs_f64() * 1_000.0;
                        }
                    }
                }
            }
            next_load = now + sim::Duration::from_ms(10);
        }
        if now >= end || world.run_until(next_load.min(end), 1).steps == 0 {
            if now >= end {
                break;
            }
            continue;
        }
        let record = world.last_record().expect("a step was taken");
        completed += record
            .out
            .observations()
            .iter()
            .filter(|o| matches!(o, RaftObs::Completed { .. }))
            .count() as u64;
        let start = Instant::now();
        checkers.observe(record, &world);
        in_checker += start.elapsed().as_secs_f64() * 1_000.0;
    }
    assert!(
        checkers.violations().is_empty(),
        "{:?}",
        checkers.violations()
    );
    assert!(
        checkers.undecided().is_empty(),
        "{:?}",
        checkers.undecided()
    );
    let total = started.elapsed().as_secs_f64() * 1_000.0;
    (
        completed,
        in_checker / completed.max(1) as f64,
        in_checker / total,
    )
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

/// The linearizability metrics; false if one could not be measured.
fn linearizability(json: bool) -> bool {
    let mut ok = true;
    if !json {
        println!("linearizability: Porcupine's histories fed whole (median of 5; etcd of 3), targets Porcupine's own times here:");
    }
    match lin_kv() {
        Ok(rows) => {
            for (name, ms, right) in rows {
                let target = match name.as_str() {
                    "c50-ok" => 180.0,
                    "c50-bad" => 30.0,
                    _ => 1.0,
                };
                let m = metric(&format!("lin_kv_{}_ms", name.replace('-', "_")), ms, "ms");
                print(
                    &with_target(
                        m,
                        &format!("Porcupine's verdict, <= {target} ms"),
                        right && ms <= target,
                    ),
                    json,
                );
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ok = false;
        }
    }
    match lin_etcd() {
        Ok((slowest, ms, right, all)) => {
            print(
                &with_target(
                    metric("lin_etcd_decided_as_porcupine", right as f64, "histories"),
                    &format!("all {all}"),
                    right == all,
                ),
                json,
            );
            if !json {
                println!("slowest etcd history: {slowest}");
            }
            print(
                &with_target(
                    metric("lin_etcd_slowest_ms", ms, "ms"),
                    "<= 190 ms",
                    ms <= 190.0,
                ),
                json,
            );
        }
        Err(e) => {
            eprintln!("error: {e}");
            ok = false;
        }
    }
    let (ms, verdict) = lin_sequential();
    print(
        &with_target(
            metric("lin_sequential_100k_ops_ms", ms, "ms"),
            "linearizable, <= 1000 ms",
            verdict == Verdict::Linearizable && ms <= 1_000.0,
        ),
        json,
    );
    let (completed, per_op, share) = lin_live();
    if !json {
        println!("raft checker (R1-R8) over 10 minutes, 5 servers, 5 clients never idle: {completed} operations completed, {:.1} % of the run's time in the checker", share * 100.0);
    }
    print(
        &with_target(
            metric("lin_live_raft_checker_ms_per_op", per_op, "ms"),
            "<= 1 ms",
            per_op <= 1.0,
        ),
        json,
    );
    ok
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, n] = args.as_slice() {
        if flag == "--memory-child" {
            return memory_child(n.parse().unwrap_or(1_000_000));
        }
    }
    let mut json = false;
    let mut lin_only = false;
    let mut wasm = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => json = true,
            "--linearizability" => lin_only = true,
            "--wasm" => match it.next() {
                Some(p) => wasm = Some(p.clone()),
                None => {
                    eprintln!("error: --wasm needs the path of the probe module");
                    return ExitCode::from(2);
                }
            },
            other => {
                eprintln!(
                    "error: unknown argument `{other}`; usage: bench [--json] [--linearizability] [--wasm PROBE.wasm]"
                );
                return ExitCode::from(2);
            }
        }
    }
    if lin_only {
        return if linearizability(json) {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
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
    ok &= linearizability(json);
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
