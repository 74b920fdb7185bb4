//! The protocols the app offers, and how a run is built from a setup.
//!
//! Everything protocol-specific the app knows lives here and in each
//! protocol's detail widget; the stage, timeline, event log and checker panel
//! are drawn from `sim::AnySim` alone.

use sim::sorted::SortedMap;
use std::rc::Rc;

use protocols::paxos::Toggle as PaxosToggle;
#[cfg(feature = "paxos")]
use protocols::paxos::{MultiPaxos, Paxos};
use protocols::pubsub::Toggle as PubSubToggle;
#[cfg(feature = "pubsub")]
use protocols::pubsub::{Acks, Delivery, GroupSpec, PubSub};
#[cfg(feature = "raft")]
use protocols::raft::Raft;
use protocols::raft::Toggle as RaftToggle;
use sim::sweep::{record_seed, Failure, SeedOutcome};
use sim::{
    AnySim, Duration, InputRecord, Interactive, LinkParams, Run, Time, Violation, WorldConfig,
};

use clusterscope::share::{Embed, Shared, Sweep, SERVERS};

/// The protocol of the default run: Raft, unless this download was built
/// without it.
const DEFAULT_PROTOCOL: &str = if cfg!(feature = "raft") {
    "raft"
} else if cfg!(feature = "paxos") {
    "paxos"
} else {
    "pubsub"
};

/// The download (cargo feature) that runs `protocol`. The release build
/// makes one per protocol family, so that a page loads only the code of the
/// protocol it shows (`cargo xtask dist`, and the loader in index.html,
/// which picks the download by the link's `p=`).
pub fn bundle_of(protocol: &str) -> &'static str {
    match protocol {
        "paxos" | "multipaxos" => "paxos",
        "pubsub" => "pubsub",
        _ => "raft",
    }
}

/// Whether this download runs `protocol` (every download lists them all in
/// Settings; choosing one it lacks reloads the page with the right one).
pub fn compiled(protocol: &str) -> bool {
    let bundle = bundle_of(protocol);
    (bundle == "raft" && cfg!(feature = "raft"))
        || (bundle == "paxos" && cfg!(feature = "paxos"))
        || (bundle == "pubsub" && cfg!(feature = "pubsub"))
}

/// A protocol option, such as PreVote or the election timeout range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OptionSpec {
    /// The name in links, such as `prevote`.
    pub name: &'static str,
    /// The label in settings.
    pub label: &'static str,
    /// One line on what it does.
    pub help: &'static str,
    /// What values it takes, and its default.
    pub kind: OptionKind,
}

/// The values an option takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionKind {
    /// On or off (`1` or `0` in links).
    Switch {
        /// Whether it is on by default.
        default_on: bool,
    },
    /// A whole number in a range.
    Count {
        /// Smallest allowed.
        min: u64,
        /// Largest allowed.
        max: u64,
        /// The default.
        default: u64,
    },
    /// A duration in whole milliseconds.
    Millis {
        /// Smallest allowed.
        min: u64,
        /// Largest allowed.
        max: u64,
        /// The default.
        default: u64,
    },
    /// A range of milliseconds, written `150-300`.
    MillisRange {
        /// Smallest allowed low end.
        min: u64,
        /// Largest allowed high end.
        max: u64,
        /// The default range.
        default: (u64, u64),
    },
    /// One of a few words, such as `0`, `1` or `all`.
    Choice {
        /// The words it takes, in the order help lists them.
        values: &'static [&'static str],
        /// The default, one of `values`.
        default: &'static str,
    },
}

/// A checked option value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionValue {
    /// A switch.
    Switch(bool),
    /// A count.
    Count(u64),
    /// Milliseconds.
    Millis(u64),
    /// A range of milliseconds.
    MillisRange(u64, u64),
    /// One of a choice's words.
    Choice(&'static str),
}

impl OptionSpec {
    /// The value used when a setup does not set this option.
    pub fn default_value(&self) -> OptionValue {
        match self.kind {
            OptionKind::Switch { default_on } => OptionValue::Switch(default_on),
            OptionKind::Count { default, .. } => OptionValue::Count(default),
            OptionKind::Millis { default, .. } => OptionValue::Millis(default),
            OptionKind::MillisRange {
                default: (a, b), ..
            } => OptionValue::MillisRange(a, b),
            OptionKind::Choice { default, .. } => OptionValue::Choice(default),
        }
    }

    /// Reads a value as written in a link or typed in settings.
    pub fn parse(&self, text: &str) -> Result<OptionValue, String> {
        let text = text.trim();
        let label = self.label;
        let whole = |t: &str| {
            t.trim()
                .parse::<u64>()
                .map_err(|_| format!("{label} takes whole numbers, not \"{t}\""))
        };
        match self.kind {
            OptionKind::Switch { .. } => match text {
                "1" | "on" => Ok(OptionValue::Switch(true)),
                "0" | "off" => Ok(OptionValue::Switch(false)),
                _ => Err(format!("{label} is 1 (on) or 0 (off), not \"{text}\"")),
            },
            OptionKind::Count { min, max, .. } => match whole(text)? {
                v if (min..=max).contains(&v) => Ok(OptionValue::Count(v)),
                v => Err(format!("{label} is {min} to {max}, not {v}")),
            },
            OptionKind::Millis { min, max, .. } => match whole(text)? {
                v if (min..=max).contains(&v) => Ok(OptionValue::Millis(v)),
                v => Err(format!("{label} is {min} to {max} ms, not {v}")),
            },
            OptionKind::MillisRange { min, max, .. } => {
                let (a, b) = text
                    .split_once('-')
                    .ok_or_else(|| format!("{label} is a range such as 150-300, not \"{text}\""))?;
                let (a, b) = (whole(a)?, whole(b)?);
                if a > b {
                    Err(format!(
                        "{label} goes from low to high, but {a} is above {b}"
                    ))
                } else if a < min || b > max {
                    Err(format!(
                        "{label} lies within {min} to {max} ms, not {a}-{b}"
                    ))
                } else {
                    Ok(OptionValue::MillisRange(a, b))
                }
            }
            OptionKind::Choice { values, .. } => values
                .iter()
                .find(|&&v| v == text)
                .map(|&v| OptionValue::Choice(v))
                .ok_or_else(|| {
                    let (last, rest) = values.split_last().expect("a choice has values");
                    let rest: Vec<String> = rest.iter().map(|v| format!("\"{v}\"")).collect();
                    format!(
                        "{label} is {} or \"{last}\", not \"{text}\"",
                        rest.join(", ")
                    )
                }),
        }
    }
}

impl OptionValue {
    /// The value as written in links and settings fields.
    pub fn text(&self) -> String {
        match self {
            OptionValue::Switch(on) => if *on { "1" } else { "0" }.to_string(),
            OptionValue::Count(v) | OptionValue::Millis(v) => v.to_string(),
            OptionValue::MillisRange(a, b) => format!("{a}-{b}"),
            OptionValue::Choice(v) => v.to_string(),
        }
    }
}

/// A teaching toggle as the settings panel shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ToggleSpec {
    /// The name in links.
    pub name: &'static str,
    /// The rule it breaks, in one line.
    pub explanation: &'static str,
}

/// One protocol the app offers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The name in links, such as `raft`.
    pub name: &'static str,
    /// The name people read.
    pub title: &'static str,
    /// The size a new run starts with.
    pub default_servers: u32,
    /// What its servers are called, singular and plural ("server",
    /// "servers"; the queue's are "broker", "brokers").
    pub server_noun: (&'static str, &'static str),
    /// Its teaching toggles.
    pub toggles: Vec<ToggleSpec>,
    /// Its options.
    pub options: Vec<OptionSpec>,
}

/// Every protocol the app offers, in menu order.
pub fn entries() -> Vec<Entry> {
    vec![Entry {
        name: "raft",
        title: "Raft",
        default_servers: 5,
        server_noun: ("server", "servers"),
        toggles: RaftToggle::ALL.iter().map(|t| ToggleSpec { name: t.name(), explanation: t.explanation() }).collect(),
        options: vec![
            OptionSpec {
                name: "prevote",
                label: "PreVote",
                help: "A server asks whether it could win before it raises its term (§9.6), so a server that was cut off cannot depose a working leader when it returns.",
                kind: OptionKind::Switch { default_on: true },
            },
            OptionSpec {
                name: "checkquorum",
                label: "CheckQuorum",
                help: "A leader that has not heard from a majority for an election timeout steps down, so a partitioned leader stops accepting requests.",
                kind: OptionKind::Switch { default_on: true },
            },
            OptionSpec {
                name: "clients",
                label: "Clients",
                help: "How many client nodes send requests.",
                kind: OptionKind::Count { min: 0, max: 5, default: 2 },
            },
            OptionSpec {
                name: "election",
                label: "Election timeout (ms)",
                help: "A server that hears no leader for a random time in this range stands for election (§5.2).",
                kind: OptionKind::MillisRange { min: 1, max: 60_000, default: (150, 300) },
            },
            OptionSpec {
                name: "heartbeat",
                label: "Heartbeat (ms)",
                help: "How often a leader sends AppendEntries, with or without entries.",
                kind: OptionKind::Millis { min: 1, max: 30_000, default: 50 },
            },
            OptionSpec {
                name: "batch",
                label: "Entries per AppendEntries",
                help: "The most log entries one AppendEntries carries.",
                kind: OptionKind::Count { min: 1, max: 64, default: 32 },
            },
            check_steps_option("R8"),
        ],
    }, paxos_entry(), multipaxos_entry(), pubsub_entry()]
}

/// The option `checksteps`: how hard the linearizability check (`rule`)
/// searches before it calls a key undecided. It changes how the run is
/// judged, never the run itself; sweeps always judge with the default.
fn check_steps_option(rule: &'static str) -> OptionSpec {
    OptionSpec {
        name: "checksteps",
        label: "Linearizability search steps per operation",
        help: match rule {
            "R8" => "How many search steps R8's linearizability check may take for each operation that completes. Deciding linearizability is NP-complete: with too few steps a busy key is left undecided (amber in Checkers). It judges the run, never changes it.",
            _ => "How many search steps P8's linearizability check may take for each operation that completes. Deciding linearizability is NP-complete: with too few steps a busy key is left undecided (amber in Checkers). It judges the run, never changes it.",
        },
        kind: OptionKind::Count {
            min: 1,
            max: 1_000_000,
            default: protocols::linearizability::STEPS_PER_COMPLETION,
        },
    }
}

/// The largest queue the app builds: the stage stacks the brokers in one
/// column, and sweeps run up to 9 brokers too.
const MAX_BROKERS: u32 = 9;

/// The words option `acks` takes.
const ACKS: &[&str] = &["0", "1", "all"];

/// The words options `billing-mode` and `audit-mode` take.
const DELIVERY: &[&str] = &["at-least-once", "at-most-once"];

/// The pub/sub queue: producers, brokers with replicated partition logs,
/// a controller, consumer groups. The servers are the brokers.
///
/// Options `acks`, `billing-mode` and `audit-mode` set what the toggles
/// `acks-leader-only` and `commit-before-processing` also set. A toggle
/// wins over an option left at its default (acks=all, at-least-once), so a
/// toggle keeps working in any setup; an option set to something else that
/// the toggle contradicts (acks=0 with `acks-leader-only`) is refused with
/// a sentence. An option that agrees with the toggle is fine.
fn pubsub_entry() -> Entry {
    Entry {
        name: "pubsub",
        title: "Pub/sub queue",
        default_servers: 3,
        server_noun: ("broker", "brokers"),
        toggles: PubSubToggle::ALL
            .iter()
            .map(|t| ToggleSpec {
                name: t.name(),
                explanation: t.explanation(),
            })
            .collect(),
        options: vec![
            OptionSpec {
                name: "partitions",
                label: "Partitions",
                help: "How many partitions the topic has; a message's key picks its partition (key mod partitions), each a log replicated on every broker.",
                kind: OptionKind::Count { min: 1, max: 8, default: 2 },
            },
            OptionSpec {
                name: "producers",
                label: "Producers",
                help: "How many producer nodes publish messages (idempotent, with retries).",
                kind: OptionKind::Count { min: 0, max: 5, default: 1 },
            },
            OptionSpec {
                name: "acks",
                label: "acks",
                help: "What a producer waits for: 0 nothing (fire and forget), 1 the leader's own append, all the whole in-sync set. Only all survives a leader's crash; the toggle acks-leader-only sets 1.",
                kind: OptionKind::Choice { values: ACKS, default: "all" },
            },
            OptionSpec {
                name: "billing",
                label: "Group billing (consumers)",
                help: "How many consumers the group billing has; they share the partitions between them (0: no such group).",
                kind: OptionKind::Count { min: 0, max: 6, default: 2 },
            },
            OptionSpec {
                name: "billing-mode",
                label: "Group billing delivery",
                help: "at-least-once: process, then commit (a crash in between processes again); at-most-once: commit, then process (a crash in between loses the batch). The toggle commit-before-processing makes every group at-most-once.",
                kind: OptionKind::Choice { values: DELIVERY, default: "at-least-once" },
            },
            OptionSpec {
                name: "audit",
                label: "Group audit (consumers)",
                help: "How many consumers a second group, audit, has; it gets every message too (fan-out; 0: no such group).",
                kind: OptionKind::Count { min: 0, max: 6, default: 0 },
            },
            OptionSpec {
                name: "audit-mode",
                label: "Group audit delivery",
                help: "When the group audit commits: at-least-once or at-most-once, as for billing.",
                kind: OptionKind::Choice { values: DELIVERY, default: "at-least-once" },
            },
            OptionSpec {
                name: "idempotence",
                label: "Idempotent producers",
                help: "Producers stamp each record with their session and a sequence number, so a leader that has a retried record already does not append it again. Off, a retry after a lost acknowledgement appends a second copy (what the toggle retries-without-idempotence shows as a bug).",
                kind: OptionKind::Switch { default_on: true },
            },
            OptionSpec {
                name: "mininsync",
                label: "min.insync.replicas",
                help: "The fewest in-sync replicas an acks=all write needs, and the size below which the in-sync set never shrinks (0: a majority of the brokers).",
                kind: OptionKind::Count { min: 0, max: MAX_BROKERS as u64, default: 0 },
            },
        ],
    }
}

fn paxos_toggles() -> Vec<ToggleSpec> {
    PaxosToggle::ALL
        .iter()
        .map(|t| ToggleSpec {
            name: t.name(),
            explanation: t.explanation(),
        })
        .collect()
}

/// Single-decree Paxos: competing proposers, one value.
fn paxos_entry() -> Entry {
    Entry {
        name: "paxos",
        title: "Paxos",
        default_servers: 3,
        server_noun: ("server", "servers"),
        toggles: paxos_toggles(),
        options: vec![
            OptionSpec {
                name: "proposers",
                label: "Proposers",
                help: "How many servers (n1, n2, ...) propose their own value from the start; two or more compete.",
                kind: OptionKind::Count { min: 0, max: 25, default: 2 },
            },
            OptionSpec {
                name: "start",
                label: "Start window (ms)",
                help: "Each proposer starts its first ballot at a random time within this long.",
                kind: OptionKind::Millis { min: 0, max: 60_000, default: 100 },
            },
            OptionSpec {
                name: "timeout",
                label: "Round timeout (ms)",
                help: "How long a proposer waits for a phase to complete before it tries a higher ballot.",
                kind: OptionKind::Millis { min: 1, max: 60_000, default: 300 },
            },
            OptionSpec {
                name: "backoff",
                label: "Backoff (ms)",
                help: "After a refusal a proposer waits a random time up to this, doubled with each refusal in a row, so that dueling proposers take turns.",
                kind: OptionKind::Millis { min: 0, max: 60_000, default: 50 },
            },
        ],
    }
}

/// Multi-Paxos: a distinguished leader and a log of slots.
fn multipaxos_entry() -> Entry {
    Entry {
        name: "multipaxos",
        title: "Multi-Paxos",
        default_servers: 3,
        server_noun: ("server", "servers"),
        toggles: PaxosToggle::ALL
            .iter()
            .map(|t| ToggleSpec {
                name: t.name(),
                explanation: t.multi_explanation(),
            })
            .collect(),
        options: vec![
            OptionSpec {
                name: "clients",
                label: "Clients",
                help: "How many client nodes send commands.",
                kind: OptionKind::Count { min: 0, max: 5, default: 2 },
            },
            OptionSpec {
                name: "leader",
                label: "Leader timeout (ms)",
                help: "A server that hears no leader for a random time in this range runs phase 1 to take over.",
                kind: OptionKind::MillisRange { min: 1, max: 60_000, default: (150, 300) },
            },
            OptionSpec {
                name: "heartbeat",
                label: "Heartbeat (ms)",
                help: "How often the leader tells the others it is there; each answers with the first slot it has not learned, and the leader sends it what it has from there.",
                kind: OptionKind::Millis { min: 1, max: 30_000, default: 50 },
            },
            check_steps_option("P8"),
        ],
    }
}

/// The entry called `name`.
pub fn entry(name: &str) -> Option<Entry> {
    entries().into_iter().find(|e| e.name == name)
}

impl Entry {
    /// `n` of its servers, as people read it: "5 servers", "1 broker".
    pub fn servers_text(&self, n: u32) -> String {
        let (one, many) = self.server_noun;
        format!("{n} {}", if n == 1 { one } else { many })
    }
}

/// The header's one line on a run: "Raft · 5 servers · seed 1",
/// "Pub/sub queue · 3 brokers · seed 1".
pub fn run_summary(setup: &Setup) -> String {
    let (title, servers) = match entry(&setup.protocol) {
        Some(e) => (e.title, e.servers_text(setup.servers)),
        None => ("?", format!("{} servers", setup.servers)),
    };
    format!("{title} · {servers} · seed {}", setup.seed)
}

/// How a run is set up: everything but what happens in it.
#[derive(Clone, Debug, PartialEq)]
pub struct Setup {
    /// The protocol's name.
    pub protocol: String,
    /// How many servers.
    pub servers: u32,
    /// The master seed.
    pub seed: u64,
    /// The network defaults.
    pub network: LinkParams,
    /// Teaching toggles switched on, sorted.
    pub toggles: Vec<String>,
    /// Options, by name, already checked; a missing option takes its default.
    pub options: SortedMap<String, OptionValue>,
}

impl Default for Setup {
    /// Five Raft servers with seed 1: the same first run for everyone, so a
    /// lecturer can say "press play and watch n3". (A download built
    /// without Raft starts its own protocol's default.)
    fn default() -> Setup {
        let protocol = DEFAULT_PROTOCOL;
        Setup {
            protocol: protocol.into(),
            servers: entry(protocol).map_or(5, |e| e.default_servers),
            seed: 1,
            network: LinkParams::default(),
            toggles: Vec::new(),
            options: SortedMap::new(),
        }
    }
}

impl Setup {
    /// Reads the setup part of a link, checking names against the catalog.
    pub fn from_shared(shared: &Shared) -> Result<Setup, String> {
        let entry = entry(&shared.protocol).ok_or_else(|| {
            let names: Vec<&str> = entries().iter().map(|e| e.name).collect();
            format!("The link asks for the protocol \"{}\", which this version does not have; it has {}.", shared.protocol, names.join(", "))
        })?;
        for t in &shared.toggles {
            if !entry.toggles.iter().any(|s| s.name == t) {
                return Err(format!(
                    "The link switches on the toggle \"{t}\", which {} does not have; it has {}.",
                    entry.title,
                    entry
                        .toggles
                        .iter()
                        .map(|s| s.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        let mut options = SortedMap::new();
        for (name, value) in &shared.options {
            let spec = entry
                .options
                .iter()
                .find(|o| o.name == name)
                .ok_or_else(|| {
                    format!(
                        "The link sets the option \"{name}\", which {} does not have.",
                        entry.title
                    )
                })?;
            let value = spec
                .parse(value)
                .map_err(|e| format!("The link's option \"{name}\" is wrong: {e}."))?;
            options.insert(name.clone(), value);
        }
        Ok(Setup {
            protocol: entry.name.to_string(),
            servers: shared.servers,
            seed: shared.seed,
            network: shared.network,
            toggles: shared.toggles.clone(),
            options,
        })
    }

    /// A link to moment `time` of this setup's run with these inputs.
    pub fn to_shared(
        &self,
        inputs: Vec<InputRecord<String>>,
        time: Time,
        hash: Option<u64>,
        embed: Option<Embed>,
    ) -> Shared {
        Shared {
            protocol: self.protocol.clone(),
            servers: self.servers,
            seed: self.seed,
            network: self.network,
            toggles: self.toggles.clone(),
            options: self
                .options
                .iter()
                .map(|(k, v)| (k.clone(), v.text()))
                .collect(),
            inputs,
            time,
            hash,
            embed,
            speed: None,
            step: None,
            sweep: None,
        }
    }

    /// The value of option `name`: the one set, or the protocol's default.
    pub fn option(&self, name: &str) -> Option<OptionValue> {
        self.options.get(name).copied().or_else(|| {
            entry(&self.protocol).and_then(|e| {
                e.options
                    .iter()
                    .find(|o| o.name == name)
                    .map(OptionSpec::default_value)
            })
        })
    }
}

/// A sweep link (`sweep=1`) opened: the ordinary link of the same run, and
/// what the sweep found in it.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepRun {
    /// The link with everything spelled out: the protocol's settings as the
    /// sweep builds them, the network and the input log the sweep drew from
    /// the seed, and the moment (the one the sweep link names, or where the
    /// sweep stopped, with the sweep's trace hash there).
    pub shared: Shared,
    /// One sentence: which seed, and what the sweep found.
    pub summary: String,
    /// The violation the sweep stopped at, if it found one.
    pub violation: Option<Violation>,
}

/// Expands a sweep link into the run `cargo xtask sweep` checked for its
/// seed: the protocol built by `Sweepable::for_sweep` with the link's size
/// and toggle, run by the sweep's own generator (`sim::sweep::record_seed`),
/// whose input log the app then replays. Every bad value gets the app's
/// usual sentence, and the caller keeps its run.
pub fn expand_sweep(shared: &Shared) -> Result<SweepRun, String> {
    let at = shared
        .sweep
        .expect("expand_sweep is only called for sweep links");
    let setup = Setup::from_shared(shared)?;
    let entry = entry(&setup.protocol).expect("from_shared checked the protocol");
    // The seed's options follow from the seed (the sweep draws them from
    // its own stream), and the run's outcome names them as the app's
    // settings write them: the link spells them out, so the run built from
    // it is the one the sweep checked.
    let (config, inputs, outcome) = match setup.protocol.as_str() {
        #[cfg(feature = "raft")]
        "raft" => record::<Raft>(&setup, entry.title)?,
        #[cfg(feature = "paxos")]
        "paxos" => record::<Paxos>(&setup, entry.title)?,
        #[cfg(feature = "paxos")]
        "multipaxos" => {
            // The app runs Multi-Paxos as a `Paxos` in its Multi mode: the
            // same run and trace hash as the sweep's `MultiPaxos`, with one
            // copy of the engine in the download instead of two.
            record_with(&setup, entry.title, |n, t| {
                <MultiPaxos as sim::Sweepable>::for_sweep(n, t).map(|m| m.0)
            })?
        }
        #[cfg(feature = "pubsub")]
        "pubsub" => record::<PubSub>(&setup, entry.title)?,
        other => return Err(format!("This version cannot run sweeps of \"{other}\".")),
    };
    let options: SortedMap<String, String> = outcome
        .options
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let (time, step, hash) = match at {
        Sweep::AtMoment => (shared.time, shared.step, shared.hash),
        Sweep::AtEnd => (
            outcome.end,
            Some(outcome.steps),
            Some(shared.hash.unwrap_or(outcome.trace_hash)),
        ),
    };
    let toggle = setup
        .toggles
        .first()
        .map_or(String::new(), |t| format!(", toggle {t}"));
    let which = format!(
        "Seed {} of the {} sweep ({} servers{toggle})",
        setup.seed, entry.title, setup.servers
    );
    let violation = match &outcome.result {
        Err(Failure::Safety(vs)) => vs.first().cloned(),
        _ => None,
    };
    let summary = match &outcome.result {
        Ok(()) => format!("{which} passed: no rule broke, and the healed majority converged."),
        Err(Failure::Safety(_)) => {
            let v = violation
                .as_ref()
                .expect("a safety failure has a violation");
            format!("{which}: {} broke at {}: {}", v.rule, v.time, v.message)
        }
        Err(failure) => format!("{which} failed: {failure}"),
    };
    Ok(SweepRun {
        shared: Shared {
            protocol: setup.protocol,
            servers: setup.servers,
            seed: setup.seed,
            network: config.network,
            toggles: setup.toggles,
            options,
            inputs,
            time,
            step,
            hash,
            embed: shared.embed.clone(),
            speed: shared.speed,
            sweep: None,
        },
        summary,
        violation,
    })
}

/// Runs the sweep of protocol `P` for the setup's seed, size and toggle,
/// and returns the world settings, the input log (operations as text) and
/// the outcome.
fn record<P: Interactive>(
    setup: &Setup,
    title: &str,
) -> Result<(WorldConfig, Vec<InputRecord<String>>, SeedOutcome), String> {
    record_with(setup, title, P::for_sweep)
}

/// [`record`], with the protocol built by `for_sweep` (which may build a
/// different type than the one that runs: Multi-Paxos runs as a [`Paxos`]).
fn record_with<P: Interactive>(
    setup: &Setup,
    title: &str,
    for_sweep: impl FnOnce(usize, Option<&str>) -> Result<P, String>,
) -> Result<(WorldConfig, Vec<InputRecord<String>>, SeedOutcome), String> {
    let toggle = setup.toggles.first().map(String::as_str);
    let protocol = for_sweep(setup.servers as usize, toggle).map_err(|e| {
        format!(
            "The link asks for seed {} of a {title} sweep with {} servers, which a sweep cannot run: {e}.",
            setup.seed, setup.servers
        )
    })?;
    let protocol = Rc::new(protocol);
    let run = record_seed(&protocol, setup.seed);
    let inputs = run
        .inputs
        .into_iter()
        .map(|r| InputRecord {
            step: r.step,
            time: r.time,
            input: r.input.map_op(|op| protocol.format_op(&op)),
        })
        .collect();
    Ok((run.config, inputs, run.outcome))
}

/// Builds a fresh run of `setup`.
pub fn build(setup: &Setup) -> Result<Box<dyn AnySim>, String> {
    if !SERVERS.contains(&setup.servers) {
        return Err(format!(
            "A cluster has {} to {} servers, not {}.",
            SERVERS.start(),
            SERVERS.end(),
            setup.servers
        ));
    }
    setup
        .network
        .validate()
        .map_err(|e| format!("The network settings are not possible: {e}."))?;
    let config = WorldConfig {
        seed: setup.seed,
        network: setup.network,
        processing: Duration::from_us(200),
    };
    match setup.protocol.as_str() {
        #[cfg(feature = "raft")]
        "raft" => build_raft(setup, config),
        #[cfg(feature = "paxos")]
        "paxos" | "multipaxos" => build_paxos(setup, config),
        #[cfg(feature = "pubsub")]
        "pubsub" => build_pubsub(setup, config),
        other if entry(other).is_some() => Err(format!(
            "This download has no {other} in it: the page reloads with the one that does."
        )),
        other => Err(format!("This version has no protocol \"{other}\".")),
    }
}

/// Builds Raft from the setup's options.
#[cfg(feature = "raft")]
fn build_raft(setup: &Setup, config: WorldConfig) -> Result<Box<dyn AnySim>, String> {
    let count = |name| match setup.option(name) {
        Some(OptionValue::Count(v)) => v,
        other => unreachable!("the catalog defines {name} as a count, not {other:?}"),
    };
    let switch = |name| match setup.option(name) {
        Some(OptionValue::Switch(on)) => on,
        other => unreachable!("the catalog defines {name} as a switch, not {other:?}"),
    };
    let mut raft = Raft::new(setup.servers as usize, count("clients") as usize);
    let s = &mut raft.settings;
    if let Some(OptionValue::MillisRange(a, b)) = setup.option("election") {
        (s.election_timeout_min, s.election_timeout_max) =
            (Duration::from_ms(a), Duration::from_ms(b));
    }
    if let Some(OptionValue::Millis(ms)) = setup.option("heartbeat") {
        s.heartbeat_interval = Duration::from_ms(ms);
    }
    s.max_entries_per_append = count("batch") as usize;
    s.pre_vote = switch("prevote");
    s.check_quorum = switch("checkquorum");
    raft.check_steps = count("checksteps");
    // Toggles apply last: the one that turns PreVote and CheckQuorum
    // off, or fixes the election timeout, wins over the options.
    for name in &setup.toggles {
        let toggle =
            RaftToggle::from_name(name).ok_or_else(|| format!("Raft has no toggle \"{name}\"."))?;
        raft = raft.with_toggle(toggle);
    }
    Ok(Box::new(Run::new(raft, config)))
}

/// Builds single-decree Paxos or Multi-Paxos from the setup's options.
#[cfg(feature = "paxos")]
fn build_paxos(setup: &Setup, config: WorldConfig) -> Result<Box<dyn AnySim>, String> {
    let count = |name| match setup.option(name) {
        Some(OptionValue::Count(v)) => v as usize,
        other => unreachable!("the catalog defines {name} as a count, not {other:?}"),
    };
    let millis = |name| match setup.option(name) {
        Some(OptionValue::Millis(ms)) => Duration::from_ms(ms),
        other => unreachable!("the catalog defines {name} as milliseconds, not {other:?}"),
    };
    let servers = setup.servers as usize;
    let multi = setup.protocol == "multipaxos";
    let mut paxos = if multi {
        Paxos::multi(servers, count("clients"))
    } else {
        Paxos::single(servers, count("proposers"))
    };
    let s = &mut paxos.settings;
    if multi {
        if let Some(OptionValue::MillisRange(a, b)) = setup.option("leader") {
            (s.leader_timeout_min, s.leader_timeout_max) =
                (Duration::from_ms(a), Duration::from_ms(b));
        }
        s.heartbeat_interval = millis("heartbeat");
        paxos.check_steps = count("checksteps") as u64;
    } else {
        s.start_window = millis("start");
        s.round_timeout = millis("timeout");
        s.backoff = millis("backoff");
    }
    for name in &setup.toggles {
        let toggle = PaxosToggle::from_name(name)
            .ok_or_else(|| format!("Paxos has no toggle \"{name}\"."))?;
        paxos = paxos.with_toggle(toggle);
    }
    // Multi-Paxos runs as a `Paxos` in its Multi mode (see `expand_sweep`).
    Ok(Box::new(Run::new(paxos, config)))
}

/// Builds the pub/sub queue from the setup's options: the servers are its
/// brokers; groups billing and audit, when they have consumers, read the
/// topic (as in the sweeps, billing first).
#[cfg(feature = "pubsub")]
fn build_pubsub(setup: &Setup, config: WorldConfig) -> Result<Box<dyn AnySim>, String> {
    let count = |name| match setup.option(name) {
        Some(OptionValue::Count(v)) => v as usize,
        other => unreachable!("the catalog defines {name} as a count, not {other:?}"),
    };
    let choice = |name| match setup.option(name) {
        Some(OptionValue::Choice(v)) => v,
        other => unreachable!("the catalog defines {name} as a choice, not {other:?}"),
    };
    if setup.servers > MAX_BROKERS {
        return Err(format!(
            "The pub/sub queue runs {} to {MAX_BROKERS} brokers, not {}.",
            SERVERS.start(),
            setup.servers
        ));
    }
    let brokers = setup.servers as usize;
    let min_insync = count("mininsync");
    if min_insync > brokers {
        return Err(format!(
            "min.insync.replicas is at most the number of brokers ({brokers}), not {min_insync}."
        ));
    }
    let acks = match choice("acks") {
        "0" => Acks::Zero,
        "1" => Acks::Leader,
        _ => Acks::All,
    };
    let toggled = |t: PubSubToggle| setup.toggles.iter().any(|n| n == t.name());
    if acks == Acks::Zero && toggled(PubSubToggle::AcksLeaderOnly) {
        return Err(format!(
            "The option acks is 0, but the toggle {} sets acks=1; leave acks at all (or 1), or switch the toggle off.",
            PubSubToggle::AcksLeaderOnly.name()
        ));
    }
    let groups = [("billing", "billing-mode"), ("audit", "audit-mode")]
        .into_iter()
        .filter(|(g, _)| count(g) > 0)
        .map(|(g, mode)| GroupSpec {
            name: g.to_string(),
            members: count(g),
            mode: match choice(mode) {
                "at-most-once" => Delivery::AtMostOnce,
                _ => Delivery::AtLeastOnce,
            },
        })
        .collect();
    let mut queue =
        PubSub::new(brokers, count("producers"), count("partitions") as u32).with_groups(groups);
    if min_insync > 0 {
        queue.settings.min_insync = min_insync;
    }
    queue.settings.acks = acks;
    queue.settings.idempotence = match setup.option("idempotence") {
        Some(OptionValue::Switch(on)) => on,
        other => unreachable!("the catalog defines idempotence as a switch, not {other:?}"),
    };
    // Toggles apply last: min-insync-one wins over the option, and
    // acks-leader-only and commit-before-processing over the defaults of
    // acks and the groups' delivery (a contradiction was refused above).
    for name in &setup.toggles {
        let toggle = PubSubToggle::from_name(name)
            .ok_or_else(|| format!("The pub/sub queue has no toggle \"{name}\"."))?;
        queue = queue.with_toggle(toggle);
    }
    Ok(Box::new(Run::new(queue, config)))
}

#[cfg(test)]
mod tests {
    use protocols::raft::Raft;
    use sim::sweep::{run_seed, SeedOutcome};
    use sim::{Ppm, Sweepable};

    use super::*;

    /// Every protocol belongs to one download (xtask/src/dist.rs builds one
    /// per cargo feature and maps the links' `p=` the same way), and a
    /// native build, with every feature, runs them all.
    #[test]
    fn every_protocol_has_a_download_and_the_full_build_runs_all() {
        let downloads: Vec<(&str, &str)> = entries()
            .iter()
            .map(|e| (e.name, bundle_of(e.name)))
            .collect();
        assert_eq!(
            downloads,
            [
                ("raft", "raft"),
                ("paxos", "paxos"),
                ("multipaxos", "paxos"),
                ("pubsub", "pubsub")
            ]
        );
        assert!(entries().iter().all(|e| compiled(e.name)));
        assert_eq!(Setup::default().protocol, "raft");
    }
    use crate::lab::{Lab, Tone};

    fn sweep_outcome(servers: usize, toggle: Option<&str>, seed: u64) -> SeedOutcome {
        let raft = Raft::for_sweep(servers, toggle).expect("a sweepable size and toggle");
        run_seed(&Rc::new(raft), seed)
    }

    fn open(fragment: &str) -> Result<Lab, String> {
        Lab::open(&Shared::decode(fragment).map_err(|e| e.to_string())?)
    }

    /// The app opens a sweep seed as the very run the sweep checked: the
    /// link the sweep prints and the short link without a moment both land
    /// on the step where the sweep stopped, with the sweep's trace hash
    /// (computed here by the sweep itself, not by the app's code), for a
    /// seed that breaks a rule, one that fails liveness and ones that pass.
    #[test]
    fn a_sweep_link_opens_the_run_the_sweep_checked() {
        let cases = [
            (3, Some("skip-up-to-date-check"), 2),
            (3, Some("commit-previous-term"), 2232),
            (5, Some("no-prevote-checkquorum"), 5),
            (3, None, 0),
            (5, None, 1),
        ];
        let mut kinds = Vec::new();
        let mut spikes = 0;
        for (servers, toggle, seed) in cases {
            let outcome = sweep_outcome(servers, toggle, seed);
            kinds.push(outcome.result.as_ref().map_err(Failure::kind).err());
            spikes += usize::from(outcome.params.network.delay_spike != Ppm::NEVER);
            let printed = lab::sweep_fragment("raft", servers, toggle, &outcome);
            let short = printed.split("&t=").next().unwrap().to_string();
            for fragment in [&printed, &short] {
                let lab = open(fragment).unwrap_or_else(|e| panic!("{fragment}: {e}"));
                let run = lab.run.borrow();
                assert_eq!(run.steps(), outcome.steps, "{fragment}");
                assert_eq!(run.now(), outcome.end, "{fragment}");
                assert_eq!(run.trace_hash(), outcome.trace_hash, "{fragment}");
                let notice = lab.notice.clone().expect("a sweep link says what it found");
                assert!(
                    notice
                        .text
                        .starts_with(&format!("Seed {seed} of the Raft sweep ({servers} servers")),
                    "{}",
                    notice.text
                );
                match &outcome.result {
                    Err(Failure::Safety(vs)) => {
                        assert_eq!(notice.tone, Tone::Violation, "{}", notice.text);
                        assert_eq!(run.violations().first(), vs.first());
                        assert!(notice.text.contains(&vs[0].message), "{}", notice.text);
                        assert_eq!(lab.highlight, vs[0].nodes);
                    }
                    Err(failure) => {
                        assert_eq!(notice.tone, Tone::Info);
                        assert!(
                            notice.text.ends_with(&failure.to_string()),
                            "{}",
                            notice.text
                        );
                        assert!(run.violations().is_empty());
                    }
                    Ok(()) => {
                        assert_eq!(notice.tone, Tone::Info);
                        assert!(notice.text.contains("passed"), "{}", notice.text);
                        assert!(run.violations().is_empty());
                    }
                }
            }
        }
        assert_eq!(
            kinds,
            [
                Some("safety violation"),
                Some("safety violation"),
                Some("liveness failure"),
                None,
                None
            ]
        );
        assert!(
            spikes > 0,
            "no case has delay spikes, so re-sharing them is untested"
        );
    }

    /// A moment of a sweep run shared from the app (a full link, with the
    /// input log and the delay spikes spelled out) reopens as the same run.
    #[test]
    fn a_sweep_run_shared_again_reopens_the_same() {
        for (servers, toggle, seed) in [(3, Some("skip-up-to-date-check"), 5), (5, None, 1)] {
            let outcome = sweep_outcome(servers, toggle, seed);
            let fragment = lab::sweep_fragment("raft", servers, toggle, &outcome);
            let lab = open(&fragment).unwrap();
            lab.run.borrow_mut().seek_step(outcome.steps / 2);
            let again = lab.share(None).encode();
            assert!(
                !again.contains("sweep=") && again.contains("in="),
                "{again}"
            );
            let reopened = open(&again).unwrap();
            assert_eq!(reopened.notice, None, "{again}");
            let (a, b) = (lab.run.borrow(), reopened.run.borrow());
            assert_eq!((a.steps(), a.trace_hash()), (b.steps(), b.trace_hash()));
            assert_eq!(
                b.world_config().network.delay_spike,
                outcome.params.network.delay_spike
            );
        }
    }

    #[test]
    fn bad_sweep_links_say_what_is_wrong() {
        let cases = [
            (
                "v=1&p=raft&n=3&seed=5&sweep=1&tog=nope",
                "The link switches on the toggle \"nope\", which Raft does not have; it has commit-previous-term",
            ),
            (
                "v=1&p=raft&n=20&seed=5&sweep=1",
                "The link asks for seed 5 of a Raft sweep with 20 servers, which a sweep cannot run: a Raft sweep runs 1 to 15 servers, not 20.",
            ),
            (
                "v=1&p=chubby&n=3&seed=5&sweep=1",
                "The link asks for the protocol \"chubby\", which this version does not have",
            ),
        ];
        for (fragment, expected) in cases {
            let message = open(fragment).err().expect("refused");
            assert!(message.contains(expected), "{fragment}: {message}");
        }
    }

    /// Paxos and Multi-Paxos sweep seeds open in the app as the runs the
    /// sweep checked, at the step and with the trace hash where it stopped.
    #[test]
    fn paxos_sweep_links_open_the_runs_the_sweep_checked() {
        use protocols::paxos::{MultiPaxos, Paxos};
        fn case<P: Sweepable>(name: &str, servers: usize, toggle: Option<&str>, seed: u64) {
            let p = P::for_sweep(servers, toggle).expect("a sweepable size and toggle");
            let outcome = run_seed(&Rc::new(p), seed);
            let fragment = lab::sweep_fragment(name, servers, toggle, &outcome);
            let lab = open(&fragment).unwrap_or_else(|e| panic!("{fragment}: {e}"));
            let run = lab.run.borrow();
            assert_eq!(run.steps(), outcome.steps, "{fragment}");
            assert_eq!(run.trace_hash(), outcome.trace_hash, "{fragment}");
            if let Err(Failure::Safety(vs)) = &outcome.result {
                assert_eq!(run.violations().first(), vs.first(), "{fragment}");
            }
        }
        case::<Paxos>("paxos", 3, None, 0);
        case::<Paxos>("paxos", 3, Some("ignore-promised-values"), 1);
        case::<MultiPaxos>("multipaxos", 3, None, 2);
        case::<MultiPaxos>("multipaxos", 5, Some("volatile-acceptor"), 0);
    }

    /// Pub/sub sweep seeds open in the app as the runs the sweep checked:
    /// the app's options (partitions, producers, groups billing and audit)
    /// build the queue `PubSub::for_sweep` builds.
    #[test]
    fn pubsub_sweep_links_open_the_runs_the_sweep_checked() {
        use protocols::pubsub::PubSub;
        let mut broke = 0;
        for (servers, toggle, seed) in [
            (3, None, 0),
            (5, None, 1),
            (3, Some("acks-leader-only"), 0),
            (3, Some("acks-leader-only"), 1),
            (3, Some("read-above-high-watermark"), 0),
        ] {
            let p = PubSub::for_sweep(servers, toggle).expect("a sweepable size and toggle");
            let outcome = run_seed(&Rc::new(p), seed);
            let fragment = lab::sweep_fragment("pubsub", servers, toggle, &outcome);
            let lab = open(&fragment).unwrap_or_else(|e| panic!("{fragment}: {e}"));
            let run = lab.run.borrow();
            assert_eq!(run.steps(), outcome.steps, "{fragment}");
            assert_eq!(run.trace_hash(), outcome.trace_hash, "{fragment}");
            if let Err(Failure::Safety(vs)) = &outcome.result {
                assert_eq!(run.violations().first(), vs.first(), "{fragment}");
                broke += 1;
            }
        }
        assert!(
            broke > 0,
            "no case breaks a rule, so violations are untested"
        );
    }

    /// A queue's setup builds the nodes it names, and refuses what it
    /// cannot run with a sentence.
    #[test]
    fn a_queue_setup_builds_its_nodes_or_says_why_not() {
        let mut setup = Setup {
            protocol: "pubsub".into(),
            servers: 3,
            ..Setup::default()
        };
        setup.options.insert("audit".into(), OptionValue::Count(1));
        let run = build(&setup).unwrap();
        // 3 brokers, the controller, 1 producer, 2 + 1 consumers.
        assert_eq!(run.node_count(), 8);
        setup
            .options
            .insert("mininsync".into(), OptionValue::Count(4));
        let e = build(&setup).err().unwrap();
        assert!(e.contains("at most the number of brokers (3)"), "{e}");
        setup.options.remove("mininsync");
        setup.servers = 12;
        let e = build(&setup).err().unwrap();
        assert!(e.contains("3 to 9 brokers, not 12"), "{e}");
    }

    /// The queue's settings as the app builds them from a setup.
    fn queue_settings(setup: &Setup) -> protocols::pubsub::Settings {
        let run = build(setup).unwrap();
        let run = run
            .as_any()
            .downcast_ref::<Run<PubSub>>()
            .expect("a queue run");
        run.sim().world().protocol().settings.clone()
    }

    fn queue_setup(options: &[(&str, &str)], toggles: &[&str]) -> Result<Setup, String> {
        let shared = Shared {
            protocol: "pubsub".into(),
            servers: 3,
            seed: 1,
            network: LinkParams::default(),
            toggles: toggles.iter().map(|t| t.to_string()).collect(),
            options: options
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            inputs: Vec::new(),
            time: Time::ZERO,
            hash: None,
            embed: None,
            speed: None,
            step: None,
            sweep: None,
        };
        Setup::from_shared(&shared)
    }

    /// acks and the groups' delivery modes are read from links, default
    /// to acks=all and at-least-once, and reach the protocol's settings.
    #[test]
    fn queue_acks_and_delivery_options_reach_the_settings() {
        use protocols::pubsub::Acks;
        let s = queue_settings(&queue_setup(&[("audit", "1")], &[]).unwrap());
        assert_eq!(s.acks, Acks::All);
        let modes: Vec<Delivery> = s.groups.iter().map(|g| g.mode).collect();
        assert_eq!(modes, [Delivery::AtLeastOnce, Delivery::AtLeastOnce]);
        for (text, acks) in [("0", Acks::Zero), ("1", Acks::Leader), ("all", Acks::All)] {
            let setup = queue_setup(&[("acks", text)], &[]).unwrap();
            assert_eq!(setup.option("acks"), Some(OptionValue::Choice(text)));
            assert_eq!(queue_settings(&setup).acks, acks);
        }
        let setup = queue_setup(&[("audit", "1"), ("audit-mode", "at-most-once")], &[]).unwrap();
        let s = queue_settings(&setup);
        let modes: Vec<(&str, Delivery)> =
            s.groups.iter().map(|g| (g.name.as_str(), g.mode)).collect();
        assert_eq!(
            modes,
            [
                ("billing", Delivery::AtLeastOnce),
                ("audit", Delivery::AtMostOnce)
            ]
        );
        // The link the setup makes says the same.
        let shared = setup.to_shared(Vec::new(), Time::ZERO, None, None);
        assert_eq!(shared.options["audit-mode"], "at-most-once");
        assert_eq!(Setup::from_shared(&shared).unwrap(), setup);
    }

    /// A bad value gets a sentence that names the option and what it takes.
    #[test]
    fn queue_choice_options_refuse_other_words() {
        let e = queue_setup(&[("acks", "2")], &[]).unwrap_err();
        assert_eq!(
            e,
            "The link's option \"acks\" is wrong: acks is \"0\", \"1\" or \"all\", not \"2\"."
        );
        let e = queue_setup(&[("billing-mode", "exactly-once")], &[]).unwrap_err();
        assert_eq!(
            e,
            "The link's option \"billing-mode\" is wrong: Group billing delivery is \"at-least-once\" or \"at-most-once\", not \"exactly-once\"."
        );
        // Words are exact: no case folding, no abbreviations.
        assert!(queue_setup(&[("acks", "ALL")], &[]).is_err());
        assert!(queue_setup(&[("audit-mode", "at-most")], &[]).is_err());
    }

    /// The toggles win over the options' defaults, agree with a matching
    /// value, and a contradicting value is refused with a sentence.
    #[test]
    fn queue_toggles_and_options_do_not_conflict() {
        use protocols::pubsub::Acks;
        // acks-leader-only over the default acks=all, and with acks=1.
        for options in [&[][..], &[("acks", "all")][..], &[("acks", "1")][..]] {
            let setup = queue_setup(options, &["acks-leader-only"]).unwrap();
            assert_eq!(queue_settings(&setup).acks, Acks::Leader, "{options:?}");
        }
        // acks=0 with acks-leader-only is a contradiction.
        let setup = queue_setup(&[("acks", "0")], &["acks-leader-only"]).unwrap();
        let e = build(&setup).err().unwrap();
        assert_eq!(
            e,
            "The option acks is 0, but the toggle acks-leader-only sets acks=1; leave acks at all (or 1), or switch the toggle off."
        );
        // commit-before-processing makes every group at-most-once, whatever
        // their options say (at-least-once is the default it overrides).
        let setup = queue_setup(
            &[
                ("audit", "1"),
                ("billing-mode", "at-least-once"),
                ("audit-mode", "at-most-once"),
            ],
            &["commit-before-processing"],
        )
        .unwrap();
        let s = queue_settings(&setup);
        assert!(s.groups.iter().all(|g| g.mode == Delivery::AtMostOnce));
    }

    /// The header names each protocol's servers by its own noun.
    #[test]
    fn the_run_summary_counts_servers_by_their_name() {
        let mut setup = Setup::default();
        assert_eq!(run_summary(&setup), "Raft · 5 servers · seed 1");
        setup.protocol = "pubsub".into();
        setup.servers = 3;
        assert_eq!(run_summary(&setup), "Pub/sub queue · 3 brokers · seed 1");
        setup.servers = 1;
        assert_eq!(run_summary(&setup), "Pub/sub queue · 1 broker · seed 1");
        setup.protocol = "paxos".into();
        assert_eq!(run_summary(&setup), "Paxos · 1 server · seed 1");
    }

    #[test]
    fn the_sweep_links_only_protocols_the_app_has() {
        let names: Vec<&str> = entries().iter().map(|e| e.name).collect();
        assert_eq!(lab::IN_THE_APP, names.as_slice());
    }

    /// `checksteps` changes how R8 and P8 judge a run, never the run: with
    /// one search step per completed operation, five clients appending to
    /// and reading one key at once leave it undecided, while the same run
    /// at the default is decided and has the same trace.
    #[test]
    fn a_small_check_budget_leaves_a_busy_key_undecided_and_keeps_the_run() {
        use sim::{Input, NodeId};
        for (p, first_client) in [("raft", 3), ("multipaxos", 3)] {
            let judge = |opt: &str| {
                let lab = open(&format!("v=1&p={p}&n=3&seed=3&opt=clients:5{opt}")).unwrap();
                let mut run = lab.run.borrow_mut();
                run.run_until(Time::ZERO + Duration::from_ms(1_000), 1_000_000);
                for c in first_client..first_client + 5 {
                    for i in 0..20 {
                        let op = if i % 2 == 0 {
                            format!("append x {c}.{i},")
                        } else {
                            "get x".into()
                        };
                        run.apply(Input::Request {
                            node: NodeId(c),
                            op,
                        })
                        .unwrap();
                    }
                }
                run.run_until(Time::ZERO + Duration::from_ms(30_000), 1_000_000);
                (run.undecided(), run.trace_hash(), run.violations().to_vec())
            };
            let (undecided, hash, violations) = judge(",checksteps:1");
            let (default_undecided, default_hash, default_violations) = judge("");
            let rule = if p == "raft" { "R8" } else { "P8" };
            assert!(
                undecided.iter().any(|u| u.rule == rule
                    && u.message
                        .starts_with("could not decide within its budget: key \"x\"")),
                "{p}: {undecided:?}"
            );
            assert!(default_undecided.is_empty(), "{p}: {default_undecided:?}");
            assert_eq!(hash, default_hash, "{p}");
            assert!(
                violations.is_empty() && default_violations.is_empty(),
                "{p}"
            );
        }
    }
}
