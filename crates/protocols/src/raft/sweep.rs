//! Raft in seed sweeps: the [`Sweepable`] contract.

use sim::{Checkers, Duration, NodeId, SimRng, Sweepable, World};

use super::node::{RaftNode, RaftOp};
use super::scenario::{settled_among, Settle};
use super::{KvOp, Raft, RaftChecker, Toggle};

/// How many clients a sweep run has.
pub const SWEEP_CLIENTS: usize = 2;

impl Sweepable for Raft {
    fn toggles() -> &'static [&'static str] {
        &Toggle::NAMES
    }

    fn for_sweep(servers: usize, toggle: Option<&str>) -> Result<Raft, String> {
        if !(1..=15).contains(&servers) {
            return Err(format!("a Raft sweep runs 1 to 15 servers, not {servers}"));
        }
        let raft = Raft::new(servers, SWEEP_CLIENTS);
        match toggle {
            None => Ok(raft),
            Some(name) => Toggle::from_name(name)
                .map(|t| raft.with_toggle(t))
                .ok_or_else(|| {
                    format!(
                        "Raft has no toggle \"{name}\"; it has {}",
                        Toggle::NAMES.join(", ")
                    )
                }),
        }
    }

    fn servers(&self) -> Vec<NodeId> {
        self.server_ids()
    }

    fn clients(&self) -> Vec<NodeId> {
        self.client_ids()
    }

    fn time_unit(&self) -> Duration {
        self.settings.election_timeout_max
    }

    fn checkers(&self) -> Checkers<Raft> {
        Checkers::new(vec![Box::new(RaftChecker::new())])
    }

    fn workload_op(&self, n: u64, rng: &mut SimRng) -> RaftOp {
        let key = ["x", "y", "z"][rng.index(3)].to_string();
        let op = match rng.index(3) {
            0 => KvOp::Put {
                key,
                value: n.to_string(),
            },
            1 => KvOp::Append {
                key,
                value: format!("{n},"),
            },
            _ => KvOp::Get { key },
        };
        RaftOp::Kv(op)
    }

    fn converged(&self, world: &World<Raft>, healed: &[NodeId]) -> Result<(), String> {
        settled_among(world, healed, Settle::Acknowledged)
    }

    /// The leader of the highest term among the servers that are up (a
    /// deposed leader that has not heard of the new term yet is not it).
    fn leader(&self, world: &World<Raft>) -> Option<NodeId> {
        self.server_ids()
            .into_iter()
            .filter_map(|n| world.node(n).and_then(RaftNode::as_server).map(|s| (n, s)))
            .filter(|(_, s)| s.is_leader())
            .max_by_key(|(_, s)| s.term())
            .map(|(n, _)| n)
    }

    /// The term of [`Sweepable::leader`]: a leader deposed and replaced
    /// changes it, even if the same server wins again.
    fn epoch(&self, world: &World<Raft>) -> Option<u64> {
        let leader = self.leader(world)?;
        let server = world.node(leader).and_then(RaftNode::as_server)?;
        Some(server.term().0)
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use sim::sweep::run_seed;

    use super::*;

    #[test]
    fn correct_raft_passes_a_few_seeds_and_its_epoch_is_the_leaders_term() {
        let raft = Rc::new(Raft::for_sweep(3, None).unwrap());
        for seed in 0..12 {
            let o = run_seed(&raft, seed);
            assert_eq!(o.result, Ok(()), "seed {seed}:\n{}", o.params);
        }
        let mut world = World::new(Raft::new(3, 1), sim::WorldConfig::with_seed(1));
        assert_eq!(raft.epoch(&world), None);
        world.run_until(sim::Time(2_000_000), u64::MAX);
        let leader = raft.leader(&world).expect("a leader after two seconds");
        let term = world
            .node(leader)
            .and_then(RaftNode::as_server)
            .unwrap()
            .term();
        assert_eq!(raft.epoch(&world), Some(term.0));
    }

    /// Seed 662 at seven servers once panicked ("would truncate committed
    /// entry 8"): a leader elected without the up-to-date check before an
    /// older leader's entry was committed. R4 must name it when the entry
    /// commits, and the toggled node must carry on rather than panic.
    #[test]
    fn leader_completeness_binds_leaders_elected_before_the_commit() {
        let raft = Rc::new(Raft::for_sweep(7, Some("skip-up-to-date-check")).unwrap());
        let o = run_seed(&raft, 662);
        let Err(sim::sweep::Failure::Safety(violations)) = &o.result else {
            panic!("seed 662 should break a safety rule, got {:?}", o.result);
        };
        let r4 = violations
            .iter()
            .find(|v| v.rule == "R4")
            .unwrap_or_else(|| panic!("R4 should fire, got {violations:?}"));
        assert!(
            r4.message.contains("was committed in term") && r4.message.contains("does not hold it"),
            "{}",
            r4.message
        );
    }

    /// L1's predicate, seen to fail for each reason it gives: no leader
    /// yet, an answered operation a server has not applied, and a leader
    /// gone; and to hold in between.
    #[test]
    fn the_liveness_predicate_wants_a_leader_and_every_answer_applied() {
        use sim::{Input, NodeId, Time};

        let raft = Raft::for_sweep(3, None).unwrap();
        let servers = raft.servers();
        let mut world = World::new(raft.clone(), sim::WorldConfig::with_seed(1));
        // Booted, before any election timeout.
        world.run_until(Time(1_000), u64::MAX);
        assert_eq!(
            raft.converged(&world, &servers),
            Err("0 leaders in term 0".to_string())
        );
        world.run_until(Time(2_000_000), u64::MAX);
        assert_eq!(raft.converged(&world, &servers), Ok(()));
        // A follower is down while a put is answered, and is just back.
        let leader = raft.leader(&world).unwrap();
        let follower = *servers.iter().find(|&&s| s != leader).unwrap();
        world.apply(Input::Crash(follower)).unwrap();
        let put = KvOp::Put {
            key: "x".into(),
            value: "1".into(),
        };
        let client = NodeId(3);
        let op = RaftOp::Kv(put);
        world.apply(Input::Request { node: client, op }).unwrap();
        world.run_until(Time(4_000_000), u64::MAX);
        world.apply(Input::Restart(follower)).unwrap();
        assert_eq!(
            raft.converged(&world, &servers),
            Err(format!(
                "{follower} has not applied {client}#1, which was answered"
            ))
        );
        world.run_until(Time(6_000_000), u64::MAX);
        assert_eq!(raft.converged(&world, &servers), Ok(()));
        // The leader crashes: the others have no leader of their term.
        let term = raft.epoch(&world).unwrap();
        world.apply(Input::Crash(leader)).unwrap();
        let rest: Vec<NodeId> = servers.iter().copied().filter(|&s| s != leader).collect();
        assert_eq!(
            raft.converged(&world, &rest),
            Err(format!("0 leaders in term {term}"))
        );
    }
}
