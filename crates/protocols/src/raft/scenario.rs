//! Raft in scenario scripts (see [`crate::script`]).
//!
//! `setup` keys: `servers`, `clients`, `election=150..300` (ms),
//! `heartbeat=50`, `retry=400`, `batch=32` (entries per AppendEntries),
//! `prevote=off`, `checkquorum=off`, `toggle=<name>`. Operations: `request n4 put x 1`, `request n4 get x`,
//! `request n4 append x a`. Raft's own command: `campaign n1` makes the
//! server's election timer expire now.

use sim::sorted::SortedMap;

use sim::{Health, Input, NodeId, World};

use super::node::{RaftNode, RaftOp, Server};
use super::{KvOp, Raft, Toggle};
use crate::script::{parse_duration, parse_node, Scripted};

fn range(v: &str) -> Result<(sim::Duration, sim::Duration), String> {
    let (lo, hi) = v.split_once("..").unwrap_or((v, v));
    Ok((parse_duration(lo)?, parse_duration(hi)?))
}

impl Scripted for Raft {
    fn from_setup(args: &SortedMap<String, String>) -> Result<Raft, String> {
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
        let mut raft = Raft::new(servers, num("clients", 1)?);
        let s = &mut raft.settings;
        if let Some(v) = args.get("election") {
            (s.election_timeout_min, s.election_timeout_max) = range(v)?;
        }
        if let Some(v) = args.get("heartbeat") {
            s.heartbeat_interval = parse_duration(v)?;
        }
        if let Some(v) = args.get("retry") {
            s.client_retry = parse_duration(v)?;
        }
        s.max_entries_per_append = num("batch", s.max_entries_per_append)?.max(1);
        for (key, flag) in [
            ("prevote", &mut s.pre_vote),
            ("checkquorum", &mut s.check_quorum),
        ] {
            match args.get(key).map(String::as_str) {
                None | Some("on") => {}
                Some("off") => *flag = false,
                Some(v) => return Err(format!("{key} is on or off, not \"{v}\"")),
            }
        }
        for k in args.keys() {
            if ![
                "servers",
                "clients",
                "election",
                "heartbeat",
                "retry",
                "batch",
                "prevote",
                "checkquorum",
                "toggle",
            ]
            .contains(&k.as_str())
            {
                return Err(format!("unknown setup key \"{k}\""));
            }
        }
        if let Some(name) = args.get("toggle") {
            let t = Toggle::from_name(name).ok_or_else(|| format!("unknown toggle \"{name}\""))?;
            raft = raft.with_toggle(t);
        }
        Ok(raft)
    }

    fn parse_op(&self, words: &[&str]) -> Result<RaftOp, String> {
        let op = match words {
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
            _ => return Err("an operation is `put k v`, `get k` or `append k v`".to_string()),
        };
        Ok(RaftOp::Kv(op))
    }

    fn command(&self, name: &str, args: &[&str]) -> Option<Result<Input<RaftOp>, String>> {
        (name == "campaign").then(|| {
            let node = parse_node(args.first().ok_or("`campaign` needs a server")?)?;
            if !self.is_server(node) {
                return Err(format!("{node} is not a server"));
            }
            Ok(Input::Request {
                node,
                op: RaftOp::Timeout,
            })
        })
    }

    fn status(world: &World<Raft>) -> Vec<String> {
        world
            .node_ids()
            .map(|id| match world.node(id) {
                None => format!("{id} crashed"),
                Some(RaftNode::Server(s)) => {
                    let log: Vec<String> = s
                        .log()
                        .iter()
                        .map(|(i, e)| format!("{i}@{}", e.term))
                        .collect();
                    let kv: Vec<String> = s
                        .kv()
                        .data()
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect();
                    format!(
                        "{id} {} term {} vote {} log [{}] commit {} applied {} kv {{{}}}",
                        s.role().name().as_str(),
                        s.term(),
                        s.voted_for().map_or("-".to_string(), |v| v.to_string()),
                        log.join(" "),
                        s.commit_index(),
                        s.last_applied(),
                        kv.join(", ")
                    )
                }
                Some(RaftNode::Client(c)) => format!(
                    "{id} client: {} outstanding, {} queued",
                    usize::from(c.outstanding().is_some()),
                    c.queued()
                ),
            })
            .collect()
    }

    fn settled(world: &World<Raft>) -> bool {
        settled_among(world, &world.protocol().server_ids(), Settle::Quiescent).is_ok()
    }
}

/// What [`settled_among`] waits for, once the group has a working leader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settle {
    /// Everything is quiet: all logs equal and applied, all clients answered
    /// (for scripts' `stabilize`).
    Quiescent,
    /// Every answered client operation is applied on every server of the
    /// group (the sweep's liveness check; load may still be flowing).
    Acknowledged,
}

/// Whether the up servers of `group` have converged: exactly one leader of
/// the highest term among them (possibly outside the group), which has
/// committed an entry of its own term, and then what `mode` asks for.
pub fn settled_among(world: &World<Raft>, group: &[NodeId], mode: Settle) -> Result<(), String> {
    let up_server = |n: NodeId| {
        (world.conditions(n).health == Health::Up)
            .then(|| world.node(n).and_then(RaftNode::as_server))
            .flatten()
            .map(|s| (n, s))
    };
    let servers: Vec<_> = group.iter().filter_map(|&n| up_server(n)).collect();
    let max_term = servers
        .iter()
        .map(|(_, s)| s.term())
        .max()
        .ok_or("no server is up")?;
    // The leader may be outside the group (a slow or skewed server that was
    // not healed still leads well enough), but it must lead the group's term.
    let leaders: Vec<_> = world
        .protocol()
        .server_ids()
        .into_iter()
        .filter_map(up_server)
        .filter(|(_, s)| s.is_leader() && s.term() == max_term)
        .collect();
    let [(lid, leader)] = leaders.as_slice() else {
        return Err(format!("{} leaders in term {max_term}", leaders.len()));
    };
    let established = leader.log().term_at(leader.commit_index()) == Some(leader.term())
        || (world.protocol().settings.commit_previous_term
            && leader.commit_index() == leader.log().last_index());
    if !established {
        return Err(format!(
            "{lid} leads term {} but has not committed an entry of it yet",
            leader.term()
        ));
    }
    match mode {
        Settle::Quiescent => quiescent(world, *lid, leader, &servers),
        Settle::Acknowledged => acknowledged(world, &servers),
    }
}

/// Every server that can talk with the leader holds and has applied the
/// leader's whole log, the leader has committed all of it, and no client
/// waits for an answer.
fn quiescent(
    world: &World<Raft>,
    lid: NodeId,
    leader: &Server,
    servers: &[(NodeId, &Server)],
) -> Result<(), String> {
    let last = leader.log().last_index();
    if leader.commit_index() != last {
        return Err(format!(
            "{lid} has committed {} of {last} entries",
            leader.commit_index()
        ));
    }
    let net = world.network();
    for (id, s) in servers {
        if net.is_cut(lid, *id) || net.is_cut(*id, lid) {
            continue;
        }
        if s.term() != leader.term()
            || s.last_applied() != last
            || s.log().last_term() != leader.log().last_term()
        {
            return Err(format!("{id} has applied {} of {last}", s.last_applied()));
        }
    }
    for c in world.protocol().client_ids() {
        if let Some(RaftNode::Client(c)) = world.node(c) {
            if c.outstanding().is_some() || c.queued() > 0 {
                return Err("a client still waits for an answer".to_string());
            }
        }
    }
    Ok(())
}

/// Every operation a client has had answered is applied on every server of
/// the group (each client numbers its requests in order and has one out at
/// a time, so its latest answered request being applied means all are).
fn acknowledged(world: &World<Raft>, servers: &[(NodeId, &Server)]) -> Result<(), String> {
    for c in world.protocol().client_ids() {
        let Some(RaftNode::Client(client)) = world.node(c) else {
            continue;
        };
        let Some(done) = client.last_completed() else {
            continue;
        };
        for (id, s) in servers {
            if s.kv().last_request(c).is_none_or(|r| r < done) {
                return Err(format!(
                    "{id} has not applied {c}{done}, which was answered"
                ));
            }
        }
    }
    Ok(())
}
