//! The share dialog: a link to this exact moment, and an iframe snippet for
//! course material.

use wasm_bindgen::prelude::wasm_bindgen;
use yew::prelude::*;

use crate::lab::LabHandle;

#[wasm_bindgen]
extern "C" {
    /// `navigator.clipboard.writeText`, which returns a promise; a failure
    /// (no permission, insecure context) leaves the text selected to copy by hand.
    #[wasm_bindgen(js_namespace = ["navigator", "clipboard"], js_name = writeText, catch)]
    fn write_clipboard(text: &str) -> Result<js_sys_promise::Promise, wasm_bindgen::JsValue>;
}

mod js_sys_promise {
    use wasm_bindgen::prelude::*;
    #[wasm_bindgen]
    extern "C" {
        /// A JavaScript promise, held only so the call type-checks.
        pub type Promise;
    }
}

#[derive(Properties, PartialEq)]
pub struct ShareProps {
    pub lab: LabHandle,
    pub on_close: Callback<MouseEvent>,
}

#[function_component(ShareDialog)]
pub fn share_dialog(props: &ShareProps) -> Html {
    let autoplay = use_state(|| false);
    let copied = use_state(|| None::<&'static str>);
    let link = {
        let base = gloo::utils::window().location().href().unwrap_or_default();
        let base = base.split('#').next().unwrap_or_default().to_string();
        format!("{base}#{}", props.lab.share(None).encode())
    };
    let embed = crate::app::embed_code(&props.lab, *autoplay);
    let copy = |text: String, what: &'static str| {
        let copied = copied.clone();
        Callback::from(move |_: MouseEvent| {
            if write_clipboard(&text).is_ok() {
                copied.set(Some(what));
            }
        })
    };
    let select_all = Callback::from(|e: FocusEvent| {
        if let Some(t) = e.target_dyn_into::<web_sys::HtmlTextAreaElement>() {
            t.select();
        }
    });
    let toggle_autoplay = {
        let autoplay = autoplay.clone();
        Callback::from(move |_: Event| autoplay.set(!*autoplay))
    };
    html! {
        <div class="dialog-backdrop">
            <div class="dialog share" role="dialog" aria-modal="true" aria-labelledby="share-title">
                <h2 id="share-title">{"Share this moment"}</h2>
                <p class="dialog-help">{"The link opens the same run at the same moment: the protocol, settings, seed and everything you did."}</p>
                <label for="share-link">{"Link"}</label>
                <textarea id="share-link" class="share-text" readonly=true rows="3" onfocus={select_all.clone()} value={link.clone()} />
                <button type="button" class="button" onclick={copy(link, "link")}>{"Copy link"}</button>
                <label for="share-embed">{"Embed code for slides and course pages"}</label>
                <textarea id="share-embed" class="share-text" readonly=true rows="4" onfocus={select_all} value={embed.clone()} />
                <label class="check"><input type="checkbox" checked={*autoplay} onchange={toggle_autoplay} />{" Start playing when the page opens"}</label>
                <button type="button" class="button" onclick={copy(embed, "embed code")}>{"Copy embed code"}</button>
                <p class="copied" role="status">{copied.map(|w| format!("Copied the {w}.")).unwrap_or_default()}</p>
                <div class="dialog-buttons">
                    <button type="button" class="button button-primary" onclick={props.on_close.clone()}>{"Done"}</button>
                </div>
            </div>
        </div>
    }
}
