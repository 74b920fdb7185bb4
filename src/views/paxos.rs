//! Paxos's own widgets, for single-decree Paxos and Multi-Paxos: the strip
//! under each server (its slots, coloured executed, chosen, accepted or
//! hole) and the inspector section (roles, promised ballot, accepted
//! (ballot, value), the proposer's phase, and the slot log with its marks).

use protocols::paxos::node::{Client, Proposer};
use protocols::paxos::{Mode, Paxos, PaxosNode, Server, Slot, Value};
use sim::{AnySim, NodeId, Run};
use yew::prelude::*;

use super::Cell;

/// How many of the newest slots the stage shows under a server.
const STRIP_SLOTS: u64 = 8;
/// How many slots the inspector lists.
const DETAIL_SLOTS: u64 = 16;

fn node(run: &dyn AnySim, id: NodeId) -> Option<(Mode, PaxosNode)> {
    // Both modes run as a `Paxos` (see `catalog::build_paxos`).
    let r = run.as_any().downcast_ref::<Run<Paxos>>()?;
    let n = r.sim().world().node(id)?;
    Some((r.sim().world().protocol().mode(), n.clone()))
}

/// One slot as a server sees it.
struct SlotRow {
    slot: Slot,
    value: String,
    /// "executed", "chosen", "accepted" or "hole".
    mark: &'static str,
    ballot: Option<String>,
}

fn rows(s: &Server, mode: Mode, limit: u64) -> Vec<SlotRow> {
    let last = s
        .accepted()
        .keys()
        .chain(s.chosen().keys())
        .max()
        .copied()
        .unwrap_or(Slot(0));
    let last = if mode == Mode::Single { Slot(1) } else { last };
    let first = last.0.saturating_sub(limit) + 1;
    (first..=last.0)
        .map(Slot)
        .map(|slot| {
            let accepted = s.accepted().get(&slot);
            let ballot = accepted.map(|(b, _)| b.to_string());
            let (value, mark) = match (s.chosen().get(&slot), accepted) {
                (Some(v), _) if mode == Mode::Multi && slot <= s.executed() => {
                    (v.to_string(), "executed")
                }
                (Some(v), _) => (v.to_string(), "chosen"),
                (None, Some((_, v))) => (v.to_string(), "accepted"),
                (None, None) => ("-".to_string(), "hole"),
            };
            SlotRow {
                slot,
                value,
                mark,
                ballot,
            }
        })
        .collect()
}

fn short(v: &Value) -> String {
    match v {
        Value::Noop => "∅".into(),
        Value::Text(t) => t.chars().take(4).collect(),
        Value::Command { op, .. } => op.key().chars().take(3).collect(),
    }
}

/// The newest slots of a server: single-decree, its one slot; Multi-Paxos,
/// the last few, coloured by whether they are executed, chosen, only
/// accepted here, or a hole.
pub fn strip(run: &dyn AnySim, id: NodeId) -> Option<Vec<Cell>> {
    let (mode, PaxosNode::Server(s)) = node(run, id)? else {
        return None;
    };
    let cells = rows(&s, mode, STRIP_SLOTS)
        .into_iter()
        .filter(|r| mode == Mode::Multi || r.mark != "hole")
        .map(|r| {
            let text = s
                .chosen()
                .get(&r.slot)
                .or_else(|| s.accepted().get(&r.slot).map(|(_, v)| v))
                .map_or("·".to_string(), short);
            let tone = match r.mark {
                "executed" => "applied",
                "chosen" => "committed",
                "accepted" => "pending",
                _ => "more",
            };
            Cell {
                text,
                tone,
                title: format!(
                    "slot {}: {} ({}{})",
                    r.slot,
                    r.value,
                    r.mark,
                    r.ballot
                        .map_or(String::new(), |b| format!(", accepted in ballot {b}"))
                ),
            }
        })
        .collect();
    Some(cells)
}

fn proposer_line(s: &Server) -> String {
    match s.proposer() {
        Proposer::Idle => "Proposer idle".to_string(),
        Proposer::Preparing(p) => format!(
            "Phase 1 with ballot {}: promises from {}",
            p.ballot,
            names(p.promises.keys())
        ),
        Proposer::Proposing(p) => format!(
            "Phase 2 with ballot {} (promise quorum {}), {} slot(s) waiting to be chosen",
            p.ballot,
            names(p.quorum.iter()),
            p.pending.len()
        ),
    }
}

fn names<'a>(ids: impl Iterator<Item = &'a NodeId>) -> String {
    let v: Vec<String> = ids.map(|n| n.to_string()).collect();
    if v.is_empty() {
        "none yet".to_string()
    } else {
        v.join(" ")
    }
}

fn client_detail(c: &Client) -> Html {
    html! {
        <section class="paxos-detail" aria-label="Paxos client">
            <p>{ match c.outstanding() {
                Some((id, op)) => format!("Waiting for request {id}: {op}"),
                None => "No request outstanding.".to_string(),
            } }</p>
            if c.queued() > 0 { <p>{format!("{} more queued behind it.", c.queued())}</p> }
        </section>
    }
}

/// The inspector's Paxos section for node `id`.
pub fn detail(run: &dyn AnySim, id: NodeId) -> Option<Html> {
    let (mode, node) = node(run, id)?;
    let s = match &node {
        PaxosNode::Server(s) => s,
        PaxosNode::Client(c) => return Some(client_detail(c)),
    };
    let roles = match mode {
        Mode::Single if s.own_value().is_some() => "proposer, acceptor and learner",
        Mode::Single => "acceptor and learner",
        Mode::Multi => "proposer, acceptor, learner and replica",
    };
    let promised = s
        .promised()
        .map_or("nothing yet".to_string(), |b| b.to_string());
    Some(html! {
        <section class="paxos-detail" aria-label="Paxos state">
            <p class="paxos-summary">{format!("{id}: {roles}; promised ballot {promised}")}</p>
            <p class="paxos-proposer">{proposer_line(s)}</p>
            if let Some(v) = s.own_value() {
                <p>{format!("Wants {v} chosen.")}</p>
            }
            if mode == Mode::Multi {
                <p>{ match s.leader() {
                    Some(l) if l == id => "Leads.".to_string(),
                    Some(l) => format!("Follows {l}."),
                    None => "Knows no leader.".to_string(),
                } }</p>
            }
            <table class="paxos-slots">
                <caption>{ if mode == Mode::Single { "Accepted (ballot, value) and learned".to_string() } else { format!("Slot log: executed up to {}", s.executed()) } }</caption>
                <thead><tr><th>{"slot"}</th><th>{"value"}</th><th>{"accepted in"}</th><th>{"state"}</th></tr></thead>
                <tbody>
                    { for rows(s, mode, DETAIL_SLOTS).into_iter().rev().map(|r| html! {
                        <tr class={r.mark}>
                            <td>{r.slot.to_string()}</td>
                            <td class="cmd">{r.value}</td>
                            <td>{r.ballot.unwrap_or_else(|| "-".into())}</td>
                            <td>{r.mark}</td>
                        </tr>
                    }) }
                </tbody>
            </table>
            if mode == Mode::Multi && !s.kv().data().is_empty() {
                <table class="paxos-kv">
                    <caption>{"Key-value store (executed slots)"}</caption>
                    <tbody>
                        { for s.kv().data().iter().map(|(k, v)| html! { <tr><th scope="row">{k.clone()}</th><td>{v.clone()}</td></tr> }) }
                    </tbody>
                </table>
            }
        </section>
    })
}
