//! `cargo xtask sweep`: seed sweeps of a protocol under generated faults.
//!
//! ```text
//! sweep --protocol P --seeds N [--start-seed S] [--nodes K] [--toggle NAME]
//!       [--threads T] [--hashes] [--trace]
//! ```
//!
//! Each failing seed prints `SEED=...`, the commit (from
//! `CLUSTERSCOPE_COMMIT`, which `cargo xtask sweep` sets), its fault
//! parameters, what broke, the command that reproduces it, and a link that
//! opens the same run in the app at the moment it failed (based at
//! `CLUSTERSCOPE_APP_URL`, default `cargo xtask serve`'s address). Each
//! seed also draws the protocol's options ([`Sweepable::with_options`]);
//! a failing seed prints them after its fault parameters, and the link and
//! the command reproduce them, since they follow from the seed. One
//! `options:` line per option says how many seeds ran each value, and the
//! last line sums up the sweep; the exit code is non-zero if any seed
//! failed.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use lab::{sweep_fragment, with_protocol, Visit, APP_URL, IN_THE_APP, PROTOCOLS};
use sim::sweep::{run_seed_traced, sweep, Failure, SeedOutcome, Sweepable};
use sim::{NodeOf, StepRecord, World};

const USAGE: &str = "\
usage: cargo xtask sweep --protocol P --seeds N [--start-seed S] [--nodes K] [--toggle NAME]
                         [--threads T] [--hashes] [--trace]

  --protocol P      the protocol to sweep (one of: PROTOCOLS)
  --seeds N         how many seeds to run (at least 1)
  --start-seed S    the first seed (default 0)
  --nodes K         how many servers (default 3)
  --toggle NAME     switch on one of the protocol's teaching toggles (deliberate bugs)
  --threads T       worker threads (default: every core)
  --hashes          also print each seed's trace hash (`seed S hash H`)
  --trace           print every step of every seed (one thread; for a single failing seed)
";

#[derive(Debug, PartialEq, Eq)]
struct Args {
    protocol: String,
    seeds: u64,
    start: u64,
    nodes: usize,
    toggle: Option<String>,
    threads: usize,
    hashes: bool,
    trace: bool,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut protocol = None;
    let mut seeds = None;
    let mut start = 0u64;
    let mut nodes = 3usize;
    let mut toggle = None;
    let mut threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut hashes = false;
    let mut trace = false;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = |what: &str| {
            it.next()
                .filter(|v| !v.starts_with("--"))
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value ({what})"))
        };
        fn number<T: std::str::FromStr>(flag: &str, text: &str, what: &str) -> Result<T, String> {
            text.parse()
                .map_err(|_| format!("{flag} takes {what}, not `{text}`"))
        }
        match flag.as_str() {
            "--protocol" => protocol = Some(value("a protocol name")?),
            "--seeds" => {
                let n: u64 = number(flag, &value("a count")?, "a whole number of seeds")?;
                if n == 0 {
                    return Err("--seeds must be at least 1".into());
                }
                seeds = Some(n);
            }
            "--start-seed" => start = number(flag, &value("a seed")?, "a seed from 0 to 2^64-1")?,
            "--nodes" => nodes = number(flag, &value("a count")?, "a whole number of servers")?,
            "--toggle" => toggle = Some(value("a toggle name")?),
            "--threads" => {
                threads = number(flag, &value("a count")?, "a whole number of threads")?;
                if threads == 0 {
                    return Err("--threads must be at least 1".into());
                }
            }
            "--hashes" => hashes = true,
            "--trace" => trace = true,
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    let protocol = protocol.ok_or("--protocol is required")?;
    let seeds = seeds.ok_or("--seeds is required")?;
    if start.checked_add(seeds).is_none() {
        return Err(format!(
            "--start-seed {start} plus --seeds {seeds} runs past the largest seed, 2^64-1"
        ));
    }
    Ok(Args {
        protocol,
        seeds,
        start,
        nodes,
        toggle,
        threads,
        hashes,
        trace,
    })
}

/// The command that reruns exactly one seed.
fn reproduce(args: &Args, seed: u64) -> String {
    let mut cmd = format!(
        "cargo xtask sweep --protocol {} --seeds 1 --start-seed {seed} --nodes {}",
        args.protocol, args.nodes
    );
    if let Some(t) = &args.toggle {
        cmd.push_str(&format!(" --toggle {t}"));
    }
    cmd
}

fn print_failure(args: &Args, o: &SeedOutcome, failure: &Failure) {
    let toggle = args
        .toggle
        .as_deref()
        .map_or(String::new(), |t| format!(", toggle {t}"));
    println!(
        "\nFAILED SEED={} ({}, {} nodes{toggle}): {}",
        o.seed,
        args.protocol,
        args.nodes,
        failure.kind()
    );
    if let Ok(commit) = std::env::var("CLUSTERSCOPE_COMMIT") {
        println!("  commit: {commit}");
    }
    println!("  fault parameters:");
    for line in o.params.to_string().lines() {
        println!("    {line}");
    }
    if !o.options.is_empty() {
        let options: Vec<String> = o.options.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("  options: {}", options.join(" "));
    }
    for line in failure.to_string().lines() {
        println!("  {line}");
    }
    println!(
        "  after {} steps and {} inputs, at {}; trace hash {:016x}",
        o.steps, o.inputs, o.end, o.trace_hash
    );
    println!("  reproduce: {}", reproduce(args, o.seed));
    if let Some(url) = app_url(args, o) {
        println!("  open in the app: {url}");
    }
}

/// The link that opens seed `o` in the app, if the app has the protocol.
fn app_url(args: &Args, o: &SeedOutcome) -> Option<String> {
    if !IN_THE_APP.contains(&args.protocol.as_str()) {
        return None;
    }
    let base = std::env::var("CLUSTERSCOPE_APP_URL").unwrap_or_else(|_| APP_URL.to_string());
    let fragment = sweep_fragment(&args.protocol, args.nodes, args.toggle.as_deref(), o);
    Some(format!("{base}#{fragment}"))
}

struct Run<'a>(&'a Args);

impl Visit for Run<'_> {
    type Output = Result<ExitCode, String>;

    fn visit<P: Sweepable>(self) -> Self::Output {
        let args = self.0;
        let started = Instant::now();
        let done = AtomicU64::new(0);
        let progress = |_: &SeedOutcome| {
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            if n % 1_000 == 0 {
                eprintln!("  {n} of {} seeds done", args.seeds);
            }
        };
        let seeds = args.start..args.start + args.seeds;
        let outcomes = if args.trace {
            traced::<P>(args, seeds)?
        } else {
            sweep::<P>(
                args.nodes,
                args.toggle.as_deref(),
                seeds,
                args.threads,
                &progress,
            )?
        };
        let seconds = started.elapsed().as_secs_f64();
        let (mut safety, mut liveness, mut other, mut undecided) = (0u64, 0u64, 0u64, 0u64);
        for o in &outcomes {
            if args.hashes {
                println!(
                    "seed {} hash {:016x} steps {}",
                    o.seed, o.trace_hash, o.steps
                );
            }
            if let Err(f) = &o.result {
                match f {
                    Failure::Safety(_) => safety += 1,
                    Failure::Liveness(_) => liveness += 1,
                    Failure::Panic(_) | Failure::Refused(_) => other += 1,
                }
                print_failure(args, o, f);
            }
            if !o.undecided.is_empty() {
                undecided += 1;
                for u in &o.undecided {
                    println!("seed {}: {} undecided: {}", o.seed, u.rule, u.message);
                }
                println!("  reproduce: {}", reproduce(args, o.seed));
            }
        }
        let steps: u64 = outcomes.iter().map(|o| o.steps).sum();
        let toggle = args
            .toggle
            .as_deref()
            .map_or(String::new(), |t| format!(", toggle {t}"));
        let lines = coverage(&outcomes);
        if !lines.is_empty() {
            println!();
        }
        for line in lines {
            println!("{line}");
        }
        println!(
            "\n{} seeds run ({}, {} nodes{toggle}, seeds {}..={}): {safety} safety violations, \
             {liveness} liveness failures, {other} panics or refused inputs, \
             {undecided} with an undecided check; \
             {:.1} seeds/s, {:.2} M steps/s on {} threads",
            outcomes.len(),
            args.protocol,
            args.nodes,
            args.start,
            args.start + args.seeds - 1,
            outcomes.len() as f64 / seconds,
            steps as f64 / seconds / 1e6,
            args.threads
        );
        // An undecided check is a gap in what the sweep can vouch for, so
        // it fails the sweep as a broken rule would.
        Ok(if safety + liveness + other + undecided == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}

/// How many seeds ran each value of each option, one line per option in
/// the order the protocol lists them (`options: acks: 0=3312 1=3350
/// all=3338`), so that a sweep shows what its configurations covered.
fn coverage(outcomes: &[SeedOutcome]) -> Vec<String> {
    let mut names: Vec<&'static str> = Vec::new();
    let mut counts: std::collections::BTreeMap<(&str, &str), u64> = Default::default();
    for o in outcomes {
        for (name, value) in &o.options {
            if !names.contains(name) {
                names.push(name);
            }
            *counts.entry((name, value.as_str())).or_default() += 1;
        }
    }
    names
        .iter()
        .map(|name| {
            let values: Vec<String> = counts
                .iter()
                .filter(|((n, _), _)| n == name)
                .map(|((_, v), c)| format!("{v}={c}"))
                .collect();
            format!("options: {name}: {}", values.join(" "))
        })
        .collect()
}

/// Runs `seeds` one after another on this thread, printing every step as
/// the event log shows it (with the protocol's notes and milestones).
fn traced<P: Sweepable>(
    args: &Args,
    seeds: std::ops::Range<u64>,
) -> Result<Vec<SeedOutcome>, String> {
    let protocol = std::rc::Rc::new(P::for_sweep(args.nodes, args.toggle.as_deref())?);
    let mut outcomes = Vec::new();
    for seed in seeds {
        println!("seed {seed}:");
        let mut print = |record: &StepRecord<NodeOf<P>>, _: &World<P>| {
            println!("{:>12}  {}", record.time.to_string(), record.headline());
            for note in record.out.notes() {
                println!("    {note}");
            }
            for m in record.out.milestones() {
                println!("    * {}", m.text);
            }
        };
        outcomes.push(run_seed_traced(&protocol, seed, Some(&mut print)));
    }
    Ok(outcomes)
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.iter().any(|a| a == "-h" || a == "--help") {
        print!("{}", USAGE.replace("PROTOCOLS", &PROTOCOLS.join(", ")));
        return ExitCode::SUCCESS;
    }
    let result = parse(&argv).and_then(|args| with_protocol(&args.protocol, Run(&args))?);
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            eprintln!("(`cargo xtask sweep --help` shows the usage)");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Result<Args, String> {
        parse(&s.split_whitespace().map(String::from).collect::<Vec<_>>())
    }

    #[test]
    fn parses_a_full_command_line() {
        let a =
            args("--protocol broadcast --seeds 10 --start-seed 7 --nodes 5 --toggle x --threads 3")
                .unwrap();
        assert_eq!(
            a,
            Args {
                protocol: "broadcast".into(),
                seeds: 10,
                start: 7,
                nodes: 5,
                toggle: Some("x".into()),
                threads: 3,
                hashes: false,
                trace: false,
            }
        );
        assert_eq!(
            reproduce(&a, 42),
            "cargo xtask sweep --protocol broadcast --seeds 1 --start-seed 42 --nodes 5 --toggle x"
        );
    }

    #[test]
    fn bad_arguments_get_specific_messages() {
        let err = |s: &str| args(s).unwrap_err();
        assert_eq!(err("--seeds 3"), "--protocol is required");
        assert_eq!(err("--protocol broadcast"), "--seeds is required");
        assert!(err("--protocol broadcast --seeds -1").contains("whole number of seeds, not `-1`"));
        assert!(err("--protocol broadcast --seeds ten").contains("not `ten`"));
        assert_eq!(
            err("--protocol broadcast --seeds 0"),
            "--seeds must be at least 1"
        );
        assert!(err("--protocol broadcast --seeds 1 --frob").contains("unknown argument `--frob`"));
        assert!(
            err("--protocol broadcast --seeds 2 --start-seed 18446744073709551615")
                .contains("past the largest seed")
        );
        assert!(err("--protocol broadcast --seeds 1 --nodes").contains("--nodes needs a value"));
    }

    #[test]
    fn a_failing_raft_seed_links_to_the_app_and_a_broadcast_seed_does_not() {
        let outcome = SeedOutcome {
            seed: 5,
            params: sim::sweep::FaultParams::draw(5, sim::Duration::from_ms(300)),
            options: Vec::new(),
            result: Ok(()),
            undecided: Vec::new(),
            steps: 8121,
            inputs: 40,
            end: sim::Time(2_170_041),
            trace_hash: 0x0123_4567_89ab_cdef,
        };
        let a =
            args("--protocol raft --seeds 10 --nodes 3 --toggle skip-up-to-date-check").unwrap();
        assert_eq!(
            app_url(&a, &outcome).unwrap(),
            format!(
                "{}#v=1&p=raft&n=3&seed=5&sweep=1&tog=skip-up-to-date-check&t=2170.041&s=8121&h=0123456789abcdef",
                std::env::var("CLUSTERSCOPE_APP_URL").unwrap_or(APP_URL.into())
            )
        );
        let b = args("--protocol broadcast --seeds 10").unwrap();
        assert_eq!(app_url(&b, &outcome), None);
    }

    #[test]
    fn unknown_protocols_and_toggles_are_refused_with_the_choices() {
        let e = with_protocol("zab", Run(&args("--protocol zab --seeds 1").unwrap())).unwrap_err();
        assert!(
            e.contains("unknown protocol `zab`") && e.contains("broadcast"),
            "{e}"
        );
        let a = args("--protocol broadcast --seeds 1 --toggle nope").unwrap();
        let e = with_protocol("broadcast", Run(&a)).unwrap().unwrap_err();
        assert!(
            e.contains("no toggle `nope`") && e.contains("volatile-delivered"),
            "{e}"
        );
        let a = args("--protocol broadcast --seeds 1 --nodes 1").unwrap();
        let e = with_protocol("broadcast", Run(&a)).unwrap().unwrap_err();
        assert!(e.contains("2 to 32 servers"), "{e}");
    }
}
