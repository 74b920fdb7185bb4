//! The pub/sub queue's own widgets, drawn from `PubSubNode::view()`.
//!
//! Under each broker, one strip with every partition it holds: the
//! partition's name (starred where this broker leads it), then the newest
//! offsets of its log, solid below the high watermark and dashed above it;
//! the tooltip names the epoch, HW and in-sync set. Under a producer, its
//! messages in flight and its latest acknowledged ones; under a consumer, its
//! partitions. The inspector section spells all of it out: each replica's
//! log with offsets, epochs and the HW mark, the leader and ISR, a
//! producer's sent, pending and acknowledged messages, a consumer's
//! position, committed offset and lag, and the controller's table and
//! groups.
//!
//! The section and its tables have their own classes (`pubsub-detail`,
//! `pubsub-summary`, `pubsub-log`, `pubsub-table`), styled in
//! `static/style.css` like Raft's.

use protocols::pubsub::node::PubSubNode;
use protocols::pubsub::view::{
    BrokerView, ConsumerView, ControllerView, GroupView, ProducerView, PubSubView, ReplicaView,
};
use protocols::pubsub::{node_set, PubSub};
use sim::{AnySim, NodeId, Run};
use yew::prelude::*;

use super::Cell;

/// How many of a replica's newest records the stage shows, per partition.
const STRIP_RECORDS: usize = 4;
/// How many of a replica's newest records the inspector lists.
const DETAIL_RECORDS: usize = 12;

fn view(run: &dyn AnySim, id: NodeId) -> Option<PubSubView> {
    let run = run.as_any().downcast_ref::<Run<PubSub>>()?;
    run.sim().world().node(id).map(PubSubNode::view)
}

fn replica_line(r: &ReplicaView) -> String {
    let state = match &r.state {
        Some(s) => format!(
            "leader {}, {}, in-sync {}",
            s.leader.map_or("none".to_string(), |l| l.to_string()),
            s.epoch,
            node_set(&s.isr)
        ),
        None => "no decision known yet".to_string(),
    };
    format!(
        "{}: {}; HW {}, log end {}; {state}",
        r.name,
        if r.leading { "leads" } else { "follows" },
        r.hw,
        r.leo
    )
}

fn broker_strip(b: &BrokerView) -> Vec<Cell> {
    let mut cells = Vec::new();
    for r in b.replicas.iter().filter(|r| !r.internal) {
        cells.push(Cell {
            text: format!("{}{}", r.partition, if r.leading { "*" } else { "" }),
            tone: "more",
            title: replica_line(r),
        });
        let shown = &r.log[r.log.len().saturating_sub(STRIP_RECORDS)..];
        if shown.is_empty() {
            // A mark for the empty log keeps one partition's name apart
            // from the next one's.
            cells.push(Cell {
                text: "·".into(),
                tone: "more",
                title: format!("{}: the log is empty", r.name),
            });
        }
        for rec in shown {
            cells.push(Cell {
                text: rec.offset.to_string(),
                tone: if rec.committed {
                    "committed"
                } else {
                    "pending"
                },
                title: format!(
                    "{}@{}: {} (key {}, {}), {}",
                    r.name,
                    rec.offset,
                    rec.id,
                    rec.key,
                    rec.epoch,
                    if rec.committed {
                        "below the high watermark"
                    } else {
                        "above the high watermark: not committed"
                    }
                ),
            });
        }
    }
    cells
}

fn producer_strip(p: &ProducerView) -> Vec<Cell> {
    let mut cells: Vec<Cell> = p
        .recent
        .iter()
        .take(3)
        .rev()
        .map(|(id, part, off)| Cell {
            text: id.n.to_string(),
            tone: "committed",
            title: format!("{id} acknowledged at {part}@{off}"),
        })
        .collect();
    for f in &p.in_flight {
        for m in &f.messages {
            cells.push(Cell {
                text: m.n.to_string(),
                tone: "pending",
                title: format!(
                    "{m} in flight to {}, sent {} time(s)",
                    f.partition, f.attempts
                ),
            });
        }
    }
    cells
}

fn consumer_strip(c: &ConsumerView) -> Vec<Cell> {
    c.partitions
        .iter()
        .map(|p| Cell {
            text: p.partition.0.to_string(),
            tone: if p.lag == 0 { "committed" } else { "pending" },
            title: format!(
                "{}: position {}, committed {}, lag {}",
                p.partition, p.position, p.committed, p.lag
            ),
        })
        .collect()
}

/// The strip under node `id` of a queue.
pub fn strip(run: &dyn AnySim, id: NodeId) -> Option<Vec<Cell>> {
    let cells = match view(run, id)? {
        PubSubView::Broker(b) => broker_strip(&b),
        PubSubView::Producer(p) => producer_strip(&p),
        PubSubView::Consumer(c) => consumer_strip(&c),
        PubSubView::Controller(_) => return None,
    };
    (!cells.is_empty()).then_some(cells)
}

fn broker_detail(b: &BrokerView) -> Html {
    // The topics' partitions; the internal offsets partitions show through
    // the groups this broker coordinates.
    let topics: Vec<&ReplicaView> = b.replicas.iter().filter(|r| !r.internal).collect();
    html! {
        <section class="pubsub-detail" aria-label="Broker state">
            <p class="pubsub-summary">{format!("{}: broker, leads {} of {} partition(s)", b.id, topics.iter().filter(|r| r.leading).count(), topics.len())}</p>
            { for topics.iter().map(|r| {
                let shown = &r.log[r.log.len().saturating_sub(DETAIL_RECORDS)..];
                html! {
                    <table class="pubsub-log" data-partition={r.partition.0.to_string()}>
                        <caption>{replica_line(r)}</caption>
                        if let Some(isr) = &r.pending_isr {
                            <caption>{format!("Proposed in-sync set {}, not decided yet", node_set(isr))}</caption>
                        }
                        <thead><tr><th>{"offset"}</th><th>{"message"}</th><th>{"key"}</th><th>{"epoch"}</th><th>{"state"}</th></tr></thead>
                        <tbody>
                            { for shown.iter().rev().map(|rec| html! {
                                <tr class={if rec.committed { "committed" } else { "pending" }}>
                                    <td>{rec.offset.to_string()}</td>
                                    <td class="cmd">{rec.id.to_string()}</td>
                                    <td>{rec.key}</td>
                                    <td>{rec.epoch.to_string()}</td>
                                    <td>{if rec.committed { "committed" } else { "above HW" }}</td>
                                </tr>
                            }) }
                        </tbody>
                    </table>
                }
            }) }
            { group_tables(&b.groups) }
        </section>
    }
}

/// The groups a broker coordinates (those whose `__consumer_offsets`
/// partition it leads).
fn group_tables(groups: &[GroupView]) -> Html {
    html! {
        <>
            { for groups.iter().map(|g| html! {
                <table class="pubsub-table">
                    <caption>{format!("Group {} ({}), {}, members {}", g.name, g.mode, g.generation, node_set(&g.members))}</caption>
                    <thead><tr><th>{"partition"}</th><th>{"owner"}</th><th>{"committed"}</th></tr></thead>
                    <tbody>
                        { for g.owners.iter().map(|(p, owner, off)| html! {
                            <tr><td>{p.to_string()}</td><td>{owner.map_or("-".to_string(), |o| o.to_string())}</td><td>{off.to_string()}</td></tr>
                        }) }
                    </tbody>
                </table>
            }) }
        </>
    }
}

fn controller_detail(c: &ControllerView) -> Html {
    html! {
        <section class="pubsub-detail" aria-label="Controller state">
            <p class="pubsub-summary">{format!("{}: controller (incarnation {}); brokers alive {}", c.id, c.incarnation, node_set(&c.alive))}</p>
            <table class="pubsub-table">
                <caption>{"Partition table"}</caption>
                <thead><tr><th>{"partition"}</th><th>{"leader"}</th><th>{"epoch"}</th><th>{"in-sync"}</th><th>{"version"}</th></tr></thead>
                <tbody>
                    { for c.table.iter().map(|s| html! {
                        <tr>
                            <td>{s.partition.to_string()}</td>
                            <td>{s.leader.map_or("offline".to_string(), |l| l.to_string())}</td>
                            <td>{s.epoch.to_string()}</td>
                            <td>{node_set(&s.isr)}</td>
                            <td>{s.version}</td>
                        </tr>
                    }) }
                </tbody>
            </table>
        </section>
    }
}

fn producer_detail(p: &ProducerView) -> Html {
    let pending: usize = p.in_flight.iter().map(|f| f.messages.len()).sum();
    html! {
        <section class="pubsub-detail" aria-label="Producer state">
            <p class="pubsub-summary">{format!("{}: producer, {}, session {}", p.id, p.acks, p.session)}</p>
            <p class="pubsub-counts">{format!("Sent {}, pending {} (in flight {}, queued {}), acknowledged {}", p.created, pending + p.queued, pending, p.queued, p.acknowledged)}</p>
            if p.sent_unacked > 0 { <p>{format!("{} sent with acks=0, never acknowledged.", p.sent_unacked)}</p> }
            if p.gave_up > 0 { <p>{format!("Gave up on {} after the last retry.", p.gave_up)}</p> }
            <table class="pubsub-table">
                <caption>{"In flight"}</caption>
                <tbody>
                    { for p.in_flight.iter().map(|f| html! {
                        <tr><td>{f.partition.to_string()}</td><td class="cmd">{f.messages.iter().map(|m| m.to_string()).collect::<Vec<_>>().join(" ")}</td><td>{format!("attempt {}", f.attempts)}</td></tr>
                    }) }
                </tbody>
            </table>
            <table class="pubsub-table">
                <caption>{"Latest acknowledged"}</caption>
                <tbody>
                    { for p.recent.iter().map(|(id, part, off)| html! {
                        <tr><td class="cmd">{id.to_string()}</td><td>{format!("{part}@{off}")}</td></tr>
                    }) }
                </tbody>
            </table>
        </section>
    }
}

fn consumer_detail(c: &ConsumerView) -> Html {
    html! {
        <section class="pubsub-detail" aria-label="Consumer state">
            <p class="pubsub-summary">{format!("{}: consumer in group {} ({}), {}; processed {}", c.id, c.group, c.mode, c.generation, c.processed)}</p>
            <table class="pubsub-table pubsub-positions">
                <caption>{"Assigned partitions"}</caption>
                <thead><tr><th>{"partition"}</th><th>{"position"}</th><th>{"committed"}</th><th>{"lag"}</th><th>{"processing"}</th></tr></thead>
                <tbody>
                    { for c.partitions.iter().map(|p| html! {
                        <tr>
                            <td>{p.partition.to_string()}</td>
                            <td>{p.position.to_string()}</td>
                            <td>{p.committed.to_string()}</td>
                            <td>{p.lag}</td>
                            <td>{p.processing}</td>
                        </tr>
                    }) }
                </tbody>
            </table>
            if c.partitions.is_empty() { <p>{"No partitions assigned."}</p> }
        </section>
    }
}

/// The inspector's pub/sub section for node `id`.
pub fn detail(run: &dyn AnySim, id: NodeId) -> Option<Html> {
    Some(match view(run, id)? {
        PubSubView::Broker(b) => broker_detail(&b),
        PubSubView::Controller(c) => controller_detail(&c),
        PubSubView::Producer(p) => producer_detail(&p),
        PubSubView::Consumer(c) => consumer_detail(&c),
    })
}
