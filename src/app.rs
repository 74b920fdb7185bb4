//! The root component: the page shell that every view fills in.

use gloo::events::EventListener;
use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::components::{controls::ControlsBar, header::Header, help::HelpDialog, stage::Stage};

/// The whole page: header, stage, controls bar, and the help dialog.
#[function_component(App)]
pub fn app() -> Html {
    let help_open = use_state(|| false);

    // One document-level listener for keyboard shortcuts, removed on unmount.
    {
        let help_open = help_open.clone();
        use_effect_with((), move |_| {
            let listener = EventListener::new(&gloo::utils::document(), "keydown", move |event| {
                let Some(event) = event.dyn_ref::<KeyboardEvent>() else {
                    return;
                };
                if typing_in_a_field(event)
                    || event.ctrl_key()
                    || event.meta_key()
                    || event.alt_key()
                {
                    return;
                }
                match event.key().as_str() {
                    "?" => help_open.set(!*help_open),
                    "Escape" => help_open.set(false),
                    _ => {}
                }
            });
            move || drop(listener)
        });
    }

    let toggle_help = {
        let help_open = help_open.clone();
        Callback::from(move |_| help_open.set(!*help_open))
    };
    let close_help = {
        let help_open = help_open.clone();
        Callback::from(move |_| help_open.set(false))
    };

    html! {
        <div class="shell">
            <Header on_help={toggle_help} />
            <main class="workspace">
                <Stage />
            </main>
            <ControlsBar />
            if *help_open {
                <HelpDialog on_close={close_help} />
            }
        </div>
    }
}

/// Shortcuts must not fire while the user types into a form field.
fn typing_in_a_field(event: &KeyboardEvent) -> bool {
    let Some(target) = event
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
    else {
        return false;
    };
    matches!(target.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
        || target.has_attribute("contenteditable")
}
