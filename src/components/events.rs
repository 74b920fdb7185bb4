//! The event log: what happened, step by step, filterable by node and kind.
//! Clicking a line goes to the moment right after that step.

use std::rc::Rc;

use sim::{NodeId, StepSummary};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct EventLogProps {
    pub lines: Rc<Vec<StepSummary>>,
    pub node_count: usize,
    pub current_step: u64,
    pub on_jump: Callback<u64>,
}

const KINDS: &[(&str, &str)] = &[
    ("", "every kind"),
    ("deliver", "deliveries"),
    ("lost", "lost messages"),
    ("timer", "timers"),
    ("fault", "faults"),
    ("request", "requests"),
];

#[function_component(EventLog)]
pub fn event_log(props: &EventLogProps) -> Html {
    let node_filter = use_state(|| None::<NodeId>);
    let kind_filter = use_state(String::new);
    let on_node = {
        let node_filter = node_filter.clone();
        Callback::from(move |e: Event| {
            let value = e
                .target_dyn_into::<web_sys::HtmlSelectElement>()
                .map(|s| s.value())
                .unwrap_or_default();
            node_filter.set(value.parse::<u32>().ok().map(NodeId));
        })
    };
    let on_kind = {
        let kind_filter = kind_filter.clone();
        Callback::from(move |e: Event| {
            kind_filter.set(
                e.target_dyn_into::<web_sys::HtmlSelectElement>()
                    .map(|s| s.value())
                    .unwrap_or_default(),
            );
        })
    };
    let shown: Vec<&StepSummary> = props
        .lines
        .iter()
        .rev()
        .filter(|l| node_filter.is_none_or(|n| l.nodes.contains(&n)))
        .filter(|l| match kind_filter.as_str() {
            "" => true,
            "fault" => l.fault,
            k => l.kind == k,
        })
        .collect();
    html! {
        <div class="event-log">
            <div class="filters">
                <label>{"Node "}
                    <select aria-label="Show events of node" onchange={on_node}>
                        <option value="" selected={node_filter.is_none()}>{"every node"}</option>
                        { for (0..props.node_count as u32).map(|i| html! {
                            <option value={i.to_string()} selected={*node_filter == Some(NodeId(i))}>{NodeId(i).to_string()}</option>
                        }) }
                    </select>
                </label>
                <label>{"Kind "}
                    <select aria-label="Show events of kind" onchange={on_kind}>
                        { for KINDS.iter().map(|(value, label)| html! {
                            <option value={*value} selected={kind_filter.as_str() == *value}>{*label}</option>
                        }) }
                    </select>
                </label>
            </div>
            if shown.is_empty() {
                <p class="panel-empty">{"No events to show yet. Press play or step forward."}</p>
            }
            <ol class="events" aria-label="Events, newest first">
                { for shown.iter().map(|l| {
                    let step = l.step;
                    let on_jump = props.on_jump.clone();
                    let onclick = Callback::from(move |_: MouseEvent| on_jump.emit(step + 1));
                    let current = step + 1 == props.current_step;
                    // Keyed by step: a new step adds one line at the top
                    // instead of rewriting every line below it.
                    html! {
                        <li key={step} class={classes!("event", format!("ev-{}", l.kind), l.fault.then_some("ev-fault"), current.then_some("current"), (!l.milestones.is_empty()).then_some("ev-milestone"))}>
                            <button type="button" class="event-line" {onclick} title="Go to the moment right after this event">
                                <span class="ev-time">{format!("{}", l.time)}</span>
                                <span class="ev-text">{l.headline.clone()}</span>
                            </button>
                            { for l.milestones.iter().map(|m| html! { <div class="ev-round">{m.text.clone()}</div> }) }
                            { for l.notes.iter().map(|n| html! { <div class="ev-note">{n.clone()}</div> }) }
                        </li>
                    }
                }) }
            </ol>
        </div>
    }
}
