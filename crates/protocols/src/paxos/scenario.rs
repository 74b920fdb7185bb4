//! Paxos in scenario scripts (see [`crate::script`]).
//!
//! `setup` keys: `servers`, `mode=single|multi`, `proposers` (single-decree:
//! how many servers propose their own value from the start), `clients`
//! (Multi-Paxos), `timeout=300` (a proposer's wait per attempt, ms),
//! `backoff=50`, `start=100` (single-decree: the window in which proposers
//! start), `heartbeat=50`, `leader=150..300` (Multi-Paxos leader timeout),
//! `catchup=600`, `retry=400`, `toggle=<name>`. Operations: `request n1
//! propose v9` (a server), `request n4 put x 1`, `get x`, `append x a` (a
//! client). Paxos's own command: `prepare n1` makes the server start a
//! ballot now.

use sim::sorted::SortedMap;

use sim::{Health, Input, NodeId, World};

use super::msg::{show_ballot, Slot};
use super::node::{PaxosNode, PaxosOp, Proposer, Server};
use super::{Mode, Paxos, PaxosLike, Toggle};
use crate::kv::KvOp;
use crate::script::{parse_duration, parse_node, Scripted};

fn range(v: &str) -> Result<(sim::Duration, sim::Duration), String> {
    let (lo, hi) = v.split_once("..").unwrap_or((v, v));
    Ok((parse_duration(lo)?, parse_duration(hi)?))
}

const KEYS: &[&str] = &[
    "servers",
    "mode",
    "proposers",
    "clients",
    "timeout",
    "backoff",
    "start",
    "heartbeat",
    "leader",
    "catchup",
    "retry",
    "toggle",
];

impl Scripted for Paxos {
    fn from_setup(args: &SortedMap<String, String>) -> Result<Paxos, String> {
        if let Some(k) = args.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(format!("unknown setup key \"{k}\""));
        }
        let num = |k: &str, default: usize| -> Result<usize, String> {
            args.get(k).map_or(Ok(default), |v| {
                v.parse().map_err(|_| format!("{k}={v} is not a number"))
            })
        };
        let servers = num("servers", 3)?;
        if !(1..=9).contains(&servers) {
            return Err(format!(
                "a script cluster has 1 to 9 servers, not {servers}"
            ));
        }
        let mode = match args.get("mode") {
            None => Mode::Single,
            Some(m) => {
                Mode::from_name(m).ok_or_else(|| format!("mode is single or multi, not \"{m}\""))?
            }
        };
        let mut paxos = match mode {
            Mode::Single => Paxos::single(servers, num("proposers", 1)?),
            Mode::Multi => Paxos::multi(servers, num("clients", 1)?),
        };
        let s = &mut paxos.settings;
        for (key, field) in [
            ("timeout", &mut s.round_timeout),
            ("backoff", &mut s.backoff),
            ("start", &mut s.start_window),
            ("heartbeat", &mut s.heartbeat_interval),
            ("catchup", &mut s.catchup_interval),
            ("retry", &mut s.client_retry),
        ] {
            if let Some(v) = args.get(key) {
                *field = parse_duration(v)?;
            }
        }
        if let Some(v) = args.get("leader") {
            (s.leader_timeout_min, s.leader_timeout_max) = range(v)?;
        }
        if let Some(name) = args.get("toggle") {
            let t = Toggle::from_name(name).ok_or_else(|| format!("unknown toggle \"{name}\""))?;
            paxos = paxos.with_toggle(t);
        }
        Ok(paxos)
    }

    fn parse_op(&self, words: &[&str]) -> Result<PaxosOp, String> {
        let op = match words {
            ["propose", v] => return Ok(PaxosOp::Propose(v.to_string())),
            ["put", key, value] => KvOp::Put {
                key: key.to_string(),
                value: value.to_string(),
            },
            ["get", key] => KvOp::Get {
                key: key.to_string(),
            },
            ["append", key, value] => KvOp::Append {
                key: key.to_string(),
                value: value.to_string(),
            },
            _ => {
                return Err(
                    "an operation is `propose v`, `put k v`, `get k` or `append k v`".to_string(),
                )
            }
        };
        Ok(PaxosOp::Kv(op))
    }

    fn command(&self, name: &str, args: &[&str]) -> Option<Result<Input<PaxosOp>, String>> {
        (name == "prepare").then(|| {
            let node = parse_node(args.first().ok_or("`prepare` needs a server")?)?;
            if !self.is_server(node) {
                return Err(format!("{node} is not a server"));
            }
            Ok(Input::Request {
                node,
                op: PaxosOp::Prepare,
            })
        })
    }

    fn status(world: &World<Paxos>) -> Vec<String> {
        world
            .node_ids()
            .map(|id| match world.node(id) {
                None => format!("{id} crashed"),
                Some(PaxosNode::Server(s)) => status_line(id, s),
                Some(PaxosNode::Client(c)) => format!(
                    "{id} client: {} outstanding, {} queued",
                    usize::from(c.outstanding().is_some()),
                    c.queued()
                ),
            })
            .collect()
    }

    fn settled(world: &World<Paxos>) -> bool {
        settled_among(world, &world.protocol().server_ids(), Settle::Quiescent).is_ok()
    }
}

fn status_line(id: NodeId, s: &Server) -> String {
    let proposer = match s.proposer() {
        Proposer::Idle => String::new(),
        Proposer::Preparing(p) => format!(" preparing {}", p.ballot),
        Proposer::Proposing(p) => format!(" proposing {}", p.ballot),
    };
    let accepted: Vec<String> = s
        .accepted()
        .iter()
        .map(|(slot, (b, v))| format!("{slot}:{v}@{b}"))
        .collect();
    let chosen: Vec<String> = s
        .chosen()
        .iter()
        .map(|(slot, v)| format!("{slot}:{v}"))
        .collect();
    let mut line = format!(
        "{id} {}{proposer} promised {} accepted [{}] learned [{}]",
        s.role_name(),
        show_ballot(s.promised()),
        accepted.join(" "),
        chosen.join(" ")
    );
    if s.executed() > Slot(0) || s.leader().is_some() {
        let kv: Vec<String> = s
            .kv()
            .data()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        line.push_str(&format!(
            " executed {} kv {{{}}}",
            s.executed(),
            kv.join(", ")
        ));
    }
    line
}

/// What [`settled_among`] waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settle {
    /// Everything is quiet (for scripts' `stabilize`): single-decree, every
    /// server of the group has learned the value; Multi-Paxos, one leader
    /// with nothing pending, every server that hears it has executed what
    /// it has, and no client waits.
    Quiescent,
    /// The sweep's liveness checks L1 and L2: single-decree, every server of
    /// the group has learned the value; Multi-Paxos, one leader, no server
    /// of the group has learned a slot above one it has not learned, and
    /// every command a client saw answered is executed on every server of
    /// the group (load may still be flowing).
    Acknowledged,
}

/// Whether the up servers of `group` have converged, and if not, why, in a
/// sentence that names the liveness check.
pub fn settled_among<P: PaxosLike>(
    world: &World<P>,
    group: &[NodeId],
    mode: Settle,
) -> Result<(), String> {
    let up_server = |n: NodeId| {
        (world.conditions(n).health == Health::Up)
            .then(|| world.node(n).and_then(PaxosNode::as_server))
            .flatten()
            .map(|s| (n, s))
    };
    let servers: Vec<_> = group.iter().filter_map(|&n| up_server(n)).collect();
    if servers.is_empty() {
        return Err("no server is up".to_string());
    }
    let paxos = world.protocol().paxos();
    if paxos.mode() == Mode::Single {
        for (id, s) in &servers {
            if !s.chosen().contains_key(&Slot(1)) {
                return Err(format!("L1: {id} has not learned a chosen value"));
            }
        }
        return Ok(());
    }
    let max = servers.iter().filter_map(|(_, s)| s.promised()).max();
    let leaders: Vec<_> = paxos
        .server_ids()
        .into_iter()
        .filter_map(up_server)
        .filter(|(_, s)| s.leading().is_some() && s.leading() >= max)
        .collect();
    let [(lid, leader)] = leaders.as_slice() else {
        return Err(format!(
            "L2: {} leaders hold the highest ballot {}",
            leaders.len(),
            show_ballot(max)
        ));
    };
    match mode {
        Settle::Quiescent => {
            if let Proposer::Proposing(p) = leader.proposer() {
                if !p.pending.is_empty() {
                    return Err(format!("L2: {lid} has {} slot(s) pending", p.pending.len()));
                }
            }
            let net = world.network();
            for (id, s) in &servers {
                if net.is_cut(*lid, *id) || net.is_cut(*id, *lid) {
                    continue;
                }
                if s.executed() != leader.executed() {
                    return Err(format!(
                        "L2: {id} has executed {} of {} slots",
                        s.executed(),
                        leader.executed()
                    ));
                }
            }
            for c in paxos.client_ids() {
                if let Some(PaxosNode::Client(c)) = world.node(c) {
                    if c.outstanding().is_some() || c.queued() > 0 {
                        return Err("L2: a client still waits for an answer".to_string());
                    }
                }
            }
            Ok(())
        }
        Settle::Acknowledged => {
            // A log stuck at a hole: a server has learned a slot, but not
            // one below it, so it executes nothing from the hole on. A new
            // leader fills every hole below what its promises reported
            // with a no-op; one that does not leaves the hole for ever,
            // and its clients' later commands are never answered, so the
            // check on answered commands below cannot see it.
            for (id, s) in &servers {
                let hole = s.first_unlearned();
                if let Some(top) = s.chosen().keys().next_back().filter(|&&t| t > hole) {
                    return Err(format!(
                        "L2: {id} has learned slot {top} but not slot {hole}, so it executes nothing from {hole} on"
                    ));
                }
            }
            for c in paxos.client_ids() {
                let Some(PaxosNode::Client(client)) = world.node(c) else {
                    continue;
                };
                let Some(done) = client.last_completed() else {
                    continue;
                };
                for (id, s) in &servers {
                    if s.kv().last_request(c).is_none_or(|r| r < done) {
                        return Err(format!(
                            "L2: {id} has not executed {c}{done}, which was answered"
                        ));
                    }
                }
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use sim::{Time, WorldConfig};

    use super::*;
    use crate::paxos::msg::PaxosMsg;

    /// The lowest slot the leader `l` has proposed and not learned.
    fn lowest_pending(world: &World<Paxos>, l: NodeId) -> Option<Slot> {
        match world.node(l).and_then(PaxosNode::as_server)?.proposer() {
            Proposer::Proposing(p) => p.pending.keys().next().copied(),
            _ => None,
        }
    }

    #[test]
    fn l2_fails_while_a_server_has_learned_a_slot_above_a_hole() {
        let mut world = World::new(Paxos::multi(3, 2), WorldConfig::with_seed(1));
        world.run_until(Time(2_000_000), u64::MAX);
        let servers = world.protocol().server_ids();
        let leader = servers
            .iter()
            .copied()
            .find(|&n| {
                world
                    .node(n)
                    .and_then(PaxosNode::as_server)
                    .is_some_and(|s| s.leading().is_some())
            })
            .expect("a leader after two seconds");
        assert_eq!(
            settled_among(&world, &servers, Settle::Acknowledged),
            Ok(())
        );
        // Both clients send a command; the leader proposes them in two
        // slots. Every vote for the lower slot that is on its way to the
        // leader is lost, until the leader has learned the higher one.
        for (client, value) in world.protocol().client_ids().into_iter().zip(["1", "2"]) {
            let op = PaxosOp::Kv(KvOp::Put {
                key: "x".into(),
                value: value.into(),
            });
            world.apply(Input::Request { node: client, op }).unwrap();
        }
        let mut hole = None;
        for _ in 0..10_000 {
            if let Some(h) = hole.or(lowest_pending(&world, leader)) {
                hole = Some(h);
                let lost: Vec<_> = world
                    .in_flight()
                    .filter(|m| m.to == leader && m.fate == sim::Fate::Delivering)
                    .filter(|m| matches!(m.msg, PaxosMsg::Accepted { slot, .. } if slot == h))
                    .map(|m| m.id)
                    .collect();
                for id in lost {
                    world.apply(Input::DropMessage(id)).unwrap();
                }
                let s = world.node(leader).and_then(PaxosNode::as_server).unwrap();
                if s.chosen().keys().next_back().is_some_and(|&top| top > h) {
                    break;
                }
            }
            world.step();
        }
        let hole = hole.expect("the leader proposed the commands");
        // No command was answered, so every answered one is executed
        // everywhere; the hole alone breaks L2.
        assert_eq!(
            settled_among(&world, &servers, Settle::Acknowledged),
            Err(format!(
                "L2: {leader} has learned slot {} but not slot {hole}, so it executes nothing from {hole} on",
                hole.next()
            ))
        );
        // The leader sends its accept for the hole again with its next
        // heartbeat, learns it, and executes both commands.
        world.run_until(Time(world.now().0 + 1_000_000), u64::MAX);
        assert_eq!(
            settled_among(&world, &servers, Settle::Acknowledged),
            Ok(())
        );
    }

    /// The server that leads, if exactly one does.
    fn the_leader(world: &World<Paxos>) -> NodeId {
        let servers = world.protocol().server_ids();
        let leaders: Vec<NodeId> = servers
            .into_iter()
            .filter(|&n| {
                world
                    .node(n)
                    .and_then(PaxosNode::as_server)
                    .is_some_and(|s| s.leading().is_some())
            })
            .collect();
        assert_eq!(leaders.len(), 1, "one leader, not {leaders:?}");
        leaders[0]
    }

    #[test]
    fn l1_fails_until_every_healed_server_has_learned_the_value() {
        let mut world = World::new(Paxos::single(3, 1), WorldConfig::with_seed(1));
        let servers = world.protocol().server_ids();
        let n3 = servers[2];
        let isolate = Input::Isolate {
            node: n3,
            direction: sim::Direction::Both,
        };
        world.apply(isolate).unwrap();
        world.run_until(Time(2_000_000), u64::MAX);
        // n1 and n2 have chosen a value between them; n3 heard nothing.
        assert_eq!(
            settled_among(&world, &servers[..2], Settle::Acknowledged),
            Ok(())
        );
        assert_eq!(
            settled_among(&world, &servers, Settle::Acknowledged),
            Err(format!("L1: {n3} has not learned a chosen value"))
        );
        world.apply(Input::HealAll).unwrap();
        world.run_until(Time(6_000_000), u64::MAX);
        assert_eq!(
            settled_among(&world, &servers, Settle::Acknowledged),
            Ok(())
        );
    }

    #[test]
    fn l2_fails_while_no_server_leads_the_highest_ballot() {
        let mut world = World::new(Paxos::multi(3, 2), WorldConfig::with_seed(1));
        world.run_until(Time(2_000_000), u64::MAX);
        let leader = the_leader(&world);
        let others: Vec<NodeId> = world
            .protocol()
            .server_ids()
            .into_iter()
            .filter(|&n| n != leader)
            .collect();
        world.apply(Input::Crash(leader)).unwrap();
        let why = settled_among(&world, &others, Settle::Acknowledged).unwrap_err();
        assert!(
            why.starts_with("L2: 0 leaders hold the highest ballot"),
            "{why}"
        );
        // One of the two takes over and is then the one leader.
        world.run_until(Time(8_000_000), u64::MAX);
        assert_eq!(settled_among(&world, &others, Settle::Acknowledged), Ok(()));
        assert_ne!(the_leader_among(&world, &others), leader);
    }

    /// The one server of `group` that leads.
    fn the_leader_among(world: &World<Paxos>, group: &[NodeId]) -> NodeId {
        let leading: Vec<NodeId> = group
            .iter()
            .copied()
            .filter(|&n| {
                world
                    .node(n)
                    .and_then(PaxosNode::as_server)
                    .is_some_and(|s| s.leading().is_some())
            })
            .collect();
        assert_eq!(
            leading.len(),
            1,
            "one leader among {group:?}, not {leading:?}"
        );
        leading[0]
    }

    #[test]
    fn l2_fails_while_a_healed_server_has_not_executed_an_answered_command() {
        let mut world = World::new(Paxos::multi(3, 1), WorldConfig::with_seed(1));
        world.run_until(Time(2_000_000), u64::MAX);
        let leader = the_leader(&world);
        let servers = world.protocol().server_ids();
        let behind = *servers.iter().find(|&&n| n != leader).unwrap();
        let isolate = Input::Isolate {
            node: behind,
            direction: sim::Direction::Both,
        };
        world.apply(isolate).unwrap();
        let client = world.protocol().client_ids()[0];
        let op = PaxosOp::Kv(KvOp::Put {
            key: "x".into(),
            value: "1".into(),
        });
        world.apply(Input::Request { node: client, op }).unwrap();
        world.run_until(Time(3_000_000), u64::MAX);
        let Some(PaxosNode::Client(c)) = world.node(client) else {
            panic!("{client} is a client");
        };
        let done = c.last_completed().expect("the put was answered");
        assert_eq!(
            settled_among(&world, &servers, Settle::Acknowledged),
            Err(format!(
                "L2: {behind} has not executed {client}{done}, which was answered"
            ))
        );
        world.apply(Input::HealAll).unwrap();
        world.run_until(Time(6_000_000), u64::MAX);
        assert_eq!(
            settled_among(&world, &servers, Settle::Acknowledged),
            Ok(())
        );
    }
}
