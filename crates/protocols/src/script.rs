//! Data-driven scenario scripts, in the style of etcd-io/raft's testdata.
//!
//! A script file is a sequence of blocks. Each block is one command line, a
//! `----` line, and the expected output: the readable trace the command
//! produced, one line per step (`StepRecord::headline()`), with the step's
//! notes, milestones and any violation indented under it. Comment lines
//! (`#`) and blank lines between blocks are kept as they are. Running a
//! script compares every block's output with the file; with the environment
//! variable `REWRITE=1` set, the file is rewritten with the actual output
//! instead, so a reviewer reads the change as a diff.
//!
//! The commands are the same for every protocol; a protocol plugs in by
//! implementing [`Scripted`]:
//!
//! ```text
//! setup servers=3 clients=1 seed=7 latency=10..30   (the protocol reads its own keys)
//! run 300ms [quiet]            run for a while; `quiet` prints only inputs,
//!                              milestones and violations
//! stabilize 2000ms [quiet]     run until the protocol says it has settled, at most this long
//! crash n1 | restart n1 | pause n1 | resume n1
//! partition n1 n2 | n3 n4 n5   symmetric; `partition n1 -/-> n2 n3` for one way
//! isolate n1 [in|out]          cut a node off (both ways, or incoming / outgoing only)
//! cut n1 n2 | heal n1 n2       one directed link; `heal` alone heals everything
//! delay n1 n2 500ms | undelay n1 n2   hold back messages on one directed link
//! request n4 <operation>       hand an operation to a node (the protocol parses it)
//! status                       the protocol's summary of every node
//! violations                   every violation so far
//! finish                       the checkers' end-of-run verdicts now (a queue's final drain)
//! drain [quiet]                end every fault, wait until the cluster settles, then
//!                              the end-of-run verdicts: what the app's "Drain and check" does
//! ```
//!
//! Any other command is offered to the protocol ([`Scripted::command`]).

use sim::sorted::SortedMap;
use std::fmt::Write as _;

use sim::{
    Checkers, Direction, Duration, Input, InputRecord, Latency, LinkParams, Liveness, NodeId, OpOf,
    PartitionKind, Rule, StepRecord, Sweepable, World, WorldConfig,
};

/// The liveness monitor's name in scripts (it reports no violations; a
/// `drain` waits for it).
const LIVENESS: Rule = Rule {
    id: "L",
    name: "Liveness",
    description: "The cluster settles once its faults end.",
};

/// A protocol that scenario scripts can drive.
pub trait Scripted: Sweepable {
    /// The protocol configured by a `setup` line's `key=value` pairs (the
    /// runner takes `seed` and `latency` itself and passes the rest).
    fn from_setup(args: &SortedMap<String, String>) -> Result<Self, String>;
    /// Parses the operation words of `request <node> <words...>`.
    fn parse_op(&self, words: &[&str]) -> Result<OpOf<Self>, String>;
    /// A protocol-specific command, such as Raft's `campaign n1`; `None` if
    /// the protocol does not know it.
    fn command(&self, name: &str, args: &[&str]) -> Option<Result<Input<OpOf<Self>>, String>>;
    /// One line per node for `status`.
    fn status(world: &World<Self>) -> Vec<String>;
    /// Whether the run has settled, for `stabilize`.
    fn settled(world: &World<Self>) -> bool;
}

/// The most steps one command may take, so that a livelock cannot hang a test.
pub const MAX_STEPS_PER_COMMAND: u64 = 200_000;

/// Parses `n3` as the node with id 2 (people count nodes from 1).
pub fn parse_node(word: &str) -> Result<NodeId, String> {
    word.strip_prefix('n')
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|&n| n >= 1)
        .map(|n| NodeId(n - 1))
        .ok_or_else(|| format!("\"{word}\" is not a node name such as n1"))
}

/// Parses `300ms`, `2s` or `300` (milliseconds).
pub fn parse_duration(word: &str) -> Result<Duration, String> {
    let (num, scale) = if let Some(n) = word.strip_suffix("ms") {
        (n, 1_000)
    } else if let Some(n) = word.strip_suffix('s') {
        (n, 1_000_000)
    } else {
        (word, 1_000)
    };
    num.parse::<u64>()
        .map(|n| Duration(n * scale))
        .map_err(|_| format!("\"{word}\" is not a duration such as 300ms"))
}

/// A running script: the world, its checkers, and how many violations have
/// been printed already.
pub struct Runner<P: Scripted> {
    world: Option<World<P>>,
    /// The `setup` line's key=value pairs, as written.
    setup_args: SortedMap<String, String>,
    /// Every input applied since `setup`, where and when: with the setup,
    /// enough to replay the run anywhere (the app opens scenarios this way).
    inputs: Vec<InputRecord<OpOf<P>>>,
    checkers: Option<Checkers<P>>,
    printed: usize,
    milestones: SortedMap<&'static str, u64>,
    last_settled: Option<bool>,
}

impl<P: Scripted> Default for Runner<P> {
    fn default() -> Self {
        Runner {
            world: None,
            setup_args: SortedMap::new(),
            inputs: Vec::new(),
            checkers: None,
            printed: 0,
            milestones: SortedMap::new(),
            last_settled: None,
        }
    }
}

/// Whether a run stops early once the protocol has settled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Settle {
    Yes,
    No,
}

/// How much of each step a trace shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verbosity {
    /// Every step with its notes.
    Full,
    /// Only inputs, milestones and violations.
    Quiet,
}

impl<P: Scripted> Runner<P> {
    /// A runner with no world yet (the first command must be `setup`).
    pub fn new() -> Runner<P> {
        Runner::default()
    }

    /// The world, after `setup`.
    pub fn world(&self) -> Option<&World<P>> {
        self.world.as_ref()
    }

    /// The checkers, after `setup`.
    pub fn checkers(&self) -> Option<&Checkers<P>> {
        self.checkers.as_ref()
    }

    /// How many milestones of each kind the run has recorded since `setup`.
    pub fn milestones(&self) -> &SortedMap<&'static str, u64> {
        &self.milestones
    }

    /// The `setup` line's key=value pairs.
    pub fn setup_args(&self) -> &SortedMap<String, String> {
        &self.setup_args
    }

    /// Every input applied since `setup`, with its step and time.
    pub fn input_log(&self) -> &[InputRecord<OpOf<P>>] {
        &self.inputs
    }

    /// Whether the last `stabilize` settled (`None` before any).
    pub fn last_settled(&self) -> Option<bool> {
        self.last_settled
    }

    /// Runs one command line and returns its output lines.
    pub fn run_command(&mut self, line: &str) -> Result<Vec<String>, String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some((&name, args)) = words.split_first() else {
            return Ok(Vec::new());
        };
        if name == "setup" {
            return self.setup(args);
        }
        let Some(world) = self.world.as_ref() else {
            return Err("the first command must be `setup`".to_string());
        };
        let verbosity = if args.last() == Some(&"quiet") {
            Verbosity::Quiet
        } else {
            Verbosity::Full
        };
        let mut out = Vec::new();
        let node = |i: usize| -> Result<NodeId, String> {
            args.get(i)
                .ok_or_else(|| format!("`{name}` needs a node"))
                .and_then(|w| parse_node(w))
        };
        let input = match name {
            "run" | "stabilize" => {
                let d = parse_duration(args.first().ok_or("`run` needs a duration")?)?;
                let settle = if name == "stabilize" {
                    Settle::Yes
                } else {
                    Settle::No
                };
                self.run_for(d, settle, verbosity, &mut out);
                return Ok(out);
            }
            "status" => return Ok(P::status(world)),
            "violations" => {
                let v = self.checkers.as_ref().expect("set up").violations();
                if v.is_empty() {
                    return Ok(vec!["no violations".to_string()]);
                }
                return Ok(v.iter().map(|v| v.to_string()).collect());
            }
            "finish" => {
                let checkers = self.checkers.as_mut().expect("set up");
                checkers.finish(world);
                let new = &checkers.violations()[self.printed..];
                self.printed = checkers.violations().len();
                if new.is_empty() {
                    return Ok(vec!["nothing found at the end".to_string()]);
                }
                return Ok(new
                    .iter()
                    .map(|v| format!("    !! {}: {}", v.rule, v.message))
                    .collect());
            }
            "drain" => {
                let found_before = self.checkers.as_ref().expect("set up").violations().len();
                let ends = sim::ending_every_fault(world);
                for input in ends {
                    self.apply(input, &mut out)?;
                }
                self.apply(Input::Drain, &mut out)?;
                self.run_to_drained(found_before, verbosity, &mut out);
                return Ok(out);
            }
            "crash" => Input::Crash(node(0)?),
            "restart" => Input::Restart(node(0)?),
            "pause" => Input::Pause(node(0)?),
            "resume" => Input::Resume(node(0)?),
            "isolate" => Input::Isolate {
                node: node(0)?,
                direction: match args.get(1) {
                    None => Direction::Both,
                    Some(&"in") => Direction::Inbound,
                    Some(&"out") => Direction::Outbound,
                    Some(w) => return Err(format!("isolate takes `in` or `out`, not \"{w}\"")),
                },
            },
            "cut" => Input::Cut {
                from: node(0)?,
                to: node(1)?,
            },
            "heal" if args.is_empty() => Input::HealAll,
            "heal" => Input::Heal {
                from: node(0)?,
                to: node(1)?,
            },
            "delay" => {
                let d = parse_duration(args.get(2).ok_or("`delay` needs a duration")?)?;
                Input::SetLink {
                    from: node(0)?,
                    to: node(1)?,
                    params: Some(LinkParams {
                        latency: Latency::uniform(d, d),
                        ..*world.network().defaults()
                    }),
                }
            }
            "undelay" => Input::SetLink {
                from: node(0)?,
                to: node(1)?,
                params: None,
            },
            "partition" => {
                let kind = if args.contains(&"-/->") {
                    PartitionKind::OneWay
                } else {
                    PartitionKind::Symmetric
                };
                let mut groups = vec![Vec::new()];
                for w in args {
                    if *w == "|" || *w == "-/->" {
                        groups.push(Vec::new());
                    } else {
                        groups.last_mut().expect("one group").push(parse_node(w)?);
                    }
                }
                Input::Partition { groups, kind }
            }
            "request" => {
                let to = node(0)?;
                let op = world
                    .protocol()
                    .parse_op(args.get(1..).unwrap_or_default())?;
                Input::Request { node: to, op }
            }
            _ => match world.protocol().command(name, args) {
                Some(input) => input?,
                None => return Err(format!("unknown command `{name}`")),
            },
        };
        self.apply(input, &mut out)?;
        Ok(out)
    }

    fn setup(&mut self, args: &[&str]) -> Result<Vec<String>, String> {
        let mut kv = SortedMap::new();
        for a in args {
            let (k, v) = a
                .split_once('=')
                .ok_or_else(|| format!("setup takes key=value pairs, not \"{a}\""))?;
            kv.insert(k.to_string(), v.to_string());
        }
        self.setup_args = kv.clone();
        self.inputs.clear();
        let seed = match kv.remove("seed") {
            Some(s) => s.parse().map_err(|_| format!("\"{s}\" is not a seed"))?,
            None => 1,
        };
        let mut config = WorldConfig::with_seed(seed);
        if let Some(l) = kv.remove("latency") {
            let (lo, hi) = l.split_once("..").unwrap_or((&l, &l));
            config.network.latency = Latency::uniform(parse_duration(lo)?, parse_duration(hi)?);
        }
        let protocol = P::from_setup(&kv)?;
        // The protocol's checkers, and the liveness monitor that tells a
        // `drain` when the run has settled.
        let mut checkers = protocol.checkers();
        checkers.push(Box::new(Liveness::new(&protocol, LIVENESS)));
        self.checkers = Some(checkers);
        self.world = Some(World::new(protocol, config));
        self.printed = 0;
        self.milestones.clear();
        // Boot every node (the events at time zero), so that later
        // commands act on running nodes.
        let mut out = Vec::new();
        self.run_for(Duration::ZERO, Settle::No, Verbosity::Full, &mut out);
        Ok(out)
    }

    fn apply(&mut self, input: Input<OpOf<P>>, out: &mut Vec<String>) -> Result<(), String> {
        let world = self.world.as_mut().expect("set up");
        let (step, time) = (world.steps(), world.now());
        world.apply(input.clone()).map_err(|e| e.to_string())?;
        self.inputs.push(InputRecord { step, time, input });
        self.after_step(Verbosity::Full, out);
        Ok(())
    }

    fn run_for(
        &mut self,
        d: Duration,
        settle: Settle,
        verbosity: Verbosity,
        out: &mut Vec<String>,
    ) {
        let until_settled = settle == Settle::Yes;
        let start = self.world.as_ref().expect("set up").now();
        let end = start + d;
        let mut steps = 0;
        loop {
            let world = self.world.as_mut().expect("set up");
            if until_settled && P::settled(world) {
                out.push(format!(
                    "settled after {}",
                    world.now().saturating_since(start)
                ));
                self.last_settled = Some(true);
                return;
            }
            let due = world.next_event_time().is_some_and(|t| t <= end);
            if !due || steps >= MAX_STEPS_PER_COMMAND {
                world.run_until(end, 0);
                if until_settled {
                    out.push(format!("not settled within {d}"));
                    self.last_settled = Some(false);
                }
                return;
            }
            world.step();
            steps += 1;
            self.after_step(verbosity, out);
        }
    }

    /// After a `drain`: runs until the liveness monitor has seen the
    /// cluster settle (or its bound pass) and the checkers have given their
    /// end-of-run verdicts, which `after_step` prints.
    fn run_to_drained(&mut self, found_before: usize, verbosity: Verbosity, out: &mut Vec<String>) {
        let start = self.world.as_ref().expect("set up").now();
        let drain = |r: &Self| {
            r.checkers
                .as_ref()
                .and_then(Checkers::liveness)
                .and_then(|l| l.drain.clone())
                .expect("a drain was applied")
        };
        let mut steps = 0;
        while drain(self).checked.is_none() {
            let world = self.world.as_mut().expect("set up");
            if world.next_event_time().is_none() || steps >= MAX_STEPS_PER_COMMAND {
                out.push("the run stopped before it settled: nothing checked".to_string());
                return;
            }
            world.step();
            steps += 1;
            self.after_step(verbosity, out);
        }
        let d = drain(self);
        let (_, at) = d.checked.expect("checked");
        let waited = at.saturating_since(start);
        out.push(if d.settled {
            format!("settled after {waited}; checked")
        } else {
            format!("not settled after {waited}; checked anyway")
        });
        if self.checkers.as_ref().expect("set up").violations().len() == found_before {
            out.push("nothing found at the end".to_string());
        }
    }

    fn after_step(&mut self, verbosity: Verbosity, out: &mut Vec<String>) {
        let world = self.world.as_ref().expect("set up");
        let checkers = self.checkers.as_mut().expect("set up");
        let record = world.last_record().expect("a step was taken");
        checkers.observe(record, world);
        for m in record.out.milestones() {
            *self.milestones.entry(m.kind).or_default() += 1;
        }
        let new = &checkers.violations()[self.printed..];
        self.printed = checkers.violations().len();
        let show = verbosity == Verbosity::Full
            || !record.out.milestones().is_empty()
            || !new.is_empty()
            || matches!(
                record.event,
                sim::StepEvent::Input(_) | sim::StepEvent::Start(_)
            );
        if !show {
            return;
        }
        out.extend(trace_lines(record, verbosity));
        for v in new {
            out.push(format!("    !! {}: {}", v.rule, v.message));
        }
    }
}

/// The readable lines of one step, as the event log shows them.
pub fn trace_lines<N: sim::Node>(record: &StepRecord<N>, verbosity: Verbosity) -> Vec<String> {
    let mut lines = vec![format!(
        "{:>12}  {}",
        record.time.to_string(),
        record.headline()
    )];
    if verbosity == Verbosity::Full {
        for n in record.out.notes() {
            lines.push(format!("    {n}"));
        }
    }
    for m in record.out.milestones() {
        lines.push(format!("    * {}", m.text));
    }
    lines
}

/// Runs a whole script file's text and returns it with every block's output
/// replaced by the actual output. Comparing the result with the input is
/// the test; writing it back is the rewrite.
pub fn run_file<P: Scripted>(text: &str) -> Result<(String, Runner<P>), String> {
    let mut runner = Runner::<P>::new();
    let mut result = String::new();
    let mut lines = text.lines().peekable();
    let mut line_no = 0;
    while let Some(line) = lines.next() {
        line_no += 1;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            result.push_str(line);
            result.push('\n');
            continue;
        }
        let output = runner
            .run_command(trimmed)
            .map_err(|e| format!("line {line_no}: `{trimmed}`: {e}"))?;
        writeln!(result, "{line}\n----").expect("writing to a string");
        for o in &output {
            result.push_str(o);
            result.push('\n');
        }
        // Skip the old expected output: `----` and everything up to a blank line.
        if lines.peek().map(|l| l.trim()) == Some("----") {
            lines.next();
            line_no += 1;
            while let Some(l) = lines.peek() {
                if l.trim().is_empty() {
                    break;
                }
                lines.next();
                line_no += 1;
            }
        }
    }
    Ok((result, runner))
}
