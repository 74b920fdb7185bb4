//! The keyboard-shortcut help, opened with `?`.

use yew::prelude::*;

/// Every shortcut the app answers to. The list grows with the app; the help
/// dialog and the tests read it from here so they cannot drift apart.
pub const SHORTCUTS: &[(&str, &str)] =
    &[("?", "Show or hide this help"), ("Esc", "Close this help")];

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
                <button type="button" class="button" onclick={props.on_close.clone()}>{"Close"}</button>
            </div>
        </div>
    }
}
