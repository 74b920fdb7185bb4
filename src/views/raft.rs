//! Raft's own widgets: the compact log under each server, and the inspector
//! view of one node (its log with commit and apply marks, the leader's
//! nextIndex and matchIndex per follower, the key-value store).

use protocols::raft::{Raft, RaftNode, RaftView};
use sim::{AnySim, NodeId, Run};
use yew::prelude::*;

use super::Cell;

/// How many of the newest entries the stage shows under a server.
const STRIP_ENTRIES: usize = 8;

fn view(run: &dyn AnySim, id: NodeId) -> Option<RaftView> {
    let run = run.as_any().downcast_ref::<Run<Raft>>()?;
    run.sim().world().node(id).map(RaftNode::view)
}

/// The newest log entries of a server, by term, coloured by whether they
/// are applied, committed, or not yet committed.
pub fn strip(run: &dyn AnySim, id: NodeId) -> Option<Vec<Cell>> {
    let RaftView::Server(s) = view(run, id)? else {
        return None;
    };
    let mut cells = Vec::new();
    let shown = &s.log[s.log.len().saturating_sub(STRIP_ENTRIES)..];
    if s.log_len.0 as usize > shown.len() {
        cells.push(Cell {
            text: "…".into(),
            tone: "more",
            title: format!("{} older entries", s.log_len.0 as usize - shown.len()),
        });
    }
    for row in shown {
        let tone = if row.applied {
            "applied"
        } else if row.committed {
            "committed"
        } else {
            "pending"
        };
        cells.push(Cell {
            text: row.term.to_string(),
            tone,
            title: format!(
                "entry {} of term {}: {} ({})",
                row.index,
                row.term,
                row.command,
                if tone == "pending" {
                    "not committed"
                } else {
                    tone
                }
            ),
        });
    }
    Some(cells)
}

/// The inspector's Raft section for node `id`.
pub fn detail(run: &dyn AnySim, id: NodeId) -> Option<Html> {
    Some(match view(run, id)? {
        RaftView::Server(s) => html! {
            <section class="raft-detail" aria-label="Raft state">
                <p class="raft-summary">
                    {format!("{} in term {}", s.role.as_str(), s.term)}
                    { s.leader.filter(|l| *l != s.id).map(|l| format!(", following {l}")).unwrap_or_default() }
                    { if s.votes.is_empty() { String::new() } else { format!(", votes from {}", s.votes.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(" ")) } }
                </p>
                <table class="raft-log">
                    <caption>{format!("Log: {} entries, commitIndex {}, lastApplied {}", s.log_len, s.commit_index, s.last_applied)}</caption>
                    <thead><tr><th>{"index"}</th><th>{"term"}</th><th>{"command"}</th><th>{"state"}</th></tr></thead>
                    <tbody>
                        { for s.log.iter().rev().take(16).map(|row| html! {
                            <tr class={if row.applied { "applied" } else if row.committed { "committed" } else { "pending" }}>
                                <td>{row.index.to_string()}</td>
                                <td>{row.term.to_string()}</td>
                                <td class="cmd">{row.command.clone()}</td>
                                <td>{if row.applied { "applied" } else if row.committed { "committed" } else { "not committed" }}</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
                if !s.progress.is_empty() {
                    <table class="raft-progress">
                        <caption>{"Replication (leader's view)"}</caption>
                        <thead><tr><th>{"follower"}</th><th>{"nextIndex"}</th><th>{"matchIndex"}</th><th>{"state"}</th></tr></thead>
                        <tbody>
                            { for s.progress.iter().map(|p| html! {
                                <tr><td>{p.peer.to_string()}</td><td>{p.next_index.to_string()}</td><td>{p.match_index.to_string()}</td>
                                    <td title={if p.replicating { "the leader streams batches without waiting for each answer" } else { "the leader sends one AppendEntries and waits for the answer" }}>
                                        {if p.replicating { "replicating" } else { "probing" }}
                                    </td></tr>
                            }) }
                        </tbody>
                    </table>
                }
                if !s.data.is_empty() {
                    <table class="raft-kv">
                        <caption>{"Key-value store (applied entries)"}</caption>
                        <tbody>
                            { for s.data.iter().map(|(k, v)| html! { <tr><th scope="row">{k.clone()}</th><td>{v.clone()}</td></tr> }) }
                        </tbody>
                    </table>
                }
            </section>
        },
        RaftView::Client(c) => html! {
            <section class="raft-detail" aria-label="Raft client">
                <p class="raft-summary">{format!("Sends its requests to {}", c.leader_guess)}</p>
                <p>{ match &c.outstanding {
                    Some((id, op)) => format!("Waiting for request {id}: {op}"),
                    None => "No request outstanding.".to_string(),
                } }</p>
                if c.queued > 0 { <p>{format!("{} more queued behind it.", c.queued)}</p> }
            </section>
        },
    })
}
