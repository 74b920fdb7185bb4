//! The controls bar. The run controls exist so the layout is final, but they
//! are disabled, and say why, until a simulation is loaded.

use yew::prelude::*;

const NO_RUN: &str = "No simulation is loaded";

#[function_component(ControlsBar)]
pub fn controls_bar() -> Html {
    let button = |label: &'static str, glyph: &'static str, key: &'static str| {
        html! {
            <button
                type="button"
                class="control"
                aria-label={label}
                title={format!("{label} ({key}): {NO_RUN}")}
                aria-keyshortcuts={key}
                disabled=true
            >{glyph}</button>
        }
    };
    html! {
        <nav class="controls-bar" aria-label="Run controls">
            {button("Step back", "⏮", "ArrowLeft")}
            {button("Play", "▶", "Space")}
            {button("Step forward", "⏭", "ArrowRight")}
            {button("Next round", "⏩", "n")}
            <span class="controls-status" role="status">{NO_RUN}</span>
        </nav>
    }
}
