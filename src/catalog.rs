//! The protocols the app offers, and how a run is built from a setup.
//!
//! Everything protocol-specific the app knows lives here and in each
//! protocol's detail widget; the stage, timeline, event log and checker panel
//! are drawn from `sim::AnySim` alone.

use std::collections::BTreeMap;

use protocols::raft::{Raft, Toggle as RaftToggle};
use sim::{AnySim, Duration, InputRecord, LinkParams, Run, Time, WorldConfig};

use clusterscope::share::{Embed, Shared, SERVERS};

/// A protocol option a person can switch, such as PreVote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OptionSpec {
    /// The name in links, such as `prevote`.
    pub name: &'static str,
    /// The label in settings.
    pub label: &'static str,
    /// One line on what it does.
    pub help: &'static str,
    /// Whether it is on when a link does not say.
    pub default_on: bool,
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
                default_on: true,
            },
            OptionSpec {
                name: "checkquorum",
                label: "CheckQuorum",
                help: "A leader that has not heard from a majority for an election timeout steps down, so a partitioned leader stops accepting requests.",
                default_on: true,
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
    /// Options, by name; a missing option takes its default.
    pub options: BTreeMap<String, bool>,
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
            if !entry.options.iter().any(|o| o.name == name) {
                return Err(format!(
                    "The link sets the option \"{name}\", which {} does not have.",
                    entry.title
                ));
            }
            let on = match value.as_str() {
                "1" => true,
                "0" => false,
                other => {
                    return Err(format!(
                        "The link sets the option \"{name}\" to \"{other}\"; it must be 0 or 1."
                    ))
                }
            };
            options.insert(name.clone(), on);
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
                .map(|(k, v)| (k.clone(), if *v { "1" } else { "0" }.to_string()))
                .collect(),
            inputs,
            time,
            hash,
            embed,
        }
    }

    /// Whether option `name` is on.
    pub fn option(&self, name: &str) -> bool {
        self.options.get(name).copied().unwrap_or_else(|| {
            entry(&self.protocol)
                .and_then(|e| {
                    e.options
                        .iter()
                        .find(|o| o.name == name)
                        .map(|o| o.default_on)
                })
                .unwrap_or(false)
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
            let mut raft = Raft::new(setup.servers as usize, 2);
            for name in &setup.toggles {
                let toggle = RaftToggle::from_name(name)
                    .ok_or_else(|| format!("Raft has no toggle \"{name}\"."))?;
                raft = raft.with_toggle(toggle);
            }
            // Options apply after toggles, except that the toggle which turns
            // PreVote and CheckQuorum off wins over them.
            if !setup
                .toggles
                .iter()
                .any(|t| t == RaftToggle::NoPrevoteCheckquorum.name())
            {
                raft.settings.pre_vote = setup.option("prevote");
                raft.settings.check_quorum = setup.option("checkquorum");
            }
            Ok(Box::new(Run::new(raft, config)))
        }
        other => Err(format!("This version has no protocol \"{other}\".")),
    }
}
