//! The page header: the product, what is running, and the page-level actions.

use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct HeaderProps {
    /// "Raft · 5 servers · seed 1".
    pub summary: String,
    pub on_help: Callback<MouseEvent>,
    pub on_partition: Callback<MouseEvent>,
    pub on_share: Callback<MouseEvent>,
}

#[function_component(Header)]
pub fn header(props: &HeaderProps) -> Html {
    html! {
        <header class="app-header">
            <h1 class="brand">
                <svg class="brand-mark" viewBox="0 0 24 24" aria-hidden="true">
                    <circle cx="12" cy="4" r="2.6" />
                    <circle cx="4.5" cy="17" r="2.6" />
                    <circle cx="19.5" cy="17" r="2.6" />
                    <path d="M12 4 L4.5 17 L19.5 17 Z" fill="none" />
                </svg>
                {"Clusterscope"}
            </h1>
            <p class="run-summary" aria-label="Current run">{props.summary.clone()}</p>
            <span class="header-spacer" />
            <button type="button" class="button" title="Split the network into groups (p)" aria-keyshortcuts="p" onclick={props.on_partition.clone()}>{"Partition…"}</button>
            <button type="button" class="button" title="A link to this exact moment, and code to embed it" onclick={props.on_share.clone()}>{"Share…"}</button>
            <button type="button" class="icon-button" aria-label="Keyboard shortcuts" title="Keyboard shortcuts (?)"
                aria-keyshortcuts="?" onclick={props.on_help.clone()}>{"?"}</button>
        </header>
    }
}
