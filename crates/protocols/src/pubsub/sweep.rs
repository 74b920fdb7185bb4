//! The queue in seed sweeps: the [`Sweepable`] contract.
//!
//! Brokers are the servers that faults aim at. The controller is not: the
//! sweep's liveness phase may leave a server crashed for good, and a single
//! controller that stays down can move no partition (see the module doc of
//! [`super`]); its crashes are exercised by scenarios instead. It counts
//! as a client, with the producers and the consumers, so that the liveness
//! phase heals its links too. Two groups read the topic, `billing` with two
//! consumers and `audit` with one; the sweep's crashes may hit consumers and
//! the controller as well as brokers ([`Sweepable::crash_also`]), and the
//! liveness phase restarts them.

use sim::{Checkers, Duration, NodeId, Ppm, SimRng, Sweepable, World};

use super::node::{PubSubNode, PubSubOp};
use super::{Acks, Delivery, GroupSpec, Offset, PartitionId, PubSub, PubSubChecker, Toggle};

/// How many producers a sweep run has.
pub const SWEEP_PRODUCERS: usize = 2;
/// How many partitions a sweep run has.
pub const SWEEP_PARTITIONS: u32 = 2;
/// How many distinct keys the workload uses.
pub const SWEEP_KEYS: usize = 8;

impl Sweepable for PubSub {
    fn toggles() -> &'static [&'static str] {
        &Toggle::NAMES
    }

    fn for_sweep(servers: usize, toggle: Option<&str>) -> Result<PubSub, String> {
        if !(2..=9).contains(&servers) {
            return Err(format!(
                "a pub/sub sweep runs 2 to 9 brokers, not {servers}"
            ));
        }
        // Two groups read the topic: fan-out, and a work queue of two.
        let queue = PubSub::new(servers, SWEEP_PRODUCERS, SWEEP_PARTITIONS).with_groups(vec![
            GroupSpec {
                name: "billing".to_string(),
                members: 2,
                mode: Delivery::AtLeastOnce,
            },
            GroupSpec {
                name: "audit".to_string(),
                members: 1,
                mode: Delivery::AtLeastOnce,
            },
        ]);
        match toggle {
            None => Ok(queue),
            Some(name) => Toggle::from_name(name)
                .map(|t| queue.with_toggle(t))
                .ok_or_else(|| {
                    format!(
                        "pubsub has no toggle \"{name}\"; it has {}",
                        Toggle::NAMES.join(", ")
                    )
                }),
        }
    }

    /// `acks` 0, 1 or all, `min.insync` 1 to every broker, idempotent
    /// producers or not, and each group at-least-once or at-most-once;
    /// then the toggles again (they win over the drawn values, as in the
    /// app). The checker holds the run to what the drawn values promise.
    fn with_options(&self, rng: &mut SimRng) -> Option<PubSub> {
        let mut queue = PubSub::new(self.brokers, self.producers, SWEEP_PARTITIONS);
        let s = &mut queue.settings;
        s.acks = [Acks::Zero, Acks::Leader, Acks::All][rng.index(3)];
        s.min_insync = 1 + rng.index(self.brokers);
        s.idempotence = rng.chance(Ppm::percent(50));
        let mut groups = self.settings.groups.clone();
        for g in &mut groups {
            g.mode = if rng.chance(Ppm::percent(50)) {
                Delivery::AtLeastOnce
            } else {
                Delivery::AtMostOnce
            };
        }
        queue = queue.with_groups(groups);
        for &t in &self.toggles {
            queue = queue.with_toggle(t);
        }
        Some(queue)
    }

    /// The app's options: the fixed `partitions`, `producers`, `billing`
    /// and `audit`, and the drawn `acks`, `mininsync`, `idempotence`,
    /// `billing-mode` and `audit-mode`.
    fn options(&self) -> Vec<(&'static str, String)> {
        let s = &self.settings;
        let acks = match s.acks {
            Acks::Zero => "0",
            Acks::Leader => "1",
            Acks::All => "all",
        };
        let mut options = vec![
            ("partitions", s.user_partition_count().to_string()),
            ("producers", self.producers.to_string()),
            ("acks", acks.to_string()),
            ("mininsync", s.min_insync.to_string()),
            (
                "idempotence",
                if s.idempotence { "1" } else { "0" }.to_string(),
            ),
        ];
        for (count, mode, name) in [
            ("billing", "billing-mode", "billing"),
            ("audit", "audit-mode", "audit"),
        ] {
            let group = s.groups.iter().find(|g| g.name == name);
            options.push((count, group.map_or(0, |g| g.members).to_string()));
            if let Some(g) = group {
                options.push((mode, g.mode.to_string()));
            }
        }
        options
    }

    /// Only with `min.insync` a majority ([`super::Promise::available`]):
    /// the sweep heals a majority and may leave the others down for good.
    fn promises_liveness(&self) -> bool {
        self.promise().available
    }

    fn servers(&self) -> Vec<NodeId> {
        self.broker_ids()
    }

    /// Producers, consumers and the controller: the workload goes to all
    /// of them (a consumer or the controller notes that it publishes
    /// nothing), and the liveness phase heals their links.
    fn clients(&self) -> Vec<NodeId> {
        let mut clients = self.producer_ids();
        clients.extend(self.consumer_ids().into_iter().map(|(c, _)| c));
        clients.push(self.controller_id());
        clients
    }

    /// The consumers (a consumer that crashes mid-batch is what tells
    /// at-least-once from at-most-once, and what makes its group
    /// rebalance) and the controller (which must come back from a crash
    /// with every decision it announced).
    fn crash_also(&self) -> Vec<NodeId> {
        let mut nodes: Vec<NodeId> = self.consumer_ids().into_iter().map(|(c, _)| c).collect();
        nodes.push(self.controller_id());
        nodes
    }

    fn time_unit(&self) -> Duration {
        self.settings.session_timeout
    }

    fn checkers(&self) -> Checkers<PubSub> {
        Checkers::new(vec![Box::new(PubSubChecker::new())])
    }

    fn workload_op(&self, _n: u64, rng: &mut SimRng) -> PubSubOp {
        PubSubOp::Publish {
            key: rng.index(SWEEP_KEYS) as u32,
        }
    }

    /// Converged: every partition has a leader among the healed brokers,
    /// whose high watermark is its log end and whose log every healed
    /// broker holds; and no producer has a message waiting.
    fn converged(&self, world: &World<PubSub>, healed: &[NodeId]) -> Result<(), String> {
        let controller = world
            .node(self.controller_id())
            .and_then(PubSubNode::as_controller)
            .ok_or("the controller is down")?;
        for state in controller.table() {
            let p = state.partition;
            let leader = state.leader.ok_or_else(|| format!("{p} has no leader"))?;
            let lead = world
                .node(leader)
                .and_then(PubSubNode::as_broker)
                .ok_or_else(|| format!("{p}'s leader {leader} is down"))?;
            let r = &lead.replicas()[p.0 as usize];
            if !r.is_leader() {
                return Err(format!("{leader} has not taken up the lead of {p} yet"));
            }
            if r.hw != r.leo() {
                return Err(format!(
                    "{p}'s high watermark {} is below its log end {}",
                    r.hw,
                    r.leo()
                ));
            }
            for &b in healed.iter().filter(|b| self.broker_ids().contains(b)) {
                let log = world
                    .node(b)
                    .and_then(PubSubNode::as_broker)
                    .map(|broker| &broker.replicas()[p.0 as usize].log)
                    .ok_or_else(|| format!("{b} is down"))?;
                if *log != r.log {
                    return Err(format!("{b}'s log of {p} differs from the leader's"));
                }
            }
        }
        for g in self.settings.group_ids() {
            let name = &self.settings.groups[g.0 as usize].name;
            let op = self.settings.offsets_partition(g);
            let leader = controller
                .table()
                .get(op.0 as usize)
                .and_then(|s| s.leader)
                .ok_or_else(|| format!("group {name} has no coordinator"))?;
            let state = world
                .node(leader)
                .and_then(PubSubNode::as_broker)
                .and_then(|b| b.coordinator(g))
                .ok_or_else(|| format!("group {name} has no coordinator on {leader}"))?
                .state();
            for p in self.settings.consumed() {
                // The table is empty until the controller's first decision
                // (the app polls this from the start of a run).
                let leader = controller
                    .table()
                    .get(p.0 as usize)
                    .and_then(|s| s.leader)
                    .ok_or_else(|| format!("{p} has no leader"))?;
                let end = world
                    .node(leader)
                    .and_then(PubSubNode::as_broker)
                    .map_or(Offset(0), |b| b.replicas()[p.0 as usize].leo());
                if state.offset(p) != end {
                    return Err(format!(
                        "group {name} has committed {p} up to {}, not to its end {end}",
                        state.offset(p)
                    ));
                }
            }
        }
        for (c, _) in self.consumer_ids() {
            let consumer = world
                .node(c)
                .and_then(PubSubNode::as_consumer)
                .ok_or_else(|| format!("consumer {c} is down"))?;
            if consumer.busy() {
                return Err(format!("{c} is still processing"));
            }
        }
        for q in self.producer_ids() {
            let producer = world
                .node(q)
                .and_then(PubSubNode::as_producer)
                .ok_or_else(|| format!("producer {q} is down"))?;
            if producer.pending() > 0 {
                return Err(format!("{q} has {} messages pending", producer.pending()));
            }
        }
        Ok(())
    }

    /// The leader of the first partition, as the controller decided it.
    fn leader(&self, world: &World<PubSub>) -> Option<NodeId> {
        let controller = world
            .node(self.controller_id())
            .and_then(PubSubNode::as_controller)?;
        controller
            .table()
            .iter()
            .find(|s| s.partition == PartitionId(0))
            .and_then(|s| s.leader)
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use sim::sweep::run_seed;

    use super::*;

    /// Over a few dozen seeds every value of every drawn option comes up,
    /// a toggle still wins over the drawn value, and what the options
    /// promise follows them.
    #[test]
    fn seeds_draw_every_option_value_and_a_toggle_wins_over_them() {
        let plain = PubSub::for_sweep(3, None).unwrap();
        let toggled = PubSub::for_sweep(3, Some("acks-leader-only")).unwrap();
        let mut seen: std::collections::BTreeSet<(&str, String)> = Default::default();
        for seed in 0..60 {
            let mut rng = SimRng::new(seed, sim::Stream::Options);
            let q = plain.with_options(&mut rng).unwrap();
            seen.extend(q.options());
            let promise = q.promise();
            assert_eq!(
                promise.durable,
                q.settings.acks == Acks::All && q.settings.min_insync >= 2
            );
            assert_eq!(promise.available, q.settings.min_insync == 2);
            assert_eq!(promise.idempotent, q.settings.idempotence);
            let mut rng = SimRng::new(seed, sim::Stream::Options);
            let t = toggled.with_options(&mut rng).unwrap();
            assert_eq!(t.settings.acks, Acks::Leader, "seed {seed}");
            assert_eq!(t.settings.min_insync, q.settings.min_insync);
            // The toggle breaks the promise of acks=all; it makes none.
            assert_eq!(t.promise().durable, q.settings.min_insync >= 2);
        }
        for option in [
            ("acks", "0"),
            ("acks", "1"),
            ("acks", "all"),
            ("mininsync", "1"),
            ("mininsync", "2"),
            ("mininsync", "3"),
            ("idempotence", "0"),
            ("idempotence", "1"),
            ("billing-mode", "at-least-once"),
            ("billing-mode", "at-most-once"),
            ("audit-mode", "at-least-once"),
            ("audit-mode", "at-most-once"),
        ] {
            assert!(
                seen.contains(&(option.0, option.1.to_string())),
                "no seed drew {option:?}"
            );
        }
    }

    #[test]
    fn the_safe_settings_pass_a_few_seeds() {
        let queue = Rc::new(PubSub::for_sweep(3, None).unwrap());
        let mut failed = Vec::new();
        for seed in 0..40 {
            let o = run_seed(&queue, seed);
            if let Err(e) = o.result {
                failed.push(format!("seed {seed}: {e}\n{}", o.params));
            }
        }
        assert!(failed.is_empty(), "{}", failed.join("\n\n"));
    }
}
