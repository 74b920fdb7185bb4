//! The controls bar. The run controls exist so the layout is final, but they
//! are disabled, and say why, until a simulation is loaded.

use yew::prelude::*;

use super::icons::{icon, Icon};

const NO_RUN: &str = "No simulation is loaded";

#[function_component(ControlsBar)]
pub fn controls_bar() -> Html {
    let button = |label: &'static str, glyph: Icon, key: &'static str| {
        html! {
            <button
                type="button"
                class="control"
                aria-label={label}
                title={format!("{label} ({key}): {NO_RUN}")}
                aria-keyshortcuts={key}
                disabled=true
            >{icon(glyph)}</button>
        }
    };
    html! {
        <nav class="controls-bar" aria-label="Run controls">
            {button("Step back", Icon::StepBack, "ArrowLeft")}
            {button("Play", Icon::Play, "Space")}
            {button("Step forward", Icon::StepForward, "ArrowRight")}
            {button("Next round", Icon::NextRound, "n")}
            <span class="controls-status" role="status">{NO_RUN}</span>
        </nav>
    }
}
