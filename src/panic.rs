//! The panic hook: a panic must never leave a blank or frozen page.
//!
//! The release build aborts on panic (smaller wasm, and WebAssembly cannot
//! unwind on stable Rust), so the app cannot carry on after one. What it can do
//! is say what happened, in the page, with a way back: the banner lives in
//! `index.html` outside the Yew root and is filled through plain DOM calls, so
//! it works even though the Yew app is gone by the time anyone reads it.

use wasm_bindgen::prelude::wasm_bindgen;

/// Installs the hook. Call once, first thing in `main`.
pub fn install_hook() {
    // Registered through Yew, not `std::panic::set_hook`: `Renderer::render`
    // replaces any hook not registered with Yew by its own console-only one.
    yew::set_custom_panic_hook(Box::new(|info| {
        let details = info.to_string();
        web_sys::console::error_1(&format!("Clusterscope panicked: {details}").into());
        show_banner(&details);
    }));
}

fn show_banner(details: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Some(banner) = document.get_element_by_id("panic-banner") else {
        return;
    };
    // Built with text nodes only: the panic message may quote user input, and
    // user input is never interpreted as markup.
    banner.set_text_content(None);
    let append = |tag: &str, text: &str, class: &str| {
        if let Ok(el) = document.create_element(tag) {
            el.set_text_content(Some(text));
            el.set_class_name(class);
            let _ = banner.append_child(&el);
            Some(el)
        } else {
            None
        }
    };
    append(
        "strong",
        "Clusterscope hit an internal error and stopped.",
        "panic-title",
    );
    append(
        "p",
        "Reloading the page starts the app again from this link. \
         Please report the details below; they say what went wrong.",
        "panic-help",
    );
    append("pre", details, "panic-details");
    if let Some(link) = append("a", "Reload", "panic-reload") {
        let _ = link.set_attribute("href", "");
    }
    let _ = banner.remove_attribute("hidden");
    if let Some(app) = document.get_element_by_id("app") {
        let _ = app.set_attribute("aria-hidden", "true");
        let _ = app.set_attribute("inert", "");
    }
}

/// Panics on purpose. The browser tests call this (through
/// `window.wasmBindings`) to prove the hook shows the banner.
#[wasm_bindgen]
pub fn debug_panic(message: &str) {
    panic!("debug_panic was called: {message}");
}
