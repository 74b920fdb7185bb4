//! The keyboard-shortcut help, opened with `?`.

use yew::prelude::*;

/// Every shortcut the app answers to. The help dialog and the browser tests
/// read this list, so they cannot drift apart.
pub const SHORTCUTS: &[(&str, &str)] = &[
    ("Space", "Play or pause"),
    ("→", "Step forward one event"),
    ("←", "Step back one event"),
    (
        "n",
        "Run to the next round (leader elected, entry committed)",
    ),
    ("c", "Send a client request"),
    ("p", "Partition the network"),
    (
        "d",
        "Drain and check: end the faults, let the cluster settle, run the final checks",
    ),
    (
        "Page Up / Page Down",
        "Move along the timeline (when it has focus)",
    ),
    ("Enter", "Open the actions of the focused node"),
    ("?", "Show or hide this help"),
    ("Esc", "Close a dialog or menu"),
];

#[derive(Properties, PartialEq)]
pub struct HelpProps {
    pub on_close: Callback<MouseEvent>,
}

#[function_component(HelpDialog)]
pub fn help_dialog(props: &HelpProps) -> Html {
    html! {
        <div class="dialog-backdrop">
            <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="help-title">
                <h2 id="help-title">{"Keyboard shortcuts"}</h2>
                <dl class="shortcuts">
                    { for SHORTCUTS.iter().map(|(key, what)| html! {
                        <>
                            <dt><kbd>{*key}</kbd></dt>
                            <dd>{*what}</dd>
                        </>
                    }) }
                </dl>
                <p class="dialog-help">{"Click a node or a link on the stage for what you can do to it: crash, restart, pause, slow down, skew its clock, isolate, cut, or send a request. Click a message in flight to drop it."}</p>
                <button type="button" class="button" onclick={props.on_close.clone()}>{"Close"}</button>
            </div>
        </div>
    }
}
