//! The page header: the product name and the help button.

use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct HeaderProps {
    /// Opens or closes the keyboard-shortcut help.
    pub on_help: Callback<MouseEvent>,
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
            <p class="tagline">{"See a distributed system work, and fail."}</p>
            <button
                class="icon-button"
                type="button"
                aria-label="Keyboard shortcuts"
                title="Keyboard shortcuts (?)"
                aria-keyshortcuts="?"
                onclick={props.on_help.clone()}
            >{"?"}</button>
        </header>
    }
}
