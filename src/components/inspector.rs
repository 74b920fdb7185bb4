//! The inspector: the full state of the selected node, with durable state
//! (what survives a crash) marked apart from volatile state.

use sim::{Durability, Health, NodeInfo};
use yew::prelude::*;

use super::stage::kind_name;

#[derive(Properties, PartialEq)]
pub struct InspectorProps {
    pub info: Option<NodeInfo>,
    /// What the node last persisted, as text, if anything.
    pub persisted: Option<String>,
    /// Protocol-specific widget for this node, if the protocol has one.
    pub detail: Html,
}

#[function_component(Inspector)]
pub fn inspector(props: &InspectorProps) -> Html {
    let Some(info) = &props.info else {
        return html! { <p class="panel-empty">{"Click a node to see its state here, and what you can do to it."}</p> };
    };
    let c = info.conditions;
    html! {
        <div class="inspector">
            <h3 class="inspector-title">
                {info.id.to_string()}
                <span class="inspector-kind">{kind_name(info.kind)}</span>
                if let Some(scene) = &info.scene { if !scene.role.is_empty() { <span class="role-chip" data-role={scene.role.clone()}>{scene.role.clone()}</span> } }
            </h3>
            <dl class="conditions">
                <dt>{"health"}</dt><dd class={format!("health-{}", c.health)}>{c.health.to_string()}</dd>
                <dt>{"speed"}</dt><dd>{if c.slowdown.0 == 1_000 { "normal".to_string() } else { format!("{} slower", c.slowdown) }}</dd>
                <dt>{"clock"}</dt><dd>{if c.clock_rate.0 == 1_000 { "keeps true time".to_string() } else { format!("runs at {}", c.clock_rate) }}</dd>
            </dl>
                        if c.health == Health::Crashed {
                <p class="panel-note">{"Crashed: its volatile state is gone. A restart rebuilds it from what it persisted:"}</p>
                <pre class="persisted">{props.persisted.clone().unwrap_or_else(|| "nothing: it never persisted any state".into())}</pre>
            }
            { props.detail.clone() }
            if let Some(scene) = &info.scene {
                <table class="state-table">
                    <caption>{"State"}<span class="legend"><span class="dur durable">{"durable"}</span>{" survives a crash, "}<span class="dur volatile">{"volatile"}</span>{" does not"}</span></caption>
                    <tbody>
                        { for scene.details.iter().map(|row| html! {
                            <tr class={match row.durability { Durability::Durable => "durable", Durability::Volatile => "volatile" }}>
                                <th scope="row">{row.label.clone()}</th>
                                <td>{row.value.clone()}</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            }
        </div>
    }
}
