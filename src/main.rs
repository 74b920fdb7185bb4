//! Clusterscope, the web app: a Yew single-page app that renders the
//! deterministic simulator in `crates/sim` and the protocols in
//! `crates/protocols`.
//!
//! Only this crate imports `yew`, `web_sys`, `gloo` and `wasm_bindgen`
//! (ARCHITECTURE.md, "Architecture invariants").

mod app;
mod catalog;
mod components;
mod lab;
mod live;
mod opening;
mod panic;
mod scenarios;
mod views;

fn main() {
    // First, so that a panic anywhere after this point shows a readable banner
    // instead of leaving a dead page.
    panic::install_hook();
    let root = gloo::utils::document()
        .get_element_by_id("app")
        .expect("index.html has an element with id=\"app\"");
    yew::Renderer::<app::App>::with_root(root).render();
}
