//! The protocols the app offers, and how a run is built from a setup.
//!
//! Everything protocol-specific the app knows lives here and in each
//! protocol's detail widget; the stage, timeline, event log and checker panel
//! are drawn from `sim::AnySim` alone.

use std::collections::BTreeMap;

use protocols::raft::{Raft, Toggle as RaftToggle};
use sim::{AnySim, Duration, InputRecord, LinkParams, Run, Time, WorldConfig};

use clusterscope::share::{Embed, Shared, SERVERS};

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
        ],
    }]
}

/// The entry called `name`.
pub fn entry(name: &str) -> Option<Entry> {
    entries().into_iter().find(|e| e.name == name)
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
    pub options: BTreeMap<String, OptionValue>,
}

impl Default for Setup {
    /// Five Raft servers with seed 1: the same first run for everyone, so a
    /// lecturer can say "press play and watch n3".
    fn default() -> Setup {
        Setup {
            protocol: "raft".into(),
            servers: 5,
            seed: 1,
            network: LinkParams::default(),
            toggles: Vec::new(),
            options: BTreeMap::new(),
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
        let mut options = BTreeMap::new();
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
        "raft" => {
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
            // Toggles apply last: the one that turns PreVote and CheckQuorum
            // off, or fixes the election timeout, wins over the options.
            for name in &setup.toggles {
                let toggle = RaftToggle::from_name(name)
                    .ok_or_else(|| format!("Raft has no toggle \"{name}\"."))?;
                raft = raft.with_toggle(toggle);
            }
            Ok(Box::new(Run::new(raft, config)))
        }
        other => Err(format!("This version has no protocol \"{other}\".")),
    }
}
