//! Paxos in seed sweeps: the [`Sweepable`] contract, for single-decree Paxos
//! (`paxos`) and Multi-Paxos (`multipaxos`).
//!
//! A single-decree sweep makes every server a proposer of its own value, so
//! that proposers compete in every seed and whichever majority is healed
//! holds one; the workload hands servers further values to propose. A
//! Multi-Paxos sweep has two clients sending key-value commands.

use sim::{Checkers, Duration, NodeId, SimRng, Sweepable, World};

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
