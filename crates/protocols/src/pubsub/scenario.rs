//! The queue in scenario scripts: the [`Scripted`] contract.
//!
//! `setup` reads `brokers=3 producers=1 partitions=2`, the groups as
//! `groups=billing:2,audit:1` (name and number of consumers; a third part
//! `:at-most-once` sets the mode), `acks=0|1|all`, `mininsync=N` and
//! `toggle=NAME`. An operation is `publish <key>`, handed to a producer.
//! `settled` is the sweep's convergence over the brokers that are up.

use sim::sorted::SortedMap;

use sim::{Health, Input, NodeId, Sweepable, World};

use crate::script::Scripted;

use super::node::{PubSubNode, PubSubOp};
use super::{Acks, Delivery, GroupSpec, PubSub, Toggle};

fn groups(spec: &str) -> Result<Vec<GroupSpec>, String> {
    spec.split(',')
        .filter(|g| !g.is_empty())
        .map(|g| {
            let parts: Vec<&str> = g.split(':').collect();
            let (name, members, mode) = match parts.as_slice() {
                [name, members] => (name, members, Delivery::AtLeastOnce),
                [name, members, "at-least-once"] => (name, members, Delivery::AtLeastOnce),
                [name, members, "at-most-once"] => (name, members, Delivery::AtMostOnce),
                _ => {
                    return Err(format!(
                        "a group is name:members[:at-least-once|at-most-once], not \"{g}\""
                    ))
                }
            };
            let members: usize = members
                .parse()
                .ok()
                .filter(|m| (1..=6).contains(m))
                .ok_or_else(|| format!("a group has 1 to 6 consumers, not \"{members}\""))?;
            Ok(GroupSpec {
                name: name.to_string(),
                members,
                mode,
            })
        })
        .collect()
}

impl Scripted for PubSub {
    fn from_setup(args: &SortedMap<String, String>) -> Result<PubSub, String> {
        let num = |k: &str, default: usize| -> Result<usize, String> {
            args.get(k).map_or(Ok(default), |v| {
                v.parse().map_err(|_| format!("{k}={v} is not a number"))
            })
        };
        let brokers = num("brokers", 3)?;
        if !(1..=7).contains(&brokers) {
            return Err(format!(
                "a script cluster has 1 to 7 brokers, not {brokers}"
            ));
        }
        let partitions = num("partitions", 2)?;
        if !(1..=8).contains(&partitions) {
            return Err(format!("a topic has 1 to 8 partitions, not {partitions}"));
        }
        let mut queue = PubSub::new(brokers, num("producers", 1)?, partitions as u32)
            .with_groups(groups(args.get("groups").map_or("", String::as_str))?);
        if let Some(a) = args.get("acks") {
            queue.settings.acks = match a.as_str() {
                "0" => Acks::Zero,
                "1" => Acks::Leader,
                "all" => Acks::All,
                _ => return Err(format!("acks is 0, 1 or all, not \"{a}\"")),
            };
        }
        queue.settings.min_insync = num("mininsync", queue.settings.min_insync)?;
        for k in args.keys() {
            if ![
                "brokers",
                "producers",
                "partitions",
                "groups",
                "acks",
                "mininsync",
                "toggle",
            ]
            .contains(&k.as_str())
            {
                return Err(format!("unknown setup key \"{k}\""));
            }
        }
        if let Some(name) = args.get("toggle") {
            let t = Toggle::from_name(name).ok_or_else(|| format!("unknown toggle \"{name}\""))?;
            queue = queue.with_toggle(t);
        }
        Ok(queue)
    }

    fn parse_op(&self, words: &[&str]) -> Result<PubSubOp, String> {
        match words {
            ["publish", key] => key
                .parse()
                .map(|key| PubSubOp::Publish { key })
                .map_err(|_| format!("a key is a whole number, not \"{key}\"")),
            _ => Err("an operation is `publish <key>`".to_string()),
        }
    }

    fn command(&self, _name: &str, _args: &[&str]) -> Option<Result<Input<PubSubOp>, String>> {
        None
    }

    fn status(world: &World<PubSub>) -> Vec<String> {
        world
            .node_ids()
            .map(|id| match world.node(id) {
                None => format!("{id} crashed"),
                Some(PubSubNode::Broker(b)) => {
                    let parts: Vec<String> = b
                        .replicas()
                        .iter()
                        .map(|r| {
                            let ids: Vec<String> = r.log.iter().map(|x| x.id.to_string()).collect();
                            format!(
                                "{}{} [{}] hw {}",
                                r.partition,
                                if r.is_leader() { "*" } else { "" },
                                ids.join(" "),
                                r.hw
                            )
                        })
                        .collect();
                    let groups: Vec<String> = b
                        .coordinators()
                        .map(|c| {
                            let g = c.state();
                            let owned: Vec<String> = g
                                .owners
                                .iter()
                                .map(|(p, m)| format!("{p}:{m}@{}", g.offset(*p)))
                                .collect();
                            format!(
                                "; coordinates {} {} [{}]",
                                g.group,
                                g.generation,
                                owned.join(" ")
                            )
                        })
                        .collect();
                    format!("{id} broker {}{}", parts.join("; "), groups.concat())
                }
                Some(PubSubNode::Controller(c)) => {
                    let table: Vec<String> = c.table().iter().map(|s| s.to_string()).collect();
                    format!("{id} controller {}", table.join("; "))
                }
                Some(PubSubNode::Producer(p)) => format!(
                    "{id} producer: {} acknowledged, {} pending",
                    p.acked().len(),
                    p.pending()
                ),
                Some(PubSubNode::Consumer(c)) => {
                    let at: Vec<String> = c
                        .assigned()
                        .iter()
                        .map(|(p, pos)| format!("{p} at {} committed {}", pos.next, pos.committed))
                        .collect();
                    format!(
                        "{id} consumer of {} {}: {}",
                        c.group(),
                        c.generation(),
                        at.join(", ")
                    )
                }
            })
            .collect()
    }

    fn settled(world: &World<PubSub>) -> bool {
        let up: Vec<NodeId> = world
            .protocol()
            .broker_ids()
            .into_iter()
            .filter(|&b| world.conditions(b).health == Health::Up)
            .collect();
        world.protocol().converged(world, &up).is_ok()
    }
}
