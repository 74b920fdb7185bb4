//! The action menu for a node or a link, opened by clicking it on the stage,
//! and the partition tool.

use sim::{
    Direction, Duration, Health, Input, Latency, LinkParams, NodeId, NodeInfo, NodeKind,
    PartitionKind, Permille, Ppm,
};
use wasm_bindgen::JsCast;
use yew::prelude::*;

use super::stage::MenuTarget;

#[derive(Properties, PartialEq)]
pub struct MenuProps {
    pub target: MenuTarget,
    pub x: i32,
    pub y: i32,
    pub node: Option<NodeInfo>,
    /// Protocol-specific entries (label, operation text) for the node.
    pub actions: Vec<(String, String)>,
    pub defaults: LinkParams,
    pub on_input: Callback<Input<String>>,
    pub on_close: Callback<()>,
}

#[function_component(ActionMenu)]
pub fn action_menu(props: &MenuProps) -> Html {
    let custom = use_state(String::new);
    let menu_ref = use_node_ref();
    {
        // WAI-ARIA menu pattern: an opened menu takes the focus, on its
        // first item, so it can be used from the keyboard at once.
        let menu_ref = menu_ref.clone();
        use_effect_with(props.target, move |_| {
            if let Some(first) = menu_ref
                .cast::<web_sys::Element>()
                .and_then(|m| m.query_selector("[role=menuitem]").ok().flatten())
                .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
            {
                let _ = first.focus();
            }
        });
    }
    let item = |label: String, input: Input<String>| {
        let (on_input, on_close) = (props.on_input.clone(), props.on_close.clone());
        html! {
            <button type="button" role="menuitem" class="menu-item" onclick={Callback::from(move |_: MouseEvent| {
                on_input.emit(input.clone());
                on_close.emit(());
            })}>{label}</button>
        }
    };
    let onkeydown = {
        let (on_close, menu_ref) = (props.on_close.clone(), menu_ref.clone());
        Callback::from(move |e: KeyboardEvent| {
            let key = e.key();
            if key == "Escape" {
                e.stop_propagation();
                on_close.emit(());
                return;
            }
            if key != "ArrowDown" && key != "ArrowUp" {
                return;
            }
            // Up and Down move between the items, wrapping around.
            let Some(menu) = menu_ref.cast::<web_sys::Element>() else {
                return;
            };
            let Ok(items) = menu.query_selector_all("[role=menuitem]") else {
                return;
            };
            let count = items.length();
            if count == 0 {
                return;
            }
            e.prevent_default();
            e.stop_propagation();
            let active = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.active_element());
            let current = (0..count).find(|&i| {
                items.item(i).map(|n| n.dyn_into::<web_sys::Element>().ok()) == Some(active.clone())
            });
            let next = match (current, key.as_str()) {
                (Some(i), "ArrowDown") => (i + 1) % count,
                (Some(i), _) => (i + count - 1) % count,
                (None, "ArrowDown") => 0,
                (None, _) => count - 1,
            };
            if let Some(el) = items
                .item(next)
                .and_then(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
            {
                let _ = el.focus();
            }
        })
    };
    let body = match props.target {
        MenuTarget::Node(id) => {
            let Some(info) = &props.node else {
                return html! {};
            };
            let health = info.conditions.health;
            let slow = info.conditions.slowdown;
            let clock = info.conditions.clock_rate;
            let send_custom = {
                let (on_input, on_close, custom) = (
                    props.on_input.clone(),
                    props.on_close.clone(),
                    custom.clone(),
                );
                Callback::from(move |e: SubmitEvent| {
                    e.prevent_default();
                    on_input.emit(Input::Request {
                        node: id,
                        op: (*custom).clone(),
                    });
                    on_close.emit(());
                })
            };
            let on_custom = {
                let custom = custom.clone();
                Callback::from(move |e: InputEvent| {
                    if let Some(i) = e.target_dyn_into::<web_sys::HtmlInputElement>() {
                        custom.set(i.value());
                    }
                })
            };
            html! {
                <>
                    <div class="menu-title">{id.to_string()}</div>
                    if health == Health::Crashed {
                        { item("Restart".into(), Input::Restart(id)) }
                    } else {
                        { item("Crash".into(), Input::Crash(id)) }
                    }
                    if health == Health::Paused { { item("Resume".into(), Input::Resume(id)) } }
                    if health == Health::Up { { item("Pause".into(), Input::Pause(id)) } }
                    if health == Health::Up {
                        { for props.actions.iter().map(|(label, op)| item(label.clone(), Input::Request { node: id, op: op.clone() })) }
                    }
                    <div class="menu-group" role="group" aria-label="Processing speed">
                        <span class="menu-label">{"Slow down"}</span>
                        { for [2_000u32, 5_000, 20_000].into_iter().filter(|f| *f != slow.0).map(|f| item(format!("{}", Permille(f)), Input::Slow { node: id, factor: Permille(f) })) }
                        if slow != Permille::ONE { { item("normal".into(), Input::Slow { node: id, factor: Permille::ONE }) } }
                    </div>
                    <div class="menu-group" role="group" aria-label="Clock rate">
                        <span class="menu-label">{"Clock"}</span>
                        { for [500u32, 2_000].into_iter().filter(|r| *r != clock.0).map(|r| item(format!("{}", Permille(r)), Input::Skew { node: id, rate: Permille(r) })) }
                        if clock != Permille::ONE { { item("true".into(), Input::Skew { node: id, rate: Permille::ONE }) } }
                    </div>
                    <div class="menu-group" role="group" aria-label="Isolate">
                        <span class="menu-label">{"Isolate"}</span>
                        { item("both ways".into(), Input::Isolate { node: id, direction: Direction::Both }) }
                        { item("incoming".into(), Input::Isolate { node: id, direction: Direction::Inbound }) }
                        { item("outgoing".into(), Input::Isolate { node: id, direction: Direction::Outbound }) }
                    </div>
                                        // Operations are handed to clients; servers take theirs from them.
                    if health == Health::Up && info.kind != NodeKind::Server {
                        <form class="menu-custom" onsubmit={send_custom}>
                            <input type="text" aria-label={format!("Operation to hand to {id}")} placeholder="put x 1" value={(*custom).clone()} oninput={on_custom} maxlength="200" />
                            <button type="submit" class="button">{"Send"}</button>
                        </form>
                    }
                </>
            }
        }
        MenuTarget::Link(a, b) => {
            let slow_link = LinkParams {
                latency: Latency::uniform(Duration::from_ms(150), Duration::from_ms(450)),
                ..props.defaults
            };
            let lossy_link = LinkParams {
                drop: Ppm::percent(30),
                ..props.defaults
            };
            html! {
                <>
                    <div class="menu-title">{format!("{a} ↔ {b}")}</div>
                    { item(format!("Cut {a} → {b}"), Input::Cut { from: a, to: b }) }
                    { item(format!("Cut {b} → {a}"), Input::Cut { from: b, to: a }) }
                    { item("Cut both ways".into(), Input::Partition { groups: vec![vec![a], vec![b]], kind: PartitionKind::Symmetric }) }
                    { item(format!("Heal {a} → {b}"), Input::Heal { from: a, to: b }) }
                    { item(format!("Heal {b} → {a}"), Input::Heal { from: b, to: a }) }
                    <div class="menu-group" role="group" aria-label="Link quality">
                        <span class="menu-label">{format!("{a} → {b}")}</span>
                        { item("slow (150-450 ms)".into(), Input::SetLink { from: a, to: b, params: Some(slow_link) }) }
                        { item("lose 30%".into(), Input::SetLink { from: a, to: b, params: Some(lossy_link) }) }
                        { item("defaults".into(), Input::SetLink { from: a, to: b, params: None }) }
                    </div>
                </>
            }
        }
    };
    // Keep the menu on screen: open to the left/up when near the right/bottom edge.
    let style = format!(
        "left: min({}px, calc(100vw - 16rem)); top: min({}px, calc(100vh - 24rem));",
        props.x + 8,
        props.y + 8
    );
    html! {
                <div class="menu" role="menu" aria-label="Actions" {style} {onkeydown} ref={menu_ref}>
            { body }
            <button type="button" class="menu-close" aria-label="Close menu" onclick={let c = props.on_close.clone(); Callback::from(move |_: MouseEvent| c.emit(()))}>{"×"}</button>
        </div>
    }
}

#[derive(Properties, PartialEq)]
pub struct PartitionProps {
    pub node_count: usize,
    pub on_input: Callback<Input<String>>,
    pub on_close: Callback<()>,
}

/// Pick nodes into groups, then cut between them, both ways or one way.
#[function_component(PartitionTool)]
pub fn partition_tool(props: &PartitionProps) -> Html {
    // 0 = in no group (keeps all its links), 1 = group A, 2 = group B, 3 = group C.
    let groups = use_state(|| {
        (0..props.node_count)
            .map(|i| if i % 2 == 0 { 1u8 } else { 2 })
            .collect::<Vec<u8>>()
    });
    let one_way = use_state(|| false);
    let set = |i: usize, g: u8| {
        let groups = groups.clone();
        Callback::from(move |_: Event| {
            let mut v = (*groups).clone();
            v[i] = g;
            groups.set(v);
        })
    };
    let apply = {
        let (groups, one_way, on_input, on_close) = (
            groups.clone(),
            one_way.clone(),
            props.on_input.clone(),
            props.on_close.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let split: Vec<Vec<NodeId>> = (1..=3u8)
                .map(|g| {
                    groups
                        .iter()
                        .enumerate()
                        .filter(|(_, x)| **x == g)
                        .map(|(i, _)| NodeId(i as u32))
                        .collect::<Vec<_>>()
                })
                .filter(|g| !g.is_empty())
                .collect();
            on_input.emit(Input::Partition {
                groups: split,
                kind: if *one_way {
                    PartitionKind::OneWay
                } else {
                    PartitionKind::Symmetric
                },
            });
            on_close.emit(());
        })
    };
    let toggle_one_way = {
        let one_way = one_way.clone();
        Callback::from(move |_: Event| one_way.set(!*one_way))
    };
    html! {
        <div class="dialog-backdrop">
            <form class="dialog partition" role="dialog" aria-modal="true" aria-labelledby="partition-title" onsubmit={apply}>
                <h2 id="partition-title">{"Partition the network"}</h2>
                <p class="dialog-help">{"Put nodes into groups. Messages between groups are lost; nodes in no group keep all their links."}</p>
                <table class="partition-grid">
                    <thead><tr><th>{"node"}</th><th>{"none"}</th><th>{"A"}</th><th>{"B"}</th><th>{"C"}</th></tr></thead>
                    <tbody>
                        { for (0..props.node_count).map(|i| html! {
                            <tr>
                                <th scope="row">{NodeId(i as u32).to_string()}</th>
                                { for (0..=3u8).map(|g| html! {
                                    <td><input type="radio" name={format!("group-{i}")} aria-label={format!("{} in {}", NodeId(i as u32), ["no group", "group A", "group B", "group C"][g as usize])}
                                        checked={groups[i] == g} onchange={set(i, g)} /></td>
                                }) }
                            </tr>
                        }) }
                    </tbody>
                </table>
                <label class="check"><input type="checkbox" checked={*one_way} onchange={toggle_one_way} />{" One way: A cannot reach B or C, B cannot reach C; the other direction works"}</label>
                <div class="dialog-buttons">
                    <button type="button" class="button" onclick={let c = props.on_close.clone(); Callback::from(move |_: MouseEvent| c.emit(()))}>{"Cancel"}</button>
                    <button type="submit" class="button button-primary">{"Partition"}</button>
                </div>
            </form>
        </div>
    }
}
