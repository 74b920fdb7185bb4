//! Paxos in seed sweeps: the [`Sweepable`] contract, for single-decree Paxos
//! (`paxos`) and Multi-Paxos (`multipaxos`).
//!
//! A single-decree sweep makes every server a proposer of its own value, so
//! that proposers compete in every seed and whichever majority is healed
//! holds one; the workload hands servers further values to propose. A
//! Multi-Paxos sweep has two clients sending key-value commands.

use sim::{Checkers, Duration, NodeId, SimRng, Sweepable, World};

use super::Settings;

use super::node::{PaxosNode, PaxosOp};
use super::scenario::{settled_among, Settle};
use super::{Mode, MultiPaxos, Paxos, PaxosChecker, PaxosLike, Toggle};
use crate::kv::KvOp;

/// How many clients a Multi-Paxos sweep run has.
pub const SWEEP_CLIENTS: usize = 2;

fn with_toggle(paxos: Paxos, toggle: Option<&str>) -> Result<Paxos, String> {
    match toggle {
        None => Ok(paxos),
        Some(name) => Toggle::from_name(name)
            .map(|t| paxos.with_toggle(t))
            .ok_or_else(|| {
                format!(
                    "Paxos has no toggle \"{name}\"; it has {}",
                    Toggle::NAMES.join(", ")
                )
            }),
    }
}

fn check_size(servers: usize) -> Result<(), String> {
    if (1..=15).contains(&servers) {
        Ok(())
    } else {
        Err(format!("a Paxos sweep runs 1 to 15 servers, not {servers}"))
    }
}

/// The start windows a single-decree seed draws from, in milliseconds.
pub const START_WINDOWS: [u64; 3] = [0, 100, 300];
/// The round timeouts a single-decree seed draws from, in milliseconds.
pub const ROUND_TIMEOUTS: [u64; 3] = [150, 300, 600];
/// The backoffs a single-decree seed draws from, in milliseconds (0: a
/// refused proposer tries again at once).
pub const BACKOFFS: [u64; 3] = [0, 50, 200];
/// The leader timeout ranges a Multi-Paxos seed draws from, in
/// milliseconds.
pub const LEADER_RANGES: [(u64, u64); 3] = [(150, 300), (100, 200), (300, 600)];
/// The heartbeat intervals a Multi-Paxos seed draws from, in milliseconds
/// (each below every leader timeout above).
pub const HEARTBEATS: [u64; 2] = [20, 50];
/// The most clients the app's settings allow; a Multi-Paxos seed draws 1
/// to this many.
pub const MOST_CLIENTS: usize = 5;

/// A seed's options, drawn among the values the app's settings offer. The
/// toggles are flags of their own, which no option touches: they carry
/// over as they are.
///
/// Single-decree: how many servers propose (a majority to all: with fewer,
/// the healed majority may hold no proposer, and nothing would ever be
/// proposed to it), the start window, the round timeout and the backoff.
/// Multi-Paxos: 1 to 5 clients, the leader timeout range and the
/// heartbeat.
fn drawn(paxos: &Paxos, rng: &mut SimRng) -> Paxos {
    let ms = Duration::from_ms;
    let mut p = paxos.clone();
    let s = &mut p.settings;
    match s.mode {
        Mode::Single => {
            let majority = s.servers / 2 + 1;
            s.proposers = majority + rng.index(s.servers - majority + 1);
            s.start_window = ms(START_WINDOWS[rng.index(START_WINDOWS.len())]);
            s.round_timeout = ms(ROUND_TIMEOUTS[rng.index(ROUND_TIMEOUTS.len())]);
            s.backoff = ms(BACKOFFS[rng.index(BACKOFFS.len())]);
        }
        Mode::Multi => {
            p.clients = 1 + rng.index(MOST_CLIENTS);
            let (lo, hi) = LEADER_RANGES[rng.index(LEADER_RANGES.len())];
            s.leader_timeout_min = ms(lo);
            s.leader_timeout_max = ms(hi);
            s.heartbeat_interval = ms(HEARTBEATS[rng.index(HEARTBEATS.len())]);
        }
    }
    p
}

/// The app's options for a run of `paxos` (`proposers`, `start`, `timeout`
/// and `backoff`; Multi-Paxos: `clients`, `leader` and `heartbeat`).
fn options_of(paxos: &Paxos) -> Vec<(&'static str, String)> {
    let s: &Settings = &paxos.settings;
    let ms = |d: Duration| (d.as_us() / 1_000).to_string();
    match s.mode {
        Mode::Single => vec![
            ("proposers", s.proposers.to_string()),
            ("start", ms(s.start_window)),
            ("timeout", ms(s.round_timeout)),
            ("backoff", ms(s.backoff)),
        ],
        Mode::Multi => vec![
            ("clients", paxos.clients.to_string()),
            (
                "leader",
                format!("{}-{}", ms(s.leader_timeout_min), ms(s.leader_timeout_max)),
            ),
            ("heartbeat", ms(s.heartbeat_interval)),
        ],
    }
}

/// Single-decree Paxos promises that a value is chosen only if refused
/// proposers back off: with a backoff of 0 they duel for ever (toggle
/// `no-backoff` teaches it, and leaves the option's promise as it is).
/// Multi-Paxos backs off whatever the option says.
fn promises_liveness_of(paxos: &Paxos) -> bool {
    paxos.mode() == Mode::Multi || paxos.settings.backoff > Duration::ZERO
}

/// The leader with the highest ballot among the servers that are up.
fn leader_of<P: PaxosLike>(world: &World<P>) -> Option<(NodeId, u64)> {
    world
        .protocol()
        .paxos()
        .server_ids()
        .into_iter()
        .filter_map(|n| {
            let s = world.node(n).and_then(PaxosNode::as_server)?;
            let b = s.leading()?;
            // An epoch number that changes with the ballot: its round and
            // owner, both small.
            Some((n, b.round * 1024 + b.by.map_or(0, |b| u64::from(b.0) + 1)))
        })
        .max_by_key(|&(_, e)| e)
}

/// A Multi-Paxos workload operation: a key-value command on one of three
/// keys.
fn kv_op(n: u64, rng: &mut SimRng) -> PaxosOp {
    let key = ["x", "y", "z"][rng.index(3)].to_string();
    PaxosOp::Kv(match rng.index(3) {
        0 => KvOp::Put {
            key,
            value: n.to_string(),
        },
        1 => KvOp::Append {
            key,
            value: format!("{n},"),
        },
        _ => KvOp::Get { key },
    })
}

/// [`Paxos`] follows its mode, so a [`Paxos`] in [`Mode::Multi`] sweeps
/// exactly as [`MultiPaxos`] does (the app runs Multi-Paxos as a `Paxos`,
/// which keeps one copy of the engine in the download, not two);
/// `for_sweep` builds single-decree, the `paxos` sweep.
impl Sweepable for Paxos {
    fn toggles() -> &'static [&'static str] {
        &Toggle::NAMES
    }

    fn for_sweep(servers: usize, toggle: Option<&str>) -> Result<Paxos, String> {
        check_size(servers)?;
        with_toggle(Paxos::single(servers, servers), toggle)
    }

    fn with_options(&self, rng: &mut SimRng) -> Option<Paxos> {
        Some(drawn(self, rng))
    }

    fn options(&self) -> Vec<(&'static str, String)> {
        options_of(self)
    }

    fn promises_liveness(&self) -> bool {
        promises_liveness_of(self)
    }

    fn servers(&self) -> Vec<NodeId> {
        self.server_ids()
    }

    fn clients(&self) -> Vec<NodeId> {
        self.client_ids()
    }

    fn time_unit(&self) -> Duration {
        match self.mode() {
            Mode::Single => self.settings.round_timeout,
            Mode::Multi => self.settings.leader_timeout_max,
        }
    }

    fn checkers(&self) -> Checkers<Paxos> {
        Checkers::new(vec![Box::new(PaxosChecker::for_protocol(self))])
    }

    fn workload_op(&self, n: u64, rng: &mut SimRng) -> PaxosOp {
        match self.mode() {
            Mode::Single => PaxosOp::Propose(format!("w{n}")),
            Mode::Multi => kv_op(n, rng),
        }
    }

    /// L1 (single-decree): every healed server has learned a chosen value.
    /// L2 (Multi-Paxos): one leader, no healed server stuck at a hole below
    /// a slot it has learned, and every answered command executed on every
    /// healed server.
    fn converged(&self, world: &World<Paxos>, healed: &[NodeId]) -> Result<(), String> {
        settled_among(world, healed, Settle::Acknowledged)
    }

    fn leader(&self, world: &World<Paxos>) -> Option<NodeId> {
        match self.mode() {
            Mode::Single => None,
            Mode::Multi => leader_of(world).map(|(n, _)| n),
        }
    }

    /// The leader's ballot: a takeover changes it, even by the same server.
    fn epoch(&self, world: &World<Paxos>) -> Option<u64> {
        match self.mode() {
            Mode::Single => None,
            Mode::Multi => leader_of(world).map(|(_, e)| e),
        }
    }
}

impl Sweepable for MultiPaxos {
    fn toggles() -> &'static [&'static str] {
        &Toggle::NAMES
    }

    fn for_sweep(servers: usize, toggle: Option<&str>) -> Result<MultiPaxos, String> {
        check_size(servers)?;
        with_toggle(Paxos::multi(servers, SWEEP_CLIENTS), toggle).map(MultiPaxos)
    }

    fn with_options(&self, rng: &mut SimRng) -> Option<MultiPaxos> {
        Some(MultiPaxos(drawn(&self.0, rng)))
    }

    fn options(&self) -> Vec<(&'static str, String)> {
        options_of(&self.0)
    }

    fn promises_liveness(&self) -> bool {
        promises_liveness_of(&self.0)
    }

    fn servers(&self) -> Vec<NodeId> {
        self.0.server_ids()
    }

    fn clients(&self) -> Vec<NodeId> {
        self.0.client_ids()
    }

    fn time_unit(&self) -> Duration {
        self.0.time_unit()
    }

    fn checkers(&self) -> Checkers<MultiPaxos> {
        Checkers::new(vec![Box::new(PaxosChecker::for_protocol(self))])
    }

    fn workload_op(&self, n: u64, rng: &mut SimRng) -> PaxosOp {
        self.0.workload_op(n, rng)
    }

    fn converged(&self, world: &World<MultiPaxos>, healed: &[NodeId]) -> Result<(), String> {
        settled_among(world, healed, Settle::Acknowledged)
    }

    fn leader(&self, world: &World<MultiPaxos>) -> Option<NodeId> {
        leader_of(world).map(|(n, _)| n)
    }

    fn epoch(&self, world: &World<MultiPaxos>) -> Option<u64> {
        leader_of(world).map(|(_, e)| e)
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use sim::sweep::run_seed;

    use super::*;

    #[test]
    fn correct_paxos_passes_a_few_seeds() {
        let paxos = Rc::new(Paxos::for_sweep(3, None).unwrap());
        for seed in 0..12 {
            let o = run_seed(&paxos, seed);
            assert_eq!(o.result, Ok(()), "seed {seed}:\n{}", o.params);
        }
    }

    #[test]
    fn correct_multipaxos_passes_a_few_seeds_and_its_epoch_is_the_leaders_ballot() {
        let multi = Rc::new(MultiPaxos::for_sweep(3, None).unwrap());
        for seed in 0..12 {
            let o = run_seed(&multi, seed);
            assert_eq!(o.result, Ok(()), "seed {seed}:\n{}", o.params);
        }
        let mut world = World::new(
            MultiPaxos(Paxos::multi(3, 1)),
            sim::WorldConfig::with_seed(1),
        );
        assert_eq!(multi.epoch(&world), None);
        world.run_until(sim::Time(2_000_000), u64::MAX);
        let leader = multi.leader(&world).expect("a leader after two seconds");
        let ballot = world
            .node(leader)
            .and_then(PaxosNode::as_server)
            .and_then(|s| s.leading())
            .unwrap();
        assert_eq!(ballot.by, Some(leader));
        assert_eq!(
            multi.epoch(&world),
            Some(ballot.round * 1024 + u64::from(leader.0) + 1)
        );
    }
}
