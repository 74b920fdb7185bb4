//! Raft in seed sweeps: the [`Sweepable`] contract.

use sim::{Checkers, Duration, NodeId, Ppm, SimRng, Sweepable, World};

use super::node::{RaftNode, RaftOp};
use super::scenario::{settled_among, Settle};
use super::{KvOp, Raft, RaftChecker, Toggle};

/// How many clients a sweep run has before its options are drawn.
pub const SWEEP_CLIENTS: usize = 2;

/// The election timeout ranges a seed draws from, in milliseconds: the
/// paper's 150-300 and others the app's settings accept, shorter and
/// longer, narrow and wide.
pub const ELECTION_RANGES: [(u64, u64); 4] = [(150, 300), (100, 200), (300, 600), (150, 450)];
/// The heartbeat intervals a seed draws from, in milliseconds (each below
/// every election timeout above, as Raft needs).
pub const HEARTBEATS: [u64; 2] = [20, 50];
/// The batch sizes (entries per AppendEntries) a seed draws from, from one
/// entry a message to the app's largest.
pub const BATCHES: [u64; 4] = [1, 4, 32, 64];
/// The most clients the app's settings allow; a seed draws 1 to this many.
pub const MOST_CLIENTS: usize = 5;

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

    /// PreVote and CheckQuorum each on or off, the election timeout range,
    /// the heartbeat, the batch size and 1 to 5 clients; then the toggles
    /// again (one that turns PreVote and CheckQuorum off, or fixes the
    /// election timeout, wins over the drawn values, as in the app).
    fn with_options(&self, rng: &mut SimRng) -> Option<Raft> {
        let clients = 1 + rng.index(MOST_CLIENTS);
        let mut raft = Raft::new(self.servers, clients);
        let s = &mut raft.settings;
        s.pre_vote = rng.chance(Ppm::percent(50));
        s.check_quorum = rng.chance(Ppm::percent(50));
        let (lo, hi) = ELECTION_RANGES[rng.index(ELECTION_RANGES.len())];
        s.election_timeout_min = Duration::from_ms(lo);
        s.election_timeout_max = Duration::from_ms(hi);
        s.heartbeat_interval = Duration::from_ms(HEARTBEATS[rng.index(HEARTBEATS.len())]);
        s.max_entries_per_append = BATCHES[rng.index(BATCHES.len())] as usize;
        for &t in &self.toggles {
            raft = raft.with_toggle(t);
        }
        Some(raft)
    }

    /// The app's options `prevote`, `checkquorum`, `clients`, `election`,
    /// `heartbeat` and `batch`.
    fn options(&self) -> Vec<(&'static str, String)> {
        let s = &self.settings;
        let on = |b: bool| if b { "1" } else { "0" }.to_string();
        vec![
            ("prevote", on(s.pre_vote)),
            ("checkquorum", on(s.check_quorum)),
            ("clients", self.clients.to_string()),
            (
                "election",
                format!(
                    "{}-{}",
                    s.election_timeout_min.as_us() / 1_000,
                    s.election_timeout_max.as_us() / 1_000
                ),
            ),
            (
                "heartbeat",
                (s.heartbeat_interval.as_us() / 1_000).to_string(),
            ),
            ("batch", s.max_entries_per_append.to_string()),
        ]
    }

    /// Only with PreVote and CheckQuorum both on (as the options have them
    /// before a toggle turns them off): without PreVote, a minority server
    /// cut off on its way in raises its term again and again and deposes
    /// every leader its requests reach; without CheckQuorum, a PreVote
    /// check is refused only while a leader is heard, and a leader cut off
    /// in the minority never steps down. Toggle `no-prevote-checkquorum`
    /// teaches exactly this, so its seeds are judged as the options
    /// promise. Every batch size promises it: with one entry per
    /// AppendEntries a follower far behind catches up only because the
    /// leader keeps several batches in flight (see
    /// [`super::node::MAX_INFLIGHT`]).
    fn promises_liveness(&self) -> bool {
        let toggled = self.toggles.contains(&Toggle::NoPrevoteCheckquorum);
        toggled || (self.settings.pre_vote && self.settings.check_quorum)
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
        Checkers::new(vec![Box::new(RaftChecker::with_check_steps(
            self.check_steps,
        ))])
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
    /// Seed 868 has such a history with the options seeds draw now.
    #[test]
    fn leader_completeness_binds_leaders_elected_before_the_commit() {
        let raft = Rc::new(Raft::for_sweep(7, Some("skip-up-to-date-check")).unwrap());
        let o = run_seed(&raft, 868);
        let Err(sim::sweep::Failure::Safety(violations)) = &o.result else {
            panic!("seed 868 should break a safety rule, got {:?}", o.result);
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
